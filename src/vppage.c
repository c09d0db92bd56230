/*-------------------------------------------------------------------------
 *
 * vppage.c
 *	  Page-level helpers for the hnsw index: page and metapage setup,
 *	  item layout with CRC32C, page allocation (free list or extension),
 *	  the sequential chain reader that turns the pages back into values,
 *	  and the read of one item by its location (re-ranking).
 *
 * The format itself is described in vppage.h.  Everything here works on
 * page images and buffers handed in by the callers, which own locking and
 * WAL; the readers are the exception and take their own short share
 * locks, one or two pages at a time.
 *
 * IDENTIFICATION
 *	  src/vppage.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "vppage.h"

/*
 * Initialise an empty index page with our special space.
 */
void
VpInitPage(Page page, uint16 flags)
{
	VpPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(VpPageOpaqueData));
	opaque = VpPageGetOpaque(page);
	opaque->next = InvalidBlockNumber;
	opaque->seq = 0;
	opaque->flags = flags;
	opaque->page_id = VP_PAGE_ID;
}

/*
 * Initialise the metapage of an empty index.  pd_lower is moved past the
 * metadata so WAL never treats it as the page's hole.
 */
void
VpInitMetaPage(Page page, int metric, int elem_kind, int m,
			   int ef_construction)
{
	VpMetaPage	meta;

	VpInitPage(page, VP_PAGE_META);
	meta = VpPageGetMeta(page);
	memset(meta, 0, sizeof(VpMetaPageData));
	meta->magic = VP_MAGIC_NUMBER;
	meta->version = VP_FORMAT_VERSION;
	meta->metric = (uint16) metric;
	meta->elem_kind = (uint16) elem_kind;
	meta->m = (uint16) m;
	meta->ef_construction = (uint16) ef_construction;
	meta->head_block = InvalidBlockNumber;
	meta->tail_block = InvalidBlockNumber;
	meta->free_head = InvalidBlockNumber;
	meta->next_seq = 1;
	VpMetaSetCrc(meta);
	((PageHeader) page)->pd_lower =
		((char *) meta + sizeof(VpMetaPageData)) - (char *) page;
}

/*
 * The CRC32C of the metadata, its crc field left out.
 */
static pg_crc32c
MetaCrc(const VpMetaPageData *meta)
{
	const char *start = (const char *) meta;
	size_t		before = offsetof(VpMetaPageData, crc);
	size_t		after = before + sizeof(pg_crc32c);
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, start, before);
	COMP_CRC32C(crc, start + after, sizeof(VpMetaPageData) - after);
	FIN_CRC32C(crc);
	return crc;
}

/*
 * Seal the metadata after a change: every writer calls this last, before
 * the page is logged or marked dirty.
 */
void
VpMetaSetCrc(VpMetaPage meta)
{
	meta->crc = MetaCrc(meta);
}

/*
 * Return the metadata of a metapage after checking that it is one of ours,
 * intact, and of a format this build understands.  A page that is not a
 * vecpersist metapage at all is index corruption; one whose metadata fail
 * their checksum had bytes changed under us (data corruption).  An index
 * of an older format (0.1.0) is intact but must be rebuilt.  The checksum
 * of format 2 covered a shorter struct, so its version is recognised
 * first; format 1 had no checksum.
 */
VpMetaPage
VpCheckMetaPage(Relation index, Page page)
{
	VpMetaPage	meta = VpPageGetMeta(page);

	if (PageIsNew(page) ||
		PageGetSpecialSize(page) != MAXALIGN(sizeof(VpPageOpaqueData)) ||
		VpPageGetOpaque(page)->page_id != VP_PAGE_ID ||
		meta->magic != VP_MAGIC_NUMBER)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errhint("Please REINDEX it.")));
	if (meta->version == 1 || meta->version == 2)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" was built by vecpersist 0.1.0 and must be rebuilt",
						RelationGetRelationName(index)),
				 errdetail("Its pages have format version %u; this version of vecpersist reads version %d.",
						   meta->version, VP_FORMAT_VERSION),
				 errhint("REINDEX INDEX %s;",
						 quote_identifier(RelationGetRelationName(index)))));
	if (MetaCrc(meta) != meta->crc)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("index \"%s\" has a corrupted metapage at block %u",
						RelationGetRelationName(index), VP_METAPAGE_BLKNO),
				 errdetail("The metapage's checksum does not match its contents."),
				 errhint("Please REINDEX it.")));
	if (meta->version != VP_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has format version %u, but this build of vecpersist reads version %d",
						RelationGetRelationName(index), meta->version,
						VP_FORMAT_VERSION),
				 errhint("Please REINDEX it.")));
	return meta;
}

/*
 * Copy the metadata out under a short share lock.
 */
void
VpReadMeta(Relation index, VpMetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, VP_METAPAGE_BLKNO);

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(meta, VpCheckMetaPage(index, BufferGetPage(buf)),
		   sizeof(VpMetaPageData));
	UnlockReleaseBuffer(buf);
}

