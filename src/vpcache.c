/*-------------------------------------------------------------------------
 *
 * vpcache.c
 *	  The graph cache: finds, builds and keeps current the in-memory HNSW
 *	  graph of an index.
 *
 * The index pages are the truth and the graph is a cache of them.  This
 * file is the only code that decides when a graph is valid.  A graph is
 * tied to the index's relfilenode and to the build_id its metapage carries
 * (REINDEX, TRUNCATE and a rebuilt index all change one of them), and it
 * records a watermark: the last chain item it absorbed, the number of
 * items the metapage had counted, and the vacuum epoch it has applied.
 * Before each use the metapage is compared with that record:
 *
 *	- new items since the watermark are absorbed by reading the chain from
 *	  the watermark on;
 *	- a changed vacuum epoch means a pass over the chain that marks deleted
 *	  every node whose item is no longer live.  Node keys grow with node ids
 *	  because both follow chain order, so that pass is a merge;
 *	- a recycled watermark page, too many dead nodes, or anything unknown
 *	  means a full rebuild from the pages.
 *
 * In this version each backend keeps its own graphs (in TopMemoryContext
 * children, one context per index).  Chain walks take the chain lock
 * (VP_CHAIN_LOCK_BLKNO) in share mode so VACUUM cannot recycle pages
 * under them.
 *
 * IDENTIFICATION
 *	  src/vpcache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "vecpersist.h"
#include "vpgraph.h"
#include "vppage.h"

/* rebuild when more than this fraction of a large graph's nodes are dead */
#define VP_DEAD_REBUILD_FRACTION	0.5
#define VP_DEAD_REBUILD_MIN_NODES	1000

/* Per-index graph held by this backend */
typedef struct VpCachedGraph
{
	Oid			indexoid;		/* hash key */
	bool		valid;			/* graph complete up to the watermark */
	MemoryContext cxt;			/* owns region and scratch */
	Oid			relfilenode;	/* storage the graph was built from */
	uint64		build_id;		/* metapage build_id at that time */
	VpGraph    *graph;			/* 64-byte aligned inside region_raw */
	void	   *region_raw;
	VpGraphScratch *scratch;	/* for inserting into the graph */
	/* watermark: last chain item absorbed (live or dead) */
	BlockNumber wm_block;
	OffsetNumber wm_off;
	uint32		wm_seq;
	uint64		items_seen;		/* metapage items_appended absorbed */
	uint64		vacuum_epoch;	/* metapage vacuum_epoch applied */
	uint64		generation;		/* bumped by every rebuild (ids change) */
} VpCachedGraph;

static HTAB *graph_cache = NULL;

/*
 * Allocator handed to the graph module for scratch memory: the entry's
 * context, huge allocations allowed (visited arrays of large graphs).
 */
static void *
CacheAlloc(void *ctx, size_t size)
{
	return MemoryContextAllocHuge((MemoryContext) ctx, size);
}

static void
CacheFree(void *ctx, void *ptr)
{
	(void) ctx;
	pfree(ptr);
}

/*
 * An allocator for graph scratch and iterators in the given context.
 */
VpAllocator
VpMakeAllocator(MemoryContext cxt)
{
	VpAllocator allocator = {CacheAlloc, CacheFree, cxt};

	return allocator;
}

/* Interrupt check the graph search calls every few hundred distances */
static void
GraphInterruptCheck(void)
{
	CHECK_FOR_INTERRUPTS();
}

/*
 * Allocate an empty graph region for capacity nodes in the entry's
 * context.  Errors out if the size cannot be represented.
 */
static VpGraph *
AllocGraph(VpCachedGraph *entry, const VpGraphParams *params, void **raw)
{
	size_t		size = VpGraphRegionSize(params);
	char	   *mem;
	VpGraph    *graph;

	if (size == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("hnsw graph of %d nodes with %d dimensions is too large",
						params->capacity, params->dims)));
	mem = MemoryContextAllocHuge(entry->cxt, add_size(size, 64));
	*raw = mem;
	graph = VpGraphInit((void *) TYPEALIGN(64, mem), size, params);
	if (graph == NULL)
		elog(ERROR, "could not lay out an hnsw graph of %d nodes", params->capacity);
	return graph;
}

