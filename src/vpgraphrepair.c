/*-------------------------------------------------------------------------
 *
 * vpgraphrepair.c
 *	  Reachability of the HNSW graph: finding the live nodes no search can
 *	  reach, and linking them in again.
 *
 * HNSW can leave nodes without incoming links: when a node's neighbours
 * re-select their lists after later inserts, the heuristic may drop it from
 * all of them.  No search can return such a node; to a user its row is
 * lost though it is in the table and in the index.  A graph stored on disk
 * can hardly afford to look for them; a graph that lives in memory, built
 * from a list of vectors, can: a traversal of the level-0 links from the
 * entry point marks what is reachable, and every live node left over is
 * searched for (its nearest reachable nodes) and added to their lists,
 * keeping the link even where the selection heuristic would drop it.  A
 * forced link may push another entry out of a full list, so the traversal
 * is repeated, a few rounds at most.
 *
 * A duplicate (a node in another's dup chain) has no links of its own and
 * is reached with its chain's head.  Deleted nodes stay traversable (they
 * are stepping stones) but need not be reachable; gone nodes are neither.
 *
 * This file includes no PostgreSQL header.
 *
 * IDENTIFICATION
 *	  src/vpgraphrepair.c
 *
 *-------------------------------------------------------------------------
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vpgraph_internal.h"

/* rounds of traversal and repair at most */
#define REPAIR_ROUNDS		4

/* forced incoming links per repaired node; more are offered unforced */
#define REPAIR_FORCED		2

/* Working memory of one traversal */
typedef struct Reach
{
	int32_t		count;			/* nodes considered */
	uint8_t    *reached;		/* bitmap */
	uint8_t    *member;			/* bitmap: in another node's dup chain */
	VpNodeId   *queue;
} Reach;

static inline int
BitTest(const uint8_t *bits, VpNodeId id)
{
	return (bits[id >> 3] >> (id & 7)) & 1;
}

static inline void
BitSet(uint8_t *bits, VpNodeId id)
{
	bits[id >> 3] |= (uint8_t) (1 << (id & 7));
}

/*
 * ReachAlloc, ReachFree
 *		Memory for traversals of count nodes, from the caller's allocator.
 */
static int
ReachAlloc(Reach *r, const VpAllocator *allocator, int32_t count)
{
	size_t		bitmap = ((size_t) count + 7) / 8 + 1;

	memset(r, 0, sizeof(Reach));
	r->count = count;
	r->reached = allocator->alloc(allocator->ctx, bitmap);
	r->member = allocator->alloc(allocator->ctx, bitmap);
	r->queue = allocator->alloc(allocator->ctx,
								sizeof(VpNodeId) * ((size_t) count + 1));
	return r->reached != NULL && r->member != NULL && r->queue != NULL;
}

static void
ReachFree(Reach *r, const VpAllocator *allocator)
{
	if (allocator->free == NULL)
		return;
	if (r->reached)
		allocator->free(allocator->ctx, r->reached);
	if (r->member)
		allocator->free(allocator->ctx, r->member);
	if (r->queue)
		allocator->free(allocator->ctx, r->queue);
}

/*
 * FindMembers
 *		Mark every node that hangs on another node's duplicate chain.
 */
static void
FindMembers(const VpGraph *graph, Reach *r)
{
	VpNodeId	id;

	memset(r->member, 0, ((size_t) r->count + 7) / 8 + 1);
	for (id = 0; id < r->count; id++)
	{
		VpNodeId	dup;
		int32_t		steps = 0;

		if (!(LoadFlags(NodeFlags(graph, id)) & NODE_HAS_DUPS))
			continue;
		for (dup = LoadAcquire(&NodeInfo(graph, id)->dup_next);
			 dup >= 0 && dup < r->count && steps++ < r->count;
			 dup = LoadAcquire(&NodeInfo(graph, dup)->dup_next))
			BitSet(r->member, dup);
	}
}

/*
 * Traverse
 *		Mark what the entry point reaches on level 0 (through deleted nodes,
 *		not through gone ones), and the duplicates of what it reaches.
 */
static void
Traverse(const VpGraph *graph, Reach *r)
{
	VpNodeId	ep = LoadAcquire(&graph->entry_point);
	int32_t		head = 0;
	int32_t		tail = 0;

	memset(r->reached, 0, ((size_t) r->count + 7) / 8 + 1);
	if (ep < 0 || ep >= r->count)
		return;
	BitSet(r->reached, ep);
	r->queue[tail++] = ep;
	while (head < tail)
	{
		VpNodeId	id = r->queue[head++];
		const int32_t *links = NodeLinks(graph, id, 0);
		int			n = LoadAcquire(&links[0]);
		int			i;

		if (n > MaxLinks(graph, 0))
			n = MaxLinks(graph, 0);
		for (i = 0; i < n; i++)
		{
			VpNodeId	nb = LoadAcquire(&links[1 + i]);

			if (nb < 0 || nb >= r->count || BitTest(r->reached, nb) ||
				(LoadFlags(NodeFlags(graph, nb)) & NODE_GONE))
				continue;
			BitSet(r->reached, nb);
			r->queue[tail++] = nb;
		}
		if (LoadFlags(NodeFlags(graph, id)) & NODE_HAS_DUPS)
		{
			VpNodeId	dup;
			int32_t		steps = 0;

			for (dup = LoadAcquire(&NodeInfo(graph, id)->dup_next);
				 dup >= 0 && dup < r->count && steps++ < r->count;
				 dup = LoadAcquire(&NodeInfo(graph, dup)->dup_next))
				BitSet(r->reached, dup);
		}
	}
}