/*
 * Get a page for the chain: the first page of the free list if any (the
 * free list head in *meta is advanced: the caller WAL-logs that change
 * with the rest), else a new block.  Returned pinned and exclusive-locked;
 * the caller initialises it.  The caller holds the metapage exclusively,
 * which is what serialises free-list pops.
 */
Buffer
VpNewBuffer(Relation index, VpMetaPage meta)
{
	Buffer		buf;
	bool		needLock;

	while (BlockNumberIsValid(meta->free_head))
	{
		Page		page;
		VpPageOpaque opaque;

		buf = ReadBuffer(index, meta->free_head);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		opaque = VpPageGetOpaque(page);
		if (PageIsNew(page) || opaque->page_id != VP_PAGE_ID ||
			!(opaque->flags & VP_PAGE_FREE))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("index \"%s\" has a free list entry at block %u that is not a free page",
							RelationGetRelationName(index), meta->free_head),
					 errhint("Please REINDEX it.")));
		meta->free_head = opaque->next;
		if (meta->free_pages > 0)
			meta->free_pages--;
		return buf;
	}

	needLock = !RELATION_IS_LOCAL(index);
	if (needLock)
		LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBuffer(index, P_NEW);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (needLock)
		UnlockRelationForExtension(index, ExclusiveLock);
	return buf;
}

/*
 * CRC32C of an item's identity, length and payload.
 */
pg_crc32c
VpItemCrc(ItemPointer heap_tid, const void *payload, uint32 len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, heap_tid, sizeof(ItemPointerData));
	COMP_CRC32C(crc, &len, sizeof(uint32));
	COMP_CRC32C(crc, payload, len);
	FIN_CRC32C(crc);
	return crc;
}

/*
 * The payload bytes of a value of this kind.
 */
Size
VpPayloadBytes(VpElementKind kind, uint32 dims, int32 nnz)
{
	switch (kind)
	{
		case VP_ELEM_FLOAT32:
			return sizeof(float) * (Size) dims;
		case VP_ELEM_FLOAT16:
			return sizeof(uint16) * (Size) dims;
		case VP_ELEM_BIT:
			return ((Size) dims + 7) / 8;
		case VP_ELEM_SPARSE:
			return (sizeof(int32) + sizeof(float)) * (Size) nnz;
	}
	return 0;
}

/*
 * Check a payload against the index (and fix the dimensions of an index
 * that had none): every value of one index has the same kind and
 * dimensions, since no graph can mix them.
 */
void
VpCheckPayload(Relation index, VpMetaPage meta, const VpPayload *payload)
{
	if ((int) meta->elem_kind != (int) payload->kind ||
		payload->len != VpPayloadBytes(payload->kind, payload->dims,
									   payload->nnz) ||
		payload->len > VP_MAX_PAYLOAD)
		elog(ERROR, "hnsw index \"%s\" got a value of the wrong kind or size",
			 RelationGetRelationName(index));
	if (meta->dims == 0)
		meta->dims = (uint32) payload->dims;
	else if (meta->dims != (uint32) payload->dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %u dimensions, not %d", meta->dims,
						payload->dims),
				 errdetail("Every vector in hnsw index \"%s\" must have the same number of dimensions.",
						   RelationGetRelationName(index))));
}

/*
 * HeadRoom
 *		Payload bytes a head item may have on page (0 if none fits).
 */
static Size
HeadRoom(Page page)
{
	Size		free = MAXALIGN_DOWN(PageGetFreeSpace(page));

	return free > VP_ITEM_HEADER_SIZE ? free - VP_ITEM_HEADER_SIZE : 0;
}

/*
 * VpAppendPages
 *		How an item with len payload bytes lays out when appended after
 *		tail (NULL: the chain is empty): returns the number of new pages it
 *		needs, negative when its head goes on a new page rather than on the
 *		tail (-n: n new pages, the first holding the head).  The head goes
 *		on the tail when the whole item fits there, or when at least
 *		VP_MIN_HEAD_PAYLOAD bytes do.
 */
int
VpAppendPages(Page tail, uint32 len)
{
	Size		room = tail ? HeadRoom(tail) : 0;
	Size		rest;
	int			pages;

	if (tail != NULL && room >= len)
		return 0;
	if (tail != NULL && room >= VP_MIN_HEAD_PAYLOAD)
		rest = len - room;
	else
	{
		/* the head starts a fresh page */
		room = VP_MAX_ITEM_SIZE - VP_ITEM_HEADER_SIZE;
		if (room >= len)
			return -1;
		rest = len - room;
		pages = 1 + (int) ((rest + VP_MAX_ITEM_SIZE - 1) / VP_MAX_ITEM_SIZE);
		return -pages;
	}
	return (int) ((rest + VP_MAX_ITEM_SIZE - 1) / VP_MAX_ITEM_SIZE);
}

