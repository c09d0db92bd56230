/*-------------------------------------------------------------------------
 *
 * vpvacuum.c
 *	  VACUUM for hnsw: mark dead items, announce them (to the graph first,
 *	  then with the vacuum epoch), and recycle pages whose items are all
 *	  dead.
 *
 * ambulkdelete walks the chain and flags every item whose heap tuple is
 * gone (one Generic WAL record per page), then bumps the metapage's
 * vacuum_epoch *after* all flags are written: a graph that read the old
 * epoch before or during the walk will see the new one and redo its
 * deletion pass, so no vacuumed heap TID is ever returned once its slot
 * can be reused.  On a primary, when the index's shared graph reflects the
 * old epoch, VACUUM marks the nodes of the items it flagged itself (it
 * knows their keys; node ids follow chain order) and records the new epoch
 * in the graph, so no session has to walk the index after a VACUUM.  A
 * walk that was cut short (error, cancel, crash) leaves flags no epoch bump
 * announced; the heap slots of those rows are only freed by a later
 * VACUUM, whose walk finds more flagged items than the metapage's
 * items_dead counts and bumps the epoch for them.
 *
 * amvacuumcleanup unlinks pages whose items are all dead (and pages that
 * hold nothing but fragments of dead items) from the chain and pushes them
 * on the free list for appends to reuse.  Pages are unlinked one at a
 * time, each under the metapage's, the previous page's and its own locks,
 * and only when a cleanup lock can be had at once: chain readers keep a pin
 * on the page they stand on, so a page nobody pins is a page nobody is
 * reading, and no walker or insert ever waits for a whole VACUUM.  The tail
 * page is never recycled.  Each unlink moves its items from items_dead to
 * items_recycled in the same WAL record, so the counters stay exact across
 * a crash.
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
 * epoch; WAL-logged.  Returns the new epoch.
 */
static uint64
BumpVacuumEpoch(Relation index, int64 dead_delta)
{
	Buffer		metabuf = ReadBuffer(index, VP_METAPAGE_BLKNO);
	GenericXLogState *xlog;
	VpMetaPage	meta;
	uint64		epoch;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	VpCheckMetaPage(index, BufferGetPage(metabuf));
	xlog = GenericXLogStart(index);
	meta = VpPageGetMeta(GenericXLogRegisterBuffer(xlog, metabuf, 0));
	meta->items_dead += dead_delta;
	meta->vacuum_epoch++;
	epoch = meta->vacuum_epoch;
	VpMetaSetCrc(meta);
	GenericXLogFinish(xlog);
	UnlockReleaseBuffer(metabuf);
	return epoch;
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
	if (blkno == VP_METAPAGE_BLKNO ||
		blkno >= RelationGetNumberOfBlocks(info->index))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a corrupted page at block %u",
						RelationGetRelationName(info->index), blkno),
				 errdetail("The page chain points outside the index."),
				 errhint("Please REINDEX it.")));
	buf = ReadBufferExtended(info->index, MAIN_FORKNUM, blkno, RBM_NORMAL,
							 info->strategy);
	LockBuffer(buf, mode);
	VpCheckDataPage(info->index, BufferGetPage(buf), blkno);
	VpCheckChainOrder(info->index, BufferGetPage(buf), blkno, last_seq);
	return buf;
}

/*
 * The first offset of a page that holds an item header (not a fragment of
 * an item begun on an earlier page).
 */
static inline OffsetNumber
FirstItemOffset(Page page)
{
	return (VpPageGetOpaque(page)->flags & VP_PAGE_FRAGMENT_FIRST) ?
		OffsetNumberNext(FirstOffsetNumber) : FirstOffsetNumber;
}

/* Keys of the items one VACUUM flagged, to hand to the graph */
typedef struct VpFlaggedKeys
{
	uint64	   *keys;
	int64		n;
	int64		size;			/* allocated */
	int64		max;			/* past this many, the graph walks itself */
	bool		overflow;
} VpFlaggedKeys;

