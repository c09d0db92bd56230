/*-------------------------------------------------------------------------
 *
 * vpgraph.h
 *	  The in-memory HNSW graph: layout, insert, k-NN search, delete-mark.
 *
 * The graph is a cache of the vectors stored in the index pages.  It lives
 * in one caller-provided memory region and refers to nodes only by int32
 * ids and to memory only by offsets from the region's start, never by raw
 * pointers, so the same region can be copied into shared memory and
 * mapped by every backend at its own address (vpshmem.c).
 *
 * No PostgreSQL headers: this module is unit-tested, fuzzed and
 * benchmarked on its own (test/unit).  Memory for per-searcher scratch
 * comes from a caller-supplied allocator.
 *
 * IDENTIFICATION
 *	  src/vpgraph.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPGRAPH_H
#define VPGRAPH_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t VpNodeId;

#define VP_INVALID_NODE		((VpNodeId) -1)
#define VP_GRAPH_MAX_LEVEL	16		/* levels 0..15 */
#define VP_GRAPH_MAX_M		100
#define VP_GRAPH_MAX_EF		100000	/* ef_construction and scratch max_ef */

typedef enum VpMetric
{
	VP_METRIC_L2 = 1,			/* squared L2 inside the graph */
	VP_METRIC_INNER_PRODUCT = 2,	/* negative inner product */
	VP_METRIC_COSINE = 3,		/* 1 - cos; vectors normalised on the way in */
	VP_METRIC_L1 = 4			/* taxicab */
} VpMetric;

/* Parameters fixed when a region is laid out */
typedef struct VpGraphParams
{
	int			dims;			/* 1..16000 */
	int			m;				/* 2..100; level 0 keeps 2*m links */
	int			ef_construction;	/* candidate list size while inserting,
									 * 1..VP_GRAPH_MAX_EF */
	VpMetric	metric;
	int32_t		capacity;		/* nodes the region can hold, >= 1 */
	uint64_t	seed;			/* seeds the level generator */
} VpGraphParams;

/* Results of VpGraphInsert */
typedef enum VpGraphInsertResult
{
	VP_GRAPH_INSERTED = 0,
	VP_GRAPH_FULL,				/* no room: grow (VpGraphCopy) and retry */
	VP_GRAPH_INVALID			/* bad arguments (e.g. scratch that does not
								 * fit): nothing done, growing won't help */
} VpGraphInsertResult;

/* One search hit */
typedef struct VpSearchHit
{
	VpNodeId	node;
	float		distance;		/* in the graph's metric (squared for L2) */
} VpSearchHit;

/* Allocator for scratch memory (palloc in the server, malloc in tests) */
typedef struct VpAllocator
{
	void	   *(*alloc) (void *ctx, size_t size);	/* must not return NULL */
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} VpAllocator;

/* The graph header sits at the start of its region; contents are private */
typedef struct VpGraph VpGraph;

/* Per-searcher working memory: visited marks and candidate heaps */
typedef struct VpGraphScratch VpGraphScratch;

/*
 * Bytes a region needs for these parameters, or 0 if the parameters are
 * invalid or the size would overflow size_t.
 */
extern size_t VpGraphRegionSize(const VpGraphParams *params);

/*
 * Lay out an empty graph in region (at least VpGraphRegionSize bytes,
 * 64-byte aligned).  Returns the graph (== region), or NULL on bad input.
 */
extern VpGraph *VpGraphInit(void *region, size_t size,
							const VpGraphParams *params);

/*
 * Copy every node of src into dst, which must be empty and laid out with
 * the same dims/m/metric and a capacity >= VpGraphCount(src).  Node ids are
 * preserved.  Returns 0 on success, -1 if dst cannot hold src.
 */
extern int	VpGraphCopy(VpGraph *dst, const VpGraph *src);

/* Accessors */
extern int32_t VpGraphCount(const VpGraph *graph);	/* nodes, incl. deleted */
extern int32_t VpGraphDeletedCount(const VpGraph *graph);
extern int32_t VpGraphCapacity(const VpGraph *graph);
extern const VpGraphParams *VpGraphGetParams(const VpGraph *graph);
extern size_t VpGraphRegionBytes(const VpGraph *graph);
extern uint64_t VpGraphLabel(const VpGraph *graph, VpNodeId node);
extern uint64_t VpGraphKey(const VpGraph *graph, VpNodeId node);
extern int	VpGraphIsDeleted(const VpGraph *graph, VpNodeId node);

/*
 * Scratch for searching or inserting into `graph` (and graphs of the same
 * dims up to its capacity) with candidate lists of up to max_ef entries.
 * Reusable across calls; VpGraphScratchFits tells whether it is still big
 * enough for a graph (e.g. after the graph was grown).
 */
extern VpGraphScratch *VpGraphScratchCreate(const VpAllocator *allocator,
											const VpGraph *graph, int max_ef);
extern int	VpGraphScratchFits(const VpGraphScratch *scratch,
							   const VpGraph *graph, int ef);
extern void VpGraphScratchDestroy(VpGraphScratch *scratch);

