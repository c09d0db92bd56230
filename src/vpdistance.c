/*-------------------------------------------------------------------------
 *
 * vpdistance.c
 *	  Distance kernels for float vectors, 8-bit codes and bit strings,
 *	  chosen at run time.
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

/*
 * ScalarDotF32U8
 *		Sum of q[i] * c[i] over float q and 8-bit codes c.
 */
static float
ScalarDotF32U8(const float *q, const uint8_t *c, size_t n)
{
	float		sum = 0.0f;
	size_t		i;

	for (i = 0; i < n; i++)
		sum += q[i] * (float) c[i];
	return sum;
}

/*
 * ScalarDotU8U8
 *		Exact integer dot product of two 8-bit codes (255 * 255 * 32768
 *		fits 32 bits).
 */
static uint32_t
ScalarDotU8U8(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint32_t	sum = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		sum += (uint32_t) a[i] * b[i];
	return sum;
}

/*
 * ScalarL1F32U8
 *		Taxicab distance between floats and a dequantized code.
 */
static float
ScalarL1F32U8(const float *q, float offset, float scale, const uint8_t *c,
			  size_t n)
{
	float		sum = 0.0f;
	size_t		i;

	for (i = 0; i < n; i++)
		sum += fabsf(q[i] - (offset + scale * (float) c[i]));
	return sum;
}

/*
 * ScalarL1U8U8
 *		Taxicab distance between two dequantized codes.
 */
static float
ScalarL1U8U8(float oa, float sa, const uint8_t *a, float ob, float sb,
			 const uint8_t *b, size_t n)
{
	float		sum = 0.0f;
	size_t		i;

	for (i = 0; i < n; i++)
		sum += fabsf((oa + sa * (float) a[i]) - (ob + sb * (float) b[i]));
	return sum;
}

/*
 * Popcount64
 *		Bits set in a 64-bit word, without the popcnt instruction.
 */
static inline uint64_t
Popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

/*
 * ScalarPopcountXor, ScalarPopcountAndOr
 *		Bit counts over packed bit strings, a word at a time.
 */
static uint64_t
ScalarPopcountXor(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	uint64_t	count = 0;
	size_t		i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64_t	x,
					y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		count += Popcount64(x ^ y);
	}
	for (; i < nbytes; i++)
		count += Popcount64((uint64_t) (a[i] ^ b[i]));
	return count;
}

static void
ScalarPopcountAndOr(const uint8_t *a, const uint8_t *b, size_t nbytes,
					uint64_t *both, uint64_t *either)
{
	uint64_t	and_count = 0;
	uint64_t	or_count = 0;
	size_t		i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64_t	x,
					y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		and_count += Popcount64(x & y);
		or_count += Popcount64(x | y);
	}
	for (; i < nbytes; i++)
	{
		and_count += Popcount64((uint64_t) (a[i] & b[i]));
		or_count += Popcount64((uint64_t) (a[i] | b[i]));
	}
	*both = and_count;
	*either = or_count;
}

static const VpDistanceKernels scalar_kernels = {
	"scalar", ScalarL2Squared, ScalarInnerProduct, ScalarL1, ScalarCosineParts,
	ScalarDotF32U8, ScalarDotU8U8, ScalarL1F32U8, ScalarL1U8U8,
	ScalarPopcountXor, ScalarPopcountAndOr
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

/*
 * Avx2DotF32U8
 *		Sum of q[i] * c[i]: codes widened to 32-bit integers, converted to
 *		float, multiplied in, 32 per iteration with four accumulators.
 */
__attribute__((target("avx2,fma")))
static float
Avx2DotF32U8(const float *q, const uint8_t *c, size_t n)
{
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	__m256		acc2 = _mm256_setzero_ps();
	__m256		acc3 = _mm256_setzero_ps();
	size_t		i = 0;
	float		sum;

	for (; i + 32 <= n; i += 32)
	{
		__m256i		c0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (c + i)));
		__m256i		c1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (c + i + 8)));
		__m256i		c2 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (c + i + 16)));
		__m256i		c3 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (c + i + 24)));

		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_cvtepi32_ps(c0), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_cvtepi32_ps(c1), acc1);
		acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 16), _mm256_cvtepi32_ps(c2), acc2);
		acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 24), _mm256_cvtepi32_ps(c3), acc3);
	}
	for (; i + 8 <= n; i += 8)
	{
		__m256i		c0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (c + i)));

		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_cvtepi32_ps(c0), acc0);
	}
	sum = Avx2HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1),
										  _mm256_add_ps(acc2, acc3)));
	for (; i < n; i++)
		sum += q[i] * (float) c[i];
	return sum;
}

