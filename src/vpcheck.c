/*-------------------------------------------------------------------------
 *
 * vpcheck.c
 *	  vecpersist_check(): the verifier of an hnsw index, in the manner of
 *	  amcheck's bt_index_check().
 *
 * This file owns the SQL function vecpersist_check(index regclass,
 * heapallindexed boolean) and everything it checks.  It reads, never
 * writes: it changes no page, builds or loads no graph, and returns
 * nothing on success (a DEBUG1 line gives the counts).  The first problem
 * found is an ERROR naming the index, the block and the item's offset,
 * with a detail giving what was expected and what was found:
 * ERRCODE_INDEX_CORRUPTED (XX002) for the structure (pages, chain, line
 * pointers, item headers, fragments, counters, the cached graph, a heap
 * row without its item), ERRCODE_DATA_CORRUPTED (XX001) for the data (a
 * checksum that does not match, a value its type cannot hold).  The
 * checks, in order:
 *
 *	1. the metapage: page id, magic, format version, checksum, and fields
 *	   that must agree with each other and with the operator class (kind of
 *	   values, metric, dimensions, m, ef_construction, head and tail, keys);
 *	2. the free list, under the metapage's share lock (pushes and pops both
 *	   need it exclusively, so the list cannot change meanwhile): every page
 *	   on it is a free page, seen once, and there are as many as counted;
 *	3. the chain, from the head to the page that was the tail when the
 *	   metapage was read: every page is a data page with a sane header,
 *	   stamped higher than the one before (a loop cannot go unnoticed), in
 *	   the index, visited once and not on the free list (the chain is
 *	   singly linked: the stamps and the metapage's tail, whose page must
 *	   be the last stamped, stand in for prev links); every line pointer
 *	   is a normal one inside the item space and no two items overlap;
 *	   every item header is sane (flags, length, whether it spans); a
 *	   spanning item is the last on its page and its fragments begin the
 *	   following pages, each of the right length, in order; every item's
 *	   CRC32C matches its heap TID and payload, and the payload has the
 *	   length and contents its kind allows (finite floats, ascending sparse
 *	   indices below the dimensions, no stray bits);
 *	4. the counters against the walk: items appended less recycled equals
 *	   the items found, at least items_dead of them flagged dead (more when
 *	   a VACUUM was interrupted before announcing its flags: tolerated),
 *	   payload bytes, the last key;
 *	5. the graph, if (and only if) one is cached in shared memory
 *	   (VpGraphOpenIfCached brings it current like a scan): every live item
 *	   has a live node with its key, heap TID, block and the code its value
 *	   encodes to; no live node stands for a dead or missing item.  A
 *	   mismatch is XX002 with a hint to REINDEX (vecpersist_evict alone
 *	   could bring the same graph back from its snapshot).  Live nodes the
 *	   entry point does not reach on level 0 are not corruption of the
 *	   index (the graph is a cache): a NOTICE counts them.  A private graph
 *	   (no shared_preload_libraries) is not compared;
 *	6. with heapallindexed, the heap: every row a fresh MVCC snapshot sees
 *	   whose indexed value is not NULL and is indexable (a zero vector under
 *	   cosine is not) has a live item with its heap TID and its value (the
 *	   item's CRC32C computed from the row).
 * Pages come before the counters, the counters before the graph, the
 * graph before the heap: a graph or a heap is only compared with pages
 * known to be intact.
 *
 * Concurrency.  Like bt_index_check it takes AccessShareLock on the table
 * and the index, so inserts and VACUUM go on beside it.  It walks the
 * chain with the chain reader's lock coupling: it keeps a pin on the page
 * it stands on (VACUUM recycles only pages nobody pins), reads the page's
 * link under a share lock and pins and locks the next page before letting
 * go, and copies each page so that no lock is held while it is checked.
 * Items appended after the metapage was read (keys above its last_key,
 * pages stamped from its next_seq on) are ignored.  Pages VACUUM recycled
 * before the walk reached them leave a gap in the stamps; fragments of a
 * dead item may be missing then (its checksum cannot be checked), those
 * of a live item may not, unless the metapage shows that a VACUUM
 * announced deletions meanwhile.  Counters are compared only when no
 * VACUUM changed them during the walk, and what the graph says of dead
 * items only when the graph, the metapage before and the metapage after
 * agree on the vacuum epoch.  On a hot standby replay ignores pins, so a
 * page the walk stands on can be recycled under it: the check notices (the
 * page is no longer that chain page) and starts again, three times at
 * most.
 *
 * heapallindexed follows amcheck: the snapshot is registered before the
 * metapage is read, so every row it sees was inserted, with its item,
 * before the walk began.  Rows of transactions still in progress, and
 * rows deleted before the snapshot, are not asked for.  The walk collects
 * {heap TID, CRC32C} of every live item in a sorted array while it fits in
 * maintenance_work_mem (16 bytes an item); beyond that it switches to a
 * Bloom filter of maintenance_work_mem bytes, which can let a missing row
 * pass with a small probability (growing as the filter fills; the DEBUG1
 * line reports it) but never reports a row that is there.
 *
 * Privileges.  EXECUTE is revoked from PUBLIC by the extension script (as
 * amcheck does): superusers may run it, and may GRANT EXECUTE to a role.
 * Such a role must also hold SELECT on the index's table, checked here.
 * As in amcheck, index expressions and predicates are evaluated as the
 * table's owner, in a security-restricted operation.
 *
 * IDENTIFICATION
 *	  src/vpcheck.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "common/pg_prng.h"
#include "lib/bloomfilter.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "vecpersist.h"
#include "vppage.h"
#include "vpshmem.h"

/* walks started again after replay recycled the page we stood on */
#define VP_CHECK_MAX_ATTEMPTS	3

/* A live item as the heap check looks it up (16 bytes) */
typedef struct VpCheckTid
{
	uint32		tid_block;		/* heap TID */
	uint16		tid_off;
	uint16		item_off;		/* where the item is */
	pg_crc32c	crc;			/* its CRC32C: heap TID, length, payload */
	BlockNumber item_block;
} VpCheckTid;

/* The item being checked: its header and how much of it was read */
typedef struct VpCheckItem
{
	uint64		key;
	BlockNumber block;			/* head page */
	OffsetNumber off;			/* head line pointer */
	ItemPointerData heap_tid;
	uint16		flags;
	pg_crc32c	crc;
	uint32		len;			/* payload bytes in all */
	uint32		have;			/* payload bytes accounted for so far */
	uint32		head_seq;		/* stamp of the head page */
	uint32		fragments;		/* index of the last fragment page seen */
	bool		complete;		/* every byte was read (no page of a dead
								 * item recycled) */
} VpCheckItem;

/* A mismatch between the graph and the pages, kept until the end */
typedef struct VpGraphProblem
{
	bool		found;
	uint64		key;			/* for picking the first one */
	BlockNumber block;
	OffsetNumber off;
	char	   *detail;
} VpGraphProblem;

/* Everything one run of vecpersist_check knows */
typedef struct VpCheckState
{
	Relation	index;
	Relation	heap;
	const VpIndexInfo *info;
	MemoryContext cxt;			/* reset for each attempt */
	BufferAccessStrategy strategy;
	bool		heapallindexed;

	/* the index as the metapage described it when the walk began */
	VpMetaPageData meta;
	BlockNumber nblocks;

	/* the walk */
	uint8	   *in_chain;		/* bitmap by block */
	uint8	   *on_free_list;	/* bitmap by block */
	Buffer		pinned;			/* the chain page we stand on */
	BlockNumber cur_block;
	uint32		cur_seq;
	uint32		prev_seq;		/* stamp of the page before (0: none) */
	char	   *page;			/* copy of the current page */
	char	   *payload;		/* the item being assembled */
	bool		span_open;		/* an item continues on later pages */
	VpCheckItem item;			/* the item being checked */
	bool		reached_tail;	/* walked up to the tail of the metapage */
	bool		gone;			/* the page we stood on was recycled */

	/* what the walk found */
	uint64		pages;
	uint64		items;
	uint64		dead;
	uint64		bytes;
	uint64		incomplete;		/* dead items with recycled pages */
	uint64		orphans;		/* fragments of recycled items */
	bool		found_last_key;

	/* the graph, if one is cached */
	bool		have_graph;
	VpGraphRef	ref;
	VpGraphMark mark;
	const VpGraph *graph;
	int32		graph_count;	/* nodes when it was opened */
	VpNodeId	next_node;		/* merge position */
	float	   *vecbuf;			/* dims floats for half payloads */
	char	   *codebuf;		/* an item's value encoded for the graph */
	size_t		codebuf_size;
	VpGraphProblem certain;		/* wrong whatever VACUUM did meanwhile */
	VpGraphProblem deleted_live;	/* a deleted node for a live item */
	VpGraphProblem live_missing;	/* a live node without an item */
	VpGraphProblem live_dead;	/* a live node for a dead item */
	int64		live_dead_count;

	/* the heap */
	VpCheckTid *tids;
	int64		ntids;
	int64		maxtids;		/* allocated */
	int64		captids;		/* what maintenance_work_mem allows */
	bloom_filter *bloom;
	MemoryContext tuplecxt;
	int64		heap_checked;
} VpCheckState;

