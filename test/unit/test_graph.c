/*-------------------------------------------------------------------------
 *
 * test_graph.c
 *	  Standalone tests of the in-memory HNSW graph in src/vpgraph.c.
 *
 * Builds graphs over deterministic clustered data (Gaussian blobs around
 * random centres, from a seeded PRNG) for every metric, measures
 * recall@10 against brute-force ground truth computed in double, and
 * checks the contract of every function in vpgraph.h: ordering of
 * results, deletions, growth by copy, scratch reuse, position
 * independence, small and degenerate graphs, extreme dims and m, memory
 * per node.  Timings are printed for information only, never asserted.
 *
 * Sizes: by default 20000 base vectors of 128 dims plus 300 held-out
 * queries, and 3000 of 784 dims: about 20 s optimised, 45 s under
 * AddressSanitizer + UBSan.  With VP_UNIT_SMALL=1 in the environment (or
 * "small" as the first argument), e.g. for valgrind, the sets shrink to
 * 2000 and 300 vectors.
 *
 * Prints one line per check group and ends with "N passed, N failed";
 * exits non-zero on any failure.
 *
 * IDENTIFICATION
 *	  test/unit/test_graph.c
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpdistance.h"
#include "vpgraph.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define K			10			/* recall@K */
#define NUM_EFS		5

static const int efs[NUM_EFS] = {10, 20, 40, 80, 160};

static int	n_passed = 0;
static int	n_failed = 0;
static int	group_passed;
static int	group_failed;
static uint64_t rng_state;

/* test sizes, set in main */
static int	n_base;				/* 128-d base vectors */
static int	n_query;			/* 128-d held-out queries */
static int	n_base_784;
static int	n_query_784;

/* ----------------------------------------------------------------------
 * Test plumbing
 * ----------------------------------------------------------------------
 */

/*
 * Check
 *		Record one assertion; print a message for the first failures.
 */
