/*-------------------------------------------------------------------------
 *
 * vpcodes.h
 *	  How the graph stores a vector (its "code") and the one place where
 *	  distances between a query and a code, or two codes, are computed.
 *
 * The graph never needs the exact vectors: the index pages hold them, and
 * a scan re-ranks what the graph finds with them.  So a node may keep a
 * compact approximation instead:
 *
 *	VP_CODE_FLOAT32  dims float4, exact (the representation "none").
 *	VP_CODE_SQ8		 8-bit scalar quantization per vector: a header
 *					 {offset, scale, sum of codes} and dims bytes c[i] that
 *					 stand for offset + scale * c[i]; offset and scale are the
 *					 vector's own minimum and (max - min) / 255, so no
 *					 training data is needed and inserts never drift out of
 *					 range.  The error per element is at most scale / 2.
 *	VP_CODE_BITS	 dims bits, exact (hamming and jaccard).
 *	VP_CODE_SPARSE	 a sparse vector, exact: {nnz, 0} then nnz int32 indices
 *					 and nnz float4 values.  Variable size.
 *
 * For cosine the float kinds and sparse codes hold the normalised vector,
 * and queries are normalised the same way, so cosine is 1 - dot.
 *
 * A query is prepared once per search (VpQueryPrepare), then compared
 * with many codes (VpQueryDistance).  An insert compares codes with each
 * other (VpCodeDistance) when it chooses neighbours.  Both go through the
 * kernels of vpdistance.h.  No PostgreSQL headers.
 *
 * IDENTIFICATION
 *	  src/vpcodes.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPCODES_H
#define VPCODES_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vpdistance.h"

typedef enum VpMetric
{
	VP_METRIC_L2 = 1,			/* squared L2 inside the graph */
	VP_METRIC_INNER_PRODUCT = 2,	/* negative inner product */
	VP_METRIC_COSINE = 3,		/* 1 - cos; vectors normalised on the way in */
	VP_METRIC_L1 = 4,			/* taxicab */
	VP_METRIC_HAMMING = 5,		/* bits that differ */
	VP_METRIC_JACCARD = 6		/* 1 - |a AND b| / |a OR b| */
} VpMetric;

typedef enum VpCodeKind
{
	VP_CODE_FLOAT32 = 1,
	VP_CODE_SQ8 = 2,
	VP_CODE_BITS = 3,
	VP_CODE_SPARSE = 4
} VpCodeKind;

#define VP_CODES_MAX_FLOAT_DIMS	16000
#define VP_CODES_MAX_BIT_DIMS	64000
#define VP_CODES_MAX_NNZ		16000

/* A vector handed to the graph; which fields count depends on the kind */
typedef struct VpVector
{
	const float *x;				/* FLOAT32, SQ8: dims floats */
	const uint8_t *bits;		/* BITS: (dims + 7) / 8 bytes, high bit first */
	int32_t		nnz;			/* SPARSE: entries */
	const int32_t *indices;		/* SPARSE: 0-based, strictly ascending */
	const float *values;		/* SPARSE */
} VpVector;

/* The header of an SQ8 code; dims bytes follow */
typedef struct VpSq8Header
{
	float		offset;			/* the vector's smallest element */
	float		scale;			/* (largest - smallest) / 255, or 0 */
	float		csum;			/* sum of the codes, for dot products */
	uint32_t	csq;			/* sum of the squared codes, for L2 */
} VpSq8Header;

/* The header of a sparse code; indices then values follow */
typedef struct VpSparseHeader
{
	int32_t		nnz;
	int32_t		unused;
} VpSparseHeader;

/* A query prepared for one graph's codes */
typedef struct VpQuery
{
	VpCodeKind	kind;
	VpMetric	metric;
	int32_t		dims;
	const float *x;				/* float kinds: dims floats (normalised for
								 * cosine) */
	float		sum;			/* SQ8: sum of x, for dot products */
	double		sumsq;			/* SQ8: sum of x squared, for L2 */
	const uint8_t *bits;		/* BITS */
	int32_t		nnz;			/* SPARSE */
	const int32_t *indices;
	const float *values;		/* normalised for cosine */
} VpQuery;

/* vpcodes.c */
extern int	VpCodesValid(VpCodeKind kind, VpMetric metric, int64_t dims);
extern size_t VpCodeFixedBytes(VpCodeKind kind, int32_t dims);
extern size_t VpCodeBytes(VpCodeKind kind, int32_t dims, const VpVector *v);
extern int	VpCodeEncode(VpCodeKind kind, VpMetric metric, int32_t dims,
						 const VpVector *v, void *code);
extern size_t VpQueryBufferFloats(VpCodeKind kind, int32_t dims,
								  const VpVector *v);
extern int	VpQueryPrepare(VpCodeKind kind, VpMetric metric, int32_t dims,
						   const VpVector *v, VpQuery *q, float *buf);
extern int	VpQueryFromCode(VpCodeKind kind, VpMetric metric, int32_t dims,
							const void *code, VpQuery *q, float *buf);
extern int	VpCodeIsExact(VpCodeKind kind);
extern double VpCodeError(VpCodeKind kind, int32_t dims, const void *code,
						  int l1);
extern float VpSparseDistance(VpMetric metric, int32_t na, const int32_t *ia,
							  const float *va, int32_t nb, const int32_t *ib,
							  const float *vb);

/* ----------------------------------------------------------------------
 * The distances, inline: they are the graph's hot loop.
 * ----------------------------------------------------------------------
 */

/* The bytes of an SQ8 code after its header */
static inline const uint8_t *
VpSq8Bytes(const void *code)
{
	return (const uint8_t *) code + sizeof(VpSq8Header);
}

