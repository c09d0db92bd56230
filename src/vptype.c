/*-------------------------------------------------------------------------
 *
 * vptype.c
 *	  The access method's side of type support: what an index holds (its
 *	  operator class's metric and type support, its codes), and what a
 *	  payload means to the graph.
 *
 * An hnsw operator class names its metric with support function 1 and its
 * type with support function 2 (vptype.h); an operator class of version
 * 0.1.0 has no function 2 and indexes vector.  What an index needs to know
 * is looked up once per relcache entry and kept in rd_amcache, which
 * PostgreSQL frees on every invalidation of the index.
 *
 * IDENTIFICATION
 *	  src/vptype.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "vecpersist.h"
#include "vector.h"
#include "vphalf.h"
#include "vptype.h"

/*
 * VpGetIndexInfo
 *		What the index holds, from its operator class and reloptions;
 *		cached in the relcache entry.
 */
const VpIndexInfo *
VpGetIndexInfo(Relation index)
{
	VpIndexInfo *info = (VpIndexInfo *) index->rd_amcache;

	if (info == NULL)
	{
		FmgrInfo   *proc;
		int			metric;

		info = MemoryContextAllocZero(index->rd_indexcxt, sizeof(VpIndexInfo));
		proc = index_getprocinfo(index, 1, VP_METRIC_PROC);
		metric = DatumGetInt32(FunctionCall1(proc, PointerGetDatum(NULL)));
		if (metric < VP_METRIC_L2 || metric > VP_METRIC_JACCARD)
			elog(ERROR, "hnsw operator class of index \"%s\" returned unknown metric %d",
				 RelationGetRelationName(index), metric);
		info->metric = metric;
		if (OidIsValid(index_getprocid(index, 1, VP_TYPE_SUPPORT_PROC)))
		{
			proc = index_getprocinfo(index, 1, VP_TYPE_SUPPORT_PROC);
			info->support = (const VpTypeSupport *)
				DatumGetPointer(FunctionCall1(proc, PointerGetDatum(NULL)));
		}
		else
			info->support = &vp_vector_type_support;
		if (info->support == NULL)
			elog(ERROR, "hnsw operator class of index \"%s\" gave no type support",
				 RelationGetRelationName(index));
		switch (info->support->kind)
		{
			case VP_ELEM_FLOAT32:
			case VP_ELEM_FLOAT16:
				info->codes = VpGetQuantization(index) == VP_QUANTIZATION_NONE ?
					VP_CODE_FLOAT32 : VP_CODE_SQ8;
				break;
			case VP_ELEM_BIT:
				info->codes = VP_CODE_BITS;
				break;
			case VP_ELEM_SPARSE:
				info->codes = VP_CODE_SPARSE;
				break;
		}
		index->rd_amcache = info;
	}
	return info;
}

/*
 * The type support of an index's operator class.
 */
const VpTypeSupport *
VpGetTypeSupport(Relation index)
{
	return VpGetIndexInfo(index)->support;
}

/*
 * The metric of an index's operator class.
 */
int
VpGetMetric(Relation index)
{
	return VpGetIndexInfo(index)->metric;
}

/*
 * Error out for a value the index cannot hold, with pgvector's messages.
 */
void
VpCheckIndexable(Relation index, const VpTypeSupport *support,
				 const VpPayload *payload)
{
	(void) index;
	if (payload->dims > support->max_dims)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s cannot have more than %d dimensions for hnsw index",
						support->type_name, support->max_dims)));
	if (support->max_nnz > 0 && payload->nnz > support->max_nnz)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s cannot have more than %d non-zero elements for hnsw index",
						support->type_name, support->max_nnz)));
}

/*
 * VpVectorBuffer
 *		A buffer for VpPayloadToVector and VpQueryVector: dims floats for
 *		the dense kinds, one for the others (a sparse value of a billion
 *		dimensions must not cost four gigabytes).
 */
float *
VpVectorBuffer(int elem_kind, int32 dims)
{
	bool		dense = elem_kind == VP_ELEM_FLOAT32 || elem_kind == VP_ELEM_FLOAT16;

	return palloc(sizeof(float) * (dense ? Max(dims, 1) : 1));
}

/*
 * VpPayloadToVector
 *		The payload as the graph takes it; buf (VpVectorBuffer) holds the
 *		converted elements of a half-precision payload.  The vector points
 *		into the payload (or buf), so both must outlive it.
 */
