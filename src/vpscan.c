/*-------------------------------------------------------------------------
 *
 * vpscan.c
 *	  Ordered scans of an hnsw index: ORDER BY column <op> constant.
 *
 * The first amgettuple call brings the graph up to date with the pages,
 * searches it for the ef_search nearest vectors and copies their heap TIDs
 * out; later calls hand them on in distance order.  Nothing of the graph is
 * held between calls.
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
	bool		searched;		/* results computed for this rescan */
	int			nresults;
	int			next;			/* next result to return */
	ItemPointerData *tids;		/* heap TIDs in distance order */
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

	MemoryContextReset(so->cxt);
	so->searched = false;
	so->nresults = 0;
	so->next = 0;
	so->tids = NULL;
}

/*
 * The query as dims floats.  A NULL query or (for cosine) a zero query
 * orders every row equally, so any direction will do: use the first axis.
 */
static const float *
QueryVector(IndexScanDesc scan, const VpGraphParams *params)
{
	ScanKey		key = scan->orderByData;
	float	   *axis;

	if (!(key->sk_flags & SK_ISNULL))
	{
		Vector	   *vec = DatumGetVector(key->sk_argument);

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
 * Search the graph and keep the heap TIDs of the hits.
 */
static void
Search(IndexScanDesc scan)
{
	VpScanOpaque so = (VpScanOpaque) scan->opaque;
	VpGraphHandle handle;
	const VpGraphParams *params;
	VpSearchHit *hits;
	int			ef = vp_ef_search;
	int			i;

	handle = VpGetGraph(scan->indexRelation, ef);
	if (handle.graph == NULL || VpGraphCount(handle.graph) == 0)
		return;
	params = VpGraphGetParams(handle.graph);

	hits = palloc(sizeof(VpSearchHit) * ef);
	so->nresults = VpGraphSearch(handle.graph, handle.scratch,
								 QueryVector(scan, params), ef, hits,
								 handle.interrupt_check);
	so->tids = palloc(sizeof(ItemPointerData) * Max(so->nresults, 1));
	for (i = 0; i < so->nresults; i++)
		VpLabelToTid(VpGraphLabel(handle.graph, hits[i].node), &so->tids[i]);
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

	if (!so->searched)
	{
		MemoryContext oldcxt;

		if (scan->orderByData == NULL || scan->numberOfOrderBys != 1)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot scan an hnsw index without an ORDER BY distance operator")));
		oldcxt = MemoryContextSwitchTo(so->cxt);
		Search(scan);
		MemoryContextSwitchTo(oldcxt);
		so->searched = true;
	}

	if (so->next >= so->nresults)
		return false;
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

	MemoryContextDelete(so->cxt);
	pfree(so);
	scan->opaque = NULL;
}
