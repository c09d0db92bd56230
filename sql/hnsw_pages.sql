-- hnsw_pages: how the index pages hold values of every size (format 3,
-- src/vppage.h): items packed densely, spanning pages where they must, at
-- page boundaries exactly; every byte read back equals the value stored.
--
-- The arithmetic (BLCKSZ 8192):
--   page header 24 bytes; special space MAXALIGN(sizeof(VpPageOpaqueData)
--   = 12) = 16; so an empty page has 8192 - 24 - 16 = 8152 bytes between
--   pd_lower and pd_upper.  Every item takes a 4-byte line pointer plus
--   MAXALIGN(its size) bytes.
--   Item header (VpItemHeaderData: heap TID 6, flags 2, CRC 4, length 4)
--   = 16 bytes; a fragment (the continuation of a spanning item, always
--   line pointer 1 of its page) has no header.
--   VP_MAX_ITEM_SIZE = MAXALIGN_DOWN(8152 - 4) = 8144: a fragment page
--   carries 8144 payload bytes, a head on an empty page 8144 - 16 = 8128.
--   On a partly filled page with F = pd_upper - pd_lower - 4 free bytes a
--   head may carry MAXALIGN_DOWN(F) - 16 bytes; the item goes there when
--   it fits whole, or when at least 64 bytes (VP_MIN_HEAD_PAYLOAD) of it
--   do; else it starts a new page.
-- Payloads: vector(d) 4d bytes, halfvec(d) 2d bytes.
--
-- The cases (rows -> data pages, + 1 metapage = blocks):
--   vector(500), 2000 B: items of 2016 B + 4; four take 8080 of 8152
--     bytes, the room left, MAXALIGN_DOWN(72 - 4) - 16 = 48, is < 64, so
--     the fifth starts a new page: 60 rows, 15 pages, 16 blocks.
--   vector(2032), 8128 B: exactly a head on an empty page: each item
--     starts at a page start and ends exactly at the page's end (no line
--     pointer or byte to spare): 6 rows, 6 pages, 7 blocks.
--   vector(3050), 12200 B: row 1 is a head of 8128 on block 1 and a
--     fragment of 4072 on block 2; block 2 then has F = 8152 - 4076 - 4 =
--     4072, room 4072 - 16 = 4056, so row 2's head (4056 B) goes after
--     that fragment, and its rest, 12200 - 4056 = 8144, fills block 3
--     exactly: row 2 starts mid-page and ends exactly at a page boundary,
--     row 3 starts at the start of block 4 (no fragment there); 2 rows per
--     3 pages: 8 rows, 12 pages, 13 blocks.
--   vector(4068), 16272 B = 8128 + 8144: a head page and one full fragment
--     page per row: 6 rows, 12 pages, 13 blocks.
--   halfvec(6100), 12200 B: as vector(3050), 13 blocks.
--   vector(784), 3136 B: heads go mid-page and span where they must, but
--     after row 80 the room left on block 30 is 40 bytes, so row 81 starts
--     block 31: 90 rows, 35 pages, 36 blocks.
--   The rest pack as densely as the rules allow, every head but the
--   first mid-page: vector(1000) x 60: 30 pages; vector(1536) x 30: 23;
--   vector(2000) x 20: 20 (8000 B per 8192-byte page); vector(4000) x 10:
--   20; halfvec(8000) x 6: 12; halfvec(16000) x 4 (32000 B, 4 to 5 pages
--   each): 16.
-- (enable_seqscan = off makes costs huge: no JIT compiling for them)
SET jit = off;
CREATE EXTENSION IF NOT EXISTS pageinspect;

-- pageinspect helpers: little-endian or big-endian as the metapage says
CREATE FUNCTION page_u16(b bytea, o int, le bool) RETURNS int
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN le THEN get_byte(b, o) | (get_byte(b, o + 1) << 8)
              ELSE (get_byte(b, o) << 8) | get_byte(b, o + 1) END $$;
CREATE FUNCTION page_u32(b bytea, o int, le bool) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN le THEN page_u16(b, o, le)::bigint | (page_u16(b, o + 2, le)::bigint << 16)
              ELSE (page_u16(b, o, le)::bigint << 16) | page_u16(b, o + 2, le)::bigint END $$;
CREATE FUNCTION index_is_le(idx regclass) RETURNS bool LANGUAGE sql AS $$
  SELECT substring(get_raw_page(idx::text, 0) from 25 for 4) = '\x574e5056'::bytea $$;

