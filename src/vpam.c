/*-------------------------------------------------------------------------
 *
 * vpam.c
 *	  The hnsw access method's handler, reloptions, operator-class
 *	  validation, cost estimation and metric support functions.
 *
 * Each hnsw operator class names its metric through support function 1,
 * a tiny C function returning the VpMetric, and its type through support
 * function 2 (vptype.h; optional for the vector operator classes of
 * version 0.1.0).  The graph computes distances on its own codes; the SQL
 * distance function is called only to re-rank and for exact scans.
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
#include "utils/selfuncs.h"
#include "utils/spccache.h"
#include "utils/syscache.h"

#include "vecpersist.h"

static relopt_kind vp_relopt_kind;

/* values of the quantization reloption */
static relopt_enum_elt_def quantization_values[] = {
	{"none", VP_QUANTIZATION_NONE},
	{"sq8", VP_QUANTIZATION_SQ8},
	{NULL, 0}
};

/*
 * Register the hnsw reloptions; called once from _PG_init.
 */
void
VpInitReloptions(void)
{
	vp_relopt_kind = add_reloption_kind();
	add_enum_reloption(vp_relopt_kind, "quantization",
					   "How the graph keeps float vectors: none (float4) or sq8 (8-bit codes, re-ranked from the index pages)",
					   quantization_values, VP_QUANTIZATION_SQ8,
					   "Valid values are \"none\" and \"sq8\".",
					   AccessExclusiveLock);
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
		{"quantization", RELOPT_TYPE_ENUM, offsetof(VpOptions, quantization)},
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
 * The index's quantization, or the default.
 */
VpQuantization
VpGetQuantization(Relation index)
{
	VpOptions  *opts = (VpOptions *) index->rd_options;

	return opts ? (VpQuantization) opts->quantization : VP_QUANTIZATION_SQ8;
}

/*
 * amcostestimate.  The planner should choose an hnsw scan where pgvector's
 * would be chosen, so the reasoning is the same: the generic costs of
 * reading the index's tuples (which grow with the rows a LIMIT query must
 * fetch past a selective filter, so that a filter rejecting most rows
 * makes a sequential scan and sort cheaper, as it is when iterative scans
 * are off and the index could not return enough rows anyway), with the
 * share spent before the first row estimated from how much of the graph a
 * search touches: about m nodes per upper level passed, then a part of
 * ef_search times 2m nodes on level 0 that shrinks as repeated visits
 * become more common in larger graphs.  An hnsw index cannot serve a scan
 * without ORDER BY <op> const, so such paths are made infinitely costly.
 */
static void
vpcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
			   Cost *indexStartupCost, Cost *indexTotalCost,
			   Selectivity *indexSelectivity, double *indexCorrelation,
			   double *indexPages)
{
	GenericCosts costs;
	IndexOptInfo *info = path->indexinfo;
	Relation	index;
	int			m;
	double		share = 1.0;
	double		startup_pages;
	double		seq_page_cost;
	VpMetaPageData meta;

	if (path->indexorderbys == NIL)
	{
		*indexStartupCost = get_float8_infinity();
		*indexTotalCost = get_float8_infinity();
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	MemSet(&costs, 0, sizeof(costs));
	genericcostestimate(root, path, loop_count, &costs);

	/* the graph's m is the one the index was built with: the metapage's */
	index = index_open(info->indexoid, NoLock);
	VpReadMeta(index, &meta);
	index_close(index, NoLock);
	m = Max((int) meta.m, 2);

	if (info->tuples > 0)
	{
		double		logn = log(info->tuples);
		double		levels = floor(logn / log((double) m));
		double		level0 = 2.0 * m * VpEfSearch();
		double		touched = 0.55 * logn / (log((double) m) * (1.0 + log((double) VpEfSearch())));

		share = Min((levels * m + level0 * touched) / info->tuples, 1.0);
	}

	costs.indexStartupCost = costs.indexTotalCost * share;

	/*
	 * genericcostestimate charges random page reads for the index pages a
	 * search touches; those beyond the table's size stand for out-of-line
	 * (TOAST) data a sequential scan pays for too, so count them like one.
	 */
	get_tablespace_page_costs(info->reltablespace, NULL, &seq_page_cost);
	startup_pages = costs.numIndexPages * share;
	if (share < 0.5 && startup_pages > info->rel->pages)
	{
		costs.indexStartupCost -= startup_pages *
			(costs.spc_random_page_cost - seq_page_cost);
		costs.indexStartupCost -= (startup_pages - info->rel->pages) *
			seq_page_cost;
	}

	/*
	 * With iterative scans off a scan returns at most ef_search rows, and
	 * the filter then keeps its share of them.  When that falls short of
	 * the query's LIMIT, the path would have to search that many times
	 * wider to deliver it: charge it so, and a filter that keeps few rows
	 * gets a sequential scan and a sort, which return them all, instead of
	 * an index scan that returns a few (as pgvector's planner decides on
	 * its larger index pages).  Clauses a partial index's predicate
	 * implies filter nothing out of it.
	 */
	if (VpIterativeScan() == VP_ITERATIVE_SCAN_OFF && root->limit_tuples > 0 &&
		info->indrestrictinfo != NIL)
	{
		Selectivity pass = clauselist_selectivity(root, info->indrestrictinfo,
												  info->rel->relid,
												  JOIN_INNER, NULL);
		double		delivered = Min((double) VpEfSearch(), Max(info->tuples, 1.0)) *
			Max(pass, 1e-10);

		if (delivered < root->limit_tuples)
		{
			double		wider = root->limit_tuples / delivered;

			costs.indexStartupCost *= wider;
			costs.indexTotalCost *= wider;
		}
	}

	*indexStartupCost = costs.indexStartupCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = costs.indexCorrelation;
	*indexPages = costs.numIndexPages;
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
 * access method uses: ORDER BY operators of strategy 1 sorting by float8,
 * support function 1 (the metric) and, optionally, support function 2 (the
 * type), both taking internal.
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

		if (procform->amprocnum != VP_METRIC_PROC &&
			procform->amprocnum != VP_TYPE_SUPPORT_PROC)
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
		if (procform->amprocnum == VP_METRIC_PROC)
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

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_hamming_metric);
Datum
vp_hnsw_hamming_metric(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_INT32(VP_METRIC_HAMMING);
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_jaccard_metric);
Datum
vp_hnsw_jaccard_metric(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_INT32(VP_METRIC_JACCARD);
}
