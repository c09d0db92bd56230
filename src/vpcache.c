/*-------------------------------------------------------------------------
 *
 * vpcache.c
 *	  The graph cache: finds, builds and keeps current the HNSW graph of an
 *	  index, shared by every backend or private to one.
 *
 * The index pages are the truth and the graph is a cache of them.  This
 * file is the only code that decides when a graph is valid.  A graph is
 * tied to the index's relfilenode and to the build_id its metapage carries
 * (REINDEX, TRUNCATE and a rebuilt index all change one of them), and it
 * records a watermark (VpGraphMark): the last chain item it absorbed, the
 * number of items the metapage had counted, and the vacuum epoch it has
 * applied.  Before each use the metapage is compared with that record:
 *
 *	- new items since the watermark are absorbed by reading the chain from
 *	  the watermark on;
 *	- a changed vacuum epoch means a pass over the chain that collects the
 *	  keys of live items, then marks deleted every older node whose key is
 *	  not among them.  Node keys grow with node ids because both follow
 *	  chain order, so that pass is a merge;
 *	- a recycled watermark page, too many dead nodes, or anything unknown
 *	  means a full rebuild from the pages.
 *
 * Where graphs live: with shared_preload_libraries, in the shared cache
 * (vpshmem.c), one per index for all backends.  A build runs in the
 * builder's memory and is then copied into the cache whole (the region is
 * position independent), so a build that fails or does not fit leaves the
 * cache untouched, and a graph too large for the cache remains usable as
 * this backend's private copy: the documented fallback.  Without preload
 * every backend keeps private graphs.
 *
 * Shared graphs are searched under their slot's lock in shared mode, for
 * one search window at a time.  Catching up reads the pages first, with no
 * lock of ours held, and then applies each item under the slot's writer
 * lock; the graph module lets one writer insert while others search, so
 * searches wait only while a region is replaced (the graph grows).  Chain walks take the chain lock (VP_CHAIN_LOCK_BLKNO) in share
 * mode so VACUUM cannot recycle pages under them (on a hot standby replay
 * does not take it: the chain reader checks its steps there).
 *
 * IDENTIFICATION
 *	  src/vpcache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "commands/dbcommands.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "optimizer/paths.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/spin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "vecpersist.h"
#include "vpgraph.h"
#include "vppage.h"
#include "vpshmem.h"

/* rebuild when more than this fraction of a large graph's nodes are dead */
#define VP_DEAD_REBUILD_FRACTION	0.5
#define VP_DEAD_REBUILD_MIN_NODES	1000

/* builds of fewer live items than this link with one thread */
#define VP_PARALLEL_MIN_NODES		10000

/* catch-up reads at most this many items (or bytes of vectors) at once */
#define VP_ABSORB_BATCH_ITEMS		1024
#define VP_ABSORB_BATCH_BYTES		(16 * 1024 * 1024)

/* What the metapage says should happen to a graph */
typedef enum VpCatchUpAction
{
	VP_CATCHUP_NONE,
	VP_CATCHUP_CREATE,			/* first vectors in an index that had none */
	VP_CATCHUP_ABSORB,
	VP_CATCHUP_DELETIONS,
	VP_CATCHUP_REBUILD
} VpCatchUpAction;

/* A graph in this backend's memory */
typedef struct VpPrivateGraph
{
	Oid			indexoid;		/* hash key */
	bool		valid;			/* graph complete up to the watermark */
	bool		fallback;		/* kept because the shared cache had no room */
	bool		warned;			/* the no-room warning was given */
	MemoryContext cxt;			/* owns the region */
	VpGraph    *graph;			/* 64-byte aligned inside region_raw */
	void	   *region_raw;
	VpGraphMark mark;
	uint64		generation;		/* bumped by every rebuild (ids change) */
	double		build_ms;
} VpPrivateGraph;

/* An item read ahead of being absorbed into a shared graph */
typedef struct VpPendingItem
{
	uint64		key;
	BlockNumber block;
	OffsetNumber offnum;
	ItemPointerData heap_tid;
	float	   *vector;			/* NULL for a dead item */
} VpPendingItem;

static HTAB *private_graphs = NULL;
static bool no_preload_noticed = false;
static bool no_slot_warned = false;

/* Scratch for inserting into any graph, and the context that owns it */
static MemoryContext scratch_cxt = NULL;
static VpGraphScratch *insert_scratch = NULL;

/*
 * Allocator handed to the graph module for scratch memory: the given
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
 * Scratch that fits graph for an insert (ef_construction), recreated when
 * the graph outgrew it.
 */