/*
 * Avx2DotU8U8
 *		Exact dot product of two 8-bit codes: bytes widened to 16 bits,
 *		multiplied and added in pairs into 32-bit lanes.
 */
__attribute__((target("avx2,fma")))
static uint32_t
Avx2DotU8U8(const uint8_t *a, const uint8_t *b, size_t n)
{
	__m256i		acc0 = _mm256_setzero_si256();
	__m256i		acc1 = _mm256_setzero_si256();
	__m128i		s;
	size_t		i = 0;
	uint32_t	sum;

	for (; i + 32 <= n; i += 32)
	{
		__m256i		a0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (a + i)));
		__m256i		b0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (b + i)));
		__m256i		a1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (a + i + 16)));
		__m256i		b1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (b + i + 16)));

		acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a0, b0));
		acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(a1, b1));
	}
	for (; i + 16 <= n; i += 16)
	{
		__m256i		a0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (a + i)));
		__m256i		b0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (b + i)));

		acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a0, b0));
	}
	acc0 = _mm256_add_epi32(acc0, acc1);
	s = _mm_add_epi32(_mm256_castsi256_si128(acc0), _mm256_extracti128_si256(acc0, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
	sum = (uint32_t) _mm_cvtsi128_si32(s);
	for (; i < n; i++)
		sum += (uint32_t) a[i] * b[i];
	return sum;
}

/*
 * Avx2L1F32U8
 *		Taxicab distance between floats and a dequantized code.
 */
__attribute__((target("avx2,fma")))
static float
Avx2L1F32U8(const float *q, float offset, float scale, const uint8_t *c,
			size_t n)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	const __m256 vo = _mm256_set1_ps(offset);
	const __m256 vs = _mm256_set1_ps(scale);
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	size_t		i = 0;
	float		sum;

	for (; i + 16 <= n; i += 16)
	{
		__m256		d0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (c + i)))), vs, vo);
		__m256		d1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (c + i + 8)))), vs, vo);

		acc0 = _mm256_add_ps(acc0, _mm256_andnot_ps(sign, _mm256_sub_ps(_mm256_loadu_ps(q + i), d0)));
		acc1 = _mm256_add_ps(acc1, _mm256_andnot_ps(sign, _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), d1)));
	}
	for (; i + 8 <= n; i += 8)
	{
		__m256		d0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (c + i)))), vs, vo);

		acc0 = _mm256_add_ps(acc0, _mm256_andnot_ps(sign, _mm256_sub_ps(_mm256_loadu_ps(q + i), d0)));
	}
	sum = Avx2HorizontalSum(_mm256_add_ps(acc0, acc1));
	for (; i < n; i++)
		sum += fabsf(q[i] - (offset + scale * (float) c[i]));
	return sum;
}

/*
 * Avx2L1U8U8
 *		Taxicab distance between two dequantized codes.
 */
__attribute__((target("avx2,fma")))
static float
Avx2L1U8U8(float oa, float sa, const uint8_t *a, float ob, float sb,
		   const uint8_t *b, size_t n)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	const __m256 voa = _mm256_set1_ps(oa);
	const __m256 vsa = _mm256_set1_ps(sa);
	const __m256 vob = _mm256_set1_ps(ob);
	const __m256 vsb = _mm256_set1_ps(sb);
	__m256		acc = _mm256_setzero_ps();
	size_t		i = 0;
	float		sum;

	for (; i + 8 <= n; i += 8)
	{
		__m256		x = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (a + i)))), vsa, voa);
		__m256		y = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (b + i)))), vsb, vob);

		acc = _mm256_add_ps(acc, _mm256_andnot_ps(sign, _mm256_sub_ps(x, y)));
	}
	sum = Avx2HorizontalSum(acc);
	for (; i < n; i++)
		sum += fabsf((oa + sa * (float) a[i]) - (ob + sb * (float) b[i]));
	return sum;
}

/*
 * PopcntXor, PopcntAndOr
 *		Bit counts with the popcnt instruction (every AVX2 CPU has it).
 */
