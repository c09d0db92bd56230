/*-------------------------------------------------------------------------
 *
 * test_graph.c
 *	  Standalone tests of the in-memory HNSW graph (src/vpgraph*.c) and of
 *	  its codes (src/vpcodes.c).
 *
 * Builds graphs over deterministic clustered data (Gaussian blobs around
 * random centres, from a seeded PRNG) for every metric and every kind of
 * code (exact floats, 8-bit quantized floats, bits, sparse vectors),
 * measures recall@10 against brute-force ground truth computed in double,
 * and checks the contract of every function in vpgraph.h and vpcodes.h:
 * quantization error bounds and round trips, ordering of results,
 * deletions, growth by copy, scratch reuse, position independence,
 * concurrent inserts beside searches, images (what snapshots save) and
 * their validation, reachability repair, small and degenerate graphs,
 * extreme dims and m, memory per node.  Timings are printed for
 * information only, never asserted.
 *
 * Recall with approximate codes (SQ8) is measured as the access method
 * uses the graph: the window of ef hits is re-ranked by the exact distance
 * before the top 10 are taken.
 *
 * Sizes: by default 20000 base vectors of 128 dims plus 300 held-out
 * queries, and 3000 of 784 dims.  With VP_UNIT_SMALL=1 in the environment
 * (or "small" as the first argument), e.g. for valgrind or sanitizers,
 * the sets shrink.
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
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpcodes.h"
#include "vpdistance.h"
#include "vpgraph.h"
/* white-box checks of links and flags */
#include "vpgraph_internal.h"

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
		case VP_METRIC_HAMMING:
		case VP_METRIC_JACCARD:
			break;				/* bits: see TestBits */
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

/* ----------------------------------------------------------------------
 * Graph helpers
 * ----------------------------------------------------------------------
 */

/* A float vector as the graph takes it */
static VpVector
F32(const float *x)
{
	VpVector	v;

	memset(&v, 0, sizeof(v));
	v.x = x;
	return v;
}

/* The item of row i: label i, ascending key, some block */
static VpGraphItem
Item(int64_t i)
{
	VpGraphItem item;

	item.label = (uint64_t) i;
	item.key = (uint64_t) i + 1;
	item.block = (uint32_t) (i / 4 + 1);
	return item;
}

