/*-------------------------------------------------------------------------
 *
 * vpbuild.c
 *	  ambuild and ambuildempty for hnsw: write the vector log, then build
 *	  the graph from it.
 *
 * The build scans the heap and appends every indexable vector to the
 * chain of data pages through shared buffers without WAL (the relation is
 * new, nobody else can see it), then WAL-logs all pages at once with
 * log_newpage_range.  It then builds the in-memory graph by reading the
 * pages back with the same code that rebuilds a graph after a restart, so
 * there is one way to turn pages into a graph; with the shared cache the
 * graph lands there, so the first query after CREATE INDEX, in any
 * session, is already fast.
 *
 * IDENTIFICATION
 *	  src/vpbuild.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"

#include "vecpersist.h"
#include "vector.h"
#include "vpdistance.h"
#include "vppage.h"

typedef struct VpBuildState
{
	Relation	index;
	int			metric;
	VpMetaPageData meta;		/* written to block 0 at the end */
	Buffer		tail_buf;		/* current tail page, exclusive-locked */
	double		heap_tuples;	/* heap tuples seen */
	double		index_tuples;	/* vectors appended */
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
 * Check dims against the index's dimension count, fixing it on first use.
 * Errors for a vector of another length, as no graph can mix them.
 */
void
VpCheckDims(Relation index, VpMetaPage meta, int dims)
{
	if (meta->dims == 0)
		meta->dims = dims;
	else if ((int) meta->dims != dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %u dimensions, not %d", meta->dims, dims),
				 errdetail("Every vector in hnsw index \"%s\" must have the same number of dimensions.",
						   RelationGetRelationName(index))));
}

/*
 * Does a vector belong in the index?  Zero vectors have no direction, so
 * a cosine index cannot place them (pgvector skips them too).
 */
bool
VpVectorIsIndexable(int metric, const float *x, int dims)
{
	if (metric == VP_METRIC_COSINE)
	{
		float		dot,
					norm_a,
					norm_b;

		vp_kernels.cosine_parts(x, x, dims, &dot, &norm_a, &norm_b);
		return norm_a > 0;
	}
	return true;
}

/*
 * Link npages fresh pages to the end of the chain, returning them in
 * pages[] and their buffers (pinned, exclusive-locked, dirty) in bufs[].
 * The previous tail stays locked: the caller releases it.
 */
static void
AddPages(VpBuildState *state, int npages, Page *pages, Buffer *bufs)
{
	Buffer		prev = state->tail_buf;
	int			i;

	for (i = 0; i < npages; i++)
	{
		bufs[i] = VpNewBuffer(state->index, &state->meta);
		pages[i] = BufferGetPage(bufs[i]);
		VpInitPage(pages[i], VP_PAGE_DATA);
		VpLinkPage(&state->meta,
				   BufferIsValid(prev) ? BufferGetPage(prev) : NULL,
				   BufferIsValid(prev) ? BufferGetBlockNumber(prev) : InvalidBlockNumber,
				   pages[i], BufferGetBlockNumber(bufs[i]));
		MarkBufferDirty(bufs[i]);
		prev = bufs[i];
	}
}

/*
 * Append one vector to the chain (no WAL: the build logs every page at
 * the end).  Only the tail page stays locked between calls.
 */
static void
BuildAppend(VpBuildState *state, ItemPointer tid, const float *x, int dims)
{
	int			npages = VpItemPages(dims);
	Page		pages[VP_MAX_ITEM_PAGES];
	Buffer		bufs[VP_MAX_ITEM_PAGES];
	Buffer		tail = state->tail_buf;
	int			i;

	if (npages == 1 && BufferIsValid(tail) &&
		VpPageFits(BufferGetPage(tail), dims))
	{
		pages[0] = BufferGetPage(tail);
		VpFillItemPages(pages, 1, tid, x, dims);
		MarkBufferDirty(tail);
	}
	else
	{
		AddPages(state, npages, pages, bufs);
		VpFillItemPages(pages, npages, tid, x, dims);
		if (BufferIsValid(tail))
		{
			MarkBufferDirty(tail);
			UnlockReleaseBuffer(tail);
		}
		for (i = 0; i < npages - 1; i++)
			UnlockReleaseBuffer(bufs[i]);
		state->tail_buf = bufs[npages - 1];
	}
	state->meta.items_appended++;
	state->index_tuples++;
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
	Vector	   *vec;

	(void) tupleIsAlive;

	CHECK_FOR_INTERRUPTS();
	state->heap_tuples++;
	if (isnull[0])
		return;

	oldcxt = MemoryContextSwitchTo(state->tmpcxt);
	vec = DatumGetVector(values[0]);
	VpCheckDims(index, &state->meta, vec->dim);
	if (VpVectorIsIndexable(state->metric, vec->x, vec->dim))
		BuildAppend(state, tid, vec->x, vec->dim);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->tmpcxt);
}

/*
 * Check the reloptions that depend on each other.
 */
static void
CheckOptions(Relation index)
{
	int			m = VpGetM(index);
	int			ef_construction = VpGetEfConstruction(index);

	if (ef_construction < 2 * m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be at least 2 * m"),
				 errdetail("ef_construction is %d and m is %d.",
						   ef_construction, m),
				 errhint("Raise ef_construction to %d or lower m.", 2 * m)));
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

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data",
			 RelationGetRelationName(index));
	CheckOptions(index);

	memset(&state, 0, sizeof(state));
	state.index = index;
	state.metric = VpGetMetric(index);
	state.tail_buf = InvalidBuffer;
	state.tmpcxt = AllocSetContextCreate(CurrentMemoryContext,
										 "vecpersist build tuple",
										 ALLOCSET_DEFAULT_SIZES);

	/* block 0: the metapage, filled in at the end; no free list yet */
	state.meta.free_head = InvalidBlockNumber;
	metabuf = VpNewBuffer(index, &state.meta);
	Assert(BufferGetBlockNumber(metabuf) == VP_METAPAGE_BLKNO);
	metapage = BufferGetPage(metabuf);
	VpInitMetaPage(metapage, state.metric, VpGetM(index),
				   VpGetEfConstruction(index));
	memcpy(&state.meta, VpPageGetMeta(metapage), sizeof(VpMetaPageData));
	state.meta.build_id = NewBuildId();
	MarkBufferDirty(metabuf);
	LockBuffer(metabuf, BUFFER_LOCK_UNLOCK);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, VP_PHASE_LOAD);
	table_index_build_scan(heap, index, indexInfo, true, true,
						   BuildCallback, &state, NULL);
	if (BufferIsValid(state.tail_buf))
	{
		MarkBufferDirty(state.tail_buf);
		UnlockReleaseBuffer(state.tail_buf);
	}

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

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = state.heap_tuples;
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
	int			m = VpGetM(index);
	int			ef_construction = VpGetEfConstruction(index);
	uint64		build_id = NewBuildId();
	Buffer		buf;
	Page		page;

	buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);

	START_CRIT_SECTION();
	VpInitMetaPage(page, metric, m, ef_construction);
	VpPageGetMeta(page)->build_id = build_id;
	VpMetaSetCrc(VpPageGetMeta(page));
	MarkBufferDirty(buf);
	log_newpage_buffer(buf, true);
	END_CRIT_SECTION();

	UnlockReleaseBuffer(buf);
}
