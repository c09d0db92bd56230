/*-------------------------------------------------------------------------
 *
 * vpscan.c
 *	  Ordered scans of an hnsw index: ORDER BY column <op> constant.
 *
 * The first amgettuple call brings the graph up to date with the pages,
 * searches it for the ef_search nearest values and hands their heap TIDs
 * on in distance order.  When the graph keeps approximate codes (8-bit
 * quantized vectors, sparse vectors), every window of hits is re-ranked
 * before it is returned: each row's value is read from the index pages and
 * its distance computed with the ORDER BY operator's own function, so the
 * executor sees rows in exact order (never approximate distances to
 * recheck).  When the executor still asks after a window (a WHERE clause
 * rejected rows), an iterative scan continues the same search for the next
 * window, bounded by max_scan_tuples visits and by work_mem times
 * scan_mem_multiplier of memory.  A graph rebuilt in between (its node ids
 * mean nothing now) ends the scan.
 *
 * Re-ranking is lazy and holds rows back.  A window's candidates wait in
 * approximate order; one is read from the pages only when the executor
 * asks for a row and no row re-ranked so far can be returned yet.  A
 * re-ranked row is returned once its exact distance is below what any
 * candidate not yet re-ranked could have: a candidate's exact distance is
 * at least its approximate one less the most its code can be off
 * (VpCodeError; for L2 that is the triangle inequality), and a later
 * window's candidates are assumed no nearer than the farthest seen so far.
 * So a LIMIT 10 reads about a dozen items rather than the whole window,
 * and a filtered scan that reads many windows loses no row at their
 * boundaries (strict order would skip the rows of a window closer than the
 * last one returned: a quarter of the answers at a 1% filter before rows
 * were held back).
 *
 * With no graph to be had (see vpcache.c), the scan is an exact scan of
 * the pages (vpexact.c): slower, exact, bounded in memory.
 *
 * IDENTIFICATION
 *	  src/vpscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"

#include "vecpersist.h"

/* re-ranked rows held back at most, in windows of ef_search */
#define VP_HELD_WINDOWS		4

/* A re-ranked row, waiting to be returned */
typedef struct VpRankedRow
{
	double		dist;			/* exact, from the ORDER BY operator */
	ItemPointerData tid;
} VpRankedRow;

/* A candidate of a window, waiting to be re-ranked */
typedef struct VpCandidate
{
	double		approx;			/* on the codes, in the operator's scale */
	double		floor;			/* no exact distance of this candidate or of
								 * any after it in the window is below */
	ItemPointerData tid;
	uint64		key;			/* where its item is */
	BlockNumber block;
} VpCandidate;

typedef struct VpScanOpaqueData
{
	bool		started;		/* search begun for this rescan */
	bool		searched;		/* the first window was fetched */
	bool		exhausted;		/* no further window will come */
	bool		rerank;			/* codes are approximate */
	bool		strict;			/* never return a row closer than the last */
	bool		noticed;		/* the memory bound was reported */
	VpGraphIter *iter;			/* the resumable search */
	VpGraphRef	ref;			/* the graph iter belongs to, once started */
	VpExactScan *exact;			/* when there is no graph */
	VpSearchHit *hits;			/* a window, ef_search entries */
	int			ef;
	ItemPointerData *tids;		/* exact codes: the window's rows, returned
								 * as they come */
	int			nhits;
	int			next;

	/* re-ranking (see the file header) */
	VpMetaPageData meta;		/* the index's, at scan start */
	BlockNumber nblocks;		/* its size as last known */
	VpPayload	query;			/* the query, as the index stores values */
	const VpTypeSupport *support;	/* the indexed type's */
	int			metric;			/* the operator class's */
	char	   *payload;		/* VP_MAX_PAYLOAD */
	VpCandidate *cands;			/* the window's candidates, ascending */
	int			ncands;
	int			next_cand;
	VpRankedRow *rows;			/* re-ranked, ascending exact distance */
	int			rows_head;		/* rows before it were returned */
	int			nrows;
	int			rows_cap;
	double		query_norm;		/* inner product: the query's L2 norm */
	double		last_dist;		/* exact distance of the last row returned */
	double		approx_bound;	/* largest approximate distance seen */
	double		error_bound;	/* largest error of a candidate seen */

	MemoryContext cxt;			/* per-scan memory, reset on rescan */
	MemoryContext rowcxt;		/* per re-ranked row */
} VpScanOpaqueData;

typedef VpScanOpaqueData *VpScanOpaque;

/*
 * ambeginscan
 */