static const char *
CodesName(VpCodeKind codes)
{
	switch (codes)
	{
		case VP_CODE_FLOAT32:
			return "f32";
		case VP_CODE_SQ8:
			return "sq8";
		case VP_CODE_BITS:
			return "bits";
		case VP_CODE_SPARSE:
			return "sparse";
	}
	return "?";
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
MakeParams(int dims, int m, int efc, VpMetric metric, VpCodeKind codes,
		   int32_t capacity, uint64_t seed)
{
	VpGraphParams p;

	memset(&p, 0, sizeof(p));
	p.dims = dims;
	p.m = m;
	p.ef_construction = efc;
	p.metric = metric;
	p.codes = codes;
	p.capacity = capacity;
	p.seed = seed;
	return p;
}

/*
 * Build
 *		Insert rows [0, n) of data with Item(i) into a graph; returns the
 *		graph and the build time.
 */
static VpGraph *
Build(const VpGraphParams *params, const float *data, int n, double *secs)
{
	VpGraph    *graph = NewGraph(params);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 0, 0);
	double		t0 = Now();
	int			i;
	int			ok = 1;

	for (i = 0; i < n; i++)
	{
		VpNodeId	node;
		VpVector	v = F32(data + (size_t) i * params->dims);
		VpGraphItem item = Item(i);

		if (VpGraphInsert(graph, scratch, &v, &item, &node) != VP_GRAPH_INSERTED ||
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
 * Window
 *		The first window of a resumable search: up to ef hits.
 */
static int
Window(const VpGraph *graph, const float *query, int ef, VpSearchHit *hits,
	   void (*interrupt_check) (void))
{
	VpVector	q = F32(query);
	VpGraphIter *iter = VpGraphIterCreate(&allocator, graph, &q, ef, 0, 0, 0);
	int			n;

	if (iter == NULL)
		return -1;
	n = VpGraphIterNext(iter, graph, hits, interrupt_check);
	VpGraphIterDestroy(iter);
	return n;
}

/*
 * Rerank
 *		Order hits by the exact distance of their rows (label = row), as the
 *		access method does with the vectors from the index pages.
 */
static void
Rerank(const VpGraph *graph, const float *data, const float *query,
	   VpSearchHit *hits, int n)
{
	const VpGraphParams *p = VpGraphGetParams(graph);
	double	   *d = TestAlloc(NULL, sizeof(double) * (size_t) (n > 0 ? n : 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = ExactDistance(p->metric, query,
							 data + (size_t) VpGraphLabel(graph, hits[i].node) * p->dims,
							 p->dims);
	for (i = 1; i < n; i++)
	{
		VpSearchHit h = hits[i];
		double		x = d[i];
		int			j = i - 1;

		while (j >= 0 && d[j] > x)
		{
			hits[j + 1] = hits[j];
			d[j + 1] = d[j];
			j--;
		}
		hits[j + 1] = h;
		d[j + 1] = x;
	}
	free(d);
}

/*
 * QueryNodeDistance
 *		Distance from a query vector to a node's code, computed through the
 *		codes' public interface (as the graph's searches must get it).
 */
static float
QueryNodeDistance(const VpGraph *graph, const VpVector *query, VpNodeId node)
{
	const VpGraphParams *p = VpGraphGetParams(graph);
	const void *code = VpGraphCode(graph, node);
	size_t		nbuf = VpQueryBufferFloats(p->codes, p->dims, query);
	float	   *buf = malloc(sizeof(float) * (nbuf > 0 ? nbuf : 1));
	VpQuery		q;
	float		d = -1.0f;

	if (code != NULL && VpQueryPrepare(p->codes, p->metric, p->dims, query, &q, buf))
		d = VpQueryDistance(&q, code);
	free(buf);
	return d;
}

/*
 * CheckHits
 *		Results are ascending, unique, valid, live, and their distances
 *		agree with QueryNodeDistance.  Returns 1 if all fine.
 */
static int
CheckHits(const VpGraph *graph, const float *query, const VpSearchHit *hits,
		  int n, int ef)
{
	VpVector	q = F32(query);
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
		d = QueryNodeDistance(graph, &q, hits[i].node);
		if (fabsf(d - hits[i].distance) > 1e-4f * (1.0f + fabsf(d)))
			ok = 0;
	}
	return ok;
}

/*
 * Recall
 *		Mean recall@K of the graph over the queries at one ef (hits
 *		re-ranked exactly when the codes are approximate),
 *		plus the search time; also checks every result list with CheckHits.
 */
static double
Recall(const VpGraph *graph, const float *data, const float *queries, int nq,
	   const int32_t *truth, int ef, double *us_per_query, int *bad_lists)
{
	VpSearchHit *hits = TestAlloc(NULL, sizeof(VpSearchHit) * ef);
	const VpGraphParams *p = VpGraphGetParams(graph);
	int			dims = p->dims;
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
		n = Window(graph, query, ef, hits, NULL);
		elapsed += Now() - t0;
		if (!CheckHits(graph, query, hits, n, ef))
			(*bad_lists)++;
		if (!VpCodeIsExact(p->codes) && data != NULL)
			Rerank(graph, data, query, hits, n);
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
		case VP_METRIC_HAMMING:
			return "hamming";
		case VP_METRIC_JACCARD:
			return "jaccard";
	}
	return "?";
}

/*
 * RecallTable
 *		Print recall and latency at every ef; returns recall at ef = 40.
 */
static double
RecallTable(const char *what, const VpGraph *graph, const float *data,
			const float *queries, int nq, const int32_t *truth)
{
	double		r40 = 0;
	int			e;
	int			bad_total = 0;

	printf("  %-24s recall@%d:", what, K);
	for (e = 0; e < NUM_EFS; e++)
	{
		double		us;
		int			bad;
		double		r = Recall(graph, data, queries, nq, truth, efs[e], &us, &bad);

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

/*
 * SearchesEqual
 *		Same first-window hits (ids and distances) for every query at ef.
 */
static int
SearchesEqual(const VpGraph *a, const VpGraph *b, const float *queries,
			  int nq, int ef)
{
	VpSearchHit *ha = TestAlloc(NULL, sizeof(VpSearchHit) * ef);
	VpSearchHit *hb = TestAlloc(NULL, sizeof(VpSearchHit) * ef);
	int			dims = VpGraphGetParams(a)->dims;
	int			same = 1;
	int			q;

	for (q = 0; q < nq && same; q++)
	{
		int			na = Window(a, queries + (size_t) q * dims, ef, ha, NULL);
		int			nb = Window(b, queries + (size_t) q * dims, ef, hb, NULL);

		if (na != nb || na <= 0 || memcmp(ha, hb, sizeof(VpSearchHit) * na) != 0)
			same = 0;
	}
	free(ha);
	free(hb);
	return same;
}

/* ----------------------------------------------------------------------
 * Test groups: layout and codes
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
	VpGraphParams good = MakeParams(128, 16, 64, VP_METRIC_L2, VP_CODE_FLOAT32, 1000, 1);
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
	Check(VpGraphRegionSize(&p) == 0, "dims 16001 refused for floats");
	p.codes = VP_CODE_SQ8;
	Check(VpGraphRegionSize(&p) == 0, "dims 16001 refused for sq8");
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
	p.metric = VP_METRIC_HAMMING;
	Check(VpGraphRegionSize(&p) == 0, "hamming on floats refused");
	p = good;
	p.codes = VP_CODE_BITS;
	Check(VpGraphRegionSize(&p) == 0, "l2 on bits refused");
	p.metric = VP_METRIC_JACCARD;
	p.dims = 64000;
	Check(VpGraphRegionSize(&p) > 0, "64000 bits accepted");
	p.dims = 64001;
	Check(VpGraphRegionSize(&p) == 0, "64001 bits refused");
	p = good;
	p.codes = VP_CODE_SPARSE;
	Check(VpGraphRegionSize(&p) == 0, "sparse without an arena refused");
	p.arena_bytes = 1 << 20;
	p.dims = 1000000000;
	Check(VpGraphRegionSize(&p) > 0, "sparse with a billion dimensions accepted");
	p = good;
	p.arena_bytes = 64;
	Check(VpGraphRegionSize(&p) == 0, "an arena for fixed codes refused");
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
 *		Bytes per node at 100k nodes, m 16: floats within 1.25 x (4 dims +
 *		8 m); 8-bit codes within the product targets (784 dims: 1,100
 *		bytes, 1536 dims: 2,000 bytes) including the eighth of spare room
 *		the access method lays out.
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
		VpGraphParams f = MakeParams(dims, 16, 64, VP_METRIC_L2, VP_CODE_FLOAT32, 100000, 1);
		VpGraphParams q = MakeParams(dims, 16, 64, VP_METRIC_L2, VP_CODE_SQ8, 100000, 1);
		VpGraphParams q9 = MakeParams(dims, 16, 64, VP_METRIC_L2, VP_CODE_SQ8, 112500, 1);
		double		per_f = (double) VpGraphRegionSize(&f) / 100000;
		double		per_q = (double) VpGraphRegionSize(&q) / 100000;
		double		per_q9 = (double) VpGraphRegionSize(&q9) / 100000;
		double		target_f = 1.25 * (4.0 * dims + 8.0 * 16);
		double		target_q = dims == 784 ? 1100 : dims == 1536 ? 2000 :
			1.25 * (dims + 16 + 8.0 * 16) + 48;

		printf("  dims %4d m 16: f32 %.0f bytes/node (target %.0f), sq8 %.0f "
			   "(%.0f with 1/8 spare, target %.0f)\n",
			   dims, per_f, target_f, per_q, per_q9, target_q);
		Check(per_f <= target_f, "dims %d f32: %.1f bytes/node > %.0f", dims, per_f, target_f);
		Check(per_q9 <= target_q, "dims %d sq8: %.1f bytes/node > %.0f", dims, per_q9, target_q);
	}
	EndGroup("memory per node");
}

/*
 * TestCodes
 *		The quantizer's error bound and round trip, distances on codes
 *		against exact distances, bits and sparse distances against naive
 *		ones, and refusal of invalid input.
 */
static void
TestCodes(void)
{
	int			dims = 300;
	float	   *x = TestAlloc(NULL, sizeof(float) * dims);
	float	   *y = TestAlloc(NULL, sizeof(float) * dims);
	float	   *buf = TestAlloc(NULL, sizeof(float) * dims);
	size_t		bytes = VpCodeFixedBytes(VP_CODE_SQ8, dims);
	void	   *cx = TestAlloc(NULL, bytes);
	void	   *cy = TestAlloc(NULL, bytes);
	VpMetric	metrics[4] = {VP_METRIC_L2, VP_METRIC_INNER_PRODUCT,
	VP_METRIC_COSINE, VP_METRIC_L1};
	int			bound_ok = 1,
				extremes_ok = 1,
				dist_ok = 1,
				sym_ok = 1;
	double		worst_rel = 0;
	int			trial,
				i,
				m;

	BeginGroup();
	Check(bytes % 8 == 0 && bytes >= sizeof(VpSq8Header) + dims,
		  "sq8 code size %zu", bytes);
	rng_state = 77;
	for (trial = 0; trial < 200; trial++)
	{
		VpVector	vx = F32(x),
					vy = F32(y);
		const VpSq8Header *h = cx;
		const uint8_t *c = VpSq8Bytes(cx);
		float		lo = INFINITY,
					hi = -INFINITY;
		double		shift = (trial % 3) * 5.0;	/* large offsets too */

		for (i = 0; i < dims; i++)
		{
			x[i] = (float) (Gaussian() * (1 + trial % 7) + shift);
			y[i] = (float) (x[i] + 0.3 * Gaussian());
			if (x[i] < lo)
				lo = x[i];
			if (x[i] > hi)
				hi = x[i];
		}
		Check(VpCodeEncode(VP_CODE_SQ8, VP_METRIC_L2, dims, &vx, cx), "encode");
		for (i = 0; i < dims; i++)
		{
			float		back = h->offset + h->scale * c[i];

			if (fabsf(back - x[i]) > h->scale * 0.5f + 1e-5f * (1 + fabsf(x[i])))
				bound_ok = 0;
			if ((x[i] == lo && c[i] != 0) || (x[i] == hi && c[i] != 255))
				extremes_ok = 0;
		}
		for (m = 0; m < 4; m++)
		{
			VpQuery		q;
			double		exact,
						approx,
						cc,
						ex,
						ey,
						norm_y = 0,
						bound,
						bound_cc;
			float	   *xc = buf;

			VpCodeEncode(VP_CODE_SQ8, metrics[m], dims, &vx, cx);
			VpCodeEncode(VP_CODE_SQ8, metrics[m], dims, &vy, cy);
			VpQueryPrepare(VP_CODE_SQ8, metrics[m], dims, &vy, &q, xc);
			for (i = 0; i < dims; i++)
				norm_y += (double) q.x[i] * q.x[i];
			norm_y = sqrt(norm_y);
			approx = VpQueryDistance(&q, cx);
			exact = ExactDistance(metrics[m], y, x, dims);

			/*
			 * The error of each element is at most scale / 2, so the error
			 * vector's norm at most sqrt(dims) scale / 2: bound each metric
			 * by it (plus float rounding).
			 */
			ex = sqrt((double) dims) * ((const VpSq8Header *) cx)->scale / 2;
			ey = sqrt((double) dims) * ((const VpSq8Header *) cy)->scale / 2;
			switch (metrics[m])
			{
				case VP_METRIC_L2:
					bound = 2 * sqrt(exact) * ex + ex * ex;
					bound_cc = 2 * sqrt(exact) * (ex + ey) + (ex + ey) * (ex + ey);
					break;
				case VP_METRIC_L1:
					bound = sqrt((double) dims) * ex;
					bound_cc = sqrt((double) dims) * (ex + ey);
					break;
				default:
					bound = norm_y * ex;
					bound_cc = (2 * norm_y + ex + ey) * (ex + ey);
					break;
			}
			bound += 1e-4 * (fabs(exact) + 1.0);
			bound_cc += 1e-4 * (fabs(exact) + 1.0);
			if (fabs(approx - exact) > bound)
				dist_ok = 0;
			if (fabs(approx - exact) / (bound + 1e-12) > worst_rel)
				worst_rel = fabs(approx - exact) / (bound + 1e-12);
			cc = VpCodeDistance(VP_CODE_SQ8, metrics[m], dims, cx, cy);
			if (fabs(cc - VpCodeDistance(VP_CODE_SQ8, metrics[m], dims, cy, cx)) >
				1e-3 * (fabs(cc) + 1.0) || fabs(cc - exact) > bound_cc)
				sym_ok = 0;
		}
	}
	Check(bound_ok, "every element within scale/2 of its value");
	Check(extremes_ok, "smallest and largest elements are exact");
	Check(dist_ok, "query-code distances within the quantization bound "
		  "(worst at %.2f of it)", worst_rel);
	Check(sym_ok, "code-code distances symmetric and within the bound");

	/* a constant vector: scale 0, exact */
	for (i = 0; i < dims; i++)
		x[i] = 2.5f;
	{
		VpVector	vx = F32(x);
		const VpSq8Header *h = cx;

		VpCodeEncode(VP_CODE_SQ8, VP_METRIC_L2, dims, &vx, cx);
		Check(h->scale == 0.0f && h->offset == 2.5f, "constant vector exact");
	}

	/* bits */
	{
		uint8_t		a[40],
					b[40];
		VpVector	va,
					vb;
		VpQuery		q;
		float		qbits[16];
		int			nbits = 317;
		int			ok = 1;

		memset(&va, 0, sizeof(va));
		memset(&vb, 0, sizeof(vb));
		va.bits = a;
		vb.bits = b;
		for (trial = 0; trial < 100; trial++)
		{
			uint8_t		ca[48],
						cb[48];
			int			x_or = 0,
						x_and = 0,
						x_any = 0;

			for (i = 0; i < 40; i++)
			{
				a[i] = (uint8_t) NextRandom();
				b[i] = (uint8_t) NextRandom();
			}
			VpCodeEncode(VP_CODE_BITS, VP_METRIC_HAMMING, nbits, &va, ca);
			VpCodeEncode(VP_CODE_BITS, VP_METRIC_HAMMING, nbits, &vb, cb);
			for (i = 0; i < nbits; i++)
			{
				int			ba = (a[i / 8] >> (7 - i % 8)) & 1;
				int			bb = (b[i / 8] >> (7 - i % 8)) & 1;

				x_or += ba != bb;
				x_and += ba && bb;
				x_any += ba || bb;
			}
			VpQueryPrepare(VP_CODE_BITS, VP_METRIC_HAMMING, nbits, &va, &q, qbits);
			if (VpQueryDistance(&q, cb) != (float) x_or)
				ok = 0;
			VpQueryPrepare(VP_CODE_BITS, VP_METRIC_JACCARD, nbits, &va, &q, qbits);
			if (fabsf(VpQueryDistance(&q, cb) - (1.0f - (float) x_and / x_any)) > 1e-6f)
				ok = 0;
		}
		Check(ok, "hamming and jaccard on codes equal bit-by-bit counts (trailing bits ignored)");
	}

	/* sparse */
	{
		int32_t		ia[50],
					ib[50];
		float		va_[50],
					vb_[50];
		float	   *da = TestAlloc(NULL, sizeof(float) * 1000);
		float	   *db = TestAlloc(NULL, sizeof(float) * 1000);
		char		code[8 + 50 * 8];
		VpVector	sa,
					sb;
		VpQuery		q;
		float		qbuf[50];
		int			ok = 1;

		memset(&sa, 0, sizeof(sa));
		memset(&sb, 0, sizeof(sb));
		for (trial = 0; trial < 100; trial++)
		{
			int			na = 0,
						nb = 0;

			memset(da, 0, sizeof(float) * 1000);
			memset(db, 0, sizeof(float) * 1000);
			for (i = 0; i < 1000; i++)
			{
				if (NextRandom() % 30 == 0 && na < 50)
				{
					ia[na] = i;
					va_[na] = da[i] = (float) Gaussian();
					na++;
				}
				if (NextRandom() % 30 == 0 && nb < 50)
				{
					ib[nb] = i;
					vb_[nb] = db[i] = (float) Gaussian();
					nb++;
				}
			}
			sa.nnz = na;
			sa.indices = ia;
			sa.values = va_;
			sb.nnz = nb;
			sb.indices = ib;
			sb.values = vb_;
			for (m = 0; m < 4; m++)
			{
				double		exact = ExactDistance(metrics[m], da, db, 1000);

				if (metrics[m] == VP_METRIC_COSINE && (na == 0 || nb == 0))
					continue;
				VpCodeEncode(VP_CODE_SPARSE, metrics[m], 1000, &sb, code);
				VpQueryPrepare(VP_CODE_SPARSE, metrics[m], 1000, &sa, &q, qbuf);
				if (fabs(VpQueryDistance(&q, code) - exact) > 1e-4 * (fabs(exact) + 1))
					ok = 0;
			}
		}
		Check(ok, "sparse distances equal dense ones for every metric");
		ia[0] = 5;
		ia[1] = 5;
		sa.nnz = 2;
		Check(!VpCodeEncode(VP_CODE_SPARSE, VP_METRIC_L2, 1000, &sa, code),
			  "repeated sparse index refused");
		ia[1] = 1000;
		Check(!VpCodeEncode(VP_CODE_SPARSE, VP_METRIC_L2, 1000, &sa, code),
			  "sparse index past dims refused");
		free(da);
		free(db);
	}
	Check(!VpCodeEncode(VP_CODE_SQ8, VP_METRIC_HAMMING, dims, NULL, cx),
		  "invalid kind/metric refused");
	free(x);
	free(y);
	free(buf);
	free(cx);
	free(cy);
	EndGroup("codes: sq8 bounds, bits, sparse");
}

/*
 * TestEmptyAndSingle
 *		Search of an empty graph, a one-node graph, deletion of its only
 *		node, argument validation, a full graph.
 */
static void
TestEmptyAndSingle(VpCodeKind codes)
{
	VpGraphParams p = MakeParams(8, 4, 16, VP_METRIC_L2, codes, 4, 7);
	VpGraph    *graph = NewGraph(&p);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 10, 0);
	float		v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	float		q[8] = {0};
	VpVector	vv = F32(v);
	VpGraphItem item = Item(42);
	VpSearchHit hits[10];
	VpNodeId	node = 12345;
	int			n;
	char		name[64];

	BeginGroup();
	Check(scratch != NULL, "scratch created");
	n = Window(graph, q, 10, hits, NULL);
	Check(n == 0, "empty graph search returns 0 (got %d)", n);
	Check(VpGraphLabel(graph, 0) == 0 && VpGraphCode(graph, 0) == NULL,
		  "no node 0 in an empty graph");
	Check(VpGraphInsert(graph, scratch, NULL, &item, &node) == VP_GRAPH_INVALID &&
		  node == VP_INVALID_NODE, "NULL vector refused");
	Check(VpGraphInsert(graph, scratch, &vv, &item, &node) == VP_GRAPH_INSERTED &&
		  node == 0, "first insert gets id 0");
	n = Window(graph, q, 10, hits, NULL);
	Check(n == 1 && hits[0].node == 0 &&
		  fabsf(hits[0].distance - 204.0f) < (codes == VP_CODE_SQ8 ? 0.5f : 1e-6f),
		  "1-node search returns it at distance 204 (n %d, %g)", n,
		  n > 0 ? hits[0].distance : -1);
	Check(VpGraphLabel(graph, 0) == 42 && VpGraphKey(graph, 0) == 43, "label and key");
	{
		VpGraphItem got;

		Check(VpGraphGetItem(graph, 0, &got) && got.block == item.block,
			  "item block kept");
	}
	if (codes == VP_CODE_FLOAT32)
		Check(memcmp(VpGraphCode(graph, 0), v, sizeof(v)) == 0, "vector stored");
	Check(VpGraphLabel(graph, 1) == 0 && VpGraphLabel(graph, -1) == 0 &&
		  VpGraphCode(graph, 1) == NULL && !VpGraphIsDeleted(graph, 1),
		  "out-of-range ids are harmless");
	VpGraphMarkDeleted(graph, 0);
	VpGraphMarkDeleted(graph, 0);
	VpGraphMarkDeleted(graph, 7);
	Check(VpGraphDeletedCount(graph) == 1 && VpGraphIsDeleted(graph, 0),
		  "deleted once, counted once");
	n = Window(graph, q, 10, hits, NULL);
	Check(n == 0, "only node deleted: search returns 0 (got %d)", n);

	/* fill to capacity: the next insert is FULL and changes nothing */
	{
		int			i;
		VpGraphInsertResult r;

		for (i = 1; i < 4; i++)
		{
			VpGraphItem it = Item(i);

			it.key = item.key + i;	/* keys ascend with ids */
			v[0] = (float) i * 10;
			VpGraphInsert(graph, scratch, &vv, &it, &node);
		}
		Check(VpGraphInsert(graph, scratch, &vv, &item, &node) == VP_GRAPH_INVALID &&
			  node == VP_INVALID_NODE, "a key not above the last is refused");
		item.key += 10;
		r = VpGraphInsert(graph, scratch, &vv, &item, &node);
		Check(r == VP_GRAPH_FULL && node == VP_INVALID_NODE && VpGraphCount(graph) == 4,
			  "insert into a full graph is VP_GRAPH_FULL and leaves it unchanged");
		n = Window(graph, q, 10, hits, NULL);
		Check(n == 3 && CheckHits(graph, q, hits, n, 10), "full graph still searchable");
		Check(VpGraphFindKey(graph, 43 + 2) == 2 &&
			  VpGraphFindKey(graph, 999) == VP_INVALID_NODE,
			  "nodes found by key");
	}
	VpGraphScratchDestroy(scratch);
	free(graph);
	snprintf(name, sizeof(name), "empty graph, single node, validation (%s)",
			 CodesName(codes));
	EndGroup(name);
}

/*
 * TestDuplicates
 *		Many identical vectors (and a zero vector for L2) must not break
 *		linking or search: all 400 come back.
 */
static void
TestDuplicates(VpCodeKind codes)
{
	VpGraphParams p = MakeParams(16, 4, 16, VP_METRIC_L2, codes, 500, 5);
	VpGraph    *graph = NewGraph(&p);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 400, 0);
	float		v[16];
	VpVector	vv = F32(v);
	VpSearchHit hits[400];
	int			i,
				n,
				zero = 0,
				ok = 1;
	char		name[64];

	BeginGroup();
	for (i = 0; i < 500; i++)
	{
		int			j;
		VpGraphItem item = Item(i);

		for (j = 0; j < 16; j++)
			v[j] = i < 400 ? 1.0f : (float) (i - 400) + 0.5f * j;
		if (VpGraphInsert(graph, scratch, &vv, &item, NULL) != VP_GRAPH_INSERTED)
			ok = 0;
	}
	Check(ok, "500 inserts, 400 of them identical");
	for (i = 0; i < 16; i++)
		v[i] = 1.0f;
	n = Window(graph, v, 400, hits, NULL);
	for (i = 0; i < n; i++)
		if (hits[i].node < 400)
			zero++;
	Check(zero == 400 && CheckHits(graph, v, hits, n, 400),
		  "all 400 duplicates found (%d)", zero);
	VpGraphScratchDestroy(scratch);
	free(graph);
	snprintf(name, sizeof(name), "duplicate vectors (%s)", CodesName(codes));
	EndGroup(name);
}

/*
 * TestHugeDims
 *		dims 16000 with a few nodes: with ef >= nodes every node comes back,
 *		so the re-ranked answer is exact.
 */
static void
TestHugeDims(VpCodeKind codes)
{
	int			n = 40;
	int			dims = 16000;
	float	   *data = MakeClustered(n + 3, dims, 4, 0.5, 16000);
	VpMetric	metrics[4] = {VP_METRIC_L2, VP_METRIC_INNER_PRODUCT,
	VP_METRIC_COSINE, VP_METRIC_L1};
	int			i;
	char		name[64];

	BeginGroup();
	for (i = 0; i < 4; i++)
	{
		VpGraphParams p = MakeParams(dims, 16, 64, metrics[i], codes, n, 11);
		VpGraph    *graph = Build(&p, data, n, NULL);
		int32_t    *truth = GroundTruth(metrics[i], data, n, data + (size_t) n * dims,
										3, dims, K, NULL);
		double		us;
		int			bad;
		double		r = Recall(graph, data, data + (size_t) n * dims, 3, truth,
							   n, &us, &bad);

		Check(r == 1.0 && bad == 0, "dims 16000 %s: recall %.3f with ef = nodes",
			  MetricName(metrics[i]), r);
		free(truth);
		free(graph);
	}
	free(data);
	snprintf(name, sizeof(name), "dims 16000, 40 nodes, every metric (%s)",
			 CodesName(codes));
	EndGroup(name);
}

/*
 * TestMetric
 *		Build the 128-d set for one metric, print recall per ef and check
 *		the threshold at ef 40.  Returns the graph if keep.
 */
static VpGraph *
TestMetric(VpMetric metric, VpCodeKind codes, const float *data,
		   double min_recall40, int keep)
{
	VpGraphParams p = MakeParams(128, 16, 64, metric, codes, n_base, 1234);
	const float *queries = data + (size_t) n_base * 128;
	int32_t    *truth = GroundTruth(metric, data, n_base, queries, n_query,
									128, K, NULL);
	VpGraph    *graph;
	double		secs;
	double		r40;
	char		name[80];

	BeginGroup();
	graph = Build(&p, data, n_base, &secs);
	printf("  %s %s: built %d x 128-d (m 16, ef_construction 64) in %.2f s "
		   "(%.0f us/insert), kernels %s\n",
		   MetricName(metric), CodesName(codes), n_base, secs,
		   secs * 1e6 / n_base, vp_kernels.name);
	snprintf(name, sizeof(name), "%s %s", MetricName(metric), CodesName(codes));
	r40 = RecallTable(name, graph, data, queries, n_query, truth);
	Check(r40 >= min_recall40, "%s %s recall@10 at ef 40 = %.3f < %.2f",
		  MetricName(metric), CodesName(codes), r40, min_recall40);
	snprintf(name, sizeof(name), "%s %s graph: recall@10 >= %.2f at ef 40",
			 MetricName(metric), CodesName(codes), min_recall40);
	free(truth);
	EndGroup(name);
	if (keep)
		return graph;
	free(graph);
	return NULL;
}

/* ----------------------------------------------------------------------
 * Test groups: searching, deleting, growing, building in bulk
 * ----------------------------------------------------------------------
 */

static int	interrupt_calls = 0;

/* interrupt_check callback that only counts its calls */
static void
CountInterrupt(void)
{
	interrupt_calls++;
}

/*
 * TestScratchAndRelocation
 *		VpGraphScratchFits refuses graphs a scratch does not fit; a region
 *		copied byte for byte to another address answers identically (no raw
 *		pointers inside); the interrupt callback is called during searches.
 */
static void
TestScratchAndRelocation(VpGraph *big, const float *data)
{
	const float *queries = data + (size_t) n_base * 128;
	int			n = n_base / 4;
	VpGraphParams p = MakeParams(128, 16, 64, VP_METRIC_L2, VP_CODE_FLOAT32, n, 3);
	VpGraph    *small = Build(&p, data, n, NULL);
	VpGraphScratch *sbig = VpGraphScratchCreate(&allocator, big, 100, 1);
	VpGraphScratch *ssmall = VpGraphScratchCreate(&allocator, small, 100, 1);
	VpGraphScratch *shash = VpGraphScratchCreate(&allocator, small, 100, 0);
	VpGraphParams p2;
	VpGraph    *other;
	void	   *moved;
	VpSearchHit hits[100];
	int			nhits;

	BeginGroup();
	Check(VpGraphScratchFits(sbig, small, 100), "big dense scratch fits small graph");
	Check(!VpGraphScratchFits(ssmall, big, 100), "small dense scratch does not fit big graph");
	Check(VpGraphScratchFits(shash, big, 100), "a hash scratch fits any capacity");
	Check(!VpGraphScratchFits(sbig, small, 101), "ef above max_ef does not fit");

	p2 = MakeParams(64, 16, 64, VP_METRIC_L2, VP_CODE_FLOAT32, 10, 3);
	other = NewGraph(&p2);
	Check(VpGraphScratchFits(sbig, other, 10), "smaller dims fit");
	free(other);
	p2 = MakeParams(256, 16, 64, VP_METRIC_L2, VP_CODE_FLOAT32, 10, 3);
	other = NewGraph(&p2);
	Check(!VpGraphScratchFits(sbig, other, 10), "larger dims do not fit");
	free(other);
	p2 = MakeParams(128, 16, 64, VP_METRIC_L2, VP_CODE_SQ8, 10, 3);
	other = NewGraph(&p2);
	Check(!VpGraphScratchFits(sbig, other, 10), "another code kind does not fit");
	free(other);
	p2 = MakeParams(128, 32, 64, VP_METRIC_L2, VP_CODE_FLOAT32, 10, 3);
	other = NewGraph(&p2);
	Check(!VpGraphScratchFits(sbig, other, 10), "larger m does not fit");
	{
		VpVector	v = F32(data);
		VpGraphItem item = Item(0);

		Check(VpGraphInsert(other, sbig, &v, &item, NULL) == VP_GRAPH_INVALID,
			  "insert with an unfit scratch is VP_GRAPH_INVALID");
	}
	free(other);

	/* relocation */
	if (posix_memalign(&moved, 64, VpGraphRegionBytes(small)) != 0)
		exit(2);
	memcpy(moved, small, VpGraphRegionBytes(small));
	memset(small, 0xAB, VpGraphRegionBytes(small));
	Check(VpGraphCount((VpGraph *) small) == 0, "scribbled original is not a graph");
	free(small);
	small = Build(&p, data, n, NULL);
	Check(SearchesEqual((VpGraph *) moved, small, queries, n_query, 50),
		  "graph copied to another address answers identically");
	free(moved);

	/* interrupts */
	interrupt_calls = 0;
	nhits = Window(big, queries, 100, hits, CountInterrupt);
	Check(nhits > 0 && interrupt_calls > 0, "interrupt callback called (%d times)",
		  interrupt_calls);

	VpGraphScratchDestroy(sbig);
	VpGraphScratchDestroy(ssmall);
	VpGraphScratchDestroy(shash);
	free(small);
	EndGroup("scratch fit, relocation, interrupts");
}

/*
 * TestIterator
 *		The resumable search on the l2 graph with every third node deleted
 *		(as TestDeleted, which runs next, expects): continuing returns no
 *		node twice and no deleted node, in non-decreasing order under
 *		strict_order; the first 100 hits reach a recall of 0.9 against the
 *		exact top 100 of the live nodes; the visit and memory bounds are
 *		honoured; and on a small graph iterating to the end returns every
 *		live node exactly once.
 */
static void
TestIterator(VpGraph *graph, const float *data)
{
	const float *queries = data + (size_t) n_base * 128;
	const int	want = 100;
	const int	nq = 20;
	unsigned char *live = TestAlloc(NULL, n_base);
	unsigned char *seen = TestAlloc(NULL, n_base);
	VpSearchHit window[40];
	int32_t    *truth;
	long		found = 0;
	int			no_repeat = 1,
				no_deleted = 1,
				ordered = 1,
				bounded = 1,
				budgeted = 1;
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
		VpVector	query = F32(queries + (size_t) q * 128);
		VpGraphIter *iter = VpGraphIterCreate(&allocator, graph, &query, 40, 1, 0, 0);
		int			got = 0;
		float		last = -INFINITY;
		int			n;

		memset(seen, 0, n_base);
		while (got < want && (n = VpGraphIterNext(iter, graph, window, NULL)) > 0)
		{
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
		iter = VpGraphIterCreate(&allocator, graph, &query, 40, 0, 500, 0);
		while (VpGraphIterNext(iter, graph, window, NULL) > 0)
			;
		if (VpGraphIterVisits(iter) > 500 + 2 * 16 || !VpGraphIterStopped(iter))
			bounded = 0;
		VpGraphIterDestroy(iter);

		/* a budget of what it starts with plus 4 kB likewise */
		iter = VpGraphIterCreate(&allocator, graph, &query, 40, 0, 0, 0);
		{
			size_t		budget = VpGraphIterBytes(iter) + 4096;

			VpGraphIterDestroy(iter);
			iter = VpGraphIterCreate(&allocator, graph, &query, 40, 0, 0, budget);
			while (VpGraphIterNext(iter, graph, window, NULL) > 0)
				;
			if (VpGraphIterBytes(iter) > budget || !VpGraphIterStopped(iter))
				budgeted = 0;
		}
		VpGraphIterDestroy(iter);
	}
	Check(no_repeat, "no node returned twice");
	Check(no_deleted, "no deleted node returned");
	Check(ordered, "strict order never decreases");
	Check(bounded, "visit bound honoured");
	Check(budgeted, "memory budget honoured");
	printf("  iterative l2, 1/3 deleted: recall of the first %d hits %.3f\n",
		   want, (double) found / (nq * want));
	Check((double) found / (nq * want) >= 0.9, "recall@%d of continued search %.3f",
		  want, (double) found / (nq * want));
	free(truth);

	/* exhaustive on a small graph: every live node exactly once */
	{
		VpGraphParams p = MakeParams(128, 8, 32, VP_METRIC_L2, VP_CODE_FLOAT32, 300, 5);
		VpGraph    *small = Build(&p, data, 300, NULL);
		VpVector	query = F32(queries);
		VpGraphIter *iter;
		int			total = 0,
					nlive = 0,
					n,
					once = 1;

		for (i = 0; i < 300; i += 4)
			VpGraphMarkDeleted(small, i);
		memset(seen, 0, 300);
		iter = VpGraphIterCreate(&allocator, small, &query, 10, 0, 0, 0);
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

	free(live);
	free(seen);
	EndGroup("resumable search");
}

/*
 * TestDeleted
 *		With every third node deleted (TestIterator did it): no search
 *		returns a deleted node, searches still return ef live nodes, and
 *		recall against live-only ground truth holds.
 */
static void
TestDeleted(VpGraph *graph, const float *data)
{
	const float *queries = data + (size_t) n_base * 128;
	unsigned char *live = TestAlloc(NULL, n_base);
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
	Check(VpGraphDeletedCount(graph) == ndel, "deleted count %d == %d",
		  VpGraphDeletedCount(graph), ndel);
	truth = GroundTruth(VP_METRIC_L2, data, n_base, queries, n_query, 128, K, live);
	r40 = RecallTable("l2, 1/3 deleted", graph, data, queries, n_query, truth);
	Check(r40 >= 0.95, "recall with deletions at ef 40 = %.3f", r40);
	for (q = 0; q < n_query; q++)
	{
		int			n = Window(graph, queries + (size_t) q * 128, 160, hits, NULL);

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
		int			n = Window(graph, queries, 160, hits, NULL);
		int			expect = (n_base - 2) / 1000 + 1;
		int			ok = 1;

		for (i = 0; i < n; i++)
			if (hits[i].node % 1000 != 1)
				ok = 0;
		Check(ok && n <= expect, "almost all deleted: %d of %d live returned, none deleted",
			  n, expect);
	}
	free(truth);
	free(live);
	EndGroup("deleted nodes never returned");
}

/*
 * TestGrowth
 *		Build into a small region, grow by VpGraphCopy into a region twice
 *		as big whenever insert says FULL, and compare with a graph built at
 *		full capacity from the same seed: same ids, labels, keys, flags and
 *		search results.  Also the ways VpGraphCopy must refuse.
 */
static void
TestGrowth(const float *data, VpCodeKind codes)
{
	int			n = n_base / 4;
	const float *queries = data + (size_t) n_base * 128;
	VpGraphParams pf = MakeParams(128, 16, 64, VP_METRIC_L2, codes, n, 99);
	VpGraphParams ps = MakeParams(128, 16, 64, VP_METRIC_L2, codes, 100, 99);
	VpGraph    *full = Build(&pf, data, n, NULL);
	VpGraph    *grown = NewGraph(&ps);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, grown, 40, 0);
	int			nfull = 0;
	int			ok = 1;
	int			i;
	char		name[64];

	BeginGroup();
	for (i = 0; i < n; i++)
	{
		VpNodeId	node;
		VpGraphInsertResult r;
		VpVector	v = F32(data + (size_t) i * 128);
		VpGraphItem item = Item(i);

		while ((r = VpGraphInsert(grown, scratch, &v, &item, &node)) == VP_GRAPH_FULL)
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
	Check(nfull >= (int) floor(log2(n / 100.0)), "grew %d times for %d nodes",
		  nfull, n);
	Check(VpGraphCount(grown) == n && VpGraphDeletedCount(grown) == VpGraphDeletedCount(full),
		  "counts match");
	for (i = 0, ok = 1; i < n; i++)
		if (VpGraphLabel(grown, i) != (uint64_t) i || VpGraphKey(grown, i) != Item(i).key ||
			VpGraphIsDeleted(grown, i) != VpGraphIsDeleted(full, i) ||
			memcmp(VpGraphCode(grown, i), VpGraphCode(full, i),
				   VpCodeFixedBytes(codes, 128)) != 0)
			ok = 0;
	Check(ok, "labels, keys, flags and codes survive growth");
	Check(SearchesEqual(grown, full, queries, n_query, 40),
		  "grown graph answers exactly like one built at full capacity");

	/* both continue identically: the level generator state was copied */
	{
		VpGraphParams p = *VpGraphGetParams(full);
		VpGraph    *full2;
		VpNodeId	a = VP_INVALID_NODE,
					b = VP_INVALID_NODE;
		VpGraph    *grown2;

		p.capacity = n + 50;
		full2 = NewGraph(&p);
		grown2 = NewGraph(&p);
		Check(VpGraphCopy(full2, full) == 0 && VpGraphCopy(grown2, grown) == 0,
			  "copies into slightly larger graphs");
		for (i = 0; i < 50 && n + i < n_base; i++)
		{
			VpVector	v = F32(data + (size_t) (n + i) * 128);
			VpGraphItem item = Item(n + i);

			VpGraphInsert(grown2, scratch, &v, &item, &a);
			VpGraphInsert(full2, scratch, &v, &item, &b);
		}
		Check(a == b && a != VP_INVALID_NODE &&
			  SearchesEqual(grown2, full2, queries, n_query, 40),
			  "both graphs continue identically after the copy");
		free(full2);
		free(grown2);
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
		p = *VpGraphGetParams(full);
		p.codes = codes == VP_CODE_SQ8 ? VP_CODE_FLOAT32 : VP_CODE_SQ8;
		g = NewGraph(&p);
		Check(VpGraphCopy(g, full) == -1, "copy with different codes refused");
		free(g);
		Check(VpGraphCopy(grown, full) == -1, "copy into a non-empty graph refused");
		Check(VpGraphCopy(NULL, full) == -1 && VpGraphCopy(grown, NULL) == -1,
			  "copy with NULL refused");
	}
	VpGraphScratchDestroy(scratch);
	free(full);
	free(grown);
	snprintf(name, sizeof(name), "growth by VpGraphCopy (%s)", CodesName(codes));
	EndGroup(name);
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
		VpGraphParams p = MakeParams(128, ms[i], 64, VP_METRIC_L2, VP_CODE_FLOAT32, n, 21);
		double		secs;
		VpGraph    *graph = Build(&p, data, n, &secs);
		char		name[40];
		double		us;
		int			bad;
		double		r160;

		printf("  m %d: built %d in %.2f s, %.0f bytes/node\n", ms[i], n, secs,
			   (double) VpGraphRegionBytes(graph) / n);
		snprintf(name, sizeof(name), "l2 m=%d", ms[i]);
		RecallTable(name, graph, data, queries, n_query, truth);
		r160 = Recall(graph, data, queries, n_query, truth, 160, &us, &bad);
		Check(r160 >= floor160[i], "m %d recall at ef 160 = %.3f < %.2f",
			  ms[i], r160, floor160[i]);
		free(graph);
	}
	free(truth);
	EndGroup("m = 2 and m = 100");
}

/* poll callback for TestBulkBuild: stop once *arg nodes are linked */
static int
StopAfter(void *arg, int32_t linked)
{
	return linked >= *(int32_t *) arg;
}

/* Stage rows [0, n) with Item(i); 1 if all fit */
static int
StageAll(VpGraph *graph, const float *data, int n, int dims)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		VpVector	v = F32(data + (size_t) i * dims);
		VpGraphItem item = Item(i);

		if (VpGraphStage(graph, &v, &item, NULL) != VP_GRAPH_INSERTED)
			return 0;
	}
	return 1;
}

/* Number of linked nodes */
static int32_t
CountLinked(const VpGraph *graph)
{
	int32_t		i,
				n = 0;

	for (i = 0; i < VpGraphCount(graph); i++)
		n += VpGraphIsLinked(graph, i);
	return n;
}

/*
 * TestBulkBuild
 *		Staging then linking: with one thread the graph answers exactly as
 *		one built by VpGraphInsert; with four it reaches the same recall
 *		floor; linking stops when poll asks and resumes.
 */
static void
TestBulkBuild(const float *data, VpCodeKind codes)
{
	VpGraphParams p = MakeParams(128, 16, 64, VP_METRIC_L2, codes, n_base, 1234);
	const float *queries = data + (size_t) n_base * 128;
	int32_t    *truth = GroundTruth(VP_METRIC_L2, data, n_base, queries,
									n_query, 128, K, NULL);
	VpGraph    *seq = Build(&p, data, n_base, NULL);
	VpGraph    *one = NewGraph(&p);
	VpGraph    *four = NewGraph(&p);
	VpGraphScratch *scratches[4];
	int32_t		stop_at = n_base / 3;
	int			rc;
	int			i;
	double		t0,
				secs1,
				secs4,
				us;
	int			bad;
	double		r40;
	char		name[64];

	BeginGroup();
	for (i = 0; i < 4; i++)
		scratches[i] = VpGraphScratchCreate(&allocator, seq, 40, 1);

	/* one thread: the same graph as inserting one by one */
	Check(StageAll(one, data, n_base, 128), "staging %d nodes succeeds", n_base);
	Check(VpGraphCount(one) == n_base && CountLinked(one) == 0,
		  "staged nodes are counted, none linked");
	t0 = Now();
	rc = VpGraphLinkStaged(one, scratches, 1, NULL, NULL, &allocator);
	secs1 = Now() - t0;
	Check(rc == 1 && CountLinked(one) == n_base, "one thread links all");
	Check(SearchesEqual(seq, one, queries, n_query, 40),
		  "one-thread bulk build answers exactly as VpGraphInsert's graph");

	/* four threads, stopped by poll a third of the way, then resumed */
	Check(StageAll(four, data, n_base, 128), "staging again succeeds");
	t0 = Now();
	rc = VpGraphLinkStaged(four, scratches, 4, StopAfter, &stop_at, &allocator);
	Check(rc == 0 && CountLinked(four) >= stop_at && CountLinked(four) < n_base,
		  "poll stops the linking (rc %d, %d linked)", rc, CountLinked(four));
	rc = VpGraphLinkStaged(four, scratches, 4, NULL, NULL, NULL);
	secs4 = Now() - t0;
	Check(rc == 1 && CountLinked(four) == n_base, "linking resumes (without a memo) and ends");
	r40 = Recall(four, data, queries, n_query, truth, 40, &us, &bad);
	printf("  %d x 128-d %s: linked in %.2f s with 1 thread, %.2f s with 4; "
		   "recall@10 at ef 40 %.3f\n", n_base, CodesName(codes), secs1, secs4, r40);
	Check(r40 >= 0.95 && bad == 0, "4-thread recall@10 at ef 40 = %.3f (bad lists %d)",
		  r40, bad);
	Check(VpGraphLinkStaged(four, scratches, 0, NULL, NULL, NULL) == -1,
		  "no thread refused");

	for (i = 0; i < 4; i++)
		VpGraphScratchDestroy(scratches[i]);
	free(seq);
	free(one);
	free(four);
	free(truth);
	snprintf(name, sizeof(name), "bulk build: stage, link in parallel (%s)",
			 CodesName(codes));
	EndGroup(name);
}

/*
 * TestBulkDuplicates
 *		Many identical vectors staged and linked by four threads are all
 *		returned by a search for that vector.
 */
static void
TestBulkDuplicates(void)
{
	VpGraphParams p = MakeParams(8, 4, 16, VP_METRIC_L2, VP_CODE_FLOAT32, 2000, 5);
	VpGraph    *graph = NewGraph(&p);
	VpGraphScratch *scratches[4];
	VpSearchHit *hits = TestAlloc(NULL, sizeof(VpSearchHit) * 400);
	float		v[8];
	VpVector	vv = F32(v);
	int			n;
	int			i;
	int			d;
	int			zero = 0;

	BeginGroup();
	for (i = 0; i < 4; i++)
		scratches[i] = VpGraphScratchCreate(&allocator, graph, 400, 1);
	for (i = 0; i < 1500; i++)
	{
		VpGraphItem item = Item(i);

		for (d = 0; d < 8; d++)
			v[d] = (i % 5 == 0) ? 0.5f : (float) ((i * 7 + d * 13) % 97) / 97.0f;
		VpGraphStage(graph, &vv, &item, NULL);
	}
	Check(VpGraphLinkStaged(graph, scratches, 4, NULL, NULL, &allocator) == 1,
		  "linked");
	for (d = 0; d < 8; d++)
		v[d] = 0.5f;
	n = Window(graph, v, 400, hits, NULL);
	for (i = 0; i < n; i++)
		if (hits[i].distance == 0.0f)
			zero++;
	Check(zero == 300, "all 300 duplicates found (%d)", zero);
	for (i = 0; i < 4; i++)
		VpGraphScratchDestroy(scratches[i]);
	free(graph);
	free(hits);
	EndGroup("bulk build: duplicates");
}

/*
 * Test784
 *		The higher-dimensional set, L2 and cosine, floats and 8-bit codes.
 */
static void
Test784(void)
{
	float	   *data = MakeClustered(n_base_784 + n_query_784, 784, 30, 0.3, 784);
	const float *queries = data + (size_t) n_base_784 * 784;
	VpMetric	metrics[2] = {VP_METRIC_L2, VP_METRIC_COSINE};
	VpCodeKind	kinds[2] = {VP_CODE_FLOAT32, VP_CODE_SQ8};
	int			i,
				k;

	BeginGroup();
	for (k = 0; k < 2; k++)
		for (i = 0; i < 2; i++)
		{
			VpGraphParams p = MakeParams(784, 16, 64, metrics[i], kinds[k], n_base_784, 5);
			int32_t    *truth = GroundTruth(metrics[i], data, n_base_784, queries,
											n_query_784, 784, K, NULL);
			double		secs;
			VpGraph    *graph = Build(&p, data, n_base_784, &secs);
			char		name[40];
			double		r40;

			printf("  784-d %s %s: built %d in %.2f s (%.0f us/insert)\n",
				   MetricName(metrics[i]), CodesName(kinds[k]), n_base_784, secs,
				   secs * 1e6 / n_base_784);
			snprintf(name, sizeof(name), "784-d %s %s", MetricName(metrics[i]),
					 CodesName(kinds[k]));
			r40 = RecallTable(name, graph, data, queries, n_query_784, truth);
			Check(r40 >= 0.95, "784-d %s %s recall at ef 40 = %.3f",
				  MetricName(metrics[i]), CodesName(kinds[k]), r40);
			free(graph);
			free(truth);
		}
	free(data);
	EndGroup("784-d graphs: recall@10 >= 0.95 at ef 40");
}

/* ----------------------------------------------------------------------
 * Test groups: concurrency, other codes, images, reachability
 * ----------------------------------------------------------------------
 */

typedef struct ConcurrentState
{
	VpGraph    *graph;
	const float *data;
	int			n;
	int			next;			/* next row to insert (atomic) */
	int			writers_done;	/* (atomic) */
	int			bad;			/* inserts or hits that went wrong */
	long		searches;
} ConcurrentState;

static pthread_mutex_t stage_mutex = PTHREAD_MUTEX_INITIALIZER;

static void *
WriterMain(void *arg)
{
	ConcurrentState *st = arg;
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, st->graph, 0, 0);

	for (;;)
	{
		int			row;
		VpVector	v;
		VpGraphItem item;
		VpNodeId	node = VP_INVALID_NODE;
		VpGraphInsertResult staged = VP_GRAPH_INVALID;

		/*
		 * Keys must grow with node ids, as they do in the server, where rows
		 * are staged in the order of the chain: take a row and stage it in
		 * one step, link outside.
		 */
		pthread_mutex_lock(&stage_mutex);
		row = __atomic_fetch_add(&st->next, 1, __ATOMIC_ACQ_REL);
		if (row < st->n)
		{
			v = F32(st->data + (size_t) row * 128);
			item = Item(row);
			staged = VpGraphStage(st->graph, &v, &item, &node);
		}
		pthread_mutex_unlock(&stage_mutex);
		if (row >= st->n)
			break;
		if (staged != VP_GRAPH_INSERTED ||
			VpGraphLinkNode(st->graph, scratch, node) != 1)
			__atomic_fetch_add(&st->bad, 1, __ATOMIC_ACQ_REL);
	}
	VpGraphScratchDestroy(scratch);
	__atomic_fetch_add(&st->writers_done, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

static void *
SearcherMain(void *arg)
{
	ConcurrentState *st = arg;
	VpSearchHit hits[40];

	while (__atomic_load_n(&st->writers_done, __ATOMIC_ACQUIRE) < 4)
	{
		const float *q = st->data + (size_t) (st->searches % st->n) * 128;
		int			n = Window(st->graph, q, 40, hits, NULL);
		int			count = VpGraphCount(st->graph);
		int			i;

		for (i = 0; i < n; i++)
			if (hits[i].node < 0 || hits[i].node >= count ||
				VpGraphLabel(st->graph, hits[i].node) >= (uint64_t) st->n ||
				(i > 0 && hits[i].distance < hits[i - 1].distance))
				__atomic_fetch_add(&st->bad, 1, __ATOMIC_ACQ_REL);
		st->searches++;
	}
	return NULL;
}

/*
 * TestConcurrent
 *		Four threads insert at once (each node staged, then linked beside
 *		the others) while a fifth searches: every insert succeeds, every
 *		node ends up linked, every hit is valid and ordered, and the graph
 *		reaches the usual recall.
 */
static void
TestConcurrent(const float *data, VpCodeKind codes)
{
	int			n = n_base / 2;
	const float *queries = data + (size_t) n_base * 128;
	VpGraphParams p = MakeParams(128, 16, 64, VP_METRIC_L2, codes, n, 31);
	int32_t    *truth = GroundTruth(VP_METRIC_L2, data, n, queries, n_query, 128, K, NULL);
	ConcurrentState st;
	pthread_t	threads[5];
	double		t0,
				us;
	int			bad;
	double		r40;
	int			i;
	char		name[64];

	BeginGroup();
	memset(&st, 0, sizeof(st));
	st.graph = NewGraph(&p);
	st.data = data;
	st.n = n;
	t0 = Now();
	for (i = 0; i < 4; i++)
		pthread_create(&threads[i], NULL, WriterMain, &st);
	pthread_create(&threads[4], NULL, SearcherMain, &st);
	for (i = 0; i < 5; i++)
		pthread_join(threads[i], NULL);
	Check(st.bad == 0, "%d bad inserts or hits", st.bad);
	Check(VpGraphCount(st.graph) == n && CountLinked(st.graph) == n,
		  "all %d nodes staged and linked (%d, %d)", n, VpGraphCount(st.graph),
		  CountLinked(st.graph));
	r40 = Recall(st.graph, data, queries, n_query, truth, 40, &us, &bad);
	printf("  4 writers + 1 searcher (%s): %d inserts in %.2f s, %ld searches meanwhile, "
		   "recall@10 at ef 40 %.3f\n", CodesName(codes), n, Now() - t0,
		   st.searches, r40);
	Check(r40 >= 0.95 && bad == 0, "recall@10 at ef 40 %.3f", r40);
	free(st.graph);
	free(truth);
	snprintf(name, sizeof(name), "concurrent inserts beside a search (%s)",
			 CodesName(codes));
	EndGroup(name);
}

/* Bit i of a packed bit string, first bit the high bit of byte 0 */
static int
BitAt(const uint8_t *bits, int i)
{
	return (bits[i / 8] >> (7 - i % 8)) & 1;
}

/*
 * TestBits
 *		Hamming and jaccard graphs over clustered bit strings: every hit
 *		within the exact k-th distance counts (bit distances tie a lot).
 */
static void
TestBits(void)
{
	int			dims = 256;
	int			nbytes = dims / 8;
	int			n = n_base / 4;
	int			nq = 100;
	uint8_t    *bits = TestAlloc(NULL, (size_t) (n + nq) * nbytes);
	uint8_t    *centres = TestAlloc(NULL, (size_t) 50 * nbytes);
	VpMetric	metrics[2] = {VP_METRIC_HAMMING, VP_METRIC_JACCARD};
	int			i,
				j,
				m;

	BeginGroup();
	rng_state = 4242;
	for (i = 0; i < 50 * nbytes; i++)
		centres[i] = (uint8_t) NextRandom();
	for (i = 0; i < n + nq; i++)
	{
		const uint8_t *c = centres + (NextRandom() % 50) * nbytes;

		for (j = 0; j < nbytes; j++)
		{
			uint8_t		flip = 0;
			int			b;

			for (b = 0; b < 8; b++)
				if (NextRandom() % 10 == 0)
					flip |= (uint8_t) (1 << b);
			bits[(size_t) i * nbytes + j] = c[j] ^ flip;
		}
	}
	for (m = 0; m < 2; m++)
	{
		VpGraphParams p = MakeParams(dims, 16, 64, metrics[m], VP_CODE_BITS, n, 8);
		VpGraph    *graph = NewGraph(&p);
		VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 0, 0);
		VpSearchHit hits[40];
		long		found = 0;
		int			ok = 1;

		for (i = 0; i < n; i++)
		{
			VpVector	v;
			VpGraphItem item = Item(i);

			memset(&v, 0, sizeof(v));
			v.bits = bits + (size_t) i * nbytes;
			if (VpGraphInsert(graph, scratch, &v, &item, NULL) != VP_GRAPH_INSERTED)
				ok = 0;
		}
		Check(ok, "%s: inserts", MetricName(metrics[m]));
		for (i = 0; i < nq; i++)
		{
			const uint8_t *q = bits + (size_t) (n + i) * nbytes;
			double	   *exact = TestAlloc(NULL, sizeof(double) * n);
			double		kth;
			VpVector	qv;
			VpGraphIter *iter;
			int			got;

			for (j = 0; j < n; j++)
			{
				const uint8_t *x = bits + (size_t) j * nbytes;
				int			diff = 0,
							both = 0,
							any = 0,
							b;

				for (b = 0; b < dims; b++)
				{
					diff += BitAt(q, b) != BitAt(x, b);
					both += BitAt(q, b) && BitAt(x, b);
					any += BitAt(q, b) || BitAt(x, b);
				}
				exact[j] = metrics[m] == VP_METRIC_HAMMING ? diff :
					(any ? 1.0 - (double) both / any : 0.0);
			}
			/* the K-th smallest exact distance */
			{
				double	   *sorted = TestAlloc(NULL, sizeof(double) * n);
				int			a,
							bb;

				memcpy(sorted, exact, sizeof(double) * n);
				for (a = 0; a < K; a++)
					for (bb = a + 1; bb < n; bb++)
						if (sorted[bb] < sorted[a])
						{
							double		t = sorted[a];

							sorted[a] = sorted[bb];
							sorted[bb] = t;
						}
				kth = sorted[K - 1];
				free(sorted);
			}
			memset(&qv, 0, sizeof(qv));
			qv.bits = q;
			iter = VpGraphIterCreate(&allocator, graph, &qv, 40, 0, 0, 0);
			got = VpGraphIterNext(iter, graph, hits, NULL);
			VpGraphIterDestroy(iter);
			for (j = 0; j < got && j < K; j++)
			{
				if (exact[VpGraphLabel(graph, hits[j].node)] <= kth + 1e-9)
					found++;
				if (fabs(hits[j].distance - exact[VpGraphLabel(graph, hits[j].node)]) > 1e-5)
					ok = 0;
			}
			free(exact);
		}
		Check(ok, "%s: distances on codes are exact", MetricName(metrics[m]));
		printf("  %d x %d bits %s: recall@10 at ef 40 %.3f\n", n, dims,
			   MetricName(metrics[m]), (double) found / (nq * K));
		Check((double) found / (nq * K) >= 0.9, "%s recall %.3f",
			  MetricName(metrics[m]), (double) found / (nq * K));
		VpGraphScratchDestroy(scratch);
		free(graph);
	}
	free(bits);
	free(centres);
	EndGroup("bit graphs: hamming and jaccard");
}

/*
 * TestSparse
 *		Sparse vectors (about 30 of 5000 dimensions set) around sparse
 *		centres, for L2, inner product and cosine; the arena grows by copy.
 */
static void
TestSparse(void)
{
	int			dims = 5000;
	int			n = n_base / 4;
	int			nq = 100;
	int			per = 30;
	int32_t    *idx = TestAlloc(NULL, sizeof(int32_t) * (size_t) (n + nq) * per);
	float	   *val = TestAlloc(NULL, sizeof(float) * (size_t) (n + nq) * per);
	float	   *dense = TestAlloc(NULL, sizeof(float) * (size_t) (n + nq) * dims);
	int32_t    *cidx = TestAlloc(NULL, sizeof(int32_t) * 40 * per);
	VpMetric	metrics[3] = {VP_METRIC_L2, VP_METRIC_INNER_PRODUCT, VP_METRIC_COSINE};
	int			i,
				j,
				m;

	BeginGroup();
	rng_state = 999;
	for (i = 0; i < 40 * per; i++)
		cidx[i] = (int32_t) (NextRandom() % dims);
	memset(dense, 0, sizeof(float) * (size_t) (n + nq) * dims);
	for (i = 0; i < n + nq; i++)
	{
		const int32_t *c = cidx + (NextRandom() % 40) * per;
		float	   *row = dense + (size_t) i * dims;
		int			k = 0;

		for (j = 0; j < per; j++)
			row[c[j]] = (float) (1.0 + 0.3 * Gaussian());
		for (j = 0; j < 3; j++)
			row[NextRandom() % dims] = (float) (0.5 * Gaussian());
		for (j = 0; j < dims && k < per; j++)
			if (row[j] != 0.0f)
			{
				idx[(size_t) i * per + k] = j;
				val[(size_t) i * per + k] = row[j];
				k++;
			}
		/* what did not fit in per entries is not in the vector */
		for (; j < dims; j++)
			row[j] = 0.0f;
		for (; k < per; k++)
		{
			/* pad with explicit entries past the last index */
			idx[(size_t) i * per + k] = -1;
		}
	}
	for (m = 0; m < 3; m++)
	{
		VpGraphParams p = MakeParams(dims, 16, 64, metrics[m], VP_CODE_SPARSE, 64, 8);
		VpGraph    *graph;
		VpGraphScratch *scratch;
		const float *queries = dense + (size_t) n * dims;
		int32_t    *truth = GroundTruth(metrics[m], dense, n, queries, nq, dims, K, NULL);
		VpSearchHit hits[40];
		long		found = 0;
		int			grew = 0;
		int			ok = 1;

		p.arena_bytes = 4096;
		graph = NewGraph(&p);
		scratch = VpGraphScratchCreate(&allocator, graph, 0, 0);
		for (i = 0; i < n; i++)
		{
			VpVector	v;
			VpGraphItem item = Item(i);
			VpGraphInsertResult r;

			memset(&v, 0, sizeof(v));
			v.indices = idx + (size_t) i * per;
			v.values = val + (size_t) i * per;
			for (v.nnz = 0; v.nnz < per && v.indices[v.nnz] >= 0; v.nnz++)
				;
			while ((r = VpGraphInsert(graph, scratch, &v, &item, NULL)) == VP_GRAPH_FULL)
			{
				VpGraphParams bp = *VpGraphGetParams(graph);
				VpGraph    *bigger;

				bp.capacity *= 2;
				bp.arena_bytes *= 2;
				bigger = NewGraph(&bp);
				if (VpGraphCopy(bigger, graph) != 0)
					ok = 0;
				free(graph);
				graph = bigger;
				grew++;
			}
			if (r != VP_GRAPH_INSERTED)
				ok = 0;
		}
		Check(ok && grew > 3, "%s: inserts, with %d growths", MetricName(metrics[m]), grew);
		for (i = 0; i < nq; i++)
		{
			VpVector	qv;
			VpGraphIter *iter;
			int			got;
			int			a,
						b;

			memset(&qv, 0, sizeof(qv));
			qv.indices = idx + (size_t) (n + i) * per;
			qv.values = val + (size_t) (n + i) * per;
			for (qv.nnz = 0; qv.nnz < per && qv.indices[qv.nnz] >= 0; qv.nnz++)
				;
			iter = VpGraphIterCreate(&allocator, graph, &qv, 40, 0, 0, 0);
			got = VpGraphIterNext(iter, graph, hits, NULL);
			VpGraphIterDestroy(iter);
			Rerank(graph, dense, queries + (size_t) i * dims, hits, got);
			for (a = 0; a < K; a++)
				for (b = 0; b < got && b < K; b++)
					if ((int32_t) VpGraphLabel(graph, hits[b].node) == truth[i * K + a])
						found++;
		}
		printf("  %d sparse x %d dims %s: recall@10 at ef 40 %.3f\n", n, dims,
			   MetricName(metrics[m]), (double) found / (nq * K));
		Check((double) found / (nq * K) >= 0.9, "%s recall %.3f",
			  MetricName(metrics[m]), (double) found / (nq * K));
		VpGraphScratchDestroy(scratch);
		free(graph);
		free(truth);
	}
	free(idx);
	free(val);
	free(dense);
	free(cidx);
	EndGroup("sparse graphs");
}

/*
 * Restored
 *		A graph of the same parameters, restored from an image of src, with
 *		every code set again from data (node label = row).  NULL if refused.
 */
static VpGraph *
Restored(const VpGraph *src, const VpGraphImageHeader *hdr, const void *image,
		 size_t bytes, const float *data, const char **why)
{
	VpGraphParams p = *VpGraphGetParams(src);
	VpGraph    *graph;
	int32_t		i;

	p.capacity = hdr->count + hdr->count / 8 + 16;
	graph = NewGraph(&p);
	*why = VpGraphImageRestore(graph, hdr, image, bytes);
	if (*why != NULL)
	{
		free(graph);
		return NULL;
	}
	for (i = 0; i < hdr->count; i++)
	{
		VpVector	v = F32(data + (size_t) VpGraphLabel(graph, i) * p.dims);

		VpGraphSetCode(graph, i, &v);
	}
	return graph;
}

static void *
ImageWriterMain(void *arg)
{
	ConcurrentState *st = arg;
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, st->graph, 0, 0);

	for (;;)
	{
		int			row;
		VpVector	v;
		VpGraphItem item;
		VpNodeId	node = VP_INVALID_NODE;
		VpGraphInsertResult staged = VP_GRAPH_INVALID;

		/*
		 * Keys must grow with node ids, as they do in the server, where rows
		 * are staged in the order of the chain: take a row and stage it in
		 * one step, link outside.
		 */
		pthread_mutex_lock(&stage_mutex);
		row = __atomic_fetch_add(&st->next, 1, __ATOMIC_ACQ_REL);
		if (row < st->n)
		{
			v = F32(st->data + (size_t) row * 128);
			item = Item(row);
			staged = VpGraphStage(st->graph, &v, &item, &node);
		}
		pthread_mutex_unlock(&stage_mutex);
		if (row >= st->n)
			break;
		if (staged != VP_GRAPH_INSERTED ||
			VpGraphLinkNode(st->graph, scratch, node) != 1)
			__atomic_fetch_add(&st->bad, 1, __ATOMIC_ACQ_REL);
	}
	VpGraphScratchDestroy(scratch);
	return NULL;
}

