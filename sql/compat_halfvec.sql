--
-- compat_halfvec: the halfvec type as pgvector behaves, statement by
-- statement.  The expected output is pgvector's own output for these
-- statements, as test/compat/differential.pl compares them (see
-- test/compat/README.md); vecpersist may add a DETAIL or HINT line, nothing
-- else.
--

-- text input and output: elements print as the float the half converts to
SELECT '[7,-8.5,0.25]'::halfvec;
SELECT '[0.1,0.2,0.3]'::halfvec;
SELECT '[2.,-0,+3]'::halfvec;
SELECT E'\t[ 9 ,\n10 ]\r '::halfvec;
SELECT '[3.14159]'::halfvec;
SELECT '[2049,4097,1e4]'::halfvec;
SELECT '[65504,-65504]'::halfvec;
SELECT '[65510,-65519.9]'::halfvec;
SELECT '[65520]'::halfvec;
SELECT '[-1e5]'::halfvec;
SELECT '[6e-8,-6e-8,5.9604645e-08]'::halfvec;
SELECT '[2e-8,-2e-8]'::halfvec;
SELECT '[3e38]'::halfvec;
SELECT '[5e38]'::halfvec;
SELECT '[1e-50]'::halfvec;

-- malformed input
SELECT '[x]'::halfvec;
SELECT '[4,y]'::halfvec;
SELECT '[4q]'::halfvec;
SELECT '[4,5'::halfvec;
SELECT '[4,5]]'::halfvec;
SELECT '[4,5] 6'::halfvec;
SELECT '4,5'::halfvec;
SELECT '  '::halfvec;
SELECT '[  '::halfvec;
SELECT '[,4]'::halfvec;
SELECT '[4,]'::halfvec;
SELECT '[4,,5]'::halfvec;
SELECT '[4 5]'::halfvec;
SELECT '[]'::halfvec;
SELECT '[  ]'::halfvec;
SELECT '[nan]'::halfvec;
SELECT '[4,inf]'::halfvec;
SELECT '[-infinity]'::halfvec;

-- type modifiers and arrays
SELECT '[7,8]'::halfvec(2);
SELECT '[7,8]'::halfvec(3);
SELECT '[7,8]'::halfvec(2, 2);
SELECT '[7,8]'::halfvec('x');
SELECT '[7,8]'::halfvec(-1);
SELECT '[7,8]'::halfvec(0);
SELECT '[7,8]'::halfvec(16000);
SELECT '[7,8]'::halfvec(16001);
SELECT vector_dims(('[' || repeat('1,', 15999) || '2]')::halfvec);
SELECT ('[' || repeat('1,', 16000) || '2]')::halfvec;
SELECT format_type('halfvec'::regtype, 9), format_type('halfvec'::regtype, -1);
SELECT '{"[7,8]","[9,10]",NULL}'::halfvec[];
SELECT unnest('{"[7,8]","[9,10,11]"}'::halfvec[]);
SELECT '{"[7,8]","[9,10,11]"}'::halfvec(2)[];

-- casts from arrays
SELECT ARRAY[7,8,9]::halfvec;
SELECT ARRAY[0.1,-2.5]::numeric[]::halfvec;
SELECT '{0.1,-2.5}'::real[]::halfvec, '{0.1,-2.5}'::float8[]::halfvec;
SELECT '{7,8}'::int[]::halfvec(2);
SELECT '{7,8}'::real[]::halfvec(3);
SELECT '{7,NULL}'::int[]::halfvec;
SELECT '{}'::float8[]::halfvec;
SELECT '{{7},{8}}'::real[]::halfvec;
SELECT '{NaN}'::real[]::halfvec;
SELECT '{-Infinity,1}'::float8[]::halfvec;
SELECT '{70000}'::int[]::halfvec;
SELECT '{-65520}'::float8[]::halfvec;
SELECT '{1e-9,-1e-9}'::numeric[]::halfvec;
SELECT array_fill(3, ARRAY[16001])::halfvec;
SELECT array_to_halfvec('{7,8}'::int[], 2, true);

