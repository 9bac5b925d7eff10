/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * darkscope-report: the command line, and the order of the stages.
 *
 *   parse_args()            options -> struct ds_report_opts (exit 2 on a mistake)
 *   ds_report_fetch()       Redis -> struct ds_report (fetch.c)
 *   ds_report_charts()      gnuplot files and images (chart.c)
 *   write_report()          the chosen format, to --out or stdout
 *
 * Errors are one line on stderr: the user's mistakes (options, dates, zone,
 * unknown sensor or feed, a bad --redis URL) exit 2, failures while running
 * (Redis unreachable or refusing, a chart gnuplot could not draw, a file
 * that cannot be written) exit 1. A report is written to a temporary file
 * next to --out and renamed into place, so a reader never sees half of one.
 */

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

#define PROG DS_REPORT_PROG

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [options] PERIOD\n"
		"The periodic telescope report from the hour and day rollups darkscope\n"
		"sensors keep in Redis.\n"
		"\n"
		"PERIOD, one of (calendar days in the report zone, inclusive):\n"
		"  --from YYYY-MM-DD --to YYYY-MM-DD\n"
		"  --quarter 2024Q2 | --month 2024-05 | --week 2024-W21 | --day 2024-05-20\n"
		"\n"
		"  --redis URL          unix:/path/redis.sock[?db=N], redis://host[:port][/db]\n"
		"                       or host:port (default 127.0.0.1:6379)\n"
		"  --password-env VAR   AUTH with the password in environment variable VAR\n"
		"  --password-file F    ... or in the first line of file F\n"
		"  --username U         ... as ACL user U (default: the default user)\n"
		"  --prefix P           key prefix (default ds)\n"
		"  --sensor S           a sensor to include, repeatable (default: all in P:sensors)\n"
		"  --feed F             a feed to include, repeatable (default: all feeds)\n"
		"  --tz ZONE            zone of the report's days (default: the sensors'\n"
		"                       rollup_timezone, else UTC)\n"
		"  --top N              values per ranking (default 5)\n"
		"  --per-sensor-average packets divided by the number of sensors with data\n"
		"  --home CC            the home country, to label domestic / overseas\n"
		"  --format FMT         text, markdown, html or json (default text)\n"
		"  --out PATH           write the report there (default stdout)\n"
		"  --charts DIR         where charts go (default: next to --out)\n"
		"  --no-charts          do not draw charts\n"
		"  --help               print this text\n"
		"\n"
		"The previous period is the one of as many days just before. Exit status:\n"
		"0 done, 1 failure while running, 2 bad arguments. See docs/REPORT.md.\n");
}

/* One line naming the option, the value and what was expected. */
static int
bad(const char *opt, const char *val, const char *expected)
{
	fprintf(stderr, PROG ": %s '%s': expected %s\n", opt, val, expected);
	return -EINVAL;
}

