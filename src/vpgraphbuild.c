/*-------------------------------------------------------------------------
 *
 * vpgraphbuild.c
 *	  Building the HNSW graph: staging nodes, linking them, single inserts
 *	  and bulk builds with several threads.
 *
 * This is standard HNSW (Malkov & Yashunin, "Efficient and robust
 * approximate nearest neighbor search using Hierarchical Navigable Small
 * World graphs"): every node draws a level with mL = 1/ln(m); linking it
 * descends greedily through the levels above the node's own, runs an
 * ef_construction-wide search on each level from the node's own down to 0,
 * chooses neighbours with the paper's heuristic (Algorithm 4) and links
 * both ways.  Like pgvector, the slots the heuristic leaves empty are
 * filled with the closest candidates it pruned, so that every list is as
 * full as it can be: fuller lists reach a given recall at a smaller ef.
 * All distances are between codes (vpcodes.h): a node is linked from its
 * own code, whether it was just inserted or restored from a snapshot.
 *
 * An insert has two steps.  Staging writes the node (code, level, item)
 * under the graph's staging lock, which is held for microseconds and hands
 * out ids in call order (the access method stages in chain order, so keys
 * ascend with ids).  Linking searches the graph and changes neighbour
 * lists, each under its node's spin lock; it may run in several processes
 * or threads at once, for different nodes, and beside searches.  A node is
 * claimed by exactly one linker (NODE_CLAIMED) and marked NODE_LINKED when
 * done.  Publication order, so that a concurrent searcher always sees a
 * consistent graph: the node's code and info are complete before the node
 * count is raised; its own lists are complete before any list names it;
 * list ids are stored before the list's count is raised (release), and the
 * entry point moves last, by compare and swap.  A list re-selected in
 * place may be seen by a reader as a mix of old and new ids; each is a
 * valid node, so the search stays safe and merely approximate, as it is
 * anyway.
 *
 * Exact duplicates.  A node whose code equals that of the closest node its
 * search finds is not linked at all: it joins that node's chain of
 * duplicates (dup_next), and a search returns the chain's live members at
 * the same distance whenever it meets the head.  Without this, hundreds of
 * identical vectors (zero embeddings, defaults) fill each other's lists
 * with zero-distance links and most of them become unreachable.
 *
 * This file includes no PostgreSQL header.  The extra threads of a bulk
 * build run only this module's code, with every signal blocked.
 *
 * IDENTIFICATION
 *	  src/vpgraphbuild.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpgraph_internal.h"

/*
 * NextRandom
 *		splitmix64 step; the state lives in the graph header so that the
 *		sequence of levels survives copies and snapshots.
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

/*
 * StageNode
 *		Write a new node (id = count): level, pool slots, code, item and
 *		empty lists, then publish it by raising the count.  Room is checked
 *		and the code written before anything is committed, with the level
 *		drawn from a copy of the generator, so VP_GRAPH_FULL and
 *		VP_GRAPH_INVALID leave the graph untouched.
 */
static VpGraphInsertResult
StageNode(VpGraph *graph, const VpVector *vector, const VpGraphItem *item,
		  VpNodeId *id_out)
{
	const VpGraphParams *p = &graph->params;
	size_t		code_bytes = VpCodeBytes(p->codes, p->dims, vector);
	VpGraphInsertResult result = VP_GRAPH_INSERTED;
	uint64_t	rng;
	uint64_t	arena_before;
	VpGraphNode *info;
	VpNodeId	id;
	int			level;
	int			lc;

	if (code_bytes == 0)
		return VP_GRAPH_INVALID;

	GraphStageLock(graph);
	id = graph->count;
	rng = graph->rng_state;
	level = RandomLevel(&rng, p->m);
	arena_before = graph->arena_used;
	if (id > 0 && item->key <= NodeInfo(graph, id - 1)->key)
		result = VP_GRAPH_INVALID;	/* keys must ascend with ids */
	else if (id >= p->capacity ||
		(uint32_t) level > graph->pool_slots - graph->pool_used ||
		(p->codes == VP_CODE_SPARSE &&
		 !GraphAllocArena(graph, id, code_bytes)))
		result = VP_GRAPH_FULL;
	else if (!VpCodeEncode(p->codes, p->metric, p->dims, vector,
						   (void *) NodeCode(graph, id)))
	{
		graph->arena_used = arena_before;
		result = VP_GRAPH_INVALID;
	}
	else
	{
		graph->rng_state = rng;
		info = NodeInfo(graph, id);
		info->label = item->label;
		info->key = item->key;
		info->block = item->block;
		info->pool_start = graph->pool_used;
		info->level = (uint8_t) level;
		memset(info->unused, 0, sizeof(info->unused));
		info->dup_next = VP_INVALID_NODE;
		*NodeFlags(graph, id) = 0;
		graph->pool_used += (uint32_t) level;
		for (lc = 0; lc <= level; lc++)
			NodeLinks(graph, id, lc)[0] = 0;
		StoreRelease(&graph->count, id + 1);
		*id_out = id;
	}
	GraphStageUnlock(graph);
	return result;
}