-- casts to and from the other types
SELECT '[7,8.5,-9]'::halfvec::real[];
SELECT halfvec_to_float4('[7,8.5]'::halfvec, -1, false);
SELECT '[7,8.5,-9]'::halfvec::vector;
SELECT '[7,8.5,-9]'::halfvec::vector(2);
SELECT '[0.1,1e-6]'::vector::halfvec;
SELECT '[7,8.5,-9]'::vector::halfvec(3);
SELECT '[7,8.5,-9]'::vector::halfvec(4);
SELECT '[70000]'::vector::halfvec;
SELECT '[-3e-8]'::vector::halfvec;
SELECT '[0,-7,0,0,8.5]'::halfvec::sparsevec;
SELECT '[0,-7,0,0,8.5]'::halfvec::sparsevec(5);
SELECT '[0,-7,0,0,8.5]'::halfvec::sparsevec(6);
SELECT '[0,-0,0]'::halfvec::sparsevec;
SELECT '{3:-7,5:0.1}/6'::sparsevec::halfvec;
SELECT '{3:-7,5:0.1}/6'::sparsevec::halfvec(6);
SELECT '{3:-7,5:0.1}/6'::sparsevec::halfvec(5);
SELECT '{}/3'::sparsevec::halfvec;
SELECT '{}/16000'::sparsevec::halfvec = array_fill(0, ARRAY[16000])::halfvec;
SELECT '{1:1}/20000'::sparsevec::halfvec;
SELECT '{2:-70000}/2'::sparsevec::halfvec;
SELECT '{1:2e-8,2:-2e-8}/2'::sparsevec::halfvec;
SELECT '[7,8]'::halfvec::text, '[7,8]'::text::halfvec;

-- assignment into a halfvec column
CREATE TABLE compat_halfvec_t (id int, v halfvec(3));
INSERT INTO compat_halfvec_t VALUES (1, '[1,2,3]'), (2, ARRAY[4,5,6]),
	(3, '[7,8,9]'::vector), (4, '{1:-1,3:1}/3'::sparsevec), (5, NULL);
INSERT INTO compat_halfvec_t VALUES (6, '[1,2]');
INSERT INTO compat_halfvec_t VALUES (6, ARRAY[1,2,3,4]);
SELECT id, v FROM compat_halfvec_t ORDER BY id;
UPDATE compat_halfvec_t SET v = v * '[2,2,2]' WHERE id < 3;
SELECT id, v, v::real[] AS a FROM compat_halfvec_t ORDER BY v, id;
DROP TABLE compat_halfvec_t;

-- arithmetic and concatenation
SELECT '[7,8,9]'::halfvec + '[0.5,-8,1000]';
SELECT '[7,8,9]'::halfvec - '[0.5,-8,1000]';
SELECT '[7,8,9]'::halfvec * '[0.5,-8,1000]';
SELECT '[7,8]'::halfvec + '[1]';
SELECT '[7]'::halfvec - '[1,2]';
SELECT '[7,8]'::halfvec * '[1,2,3]';
SELECT '[40000]'::halfvec + '[30000]';
SELECT '[-40000]'::halfvec - '[30000]';
SELECT '[300]'::halfvec * '[300]';
SELECT '[1e-4]'::halfvec * '[1e-4]';
SELECT '[0.1]'::halfvec + '[0.2]';
SELECT '[7,8]'::halfvec || '[9]';
SELECT '[7]'::halfvec || '[8,9,10]';
SELECT vector_dims(array_fill(1, ARRAY[15999])::halfvec || '[2]');
SELECT array_fill(1, ARRAY[15999])::halfvec || '[2,3]';

-- comparison and sorting
SELECT '[7,8]'::halfvec < '[7,9]', '[7,8]'::halfvec <= '[7,8]',
       '[7,8]'::halfvec = '[7,8]', '[7,8]'::halfvec <> '[7,8]',
       '[7,8]'::halfvec >= '[7,9]', '[7,8]'::halfvec > '[6,99]';