/* Jaccard distance from the bit counts; two empty strings are equal */
static inline float
VpJaccardFromCounts(uint64_t both, uint64_t either)
{
	if (either == 0)
		return 0.0f;
	return 1.0f - (float) ((double) both / (double) either);
}

/*
 * VpQueryDistance
 *		Distance from a prepared query to a code, in the graph's metric
 *		(squared for L2).
 */
static inline float
VpQueryDistance(const VpQuery *q, const void *code)
{
	size_t		n = (size_t) q->dims;

	switch (q->kind)
	{
		case VP_CODE_FLOAT32:
			{
				const float *v = (const float *) code;

				switch (q->metric)
				{
					case VP_METRIC_L2:
						return vp_kernels.l2_squared(q->x, v, n);
					case VP_METRIC_INNER_PRODUCT:
						return -vp_kernels.inner_product(q->x, v, n);
					case VP_METRIC_COSINE:
						return 1.0f - vp_kernels.inner_product(q->x, v, n);
					case VP_METRIC_L1:
						return vp_kernels.l1(q->x, v, n);
					default:
						return 0.0f;
				}
			}
		case VP_CODE_SQ8:
			{
				const VpSq8Header *h = (const VpSq8Header *) code;
				const uint8_t *c = VpSq8Bytes(code);

				switch (q->metric)
				{
					case VP_METRIC_L2:
						{
							/*
							 * sum (x - o - s c)^2, expanded so that the
							 * loop is one multiply-add per element (the dot
							 * product of x and the codes)
							 */
							double		o = h->offset;
							double		s = h->scale;
							double		dot = vp_kernels.dot_f32_u8(q->x, c, n);
							double		d = q->sumsq - 2.0 * o * q->sum +
								(double) n * o * o -
								2.0 * s * (dot - o * h->csum) +
								s * s * (double) h->csq;

							return d > 0.0 ? (float) d : 0.0f;
						}
					case VP_METRIC_INNER_PRODUCT:
						return -(h->offset * q->sum +
								 h->scale * vp_kernels.dot_f32_u8(q->x, c, n));
					case VP_METRIC_COSINE:
						return 1.0f - (h->offset * q->sum +
									   h->scale * vp_kernels.dot_f32_u8(q->x, c, n));
					case VP_METRIC_L1:
						return vp_kernels.l1_f32_u8(q->x, h->offset, h->scale, c, n);
					default:
						return 0.0f;
				}
			}
		case VP_CODE_BITS:
			{
				size_t		nbytes = (n + 7) / 8;

				if (q->metric == VP_METRIC_HAMMING)
					return (float) vp_kernels.popcount_xor(q->bits, code, nbytes);
				else
				{
					uint64_t	both,
								either;

					vp_kernels.popcount_and_or(q->bits, code, nbytes, &both, &either);
					return VpJaccardFromCounts(both, either);
				}
			}
		case VP_CODE_SPARSE:
			{
				const VpSparseHeader *h = (const VpSparseHeader *) code;
				const int32_t *idx = (const int32_t *) (h + 1);

				return VpSparseDistance(q->metric, q->nnz, q->indices, q->values,
										h->nnz, idx, (const float *) (idx + h->nnz));
			}
	}
	return 0.0f;
}

/*
 * VpCodeDistance
 *		Distance between two codes of one graph.  Symmetric.
 */
static inline float
VpCodeDistance(VpCodeKind kind, VpMetric metric, int32_t dims,
			   const void *a, const void *b)
{
	size_t		n = (size_t) dims;

	switch (kind)
	{
		case VP_CODE_FLOAT32:
		case VP_CODE_BITS:
		case VP_CODE_SPARSE:
			{
				VpQuery		q;

				/* these codes are their own prepared queries */
				VpQueryFromCode(kind, metric, dims, a, &q, NULL);
				return VpQueryDistance(&q, b);
			}
		case VP_CODE_SQ8:
			{
				const VpSq8Header *ha = (const VpSq8Header *) a;
				const VpSq8Header *hb = (const VpSq8Header *) b;
				const uint8_t *ca = VpSq8Bytes(a);
				const uint8_t *cb = VpSq8Bytes(b);
				float		dot;

				switch (metric)
				{
					case VP_METRIC_L2:
						{
							/*
							 * sum (oa + sa ca - ob - sb cb)^2, expanded: the
							 * loop is an exact integer dot product
							 */
							double		delta = (double) ha->offset - hb->offset;
							double		sa = ha->scale;
							double		sb = hb->scale;
							double		d = (double) n * delta * delta +
								sa * sa * (double) ha->csq +
								sb * sb * (double) hb->csq +
								2.0 * delta * (sa * ha->csum - sb * hb->csum) -
								2.0 * sa * sb *
								(double) vp_kernels.dot_u8_u8(ca, cb, n);

							return d > 0.0 ? (float) d : 0.0f;
						}
					case VP_METRIC_L1:
						return vp_kernels.l1_u8_u8(ha->offset, ha->scale, ca,
												   hb->offset, hb->scale, cb, n);
					default:
						/* sum (oa + sa ca)(ob + sb cb), expanded */
						dot = (float) n * ha->offset * hb->offset +
							ha->offset * hb->scale * hb->csum +
							hb->offset * ha->scale * ha->csum +
							ha->scale * hb->scale *
							(float) vp_kernels.dot_u8_u8(ca, cb, n);
						return metric == VP_METRIC_COSINE ? 1.0f - dot : -dot;
				}
			}
	}
	return 0.0f;
}

#endif							/* VPCODES_H */
