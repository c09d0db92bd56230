-- hnsw_quantization: the reloption quantization (how the cached graph
-- keeps float vectors: none = float4, sq8 = 8-bit codes re-ranked with the
-- exact values read from the index pages; sq8 is the default), what
-- ALTER INDEX does with it, and that either way ORDER BY returns rows in
-- exact distance order with exact distances
-- (enable_seqscan = off makes costs huge: no JIT compiling for them)
SET jit = off;
SELECT setseed(0.25);
CREATE TABLE q (id int, v vector(16), h halfvec(16));
INSERT INTO q
  SELECT i, a::vector, a::halfvec
    FROM (SELECT i, ARRAY(SELECT round((random() * 2 - 1)::numeric, 4)::real
                            FROM generate_series(i, i + 15)) AS a
            FROM generate_series(1, 800) i) s;
-- (the subquery names i: a fresh array for every row)
SELECT count(DISTINCT v) AS distinct_v, count(DISTINCT h) AS distinct_h FROM q;

-- the values; the option is shown by pg_class.reloptions, \d and
-- pg_get_indexdef
CREATE INDEX q_default ON q USING hnsw (v vector_l2_ops);
CREATE INDEX q_none ON q USING hnsw (v vector_l2_ops) WITH (quantization = none);
CREATE INDEX q_sq8 ON q USING hnsw (v vector_l2_ops) WITH (quantization = sq8);
CREATE INDEX q_opts ON q USING hnsw (v vector_l2_ops)
  WITH (m = 8, ef_construction = 32, quantization = 'none');
-- enum reloptions take their values case-insensitively, as core's do
CREATE INDEX q_upper ON q USING hnsw (v vector_l2_ops) WITH (quantization = 'SQ8');
SELECT relname, reloptions FROM pg_class
 WHERE relname LIKE 'q\_%' AND relkind = 'i' ORDER BY relname;
SELECT pg_get_indexdef('q_opts'::regclass);
\d q
\d+ q_none
-- the graphs built hold what the option says
SELECT index, quantization FROM vecpersist_cache
 WHERE index::text LIKE 'q\_%' ORDER BY index::text;

-- bad values: the message lists the valid ones; SQLSTATE 22023
-- (invalid_parameter_value)
CREATE INDEX ON q USING hnsw (v vector_l2_ops) WITH (quantization = pq);
CREATE INDEX ON q USING hnsw (v vector_l2_ops) WITH (quantization = sq4);
CREATE INDEX ON q USING hnsw (v vector_l2_ops) WITH (quantization = '');
CREATE INDEX ON q USING hnsw (v vector_l2_ops) WITH (quantization = 8);
CREATE INDEX ON q USING hnsw (v vector_l2_ops) WITH (quantization);
\set VERBOSITY sqlstate
CREATE INDEX ON q USING hnsw (v vector_l2_ops) WITH (quantization = pq);
ALTER INDEX q_none SET (quantization = pq);
\set VERBOSITY default
ALTER INDEX q_none SET (quantization = fp16);
SELECT reloptions FROM pg_class WHERE relname = 'q_none';
DROP INDEX q_default, q_sq8, q_opts, q_upper;

-- ALTER INDEX ... SET (quantization = ...) is allowed: the pages hold the
-- exact values whatever the option, so no REINDEX is needed; the cached
-- graph is rebuilt from the pages in the new representation on its next
-- use (builds counts it), and answers the same (with ef_search 1000, so
-- that both searches visit all 800 rows and the answer is the exact one)
SET enable_seqscan = off;
SET vecpersist.ef_search = 1000;
CREATE TEMP TABLE before AS
  SELECT array_agg(id ORDER BY v <-> '[0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.5]', id) AS ids
    FROM (SELECT id, v FROM q ORDER BY v <-> '[0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.5]' LIMIT 10) s;
SELECT quantization, builds FROM vecpersist_cache WHERE index = 'q_none'::regclass;
ALTER INDEX q_none SET (quantization = sq8);
SELECT reloptions FROM pg_class WHERE relname = 'q_none';
-- the option changes at once; the graph at its next use
SELECT quantization, builds FROM vecpersist_cache WHERE index = 'q_none'::regclass;
SELECT array_agg(id ORDER BY v <-> '[0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.5]', id) = (SELECT ids FROM before) AS same
  FROM (SELECT id, v FROM q ORDER BY v <-> '[0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.5]' LIMIT 10) s;
