/*-------------------------------------------------------------------------
 *
 * vector.h
 *	  The vector data type: in-memory layout and helpers shared with the
 *	  index access method.
 *
 * A vector is a varlena holding a 16-bit dimension count, 16 reserved bits
 * that are always zero, and that many float4 elements.  The layout, the
 * text format and the binary send/recv format are the same as pgvector's,
 * so that client libraries written for pgvector work unchanged.  Elements
 * are always finite: input, casts and arithmetic reject NaN and infinity.
 *
 * IDENTIFICATION
 *	  src/vector.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VP_VECTOR_H
#define VP_VECTOR_H

#include "fmgr.h"

#include "vptype.h"

/* largest number of dimensions a vector may have */
#define VECTOR_MAX_DIM 16000

typedef struct Vector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;			/* number of dimensions, 1..VECTOR_MAX_DIM */
	int16		unused;			/* reserved, always zero */
	float		x[FLEXIBLE_ARRAY_MEMBER];	/* the elements, all finite */
} Vector;

/* total varlena size of a vector with _dim elements */
#define VECTOR_SIZE(_dim)		(offsetof(Vector, x) + sizeof(float) * (_dim))

#define DatumGetVector(x)		((Vector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_VECTOR_P(x)	DatumGetVector(PG_GETARG_DATUM(x))
#define PG_RETURN_VECTOR_P(x)	PG_RETURN_POINTER(x)

/* vector.c */
extern Vector *VpInitVector(int dim);
extern const VpTypeSupport vp_vector_type_support;

#endif							/* VP_VECTOR_H */