static int
Check(int ok, const char *fmt,...)
{
	if (ok)
	{
		n_passed++;
		group_passed++;
		return 1;
	}
	n_failed++;
	group_failed++;
	if (n_failed <= 40)
	{
		va_list		ap;

		printf("  FAIL: ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	return 0;
}

/*
 * BeginGroup, EndGroup
 *		One summary line per group of checks.
 */
static void
BeginGroup(void)
{
	group_passed = 0;
	group_failed = 0;
}

static void
EndGroup(const char *name)
{
	printf("%-52s %6d passed, %d failed\n", name, group_passed, group_failed);
	fflush(stdout);
}

/*
 * Now
 *		Monotonic seconds, for informative timings.
 */
static double
Now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/*
 * TestAlloc, TestFree
 *		malloc-backed VpAllocator; never returns NULL (exits instead).
 */
static void *
TestAlloc(void *ctx, size_t size)
{
	void	   *p = malloc(size);

	(void) ctx;
	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static void
TestFree(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

static const VpAllocator allocator = {TestAlloc, TestFree, NULL};

/*
 * NextRandom, Uniform, Gaussian
 *		splitmix64 and Box-Muller, deterministic on every platform.
 */
static uint64_t
NextRandom(void)
{
	uint64_t	z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double
Uniform(void)
{
	return ((double) (NextRandom() >> 11) + 0.5) / 9007199254740992.0;
}

static double
Gaussian(void)
{
	return sqrt(-2.0 * log(Uniform())) * cos(2.0 * 3.14159265358979323846 * Uniform());
}

/*
 * MakeClustered
 *		n vectors of dims around ncentres Gaussian centres: centre
 *		coordinates uniform in [-1, 1], points centre + N(0, sigma^2) per
 *		coordinate.  The first nbase rows are the base set and the rest the
 *		held-out queries; both come from the same distribution.
 */
static float *
MakeClustered(int n, int dims, int ncentres, double sigma, uint64_t seed)
{
	float	   *centres = TestAlloc(NULL, sizeof(float) * (size_t) ncentres * dims);
	float	   *data = TestAlloc(NULL, sizeof(float) * (size_t) n * dims);
	int			i,
				j;

	rng_state = seed;
	for (i = 0; i < ncentres * dims; i++)
		centres[i] = (float) (Uniform() * 2.0 - 1.0);
	for (i = 0; i < n; i++)
	{
		const float *c = centres + (size_t) (NextRandom() % ncentres) * dims;

		for (j = 0; j < dims; j++)
			data[(size_t) i * dims + j] = (float) (c[j] + sigma * Gaussian());
	}
	free(centres);
	return data;
}

/*
 * ExactDistance
 *		The graph's metric in double, independent of the code under test:
 *		squared L2, negative dot, 1 - cosine, L1.
 */
static double
ExactDistance(VpMetric metric, const float *a, const float *b, int dims)
{
	double		s = 0,
				na = 0,
				nb = 0;
	int			i;

	switch (metric)
	{
		case VP_METRIC_L2:
			for (i = 0; i < dims; i++)
				s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
			return s;
		case VP_METRIC_INNER_PRODUCT:
			for (i = 0; i < dims; i++)
				s += (double) a[i] * b[i];
			return -s;
		case VP_METRIC_COSINE:
			for (i = 0; i < dims; i++)
			{
				s += (double) a[i] * b[i];
				na += (double) a[i] * a[i];
				nb += (double) b[i] * b[i];
			}
			return 1.0 - s / sqrt(na * nb);
		case VP_METRIC_L1:
			for (i = 0; i < dims; i++)
				s += fabs((double) a[i] - b[i]);
			return s;
	}
	return 0;
}

/*
 * GroundTruth
 *		Exact top-k of each query over the base rows whose live[] flag is
 *		set (all if live is NULL), by brute force.  Returns nq*k ids.
 */
static int32_t *
GroundTruth(VpMetric metric, const float *base, int nbase,
			const float *queries, int nq, int dims, int k,
			const unsigned char *live)
{
	int32_t    *truth = TestAlloc(NULL, sizeof(int32_t) * (size_t) nq * k);
	double	   *bestd = TestAlloc(NULL, sizeof(double) * k);
	int			q;

	for (q = 0; q < nq; q++)
	{
		int32_t    *best = truth + (size_t) q * k;
		int			nbest = 0;
		int			i;

		for (i = 0; i < nbase; i++)
		{
			double		d;
			int			j;

			if (live != NULL && !live[i])
				continue;
			d = ExactDistance(metric, queries + (size_t) q * dims,
							  base + (size_t) i * dims, dims);
			if (nbest == k && d >= bestd[k - 1])
				continue;
			j = nbest < k ? nbest++ : k - 1;
			while (j > 0 && bestd[j - 1] > d)
			{
				bestd[j] = bestd[j - 1];
				best[j] = best[j - 1];
				j--;
			}
			bestd[j] = d;
			best[j] = i;
		}
		for (i = nbest; i < k; i++)
			best[i] = -1;
	}
	free(bestd);
	return truth;
}

/*
 * NewGraph
 *		malloc a 64-byte aligned region for params and lay out a graph.
 */
static VpGraph *
NewGraph(const VpGraphParams *params)
{
	size_t		size = VpGraphRegionSize(params);
	void	   *mem = NULL;
	VpGraph    *graph;

	if (size == 0 || posix_memalign(&mem, 64, size) != 0)
	{
		fprintf(stderr, "could not allocate a graph region\n");
		exit(2);
	}
	graph = VpGraphInit(mem, size, params);
	if (graph == NULL)
	{
		fprintf(stderr, "VpGraphInit failed\n");
		exit(2);
	}
	return graph;
}

/*
 * MakeParams
 *		A zero-padded parameter struct (memcmp-able).
 */
static VpGraphParams
MakeParams(int dims, int m, int efc, VpMetric metric, int32_t capacity,
		   uint64_t seed)
{
	VpGraphParams p;

	memset(&p, 0, sizeof(p));
	p.dims = dims;
	p.m = m;
	p.ef_construction = efc;
	p.metric = metric;
	p.capacity = capacity;
	p.seed = seed;
	return p;
}

/*
 * Build
 *		Insert rows [0, n) of data with label i and key ~i into a graph of
 *		the given capacity; returns the graph and the build time.
 */
static VpGraph *
Build(const VpGraphParams *params, const float *data, int n, double *secs)
{
	VpGraph    *graph = NewGraph(params);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 0);
	double		t0 = Now();
	int			i;
	int			ok = 1;

	for (i = 0; i < n; i++)
	{
		VpNodeId	node;

		if (VpGraphInsert(graph, scratch, data + (size_t) i * params->dims,
						  (uint64_t) i, ~(uint64_t) i, &node) != VP_GRAPH_INSERTED ||
			node != i)
			ok = 0;
	}
	if (secs != NULL)
		*secs = Now() - t0;
	Check(ok, "every insert succeeds with consecutive ids");
	VpGraphScratchDestroy(scratch);
	return graph;
}

/*
 * CheckHits
 *		Results are ascending, unique, valid, live, and their distances
 *		agree with VpGraphDistance.  Returns 1 if all fine.
 */
static int
CheckHits(const VpGraph *graph, const float *query, const VpSearchHit *hits,
		  int n, int ef)
{
	int			i;
	int			ok = 1;

	if (n < 0 || n > ef)
		return 0;
	for (i = 0; i < n; i++)
	{
		float		d;
		int			j;

		if (hits[i].node < 0 || hits[i].node >= VpGraphCount(graph))
			return 0;
		if (VpGraphIsDeleted(graph, hits[i].node))
			ok = 0;
		if (i > 0 && hits[i].distance < hits[i - 1].distance)
			ok = 0;
		for (j = 0; j < i; j++)
			if (hits[j].node == hits[i].node)
				ok = 0;
		d = VpGraphDistance(graph, query, hits[i].node);
		if (fabsf(d - hits[i].distance) > 1e-4f * (1.0f + fabsf(d)))
			ok = 0;
	}
	return ok;
}

/*
 * Recall
 *		Mean recall@K of the graph over the queries at one ef, plus the
 *		search time; also checks every result list with CheckHits.
 */
static double
Recall(const VpGraph *graph, VpGraphScratch *scratch, const float *queries,
	   int nq, const int32_t *truth, int ef, double *us_per_query,
	   int *bad_lists)
{
	VpSearchHit *hits = TestAlloc(NULL, sizeof(VpSearchHit) * ef);
	int			dims = VpGraphGetParams(graph)->dims;
	long		found = 0;
	long		wanted = 0;
	double		t0,
				elapsed = 0;
	int			q;

	*bad_lists = 0;
	for (q = 0; q < nq; q++)
	{
		const float *query = queries + (size_t) q * dims;
		const int32_t *t = truth + (size_t) q * K;
		int			n;
		int			i,
					j;

		t0 = Now();
		n = VpGraphSearch(graph, scratch, query, ef, hits, NULL);
		elapsed += Now() - t0;
		if (!CheckHits(graph, query, hits, n, ef))
			(*bad_lists)++;
		for (i = 0; i < K; i++)
		{
			if (t[i] < 0)
				continue;
			wanted++;
			for (j = 0; j < n && j < K; j++)
				if ((int32_t) VpGraphLabel(graph, hits[j].node) == t[i])
				{
					found++;
					break;
				}
		}
	}
	free(hits);
	*us_per_query = elapsed * 1e6 / nq;
	return wanted ? (double) found / wanted : 1.0;
}

/*
 * MetricName
 *		Short name for output.
 */
static const char *
MetricName(VpMetric metric)
{
	switch (metric)
	{
		case VP_METRIC_L2:
			return "l2";
		case VP_METRIC_INNER_PRODUCT:
			return "ip";
		case VP_METRIC_COSINE:
			return "cosine";
		case VP_METRIC_L1:
			return "l1";
	}
	return "?";
}

/*
 * RecallTable
 *		Print recall and latency at every ef; returns recall at ef = 40.
 */
static double
RecallTable(const char *what, const VpGraph *graph, VpGraphScratch *scratch,
			const float *queries, int nq, const int32_t *truth)
{
	double		r40 = 0;
	int			e;
	int			bad_total = 0;

	printf("  %-22s recall@%d:", what, K);
	for (e = 0; e < NUM_EFS; e++)
	{
		double		us;
		int			bad;
		double		r = Recall(graph, scratch, queries, nq, truth, efs[e],
							   &us, &bad);

		bad_total += bad;
		printf("  ef%-3d %.3f (%5.0f us)", efs[e], r, us);
		if (efs[e] == 40)
			r40 = r;
	}
	printf("\n");
	Check(bad_total == 0,
		  "%s: %d result lists unsorted, duplicated, deleted or with wrong distances",
		  what, bad_total);
	return r40;
}

/* ----------------------------------------------------------------------
 * Test groups
 * ----------------------------------------------------------------------
 */

/*
 * TestParams
 *		Invalid parameters are refused; sizes and layout accessors agree.
 */
static void
TestParams(void)
{
	VpGraphParams p;
	VpGraphParams good = MakeParams(128, 16, 64, VP_METRIC_L2, 1000, 1);
	size_t		size;
	void	   *mem;
	char	   *raw;
	VpGraph    *graph;

	BeginGroup();
	size = VpGraphRegionSize(&good);
	Check(size > 1000 * (128 * 4 + 33 * 4), "region size plausible (%zu)", size);
	Check(VpGraphRegionSize(NULL) == 0, "NULL params refused");
	p = good;
	p.dims = 0;
	Check(VpGraphRegionSize(&p) == 0, "dims 0 refused");
	p.dims = 16001;
	Check(VpGraphRegionSize(&p) == 0, "dims 16001 refused");
	p = good;
	p.m = 1;
	Check(VpGraphRegionSize(&p) == 0, "m 1 refused");
	p.m = 101;
	Check(VpGraphRegionSize(&p) == 0, "m 101 refused");
	p = good;
	p.capacity = 0;
	Check(VpGraphRegionSize(&p) == 0, "capacity 0 refused");
	p.capacity = -5;
	Check(VpGraphRegionSize(&p) == 0, "negative capacity refused");
	p = good;
	p.ef_construction = 0;
	Check(VpGraphRegionSize(&p) == 0, "ef_construction 0 refused");
	p = good;
	p.metric = (VpMetric) 9;
	Check(VpGraphRegionSize(&p) == 0, "bad metric refused");
	p = good;
	p.dims = 16000;
	p.capacity = INT32_MAX;
	size = VpGraphRegionSize(&p);
	if (sizeof(size_t) < 8)
		Check(size == 0, "32-bit size_t overflow detected");
	else
		Check(size > (size_t) INT32_MAX * 64000, "largest layout computed (%zu)", size);

	/* too small, misaligned, NULL */
	size = VpGraphRegionSize(&good);
	raw = TestAlloc(NULL, size + 64);
	mem = (void *) (((uintptr_t) raw + 63) & ~(uintptr_t) 63);
	Check(VpGraphInit(mem, size - 1, &good) == NULL, "too small region refused");
	Check(VpGraphInit((char *) mem + 1, size, &good) == NULL, "misaligned region refused");
	Check(VpGraphInit(NULL, size, &good) == NULL, "NULL region refused");
	graph = VpGraphInit(mem, size, &good);
	Check(graph == (VpGraph *) mem, "init returns the region");
	Check(VpGraphRegionBytes(graph) == size, "region bytes == region size");
	Check(VpGraphCapacity(graph) == 1000, "capacity");
	Check(VpGraphCount(graph) == 0 && VpGraphDeletedCount(graph) == 0, "empty counts");
	Check(memcmp(VpGraphGetParams(graph), &good, sizeof(good)) == 0, "params kept");
	Check(VpGraphCount(NULL) == 0 && VpGraphGetParams(NULL) == NULL, "NULL graph accessors");
	free(raw);
	EndGroup("parameters and layout");
}

/*
 * TestMemory
 *		Bytes per node for dims 128, m 16 against the product target
 *		1.25 * (4 * dims + 8 * m) plus fixed overhead.
 */
static void
TestMemory(void)
{
	static const int dims_list[] = {128, 784, 1536};
	int			i;

	BeginGroup();
	for (i = 0; i < 3; i++)
	{
		int			dims = dims_list[i];
		VpGraphParams p1 = MakeParams(dims, 16, 64, VP_METRIC_L2, 100000, 1);
		VpGraphParams p2 = MakeParams(dims, 16, 64, VP_METRIC_L2, 200000, 1);
		VpGraphParams p0 = MakeParams(dims, 16, 64, VP_METRIC_L2, 1, 1);
		double		per_node = (double) VpGraphRegionSize(&p1) / 100000;
		double		marginal = (double) (VpGraphRegionSize(&p2) -
										 VpGraphRegionSize(&p1)) / 100000;
		double		target = 1.25 * (4.0 * dims + 8.0 * 16);

		printf("  dims %4d m 16: %.1f bytes/node at 100k nodes (marginal %.1f), "
			   "target %.0f, fixed %zu bytes\n",
			   dims, per_node, marginal, target, VpGraphRegionSize(&p0));
		Check(per_node <= target, "dims %d: %.1f bytes/node > target %.0f",
			  dims, per_node, target);
	}
	EndGroup("memory per node within 1.25 x (4 dims + 8 m)");
}

/*
 * TestEmptyAndSingle
 *		Search of an empty graph, a one-node graph, deletion of its only
 *		node, argument validation.
 */
static void
TestEmptyAndSingle(void)
{
	VpGraphParams p = MakeParams(8, 4, 16, VP_METRIC_L2, 4, 7);
	VpGraph    *graph = NewGraph(&p);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 10);
	float		v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	float		q[8] = {0};
	VpSearchHit hits[10];
	VpNodeId	node = 12345;
	int			n;

	BeginGroup();
	Check(scratch != NULL, "scratch created");
	n = VpGraphSearch(graph, scratch, q, 10, hits, NULL);
	Check(n == 0, "empty graph search returns 0 (got %d)", n);
	Check(VpGraphLabel(graph, 0) == 0 && VpGraphVector(graph, 0) == NULL,
		  "no node 0 in an empty graph");
	/* the scratch was sized for max(10, ef_construction 16) */
	Check(VpGraphSearch(graph, scratch, q, 17, hits, NULL) == -1, "ef above scratch max refused");
	Check(VpGraphSearch(graph, scratch, q, 0, hits, NULL) == -1, "ef 0 refused");
	Check(VpGraphSearch(graph, NULL, q, 5, hits, NULL) == -1, "NULL scratch refused");
	Check(VpGraphInsert(graph, scratch, NULL, 1, 1, &node) == VP_GRAPH_INVALID &&
		  node == VP_INVALID_NODE, "NULL vector refused");

	Check(VpGraphInsert(graph, scratch, v, 42, 43, &node) == VP_GRAPH_INSERTED &&
		  node == 0, "first insert gets id 0");
	n = VpGraphSearch(graph, scratch, q, 10, hits, NULL);
	Check(n == 1 && hits[0].node == 0 && hits[0].distance == 204.0f,
		  "1-node search returns it at distance 204 (n %d)", n);
	Check(VpGraphLabel(graph, 0) == 42 && VpGraphKey(graph, 0) == 43, "label and key");
	Check(memcmp(VpGraphVector(graph, 0), v, sizeof(v)) == 0, "vector stored");
	Check(VpGraphLabel(graph, 1) == 0 && VpGraphLabel(graph, -1) == 0 &&
		  VpGraphVector(graph, 1) == NULL && !VpGraphIsDeleted(graph, 1),
		  "out-of-range ids are harmless");
	VpGraphMarkDeleted(graph, 0);
	VpGraphMarkDeleted(graph, 0);
	VpGraphMarkDeleted(graph, 7);
	Check(VpGraphDeletedCount(graph) == 1 && VpGraphIsDeleted(graph, 0),
		  "deleted once, counted once");
	n = VpGraphSearch(graph, scratch, q, 10, hits, NULL);
	Check(n == 0, "only node deleted: search returns 0 (got %d)", n);

	/* fill to capacity: the next insert is FULL and changes nothing */
	{
		int			i;
		VpGraphInsertResult r;

		for (i = 1; i < 4; i++)
		{
			v[0] = (float) i;
			VpGraphInsert(graph, scratch, v, (uint64_t) i, 0, &node);
		}
		r = VpGraphInsert(graph, scratch, v, 99, 0, &node);
		Check(r == VP_GRAPH_FULL && node == VP_INVALID_NODE && VpGraphCount(graph) == 4,
			  "insert into a full graph is VP_GRAPH_FULL and leaves it unchanged");
		n = VpGraphSearch(graph, scratch, q, 10, hits, NULL);
		Check(n == 3 && CheckHits(graph, q, hits, n, 10), "full graph still searchable");
	}
	VpGraphScratchDestroy(scratch);
	free(graph);
	EndGroup("empty graph, single node, validation");
}

/*
 * TestMetric
 *		Build the 128-d set for one metric, print recall per ef and check
 *		the threshold at ef 40.  Keeps the L2 graph for later groups.
 */
static VpGraph *
TestMetric(VpMetric metric, const float *data, double min_recall40)
{
	VpGraphParams p = MakeParams(128, 16, 64, metric, n_base, 1234);
	const float *queries = data + (size_t) n_base * 128;
	int32_t    *truth = GroundTruth(metric, data, n_base, queries, n_query,
									128, K, NULL);
	VpGraphScratch *scratch;
	VpGraph    *graph;
	double		secs;
	double		r40;
	char		name[80];

	BeginGroup();
	graph = Build(&p, data, n_base, &secs);
	scratch = VpGraphScratchCreate(&allocator, graph, 160);
	printf("  %s: built %d x 128-d (m 16, ef_construction 64) in %.2f s "
		   "(%.0f us/insert), kernels %s\n",
		   MetricName(metric), n_base, secs, secs * 1e6 / n_base,
		   vp_kernels.name);
	snprintf(name, sizeof(name), "%s", MetricName(metric));
	r40 = RecallTable(name, graph, scratch, queries, n_query, truth);
	Check(r40 >= min_recall40, "%s recall@10 at ef 40 = %.3f < %.2f",
		  MetricName(metric), r40, min_recall40);
	snprintf(name, sizeof(name), "%s graph: recall@10 >= %.2f at ef 40",
			 MetricName(metric), min_recall40);
	VpGraphScratchDestroy(scratch);
	free(truth);
	EndGroup(name);
	if (metric == VP_METRIC_L2)
		return graph;
	free(graph);
	return NULL;
}

/*
 * StopAfter
 *		poll callback for TestBulkBuild: stop once *arg nodes are linked.
 */
static int
StopAfter(void *arg, int32_t linked)
{
	return linked >= *(int32_t *) arg;
}

/*
 * StageAll
 *		Stage rows [0, n) with label i and key ~i; 1 if all fit.
 */
static int
StageAll(VpGraph *graph, const float *data, int n, int dims)
{
	int			i;

	for (i = 0; i < n; i++)
		if (VpGraphStage(graph, data + (size_t) i * dims, (uint64_t) i,
						 ~(uint64_t) i) != VP_GRAPH_INSERTED)
			return 0;
	return 1;
}

/*
 * TestBulkBuild
 *		Staging then linking: with one thread the graph answers exactly as
 *		one built by VpGraphInsert; with four it reaches the same recall
 *		floor; linking stops when poll asks and resumes; staged nodes stay
 *		invisible; duplicates staged in bulk are all found.
 */
static void
TestBulkBuild(const float *data)
{
	VpGraphParams p = MakeParams(128, 16, 64, VP_METRIC_L2, n_base, 1234);
	const float *queries = data + (size_t) n_base * 128;
	int32_t    *truth = GroundTruth(VP_METRIC_L2, data, n_base, queries,
									n_query, 128, K, NULL);
	VpGraph    *seq = Build(&p, data, n_base, NULL);
	VpGraph    *one = NewGraph(&p);
	VpGraph    *four = NewGraph(&p);
	VpGraphScratch *scratches[4];
	uint8_t    *locks = TestAlloc(NULL, (size_t) n_base);
	VpSearchHit *h1 = TestAlloc(NULL, sizeof(VpSearchHit) * 40);
	VpSearchHit *h2 = TestAlloc(NULL, sizeof(VpSearchHit) * 40);
	int32_t		stop_at = n_base / 3;
	int			same = 1;
	int			rc;
	int			i;
	double		t0,
				secs1,
				secs4,
				us;
	int			bad;
	double		r40;

	BeginGroup();
	for (i = 0; i < 4; i++)
		scratches[i] = VpGraphScratchCreate(&allocator, seq, 40);

	/* one thread: the same graph as inserting one by one */
	Check(StageAll(one, data, n_base, 128), "staging %d nodes succeeds", n_base);
	Check(VpGraphCount(one) == 0 && VpGraphStagedCount(one) == n_base,
		  "staged nodes are not counted (%d, %d)", VpGraphCount(one),
		  VpGraphStagedCount(one));
	Check(VpGraphSearch(one, scratches[0], queries, 10, h1, NULL) == 0,
		  "a graph of staged nodes finds nothing");
	Check(VpGraphInsert(one, scratches[0], queries, 0, 0, NULL) == VP_GRAPH_INVALID,
		  "VpGraphInsert refused while nodes are staged");
	t0 = Now();
	rc = VpGraphLinkStaged(one, scratches, 1, NULL, NULL, NULL);
	secs1 = Now() - t0;
	Check(rc == 1 && VpGraphCount(one) == n_base, "one thread links all");
	for (i = 0; i < n_query; i++)
	{
		int			n1 = VpGraphSearch(seq, scratches[0], queries + (size_t) i * 128, 40, h1, NULL);
		int			n2 = VpGraphSearch(one, scratches[1], queries + (size_t) i * 128, 40, h2, NULL);

		if (n1 != n2 || memcmp(h1, h2, sizeof(VpSearchHit) * n1) != 0)
			same = 0;
	}
	Check(same, "one-thread bulk build answers exactly as VpGraphInsert's graph");

	/* four threads, stopped by poll a third of the way, then resumed */
	Check(StageAll(four, data, n_base, 128), "staging again succeeds");
	t0 = Now();
	rc = VpGraphLinkStaged(four, scratches, 4, StopAfter, &stop_at, locks);
	Check(rc == 0 && VpGraphCount(four) >= stop_at && VpGraphCount(four) < n_base,
		  "poll stops the linking (rc %d, %d linked)", rc, VpGraphCount(four));
	rc = VpGraphLinkStaged(four, scratches, 4, NULL, NULL, locks);
	secs4 = Now() - t0;
	Check(rc == 1 && VpGraphCount(four) == n_base, "linking resumes and ends");
	r40 = Recall(four, scratches[0], queries, n_query, truth, 40, &us, &bad);
	printf("  %d x 128-d: linked in %.2f s with 1 thread, %.2f s with 4; "
		   "recall@10 at ef 40 %.3f\n", n_base, secs1, secs4, r40);
	Check(r40 >= 0.95 && bad == 0, "4-thread recall@10 at ef 40 = %.3f (bad lists %d)",
		  r40, bad);
	Check(VpGraphLinkStaged(four, scratches, 4, NULL, NULL, NULL) == -1,
		  "several threads without locks refused");
	Check(VpGraphLinkStaged(four, scratches, 0, NULL, NULL, locks) == -1,
		  "no thread refused");

	for (i = 0; i < 4; i++)
		VpGraphScratchDestroy(scratches[i]);
	free(seq);
	free(one);
	free(four);
	free(locks);
	free(h1);
	free(h2);
	free(truth);
	EndGroup("bulk build: staging, parallel linking, stop and resume");
}

/*
 * TestBulkDuplicates
 *		Many identical vectors staged and linked by four threads are all
 *		returned by a search for that vector.
 */
static void
TestBulkDuplicates(void)
{
	VpGraphParams p = MakeParams(8, 4, 16, VP_METRIC_L2, 2000, 5);
	VpGraph    *graph = NewGraph(&p);
	VpGraphScratch *scratches[4];
	uint8_t    *locks = TestAlloc(NULL, 2000);
	VpSearchHit *hits = TestAlloc(NULL, sizeof(VpSearchHit) * 400);
	float		v[8];
	int			n;
	int			i;
	int			d;
	int			zero = 0;

	BeginGroup();
	for (i = 0; i < 4; i++)
		scratches[i] = VpGraphScratchCreate(&allocator, graph, 400);
	for (i = 0; i < 1500; i++)
	{
		for (d = 0; d < 8; d++)
			v[d] = (i % 5 == 0) ? 0.5f : (float) ((i * 7 + d * 13) % 97) / 97.0f;
		VpGraphStage(graph, v, (uint64_t) i, (uint64_t) i);
	}
	Check(VpGraphLinkStaged(graph, scratches, 4, NULL, NULL, locks) == 1,
		  "linked");
	for (d = 0; d < 8; d++)
		v[d] = 0.5f;
	n = VpGraphSearch(graph, scratches[0], v, 400, hits, NULL);
	for (i = 0; i < n; i++)
		if (hits[i].distance == 0.0f)
			zero++;
	Check(zero == 300, "all 300 duplicates found (%d)", zero);
	for (i = 0; i < 4; i++)
		VpGraphScratchDestroy(scratches[i]);
	free(graph);
	free(locks);
	free(hits);
	EndGroup("bulk build: duplicates");
}

/*
 * Test784
 *		The higher-dimensional set, L2 and cosine.
 */
static void
Test784(void)
{
	float	   *data = MakeClustered(n_base_784 + n_query_784, 784, 30, 0.3, 784);
	const float *queries = data + (size_t) n_base_784 * 784;
	VpMetric	metrics[2] = {VP_METRIC_L2, VP_METRIC_COSINE};
	int			i;

	BeginGroup();
	for (i = 0; i < 2; i++)
	{
		VpGraphParams p = MakeParams(784, 16, 64, metrics[i], n_base_784, 5);
		int32_t    *truth = GroundTruth(metrics[i], data, n_base_784, queries,
										n_query_784, 784, K, NULL);
		double		secs;
		VpGraph    *graph = Build(&p, data, n_base_784, &secs);
		VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 160);
		char		name[40];
		double		r40;

		printf("  784-d %s: built %d in %.2f s (%.0f us/insert)\n",
			   MetricName(metrics[i]), n_base_784, secs, secs * 1e6 / n_base_784);
		snprintf(name, sizeof(name), "784-d %s", MetricName(metrics[i]));
		r40 = RecallTable(name, graph, scratch, queries, n_query_784, truth);
		Check(r40 >= 0.95, "784-d %s recall at ef 40 = %.3f", MetricName(metrics[i]), r40);
		VpGraphScratchDestroy(scratch);
		free(graph);
		free(truth);
	}
	free(data);
	EndGroup("784-d graphs: recall@10 >= 0.95 at ef 40");
}

/*
 * TestDeleted
 *		Delete every third node (and the entry point), then check that no
 *		search returns a deleted node, that searches still return ef live
 *		nodes, and that recall against live-only ground truth holds.
 */
static void
TestDeleted(VpGraph *graph, const float *data)
{
	const float *queries = data + (size_t) n_base * 128;
	unsigned char *live = TestAlloc(NULL, n_base);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 160);
	int32_t    *truth;
	VpSearchHit hits[160];
	int			ndel = 0;
	int			short_lists = 0;
	int			i,
				q;
	double		r40;

	BeginGroup();
	for (i = 0; i < n_base; i++)
	{
		live[i] = (i % 3) != 0;
		if (!live[i])
		{
			VpGraphMarkDeleted(graph, i);
			ndel++;
		}
	}
	/* marking again changes nothing */
	for (i = 0; i < n_base; i += 3)
		VpGraphMarkDeleted(graph, i);
	Check(VpGraphDeletedCount(graph) == ndel, "deleted count %d == %d",
		  VpGraphDeletedCount(graph), ndel);
	truth = GroundTruth(VP_METRIC_L2, data, n_base, queries, n_query, 128, K, live);
	r40 = RecallTable("l2, 1/3 deleted", graph, scratch, queries, n_query, truth);
	Check(r40 >= 0.95, "recall with deletions at ef 40 = %.3f", r40);
	for (q = 0; q < n_query; q++)
	{
		int			n = VpGraphSearch(graph, scratch, queries + (size_t) q * 128,
									  160, hits, NULL);

		for (i = 0; i < n; i++)
			if (!live[hits[i].node])
				break;
		Check(i == n, "query %d returned deleted node %d", q, i < n ? hits[i].node : -1);
		if (n < 160)
			short_lists++;
	}
	Check(short_lists == 0, "%d searches returned fewer than ef live nodes", short_lists);

	/* delete everything but a handful: still only live nodes come back */
	for (i = 0; i < n_base; i++)
		if (i % 1000 != 1)
			VpGraphMarkDeleted(graph, i);
	{
		int			n = VpGraphSearch(graph, scratch, queries, 160, hits, NULL);
		int			expect = (n_base - 2) / 1000 + 1;
		int			ok = 1;

		for (i = 0; i < n; i++)
			if (hits[i].node % 1000 != 1)
				ok = 0;
		Check(ok && n <= expect, "almost all deleted: %d of %d live returned, none deleted",
			  n, expect);
	}
	VpGraphScratchDestroy(scratch);
	free(truth);
	free(live);
	EndGroup("deleted nodes never returned");
}

/*
 * SearchesEqual
 *		Same hits (ids and distances) for every query at ef.
 */
static int
SearchesEqual(const VpGraph *a, VpGraphScratch *sa, const VpGraph *b,
			  VpGraphScratch *sb, const float *queries, int nq, int ef)
{
	VpSearchHit *ha = TestAlloc(NULL, sizeof(VpSearchHit) * ef);
	VpSearchHit *hb = TestAlloc(NULL, sizeof(VpSearchHit) * ef);
	int			dims = VpGraphGetParams(a)->dims;
	int			same = 1;
	int			q;

	for (q = 0; q < nq && same; q++)
	{
		int			na = VpGraphSearch(a, sa, queries + (size_t) q * dims, ef, ha, NULL);
		int			nb = VpGraphSearch(b, sb, queries + (size_t) q * dims, ef, hb, NULL);

		if (na != nb || na <= 0 || memcmp(ha, hb, sizeof(VpSearchHit) * na) != 0)
			same = 0;
	}
	free(ha);
	free(hb);
	return same;
}

/*
 * TestGrowth
 *		Build into a small region, grow by VpGraphCopy into a region twice
 *		as big whenever insert says FULL, and compare with a graph built at
 *		full capacity from the same seed: same ids, labels, keys, flags and
 *		search results.  Also the ways VpGraphCopy must refuse.
 */
static void
TestGrowth(const float *data)
{
	int			n = n_base / 4;
	const float *queries = data + (size_t) n_base * 128;
	VpGraphParams pf = MakeParams(128, 16, 64, VP_METRIC_L2, n, 99);
	VpGraphParams ps = MakeParams(128, 16, 64, VP_METRIC_L2, 100, 99);
	VpGraph    *full = Build(&pf, data, n, NULL);
	VpGraph    *grown = NewGraph(&ps);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, grown, 40);
	VpGraphScratch *sfull = VpGraphScratchCreate(&allocator, full, 40);
	int			nfull = 0;
	int			ok = 1;
	int			i;

	BeginGroup();
	for (i = 0; i < n; i++)
	{
		VpNodeId	node;
		VpGraphInsertResult r;

		while ((r = VpGraphInsert(grown, scratch, data + (size_t) i * 128,
								  (uint64_t) i, ~(uint64_t) i, &node)) == VP_GRAPH_FULL)
		{
			VpGraphParams p = *VpGraphGetParams(grown);
			VpGraph    *bigger;
			int32_t		before = VpGraphCount(grown);

			nfull++;
			p.capacity *= 2;
			bigger = NewGraph(&p);
			if (VpGraphCopy(bigger, grown) != 0)
			{
				ok = 0;
				break;
			}
			if (VpGraphCount(bigger) != before || VpGraphCount(grown) != before)
				ok = 0;
			free(grown);
			grown = bigger;
			if (!VpGraphScratchFits(scratch, grown, 64))
			{
				VpGraphScratchDestroy(scratch);
				scratch = VpGraphScratchCreate(&allocator, grown, 40);
			}
		}
		if (r != VP_GRAPH_INSERTED || node != i)
			ok = 0;
		if (i % 7 == 3)
		{
			VpGraphMarkDeleted(grown, i);
			VpGraphMarkDeleted(full, i);
		}
	}
	Check(ok, "inserts with growth succeed with consecutive ids");
	/* from capacity 100 doubling to n nodes: at least log2(n / 100) times */
	Check(nfull >= (int) floor(log2(n / 100.0)), "grew %d times for %d nodes",
		  nfull, n);
	Check(VpGraphCount(grown) == n && VpGraphDeletedCount(grown) == VpGraphDeletedCount(full),
		  "counts match");
	for (i = 0, ok = 1; i < n; i++)
		if (VpGraphLabel(grown, i) != (uint64_t) i || VpGraphKey(grown, i) != ~(uint64_t) i ||
			VpGraphIsDeleted(grown, i) != VpGraphIsDeleted(full, i) ||
			memcmp(VpGraphVector(grown, i), VpGraphVector(full, i), 128 * sizeof(float)) != 0)
			ok = 0;
	Check(ok, "labels, keys, flags and vectors survive growth");
	Check(SearchesEqual(grown, scratch, full, sfull, queries, n_query, 40),
		  "grown graph answers exactly like one built at full capacity");
	/* both continue identically: the level generator state was copied */
	if (VpGraphCapacity(grown) > n)
	{
		VpGraphParams p = *VpGraphGetParams(full);
		VpGraph    *full2;
		VpNodeId	a,
					b;

		VpGraphScratch *sfull2;

		p.capacity = n + 50;
		full2 = NewGraph(&p);
		sfull2 = VpGraphScratchCreate(&allocator, full2, 40);
		Check(VpGraphCopy(full2, full) == 0, "copy into a slightly larger graph");
		a = b = VP_INVALID_NODE;
		for (i = 0; i < 50 && n + i < n_base; i++)
		{
			VpGraphInsert(grown, scratch, data + (size_t) (n + i) * 128, 0, 0, &a);
			VpGraphInsert(full2, sfull2, data + (size_t) (n + i) * 128, 0, 0, &b);
		}
		Check(a == b && a != VP_INVALID_NODE &&
			  SearchesEqual(grown, scratch, full2, sfull2, queries, n_query, 40),
			  "both graphs continue identically after the copy");
		VpGraphScratchDestroy(sfull2);
		free(full2);
	}

	/* refusals */
	{
		VpGraphParams p = *VpGraphGetParams(full);
		VpGraph    *g;

		p.capacity = n - 1;
		g = NewGraph(&p);
		Check(VpGraphCopy(g, full) == -1, "copy into too small a graph refused");
		free(g);
		p.capacity = n;
		p.m = 8;
		g = NewGraph(&p);
		Check(VpGraphCopy(g, full) == -1, "copy with different m refused");
		free(g);
		p = *VpGraphGetParams(full);
		p.metric = VP_METRIC_L1;
		g = NewGraph(&p);
		Check(VpGraphCopy(g, full) == -1, "copy with different metric refused");
		free(g);
		Check(VpGraphCopy(grown, full) == -1, "copy into a non-empty graph refused");
		Check(VpGraphCopy(NULL, full) == -1 && VpGraphCopy(grown, NULL) == -1,
			  "copy with NULL refused");
	}
	VpGraphScratchDestroy(scratch);
	VpGraphScratchDestroy(sfull);
	free(full);
	free(grown);
	EndGroup("growth by VpGraphCopy");
}

