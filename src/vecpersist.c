/*-------------------------------------------------------------------------
 *
 * vecpersist.c
 *	  Module entry: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init defines the extension's GUCs (all under the "vecpersist."
 * prefix, so that vecpersist and pgvector can live in one cluster), the
 * index reloption kind, and selects the distance kernels for this CPU.  It
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

static const struct config_enum_entry iterative_scan_options[] = {
	{"off", VP_ITERATIVE_SCAN_OFF, false},
	{"relaxed_order", VP_ITERATIVE_SCAN_RELAXED, false},
	{"strict_order", VP_ITERATIVE_SCAN_STRICT, false},
	{NULL, 0, false}
};

PGDLLEXPORT void _PG_init(void);

/*
 * pgvector's names for our settings.  SET hnsw.ef_search is accepted as a
 * placeholder for any extension that might define it, so a user coming
 * from pgvector would otherwise never learn that it changes nothing here.
 */
static const char *const pgvector_settings[][2] = {
	{"hnsw.ef_search", "vecpersist.ef_search"},
	{"hnsw.iterative_scan", "vecpersist.iterative_scan"},
	{"hnsw.max_scan_tuples", "vecpersist.max_scan_tuples"},
};

/*
 * Called when an hnsw scan starts: warn, once per setting and session, if
 * pgvector's name of one of our settings was set while nothing defines it
 * (it is a placeholder; with pgvector loaded it is pgvector's own).
 */
void
VpWarnPgvectorSettings(void)
{
	static bool warned[lengthof(pgvector_settings)];
	int			i;

	for (i = 0; i < (int) lengthof(pgvector_settings); i++)
	{
		const char *name = pgvector_settings[i][0];

		if (warned[i] || GetConfigOption(name, true, false) == NULL ||
			!(GetConfigOptionFlags(name, true) & GUC_CUSTOM_PLACEHOLDER))
			continue;
		warned[i] = true;
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("setting \"%s\" has no effect on vecpersist hnsw indexes",
						name),
				 errhint("Set \"%s\" instead.", pgvector_settings[i][1])));
	}
}

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
							 iterative_scan_options,
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

	VpShmemInit();
	VpPrewarmInit();

	MarkGUCPrefixReserved("vecpersist");
}
