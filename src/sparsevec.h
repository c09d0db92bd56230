/*-------------------------------------------------------------------------
 *
 * sparsevec.h
 *	  The sparsevec data type: in-memory layout, limits, and the type
 *	  support the hnsw access method uses to index it.
 *
 * A sparsevec is a varlena holding the declared number of dimensions, the
 * number of stored (non-zero) elements, a reserved int32 that is always
 * zero, then that many 0-based indices in strictly ascending order and, after
 * them, the same number of float4 values, none of them zero, NaN or infinite.
 * The text format ("{1:1.5,3:2}/5", 1-based), the binary send/recv format
 * and the limits are pgvector's, so clients written for pgvector's sparsevec
 * work unchanged.  Keeping indices and values in two runs means the pair of
 * arrays is exactly the VP_ELEM_SPARSE payload of vptype.h, with no copying.
 *
 * IDENTIFICATION
 *	  src/sparsevec.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VP_SPARSEVEC_H
#define VP_SPARSEVEC_H

#include "fmgr.h"

#include "vptype.h"

/* most dimensions a sparsevec may declare */
#define SPARSEVEC_MAX_DIM		1000000000

/* most non-zero elements a sparsevec may hold */
#define SPARSEVEC_MAX_NNZ		16000

/* most non-zero elements of a sparsevec in an hnsw index */
#define SPARSEVEC_HNSW_MAX_NNZ	1000

typedef struct SparseVector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int32		dim;			/* declared dimensions, 1..SPARSEVEC_MAX_DIM */
	int32		nnz;			/* stored elements, 0..SPARSEVEC_MAX_NNZ */
	int32		unused;			/* reserved, always zero */
	int32		indices[FLEXIBLE_ARRAY_MEMBER]; /* nnz 0-based indices,
												 * ascending; the nnz float4
												 * values follow them */
} SparseVector;

/*
 * Total varlena size of a sparsevec with nnz elements.  nnz is at most
 * SPARSEVEC_MAX_NNZ wherever this is used, so the size is far below 1 GB.
 */
#define SPARSEVEC_SIZE(_nnz) \
	(offsetof(SparseVector, indices) + \
	 (sizeof(int32) + sizeof(float4)) * (Size) (_nnz))

/* the values array, which follows the indices */
static inline float4 *
SparseVectorValues(SparseVector *svec)
{
	return (float4 *) ((char *) svec->indices +
					   sizeof(int32) * (Size) svec->nnz);
}

#define DatumGetSparseVector(x)		((SparseVector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_SPARSEVEC_P(x)	DatumGetSparseVector(PG_GETARG_DATUM(x))
#define PG_RETURN_SPARSEVEC_P(x)	PG_RETURN_POINTER(x)

/* sparsevec.c */
extern SparseVector *VpInitSparseVector(int dim, int nnz);
extern const VpTypeSupport vp_sparsevec_type_support;

#endif							/* VP_SPARSEVEC_H */