IndexScanDesc
vpbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	VpScanOpaque so = palloc0(sizeof(VpScanOpaqueData));

	so->cxt = AllocSetContextCreate(CurrentMemoryContext, "vecpersist scan",
									ALLOCSET_DEFAULT_SIZES);
	so->rowcxt = AllocSetContextCreate(CurrentMemoryContext,
									   "vecpersist scan row",
									   ALLOCSET_SMALL_SIZES);
	scan->opaque = so;
	return scan;
}

/*
 * Let go of the graph or exact scan of the previous query.
 */
static void
EndSearch(VpScanOpaque so)
{
	if (so->started && !so->ref.exact)
		VpGraphClose(&so->ref);
	so->started = false;
}

/*
 * amrescan: take the (new) query vector; the search runs on the first
 * amgettuple.
 */
void
vprescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys,
		 int norderbys)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;
	MemoryContext cxt = so->cxt;
	MemoryContext rowcxt = so->rowcxt;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys,
				scan->numberOfOrderBys * sizeof(ScanKeyData));
	(void) nkeys;
	(void) norderbys;

	EndSearch(so);
	MemoryContextReset(cxt);
	memset(so, 0, sizeof(VpScanOpaqueData));
	so->cxt = cxt;
	so->rowcxt = rowcxt;
	so->approx_bound = -INFINITY;
	so->last_dist = -INFINITY;
}

/*
 * Start the search of this rescan: open the graph (or find that there is
 * none to be had, and start an exact scan), and set up the resumable
 * search.  The graph stays locked for the first window.  Runs in the
 * scan's memory context.
 */
static void
StartSearch(IndexScanDesc scan)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;
	ScanKey		key = scan->orderByData;
	const VpGraph *graph;
	const VpGraphParams *params;
	VpAllocator allocator = VpMakeAllocator(so->cxt);
	VpPayload	payload;
	VpVector	query;
	size_t		budget;

	pgstat_count_index_scan(scan->indexRelation);
	VpGraphOpen(scan->indexRelation, &so->ref, false);
	so->started = true;
	so->ef = VpEfSearch();
	if (so->ref.exact)
	{
		so->exact = VpExactBegin(scan->indexRelation, key, Max(so->ef, 100));
		return;
	}
	graph = so->ref.graph;
	if (graph == NULL || VpGraphCount(graph) == 0)
	{
		VpGraphUnlock(&so->ref);
		so->exhausted = true;
		return;
	}
	params = VpGraphGetParams(graph);
	so->rerank = !VpCodeIsExact(params->codes);
	so->strict = VpIterativeScan() != VP_ITERATIVE_SCAN_RELAXED;
	so->hits = palloc(sizeof(VpSearchHit) * so->ef);
	if (!so->rerank)
		so->tids = palloc(sizeof(ItemPointerData) * so->ef);
	else
	{
		VpReadMeta(scan->indexRelation, &so->meta);
		so->payload = palloc(VP_MAX_PAYLOAD);
		so->cands = palloc(sizeof(VpCandidate) * so->ef);
	}
	VpQueryVector(scan->indexRelation, params, key->sk_argument,
				  (key->sk_flags & SK_ISNULL) != 0, &payload, &query);
	/* re-ranking computes distances from it (data NULL: no usable query) */
	so->query = payload;
	so->support = VpGetTypeSupport(scan->indexRelation);
	so->metric = params->metric;
	if (so->metric == VP_METRIC_INNER_PRODUCT && query.x != NULL)
	{
		double		sq = 0.0;
		int32		i;

		for (i = 0; i < params->dims; i++)
			sq += (double) query.x[i] * query.x[i];
		so->query_norm = sqrt(sq);
	}
	budget = (size_t) ((double) work_mem * 1024.0 * VpScanMemMultiplier());
	so->iter = VpGraphIterCreate(&allocator, graph, &query, so->ef,
								 so->strict && !so->rerank,
								 VpMaxScanTuples(), budget);
	if (so->iter == NULL)
		elog(ERROR, "could not start a search of hnsw index \"%s\"",
			 RelationGetRelationName(scan->indexRelation));
}

/*
 * A distance on codes in the scale of the ORDER BY operator: the graph
 * keeps squared L2 distances, the operator returns the L2 distance.
 */
static inline double
InOrderScale(int metric, float d)
{
	if (metric == VP_METRIC_L2)
		return sqrt(Max((double) d, 0.0));
	return d;
}

/*
 * The most a candidate's approximate distance can be above its exact one:
 * what its code can be off, as the metric sees it, plus float rounding.
 */
