/*-------------------------------------------------------------------------
 *
 * vphalfdist.c
 *	  Distance kernels for half-precision vectors, chosen at run time.
 *
 * Why one fixed summation order (see vphalfdist.h): halfvec is a drop-in
 * for pgvector's type, whose distances are printed with 15-17 significant
 * digits, so any other order of float additions shows up in query output
 * and in ORDER BY ties.  The order of pgvector's F16C kernels is kept:
 * eight float lanes with fused multiply-adds, a fixed pairwise reduction of
 * the lanes, then a scalar tail with fused multiply-adds.  A fused
 * multiply-add rounds once, so fmaf() in portable C and vfmadd on x86
 * give the same bits, and so do the two implementations here.
 *
 * The F16C variant is compiled with a per-function target attribute, never
 * with -march flags, and is used only when CPUID says the CPU has AVX, F16C
 * and FMA and the OS saves the AVX registers.  (__builtin_cpu_supports()
 * cannot be used: clang 14, which builds the server's JIT bitcode, does not
 * know "f16c".)
 *
 * This file includes no PostgreSQL header: it is compiled into the server
 * module and standalone into the unit tests.
 *
 * IDENTIFICATION
 *	  src/vphalfdist.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vphalfdist.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define VP_HAVE_F16C_KERNELS 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#define LANES 8

/*
 * LaneSum
 *		Reduce the eight lane sums in the fixed order
 *		((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)), which is what the
 *		SIMD reduction below computes; float addition is commutative, so
 *		only the grouping matters.
 */
static inline float
LaneSum(const float s[LANES])
{
	float		t0 = s[0] + s[4];
	float		t1 = s[1] + s[5];
	float		t2 = s[2] + s[6];
	float		t3 = s[3] + s[7];

	return (t0 + t2) + (t1 + t3);
}

/*
 * PortableL2Squared
 *		Sum of squared differences in the fixed order.
 */
static float
PortableL2Squared(const VpHalf *a, const VpHalf *b, size_t n)
{
	float		lane[LANES] = {0};
	size_t		blocks = n - n % LANES;
	size_t		i;
	float		sum;

	for (i = 0; i < blocks; i += LANES)
	{
		int			j;

		for (j = 0; j < LANES; j++)
		{
			float		d = VpHalfToFloat(a[i + j]) - VpHalfToFloat(b[i + j]);

			lane[j] = fmaf(d, d, lane[j]);
		}
	}
	sum = LaneSum(lane);
	for (; i < n; i++)
	{
		float		d = VpHalfToFloat(a[i]) - VpHalfToFloat(b[i]);

		sum = fmaf(d, d, sum);
	}
	return sum;
}

/*
 * PortableInnerProduct
 *		Dot product in the fixed order.
 */
static float
PortableInnerProduct(const VpHalf *a, const VpHalf *b, size_t n)
{
	float		lane[LANES] = {0};
	size_t		blocks = n - n % LANES;
	size_t		i;
	float		sum;

	for (i = 0; i < blocks; i += LANES)
	{
		int			j;

		for (j = 0; j < LANES; j++)
			lane[j] = fmaf(VpHalfToFloat(a[i + j]), VpHalfToFloat(b[i + j]),
						   lane[j]);
	}
	sum = LaneSum(lane);
	for (; i < n; i++)
		sum = fmaf(VpHalfToFloat(a[i]), VpHalfToFloat(b[i]), sum);
	return sum;
}

/*
 * PortableL1
 *		Sum of absolute differences in the fixed order (plain additions:
 *		there is no product to fuse).
 */
static float
PortableL1(const VpHalf *a, const VpHalf *b, size_t n)
{
	float		lane[LANES] = {0};
	size_t		blocks = n - n % LANES;
	size_t		i;
	float		sum;

	for (i = 0; i < blocks; i += LANES)
	{
		int			j;

		for (j = 0; j < LANES; j++)
			lane[j] += fabsf(VpHalfToFloat(a[i + j]) - VpHalfToFloat(b[i + j]));
	}
	sum = LaneSum(lane);
	for (; i < n; i++)
		sum += fabsf(VpHalfToFloat(a[i]) - VpHalfToFloat(b[i]));
	return sum;
}

/*
 * PortableCosineParts
 *		Dot product and both squared norms in one pass, each in the fixed
 *		order.
 */
