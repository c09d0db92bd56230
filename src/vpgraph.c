/*-------------------------------------------------------------------------
 *
 * vpgraph.c
 *	  The HNSW graph's region: layout, accessors, copies, scratch memory,
 *	  visited sets, and the images snapshots are made of.
 *
 * The layout is described in vpgraph_internal.h.  Levels are geometric: a
 * node reaches level l >= 1 with probability m^-l, so the expected number
 * of upper-level lists per node is 1/(m - 1); the pool is sized for twice
 * that plus room for two nodes of the maximum level.  When nodes, pool or
 * (SPARSE) arena run out, staging reports VP_GRAPH_FULL without changing
 * anything and the caller copies the graph into a bigger region
 * (VpGraphCopy keeps every id and offset).
 *
 * Memory per node, dims 784 and m 16: a float32 code is 3136 bytes, an SQ8
 * code 800; plus 132 (level-0 list), 32 (node info), 1 (flags) and about
 * 9 (pool share).
 *
 * This file includes no PostgreSQL header: it is compiled into the server
 * module and standalone into the unit tests.
 *
 * IDENTIFICATION
 *	  src/vpgraph.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpgraph_internal.h"

/* Region layout for one set of parameters */
typedef struct GraphLayout
{
	size_t		codes_off;
	size_t		offsets_off;
	size_t		nodes_off;
	size_t		flags_off;
	size_t		level0_off;
	size_t		pool_off;
	size_t		total;
	uint32_t	code_bytes;
	uint32_t	level0_stride;
	uint32_t	upper_stride;
	uint32_t	pool_slots;
} GraphLayout;

/*
 * AddSize, MulSize, AlignSize
 *		size_t arithmetic that reports overflow (returns 0) instead of
 *		wrapping, for sizes derived from caller parameters.
 */
static int
AddSize(size_t a, size_t b, size_t *result)
{
	if (a > SIZE_MAX - b)
		return 0;
	*result = a + b;
	return 1;
}

static int
MulSize(size_t a, size_t b, size_t *result)
{
	if (a != 0 && b > SIZE_MAX / a)
		return 0;
	*result = a * b;
	return 1;
}

static int
AlignSize(size_t a, size_t *result)
{
	if (!AddSize(a, LAYOUT_ALIGN - 1, result))
		return 0;
	*result &= ~((size_t) LAYOUT_ALIGN - 1);
	return 1;
}

/*
 * AddArray
 *		Place an array of n elements of size bytes at *off, and move *off to
 *		the next aligned offset after it.
 */
static int
AddArray(size_t *off, size_t n, size_t size, size_t *placed)
{
	size_t		bytes;

	*placed = *off;
	return MulSize(n, size, &bytes) && AddSize(*off, bytes, off) &&
		AlignSize(*off, off);
}

/*
 * ComputeLayout
 *		Validate params and compute where each array lives.  Returns 0 for
 *		invalid parameters or a size that does not fit size_t.
 */
static int
ComputeLayout(const VpGraphParams *params, GraphLayout *layout)
{
	size_t		off;
	size_t		slots;
	size_t		dummy;

	if (params == NULL ||
		!VpCodesValid(params->codes, params->metric, params->dims) ||
		params->m < 2 || params->m > VP_GRAPH_MAX_M ||
		params->ef_construction < 1 ||
		params->ef_construction > VP_GRAPH_MAX_EF ||
		params->capacity < 1 ||
		(params->codes == VP_CODE_SPARSE) != (params->arena_bytes > 0))
		return 0;

	memset(layout, 0, sizeof(GraphLayout));
	layout->code_bytes = (uint32_t) VpCodeFixedBytes(params->codes, params->dims);
	layout->level0_stride = (uint32_t) (1 + 2 * params->m) * sizeof(int32_t);
	layout->upper_stride = (uint32_t) (1 + params->m) * sizeof(int32_t);

	/* twice the expected upper-level lists, plus two maximal nodes */
	slots = (size_t) params->capacity * 2 / (size_t) (params->m - 1) +
		2 * VP_GRAPH_MAX_LEVEL;
	if (slots > UINT32_MAX)
		slots = UINT32_MAX;
	layout->pool_slots = (uint32_t) slots;

	if (!AlignSize(sizeof(VpGraph), &off))
		return 0;
	if (params->codes == VP_CODE_SPARSE)
	{
		if (params->arena_bytes > SIZE_MAX ||
			!AddArray(&off, (size_t) params->arena_bytes, 1, &layout->codes_off) ||
			!AddArray(&off, (size_t) params->capacity, sizeof(uint64_t),
					  &layout->offsets_off))
			return 0;
	}
	else if (!AddArray(&off, (size_t) params->capacity, layout->code_bytes,
					   &layout->codes_off))
		return 0;
	if (!AddArray(&off, (size_t) params->capacity, sizeof(VpGraphNode),
				  &layout->nodes_off) ||
		!AddArray(&off, (size_t) params->capacity, 1, &layout->flags_off) ||
		!AddArray(&off, (size_t) params->capacity, layout->level0_stride,
				  &layout->level0_off) ||
		!AddArray(&off, slots, layout->upper_stride, &layout->pool_off))
		return 0;
	(void) dummy;
	layout->total = off;
	return 1;
}

