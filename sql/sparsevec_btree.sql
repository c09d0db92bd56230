--
-- sparsevec_btree: comparison operators, ordering, the default btree
-- operator class, uniqueness, merge joins
--

-- comparisons order sparsevecs as the dense vectors they stand for:
-- element by element, then the one with fewer dimensions first
CREATE TABLE sparsevec_btree_pairs (id int, a sparsevec, b sparsevec);
INSERT INTO sparsevec_btree_pairs VALUES
	(1, '{1:1,2:2}/3', '{1:1,2:2}/3'),
	(2, '{1:1,2:2}/3', '{1:1,2:3}/3'),
	(3, '{1:1,2:2}/3', '{1:1,3:2}/3'),
	(4, '{1:1,3:-2}/3', '{1:1,2:2}/3'),
	(5, '{2:-1}/3', '{}/3'),
	(6, '{3:5}/3', '{}/3'),
	(7, '{1:1}/3', '{1:1}/4'),
	(8, '{1:1}/4', '{1:1}/3'),
	(9, '{4:1}/4', '{}/3'),
	(10, '{4:-1}/4', '{}/3'),
	(11, '{3:1}/4', '{}/3'),
	(12, '{3:-1}/4', '{}/3'),
	(13, '{}/3', '{3:-1}/4'),
	(14, '{}/1', '{}/1000000000'),
	(15, '{1:-1}/1', '{}/1000000000'),
	(16, '{1:1e-45}/2', '{2:3e38}/2'),
	(17, '{1:-1,2:1}/2', '{1:-1,2:2}/2'),
	(18, '{2:1}/2', '{1:-1,2:1}/2');
SELECT id, a, b, sparsevec_cmp(a, b) AS cmp, a < b AS lt, a <= b AS le, a = b AS eq,
	a <> b AS ne, a >= b AS ge, a > b AS gt
FROM sparsevec_btree_pairs ORDER BY id;
-- the order is antisymmetric, and the same as vector's where both apply
SELECT id, sparsevec_cmp(a, b) = -sparsevec_cmp(b, a) AS antisymmetric,
	CASE WHEN (SELECT max(d) FROM (VALUES (split_part(a::text, '/', 2)::int), (split_part(b::text, '/', 2)::int)) m(d)) <= 16000
		THEN sparsevec_cmp(a, b) = vector_cmp(a::vector, b::vector) END AS as_vector
FROM sparsevec_btree_pairs ORDER BY id;
DROP TABLE sparsevec_btree_pairs;

CREATE TABLE sparsevec_btree_t (id int, v sparsevec);
INSERT INTO sparsevec_btree_t VALUES
	(1, '{1:1,2:2,3:3}/3'), (2, '{}/3'), (3, '{1:1,2:1,3:1}/3'), (4, NULL),
	(5, '{1:1,2:2}/2'), (6, '{1:1,2:2,3:3}/4'), (7, '{1:-1,2:5}/2'), (8, '{1:2}/1'),
	(9, '{1:1,2:2,3:3}/3'), (10, '{1:-0.5}/1'), (11, '{}/1000000000'), (12, '{2:-1}/3');

-- sorting without an index
SELECT id, v FROM sparsevec_btree_t ORDER BY v, id;
SELECT id, v FROM sparsevec_btree_t ORDER BY v DESC NULLS LAST, id;
SELECT DISTINCT v FROM sparsevec_btree_t ORDER BY v;
SELECT v, count(*) FROM sparsevec_btree_t GROUP BY v ORDER BY v;

-- the default operator class for btree
SELECT opcname, opcdefault, amname
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE opcintype = 'sparsevec'::regtype AND amname = 'btree'
ORDER BY opcname;
SELECT amopstrategy, amopopr::regoperator
FROM pg_amop JOIN pg_opfamily f ON f.oid = amopfamily
WHERE opfname = 'sparsevec_ops' ORDER BY amopstrategy;

CREATE INDEX sparsevec_btree_idx ON sparsevec_btree_t (v);
SET enable_seqscan = off;
SET enable_bitmapscan = off;

EXPLAIN (COSTS OFF) SELECT id FROM sparsevec_btree_t WHERE v = '{1:1,2:2,3:3}/3';
SELECT id FROM sparsevec_btree_t WHERE v = '{1:1,2:2,3:3}/3' ORDER BY id;
SELECT id FROM sparsevec_btree_t WHERE v = '{1:1,2:2,3:4}/3';
EXPLAIN (COSTS OFF) SELECT v FROM sparsevec_btree_t ORDER BY v;
SELECT v FROM sparsevec_btree_t ORDER BY v;
SELECT v FROM sparsevec_btree_t ORDER BY v DESC;
SELECT v FROM sparsevec_btree_t WHERE v < '{1:1,2:2}/2' ORDER BY v;
SELECT v FROM sparsevec_btree_t WHERE v <= '{1:1,2:2}/2' ORDER BY v;
SELECT v FROM sparsevec_btree_t WHERE v > '{1:1,2:2}/2' ORDER BY v;
SELECT v FROM sparsevec_btree_t WHERE v >= '{1:1,2:2}/2' ORDER BY v;
SELECT v FROM sparsevec_btree_t WHERE v <> '{1:1,2:2,3:3}/3' ORDER BY v;
SELECT v FROM sparsevec_btree_t WHERE v IS NULL;
SELECT v FROM sparsevec_btree_t WHERE v = ANY (ARRAY['{1:2}/1'::sparsevec, '{}/3']) ORDER BY v;
-- a vector on the other side is cast to sparsevec
SELECT id FROM sparsevec_btree_t WHERE v = '[1,2,3]'::vector ORDER BY id;

-- the btree index agrees with the sort
SELECT array_agg(id ORDER BY v, id) FROM sparsevec_btree_t;
RESET enable_seqscan;
SELECT array_agg(id ORDER BY v, id) FROM sparsevec_btree_t;
SET enable_seqscan = off;

-- unique indexes and merge joins use the same equality
CREATE UNIQUE INDEX sparsevec_btree_uniq ON sparsevec_btree_t (v);
DELETE FROM sparsevec_btree_t WHERE id = 9;
CREATE UNIQUE INDEX sparsevec_btree_uniq ON sparsevec_btree_t (v);
INSERT INTO sparsevec_btree_t VALUES (13, '{3:3,1:1,2:2}/3');
INSERT INTO sparsevec_btree_t VALUES (13, '{1:1,2:2,3:3}/5');
SET enable_hashjoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT a.id, b.id FROM sparsevec_btree_t a JOIN sparsevec_btree_t b ON a.v = b.v;
SELECT a.id, b.id FROM sparsevec_btree_t a JOIN sparsevec_btree_t b ON a.v = b.v ORDER BY a.id;
RESET enable_hashjoin;
RESET enable_nestloop;
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP TABLE sparsevec_btree_t;

-- the comparison operators with their commutators and negators
SELECT oprname, oprcode, oprcom::regoperator, oprnegate::regoperator, oprcanmerge
FROM pg_operator
WHERE oprleft = 'sparsevec'::regtype AND oprright = 'sparsevec'::regtype
	AND oprname IN ('<', '<=', '=', '<>', '>=', '>')
ORDER BY oprname;
