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

/* Instruction-set levels a kernel table can be built for */
typedef enum VpKernelLevel
{
	VP_KERNEL_SCALAR = 0,		/* portable C, always available */
	VP_KERNEL_AVX2,				/* x86-64 AVX2 + FMA */
	VP_KERNEL_AVX512,			/* x86-64 AVX-512F */
	VP_KERNEL_NLEVELS
} VpKernelLevel;

/*
 * One table of kernels.  All take two arrays of n floats (n >= 1) and
 * accumulate in float lanes; callers that need more precision for a final
 * result (e.g. sqrt) widen the returned value.
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