static VpGraphScratch *
InsertScratch(const VpGraph *graph)
{
	VpAllocator allocator;
	int			ef = VpGraphGetParams(graph)->ef_construction;

	if (insert_scratch != NULL &&
		VpGraphScratchFits(insert_scratch, graph, ef))
		return insert_scratch;
	if (scratch_cxt == NULL)
		scratch_cxt = AllocSetContextCreate(TopMemoryContext,
											"vecpersist insert scratch",
											ALLOCSET_DEFAULT_SIZES);
	insert_scratch = NULL;
	MemoryContextReset(scratch_cxt);
	allocator = VpMakeAllocator(scratch_cxt);
	insert_scratch = VpGraphScratchCreate(&allocator, graph, ef);
	return insert_scratch;
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
 * Compare a graph's record with the metapage.
 */
static VpCatchUpAction
CompareMark(Relation index, const VpGraphMark *mark, const VpGraph *graph,
			const VpMetaPageData *meta)
{
	int32		count;

	if (mark->relfilenode != index->rd_node.relNode ||
		mark->build_id != meta->build_id)
		return VP_CATCHUP_REBUILD;
	if (graph == NULL)
		return meta->dims == 0 ? VP_CATCHUP_NONE : VP_CATCHUP_CREATE;
	count = VpGraphCount(graph);
	if (count >= VP_DEAD_REBUILD_MIN_NODES &&
		VpGraphDeletedCount(graph) > count * VP_DEAD_REBUILD_FRACTION)
		return VP_CATCHUP_REBUILD;
	if (meta->vacuum_epoch > mark->vacuum_epoch)
		return VP_CATCHUP_DELETIONS;
	if (meta->items_appended > mark->items_seen)
		return VP_CATCHUP_ABSORB;
	return VP_CATCHUP_NONE;
}

/*
 * Advance a watermark past an item.
 */
static inline void
AdvanceMark(VpGraphMark *mark, uint64 key, BlockNumber block,
			OffsetNumber offnum)
{
	mark->wm_block = block;
	mark->wm_off = offnum;
	mark->wm_seq = (uint32) (key >> 16);
}

/*
 * Where to resume reading the chain after a graph's watermark: the head as
 * it is now when nothing was absorbed yet (*start_seq = 0).  The caller
 * holds the chain lock.  Returns false if VACUUM recycled the watermark
 * page, so reading cannot resume there (on a hot standby replay may still
 * recycle it before the reader gets there: VpChainReaderInit checks the
 * stamp again).  *start is Invalid if the chain is empty.
 */
static bool
ResumePoint(Relation index, const VpGraphMark *mark, BlockNumber *start,
			uint32 *start_seq, OffsetNumber *after)
{
	VpMetaPageData now;

	if (BlockNumberIsValid(mark->wm_block))
	{
		*start = mark->wm_block;
		*start_seq = mark->wm_seq;
		*after = mark->wm_off;
		return VpPageHasSeq(index, mark->wm_block, mark->wm_seq);
	}
	VpReadMeta(index, &now);
	*start = now.head_block;
	*start_seq = 0;
	*after = InvalidOffsetNumber;
	return true;
}

/*
 * Walk the whole chain and return the keys of its live items (ascending),
 * with the largest key seen (live or dead) and the vacuum epoch the walk
 * reflects.  Nodes with larger keys were appended after the walk began and
 * cannot be judged from it.
 */
static uint64 *
CollectLiveKeys(Relation index, int64 *nkeys, uint64 *max_key,
				uint64 *epoch)
{
	VpMetaPageData meta;
	VpChainReaderData reader;
	VpReadItem	item;
	int64		n = 0;
	int64		size = 1024;
	uint64	   *keys = palloc(sizeof(uint64) * size);

	*max_key = 0;
	LockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
	VpReadMeta(index, &meta);
	*epoch = meta.vacuum_epoch;
	/* verify=false: flags are all we read here */
	VpChainReaderInit(&reader, index, meta.dims, meta.head_block, 0,
					  InvalidOffsetNumber, false);
	while (BlockNumberIsValid(meta.head_block) &&
		   VpChainReaderNext(&reader, &item))
	{
		CHECK_FOR_INTERRUPTS();
		*max_key = item.key;
		if (item.vector == NULL)
			continue;
		if (n == size)
		{
			size *= 2;
			keys = repalloc_huge(keys, sizeof(uint64) * size);
		}
		keys[n++] = item.key;
	}
	VpChainReaderEnd(&reader);
	UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
	*nkeys = n;
	return keys;
}

/*
 * Mark deleted every node with a key up to max_key that is not among the
 * live keys.  Returns the number of nodes newly marked.
 */
static int32
MarkDeadByKeys(VpGraph *graph, const uint64 *keys, int64 nkeys,
			   uint64 max_key)
{
	int32		count = VpGraphCount(graph);
	int32		marked = 0;
	VpNodeId	node;
	int64		k = 0;

	for (node = 0; node < count; node++)
	{
		uint64		key = VpGraphKey(graph, node);

		if (key > max_key)
			break;
		while (k < nkeys && keys[k] < key)
			k++;
		if ((k < nkeys && keys[k] == key) || VpGraphIsDeleted(graph, node))
			continue;
		VpGraphMarkDeleted(graph, node);
		marked++;
	}
	return marked;
}

/*
 * Log a build from the pages at LOG: rebuilds are the one cost this design
 * adds, so they should be visible.
 */
static void
LogBuild(Relation index, const VpGraph *graph, double build_ms, bool shared)
{
	char	   *dbname = get_database_name(MyDatabaseId);

	ereport(LOG,
			(errmsg("built hnsw graph of index \"%s\" in database \"%s\" in %.1f ms",
					RelationGetRelationName(index), dbname ? dbname : "?",
					build_ms),
			 errdetail("%d nodes, %zu bytes, %s.",
					   graph ? VpGraphCount(graph) : 0,
					   graph ? VpGraphRegionBytes(graph) : (size_t) 0,
					   shared ? "shared by all sessions" : "private to this session")));
}

/*
 * Graph parameters for an index as its metapage describes it, with room
 * for capacity nodes.
 */
static void
GraphParamsFromMeta(const VpMetaPageData *meta, uint64 capacity,
					VpGraphParams *params)
{
	memset(params, 0, sizeof(VpGraphParams));
	params->dims = meta->dims;
	params->m = meta->m;
	params->ef_construction = meta->ef_construction;
	params->metric = (VpMetric) meta->metric;
	params->capacity = (int32) Min(Max(capacity, 1024), (uint64) PG_INT32_MAX / 4);
	params->seed = meta->build_id;
}

/* ------------------------------------------------------------------------
 * Private graphs
 * ------------------------------------------------------------------------
 */

/*
 * Allocate an empty graph region for capacity nodes in the entry's
 * context.  Errors out if the size cannot be represented.
 */
static VpGraph *
AllocGraph(VpPrivateGraph *entry, const VpGraphParams *params, void **raw)
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
GrowGraph(VpPrivateGraph *entry)
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
 * Insert one live item into a private graph, growing it when full.
 */
static void
InsertPrivate(VpPrivateGraph *entry, const float *vector, ItemPointer heap_tid,
			  uint64 key)
{
	VpNodeId	node;

	while (VpGraphInsert(entry->graph, InsertScratch(entry->graph), vector,
						 TidToLabel(heap_tid), key, &node) == VP_GRAPH_FULL)
		GrowGraph(entry);
}

/*
 * Read the chain from start_block (after after_off; see VpChainReaderInit
 * for start_seq) and absorb every live item into a private graph,
 * advancing the watermark item by item so that an error leaves a
 * consistent graph (catch-up of a private graph).  Returns false if the
 * watermark page was recycled: nothing was read.
 */
static bool
AbsorbPrivate(Relation index, VpPrivateGraph *entry, BlockNumber start_block,
			  uint32 start_seq, OffsetNumber after_off)
{
	VpChainReaderData reader;
	VpReadItem	item;

	if (!VpChainReaderInit(&reader, index,
						   VpGraphGetParams(entry->graph)->dims,
						   start_block, start_seq, after_off, true))
	{
		VpChainReaderEnd(&reader);
		return false;
	}
	while (VpChainReaderNext(&reader, &item))
	{
		CHECK_FOR_INTERRUPTS();
		if (item.vector != NULL)
			InsertPrivate(entry, item.vector, &item.heap_tid, item.key);
		AdvanceMark(&entry->mark, item.key, item.block, item.offnum);
	}
	VpChainReaderEnd(&reader);
	return true;
}

/*
 * Threads for linking a graph of this many nodes: the leader plus
 * max_parallel_maintenance_workers (PostgreSQL's knob for parallel index
 * builds), no more than the CPUs online; one for small graphs.
 */
static int
BuildThreads(uint64 nodes)
{
	long		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int			threads = max_parallel_maintenance_workers + 1;

	if (nodes < VP_PARALLEL_MIN_NODES)
		return 1;
	if (cpus > 0 && threads > cpus)
		threads = (int) cpus;
	return Max(1, Min(threads, VP_GRAPH_MAX_THREADS));
}

/* What LinkPoll needs */
typedef struct VpLinkProgress
{
	bool		report;			/* update pg_stat_progress_create_index */
	int64		last;			/* nodes reported so far */
} VpLinkProgress;

/*
 * Called by the leader between nodes while threads link: report progress,
 * and ask them to stop when an interrupt is waiting, so that it can be
 * served (CHECK_FOR_INTERRUPTS must not run while other threads work).
 */
static int
LinkPoll(void *arg, int32_t linked)
{
	VpLinkProgress *progress = (VpLinkProgress *) arg;

	if (progress->report && linked - progress->last >= 64)
	{
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, linked);
		progress->last = linked;
	}
	return InterruptPending && INTERRUPTS_CAN_BE_PROCESSED();
}

