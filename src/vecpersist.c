/*-------------------------------------------------------------------------
 *
 * vecpersist.c
 *	  Module entry: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init defines the extension's GUCs (all under the "vecpersist."
 * prefix, so that vecpersist and pgvector can live in one cluster), the
 * index reloption kind, and selects the distance kernels for this CPU.  It
 * never touches shared memory itself.
 *
 * IDENTIFICATION
 *	  src/vecpersist.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "vecpersist.h"
#include "vpdistance.h"

PG_MODULE_MAGIC;

/* GUC variables */
int			vp_ef_search = 40;

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

	MarkGUCPrefixReserved("vecpersist");
}
