/*-------------------------------------------------------------------------
 *
 * vpcache.c
 *	  The graph cache: finds, builds, loads and keeps current the HNSW
 *	  graph of an index, shared by every backend or private to one.
 *
 * The index pages are the truth and the graph is a cache of them.  This
 * file is the only code that decides when a graph is valid.  A graph is
 * tied to the index's relfilenode and to the build_id its metapage carries
 * (REINDEX, TRUNCATE and a rebuilt index all change one of them), and it
 * records a mark (VpGraphMark): the last chain item it absorbed (the
 * watermark) with that item's ordinal, and the vacuum epoch it has
 * applied.  Before each use the metapage is compared with that mark:
 *
 *	- new items since the watermark are absorbed: read from the chain (up
 *	  to the last item the metapage names), staged in chain order under the
 *	  slot's absorb lock, then linked outside it;
 *	- a changed vacuum epoch means a deletion pass: one backend walks the
 *	  chain collecting the keys of live items and marks deleted every older
 *	  node whose key is not among them (node keys grow with node ids, so
 *	  that is a merge), while others wait for it.  On a primary VACUUM does
 *	  this itself for the keys it flagged, so scans rarely need it;
 *	- a different relfilenode, build_id or code kind, or too many dead
 *	  nodes, means a rebuild.
 *
 * An insert hands its item to the graph directly when the graph has
 * absorbed everything before it (its ordinal is the next): staging takes
 * microseconds under the absorb lock, and linking, the expensive part,
 * runs beside other inserts.  An insert whose predecessors are not in yet
 * catches up from the chain like a scan.  Either way it returns only once
 * its node is linked, so a row committed is a row findable.
 *
 * Where graphs live: with shared_preload_libraries, in the shared cache
 * (vpshmem.c), one per index for all backends, built in place (the build
 * writes into the region the graph lives in).  A graph that does not fit,
 * or that another backend is still building past vecpersist.build_wait,
 * is answered by an exact scan of the pages instead (bounded memory, exact
 * results).  Without preload every backend keeps private graphs.  A graph
 * comes back after a restart from its snapshot when one matches
 * (vpsnapshot.c): loaded, caught up, checked, never trusted blindly.
 *
 * IDENTIFICATION
 *	  src/vpcache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "vecpersist.h"
#include "vpgraph.h"
#include "vppage.h"
#include "vpshmem.h"
#include "vpsnapshot.h"

/* rebuild when more than this fraction of a large graph's nodes are dead */
#define VP_DEAD_REBUILD_FRACTION	0.5
#define VP_DEAD_REBUILD_MIN_NODES	1000

/* a query that rebuilt a graph this often and still finds it stale gives up */
#define VP_MAX_REBUILDS_PER_OPEN	3

/* builds of fewer live items than this link with one thread */
#define VP_PARALLEL_MIN_NODES		10000

/* catch-up reads at most this many items (or payload bytes) at once */
#define VP_ABSORB_BATCH_ITEMS		1024
#define VP_ABSORB_BATCH_BYTES		(16 * 1024 * 1024)

/* What the metapage says should happen to a graph */
typedef enum VpCatchUpAction
{
	VP_CATCHUP_NONE,
	VP_CATCHUP_CREATE,			/* first values in an index that had none */
	VP_CATCHUP_ABSORB,
	VP_CATCHUP_DELETIONS,
	VP_CATCHUP_REBUILD
} VpCatchUpAction;

/* Outcome of bringing a shared graph up to date */
typedef enum VpSharedCatchUp
{
	VP_SHARED_CURRENT,			/* up to date */
	VP_SHARED_REBUILD,			/* must be rebuilt from the pages */
	VP_SHARED_GONE				/* replaced or dropped meanwhile */
} VpSharedCatchUp;

/* A graph in this backend's memory */
typedef struct VpPrivateGraph
{
	Oid			indexoid;		/* hash key */
	bool		valid;			/* graph complete up to the mark */
	bool		check;			/* a relcache invalidation came: see
								 * whether the index still exists */
	MemoryContext cxt;			/* owns the region */
	VpGraph    *graph;			/* 64-byte aligned inside region_raw */
	void	   *region_raw;
	VpGraphMark mark;
	uint64		generation;		/* bumped by every rebuild (ids change) */
} VpPrivateGraph;

/* Where a build puts its graph: a shared slot, or a private entry */
typedef struct VpHome
{
	VpCacheSlot *slot;
	VpPrivateGraph *entry;
	size_t		needed;			/* when a shared layout did not fit */
	size_t		free_bytes;
} VpHome;

/* An item read ahead of being staged */
typedef struct VpPendingItem
{
	uint64		key;
	BlockNumber block;
	OffsetNumber offnum;
	ItemPointerData heap_tid;
	bool		live;
	VpPayload	payload;		/* a copy, for live items */
} VpPendingItem;

/* Handle of VACUUM's direct application of its deletions */
typedef struct VpVacuumHandle
{
	Relation	index;
	VpCacheSlot *slot;
	uint64		incarnation;
} VpVacuumHandle;

static HTAB *private_graphs = NULL;
static bool private_callback_registered = false;
static bool no_preload_noticed = false;
static bool busy_noticed = false;
static List *no_room_warned = NIL;	/* index OIDs, in TopMemoryContext */
static List *no_slot_warned = NIL;	/* likewise */

/* Scratch for inserting into any graph, and the context that owns it */
static MemoryContext scratch_cxt = NULL;
static VpGraphScratch *insert_scratch = NULL;

static VpPrivateGraph *LookupPrivate(Oid indexoid, bool create);

/*
 * Allocator handed to the graph module: the given context, huge
 * allocations allowed (visited marks and memos of large graphs).
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

/*
 * Interrupt check a search calls every few hundred distances.  A search
 * holds no lock of ours (only a reference on the region, released at
 * transaction end), so a cancel takes effect at once.
 */
static void
GraphInterruptCheck(void)
{
	CHECK_FOR_INTERRUPTS();
}

/*
 * Scratch that fits graph for an insert, recreated when the graph's shape
 * outgrew it.  Its visited marks are a hash sized by ef_construction and
 * m, so it stays small however large the graph.
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
	insert_scratch = VpGraphScratchCreate(&allocator, graph, ef, 0);
	return insert_scratch;
}

/*
 * Pack a heap TID into the 64-bit label the graph hands back, and back.
 */
uint64
VpTidToLabel(ItemPointer tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

void
VpLabelToTid(uint64 label, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (label >> 16),
				   (OffsetNumber) (label & 0xFFFF));
}

/*
 * Graph parameters for an index as its metapage and operator class
 * describe it, with room for capacity nodes.  A sparse graph's arena is
 * sized from the average payload appended so far.
 */
VpGraphParams
VpGraphParamsFor(Relation index, const VpMetaPageData *meta, uint64 capacity)
{
	VpGraphParams params;

	memset(&params, 0, sizeof(VpGraphParams));
	params.dims = (int32) meta->dims;
	params.m = meta->m;
	params.ef_construction = meta->ef_construction;
	params.metric = (VpMetric) meta->metric;
	params.codes = VpGetIndexInfo(index)->codes;
	params.capacity = (int32) Min(Max(capacity, 1024), (uint64) PG_INT32_MAX / 4);
	params.seed = meta->build_id;
	if (params.codes == VP_CODE_SPARSE)
	{
		uint64		avg = meta->items_appended > 0 ?
			meta->payload_bytes / meta->items_appended : 64;

		params.arena_bytes = (uint64) params.capacity *
			(sizeof(VpSparseHeader) + avg + 8);
	}
	return params;
}

