/*-------------------------------------------------------------------------
 *
 * vector.c
 *	  The vector data type: I/O, typmod, send/recv, casts, operators,
 *	  functions and aggregate support.
 *
 * vecpersist's vector is a drop-in for pgvector's: the same text format
 * ("[1,2,3]"), the same binary format (int16 dim, int16 zero, float4 * dim,
 * network byte order), the same limits (1..VECTOR_MAX_DIM dimensions, finite
 * elements only) and the same error messages and SQLSTATEs, so that client
 * libraries and applications written for pgvector keep working.
 *
 * Distances are computed by the kernels in vpdistance.c, which are shared
 * with the in-memory HNSW graph; this file adds only the SQL-facing checks
 * and conversions around them.  Elementwise arithmetic and comparisons are
 * simple loops and live here.
 *
 * Every SQL-callable function is bound by name from the install script
 * (AS 'MODULE_PATHNAME', 'vp_...'); none keeps state between calls.
 *
 * IDENTIFICATION
 *	  src/vector.c
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
#include "vecpersist.h"
#include "vector.h"
#include "vpdistance.h"
#include "vptype.h"

/* number of dimensions summed in an aggregate state array */
#define STATE_DIM(a)	(ARR_DIMS(a)[0] - 1)

static void InvalidVectorSyntax(const char *lit, const char *detail)
			pg_attribute_noreturn();

/*
 * Raise an error unless both operands have the same number of dimensions.
 * Every binary operation except comparison requires this.
 */
static inline void
CheckSameDims(const Vector *a, const Vector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d",
						a->dim, b->dim)));
}

/*
 * Raise an error if a vector of dim dimensions does not fit the type
 * modifier typmod (-1 means "any").  Used by input, recv, casts and the
 * aggregate state checks, which all reuse the typmod wording.
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
				 errmsg("vector must have at least 1 dimension")));

	if (dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions",
						VECTOR_MAX_DIM)));
}

/*
 * Raise an error for an element a vector may not hold.  Keeping NaN and
 * infinity out means distances and comparisons never see them from stored
 * data (only from arithmetic overflow inside a distance).
 */
static inline void
CheckElement(float value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in vector")));

	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in vector")));
}

/*
 * Whitespace accepted around the elements of a vector literal: the six
 * characters isspace() accepts in the C locale.  PostgreSQL 15's
 * scanner_isspace() lacks '\v', and pgvector accepts it, so we spell the
 * set out rather than depend on the server version.
 */
static inline bool
VectorIsSpace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' ||
		ch == '\r' || ch == '\v' || ch == '\f';
}

/*
 * Allocate a zeroed vector of dim dimensions in the current memory context,
 * with its varlena header and dimension count set.  The caller has checked
 * dim with CheckDim() (or otherwise knows it to be valid) and fills x[].
 */
Vector *
VpInitVector(int dim)
{
	Size		size = VECTOR_SIZE(dim);
	Vector	   *result;

	Assert(dim >= 1 && dim <= VECTOR_MAX_DIM);

	result = (Vector *) palloc0(size);
	SET_VARSIZE(result, size);
	result->dim = (int16) dim;

	return result;
}

/*
 * Report a malformed vector literal.  All syntax errors share the primary
 * message (pgvector's), and differ only in the detail, which may be NULL.
 */
static void
InvalidVectorSyntax(const char *lit, const char *detail)
{
	if (detail)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type vector: \"%s\"", lit),
				 errdetail_internal("%s", detail)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type vector: \"%s\"", lit)));
}

