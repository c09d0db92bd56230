/*-------------------------------------------------------------------------
 *
 * vpinsert.c
 *	  aminsert for hnsw: append the vector to the log pages (WAL-logged),
 *	  then let this backend's graph absorb it.
 *
 * Appends are serialised by the metapage's exclusive buffer lock, taken
 * first; the tail page and any new page are locked after it (see
 * src/README for the lock order).  An item that fits on a page is logged
 * with Generic WAL (metapage, tail, new page: at most three pages).  A
 * vector that spans pages is written with one XLOG_FPI record carrying a
 * full image of every page it touches, so it appears atomically after a
 * crash.
 *
 * IDENTIFICATION
 *	  src/vpinsert.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/rmgr.h"
#include "access/xloginsert.h"
#include "catalog/pg_control.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "vecpersist.h"
#include "vector.h"
#include "vppage.h"

/*
 * Append an item that fits on one page.  Called with the metapage buffer
 * exclusive-locked; returns with it still locked.
 */
static void
AppendSmall(Relation index, Buffer metabuf, ItemPointer tid,
			const float *x, int dims)
{
	GenericXLogState *xlog = GenericXLogStart(index);
	VpMetaPage	meta;
	Buffer		tailbuf = InvalidBuffer;
	Buffer		newbuf = InvalidBuffer;
	Page		tail = NULL;
	Page		target;

	meta = VpPageGetMeta(GenericXLogRegisterBuffer(xlog, metabuf, 0));
	VpCheckDims(index, meta, dims);

	if (BlockNumberIsValid(meta->tail_block))
	{
		tailbuf = ReadBuffer(index, meta->tail_block);
		LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
		tail = GenericXLogRegisterBuffer(xlog, tailbuf, 0);
	}

	if (tail != NULL && VpPageFits(tail, dims))
		target = tail;
	else
	{
		newbuf = VpNewBuffer(index, meta);
		target = GenericXLogRegisterBuffer(xlog, newbuf,
										   GENERIC_XLOG_FULL_IMAGE);
		VpInitPage(target, VP_PAGE_DATA);
		VpLinkPage(meta, tail, meta->tail_block, target,
				   BufferGetBlockNumber(newbuf));
	}

	VpFillItemPages(&target, 1, tid, x, dims);
	meta->items_appended++;
	VpMetaSetCrc(meta);
	GenericXLogFinish(xlog);

	if (BufferIsValid(newbuf))
		UnlockReleaseBuffer(newbuf);
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
}

/*
 * Append a vector that spans npages pages, atomically: every page image
 * is prepared in private memory first, then copied into the buffers and
 * logged as full-page images in one record inside a critical section.
 * Called with the metapage buffer exclusive-locked.
 */
static void
AppendSpanning(Relation index, Buffer metabuf, ItemPointer tid,
			   const float *x, int dims, int npages)
{
	Page		metapage = BufferGetPage(metabuf);
	VpMetaPageData meta;
	Buffer		bufs[VP_MAX_ITEM_PAGES + 1];	/* tail, then new pages */
	Page		images[VP_MAX_ITEM_PAGES + 1];
	int			nbufs = 0;
	int			first_new;
	int			i;

	memcpy(&meta, VpPageGetMeta(metapage), sizeof(VpMetaPageData));
	VpCheckDims(index, &meta, dims);

	if (BlockNumberIsValid(meta.tail_block))
	{
		bufs[nbufs] = ReadBuffer(index, meta.tail_block);
		LockBuffer(bufs[nbufs], BUFFER_LOCK_EXCLUSIVE);
		images[nbufs] = palloc(BLCKSZ);
		memcpy(images[nbufs], BufferGetPage(bufs[nbufs]), BLCKSZ);
		nbufs++;
	}
	first_new = nbufs;
	for (i = 0; i < npages; i++)
	{
		Page		prev = (nbufs > 0) ? images[nbufs - 1] : NULL;
		BlockNumber prevblk = (nbufs > 0) ?
			BufferGetBlockNumber(bufs[nbufs - 1]) : InvalidBlockNumber;

		bufs[nbufs] = VpNewBuffer(index, &meta);
		images[nbufs] = palloc(BLCKSZ);
		VpInitPage(images[nbufs], VP_PAGE_DATA);
		VpLinkPage(&meta, prev, prevblk, images[nbufs],
				   BufferGetBlockNumber(bufs[nbufs]));
		nbufs++;
	}
	VpFillItemPages(&images[first_new], npages, tid, x, dims);
	meta.items_appended++;

	XLogEnsureRecordSpace(nbufs + 1, 0);

	START_CRIT_SECTION();
	VpMetaSetCrc(&meta);
	memcpy(VpPageGetMeta(metapage), &meta, sizeof(VpMetaPageData));
	MarkBufferDirty(metabuf);
	for (i = 0; i < nbufs; i++)
	{
		memcpy(BufferGetPage(bufs[i]), images[i], BLCKSZ);
		MarkBufferDirty(bufs[i]);
	}
	if (RelationNeedsWAL(index))
	{
		XLogRecPtr	recptr;

		XLogBeginInsert();
		XLogRegisterBuffer(0, metabuf, REGBUF_FORCE_IMAGE | REGBUF_STANDARD);
		for (i = 0; i < nbufs; i++)
			XLogRegisterBuffer(i + 1, bufs[i],
							   REGBUF_FORCE_IMAGE | REGBUF_STANDARD);
		recptr = XLogInsert(RM_XLOG_ID, XLOG_FPI);
		PageSetLSN(metapage, recptr);
		for (i = 0; i < nbufs; i++)
			PageSetLSN(BufferGetPage(bufs[i]), recptr);
	}
	END_CRIT_SECTION();

	for (i = 0; i < nbufs; i++)
	{
		UnlockReleaseBuffer(bufs[i]);
		pfree(images[i]);
	}
}

/*
 * Append one vector to the index's log.
 */
void
VpAppendVector(Relation index, ItemPointer heap_tid, const float *x, int dims)
{
	Buffer		metabuf;
	int			npages = VpItemPages(dims);

	metabuf = ReadBuffer(index, VP_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	VpCheckMetaPage(index, BufferGetPage(metabuf));
	if (npages == 1)
		AppendSmall(index, metabuf, heap_tid, x, dims);
	else
		AppendSpanning(index, metabuf, heap_tid, x, dims, npages);
	UnlockReleaseBuffer(metabuf);
}

/*
 * aminsert: log the vector, then bring this backend's graph (if it has
 * one) up to date so its next scan sees the row without a page walk.
 */
bool
vpinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
		 Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
		 IndexInfo *indexInfo)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	Vector	   *vec;

	(void) heap;
	(void) checkUnique;
	(void) indexUnchanged;
	(void) indexInfo;

	if (isnull[0])
		return false;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "vecpersist insert",
								ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	vec = DatumGetVector(values[0]);
	if (VpVectorIsIndexable(VpGetMetric(index), vec->x, vec->dim))
	{
		VpAppendVector(index, heap_tid, vec->x, vec->dim);
		VpCatchUpIfCached(index);
	}

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	return false;
}
