/*-------------------------------------------------------------------------
 *
 * sparsevec.c
 *	  The sparsevec data type: I/O, typmod, send/recv, casts, distance
 *	  functions, comparisons, and its type support for the hnsw index.
 *
 * vecpersist's sparsevec is a drop-in for pgvector's: the same text format
 * ("{1:1.5,3:2}/5", 1-based indices, zeros not stored), the same binary
 * format (int32 dim, int32 nnz, int32 zero, nnz int32 0-based indices, nnz
 * float4 values, network byte order), the same limits (SPARSEVEC_MAX_DIM
 * dimensions, SPARSEVEC_MAX_NNZ non-zero elements, finite values) and the
 * same error messages and SQLSTATEs, checked in the same order, so that
 * clients and applications written for pgvector see no difference.
 *
 * Distances and norms round exactly as pgvector's do, so that the same
 * query prints the same digits under either extension.  pgvector writes
 * them as plain C loops (a merge of the two index lists, summing in float)
 * but compiles them with -ftree-vectorize -fassociative-math: GCC then sums
 * each simple reduction loop (a norm, or the tail of the merge where only
 * the second operand has elements left) in 4 float or 2 double SSE2 lanes,
 * which changes the last bits of the result.  The helpers below spell that
 * summation order out in plain C (see AccumSquares), matching pgvector's
 * portable x86-64 build (OPTFLAGS="", the reference build we compare
 * with).  A pgvector built with its default -march=native may use wider
 * lanes and fused multiply-adds, and can differ from both in the last
 * digits.  This file must therefore be compiled without -ffast-math or
 * -fassociative-math, which would let the compiler regroup the sums again.
 *
 * Every value built here is normalised: indices strictly ascending and in
 * range, no stored zero.  Comparisons and distances rely on that, and the
 * index payload (vptype.h) is the index and value runs as they are.
 *
 * Every SQL-callable function is bound by name from the install script
 * (AS 'MODULE_PATHNAME', 'vp_...'); none keeps state between calls.
 *
 * IDENTIFICATION
 *	  src/sparsevec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"

#include "sparsevec.h"
#include "vector.h"
#include "vptype.h"

/* One "index:value" pair of a literal, before sorting */
typedef struct SparseInputItem
{
	int32		index;			/* 0-based, possibly out of range */
	float4		value;			/* non-zero and finite */
} SparseInputItem;

static void InvalidSparsevecSyntax(const char *lit, const char *detail)
			pg_attribute_noreturn();

/*
 * Raise an error unless both operands declare the same dimensions.  Every
 * distance requires this; comparisons do not.
 */
static inline void
CheckSameDims(const SparseVector *a, const SparseVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different sparsevec dimensions %d and %d",
						a->dim, b->dim)));
}

/*
 * Raise an error if a value of dim dimensions does not fit the type modifier
 * typmod (-1 means "any").  The wording is the same for every vector type.
 */
static inline void
CheckExpectedDim(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

/*
 * Raise an error unless dim is a valid sparsevec dimension count.
 */
static inline void
CheckDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec must have at least 1 dimension")));

	if (dim > SPARSEVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more than %d dimensions",
						SPARSEVEC_MAX_DIM)));
}

/*
 * Raise an error unless nnz elements can be stored in a sparsevec of dim
 * dimensions.  Called before allocating, so a hostile count from recv never
 * reaches palloc.
 */
static inline void
CheckNnz(int nnz, int dim)
{
	if (nnz < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec cannot have negative number of elements")));

	if (nnz > SPARSEVEC_MAX_NNZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more than %d non-zero elements",
						SPARSEVEC_MAX_NNZ)));

	if (nnz > dim)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more elements than dimensions")));
}

/*
 * Raise an error unless indices[i] is in range and greater than
 * indices[i - 1].  Called for each index in order as a value is built, so
 * that the first offending position decides the message, as in pgvector.
 */
static inline void
CheckIndex(const int32 *indices, int i, int dim)
{
	int32		index = indices[i];

	if (index < 0 || index >= dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec index out of bounds")));

	if (i > 0 && index < indices[i - 1])
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec indices must be in ascending order")));

	if (i > 0 && index == indices[i - 1])
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec indices must not contain duplicates")));
}

/*
 * Raise an error for a value a sparsevec may not hold.  Keeping NaN and
 * infinity out means distances and comparisons never see them from stored
 * data.
 */
static inline void
CheckElement(float4 value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in sparsevec")));

	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in sparsevec")));
}

/*
 * The dimension checks of a cast to vector, in vector's own wording: the
 * target type's limits are what the user runs into.
 */
static inline void
CheckVectorDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));

	if (dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions",
						VECTOR_MAX_DIM)));
}