static void CorruptMeta(VpCheckState *state, int code, const char *detail)
			pg_attribute_noreturn();
static void CorruptPage(VpCheckState *state, BlockNumber blkno,
						const char *detail) pg_attribute_noreturn();
static void CorruptItem(VpCheckState *state, int code, BlockNumber blkno,
						OffsetNumber off, const char *detail)
			pg_attribute_noreturn();

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_check_index);

/* ------------------------------------------------------------------------
 * Reports
 * ------------------------------------------------------------------------
 */

/*
 * The metapage (block 0) is wrong: code is XX001 for a checksum that does
 * not match, XX002 otherwise.
 */
static void
CorruptMeta(VpCheckState *state, int code, const char *detail)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("index \"%s\" has a corrupted metapage at block %u",
					RelationGetRelationName(state->index), VP_METAPAGE_BLKNO),
			 errdetail("%s", detail),
			 errhint("Please REINDEX it.")));
}

/*
 * A page of the chain or the free list is wrong as a whole.
 */
static void
CorruptPage(VpCheckState *state, BlockNumber blkno, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" has a corrupted page at block %u",
					RelationGetRelationName(state->index), blkno),
			 errdetail("%s", detail),
			 errhint("Please REINDEX it.")));
}

/*
 * One item (its line pointer, header, fragments or contents) is wrong.
 */
static void
CorruptItem(VpCheckState *state, int code, BlockNumber blkno,
			OffsetNumber off, const char *detail)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("index \"%s\" has a corrupted item at block %u, offset %u",
					RelationGetRelationName(state->index), blkno, off),
			 errdetail("%s", detail),
			 errhint("Please REINDEX it.")));
}

/*
 * The metapage as it is now, for deciding whether something the walk met
 * can be explained by what other sessions did since it began.
 */
static void
MetaNow(VpCheckState *state, VpMetaPageData *now)
{
	VpReadMeta(state->index, now);
}

/*
 * Whether VACUUM announced deletions or recycled pages since the walk's
 * metapage was read: then a live item may have died, and its pages may
 * have left the chain, while the walk was on its way.
 */
static bool
VacuumRanSince(VpCheckState *state)
{
	VpMetaPageData now;

	MetaNow(state, &now);
	return now.vacuum_epoch != state->meta.vacuum_epoch ||
		now.items_recycled != state->meta.items_recycled;
}

/* ------------------------------------------------------------------------
 * Bitmaps by block
 * ------------------------------------------------------------------------
 */

static inline bool
BitTest(const uint8 *map, BlockNumber blkno)
{
	return (map[blkno / 8] & (1 << (blkno % 8))) != 0;
}

static inline void
BitSet(uint8 *map, BlockNumber blkno)
{
	map[blkno / 8] |= (uint8) (1 << (blkno % 8));
}

/* ------------------------------------------------------------------------
 * The metapage and the free list
 * ------------------------------------------------------------------------
 */

/*
 * Check the metapage (a copy of block 0) and keep its contents in
 * state->meta.  Everything here is about block 0 alone, or block 0 and
 * the operator class; the walk checks the rest against it.
 */
static void
CheckMetaPage(VpCheckState *state, Page page)
{
	Relation	index = state->index;
	VpPageOpaque opaque = VpPageGetOpaque(page);
	VpMetaPage	meta = VpPageGetMeta(page);
	VpMetaPageData sealed;
	const VpTypeSupport *support = state->info->support;
	Size		meta_end = (char *) meta + sizeof(VpMetaPageData) - (char *) page;

	if (PageIsNew(page))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errdetail("Block 0 is all zeros."),
				 errhint("Please REINDEX it.")));
	if (PageGetSpecialSize(page) != MAXALIGN(sizeof(VpPageOpaqueData)) ||
		opaque->page_id != VP_PAGE_ID)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errdetail("Block 0 is not a vecpersist page: special space of %u bytes, page id 0x%04X; expected %zu bytes and 0x%04X.",
						   (unsigned) PageGetSpecialSize(page),
						   PageGetSpecialSize(page) >= sizeof(VpPageOpaqueData) ?
						   opaque->page_id : 0,
						   MAXALIGN(sizeof(VpPageOpaqueData)), VP_PAGE_ID),
				 errhint("Please REINDEX it.")));
	if (meta->magic != VP_MAGIC_NUMBER)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has an invalid metapage",
						RelationGetRelationName(index)),
				 errdetail("Its magic number is 0x%08X, expected 0x%08X.",
						   meta->magic, VP_MAGIC_NUMBER),
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
	memcpy(&sealed, meta, sizeof(VpMetaPageData));
	VpMetaSetCrc(&sealed);
	if (sealed.crc != meta->crc)
		CorruptMeta(state, ERRCODE_DATA_CORRUPTED,
					psprintf("The metapage's checksum does not match its contents: stored %08X, computed %08X.",
							 meta->crc, sealed.crc));
	if (meta->version != VP_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has format version %u, but this build of vecpersist reads version %d",
						RelationGetRelationName(index), meta->version,
						VP_FORMAT_VERSION),
				 errhint("Please REINDEX it.")));

	memcpy(&state->meta, meta, sizeof(VpMetaPageData));
	meta = &state->meta;

	if (((PageHeader) page)->pd_lower < meta_end)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("The metapage's pd_lower is %u, below the end of its contents at %zu.",
							 ((PageHeader) page)->pd_lower, meta_end));
	if ((opaque->flags & ~(VP_PAGE_META)) != 0 || !(opaque->flags & VP_PAGE_META))
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("Its page flags are 0x%04X, expected 0x%04X.",
							 opaque->flags, VP_PAGE_META));
	if ((int) meta->elem_kind != (int) support->kind)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("It says the items are of kind %u; the operator class stores %s (kind %d).",
							 meta->elem_kind, support->type_name,
							 (int) support->kind));
	if ((int) meta->metric != state->info->metric)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("It says the metric is %u; the operator class's is %d.",
							 meta->metric, state->info->metric));
	if (meta->m < VP_MIN_M || meta->m > VP_MAX_M ||
		meta->ef_construction < VP_MIN_EF_CONSTRUCTION ||
		meta->ef_construction > VP_MAX_EF_CONSTRUCTION ||
		meta->ef_construction < 2 * meta->m)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("It says m = %u and ef_construction = %u; expected m from %d to %d and ef_construction from 2 * m to %d.",
							 meta->m, meta->ef_construction, VP_MIN_M, VP_MAX_M,
							 VP_MAX_EF_CONSTRUCTION));
	if (meta->dims > (uint32) support->max_dims)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("It says the items have %u dimensions; an hnsw index of %s holds at most %d.",
							 meta->dims, support->type_name, support->max_dims));
	{
		int32		typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;

		if (typmod > 0 && meta->dims != 0 && meta->dims != (uint32) typmod)
			CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
						psprintf("It says the items have %u dimensions; the indexed column has %d.",
								 meta->dims, typmod));
	}
	if (meta->build_id == 0)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					pstrdup("Its build id is 0; every build draws a nonzero one."));
	if (meta->next_seq == 0)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					pstrdup("Its next page sequence number is 0; it starts at 1."));
	if (meta->items_dead > meta->items_appended ||
		meta->items_recycled > meta->items_appended - meta->items_dead)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("It counts %llu items appended, %llu dead and %llu recycled: more dead and recycled than appended.",
							 (unsigned long long) meta->items_appended,
							 (unsigned long long) meta->items_dead,
							 (unsigned long long) meta->items_recycled));
	if (BlockNumberIsValid(meta->head_block) != BlockNumberIsValid(meta->tail_block))
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("Its chain has head block %d and tail block %d: both or neither must be set.",
							 BlockNumberIsValid(meta->head_block) ? (int) meta->head_block : -1,
							 BlockNumberIsValid(meta->tail_block) ? (int) meta->tail_block : -1));
	if (!BlockNumberIsValid(meta->head_block))
	{
		/* no page ever joined the chain (the tail is never recycled) */
		if (meta->items_appended != 0 || meta->next_seq != 1 ||
			meta->last_key != 0 || meta->payload_bytes != 0)
			CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
						psprintf("Its chain is empty, but it counts %llu items appended, %llu payload bytes, last key %llu and next page sequence number %u; expected 0, 0, 0 and 1.",
								 (unsigned long long) meta->items_appended,
								 (unsigned long long) meta->payload_bytes,
								 (unsigned long long) meta->last_key,
								 meta->next_seq));
	}
	else
	{
		if (meta->head_block == VP_METAPAGE_BLKNO ||
			meta->head_block >= state->nblocks ||
			meta->tail_block == VP_METAPAGE_BLKNO ||
			meta->tail_block >= state->nblocks)
			CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
						psprintf("Its chain runs from block %u to block %u, but the data pages of the index are blocks 1 to %u.",
								 meta->head_block, meta->tail_block,
								 state->nblocks - 1));
		if (meta->items_appended == 0 || meta->dims == 0 ||
			meta->next_seq < 2 || meta->last_key == 0 ||
			VpItemKeySeq(meta->last_key) >= meta->next_seq ||
			VpItemKeyOffset(meta->last_key) == InvalidOffsetNumber)
			CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
						psprintf("Its chain has pages, but it counts %llu items appended of %u dimensions, last key %llu (page stamp %u, offset %u) and next page sequence number %u.",
								 (unsigned long long) meta->items_appended,
								 meta->dims,
								 (unsigned long long) meta->last_key,
								 VpItemKeySeq(meta->last_key),
								 VpItemKeyOffset(meta->last_key),
								 meta->next_seq));
	}
	if (BlockNumberIsValid(meta->free_head) &&
		(meta->free_head == VP_METAPAGE_BLKNO ||
		 meta->free_head >= state->nblocks))
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("Its free list starts at block %u, but the index has %u blocks.",
							 meta->free_head, state->nblocks));
	if (BlockNumberIsValid(meta->free_head) != (meta->free_pages > 0))
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("It counts %u free pages, but its free list %s.",
							 meta->free_pages,
							 BlockNumberIsValid(meta->free_head) ? "has a head" : "is empty"));
}