/*
 * Write one item into page images: its head on pages[0] (as much as fits
 * there), one fragment at offset 1 of each following page, which is
 * flagged VP_PAGE_FRAGMENT_FIRST and must be empty.  npages must be what
 * VpAppendPages planned.  Returns the head's offset.  Errors only on
 * can't-happen conditions, so callers may run it on private copies before
 * a critical section.
 */
OffsetNumber
VpFillItemPages(Page *pages, int npages, ItemPointer heap_tid,
				const VpPayload *payload)
{
	Size		room = HeadRoom(pages[0]);
	uint32		len = (uint32) payload->len;
	Size		head = Min((Size) len, room);
	Size		item_size = VP_ITEM_HEADER_SIZE + head;
	VpItemHeaderData *item;
	OffsetNumber off;
	Size		done;
	int			i;

	item = palloc(item_size);
	item->heap_tid = *heap_tid;
	item->flags = (head < len) ? VP_ITEM_SPANS : 0;
	item->len = len;
	item->crc = VpItemCrc(heap_tid, payload->data, len);
	memcpy(VpItemGetPayload(item), payload->data, head);
	off = PageAddItem(pages[0], (Item) item, item_size, InvalidOffsetNumber,
					  false, false);
	if (off == InvalidOffsetNumber)
		elog(ERROR, "could not add an item of %u bytes to an hnsw index page", len);
	pfree(item);

	done = head;
	for (i = 1; i < npages; i++)
	{
		Size		n = Min((Size) len - done, (Size) VP_MAX_ITEM_SIZE);

		Assert(PageGetMaxOffsetNumber(pages[i]) == 0);
		VpPageGetOpaque(pages[i])->flags |= VP_PAGE_FRAGMENT_FIRST;
		if (PageAddItem(pages[i], (Item) ((const char *) payload->data + done),
						n, InvalidOffsetNumber, false, false) != FirstOffsetNumber)
			elog(ERROR, "could not add a fragment to an hnsw index page");
		done += n;
	}
	if (done != len)
		elog(ERROR, "an hnsw item of %u bytes did not fit the pages planned for it", len);
	return off;
}

/*
 * Append page (block blkno) to the chain after tail (block tailblk, or no
 * tail when the chain is empty), stamping it with the next sequence number.
 * Works on images; the caller logs all three.
 */
void
VpLinkPage(VpMetaPage meta, Page tail,
		   BlockNumber tailblk PG_USED_FOR_ASSERTS_ONLY, Page page,
		   BlockNumber blkno)
{
	VpPageOpaque opaque = VpPageGetOpaque(page);

	opaque->next = InvalidBlockNumber;
	opaque->seq = meta->next_seq++;
	opaque->flags &= ~VP_PAGE_FREE;
	opaque->flags |= VP_PAGE_DATA;
	if (tail != NULL)
	{
		Assert(meta->tail_block == tailblk);
		VpPageGetOpaque(tail)->next = blkno;
	}
	else
		meta->head_block = blkno;
	meta->tail_block = blkno;
}

/*
 * Report a malformed data page.
 */
static void
ReportCorruptPage(Relation index, BlockNumber blkno, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" has a corrupted page at block %u",
					RelationGetRelationName(index), blkno),
			 errdetail("%s", what),
			 errhint("Please REINDEX it.")));
}

/*
 * Error out unless page (block blkno) is one of our data pages: the chain
 * must never lead anywhere else.
 */
void
VpCheckDataPage(Relation index, Page page, BlockNumber blkno)
{
	if (PageIsNew(page) ||
		PageGetSpecialSize(page) != MAXALIGN(sizeof(VpPageOpaqueData)) ||
		VpPageGetOpaque(page)->page_id != VP_PAGE_ID ||
		!(VpPageGetOpaque(page)->flags & VP_PAGE_DATA))
		ReportCorruptPage(index, blkno, "It is not a data page.");
}

/*
 * Error out unless page (block blkno) may follow, in a walk of the chain,
 * a page stamped *last_seq (0 before the first page), and remember its
 * stamp in *last_seq.  Pages join the chain in stamp order, so a stamp
 * that does not grow means a damaged next link: without this check a link
 * back to an earlier page would make the walk go round forever.
 */
void
VpCheckChainOrder(Relation index, Page page, BlockNumber blkno,
				  uint32 *last_seq)
{
	uint32		seq = VpPageGetOpaque(page)->seq;

	if (seq <= *last_seq)
		ReportCorruptPage(index, blkno,
						  "The page chain is not in append order.");
	*last_seq = seq;
}

/*
 * Return item off of data page (block blkno), after checking that its line
 * pointer is a normal one whose item lies between pd_upper and the special
 * space, MAXALIGNed, and is at least min_len bytes long.  Line pointers
 * come from disk unchecked (PostgreSQL verifies only the page header), so
 * without this a damaged one would lead a reader, or VACUUM, which writes
 * item flags, outside the page.
 */
