/*-------------------------------------------------------------------------
 *
 * halfvec.c
 *	  The halfvec data type: I/O, typmod, send/recv, casts, operators,
 *	  functions, aggregate support and hnsw type support.
 *
 * vecpersist's halfvec is a drop-in for pgvector's: the same text format
 * ("[1,2,3]"), the same binary format, the same limits (1..HALFVEC_MAX_DIM
 * dimensions, finite elements of at most 65504 in magnitude), the same
 * results and the same error messages and SQLSTATEs, so that applications
 * and client libraries written for pgvector keep working.
 *
 * Where results could differ, they are computed as pgvector computes them:
 * - elements are printed as the shortest decimal that reads back as the
 *	 same float (not the same half), so 0.1 prints as 0.099975586;
 * - float -> half rounds to nearest even (vphalf.h), and a finite value
 *	 that rounds to infinity is "out of range for type halfvec";
 * - arithmetic (+ - *) is done in float and rounded to half once;
 * - distances accumulate in float in pgvector's order (vphalfdist.c), and
 *	 are widened to double only for the final square root or division;
 * - norms and averages accumulate in double.
 *
 * Every SQL-callable function is bound by name from the install script
 * (AS 'MODULE_PATHNAME', 'vp_...'); none keeps state between calls.
 *
 * IDENTIFICATION
 *	  src/halfvec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

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
#include "utils/varbit.h"

#include "bitvec.h"
#include "halfvec.h"
#include "sparsevec.h"
#include "vector.h"
#include "vphalf.h"
#include "vphalfdist.h"

/* number of dimensions summed in an aggregate state array */
#define STATE_DIM(a)	(ARR_DIMS(a)[0] - 1)

static void InvalidHalfvecSyntax(const char *lit, const char *detail)
			pg_attribute_noreturn();

/*
 * Raise an error unless both operands have the same number of dimensions.
 * Every binary operation except comparison and concatenation requires it.
 */
static inline void
CheckSameDims(const HalfVector *a, const HalfVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different halfvec dimensions %d and %d",
						a->dim, b->dim)));
}

/*
 * Raise an error if a value of dim dimensions does not fit the type
 * modifier typmod (-1 means "any").  Same wording as vector's.
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
 * Raise an error unless dim is a valid dimension count.  Callers check
 * before allocating, so an oversized count never reaches palloc.
 */
static inline void
CheckDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension")));

	if (dim > HALFVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("halfvec cannot have more than %d dimensions",
						HALFVEC_MAX_DIM)));
}

/*
 * Raise an error for an element a halfvec may not hold, so that stored
 * data never carries NaN or infinity into distances and comparisons.
 */
static inline void
CheckElement(VpHalf value)
{
	if (VpHalfIsNan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in halfvec")));

	if (VpHalfIsInf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in halfvec")));
}

/*
 * Convert a float to a half, raising an error when a finite float is too
 * large for a half (it would round to infinity).  Infinite and NaN inputs
 * convert silently: callers then reject them with CheckElement(), which
 * says what is wrong with them.  The message shows the float the way
 * float4out would, as pgvector does.
 */
static VpHalf
FloatToHalfChecked(float value)
{
	VpHalf		result = VpFloatToHalf(value);

	if (unlikely(VpHalfIsInf(result)) && !isinf(value))
	{
		char		buf[FLOAT_SHORTEST_DECIMAL_LEN];

		float_to_shortest_decimal_buf(value, buf);
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("\"%s\" is out of range for type halfvec", buf)));
	}

	return result;
}

/*
 * Whitespace accepted around the elements of a halfvec literal: the six
 * characters isspace() accepts in the C locale (see vector.c).
 */
static inline bool
HalfvecIsSpace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' ||
		ch == '\r' || ch == '\v' || ch == '\f';
}

/*
 * Allocate a zeroed halfvec of dim dimensions in the current memory
 * context, with its varlena header and dimension count set.  The caller has
 * checked dim with CheckDim() (or otherwise knows it to be valid) and fills
 * x[].
 */
HalfVector *
VpInitHalfVector(int dim)
{
	Size		size = HALFVEC_SIZE(dim);
	HalfVector *result;

	Assert(dim >= 1 && dim <= HALFVEC_MAX_DIM);

	result = (HalfVector *) palloc0(size);
	SET_VARSIZE(result, size);
	result->dim = (int16) dim;

	return result;
}