static int	interrupt_calls = 0;

/*
 * CountInterrupt
 *		interrupt_check callback that only counts its calls.
 */
static void
CountInterrupt(void)
{
	interrupt_calls++;
}

/*
 * TestScratchAndRelocation
 *		One scratch serves several graphs that fit it; VpGraphScratchFits
 *		refuses those that don't; a region copied byte for byte to another
 *		address answers identically (no raw pointers inside); the
 *		interrupt callback is called during long searches.
 */
static void
TestScratchAndRelocation(VpGraph *big, const float *data)
{
	const float *queries = data + (size_t) n_base * 128;
	int			n = n_base / 4;
	VpGraphParams p = MakeParams(128, 16, 64, VP_METRIC_L2, n, 3);
	VpGraph    *small = Build(&p, data, n, NULL);
	VpGraphScratch *sbig = VpGraphScratchCreate(&allocator, big, 100);
	VpGraphScratch *ssmall = VpGraphScratchCreate(&allocator, small, 100);
	VpGraphParams p2;
	VpGraph    *other;
	void	   *moved;
	VpSearchHit hits[100];
	int			nhits;

	BeginGroup();
	Check(VpGraphScratchFits(sbig, small, 100), "big scratch fits small graph");
	Check(!VpGraphScratchFits(ssmall, big, 100), "small scratch does not fit big graph");
	Check(!VpGraphScratchFits(sbig, small, 101), "ef above max_ef does not fit");
	Check(VpGraphSearch(big, ssmall, queries, 10, hits, NULL) == -1,
		  "search with a scratch that does not fit is refused");
	Check(SearchesEqual(small, sbig, small, ssmall, queries, n_query, 50),
		  "shared scratch gives the same answers as a private one");
	/* alternate between graphs with one scratch */
	{
		VpSearchHit first[10];
		int			n1 = VpGraphSearch(big, sbig, queries, 10, first, NULL);
		int			n2 = VpGraphSearch(small, sbig, queries, 10, hits, NULL);
		int			n3 = VpGraphSearch(big, sbig, queries, 10, hits, NULL);

		Check(n1 == 10 && n2 == 10 && n3 == 10 &&
			  memcmp(first, hits, sizeof(first)) == 0,
			  "one scratch alternating between graphs");
	}

	p2 = MakeParams(64, 16, 64, VP_METRIC_L2, 10, 3);
	other = NewGraph(&p2);
	Check(VpGraphScratchFits(sbig, other, 10), "smaller dims fit");
	free(other);
	p2 = MakeParams(256, 16, 64, VP_METRIC_L2, 10, 3);
	other = NewGraph(&p2);
	Check(!VpGraphScratchFits(sbig, other, 10), "larger dims do not fit");
	free(other);
	p2 = MakeParams(128, 32, 64, VP_METRIC_L2, 10, 3);
	other = NewGraph(&p2);
	Check(!VpGraphScratchFits(sbig, other, 10), "larger m does not fit");
	Check(VpGraphInsert(other, sbig, data, 0, 0, NULL) == VP_GRAPH_INVALID,
		  "insert with an unfit scratch is VP_GRAPH_INVALID");
	free(other);

	/* relocation */
	if (posix_memalign(&moved, 64, VpGraphRegionBytes(small)) != 0)
		exit(2);
	memcpy(moved, small, VpGraphRegionBytes(small));
	memset(small, 0xAB, VpGraphRegionBytes(small));
	Check(VpGraphCount((VpGraph *) small) == 0, "scribbled original is not a graph");
	free(small);
	small = Build(&p, data, n, NULL);
	Check(SearchesEqual((VpGraph *) moved, ssmall, small, sbig, queries, n_query, 50),
		  "graph copied to another address answers identically");
	free(moved);

	/* interrupts */
	interrupt_calls = 0;
	nhits = VpGraphSearch(big, sbig, queries, 100, hits, CountInterrupt);
	Check(nhits > 0 && interrupt_calls > 0, "interrupt callback called (%d times)",
		  interrupt_calls);

	VpGraphScratchDestroy(sbig);
	VpGraphScratchDestroy(ssmall);
	free(small);
	EndGroup("scratch reuse, relocation, interrupts");
}

