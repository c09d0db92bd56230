--
-- vector_copy: COPY in text, CSV and binary formats, the binary wire
-- format, and storage (TOAST) of large vectors
--

CREATE TABLE vector_copy_t (id int, v vector(3));

-- text format
COPY vector_copy_t FROM STDIN;
1	[1,2,3]
2	[-0,1e-45,3.4028235e+38]
3	\N
4	[ 0.1 , 0.2 , 0.3 ]
5	[-1.17549435e-38,16777216,-3.5]
\.
COPY vector_copy_t TO STDOUT;
COPY vector_copy_t (v) TO STDOUT WITH (FORMAT csv);
-- the column typmod is enforced while copying in
COPY vector_copy_t FROM STDIN;
6	[1,2]
\.
COPY vector_copy_t FROM STDIN;
6	[1,2,3,nan]
\.

-- text round trip through COPY
CREATE TABLE vector_copy_t2 (LIKE vector_copy_t);
COPY vector_copy_t2 FROM STDIN;
1	[1,2,3]
2	[-0,1e-45,3.4028235e+38]
3	\N
4	[0.1,0.2,0.3]
5	[-1.1754944e-38,16777216,-3.5]
\.
SELECT id, vector_send(a.v) = vector_send(b.v) AS same_bytes
FROM vector_copy_t a JOIN vector_copy_t2 b USING (id) ORDER BY id;
TRUNCATE vector_copy_t2;

-- binary round trip through a client-side file
\copy vector_copy_t TO 'results/vector_copy.bin' WITH (FORMAT binary)
\copy vector_copy_t2 FROM 'results/vector_copy.bin' WITH (FORMAT binary)
SELECT id, b.v, vector_send(a.v) = vector_send(b.v) AS same_bytes
FROM vector_copy_t a JOIN vector_copy_t2 b USING (id) ORDER BY id;

-- binary COPY carries exactly the bytes of vector_send: uint16 dim,
-- uint16 zero, then float4 elements, all in network byte order
CREATE TABLE vector_copy_raw (id int, raw bytea);
\copy vector_copy_raw FROM 'results/vector_copy.bin' WITH (FORMAT binary)
SELECT id, raw, raw = vector_send(v) AS same_as_send
FROM vector_copy_raw JOIN vector_copy_t USING (id) ORDER BY id;
DROP TABLE vector_copy_raw;

-- binary input from other producers: hand-made files holding one value each
CREATE TABLE vector_copy_any (v vector);
-- a valid vector, then the same into a vector(3) column
\copy (SELECT '\x000200003f80000040000000'::bytea) TO 'results/vector_copy_in1.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in1.bin' WITH (FORMAT binary)
\copy vector_copy_t2 (v) FROM 'results/vector_copy_in1.bin' WITH (FORMAT binary)
-- too short for the header
\copy (SELECT '\x0001'::bytea) TO 'results/vector_copy_in2.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in2.bin' WITH (FORMAT binary)
-- zero dimensions
\copy (SELECT '\x00000000'::bytea) TO 'results/vector_copy_in3.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in3.bin' WITH (FORMAT binary)
-- 16001 dimensions
\copy (SELECT '\x3e810000'::bytea) TO 'results/vector_copy_in4.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in4.bin' WITH (FORMAT binary)
-- 0xffff dimensions (the count is a signed int16, as in pgvector: -1)
\copy (SELECT '\xffff0000'::bytea) TO 'results/vector_copy_in5.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in5.bin' WITH (FORMAT binary)
-- nonzero reserved field
\copy (SELECT '\x000100013f800000'::bytea) TO 'results/vector_copy_in6.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in6.bin' WITH (FORMAT binary)
-- fewer elements than dimensions
\copy (SELECT '\x000300003f80000040000000'::bytea) TO 'results/vector_copy_in7.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in7.bin' WITH (FORMAT binary)
-- more bytes than dimensions
\copy (SELECT '\x000100003f80000040000000'::bytea) TO 'results/vector_copy_in8.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in8.bin' WITH (FORMAT binary)
-- NaN
\copy (SELECT '\x000200003f8000007fc00000'::bytea) TO 'results/vector_copy_in9.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in9.bin' WITH (FORMAT binary)
-- -Infinity
\copy (SELECT '\x00010000ff800000'::bytea) TO 'results/vector_copy_in10.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in10.bin' WITH (FORMAT binary)
-- the same errors, showing their SQLSTATEs
\set VERBOSITY sqlstate
\copy vector_copy_t2 (v) FROM 'results/vector_copy_in1.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in2.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in3.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in4.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in5.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in6.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in7.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in8.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in9.bin' WITH (FORMAT binary)
\copy vector_copy_any FROM 'results/vector_copy_in10.bin' WITH (FORMAT binary)
\set VERBOSITY default
SELECT v FROM vector_copy_any;
DROP TABLE vector_copy_any;
DROP TABLE vector_copy_t;
DROP TABLE vector_copy_t2;

-- storage: STORAGE external moves large vectors out of line uncompressed
SELECT typstorage, typlen, typalign, typmodin, typmodout, typreceive, typsend
FROM pg_type WHERE typname = 'vector';
CREATE TABLE vector_copy_big (id int, v vector);
INSERT INTO vector_copy_big VALUES
	(1, '[1,2,3]'),
	(2, array_fill(1, ARRAY[100])),
	(3, array_fill(1, ARRAY[1000])),
	(4, array_fill(1, ARRAY[16000]));
-- the sizes as stored: a short inline header for tiny vectors, and the
-- full 4 * dim bytes of data for toasted ones (no compression)
SELECT id, vector_dims(v), pg_column_size(v) FROM vector_copy_big ORDER BY id;
SELECT pg_relation_size(reltoastrelid) > 0 AS toasted
FROM pg_class WHERE relname = 'vector_copy_big';
SELECT id, v = array_fill(1, ARRAY[vector_dims(v)])::vector AS intact, vector_norm(v)
FROM vector_copy_big WHERE id > 1 ORDER BY id;
-- 16000 dimensions through binary COPY
\copy vector_copy_big TO 'results/vector_copy_big.bin' WITH (FORMAT binary)
CREATE TABLE vector_copy_big2 (LIKE vector_copy_big);
\copy vector_copy_big2 FROM 'results/vector_copy_big.bin' WITH (FORMAT binary)
SELECT id, vector_send(a.v) = vector_send(b.v) AS same_bytes
FROM vector_copy_big a JOIN vector_copy_big2 b USING (id) ORDER BY id;
-- and through the text form
TRUNCATE vector_copy_big2;
INSERT INTO vector_copy_big2 SELECT id, v::text::vector FROM vector_copy_big;
SELECT id, vector_send(a.v) = vector_send(b.v) AS same_bytes
FROM vector_copy_big a JOIN vector_copy_big2 b USING (id) ORDER BY id;
DROP TABLE vector_copy_big;
DROP TABLE vector_copy_big2;
