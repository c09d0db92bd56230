--
-- vector_btree: ordering, the default btree operator class, uniqueness
--

CREATE TABLE vector_btree_t (id int, v vector);
INSERT INTO vector_btree_t VALUES
	(1, '[1,2,3]'), (2, '[0,0,0]'), (3, '[1,1,1]'), (4, NULL), (5, '[1,2]'),
	(6, '[1,2,3,0]'), (7, '[-1,5]'), (8, '[2]'), (9, '[1,2,3]'), (10, '[-0.5]');

-- sorting without an index
SELECT id, v FROM vector_btree_t ORDER BY v, id;
SELECT id, v FROM vector_btree_t ORDER BY v DESC NULLS LAST, id;
SELECT DISTINCT v FROM vector_btree_t ORDER BY v;
SELECT v, count(*) FROM vector_btree_t GROUP BY v ORDER BY v;

-- the default operator class for btree
SELECT opcname, opcdefault, amname
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE opcintype = 'vector'::regtype AND amname = 'btree'
ORDER BY opcname;

CREATE INDEX vector_btree_idx ON vector_btree_t (v);
SET enable_seqscan = off;
SET enable_bitmapscan = off;

EXPLAIN (COSTS OFF) SELECT id FROM vector_btree_t WHERE v = '[1,2,3]';
SELECT id FROM vector_btree_t WHERE v = '[1,2,3]' ORDER BY id;
SELECT id FROM vector_btree_t WHERE v = '[1,2,3,4]';
EXPLAIN (COSTS OFF) SELECT v FROM vector_btree_t ORDER BY v;
SELECT v FROM vector_btree_t ORDER BY v;
SELECT v FROM vector_btree_t ORDER BY v DESC;
EXPLAIN (COSTS OFF) SELECT v FROM vector_btree_t WHERE v < '[1,2]' ORDER BY v;
SELECT v FROM vector_btree_t WHERE v < '[1,2]' ORDER BY v;
SELECT v FROM vector_btree_t WHERE v <= '[1,2]' ORDER BY v;
SELECT v FROM vector_btree_t WHERE v > '[1,2]' ORDER BY v;
SELECT v FROM vector_btree_t WHERE v >= '[1,2]' ORDER BY v;
SELECT v FROM vector_btree_t WHERE v > '[0]' AND v < '[1,2,3,1]' ORDER BY v;
SELECT v FROM vector_btree_t WHERE v IS NULL;
SELECT v FROM vector_btree_t WHERE v = ANY (ARRAY['[2]'::vector, '[-1,5]']) ORDER BY v;

-- merge joins use the operator class as well
SET enable_seqscan = on;
SET enable_hashjoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF)
SELECT a.id, b.id FROM vector_btree_t a JOIN vector_btree_t b ON a.v = b.v;
SELECT a.id, b.id FROM vector_btree_t a JOIN vector_btree_t b ON a.v = b.v
ORDER BY a.id, b.id;
RESET enable_hashjoin;
RESET enable_nestloop;
SET enable_seqscan = off;

-- the index agrees with a sort after more rows and a REINDEX
INSERT INTO vector_btree_t
SELECT 100 + i, ARRAY[i % 5, (i * 7) % 11, (i * 3) % 4]::vector FROM generate_series(1, 500) i;
REINDEX INDEX vector_btree_idx;
-- every stored value is found again through the index
SELECT count(*) AS not_found FROM vector_btree_t a
WHERE a.v IS NOT NULL AND NOT EXISTS (SELECT 1 FROM vector_btree_t b WHERE b.v = a.v);
SELECT bool_and(prev <= v) AS sorted, count(*)
FROM (SELECT v, lag(v) OVER (ORDER BY v) AS prev FROM vector_btree_t WHERE v IS NOT NULL) s
WHERE prev IS NOT NULL;
DROP TABLE vector_btree_t;

-- unique indexes and constraints
CREATE TABLE vector_btree_u (v vector(3) UNIQUE);
INSERT INTO vector_btree_u VALUES ('[1,2,3]'), ('[3,2,1]');
INSERT INTO vector_btree_u VALUES ('[1,2,3]');
-- -0 equals 0
INSERT INTO vector_btree_u VALUES ('[0,0,0]');
INSERT INTO vector_btree_u VALUES ('[-0,0,0]');
INSERT INTO vector_btree_u VALUES ('[1,2,3]') ON CONFLICT (v) DO NOTHING;
SELECT v FROM vector_btree_u ORDER BY v;
DROP TABLE vector_btree_u;

RESET enable_seqscan;
RESET enable_bitmapscan;
