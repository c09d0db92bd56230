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
#include "vptype.h"

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

/* the quantization reloption: how the graph keeps float vectors */
typedef enum VpQuantization
{
	VP_QUANTIZATION_NONE,		/* float4, as the pages hold them */
	VP_QUANTIZATION_SQ8			/* 8-bit codes, re-ranked from the pages */
} VpQuantization;

/* support functions of every hnsw opclass (VP_TYPE_SUPPORT_PROC: vptype.h) */
#define VP_METRIC_PROC				1	/* returns the VpMetric */
#define VP_NUM_PROCS				2

/* build phases reported in pg_stat_progress_create_index */
#define VP_PHASE_LOAD				2
#define VP_PHASE_GRAPH				3

/* Reloptions of an hnsw index */
typedef struct VpOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			m;				/* links per node (2*m on level 0) */
	int			ef_construction;	/* candidate list size at build */
	int			quantization;	/* VpQuantization */
} VpOptions;

/* What an index holds (vptype.c), cached in rd_amcache */
typedef struct VpIndexInfo
{
	int			metric;			/* VpMetric of the operator class */
	const VpTypeSupport *support;	/* its type */
	VpCodeKind	codes;			/* how its graph keeps values */
} VpIndexInfo;

/*
 * A search's hold on the graph of an index (vpcache.c): shared by all
 * backends (slot) or private to this one, or none at all (exact: answer
 * by an exact scan of the pages).  graph may be used only while the hold
 * is taken: from VpGraphOpen or VpGraphRelock to VpGraphUnlock.
 */
typedef struct VpGraphRef
{
	const VpGraph *graph;		/* NULL while the index never held a value */
	struct VpCacheSlot *slot;	/* shared graph, or NULL */
	Oid			indexoid;
	uint64		incarnation;	/* changes when node ids are renumbered */
	bool		reading;		/* a region reference is held */
	bool		exact;			/* no graph could be had */
	void		(*interrupt_check) (void);
} VpGraphRef;

/* vecpersist.c */
extern int	vp_ef_search;
extern int	vp_iterative_scan;
extern int	vp_max_scan_tuples;
extern double vp_scan_mem_multiplier;
extern int	vp_build_wait;
extern const struct config_enum_entry vp_iterative_scan_options[];

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
extern VpQuantization VpGetQuantization(Relation index);

/* vptype.c */
extern const VpIndexInfo *VpGetIndexInfo(Relation index);
extern const VpTypeSupport *VpGetTypeSupport(Relation index);
extern int	VpGetMetric(Relation index);
extern void VpCheckIndexable(Relation index, const VpTypeSupport *support,
							 const VpPayload *payload);
extern bool VpPayloadIsIndexable(int metric, const VpPayload *payload);
extern float *VpVectorBuffer(int elem_kind, int32 dims);
extern void VpPayloadToVector(const VpPayload *payload, VpVector *v,
							  float *buf);
extern void VpQueryVector(Relation index, const VpGraphParams *params,
						  Datum value, bool isnull, VpPayload *payload,
						  VpVector *v);

/* vpbuild.c */
extern IndexBuildResult *vpbuild(Relation heap, Relation index,
								 IndexInfo *indexInfo);
extern void vpbuildempty(Relation index);

/* vpinsert.c */
extern void VpAppendPayload(Relation index, ItemPointer heap_tid,
							const VpPayload *payload,
							VpAppendResult *result);
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

/* vpexact.c */
typedef struct VpExactScan VpExactScan;
extern VpExactScan *VpExactBegin(Relation index, ScanKey orderby,
								 int batch);
extern bool VpExactNext(VpExactScan *exact, ItemPointer tid);
extern void VpExactEnd(VpExactScan *exact);
extern double VpExactDistance(Relation index, ScanKey orderby,
							  const VpPayload *payload);

/* vpvacuum.c */
extern IndexBulkDeleteResult *vpbulkdelete(IndexVacuumInfo *info,
										   IndexBulkDeleteResult *stats,
										   IndexBulkDeleteCallback callback,
										   void *callback_state);
extern IndexBulkDeleteResult *vpvacuumcleanup(IndexVacuumInfo *info,
											  IndexBulkDeleteResult *stats);

/* vpcache.c */
struct VpGraphMark;				/* vpshmem.h */
extern void VpGraphOpen(Relation index, VpGraphRef *ref, bool prewarm);
extern bool VpGraphRelock(VpGraphRef *ref);
extern void VpGraphUnlock(VpGraphRef *ref);
extern void VpGraphClose(VpGraphRef *ref);
extern void VpForgetLocalGraph(Oid indexoid);
extern void VpBuildGraphFromPages(Relation index);
extern void VpGraphTakeAppended(Relation index,
								const VpAppendResult *appended,
								const VpPayload *payload,
								ItemPointer heap_tid);
extern void *VpVacuumDeletionsBegin(Relation index, uint64 epoch_before);
extern void VpVacuumDeletionsEnd(void *handle, const uint64 *keys,
								 int64 nkeys, uint64 epoch_after);
extern void VpLabelToTid(uint64 label, ItemPointer tid);
extern uint64 VpTidToLabel(ItemPointer tid);
extern VpAllocator VpMakeAllocator(MemoryContext cxt);
extern VpGraphParams VpGraphParamsFor(Relation index,
									  const VpMetaPageData *meta,
									  uint64 capacity);
extern bool VpGraphOpenIfCached(Relation index, VpGraphRef *ref,
								struct VpGraphMark *mark);

/* vpcheck.c: vecpersist_check(regclass, boolean) */
extern PGDLLEXPORT Datum vp_check_index(PG_FUNCTION_ARGS);

/* vpsnapshot.c */
extern bool vp_snapshots;
extern int	vp_snapshot_interval;
extern void VpSnapshotInit(void);
extern void VpSnapshotForget(Oid indexoid);

/* vpprewarm.c */
extern char *vp_prewarm;
extern void VpPrewarmInit(void);
extern void VpCheckHnswIndex(Relation index);

#endif							/* VECPERSIST_H */