__attribute__((target("popcnt")))
static uint64_t
PopcntXor(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
	uint64_t	count = 0;
	size_t		i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64_t	x,
					y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		count += (uint64_t) __builtin_popcountll(x ^ y);
	}
	for (; i < nbytes; i++)
		count += (uint64_t) __builtin_popcount((unsigned) (a[i] ^ b[i]));
	return count;
}

__attribute__((target("popcnt")))
static void
PopcntAndOr(const uint8_t *a, const uint8_t *b, size_t nbytes,
			uint64_t *both, uint64_t *either)
{
	uint64_t	and_count = 0;
	uint64_t	or_count = 0;
	size_t		i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64_t	x,
					y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		and_count += (uint64_t) __builtin_popcountll(x & y);
		or_count += (uint64_t) __builtin_popcountll(x | y);
	}
	for (; i < nbytes; i++)
	{
		and_count += (uint64_t) __builtin_popcount((unsigned) (a[i] & b[i]));
		or_count += (uint64_t) __builtin_popcount((unsigned) (a[i] | b[i]));
	}
	*both = and_count;
	*either = or_count;
}

static const VpDistanceKernels avx2_kernels = {
	"avx2", Avx2L2Squared, Avx2InnerProduct, Avx2L1, Avx2CosineParts,
	Avx2DotF32U8, Avx2DotU8U8, Avx2L1F32U8, Avx2L1U8U8,
	PopcntXor, PopcntAndOr
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

/*
 * Avx512DotF32U8
 *		Sum of q[i] * c[i] with AVX-512F: 16 codes widened per step, four
 *		accumulators, a scalar tail.
 */
__attribute__((target("avx512f")))
static float
Avx512DotF32U8(const float *q, const uint8_t *c, size_t n)
{
	__m512		acc0 = _mm512_setzero_ps();
	__m512		acc1 = _mm512_setzero_ps();
	__m512		acc2 = _mm512_setzero_ps();
	__m512		acc3 = _mm512_setzero_ps();
	size_t		i = 0;
	float		sum;

	for (; i + 64 <= n; i += 64)
	{
		acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (c + i)))), acc0);
		acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (c + i + 16)))), acc1);
		acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 32), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (c + i + 32)))), acc2);
		acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 48), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (c + i + 48)))), acc3);
	}
	for (; i + 16 <= n; i += 16)
		acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (c + i)))), acc0);
	sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1),
											 _mm512_add_ps(acc2, acc3)));
	for (; i < n; i++)
		sum += q[i] * (float) c[i];
	return sum;
}

/*
 * Avx512L1F32U8
 *		Taxicab distance between floats and a dequantized code.
 */
__attribute__((target("avx512f")))
static float
Avx512L1F32U8(const float *q, float offset, float scale, const uint8_t *c,
			  size_t n)
{
	const __m512 vo = _mm512_set1_ps(offset);
	const __m512 vs = _mm512_set1_ps(scale);
	__m512		acc0 = _mm512_setzero_ps();
	__m512		acc1 = _mm512_setzero_ps();
	size_t		i = 0;
	float		sum;

	for (; i + 32 <= n; i += 32)
	{
		__m512		d0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (c + i)))), vs, vo);
		__m512		d1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (c + i + 16)))), vs, vo);

		acc0 = _mm512_add_ps(acc0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(q + i), d0)));
		acc1 = _mm512_add_ps(acc1, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(q + i + 16), d1)));
	}
	for (; i + 16 <= n; i += 16)
	{
		__m512		d0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (c + i)))), vs, vo);

		acc0 = _mm512_add_ps(acc0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(q + i), d0)));
	}
	sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
	for (; i < n; i++)
		sum += fabsf(q[i] - (offset + scale * (float) c[i]));
	return sum;
}

/* the code-code kernels gain nothing from 512-bit lanes: AVX2's serve */
static const VpDistanceKernels avx512_kernels = {
	"avx512", Avx512L2Squared, Avx512InnerProduct, Avx512L1, Avx512CosineParts,
	Avx512DotF32U8, Avx2DotU8U8, Avx512L1F32U8, Avx2L1U8U8,
	PopcntXor, PopcntAndOr
};

#endif							/* VP_HAVE_X86_KERNELS */

VpDistanceKernels vp_kernels = {
	"scalar", ScalarL2Squared, ScalarInnerProduct, ScalarL1, ScalarCosineParts,
	ScalarDotF32U8, ScalarDotU8U8, ScalarL1F32U8, ScalarL1U8U8,
	ScalarPopcountXor, ScalarPopcountAndOr
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
