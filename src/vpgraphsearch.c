/*-------------------------------------------------------------------------
 *
 * vpgraphsearch.c
 *	  Searching the HNSW graph: the expansion of one node, the greedy
 *	  descent through the upper levels, the ef-wide layer search that
 *	  inserts use, and the resumable search that index scans use.
 *
 * Every distance a search computes is computed in ExpandNode: gather the
 * unvisited neighbours of one node, start fetching their codes from memory,
 * then compare each with the query (vpcodes.h) while the next ones arrive.
 * A search over a graph larger than the CPU caches spends most of its time
 * waiting for those codes, which is why they are prefetched a few ahead
 * and why the flags a search tests for every node sit in a dense array.
 *
 * Concurrency.  Searches only read the region.  Neighbour counts and ids
 * are loaded with acquire, ids at or beyond the node count the search
 * started with are ignored, and gone nodes (no code) are skipped, so a
 * search running beside inserts always follows valid, complete nodes.
 *
 * This file includes no PostgreSQL header.
 *
 * IDENTIFICATION
 *	  src/vpgraphsearch.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpgraph_internal.h"

/* how many codes ahead of the one being compared are fetched whole */
#define PREFETCH_AHEAD	3

/*
 * PrefetchCode
 *		Ask for the first max_bytes of a node's code ahead of use.
 */
static inline void
PrefetchCode(const VpGraph *graph, VpNodeId id, uint32_t max_bytes)
{
	const char *p = (const char *) NodeCode(graph, id);
	uint32_t	bytes = graph->code_bytes != 0 && graph->code_bytes < max_bytes ?
		graph->code_bytes : max_bytes;
	uint32_t	off;

	if (graph->code_bytes == 0)
		bytes = 64;
	for (off = 0; off < bytes; off += 64)
		Prefetch(p + off);
}

/*
 * ExpandNode
 *		The neighbours of node on level that are below bound, not gone and
 *		(when visited is given) not visited yet, marked visited, with their
 *		distances to q, in out (room for 2m).  Returns how many.  This is
 *		the only place a search computes distances.
 */
int
ExpandNode(const VpGraph *graph, const VpQuery *q, VpNodeId node, int level,
		   int32_t bound, VisitedSet *visited, Candidate *out,
		   uint32_t *ndist, void (*interrupt_check) (void))
{
	const int32_t *links = NodeLinks(graph, node, level);
	VpNodeId	fresh[2 * VP_GRAPH_MAX_M];
	int			maxn = MaxLinks(graph, level);
	int			nfresh = 0;
	int			n;
	int			i;

	if (links == NULL)
		return 0;
	n = LoadAcquire(&links[0]);
	if (n > maxn)
		n = maxn;
	for (i = 0; i < n; i++)
	{
		VpNodeId	id = LoadAcquire(&links[1 + i]);

		if (id < 0 || id >= bound ||
			(visited != NULL && VisitedTestAndSet(visited, id)) ||
			(LoadFlags(NodeFlags(graph, id)) & NODE_GONE))
			continue;
		fresh[nfresh++] = id;
		PrefetchCode(graph, id, 128);
	}
	for (i = 0; i < nfresh; i++)
	{
		if (i == 0)
		{
			int			j;

			for (j = 1; j < PREFETCH_AHEAD && j < nfresh; j++)
				PrefetchCode(graph, fresh[j], UINT32_MAX);
		}
		if (i + PREFETCH_AHEAD < nfresh)
			PrefetchCode(graph, fresh[i + PREFETCH_AHEAD], UINT32_MAX);
		out[i].id = fresh[i];
		out[i].dist = VpQueryDistance(q, NodeCode(graph, fresh[i]));
		CountDistance(ndist, interrupt_check);
	}
	return nfresh;
}

/*
 * GreedyClosest
 *		Walk one upper level greedily from cur towards q: move to the
 *		closest neighbour while it is closer.
 */
