-- hnsw: inserts after build, DELETE + VACUUM, TRUNCATE, REINDEX,
-- CREATE INDEX CONCURRENTLY and partitioned tables
SET vecpersist.ef_search = 400;
CREATE TABLE m (id int, v vector(4));
INSERT INTO m SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5), cos(i * 0.3)]::real[]::vector
  FROM generate_series(1, 200) i;
CREATE INDEX m_v_idx ON m USING hnsw (v vector_l2_ops);

CREATE FUNCTION knn_matches_exact(q vector) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  via_index int[];
  exact int[];
BEGIN
  SET LOCAL enable_seqscan = off;
  SELECT array_agg(id) INTO via_index FROM (SELECT id FROM m ORDER BY v <-> q LIMIT 10) s;
  SET LOCAL enable_seqscan = on;
  SET LOCAL enable_indexscan = off;
  SELECT array_agg(id) INTO exact FROM (SELECT id FROM m ORDER BY v <-> q, id LIMIT 10) s;
  RETURN via_index IS NOT DISTINCT FROM exact;
END $$;

SELECT knn_matches_exact('[0,1,0,1]');
-- inserts after the build are found
INSERT INTO m SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5), cos(i * 0.3)]::real[]::vector
  FROM generate_series(201, 300) i;
INSERT INTO m VALUES (1000, '[0.5,0.5,0.5,0.5]');
SET enable_seqscan = off;
SELECT id FROM m ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 1;
RESET enable_seqscan;
SELECT knn_matches_exact('[0,1,0,1]');

-- deleted rows are never returned, before and after VACUUM, and their
-- heap slots can be reused by new rows that are found
DELETE FROM m WHERE id % 3 = 0 OR id = 1000;
SELECT knn_matches_exact('[0.5,0.5,0.5,0.5]');
VACUUM m;
SELECT knn_matches_exact('[0.5,0.5,0.5,0.5]');
-- VACUUM reports the index's live tuples exactly
SELECT reltuples = (SELECT count(*) FROM m) AS index_tuples_exact
  FROM pg_class WHERE relname = 'm_v_idx';
INSERT INTO m SELECT i, ARRAY[cos(i), sin(i), cos(i * 0.5), sin(i * 0.3)]::real[]::vector
  FROM generate_series(301, 400) i;
SELECT knn_matches_exact('[0.5,0.5,0.5,0.5]');

-- delete everything: pages are recycled and reused, the index stays small
SELECT pg_relation_size('m_v_idx') / current_setting('block_size')::int AS pages_before;
DELETE FROM m;
VACUUM m;
INSERT INTO m SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5), cos(i * 0.3)]::real[]::vector
  FROM generate_series(1, 200) i;
SELECT pg_relation_size('m_v_idx') / current_setting('block_size')::int AS pages_after;
SELECT knn_matches_exact('[0,1,0,1]');

-- TRUNCATE and REINDEX give the graph new pages to follow
TRUNCATE m;
SET enable_seqscan = off;
SELECT id FROM m ORDER BY v <-> '[0,1,0,1]' LIMIT 1;
INSERT INTO m VALUES (7, '[0,1,0,1]'), (8, '[1,0,1,0]');
SELECT id FROM m ORDER BY v <-> '[0,1,0,1]' LIMIT 2;
RESET enable_seqscan;
INSERT INTO m SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.5), cos(i * 0.3)]::real[]::vector
  FROM generate_series(9, 150) i;
REINDEX INDEX m_v_idx;
SELECT knn_matches_exact('[0,1,0,1]');
REINDEX INDEX CONCURRENTLY m_v_idx;
SELECT knn_matches_exact('[0,1,0,1]');
DROP INDEX m_v_idx;
CREATE INDEX CONCURRENTLY m_v_idx ON m USING hnsw (v vector_l2_ops);
SELECT knn_matches_exact('[0,1,0,1]');

-- partitioned tables: the index cascades, the planner merges partitions
CREATE TABLE part (id int, v vector(2)) PARTITION BY RANGE (id);
CREATE TABLE part1 PARTITION OF part FOR VALUES FROM (0) TO (100);
CREATE TABLE part2 PARTITION OF part FOR VALUES FROM (100) TO (200);
INSERT INTO part SELECT i, ARRAY[sin(i), cos(i)]::real[]::vector FROM generate_series(0, 199) i;
CREATE INDEX part_v_idx ON part USING hnsw (v vector_l2_ops);
SELECT relname FROM pg_class WHERE relname LIKE 'part%idx' ORDER BY relname;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM part ORDER BY v <-> '[1,0]' LIMIT 5;
SELECT id FROM part ORDER BY v <-> '[1,0]' LIMIT 5;
RESET enable_seqscan;
SELECT id FROM part ORDER BY v <-> '[1,0]', id LIMIT 5;

DROP TABLE m, part;
DROP FUNCTION knn_matches_exact(vector);