/*
 * Whitespace accepted between the tokens of a literal: the six characters
 * isspace() accepts in the C locale, '\v' included, as for vector.
 */
static inline bool
SparsevecIsSpace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' ||
		ch == '\r' || ch == '\v' || ch == '\f';
}

/* advance past whitespace */
static inline char *
SkipSpace(char *pt)
{
	while (SparsevecIsSpace(*pt))
		pt++;
	return pt;
}

/*
 * Allocate a zeroed sparsevec with dim dimensions and room for nnz elements,
 * in the current memory context.  The caller has checked dim and nnz and
 * fills the indices and values.
 */
SparseVector *
VpInitSparseVector(int dim, int nnz)
{
	Size		size = SPARSEVEC_SIZE(nnz);
	SparseVector *result;

	Assert(dim >= 1 && dim <= SPARSEVEC_MAX_DIM);
	Assert(nnz >= 0 && nnz <= SPARSEVEC_MAX_NNZ);

	result = (SparseVector *) palloc0(size);
	SET_VARSIZE(result, size);
	result->dim = dim;
	result->nnz = nnz;

	return result;
}

/*
 * Report a malformed sparsevec literal.  All syntax errors share the
 * primary message and differ only in the detail, which may be NULL.
 */
static void
InvalidSparsevecSyntax(const char *lit, const char *detail)
{
	if (detail)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type sparsevec: \"%s\"", lit),
				 errdetail_internal("%s", detail)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type sparsevec: \"%s\"", lit)));
}

/*
 * qsort comparator for literal items: by index only.  Two items with the
 * same index are an error whatever their values, so their order does not
 * matter.
 */
static int
CompareInputItems(const void *a, const void *b)
{
	int32		ia = ((const SparseInputItem *) a)->index;
	int32		ib = ((const SparseInputItem *) b)->index;

	return (ia > ib) - (ia < ib);
}

/*
 * Parse a base-10 integer with strtol() (which skips leading whitespace and
 * takes a sign), clamped into [lo, INT_MAX] so that a huge number gives the
 * range error of the caller's later check, not a wrapped value.  Returns
 * false if there are no digits.
 */
static bool
ParseClampedInt(char **pt, long lo, int32 *result)
{
	char	   *end;
	long		val = strtol(*pt, &end, 10);

	if (end == *pt)
		return false;

	if (val > INT_MAX)
		val = INT_MAX;
	else if (val < lo)
		val = lo;

	*result = (int32) val;
	*pt = end;
	return true;
}

