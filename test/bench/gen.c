/*
 * test/bench/gen.c -- the benchmark's synthetic data: clustered vectors.
 *
 * Owns the data set of every synthetic preset of bench.sh.  It prints rows
 * in COPY text format, "id<TAB>[x1,x2,...]", one per line, to stdout.
 *
 *   gen ROWS DIMS CLUSTERS SEED STREAM FIRST_ID
 *
 * The data: CLUSTERS gaussian clusters.  Each cluster has a centre drawn
 * uniformly from [-1, 1]^DIMS, a standard deviation drawn uniformly from
 * [0.10, 0.30] (the same in every direction) and a weight drawn uniformly
 * from [0.5, 1.5]; a row picks a cluster with probability proportional to
 * its weight and adds gaussian noise to its centre.  The clusters depend on
 * SEED only; STREAM selects an independent sequence of rows drawn from them,
 * so the table (stream 1), the query vectors (stream 2) and the rows of the
 * insert test (stream 3) come from one distribution without sharing a row.
 * Same arguments, same output, on any machine (no libc random numbers; the
 * only floating-point functions used are log, sqrt, cos and sin).
 *
 * Built by bench.sh with: cc -O2 -o gen gen.c -lm
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Rng
{
	uint64_t	s[4];
} Rng;

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static void
rng_seed(Rng *rng, uint64_t seed, uint64_t stream)
{
	uint64_t	x = seed * UINT64_C(0x100000001B3) ^ (stream + 1) * UINT64_C(0xD6E8FEB86659FD93);
	int			i;

	for (i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static uint64_t
rng_next(Rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* uniform in [0, 1) with 53 random bits */
static double
rng_uniform(Rng *rng)
{
	return (rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* standard normal, Box-Muller; the second value of each pair is kept */
static double
rng_normal(Rng *rng, int *have_spare, double *spare)
{
	double		u,
				v,
				r;

	if (*have_spare)
	{
		*have_spare = 0;
		return *spare;
	}
	do
		u = rng_uniform(rng);
	while (u <= 0.0);
	v = rng_uniform(rng);
	r = sqrt(-2.0 * log(u));
	*spare = r * sin(2.0 * M_PI * v);
	*have_spare = 1;
	return r * cos(2.0 * M_PI * v);
}

static long
parse_long(const char *arg, const char *what, long min, long max)
{
	char	   *end;
	long		val;

	errno = 0;
	val = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || val < min || val > max)
	{
		fprintf(stderr, "gen: %s must be an integer from %ld to %ld, not \"%s\"\n",
				what, min, max, arg);
		exit(2);
	}
	return val;
}

int
main(int argc, char **argv)
{
	long		rows,
				dims,
				nclusters,
				seed,
				stream,
				first_id;
	float	   *centres;
	double	   *sigma;
	double	   *cumweight;
	double		total = 0.0;
	Rng			rng;
	int			have_spare = 0;
	double		spare = 0.0;
	long		i,
				j,
				c;

	if (argc != 7)
	{
		fprintf(stderr, "usage: gen ROWS DIMS CLUSTERS SEED STREAM FIRST_ID\n");
		return 2;
	}
	rows = parse_long(argv[1], "ROWS", 0, 100000000L);
	dims = parse_long(argv[2], "DIMS", 1, 16000);
	nclusters = parse_long(argv[3], "CLUSTERS", 1, 10000000L);
	seed = parse_long(argv[4], "SEED", 0, 2147483647L);
	stream = parse_long(argv[5], "STREAM", 1, 1000);
	first_id = parse_long(argv[6], "FIRST_ID", 0, 2147483647L - rows);

	centres = malloc(sizeof(float) * dims * nclusters);
	sigma = malloc(sizeof(double) * nclusters);
	cumweight = malloc(sizeof(double) * nclusters);
	if (!centres || !sigma || !cumweight)
	{
		fprintf(stderr, "gen: out of memory\n");
		return 1;
	}

	/* the clusters: stream 0 of SEED */
	rng_seed(&rng, (uint64_t) seed, 0);
	for (c = 0; c < nclusters; c++)
	{
		for (j = 0; j < dims; j++)
			centres[c * dims + j] = (float) (2.0 * rng_uniform(&rng) - 1.0);
		sigma[c] = 0.10 + 0.20 * rng_uniform(&rng);
		total += 0.5 + rng_uniform(&rng);
		cumweight[c] = total;
	}

	/* the rows: stream STREAM of SEED */
	rng_seed(&rng, (uint64_t) seed, (uint64_t) stream);
	for (i = 0; i < rows; i++)
	{
		double		pick = rng_uniform(&rng) * total;
		long		lo = 0,
					hi = nclusters - 1;

		while (lo < hi)
		{
			long		mid = (lo + hi) / 2;

			if (cumweight[mid] > pick)
				hi = mid;
			else
				lo = mid + 1;
		}
		c = lo;

		printf("%ld\t[", first_id + i);
		for (j = 0; j < dims; j++)
		{
			float		x = (float) (centres[c * dims + j] +
									 sigma[c] * rng_normal(&rng, &have_spare, &spare));

			printf(j ? ",%.6g" : "%.6g", (double) x);
		}
		fputs("]\n", stdout);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
	{
		fprintf(stderr, "gen: could not write: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
