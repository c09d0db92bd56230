/*-------------------------------------------------------------------------
 *
 * vpgraph_internal.h
 *	  The graph region's layout and the helpers shared by the files of the
 *	  graph module (vpgraph.c, vpgraphbuild.c, vpgraphsearch.c,
 *	  vpgraphrepair.c).  Nothing outside those files includes this.
 *
 * Region layout.  The caller hands us one block of memory; everything is
 * found from its start by byte offsets kept in the header, never by raw
 * pointers, so the block can live in shared memory mapped at a different
 * address in every process.  In order, each array starting on a 64-byte
 * boundary:
 *
 *	 VpGraph header		  parameters, offsets, counters, entry point, RNG
 *	 codes				  capacity x code_bytes (fixed-size kinds), or an
 *						  arena of arena_bytes (SPARSE)
 *	 code offsets		  SPARSE only: capacity x uint64 arena offsets
 *	 node info			  capacity x VpGraphNode: label, key, block, level,
 *						  first slot in the upper-level pool, next duplicate
 *	 node flags			  capacity x uint8: deleted, duplicates, linked,
 *						  claimed, gone, and the node's spin lock
 *	 level-0 lists		  capacity x int32[1 + 2m]: count, then ids
 *	 upper-level pool	  pool_slots x int32[1 + m]: count, then ids; a
 *						  node of level L owns slots pool_start ..
 *						  pool_start + L - 1 (its levels 1..L)
 *
 * IDENTIFICATION
 *	  src/vpgraph_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPGRAPH_INTERNAL_H
#define VPGRAPH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vpcodes.h"
#include "vpgraph.h"

#define VP_GRAPH_MAGIC		0x56504752	/* "VPGR" */
#define VP_GRAPH_VERSION	3
#define LAYOUT_ALIGN		64

#if defined(__GNUC__)
#define LoadAcquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define StoreRelease(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define Prefetch(p)			__builtin_prefetch((p), 0, 3)
#define LoadFlags(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define SetFlags(p, f)		__atomic_fetch_or((p), (uint8_t) (f), __ATOMIC_ACQ_REL)
#define ClearFlags(p, f)	__atomic_fetch_and((p), (uint8_t) ~(f), __ATOMIC_ACQ_REL)
#else
#error "the graph module needs GCC-style atomics"
#endif

/* Bits of a node's flags byte */
#define NODE_DELETED		0x01	/* traversed but never returned */
#define NODE_HAS_DUPS		0x02	/* dup_next may lead to duplicates */
#define NODE_LINKED			0x04	/* its lists are in the graph */
#define NODE_CLAIMED		0x08	/* a linker took it (set before LINKED) */
#define NODE_GONE			0x10	/* no code (its item vanished): skipped by
									 * searches, never returned */
#define NODE_LOCK			0x80	/* spin lock of its lists and dup chain */

/* The flags a snapshot image keeps */
#define NODE_PERSISTENT_FLAGS	(NODE_DELETED | NODE_HAS_DUPS | NODE_LINKED | NODE_GONE)

/* Per-node bookkeeping; 32 bytes */
typedef struct VpGraphNode
{
	uint64_t	label;			/* returned with search hits (heap TID) */
	uint64_t	key;			/* the record the node came from */
	uint32_t	block;			/* where that record starts */
	uint32_t	pool_start;		/* first upper-level slot (levels 1..level) */
	VpNodeId	dup_next;		/* next node with an identical code, or
								 * VP_INVALID_NODE; duplicates have no links */
	uint8_t		level;			/* top level, 0..VP_GRAPH_MAX_LEVEL-1 */
	uint8_t		unused[3];
} VpGraphNode;

