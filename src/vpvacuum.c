/*-------------------------------------------------------------------------
 *
 * vpvacuum.c
 *	  VACUUM for hnsw: mark dead items, bump the vacuum epoch, and recycle
 *	  pages whose items are all dead.
 *
 * ambulkdelete walks the chain and flags every item whose heap tuple is
 * gone (one Generic WAL record per page), then bumps the metapage's
 * vacuum_epoch *after* all flags are written: a graph that read the old
 * epoch before or during the walk will see the new one and redo its
 * deletion pass, so no vacuumed heap TID is ever returned once its
 * slot can be reused.  A walk that was cut short (error, cancel, crash)
 * leaves flags that no epoch bump announced; the heap slots of those rows
 * are only freed by a later VACUUM, whose walk finds more flagged items
 * than the metapage's items_dead counts and bumps the epoch for them.
 *
 * amvacuumcleanup unlinks pages whose items are all dead (and the
 * continuation pages of a dead spanning item) from the chain and pushes
 * them on the free list for appends to reuse, holding the chain lock
 * exclusively so no graph build or catch-up is walking the chain.  The
 * tail page is never recycled.  Each unlink moves its items from
 * items_dead to items_recycled in the same WAL record, so the counters
 * stay exact across a crash.
 *
 * IDENTIFICATION
 *	  src/vpvacuum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/lmgr.h"

#include "vecpersist.h"
#include "vppage.h"

/*
 * Add dead_delta to the metapage's dead-item count and advance the vacuum
 * epoch; WAL-logged.
 */
static void
BumpVacuumEpoch(Relation index, int64 dead_delta)
{
	Buffer		metabuf = ReadBuffer(index, VP_METAPAGE_BLKNO);
	GenericXLogState *xlog;
	VpMetaPage	meta;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	VpCheckMetaPage(index, BufferGetPage(metabuf));
	xlog = GenericXLogStart(index);
	meta = VpPageGetMeta(GenericXLogRegisterBuffer(xlog, metabuf, 0));
	meta->items_dead += dead_delta;
	meta->vacuum_epoch++;
	VpMetaSetCrc(meta);
	GenericXLogFinish(xlog);
	UnlockReleaseBuffer(metabuf);
}

/*
 * Read chain page blkno for VACUUM (after its cost-based delay, with its
 * buffer strategy), lock it in mode and check that it is a data page that
 * follows a page stamped *last_seq in the chain (see VpCheckChainOrder).
 * Returned pinned and locked.
 */
static Buffer
ReadChainPage(IndexVacuumInfo *info, BlockNumber blkno, int mode,
			  uint32 *last_seq)
{
	Buffer		buf;

	vacuum_delay_point();
	buf = ReadBufferExtended(info->index, MAIN_FORKNUM, blkno, RBM_NORMAL,
							 info->strategy);
	LockBuffer(buf, mode);
	VpCheckDataPage(info->index, BufferGetPage(buf), blkno);
	VpCheckChainOrder(info->index, BufferGetPage(buf), blkno, last_seq);
	return buf;
}

/*
 * ambulkdelete: flag the items whose heap tuples the callback reports
 * dead.  Concurrent appends only touch the tail, which we lock per page
 * like every other page.
 *
 * The epoch is bumped when this walk flagged items, and also when it
 * found more items already flagged than items_dead counts: flags written
 * by an earlier walk that ended before its bump.  Graphs have not dropped
 * those nodes yet, and their heap slots may be reused once this VACUUM
 * finishes.  items_dead is then set to what the walk counted (only one
 * VACUUM runs on an index at a time, and appends add live items only).
 */
IndexBulkDeleteResult *
vpbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			 IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	VpMetaPageData meta;
	BlockNumber blkno;
	uint32		last_seq = 0;
	int64		newly_dead = 0;
	int64		already_dead = 0;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	VpReadMeta(index, &meta);
	stats->num_index_tuples = 0;
	for (blkno = meta.head_block; BlockNumberIsValid(blkno);)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off,
					maxoff;
		OffsetNumber dead[MaxOffsetNumber];
		int			ndead = 0;

		buf = ReadChainPage(info, blkno, BUFFER_LOCK_EXCLUSIVE, &last_seq);
		page = BufferGetPage(buf);

		maxoff = PageGetMaxOffsetNumber(page);
		if (!(VpPageGetOpaque(page)->flags & VP_PAGE_CONTINUATION))
		{
			for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
			{
				VpItemHeader item;

				if (!ItemIdIsUsed(PageGetItemId(page, off)))
					continue;
				/* checked here, so the loop below may write through dead[] */
				item = (VpItemHeader) VpGetCheckedItem(index, page, blkno, off,
													   VP_ITEM_HEADER_SIZE);
				if (item->flags & VP_ITEM_DEAD)
				{
					already_dead++;
					continue;
				}
				if (callback(&item->heap_tid, callback_state))
					dead[ndead++] = off;
				else
					stats->num_index_tuples++;
			}
		}

		if (ndead > 0)
		{
			GenericXLogState *xlog = GenericXLogStart(index);
			Page		image = GenericXLogRegisterBuffer(xlog, buf, 0);
			int			i;

			for (i = 0; i < ndead; i++)
			{
				VpItemHeader item = (VpItemHeader) PageGetItem(image, PageGetItemId(image, dead[i]));

				item->flags |= VP_ITEM_DEAD;
			}
			GenericXLogFinish(xlog);
			stats->tuples_removed += ndead;
			newly_dead += ndead;
		}

		blkno = VpPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buf);
	}

	if (newly_dead > 0 || already_dead != (int64) meta.items_dead)
		BumpVacuumEpoch(index,
						already_dead + newly_dead - (int64) meta.items_dead);
	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->estimated_count = false;
	return stats;
}

