--
-- compat_bit: the distances over bit strings and binary quantization as
-- pgvector behaves, statement by statement.  The expected output is
-- pgvector's own output for these statements, as
-- test/compat/differential.pl compares them (see test/compat/README.md);
-- vecpersist may add a DETAIL or HINT line, nothing else.
--

-- hamming distance: the number of differing bits
SELECT hamming_distance(B'1010', B'1010');
SELECT hamming_distance(B'1010', B'0101');
SELECT hamming_distance(B'1010', B'1000');
SELECT hamming_distance(B'0', B'1');
SELECT hamming_distance(repeat('10', 100)::bit(200), repeat('01', 100)::bit(200));
SELECT hamming_distance(repeat('1', 131)::varbit, (repeat('1', 130) || '0')::varbit);
SELECT hamming_distance(('1' || repeat('0', 70))::varbit, (repeat('0', 70) || '1')::varbit);
SELECT hamming_distance(B'', B'');
SELECT hamming_distance(B'1010', B'101');
SELECT hamming_distance(B'101', B'1010');
SELECT hamming_distance('1010'::varbit(8), '0110'::varbit(6));
SELECT B'1100' <~> B'1010';
SELECT B'1100' <~> NULL, NULL <~> B'1100';

-- jaccard distance: 1 - |a AND b| / |a OR b|
SELECT jaccard_distance(B'1100', B'1100');
SELECT jaccard_distance(B'1100', B'1010');
SELECT jaccard_distance(B'1100', B'0011');
SELECT jaccard_distance(B'1110', B'0100');
SELECT jaccard_distance(B'0000', B'1000');
SELECT jaccard_distance(B'0000', B'0000');
SELECT jaccard_distance(repeat('1', 150)::varbit, (repeat('0', 75) || repeat('1', 75))::varbit);
SELECT jaccard_distance(repeat('110', 50)::bit(150), repeat('011', 50)::bit(150));
SELECT jaccard_distance(B'', B'');
SELECT jaccard_distance(B'1100', B'110');
SELECT jaccard_distance('1100'::varbit(9), '1100'::varbit(4));
SELECT B'1100' <%> B'1010';
SELECT B'1100' <%> NULL;

-- binary quantization: one bit per element, set when it is positive
SELECT binary_quantize('[1,-1,0,0.5,-0]'::vector);
SELECT binary_quantize('[-2,-2,-2]'::vector);
SELECT binary_quantize(array_fill(1, ARRAY[70])::vector);
SELECT length(binary_quantize(array_fill(1, ARRAY[16000])::vector));
SELECT binary_quantize('[3,-1e-8,1e-8]'::halfvec);
SELECT binary_quantize(NULL::vector);
SELECT hamming_distance(binary_quantize('[1,2,-3,4]'::vector),
                        binary_quantize('[-1,2,3,4]'::vector));
SELECT jaccard_distance(binary_quantize('[1,2,-3,4]'::vector),
                        binary_quantize('[-1,2,3,4]'::halfvec));

-- in a table, ordered by distance
CREATE TABLE compat_bit_t (id int, b bit(6));
INSERT INTO compat_bit_t VALUES (1, B'111000'), (2, B'000111'), (3, B'101010'),
	(4, B'111111'), (5, B'000000'), (6, NULL);
SELECT id, b, b <~> B'111100' AS hamming FROM compat_bit_t
ORDER BY b <~> B'111100', id;
SELECT id, b, round((b <%> B'111100')::numeric, 6) AS jaccard FROM compat_bit_t
ORDER BY b <%> B'111100', id;
DROP TABLE compat_bit_t;