static void
RememberKey(VpFlaggedKeys *flagged, uint64 key)
{
	if (flagged->overflow)
		return;
	if (flagged->n == flagged->max)
	{
		flagged->overflow = true;
		return;
	}
	if (flagged->n == flagged->size)
	{
		flagged->size = Min(flagged->size * 2, flagged->max);
		flagged->keys = repalloc_huge(flagged->keys,
									  sizeof(uint64) * flagged->size);
	}
	flagged->keys[flagged->n++] = key;
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
	VpFlaggedKeys flagged;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	/*
	 * The graph gets the keys while they fit in half of maintenance_work_mem
	 * (8 bytes each); the array grows as keys come.
	 */
	memset(&flagged, 0, sizeof(flagged));
	flagged.max = Max((int64) maintenance_work_mem * 1024 / (int64) sizeof(uint64) / 2,
					  1024);
	flagged.size = Min(flagged.max, 8192);
	flagged.keys = palloc(sizeof(uint64) * flagged.size);

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
		for (off = FirstItemOffset(page); off <= maxoff; off = OffsetNumberNext(off))
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

		if (ndead > 0)
		{
			GenericXLogState *xlog = GenericXLogStart(index);
			Page		image = GenericXLogRegisterBuffer(xlog, buf, 0);
			uint32		seq = VpPageGetOpaque(page)->seq;
			int			i;

			for (i = 0; i < ndead; i++)
			{
				VpItemHeader item = (VpItemHeader) PageGetItem(image, PageGetItemId(image, dead[i]));

				item->flags |= VP_ITEM_DEAD;
				RememberKey(&flagged, VpMakeItemKey(seq, dead[i]));
			}
			GenericXLogFinish(xlog);
			stats->tuples_removed += ndead;
			newly_dead += ndead;
		}

		blkno = VpPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buf);
	}

	if (newly_dead > 0 || already_dead != (int64) meta.items_dead)
	{
		/*
		 * Claim the graph's deletions first (so no session walks the index
		 * for this epoch), announce the flags, then mark the nodes, all
		 * before this VACUUM goes on to free the heap slots.  Flags left by
		 * an earlier, interrupted VACUUM are not among our keys: then the
		 * graph has to walk.
		 */
		void	   *handle = NULL;
		uint64		epoch;

		if (!flagged.overflow && already_dead == (int64) meta.items_dead)
			handle = VpVacuumDeletionsBegin(index, meta.vacuum_epoch);
		epoch = BumpVacuumEpoch(index,
								already_dead + newly_dead - (int64) meta.items_dead);
		if (handle != NULL)
			VpVacuumDeletionsEnd(handle, flagged.keys, flagged.n, epoch);
	}
	pfree(flagged.keys);
	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->estimated_count = false;
	return stats;
}

/*
 * What a walk of the chain knows about the page it is on: how many item
 * heads it holds, whether all of them are dead, and whether any part of a
 * live item lies on it (a live head, or a fragment of a live item begun
 * on an earlier page).
 */
typedef struct VpPageVerdict
{
	int			nitems;			/* item heads on the page */
	bool		live;			/* anything on the page belongs to a live item */
} VpPageVerdict;

/*
 * Judge one page (share-locked) of the chain.  *pending is the number of
 * payload bytes of a live item begun on an earlier page that are still to
 * come; updated for the next page.
 */
static void
JudgePage(Relation index, Page page, BlockNumber blkno, Size *pending,
		  VpPageVerdict *verdict)
{
	OffsetNumber off,
				maxoff = PageGetMaxOffsetNumber(page);

	verdict->nitems = 0;
	verdict->live = false;
	if (VpPageGetOpaque(page)->flags & VP_PAGE_FRAGMENT_FIRST)
	{
		Size		n = ItemIdGetLength(PageGetItemId(page, FirstOffsetNumber));

		if (*pending > 0)
		{
			verdict->live = true;
			*pending -= Min(*pending, n);
		}
	}
	else
		*pending = 0;			/* a fragment went missing: not ours to judge */
	for (off = FirstItemOffset(page); off <= maxoff; off = OffsetNumberNext(off))
	{
		VpItemHeader item;
		Size		head;

		if (!ItemIdIsUsed(PageGetItemId(page, off)))
			continue;
		item = (VpItemHeader) VpGetCheckedItem(index, page, blkno, off,
											   VP_ITEM_HEADER_SIZE);
		verdict->nitems++;
		if (item->flags & VP_ITEM_DEAD)
			continue;
		verdict->live = true;
		head = ItemIdGetLength(PageGetItemId(page, off)) - VP_ITEM_HEADER_SIZE;
		if (item->len > head)
			*pending = item->len - head;
	}
}

/*
 * Unlink block blkno (following prevblk, or the head) from the chain and
 * push it on the free list, moving its nitems dead items from the
 * metapage's items_dead to items_recycled, in one WAL record.  Lock order:
 * metapage, previous page, page (chain order, as appends and walkers take
 * them).  The page is only taken if nobody else pins it (a walker stands
 * on it: it stays for the next VACUUM).  Returns false (and does nothing)
 * then, or if the page has become the tail or is no longer linked after
 * prevblk.
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
	if (!ConditionalLockBufferForCleanup(buf))
	{
		ReleaseBuffer(buf);
		if (BufferIsValid(prevbuf))
			UnlockReleaseBuffer(prevbuf);
		UnlockReleaseBuffer(metabuf);
		return false;
	}

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
 * Recycle every page that holds nothing of a live item.  No lock is held
 * between pages (the cost-based delay sleeps with none), so appends and
 * walkers go on throughout.  Returns the number of pages freed.
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
	Size		pending = 0;

	VpReadMeta(index, &meta);
	for (blkno = meta.head_block; BlockNumberIsValid(blkno);)
	{
		Buffer		buf;
		BlockNumber next;
		VpPageVerdict verdict;

		buf = ReadChainPage(info, blkno, BUFFER_LOCK_SHARE, &last_seq);
		next = VpPageGetOpaque(BufferGetPage(buf))->next;
		JudgePage(index, BufferGetPage(buf), blkno, &pending, &verdict);
		UnlockReleaseBuffer(buf);

		if (!verdict.live && BlockNumberIsValid(next) &&
			RecyclePage(index, prevblk, blkno, verdict.nitems))
			freed++;
		else
			prevblk = blkno;
		blkno = next;
	}
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