/*
 * Report a malformed halfvec literal.  All syntax errors share the primary
 * message; pgvector gives a detail for a missing "[" and for junk after
 * "]" only, and so do we, so that the messages match line for line.
 */
static void
InvalidHalfvecSyntax(const char *lit, const char *detail)
{
	if (detail)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type halfvec: \"%s\"", lit),
				 errdetail_internal("%s", detail)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type halfvec: \"%s\"", lit)));
}

/*
 * halfvec_in: parse "[x1,x2,...]" into a halfvec.
 *
 * Each element is read with strtof(), as float4in does, then rounded to a
 * half: a literal goes through float first, as in pgvector, so the two
 * give the same half for every input.  A value beyond float's range, or
 * a finite float that rounds to a half infinity, is out of range; an
 * explicit Infinity or NaN is refused by CheckElement().
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_in);
Datum
vp_halfvec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	char	   *pt = lit;
	char	   *scan;
	int			capacity = 1;
	int			dim = 0;
	HalfVector *result;

	while (HalfvecIsSpace(*pt))
		pt++;

	if (*pt != '[')
		InvalidHalfvecSyntax(lit, _("Vector contents must start with \"[\"."));
	pt++;

	while (HalfvecIsSpace(*pt))
		pt++;

	if (*pt == ']')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension")));

	/*
	 * Size the result from the commas before the first ']' (every element
	 * after the first follows one), capped at the limit, so that we parse
	 * straight into it instead of into a scratch array; see vector_in.
	 */
	for (scan = pt; *scan != '\0' && *scan != ']'; scan++)
	{
		if (*scan == ',' && capacity < HALFVEC_MAX_DIM)
			capacity++;
	}
	result = VpInitHalfVector(capacity);

	for (;;)
	{
		char	   *end;
		float		val;
		VpHalf		h;

		if (dim == HALFVEC_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("halfvec cannot have more than %d dimensions",
							HALFVEC_MAX_DIM)));

		while (HalfvecIsSpace(*pt))
			pt++;

		if (*pt == '\0')
			InvalidHalfvecSyntax(lit, NULL);

		errno = 0;
		val = strtof(pt, &end);

		if (end == pt)
			InvalidHalfvecSyntax(lit, NULL);

		h = VpFloatToHalf(val);

		/* overflow of float or of half; underflow rounds to zero */
		if ((errno == ERANGE && isinf(val)) ||
			(VpHalfIsInf(h) && !isinf(val)))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%s\" is out of range for type halfvec",
							pnstrdup(pt, (Size) (end - pt)))));

		CheckElement(h);

		/* cannot happen, given how capacity was counted */
		if (dim >= capacity)
			elog(ERROR, "halfvec literal has more elements than separators allow");
		result->x[dim++] = h;

		pt = end;
		while (HalfvecIsSpace(*pt))
			pt++;

		if (*pt == ',')
			pt++;
		else if (*pt == ']')
		{
			pt++;
			break;
		}
		else
			InvalidHalfvecSyntax(lit, NULL);
	}

	while (HalfvecIsSpace(*pt))
		pt++;

	if (*pt != '\0')
		InvalidHalfvecSyntax(lit, _("Junk after closing right brace."));

	CheckExpectedDim(typmod, dim);

	/* dim == capacity here; set both anyway so the two cannot drift */
	result->dim = (int16) dim;
	SET_VARSIZE(result, HALFVEC_SIZE(dim));

	PG_RETURN_HALFVEC_P(result);
}

/*
 * halfvec_out: format a halfvec as "[x1,x2,...]".
 *
 * Each element is widened to float (exactly) and written as the shortest
 * decimal that reads back as that float, as pgvector does; reading it back
 * gives the same float and so the same half, so text round trips are exact.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_out);
Datum
vp_halfvec_out(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	char	   *buf;
	char	   *pt;
	int			i;

	/* as in vector_out: an element, a separator; brackets, terminator */
	buf = (char *) palloc((Size) vec->dim * FLOAT_SHORTEST_DECIMAL_LEN + 3);
	pt = buf;

	*pt++ = '[';
	for (i = 0; i < vec->dim; i++)
	{
		if (i > 0)
			*pt++ = ',';
		pt += float_to_shortest_decimal_bufn(VpHalfToFloat(vec->x[i]), pt);
	}
	*pt++ = ']';
	*pt = '\0';

	PG_FREE_IF_COPY(vec, 0);
	PG_RETURN_CSTRING(buf);
}

