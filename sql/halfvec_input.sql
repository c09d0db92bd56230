--
-- halfvec_input: text input and output, typmods, limits, the binary
-- format and storage of the halfvec type
--

-- literals and their output: each element is a half, printed as the
-- shortest decimal of that half's float value
SELECT '[4,5,6]'::halfvec;
SELECT '[-7.5,0.25,1024]'::halfvec;
SELECT '[4.,-5.]'::halfvec;
SELECT '[+2,-0,0]'::halfvec;
SELECT '[2e1,-3.5e-2]'::halfvec;
SELECT '[0.1,0.2,0.3,0.7]'::halfvec;
SELECT '[3.14159265,2.71828183,1.41421356]'::halfvec;
SELECT '[2049,4097,8193,-32769]'::halfvec;
SELECT '[1000.3,1000.7,12345.678]'::halfvec;

-- round to nearest, ties to even: 2049 and 2051 are ties between
-- representable halves (2048, 2050, 2052)
SELECT '[2049,2051,2053,-2049]'::halfvec;
-- 1 + 2^-11 is a tie (goes down to 1), just above it goes up
SELECT '[1.00048828125,1.0004883,1.00146484375]'::halfvec;

-- the largest finite half and the edge of rounding to it
SELECT '[65504,-65504]'::halfvec;
SELECT '[65519.99,-65519.99]'::halfvec;
-- smallest normal half, subnormals, and what underflows to zero
SELECT '[6.1035156e-05,-6.1035156e-05]'::halfvec;
SELECT '[5.9604645e-08,1e-07,3e-08,2.9802322e-08,2.9802326e-08]'::halfvec;
SELECT '[6.0975552e-05,0.00001,1e-10,-1e-20]'::halfvec;
-- beyond float's range at the small end rounds to zero as well
SELECT '[1e-50,-1e-60]'::halfvec;

-- whitespace around tokens: space, \t \n \r \v \f
SELECT '  [ 7 ,8,  9 ]  '::halfvec;
SELECT (chr(11) || '[' || chr(9) || '1' || chr(13) || ',' || chr(12) || '2' || chr(10) || ']' || chr(9))::halfvec;

-- text round trip: output reads back as the same halfvec
SELECT v::text::halfvec = v AS round_trip, halfvec_send(v::text::halfvec) = halfvec_send(v) AS same_bytes
FROM (VALUES ('[0.1,-0.333,65504,5.9604645e-08,6.1e-05,-0,1234.5]'::halfvec)) t(v);

-- malformed literals
SELECT '[4,5'::halfvec;
SELECT '[4,5,'::halfvec;
SELECT '4,5,6'::halfvec;
SELECT '(4,5,6)'::halfvec;
SELECT ''::halfvec;
SELECT '  '::halfvec;
SELECT '['::halfvec;
SELECT '[  '::halfvec;
SELECT '[;'::halfvec;
SELECT '[,4]'::halfvec;
SELECT '[4,]'::halfvec;
SELECT '[4,,6]'::halfvec;
SELECT '[4,  ,6]'::halfvec;
SELECT '[4 5]'::halfvec;
SELECT '[4x]'::halfvec;
SELECT '[abc]'::halfvec;
SELECT '[4;5]'::halfvec;
SELECT '[4,5]6'::halfvec;
SELECT '[4,5] ]'::halfvec;

-- no dimensions
SELECT '[]'::halfvec;
SELECT '[   ]'::halfvec;

-- NaN and infinity are refused; finite values beyond a half's range are
-- out of range, whether they fit a float or not
SELECT '[4,nan]'::halfvec;
SELECT '[NaN]'::halfvec;
SELECT '[inf,4]'::halfvec;
SELECT '[4,-Infinity]'::halfvec;
SELECT '[65520]'::halfvec;
SELECT '[-65520]'::halfvec;
SELECT '[4,70000,5]'::halfvec;
SELECT '[1e5]'::halfvec;
SELECT '[3.5e38]'::halfvec;
SELECT '[-1e39,4]'::halfvec;
SELECT '[1e400]'::halfvec;

