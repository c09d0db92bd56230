/*-------------------------------------------------------------------------
 *
 * vpcodes.c
 *	  Encoding vectors into graph codes, preparing queries, and the sparse
 *	  distances (see vpcodes.h for the kinds and their layouts).
 *
 * Every function here is pure: it reads its arguments and writes only the
 * memory it is handed.  Invalid input (a kind with the wrong metric, too
 * many dimensions, sparse indices out of order) is refused with a zero
 * return, never trusted: the graph checks before it writes anything.
 *
 * This file includes no PostgreSQL header: it is compiled into the server
 * module and standalone into the unit tests.
 *
 * IDENTIFICATION
 *	  src/vpcodes.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vpcodes.h"

/*
 * VpCodesValid
 *		Whether a graph of this kind, metric and dims can exist.
 */
int
VpCodesValid(VpCodeKind kind, VpMetric metric, int64_t dims)
{
	int			float_metric = metric == VP_METRIC_L2 ||
		metric == VP_METRIC_INNER_PRODUCT ||
		metric == VP_METRIC_COSINE || metric == VP_METRIC_L1;

	if (dims < 1)
		return 0;
	switch (kind)
	{
		case VP_CODE_FLOAT32:
		case VP_CODE_SQ8:
			return float_metric && dims <= VP_CODES_MAX_FLOAT_DIMS;
		case VP_CODE_BITS:
			return (metric == VP_METRIC_HAMMING ||
					metric == VP_METRIC_JACCARD) &&
				dims <= VP_CODES_MAX_BIT_DIMS;
		case VP_CODE_SPARSE:
			return float_metric && dims <= INT32_MAX;
	}
	return 0;
}

/*
 * VpCodeIsExact
 *		Whether distances on codes of this kind are the exact distances of
 *		the vectors (up to float rounding), so that re-ranking with the
 *		vectors from the pages cannot change the order.
 */
int
VpCodeIsExact(VpCodeKind kind)
{
	return kind == VP_CODE_FLOAT32 || kind == VP_CODE_BITS;
}

/*
 * VpCodeError
 *		An upper bound on the distance between a vector and what its code
 *		stands for: in L2 (l1 false) or in L1 (l1 true).  An SQ8 element is
 *		off by at most half its vector's scale.  0 for the exact kinds.
 */
double
VpCodeError(VpCodeKind kind, int32_t dims, const void *code, int l1)
{
	double		half;

	if (kind != VP_CODE_SQ8 || code == NULL)
		return 0.0;
	half = ((const VpSq8Header *) code)->scale / 2.0;
	return l1 ? (double) dims * half : sqrt((double) dims) * half;
}

/*
 * VpCodeFixedBytes
 *		Bytes of every code of a fixed-size kind, rounded up so that each
 *		code in an array starts 8-byte aligned; 0 for SPARSE (variable).
 */
size_t
VpCodeFixedBytes(VpCodeKind kind, int32_t dims)
{
	size_t		bytes;

	switch (kind)
	{
		case VP_CODE_FLOAT32:
			bytes = sizeof(float) * (size_t) dims;
			break;
		case VP_CODE_SQ8:
			bytes = sizeof(VpSq8Header) + (size_t) dims;
			break;
		case VP_CODE_BITS:
			bytes = ((size_t) dims + 7) / 8;
			break;
		default:
			return 0;
	}
	return (bytes + 7) & ~(size_t) 7;
}

/*
 * VpCodeBytes
 *		Bytes of the code of v: fixed for most kinds, from nnz for SPARSE
 *		(also 8-byte multiples).
 */
size_t
VpCodeBytes(VpCodeKind kind, int32_t dims, const VpVector *v)
{
	if (kind != VP_CODE_SPARSE)
		return VpCodeFixedBytes(kind, dims);
	if (v == NULL || v->nnz < 0 || v->nnz > VP_CODES_MAX_NNZ)
		return 0;
	return sizeof(VpSparseHeader) +
		(size_t) v->nnz * (sizeof(int32_t) + sizeof(float));
}

/*
 * NormSquared
 *		Sum of squares in double, for normalising.
 */
