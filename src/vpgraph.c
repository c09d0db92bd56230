/*-------------------------------------------------------------------------
 *
 * vpgraph.c
 *	  The in-memory HNSW graph: layout, insert, k-NN search, delete-mark.
 *
 * This is standard HNSW (Malkov & Yashunin, "Efficient and robust
 * approximate nearest neighbor search using Hierarchical Navigable Small
 * World graphs"): every node draws a level with mL = 1/ln(m); an insert
 * descends greedily through the levels above the new node's, then runs an
 * ef_construction-wide search on each level from the node's own down to 0,
 * chooses neighbours with the paper's heuristic (Algorithm 4) and links
 * both ways.  Like pgvector, the slots the heuristic leaves empty are
 * filled with the closest candidates it pruned, so that every list is as
 * full as it can be: fuller lists reach a given recall at a smaller ef.
 *
 * Region layout.  The caller hands us one block of memory; everything is
 * found from its start by byte offsets kept in the header, never by raw
 * pointers, so the block can live in shared memory mapped at a different
 * address in every process.  In order, each array starting on a 64-byte
 * boundary:
 *
 *	 VpGraph header		  parameters, offsets, counters, entry point, RNG
 *	 vectors			  capacity x float[dims] (normalised for cosine)
 *	 node info			  capacity x VpGraphNode: label, key, level,
 *						  first slot in the upper-level pool, next duplicate
 *	 node flags			  capacity x uint8: deleted, has duplicates
 *	 level-0 lists		  capacity x int32[1 + 2m]: count, then ids
 *	 upper-level pool	  pool_slots x int32[1 + m]: count, then ids; a
 *						  node of level L owns slots pool_start ..
 *						  pool_start + L - 1 (its levels 1..L)
 *
 * Levels are geometric: a node reaches level l >= 1 with probability
 * m^-l, so the expected number of upper-level lists per node is
 * 1/(m - 1).  The pool is sized for twice that plus room for two nodes of
 * the maximum level; when either the nodes or the pool run out, insert
 * reports VP_GRAPH_FULL without changing anything and the caller copies the
 * graph into a bigger region (VpGraphCopy keeps every id and offset).  For
 * dims = 128 and m = 16 a node costs 512 (vector) + 132 (level-0 list) +
 * 32 (info) + 1 (flags) + about 9 (pool share) = ~686 bytes, against a
 * budget of 1.25 x (4 dims + 8 m) = 800.
 *
 * Exact duplicates.  A vector identical to the closest node an insert
 * finds is not linked into the graph at all: it joins that node's chain
 * of duplicates (dup_next) and a search returns the chain's live members
 * at the same distance whenever it returns (or passes) the head.  Without
 * this, hundreds of identical vectors (zero embeddings, defaults) fill
 * each other's lists with zero-distance links and most of them become
 * unreachable.
 *
 * Concurrency.  Search only reads the region, so any number of processes
 * may search one graph at once, each with its own VpGraphScratch.  An
 * insert (one writer at a time; the caller serialises writers) publishes
 * in an order that lets a concurrent reader always see a consistent graph:
 * the new node's vector, info and own lists are written first, then the
 * node count is raised with a release store, then the new node is added to
 * its neighbours' lists (ids stored before a list's count is raised with a
 * release store), and the entry point moves last.  Readers load counts
 * with acquire and ignore ids at or beyond the node count they started
 * with.  A neighbour list that is re-selected in place may be seen by a
 * reader as a mix of old and new ids; each is a valid, published node, so
 * the search stays safe and merely approximate, as it is anyway.
 *
 * A bulk build (VpGraphStage, then VpGraphLinkStaged) writes all nodes
 * first and then links them with several writer threads, while nobody
 * searches.  Each change to a node's lists or duplicate chain is made under
 * that node's spinlock, a new node's own lists are complete (and copied)
 * before anything links to it, and the entry point moves by compare and
 * swap.  Neighbour ids are stored with release and loaded with acquire, so
 * a reader that follows an id sees the node's data.
 *
 * This file includes no PostgreSQL header: it is compiled into the server
 * module and standalone into the unit tests.  Nothing here allocates
 * except VpGraphScratchCreate, through the caller's allocator.
 *
 * IDENTIFICATION
 *	  src/vpgraph.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpdistance.h"
#include "vpgraph.h"

#define VP_GRAPH_MAGIC		0x56504752	/* "VPGR" */
#define VP_GRAPH_VERSION	2
#define VP_GRAPH_MAX_DIMS	16000
#define LAYOUT_ALIGN		64

#if defined(__GNUC__)
#define LoadAcquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define StoreRelease(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define Prefetch(p)			__builtin_prefetch((p), 0, 3)
#define LoadFlags(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define SetFlags(p, f)		__atomic_fetch_or((p), (f), __ATOMIC_RELAXED)
#else
#define LoadAcquire(p)		(*(volatile const int32_t *) (p))
#define StoreRelease(p, v)	(*(volatile int32_t *) (p) = (v))
#define Prefetch(p)			((void) (p))
#define LoadFlags(p)		(*(volatile const uint8_t *) (p))
#define SetFlags(p, f)		(*(volatile uint8_t *) (p) |= (f))
#endif

/* Bits of a node's flags byte */
#define NODE_DELETED		0x01	/* traversed but never returned */
#define NODE_HAS_DUPS		0x02	/* dup_next may lead to duplicates */

/* Per-node bookkeeping; 32 bytes */
typedef struct VpGraphNode
{
	uint64_t	label;			/* returned with search hits (heap TID) */
	uint64_t	key;			/* the record the node came from */
	uint32_t	pool_start;		/* first upper-level slot (levels 1..level) */
	uint8_t		level;			/* top level, 0..VP_GRAPH_MAX_LEVEL-1 */
	uint8_t		unused8;
	uint16_t	unused;
	VpNodeId	dup_next;		/* next node with an identical vector, or
								 * VP_INVALID_NODE; duplicates have no links */
} VpGraphNode;

/* The header at the start of the region */
struct VpGraph
{
	uint32_t	magic;			/* VP_GRAPH_MAGIC */
	uint32_t	version;		/* VP_GRAPH_VERSION */
	VpGraphParams params;		/* as laid out */
	uint64_t	region_bytes;	/* VpGraphRegionSize(&params) */
	uint64_t	vectors_off;	/* byte offsets from the region's start */
	uint64_t	nodes_off;
	uint64_t	flags_off;
	uint64_t	level0_off;
	uint64_t	pool_off;
	uint32_t	vector_bytes;	/* bytes per stored vector */
	uint32_t	level0_stride;	/* bytes per level-0 list: (1 + 2m) int32 */
	uint32_t	upper_stride;	/* bytes per pool slot: (1 + m) int32 */
	uint32_t	pool_slots;		/* slots in the upper-level pool */
	uint32_t	pool_used;		/* slots handed out */
	int32_t		count;			/* nodes, incl. deleted; release-stored */
	int32_t		staged;			/* nodes written, linked or not: == count
								 * except during a bulk build */
	int32_t		deleted_count;	/* nodes marked deleted */
	VpNodeId	entry_point;	/* top-level node; release-stored */
	uint64_t	rng_state;		/* splitmix64 state for levels */
};

/* One entry of a candidate or result list */
typedef struct Candidate
{
	float		dist;
	VpNodeId	id;
} Candidate;

/* Per-searcher working memory (one allocation, carved up) */
struct VpGraphScratch
{
	VpAllocator allocator;		/* who frees us */
	int			dims;			/* query buffer size */
	int32_t		capacity;		/* visited array size */
	int			max_ef;			/* largest ef we have room for */
	int			max_m;			/* largest m we have room for */
	uint32_t	epoch;			/* current visited mark */
	uint32_t	ndist;			/* distance evaluations, for interrupts */
	uint32_t   *visited;		/* capacity stamps; == epoch means seen */
	float	   *query;			/* dims floats: normalised cosine query */
	Candidate  *cand;			/* min-heap of nodes to expand */
	int			cand_cap;
	Candidate  *result;			/* max-heap of best nodes so far */
	Candidate  *found;			/* a layer search's result, ascending */
	Candidate  *reselect;		/* a full list plus one, to re-select */
	int32_t    *pruned;			/* indexes the heuristic passed over */
	VpNodeId   *selected;		/* ids chosen by the heuristic */
	int32_t    *own_links;		/* a new node's lists, copied (levels x
								 * (1 + 2m)) */
	uint8_t    *known;			/* verdicts of the reselect entries */
	uint8_t    *verdicts;		/* verdicts of the selected ids */
	VpNodeId   *added;			/* ids kept now but pruned before */
	uint8_t    *memo;			/* during a bulk build: the verdict memo
								 * (see ListVerdicts), else NULL */
};

/* Region layout for one set of parameters */
typedef struct GraphLayout
{
	size_t		vectors_off;
	size_t		nodes_off;
	size_t		flags_off;
	size_t		level0_off;
	size_t		pool_off;
	size_t		total;
	uint32_t	vector_bytes;
	uint32_t	level0_stride;
	uint32_t	upper_stride;
	uint32_t	pool_slots;
} GraphLayout;


/* ----------------------------------------------------------------------
 * Small helpers
 * ----------------------------------------------------------------------
 */

/*
 * AddSize, MulSize, AlignSize
 *		size_t arithmetic that reports overflow (returns 0) instead of
 *		wrapping, for sizes derived from caller parameters.
 */
static int
AddSize(size_t a, size_t b, size_t *result)
{
	if (a > SIZE_MAX - b)
		return 0;
	*result = a + b;
	return 1;
}

static int
MulSize(size_t a, size_t b, size_t *result)
{
	if (a != 0 && b > SIZE_MAX / a)
		return 0;
	*result = a * b;
	return 1;
}