/*
 * Walk the free list.  The caller holds the metapage share-locked, which
 * keeps the list still (appends pop and VACUUM pushes under the metapage's
 * exclusive lock); the pages are read one at a time under their own share
 * locks (metapage before data pages: the lock order of src/README).
 */
static void
CheckFreeList(VpCheckState *state)
{
	BlockNumber blkno = state->meta.free_head;
	BlockNumber from = VP_METAPAGE_BLKNO;
	uint32		n = 0;

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf;
		Page		page;
		VpPageOpaque opaque;

		if (blkno == VP_METAPAGE_BLKNO || blkno >= state->nblocks)
			CorruptPage(state, from,
						psprintf("The free list goes on from here to block %u, outside the index's %u blocks.",
								 blkno, state->nblocks));
		if (BitTest(state->on_free_list, blkno))
			CorruptPage(state, from,
						psprintf("The free list goes on from here to block %u a second time.",
								 blkno));
		BitSet(state->on_free_list, blkno);
		n++;

		buf = ReadBufferExtended(state->index, MAIN_FORKNUM, blkno,
								 RBM_NORMAL, state->strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		memcpy(state->page, BufferGetPage(buf), BLCKSZ);
		UnlockReleaseBuffer(buf);
		page = (Page) state->page;
		opaque = VpPageGetOpaque(page);
		if (PageIsNew(page) ||
			PageGetSpecialSize(page) != MAXALIGN(sizeof(VpPageOpaqueData)) ||
			opaque->page_id != VP_PAGE_ID)
			CorruptPage(state, blkno,
						pstrdup("The page is on the free list but is not a vecpersist page."));
		if (opaque->flags != VP_PAGE_FREE)
			CorruptPage(state, blkno,
						psprintf("The page is on the free list, but its flags are 0x%04X; expected 0x%04X.",
								 opaque->flags, VP_PAGE_FREE));
		from = blkno;
		blkno = opaque->next;
	}
	if (n != state->meta.free_pages)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("It counts %u free pages, but the free list holds %u.",
							 state->meta.free_pages, n));
}

/* ------------------------------------------------------------------------
 * Item contents
 * ------------------------------------------------------------------------
 */

/*
 * Check a whole payload against its kind and the index's dimensions:
 * XX001, since its checksum matched and only the writer could have put it
 * there wrong.
 */
static void
CheckPayload(VpCheckState *state, const VpCheckItem *item,
			 const char *data)
{
	VpElementKind kind = (VpElementKind) state->meta.elem_kind;
	uint32		dims = state->meta.dims;
	uint32		len = item->len;
	uint32		i;

	if (kind != VP_ELEM_SPARSE && len != VpPayloadBytes(kind, dims, 0))
		CorruptItem(state, ERRCODE_DATA_CORRUPTED, item->block, item->off,
					psprintf("The item holds %u bytes; a value of %u dimensions takes %zu.",
							 len, dims, VpPayloadBytes(kind, dims, 0)));
	switch (kind)
	{
		case VP_ELEM_FLOAT32:
			for (i = 0; i < dims; i++)
			{
				float		x;

				memcpy(&x, data + sizeof(float) * i, sizeof(float));
				if (!isfinite(x))
					CorruptItem(state, ERRCODE_DATA_CORRUPTED, item->block,
								item->off,
								psprintf("Element %u of the item's value is not a finite number.",
										 i + 1));
			}
			break;
		case VP_ELEM_FLOAT16:
			for (i = 0; i < dims; i++)
			{
				uint16		h;

				memcpy(&h, data + sizeof(uint16) * i, sizeof(uint16));
				if ((h & 0x7C00) == 0x7C00)
					CorruptItem(state, ERRCODE_DATA_CORRUPTED, item->block,
								item->off,
								psprintf("Element %u of the item's value is not a finite number.",
										 i + 1));
			}
			break;
		case VP_ELEM_BIT:
			if (dims % 8 != 0 &&
				(((const uint8 *) data)[dims / 8] & (0xFF >> (dims % 8))) != 0)
				CorruptItem(state, ERRCODE_DATA_CORRUPTED, item->block,
							item->off,
							psprintf("The item's bit string has bits set past its %u bits.",
									 dims));
			break;
		case VP_ELEM_SPARSE:
			{
				Size		pair = sizeof(int32) + sizeof(float);
				uint32		nnz = len / pair;

				if (len % pair != 0)
					CorruptItem(state, ERRCODE_DATA_CORRUPTED, item->block,
								item->off,
								psprintf("The item holds %u bytes, not a whole number of sparse elements (%zu bytes each).",
										 len, pair));
				if (state->info->support->max_nnz > 0 &&
					nnz > (uint32) state->info->support->max_nnz)
					CorruptItem(state, ERRCODE_DATA_CORRUPTED, item->block,
								item->off,
								psprintf("The item has %u non-zero elements; an hnsw index holds at most %d.",
										 nnz, state->info->support->max_nnz));
				for (i = 0; i < nnz; i++)
				{
					int32		idx,
								prev = -1;
					float		x;

					memcpy(&idx, data + sizeof(int32) * i, sizeof(int32));
					if (i > 0)
						memcpy(&prev, data + sizeof(int32) * (i - 1), sizeof(int32));
					memcpy(&x, data + sizeof(int32) * nnz + sizeof(float) * i,
						   sizeof(float));
					if (idx < 0 || (uint32) idx >= dims || idx <= prev)
						CorruptItem(state, ERRCODE_DATA_CORRUPTED, item->block,
									item->off,
									psprintf("Sparse element %u has index %d; indices ascend from 0 to %u.",
											 i + 1, idx, dims - 1));
					if (x == 0.0f || !isfinite(x))
						CorruptItem(state, ERRCODE_DATA_CORRUPTED, item->block,
									item->off,
									psprintf("Sparse element %u has value %g; stored values are finite and not zero.",
											 i + 1, (double) x));
				}
				break;
			}
	}
}

/* ------------------------------------------------------------------------
 * The graph
 * ------------------------------------------------------------------------
 */

/*
 * Remember a mismatch between graph and pages, the first of its kind.
 */
static void
NoteProblem(VpGraphProblem *problem, uint64 key, BlockNumber block,
			OffsetNumber off, char *detail)
{
	if (problem->found)
	{
		pfree(detail);
		return;
	}
	problem->found = true;
	problem->key = key;
	problem->block = block;
	problem->off = off;
	problem->detail = detail;
}

/*
 * A node with no item at its key: it must be deleted (its item was
 * recycled after VACUUM announced it dead, or it is gone from a loaded
 * snapshot).
 */
static void
NodeWithoutItem(VpCheckState *state, VpNodeId node, const VpGraphItem *gi)
{
	ItemPointerData tid;

	if (VpGraphIsDeleted(state->graph, node))
		return;
	VpLabelToTid(gi->label, &tid);
	NoteProblem(&state->live_missing, gi->key, gi->block,
				VpItemKeyOffset(gi->key),
				psprintf("Node %d (heap TID (%u,%u)) is live, but the chain holds no item with its key (page stamp %u, offset %u).",
						 node, ItemPointerGetBlockNumberNoCheck(&tid),
						 ItemPointerGetOffsetNumberNoCheck(&tid),
						 VpItemKeySeq(gi->key), VpItemKeyOffset(gi->key)));
}

/*
 * Compare the node of an item with it: heap TID, block, deleted or not,
 * and, for a live item read whole, the code its value encodes to.
 */