/*
 * TestImage
 *		An image restored with codes from the data answers exactly as the
 *		graph it was taken of; damaged images are refused; an image taken
 *		while inserts go on is valid; gone nodes are never returned.
 */
static void
TestImage(const float *data)
{
	int			n = n_base / 4;
	const float *queries = data + (size_t) n_base * 128;
	VpGraphParams p = MakeParams(128, 16, 64, VP_METRIC_L2, VP_CODE_SQ8, n, 17);
	VpGraph    *graph = Build(&p, data, n, NULL);
	VpGraph    *back;
	VpGraphImageHeader hdr;
	size_t		bytes;
	char	   *image;
	char	   *bad;
	const char *why;
	int			i;

	BeginGroup();
	for (i = 0; i < n; i += 11)
		VpGraphMarkDeleted(graph, i);
	Check(VpGraphImageCapture(graph, &hdr) && hdr.count == n &&
		  hdr.deleted_count == VpGraphDeletedCount(graph), "capture");
	bytes = VpGraphImageBytes(&hdr);
	printf("  image of %d nodes: %zu bytes (%.0f per node), region %zu\n",
		   n, bytes, (double) bytes / n, VpGraphRegionBytes(graph));
	image = TestAlloc(NULL, bytes);
	bad = TestAlloc(NULL, bytes);
	VpGraphImageCopy(graph, &hdr, image);
	back = Restored(graph, &hdr, image, bytes, data, &why);
	Check(back != NULL, "image restored (%s)", why ? why : "ok");
	if (back != NULL)
	{
		Check(VpGraphDeletedCount(back) == VpGraphDeletedCount(graph),
			  "deletions restored");
		Check(SearchesEqual(graph, back, queries, n_query, 40),
			  "restored graph answers exactly like the original");
		free(back);
	}

	/* damage */
	{
		VpGraphImageHeader h2;
		VpGraphNode *infos = (VpGraphNode *) bad;
		size_t		level0_off = ((size_t) n * sizeof(VpGraphNode)) + (((size_t) n + 7) & ~(size_t) 7);
		int32_t    *l0 = (int32_t *) (bad + level0_off);

		back = Restored(graph, &hdr, image, bytes - 1, data, &why);
		Check(back == NULL, "truncated image refused (%s)", why);
		h2 = hdr;
		h2.params.m = 8;
		back = Restored(graph, &h2, image, bytes, data, &why);
		Check(back == NULL, "image of other parameters refused");
		h2 = hdr;
		h2.entry_point = n;
		back = Restored(graph, &h2, image, bytes, data, &why);
		Check(back == NULL, "entry point out of range refused (%s)", why);
		h2.entry_point = VP_INVALID_NODE;
		back = Restored(graph, &h2, image, bytes, data, &why);
		Check(back != NULL && SearchesEqual(graph, back, queries, n_query, 40),
			  "an image captured before its entry point was set starts from its highest node");
		free(back);
		memcpy(bad, image, bytes);
		infos[5].level = VP_GRAPH_MAX_LEVEL;
		Check(Restored(graph, &hdr, bad, bytes, data, &why) == NULL,
			  "level out of range refused (%s)", why);
		memcpy(bad, image, bytes);
		infos[6].key = infos[5].key;
		Check(Restored(graph, &hdr, bad, bytes, data, &why) == NULL,
			  "keys out of order refused (%s)", why);
		memcpy(bad, image, bytes);
		infos[7].dup_next = n + 3;
		Check(Restored(graph, &hdr, bad, bytes, data, &why) == NULL,
			  "duplicate chain out of range refused");
		memcpy(bad, image, bytes);
		l0[9 * 33] = 40;
		Check(Restored(graph, &hdr, bad, bytes, data, &why) == NULL,
			  "list count out of range refused (%s)", why);
		memcpy(bad, image, bytes);
		l0[9 * 33 + 1] = n;
		Check(Restored(graph, &hdr, bad, bytes, data, &why) == NULL,
			  "link out of range refused");
		memcpy(bad, image, bytes);
		bad[(size_t) n * sizeof(VpGraphNode) + 3] |= (char) 0x80;
		Check(Restored(graph, &hdr, bad, bytes, data, &why) == NULL,
			  "unknown node flag refused");
	}

	/* gone nodes: restored without a code */
	{
		VpGraphParams rp = p;
		VpSearchHit hits[100];
		int			returned = 0;
		int			q;

		rp.capacity = n;
		back = NewGraph(&rp);
		Check(VpGraphImageRestore(back, &hdr, image, bytes) == NULL, "restore again");
		for (i = 0; i < n; i++)
		{
			VpVector	v = F32(data + (size_t) i * 128);

			if (i % 5 == 2)
				VpGraphMarkGone(back, i);
			else
				VpGraphSetCode(back, i, &v);
		}
		for (q = 0; q < n_query; q++)
		{
			int			got = Window(back, queries + (size_t) q * 128, 100, hits, NULL);
			int			j;

			for (j = 0; j < got; j++)
				if (hits[j].node % 5 == 2)
					returned++;
		}
		Check(returned == 0, "gone nodes never returned (%d)", returned);
		free(back);
	}

	/* an image taken while four threads insert */
	{
		VpGraphParams cp = MakeParams(128, 16, 64, VP_METRIC_L2, VP_CODE_SQ8, n, 19);
		ConcurrentState st;
		pthread_t	threads[4];
		int			captures = 0,
					refused = 0;

		memset(&st, 0, sizeof(st));
		st.graph = NewGraph(&cp);
		st.data = data;
		st.n = n;
		for (i = 0; i < 4; i++)
			pthread_create(&threads[i], NULL, ImageWriterMain, &st);
		while (__atomic_load_n(&st.next, __ATOMIC_ACQUIRE) < n)
		{
			VpGraphImageHeader ch;
			char	   *cimage;

			VpGraphImageCapture(st.graph, &ch);
			cimage = TestAlloc(NULL, VpGraphImageBytes(&ch) + 1);
			VpGraphImageCopy(st.graph, &ch, cimage);
			back = Restored(st.graph, &ch, cimage, VpGraphImageBytes(&ch), data, &why);
			if (back == NULL && refused++ == 0)
				fprintf(stderr, "  image refused: %s\n", why);
			free(back);
			free(cimage);
			captures++;
		}
		for (i = 0; i < 4; i++)
			pthread_join(threads[i], NULL);
		Check(refused == 0 && st.bad == 0, "%d of %d images taken during inserts refused",
			  refused, captures);
		free(st.graph);
	}
	free(image);
	free(bad);
	free(graph);
	EndGroup("images: restore, damage, gone nodes, concurrent capture");
}

