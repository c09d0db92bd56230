/*-------------------------------------------------------------------------
 *
 * vphalf.h
 *	  IEEE 754 binary16 ("half") values and their conversion to and from
 *	  float, in plain C.
 *
 * A half is kept as its 16 bits in a uint16_t: 1 sign bit, 5 exponent bits
 * (bias 15) and 10 fraction bits.  Finite halves run from 2^-24 (the
 * smallest subnormal) to 65504, and every one of them is exactly a float,
 * so half -> float is exact.  float -> half rounds to nearest, ties to
 * even, as IEEE 754 and the F16C instruction vcvtps2ph (with rounding
 * mode 0) do; a finite float at or beyond 65520 rounds to infinity, and
 * callers that must refuse that compare the result with VpHalfIsInf().
 *
 * The conversions are written with integer operations only, so they give
 * the same bits on every platform and with every compiler flag, and they
 * need no library.  They are fast enough for I/O, casts and arithmetic;
 * the distance kernels (vphalfdist.c) convert eight at a time with F16C
 * where the CPU has it.
 *
 * This header includes no PostgreSQL header, so that the unit tests and
 * any module without the server's headers (the graph, the kernels) can use
 * it.  Everything is static inline.
 *
 * IDENTIFICATION
 *	  src/vphalf.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPHALF_H
#define VPHALF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* one half-precision value, as its bits */
typedef uint16_t VpHalf;

/* largest finite half */
#define VP_HALF_MAX			65504.0f

/* a few encodings */
#define VP_HALF_SIGN_MASK	((VpHalf) 0x8000)
#define VP_HALF_EXP_MASK	((VpHalf) 0x7C00)
#define VP_HALF_FRAC_MASK	((VpHalf) 0x03FF)
#define VP_HALF_POS_INF		((VpHalf) 0x7C00)

/*
 * The bits of a float and back.  memcpy is the portable way to reinterpret
 * them; compilers turn it into a register move.
 */
static inline uint32_t
VpFloatBits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float
VpBitsFloat(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Is h a NaN (all exponent bits set, fraction non-zero)? */
static inline bool
VpHalfIsNan(VpHalf h)
{
	return (h & VP_HALF_EXP_MASK) == VP_HALF_EXP_MASK &&
		(h & VP_HALF_FRAC_MASK) != 0;
}

/* Is h +infinity or -infinity? */
static inline bool
VpHalfIsInf(VpHalf h)
{
	return (h & (VpHalf) 0x7FFF) == VP_HALF_POS_INF;
}

/* Is h +0 or -0? */
static inline bool
VpHalfIsZero(VpHalf h)
{
	return (h & (VpHalf) 0x7FFF) == 0;
}

/*
 * VpHalfToFloat
 *		The float equal to h.  Exact for every half; a NaN stays a NaN
 *		with its sign and payload (made quiet), infinities stay infinite.
 *
 * Normal halves only need their exponent rebiased (15 -> 127) and their
 * fraction widened.  A subnormal half is fraction * 2^-24, and fraction
 * (at most 1023) times a power of two is exactly representable in float,
 * so one multiplication by the constant 2^-24 converts it exactly.
 */
static inline float
VpHalfToFloat(VpHalf h)
{
	uint32_t	sign = (uint32_t) (h & VP_HALF_SIGN_MASK) << 16;
	uint32_t	exp = (uint32_t) (h & VP_HALF_EXP_MASK) >> 10;
	uint32_t	frac = (uint32_t) (h & VP_HALF_FRAC_MASK);

	if (exp == 0x1F)
	{
		/* infinity, or NaN with the quiet bit set */
		return VpBitsFloat(sign | 0x7F800000u | (frac << 13) |
						   (frac != 0 ? 0x00400000u : 0));
	}
	if (exp == 0)
	{
		/* zero or subnormal: frac * 2^-24, then the sign */
		float		mag = (float) frac * (1.0f / 16777216.0f);

		return VpBitsFloat(sign | VpFloatBits(mag));
	}
	return VpBitsFloat(sign | ((exp + (127 - 15)) << 23) | (frac << 13));
}

/*
 * VpFloatToHalf
 *		f rounded to the nearest half, ties to even.  Finite floats of
 *		magnitude 65520 or more give infinity (65520 is the midpoint between
 *		65504 and 2^16, and 65504's last fraction bit is odd); NaN gives a
 *		quiet NaN with f's sign and the top fraction bits.
 *
 * The three ranges of |f|:
 * - at least 2^-14 (the smallest normal half): rebias the exponent and
 *	 round away 13 fraction bits.  A carry out of the fraction moves into
 *	 the exponent, which is exactly the rounding up to the next binade;
 * - below 2^-14: the result is the subnormal round(|f| / 2^-24).  With the
 *	 implicit bit, |f| = m * 2^(e - 150) with m < 2^24, so the quotient is
 *	 m * 2^(e - 126), and the shift 126 - e is 14..24 for every |f| that
 *	 does not round to zero (|f| > 2^-25).  Rounding up from 1023 gives
 *	 0x400, the smallest normal, which is again the right encoding;
 * - at most 2^-25: zero (2^-25 itself is a tie, and 0 is even).
 */
static inline VpHalf
VpFloatToHalf(float f)
{
	uint32_t	bits = VpFloatBits(f);
	VpHalf		sign = (VpHalf) ((bits >> 16) & 0x8000);
	uint32_t	mag = bits & 0x7FFFFFFFu;

	if (mag >= 0x7F800000u)
	{
		if (mag == 0x7F800000u)
			return sign | VP_HALF_POS_INF;
		return sign | (VpHalf) 0x7E00 | (VpHalf) ((mag >> 13) & 0x03FF);
	}

	if (mag >= 0x477FF000u)		/* 65520 and above */
		return sign | VP_HALF_POS_INF;

	if (mag >= 0x38800000u)		/* 2^-14: normal result */
	{
		uint32_t	base = (mag - 0x38000000u) >> 13;	/* rebias 127 -> 15 */
		uint32_t	rest = mag & 0x1FFFu;

		if (rest > 0x1000u || (rest == 0x1000u && (base & 1u)))
			base++;
		return sign | (VpHalf) base;
	}

	if (mag <= 0x33000000u)		/* 2^-25 and below */
		return sign;

	{
		uint32_t	e = mag >> 23;
		uint32_t	m = (mag & 0x007FFFFFu) | 0x00800000u;
		uint32_t	shift = 126 - e;
		uint32_t	q = m >> shift;
		uint32_t	rest = m & ((1u << shift) - 1);
		uint32_t	halfway = 1u << (shift - 1);

		if (rest > halfway || (rest == halfway && (q & 1u)))
			q++;
		return sign | (VpHalf) q;
	}
}

#endif							/* VPHALF_H */
