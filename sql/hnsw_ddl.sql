-- hnsw: DDL, reloptions and their errors, operator classes, what is indexed
CREATE TABLE t (id int, v vector(3));
INSERT INTO t SELECT i, ARRAY[i % 7, i % 11, i % 13]::real[]::vector FROM generate_series(1, 100) i;
CREATE INDEX t_v_idx ON t USING hnsw (v vector_l2_ops);
SELECT pg_get_indexdef('t_v_idx'::regclass);
CREATE INDEX t_v_opts_idx ON t USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 16);
SELECT pg_get_indexdef('t_v_opts_idx'::regclass);
SELECT reloptions FROM pg_class WHERE relname = 't_v_opts_idx';
CREATE INDEX ON t USING hnsw (v vector_l2_ops) WITH (m = 2, ef_construction = 4);
CREATE INDEX ON t USING hnsw (v vector_l2_ops) WITH (m = 100, ef_construction = 1000);

-- reloptions out of range or inconsistent
CREATE INDEX ON t USING hnsw (v vector_l2_ops) WITH (m = 1);
CREATE INDEX ON t USING hnsw (v vector_l2_ops) WITH (m = 101);
CREATE INDEX ON t USING hnsw (v vector_l2_ops) WITH (ef_construction = 3);
CREATE INDEX ON t USING hnsw (v vector_l2_ops) WITH (ef_construction = 1001);
CREATE INDEX ON t USING hnsw (v vector_l2_ops) WITH (m = 16, ef_construction = 20);
CREATE INDEX ON t USING hnsw (v vector_l2_ops) WITH (lists = 100);
CREATE INDEX ON t USING hnsw (v vector_l2_ops) WITH (m = 'many');

-- what hnsw cannot do
CREATE INDEX ON t USING hnsw (v);
CREATE INDEX ON t USING hnsw (v vector_l2_ops, id);
CREATE UNIQUE INDEX ON t USING hnsw (v vector_l2_ops);
CREATE INDEX ON t USING hnsw (id);

-- every operator class validates
SELECT opcname, amvalidate(c.oid)
  FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
 WHERE a.amname = 'hnsw' ORDER BY opcname;

-- one dimension count per index, fixed by the first vector
CREATE TABLE u (id int, v vector);
INSERT INTO u VALUES (1, '[1,2]'), (2, NULL), (3, '[3,4]');
CREATE INDEX u_v_idx ON u USING hnsw (v vector_l2_ops);
INSERT INTO u VALUES (4, '[1,2,3]');
SELECT count(*) FROM u;
CREATE TABLE mixed (v vector);
INSERT INTO mixed VALUES ('[1,2]'), ('[1,2,3]');
CREATE INDEX ON mixed USING hnsw (v vector_l2_ops);

-- NULLs are not indexed; under cosine neither are zero vectors
CREATE TABLE z (id int, v vector(2));
INSERT INTO z VALUES (1, '[1,0]'), (2, '[0,0]'), (3, NULL), (4, '[0,1]'), (5, '[1,1]');
CREATE INDEX z_cos_idx ON z USING hnsw (v vector_cosine_ops);
SET enable_seqscan = off;
SELECT id FROM z ORDER BY v <=> '[1,0.1]' LIMIT 10;
DROP INDEX z_cos_idx;
CREATE INDEX z_l2_idx ON z USING hnsw (v vector_l2_ops);
SELECT id FROM z ORDER BY v <-> '[1,0.1]' LIMIT 10;
-- a NULL query returns rows in some order without failing
SELECT count(*) FROM (SELECT id FROM z ORDER BY v <-> NULL LIMIT 10) s;
-- a query of the wrong dimension count
SELECT id FROM z ORDER BY v <-> '[1,2,3]' LIMIT 1;
RESET enable_seqscan;

-- ef_search GUC
SHOW vecpersist.ef_search;
SET vecpersist.ef_search = 0;
SET vecpersist.ef_search = 1001;
SET vecpersist.ef_search = 1000;
RESET vecpersist.ef_search;

-- an empty index takes inserts
CREATE TABLE e (id int, v vector(2));
CREATE INDEX e_idx ON e USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
SELECT id FROM e ORDER BY v <-> '[1,1]' LIMIT 1;
INSERT INTO e VALUES (1, '[1,1]'), (2, '[5,5]');
SELECT id FROM e ORDER BY v <-> '[4,4]' LIMIT 2;
RESET enable_seqscan;

-- unlogged tables get an init fork
CREATE UNLOGGED TABLE ul (id int, v vector(2));
INSERT INTO ul VALUES (1, '[1,1]');
CREATE INDEX ON ul USING hnsw (v vector_l2_ops);

DROP TABLE t, u, mixed, z, e, ul;