/*
 * vector_in: parse "[x1,x2,...]" into a vector.
 *
 * Whitespace is allowed around every token.  Each element is parsed with
 * strtof(), as float4in does, so that a literal rounds once, directly to
 * float; the backend runs with LC_NUMERIC=C, so ',' is never a decimal
 * separator.  The typmod argument is the target column's (or -1).
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_in);
Datum
vp_vector_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	char	   *pt = lit;
	char	   *scan;
	int			capacity = 1;
	int			dim = 0;
	Vector	   *result;

	while (VectorIsSpace(*pt))
		pt++;

	if (*pt != '[')
		InvalidVectorSyntax(lit, _("Vector contents must start with \"[\"."));
	pt++;

	while (VectorIsSpace(*pt))
		pt++;

	if (*pt == ']')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));

	/*
	 * Every element after the first follows a comma, so the commas before
	 * the first ']' bound the number of elements.  Sizing the result from
	 * them lets us parse straight into it, instead of into a 64 kB scratch
	 * array on the stack.  Past VECTOR_MAX_DIM the loop below errors out
	 * before storing, so the capacity is capped there.
	 */
	for (scan = pt; *scan != '\0' && *scan != ']'; scan++)
	{
		if (*scan == ',' && capacity < VECTOR_MAX_DIM)
			capacity++;
	}
	result = VpInitVector(capacity);

	for (;;)
	{
		char	   *end;
		float		val;

		if (dim == VECTOR_MAX_DIM)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("vector cannot have more than %d dimensions",
							VECTOR_MAX_DIM)));

		while (VectorIsSpace(*pt))
			pt++;

		if (*pt == '\0')
			InvalidVectorSyntax(lit, _("Unexpected end of input."));

		errno = 0;
		val = strtof(pt, &end);

		if (end == pt)
			InvalidVectorSyntax(lit, NULL);

		/* overflow is an error; underflow rounds to zero (float4in rejects it) */
		if (errno == ERANGE && isinf(val))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%s\" is out of range for type vector",
							pnstrdup(pt, (Size) (end - pt)))));

		CheckElement(val);

		/* cannot happen, given how capacity was counted */
		if (dim >= capacity)
			elog(ERROR, "vector literal has more elements than separators allow");
		result->x[dim++] = val;

		pt = end;
		while (VectorIsSpace(*pt))
			pt++;

		if (*pt == ',')
			pt++;
		else if (*pt == ']')
		{
			pt++;
			break;
		}
		else if (*pt == '\0')
			InvalidVectorSyntax(lit, _("Unexpected end of input."));
		else
			InvalidVectorSyntax(lit,
								_("Vector contents must be separated by \",\"."));
	}

	while (VectorIsSpace(*pt))
		pt++;

	if (*pt != '\0')
		InvalidVectorSyntax(lit, _("Junk after closing right brace."));

	CheckExpectedDim(typmod, dim);

	/* dim == capacity here; set both anyway so the two cannot drift */
	result->dim = (int16) dim;
	SET_VARSIZE(result, VECTOR_SIZE(dim));

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_out: format a vector as "[x1,x2,...]".
 *
 * Each element is written as the shortest decimal that reads back as the
 * same float (what float4out prints with extra_float_digits > 0), so text
 * round trips are exact.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_out);
Datum
vp_vector_out(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	char	   *buf;
	char	   *pt;
	int			i;

	/*
	 * An element takes at most FLOAT_SHORTEST_DECIMAL_LEN - 1 characters,
	 * plus one separator; then the brackets and the terminator.
	 */
	buf = (char *) palloc((Size) vec->dim * FLOAT_SHORTEST_DECIMAL_LEN + 3);
	pt = buf;

	*pt++ = '[';
	for (i = 0; i < vec->dim; i++)
	{
		if (i > 0)
			*pt++ = ',';
		pt += float_to_shortest_decimal_bufn(vec->x[i], pt);
	}
	*pt++ = ']';
	*pt = '\0';

	PG_FREE_IF_COPY(vec, 0);
	PG_RETURN_CSTRING(buf);
}

