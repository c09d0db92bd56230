/*-------------------------------------------------------------------------
 *
 * bitvec.h
 *	  Vector functions on PostgreSQL's built-in bit type.
 *
 * pgvector does not define a binary vector type of its own: it indexes and
 * compares values of the core type bit(n) (a VarBit: a bit count, then
 * the bits packed high bit first, padding bits zero).  vecpersist does the
 * same, so that bit columns and queries written for pgvector work
 * unchanged.
 *
 * IDENTIFICATION
 *	  src/bitvec.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VP_BITVEC_H
#define VP_BITVEC_H

#include "utils/varbit.h"

#include "vptype.h"

/* most bits an hnsw index accepts (pgvector's limit for bit) */
#define VP_BIT_MAX_DIM 64000

/* bitvec.c */
extern VarBit *VpInitBitVector(int bits);
extern const VpTypeSupport vp_bit_type_support;

#endif							/* VP_BITVEC_H */
