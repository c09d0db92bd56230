/* sql/vecpersist--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION vecpersist UPDATE TO '0.2.0'" to load this file. \quit

-- pgvector's ivfflat support function, kept for SQL that calls it

CREATE FUNCTION vector_spherical_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME', 'vp_vector_spherical_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION vector_spherical_distance(vector, vector) IS 'angle between unit vectors, as a fraction of pi';
