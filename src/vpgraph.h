/*-------------------------------------------------------------------------
 *
 * vpgraph.h
 *	  The in-memory HNSW graph: layout, insert, search, delete-mark,
 *	  reachability repair, and the image a snapshot saves.
 *
 * The graph is a cache of the vectors stored in the index pages.  It lives
 * in one caller-provided memory region and refers to nodes only by int32
 * ids and to memory only by offsets from the region's start, never by raw
 * pointers, so the same region can live in shared memory and be mapped by
 * every backend at its own address (vpshmem.c).  Each node keeps a code of
 * its vector (vpcodes.h): exact floats, 8-bit quantized floats, bits or a
 * sparse vector.
 *
 * The module is split by concern: vpgraph.c (layout, accessors, copies,
 * scratch, images), vpgraphbuild.c (staging, linking, inserts, bulk
 * builds), vpgraphsearch.c (the search loop and the resumable search a
 * scan uses), vpgraphrepair.c (reachability).  Distances on codes live in
 * vpcodes.h only.
 *
 * Concurrency.  Searches only read, so any number may run at once, also
 * while nodes are inserted.  Inserts may run concurrently with each other
 * and with searches: staging a node (id, level, code) is serialised by a
 * tiny lock inside the graph, and linking takes each neighbour list's own
 * spin lock; ids are published with release stores and followed with
 * acquire loads, so a searcher that meets an id finds its data.
 * VpGraphRepair takes the node locks as an insert does.  Only VpGraphCopy
 * and VpGraphImageRestore need the graph to themselves (the caller
 * excludes everyone else).
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

#include "vpcodes.h"

typedef int32_t VpNodeId;

#define VP_INVALID_NODE		((VpNodeId) -1)
#define VP_GRAPH_MAX_LEVEL	16		/* levels 0..15 */
#define VP_GRAPH_MAX_M		100
#define VP_GRAPH_MAX_EF		100000	/* ef_construction and scratch max_ef */
#define VP_GRAPH_MAX_THREADS	64

/* Parameters fixed when a region is laid out */
typedef struct VpGraphParams
{
	int32_t		dims;			/* see VpCodesValid for each kind's range */
	int			m;				/* 2..100; level 0 keeps 2*m links */
	int			ef_construction;	/* candidate list size while inserting,
									 * 1..VP_GRAPH_MAX_EF */
	VpMetric	metric;
	VpCodeKind	codes;			/* how nodes keep their vectors */
	int32_t		capacity;		/* nodes the region can hold, >= 1 */
	uint64_t	arena_bytes;	/* SPARSE: bytes for all codes; else 0 */
	uint64_t	seed;			/* seeds the level generator */
} VpGraphParams;

/* Results of staging or inserting */
typedef enum VpGraphInsertResult
{
	VP_GRAPH_INSERTED = 0,
	VP_GRAPH_FULL,				/* no room: grow (VpGraphCopy) and retry */
	VP_GRAPH_INVALID			/* bad arguments: nothing done, growing
								 * won't help */
} VpGraphInsertResult;

/* Where a node's record lives (the graph only keeps and returns these) */
typedef struct VpGraphItem
{
	uint64_t	label;			/* returned with search hits (heap TID) */
	uint64_t	key;			/* the record's key; ascending in node ids
								 * when nodes are staged in key order */
	uint32_t	block;			/* where the record starts */
} VpGraphItem;

/* One search hit */
typedef struct VpSearchHit
{
	VpNodeId	node;
	float		distance;		/* in the graph's metric on codes (squared
								 * for L2; approximate for SQ8) */
} VpSearchHit;

/*
 * Allocator for scratch memory (palloc in the server, malloc in tests).
 * alloc may return NULL; the graph then does without (a search becomes
 * less thorough, a call fails with an error result), it never aborts.
 */
typedef struct VpAllocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} VpAllocator;

