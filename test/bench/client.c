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
 *   client firstn CONNINFO QUERIES K N
 *       N sessions connect and PREPARE, then all send their first EXECUTE
 *       (session i with query vector i) at the same moment; prints each
 *       one's time, their median and their maximum.
 *   client insert CONNINFO ROWS COUNT FIRST_ID CLIENTS
 *       COUNT single-row INSERTs, one per transaction, of the first COUNT
 *       rows of ROWS with ids FIRST_ID, FIRST_ID + 1, ... (the file's own
 *       ids are ignored), shared among CLIENTS sessions that start
 *       together; prints rows per second (first start to last finish) and
 *       latency percentiles.
 *   client vacinsert CONNINFO ROWS FIRST_ID ROUND CLIENTS RATE DELAY_MS SECONDS
 *       CLIENTS sessions insert rows of ROWS (ids from FIRST_ID on), each
 *       at RATE rows per second (0: as fast as it can), while one more
 *       session runs VACUUM (INDEX_CLEANUP ON) items with vacuum_cost_delay
 *       = DELAY_MS; they stop when the VACUUM ends.  With DELAY_MS -1 no
 *       VACUUM runs and they stop after SECONDS (the baseline).  The rows
 *       are taken from the first on, round after round, with the first
 *       coordinate shifted by 0.001 times the round number (the first is
 *       ROUND), so that no inserted vector equals another or a row the
 *       table got from ROWS before.  Prints the VACUUM's time, the latency
 *       percentiles of the INSERTs, and the ROUND of a next call.
 *   client selfquery CONNINFO ROWS SAMPLE K GUC EF TABLE
 *       for SAMPLE rows of ROWS spread evenly over the file (the rows of
 *       TABLE), the k-NN query of TABLE with the row's own vector; prints
 *       the share of them whose own id is among the K returned.  EF 0
 *       leaves GUC at its default.
 *
 * QUERIES and ROWS are files of "id<TAB>[x1,...]" lines (gen's output).
 * The k-NN statement is SELECT id FROM items ORDER BY v <-> $1 LIMIT K
 * (FROM TABLE in selfquery, whose index is TABLE_v_idx), with the vector
 * sent as a text parameter.  Sessions that must start together are
 * processes of their own, released at once through a pipe; their results
 * come back through shared memory.
 *
 * Built by bench.sh with: cc -O2 -I$(pg_config --includedir) client.c -lpq
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* the table of the k-NN statement, and its index (selfquery changes them) */
static const char *knn_table = "items";
static char knn_index[80] = "items_v_idx";

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

	snprintf(sql, sizeof(sql), "SELECT id FROM %s ORDER BY v <-> $1 LIMIT %d", knn_table, k);
	res = PQprepare(conn, "knn", sql, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail("PREPARE failed: %s", PQerrorMessage(conn));
	PQclear(res);
}

/*
 * The plan the prepared statement gets for vector vec: fail unless it scans
 * knn_index (want_index) or uses no index at all (!want_index).
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
	char		want[120];

	snprintf(want, sizeof(want), "Index Scan using %s ", knn_index);
	if (sql == NULL)
		fail("out of memory");
	snprintf(sql, len, "EXPLAIN (COSTS OFF) EXECUTE knn('%s')", vec);
	res = run(conn, sql);
	for (i = 0; i < PQntuples(res); i++)
	{
		const char *line = PQgetvalue(res, i, 0);

		char		padded[1024];

		/* the index name followed by a blank: not a longer name */
		snprintf(padded, sizeof(padded), "%s ", line);
		if (strstr(padded, want))
			uses_index = 1;
		if (strstr(line, "Index"))
			uses_any_index = 1;
	}
	if (want_index ? !uses_index : uses_any_index)
	{
		fprintf(stderr, "plan:\n");
		for (i = 0; i < PQntuples(res); i++)
			fprintf(stderr, "  %s\n", PQgetvalue(res, i, 0));
		if (want_index)
			fail("the k-NN statement does not scan %s", knn_index);
		fail("the exact k-NN statement uses an index");
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

/*
 * Sessions that start together.  Each is a forked process with its own
 * connection; it does its setup, says it is ready and waits until the parent
 * releases all of them at once (closing the write end of the go pipe), then
 * does the timed work.  What they measure goes into an anonymous shared
 * mapping made before the fork, so that nothing has to be passed back
 * through pipes.
 */
typedef struct Group
{
	int			n;
	pid_t	   *pids;
	int			ready_pipe[2];
	int			go_pipe[2];
	double		t_start;		/* when the parent released them */
} Group;

/* n bytes of zeroed memory shared with the children forked after this */
static void *
shared_alloc(size_t n)
{
	void	   *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap of %zu bytes: %s", n, strerror(errno));
	return p;
}

static void
group_init(Group *g, int n)
{
	g->n = n;
	g->pids = malloc(sizeof(pid_t) * n);
	if (g->pids == NULL)
		fail("out of memory");
	if (pipe(g->ready_pipe) || pipe(g->go_pipe))
		fail("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
}

/* fork member c; returns 1 in the child, 0 in the parent */
static int
group_fork(Group *g, int c)
{
	g->pids[c] = fork();
	if (g->pids[c] < 0)
		fail("fork: %s", strerror(errno));
	if (g->pids[c] > 0)
		return 0;
	close(g->ready_pipe[0]);
	close(g->go_pipe[1]);
	return 1;
}

/* in a child: say ready, and wait for the start */
static void
group_ready_wait(Group *g)
{
	char		byte;

	write_all(g->ready_pipe[1], "r", 1);
	close(g->ready_pipe[1]);	/* the parent sees EOF if a sibling dies */
	if (read(g->go_pipe[0], &byte, 1) != 0)
		fail("unexpected data on the start pipe");
}

/* in the parent: wait until all are ready, and release them */
static void
group_start(Group *g)
{
	int			ready = 0;
	char		byte;

	close(g->ready_pipe[1]);
	close(g->go_pipe[0]);
	while (ready < g->n && read(g->ready_pipe[0], &byte, 1) == 1)
		ready++;
	g->t_start = now_ms();
	close(g->go_pipe[1]);
	if (ready < g->n)
		g->t_start = -1;		/* group_wait reports the failure */
}

/* in the parent: wait for every child; fail if any failed */
static void
group_wait(Group *g)
{
	int			c,
				failed = 0;

	for (c = 0; c < g->n; c++)
	{
		int			status;

		if (waitpid(g->pids[c], &status, 0) < 0 ||
			!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	if (failed || g->t_start < 0)
		fail("%d of %d sessions failed", failed ? failed : 1, g->n);
}

static PGconn *
connect_insert(const char *conninfo)
{
	PGconn	   *conn = connect_db(conninfo);
	PGresult   *res = PQprepare(conn, "ins", "INSERT INTO items (id, v) VALUES ($1, $2)", 0, NULL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail("PREPARE failed: %s", PQerrorMessage(conn));
	PQclear(res);
	return conn;
}

/* one single-row INSERT (its own transaction); returns its time in ms */
static double
insert_row(PGconn *conn, long id, const char *vec)
{
	char		idtext[24];
	const char *params[2] = {idtext, vec};
	double		t0 = now_ms();
	PGresult   *res;

	snprintf(idtext, sizeof(idtext), "%ld", id);
	res = PQexecPrepared(conn, "ins", 2, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdTuples(res), "1") != 0)
		fail("INSERT failed: %s", PQerrorMessage(conn));
	PQclear(res);
	return now_ms() - t0;
}

static int
mode_insert(int argc, char **argv)
{
	VecFile		rows;
	Group		g;
	long		count,
				first_id;
	int			clients,
				c;
	double	   *lat,
			   *t_end,
				t_last = 0;

	if (argc != 7)
		fail("usage: client insert CONNINFO ROWS COUNT FIRST_ID CLIENTS");
	rows = read_vectors(argv[3]);
	count = parse_long(argv[4], "COUNT", 1, rows.n);
	first_id = parse_long(argv[5], "FIRST_ID", 0, 2147483647L - count);
	clients = (int) parse_long(argv[6], "CLIENTS", 1, 256);
	lat = shared_alloc(sizeof(double) * count);
	t_end = shared_alloc(sizeof(double) * clients);

	group_init(&g, clients);
	for (c = 0; c < clients; c++)
	{
		if (group_fork(&g, c))
		{
			/* client c inserts rows lo .. hi - 1 */
			long		lo = count * c / clients,
						hi = count * (c + 1) / clients,
						i;
			PGconn	   *conn = connect_insert(argv[2]);

			group_ready_wait(&g);
			for (i = lo; i < hi; i++)
				lat[i] = insert_row(conn, first_id + i, rows.vecs[i]);
			t_end[c] = now_ms();
			PQfinish(conn);
			_exit(0);
		}
	}
	group_start(&g);
	group_wait(&g);
	for (c = 0; c < clients; c++)
		if (t_end[c] > t_last)
			t_last = t_end[c];
	qsort(lat, count, sizeof(double), cmp_double);
	printf("rows=%ld clients=%d rows_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
		   count, clients, count / ((t_last - g.t_start) / 1000.0),
		   percentile(lat, count, 50), percentile(lat, count, 99), lat[count - 1]);
	return 0;
}

/*
 * The text of vector vec with its first coordinate shifted by delta, in
 * buf (of len bytes): a row of the insert file used once more, not equal to
 * its earlier copies.
 */
static void
shift_first(const char *vec, double delta, char *buf, size_t len)
{
	char	   *end;
	double		x = strtod(vec + 1, &end);

	if (end == vec + 1)
		fail("could not read the first coordinate of a vector");
	if ((size_t) snprintf(buf, len, "[%.9g%s", x + delta, end) >= len)
		fail("vector text too long");
}

#define VACINSERT_MAX_ROWS 4000000

/*
 * Row j of vacinsert's sequence: row j % n of the file, its first
 * coordinate shifted by 0.001 per round (round0 + j / n) when that is not 0.
 */
static const char *
vacinsert_row(const VecFile *rows, long j, long round0, char *buf, size_t buflen)
{
	long		round = round0 + j / rows->n;

	if (round == 0)
		return rows->vecs[j % rows->n];
	shift_first(rows->vecs[j % rows->n], 0.001 * round, buf, buflen);
	return buf;
}

static int
mode_vacinsert(int argc, char **argv)
{
	VecFile		rows;
	Group		g;
	long		first_id,
				round0,
				max_j = 0,
				rate,
				delay_ms,
				seconds,
				i;
	int			clients,
				c;
	long	   *counts;
	long		total = 0;
	double	   *lat,
			   *vacuum_ms;
	volatile int *stop;
	char	   *buf;
	size_t		buflen;
	long		per_client_max;

	if (argc != 10)
		fail("usage: client vacinsert CONNINFO ROWS FIRST_ID ROUND CLIENTS RATE DELAY_MS SECONDS");
	rows = read_vectors(argv[3]);
	first_id = parse_long(argv[4], "FIRST_ID", 0, 2147483647L - VACINSERT_MAX_ROWS);
	round0 = parse_long(argv[5], "ROUND", 0, 1000000);
	clients = (int) parse_long(argv[6], "CLIENTS", 1, 64);
	rate = parse_long(argv[7], "RATE", 0, 1000000);
	delay_ms = parse_long(argv[8], "DELAY_MS", -1, 100);
	seconds = parse_long(argv[9], "SECONDS", 1, 86400);
	per_client_max = VACINSERT_MAX_ROWS / clients;
	lat = shared_alloc(sizeof(double) * VACINSERT_MAX_ROWS);
	counts = shared_alloc(sizeof(long) * clients);
	vacuum_ms = shared_alloc(sizeof(double));
	stop = shared_alloc(sizeof(int));
	buflen = strlen(rows.vecs[0]) * 2 + 64;
	for (i = 0; i < rows.n; i++)
		if (strlen(rows.vecs[i]) * 2 + 64 > buflen)
			buflen = strlen(rows.vecs[i]) * 2 + 64;
	buf = malloc(buflen);
	if (buf == NULL)
		fail("out of memory");

	/* members 0 .. clients - 1 insert; member clients runs the VACUUM */
	group_init(&g, clients + (delay_ms >= 0 ? 1 : 0));
	for (c = 0; c < clients; c++)
	{
		if (group_fork(&g, c))
		{
			PGconn	   *conn = connect_insert(argv[2]);
			double		t0,
						interval = rate > 0 ? 1000.0 / rate : 0;
			long		n = 0;

			/* one untimed INSERT (row j = c): the session's caches, not the VACUUM */
			insert_row(conn, first_id + c, vacinsert_row(&rows, c, round0, buf, buflen));
			group_ready_wait(&g);
			t0 = now_ms();
			while (!__atomic_load_n(stop, __ATOMIC_SEQ_CST))
			{
				/* this client's n-th row is row j of the whole sequence */
				long		j = clients + n * clients + c;
				double		wait = t0 + n * interval - now_ms();

				if (n >= per_client_max)
					fail("more than %ld INSERTs: VACUUM did not end", per_client_max);
				if (wait > 0)
				{
					struct timespec ts;

					/* sleep in slices of at most 10 ms, watching for the stop */
					if (wait > 10)
						wait = 10;
					ts.tv_sec = 0;
					ts.tv_nsec = (long) (wait * 1000000.0);
					nanosleep(&ts, NULL);
					continue;
				}
				lat[c * per_client_max + n] =
					insert_row(conn, first_id + j, vacinsert_row(&rows, j, round0, buf, buflen));
				n++;
				if (delay_ms < 0 && now_ms() - t0 >= seconds * 1000.0)
					break;
			}
			counts[c] = n;
			PQfinish(conn);
			_exit(0);
		}
	}
	if (delay_ms >= 0 && group_fork(&g, clients))
	{
		PGconn	   *conn = connect_db(argv[2]);
		char		sql[100];
		double		t0;
		PGresult   *res;

		snprintf(sql, sizeof(sql), "SET vacuum_cost_delay = '%ldms'", delay_ms);
		run_clear(conn, sql);
		group_ready_wait(&g);
		t0 = now_ms();
		res = PQexec(conn, "VACUUM (INDEX_CLEANUP ON) items");
		*vacuum_ms = now_ms() - t0;
		/* stop the INSERTs whatever happened */
		__atomic_store_n(stop, 1, __ATOMIC_SEQ_CST);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			fail("VACUUM failed: %s", PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		_exit(0);
	}
	group_start(&g);
	group_wait(&g);

	/* gather the latencies at the front of lat */
	for (c = 0; c < clients; c++)
	{
		memmove(lat + total, lat + c * per_client_max, sizeof(double) * counts[c]);
		total += counts[c];
		if (clients + counts[c] * clients + c > max_j)
			max_j = clients + counts[c] * clients + c;
	}
	if (total == 0)
		fail("no INSERT ran while the VACUUM ran");
	qsort(lat, total, sizeof(double), cmp_double);
	printf("vacuum_ms=%.3f inserts=%ld rows_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f next_round=%ld\n",
		   delay_ms >= 0 ? *vacuum_ms : 0.0, total,
		   total / ((delay_ms >= 0 ? *vacuum_ms : seconds * 1000.0) / 1000.0),
		   percentile(lat, total, 50), percentile(lat, total, 99), lat[total - 1],
		   round0 + max_j / rows.n + 1);
	return 0;
}

static int
mode_firstn(int argc, char **argv)
{
	VecFile		q;
	Group		g;
	int			k,
				n,
				c;
	double	   *first_ms,
			   *t_end,
				t_last = 0;

	if (argc != 6)
		fail("usage: client firstn CONNINFO QUERIES K N");
	q = read_vectors(argv[3]);
	k = (int) parse_long(argv[4], "K", 1, MAX_K);
	n = (int) parse_long(argv[5], "N", 1, 64);
	first_ms = shared_alloc(sizeof(double) * n);
	t_end = shared_alloc(sizeof(double) * n);

	group_init(&g, n);
	for (c = 0; c < n; c++)
	{
		if (group_fork(&g, c))
		{
			PGconn	   *conn = connect_db(argv[2]);
			double		t0;

			prepare_knn(conn, k);
			group_ready_wait(&g);
			t0 = now_ms();
			PQclear(exec_knn(conn, q.vecs[c % q.n], k));
			t_end[c] = now_ms();
			first_ms[c] = t_end[c] - t0;
			check_plan(conn, q.vecs[c % q.n], 1);
			PQfinish(conn);
			_exit(0);
		}
	}
	group_start(&g);
	group_wait(&g);
	printf("sessions=%d", n);
	for (c = 0; c < n; c++)
	{
		printf(" first_ms_%d=%.3f", c + 1, first_ms[c]);
		if (t_end[c] > t_last)
			t_last = t_end[c];
	}
	qsort(first_ms, n, sizeof(double), cmp_double);
	/* the median of an even number: the mean of the middle two */
	printf(" median_ms=%.3f max_ms=%.3f all_done_ms=%.3f\n",
		   n % 2 ? first_ms[n / 2] : (first_ms[n / 2 - 1] + first_ms[n / 2]) / 2,
		   first_ms[n - 1], t_last - g.t_start);
	return 0;
}

static int
mode_selfquery(int argc, char **argv)
{
	PGconn	   *conn;
	VecFile		rows;
	int			sample,
				k,
				i,
				j,
				hits = 0;
	long		ef;
	const char *p;
	PGresult   *res;
	double		t0,
				total_ms;
	char		sql[200];

	if (argc != 9)
		fail("usage: client selfquery CONNINFO ROWS SAMPLE K GUC EF TABLE");
	rows = read_vectors(argv[3]);
	sample = (int) parse_long(argv[4], "SAMPLE", 1, rows.n);
	k = (int) parse_long(argv[5], "K", 1, MAX_K);
	ef = parse_long(argv[7], "EF", 0, 100000);
	for (p = argv[8]; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
			fail("invalid table name \"%s\"", argv[8]);
	knn_table = argv[8];
	snprintf(knn_index, sizeof(knn_index), "%.60s_v_idx", knn_table);

	conn = connect_db(argv[2]);
	if (ef > 0)
		set_guc(conn, argv[6], ef);
	run_clear(conn, "SET enable_seqscan = off");
	prepare_knn(conn, k);
	check_plan(conn, rows.vecs[0], 1);
	t0 = now_ms();
	for (i = 0; i < sample; i++)
	{
		/* rows spread evenly over the file, from first to last loaded */
		int			r = (int) ((long) i * rows.n / sample);

		res = exec_knn(conn, rows.vecs[r], k);
		for (j = 0; j < k; j++)
			if (atoi(PQgetvalue(res, j, 0)) == rows.ids[r])
			{
				hits++;
				break;
			}
		PQclear(res);
	}
	total_ms = now_ms() - t0;
	check_plan(conn, rows.vecs[0], 1);
	snprintf(sql, sizeof(sql), "SHOW %s", check_guc_name(argv[6]));
	res = run(conn, sql);
	printf("share=%.4f found=%d sample=%d ef=%s qps=%.1f\n",
		   (double) hits / sample, hits, sample, PQgetvalue(res, 0, 0),
		   sample / (total_ms / 1000.0));
	PQclear(res);
	PQfinish(conn);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		fail("usage: client time|truth|search|concurrent|first|firstn|insert|vacinsert|selfquery CONNINFO ...");
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
	if (strcmp(mode, "firstn") == 0)
		return mode_firstn(argc, argv);
	if (strcmp(mode, "insert") == 0)
		return mode_insert(argc, argv);
	if (strcmp(mode, "vacinsert") == 0)
		return mode_vacinsert(argc, argv);
	if (strcmp(mode, "selfquery") == 0)
		return mode_selfquery(argc, argv);
	fail("unknown mode \"%s\"", mode);
	return 1;
}