/*
 * vector_typmod_in: accept vector(n) for 1 <= n <= VECTOR_MAX_DIM.  The
 * typmod is the dimension count itself.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_typmod_in);
Datum
vp_vector_typmod_in(PG_FUNCTION_ARGS)
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
				 errmsg("dimensions for type vector must be at least 1")));

	if (tl[0] > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector cannot exceed %d",
						VECTOR_MAX_DIM)));

	PG_RETURN_INT32(tl[0]);
}

/*
 * vector_typmod_out: print the typmod as "(n)", or nothing for -1, so that
 * format_type() shows vector(3).
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_typmod_out);
Datum
vp_vector_typmod_out(PG_FUNCTION_ARGS)
{
	int32		typmod = PG_GETARG_INT32(0);

	if (typmod >= 0)
		PG_RETURN_CSTRING(psprintf("(%d)", typmod));
	PG_RETURN_CSTRING(pstrdup(""));
}

/*
 * vector_recv: read the binary format (int16 dim, int16 unused = 0,
 * then dim float4, all in network byte order).
 *
 * The input comes from the client, so everything is checked before use:
 * the dimension count before allocating, and the remaining length before
 * reading elements, so a short message is a clean error.  Trailing bytes are
 * left for the caller (COPY, Bind) to reject, as for every type.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_recv);
Datum
vp_vector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	Vector	   *result;
	int			dim;
	int			unused;
	int			i;

	/*
	 * Short input is reported as pq_getmsgint and pq_getmsgfloat4 would
	 * report it, as pgvector lets them do, but with a detail saying what
	 * was missing.
	 */
	if (buf->len - buf->cursor < 2 * (int) sizeof(int16))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("insufficient data left in message"),
				 errdetail("The binary header needs %d bytes, found %d.",
						   2 * (int) sizeof(int16), buf->len - buf->cursor)));

	/*
	 * Both fields are signed int16, as in pgvector, which reads them into
	 * int16 variables: a count of 0x8000 or more is negative ("must have at
	 * least 1 dimension", 22000), not too large (54000), and a nonzero
	 * unused field is reported with its sign.
	 */
	dim = (int16) pq_getmsgint(buf, sizeof(int16));
	unused = (int16) pq_getmsgint(buf, sizeof(int16));

	CheckDim(dim);
	CheckExpectedDim(typmod, dim);

	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected unused to be 0, not %d", unused)));

	if (buf->len - buf->cursor < dim * (int) sizeof(float4))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("insufficient data left in message"),
				 errdetail("%d dimensions need %d bytes of elements, found %d.",
						   dim, dim * (int) sizeof(float4),
						   buf->len - buf->cursor)));

	result = VpInitVector(dim);
	for (i = 0; i < dim; i++)
	{
		result->x[i] = pq_getmsgfloat4(buf);
		CheckElement(result->x[i]);
	}

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_send: write the binary format read by vector_recv.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_send);
Datum
vp_vector_send(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	enlargeStringInfo(&buf, (int) (2 * sizeof(int16) + vec->dim * sizeof(float4)));
	pq_sendint16(&buf, (uint16) vec->dim);
	pq_sendint16(&buf, (uint16) vec->unused);
	for (i = 0; i < vec->dim; i++)
		pq_sendfloat4(&buf, vec->x[i]);

	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * vector(vector, integer, boolean): the length-coercion cast, which applies
 * a column's typmod to a value.  The value is never changed, only checked.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector);
Datum
vp_vector(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	CheckExpectedDim(typmod, vec->dim);

	PG_RETURN_VECTOR_P(vec);
}

/*
 * array_to_vector: the casts from integer[], real[], double precision[] and
 * numeric[].  The array must be one-dimensional and free of NULLs; each
 * element is rounded to float4 and must then be finite.
 *
 * Fixed-width element types are read straight from the array's data area
 * (without NULLs it is a plain C array); numeric goes through numeric_float4,
 * which reports values beyond float4's range itself.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_array_to_vector);
Datum
vp_array_to_vector(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	Vector	   *result;
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

	result = VpInitVector(nelems);

	switch (elemtype)
	{
		case INT4OID:
			{
				const int32 *src = (const int32 *) ARR_DATA_PTR(array);

				for (i = 0; i < nelems; i++)
					result->x[i] = (float) src[i];
				break;
			}
		case FLOAT4OID:
			{
				const float4 *src = (const float4 *) ARR_DATA_PTR(array);

				for (i = 0; i < nelems; i++)
					result->x[i] = src[i];
				break;
			}
		case FLOAT8OID:
			{
				const float8 *src = (const float8 *) ARR_DATA_PTR(array);

				for (i = 0; i < nelems; i++)
					result->x[i] = (float) src[i];
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
					result->x[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4,
																	  elems[i]));
				pfree(elems);
				break;
			}
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("cannot convert an array of type %s to vector",
							format_type_be(elemtype))));
	}

	for (i = 0; i < nelems; i++)
		CheckElement(result->x[i]);

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_to_float4: the cast from vector to real[].  Lossless, which is why
 * it can be implicit.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_to_float4);
Datum
vp_vector_to_float4(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	Datum	   *datums;
	ArrayType  *result;
	int			i;

	datums = (Datum *) palloc(sizeof(Datum) * vec->dim);
	for (i = 0; i < vec->dim; i++)
		datums[i] = Float4GetDatum(vec->x[i]);

	result = construct_array(datums, vec->dim, FLOAT4OID,
							 sizeof(float4), true, TYPALIGN_INT);
	pfree(datums);

	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * The distances of the ORDER BY operators, as the SQL functions below and
 * the hnsw index's re-ranking (VectorPayloadDistance) both compute them:
 * one piece of code, so that the index orders rows exactly as an ORDER BY
 * of the operator would.
 */
static inline double
VectorL2Distance(const float *a, const float *b, int dims)
{
	return sqrt((double) vp_kernels.l2_squared(a, b, (size_t) dims));
}

static inline double
VectorNegativeInnerProduct(const float *a, const float *b, int dims)
{
	return -(double) vp_kernels.inner_product(a, b, (size_t) dims);
}

/*
 * Rounding can push the cosine slightly outside [-1, 1]; the distance is
 * clamped to [0, 2] so that parallel vectors give exactly 0 (NaN, from a
 * zero vector, fails both comparisons and passes through).
 */
static inline double
VectorCosineDistance(const float *a, const float *b, int dims)
{
	float		dot;
	float		norm_a;
	float		norm_b;
	double		distance;

	vp_kernels.cosine_parts(a, b, (size_t) dims, &dot, &norm_a, &norm_b);
	distance = VpCosineFromParts(dot, norm_a, norm_b);
	if (distance < 0.0)
		distance = 0.0;
	else if (distance > 2.0)
		distance = 2.0;
	return distance;
}

static inline double
VectorL1Distance(const float *a, const float *b, int dims)
{
	return (double) vp_kernels.l1(a, b, (size_t) dims);
}

/*
 * l2_distance: Euclidean distance, the square root (in double) of the
 * kernel's float sum of squares.  Overflow in the sum gives Infinity, as in
 * pgvector.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_l2_distance);
Datum
vp_l2_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8(VectorL2Distance(a->x, b->x, a->dim));
}

/*
 * vector_l2_squared_distance: squared Euclidean distance.  Orders like
 * l2_distance without the square root, which is why index support uses it.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_l2_squared_distance);
Datum
vp_vector_l2_squared_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8((double) vp_kernels.l2_squared(a->x, b->x,
													(size_t) a->dim));
}

/*
 * inner_product: the dot product of two vectors.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_inner_product);
Datum
vp_inner_product(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8((double) vp_kernels.inner_product(a->x, b->x,
													   (size_t) a->dim));
}

/*
 * vector_negative_inner_product: minus the dot product, so that "larger
 * product" sorts first in an ascending ORDER BY (the <#> operator).
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_negative_inner_product);
Datum
vp_vector_negative_inner_product(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8(VectorNegativeInnerProduct(a->x, b->x, a->dim));
}

/*
 * cosine_distance: 1 - cos(angle).  A zero vector has no direction, so the
 * result is NaN, as in pgvector.  Rounding can push the cosine slightly
 * outside [-1, 1]; the distance is clamped to [0, 2] so that parallel
 * vectors give exactly 0 (NaN fails both comparisons and passes through).
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_cosine_distance);
Datum
vp_cosine_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8(VectorCosineDistance(a->x, b->x, a->dim));
}

/*
 * vector_spherical_distance: the angle between two unit vectors, divided
 * by pi (so in [0, 1]).  pgvector's ivfflat uses it for spherical k-means;
 * we have no ivfflat but keep the function so that scripts and schemas
 * naming it still work.  The inputs are assumed normalised, so only the
 * dot product is computed, clamped to [-1, 1] so that rounding cannot make
 * acos() return NaN.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_spherical_distance);
Datum
vp_vector_spherical_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	double		dot;

	CheckSameDims(a, b);

	dot = (double) vp_kernels.inner_product(a->x, b->x, (size_t) a->dim);
	if (dot > 1.0)
		dot = 1.0;
	else if (dot < -1.0)
		dot = -1.0;

	PG_RETURN_FLOAT8(acos(dot) / M_PI);
}

/*
 * l1_distance: taxicab distance, the sum of absolute differences.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_l1_distance);
Datum
vp_l1_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckSameDims(a, b);

	PG_RETURN_FLOAT8(VectorL1Distance(a->x, b->x, a->dim));
}

/*
 * vector_dims: the number of dimensions.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_dims);
Datum
vp_vector_dims(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);

	PG_RETURN_INT32(vec->dim);
}

/*
 * Sum of squares of the elements, accumulated in double.  Unlike the float
 * kernels this cannot overflow for finite float elements, so norms of
 * vectors with large elements stay finite.
 */
static double
SquaredNorm(const Vector *vec)
{
	double		sum = 0.0;
	int			i;

	for (i = 0; i < vec->dim; i++)
		sum += (double) vec->x[i] * (double) vec->x[i];

	return sum;
}

/*
 * vector_norm: the Euclidean (L2) norm.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_norm);
Datum
vp_vector_norm(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);

	PG_RETURN_FLOAT8(sqrt(SquaredNorm(vec)));
}

/*
 * l2_normalize: the vector scaled to unit length.  A zero vector has no
 * direction and is returned unchanged (all zeros), as pgvector does.  Each
 * result element has magnitude at most 1, so no overflow check is needed.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_l2_normalize);
Datum
vp_l2_normalize(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	Vector	   *result = VpInitVector(vec->dim);
	double		norm = sqrt(SquaredNorm(vec));
	int			i;

	if (norm > 0.0)
	{
		for (i = 0; i < vec->dim; i++)
			result->x[i] = (float) ((double) vec->x[i] / norm);
	}

	PG_RETURN_VECTOR_P(result);
}

/*
 * binary_quantize(vector): a bit string with bit i set when element i is
 * greater than zero (so zero and -0 give 0), for Hamming or Jaccard search
 * on the sign pattern.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_binary_quantize);
Datum
vp_binary_quantize(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	VarBit	   *result = VpInitBitVector(vec->dim);
	bits8	   *bits = VARBITS(result);
	int			i;

	for (i = 0; i < vec->dim; i++)
	{
		if (vec->x[i] > 0.0f)
			bits[i / 8] |= (bits8) (0x80 >> (i % 8));
	}

	PG_RETURN_VARBIT_P(result);
}

/*
 * vector_add: elementwise sum (the + operator, and the transition and
 * combine function of sum(vector)).  The arithmetic loop is kept free of
 * branches so the compiler can vectorise it; overflow is checked after.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_add);
Datum
vp_vector_add(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;
	int			i;

	CheckSameDims(a, b);
	result = VpInitVector(a->dim);

	for (i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] + b->x[i];

	for (i = 0; i < a->dim; i++)
	{
		if (isinf(result->x[i]))
			float_overflow_error();
	}

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_sub: elementwise difference (the - operator); see vector_add.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_sub);
Datum
vp_vector_sub(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;
	int			i;

	CheckSameDims(a, b);
	result = VpInitVector(a->dim);

	for (i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] - b->x[i];

	for (i = 0; i < a->dim; i++)
	{
		if (isinf(result->x[i]))
			float_overflow_error();
	}

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_mul: elementwise product (the * operator).  Besides overflow, a
 * product of two non-zero elements that rounds to zero is an underflow
 * error, as for float4 multiplication.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_mul);
Datum
vp_vector_mul(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;
	int			i;

	CheckSameDims(a, b);
	result = VpInitVector(a->dim);

	for (i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] * b->x[i];

	for (i = 0; i < a->dim; i++)
	{
		if (isinf(result->x[i]))
			float_overflow_error();
		if (result->x[i] == 0.0f && a->x[i] != 0.0f && b->x[i] != 0.0f)
			float_underflow_error();
	}

	PG_RETURN_VECTOR_P(result);
}

/*
 * vector_concat: the || operator.  The dimensions need not match, but the
 * result must fit the limit.  Without it, vector || unknown resolved to
 * PostgreSQL's text concatenation and silently returned text.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_concat);
Datum
vp_vector_concat(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	CheckDim(a->dim + b->dim);
	result = VpInitVector(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(float) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);

	PG_RETURN_VECTOR_P(result);
}

/*
 * subvector(vec, start, count): count elements from 1-based position start,
 * with substring()'s rules: a range reaching before 1 or past the end is
 * cut to the vector; what is left must be at least one element.  Arithmetic
 * is done in int64 so extreme arguments cannot overflow.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_subvector);
Datum
vp_subvector(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	int64		start = PG_GETARG_INT32(1);
	int64		count = PG_GETARG_INT32(2);
	int64		end;
	Vector	   *result;

	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));

	/* the range is [start, end), clipped to [1, dim + 1) */
	end = Min(start + count, (int64) vec->dim + 1);
	start = Max(start, 1);

	if (start > vec->dim || end <= start)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));

	result = VpInitVector((int) (end - start));
	memcpy(result->x, vec->x + (start - 1), sizeof(float) * (end - start));

	PG_RETURN_VECTOR_P(result);
}