Candidate
GreedyClosest(const VpGraph *graph, const VpQuery *q, Candidate cur,
			  int level, int32_t bound, uint32_t *ndist,
			  void (*interrupt_check) (void))
{
	Candidate	out[2 * VP_GRAPH_MAX_M];

	for (;;)
	{
		int			n = ExpandNode(graph, q, cur.id, level, bound, NULL, out,
								   ndist, interrupt_check);
		Candidate	best = cur;
		int			i;

		for (i = 0; i < n; i++)
			if (out[i].dist < best.dist)
				best = out[i];
		if (best.id == cur.id)
			return cur;
		cur = best;
	}
}

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

/*
 * SearchLayer
 *		ef-bounded best-first search of one level from entries[0..n-1]
 *		(ids with their distances to q), as an insert needs it: deleted
 *		nodes count like live ones (they are neighbours all the same),
 *		duplicates are not followed.  The result lands in scratch->found in
 *		ascending distance; returns how many.  entries may point into
 *		scratch->found: it is consumed before being overwritten.
 */
int
SearchLayer(const VpGraph *graph, VpGraphScratch *scratch, const VpQuery *q,
			const Candidate *entries, int nentries, int ef, int level,
			int32_t bound, void (*interrupt_check) (void))
{
	Candidate  *cand = scratch->cand;
	Candidate  *result = scratch->result;
	Candidate  *out = scratch->expansion;
	int			ncand = 0;
	int			nresult = 0;
	int			i;

	VisitedBegin(&scratch->visited);
	for (i = 0; i < nentries; i++)
	{
		Candidate	e = entries[i];

		if (VisitedTestAndSet(&scratch->visited, e.id))
			continue;
		MinHeapPushBounded(cand, &ncand, scratch->cand_cap, e);
		MaxHeapPush(result, &nresult, e);
		if (nresult > ef)
			MaxHeapPop(result, &nresult);
	}

	while (ncand > 0)
	{
		Candidate	c = MinHeapPop(cand, &ncand);
		int			n;

		if (nresult >= ef && c.dist > result[0].dist)
			break;
		n = ExpandNode(graph, q, c.id, level, bound, &scratch->visited, out,
					   &scratch->ndist, interrupt_check);
		for (i = 0; i < n; i++)
		{
			if (nresult < ef || out[i].dist < result[0].dist)
			{
				MinHeapPushBounded(cand, &ncand, scratch->cand_cap, out[i]);
				MaxHeapPush(result, &nresult, out[i]);
				if (nresult > ef)
					MaxHeapPop(result, &nresult);
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
 * Arrays grow on demand within max_bytes.
 */
struct VpGraphIter
{
	VpAllocator allocator;
	int			ef;
	int			strict;			/* skip hits closer than the last one */
	int			started;
	int			stopped;		/* a bound ended the exploration */
	int64_t		windows;		/* windows emitted so far */
	float		last_dist;		/* distance of the last hit returned */
	int64_t		visits;			/* distance evaluations so far */
	int64_t		max_visits;
	size_t		bytes;			/* memory held */
	size_t		max_bytes;
	uint32_t	ndist;			/* for interrupt checks */
	int32_t		nodes;			/* nodes the search may meet */
	VisitedSet	visited;		/* a bitmap over them */
	VpQuery		query;
	float	   *qbuf;			/* the query's floats (or bits), owned */
	int32_t    *qindices;		/* its sparse indices, owned */
	Candidate	expansion[2 * VP_GRAPH_MAX_M];
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
 * IterAlloc
 *		Memory for the iterator, counted against its budget; NULL (and the
 *		search stops growing) when the budget or the allocator says no.
 */
static void *
IterAlloc(VpGraphIter *iter, size_t size)
{
	void	   *p;

	if (iter->bytes + size > iter->max_bytes)
	{
		iter->stopped = 1;
		return NULL;
	}
	p = iter->allocator.alloc(iter->allocator.ctx, size);
	if (p == NULL)
	{
		iter->stopped = 1;
		return NULL;
	}
	iter->bytes += size;
	return p;
}

/*
 * IterFree
 *		Return memory of size bytes taken with IterAlloc.
 */
static void
IterFree(VpGraphIter *iter, void *p, size_t size)
{
	if (p == NULL)
		return;
	if (iter->allocator.free)
		iter->allocator.free(iter->allocator.ctx, p);
	iter->bytes -= size;
}

/*
 * IterReserve
 *		Room for one more entry in a growable heap array.  Returns 0 when
 *		the budget or the allocator cannot provide it.
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
	bigger = IterAlloc(iter, sizeof(Candidate) * (size_t) newcap);
	if (bigger == NULL)
		return 0;
	memcpy(bigger, *heap, sizeof(Candidate) * (size_t) n);
	IterFree(iter, *heap, sizeof(Candidate) * (size_t) *cap);
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
IterDiscover(VpGraphIter *iter, const VpGraph *graph, VpNodeId id, float d)
{
	Candidate	c;
	VpNodeId	dup;
	int32_t		steps = 0;
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
		 dup >= 0 && dup < iter->nodes && steps++ < iter->nodes;
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
 * Without room for it, it is dropped, as IterDiscover drops a candidate it
 * cannot queue: the search stays correct, only less thorough.
 */
static void
IterPark(VpGraphIter *iter, Candidate c)
{
	if (!IterReserve(iter, &iter->later, iter->nlater, &iter->later_cap))
		return;
	iter->later[iter->nlater++] = c;
}

/*
 * Before a further window: give the parked nodes their place in cand and
 * rest, as if they had been discovered normally.
 */
static void
IterUnpark(VpGraphIter *iter, const VpGraph *graph)
{
	int			i;

	for (i = 0; i < iter->nlater; i++)
		IterDiscover(iter, graph, iter->later[i].id, iter->later[i].dist);
	iter->nlater = 0;
}

/*
 * Best-first expansion of level 0 until the window holds ef hits that no
 * unexpanded node can beat, or a bound is reached.
 */
static void
IterExpand(VpGraphIter *iter, const VpGraph *graph,
		   void (*interrupt_check) (void))
{
	while (iter->ncand > 0 && !iter->stopped)
	{
		Candidate	c;
		int			n;
		int			i;

		if (iter->visits >= iter->max_visits)
		{
			iter->stopped = 1;
			break;
		}
		if (iter->nwindow >= iter->ef && iter->cand[0].dist > iter->window[0].dist)
			break;
		c = MinHeapPop(iter->cand, &iter->ncand);
		if (iter->ncand > 0)
			Prefetch(NodeLinks(graph, iter->cand[0].id, 0));
		n = ExpandNode(graph, &iter->query, c.id, 0, iter->nodes,
					   &iter->visited, iter->expansion, &iter->ndist,
					   interrupt_check);
		iter->visits += n;
		for (i = 0; i < n; i++)
		{
			Candidate	e = iter->expansion[i];

			if (iter->nwindow >= iter->ef && e.dist >= iter->window[0].dist)
				IterPark(iter, e);
			else
			{
				/* likely to be expanded soon */
				Prefetch(NodeLinks(graph, e.id, 0));
				IterDiscover(iter, graph, e.id, e.dist);
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
 *		if the first memory cannot be had.
 */
VpGraphIter *
VpGraphIterCreate(const VpAllocator *allocator, const VpGraph *graph,
				  const VpVector *query, int ef, int strict_order,
				  int64_t max_visits, size_t max_bytes)
{
	VpGraphIter *iter;
	VpVector	copy;
	const VpGraphParams *p;
	int32_t		count;
	size_t		nbuf;
	float	   *buf = NULL;

	if (allocator == NULL || allocator->alloc == NULL ||
		!GraphIsValid(graph) || query == NULL || ef < 1 ||
		ef > VP_GRAPH_MAX_EF)
		return NULL;
	VpDistanceInit();
	p = &graph->params;
	count = LoadAcquire(&graph->count);

	iter = allocator->alloc(allocator->ctx, sizeof(VpGraphIter));
	if (iter == NULL)
		return NULL;
	memset(iter, 0, sizeof(VpGraphIter));
	iter->allocator = *allocator;
	iter->bytes = sizeof(VpGraphIter);
	iter->max_bytes = max_bytes > 0 ? max_bytes : SIZE_MAX;
	iter->ef = ef;
	iter->strict = strict_order;
	iter->last_dist = -INFINITY;	/* inner-product distances are negative */
	iter->max_visits = max_visits > 0 ? max_visits : INT64_MAX;
	iter->nodes = count;
	iter->cand_cap = 2 * ef + 64;
	iter->rest_cap = 2 * ef + 64;
	iter->later_cap = 4 * ef + 64;

	/* the query, copied so that it outlives the caller's vector */
	copy = *query;
	if (p->codes == VP_CODE_SPARSE && query->nnz > 0 &&
		query->nnz <= VP_CODES_MAX_NNZ && query->indices != NULL)
	{
		int32_t    *idx = IterAlloc(iter, sizeof(int32_t) * (size_t) query->nnz);

		if (idx == NULL)
			goto fail;
		memcpy(idx, query->indices, sizeof(int32_t) * (size_t) query->nnz);
		copy.indices = iter->qindices = idx;
	}
	nbuf = VpQueryBufferFloats(p->codes, p->dims, query);
	if (nbuf > 0 && (buf = iter->qbuf = IterAlloc(iter, sizeof(float) * nbuf)) == NULL)
		goto fail;
	if (!VpQueryPrepare(p->codes, p->metric, p->dims, &copy, &iter->query, buf))
		goto fail;

	iter->visited.mode = VISITED_BITMAP;
	iter->visited.nbits = count;
	iter->visited.bits = IterAlloc(iter, ((size_t) count + 7) / 8 + 1);
	iter->cand = IterAlloc(iter, sizeof(Candidate) * (size_t) iter->cand_cap);
	iter->rest = IterAlloc(iter, sizeof(Candidate) * (size_t) iter->rest_cap);
	iter->window = IterAlloc(iter, sizeof(Candidate) * (size_t) (ef + 1));
	iter->later = IterAlloc(iter, sizeof(Candidate) * (size_t) iter->later_cap);
	if (iter->visited.bits == NULL || iter->cand == NULL ||
		iter->rest == NULL || iter->window == NULL || iter->later == NULL)
		goto fail;
	VisitedBegin(&iter->visited);
	iter->stopped = 0;
	return iter;

fail:
	VpGraphIterDestroy(iter);
	return NULL;
}

/*
 * VpGraphIterNext
 *		The next window of hits (see vpgraph.h); hits needs room for ef.
 */
int
VpGraphIterNext(VpGraphIter *iter, const VpGraph *graph, VpSearchHit *hits,
				void (*interrupt_check) (void))
{
	int			n;
	int			emitted;

	if (iter == NULL || hits == NULL || !GraphIsValid(graph) ||
		LoadAcquire(&graph->count) < iter->nodes)
		return -1;

	if (!iter->started)
	{
		VpNodeId	ep = LoadAcquire(&graph->entry_point);
		Candidate	cur;
		int			lc;

		iter->started = 1;
		if (iter->nodes == 0 || ep < 0 || ep >= iter->nodes)
			return 0;
		cur.id = ep;
		cur.dist = VpQueryDistance(&iter->query, NodeCode(graph, ep));
		iter->visits++;
		for (lc = NodeInfo(graph, ep)->level; lc > 0; lc--)
			cur = GreedyClosest(graph, &iter->query, cur, lc, iter->nodes,
								&iter->ndist, interrupt_check);
		VisitedTestAndSet(&iter->visited, cur.id);
		IterDiscover(iter, graph, cur.id, cur.dist);
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
			IterUnpark(iter, graph);
		}
		IterExpand(iter, graph, interrupt_check);
		n = IterEmit(iter, graph, hits, &emitted);
		iter->windows++;
		/* a window of only skipped hits is not the end: go on */
		if (emitted > 0 || n == 0)
			return emitted;
	}
}

int64_t
VpGraphIterVisits(const VpGraphIter *iter)
{
	return iter ? iter->visits : 0;
}

size_t
VpGraphIterBytes(const VpGraphIter *iter)
{
	return iter ? iter->bytes : 0;
}

/*
 * VpGraphIterStopped
 *		Whether the visit or memory bound ended the exploration (later
 *		windows return only what was found before).
 */
int
VpGraphIterStopped(const VpGraphIter *iter)
{
	return iter ? iter->stopped : 0;
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
	if (iter->visited.bits)
		release(ctx, iter->visited.bits);
	if (iter->qbuf)
		release(ctx, iter->qbuf);
	if (iter->qindices)
		release(ctx, iter->qindices);
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
