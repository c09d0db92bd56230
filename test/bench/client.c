/*
 * test/bench/client.c -- the benchmark's client: every timed statement.
 *
 * Owns what bench.sh measures from the client side, over libpq, so that
 * both extensions are timed by the same code.  Each mode prints one line of
 * "key=value" pairs on stdout; anything that goes wrong (an error from the
 * server, a wrong number of rows, a plan that does not use the index when it
 * should or uses it when it should not) ends the program with a message on
 * stderr and exit status 1, so that no figure is printed that was not
 * measured as described.  Server notices go to stderr.
 *
 *   client time CONNINFO SQL...
 *       runs each SQL (simple protocol) and prints ms=<elapsed> for each.
 *   client truth CONNINFO QUERIES K OUT
 *       exact k nearest neighbours of each query vector (index scans and
 *       bitmap scans disabled; the plan is checked), written to OUT as
 *       "qid<TAB>id1,id2,...".
 *   client search CONNINFO QUERIES TRUTH K GUC EF WARMUP
 *       SET GUC = EF and enable_seqscan = off (at a high ef_search on a
 *       small table a planner may prefer an exact scan, which is not what
 *       is measured here), PREPARE the k-NN statement, check that its plan
 *       is an index scan of items_v_idx, run WARMUP queries untimed, then every
 *       query once, timing each EXECUTE (send to last row received); prints
 *       recall@K against TRUTH, p50/p95/p99/mean latency and QPS.
 *   client concurrent CONNINFO QUERIES K GUC EF CLIENTS PER_CLIENT WARMUP
 *       CLIENTS processes, each with its own connection and prepared
 *       statement and the settings of search, start together and run
 *       PER_CLIENT queries each; prints
 *       the total queries per second (first start to last finish).
 *   client first CONNINFO QUERIES K
 *       connect, PREPARE, then time the first EXECUTE of the session and a
 *       second one with the same vector.
 *   client insert CONNINFO ROWS
 *       one prepared single-row INSERT per row of ROWS, each its own
 *       transaction; prints rows per second and latency percentiles.
 *
 * QUERIES and ROWS are files of "id<TAB>[x1,...]" lines (gen's output).
 * The k-NN statement is SELECT id FROM items ORDER BY v <-> $1 LIMIT K,
 * with the vector sent as a text parameter.
 *
 * Built by bench.sh with: cc -O2 -I$(pg_config --includedir) client.c -lpq
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libpq-fe.h"

#define MAX_K 1000

typedef struct VecFile
{
	int			n;
	int		   *ids;
	char	  **vecs;			/* text form, "[...]" */
} VecFile;

static const char *mode = "client";

static void
fail(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "bench client %s: ", mode);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0;
}

static void
notice_to_stderr(void *arg, const char *message)
{
	(void) arg;
	fprintf(stderr, "server: %s", message);
}

static PGconn *
connect_db(const char *conninfo)
{
	PGconn	   *conn = PQconnectdb(conninfo);

	if (PQstatus(conn) != CONNECTION_OK)
		fail("could not connect (%s): %s", conninfo, PQerrorMessage(conn));
	PQsetNoticeProcessor(conn, notice_to_stderr, NULL);
	return conn;
}

/* Run one statement (simple protocol); fail unless it succeeds. */
static PGresult *
run(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail("statement failed: %s\n%s", sql, PQerrorMessage(conn));
	return res;
}

static void
run_clear(PGconn *conn, const char *sql)
{
	PQclear(run(conn, sql));
}

static long
parse_long(const char *arg, const char *what, long min, long max)
{
	char	   *end;
	long		val;

	errno = 0;
	val = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || val < min || val > max)
		fail("%s must be an integer from %ld to %ld, not \"%s\"", what, min, max, arg);
	return val;
}

/* A GUC name is spliced into SET: letters, digits, '_' and '.' only. */
static const char *
check_guc_name(const char *name)
{
	const char *p;

	if (*name == '\0')
		fail("empty setting name");
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
			fail("invalid setting name \"%s\"", name);
	return name;
}