/*
 * Three-way comparison for the btree operator class: element by element,
 * then the shorter vector first when one is a prefix of the other (the
 * order PostgreSQL uses for arrays).  Elements are never NaN, so float
 * comparison is a total order here, with -0 equal to 0.
 */
static int
CompareVectors(const Vector *a, const Vector *b)
{
	int			dim = Min(a->dim, b->dim);
	int			i;

	for (i = 0; i < dim; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}

	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

/*
 * Compare the two vector arguments of a comparison function and free any
 * detoasted copies, since btree may call these many times in one memory
 * context (e.g. while sorting for an index build).
 */
static int
CompareVectorArgs(FunctionCallInfo fcinfo)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	int			cmp = CompareVectors(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);

	return cmp;
}

/*
 * vector_lt: the < operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_lt);
Datum
vp_vector_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareVectorArgs(fcinfo) < 0);
}

/*
 * vector_le: the <= operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_le);
Datum
vp_vector_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareVectorArgs(fcinfo) <= 0);
}

/*
 * vector_eq: the = operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_eq);
Datum
vp_vector_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareVectorArgs(fcinfo) == 0);
}

/*
 * vector_ne: the <> operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_ne);
Datum
vp_vector_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareVectorArgs(fcinfo) != 0);
}

/*
 * vector_ge: the >= operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_ge);
Datum
vp_vector_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareVectorArgs(fcinfo) >= 0);
}

/*
 * vector_gt: the > operator.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_gt);
Datum
vp_vector_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CompareVectorArgs(fcinfo) > 0);
}

/*
 * vector_cmp: btree support function 1 of vector_ops.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_cmp);
Datum
vp_vector_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(CompareVectorArgs(fcinfo));
}

/*
 * Validate an avg(vector) state array and return its data: a 1-D float8
 * array without NULLs holding {count, sum_1, ..., sum_dim}; '{0}' (dim 0) is
 * the initial state.  The state functions are SQL-callable, so a state may
 * come from a user and must be checked before its data is read.
 *
 * The primary message and SQLSTATE are pgvector's ("<function>: expected
 * state array", XX000), against our style of no function names in
 * messages: a drop-in reports what pgvector reports (issue 15).  The detail
 * is ours.
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
 * Allocate a zeroed state array for dim dimensions (dim + 1 elements) in the
 * current memory context.  Built by hand, like construct_array() would for
 * a NULL-free array, to avoid an intermediate Datum array.
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
 * vector_accum: transition function of avg(vector).  Adds the vector to the
 * per-dimension sums in double and counts it.
 *
 * When called as an aggregate the state is ours and is updated in place, as
 * float8_accum does, to avoid copying it for every row; called directly
 * from SQL it returns a new array.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_accum);
Datum
vp_vector_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	Vector	   *vec = PG_GETARG_VECTOR_P(1);
	float8	   *sums = CheckStateArray(state, "vector_accum");
	int			dim = STATE_DIM(state);
	ArrayType  *result;
	float8	   *rsums;
	int			i;

	if (dim == 0)
	{
		/* first vector: it fixes the dimension count */
		result = NewStateArray(vec->dim);
		rsums = (float8 *) ARR_DATA_PTR(result);
		rsums[0] = sums[0] + 1.0;
		for (i = 0; i < vec->dim; i++)
			rsums[i + 1] = (float8) vec->x[i];
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
		rsums[i + 1] += (float8) vec->x[i];
		if (isinf(rsums[i + 1]))
			float_overflow_error();
	}

	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * vector_combine: combine function of avg(vector), merging two partial
 * states from parallel workers.  An initial state ('{0}', dimension 0) on
 * either side contributes nothing but its count.  Updates the first state
 * in place when called as an aggregate, like vector_accum.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_combine);
