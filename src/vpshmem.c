/*-------------------------------------------------------------------------
 *
 * vpshmem.c
 *	  The shared graph cache: shared memory, the directory of graphs, their
 *	  life cycle, eviction, and the views of it.
 *
 * Under shared_preload_libraries, the request hook reserves two pieces of
 * the main shared memory segment: the directory (a header, a hash index,
 * and vecpersist.cache_max_graphs slots) and the graph memory
 * (vecpersist.cache_size bytes), in which the startup hook creates a DSA
 * area in place with its size limit set to that size.  Graph regions are
 * position independent, so every backend searches them where its mapping
 * of the area puts them.  Nothing here needs /dev/shm, and both pieces show
 * up in pg_shmem_allocations.
 *
 * A slot goes FREE -> BUILDING (one backend builds, others wait on the
 * slot's condition variable, for at most the time they allow) -> READY,
 * and back to BUILDING for a rebuild or to FREE when evicted or dropped.
 * Each time its graph is replaced its incarnation changes, which is how
 * the holders of node ids notice that they mean nothing any more.  Scans
 * pin a slot while they use it; only unpinned READY slots are evicted,
 * least recently used first.
 *
 * This file is the only owner of a slot's fields and locks (see vpshmem.h
 * for the calls others use):
 *	- the directory lock: identity and life cycle (state, builder,
 *	  incarnation, the hash index), statistics of builds, DSA allocation;
 *	- a slot's absorb lock: staging nodes and the mark (watermark);
 *	- a slot's region lock: shared by linkers, exclusive to replace the
 *	  region under them (growth, rebuild, eviction);
 *	- a slot's spin lock: the region pointer, the references readers hold
 *	  on regions, the mark's copy for readers, the deletion claim.
 * A region carries a header with its reference count: searches hold a
 * reference instead of a lock, and a retired region is freed by whoever
 * drops its last reference.  A backend's pins, references, claims and
 * unfinished builds are released at transaction end and at exit, so an
 * error or a FATAL never leaves a slot stuck; graphs built by a
 * (sub)transaction that aborts are dropped.
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
#ifndef WIN32
#include <sys/mman.h>
#endif

#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/dsa.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "vecpersist.h"
#include "vpshmem.h"

#define VP_DEFAULT_CACHE_SIZE_MB	256
#define VP_DEFAULT_CACHE_MAX_GRAPHS	1024
#define VP_REGION_ALIGN				64

typedef enum VpSlotState
{
	VP_SLOT_FREE = 0,
	VP_SLOT_BUILDING,			/* builder_pid is building; others wait */
	VP_SLOT_READY
} VpSlotState;

/* The header of a region in the DSA area; the graph follows, aligned */
typedef struct VpRegionHeader
{
	uint32		refs;			/* readers holding it (slot spin lock) */
	bool		retired;		/* no longer the slot's: free at refs 0 */
	size_t		bytes;			/* the allocation's size */
} VpRegionHeader;

struct VpCacheSlot
{
	/* identity and life cycle: directory lock */
	Oid			dbid;
	Oid			indexoid;
	Oid			spcoid;			/* tablespace, for snapshot files */
	VpSlotState state;
	int			builder_pid;
	pg_atomic_uint32 pins;		/* scans using the graph */
	uint64		incarnation;	/* bumped whenever the graph is replaced */
	ConditionVariable cv;		/* broadcast when a build or a deletion
								 * pass ends */

	/* locks (see the file header) */
	LWLock	   *absorb_lock;
	LWLock	   *region_lock;
	slock_t		mutex;

	/* the graph: region and deletion claim under mutex; mark under
	 * absorb_lock for writers, mutex for readers */
	dsa_pointer region;			/* InvalidDsaPointer: no graph */
	VpGraphMark mark;
	int			deleting_pid;	/* a backend applying deletions, or 0 */
	uint64		changes;		/* bumped by every change (absorb_lock, or
								 * mutex for deletions) */

	/* statistics (directory lock, or the lock of what they count) */
	size_t		region_bytes;
	int32		nodes;
	int32		dead_nodes;
	uint64		absorbed;
	uint64		deletion_passes;
	uint64		builds;
	VpGraphOrigin origin;
	double		build_ms;
	TimestampTz built_at;
	int32		repaired;
	int32		unreachable;
	uint64		saved_changes;	/* changes when the last snapshot was taken */
	TimestampTz saved_at;
	uint64		saved_bytes;
	pg_atomic_uint64 searches;
	pg_atomic_uint64 last_used;
};

/* The directory, in the main shared memory segment */
typedef struct VpCacheShared
{
	LWLock	   *lock;			/* the directory lock */
	int			nslots;
	int			hash_size;		/* entries of the hash index, a power of 2 */
	size_t		budget;			/* bytes of the DSA area */
	size_t		used_bytes;		/* regions allocated */
	uint64		evictions;
	uint64		fallbacks;		/* scans answered by an exact scan */
	Latch	   *writer_latch;	/* the snapshot writer's, or NULL */
	/* the slots, then the hash index: (dbid, indexoid) -> slot + 1 */
	VpCacheSlot slots[FLEXIBLE_ARRAY_MEMBER];
} VpCacheShared;

/* A graph this transaction built, dropped again if it aborts */
typedef struct VpOwnBuild
{
	int			slot_index;
	uint64		incarnation;
	SubTransactionId subxid;
} VpOwnBuild;

/* A reference this backend holds on a region */
typedef struct VpLocalRef
{
	int			slot_index;
	dsa_pointer region;
} VpLocalRef;

/* GUC variables */
int			vp_cache_size_mb = VP_DEFAULT_CACHE_SIZE_MB;
int			vp_cache_max_graphs = VP_DEFAULT_CACHE_MAX_GRAPHS;

static VpCacheShared *cache = NULL;
static void *cache_place = NULL;	/* the DSA area's memory */
static dsa_area *cache_area = NULL; /* this backend's attachment */
static int *local_pins = NULL;	/* this backend's pins per slot */
static int	local_building = -1;	/* slot this backend builds, or -1 */
static int	local_claim = -1;	/* slot whose deletions we apply, or -1 */
static VpLocalRef *local_refs = NULL;
static int	nlocal_refs = 0;
static int	max_local_refs = 0;
static List *own_builds = NIL;	/* in TopMemoryContext */
static bool exit_callback_registered = false;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static object_access_hook_type prev_object_access_hook = NULL;
#if VP_HAVE_SHMEM_REQUEST_HOOK
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif

static void FreeSlotLocked(VpCacheSlot *slot);
static void EndFailedBuildLocked(VpCacheSlot *slot);
static void ReleaseRegionRef(VpCacheSlot *slot, dsa_pointer region);

static int
HashSize(int nslots)
{
	int			size = 16;

	while (size < 2 * nslots)
		size <<= 1;
	return size;
}

static Size
DirectorySize(void)
{
	return add_size(add_size(offsetof(VpCacheShared, slots),
							 mul_size(vp_cache_max_graphs, sizeof(VpCacheSlot))),
					mul_size(HashSize(vp_cache_max_graphs), sizeof(int32)));
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
		cache->hash_size = HashSize(vp_cache_max_graphs);
		cache->budget = AreaSize();
		for (i = 0; i < cache->nslots; i++)
		{
			VpCacheSlot *slot = &cache->slots[i];

			slot->state = VP_SLOT_FREE;
			slot->absorb_lock = &locks[1 + 2 * i].lock;
			slot->region_lock = &locks[2 + 2 * i].lock;
			SpinLockInit(&slot->mutex);
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

static inline int
SlotIndex(VpCacheSlot *slot)
{
	return (int) (slot - cache->slots);
}

static inline int32 *
HashIndex(void)
{
	return (int32 *) &cache->slots[cache->nslots];
}

static inline uint32
HashKey(Oid dbid, Oid indexoid)
{
	return hash_combine(murmurhash32((uint32) dbid), murmurhash32((uint32) indexoid));
}

/*
 * FindSlotLocked
 *		The slot of an index, through the hash index (linear probing).  The
 *		caller holds the directory lock.
 */
static VpCacheSlot *
FindSlotLocked(Oid dbid, Oid indexoid)
{
	int32	   *hash = HashIndex();
	uint32		mask = (uint32) cache->hash_size - 1;
	uint32		i = HashKey(dbid, indexoid) & mask;

	for (;;)
	{
		VpCacheSlot *slot;

		if (hash[i] == 0)
			return NULL;
		slot = &cache->slots[hash[i] - 1];
		if (slot->dbid == dbid && slot->indexoid == indexoid)
			return slot;
		i = (i + 1) & mask;
	}
}

/*
 * HashInsertLocked, HashDeleteLocked
 *		Enter or remove a slot in the hash index; deletion shifts later
 *		entries of the probe sequence back, so no tombstones are needed.
 *		The caller holds the directory lock exclusively.
 */
static void
HashInsertLocked(VpCacheSlot *slot)
{
	int32	   *hash = HashIndex();
	uint32		mask = (uint32) cache->hash_size - 1;
	uint32		i = HashKey(slot->dbid, slot->indexoid) & mask;

	while (hash[i] != 0)
		i = (i + 1) & mask;
	hash[i] = SlotIndex(slot) + 1;
}

static void
HashDeleteLocked(VpCacheSlot *slot)
{
	int32	   *hash = HashIndex();
	uint32		mask = (uint32) cache->hash_size - 1;
	uint32		i = HashKey(slot->dbid, slot->indexoid) & mask;
	uint32		j;

	while (hash[i] != SlotIndex(slot) + 1)
	{
		if (hash[i] == 0)
			return;
		i = (i + 1) & mask;
	}
	hash[i] = 0;
	for (j = (i + 1) & mask; hash[j] != 0; j = (j + 1) & mask)
	{
		VpCacheSlot *other = &cache->slots[hash[j] - 1];
		uint32		home = HashKey(other->dbid, other->indexoid) & mask;

		/* move it back into the hole if its home does not lie in (i, j] */
		if ((j > i && (home <= i || home > j)) ||
			(j < i && (home <= i && home > j)))
		{
			hash[i] = hash[j];
			hash[j] = 0;
			i = j;
		}
	}
}

/* ------------------------------------------------------------------------
 * Regions
 * ------------------------------------------------------------------------
 */

static inline VpRegionHeader *
RegionHeader(dsa_pointer region)
{
	return (VpRegionHeader *) dsa_get_address(cache_area, region);
}

static inline VpGraph *
RegionGraph(dsa_pointer region)
{
	return (VpGraph *) ((char *) RegionHeader(region) + VP_REGION_ALIGN);
}

/*
 * Map the pages of a new region into this backend in one call, where the
 * kernel offers it (Linux 5.14 and later; elsewhere a no-op).  A build or
 * load writes every page of its region once, and taking one page fault per
 * 4 kB page was a quarter of a snapshot load in a virtual machine, where
 * faults are dear.  The contents are untouched; a failure only means the
 * faults come one by one.
 */
static void
PrefaultRegion(void *start, size_t bytes)
{
#if defined(MADV_POPULATE_WRITE)
	uintptr_t	page = (uintptr_t) sysconf(_SC_PAGESIZE);
	uintptr_t	from = (uintptr_t) start & ~(page - 1);
	uintptr_t	to = ((uintptr_t) start + bytes + page - 1) & ~(page - 1);

	(void) madvise((void *) from, to - from, MADV_POPULATE_WRITE);
#else
	(void) start;
	(void) bytes;
#endif
}

/*
 * Free a region's memory.  The caller holds no slot spin lock; takes the
 * directory lock for the accounting unless told it holds it.
 */
static void
FreeRegion(dsa_pointer region, bool have_directory_lock)
{
	size_t		bytes = RegionHeader(region)->bytes;

	if (!have_directory_lock)
		LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	dsa_free(cache_area, region);
	cache->used_bytes -= bytes;
	if (!have_directory_lock)
		LWLockRelease(cache->lock);
}

/*
 * Detach the slot's region from it (the caller holds the slot's region
 * lock exclusively, or is its builder): freed now if nobody reads it,
 * else by its last reader.
 */
static void
RetireRegion(VpCacheSlot *slot, bool have_directory_lock)
{
	dsa_pointer region;
	bool		free_now = false;

	SpinLockAcquire(&slot->mutex);
	region = slot->region;
	if (region != InvalidDsaPointer)
	{
		VpRegionHeader *hdr = RegionHeader(region);

		hdr->retired = true;
		free_now = hdr->refs == 0;
	}
	slot->region = InvalidDsaPointer;
	SpinLockRelease(&slot->mutex);
	if (free_now)
		FreeRegion(region, have_directory_lock);
	slot->region_bytes = 0;
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
		if (!LWLockConditionalAcquire(victim->absorb_lock, LW_EXCLUSIVE))
		{
			pg_atomic_write_u64(&victim->last_used, GetCurrentTimestamp());
			continue;
		}
		if (!LWLockConditionalAcquire(victim->region_lock, LW_EXCLUSIVE))
		{
			LWLockRelease(victim->absorb_lock);
			pg_atomic_write_u64(&victim->last_used, GetCurrentTimestamp());
			continue;
		}
		ereport(DEBUG1,
				(errmsg("evicting hnsw graph of index %u in database %u from the shared cache",
						victim->indexoid, victim->dbid)));
		FreeSlotLocked(victim);
		LWLockRelease(victim->region_lock);
		LWLockRelease(victim->absorb_lock);
		cache->evictions++;
		return true;
	}
	return false;
}

/*
 * Allocate a region of bytes (header included), evicting unused graphs
 * (other than except) until it fits.  The caller holds the directory lock
 * exclusively.  A region larger than the whole budget fails at once,
 * without evicting anything.  Returns InvalidDsaPointer if it cannot fit.
 */
static dsa_pointer
AllocateRegionLocked(size_t bytes, VpCacheSlot *except)
{
	size_t		keep = 0;
	int			i;

	if (bytes > cache->budget)
		return InvalidDsaPointer;

	/*
	 * What eviction could never free: graphs in use, being built, or
	 * except's.  If the region cannot fit beside them, evicting the others
	 * would only cost them a rebuild.
	 */
	for (i = 0; i < cache->nslots; i++)
	{
		VpCacheSlot *slot = &cache->slots[i];

		if (slot->state != VP_SLOT_FREE &&
			(slot == except || slot->state != VP_SLOT_READY ||
			 pg_atomic_read_u32(&slot->pins) > 0))
			keep += slot->region_bytes;
	}
	if (keep + bytes > cache->budget)
		return InvalidDsaPointer;
	for (;;)
	{
		dsa_pointer region = dsa_allocate_extended(cache_area, bytes,
												   DSA_ALLOC_HUGE | DSA_ALLOC_NO_OOM);

		if (region != InvalidDsaPointer)
		{
			VpRegionHeader *hdr = RegionHeader(region);

			hdr->refs = 0;
			hdr->retired = false;
			hdr->bytes = bytes;
			cache->used_bytes += bytes;
			return region;
		}
		if (!EvictOneLocked(except))
			return InvalidDsaPointer;
	}
}

/* ------------------------------------------------------------------------
 * Backend state and its release
 * ------------------------------------------------------------------------
 */

/*
 * Release what this backend holds: region references, pins, a deletion
 * claim, a build it never finished.
 */
static void
ReleaseBackendState(void)
{
	int			i;

	if (cache == NULL || local_pins == NULL)
		return;

	while (nlocal_refs > 0)
	{
		VpLocalRef *ref = &local_refs[nlocal_refs - 1];

		ReleaseRegionRef(&cache->slots[ref->slot_index], ref->region);
		nlocal_refs--;
	}
	if (local_claim >= 0)
	{
		VpCacheSlot *slot = &cache->slots[local_claim];

		SpinLockAcquire(&slot->mutex);
		if (slot->deleting_pid == MyProcPid)
			slot->deleting_pid = 0;
		SpinLockRelease(&slot->mutex);
		ConditionVariableBroadcast(&slot->cv);
		local_claim = -1;
	}
	for (i = 0; i < cache->nslots; i++)
	{
		if (local_pins[i] > 0)
			pg_atomic_fetch_sub_u32(&cache->slots[i].pins, local_pins[i]);
		local_pins[i] = 0;
	}
	if (local_building >= 0)
	{
		VpCacheSlot *slot = &cache->slots[local_building];

		/* a build dropped half-way: a waiter takes over */
		LWLockAcquire(cache->lock, LW_EXCLUSIVE);
		if (slot->state == VP_SLOT_BUILDING && slot->builder_pid == MyProcPid)
			EndFailedBuildLocked(slot);
		LWLockRelease(cache->lock);
		local_building = -1;
	}
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
 * lock exclusively and either holds the slot's region lock exclusively or
 * is the slot's builder.
 */
static void
FreeSlotLocked(VpCacheSlot *slot)
{
	RetireRegion(slot, true);
	if (slot->state != VP_SLOT_FREE)
		HashDeleteLocked(slot);
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
 * Drop a graph this backend published in a (sub)transaction that aborted,
 * if it is still that graph.
 */
static void
ForgetAbortedBuild(VpOwnBuild *build)
{
	VpCacheSlot *slot = &cache->slots[build->slot_index];

	LWLockAcquire(slot->absorb_lock, LW_EXCLUSIVE);
	LWLockAcquire(slot->region_lock, LW_EXCLUSIVE);
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	if (slot->state == VP_SLOT_READY && slot->incarnation == build->incarnation)
		FreeSlotLocked(slot);
	LWLockRelease(cache->lock);
	LWLockRelease(slot->region_lock);
	LWLockRelease(slot->absorb_lock);
}

/*
 * Transaction end: let go of everything (a scan that errored out never
 * ended), and drop the graphs that an aborted transaction built.
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
	if (event == XACT_EVENT_ABORT && cache != NULL)
	{
		foreach(lc, own_builds)
			ForgetAbortedBuild((VpOwnBuild *) lfirst(lc));
	}
	list_free_deep(own_builds);
	own_builds = NIL;
}

/*
 * Subtransaction end: the graphs a subtransaction built are dropped if it
 * aborts (ROLLBACK TO a savepoint before CREATE INDEX), and belong to its
 * parent if it commits.
 */
static void
VpCacheSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	(void) arg;
	if (cache == NULL || own_builds == NIL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, own_builds)
		{
			VpOwnBuild *build = lfirst(lc);

			if (build->subxid == mySubid)
			{
				ForgetAbortedBuild(build);
				own_builds = foreach_delete_current(own_builds, lc);
				pfree(build);
			}
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, own_builds)
		{
			VpOwnBuild *build = lfirst(lc);

			if (build->subxid == mySubid)
				build->subxid = parentSubid;
		}
	}
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
		VpSnapshotForget(objectId);
		if (VpCacheAvailable())
			VpCacheEvict(MyDatabaseId, objectId);
	}
	else if (classId == DatabaseRelationId && VpCacheAvailable())
		VpCacheEvict(objectId, InvalidOid);
}