/*
 * TestHugeDims
 *		dims 16000 with a few nodes: with ef >= nodes the search is exact.
 */
static void
TestHugeDims(void)
{
	int			n = 40;
	int			dims = 16000;
	float	   *data = MakeClustered(n + 3, dims, 4, 0.5, 16000);
	VpMetric	metrics[4] = {VP_METRIC_L2, VP_METRIC_INNER_PRODUCT,
	VP_METRIC_COSINE, VP_METRIC_L1};
	int			i;

	BeginGroup();
	for (i = 0; i < 4; i++)
	{
		VpGraphParams p = MakeParams(dims, 16, 64, metrics[i], n, 11);
		VpGraph    *graph = Build(&p, data, n, NULL);
		VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, n);
		int32_t    *truth = GroundTruth(metrics[i], data, n, data + (size_t) n * dims,
										3, dims, K, NULL);
		double		us;
		int			bad;
		double		r = Recall(graph, scratch, data + (size_t) n * dims, 3, truth,
							   n, &us, &bad);

		Check(r == 1.0 && bad == 0, "dims 16000 %s: recall %.3f with ef = nodes",
			  MetricName(metrics[i]), r);
		VpGraphScratchDestroy(scratch);
		free(truth);
		free(graph);
	}
	free(data);
	EndGroup("dims 16000, 40 nodes, every metric exact");
}