static int
AlignSize(size_t a, size_t *result)
{
	if (!AddSize(a, LAYOUT_ALIGN - 1, result))
		return 0;
	*result &= ~((size_t) LAYOUT_ALIGN - 1);
	return 1;
}

/*
 * ComputeLayout
 *		Validate params and compute where each array lives.  Returns 0 for
 *		invalid parameters or a size that does not fit size_t.
 */
static int
ComputeLayout(const VpGraphParams *params, GraphLayout *layout)
{
	size_t		off;
	size_t		bytes;
	size_t		slots;

	if (params == NULL ||
		params->dims < 1 || params->dims > VP_GRAPH_MAX_DIMS ||
		params->m < 2 || params->m > VP_GRAPH_MAX_M ||
		params->ef_construction < 1 ||
		params->ef_construction > VP_GRAPH_MAX_EF ||
		params->capacity < 1 ||
		(params->metric != VP_METRIC_L2 &&
		 params->metric != VP_METRIC_INNER_PRODUCT &&
		 params->metric != VP_METRIC_COSINE &&
		 params->metric != VP_METRIC_L1))
		return 0;

	layout->vector_bytes = (uint32_t) params->dims * sizeof(float);
	layout->level0_stride = (uint32_t) (1 + 2 * params->m) * sizeof(int32_t);
	layout->upper_stride = (uint32_t) (1 + params->m) * sizeof(int32_t);

	/* twice the expected upper-level lists, plus two maximal nodes */
	slots = (size_t) params->capacity * 2 / (size_t) (params->m - 1) +
		2 * VP_GRAPH_MAX_LEVEL;
	if (slots > UINT32_MAX)
		slots = UINT32_MAX;
	layout->pool_slots = (uint32_t) slots;

	if (!AlignSize(sizeof(VpGraph), &off))
		return 0;
	layout->vectors_off = off;
	if (!MulSize((size_t) params->capacity, layout->vector_bytes, &bytes) ||
		!AddSize(off, bytes, &off) || !AlignSize(off, &off))
		return 0;
	layout->nodes_off = off;
	if (!MulSize((size_t) params->capacity, sizeof(VpGraphNode), &bytes) ||
		!AddSize(off, bytes, &off) || !AlignSize(off, &off))
		return 0;
	layout->flags_off = off;
	if (!AddSize(off, (size_t) params->capacity, &off) ||
		!AlignSize(off, &off))
		return 0;
	layout->level0_off = off;
	if (!MulSize((size_t) params->capacity, layout->level0_stride, &bytes) ||
		!AddSize(off, bytes, &off) || !AlignSize(off, &off))
		return 0;
	layout->pool_off = off;
	if (!MulSize(slots, layout->upper_stride, &bytes) ||
		!AddSize(off, bytes, &off) || !AlignSize(off, &off))
		return 0;
	layout->total = off;
	return 1;
}

/*
 * GraphIsValid
 *		Cheap sanity check of a header handed to us.
 */
static inline int
GraphIsValid(const VpGraph *graph)
{
	return graph != NULL && graph->magic == VP_GRAPH_MAGIC &&
		graph->version == VP_GRAPH_VERSION;
}

/*
 * NodeVector, NodeInfo
 *		The stored vector and the bookkeeping of a node (id < capacity).
 */
static inline float *
NodeVector(const VpGraph *graph, VpNodeId id)
{
	return (float *) ((char *) graph + graph->vectors_off +
					  (size_t) id * graph->vector_bytes);
}

static inline VpGraphNode *
NodeInfo(const VpGraph *graph, VpNodeId id)
{
	return (VpGraphNode *) ((char *) graph + graph->nodes_off) + id;
}

/*
 * NodeFlags
 *		A node's flags byte (NODE_*).  The flags live in a dense array of
 *		their own, a byte per node, because a search tests them for every
 *		node it meets: the array stays in the CPU caches where the 32-byte
 *		node info would not.
 */
static inline uint8_t *
NodeFlags(const VpGraph *graph, VpNodeId id)
{
	return (uint8_t *) graph + graph->flags_off + id;
}

/*
 * NodeLinks
 *		The neighbour list of a node on one level: element 0 is the count,
 *		then the ids.  NULL if the node does not reach that level (only
 *		possible with a damaged graph; callers skip it).
 */
static inline int32_t *
NodeLinks(const VpGraph *graph, VpNodeId id, int level)
{
	const VpGraphNode *info;

	if (level == 0)
		return (int32_t *) ((char *) graph + graph->level0_off +
							(size_t) id * graph->level0_stride);
	info = NodeInfo(graph, id);
	if (level > info->level)
		return NULL;
	return (int32_t *) ((char *) graph + graph->pool_off +
						((size_t) info->pool_start + level - 1) *
						graph->upper_stride);
}

/*
 * MaxLinks
 *		List capacity on a level: 2m on level 0, m above.
 */
static inline int
MaxLinks(const VpGraph *graph, int level)
{
	return level == 0 ? 2 * graph->params.m : graph->params.m;
}

/*
 * Distance
 *		Distance between two vectors in the graph's internal metric.  Both
 *		are already normalised for cosine, so 1 - dot is the cosine
 *		distance.  Every metric here is symmetric.
 */
static inline float
Distance(const VpGraph *graph, const float *a, const float *b)
{
	size_t		n = (size_t) graph->params.dims;

	switch (graph->params.metric)
	{
		case VP_METRIC_L2:
			return vp_kernels.l2_squared(a, b, n);
		case VP_METRIC_INNER_PRODUCT:
			return -vp_kernels.inner_product(a, b, n);
		case VP_METRIC_COSINE:
			return 1.0f - vp_kernels.inner_product(a, b, n);
		case VP_METRIC_L1:
			return vp_kernels.l1(a, b, n);
	}
	return 0.0f;
}

/*
 * NormalizeInto
 *		dst = src / |src|, with the norm taken in double.  A zero vector is
 *		copied as is (cosine callers never pass one; it then sits at
 *		distance 1 from everything rather than producing NaNs).
 */
static void
NormalizeInto(float *dst, const float *src, int dims)
{
	double		norm = 0.0;
	int			i;

	for (i = 0; i < dims; i++)
		norm += (double) src[i] * src[i];
	if (norm > 0.0)
	{
		double		inv = 1.0 / sqrt(norm);

		for (i = 0; i < dims; i++)
			dst[i] = (float) (src[i] * inv);
	}
	else if (dst != src)
		memcpy(dst, src, sizeof(float) * dims);
}

/*
 * NextRandom
 *		splitmix64 step; the state lives in the graph header so that the
 *		sequence of levels survives VpGraphCopy.
 */
static inline uint64_t
NextRandom(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/*
 * RandomLevel
 *		floor(-ln(U) * mL) with U uniform in (0, 1] and mL = 1/ln(m),
 *		capped at the top level we have room for.
 */
static int
RandomLevel(uint64_t *state, int m)
{
	double		u = ((double) (NextRandom(state) >> 11) + 1.0) *
		(1.0 / 9007199254740992.0);
	double		level = -log(u) / log((double) m);

	if (level >= VP_GRAPH_MAX_LEVEL - 1)
		return VP_GRAPH_MAX_LEVEL - 1;
	return (int) level;
}


/* ----------------------------------------------------------------------
 * Binary heaps of candidates, in scratch memory
 * ----------------------------------------------------------------------
 */

/*
 * HeapPush, HeapPop
 *		Binary heaps of candidates: with max false the closest is on top
 *		(candidates to expand), with max true the farthest (results, so the
 *		worst can be evicted).  max is always a constant, so each use
 *		inlines to a plain min- or max-heap.
 */
static inline int
HeapAbove(Candidate a, Candidate b, int max)
{
	return max ? a.dist > b.dist : a.dist < b.dist;
}

static inline void
HeapPush(Candidate *heap, int *n, Candidate c, int max)
{
	int			i = (*n)++;

	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (!HeapAbove(c, heap[parent], max))
			break;
		heap[i] = heap[parent];
		i = parent;
	}
	heap[i] = c;
}

static inline Candidate
HeapPop(Candidate *heap, int *n, int max)
{
	Candidate	top = heap[0];
	Candidate	last = heap[--(*n)];
	int			size = *n;
	int			i = 0;

	for (;;)
	{
		int			child = 2 * i + 1;

		if (child >= size)
			break;
		if (child + 1 < size && HeapAbove(heap[child + 1], heap[child], max))
			child++;
		if (!HeapAbove(heap[child], last, max))
			break;
		heap[i] = heap[child];
		i = child;
	}
	if (size > 0)
		heap[i] = last;
	return top;
}

#define MinHeapPush(heap, n, c)	HeapPush(heap, n, c, 0)
#define MinHeapPop(heap, n)		HeapPop(heap, n, 0)
#define MaxHeapPush(heap, n, c)	HeapPush(heap, n, c, 1)
#define MaxHeapPop(heap, n)		HeapPop(heap, n, 1)

/*
 * MinHeapPushBounded
 *		Push onto a min-heap of at most cap entries.  When it is full the
 *		farthest entry (always a leaf) gives way if c is closer, else c is
 *		dropped: the farthest candidates are the ones a bounded search
 *		would never expand anyway.  Rare, so the linear leaf scan is fine.
 */
static inline void
MinHeapPushBounded(Candidate *heap, int *n, int cap, Candidate c)
{
	int			worst;
	int			i;

	if (*n < cap)
	{
		MinHeapPush(heap, n, c);
		return;
	}
	worst = *n / 2;
	for (i = worst + 1; i < *n; i++)
		if (heap[i].dist > heap[worst].dist)
			worst = i;
	if (c.dist >= heap[worst].dist)
		return;
	/* a smaller value at a leaf only ever needs to move up */
	i = worst;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (heap[parent].dist <= c.dist)
			break;
		heap[i] = heap[parent];
		i = parent;
	}
	heap[i] = c;
}

