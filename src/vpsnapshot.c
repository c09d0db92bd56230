/*-------------------------------------------------------------------------
 *
 * vpsnapshot.c
 *	  Graph snapshots: writing them (a background worker), reading and
 *	  verifying them, and removing those of relations that are gone.
 *
 * A snapshot is a file $PGDATA/pg_vecpersist/<db>_<tablespace>_<relfilenode>.snap
 * holding a graph's image (node info, flags, links, entry point and
 * counters: vpgraph.h) and the mark it reflects (relfilenode, build_id,
 * watermark, vacuum epoch), sealed with a CRC32C.  Never the vectors: the
 * index pages hold them, and loading reads them back from there (one
 * sequential read of the chain), which is also how every node is checked
 * against the index (vpcache.c, LoadSnapshot).  Like pg_stat_statements'
 * and autoprewarm's files they live in the data directory without WAL: a
 * snapshot is a cache of a cache, pg_basebackup carries them to a new
 * standby, and losing one costs a rebuild.
 *
 * The writer is a background worker started with the server (under
 * shared_preload_libraries), also on hot standbys, which keep snapshots of
 * their own graphs.  It saves a graph right after it was built, every
 * vecpersist.snapshot_interval if it changed, and at clean shutdown
 * (unless vecpersist.snapshots is off, which also stops loading).  Each
 * file is written to a temporary name, fsynced, and renamed durably, so a
 * crash leaves the old snapshot or the new one, never half of one.  A save
 * holds no lock while it writes: it takes the graph's counters and mark
 * under the absorb lock for a moment, then copies the image beside any
 * inserts (what they add after that moment is left out, and caught up from
 * the pages at load).
 *
 * Files of dropped indexes are removed by the dropping backend, and any
 * file whose relation file no longer exists (DROP replayed on a standby,
 * REINDEX, TRUNCATE, DROP DATABASE) by the writer when it starts and at
 * every interval.
 *
 * IDENTIFICATION
 *	  src/vpsnapshot.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "common/relpath.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/pg_crc32c.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "vecpersist.h"
#include "vpsnapshot.h"

#define VP_SNAPSHOT_DIR		"pg_vecpersist"
#define VP_SNAPSHOT_MAGIC	0x56505353	/* "VPSS" */
#define VP_SNAPSHOT_VERSION	1

/* how often the writer looks for changed graphs and stale files */
#define VP_WRITER_TICK_MS	10000

/* The header of a snapshot file; the image follows */
typedef struct VpSnapshotFileHeader
{
	uint32		magic;			/* VP_SNAPSHOT_MAGIC */
	uint32		version;		/* VP_SNAPSHOT_VERSION */
	uint32		header_bytes;	/* sizeof(VpSnapshotFileHeader) */
	uint32		unused;
	Oid			dbid;
	Oid			spcoid;
	Oid			relfilenode;
	Oid			indexoid;
	uint64		build_id;
	VpGraphMark mark;
	VpGraphImageHeader image_header;
	uint64		image_bytes;
	TimestampTz saved_at;
	pg_crc32c	crc;			/* of this header (crc 0) and the image */
} VpSnapshotFileHeader;

/* GUC variables */
bool		vp_snapshots = true;
int			vp_snapshot_interval = 300;

PGDLLEXPORT void vp_snapshot_writer_main(Datum main_arg);

/*
 * The snapshot file of a relation.
 */
static void
SnapshotPath(char *path, size_t size, RelFileNode rnode, bool temp)
{
	snprintf(path, size, "%s/%u_%u_%u.snap%s", VP_SNAPSHOT_DIR,
			 rnode.dbNode, rnode.spcNode, rnode.relNode, temp ? ".tmp" : "");
}

/*
 * CRC32C of a header (its crc field as zero) and an image.
 */