/*
 * Link every staged node of a private graph with nthreads threads, serving
 * interrupts between rounds.
 */
static void
LinkStaged(VpPrivateGraph *entry, int nthreads, bool report_progress)
{
	VpAllocator allocator = VpMakeAllocator(entry->cxt);
	VpGraphScratch *scratches[VP_GRAPH_MAX_THREADS];
	VpLinkProgress progress = {report_progress, 0};
	uint8	   *locks = NULL;
	int			i;

	if (VpGraphStagedCount(entry->graph) == VpGraphCount(entry->graph))
		return;
	for (i = 0; i < nthreads; i++)
		scratches[i] = VpGraphScratchCreate(&allocator, entry->graph,
											VpGraphGetParams(entry->graph)->ef_construction);
	if (nthreads > 1)
		locks = MemoryContextAllocHuge(entry->cxt,
									   (Size) VpGraphCapacity(entry->graph));
	for (;;)
	{
		int			rc = VpGraphLinkStaged(entry->graph, scratches, nthreads,
										   LinkPoll, &progress, locks);

		if (rc < 0)
			elog(ERROR, "could not link the nodes of an hnsw graph");
		if (rc == 1)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	if (report_progress)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE,
									 VpGraphCount(entry->graph));
	for (i = 0; i < nthreads; i++)
		VpGraphScratchDestroy(scratches[i]);
	if (locks != NULL)
		pfree(locks);
}

/*
 * Read the whole chain from start_block into a new private graph: stage
 * every live item (a copy, in chain order), then link them all, with
 * nthreads threads.  Pages are read sequentially with a bulk-read strategy
 * (the chain reader's).
 */