/* ----------------------------------------------------------------------
 * Search
 * ----------------------------------------------------------------------
 */

/*
 * NextEpoch
 *		Start a new visited set: bump the stamp, and clear the array only
 *		when the 32-bit stamp wraps (once per four billion layer searches).
 */
static inline uint32_t
NextEpoch(VpGraphScratch *scratch)
{
	if (++scratch->epoch == 0)
	{
		memset(scratch->visited, 0,
			   sizeof(uint32_t) * (size_t) scratch->capacity);
		scratch->epoch = 1;
	}
	return scratch->epoch;
}

/*
 * CountDistance
 *		Account for one distance evaluation and give the caller a chance to
 *		notice an interrupt every 256 of them.
 */
static inline void
CountDistance(uint32_t *ndist, void (*interrupt_check) (void))
{
	if ((++*ndist & 255) == 0 && interrupt_check != NULL)
		interrupt_check();
}

/*
 * PrefetchVector
 *		Ask for the first cache lines of a node's vector ahead of use.
 */
static inline void
PrefetchVector(const VpGraph *graph, VpNodeId id, uint32_t max_bytes)
{
	const char *p = (const char *) NodeVector(graph, id);
	uint32_t	bytes = graph->vector_bytes < max_bytes ?
		graph->vector_bytes : max_bytes;
	uint32_t	off;

	for (off = 0; off < bytes; off += 64)
		Prefetch(p + off);
}

/*
 * GreedyClosest
 *		Walk one upper level greedily from cur towards q: move to any
 *		closer neighbour until none is closer.  count bounds the ids we
 *		trust (nodes published when the search began).
 */
static Candidate
GreedyClosest(const VpGraph *graph, uint32_t *ndist, const float *q,
			  Candidate cur, int level, int32_t count,
			  void (*interrupt_check) (void))
{
	int			changed = 1;
	int			maxn = MaxLinks(graph, level);

	while (changed)
	{
		const int32_t *links = NodeLinks(graph, cur.id, level);
		int			n;
		int			i;

		changed = 0;
		if (links == NULL)
			break;
		n = LoadAcquire(&links[0]);
		if (n > maxn)
			n = maxn;
		for (i = 0; i < n; i++)
		{
			VpNodeId	id = LoadAcquire(&links[1 + i]);

			if (id >= 0 && id < count)
				PrefetchVector(graph, id, 128);
		}
		for (i = 0; i < n; i++)
		{
			VpNodeId	id = LoadAcquire(&links[1 + i]);
			float		d;

			if (id < 0 || id >= count)
				continue;
			d = Distance(graph, q, NodeVector(graph, id));
			CountDistance(ndist, interrupt_check);
			if (d < cur.dist)
			{
				cur.dist = d;
				cur.id = id;
				changed = 1;
			}
		}
	}
	return cur;
}

/*
 * PushResult
 *		Offer a visited node to the ef best results.  When live_only (the
 *		final level-0 search of a query), deleted nodes are left out and
 *		the node's chain of exact duplicates, which have no links of their
 *		own, is offered at the same distance.
 */
static inline void
PushResult(const VpGraph *graph, Candidate *result, int *nresult, int ef,
		   Candidate e, int live_only, int32_t count)
{
	VpNodeId	dup;
	int32_t		steps = 0;
	uint8_t		flags = LoadFlags(NodeFlags(graph, e.id));

	if (!live_only || !(flags & NODE_DELETED))
	{
		MaxHeapPush(result, nresult, e);
		if (*nresult > ef)
			MaxHeapPop(result, nresult);
	}
	if (!live_only || !(flags & NODE_HAS_DUPS))
		return;
	for (dup = LoadAcquire(&NodeInfo(graph, e.id)->dup_next);
		 dup >= 0 && dup < count && steps++ < count;	/* no cycles */
		 dup = LoadAcquire(&NodeInfo(graph, dup)->dup_next))
	{
		Candidate	d;

		if (*nresult >= ef && e.dist >= result[0].dist)
			break;
		if (LoadFlags(NodeFlags(graph, dup)) & NODE_DELETED)
			continue;
		d.dist = e.dist;
		d.id = dup;
		MaxHeapPush(result, nresult, d);
		if (*nresult > ef)
			MaxHeapPop(result, nresult);
	}
}

/*
 * SearchLayer
 *		ef-bounded best-first search of one level, starting from
 *		entries[0..nentries-1] (ids with their distances to q).  With
 *		live_only, deleted nodes are expanded but kept out of the results,
 *		so up to ef live nodes come back.  The result lands in
 *		scratch->found in ascending distance; returns how many.  entries
 *		may point into scratch->found: it is consumed before being
 *		overwritten.  Allocates nothing.
 */
static int
SearchLayer(const VpGraph *graph, VpGraphScratch *scratch, const float *q,
			const Candidate *entries, int nentries, int ef, int level,
			int live_only, int32_t count, void (*interrupt_check) (void))
{
	uint32_t	epoch = NextEpoch(scratch);
	uint32_t   *visited = scratch->visited;
	Candidate  *cand = scratch->cand;
	Candidate  *result = scratch->result;
	int			ncand = 0;
	int			nresult = 0;
	int			maxn = MaxLinks(graph, level);
	VpNodeId	fresh[2 * VP_GRAPH_MAX_M];
	int			i;

	for (i = 0; i < nentries; i++)
	{
		Candidate	e = entries[i];

		if (visited[e.id] == epoch)
			continue;
		visited[e.id] = epoch;
		MinHeapPushBounded(cand, &ncand, scratch->cand_cap, e);
		PushResult(graph, result, &nresult, ef, e, live_only, count);
	}

	while (ncand > 0)
	{
		Candidate	c = MinHeapPop(cand, &ncand);
		const int32_t *links;
		int			n;
		int			nfresh = 0;

		if (nresult >= ef && c.dist > result[0].dist)
			break;
		links = NodeLinks(graph, c.id, level);
		if (links == NULL)
			continue;
		n = LoadAcquire(&links[0]);
		if (n > maxn)
			n = maxn;

		/* collect unvisited neighbours and start fetching their vectors */
		for (i = 0; i < n; i++)
		{
			VpNodeId	id = LoadAcquire(&links[1 + i]);

			if (id < 0 || id >= count || visited[id] == epoch)
				continue;
			visited[id] = epoch;
			fresh[nfresh++] = id;
			PrefetchVector(graph, id, 64);
		}

		for (i = 0; i < nfresh; i++)
		{
			VpNodeId	id = fresh[i];
			float		d;

			if (i + 1 < nfresh)
				PrefetchVector(graph, fresh[i + 1], 1024);
			d = Distance(graph, q, NodeVector(graph, id));
			CountDistance(&scratch->ndist, interrupt_check);
			if (nresult < ef || d < result[0].dist)
			{
				Candidate	e;

				e.dist = d;
				e.id = id;
				MinHeapPushBounded(cand, &ncand, scratch->cand_cap, e);
				PushResult(graph, result, &nresult, ef, e, live_only, count);
			}
		}
	}

	ncand = nresult;
	while (nresult > 0)
	{
		int			pos = nresult - 1;

		scratch->found[pos] = MaxHeapPop(result, &nresult);
	}
	return ncand;
}


/* ----------------------------------------------------------------------
 * Insert
 * ----------------------------------------------------------------------
 */

/*
 * Verdicts of the selection heuristic on the entries of a neighbour list,
 * in the list's order: whether the entry was kept because it is closer to
 * the list's node than to every entry kept before it, or was pruned and
 * kept only to fill the list.  A bulk build remembers them (the memo: one
 * byte per link slot, level-0 lists first, then the pool's) so that the
 * next re-selection of a full list, which differs from the last one only
 * by the newcomer, need not compare every pair again.  This is how pgvector
 * caches its "closer" flags; the result is the same as without the memo.
 */
#define VERDICT_UNKNOWN		0
#define VERDICT_KEPT		1
#define VERDICT_PRUNED		2

static inline uint8_t *
ListVerdicts(const VpGraph *graph, const uint8_t *memo, VpNodeId id,
			 int level)
{
	size_t		m = (size_t) graph->params.m;

	if (memo == NULL)
		return NULL;
	if (level == 0)
		return (uint8_t *) memo + (size_t) id * 2 * m;
	return (uint8_t *) memo + (size_t) graph->params.capacity * 2 * m +
		((size_t) NodeInfo(graph, id)->pool_start + level - 1) * m;
}

static size_t
MemoBytes(const VpGraph *graph)
{
	size_t		m = (size_t) graph->params.m;

	return (size_t) graph->params.capacity * 2 * m +
		(size_t) graph->pool_slots * m;
}

/*
 * Whether v, at distance d from the base vector, is closer to the base
 * than to each of the n nodes in ids (the heuristic's test).
 */
static inline int
CloserToBase(const VpGraph *graph, const float *v, float d,
			 const VpNodeId *ids, int n)
{
	int			j;

	for (j = 0; j < n; j++)
		if (Distance(graph, v, NodeVector(graph, ids[j])) < d)
			return 0;
	return 1;
}