SELECT quantization, builds, origin FROM vecpersist_cache WHERE index = 'q_none'::regclass;
-- RESET: back to the default, sq8 (the graph already is: no rebuild)
ALTER INDEX q_none RESET (quantization);
SELECT reloptions FROM pg_class WHERE relname = 'q_none';
SELECT count(*) FROM (SELECT id FROM q ORDER BY v <-> '[0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.5]' LIMIT 10) s;
SELECT quantization, builds FROM vecpersist_cache WHERE index = 'q_none'::regclass;
-- a change rolled back: the graph follows the committed option again
BEGIN;
ALTER INDEX q_none SET (quantization = none);
SELECT count(*) FROM (SELECT id FROM q ORDER BY v <-> '[0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.5]' LIMIT 10) s;
SELECT quantization, builds FROM vecpersist_cache WHERE index = 'q_none'::regclass;
ROLLBACK;
SELECT reloptions FROM pg_class WHERE relname = 'q_none';
SELECT count(*) FROM (SELECT id FROM q ORDER BY v <-> '[0.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.5]' LIMIT 10) s;
SELECT quantization, builds FROM vecpersist_cache WHERE index = 'q_none'::regclass;
RESET vecpersist.ef_search;
RESET enable_seqscan;
DROP INDEX q_none;

-- bit and sparsevec indexes take the option and keep their own exact
-- codes (bits, sparse): it only concerns float vectors
CREATE TABLE qb (id int, b bit(64), s sparsevec(10));
INSERT INTO qb SELECT i, (i * 2654435761::bigint)::bit(64),
    format('{%s:1,%s:2}/10', i % 10 + 1, (i % 10 + 1) % 10 + 1)::sparsevec
  FROM generate_series(1, 50) i;
CREATE INDEX qb_b_idx ON qb USING hnsw (b bit_hamming_ops) WITH (quantization = none);
CREATE INDEX qb_s_idx ON qb USING hnsw (s sparsevec_l2_ops) WITH (quantization = sq8);
SELECT index, quantization FROM vecpersist_cache
 WHERE index::text LIKE 'qb\_%' ORDER BY index::text;
DROP TABLE qb;

-- Distances.  One index per operator class of vector and halfvec, first
-- with quantization none, then altered to sq8.  For each: the k nearest
-- rows through the index (enable_seqscan off) and by a sequential scan and
-- sort.  With ef_search 1000 (more than the 800 rows) the graph search
-- visits every node, so the index must give exactly the seq scan's rows,
-- ids and distances; with the default ef_search the rows must still come
-- in non-decreasing exact distance order, also past the first window
-- (k = 100 > ef_search 40: iterative scan, strict order).
CREATE INDEX q_v_l2 ON q USING hnsw (v vector_l2_ops) WITH (quantization = none);
CREATE INDEX q_v_ip ON q USING hnsw (v vector_ip_ops) WITH (quantization = none);
CREATE INDEX q_v_cos ON q USING hnsw (v vector_cosine_ops) WITH (quantization = none);
CREATE INDEX q_v_l1 ON q USING hnsw (v vector_l1_ops) WITH (quantization = none);
CREATE INDEX q_h_l2 ON q USING hnsw (h halfvec_l2_ops) WITH (quantization = none);
CREATE INDEX q_h_ip ON q USING hnsw (h halfvec_ip_ops) WITH (quantization = none);
CREATE INDEX q_h_cos ON q USING hnsw (h halfvec_cosine_ops) WITH (quantization = none);
CREATE INDEX q_h_l1 ON q USING hnsw (h halfvec_l1_ops) WITH (quantization = none);
ANALYZE q;

-- knn(dist, k, via_index): (id, distance) of the k nearest rows, in the
-- order the plan returns them; via_index says which plan is wanted, and
-- the plan used is checked
CREATE FUNCTION knn(dist text, k int, via_index bool)
  RETURNS TABLE (ord bigint, id int, d float8)
LANGUAGE plpgsql AS $$
DECLARE
  query text := format('SELECT id, %s AS d FROM q ORDER BY %s LIMIT %s',
                       dist, dist, k);
  plan text := '';
  line text;
BEGIN
  PERFORM set_config('enable_seqscan', CASE WHEN via_index THEN 'off' ELSE 'on' END, true);
  PERFORM set_config('enable_indexscan', CASE WHEN via_index THEN 'on' ELSE 'off' END, true);
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    plan := plan || line || E'\n';
  END LOOP;
  IF (plan ~ 'Index Scan using q_') <> via_index THEN
    RAISE 'unexpected plan for %: %', query, plan;
  END IF;
  RETURN QUERY EXECUTE format('SELECT row_number() OVER (), s.id, s.d FROM (%s) s', query);
