--
-- vector_input: text input and output, typmods, limits
--

-- basic literals and output formatting
SELECT '[1,2,3]'::vector;
SELECT '[-1,-2.5,3e2]'::vector;
SELECT '[1.,2.,3.]'::vector;
SELECT '[0.1,0.2,0.3]'::vector;
SELECT '[1.23456789,-0.000123,123456789]'::vector;
SELECT '[1e-7,1.5e20,-2e-30]'::vector;
SELECT '[0,-0]'::vector;
SELECT '[+1,+2]'::vector;

-- whitespace around tokens, including \t \n \r \v \f
SELECT ' [ 1 ,  2 ,3  ] '::vector;
SELECT (chr(9) || '[' || chr(10) || '1,' || chr(13) || '2' || chr(11) || ',' || chr(12) || '3]' || chr(10))::vector;

-- float4 range: largest, smallest normal and denormal values
SELECT '[3.4028235e38,-3.4028235e38]'::vector;
SELECT '[1.1754944e-38,1e-45]'::vector;
-- underflow below the denormal range rounds to zero, like float4in
SELECT '[1e-50,-1e-50]'::vector;

-- output is the shortest text that reads back as the same float
SELECT v, vector_send(v::text::vector) = vector_send(v) AS round_trip
FROM (VALUES ('[0.1,0.333333343,16777217,1.17549435e-38,3.40282347e+38,-0,1e-45]'::vector)) t(v);

-- malformed literals
SELECT '[1,2'::vector;
SELECT '[1,2,'::vector;
SELECT '1,2,3'::vector;
SELECT ''::vector;
SELECT '['::vector;
SELECT '[ '::vector;
SELECT '[,'::vector;
SELECT '[,]'::vector;
SELECT '[1,]'::vector;
SELECT '[1,,3]'::vector;
SELECT '[1, ,3]'::vector;
SELECT '[1 2]'::vector;
SELECT '[1a]'::vector;
SELECT '[hello]'::vector;
SELECT '[1;2]'::vector;
SELECT '[1,2]x'::vector;
SELECT '[1,2]]'::vector;
SELECT '{1,2}'::vector;

-- empty, NaN, infinity, out of range
SELECT '[]'::vector;
SELECT '[ ]'::vector;
SELECT '[NaN,1]'::vector;
SELECT '[1,nan]'::vector;
SELECT '[Infinity,1]'::vector;
SELECT '[1,-inf]'::vector;
SELECT '[1e39]'::vector;
SELECT '[1,-4e38]'::vector;

-- typmods
SELECT '[1,2,3]'::vector(3);
SELECT '[1,2]'::vector(3);
SELECT '[1,2,3]'::vector(2);
SELECT '[1,2,3]'::vector(0);
SELECT '[1,2,3]'::vector(-1);
SELECT '[1,2,3]'::vector(16001);
SELECT '[1,2,3]'::vector(3, 2);
SELECT '[1,2,3]'::vector('a');
SELECT format_type('vector'::regtype, 3), format_type('vector'::regtype, -1);

CREATE TABLE vector_input_t (id int, v vector(3));
\d vector_input_t
INSERT INTO vector_input_t VALUES (1, '[1,2,3]');
INSERT INTO vector_input_t VALUES (2, '[1,2]');
INSERT INTO vector_input_t VALUES (3, '[1,2,3,4]');
-- the typmod applies to updates and to vectors computed by expressions
UPDATE vector_input_t SET v = '[1,2]'::vector WHERE id = 1;
INSERT INTO vector_input_t SELECT 4, subvector('[1,2,3,4]'::vector, 1, 2);
INSERT INTO vector_input_t SELECT 5, subvector('[1,2,3,4]'::vector, 2, 3);
SELECT * FROM vector_input_t ORDER BY id;
DROP TABLE vector_input_t;

-- arrays of vectors apply the element typmod
SELECT unnest('{"[1,2,3]","[4,5,6]"}'::vector[]);
SELECT '{"[1,2,3]"}'::vector(2)[];

-- NULL in, NULL out
SELECT NULL::vector;

-- 16000 dimensions is the limit, for text input and for typmods
SELECT vector_dims(('[' || array_to_string(array_fill(1.5, ARRAY[16000]), ',') || ']')::vector);
SELECT vector_dims(('[' || array_to_string(array_fill(1.5, ARRAY[16000]), ',') || ']')::vector(16000));
SELECT ('[' || array_to_string(array_fill(1.5, ARRAY[16001]), ',') || ']')::vector;
-- the output of a 16000-dimension vector reads back unchanged
SELECT vector_send(v::text::vector) = vector_send(v) AS round_trip, length(v::text)
FROM (SELECT ('[' || string_agg((i * 0.001)::text, ',') || ']')::vector AS v
      FROM generate_series(-8000, 7999) i) t;