/*
 * sparsevec_in: parse "{i1:v1,i2:v2,...}/dim" into a sparsevec.
 *
 * Indices are 1-based in the text.  Whitespace is allowed around every
 * token, pairs may come in any order (they are sorted), and a pair whose
 * value is zero is skipped without its index being checked: that is how
 * pgvector reads such a literal, and dumps taken from it must load.  Values
 * are parsed with strtof(), as float4in does, so a literal rounds once,
 * directly to float; like float4in, a value that overflows or underflows to
 * zero is a range error.
 *
 * The number of pairs is bounded by the number of commas anywhere in the
 * literal, which sizes the scratch array, and too many commas is the
 * "more than SPARSEVEC_MAX_NNZ" error before anything is parsed.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_in);
Datum
vp_sparsevec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	char	   *pt;
	int			capacity = 1;
	int			nnz = 0;
	int32		dim;
	SparseInputItem *items;
	SparseVector *result;
	float4	   *values;
	int			i;

	for (pt = lit; *pt != '\0'; pt++)
	{
		if (*pt == ',')
		{
			if (capacity == SPARSEVEC_MAX_NNZ)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("sparsevec cannot have more than %d non-zero elements",
								SPARSEVEC_MAX_NNZ)));
			capacity++;
		}
	}
	items = palloc_array(SparseInputItem, capacity);

	pt = SkipSpace(lit);
	if (*pt != '{')
		InvalidSparsevecSyntax(lit, _("Vector contents must start with \"{\"."));
	pt = SkipSpace(pt + 1);

	if (*pt == '}')
		pt++;
	else
	{
		for (;;)
		{
			int32		index;
			float4		value;
			char	   *end;

			pt = SkipSpace(pt);
			if (*pt == '\0')
				InvalidSparsevecSyntax(lit, NULL);

			/* INT_MIN + 1, so that index - 1 below cannot overflow */
			if (!ParseClampedInt(&pt, (long) INT_MIN + 1, &index))
				InvalidSparsevecSyntax(lit, NULL);

			pt = SkipSpace(pt);
			if (*pt != ':')
				InvalidSparsevecSyntax(lit, NULL);
			pt = SkipSpace(pt + 1);

			errno = 0;
			value = strtof(pt, &end);
			if (end == pt)
				InvalidSparsevecSyntax(lit, NULL);

			if (errno == ERANGE && (value == 0.0f || isinf(value)))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("\"%s\" is out of range for type sparsevec",
								pnstrdup(pt, (Size) (end - pt)))));

			CheckElement(value);

			if (value != 0.0f)
			{
				/* cannot happen, given how capacity was counted */
				if (nnz >= capacity)
					elog(ERROR, "sparsevec literal has more elements than separators allow");
				items[nnz].index = index - 1;
				items[nnz].value = value;
				nnz++;
			}

			pt = SkipSpace(end);
			if (*pt == ',')
				pt++;
			else if (*pt == '}')
			{
				pt++;
				break;
			}
			else
				InvalidSparsevecSyntax(lit, NULL);
		}
	}

	pt = SkipSpace(pt);
	if (*pt != '/')
		InvalidSparsevecSyntax(lit, _("Unexpected end of input."));
	pt = SkipSpace(pt + 1);

	if (!ParseClampedInt(&pt, (long) INT_MIN, &dim))
		InvalidSparsevecSyntax(lit, NULL);

	pt = SkipSpace(pt);
	if (*pt != '\0')
		InvalidSparsevecSyntax(lit, _("Junk after closing."));

	CheckDim(dim);
	CheckExpectedDim(typmod, dim);

	qsort(items, (size_t) nnz, sizeof(SparseInputItem), CompareInputItems);

	result = VpInitSparseVector(dim, nnz);
	values = SparseVectorValues(result);
	for (i = 0; i < nnz; i++)
	{
		result->indices[i] = items[i].index;
		values[i] = items[i].value;
		CheckIndex(result->indices, i, dim);
	}
	pfree(items);

	PG_RETURN_SPARSEVEC_P(result);
}

/*
 * sparsevec_out: format a sparsevec as "{i1:v1,...}/dim" with 1-based
 * indices.  Each value is written as the shortest decimal that reads back as
 * the same float, so text round trips are exact.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_out);
Datum
vp_sparsevec_out(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	float4	   *values = SparseVectorValues(svec);
	char	   *buf;
	char	   *pt;
	int			i;

	/*
	 * Per element: an index of up to 10 digits, ':', a value of at most
	 * FLOAT_SHORTEST_DECIMAL_LEN - 1 characters and a comma; then the braces,
	 * the slash, a dimension of up to 10 digits and the terminator.
	 */
	buf = palloc((Size) svec->nnz * (12 + FLOAT_SHORTEST_DECIMAL_LEN) + 15);
	pt = buf;

	*pt++ = '{';
	for (i = 0; i < svec->nnz; i++)
	{
		if (i > 0)
			*pt++ = ',';
		pt += pg_ltoa(svec->indices[i] + 1, pt);
		*pt++ = ':';
		pt += float_to_shortest_decimal_bufn(values[i], pt);
	}
	*pt++ = '}';
	*pt++ = '/';
	pt += pg_ltoa(svec->dim, pt);
	*pt = '\0';

	PG_FREE_IF_COPY(svec, 0);
	PG_RETURN_CSTRING(buf);
}