/*
 * Double the entry's graph capacity, keeping every node.
 */
static void
GrowGraph(VpCachedGraph *entry)
{
	VpGraphParams params = *VpGraphGetParams(entry->graph);
	void	   *raw;
	VpGraph    *bigger;

	if (params.capacity >= PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("hnsw graph cannot hold more than %d nodes",
						params.capacity)));
	params.capacity *= 2;
	bigger = AllocGraph(entry, &params, &raw);
	if (VpGraphCopy(bigger, entry->graph) != 0)
		elog(ERROR, "could not copy an hnsw graph into a larger region");
	pfree(entry->region_raw);
	entry->region_raw = raw;
	entry->graph = bigger;
}

/*
 * Make sure the entry's scratch fits its graph for an insert (searches by
 * scans keep their own state in an iterator).
 */
static VpGraphScratch *
EnsureScratch(VpCachedGraph *entry)
{
	VpAllocator allocator = VpMakeAllocator(entry->cxt);
	int			ef = VpGraphGetParams(entry->graph)->ef_construction;

	if (entry->scratch != NULL &&
		VpGraphScratchFits(entry->scratch, entry->graph, ef))
		return entry->scratch;
	if (entry->scratch != NULL)
		VpGraphScratchDestroy(entry->scratch);
	entry->scratch = NULL;
	entry->scratch = VpGraphScratchCreate(&allocator, entry->graph, ef);
	return entry->scratch;
}

/*
 * Pack a heap TID into the 64-bit label the graph hands back.
 */
static inline uint64
TidToLabel(ItemPointer tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

/*
 * Unpack a label into a heap TID.
 */
void
VpLabelToTid(uint64 label, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (label >> 16),
				   (OffsetNumber) (label & 0xFFFF));
}

/*
 * Insert one live item into the entry's graph, growing it when full.
 */
static void
InsertItem(VpCachedGraph *entry, VpReadItem *item)
{
	VpNodeId	node;

	EnsureScratch(entry);
	while (VpGraphInsert(entry->graph, entry->scratch, item->vector,
						 TidToLabel(&item->heap_tid), item->key,
						 &node) == VP_GRAPH_FULL)
	{
		GrowGraph(entry);
		EnsureScratch(entry);
	}
}

/*
 * Read the chain from the entry's watermark (or from start_block when the
 * entry has none) and absorb every live item into the graph, advancing
 * the watermark item by item so that an error leaves a consistent graph.
 * Returns the number of items absorbed.  report_progress updates
 * pg_stat_progress_create_index's tuple counter.
 */
static int64
AbsorbFrom(Relation index, VpCachedGraph *entry, BlockNumber start_block,
		   OffsetNumber after_off, bool report_progress)
{
	VpChainReaderData reader;
	VpReadItem	item;
	int64		absorbed = 0;
	int			dims = VpGraphGetParams(entry->graph)->dims;

	VpChainReaderInit(&reader, index, dims, start_block, after_off, true);
	while (VpChainReaderNext(&reader, &item))
	{
		CHECK_FOR_INTERRUPTS();
		if (item.vector != NULL)
			InsertItem(entry, &item);
		entry->wm_block = item.block;
		entry->wm_off = item.offnum;
		entry->wm_seq = (uint32) (item.key >> 16);
		absorbed++;
		if (report_progress && (absorbed & 63) == 0)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE,
										 absorbed);
	}
	VpChainReaderEnd(&reader);
	if (report_progress)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, absorbed);
	return absorbed;
}

/*
 * Build the entry's graph from scratch from the index pages, sized for the
 * live items the metapage counts.  The metapage is read under the chain
 * lock, so that VACUUM cannot recycle the head page between that read and
 * the walk.
 */
