/*-------------------------------------------------------------------------
 *
 * vpshmem.h
 *	  The shared graph cache: a directory of graph slots and a DSA area in
 *	  the main shared memory segment.
 *
 * A slot is opaque outside vpshmem.c, which alone takes its locks and
 * touches its fields.  Callers open it for what they want to do, and every
 * call checks the incarnation they opened it with (a rebuild or eviction
 * changes it; node ids of one incarnation mean nothing in the next):
 *
 *	- reading: VpCacheReadBegin / VpCacheReadEnd hold a reference on the
 *	  graph's region, no lock, so a search can be cancelled at any point
 *	  and never waits for a writer; a region replaced meanwhile (growth,
 *	  rebuild) is freed when its last reader lets go;
 *	- absorbing (staging new nodes in chain order, updating the mark):
 *	  VpCacheAbsorbBegin / VpCacheAbsorbEnd, one backend at a time, for
 *	  microseconds per item;
 *	- linking staged nodes: VpCacheLinkBegin / VpCacheLinkEnd, any number
 *	  of backends at once (the graph locks each list it changes);
 *	- applying VACUUM's deletions: VpCacheClaimDeletions /
 *	  VpCacheFinishDeletions, one backend per epoch while the others wait;
 *	- building: a BUILDING slot's builder lays its graph out in shared
 *	  memory directly (VpCacheBuildGraph) and publishes it.
 *
 * The lock order is in src/README.
 *
 * IDENTIFICATION
 *	  src/vpshmem.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPSHMEM_H
#define VPSHMEM_H

#include "datatype/timestamp.h"
#include "storage/block.h"
#include "storage/off.h"
#include "storage/latch.h"
#include "storage/relfilenode.h"

#include "vpgraph.h"

/* What a graph reflects of its index's pages (see vpcache.c) */
typedef struct VpGraphMark
{
	Oid			relfilenode;	/* storage the graph was built from */
	uint64		build_id;		/* metapage build_id at that time */
	BlockNumber wm_block;		/* watermark: last chain item absorbed */
	OffsetNumber wm_off;
	uint32		wm_seq;			/* sequence stamp of wm_block then */
	uint64		items_seen;		/* ordinal of the watermark item (the
								 * metapage's items_appended just after it
								 * was appended) */
	uint64		vacuum_epoch;	/* metapage vacuum_epoch applied */
} VpGraphMark;

/* The chain key of the watermark item (0 when nothing was absorbed) */
#define VpGraphMarkKey(mark) \
	(BlockNumberIsValid((mark)->wm_block) ? \
	 (((uint64) (mark)->wm_seq << 16) | (mark)->wm_off) : 0)

/* How a graph came to be */
typedef enum VpGraphOrigin
{
	VP_ORIGIN_BUILT = 1,		/* from the pages */
	VP_ORIGIN_LOADED			/* from a snapshot, then caught up */
} VpGraphOrigin;

/* What a build or load reports when it publishes its graph */
typedef struct VpBuildReport
{
	VpGraphOrigin origin;
	double		build_ms;
	double		repair_ms;		/* of build_ms: the reachability check */
	int32		repaired;		/* nodes linked in by the repair */
	int32		unreachable;	/* left unreachable */
	/* a load: the snapshot's, and whether the graph is still just that */
	TimestampTz snapshot_saved_at;
	uint64		snapshot_bytes;
	bool		snapshot_current;
} VpBuildReport;

typedef struct VpCacheSlot VpCacheSlot;

/* Outcome of VpCacheAcquire */
typedef enum VpAcquireResult
{
	VP_ACQUIRE_READY,			/* slot pinned, graph ready */
	VP_ACQUIRE_BUILD,			/* slot is ours to build (VpCachePublish) */
	VP_ACQUIRE_NO_SLOT,			/* every slot is in use */
	VP_ACQUIRE_ABSENT,			/* no ready graph, and none was to be built */
	VP_ACQUIRE_BUSY				/* another backend builds it, and the wait
								 * allowed is over */
} VpAcquireResult;

