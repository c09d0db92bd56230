/*-------------------------------------------------------------------------
 *
 * vpbuild.c
 *	  ambuild and ambuildempty for hnsw: write the vector log, then build
 *	  the graph from it.
 *
 * The build scans the heap and appends every indexable value to the chain
 * of data pages through shared buffers without WAL (the relation is new,
 * nobody else can see it), then WAL-logs all pages at once with
 * log_newpage_range.  Between heap tuples no buffer is locked (the tail
 * page stays pinned only), so a cancel or a statement timeout takes effect
 * at once: a held content lock would hold interrupts off for the whole
 * load.  The build then makes the graph by reading the pages back with the
 * same code that rebuilds a graph after a restart, so there is one way to
 * turn pages into a graph; with the shared cache the graph is laid out in
 * the cache directly, so the first query after CREATE INDEX, in any
 * session, is already fast.
 *
 * IDENTIFICATION
 *	  src/vpbuild.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "access/xloginsert.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"

#include "vecpersist.h"
#include "vppage.h"

typedef struct VpBuildState
{
	Relation	index;
	const VpTypeSupport *support;
	int			metric;
	VpMetaPageData meta;		/* written to block 0 at the end */
	Buffer		tail_buf;		/* current tail page, pinned (not locked) */
	double		index_tuples;	/* values appended */
	MemoryContext tmpcxt;		/* reset per tuple */
} VpBuildState;

/*
 * Random build id: lets cached graphs tell this index apart from an
 * earlier one that had the same OID and relfilenode.
 */
static uint64
NewBuildId(void)
{
	uint64		id = VpRandomU64();

	return id != 0 ? id : 1;
}

/*
 * Append one value to the chain (no WAL: the build logs every page at the
 * end).  The tail is locked only while it changes.
 */
static void
BuildAppend(VpBuildState *state, ItemPointer tid, const VpPayload *payload)
{
	Buffer		bufs[VP_MAX_ITEM_PAGES + 1];
	Page		pages[VP_MAX_ITEM_PAGES + 1];
	Buffer		tail = state->tail_buf;
	int			plan;
	int			nnew;
	int			npages = 0;
	int			first;
	int			i;
	OffsetNumber off;

	if (BufferIsValid(tail))
		LockBuffer(tail, BUFFER_LOCK_EXCLUSIVE);
	plan = VpAppendPages(BufferIsValid(tail) ? BufferGetPage(tail) : NULL,
						 (uint32) payload->len);
	nnew = plan < 0 ? -plan : plan;
	if (BufferIsValid(tail))
	{
		bufs[npages] = tail;
		pages[npages++] = BufferGetPage(tail);
	}
	first = (plan >= 0 && BufferIsValid(tail)) ? 0 : npages;
	for (i = 0; i < nnew; i++)
	{
		Buffer		buf = VpNewBuffer(state->index, &state->meta);
		Page		prev = npages > 0 ? pages[npages - 1] : NULL;

		bufs[npages] = buf;
		pages[npages] = BufferGetPage(buf);
		VpInitPage(pages[npages], VP_PAGE_DATA);
		VpLinkPage(&state->meta, prev,
				   npages > 0 ? BufferGetBlockNumber(bufs[npages - 1]) : InvalidBlockNumber,
				   pages[npages], BufferGetBlockNumber(buf));
		npages++;
	}
	off = VpFillItemPages(&pages[first], npages - first, tid, payload);
	state->meta.items_appended++;
	state->meta.payload_bytes += payload->len;
	state->meta.last_key = VpMakeItemKey(VpPageGetOpaque(pages[first])->seq, off);
	state->index_tuples++;

	for (i = 0; i < npages; i++)
	{
		MarkBufferDirty(bufs[i]);
		LockBuffer(bufs[i], BUFFER_LOCK_UNLOCK);
		if (i < npages - 1)
			ReleaseBuffer(bufs[i]);
	}
	state->tail_buf = bufs[npages - 1];
}

/*
 * table_index_build_scan callback: one heap tuple.
 */
static void
BuildCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			  bool tupleIsAlive, void *arg)
{
	VpBuildState *state = (VpBuildState *) arg;
	MemoryContext oldcxt;
	VpPayload	payload;

	(void) tupleIsAlive;

	CHECK_FOR_INTERRUPTS();
	if (isnull[0])
		return;

	oldcxt = MemoryContextSwitchTo(state->tmpcxt);
	state->support->datum_to_payload(values[0], &payload);
	VpCheckIndexable(index, state->support, &payload);
	VpCheckPayload(index, &state->meta, &payload);
	if (VpPayloadIsIndexable(state->metric, &payload))
		BuildAppend(state, tid, &payload);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->tmpcxt);
}