/* A sensor, feed or prefix: something Redis keys are made of, without ':'. */
static bool
name_ok(const char *s)
{
	if (s[0] == '\0' || strlen(s) > 200)
		return false;
	for (; *s != '\0'; s++)
		if (*s == ':' || (unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int
add_name(const char ***list, unsigned int *n, const char *opt, const char *val, unsigned int max)
{
	const char **l;

	if (!name_ok(val))
		return bad(opt, val, "a name without ':', spaces or control characters");
	if (*n >= max)
		return bad(opt, val, "fewer repetitions of the option");
	l = realloc(*list, (*n + 1) * sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l[(*n)++] = val;
	*list = l;
	return 0;
}

enum {
	OPT_REDIS = 256, OPT_PREFIX, OPT_SENSOR, OPT_FEED, OPT_FROM, OPT_TO, OPT_QUARTER,
	OPT_MONTH, OPT_WEEK, OPT_DAY, OPT_TZ, OPT_TOP, OPT_AVG, OPT_HOME, OPT_FORMAT, OPT_OUT,
	OPT_CHARTS, OPT_NO_CHARTS, OPT_HELP, OPT_USERNAME, OPT_PASSWORD_ENV, OPT_PASSWORD_FILE,
};

static const struct option long_opts[] = {
	{ "redis", required_argument, NULL, OPT_REDIS },
	{ "username", required_argument, NULL, OPT_USERNAME },
	{ "password-env", required_argument, NULL, OPT_PASSWORD_ENV },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "sensor", required_argument, NULL, OPT_SENSOR },
	{ "feed", required_argument, NULL, OPT_FEED },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "quarter", required_argument, NULL, OPT_QUARTER },
	{ "month", required_argument, NULL, OPT_MONTH },
	{ "week", required_argument, NULL, OPT_WEEK },
	{ "day", required_argument, NULL, OPT_DAY },
	{ "tz", required_argument, NULL, OPT_TZ },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "per-sensor-average", no_argument, NULL, OPT_AVG },
	{ "home", required_argument, NULL, OPT_HOME },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "charts", required_argument, NULL, OPT_CHARTS },
	{ "no-charts", no_argument, NULL, OPT_NO_CHARTS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/*
 * The password, as the sensor reads its own (redis.password_env and
 * redis.password_file): never from the command line, where ps(1) shows it.
 */
static int
read_password(struct ds_report_opts *o)
{
	struct ds_config_error err;

	if (o->auth.password_env[0] != '\0' && o->auth.password_file[0] != '\0') {
		fprintf(stderr, PROG ": --password-env and --password-file: give one\n");
		return -EINVAL;
	}
	if (ds_config_redis_password(&o->auth, o->password_buf, sizeof(o->password_buf),
				     &err) < 0) {
		/* The message names the sensor's key; say the option instead. */
		const char *m = err.msg;

		if (strncmp(m, "redis.password_", 15) == 0)
			fprintf(stderr, PROG ": --password-%s\n", m + 15);
		else
			fprintf(stderr, PROG ": %s\n", m);
		return -EINVAL;
	}
	if (o->password_buf[0] != '\0')
		o->password = o->password_buf;
	else if (o->username != NULL) {
		fprintf(stderr, PROG ": --username needs --password-env or --password-file\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * @return 0, 1 for --help, or -EINVAL after printing the one-line reason.
 */
static int
parse_args(struct ds_report_opts *o, int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *kind = NULL, *karg = NULL, *kopt = NULL;
	static char home[3];
	int32_t first, last, dummy;
	int c, ret;

	/*
	 * The defaults of docs/REPORT.md. opterr 0 and the leading ':' make
	 * getopt quiet and tell a missing value from an unknown option, so every
	 * mistake gets our own one-line message.
	 */
	o->redis_url = "127.0.0.1:6379";
	o->prefix = "ds";
	o->top = 5;
	o->format = DS_REPORT_TEXT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		const char *v = optarg;

		switch (c) {
		case OPT_REDIS:
			o->redis_url = v;
			break;
		case OPT_USERNAME:
			if (!name_ok(v) || strlen(v) >= sizeof(o->auth.username))
				return bad("--username", v, "an ACL user name of at most 63 "
					   "characters, without spaces or control characters");
			o->username = v;
			snprintf(o->auth.username, sizeof(o->auth.username), "%s", v);
			break;
		case OPT_PASSWORD_ENV:
			if (v[0] == '\0' || strlen(v) >= sizeof(o->auth.password_env))
				return bad("--password-env", v, "an environment variable name");
			snprintf(o->auth.password_env, sizeof(o->auth.password_env), "%s", v);
			break;
		case OPT_PASSWORD_FILE:
			if (v[0] == '\0' || strlen(v) >= sizeof(o->auth.password_file))
				return bad("--password-file", v, "a file path");
			snprintf(o->auth.password_file, sizeof(o->auth.password_file), "%s", v);
			break;
		case OPT_PREFIX:
			if (!name_ok(v))
				return bad("--prefix", v, "a name without ':', spaces or control "
					   "characters");
			o->prefix = v;
			break;
		case OPT_SENSOR:
			ret = add_name(&o->sensors, &o->n_sensors, "--sensor", v,
				       DS_REPORT_MAX_SENSORS);
			if (ret)
				return ret;
			break;
		case OPT_FEED:
			ret = add_name(&o->feeds, &o->n_feeds, "--feed", v, DS_REPORT_MAX_FEEDS);
			if (ret)
				return ret;
			break;
		case OPT_FROM:
			from = v;
			break;
		case OPT_TO:
			to = v;
			break;
		case OPT_QUARTER:
		case OPT_MONTH:
		case OPT_WEEK:
		case OPT_DAY:
			if (kind != NULL) {
				fprintf(stderr, PROG ": %s and --%s: give one period\n", kopt,
					c == OPT_QUARTER ? "quarter" : c == OPT_MONTH ? "month" :
					c == OPT_WEEK ? "week" : "day");
				return -EINVAL;
			}
			kind = c == OPT_QUARTER ? "quarter" : c == OPT_MONTH ? "month" :
				c == OPT_WEEK ? "week" : "day";
			kopt = c == OPT_QUARTER ? "--quarter" : c == OPT_MONTH ? "--month" :
				c == OPT_WEEK ? "--week" : "--day";
			karg = v;
			break;
		case OPT_TZ:
			o->tz = v;
			break;
		case OPT_TOP: {
			char *end;
			unsigned long n = strtoul(v, &end, 10);

			if (*v < '0' || *v > '9' || *end != '\0' || n < 1 ||
			    n > DS_REPORT_MAX_TOP)
				return bad("--top", v, "an integer from 1 to 1000");
			o->top = (unsigned int)n;
			break;
		}
		case OPT_AVG:
			o->per_sensor_average = true;
			break;
		case OPT_HOME:
			/* Only a label: upper-cased like the sensor's country codes. */
			if (strlen(v) != 2 || !((v[0] | 0x20) >= 'a' && (v[0] | 0x20) <= 'z') ||
			    !((v[1] | 0x20) >= 'a' && (v[1] | 0x20) <= 'z'))
				return bad("--home", v, "a two-letter country code such as JP");
			home[0] = (char)(v[0] & ~0x20);
			home[1] = (char)(v[1] & ~0x20);
			o->home = home;
			break;
		case OPT_FORMAT:
			if (strcmp(v, "text") == 0)
				o->format = DS_REPORT_TEXT;
			else if (strcmp(v, "markdown") == 0 || strcmp(v, "md") == 0)
				o->format = DS_REPORT_MARKDOWN;
			else if (strcmp(v, "html") == 0)
				o->format = DS_REPORT_HTML;
			else if (strcmp(v, "json") == 0)
				o->format = DS_REPORT_JSON;
			else
				return bad("--format", v, "text, markdown, html or json");
			break;
		case OPT_OUT:
			if (v[0] == '\0')
				return bad("--out", v, "a file path, or - for stdout");
			o->out = strcmp(v, "-") == 0 ? NULL : v;
			break;
		case OPT_CHARTS:
			if (v[0] == '\0')
				return bad("--charts", v, "a directory");
			o->charts_dir = v;
			break;
		case OPT_NO_CHARTS:
			o->no_charts = true;
			break;
		case OPT_HELP:
			return 1;
		case ':':
			fprintf(stderr, PROG ": %s: option needs a value (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}

	/* The period: exactly one form, a known calendar date, a bounded length. */
	if ((from != NULL || to != NULL) && kind != NULL) {
		fprintf(stderr, PROG ": %s and --from/--to: give one period\n", kopt);
		return -EINVAL;
	}
	if (kind != NULL) {
		if (ds_report_period_parse(kind, karg, &first, &last) != 0)
			return bad(kopt, karg, strcmp(kind, "quarter") == 0 ? "a quarter such as 2024Q2" :
				   strcmp(kind, "month") == 0 ? "a month such as 2024-05" :
				   strcmp(kind, "week") == 0 ? "an ISO week such as 2024-W21" :
				   "a date such as 2024-05-20");
		snprintf(o->period_name, sizeof(o->period_name), "%s", karg);
	} else if (from != NULL && to != NULL) {
		if (ds_report_period_parse("from", from, &first, &dummy) != 0)
			return bad("--from", from, "a date YYYY-MM-DD from 1971");
		if (ds_report_period_parse("to", to, &last, &dummy) != 0)
			return bad("--to", to, "a date YYYY-MM-DD from 1971");
		if (last < first)
			return bad("--to", to, "a date not before --from");
		snprintf(o->period_name, sizeof(o->period_name), "%s..%s", from, to);
	} else {
		fprintf(stderr, PROG ": %s: give a period: --from and --to, --quarter, --month, "
			"--week or --day (see --help)\n", from != NULL ? "--from without --to" :
			to != NULL ? "--to without --from" : "no period");
		return -EINVAL;
	}
	if (last - first + 1 > DS_REPORT_MAX_DAYS) {
		fprintf(stderr, PROG ": the period has %d days: at most %d\n",
			(int)(last - first + 1), DS_REPORT_MAX_DAYS);
		return -EINVAL;
	}
	/* Key stamps are written from 1970 on; so must the previous period be. */
	if (first - (last - first + 1) < 0) {
		fprintf(stderr, PROG ": the previous period would start before 1970\n");
		return -EINVAL;
	}
	o->first_day = first;
	o->last_day = last;
	if (o->no_charts && o->charts_dir != NULL) {
		fprintf(stderr, PROG ": --charts and --no-charts: give one\n");
		return -EINVAL;
	}
	return read_password(o);
}

/* The chosen format to --out (via a temporary file and rename) or stdout. */
static int
write_report(struct ds_report *r)
{
	const struct ds_report_opts *o = r->opts;
	char *tmp = NULL;
	FILE *f = stdout;
	int ret;

	if (o->out != NULL) {
		tmp = ds_report_sprintf(&r->arena, "%s.tmp.%ld", o->out, (long)getpid());
		if (tmp == NULL)
			return ds_report_error(r, -ENOMEM, false, "out of memory");
		f = fopen(tmp, "w");
		if (f == NULL)
			return ds_report_error(r, -errno, false, "--out %s: %s", o->out,
					       strerror(errno));
	}
	switch (o->format) {
	case DS_REPORT_JSON:
		ret = ds_report_write_json(r, f);
		break;
	case DS_REPORT_MARKDOWN:
		ret = ds_report_write_markdown(r, f);
		break;
	case DS_REPORT_HTML:
		ret = ds_report_write_html(r, f);
		break;
	default:
		ret = ds_report_write_text(r, f);
	}
	if (fflush(f) != 0 && ret == 0)
		ret = -errno;
	if (f != stdout) {
		if (fclose(f) != 0 && ret == 0)
			ret = -errno;
		if (ret == 0 && rename(tmp, o->out) != 0)
			ret = -errno;
		if (ret)
			unlink(tmp);
	}
	if (ret)
		return ds_report_error(r, ret, false, "%s: %s", o->out ? o->out : "stdout",
				       strerror(-ret));
	return 0;
}

/* The charts of an HTML page on stdout lived in a directory of their own. */
static void
remove_temporary(const struct ds_report *r)
{
	DIR *dir;
	struct dirent *e;
	char path[4200];

	if (!r->charts_temporary || r->charts_dir == NULL)
		return;
	dir = opendir(r->charts_dir);
	if (dir != NULL) {
		while ((e = readdir(dir)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", r->charts_dir, e->d_name);
			unlink(path);
		}
		closedir(dir);
	}
	rmdir(r->charts_dir);
}

int
main(int argc, char **argv)
{
	struct ds_report_opts opts = { 0 };
	struct ds_report *r = calloc(1, sizeof(*r));
	int ret, status = DS_REPORT_EXIT_RUNTIME, chart_ret;

	if (r == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return DS_REPORT_EXIT_RUNTIME;
	}
	ret = parse_args(&opts, argc, argv);
	if (ret) {
		if (ret > 0)
			usage(stdout);
		status = ret > 0 ? EXIT_SUCCESS : DS_REPORT_EXIT_USAGE;
		goto out;
	}
	r->opts = &opts;
	ret = ds_report_fetch(r);
	if (ret)
		goto fail;
	/*
	 * A chart gnuplot failed to draw is a failure, but the report is still
	 * written (it says which chart and why) before the exit status says so.
	 */
	chart_ret = ds_report_charts(r);
	if (chart_ret && r->charts_dir == NULL)
		goto fail;
	ret = write_report(r);
	if (ret || chart_ret)
		goto fail;
	status = EXIT_SUCCESS;
	goto out;
fail:
	fprintf(stderr, PROG ": %s\n", r->errstr[0] ? r->errstr : strerror(-ret));
	status = r->usage_error ? DS_REPORT_EXIT_USAGE : DS_REPORT_EXIT_RUNTIME;
out:
	remove_temporary(r);
	ds_report_arena_free(&r->arena);
	free(opts.sensors);
	free(opts.feeds);
	explicit_bzero(opts.password_buf, sizeof(opts.password_buf));
	free(r);
	return status;
}