/*
 * Called by _PG_init: the drop hook and the transaction callbacks always;
 * the cache's GUCs and the shared memory hooks under
 * shared_preload_libraries.
 */
void
VpShmemInit(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = VpObjectAccess;
	RegisterXactCallback(VpCacheXactCallback, NULL);
	RegisterSubXactCallback(VpCacheSubXactCallback, NULL);

	/* PGC_POSTMASTER variables can only be defined while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("vecpersist.cache_size",
							"Sets the shared memory reserved for cached hnsw graphs.",
							"An index whose graph does not fit is answered by exact scans of its pages.",
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
	max_local_refs = 8;
	local_refs = palloc(sizeof(VpLocalRef) * max_local_refs);
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

/* ------------------------------------------------------------------------
 * Finding, pinning, building
 * ------------------------------------------------------------------------
 */

static void
PinLocked(VpCacheSlot *slot)
{
	pg_atomic_fetch_add_u32(&slot->pins, 1);
	local_pins[SlotIndex(slot)]++;
}

/*
 * Unpin a slot.  Dropping a pin needs no lock: it only makes eviction more
 * permissive.
 */
void
VpCacheRelease(VpCacheSlot *slot)
{
	int			i = SlotIndex(slot);

	if (local_pins[i] > 0)
	{
		local_pins[i]--;
		pg_atomic_fetch_sub_u32(&slot->pins, 1);
	}
}

/*
 * Make a claimed slot ours to build.  The caller holds the directory lock
 * exclusively.
 */
static void
StartBuildLocked(VpCacheSlot *slot)
{
	slot->state = VP_SLOT_BUILDING;
	slot->builder_pid = MyProcPid;
	local_building = SlotIndex(slot);
}

/*
 * Find or claim the slot of an index of this database.  Returns
 *	- VP_ACQUIRE_READY with the slot pinned and its incarnation, or
 *	- VP_ACQUIRE_BUILD: the slot is now BUILDING by us; build the graph
 *	  (VpCacheBuildGraph) and publish it (or VpCacheAbandon), or
 *	- VP_ACQUIRE_NO_SLOT when every slot is in use, or
 *	- VP_ACQUIRE_ABSENT when build is false and no graph is ready, or
 *	- VP_ACQUIRE_BUSY when another backend builds it and wait_ms (-1:
 *	  forever) passed.
 * Waits interruptibly while another backend builds the graph; if that
 * build fails, this backend may be the one that takes over.
 */
VpAcquireResult
VpCacheAcquire(Oid indexoid, bool build, int wait_ms, VpCacheSlot **slot_out,
			   uint64 *incarnation)
{
	TimestampTz start = 0;

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
		if (!build)
		{
			ConditionVariableCancelSleep();
			return VP_ACQUIRE_ABSENT;
		}

		LWLockAcquire(cache->lock, LW_EXCLUSIVE);
		slot = FindSlotLocked(MyDatabaseId, indexoid);
		if (slot == NULL)
		{
			int			i;

			for (;;)
			{
				for (i = 0; i < cache->nslots; i++)
					if (cache->slots[i].state == VP_SLOT_FREE &&
						pg_atomic_read_u32(&cache->slots[i].pins) == 0)
						break;
				if (i < cache->nslots || !EvictOneLocked(NULL))
					break;
			}
			if (i == cache->nslots)
			{
				LWLockRelease(cache->lock);
				ConditionVariableCancelSleep();
				return VP_ACQUIRE_NO_SLOT;
			}
			slot = &cache->slots[i];
			slot->dbid = MyDatabaseId;
			slot->indexoid = indexoid;
			HashInsertLocked(slot);
			StartBuildLocked(slot);
			slot->incarnation++;
			memset(&slot->mark, 0, sizeof(VpGraphMark));
			slot->deleting_pid = 0;
			slot->changes = 1;
			slot->saved_changes = 0;
			slot->saved_at = 0;
			slot->saved_bytes = 0;
			slot->builds = 0;
			slot->build_ms = 0;
			slot->built_at = 0;
			slot->absorbed = 0;
			slot->deletion_passes = 0;
			slot->repaired = 0;
			slot->unreachable = 0;
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
			LWLockRelease(cache->lock);
			continue;
		}
		if (slot->builder_pid == MyProcPid)
			elog(ERROR, "hnsw graph of index %u is already being built by this backend",
				 indexoid);
		LWLockRelease(cache->lock);

		/* someone else builds it: wait for the broadcast, then look again */
		if (wait_ms < 0)
			ConditionVariableSleep(&slot->cv, PG_WAIT_EXTENSION);
		else
		{
			long		left;

			if (start == 0)
				start = GetCurrentTimestamp();
			left = wait_ms - (long) ((GetCurrentTimestamp() - start) / 1000);
			if (left <= 0 ||
				ConditionVariableTimedSleep(&slot->cv, left, PG_WAIT_EXTENSION))
			{
				/* timed out; one last look before giving up */
				LWLockAcquire(cache->lock, LW_SHARED);
				slot = FindSlotLocked(MyDatabaseId, indexoid);
				if (slot == NULL || slot->state != VP_SLOT_BUILDING)
				{
					LWLockRelease(cache->lock);
					continue;
				}
				LWLockRelease(cache->lock);
				ConditionVariableCancelSleep();
				return VP_ACQUIRE_BUSY;
			}
		}
	}
}

