/*-------------------------------------------------------------------------
 *
 * vppage.h
 *	  On-disk format of an hnsw index: the metapage, the data pages and the
 *	  items they hold.
 *
 * The index relation is a log of vectors.  Block 0 is the metapage.  Data
 * pages form a singly linked chain in append order (opaque->next); each
 * page is stamped with a sequence number when it joins the chain, so that
 * ((seq << 16) | offset) names an item uniquely for the life of the index
 * and grows along the chain.  Pages whose items are all dead are unlinked
 * by VACUUM and kept on a free list until an append needs a page again.
 *
 * An item is {heap TID, flags, CRC32C, float4[dims]}.  An item too large
 * for one page ("spanning") starts on an empty page and continues, one
 * fragment of raw floats per page, on the pages that follow it in the
 * chain (flagged VP_PAGE_CONTINUATION).  The CRC covers the heap TID and
 * the whole vector.  Only this header and vppage.c know these layouts.
 *
 * IDENTIFICATION
 *	  src/vppage.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPPAGE_H
#define VPPAGE_H

#include "access/generic_xlog.h"
#include "port/pg_crc32c.h"
#include "storage/block.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
#include "utils/rel.h"

#define VP_MAGIC_NUMBER		0x56504E57	/* "VPNW" */
#define VP_FORMAT_VERSION	2	/* 2: metapage checksum */
#define VP_PAGE_ID			0xFF8B		/* new: see STYLE.md for taken ids */

#define VP_METAPAGE_BLKNO	0

/*
 * Heavyweight page-lock tag serialising chain walks against VACUUM's page
 * recycling (no buffer is ever read at this "block number").  Walkers of
 * the chain take it in ShareLock; recycling takes ExclusiveLock.
 */
#define VP_CHAIN_LOCK_BLKNO	0

/* Page flags (opaque->flags) */
#define VP_PAGE_META			(1 << 0)
#define VP_PAGE_DATA			(1 << 1)
#define VP_PAGE_CONTINUATION	(1 << 2)	/* holds one fragment of a spanning
											 * item started on an earlier page */
#define VP_PAGE_FREE			(1 << 3)	/* on the free list */

/* Item flags (VpItemHeaderData.flags) */
#define VP_ITEM_DEAD		(1 << 0)	/* heap tuple gone; set by VACUUM */
#define VP_ITEM_SPANS		(1 << 1)	/* vector continues on next pages */

typedef struct VpPageOpaqueData
{
	BlockNumber next;			/* next page in the chain or the free list */
	uint32		seq;			/* sequence stamp given on joining the chain */
	uint16		flags;			/* VP_PAGE_* */
	uint16		page_id;		/* VP_PAGE_ID, for tools like pg_filedump */
} VpPageOpaqueData;

typedef VpPageOpaqueData *VpPageOpaque;

#define VpPageGetOpaque(page) ((VpPageOpaque) PageGetSpecialPointer(page))

/*
 * The metapage contents, kept below pd_lower so that Generic WAL and full
 * page images never treat them as a hole.
 */
typedef struct VpMetaPageData
{
	uint32		magic;			/* VP_MAGIC_NUMBER */
	uint32		version;		/* VP_FORMAT_VERSION */
	uint32		dims;			/* 0 until the first vector is stored */
	uint16		metric;			/* VpMetric of the operator class */
	uint16		m;				/* reloption m at build */
	uint16		ef_construction;	/* reloption ef_construction at build */
	uint16		unused;
	BlockNumber head_block;		/* first data page, or InvalidBlockNumber */
	BlockNumber tail_block;		/* last data page (appends go here) */
	BlockNumber free_head;		/* first free page, or InvalidBlockNumber */
	uint32		free_pages;		/* pages on the free list */
	uint32		next_seq;		/* next page sequence stamp */
	pg_crc32c	crc;			/* CRC32C of the other fields: set by
								 * VpMetaSetCrc after every change */
	uint64		build_id;		/* random, new at every build: tells cached
								 * graphs of an earlier index apart */
	uint64		vacuum_epoch;	/* bumped whenever VACUUM kills items */
	uint64		items_appended; /* items ever appended */
	uint64		items_dead;		/* items marked dead and not yet recycled */
	uint64		items_recycled; /* dead items removed with their pages */
} VpMetaPageData;

typedef VpMetaPageData *VpMetaPage;

#define VpPageGetMeta(page) ((VpMetaPage) PageGetContents(page))

typedef struct VpItemHeaderData
{
	ItemPointerData heap_tid;	/* the indexed heap tuple */
	uint16		flags;			/* VP_ITEM_* */
	pg_crc32c	crc;			/* CRC32C of heap_tid and the whole vector */
	/* float4 vector (for a spanning item: its first part) follows */
} VpItemHeaderData;

typedef VpItemHeaderData *VpItemHeader;

