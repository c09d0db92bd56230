-- hnsw_planner: what an hnsw index tells the planner and the statistics
-- (issue 15, items 5-7): a partial index leaves the table's reltuples
-- alone; scans are counted in pg_stat_user_indexes; with iterative scans
-- off, a selective filter makes the planner sort a sequential scan rather
-- than use an index that could not return enough rows (the choice
-- pgvector's planner makes on the same data; vpam.c vpcostestimate).
-- (enable_seqscan = off makes costs huge: no JIT compiling for them)
SET jit = off;
SELECT setseed(0.5);
CREATE TABLE pl (id int, c int, v vector(8));
INSERT INTO pl
  SELECT i, i % 50, ARRAY(SELECT random() FROM generate_series(i, i + 7))::real[]::vector
    FROM generate_series(1, 5000) i;
ANALYZE pl;
SELECT reltuples, (SELECT count(*) FROM pl) AS rows FROM pg_class WHERE relname = 'pl';

-- A partial index: the table keeps the reltuples ANALYZE gave it (the
-- build reports every heap tuple it saw, not only the 100 it indexed);
-- the index has the matching rows
CREATE INDEX pl_part ON pl USING hnsw (v vector_l2_ops) WHERE c = 41;
SELECT relname, reltuples FROM pg_class
 WHERE relname IN ('pl', 'pl_part') ORDER BY relname;
SELECT count(*) AS matching FROM pl WHERE c = 41;
CREATE INDEX pl_v ON pl USING hnsw (v vector_l2_ops);
SELECT relname, reltuples FROM pg_class
 WHERE relname IN ('pl', 'pl_part', 'pl_v') ORDER BY relname;
-- VACUUM after deletions (none of them matching c = 41) agrees
DELETE FROM pl WHERE id % 10 = 2;
VACUUM pl;
SELECT relname, reltuples FROM pg_class
 WHERE relname IN ('pl', 'pl_part', 'pl_v') ORDER BY relname;
SELECT count(*) AS rows, count(*) FILTER (WHERE c = 41) AS matching FROM pl;

-- a table never analyzed, with NULL vectors (not indexed): the build
-- sets the table's reltuples to all its rows, the index's to the others
CREATE TABLE pn (id int, v vector(2));
INSERT INTO pn SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE ARRAY[i, i % 7]::real[]::vector END
  FROM generate_series(1, 200) i;
SELECT reltuples FROM pg_class WHERE relname = 'pn';
CREATE INDEX pn_v ON pn USING hnsw (v vector_l2_ops);
SELECT relname, reltuples FROM pg_class
 WHERE relname IN ('pn', 'pn_v') ORDER BY relname;
DROP TABLE pn;

-- Index scans are counted: idx_scan once per scan (a rescan of a
-- LATERAL subquery is a scan), idx_tup_read per row returned
SELECT indexrelname, idx_scan, idx_tup_read FROM pg_stat_user_indexes
 WHERE relname = 'pl' ORDER BY indexrelname;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM pl ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 5) s;
SELECT count(*) FROM (SELECT id FROM pl ORDER BY v <-> '[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]' LIMIT 5) s;
SELECT count(*) FROM (SELECT id FROM pl WHERE c = 41 ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 5) s;
SELECT count(*) FROM (VALUES ('[0,0,0,0,0,0,0,0]'::vector), ('[1,1,1,1,1,1,1,1]'), ('[0,1,0,1,0,1,0,1]')) p(q)
  CROSS JOIN LATERAL (SELECT id FROM pl ORDER BY v <-> p.q LIMIT 2) s;
-- EXPLAIN alone scans nothing
EXPLAIN (COSTS OFF) SELECT id FROM pl ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 5;
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();
SELECT indexrelname, idx_scan, idx_tup_read FROM pg_stat_user_indexes
 WHERE relname = 'pl' ORDER BY indexrelname;

-- The planner with iterative scans off (under both names of the
-- setting): an index scan then returns at most ef_search (40) rows before
-- the filter, so a filter keeping 2% of the rows would leave about one of
-- the 20 asked for.  A sequential scan and sort is chosen and returns
-- all 20 (pgvector 0.8 chooses it for these rows, its cost estimate
-- growing with the rows to be fetched past the filter).
SET vecpersist.iterative_scan = off;
SET hnsw.iterative_scan = off;
EXPLAIN (COSTS OFF)
  SELECT id FROM pl WHERE c = 7 ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20;
SELECT count(*) FROM (
  SELECT id FROM pl WHERE c = 7 ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s;
-- without a filter, or with a mild one, the index
EXPLAIN (COSTS OFF)
  SELECT id FROM pl ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20;
EXPLAIN (COSTS OFF)
  SELECT id FROM pl WHERE c < 45 ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20;
-- the filter of the partial index: the partial index, which holds only
-- matching rows, so all 20 come back
EXPLAIN (COSTS OFF)
  SELECT id FROM pl WHERE c = 41 ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20;
SELECT count(*) FROM (
  SELECT id FROM pl WHERE c = 41 ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s;

-- Iterative scans on: the planner may use the index for the 2% filter
-- (the plan is not shown: either is right); all 20 rows come back, and
-- through the index too
SET vecpersist.iterative_scan = strict_order;
SET hnsw.iterative_scan = strict_order;
SELECT count(*) FROM (
  SELECT id FROM pl WHERE c = 7 ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
  SELECT id FROM pl WHERE c = 7 ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20;
SELECT count(*), bool_and(d >= prev) AS ordered FROM (
  SELECT d, lag(d) OVER () AS prev FROM (
    SELECT v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' AS d FROM pl WHERE c = 7
     ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20) s) t;
RESET enable_seqscan;
RESET vecpersist.iterative_scan;
RESET hnsw.iterative_scan;

DROP TABLE pl;
