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
 * An item is a header {heap TID, flags, CRC32C, payload length} and the
 * payload: the value as its type stores it (vptype.h).  Items are packed
 * densely: an item that does not fit in the rest of the tail page puts as
 * much of its payload there as fits (its head) and continues on the pages
 * that follow, whose first item is then a fragment of raw payload bytes
 * (the page is flagged VP_PAGE_FRAGMENT_FIRST); a page may hold the end of
 * one item, whole items, and the head of another.  The CRC covers the heap
 * TID, the length and the whole payload.  Only this header and vppage.c
 * know these layouts.
 *
 * Format versions: 1 (0.1.0, no metapage checksum) and 2 (0.1.0 with it)
 * stored float4 vectors whole, starting a spanning vector on an empty page;
 * 3 (0.2.0) is described here.  An index of format 1 or 2 must be
 * REINDEXed (the error says so).
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

#include "vptype.h"

#define VP_MAGIC_NUMBER		0x56504E57	/* "VPNW" */
#define VP_FORMAT_VERSION	3	/* 3: typed payloads, dense packing */
#define VP_PAGE_ID			0xFF8B		/* new: see STYLE.md for taken ids */

#define VP_METAPAGE_BLKNO	0

/* Page flags (opaque->flags) */
#define VP_PAGE_META			(1 << 0)
#define VP_PAGE_DATA			(1 << 1)
#define VP_PAGE_FRAGMENT_FIRST	(1 << 2)	/* item 1 is a fragment of an item
											 * begun on an earlier page */
#define VP_PAGE_FREE			(1 << 3)	/* on the free list */

/* Item flags (VpItemHeaderData.flags) */
#define VP_ITEM_DEAD		(1 << 0)	/* heap tuple gone; set by VACUUM */
#define VP_ITEM_SPANS		(1 << 1)	/* payload continues on next pages */

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
	uint32		dims;			/* 0 until the first value is stored */
	uint16		metric;			/* VpMetric of the operator class */
	uint16		m;				/* reloption m at build */
	uint16		ef_construction;	/* reloption ef_construction at build */
	uint16		elem_kind;		/* VpElementKind of the payloads */
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
	uint64		items_appended; /* items ever appended (an item's ordinal
								 * is this count just after its append) */
	uint64		items_dead;		/* items marked dead and not yet recycled */
	uint64		items_recycled; /* dead items removed with their pages */
	uint64		last_key;		/* key of the last item appended, or 0 */
	uint64		payload_bytes;	/* payload bytes ever appended */
} VpMetaPageData;

typedef VpMetaPageData *VpMetaPage;

#define VpPageGetMeta(page) ((VpMetaPage) PageGetContents(page))

typedef struct VpItemHeaderData
{
	ItemPointerData heap_tid;	/* the indexed heap tuple */
	uint16		flags;			/* VP_ITEM_* */
	pg_crc32c	crc;			/* CRC32C of heap_tid, len and the payload */
	uint32		len;			/* payload bytes in all (head + fragments) */
	/* the payload (for a spanning item: its first part) follows */
} VpItemHeaderData;

typedef VpItemHeaderData *VpItemHeader;

#define VP_ITEM_HEADER_SIZE		sizeof(VpItemHeaderData)
#define VpItemGetPayload(item)	((char *) (item) + VP_ITEM_HEADER_SIZE)

/* Largest item that fits on an empty data page */
#define VP_MAX_ITEM_SIZE \
	MAXALIGN_DOWN(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - \
				  MAXALIGN(sizeof(VpPageOpaqueData)) - sizeof(ItemIdData))

/* A head shorter than this goes on a new page instead */
#define VP_MIN_HEAD_PAYLOAD		64

/* Most pages one item can take (a 16000-float vector takes 9) */
#define VP_MAX_ITEM_PAGES		12

/* Largest payload an item may have */
#define VP_MAX_PAYLOAD	((VP_MAX_ITEM_PAGES - 1) * (Size) VP_MAX_ITEM_SIZE)

/* Identity of an item: page stamp and line pointer */
#define VpMakeItemKey(seq, off)	(((uint64) (seq) << 16) | (uint64) (off))
#define VpItemKeySeq(key)		((uint32) ((key) >> 16))
#define VpItemKeyOffset(key)	((OffsetNumber) ((key) & 0xFFFF))

