-- hnsw: every operator class returns what an exact scan returns on a
-- small table (with ef_search above the row count the search is exhaustive).
-- The k nearest distances are compared, so that ties cannot matter.
CREATE TABLE items AS
  SELECT i AS id,
         ARRAY(SELECT ((i * 7919 + j * 104729) % 1009) / 1009.0
                      + sqrt(i * 8 + j) / 1000.0 - 0.5
                 FROM generate_series(1, 8) j)::real[]::vector(8) AS v
    FROM generate_series(1, 400) i;
CREATE TABLE queries AS
  SELECT q AS qid,
         ARRAY(SELECT ((q * 6151 + j * 3571) % 1013) / 1013.0 - 0.5
                 FROM generate_series(1, 8) j)::real[]::vector(8) AS v
    FROM generate_series(1, 8) q;

-- exact answers first, before any index exists
CREATE TABLE exact AS
  SELECT q.qid,
         array(SELECT items.v <-> q.v FROM items ORDER BY 1 LIMIT 10) AS l2,
         array(SELECT items.v <#> q.v FROM items ORDER BY 1 LIMIT 10) AS ip,
         array(SELECT items.v <=> q.v FROM items ORDER BY 1 LIMIT 10) AS cosine,
         array(SELECT items.v <+> q.v FROM items ORDER BY 1 LIMIT 10) AS l1
    FROM queries q;

SET vecpersist.ef_search = 500;
SET enable_seqscan = off;

CREATE INDEX items_l2 ON items USING hnsw (v vector_l2_ops);
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '[1,2,3,4,5,6,7,8]' LIMIT 10;
SELECT e.qid, array(SELECT items.v <-> q.v FROM items ORDER BY items.v <-> q.v LIMIT 10) = e.l2 AS same
  FROM queries q JOIN exact e USING (qid) ORDER BY qid;
DROP INDEX items_l2;

-- inner product is not a metric: HNSW finds the largest products reliably
-- when norms vary moderately, as with real embeddings (by 40% here); a node
-- with a much smaller norm than all its neighbours may never be linked to
CREATE TABLE items_ip AS
  SELECT id, ARRAY(SELECT x * (0.8 + (id % 41) / 100.0)
                     FROM unnest(l2_normalize(v)::real[]) WITH ORDINALITY u(x, n)
                    ORDER BY n)::real[]::vector(8) AS v
    FROM items;
SET enable_seqscan = on;
UPDATE exact e SET ip = array(SELECT d.v <#> q.v FROM items_ip d ORDER BY 1 LIMIT 10)
  FROM queries q WHERE q.qid = e.qid;
SET enable_seqscan = off;
CREATE INDEX items_ip_idx ON items_ip USING hnsw (v vector_ip_ops);
EXPLAIN (COSTS OFF) SELECT id FROM items_ip ORDER BY v <#> '[1,2,3,4,5,6,7,8]' LIMIT 10;
SELECT e.qid, array(SELECT d.v <#> q.v FROM items_ip d ORDER BY d.v <#> q.v LIMIT 10) = e.ip AS same
  FROM queries q JOIN exact e USING (qid) ORDER BY qid;

CREATE INDEX items_cosine ON items USING hnsw (v vector_cosine_ops);
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <=> '[1,2,3,4,5,6,7,8]' LIMIT 10;
SELECT e.qid, array(SELECT items.v <=> q.v FROM items ORDER BY items.v <=> q.v LIMIT 10) = e.cosine AS same
  FROM queries q JOIN exact e USING (qid) ORDER BY qid;
DROP INDEX items_cosine;

CREATE INDEX items_l1 ON items USING hnsw (v vector_l1_ops);
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <+> '[1,2,3,4,5,6,7,8]' LIMIT 10;
SELECT e.qid, array(SELECT items.v <+> q.v FROM items ORDER BY items.v <+> q.v LIMIT 10) = e.l1 AS same
  FROM queries q JOIN exact e USING (qid) ORDER BY qid;

-- distances come back in order and match the operator
SELECT bool_and(d1 <= d2) AS ordered FROM (
  SELECT v <+> '[0,0,0,0,0,0,0,0]' AS d1,
         lead(v <+> '[0,0,0,0,0,0,0,0]') OVER () AS d2
    FROM (SELECT v FROM items ORDER BY v <+> '[0,0,0,0,0,0,0,0]' LIMIT 50) s) p
 WHERE d2 IS NOT NULL;

DROP TABLE items, items_ip, queries, exact;
