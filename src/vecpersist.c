/*-------------------------------------------------------------------------
 *
 * vecpersist.c
 *	  Module entry: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init defines the extension's GUCs (all under the "vecpersist."
 * prefix, so that vecpersist and pgvector can live in one cluster; the
 * hnsw.* names pgvector uses are defined later, per backend, by
 * vppgvector.c), the index reloption kind, and selects the distance
 * kernels for this CPU.  It
 * never touches shared memory itself: under shared_preload_libraries it
 * installs the hooks that reserve the graph cache (vpshmem.c) and
 * registers the prewarm launcher (vpprewarm.c).
 *
 * IDENTIFICATION
 *	  src/vecpersist.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "vecpersist.h"
#include "vpdistance.h"
#include "vpshmem.h"

PG_MODULE_MAGIC;

/* GUC variables */
int			vp_ef_search = VP_DEFAULT_EF_SEARCH;
int			vp_iterative_scan = VP_ITERATIVE_SCAN_STRICT;
int			vp_max_scan_tuples = VP_DEFAULT_MAX_SCAN_TUPLES;
double		vp_scan_mem_multiplier = VP_DEFAULT_SCAN_MEM_MULTIPLIER;
int			vp_build_wait = 200;

/* the values of vecpersist.iterative_scan and of hnsw.iterative_scan */
const struct config_enum_entry vp_iterative_scan_options[] = {
	{"off", VP_ITERATIVE_SCAN_OFF, false},
	{"relaxed_order", VP_ITERATIVE_SCAN_RELAXED, false},
	{"strict_order", VP_ITERATIVE_SCAN_STRICT, false},
	{NULL, 0, false}
};

PGDLLEXPORT void _PG_init(void);

/*
 * Module load: kernels first (the type's operators need them), then GUCs.
 */
void
_PG_init(void)
{
	VpDistanceInit();
	VpInitReloptions();

	DefineCustomIntVariable("vecpersist.ef_search",
							"Sets the size of the candidate list for hnsw index scans.",
							"Larger values give better recall at the cost of speed.",
							&vp_ef_search,
							VP_DEFAULT_EF_SEARCH, VP_MIN_EF_SEARCH,
							VP_MAX_EF_SEARCH,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("vecpersist.iterative_scan",
							 "Continues an hnsw scan past ef_search rows while the query asks for more.",
							 "strict_order returns rows in distance order, skipping the rare ones found too late; "
							 "relaxed_order returns those too, possibly slightly out of order; "
							 "off stops after ef_search rows, like pgvector's default.",
							 &vp_iterative_scan,
							 VP_ITERATIVE_SCAN_STRICT,
							 vp_iterative_scan_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("vecpersist.max_scan_tuples",
							"Sets the most graph nodes an iterative hnsw scan visits.",
							"Bounds the work of a scan whose filter rejects most rows.",
							&vp_max_scan_tuples,
							VP_DEFAULT_MAX_SCAN_TUPLES, 1, INT_MAX,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	/* pgvector's range, which is that of hash_mem_multiplier */
	DefineCustomRealVariable("vecpersist.scan_mem_multiplier",
							 "Sets the memory an iterative hnsw scan may use, as a multiple of work_mem.",
							 "Bounds what an iterative scan keeps of the nodes it visited.",
							 &vp_scan_mem_multiplier,
							 VP_DEFAULT_SCAN_MEM_MULTIPLIER,
							 VP_MIN_SCAN_MEM_MULTIPLIER,
							 VP_MAX_SCAN_MEM_MULTIPLIER,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("vecpersist.build_wait",
							"Sets how long a query waits for another session's build of an hnsw graph.",
							"Past it the query is answered by an exact scan of the index pages (exact results, slower). -1 waits for the build.",
							&vp_build_wait,
							200, -1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	VpShmemInit();
	VpPrewarmInit();
	VpSnapshotInit();
	VpPgvectorInit();

	MarkGUCPrefixReserved("vecpersist");
}