/*
 * SelectNeighbors
 *		The neighbour-selection heuristic (Algorithm 4) with pgvector's
 *		fill: walk cand (ascending distance to the base vector) and keep a
 *		candidate if it is closer to the base than to every neighbour kept
 *		so far; then fill the remaining slots, up to maxn, with the closest
 *		candidates the heuristic passed over.  Chosen ids go to
 *		scratch->selected and their verdicts to scratch->verdicts; returns
 *		how many.
 *
 *		With known (the verdicts of the last selection of these candidates,
 *		all but newcomer's), only what the newcomer can change is computed:
 *		a candidate kept before stays kept unless a candidate kept now but
 *		not before is closer to it; one pruned before stays pruned unless
 *		some candidate kept before is pruned now.
 */
static int
SelectNeighbors(const VpGraph *graph, VpGraphScratch *scratch,
				const Candidate *cand, int ncand, int maxn,
				const uint8_t *known, VpNodeId newcomer)
{
	VpNodeId   *selected = scratch->selected;
	uint8_t    *verdicts = scratch->verdicts;
	VpNodeId   *added = scratch->added;
	int32_t    *pruned = scratch->pruned;
	int			nselected = 0;
	int			npruned = 0;
	int			nadded = 0;
	int			removed_any = 0;
	int			i;

	for (i = 0; i < ncand && nselected < maxn; i++)
	{
		const float *v = NodeVector(graph, cand[i].id);
		int			good;

		if (known == NULL)
			good = CloserToBase(graph, v, cand[i].dist, selected, nselected);
		else if (cand[i].id == newcomer ||
				 (known[i] == VERDICT_PRUNED && removed_any))
		{
			good = CloserToBase(graph, v, cand[i].dist, selected, nselected);
			if (good)
				added[nadded++] = cand[i].id;
		}
		else if (known[i] == VERDICT_KEPT)
		{
			good = CloserToBase(graph, v, cand[i].dist, added, nadded);
			if (!good)
				removed_any = 1;
		}
		else
			good = 0;
		if (good)
		{
			verdicts[nselected] = VERDICT_KEPT;
			selected[nselected++] = cand[i].id;
		}
		else
			pruned[npruned++] = i;
	}
	for (i = 0; i < npruned && nselected < maxn; i++)
	{
		verdicts[nselected] = VERDICT_PRUNED;
		selected[nselected++] = cand[pruned[i]].id;
	}
	return nselected;
}

/*
 * AddReverseLink
 *		Add new_id (at distance d) to node's list on level.  If the list is
 *		full, re-select among the old neighbours plus new_id with the same
 *		heuristic and fill.  Ids are written before the count is raised.
 */
static void
AddReverseLink(VpGraph *graph, VpGraphScratch *scratch, VpNodeId node,
			   int level, VpNodeId new_id, float d)
{
	int32_t    *links = NodeLinks(graph, node, level);
	uint8_t    *memo = ListVerdicts(graph, scratch->memo, node, level);
	int			maxn = MaxLinks(graph, level);
	const float *v;
	Candidate  *cand = scratch->reselect;
	uint8_t    *known = scratch->known;
	int			all_known = memo != NULL;
	int			n;
	int			k;
	int			i;

	if (links == NULL)
		return;
	n = links[0];
	if (n > maxn)
		n = maxn;
	if (n < maxn)
	{
		if (memo != NULL)
			memo[n] = VERDICT_UNKNOWN;
		StoreRelease(&links[1 + n], new_id);
		StoreRelease(&links[0], n + 1);
		return;
	}

	/* full: gather old neighbours and the new one, sorted by distance */
	v = NodeVector(graph, node);
	for (i = 0; i < n; i++)
	{
		cand[i].id = links[1 + i];
		cand[i].dist = Distance(graph, v, NodeVector(graph, cand[i].id));
		known[i] = memo != NULL ? memo[i] : VERDICT_UNKNOWN;
		if (known[i] == VERDICT_UNKNOWN)
			all_known = 0;
	}
	cand[n].id = new_id;
	cand[n].dist = d;
	known[n] = VERDICT_UNKNOWN;

	/*
	 * Insertion sort.  The new node goes before old neighbours at the same
	 * distance: with many identical vectors, every list would otherwise
	 * keep its oldest duplicates and no later duplicate would ever get an
	 * incoming link, leaving them unreachable.
	 */
	for (i = 1; i <= n; i++)
	{
		Candidate	c = cand[i];
		uint8_t		kc = known[i];
		int			j = i - 1;

		while (j >= 0 && (cand[j].dist > c.dist ||
						  (i == n && cand[j].dist == c.dist)))
		{
			cand[j + 1] = cand[j];
			known[j + 1] = known[j];
			j--;
		}
		cand[j + 1] = c;
		known[j + 1] = kc;
	}

	k = SelectNeighbors(graph, scratch, cand, n + 1, maxn,
						all_known ? known : NULL, new_id);
	if (k < n)
		StoreRelease(&links[0], k);
	for (i = 0; i < k; i++)
		StoreRelease(&links[1 + i], scratch->selected[i]);
	if (memo != NULL)
		memcpy(memo, scratch->verdicts, (size_t) k);
	StoreRelease(&links[0], k);
}


/* ----------------------------------------------------------------------
 * Exported functions
 * ----------------------------------------------------------------------
 */

/*
 * VpGraphRegionSize
 *		Bytes a region needs for params, or 0 if they are invalid or the
 *		size would overflow size_t.
 */
size_t
VpGraphRegionSize(const VpGraphParams *params)
{
	GraphLayout layout;

	if (!ComputeLayout(params, &layout))
		return 0;
	return layout.total;
}

/*
 * VpGraphInit
 *		Lay out an empty graph at the start of region.  Only the header is
 *		written, so laying out a large region costs nothing up front; node
 *		memory is initialised as nodes are inserted.  region must be at
 *		least 8-byte aligned (64 is best: the arrays are 64-byte aligned
 *		relative to the start) and size at least VpGraphRegionSize(params).
 *		Returns the graph (== region) or NULL on bad input.
 */
VpGraph *
VpGraphInit(void *region, size_t size, const VpGraphParams *params)
{
	GraphLayout layout;
	VpGraph    *graph = (VpGraph *) region;

	if (region == NULL || ((uintptr_t) region & 7) != 0 ||
		!ComputeLayout(params, &layout) || size < layout.total)
		return NULL;

	VpDistanceInit();

	memset(graph, 0, sizeof(VpGraph));
	graph->magic = VP_GRAPH_MAGIC;
	graph->version = VP_GRAPH_VERSION;
	graph->params = *params;
	graph->region_bytes = layout.total;
	graph->vectors_off = layout.vectors_off;
	graph->nodes_off = layout.nodes_off;
	graph->flags_off = layout.flags_off;
	graph->level0_off = layout.level0_off;
	graph->pool_off = layout.pool_off;
	graph->vector_bytes = layout.vector_bytes;
	graph->level0_stride = layout.level0_stride;
	graph->upper_stride = layout.upper_stride;
	graph->pool_slots = layout.pool_slots;
	graph->pool_used = 0;
	graph->count = 0;
	graph->staged = 0;
	graph->deleted_count = 0;
	graph->entry_point = VP_INVALID_NODE;
	graph->rng_state = params->seed;
	return graph;
}

/*
 * VpGraphCopy
 *		Copy every node of src into the empty graph dst, keeping ids,
 *		labels, keys, levels, deletion flags, links, the entry point and the
 *		level generator's state, so that inserting into dst continues
 *		exactly as inserting into src would have (given room).  dst must
 *		have the same dims, m and metric, room for src's nodes and pool
 *		slots.  Pool slots keep their indexes, so node info is copied
 *		verbatim.  src must not be written meanwhile.  Returns 0 or -1.
 */
int
VpGraphCopy(VpGraph *dst, const VpGraph *src)
{
	int32_t		count;

	if (!GraphIsValid(dst) || !GraphIsValid(src) || dst == src)
		return -1;
	count = LoadAcquire(&src->count);
	if (dst->count != 0 || src->staged != count ||
		dst->params.dims != src->params.dims ||
		dst->params.m != src->params.m ||
		dst->params.metric != src->params.metric ||
		dst->params.capacity < count ||
		dst->pool_slots < src->pool_used ||
		dst->vector_bytes != src->vector_bytes ||
		dst->level0_stride != src->level0_stride ||
		dst->upper_stride != src->upper_stride)
		return -1;

	memcpy((char *) dst + dst->vectors_off,
		   (const char *) src + src->vectors_off,
		   (size_t) count * src->vector_bytes);
	memcpy((char *) dst + dst->nodes_off,
		   (const char *) src + src->nodes_off,
		   (size_t) count * sizeof(VpGraphNode));
	memcpy((char *) dst + dst->flags_off,
		   (const char *) src + src->flags_off, (size_t) count);
	memcpy((char *) dst + dst->level0_off,
		   (const char *) src + src->level0_off,
		   (size_t) count * src->level0_stride);
	memcpy((char *) dst + dst->pool_off,
		   (const char *) src + src->pool_off,
		   (size_t) src->pool_used * src->upper_stride);
	dst->pool_used = src->pool_used;
	dst->deleted_count = src->deleted_count;
	dst->rng_state = src->rng_state;
	dst->entry_point = src->entry_point;
	dst->staged = count;
	StoreRelease(&dst->count, count);
	return 0;
}

/*
 * Accessors.  An invalid graph or node id gives 0 / NULL rather than a
 * read outside the region.
 */

/*
 * VpGraphCount
 *		Nodes in the graph, deleted ones included (acquire: a concurrent
 *		insert's node is counted only once it is complete).
 */
int32_t
VpGraphCount(const VpGraph *graph)
{
	return GraphIsValid(graph) ? LoadAcquire(&graph->count) : 0;
}

/*
 * VpGraphDeletedCount
 *		Nodes marked deleted; the cache compares it with the count to decide
 *		when a rebuild pays off.
 */