/*
 * sparsevec_typmod_in: accept sparsevec(n) for 1 <= n <= SPARSEVEC_MAX_DIM.
 * The typmod is the dimension count itself.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_typmod_in);
Datum
vp_sparsevec_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *tl;
	int			n;

	tl = ArrayGetIntegerTypmods(ta, &n);

	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier")));

	if (tl[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type sparsevec must be at least 1")));

	if (tl[0] > SPARSEVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type sparsevec cannot exceed %d",
						SPARSEVEC_MAX_DIM)));

	PG_RETURN_INT32(tl[0]);
}

/*
 * sparsevec_typmod_out: print the typmod as "(n)", or nothing for -1, so
 * that format_type() shows sparsevec(5) (what PostgreSQL prints for a type
 * without this function too; it is here for symmetry with vector).
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_typmod_out);
Datum
vp_sparsevec_typmod_out(PG_FUNCTION_ARGS)
{
	int32		typmod = PG_GETARG_INT32(0);

	if (typmod >= 0)
		PG_RETURN_CSTRING(psprintf("(%d)", typmod));
	PG_RETURN_CSTRING(pstrdup(""));
}

/*
 * sparsevec_recv: read the binary format (int32 dim, int32 nnz, int32
 * unused = 0, nnz int32 0-based indices, nnz float4 values, all in network
 * byte order).
 *
 * The input comes from the client, so the header is checked before
 * allocating, and every index and value as it is read; a value of zero is
 * rejected, since no sparsevec stores one.  A message that ends early is
 * reported by pq_getmsgint/pq_getmsgfloat4 when they reach its end, so the
 * errors come in the same order as pgvector's.  Trailing bytes are left for
 * the caller (COPY, Bind) to reject, as for every type.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_recv);
Datum
vp_sparsevec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	SparseVector *result;
	float4	   *values;
	int32		dim;
	int32		nnz;
	int32		unused;
	int			i;

	dim = (int32) pq_getmsgint(buf, sizeof(int32));
	nnz = (int32) pq_getmsgint(buf, sizeof(int32));
	unused = (int32) pq_getmsgint(buf, sizeof(int32));

	CheckDim(dim);
	CheckNnz(nnz, dim);
	CheckExpectedDim(typmod, dim);

	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected unused to be 0, not %d", unused)));

	result = VpInitSparseVector(dim, nnz);
	values = SparseVectorValues(result);

	for (i = 0; i < nnz; i++)
	{
		result->indices[i] = (int32) pq_getmsgint(buf, sizeof(int32));
		CheckIndex(result->indices, i, dim);
	}

	for (i = 0; i < nnz; i++)
	{
		values[i] = pq_getmsgfloat4(buf);
		CheckElement(values[i]);
		if (values[i] == 0.0f)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("binary representation of sparsevec cannot contain zero values")));
	}

	PG_RETURN_SPARSEVEC_P(result);
}

/*
 * sparsevec_send: write the binary format read by sparsevec_recv.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_send);
Datum
vp_sparsevec_send(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	float4	   *values = SparseVectorValues(svec);
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	enlargeStringInfo(&buf, (int) (3 * sizeof(int32) +
								   (Size) svec->nnz * (sizeof(int32) + sizeof(float4))));
	pq_sendint32(&buf, (uint32) svec->dim);
	pq_sendint32(&buf, (uint32) svec->nnz);
	pq_sendint32(&buf, (uint32) svec->unused);
	for (i = 0; i < svec->nnz; i++)
		pq_sendint32(&buf, (uint32) svec->indices[i]);
	for (i = 0; i < svec->nnz; i++)
		pq_sendfloat4(&buf, values[i]);

	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * sparsevec(sparsevec, integer, boolean): the length-coercion cast, which
 * applies a column's typmod to a value.  The value is only checked.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec);
Datum
vp_sparsevec(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	CheckExpectedDim(typmod, svec->dim);

	PG_RETURN_SPARSEVEC_P(svec);
}

/*
 * Build a sparsevec from n dense float elements, keeping the non-zero ones.
 * Shared by the casts from vector and from arrays.  The elements are checked
 * only after the non-zero count, so that too many non-zero elements is
 * reported before a NaN or an infinity among them, as pgvector does.
 */
static SparseVector *
DenseToSparse(const float4 *x, int n)
{
	SparseVector *result;
	float4	   *values;
	int			nnz = 0;
	int			i;
	int			j;

	for (i = 0; i < n; i++)
	{
		if (x[i] != 0.0f)
			nnz++;
	}
	CheckNnz(nnz, n);

	result = VpInitSparseVector(n, nnz);
	values = SparseVectorValues(result);
	for (i = 0, j = 0; i < n; i++)
	{
		if (x[i] != 0.0f)
		{
			result->indices[j] = i;
			values[j] = x[i];
			j++;
		}
	}

	for (j = 0; j < nnz; j++)
		CheckElement(values[j]);

	return result;
}

