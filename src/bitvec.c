/*-------------------------------------------------------------------------
 *
 * bitvec.c
 *	  Distances between values of PostgreSQL's bit type, and the bit type's
 *	  support for the hnsw access method.
 *
 * Binary vectors in pgvector are plain bit(n) values, usually made with
 * binary_quantize(); pgvector adds two distances on them, Hamming
 * (hamming_distance, <~>) and Jaccard (jaccard_distance, <%>).  They are
 * counts of set bits, so the results are exact and identical to
 * pgvector's on every platform.
 *
 * The counting uses PostgreSQL's pg_popcount64(), which picks the POPCNT
 * instruction at run time where the CPU has it, on 8-byte words, then a
 * table for the last bytes.  VarBit keeps the padding bits of the last
 * byte zero, so they never count.
 *
 * IDENTIFICATION
 *	  src/bitvec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "port/pg_bitutils.h"
#include "utils/varbit.h"

#include "bitvec.h"

/*
 * Allocate a bit string of the given length with every bit zero, in the
 * current memory context.  Shared with the binary_quantize functions of
 * vector.c and halfvec.c, which set the bits.
 */
VarBit *
VpInitBitVector(int bits)
{
	Size		size = VARBITTOTALLEN((Size) bits);
	VarBit	   *result = (VarBit *) palloc0(size);

	SET_VARSIZE(result, size);
	VARBITLEN(result) = bits;

	return result;
}

/*
 * Raise an error unless both bit strings have the same length: a distance
 * between strings of different lengths has no meaning.
 */
static inline void
CheckSameLength(const VarBit *a, const VarBit *b)
{
	if (VARBITLEN(a) != VARBITLEN(b))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different bit lengths %d and %d",
						VARBITLEN(a), VARBITLEN(b))));
}

/*
 * Load 8 bytes of a bit string as one word.  Bit strings have no
 * alignment guarantee, hence memcpy; the byte order does not matter to a
 * population count.
 */
static inline uint64
LoadWord(const bits8 *p)
{
	uint64		w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * hamming_distance: the number of positions at which the bits differ.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hamming_distance);
Datum
vp_hamming_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a = PG_GETARG_VARBIT_P(0);
	VarBit	   *b = PG_GETARG_VARBIT_P(1);
	const bits8 *ax = VARBITS(a);
	const bits8 *bx = VARBITS(b);
	int			nbytes;
	int			i = 0;
	uint64		distance = 0;

	CheckSameLength(a, b);
	nbytes = VARBITBYTES(a);

	for (; i + (int) sizeof(uint64) <= nbytes; i += sizeof(uint64))
		distance += pg_popcount64(LoadWord(ax + i) ^ LoadWord(bx + i));
	for (; i < nbytes; i++)
		distance += pg_number_of_ones[ax[i] ^ bx[i]];

	PG_RETURN_FLOAT8((double) distance);
}

/*
 * jaccard_distance: 1 - |a AND b| / |a OR b|, counting set bits, with
 * |a OR b| computed as |a| + |b| - |a AND b|.  Two strings without a
 * common set bit (including two all-zero strings, whose union is empty)
 * are at distance 1, as in pgvector.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_jaccard_distance);
Datum
vp_jaccard_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a = PG_GETARG_VARBIT_P(0);
	VarBit	   *b = PG_GETARG_VARBIT_P(1);
	const bits8 *ax = VARBITS(a);
	const bits8 *bx = VARBITS(b);
	int			nbytes;
	int			i = 0;
	uint64		ab = 0;
	uint64		aa = 0;
	uint64		bb = 0;

	CheckSameLength(a, b);
	nbytes = VARBITBYTES(a);

	for (; i + (int) sizeof(uint64) <= nbytes; i += sizeof(uint64))
	{
		uint64		aw = LoadWord(ax + i);
		uint64		bw = LoadWord(bx + i);

		ab += pg_popcount64(aw & bw);
		aa += pg_popcount64(aw);
		bb += pg_popcount64(bw);
	}
	for (; i < nbytes; i++)
	{
		ab += pg_number_of_ones[ax[i] & bx[i]];
		aa += pg_number_of_ones[ax[i]];
		bb += pg_number_of_ones[bx[i]];
	}

	if (ab == 0)
		PG_RETURN_FLOAT8(1.0);
	PG_RETURN_FLOAT8(1.0 - (double) ab / (double) (aa + bb - ab));
}

/*
 * The hnsw payload of a bit string: its packed bits, which are already in
 * the VP_ELEM_BIT layout (vptype.h), so the payload points into the datum.
 */
static void
BitDatumToPayload(Datum value, VpPayload *payload)
{
	VarBit	   *vec = DatumGetVarBitP(value);

	payload->kind = VP_ELEM_BIT;
	payload->dims = VARBITLEN(vec);
	payload->nnz = 0;
	payload->data = VARBITS(vec);
	payload->len = (Size) VARBITBYTES(vec);
}

/*
 * A bit string holding a payload, for re-ranking with the SQL distance
 * functions.
 */
static Datum
BitPayloadToDatum(const VpPayload *payload)
{
	VarBit	   *result;

	Assert(payload->kind == VP_ELEM_BIT);
	result = VpInitBitVector(payload->dims);
	Assert(payload->len == (Size) VARBITBYTES(result));
	memcpy(VARBITS(result), payload->data, payload->len);

	return VarBitPGetDatum(result);
}

const VpTypeSupport vp_bit_type_support = {
	.kind = VP_ELEM_BIT,
	.type_name = "bit",
	.max_dims = VP_BIT_MAX_DIM,
	.max_nnz = 0,
	.datum_to_payload = BitDatumToPayload,
	.payload_to_datum = BitPayloadToDatum
};

/*
 * vecpersist_hnsw_bit_support: support function 2 of the bit operator
 * classes of hnsw; tells the access method how to store bit strings.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_hnsw_bit_support);
Datum
vp_hnsw_bit_support(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_POINTER(&vp_bit_type_support);
}