/*
 * MustReach
 *		Whether a node that was not reached counts as lost: it is live and
 *		linked (a staged node still being linked is on its way in).
 */
static inline int
MustReach(const VpGraph *graph, VpNodeId id)
{
	uint8_t		flags = LoadFlags(NodeFlags(graph, id));

	return (flags & (NODE_DELETED | NODE_GONE)) == 0 &&
		(flags & NODE_LINKED) != 0;
}

/*
 * VpGraphUnreachable
 *		Count the live nodes the entry point does not reach (see vpgraph.h).
 */
int32_t
VpGraphUnreachable(const VpGraph *graph, const VpAllocator *allocator,
				   VpNodeId *out, int32_t max_out)
{
	Reach		r;
	int32_t		lost = 0;
	VpNodeId	id;

	if (!GraphIsValid(graph) || allocator == NULL || allocator->alloc == NULL)
		return -1;
	if (!ReachAlloc(&r, allocator, LoadAcquire(&graph->count)))
	{
		ReachFree(&r, allocator);
		return -1;
	}
	Traverse(graph, &r);
	for (id = 0; id < r.count; id++)
	{
		if (BitTest(r.reached, id) || !MustReach(graph, id))
			continue;
		if (out != NULL && lost < max_out)
			out[lost] = id;
		lost++;
	}
	ReachFree(&r, allocator);
	return lost;
}

/*
 * Reconnect
 *		Search for the nearest reachable nodes of lost node id and add it to
 *		their level-0 lists: the nearest REPAIR_FORCED keep it whatever the
 *		heuristic says, the others as the heuristic decides.  Also offers
 *		them to id's own list, so that a search that reaches it can go on.
 */
static void
Reconnect(VpGraph *graph, VpGraphScratch *scratch, const Reach *r,
		  VpNodeId id)
{
	const VpGraphParams *p = &graph->params;
	VpNodeId	ep = LoadAcquire(&graph->entry_point);
	VpQuery		q;
	Candidate	cur;
	int			nfound;
	int			forced = 0;
	int			offered = 0;
	int			lc;
	int			i;

	VpQueryFromCode(p->codes, p->metric, p->dims, NodeCode(graph, id), &q,
					scratch->qbuf);
	cur.id = ep;
	cur.dist = VpQueryDistance(&q, NodeCode(graph, ep));
	for (lc = NodeInfo(graph, ep)->level; lc > 0; lc--)
		cur = GreedyClosest(graph, &q, cur, lc, r->count, &scratch->ndist, NULL);
	scratch->found[0] = cur;
	nfound = SearchLayer(graph, scratch, &q, scratch->found, 1,
						 p->ef_construction, 0, r->count, NULL);

	for (i = 0; i < nfound && offered < p->m; i++)
	{
		VpNodeId	nb = scratch->found[i].id;
		float		d = scratch->found[i].dist;

		if (nb == id || !BitTest(r->reached, nb) ||
			BitTest(r->member, nb))
			continue;
		GraphNodeLock(graph, nb);
		AddReverseLink(graph, scratch, nb, 0, id, d, forced < REPAIR_FORCED);
		GraphNodeUnlock(graph, nb);
		GraphNodeLock(graph, id);
		AddReverseLink(graph, scratch, id, 0, nb, d, 0);
		GraphNodeUnlock(graph, id);
		forced++;
		offered++;
	}
}

/*
 * VpGraphRepair
 *		Link every live node the entry point cannot reach (see vpgraph.h).
 *		Uses the node locks like an insert, so searches (and inserts) may
 *		go on meanwhile; the counts are then approximate.
 */
int
VpGraphRepair(VpGraph *graph, VpGraphScratch *scratch,
			  const VpAllocator *allocator, VpRepairStats *stats)
{
	Reach		r;
	int			round;
	int32_t		lost = 0;

	memset(stats, 0, sizeof(VpRepairStats));
	if (!GraphIsValid(graph) || allocator == NULL || allocator->alloc == NULL ||
		!VpGraphScratchFits(scratch, graph, graph->params.ef_construction))
		return -1;
	if (!ReachAlloc(&r, allocator, LoadAcquire(&graph->count)))
	{
		ReachFree(&r, allocator);
		return -1;
	}
	if (r.count == 0 || LoadAcquire(&graph->entry_point) < 0)
	{
		ReachFree(&r, allocator);
		return 0;
	}
	FindMembers(graph, &r);

	for (round = 0; round <= REPAIR_ROUNDS; round++)
	{
		VpNodeId	id;
		int32_t		nqueued = 0;

		Traverse(graph, &r);
		lost = 0;
		for (id = 0; id < r.count; id++)
		{
			if (BitTest(r.reached, id) || !MustReach(graph, id))
				continue;
			lost++;
			/* a duplicate comes back with its head */
			if (!BitTest(r.member, id))
				r.queue[nqueued++] = id;
		}
		if (round == 0)
			stats->unreachable = lost;
		if (lost == 0 || round == REPAIR_ROUNDS)
			break;
		for (id = 0; id < nqueued; id++)
		{
			Reconnect(graph, scratch, &r, r.queue[id]);
			stats->repaired++;
		}
	}
	stats->remaining = lost;
	ReachFree(&r, allocator);
	return 0;
}
