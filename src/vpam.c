/*-------------------------------------------------------------------------
 *
 * vpam.c
 *	  The hnsw access method's handler, reloptions, operator-class
 *	  validation, cost estimation and metric support functions.
 *
 * Each hnsw operator class names its metric through support function 1,
 * a tiny C function returning the VpMetric; the graph computes distances
 * itself, so no SQL distance function is called per comparison.
 *
 * IDENTIFICATION
 *	  src/vpam.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "fmgr.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "vecpersist.h"

static relopt_kind vp_relopt_kind;

/*
 * Register the hnsw reloptions; called once from _PG_init.
 */
void
VpInitReloptions(void)
{
	vp_relopt_kind = add_reloption_kind();
	add_int_reloption(vp_relopt_kind, "m",
					  "Maximum number of links per node on upper levels (twice that on level 0)",
					  VP_DEFAULT_M, VP_MIN_M, VP_MAX_M, AccessExclusiveLock);
	add_int_reloption(vp_relopt_kind, "ef_construction",
					  "Size of the candidate list while building the graph",
					  VP_DEFAULT_EF_CONSTRUCTION, VP_MIN_EF_CONSTRUCTION,
					  VP_MAX_EF_CONSTRUCTION, AccessExclusiveLock);
}

/*
 * amoptions: parse and validate WITH (...) options.
 */
static bytea *
vpoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(VpOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(VpOptions, ef_construction)},
	};

	return (bytea *) build_reloptions(reloptions, validate, vp_relopt_kind,
									  sizeof(VpOptions), tab, lengthof(tab));
}

/*
 * The index's m, or the default when no option was given.
 */
int
VpGetM(Relation index)
{
	VpOptions  *opts = (VpOptions *) index->rd_options;

	return opts ? opts->m : VP_DEFAULT_M;
}

/*
 * The index's ef_construction, or the default.
 */
int
VpGetEfConstruction(Relation index)
{
	VpOptions  *opts = (VpOptions *) index->rd_options;

	return opts ? opts->ef_construction : VP_DEFAULT_EF_CONSTRUCTION;
}

/*
 * The metric of the index's operator class, from its support function 1.
 */
int
VpGetMetric(Relation index)
{
	FmgrInfo   *proc = index_getprocinfo(index, 1, VP_METRIC_PROC);
	int			metric = DatumGetInt32(FunctionCall1(proc, PointerGetDatum(NULL)));

	if (metric < VP_METRIC_L2 || metric > VP_METRIC_L1)
		elog(ERROR, "hnsw operator class of index \"%s\" returned unknown metric %d",
			 RelationGetRelationName(index), metric);
	return metric;
}

/*
 * amcostestimate.  The graph is searched in memory: the cost of a scan is
 * roughly ef_search * 2m distance computations, paid before the first row
 * (startup).  Every further row costs a hand-over plus, for an iterative
 * scan, the expansion of about one node (2m distances).  With a WHERE
 * filter of selectivity s, LIMIT k makes the executor pull about k / s rows
 * (the planner scales total cost by the fraction of rows fetched), so a
 * selective filter makes this path expensive and a btree on the filter
 * column wins, as it should.  An hnsw index cannot serve a scan without
 * ORDER BY <op> const, so such paths are made infinitely costly.
 */
