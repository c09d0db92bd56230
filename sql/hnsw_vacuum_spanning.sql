-- VACUUM of values that span pages: a dead value's middle pages hold only
-- its fragments and are recycled, so a walk of the chain meets the head of
-- a dead spanning item whose next fragment is gone.  A graph built from the
-- pages, and one loaded from a snapshot taken before the VACUUM, must read
-- past it and answer exactly.
--
-- vector(3000) is 12,000 bytes of payload: its head fills the rest of one
-- page, one page holds nothing but a fragment, and the end goes on a third.
CREATE TABLE spanning (id int, v vector(3000));
INSERT INTO spanning
SELECT i, (SELECT array_agg(sin(i * 0.37 + d * 0.011)::real ORDER BY d)
           FROM generate_series(1, 3000) d)::vector
FROM generate_series(1, 12) i;
CREATE INDEX spanning_v_idx ON spanning USING hnsw (v vector_l2_ops);
SELECT pg_relation_size('spanning_v_idx') / 8192 AS pages;

-- the snapshot of the fresh graph (written by the background worker)
DO $$
BEGIN
	FOR i IN 1..600 LOOP
		PERFORM 1 FROM vecpersist_cache
		 WHERE index = 'spanning_v_idx'::regclass AND snapshot_at IS NOT NULL;
		EXIT WHEN FOUND;
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;
SELECT snapshot_at IS NOT NULL AS saved FROM vecpersist_cache
 WHERE index = 'spanning_v_idx'::regclass;

DELETE FROM spanning WHERE id IN (3, 7);
VACUUM spanning;
SELECT pg_relation_size('spanning_v_idx') / 8192 AS pages_after_vacuum;

-- the exact answer, by a sequential scan
SET enable_indexscan = off;
SELECT array_agg(id) AS exact FROM
	(SELECT id FROM spanning ORDER BY v <-> (SELECT v FROM spanning WHERE id = 4) LIMIT 5) s;
RESET enable_indexscan;

-- loaded from the snapshot taken before the VACUUM, then caught up
SELECT vecpersist_evict('spanning_v_idx');
SET enable_seqscan = off;
SELECT array_agg(id) AS loaded FROM
	(SELECT id FROM spanning ORDER BY v <-> (SELECT v FROM spanning WHERE id = 4) LIMIT 5) s;
SELECT origin, nodes - dead_nodes AS live_nodes FROM vecpersist_cache
 WHERE index = 'spanning_v_idx'::regclass;

-- built from the pages: other codes make the snapshot unusable
ALTER INDEX spanning_v_idx SET (quantization = none);
SELECT vecpersist_evict('spanning_v_idx');
SELECT array_agg(id) AS built FROM
	(SELECT id FROM spanning ORDER BY v <-> (SELECT v FROM spanning WHERE id = 4) LIMIT 5) s;
SELECT origin, nodes - dead_nodes AS live_nodes FROM vecpersist_cache
 WHERE index = 'spanning_v_idx'::regclass;
RESET enable_seqscan;
DROP TABLE spanning;
