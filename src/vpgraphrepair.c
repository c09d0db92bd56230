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
 * from a list of vectors, can: a traversal of the links from the entry
 * point marks what is reachable, and every live node left over is
 * searched for (its nearest reachable nodes) and added to their lists,
 * keeping the link even where the selection heuristic would drop it.  A
 * forced link may push another entry out of a full list, so the traversal
 * is repeated, a few rounds at most.
 *
 * Reachable is not enough: a node may be listed only by far nodes, none of
 * its own neighbours listing it, so that a search coming to its
 * neighbourhood steps past it (measured on 30,000 MNIST images with m 8:
 * 5 of the 10 rows not found by a search for their own vector at ef_search
 * 400 were not found at 1000 either, though reachable).  Such a hidden
 * node, one listed by none of the nodes on its own level-0 list, is linked
 * in the same way.  Checking costs no distance: for each node, the lists
 * of its neighbours are scanned for it, nearest first, until one has it.
 *
 * Nor is being listed by a neighbour: a node whose search at insert time
 * missed its true nearest neighbours has a list of farther ones, and the
 * nodes around it do not list it (on the same MNIST graph, 17 rows missed
 * at ef_search 400 were reachable, not hidden, with their true nearest
 * neighbour neither on their list nor listing them).  After a build, every
 * weakly listed node (by at most m others) is searched for with a small ef
 * (2m) and, if that search does not find it, linked in like a lost node,
 * with a wider search for its neighbours.  On that graph: 4,194 of 30,000
 * nodes checked, 190 linked in, and no row missed at ef_search 400 (17
 * before), for a few percent of the build's time.  The check is left out
 * after a deletion pass, which changes no node's list, and after a load
 * that found no node gone.  After one that did, it looks at every node:
 * filling the holes re-selects lists, which can drop any of their entries
 * (checking only the nodes the gone ones listed left up to 19 of 3,580
 * rows missed at ef_search 40 where the whole check left at most 5).
 *
 * A snapshot load leaves the nodes of items VACUUM recycled since the
 * snapshot gone: no code, never traversed, so every list entry naming one
 * is a hole in the graph (a VACUUM of a fifth of 4,000 rows before a
 * restart left loaded graphs missing 3 to 45 rows at ef_search 40 that a
 * build found).  With VP_REPAIR_GONE a list with such entries is selected
 * again, as an insert would, from its live entries and the live nodes the
 * gone ones listed on that level, which is where a search through them
 * would have gone on.
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
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpgraph_internal.h"

#define Max(a, b)	((a) > (b) ? (a) : (b))
#define Min(a, b)	((a) < (b) ? (a) : (b))

/* rounds of traversal and repair at most */
#define REPAIR_ROUNDS		4

/* forced incoming links per repaired node; more are offered unforced */
#define REPAIR_FORCED		2

/* rounds of the hidden-node pass at most */
#define HIDDEN_ROUNDS		2

/* the search for a lost node's neighbours looks at least this wide */
#define REPAIR_EF_MIN		100

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
 *		Mark what the entry point reaches (through deleted nodes, not
 *		through gone ones), and the duplicates of what it reaches.  The
 *		links of every level count: a search that meets a node on an upper
 *		level goes down to level 0 at that node, so a group of nodes that
 *		only an upper-level link leads to is reachable all the same.
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
		int			level = NodeInfo(graph, id)->level;
		int			lc;

		for (lc = 0; lc <= level; lc++)
		{
			const int32_t *links = NodeLinks(graph, id, lc);
			int			n = LoadAcquire(&links[0]);
			int			i;

			if (n > MaxLinks(graph, lc))
				n = MaxLinks(graph, lc);
			for (i = 0; i < n; i++)
			{
				VpNodeId	nb = LoadAcquire(&links[1 + i]);

				if (nb < 0 || nb >= r->count || BitTest(r->reached, nb) ||
					(LoadFlags(NodeFlags(graph, nb)) & NODE_GONE))
					continue;
				BitSet(r->reached, nb);
				r->queue[tail++] = nb;
			}
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
 *		Search (ef wide) for the nearest reachable nodes of lost node id and
 *		add it to their level-0 lists: the nearest REPAIR_FORCED keep it
 *		whatever the heuristic says, the others as the heuristic decides.
 *		Also offers them to id's own list, so that a search that reaches it
 *		can go on.  Returns whether it found any node to link to.
 */
static int
Reconnect(VpGraph *graph, VpGraphScratch *scratch, const Reach *r,
		  VpNodeId id, int ef)
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
	nfound = SearchLayer(graph, scratch, &q, scratch->found, 1, ef, 0,
						 r->count, NULL);

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
	return offered > 0;
}

