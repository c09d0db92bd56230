/*-------------------------------------------------------------------------
 *
 * vpscan.c
 *	  Ordered scans of an hnsw index: ORDER BY column <op> constant.
 *
 * The first amgettuple call brings the graph up to date with the pages,
 * searches it for the ef_search nearest vectors and copies their heap TIDs
 * out; later calls hand them on in distance order.  When they are used up
 * and the executor still asks (a WHERE clause rejected rows), an iterative
 * scan (vecpersist.iterative_scan) continues the same search for the next
 * ef_search rows, until vecpersist.max_scan_tuples nodes were visited.
 * The search state lives in the scan.  The graph (shared by all backends
 * when the cache is preloaded) is held locked only while one window is
 * searched, never across amgettuple calls; a graph rebuilt or evicted in
 * between (its node ids mean nothing now) ends the scan.
 *
 * IDENTIFICATION
 *	  src/vpscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "vecpersist.h"
#include "vector.h"

typedef struct VpScanOpaqueData
{
	bool		started;		/* search begun for this rescan */
	bool		exhausted;		/* nothing more to return */
	VpGraphIter *iter;			/* the resumable search */
	VpGraphRef	ref;			/* the graph iter belongs to, once started */
	VpSearchHit *hits;			/* ef_search entries */
	ItemPointerData *tids;		/* heap TIDs of the current window */
	int			ef;
	int			nresults;		/* hits of the current window */
	int			next;			/* next hit to return */
	MemoryContext cxt;			/* per-scan memory, reset on rescan */
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
	scan->opaque = so;
	return scan;
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

	if (so->started)
		VpGraphClose(&so->ref);
	MemoryContextReset(so->cxt);
	so->started = false;
	so->exhausted = false;
	so->iter = NULL;
	so->hits = NULL;
	so->tids = NULL;
	so->nresults = 0;
	so->next = 0;
}

/*
 * The query as dims floats.  A NULL query or (for cosine) a zero query
 * orders every row equally, so any direction will do: use the first axis.
 * vec is the query already detoasted (NULL for a NULL query), so that no
 * TOAST access happens while the graph is locked.
 */
static const float *
QueryVector(const Vector *vec, const VpGraphParams *params)
{
	float	   *axis;

	if (vec != NULL)
	{
		if (vec->dim != params->dims)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("different vector dimensions %d and %d",
							params->dims, vec->dim)));
		if (VpVectorIsIndexable(params->metric, vec->x, vec->dim))
			return vec->x;
	}
	axis = palloc0(sizeof(float) * params->dims);
	axis[0] = 1.0f;
	return axis;
}

/*
 * Fetch the next window of hits into so->hits; sets so->exhausted when
 * there is none.  The first call creates the search; later ones continue
 * it if iterative scans are on and the graph kept its node ids.  Runs in
 * the scan's memory context.
 */
static void
NextWindow(IndexScanDesc scan)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;
	VpGraph    *graph;
	int			i;

	so->nresults = 0;
	so->next = 0;
	if (so->started && vp_iterative_scan == VP_ITERATIVE_SCAN_OFF)
	{
		so->exhausted = true;
		return;
	}

	if (!so->started)
	{
		VpAllocator allocator = VpMakeAllocator(so->cxt);
		ScanKey		key = scan->orderByData;
		Vector	   *query = NULL;

		if (!(key->sk_flags & SK_ISNULL))
			query = DatumGetVector(key->sk_argument);
		VpWarnPgvectorSettings();
		VpGraphOpen(scan->indexRelation, &so->ref, false);
		so->started = true;
		graph = so->ref.graph;
		if (graph == NULL || VpGraphCount(graph) == 0)
		{
			VpGraphUnlock(&so->ref);
			so->exhausted = true;
			return;
		}
		so->ef = vp_ef_search;
		so->hits = palloc(sizeof(VpSearchHit) * so->ef);
		so->tids = palloc(sizeof(ItemPointerData) * so->ef);
		so->iter = VpGraphIterCreate(&allocator, graph,
									 QueryVector(query, VpGraphGetParams(graph)),
									 so->ef,
									 vp_iterative_scan != VP_ITERATIVE_SCAN_RELAXED,
									 vp_max_scan_tuples);
		if (so->iter == NULL)
			elog(ERROR, "could not start a search of hnsw index \"%s\"",
				 RelationGetRelationName(scan->indexRelation));
	}
	else if (!VpGraphRelock(&so->ref))
	{
		so->exhausted = true;
		return;
	}
	graph = so->ref.graph;

	so->nresults = VpGraphIterNext(so->iter, graph, so->hits,
								   so->ref.interrupt_check);
	for (i = 0; i < so->nresults; i++)
		VpLabelToTid(VpGraphLabel(graph, so->hits[i].node), &so->tids[i]);
	VpGraphUnlock(&so->ref);
	if (so->nresults <= 0)
	{
		so->nresults = 0;
		so->exhausted = true;
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

	while (so->next >= so->nresults)
	{
		MemoryContext oldcxt;

		if (so->exhausted)
			return false;
		oldcxt = MemoryContextSwitchTo(so->cxt);
		NextWindow(scan);
		MemoryContextSwitchTo(oldcxt);
	}

	scan->xs_heaptid = so->tids[so->next++];
	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;
	return true;
}

/*
 * amendscan
 */
void
vpendscan(IndexScanDesc scan)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;

	if (so->started)
		VpGraphClose(&so->ref);
	MemoryContextDelete(so->cxt);
	pfree(so);
	scan->opaque = NULL;
}