Datum
vp_vector_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *state1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *state2 = PG_GETARG_ARRAYTYPE_P(1);
	float8	   *sums1 = CheckStateArray(state1, "vector_combine");
	float8	   *sums2 = CheckStateArray(state2, "vector_combine");
	int			dim1 = STATE_DIM(state1);
	int			dim2 = STATE_DIM(state2);
	ArrayType  *result;
	float8	   *rsums;
	int			i;

	if (dim1 == 0)
	{
		/* take the second state (if it has sums) with the combined count */
		if (dim2 > 0)
			CheckDim(dim2);
		result = NewStateArray(dim2);
		rsums = (float8 *) ARR_DATA_PTR(result);
		memcpy(rsums, sums2, sizeof(float8) * (dim2 + 1));
		rsums[0] = sums1[0] + sums2[0];
		PG_RETURN_ARRAYTYPE_P(result);
	}

	CheckDim(dim1);
	if (dim2 > 0)
		CheckExpectedDim(dim1, dim2);

	if (AggCheckCallContext(fcinfo, NULL))
		result = state1;
	else
	{
		result = NewStateArray(dim1);
		memcpy(ARR_DATA_PTR(result), sums1, sizeof(float8) * (dim1 + 1));
	}
	rsums = (float8 *) ARR_DATA_PTR(result);

	rsums[0] += sums2[0];
	for (i = 0; i < dim2; i++)
	{
		rsums[i + 1] += sums2[i + 1];
		if (isinf(rsums[i + 1]))
			float_overflow_error();
	}

	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * vector_avg: final function of avg(vector): the sums divided by the
 * count, rounded to float4.  No rows give NULL, as SQL's avg does.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_vector_avg);
