/*-------------------------------------------------------------------------
 *
 * vpinsert.c
 *	  aminsert for hnsw: append the value to the log pages (WAL-logged),
 *	  then hand it to the index's graph if one is cached.
 *
 * Appends are serialised by the metapage's exclusive buffer lock, taken
 * first; the tail page and any new page are locked after it (see
 * src/README for the lock order).  An item is packed densely: its head goes
 * on the tail page and the rest continues on new pages (vppage.h).  An
 * append that touches at most four pages (metapage, tail, two new pages:
 * every value up to about 16 kB) is one Generic WAL record; a larger one
 * is one XLOG_FPI record carrying a full image of every page it touches.
 * Either way it appears atomically after a crash.
 *
 * The graph is updated after the pages, outside every buffer lock: the
 * append returns where the item went and its ordinal, so that the graph
 * can take it directly when it has absorbed everything before it (see
 * vpcache.c).
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
#include "vppage.h"

/* pages a Generic WAL record may carry (PostgreSQL's limit) */
#define VP_GENERIC_PAGES	MAX_GENERIC_XLOG_PAGES

/*
 * Fill in what an append reports, from the metapage after the append.
 */
static void
SetResult(VpAppendResult *result, const VpMetaPageData *meta, uint64 key,
		  BlockNumber block, OffsetNumber off)
{
	result->key = key;
	result->block = block;
	result->offnum = off;
	result->ordinal = meta->items_appended;
	result->build_id = meta->build_id;
	result->vacuum_epoch = meta->vacuum_epoch;
	result->dims = meta->dims;
	result->metric = meta->metric;
}

/*
 * Append an item that touches at most VP_GENERIC_PAGES pages, metapage
 * included: one Generic WAL record.  Called with the metapage buffer
 * exclusive-locked; returns with it still locked.
 */
static void
AppendGeneric(Relation index, Buffer metabuf, ItemPointer tid,
			  const VpPayload *payload, VpAppendResult *result)
{
	GenericXLogState *xlog = GenericXLogStart(index);
	VpMetaPage	meta;
	Buffer		tailbuf = InvalidBuffer;
	Buffer		newbufs[VP_GENERIC_PAGES];
	Page		pages[VP_GENERIC_PAGES];
	Page		tail = NULL;
	int			plan;
	int			nnew;
	int			npages = 0;
	int			i;
	OffsetNumber off;
	BlockNumber head_block;

	meta = VpPageGetMeta(GenericXLogRegisterBuffer(xlog, metabuf, 0));
	VpCheckPayload(index, meta, payload);	/* fixes the dims of a new index */
	if (BlockNumberIsValid(meta->tail_block))
	{
		tailbuf = ReadBuffer(index, meta->tail_block);
		LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
		tail = GenericXLogRegisterBuffer(xlog, tailbuf, 0);
		VpCheckDataPage(index, tail, meta->tail_block);
	}
	plan = VpAppendPages(tail, (uint32) payload->len);
	nnew = plan < 0 ? -plan : plan;
	if (plan >= 0 && tail != NULL)
	{
		pages[npages++] = tail;
		head_block = meta->tail_block;
	}
	else
		head_block = InvalidBlockNumber;	/* the first new page */
	for (i = 0; i < nnew; i++)
	{
		Page		prev = npages > 0 ? pages[npages - 1] : tail;
		BlockNumber prevblk = meta->tail_block;

		newbufs[i] = VpNewBuffer(index, meta);
		pages[npages] = GenericXLogRegisterBuffer(xlog, newbufs[i],
												  GENERIC_XLOG_FULL_IMAGE);
		VpInitPage(pages[npages], VP_PAGE_DATA);
		VpLinkPage(meta, prev, prevblk, pages[npages],
				   BufferGetBlockNumber(newbufs[i]));
		if (!BlockNumberIsValid(head_block))
			head_block = BufferGetBlockNumber(newbufs[i]);
		npages++;
	}

	off = VpFillItemPages(pages, npages, tid, payload);
	meta->items_appended++;
	meta->payload_bytes += payload->len;
	meta->last_key = VpMakeItemKey(VpPageGetOpaque(pages[0])->seq, off);
	VpMetaSetCrc(meta);
	SetResult(result, meta, meta->last_key, head_block, off);
	GenericXLogFinish(xlog);

	for (i = 0; i < nnew; i++)
		UnlockReleaseBuffer(newbufs[i]);
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
}