/*
 * Check the options and the column before anything is written, with
 * pgvector's messages.
 */
static void
CheckBuild(Relation index, const VpTypeSupport *support)
{
	int			m = VpGetM(index);
	int			ef_construction = VpGetEfConstruction(index);
	Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(index), 0);
	int			typmod = attr->atttypmod;

	if (ef_construction < 2 * m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be greater than or equal to 2 * m"),
				 errdetail("ef_construction is %d and m is %d.",
						   ef_construction, m),
				 errhint("Raise ef_construction to %d or lower m.", 2 * m)));
	/* a bit string index needs one length: bit(n), not bit varying */
	if (attr->atttypid == VARBITOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("type not supported for hnsw index")));
	if (typmod > support->max_dims)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for hnsw index",
						support->max_dims)));
}

/*
 * ambuild: write the vector log and build the graph.
 */
IndexBuildResult *
vpbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	VpBuildState state;
	IndexBuildResult *result;
	Buffer		metabuf;
	Page		metapage;
	BlockNumber nblocks;
	double		heap_tuples;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data",
			 RelationGetRelationName(index));

	memset(&state, 0, sizeof(state));
	state.index = index;
	state.support = VpGetTypeSupport(index);
	state.metric = VpGetMetric(index);
	CheckBuild(index, state.support);
	state.tail_buf = InvalidBuffer;
	state.tmpcxt = AllocSetContextCreate(CurrentMemoryContext,
										 "vecpersist build tuple",
										 ALLOCSET_DEFAULT_SIZES);

	/* block 0: the metapage, filled in at the end; no free list yet */
	state.meta.free_head = InvalidBlockNumber;
	metabuf = VpNewBuffer(index, &state.meta);
	Assert(BufferGetBlockNumber(metabuf) == VP_METAPAGE_BLKNO);
	metapage = BufferGetPage(metabuf);
	VpInitMetaPage(metapage, state.metric, state.support->kind, VpGetM(index),
				   VpGetEfConstruction(index));
	memcpy(&state.meta, VpPageGetMeta(metapage), sizeof(VpMetaPageData));
	state.meta.build_id = NewBuildId();
	MarkBufferDirty(metabuf);
	LockBuffer(metabuf, BUFFER_LOCK_UNLOCK);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, VP_PHASE_LOAD);
	heap_tuples = table_index_build_scan(heap, index, indexInfo, true, true,
										 BuildCallback, &state, NULL);
	if (BufferIsValid(state.tail_buf))
		ReleaseBuffer(state.tail_buf);

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	VpMetaSetCrc(&state.meta);
	memcpy(VpPageGetMeta(metapage), &state.meta, sizeof(VpMetaPageData));
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	nblocks = RelationGetNumberOfBlocks(index);
	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, nblocks, true);

	MemoryContextDelete(state.tmpcxt);

	/* now the graph, from the pages just written */
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, VP_PHASE_GRAPH);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
								 (int64) state.index_tuples);
	VpBuildGraphFromPages(index);

	/*
	 * The heap tuples the scan saw (for a partial index, not just the ones
	 * that match its predicate): PostgreSQL sets the table's reltuples from
	 * this.
	 */
	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = heap_tuples;
	result->index_tuples = state.index_tuples;
	return result;
}

/*
 * ambuildempty: the init fork of an unlogged index holds just a metapage.
 * It is WAL-logged even though the index is not, or a standby or a crash
 * would lose it.  Catalog look-ups happen before the critical section.
 */
void
vpbuildempty(Relation index)
{
	int			metric = VpGetMetric(index);
	int			kind = VpGetTypeSupport(index)->kind;
	int			m = VpGetM(index);
	int			ef_construction = VpGetEfConstruction(index);
	uint64		build_id = NewBuildId();
	Buffer		buf;
	Page		page;

	buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);

	START_CRIT_SECTION();
	VpInitMetaPage(page, metric, kind, m, ef_construction);
	VpPageGetMeta(page)->build_id = build_id;
	VpMetaSetCrc(VpPageGetMeta(page));
	MarkBufferDirty(buf);
	log_newpage_buffer(buf, true);
	END_CRIT_SECTION();

	UnlockReleaseBuffer(buf);
}