static void
RebuildGraph(Relation index, VpCachedGraph *entry, bool report_progress)
{
	VpGraphParams params;
	VpMetaPageData metadata;
	VpMetaPage	meta = &metadata;
	instr_time	start,
				elapsed;
	double		build_ms;
	uint64		live;

	INSTR_TIME_SET_CURRENT(start);
	LockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
	VpReadMeta(index, meta);
	live = meta->items_appended -
		Min(meta->items_appended, meta->items_dead + meta->items_recycled);

	/* forget the old graph entirely before touching anything */
	entry->valid = false;
	entry->generation++;
	if (entry->cxt != NULL)
		MemoryContextDelete(entry->cxt);
	entry->cxt = AllocSetContextCreate(TopMemoryContext, "vecpersist graph",
									   ALLOCSET_DEFAULT_SIZES);
	entry->scratch = NULL;

	entry->relfilenode = index->rd_node.relNode;
	entry->build_id = meta->build_id;
	entry->wm_block = InvalidBlockNumber;
	entry->wm_off = InvalidOffsetNumber;
	entry->wm_seq = 0;
	entry->items_seen = meta->items_appended;
	entry->vacuum_epoch = meta->vacuum_epoch;
	entry->graph = NULL;

	/* an index that never held a vector has no dimensions, so no graph */
	if (meta->dims == 0)
	{
		UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
		entry->valid = true;
		return;
	}

	memset(&params, 0, sizeof(params));
	params.dims = meta->dims;
	params.m = meta->m;
	params.ef_construction = meta->ef_construction;
	params.metric = (VpMetric) meta->metric;
	params.capacity = (int32) Min(Max(live + live / 8 + 64, 1024), (uint64) PG_INT32_MAX / 4);
	params.seed = meta->build_id;
	entry->graph = AllocGraph(entry, &params, &entry->region_raw);

	if (BlockNumberIsValid(meta->head_block))
		AbsorbFrom(index, entry, meta->head_block, InvalidOffsetNumber,
				   report_progress);
	UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	build_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	entry->valid = true;

	ereport(DEBUG1,
			(errmsg("built hnsw graph of \"%s\" from its pages: %d nodes in %.1f ms",
					RelationGetRelationName(index),
					VpGraphCount(entry->graph), build_ms)));
}

/*
 * Apply VACUUM's deletions: walk the whole chain collecting the keys of
 * live items (ascending, as the chain is in append order), then mark
 * deleted every node up to the watermark whose key is not among them.
 */
static void
ApplyDeletions(Relation index, VpCachedGraph *entry, uint64 epoch)
{
	VpMetaPageData meta;
	VpChainReaderData reader;
	VpReadItem	item;
	int32		count = VpGraphCount(entry->graph);
	VpNodeId	node = 0;

	LockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
	VpReadMeta(index, &meta);
	/* pass verify=false and dims: dead/live flags are all we read here */
	VpChainReaderInit(&reader, index, meta.dims, meta.head_block,
					  InvalidOffsetNumber, false);
	while (node < count && VpChainReaderNext(&reader, &item))
	{
		if (item.vector == NULL)
			continue;			/* dead: its node (if any) gets marked below */
		/* every node with a smaller key has no live item any more */
		while (node < count && VpGraphKey(entry->graph, node) < item.key)
		{
			if (!VpGraphIsDeleted(entry->graph, node))
				VpGraphMarkDeleted(entry->graph, node);
			node++;
		}
		if (node < count && VpGraphKey(entry->graph, node) == item.key)
			node++;
	}
	VpChainReaderEnd(&reader);
	UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);

	/* nodes past the last live item are dead too */
	for (; node < count; node++)
		if (!VpGraphIsDeleted(entry->graph, node))
			VpGraphMarkDeleted(entry->graph, node);

	entry->vacuum_epoch = epoch;
}

/*
 * Look up (creating if needed) this backend's entry for an index.
 */