/*
 * Whether a graph is so full of dead nodes that a build from the pages,
 * which leaves them out, is better than catching up.  A loaded snapshot is
 * judged by the same rule (LoadSnapshot), else the rebuild this asks for
 * would load it again, and again.
 */
static bool
MostlyDead(int32 count, int32 deleted)
{
	return count >= VP_DEAD_REBUILD_MIN_NODES &&
		deleted > count * VP_DEAD_REBUILD_FRACTION;
}

/*
 * Compare a graph's mark with the metapage (graph state as read at one
 * moment: its node and dead counts and code kind, -1 for no graph).
 */
static VpCatchUpAction
CompareMark(Relation index, const VpGraphMark *mark, int codes, int32 count,
			int32 deleted, const VpMetaPageData *meta)
{
	if (mark->relfilenode != index->rd_node.relNode ||
		mark->build_id != meta->build_id)
		return VP_CATCHUP_REBUILD;
	if (codes < 0)
		return meta->dims == 0 ? VP_CATCHUP_NONE : VP_CATCHUP_CREATE;
	if (codes != (int) VpGetIndexInfo(index)->codes)
		return VP_CATCHUP_REBUILD;
	if (MostlyDead(count, deleted))
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
	mark->wm_seq = VpItemKeySeq(key);
}

/*
 * A reader positioned after a graph's watermark (at the head when nothing
 * was absorbed yet), for items up to the metapage's last.  If VACUUM
 * recycled the watermark's page, the reader starts at the head instead and
 * the caller skips the keys up to the watermark (they grow along the
 * chain).
 */
static void
ReaderAfterMark(VpChainReader reader, Relation index,
				const VpMetaPageData *meta, const VpGraphMark *mark,
				bool verify)
{
	if (BlockNumberIsValid(mark->wm_block) &&
		VpChainReaderInit(reader, index, meta, mark->wm_block, mark->wm_seq,
						  mark->wm_off, verify))
		return;
	if (BlockNumberIsValid(mark->wm_block))
		VpChainReaderEnd(reader);
	VpChainReaderInit(reader, index, meta, InvalidBlockNumber, 0,
					  InvalidOffsetNumber, verify);
}

/*
 * Walk the whole chain and return the keys of its live items (ascending),
 * with the largest key seen (live or dead) and the vacuum epoch the walk
 * reflects (read before it began: VACUUM flags, then bumps).  Nodes with
 * larger keys cannot be judged from it.
 */
static uint64 *
CollectLiveKeys(Relation index, int64 *nkeys, uint64 *max_key, uint64 *epoch)
{
	VpMetaPageData meta;
	VpChainReaderData reader;
	VpReadItem	item;
	int64		n = 0;
	int64		size = 1024;
	uint64	   *keys = palloc(sizeof(uint64) * size);

	*max_key = 0;
	VpReadMeta(index, &meta);
	*epoch = meta.vacuum_epoch;
	VpChainReaderInit(&reader, index, &meta, InvalidBlockNumber, 0,
					  InvalidOffsetNumber, false);
	reader.keys_only = true;
	while (VpChainReaderNext(&reader, &item))
	{
		*max_key = item.key;
		if (item.flags & VP_ITEM_DEAD)
			continue;
		if (n == size)
		{
			size *= 2;
			keys = repalloc_huge(keys, sizeof(uint64) * size);
		}
		keys[n++] = item.key;
	}
	VpChainReaderEnd(&reader);
	*nkeys = n;
	return keys;
}

/*
 * Mark deleted every node with a key up to max_key that is not among the
 * live keys (both ascending).  Returns the number of nodes newly marked.
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

static int	BuildThreads(uint64 nodes);

/*
 * Link every live node the graph cannot reach or find (see
 * vpgraphrepair.c) and log what was done.  A graph just built also gets
 * the check for weakly listed nodes, which a load or a deletion pass would
 * only repeat.  Runs beside searches and inserts.
 */
static void
RepairGraph(Relation index, VpGraph *graph, int flags, VpRepairStats *stats)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "vecpersist repair",
											  ALLOCSET_DEFAULT_SIZES);
	VpAllocator allocator = VpMakeAllocator(cxt);

	if (VpGraphRepair(graph, &allocator, flags,
					  (flags & VP_REPAIR_WEAK) ?
					  BuildThreads(VpGraphCount(graph)) : 1, stats) != 0)
		elog(ERROR, "could not check the reachability of an hnsw graph");
	if (stats->repaired > 0 || stats->holes > 0)
		ereport(LOG,
				(errmsg("linked %d nodes back into the hnsw graph of index \"%s\"",
						stats->repaired, RelationGetRelationName(index)),
				 errdetail("%d nodes were unreachable, %d listed by none of their neighbours, %d not found by a search for themselves; %d remain unreachable.  %d links to nodes whose items are gone were replaced.",
						   stats->unreachable, stats->hidden, stats->weak,
						   stats->remaining, stats->holes)));
	MemoryContextDelete(cxt);
}

/*
 * Log a build or load at LOG: rebuilds are the one cost this design adds,
 * so they should be visible, and so should their absence.
 */
static void
LogBuild(Relation index, const VpGraph *graph, const VpBuildReport *report,
		 bool shared)
{
	char	   *dbname = get_database_name(MyDatabaseId);

	ereport(LOG,
			(errmsg("%s hnsw graph of index \"%s\" in database \"%s\" in %.1f ms",
					report->origin == VP_ORIGIN_LOADED ?
					"loaded" : "built",
					RelationGetRelationName(index), dbname ? dbname : "?",
					report->build_ms),
			 errdetail("%d nodes, %zu bytes, %s; the reachability check took %.1f ms of it.",
					   graph ? VpGraphCount(graph) : 0,
					   graph ? VpGraphRegionBytes(graph) : (size_t) 0,
					   shared ? "shared by all sessions" : "private to this session",
					   report->repair_ms)));
}

/* ------------------------------------------------------------------------
 * Homes: where a build lays its graph out
 * ------------------------------------------------------------------------
 */

/*
 * Lay out an empty graph for params in a private entry's memory, copying
 * copy_from (the entry's previous graph) over when given.
 */
static VpGraph *
PrivateLayout(VpPrivateGraph *entry, const VpGraphParams *params,
			  const VpGraph *copy_from)
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
	graph = VpGraphInit((void *) TYPEALIGN(64, mem), size, params);
	if (graph == NULL ||
		(copy_from != NULL && VpGraphCopy(graph, copy_from) != 0))
		elog(ERROR, "could not lay out an hnsw graph of %d nodes", params->capacity);
	if (entry->region_raw != NULL)
		pfree(entry->region_raw);
	entry->region_raw = mem;
	entry->graph = graph;
	return graph;
}

/*
 * Lay out a graph for params where the home keeps it (the old graph, if
 * any, copied over and dropped).  NULL if a shared graph does not fit.
 */
static VpGraph *
HomeLayout(VpHome *home, const VpGraphParams *params, const VpGraph *copy_from)
{
	if (home->slot != NULL)
		return VpCacheBuildGraph(home->slot, params, copy_from, &home->needed,
								 &home->free_bytes);
	return PrivateLayout(home->entry, params, copy_from);
}

/*
 * The parameters of graph with more room: nodes doubled (a quarter more
 * in shared memory, where room is scarce), and so the arena.
 */