/*
 * VpGraphRegionSize
 *		Bytes a region needs for params, or 0 if they are invalid or the
 *		size would overflow size_t.
 */
size_t
VpGraphRegionSize(const VpGraphParams *params)
{
	GraphLayout layout;

	if (!ComputeLayout(params, &layout))
		return 0;
	return layout.total;
}

/*
 * VpGraphInit
 *		Lay out an empty graph at the start of region.  Only the header is
 *		written, so laying out a large region costs nothing up front; node
 *		memory is initialised as nodes are staged.
 */
VpGraph *
VpGraphInit(void *region, size_t size, const VpGraphParams *params)
{
	GraphLayout layout;
	VpGraph    *graph = (VpGraph *) region;

	if (region == NULL || ((uintptr_t) region & 7) != 0 ||
		!ComputeLayout(params, &layout) || size < layout.total)
		return NULL;

	VpDistanceInit();

	memset(graph, 0, sizeof(VpGraph));
	graph->magic = VP_GRAPH_MAGIC;
	graph->version = VP_GRAPH_VERSION;
	graph->params = *params;
	graph->region_bytes = layout.total;
	graph->codes_off = layout.codes_off;
	graph->offsets_off = layout.offsets_off;
	graph->nodes_off = layout.nodes_off;
	graph->flags_off = layout.flags_off;
	graph->level0_off = layout.level0_off;
	graph->pool_off = layout.pool_off;
	graph->code_bytes = layout.code_bytes;
	graph->level0_stride = layout.level0_stride;
	graph->upper_stride = layout.upper_stride;
	graph->pool_slots = layout.pool_slots;
	graph->entry_point = VP_INVALID_NODE;
	graph->rng_state = params->seed;
	return graph;
}

/*
 * SameShape
 *		Whether two graphs store the same kind of nodes (so that node data
 *		can move between them byte for byte).
 */
static int
SameShape(const VpGraph *a, const VpGraph *b)
{
	return a->params.dims == b->params.dims && a->params.m == b->params.m &&
		a->params.metric == b->params.metric &&
		a->params.codes == b->params.codes &&
		a->code_bytes == b->code_bytes &&
		a->level0_stride == b->level0_stride &&
		a->upper_stride == b->upper_stride;
}

/*
 * VpGraphCopy
 *		Copy every staged node of src into the empty graph dst (see
 *		vpgraph.h).  Pool slots and arena offsets keep their values, so
 *		node info is copied verbatim.
 */
int
VpGraphCopy(VpGraph *dst, const VpGraph *src)
{
	int32_t		count;
	int32_t		i;
	uint8_t    *flags;

	if (!GraphIsValid(dst) || !GraphIsValid(src) || dst == src)
		return -1;
	count = LoadAcquire(&src->count);
	if (dst->count != 0 || !SameShape(dst, src) ||
		dst->params.capacity < count || dst->pool_slots < src->pool_used ||
		(src->params.codes == VP_CODE_SPARSE &&
		 dst->params.arena_bytes < src->arena_used))
		return -1;

	if (src->params.codes == VP_CODE_SPARSE)
	{
		memcpy((char *) dst + dst->codes_off,
			   (const char *) src + src->codes_off, src->arena_used);
		memcpy((char *) dst + dst->offsets_off,
			   (const char *) src + src->offsets_off,
			   (size_t) count * sizeof(uint64_t));
		dst->arena_used = src->arena_used;
	}
	else
		memcpy((char *) dst + dst->codes_off,
			   (const char *) src + src->codes_off,
			   (size_t) count * src->code_bytes);
	memcpy((char *) dst + dst->nodes_off,
		   (const char *) src + src->nodes_off,
		   (size_t) count * sizeof(VpGraphNode));
	memcpy((char *) dst + dst->flags_off,
		   (const char *) src + src->flags_off, (size_t) count);
	memcpy((char *) dst + dst->level0_off,
		   (const char *) src + src->level0_off,
		   (size_t) count * src->level0_stride);
	memcpy((char *) dst + dst->pool_off,
		   (const char *) src + src->pool_off,
		   (size_t) src->pool_used * src->upper_stride);

	/* no writer is active: no node is locked, and a claim is a link */
	flags = (uint8_t *) dst + dst->flags_off;
	for (i = 0; i < count; i++)
		flags[i] &= (uint8_t) ~NODE_LOCK;

	dst->pool_used = src->pool_used;
	dst->deleted_count = src->deleted_count;
	dst->rng_state = src->rng_state;
	dst->entry_point = src->entry_point;
	StoreRelease(&dst->count, count);
	return 0;
}