static pg_crc32c
SnapshotCrc(const VpSnapshotFileHeader *hdr, const char *image, size_t bytes)
{
	VpSnapshotFileHeader copy = *hdr;
	pg_crc32c	crc;

	copy.crc = 0;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &copy, sizeof(copy));
	COMP_CRC32C(crc, image, bytes);
	FIN_CRC32C(crc);
	return crc;
}

/*
 * Log that a snapshot was not used, and why, and remove it: the graph is
 * rebuilt from the pages, and the next save writes a good one.
 */
void
VpSnapshotReject(Relation index, const char *reason)
{
	char		path[MAXPGPATH];

	SnapshotPath(path, sizeof(path), index->rd_node, false);
	ereport(LOG,
			(errmsg("snapshot of hnsw index \"%s\" not used: %s",
					RelationGetRelationName(index), reason),
			 errdetail("The graph is rebuilt from the index pages.")));
	if (unlink(path) != 0 && errno != ENOENT)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", path)));
}

/*
 * Read and verify the snapshot of an index (see the file header).  NULL
 * when there is none, or when it does not verify (logged, removed).
 */
VpSnapshotData *
VpSnapshotRead(Relation index, const VpMetaPageData *meta)
{
	char		path[MAXPGPATH];
	VpSnapshotFileHeader hdr;
	VpSnapshotData *snap;
	struct stat st;
	FILE	   *file;
	const char *why = NULL;

	if (!vp_snapshots)
		return NULL;
	SnapshotPath(path, sizeof(path), index->rd_node, false);
	file = AllocateFile(path, PG_BINARY_R);
	if (file == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\": %m", path)));
		return NULL;
	}
	if (fstat(fileno(file), &st) != 0 ||
		fread(&hdr, sizeof(hdr), 1, file) != 1)
		why = "it is truncated";
	else if (hdr.magic != VP_SNAPSHOT_MAGIC || hdr.header_bytes != sizeof(hdr))
		why = "it is not a vecpersist snapshot";
	else if (hdr.version != VP_SNAPSHOT_VERSION)
		why = "it has another format version";
	else if (hdr.dbid != MyDatabaseId ||
			 hdr.spcoid != index->rd_node.spcNode ||
			 hdr.relfilenode != index->rd_node.relNode ||
			 hdr.mark.relfilenode != index->rd_node.relNode)
		why = "it belongs to another relation";
	else if (hdr.build_id != meta->build_id ||
			 hdr.mark.build_id != meta->build_id)
		why = "it was taken of an earlier build of the index";
	else if (hdr.image_bytes != VpGraphImageBytes(&hdr.image_header) ||
			 (uint64) st.st_size != sizeof(hdr) + hdr.image_bytes ||
			 hdr.image_header.count < 0)
		why = "its length does not match its header";
	else if (hdr.mark.items_seen > meta->items_appended ||
			 hdr.mark.vacuum_epoch > meta->vacuum_epoch)
		why = "it is ahead of the index";
	if (why != NULL)
	{
		FreeFile(file);
		VpSnapshotReject(index, why);
		return NULL;
	}

	snap = palloc0(sizeof(VpSnapshotData));
	snap->mark = hdr.mark;
	snap->image_header = hdr.image_header;
	snap->image_bytes = hdr.image_bytes;
	snap->file_bytes = st.st_size;
	snap->saved_at = hdr.saved_at;
	snap->image = MemoryContextAllocHuge(CurrentMemoryContext,
										 Max(hdr.image_bytes, 1));
	if (hdr.image_bytes > 0 &&
		fread(snap->image, 1, hdr.image_bytes, file) != hdr.image_bytes)
		why = "it is truncated";
	else if (SnapshotCrc(&hdr, snap->image, hdr.image_bytes) != hdr.crc)
		why = "its checksum does not match its contents";
	FreeFile(file);
	if (why != NULL)
	{
		VpSnapshotFree(snap);
		VpSnapshotReject(index, why);
		return NULL;
	}
	return snap;
}

void
VpSnapshotFree(VpSnapshotData *snap)
{
	if (snap->image)
		pfree(snap->image);
	pfree(snap);
}