static double
NormSquared(const float *x, int32_t n)
{
	double		norm = 0.0;
	int32_t		i;

	for (i = 0; i < n; i++)
		norm += (double) x[i] * x[i];
	return norm;
}

/*
 * NormalizeInto
 *		dst = src / |src| in double; a zero vector is copied as is (cosine
 *		callers never index one; as a query it is at distance 1 from
 *		everything rather than producing NaNs).
 */
static void
NormalizeInto(float *dst, const float *src, int32_t n)
{
	double		norm = NormSquared(src, n);
	int32_t		i;

	if (norm > 0.0)
	{
		double		inv = 1.0 / sqrt(norm);

		for (i = 0; i < n; i++)
			dst[i] = (float) (src[i] * inv);
	}
	else if (dst != src)
		memcpy(dst, src, sizeof(float) * (size_t) n);
}

/*
 * SparseIsValid
 *		Indices inside [0, dims) and strictly ascending, values finite.
 */
static int
SparseIsValid(const VpVector *v, int32_t dims)
{
	int32_t		i;

	if (v->nnz < 0 || v->nnz > VP_CODES_MAX_NNZ ||
		(v->nnz > 0 && (v->indices == NULL || v->values == NULL)))
		return 0;
	for (i = 0; i < v->nnz; i++)
	{
		if (v->indices[i] < 0 || v->indices[i] >= dims ||
			(i > 0 && v->indices[i] <= v->indices[i - 1]) ||
			!isfinite(v->values[i]))
			return 0;
	}
	return 1;
}

/*
 * EncodeSq8
 *		Quantize the n floats factor * x[i] to bytes on the vector's own
 *		range (factor normalises for cosine; 1 otherwise).  Each element is
 *		rounded to the nearest of 256 levels between the smallest and the
 *		largest element, so both extremes are exact.  Scaling by a positive
 *		factor keeps the order of elements, so the range is found on x
 *		itself and the scaled vector never needs a buffer.  Single
 *		precision with a reciprocal throughout: a load encodes every vector
 *		of the index, and the loops vectorise; the level picked can differ
 *		from the exact nearest one only within rounding of a half step,
 *		which the re-ranking bound's slack covers (vpscan.c).
 */
static void
EncodeSq8(const float *x, int32_t n, double factor, void *code)
{
	VpSq8Header *h = (VpSq8Header *) code;
	uint8_t    *c = (uint8_t *) code + sizeof(VpSq8Header);
	float		f = (float) factor;
	float		xmin = x[0];
	float		xmax = x[0];
	float		lo;
	float		step;
	float		inv;
	uint32_t	csum = 0;
	uint32_t	csq = 0;
	int32_t		i;

	for (i = 1; i < n; i++)
	{
		xmin = x[i] < xmin ? x[i] : xmin;
		xmax = x[i] > xmax ? x[i] : xmax;
	}
	lo = xmin * f;
	/* in double: the range of extreme elements overflows a float */
	step = (float) (((double) xmax * f - lo) / 255.0);
	inv = step > 0.0f ? 1.0f / step : 0.0f;
	h->offset = lo;
	h->scale = step;
	for (i = 0; i < n; i++)
	{
		float		level = (x[i] * f - lo) * inv + 0.5f;
		uint32_t	r = level <= 0.0f ? 0 :
			level >= 255.0f ? 255 : (uint32_t) level;

		c[i] = (uint8_t) r;
		csum += r;
		csq += r * r;
	}
	h->csum = (float) csum;
	h->csq = csq;
}

/*
 * VpCodeEncode
 *		Write the code of v (VpCodeBytes bytes, zero padded) to code.
 *		Returns 0 for invalid input, with nothing written.  Cosine vectors
 *		are normalised on the way in.
 */
