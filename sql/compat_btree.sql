--
-- compat_btree: vector's btree operator class as pgvector behaves; the
-- expected output is pgvector's (see test/compat/README.md).
--

CREATE TABLE compat_btree_t (id int, v vector);
INSERT INTO compat_btree_t VALUES
	(1, '[3,1,2]'), (2, '[1,2]'), (3, '[1,2,3]'), (4, NULL), (5, '[-1,0,0]'),
	(6, '[1,2]'), (7, '[1]'), (8, '[-0,1]');
CREATE INDEX compat_btree_idx ON compat_btree_t (v);

SET enable_seqscan = off;
SELECT id, v FROM compat_btree_t WHERE v = '[1,2]' ORDER BY id;
SELECT id, v FROM compat_btree_t WHERE v = '[0,1]' ORDER BY id;
SELECT id, v FROM compat_btree_t WHERE v < '[1,2,3]' ORDER BY v, id;
SELECT id, v FROM compat_btree_t WHERE v >= '[1,2]' ORDER BY v, id;
SELECT id, v FROM compat_btree_t WHERE v BETWEEN '[0]' AND '[2]' ORDER BY v, id;
SELECT id, v FROM compat_btree_t ORDER BY v, id;
SELECT id, v FROM compat_btree_t ORDER BY v DESC NULLS LAST, id;
SELECT id FROM compat_btree_t WHERE v IS NULL;
SELECT DISTINCT v FROM compat_btree_t ORDER BY v;
SELECT v, count(*) FROM compat_btree_t GROUP BY v ORDER BY v;
SELECT v FROM compat_btree_t UNION SELECT '[9]'::vector ORDER BY 1;
RESET enable_seqscan;

-- a unique index
CREATE UNIQUE INDEX compat_btree_uniq ON compat_btree_t (v) WHERE id > 2;
DELETE FROM compat_btree_t WHERE id = 6;
CREATE UNIQUE INDEX compat_btree_uniq ON compat_btree_t (v) WHERE id > 2;
INSERT INTO compat_btree_t VALUES (9, '[1,2,3]');
INSERT INTO compat_btree_t VALUES (9, '[1,2,3,0]');

-- a typed column with its index, and its lookups
CREATE TABLE compat_btree_t3 (v vector(3));
INSERT INTO compat_btree_t3 SELECT ARRAY[g % 5, g % 3, g]::vector FROM generate_series(1, 30) g;
CREATE INDEX ON compat_btree_t3 (v);
SET enable_seqscan = off;
SELECT v FROM compat_btree_t3 WHERE v = '[2,1,7]';
SELECT v FROM compat_btree_t3 WHERE v > '[4,1,0]' ORDER BY v;
SELECT count(*) FROM compat_btree_t3 WHERE v < '[1,0,0]';
SELECT v FROM compat_btree_t3 WHERE v = '[2,1]';
RESET enable_seqscan;

-- no min/max for vectors
SELECT min(v) FROM compat_btree_t;

DROP TABLE compat_btree_t, compat_btree_t3;
