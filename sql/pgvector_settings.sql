-- pgvector's setting names: hnsw.ef_search, hnsw.iterative_scan,
-- hnsw.max_scan_tuples and hnsw.scan_mem_multiplier are real settings in a
-- database whose hnsw is vecpersist's, checked with pgvector's messages,
-- and each decides the value scans use as the README's precedence rule says.

-- the very first statement of the session is already checked
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SET hnsw.ef_search = 'abc';
SET hnsw.iterative_scan = on;
SET hnsw.max_scan_tuples = 0;
SET hnsw.max_scan_tuples = 2147483648;
SET hnsw.scan_mem_multiplier = 0.5;
SET hnsw.scan_mem_multiplier = 1001;
SET vecpersist.scan_mem_multiplier = 0.5;
SET vecpersist.scan_mem_multiplier = 1001;

-- types, ranges and defaults are pgvector's
SELECT name, setting, vartype, min_val, max_val, enumvals, boot_val, context
  FROM pg_settings
  WHERE name IN ('hnsw.ef_search', 'hnsw.iterative_scan', 'hnsw.max_scan_tuples',
                 'hnsw.scan_mem_multiplier', 'vecpersist.scan_mem_multiplier')
  ORDER BY name;

-- values read back
SET hnsw.ef_search = 400;
SET hnsw.iterative_scan = relaxed_order;
SET hnsw.max_scan_tuples = 100;
SET hnsw.scan_mem_multiplier = 2.5;
SHOW hnsw.ef_search;
SHOW hnsw.iterative_scan;
SHOW hnsw.max_scan_tuples;
SHOW hnsw.scan_mem_multiplier;
RESET ALL;

-- the values scans use (a debug function outside the extension's SQL)
CREATE FUNCTION vp_effective(OUT ef_search int, OUT iterative_scan text,
                             OUT max_scan_tuples int, OUT scan_mem_multiplier float8)
  AS '$libdir/vecpersist', 'vp_pgvector_settings_effective' LANGUAGE C;

-- neither name set: vecpersist's defaults (iterative_scan strict_order,
-- although SHOW hnsw.iterative_scan says off, pgvector's default)
SELECT * FROM vp_effective();

-- only one name set: it wins, whichever it is
SET vecpersist.ef_search = 100;
SET hnsw.max_scan_tuples = 500;
SET hnsw.iterative_scan = off;
SELECT * FROM vp_effective();

-- both set in the session: hnsw.* wins, in either order
SET hnsw.ef_search = 200;
SET vecpersist.max_scan_tuples = 600;
SET vecpersist.iterative_scan = relaxed_order;
SET vecpersist.scan_mem_multiplier = 3;
SET hnsw.scan_mem_multiplier = 4;
SELECT * FROM vp_effective();

-- RESET of the hnsw.* name gives the vecpersist.* value back
RESET hnsw.ef_search;
RESET hnsw.max_scan_tuples;
RESET hnsw.iterative_scan;
RESET hnsw.scan_mem_multiplier;
SELECT * FROM vp_effective();

-- SET to the default value is still "set"
SET hnsw.ef_search = 40;
SELECT ef_search FROM vp_effective();
RESET ALL;

-- SET LOCAL lasts for the transaction, and a rolled back SET is undone
BEGIN;
SET LOCAL hnsw.ef_search = 321;
SELECT ef_search FROM vp_effective();
COMMIT;
SELECT ef_search FROM vp_effective();
BEGIN;
SET hnsw.ef_search = 322;
ROLLBACK;
SELECT ef_search FROM vp_effective();

-- a function's SET clause
CREATE FUNCTION ef_inside() RETURNS int LANGUAGE sql
  SET hnsw.ef_search = 77 AS 'SELECT ef_search FROM vp_effective()';
SET vecpersist.ef_search = 66;
SELECT ef_inside(), (SELECT ef_search FROM vp_effective()) AS ef_after;
RESET ALL;
DROP FUNCTION ef_inside();

-- different levels: the later source wins, as for one setting.  A value
-- set under hnsw.* for the database is a placeholder when the session
-- starts; it is carried over, with its source, when the name is defined.
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET hnsw.ef_search = 300', current_database());
  EXECUTE format('ALTER DATABASE %I SET vecpersist.max_scan_tuples = 700', current_database());
END $$;
\c
SELECT name, setting, source FROM pg_settings
  WHERE name IN ('hnsw.ef_search', 'vecpersist.max_scan_tuples') ORDER BY name;
SELECT ef_search, max_scan_tuples FROM vp_effective();
-- a session SET under the other name beats the database's
SET vecpersist.ef_search = 50;
SET hnsw.max_scan_tuples = 800;
SELECT ef_search, max_scan_tuples FROM vp_effective();
RESET ALL;
SELECT ef_search, max_scan_tuples FROM vp_effective();
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I RESET hnsw.ef_search', current_database());
  EXECUTE format('ALTER DATABASE %I RESET vecpersist.max_scan_tuples', current_database());
END $$;
-- a bad value is refused for the database too
\set VERBOSITY terse
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET hnsw.ef_search = 0', current_database());
END $$;
\set VERBOSITY default

DROP FUNCTION vp_effective();
