--
-- halfvec_btree: comparison operators, halfvec_cmp, the default btree
-- operator class, sorting, uniqueness and joins
--

-- elementwise first, then the shorter value first (like arrays)
SELECT '[1,2,3]'::halfvec < '[1,2,4]', '[1,2,3]'::halfvec < '[1,2,3]', '[1,2,3]'::halfvec < '[1,2]', '[1,2]'::halfvec < '[1,2,3]';
SELECT '[1,2,3]'::halfvec <= '[1,2,3]', '[1,2,4]'::halfvec <= '[1,2,3]', '[1,2]'::halfvec <= '[1,2,0]';
SELECT '[1,2,3]'::halfvec = '[1,2,3]', '[1,2,3]'::halfvec = '[1,2]', '[0]'::halfvec = '[-0]';
SELECT '[1,2,3]'::halfvec <> '[1,2,3]', '[1,2,3]'::halfvec != '[3,2,1]';
SELECT '[1,2,3]'::halfvec >= '[1,2,3]', '[1,2]'::halfvec >= '[1,2,3]', '[2]'::halfvec >= '[1,9,9]';
SELECT '[1,2,3]'::halfvec > '[1,2]', '[-1]'::halfvec > '[-2]', '[1,2]'::halfvec > '[1,2]';
-- values that round to the same half are equal
SELECT '[0.1]'::halfvec = '[0.09998]', '[2049]'::halfvec = '[2048]', '[1000.3]'::halfvec < '[1000.7]';

SELECT halfvec_cmp('[1,2,3]', '[1,2,3]');
SELECT halfvec_cmp('[1,2,3]', '[1,2,2.999]');
SELECT halfvec_cmp('[-5,2]', '[4,1]');
SELECT halfvec_cmp('[1,2]', '[1,2,-1]');
SELECT halfvec_cmp('[1,2,-1]', '[1,2]');
SELECT halfvec_cmp('[3]', '[2,9]');
SELECT halfvec_cmp('[-0]', '[0]');
SELECT halfvec_cmp('[6e-8]', '[0]'), halfvec_cmp('[-65504]', '[65504]');

CREATE TABLE halfvec_btree_t (id int, v halfvec);
INSERT INTO halfvec_btree_t VALUES
	(1, '[1,2,3]'), (2, '[0,0,0]'), (3, '[1,1,1]'), (4, NULL), (5, '[1,2]'),
	(6, '[1,2,3,0]'), (7, '[-1,5]'), (8, '[2]'), (9, '[1,2,3]'), (10, '[-0.5]'),
	(11, '[-0,0,0]'), (12, '[0.1,0.2]'), (13, '[0.09998,0.2]');

-- sorting, grouping and DISTINCT without an index
SELECT id, v FROM halfvec_btree_t ORDER BY v, id;
SELECT id, v FROM halfvec_btree_t ORDER BY v DESC NULLS LAST, id;
SELECT v, count(*) FROM halfvec_btree_t GROUP BY v ORDER BY v;
SELECT count(DISTINCT v) FROM halfvec_btree_t;
SELECT min(v::text COLLATE "C"), max(v::text COLLATE "C") FROM halfvec_btree_t;

-- the default btree operator class
SELECT opcname, opcdefault, amname
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE opcintype = 'halfvec'::regtype AND amname = 'btree';
SELECT amopstrategy, amopopr::regoperator
FROM pg_amop JOIN pg_opfamily f ON f.oid = amopfamily
WHERE opfname = 'halfvec_ops' ORDER BY amopstrategy;

CREATE INDEX halfvec_btree_idx ON halfvec_btree_t (v);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM halfvec_btree_t WHERE v = '[1,2,3]';
SELECT id FROM halfvec_btree_t WHERE v = '[1,2,3]' ORDER BY id;
SELECT id FROM halfvec_btree_t WHERE v = '[0.1,0.2]' ORDER BY id;
SELECT id FROM halfvec_btree_t WHERE v = '[1,2,3,4]';
EXPLAIN (COSTS OFF) SELECT v FROM halfvec_btree_t ORDER BY v;
SELECT v FROM halfvec_btree_t ORDER BY v;
SELECT v FROM halfvec_btree_t ORDER BY v DESC;
SELECT v FROM halfvec_btree_t WHERE v < '[1,2]' ORDER BY v;
SELECT v FROM halfvec_btree_t WHERE v <= '[1,2]' ORDER BY v;
SELECT v FROM halfvec_btree_t WHERE v > '[1,2]' ORDER BY v;
SELECT v FROM halfvec_btree_t WHERE v >= '[1,2]' ORDER BY v;
SELECT v FROM halfvec_btree_t WHERE v BETWEEN '[0]' AND '[1,1,2]' ORDER BY v;
SELECT v FROM halfvec_btree_t WHERE v IN ('[2]', '[-1,5]') ORDER BY v;
-- a vector operand is cast to halfvec, so the index still applies
EXPLAIN (COSTS OFF) SELECT id FROM halfvec_btree_t WHERE v = '[2]'::vector;
SELECT id FROM halfvec_btree_t WHERE v = '[2]'::vector;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- unique indexes use the same equality: -0 = 0, and values that round
-- to the same half collide
CREATE TABLE halfvec_btree_u (v halfvec UNIQUE);
INSERT INTO halfvec_btree_u VALUES ('[1,2]'), ('[1,2,0]'), ('[0]');
INSERT INTO halfvec_btree_u VALUES ('[1,2]');
INSERT INTO halfvec_btree_u VALUES ('[-0]');
INSERT INTO halfvec_btree_u VALUES ('[1.0001,2]');
SELECT v FROM halfvec_btree_u ORDER BY v;
DROP TABLE halfvec_btree_u;

-- an equality self-join (= is mergejoinable here, as vector's is)
SELECT a.id, b.id FROM halfvec_btree_t a JOIN halfvec_btree_t b ON a.v = b.v
WHERE a.id < b.id ORDER BY a.id, b.id;
DROP TABLE halfvec_btree_t;