/*
 * halfvec_typmod_in: accept halfvec(n) for 1 <= n <= HALFVEC_MAX_DIM.  The
 * typmod is the dimension count itself.  (halfvec_typmod_out is vector's:
 * both print "(n)".)
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_typmod_in);
Datum
vp_halfvec_typmod_in(PG_FUNCTION_ARGS)
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
				 errmsg("dimensions for type halfvec must be at least 1")));

	if (tl[0] > HALFVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type halfvec cannot exceed %d",
						HALFVEC_MAX_DIM)));

	PG_RETURN_INT32(tl[0]);
}

/*
 * halfvec_recv: read the binary format (uint16 dim, uint16 unused = 0,
 * then dim binary16 elements, all in network byte order).
 *
 * As in pgvector, the header fields are read unsigned: a count of 0x8000
 * or more is too large (54000), not negative.  The dimension count is
 * checked before allocating (at most 32 kB), and each element is read
 * with pq_getmsgint(), which reports a short message itself ("insufficient
 * data left in message", 08P01).  Trailing bytes are left for the caller
 * (COPY, Bind) to reject.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_recv);
Datum
vp_halfvec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	HalfVector *result;
	int			dim;
	int			unused;
	int			i;

	dim = (int) pq_getmsgint(buf, sizeof(uint16));
	unused = (int) pq_getmsgint(buf, sizeof(uint16));

	CheckDim(dim);
	CheckExpectedDim(typmod, dim);

	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected unused to be 0, not %d", unused)));

	result = VpInitHalfVector(dim);
	for (i = 0; i < dim; i++)
	{
		result->x[i] = (VpHalf) pq_getmsgint(buf, sizeof(uint16));
		CheckElement(result->x[i]);
	}

	PG_RETURN_HALFVEC_P(result);
}

/*
 * halfvec_send: write the binary format read by halfvec_recv.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_send);
Datum
vp_halfvec_send(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	enlargeStringInfo(&buf, (int) (2 * sizeof(uint16) + vec->dim * sizeof(VpHalf)));
	pq_sendint16(&buf, (uint16) vec->dim);
	pq_sendint16(&buf, (uint16) vec->unused);
	for (i = 0; i < vec->dim; i++)
		pq_sendint16(&buf, vec->x[i]);

	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * halfvec(halfvec, integer, boolean): the length-coercion cast, which
 * applies a column's typmod to a value.  The value is only checked.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec);
Datum
vp_halfvec(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	CheckExpectedDim(typmod, vec->dim);

	PG_RETURN_HALFVEC_P(vec);
}

/*
 * array_to_halfvec: the casts from integer[], real[], double precision[]
 * and numeric[].  The array must be one-dimensional and free of NULLs.
 *
 * Each element goes to float first (numeric through numeric_float4, which
 * reports values beyond float's range itself), then to half.  As in
 * pgvector, all elements are converted before any is checked, so a value
 * too large for a half is reported before a NaN or infinity anywhere in
 * the array.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_array_to_halfvec);
Datum
vp_array_to_halfvec(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	HalfVector *result;
	int			nelems;
	int			i;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D")));

	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls")));

	nelems = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	CheckDim(nelems);
	CheckExpectedDim(typmod, nelems);

	result = VpInitHalfVector(nelems);

	/* without NULLs, a fixed-width element array is a plain C array */
	switch (elemtype)
	{
		case INT4OID:
			{
				const int32 *src = (const int32 *) ARR_DATA_PTR(array);

				for (i = 0; i < nelems; i++)
					result->x[i] = FloatToHalfChecked((float) src[i]);
				break;
			}
		case FLOAT4OID:
			{
				const float4 *src = (const float4 *) ARR_DATA_PTR(array);

				for (i = 0; i < nelems; i++)
					result->x[i] = FloatToHalfChecked(src[i]);
				break;
			}
		case FLOAT8OID:
			{
				const float8 *src = (const float8 *) ARR_DATA_PTR(array);

				for (i = 0; i < nelems; i++)
					result->x[i] = FloatToHalfChecked((float) src[i]);
				break;
			}
		case NUMERICOID:
			{
				int16		typlen;
				bool		typbyval;
				char		typalign;
				Datum	   *elems;
				int			n;

				get_typlenbyvalalign(NUMERICOID, &typlen, &typbyval, &typalign);
				deconstruct_array(array, NUMERICOID, typlen, typbyval,
								  typalign, &elems, NULL, &n);
				for (i = 0; i < n; i++)
					result->x[i] = FloatToHalfChecked(DatumGetFloat4(DirectFunctionCall1(numeric_float4,
																						 elems[i])));
				pfree(elems);
				break;
			}
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("cannot convert an array of type %s to halfvec",
							format_type_be(elemtype))));
	}

	for (i = 0; i < nelems; i++)
		CheckElement(result->x[i]);

	PG_RETURN_HALFVEC_P(result);
}