/* The header at the start of the region */
struct VpGraph
{
	uint32_t	magic;			/* VP_GRAPH_MAGIC */
	uint32_t	version;		/* VP_GRAPH_VERSION */
	VpGraphParams params;		/* as laid out */
	uint64_t	region_bytes;	/* VpGraphRegionSize(&params) */
	uint64_t	codes_off;		/* byte offsets from the region's start */
	uint64_t	offsets_off;	/* SPARSE: per-node arena offsets; else 0 */
	uint64_t	nodes_off;
	uint64_t	flags_off;
	uint64_t	level0_off;
	uint64_t	pool_off;
	uint64_t	arena_used;		/* SPARSE: arena bytes handed out */
	uint32_t	code_bytes;		/* bytes per code (0 for SPARSE) */
	uint32_t	level0_stride;	/* bytes per level-0 list: (1 + 2m) int32 */
	uint32_t	upper_stride;	/* bytes per pool slot: (1 + m) int32 */
	uint32_t	pool_slots;		/* slots in the upper-level pool */
	uint32_t	pool_used;		/* slots handed out */
	int32_t		count;			/* staged nodes (ids below are valid);
								 * raised with release under stage_lock */
	int32_t		deleted_count;	/* nodes marked deleted (atomic) */
	VpNodeId	entry_point;	/* top-level node (atomic) */
	uint64_t	rng_state;		/* splitmix64 state for levels */
	uint8_t		stage_lock;		/* serialises staging (atomic flag) */
	uint8_t		unused[7];
};

/* One entry of a candidate or result list */
typedef struct Candidate
{
	float		dist;
	VpNodeId	id;
} Candidate;

/*
 * A set of visited node ids.  Three forms: epoch stamps over the whole
 * capacity (bulk builds: the fastest), a bitmap over the nodes a search
 * can meet (one scan), or an open-addressing hash of ids with epoch stamps
 * (single inserts: memory in proportion to the nodes met, not to the
 * graph).
 */
typedef enum VisitedMode
{
	VISITED_STAMPS,
	VISITED_BITMAP,
	VISITED_HASH
} VisitedMode;

typedef struct VisitedSet
{
	VisitedMode mode;
	uint32_t	epoch;			/* STAMPS, HASH: current mark */
	uint32_t   *stamps;			/* STAMPS: capacity stamps */
	int32_t		nstamps;
	uint8_t    *bits;			/* BITMAP: one bit per node */
	int32_t		nbits;
	uint64_t   *slots;			/* HASH: (epoch << 32) | (id + 1), 0 empty */
	uint32_t	mask;			/* HASH: slots - 1 */
	uint32_t	used;			/* HASH: slots taken in this epoch */
} VisitedSet;

/* Per-searcher working memory (one allocation, carved up) */
struct VpGraphScratch
{
	VpAllocator allocator;		/* who frees us */
	int32_t		dims;			/* graph this scratch was made for: */
	VpCodeKind	kind;
	int32_t		capacity;
	int			max_ef;			/* largest ef we have room for */
	int			max_m;			/* largest m we have room for */
	uint32_t	ndist;			/* distance evaluations, for interrupts */
	VisitedSet	visited;
	float	   *qbuf;			/* a query's floats (dims, or nnz) */
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
	Candidate  *expansion;		/* one node's fresh neighbours (2m) */
	uint8_t    *memo;			/* during a bulk build: the verdict memo
								 * (see ListVerdicts), else NULL */
};

/* ----------------------------------------------------------------------
 * Node access
 * ----------------------------------------------------------------------
 */

static inline int
GraphIsValid(const VpGraph *graph)
{
	return graph != NULL && graph->magic == VP_GRAPH_MAGIC &&
		graph->version == VP_GRAPH_VERSION;
}

static inline VpGraphNode *
NodeInfo(const VpGraph *graph, VpNodeId id)
{
	return (VpGraphNode *) ((char *) graph + graph->nodes_off) + id;
}

/* A node's flags byte (NODE_*): a dense array a search tests per node */
static inline uint8_t *
NodeFlags(const VpGraph *graph, VpNodeId id)
{
	return (uint8_t *) graph + graph->flags_off + id;
}

/* The stored code of a node */
static inline const void *
NodeCode(const VpGraph *graph, VpNodeId id)
{
	if (graph->code_bytes != 0)
		return (const char *) graph + graph->codes_off +
			(size_t) id * graph->code_bytes;
	return (const char *) graph + graph->codes_off +
		((const uint64_t *) ((const char *) graph + graph->offsets_off))[id];
}

/*
 * The neighbour list of a node on one level: element 0 is the count,
 * then the ids.  NULL if the node does not reach that level.
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

/* List capacity on a level: 2m on level 0, m above */
static inline int
MaxLinks(const VpGraph *graph, int level)
{
	return level == 0 ? 2 * graph->params.m : graph->params.m;
}

