/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Charts of darkscope-report, drawn by gnuplot.
 *
 * Every chart is a daily series of a few values over the report's days:
 * packets of the top ports and countries, distinct sources at home and
 * abroad of each watch rule and signature. Each one becomes, in the charts
 * directory,
 *
 *   STEM.dat   the data: a "# day<TAB>name..." header, one line per day
 *   STEM.gp    the gnuplot script: SVG, then the same plot again as PNG
 *   STEM.svg, STEM.png   what gnuplot made of them
 *
 * so a chart can be checked, re-drawn or re-styled by hand. gnuplot runs
 * once per chart, several at a time (fork, chdir into the directory, exec),
 * and its exit status and outputs are checked; its stderr goes to
 * STEM.gp.log, deleted when the chart was made. Without gnuplot the data and
 * scripts are still written and the report says the charts were skipped.
 *
 * Everything that ends up in a script is either a number, a file name made
 * of [A-Za-z0-9._-] only, or a title in single quotes with quotes doubled
 * and control characters replaced: labels come from Redis, and a label is
 * data, never gnuplot commands.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

#define CHART_W 960
#define CHART_H 400
/* Beyond this many days points would crowd the lines. */
#define POINTS_MAX_DAYS 62

/* The gnuplot to run: $GNUPLOT, else "gnuplot" on PATH; NULL when absent. */
static const char *
find_gnuplot(struct ds_report *r)
{
	const char *env = getenv("GNUPLOT"), *path = getenv("PATH");
	char buf[4096];

	/* $GNUPLOT set but unusable means "no gnuplot", never "some other one". */
	if (env != NULL && env[0] != '\0')
		return access(env, X_OK) == 0 ? env : NULL;
	if (path == NULL)
		path = "/usr/bin:/bin";
	while (*path != '\0') {
		size_t len = strcspn(path, ":");

		if (len > 0 && len < sizeof(buf) - 9) {
			snprintf(buf, sizeof(buf), "%.*s/gnuplot", (int)len, path);
			if (access(buf, X_OK) == 0)
				return ds_report_strdup(&r->arena, buf);
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return NULL;
}

/* A file name part from any text: [A-Za-z0-9._-], nothing else. */
static char *
sanitize(struct ds_report *r, const char *s)
{
	char *d = ds_report_strdup(&r->arena, s), *p;

	if (d == NULL)
		return NULL;
	for (p = d; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			*p = '_';
	/* No hidden files, and never an empty name. */
	if (d[0] == '.' || d[0] == '\0')
		return ds_report_sprintf(&r->arena, "_%s", d);
	return d;
}

/* A gnuplot single-quoted string: quotes doubled, control characters out. */
static void
put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("''", f);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fputc('?', f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

static int
add_chart(struct ds_report *r, const char *stem, const char *title, const char *ylabel,
	  unsigned int n_series, const char **names, const double **series)
{
	struct ds_report_chart *c;
	unsigned int i;

	/* Two rules can sanitize to the same stem: the later one gets a number. */
	for (i = 0; i < r->n_charts; i++)
		if (strcmp(r->charts[i].stem, stem) == 0) {
			stem = ds_report_sprintf(&r->arena, "%s-%u", stem, r->n_charts + 1);
			if (stem == NULL)
				return -ENOMEM;
			break;
		}
	c = &r->charts[r->n_charts++];
	c->stem = stem;
	c->title = title;
	c->ylabel = ylabel;
	c->n_series = n_series;
	c->names = names;
	c->series = series;
	return stem != NULL && title != NULL ? 0 : -ENOMEM;
}

/* Source counts as the doubles every series is made of. */
static const double *
to_double(struct ds_report *r, const uint64_t *v, unsigned int n)
{
	double *d = ds_report_alloc(&r->arena, (size_t)n * sizeof(*d) + 1);
	unsigned int i;

	if (d != NULL)
		for (i = 0; i < n; i++)
			d[i] = (double)v[i];
	return d;
}

/* The charts this report has: top ports, top countries, rules, signatures. */
static int
plan_charts(struct ds_report *r, const char *base)
{
	static const enum ds_report_rank_kind kinds[] = { DS_REPORT_PORTS, DS_REPORT_COUNTRIES };
	static const char *const kind_stem[] = { "ports", "countries" };
	static const char *const kind_what[] = { "destination ports", "source countries" };
	unsigned int ndays = r->per[0].ndays, k, i, set;
	int ret;

	r->charts = ds_report_alloc(&r->arena, (2 + r->n_watch + r->n_sigs) *
				    sizeof(*r->charts));
	if (r->charts == NULL)
		return -ENOMEM;
	for (k = 0; k < 2; k++) {
		unsigned int n = r->n_shown[kinds[k]];
		const char **names = ds_report_alloc(&r->arena, (n + 1) * sizeof(*names));
		const double **series = ds_report_alloc(&r->arena, (n + 1) * sizeof(*series));

		if (n == 0)
			continue;
		if (names == NULL || series == NULL)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			names[i] = r->rank[kinds[k]][0].v[i].label;
			series[i] = r->rank[kinds[k]][0].v[i].daily;
		}
		ret = add_chart(r, ds_report_sprintf(&r->arena, "%s-%s", base, kind_stem[k]),
				ds_report_sprintf(&r->arena, "Daily packets of the top %u %s", n,
						  kind_what[k]),
				r->opts->per_sensor_average ? "packets per sensor" : "packets", n,
				names, series);
		if (ret)
			return ret;
	}
	for (set = 0; set < 2; set++) {
		struct ds_report_rule *rules = set ? r->sigs : r->watch;
		unsigned int n = set ? r->n_sigs : r->n_watch;

		for (i = 0; i < n; i++) {
			struct ds_report_rule *ru = &rules[i];
			const char **names = ds_report_alloc(&r->arena, 2 * sizeof(*names));
			const double **series = ds_report_alloc(&r->arena, 2 * sizeof(*series));
			const char *name = sanitize(r, ru->name);

			/* Every watch rule has a chart; a signature only with data to show. */
			if (set == 1 && !ru->has_home)
				continue;
			if (names == NULL || series == NULL || name == NULL)
				return -ENOMEM;
			names[0] = ds_report_strdup(&r->arena, ds_report_home_label(r, true));
			names[1] = ds_report_strdup(&r->arena, ds_report_home_label(r, false));
			series[0] = to_double(r, ru->day_domestic, ndays);
			series[1] = to_double(r, ru->day_overseas, ndays);
			if (names[0] == NULL || names[1] == NULL || series[0] == NULL ||
			    series[1] == NULL)
				return -ENOMEM;
			ru->chart = (int)r->n_charts;
			ret = add_chart(r, ds_report_sprintf(&r->arena, "%s-%s-%s", base,
							     set ? "signature" : "watch", name),
					ds_report_sprintf(&r->arena, "Daily distinct sources of %s %s",
							  set ? "signature" : "watch rule",
							  ru->name),
					"distinct sources", 2, names, series);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int
write_data(struct ds_report *r, const struct ds_report_chart *c)
{
	unsigned int d, i;
	char day[11], num[48];
	FILE *f = fopen(c->dat, "w");

	if (f == NULL)
		return -errno;
	/* The header names the columns for people and tests; gnuplot skips it. */
	fputs("# day", f);
	for (i = 0; i < c->n_series; i++) {
		const char *s;

		fputc('\t', f);
		/* A tab or newline in a label would break the columns. */
		for (s = c->names[i]; *s != '\0'; s++)
			fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
	}
	fputc('\n', f);
	for (d = 0; d < r->per[0].ndays; d++) {
		ds_report_date_iso(r->per[0].first + (int32_t)d, day);
		fputs(day, f);
		for (i = 0; i < c->n_series; i++) {
			ds_report_fmt_packets(c->series[i][d], num, sizeof(num));
			fprintf(f, "\t%s", num);
		}
		fputc('\n', f);
	}
	if (ferror(f)) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) == 0 ? 0 : -errno;
}

static int
write_script(struct ds_report *r, const struct ds_report_chart *c)
{
	const struct ds_report_period *per = &r->per[0];
	double ymax = 0;
	unsigned int d, i, t;
	FILE *f = fopen(c->gp, "w");

	if (f == NULL)
		return -errno;
	for (i = 0; i < c->n_series; i++)
		for (d = 0; d < per->ndays; d++)
			if (c->series[i][d] > ymax)
				ymax = c->series[i][d];
	fputs("# darkscope-report chart: gnuplot ", f);
	put_quoted(f, c->gp);
	fputs(" (run in this directory)\n", f);
	/*
	 * The plot is set up once for SVG; PNG is the same plot again ("replot")
	 * on another terminal, so the two images cannot disagree. Output names
	 * are relative: gnuplot runs in the charts directory.
	 */
	for (t = 0; t < 2; t++) {
		const char *base = strrchr(t ? c->png : c->svg, '/');

		base = base != NULL ? base + 1 : (t ? c->png : c->svg);
		if (t == 0)
			fprintf(f, "set terminal svg size %u,%u dynamic noenhanced "
				"font 'sans,11' background '#ffffff'\n", CHART_W, CHART_H);
		else
			fprintf(f, "set terminal pngcairo size %u,%u noenhanced "
				"font 'sans,10' background '#ffffff'\n", CHART_W, CHART_H);
		fprintf(f, "set output '%s'\n", base);
		if (t == 1) {
			fputs("replot\nunset output\n", f);
			break;
		}
		fputs("set title ", f);
		put_quoted(f, c->title);
		fputs("\nset ylabel ", f);
		put_quoted(f, c->ylabel);
		/* Unix times of the first and last day, half a day of margin. */
		fprintf(f, "\nset xdata time\nset format x '%s'\n"
			"set xrange [%.0f:%.0f]\n", per->ndays > 366 ? "%Y-%m" : "%m-%d",
			(double)per->first * 86400 - 43200,
			((double)per->first + per->ndays - 1) * 86400 + 43200);
		/* A tic every day, or every few days: about ten labels at most, on midnights. */
		fprintf(f, "set xtics %.0f,%u\nunset mxtics\n", (double)per->first * 86400,
			86400 * ((per->ndays + 9) / 10));
		/* Headroom above the highest point; a flat zero still gets an axis. */
		if (ymax > 0)
			fputs("set yrange [0:*]\nset offsets 0, 0, graph 0.08, 0\n", f);
		else
			fputs("set yrange [0:1]\n", f);
		fprintf(f, "set key outside right top\nset grid ytics\nset style data %s\n",
			per->ndays > POINTS_MAX_DAYS ? "lines" : "linespoints");
		/* Column 1 is the date; '' reuses the data file for every series. */
		fputs("plot ", f);
		for (i = 0; i < c->n_series; i++) {
			const char *dat = strrchr(c->dat, '/');

			dat = dat != NULL ? dat + 1 : c->dat;
			fprintf(f, "%s'%s' using (timecolumn(1,'%%Y-%%m-%%d')):%u lw 2 title ",
				i ? ", \\\n     " : "", i ? "" : dat, i + 2);
			put_quoted(f, c->names[i]);
		}
		fputc('\n', f);
	}
	if (ferror(f)) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) == 0 ? 0 : -errno;
}

/* fork + chdir + exec gnuplot SCRIPT; stderr to STEM.gp.log. */
static pid_t
spawn(const char *gnuplot, const char *dir, const struct ds_report_chart *c)
{
	const char *gp = strrchr(c->gp, '/');
	pid_t pid;

	gp = gp != NULL ? gp + 1 : c->gp;
	/* fork + exec rather than system(): no shell between us and the names. */
	pid = fork();
	if (pid != 0)
		return pid;
	/* Child: only async-signal-safe calls until exec. */
	if (chdir(dir) == 0) {
		char log[300];
		int null = open("/dev/null", O_RDWR), err;

		snprintf(log, sizeof(log), "%s.log", gp);
		err = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		if (err >= 0)
			dup2(err, STDERR_FILENO);
		execl(gnuplot, "gnuplot", gp, (char *)NULL);
	}
	_exit(127);
}

static bool
nonempty(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* The first line gnuplot wrote to its log, for the note. */
static void
first_log_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f == NULL)
		return;
	/* gnuplot underlines the bad spot with a line of "^": skip such lines. */
	while (fgets(buf, (int)size, f) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] != '\0' && strspn(buf, " ^") != strlen(buf))
			break;
	}
	fclose(f);
}

static int
run_all(struct ds_report *r, const char *gnuplot, const char *dir)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int running = 0, next = 0, i, failed = 0;
	unsigned int max = ncpu > 1 ? (unsigned int)(ncpu < 8 ? ncpu : 8) : 2;
	pid_t *pids = ds_report_alloc(&r->arena, (r->n_charts + 1) * sizeof(*pids));

	if (pids == NULL)
		return -ENOMEM;
	/* Keep up to `max` gnuplots running; reap one whenever that many are. */
	while (next < r->n_charts || running > 0) {
		int status;
		pid_t pid;

		if (next < r->n_charts && running < max) {
			pids[next] = spawn(gnuplot, dir, &r->charts[next]);
			if (pids[next] < 0) {
				ds_report_note(r, "chart %s: cannot start gnuplot: %s",
					       r->charts[next].stem, strerror(errno));
				failed++;
			} else {
				running++;
			}
			next++;
			continue;
		}
		pid = wait(&status);
		if (pid < 0)
			break;
		for (i = 0; i < next; i++) {
			struct ds_report_chart *c = &r->charts[i];
			char log[4200], line[200];

			if (pids[i] != pid)
				continue;
			running--;
			snprintf(log, sizeof(log), "%s.log", c->gp);
			/* Exit 0 is not enough: both images must be there. */
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && nonempty(c->svg) &&
			    nonempty(c->png)) {
				c->made = true;
				unlink(log);
			} else {
				first_log_line(log, line, sizeof(line));
				ds_report_note(r, "chart %s: gnuplot %s %d%s%s", c->stem,
					       WIFEXITED(status) ? "exited" : "killed by signal",
					       WIFEXITED(status) ? WEXITSTATUS(status) :
					       WIFSIGNALED(status) ? WTERMSIG(status) : -1,
					       line[0] ? ": " : "", line);
				failed++;
			}
		}
	}
	if (failed)
		return ds_report_error(r, -EIO, false, "%u chart(s) failed, see the notes of the "
				       "report", failed);
	return 0;
}