static void
vpcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
			   Cost *indexStartupCost, Cost *indexTotalCost,
			   Selectivity *indexSelectivity, double *indexCorrelation,
			   double *indexPages)
{
	IndexOptInfo *info = path->indexinfo;
	Relation	index;
	int			m;
	double		distances;
	double		tuples = Max(info->tuples, 1.0);

	(void) root;
	(void) loop_count;

	if (path->indexorderbys == NIL)
	{
		*indexStartupCost = get_float8_infinity();
		*indexTotalCost = get_float8_infinity();
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	index = index_open(info->indexoid, NoLock);
	m = VpGetM(index);
	index_close(index, NoLock);

	/* visited nodes times links, growing slowly with the graph's size */
	distances = (double) vp_ef_search * 2 * m * Max(log(tuples) / log(2 * m), 1.0);
	*indexStartupCost = distances * cpu_operator_cost;
	*indexTotalCost = *indexStartupCost + tuples * cpu_index_tuple_cost;
	if (vp_iterative_scan != VP_ITERATIVE_SCAN_OFF)
		*indexTotalCost += tuples * 2 * m * cpu_operator_cost;
	*indexSelectivity = 1.0;
	*indexCorrelation = 0;
	/* only the metapage is read per scan; the graph is in memory */
	*indexPages = 1;
}

/*
 * ambuildphasename: names of our pg_stat_progress_create_index phases.
 */
static char *
vpbuildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case VP_PHASE_LOAD:
			return "writing vectors to index pages";
		case VP_PHASE_GRAPH:
			return "building graph";
		default:
			return NULL;
	}
}

/*
 * amvalidate: check that an hnsw operator class has exactly what the
 * access method uses: ORDER BY operators of strategy 1 on (vector, vector)
 * sorting by float8, and support function 1 taking internal.
 */
static bool
vpvalidate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	char	   *opclassname;
	CatCList   *proclist,
			   *oprlist;
	bool		has_proc = false;
	bool		has_op = false;
	int			i;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opclassname = NameStr(classform->opcname);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

		if (procform->amprocnum != VP_METRIC_PROC)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("hnsw operator class \"%s\" contains function %s with invalid support number %d",
							opclassname,
							format_procedure(procform->amproc),
							procform->amprocnum)));
			result = false;
			continue;
		}
		if (!check_amproc_signature(procform->amproc, INTERNALOID, false,
									1, 1, INTERNALOID))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("hnsw operator class \"%s\" contains function %s with wrong signature for support number %d",
							opclassname,
							format_procedure(procform->amproc),
							procform->amprocnum)));
			result = false;
			continue;
		}
		has_proc = true;
	}

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (oprform->amopstrategy != 1 ||
			oprform->amoppurpose != AMOP_ORDER ||
			!OidIsValid(oprform->amopsortfamily) ||
			!check_amop_signature(oprform->amopopr, FLOAT8OID,
								  oprform->amoplefttype,
								  oprform->amoprighttype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("hnsw operator class \"%s\" contains operator %s that is not an ORDER BY operator of strategy 1 returning double precision",
							opclassname,
							format_operator(oprform->amopopr))));
			result = false;
			continue;
		}
		has_op = true;
	}

	if (!has_proc || !has_op)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("hnsw operator class \"%s\" needs an ORDER BY operator of strategy 1 and support function 1",
						opclassname)));
		result = false;
	}

	ReleaseCatCacheList(proclist);
	ReleaseCatCacheList(oprlist);
	ReleaseSysCache(classtup);
	return result;
}

/*
 * The access method handler: describes hnsw to the executor and planner.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_handler);
Datum
vp_hnsw_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	(void) fcinfo;

	amroutine->amstrategies = 0;
	amroutine->amsupport = VP_NUM_PROCS;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = false;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = vpbuild;
	amroutine->ambuildempty = vpbuildempty;
	amroutine->aminsert = vpinsert;
	amroutine->ambulkdelete = vpbulkdelete;
	amroutine->amvacuumcleanup = vpvacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = vpcostestimate;
	amroutine->amoptions = vpoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = vpbuildphasename;
	amroutine->amvalidate = vpvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = vpbeginscan;
	amroutine->amrescan = vprescan;
	amroutine->amgettuple = vpgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = vpendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}

/*
 * Support function 1 of each operator class: the metric it orders by.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_l2_metric);
Datum
vp_hnsw_l2_metric(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_INT32(VP_METRIC_L2);
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_ip_metric);
Datum
vp_hnsw_ip_metric(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_INT32(VP_METRIC_INNER_PRODUCT);
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_cosine_metric);
Datum
vp_hnsw_cosine_metric(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_INT32(VP_METRIC_COSINE);
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_l1_metric);
Datum
vp_hnsw_l1_metric(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_INT32(VP_METRIC_L1);
}
