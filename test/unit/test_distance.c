/*-------------------------------------------------------------------------
 *
 * test_distance.c
 *	  Standalone tests of the distance kernels in src/vpdistance.c.
 *
 * Every kernel table this CPU can run (VpDistanceKernelsFor() != NULL) is
 * compared against a plain double-precision reference on every length
 * 1..67 (so every remainder of every vector width and unroll factor is
 * hit), on typical embedding sizes up to 16000, on unaligned pointers and
 * on edge cases.  Data come from a seeded PRNG so runs are repeatable.
 *
 * Tolerance.  All kernels accumulate in float (unit roundoff
 * u = 2^-24 ~ 6e-8).  For a sum of n terms, each formed with at most three
 * roundings (difference, product, accumulate), the classic worst-case bound
 * (Higham, "Accuracy and Stability of Numerical Algorithms", 4.2) on the
 * error of any summation order (sequential, lane-wise, tree) is
 * (n + 2) * u * sum(|term_i|).  We check
 *		|kernel - reference| <= (n + 4) * u * sum(|term_i|) + tiny
 * with sum(|term_i|) computed in double.  This is rigorous, so it cannot
 * fail spuriously on any data or summation order, and it still catches
 * real defects: dropping or double counting one element of a random
 * vector of length n moves the result by about 1/n of the scale, orders
 * of magnitude above the bound for every n tested (at n = 16000 the bound
 * is 1e-3 of the scale against 6e-5 for one element; the smaller lengths
 * give far tighter margins, and every tail length is tested there).
 *
 * Prints one line per check group and ends with "N passed, N failed";
 * exits non-zero on any failure.
 *
 * IDENTIFICATION
 *	  test/unit/test_distance.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpdistance.h"

#define UNIT_ROUNDOFF	(1.0 / 16777216.0)	/* 2^-24 */
#define MAX_LEN			16000

static int	n_passed = 0;
static int	n_failed = 0;
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

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
 * RandomFloat
 *		Uniform in [-1, 1).
 */