static VpGraphParams
GrownParams(const VpGraph *graph, bool shared)
{
	VpGraphParams params = *VpGraphGetParams(graph);
	int32		more = shared ? Max(params.capacity / 4, 1024) : params.capacity;

	if (params.capacity >= PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("hnsw graph cannot hold more than %d nodes",
						params.capacity)));
	params.capacity += more;
	if (params.codes == VP_CODE_SPARSE)
		params.arena_bytes += params.arena_bytes / 2 + ((uint64) 1 << 20);
	return params;
}

/*
 * Stage one item into a graph being built, growing it when full.  Returns
 * the graph (perhaps moved), or NULL if it does not fit the shared cache.
 */
static VpGraph *
StageBuilt(VpHome *home, VpGraph *graph, const VpPayload *payload,
		   ItemPointer heap_tid, uint64 key, BlockNumber block, float *buf)
{
	VpVector	v;
	VpGraphItem item;

	VpPayloadToVector(payload, &v, buf);
	item.label = VpTidToLabel(heap_tid);
	item.key = key;
	item.block = block;
	for (;;)
	{
		VpGraphParams params;

		switch (VpGraphStage(graph, &v, &item, NULL))
		{
			case VP_GRAPH_INSERTED:
				return graph;
			case VP_GRAPH_INVALID:
				elog(ERROR, "could not stage a value into an hnsw graph");
				break;
			case VP_GRAPH_FULL:
				break;
		}
		params = GrownParams(graph, home->slot != NULL);
		graph = HomeLayout(home, &params, graph);
		if (graph == NULL)
			return NULL;
	}
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
 * Link every staged node of a graph being built (nobody else uses it) with
 * nthreads threads, serving interrupts between rounds.
 */
static void
LinkAll(VpGraph *graph, int nthreads, bool report_progress)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "vecpersist link",
											  ALLOCSET_DEFAULT_SIZES);
	VpAllocator allocator = VpMakeAllocator(cxt);
	VpGraphScratch *scratches[VP_GRAPH_MAX_THREADS];
	VpLinkProgress progress = {report_progress, 0};
	int			i;

	for (i = 0; i < nthreads; i++)
		scratches[i] = VpGraphScratchCreate(&allocator, graph,
											VpGraphGetParams(graph)->ef_construction,
											1);
	for (;;)
	{
		int			rc = VpGraphLinkStaged(graph, scratches, nthreads,
										   LinkPoll, &progress, &allocator);

		if (rc < 0)
			elog(ERROR, "could not link the nodes of an hnsw graph");
		if (rc == 1)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	if (report_progress)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE,
									 VpGraphCount(graph));
	MemoryContextDelete(cxt);
}

/*
 * Restore a graph from a snapshot that matches the index, then walk the
 * chain once: each node whose item is there gets its code from the item's
 * payload (dead items too: deleted nodes stay stepping stones), a node
 * whose item is gone (its page recycled) is marked gone, and items past
 * the snapshot's watermark are staged as new nodes.  Everything the
 * snapshot says about the chain is checked against it on the way; on any
 * mismatch, or when most nodes turn out dead, the snapshot is rejected
 * (logged) and the caller builds from the pages.  Returns the graph, or NULL: rejected (*no_room false) or not
 * fitting the shared cache (*no_room true).  *gone: nodes newly gone.
 */
static VpGraph *
LoadSnapshot(Relation index, VpHome *home, VpGraph *graph,
			 const VpMetaPageData *meta, VpSnapshotData *snap,
			 VpGraphMark *mark, bool *no_room, int32 *gone)
{
	const VpGraphParams *params = VpGraphGetParams(graph);
	VpChainReaderData reader;
	VpReadItem	item;
	uint64		wm_key = VpGraphMarkKey(&snap->mark);
	int32		count = snap->image_header.count;
	int32		next = 0;
	float	   *buf = VpVectorBuffer(meta->elem_kind, meta->dims);
	const char *why;

	*no_room = false;
	*gone = 0;
	if (snap->image_header.params.codes != params->codes ||
		snap->image_header.params.dims != params->dims ||
		snap->image_header.params.m != params->m ||
		snap->image_header.params.metric != params->metric)
	{
		VpSnapshotReject(index, "it was taken of a graph with other parameters");
		return NULL;
	}
	if (count > params->capacity)
	{
		VpGraphParams bigger = *params;

		bigger.capacity = count + count / 8 + 64;
		if (bigger.codes == VP_CODE_SPARSE)
			bigger.arena_bytes = params->arena_bytes / params->capacity *
				(uint64) bigger.capacity;
		graph = HomeLayout(home, &bigger, NULL);
		if (graph == NULL)
		{
			*no_room = true;
			return NULL;
		}
	}
	why = VpGraphImageRestore(graph, &snap->image_header, snap->image,
							  snap->image_bytes);
	if (why != NULL)
	{
		VpSnapshotReject(index, why);
		return NULL;
	}

	*mark = snap->mark;
	mark->items_seen = meta->items_appended;
	mark->vacuum_epoch = meta->vacuum_epoch;
	VpChainReaderInit(&reader, index, meta, InvalidBlockNumber, 0,
					  InvalidOffsetNumber, true);
	reader.dead_payloads = true;
	while (VpChainReaderNext(&reader, &item))
	{
		CHECK_FOR_INTERRUPTS();

		/* nodes before this item whose items are gone */
		while (next < count && VpGraphKey(graph, next) < item.key)
		{
			*gone += VpGraphMarkGone(graph, next++);
		}
		if (next < count && VpGraphKey(graph, next) == item.key &&
			(item.flags & VP_ITEM_DEAD) && !item.has_payload)
		{
			/* a dead item too large to read back (vppage.c): no code */
			VpGraphItem node_item;

			VpGraphGetItem(graph, next, &node_item);
			if (node_item.label != VpTidToLabel(&item.heap_tid) ||
				node_item.block != item.block)
			{
				VpChainReaderEnd(&reader);
				VpSnapshotReject(index, "a node does not match its item in the index");
				return NULL;
			}
			*gone += VpGraphMarkGone(graph, next++);
		}
		else if (next < count && VpGraphKey(graph, next) == item.key)
		{
			VpGraphItem node_item;

			VpGraphGetItem(graph, next, &node_item);
			if (node_item.label != VpTidToLabel(&item.heap_tid) ||
				node_item.block != item.block || !item.has_payload)
			{
				VpChainReaderEnd(&reader);
				VpSnapshotReject(index, "a node does not match its item in the index");
				return NULL;
			}
			{
				VpVector	v;

				VpPayloadToVector(&item.payload, &v, buf);
				if (!VpGraphSetCode(graph, next, &v))
				{
					VpChainReaderEnd(&reader);
					VpSnapshotReject(index, "a node's code could not be set");
					return NULL;
				}
			}
			if (item.flags & VP_ITEM_DEAD)
				VpGraphMarkDeleted(graph, next);
			next++;
		}
		else if (item.key <= wm_key)
		{
			/* absorbed when the snapshot was taken: it was dead then */
			if (!(item.flags & VP_ITEM_DEAD))
			{
				VpChainReaderEnd(&reader);
				VpSnapshotReject(index, "a live item absorbed before the snapshot has no node");
				return NULL;
			}
		}
		else if (!(item.flags & VP_ITEM_DEAD))
		{
			/* appended since the snapshot: a new node */
			graph = StageBuilt(home, graph, &item.payload, &item.heap_tid,
							   item.key, item.block, buf);
			if (graph == NULL)
			{
				VpChainReaderEnd(&reader);
				*no_room = true;
				return NULL;
			}
		}
		if (item.key > wm_key)
			AdvanceMark(mark, item.key, item.block, item.offnum);
	}
	VpChainReaderEnd(&reader);
	while (next < count)
	{
		*gone += VpGraphMarkGone(graph, next++);
	}
	if (MostlyDead(VpGraphCount(graph), VpGraphDeletedCount(graph)))
	{
		VpSnapshotReject(index, "most of its nodes are dead");
		return NULL;
	}
	return graph;
}