Item
VpGetCheckedItem(Relation index, Page page, BlockNumber blkno,
				 OffsetNumber off, Size min_len)
{
	PageHeader	phdr = (PageHeader) page;
	ItemId		iid = PageGetItemId(page, off);
	Size		start = ItemIdGetOffset(iid);
	Size		len = ItemIdGetLength(iid);

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page) ||
		!ItemIdIsNormal(iid) || start < phdr->pd_upper ||
		start != MAXALIGN(start) || start + len > phdr->pd_special)
		ReportCorruptPage(index, blkno,
						  "An item lies outside the page's item space.");
	if (len < min_len)
		ReportCorruptPage(index, blkno, "An item has an invalid length.");
	return PageGetItem(page, iid);
}

/*
 * Report an item whose checksum does not match its contents.
 */
static void
ReportCorruptItem(Relation index, BlockNumber blkno, OffsetNumber off)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("index \"%s\" has a corrupted item at block %u, offset %u",
					RelationGetRelationName(index), blkno, off),
			 errdetail("The item's checksum does not match its contents."),
			 errhint("Please REINDEX it.")));
}

/*
 * Check that block blkno is inside the index and not the metapage: the
 * chain must never point elsewhere.
 */
static void
CheckChainBlock(Relation index, BlockNumber blkno)
{
	if (blkno == VP_METAPAGE_BLKNO ||
		blkno >= RelationGetNumberOfBlocks(index))
		ReportCorruptPage(index, blkno,
						  "The page chain points outside the index.");
}

/* ------------------------------------------------------------------------
 * The chain reader
 * ------------------------------------------------------------------------
 */

/*
 * Make the copy in reader->page (block blkno) the current page, after
 * checking that it is a data page that continues the chain in order.
 */
static void
AcceptChainPage(VpChainReader reader, BlockNumber blkno)
{
	Page		page = (Page) reader->page;
	VpPageOpaque opaque;

	VpCheckDataPage(reader->index, page, blkno);
	VpCheckChainOrder(reader->index, page, blkno, &reader->last_seq);
	opaque = VpPageGetOpaque(page);

	reader->cur_block = blkno;
	reader->cur_seq = opaque->seq;
	reader->cur_off = InvalidOffsetNumber;
	reader->next_block = opaque->next;
}

/*
 * Copy block blkno into reader->page under a short share lock (standby:
 * no pin is kept).
 */