static double
CandidateError(VpScanOpaque so, const VpGraph *graph, VpNodeId node,
			   double approx)
{
	const VpGraphParams *p = VpGraphGetParams(graph);
	const void *code = VpGraphCode(graph, node);
	double		e;

	switch (so->metric)
	{
		case VP_METRIC_L1:
			e = VpCodeError(p->codes, p->dims, code, 1);
			break;
		case VP_METRIC_INNER_PRODUCT:
			e = so->query_norm * VpCodeError(p->codes, p->dims, code, 0);
			break;
		default:
			/* L2, and cosine on unit vectors */
			e = VpCodeError(p->codes, p->dims, code, 0);
			break;
	}
	return e + 1e-4 * (fabs(approx) + 1e-3);
}

/*
 * Take the window of n hits: as rows to return (exact codes), or as the
 * candidates to re-rank, with what re-ranking needs of each node (the
 * graph is not held while they are read back).
 */
static void
TakeWindow(VpScanOpaque so, const VpGraph *graph, int n)
{
	int			i;
	double		floor = INFINITY;

	if (!so->rerank)
	{
		for (i = 0; i < n; i++)
		{
			VpGraphItem item;

			VpGraphGetItem(graph, so->hits[i].node, &item);
			VpLabelToTid(item.label, &so->tids[i]);
		}
		so->nhits = n;
		so->next = 0;
		return;
	}
	so->ncands = 0;
	so->next_cand = 0;
	for (i = 0; i < n; i++)
	{
		VpCandidate *c = &so->cands[so->ncands++];
		VpGraphItem item;

		VpGraphGetItem(graph, so->hits[i].node, &item);
		VpLabelToTid(item.label, &c->tid);
		c->key = item.key;
		c->block = item.block;
		c->approx = InOrderScale(so->metric, so->hits[i].distance);
		c->floor = c->approx -
			CandidateError(so, graph, so->hits[i].node, c->approx);
		if (!isnan(c->approx))
			so->approx_bound = Max(so->approx_bound, c->approx);
		if (!isnan(c->floor))
			so->error_bound = Max(so->error_bound, c->approx - c->floor);
	}
	/* each candidate's floor covers those after it too */
	for (i = so->ncands - 1; i >= 0; i--)
	{
		if (!isnan(so->cands[i].floor))
			floor = Min(floor, so->cands[i].floor);
		so->cands[i].floor = floor;
	}
}

/*
 * Fetch the next window of the search; sets so->exhausted when no further
 * one will come.  The first call uses the graph StartSearch locked; later
 * ones continue the search if iterative scans are on and the graph kept
 * its node ids.  Runs in the scan's memory context.
 */
static void
FetchWindow(IndexScanDesc scan)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;
	const VpGraph *graph;
	int			n;

	if (so->searched &&
		(VpIterativeScan() == VP_ITERATIVE_SCAN_OFF ||
		 !VpGraphRelock(&so->ref)))
	{
		so->exhausted = true;
		return;
	}
	so->searched = true;
	graph = so->ref.graph;

	n = VpGraphIterNext(so->iter, graph, so->hits, so->ref.interrupt_check);
	PG_TRY();
	{
		if (n > 0)
			TakeWindow(so, graph, n);
	}
	PG_FINALLY();
	{
		VpGraphUnlock(&so->ref);
	}
	PG_END_TRY();
	if (n <= 0 || VpIterativeScan() == VP_ITERATIVE_SCAN_OFF)
		so->exhausted = true;
	if (!so->noticed && VpGraphIterStopped(so->iter) &&
		VpGraphIterVisits(so->iter) < VpMaxScanTuples())
	{
		so->noticed = true;
		ereport(NOTICE,
				(errmsg("hnsw index scan exceeded work_mem after %lld tuples",
						(long long) VpGraphIterVisits(so->iter)),
				 errhint("Increase hnsw.scan_mem_multiplier to scan more tuples.")));
	}
}

/*
 * Whether row a comes before row b: by exact distance (NaN last), then by
 * heap TID, so that ties come back in a stable order.
 */
static bool
RowBefore(const VpRankedRow *a, const VpRankedRow *b)
{
	bool		an = isnan(a->dist);
	bool		bn = isnan(b->dist);

	if (an != bn)
		return bn;
	if (!an && a->dist != b->dist)
		return a->dist < b->dist;
	return ItemPointerCompare((ItemPointer) &a->tid, (ItemPointer) &b->tid) < 0;
}

/*
 * Re-rank the next candidate: read its item back from the pages, compute
 * its exact distance, and add it to the rows in order.  A candidate whose
 * item died or moved since the graph saw it is dropped.
 */
