/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Dates, periods and time zones of darkscope-report.
 *
 * A period is a run of whole calendar days, held as day numbers (days since
 * 1970-01-01, proleptic Gregorian): all the calendar arithmetic (quarters,
 * months, ISO weeks, the previous period) is integer arithmetic on those
 * numbers and never touches a time zone (the conversions between day
 * numbers and dates are lib/hist/ds_civil.h, shared with darkscope-gen).
 * Only at the end are the days placed on the time line, as the Unix times
 * of their local midnights in one zone (ds_report_zone_midnights());
 * comparing those instants is how the report decides whether a sensor's day
 * keys cover exactly the report's days, or whether it has to assemble the
 * days from UTC hour keys.
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

#include "ds_civil.h"
#include "report.h"

/* Years the report accepts: four digits, and no day before the epoch. */
#define YEAR_MIN 1971
#define YEAR_MAX 9999

/*
 * Day numbers of the report are int32_t: its years (YEAR_MIN to YEAR_MAX)
 * stay within a few million days of the epoch, far inside that range.
 */
static int32_t
day_of(int64_t y, unsigned int m, unsigned int d)
{
	return (int32_t)ds_civil_to_days(y, m, d);
}

void
ds_report_date_iso(int32_t day, char *buf)
{
	unsigned int m, d;
	int64_t y;

	ds_civil_from_days(day, &y, &m, &d);
	snprintf(buf, 11, "%04u-%02u-%02u", (unsigned int)y % 10000, m % 100, d % 100);
}

void
ds_report_date_stamp(int32_t day, char *buf)
{
	unsigned int m, d;
	int64_t y;

	ds_civil_from_days(day, &y, &m, &d);
	snprintf(buf, 9, "%04u%02u%02u", (unsigned int)y % 10000, m % 100, d % 100);
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
	int32_t jan4 = day_of(y, 1, 4);

	return jan4 - weekday(jan4);
}

int
ds_report_period_parse(const char *kind, const char *arg, int32_t *first, int32_t *last)
{
	const char *p = arg;
	unsigned int y, m, d, q, w;

	if (kind == NULL || arg == NULL || first == NULL || last == NULL)
		return -EINVAL;
	if (strcmp(kind, "day") == 0 || strcmp(kind, "from") == 0 || strcmp(kind, "to") == 0) {
		/* 2024-05-20: the date parser darkscope-gen's --start uses too */
		if (ds_civil_parse_date(&p, &y, &m, &d) || *p != '\0' || y < YEAR_MIN ||
		    y > YEAR_MAX)
			return -EINVAL;
		*first = day_of(y, m, d);
		*last = *first;
		return 0;
	}
	if (ds_civil_digits(&p, 4, &y) || y < YEAR_MIN || y > YEAR_MAX)
		return -EINVAL;

	if (strcmp(kind, "quarter") == 0) {
		/* 2024Q2, also 2024-Q2 and 2024q2 */
		if (*p == '-')
			p++;
		if ((*p != 'Q' && *p != 'q') || (p++, ds_civil_digits(&p, 1, &q)) || *p != '\0' ||
		    q < 1 || q > 4)
			return -EINVAL;
		*first = day_of(y, 3 * q - 2, 1);
		*last = q == 4 ? day_of(y + 1, 1, 1) - 1 : day_of(y, 3 * q + 1, 1) - 1;
		return 0;
	}
	if (strcmp(kind, "week") == 0) {
		/* ISO 8601: 2024-W21 or 2024W21, Monday to Sunday */
		if (*p == '-')
			p++;
		if ((*p != 'W' && *p != 'w') || (p++, ds_civil_digits(&p, 2, &w)) || *p != '\0' ||
		    w < 1)
			return -EINVAL;
		*first = iso_week1((int)y) + 7 * (int32_t)(w - 1);
		/* Week 53 exists only when its Thursday still lies in year y. */
		if (*first + 3 >= iso_week1((int)y + 1))
			return -EINVAL;
		*last = *first + 6;
		return 0;
	}
	if (strcmp(kind, "month") == 0) {
		/* 2024-05 */
		if (*p++ != '-' || ds_civil_digits(&p, 2, &m) || m < 1 || m > 12 || *p != '\0')
			return -EINVAL;
		*first = day_of(y, m, 1);
		*last = *first + (int32_t)ds_civil_month_days(y, m) - 1;
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
	int64_t y;

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

		ds_civil_from_days((int64_t)first + i, &y, &m, &d);
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = (int)(y - 1900);
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