/* Outcome of VpCacheClaimDeletions */
typedef enum VpDeletionClaim
{
	VP_DELETIONS_OURS,			/* apply them, then VpCacheFinishDeletions */
	VP_DELETIONS_DONE,			/* the graph already reflects the epoch */
	VP_DELETIONS_GONE			/* the graph was replaced meanwhile */
} VpDeletionClaim;

/* One READY graph as the snapshot writer sees it */
typedef struct VpSnapshotTarget
{
	Oid			dbid;
	Oid			indexoid;
	RelFileNode rnode;
	int			slot_index;
	uint64		incarnation;
	uint64		changes;		/* the slot's change counter */
	TimestampTz saved_at;		/* last snapshot, or 0 */
} VpSnapshotTarget;

/* GUCs */
extern int	vp_cache_size_mb;
extern int	vp_cache_max_graphs;

/* set up */
extern void VpShmemInit(void);
extern bool VpCacheAvailable(void);
extern void VpRequireCache(void);
extern size_t VpCacheBudget(void);

/* finding, pinning, building */
extern VpAcquireResult VpCacheAcquire(Oid indexoid, bool build, int wait_ms,
									  VpCacheSlot **slot_out,
									  uint64 *incarnation);
extern void VpCacheRelease(VpCacheSlot *slot);
extern bool VpCacheStartRebuild(VpCacheSlot *slot, uint64 incarnation);
extern VpGraph *VpCacheBuildGraph(VpCacheSlot *slot,
								  const VpGraphParams *params,
								  const VpGraph *copy_from,
								  size_t *needed, size_t *free_bytes);
extern void VpCachePublish(VpCacheSlot *slot, const VpGraphMark *mark,
						   const VpBuildReport *report, Oid spcoid,
						   bool drop_on_abort);
extern void VpCacheAbandon(VpCacheSlot *slot);
extern void VpCacheNoteNoRoom(void);

/* reading */
extern const VpGraph *VpCacheReadBegin(VpCacheSlot *slot, uint64 incarnation);
extern void VpCacheReadEnd(VpCacheSlot *slot);
extern void VpCacheGetMark(VpCacheSlot *slot, VpGraphMark *mark);
extern bool VpCacheGraphState(VpCacheSlot *slot, uint64 incarnation,
							  VpGraphMark *mark, int32 *count,
							  int32 *deleted, int *codes);
extern void VpCacheNoteSearch(VpCacheSlot *slot);

/* absorbing and linking */
extern bool VpCacheAbsorbBegin(VpCacheSlot *slot, uint64 incarnation,
							   VpGraph **graph, VpGraphMark *mark);
extern void VpCacheAbsorbEnd(VpCacheSlot *slot, const VpGraphMark *mark,
							 int32 staged);
extern bool VpCacheAbsorbGrow(VpCacheSlot *slot, VpGraph **graph);
extern bool VpCacheAbsorbCreate(VpCacheSlot *slot,
								const VpGraphParams *params, VpGraph **graph);
extern VpGraph *VpCacheLinkBegin(VpCacheSlot *slot, uint64 incarnation);
extern void VpCacheLinkEnd(VpCacheSlot *slot);
extern void VpCacheNoteRepair(VpCacheSlot *slot, const VpRepairStats *stats);

/* deletions */
extern VpDeletionClaim VpCacheClaimDeletions(VpCacheSlot *slot,
											 uint64 incarnation,
											 uint64 epoch);
extern void VpCacheFinishDeletions(VpCacheSlot *slot, uint64 epoch,
								   bool applied, const VpRepairStats *repair);

/* dropping */
extern bool VpCacheEvict(Oid dbid, Oid indexoid);

/* snapshots (vpsnapshot.c) */
extern int	VpCacheSnapshotTargets(VpSnapshotTarget *targets, int max,
								   bool all);
extern VpCacheSlot *VpCacheSlotByIndex(int slot_index);
extern bool VpCachePinTarget(const VpSnapshotTarget *target);
extern void VpCacheNoteSaved(VpCacheSlot *slot, uint64 changes,
							 uint64 bytes);
extern void VpCacheSetWriter(Latch *latch);
extern void VpCacheWakeWriter(void);
extern bool VpCacheNeverSaved(VpCacheSlot *slot);

#endif							/* VPSHMEM_H */