void
VpPayloadToVector(const VpPayload *payload, VpVector *v, float *buf)
{
	memset(v, 0, sizeof(VpVector));
	switch (payload->kind)
	{
		case VP_ELEM_FLOAT32:
			v->x = (const float *) payload->data;
			break;
		case VP_ELEM_FLOAT16:
			{
				const uint16 *h = (const uint16 *) payload->data;
				int32		i;

				for (i = 0; i < payload->dims; i++)
					buf[i] = VpHalfToFloat(h[i]);
				v->x = buf;
				break;
			}
		case VP_ELEM_BIT:
			v->bits = (const uint8_t *) payload->data;
			break;
		case VP_ELEM_SPARSE:
			v->nnz = payload->nnz;
			v->indices = (const int32_t *) payload->data;
			v->values = (const float *) ((const char *) payload->data +
										 sizeof(int32) * (Size) payload->nnz);
			break;
	}
}

/*
 * VpPayloadIsIndexable
 *		Whether a value belongs in the index: under cosine a zero vector has
 *		no direction, so the graph cannot place it (pgvector skips them
 *		too).
 */
bool
VpPayloadIsIndexable(int metric, const VpPayload *payload)
{
	int32		i;

	if (metric != VP_METRIC_COSINE)
		return true;
	switch (payload->kind)
	{
		case VP_ELEM_FLOAT32:
			{
				const float *x = payload->data;

				for (i = 0; i < payload->dims; i++)
					if (x[i] != 0.0f)
						return true;
				return false;
			}
		case VP_ELEM_FLOAT16:
			{
				const uint16 *h = payload->data;

				for (i = 0; i < payload->dims; i++)
					if ((h[i] & 0x7FFF) != 0)
						return true;
				return false;
			}
		case VP_ELEM_SPARSE:
			{
				const float *values = (const float *)
					((const char *) payload->data + sizeof(int32) * (Size) payload->nnz);

				for (i = 0; i < payload->nnz; i++)
					if (values[i] != 0.0f)
						return true;
				return false;
			}
		case VP_ELEM_BIT:
			break;
	}
	return true;
}

/*
 * VpQueryVector
 *		The query of an ordered scan as the graph takes it.  A NULL query,
 *		or one with no direction under cosine, orders every row equally, so
 *		any direction will do: the first axis.  Checks the dimensions.
 *		Allocates in CurrentMemoryContext.
 */
void
VpQueryVector(Relation index, const VpGraphParams *params, Datum value,
			  bool isnull, VpPayload *payload, VpVector *v)
{
	const VpTypeSupport *support = VpGetTypeSupport(index);
	float	   *buf = VpVectorBuffer(support->kind, params->dims);

	if (!isnull)
	{
		support->datum_to_payload(value, payload);
		/* as the distance functions say it: the query's first */
		if (payload->dims != params->dims && support->kind == VP_ELEM_BIT)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("different bit lengths %d and %d",
							payload->dims, params->dims)));
		if (payload->dims != params->dims)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("different %s dimensions %d and %d",
							support->type_name, payload->dims, params->dims)));
		if (VpPayloadIsIndexable(params->metric, payload))
		{
			VpPayloadToVector(payload, v, buf);
			return;
		}
	}

	/* the first axis, in the index's own kind */
	memset(payload, 0, sizeof(VpPayload));
	payload->kind = support->kind;
	payload->dims = params->dims;
	memset(v, 0, sizeof(VpVector));
	switch (support->kind)
	{
		case VP_ELEM_FLOAT32:
		case VP_ELEM_FLOAT16:
			memset(buf, 0, sizeof(float) * params->dims);
			buf[0] = 1.0f;
			v->x = buf;
			break;
		case VP_ELEM_BIT:
			{
				uint8	   *bits = palloc0(((Size) params->dims + 7) / 8);

				bits[0] = 0x80;
				v->bits = bits;
				break;
			}
		case VP_ELEM_SPARSE:
			{
				int32	   *idx = palloc(sizeof(int32));

				idx[0] = 0;
				buf[0] = 1.0f;
				v->nnz = 1;
				v->indices = idx;
				v->values = buf;
				break;
			}
	}
	payload->data = NULL;
}
