/*-------------------------------------------------------------------------
 *
 * vptype.h
 *	  The interface between an indexable SQL type (vector, halfvec, bit,
 *	  sparsevec) and the hnsw access method.
 *
 * The access method does not know which types exist.  Each hnsw operator
 * class names, through its support function 2, a VpTypeSupport that turns
 * a datum of its type into a payload (what the index pages store and what
 * the graph's codes are made from) and back into a datum (so that rows
 * can be re-ranked with the operator's own distance function).  An
 * operator class without support function 2 (those created by version
 * 0.1.0) indexes the vector type.
 *
 * Payload layouts, by kind (all in host byte order):
 *	VP_ELEM_FLOAT32  dims float4
 *	VP_ELEM_FLOAT16  dims IEEE 754 binary16 (uint16)
 *	VP_ELEM_BIT		 dims bits packed in (dims + 7) / 8 bytes, the first
 *					 element in the high bit of byte 0 (PostgreSQL's bit
 *					 layout), unused low bits of the last byte zero
 *	VP_ELEM_SPARSE	 nnz int32 indices (0-based, strictly ascending), then
 *					 nnz float4 values (none zero)
 *
 * IDENTIFICATION
 *	  src/vptype.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPTYPE_H
#define VPTYPE_H

#include "fmgr.h"

typedef enum VpElementKind
{
	VP_ELEM_FLOAT32 = 1,
	VP_ELEM_FLOAT16 = 2,
	VP_ELEM_BIT = 3,
	VP_ELEM_SPARSE = 4
} VpElementKind;

/* One value as the index stores it (see the layouts above) */
typedef struct VpPayload
{
	VpElementKind kind;
	int32		dims;			/* dimensions (sparse: declared dimensions) */
	int32		nnz;			/* sparse: non-zero elements; else 0 */
	const void *data;			/* the payload bytes */
	Size		len;			/* their length */
} VpPayload;

/* What the access method needs to know about an indexable type */
typedef struct VpTypeSupport
{
	VpElementKind kind;
	const char *type_name;		/* SQL name, for messages */
	int			max_dims;		/* most dimensions an hnsw index accepts */
	int			max_nnz;		/* sparse: most non-zero elements; else 0 */

	/*
	 * The payload of a non-NULL datum.  The datum is detoasted (in
	 * CurrentMemoryContext) if need be; payload->data points into it.
	 */
	void		(*datum_to_payload) (Datum value, VpPayload *payload);

	/*
	 * A datum of the type holding the payload, palloc'd in
	 * CurrentMemoryContext.  The payload was made by datum_to_payload (or
	 * read back from the index pages) and is valid.
	 */
	Datum		(*payload_to_datum) (const VpPayload *payload);

	/*
	 * Optional: the distance the ORDER BY operator of an operator class of
	 * this metric (vpcodes.h) gives a stored value and a query value of
	 * the index's dimensions, computed by the same code as the operator's
	 * function, without making datums (re-ranking).  NULL: re-ranking
	 * calls the operator's function.
	 */
	double		(*payload_distance) (const VpPayload *value,
									 const VpPayload *query, int metric);
} VpTypeSupport;

/* support function 2 of an hnsw operator class returns one of these */
#define VP_TYPE_SUPPORT_PROC	2

#endif							/* VPTYPE_H */
