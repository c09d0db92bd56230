/*-------------------------------------------------------------------------
 *
 * halfvec.h
 *	  The halfvec data type: a vector of IEEE 754 half-precision elements.
 *
 * A halfvec is a varlena holding a 16-bit dimension count, 16 reserved
 * bits that are always zero, and that many binary16 elements (vphalf.h),
 * in host byte order.  The layout, the text format and the binary
 * send/recv format (int16 dim, int16 zero, uint16 * dim, network byte
 * order) are pgvector's, so that client libraries written for pgvector's
 * halfvec work unchanged.  Elements are always finite: input, casts and
 * arithmetic reject NaN, infinity and values beyond +-65504.
 *
 * IDENTIFICATION
 *	  src/halfvec.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VP_HALFVEC_H
#define VP_HALFVEC_H

#include "fmgr.h"

#include "vphalf.h"
#include "vptype.h"

/* largest number of dimensions a halfvec may have */
#define HALFVEC_MAX_DIM 16000

typedef struct HalfVector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;			/* number of dimensions, 1..HALFVEC_MAX_DIM */
	int16		unused;			/* reserved, always zero */
	VpHalf		x[FLEXIBLE_ARRAY_MEMBER];	/* the elements, all finite */
} HalfVector;

/* total varlena size of a halfvec with _dim elements */
#define HALFVEC_SIZE(_dim)		(offsetof(HalfVector, x) + sizeof(VpHalf) * (_dim))

#define DatumGetHalfVector(x)	((HalfVector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_HALFVEC_P(x)	DatumGetHalfVector(PG_GETARG_DATUM(x))
#define PG_RETURN_HALFVEC_P(x)	PG_RETURN_POINTER(x)

/* halfvec.c */
extern HalfVector *VpInitHalfVector(int dim);
extern const VpTypeSupport vp_halfvec_type_support;

#endif							/* VP_HALFVEC_H */
