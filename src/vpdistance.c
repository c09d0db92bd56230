/*-------------------------------------------------------------------------
 *
 * vpdistance.c
 *	  Distance kernels for float vectors, chosen at run time.
 *
 * Portable scalar kernels are always available.  On x86-64 built with GCC
 * or clang, AVX2+FMA and AVX-512F variants are compiled with per-function
 * target attributes (never -march=native), so one binary runs on any
 * x86-64 CPU and uses the widest instruction set it finds.  The choice is
 * made once in VpDistanceInit() with __builtin_cpu_supports() and
 * published through vp_kernels; the environment variable VECPERSIST_KERNEL
 * (scalar, avx2 or avx512) can lower that choice, e.g. to compare paths or
 * to run under a tool that does not emulate AVX-512, but never raise it
 * above what the CPU supports.
 *
 * All kernels accumulate in float lanes.  The SIMD variants keep several
 * independent accumulators so the loop is bound by load throughput rather
 * than by the latency of a single add/FMA chain, and handle lengths that
 * are not a multiple of the vector width with a masked load (AVX-512) or
 * a scalar tail (AVX2).  Results therefore differ from the scalar kernels
 * by float rounding only; test/unit/test_distance.c bounds the difference.
 *
 * This file includes no PostgreSQL header: it is compiled into the server
 * module and standalone into the unit tests.
 *
 * IDENTIFICATION
 *	  src/vpdistance.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vpdistance.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define VP_HAVE_X86_KERNELS 1
#include <immintrin.h>
#endif

/*
 * ScalarL2Squared
 *		Sum of squared differences; the portable reference path.
 */
static float
ScalarL2Squared(const float *a, const float *b, size_t n)
{
	float		sum = 0.0f;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

/*
 * ScalarInnerProduct
 *		Dot product; the portable reference path.
 */
static float
ScalarInnerProduct(const float *a, const float *b, size_t n)
{
	float		sum = 0.0f;
	size_t		i;

	for (i = 0; i < n; i++)
		sum += a[i] * b[i];
	return sum;
}

/*
 * ScalarL1
 *		Sum of absolute differences; the portable reference path.
 */
static float
ScalarL1(const float *a, const float *b, size_t n)
{
	float		sum = 0.0f;
	size_t		i;

	for (i = 0; i < n; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

/*
 * ScalarCosineParts
 *		Dot product and both squared norms in one pass, so cosine distance
 *		reads each vector once.
 */
static void
ScalarCosineParts(const float *a, const float *b, size_t n,
				  float *dot, float *norm_a, float *norm_b)
{
	float		d = 0.0f,
				na = 0.0f,
				nb = 0.0f;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		d += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	*dot = d;
	*norm_a = na;
	*norm_b = nb;
}

static const VpDistanceKernels scalar_kernels = {
	"scalar", ScalarL2Squared, ScalarInnerProduct, ScalarL1, ScalarCosineParts
};

#ifdef VP_HAVE_X86_KERNELS

/* ----------------------------------------------------------------------
 * AVX2 + FMA: 8 float lanes, four accumulators (32 floats per iteration),
 * then single vectors of 8, then a scalar tail of at most 7 elements.
 * ----------------------------------------------------------------------
 */

/*
 * Avx2HorizontalSum
 *		Add the 8 lanes of v.  Only called at the end of a kernel.
 */
__attribute__((target("avx2,fma")))
static inline float
Avx2HorizontalSum(__m256 v)
{
	__m128		lo = _mm256_castps256_ps128(v);
	__m128		hi = _mm256_extractf128_ps(v, 1);
	__m128		s = _mm_add_ps(lo, hi);
	__m128		shuf = _mm_movehdup_ps(s);

	s = _mm_add_ps(s, shuf);
	shuf = _mm_movehl_ps(shuf, s);
	s = _mm_add_ss(s, shuf);
	return _mm_cvtss_f32(s);
}

/*
 * Avx2L2Squared
 *		Sum of squared differences with AVX2 + FMA.
 */
__attribute__((target("avx2,fma")))
static float
Avx2L2Squared(const float *a, const float *b, size_t n)
{
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	__m256		acc2 = _mm256_setzero_ps();
	__m256		acc3 = _mm256_setzero_ps();
	float		sum;
	size_t		i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		__m256		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		__m256		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));

		acc0 = _mm256_fmadd_ps(d0, d0, acc0);
		acc1 = _mm256_fmadd_ps(d1, d1, acc1);
		acc2 = _mm256_fmadd_ps(d2, d2, acc2);
		acc3 = _mm256_fmadd_ps(d3, d3, acc3);
	}
	for (; i + 8 <= n; i += 8)
	{
		__m256		d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));

		acc0 = _mm256_fmadd_ps(d, d, acc0);
	}
	acc0 = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
	sum = Avx2HorizontalSum(acc0);
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