/*
 * Build (or load) the graph of an index from its pages into home.  Returns
 * false only when a shared graph does not fit; *graph_out is NULL for an
 * index that never held a value.  *mark and *report describe the result.
 */
static bool
BuildGraph(Relation index, VpHome *home, bool report_progress,
		   VpGraph **graph_out, VpGraphMark *mark, VpBuildReport *report)
{
	VpMetaPageData meta;
	instr_time	start,
				repair_start,
				elapsed;
	uint64		live;
	VpGraph    *graph = NULL;
	VpRepairStats repair;
	int32		gone = 0;
	int32		filled = 0;

	INSTR_TIME_SET_CURRENT(start);
	memset(report, 0, sizeof(VpBuildReport));
	memset(&repair, 0, sizeof(repair));
	report->origin = VP_ORIGIN_BUILT;
	VpReadMeta(index, &meta);
	live = meta.items_appended -
		Min(meta.items_appended, meta.items_dead + meta.items_recycled);

	memset(mark, 0, sizeof(VpGraphMark));
	mark->relfilenode = index->rd_node.relNode;
	mark->build_id = meta.build_id;
	mark->wm_block = InvalidBlockNumber;
	mark->items_seen = meta.items_appended;
	mark->vacuum_epoch = meta.vacuum_epoch;
	*graph_out = NULL;

	/* an index that never held a value has no dimensions, so no graph */
	if (meta.dims != 0)
	{
		VpGraphParams params = VpGraphParamsFor(index, &meta,
												live + live / 8 + 64);
		VpSnapshotData *snap;
		VpGraph    *empty;

		/* find out whether it fits before reading anything */
		empty = HomeLayout(home, &params, NULL);
		if (empty == NULL)
			return false;
		snap = VpSnapshotRead(index, &meta);
		if (snap != NULL)
		{
			bool		no_room;
			VpGraphMark loaded;

			graph = LoadSnapshot(index, home, empty, &meta, snap, &loaded,
								 &no_room, &gone);
			if (graph != NULL)
			{
				*mark = loaded;
				report->origin = VP_ORIGIN_LOADED;
				report->snapshot_saved_at = snap->saved_at;
				report->snapshot_bytes = snap->file_bytes;
				report->snapshot_current =
					VpGraphCount(graph) == snap->image_header.count &&
					VpGraphDeletedCount(graph) == snap->image_header.deleted_count;
			}
			VpSnapshotFree(snap);
			if (graph == NULL && no_room)
				return false;
			if (graph == NULL)
			{
				/* rejected: start again on a clean region */
				empty = HomeLayout(home, &params, NULL);
				if (empty == NULL)
					return false;
			}
		}
		if (graph == NULL)
		{
			VpChainReaderData reader;
			VpReadItem	item;
			float	   *buf = VpVectorBuffer(meta.elem_kind, meta.dims);

			graph = empty;
			VpChainReaderInit(&reader, index, &meta, InvalidBlockNumber, 0,
							  InvalidOffsetNumber, true);
			while (VpChainReaderNext(&reader, &item))
			{
				CHECK_FOR_INTERRUPTS();
				if (item.has_payload)
				{
					graph = StageBuilt(home, graph, &item.payload,
									   &item.heap_tid, item.key, item.block,
									   buf);
					if (graph == NULL)
					{
						VpChainReaderEnd(&reader);
						return false;
					}
				}
				AdvanceMark(mark, item.key, item.block, item.offnum);
			}
			VpChainReaderEnd(&reader);
			pfree(buf);
		}
		if (report_progress)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
										 VpGraphCount(graph));

		/*
		 * A load that found nodes gone (VACUUM recycled their items since
		 * the snapshot) first fills the holes they left in the lists, before
		 * the nodes staged since the snapshot search the graph for their
		 * neighbours, and then gets the check for weakly listed nodes as a
		 * build does (filling holes re-selects lists, which can drop any of
		 * their entries).
		 */
		if (gone > 0)
		{
			RepairGraph(index, graph, VP_REPAIR_GONE, &repair);
			filled = repair.repaired;
		}
		LinkAll(graph, BuildThreads(VpGraphCount(graph)), report_progress);
		INSTR_TIME_SET_CURRENT(repair_start);
		RepairGraph(index, graph,
					report->origin == VP_ORIGIN_BUILT || gone > 0 ?
					VP_REPAIR_WEAK : 0, &repair);
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, repair_start);
		report->repair_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	}

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	report->build_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	report->repaired = filled + repair.repaired;
	report->unreachable = repair.remaining;
	*graph_out = graph;
	return true;
}

/* ------------------------------------------------------------------------
 * Private graphs
 * ------------------------------------------------------------------------
 */

/*
 * A relcache invalidation: the private graph of that index (of every
 * index, for a full one) is checked for a dropped index at the next use.
 */
static void
PrivateInvalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	VpPrivateGraph *entry;

	(void) arg;
	if (private_graphs == NULL)
		return;
	if (OidIsValid(relid))
	{
		entry = hash_search(private_graphs, &relid, HASH_FIND, NULL);
		if (entry != NULL)
			entry->check = true;
		return;
	}
	hash_seq_init(&status, private_graphs);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->check = true;
}

/*
 * Free the private graphs of indexes that no longer exist: another backend
 * dropped them (this one saw only the invalidation).
 */
static void
SweepPrivate(void)
{
	HASH_SEQ_STATUS status;
	VpPrivateGraph *entry;
	List	   *gone = NIL;
	ListCell   *lc;

	if (private_graphs == NULL)
		return;
	hash_seq_init(&status, private_graphs);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!entry->check)
			continue;
		entry->check = false;
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->indexoid)))
			gone = lappend_oid(gone, entry->indexoid);
	}
	foreach(lc, gone)
		VpForgetLocalGraph(lfirst_oid(lc));
	list_free(gone);
}

/*
 * At commit, free the private graphs of indexes dropped meanwhile, so
 * that a session that never opens a graph again does not keep them for
 * its lifetime (the relcache invalidation arrives at the start of its
 * next transaction; catalog lookups need one that is still open).
 */