/*
 * vector_to_sparsevec: the cast from vector (implicit, since it loses
 * nothing).  Zero elements, -0 included, are dropped.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_to_sparsevec);
Datum
vp_vector_to_sparsevec(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	CheckDim(vec->dim);
	CheckExpectedDim(typmod, vec->dim);

	PG_RETURN_SPARSEVEC_P(DenseToSparse(vec->x, vec->dim));
}

/*
 * sparsevec_to_vector: the cast to vector (assignment only, since a
 * sparsevec may have far more dimensions than a vector can).  The vector's
 * own dimension limits apply, with its messages.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_to_vector);
Datum
vp_sparsevec_to_vector(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	float4	   *values = SparseVectorValues(svec);
	Vector	   *result;
	int			i;

	CheckVectorDim(svec->dim);
	CheckExpectedDim(typmod, svec->dim);

	result = VpInitVector(svec->dim);
	for (i = 0; i < svec->nnz; i++)
	{
		int32		index = svec->indices[i];

		/* cannot happen for a valid sparsevec */
		if (index < 0 || index >= svec->dim)
			elog(ERROR, "sparsevec index %d out of range for %d dimensions",
				 index, svec->dim);
		result->x[index] = values[i];
	}

	PG_RETURN_VECTOR_P(result);
}

/*
 * array_to_sparsevec: the casts from integer[], real[], double precision[]
 * and numeric[].  The array must be one-dimensional and free of NULLs;
 * every element is rounded to float4 first (numeric through numeric_float4,
 * which reports its own range errors), then the non-zero ones are kept and
 * must be finite.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_array_to_sparsevec);
Datum
vp_array_to_sparsevec(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	int			n;
	float4	   *x;
	SparseVector *result;
	int			i;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D")));

	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls")));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign,
					  &elems, NULL, &n);

	CheckDim(n);
	CheckExpectedDim(typmod, n);

	x = palloc_array(float4, n);
	switch (elemtype)
	{
		case INT4OID:
			for (i = 0; i < n; i++)
				x[i] = (float4) DatumGetInt32(elems[i]);
			break;
		case FLOAT4OID:
			for (i = 0; i < n; i++)
				x[i] = DatumGetFloat4(elems[i]);
			break;
		case FLOAT8OID:
			for (i = 0; i < n; i++)
				x[i] = (float4) DatumGetFloat8(elems[i]);
			break;
		case NUMERICOID:
			for (i = 0; i < n; i++)
				x[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4,
														  elems[i]));
			break;
		default:
			/* only reachable by calling the function with another array */
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("unsupported array type")));
	}
	pfree(elems);

	result = DenseToSparse(x, n);
	pfree(x);

	PG_RETURN_SPARSEVEC_P(result);
}

/*
 * The reduction order of pgvector's vectorised loops, written out.
 *
 * A run of n terms t[0..n-1] is added to an accumulator acc.  With fewer
 * than 4 terms they are added one by one.  Otherwise the first n - n % 4
 * terms go into four float lanes (lane k takes t[k], t[k + 4], ... in
 * order, starting from 0), the lanes are folded as (l0 + l2) + (l1 + l3)
 * and that is added to acc; the last n % 4 terms are then added one by
 * one.  This is the SSE2 code GCC makes of "for (...) acc += t[i];" under
 * -fassociative-math.  Float addition is commutative, so only the grouping
 * matters.
 */
static float4
AccumSquares(float4 acc, const float4 *x, int n)
{
	int			i = 0;

	if (n >= 4)
	{
		float4		lane[4] = {0.0f, 0.0f, 0.0f, 0.0f};

		for (; i + 4 <= n; i += 4)
		{
			lane[0] += x[i] * x[i];
			lane[1] += x[i + 1] * x[i + 1];
			lane[2] += x[i + 2] * x[i + 2];
			lane[3] += x[i + 3] * x[i + 3];
		}
		acc += (lane[0] + lane[2]) + (lane[1] + lane[3]);
	}
	for (; i < n; i++)
		acc += x[i] * x[i];

	return acc;
}

