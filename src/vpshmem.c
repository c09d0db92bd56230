/*-------------------------------------------------------------------------
 *
 * vpshmem.c
 *	  The shared graph cache: shared memory, the directory of graphs, their
 *	  life cycle, eviction, and the views of it.
 *
 * Under shared_preload_libraries, the request hook reserves two pieces of
 * the main shared memory segment: the directory (a header and
 * vecpersist.cache_max_graphs slots) and the graph memory
 * (vecpersist.cache_size bytes), in which the startup hook creates a DSA
 * area in place with its size limit set to that size.  Graph regions are
 * position independent, so every backend searches them where its mapping
 * of the area puts them.  Nothing here needs /dev/shm, and both pieces show
 * up in pg_shmem_allocations.
 *
 * A slot goes FREE -> BUILDING (one backend builds from the pages, others
 * wait on the slot's condition variable) -> READY, and back to BUILDING for
 * a rebuild or to FREE when evicted or dropped.  Each time its graph is
 * replaced its incarnation changes, which is how scans notice that the
 * node ids they hold mean nothing any more.  Scans pin a slot while they
 * use it; only unpinned READY slots are evicted, least recently used
 * first.  A backend's pins and builds are released at transaction end and
 * at exit, so an error or a FATAL never leaves a slot stuck.  A graph built
 * by a transaction that aborts (CREATE INDEX, REINDEX) is dropped.
 *
 * This file also owns the hooks (shared memory, object access) and the
 * SQL functions that show the cache.
 *
 * IDENTIFICATION
 *	  src/vpshmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "vecpersist.h"
#include "vpshmem.h"

#define VP_DEFAULT_CACHE_SIZE_MB	256
#define VP_DEFAULT_CACHE_MAX_GRAPHS	1024
#define VP_REGION_ALIGN				64

/* The directory, in the main shared memory segment */
typedef struct VpCacheShared
{
	LWLock	   *lock;			/* the directory lock */
	int			nslots;
	size_t		budget;			/* bytes of the DSA area */
	size_t		used_bytes;		/* graph regions allocated */
	uint64		evictions;
	uint64		fallbacks;
	VpCacheSlot slots[FLEXIBLE_ARRAY_MEMBER];
} VpCacheShared;

/* A build this transaction made, dropped again if it aborts */
typedef struct VpOwnBuild
{
	VpCacheSlot *slot;
	uint64		incarnation;
} VpOwnBuild;

/* GUC variables */
int			vp_cache_size_mb = VP_DEFAULT_CACHE_SIZE_MB;
int			vp_cache_max_graphs = VP_DEFAULT_CACHE_MAX_GRAPHS;

static VpCacheShared *cache = NULL;
static void *cache_place = NULL;	/* the DSA area's memory */
static dsa_area *cache_area = NULL; /* this backend's attachment */
static int *local_pins = NULL;	/* this backend's pins per slot */
static int	local_held = 0;		/* pins plus builds of this backend */
static List *own_builds = NIL;	/* in TopMemoryContext */
static bool exit_callback_registered = false;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static object_access_hook_type prev_object_access_hook = NULL;
#if VP_HAVE_SHMEM_REQUEST_HOOK
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif

static void FreeSlotLocked(VpCacheSlot *slot);
static void EndFailedBuildLocked(VpCacheSlot *slot);

static Size
DirectorySize(void)
{
	return add_size(offsetof(VpCacheShared, slots),
					mul_size(vp_cache_max_graphs, sizeof(VpCacheSlot)));
}

static Size
AreaSize(void)
{
	return mul_size((Size) vp_cache_size_mb, 1024 * 1024);
}

/*
 * Reserve the directory, the graph memory and the locks.
 */
static void
VpShmemRequest(void)
{
#if VP_HAVE_SHMEM_REQUEST_HOOK
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(DirectorySize());
	RequestAddinShmemSpace(AreaSize());
	RequestNamedLWLockTranche("vecpersist", 1 + 2 * vp_cache_max_graphs);
}

/*
 * Create (postmaster, and after a crash restart) or find the directory and
 * the graph memory.  The cache always starts empty.
 */