END $$;

CREATE TEMP TABLE cases (col text, op text, opclass text);
INSERT INTO cases VALUES
  ('v', '<->', 'l2'), ('v', '<#>', 'ip'), ('v', '<=>', 'cos'), ('v', '<+>', 'l1'),
  ('h', '<->', 'l2'), ('h', '<#>', 'ip'), ('h', '<=>', 'cos'), ('h', '<+>', 'l1');
-- the query vector, as vector and as halfvec
CREATE TEMP TABLE qv AS
  SELECT '[0.3,-0.2,0.1,0.9,-0.5,0.05,0.7,-0.8,0.2,0.4,-0.1,0.6,-0.3,0.15,-0.9,0.5]'::text AS t;

-- one row per operator class: exact = same ids, same distances, same
-- order as the seq scan (ef_search 1000); ordered = distances never
-- decrease (ef_search 40, the default; k 10 and 100); n = rows returned
CREATE FUNCTION check_knn() RETURNS TABLE (col text, opclass text,
    quantization text, exact bool, ordered_10 bool, ordered_100 bool, n_100 bigint)
LANGUAGE plpgsql AS $$
DECLARE
  c record;
  dist text;
BEGIN
  FOR c IN SELECT * FROM cases ORDER BY cases.col DESC, cases.opclass LOOP
    dist := format('%s %s %L::%s', c.col, c.op, (SELECT t FROM qv),
                   CASE c.col WHEN 'v' THEN 'vector' ELSE 'halfvec' END);
    col := c.col;
    opclass := c.opclass;
    -- (ties, were there any, could come in either order: ids compared
    -- sorted by distance and id, distances in the order returned)
    PERFORM set_config('vecpersist.ef_search', '1000', true);
    SELECT (SELECT array_agg(i.id ORDER BY i.d, i.id) = array_agg(s.id ORDER BY s.d, s.id)
                   AND array_agg(i.d ORDER BY i.ord) = array_agg(s.d ORDER BY s.ord)
                   AND count(*) = 10
              FROM knn(dist, 10, true) i JOIN knn(dist, 10, false) s USING (ord))
      INTO exact;
    PERFORM set_config('vecpersist.ef_search', '40', true);
    SELECT bool_and(d >= prev) INTO ordered_10
      FROM (SELECT k.d, lag(k.d) OVER (ORDER BY k.ord) AS prev
              FROM knn(dist, 10, true) k) s;
    SELECT bool_and(d >= prev), count(*) INTO ordered_100, n_100
      FROM (SELECT k.d, lag(k.d) OVER (ORDER BY k.ord) AS prev
              FROM knn(dist, 100, true) k) s;
    -- (read after the queries: the first use after ALTER rebuilds the graph)
    SELECT e.quantization INTO quantization FROM vecpersist_cache e
     WHERE e.index = format('q_%s_%s', c.col, c.opclass)::regclass;
    RETURN NEXT;
  END LOOP;
END $$;

SELECT * FROM check_knn();
-- the same indexes with 8-bit codes
ALTER INDEX q_v_l2 SET (quantization = sq8);
ALTER INDEX q_v_ip SET (quantization = sq8);
ALTER INDEX q_v_cos SET (quantization = sq8);
ALTER INDEX q_v_l1 SET (quantization = sq8);
ALTER INDEX q_h_l2 SET (quantization = sq8);
ALTER INDEX q_h_ip SET (quantization = sq8);
ALTER INDEX q_h_cos SET (quantization = sq8);
ALTER INDEX q_h_l1 SET (quantization = sq8);
SELECT * FROM check_knn();

-- one case in full: the index's rows and distances next to the seq
-- scan's (sq8, ef_search 1000)
SET vecpersist.ef_search = 1000;
SELECT i.ord, i.id, round(i.d::numeric, 6) AS d,
       i.id = s.id AND i.d = s.d AS same_as_seqscan
  FROM knn('v <=> ' || quote_literal((SELECT t FROM qv)) || '::vector', 10, true) i
  JOIN knn('v <=> ' || quote_literal((SELECT t FROM qv)) || '::vector', 10, false) s USING (ord)
 ORDER BY i.ord;
RESET vecpersist.ef_search;

DROP FUNCTION check_knn(), knn(text, int, bool);
DROP TABLE q, cases, qv, before;