/* the same as AccumSquares, for absolute values (the l1 distance) */
static float4
AccumAbs(float4 acc, const float4 *x, int n)
{
	int			i = 0;

	if (n >= 4)
	{
		float4		lane[4] = {0.0f, 0.0f, 0.0f, 0.0f};

		for (; i + 4 <= n; i += 4)
		{
			lane[0] += fabsf(x[i]);
			lane[1] += fabsf(x[i + 1]);
			lane[2] += fabsf(x[i + 2]);
			lane[3] += fabsf(x[i + 3]);
		}
		acc += (lane[0] + lane[2]) + (lane[1] + lane[3]);
	}
	for (; i < n; i++)
		acc += fabsf(x[i]);

	return acc;
}

/*
 * Sum of squares in double, for l2_norm and l2_normalize (it cannot
 * overflow for finite float values), in the order of pgvector's vectorised
 * loop: with 4 or more values, each block of 4 adds x0^2 + x2^2 to one
 * double lane and x1^2 + x3^2 to the other, the lanes are added, and the
 * last n % 4 squares follow one by one.  Each square is exact in double.
 */
static double
SquaredNormDouble(const float4 *x, int n)
{
	double		sum = 0.0;
	int			i = 0;

	if (n >= 4)
	{
		double		lane0 = 0.0;
		double		lane1 = 0.0;

		for (; i + 4 <= n; i += 4)
		{
			lane0 += (double) x[i] * x[i] + (double) x[i + 2] * x[i + 2];
			lane1 += (double) x[i + 1] * x[i + 1] + (double) x[i + 3] * x[i + 3];
		}
		sum = lane0 + lane1;
	}
	for (; i < n; i++)
		sum += (double) x[i] * x[i];

	return sum;
}

/*
 * Squared Euclidean distance.  The two index lists are merged in ascending
 * order, a shared index adding the squared difference and an index of one
 * side its square, summed one by one in float; once a is exhausted, what is
 * left of b is added as one run (AccumSquares).
 */
static float4
SparseL2Squared(SparseVector *a, SparseVector *b)
{
	const float4 *ax = SparseVectorValues(a);
	const float4 *bx = SparseVectorValues(b);
	float4		sum = 0.0f;
	int			i = 0;
	int			j = 0;

	while (i < a->nnz && j < b->nnz)
	{
		if (a->indices[i] < b->indices[j])
		{
			sum += ax[i] * ax[i];
			i++;
		}
		else if (a->indices[i] > b->indices[j])
		{
			sum += bx[j] * bx[j];
			j++;
		}
		else
		{
			float4		diff = ax[i] - bx[j];

			sum += diff * diff;
			i++;
			j++;
		}
	}
	for (; i < a->nnz; i++)
		sum += ax[i] * ax[i];

	return AccumSquares(sum, bx + j, b->nnz - j);
}

/*
 * Inner product: the products at shared indices, summed one by one in
 * float in ascending index order.
 */
static float4
SparseInnerProduct(SparseVector *a, SparseVector *b)
{
	const float4 *ax = SparseVectorValues(a);
	const float4 *bx = SparseVectorValues(b);
	float4		sum = 0.0f;
	int			i = 0;
	int			j = 0;

	while (i < a->nnz && j < b->nnz)
	{
		if (a->indices[i] < b->indices[j])
			i++;
		else if (a->indices[i] > b->indices[j])
			j++;
		else
		{
			sum += ax[i] * bx[j];
			i++;
			j++;
		}
	}

	return sum;
}