/*
 * Is every item on this (non-continuation) page of index (block blkno)
 * dead?  Returns the item count in *nitems, and in *spans whether an item
 * continues on the pages that follow.
 */
static bool
PageAllDead(Relation index, Page page, BlockNumber blkno, int *nitems,
			bool *spans)
{
	OffsetNumber off,
				maxoff = PageGetMaxOffsetNumber(page);
	bool		all_dead = true;

	*nitems = maxoff;
	*spans = false;
	for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
	{
		VpItemHeader item;

		if (!ItemIdIsUsed(PageGetItemId(page, off)))
			continue;
		item = (VpItemHeader) VpGetCheckedItem(index, page, blkno, off,
											   VP_ITEM_HEADER_SIZE);
		if (!(item->flags & VP_ITEM_DEAD))
			all_dead = false;
		if (item->flags & VP_ITEM_SPANS)
			*spans = true;
	}
	return all_dead;
}

/*
 * Unlink block blkno (following prevblk, or the head) from the chain and
 * push it on the free list, moving its nitems dead items from the
 * metapage's items_dead to items_recycled, in one WAL record.  Lock order:
 * metapage, previous page, page.  Returns false (and does nothing) if the
 * page has become the tail or is no longer linked after prevblk.
 */
static bool
RecyclePage(Relation index, BlockNumber prevblk, BlockNumber blkno,
			int nitems)
{
	Buffer		metabuf,
				prevbuf = InvalidBuffer,
				buf;
	GenericXLogState *xlog;
	VpMetaPage	meta;
	Page		prev = NULL;
	Page		page;
	bool		ok;

	metabuf = ReadBuffer(index, VP_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	VpCheckMetaPage(index, BufferGetPage(metabuf));
	if (BlockNumberIsValid(prevblk))
	{
		prevbuf = ReadBuffer(index, prevblk);
		LockBuffer(prevbuf, BUFFER_LOCK_EXCLUSIVE);
	}
	buf = ReadBuffer(index, blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);

	xlog = GenericXLogStart(index);
	meta = VpPageGetMeta(GenericXLogRegisterBuffer(xlog, metabuf, 0));
	if (BufferIsValid(prevbuf))
		prev = GenericXLogRegisterBuffer(xlog, prevbuf, 0);
	page = GenericXLogRegisterBuffer(xlog, buf, GENERIC_XLOG_FULL_IMAGE);

	ok = meta->tail_block != blkno &&
		(prev ? VpPageGetOpaque(prev)->next : meta->head_block) == blkno;
	if (ok)
	{
		BlockNumber next = VpPageGetOpaque(page)->next;

		if (prev)
			VpPageGetOpaque(prev)->next = next;
		else
			meta->head_block = next;
		VpInitPage(page, VP_PAGE_FREE);
		VpPageGetOpaque(page)->next = meta->free_head;
		meta->free_head = blkno;
		meta->free_pages++;
		meta->items_dead -= Min(meta->items_dead, (uint64) nitems);
		meta->items_recycled += nitems;
		VpMetaSetCrc(meta);
		GenericXLogFinish(xlog);
	}
	else
		GenericXLogAbort(xlog);

	UnlockReleaseBuffer(buf);
	if (BufferIsValid(prevbuf))
		UnlockReleaseBuffer(prevbuf);
	UnlockReleaseBuffer(metabuf);
	return ok;
}

/*
 * Recycle every page whose items are all dead, and the continuation pages
 * of dead spanning items.  Returns the number of pages freed.
 */
static BlockNumber
RecycleDeadPages(IndexVacuumInfo *info)
{
	Relation	index = info->index;
	VpMetaPageData meta;
	BlockNumber prevblk = InvalidBlockNumber;
	BlockNumber blkno;
	BlockNumber freed = 0;
	uint32		last_seq = 0;
	bool		in_live_item = false;	/* continuation pages to keep */

	LockPage(index, VP_CHAIN_LOCK_BLKNO, ExclusiveLock);
	VpReadMeta(index, &meta);
	for (blkno = meta.head_block; BlockNumberIsValid(blkno);)
	{
		Buffer		buf;
		Page		page;
		BlockNumber next;
		bool		dead;
		int			nitems = 0;

		buf = ReadChainPage(info, blkno, BUFFER_LOCK_SHARE, &last_seq);
		page = BufferGetPage(buf);
		next = VpPageGetOpaque(page)->next;
		if (VpPageGetOpaque(page)->flags & VP_PAGE_CONTINUATION)
			dead = !in_live_item;	/* its head is dead or already gone */
		else
		{
			bool		spans;

			dead = PageAllDead(index, page, blkno, &nitems, &spans);
			in_live_item = !dead && spans;
		}
		UnlockReleaseBuffer(buf);

		if (dead && BlockNumberIsValid(next) &&
			RecyclePage(index, prevblk, blkno, nitems))
			freed++;
		else
			prevblk = blkno;
		blkno = next;
	}
	UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ExclusiveLock);
	return freed;
}

/*
 * amvacuumcleanup: recycle dead pages and report the index's statistics.
 */
IndexBulkDeleteResult *
vpvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;
	VpMetaPageData meta;
	BlockNumber freed = 0;

	if (info->analyze_only)
		return stats;

	VpReadMeta(index, &meta);
	if (meta.items_dead > 0)
	{
		freed = RecycleDeadPages(info);
		VpReadMeta(index, &meta);
	}

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->num_index_tuples = (double) (meta.items_appended - meta.items_dead -
										meta.items_recycled);
	stats->estimated_count = false;
	stats->pages_newly_deleted = freed;
	stats->pages_deleted = meta.free_pages;
	stats->pages_free = meta.free_pages;
	return stats;
}