static void
CopyChainPage(VpChainReader reader, BlockNumber blkno)
{
	Buffer		buf;

	CHECK_FOR_INTERRUPTS();
	CheckChainBlock(reader->index, blkno);
	buf = ReadBufferExtended(reader->index, MAIN_FORKNUM, blkno, RBM_NORMAL,
							 reader->strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(reader->page, BufferGetPage(buf), BLCKSZ);
	UnlockReleaseBuffer(buf);
}

/*
 * Pin and share-lock block blkno while the caller still holds the lock of
 * the page (or metapage) that links to it, copy it, and keep only the pin
 * (primary).  The pin is what keeps VACUUM from recycling the page while
 * the walk stands on it.
 */
static void
StepPinned(VpChainReader reader, BlockNumber blkno)
{
	Buffer		buf;

	CheckChainBlock(reader->index, blkno);
	buf = ReadBufferExtended(reader->index, MAIN_FORKNUM, blkno, RBM_NORMAL,
							 reader->strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(reader->page, BufferGetPage(buf), BLCKSZ);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (BufferIsValid(reader->pinned))
		ReleaseBuffer(reader->pinned);
	reader->pinned = buf;
	AcceptChainPage(reader, blkno);
}

/*
 * Where the chain goes on now after the page prevblk stamped prevseq, or
 * where it starts now if prevblk is Invalid (standby).  Sets *gone (and
 * returns Invalid) if prevblk is no longer that chain page.
 */
static BlockNumber
CurrentLink(VpChainReader reader, BlockNumber prevblk, uint32 prevseq,
			bool *gone)
{
	Buffer		buf;
	Page		page;
	VpPageOpaque opaque;
	BlockNumber next = InvalidBlockNumber;

	*gone = false;
	if (!BlockNumberIsValid(prevblk))
	{
		VpMetaPageData meta;

		VpReadMeta(reader->index, &meta);
		return meta.head_block;
	}

	buf = ReadBufferExtended(reader->index, MAIN_FORKNUM, prevblk, RBM_NORMAL,
							 reader->strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	opaque = VpPageGetOpaque(page);
	if (PageIsNew(page) || opaque->page_id != VP_PAGE_ID ||
		!(opaque->flags & VP_PAGE_DATA) || opaque->seq != prevseq)
		*gone = true;
	else
		next = opaque->next;
	UnlockReleaseBuffer(buf);
	return next;
}

/* How the reader got to its new current page */
typedef enum VpChainStep
{
	VP_STEP_END,				/* the chain ends: no new page */
	VP_STEP_NEXT,				/* the page the last one linked to */
	VP_STEP_ELSEWHERE			/* that page was recycled meanwhile (hot
								 * standby): the one that follows now */
} VpChainStep;

/*
 * Move to the page that follows the current one in the chain.
 *
 * On a primary the reader stands on a pinned page; it share-locks it,
 * reads its link as it is now (VACUUM may have unlinked the page that
 * followed it), pins and locks the next page before letting go of the
 * current one, and copies it.  VACUUM recycles a page only when it gets a
 * cleanup lock on it (no pin but its own) and holds the previous page
 * exclusively meanwhile, so the next page cannot vanish between the read
 * of the link and the pin.
 *
 * On a hot standby the startup process replays recycling without regard
 * for pins, so every step is checked after the copy: the previous page
 * must still be the same chain page and still link to the page copied.  A
 * link that left a page never comes back to it (pages are only linked
 * after the tail, and a page with a successor never becomes the tail
 * again), so then the copy was taken while the page was in the chain.
 * When the check fails the walk goes on from where the previous page
 * links now: the pages it passes over were recycled, so they held only
 * dead items.  If the previous page itself was recycled, the walk starts
 * again at the head, passing over the pages stamped up to the last one
 * visited.
 */
static VpChainStep
ReadNextChainPage(VpChainReader reader)
{
	BlockNumber blkno;
	BlockNumber prevblk = reader->cur_block;
	uint32		prevseq = reader->cur_seq;
	bool		moved = false;
	bool		restarted = false;

	CHECK_FOR_INTERRUPTS();
	if (!reader->standby)
	{
		Page		live;

		if (!BufferIsValid(reader->pinned))
			return VP_STEP_END;
		LockBuffer(reader->pinned, BUFFER_LOCK_SHARE);
		live = BufferGetPage(reader->pinned);
		blkno = VpPageGetOpaque(live)->next;
		if (!BlockNumberIsValid(blkno))
		{
			LockBuffer(reader->pinned, BUFFER_LOCK_UNLOCK);
			return VP_STEP_END;
		}
		{
			Buffer		held = reader->pinned;

			/* StepPinned releases the old pin; keep its lock until then */
			reader->pinned = InvalidBuffer;
			StepPinned(reader, blkno);
			LockBuffer(held, BUFFER_LOCK_UNLOCK);
			ReleaseBuffer(held);
		}
		return VP_STEP_NEXT;
	}

	blkno = reader->next_block;
	for (;;)
	{
		VpPageOpaque opaque;
		BlockNumber now;
		bool		gone;

		if (!BlockNumberIsValid(blkno))
			return VP_STEP_END;
		CopyChainPage(reader, blkno);
		now = CurrentLink(reader, prevblk, prevseq, &gone);
		if (gone)
		{
			/* start again at the head */
			prevblk = InvalidBlockNumber;
			prevseq = 0;
			blkno = CurrentLink(reader, prevblk, prevseq, &gone);
			moved = restarted = true;
			continue;
		}
		if (now != blkno)
		{
			blkno = now;
			moved = true;
			continue;
		}

		/* the copy is of a page in the chain */
		VpCheckDataPage(reader->index, (Page) reader->page, blkno);
		opaque = VpPageGetOpaque((Page) reader->page);
		if (restarted && opaque->seq <= reader->last_seq)
		{
			/* visited before we started again at the head */
			prevblk = blkno;
			prevseq = opaque->seq;
			blkno = opaque->next;
			continue;
		}
		AcceptChainPage(reader, blkno);
		return moved ? VP_STEP_ELSEWHERE : VP_STEP_NEXT;
	}
}

/*
 * Start reading the chain.  meta is the metapage as the caller read it
 * before calling (dims, kind, and the last item to return: items appended
 * after that read are left for a later reader).  With start_seq == 0 the
 * reader starts at the chain's head as it is now.  Otherwise it starts
 * after offset after_off of block start, which must still be the chain
 * page stamped start_seq (a graph's watermark): returns false if it is not,
 * because VACUUM recycled it; the reader must then only be ended.  Live
 * payloads' CRCs are checked when verify is true.
 */
bool
VpChainReaderInit(VpChainReader reader, Relation index,
				  const VpMetaPageData *meta, BlockNumber start,
				  uint32 start_seq, OffsetNumber after_off, bool verify)
{
	memset(reader, 0, sizeof(VpChainReaderData));
	reader->index = index;
	reader->strategy = GetAccessStrategy(BAS_BULKREAD);
	reader->kind = (VpElementKind) meta->elem_kind;
	reader->dims = meta->dims;
	reader->verify = verify;
	reader->stop_key = meta->last_key;
	reader->standby = RecoveryInProgress();
	reader->pinned = InvalidBuffer;
	reader->page = palloc(BLCKSZ);
	reader->payload = palloc(VP_MAX_PAYLOAD);
	reader->cur_block = InvalidBlockNumber;
	reader->next_block = InvalidBlockNumber;
	reader->cur_off = InvalidOffsetNumber;

	if (start_seq == 0)
	{
		Buffer		metabuf;
		BlockNumber head;

		if (reader->standby)
		{
			bool		gone;

			reader->next_block = CurrentLink(reader, InvalidBlockNumber, 0, &gone);
			return true;
		}
		/* pin the head while the metapage still names it */
		metabuf = ReadBuffer(index, VP_METAPAGE_BLKNO);
		LockBuffer(metabuf, BUFFER_LOCK_SHARE);
		head = VpCheckMetaPage(index, BufferGetPage(metabuf))->head_block;
		if (BlockNumberIsValid(head))
			StepPinned(reader, head);
		UnlockReleaseBuffer(metabuf);
		return true;
	}

	if (!BlockNumberIsValid(start))
		return false;
	CheckChainBlock(index, start);
	if (reader->standby)
		CopyChainPage(reader, start);
	else
	{
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, start,
											 RBM_NORMAL, reader->strategy);

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		memcpy(reader->page, BufferGetPage(buf), BLCKSZ);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		reader->pinned = buf;
	}
	/* the stamp tells whether the copy is still that page */
	if (PageIsNew((Page) reader->page) ||
		VpPageGetOpaque((Page) reader->page)->page_id != VP_PAGE_ID ||
		!(VpPageGetOpaque((Page) reader->page)->flags & VP_PAGE_DATA) ||
		VpPageGetOpaque((Page) reader->page)->seq != start_seq)
		return false;
	AcceptChainPage(reader, start);
	reader->cur_off = after_off;
	return true;
}

/*
 * The fragment at offset 1 of the current page, with its length, after
 * checking that the page starts with one.
 */
static const char *
PageFragment(VpChainReader reader, Size *len)
{
	Page		page = (Page) reader->page;

	if (!(VpPageGetOpaque(page)->flags & VP_PAGE_FRAGMENT_FIRST) ||
		PageGetMaxOffsetNumber(page) < FirstOffsetNumber)
		ReportCorruptPage(reader->index, reader->cur_block,
						  "A page that should continue an item does not.");
	*len = ItemIdGetLength(PageGetItemId(page, FirstOffsetNumber));
	return (const char *) VpGetCheckedItem(reader->index, page,
										   reader->cur_block,
										   FirstOffsetNumber, 1);
}

/*
 * Collect (copy, or with copy false just pass over) the rest of a spanning
 * item, have bytes of total len already in reader->payload, from the
 * fragments that begin the following pages.  Returns false if, on a hot
 * standby, the item's pages were recycled while we read them (it was dead
 * by then): the reader is then on the page that follows now, none of
 * whose items was returned yet.  On return the reader stands after the
 * last fragment.
 */
static bool
ReadFragments(VpChainReader reader, Size have, Size len,
			  BlockNumber head_block, bool copy)
{
	while (have < len)
	{
		VpChainStep step = ReadNextChainPage(reader);
		const char *fragment;
		Size		n;

		if (step == VP_STEP_END)
		{
			if (reader->standby)
				return false;
			ReportCorruptPage(reader->index, head_block,
							  "An item that spans pages ends early.");
		}
		if (step == VP_STEP_ELSEWHERE)
			return false;
		fragment = PageFragment(reader, &n);
		if (n == 0 || n > len - have)
			ReportCorruptPage(reader->index, reader->cur_block,
							  "A fragment has the wrong length.");
		if (copy)
			memcpy(reader->payload + have, fragment, n);
		have += n;
		reader->cur_off = FirstOffsetNumber;
	}
	return true;
}

/*
 * Describe the payload bytes in reader->payload (len bytes) as a payload
 * of the index's kind, after checking that the length fits the kind.
 */
static bool
DescribePayload(VpChainReader reader, Size len, VpPayload *payload)
{
	payload->kind = reader->kind;
	payload->dims = (int32) reader->dims;
	payload->nnz = 0;
	payload->data = reader->payload;
	payload->len = len;
	if (reader->kind == VP_ELEM_SPARSE)
	{
		if (len % (sizeof(int32) + sizeof(float)) != 0)
			return false;
		payload->nnz = (int32) (len / (sizeof(int32) + sizeof(float)));
		return true;
	}
	return len == VpPayloadBytes(reader->kind, reader->dims, 0);
}

/*
 * Return the next item of the chain in *item, or false at its end (or
 * past the stop key).  Dead items come back without their payload unless
 * dead_payloads is set, and a dead item that spans pages always does.  Errors with ERRCODE_DATA_CORRUPTED on a CRC
 * mismatch.
 */
bool
VpChainReaderNext(VpChainReader reader, VpReadItem *item)
{
	for (;;)
	{
		Page		page = (Page) reader->page;
		VpItemHeader hdr;
		Size		head_len;
		Size		len;
		OffsetNumber off;
		uint64		key;
		bool		want;
		BlockNumber head_block;

		if (!BlockNumberIsValid(reader->cur_block) ||
			reader->cur_off >= PageGetMaxOffsetNumber(page))
		{
			if (ReadNextChainPage(reader) == VP_STEP_END)
				return false;
			continue;
		}

		off = OffsetNumberNext(reader->cur_off);
		reader->cur_off = off;

		/* a fragment reached without its head (recycled or dead): skip */
		if (off == FirstOffsetNumber &&
			(VpPageGetOpaque(page)->flags & VP_PAGE_FRAGMENT_FIRST))
			continue;

		key = VpMakeItemKey(reader->cur_seq, off);
		if (reader->stop_key != 0 && key > reader->stop_key)
			return false;
		if (!ItemIdIsUsed(PageGetItemId(page, off)))
			continue;
		hdr = (VpItemHeader) VpGetCheckedItem(reader->index, page,
											  reader->cur_block, off,
											  VP_ITEM_HEADER_SIZE);
		head_len = ItemIdGetLength(PageGetItemId(page, off)) - VP_ITEM_HEADER_SIZE;
		len = hdr->len;
		if (head_len > len || len > VP_MAX_PAYLOAD ||
			((hdr->flags & VP_ITEM_SPANS) != 0) != (head_len < len))
			ReportCorruptPage(reader->index, reader->cur_block,
							  "An item has an invalid length.");

		item->key = key;
		item->block = reader->cur_block;
		item->offnum = off;
		item->heap_tid = hdr->heap_tid;
		item->flags = hdr->flags;
		item->has_payload = false;
		want = !reader->keys_only &&
			(!(hdr->flags & VP_ITEM_DEAD) || reader->dead_payloads);
		head_block = reader->cur_block;

		/*
		 * A dead item's pages that hold nothing but its fragments may be
		 * recycled, so its fragments cannot be followed: it comes back
		 * without a payload, and the fragments still there are passed
		 * over as any fragment met without its head is.
		 */
		if ((hdr->flags & VP_ITEM_DEAD) && head_len < len)
			return true;

		if (want)
			memcpy(reader->payload, VpItemGetPayload(hdr), head_len);
		if (head_len < len)
		{
			pg_crc32c	crc = hdr->crc;

			/* hdr points into the page copy, which the next page replaces */
			if (!ReadFragments(reader, head_len, len, head_block, want))
			{
				/* recycled under a standby's walk: it was dead */
				item->flags |= VP_ITEM_DEAD;
				return true;
			}
			if (!want)
				return true;
			if (reader->verify &&
				VpItemCrc(&item->heap_tid, reader->payload, (uint32) len) != crc)
				ReportCorruptItem(reader->index, head_block, off);
		}
		else
		{
			if (!want)
				return true;
			if (reader->verify &&
				VpItemCrc(&item->heap_tid, reader->payload, (uint32) len) != hdr->crc)
				ReportCorruptItem(reader->index, head_block, off);
		}
		if (!DescribePayload(reader, len, &item->payload))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("index \"%s\" has an item of the wrong length at block %u, offset %u",
							RelationGetRelationName(reader->index),
							head_block, off),
					 errdetail("The item holds %zu bytes; the index has %u dimensions.",
							   len, reader->dims),
					 errhint("Please REINDEX it.")));
		item->has_payload = true;
		return true;
	}
}

