/*-------------------------------------------------------------------------
 *
 * vpprewarm.c
 *	  Building graphs before the first query needs them: the SQL functions
 *	  vecpersist_prewarm and vecpersist_evict, and the background workers
 *	  that prewarm at server start.
 *
 * vecpersist.prewarm lists what to prewarm: "db" for every hnsw index of a
 * database, "db:index" for one index (the name may be schema-qualified).
 * At server start (also on a hot standby, once it is consistent) a
 * launcher worker starts one worker per database named there, one after
 * the other so that rebuilds do not compete for the cores; each connects to
 * its database and builds the graphs into the shared cache.  A failure is
 * logged and the next index is tried.
 *
 * IDENTIFICATION
 *	  src/vpprewarm.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/procsignal.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"

#include "vecpersist.h"
#include "vpshmem.h"

/* GUC variable */
char	   *vp_prewarm = NULL;

PGDLLEXPORT void vp_prewarm_launcher_main(Datum main_arg);
PGDLLEXPORT void vp_prewarm_database_main(Datum main_arg);

/*
 * Error out unless index is an hnsw index of this extension.
 */
void
VpCheckHnswIndex(Relation index)
{
	if (index->rd_rel->relkind != RELKIND_INDEX ||
		index->rd_indam == NULL || index->rd_indam->ambuild != vpbuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index of vecpersist",
						RelationGetRelationName(index))));
}

/*
 * Lock the table of an index and then the index (the order scans use),
 * and check that it is one of ours.  Returns the open index.
 */
static Relation
OpenHnswIndex(Oid indexoid, Oid *heapoid)
{
	Relation	index;

	*heapoid = IndexGetRelation(indexoid, true);
	if (!OidIsValid(*heapoid))
	{
		char	   *name = get_rel_name(indexoid);

		if (name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", indexoid)));
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index of vecpersist", name)));
	}
	LockRelationOid(*heapoid, AccessShareLock);
	index = relation_open(indexoid, AccessShareLock);
	VpCheckHnswIndex(index);
	return index;
}

/*
 * Build the graph of an index into the shared cache now.  Returns its
 * number of nodes.
 */
static int64
PrewarmIndex(Relation index)
{
	VpGraphRef	ref;
	int64		nodes;

	VpGraphOpen(index, &ref, true);
	nodes = ref.graph ? VpGraphCount(ref.graph) : 0;
	VpGraphClose(&ref);
	return nodes;
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_prewarm_index);

/*
 * vecpersist_prewarm(regclass): build (or catch up) the shared graph of an
 * hnsw index.  Needs SELECT on its table, since the graph answers queries
 * about it.
 */
Datum
vp_prewarm_index(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Oid			heapoid;
	Relation	index;
	int64		nodes;
	AclResult	aclresult;

	VpRequireCache();
	index = OpenHnswIndex(indexoid, &heapoid);
	aclresult = pg_class_aclcheck(heapoid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(heapoid));
	nodes = PrewarmIndex(index);
	relation_close(index, AccessShareLock);
	PG_RETURN_INT64(nodes);
}

PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_evict_index);

/*
 * vecpersist_evict(regclass): drop the cached graph of an hnsw index; the
 * next query rebuilds it.  Only the table's owner may, as it costs every
 * user of the index a rebuild.
 */
Datum
vp_evict_index(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Oid			heapoid;
	Relation	index;
	bool		evicted;

	VpRequireCache();
	index = OpenHnswIndex(indexoid, &heapoid);
	if (!VpRelationOwnerCheck(heapoid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(heapoid));
	VpForgetLocalGraph(indexoid);
	evicted = VpCacheEvict(MyDatabaseId, indexoid);
	relation_close(index, AccessShareLock);
	PG_RETURN_BOOL(evicted);
}

/* ------------------------------------------------------------------------
 * Background workers
 * ------------------------------------------------------------------------
 */

/*
 * Split vecpersist.prewarm into trimmed items.  Names are taken as
 * written (no case folding, no quotes).
 */
static List *
PrewarmItems(void)
{
	List	   *items = NIL;
	char	   *copy;
	char	   *item;
	char	   *save;

	if (vp_prewarm == NULL)
		return NIL;
	copy = pstrdup(vp_prewarm);
	for (item = strtok_r(copy, ",", &save); item != NULL;
		 item = strtok_r(NULL, ",", &save))
	{
		char	   *end;

		while (*item == ' ' || *item == '\t')
			item++;
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*item != '\0')
			items = lappend(items, item);
	}
	return items;
}

/* The database part of an item (up to a colon) */
static char *
ItemDatabase(const char *item)
{
	const char *colon = strchr(item, ':');

	return colon ? pnstrdup(item, colon - item) : pstrdup(item);
}

/*
 * Under shared_preload_libraries, define the GUC and, when something is to
 * be prewarmed, register the launcher.  Called by _PG_init.
 */