static void
StageAndLink(Relation index, VpPrivateGraph *entry, BlockNumber start_block,
			 int nthreads, bool report_progress)
{
	VpChainReaderData reader;
	VpReadItem	item;

	VpChainReaderInit(&reader, index, VpGraphGetParams(entry->graph)->dims,
					  start_block, 0, InvalidOffsetNumber, true);
	while (VpChainReaderNext(&reader, &item))
	{
		CHECK_FOR_INTERRUPTS();
		if (item.vector != NULL)
		{
			while (VpGraphStage(entry->graph, item.vector,
								TidToLabel(&item.heap_tid),
								item.key) == VP_GRAPH_FULL)
			{
				/* only a graph with every node linked can be copied */
				LinkStaged(entry, nthreads, report_progress);
				GrowGraph(entry);
			}
		}
		AdvanceMark(&entry->mark, item.key, item.block, item.offnum);
	}
	VpChainReaderEnd(&reader);
	LinkStaged(entry, nthreads, report_progress);
}

/*
 * Build a private graph from scratch from the index pages, sized for the
 * live items the metapage counts.  The metapage is read under the chain
 * lock, so that VACUUM cannot recycle the head page between that read and
 * the walk.
 */
static void
BuildPrivate(Relation index, VpPrivateGraph *entry, bool report_progress)
{
	VpGraphParams params;
	VpMetaPageData meta;
	instr_time	start,
				elapsed;
	uint64		live;

	INSTR_TIME_SET_CURRENT(start);
	LockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
	VpReadMeta(index, &meta);
	live = meta.items_appended -
		Min(meta.items_appended, meta.items_dead + meta.items_recycled);

	/* forget the old graph entirely before touching anything */
	entry->valid = false;
	entry->generation++;
	if (entry->cxt != NULL)
		MemoryContextDelete(entry->cxt);
	entry->cxt = AllocSetContextCreate(TopMemoryContext, "vecpersist graph",
									   ALLOCSET_DEFAULT_SIZES);
	entry->graph = NULL;
	entry->region_raw = NULL;

	entry->mark.relfilenode = index->rd_node.relNode;
	entry->mark.build_id = meta.build_id;
	entry->mark.wm_block = InvalidBlockNumber;
	entry->mark.wm_off = InvalidOffsetNumber;
	entry->mark.wm_seq = 0;
	entry->mark.items_seen = meta.items_appended;
	entry->mark.vacuum_epoch = meta.vacuum_epoch;

	/* an index that never held a vector has no dimensions, so no graph */
	if (meta.dims != 0)
	{
		GraphParamsFromMeta(&meta, live + live / 8 + 64, &params);
		entry->graph = AllocGraph(entry, &params, &entry->region_raw);

		if (BlockNumberIsValid(meta.head_block))
			StageAndLink(index, entry, meta.head_block, BuildThreads(live),
						 report_progress);
	}
	UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	entry->build_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	entry->valid = true;
}

/*
 * Bring a private graph up to the metapage, rebuilding it if need be.
 */
static void
CatchUpPrivate(Relation index, VpPrivateGraph *entry,
			   const VpMetaPageData *meta)
{
	for (;;)
	{
		VpCatchUpAction action = VP_CATCHUP_REBUILD;

		if (entry->valid)
			action = CompareMark(index, &entry->mark, entry->graph, meta);

		if (action == VP_CATCHUP_NONE)
			return;
		if (action == VP_CATCHUP_CREATE)
		{
			VpGraphParams params;

			GraphParamsFromMeta(meta, 0, &params);
			entry->graph = AllocGraph(entry, &params, &entry->region_raw);
			continue;
		}
		if (action == VP_CATCHUP_REBUILD)
		{
			BuildPrivate(index, entry, false);
			LogBuild(index, entry->graph, entry->build_ms, false);
			return;
		}
		if (action == VP_CATCHUP_DELETIONS)
		{
			int64		nkeys;
			uint64		max_key;
			uint64		epoch;
			uint64	   *keys = CollectLiveKeys(index, &nkeys, &max_key, &epoch);

			MarkDeadByKeys(entry->graph, keys, nkeys, max_key);
			entry->mark.vacuum_epoch = Max(epoch, entry->mark.vacuum_epoch);
			pfree(keys);
		}
		else
		{
			BlockNumber start;
			uint32		start_seq;
			OffsetNumber after;

			LockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
			if (!ResumePoint(index, &entry->mark, &start, &start_seq, &after) ||
				(BlockNumberIsValid(start) &&
				 !AbsorbPrivate(index, entry, start, start_seq, after)))
			{
				/* VACUUM recycled the watermark page: cannot resume there */
				UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
				entry->valid = false;
				continue;
			}
			UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
			entry->mark.items_seen = Max(entry->mark.items_seen,
										 meta->items_appended);
		}
	}
}

/*
 * Look up (creating if needed) this backend's private graph of an index.
 */