/*
 * Hidden
 *		Whether a reachable live node is listed by none of the nodes on its
 *		own level-0 list (see the file header).  The entry point is where
 *		every search starts, so it is never hidden.
 */
static int
Hidden(const VpGraph *graph, const Reach *r, VpNodeId id)
{
	const int32_t *links = NodeLinks(graph, id, 0);
	int			n = LoadAcquire(&links[0]);
	int			i;

	if (id == LoadAcquire(&graph->entry_point))
		return 0;
	if (n > MaxLinks(graph, 0))
		n = MaxLinks(graph, 0);
	for (i = 0; i < n; i++)
	{
		VpNodeId	nb = LoadAcquire(&links[1 + i]);

		if (nb < 0 || nb >= r->count ||
			(LoadFlags(NodeFlags(graph, nb)) & NODE_GONE))
			continue;
		if (ListHas(graph, nb, 0, id))
			return 0;
	}
	return 1;
}

/*
 * RepairUnreachable
 *		Rounds of traversal and Reconnect until every live node is reached
 *		(or REPAIR_ROUNDS).  Returns the live nodes left unreachable; adds
 *		to *unreachable (the first round's count) and *repaired.
 */
static int32_t
RepairUnreachable(VpGraph *graph, VpGraphScratch *scratch, Reach *r,
				  int32_t *unreachable, int32_t *repaired)
{
	int			round;
	int32_t		lost = 0;

	for (round = 0; round <= REPAIR_ROUNDS; round++)
	{
		VpNodeId	id;
		int32_t		nqueued = 0;

		Traverse(graph, r);
		lost = 0;
		for (id = 0; id < r->count; id++)
		{
			if (BitTest(r->reached, id) || !MustReach(graph, id))
				continue;
			lost++;
			/* a duplicate comes back with its head */
			if (!BitTest(r->member, id))
				r->queue[nqueued++] = id;
		}
		if (round == 0)
			*unreachable += lost;
		if (lost == 0 || round == REPAIR_ROUNDS)
			break;
		for (id = 0; id < nqueued; id++)
		{
			if (Reconnect(graph, scratch, r, r->queue[id], scratch->max_ef))
				(*repaired)++;
		}
	}
	return lost;
}

/*
 * RepairHidden
 *		Rounds of finding hidden nodes among the reached ones (r->reached
 *		is current) and linking them in.  Returns whether any link changed.
 */
static int
RepairHidden(VpGraph *graph, VpGraphScratch *scratch, Reach *r,
			 VpRepairStats *stats)
{
	int			round;
	int			changed = 0;

	for (round = 0; round < HIDDEN_ROUNDS; round++)
	{
		VpNodeId	id;
		int32_t		nqueued = 0;

		for (id = 0; id < r->count; id++)
			if (BitTest(r->reached, id) && !BitTest(r->member, id) &&
				MustReach(graph, id) && Hidden(graph, r, id))
				r->queue[nqueued++] = id;
		if (round == 0)
			stats->hidden = nqueued;
		if (nqueued == 0)
			break;
		for (id = 0; id < nqueued; id++)
		{
			if (Reconnect(graph, scratch, r, r->queue[id], scratch->max_ef))
				stats->repaired++;
		}
		changed = 1;
	}
	return changed;
}

/*
 * FoundBySelf
 *		Whether a search for node id's own code, ef wide, finds it.
 */
static int
FoundBySelf(const VpGraph *graph, VpGraphScratch *scratch, const Reach *r,
			VpNodeId id, int ef)
{
	const VpGraphParams *p = &graph->params;
	VpNodeId	ep = LoadAcquire(&graph->entry_point);
	VpQuery		q;
	Candidate	cur;
	int			nfound;
	int			lc;
	int			i;

	VpQueryFromCode(p->codes, p->metric, p->dims, NodeCode(graph, id), &q,
					scratch->qbuf);
	cur.id = ep;
	cur.dist = VpQueryDistance(&q, NodeCode(graph, ep));
	for (lc = NodeInfo(graph, ep)->level; lc > 0; lc--)
		cur = GreedyClosest(graph, &q, cur, lc, r->count, &scratch->ndist, NULL);
	if (cur.id == id)
		return 1;
	scratch->found[0] = cur;
	nfound = SearchLayer(graph, scratch, &q, scratch->found, 1, ef, 0,
						 r->count, NULL);
	for (i = 0; i < nfound; i++)
		if (scratch->found[i].id == id)
			return 1;
	return 0;
}