void
VpPrewarmInit(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("vecpersist.prewarm",
							   "Lists the hnsw indexes whose graphs are built at server start.",
							   "Comma-separated items: \"database\" for every hnsw index of a database, "
							   "\"database:index\" for one index.",
							   &vp_prewarm,
							   "",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	if (vp_prewarm == NULL || vp_prewarm[0] == '\0')
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "vecpersist", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "vp_prewarm_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "vecpersist prewarm launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "vecpersist prewarm", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * The launcher: one database worker at a time, for each database named in
 * vecpersist.prewarm.
 */
void
vp_prewarm_launcher_main(Datum main_arg)
{
	List	   *done = NIL;
	ListCell   *lc;

	(void) main_arg;
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* the postmaster tells us with SIGUSR1 when a worker of ours exits */
	pqsignal(SIGUSR1, procsignal_sigusr1_handler);
	BackgroundWorkerUnblockSignals();

	foreach(lc, PrewarmItems())
	{
		char	   *dbname = ItemDatabase(lfirst(lc));
		BackgroundWorker worker;
		BackgroundWorkerHandle *handle;

		if (list_member(done, makeString(dbname)))
			continue;
		done = lappend(done, makeString(dbname));
		if (ShutdownRequestPending)
			break;
		if (strlen(dbname) >= NAMEDATALEN)
		{
			ereport(LOG,
					(errmsg("vecpersist.prewarm names database \"%s\", whose name is too long",
							dbname)));
			continue;
		}

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
			BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_ConsistentState;
		worker.bgw_restart_time = BGW_NEVER_RESTART;
		strlcpy(worker.bgw_library_name, "vecpersist", BGW_MAXLEN);
		strlcpy(worker.bgw_function_name, "vp_prewarm_database_main", BGW_MAXLEN);
		snprintf(worker.bgw_name, BGW_MAXLEN, "vecpersist prewarm %s", dbname);
		strlcpy(worker.bgw_type, "vecpersist prewarm", BGW_MAXLEN);
		strlcpy(worker.bgw_extra, dbname, BGW_EXTRALEN);
		worker.bgw_notify_pid = MyProcPid;

		if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		{
			ereport(LOG,
					(errmsg("could not start a vecpersist prewarm worker for database \"%s\"",
							dbname),
					 errhint("More background workers may be needed: max_worker_processes.")));
			continue;
		}
		(void) WaitForBackgroundWorkerShutdown(handle);
	}
}

/*
 * Prewarm one index in its own transaction; log what happened and go on.
 */
static void
PrewarmOne(Oid indexoid)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		Oid			heapoid;
		Relation	index;
		instr_time	start,
					elapsed;
		int64		nodes;

		StartTransactionCommand();
		INSTR_TIME_SET_CURRENT(start);
		index = OpenHnswIndex(indexoid, &heapoid);
		nodes = PrewarmIndex(index);
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
		ereport(LOG,
				(errmsg("prewarmed hnsw graph of index \"%s\": %lld nodes in %.1f ms",
						RelationGetRelationName(index), (long long) nodes,
						INSTR_TIME_GET_MILLISEC(elapsed))));
		relation_close(index, AccessShareLock);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
}

/*
 * The OIDs of the hnsw indexes of this database that the items name.
 */
static List *
IndexesToPrewarm(const char *dbname)
{
	List	   *oids = NIL;
	ListCell   *lc;

	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	foreach(lc, PrewarmItems())
	{
		char	   *item = lfirst(lc);
		char	   *colon = strchr(item, ':');
		char	   *db = ItemDatabase(item);
		int			ret;
		uint64		i;

		if (strcmp(db, dbname) != 0)
			continue;
		if (colon == NULL)
			ret = SPI_execute("SELECT c.oid FROM pg_catalog.pg_class c "
							  "JOIN pg_catalog.pg_am a ON a.oid = c.relam "
							  "JOIN pg_catalog.pg_proc p ON p.oid = a.amhandler "
							  "JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid "
							  "WHERE c.relkind = 'i' AND i.indisvalid "
							  "AND p.proname = 'vecpersist_hnsw_handler' "
							  "ORDER BY c.oid", true, 0);
		else
		{
			Oid			argtypes[1] = {TEXTOID};
			Datum		args[1] = {CStringGetTextDatum(colon + 1)};

			ret = SPI_execute_with_args("SELECT pg_catalog.to_regclass($1)::oid",
										1, argtypes, args, NULL, true, 1);
		}
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "could not list hnsw indexes to prewarm: %s",
				 SPI_result_code_string(ret));
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		oid = SPI_getbinval(SPI_tuptable->vals[i],
											SPI_tuptable->tupdesc, 1, &isnull);

			if (isnull)
			{
				ereport(LOG,
						(errmsg("vecpersist.prewarm names index \"%s\", which database \"%s\" does not have",
								colon + 1, dbname)));
				continue;
			}
			{
				MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

				oids = list_append_unique_oid(oids, DatumGetObjectId(oid));
				MemoryContextSwitchTo(oldcxt);
			}
		}
	}
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	return oids;
}

/*
 * A database worker: connect and prewarm what the items name there.
 */
void
vp_prewarm_database_main(Datum main_arg)
{
	char		dbname[BGW_EXTRALEN];
	List	   *oids;
	ListCell   *lc;

	(void) main_arg;
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, sizeof(dbname));
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgstat_report_appname("vecpersist prewarm");

	oids = IndexesToPrewarm(dbname);
	foreach(lc, oids)
	{
		CHECK_FOR_INTERRUPTS();
		PrewarmOne(lfirst_oid(lc));
	}
}