int32_t
VpGraphDeletedCount(const VpGraph *graph)
{
	return GraphIsValid(graph) ? graph->deleted_count : 0;
}

/*
 * VpGraphCapacity
 *		Nodes the region was laid out for.
 */
int32_t
VpGraphCapacity(const VpGraph *graph)
{
	return GraphIsValid(graph) ? graph->params.capacity : 0;
}

/*
 * VpGraphGetParams
 *		The parameters the region was laid out with (in the region itself).
 */
const VpGraphParams *
VpGraphGetParams(const VpGraph *graph)
{
	return GraphIsValid(graph) ? &graph->params : NULL;
}

/*
 * VpGraphRegionBytes
 *		Bytes the layout occupies (VpGraphRegionSize of its parameters).
 */
size_t
VpGraphRegionBytes(const VpGraph *graph)
{
	return GraphIsValid(graph) ? (size_t) graph->region_bytes : 0;
}

/*
 * NodeIsValid
 *		Whether id names a published node of graph.
 */
static inline int
NodeIsValid(const VpGraph *graph, VpNodeId node)
{
	return GraphIsValid(graph) && node >= 0 &&
		node < LoadAcquire(&graph->count);
}

/*
 * VpGraphLabel
 *		The label given at insert (the AM keeps the heap TID there).
 */
uint64_t
VpGraphLabel(const VpGraph *graph, VpNodeId node)
{
	return NodeIsValid(graph, node) ? NodeInfo(graph, node)->label : 0;
}

/*
 * VpGraphKey
 *		The key given at insert (the AM keeps the index item there).
 */
uint64_t
VpGraphKey(const VpGraph *graph, VpNodeId node)
{
	return NodeIsValid(graph, node) ? NodeInfo(graph, node)->key : 0;
}

/*
 * VpGraphIsDeleted
 *		Whether the node was marked deleted.
 */
int
VpGraphIsDeleted(const VpGraph *graph, VpNodeId node)
{
	return NodeIsValid(graph, node) ?
		(LoadFlags(NodeFlags(graph, node)) & NODE_DELETED) != 0 : 0;
}

/*
 * VpGraphVector
 *		The stored vector (normalised for cosine), or NULL.
 */
const float *
VpGraphVector(const VpGraph *graph, VpNodeId node)
{
	return NodeIsValid(graph, node) ? NodeVector(graph, node) : NULL;
}

/*
 * VpGraphDistance
 *		Distance from query (raw, not normalised) to a stored node in the
 *		graph's internal metric.  For cosine the query's norm is divided
 *		out here, so callers need not normalise; a zero query is at
 *		distance 1, as in search.  0 for an invalid node.
 */
float
VpGraphDistance(const VpGraph *graph, const float *query, VpNodeId node)
{
	const float *v;

	if (!NodeIsValid(graph, node) || query == NULL)
		return 0.0f;
	v = NodeVector(graph, node);
	if (graph->params.metric == VP_METRIC_COSINE)
	{
		float		dot,
					nq,
					nv;
		double		cosd;

		vp_kernels.cosine_parts(query, v, (size_t) graph->params.dims,
								&dot, &nq, &nv);
		cosd = VpCosineFromParts(dot, nq, nv);
		return isnan(cosd) ? 1.0f : (float) cosd;
	}
	return Distance(graph, query, v);
}

/*
 * VpGraphScratchCreate
 *		Allocate working memory for searching and inserting into graph (or
 *		any graph with no larger capacity, dims or m) with ef up to max_ef
 *		(at least the graph's ef_construction, so inserts fit too).  One
 *		allocation through the caller's allocator; freed by
 *		VpGraphScratchDestroy.  Returns NULL for an invalid graph.
 */
VpGraphScratch *
VpGraphScratchCreate(const VpAllocator *allocator, const VpGraph *graph,
					 int max_ef)
{
	VpGraphScratch *scratch;
	size_t		offs[9];
	size_t		sizes[9];
	size_t		total;
	char	   *mem;
	char	   *base;
	int			max_m;
	int			cand_cap;
	int			nprune;
	int			i;

	if (allocator == NULL || allocator->alloc == NULL || !GraphIsValid(graph))
		return NULL;
	VpDistanceInit();

	if (max_ef < graph->params.ef_construction)
		max_ef = graph->params.ef_construction;
	if (max_ef > VP_GRAPH_MAX_EF)
		max_ef = VP_GRAPH_MAX_EF;
	max_m = graph->params.m;
	cand_cap = 2 * max_ef + 4 * max_m + 16;
	nprune = max_ef > 2 * max_m + 1 ? max_ef : 2 * max_m + 1;

	/* the arrays, each cache-line aligned, after the struct */
	sizes[0] = sizeof(uint32_t) * (size_t) graph->params.capacity;
	sizes[1] = sizeof(float) * (size_t) graph->params.dims;
	sizes[2] = sizeof(Candidate) * (size_t) cand_cap;
	sizes[3] = sizeof(Candidate) * (size_t) (max_ef + 1);	/* result */
	sizes[4] = sizeof(Candidate) * (size_t) (max_ef + 1);	/* found */
	sizes[5] = sizeof(Candidate) * (size_t) (2 * max_m + 1) +
		sizeof(VpNodeId) * (size_t) (2 * max_m);	/* reselect, selected */
	sizes[6] = sizeof(int32_t) * (size_t) nprune;
	sizes[7] = sizeof(int32_t) * (size_t) VP_GRAPH_MAX_LEVEL * (2 * max_m + 1);
	sizes[8] = sizeof(VpNodeId) * (size_t) (2 * max_m + 1) +
		2 * (size_t) (2 * max_m + 1);	/* added, known, verdicts */
	total = 0;
	for (i = 0; i < 9; i++)
	{
		offs[i] = total;
		if (!AddSize(total, sizes[i], &total) || !AlignSize(total, &total))
			return NULL;
	}
	if (!AddSize(total, sizeof(VpGraphScratch) + LAYOUT_ALIGN, &total))
		return NULL;

	mem = allocator->alloc(allocator->ctx, total);
	if (mem == NULL)
		return NULL;
	scratch = (VpGraphScratch *) mem;
	memset(scratch, 0, sizeof(VpGraphScratch));
	scratch->allocator = *allocator;
	base = (char *) (((uintptr_t) (mem + sizeof(VpGraphScratch)) +
					  LAYOUT_ALIGN - 1) & ~(uintptr_t) (LAYOUT_ALIGN - 1));
	scratch->visited = (uint32_t *) (base + offs[0]);
	scratch->query = (float *) (base + offs[1]);
	scratch->cand = (Candidate *) (base + offs[2]);
	scratch->result = (Candidate *) (base + offs[3]);
	scratch->found = (Candidate *) (base + offs[4]);
	scratch->reselect = (Candidate *) (base + offs[5]);
	scratch->selected = (VpNodeId *) (scratch->reselect + 2 * max_m + 1);
	scratch->pruned = (int32_t *) (base + offs[6]);
	scratch->own_links = (int32_t *) (base + offs[7]);
	scratch->added = (VpNodeId *) (base + offs[8]);
	scratch->known = (uint8_t *) (scratch->added + 2 * max_m + 1);
	scratch->verdicts = scratch->known + 2 * max_m + 1;
	scratch->memo = NULL;
	scratch->dims = graph->params.dims;
	scratch->capacity = graph->params.capacity;
	scratch->max_ef = max_ef;
	scratch->max_m = max_m;
	scratch->cand_cap = cand_cap;
	scratch->epoch = 1;
	scratch->ndist = 0;
	memset(scratch->visited, 0, sizes[0]);
	return scratch;
}

/*
 * VpGraphScratchFits
 *		Whether scratch can serve graph with this ef: its visited array
 *		covers the graph's capacity and its buffers the dims, m and ef.
 */
int
VpGraphScratchFits(const VpGraphScratch *scratch, const VpGraph *graph,
				   int ef)
{
	return scratch != NULL && GraphIsValid(graph) &&
		graph->params.capacity <= scratch->capacity &&
		graph->params.dims <= scratch->dims &&
		graph->params.m <= scratch->max_m &&
		ef >= 1 && ef <= scratch->max_ef;
}

/*
 * VpGraphScratchDestroy
 *		Free scratch through the allocator it was made with.
 */
void
VpGraphScratchDestroy(VpGraphScratch *scratch)
{
	VpAllocator allocator;

	if (scratch == NULL)
		return;
	allocator = scratch->allocator;
	if (allocator.free != NULL)
		allocator.free(allocator.ctx, scratch);
}

/*
 * NodeLock, NodeUnlock
 *		Per-node spinlocks of a parallel link phase: a writer changing a
 *		node's lists (or its duplicate chain) holds that node's lock.
 *		With locks NULL (one writer) they do nothing.
 */
static inline void
NodeLock(uint8_t *locks, VpNodeId id)
{
	int			spins = 0;

	if (locks == NULL)
		return;
	while (__atomic_test_and_set(&locks[id], __ATOMIC_ACQUIRE))
	{
		if (++spins >= 100)
		{
			sched_yield();
			spins = 0;
		}
	}
}

static inline void
NodeUnlock(uint8_t *locks, VpNodeId id)
{
	if (locks != NULL)
		__atomic_clear(&locks[id], __ATOMIC_RELEASE);
}

/*
 * StageNode
 *		Write a new node (id = graph->staged): its level, pool slots,
 *		vector and empty lists.  Nothing links to it yet.  Room is checked
 *		before anything is written, with the level drawn from a copy of the
 *		generator, so VP_GRAPH_FULL leaves the graph untouched.
 */