/*
 * halfvec_to_float4: the cast from halfvec to real[].  Exact.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_to_float4);
Datum
vp_halfvec_to_float4(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	Datum	   *datums;
	ArrayType  *result;
	int			i;

	datums = (Datum *) palloc(sizeof(Datum) * vec->dim);
	for (i = 0; i < vec->dim; i++)
		datums[i] = Float4GetDatum(VpHalfToFloat(vec->x[i]));

	result = construct_array(datums, vec->dim, FLOAT4OID,
							 sizeof(float4), true, TYPALIGN_INT);
	pfree(datums);

	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * vector_to_halfvec: the cast from vector to halfvec.  Rounds each element
 * to the nearest half; an element beyond +-65504 (after rounding) is out
 * of range.  Implicit in pgvector, so a vector literal or parameter can be
 * compared with a halfvec column.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_to_halfvec);
Datum
vp_vector_to_halfvec(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	HalfVector *result;
	int			i;

	CheckDim(vec->dim);
	CheckExpectedDim(typmod, vec->dim);

	result = VpInitHalfVector(vec->dim);
	for (i = 0; i < vec->dim; i++)
		result->x[i] = FloatToHalfChecked(vec->x[i]);

	PG_RETURN_HALFVEC_P(result);
}

/*
 * halfvec_to_vector: the cast from halfvec to vector.  Exact, since every
 * half is a float; both types have the same dimension limit.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_to_vector);
Datum
vp_halfvec_to_vector(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Vector	   *result;
	int			i;

	CheckExpectedDim(typmod, vec->dim);

	result = VpInitVector(vec->dim);
	for (i = 0; i < vec->dim; i++)
		result->x[i] = VpHalfToFloat(vec->x[i]);

	PG_RETURN_VECTOR_P(result);
}

/*
 * halfvec_to_sparsevec: the cast from halfvec to sparsevec (implicit in
 * pgvector, since it loses nothing).  Zero elements, -0 included, are
 * dropped; the others widen exactly to float.  A halfvec always fits: its
 * at most HALFVEC_MAX_DIM dimensions are within both of sparsevec's limits
 * (SPARSEVEC_MAX_DIM dimensions, SPARSEVEC_MAX_NNZ elements), and its
 * elements are finite, so only the typmod can fail.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_to_sparsevec);
Datum
vp_halfvec_to_sparsevec(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	SparseVector *result;
	float4	   *values;
	int			nnz = 0;
	int			i;
	int			j;

	StaticAssertStmt(HALFVEC_MAX_DIM <= SPARSEVEC_MAX_NNZ,
					 "every halfvec must fit in a sparsevec");
	CheckExpectedDim(typmod, vec->dim);

	for (i = 0; i < vec->dim; i++)
	{
		if (!VpHalfIsZero(vec->x[i]))
			nnz++;
	}

	result = VpInitSparseVector(vec->dim, nnz);
	values = SparseVectorValues(result);
	for (i = 0, j = 0; i < vec->dim; i++)
	{
		if (!VpHalfIsZero(vec->x[i]))
		{
			result->indices[j] = i;
			values[j] = VpHalfToFloat(vec->x[i]);
			j++;
		}
	}

	PG_RETURN_SPARSEVEC_P(result);
}

/*
 * sparsevec_to_halfvec: the cast from sparsevec to halfvec (assignment
 * only, since it may round or fail).  halfvec's dimension limits apply,
 * with its messages, before anything is allocated; each stored value
 * rounds to the nearest half, a value beyond +-65504 is out of range and
 * one too small for a half becomes zero, as in the cast from vector.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_sparsevec_to_halfvec);
Datum
vp_sparsevec_to_halfvec(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	float4	   *values = SparseVectorValues(svec);
	HalfVector *result;
	int			i;

	CheckDim(svec->dim);
	CheckExpectedDim(typmod, svec->dim);

	result = VpInitHalfVector(svec->dim);
	for (i = 0; i < svec->nnz; i++)
	{
		int32		index = svec->indices[i];

		/* cannot happen for a valid sparsevec */
		if (index < 0 || index >= svec->dim)
			elog(ERROR, "sparsevec index %d out of range for %d dimensions",
				 index, svec->dim);
		result->x[index] = FloatToHalfChecked(values[i]);
	}

	PG_RETURN_HALFVEC_P(result);
}