/*
 * Remove the snapshot of a relation being dropped (object access hook).
 * Its storage is known from pg_class; if the drop rolls back, the graph is
 * rebuilt and saved again.
 */
void
VpSnapshotForget(Oid relid)
{
	HeapTuple	tuple;
	Form_pg_class form;
	RelFileNode rnode;
	char		path[MAXPGPATH];

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		return;
	form = (Form_pg_class) GETSTRUCT(tuple);
	if (form->relkind != RELKIND_INDEX || !OidIsValid(form->relfilenode))
	{
		ReleaseSysCache(tuple);
		return;
	}
	rnode.spcNode = OidIsValid(form->reltablespace) ?
		form->reltablespace : MyDatabaseTableSpace;
	rnode.dbNode = MyDatabaseId;
	rnode.relNode = form->relfilenode;
	ReleaseSysCache(tuple);
	SnapshotPath(path, sizeof(path), rnode, false);
	if (unlink(path) != 0 && errno != ENOENT)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", path)));
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------
 */

/*
 * Write a snapshot file crash-safely: temporary file, fsync, durable
 * rename.  Returns false (logged) on any I/O error; the old snapshot, if
 * any, is then untouched.
 */
static bool
WriteSnapshotFile(RelFileNode rnode, VpSnapshotFileHeader *hdr,
				  const char *image)
{
	char		path[MAXPGPATH];
	char		tmp[MAXPGPATH];
	int			fd;
	const char *p;
	size_t		left;

	SnapshotPath(path, sizeof(path), rnode, false);
	SnapshotPath(tmp, sizeof(tmp), rnode, true);
	hdr->crc = SnapshotCrc(hdr, image, hdr->image_bytes);

	fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", tmp)));
		return false;
	}
	if (write(fd, hdr, sizeof(*hdr)) != (ssize_t) sizeof(*hdr))
		goto fail;
	p = image;
	left = hdr->image_bytes;
	while (left > 0)
	{
		ssize_t		n = write(fd, p, Min(left, (size_t) 1 << 24));

		if (n <= 0)
			goto fail;
		p += n;
		left -= n;
	}
	if (pg_fsync(fd) != 0)
		goto fail;
	if (CloseTransientFile(fd) != 0)
	{
		fd = -1;
		goto fail;
	}
	return durable_rename(tmp, path, LOG) == 0;

fail:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not write file \"%s\": %m", tmp)));
	if (fd >= 0)
		CloseTransientFile(fd);
	unlink(tmp);
	return false;
}

/*
 * Link in the nodes of a changed graph that no search can reach or find
 * (vpgraphrepair.c), beside its searches and inserts.  A build, a load and
 * a deletion pass repair the graph themselves; inserts do not (each only
 * makes sure that it is listed when it is linked, and later inserts may
 * push it out of every list), so the writer does, before each periodic
 * save.  The slot is pinned by the caller.
 */
static void
RepairTarget(VpCacheSlot *slot, const VpSnapshotTarget *target)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "vecpersist repair",
											  ALLOCSET_DEFAULT_SIZES);
	VpAllocator allocator = VpMakeAllocator(cxt);
	VpGraph    *graph = VpCacheLinkBegin(slot, target->incarnation);
	VpRepairStats stats;
	int			rc;

	if (graph == NULL)
	{
		MemoryContextDelete(cxt);
		return;
	}
	rc = VpGraphRepair(graph, &allocator, 0, 1, &stats);
	VpCacheLinkEnd(slot);
	MemoryContextDelete(cxt);
	if (rc != 0)
		return;
	VpCacheNoteRepair(slot, &stats);
	if (stats.repaired > 0)
		ereport(LOG,
				(errmsg("linked %d nodes back into the hnsw graph of index %u in database %u",
						stats.repaired, target->indexoid, target->dbid),
				 errdetail("%d nodes were unreachable and %d listed by none of their neighbours after inserts; %d remain unreachable.",
						   stats.unreachable, stats.hidden, stats.remaining)));
}