static void
CompareNode(VpCheckState *state, VpNodeId node, const VpGraphItem *gi)
{
	const VpCheckItem *item = &state->item;
	const VpGraph *graph = state->graph;
	bool		dead = (item->flags & VP_ITEM_DEAD) != 0;
	bool		deleted = VpGraphIsDeleted(graph, node);

	if (gi->label != VpTidToLabel((ItemPointer) &item->heap_tid))
	{
		ItemPointerData tid;

		VpLabelToTid(gi->label, &tid);
		NoteProblem(&state->certain, item->key, item->block, item->off,
					psprintf("Its node %d has heap TID (%u,%u); the item has (%u,%u).",
							 node, ItemPointerGetBlockNumberNoCheck(&tid),
							 ItemPointerGetOffsetNumberNoCheck(&tid),
							 ItemPointerGetBlockNumberNoCheck(&item->heap_tid),
							 ItemPointerGetOffsetNumberNoCheck(&item->heap_tid)));
		return;
	}
	if (gi->block != item->block)
	{
		NoteProblem(&state->certain, item->key, item->block, item->off,
					psprintf("Its node %d says the item starts at block %u.",
							 node, gi->block));
		return;
	}
	if (!dead && deleted)
	{
		NoteProblem(&state->deleted_live, item->key, item->block, item->off,
					psprintf("The item is live, but its node %d is deleted.",
							 node));
		return;
	}
	if (dead && !deleted)
	{
		state->live_dead_count++;
		NoteProblem(&state->live_dead, item->key, item->block, item->off,
					psprintf("The item is dead, but its node %d is live.",
							 node));
		return;
	}
	if (!dead && item->complete)
	{
		const VpGraphParams *params = VpGraphGetParams(graph);
		const void *code = VpGraphCode(graph, node);
		VpPayload	payload;
		VpVector	v;
		size_t		bytes;

		payload.kind = (VpElementKind) state->meta.elem_kind;
		payload.dims = (int32) state->meta.dims;
		payload.nnz = payload.kind == VP_ELEM_SPARSE ?
			(int32) (item->len / (sizeof(int32) + sizeof(float))) : 0;
		payload.data = state->payload;
		payload.len = item->len;
		VpPayloadToVector(&payload, &v, state->vecbuf);
		bytes = VpCodeBytes(params->codes, params->dims, &v);
		if (bytes > state->codebuf_size)
		{
			state->codebuf = MemoryContextAllocHuge(state->cxt, bytes);
			state->codebuf_size = bytes;
		}
		/*
		 * A sparse code's size depends on its header: compare that first,
		 * so as never to read past a shorter code.
		 */
		if (code == NULL || bytes == 0 ||
			!VpCodeEncode(params->codes, params->metric, params->dims, &v,
						  state->codebuf) ||
			(params->codes == VP_CODE_SPARSE &&
			 memcmp(code, state->codebuf, sizeof(VpSparseHeader)) != 0) ||
			memcmp(code, state->codebuf, bytes) != 0)
			NoteProblem(&state->certain, item->key, item->block, item->off,
						psprintf("The code of its node %d is not what the item's value encodes to.",
								 node));
	}
}

/*
 * Merge step: the item just checked (state->item) against the nodes, both
 * in ascending key order.
 */
static void
GraphItem(VpCheckState *state)
{
	const VpCheckItem *item = &state->item;
	VpGraphItem gi;

	if (!state->have_graph)
		return;
	while (state->next_node < state->graph_count)
	{
		if (!VpGraphGetItem(state->graph, state->next_node, &gi) ||
			gi.key >= item->key)
			break;
		NodeWithoutItem(state, state->next_node, &gi);
		state->next_node++;
	}
	if (state->next_node < state->graph_count &&
		VpGraphGetItem(state->graph, state->next_node, &gi) &&
		gi.key == item->key)
	{
		CompareNode(state, state->next_node, &gi);
		state->next_node++;
	}
	else if (!(item->flags & VP_ITEM_DEAD))
		NoteProblem(&state->certain, item->key, item->block, item->off,
					pstrdup("The item is live, but the graph has no node with its key."));
}

/*
 * After a walk that found the pages intact: the nodes with keys up to the
 * metapage's last that no item claimed, then the first mismatch that
 * counts.  What the graph says of dead items counts only when no VACUUM
 * changed anything during the check (the graph and the metapage before
 * and after agree); a live node for a dead item is allowed for as many
 * items as were flagged without being announced (a VACUUM interrupted, or
 * one under way).
 */
static void
FinishGraph(VpCheckState *state)
{
	VpMetaPageData now;
	VpGraphProblem *first = NULL;
	VpGraphProblem *candidates[4];
	bool		stable;
	int			i;

	while (state->next_node < state->graph_count)
	{
		VpGraphItem gi;

		if (!VpGraphGetItem(state->graph, state->next_node, &gi) ||
			gi.key > state->meta.last_key)
			break;
		NodeWithoutItem(state, state->next_node, &gi);
		state->next_node++;
	}

	MetaNow(state, &now);
	stable = state->mark.vacuum_epoch == state->meta.vacuum_epoch &&
		now.vacuum_epoch == state->meta.vacuum_epoch &&
		now.items_dead == state->meta.items_dead &&
		now.items_recycled == state->meta.items_recycled;
	candidates[0] = &state->certain;
	candidates[1] = stable ? &state->deleted_live : NULL;
	candidates[2] = stable ? &state->live_missing : NULL;
	candidates[3] = stable &&
		state->live_dead_count > (int64) state->dead - (int64) state->meta.items_dead ?
		&state->live_dead : NULL;
	for (i = 0; i < 4; i++)
	{
		if (candidates[i] != NULL && candidates[i]->found &&
			(first == NULL || candidates[i]->key < first->key))
			first = candidates[i];
	}
	if (first != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("hnsw graph of index \"%s\" does not match the item at block %u, offset %u",
						RelationGetRelationName(state->index), first->block,
						first->off),
				 errdetail("%s", first->detail),
				 errhint("The index pages are intact; the graph cached in shared memory is not.  REINDEX INDEX %s builds a new graph (vecpersist_evict() alone may load the same one again from its snapshot).",
						 quote_identifier(RelationGetRelationName(state->index)))));
}

/*
 * Count the live, linked nodes the entry point does not reach through
 * level-0 links (VpGraphUnreachable, the measure the graph's own repair
 * uses).  Not corruption: the graph is a cache that a rebuild makes whole
 * again; but searches may miss those rows until then, so say so, at
 * NOTICE.  (A search that enters level 0 elsewhere, from an upper level,
 * can still find some of them.)
 */
static int32
ReportUnreachable(VpCheckState *state)
{
	VpAllocator allocator = VpMakeAllocator(state->cxt);
	int32		lost = VpGraphUnreachable(state->graph, &allocator, NULL, 0);

	if (lost < 0)
		elog(ERROR, "could not check the reachability of an hnsw graph");
	if (lost > 0)
		ereport(NOTICE,
				(errmsg("hnsw graph of index \"%s\" has %d live nodes that its entry point does not reach on level 0",
						RelationGetRelationName(state->index), lost),
				 errdetail("This is not corruption: the index pages are intact, and the graph is a cache of them.  Searches may miss these rows until the graph is rebuilt."),
				 errhint("REINDEX INDEX %s builds a new graph.",
						 quote_identifier(RelationGetRelationName(state->index)))));
	return lost;
}

/* ------------------------------------------------------------------------
 * The heap's TIDs
 * ------------------------------------------------------------------------
 */

static int
CompareTids(const void *a, const void *b)
{
	const VpCheckTid *x = (const VpCheckTid *) a;
	const VpCheckTid *y = (const VpCheckTid *) b;

	if (x->tid_block != y->tid_block)
		return x->tid_block < y->tid_block ? -1 : 1;
	if (x->tid_off != y->tid_off)
		return x->tid_off < y->tid_off ? -1 : 1;
	if (x->crc != y->crc)
		return x->crc < y->crc ? -1 : 1;
	return 0;
}

/*
 * The bytes a Bloom filter hashes for a heap TID and an item's CRC32C.
 */
static void
BloomKey(uint32 tid_block, uint16 tid_off, pg_crc32c crc, unsigned char *key)
{
	memcpy(key, &tid_block, sizeof(uint32));
	memcpy(key + 4, &tid_off, sizeof(uint16));
	memcpy(key + 6, &crc, sizeof(pg_crc32c));
}

/*
 * Remember a live item for the heap check: in the array while it fits in
 * maintenance_work_mem, else in a Bloom filter of that size.
 */
static void
AddTid(VpCheckState *state)
{
	const VpCheckItem *item = &state->item;
	VpCheckTid *t;

	if (state->bloom == NULL && state->ntids == state->captids)
	{
		uint64		live = state->meta.items_appended -
			state->meta.items_dead - state->meta.items_recycled;
		int64		i;
		unsigned char key[10];

		state->bloom = bloom_create(Max((int64) live, state->ntids * 2),
									maintenance_work_mem,
									pg_prng_uint64(&pg_global_prng_state));
		for (i = 0; i < state->ntids; i++)
		{
			BloomKey(state->tids[i].tid_block, state->tids[i].tid_off,
					 state->tids[i].crc, key);
			bloom_add_element(state->bloom, key, sizeof(key));
		}
		pfree(state->tids);
		state->tids = NULL;
	}
	if (state->bloom != NULL)
	{
		unsigned char key[10];

		BloomKey(ItemPointerGetBlockNumberNoCheck(&item->heap_tid),
				 ItemPointerGetOffsetNumberNoCheck(&item->heap_tid),
				 item->crc, key);
		bloom_add_element(state->bloom, key, sizeof(key));
		state->ntids++;
		return;
	}
	if (state->ntids == state->maxtids)
	{
		state->maxtids = Min(Max(state->maxtids * 2, 1024), state->captids);
		state->tids = state->tids == NULL ?
			MemoryContextAllocHuge(state->cxt,
								   sizeof(VpCheckTid) * state->maxtids) :
			repalloc_huge(state->tids, sizeof(VpCheckTid) * state->maxtids);
	}
	t = &state->tids[state->ntids++];
	t->tid_block = ItemPointerGetBlockNumberNoCheck(&item->heap_tid);
	t->tid_off = ItemPointerGetOffsetNumberNoCheck(&item->heap_tid);
	t->crc = item->crc;
	t->item_block = item->block;
	t->item_off = item->off;
}