static VpPrivateGraph *
LookupPrivate(Oid indexoid, bool create)
{
	bool		found;
	VpPrivateGraph *entry;

	if (private_graphs == NULL)
	{
		HASHCTL		ctl;

		if (!create)
			return NULL;
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(VpPrivateGraph);
		private_graphs = hash_create("vecpersist private graphs", 16, &ctl,
									 HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(private_graphs, &indexoid,
						create ? HASH_ENTER : HASH_FIND, &found);
	if (create && !found)
		memset((char *) entry + sizeof(Oid), 0,
			   sizeof(VpPrivateGraph) - sizeof(Oid));
	return entry;
}

/*
 * Free this backend's private graph of an index (DROP).
 */
void
VpForgetLocalGraph(Oid indexoid)
{
	VpPrivateGraph *entry = LookupPrivate(indexoid, false);

	if (entry == NULL)
		return;
	if (entry->cxt != NULL)
		MemoryContextDelete(entry->cxt);
	hash_search(private_graphs, &indexoid, HASH_REMOVE, NULL);
}

/* ------------------------------------------------------------------------
 * Shared graphs
 * ------------------------------------------------------------------------
 */

/* Outcome of bringing a shared graph up to date */
typedef enum VpSharedCatchUp
{
	VP_SHARED_CURRENT,			/* up to date; slot lock held in share mode */
	VP_SHARED_REBUILD,			/* must be rebuilt from the pages */
	VP_SHARED_GONE				/* replaced or dropped meanwhile */
} VpSharedCatchUp;

/*
 * Say that a graph does not fit in the shared cache: an ERROR for prewarm,
 * a WARNING (once per session and index) for a query, which goes on with a
 * private copy.
 */
static void
ReportNoRoom(int elevel, Relation index, size_t needed, size_t free_bytes)
{
	ereport(elevel,
			(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
			 errmsg("hnsw graph of index \"%s\" does not fit in the shared graph cache",
					RelationGetRelationName(index)),
			 errdetail("The graph needs %zu bytes; the cache has %zu bytes, of which %zu are free.",
					   needed, VpCacheBudget(), free_bytes),
			 elevel >= ERROR ?
			 errhint("Increase vecpersist.cache_size and restart the server.") :
			 errhint("Increase vecpersist.cache_size and restart the server.  Until then each session searches a private copy of this graph.")));
}

/*
 * Build the graph of a slot we are building and copy it into the cache.
 * On success the slot is READY and pinned for us.  If it does not fit, the
 * slot is given up and the graph is kept as this backend's private copy
 * (the caller searches that); prewarm errors out instead.  Returns whether
 * the graph is in the cache.
 */
static bool
BuildShared(Relation index, VpCacheSlot *slot, bool prewarm,
			bool report_progress)
{
	VpPrivateGraph *built = palloc0(sizeof(VpPrivateGraph));
	VpPrivateGraph *entry;
	size_t		needed = 0;
	size_t		free_bytes = 0;

	PG_TRY();
	{
		BuildPrivate(index, built, report_progress);
	}
	PG_CATCH();
	{
		VpCacheAbandon(slot);
		if (built->cxt != NULL)
			MemoryContextDelete(built->cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (VpCachePublish(slot, built->graph, &built->mark, built->build_ms,
					   report_progress, &needed, &free_bytes))
	{
		LogBuild(index, built->graph, built->build_ms, true);
		MemoryContextDelete(built->cxt);
		pfree(built);
		VpForgetLocalGraph(RelationGetRelid(index));
		return true;
	}

	if (prewarm)
	{
		MemoryContextDelete(built->cxt);
		ReportNoRoom(ERROR, index, needed, free_bytes);
	}

	/* keep it as this backend's private copy */
	entry = LookupPrivate(RelationGetRelid(index), true);
	if (entry->cxt != NULL)
		MemoryContextDelete(entry->cxt);
	entry->valid = true;
	entry->fallback = true;
	entry->cxt = built->cxt;
	entry->graph = built->graph;
	entry->region_raw = built->region_raw;
	entry->mark = built->mark;
	entry->generation++;
	entry->build_ms = built->build_ms;
	pfree(built);
	LogBuild(index, entry->graph, entry->build_ms, false);
	if (!entry->warned)
	{
		entry->warned = true;
		ReportNoRoom(WARNING, index, needed, free_bytes);
	}
	return false;
}

/*
 * Read up to a batch of items of the chain into memory, continuing the
 * reader.  Returns the number read; *done is set at the chain's end.
 */
static int
ReadBatch(VpChainReader reader, int dims, VpPendingItem *items, bool *done)
{
	VpReadItem	item;
	int			n = 0;
	size_t		bytes = 0;

	*done = false;
	while (n < VP_ABSORB_BATCH_ITEMS && bytes < VP_ABSORB_BATCH_BYTES)
	{
		CHECK_FOR_INTERRUPTS();
		if (!VpChainReaderNext(reader, &item))
		{
			*done = true;
			break;
		}
		items[n].key = item.key;
		items[n].block = item.block;
		items[n].offnum = item.offnum;
		items[n].heap_tid = item.heap_tid;
		items[n].vector = NULL;
		if (item.vector != NULL)
		{
			items[n].vector = palloc(sizeof(float) * dims);
			memcpy(items[n].vector, item.vector, sizeof(float) * dims);
			bytes += sizeof(float) * dims;
		}
		n++;
	}
	return n;
}

/*
 * Insert a vector into a shared graph.  The caller holds the writer lock
 * and the slot's lock in shared mode, which it holds again on return
 * (readers go on searching while we insert).  Growing the region needs the
 * slot's lock exclusively.  Returns false if the graph was replaced
 * meanwhile or could not grow (it is then dropped; the next use rebuilds
 * it or falls back to a private copy).
 */
static bool
InsertShared(VpCacheSlot *slot, uint64 incarnation, const VpPendingItem *item)
{
	ItemPointerData tid = item->heap_tid;

	for (;;)
	{
		VpGraph    *graph = VpCacheGraph(slot);
		VpNodeId	node;
		bool		grown;

		switch (VpGraphInsert(graph, InsertScratch(graph), item->vector,
							  TidToLabel(&tid), item->key, &node))
		{
			case VP_GRAPH_INSERTED:
				slot->nodes = VpGraphCount(graph);
				slot->absorbed++;
				return true;
			case VP_GRAPH_INVALID:
				elog(ERROR, "could not insert into the shared hnsw graph");
				break;
			case VP_GRAPH_FULL:
				break;
		}

		LWLockRelease(slot->lock);
		LWLockAcquire(slot->lock, LW_EXCLUSIVE);
		grown = slot->incarnation == incarnation && VpCacheGrow(slot);
		if (!grown && slot->incarnation == incarnation)
			VpCacheDropGraph(slot);
		LWLockRelease(slot->lock);
		LWLockAcquire(slot->lock, LW_SHARED);
		if (!grown || slot->incarnation != incarnation)
			return false;
	}
}

/*
 * Absorb one read-ahead item into a shared graph unless another backend
 * already did.  Returns false if the graph was replaced meanwhile or could
 * not grow.
 */
static bool
ApplyShared(VpCacheSlot *slot, uint64 incarnation, const VpPendingItem *item)
{
	bool		ok = true;

	LWLockAcquire(slot->writer_lock, LW_EXCLUSIVE);
	LWLockAcquire(slot->lock, LW_SHARED);
	if (slot->incarnation != incarnation)
		ok = false;
	else if (item->key > VpGraphMarkKey(&slot->mark))
	{
		if (item->vector != NULL)
			ok = InsertShared(slot, incarnation, item);
		if (ok)
		{
			SpinLockAcquire(&slot->mark_mutex);
			AdvanceMark(&slot->mark, item->key, item->block, item->offnum);
			SpinLockRelease(&slot->mark_mutex);
		}
	}
	LWLockRelease(slot->lock);
	LWLockRelease(slot->writer_lock);
	return ok;
}

/*
 * Absorb the items appended after a shared graph's watermark.
 */
static VpSharedCatchUp
AbsorbShared(Relation index, VpCacheSlot *slot, uint64 incarnation,
			 const VpGraphMark *mark, int dims, const VpMetaPageData *meta)
{
	VpChainReaderData reader;
	VpPendingItem *items;
	BlockNumber start;
	uint32		start_seq;
	OffsetNumber after;
	MemoryContext batchcxt;
	MemoryContext oldcxt;
	VpSharedCatchUp result = VP_SHARED_CURRENT;
	bool		done = false;

	LockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
	if (!ResumePoint(index, mark, &start, &start_seq, &after))
	{
		UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);
		return VP_SHARED_REBUILD;
	}

	if (BlockNumberIsValid(start))
	{
		batchcxt = AllocSetContextCreate(CurrentMemoryContext,
										 "vecpersist catch-up",
										 ALLOCSET_DEFAULT_SIZES);
		items = palloc(sizeof(VpPendingItem) * VP_ABSORB_BATCH_ITEMS);
		if (!VpChainReaderInit(&reader, index, dims, start, start_seq, after,
							   true))
			result = VP_SHARED_REBUILD;
		while (!done && result == VP_SHARED_CURRENT)
		{
			int			n;
			int			i;

			oldcxt = MemoryContextSwitchTo(batchcxt);
			n = ReadBatch(&reader, dims, items, &done);
			MemoryContextSwitchTo(oldcxt);
			for (i = 0; i < n && result == VP_SHARED_CURRENT; i++)
				if (!ApplyShared(slot, incarnation, &items[i]))
					result = VP_SHARED_GONE;
			MemoryContextReset(batchcxt);
		}
		VpChainReaderEnd(&reader);
		pfree(items);
		MemoryContextDelete(batchcxt);
	}
	UnlockPage(index, VP_CHAIN_LOCK_BLKNO, ShareLock);

	if (result == VP_SHARED_CURRENT)
	{
		LWLockAcquire(slot->writer_lock, LW_EXCLUSIVE);
		if (slot->incarnation == incarnation)
		{
			SpinLockAcquire(&slot->mark_mutex);
			slot->mark.items_seen = Max(slot->mark.items_seen,
										meta->items_appended);
			SpinLockRelease(&slot->mark_mutex);
		}
		else
			result = VP_SHARED_GONE;
		LWLockRelease(slot->writer_lock);
	}
	return result;
}

/*
 * Apply VACUUM's deletions to a shared graph: collect the live keys with no
 * lock of ours held, then mark under the slot's lock.
 */
static VpSharedCatchUp
ApplyDeletionsShared(Relation index, VpCacheSlot *slot, uint64 incarnation)
{
	int64		nkeys;
	uint64		max_key;
	uint64		epoch;
	uint64	   *keys = CollectLiveKeys(index, &nkeys, &max_key, &epoch);
	VpSharedCatchUp result = VP_SHARED_CURRENT;

	LWLockAcquire(slot->writer_lock, LW_EXCLUSIVE);
	LWLockAcquire(slot->lock, LW_SHARED);
	if (slot->incarnation != incarnation)
		result = VP_SHARED_GONE;
	else if (epoch > slot->mark.vacuum_epoch)
	{
		VpGraph    *graph = VpCacheGraph(slot);

		MarkDeadByKeys(graph, keys, nkeys, max_key);
		slot->dead_nodes = VpGraphDeletedCount(graph);
		SpinLockAcquire(&slot->mark_mutex);
		slot->mark.vacuum_epoch = epoch;
		SpinLockRelease(&slot->mark_mutex);
		slot->deletion_passes++;
	}
	LWLockRelease(slot->lock);
	LWLockRelease(slot->writer_lock);
	pfree(keys);
	return result;
}

/*
 * Give a shared entry of an index that had no vector an empty graph (the
 * items are absorbed next).
 */
static VpSharedCatchUp
CreateShared(VpCacheSlot *slot, uint64 incarnation, const VpMetaPageData *meta)
{
	VpSharedCatchUp result = VP_SHARED_CURRENT;

	LWLockAcquire(slot->writer_lock, LW_EXCLUSIVE);
	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	if (slot->incarnation != incarnation)
		result = VP_SHARED_GONE;
	else if (VpCacheGraph(slot) == NULL)
	{
		VpGraphParams params;

		GraphParamsFromMeta(meta, 0, &params);
		if (!VpCacheInitGraph(slot, &params))
		{
			VpCacheDropGraph(slot);
			result = VP_SHARED_GONE;
		}
	}
	LWLockRelease(slot->lock);
	LWLockRelease(slot->writer_lock);
	return result;
}

/*
 * Bring a pinned shared graph up to the metapage.  On VP_SHARED_CURRENT
 * the slot's lock is held in share mode.
 */
static VpSharedCatchUp
CatchUpShared(Relation index, VpCacheSlot *slot, uint64 incarnation,
			  const VpMetaPageData *meta)
{
	for (;;)
	{
		VpGraphMark mark;
		VpCatchUpAction action;
		VpSharedCatchUp result;
		int			dims = 0;

		LWLockAcquire(slot->lock, LW_SHARED);
		if (slot->incarnation != incarnation)
		{
			LWLockRelease(slot->lock);
			return VP_SHARED_GONE;
		}
		SpinLockAcquire(&slot->mark_mutex);
		mark = slot->mark;
		SpinLockRelease(&slot->mark_mutex);
		action = CompareMark(index, &mark, VpCacheGraph(slot), meta);
		if (action == VP_CATCHUP_NONE)
			return VP_SHARED_CURRENT;
		if (action == VP_CATCHUP_ABSORB || action == VP_CATCHUP_DELETIONS)
			dims = VpGraphGetParams(VpCacheGraph(slot))->dims;
		LWLockRelease(slot->lock);

		if (action == VP_CATCHUP_REBUILD)
			return VP_SHARED_REBUILD;
		if (action == VP_CATCHUP_CREATE)
			result = CreateShared(slot, incarnation, meta);
		else if (action == VP_CATCHUP_DELETIONS)
			result = ApplyDeletionsShared(index, slot, incarnation);
		else
			result = AbsorbShared(index, slot, incarnation, &mark, dims, meta);
		if (result != VP_SHARED_CURRENT)
			return result;
	}
}

/*
 * Open the shared graph of an index for a search, building it if needed.
 * Returns true with ref filled (slot pinned and locked in share mode), or
 * false when the graph is to be searched from a private copy.
 */
static bool
OpenShared(Relation index, const VpMetaPageData *meta, VpGraphRef *ref,
		   bool prewarm)
{
	Oid			indexoid = RelationGetRelid(index);

	for (;;)
	{
		VpCacheSlot *slot;
		uint64		incarnation;

		/* afterwards the slot is READY and pinned for us */
		switch (VpCacheAcquire(indexoid, true, &slot, &incarnation))
		{
			case VP_ACQUIRE_READY:
				break;
			case VP_ACQUIRE_BUILD:
				if (!BuildShared(index, slot, prewarm, false))
					return false;
				break;
			case VP_ACQUIRE_NO_SLOT:
				if (prewarm || !no_slot_warned)
				{
					no_slot_warned = true;
					ereport(prewarm ? ERROR : WARNING,
							(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
							 errmsg("every slot of the shared hnsw graph cache is in use"),
							 errhint("Increase vecpersist.cache_max_graphs and restart the server.  Until then this session searches a private copy of the graph of index \"%s\".",
									 RelationGetRelationName(index))));
				}
				return false;
			case VP_ACQUIRE_ABSENT:
				elog(ERROR, "unexpected result of a graph cache lookup");
		}

		switch (CatchUpShared(index, slot, incarnation, meta))
		{
			case VP_SHARED_CURRENT:
				if (!prewarm)
					pg_atomic_fetch_add_u64(&slot->searches, 1);
				ref->slot = slot;
				ref->incarnation = incarnation;
				ref->graph = VpCacheGraph(slot);
				ref->locked = true;
				return true;
			case VP_SHARED_REBUILD:
				/* the pin goes with the slot into our rebuild */
				if (VpCacheStartRebuild(slot, incarnation))
				{
					if (!BuildShared(index, slot, prewarm, false))
						return false;
					VpCacheRelease(slot);
				}
				break;
			case VP_SHARED_GONE:
				VpCacheRelease(slot);
				break;
		}
	}
}

/* ------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------
 */

/*
 * Open the graph of an index for searching, current with its pages, built
 * from them on first use.  ref->graph is NULL while the index has never
 * held a vector.  The graph may be used until VpGraphUnlock; between
 * windows of one scan, VpGraphRelock gets it back (or says it changed).
 * VpGraphClose ends the use.  prewarm: only build, and error out (rather
 * than fall back to a private copy) when the shared cache has no room.
 */
void
VpGraphOpen(Relation index, VpGraphRef *ref, bool prewarm)
{
	VpMetaPageData meta;
	VpPrivateGraph *entry;

	memset(ref, 0, sizeof(VpGraphRef));
	ref->interrupt_check = GraphInterruptCheck;
	VpReadMeta(index, &meta);

	if (VpCacheAvailable())
	{
		entry = LookupPrivate(RelationGetRelid(index), false);

		/* a private copy kept for lack of room serves until it is stale */
		if (prewarm || entry == NULL || !entry->valid || !entry->fallback ||
			CompareMark(index, &entry->mark, entry->graph, &meta) ==
			VP_CATCHUP_REBUILD)
		{
			if (OpenShared(index, &meta, ref, prewarm))
				return;
		}
	}
	else
	{
		if (prewarm)
			VpRequireCache();
		if (!no_preload_noticed)
		{
			no_preload_noticed = true;
			ereport(NOTICE,
					(errmsg("vecpersist is not in shared_preload_libraries, so each session builds its own copy of an hnsw graph"),
					 errhint("Add vecpersist to shared_preload_libraries and restart the server to share one graph per index among all sessions.")));
		}
	}

	entry = LookupPrivate(RelationGetRelid(index), true);
	CatchUpPrivate(index, entry, &meta);
	ref->slot = NULL;
	ref->incarnation = entry->generation;
	ref->indexoid = RelationGetRelid(index);
	ref->graph = entry->graph;
	ref->locked = false;
}

/*
 * Get an opened graph back for the next search window.  Returns false if
 * it was replaced or dropped since (its node ids mean nothing now).
 */
bool
VpGraphRelock(VpGraphRef *ref)
{
	Assert(!ref->locked);
	if (ref->slot != NULL)
	{
		LWLockAcquire(ref->slot->lock, LW_SHARED);
		if (ref->slot->incarnation != ref->incarnation)
		{
			LWLockRelease(ref->slot->lock);
			ref->graph = NULL;
			return false;
		}
		ref->graph = VpCacheGraph(ref->slot);
		ref->locked = true;
		return true;
	}
	else
	{
		VpPrivateGraph *entry = LookupPrivate(ref->indexoid, false);

		if (entry == NULL || !entry->valid ||
			entry->generation != ref->incarnation)
		{
			ref->graph = NULL;
			return false;
		}
		ref->graph = entry->graph;
		return true;
	}
}

/*
 * Let go of the graph between search windows (the LWLock of a shared
 * graph is never held across amgettuple calls).
 */
void
VpGraphUnlock(VpGraphRef *ref)
{
	if (ref->locked)
		LWLockRelease(ref->slot->lock);
	ref->locked = false;
	ref->graph = NULL;
}

/*
 * End the use of a graph opened with VpGraphOpen.
 */
void
VpGraphClose(VpGraphRef *ref)
{
	VpGraphUnlock(ref);
	if (ref->slot != NULL)
		VpCacheRelease(ref->slot);
	ref->slot = NULL;
}

/*
 * Build the graph of a freshly written index (CREATE INDEX, REINDEX,
 * TRUNCATE) so that its first query is already fast; reports progress.
 * It goes into the shared cache when that has room.
 */
void
VpBuildGraphFromPages(Relation index)
{
	VpPrivateGraph *entry;

	if (VpCacheAvailable())
	{
		VpCacheSlot *slot;
		uint64		incarnation;

		/* new storage: a new entry, with its own counters */
		VpCacheEvict(MyDatabaseId, RelationGetRelid(index));
		for (;;)
		{
			VpAcquireResult result = VpCacheAcquire(RelationGetRelid(index),
													true, &slot, &incarnation);

			if (result == VP_ACQUIRE_READY &&
				!VpCacheStartRebuild(slot, incarnation))
				continue;
			if (result == VP_ACQUIRE_NO_SLOT)
				break;
			/* the slot is ours to build (our pin, if any, went with it) */
			if (BuildShared(index, slot, false, true))
				VpCacheRelease(slot);
			return;
		}
	}

	entry = LookupPrivate(RelationGetRelid(index), true);
	BuildPrivate(index, entry, true);
	LogBuild(index, entry->graph, entry->build_ms, false);
}

/*
 * After an insert: if a graph of the index is cached (shared, or private to
 * this backend), absorb the new items now (only the chain's tail is read).
 * Never builds one.
 */
void
VpCatchUpIfCached(Relation index)
{
	VpMetaPageData meta;
	VpPrivateGraph *entry = LookupPrivate(RelationGetRelid(index), false);

	if (entry != NULL && entry->valid)
	{
		VpReadMeta(index, &meta);
		CatchUpPrivate(index, entry, &meta);
		return;
	}
	if (VpCacheAvailable())
	{
		VpCacheSlot *slot;
		uint64		incarnation;

		if (VpCacheAcquire(RelationGetRelid(index), false, &slot,
						   &incarnation) != VP_ACQUIRE_READY)
			return;
		VpReadMeta(index, &meta);
		if (CatchUpShared(index, slot, incarnation, &meta) == VP_SHARED_CURRENT)
			LWLockRelease(slot->lock);
		VpCacheRelease(slot);
	}
}
