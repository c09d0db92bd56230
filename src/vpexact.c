/*-------------------------------------------------------------------------
 *
 * vpexact.c
 *	  Exact scans of an hnsw index's pages: the answer when no graph can
 *	  be had, and the exact distance re-ranking uses.
 *
 * When an index's graph does not fit in the shared cache, or every slot
 * is taken, or another session is still building it and the scan does
 * not want to wait (vecpersist.build_wait), the scan reads the index's
 * pages in chain order and computes every live row's distance with the
 * ORDER BY operator's own function.  Results are exact and in exact order.
 * Memory stays bounded: a pass keeps only the next `batch` rows by
 * (distance, heap TID) in a heap, and if the executor asks for more (a
 * filter rejected rows), the next pass keeps the next batch of rows that
 * come after the last one returned.  Each pass is one sequential read of
 * the index.
 *
 * IDENTIFICATION
 *	  src/vpexact.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/skey.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "vecpersist.h"
#include "vppage.h"

/* One row of a pass */
typedef struct ExactRow
{
	double		dist;			/* NaN sorts last */
	ItemPointerData tid;
} ExactRow;

struct VpExactScan
{
	Relation	index;
	ScanKey		orderby;		/* the scan's ORDER BY key */
	int			batch;			/* rows kept per pass */
	bool		have_last;		/* rows up to last were returned */
	ExactRow	last;
	ExactRow   *rows;			/* this pass: a max-heap, then sorted */
	int			nrows;
	int			next;			/* next row to return */
	bool		exhausted;		/* the last pass found fewer than batch */
	MemoryContext rowcxt;		/* reset per row */
};

/*
 * Order of rows: by distance (NaN last, as in an ORDER BY), then by heap
 * TID so that ties split the same way in every pass.
 */
static int
CompareRows(const ExactRow *a, const ExactRow *b)
{
	bool		an = isnan(a->dist);
	bool		bn = isnan(b->dist);

	if (an != bn)
		return an ? 1 : -1;
	if (!an && a->dist != b->dist)
		return a->dist < b->dist ? -1 : 1;
	return ItemPointerCompare((ItemPointer) &a->tid, (ItemPointer) &b->tid);
}

static int
CompareRowsQsort(const void *a, const void *b)
{
	return CompareRows((const ExactRow *) a, (const ExactRow *) b);
}

/*
 * Push a row onto the max-heap of at most batch rows (the worst on top).
 */
static void
HeapOffer(VpExactScan *exact, ExactRow row)
{
	ExactRow   *heap = exact->rows;
	int			i;

	if (exact->nrows == exact->batch)
	{
		int			n = exact->nrows;

		if (CompareRows(&row, &heap[0]) >= 0)
			return;
		/* replace the top and sift down */
		i = 0;
		for (;;)
		{
			int			child = 2 * i + 1;

			if (child >= n)
				break;
			if (child + 1 < n && CompareRows(&heap[child + 1], &heap[child]) > 0)
				child++;
			if (CompareRows(&heap[child], &row) <= 0)
				break;
			heap[i] = heap[child];
			i = child;
		}
		heap[i] = row;
		return;
	}
	i = exact->nrows++;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (CompareRows(&heap[parent], &row) >= 0)
			break;
		heap[i] = heap[parent];
		i = parent;
	}
	heap[i] = row;
}

/*
 * The exact distance of a payload to the scan's query, computed by the
 * ORDER BY operator's own function, so that the order is the order an
 * exact ORDER BY gives.  A NULL query orders every row equally.  Allocates
 * in CurrentMemoryContext.
 */
double
VpExactDistance(Relation index, ScanKey orderby, const VpPayload *payload)
{
	const VpTypeSupport *support = VpGetTypeSupport(index);
	Datum		value;

	if (orderby->sk_flags & SK_ISNULL)
		return 0.0;
	value = support->payload_to_datum(payload);
	return DatumGetFloat8(FunctionCall2Coll(&orderby->sk_func,
											orderby->sk_collation,
											value, orderby->sk_argument));
}

/*
 * One pass over the chain: keep the batch rows that come first after the
 * last row returned, then sort them.
 */
static void
RunPass(VpExactScan *exact)
{
	VpMetaPageData meta;
	VpChainReaderData reader;
	VpReadItem	item;

	exact->nrows = 0;
	exact->next = 0;
	VpReadMeta(exact->index, &meta);
	if (meta.dims == 0)
	{
		exact->exhausted = true;
		return;
	}
	VpChainReaderInit(&reader, exact->index, &meta, InvalidBlockNumber, 0,
					  InvalidOffsetNumber, true);
	while (VpChainReaderNext(&reader, &item))
	{
		ExactRow	row;
		MemoryContext oldcxt;

		CHECK_FOR_INTERRUPTS();
		if (!item.has_payload)
			continue;
		oldcxt = MemoryContextSwitchTo(exact->rowcxt);
		row.dist = VpExactDistance(exact->index, exact->orderby, &item.payload);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(exact->rowcxt);
		row.tid = item.heap_tid;
		if (exact->have_last && CompareRows(&row, &exact->last) <= 0)
			continue;
		HeapOffer(exact, row);
	}
	VpChainReaderEnd(&reader);
	qsort(exact->rows, exact->nrows, sizeof(ExactRow), CompareRowsQsort);
	if (exact->nrows < exact->batch)
		exact->exhausted = true;
}

/*
 * Start an exact scan of index ordered by orderby, keeping batch rows per
 * pass.  Allocates in CurrentMemoryContext (the scan's).
 */
VpExactScan *
VpExactBegin(Relation index, ScanKey orderby, int batch)
{
	VpExactScan *exact = palloc0(sizeof(VpExactScan));

	exact->index = index;
	exact->orderby = orderby;
	exact->batch = Max(batch, 1);
	exact->rows = palloc(sizeof(ExactRow) * exact->batch);
	exact->rowcxt = AllocSetContextCreate(CurrentMemoryContext,
										  "vecpersist exact scan row",
										  ALLOCSET_SMALL_SIZES);
	return exact;
}

/*
 * The next heap TID in exact distance order, or false when every row was
 * returned.
 */
bool
VpExactNext(VpExactScan *exact, ItemPointer tid)
{
	if (exact->next >= exact->nrows)
	{
		if (exact->exhausted)
			return false;
		RunPass(exact);
		if (exact->nrows == 0)
			return false;
	}
	exact->last = exact->rows[exact->next++];
	exact->have_last = true;
	*tid = exact->last.tid;
	return true;
}

/*
 * Free what VpExactBegin allocated.
 */
void
VpExactEnd(VpExactScan *exact)
{
	MemoryContextDelete(exact->rowcxt);
	pfree(exact->rows);
	pfree(exact);
}