/*
 * l2_distance(sparsevec, sparsevec): Euclidean distance, the square root
 * (in double) of the float sum of squares.  Overflow of that sum gives
 * Infinity.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_l2_distance);
Datum
vp_sparsevec_l2_distance(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8(sqrt((double) SparseL2Squared(a, b)));
}

/*
 * sparsevec_l2_squared_distance: squared Euclidean distance, which orders
 * like l2_distance without the square root.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_l2_squared_distance);
Datum
vp_sparsevec_l2_squared_distance(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8((double) SparseL2Squared(a, b));
}

/*
 * inner_product(sparsevec, sparsevec): the dot product.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_inner_product);
Datum
vp_sparsevec_inner_product(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8((double) SparseInnerProduct(a, b));
}

/*
 * sparsevec_negative_inner_product: minus the dot product, so that "larger
 * product" sorts first in an ascending ORDER BY (the <#> operator).
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_negative_inner_product);
Datum
vp_sparsevec_negative_inner_product(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8((double) -SparseInnerProduct(a, b));
}

/*
 * cosine_distance(sparsevec, sparsevec): 1 - dot / sqrt(|a|^2 |b|^2), the
 * dot product and the squared norms summed in float, the rest in double.
 * A vector without non-zero elements has no direction, so the result is
 * NaN.  Rounding can push the cosine slightly outside [-1, 1]; it is
 * clamped so that parallel vectors give exactly 0 (NaN passes through).
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_cosine_distance);
Datum
vp_sparsevec_cosine_distance(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
	double		cosine;
	double		norms;

	CheckSameDims(a, b);

	cosine = (double) SparseInnerProduct(a, b);
	norms = (double) AccumSquares(0.0f, SparseVectorValues(a), a->nnz) *
		(double) AccumSquares(0.0f, SparseVectorValues(b), b->nnz);
	cosine /= sqrt(norms);

	if (cosine > 1.0)
		cosine = 1.0;
	else if (cosine < -1.0)
		cosine = -1.0;

	PG_RETURN_FLOAT8(1.0 - cosine);
}

/*
 * l1_distance(sparsevec, sparsevec): taxicab distance, the absolute
 * differences summed in float in the order of SparseL2Squared.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_l1_distance);
Datum
vp_sparsevec_l1_distance(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
	const float4 *ax = SparseVectorValues(a);
	const float4 *bx = SparseVectorValues(b);
	float4		sum = 0.0f;
	int			i = 0;
	int			j = 0;

	CheckSameDims(a, b);

	while (i < a->nnz && j < b->nnz)
	{
		if (a->indices[i] < b->indices[j])
			sum += fabsf(ax[i++]);
		else if (a->indices[i] > b->indices[j])
			sum += fabsf(bx[j++]);
		else
			sum += fabsf(ax[i++] - bx[j++]);
	}
	for (; i < a->nnz; i++)
		sum += fabsf(ax[i]);

	PG_RETURN_FLOAT8((double) AccumAbs(sum, bx + j, b->nnz - j));
}

/*
 * l2_norm(sparsevec): the Euclidean norm, accumulated in double.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_l2_norm);
Datum
vp_sparsevec_l2_norm(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);

	PG_RETURN_FLOAT8(sqrt(SquaredNormDouble(SparseVectorValues(a), a->nnz)));
}

/*
 * l2_normalize(sparsevec): the vector scaled to unit length.  A vector
 * without non-zero elements is returned as it is.  Each scaled value has
 * magnitude at most 1, so it cannot overflow; but a tiny value beside a
 * large one can round to zero, and such values are dropped so that the
 * result stores no zero.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_l2_normalize);
Datum
vp_sparsevec_l2_normalize(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	const float4 *ax = SparseVectorValues(a);
	double		norm = sqrt(SquaredNormDouble(ax, a->nnz));
	SparseVector *result;
	float4	   *rx;
	int			nnz = 0;
	int			i;
	int			j;

	if (!(norm > 0.0))
		PG_RETURN_SPARSEVEC_P(VpInitSparseVector(a->dim, 0));

	for (i = 0; i < a->nnz; i++)
	{
		if ((float4) (ax[i] / norm) != 0.0f)
			nnz++;
	}

	result = VpInitSparseVector(a->dim, nnz);
	rx = SparseVectorValues(result);
	for (i = 0, j = 0; i < a->nnz; i++)
	{
		float4		value = (float4) (ax[i] / norm);

		if (value != 0.0f)
		{
			result->indices[j] = a->indices[i];
			rx[j] = value;
			j++;
		}
	}

	PG_RETURN_SPARSEVEC_P(result);
}

/*
 * Three-way comparison for the btree operator class.  Two sparsevecs
 * compare as the dense vectors they stand for: element by element, then the
 * one with fewer dimensions first when it is a prefix of the other (the
 * order PostgreSQL uses for arrays, and vector_cmp's).
 *
 * The walk goes over the stored elements in index order.  The first index
 * where the two differ (one side stores a value the other does not, or the
 * stored values differ) decides, if it lies within both vectors' dimensions;
 * an absent element is zero, and stored values are never zero or NaN.
 */
