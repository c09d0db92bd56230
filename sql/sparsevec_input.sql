--
-- sparsevec_input: text input and output, typmods, limits
--

-- basic literals: 1-based indices, output in index order
SELECT '{1:1.5,3:-2}/4'::sparsevec;
SELECT '{2:3e2,4:-0.25}/4'::sparsevec;
SELECT '{1:1.,2:+2.}/2'::sparsevec;
SELECT '{1:0.1,2:0.333333343,3:16777217}/3'::sparsevec;
SELECT '{1:1e-7,2:1.5e20,3:-2e-30}/3'::sparsevec;
SELECT '{+3:1}/3'::sparsevec;
SELECT '{}/1'::sparsevec;
SELECT '{}/7'::sparsevec;

-- whitespace around every token, including \t \n \r \v \f
SELECT '  {  1 :  2  , 3:4 }  /  5  '::sparsevec;
SELECT (chr(9) || '{' || chr(10) || '1' || chr(11) || ':' || chr(12) || '2' || chr(13) || '}/' || chr(10) || '2' || chr(9))::sparsevec;
SELECT '{ }/3'::sparsevec;

-- pairs in any order are sorted; zero values are not stored
SELECT '{5:5,1:1,3:3}/5'::sparsevec;
SELECT '{1:0,2:1,3:-0,4:0.0}/4'::sparsevec;
SELECT '{1:0,2:0}/2'::sparsevec;
-- a zero value is dropped before its index is looked at
SELECT '{0:0,9:0,2:1}/2'::sparsevec;
SELECT '{2:0,2:1}/2'::sparsevec;

-- float4 range: largest, smallest normal and denormal values
SELECT '{1:3.4028235e38,2:-3.4028235e38}/2'::sparsevec;
SELECT '{1:1.1754944e-38,2:1e-45,3:-1.4e-45}/3'::sparsevec;
-- output is the shortest text that reads back as the same float
SELECT v, sparsevec_send(v::text::sparsevec) = sparsevec_send(v) AS round_trip
FROM (VALUES ('{1:0.1,2:0.333333343,3:16777217,4:1.17549435e-38,5:3.40282347e+38,6:1e-45}/9'::sparsevec)) t(v);

-- out of range, NaN and infinity
SELECT '{1:1e39}/1'::sparsevec;
SELECT '{1:-4e38}/1'::sparsevec;
-- unlike vector, an underflow to zero is an error, as in float4in
SELECT '{1:1e-50}/1'::sparsevec;
SELECT '{1:-1e-46}/1'::sparsevec;
SELECT '{1:NaN}/1'::sparsevec;
SELECT '{1:1,2:nan}/2'::sparsevec;
SELECT '{1:Infinity}/1'::sparsevec;
SELECT '{1:-inf}/1'::sparsevec;

-- malformed literals
SELECT ''::sparsevec;
SELECT '   '::sparsevec;
SELECT '[1,2]'::sparsevec;
SELECT '{'::sparsevec;
SELECT '{1'::sparsevec;
SELECT '{1:'::sparsevec;
SELECT '{1:1'::sparsevec;
SELECT '{1:1}'::sparsevec;
SELECT '{1:1} '::sparsevec;
SELECT '{1:1}3'::sparsevec;
SELECT '{1:1}/'::sparsevec;
SELECT '{1:1}/x'::sparsevec;
SELECT '{1:1}/3x'::sparsevec;
SELECT '{1:1}/3/'::sparsevec;
SELECT '{1:1}/3.0'::sparsevec;
SELECT '{1:1}/ 3 4'::sparsevec;
SELECT '{1:1,}/3'::sparsevec;
SELECT '{,1:1}/3'::sparsevec;
SELECT '{1:1,,2:1}/3'::sparsevec;
SELECT '{1:1;2:1}/3'::sparsevec;
SELECT '{1 1}/3'::sparsevec;
SELECT '{1::1}/3'::sparsevec;
SELECT '{:1}/3'::sparsevec;
SELECT '{1:}/3'::sparsevec;
SELECT '{a:1}/3'::sparsevec;
SELECT '{1.5:1}/3'::sparsevec;
SELECT '{1:1a}/3'::sparsevec;
SELECT '{1:hello}/3'::sparsevec;
SELECT '{1:1}}/3'::sparsevec;
SELECT '{{1:1}/3'::sparsevec;

