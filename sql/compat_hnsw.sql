--
-- compat_hnsw: hnsw indexes with the operator classes of every type as
-- pgvector behaves, statement by statement.  The expected output is
-- pgvector's own output for these statements, as
-- test/compat/differential.pl compares them (see test/compat/README.md);
-- vecpersist may add a DETAIL or HINT line, nothing else.
--
-- The tables are small, so that an index scan returns every row in exact
-- distance order under either extension, and the data has no ties in
-- distance, so that the order is the same.  Not covered here on purpose:
-- pgvector refuses hnsw indexes on more than 2000 vector or 4000 halfvec
-- dimensions, vecpersist indexes up to 16000.  Also left out for now: an
-- index scan whose query has other dimensions than the index, whose error
-- does not yet read as pgvector's (the two counts in pgvector's order, and
-- "bit lengths" for bit strings).
--

SET enable_seqscan = off;

-- vector: one index per operator class, rows added before and after it
CREATE TABLE compat_hnsw_v (id int, v vector(3));
INSERT INTO compat_hnsw_v VALUES (1, '[1.5,0,0.25]'), (2, '[0,2.25,-0.5]'),
	(3, '[2,3.5,1]'), (4, '[-1,-1.75,4]'), (5, NULL), (6, '[0,0,0]');
CREATE INDEX compat_hnsw_v_l2 ON compat_hnsw_v USING hnsw (v vector_l2_ops);
CREATE INDEX compat_hnsw_v_ip ON compat_hnsw_v USING hnsw (v vector_ip_ops);
CREATE INDEX compat_hnsw_v_cos ON compat_hnsw_v USING hnsw (v vector_cosine_ops);
CREATE INDEX compat_hnsw_v_l1 ON compat_hnsw_v USING hnsw (v vector_l1_ops)
	WITH (m = 4, ef_construction = 10);
INSERT INTO compat_hnsw_v VALUES (7, '[5,4.5,6.25]'), (8, '[0.5,0.125,-3]'), (9, NULL);
EXPLAIN (COSTS OFF) SELECT id FROM compat_hnsw_v ORDER BY v <-> '[1,1.25,0.5]' LIMIT 3;
SELECT id, v FROM compat_hnsw_v ORDER BY v <-> '[1,1.25,0.5]';
SELECT id FROM compat_hnsw_v ORDER BY v <-> '[1,1.25,0.5]' LIMIT 2;
SELECT id, v FROM compat_hnsw_v ORDER BY v <#> '[1,2,-1.25]';
SELECT id, v FROM compat_hnsw_v ORDER BY v <=> '[1,2,-1.25]';
SELECT id, v FROM compat_hnsw_v ORDER BY v <+> '[1,1.25,0.5]';
SELECT count(*) FROM (SELECT id FROM compat_hnsw_v ORDER BY v <-> NULL) s;
SELECT count(*) FROM (SELECT id FROM compat_hnsw_v ORDER BY v <=> (SELECT NULL::vector)) s;
SELECT count(*) FROM (SELECT id FROM compat_hnsw_v ORDER BY v <=> '[0,0,0]') s;
SELECT id FROM compat_hnsw_v WHERE id > 3 ORDER BY v <-> '[0,0,0]' LIMIT 3;
SELECT a.id, (SELECT b.id FROM compat_hnsw_v b WHERE b.id <> a.id
              ORDER BY b.v <-> a.v LIMIT 1) AS nearest
FROM compat_hnsw_v a WHERE a.v IS NOT NULL ORDER BY a.id;
-- dimension errors: values that do not fit the column
INSERT INTO compat_hnsw_v VALUES (10, '[1,2]');
DELETE FROM compat_hnsw_v WHERE id IN (1, 7);
VACUUM compat_hnsw_v;
SELECT id FROM compat_hnsw_v ORDER BY v <-> '[1,1.25,0.5]';
TRUNCATE compat_hnsw_v;
SELECT id FROM compat_hnsw_v ORDER BY v <-> '[1,1.25,0.5]';
INSERT INTO compat_hnsw_v VALUES (11, '[3,3,3]');
SELECT id FROM compat_hnsw_v ORDER BY v <=> '[1,1,1]';
DROP TABLE compat_hnsw_v;

-- halfvec
CREATE TABLE compat_hnsw_h (id int, v halfvec(4));
INSERT INTO compat_hnsw_h VALUES (1, '[1,0,0,0.375]'), (2, '[0,0.5,-0.25,2]'),
	(3, '[3,1,-2,0.25]'), (4, NULL), (5, '[0,0,0,0]');