/*
 * TestExtremeM
 *		m = 2 and m = 100 build and search correctly; recall printed.
 */
static void
TestExtremeM(const float *data)
{
	int			n = n_base / 4;
	const float *queries = data + (size_t) n_base * 128;
	int32_t    *truth = GroundTruth(VP_METRIC_L2, data, n, queries, n_query, 128, K, NULL);
	static const int ms[2] = {2, 100};
	/*
	 * m = 2 leaves 4 links per node on level 0, too few to keep clustered
	 * data navigable: it is in range only because pgvector accepts it.  Its
	 * floor just shows the graph still works; m = 100 must be near exact.
	 */
	static const double floor160[2] = {0.50, 0.99};
	int			i;

	BeginGroup();
	for (i = 0; i < 2; i++)
	{
		VpGraphParams p = MakeParams(128, ms[i], 64, VP_METRIC_L2, n, 21);
		double		secs;
		VpGraph    *graph = Build(&p, data, n, &secs);
		VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 160);
		char		name[40];
		double		us;
		int			bad;
		double		r160;

		printf("  m %d: built %d in %.2f s, %.0f bytes/node\n", ms[i], n, secs,
			   (double) VpGraphRegionBytes(graph) / n);
		snprintf(name, sizeof(name), "l2 m=%d", ms[i]);
		RecallTable(name, graph, scratch, queries, n_query, truth);
		r160 = Recall(graph, scratch, queries, n_query, truth, 160, &us, &bad);
		Check(r160 >= floor160[i], "m %d recall at ef 160 = %.3f < %.2f",
			  ms[i], r160, floor160[i]);
		VpGraphScratchDestroy(scratch);
		free(graph);
	}
	free(truth);
	EndGroup("m = 2 and m = 100");
}