/*
 * l2_distance(halfvec, halfvec): Euclidean distance, the square root (in
 * double) of the float sum of squares.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_l2_distance);
Datum
vp_halfvec_l2_distance(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8(sqrt((double) VpHalfKernelsGet()->l2_squared(a->x, b->x,
																   (size_t) a->dim)));
}

/*
 * halfvec_l2_squared_distance: squared Euclidean distance, which orders
 * like l2_distance without the square root.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_l2_squared_distance);
Datum
vp_halfvec_l2_squared_distance(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8((double) VpHalfKernelsGet()->l2_squared(a->x, b->x,
															  (size_t) a->dim));
}

/*
 * inner_product(halfvec, halfvec): the dot product.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_inner_product);
Datum
vp_halfvec_inner_product(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8((double) VpHalfKernelsGet()->inner_product(a->x, b->x,
																 (size_t) a->dim));
}

/*
 * halfvec_negative_inner_product: minus the dot product, so that a larger
 * product sorts first in an ascending ORDER BY (the <#> operator).
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_negative_inner_product);
Datum
vp_halfvec_negative_inner_product(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8(-(double) VpHalfKernelsGet()->inner_product(a->x, b->x,
																  (size_t) a->dim));
}

/*
 * cosine_distance(halfvec, halfvec): 1 - cos(angle).  The cosine is
 * computed in double from the three float sums as dot / sqrt(|a|^2 |b|^2)
 * and clamped to [-1, 1], so that parallel vectors give exactly 0 despite
 * rounding.  A zero vector has no direction: the result is NaN, as in
 * pgvector.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_cosine_distance);
Datum
vp_halfvec_cosine_distance(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	float		dot;
	float		norm_a;
	float		norm_b;
	double		similarity;

	CheckSameDims(a, b);

	VpHalfKernelsGet()->cosine_parts(a->x, b->x, (size_t) a->dim,
									 &dot, &norm_a, &norm_b);
	similarity = (double) dot / sqrt((double) norm_a * (double) norm_b);

	/* NaN fails both tests and passes through */
	if (similarity > 1.0)
		similarity = 1.0;
	else if (similarity < -1.0)
		similarity = -1.0;

	PG_RETURN_FLOAT8(1.0 - similarity);
}

/*
 * halfvec_spherical_distance: the angle between two unit vectors, divided
 * by pi (so in [0, 1]).  pgvector's ivfflat uses it for spherical k-means;
 * the inputs are assumed normalised, so only the dot product is computed,
 * clamped to [-1, 1] so that rounding cannot make acos() return NaN.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_spherical_distance);
Datum
vp_halfvec_spherical_distance(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	double		dot;

	CheckSameDims(a, b);

	dot = (double) VpHalfKernelsGet()->inner_product(a->x, b->x,
													  (size_t) a->dim);
	if (dot > 1.0)
		dot = 1.0;
	else if (dot < -1.0)
		dot = -1.0;

	PG_RETURN_FLOAT8(acos(dot) / M_PI);
}

/*
 * l1_distance(halfvec, halfvec): taxicab distance, the sum of absolute
 * differences.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_l1_distance);
Datum
vp_halfvec_l1_distance(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8((double) VpHalfKernelsGet()->l1(a->x, b->x,
													  (size_t) a->dim));
}

/*
 * vector_dims(halfvec): the number of dimensions.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_vector_dims);
Datum
vp_halfvec_vector_dims(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);

	PG_RETURN_INT32(vec->dim);
}

/*
 * Sum of squares of the elements, in double, in element order (pgvector's
 * order; each square of a half is exact in double, so only the additions
 * round, and for most data not even those).
 */
static double
SquaredNorm(const HalfVector *vec)
{
	double		sum = 0.0;
	int			i;

	for (i = 0; i < vec->dim; i++)
	{
		double		x = (double) VpHalfToFloat(vec->x[i]);

		sum += x * x;
	}

	return sum;
}

