/*-------------------------------------------------------------------------
 *
 * vecpersist.h
 *	  Declarations shared across vecpersist's server-side files, grouped by
 *	  the file that defines them.
 *
 * The type lives in vector.h and the kernels in vpdistance.h; this header
 * declares the GUC variables.
 *
 * IDENTIFICATION
 *	  src/vecpersist.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VECPERSIST_H
#define VECPERSIST_H

#if PG_VERSION_NUM < 130000
#error "vecpersist requires PostgreSQL 13 or later"
#endif

#include "compat.h"

#define VP_DEFAULT_EF_SEARCH		40
#define VP_MIN_EF_SEARCH			1
#define VP_MAX_EF_SEARCH			1000

/* vecpersist.c */
extern int	vp_ef_search;

#endif							/* VECPERSIST_H */
