-- hnsw: iterative scans keep a WHERE filter from shrinking a k-NN answer;
-- their GUCs; the query shapes that use the index
CREATE TABLE f (id int, cat int, v vector(4));
INSERT INTO f SELECT i, i % 50,
    ARRAY[sin(i * 0.37), cos(i * 0.53), sin(i * 0.71), cos(i * 0.29)]::real[]::vector
  FROM generate_series(1, 3000) i;
CREATE INDEX f_v_idx ON f USING hnsw (v vector_l2_ops);
ANALYZE f;

-- the GUCs
SHOW vecpersist.iterative_scan;
SHOW vecpersist.max_scan_tuples;
SET vecpersist.iterative_scan = on;
SET vecpersist.iterative_scan = relaxed_order;
SET vecpersist.iterative_scan = off;
SET vecpersist.max_scan_tuples = 0;
SET vecpersist.max_scan_tuples = 10;
RESET vecpersist.iterative_scan;
RESET vecpersist.max_scan_tuples;

-- 2% of rows match; with ef_search 10 the first window holds few of them
SET vecpersist.ef_search = 10;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[1,0,1,0]' LIMIT 10;
-- ground truth by sequential scan
SET enable_seqscan = on;
SET enable_indexscan = off;
CREATE TEMP TABLE exact AS
  SELECT array_agg(id ORDER BY d, id) AS ids FROM (
    SELECT id, v <-> '[1,0,1,0]' AS d FROM f WHERE cat = 7 ORDER BY d, id LIMIT 10) s;
RESET enable_indexscan;
SET enable_seqscan = off;

-- off: pgvector's behaviour, the filter leaves fewer than 10 rows
SET vecpersist.iterative_scan = off;
SELECT count(*) < 10 AS shrunk FROM (
  SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[1,0,1,0]' LIMIT 10) s;
-- strict_order (the default): all 10, in distance order, the exact answer
RESET vecpersist.iterative_scan;
SELECT count(*) AS n,
       array_agg(id ORDER BY d, id) = (SELECT ids FROM exact) AS exact,
       bool_and(d >= prev_d) AS ordered
  FROM (SELECT id, d, coalesce(lag(d) OVER (), 0) AS prev_d
          FROM (SELECT id, v <-> '[1,0,1,0]' AS d FROM f WHERE cat = 7
                 ORDER BY v <-> '[1,0,1,0]' LIMIT 10) s) t;
-- relaxed_order: all 10 as well
SET vecpersist.iterative_scan = relaxed_order;
SELECT count(*) AS n FROM (
  SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[1,0,1,0]' LIMIT 10) s;
RESET vecpersist.iterative_scan;
-- a tiny max_scan_tuples bounds the work, and so the rows found
SET vecpersist.max_scan_tuples = 20;
SELECT count(*) < 10 AS bounded FROM (
  SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[1,0,1,0]' LIMIT 10) s;
RESET vecpersist.max_scan_tuples;
-- a filter nothing matches ends the scan instead of looping
SELECT count(*) FROM (
  SELECT id FROM f WHERE cat = 999 ORDER BY v <-> '[1,0,1,0]' LIMIT 10) s;
RESET vecpersist.ef_search;
RESET enable_seqscan;

-- the planner: a selective filter with a btree goes through the btree and
-- an exact sort; a mild one through the hnsw index
CREATE INDEX f_cat_idx ON f (cat);
ANALYZE f;
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[1,0,1,0]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE cat < 45 ORDER BY v <-> '[1,0,1,0]' LIMIT 10;
DROP INDEX f_cat_idx;

-- query shapes that use the index
-- distance in the select list and ORDER BY the same expression
EXPLAIN (COSTS OFF)
  SELECT id, v <-> '[1,0,1,0]' AS d FROM f ORDER BY v <-> '[1,0,1,0]' LIMIT 3;
-- k-NN per outer row with LATERAL
CREATE TABLE probes (pid int, v vector(4));
INSERT INTO probes VALUES (1, '[1,0,1,0]'), (2, '[0,1,0,1]');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
  SELECT p.pid, s.id FROM probes p
  CROSS JOIN LATERAL (SELECT id FROM f ORDER BY f.v <-> p.v LIMIT 3) s;
CREATE TEMP TABLE lateral_index AS
  SELECT p.pid, array_agg(s.id ORDER BY s.id) AS ids FROM probes p
  CROSS JOIN LATERAL (SELECT id FROM f ORDER BY f.v <-> p.v LIMIT 3) s
  GROUP BY p.pid;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT p.pid, array_agg(s.id ORDER BY s.id) = (SELECT ids FROM lateral_index l WHERE l.pid = p.pid) AS same
  FROM probes p
  CROSS JOIN LATERAL (SELECT id FROM f ORDER BY f.v <-> p.v, id LIMIT 3) s
  GROUP BY p.pid ORDER BY p.pid;
RESET enable_indexscan;

-- pgvector's names of the settings are real settings here, so a scan
-- after setting one no longer warns (their effect: pgvector_settings)
SET hnsw.ef_search = 100;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM f ORDER BY v <-> '[1,0,1,0]' LIMIT 5) s;
SELECT count(*) FROM (SELECT id FROM f ORDER BY v <-> '[1,0,1,0]' LIMIT 5) s;
RESET enable_seqscan;

DROP TABLE f, probes, exact, lateral_index;