static void
VpShmemStartup(void)
{
	bool		found_dir;
	bool		found_area;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	cache = NULL;
	cache_place = NULL;
	cache_area = NULL;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	cache = ShmemInitStruct("vecpersist graph directory", DirectorySize(),
							&found_dir);
	cache_place = ShmemInitStruct("vecpersist graph memory", AreaSize(),
								  &found_area);
	if (!found_dir)
	{
		LWLockPadded *locks = GetNamedLWLockTranche("vecpersist");
		dsa_area   *area;
		int			i;

		memset(cache, 0, DirectorySize());
		cache->lock = &locks[0].lock;
		cache->nslots = vp_cache_max_graphs;
		cache->budget = AreaSize();
		for (i = 0; i < cache->nslots; i++)
		{
			VpCacheSlot *slot = &cache->slots[i];

			slot->state = VP_SLOT_FREE;
			slot->lock = &locks[1 + 2 * i].lock;
			slot->writer_lock = &locks[2 + 2 * i].lock;
			SpinLockInit(&slot->mark_mutex);
			slot->region = InvalidDsaPointer;
			ConditionVariableInit(&slot->cv);
			pg_atomic_init_u32(&slot->pins, 0);
			pg_atomic_init_u64(&slot->searches, 0);
			pg_atomic_init_u64(&slot->last_used, 0);
		}

		/*
		 * The area's own locks share our tranche.  It never grows beyond the
		 * memory reserved for it, so it never creates DSM segments.
		 */
		area = dsa_create_in_place(cache_place, cache->budget,
								   cache->lock->tranche, NULL);
		dsa_set_size_limit(area, cache->budget);
		dsa_detach(area);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Release what this backend holds: pins, and builds it never finished.
 */
static void
ReleaseBackendState(void)
{
	int			i;

	if (cache == NULL || local_pins == NULL || local_held == 0)
		return;

	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	for (i = 0; i < cache->nslots; i++)
	{
		VpCacheSlot *slot = &cache->slots[i];

		if (local_pins[i] > 0)
			pg_atomic_fetch_sub_u32(&slot->pins, local_pins[i]);
		local_pins[i] = 0;
		/* a build dropped half-way: a waiter takes over */
		if (slot->state == VP_SLOT_BUILDING && slot->builder_pid == MyProcPid)
			EndFailedBuildLocked(slot);
	}
	LWLockRelease(cache->lock);
	local_held = 0;
}

static void
VpCacheExit(int code, Datum arg)
{
	(void) code;
	(void) arg;
	ReleaseBackendState();
}

/*
 * Drop a slot's graph and free the slot.  The caller holds the directory
 * lock exclusively and either holds the slot's lock exclusively or is the
 * slot's builder.
 */
static void
FreeSlotLocked(VpCacheSlot *slot)
{
	if (slot->region != InvalidDsaPointer)
	{
		dsa_free(cache_area, slot->region);
		cache->used_bytes -= slot->region_bytes;
	}
	slot->region = InvalidDsaPointer;
	slot->region_bytes = 0;
	slot->nodes = 0;
	slot->dead_nodes = 0;
	slot->state = VP_SLOT_FREE;
	slot->incarnation++;
}

/*
 * A build of ours ends without a graph: free the slot and wake the
 * waiters, one of whom takes over.  The caller holds the directory lock
 * exclusively.
 */
static void
EndFailedBuildLocked(VpCacheSlot *slot)
{
	FreeSlotLocked(slot);
	slot->builder_pid = 0;
	ConditionVariableBroadcast(&slot->cv);
}

/*
 * Transaction end: let go of pins (a scan that errored out never ended),
 * and drop the graphs that an aborted transaction built.
 */
static void
VpCacheXactCallback(XactEvent event, void *arg)
{
	ListCell   *lc;

	(void) arg;
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;

	ReleaseBackendState();
	if (event == XACT_EVENT_ABORT)
	{
		foreach(lc, own_builds)
		{
			VpOwnBuild *build = lfirst(lc);

			VpCacheForgetAbortedBuild(build->slot, build->incarnation);
		}
	}
	list_free_deep(own_builds);
	own_builds = NIL;
}

/*
 * DROP INDEX / DROP TABLE (also by cascade) free the index's graph, and
 * DROP DATABASE frees every graph of that database.  Dropped early, before
 * commit: if the transaction aborts, the graph is simply rebuilt.
 */
static void
VpObjectAccess(ObjectAccessType access, Oid classId, Oid objectId,
			   int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (access != OAT_DROP || subId != 0)
		return;
	if (classId == RelationRelationId)
	{
		VpForgetLocalGraph(objectId);
		if (VpCacheAvailable())
			VpCacheEvict(MyDatabaseId, objectId);
	}
	else if (classId == DatabaseRelationId && VpCacheAvailable())
		VpCacheEvict(objectId, InvalidOid);
}

/*
 * Called by _PG_init: the drop hook and the transaction callback always;
 * the cache's GUCs and the shared memory hooks under
 * shared_preload_libraries.
 */
void
VpShmemInit(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = VpObjectAccess;
	RegisterXactCallback(VpCacheXactCallback, NULL);

	/* PGC_POSTMASTER variables can only be defined while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("vecpersist.cache_size",
							"Sets the shared memory reserved for cached hnsw graphs.",
							"Graphs that do not fit are searched from a private copy per session.",
							&vp_cache_size_mb,
							VP_DEFAULT_CACHE_SIZE_MB, 1, INT_MAX / 2,
							PGC_POSTMASTER,
							GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("vecpersist.cache_max_graphs",
							"Sets the most hnsw graphs the shared cache holds at once.",
							NULL,
							&vp_cache_max_graphs,
							VP_DEFAULT_CACHE_MAX_GRAPHS, 1, 65536,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

#if VP_HAVE_SHMEM_REQUEST_HOOK
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = VpShmemRequest;
#else
	VpShmemRequest();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = VpShmemStartup;
}

/*
 * Is the shared cache there?  Attaches this backend to the graph memory on
 * first use.
 */
bool
VpCacheAvailable(void)
{
	MemoryContext oldcxt;

	if (cache == NULL)
		return false;
	if (cache_area != NULL)
		return true;

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	local_pins = palloc0(sizeof(int) * cache->nslots);
	cache_area = dsa_attach_in_place(cache_place, NULL);
	dsa_pin_mapping(cache_area);
	MemoryContextSwitchTo(oldcxt);
	if (!exit_callback_registered)
	{
		before_shmem_exit(VpCacheExit, 0);
		exit_callback_registered = true;
	}
	return true;
}

size_t
VpCacheBudget(void)
{
	return cache ? cache->budget : 0;
}

static VpCacheSlot *
FindSlotLocked(Oid dbid, Oid indexoid)
{
	int			i;

	for (i = 0; i < cache->nslots; i++)
	{
		VpCacheSlot *slot = &cache->slots[i];

		if (slot->state != VP_SLOT_FREE && slot->dbid == dbid &&
			slot->indexoid == indexoid)
			return slot;
	}
	return NULL;
}

/*
 * Evict the least recently used READY graph nobody uses, other than
 * except.  The caller holds the directory lock exclusively.  Returns false
 * if there was nothing to evict.
 */
static bool
EvictOneLocked(VpCacheSlot *except)
{
	int			tries;

	for (tries = 0; tries < cache->nslots; tries++)
	{
		VpCacheSlot *victim = NULL;
		uint64		oldest = PG_UINT64_MAX;
		int			i;

		for (i = 0; i < cache->nslots; i++)
		{
			VpCacheSlot *slot = &cache->slots[i];
			uint64		used;

			if (slot == except || slot->state != VP_SLOT_READY ||
				pg_atomic_read_u32(&slot->pins) > 0)
				continue;
			used = pg_atomic_read_u64(&slot->last_used);
			if (used < oldest)
			{
				oldest = used;
				victim = slot;
			}
		}
		if (victim == NULL)
			return false;

		/* a writer busy with it: it is in use after all, try another */
		if (!LWLockConditionalAcquire(victim->lock, LW_EXCLUSIVE))
		{
			pg_atomic_write_u64(&victim->last_used, GetCurrentTimestamp());
			continue;
		}
		ereport(DEBUG1,
				(errmsg("evicting hnsw graph of index %u in database %u from the shared cache",
						victim->indexoid, victim->dbid)));
		FreeSlotLocked(victim);
		LWLockRelease(victim->lock);
		cache->evictions++;
		return true;
	}
	return false;
}

/*
 * A slot for a new graph: a free one, else the least recently used unused
 * graph's.  NULL if every slot is in use.
 */
static VpCacheSlot *
ClaimSlotLocked(void)
{
	int			i;

	for (;;)
	{
		for (i = 0; i < cache->nslots; i++)
		{
			VpCacheSlot *slot = &cache->slots[i];

			if (slot->state == VP_SLOT_FREE &&
				pg_atomic_read_u32(&slot->pins) == 0)
				return slot;
		}
		if (!EvictOneLocked(NULL))
			return NULL;
	}
}

/*
 * Allocate a graph region of bytes, evicting unused graphs (other than
 * except) until it fits.  The caller holds the directory lock exclusively.
 * Returns InvalidDsaPointer if it cannot fit.
 */
static dsa_pointer
AllocateRegionLocked(size_t bytes, VpCacheSlot *except)
{
	dsa_pointer region = InvalidDsaPointer;

	if (bytes > cache->budget)
		return InvalidDsaPointer;
	for (;;)
	{
		region = dsa_allocate_extended(cache_area, bytes,
									   DSA_ALLOC_HUGE | DSA_ALLOC_NO_OOM);
		if (region != InvalidDsaPointer)
		{
			cache->used_bytes += bytes;
			return region;
		}
		if (!EvictOneLocked(except))
			return InvalidDsaPointer;
	}
}

static inline int
SlotIndex(VpCacheSlot *slot)
{
	return (int) (slot - cache->slots);
}

static void
PinLocked(VpCacheSlot *slot)
{
	pg_atomic_fetch_add_u32(&slot->pins, 1);
	local_pins[SlotIndex(slot)]++;
	local_held++;
}

/* Dropping a pin needs no lock: it only makes eviction more permissive */
static void
Unpin(VpCacheSlot *slot)
{
	int			i = SlotIndex(slot);

	if (local_pins[i] > 0)
	{
		local_pins[i]--;
		pg_atomic_fetch_sub_u32(&slot->pins, 1);
		local_held--;
	}
}

/*
 * Find or claim the slot of an index of this database.  Returns
 *	- VP_ACQUIRE_READY with the slot pinned and its incarnation, or
 *	- VP_ACQUIRE_BUILD: the slot is now BUILDING by us; build the graph and
 *	  hand it to VpCachePublish (or VpCacheAbandon), or
 *	- VP_ACQUIRE_NO_SLOT when every slot is in use, or
 *	- VP_ACQUIRE_ABSENT when build is false and no graph is ready.
 * Waits (interruptibly) while another backend builds the graph; if that
 * build fails, this backend may be the one that takes over.
 */
VpAcquireResult
VpCacheAcquire(Oid indexoid, bool build, VpCacheSlot **slot_out,
			   uint64 *incarnation)
{
	for (;;)
	{
		VpCacheSlot *slot;

		/* the common case, a ready graph, needs only a shared lock */
		LWLockAcquire(cache->lock, LW_SHARED);
		slot = FindSlotLocked(MyDatabaseId, indexoid);
		if (slot != NULL && slot->state == VP_SLOT_READY)
		{
			PinLocked(slot);
			*slot_out = slot;
			*incarnation = slot->incarnation;
			LWLockRelease(cache->lock);
			ConditionVariableCancelSleep();
			pg_atomic_write_u64(&slot->last_used, GetCurrentTimestamp());
			return VP_ACQUIRE_READY;
		}
		LWLockRelease(cache->lock);

		LWLockAcquire(cache->lock, LW_EXCLUSIVE);
		slot = FindSlotLocked(MyDatabaseId, indexoid);
		if (!build && (slot == NULL || slot->state != VP_SLOT_READY))
		{
			LWLockRelease(cache->lock);
			ConditionVariableCancelSleep();
			return VP_ACQUIRE_ABSENT;
		}
		if (slot == NULL)
		{
			slot = ClaimSlotLocked();
			if (slot == NULL)
			{
				cache->fallbacks++;
				LWLockRelease(cache->lock);
				ConditionVariableCancelSleep();
				return VP_ACQUIRE_NO_SLOT;
			}
			slot->dbid = MyDatabaseId;
			slot->indexoid = indexoid;
			slot->state = VP_SLOT_BUILDING;
			slot->builder_pid = MyProcPid;
			local_held++;
			slot->incarnation++;
			slot->builds = 0;
			slot->build_ms = 0;
			slot->built_at = 0;
			slot->absorbed = 0;
			slot->deletion_passes = 0;
			pg_atomic_write_u64(&slot->searches, 0);
			pg_atomic_write_u64(&slot->last_used, GetCurrentTimestamp());
			*slot_out = slot;
			*incarnation = slot->incarnation;
			LWLockRelease(cache->lock);
			ConditionVariableCancelSleep();
			return VP_ACQUIRE_BUILD;
		}
		if (slot->state == VP_SLOT_READY)
		{
			PinLocked(slot);
			*slot_out = slot;
			*incarnation = slot->incarnation;
			LWLockRelease(cache->lock);
			ConditionVariableCancelSleep();
			pg_atomic_write_u64(&slot->last_used, GetCurrentTimestamp());
			return VP_ACQUIRE_READY;
		}
		if (slot->builder_pid == MyProcPid)
			elog(ERROR, "hnsw graph of index %u is already being built by this backend",
				 indexoid);
		LWLockRelease(cache->lock);

		/* someone else builds it: wait for the broadcast, then look again */
		ConditionVariableSleep(&slot->cv, PG_WAIT_EXTENSION);
	}
}

/*
 * Unpin a slot.
 */
void
VpCacheRelease(VpCacheSlot *slot)
{
	Unpin(slot);
}

/*
 * Turn a READY slot whose graph is stale back into BUILDING by us, freeing
 * the old graph; scans still holding it see the incarnation change.  The
 * caller's pin moves over to the build.  Returns false if someone else got
 * there first (the caller then acquires the slot again).
 */
bool
VpCacheStartRebuild(VpCacheSlot *slot, uint64 incarnation)
{
	bool		ours = false;

	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	if (slot->state == VP_SLOT_READY && slot->incarnation == incarnation)
	{
		FreeSlotLocked(slot);
		slot->state = VP_SLOT_BUILDING;
		slot->builder_pid = MyProcPid;
		local_held++;
		ours = true;
	}
	Unpin(slot);
	LWLockRelease(cache->lock);
	LWLockRelease(slot->lock);
	return ours;
}

/*
 * Copy a graph built in backend memory into a slot we are building, make
 * it READY and pin it for the caller.  graph may be NULL (an index that
 * never held a vector).  drop_on_abort: the pages were written by this
 * transaction (CREATE INDEX, REINDEX), so drop the graph if it aborts.  When the graph does not fit even after evicting
 * every unused graph, the slot is freed, *needed and *free_bytes say why,
 * and false is returned.
 */
bool
VpCachePublish(VpCacheSlot *slot, const VpGraph *graph,
			   const VpGraphMark *mark, double build_ms, bool drop_on_abort,
			   size_t *needed, size_t *free_bytes)
{
	size_t		bytes = 0;
	dsa_pointer region = InvalidDsaPointer;

	Assert(slot->state == VP_SLOT_BUILDING && slot->builder_pid == MyProcPid);

	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	if (graph != NULL)
	{
		bytes = VpGraphRegionBytes(graph) + VP_REGION_ALIGN;
		region = AllocateRegionLocked(bytes, slot);
		if (region == InvalidDsaPointer)
		{
			*needed = bytes;
			*free_bytes = cache->budget - Min(cache->budget, cache->used_bytes);
			cache->fallbacks++;
			EndFailedBuildLocked(slot);
			local_held--;
			LWLockRelease(cache->lock);
			return false;
		}
		/* keep the region findable in case we fail before publishing */
		slot->region = region;
		slot->region_bytes = bytes;
	}
	LWLockRelease(cache->lock);

	/* copy outside the lock: nobody else touches a BUILDING slot */
	if (graph != NULL)
	{
		memcpy(VpCacheGraph(slot), graph, VpGraphRegionBytes(graph));
		slot->nodes = VpGraphCount(graph);
		slot->dead_nodes = VpGraphDeletedCount(graph);
	}
	else
	{
		slot->nodes = 0;
		slot->dead_nodes = 0;
	}
	slot->mark = *mark;

	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	slot->state = VP_SLOT_READY;
	slot->builder_pid = 0;
	local_held--;
	slot->builds++;
	slot->build_ms = build_ms;
	slot->built_at = GetCurrentTimestamp();
	pg_atomic_write_u64(&slot->last_used, slot->built_at);
	PinLocked(slot);
	ConditionVariableBroadcast(&slot->cv);
	LWLockRelease(cache->lock);

	/* a graph of an index this transaction wrote goes if it aborts */
	if (drop_on_abort)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);
		VpOwnBuild *build = palloc(sizeof(VpOwnBuild));

		build->slot = slot;
		build->incarnation = slot->incarnation;
		own_builds = lappend(own_builds, build);
		MemoryContextSwitchTo(oldcxt);
	}
	return true;
}

/*
 * A build of ours failed: free the slot and wake the waiters, one of whom
 * takes over.
 */
void
VpCacheAbandon(VpCacheSlot *slot)
{
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	if (slot->state == VP_SLOT_BUILDING && slot->builder_pid == MyProcPid)
	{
		EndFailedBuildLocked(slot);
		local_held--;
	}
	LWLockRelease(cache->lock);
}

/*
 * The graph of a slot, or NULL.  The caller holds the slot's lock (or is
 * building it).
 */
VpGraph *
VpCacheGraph(VpCacheSlot *slot)
{
	if (slot->region == InvalidDsaPointer)
		return NULL;
	return (VpGraph *) TYPEALIGN(VP_REGION_ALIGN,
								 dsa_get_address(cache_area, slot->region));
}

/*
 * Grow a READY slot's graph capacity, evicting unused graphs if needed.
 * The caller holds the slot's lock exclusively.  Node ids are kept, so the
 * incarnation does not change.  Returns false if there is no room.
 */
bool
VpCacheGrow(VpCacheSlot *slot)
{
	VpGraph    *old = VpCacheGraph(slot);
	VpGraphParams params = *VpGraphGetParams(old);
	dsa_pointer region;
	size_t		bytes;

	if (params.capacity >= PG_INT32_MAX / 2)
		return false;
	/* a quarter more: shared memory is the scarce resource here */
	params.capacity += Max(params.capacity / 4, 1024);
	bytes = VpGraphRegionSize(&params);
	if (bytes == 0)
		return false;
	bytes += VP_REGION_ALIGN;

	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	region = AllocateRegionLocked(bytes, slot);
	LWLockRelease(cache->lock);
	if (region == InvalidDsaPointer)
		return false;

	{
		char	   *raw = dsa_get_address(cache_area, region);
		VpGraph    *bigger = VpGraphInit((void *) TYPEALIGN(VP_REGION_ALIGN, raw),
										 bytes - VP_REGION_ALIGN, &params);

		if (bigger == NULL || VpGraphCopy(bigger, old) != 0)
		{
			LWLockAcquire(cache->lock, LW_EXCLUSIVE);
			dsa_free(cache_area, region);
			cache->used_bytes -= bytes;
			LWLockRelease(cache->lock);
			elog(ERROR, "could not copy an hnsw graph into a larger region");
		}
	}

	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	dsa_free(cache_area, slot->region);
	cache->used_bytes -= slot->region_bytes;
	slot->region = region;
	slot->region_bytes = bytes;
	LWLockRelease(cache->lock);
	return true;
}

/*
 * Give a READY slot without a graph (its index had no vector when it was
 * built) an empty graph, so that inserts can go into it.  The caller holds
 * the slot's lock exclusively.  Returns false if there is no room.
 */
bool
VpCacheInitGraph(VpCacheSlot *slot, const VpGraphParams *params)
{
	size_t		bytes = VpGraphRegionSize(params);
	dsa_pointer region;

	if (bytes == 0)
		return false;
	bytes += VP_REGION_ALIGN;
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	region = AllocateRegionLocked(bytes, slot);
	if (region != InvalidDsaPointer)
	{
		slot->region = region;
		slot->region_bytes = bytes;
	}
	LWLockRelease(cache->lock);
	if (region == InvalidDsaPointer)
		return false;
	if (VpGraphInit(VpCacheGraph(slot), bytes - VP_REGION_ALIGN, params) == NULL)
		elog(ERROR, "could not lay out an hnsw graph of %d nodes", params->capacity);
	return true;
}

/*
 * Give up a READY slot's graph because it could not grow.  The caller
 * holds the slot's lock exclusively.  The next use rebuilds it (or falls
 * back to a private copy).
 */
void
VpCacheDropGraph(VpCacheSlot *slot)
{
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	if (slot->state == VP_SLOT_READY)
		FreeSlotLocked(slot);
	LWLockRelease(cache->lock);
}

/*
 * Free the graph of one index (indexoid valid) or of every index of a
 * database.  Waits for a writer busy with it; a graph being built is left
 * to its builder (whose next look at the index finds it changed).  Returns
 * whether a graph was freed.
 */
bool
VpCacheEvict(Oid dbid, Oid indexoid)
{
	bool		freed = false;
	int			i;

	for (i = 0; i < cache->nslots; i++)
	{
		VpCacheSlot *slot = &cache->slots[i];

		/* unlocked peek, redone under the locks */
		if (slot->state != VP_SLOT_READY || slot->dbid != dbid ||
			(OidIsValid(indexoid) && slot->indexoid != indexoid))
			continue;
		LWLockAcquire(slot->lock, LW_EXCLUSIVE);
		LWLockAcquire(cache->lock, LW_EXCLUSIVE);
		if (slot->state == VP_SLOT_READY && slot->dbid == dbid &&
			(!OidIsValid(indexoid) || slot->indexoid == indexoid))
		{
			FreeSlotLocked(slot);
			freed = true;
		}
		LWLockRelease(cache->lock);
		LWLockRelease(slot->lock);
	}
	return freed;
}

/*
 * Drop a graph this backend published in a transaction that aborted, if
 * it is still that graph.
 */
void
VpCacheForgetAbortedBuild(VpCacheSlot *slot, uint64 incarnation)
{
	if (cache == NULL)
		return;
	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	if (slot->state == VP_SLOT_READY && slot->incarnation == incarnation)
		FreeSlotLocked(slot);
	LWLockRelease(cache->lock);
	LWLockRelease(slot->lock);
}

/* ------------------------------------------------------------------------
 * SQL: the cache's contents and totals
 * ------------------------------------------------------------------------
 */

/*
 * Error out unless the shared cache is there (functions that only make
 * sense with it).
 */
void
VpRequireCache(void)
{
	if (!VpCacheAvailable())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("vecpersist must be loaded via \"shared_preload_libraries\" to share hnsw graphs"),
				 errhint("Add vecpersist to shared_preload_libraries and restart the server.")));
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_cache_entries);