/* Where an append put an item, and what the metapage said then */
typedef struct VpAppendResult
{
	uint64		key;
	BlockNumber block;
	OffsetNumber offnum;
	uint64		ordinal;		/* items_appended after this append */
	uint64		build_id;
	uint64		vacuum_epoch;
	uint32		dims;
	int			metric;
} VpAppendResult;

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
	bool		has_payload;	/* payload read (live, or dead and asked) */
	VpPayload	payload;		/* valid if has_payload */
} VpReadItem;

/*
 * Sequential reader of the chain.  Each page is copied under a short
 * share lock, so the caller may do long work between reads.  On a
 * primary the reader keeps a pin on the page it is on and takes the next
 * page's pin before letting go of it; VACUUM recycles only pages nobody
 * has pinned, so the pages a walk stands on stay in the chain and no
 * chain-wide lock is needed.  On a hot standby replay ignores pins, so
 * there every step is checked instead (see vppage.c).
 */
typedef struct VpChainReaderData
{
	Relation	index;
	BufferAccessStrategy strategy;
	VpElementKind kind;
	uint32		dims;
	bool		verify;			/* check CRCs of the payloads read */
	bool		dead_payloads;	/* also read (and check) dead items */
	bool		keys_only;		/* read no payload at all */
	uint64		stop_key;		/* return no item past this key (0: none) */
	bool		standby;		/* verified steps instead of pins */
	Buffer		pinned;			/* primary: the page we stand on */
	BlockNumber next_block;		/* standby: page to read after the copy */
	BlockNumber cur_block;		/* page held in `page`, or Invalid */
	uint32		cur_seq;
	OffsetNumber cur_off;		/* last offset returned on cur page */
	char	   *page;			/* BLCKSZ copy of the current page */
	char	   *payload;		/* VP_MAX_PAYLOAD bytes, assembled */
	uint32		last_seq;		/* stamp of the last page visited */
} VpChainReaderData;

typedef VpChainReaderData *VpChainReader;

/* vppage.c */
extern void VpInitPage(Page page, uint16 flags);
extern void VpInitMetaPage(Page page, int metric, int elem_kind, int m,
						   int ef_construction);
extern void VpMetaSetCrc(VpMetaPage meta);
extern VpMetaPage VpCheckMetaPage(Relation index, Page page);
extern void VpReadMeta(Relation index, VpMetaPageData *meta);
extern Buffer VpNewBuffer(Relation index, VpMetaPage meta);
extern pg_crc32c VpItemCrc(ItemPointer heap_tid, const void *payload,
						   uint32 len);
extern Size VpPayloadBytes(VpElementKind kind, uint32 dims, int32 nnz);
extern void VpCheckPayload(Relation index, VpMetaPage meta,
						   const VpPayload *payload);
extern int	VpAppendPages(Page tail, uint32 len);
extern OffsetNumber VpFillItemPages(Page *pages, int npages,
									ItemPointer heap_tid,
									const VpPayload *payload);
extern void VpLinkPage(VpMetaPage meta, Page tail, BlockNumber tailblk,
					   Page page, BlockNumber blkno);
extern bool VpChainReaderInit(VpChainReader reader, Relation index,
							  const VpMetaPageData *meta, BlockNumber start,
							  uint32 start_seq, OffsetNumber after_off,
							  bool verify);
extern bool VpChainReaderNext(VpChainReader reader, VpReadItem *item);
extern void VpChainReaderEnd(VpChainReader reader);
extern bool VpReadItemAt(Relation index, const VpMetaPageData *meta,
						 BlockNumber block, uint64 key, BlockNumber *nblocks,
						 ItemPointer heap_tid, char *payload_buf,
						 VpPayload *payload);
extern void VpCheckDataPage(Relation index, Page page, BlockNumber blkno);
extern void VpCheckChainOrder(Relation index, Page page, BlockNumber blkno,
							  uint32 *last_seq);
extern Item VpGetCheckedItem(Relation index, Page page, BlockNumber blkno,
							 OffsetNumber off, Size min_len);

#endif							/* VPPAGE_H */
