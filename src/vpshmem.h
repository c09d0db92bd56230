/*-------------------------------------------------------------------------
 *
 * vpshmem.h
 *	  The shared graph cache: a directory of graph slots and a DSA area in
 *	  the main shared memory segment.
 *
 * A slot is keyed by database and index OID.  Its identity and life cycle
 * (state, builder, incarnation) are protected by the directory lock; pins
 * are atomic, taken under the directory lock in shared mode (so that an
 * evictor holding it exclusively sees a stable count) and dropped without
 * it.
 * Its graph region is protected by the slot's lock: searches hold it in
 * shared mode for one search window, and so do writers, because the graph
 * module lets one writer insert while others search (see vpgraph.c);
 * writers are serialised by the slot's writer lock.  Only replacing or
 * freeing the region (growth, rebuild, eviction, drop) takes the slot's
 * lock exclusively.  The watermark is written under the writer lock and
 * read or written under the spinlock mark_mutex.  Lock order: writer lock,
 * slot lock, directory lock; with the directory lock held, slot locks are
 * only tried (conditional).
 *
 * IDENTIFICATION
 *	  src/vpshmem.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPSHMEM_H
#define VPSHMEM_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/block.h"
#include "storage/condition_variable.h"
#include "storage/lwlock.h"
#include "storage/off.h"
#include "storage/spin.h"
#include "utils/dsa.h"

#include "vpgraph.h"

/* What a graph reflects of its index's pages (see vpcache.c) */
typedef struct VpGraphMark
{
	Oid			relfilenode;	/* storage the graph was built from */
	uint64		build_id;		/* metapage build_id at that time */
	BlockNumber wm_block;		/* watermark: last chain item absorbed */
	OffsetNumber wm_off;
	uint32		wm_seq;			/* sequence stamp of wm_block then */
	uint64		items_seen;		/* metapage items_appended absorbed */
	uint64		vacuum_epoch;	/* metapage vacuum_epoch applied */
} VpGraphMark;

/* The chain key of the watermark item (0 when nothing was absorbed) */
#define VpGraphMarkKey(mark) \
	(BlockNumberIsValid((mark)->wm_block) ? \
	 (((uint64) (mark)->wm_seq << 16) | (mark)->wm_off) : 0)

typedef enum VpSlotState
{
	VP_SLOT_FREE = 0,
	VP_SLOT_BUILDING,			/* builder_pid is building; others wait */
	VP_SLOT_READY
} VpSlotState;

typedef struct VpCacheSlot
{
	/* identity and life cycle: directory lock */
	Oid			dbid;
	Oid			indexoid;
	VpSlotState state;
	int			builder_pid;
	pg_atomic_uint32 pins;		/* scans using the graph */
	uint64		incarnation;	/* bumped whenever the graph is replaced */
	ConditionVariable cv;		/* broadcast when a build ends */

	/* the graph and what it reflects (see above) */
	LWLock	   *lock;
	LWLock	   *writer_lock;
	slock_t		mark_mutex;
	dsa_pointer region;			/* InvalidDsaPointer: no graph (no vector) */
	size_t		region_bytes;
	VpGraphMark mark;
	int32		nodes;			/* copies of the graph's counters, */
	int32		dead_nodes;		/* so the view never reads the region */
	uint64		absorbed;
	uint64		deletion_passes;

	/* statistics of the last build: directory lock */
	uint64		builds;
	double		build_ms;
	TimestampTz built_at;
	pg_atomic_uint64 searches;
	pg_atomic_uint64 last_used;
} VpCacheSlot;

/* Outcome of VpCacheAcquire */
typedef enum VpAcquireResult
{
	VP_ACQUIRE_READY,			/* slot pinned, graph ready */
	VP_ACQUIRE_BUILD,			/* slot is ours to build (VpCachePublish) */
	VP_ACQUIRE_NO_SLOT,			/* every slot is in use: no sharing */
	VP_ACQUIRE_ABSENT			/* no ready graph, and none was to be built */
} VpAcquireResult;

/* GUCs */
extern int	vp_cache_size_mb;
extern int	vp_cache_max_graphs;

extern void VpShmemInit(void);
extern bool VpCacheAvailable(void);
extern void VpRequireCache(void);
extern VpAcquireResult VpCacheAcquire(Oid indexoid, bool build,
									  VpCacheSlot **slot_out,
									  uint64 *incarnation);
extern void VpCacheRelease(VpCacheSlot *slot);
extern bool VpCacheStartRebuild(VpCacheSlot *slot, uint64 incarnation);
extern bool VpCachePublish(VpCacheSlot *slot, const VpGraph *graph,
						   const VpGraphMark *mark, double build_ms,
						   bool drop_on_abort,
						   size_t *needed, size_t *free_bytes);
extern void VpCacheAbandon(VpCacheSlot *slot);
extern VpGraph *VpCacheGraph(VpCacheSlot *slot);
extern bool VpCacheGrow(VpCacheSlot *slot);
extern bool VpCacheInitGraph(VpCacheSlot *slot, const VpGraphParams *params);
extern void VpCacheDropGraph(VpCacheSlot *slot);
extern bool VpCacheEvict(Oid dbid, Oid indexoid);
extern void VpCacheForgetAbortedBuild(VpCacheSlot *slot, uint64 incarnation);
extern size_t VpCacheBudget(void);

#endif							/* VPSHMEM_H */