/*
 * SelfFound
 *		How many live nodes come back among the first 10 hits of a search
 *		for their own vector at ef.
 */
static int
SelfFound(const VpGraph *graph, const float *data, int n, int ef)
{
	VpSearchHit *hits = TestAlloc(NULL, sizeof(VpSearchHit) * ef);
	int			found = 0;
	int			i,
				j;

	for (i = 0; i < n; i++)
	{
		int			got;

		if (VpGraphIsDeleted(graph, i))
			continue;
		got = Window(graph, data + (size_t) i * 128, ef, hits, NULL);
		for (j = 0; j < got && j < 10; j++)
			if (hits[j].node == i)
			{
				found++;
				break;
			}
	}
	free(hits);
	return found;
}

/*
 * TestRepair
 *		Nodes cut off (every link to them removed) are reported unreachable
 *		and, after repair, reachable and found by their own vector; on a
 *		thin graph (m 4, ef_construction 8) repair leaves none unreachable.
 */
static void
TestRepair(const float *data)
{
	int			n = n_base / 4;
	VpGraphParams p = MakeParams(128, 8, 32, VP_METRIC_L2, VP_CODE_FLOAT32, n, 41);
	VpGraph    *graph = Build(&p, data, n, NULL);
	VpGraphScratch *scratch = VpGraphScratchCreate(&allocator, graph, 0, 0);
	VpRepairStats stats;
	VpNodeId	lost[64];
	int32_t		nlost;
	int			cut = 0;
	int			i,
				found,
				ok;
	double		t0;

	BeginGroup();
	/* cut nodes 100..119: drop them from every list */
	for (i = 0; i < n; i++)
	{
		int			lc;

		for (lc = 0; lc <= NodeInfo(graph, i)->level; lc++)
		{
			int32_t    *links = NodeLinks(graph, i, lc);
			int			k = 0,
						j;

			for (j = 0; j < links[0]; j++)
				if (links[1 + j] < 100 || links[1 + j] >= 120)
					links[1 + k++] = links[1 + j];
			cut += links[0] - k;
			links[0] = k;
		}
	}
	if (graph->entry_point >= 100 && graph->entry_point < 120)
		graph->entry_point = 0;
	nlost = VpGraphUnreachable(graph, &allocator, lost, 64);
	ok = nlost >= 20;
	for (i = 0; i < nlost && i < 64; i++)
		if (!(lost[i] >= 100 && lost[i] < 120) && i < 20)
			ok = 0;
	Check(ok, "%d links cut: %d nodes unreachable, the cut ones among them", cut, nlost);
	found = SelfFound(graph, data, n, 400);
	Check(found <= n - 20, "cut nodes are not found (%d of %d found)", found, n);
	t0 = Now();
	Check(VpGraphRepair(graph, &allocator, 0, 1, &stats) == 0, "repair runs");
	printf("  cut graph: %d unreachable, %d repaired, %d left, in %.1f ms\n",
		   stats.unreachable, stats.repaired, stats.remaining, (Now() - t0) * 1e3);
	Check(stats.unreachable == nlost && stats.remaining == 0,
		  "repair leaves none unreachable (%d left)", stats.remaining);
	Check(VpGraphUnreachable(graph, &allocator, NULL, 0) == 0, "none unreachable after");
	found = SelfFound(graph, data, n, 400);
	Check(found == n, "every node found by its own vector at ef 400 (%d of %d)", found, n);
	VpGraphScratchDestroy(scratch);
	free(graph);

	/*
	 * A snapshot loaded after VACUUM recycled three rows in ten: their
	 * nodes come back gone, and every list entry naming one is a hole
	 * until VP_REPAIR_GONE fills it.
	 */
	{
		VpGraphParams gp = MakeParams(128, 8, 32, VP_METRIC_L2, VP_CODE_SQ8, n, 47);
		VpGraph    *src = Build(&gp, data, n, NULL);
		VpGraphImageHeader hdr;
		char	   *image;
		VpGraph    *back;
		int			before,
					after,
					live = 0,
					naming = 0;

		VpGraphImageCapture(src, &hdr);
		image = TestAlloc(NULL, VpGraphImageBytes(&hdr));
		VpGraphImageCopy(src, &hdr, image);
		gp.capacity = n;
		back = NewGraph(&gp);
		VpGraphImageRestore(back, &hdr, image, VpGraphImageBytes(&hdr));
		for (i = 0; i < n; i++)
		{
			VpVector	v = F32(data + (size_t) i * 128);

			if (i % 10 < 3)
				VpGraphMarkGone(back, i);
			else
			{
				VpGraphSetCode(back, i, &v);
				live++;
			}
		}
		before = SelfFound(back, data, n, 40);
		printf("  (source graph: %d of %d found by their own vector at ef 40)\n",
			   SelfFound(src, data, n, 40), n);
		t0 = Now();
		Check(VpGraphRepair(back, &allocator, VP_REPAIR_GONE | VP_REPAIR_WEAK, 2,
							&stats) == 0, "repair of a graph with gone nodes runs");
		after = SelfFound(back, data, n, 40);
		for (i = 0; i < n; i++)
		{
			int			lc;

			if (i % 10 < 3)
				continue;
			for (lc = 0; lc <= NodeInfo(back, i)->level; lc++)
			{
				const int32_t *l = NodeLinks(back, i, lc);
				int			j;

				for (j = 0; j < l[0]; j++)
					if (l[1 + j] % 10 < 3)
						naming++;
			}
		}
		printf("  3 in 10 nodes gone: %d holes filled, %d repaired (%.1f ms); "
			   "self-found at ef 40: %d -> %d of %d live\n",
			   stats.holes, stats.repaired, (Now() - t0) * 1e3, before, after, live);
		Check(stats.holes > 0 && naming == 0,
			  "no list names a gone node after repair (%d do)", naming);
		Check(after >= before && after >= live - live / 50,
			  "holes filled: 98%% of live rows found by their own vector, as in "
			  "the graph before (%d -> %d of %d)", before, after, live);
		free(image);
		free(back);
		free(src);
	}

	/* a thin graph loses nodes by itself */
	{
		VpGraphParams tp = MakeParams(128, 4, 8, VP_METRIC_L2, VP_CODE_SQ8, n, 43);
		VpGraph    *thin = Build(&tp, data, n, NULL);
		VpGraph    *alone = NewGraph(&tp);
		VpRepairStats alone_stats;
		int			before = SelfFound(thin, data, n, 400);
		int			after;

		/* the same repair in one thread, on a copy, to compare with */
		Check(VpGraphCopy(alone, thin) == 0, "thin graph copied");
		VpGraphRepair(alone, &allocator, VP_REPAIR_WEAK, 1, &alone_stats);
		t0 = Now();
		VpGraphRepair(thin, &allocator, VP_REPAIR_WEAK, 2, &stats);
		t0 = Now() - t0;
		after = SelfFound(thin, data, n, 400);
		printf("  m 4, ef_construction 8, sq8: %d unreachable, %d hidden, %d weak, "
			   "%d left after repair (%.1f ms); self-found at ef 400: %d -> %d of %d\n",
			   stats.unreachable, stats.hidden, stats.weak, stats.remaining,
			   t0 * 1e3, before, after, n);
		Check(stats.weak == alone_stats.weak,
			  "the weak check's searches in two threads find what one thread does "
			  "(%d and %d weak)", stats.weak, alone_stats.weak);
		Check(SelfFound(alone, data, n, 400) >= n - n / 50,
			  "the repair in one thread links as well");
		free(alone);
		Check(stats.remaining == 0, "thin graph repaired (%d left)", stats.remaining);
		Check(after >= before, "repair does not lose rows (%d -> %d)", before, after);
		Check(after >= n - n / 50,
			  "weakly listed nodes linked in: 98%% found by their own vector (%d of %d)",
			  after, n);
		free(thin);
	}
	EndGroup("reachability and repair");
}