static VpCachedGraph *
LookupEntry(Oid indexoid, bool create)
{
	bool		found;
	VpCachedGraph *entry;

	if (graph_cache == NULL)
	{
		HASHCTL		ctl;

		if (!create)
			return NULL;
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(VpCachedGraph);
		graph_cache = hash_create("vecpersist graph cache", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(graph_cache, &indexoid,
						create ? HASH_ENTER : HASH_FIND, &found);
	if (create && !found)
	{
		memset((char *) entry + sizeof(Oid), 0,
			   sizeof(VpCachedGraph) - sizeof(Oid));
		entry->valid = false;
	}
	return entry;
}

/*
 * Bring an existing valid entry up to the metapage, or rebuild it.
 */
static void
CatchUp(Relation index, VpCachedGraph *entry, const VpMetaPageData *meta,
		bool report_progress)
{
	int32		count;

	if (!entry->valid ||
		entry->relfilenode != index->rd_node.relNode ||
		entry->build_id != meta->build_id ||
		(entry->graph == NULL && meta->dims != 0))
	{
		RebuildGraph(index, entry, report_progress);
		return;
	}

	if (entry->graph == NULL)
		return;					/* still no vector in the index */

	count = VpGraphCount(entry->graph);
	if (count >= VP_DEAD_REBUILD_MIN_NODES &&
		VpGraphDeletedCount(entry->graph) > count * VP_DEAD_REBUILD_FRACTION)
	{
		RebuildGraph(index, entry, report_progress);
		return;
	}

	if (meta->vacuum_epoch != entry->vacuum_epoch)
		ApplyDeletions(index, entry, meta->vacuum_epoch);

	if (meta->items_appended != entry->items_seen)
	{
		BlockNumber start = entry->wm_block;
		OffsetNumber after = entry->wm_off;

		LockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
		if (!BlockNumberIsValid(start))
		{
			VpMetaPageData now;

			/* nothing absorbed yet: start at the head as it is now */
			VpReadMeta(index, &now);
			start = now.head_block;
			after = InvalidOffsetNumber;
		}
		else if (!VpPageHasSeq(index, start, entry->wm_seq))
		{
			/* VACUUM recycled the watermark page: we cannot resume there */
			UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
			RebuildGraph(index, entry, report_progress);
			return;
		}
		if (BlockNumberIsValid(start))
			AbsorbFrom(index, entry, start, after, false);
		UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
		entry->items_seen = meta->items_appended;
	}
}

/*
 * Return this backend's graph of the index, current with its pages.
 * Builds it from the pages on first use.  handle.graph is NULL while the
 * index has never held a vector.  The graph stays valid until the next
 * call to any function of this file.
 */
VpGraphHandle
VpGetGraph(Relation index)
{
	VpMetaPageData meta;
	VpCachedGraph *entry;
	VpGraphHandle handle;

	VpReadMeta(index, &meta);
	entry = LookupEntry(RelationGetRelid(index), true);
	CatchUp(index, entry, &meta, false);

	handle.graph = entry->graph;
	handle.interrupt_check = GraphInterruptCheck;
	handle.generation = entry->generation;
	return handle;
}

/*
 * Build the graph of a freshly written index (CREATE INDEX, REINDEX) so
 * that its first query is already fast; reports progress.
 */
void
VpBuildGraphFromPages(Relation index)
{
	VpCachedGraph *entry;

	entry = LookupEntry(RelationGetRelid(index), true);
	RebuildGraph(index, entry, true);
}

/*
 * After an insert: if this backend holds a valid graph of the index,
 * absorb the new items now (cheap: only the chain's tail is read).
 */
void
VpCatchUpIfCached(Relation index)
{
	VpMetaPageData meta;
	VpCachedGraph *entry = LookupEntry(RelationGetRelid(index), false);

	if (entry == NULL || !entry->valid)
		return;
	VpReadMeta(index, &meta);
	CatchUp(index, entry, &meta, false);
}
