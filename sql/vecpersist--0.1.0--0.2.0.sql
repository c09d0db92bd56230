/* sql/vecpersist--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION vecpersist UPDATE TO '0.2.0'" to load this file. \quit

-- hnsw: support function 2 names the type the index stores and searches
-- (operator classes without it, those of 0.1.0, index vector)
CREATE FUNCTION vecpersist_hnsw_vector_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'vp_hnsw_vector_support' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

ALTER OPERATOR FAMILY vector_l2_ops USING hnsw
	ADD FUNCTION 2 (vector, vector) vecpersist_hnsw_vector_support(internal);
ALTER OPERATOR FAMILY vector_ip_ops USING hnsw
	ADD FUNCTION 2 (vector, vector) vecpersist_hnsw_vector_support(internal);
ALTER OPERATOR FAMILY vector_cosine_ops USING hnsw
	ADD FUNCTION 2 (vector, vector) vecpersist_hnsw_vector_support(internal);
ALTER OPERATOR FAMILY vector_l1_ops USING hnsw
	ADD FUNCTION 2 (vector, vector) vecpersist_hnsw_vector_support(internal);

-- the cache view: how each graph came to be, its codes, repairs, snapshot
DROP VIEW vecpersist_cache;
DROP FUNCTION vecpersist_cache_entries();

CREATE FUNCTION vecpersist_cache_entries(
	OUT dbid oid,
	OUT indexrelid oid,
	OUT state text,
	OUT nodes bigint,
	OUT dead_nodes bigint,
	OUT bytes bigint,
	OUT builds bigint,
	OUT build_ms double precision,
	OUT built_at timestamptz,
	OUT last_used timestamptz,
	OUT searches bigint,
	OUT absorbed bigint,
	OUT deletion_passes bigint,
	OUT pinned integer,
	OUT origin text,
	OUT quantization text,
	OUT bytes_per_node double precision,
	OUT repaired integer,
	OUT unreachable integer,
	OUT snapshot_at timestamptz,
	OUT snapshot_bytes bigint,
	OUT snapshot_stale boolean)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'vp_cache_entries_0_2' LANGUAGE C STRICT VOLATILE;

CREATE VIEW vecpersist_cache AS
	SELECT d.datname AS database,
		e.dbid,
		CASE WHEN e.dbid = (SELECT oid FROM pg_database
							WHERE datname = current_database())
			THEN e.indexrelid::regclass END AS index,
		e.indexrelid,
		e.state, e.nodes, e.dead_nodes, e.bytes, e.builds, e.build_ms,
		e.built_at, e.last_used, e.searches, e.absorbed, e.deletion_passes,
		e.pinned, e.origin, e.quantization, e.bytes_per_node, e.repaired,
		e.unreachable, e.snapshot_at, e.snapshot_bytes, e.snapshot_stale
	FROM vecpersist_cache_entries() e
		LEFT JOIN pg_database d ON d.oid = e.dbid;

COMMENT ON VIEW vecpersist_cache IS 'hnsw graphs in the shared graph cache, one row per index of any database';

GRANT SELECT ON vecpersist_cache TO PUBLIC;