Datum
vp_vector_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	float8	   *sums = CheckStateArray(state, "vector_avg");
	int			dim = STATE_DIM(state);
	float8		count = sums[0];
	Vector	   *result;
	int			i;

	if (count == 0.0)
		PG_RETURN_NULL();

	CheckDim(dim);
	result = VpInitVector(dim);
	for (i = 0; i < dim; i++)
	{
		result->x[i] = (float) (sums[i + 1] / count);
		CheckElement(result->x[i]);
	}

	PG_RETURN_VECTOR_P(result);
}

/*
 * The hnsw payload of a vector: its elements, already in the
 * VP_ELEM_FLOAT32 layout (vptype.h), so the payload points into the datum.
 */
static void
VectorDatumToPayload(Datum value, VpPayload *payload)
{
	Vector	   *vec = DatumGetVector(value);

	payload->kind = VP_ELEM_FLOAT32;
	payload->dims = vec->dim;
	payload->nnz = 0;
	payload->data = vec->x;
	payload->len = sizeof(float) * (Size) vec->dim;
}

/*
 * A vector holding a payload, for re-ranking with the SQL distance
 * functions.
 */
static Datum
VectorPayloadToDatum(const VpPayload *payload)
{
	Vector	   *result;

	Assert(payload->kind == VP_ELEM_FLOAT32);
	Assert(payload->len == sizeof(float) * (Size) payload->dims);
	result = VpInitVector(payload->dims);
	memcpy(result->x, payload->data, payload->len);

	return PointerGetDatum(result);
}