/*
 * Release the reader's pin and memory.
 */
void
VpChainReaderEnd(VpChainReader reader)
{
	if (BufferIsValid(reader->pinned))
		ReleaseBuffer(reader->pinned);
	reader->pinned = InvalidBuffer;
	FreeAccessStrategy(reader->strategy);
	pfree(reader->page);
	pfree(reader->payload);
}

/* ------------------------------------------------------------------------
 * One item by its location
 * ------------------------------------------------------------------------
 */

/*
 * Whether block is inside the relation, asking its size only when block
 * is past what *nblocks says (the relation only grows while an index has
 * the same storage).
 */
static bool
BlockExists(Relation index, BlockNumber block, BlockNumber *nblocks)
{
	if (block < *nblocks)
		return true;
	*nblocks = RelationGetNumberOfBlocks(index);
	return block < *nblocks;
}

/*
 * Read the live item whose key is key and whose head is on block (what a
 * graph node remembers) into payload_buf (VP_MAX_PAYLOAD bytes), with its
 * heap TID.  Returns false when it is not there any more: its page was
 * recycled, or it was flagged dead.  On a primary the pages of a spanning
 * item are read with lock coupling (the next page is pinned while the one
 * linking to it is still locked), so a live item's pages cannot change
 * under the read and a CRC mismatch is corruption.  On a hot standby
 * replay may recycle them meanwhile; a mismatch there means the item died
 * while we read it.  *nblocks is what the caller knows of the relation's
 * size (0 at first): it is asked again only for a block past it, since a
 * scan re-ranks many items and each ask is a system call.
 */