/* ------------------------------------------------------------------------
 * The chain
 * ------------------------------------------------------------------------
 */

/*
 * An item has been read as far as it can be (whole, or a dead item some of
 * whose pages were recycled): check its checksum and contents, then hand
 * it to the graph merge and the heap check.
 */
static void
ItemDone(VpCheckState *state)
{
	VpCheckItem *item = &state->item;
	bool		dead = (item->flags & VP_ITEM_DEAD) != 0;

	state->span_open = false;
	state->items++;
	state->bytes += item->len;
	if (dead)
		state->dead++;
	if (item->complete)
	{
		pg_crc32c	crc = VpItemCrc(&item->heap_tid, state->payload, item->len);

		if (crc != item->crc)
			CorruptItem(state, ERRCODE_DATA_CORRUPTED, item->block, item->off,
						psprintf("The item's checksum does not match its contents: stored %08X, computed %08X.",
								 item->crc, crc));
		if (!ItemPointerIsValid(&item->heap_tid) ||
			ItemPointerGetOffsetNumberNoCheck(&item->heap_tid) > MaxOffsetNumber)
			CorruptItem(state, ERRCODE_INDEX_CORRUPTED, item->block, item->off,
						psprintf("Its heap TID (%u,%u) is not a valid one.",
								 ItemPointerGetBlockNumberNoCheck(&item->heap_tid),
								 ItemPointerGetOffsetNumberNoCheck(&item->heap_tid)));
		CheckPayload(state, item, state->payload);
	}
	else
		state->incomplete++;
	GraphItem(state);
	if (state->heapallindexed && !dead)
		AddTid(state);
}

/*
 * Pages of the open item (state->item) went missing from the chain: the
 * walk came to a page stamped seq while the item needed the page stamped
 * item->head_seq + item->fragments + 1.  VACUUM recycles pages that hold
 * nothing of a live item, so this is fine for a dead item (whose checksum
 * then cannot be checked), and for a live one only if a VACUUM announced
 * deletions since the walk began (the item died on the way).
 */
static void
SpanPagesMissing(VpCheckState *state, uint32 seq)
{
	VpCheckItem *item = &state->item;

	if (!(item->flags & VP_ITEM_DEAD) && !VacuumRanSince(state))
		CorruptItem(state, ERRCODE_INDEX_CORRUPTED, item->block, item->off,
					psprintf("Pages of the item are missing from the chain: after the page stamped %u, with %u of its %u bytes, comes the page stamped %u.",
							 item->head_seq + item->fragments, item->have,
							 item->len, seq));
	item->complete = false;
}

/*
 * The fragment that begins the current page (offset 1 of a page flagged
 * VP_PAGE_FRAGMENT_FIRST).  gap: pages were unlinked between the previous
 * page of the walk and this one.
 */
static void
CheckFragment(VpCheckState *state, bool gap)
{
	Page		page = (Page) state->page;
	VpCheckItem *item = &state->item;
	ItemId		iid = PageGetItemId(page, FirstOffsetNumber);
	Size		n = ItemIdGetLength(iid);
	const char *fragment = (const char *) PageGetItem(page, iid);
	uint32		index;
	Size		expected;

	if (!state->span_open)
	{
		if (!gap)
			CorruptPage(state, state->cur_block,
						psprintf("The page begins with a fragment, but no item on the page before it (stamped %u) continues here.",
								 state->prev_seq));
		/* the rest of an item whose earlier pages were recycled */
		state->orphans++;
		return;
	}

	index = state->cur_seq - item->head_seq;
	if (index != item->fragments + 1)
	{
		/* the fragments in between were recycled */
		uint64		skipped = (uint64) (index - item->fragments - 1) *
			VP_MAX_ITEM_SIZE;

		SpanPagesMissing(state, state->cur_seq);
		if (item->have + skipped >= item->len)
		{
			/* the item ended on those pages: this fragment is another's */
			item->have = item->len;
			ItemDone(state);
			state->orphans++;
			return;
		}
		item->have += (uint32) skipped;
	}

	expected = Min((Size) (item->len - item->have), (Size) VP_MAX_ITEM_SIZE);
	if (n != expected)
		CorruptItem(state, ERRCODE_INDEX_CORRUPTED, item->block, item->off,
					psprintf("Its fragment on block %u (stamped %u) is %zu bytes; %zu of its %u bytes were still to come, so %zu were expected there.",
							 state->cur_block, state->cur_seq, n,
							 (Size) (item->len - item->have), item->len,
							 expected));
	if (item->have + n < item->len &&
		PageGetMaxOffsetNumber(page) != FirstOffsetNumber)
		CorruptPage(state, state->cur_block,
					psprintf("The page holds a fragment that continues on the next page, and %d more items.",
							 (int) PageGetMaxOffsetNumber(page) - 1));
	if (item->complete)
		memcpy(state->payload + item->have, fragment, n);
	item->have += (uint32) n;
	item->fragments = index;
	if (item->have == item->len)
		ItemDone(state);
}

/*
 * Check the header and line pointers of the page copy in state->page
 * (block state->cur_block), which the chain led to.
 */
static void
CheckDataPageLayout(VpCheckState *state)
{
	Page		page = (Page) state->page;
	PageHeader	phdr = (PageHeader) page;
	BlockNumber blkno = state->cur_block;
	VpPageOpaque opaque;
	OffsetNumber off,
				maxoff;
	Size		below;

	if (PageIsNew(page))
		CorruptPage(state, blkno,
					pstrdup("The chain leads to a page that is all zeros."));
	if (PageGetPageSize(page) != BLCKSZ ||
		PageGetPageLayoutVersion(page) != PG_PAGE_LAYOUT_VERSION ||
		phdr->pd_special != BLCKSZ - MAXALIGN(sizeof(VpPageOpaqueData)))
		CorruptPage(state, blkno,
					psprintf("The page header is not that of a vecpersist page: size %u, layout version %u, special space at %u; expected %d, %d and %zu.",
							 (unsigned) PageGetPageSize(page),
							 (unsigned) PageGetPageLayoutVersion(page),
							 phdr->pd_special, BLCKSZ, PG_PAGE_LAYOUT_VERSION,
							 (Size) (BLCKSZ - MAXALIGN(sizeof(VpPageOpaqueData)))));
	if (phdr->pd_lower < SizeOfPageHeaderData ||
		phdr->pd_lower > phdr->pd_upper ||
		phdr->pd_upper > phdr->pd_special ||
		(phdr->pd_lower - SizeOfPageHeaderData) % sizeof(ItemIdData) != 0)
		CorruptPage(state, blkno,
					psprintf("The page header's bounds are invalid: pd_lower %u, pd_upper %u, pd_special %u.",
							 phdr->pd_lower, phdr->pd_upper, phdr->pd_special));
	opaque = VpPageGetOpaque(page);
	if (opaque->page_id != VP_PAGE_ID)
		CorruptPage(state, blkno,
					psprintf("The page's id is 0x%04X, expected 0x%04X.",
							 opaque->page_id, VP_PAGE_ID));
	if ((opaque->flags & ~(VP_PAGE_DATA | VP_PAGE_FRAGMENT_FIRST)) != 0 ||
		!(opaque->flags & VP_PAGE_DATA))
		CorruptPage(state, blkno,
					psprintf("The chain leads to a page whose flags are 0x%04X; a data page has 0x%04X set and 0x%04X clear.",
							 opaque->flags, VP_PAGE_DATA,
							 VP_PAGE_META | VP_PAGE_FREE));

	maxoff = PageGetMaxOffsetNumber(page);
	if (maxoff == 0)
		CorruptPage(state, blkno, pstrdup("The page holds no items."));
	below = phdr->pd_special;
	for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
	{
		ItemId		iid = PageGetItemId(page, off);
		Size		start = ItemIdGetOffset(iid);
		Size		len = ItemIdGetLength(iid);

		if (!ItemIdIsNormal(iid))
			CorruptItem(state, ERRCODE_INDEX_CORRUPTED, blkno, off,
						psprintf("Its line pointer has flags %u, not those of a normal line pointer (%u).",
								 (unsigned) iid->lp_flags, (unsigned) LP_NORMAL));
		if (len == 0 || start < phdr->pd_upper || start != MAXALIGN(start) ||
			start + len > phdr->pd_special)
			CorruptItem(state, ERRCODE_INDEX_CORRUPTED, blkno, off,
						psprintf("Its line pointer (offset %zu, length %zu) lies outside the page's item space (%u to %u).",
								 start, len, phdr->pd_upper, phdr->pd_special));
		/* items are added from the end of the page down, never removed */
		if (start + len > below)
		{
			OffsetNumber other;

			for (other = FirstOffsetNumber; other < off; other++)
			{
				ItemId		o = PageGetItemId(page, other);

				if (start < (Size) ItemIdGetOffset(o) + ItemIdGetLength(o) &&
					(Size) ItemIdGetOffset(o) < start + len)
					CorruptItem(state, ERRCODE_INDEX_CORRUPTED, blkno, off,
								psprintf("Its item (bytes %zu to %zu) overlaps the item at offset %u (bytes %u to %u).",
										 start, start + len - 1, other,
										 ItemIdGetOffset(o),
										 ItemIdGetOffset(o) + ItemIdGetLength(o) - 1));
			}
		}
		below = Min(below, start);
	}
}