/*
 * TestDuplicates
 *		Many identical vectors (and a zero vector for L2) must not break
 *		linking or search.
 */
static void
TestDuplicates(void)
{
	VpGraphParams p = MakeParams(16, 4, 16, VP_METRIC_L2, 500, 5);
	VpGraph    *graph = NewGraph(&p);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 50);
	float		v[16];
	VpSearchHit hits[50];
	int			i,
				n,
				ok = 1;

	BeginGroup();
	for (i = 0; i < 500; i++)
	{
		int			j;

		for (j = 0; j < 16; j++)
			v[j] = i < 400 ? 1.0f : (float) (i - 400);
		if (VpGraphInsert(graph, scratch, v, (uint64_t) i, 0, NULL) != VP_GRAPH_INSERTED)
			ok = 0;
	}
	Check(ok, "500 inserts, 400 of them identical");
	for (i = 0; i < 16; i++)
		v[i] = 1.0f;
	n = VpGraphSearch(graph, scratch, v, 50, hits, NULL);
	Check(n == 50 && CheckHits(graph, v, hits, n, 50) && hits[49].distance == 0.0f,
		  "50 exact duplicates found (n %d)", n);
	VpGraphScratchDestroy(scratch);
	free(graph);
	EndGroup("duplicate vectors");
}

