/*-------------------------------------------------------------------------
 *
 * vphalfdist.h
 *	  Distance kernels for half-precision vectors.
 *
 * Each kernel widens the halves to float and accumulates in float, in one
 * fixed order: eight lanes, lane j summing the elements j, j + 8, j + 16 ...
 * of the first 8 * floor(n / 8) with fused multiply-adds, then the lanes
 * added pairwise ((0+4) + (2+6)) + ((1+5) + (3+7)), then the remaining
 * elements one at a time, again with fused multiply-adds.  That is the
 * order pgvector's F16C kernels use on every x86-64 CPU made since 2013,
 * so halfvec distances print digit for digit as pgvector's do there.
 *
 * Two implementations give bit-identical results: a portable one (fmaf(),
 * which is correctly rounded everywhere) and, on x86-64 with GCC or clang,
 * one with AVX + F16C + FMA chosen at run time.  test/unit/test_half.c
 * checks that they agree.
 *
 * No PostgreSQL header is included, so the kernels can be unit-tested and
 * reused by code that does not include the server's headers.
 *
 * IDENTIFICATION
 *	  src/vphalfdist.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPHALFDIST_H
#define VPHALFDIST_H

#include <stddef.h>

#include "vphalf.h"

/* implementations a kernel table can be built for */
typedef enum VpHalfKernelLevel
{
	VP_HALF_KERNEL_PORTABLE = 0,	/* plain C with fmaf() */
	VP_HALF_KERNEL_F16C,		/* x86-64 AVX + F16C + FMA */
	VP_HALF_KERNEL_NLEVELS
} VpHalfKernelLevel;

/* One table of kernels; all take two arrays of n halves (n >= 0) */
typedef struct VpHalfKernels
{
	const char *name;			/* "portable", "f16c" */
	float		(*l2_squared) (const VpHalf *a, const VpHalf *b, size_t n);
	float		(*inner_product) (const VpHalf *a, const VpHalf *b, size_t n);
	float		(*l1) (const VpHalf *a, const VpHalf *b, size_t n);
	/* dot product and both squared norms in one pass, for cosine */
	void		(*cosine_parts) (const VpHalf *a, const VpHalf *b, size_t n,
								 float *dot, float *norm_a, float *norm_b);
} VpHalfKernels;

/*
 * The table for this CPU.  Chosen on first use; the environment variable
 * VECPERSIST_KERNEL=scalar selects the portable table (as it selects the
 * scalar float kernels in vpdistance.c).
 */
extern const VpHalfKernels *VpHalfKernelsGet(void);

/* the table for one level, or NULL when this CPU or build cannot run it */
extern const VpHalfKernels *VpHalfKernelsFor(VpHalfKernelLevel level);

#endif							/* VPHALFDIST_H */
