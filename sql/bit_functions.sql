--
-- bit_functions: Hamming and Jaccard distances on PostgreSQL's bit type,
-- and binary quantization of vector and halfvec
--

-- Hamming distance: the number of differing bits
SELECT hamming_distance(B'1011', B'1011');
SELECT hamming_distance(B'1011', B'0011');
SELECT hamming_distance(B'1011', B'0100');
SELECT hamming_distance(B'0', B'1');
SELECT hamming_distance(''::bit varying, ''::bit varying);
SELECT hamming_distance('1100110011'::varbit, '0011001100'::varbit);
-- lengths around the 8-byte words the count works on
SELECT n, hamming_distance(repeat('10', n)::varbit, repeat('01', n)::varbit),
	hamming_distance(repeat('1', 2 * n)::varbit, repeat('0', 2 * n - 1)::varbit || B'1')
FROM unnest(ARRAY[1, 3, 4, 31, 32, 33, 63, 64, 65, 100, 1000, 32000]) n ORDER BY n;
SELECT B'1011' <~> B'0110';
SELECT pg_typeof(B'1' <~> B'0');
-- lengths must match
SELECT hamming_distance(B'101', B'10');
SELECT B'1' <~> B'';
SELECT hamming_distance(B'101', B'101'::bit(4));

-- Jaccard distance: 1 - |a AND b| / |a OR b|
SELECT jaccard_distance(B'1100', B'1100');
SELECT jaccard_distance(B'1100', B'1000');
SELECT jaccard_distance(B'1100', B'0110');
SELECT jaccard_distance(B'1100', B'0011');
SELECT jaccard_distance(B'1111', B'0000');
SELECT jaccard_distance(B'0000', B'0000');
SELECT jaccard_distance(''::varbit, ''::varbit);
SELECT jaccard_distance(B'1110000111', B'1011011101');
SELECT n, jaccard_distance(repeat('110', n)::varbit, repeat('011', n)::varbit),
	jaccard_distance(repeat('1', n)::varbit, repeat('0', n - 1)::varbit || B'1')
FROM unnest(ARRAY[1, 7, 8, 21, 22, 64, 65, 300, 21334]) n ORDER BY n;
SELECT B'1100' <%> B'0110';
SELECT jaccard_distance(B'1', B'11');
SELECT B'111' <%> B'1111';

-- NULL in, NULL out
SELECT hamming_distance(NULL, B'1'), jaccard_distance(B'1', NULL), NULL::bit <~> B'1';

-- nearest neighbours by Hamming and Jaccard distance
CREATE TABLE bit_functions_t (id int, b bit(8));
INSERT INTO bit_functions_t VALUES
	(1, B'00000000'), (2, B'11111111'), (3, B'10101010'), (4, B'11110000'),
	(5, B'00001111'), (6, B'11000000'), (7, NULL);
SELECT id, b, b <~> B'11100000' AS hamming FROM bit_functions_t ORDER BY b <~> B'11100000', id;
SELECT id, b, b <%> B'11100000' AS jaccard FROM bit_functions_t ORDER BY b <%> B'11100000', id;
DROP TABLE bit_functions_t;

-- binary_quantize: bit i is set when element i is greater than zero
SELECT binary_quantize('[1,-2,0,3.5,-0,1e-30,-1e-30]'::vector);
SELECT binary_quantize('[1,2,3,4,5,6,7,8]'::vector);
SELECT binary_quantize('[1,2,3,4,5,6,7,8,-9,10]'::vector);
SELECT binary_quantize('[-1,-1,-1,-1,-1,-1,-1,-1,-1]'::vector);
SELECT binary_quantize('[0.5,-0.5,6e-8,-6e-8,0]'::halfvec);
SELECT n, binary_quantize(v) = binary_quantize(v::halfvec) AS same,
	length(binary_quantize(v)), bit_count(binary_quantize(v))
FROM (SELECT n, (SELECT array_agg(sin(i * 1.7) ORDER BY i) FROM generate_series(1, n) i)::vector AS v
	FROM unnest(ARRAY[1, 7, 8, 9, 15, 16, 17, 100, 1000, 16000]) n) t
ORDER BY n;
SELECT pg_typeof(binary_quantize('[1]'::vector)), pg_typeof(binary_quantize('[1]'::halfvec));

-- quantized vectors compared with the bit distances
SELECT binary_quantize('[1,-1,2,-2,3,-3]'::vector) <~> binary_quantize('[1,1,2,2,3,3]'::vector);
SELECT binary_quantize('[1,-1,2,-2,3,-3]'::vector) <%> binary_quantize('[1,1,2,2,3,3]'::vector);
SELECT binary_quantize('[1,-1,2,-2]'::halfvec) <~> binary_quantize('[1,1,2,2,3,3]'::halfvec);

-- the SQLSTATE of a length mismatch
\set VERBOSITY sqlstate
SELECT hamming_distance(B'101', B'10');
SELECT jaccard_distance(B'101', B'10');
\set VERBOSITY default
