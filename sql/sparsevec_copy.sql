--
-- sparsevec_copy: COPY in text and binary formats, the binary wire format
-- (sparsevec_send/recv), and storage of large values
--

CREATE TABLE sparsevec_copy_t (id int, v sparsevec(5));

-- text format
COPY sparsevec_copy_t FROM STDIN;
1	{1:1,3:2.5}/5
2	{}/5
3	\N
4	{ 5 : -1e-45 , 1 : 3.4028235e+38 }/5
5	{2:0.1,4:0}/5
\.
COPY sparsevec_copy_t TO STDOUT;
COPY sparsevec_copy_t (v) TO STDOUT WITH (FORMAT csv);
-- the column typmod is enforced while copying in
COPY sparsevec_copy_t FROM STDIN;
6	{1:1}/4
\.
COPY sparsevec_copy_t FROM STDIN;
6	{1:1,1:2}/5
\.

-- the binary form of each value: int32 dim, int32 nnz, int32 zero, then
-- 0-based int32 indices and float4 values, in network byte order
SELECT id, sparsevec_send(v) FROM sparsevec_copy_t ORDER BY id;

-- binary round trip through a client-side file
CREATE TABLE sparsevec_copy_t2 (LIKE sparsevec_copy_t);
\copy sparsevec_copy_t TO 'results/sparsevec_copy.bin' WITH (FORMAT binary)
\copy sparsevec_copy_t2 FROM 'results/sparsevec_copy.bin' WITH (FORMAT binary)
SELECT id, b.v, sparsevec_send(a.v) = sparsevec_send(b.v) AS same_bytes
FROM sparsevec_copy_t a JOIN sparsevec_copy_t2 b USING (id) ORDER BY id;

-- binary COPY carries exactly the bytes of sparsevec_send
CREATE TABLE sparsevec_copy_raw (id int, raw bytea);
\copy sparsevec_copy_raw FROM 'results/sparsevec_copy.bin' WITH (FORMAT binary)
SELECT id, raw = sparsevec_send(v) AS same_as_send
FROM sparsevec_copy_raw JOIN sparsevec_copy_t USING (id) ORDER BY id;
DROP TABLE sparsevec_copy_raw;