static void
PortableCosineParts(const VpHalf *a, const VpHalf *b, size_t n,
					float *dot, float *norm_a, float *norm_b)
{
	float		d[LANES] = {0};
	float		na[LANES] = {0};
	float		nb[LANES] = {0};
	size_t		blocks = n - n % LANES;
	size_t		i;
	float		sd;
	float		sa;
	float		sb;

	for (i = 0; i < blocks; i += LANES)
	{
		int			j;

		for (j = 0; j < LANES; j++)
		{
			float		x = VpHalfToFloat(a[i + j]);
			float		y = VpHalfToFloat(b[i + j]);

			d[j] = fmaf(x, y, d[j]);
			na[j] = fmaf(x, x, na[j]);
			nb[j] = fmaf(y, y, nb[j]);
		}
	}
	sd = LaneSum(d);
	sa = LaneSum(na);
	sb = LaneSum(nb);
	for (; i < n; i++)
	{
		float		x = VpHalfToFloat(a[i]);
		float		y = VpHalfToFloat(b[i]);

		sd = fmaf(x, y, sd);
		sa = fmaf(x, x, sa);
		sb = fmaf(y, y, sb);
	}
	*dot = sd;
	*norm_a = sa;
	*norm_b = sb;
}

static const VpHalfKernels portable_kernels = {
	"portable", PortableL2Squared, PortableInnerProduct, PortableL1,
	PortableCosineParts
};

#ifdef VP_HAVE_F16C_KERNELS

/* ----------------------------------------------------------------------
 * AVX + F16C + FMA: vcvtph2ps widens eight halves at once; one 8-lane
 * accumulator per sum, so that lane j sees exactly the elements the
 * portable code gives it.  The tails use fmaf(), which the target
 * attribute lets the compiler emit as one vfmadd.
 * ----------------------------------------------------------------------
 */

/*
 * F16cLoad
 *		Eight halves from an unaligned address, widened to floats.
 */
__attribute__((target("avx,f16c,fma")))
static inline __m256
F16cLoad(const VpHalf *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) p));
}

/*
 * F16cLaneSum
 *		LaneSum() of the lanes of v: high half plus low half gives
 *		t_i = s_i + s_(i+4), then (t0 + t2) and (t1 + t3), then their sum.
 */
__attribute__((target("avx,f16c,fma")))
static inline float
F16cLaneSum(__m256 v)
{
	__m128		t = _mm_add_ps(_mm256_castps256_ps128(v),
							   _mm256_extractf128_ps(v, 1));
	__m128		u = _mm_add_ps(t, _mm_movehl_ps(t, t));
	__m128		r = _mm_add_ss(u, _mm_shuffle_ps(u, u, 0x55));

	return _mm_cvtss_f32(r);
}

/*
 * F16cL2Squared
 *		PortableL2Squared() with eight lanes in one register.
 */
__attribute__((target("avx,f16c,fma")))
static float
F16cL2Squared(const VpHalf *a, const VpHalf *b, size_t n)
{
	__m256		acc = _mm256_setzero_ps();
	size_t		blocks = n - n % LANES;
	size_t		i;
	float		sum;

	for (i = 0; i < blocks; i += LANES)
	{
		__m256		d = _mm256_sub_ps(F16cLoad(a + i), F16cLoad(b + i));

		acc = _mm256_fmadd_ps(d, d, acc);
	}
	sum = F16cLaneSum(acc);
	for (; i < n; i++)
	{
		float		d = VpHalfToFloat(a[i]) - VpHalfToFloat(b[i]);

		sum = fmaf(d, d, sum);
	}
	return sum;
}

/*
 * F16cInnerProduct
 *		PortableInnerProduct() with eight lanes in one register.
 */
__attribute__((target("avx,f16c,fma")))
static float
F16cInnerProduct(const VpHalf *a, const VpHalf *b, size_t n)
{
	__m256		acc = _mm256_setzero_ps();
	size_t		blocks = n - n % LANES;
	size_t		i;
	float		sum;

	for (i = 0; i < blocks; i += LANES)
		acc = _mm256_fmadd_ps(F16cLoad(a + i), F16cLoad(b + i), acc);
	sum = F16cLaneSum(acc);
	for (; i < n; i++)
		sum = fmaf(VpHalfToFloat(a[i]), VpHalfToFloat(b[i]), sum);
	return sum;
}

/*
 * F16cL1
 *		PortableL1() with eight lanes in one register; clearing the sign
 *		bit is fabsf().
 */