/*
 * main
 *		Run every group; the exit status says whether all checks passed.
 */
/*
 * TestIterator
 *		The resumable search on the l2 graph with every third node deleted
 *		(as TestDeleted, which runs next, expects): its first window agrees
 *		with VpGraphSearch's answer (which may differ slightly: that search
 *		caps its candidate heap, the iterator keeps every candidate);
 *		continuing returns no node twice and no deleted node, in
 *		non-decreasing order under strict_order; the first 100 hits reach a
 *		recall of 0.9 against the exact top 100 of the live nodes; the
 *		visit bound is honoured; and on a small graph iterating to the end
 *		returns every live node exactly once.
 */
static void
TestIterator(VpGraph *graph, const float *data)
{
	const float *queries = data + (size_t) n_base * 128;
	const int	want = 100;
	const int	nq = 20;
	unsigned char *live = TestAlloc(NULL, n_base);
	unsigned char *seen = TestAlloc(NULL, n_base);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 40);
	VpSearchHit window[40];
	VpSearchHit first[40];
	int32_t    *truth;
	long		found = 0;
	long		first_overlap = 0;
	int			same_first = 1,
				no_repeat = 1,
				no_deleted = 1,
				ordered = 1,
				bounded = 1;
	int			i,
				q;

	BeginGroup();
	for (i = 0; i < n_base; i++)
	{
		if (i % 3 == 0)
			VpGraphMarkDeleted(graph, i);
		live[i] = !VpGraphIsDeleted(graph, i);
	}
	truth = GroundTruth(VP_METRIC_L2, data, n_base, queries, nq, 128, want, live);
	for (q = 0; q < nq; q++)
	{
		const float *query = queries + (size_t) q * 128;
		VpGraphIter *iter = VpGraphIterCreate(&allocator, graph, query, 40, 1, 0);
		int			got = 0;
		float		last = -INFINITY;
		int			n,
					call = 0;

		memset(seen, 0, n_base);
		while (got < want && (n = VpGraphIterNext(iter, graph, window, NULL)) > 0)
		{
			if (call++ == 0)
			{
				int			m = VpGraphSearch(graph, scratch, query, 40, first, NULL);
				int			a,
							b;

				if (m != n)
					same_first = 0;
				for (a = 0; a < n; a++)
					for (b = 0; b < m; b++)
						if (window[a].node == first[b].node)
							first_overlap++;
			}
			for (i = 0; i < n && got < want; i++, got++)
			{
				VpNodeId	id = window[i].node;
				int			j;

				if (seen[id])
					no_repeat = 0;
				seen[id] = 1;
				if (VpGraphIsDeleted(graph, id))
					no_deleted = 0;
				if (window[i].distance < last)
					ordered = 0;
				last = window[i].distance;
				for (j = 0; j < want; j++)
					if (truth[(size_t) q * want + j] == id)
						found++;
			}
		}
		VpGraphIterDestroy(iter);

		/* a bound of 500 visits stops exploring (hits found are still given) */
		iter = VpGraphIterCreate(&allocator, graph, query, 40, 0, 500);
		while (VpGraphIterNext(iter, graph, window, NULL) > 0)
			;
		if (VpGraphIterVisits(iter) > 500 + 2 * 16)
			bounded = 0;
		VpGraphIterDestroy(iter);
	}
	Check(same_first && first_overlap >= (long) (0.97 * nq * 40),
		  "first window agrees with VpGraphSearch at the same ef (%ld of %d)",
		  first_overlap, nq * 40);
	Check(no_repeat, "no node returned twice");
	Check(no_deleted, "no deleted node returned");
	Check(ordered, "strict order never decreases");
	Check(bounded, "visit bound honoured");
	printf("  iterative l2, 1/3 deleted: recall of the first %d hits %.3f\n",
		   want, (double) found / (nq * want));
	Check((double) found / (nq * want) >= 0.9, "recall@%d of continued search %.3f",
		  want, (double) found / (nq * want));
	free(truth);

	/* exhaustive on a small graph: every live node exactly once */
	{
		VpGraphParams p = MakeParams(128, 8, 32, VP_METRIC_L2, 300, 5);
		VpGraph    *small = Build(&p, data, 300, NULL);
		VpGraphIter *iter;
		int			total = 0,
					nlive = 0,
					n,
					once = 1;

		for (i = 0; i < 300; i += 4)
			VpGraphMarkDeleted(small, i);
		memset(seen, 0, 300);
		iter = VpGraphIterCreate(&allocator, small, queries, 10, 0, 0);
		while ((n = VpGraphIterNext(iter, small, window, NULL)) > 0)
			for (i = 0; i < n; i++, total++)
			{
				if (seen[window[i].node]++)
					once = 0;
			}
		for (i = 0; i < 300; i++)
			if (!VpGraphIsDeleted(small, i))
			{
				nlive++;
				if (!seen[i])
					once = 0;
			}
		Check(once && total == nlive, "exhausted: %d of %d live nodes, each once",
			  total, nlive);
		VpGraphIterDestroy(iter);
		free(small);
	}

	VpGraphScratchDestroy(scratch);
	free(live);
	free(seen);
	EndGroup("resumable search");
}