/*
 * Save the snapshot of one cached graph (repaired first if repair).  Pins
 * its slot and holds a reference on its region while it copies; the
 * absorb lock only for the moment the counters and the mark are read.
 */
static void
SaveTarget(const VpSnapshotTarget *target, bool repair)
{
	VpCacheSlot *slot;
	VpGraph    *graph;
	const VpGraph *reading;
	VpSnapshotFileHeader hdr;
	char	   *image;
	MemoryContext cxt;
	MemoryContext oldcxt;
	instr_time	start,
				elapsed;

	if (!VpCachePinTarget(target))
		return;
	slot = VpCacheSlotByIndex(target->slot_index);
	if (repair)
		RepairTarget(slot, target);
	reading = VpCacheReadBegin(slot, target->incarnation);
	if (reading == NULL)
	{
		VpCacheRelease(slot);
		return;
	}

	INSTR_TIME_SET_CURRENT(start);
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = VP_SNAPSHOT_MAGIC;
	hdr.version = VP_SNAPSHOT_VERSION;
	hdr.header_bytes = sizeof(hdr);
	hdr.dbid = target->dbid;
	hdr.spcoid = target->rnode.spcNode;
	hdr.relfilenode = target->rnode.relNode;
	hdr.indexoid = target->indexoid;
	if (!VpCacheAbsorbBegin(slot, target->incarnation, &graph, &hdr.mark))
	{
		VpCacheReadEnd(slot);
		VpCacheRelease(slot);
		return;
	}
	VpGraphImageCapture(reading, &hdr.image_header);
	VpCacheAbsorbEnd(slot, NULL, 0);
	hdr.build_id = hdr.mark.build_id;
	hdr.image_bytes = VpGraphImageBytes(&hdr.image_header);
	hdr.saved_at = GetCurrentTimestamp();

	cxt = AllocSetContextCreate(CurrentMemoryContext, "vecpersist snapshot",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	image = MemoryContextAllocHuge(cxt, Max(hdr.image_bytes, 1));
	VpGraphImageCopy(reading, &hdr.image_header, image);
	VpCacheReadEnd(slot);

	if (WriteSnapshotFile(target->rnode, &hdr, image))
	{
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
		VpCacheNoteSaved(slot, target->changes, sizeof(hdr) + hdr.image_bytes);

		/*
		 * At LOG, as builds and loads are: a save comes at most once per
		 * snapshot_interval per changed graph, and its cost is what a user
		 * weighs when choosing that interval.  The writer is connected to no
		 * database, so the index is named by OIDs.
		 */
		ereport(LOG,
				(errmsg("saved snapshot of hnsw index %u in database %u: %d nodes, %zu bytes in %.1f ms",
						target->indexoid, target->dbid, hdr.image_header.count,
						(size_t) (sizeof(hdr) + hdr.image_bytes),
						INSTR_TIME_GET_MILLISEC(elapsed))));
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	VpCacheRelease(slot);
}

/*
 * Save the graphs that changed: those never saved (fresh builds) at once,
 * the others once snapshot_interval passed since their last save; all of
 * them when shutting down.
 */
static void
SaveChanged(bool shutdown)
{
	VpSnapshotTarget *targets;
	int			max = Max(vp_cache_max_graphs, 1);
	int			n;
	int			i;
	TimestampTz now = GetCurrentTimestamp();

	if (!vp_snapshots)
		return;
	targets = palloc(sizeof(VpSnapshotTarget) * max);
	n = VpCacheSnapshotTargets(targets, max, false);
	for (i = 0; i < n; i++)
	{
		VpSnapshotTarget *t = &targets[i];
		bool		due = shutdown || t->saved_at == 0 ||
			(vp_snapshot_interval > 0 &&
			 TimestampDifferenceExceeds(t->saved_at, now,
										vp_snapshot_interval * 1000));

		if (!due)
			continue;
		/* a fresh build was repaired; shutdown should be quick */
		SaveTarget(t, !shutdown && t->saved_at != 0);
		CHECK_FOR_INTERRUPTS();
	}
	pfree(targets);
}

/*
 * Remove snapshot files whose relation file no longer exists (or is
 * empty: PostgreSQL truncates a dropped relation at commit and unlinks it
 * at the next checkpoint), and leftover temporary files.
 */
static void
RemoveStaleSnapshots(void)
{
	DIR		   *dir;
	struct dirent *de;

	dir = AllocateDir(VP_SNAPSHOT_DIR);
	if (dir == NULL)
		return;
	while ((de = ReadDir(dir, VP_SNAPSHOT_DIR)) != NULL)
	{
		RelFileNode rnode;
		char		path[MAXPGPATH];
		char		suffix[16];
		char	   *rel;
		struct stat st;
		bool		stale = false;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", VP_SNAPSHOT_DIR, de->d_name);
		if (sscanf(de->d_name, "%u_%u_%u.%15s", &rnode.dbNode,
				   &rnode.spcNode, &rnode.relNode, suffix) != 4 ||
			strcmp(suffix, "snap") != 0)
			stale = true;		/* temporary or foreign */
		else
		{
			rel = relpathperm(rnode, MAIN_FORKNUM);
			stale = stat(rel, &st) != 0 || st.st_size == 0;
			pfree(rel);
		}
		if (stale && unlink(path) != 0 && errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not remove file \"%s\": %m", path)));
	}
	FreeDir(dir);
}