static void
RerankNext(IndexScanDesc scan)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;
	VpCandidate *c = &so->cands[so->next_cand++];
	VpRankedRow row;
	VpPayload	payload;
	ItemPointerData tid;
	int			i;

	if (!VpReadItemAt(scan->indexRelation, &so->meta, c->block, c->key,
					  &so->nblocks, &tid, so->payload, &payload) ||
		!ItemPointerEquals(&tid, &c->tid))
		return;
	row.tid = c->tid;
	if (so->support->payload_distance != NULL && so->query.data != NULL)
		row.dist = so->support->payload_distance(&payload, &so->query,
												 so->metric);
	else
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(so->rowcxt);

		row.dist = VpExactDistance(scan->indexRelation, scan->orderByData,
								   &payload);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(so->rowcxt);
	}

	/* drop what was returned, make room, insert in order */
	if (so->rows_head > 0)
	{
		memmove(so->rows, so->rows + so->rows_head,
				sizeof(VpRankedRow) * (so->nrows - so->rows_head));
		so->nrows -= so->rows_head;
		so->rows_head = 0;
	}
	if (so->nrows == so->rows_cap)
	{
		so->rows_cap = Max(so->rows_cap * 2, so->ef);
		so->rows = so->rows ?
			repalloc(so->rows, sizeof(VpRankedRow) * so->rows_cap) :
			palloc(sizeof(VpRankedRow) * so->rows_cap);
	}
	for (i = so->nrows; i > 0 && RowBefore(&row, &so->rows[i - 1]); i--)
		so->rows[i] = so->rows[i - 1];
	so->rows[i] = row;
	so->nrows++;
}

/*
 * The exact distance below which no candidate not re-ranked yet can be
 * (see the file header); infinite when none is left.
 */
static double
ReleaseBound(VpScanOpaque so)
{
	double		later = so->exhausted ? INFINITY :
		so->approx_bound - so->error_bound;

	if (so->next_cand < so->ncands)
		return Min(so->cands[so->next_cand].floor, later);
	return later;
}

/*
 * The next row of a re-ranked scan, in exact order; false when there is
 * none.  Runs in the scan's memory context.
 */
static bool
NextRerankedRow(IndexScanDesc scan, ItemPointer tid)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;

	for (;;)
	{
		if (so->rows_head < so->nrows)
		{
			VpRankedRow *row = &so->rows[so->rows_head];

			/*
			 * Return the first row when nothing can come before it (NaN:
			 * every distance is, an unorderable query), or when too many
			 * wait.
			 */
			if (isnan(row->dist) || row->dist <= ReleaseBound(so) ||
				so->nrows - so->rows_head > VP_HELD_WINDOWS * so->ef)
			{
				so->rows_head++;
				if (isnan(row->dist))
				{
					*tid = row->tid;
					return true;
				}
				/* under strict order a late find closer than the last goes */
				if (so->strict && row->dist < so->last_dist)
					continue;
				so->last_dist = Max(so->last_dist, row->dist);
				*tid = row->tid;
				return true;
			}
		}
		if (so->next_cand < so->ncands)
			RerankNext(scan);
		else if (!so->exhausted)
			FetchWindow(scan);
		else if (so->rows_head == so->nrows)
			return false;
	}
}

/*
 * amgettuple: the next heap TID in distance order.
 */
bool
vpgettuple(IndexScanDesc scan, ScanDirection dir)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;
	MemoryContext oldcxt;
	bool		found = false;

	/* the planner only offers hnsw for forward ordered scans */
	Assert(ScanDirectionIsForward(dir));
	(void) dir;

	if (!so->started && (scan->orderByData == NULL || scan->numberOfOrderBys != 1))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot scan an hnsw index without an ORDER BY distance operator")));

	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;
	oldcxt = MemoryContextSwitchTo(so->cxt);
	if (!so->started)
		StartSearch(scan);
	if (so->exact != NULL)
		found = VpExactNext(so->exact, &scan->xs_heaptid);
	else if (so->rerank)
		found = NextRerankedRow(scan, &scan->xs_heaptid);
	else
	{
		for (;;)
		{
			if (so->next < so->nhits)
			{
				scan->xs_heaptid = so->tids[so->next++];
				found = true;
				break;
			}
			if (so->exhausted)
				break;
			FetchWindow(scan);
		}
	}
	MemoryContextSwitchTo(oldcxt);
	return found;
}

/*
 * amendscan
 */
void
vpendscan(IndexScanDesc scan)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;

	EndSearch(so);
	MemoryContextDelete(so->cxt);
	MemoryContextDelete(so->rowcxt);
	pfree(so);
	scan->opaque = NULL;
}