/*
 * Append an item that touches more pages than one Generic WAL record may
 * carry, atomically: every page image is prepared in private memory first,
 * then copied into the buffers and logged as full-page images in one
 * record inside a critical section.  Called with the metapage buffer
 * exclusive-locked.
 */
static void
AppendLarge(Relation index, Buffer metabuf, ItemPointer tid,
			const VpPayload *payload, VpAppendResult *result)
{
	Page		metapage = BufferGetPage(metabuf);
	VpMetaPageData meta;
	Buffer		bufs[VP_MAX_ITEM_PAGES + 1];	/* tail, then new pages */
	Page		images[VP_MAX_ITEM_PAGES + 1];
	int			nbufs = 0;
	int			first;
	int			plan;
	int			nnew;
	int			i;
	OffsetNumber off;

	memcpy(&meta, VpPageGetMeta(metapage), sizeof(VpMetaPageData));
	VpCheckPayload(index, &meta, payload);
	if (BlockNumberIsValid(meta.tail_block))
	{
		bufs[nbufs] = ReadBuffer(index, meta.tail_block);
		LockBuffer(bufs[nbufs], BUFFER_LOCK_EXCLUSIVE);
		images[nbufs] = palloc(BLCKSZ);
		memcpy(images[nbufs], BufferGetPage(bufs[nbufs]), BLCKSZ);
		VpCheckDataPage(index, images[nbufs], meta.tail_block);
		nbufs++;
	}
	plan = VpAppendPages(nbufs > 0 ? images[0] : NULL, (uint32) payload->len);
	nnew = plan < 0 ? -plan : plan;
	if (nnew > VP_MAX_ITEM_PAGES)
		elog(ERROR, "an hnsw item of %zu bytes needs too many pages", payload->len);
	/* the head page: the tail, or the first new page */
	first = (plan >= 0 && nbufs > 0) ? 0 : nbufs;
	for (i = 0; i < nnew; i++)
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
	off = VpFillItemPages(&images[first], nbufs - first, tid, payload);
	meta.items_appended++;
	meta.payload_bytes += payload->len;
	meta.last_key = VpMakeItemKey(VpPageGetOpaque(images[first])->seq, off);
	SetResult(result, &meta, meta.last_key, BufferGetBlockNumber(bufs[first]),
			  off);

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
 * Append one value to the index's log; *result says where it went.
 */
void
VpAppendPayload(Relation index, ItemPointer heap_tid, const VpPayload *payload,
				VpAppendResult *result)
{
	Buffer		metabuf;
	VpMetaPageData meta;
	Page		tail = NULL;
	Buffer		tailbuf = InvalidBuffer;
	int			plan;
	int			touched;

	metabuf = ReadBuffer(index, VP_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	/* check on a copy: the append changes the page only through WAL */
	memcpy(&meta, VpCheckMetaPage(index, BufferGetPage(metabuf)),
		   sizeof(VpMetaPageData));
	VpCheckPayload(index, &meta, payload);

	/* plan on the tail as it is (we hold the metapage: it cannot change) */
	if (BlockNumberIsValid(meta.tail_block))
	{
		tailbuf = ReadBuffer(index, meta.tail_block);
		LockBuffer(tailbuf, BUFFER_LOCK_SHARE);
		tail = BufferGetPage(tailbuf);
	}
	plan = VpAppendPages(tail, (uint32) payload->len);
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
	touched = 1 + (tail != NULL ? 1 : 0) + (plan < 0 ? -plan : plan);

	if (touched <= VP_GENERIC_PAGES)
		AppendGeneric(index, metabuf, heap_tid, payload, result);
	else
		AppendLarge(index, metabuf, heap_tid, payload, result);
	UnlockReleaseBuffer(metabuf);
}

/*
 * aminsert: log the value, then let a cached graph of the index take it, so
 * that the next scan, in any session, sees the row without reading pages.
 */
bool
vpinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
		 Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
		 IndexInfo *indexInfo)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	const VpTypeSupport *support;
	VpPayload	payload;
	VpAppendResult appended;

	(void) heap;
	(void) checkUnique;
	(void) indexUnchanged;
	(void) indexInfo;

	if (isnull[0])
		return false;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "vecpersist insert",
								ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	support = VpGetTypeSupport(index);
	support->datum_to_payload(values[0], &payload);
	VpCheckIndexable(index, support, &payload);
	if (VpPayloadIsIndexable(VpGetMetric(index), &payload))
	{
		VpAppendPayload(index, heap_tid, &payload, &appended);
		VpGraphTakeAppended(index, &appended, &payload, heap_tid);
	}

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	return false;
}