SELECT '[7,8]'::halfvec < '[7,8,0]', '[7,8]'::halfvec = '[7,8,0]',
       '[8]'::halfvec > '[7,9,9]', '[-0]'::halfvec = '[0]';
SELECT halfvec_cmp('[7,8]', '[7,8]'), halfvec_cmp('[7,8]', '[7,9]'),
       halfvec_cmp('[7,9]', '[7,8]'), halfvec_cmp('[7]', '[7,8]'),
       halfvec_cmp('[7,8]', '[7]'), halfvec_cmp('[6,9]', '[7]'),
       halfvec_cmp('[8]', '[7,9]');
SELECT v FROM unnest('{"[3,1]","[1,2,3]","[1,2]","[1]",NULL,"[-1,5]"}'::halfvec[]) v
ORDER BY v;

-- dims and norm
SELECT vector_dims('[7,8,9,10,11]'::halfvec);
SELECT l2_norm('[5,12]'::halfvec);
SELECT l2_norm('[0.5,0.5,0.5,0.5]'::halfvec);
SELECT l2_norm('[0,0]'::halfvec);
SELECT l2_norm('[-7]'::halfvec);
SELECT l2_norm('[65504,65504]'::halfvec);
SELECT l2_norm('[0.1,0.2,0.3]'::halfvec);

-- distances and their operators
SELECT l2_distance('[1,2]'::halfvec, '[4,6]');
SELECT l2_distance('[1,2]'::halfvec, '[4]');
SELECT l2_distance('[65504]'::halfvec, '[-65504]');
SELECT l2_distance('[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1,1.1]'::halfvec,
                   '[1.1,1,0.9,0.8,0.7,0.6,0.5,0.4,0.3,0.2,0.1]');
SELECT halfvec_l2_squared_distance('[1,2]'::halfvec, '[4,6]');
SELECT '[1,2]'::halfvec <-> '[4,6]';
SELECT inner_product('[1,-2,3]'::halfvec, '[5,6,-7]');
SELECT inner_product('[1,-2,3]'::halfvec, '[5,6]');
SELECT inner_product('[60000,60000]'::halfvec, '[60000,60000]');
SELECT inner_product('[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1]'::halfvec,
                     '[1,0.9,0.8,0.7,0.6,0.5,0.4,0.3,0.2,0.1]');
SELECT halfvec_negative_inner_product('[1,-2,3]'::halfvec, '[5,6,-7]');
SELECT '[1,-2,3]'::halfvec <#> '[5,6,-7]';
SELECT cosine_distance('[5,12]'::halfvec, '[10,24]');
SELECT cosine_distance('[5,12]'::halfvec, '[-5,-12]');
SELECT cosine_distance('[0,3]'::halfvec, '[4,0]');
SELECT cosine_distance('[5,12]'::halfvec, '[0,0]');
SELECT cosine_distance('[0,0]'::halfvec, '[0,0]');
SELECT cosine_distance('[3,3]'::halfvec, '[3.3,3.3]');
SELECT cosine_distance('[5,12]'::halfvec, '[5]');
SELECT cosine_distance('[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1]'::halfvec,
                       '[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1]');
SELECT '[5,12]'::halfvec <=> '[12,5]';
SELECT l1_distance('[1,2]'::halfvec, '[4,-6]');
SELECT l1_distance('[1,2]'::halfvec, '[4]');
SELECT l1_distance('[65504]'::halfvec, '[-65504]');
SELECT l1_distance('[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1,1.1]'::halfvec,
                   '[1.1,1,0.9,0.8,0.7,0.6,0.5,0.4,0.3,0.2,0.1]');
SELECT '[1,2]'::halfvec <+> '[4,-6]';
SELECT halfvec_spherical_distance('[1,0]'::halfvec, '[0,1]'),
       halfvec_spherical_distance('[0,1]'::halfvec, '[0,1]'),
       halfvec_spherical_distance('[0,-1]'::halfvec, '[0,1]');