/*
 * The distance the ORDER BY operator of metric gives a stored value and a
 * query (both of the index's dimensions), without making datums.
 */
static double
VectorPayloadDistance(const VpPayload *value, const VpPayload *query,
					  int metric)
{
	const float *a = value->data;
	const float *b = query->data;

	switch (metric)
	{
		case VP_METRIC_L2:
			return VectorL2Distance(a, b, value->dims);
		case VP_METRIC_INNER_PRODUCT:
			return VectorNegativeInnerProduct(a, b, value->dims);
		case VP_METRIC_COSINE:
			return VectorCosineDistance(a, b, value->dims);
		case VP_METRIC_L1:
			return VectorL1Distance(a, b, value->dims);
	}
	elog(ERROR, "unexpected metric %d for vector", metric);
	return 0.0;
}

const VpTypeSupport vp_vector_type_support = {
	.kind = VP_ELEM_FLOAT32,
	.type_name = "vector",
	.max_dims = VECTOR_MAX_DIM,
	.max_nnz = 0,
	.datum_to_payload = VectorDatumToPayload,
	.payload_to_datum = VectorPayloadToDatum,
	.payload_distance = VectorPayloadDistance
};

/*
 * vecpersist_hnsw_vector_support: support function 2 of the vector
 * operator classes of hnsw; tells the access method how to store vectors.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_vector_support);
Datum
vp_hnsw_vector_support(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_POINTER(&vp_vector_type_support);
}
