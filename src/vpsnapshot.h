/*-------------------------------------------------------------------------
 *
 * vpsnapshot.h
 *	  Graph snapshots: files in the data directory from which a graph
 *	  comes back after a restart without a rebuild.
 *
 * A snapshot holds what a rebuild would recompute (the graph's image:
 * node info, links, entry point; vpgraph.h) and the mark it reflects, but
 * never the vectors, which the index pages hold.  It is a cache of a
 * cache: anything that does not verify is logged and the graph rebuilt.
 *
 * IDENTIFICATION
 *	  src/vpsnapshot.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VPSNAPSHOT_H
#define VPSNAPSHOT_H

#include "storage/relfilenode.h"
#include "utils/rel.h"

#include "vpgraph.h"
#include "vppage.h"
#include "vpshmem.h"

/* A snapshot read back and verified: its mark and the graph's image */
typedef struct VpSnapshotData
{
	VpGraphMark mark;
	VpGraphImageHeader image_header;
	char	   *image;			/* VpGraphImageBytes(&image_header) bytes */
	size_t		image_bytes;
	size_t		file_bytes;
	TimestampTz saved_at;
} VpSnapshotData;

extern VpSnapshotData *VpSnapshotRead(Relation index,
									  const VpMetaPageData *meta);
extern void VpSnapshotFree(VpSnapshotData *snapshot);
extern void VpSnapshotReject(Relation index, const char *reason);

#endif							/* VPSNAPSHOT_H */