/*
 * Turn a READY slot whose graph is stale back into BUILDING by us; its
 * region is retired (scans still reading it finish on it, then it is
 * freed).  The caller's pin stays.  Returns false if someone else got
 * there first (the caller then acquires the slot again).
 */
bool
VpCacheStartRebuild(VpCacheSlot *slot, uint64 incarnation)
{
	bool		ours = false;

	LWLockAcquire(slot->absorb_lock, LW_EXCLUSIVE);
	LWLockAcquire(slot->region_lock, LW_EXCLUSIVE);
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	if (slot->state == VP_SLOT_READY && slot->incarnation == incarnation)
	{
		RetireRegion(slot, true);
		slot->incarnation++;
		memset(&slot->mark, 0, sizeof(VpGraphMark));
		StartBuildLocked(slot);
		ours = true;
	}
	LWLockRelease(cache->lock);
	LWLockRelease(slot->region_lock);
	LWLockRelease(slot->absorb_lock);
	return ours;
}

/*
 * Lay out the graph of a slot we are building, in a new region of the
 * shared cache (evicting unused graphs if need be), directly where it will
 * live: no private copy is ever made.  With copy_from (the region given
 * before, now too small) its nodes are copied over and the old region
 * freed.  Returns NULL, with *needed and *free_bytes saying why, when the
 * graph cannot fit; the slot keeps its previous region then.
 */