/* The graph header sits at the start of its region; contents are private */
typedef struct VpGraph VpGraph;

/* Per-searcher working memory: visited marks and candidate heaps */
typedef struct VpGraphScratch VpGraphScratch;

/* ----------------------------------------------------------------------
 * Layout and accessors (vpgraph.c)
 * ----------------------------------------------------------------------
 */

/*
 * Bytes a region needs for these parameters, or 0 if the parameters are
 * invalid or the size would overflow size_t.
 */
extern size_t VpGraphRegionSize(const VpGraphParams *params);

/*
 * Lay out an empty graph in region (at least VpGraphRegionSize bytes,
 * 8-byte aligned, 64 best).  Returns the graph (== region), or NULL on bad
 * input.  Only the header is written.
 */
extern VpGraph *VpGraphInit(void *region, size_t size,
							const VpGraphParams *params);

/*
 * Copy every node of src into the empty dst, laid out with the same dims,
 * m, metric and codes and room for src's nodes, pool and arena.  Ids,
 * links, flags (linked or not), the entry point and the level generator
 * are kept, so dst continues exactly as src would have.  Nobody may write
 * src meanwhile.  Returns 0, or -1 if dst cannot hold src.
 */
extern int	VpGraphCopy(VpGraph *dst, const VpGraph *src);

extern int32_t VpGraphCount(const VpGraph *graph);	/* staged nodes */
extern int32_t VpGraphDeletedCount(const VpGraph *graph);
extern int32_t VpGraphCapacity(const VpGraph *graph);
extern const VpGraphParams *VpGraphGetParams(const VpGraph *graph);
extern size_t VpGraphRegionBytes(const VpGraph *graph);
extern uint64_t VpGraphLabel(const VpGraph *graph, VpNodeId node);
extern uint64_t VpGraphKey(const VpGraph *graph, VpNodeId node);
extern int	VpGraphGetItem(const VpGraph *graph, VpNodeId node,
						   VpGraphItem *item);
extern int	VpGraphIsDeleted(const VpGraph *graph, VpNodeId node);
extern int	VpGraphIsLinked(const VpGraph *graph, VpNodeId node);
extern const void *VpGraphCode(const VpGraph *graph, VpNodeId node);

/*
 * The node whose key is key, when nodes were staged in ascending key
 * order (the access method stages them in chain order), or
 * VP_INVALID_NODE.  Binary search.
 */
extern VpNodeId VpGraphFindKey(const VpGraph *graph, uint64_t key);

/*
 * Scratch for inserting into (or searching) graph and graphs with no larger
 * dims, m and capacity, with candidate lists up to max_ef (at least the
 * graph's ef_construction).  dense_visited: keep visited marks in an array
 * over the whole capacity (fastest, 4 bytes per node: for bulk builds);
 * otherwise in a hash sized by ef and m, whatever the graph's size.
 */
extern VpGraphScratch *VpGraphScratchCreate(const VpAllocator *allocator,
											const VpGraph *graph, int max_ef,
											int dense_visited);
extern int	VpGraphScratchFits(const VpGraphScratch *scratch,
							   const VpGraph *graph, int ef);
extern void VpGraphScratchDestroy(VpGraphScratch *scratch);

/* ----------------------------------------------------------------------
 * Building (vpgraphbuild.c)
 * ----------------------------------------------------------------------
 */

/*
 * Insert one vector: VpGraphStage, then VpGraphLinkNode.  Returns
 * VP_GRAPH_FULL when nodes, pool or arena are exhausted (the graph is
 * unchanged, not even the level generator advances), VP_GRAPH_INVALID for
 * bad arguments or a scratch that does not fit.  *node_out gets the id.
 */
extern VpGraphInsertResult VpGraphInsert(VpGraph *graph,
										 VpGraphScratch *scratch,
										 const VpVector *vector,
										 const VpGraphItem *item,
										 VpNodeId *node_out);

