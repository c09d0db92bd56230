/*-------------------------------------------------------------------------
 *
 * test_half.c
 *	  Standalone tests of the half-precision conversions in src/vphalf.h
 *	  and the half-precision distance kernels in src/vphalfdist.c.
 *
 * Conversions are checked against references written differently from
 * the code under test, in double arithmetic:
 * - half -> float for all 65536 halves, against sign * frac * 2^-24 or
 *	 sign * (1024 + frac) * 2^(exp - 25);
 * - float -> half against round-to-nearest-even done with nearbyint() on
 *	 |f| divided by the spacing of halves at |f| (exact in double), for
 *	 every half, the floats around every half and every midpoint between
 *	 two halves, both overflow and underflow boundaries, and 2^24 random
 *	 bit patterns; where the CPU has F16C, also against the hardware
 *	 conversion (vcvtps2ph) on the same floats.  VP_HALF_EXHAUSTIVE=1
 *	 additionally sweeps all 2^32 floats (a minute or so);
 * - round trips and the NaN / infinity / zero predicates for all halves.
 *
 * Kernels: every implementation this CPU can run must give bit-identical
 * results (the point of the fixed summation order), on every length
 * 0..67, long vectors and unaligned inputs; the portable one must stay
 * within the rigorous float-summation error bound of a double reference
 * (see test_distance.c); and all must reproduce, bit for bit, results
 * that pgvector 0.8.6 printed for the same inputs (KnownAnswers below;
 * "test_half --emit-sql" prints the query that produced them).
 *
 * Prints one line per check group and ends with "N passed, N failed";
 * exits non-zero on any failure.
 *
 * IDENTIFICATION
 *	  test/unit/test_half.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vphalf.h"
#include "vphalfdist.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_HW_F16C 1
#include <immintrin.h>
#endif

#define UNIT_ROUNDOFF	(1.0 / 16777216.0)	/* 2^-24 */
#define MAX_LEN			16000

static int	n_passed = 0;
static int	n_failed = 0;
static uint64_t rng_state;

/*
 * NextRandom
 *		splitmix64: small, fast and deterministic across platforms.
 */