/*
 * l2_norm(halfvec): the Euclidean norm.  (pgvector names it l2_norm for
 * halfvec and vector_norm for vector.)
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_l2_norm);
Datum
vp_halfvec_l2_norm(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);

	PG_RETURN_FLOAT8(sqrt(SquaredNorm(vec)));
}

/*
 * l2_normalize(halfvec): the vector scaled to unit length.  Each element
 * is divided by the norm in double, rounded to float and then to half
 * (pgvector's two roundings).  A zero vector is returned as zeros.  No
 * element can exceed 1 in magnitude, but the overflow check stays as a
 * guard.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_l2_normalize);
Datum
vp_halfvec_l2_normalize(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	HalfVector *result = VpInitHalfVector(vec->dim);
	double		norm = sqrt(SquaredNorm(vec));
	int			i;

	if (norm > 0.0)
	{
		for (i = 0; i < vec->dim; i++)
			result->x[i] = VpFloatToHalf((float) ((double) VpHalfToFloat(vec->x[i]) / norm));

		for (i = 0; i < vec->dim; i++)
		{
			if (VpHalfIsInf(result->x[i]))
				float_overflow_error();
		}
	}

	PG_RETURN_HALFVEC_P(result);
}

/*
 * halfvec_add: elementwise sum (the + operator, and the transition and
 * combine function of sum(halfvec)).  Each sum is formed in float and
 * rounded to half once; a sum beyond the half range is an overflow error
 * ("value out of range: overflow"), as for float4.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_add);
Datum
vp_halfvec_add(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	HalfVector *result;
	int			i;

	CheckSameDims(a, b);
	result = VpInitHalfVector(a->dim);

	for (i = 0; i < a->dim; i++)
		result->x[i] = VpFloatToHalf(VpHalfToFloat(a->x[i]) +
									 VpHalfToFloat(b->x[i]));

	for (i = 0; i < a->dim; i++)
	{
		if (VpHalfIsInf(result->x[i]))
			float_overflow_error();
	}

	PG_RETURN_HALFVEC_P(result);
}

/*
 * halfvec_sub: elementwise difference (the - operator); see halfvec_add.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_sub);
Datum
vp_halfvec_sub(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	HalfVector *result;
	int			i;

	CheckSameDims(a, b);
	result = VpInitHalfVector(a->dim);

	for (i = 0; i < a->dim; i++)
		result->x[i] = VpFloatToHalf(VpHalfToFloat(a->x[i]) -
									 VpHalfToFloat(b->x[i]));

	for (i = 0; i < a->dim; i++)
	{
		if (VpHalfIsInf(result->x[i]))
			float_overflow_error();
	}

	PG_RETURN_HALFVEC_P(result);
}

/*
 * halfvec_mul: elementwise product (the * operator).  Besides overflow,
 * a product of two non-zero elements that rounds to a half zero is an
 * underflow error ("value out of range: underflow"), as for float4.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_mul);
Datum
vp_halfvec_mul(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	HalfVector *result;
	int			i;

	CheckSameDims(a, b);
	result = VpInitHalfVector(a->dim);

	for (i = 0; i < a->dim; i++)
		result->x[i] = VpFloatToHalf(VpHalfToFloat(a->x[i]) *
									 VpHalfToFloat(b->x[i]));

	for (i = 0; i < a->dim; i++)
	{
		if (VpHalfIsInf(result->x[i]))
			float_overflow_error();
		if (VpHalfIsZero(result->x[i]) &&
			!VpHalfIsZero(a->x[i]) && !VpHalfIsZero(b->x[i]))
			float_underflow_error();
	}

	PG_RETURN_HALFVEC_P(result);
}

/*
 * halfvec_concat: the || operator.  The dimensions need not match, but
 * the result must fit the limit.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_concat);
Datum
vp_halfvec_concat(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	HalfVector *result;

	CheckDim(a->dim + b->dim);
	result = VpInitHalfVector(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(VpHalf) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(VpHalf) * b->dim);

	PG_RETURN_HALFVEC_P(result);
}

/*
 * binary_quantize(halfvec): a bit string with bit i set when element i is
 * greater than zero (so zero and -0 give 0), for Hamming or Jaccard
 * search on the sign pattern.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_binary_quantize);
Datum
vp_halfvec_binary_quantize(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	VarBit	   *result = VpInitBitVector(vec->dim);
	bits8	   *bits = VARBITS(result);
	int			i;

	for (i = 0; i < vec->dim; i++)
	{
		if (VpHalfToFloat(vec->x[i]) > 0.0f)
			bits[i / 8] |= (bits8) (0x80 >> (i % 8));
	}

	PG_RETURN_VARBIT_P(result);
}

/*
 * subvector(halfvec, start, count): count elements from 1-based position
 * start, with substring()'s rules (see vector.c's subvector); int64
 * arithmetic so that extreme arguments cannot overflow.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_subvector);
Datum
vp_halfvec_subvector(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	int64		start = PG_GETARG_INT32(1);
	int64		count = PG_GETARG_INT32(2);
	int64		end;
	HalfVector *result;

	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension")));

	/* the range is [start, end), clipped to [1, dim + 1) */
	end = Min(start + count, (int64) vec->dim + 1);
	start = Max(start, 1);

	if (start > vec->dim || end <= start)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension")));

	result = VpInitHalfVector((int) (end - start));
	memcpy(result->x, vec->x + (start - 1), sizeof(VpHalf) * (end - start));

	PG_RETURN_HALFVEC_P(result);
}