/*
 * Avx2InnerProduct
 *		Dot product with AVX2 + FMA.
 */
__attribute__((target("avx2,fma")))
static float
Avx2InnerProduct(const float *a, const float *b, size_t n)
{
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	__m256		acc2 = _mm256_setzero_ps();
	__m256		acc3 = _mm256_setzero_ps();
	float		sum;
	size_t		i = 0;

	for (; i + 32 <= n; i += 32)
	{
		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
		acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
		acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
	}
	for (; i + 8 <= n; i += 8)
		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
	acc0 = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
	sum = Avx2HorizontalSum(acc0);
	for (; i < n; i++)
		sum += a[i] * b[i];
	return sum;
}

/*
 * Avx2L1
 *		Sum of absolute differences with AVX2 (the sign bit is cleared with
 *		an and-not, so no FMA is involved).
 */
__attribute__((target("avx2,fma")))
static float
Avx2L1(const float *a, const float *b, size_t n)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	__m256		acc2 = _mm256_setzero_ps();
	__m256		acc3 = _mm256_setzero_ps();
	float		sum;
	size_t		i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		__m256		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		__m256		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));

		acc0 = _mm256_add_ps(acc0, _mm256_andnot_ps(sign, d0));
		acc1 = _mm256_add_ps(acc1, _mm256_andnot_ps(sign, d1));
		acc2 = _mm256_add_ps(acc2, _mm256_andnot_ps(sign, d2));
		acc3 = _mm256_add_ps(acc3, _mm256_andnot_ps(sign, d3));
	}
	for (; i + 8 <= n; i += 8)
	{
		__m256		d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));

		acc0 = _mm256_add_ps(acc0, _mm256_andnot_ps(sign, d));
	}
	acc0 = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
	sum = Avx2HorizontalSum(acc0);
	for (; i < n; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

/*
 * Avx2CosineParts
 *		Dot product and both squared norms in one pass with AVX2 + FMA; two
 *		accumulators per quantity (six in all) keep the FMA units busy
 *		without running out of the sixteen ymm registers.
 */
__attribute__((target("avx2,fma")))
static void
Avx2CosineParts(const float *a, const float *b, size_t n,
				float *dot, float *norm_a, float *norm_b)
{
	__m256		d0 = _mm256_setzero_ps();
	__m256		d1 = _mm256_setzero_ps();
	__m256		na0 = _mm256_setzero_ps();
	__m256		na1 = _mm256_setzero_ps();
	__m256		nb0 = _mm256_setzero_ps();
	__m256		nb1 = _mm256_setzero_ps();
	float		d,
				na,
				nb;
	size_t		i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		x0 = _mm256_loadu_ps(a + i);
		__m256		y0 = _mm256_loadu_ps(b + i);
		__m256		x1 = _mm256_loadu_ps(a + i + 8);
		__m256		y1 = _mm256_loadu_ps(b + i + 8);

		d0 = _mm256_fmadd_ps(x0, y0, d0);
		na0 = _mm256_fmadd_ps(x0, x0, na0);
		nb0 = _mm256_fmadd_ps(y0, y0, nb0);
		d1 = _mm256_fmadd_ps(x1, y1, d1);
		na1 = _mm256_fmadd_ps(x1, x1, na1);
		nb1 = _mm256_fmadd_ps(y1, y1, nb1);
	}
	for (; i + 8 <= n; i += 8)
	{
		__m256		x = _mm256_loadu_ps(a + i);
		__m256		y = _mm256_loadu_ps(b + i);

		d0 = _mm256_fmadd_ps(x, y, d0);
		na0 = _mm256_fmadd_ps(x, x, na0);
		nb0 = _mm256_fmadd_ps(y, y, nb0);
	}
	d = Avx2HorizontalSum(_mm256_add_ps(d0, d1));
	na = Avx2HorizontalSum(_mm256_add_ps(na0, na1));
	nb = Avx2HorizontalSum(_mm256_add_ps(nb0, nb1));
	for (; i < n; i++)
	{
		d += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	*dot = d;
	*norm_a = na;
	*norm_b = nb;
}

static const VpDistanceKernels avx2_kernels = {
	"avx2", Avx2L2Squared, Avx2InnerProduct, Avx2L1, Avx2CosineParts
};

/* ----------------------------------------------------------------------
 * AVX-512F: 16 float lanes, four accumulators (64 floats per iteration),
 * then single vectors of 16, then one masked load for the last 1..15
 * elements (masked-off lanes read as zero and are not touched in memory,
 * so nothing past the end of either array is accessed).
 * ----------------------------------------------------------------------
 */

/*
 * Avx512TailMask
 *		Mask selecting the low `rest` lanes, 0 < rest < 16.
 */
__attribute__((target("avx512f")))
static inline __mmask16
Avx512TailMask(size_t rest)
{
	return (__mmask16) ((1u << rest) - 1u);
}

/*
 * Avx512L2Squared
 *		Sum of squared differences with AVX-512F.
 */
__attribute__((target("avx512f")))
static float
Avx512L2Squared(const float *a, const float *b, size_t n)
{
	__m512		acc0 = _mm512_setzero_ps();
	__m512		acc1 = _mm512_setzero_ps();
	__m512		acc2 = _mm512_setzero_ps();
	__m512		acc3 = _mm512_setzero_ps();
	size_t		i = 0;

	for (; i + 64 <= n; i += 64)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		__m512		d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		__m512		d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));

		acc0 = _mm512_fmadd_ps(d0, d0, acc0);
		acc1 = _mm512_fmadd_ps(d1, d1, acc1);
		acc2 = _mm512_fmadd_ps(d2, d2, acc2);
		acc3 = _mm512_fmadd_ps(d3, d3, acc3);
	}
	for (; i + 16 <= n; i += 16)
	{
		__m512		d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));

		acc0 = _mm512_fmadd_ps(d, d, acc0);
	}
	if (i < n)
	{
		__mmask16	k = Avx512TailMask(n - i);
		__m512		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, a + i),
									  _mm512_maskz_loadu_ps(k, b + i));

		acc1 = _mm512_fmadd_ps(d, d, acc1);
	}
	acc0 = _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
	return _mm512_reduce_add_ps(acc0);
}

