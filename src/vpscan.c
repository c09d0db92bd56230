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
 * Re-ranked rows are held back across windows: a row is returned only once
 * its exact distance is below what any later window could bring, that is
 * the largest approximate distance seen so far less the largest error of
 * an approximate distance seen so far.  Without this, every window
 * boundary of a filtered scan would lose the rows of the next window whose
 * exact distance falls below the last one returned (strict order skips
 * them): a quarter of the answers at a 1% filter.
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

/* One row of a re-ranked window */
typedef struct VpRankedRow
{
	double		dist;
	ItemPointerData tid;
} VpRankedRow;

typedef struct VpScanOpaqueData
{
	bool		started;		/* search begun for this rescan */
	bool		exhausted;		/* nothing more to return */
	bool		rerank;			/* codes are approximate */
	bool		strict;			/* never return a row closer than the last */
	bool		noticed;		/* the memory bound was reported */
	VpGraphIter *iter;			/* the resumable search */
	VpGraphRef	ref;			/* the graph iter belongs to, once started */
	VpExactScan *exact;			/* when there is no graph */
	VpMetaPageData meta;		/* the index's, at scan start (re-ranking) */
	BlockNumber nblocks;		/* its size as last known (re-ranking) */
	VpPayload	query;			/* the query, as the index stores values */
	const VpTypeSupport *support;	/* the indexed type's */
	int			metric;			/* the operator class's */
	VpSearchHit *hits;			/* ef_search entries */
	VpRankedRow *rows;			/* rows to return (first nresults), then
								 * re-ranked rows held back */
	int			nrows;			/* rows in use */
	int			rows_cap;
	char	   *payload;		/* VP_MAX_PAYLOAD, for re-ranking */
	double		last_dist;		/* exact distance of the last row returned */
	double		approx_bound;	/* largest approximate distance seen */
	double		approx_slack;	/* largest approximate - exact seen */
	int			ef;
	int			nresults;		/* rows ready to return */
	int			next;			/* next row to return */
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

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys,
				scan->numberOfOrderBys * sizeof(ScanKeyData));
	(void) nkeys;
	(void) norderbys;

	EndSearch(so);
	MemoryContextReset(so->cxt);
	so->exhausted = false;
	so->iter = NULL;
	so->exact = NULL;
	so->hits = NULL;
	so->rows = NULL;
	so->nrows = 0;
	so->rows_cap = 0;
	so->nresults = 0;
	so->next = 0;
	so->noticed = false;
	so->approx_bound = -INFINITY;
	so->approx_slack = 0;
	so->last_dist = -INFINITY;
}

static int
CompareRanked(const void *a, const void *b)
{
	const VpRankedRow *ra = a;
	const VpRankedRow *rb = b;
	bool		an = isnan(ra->dist);
	bool		bn = isnan(rb->dist);

	if (an != bn)
		return an ? 1 : -1;
	if (!an && ra->dist != rb->dist)
		return ra->dist < rb->dist ? -1 : 1;
	return ItemPointerCompare((ItemPointer) &ra->tid, (ItemPointer) &rb->tid);
}

/*
 * Make room for n more rows.
 */
static void
ReserveRows(VpScanOpaque so, int n)
{
	if (so->nrows + n <= so->rows_cap)
		return;
	so->rows_cap = Max(so->rows_cap * 2, so->nrows + n);
	so->rows = so->rows ? repalloc(so->rows, sizeof(VpRankedRow) * so->rows_cap)
		: palloc(sizeof(VpRankedRow) * so->rows_cap);
}

/*
 * Add the window of n hits to the rows: with their distances when the
 * codes are exact, else read back from the pages with exact distances (a
 * row whose item died or moved since the graph saw it is dropped), noting
 * the approximate bound and slack (see the file header).
 */
static void
AddWindow(IndexScanDesc scan, const VpGraph *graph, int n)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;
	int			i;

	ReserveRows(so, n);
	for (i = 0; i < n; i++)
	{
		VpGraphItem item;
		VpRankedRow *row = &so->rows[so->nrows];

		VpGraphGetItem(graph, so->hits[i].node, &item);
		VpLabelToTid(item.label, &row->tid);
		if (so->rerank)
		{
			VpPayload	payload;
			ItemPointerData tid;
			MemoryContext oldcxt;
			double		approx = so->hits[i].distance;

			if (!VpReadItemAt(scan->indexRelation, &so->meta, item.block,
							  item.key, &so->nblocks, &tid, so->payload,
							  &payload) ||
				!ItemPointerEquals(&tid, &row->tid))
				continue;
			if (so->support->payload_distance != NULL && so->query.data != NULL)
				row->dist = so->support->payload_distance(&payload, &so->query,
														  so->metric);
			else
			{
				oldcxt = MemoryContextSwitchTo(so->rowcxt);
				row->dist = VpExactDistance(scan->indexRelation,
											scan->orderByData, &payload);
				MemoryContextSwitchTo(oldcxt);
				MemoryContextReset(so->rowcxt);
			}
			if (!isnan(approx))
				so->approx_bound = Max(so->approx_bound, approx);
			if (!isnan(row->dist) && !isnan(approx))
				so->approx_slack = Max(so->approx_slack, approx - row->dist);
		}
		else
			row->dist = so->hits[i].distance;
		so->nrows++;
	}
}