int
VpCodeEncode(VpCodeKind kind, VpMetric metric, int32_t dims,
			 const VpVector *v, void *code)
{
	size_t		bytes = VpCodeBytes(kind, dims, v);

	if (v == NULL || code == NULL || bytes == 0 ||
		!VpCodesValid(kind, metric, dims))
		return 0;

	switch (kind)
	{
		case VP_CODE_FLOAT32:
			if (v->x == NULL)
				return 0;
			memset((char *) code + sizeof(float) * (size_t) dims, 0,
				   bytes - sizeof(float) * (size_t) dims);
			if (metric == VP_METRIC_COSINE)
				NormalizeInto((float *) code, v->x, dims);
			else
				memcpy(code, v->x, sizeof(float) * (size_t) dims);
			return 1;
		case VP_CODE_SQ8:
			if (v->x == NULL)
				return 0;
			memset(code, 0, bytes);
			if (metric == VP_METRIC_COSINE)
			{
				double		norm = NormSquared(v->x, dims);

				EncodeSq8(v->x, dims, norm > 0.0 ? 1.0 / sqrt(norm) : 1.0, code);
			}
			else
				EncodeSq8(v->x, dims, 1.0, code);
			return 1;
		case VP_CODE_BITS:
			if (v->bits == NULL)
				return 0;
			memset(code, 0, bytes);
			memcpy(code, v->bits, ((size_t) dims + 7) / 8);
			if (dims % 8 != 0)
				((uint8_t *) code)[dims / 8] &= (uint8_t) (0xFF << (8 - dims % 8));
			return 1;
		case VP_CODE_SPARSE:
			{
				VpSparseHeader *h = (VpSparseHeader *) code;
				int32_t    *idx = (int32_t *) (h + 1);
				float	   *val = (float *) (idx + v->nnz);
				int32_t		i;

				if (!SparseIsValid(v, dims))
					return 0;
				h->nnz = v->nnz;
				h->unused = 0;
				if (v->nnz > 0)
					memcpy(idx, v->indices, sizeof(int32_t) * (size_t) v->nnz);
				if (metric == VP_METRIC_COSINE)
				{
					double		norm = NormSquared(v->values, v->nnz);
					double		inv = norm > 0.0 ? 1.0 / sqrt(norm) : 1.0;

					for (i = 0; i < v->nnz; i++)
						val[i] = (float) (v->values[i] * inv);
				}
				else if (v->nnz > 0)
					memcpy(val, v->values, sizeof(float) * (size_t) v->nnz);
				return 1;
			}
	}
	return 0;
}

/*
 * VpQueryBufferFloats
 *		Floats of buffer VpQueryPrepare needs for v: a float query's copy,
 *		a sparse query's values, a bit query's masked bytes.
 */
size_t
VpQueryBufferFloats(VpCodeKind kind, int32_t dims, const VpVector *v)
{
	switch (kind)
	{
		case VP_CODE_FLOAT32:
		case VP_CODE_SQ8:
			return (size_t) dims;
		case VP_CODE_SPARSE:
			return v != NULL && v->nnz > 0 ? (size_t) v->nnz : 1;
		case VP_CODE_BITS:
			return (((size_t) dims + 7) / 8 + sizeof(float) - 1) / sizeof(float);
	}
	return 0;
}

/*
 * VpQueryPrepare
 *		Make v a query for codes of this kind, using buf (of
 *		VpQueryBufferFloats floats) for its normalised copy.  Returns 0 for
 *		invalid input.  v's arrays must outlive the query (bits and sparse
 *		indices are referenced, not copied).
 */