/*
 * Avx512InnerProduct
 *		Dot product with AVX-512F.
 */
__attribute__((target("avx512f")))
static float
Avx512InnerProduct(const float *a, const float *b, size_t n)
{
	__m512		acc0 = _mm512_setzero_ps();
	__m512		acc1 = _mm512_setzero_ps();
	__m512		acc2 = _mm512_setzero_ps();
	__m512		acc3 = _mm512_setzero_ps();
	size_t		i = 0;

	for (; i + 64 <= n; i += 64)
	{
		acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
		acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
		acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
		acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
	}
	for (; i + 16 <= n; i += 16)
		acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
	if (i < n)
	{
		__mmask16	k = Avx512TailMask(n - i);

		acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, a + i),
							   _mm512_maskz_loadu_ps(k, b + i), acc1);
	}
	acc0 = _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
	return _mm512_reduce_add_ps(acc0);
}

/*
 * Avx512L1
 *		Sum of absolute differences with AVX-512F.
 */
__attribute__((target("avx512f")))
static float
Avx512L1(const float *a, const float *b, size_t n)
{
	__m512		acc0 = _mm512_setzero_ps();
	__m512		acc1 = _mm512_setzero_ps();
	__m512		acc2 = _mm512_setzero_ps();
	__m512		acc3 = _mm512_setzero_ps();
	size_t		i = 0;

	for (; i + 64 <= n; i += 64)
	{
		acc0 = _mm512_add_ps(acc0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
		acc1 = _mm512_add_ps(acc1, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16))));
		acc2 = _mm512_add_ps(acc2, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32))));
		acc3 = _mm512_add_ps(acc3, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48))));
	}
	for (; i + 16 <= n; i += 16)
		acc0 = _mm512_add_ps(acc0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
	if (i < n)
	{
		__mmask16	k = Avx512TailMask(n - i);
		__m512		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, a + i),
									  _mm512_maskz_loadu_ps(k, b + i));

		acc1 = _mm512_add_ps(acc1, _mm512_abs_ps(d));
	}
	acc0 = _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
	return _mm512_reduce_add_ps(acc0);
}