-- The items of an index as its pages hold them, walking the chain from
-- the metapage's head_block (offset 24 + 20) along opaque->next (offset
-- 8176), as vppage.c's reader does: a page flagged FRAGMENT_FIRST (4, at
-- 8176 + 8) continues the open item with line pointer 1; every other
-- line pointer is a header (heap TID at 0, length at 12) and the head of
-- the payload.  starts_page: the head is line pointer 1 of a page;
-- ends_page: the last part is the last line pointer of a page with no
-- free byte left (pd_upper - pd_lower <= 4: not even a line pointer).
CREATE FUNCTION index_items(idx regclass)
  RETURNS TABLE (item int, heap_tid tid, head_block bigint, head_off int,
                 starts_page bool, pages int, last_block bigint,
                 ends_page bool, payload bytea)
LANGUAGE plpgsql AS $$
DECLARE
  le bool := index_is_le(idx);
  blk bigint := page_u32(get_raw_page(idx::text, 0), 44, le);
  page bytea;
  flags int;
  nlp int;
  gap int;
  lp record;
  want bigint := -1;
BEGIN
  item := 0;
  WHILE blk <> 4294967295 LOOP
    page := get_raw_page(idx::text, blk::int);
    flags := page_u16(page, 8176 + 8, le);
    SELECT count(*), min(h.upper - h.lower) INTO nlp, gap
      FROM heap_page_items(page), page_header(page) h;
    FOR lp IN SELECT p.lp, p.lp_off, p.lp_len FROM heap_page_items(page) p ORDER BY p.lp LOOP
      IF lp.lp = 1 AND flags & 4 <> 0 THEN
        IF want < 0 THEN RAISE 'fragment without a head at block %', blk; END IF;
        payload := payload || substring(page from lp.lp_off + 1 for lp.lp_len);
        pages := pages + 1;
      ELSE
        IF want >= 0 THEN RAISE 'item % incomplete at block %', item, blk; END IF;
        item := item + 1;
        heap_tid := format('(%s,%s)',
                           (page_u16(page, lp.lp_off, le)::bigint << 16) | page_u16(page, lp.lp_off + 2, le),
                           page_u16(page, lp.lp_off + 4, le))::tid;
        want := page_u32(page, lp.lp_off + 12, le);
        payload := substring(page from lp.lp_off + 17 for lp.lp_len - 16);
        head_block := blk;
        head_off := lp.lp;
        starts_page := lp.lp = 1;
        pages := 1;
      END IF;
      IF length(payload) > want THEN RAISE 'item % too long at block %', item, blk; END IF;
      IF length(payload) = want THEN
        last_block := blk;
        ends_page := lp.lp = nlp AND gap <= 4;
        want := -1;
        RETURN NEXT;
      END IF;
    END LOOP;
    blk := page_u32(page, 8176, le);
  END LOOP;
  IF want >= 0 THEN RAISE 'item % incomplete at the end of the chain', item; END IF;
END $$;

-- A value's elements as the payload holds them: the binary send format's
-- big-endian elements after its 4-byte header, in the server's byte order.
CREATE FUNCTION payload_of(v vector, le bool) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN le
    THEN decode(regexp_replace(substr(encode(vector_send(v), 'hex'), 9),
                               '(..)(..)(..)(..)', '\4\3\2\1', 'g'), 'hex')
    ELSE substring(vector_send(v) from 5) END $$;
CREATE FUNCTION payload_of(v halfvec, le bool) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN le
    THEN decode(regexp_replace(substr(encode(halfvec_send(v), 'hex'), 9),
                               '(..)(..)', '\2\1', 'g'), 'hex')
    ELSE substring(halfvec_send(v) from 5) END $$;

-- The cases, with the blocks the arithmetic above gives.  Each gets two
-- tables with the same rows: b_<name>, indexed after loading (ambuild,
-- default quantization sq8), and i_<name>, indexed empty and then loaded
-- row by row (aminsert, WAL-logged appends; quantization none).
CREATE TABLE cases (name text, typ text, dims int, nrows int, blocks int);
INSERT INTO cases VALUES
  ('v500', 'vector', 500, 60, 16),
  ('v784', 'vector', 784, 90, 36),
  ('v1000', 'vector', 1000, 60, 31),
  ('v1536', 'vector', 1536, 30, 24),
  ('v2000', 'vector', 2000, 20, 21),
  ('v2032', 'vector', 2032, 6, 7),
  ('v3050', 'vector', 3050, 8, 13),
  ('v4000', 'vector', 4000, 10, 21),
  ('v4068', 'vector', 4068, 6, 13),
  ('h6100', 'halfvec', 6100, 8, 13),
  ('h8000', 'halfvec', 8000, 6, 13),
  ('h16000', 'halfvec', 16000, 4, 17);

-- Row 1 of each table starts with values whose bits must survive: -0, the
-- smallest subnormal, the largest subnormal (vector) or the largest finite
-- value (halfvec), and a tiny normal one.
DO $$
DECLARE
  c record;
  special text;
