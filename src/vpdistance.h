/*-------------------------------------------------------------------------
 *
 * vpdistance.h
 *	  Distance kernels for float vectors, shared by the SQL operators and
 *	  the in-memory HNSW graph.
 *
 * This header is deliberately free of PostgreSQL headers so that the
 * kernels can be unit-tested and benchmarked outside the server.  The
 * implementation picks the fastest variant the CPU supports once, at
 * VpDistanceInit(), and publishes it through vp_kernels.
 *
 * IDENTIFICATION
 *	  src/vpdistance.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPDISTANCE_H
#define VPDISTANCE_H

#include <stddef.h>
#include <stdint.h>

/* Instruction-set levels a kernel table can be built for */
typedef enum VpKernelLevel
{
	VP_KERNEL_SCALAR = 0,		/* portable C, always available */
	VP_KERNEL_AVX2,				/* x86-64 AVX2 + FMA */
	VP_KERNEL_AVX512,			/* x86-64 AVX-512F */
	VP_KERNEL_NLEVELS
} VpKernelLevel;

/*
 * One table of kernels.  The float kernels take two arrays of n floats
 * (n >= 1) and accumulate in float lanes; callers that need more precision
 * for a final result (e.g. sqrt) widen the returned value.  The kernels on
 * 8-bit codes serve the graph's quantized vectors (vpcodes.h): a code c
 * stands for the floats offset + scale * c[i].  The bit kernels count bits
 * of packed bit strings of nbytes bytes.
 */
typedef struct VpDistanceKernels
{
	const char *name;			/* "scalar", "avx2", "avx512" */
	float		(*l2_squared) (const float *a, const float *b, size_t n);
	float		(*inner_product) (const float *a, const float *b, size_t n);
	float		(*l1) (const float *a, const float *b, size_t n);
	/* dot product and both squared norms in one pass, for cosine */
	void		(*cosine_parts) (const float *a, const float *b, size_t n,
								 float *dot, float *norm_a, float *norm_b);
	/* sum of q[i] * c[i] for float q and 8-bit codes c */
	float		(*dot_f32_u8) (const float *q, const uint8_t *c, size_t n);
	/* sum of a[i] * b[i] for two 8-bit codes, exact (n <= 32768) */
	uint32_t	(*dot_u8_u8) (const uint8_t *a, const uint8_t *b, size_t n);
	/* sum of |q[i] - (offset + scale * c[i])| */
	float		(*l1_f32_u8) (const float *q, float offset, float scale,
							  const uint8_t *c, size_t n);
	/* sum of |(oa + sa * a[i]) - (ob + sb * b[i])| */
	float		(*l1_u8_u8) (float oa, float sa, const uint8_t *a,
							 float ob, float sb, const uint8_t *b, size_t n);
	/* bits set in a XOR b */
	uint64_t	(*popcount_xor) (const uint8_t *a, const uint8_t *b,
								 size_t nbytes);
	/* bits set in a AND b, and in a OR b */
	void		(*popcount_and_or) (const uint8_t *a, const uint8_t *b,
									size_t nbytes, uint64_t *both,
									uint64_t *either);
} VpDistanceKernels;

/* the table chosen for this CPU; valid after VpDistanceInit() */
extern VpDistanceKernels vp_kernels;

/* choose the best table for this CPU; idempotent and cheap */
extern void VpDistanceInit(void);

/*
 * The table for one level, or NULL when this CPU (or this build) cannot run
 * it.  Used by the unit tests to exercise every supported path.
 */
extern const VpDistanceKernels *VpDistanceKernelsFor(VpKernelLevel level);

/*
 * Cosine distance 1 - dot/(|a||b|) from the three parts, in double; returns
 * NaN when either norm is zero (the SQL layer decides what that means).
 */
extern double VpCosineFromParts(float dot, float norm_a, float norm_b);

#endif							/* VPDISTANCE_H */
