/*-------------------------------------------------------------------------
 *
 * vppage.c
 *	  Page-level helpers for the hnsw index: page and metapage setup,
 *	  item serialisation with CRC32C, page allocation (free list or
 *	  extension), and the sequential chain reader that turns the pages back
 *	  into vectors.
 *
 * The format itself is described in vppage.h.  Everything here works on
 * page images and buffers handed in by the callers, which own locking and
 * WAL; the chain reader is the exception and takes its own short share
 * locks, one page at a time.
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
VpInitMetaPage(Page page, int metric, int m, int ef_construction)
{
	VpMetaPage meta;

	VpInitPage(page, VP_PAGE_META);
	meta = VpPageGetMeta(page);
	memset(meta, 0, sizeof(VpMetaPageData));
	meta->magic = VP_MAGIC_NUMBER;
	meta->version = VP_FORMAT_VERSION;
	meta->metric = (uint16) metric;
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
 * their checksum had bytes changed under us (data corruption).  The
 * checksum is checked before the version so that a damaged version field
 * is reported as damage; format 1 had no checksum.
 */
VpMetaPage
VpCheckMetaPage(Relation index, Page page)
{
	VpMetaPage	meta = VpPageGetMeta(page);
	pg_crc32c	crc;

	if (PageIsNew(page) ||
		PageGetSpecialSize(page) != MAXALIGN(sizeof(VpPageOpaqueData)) ||
		VpPageGetOpaque(page)->page_id != VP_PAGE_ID ||
		meta->magic != VP_MAGIC_NUMBER)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errhint("Please REINDEX it.")));
	crc = MetaCrc(meta);
	if (meta->version != 1 && crc != meta->crc)
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
 * CRC32C of an item's identity and payload.
 */
pg_crc32c
VpItemCrc(ItemPointer heap_tid, const float *vector, int dims)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, heap_tid, sizeof(ItemPointerData));
	COMP_CRC32C(crc, vector, sizeof(float) * dims);
	FIN_CRC32C(crc);
	return crc;
}

/*
 * Write one item into page images.  With npages == 1 the item is added to
 * pages[0], which must have room (VpItemPages(dims) == 1).  Otherwise
 * pages[0] must be an empty data page and pages[1..npages-1] fresh pages:
 * the head goes to pages[0] and one fragment to each following page, which
 * is flagged as a continuation.  Errors only on can't-happen conditions,
 * so callers may run it on private copies before a critical section.
 */