/*
 * Write a new node (code, level, item) without linking it.  It is visible
 * (counted, searchable through links made to it later) at once.  Safe to
 * call concurrently; ids are handed out in call order, and keys must ascend
 * with them (VpGraphFindKey searches by key): a key not above the last
 * staged one is VP_GRAPH_INVALID.
 */
extern VpGraphInsertResult VpGraphStage(VpGraph *graph,
										const VpVector *vector,
										const VpGraphItem *item,
										VpNodeId *node_out);

/*
 * Link a staged node into the graph: search each of its levels, choose its
 * neighbours, add it to theirs.  Returns 1 when this call linked it, 0 if
 * another linker had claimed it (wait for VpGraphIsLinked), -1 on bad
 * arguments.  Safe to call concurrently for different nodes and with
 * searches.  Calls no callback and allocates nothing once it has claimed
 * the node, so it cannot be interrupted half-way.
 */
extern int	VpGraphLinkNode(VpGraph *graph, VpGraphScratch *scratch,
							VpNodeId node);

/*
 * Bulk build: link every staged, unclaimed node with nthreads threads (the
 * calling one included), each with its own scratch fitting the graph.  The
 * extra threads run no caller code and have every signal blocked; poll, if
 * not NULL, is called by the calling thread between nodes with the number
 * linked so far, and a nonzero answer stops the work once the nodes in
 * progress are done.  The verdict memo that makes re-selecting full lists
 * cheap comes from allocator (the build is only slower without it).
 * Returns 1 when every staged node is linked, 0 if stopped (call again to
 * go on), -1 on bad arguments.  Nobody else may write the graph
 * meanwhile.  With one thread the result equals inserting one by one.
 */
extern int	VpGraphLinkStaged(VpGraph *graph, VpGraphScratch **scratches,
							  int nthreads,
							  int (*poll) (void *arg, int32_t linked),
							  void *arg, const VpAllocator *allocator);

/* Mark a node deleted: it stays traversable but is never returned */
extern void VpGraphMarkDeleted(VpGraph *graph, VpNodeId node);

/* ----------------------------------------------------------------------
 * Searching (vpgraphsearch.c)
 * ----------------------------------------------------------------------
 *
 * A resumable k-NN search, for scans whose consumer keeps asking for rows
 * (e.g. after a WHERE filter rejected the first ones).  Each call of
 * VpGraphIterNext returns the next window of up to ef live nodes in
 * ascending distance (on codes); later windows continue the same
 * best-first search instead of starting over, so nothing is returned
 * twice.  A node found after a window was returned can be closer than that
 * window's last hit; with strict_order such nodes are skipped so that the
 * sequence of all hits never decreases, otherwise they are returned in the
 * window where they were found.  Exploration stops once max_visits
 * distance evaluations are done or the iterator's memory would pass
 * max_bytes; what was found is still returned.
 *
 * The graph passed to each call must be the one the iterator was created
 * for, or a copy of it (node ids are kept); nodes staged after the
 * iterator was created are not visited.  Returns 0 when nothing is left,
 * -1 on bad arguments.
 */
typedef struct VpGraphIter VpGraphIter;

extern VpGraphIter *VpGraphIterCreate(const VpAllocator *allocator,
									  const VpGraph *graph,
									  const VpVector *query, int ef,
									  int strict_order, int64_t max_visits,
									  size_t max_bytes);
extern int	VpGraphIterNext(VpGraphIter *iter, const VpGraph *graph,
							VpSearchHit *hits,
							void (*interrupt_check) (void));
extern int64_t VpGraphIterVisits(const VpGraphIter *iter);
extern size_t VpGraphIterBytes(const VpGraphIter *iter);
extern int	VpGraphIterStopped(const VpGraphIter *iter);
extern void VpGraphIterDestroy(VpGraphIter *iter);

/* ----------------------------------------------------------------------
 * Reachability (vpgraphrepair.c)
 * ----------------------------------------------------------------------
 */