VpGraph *
VpCacheBuildGraph(VpCacheSlot *slot, const VpGraphParams *params,
				  const VpGraph *copy_from, size_t *needed,
				  size_t *free_bytes)
{
	size_t		bytes = VpGraphRegionSize(params);
	dsa_pointer region;
	VpGraph    *graph;

	Assert(slot->state == VP_SLOT_BUILDING && slot->builder_pid == MyProcPid);
	if (bytes == 0)
		elog(ERROR, "could not lay out an hnsw graph of %d nodes", params->capacity);
	bytes += VP_REGION_ALIGN;

	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	region = AllocateRegionLocked(bytes, slot);
	if (region == InvalidDsaPointer)
	{
		*needed = bytes;
		*free_bytes = cache->budget - Min(cache->budget, cache->used_bytes);
		LWLockRelease(cache->lock);
		return NULL;
	}
	LWLockRelease(cache->lock);

	PrefaultRegion(RegionGraph(region), bytes - VP_REGION_ALIGN);
	graph = VpGraphInit(RegionGraph(region), bytes - VP_REGION_ALIGN, params);
	if (graph == NULL ||
		(copy_from != NULL && VpGraphCopy(graph, copy_from) != 0))
	{
		FreeRegion(region, false);
		elog(ERROR, "could not lay out an hnsw graph of %d nodes", params->capacity);
	}

	/* nobody reads a BUILDING slot: the old region can go at once */
	RetireRegion(slot, false);
	SpinLockAcquire(&slot->mutex);
	slot->region = region;
	SpinLockRelease(&slot->mutex);
	slot->region_bytes = bytes;
	return graph;
}

/*
 * Make a slot we built READY, with its graph (laid out by
 * VpCacheBuildGraph, or none for an index that never held a value) and
 * mark, and keep it pinned for the caller.  drop_on_abort: the pages were
 * written by this transaction (CREATE INDEX, REINDEX), so the graph goes
 * if the (sub)transaction aborts.
 */
void
VpCachePublish(VpCacheSlot *slot, const VpGraphMark *mark,
			   const VpBuildReport *report, Oid spcoid, bool drop_on_abort)
{
	const VpGraph *graph = NULL;

	Assert(slot->state == VP_SLOT_BUILDING && slot->builder_pid == MyProcPid);
	if (slot->region != InvalidDsaPointer)
		graph = RegionGraph(slot->region);

	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	SpinLockAcquire(&slot->mutex);
	slot->mark = *mark;
	SpinLockRelease(&slot->mutex);
	slot->spcoid = spcoid;
	slot->nodes = graph ? VpGraphCount(graph) : 0;
	slot->dead_nodes = graph ? VpGraphDeletedCount(graph) : 0;
	slot->state = VP_SLOT_READY;
	slot->builder_pid = 0;
	local_building = -1;
	slot->builds++;
	slot->origin = report->origin;
	slot->build_ms = report->build_ms;
	slot->repaired = report->repaired;
	slot->unreachable = report->unreachable;
	slot->changes++;
	if (report->origin == VP_ORIGIN_BUILT)
	{
		/* a new graph: whatever file there was is not of it */
		slot->saved_at = 0;
		slot->saved_bytes = 0;
	}
	else if (report->origin == VP_ORIGIN_LOADED)
	{
		/* what is on disk is what was loaded: no save needed for that */
		slot->saved_at = report->snapshot_saved_at;
		slot->saved_bytes = report->snapshot_bytes;
		if (report->snapshot_current)
			slot->saved_changes = slot->changes;
	}
	slot->built_at = GetCurrentTimestamp();
	pg_atomic_write_u64(&slot->last_used, slot->built_at);
	PinLocked(slot);
	ConditionVariableBroadcast(&slot->cv);
	LWLockRelease(cache->lock);

	if (drop_on_abort)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);
		VpOwnBuild *build = palloc(sizeof(VpOwnBuild));

		build->slot_index = SlotIndex(slot);
		build->incarnation = slot->incarnation;
		build->subxid = GetCurrentSubTransactionId();
		own_builds = lappend(own_builds, build);
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * A build of ours failed or did not fit: free the slot and wake the
 * waiters, one of whom takes over.
 */
void
VpCacheAbandon(VpCacheSlot *slot)
{
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	if (slot->state == VP_SLOT_BUILDING && slot->builder_pid == MyProcPid)
	{
		EndFailedBuildLocked(slot);
		local_building = -1;
	}
	LWLockRelease(cache->lock);
}

/*
 * Count a scan answered by an exact scan because no graph could be had.
 */