/*
 * One row per cached graph of the server: database, index, state, sizes,
 * counters.  No vector contents.
 */
Datum
vp_cache_entries(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	VpRequireCache();
	InitMaterializedSRF(fcinfo, 0);

	for (i = 0; i < cache->nslots; i++)
	{
		VpCacheSlot *slot = &cache->slots[i];
		VpCacheSlot copy;
		Datum		values[14];
		bool		nulls[14];
		uint64		last_used;

		LWLockAcquire(cache->lock, LW_SHARED);
		copy = *slot;
		LWLockRelease(cache->lock);
		if (copy.state == VP_SLOT_FREE)
			continue;

		memset(nulls, 0, sizeof(nulls));
		values[0] = ObjectIdGetDatum(copy.dbid);
		values[1] = ObjectIdGetDatum(copy.indexoid);
		values[2] = CStringGetTextDatum(copy.state == VP_SLOT_READY ?
										"ready" : "building");
		values[3] = Int64GetDatum(copy.nodes);
		values[4] = Int64GetDatum(copy.dead_nodes);
		values[5] = Int64GetDatum((int64) copy.region_bytes);
		values[6] = Int64GetDatum((int64) copy.builds);
		values[7] = Float8GetDatum(copy.build_ms);
		nulls[7] = copy.builds == 0;
		values[8] = TimestampTzGetDatum(copy.built_at);
		nulls[8] = copy.builds == 0;
		last_used = pg_atomic_read_u64(&slot->last_used);
		values[9] = TimestampTzGetDatum((TimestampTz) last_used);
		nulls[9] = last_used == 0;
		values[10] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->searches));
		values[11] = Int64GetDatum((int64) copy.absorbed);
		values[12] = Int64GetDatum((int64) copy.deletion_passes);
		values[13] = Int32GetDatum((int32) pg_atomic_read_u32(&slot->pins));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_cache_stats);

/*
 * Totals: the budget, what graphs use, how many, evictions, fallbacks.
 */
Datum
vp_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6];
	int			graphs = 0;
	int			i;

	VpRequireCache();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	memset(nulls, 0, sizeof(nulls));
	LWLockAcquire(cache->lock, LW_SHARED);
	for (i = 0; i < cache->nslots; i++)
		if (cache->slots[i].state != VP_SLOT_FREE)
			graphs++;
	values[0] = Int64GetDatum((int64) cache->budget);
	values[1] = Int64GetDatum((int64) cache->used_bytes);
	values[2] = Int32GetDatum(graphs);
	values[3] = Int32GetDatum(cache->nslots);
	values[4] = Int64GetDatum((int64) cache->evictions);
	values[5] = Int64GetDatum((int64) cache->fallbacks);
	LWLockRelease(cache->lock);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