/* ----------------------------------------------------------------------
 * Accessors.  An invalid graph or node id gives 0 / NULL rather than a
 * read outside the region.
 * ----------------------------------------------------------------------
 */

int32_t
VpGraphCount(const VpGraph *graph)
{
	return GraphIsValid(graph) ? LoadAcquire(&graph->count) : 0;
}

int32_t
VpGraphDeletedCount(const VpGraph *graph)
{
	return GraphIsValid(graph) ? LoadAcquire(&graph->deleted_count) : 0;
}

int32_t
VpGraphCapacity(const VpGraph *graph)
{
	return GraphIsValid(graph) ? graph->params.capacity : 0;
}

const VpGraphParams *
VpGraphGetParams(const VpGraph *graph)
{
	return GraphIsValid(graph) ? &graph->params : NULL;
}

size_t
VpGraphRegionBytes(const VpGraph *graph)
{
	return GraphIsValid(graph) ? (size_t) graph->region_bytes : 0;
}

uint64_t
VpGraphLabel(const VpGraph *graph, VpNodeId node)
{
	return NodeIsValid(graph, node) ? NodeInfo(graph, node)->label : 0;
}

uint64_t
VpGraphKey(const VpGraph *graph, VpNodeId node)
{
	return NodeIsValid(graph, node) ? NodeInfo(graph, node)->key : 0;
}

/*
 * VpGraphGetItem
 *		The item a node was staged with; 0 for an invalid node.
 */
int
VpGraphGetItem(const VpGraph *graph, VpNodeId node, VpGraphItem *item)
{
	const VpGraphNode *info;

	if (!NodeIsValid(graph, node))
		return 0;
	info = NodeInfo(graph, node);
	item->label = info->label;
	item->key = info->key;
	item->block = info->block;
	return 1;
}

int
VpGraphIsDeleted(const VpGraph *graph, VpNodeId node)
{
	return NodeIsValid(graph, node) ?
		(LoadFlags(NodeFlags(graph, node)) & NODE_DELETED) != 0 : 0;
}

int
VpGraphIsLinked(const VpGraph *graph, VpNodeId node)
{
	return NodeIsValid(graph, node) ?
		(LoadFlags(NodeFlags(graph, node)) & NODE_LINKED) != 0 : 0;
}

const void *
VpGraphCode(const VpGraph *graph, VpNodeId node)
{
	if (!NodeIsValid(graph, node) ||
		(LoadFlags(NodeFlags(graph, node)) & NODE_GONE))
		return NULL;
	return NodeCode(graph, node);
}

/*
 * VpGraphFindKey
 *		Binary search of the node keys, ascending in id when nodes are staged
 *		in key order.
 */
