/*-------------------------------------------------------------------------
 *
 * vecpersist.h
 *	  Declarations shared across vecpersist's server-side files, grouped by
 *	  the file that defines them.
 *
 * The type lives in vector.h, the kernels in vpdistance.h, the graph in
 * vpgraph.h and the on-disk format in vppage.h; this header declares the
 * GUC variables and the access-method entry points.
 *
 * IDENTIFICATION
 *	  src/vecpersist.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VECPERSIST_H
#define VECPERSIST_H

#if PG_VERSION_NUM < 130000
#error "vecpersist requires PostgreSQL 13 or later"
#endif

#include "access/amapi.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "compat.h"
#include "vpgraph.h"
#include "vppage.h"

/* hnsw reloption defaults and limits (pgvector's) */
#define VP_DEFAULT_M				16
#define VP_MIN_M					2
#define VP_MAX_M					100
#define VP_DEFAULT_EF_CONSTRUCTION	64
#define VP_MIN_EF_CONSTRUCTION		4
#define VP_MAX_EF_CONSTRUCTION		1000
#define VP_DEFAULT_EF_SEARCH		40
#define VP_MIN_EF_SEARCH			1
#define VP_MAX_EF_SEARCH			1000
#define VP_DEFAULT_MAX_SCAN_TUPLES	20000
#define VP_DEFAULT_SCAN_MEM_MULTIPLIER	1.0
#define VP_MIN_SCAN_MEM_MULTIPLIER		1.0
#define VP_MAX_SCAN_MEM_MULTIPLIER		1000.0

/* vecpersist.iterative_scan and hnsw.iterative_scan */
typedef enum VpIterativeScanMode
{
	VP_ITERATIVE_SCAN_OFF,
	VP_ITERATIVE_SCAN_RELAXED,
	VP_ITERATIVE_SCAN_STRICT
} VpIterativeScanMode;

/* support function 1 of every hnsw opclass returns the VpMetric */
#define VP_METRIC_PROC				1
#define VP_NUM_PROCS				1

/* build phases reported in pg_stat_progress_create_index */
#define VP_PHASE_LOAD				2
#define VP_PHASE_GRAPH				3

/* Reloptions of an hnsw index */
typedef struct VpOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			m;				/* links per node (2*m on level 0) */
	int			ef_construction;	/* candidate list size at build */
} VpOptions;

/*
 * A search's hold on the graph of an index (vpcache.c): shared by all
 * backends (slot) or private to this one.  graph may be used only while
 * the hold is locked: from VpGraphOpen or VpGraphRelock to VpGraphUnlock.
 */
typedef struct VpGraphRef
{
	VpGraph    *graph;			/* NULL while the index never held a vector */
	struct VpCacheSlot *slot;	/* shared graph, or NULL */
	Oid			indexoid;
	uint64		incarnation;	/* changes when node ids are renumbered */
	bool		locked;
	void		(*interrupt_check) (void);
} VpGraphRef;

/* vecpersist.c */
extern int	vp_ef_search;
extern int	vp_iterative_scan;
extern int	vp_max_scan_tuples;
extern double vp_scan_mem_multiplier;
extern const struct config_enum_entry vp_iterative_scan_options[];
extern void VpWarnPgvectorSettings(void);

/*
 * vppgvector.c: the values scans use, whichever of the vecpersist.* and
 * hnsw.* names they were set under (precedence: README, "pgvector's setting
 * names").  Use these, not the vp_* variables above.
 */
extern void VpPgvectorInit(void);
extern int	VpEfSearch(void);
extern int	VpIterativeScan(void);	/* a VpIterativeScanMode */
extern int	VpMaxScanTuples(void);
extern double VpScanMemMultiplier(void);

/* vpam.c */
extern void VpInitReloptions(void);
extern int	VpGetM(Relation index);
extern int	VpGetEfConstruction(Relation index);
extern int	VpGetMetric(Relation index);

/* vpbuild.c */
extern IndexBuildResult *vpbuild(Relation heap, Relation index,
								 IndexInfo *indexInfo);
extern void vpbuildempty(Relation index);
extern void VpCheckDims(Relation index, VpMetaPageData *meta, int dims);
extern bool VpVectorIsIndexable(int metric, const float *x, int dims);

/* vpinsert.c */
extern void VpAppendVector(Relation index, ItemPointer heap_tid,
						   const float *x, int dims);
extern bool vpinsert(Relation index, Datum *values, bool *isnull,
					 ItemPointer heap_tid, Relation heap,
					 IndexUniqueCheck checkUnique, bool indexUnchanged,
					 IndexInfo *indexInfo);

/* vpscan.c */
extern IndexScanDesc vpbeginscan(Relation index, int nkeys, int norderbys);
extern void vprescan(IndexScanDesc scan, ScanKey keys, int nkeys,
					 ScanKey orderbys, int norderbys);
extern bool vpgettuple(IndexScanDesc scan, ScanDirection dir);
extern void vpendscan(IndexScanDesc scan);

/* vpvacuum.c */
extern IndexBulkDeleteResult *vpbulkdelete(IndexVacuumInfo *info,
										   IndexBulkDeleteResult *stats,
										   IndexBulkDeleteCallback callback,
										   void *callback_state);
extern IndexBulkDeleteResult *vpvacuumcleanup(IndexVacuumInfo *info,
											  IndexBulkDeleteResult *stats);

/* vpcache.c */
extern void VpGraphOpen(Relation index, VpGraphRef *ref, bool prewarm);
extern bool VpGraphRelock(VpGraphRef *ref);
extern void VpGraphUnlock(VpGraphRef *ref);
extern void VpGraphClose(VpGraphRef *ref);
extern void VpForgetLocalGraph(Oid indexoid);
extern void VpBuildGraphFromPages(Relation index);
extern void VpCatchUpIfCached(Relation index);
extern void VpLabelToTid(uint64 label, ItemPointer tid);
extern VpAllocator VpMakeAllocator(MemoryContext cxt);

/* vpprewarm.c */
extern char *vp_prewarm;
extern void VpPrewarmInit(void);
extern void VpCheckHnswIndex(Relation index);

#endif							/* VECPERSIST_H */