/* A step of the weak check, shared by the threads doing it */
typedef struct WeakShared
{
	VpGraph    *graph;
	const Reach *r;
	const VpNodeId *ids;		/* the nodes to search for, or to link in */
	uint8_t    *missed;			/* searching: per entry of ids, not found */
	int			linking;		/* link the ids in rather than search */
	int32_t		n;
	int32_t		next;			/* next entry to take (atomic) */
	int32_t		repaired;		/* linking: nodes linked in (atomic) */
	int			ef;
} WeakShared;

typedef struct WeakWorker
{
	WeakShared *shared;
	VpGraphScratch *scratch;
	pthread_t	thread;
} WeakWorker;

static void *
WeakThreadMain(void *arg)
{
	WeakWorker *worker = (WeakWorker *) arg;
	WeakShared *sh = worker->shared;

	for (;;)
	{
		int32_t		j = __atomic_fetch_add(&sh->next, 1, __ATOMIC_RELAXED);

		if (j >= sh->n)
			break;
		if (!sh->linking)
			sh->missed[j] = !FoundBySelf(sh->graph, worker->scratch, sh->r,
										 sh->ids[j], sh->ef);
		else if (Reconnect(sh->graph, worker->scratch, sh->r, sh->ids[j],
						   sh->ef))
			__atomic_fetch_add(&sh->repaired, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * RunWeakStep
 *		Do sh's step for each of its ids with the calling thread and the
 *		extra workers (each with its own scratch).  The searches only read
 *		the graph, so their verdicts are those of one thread; the linking
 *		takes the node locks as concurrent inserts do, so which lists end up
 *		holding a node can depend on the order.  Every signal is blocked in
 *		the extra threads, as in the bulk build.
 */
static void
RunWeakStep(WeakShared *sh, WeakWorker *workers, int nworkers)
{
	sigset_t	all;
	sigset_t	old;
	int			started = 1;
	int			i;

	sh->next = 0;
	if (sh->n < 1000)
		nworkers = 1;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 1; i < nworkers; i++)
	{
		workers[i].shared = sh;
		if (pthread_create(&workers[i].thread, NULL, WeakThreadMain,
						   &workers[i]) != 0)
			break;
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	workers[0].shared = sh;
	WeakThreadMain(&workers[0]);
	for (i = 1; i < started; i++)
		pthread_join(workers[i].thread, NULL);
}

/*
 * RepairWeak
 *		Find the reached live nodes listed by at most m others that a
 *		search for themselves (2m wide) misses, and link them in (see the
 *		file header).  The searches, most of the check's time, and the
 *		linking in of the nodes they miss run on nthreads threads.  Returns
 *		whether any link changed; -1 without memory.
 */
static int
RepairWeak(VpGraph *graph, VpGraphScratch *scratch, Reach *r,
		   const VpAllocator *allocator, int nthreads, VpRepairStats *stats)
{
	int			m = graph->params.m;
	int			check_ef = Min(2 * m, scratch->max_ef);
	uint16_t   *listed;
	uint8_t    *missed;
	WeakShared	sh;
	WeakWorker	workers[VP_GRAPH_MAX_THREADS];
	int			nworkers;
	int32_t		ncandidates = 0;
	int32_t		nqueued = 0;
	VpNodeId	id;
	int32_t		j;

	listed = allocator->alloc(allocator->ctx, sizeof(uint16_t) * ((size_t) r->count + 1));
	if (listed == NULL)
		return -1;
	memset(listed, 0, sizeof(uint16_t) * (size_t) r->count);
	for (id = 0; id < r->count; id++)
	{
		const int32_t *links = NodeLinks(graph, id, 0);
		int			n = LoadAcquire(&links[0]);
		int			i;

		if (LoadFlags(NodeFlags(graph, id)) & NODE_GONE)
			continue;
		if (n > MaxLinks(graph, 0))
			n = MaxLinks(graph, 0);
		for (i = 0; i < n; i++)
		{
			VpNodeId	nb = LoadAcquire(&links[1 + i]);

			if (nb >= 0 && nb < r->count && listed[nb] < UINT16_MAX)
				listed[nb]++;
		}
	}
	for (id = 0; id < r->count; id++)
		if (listed[id] <= m && BitTest(r->reached, id) &&
			!BitTest(r->member, id) && MustReach(graph, id))
			r->queue[ncandidates++] = id;
	allocator->free(allocator->ctx, listed);

	missed = allocator->alloc(allocator->ctx, (size_t) ncandidates + 1);
	if (missed == NULL)
		return -1;

	/* scratches for the extra threads, all allocated here */
	nthreads = Max(1, Min(nthreads, VP_GRAPH_MAX_THREADS));
	workers[0].scratch = scratch;
	for (nworkers = 1; nworkers < nthreads; nworkers++)
	{
		workers[nworkers].scratch = VpGraphScratchCreate(allocator, graph,
														 scratch->max_ef, 0);
		if (workers[nworkers].scratch == NULL)
			break;
	}

	memset(&sh, 0, sizeof(sh));
	sh.graph = graph;
	sh.r = r;
	sh.ids = r->queue;
	sh.missed = missed;
	sh.n = ncandidates;
	sh.ef = check_ef;
	RunWeakStep(&sh, workers, nworkers);
	for (j = 0; j < ncandidates; j++)
		if (missed[j])
			r->queue[nqueued++] = r->queue[j];
	allocator->free(allocator->ctx, missed);
	stats->weak = nqueued;

	sh.linking = 1;
	sh.n = nqueued;
	sh.ef = scratch->max_ef;
	RunWeakStep(&sh, workers, nworkers);
	stats->repaired += sh.repaired;

	for (j = 1; j < nworkers; j++)
		VpGraphScratchDestroy(workers[j].scratch);
	return nqueued > 0;
}

/*
 * IsGone
 *		Whether node id is out of the graph for good (no code).
 */
static inline int
IsGone(const VpGraph *graph, VpNodeId id)
{
	return (LoadFlags(NodeFlags(graph, id)) & NODE_GONE) != 0;
}

static int
CompareCandidates(const void *a, const void *b)
{
	const Candidate *ca = a;
	const Candidate *cb = b;

	if (ca->dist != cb->dist)
		return ca->dist < cb->dist ? -1 : 1;
	return ca->id < cb->id ? -1 : ca->id > cb->id;
}

/*
 * AddCandidate
 *		Add node x to the candidates of node's list, once, up to cap.
 */
static void
AddCandidate(const VpGraph *graph, Candidate *cand, int *ncand, int cap,
			 VpNodeId node, VpNodeId x)
{
	int			k;

	if (*ncand >= cap)
		return;
	for (k = 0; k < *ncand; k++)
		if (cand[k].id == x)
			return;
	cand[*ncand].id = x;
	cand[*ncand].dist = NodeDistance(graph, node, x);
	(*ncand)++;
}

/*
 * FillHoles
 *		If node's list on level lc names gone nodes, select it again from
 *		its live entries and the live nodes those gone nodes listed on that
 *		level (see the file header), with the heuristic of an insert.
 *		Returns the gone entries it had.  Runs while the graph is being
 *		loaded, so nobody else changes the list meanwhile.
 */
static int
FillHoles(VpGraph *graph, VpGraphScratch *scratch, int32_t count,
		  VpNodeId node, int lc)
{
	int32_t    *links = NodeLinks(graph, node, lc);
	int			maxn = MaxLinks(graph, lc);
	int			n = LoadAcquire(&links[0]);
	Candidate  *cand = scratch->cand;
	int			cap = Min(scratch->cand_cap, scratch->max_ef);
	int			ncand = 0;
	int			holes = 0;
	int			k;
	int			i;

	if (n > maxn)
		n = maxn;
	for (i = 0; i < n; i++)
	{
		VpNodeId	id = LoadAcquire(&links[1 + i]);

		if (id < 0 || id >= count)
			continue;
		if (IsGone(graph, id))
			holes++;
		else
			AddCandidate(graph, cand, &ncand, cap, node, id);
	}
	if (holes == 0)
		return 0;
	for (i = 0; i < n; i++)
	{
		VpNodeId	g = LoadAcquire(&links[1 + i]);
		const int32_t *gl;
		int			gn;
		int			j;

		if (g < 0 || g >= count || !IsGone(graph, g))
			continue;
		gl = NodeLinks(graph, g, lc);
		gn = LoadAcquire(&gl[0]);
		if (gn > maxn)
			gn = maxn;
		for (j = 0; j < gn; j++)
		{
			VpNodeId	x = LoadAcquire(&gl[1 + j]);

			if (x >= 0 && x < count && x != node && !IsGone(graph, x))
				AddCandidate(graph, cand, &ncand, cap, node, x);
		}
	}
	qsort(cand, ncand, sizeof(Candidate), CompareCandidates);
	k = SelectNeighbors(graph, scratch, cand, ncand, maxn, NULL,
						VP_INVALID_NODE);

	GraphNodeLock(graph, node);
	for (i = 0; i < k; i++)
		StoreRelease(&links[1 + i], scratch->selected[i]);
	StoreRelease(&links[0], k);
	GraphNodeUnlock(graph, node);
	return holes;
}

/*
 * RepairGone
 *		Fill the holes gone nodes left in the lists of every node that is
 *		not gone itself, on every level; if the entry point itself is gone,
 *		the highest live-coded node takes its place (searches start there).
 */
static void
RepairGone(VpGraph *graph, VpGraphScratch *scratch, int32_t count,
		   VpRepairStats *stats)
{
	VpNodeId	id;
	VpNodeId	ep = LoadAcquire(&graph->entry_point);

	if (ep >= 0 && ep < count && IsGone(graph, ep))
	{
		VpNodeId	best = VP_INVALID_NODE;

		for (id = 0; id < count; id++)
			if (!IsGone(graph, id) &&
				(LoadFlags(NodeFlags(graph, id)) & NODE_LINKED) &&
				(best == VP_INVALID_NODE ||
				 NodeInfo(graph, id)->level > NodeInfo(graph, best)->level))
				best = id;
		if (best != VP_INVALID_NODE)
			__atomic_compare_exchange_n(&graph->entry_point, &ep, best, 0,
										__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	}

	for (id = 0; id < count; id++)
	{
		int			level;
		int			lc;

		if (IsGone(graph, id) ||
			!(LoadFlags(NodeFlags(graph, id)) & NODE_LINKED))
			continue;
		level = NodeInfo(graph, id)->level;
		for (lc = 0; lc <= level; lc++)
			stats->holes += FillHoles(graph, scratch, count, id, lc);
	}
}

/*
 * VpGraphRepair
 *		Fill the holes of gone nodes (VP_REPAIR_GONE), link every live node
 *		the entry point cannot reach, then every hidden one, then
 *		(VP_REPAIR_WEAK) every weak one (see vpgraph.h; its searches on
 *		nthreads threads), then whatever the forced links of the later
 *		steps cut off.  Uses the node locks like an insert, so
 *		searches (and inserts) may go on meanwhile; the counts are then
 *		approximate.
 */
int
VpGraphRepair(VpGraph *graph, const VpAllocator *allocator, int flags,
			  int nthreads, VpRepairStats *stats)
{
	Reach		r;
	VpGraphScratch *scratch;
	int32_t		ignored = 0;
	int			changed;
	int			weak = 0;

	memset(stats, 0, sizeof(VpRepairStats));
	if (!GraphIsValid(graph) || allocator == NULL || allocator->alloc == NULL)
		return -1;
	scratch = VpGraphScratchCreate(allocator, graph,
								   Max(graph->params.ef_construction,
									   REPAIR_EF_MIN), 0);
	if (scratch == NULL)
		return -1;
	if (!ReachAlloc(&r, allocator, LoadAcquire(&graph->count)))
	{
		ReachFree(&r, allocator);
		VpGraphScratchDestroy(scratch);
		return -1;
	}
	if (r.count == 0 || LoadAcquire(&graph->entry_point) < 0)
	{
		ReachFree(&r, allocator);
		VpGraphScratchDestroy(scratch);
		return 0;
	}
	FindMembers(graph, &r);

	if (flags & VP_REPAIR_GONE)
		RepairGone(graph, scratch, r.count, stats);
	stats->remaining = RepairUnreachable(graph, scratch, &r,
										 &stats->unreachable, &stats->repaired);
	changed = RepairHidden(graph, scratch, &r, stats);
	if (flags & VP_REPAIR_WEAK)
		weak = RepairWeak(graph, scratch, &r, allocator, nthreads, stats);
	if (changed || weak > 0)
		stats->remaining = RepairUnreachable(graph, scratch, &r, &ignored,
											 &stats->repaired);
	ReachFree(&r, allocator);
	VpGraphScratchDestroy(scratch);
	return weak < 0 ? -1 : 0;
}