int
ds_report_charts(struct ds_report *r)
{
	const struct ds_report_opts *o = r->opts;
	const char *base = "darkscope-report", *gnuplot, *dir = NULL;
	unsigned int i;
	int ret;

	if (o->no_charts) {
		ds_report_note(r, "charts not drawn (--no-charts)");
		return 0;
	}
	/* Charts are named after the report and sit next to it by default. */
	if (o->out != NULL) {
		const char *slash = strrchr(o->out, '/'), *name = slash ? slash + 1 : o->out;
		const char *dot = strrchr(name, '.');
		char *b = ds_report_strndup(&r->arena, name, dot != NULL && dot != name ?
					    (size_t)(dot - name) : strlen(name));

		if (b == NULL || (base = sanitize(r, b)) == NULL)
			return ds_report_error(r, -ENOMEM, false, "out of memory");
		dir = slash == NULL ? "." : slash == o->out ? "/" :
			ds_report_strndup(&r->arena, o->out, (size_t)(slash - o->out));
	}
	if (o->charts_dir != NULL) {
		dir = o->charts_dir;
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return ds_report_error(r, -errno, false, "--charts %s: %s", dir,
					       strerror(errno));
	}
	if (dir == NULL && o->format == DS_REPORT_HTML) {
		/* The page embeds the charts: draw them in a directory of our own. */
		char tmpl[] = "/tmp/darkscope-report-XXXXXX";

		if (mkdtemp(tmpl) == NULL)
			return ds_report_error(r, -errno, false, "cannot make a temporary "
					       "directory for the charts: %s", strerror(errno));
		dir = ds_report_strdup(&r->arena, tmpl);
		r->charts_temporary = true;
	}
	/* Text, markdown or JSON on stdout: writing files into the cwd unasked is rude. */
	if (dir == NULL) {
		ds_report_note(r, "charts not written: give --out or --charts DIR");
		return 0;
	}
	r->charts_dir = dir;
	ret = plan_charts(r, base);
	if (ret)
		return ds_report_error(r, ret, false, "out of memory");
	for (i = 0; i < r->n_charts; i++) {
		struct ds_report_chart *c = &r->charts[i];

		c->dat = ds_report_sprintf(&r->arena, "%s/%s.dat", dir, c->stem);
		c->gp = ds_report_sprintf(&r->arena, "%s/%s.gp", dir, c->stem);
		c->svg = ds_report_sprintf(&r->arena, "%s/%s.svg", dir, c->stem);
		c->png = ds_report_sprintf(&r->arena, "%s/%s.png", dir, c->stem);
		if (c->dat == NULL || c->gp == NULL || c->svg == NULL || c->png == NULL)
			return ds_report_error(r, -ENOMEM, false, "out of memory");
		ret = write_data(r, c);
		if (ret == 0)
			ret = write_script(r, c);
		if (ret)
			return ds_report_error(r, ret, false, "%s: %s", c->dat, strerror(-ret));
	}
	if (r->n_charts == 0)
		return 0;
	/* The data and scripts are worth having even when nothing can draw them. */
	gnuplot = find_gnuplot(r);
	if (gnuplot == NULL) {
		ds_report_note(r, "gnuplot not found (install gnuplot-nox): charts skipped; their "
			       "data and scripts are in %s", dir);
		return 0;
	}
	return run_all(r, gnuplot, dir);
}