static VpGraphInsertResult
StageNode(VpGraph *graph, const float *vector, uint64_t label, uint64_t key,
		  VpNodeId *id_out)
{
	uint64_t	rng = graph->rng_state;
	int			level = RandomLevel(&rng, graph->params.m);
	VpNodeId	id = graph->staged;
	VpGraphNode *info;
	float	   *vec;
	int			lc;

	if (id >= graph->params.capacity ||
		(uint32_t) level > graph->pool_slots - graph->pool_used)
		return VP_GRAPH_FULL;
	graph->rng_state = rng;

	info = NodeInfo(graph, id);
	info->label = label;
	info->key = key;
	info->pool_start = graph->pool_used;
	info->level = (uint8_t) level;
	info->unused8 = 0;
	info->unused = 0;
	*NodeFlags(graph, id) = 0;
	info->dup_next = VP_INVALID_NODE;
	graph->pool_used += (uint32_t) level;
	vec = NodeVector(graph, id);
	if (graph->params.metric == VP_METRIC_COSINE)
		NormalizeInto(vec, vector, graph->params.dims);
	else
		memcpy(vec, vector, graph->vector_bytes);
	for (lc = 0; lc <= level; lc++)
		NodeLinks(graph, id, lc)[0] = 0;
	graph->staged = id + 1;
	*id_out = id;
	return VP_GRAPH_INSERTED;
}

/*
 * JoinDuplicates
 *		Make node id, whose vector equals twin's, a member of twin's
 *		duplicate chain instead of linking it into the graph: many
 *		identical vectors would otherwise crowd each other out of their
 *		neighbour lists and become unreachable.  The node keeps no links.
 */
static void
JoinDuplicates(VpGraph *graph, VpNodeId id, VpNodeId twin, uint8_t *locks)
{
	VpGraphNode *info = NodeInfo(graph, id);
	VpGraphNode *twin_info = NodeInfo(graph, twin);

	info->level = 0;
	NodeLinks(graph, id, 0)[0] = 0;
	NodeLock(locks, twin);
	info->dup_next = twin_info->dup_next;
	StoreRelease(&twin_info->dup_next, id);
	SetFlags(NodeFlags(graph, twin), NODE_HAS_DUPS);
	NodeUnlock(locks, twin);
}

/*
 * LinkNode
 *		Link staged node id into the graph: descend from the entry point,
 *		search each level the node shares with the graph, choose its
 *		neighbours, then add it to theirs.  bound limits the ids searches
 *		trust.  With locks NULL this is the only writer, and the node
 *		count is published between the node's own lists and the reverse
 *		links (see the file header); with locks, other threads link other
 *		nodes at the same time, each list change under its node's lock, and
 *		the caller publishes the count.  Returns 1 if the node joined a
 *		duplicate chain, else 0.
 */
static int
LinkNode(VpGraph *graph, VpGraphScratch *scratch, VpNodeId id, int32_t bound,
		 uint8_t *locks)
{
	VpGraphNode *info = NodeInfo(graph, id);
	const float *vec = NodeVector(graph, id);
	int			level = info->level;
	int			stride = 1 + 2 * graph->params.m;
	VpNodeId	ep = LoadAcquire(&graph->entry_point);
	int			ep_level = NodeInfo(graph, ep)->level;
	int			top;
	int			nfound;
	int			lc;
	Candidate	cur;

	/* descend greedily to the new node's top level */
	cur.id = ep;
	cur.dist = Distance(graph, vec, NodeVector(graph, ep));
	for (lc = ep_level; lc > level; lc--)
		cur = GreedyClosest(graph, &scratch->ndist, vec, cur, lc, bound, NULL);

	/* search and choose neighbours on each level shared with the graph */
	top = level < ep_level ? level : ep_level;
	scratch->found[0] = cur;
	nfound = 1;
	for (lc = top; lc >= 0; lc--)
	{
		int32_t    *links = NodeLinks(graph, id, lc);
		int			k;
		int			i;

		nfound = SearchLayer(graph, scratch, vec, scratch->found, nfound,
							 graph->params.ef_construction, lc, 0, bound,
							 NULL);
		if (lc == 0 && nfound > 0 &&
			memcmp(NodeVector(graph, scratch->found[0].id), vec,
				   graph->vector_bytes) == 0)
		{
			JoinDuplicates(graph, id, scratch->found[0].id, locks);
			return 1;
		}
		k = SelectNeighbors(graph, scratch, scratch->found, nfound,
							MaxLinks(graph, lc), NULL, VP_INVALID_NODE);
		for (i = 0; i < k; i++)
			links[1 + i] = scratch->selected[i];
		links[0] = k;
		if (scratch->memo != NULL)
			memcpy(ListVerdicts(graph, scratch->memo, id, lc),
				   scratch->verdicts, (size_t) k);
		/* keep a copy: once linked back to, others may change the lists */
		memcpy(&scratch->own_links[lc * stride], links,
			   sizeof(int32_t) * (size_t) (1 + k));
	}

	/* publish the node (single writer), then link back to it */
	if (locks == NULL)
		StoreRelease(&graph->count, id + 1);
	for (lc = top; lc >= 0; lc--)
	{
		const int32_t *links = &scratch->own_links[lc * stride];
		int			i;

		for (i = 0; i < links[0]; i++)
		{
			VpNodeId	nb = links[1 + i];

			NodeLock(locks, nb);
			AddReverseLink(graph, scratch, nb, lc, id,
						   Distance(graph, vec, NodeVector(graph, nb)));
			NodeUnlock(locks, nb);
		}
	}

	/* the entry point moves last */
	if (level > ep_level)
	{
		if (locks == NULL)
			StoreRelease(&graph->entry_point, id);
		else
		{
			/* another thread may have raised it meanwhile */
			VpNodeId	now = LoadAcquire(&graph->entry_point);

			while (level > NodeInfo(graph, now)->level &&
				   !__atomic_compare_exchange_n(&graph->entry_point, &now, id,
												0, __ATOMIC_ACQ_REL,
												__ATOMIC_ACQUIRE))
				;
		}
	}
	return 0;
}

/*
 * VpGraphInsert
 *		Insert one vector as a new node (see vpgraph.h for the contract).
 *		The caller must exclude other writers; readers may run
 *		concurrently (see the file header for the publication order).
 */
VpGraphInsertResult
VpGraphInsert(VpGraph *graph, VpGraphScratch *scratch, const float *vector,
			  uint64_t label, uint64_t key, VpNodeId *node_out)
{
	VpGraphInsertResult result;
	VpNodeId	id;
	int			level;

	if (node_out != NULL)
		*node_out = VP_INVALID_NODE;
	if (!GraphIsValid(graph) || vector == NULL ||
		graph->staged != graph->count ||
		!VpGraphScratchFits(scratch, graph, graph->params.ef_construction))
		return VP_GRAPH_INVALID;

	result = StageNode(graph, vector, label, key, &id);
	if (result != VP_GRAPH_INSERTED)
		return result;
	level = NodeInfo(graph, id)->level;

	if (graph->entry_point == VP_INVALID_NODE)
	{
		StoreRelease(&graph->count, id + 1);
		StoreRelease(&graph->entry_point, id);
	}
	else if (LinkNode(graph, scratch, id, id, NULL))
	{
		/* a duplicate has no links: give back its (last) pool slots */
		graph->pool_used -= (uint32_t) level;
		StoreRelease(&graph->count, id + 1);
	}
	if (node_out != NULL)
		*node_out = id;
	return VP_GRAPH_INSERTED;
}

/*
 * VpGraphStage
 *		Bulk build, step one: write a node without linking it (see
 *		vpgraph.h).
 */
VpGraphInsertResult
VpGraphStage(VpGraph *graph, const float *vector, uint64_t label,
			 uint64_t key)
{
	VpNodeId	id;

	if (!GraphIsValid(graph) || vector == NULL)
		return VP_GRAPH_INVALID;
	return StageNode(graph, vector, label, key, &id);
}

int32_t
VpGraphStagedCount(const VpGraph *graph)
{
	return GraphIsValid(graph) ? graph->staged : 0;
}

/* State shared by the threads of one VpGraphLinkStaged call */
typedef struct LinkShared
{
	VpGraph    *graph;
	uint8_t    *locks;
	int32_t		next;			/* next node to link (atomic) */
	int32_t		end;			/* staged count */
	int32_t		linked;			/* nodes done (atomic) */
	int			stop;			/* set by the calling thread (atomic) */
} LinkShared;

typedef struct LinkWorker
{
	LinkShared *shared;
	VpGraphScratch *scratch;
	pthread_t	thread;
} LinkWorker;

/*
 * LinkLoop
 *		Take staged nodes in id order and link them until none is left or
 *		the caller asks to stop.  A node taken is always finished.
 */
static void
LinkLoop(LinkWorker *worker, int (*poll) (void *arg, int32_t linked),
		 void *arg)
{
	LinkShared *sh = worker->shared;

	for (;;)
	{
		VpNodeId	id;

		if (poll != NULL &&
			poll(arg, __atomic_load_n(&sh->linked, __ATOMIC_RELAXED)))
			__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			break;
		id = __atomic_fetch_add(&sh->next, 1, __ATOMIC_ACQ_REL);
		if (id >= sh->end)
			break;
		LinkNode(sh->graph, worker->scratch, id, sh->end, sh->locks);
		__atomic_fetch_add(&sh->linked, 1, __ATOMIC_RELAXED);
	}
}

static void *
LinkThreadMain(void *arg)
{
	LinkLoop((LinkWorker *) arg, NULL, NULL);
	return NULL;
}