-- typmods
SELECT '[4,5,6]'::halfvec(3);
SELECT '[4,5,6]'::halfvec(4);
SELECT '[4,5,6]'::halfvec(2);
SELECT '[4,5,6]'::halfvec(1, 2);
SELECT '[4,5,6]'::halfvec('x');
SELECT '[4]'::halfvec(0);
SELECT '[4]'::halfvec(-3);
SELECT '[4]'::halfvec(16000);
SELECT '[4]'::halfvec(16001);
SELECT format_type('halfvec'::regtype, 7);
CREATE TABLE halfvec_input_t (v halfvec(3));
\d halfvec_input_t
INSERT INTO halfvec_input_t VALUES ('[1,2,3]'), (NULL);
INSERT INTO halfvec_input_t VALUES ('[1,2]');
INSERT INTO halfvec_input_t VALUES ('[1,2,3,4]');
SELECT * FROM halfvec_input_t;
DROP TABLE halfvec_input_t;

-- arrays of halfvec
SELECT '{"[4,5]","[6,7.5]"}'::halfvec[];
SELECT unnest('{"[1,2,3]","[0.5,0.25,0.125]"}'::halfvec[]);
SELECT '{"[4,5]","[6,7.5]"}'::halfvec(2)[];
SELECT '{"[4,5]","[6,7,8]"}'::halfvec(2)[];
SELECT ARRAY['[1,2]'::halfvec, '[3]'];

-- the dimension limit
SELECT vector_dims(array_fill(1.5, ARRAY[16000])::halfvec);
SELECT vector_dims(('[' || repeat('1,', 15999) || '1]')::halfvec);
SELECT ('[' || repeat('1,', 16000) || '1]')::halfvec;
SELECT ('[' || repeat('1,', 20000) || ']')::halfvec;

-- the binary format: uint16 dim, uint16 zero, then binary16 elements,
-- all in network byte order
SELECT halfvec_send('[1,-2,0.5]');
SELECT halfvec_send('[65504,-0,5.9604645e-08,0.1]');
SELECT halfvec_send(array_fill(1, ARRAY[300])::halfvec) = decode('012c0000' || repeat('3c00', 300), 'hex') AS same;

-- binary COPY round trip, including a 16000-dimension value
CREATE TABLE halfvec_input_copy (id int, v halfvec);
INSERT INTO halfvec_input_copy VALUES
	(1, '[1,2,3]'), (2, NULL), (3, '[-0.1,65504,-65504,6e-08]'),
	(4, array_fill(-2.5, ARRAY[16000])::halfvec);
\copy halfvec_input_copy TO 'results/halfvec_input.bin' WITH (FORMAT binary)
CREATE TABLE halfvec_input_copy2 (LIKE halfvec_input_copy);
\copy halfvec_input_copy2 FROM 'results/halfvec_input.bin' WITH (FORMAT binary)
SELECT id, halfvec_send(a.v) = halfvec_send(b.v) AS same_bytes, vector_dims(b.v)
FROM halfvec_input_copy a JOIN halfvec_input_copy2 b USING (id) ORDER BY id;
-- binary COPY carries exactly halfvec_send's bytes
CREATE TABLE halfvec_input_raw (id int, raw bytea);
\copy halfvec_input_raw FROM 'results/halfvec_input.bin' WITH (FORMAT binary)
SELECT id, raw = halfvec_send(v) AS same_as_send
FROM halfvec_input_raw JOIN halfvec_input_copy USING (id) ORDER BY id;
-- and text COPY
COPY (SELECT * FROM halfvec_input_copy WHERE id < 4 ORDER BY id) TO STDOUT;
DROP TABLE halfvec_input_raw;
DROP TABLE halfvec_input_copy;
DROP TABLE halfvec_input_copy2;