__attribute__((target("avx,f16c,fma")))
static float
F16cL1(const VpHalf *a, const VpHalf *b, size_t n)
{
	__m256		acc = _mm256_setzero_ps();
	__m256		sign = _mm256_set1_ps(-0.0f);
	size_t		blocks = n - n % LANES;
	size_t		i;
	float		sum;

	for (i = 0; i < blocks; i += LANES)
	{
		__m256		d = _mm256_sub_ps(F16cLoad(a + i), F16cLoad(b + i));

		acc = _mm256_add_ps(acc, _mm256_andnot_ps(sign, d));
	}
	sum = F16cLaneSum(acc);
	for (; i < n; i++)
		sum += fabsf(VpHalfToFloat(a[i]) - VpHalfToFloat(b[i]));
	return sum;
}

/*
 * F16cCosineParts
 *		PortableCosineParts() with eight lanes per sum in registers.
 */
__attribute__((target("avx,f16c,fma")))
static void
F16cCosineParts(const VpHalf *a, const VpHalf *b, size_t n,
				float *dot, float *norm_a, float *norm_b)
{
	__m256		d = _mm256_setzero_ps();
	__m256		na = _mm256_setzero_ps();
	__m256		nb = _mm256_setzero_ps();
	size_t		blocks = n - n % LANES;
	size_t		i;
	float		sd;
	float		sa;
	float		sb;

	for (i = 0; i < blocks; i += LANES)
	{
		__m256		x = F16cLoad(a + i);
		__m256		y = F16cLoad(b + i);

		d = _mm256_fmadd_ps(x, y, d);
		na = _mm256_fmadd_ps(x, x, na);
		nb = _mm256_fmadd_ps(y, y, nb);
	}
	sd = F16cLaneSum(d);
	sa = F16cLaneSum(na);
	sb = F16cLaneSum(nb);
	for (; i < n; i++)
	{
		float		x = VpHalfToFloat(a[i]);
		float		y = VpHalfToFloat(b[i]);

		sd = fmaf(x, y, sd);
		sa = fmaf(x, x, sa);
		sb = fmaf(y, y, sb);
	}
	*dot = sd;
	*norm_a = sa;
	*norm_b = sb;
}

static const VpHalfKernels f16c_kernels = {
	"f16c", F16cL2Squared, F16cInnerProduct, F16cL1, F16cCosineParts
};

/*
 * CpuHasF16c
 *		Whether the CPU has AVX, F16C and FMA and the OS saves the SSE and
 *		AVX register state (XCR0 bits 1 and 2), so that the F16C kernels
 *		can run.
 */
static bool
CpuHasF16c(void)
{
	unsigned int eax,
				ebx,
				ecx,
				edx;
	unsigned int xcr0_lo,
				xcr0_hi;
	const unsigned int needed = bit_OSXSAVE | bit_AVX | bit_F16C | bit_FMA;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return false;
	if ((ecx & needed) != needed)
		return false;

	/* xgetbv with ECX = 0 reads XCR0; OSXSAVE says the instruction exists */
	__asm__ __volatile__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
	(void) xcr0_hi;
	return (xcr0_lo & 6) == 6;
}

#endif							/* VP_HAVE_F16C_KERNELS */

/*
 * VpHalfKernelsFor
 *		The table for one level, or NULL if this CPU or build cannot run it;
 *		lets the unit tests compare every available implementation.
 */
const VpHalfKernels *
VpHalfKernelsFor(VpHalfKernelLevel level)
{
	switch (level)
	{
		case VP_HALF_KERNEL_PORTABLE:
			return &portable_kernels;
		case VP_HALF_KERNEL_F16C:
#ifdef VP_HAVE_F16C_KERNELS
			if (CpuHasF16c())
				return &f16c_kernels;
#endif
			return NULL;
		default:
			return NULL;
	}
}

/*
 * VpHalfKernelsGet
 *		The table to use: F16C where available, unless VECPERSIST_KERNEL is
 *		"scalar" (the switch vpdistance.c honours for the float kernels).
 *		Decided once per process; both tables give the same results, so
 *		the choice only affects speed.  Backends are single-threaded, so
 *		the unsynchronised first-call initialisation is safe there.
 */
const VpHalfKernels *
VpHalfKernelsGet(void)
{
	static const VpHalfKernels *chosen = NULL;

	if (chosen == NULL)
	{
		const char *env = getenv("VECPERSIST_KERNEL");
		const VpHalfKernels *k = NULL;

		if (env == NULL || strcmp(env, "scalar") != 0)
			k = VpHalfKernelsFor(VP_HALF_KERNEL_F16C);
		chosen = k != NULL ? k : &portable_kernels;
	}
	return chosen;
}