/*
 * VpGraphLinkStaged
 *		Bulk build, step two: link the staged nodes, with nthreads threads
 *		(the calling one included) each searching with its own scratch.
 *		No PostgreSQL code runs in the extra threads, and every signal is
 *		blocked in them, so only the calling thread sees interrupts: poll
 *		is called there between nodes.
 */
int
VpGraphLinkStaged(VpGraph *graph, VpGraphScratch **scratches, int nthreads,
				  int (*poll) (void *arg, int32_t linked), void *arg,
				  uint8_t *locks)
{
	LinkShared	sh;
	LinkWorker	workers[VP_GRAPH_MAX_THREADS];
	sigset_t	all;
	sigset_t	old;
	int			started = 1;
	int			i;
	int32_t		done;
	uint8_t    *memo;

	if (!GraphIsValid(graph) || scratches == NULL || nthreads < 1 ||
		nthreads > VP_GRAPH_MAX_THREADS || (nthreads > 1 && locks == NULL))
		return -1;
	for (i = 0; i < nthreads; i++)
		if (!VpGraphScratchFits(scratches[i], graph,
								graph->params.ef_construction))
			return -1;
	if (graph->count == graph->staged)
		return 1;

	/* the very first node becomes the entry point */
	if (graph->entry_point == VP_INVALID_NODE)
	{
		StoreRelease(&graph->entry_point, graph->count);
		StoreRelease(&graph->count, graph->count + 1);
	}

	/*
	 * The verdict memo (see ListVerdicts): all unknown to start with, so
	 * that lists linked before, or in an earlier call, are re-selected in
	 * full once.  Without memory for it the build is only slower.
	 */
	memo = calloc(MemoBytes(graph), 1);
	for (i = 0; i < nthreads; i++)
		scratches[i]->memo = memo;

	memset(&sh, 0, sizeof(sh));
	sh.graph = graph;
	sh.locks = nthreads > 1 ? locks : NULL;
	sh.next = graph->count;
	sh.end = graph->staged;
	if (nthreads > 1)
		memset(locks, 0, (size_t) graph->staged);

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 1; i < nthreads; i++)
	{
		workers[i].shared = &sh;
		workers[i].scratch = scratches[i];
		if (pthread_create(&workers[i].thread, NULL, LinkThreadMain,
						   &workers[i]) != 0)
			break;
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	workers[0].shared = &sh;
	workers[0].scratch = scratches[0];
	LinkLoop(&workers[0], poll, arg);
	for (i = 1; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	for (i = 0; i < nthreads; i++)
		scratches[i]->memo = NULL;
	free(memo);

	/* every node taken was finished, and they were taken in id order */
	done = sh.next < sh.end ? sh.next : sh.end;
	StoreRelease(&graph->count, done);
	return done == graph->staged ? 1 : 0;
}

/*
 * VpGraphSearch
 *		k-NN search (see vpgraph.h).  Greedy descent from the entry point
 *		through the upper levels, then an ef-wide best-first search of
 *		level 0 that expands deleted nodes but returns only live ones.
 *		Allocates nothing; writes only scratch and hits.
 */
int
VpGraphSearch(const VpGraph *graph, VpGraphScratch *scratch,
			  const float *query, int ef, VpSearchHit *hits,
			  void (*interrupt_check) (void))
{
	int32_t		count;
	VpNodeId	ep;
	const float *q = query;
	Candidate	cur;
	int			lc;
	int			n;
	int			i;

	if (query == NULL || hits == NULL ||
		!VpGraphScratchFits(scratch, graph, ef))
		return -1;

	count = LoadAcquire(&graph->count);
	ep = LoadAcquire(&graph->entry_point);
	if (count == 0 || ep < 0 || ep >= count)
		return 0;

	if (graph->params.metric == VP_METRIC_COSINE)
	{
		NormalizeInto(scratch->query, query, graph->params.dims);
		q = scratch->query;
	}

	cur.id = ep;
	cur.dist = Distance(graph, q, NodeVector(graph, ep));
	CountDistance(&scratch->ndist, interrupt_check);
	for (lc = NodeInfo(graph, ep)->level; lc > 0; lc--)
		cur = GreedyClosest(graph, &scratch->ndist, q, cur, lc, count,
							interrupt_check);

	n = SearchLayer(graph, scratch, q, &cur, 1, ef, 0, 1, count,
					interrupt_check);
	for (i = 0; i < n; i++)
	{
		hits[i].node = scratch->found[i].id;
		hits[i].distance = scratch->found[i].dist;
	}
	return n;
}

/*
 * VpGraphMarkDeleted
 *		Flag a node so that searches skip it in their results; it stays in
 *		the graph as a stepping stone (also when it is the entry point).
 *		Counted once however often it is marked.  Single writer, like
 *		insert.
 */
void
VpGraphMarkDeleted(VpGraph *graph, VpNodeId node)
{
	if (!NodeIsValid(graph, node) ||
		(LoadFlags(NodeFlags(graph, node)) & NODE_DELETED))
		return;
	SetFlags(NodeFlags(graph, node), NODE_DELETED);
	graph->deleted_count++;
}


/* ----------------------------------------------------------------------
 * Resumable search
 * ----------------------------------------------------------------------
 */

/*
 * The state of one resumable search.  Three heaps: cand holds the
 * discovered nodes not yet expanded (closest on top), window the best ef
 * discovered live nodes not yet returned (farthest on top), rest the other
 * discovered live nodes (closest on top), from which the next window is
 * refilled.  A node found farther than a full window's farthest can
 * neither be expanded nor returned in this window (the window's bound only
 * shrinks), so it is parked unsorted in later, without touching its
 * bookkeeping; most searches end after one window and never sort them.
 * Arrays grow on demand; max_visits bounds them.
 */
struct VpGraphIter
{
	VpAllocator allocator;
	int			ef;
	int			strict;			/* skip hits closer than the last one */
	int			started;
	int64_t		windows;		/* windows emitted so far */
	float		last_dist;		/* distance of the last hit returned */
	int64_t		visits;			/* distance evaluations so far */
	int64_t		max_visits;
	uint32_t	ndist;			/* for interrupt checks */
	int32_t		nodes;			/* nodes the visited bitmap covers */
	uint8_t    *visited;		/* one bit per node */
	float	   *query;			/* dims floats, normalised for cosine */
	Candidate  *cand;
	int			ncand;
	int			cand_cap;
	Candidate  *window;			/* ef + 1 entries */
	int			nwindow;
	Candidate  *rest;
	int			nrest;
	int			rest_cap;
	Candidate  *later;			/* discovered while the window was full and
								 * not closer than its farthest: unsorted,
								 * merged into cand and rest only if another
								 * window is asked for */
	int			nlater;
	int			later_cap;
};

/*
 * Make room for one more entry in a growable heap array.  Returns 0 when
 * the allocator cannot provide it.
 */
static int
IterReserve(VpGraphIter *iter, Candidate **heap, int n, int *cap)
{
	Candidate  *bigger;
	int			newcap;

	if (n < *cap)
		return 1;
	if (*cap > (1 << 29))
		return 0;
	newcap = *cap * 2;
	bigger = iter->allocator.alloc(iter->allocator.ctx,
								   sizeof(Candidate) * (size_t) newcap);
	if (bigger == NULL)
		return 0;
	memcpy(bigger, *heap, sizeof(Candidate) * (size_t) n);
	if (iter->allocator.free)
		iter->allocator.free(iter->allocator.ctx, *heap);
	*heap = bigger;
	*cap = newcap;
	return 1;
}

/*
 * Offer one discovered live node to the window, spilling to rest.
 */
static void
IterOffer(VpGraphIter *iter, Candidate c)
{
	if (iter->nwindow < iter->ef)
	{
		MaxHeapPush(iter->window, &iter->nwindow, c);
		return;
	}
	if (c.dist < iter->window[0].dist)
	{
		Candidate	out = MaxHeapPop(iter->window, &iter->nwindow);

		MaxHeapPush(iter->window, &iter->nwindow, c);
		c = out;
	}
	if (IterReserve(iter, &iter->rest, iter->nrest, &iter->rest_cap))
		MinHeapPush(iter->rest, &iter->nrest, c);
}

/*
 * A node was just discovered at distance d: queue it for expansion and
 * offer it (if live) and its live duplicates as hits.
 */
static void
IterDiscover(VpGraphIter *iter, const VpGraph *graph, VpNodeId id, float d,
			 int32_t count)
{
	Candidate	c;
	VpNodeId	dup;
	uint8_t		flags = LoadFlags(NodeFlags(graph, id));

	c.dist = d;
	c.id = id;
	if (IterReserve(iter, &iter->cand, iter->ncand, &iter->cand_cap))
		MinHeapPush(iter->cand, &iter->ncand, c);
	if (!(flags & NODE_DELETED))
		IterOffer(iter, c);
	if (!(flags & NODE_HAS_DUPS))
		return;
	for (dup = LoadAcquire(&NodeInfo(graph, id)->dup_next);
		 dup >= 0 && dup < count && dup < iter->nodes;
		 dup = LoadAcquire(&NodeInfo(graph, dup)->dup_next))
	{
		if (LoadFlags(NodeFlags(graph, dup)) & NODE_DELETED)
			continue;
		c.id = dup;
		IterOffer(iter, c);
	}
}

/*
 * Park a node that cannot matter to the current window (see VpGraphIter).
 * Without memory for it, it is dropped, as IterDiscover drops a candidate
 * it cannot queue: the search stays correct, only less thorough.
 */
static void
IterPark(VpGraphIter *iter, VpNodeId id, float d)
{
	if (!IterReserve(iter, &iter->later, iter->nlater, &iter->later_cap))
		return;
	iter->later[iter->nlater].id = id;
	iter->later[iter->nlater].dist = d;
	iter->nlater++;
}

/*
 * Before a further window: give the parked nodes their place in cand and
 * rest, as if they had been discovered normally.
 */
static void
IterUnpark(VpGraphIter *iter, const VpGraph *graph, int32_t count)
{
	int			i;

	for (i = 0; i < iter->nlater; i++)
		IterDiscover(iter, graph, iter->later[i].id, iter->later[i].dist,
					 count);
	iter->nlater = 0;
}

/* how many neighbours ahead IterExpand fetches whole vectors */
#define ITER_PREFETCH_AHEAD 3

/*
 * Best-first expansion of level 0 until the window holds ef hits that no
 * unexpanded node can beat, or the visit bound is reached.  The unvisited
 * neighbours of a node are gathered first so that their vectors can be
 * fetched from memory ahead of the distance computations, which is where a
 * search over a graph larger than the CPU caches spends its time.
 */
static void
IterExpand(VpGraphIter *iter, const VpGraph *graph, int32_t count,
		   void (*interrupt_check) (void))
{
	VpNodeId	fresh[2 * VP_GRAPH_MAX_M];
	int			i;

	while (iter->ncand > 0 && iter->visits < iter->max_visits)
	{
		Candidate	c;
		const int32_t *links;
		int			nlinks;
		int			nfresh = 0;

		if (iter->nwindow >= iter->ef && iter->cand[0].dist > iter->window[0].dist)
			break;
		c = MinHeapPop(iter->cand, &iter->ncand);
		links = NodeLinks(graph, c.id, 0);
		if (iter->ncand > 0)
			Prefetch(NodeLinks(graph, iter->cand[0].id, 0));
		nlinks = LoadAcquire(&links[0]);
		if (nlinks > MaxLinks(graph, 0))
			nlinks = MaxLinks(graph, 0);
		for (i = 0; i < nlinks; i++)
		{
			VpNodeId	id = LoadAcquire(&links[1 + i]);

			if (id < 0 || id >= count ||
				(iter->visited[id >> 3] & (1 << (id & 7))))
				continue;
			iter->visited[id >> 3] |= (uint8_t) (1 << (id & 7));
			fresh[nfresh++] = id;
			PrefetchVector(graph, id, 128);
		}
		for (i = 0; i < nfresh; i++)
		{
			VpNodeId	id = fresh[i];
			float		d;

			/* whole vectors, a few ahead of the one being compared */
			if (i == 0)
			{
				int			j;

				for (j = 1; j < ITER_PREFETCH_AHEAD && j < nfresh; j++)
					PrefetchVector(graph, fresh[j], UINT32_MAX);
			}
			if (i + ITER_PREFETCH_AHEAD < nfresh)
				PrefetchVector(graph, fresh[i + ITER_PREFETCH_AHEAD], UINT32_MAX);
			d = Distance(graph, iter->query, NodeVector(graph, id));
			iter->visits++;
			CountDistance(&iter->ndist, interrupt_check);
			if (iter->nwindow >= iter->ef && d >= iter->window[0].dist)
				IterPark(iter, id, d);
			else
			{
				/* likely to be expanded soon */
				Prefetch(NodeLinks(graph, id, 0));
				IterDiscover(iter, graph, id, d, count);
			}
		}
	}
}

/*
 * Move the window into hits in ascending order, dropping nodes deleted
 * since they were found and (strict order) hits closer than the last one
 * returned.  Returns the window's size; *emitted gets the hits kept.
 */
static int
IterEmit(VpGraphIter *iter, const VpGraph *graph, VpSearchHit *hits,
		 int *emitted)
{
	int			n = iter->nwindow;
	int			kept = 0;
	int			i;

	for (i = n - 1; i >= 0; i--)
	{
		Candidate	c = MaxHeapPop(iter->window, &iter->nwindow);

		hits[i].node = c.id;
		hits[i].distance = c.dist;
	}
	for (i = 0; i < n; i++)
	{
		if ((LoadFlags(NodeFlags(graph, hits[i].node)) & NODE_DELETED) ||
			(iter->strict && hits[i].distance < iter->last_dist))
			continue;
		hits[kept++] = hits[i];
	}
	if (kept > 0)
		iter->last_dist = hits[kept - 1].distance;
	*emitted = kept;
	return n;
}

/*
 * VpGraphIterCreate
 *		Set up a resumable search for query (copied).  NULL on bad input or
 *		if the allocator fails.
 */
VpGraphIter *
VpGraphIterCreate(const VpAllocator *allocator, const VpGraph *graph,
				  const float *query, int ef, int strict_order,
				  int64_t max_visits)
{
	VpGraphIter *iter;
	int32_t		count;
	int			dims;
	size_t		bitmap_bytes;

	if (allocator == NULL || allocator->alloc == NULL ||
		!GraphIsValid(graph) || query == NULL || ef < 1 ||
		ef > VP_GRAPH_MAX_EF)
		return NULL;
	VpDistanceInit();
	count = LoadAcquire(&graph->count);
	dims = graph->params.dims;
	bitmap_bytes = ((size_t) count + 7) / 8 + 1;

	iter = allocator->alloc(allocator->ctx, sizeof(VpGraphIter));
	if (iter == NULL)
		return NULL;
	memset(iter, 0, sizeof(VpGraphIter));
	iter->allocator = *allocator;
	iter->ef = ef;
	iter->strict = strict_order;
	iter->last_dist = -INFINITY;	/* inner-product distances are negative */
	iter->max_visits = max_visits > 0 ? max_visits : INT64_MAX;
	iter->nodes = count;
	iter->cand_cap = 2 * ef + 64;
	iter->rest_cap = 2 * ef + 64;
	iter->later_cap = 4 * ef + 64;
	iter->visited = allocator->alloc(allocator->ctx, bitmap_bytes);
	iter->query = allocator->alloc(allocator->ctx, sizeof(float) * (size_t) dims);
	iter->cand = allocator->alloc(allocator->ctx, sizeof(Candidate) * (size_t) iter->cand_cap);
	iter->rest = allocator->alloc(allocator->ctx, sizeof(Candidate) * (size_t) iter->rest_cap);
	iter->window = allocator->alloc(allocator->ctx, sizeof(Candidate) * (size_t) (ef + 1));
	iter->later = allocator->alloc(allocator->ctx, sizeof(Candidate) * (size_t) iter->later_cap);
	if (iter->visited == NULL || iter->query == NULL || iter->cand == NULL ||
		iter->rest == NULL || iter->window == NULL || iter->later == NULL)
	{
		VpGraphIterDestroy(iter);
		return NULL;
	}
	memset(iter->visited, 0, bitmap_bytes);
	if (graph->params.metric == VP_METRIC_COSINE)
		NormalizeInto(iter->query, query, dims);
	else
		memcpy(iter->query, query, sizeof(float) * (size_t) dims);
	return iter;
}

/*
 * VpGraphIterNext
 *		The next window of hits (see vpgraph.h); hits needs room for ef.
 */
int
VpGraphIterNext(VpGraphIter *iter, const VpGraph *graph, VpSearchHit *hits,
				void (*interrupt_check) (void))
{
	int32_t		count;
	int			n;
	int			emitted;

	if (iter == NULL || hits == NULL || !GraphIsValid(graph) ||
		LoadAcquire(&graph->count) < iter->nodes)
		return -1;
	count = iter->nodes;

	if (!iter->started)
	{
		VpNodeId	ep = LoadAcquire(&graph->entry_point);
		Candidate	cur;
		int			lc;

		iter->started = 1;
		if (count == 0 || ep < 0 || ep >= count)
			return 0;
		cur.id = ep;
		cur.dist = Distance(graph, iter->query, NodeVector(graph, ep));
		iter->visits++;
		for (lc = NodeInfo(graph, ep)->level; lc > 0; lc--)
			cur = GreedyClosest(graph, &iter->ndist, iter->query, cur, lc,
								count, interrupt_check);
		iter->visited[cur.id >> 3] |= (uint8_t) (1 << (cur.id & 7));
		IterDiscover(iter, graph, cur.id, cur.dist, count);
	}

	for (;;)
	{
		if (iter->windows > 0)
		{
			/*
			 * Start the next window from what earlier ones left: the
			 * closest of rest, then the parked nodes, offered against it.
			 */
			while (iter->nrest > 0 && iter->nwindow < iter->ef)
				MaxHeapPush(iter->window, &iter->nwindow,
							MinHeapPop(iter->rest, &iter->nrest));
			IterUnpark(iter, graph, count);
		}
		IterExpand(iter, graph, count, interrupt_check);
		n = IterEmit(iter, graph, hits, &emitted);
		iter->windows++;
		/* a window of only skipped hits is not the end: go on */
		if (emitted > 0 || n == 0)
			return emitted;
	}
}

/*
 * VpGraphIterVisits
 *		Distance evaluations so far (what max_visits bounds).
 */
int64_t
VpGraphIterVisits(const VpGraphIter *iter)
{
	return iter ? iter->visits : 0;
}

/*
 * VpGraphIterDestroy
 *		Free the iterator through its allocator.
 */
void
VpGraphIterDestroy(VpGraphIter *iter)
{
	void		(*release) (void *, void *);
	void	   *ctx;

	if (iter == NULL)
		return;
	release = iter->allocator.free;
	ctx = iter->allocator.ctx;
	if (release == NULL)
		return;
	if (iter->visited)
		release(ctx, iter->visited);
	if (iter->query)
		release(ctx, iter->query);
	if (iter->cand)
		release(ctx, iter->cand);
	if (iter->rest)
		release(ctx, iter->rest);
	if (iter->window)
		release(ctx, iter->window);
	if (iter->later)
		release(ctx, iter->later);
	release(ctx, iter);
}