-- binary input from other producers: hand-made files holding one value each
CREATE TABLE sparsevec_copy_any (v sparsevec);
-- a valid value ({1:1,3:2}/3), then the same into a sparsevec(5) column
\copy (SELECT '\x00000003000000020000000000000000000000023f80000040000000'::bytea) TO 'results/sparsevec_copy_in1.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in1.bin' WITH (FORMAT binary)
\copy sparsevec_copy_t2 (v) FROM 'results/sparsevec_copy_in1.bin' WITH (FORMAT binary)
-- too short for the header
\copy (SELECT '\x0000000300000000'::bytea) TO 'results/sparsevec_copy_in2.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in2.bin' WITH (FORMAT binary)
-- zero and negative dimensions
\copy (SELECT '\x000000000000000000000000'::bytea) TO 'results/sparsevec_copy_in3.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in3.bin' WITH (FORMAT binary)
\copy (SELECT '\xffffffff0000000000000000'::bytea) TO 'results/sparsevec_copy_in4.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in4.bin' WITH (FORMAT binary)
-- 1,000,000,001 dimensions
\copy (SELECT '\x3b9aca010000000000000000'::bytea) TO 'results/sparsevec_copy_in5.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in5.bin' WITH (FORMAT binary)
-- a negative count, 16,001 elements, more elements than dimensions
\copy (SELECT '\x00000003ffffffff00000000'::bytea) TO 'results/sparsevec_copy_in6.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in6.bin' WITH (FORMAT binary)
\copy (SELECT '\x00004e2000003e8100000000'::bytea) TO 'results/sparsevec_copy_in7.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in7.bin' WITH (FORMAT binary)
\copy (SELECT '\x000000020000000300000000'::bytea) TO 'results/sparsevec_copy_in8.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in8.bin' WITH (FORMAT binary)
-- nonzero reserved field
\copy (SELECT '\x000000030000000000000001'::bytea) TO 'results/sparsevec_copy_in9.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in9.bin' WITH (FORMAT binary)
-- indices: out of bounds, descending, duplicate
\copy (SELECT '\x0000000300000001000000000000000340000000'::bytea) TO 'results/sparsevec_copy_in10.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in10.bin' WITH (FORMAT binary)
\copy (SELECT '\x00000003000000020000000000000002000000014000000040000000'::bytea) TO 'results/sparsevec_copy_in11.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in11.bin' WITH (FORMAT binary)
\copy (SELECT '\x00000003000000020000000000000001000000014000000040000000'::bytea) TO 'results/sparsevec_copy_in12.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in12.bin' WITH (FORMAT binary)
-- values: zero, NaN, -Infinity
\copy (SELECT '\x0000000300000001000000000000000000000000'::bytea) TO 'results/sparsevec_copy_in13.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in13.bin' WITH (FORMAT binary)
\copy (SELECT '\x00000003000000010000000000000000ffc00000'::bytea) TO 'results/sparsevec_copy_in14.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in14.bin' WITH (FORMAT binary)
\copy (SELECT '\x00000003000000010000000000000000ff800000'::bytea) TO 'results/sparsevec_copy_in15.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in15.bin' WITH (FORMAT binary)
-- fewer values than the count, and the index error before the short read
\copy (SELECT '\x00000003000000020000000000000000000000013f800000'::bytea) TO 'results/sparsevec_copy_in16.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in16.bin' WITH (FORMAT binary)
\copy (SELECT '\x000000030000000200000000000000010000000000'::bytea) TO 'results/sparsevec_copy_in17.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in17.bin' WITH (FORMAT binary)
-- more bytes than the value holds
\copy (SELECT '\x00000003000000010000000000000000bf80000000'::bytea) TO 'results/sparsevec_copy_in18.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in18.bin' WITH (FORMAT binary)
-- the same errors, showing their SQLSTATEs
\set VERBOSITY sqlstate
\copy sparsevec_copy_t2 (v) FROM 'results/sparsevec_copy_in1.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in2.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in3.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in4.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in5.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in6.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in7.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in8.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in9.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in10.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in11.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in12.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in13.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in14.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in15.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in16.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in17.bin' WITH (FORMAT binary)
\copy sparsevec_copy_any FROM 'results/sparsevec_copy_in18.bin' WITH (FORMAT binary)
\set VERBOSITY default
SELECT v FROM sparsevec_copy_any;
DROP TABLE sparsevec_copy_any;
DROP TABLE sparsevec_copy_t;
DROP TABLE sparsevec_copy_t2;

-- storage: STORAGE external moves large values out of line uncompressed
SELECT typstorage, typlen, typalign, typmodin, typmodout, typreceive, typsend
FROM pg_type WHERE typname = 'sparsevec';
CREATE TABLE sparsevec_copy_big (id int, v sparsevec);
INSERT INTO sparsevec_copy_big VALUES
	(1, '{1:1}/3'),
	(2, array_fill(1, ARRAY[100])),
	(3, array_fill(1, ARRAY[1000])),
	(4, array_fill(1, ARRAY[16000])),
	(5, ('{' || (SELECT string_agg(i * 62500 || ':1', ',') FROM generate_series(1, 16000) i) || '}/1000000000')::sparsevec);
-- sizes as stored: 16 bytes of header and 8 bytes per element, with no
-- compression once out of line
SELECT id, l2_norm(v), pg_column_size(v) FROM sparsevec_copy_big ORDER BY id;
SELECT pg_relation_size(reltoastrelid) > 0 AS toasted
FROM pg_class WHERE relname = 'sparsevec_copy_big';
-- 16,000 elements through binary COPY and through the text form
\copy sparsevec_copy_big TO 'results/sparsevec_copy_big.bin' WITH (FORMAT binary)
CREATE TABLE sparsevec_copy_big2 (LIKE sparsevec_copy_big);
\copy sparsevec_copy_big2 FROM 'results/sparsevec_copy_big.bin' WITH (FORMAT binary)
SELECT id, sparsevec_send(a.v) = sparsevec_send(b.v) AS same_bytes
FROM sparsevec_copy_big a JOIN sparsevec_copy_big2 b USING (id) ORDER BY id;
TRUNCATE sparsevec_copy_big2;
INSERT INTO sparsevec_copy_big2 SELECT id, v::text::sparsevec FROM sparsevec_copy_big;
SELECT id, sparsevec_send(a.v) = sparsevec_send(b.v) AS same_bytes
FROM sparsevec_copy_big a JOIN sparsevec_copy_big2 b USING (id) ORDER BY id;
DROP TABLE sparsevec_copy_big;
DROP TABLE sparsevec_copy_big2;
