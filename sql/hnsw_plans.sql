-- hnsw: the planner uses the index for ORDER BY col <op> const LIMIT n
-- and for nothing else
CREATE TABLE p (id int, v vector(3));
INSERT INTO p SELECT i, ARRAY[sin(i), cos(i), sin(i * 2)]::real[]::vector
  FROM generate_series(1, 2000) i;
CREATE INDEX p_v_idx ON p USING hnsw (v vector_l2_ops);
ANALYZE p;

EXPLAIN (COSTS OFF) SELECT id FROM p ORDER BY v <-> '[1,0,0]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id, v <-> '[1,0,0]' AS d FROM p ORDER BY v <-> '[1,0,0]' LIMIT 5;
-- another metric than the index's
EXPLAIN (COSTS OFF) SELECT id FROM p ORDER BY v <#> '[1,0,0]' LIMIT 5;
-- descending order
EXPLAIN (COSTS OFF) SELECT id FROM p ORDER BY v <-> '[1,0,0]' DESC LIMIT 5;
-- a distance filter without order
EXPLAIN (COSTS OFF) SELECT id FROM p WHERE v <-> '[1,0,0]' < 0.1;
-- no order at all, even with seqscan disabled
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM p;
EXPLAIN (COSTS OFF) SELECT count(*) FROM p;
RESET enable_seqscan;

-- a prepared statement with the query vector bound as a parameter
PREPARE knn(vector) AS SELECT id FROM p ORDER BY v <-> $1 LIMIT 3;
EXPLAIN (COSTS OFF) EXECUTE knn('[1,0,0]');
EXECUTE knn('[1,0,0]');
SELECT id FROM p ORDER BY v <-> '[1,0,0]', id LIMIT 3;
-- the generic plan keeps the parameter in the index's ORDER BY
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE knn('[1,0,0]');
EXECUTE knn('[1,0,0]');
RESET plan_cache_mode;
DEALLOCATE knn;

DROP TABLE p;