/*
 * Insert one vector (dims floats; normalised internally for cosine).
 * label is returned with search hits (the AM stores the heap TID there);
 * key identifies the record the node came from (the AM stores the index
 * item's location) so that deletions found in the pages can be applied.
 * Returns VP_GRAPH_FULL when capacity or link storage is exhausted; the
 * graph is then unchanged (not even the level generator advances, so a
 * grown copy continues exactly as a bigger graph would have).  scratch must
 * fit the graph with ef = ef_construction (VpGraphScratchFits); otherwise,
 * or for NULL arguments, VP_GRAPH_INVALID and nothing changes.  *node_out
 * gets the new node's id (VP_INVALID_NODE unless inserted).
 */
extern VpGraphInsertResult VpGraphInsert(VpGraph *graph,
										 VpGraphScratch *scratch,
										 const float *vector,
										 uint64_t label, uint64_t key,
										 VpNodeId *node_out);

/*
 * k-NN search: fills hits[0..n-1] with up to ef nearest live nodes in
 * ascending distance and returns n.  Deleted nodes are traversed but never
 * returned.  query has dims floats (normalised internally for cosine).
 * The callback, if not NULL, is called every few hundred distance
 * computations so the caller can check for interrupts (it may longjmp).
 * hits must have room for ef entries.  Returns -1 (and touches nothing) if
 * the scratch does not fit (VpGraphScratchFits(scratch, graph, ef) is
 * false), ef < 1, or an argument is NULL.  The graph is only read, so any
 * number of searchers, each with its own scratch, may search it at once.
 */
extern int	VpGraphSearch(const VpGraph *graph, VpGraphScratch *scratch,
						  const float *query, int ef,
						  VpSearchHit *hits,
						  void (*interrupt_check) (void));

/*
 * Resumable k-NN search, for scans whose consumer keeps asking for rows
 * (e.g. after a WHERE filter rejected the first ones).  Each call of
 * VpGraphIterNext returns the next window of up to ef live nodes, in
 * ascending distance within the window; the first window is exactly what
 * VpGraphSearch with the same ef returns.  Later windows continue the same
 * best-first search instead of starting over: nothing is returned twice.
 * A node found after a window was returned can be closer than that
 * window's last hit; with strict_order such nodes are skipped so the
 * sequence of all hits never decreases, otherwise they are returned in the
 * window where they were found.  Exploration stops once max_visits
 * distance evaluations are done (it may exceed them by the links of the
 * node being expanded); the hits already found are still returned.
 *
 * The graph passed to each call must be the one the iterator was created
 * for, or a grown copy of it (node ids are kept); nodes added after the
 * iterator was created are not visited.  Returns 0 when nothing is left,
 * -1 on bad arguments.
 */
typedef struct VpGraphIter VpGraphIter;

extern VpGraphIter *VpGraphIterCreate(const VpAllocator *allocator,
									  const VpGraph *graph,
									  const float *query, int ef,
									  int strict_order, int64_t max_visits);
extern int	VpGraphIterNext(VpGraphIter *iter, const VpGraph *graph,
							VpSearchHit *hits,
							void (*interrupt_check) (void));
extern int64_t VpGraphIterVisits(const VpGraphIter *iter);
extern void VpGraphIterDestroy(VpGraphIter *iter);

/*
 * Bulk build in two steps, so that the slow one can use several threads.
 * VpGraphStage writes a node (vector, level, label, key) without linking
 * it; VP_GRAPH_FULL as for VpGraphInsert (grow only once everything staged
 * is linked: VpGraphCopy refuses a graph with unlinked nodes).  Staged
 * nodes are invisible: VpGraphCount counts linked nodes only, and
 * VpGraphInsert refuses to run while some are staged.
 *
 * VpGraphLinkStaged links them, in id order, with nthreads threads (the
 * calling one included, at most VP_GRAPH_MAX_THREADS), each with its own
 * scratch (scratches[i], fitting the graph with ef_construction).  locks
 * must have room for one byte per staged node when nthreads > 1.  The
 * extra threads run no caller code and have every signal blocked; poll, if
 * not NULL, is called by the calling thread between nodes with the number
 * linked so far, and a nonzero answer stops the work once the nodes in
 * progress are done.  Returns 1 when every staged node is linked, 0 if
 * stopped (call again to go on), -1 on bad arguments.  Nobody may search
 * the graph meanwhile.  The result depends on thread timing; with one
 * thread it equals inserting the nodes one by one.
 */
#define VP_GRAPH_MAX_THREADS	64

extern VpGraphInsertResult VpGraphStage(VpGraph *graph, const float *vector,
										uint64_t label, uint64_t key);
extern int32_t VpGraphStagedCount(const VpGraph *graph);
extern int	VpGraphLinkStaged(VpGraph *graph, VpGraphScratch **scratches,
							  int nthreads,
							  int (*poll) (void *arg, int32_t linked),
							  void *arg, uint8_t *locks);

/* Mark a node deleted: it stays traversable but is never returned */
extern void VpGraphMarkDeleted(VpGraph *graph, VpNodeId node);

/* The stored (for cosine: normalised) vector of a node */
extern const float *VpGraphVector(const VpGraph *graph, VpNodeId node);

/* Distance between a query and a stored vector in the graph's metric */
extern float VpGraphDistance(const VpGraph *graph, const float *query,
							 VpNodeId node);

#endif							/* VPGRAPH_H */
