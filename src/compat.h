/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The one place for PostgreSQL version differences.
 *
 * vecpersist targets PostgreSQL 15 and keeps cheap guards for 13..17.
 * Every PG_VERSION_NUM test outside vecpersist.h's minimum-version check
 * belongs here, so that the rest of the code reads as one version.
 *
 * IDENTIFICATION
 *	  src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VP_COMPAT_H
#define VP_COMPAT_H

#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/* 64 random bits from the backend's PRNG */
#if PG_VERSION_NUM >= 150000
#include "common/pg_prng.h"
#define VpRandomU64() pg_prng_uint64(&pg_global_prng_state)
#else
#define VpRandomU64() (((uint64) random() << 33) ^ ((uint64) random() << 2) ^ (uint64) random())
#endif

/* PG15 added shmem_request_hook; before, _PG_init requests directly */
#define VP_HAVE_SHMEM_REQUEST_HOOK (PG_VERSION_NUM >= 150000)

/* ownership of a relation */
#if PG_VERSION_NUM >= 160000
#define VpRelationOwnerCheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define VpRelationOwnerCheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

#endif							/* VP_COMPAT_H */