bool
VpReadItemAt(Relation index, const VpMetaPageData *meta, BlockNumber block,
			 uint64 key, BlockNumber *nblocks, ItemPointer heap_tid,
			 char *payload_buf, VpPayload *payload)
{
	bool		standby = RecoveryInProgress();
	OffsetNumber off = VpItemKeyOffset(key);
	Buffer		buf;
	Page		page;
	VpItemHeader hdr;
	Size		head_len;
	Size		len;
	Size		have;
	pg_crc32c	crc;
	uint32		seq = VpItemKeySeq(key);
	BlockNumber blkno = block;

	if (!BlockNumberIsValid(block) || block == VP_METAPAGE_BLKNO ||
		!BlockExists(index, block, nblocks))
		return false;
	buf = ReadBuffer(index, block);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (PageIsNew(page) || VpPageGetOpaque(page)->page_id != VP_PAGE_ID ||
		!(VpPageGetOpaque(page)->flags & VP_PAGE_DATA) ||
		VpPageGetOpaque(page)->seq != seq ||
		off > PageGetMaxOffsetNumber(page) ||
		(off == FirstOffsetNumber &&
		 (VpPageGetOpaque(page)->flags & VP_PAGE_FRAGMENT_FIRST)) ||
		!ItemIdIsUsed(PageGetItemId(page, off)))
	{
		UnlockReleaseBuffer(buf);
		return false;
	}
	hdr = (VpItemHeader) VpGetCheckedItem(index, page, block, off,
										  VP_ITEM_HEADER_SIZE);
	head_len = ItemIdGetLength(PageGetItemId(page, off)) - VP_ITEM_HEADER_SIZE;
	len = hdr->len;
	if (hdr->flags & VP_ITEM_DEAD)
	{
		UnlockReleaseBuffer(buf);
		return false;
	}
	if (head_len > len || len > VP_MAX_PAYLOAD)
		ReportCorruptPage(index, block, "An item has an invalid length.");
	*heap_tid = hdr->heap_tid;
	crc = hdr->crc;
	memcpy(payload_buf, VpItemGetPayload(hdr), head_len);
	have = head_len;

	while (have < len)
	{
		BlockNumber next = VpPageGetOpaque(page)->next;
		Buffer		nbuf;
		Size		n;
		const char *fragment;

		if (!BlockNumberIsValid(next) || next == VP_METAPAGE_BLKNO ||
			!BlockExists(index, next, nblocks))
		{
			UnlockReleaseBuffer(buf);
			if (standby)
				return false;
			ReportCorruptPage(index, blkno, "An item that spans pages ends early.");
		}
		nbuf = ReadBuffer(index, next);
		LockBuffer(nbuf, BUFFER_LOCK_SHARE);
		UnlockReleaseBuffer(buf);
		buf = nbuf;
		page = BufferGetPage(buf);
		blkno = next;
		if (PageIsNew(page) || VpPageGetOpaque(page)->page_id != VP_PAGE_ID ||
			!(VpPageGetOpaque(page)->flags & VP_PAGE_DATA) ||
			!(VpPageGetOpaque(page)->flags & VP_PAGE_FRAGMENT_FIRST) ||
			VpPageGetOpaque(page)->seq <= seq ||
			PageGetMaxOffsetNumber(page) < FirstOffsetNumber)
		{
			UnlockReleaseBuffer(buf);
			if (standby)
				return false;
			ReportCorruptPage(index, blkno, "A page that should continue an item does not.");
		}
		seq = VpPageGetOpaque(page)->seq;
		n = ItemIdGetLength(PageGetItemId(page, FirstOffsetNumber));
		fragment = (const char *) VpGetCheckedItem(index, page, blkno,
												   FirstOffsetNumber, 1);
		if (n > len - have)
		{
			UnlockReleaseBuffer(buf);
			if (standby)
				return false;
			ReportCorruptPage(index, blkno, "A fragment has the wrong length.");
		}
		memcpy(payload_buf + have, fragment, n);
		have += n;
	}
	UnlockReleaseBuffer(buf);

	if (VpItemCrc(heap_tid, payload_buf, (uint32) len) != crc)
	{
		if (standby)
			return false;
		ReportCorruptItem(index, block, off);
	}
	payload->kind = (VpElementKind) meta->elem_kind;
	payload->dims = (int32) meta->dims;
	payload->nnz = meta->elem_kind == VP_ELEM_SPARSE ?
		(int32) (len / (sizeof(int32) + sizeof(float))) : 0;
	payload->data = payload_buf;
	payload->len = len;
	return true;
}