#define VP_ITEM_HEADER_SIZE		sizeof(VpItemHeaderData)
#define VpItemGetFloats(item)	((float *) ((char *) (item) + VP_ITEM_HEADER_SIZE))

/* Largest item that fits on an empty data page */
#define VP_MAX_ITEM_SIZE \
	MAXALIGN_DOWN(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - \
				  MAXALIGN(sizeof(VpPageOpaqueData)) - sizeof(ItemIdData))

/* Floats that fit in one head item, and in one continuation fragment */
#define VP_HEAD_FLOATS	((int) ((VP_MAX_ITEM_SIZE - VP_ITEM_HEADER_SIZE) / sizeof(float)))
#define VP_FRAGMENT_FLOATS ((int) (VP_MAX_ITEM_SIZE / sizeof(float)))

/* Most pages one item can take (a 16000-dimension vector takes 8) */
#define VP_MAX_ITEM_PAGES	10

/* Identity of an item for the graph: page stamp and line pointer */
#define VpMakeItemKey(seq, off)	(((uint64) (seq) << 16) | (uint64) (off))

/* Pages a vector of dims floats occupies when it spans (1 if it fits) */
static inline int
VpItemPages(int dims)
{
	if (dims <= VP_HEAD_FLOATS)
		return 1;
	return 1 + (dims - VP_HEAD_FLOATS + VP_FRAGMENT_FLOATS - 1) / VP_FRAGMENT_FLOATS;
}

/*
 * Can a vector of dims floats (VpItemPages(dims) == 1) be appended to this
 * tail page?  Continuation pages never take new items.
 */
static inline bool
VpPageFits(Page page, int dims)
{
	return !(VpPageGetOpaque(page)->flags & VP_PAGE_CONTINUATION) &&
		PageGetFreeSpace(page) >= MAXALIGN(VP_ITEM_HEADER_SIZE + sizeof(float) * dims);
}

/*
 * One item as read back from the chain by VpChainReader: a copy, valid
 * until the next read.
 */
typedef struct VpReadItem
{
	uint64		key;			/* VpMakeItemKey of its head */
	BlockNumber block;			/* head page */
	OffsetNumber offnum;		/* head line pointer */
	ItemPointerData heap_tid;
	uint16		flags;
	float	   *vector;			/* dims floats; NULL for dead items */
} VpReadItem;

/*
 * Sequential reader of the chain.  Each page is copied under a share lock
 * and the lock dropped at once, so the caller may do long work (graph
 * insertion) between reads.  Holds no pins between calls.
 */
typedef struct VpChainReaderData
{
	Relation	index;
	BufferAccessStrategy strategy;
	int			dims;
	bool		verify;			/* check CRCs of live items */
	BlockNumber next_block;		/* page to read after the current copy */
	BlockNumber cur_block;		/* page held in `page`, or Invalid */
	uint32		cur_seq;
	OffsetNumber cur_off;		/* last offset returned on cur page */
	char	   *page;			/* BLCKSZ copy of the current page */
	float	   *vector;			/* dims floats, assembled */
	uint32		last_seq;		/* stamp of the last page visited */
} VpChainReaderData;

typedef VpChainReaderData *VpChainReader;

/* vppage.c */
extern void VpInitPage(Page page, uint16 flags);
extern void VpInitMetaPage(Page page, int metric, int m, int ef_construction);
extern void VpMetaSetCrc(VpMetaPage meta);
extern VpMetaPage VpCheckMetaPage(Relation index, Page page);
extern void VpReadMeta(Relation index, VpMetaPageData *meta);
extern Buffer VpNewBuffer(Relation index, VpMetaPage meta);
extern pg_crc32c VpItemCrc(ItemPointer heap_tid, const float *vector, int dims);
extern void VpFillItemPages(Page *pages, int npages, ItemPointer heap_tid,
							const float *vector, int dims);
extern void VpLinkPage(VpMetaPage meta, Page tail, BlockNumber tailblk,
					   Page page, BlockNumber blkno);
extern bool VpChainReaderInit(VpChainReader reader, Relation index, int dims,
							  BlockNumber start, uint32 start_seq,
							  OffsetNumber after_off, bool verify);
extern bool VpChainReaderNext(VpChainReader reader, VpReadItem *item);
extern void VpChainReaderEnd(VpChainReader reader);
extern bool VpPageHasSeq(Relation index, BlockNumber blkno, uint32 seq);
extern void VpCheckDataPage(Relation index, Page page, BlockNumber blkno);
extern void VpCheckChainOrder(Relation index, Page page, BlockNumber blkno,
							  uint32 *last_seq);
extern Item VpGetCheckedItem(Relation index, Page page, BlockNumber blkno,
							 OffsetNumber off, Size min_len);

#endif							/* VPPAGE_H */