static void
PrivateXactCallback(XactEvent event, void *arg)
{
	(void) arg;
	if (event == XACT_EVENT_PRE_COMMIT)
		SweepPrivate();
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
		if (!private_callback_registered)
		{
			CacheRegisterRelcacheCallback(PrivateInvalidate, (Datum) 0);
			RegisterXactCallback(PrivateXactCallback, NULL);
			private_callback_registered = true;
		}
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

/*
 * Build a private graph from scratch (or a snapshot).
 */
static void
BuildPrivate(Relation index, VpPrivateGraph *entry, bool report_progress)
{
	VpHome		home;
	VpGraph    *graph;
	VpBuildReport report;

	/* forget the old graph entirely before touching anything */
	entry->valid = false;
	entry->generation++;
	if (entry->cxt != NULL)
		MemoryContextDelete(entry->cxt);
	entry->cxt = AllocSetContextCreate(TopMemoryContext, "vecpersist graph",
									   ALLOCSET_DEFAULT_SIZES);
	entry->graph = NULL;
	entry->region_raw = NULL;

	memset(&home, 0, sizeof(home));
	home.entry = entry;
	BuildGraph(index, &home, report_progress, &graph, &entry->mark, &report);
	entry->graph = graph;
	entry->valid = true;
	LogBuild(index, graph, &report, false);
}

/*
 * Insert one live item into a private graph, growing it when full.
 */
static void
InsertPrivate(VpPrivateGraph *entry, const VpPayload *payload,
			  ItemPointer heap_tid, uint64 key, BlockNumber block)
{
	VpVector	v;
	VpGraphItem item;
	float	   *buf = VpVectorBuffer(payload->kind, payload->dims);

	VpPayloadToVector(payload, &v, buf);
	item.label = VpTidToLabel(heap_tid);
	item.key = key;
	item.block = block;
	for (;;)
	{
		VpGraphParams params;

		switch (VpGraphInsert(entry->graph, InsertScratch(entry->graph), &v,
							  &item, NULL))
		{
			case VP_GRAPH_INSERTED:
				pfree(buf);
				return;
			case VP_GRAPH_INVALID:
				elog(ERROR, "could not insert into a private hnsw graph");
				break;
			case VP_GRAPH_FULL:
				break;
		}
		params = GrownParams(entry->graph, false);
		PrivateLayout(entry, &params, entry->graph);
	}
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
			action = CompareMark(index, &entry->mark,
								 entry->graph ? (int) VpGraphGetParams(entry->graph)->codes : -1,
								 VpGraphCount(entry->graph),
								 VpGraphDeletedCount(entry->graph), meta);

		switch (action)
		{
			case VP_CATCHUP_NONE:
				return;
			case VP_CATCHUP_CREATE:
				{
					VpGraphParams params = VpGraphParamsFor(index, meta, 0);

					PrivateLayout(entry, &params, NULL);
					break;
				}
			case VP_CATCHUP_REBUILD:
				BuildPrivate(index, entry, false);
				return;
			case VP_CATCHUP_DELETIONS:
				{
					int64		nkeys;
					uint64		max_key;
					uint64		epoch;
					uint64	   *keys = CollectLiveKeys(index, &nkeys, &max_key, &epoch);
					VpRepairStats repair;

					MarkDeadByKeys(entry->graph, keys, nkeys, max_key);
					RepairGraph(index, entry->graph, 0, &repair);
					entry->mark.vacuum_epoch = Max(epoch, entry->mark.vacuum_epoch);
					pfree(keys);
					break;
				}
			case VP_CATCHUP_ABSORB:
				{
					VpChainReaderData reader;
					VpReadItem	item;
					uint64		wm_key = VpGraphMarkKey(&entry->mark);

					ReaderAfterMark(&reader, index, meta, &entry->mark, true);
					while (VpChainReaderNext(&reader, &item))
					{
						CHECK_FOR_INTERRUPTS();
						if (item.key <= wm_key)
							continue;
						if (item.has_payload)
							InsertPrivate(entry, &item.payload, &item.heap_tid,
										  item.key, item.block);
						AdvanceMark(&entry->mark, item.key, item.block,
									item.offnum);
					}
					VpChainReaderEnd(&reader);
					entry->mark.items_seen = Max(entry->mark.items_seen,
												 meta->items_appended);
					break;
				}
		}
	}
}

/* ------------------------------------------------------------------------
 * Shared graphs
 * ------------------------------------------------------------------------
 */

/*
 * Whether this is the session's first warning of its kind for an index
 * (then remembered): a warning per query would drown the log.
 */
static bool
FirstWarning(List **warned, Oid indexoid)
{
	MemoryContext oldcxt;

	if (list_member_oid(*warned, indexoid))
		return false;
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	*warned = lappend_oid(*warned, indexoid);
	MemoryContextSwitchTo(oldcxt);
	return true;
}

/*
 * Say that a graph does not fit in the shared cache: an ERROR for prewarm,
 * a WARNING (once per session and index) for a query, which goes on with
 * exact scans of the index pages.
 */
static void
ReportNoRoom(int elevel, Relation index, size_t needed, size_t free_bytes)
{
	if (elevel < ERROR &&
		!FirstWarning(&no_room_warned, RelationGetRelid(index)))
		return;
	ereport(elevel,
			(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
			 errmsg("hnsw graph of index \"%s\" does not fit in the shared graph cache",
					RelationGetRelationName(index)),
			 errdetail("The graph needs %zu bytes; the cache has %zu bytes, of which %zu are free.",
					   needed, VpCacheBudget(), free_bytes),
			 elevel >= ERROR ?
			 errhint("Increase vecpersist.cache_size and restart the server.") :
			 errhint("Increase vecpersist.cache_size and restart the server.  Until then queries of this index are answered by exact scans of its pages.")));
}

/*
 * Whether the index's storage was created by the current transaction
 * (CREATE INDEX, REINDEX, TRUNCATE, or a query's build of a graph for an
 * index created earlier in it): then its graph must go if the
 * (sub)transaction aborts, whoever built it, or the cache would keep a
 * graph of pages that never existed.
 */
static bool
StorageIsNew(Relation index)
{
	return index->rd_createSubid != InvalidSubTransactionId ||
		index->rd_firstRelfilenodeSubid != InvalidSubTransactionId;
}

/*
 * Build (or load) the graph of a slot we are building, in place, and
 * publish it; on success the slot is READY and pinned for us.  If it does
 * not fit, the slot is given up and false returned (prewarm errors out
 * instead).  ddl: called by ambuild (CREATE INDEX and the like), whose
 * transaction wrote the pages: progress is reported, and the graph goes
 * if it aborts, as it does when a query builds the graph of an index
 * whose storage is new in this transaction.
 */
static bool
BuildShared(Relation index, VpCacheSlot *slot, bool prewarm, bool ddl)
{

	VpHome		home;
	VpGraph    *graph = NULL;
	VpGraphMark mark;
	VpBuildReport report;
	bool		fits;

	memset(&home, 0, sizeof(home));
	home.slot = slot;
	PG_TRY();
	{
		fits = BuildGraph(index, &home, ddl, &graph, &mark, &report);
	}
	PG_CATCH();
	{
		VpCacheAbandon(slot);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (!fits)
	{
		VpCacheAbandon(slot);
		ReportNoRoom(prewarm ? ERROR : WARNING, index, home.needed,
					 home.free_bytes);
		return false;
	}
	VpCachePublish(slot, &mark, &report, index->rd_node.spcNode,
				   ddl || StorageIsNew(index));
	LogBuild(index, graph, &report, true);
	if (report.origin == VP_ORIGIN_BUILT)
		VpCacheWakeWriter();
	VpForgetLocalGraph(RelationGetRelid(index));
	return true;
}

/*
 * Link nodes staged for a shared graph, one region hold per node so that
 * growth never waits for a whole batch.  A node another linker claimed is
 * left to it.
 */
static void
LinkStagedShared(VpCacheSlot *slot, uint64 incarnation, const VpNodeId *nodes,
				 int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		VpGraph    *graph = VpCacheLinkBegin(slot, incarnation);

		if (graph == NULL)
			return;
		VpGraphLinkNode(graph, InsertScratch(graph), nodes[i]);
		VpCacheLinkEnd(slot);
	}
}

/*
 * Wait until the node of key is linked, linking it ourselves if nobody has
 * claimed it: an insert returns only once its row is findable.  Returns
 * early if the graph was replaced (the rebuild has the row).
 */