CREATE INDEX ON compat_hnsw_h USING hnsw (v halfvec_l2_ops);
CREATE INDEX ON compat_hnsw_h USING hnsw (v halfvec_ip_ops);
CREATE INDEX ON compat_hnsw_h USING hnsw (v halfvec_cosine_ops);
CREATE INDEX ON compat_hnsw_h USING hnsw (v halfvec_l1_ops);
INSERT INTO compat_hnsw_h VALUES (6, '[-4,2,2.5,1]'), (7, '[10,0.125,1,7]');
SELECT id, v FROM compat_hnsw_h ORDER BY v <-> '[1,1.5,0,1]';
SELECT id, v FROM compat_hnsw_h ORDER BY v <#> '[1,-1,2,1.5]';
SELECT id, v FROM compat_hnsw_h ORDER BY v <=> '[1,-1,2,1.5]';
SELECT id, v FROM compat_hnsw_h ORDER BY v <+> '[1,1.5,0,1]';
SELECT id FROM compat_hnsw_h ORDER BY v <-> '[1,1.5,0,1]'::vector LIMIT 2;
SELECT count(*) FROM (SELECT id FROM compat_hnsw_h ORDER BY v <-> (SELECT NULL::halfvec)) s;
SELECT count(*) FROM (SELECT id FROM compat_hnsw_h ORDER BY v <=> '[0,0,0,0]') s;
INSERT INTO compat_hnsw_h VALUES (8, '[1,2,3]');
INSERT INTO compat_hnsw_h VALUES (8, '[1,2,3,70000]');
DROP TABLE compat_hnsw_h;

-- a halfvec index over a vector column, through an expression
CREATE TABLE compat_hnsw_e (id int, v vector(3));
INSERT INTO compat_hnsw_e SELECT g, ARRAY[g, 10 - g * 1.5, g * g % 7] FROM generate_series(1, 9) g;
CREATE INDEX ON compat_hnsw_e USING hnsw ((v::halfvec(3)) halfvec_l2_ops);
EXPLAIN (COSTS OFF) SELECT id FROM compat_hnsw_e ORDER BY v::halfvec(3) <-> '[3,5.5,1]' LIMIT 3;
SELECT id, v FROM compat_hnsw_e ORDER BY v::halfvec(3) <-> '[3,5.5,1]' LIMIT 3;
DROP TABLE compat_hnsw_e;

-- sparsevec
CREATE TABLE compat_hnsw_s (id int, v sparsevec(6));
INSERT INTO compat_hnsw_s VALUES (1, '{1:1.25}/6'), (2, '{2:2,6:0.75}/6'),
	(3, '{1:3,3:-1,5:2}/6'), (4, NULL), (5, '{}/6');
CREATE INDEX ON compat_hnsw_s USING hnsw (v sparsevec_l2_ops);
CREATE INDEX ON compat_hnsw_s USING hnsw (v sparsevec_ip_ops);
CREATE INDEX ON compat_hnsw_s USING hnsw (v sparsevec_cosine_ops);
CREATE INDEX ON compat_hnsw_s USING hnsw (v sparsevec_l1_ops);
INSERT INTO compat_hnsw_s VALUES (6, '{4:5,5:-1.5,6:0.5}/6'), (7, '{1:0.5,2:0.25,3:0.5,6:8}/6');
SELECT id, v FROM compat_hnsw_s ORDER BY v <-> '{1:1,2:1.5}/6';
SELECT id, v FROM compat_hnsw_s ORDER BY v <#> '{1:1,3:-2,6:1.25}/6';
SELECT id, v FROM compat_hnsw_s ORDER BY v <=> '{1:1,3:-2,6:1.25}/6';
SELECT id, v FROM compat_hnsw_s ORDER BY v <+> '{1:1,2:1.5}/6';
SELECT id FROM compat_hnsw_s ORDER BY v <-> '[1,1.5,0,0,0,0]'::vector LIMIT 2;
SELECT count(*) FROM (SELECT id FROM compat_hnsw_s ORDER BY v <-> (SELECT NULL::sparsevec)) s;
SELECT count(*) FROM (SELECT id FROM compat_hnsw_s ORDER BY v <=> '{}/6') s;
INSERT INTO compat_hnsw_s VALUES (8, '{1:1}/5');
DROP TABLE compat_hnsw_s;