/*
 * Check the items of the current page (its layout was checked), carrying
 * an item that spans pages from one page to the next.
 */
static void
CheckPageItems(VpCheckState *state)
{
	Page		page = (Page) state->page;
	BlockNumber blkno = state->cur_block;
	uint32		seq = state->cur_seq;
	bool		gap = seq > state->prev_seq + 1;
	OffsetNumber off = FirstOffsetNumber;
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

	if (VpPageGetOpaque(page)->flags & VP_PAGE_FRAGMENT_FIRST)
	{
		CheckFragment(state, gap);
		off = OffsetNumberNext(FirstOffsetNumber);
	}
	else if (state->span_open)
	{
		/* the item begun earlier should have continued here */
		if (!gap)
			CorruptPage(state, blkno,
						psprintf("The page should continue the item at block %u, offset %u (%u of its %u bytes read), but does not begin with a fragment.",
								 state->item.block, state->item.off,
								 state->item.have, state->item.len));
		SpanPagesMissing(state, seq);
		state->item.have = state->item.len;
		ItemDone(state);
	}
	if (state->span_open && off <= maxoff)
		CorruptPage(state, blkno,
					psprintf("The page holds %d items after a fragment of an item that goes on to the next page.",
							 maxoff - FirstOffsetNumber));

	for (; off <= maxoff; off = OffsetNumberNext(off))
	{
		ItemId		iid = PageGetItemId(page, off);
		Size		lp_len = ItemIdGetLength(iid);
		uint64		key = VpMakeItemKey(seq, off);
		VpItemHeaderData hdr;
		Size		head_len;
		bool		spans;
		VpCheckItem *item = &state->item;

		if (lp_len < VP_ITEM_HEADER_SIZE)
			CorruptItem(state, ERRCODE_INDEX_CORRUPTED, blkno, off,
						psprintf("The item is %zu bytes long, shorter than an item header (%zu bytes).",
								 lp_len, VP_ITEM_HEADER_SIZE));
		if (key > state->meta.last_key)
		{
			VpMetaPageData now;

			/* appended after the walk began, on what was the tail then */
			MetaNow(state, &now);
			if (seq != state->meta.next_seq - 1 ||
				now.items_appended == state->meta.items_appended)
				CorruptItem(state, ERRCODE_INDEX_CORRUPTED, blkno, off,
							psprintf("The item's key (page stamp %u, offset %u) is beyond the last item the metapage knows (page stamp %u, offset %u).",
									 seq, off, VpItemKeySeq(state->meta.last_key),
									 VpItemKeyOffset(state->meta.last_key)));
			break;
		}
		memcpy(&hdr, PageGetItem(page, iid), VP_ITEM_HEADER_SIZE);
		head_len = lp_len - VP_ITEM_HEADER_SIZE;
		spans = (hdr.flags & VP_ITEM_SPANS) != 0;
		if ((hdr.flags & ~(VP_ITEM_DEAD | VP_ITEM_SPANS)) != 0)
			CorruptItem(state, ERRCODE_INDEX_CORRUPTED, blkno, off,
						psprintf("Its flags are 0x%04X; only 0x%04X (dead) and 0x%04X (spans pages) are defined.",
								 hdr.flags, VP_ITEM_DEAD, VP_ITEM_SPANS));
		if (hdr.len > VP_MAX_PAYLOAD || head_len > hdr.len ||
			spans != (head_len < hdr.len))
			CorruptItem(state, ERRCODE_INDEX_CORRUPTED, blkno, off,
						psprintf("Its header says %u payload bytes%s; %zu follow it on this page (at most %zu in all).",
								 hdr.len, spans ? ", spanning pages" : "",
								 head_len, (Size) VP_MAX_PAYLOAD));
		if (spans && off != maxoff)
			CorruptItem(state, ERRCODE_INDEX_CORRUPTED, blkno, off,
						psprintf("The item continues on the next page but is not the last on its page (%u items).",
								 maxoff));
		if (key == state->meta.last_key)
			state->found_last_key = true;

		item->key = key;
		item->block = blkno;
		item->off = off;
		item->heap_tid = hdr.heap_tid;
		item->flags = hdr.flags;
		item->crc = hdr.crc;
		item->len = hdr.len;
		item->have = (uint32) head_len;
		item->head_seq = seq;
		item->fragments = 0;
		item->complete = true;
		memcpy(state->payload, (char *) PageGetItem(page, iid) + VP_ITEM_HEADER_SIZE,
			   head_len);
		if (spans)
			state->span_open = true;
		else
			ItemDone(state);
	}
}

/* How the walk got on */
typedef enum VpCheckStep
{
	VP_CHECK_NEXT,				/* on the next page */
	VP_CHECK_END,				/* the chain ends here */
	VP_CHECK_GONE				/* the page we stood on was recycled */
} VpCheckStep;

/*
 * Move to the page after the current one, with the chain reader's lock
 * coupling: share-lock the page we stand on (pinned), read its link as it
 * is now, pin and share-lock the next page before letting go, copy it.
 * The copy is checked afterwards with no lock held.
 */
static VpCheckStep
StepChain(VpCheckState *state)
{
	Page		live;
	VpPageOpaque opaque;
	BlockNumber next;
	BlockNumber nblocks;
	Buffer		nbuf;

	CHECK_FOR_INTERRUPTS();
	LockBuffer(state->pinned, BUFFER_LOCK_SHARE);
	live = BufferGetPage(state->pinned);
	opaque = VpPageGetOpaque(live);
	if (PageIsNew(live) ||
		PageGetSpecialSize(live) != MAXALIGN(sizeof(VpPageOpaqueData)) ||
		opaque->page_id != VP_PAGE_ID ||
		!(opaque->flags & VP_PAGE_DATA) || opaque->seq != state->cur_seq)
	{
		LockBuffer(state->pinned, BUFFER_LOCK_UNLOCK);
		return VP_CHECK_GONE;
	}
	next = opaque->next;
	if (!BlockNumberIsValid(next))
	{
		LockBuffer(state->pinned, BUFFER_LOCK_UNLOCK);
		return VP_CHECK_END;
	}
	nblocks = RelationGetNumberOfBlocks(state->index);
	if (next == VP_METAPAGE_BLKNO || next >= nblocks)
	{
		LockBuffer(state->pinned, BUFFER_LOCK_UNLOCK);
		CorruptPage(state, state->cur_block,
					psprintf("The page links to block %u, outside the data pages of the index (blocks 1 to %u).",
							 next, nblocks - 1));
	}
	nbuf = ReadBufferExtended(state->index, MAIN_FORKNUM, next, RBM_NORMAL,
							  state->strategy);
	LockBuffer(nbuf, BUFFER_LOCK_SHARE);
	memcpy(state->page, BufferGetPage(nbuf), BLCKSZ);
	LockBuffer(nbuf, BUFFER_LOCK_UNLOCK);
	LockBuffer(state->pinned, BUFFER_LOCK_UNLOCK);
	ReleaseBuffer(state->pinned);
	state->pinned = nbuf;
	state->cur_block = next;
	return VP_CHECK_NEXT;
}

/*
 * Walk the chain from the head (pinned and copied by the caller) to the
 * page that was the tail when the metapage was read.  Returns false if the
 * page the walk stood on was recycled under it (hot standby only); the
 * caller starts again.
 */