VpNodeId
VpGraphFindKey(const VpGraph *graph, uint64_t key)
{
	int32_t		lo = 0;
	int32_t		hi;

	if (!GraphIsValid(graph))
		return VP_INVALID_NODE;
	hi = LoadAcquire(&graph->count) - 1;
	while (lo <= hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;
		uint64_t	k = NodeInfo(graph, mid)->key;

		if (k == key)
			return mid;
		if (k < key)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return VP_INVALID_NODE;
}

/* ----------------------------------------------------------------------
 * Node locks
 * ----------------------------------------------------------------------
 */

/*
 * GraphNodeLock
 *		Take a node's spin lock, yielding the CPU now and then: the holder
 *		may be another process that was descheduled.
 */
void
GraphNodeLock(VpGraph *graph, VpNodeId id)
{
	uint8_t    *flags = NodeFlags(graph, id);
	int			spins = 0;

	while (SetFlags(flags, NODE_LOCK) & NODE_LOCK)
	{
		if (++spins >= 100)
		{
			sched_yield();
			spins = 0;
		}
	}
}

/* ----------------------------------------------------------------------
 * Visited sets
 * ----------------------------------------------------------------------
 */

/*
 * VisitedHashBytes
 *		Size of a hash visited set for searches up to max_ef wide with lists
 *		of up to 2m: room for about sixteen times the nodes such a search
 *		usually meets, so probing stays short.
 */
size_t
VisitedHashBytes(int max_ef, int m)
{
	size_t		want = (size_t) 16 * (size_t) max_ef * (size_t) m;
	size_t		slots = 4096;

	while (slots < want && slots < ((size_t) 1 << 24))
		slots <<= 1;
	return slots * sizeof(uint64_t);
}

/*
 * VisitedBegin
 *		Start a new, empty set.  Stamps and hash slots carry the epoch they
 *		were set in, so only a wrap of the 32-bit epoch clears memory.
 */
void
VisitedBegin(VisitedSet *set)
{
	switch (set->mode)
	{
		case VISITED_STAMPS:
			if (++set->epoch == 0)
			{
				memset(set->stamps, 0, sizeof(uint32_t) * (size_t) set->nstamps);
				set->epoch = 1;
			}
			break;
		case VISITED_BITMAP:
			memset(set->bits, 0, ((size_t) set->nbits + 7) / 8);
			break;
		case VISITED_HASH:
			if (++set->epoch == 0)
			{
				memset(set->slots, 0, sizeof(uint64_t) * ((size_t) set->mask + 1));
				set->epoch = 1;
			}
			set->used = 0;
			break;
	}
}

/*
 * VisitedHashTestAndSet
 *		Linear probing on a multiplicative hash of the id.  When the table
 *		is three quarters full, new ids are reported as visited: the search
 *		then skips them (it becomes less thorough) instead of allocating in
 *		the middle of an insert.
 */
int
VisitedHashTestAndSet(VisitedSet *set, VpNodeId id)
{
	uint64_t	want = ((uint64_t) set->epoch << 32) | (uint32_t) (id + 1);
	uint32_t	i = ((uint32_t) id * 2654435761u) & set->mask;

	for (;;)
	{
		uint64_t	slot = set->slots[i];

		if (slot == want)
			return 1;
		if ((uint32_t) (slot >> 32) != set->epoch)
		{
			if (set->used >= (set->mask + 1) / 4 * 3)
				return 1;
			set->slots[i] = want;
			set->used++;
			return 0;
		}
		i = (i + 1) & set->mask;
	}
}

/* ----------------------------------------------------------------------
 * Scratch
 * ----------------------------------------------------------------------
 */

/*
 * VpGraphScratchCreate
 *		One allocation, carved into the arrays a search or insert needs
 *		(see vpgraph.h).
 */
VpGraphScratch *
VpGraphScratchCreate(const VpAllocator *allocator, const VpGraph *graph,
					 int max_ef, int dense_visited)
{
	VpGraphScratch *scratch;
	size_t		offs[10];
	size_t		sizes[10];
	size_t		total;
	char	   *mem;
	char	   *base;
	int			max_m;
	int			cand_cap;
	int			nprune;
	int			i;

	if (allocator == NULL || allocator->alloc == NULL || !GraphIsValid(graph))
		return NULL;
	VpDistanceInit();

	if (max_ef < graph->params.ef_construction)
		max_ef = graph->params.ef_construction;
	if (max_ef > VP_GRAPH_MAX_EF)
		max_ef = VP_GRAPH_MAX_EF;
	max_m = graph->params.m;
	cand_cap = 2 * max_ef + 4 * max_m + 16;
	nprune = max_ef > 2 * max_m + 1 ? max_ef : 2 * max_m + 1;

	/* the arrays, each cache-line aligned, after the struct */
	sizes[0] = dense_visited ?
		sizeof(uint32_t) * (size_t) graph->params.capacity :
		VisitedHashBytes(max_ef, max_m);
	sizes[1] = graph->params.codes == VP_CODE_SQ8 ||
		graph->params.codes == VP_CODE_FLOAT32 ?
		sizeof(float) * (size_t) graph->params.dims : 0;
	sizes[2] = sizeof(Candidate) * (size_t) cand_cap;
	sizes[3] = sizeof(Candidate) * (size_t) (max_ef + 1);	/* result */
	sizes[4] = sizeof(Candidate) * (size_t) (max_ef + 1);	/* found */
	sizes[5] = sizeof(Candidate) * (size_t) (2 * max_m + 1) +
		sizeof(VpNodeId) * (size_t) (2 * max_m + 1);	/* reselect, selected */
	sizes[6] = sizeof(int32_t) * (size_t) nprune;
	sizes[7] = sizeof(int32_t) * (size_t) VP_GRAPH_MAX_LEVEL * (2 * max_m + 1);
	sizes[8] = sizeof(VpNodeId) * (size_t) (2 * max_m + 1) +
		2 * (size_t) (2 * max_m + 1);	/* added, known, verdicts */
	sizes[9] = sizeof(Candidate) * (size_t) (2 * max_m);	/* expansion */
	total = 0;
	for (i = 0; i < 10; i++)
	{
		offs[i] = total;
		if (!AddSize(total, sizes[i], &total) || !AlignSize(total, &total))
			return NULL;
	}
	if (!AddSize(total, sizeof(VpGraphScratch) + LAYOUT_ALIGN, &total))
		return NULL;

	mem = allocator->alloc(allocator->ctx, total);
	if (mem == NULL)
		return NULL;
	scratch = (VpGraphScratch *) mem;
	memset(scratch, 0, sizeof(VpGraphScratch));
	scratch->allocator = *allocator;
	base = (char *) (((uintptr_t) (mem + sizeof(VpGraphScratch)) +
					  LAYOUT_ALIGN - 1) & ~(uintptr_t) (LAYOUT_ALIGN - 1));
	if (dense_visited)
	{
		scratch->visited.mode = VISITED_STAMPS;
		scratch->visited.stamps = (uint32_t *) (base + offs[0]);
		scratch->visited.nstamps = graph->params.capacity;
	}
	else
	{
		scratch->visited.mode = VISITED_HASH;
		scratch->visited.slots = (uint64_t *) (base + offs[0]);
		scratch->visited.mask = (uint32_t) (sizes[0] / sizeof(uint64_t) - 1);
	}
	memset(base + offs[0], 0, sizes[0]);
	scratch->visited.epoch = 1;
	scratch->qbuf = sizes[1] ? (float *) (base + offs[1]) : NULL;
	scratch->cand = (Candidate *) (base + offs[2]);
	scratch->result = (Candidate *) (base + offs[3]);
	scratch->found = (Candidate *) (base + offs[4]);
	scratch->reselect = (Candidate *) (base + offs[5]);
	scratch->selected = (VpNodeId *) (scratch->reselect + 2 * max_m + 1);
	scratch->pruned = (int32_t *) (base + offs[6]);
	scratch->own_links = (int32_t *) (base + offs[7]);
	scratch->added = (VpNodeId *) (base + offs[8]);
	scratch->known = (uint8_t *) (scratch->added + 2 * max_m + 1);
	scratch->verdicts = scratch->known + 2 * max_m + 1;
	scratch->expansion = (Candidate *) (base + offs[9]);
	scratch->memo = NULL;
	scratch->dims = graph->params.dims;
	scratch->kind = graph->params.codes;
	scratch->capacity = graph->params.capacity;
	scratch->max_ef = max_ef;
	scratch->max_m = max_m;
	scratch->cand_cap = cand_cap;
	return scratch;
}

/*
 * VpGraphScratchFits
 *		Whether scratch can serve graph with this ef: dense visited marks
 *		cover the graph's capacity, the buffers its dims, m and ef.
 */
int
VpGraphScratchFits(const VpGraphScratch *scratch, const VpGraph *graph,
				   int ef)
{
	return scratch != NULL && GraphIsValid(graph) &&
		(scratch->visited.mode != VISITED_STAMPS ||
		 graph->params.capacity <= scratch->capacity) &&
		graph->params.dims <= scratch->dims &&
		graph->params.codes == scratch->kind &&
		graph->params.m <= scratch->max_m &&
		ef >= 1 && ef <= scratch->max_ef;
}

void
VpGraphScratchDestroy(VpGraphScratch *scratch)
{
	VpAllocator allocator;

	if (scratch == NULL)
		return;
	allocator = scratch->allocator;
	if (allocator.free != NULL)
		allocator.free(allocator.ctx, scratch);
}

/* ----------------------------------------------------------------------
 * Images
 * ----------------------------------------------------------------------
 */

/*
 * GraphStageLock, GraphStageUnlock
 *		The graph's staging lock (see vpgraphbuild.c); images read the
 *		counters under it so that they agree with each other.
 */
void
GraphStageLock(const VpGraph *graph)
{
	uint8_t    *lock = (uint8_t *) &graph->stage_lock;
	int			spins = 0;

	while (__atomic_test_and_set(lock, __ATOMIC_ACQUIRE))
	{
		if (++spins >= 100)
		{
			sched_yield();
			spins = 0;
		}
	}
}

void
GraphStageUnlock(const VpGraph *graph)
{
	__atomic_clear((uint8_t *) &graph->stage_lock, __ATOMIC_RELEASE);
}

/*
 * VpGraphImageCapture
 *		Read the counters an image is made to: every node below count has
 *		its pool slots below pool_used.  The entry point is read first: a
 *		node becomes the entry only once staged, so the one read is below
 *		the count read after it (a later, higher entry is not in the image;
 *		the one read stays a valid start).  Returns 0 for an invalid graph.
 */
int
VpGraphImageCapture(const VpGraph *graph, VpGraphImageHeader *hdr)
{
	VpNodeId	entry;

	if (!GraphIsValid(graph))
		return 0;
	memset(hdr, 0, sizeof(VpGraphImageHeader));
	entry = LoadAcquire(&graph->entry_point);
	GraphStageLock(graph);
	hdr->params = graph->params;
	hdr->count = graph->count;
	hdr->pool_used = graph->pool_used;
	hdr->rng_state = graph->rng_state;
	GraphStageUnlock(graph);
	hdr->params.capacity = hdr->count;
	hdr->params.arena_bytes = 0;
	hdr->deleted_count = LoadAcquire(&graph->deleted_count);
	hdr->entry_point = entry < hdr->count ? entry : VP_INVALID_NODE;
	return 1;
}

/*
 * ImageLayout
 *		Offsets of the sections of an image: node info, flags, level-0
 *		lists, pool slots, each 8-byte aligned.
 */
static size_t
ImageLayout(const VpGraphImageHeader *hdr, size_t *flags_off,
			size_t *level0_off, size_t *pool_off)
{
	size_t		n = (size_t) (hdr->count > 0 ? hdr->count : 0);
	size_t		level0_stride = (size_t) (1 + 2 * hdr->params.m) * sizeof(int32_t);
	size_t		upper_stride = (size_t) (1 + hdr->params.m) * sizeof(int32_t);

	*flags_off = n * sizeof(VpGraphNode);
	*level0_off = *flags_off + ((n + 7) & ~(size_t) 7);
	*pool_off = *level0_off + n * level0_stride;
	return *pool_off + (size_t) hdr->pool_used * upper_stride;
}

size_t
VpGraphImageBytes(const VpGraphImageHeader *hdr)
{
	size_t		a,
				b,
				c;

	return ImageLayout(hdr, &a, &b, &c);
}

/*
 * CopyList
 *		Copy a neighbour list (count, ids) keeping only ids below count:
 *		nodes staged after the capture are not in the image.
 */
static void
CopyList(const int32_t *src, int32_t *dst, int maxn, int32_t count)
{
	int			n = LoadAcquire(&src[0]);
	int			k = 0;
	int			i;

	if (n > maxn)
		n = maxn;
	if (n < 0)
		n = 0;
	for (i = 0; i < n; i++)
	{
		int32_t		id = LoadAcquire(&src[1 + i]);

		if (id >= 0 && id < count)
			dst[1 + k++] = id;
	}
	dst[0] = k;
	for (i = k; i < maxn; i++)
		dst[1 + i] = VP_INVALID_NODE;
}

/*
 * VpGraphImageCopy
 *		Write the image of the nodes below hdr->count to dst
 *		(VpGraphImageBytes bytes).  Concurrent inserts may go on: what they
 *		add after the capture is left out.
 */
void
VpGraphImageCopy(const VpGraph *graph, const VpGraphImageHeader *hdr,
				 void *dst)
{
	size_t		flags_off,
				level0_off,
				pool_off;
	char	   *out = (char *) dst;
	int32_t		count = hdr->count;
	int			stride0 = 1 + 2 * graph->params.m;
	int			stride1 = 1 + graph->params.m;
	VpGraphNode *infos = (VpGraphNode *) out;
	int32_t		i;
	uint32_t	s;

	ImageLayout(hdr, &flags_off, &level0_off, &pool_off);
	memset(out, 0, VpGraphImageBytes(hdr));
	for (i = 0; i < count; i++)
	{
		VpGraphNode *info = &infos[i];
		VpNodeId	dup;
		int32_t		steps = 0;

		*info = *NodeInfo(graph, i);

		/* a duplicate staged later heads the chain now: skip past it */
		dup = LoadAcquire(&NodeInfo(graph, i)->dup_next);
		while (dup >= count && steps++ < LoadAcquire(&graph->count))
			dup = LoadAcquire(&NodeInfo(graph, dup)->dup_next);
		info->dup_next = (dup >= 0 && dup < count) ? dup : VP_INVALID_NODE;

		out[flags_off + i] = (char) (LoadFlags(NodeFlags(graph, i)) &
									 NODE_PERSISTENT_FLAGS);
		CopyList(NodeLinks(graph, i, 0),
				 (int32_t *) (out + level0_off) + (size_t) i * stride0,
				 2 * graph->params.m, count);
	}
	for (s = 0; s < hdr->pool_used; s++)
		CopyList((const int32_t *) ((const char *) graph + graph->pool_off +
									(size_t) s * graph->upper_stride),
				 (int32_t *) (out + pool_off) + (size_t) s * stride1,
				 graph->params.m, count);
}

/*
 * CheckList
 *		Whether an image's list holds a sane count of ids below count.
 */
static int
CheckList(const int32_t *list, int maxn, int32_t count)
{
	int			i;

	if (list[0] < 0 || list[0] > maxn)
		return 0;
	for (i = 0; i < list[0]; i++)
		if (list[1 + i] < 0 || list[1 + i] >= count)
			return 0;
	return 1;
}

/*
 * HighestLinkedNode
 *		The linked, present node of the highest level below count, or
 *		VP_INVALID_NODE.  An image has nodes but no entry point when it was
 *		captured while its first node was being linked (or while every node
 *		was unlinked or gone); its linked nodes need a start all the same.
 */
static VpNodeId
HighestLinkedNode(const VpGraph *graph, int32_t count)
{
	VpNodeId	best = VP_INVALID_NODE;
	int32_t		i;

	for (i = 0; i < count; i++)
	{
		uint8_t		flags = LoadFlags(NodeFlags(graph, i));

		if ((flags & NODE_LINKED) && !(flags & NODE_GONE) &&
			(best == VP_INVALID_NODE ||
			 NodeInfo(graph, i)->level > NodeInfo(graph, best)->level))
			best = i;
	}
	return best;
}

/*
 * VpGraphImageRestore
 *		Install an image into graph, freshly laid out with the same dims, m,
 *		metric and codes and room for its nodes.  Every field is checked
 *		first; on any doubt nothing is installed and a reason is returned.
 *		Nodes get no code: the caller sets each (VpGraphSetCode) or marks
 *		it gone before the graph is used.
 */
const char *
VpGraphImageRestore(VpGraph *graph, const VpGraphImageHeader *hdr,
					const void *image, size_t bytes)
{
	size_t		flags_off,
				level0_off,
				pool_off;
	const char *in = (const char *) image;
	const VpGraphNode *infos = (const VpGraphNode *) in;
	int32_t		count = hdr->count;
	int			stride0 = 1 + 2 * hdr->params.m;
	int			stride1 = 1 + hdr->params.m;
	int32_t		deleted = 0;
	int32_t		i;
	uint32_t	s;

	if (!GraphIsValid(graph) || graph->count != 0)
		return "the graph to restore into is not empty";
	if (hdr->params.dims != graph->params.dims ||
		hdr->params.m != graph->params.m ||
		hdr->params.metric != graph->params.metric ||
		hdr->params.codes != graph->params.codes)
		return "the image is of a graph with other parameters";
	if (count < 0 || count > graph->params.capacity ||
		hdr->pool_used > graph->pool_slots)
		return "the image's counts do not fit the graph";
	if (bytes != VpGraphImageBytes(hdr))
		return "the image has the wrong length";
	if ((count == 0 && hdr->entry_point != VP_INVALID_NODE) ||
		hdr->entry_point < VP_INVALID_NODE || hdr->entry_point >= count)
		return "the image's entry point is invalid";

	ImageLayout(hdr, &flags_off, &level0_off, &pool_off);
	for (i = 0; i < count; i++)
	{
		const VpGraphNode *info = &infos[i];
		uint8_t		flags = (uint8_t) in[flags_off + i];

		if (info->level >= VP_GRAPH_MAX_LEVEL ||
			(info->level > 0 &&
			 (uint64_t) info->pool_start + info->level > hdr->pool_used) ||
			info->dup_next < VP_INVALID_NODE || info->dup_next >= count ||
			(flags & ~NODE_PERSISTENT_FLAGS) != 0 ||
			(i > 0 && info->key <= infos[i - 1].key) ||
			!CheckList((const int32_t *) (in + level0_off) + (size_t) i * stride0,
					   2 * hdr->params.m, count))
			return "a node of the image is invalid";
		if (flags & NODE_DELETED)
			deleted++;
	}
	for (s = 0; s < hdr->pool_used; s++)
		if (!CheckList((const int32_t *) (in + pool_off) + (size_t) s * stride1,
					   hdr->params.m, count))
			return "an upper-level list of the image is invalid";

	memcpy((char *) graph + graph->nodes_off, in, (size_t) count * sizeof(VpGraphNode));
	memcpy((char *) graph + graph->flags_off, in + flags_off, (size_t) count);
	memcpy((char *) graph + graph->level0_off, in + level0_off,
		   (size_t) count * graph->level0_stride);
	memcpy((char *) graph + graph->pool_off, in + pool_off,
		   (size_t) hdr->pool_used * graph->upper_stride);
	if (graph->params.codes == VP_CODE_SPARSE)
		memset((char *) graph + graph->offsets_off, 0,
			   (size_t) count * sizeof(uint64_t));
	graph->pool_used = hdr->pool_used;
	graph->deleted_count = deleted;
	graph->rng_state = hdr->rng_state;
	graph->entry_point = hdr->entry_point;
	if (graph->entry_point == VP_INVALID_NODE)
		graph->entry_point = HighestLinkedNode(graph, count);
	graph->arena_used = 0;
	StoreRelease(&graph->count, count);
	return NULL;
}

/*
 * GraphAllocArena
 *		bytes of a SPARSE graph's arena for node's code; returns 0 when the
 *		arena is exhausted.  The caller excludes other stagers.
 */
int
GraphAllocArena(VpGraph *graph, VpNodeId node, size_t bytes)
{
	uint64_t   *offsets = (uint64_t *) ((char *) graph + graph->offsets_off);

	bytes = (bytes + 7) & ~(size_t) 7;
	if (graph->arena_used + bytes > graph->params.arena_bytes)
		return 0;
	offsets[node] = graph->arena_used;
	graph->arena_used += bytes;
	return 1;
}

/*
 * VpGraphSetCode
 *		Give a restored node its code.  Returns 0 for an invalid node or
 *		vector, or an exhausted arena (SPARSE).
 */
int
VpGraphSetCode(VpGraph *graph, VpNodeId node, const VpVector *vector)
{
	const VpGraphParams *p;

	if (!NodeIsValid(graph, node) || vector == NULL)
		return 0;
	p = &graph->params;
	if (p->codes == VP_CODE_SPARSE &&
		!GraphAllocArena(graph, node, VpCodeBytes(p->codes, p->dims, vector)))
		return 0;
	return VpCodeEncode(p->codes, p->metric, p->dims, vector,
						(void *) NodeCode(graph, node));
}

/*
 * VpGraphMarkGone
 *		A restored node whose record no longer exists: never returned,
 *		never traversed (it has no code), dropped from lists as others are
 *		re-selected.  A SPARSE node gets an empty code all the same, so that
 *		its offset is valid.  Returns whether it was not gone before (a
 *		node gone in the image stays gone).
 */
int
VpGraphMarkGone(VpGraph *graph, VpNodeId node)
{
	uint8_t		old;

	if (!NodeIsValid(graph, node))
		return 0;
	if (graph->params.codes == VP_CODE_SPARSE)
	{
		VpVector	empty;

		memset(&empty, 0, sizeof(empty));
		VpGraphSetCode(graph, node, &empty);
	}
	else
		memset((void *) NodeCode(graph, node), 0, graph->code_bytes);
	old = SetFlags(NodeFlags(graph, node), NODE_GONE | NODE_DELETED);
	if (!(old & NODE_DELETED))
		__atomic_fetch_add(&graph->deleted_count, 1, __ATOMIC_ACQ_REL);
	return !(old & NODE_GONE);
}
