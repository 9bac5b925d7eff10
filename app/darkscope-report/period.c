/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Dates, periods and time zones of darkscope-report.
 *
 * A period is a run of whole calendar days, held as day numbers (days since
 * 1970-01-01, proleptic Gregorian): all the calendar arithmetic (quarters,
 * months, ISO weeks, the previous period) is integer arithmetic on those
 * numbers and never touches a time zone. Only at the end are the days
 * placed on the time line, as the Unix times of their local midnights in
 * one zone (ds_report_zone_midnights()); comparing those instants is how the
 * report decides whether a sensor's day keys cover exactly the report's
 * days, or whether it has to assemble the days from UTC hour keys.
 *
 * The zone arithmetic uses the C library's zone database through the
 * process' TZ variable (setenv + tzset + mktime): the report uses local time
 * nowhere else, so switching TZ between zones is harmless. glibc quietly
 * treats an unknown TZ as UTC, hence ds_report_zone_check(), which looks
 * for the zone's file itself before anything trusts the name.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static const unsigned int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

/* Years the report accepts: four digits, and no day before the epoch. */
#define YEAR_MIN 1971
#define YEAR_MAX 9999

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned int
month_days(int y, unsigned int m)
{
	return m == 2 && !leap(y) ? 28 : mdays[m - 1];
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
int32_t
ds_report_days_from_civil(int y, unsigned int m, unsigned int d)
{
	int32_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (int32_t)((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse: the civil date of a day number. */
static void
civil_from_days(int32_t z, int *y, unsigned int *m, unsigned int *d)
{
	int32_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void
ds_report_date_iso(int32_t day, char *buf)
{
	unsigned int m, d;
	int y;

	civil_from_days(day, &y, &m, &d);
	snprintf(buf, 11, "%04u-%02u-%02u", (unsigned int)y % 10000, m % 100, d % 100);
}

void
ds_report_date_stamp(int32_t day, char *buf)
{
	unsigned int m, d;
	int y;

	civil_from_days(day, &y, &m, &d);
	snprintf(buf, 9, "%04u%02u%02u", (unsigned int)y % 10000, m % 100, d % 100);
}

/* Exactly n digits at *p, advancing it. */
static int
digits(const char **p, int n, unsigned int *out)
{
	unsigned int v = 0;

	for (; n > 0; n--, (*p)++) {
		if (**p < '0' || **p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(**p - '0');
	}
	*out = v;
	return 0;
}

/* Monday = 0: 1970-01-01 was a Thursday. */
static int
weekday(int32_t day)
{
	int w = (int)((day + 3) % 7);

	return w < 0 ? w + 7 : w;
}

/* The Monday of ISO week 1 of year y: the week holding 4 January. */
static int32_t
iso_week1(int y)
{
	int32_t jan4 = ds_report_days_from_civil(y, 1, 4);

	return jan4 - weekday(jan4);
}

int
ds_report_period_parse(const char *kind, const char *arg, int32_t *first, int32_t *last)
{
	const char *p = arg;
	unsigned int y, m = 1, d = 1, q, w;

	if (kind == NULL || arg == NULL || first == NULL || last == NULL)
		return -EINVAL;
	if (digits(&p, 4, &y) || y < YEAR_MIN || y > YEAR_MAX)
		return -EINVAL;

	if (strcmp(kind, "quarter") == 0) {
		/* 2024Q2, also 2024-Q2 and 2024q2 */
		if (*p == '-')
			p++;
		if ((*p != 'Q' && *p != 'q') || (p++, digits(&p, 1, &q)) || *p != '\0' ||
		    q < 1 || q > 4)
			return -EINVAL;
		*first = ds_report_days_from_civil((int)y, 3 * q - 2, 1);
		*last = q == 4 ? ds_report_days_from_civil((int)y + 1, 1, 1) - 1 :
			ds_report_days_from_civil((int)y, 3 * q + 1, 1) - 1;
		return 0;
	}
	if (strcmp(kind, "week") == 0) {
		/* ISO 8601: 2024-W21 or 2024W21, Monday to Sunday */
		if (*p == '-')
			p++;
		if ((*p != 'W' && *p != 'w') || (p++, digits(&p, 2, &w)) || *p != '\0' || w < 1)
			return -EINVAL;
		*first = iso_week1((int)y) + 7 * (int32_t)(w - 1);
		/* Week 53 exists only when its Thursday still lies in year y. */
		if (*first + 3 >= iso_week1((int)y + 1))
			return -EINVAL;
		*last = *first + 6;
		return 0;
	}
	if (*p++ != '-' || digits(&p, 2, &m) || m < 1 || m > 12)
		return -EINVAL;
	if (strcmp(kind, "month") == 0) {
		if (*p != '\0')
			return -EINVAL;
		*first = ds_report_days_from_civil((int)y, m, 1);
		*last = *first + (int32_t)month_days((int)y, m) - 1;
		return 0;
	}
	if (*p++ != '-' || digits(&p, 2, &d) || *p != '\0' || d < 1 ||
	    d > month_days((int)y, m))
		return -EINVAL;
	if (strcmp(kind, "day") == 0 || strcmp(kind, "from") == 0 || strcmp(kind, "to") == 0) {
		*first = ds_report_days_from_civil((int)y, m, d);
		*last = *first;
		return 0;
	}
	return -EINVAL;
}

/*
 * A zone name as the zone database spells them (Asia/Tokyo, Etc/GMT-9,
 * America/Argentina/Buenos_Aires): no absolute path, no "..", no POSIX TZ
 * rule string. The file must exist and be a TZif file, since glibc would
 * otherwise take any unknown name for UTC without a word.
 */
int
ds_report_zone_check(const char *zone)
{
	const char *dir = getenv("TZDIR");
	char path[4096], magic[4];
	size_t i, n;
	FILE *f;

	if (zone == NULL || zone[0] == '\0' || zone[0] == '/' || zone[0] == '.' ||
	    strlen(zone) > 255 || strstr(zone, "..") != NULL)
		return -EINVAL;
	for (i = 0; zone[i] != '\0'; i++) {
		char c = zone[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '-' || c == '+'))
			return -EINVAL;
	}
	if (strcmp(zone, "UTC") == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir != NULL && dir[0] != '\0' ? dir :
		 "/usr/share/zoneinfo", zone);
	f = fopen(path, "rb");
	if (f == NULL)
		return -ENOENT;
	n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	return n == sizeof(magic) && memcmp(magic, "TZif", 4) == 0 ? 0 : -ENOENT;
}

int
ds_report_zone_midnights(const char *zone, int32_t first, unsigned int n, int64_t *out)
{
	unsigned int i, m, d;
	int y;

	if (zone == NULL || out == NULL)
		return -EINVAL;
	/* "UTC" is arithmetic, and works without a zone database. */
	if (strcmp(zone, "UTC") == 0) {
		for (i = 0; i <= n; i++)
			out[i] = ((int64_t)first + i) * 86400;
		return 0;
	}
	if (setenv("TZ", zone, 1) != 0)
		return -errno;
	tzset();
	for (i = 0; i <= n; i++) {
		struct tm tm;
		time_t t;

		civil_from_days(first + (int32_t)i, &y, &m, &d);
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = (int)m - 1;
		tm.tm_mday = (int)d;
		/*
		 * isdst -1: mktime() decides. Where the clocks skip midnight it
		 * returns the first instant of the day that exists, which is what
		 * the sensor uses as the day's start too.
		 */
		tm.tm_isdst = -1;
		t = mktime(&tm);
		if (t == (time_t)-1)
			return -EINVAL;
		out[i] = (int64_t)t;
	}
	return 0;
}