/*
 * Avx512CosineParts
 *		Dot product and both squared norms in one pass with AVX-512F, two
 *		accumulators per quantity.
 */
__attribute__((target("avx512f")))
static void
Avx512CosineParts(const float *a, const float *b, size_t n,
				  float *dot, float *norm_a, float *norm_b)
{
	__m512		d0 = _mm512_setzero_ps();
	__m512		d1 = _mm512_setzero_ps();
	__m512		na0 = _mm512_setzero_ps();
	__m512		na1 = _mm512_setzero_ps();
	__m512		nb0 = _mm512_setzero_ps();
	__m512		nb1 = _mm512_setzero_ps();
	size_t		i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m512		x0 = _mm512_loadu_ps(a + i);
		__m512		y0 = _mm512_loadu_ps(b + i);
		__m512		x1 = _mm512_loadu_ps(a + i + 16);
		__m512		y1 = _mm512_loadu_ps(b + i + 16);

		d0 = _mm512_fmadd_ps(x0, y0, d0);
		na0 = _mm512_fmadd_ps(x0, x0, na0);
		nb0 = _mm512_fmadd_ps(y0, y0, nb0);
		d1 = _mm512_fmadd_ps(x1, y1, d1);
		na1 = _mm512_fmadd_ps(x1, x1, na1);
		nb1 = _mm512_fmadd_ps(y1, y1, nb1);
	}
	for (; i + 16 <= n; i += 16)
	{
		__m512		x = _mm512_loadu_ps(a + i);
		__m512		y = _mm512_loadu_ps(b + i);

		d0 = _mm512_fmadd_ps(x, y, d0);
		na0 = _mm512_fmadd_ps(x, x, na0);
		nb0 = _mm512_fmadd_ps(y, y, nb0);
	}
	if (i < n)
	{
		__mmask16	k = Avx512TailMask(n - i);
		__m512		x = _mm512_maskz_loadu_ps(k, a + i);
		__m512		y = _mm512_maskz_loadu_ps(k, b + i);

		d1 = _mm512_fmadd_ps(x, y, d1);
		na1 = _mm512_fmadd_ps(x, x, na1);
		nb1 = _mm512_fmadd_ps(y, y, nb1);
	}
	*dot = _mm512_reduce_add_ps(_mm512_add_ps(d0, d1));
	*norm_a = _mm512_reduce_add_ps(_mm512_add_ps(na0, na1));
	*norm_b = _mm512_reduce_add_ps(_mm512_add_ps(nb0, nb1));
}

static const VpDistanceKernels avx512_kernels = {
	"avx512", Avx512L2Squared, Avx512InnerProduct, Avx512L1, Avx512CosineParts
};

#endif							/* VP_HAVE_X86_KERNELS */