void
VpCacheNoteNoRoom(void)
{
	if (cache == NULL)
		return;
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	cache->fallbacks++;
	LWLockRelease(cache->lock);
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------
 */

/*
 * Drop a reference on a region; the last reference of a retired region
 * frees it.
 */
static void
ReleaseRegionRef(VpCacheSlot *slot, dsa_pointer region)
{
	VpRegionHeader *hdr = RegionHeader(region);
	bool		free_now;

	SpinLockAcquire(&slot->mutex);
	Assert(hdr->refs > 0);
	hdr->refs--;
	free_now = hdr->refs == 0 && hdr->retired;
	SpinLockRelease(&slot->mutex);
	if (free_now)
		FreeRegion(region, false);
}

/*
 * The graph of a pinned slot, for reading, with a reference held on its
 * region until VpCacheReadEnd: no lock is held, so the search may be
 * cancelled or wait at any point, and writers go on meanwhile.  NULL if
 * the slot was rebuilt or dropped since incarnation (or never had a
 * graph).  A backend holds at most one reference per slot at a time.
 */
const VpGraph *
VpCacheReadBegin(VpCacheSlot *slot, uint64 incarnation)
{
	dsa_pointer region = InvalidDsaPointer;

	if (nlocal_refs == max_local_refs)
	{
		max_local_refs *= 2;
		local_refs = repalloc(local_refs, sizeof(VpLocalRef) * max_local_refs);
	}
	SpinLockAcquire(&slot->mutex);
	if (slot->incarnation == incarnation && slot->region != InvalidDsaPointer)
	{
		region = slot->region;
		RegionHeader(region)->refs++;
	}
	SpinLockRelease(&slot->mutex);
	if (region == InvalidDsaPointer)
		return NULL;
	local_refs[nlocal_refs].slot_index = SlotIndex(slot);
	local_refs[nlocal_refs].region = region;
	nlocal_refs++;
	return RegionGraph(region);
}

/*
 * Let go of the region VpCacheReadBegin gave.
 */
void
VpCacheReadEnd(VpCacheSlot *slot)
{
	int			i;

	for (i = nlocal_refs - 1; i >= 0; i--)
	{
		if (local_refs[i].slot_index == SlotIndex(slot))
		{
			dsa_pointer region = local_refs[i].region;

			local_refs[i] = local_refs[nlocal_refs - 1];
			nlocal_refs--;
			ReleaseRegionRef(slot, region);
			return;
		}
	}
	elog(ERROR, "hnsw graph region released twice");
}

/*
 * The mark of a slot's graph, as last published by a writer.
 */
void
VpCacheGetMark(VpCacheSlot *slot, VpGraphMark *mark)
{
	SpinLockAcquire(&slot->mutex);
	*mark = slot->mark;
	SpinLockRelease(&slot->mutex);
}

/*
 * What CompareMark needs of a pinned slot's graph, read at one moment:
 * its mark, node and deleted counts and code kind (-1 and counts 0 when
 * it has no graph).  Returns false if the slot was rebuilt or dropped
 * since incarnation.  The region cannot be freed while the spin lock is
 * held (freeing clears the slot's pointer under it first).
 */
bool
VpCacheGraphState(VpCacheSlot *slot, uint64 incarnation, VpGraphMark *mark,
				  int32 *count, int32 *deleted, int *codes)
{
	bool		ok;

	SpinLockAcquire(&slot->mutex);
	ok = slot->incarnation == incarnation;
	*mark = slot->mark;
	*count = 0;
	*deleted = 0;
	*codes = -1;
	if (ok && slot->region != InvalidDsaPointer)
	{
		const VpGraph *graph = RegionGraph(slot->region);

		*count = VpGraphCount(graph);
		*deleted = VpGraphDeletedCount(graph);
		*codes = (int) VpGraphGetParams(graph)->codes;
	}
	SpinLockRelease(&slot->mutex);
	return ok;
}

/*
 * Count a search and keep the slot recently used.
 */
void
VpCacheNoteSearch(VpCacheSlot *slot)
{
	pg_atomic_fetch_add_u64(&slot->searches, 1);
	pg_atomic_write_u64(&slot->last_used, GetCurrentTimestamp());
}

/* ------------------------------------------------------------------------
 * Absorbing and linking
 * ------------------------------------------------------------------------
 */

/*
 * Take a pinned slot's absorb lock to stage nodes in chain order and move
 * its mark.  Returns false (nothing held) if the slot was rebuilt or
 * dropped since incarnation; otherwise *graph (NULL for an index that has
 * held no value yet) and *mark are valid until VpCacheAbsorbEnd.  The
 * region cannot be replaced by anyone else meanwhile (growth takes this
 * lock too).
 */
bool
VpCacheAbsorbBegin(VpCacheSlot *slot, uint64 incarnation, VpGraph **graph,
				   VpGraphMark *mark)
{
	LWLockAcquire(slot->absorb_lock, LW_EXCLUSIVE);
	if (slot->incarnation != incarnation || slot->state != VP_SLOT_READY)
	{
		LWLockRelease(slot->absorb_lock);
		return false;
	}
	*graph = slot->region != InvalidDsaPointer ? RegionGraph(slot->region) : NULL;
	*mark = slot->mark;
	return true;
}

/*
 * Publish the new mark (if not NULL) after staging staged nodes, and let
 * go of the absorb lock.
 */
void
VpCacheAbsorbEnd(VpCacheSlot *slot, const VpGraphMark *mark, int32 staged)
{
	if (mark != NULL)
	{
		SpinLockAcquire(&slot->mutex);
		slot->mark = *mark;
		SpinLockRelease(&slot->mutex);
	}
	if (staged > 0)
	{
		slot->absorbed += staged;
		slot->changes++;
		if (slot->region != InvalidDsaPointer)
			slot->nodes = VpGraphCount(RegionGraph(slot->region));
	}
	LWLockRelease(slot->absorb_lock);
}

/*
 * Move the graph of a slot whose absorb lock we hold to a region a quarter
 * larger (node ids are kept, so is the incarnation).  Linkers finish the
 * node they are on first; readers go on with the old region and drop it
 * when done.  Returns false when there is no room: the graph is then
 * dropped (the slot freed, the absorb lock released); the next use
 * rebuilds it or answers with an exact scan.
 */
bool
VpCacheAbsorbGrow(VpCacheSlot *slot, VpGraph **graph)
{
	VpGraph    *old = *graph;
	VpGraphParams params = *VpGraphGetParams(old);
	dsa_pointer region;
	size_t		bytes;
	VpGraph    *bigger;

	if (params.capacity < PG_INT32_MAX / 2)
	{
		/* a quarter more: shared memory is the scarce resource here */
		params.capacity += Max(params.capacity / 4, 1024);
		if (params.codes == VP_CODE_SPARSE)
			params.arena_bytes += Max(params.arena_bytes / 4, (uint64) 1 << 20);
		bytes = VpGraphRegionSize(&params);
	}
	else
		bytes = 0;

	LWLockAcquire(slot->region_lock, LW_EXCLUSIVE);
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	region = bytes ? AllocateRegionLocked(bytes + VP_REGION_ALIGN, slot) :
		InvalidDsaPointer;
	if (region == InvalidDsaPointer)
	{
		FreeSlotLocked(slot);
		LWLockRelease(cache->lock);
		LWLockRelease(slot->region_lock);
		LWLockRelease(slot->absorb_lock);
		return false;
	}
	LWLockRelease(cache->lock);

	bigger = VpGraphInit(RegionGraph(region), bytes, &params);
	if (bigger == NULL || VpGraphCopy(bigger, old) != 0)
	{
		FreeRegion(region, false);
		LWLockRelease(slot->region_lock);
		LWLockRelease(slot->absorb_lock);
		elog(ERROR, "could not copy an hnsw graph into a larger region");
	}
	RetireRegion(slot, false);
	SpinLockAcquire(&slot->mutex);
	slot->region = region;
	SpinLockRelease(&slot->mutex);
	slot->region_bytes = bytes + VP_REGION_ALIGN;
	LWLockRelease(slot->region_lock);
	*graph = bigger;
	return true;
}

/*
 * Give a slot whose absorb lock we hold, and whose index had no value
 * when its graph was built, an empty graph.  Returns false when there is
 * no room (as VpCacheAbsorbGrow).
 */
bool
VpCacheAbsorbCreate(VpCacheSlot *slot, const VpGraphParams *params,
					VpGraph **graph)
{
	size_t		bytes = VpGraphRegionSize(params);
	dsa_pointer region;

	LWLockAcquire(slot->region_lock, LW_EXCLUSIVE);
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	region = bytes ? AllocateRegionLocked(bytes + VP_REGION_ALIGN, slot) :
		InvalidDsaPointer;
	if (region == InvalidDsaPointer)
	{
		FreeSlotLocked(slot);
		LWLockRelease(cache->lock);
		LWLockRelease(slot->region_lock);
		LWLockRelease(slot->absorb_lock);
		return false;
	}
	LWLockRelease(cache->lock);
	*graph = VpGraphInit(RegionGraph(region), bytes, params);
	if (*graph == NULL)
		elog(ERROR, "could not lay out an hnsw graph of %d nodes", params->capacity);
	SpinLockAcquire(&slot->mutex);
	slot->region = region;
	SpinLockRelease(&slot->mutex);
	slot->region_bytes = bytes + VP_REGION_ALIGN;
	LWLockRelease(slot->region_lock);
	return true;
}

/*
 * The graph of a pinned slot for linking staged nodes: the region lock in
 * shared mode (others link beside us; only a replacement of the region
 * waits for us).  NULL (nothing held) if the slot was rebuilt or dropped.
 */
VpGraph *
VpCacheLinkBegin(VpCacheSlot *slot, uint64 incarnation)
{
	LWLockAcquire(slot->region_lock, LW_SHARED);
	if (slot->incarnation != incarnation || slot->region == InvalidDsaPointer)
	{
		LWLockRelease(slot->region_lock);
		return NULL;
	}
	return RegionGraph(slot->region);
}

void
VpCacheLinkEnd(VpCacheSlot *slot)
{
	LWLockRelease(slot->region_lock);
}

/* ------------------------------------------------------------------------
 * Deletions
 * ------------------------------------------------------------------------
 */

/*
 * Claim the right to bring a pinned slot's graph up to vacuum epoch
 * epoch: one backend does it (VACUUM itself on a primary, or the first
 * scan that needs it) while the others sleep here until it is done.
 * VP_DELETIONS_OURS: apply them, then VpCacheFinishDeletions.
 */
VpDeletionClaim
VpCacheClaimDeletions(VpCacheSlot *slot, uint64 incarnation, uint64 epoch)
{
	for (;;)
	{
		VpDeletionClaim result;
		bool		sleep = false;

		SpinLockAcquire(&slot->mutex);
		if (slot->incarnation != incarnation)
			result = VP_DELETIONS_GONE;
		else if (slot->mark.vacuum_epoch >= epoch)
			result = VP_DELETIONS_DONE;
		else if (slot->deleting_pid != 0 && slot->deleting_pid != MyProcPid)
		{
			sleep = true;
			result = VP_DELETIONS_DONE;
		}
		else
		{
			slot->deleting_pid = MyProcPid;
			result = VP_DELETIONS_OURS;
		}
		SpinLockRelease(&slot->mutex);
		if (!sleep)
		{
			ConditionVariableCancelSleep();
			if (result == VP_DELETIONS_OURS)
				local_claim = SlotIndex(slot);
			return result;
		}
		ConditionVariableSleep(&slot->cv, PG_WAIT_EXTENSION);
	}
}

/*
 * End a deletion claim: when applied, the graph now reflects epoch (and
 * its repair, if any).  Wakes the waiters.
 */
void
VpCacheFinishDeletions(VpCacheSlot *slot, uint64 epoch, bool applied,
					   const VpRepairStats *repair)
{
	SpinLockAcquire(&slot->mutex);
	if (applied && slot->mark.vacuum_epoch < epoch)
		slot->mark.vacuum_epoch = epoch;
	if (slot->deleting_pid == MyProcPid)
		slot->deleting_pid = 0;
	if (applied)
	{
		slot->changes++;
		slot->deletion_passes++;
		if (slot->region != InvalidDsaPointer)
			slot->dead_nodes = VpGraphDeletedCount(RegionGraph(slot->region));
		if (repair != NULL)
		{
			slot->repaired += repair->repaired;
			slot->unreachable = repair->remaining;
		}
	}
	SpinLockRelease(&slot->mutex);
	local_claim = -1;
	ConditionVariableBroadcast(&slot->cv);
}

/* ------------------------------------------------------------------------
 * Dropping
 * ------------------------------------------------------------------------
 */

/*
 * Free the graph of one index (indexoid valid) or of every index of a
 * database.  Waits for writers busy with it; scans still reading it finish
 * on it.  A graph being built is left to its builder, whose next look at
 * the index finds it changed.  Returns whether a graph was freed.
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
		LWLockAcquire(slot->absorb_lock, LW_EXCLUSIVE);
		LWLockAcquire(slot->region_lock, LW_EXCLUSIVE);
		LWLockAcquire(cache->lock, LW_EXCLUSIVE);
		if (slot->state == VP_SLOT_READY && slot->dbid == dbid &&
			(!OidIsValid(indexoid) || slot->indexoid == indexoid))
		{
			FreeSlotLocked(slot);
			freed = true;
		}
		LWLockRelease(cache->lock);
		LWLockRelease(slot->region_lock);
		LWLockRelease(slot->absorb_lock);
	}
	return freed;
}

/* ------------------------------------------------------------------------
 * Snapshots
 * ------------------------------------------------------------------------
 */

/*
 * The READY graphs changed since their last snapshot (or all of them), up
 * to max.  Returns how many were written to targets.
 */
int
VpCacheSnapshotTargets(VpSnapshotTarget *targets, int max, bool all)
{
	int			n = 0;
	int			i;

	LWLockAcquire(cache->lock, LW_SHARED);
	for (i = 0; i < cache->nslots && n < max; i++)
	{
		VpCacheSlot *slot = &cache->slots[i];
		uint64		changes;

		if (slot->state != VP_SLOT_READY || slot->region == InvalidDsaPointer)
			continue;
		SpinLockAcquire(&slot->mutex);
		changes = slot->changes;
		targets[n].rnode.relNode = slot->mark.relfilenode;
		SpinLockRelease(&slot->mutex);
		if (!all && changes == slot->saved_changes)
			continue;
		targets[n].dbid = slot->dbid;
		targets[n].indexoid = slot->indexoid;
		targets[n].rnode.spcNode = slot->spcoid;
		targets[n].rnode.dbNode = slot->dbid;
		targets[n].slot_index = i;
		targets[n].incarnation = slot->incarnation;
		targets[n].changes = changes;
		targets[n].saved_at = slot->saved_at;
		n++;
	}
	LWLockRelease(cache->lock);
	return n;
}

VpCacheSlot *
VpCacheSlotByIndex(int slot_index)
{
	return &cache->slots[slot_index];
}

/*
 * Pin the slot of a snapshot target if it is still that graph.
 */
bool
VpCachePinTarget(const VpSnapshotTarget *target)
{
	VpCacheSlot *slot = &cache->slots[target->slot_index];
	bool		ok = false;

	LWLockAcquire(cache->lock, LW_SHARED);
	if (slot->state == VP_SLOT_READY && slot->incarnation == target->incarnation)
	{
		PinLocked(slot);
		ok = true;
	}
	LWLockRelease(cache->lock);
	return ok;
}

/*
 * Count a repair done outside a build or a deletion pass (the snapshot
 * writer's, after inserts).
 */
void
VpCacheNoteRepair(VpCacheSlot *slot, const VpRepairStats *stats)
{
	SpinLockAcquire(&slot->mutex);
	slot->repaired += stats->repaired;
	slot->unreachable = stats->remaining;
	if (stats->repaired > 0)
		slot->changes++;
	SpinLockRelease(&slot->mutex);
}

/*
 * Remember that a snapshot reflecting changes was saved.
 */
void
VpCacheNoteSaved(VpCacheSlot *slot, uint64 changes, uint64 bytes)
{
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	slot->saved_changes = changes;
	slot->saved_at = GetCurrentTimestamp();
	slot->saved_bytes = bytes;
	LWLockRelease(cache->lock);
}

/*
 * The snapshot writer registers its latch here, so that a finished build
 * can wake it.
 */
void
VpCacheSetWriter(Latch *latch)
{
	LWLockAcquire(cache->lock, LW_EXCLUSIVE);
	cache->writer_latch = latch;
	LWLockRelease(cache->lock);
}

void
VpCacheWakeWriter(void)
{
	Latch	   *latch;

	if (cache == NULL)
		return;
	LWLockAcquire(cache->lock, LW_SHARED);
	latch = cache->writer_latch;
	LWLockRelease(cache->lock);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * Whether a READY slot's graph was never saved: a fresh build, which the
 * writer saves at once rather than at the next interval.
 */
bool
VpCacheNeverSaved(VpCacheSlot *slot)
{
	return slot->saved_changes == 0;
}

/* ------------------------------------------------------------------------
 * SQL: the cache's contents and totals
 * ------------------------------------------------------------------------
 */

/*
 * One row per cached graph, in the columns of version 0.1.0 (ncols 14) or
 * 0.2.0 (ncols 22).
 */
static void
CacheEntries(FunctionCallInfo fcinfo, int ncols)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	VpRequireCache();
	InitMaterializedSRF(fcinfo, 0);

	for (i = 0; i < cache->nslots; i++)
	{
		VpCacheSlot *slot = &cache->slots[i];
		VpCacheSlot copy;
		Datum		values[22];
		bool		nulls[22];
		uint64		last_used;
		const char *codes = NULL;

		LWLockAcquire(cache->lock, LW_SHARED);
		memcpy(&copy, slot, sizeof(VpCacheSlot));
		if (slot->state == VP_SLOT_READY && slot->region != InvalidDsaPointer)
		{
			switch (VpGraphGetParams(RegionGraph(slot->region))->codes)
			{
				case VP_CODE_FLOAT32:
					codes = "none";
					break;
				case VP_CODE_SQ8:
					codes = "sq8";
					break;
				case VP_CODE_BITS:
					codes = "bits";
					break;
				case VP_CODE_SPARSE:
					codes = "sparse";
					break;
			}
		}
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
		if (ncols > 14)
		{
			values[14] = CStringGetTextDatum(copy.origin == VP_ORIGIN_LOADED ?
											 "loaded" : "built");
			nulls[14] = copy.builds == 0;
			values[15] = codes ? CStringGetTextDatum(codes) : (Datum) 0;
			nulls[15] = codes == NULL;
			values[16] = Float8GetDatum(copy.nodes > 0 ?
										(double) copy.region_bytes / copy.nodes : 0);
			nulls[16] = copy.nodes == 0;
			values[17] = Int32GetDatum(copy.repaired);
			values[18] = Int32GetDatum(copy.unreachable);
			values[19] = TimestampTzGetDatum(copy.saved_at);
			nulls[19] = copy.saved_at == 0;
			values[20] = Int64GetDatum((int64) copy.saved_bytes);
			nulls[20] = copy.saved_at == 0;
			values[21] = BoolGetDatum(copy.changes != copy.saved_changes);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_cache_entries);

/*
 * vecpersist_cache_entries() of version 0.1.0: database, index, state,
 * sizes, counters.  No vector contents.
 */
Datum
vp_cache_entries(PG_FUNCTION_ARGS)
{
	CacheEntries(fcinfo, 14);
	return (Datum) 0;
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_cache_entries_0_2);

/*
 * vecpersist_cache_entries() of version 0.2.0: also how each graph came to
 * be (built or loaded from a snapshot), its codes, bytes per node,
 * repaired and unreachable nodes, and its last snapshot.
 */
Datum
vp_cache_entries_0_2(PG_FUNCTION_ARGS)
{
	CacheEntries(fcinfo, 22);
	return (Datum) 0;
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_cache_stats);

/*
 * Totals: the budget, what graphs use, how many, evictions, fallbacks
 * (scans answered by an exact scan because no graph could be had).
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