/* Whether node's list on level names id */
static inline int
ListHas(const VpGraph *graph, VpNodeId node, int level, VpNodeId id)
{
	const int32_t *links = NodeLinks(graph, node, level);
	int			n = LoadAcquire(&links[0]);
	int			i;

	if (n > MaxLinks(graph, level))
		n = MaxLinks(graph, level);
	for (i = 0; i < n; i++)
		if (LoadAcquire(&links[1 + i]) == id)
			return 1;
	return 0;
}

/* Distance between two stored nodes */
static inline float
NodeDistance(const VpGraph *graph, VpNodeId a, VpNodeId b)
{
	return VpCodeDistance(graph->params.codes, graph->params.metric,
						  graph->params.dims, NodeCode(graph, a),
						  NodeCode(graph, b));
}

/* Whether id names a published node */
static inline int
NodeIsValid(const VpGraph *graph, VpNodeId node)
{
	return GraphIsValid(graph) && node >= 0 &&
		node < LoadAcquire(&graph->count);
}

/*
 * Per-node spin lock (a bit of the flags byte): a writer changing a node's
 * lists or duplicate chain holds it.  Held only for a few list operations,
 * with no allocation and no callback inside.
 */
void		GraphNodeLock(VpGraph *graph, VpNodeId id);
void		GraphStageLock(const VpGraph *graph);
void		GraphStageUnlock(const VpGraph *graph);
int			GraphAllocArena(VpGraph *graph, VpNodeId node, size_t bytes);

static inline void
GraphNodeUnlock(VpGraph *graph, VpNodeId id)
{
	ClearFlags(NodeFlags(graph, id), NODE_LOCK);
}

/* Account for one distance evaluation; every 256 offer an interrupt check */
static inline void
CountDistance(uint32_t *ndist, void (*interrupt_check) (void))
{
	if ((++*ndist & 255) == 0 && interrupt_check != NULL)
		interrupt_check();
}

/* ----------------------------------------------------------------------
 * Binary heaps of candidates
 * ----------------------------------------------------------------------
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

/* ----------------------------------------------------------------------
 * Visited sets (vpgraph.c)
 * ----------------------------------------------------------------------
 */
size_t		VisitedHashBytes(int max_ef, int m);
void		VisitedBegin(VisitedSet *set);
int			VisitedHashTestAndSet(VisitedSet *set, VpNodeId id);

/* Mark id visited; returns whether it already was */
static inline int
VisitedTestAndSet(VisitedSet *set, VpNodeId id)
{
	switch (set->mode)
	{
		case VISITED_STAMPS:
			if (set->stamps[id] == set->epoch)
				return 1;
			set->stamps[id] = set->epoch;
			return 0;
		case VISITED_BITMAP:
			if (set->bits[id >> 3] & (1 << (id & 7)))
				return 1;
			set->bits[id >> 3] |= (uint8_t) (1 << (id & 7));
			return 0;
		case VISITED_HASH:
			return VisitedHashTestAndSet(set, id);
	}
	return 0;
}

/* ----------------------------------------------------------------------
 * Shared by the search and build files (vpgraphsearch.c)
 * ----------------------------------------------------------------------
 */
int			ExpandNode(const VpGraph *graph, const VpQuery *q, VpNodeId node,
					   int level, int32_t bound, VisitedSet *visited,
					   Candidate *out, uint32_t *ndist,
					   void (*interrupt_check) (void));
Candidate	GreedyClosest(const VpGraph *graph, const VpQuery *q,
						  Candidate cur, int level, int32_t bound,
						  uint32_t *ndist, void (*interrupt_check) (void));
int			SearchLayer(const VpGraph *graph, VpGraphScratch *scratch,
						const VpQuery *q, const Candidate *entries,
						int nentries, int ef, int level, int32_t bound,
						void (*interrupt_check) (void));

/* (vpgraphbuild.c) */
int			SelectNeighbors(const VpGraph *graph, VpGraphScratch *scratch,
							const Candidate *cand, int ncand, int maxn,
							const uint8_t *known, VpNodeId newcomer);
void		AddReverseLink(VpGraph *graph, VpGraphScratch *scratch,
						   VpNodeId node, int level, VpNodeId new_id,
						   float d, int force);

#endif							/* VPGRAPH_INTERNAL_H */