static int
CompareSparse(SparseVector *a, SparseVector *b)
{
	const float4 *ax = SparseVectorValues(a);
	const float4 *bx = SparseVectorValues(b);
	int			i = 0;

	/* both walks move together until the first difference */
	for (; i < a->nnz && i < b->nnz; i++)
	{
		if (a->indices[i] < b->indices[i])
			return ax[i] < 0.0f ? -1 : 1;	/* a's value against b's 0 */
		if (a->indices[i] > b->indices[i])
			return bx[i] < 0.0f ? 1 : -1;	/* a's 0 against b's value */
		if (ax[i] != bx[i])
			return ax[i] < bx[i] ? -1 : 1;
	}

	/* one side has further elements; they count where the other has room */
	if (i < a->nnz && a->indices[i] < b->dim)
		return ax[i] < 0.0f ? -1 : 1;
	if (i < b->nnz && b->indices[i] < a->dim)
		return bx[i] < 0.0f ? 1 : -1;

	if (a->dim != b->dim)
		return a->dim < b->dim ? -1 : 1;
	return 0;
}

/*
 * Compare the two sparsevec arguments of a comparison function and free
 * any detoasted copies, since btree may call these many times in one memory
 * context (e.g. while sorting for an index build).
 */
static int
CompareSparseArgs(FunctionCallInfo fcinfo)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
	int			cmp = CompareSparse(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);

	return cmp;
}

/*
 * sparsevec_lt: the < operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_lt);
Datum
vp_sparsevec_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareSparseArgs(fcinfo) < 0);
}

/*
 * sparsevec_le: the <= operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_le);
Datum
vp_sparsevec_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareSparseArgs(fcinfo) <= 0);
}

/*
 * sparsevec_eq: the = operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_eq);
Datum
vp_sparsevec_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareSparseArgs(fcinfo) == 0);
}

/*
 * sparsevec_ne: the <> operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_ne);
Datum
vp_sparsevec_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareSparseArgs(fcinfo) != 0);
}

/*
 * sparsevec_ge: the >= operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_ge);
Datum
vp_sparsevec_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareSparseArgs(fcinfo) >= 0);
}

/*
 * sparsevec_gt: the > operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_gt);
Datum
vp_sparsevec_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareSparseArgs(fcinfo) > 0);
}

/*
 * sparsevec_cmp: btree support function 1 of sparsevec_ops.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_cmp);
Datum
vp_sparsevec_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(CompareSparseArgs(fcinfo));
}

/*
 * Type support for the hnsw access method (vptype.h).  A sparsevec's index
 * and value runs are the VP_ELEM_SPARSE payload as they stand, so the
 * payload points into the (detoasted) datum and nothing is copied.
 */
static void
SparsevecDatumToPayload(Datum value, VpPayload *payload)
{
	SparseVector *svec = DatumGetSparseVector(value);

	payload->kind = VP_ELEM_SPARSE;
	payload->dims = svec->dim;
	payload->nnz = svec->nnz;
	payload->data = svec->indices;
	payload->len = (Size) svec->nnz * (sizeof(int32) + sizeof(float4));
}

/*
 * The inverse: a new sparsevec, in CurrentMemoryContext, holding a payload
 * made by SparsevecDatumToPayload or read back from the index pages.
 */
static Datum
SparsevecPayloadToDatum(const VpPayload *payload)
{
	SparseVector *svec;

	Assert(payload->kind == VP_ELEM_SPARSE);
	Assert(payload->len ==
		   (Size) payload->nnz * (sizeof(int32) + sizeof(float4)));

	svec = VpInitSparseVector(payload->dims, payload->nnz);
	memcpy(svec->indices, payload->data, payload->len);

	return PointerGetDatum(svec);
}

/*
 * What the hnsw access method needs to index sparsevec.  The dimension
 * limit is the type's own; the non-zero limit is pgvector's hnsw limit,
 * lower than the type's so that an element fits comfortably on a page.
 */
const VpTypeSupport vp_sparsevec_type_support = {
	.kind = VP_ELEM_SPARSE,
	.type_name = "sparsevec",
	.max_dims = SPARSEVEC_MAX_DIM,
	.max_nnz = SPARSEVEC_HNSW_MAX_NNZ,
	.datum_to_payload = SparsevecDatumToPayload,
	.payload_to_datum = SparsevecPayloadToDatum
};

/*
 * vecpersist_hnsw_sparsevec_support(internal): support function 2 of the
 * sparsevec hnsw operator classes (VP_TYPE_SUPPORT_PROC), returning the
 * table above.  The argument is unused.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_sparsevec_support);
Datum
vp_hnsw_sparsevec_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&vp_sparsevec_type_support);
}
