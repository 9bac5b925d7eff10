/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Civil-calendar arithmetic on day numbers, shared by the programs that
 * handle dates: darkscope-report (periods, day keys, zone midnights) and
 * darkscope-gen (--start, the truth file's timestamps).
 *
 * A day number counts days since 1970-01-01 in the proleptic Gregorian
 * calendar, as an int64_t so that no caller has to think about overflow.
 * The conversions are H. Hinnant's algorithms ("chrono-compatible low-level
 * date algorithms"): a 400-year era holds exactly 146097 days, and counting
 * the year from 1 March puts the leap day at its end, so both directions are
 * a few integer divisions with no table and no loop.
 *
 * Everything is static inline and depends on nothing but the C library:
 * darkscope-gen must stay free of DPDK, so it takes this header through
 * include_directories() and links nothing of lib/hist. The parsers are
 * strict: exact digit counts, no sign, no space, no out-of-range field.
 */

#ifndef DS_CIVIL_H
#define DS_CIVIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Whether year y has 29 February. */
static inline bool
ds_civil_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/** Days in month m (1-12) of year y; 0 for a month out of range. */
static inline unsigned int
ds_civil_month_days(int64_t y, unsigned int m)
{
	static const unsigned char mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m < 1 || m > 12)
		return 0;
	return mdays[m - 1] + (m == 2 && ds_civil_is_leap(y));
}

/** Day number of the civil date y-m-d (m 1-12, d 1-31). */
static inline int64_t
ds_civil_to_days(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era, yoe, doy, doe;

	/* Years start on 1 March: January and February belong to the year before. */
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * ((int64_t)m + (m > 2 ? -3 : 9)) + 2) / 5 + (int64_t)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	/* 719468: days from 0000-03-01 to 1970-01-01. */
	return era * 146097 + doe - 719468;
}

/** The civil date of day number @p z: the inverse of ds_civil_to_days(). */
static inline void
ds_civil_from_days(int64_t z, int64_t *y, unsigned int *m, unsigned int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	/* mp: month counted from March (0) to February (11). */
	mp = (5 * doy + 2) / 153;
	*d = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/**
 * Exactly @p n decimal digits at *p, advancing *p past them.
 *
 * @return 0, or -EINVAL if one of the n characters is not a digit (*p then
 *         points at it and *out is untouched).
 */
static inline int
ds_civil_digits(const char **p, int n, unsigned int *out)
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

/**
 * A date "YYYY-MM-DD" at *p, advancing *p past its ten characters.
 *
 * The date must exist (month 1-12, the day within that month, 29 February
 * only in leap years). What follows it and the range of years are the
 * caller's business: darkscope-gen accepts a time after the date, the
 * report only the end of the string, and each has its own first year.
 *
 * @return 0, or -EINVAL for a malformed or impossible date; *y, *m and *d
 *         are then untouched and *p is left anywhere inside or just after it.
 */
static inline int
ds_civil_parse_date(const char **p, unsigned int *y, unsigned int *m, unsigned int *d)
{
	unsigned int yy, mm, dd;

	if (ds_civil_digits(p, 4, &yy) || *(*p)++ != '-' || ds_civil_digits(p, 2, &mm) ||
	    *(*p)++ != '-' || ds_civil_digits(p, 2, &dd))
		return -EINVAL;
	if (mm < 1 || mm > 12 || dd < 1 || dd > ds_civil_month_days(yy, mm))
		return -EINVAL;
	*y = yy;
	*m = mm;
	*d = dd;
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* DS_CIVIL_H */