/*
 * main
 *		Run every group; the exit status says whether all checks passed.
 */
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
	TestCodes();
	TestEmptyAndSingle(VP_CODE_FLOAT32);
	TestEmptyAndSingle(VP_CODE_SQ8);
	TestDuplicates(VP_CODE_FLOAT32);
	TestDuplicates(VP_CODE_SQ8);
	TestHugeDims(VP_CODE_FLOAT32);
	TestHugeDims(VP_CODE_SQ8);
	TestBits();
	TestSparse();

	/* 100 Gaussian clusters in 128 dims; rows past n_base are queries */
	data = MakeClustered(n_base + n_query, 128, 100, 0.15, 128);
	l2graph = TestMetric(VP_METRIC_L2, VP_CODE_FLOAT32, data, 0.95, 1);
	TestMetric(VP_METRIC_L2, VP_CODE_SQ8, data, 0.95, 0);
	TestMetric(VP_METRIC_COSINE, VP_CODE_SQ8, data, 0.95, 0);
	TestMetric(VP_METRIC_L1, VP_CODE_SQ8, data, 0.95, 0);
	TestMetric(VP_METRIC_INNER_PRODUCT, VP_CODE_SQ8, data, 0.90, 0);
	TestMetric(VP_METRIC_COSINE, VP_CODE_FLOAT32, data, 0.95, 0);
	TestScratchAndRelocation(l2graph, data);
	TestIterator(l2graph, data);
	TestDeleted(l2graph, data);
	free(l2graph);
	TestGrowth(data, VP_CODE_FLOAT32);
	TestGrowth(data, VP_CODE_SQ8);
	TestExtremeM(data);
	TestBulkBuild(data, VP_CODE_FLOAT32);
	TestBulkBuild(data, VP_CODE_SQ8);
	TestBulkDuplicates();
	TestConcurrent(data, VP_CODE_SQ8);
	TestImage(data);
	TestRepair(data);
	free(data);

	Test784();

	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed == 0 ? 0 : 1;
}