static VecFile
read_vectors(const char *path)
{
	VecFile		vf = {0, NULL, NULL};
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	int			alloc = 0;

	if (f == NULL)
		fail("could not open %s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, f)) > 0)
	{
		char	   *tab = strchr(line, '\t');
		const char *p;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (tab == NULL || tab[1] != '[' || line[len - 1] != ']')
			fail("%s line %d: expected \"id<TAB>[...]\"", path, vf.n + 1);
		*tab = '\0';
		/* vectors are spliced into EXPLAIN as literals: check the characters */
		for (p = tab + 1; *p; p++)
			if (strchr("[],.-+0123456789eE", *p) == NULL)
				fail("%s line %d: unexpected character in vector", path, vf.n + 1);
		if (vf.n == alloc)
		{
			alloc = alloc ? alloc * 2 : 1024;
			vf.ids = realloc(vf.ids, sizeof(int) * alloc);
			vf.vecs = realloc(vf.vecs, sizeof(char *) * alloc);
			if (!vf.ids || !vf.vecs)
				fail("out of memory");
		}
		vf.ids[vf.n] = (int) parse_long(line, "id", 0, 2147483647L);
		vf.vecs[vf.n] = strdup(tab + 1);
		if (vf.vecs[vf.n] == NULL)
			fail("out of memory");
		vf.n++;
	}
	if (ferror(f))
		fail("could not read %s: %s", path, strerror(errno));
	fclose(f);
	free(line);
	if (vf.n == 0)
		fail("%s holds no vectors", path);
	return vf;
}

static void
prepare_knn(PGconn *conn, int k)
{
	char		sql[200];
	PGresult   *res;

	snprintf(sql, sizeof(sql), "SELECT id FROM items ORDER BY v <-> $1 LIMIT %d", k);
	res = PQprepare(conn, "knn", sql, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail("PREPARE failed: %s", PQerrorMessage(conn));
	PQclear(res);
}

/*
 * The plan the prepared statement gets for vector vec: fail unless it scans
 * items_v_idx (want_index) or uses no index at all (!want_index).
 */
static void
check_plan(PGconn *conn, const char *vec, int want_index)
{
	size_t		len = strlen(vec) + 100;
	char	   *sql = malloc(len);
	PGresult   *res;
	int			i,
				uses_index = 0,
				uses_any_index = 0;

	if (sql == NULL)
		fail("out of memory");
	snprintf(sql, len, "EXPLAIN (COSTS OFF) EXECUTE knn('%s')", vec);
	res = run(conn, sql);
	for (i = 0; i < PQntuples(res); i++)
	{
		const char *line = PQgetvalue(res, i, 0);

		if (strstr(line, "Index Scan using items_v_idx"))
			uses_index = 1;
		if (strstr(line, "Index"))
			uses_any_index = 1;
	}
	if (want_index ? !uses_index : uses_any_index)
	{
		fprintf(stderr, "plan:\n");
		for (i = 0; i < PQntuples(res); i++)
			fprintf(stderr, "  %s\n", PQgetvalue(res, i, 0));
		fail(want_index ? "the k-NN statement does not scan items_v_idx"
			 : "the exact k-NN statement uses an index");
	}
	PQclear(res);
	free(sql);
}

/* Execute the prepared k-NN statement; fail unless it returns k rows. */
static PGresult *
exec_knn(PGconn *conn, const char *vec, int k)
{
	const char *params[1] = {vec};
	PGresult   *res = PQexecPrepared(conn, "knn", 1, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail("EXECUTE failed: %s", PQerrorMessage(conn));
	if (PQntuples(res) != k)
		fail("k-NN query returned %d rows, not %d", PQntuples(res), k);
	return res;
}

static void
set_guc(PGconn *conn, const char *guc, long value)
{
	char		sql[200];
	PGresult   *res;

	snprintf(sql, sizeof(sql), "SET %s = %ld", check_guc_name(guc), value);
	run_clear(conn, sql);
	snprintf(sql, sizeof(sql), "SHOW %s", guc);
	res = run(conn, sql);
	if (PQntuples(res) != 1 || strtol(PQgetvalue(res, 0, 0), NULL, 10) != value)
		fail("%s is not %ld after SET", guc, value);
	PQclear(res);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* nearest-rank percentile of a sorted array */
static double
percentile(const double *sorted, int n, double p)
{
	int			rank = (int) (p / 100.0 * n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static int
mode_time(int argc, char **argv)
{
	PGconn	   *conn;
	int			i;

	if (argc < 4)
		fail("usage: client time CONNINFO SQL...");
	conn = connect_db(argv[2]);
	for (i = 3; i < argc; i++)
	{
		double		t0 = now_ms();

		run_clear(conn, argv[i]);
		printf("ms=%.3f\n", now_ms() - t0);
	}
	PQfinish(conn);
	return 0;
}

static int
mode_truth(int argc, char **argv)
{
	PGconn	   *conn;
	VecFile		q;
	int			k,
				i,
				j;
	FILE	   *out;

	if (argc != 6)
		fail("usage: client truth CONNINFO QUERIES K OUT");
	conn = connect_db(argv[2]);
	q = read_vectors(argv[3]);
	k = (int) parse_long(argv[4], "K", 1, MAX_K);
	out = fopen(argv[5], "w");
	if (out == NULL)
		fail("could not create %s: %s", argv[5], strerror(errno));

	run_clear(conn, "SET enable_indexscan = off");
	run_clear(conn, "SET enable_bitmapscan = off");
	run_clear(conn, "SET enable_indexonlyscan = off");
	prepare_knn(conn, k);
	check_plan(conn, q.vecs[0], 0);
	for (i = 0; i < q.n; i++)
	{
		PGresult   *res = exec_knn(conn, q.vecs[i], k);

		fprintf(out, "%d\t", q.ids[i]);
		for (j = 0; j < k; j++)
			fprintf(out, j ? ",%s" : "%s", PQgetvalue(res, j, 0));
		fputc('\n', out);
		PQclear(res);
	}
	check_plan(conn, q.vecs[0], 0);
	if (fclose(out) != 0)
		fail("could not write %s: %s", argv[5], strerror(errno));
	printf("queries=%d k=%d\n", q.n, k);
	PQfinish(conn);
	return 0;
}

/* truth[i * k .. i * k + k - 1]: the exact answer of query i, in file order */
static int *
read_truth(const char *path, const VecFile *q, int k)
{
	FILE	   *f = fopen(path, "r");
	int		   *truth = malloc(sizeof(int) * q->n * k);
	char	   *line = NULL;
	size_t		cap = 0;
	int			i,
				j;

	if (f == NULL)
		fail("could not open %s: %s", path, strerror(errno));
	if (truth == NULL)
		fail("out of memory");
	for (i = 0; i < q->n; i++)
	{
		char	   *p,
				   *end;

		if (getline(&line, &cap, f) <= 0)
			fail("%s has fewer lines than there are queries", path);
		if (strtol(line, &p, 10) != q->ids[i] || *p != '\t')
			fail("%s line %d is not for query %d", path, i + 1, q->ids[i]);
		p++;
		for (j = 0; j < k; j++)
		{
			truth[i * k + j] = (int) strtol(p, &end, 10);
			if (end == p || (j < k - 1 && *end != ','))
				fail("%s line %d: expected %d ids", path, i + 1, k);
			p = end + 1;
		}
	}
	free(line);
	fclose(f);
	return truth;
}

static int
mode_search(int argc, char **argv)
{
	PGconn	   *conn;
	VecFile		q;
	int			k,
				warmup,
				i,
				j,
				m,
				hits = 0;
	long		ef;
	int		   *truth,
			   *found;
	double	   *lat,
				t_start,
				total_ms,
				sum = 0;

	if (argc != 9)
		fail("usage: client search CONNINFO QUERIES TRUTH K GUC EF WARMUP");
	conn = connect_db(argv[2]);
	q = read_vectors(argv[3]);
	k = (int) parse_long(argv[5], "K", 1, MAX_K);
	truth = read_truth(argv[4], &q, k);
	ef = parse_long(argv[7], "EF", 1, 100000);
	warmup = (int) parse_long(argv[8], "WARMUP", 0, 10000000);
	found = malloc(sizeof(int) * q.n * k);
	lat = malloc(sizeof(double) * q.n);
	if (!found || !lat)
		fail("out of memory");

	set_guc(conn, argv[6], ef);
	run_clear(conn, "SET enable_seqscan = off");
	prepare_knn(conn, k);
	check_plan(conn, q.vecs[0], 1);
	for (i = 0; i < warmup; i++)
		PQclear(exec_knn(conn, q.vecs[i % q.n], k));

	t_start = now_ms();
	for (i = 0; i < q.n; i++)
	{
		double		t0 = now_ms();
		PGresult   *res = exec_knn(conn, q.vecs[i], k);

		lat[i] = now_ms() - t0;
		for (j = 0; j < k; j++)
			found[i * k + j] = atoi(PQgetvalue(res, j, 0));
		PQclear(res);
	}
	total_ms = now_ms() - t_start;
	/* after this many executions the plan cache may use a generic plan */
	check_plan(conn, q.vecs[0], 1);

	for (i = 0; i < q.n; i++)
	{
		for (j = 0; j < k; j++)
			for (m = 0; m < k; m++)
				if (found[i * k + j] == truth[i * k + m])
				{
					hits++;
					break;
				}
		sum += lat[i];
	}
	qsort(lat, q.n, sizeof(double), cmp_double);
	printf("recall=%.4f p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f mean_ms=%.3f qps=%.1f n=%d\n",
		   (double) hits / ((double) q.n * k),
		   percentile(lat, q.n, 50), percentile(lat, q.n, 95),
		   percentile(lat, q.n, 99), sum / q.n, q.n / (total_ms / 1000.0), q.n);
	PQfinish(conn);
	return 0;
}

static void
write_all(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t) len)
		fail("could not write to pipe: %s", strerror(errno));
}

static int
mode_concurrent(int argc, char **argv)
{
	VecFile		q;
	int			k,
				clients,
				per_client,
				warmup,
				c,
				ready = 0,
				failed = 0;
	long		ef;
	int			ready_pipe[2],
				go_pipe[2],
				done_pipe[2];
	pid_t	   *pids;
	double		t_start,
				t_end = 0,
				t;
	char		byte;

	if (argc != 10)
		fail("usage: client concurrent CONNINFO QUERIES K GUC EF CLIENTS PER_CLIENT WARMUP");
	q = read_vectors(argv[3]);
	k = (int) parse_long(argv[4], "K", 1, MAX_K);
	check_guc_name(argv[5]);
	ef = parse_long(argv[6], "EF", 1, 100000);
	clients = (int) parse_long(argv[7], "CLIENTS", 1, 1000);
	per_client = (int) parse_long(argv[8], "PER_CLIENT", 1, 100000000);
	warmup = (int) parse_long(argv[9], "WARMUP", 0, 10000000);
	pids = malloc(sizeof(pid_t) * clients);
	if (pids == NULL)
		fail("out of memory");
	if (pipe(ready_pipe) || pipe(go_pipe) || pipe(done_pipe))
		fail("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);

	for (c = 0; c < clients; c++)
	{
		pids[c] = fork();
		if (pids[c] < 0)
			fail("fork: %s", strerror(errno));
		if (pids[c] == 0)
		{
			PGconn	   *conn;
			int			i,
						first = (int) ((long) c * q.n / clients);

			close(ready_pipe[0]);
			close(go_pipe[1]);
			close(done_pipe[0]);
			conn = connect_db(argv[2]);
			set_guc(conn, argv[5], ef);
			run_clear(conn, "SET enable_seqscan = off");
			prepare_knn(conn, k);
			check_plan(conn, q.vecs[first], 1);
			for (i = 0; i < warmup; i++)
				PQclear(exec_knn(conn, q.vecs[(first + i) % q.n], k));
			write_all(ready_pipe[1], "r", 1);
			close(ready_pipe[1]);	/* the parent sees EOF if a sibling dies */
			/* wait until the parent closes its end: everyone starts at once */
			if (read(go_pipe[0], &byte, 1) != 0)
				fail("unexpected data on the start pipe");
			for (i = 0; i < per_client; i++)
				PQclear(exec_knn(conn, q.vecs[(first + i) % q.n], k));
			t = now_ms();
			write_all(done_pipe[1], &t, sizeof(t));
			check_plan(conn, q.vecs[first], 1);
			PQfinish(conn);
			_exit(0);
		}
	}
	close(ready_pipe[1]);
	close(go_pipe[0]);
	close(done_pipe[1]);
	while (ready < clients && read(ready_pipe[0], &byte, 1) == 1)
		ready++;
	t_start = now_ms();
	close(go_pipe[1]);
	if (ready == clients)
		while (read(done_pipe[0], &t, sizeof(t)) == sizeof(t))
			if (t > t_end)
				t_end = t;
	for (c = 0; c < clients; c++)
	{
		int			status;

		if (waitpid(pids[c], &status, 0) < 0 ||
			!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	if (failed || ready < clients)
		fail("%d of %d clients failed", failed ? failed : clients - ready, clients);
	printf("clients=%d queries=%ld qps=%.1f\n", clients, (long) clients * per_client,
		   (double) clients * per_client / ((t_end - t_start) / 1000.0));
	return 0;
}

static int
mode_first(int argc, char **argv)
{
	PGconn	   *conn;
	VecFile		q;
	int			k;
	double		t0,
				connect_ms,
				prepare_ms,
				first_ms,
				second_ms;

	if (argc != 5)
		fail("usage: client first CONNINFO QUERIES K");
	q = read_vectors(argv[3]);
	k = (int) parse_long(argv[4], "K", 1, MAX_K);
	t0 = now_ms();
	conn = connect_db(argv[2]);
	connect_ms = now_ms() - t0;
	t0 = now_ms();
	prepare_knn(conn, k);
	prepare_ms = now_ms() - t0;
	t0 = now_ms();
	PQclear(exec_knn(conn, q.vecs[0], k));
	first_ms = now_ms() - t0;
	t0 = now_ms();
	PQclear(exec_knn(conn, q.vecs[0], k));
	second_ms = now_ms() - t0;
	check_plan(conn, q.vecs[0], 1);
	printf("connect_ms=%.3f prepare_ms=%.3f first_ms=%.3f second_ms=%.3f\n",
		   connect_ms, prepare_ms, first_ms, second_ms);
	PQfinish(conn);
	return 0;
}

static int
mode_insert(int argc, char **argv)
{
	PGconn	   *conn;
	VecFile		rows;
	PGresult   *res;
	double	   *lat,
				t_start,
				total_ms;
	int			i;

	if (argc != 4)
		fail("usage: client insert CONNINFO ROWS");
	conn = connect_db(argv[2]);
	rows = read_vectors(argv[3]);
	lat = malloc(sizeof(double) * rows.n);
	if (lat == NULL)
		fail("out of memory");
	res = PQprepare(conn, "ins", "INSERT INTO items (id, v) VALUES ($1, $2)", 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail("PREPARE failed: %s", PQerrorMessage(conn));
	PQclear(res);

	t_start = now_ms();
	for (i = 0; i < rows.n; i++)
	{
		char		id[16];
		const char *params[2] = {id, rows.vecs[i]};
		double		t0 = now_ms();

		snprintf(id, sizeof(id), "%d", rows.ids[i]);
		res = PQexecPrepared(conn, "ins", 2, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdTuples(res), "1") != 0)
			fail("INSERT failed: %s", PQerrorMessage(conn));
		PQclear(res);
		lat[i] = now_ms() - t0;
	}
	total_ms = now_ms() - t_start;
	qsort(lat, rows.n, sizeof(double), cmp_double);
	printf("rows=%d rows_per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n", rows.n,
		   rows.n / (total_ms / 1000.0), percentile(lat, rows.n, 50),
		   percentile(lat, rows.n, 99));
	PQfinish(conn);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		fail("usage: client time|truth|search|concurrent|first|insert CONNINFO ...");
	mode = argv[1];
	if (strcmp(mode, "time") == 0)
		return mode_time(argc, argv);
	if (strcmp(mode, "truth") == 0)
		return mode_truth(argc, argv);
	if (strcmp(mode, "search") == 0)
		return mode_search(argc, argv);
	if (strcmp(mode, "concurrent") == 0)
		return mode_concurrent(argc, argv);
	if (strcmp(mode, "first") == 0)
		return mode_first(argc, argv);
	if (strcmp(mode, "insert") == 0)
		return mode_insert(argc, argv);
	fail("unknown mode \"%s\"", mode);
	return 1;
}