/*
 * Three-way comparison for the btree operator class: element by element
 * as numbers (so -0 equals 0), then the shorter vector first when one is
 * a prefix of the other, as PostgreSQL orders arrays.  Elements are never
 * NaN, so this is a total order.
 */
static int
CompareHalfvecs(const HalfVector *a, const HalfVector *b)
{
	int			dim = Min(a->dim, b->dim);
	int			i;

	for (i = 0; i < dim; i++)
	{
		float		x = VpHalfToFloat(a->x[i]);
		float		y = VpHalfToFloat(b->x[i]);

		if (x < y)
			return -1;
		if (x > y)
			return 1;
	}

	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

/*
 * Compare the two halfvec arguments of a comparison function and free any
 * detoasted copies, since btree may call these many times in one memory
 * context (e.g. while sorting for an index build).
 */
static int
CompareHalfvecArgs(FunctionCallInfo fcinfo)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	int			cmp = CompareHalfvecs(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);

	return cmp;
}

/*
 * halfvec_lt: the < operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_lt);
Datum
vp_halfvec_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareHalfvecArgs(fcinfo) < 0);
}

/*
 * halfvec_le: the <= operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_le);
Datum
vp_halfvec_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareHalfvecArgs(fcinfo) <= 0);
}

/*
 * halfvec_eq: the = operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_eq);
Datum
vp_halfvec_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareHalfvecArgs(fcinfo) == 0);
}

/*
 * halfvec_ne: the <> operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_ne);
Datum
vp_halfvec_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareHalfvecArgs(fcinfo) != 0);
}

/*
 * halfvec_ge: the >= operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_ge);
Datum
vp_halfvec_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareHalfvecArgs(fcinfo) >= 0);
}

/*
 * halfvec_gt: the > operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_gt);
Datum
vp_halfvec_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareHalfvecArgs(fcinfo) > 0);
}

/*
 * halfvec_cmp: btree support function 1 of halfvec_ops.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_cmp);
Datum
vp_halfvec_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(CompareHalfvecArgs(fcinfo));
}

/*
 * Validate an avg(halfvec) state array and return its data: a 1-D float8
 * array without NULLs holding {count, sum_1, ..., sum_dim}; '{0}' is the
 * initial state.  The state functions are SQL-callable, so a state may
 * come from a user and must be checked before its data is read.  The
 * layout is vector's, which is why halfvec_combine is vector_combine.
 *
 * As in vector.c, the primary message and SQLSTATE are pgvector's
 * ("<function>: expected state array", XX000) although our style keeps
 * function names out of messages: a drop-in reports what pgvector reports.
 * The detail is ours.
 */
static float8 *
CheckStateArray(ArrayType *state, const char *funcname)
{
	if (ARR_NDIM(state) != 1 ||
		ARR_DIMS(state)[0] < 1 ||
		ARR_HASNULL(state) ||
		ARR_ELEMTYPE(state) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg_internal("%s: expected state array", funcname),
				 errdetail("The state must be a one-dimensional double precision array without nulls.")));

	return (float8 *) ARR_DATA_PTR(state);
}

/*
 * Allocate a zeroed state array for dim dimensions (dim + 1 elements) in
 * the current memory context, as vector.c does.
 */