VpDistanceKernels vp_kernels = {
	"scalar", ScalarL2Squared, ScalarInnerProduct, ScalarL1, ScalarCosineParts
};

static int	kernels_initialized = 0;

/*
 * CpuSupportsLevel
 *		Whether this CPU and OS (and this build) can run kernels of `level`.
 *		libgcc's __builtin_cpu_supports also checks, via XGETBV, that the OS
 *		saves the wide registers, so a true answer means the code can run.
 */
static int
CpuSupportsLevel(VpKernelLevel level)
{
	switch (level)
	{
		case VP_KERNEL_SCALAR:
			return 1;
#ifdef VP_HAVE_X86_KERNELS
		case VP_KERNEL_AVX2:
			__builtin_cpu_init();
			return __builtin_cpu_supports("avx2") &&
				__builtin_cpu_supports("fma");
		case VP_KERNEL_AVX512:
			__builtin_cpu_init();
			return __builtin_cpu_supports("avx512f");
#endif
		default:
			return 0;
	}
}

/*
 * VpDistanceInit
 *		Choose the best kernel table for this CPU and copy it to vp_kernels.
 *
 * Idempotent and cheap after the first call, so every entry point that
 * needs distances (the SQL operators, VpGraphInit) may call it.  The
 * VECPERSIST_KERNEL environment variable can ask for a lower level; an
 * unknown value or a level the CPU cannot run is ignored.  Not meant to be
 * called concurrently from several threads (PostgreSQL backends are
 * single-threaded; each process makes its own choice).
 */
void
VpDistanceInit(void)
{
	int			best = VP_KERNEL_SCALAR;
	int			level;
	const char *env;

	if (kernels_initialized)
		return;

	for (level = VP_KERNEL_NLEVELS - 1; level > VP_KERNEL_SCALAR; level--)
	{
		if (CpuSupportsLevel((VpKernelLevel) level))
		{
			best = level;
			break;
		}
	}

	env = getenv("VECPERSIST_KERNEL");
	if (env != NULL)
	{
		int			wanted = -1;

		if (strcmp(env, "scalar") == 0)
			wanted = VP_KERNEL_SCALAR;
		else if (strcmp(env, "avx2") == 0)
			wanted = VP_KERNEL_AVX2;
		else if (strcmp(env, "avx512") == 0)
			wanted = VP_KERNEL_AVX512;

		/* only downgrade, and only to a level this CPU can run */
		while (wanted >= 0 && wanted < best &&
			   !CpuSupportsLevel((VpKernelLevel) wanted))
			wanted--;
		if (wanted >= 0 && wanted < best)
			best = wanted;
	}

	vp_kernels = *VpDistanceKernelsFor((VpKernelLevel) best);
	kernels_initialized = 1;
}

/*
 * VpDistanceKernelsFor
 *		The kernel table for one level, or NULL if this CPU or this build
 *		cannot run it.  Lets the unit tests exercise every available path
 *		regardless of what VpDistanceInit picked.
 */
const VpDistanceKernels *
VpDistanceKernelsFor(VpKernelLevel level)
{
	if (!CpuSupportsLevel(level))
		return NULL;
	switch (level)
	{
		case VP_KERNEL_SCALAR:
			return &scalar_kernels;
#ifdef VP_HAVE_X86_KERNELS
		case VP_KERNEL_AVX2:
			return &avx2_kernels;
		case VP_KERNEL_AVX512:
			return &avx512_kernels;
#endif
		default:
			return NULL;
	}
}

/*
 * VpCosineFromParts
 *		Cosine distance 1 - dot / (|a| |b|) from the parts, in double so the
 *		square root and division add no float rounding.  NaN when either
 *		norm is zero: the caller decides what that means.
 */
double
VpCosineFromParts(float dot, float norm_a, float norm_b)
{
	double		denom = sqrt((double) norm_a * (double) norm_b);

	if (denom == 0.0)
		return NAN;
	return 1.0 - (double) dot / denom;
}