SELECT halfvec_spherical_distance('[1,0]'::halfvec, '[1]');
SELECT '[1,1]'::halfvec <-> NULL, NULL <=> '[1,1]'::halfvec;

-- normalization, quantization, subvector
SELECT l2_normalize('[5,12]'::halfvec);
SELECT l2_normalize('[0,-7]'::halfvec);
SELECT l2_normalize('[0.001,0]'::halfvec);
SELECT l2_normalize('[0,0,0]'::halfvec);
SELECT l2_normalize('[65504,65504]'::halfvec);
SELECT l2_normalize('[6e-8]'::halfvec);
SELECT binary_quantize('[2,-0,-3,0.5]'::halfvec);
SELECT binary_quantize('[-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1]'::halfvec);
SELECT subvector('[10,20,30,40,50]'::halfvec, 2, 2);
SELECT subvector('[10,20,30,40,50]'::halfvec, 5, 1);
SELECT subvector('[10,20,30,40,50]'::halfvec, 4, 10);
SELECT subvector('[10,20,30,40,50]'::halfvec, 0, 3);
SELECT subvector('[10,20,30,40,50]'::halfvec, -3, 4);
SELECT subvector('[10,20,30,40,50]'::halfvec, 2, 0);
SELECT subvector('[10,20,30,40,50]'::halfvec, 6, 1);
SELECT subvector('[10,20,30,40,50]'::halfvec, 2, 2147483647);
SELECT subvector('[10,20,30,40,50]'::halfvec, -2147483648, 2147483647);

-- aggregates
SELECT avg(v), sum(v) FROM (VALUES ('[2,4,8]'::halfvec), ('[4,6,10]'), ('[0,2,1]')) t(v);
SELECT avg(v), sum(v) FROM (VALUES ('[2,4]'::halfvec), (NULL), ('[4,8]')) t(v);
SELECT avg(v), sum(v) FROM (VALUES (NULL::halfvec)) t(v);
SELECT avg(v) FROM (VALUES ('[1,2]'::halfvec), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::halfvec), ('[1]')) t(v);
SELECT avg(v) FROM (VALUES ('[60000]'::halfvec), ('[60000]'), ('[60000]')) t(v);
SELECT sum(v) FROM (VALUES ('[60000]'::halfvec), ('[60000]')) t(v);
SELECT avg(v) FROM (VALUES ('[0.1]'::halfvec), ('[0.2]'), ('[0.4]')) t(v);
SELECT g % 3 AS k, avg(v), sum(v)
FROM generate_series(1, 9) g, LATERAL (SELECT ARRAY[g, -g]::halfvec) t(v)
GROUP BY 1 ORDER BY 1;

-- the aggregate support functions, called directly
SELECT halfvec_accum('{0}', '[2,4]');
SELECT halfvec_accum('{2,1,1}', '[2,4]');
SELECT halfvec_accum('{2,1,1}', '[2,4,6]');
SELECT halfvec_accum('{{2,1,1}}', '[2,4]');
SELECT halfvec_accum('{2,NULL,1}', '[2,4]');
SELECT halfvec_accum('{}', '[2,4]');
SELECT halfvec_combine('{2,4,6}', '{1,1,1}');
SELECT halfvec_combine('{0}', '{1,1,1}');
SELECT halfvec_combine('{2,4,6}', '{1,1}');
SELECT halfvec_combine('{2,4,6}', '{NULL}');
SELECT halfvec_avg('{2,4,6}');
SELECT halfvec_avg('{4,2,6,1e6}');
SELECT halfvec_avg('{0}');
SELECT halfvec_avg('{2}');
SELECT halfvec_avg('{{2,4,6}}');
SELECT halfvec_avg('{2,4,NULL}');
SELECT halfvec_avg('{}');
SELECT halfvec_avg(array_fill(1::float8, ARRAY[16002]));

-- binary output
SELECT halfvec_send('[1,-2,0.5]'::halfvec);
SELECT halfvec_send('[-0,65504,6e-8]'::halfvec);