static ArrayType *
NewStateArray(int dim)
{
	int			nelems = dim + 1;
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(float8) * nelems;
	ArrayType  *state = (ArrayType *) palloc0(nbytes);

	SET_VARSIZE(state, nbytes);
	state->ndim = 1;
	state->dataoffset = 0;
	state->elemtype = FLOAT8OID;
	ARR_DIMS(state)[0] = nelems;
	ARR_LBOUND(state)[0] = 1;

	return state;
}

/*
 * halfvec_accum: transition function of avg(halfvec).  Adds the elements
 * (exact in double) to the per-dimension sums and counts the value.
 *
 * When called as an aggregate the state is ours and is updated in place,
 * as float8_accum does; called directly from SQL it returns a new array.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_accum);
Datum
vp_halfvec_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	HalfVector *vec = PG_GETARG_HALFVEC_P(1);
	float8	   *sums = CheckStateArray(state, "halfvec_accum");
	int			dim = STATE_DIM(state);
	ArrayType  *result;
	float8	   *rsums;
	int			i;

	if (dim == 0)
	{
		/* first value: it fixes the dimension count */
		result = NewStateArray(vec->dim);
		rsums = (float8 *) ARR_DATA_PTR(result);
		rsums[0] = sums[0] + 1.0;
		for (i = 0; i < vec->dim; i++)
			rsums[i + 1] = (float8) VpHalfToFloat(vec->x[i]);
		PG_RETURN_ARRAYTYPE_P(result);
	}

	CheckExpectedDim(dim, vec->dim);

	if (AggCheckCallContext(fcinfo, NULL))
		result = state;
	else
	{
		result = NewStateArray(dim);
		memcpy(ARR_DATA_PTR(result), sums, sizeof(float8) * (dim + 1));
	}
	rsums = (float8 *) ARR_DATA_PTR(result);

	rsums[0] += 1.0;
	for (i = 0; i < dim; i++)
	{
		rsums[i + 1] += (float8) VpHalfToFloat(vec->x[i]);
		if (isinf(rsums[i + 1]))
			float_overflow_error();
	}

	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * halfvec_avg: final function of avg(halfvec): the sums divided by the
 * count, rounded to float and then to half.  No rows give NULL.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_halfvec_avg);
Datum
vp_halfvec_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	float8	   *sums = CheckStateArray(state, "halfvec_avg");
	int			dim = STATE_DIM(state);
	float8		count = sums[0];
	HalfVector *result;
	int			i;

	if (count == 0.0)
		PG_RETURN_NULL();

	CheckDim(dim);
	result = VpInitHalfVector(dim);
	for (i = 0; i < dim; i++)
	{
		result->x[i] = FloatToHalfChecked((float) (sums[i + 1] / count));
		CheckElement(result->x[i]);
	}

	PG_RETURN_HALFVEC_P(result);
}

/*
 * The hnsw payload of a halfvec: its elements, already in the
 * VP_ELEM_FLOAT16 layout (vptype.h), so the payload points into the datum.
 */
static void
HalfvecDatumToPayload(Datum value, VpPayload *payload)
{
	HalfVector *vec = DatumGetHalfVector(value);

	payload->kind = VP_ELEM_FLOAT16;
	payload->dims = vec->dim;
	payload->nnz = 0;
	payload->data = vec->x;
	payload->len = sizeof(VpHalf) * (Size) vec->dim;
}

/*
 * A halfvec holding a payload, for re-ranking with the SQL distance
 * functions.
 */
static Datum
HalfvecPayloadToDatum(const VpPayload *payload)
{
	HalfVector *result;

	Assert(payload->kind == VP_ELEM_FLOAT16);
	Assert(payload->len == sizeof(VpHalf) * (Size) payload->dims);
	result = VpInitHalfVector(payload->dims);
	memcpy(result->x, payload->data, payload->len);

	return PointerGetDatum(result);
}

const VpTypeSupport vp_halfvec_type_support = {
	.kind = VP_ELEM_FLOAT16,
	.type_name = "halfvec",
	.max_dims = HALFVEC_MAX_DIM,
	.max_nnz = 0,
	.datum_to_payload = HalfvecDatumToPayload,
	.payload_to_datum = HalfvecPayloadToDatum
};

/*
 * vecpersist_hnsw_halfvec_support: support function 2 of the halfvec
 * operator classes of hnsw; tells the access method how to store halfvecs.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_halfvec_support);
Datum
vp_hnsw_halfvec_support(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_POINTER(&vp_halfvec_type_support);
}