void
VpFillItemPages(Page *pages, int npages, ItemPointer heap_tid,
				const float *vector, int dims)
{
	VpItemHeaderData *item;
	int			head_floats = Min(dims, VP_HEAD_FLOATS);
	Size		item_size = VP_ITEM_HEADER_SIZE + sizeof(float) * head_floats;
	int			done;
	int			i;

	Assert(npages == VpItemPages(dims));

	item = palloc(item_size);
	item->heap_tid = *heap_tid;
	item->flags = (npages > 1) ? VP_ITEM_SPANS : 0;
	item->crc = VpItemCrc(heap_tid, vector, dims);
	memcpy(VpItemGetFloats(item), vector, sizeof(float) * head_floats);
	if (PageAddItem(pages[0], (Item) item, item_size, InvalidOffsetNumber,
					false, false) == InvalidOffsetNumber)
		elog(ERROR, "could not add a vector of %d dimensions to an hnsw index page",
			 dims);
	pfree(item);

	done = head_floats;
	for (i = 1; i < npages; i++)
	{
		int			n = Min(dims - done, VP_FRAGMENT_FLOATS);

		VpPageGetOpaque(pages[i])->flags = VP_PAGE_DATA | VP_PAGE_CONTINUATION;
		if (PageAddItem(pages[i], (Item) (vector + done), sizeof(float) * n,
						InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
			elog(ERROR, "could not add a vector fragment to an hnsw index page");
		done += n;
	}
	Assert(done == dims);
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

	if (!ItemIdIsNormal(iid) || start < phdr->pd_upper ||
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
 * Copy block blkno into reader->page under a short share lock.
 */
static void
CopyChainPage(VpChainReader reader, BlockNumber blkno)
{
	Buffer		buf;

	CHECK_FOR_INTERRUPTS();

	if (blkno == VP_METAPAGE_BLKNO ||
		blkno >= RelationGetNumberOfBlocks(reader->index))
		ReportCorruptPage(reader->index, blkno,
						  "The page chain points outside the index.");

	buf = ReadBufferExtended(reader->index, MAIN_FORKNUM, blkno, RBM_NORMAL,
							 reader->strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(reader->page, BufferGetPage(buf), BLCKSZ);
	UnlockReleaseBuffer(buf);
}

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
 * Where the chain goes on now after the page prevblk stamped prevseq, or
 * where it starts now if prevblk is Invalid.  Sets *gone (and returns
 * Invalid) if prevblk is no longer that chain page.
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
 * Move to the page that follows the current one in the chain, or to the
 * head when there is no current page yet.
 *
 * On a primary, chain walkers hold the chain lock, so VACUUM cannot
 * recycle a page between the copy of one page and the read of the next,
 * and the copy's link is followed as it is.  On a hot standby no lock
 * keeps a walker and the startup process apart: replay of a recycling can
 * free the next page, or hand it to an append that links it at the
 * chain's end, after the walker copied the page that linked to it.  So
 * there every step is checked after the copy: the previous page must
 * still be the same chain page and still link to the page copied (for
 * the head: the metapage must still name it).  A link that left a page
 * never comes back to it (pages are only linked after the tail, and a
 * page with a successor never becomes the tail again), so then the copy
 * was taken while the page was in the chain.  When the check fails the
 * walk goes on from where the previous page links now: the pages it
 * passes over were recycled, so they held only dead items.  If the
 * previous page itself was recycled, the walk starts again at the head,
 * passing over the pages stamped up to the last one visited.
 */
static VpChainStep
ReadNextChainPage(VpChainReader reader)
{
	BlockNumber blkno = reader->next_block;
	BlockNumber prevblk = reader->cur_block;
	uint32		prevseq = reader->cur_seq;
	bool		moved = false;
	bool		restarted = false;

	if (!RecoveryInProgress())
	{
		if (!BlockNumberIsValid(blkno))
			return VP_STEP_END;
		CopyChainPage(reader, blkno);
		AcceptChainPage(reader, blkno);
		return VP_STEP_NEXT;
	}

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
 * Start reading the chain.  With start_seq == 0, at its head: start is
 * the head block the caller read from the metapage (the chain is empty if
 * it is Invalid).  Otherwise after offset after_off of block start, which
 * must still be the chain page stamped start_seq (a graph's watermark):
 * returns false if it is not, because VACUUM recycled it, and the reader
 * must then only be ended.  dims is the vector length every item must
 * have.  Live items' CRCs are checked when verify is true.
 */
bool
VpChainReaderInit(VpChainReader reader, Relation index, int dims,
				  BlockNumber start, uint32 start_seq, OffsetNumber after_off,
				  bool verify)
{
	reader->index = index;
	reader->strategy = GetAccessStrategy(BAS_BULKREAD);
	reader->dims = dims;
	reader->verify = verify;
	reader->page = palloc(BLCKSZ);
	reader->vector = palloc(sizeof(float) * Max(dims, 1));
	reader->last_seq = 0;
	reader->cur_block = InvalidBlockNumber;
	reader->cur_seq = 0;
	reader->cur_off = InvalidOffsetNumber;
	reader->next_block = start;
	if (start_seq == 0 || !BlockNumberIsValid(start))
		return true;

	/* the stamp tells whether the copy is still that page */
	CopyChainPage(reader, start);
	if (PageIsNew((Page) reader->page) ||
		VpPageGetOpaque((Page) reader->page)->page_id != VP_PAGE_ID ||
		!(VpPageGetOpaque((Page) reader->page)->flags & VP_PAGE_DATA) ||
		VpPageGetOpaque((Page) reader->page)->seq != start_seq)
	{
		reader->next_block = InvalidBlockNumber;
		return false;
	}
	AcceptChainPage(reader, start);
	reader->cur_off = after_off;
	return true;
}

/*
 * Collect the fragments of a spanning item whose head floats are already in
 * reader->vector[0..have-1], reading the continuation pages that follow.
 * Returns false if, on a hot standby, the item's pages were recycled while
 * we read them (it was dead by then): the reader is then on the page that
 * follows now, none of whose items was returned yet.
 */
static bool
ReadFragments(VpChainReader reader, int have, BlockNumber head_block)
{
	while (have < reader->dims)
	{
		Page		page;
		float	   *fragment;
		int			n;
		VpChainStep step = ReadNextChainPage(reader);

		if (step == VP_STEP_END)
		{
			if (RecoveryInProgress())
				return false;
			ReportCorruptPage(reader->index, head_block,
							  "A vector that spans pages ends early.");
		}
		page = (Page) reader->page;
		if (step == VP_STEP_ELSEWHERE)
			return false;
		if (!(VpPageGetOpaque(page)->flags & VP_PAGE_CONTINUATION) ||
			PageGetMaxOffsetNumber(page) != 1)
			ReportCorruptPage(reader->index, reader->cur_block,
							  "A continuation page is missing.");
		fragment = (float *) VpGetCheckedItem(reader->index, page,
											  reader->cur_block,
											  FirstOffsetNumber, 0);
		n = ItemIdGetLength(PageGetItemId(page, FirstOffsetNumber)) /
			sizeof(float);
		if (n <= 0 || n > reader->dims - have)
			ReportCorruptPage(reader->index, reader->cur_block,
							  "A vector fragment has the wrong length.");
		memcpy(reader->vector + have, fragment, n * sizeof(float));
		have += n;
		/* the fragment page is consumed: nothing else to return from it */
		reader->cur_off = PageGetMaxOffsetNumber(page);
	}
	return true;
}

/*
 * Return the next item of the chain in *item, or false at its end.  Dead
 * items are returned with vector = NULL (their payload is not read or
 * checked).  Errors with ERRCODE_DATA_CORRUPTED on a CRC mismatch.
 */
bool
VpChainReaderNext(VpChainReader reader, VpReadItem *item)
{
	for (;;)
	{
		Page		page = (Page) reader->page;
		VpItemHeader hdr;
		ItemId		iid;
		Size		len;
		OffsetNumber off;
		int			have;

		if (!BlockNumberIsValid(reader->cur_block) ||
			reader->cur_off >= PageGetMaxOffsetNumber(page))
		{
			if (ReadNextChainPage(reader) == VP_STEP_END)
				return false;
			continue;
		}

		off = OffsetNumberNext(reader->cur_off);
		reader->cur_off = off;

		/* fragment pages without their head (head page recycled): skip */
		if (VpPageGetOpaque(page)->flags & VP_PAGE_CONTINUATION)
		{
			reader->cur_off = PageGetMaxOffsetNumber(page);
			continue;
		}

		iid = PageGetItemId(page, off);
		if (!ItemIdIsUsed(iid))
			continue;
		len = ItemIdGetLength(iid);
		hdr = (VpItemHeader) VpGetCheckedItem(reader->index, page,
											  reader->cur_block, off,
											  VP_ITEM_HEADER_SIZE);
		if (((len - VP_ITEM_HEADER_SIZE) % sizeof(float)) != 0)
			ReportCorruptPage(reader->index, reader->cur_block,
							  "An item has an invalid length.");

		item->key = VpMakeItemKey(reader->cur_seq, off);
		item->block = reader->cur_block;
		item->offnum = off;
		item->heap_tid = hdr->heap_tid;
		item->flags = hdr->flags;
		item->vector = NULL;

		have = (len - VP_ITEM_HEADER_SIZE) / sizeof(float);
		if (hdr->flags & VP_ITEM_DEAD)
		{
			/* skip the continuation pages of a dead spanning item */
			if (hdr->flags & VP_ITEM_SPANS)
				reader->cur_off = PageGetMaxOffsetNumber(page);
			return true;
		}

		if ((hdr->flags & VP_ITEM_SPANS) ? (have >= reader->dims) :
			(have != reader->dims))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("index \"%s\" has an item of the wrong length at block %u, offset %u",
							RelationGetRelationName(reader->index),
							reader->cur_block, off),
					 errdetail("The item holds %d floats; the index has %d dimensions.",
							   have, reader->dims),
					 errhint("Please REINDEX it.")));

		memcpy(reader->vector, VpItemGetFloats(hdr), have * sizeof(float));
		if (hdr->flags & VP_ITEM_SPANS)
		{
			pg_crc32c	crc = hdr->crc;
			BlockNumber head_block = reader->cur_block;

			if (!ReadFragments(reader, have, head_block))
			{
				/* recycled under a standby's walk: it was dead */
				item->flags |= VP_ITEM_DEAD;
				return true;
			}
			if (reader->verify &&
				VpItemCrc(&item->heap_tid, reader->vector, reader->dims) != crc)
				ReportCorruptItem(reader->index, head_block, off);
		}
		else if (reader->verify &&
				 VpItemCrc(&item->heap_tid, reader->vector, reader->dims) != hdr->crc)
			ReportCorruptItem(reader->index, reader->cur_block, off);

		item->vector = reader->vector;
		return true;
	}
}

/*
 * Release the reader's memory.
 */
void
VpChainReaderEnd(VpChainReader reader)
{
	FreeAccessStrategy(reader->strategy);
	pfree(reader->page);
	pfree(reader->vector);
}

/*
 * Is block blkno still the chain page stamped seq?  False once VACUUM has
 * recycled it (freed, or relinked with a later stamp).
 */
bool
VpPageHasSeq(Relation index, BlockNumber blkno, uint32 seq)
{
	Buffer		buf;
	Page		page;
	bool		result;

	if (!BlockNumberIsValid(blkno) || blkno == VP_METAPAGE_BLKNO ||
		blkno >= RelationGetNumberOfBlocks(index))
		return false;
	buf = ReadBuffer(index, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	result = !PageIsNew(page) &&
		VpPageGetOpaque(page)->page_id == VP_PAGE_ID &&
		(VpPageGetOpaque(page)->flags & VP_PAGE_DATA) &&
		VpPageGetOpaque(page)->seq == seq;
	UnlockReleaseBuffer(buf);
	return result;
}