static bool
WalkChain(VpCheckState *state)
{
	uint32		tail_seq = state->meta.next_seq - 1;

	for (;;)
	{
		Page		page = (Page) state->page;
		BlockNumber blkno = state->cur_block;
		uint32		seq;
		VpCheckStep step;

		CheckDataPageLayout(state);
		seq = VpPageGetOpaque(page)->seq;
		if (seq >= state->meta.next_seq)
		{
			VpMetaPageData now;

			/*
			 * Linked after the walk began: fine if the tail of then was
			 * recycled after pages were appended behind it.
			 */
			MetaNow(state, &now);
			if (now.next_seq == state->meta.next_seq)
				CorruptPage(state, blkno,
							psprintf("The page is stamped %u, but the metapage's next page sequence number is %u.",
									 seq, state->meta.next_seq));
			if (state->span_open)
			{
				SpanPagesMissing(state, seq);
				state->item.have = state->item.len;
				ItemDone(state);
			}
			break;
		}
		if (seq <= state->prev_seq)
			CorruptPage(state, blkno,
						psprintf("The page chain is not in append order: the page is stamped %u, the one before it %u.",
								 seq, state->prev_seq));
		if (blkno >= state->nblocks)
			CorruptPage(state, blkno,
						psprintf("The page is stamped %u, but it lies past the end the index had (%u blocks) when the stamp %u was next.",
								 seq, state->nblocks, state->meta.next_seq));
		if (BitTest(state->in_chain, blkno))
			CorruptPage(state, blkno,
						pstrdup("The page chain comes to this page a second time."));
		if (BitTest(state->on_free_list, blkno))
			CorruptPage(state, blkno,
						pstrdup("The page is in the chain and on the free list."));
		BitSet(state->in_chain, blkno);
		state->cur_seq = seq;
		state->pages++;

		CheckPageItems(state);
		state->prev_seq = seq;

		if (seq == tail_seq)
		{
			BlockNumber next = VpPageGetOpaque(page)->next;

			if (blkno != state->meta.tail_block)
				CorruptPage(state, blkno,
							psprintf("The page is stamped %u, the last stamp given when the check began, but the metapage's tail is block %u.",
									 seq, state->meta.tail_block));
			if (BlockNumberIsValid(next))
			{
				VpMetaPageData now;

				MetaNow(state, &now);
				if (now.next_seq == state->meta.next_seq)
					CorruptPage(state, blkno,
								psprintf("The tail page links to block %u.", next));
			}
			if (state->span_open)
				CorruptItem(state, ERRCODE_INDEX_CORRUPTED, state->item.block,
							state->item.off,
							psprintf("The item continues past the tail of the chain (%u of its %u bytes found).",
									 state->item.have, state->item.len));
			state->reached_tail = true;
			break;
		}

		step = StepChain(state);
		if (step == VP_CHECK_GONE)
			return false;
		if (step == VP_CHECK_END)
			CorruptPage(state, blkno,
						psprintf("The chain ends at this page, stamped %u, before the tail: block %u, stamped %u.",
								 seq, state->meta.tail_block, tail_seq));
	}
	return true;
}

/*
 * The counters of the metapage against what the walk found, when no
 * VACUUM changed them meanwhile (items appended since are left out of
 * both).
 */
static void
CheckCounters(VpCheckState *state)
{
	VpMetaPageData now;
	const VpMetaPageData *meta = &state->meta;
	uint64		expected = meta->items_appended - meta->items_recycled;

	MetaNow(state, &now);
	if (state->bytes > meta->payload_bytes)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("It counts %llu payload bytes appended, but the chain holds %llu.",
							 (unsigned long long) meta->payload_bytes,
							 (unsigned long long) state->bytes));
	if (now.items_recycled != meta->items_recycled)
		return;
	if (state->items != expected)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("It counts %llu items appended and %llu recycled, so %llu in the chain, but the chain holds %llu.",
							 (unsigned long long) meta->items_appended,
							 (unsigned long long) meta->items_recycled,
							 (unsigned long long) expected,
							 (unsigned long long) state->items));
	if (now.items_dead == meta->items_dead && state->dead < meta->items_dead)
		CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
					psprintf("It counts %llu dead items, but the chain holds %llu.",
							 (unsigned long long) meta->items_dead,
							 (unsigned long long) state->dead));
	if (meta->items_recycled == 0)
	{
		if (state->bytes != meta->payload_bytes)
			CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
						psprintf("It counts %llu payload bytes appended and nothing recycled, but the chain holds %llu.",
								 (unsigned long long) meta->payload_bytes,
								 (unsigned long long) state->bytes));
		if (meta->items_appended > 0 && !state->found_last_key)
			CorruptMeta(state, ERRCODE_INDEX_CORRUPTED,
						psprintf("Its last item (page stamp %u, offset %u) is not in the chain, and nothing was recycled.",
								 VpItemKeySeq(meta->last_key),
								 VpItemKeyOffset(meta->last_key)));
	}
}

/*
 * One attempt at the pages (and the graph): read and check the metapage
 * and the free list under the metapage's share lock, pin the head, open
 * the graph if one is cached, walk.  Returns false if the walk must start
 * again (see WalkChain).
 */
static bool
CheckPages(VpCheckState *state)
{
	Buffer		metabuf;
	BlockNumber head;

	state->nblocks = RelationGetNumberOfBlocks(state->index);
	if (state->nblocks == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has an invalid metapage",
						RelationGetRelationName(state->index)),
				 errdetail("The index has no blocks."),
				 errhint("Please REINDEX it.")));
	state->page = MemoryContextAlloc(state->cxt, BLCKSZ);
	state->payload = MemoryContextAlloc(state->cxt, VP_MAX_PAYLOAD);
	state->in_chain = MemoryContextAllocHuge(state->cxt, state->nblocks / 8 + 1);
	memset(state->in_chain, 0, state->nblocks / 8 + 1);
	state->on_free_list = MemoryContextAllocHuge(state->cxt, state->nblocks / 8 + 1);
	memset(state->on_free_list, 0, state->nblocks / 8 + 1);

	metabuf = ReadBufferExtended(state->index, MAIN_FORKNUM, VP_METAPAGE_BLKNO,
								 RBM_NORMAL, state->strategy);
	LockBuffer(metabuf, BUFFER_LOCK_SHARE);
	/* appends extend the index under this lock: nblocks goes with it */
	state->nblocks = RelationGetNumberOfBlocks(state->index);
	memcpy(state->page, BufferGetPage(metabuf), BLCKSZ);
	CheckMetaPage(state, (Page) state->page);
	CheckFreeList(state);
	head = state->meta.head_block;
	state->pinned = InvalidBuffer;
	if (BlockNumberIsValid(head))
	{
		/* pin the head while the metapage still names it */
		state->pinned = ReadBufferExtended(state->index, MAIN_FORKNUM, head,
										   RBM_NORMAL, state->strategy);
		LockBuffer(state->pinned, BUFFER_LOCK_SHARE);
		memcpy(state->page, BufferGetPage(state->pinned), BLCKSZ);
		LockBuffer(state->pinned, BUFFER_LOCK_UNLOCK);
		state->cur_block = head;
	}
	UnlockReleaseBuffer(metabuf);

	/* the graph, caught up to a metapage read after ours */
	state->have_graph = VpGraphOpenIfCached(state->index, &state->ref,
											&state->mark);
	if (state->have_graph)
	{
		state->graph = state->ref.graph;
		state->graph_count = VpGraphCount(state->graph);
		state->next_node = 0;
		state->vecbuf = MemoryContextAlloc(state->cxt,
										   sizeof(float) * Max(state->meta.dims, 1));
		if (state->mark.build_id != state->meta.build_id ||
			VpGraphGetParams(state->graph)->dims != (int32) state->meta.dims)
		{
			/* cannot be: the index is locked against REINDEX */
			VpGraphClose(&state->ref);
			state->have_graph = false;
		}
	}

	if (BlockNumberIsValid(head) && !WalkChain(state))
	{
		ReleaseBuffer(state->pinned);
		state->pinned = InvalidBuffer;
		if (state->have_graph)
			VpGraphClose(&state->ref);
		state->have_graph = false;
		return false;
	}
	if (BufferIsValid(state->pinned))
		ReleaseBuffer(state->pinned);
	state->pinned = InvalidBuffer;
	CheckCounters(state);
	return true;
}

/* ------------------------------------------------------------------------
 * The heap
 * ------------------------------------------------------------------------
 */

/*
 * Whether a live item with this heap TID and CRC32C was found; *other is
 * set to one with the TID and another value, if the array knows one.
 */
static bool
HasItem(VpCheckState *state, ItemPointer tid, pg_crc32c crc,
		VpCheckTid **other)
{
	VpCheckTid	probe;
	int64		lo = 0,
				hi = state->ntids;

	*other = NULL;
	if (state->bloom != NULL)
	{
		unsigned char key[10];

		BloomKey(ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
				 crc, key);
		return !bloom_lacks_element(state->bloom, key, sizeof(key));
	}
	probe.tid_block = ItemPointerGetBlockNumber(tid);
	probe.tid_off = ItemPointerGetOffsetNumber(tid);
	probe.crc = crc;
	/* the first entry not below the probe */
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (CompareTids(&state->tids[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < state->ntids && CompareTids(&state->tids[lo], &probe) == 0)
		return true;
	if (lo < state->ntids && state->tids[lo].tid_block == probe.tid_block &&
		state->tids[lo].tid_off == probe.tid_off)
		*other = &state->tids[lo];
	else if (lo > 0 && state->tids[lo - 1].tid_block == probe.tid_block &&
			 state->tids[lo - 1].tid_off == probe.tid_off)
		*other = &state->tids[lo - 1];
	return false;
}

/*
 * table_index_build_scan callback: a row the snapshot sees, with its
 * indexed value.  It needs a live item with its TID and value unless the
 * value is NULL or one the index leaves out (vpinsert's rules).
 */
static void
HeapCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			 bool tupleIsAlive, void *arg)
{
	VpCheckState *state = (VpCheckState *) arg;
	MemoryContext oldcxt;
	VpPayload	payload;

	(void) index;
	(void) tupleIsAlive;
	CHECK_FOR_INTERRUPTS();
	if (isnull[0])
		return;
	oldcxt = MemoryContextSwitchTo(state->tuplecxt);
	state->info->support->datum_to_payload(values[0], &payload);
	if (VpPayloadIsIndexable(state->info->metric, &payload))
	{
		pg_crc32c	crc = VpItemCrc(tid, payload.data, (uint32) payload.len);
		VpCheckTid *other;

		state->heap_checked++;
		if (!HasItem(state, tid, crc, &other))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("heap tuple (%u,%u) of table \"%s\" has no matching item in index \"%s\"",
							ItemPointerGetBlockNumber(tid),
							ItemPointerGetOffsetNumber(tid),
							RelationGetRelationName(state->heap),
							RelationGetRelationName(state->index)),
					 other != NULL ?
					 errdetail("The live item at block %u, offset %u has that heap TID, but holds another value.",
							   other->item_block, other->item_off) :
					 state->bloom != NULL ?
					 errdetail("No live item of the index has that heap TID and value.") :
					 errdetail("No live item of the index has that heap TID."),
					 errhint("Please REINDEX it.")));
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->tuplecxt);
}