/*
 * Choose the rows to return now among those added: all of them when the
 * codes are exact or no window will follow (final), else, in exact order,
 * those no later window can beat; the rest stay held.  Under strict order
 * a row closer than the last one returned is skipped, as the graph skips
 * its own late finds.
 */
static void
ReleaseRows(VpScanOpaque so, bool final)
{
	int			ready = so->nrows;
	int			i;

	if (so->rerank)
	{
		qsort(so->rows, so->nrows, sizeof(VpRankedRow), CompareRanked);
		if (so->strict)
		{
			int			k = 0;

			for (i = 0; i < so->nrows; i++)
				if (isnan(so->rows[i].dist) || so->rows[i].dist >= so->last_dist)
					so->rows[k++] = so->rows[i];
			so->nrows = k;
		}
		ready = so->nrows;
		if (!final)
		{
			double		safe = so->approx_bound - so->approx_slack;

			for (ready = 0; ready < so->nrows; ready++)
				if (isnan(so->rows[ready].dist) || so->rows[ready].dist > safe)
					break;
			/* hold back a bounded number: past that, the closest go */
			if (so->nrows - ready > VP_HELD_WINDOWS * so->ef)
				ready = so->nrows - VP_HELD_WINDOWS * so->ef;
		}
		if (ready > 0 && !isnan(so->rows[ready - 1].dist))
			so->last_dist = Max(so->last_dist, so->rows[ready - 1].dist);
	}
	so->nresults = ready;
	so->next = 0;
}

/*
 * Drop the rows already returned, keeping those held back.
 */
static void
DropReturned(VpScanOpaque so)
{
	if (so->nresults > 0 && so->nresults < so->nrows)
		memmove(so->rows, so->rows + so->nresults,
				sizeof(VpRankedRow) * (so->nrows - so->nresults));
	so->nrows -= so->nresults;
	so->nresults = 0;
	so->next = 0;
}

/*
 * Start the search of this rescan: open the graph (or find that there is
 * none to be had, and start an exact scan), and set up the resumable
 * search.  Runs in the scan's memory context.
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
	if (so->rerank)
	{
		VpReadMeta(scan->indexRelation, &so->meta);
		so->payload = palloc(VP_MAX_PAYLOAD);
	}
	VpQueryVector(scan->indexRelation, params, key->sk_argument,
				  (key->sk_flags & SK_ISNULL) != 0, &payload, &query);
	/* re-ranking computes distances from it (data NULL: no usable query) */
	so->query = payload;
	so->support = VpGetTypeSupport(scan->indexRelation);
	so->metric = params->metric;
	so->nblocks = 0;
	budget = (size_t) ((double) work_mem * 1024.0 * VpScanMemMultiplier());
	so->iter = VpGraphIterCreate(&allocator, graph, &query, so->ef,
								 so->strict && !so->rerank,
								 VpMaxScanTuples(), budget);
	if (so->iter == NULL)
		elog(ERROR, "could not start a search of hnsw index \"%s\"",
			 RelationGetRelationName(scan->indexRelation));
}

/*
 * Fetch the next rows to return; sets so->exhausted when no further window
 * will come (the rows held back are then all returned).  The first call
 * starts the search; later ones continue it if iterative scans are on and
 * the graph kept its node ids.  Runs in the scan's memory context.
 */
static void
NextWindow(IndexScanDesc scan)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;
	const VpGraph *graph;
	int			n;

	DropReturned(so);
	if (!so->started)
	{
		StartSearch(scan);
		if (so->exhausted || so->exact != NULL)
			return;
	}
	else if (VpIterativeScan() == VP_ITERATIVE_SCAN_OFF ||
			 !VpGraphRelock(&so->ref))
	{
		so->exhausted = true;
		ReleaseRows(so, true);
		return;
	}
	graph = so->ref.graph;

	n = VpGraphIterNext(so->iter, graph, so->hits, so->ref.interrupt_check);
	PG_TRY();
	{
		if (n > 0)
			AddWindow(scan, graph, n);
	}
	PG_FINALLY();
	{
		VpGraphUnlock(&so->ref);
	}
	PG_END_TRY();
	if (n <= 0 || VpIterativeScan() == VP_ITERATIVE_SCAN_OFF)
		so->exhausted = true;
	ReleaseRows(so, so->exhausted);
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
 * amgettuple: the next heap TID in distance order.
 */
bool
vpgettuple(IndexScanDesc scan, ScanDirection dir)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;

	/* the planner only offers hnsw for forward ordered scans */
	Assert(ScanDirectionIsForward(dir));
	(void) dir;

	if (!so->started && (scan->orderByData == NULL || scan->numberOfOrderBys != 1))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot scan an hnsw index without an ORDER BY distance operator")));

	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;
	for (;;)
	{
		MemoryContext oldcxt;

		if (so->exact != NULL)
		{
			bool		found;

			oldcxt = MemoryContextSwitchTo(so->cxt);
			found = VpExactNext(so->exact, &scan->xs_heaptid);
			MemoryContextSwitchTo(oldcxt);
			return found;
		}
		if (so->next < so->nresults)
		{
			scan->xs_heaptid = so->rows[so->next++].tid;
			return true;
		}
		if (so->exhausted)
			return false;
		oldcxt = MemoryContextSwitchTo(so->cxt);
		NextWindow(scan);
		MemoryContextSwitchTo(oldcxt);
	}
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