static void
EnsureLinked(VpCacheSlot *slot, uint64 incarnation, uint64 key)
{
	VpNodeId	node = VP_INVALID_NODE;

	for (;;)
	{
		VpGraph    *graph = VpCacheLinkBegin(slot, incarnation);
		bool		done;

		if (graph == NULL)
			return;
		if (node == VP_INVALID_NODE)
			node = VpGraphFindKey(graph, key);
		done = node == VP_INVALID_NODE || VpGraphIsLinked(graph, node) ||
			VpGraphLinkNode(graph, InsertScratch(graph), node) != 0;
		VpCacheLinkEnd(slot);
		if (done)
			return;
		/* another backend is linking it right now: a millisecond at most */
		pg_usleep(100);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Read up to a batch of items of the chain into memory (batch context),
 * continuing the reader.  Returns the number read; *done is set at the
 * end of what the reader was asked to read.
 */
static int
ReadBatch(VpChainReader reader, VpPendingItem *items, bool *done)
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
		items[n].live = item.has_payload;
		if (item.has_payload)
		{
			void	   *copy = palloc(item.payload.len);

			memcpy(copy, item.payload.data, item.payload.len);
			items[n].payload = item.payload;
			items[n].payload.data = copy;
			bytes += item.payload.len;
		}
		n++;
	}
	return n;
}

/*
 * Absorb the items appended after a shared graph's watermark: read a
 * batch with no lock of ours held, stage it under the absorb lock (items
 * another backend staged meanwhile are skipped: keys grow along the
 * chain), then link outside it.
 */
static VpSharedCatchUp
AbsorbShared(Relation index, VpCacheSlot *slot, uint64 incarnation,
			 const VpMetaPageData *meta)
{
	VpChainReaderData reader;
	VpPendingItem *items;
	VpNodeId   *staged;
	MemoryContext batchcxt;
	MemoryContext oldcxt;
	VpGraphMark mark;
	VpSharedCatchUp result = VP_SHARED_CURRENT;
	float	   *buf = VpVectorBuffer(meta->elem_kind, meta->dims);
	bool		done = false;

	VpCacheGetMark(slot, &mark);
	if (mark.items_seen >= meta->items_appended)
		return VP_SHARED_CURRENT;

	batchcxt = AllocSetContextCreate(CurrentMemoryContext,
									 "vecpersist catch-up",
									 ALLOCSET_DEFAULT_SIZES);
	items = palloc(sizeof(VpPendingItem) * VP_ABSORB_BATCH_ITEMS);
	staged = palloc(sizeof(VpNodeId) * VP_ABSORB_BATCH_ITEMS);
	ReaderAfterMark(&reader, index, meta, &mark, true);
	while (!done && result == VP_SHARED_CURRENT)
	{
		VpGraph    *graph;
		VpGraphMark now;
		int			n;
		int			nstaged = 0;
		int			i;

		oldcxt = MemoryContextSwitchTo(batchcxt);
		n = ReadBatch(&reader, items, &done);
		MemoryContextSwitchTo(oldcxt);

		if (!VpCacheAbsorbBegin(slot, incarnation, &graph, &now))
		{
			result = VP_SHARED_GONE;
			break;
		}
		if (graph == NULL && n > 0)
		{
			VpGraphParams params = VpGraphParamsFor(index, meta, 0);

			if (!VpCacheAbsorbCreate(slot, &params, &graph))
			{
				result = VP_SHARED_GONE;
				break;
			}
		}
		for (i = 0; i < n; i++)
		{
			VpPendingItem *it = &items[i];

			if (it->key <= VpGraphMarkKey(&now))
				continue;		/* another backend staged it */
			if (it->live)
			{
				VpVector	v;
				VpGraphItem gitem;
				VpGraphInsertResult r;

				VpPayloadToVector(&it->payload, &v, buf);
				gitem.label = VpTidToLabel(&it->heap_tid);
				gitem.key = it->key;
				gitem.block = it->block;
				while ((r = VpGraphStage(graph, &v, &gitem, &staged[nstaged])) ==
					   VP_GRAPH_FULL)
				{
					if (!VpCacheAbsorbGrow(slot, &graph))
						break;
				}
				if (r == VP_GRAPH_FULL)
				{
					/* no room to grow: the graph was dropped, lock released */
					result = VP_SHARED_GONE;
					break;
				}
				if (r != VP_GRAPH_INSERTED)
				{
					VpCacheAbsorbEnd(slot, NULL, nstaged);
					elog(ERROR, "could not stage a value into the shared hnsw graph");
				}
				nstaged++;
			}
			AdvanceMark(&now, it->key, it->block, it->offnum);
		}
		if (result != VP_SHARED_CURRENT)
			break;
		if (done)
			now.items_seen = Max(now.items_seen, meta->items_appended);
		VpCacheAbsorbEnd(slot, &now, nstaged);
		LinkStagedShared(slot, incarnation, staged, nstaged);
		MemoryContextReset(batchcxt);
	}
	VpChainReaderEnd(&reader);
	MemoryContextDelete(batchcxt);
	pfree(items);
	pfree(staged);
	pfree(buf);
	return result;
}

/*
 * Apply VACUUM's deletions to a shared graph: one backend walks the chain
 * collecting the live keys (no lock of ours held) and marks what died,
 * the others wait for it instead of walking too.  Deleted nodes are marked
 * with the region held in share mode, so that a growth copy cannot lose a
 * mark.
 */