static float
RandomFloat(void)
{
	return (float) ((double) (NextRandom() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/*
 * Check
 *		Record one assertion; print the first few failures in detail.
 */
static int
Check(int ok, const char *what, const char *kernel, size_t n,
	  double got, double want, double tol)
{
	if (ok)
	{
		n_passed++;
		return 1;
	}
	n_failed++;
	if (n_failed <= 20)
		printf("FAIL %s [%s] n=%zu: got %.9g want %.9g tol %.3g\n",
			   what, kernel, n, got, want, tol);
	return 0;
}

/*
 * Near
 *		The rigorous float-summation bound described in the file header.
 */
static int
Near(double got, double want, double scale, size_t n)
{
	double		tol = (double) (n + 4) * UNIT_ROUNDOFF * scale + 1e-30;

	return fabs(got - want) <= tol;
}

/*
 * CheckAllKernels
 *		Compare the four kernels of one table with the double reference on
 *		a[0..n-1], b[0..n-1].  Returns the number of failed assertions.
 */
static int
CheckAllKernels(const VpDistanceKernels *k, const float *a, const float *b,
				size_t n)
{
	double		l2 = 0,
				l2s = 0,
				ip = 0,
				ips = 0,
				l1 = 0,
				na = 0,
				nb = 0;
	float		fdot,
				fna,
				fnb;
	float		got;
	size_t		i;
	int			before = n_failed;

	for (i = 0; i < n; i++)
	{
		double		x = a[i];
		double		y = b[i];
		double		d = x - y;

		l2 += d * d;
		ip += x * y;
		ips += fabs(x * y);
		l1 += fabs(d);
		na += x * x;
		nb += y * y;
	}
	l2s = l2;

	got = k->l2_squared(a, b, n);
	Check(Near(got, l2, l2s, n), "l2_squared", k->name, n, got, l2,
		  (n + 4) * UNIT_ROUNDOFF * l2s);
	got = k->inner_product(a, b, n);
	Check(Near(got, ip, ips, n), "inner_product", k->name, n, got, ip,
		  (n + 4) * UNIT_ROUNDOFF * ips);
	got = k->l1(a, b, n);
	Check(Near(got, l1, l1, n), "l1", k->name, n, got, l1,
		  (n + 4) * UNIT_ROUNDOFF * l1);
	k->cosine_parts(a, b, n, &fdot, &fna, &fnb);
	Check(Near(fdot, ip, ips, n), "cosine_parts.dot", k->name, n, fdot, ip,
		  (n + 4) * UNIT_ROUNDOFF * ips);
	Check(Near(fna, na, na, n), "cosine_parts.norm_a", k->name, n, fna, na,
		  (n + 4) * UNIT_ROUNDOFF * na);
	Check(Near(fnb, nb, nb, n), "cosine_parts.norm_b", k->name, n, fnb, nb,
		  (n + 4) * UNIT_ROUNDOFF * nb);
	return n_failed - before;
}

/*
 * Report
 *		One summary line per check group.
 */
static void
Report(const char *group, const char *kernel, int passed_before,
	   int failed_before)
{
	printf("%-44s [%-6s] %5d passed, %d failed\n", group, kernel,
		   n_passed - passed_before, n_failed - failed_before);
}

/*
 * TestRandom
 *		Random data over the lengths in the file header, aligned and with
 *		both inputs offset by one float (unaligned loads).
 */
static void
TestRandom(const VpDistanceKernels *k, float *a, float *b)
{
	static const size_t big[] = {128, 784, 1536, 3072, 16000};
	int			p = n_passed,
				f = n_failed;
	size_t		n;
	size_t		i;
	int			rep;

	for (n = 1; n <= 67; n++)
	{
		for (rep = 0; rep < 4; rep++)
		{
			for (i = 0; i < n + 1; i++)
			{
				a[i] = RandomFloat();
				b[i] = RandomFloat();
			}
			CheckAllKernels(k, a, b, n);
			CheckAllKernels(k, a + 1, b + 1, n);
		}
	}
	Report("random lengths 1..67 (aligned, unaligned)", k->name, p, f);

	p = n_passed;
	f = n_failed;
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++)
	{
		size_t		j;

		n = big[i];
		for (j = 0; j < n + 1; j++)
		{
			a[j] = RandomFloat() * 10.0f;
			b[j] = RandomFloat() * 10.0f;
		}
		CheckAllKernels(k, a, b, n);
		CheckAllKernels(k, a + 1, b, n);
	}
	Report("random lengths 128..16000", k->name, p, f);
}

/*
 * TestEdgeCases
 *		Zeros, identical vectors, negative values: results that must be
 *		exact (or NaN for the zero-norm cosine).
 */
static void
TestEdgeCases(const VpDistanceKernels *k, float *a, float *b)
{
	static const size_t lens[] = {1, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1536};
	int			p = n_passed,
				f = n_failed;
	size_t		li;

	for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
	{
		size_t		n = lens[li];
		size_t		i;
		float		dot,
					na,
					nb;
		float		got;
		double		want;

		/* zeros: everything is exactly 0, cosine is NaN */
		memset(a, 0, n * sizeof(float));
		memset(b, 0, n * sizeof(float));
		Check(k->l2_squared(a, b, n) == 0.0f, "zeros l2", k->name, n, k->l2_squared(a, b, n), 0, 0);
		Check(k->inner_product(a, b, n) == 0.0f, "zeros ip", k->name, n, k->inner_product(a, b, n), 0, 0);
		Check(k->l1(a, b, n) == 0.0f, "zeros l1", k->name, n, k->l1(a, b, n), 0, 0);
		k->cosine_parts(a, b, n, &dot, &na, &nb);
		Check(dot == 0.0f && na == 0.0f && nb == 0.0f, "zeros cosine parts",
			  k->name, n, dot + na + nb, 0, 0);
		Check(isnan(VpCosineFromParts(dot, na, nb)), "zeros cosine NaN",
			  k->name, n, VpCosineFromParts(dot, na, nb), NAN, 0);

		/* identical vectors: distance exactly 0, cosine ~0, ip = |a|^2 */
		for (i = 0; i < n; i++)
			a[i] = b[i] = RandomFloat() * 3.0f;
		Check(k->l2_squared(a, b, n) == 0.0f, "identical l2", k->name, n, k->l2_squared(a, b, n), 0, 0);
		Check(k->l1(a, b, n) == 0.0f, "identical l1", k->name, n, k->l1(a, b, n), 0, 0);
		k->cosine_parts(a, b, n, &dot, &na, &nb);
		Check(dot == na && na == nb, "identical cosine parts equal",
			  k->name, n, dot, na, 0);
		want = VpCosineFromParts(dot, na, nb);
		Check(fabs(want) <= 1e-6, "identical cosine ~0", k->name, n, want, 0, 1e-6);
		got = k->inner_product(a, b, n);
		Check(got == dot || fabs(got - dot) <= (n + 4) * UNIT_ROUNDOFF * dot,
			  "identical ip == norm", k->name, n, got, dot, 0);

		/* opposite vectors: cosine distance 2, l1 = 2*sum|a|, exact-ish */
		for (i = 0; i < n; i++)
			b[i] = -a[i];
		k->cosine_parts(a, b, n, &dot, &na, &nb);
		want = VpCosineFromParts(dot, na, nb);
		Check(fabs(want - 2.0) <= 1e-6, "opposite cosine ~2", k->name, n, want, 2, 1e-6);
		Check(dot == -na, "opposite dot == -norm", k->name, n, dot, -na, 0);

		/* all negative values, one vector zero: l1 = sum |a|, l2 = sum a^2 */
		for (i = 0; i < n; i++)
		{
			a[i] = -(float) (1 + (i % 5));
			b[i] = 0.0f;
		}
		CheckAllKernels(k, a, b, n);
		{
			double		s = 0,
						s2 = 0;

			for (i = 0; i < n; i++)
			{
				s += -a[i];
				s2 += (double) a[i] * a[i];
			}
			/* small integers: every partial sum is exact in float */
			Check(k->l1(a, b, n) == (float) s, "negative l1 exact", k->name, n, k->l1(a, b, n), s, 0);
			Check(k->l2_squared(a, b, n) == (float) s2, "negative l2 exact", k->name, n, k->l2_squared(a, b, n), s2, 0);
			Check(k->inner_product(a, a, n) == (float) s2, "negative ip exact", k->name, n, k->inner_product(a, a, n), s2, 0);
		}

		/* a NaN anywhere must propagate, never be dropped by the tail */
		for (i = 0; i < n; i++)
			a[i] = b[i] = 1.0f;
		a[n - 1] = NAN;
		Check(isnan(k->l2_squared(a, b, n)), "NaN propagates l2", k->name, n, 0, NAN, 0);
		Check(isnan(k->l1(a, b, n)), "NaN propagates l1", k->name, n, 0, NAN, 0);
		Check(isnan(k->inner_product(a, b, n)), "NaN propagates ip", k->name, n, 0, NAN, 0);
	}
	Report("edge cases (zeros, identical, negative, NaN)", k->name, p, f);
}

/*
 * TestSelection
 *		VpDistanceInit picks a table this CPU can run, honouring
 *		VECPERSIST_KERNEL as a downgrade only.
 */
static void
TestSelection(void)
{
	int			p = n_passed,
				f = n_failed;
	const char *env = getenv("VECPERSIST_KERNEL");
	int			level;
	int			found = 0;
	int			best = VP_KERNEL_SCALAR;

	VpDistanceInit();
	VpDistanceInit();			/* idempotent */
	for (level = 0; level < VP_KERNEL_NLEVELS; level++)
	{
		const VpDistanceKernels *k = VpDistanceKernelsFor((VpKernelLevel) level);

		if (k == NULL)
			continue;
		best = level;
		if (strcmp(k->name, vp_kernels.name) == 0 &&
			k->l2_squared == vp_kernels.l2_squared)
			found = 1;
	}
	Check(found, "vp_kernels is one of the supported tables", vp_kernels.name, 0, 0, 0, 0);
	Check(VpDistanceKernelsFor(VP_KERNEL_SCALAR) != NULL, "scalar always available", "", 0, 0, 0, 0);
	Check(VpDistanceKernelsFor(VP_KERNEL_NLEVELS) == NULL, "out-of-range level is NULL", "", 0, 0, 0, 0);
	{
		/* expected: the best level, lowered to the requested one if any */
		int			want = best;

		if (env != NULL && strcmp(env, "scalar") == 0)
			want = VP_KERNEL_SCALAR;
		else if (env != NULL && strcmp(env, "avx2") == 0 && want > VP_KERNEL_AVX2)
			want = VP_KERNEL_AVX2;
		while (VpDistanceKernelsFor((VpKernelLevel) want) == NULL)
			want--;
		Check(strcmp(vp_kernels.name, VpDistanceKernelsFor((VpKernelLevel) want)->name) == 0,
			  "chosen level matches CPU and VECPERSIST_KERNEL", vp_kernels.name, 0, 0, 0, 0);
	}
	printf("kernel selection: chosen \"%s\" (VECPERSIST_KERNEL=%s)%*s %5d passed, %d failed\n",
		   vp_kernels.name, env ? env : "unset", 2, "",
		   n_passed - p, n_failed - f);
}

/*
 * CheckCode
 *		A code kernel against its double reference: each term adds a few
 *		more roundings (dequantizing, subtracting) than a float kernel's, so
 *		the bound is four times the float one.
 */
static void
CheckCode(const VpDistanceKernels *k, const char *what, double got,
		  double want, double scale, size_t n)
{
	double		tol = 4.0 * (double) (n + 4) * UNIT_ROUNDOFF * scale + 1e-30;

	Check(fabs(got - want) <= tol, what, k->name, n, got, want, tol);
}

/*
 * TestCodeKernels
 *		The kernels on 8-bit codes and bit strings against naive loops in
 *		double (the integer ones exactly), over lengths that exercise every
 *		unrolled and tail path, aligned and not.
 */
static void
TestCodeKernels(const VpDistanceKernels *k, float *a)
{
	static const size_t lens[] = {1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65,
	100, 128, 784, 1536, 16000};
	uint8_t    *ca = malloc(MAX_LEN + 16);
	uint8_t    *cb = malloc(MAX_LEN + 16);
	int			p = n_passed,
				f = n_failed;
	size_t		li;

	if (ca == NULL || cb == NULL)
		exit(2);
	for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
	{
		size_t		n = lens[li];
		int			off;

		for (off = 0; off < 2; off++)
		{
			const float *q = a + off;
			const uint8_t *x = ca + off;
			const uint8_t *y = cb + off;
			float		oa = RandomFloat(),
						sa = fabsf(RandomFloat()) / 100.0f,
						ob = RandomFloat(),
						sb = fabsf(RandomFloat()) / 100.0f;
			double		dot = 0,
						l1 = 0,
						l1cc = 0,
						s_dot = 0,
						s_l1 = 0,
						s_l1cc = 0;
			uint64_t	dotcc = 0,
						xor_bits = 0,
						and_bits = 0,
						or_bits = 0,
						both,
						either;
			size_t		i;

			for (i = 0; i < n + 1; i++)
			{
				a[i] = RandomFloat();
				ca[i] = (uint8_t) (NextRandom() & 0xFF);
				cb[i] = (uint8_t) (NextRandom() & 0xFF);
			}
			for (i = 0; i < n; i++)
			{
				double		xa = oa + (double) sa * x[i];
				double		xb = ob + (double) sb * y[i];

				dot += (double) q[i] * x[i];
				l1 += fabs(q[i] - xa);
				l1cc += fabs(xa - xb);
				/* magnitudes of the terms, for the rounding bound */
				s_dot += fabs((double) q[i] * x[i]);
				s_l1 += fabs(q[i]) + fabs(xa);
				s_l1cc += fabs(xa) + fabs(xb);
				dotcc += (uint64_t) x[i] * y[i];
				xor_bits += (uint64_t) __builtin_popcount((unsigned) (x[i] ^ y[i]));
				and_bits += (uint64_t) __builtin_popcount((unsigned) (x[i] & y[i]));
				or_bits += (uint64_t) __builtin_popcount((unsigned) (x[i] | y[i]));
			}
			CheckCode(k, "dot_f32_u8", k->dot_f32_u8(q, x, n), dot, s_dot, n);
			CheckCode(k, "l1_f32_u8", k->l1_f32_u8(q, oa, sa, x, n), l1, s_l1, n);
			CheckCode(k, "l1_u8_u8", k->l1_u8_u8(oa, sa, x, ob, sb, y, n), l1cc, s_l1cc, n);
			Check(k->dot_u8_u8(x, y, n) == dotcc, "dot_u8_u8", k->name, n,
				  (double) k->dot_u8_u8(x, y, n), (double) dotcc, 0);
			Check(k->popcount_xor(x, y, n) == xor_bits, "popcount_xor", k->name, n,
				  (double) k->popcount_xor(x, y, n), (double) xor_bits, 0);
			k->popcount_and_or(x, y, n, &both, &either);
			Check(both == and_bits && either == or_bits, "popcount_and_or", k->name,
				  n, (double) both, (double) and_bits, 0);
		}
	}
	free(ca);
	free(cb);
	Report("8-bit code and bit kernels, lengths 1..16000", k->name, p, f);
}

int
main(void)
{
	float	   *a = malloc((MAX_LEN + 16) * sizeof(float));
	float	   *b = malloc((MAX_LEN + 16) * sizeof(float));
	int			level;

	if (a == NULL || b == NULL)
	{
		fprintf(stderr, "out of memory\n");
		return 2;
	}

	TestSelection();
	for (level = 0; level < VP_KERNEL_NLEVELS; level++)
	{
		const VpDistanceKernels *k = VpDistanceKernelsFor((VpKernelLevel) level);

		if (k == NULL)
		{
			printf("level %d: not supported by this CPU or build, skipped\n", level);
			continue;
		}
		TestRandom(k, a, b);
		TestEdgeCases(k, a, b);
		TestCodeKernels(k, a);
	}

	free(a);
	free(b);
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed == 0 ? 0 : 1;
}
