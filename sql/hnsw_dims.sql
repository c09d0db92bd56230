-- hnsw: vectors larger than a page (up to 16000 dimensions) are indexed
-- and searched; they continue over several pages
CREATE TABLE big (id int, v vector(3072));
INSERT INTO big
  SELECT i, ARRAY(SELECT sin(i * 0.37 + j * 0.011) FROM generate_series(1, 3072) j)::real[]::vector
    FROM generate_series(1, 60) i;
CREATE INDEX big_v_idx ON big USING hnsw (v vector_l2_ops);
SET vecpersist.ef_search = 100;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 17) LIMIT 3;
SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 17) LIMIT 3;
-- inserted after the build, through WAL-logged appends
INSERT INTO big
  SELECT i, ARRAY(SELECT sin(i * 0.37 + j * 0.011) FROM generate_series(1, 3072) j)::real[]::vector
    FROM generate_series(61, 80) i;
SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 75) LIMIT 3;
RESET enable_seqscan;
SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 75), id LIMIT 3;
-- deleting and vacuuming spanning vectors recycles their pages
DELETE FROM big WHERE id <= 40;
VACUUM big;
SET enable_seqscan = off;
SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 41) LIMIT 3;
RESET enable_seqscan;
SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 41), id LIMIT 3;

-- the largest vectors the type allows
CREATE TABLE huge (id int, v vector(16000));
INSERT INTO huge
  SELECT i, ARRAY(SELECT cos(i * 0.5 + j * 0.001) FROM generate_series(1, 16000) j)::real[]::vector
    FROM generate_series(1, 5) i;
CREATE INDEX huge_v_idx ON huge USING hnsw (v vector_cosine_ops);
INSERT INTO huge
  SELECT 6, ARRAY(SELECT cos(6 * 0.5 + j * 0.001) FROM generate_series(1, 16000) j)::real[]::vector;
SET enable_seqscan = off;
SELECT id FROM huge ORDER BY v <=> (SELECT v FROM huge WHERE id = 6) LIMIT 2;
SELECT id FROM huge ORDER BY v <=> (SELECT v FROM huge WHERE id = 2) LIMIT 2;
RESET enable_seqscan;

DROP TABLE big, huge;