-- sparsevec: the limit on non-zero elements in an index
CREATE TABLE compat_hnsw_nnz (v sparsevec(2000));
INSERT INTO compat_hnsw_nnz VALUES ((array_fill(1, ARRAY[1000]) || array_fill(0, ARRAY[1000]))::sparsevec);
CREATE INDEX ON compat_hnsw_nnz USING hnsw (v sparsevec_l2_ops);
INSERT INTO compat_hnsw_nnz VALUES ((array_fill(1, ARRAY[1001]) || array_fill(0, ARRAY[999]))::sparsevec);
SELECT count(*) FROM compat_hnsw_nnz;
DROP INDEX compat_hnsw_nnz_v_idx;
INSERT INTO compat_hnsw_nnz VALUES ((array_fill(1, ARRAY[1001]) || array_fill(0, ARRAY[999]))::sparsevec);
CREATE INDEX ON compat_hnsw_nnz USING hnsw (v sparsevec_l2_ops);
DROP TABLE compat_hnsw_nnz;

-- bit: hamming and jaccard
CREATE TABLE compat_hnsw_b (id int, b bit(8));
INSERT INTO compat_hnsw_b VALUES (1, B'10010111'), (2, B'00011011'), (3, B'00101100'),
	(4, NULL), (5, B'00000000');
CREATE INDEX ON compat_hnsw_b USING hnsw (b bit_hamming_ops);
CREATE INDEX ON compat_hnsw_b USING hnsw (b bit_jaccard_ops);
INSERT INTO compat_hnsw_b VALUES (6, B'00000010'), (7, B'01110010');
SELECT id, b FROM compat_hnsw_b ORDER BY b <~> B'00100100';
SELECT id, b FROM compat_hnsw_b ORDER BY b <%> B'10111011';
SELECT count(*) FROM (SELECT id FROM compat_hnsw_b ORDER BY b <~> (SELECT NULL::bit)) s;
SELECT count(*) FROM (SELECT id FROM compat_hnsw_b ORDER BY b <%> NULL) s;
INSERT INTO compat_hnsw_b VALUES (8, B'101');
DROP TABLE compat_hnsw_b;

-- binary quantization: a bit index over a vector column, re-ranked
CREATE TABLE compat_hnsw_q (id int, v vector(4));
INSERT INTO compat_hnsw_q VALUES (1, '[1,-1,-1,-1]'), (2, '[-1,-0.5,-2,-1]'),
	(3, '[-1,-2,-3,4]'), (4, '[1,2,3,-1]'), (5, '[2,2,-1,-1]');
CREATE INDEX ON compat_hnsw_q USING hnsw ((binary_quantize(v)::bit(4)) bit_hamming_ops);
SELECT id FROM compat_hnsw_q ORDER BY binary_quantize(v)::bit(4) <~> binary_quantize('[1,1,1,-1]'::vector) LIMIT 2;
SELECT id FROM (
	SELECT id, v FROM compat_hnsw_q
	ORDER BY binary_quantize(v)::bit(4) <~> binary_quantize('[1,1,1,-1]'::vector) LIMIT 4
) s ORDER BY v <=> '[1,1,1,-1]' LIMIT 2;
DROP TABLE compat_hnsw_q;

-- bit strings that cannot be indexed
CREATE TABLE compat_hnsw_vb (b varbit(8));
CREATE INDEX ON compat_hnsw_vb USING hnsw (b bit_hamming_ops);
CREATE INDEX ON compat_hnsw_vb USING hnsw ((b::bit(8)) bit_jaccard_ops);
DROP TABLE compat_hnsw_vb;
CREATE TABLE compat_hnsw_big (b bit(64001));
CREATE INDEX ON compat_hnsw_big USING hnsw (b bit_hamming_ops);
DROP TABLE compat_hnsw_big;

-- operator classes that do not match the column
CREATE TABLE compat_hnsw_x (v vector(2), h halfvec(2), s sparsevec(2));
CREATE INDEX ON compat_hnsw_x USING hnsw (v halfvec_l2_ops);
CREATE INDEX ON compat_hnsw_x USING hnsw (h vector_l2_ops);
CREATE INDEX ON compat_hnsw_x USING hnsw (s bit_hamming_ops);
CREATE INDEX ON compat_hnsw_x USING hnsw (h);
DROP TABLE compat_hnsw_x;

RESET enable_seqscan;