static VpSharedCatchUp
ApplyDeletionsShared(Relation index, VpCacheSlot *slot, uint64 incarnation,
					 uint64 epoch)
{
	VpRepairStats repair;
	uint64		walked_epoch = 0;

	switch (VpCacheClaimDeletions(slot, incarnation, epoch))
	{
		case VP_DELETIONS_DONE:
			return VP_SHARED_CURRENT;
		case VP_DELETIONS_GONE:
			return VP_SHARED_GONE;
		case VP_DELETIONS_OURS:
			break;
	}
	PG_TRY();
	{
		int64		nkeys;
		uint64		max_key;
		uint64	   *keys = CollectLiveKeys(index, &nkeys, &max_key,
										   &walked_epoch);
		VpGraph    *graph = VpCacheLinkBegin(slot, incarnation);

		if (graph == NULL)
		{
			VpCacheFinishDeletions(slot, 0, false, NULL);
			pfree(keys);
			return VP_SHARED_GONE;
		}
		MarkDeadByKeys(graph, keys, nkeys, max_key);
		RepairGraph(index, graph, 0, &repair);
		VpCacheLinkEnd(slot);
		pfree(keys);
	}
	PG_CATCH();
	{
		VpCacheFinishDeletions(slot, 0, false, NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
	VpCacheFinishDeletions(slot, walked_epoch, true, &repair);
	return VP_SHARED_CURRENT;
}

/*
 * Bring a pinned shared graph up to the metapage.
 */
static VpSharedCatchUp
CatchUpShared(Relation index, VpCacheSlot *slot, uint64 incarnation,
			  const VpMetaPageData *meta)
{
	for (;;)
	{
		VpGraphMark mark;
		int32		count;
		int32		deleted;
		int			codes;
		VpSharedCatchUp result = VP_SHARED_CURRENT;

		if (!VpCacheGraphState(slot, incarnation, &mark, &count, &deleted,
							   &codes))
			return VP_SHARED_GONE;
		switch (CompareMark(index, &mark, codes, count, deleted, meta))
		{
			case VP_CATCHUP_NONE:
				return VP_SHARED_CURRENT;
			case VP_CATCHUP_REBUILD:
				return VP_SHARED_REBUILD;
			case VP_CATCHUP_CREATE:
			case VP_CATCHUP_ABSORB:
				result = AbsorbShared(index, slot, incarnation, meta);
				break;
			case VP_CATCHUP_DELETIONS:
				result = ApplyDeletionsShared(index, slot, incarnation,
											  meta->vacuum_epoch);
				break;
		}
		if (result != VP_SHARED_CURRENT)
			return result;
	}
}

/* ------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------
 */

/*
 * Open the graph of an index for searching, current with its pages, built
 * (or loaded) on first use.  ref->graph is NULL while the index has never
 * held a value; ref->exact is set when no graph can be had (it does not
 * fit, every slot is taken, or another session is still building it past
 * vecpersist.build_wait): the caller then scans the pages exactly.  The
 * graph may be used until VpGraphUnlock; between windows of one scan,
 * VpGraphRelock gets it back (or says it changed).  VpGraphClose ends the
 * use.  prewarm: wait for any build, and error out rather than fall back.
 */
void
VpGraphOpen(Relation index, VpGraphRef *ref, bool prewarm)
{
	Oid			indexoid = RelationGetRelid(index);
	VpMetaPageData meta;
	VpPrivateGraph *entry;

	memset(ref, 0, sizeof(VpGraphRef));
	ref->interrupt_check = GraphInterruptCheck;
	ref->indexoid = indexoid;
	SweepPrivate();
	VpReadMeta(index, &meta);

	if (VpCacheAvailable())
	{
		int			rebuilds = 0;

		for (;;)
		{
			VpCacheSlot *slot;
			uint64		incarnation;

			switch (VpCacheAcquire(indexoid, true, prewarm ? -1 : vp_build_wait,
								   &slot, &incarnation))
			{
				case VP_ACQUIRE_READY:
					break;
				case VP_ACQUIRE_BUILD:
					if (!BuildShared(index, slot, prewarm, false))
					{
						VpCacheNoteNoRoom();
						ref->exact = true;
						return;
					}
					break;
				case VP_ACQUIRE_NO_SLOT:
					if (prewarm || FirstWarning(&no_slot_warned, indexoid))
						ereport(prewarm ? ERROR : WARNING,
								(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
								 errmsg("every slot of the shared hnsw graph cache is in use"),
								 errhint("Increase vecpersist.cache_max_graphs and restart the server.  Until then queries of index \"%s\" are answered by exact scans of its pages.",
										 RelationGetRelationName(index))));
					VpCacheNoteNoRoom();
					ref->exact = true;
					return;
				case VP_ACQUIRE_BUSY:
					if (!busy_noticed)
					{
						busy_noticed = true;
						ereport(NOTICE,
								(errmsg("hnsw graph of index \"%s\" is being built by another session; answering from an exact scan of the index",
										RelationGetRelationName(index)),
								 errhint("Results are exact.  Set vecpersist.build_wait to -1 to wait for the graph instead.")));
					}
					VpCacheNoteNoRoom();
					ref->exact = true;
					return;
				case VP_ACQUIRE_ABSENT:
					elog(ERROR, "unexpected result of a graph cache lookup");
			}

			switch (CatchUpShared(index, slot, incarnation, &meta))
			{
				case VP_SHARED_CURRENT:
					ref->slot = slot;
					ref->incarnation = incarnation;
					ref->graph = VpCacheReadBegin(slot, incarnation);
					ref->reading = ref->graph != NULL;
					if (!prewarm)
						VpCacheNoteSearch(slot);
					return;
				case VP_SHARED_REBUILD:

					/*
					 * A graph just built is current; one that is not again
					 * and again means the pages keep changing under us (or
					 * a bug): answer exactly rather than loop.
					 */
					if (++rebuilds > VP_MAX_REBUILDS_PER_OPEN)
					{
						VpCacheRelease(slot);
						ereport(prewarm ? ERROR : LOG,
								(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
								 errmsg("hnsw graph of index \"%s\" was out of date after %d rebuilds",
										RelationGetRelationName(index), rebuilds - 1),
								 errdetail("The query is answered by an exact scan of the index.")));
						ref->exact = true;
						return;
					}
					if (VpCacheStartRebuild(slot, incarnation))
					{
						bool		built = BuildShared(index, slot, prewarm, false);

						/* the rebuild's slot was pinned twice now */
						VpCacheRelease(slot);
						if (!built)
						{
							VpCacheNoteNoRoom();
							ref->exact = true;
							return;
						}
						VpCacheRelease(slot);
					}
					else
						VpCacheRelease(slot);
					break;
				case VP_SHARED_GONE:
					VpCacheRelease(slot);
					break;
			}
		}
	}

	if (prewarm)
		VpRequireCache();
	if (!no_preload_noticed)
	{
		no_preload_noticed = true;
		ereport(NOTICE,
				(errmsg("vecpersist is not in shared_preload_libraries, so each session builds its own copy of an hnsw graph"),
				 errhint("Add vecpersist to shared_preload_libraries and restart the server to share one graph per index among all sessions.")));
	}
	entry = LookupPrivate(indexoid, true);
	CatchUpPrivate(index, entry, &meta);
	ref->slot = NULL;
	ref->incarnation = entry->generation;
	ref->graph = entry->graph;
}

/*
 * Get an opened graph back for the next search window.  Returns false if
 * it was replaced or dropped since (its node ids mean nothing now).  A
 * shared graph that grew meanwhile is found in its new region, with the
 * same ids.
 */
bool
VpGraphRelock(VpGraphRef *ref)
{
	Assert(!ref->reading);
	if (ref->slot != NULL)
	{
		ref->graph = VpCacheReadBegin(ref->slot, ref->incarnation);
		ref->reading = ref->graph != NULL;
		return ref->reading;
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
 * Let go of the graph between search windows (no reference is held across
 * amgettuple calls, so a replaced region is freed promptly).
 */
void
VpGraphUnlock(VpGraphRef *ref)
{
	if (ref->reading)
		VpCacheReadEnd(ref->slot);
	ref->reading = false;
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
 * It goes into the shared cache when that has room (or nowhere: queries
 * then scan the pages exactly).
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
													true, -1, &slot,
													&incarnation);

			if (result == VP_ACQUIRE_READY)
			{
				if (!VpCacheStartRebuild(slot, incarnation))
				{
					VpCacheRelease(slot);
					continue;
				}
				VpCacheRelease(slot);
			}
			if (result == VP_ACQUIRE_NO_SLOT)
				return;
			/* the slot is ours to build */
			if (BuildShared(index, slot, false, true))
				VpCacheRelease(slot);
			return;
		}
	}

	entry = LookupPrivate(RelationGetRelid(index), true);
	BuildPrivate(index, entry, true);
}

/*
 * An item was just appended (aminsert): if a graph of the index is cached,
 * give it the item now, and return once its node is linked, so that the
 * row is findable as soon as it is committed.  Never builds a graph.
 */
void
VpGraphTakeAppended(Relation index, const VpAppendResult *appended,
					const VpPayload *payload, ItemPointer heap_tid)
{
	VpPrivateGraph *entry = LookupPrivate(RelationGetRelid(index), false);
	VpCacheSlot *slot;
	uint64		incarnation;
	VpGraph    *graph;
	VpGraphMark mark;

	if (entry != NULL && entry->valid)
	{
		if (entry->graph != NULL &&
			entry->mark.relfilenode == index->rd_node.relNode &&
			entry->mark.build_id == appended->build_id &&
			entry->mark.items_seen == appended->ordinal - 1)
		{
			InsertPrivate(entry, payload, heap_tid, appended->key,
						  appended->block);
			AdvanceMark(&entry->mark, appended->key, appended->block,
						appended->offnum);
			entry->mark.items_seen = appended->ordinal;
		}
		else
		{
			VpMetaPageData meta;

			VpReadMeta(index, &meta);
			CatchUpPrivate(index, entry, &meta);
		}
		return;
	}

	if (!VpCacheAvailable() ||
		VpCacheAcquire(RelationGetRelid(index), false, 0, &slot,
					   &incarnation) != VP_ACQUIRE_READY)
		return;
	if (!VpCacheAbsorbBegin(slot, incarnation, &graph, &mark))
	{
		VpCacheRelease(slot);
		return;
	}
	if (mark.relfilenode != index->rd_node.relNode ||
		mark.build_id != appended->build_id)
	{
		/* a stale graph: the next scan rebuilds it */
		VpCacheAbsorbEnd(slot, NULL, 0);
		VpCacheRelease(slot);
		return;
	}
	if (graph != NULL && mark.items_seen == appended->ordinal - 1)
	{
		VpVector	v;
		VpGraphItem item;
		VpGraphInsertResult r;
		float	   *buf = VpVectorBuffer(payload->kind, payload->dims);

		VpPayloadToVector(payload, &v, buf);
		item.label = VpTidToLabel(heap_tid);
		item.key = appended->key;
		item.block = appended->block;
		while ((r = VpGraphStage(graph, &v, &item, NULL)) == VP_GRAPH_FULL)
		{
			if (!VpCacheAbsorbGrow(slot, &graph))
			{
				/* dropped for lack of room; the lock went with it */
				VpCacheRelease(slot);
				return;
			}
		}
		if (r != VP_GRAPH_INSERTED)
		{
			VpCacheAbsorbEnd(slot, NULL, 0);
			elog(ERROR, "could not stage a value into the shared hnsw graph");
		}
		AdvanceMark(&mark, appended->key, appended->block, appended->offnum);
		mark.items_seen = appended->ordinal;
		VpCacheAbsorbEnd(slot, &mark, 1);
	}
	else
	{
		bool		before = mark.items_seen >= appended->ordinal;

		VpCacheAbsorbEnd(slot, NULL, 0);
		if (!before)
		{
			VpMetaPageData meta;

			/* items before ours are not in yet: catch up like a scan */
			VpReadMeta(index, &meta);
			if (CatchUpShared(index, slot, incarnation, &meta) != VP_SHARED_CURRENT)
			{
				VpCacheRelease(slot);
				return;
			}
		}
	}
	EnsureLinked(slot, incarnation, appended->key);
	VpCacheRelease(slot);
}

/*
 * VACUUM is about to announce the items it flagged (the metapage's vacuum
 * epoch goes from epoch_before to epoch_before + 1): if the index's
 * shared graph reflects epoch_before, claim its deletions, so that no scan
 * starts a deletion pass of its own meanwhile.  Returns a handle for
 * VpVacuumDeletionsEnd, or NULL (nothing to do here; scans catch up).
 */
void *
VpVacuumDeletionsBegin(Relation index, uint64 epoch_before)
{
	VpCacheSlot *slot;
	uint64		incarnation;
	VpGraphMark mark;
	VpVacuumHandle *handle;

	if (!VpCacheAvailable() ||
		VpCacheAcquire(RelationGetRelid(index), false, 0, &slot,
					   &incarnation) != VP_ACQUIRE_READY)
		return NULL;
	VpCacheGetMark(slot, &mark);
	if (mark.relfilenode != index->rd_node.relNode ||
		mark.vacuum_epoch != epoch_before ||
		VpCacheClaimDeletions(slot, incarnation, epoch_before + 1) !=
		VP_DELETIONS_OURS)
	{
		VpCacheRelease(slot);
		return NULL;
	}
	handle = palloc(sizeof(VpVacuumHandle));
	handle->index = index;
	handle->slot = slot;
	handle->incarnation = incarnation;
	return handle;
}

/*
 * Mark the nodes of the keys VACUUM flagged (ascending) deleted, check
 * reachability, and record that the graph reflects epoch_after.  Nodes
 * are found by binary search of their keys (ids follow chain order).
 */
void
VpVacuumDeletionsEnd(void *handle, const uint64 *keys, int64 nkeys,
					 uint64 epoch_after)
{
	VpVacuumHandle *h = (VpVacuumHandle *) handle;
	VpGraph    *graph;
	VpRepairStats repair;
	bool		applied = false;

	memset(&repair, 0, sizeof(repair));
	graph = VpCacheLinkBegin(h->slot, h->incarnation);
	if (graph != NULL)
	{
		int64		i;

		for (i = 0; i < nkeys; i++)
		{
			VpNodeId	node = VpGraphFindKey(graph, keys[i]);

			if (node != VP_INVALID_NODE)
				VpGraphMarkDeleted(graph, node);
		}
		applied = true;
		VpCacheLinkEnd(h->slot);
		graph = VpCacheLinkBegin(h->slot, h->incarnation);
		if (graph != NULL)
		{
			RepairGraph(h->index, graph, 0, &repair);
			VpCacheLinkEnd(h->slot);
		}
	}
	VpCacheFinishDeletions(h->slot, epoch_after, applied,
						   applied ? &repair : NULL);
	VpCacheRelease(h->slot);
	pfree(h);
}

/* ------------------------------------------------------------------------
 * For the verifier (vpcheck.c)
 * ------------------------------------------------------------------------
 */

/*
 * VpGraphOpenIfCached
 *		Open the shared graph of an index for vecpersist_check(), only if
 *		one is already cached and READY: never build, load or rebuild one
 *		just to check it.  A graph found is first brought current with the
 *		metapage as a scan would (new items absorbed, VACUUM's deletions
 *		applied), so that it can be compared with the pages read after the
 *		caller's own metapage read.  Returns false, with nothing held, when
 *		there is no shared cache, no ready graph (absent, being built), no
 *		graph because the index never held a value, or a graph so stale
 *		that a scan would rebuild it.  On true, ref->graph stays readable
 *		until VpGraphClose and *mark is what the graph reflected just after
 *		catching up.
 */
bool
VpGraphOpenIfCached(Relation index, VpGraphRef *ref, struct VpGraphMark *mark)
{
	VpMetaPageData meta;
	VpCacheSlot *slot;
	uint64		incarnation;

	memset(ref, 0, sizeof(VpGraphRef));
	ref->interrupt_check = GraphInterruptCheck;
	ref->indexoid = RelationGetRelid(index);
	if (!VpCacheAvailable())
		return false;
	VpReadMeta(index, &meta);
	if (VpCacheAcquire(ref->indexoid, false, 0, &slot, &incarnation) !=
		VP_ACQUIRE_READY)
		return false;
	if (CatchUpShared(index, slot, incarnation, &meta) != VP_SHARED_CURRENT)
	{
		VpCacheRelease(slot);
		return false;
	}
	ref->slot = slot;
	ref->incarnation = incarnation;
	ref->graph = VpCacheReadBegin(slot, incarnation);
	ref->reading = ref->graph != NULL;
	if (ref->graph == NULL)
	{
		VpGraphClose(ref);
		return false;
	}
	VpCacheGetMark(slot, mark);
	return true;
}