int
VpQueryPrepare(VpCodeKind kind, VpMetric metric, int32_t dims,
			   const VpVector *v, VpQuery *q, float *buf)
{
	int32_t		i;

	if (v == NULL || q == NULL || !VpCodesValid(kind, metric, dims))
		return 0;
	memset(q, 0, sizeof(VpQuery));
	q->kind = kind;
	q->metric = metric;
	q->dims = dims;
	switch (kind)
	{
		case VP_CODE_FLOAT32:
		case VP_CODE_SQ8:
			if (v->x == NULL || buf == NULL)
				return 0;
			if (metric == VP_METRIC_COSINE)
				NormalizeInto(buf, v->x, dims);
			else
				memcpy(buf, v->x, sizeof(float) * (size_t) dims);
			q->x = buf;
			if (kind == VP_CODE_SQ8)
			{
				float		sum = 0.0f;
				double		sumsq = 0.0;

				for (i = 0; i < dims; i++)
				{
					sum += buf[i];
					sumsq += (double) buf[i] * buf[i];
				}
				q->sum = sum;
				q->sumsq = sumsq;
			}
			return 1;
		case VP_CODE_BITS:
			{
				uint8_t    *bits = (uint8_t *) buf;

				/* a copy with the unused bits of the last byte cleared */
				if (v->bits == NULL || buf == NULL)
					return 0;
				memcpy(bits, v->bits, ((size_t) dims + 7) / 8);
				if (dims % 8 != 0)
					bits[dims / 8] &= (uint8_t) (0xFF << (8 - dims % 8));
				q->bits = bits;
				return 1;
			}
		case VP_CODE_SPARSE:
			if (!SparseIsValid(v, dims) || buf == NULL)
				return 0;
			q->nnz = v->nnz;
			q->indices = v->indices;
			if (metric == VP_METRIC_COSINE)
				NormalizeInto(buf, v->values, v->nnz);
			else if (v->nnz > 0)
				memcpy(buf, v->values, sizeof(float) * (size_t) v->nnz);
			q->values = buf;
			return 1;
	}
	return 0;
}

/*
 * VpQueryFromCode
 *		A query standing for a stored code (an insert's own node, a node to
 *		repair).  FLOAT32, BITS and SPARSE codes serve directly (buf unused,
 *		may be NULL); SQ8 codes are dequantized into buf (dims floats).
 */
int
VpQueryFromCode(VpCodeKind kind, VpMetric metric, int32_t dims,
				const void *code, VpQuery *q, float *buf)
{
	memset(q, 0, sizeof(VpQuery));
	q->kind = kind;
	q->metric = metric;
	q->dims = dims;
	switch (kind)
	{
		case VP_CODE_FLOAT32:
			q->x = (const float *) code;
			return 1;
		case VP_CODE_SQ8:
			{
				const VpSq8Header *h = (const VpSq8Header *) code;
				const uint8_t *c = VpSq8Bytes(code);
				float		sum = 0.0f;
				double		sumsq = 0.0;
				int32_t		i;

				if (buf == NULL)
					return 0;
				for (i = 0; i < dims; i++)
				{
					buf[i] = h->offset + h->scale * (float) c[i];
					sum += buf[i];
					sumsq += (double) buf[i] * buf[i];
				}
				q->x = buf;
				q->sum = sum;
				q->sumsq = sumsq;
				return 1;
			}
		case VP_CODE_BITS:
			q->bits = (const uint8_t *) code;
			return 1;
		case VP_CODE_SPARSE:
			{
				const VpSparseHeader *h = (const VpSparseHeader *) code;

				q->nnz = h->nnz;
				q->indices = (const int32_t *) (h + 1);
				q->values = (const float *) (q->indices + h->nnz);
				return 1;
			}
	}
	return 0;
}

/*
 * VpSparseDistance
 *		Distance between two sparse vectors (ascending indices) by merging
 *		their entries: L2 (squared) and L1 over the union, inner product and
 *		cosine (already normalised) over the intersection.
 */
float
VpSparseDistance(VpMetric metric, int32_t na, const int32_t *ia,
				 const float *va, int32_t nb, const int32_t *ib,
				 const float *vb)
{
	int32_t		i = 0;
	int32_t		j = 0;
	float		sum = 0.0f;

	switch (metric)
	{
		case VP_METRIC_L2:
		case VP_METRIC_L1:
			while (i < na || j < nb)
			{
				float		d;

				if (j >= nb || (i < na && ia[i] < ib[j]))
					d = va[i++];
				else if (i >= na || ib[j] < ia[i])
					d = -vb[j++];
				else
					d = va[i++] - vb[j++];
				sum += metric == VP_METRIC_L2 ? d * d : fabsf(d);
			}
			return sum;
		case VP_METRIC_INNER_PRODUCT:
		case VP_METRIC_COSINE:
			while (i < na && j < nb)
			{
				if (ia[i] < ib[j])
					i++;
				else if (ib[j] < ia[i])
					j++;
				else
					sum += va[i++] * vb[j++];
			}
			return metric == VP_METRIC_COSINE ? 1.0f - sum : -sum;
		default:
			return 0.0f;
	}
}