int
main(int argc, char **argv)
{
	int			small = 0;
	float	   *data;
	VpGraph    *l2graph;
	const char *env = getenv("VP_UNIT_SMALL");

	if (env != NULL)
		small = strcmp(env, "0") != 0;
	if (argc > 1 && strcmp(argv[1], "small") == 0)
		small = 1;
	n_base = small ? 2000 : 20000;
	n_query = small ? 100 : 300;
	n_base_784 = small ? 300 : 3000;
	n_query_784 = small ? 50 : 200;

	VpDistanceInit();
	printf("graph tests: %d x 128-d base, %d queries, %d x 784-d, kernels %s%s\n",
		   n_base, n_query, n_base_784, vp_kernels.name,
		   small ? " (small run)" : "");

	TestParams();
	TestMemory();
	TestEmptyAndSingle();
	TestDuplicates();
	TestHugeDims();

	/* 100 Gaussian clusters in 128 dims; rows past n_base are queries */
	data = MakeClustered(n_base + n_query, 128, 100, 0.15, 128);
	l2graph = TestMetric(VP_METRIC_L2, data, 0.95);
	TestMetric(VP_METRIC_COSINE, data, 0.95);
	TestMetric(VP_METRIC_L1, data, 0.95);
	TestMetric(VP_METRIC_INNER_PRODUCT, data, 0.90);
	TestScratchAndRelocation(l2graph, data);
	TestIterator(l2graph, data);
	TestDeleted(l2graph, data);
	free(l2graph);
	TestGrowth(data);
	TestExtremeM(data);
	TestBulkBuild(data);
	TestBulkDuplicates();
	free(data);

	Test784();

	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed == 0 ? 0 : 1;
}