/*
 * Before the writer exits: nobody is to wake it any more.
 */
static void
WriterExit(int code, Datum arg)
{
	(void) code;
	(void) arg;
	if (VpCacheAvailable())
		VpCacheSetWriter(NULL);
}

/*
 * The snapshot writer's main loop (see the file header).
 */
void
vp_snapshot_writer_main(Datum main_arg)
{
	TimestampTz last_cleanup;

	(void) main_arg;
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	if (!VpCacheAvailable())
		proc_exit(0);
	if (MakePGDirectory(VP_SNAPSHOT_DIR) != 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", VP_SNAPSHOT_DIR)));
	before_shmem_exit(WriterExit, 0);
	VpCacheSetWriter(MyLatch);
	RemoveStaleSnapshots();
	last_cleanup = GetCurrentTimestamp();

	while (!ShutdownRequestPending)
	{
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 VP_WRITER_TICK_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (ShutdownRequestPending)
			break;
		SaveChanged(false);
		if (TimestampDifferenceExceeds(last_cleanup, GetCurrentTimestamp(),
									   Max(vp_snapshot_interval, 60) * 1000))
		{
			RemoveStaleSnapshots();
			last_cleanup = GetCurrentTimestamp();
		}
	}

	/* clean shutdown: every graph that changed since its last save */
	SaveChanged(true);
	proc_exit(0);
}

/*
 * Called by _PG_init: the settings always; the writer only under
 * shared_preload_libraries (there is no shared cache without it).
 */
void
VpSnapshotInit(void)
{
	BackgroundWorker worker;

	DefineCustomBoolVariable("vecpersist.snapshots",
							 "Saves hnsw graphs as snapshots and loads them after a restart.",
							 "Off, every graph is built again from the index pages after a restart, and no snapshot is written or read.",
							 &vp_snapshots,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("vecpersist.snapshot_interval",
							"Sets how often changed hnsw graphs are saved as snapshots.",
							"Snapshots let a graph come back after a restart without a rebuild. They are also saved after a build and at shutdown; 0 turns only the periodic saves off.",
							&vp_snapshot_interval,
							300, 0, INT_MAX / 1000,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "vecpersist");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "vp_snapshot_writer_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "vecpersist snapshot writer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "vecpersist snapshot writer");
	RegisterBackgroundWorker(&worker);
}