BEGIN
  FOR c IN SELECT * FROM cases ORDER BY name LOOP
    special := CASE c.typ WHEN 'vector'
      THEN 'ARRAY[''-0'', ''1.4e-45'', ''1.1754942e-38'', ''1e-30'']::real[]'
      ELSE 'ARRAY[''-0'', ''6e-8'', ''65504'', ''6.1035156e-05'']::real[]' END;
    EXECUTE format('CREATE TABLE b_%s (id int, v %s(%s))', c.name, c.typ, c.dims);
    EXECUTE format($q$INSERT INTO b_%s
      SELECT i, ARRAY(SELECT CASE WHEN i = 1 AND j <= 4 THEN (%s)[j]
                                  ELSE sin(i * 0.37 + j * 0.011) END
                        FROM generate_series(1, %s) j)::real[]::%s
        FROM generate_series(1, %s) i$q$,
      c.name, special, c.dims, c.typ, c.nrows);
    EXECUTE format('CREATE INDEX b_%s_idx ON b_%s USING hnsw (v %s_l2_ops)',
                   c.name, c.name, c.typ);
    EXECUTE format('CREATE TABLE i_%s (id int, v %s(%s))', c.name, c.typ, c.dims);
    EXECUTE format('CREATE INDEX i_%s_idx ON i_%s USING hnsw (v %s_l2_ops) WITH (quantization = none)',
                   c.name, c.name, c.typ);
    EXECUTE format('INSERT INTO i_%s SELECT * FROM b_%s ORDER BY id', c.name, c.name);
  END LOOP;
END $$;
SELECT index_is_le('b_v500_idx') AS le \gset

-- Layout: blocks as the arithmetic says, payload bytes per data page
-- (fill), and for every item: payload = the row's value byte for byte
-- (same), its heap TID that of a row, how many span pages, start at a
-- page start, end exactly at a page's end.
CREATE FUNCTION layout(tbl text, le bool)
  RETURNS TABLE (blocks bigint, fill numeric, items bigint, same bigint,
                 spanning bigint, starts_page bigint, ends_page bigint)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format($q$
    SELECT pg_relation_size('%1$s_idx') / 8192,
           round(sum(length(i.payload)) / (pg_relation_size('%1$s_idx') - 8192.0), 3),
           count(*),
           count(*) FILTER (WHERE i.payload = payload_of(t.v, %2$L)),
           count(*) FILTER (WHERE i.pages > 1),
           count(*) FILTER (WHERE i.starts_page),
           count(*) FILTER (WHERE i.ends_page)
      FROM index_items('%1$s_idx') i LEFT JOIN %1$s t ON t.ctid = i.heap_tid$q$,
    tbl, le);
END $$;

SELECT c.name, p.path, c.nrows, l.blocks, l.blocks = c.blocks AS blocks_ok,
       l.fill, l.items, l.same, l.spanning, l.starts_page, l.ends_page
  FROM cases c CROSS JOIN (VALUES ('b'), ('i')) p(path),
       LATERAL layout(p.path || '_' || c.name, :'le') l
 ORDER BY c.dims, c.typ, p.path;

-- The two boundary cases item by item: row 2 starts mid-page and ends
-- exactly at the end of block 3; row 3 starts block 4.
SELECT item, heap_tid, head_block, head_off, starts_page, pages, last_block,
       ends_page, length(payload)
  FROM index_items('b_v3050_idx') WHERE item <= 4;
SELECT item, head_block, head_off, starts_page, pages, last_block, ends_page
  FROM index_items('i_h6100_idx') WHERE item <= 4;
SELECT item, head_block, head_off, starts_page, pages, last_block, ends_page
  FROM index_items('b_v2032_idx') WHERE item <= 3;
-- the metapage agrees: items appended and payload bytes (offsets 24 + 64
-- and 24 + 96 of VpMetaPageData, low 32 bits)
SELECT page_u32(get_raw_page('b_v3050_idx', 0), 24 + 64, :'le') AS items_appended,
       page_u32(get_raw_page('b_v3050_idx', 0), 24 + 96, :'le') AS payload_bytes;