-- indices: bounds, duplicates (whatever their values)
SELECT '{0:1}/3'::sparsevec;
SELECT '{-1:1}/3'::sparsevec;
SELECT '{4:1}/3'::sparsevec;
SELECT '{3:1,4:1}/3'::sparsevec;
SELECT '{1:1,1:1}/3'::sparsevec;
SELECT '{2:1,1:1,2:2}/3'::sparsevec;
-- after sorting, the first bad position decides which error is shown
SELECT '{9:1,2:1,2:2}/3'::sparsevec;
SELECT '{2:1,2:2,0:1}/3'::sparsevec;
SELECT '{2147483647:1}/3'::sparsevec;
SELECT '{2147483648:1}/3'::sparsevec;
SELECT '{99999999999999999999:1}/3'::sparsevec;
SELECT '{-2147483648:1}/3'::sparsevec;
SELECT '{-99999999999999999999:1}/3'::sparsevec;

-- dimensions: 1 to 1,000,000,000
SELECT '{}/0'::sparsevec;
SELECT '{}/-1'::sparsevec;
SELECT '{1000000000:1}/1000000000'::sparsevec;
SELECT '{}/1000000001'::sparsevec;
SELECT '{}/2147483647'::sparsevec;
SELECT '{}/2147483648'::sparsevec;
SELECT '{}/-2147483649'::sparsevec;
SELECT '{}/99999999999999999999'::sparsevec;

-- typmods
SELECT '{1:1}/3'::sparsevec(3);
SELECT '{1:1}/3'::sparsevec(2);
SELECT '{1:1}/3'::sparsevec(4);
SELECT '{}/3'::sparsevec(0);
SELECT '{}/3'::sparsevec(-1);
SELECT '{}/1000000000'::sparsevec(1000000000);
SELECT '{}/3'::sparsevec(1000000001);
SELECT '{}/3'::sparsevec(3, 2);
SELECT '{}/3'::sparsevec('a');
SELECT format_type('sparsevec'::regtype, 5), format_type('sparsevec'::regtype, -1);

CREATE TABLE sparsevec_input_t (id int, v sparsevec(3));
\d sparsevec_input_t
INSERT INTO sparsevec_input_t VALUES (1, '{1:1,3:3}/3');
INSERT INTO sparsevec_input_t VALUES (2, '{1:1}/2');
INSERT INTO sparsevec_input_t VALUES (3, '{}/4');
UPDATE sparsevec_input_t SET v = '{2:2}/2'::sparsevec WHERE id = 1;
-- the typmod applies to values computed by expressions too
INSERT INTO sparsevec_input_t SELECT 4, l2_normalize('{1:3,2:4}/3'::sparsevec);
INSERT INTO sparsevec_input_t SELECT 5, l2_normalize('{1:3,2:4}/4'::sparsevec);
SELECT * FROM sparsevec_input_t ORDER BY id;
DROP TABLE sparsevec_input_t;

-- arrays of sparsevecs apply the element typmod
SELECT unnest('{"{1:1}/2","{2:2}/2"}'::sparsevec[]);
SELECT '{"{1:1}/3"}'::sparsevec(2)[];

-- NULL in, NULL out
SELECT NULL::sparsevec;

-- 16,000 non-zero elements is the limit
SELECT l2_norm(('{' || string_agg(i || ':1', ',') || '}/16000')::sparsevec)
FROM generate_series(1, 16000) i;
SELECT ('{' || string_agg(i || ':1', ',') || '}/16001')::sparsevec
FROM generate_series(1, 16001) i;
-- the limit is checked by counting commas before anything else is parsed,
-- even when the pairs hold zeros or the literal is malformed
SELECT ('{' || string_agg(i || ':0', ',') || '}/16001')::sparsevec
FROM generate_series(1, 16001) i;
SELECT ('x' || repeat(',', 16000))::sparsevec;
-- but not the number of pairs: zeros are not stored
SELECT ('{' || string_agg(i || ':0', ',') || '}/16000')::sparsevec
FROM generate_series(1, 16000) i;

-- the output of a large value reads back unchanged
SELECT sparsevec_send(v::text::sparsevec) = sparsevec_send(v) AS round_trip, length(v::text)
FROM (SELECT ('{' || string_agg((i * 62497) || ':' || (i * 0.001 - 8), ',') || '}/1000000000')::sparsevec AS v
      FROM generate_series(1, 16000) i) t;