typedef struct VpRepairStats
{
	int32_t		unreachable;	/* live nodes no search could reach, before */
	int32_t		hidden;			/* reachable live nodes that none of their
								 * own neighbours listed, before */
	int32_t		weak;			/* listed by few and not found by a search
								 * for themselves (VP_REPAIR_WEAK only) */
	int32_t		holes;			/* list entries naming gone nodes, replaced
								 * (VP_REPAIR_GONE only) */
	int32_t		repaired;		/* nodes linked in (unreachable, hidden) */
	int32_t		remaining;		/* live nodes still unreachable after */
} VpRepairStats;

/*
 * Find the live nodes that cannot be reached from the entry point (a
 * traversal of the links of every level; a duplicate is reached with its
 * chain's head), the reachable ones that none of their own neighbours
 * list, and with VP_REPAIR_WEAK (after a build) the ones listed by few
 * that a search for themselves misses, and link each to its nearest
 * reachable nodes, both ways, so that every live vector can be found
 * again.  With VP_REPAIR_GONE (after a load that found nodes gone) first
 * replace every list entry naming a gone node by the nearest of the nodes
 * that gone node listed.  Runs beside searches and inserts (it takes the
 * node locks); the counts are then approximate.  The searches of the weak
 * check run on nthreads threads (the calling one included; no caller code
 * runs in the others, and they block every signal).  Memory comes from
 * allocator, always in the calling thread.  Returns 0, or -1 if memory or
 * arguments fail.
 */
#define VP_REPAIR_WEAK		0x01
#define VP_REPAIR_GONE		0x02

extern int	VpGraphRepair(VpGraph *graph, const VpAllocator *allocator,
						  int flags, int nthreads, VpRepairStats *stats);

/*
 * Count the live nodes not reachable from the entry point; the first
 * max_out of them (ascending ids) go to out.  -1 if memory fails.  May run
 * while others insert (the answer is then approximate).
 */
extern int32_t VpGraphUnreachable(const VpGraph *graph,
								  const VpAllocator *allocator,
								  VpNodeId *out, int32_t max_out);

/* ----------------------------------------------------------------------
 * Images: what a snapshot saves (vpgraph.c)
 * ----------------------------------------------------------------------
 *
 * An image is everything a rebuild would recompute except the codes,
 * which the index pages give back: node info, flags, links, the entry
 * point and the counters.  VpGraphImageCapture reads the counters at one
 * moment; VpGraphImageCopy then copies the arrays up to them, while
 * inserts may go on: lists torn by a concurrent writer are still lists of
 * valid ids, and ids staged after the capture are dropped from them.
 * VpGraphImageRestore checks every field of an image before it is used,
 * so a damaged one is refused, never trusted; the caller then gives each
 * node its code (VpGraphSetCode) or marks it gone (VpGraphMarkGone).
 */
typedef struct VpGraphImageHeader
{
	VpGraphParams params;		/* capacity: the count when captured */
	int32_t		count;
	int32_t		deleted_count;
	VpNodeId	entry_point;
	uint32_t	pool_used;
	uint64_t	rng_state;
} VpGraphImageHeader;

extern int	VpGraphImageCapture(const VpGraph *graph, VpGraphImageHeader *hdr);
extern size_t VpGraphImageBytes(const VpGraphImageHeader *hdr);
extern void VpGraphImageCopy(const VpGraph *graph,
							 const VpGraphImageHeader *hdr, void *dst);
extern const char *VpGraphImageRestore(VpGraph *graph,
									   const VpGraphImageHeader *hdr,
									   const void *image, size_t bytes);
extern int	VpGraphSetCode(VpGraph *graph, VpNodeId node,
						   const VpVector *vector);
extern int	VpGraphMarkGone(VpGraph *graph, VpNodeId node);

#endif							/* VPGRAPH_H */