/*
 * Look for every row the snapshot sees (and the index should hold) among
 * the live items the walk collected.  The snapshot was registered before
 * the walk's metapage was read.
 */
static void
CheckHeap(VpCheckState *state, Snapshot snapshot)
{
	IndexInfo  *indexinfo = BuildIndexInfo(state->index);
	TableScanDesc scan;

	if (state->bloom == NULL && state->ntids > 1)
		qsort(state->tids, state->ntids, sizeof(VpCheckTid), CompareTids);
	state->tuplecxt = AllocSetContextCreate(CurrentMemoryContext,
											"vecpersist check tuple",
											ALLOCSET_DEFAULT_SIZES);

	/* as amcheck: the first scan of CREATE INDEX CONCURRENTLY, no uniqueness */
	indexinfo->ii_Concurrent = true;
	indexinfo->ii_Unique = false;
	indexinfo->ii_ExclusionOps = NULL;
	indexinfo->ii_ExclusionProcs = NULL;
	indexinfo->ii_ExclusionStrats = NULL;
	scan = table_beginscan_strat(state->heap, snapshot, 0, NULL, true, true);
	table_index_build_scan(state->heap, state->index, indexinfo, true, false,
						   HeapCallback, state, scan);
	MemoryContextDelete(state->tuplecxt);
}

/* ------------------------------------------------------------------------
 * The SQL function
 * ------------------------------------------------------------------------
 */

/*
 * Lock the table of the index and then the index (the order scans and
 * amcheck use), and check that it is an hnsw index of ours that can be
 * checked.  Returns the open index; *heap_out is the open table.
 */
static Relation
OpenIndexToCheck(Oid indexoid, Relation *heap_out)
{
	Oid			heapoid = IndexGetRelation(indexoid, true);
	Relation	heap;
	Relation	index;

	if (!OidIsValid(heapoid))
	{
		char	   *name = get_rel_name(indexoid);

		if (name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", indexoid)));
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index of vecpersist", name)));
	}
	heap = table_open(heapoid, AccessShareLock);
	index = relation_open(indexoid, AccessShareLock);
	/* the index may have been dropped and its OID reused meanwhile */
	if (IndexGetRelation(indexoid, true) != heapoid)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("could not open parent table of index \"%s\"",
						RelationGetRelationName(index))));
	if (index->rd_rel->relkind == RELKIND_PARTITIONED_INDEX)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a partitioned index, which has no pages to check",
						RelationGetRelationName(index)),
				 errhint("Check the indexes of its partitions.")));
	VpCheckHnswIndex(index);
	if (RELATION_IS_OTHER_TEMP(index))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot access temporary tables of other sessions"),
				 errdetail("Index \"%s\" is associated with a temporary relation.",
						   RelationGetRelationName(index))));
	if (!index->rd_index->indisvalid)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot check index \"%s\"",
						RelationGetRelationName(index)),
				 errdetail("Index is not valid.")));
	*heap_out = heap;
	return index;
}

/*
 * vecpersist_check(index regclass, heapallindexed boolean DEFAULT false)
 * returns void: see the file header.  EXECUTE is revoked from PUBLIC; a
 * role granted it also needs SELECT on the table.
 */
Datum
vp_check_index(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	bool		heapallindexed = PG_GETARG_BOOL(1);
	Relation	heap;
	Relation	index;
	AclResult	aclresult;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	Snapshot	snapshot = InvalidSnapshot;
	VpCheckState *state;
	int			attempt;
	int32		unreachable = -1;
	MemoryContext cxt;

	index = OpenIndexToCheck(indexoid, &heap);
	aclresult = pg_class_aclcheck(RelationGetRelid(heap), GetUserId(),
								  ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, RelationGetRelationName(heap));

	/* an unlogged index has no main fork on a standby (amcheck skips too) */
	if (index->rd_rel->relpersistence == RELPERSISTENCE_UNLOGGED &&
		RecoveryInProgress())
	{
		ereport(DEBUG1,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot verify unlogged index \"%s\" during recovery, skipping",
						RelationGetRelationName(index))));
		relation_close(index, AccessShareLock);
		table_close(heap, AccessShareLock);
		PG_RETURN_VOID();
	}

	/* index expressions and predicates run as the table's owner */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(heap->rd_rel->relowner,
						   save_sec_context | SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();

	cxt = AllocSetContextCreate(CurrentMemoryContext, "vecpersist check",
								ALLOCSET_DEFAULT_SIZES);
	state = MemoryContextAllocZero(cxt, sizeof(VpCheckState));
	state->index = index;
	state->heap = heap;
	state->info = VpGetIndexInfo(index);
	state->heapallindexed = heapallindexed;
	state->strategy = GetAccessStrategy(BAS_BULKREAD);

	if (heapallindexed)
	{
		/* before the metapage: every row it sees has its item by then */
		snapshot = RegisterSnapshot(GetTransactionSnapshot());
		if (IsolationUsesXactSnapshot() && index->rd_index->indcheckxmin &&
			!TransactionIdPrecedes(HeapTupleHeaderGetXmin(index->rd_indextuple->t_data),
								   snapshot->xmin))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("index \"%s\" cannot be verified using transaction snapshot",
							RelationGetRelationName(index))));
	}

	for (attempt = 1;; attempt++)
	{
		MemoryContext attemptcxt = AllocSetContextCreate(cxt,
														 "vecpersist check attempt",
														 ALLOCSET_DEFAULT_SIZES);
		VpCheckState fresh;

		/* start from nothing but the settings */
		memset(&fresh, 0, sizeof(fresh));
		fresh.index = state->index;
		fresh.heap = state->heap;
		fresh.info = state->info;
		fresh.heapallindexed = state->heapallindexed;
		fresh.strategy = state->strategy;
		fresh.cxt = attemptcxt;
		fresh.captids = Max((int64) maintenance_work_mem * 1024 /
							(int64) sizeof(VpCheckTid), 1024);
		*state = fresh;
		if (CheckPages(state))
			break;
		MemoryContextDelete(attemptcxt);
		if (attempt == VP_CHECK_MAX_ATTEMPTS)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("could not check index \"%s\": recovery recycled the pages being checked %d times",
							RelationGetRelationName(index), attempt),
					 errhint("Try again later.")));
	}

	if (state->have_graph)
	{
		FinishGraph(state);
		unreachable = ReportUnreachable(state);
		VpGraphClose(&state->ref);
	}

	if (heapallindexed)
	{
		CheckHeap(state, snapshot);
		UnregisterSnapshot(snapshot);
	}

	ereport(DEBUG1,
			(errmsg_internal("verified hnsw index \"%s\": %llu pages, %llu items (%llu dead, %llu of them with recycled pages), %u free pages",
							 RelationGetRelationName(index),
							 (unsigned long long) state->pages,
							 (unsigned long long) state->items,
							 (unsigned long long) state->dead,
							 (unsigned long long) state->incomplete,
							 state->meta.free_pages),
			 errdetail_internal("Graph: %s.  Heap: %s.",
								state->graph_count > 0 || unreachable >= 0 ?
								psprintf("%d nodes compared, %d unreachable",
										 state->graph_count, unreachable) :
								"none cached, not compared",
								!heapallindexed ? "not checked" :
								state->bloom != NULL ?
								psprintf("%lld rows found among %lld items by a Bloom filter (%.1f%% of its bits set)",
										 (long long) state->heap_checked,
										 (long long) state->ntids,
										 100.0 * bloom_prop_bits_set(state->bloom)) :
								psprintf("%lld rows found among %lld items, exactly",
										 (long long) state->heap_checked,
										 (long long) state->ntids))));

	if (state->bloom != NULL)
		bloom_free(state->bloom);
	FreeAccessStrategy(state->strategy);
	MemoryContextDelete(cxt);

	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	relation_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	PG_RETURN_VOID();
}