-- hand-made binary input
CREATE TABLE halfvec_input_any (v halfvec);
-- [1,-2]
\copy (SELECT '\x000200003c00c000'::bytea) TO 'results/halfvec_input_b1.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b1.bin' WITH (FORMAT binary)
SELECT v FROM halfvec_input_any;
-- into a halfvec(3) column
CREATE TABLE halfvec_input_three (v halfvec(3));
\copy halfvec_input_three FROM 'results/halfvec_input_b1.bin' WITH (FORMAT binary)
DROP TABLE halfvec_input_three;
-- the header alone is cut short
\copy (SELECT '\x0002'::bytea) TO 'results/halfvec_input_b2.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b2.bin' WITH (FORMAT binary)
-- fewer elements than dimensions
\copy (SELECT '\x000300003c00c000'::bytea) TO 'results/halfvec_input_b3.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b3.bin' WITH (FORMAT binary)
-- zero dimensions
\copy (SELECT '\x00000000'::bytea) TO 'results/halfvec_input_b4.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b4.bin' WITH (FORMAT binary)
-- 16001 dimensions, and 0xfffe (the count is unsigned)
\copy (SELECT '\x3e810000'::bytea) TO 'results/halfvec_input_b5.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b5.bin' WITH (FORMAT binary)
\copy (SELECT '\xfffe0000'::bytea) TO 'results/halfvec_input_b6.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b6.bin' WITH (FORMAT binary)
-- a nonzero reserved field
\copy (SELECT '\x000100073c00'::bytea) TO 'results/halfvec_input_b7.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b7.bin' WITH (FORMAT binary)
\copy (SELECT '\x0001f0003c00'::bytea) TO 'results/halfvec_input_b8.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b8.bin' WITH (FORMAT binary)
-- NaN, +Infinity and -Infinity elements
\copy (SELECT '\x000200003c007c01'::bytea) TO 'results/halfvec_input_b9.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b9.bin' WITH (FORMAT binary)
\copy (SELECT '\x000100007c00'::bytea) TO 'results/halfvec_input_b10.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b10.bin' WITH (FORMAT binary)
\copy (SELECT '\x00010000fc00'::bytea) TO 'results/halfvec_input_b11.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b11.bin' WITH (FORMAT binary)
-- every element bit pattern but NaN and infinity is accepted as is
\copy (SELECT '\x000400007bff00018001fbff'::bytea) TO 'results/halfvec_input_b12.bin' WITH (FORMAT binary)
\copy halfvec_input_any FROM 'results/halfvec_input_b12.bin' WITH (FORMAT binary)
SELECT v, halfvec_send(v) FROM halfvec_input_any;
DROP TABLE halfvec_input_any;

-- the SQLSTATEs of input errors
\set VERBOSITY sqlstate
SELECT '[4,5'::halfvec;
SELECT '[]'::halfvec;
SELECT '[nan]'::halfvec;
SELECT '[inf]'::halfvec;
SELECT '[70000]'::halfvec;
SELECT '[4,5]'::halfvec(3);
SELECT '[4]'::halfvec(16001);
SELECT ('[' || repeat('1,', 16000) || '1]')::halfvec;
\set VERBOSITY default

-- storage: like vector, STORAGE external (no compression attempt)
SELECT typname, typstorage, typlen, typalign, typmodin, typreceive, typsend
FROM pg_type WHERE typname = 'halfvec';
CREATE TABLE halfvec_input_big (id int, v halfvec);
INSERT INTO halfvec_input_big VALUES
	(1, '[1,2,3]'), (2, array_fill(1, ARRAY[1000])), (3, array_fill(1, ARRAY[16000]));
SELECT id, vector_dims(v), pg_column_size(v) FROM halfvec_input_big ORDER BY id;
SELECT id, v = array_fill(1, ARRAY[vector_dims(v)])::halfvec AS intact
FROM halfvec_input_big WHERE id > 1 ORDER BY id;
DROP TABLE halfvec_input_big;