-- Through the index: every row's nearest neighbour is itself, at
-- distance 0 (b_: re-ranked from the pages' exact values; i_: float
-- vectors in the graph)
CREATE FUNCTION self_hits(tbl text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE format($q$
    SELECT count(*) FROM %1$s t,
      LATERAL (SELECT s.id, s.v <-> t.v AS d FROM %1$s s
                ORDER BY s.v <-> t.v LIMIT 1) nn
     WHERE nn.id = t.id AND nn.d = 0$q$, tbl) INTO n;
  RETURN n;
END $$;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
  SELECT count(*) FROM b_v3050 t,
    LATERAL (SELECT s.id, s.v <-> t.v AS d FROM b_v3050 s
              ORDER BY s.v <-> t.v LIMIT 1) nn
   WHERE nn.id = t.id AND nn.d = 0;
SELECT c.name, c.nrows, self_hits('b_' || c.name) AS built,
       self_hits('i_' || c.name) AS inserted
  FROM cases c ORDER BY c.dims, c.typ;
-- again with graphs rebuilt from the pages
SELECT count(*) FILTER (WHERE vecpersist_evict(c.oid)) AS evicted
  FROM pg_class c WHERE c.relname ~ '^[bi]_[vh][0-9]+_idx$';
SELECT c.name, c.nrows, self_hits('b_' || c.name) AS built,
       self_hits('i_' || c.name) AS inserted
  FROM cases c ORDER BY c.dims, c.typ;
SELECT count(*) AS graphs, sum(nodes) AS nodes,
       count(*) FILTER (WHERE quantization = 'sq8') AS sq8
  FROM vecpersist_cache WHERE index::text ~ '^[bi]_[vh][0-9]+_idx$';
RESET enable_seqscan;

-- VACUUM recycles the pages that hold nothing of a live item, among them
-- pages that only continue a dead item whose head stays on a page that is
-- kept; every later walk of the chain (a graph built or loaded from the
-- pages) must still read each live item whole and pass over what is left
-- of the dead one.  vector(2000), 8000 B: row 1 is whole on block 1 with
-- the head of row 2 after it; from then on block k holds the rest of row
-- k and the head of row k + 1.  Deleting rows 3 and 4 leaves nothing live
-- on block 3 (the rest of row 3, the head of row 4) while row 3's head
-- stays on block 2 beside the live rest of row 2.
CREATE TABLE rb (id int, v vector(2000));
INSERT INTO rb
  SELECT i, ARRAY(SELECT sin(i * 0.37 + j * 0.011) FROM generate_series(1, 2000) j)::real[]::vector
    FROM generate_series(1, 10) i;
CREATE INDEX rb_idx ON rb USING hnsw (v vector_l2_ops);
SELECT item, head_block, pages, last_block FROM index_items('rb_idx') WHERE item <= 5;
DELETE FROM rb WHERE id IN (3, 4);
VACUUM rb;
SET enable_seqscan = off;
-- the cached graph
SELECT id FROM rb ORDER BY v <-> (SELECT v FROM rb WHERE id = 5) LIMIT 3;
-- a graph made again from the pages
SELECT vecpersist_evict('rb_idx');
SELECT id FROM rb ORDER BY v <-> (SELECT v FROM rb WHERE id = 5) LIMIT 3;
SELECT self_hits('rb') AS found, count(*) AS rows FROM rb;
-- and after the next VACUUM
VACUUM rb;
SELECT vecpersist_evict('rb_idx');
SELECT self_hits('rb') AS found, count(*) AS rows FROM rb;
RESET enable_seqscan;
DROP TABLE rb;
-- The same over three pages: vector(4500), 18000 B; row 2 has its head on
-- block 3 (after the rest of row 1), all of block 4, and the start of
-- block 5, which then holds the head of row 3 (blocks 5, 6, 7).  With
-- rows 2 and 3 deleted, blocks 4 to 6 hold nothing live, and block 4 no
-- item head at all.
CREATE TABLE rc (id int, v vector(4500));
INSERT INTO rc
  SELECT i, ARRAY(SELECT sin(i * 0.37 + j * 0.011) FROM generate_series(1, 4500) j)::real[]::vector
    FROM generate_series(1, 8) i;
CREATE INDEX rc_idx ON rc USING hnsw (v vector_l2_ops);
SELECT item, head_block, pages, last_block FROM index_items('rc_idx') WHERE item <= 4;
DELETE FROM rc WHERE id IN (2, 3);
VACUUM rc;
SET enable_seqscan = off;
SELECT vecpersist_evict('rc_idx');
SELECT id FROM rc ORDER BY v <-> (SELECT v FROM rc WHERE id = 1) LIMIT 3;
SELECT self_hits('rc') AS found, count(*) AS rows FROM rc;
RESET enable_seqscan;
DROP TABLE rc;

DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT name FROM cases LOOP
    EXECUTE format('DROP TABLE b_%s, i_%s', c.name, c.name);
  END LOOP;
END $$;
DROP TABLE cases;
DROP FUNCTION self_hits(text), layout(text, bool), index_items(regclass),
  payload_of(vector, bool), payload_of(halfvec, bool), index_is_le(regclass),
  page_u32(bytea, int, bool), page_u16(bytea, int, bool);
DROP EXTENSION pageinspect;
