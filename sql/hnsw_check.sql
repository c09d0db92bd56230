-- vecpersist_check(): the verifier of hnsw indexes.  Clean indexes of every
-- type and option pass (also with heapallindexed, after inserts, deletes
-- and VACUUM); bad arguments fail with a clear message and SQLSTATE; only
-- superusers may run it unless EXECUTE is granted, and then SELECT on the
-- table is needed too.  Damaged indexes are tested in test/t/021_verifier.pl.

-- 'ok', or the SQLSTATE and message of the error
CREATE FUNCTION check_error(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- every hnsw index of this database, as pg_amcheck would go through them
CREATE FUNCTION check_all_hnsw(heapallindexed boolean)
RETURNS TABLE (index regclass, result text) LANGUAGE sql AS $$
  SELECT c.oid::regclass,
         check_error(format('SELECT vecpersist_check(%s, %L)', c.oid, heapallindexed))
  FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am a ON a.oid = c.relam
  WHERE a.amname = 'hnsw' AND c.relkind = 'i' AND c.relpersistence <> 't'
    AND c.relname LIKE 'chk\_%'
  ORDER BY c.relname
$$;

-- how many graph nodes the entry point reaches depends on the random
-- levels of each build: no NOTICE about that here
SET client_min_messages = warning;

-- vector: every metric; 8-bit codes (the default) and none; a NULL and a
-- zero vector (which the cosine index leaves out)
CREATE TABLE chk_vec (id int PRIMARY KEY, v vector(8));
INSERT INTO chk_vec
  SELECT i, ARRAY(SELECT sin(i * 0.37 + d) FROM generate_series(1, 8) d)::real[]::vector
  FROM generate_series(1, 500) i;
INSERT INTO chk_vec VALUES (501, NULL), (502, '[0,0,0,0,0,0,0,0]');
CREATE INDEX chk_vec_l2 ON chk_vec USING hnsw (v vector_l2_ops);
CREATE INDEX chk_vec_ip ON chk_vec USING hnsw (v vector_ip_ops) WITH (quantization = none);
CREATE INDEX chk_vec_cos ON chk_vec USING hnsw (v vector_cosine_ops);
CREATE INDEX chk_vec_l1 ON chk_vec USING hnsw (v vector_l1_ops)
  WITH (m = 4, ef_construction = 8, quantization = none);
SELECT vecpersist_check('chk_vec_l2');
SELECT vecpersist_check('chk_vec_cos', heapallindexed => true);

-- halfvec, sparsevec, bit, and bit strings of an expression
CREATE TABLE chk_half (id int PRIMARY KEY, v halfvec(8));
INSERT INTO chk_half SELECT id, v::halfvec FROM chk_vec;
CREATE INDEX chk_half_l2 ON chk_half USING hnsw (v halfvec_l2_ops);
CREATE INDEX chk_half_cos ON chk_half USING hnsw (v halfvec_cosine_ops) WITH (quantization = none);

CREATE TABLE chk_sparse (id int PRIMARY KEY, v sparsevec(20));
INSERT INTO chk_sparse
  SELECT i, format('{%s:%s,%s:%s,%s:1}/20', i % 7 + 1, i, i % 5 + 9, -i, 20)::sparsevec
  FROM generate_series(1, 300) i;
INSERT INTO chk_sparse VALUES (301, '{}/20'), (302, NULL);
CREATE INDEX chk_sparse_l2 ON chk_sparse USING hnsw (v sparsevec_l2_ops);
CREATE INDEX chk_sparse_cos ON chk_sparse USING hnsw (v sparsevec_cosine_ops);

CREATE TABLE chk_bit (id int PRIMARY KEY, b bit(20));
INSERT INTO chk_bit SELECT i, (i * 7919)::bit(20) FROM generate_series(1, 300) i;
CREATE INDEX chk_bit_hamming ON chk_bit USING hnsw (b bit_hamming_ops);
CREATE INDEX chk_bit_jaccard ON chk_bit USING hnsw (b bit_jaccard_ops);
CREATE INDEX chk_vec_bq ON chk_vec USING hnsw ((binary_quantize(v)::bit(8)) bit_hamming_ops);

-- a partial index, an empty one, one of NULLs only, values spanning pages
CREATE INDEX chk_vec_even ON chk_vec USING hnsw (v vector_l2_ops) WHERE id % 2 = 0;
CREATE TABLE chk_empty (id int, v vector(3));
CREATE INDEX chk_empty_v ON chk_empty USING hnsw (v vector_l2_ops);
CREATE TABLE chk_nulls (id int, v vector(3));
INSERT INTO chk_nulls SELECT i, NULL FROM generate_series(1, 10) i;
CREATE INDEX chk_nulls_v ON chk_nulls USING hnsw (v vector_l2_ops);
CREATE TABLE chk_wide (id int PRIMARY KEY, v vector(3000));
INSERT INTO chk_wide
  SELECT i, ARRAY(SELECT sin(i * 0.3 + d * 0.01) FROM generate_series(1, 3000) d)::real[]::vector
  FROM generate_series(1, 12) i;
CREATE INDEX chk_wide_v ON chk_wide USING hnsw (v vector_l2_ops);

-- an unlogged table and a temporary one
CREATE UNLOGGED TABLE chk_unlogged (id int, v vector(3));
INSERT INTO chk_unlogged SELECT i, ARRAY[i, i + 1, i * 2]::real[] FROM generate_series(1, 50) i;
CREATE INDEX chk_unlogged_v ON chk_unlogged USING hnsw (v vector_l2_ops);
CREATE TEMP TABLE chk_temp (id int, v vector(3));
INSERT INTO chk_temp SELECT i, ARRAY[i, i - 1, i * 3]::real[] FROM generate_series(1, 50) i;
CREATE INDEX chk_temp_v ON chk_temp USING hnsw (v vector_l2_ops);
SELECT vecpersist_check('chk_temp_v', true);

SELECT * FROM check_all_hnsw(false);
SELECT * FROM check_all_hnsw(true);

-- after inserts, deletes and VACUUM (which recycles pages of dead items,
-- also the middle page of a value that spans three pages)
INSERT INTO chk_vec
  SELECT i, ARRAY(SELECT cos(i * 0.11 + d) FROM generate_series(1, 8) d)::real[]::vector
  FROM generate_series(503, 800) i;
DELETE FROM chk_vec WHERE id % 3 = 0 OR id BETWEEN 1 AND 100;
UPDATE chk_vec SET v = v + v WHERE id % 10 = 1;
DELETE FROM chk_sparse WHERE id % 2 = 0;
DELETE FROM chk_bit WHERE id < 200;
DELETE FROM chk_wide WHERE id IN (3, 9);
VACUUM chk_vec, chk_sparse, chk_bit, chk_wide;
SELECT * FROM check_all_hnsw(true);
-- and after TRUNCATE and REINDEX
TRUNCATE chk_bit;
REINDEX INDEX chk_vec_l2;
SELECT vecpersist_check('chk_bit_hamming', true), vecpersist_check('chk_vec_l2', true);

-- STRICT: NULL in, NULL out
SELECT vecpersist_check(NULL) IS NULL AS strict;

-- not an hnsw index of ours: a btree index, a table, a dropped OID
SELECT check_error($$SELECT vecpersist_check('chk_vec_pkey')$$);
SELECT check_error($$SELECT vecpersist_check('chk_vec')$$);
SELECT check_error($$SELECT vecpersist_check(0)$$);
SELECT vecpersist_check('chk_vec');
-- a partitioned index has no pages; its partitions' indexes do
CREATE TABLE chk_part (id int, v vector(3)) PARTITION BY RANGE (id);
CREATE TABLE chk_part_1 PARTITION OF chk_part FOR VALUES FROM (0) TO (100);
CREATE TABLE chk_part_2 PARTITION OF chk_part FOR VALUES FROM (100) TO (200);
INSERT INTO chk_part SELECT i, ARRAY[i, 2 * i, 1]::real[] FROM generate_series(0, 199) i;
CREATE INDEX chk_part_v ON chk_part USING hnsw (v vector_l2_ops);
SELECT vecpersist_check('chk_part_v');
SELECT vecpersist_check('chk_part_1_v_idx', true), vecpersist_check('chk_part_2_v_idx', true);
-- an index that is not valid (what a failed CREATE INDEX CONCURRENTLY leaves)
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'chk_vec_l1'::regclass;
SELECT check_error($$SELECT vecpersist_check('chk_vec_l1')$$);
UPDATE pg_index SET indisvalid = true WHERE indexrelid = 'chk_vec_l1'::regclass;
SELECT vecpersist_check('chk_vec_l1');

-- privileges: EXECUTE is revoked from PUBLIC; a role granted it needs
-- SELECT on the table as well
CREATE ROLE regress_vp_checker;
SELECT has_function_privilege('regress_vp_checker',
  'vecpersist_check(regclass, boolean)', 'EXECUTE') AS may_execute;
SET ROLE regress_vp_checker;
SELECT check_error($$SELECT vecpersist_check('chk_vec_l2')$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION vecpersist_check(regclass, boolean) TO regress_vp_checker;
SET ROLE regress_vp_checker;
SELECT check_error($$SELECT vecpersist_check('chk_vec_l2', true)$$);
RESET ROLE;
GRANT SELECT ON chk_vec TO regress_vp_checker;
SET ROLE regress_vp_checker;
SELECT check_error($$SELECT vecpersist_check('chk_vec_l2', true)$$);
SELECT check_error($$SELECT vecpersist_check('chk_vec_bq', true)$$);
RESET ROLE;
REVOKE EXECUTE ON FUNCTION vecpersist_check(regclass, boolean) FROM regress_vp_checker;
REVOKE SELECT ON chk_vec FROM regress_vp_checker;
DROP ROLE regress_vp_checker;

DROP TABLE chk_vec, chk_half, chk_sparse, chk_bit, chk_empty, chk_nulls,
  chk_wide, chk_unlogged, chk_temp, chk_part;
DROP FUNCTION check_all_hnsw(boolean);
DROP FUNCTION check_error(text);
RESET client_min_messages;