static uint64_t
NextRandom(void)
{
	uint64_t	z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/*
 * RandomHalf
 *		A finite half with a random sign, a random 10-bit fraction and an
 *		exponent field in [lo, hi] (15 is 2^0).
 */
static VpHalf
RandomHalf(int lo, int hi)
{
	uint64_t	r = NextRandom();
	unsigned	exp = (unsigned) lo + (unsigned) (r % (uint64_t) (hi - lo + 1));

	return (VpHalf) (((r >> 20) & 1) << 15 | exp << 10 | ((r >> 32) & 0x3FF));
}

/*
 * Check
 *		Record one assertion; print the first few failures in detail.
 */
static int
Check(int ok, const char *what, const char *detail)
{
	if (ok)
	{
		n_passed++;
		return 1;
	}
	n_failed++;
	if (n_failed <= 30)
		printf("FAIL %s: %s\n", what, detail);
	return 0;
}

/*
 * Report
 *		One summary line per check group.
 */
static void
Report(const char *group, const char *impl, int passed_before,
	   int failed_before)
{
	printf("%-52s [%-8s] %5d passed, %d failed\n", group, impl,
		   n_passed - passed_before, n_failed - failed_before);
}

/* ----------------------------------------------------------------------
 * Conversions
 * ----------------------------------------------------------------------
 */

/*
 * RefHalfToDouble
 *		The value of a finite half, from its fields, in double.
 */
static double
RefHalfToDouble(VpHalf h)
{
	int			sign = (h >> 15) & 1;
	int			exp = (h >> 10) & 0x1F;
	int			frac = h & 0x3FF;
	double		mag;

	if (exp == 0)
		mag = ldexp((double) frac, -24);
	else
		mag = ldexp((double) (1024 + frac), exp - 25);
	return sign ? -mag : mag;
}

/*
 * RefRoundToHalf
 *		f rounded to the nearest half value (ties to even), as a double;
 *		HUGE_VAL with f's sign when it overflows.  f is finite.
 *
 * Halves are spaced 2^-24 below 2^-14 and 2^(e - 10) in [2^e, 2^(e+1));
 * dividing by that spacing is exact in double, nearbyint() rounds to
 * nearest even in the default rounding mode, and multiplying back is
 * exact again.  A rounding up to the next power of two lands on a half
 * too, so no special case is needed for it.
 */
static double
RefRoundToHalf(float f)
{
	double		a = fabs((double) f);
	double		spacing;
	double		r;
	int			e;

	if (a == 0.0)
		return (double) f;
	if (a < ldexp(1.0, -14))
		spacing = ldexp(1.0, -24);
	else
	{
		(void) frexp(a, &e);	/* a = m * 2^e, m in [0.5, 1) */
		spacing = ldexp(1.0, e - 1 - 10);
	}
	r = nearbyint(a / spacing) * spacing;
	if (r > 65504.0)
		r = HUGE_VAL;
	return signbit(f) ? -r : r;
}

#ifdef HAVE_HW_F16C
/*
 * HardwareToHalf
 *		vcvtps2ph with round-to-nearest-even; only called when the CPU
 *		has F16C.
 */
__attribute__((target("f16c")))
static VpHalf
HardwareToHalf(float f)
{
	return (VpHalf) _cvtss_sh(f, 0);
}
#endif

static int	have_hw_f16c = 0;

/*
 * CheckFloatToHalf
 *		Compare VpFloatToHalf(f) with the reference (and the hardware);
 *		returns 1 if all agree.  Counts nothing: callers count groups.
 */
static int
CheckFloatToHalf(float f)
{
	VpHalf		h = VpFloatToHalf(f);
	char		detail[160];
	int			ok;

	if (isnan(f))
		ok = VpHalfIsNan(h) && ((h >> 15) == (VpFloatBits(f) >> 31));
	else
	{
		double		want = RefRoundToHalf(f);

		if (isinf(want))
			ok = VpHalfIsInf(h) && ((h >> 15) != 0) == (want < 0);
		else
			ok = !VpHalfIsInf(h) && !VpHalfIsNan(h) &&
				RefHalfToDouble(h) == want &&
				((h >> 15) != 0) == (signbit(want) != 0);
	}
#ifdef HAVE_HW_F16C
	if (ok && have_hw_f16c)
	{
		VpHalf		hw = HardwareToHalf(f);

		/* NaN payloads may differ; everything else must be identical */
		ok = isnan(f) ? VpHalfIsNan(hw) && (hw >> 15) == (h >> 15) : hw == h;
	}
#endif
	if (!ok)
	{
		snprintf(detail, sizeof(detail), "float %a (bits 0x%08x) -> half 0x%04x",
				 (double) f, (unsigned) VpFloatBits(f), (unsigned) h);
		Check(0, "float -> half", detail);
	}
	return ok;
}

/*
 * TestHalfToFloat
 *		Every half: exact value, predicates, and the round trip.
 */
static void
TestHalfToFloat(void)
{
	int			p = n_passed,
				f = n_failed;
	int			bad_value = 0,
				bad_pred = 0,
				bad_trip = 0;
	uint32_t	i;
	char		detail[120];

	for (i = 0; i <= 0xFFFF; i++)
	{
		VpHalf		h = (VpHalf) i;
		int			exp = (h >> 10) & 0x1F;
		int			frac = h & 0x3FF;
		float		x = VpHalfToFloat(h);
		int			is_nan = exp == 31 && frac != 0;
		int			is_inf = exp == 31 && frac == 0;
		int			is_zero = exp == 0 && frac == 0;

		if (is_nan)
		{
			if (!isnan(x) || (signbit(x) != 0) != ((h >> 15) != 0))
				bad_value++;
		}
		else if (is_inf)
		{
			if (!isinf(x) || (x < 0) != ((h >> 15) != 0))
				bad_value++;
		}
		else if ((double) x != RefHalfToDouble(h) ||
				 (signbit(x) != 0) != ((h >> 15) != 0))
			bad_value++;

		if (VpHalfIsNan(h) != is_nan || VpHalfIsInf(h) != is_inf ||
			VpHalfIsZero(h) != is_zero)
			bad_pred++;

		/* float -> half gives the same bits back (NaN: still a NaN) */
		if (is_nan ? !VpHalfIsNan(VpFloatToHalf(x)) : VpFloatToHalf(x) != h)
			bad_trip++;
		if (bad_value + bad_pred + bad_trip == 1 && n_failed == f)
		{
			snprintf(detail, sizeof(detail), "half 0x%04x -> float %a", (unsigned) h, (double) x);
			Check(0, "first half failing", detail);
		}
	}
	Check(bad_value == 0, "half -> float is exact for all 65536 halves", "");
	Check(bad_pred == 0, "NaN/Inf/Zero predicates for all halves", "");
	Check(bad_trip == 0, "half -> float -> half round trip for all halves", "");
	Report("all 65536 halves: value, predicates, round trip", "", p, f);
}

/*
 * TestFloatToHalf
 *		Floats at and around every half and every midpoint, the edges of
 *		the range, specials and random bit patterns.
 */
static void
TestFloatToHalf(void)
{
	int			p = n_passed,
				f = n_failed;
	int			bad = 0;
	long		tested = 0;
	uint32_t	h;
	uint32_t	i;
	int			d;

	/* every finite positive half, its float neighbours, the midpoint to
	 * the next half and the floats around that midpoint; both signs */
	for (h = 0; h < 0x7C00; h++)
	{
		float		x = VpHalfToFloat((VpHalf) h);
		float		next = h + 1 < 0x7C00 ? VpHalfToFloat((VpHalf) (h + 1)) : 65536.0f;
		float		mid = (float) (((double) x + (double) next) / 2.0);	/* exact */
		uint32_t	xb = VpFloatBits(x);
		uint32_t	mb = VpFloatBits(mid);

		for (d = -2; d <= 2; d++)
		{
			if (xb + (uint32_t) d < 0x7F800000u)
			{
				bad += !CheckFloatToHalf(VpBitsFloat(xb + (uint32_t) d));
				bad += !CheckFloatToHalf(-VpBitsFloat(xb + (uint32_t) d));
				tested += 2;
			}
			bad += !CheckFloatToHalf(VpBitsFloat(mb + (uint32_t) d));
			bad += !CheckFloatToHalf(-VpBitsFloat(mb + (uint32_t) d));
			tested += 2;
		}
	}
	Check(bad == 0, "every half, its neighbours and midpoints", "");

	/* the overflow edge (65520 rounds to infinity, just below does not),
	 * the underflow edge (2^-25 rounds to zero, just above to 2^-24), and
	 * the binade boundaries of the subnormal range, all exhaustively */
	bad = 0;
	for (i = 0x477FE000u; i <= 0x47800100u; i++)
	{
		bad += !CheckFloatToHalf(VpBitsFloat(i));
		tested++;
	}
	for (i = 0x32FF0000u; i <= 0x33810000u; i++)
	{
		bad += !CheckFloatToHalf(VpBitsFloat(i));
		tested++;
	}
	for (i = 0x387F0000u; i <= 0x38810000u; i++)
	{
		bad += !CheckFloatToHalf(VpBitsFloat(i));
		tested++;
	}
	Check(bad == 0, "overflow, underflow and subnormal edges", "");

	/* specials, and floats far outside the half range */
	bad = 0;
	{
		static const float specials[] = {0.0f, 1.0f, 65504.0f, 65519.0f, 65520.0f,
			1e10f, 3.4028235e38f, 1e-45f, 1e-30f, 5.9604645e-08f,
			2.9802322e-08f, 6.1035156e-05f, 0.1f, 1.0f / 3.0f};

		for (i = 0; i < sizeof(specials) / sizeof(specials[0]); i++)
		{
			bad += !CheckFloatToHalf(specials[i]);
			bad += !CheckFloatToHalf(-specials[i]);
			tested += 2;
		}
		bad += !CheckFloatToHalf(-0.0f);
		bad += !CheckFloatToHalf(INFINITY);
		bad += !CheckFloatToHalf(-INFINITY);
		bad += !CheckFloatToHalf(NAN);
		bad += !CheckFloatToHalf(-NAN);
		bad += !CheckFloatToHalf(VpBitsFloat(0x7F800001u));	/* signalling NaN */
		tested += 6;
		Check(VpFloatToHalf(INFINITY) == 0x7C00 && VpFloatToHalf(-INFINITY) == 0xFC00,
			  "infinities keep their encoding", "");
		Check(VpFloatToHalf(-0.0f) == 0x8000 && VpFloatToHalf(-1e-30f) == 0x8000,
			  "negative zero and negative underflow keep the sign", "");
		Check(VpHalfIsNan(VpFloatToHalf(NAN)) && (VpFloatToHalf(NAN) & 0x0200) != 0,
			  "NaN becomes a quiet NaN", "");
	}
	Check(bad == 0, "specials", "");

	/* random bit patterns: any sign, exponent and fraction */
	bad = 0;
	rng_state = 0x5EED0001ULL;
	for (i = 0; i < (1u << 24); i++)
	{
		bad += !CheckFloatToHalf(VpBitsFloat((uint32_t) NextRandom()));
		tested++;
	}
	Check(bad == 0, "2^24 random float bit patterns", "");

	if (getenv("VP_HALF_EXHAUSTIVE") != NULL)
	{
		uint64_t	b;

		bad = 0;
		for (b = 0; b <= 0xFFFFFFFFu; b++)
			bad += !CheckFloatToHalf(VpBitsFloat((uint32_t) b));
		tested += 1L << 32;
		Check(bad == 0, "all 2^32 floats", "");
	}

	printf("  (%ld floats converted, compared with the reference%s)\n", tested,
		   have_hw_f16c ? " and with F16C hardware" : "");
	Report("float -> half, round to nearest even", "", p, f);
}

/* ----------------------------------------------------------------------
 * Kernels
 * ----------------------------------------------------------------------
 */

/*
 * SameFloat
 *		Bitwise equality (so -0 differs from 0 and NaNs compare).
 */
static int
SameFloat(float x, float y)
{
	return VpFloatBits(x) == VpFloatBits(y);
}

/*
 * CheckAgainstPortable
 *		Every result of kernel table k is bit-identical to the portable
 *		one's on a[0..n-1], b[0..n-1].
 */
static void
CheckAgainstPortable(const VpHalfKernels *k, const VpHalf *a, const VpHalf *b,
					 size_t n)
{
	const VpHalfKernels *ref = VpHalfKernelsFor(VP_HALF_KERNEL_PORTABLE);
	float		d1,
				na1,
				nb1,
				d2,
				na2,
				nb2;
	char		detail[400];

	ref->cosine_parts(a, b, n, &d1, &na1, &nb1);
	k->cosine_parts(a, b, n, &d2, &na2, &nb2);
	snprintf(detail, sizeof(detail), "%s n=%zu: l2 %a/%a ip %a/%a l1 %a/%a cos %a/%a",
			 k->name, n,
			 (double) k->l2_squared(a, b, n), (double) ref->l2_squared(a, b, n),
			 (double) k->inner_product(a, b, n), (double) ref->inner_product(a, b, n),
			 (double) k->l1(a, b, n), (double) ref->l1(a, b, n),
			 (double) d2, (double) d1);
	Check(SameFloat(k->l2_squared(a, b, n), ref->l2_squared(a, b, n)) &&
		  SameFloat(k->inner_product(a, b, n), ref->inner_product(a, b, n)) &&
		  SameFloat(k->l1(a, b, n), ref->l1(a, b, n)) &&
		  SameFloat(d1, d2) && SameFloat(na1, na2) && SameFloat(nb1, nb2),
		  "identical to portable", detail);
}

/*
 * CheckAgainstDouble
 *		The portable results are within (n + 4) u sum|term| of a double
 *		reference: no element dropped or counted twice.
 */
static void
CheckAgainstDouble(const VpHalf *a, const VpHalf *b, size_t n)
{
	const VpHalfKernels *k = VpHalfKernelsFor(VP_HALF_KERNEL_PORTABLE);
	double		l2 = 0,
				ip = 0,
				ips = 0,
				l1 = 0;
	double		tol;
	size_t		i;
	char		detail[160];

	for (i = 0; i < n; i++)
	{
		double		x = RefHalfToDouble(a[i]);
		double		y = RefHalfToDouble(b[i]);

		l2 += (x - y) * (x - y);
		ip += x * y;
		ips += fabs(x * y);
		l1 += fabs(x - y);
	}
	tol = (double) (n + 4) * UNIT_ROUNDOFF;
	snprintf(detail, sizeof(detail), "n=%zu: l2 %g vs %g, ip %g vs %g, l1 %g vs %g", n,
			 (double) k->l2_squared(a, b, n), l2,
			 (double) k->inner_product(a, b, n), ip,
			 (double) k->l1(a, b, n), l1);
	Check(fabs(k->l2_squared(a, b, n) - l2) <= tol * l2 + 1e-30 &&
		  fabs(k->inner_product(a, b, n) - ip) <= tol * ips + 1e-30 &&
		  fabs(k->l1(a, b, n) - l1) <= tol * l1 + 1e-30,
		  "portable within the error bound", detail);
}

/*
 * TestKernels
 *		Random halves over every short length, long lengths and unaligned
 *		pointers, for every implementation; and the zero-length case.
 */
static void
TestKernels(VpHalf *a, VpHalf *b)
{
	static const size_t big[] = {100, 384, 768, 1536, 3072, MAX_LEN};
	int			level;

	for (level = 0; level < VP_HALF_KERNEL_NLEVELS; level++)
	{
		const VpHalfKernels *k = VpHalfKernelsFor((VpHalfKernelLevel) level);
		int			p = n_passed,
					f = n_failed;
		size_t		n;
		size_t		i;
		int			rep;
		float		d,
					na,
					nb;

		if (k == NULL)
		{
			printf("half kernel level %d: not supported by this CPU or build, skipped\n", level);
			continue;
		}
		rng_state = 0x5EED0002ULL;
		for (n = 0; n <= 67; n++)
		{
			for (rep = 0; rep < 4; rep++)
			{
				for (i = 0; i < n + 1; i++)
				{
					a[i] = RandomHalf(5, 20);
					b[i] = RandomHalf(5, 20);
				}
				CheckAgainstPortable(k, a, b, n);
				CheckAgainstPortable(k, a + 1, b + 1, n);
				CheckAgainstPortable(k, a + 1, b, n);
				if (level == 0)
					CheckAgainstDouble(a, b, n);
			}
		}
		for (i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		{
			size_t		j;

			n = big[i];
			for (j = 0; j < n + 1; j++)
			{
				a[j] = RandomHalf(1, 29);
				b[j] = RandomHalf(1, 29);
			}
			CheckAgainstPortable(k, a, b, n);
			CheckAgainstPortable(k, a + 1, b, n);
			if (level == 0)
				CheckAgainstDouble(a, b, n);
		}

		/* special values flow through as IEEE arithmetic says */
		a[0] = 0x7BFF;			/* 65504 */
		b[0] = 0xFBFF;			/* -65504 */
		Check(isinf(k->l2_squared(a, b, 1)) == 0 &&
			  k->l2_squared(a, b, 1) == (float) (131008.0 * 131008.0),
			  "65504 - (-65504) squared fits a float", k->name);
		for (i = 0; i < 9; i++)
		{
			a[i] = 0x7BFF;
			b[i] = 0xFBFF;
		}
		Check(k->inner_product(a, b, 9) == -9.0f * 65504.0f * 65504.0f ||
			  fabsf(k->inner_product(a, b, 9) / (-9.0f * 65504.0f * 65504.0f) - 1) < 1e-6,
			  "large inner product", k->name);
		memset(a, 0, 20 * sizeof(VpHalf));
		k->cosine_parts(a, a, 20, &d, &na, &nb);
		Check(d == 0 && na == 0 && nb == 0, "zero vectors give zero parts", k->name);
		Check(k->l2_squared(a, b, 0) == 0 && k->inner_product(a, b, 0) == 0 &&
			  k->l1(a, b, 0) == 0, "length 0 gives 0", k->name);
		Report("random halves, lengths 0..67 and up to 16000", k->name, p, f);
	}
}

/*
 * The known answers: for case i, n = known_lengths[i] and the halves come
 * from FillKnown(); pgvector 0.8.6 printed these results
 * (halfvec_l2_squared_distance, inner_product, l1_distance and
 * cosine_distance) on an x86-64 CPU with F16C.
 */
static const size_t known_lengths[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 100, 1536};

/*
 * FillKnown
 *		The inputs of one known-answer case: halves between 2^-6 and 2^6
 *		with full fractions, so that sums round and their order shows.
 */
static void
FillKnown(size_t idx, VpHalf *a, VpHalf *b, size_t n)
{
	size_t		i;

	rng_state = 0xC0FFEE00ULL + idx;
	for (i = 0; i < n; i++)
	{
		a[i] = RandomHalf(9, 21);
		b[i] = RandomHalf(9, 21);
	}
}

/*
 * EmitSql
 *		Print the query whose output (under pgvector) is KnownAnswers'
 *		table, so that the numbers can be regenerated.
 */
static void
EmitSql(VpHalf *a, VpHalf *b)
{
	size_t		c;

	printf("SELECT n, halfvec_l2_squared_distance(a, b), inner_product(a, b), "
		   "l1_distance(a, b), cosine_distance(a, b) FROM (VALUES\n");
	for (c = 0; c < sizeof(known_lengths) / sizeof(known_lengths[0]); c++)
	{
		size_t		n = known_lengths[c];
		size_t		i;

		FillKnown(c, a, b, n);
		printf("%s(%zu, '[", c ? ",\n" : "", n);
		for (i = 0; i < n; i++)
			printf("%s%.9g", i ? "," : "", (double) VpHalfToFloat(a[i]));
		printf("]'::halfvec, '[");
		for (i = 0; i < n; i++)
			printf("%s%.9g", i ? "," : "", (double) VpHalfToFloat(b[i]));
		printf("]'::halfvec)");
	}
	printf(") t(n, a, b) ORDER BY n;\n");
}

/* pgvector's output for EmitSql's query */
static const double known_answers[][4] = {
#include "test_half_known.h"
};

/*
 * TestKnownAnswers
 *		Every implementation reproduces pgvector's printed results exactly.
 */
static void
TestKnownAnswers(VpHalf *a, VpHalf *b)
{
	int			level;

	for (level = 0; level < VP_HALF_KERNEL_NLEVELS; level++)
	{
		const VpHalfKernels *k = VpHalfKernelsFor((VpHalfKernelLevel) level);
		int			p = n_passed,
					f = n_failed;
		size_t		c;

		if (k == NULL)
			continue;
		Check(sizeof(known_answers) / sizeof(known_answers[0]) ==
			  sizeof(known_lengths) / sizeof(known_lengths[0]),
			  "one known answer per case", "test_half_known.h is out of date");
		for (c = 0; c < sizeof(known_lengths) / sizeof(known_lengths[0]) &&
			 c < sizeof(known_answers) / sizeof(known_answers[0]); c++)
		{
			size_t		n = known_lengths[c];
			float		d,
						na,
						nb;
			double		sim;
			char		detail[400];

			FillKnown(c, a, b, n);
			k->cosine_parts(a, b, n, &d, &na, &nb);
			sim = (double) d / sqrt((double) na * (double) nb);
			if (sim > 1.0)
				sim = 1.0;
			else if (sim < -1.0)
				sim = -1.0;
			snprintf(detail, sizeof(detail),
					 "%s n=%zu: l2 %.17g/%.17g ip %.17g/%.17g l1 %.17g/%.17g cos %.17g/%.17g",
					 k->name, n,
					 (double) k->l2_squared(a, b, n), known_answers[c][0],
					 (double) k->inner_product(a, b, n), known_answers[c][1],
					 (double) k->l1(a, b, n), known_answers[c][2],
					 1.0 - sim, known_answers[c][3]);
			Check((double) k->l2_squared(a, b, n) == known_answers[c][0] &&
				  (double) k->inner_product(a, b, n) == known_answers[c][1] &&
				  (double) k->l1(a, b, n) == known_answers[c][2] &&
				  1.0 - sim == known_answers[c][3],
				  "same as pgvector", detail);
		}
		Report("known answers from pgvector", k->name, p, f);
	}
}

/*
 * TestSelection
 *		VpHalfKernelsGet returns a table this CPU runs, the portable one
 *		under VECPERSIST_KERNEL=scalar.
 */
static void
TestSelection(void)
{
	int			p = n_passed,
				f = n_failed;
	const VpHalfKernels *k = VpHalfKernelsGet();
	const char *env = getenv("VECPERSIST_KERNEL");
	const VpHalfKernels *best = VpHalfKernelsFor(VP_HALF_KERNEL_F16C);

	if (best == NULL || (env != NULL && strcmp(env, "scalar") == 0))
		best = VpHalfKernelsFor(VP_HALF_KERNEL_PORTABLE);
	Check(k == best, "chosen table", k->name);
	Check(VpHalfKernelsGet() == k, "choice is stable", k->name);
	Check(VpHalfKernelsFor(VP_HALF_KERNEL_PORTABLE) != NULL, "portable always available", "");
	Check(VpHalfKernelsFor(VP_HALF_KERNEL_NLEVELS) == NULL, "out-of-range level is NULL", "");
	Report("kernel selection", k->name, p, f);
}

int
main(int argc, char **argv)
{
	VpHalf	   *a = malloc((MAX_LEN + 16) * sizeof(VpHalf));
	VpHalf	   *b = malloc((MAX_LEN + 16) * sizeof(VpHalf));

	if (a == NULL || b == NULL)
	{
		fprintf(stderr, "out of memory\n");
		return 2;
	}
	if (argc > 1 && strcmp(argv[1], "--emit-sql") == 0)
	{
		EmitSql(a, b);
		return 0;
	}

	have_hw_f16c = VpHalfKernelsFor(VP_HALF_KERNEL_F16C) != NULL;

	TestHalfToFloat();
	TestFloatToHalf();
	TestSelection();
	TestKernels(a, b);
	TestKnownAnswers(a, b);

	free(a);
	free(b);
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed == 0 ? 0 : 1;
}