/* ----------------------------------------------------------------------
 * Neighbour selection
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
 * Whether candidate v, at distance d from the base node, is closer to the
 * base than to each of the n nodes in ids (the heuristic's test).
 */
static inline int
CloserToBase(const VpGraph *graph, VpNodeId v, float d, const VpNodeId *ids,
			 int n)
{
	int			j;

	for (j = 0; j < n; j++)
		if (NodeDistance(graph, v, ids[j]) < d)
			return 0;
	return 1;
}

/*
 * SelectNeighbors
 *		The neighbour-selection heuristic (Algorithm 4) with pgvector's
 *		fill: walk cand (ascending distance to the base node) and keep a
 *		candidate if it is closer to the base than to every neighbour kept
 *		so far; then fill the remaining slots, up to maxn, with the closest
 *		candidates the heuristic passed over.  Gone nodes are never chosen.
 *		Chosen ids go to scratch->selected and their verdicts to
 *		scratch->verdicts; returns how many.
 *
 *		With known (the verdicts of the last selection of these candidates,
 *		all but newcomer's), only what the newcomer can change is computed:
 *		a candidate kept before stays kept unless a candidate kept now but
 *		not before is closer to it; one pruned before stays pruned unless
 *		some candidate kept before is pruned now.
 */
int
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
		VpNodeId	v = cand[i].id;
		int			good;

		if (isinf(cand[i].dist))
			continue;			/* gone */
		if (known == NULL)
			good = CloserToBase(graph, v, cand[i].dist, selected, nselected);
		else if (v == newcomer ||
				 (known[i] == VERDICT_PRUNED && removed_any))
		{
			good = CloserToBase(graph, v, cand[i].dist, selected, nselected);
			if (good)
				added[nadded++] = v;
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
			selected[nselected++] = v;
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
 *		Add new_id (at distance d) to node's list on level; the caller holds
 *		node's lock.  If the list is full, re-select among the old
 *		neighbours plus new_id with the same heuristic and fill; gone
 *		neighbours count as infinitely far, so they are the first to go.
 *		With force, new_id stays in the list even if the heuristic drops it
 *		(it takes the farthest slot): reachability repair needs the link.
 *		Ids are written before the count is raised.
 */
void
AddReverseLink(VpGraph *graph, VpGraphScratch *scratch, VpNodeId node,
			   int level, VpNodeId new_id, float d, int force)
{
	int32_t    *links = NodeLinks(graph, node, level);
	uint8_t    *memo = ListVerdicts(graph, scratch->memo, node, level);
	int			maxn = MaxLinks(graph, level);
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
	for (i = 0; i < n; i++)
		if (links[1 + i] == new_id)
			return;				/* already there */
	if (n < maxn)
	{
		if (memo != NULL)
			memo[n] = VERDICT_UNKNOWN;
		StoreRelease(&links[1 + n], new_id);
		StoreRelease(&links[0], n + 1);
		return;
	}

	/* full: gather old neighbours and the new one, sorted by distance */
	for (i = 0; i < n; i++)
	{
		cand[i].id = links[1 + i];
		cand[i].dist = (LoadFlags(NodeFlags(graph, cand[i].id)) & NODE_GONE) ?
			INFINITY : NodeDistance(graph, node, cand[i].id);
		known[i] = memo != NULL ? memo[i] : VERDICT_UNKNOWN;
		if (known[i] == VERDICT_UNKNOWN || isinf(cand[i].dist))
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
	if (force)
	{
		for (i = 0; i < k && scratch->selected[i] != new_id; i++)
			;
		if (i == k)
		{
			if (k < maxn)
				k++;
			scratch->selected[k - 1] = new_id;
			scratch->verdicts[k - 1] = VERDICT_PRUNED;
		}
	}
	if (k < n)
		StoreRelease(&links[0], k);
	for (i = 0; i < k; i++)
		StoreRelease(&links[1 + i], scratch->selected[i]);
	if (memo != NULL)
		memcpy(memo, scratch->verdicts, (size_t) k);
	StoreRelease(&links[0], k);
}

/*
 * CodesEqual
 *		Whether two nodes hold the same code byte for byte.
 */
static int
CodesEqual(const VpGraph *graph, VpNodeId a, VpNodeId b)
{
	if (graph->code_bytes != 0)
		return memcmp(NodeCode(graph, a), NodeCode(graph, b),
					  graph->code_bytes) == 0;
	else
	{
		const VpSparseHeader *ha = NodeCode(graph, a);
		const VpSparseHeader *hb = NodeCode(graph, b);

		return ha->nnz == hb->nnz &&
			memcmp(ha, hb, sizeof(VpSparseHeader) +
				   (size_t) ha->nnz * (sizeof(int32_t) + sizeof(float))) == 0;
	}
}

/*
 * JoinDuplicates
 *		Make node id, whose code equals twin's, a member of twin's duplicate
 *		chain instead of linking it into the graph.  It keeps no links.
 */
static void
JoinDuplicates(VpGraph *graph, VpNodeId id, VpNodeId twin)
{
	VpGraphNode *info = NodeInfo(graph, id);
	VpGraphNode *twin_info = NodeInfo(graph, twin);

	GraphNodeLock(graph, twin);
	info->dup_next = twin_info->dup_next;
	StoreRelease(&twin_info->dup_next, id);
	SetFlags(NodeFlags(graph, twin), NODE_HAS_DUPS);
	GraphNodeUnlock(graph, twin);
}

/*
 * LinkNode
 *		Link a staged node (see VpGraphLinkNode).  Claims it first; from then
 *		on nothing can fail or call out, so a claimed node is always linked.
 */
static int
LinkNode(VpGraph *graph, VpGraphScratch *scratch, VpNodeId id)
{
	const VpGraphParams *p = &graph->params;
	VpGraphNode *info = NodeInfo(graph, id);
	int			level = info->level;
	int			stride = 1 + 2 * p->m;
	int32_t		bound = LoadAcquire(&graph->count);
	VpQuery		q;
	VpNodeId	ep;
	int			ep_level;
	int			top;
	int			nfound;
	int			lc;
	Candidate	cur;

	if (SetFlags(NodeFlags(graph, id), NODE_CLAIMED) &
		(NODE_CLAIMED | NODE_LINKED))
		return 0;
	/* a gone node has no code to place: it stays out of the graph */
	if (LoadFlags(NodeFlags(graph, id)) & NODE_GONE)
	{
		SetFlags(NodeFlags(graph, id), NODE_LINKED);
		return 1;
	}

	/* the very first node becomes the entry point */
	ep = LoadAcquire(&graph->entry_point);
	while (ep == VP_INVALID_NODE)
	{
		if (__atomic_compare_exchange_n(&graph->entry_point, &ep, id, 0,
										__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		{
			SetFlags(NodeFlags(graph, id), NODE_LINKED);
			return 1;
		}
	}
	ep_level = NodeInfo(graph, ep)->level;
	VpQueryFromCode(p->codes, p->metric, p->dims, NodeCode(graph, id), &q,
					scratch->qbuf);

	/* descend greedily to the new node's top level */
	cur.id = ep;
	cur.dist = VpQueryDistance(&q, NodeCode(graph, ep));
	for (lc = ep_level; lc > level; lc--)
		cur = GreedyClosest(graph, &q, cur, lc, bound, &scratch->ndist, NULL);

	/* search and choose neighbours on each level shared with the graph */
	top = level < ep_level ? level : ep_level;
	scratch->found[0] = cur;
	nfound = 1;
	for (lc = top; lc >= 0; lc--)
	{
		int32_t    *links = NodeLinks(graph, id, lc);
		int			k;
		int			i;

		nfound = SearchLayer(graph, scratch, &q, scratch->found, nfound,
							 p->ef_construction, lc, bound, NULL);
		/* a node never links to itself */
		for (i = 0, k = 0; i < nfound; i++)
			if (scratch->found[i].id != id)
				scratch->found[k++] = scratch->found[i];
		nfound = k;
		if (lc == 0 && nfound > 0 && CodesEqual(graph, scratch->found[0].id, id))
		{
			JoinDuplicates(graph, id, scratch->found[0].id);
			SetFlags(NodeFlags(graph, id), NODE_LINKED);
			return 1;
		}
		k = SelectNeighbors(graph, scratch, scratch->found, nfound,
							MaxLinks(graph, lc), NULL, VP_INVALID_NODE);
		GraphNodeLock(graph, id);
		for (i = 0; i < k; i++)
			StoreRelease(&links[1 + i], scratch->selected[i]);
		StoreRelease(&links[0], k);
		GraphNodeUnlock(graph, id);
		if (scratch->memo != NULL)
			memcpy(ListVerdicts(graph, scratch->memo, id, lc),
				   scratch->verdicts, (size_t) k);
		/* keep a copy: once linked back to, others may change the lists */
		scratch->own_links[lc * stride] = k;
		memcpy(&scratch->own_links[lc * stride + 1], scratch->selected,
			   sizeof(int32_t) * (size_t) k);
	}

	/* link back to it */
	for (lc = top; lc >= 0; lc--)
	{
		const int32_t *links = &scratch->own_links[lc * stride];
		int			i;

		for (i = 0; i < links[0]; i++)
		{
			VpNodeId	nb = links[1 + i];

			GraphNodeLock(graph, nb);
			AddReverseLink(graph, scratch, nb, lc, id,
						   NodeDistance(graph, nb, id), 0);
			GraphNodeUnlock(graph, nb);
		}
	}

	/*
	 * If the heuristic of every neighbour passed the new node over, no
	 * search could come to it through them (a node inserted far from the
	 * rest, the first of a new cluster, is the usual case): its nearest
	 * neighbour keeps it anyway, its farthest entry making room.  Lists
	 * that later re-selections change are vpgraphrepair.c's concern.
	 */
	if (scratch->own_links[0] > 0)
	{
		const int32_t *links = &scratch->own_links[0];
		int			listed = 0;
		int			i;

		for (i = 0; i < links[0] && !listed; i++)
			listed = ListHas(graph, links[1 + i], 0, id);
		if (!listed)
		{
			VpNodeId	nearest = links[1];

			GraphNodeLock(graph, nearest);
			AddReverseLink(graph, scratch, nearest, 0, id,
						   NodeDistance(graph, nearest, id), 1);
			GraphNodeUnlock(graph, nearest);
		}
	}

	/* the entry point moves last; another linker may have raised it */
	if (level > ep_level)
	{
		VpNodeId	now = LoadAcquire(&graph->entry_point);

		while (level > NodeInfo(graph, now)->level &&
			   !__atomic_compare_exchange_n(&graph->entry_point, &now, id, 0,
											__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			;
	}
	SetFlags(NodeFlags(graph, id), NODE_LINKED);
	return 1;
}

/*
 * VpGraphStage
 *		Write a node without linking it (see vpgraph.h).
 */
VpGraphInsertResult
VpGraphStage(VpGraph *graph, const VpVector *vector, const VpGraphItem *item,
			 VpNodeId *node_out)
{
	VpNodeId	id = VP_INVALID_NODE;
	VpGraphInsertResult result;

	if (node_out != NULL)
		*node_out = VP_INVALID_NODE;
	if (!GraphIsValid(graph) || vector == NULL || item == NULL)
		return VP_GRAPH_INVALID;
	result = StageNode(graph, vector, item, &id);
	if (node_out != NULL)
		*node_out = id;
	return result;
}

/*
 * VpGraphLinkNode
 *		Link one staged node (see vpgraph.h).
 */
int
VpGraphLinkNode(VpGraph *graph, VpGraphScratch *scratch, VpNodeId node)
{
	if (!NodeIsValid(graph, node) ||
		!VpGraphScratchFits(scratch, graph, graph->params.ef_construction))
		return -1;
	return LinkNode(graph, scratch, node);
}

/*
 * VpGraphInsert
 *		Stage and link one vector (see vpgraph.h).
 */
VpGraphInsertResult
VpGraphInsert(VpGraph *graph, VpGraphScratch *scratch, const VpVector *vector,
			  const VpGraphItem *item, VpNodeId *node_out)
{
	VpGraphInsertResult result;
	VpNodeId	id;

	if (node_out != NULL)
		*node_out = VP_INVALID_NODE;
	if (!GraphIsValid(graph) || vector == NULL || item == NULL ||
		!VpGraphScratchFits(scratch, graph, graph->params.ef_construction))
		return VP_GRAPH_INVALID;
	result = StageNode(graph, vector, item, &id);
	if (result != VP_GRAPH_INSERTED)
		return result;
	LinkNode(graph, scratch, id);
	if (node_out != NULL)
		*node_out = id;
	return VP_GRAPH_INSERTED;
}

/*
 * VpGraphMarkDeleted
 *		Flag a node so that searches skip it in their results; it stays in
 *		the graph as a stepping stone (also when it is the entry point).
 *		Counted once however often it is marked.  Safe beside inserts.
 */
void
VpGraphMarkDeleted(VpGraph *graph, VpNodeId node)
{
	if (!NodeIsValid(graph, node))
		return;
	if (!(SetFlags(NodeFlags(graph, node), NODE_DELETED) & NODE_DELETED))
		__atomic_fetch_add(&graph->deleted_count, 1, __ATOMIC_ACQ_REL);
}

/* ----------------------------------------------------------------------
 * Bulk builds
 * ----------------------------------------------------------------------
 */

/* State shared by the threads of one VpGraphLinkStaged call */
typedef struct LinkShared
{
	VpGraph    *graph;
	int32_t		next;			/* next node to try (atomic) */
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
 *		Take staged nodes in id order and link those nobody claimed, until
 *		none is left or the caller asks to stop.  A node taken is always
 *		finished.
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
		if (LinkNode(sh->graph, worker->scratch, id))
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
 * FirstUnclaimed
 *		The lowest staged node nobody claimed, or the count.
 */
static int32_t
FirstUnclaimed(const VpGraph *graph, int32_t count)
{
	int32_t		i;

	for (i = 0; i < count; i++)
		if (!(LoadFlags(NodeFlags(graph, i)) & (NODE_CLAIMED | NODE_LINKED)))
			return i;
	return count;
}

/*
 * VpGraphLinkStaged
 *		Bulk build, step two: link the staged nodes with nthreads threads
 *		(the calling one included), each with its own scratch (see
 *		vpgraph.h).  No caller code runs in the extra threads, and every
 *		signal is blocked in them, so only the calling thread sees
 *		interrupts: poll is called there between nodes.
 */
int
VpGraphLinkStaged(VpGraph *graph, VpGraphScratch **scratches, int nthreads,
				  int (*poll) (void *arg, int32_t linked), void *arg,
				  const VpAllocator *allocator)
{
	LinkShared	sh;
	LinkWorker	workers[VP_GRAPH_MAX_THREADS];
	sigset_t	all;
	sigset_t	old;
	int			started = 1;
	int			i;
	int32_t		count;
	uint8_t    *memo = NULL;

	if (!GraphIsValid(graph) || scratches == NULL || nthreads < 1 ||
		nthreads > VP_GRAPH_MAX_THREADS)
		return -1;
	for (i = 0; i < nthreads; i++)
		if (!VpGraphScratchFits(scratches[i], graph,
								graph->params.ef_construction))
			return -1;
	count = LoadAcquire(&graph->count);

	memset(&sh, 0, sizeof(sh));
	sh.graph = graph;
	sh.next = FirstUnclaimed(graph, count);
	sh.end = count;
	if (sh.next >= sh.end)
		return 1;

	/*
	 * The verdict memo (see ListVerdicts): all unknown to start with, so
	 * that lists linked before, or in an earlier call, are re-selected in
	 * full once.  Without memory for it the build is only slower.
	 */
	if (allocator != NULL && allocator->alloc != NULL)
		memo = allocator->alloc(allocator->ctx, MemoBytes(graph));
	if (memo != NULL)
		memset(memo, 0, MemoBytes(graph));
	for (i = 0; i < nthreads; i++)
		scratches[i]->memo = memo;

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
	if (memo != NULL && allocator->free != NULL)
		allocator->free(allocator->ctx, memo);

	return FirstUnclaimed(graph, count) >= count ? 1 : 0;
}
