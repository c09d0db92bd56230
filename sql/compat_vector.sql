--
-- compat_vector: the vector type as pgvector behaves, statement by statement.
-- The expected output is pgvector's own output for these statements, as
-- test/compat/differential.pl compares them (see test/compat/README.md);
-- vecpersist may add a DETAIL or HINT line, nothing else.
--

-- text input and output
SELECT '[4,5,6]'::vector;
SELECT '[-7.5,0.25,-0]'::vector;
SELECT '[2.,3.,4.]'::vector;
SELECT (E' \t[\n7 ,\r8\f, 9' || chr(11) || ']  ')::vector;
SELECT '[0.1,0.2,0.3]'::vector;
SELECT '[3.14159265358979]'::vector;
SELECT '[123456789,0.000123456789]'::vector;
SELECT '[1e10,-2.5E-10,+6]'::vector;
SELECT '[3.4028235e38,-3.4028235e+38]'::vector;
SELECT '[1.17549435e-38,1e-45]'::vector;
SELECT '[2e-50,-2e-50]'::vector;
SELECT '[16777217]'::vector;
SELECT '[0x10]'::vector;

-- malformed input
SELECT '[abc]'::vector;
SELECT '[2,x]'::vector;
SELECT '[2x,3]'::vector;
SELECT '[2,3'::vector;
SELECT '[2,3]]'::vector;
SELECT '[2,3] x'::vector;
SELECT '2,3'::vector;
SELECT '(2,3)'::vector;
SELECT ' '::vector;
SELECT '['::vector;
SELECT '[   '::vector;
SELECT '[,2]'::vector;
SELECT '[2,]'::vector;
SELECT '[2,,3]'::vector;
SELECT '[2, ,3]'::vector;
SELECT '[2 3]'::vector;
SELECT '[]'::vector;
SELECT '[    ]'::vector;

-- element values
SELECT '[nan]'::vector;
SELECT '[2,NaN]'::vector;
SELECT '[inf]'::vector;
SELECT '[2,-infinity]'::vector;
SELECT '[5e38]'::vector;
SELECT '[2,-5e38]'::vector;
SELECT '[1e400]'::vector;

-- type modifiers
SELECT '[4,5]'::vector(2);
SELECT '[4,5]'::vector(3);
SELECT '[4,5]'::vector(2, 1);
SELECT '[4,5]'::vector('two');
SELECT '[4,5]'::vector(-2);
SELECT '[4,5]'::vector(0);
SELECT '[4,5]'::vector(16000);
SELECT '[4,5]'::vector(16001);
SELECT ('[' || repeat('0,', 15999) || '1]')::vector(16000) = (array_fill(0, ARRAY[15999]) || 1)::vector;
SELECT vector_dims(('[' || repeat('1,', 16000) || '1]')::vector);
SELECT '[4,5]'::vector::vector(2);
SELECT '[4,5]'::vector::vector(5);
SELECT vector('[4,5]'::vector, 2, false);
SELECT vector('[4,5]'::vector, 4, true);
SELECT vector_in('[4,5]', 0, -1);
SELECT vector_in('[4,5]', 0, 3);
SELECT vector_typmod_in('{12}'::cstring[]);
SELECT vector_typmod_in('{0}'::cstring[]);
SELECT vector_typmod_in('{1,2}'::cstring[]);
SELECT format_type('vector'::regtype, 12), format_type('vector'::regtype, -1);

-- arrays of vectors
SELECT '{"[4,5]","[6,7]",NULL}'::vector[];
SELECT unnest('{"[4,5]","[6,7,8]"}'::vector[]);
SELECT '{"[4,5]","[6,7]"}'::vector(2)[];
SELECT '{"[4,5]","[6,7,8]"}'::vector(2)[];
SELECT array_length(ARRAY['[1]'::vector, '[2]'], 1);

-- arithmetic
SELECT '[4,5,6]'::vector + '[0.5,-5,1e6]';
SELECT '[4,5,6]'::vector - '[0.5,-5,1e6]';
SELECT '[4,5,6]'::vector * '[0.5,-5,1e6]';
SELECT '[4,5]'::vector + '[6]';
SELECT '[4]'::vector - '[5,6]';
SELECT '[4,5]'::vector * '[6,7,8]';
SELECT '[2e38,1]'::vector + '[2e38,1]';
SELECT '[1,-2e38]'::vector - '[1,2e38]';
SELECT '[1e30]'::vector * '[-1e30]';
SELECT '[1e-30,2]'::vector * '[1e-30,3]';
SELECT '[0,2]'::vector * '[1e-30,3]';
SELECT '[1e-20]'::vector * '[1e-20]';

-- comparison and sorting
SELECT '[1,2]'::vector < '[1,3]', '[1,2]'::vector <= '[1,2]',
       '[1,2]'::vector = '[1,2]', '[1,2]'::vector <> '[1,2]',
       '[1,2]'::vector >= '[1,3]', '[1,2]'::vector > '[0,9]';
SELECT '[1,2]'::vector < '[1,2,0]', '[1,2]'::vector = '[1,2,0]',
       '[1,2,0]'::vector > '[1,2]', '[2]'::vector > '[1,9,9]';
SELECT '[-0]'::vector = '[0]';
SELECT vector_cmp('[5,6]', '[5,6]'), vector_cmp('[5,6]', '[5,7]'),
       vector_cmp('[5,7]', '[5,6]');
SELECT vector_cmp('[5]', '[5,6]'), vector_cmp('[5,6]', '[5]'),
       vector_cmp('[4,9]', '[5]'), vector_cmp('[6]', '[5,9]');
SELECT v FROM unnest('{"[2,1]","[1,2,3]","[1,2]","[1]",NULL,"[-1,5]"}'::vector[]) v
ORDER BY v;
SELECT v FROM unnest('{"[2,1]","[1,2,3]","[1,2]","[1]","[-1,5]"}'::vector[]) v
ORDER BY v DESC;

-- dims and norm
SELECT vector_dims('[7,8,9,10]'::vector);
SELECT vector_dims('[7,8,9,10]'::vector(4));
SELECT vector_norm('[6,8]');
SELECT vector_norm('[1,1,1,1]');
SELECT vector_norm('[0,0,0]');
SELECT vector_norm('[-5]');
SELECT vector_norm('[2e38,2e38]');
SELECT round(vector_norm('[1,2,3]')::numeric, 6);

-- distances
SELECT l2_distance('[1,1]'::vector, '[4,5]');
SELECT l2_distance('[1,2,3]'::vector, '[1,2,3]');
SELECT l2_distance('[1,2]'::vector, '[1]');
SELECT l2_distance('[2e38]'::vector, '[-2e38]');
SELECT l2_distance('[0,0,0,0,0,0,0,0,0,0,0]'::vector, '[1,1,1,1,1,1,1,1,1,1,1]');
SELECT vector_l2_squared_distance('[1,1]'::vector, '[4,5]');
SELECT '[1,1]'::vector <-> '[4,5]';
SELECT inner_product('[1,2,3]'::vector, '[4,-5,6]');
SELECT inner_product('[1,2,3]'::vector, '[4,5]');
SELECT inner_product('[2e38]'::vector, '[2e38]');
SELECT inner_product('[1,2,3,4,5,6,7,8,9,10]'::vector, '[10,9,8,7,6,5,4,3,2,1]');
SELECT vector_negative_inner_product('[1,2,3]'::vector, '[4,-5,6]');
SELECT '[1,2,3]'::vector <#> '[4,-5,6]';
SELECT cosine_distance('[3,4]'::vector, '[6,8]');
SELECT cosine_distance('[3,4]'::vector, '[-6,-8]');
SELECT cosine_distance('[1,0]'::vector, '[0,5]');
SELECT cosine_distance('[3,4]'::vector, '[0,0]');
SELECT cosine_distance('[0,0]'::vector, '[0,0]');
SELECT cosine_distance('[2,2]'::vector, '[2.2,2.2]');
SELECT cosine_distance('[2,2]'::vector, '[-2.2,-2.2]');
SELECT cosine_distance('[3,4]'::vector, '[3]');
SELECT cosine_distance('[2e38]'::vector, '[2e38]');
SELECT cosine_distance('[9,8,7,6,5,4,3,2,1,0]'::vector, '[9,8,7,6,5,4,3,2,1,0]');
SELECT '[3,4]'::vector <=> '[4,3]';
SELECT l1_distance('[1,1]'::vector, '[4,-5]');
SELECT l1_distance('[1,1]'::vector, '[4]');
SELECT l1_distance('[2e38]'::vector, '[-2e38]');
SELECT l1_distance('[1,2,3,4,5,6,7,8,9,10,11]'::vector, '[11,10,9,8,7,6,5,4,3,2,1]');
SELECT '[1,1]'::vector <+> '[4,-5]';
SELECT vector_spherical_distance('[1,0]'::vector, '[0,1]'),
       vector_spherical_distance('[0,1]'::vector, '[0,1]'),
       vector_spherical_distance('[0,-1]'::vector, '[0,1]');
SELECT vector_spherical_distance('[3,0]'::vector, '[2,0]'),
       vector_spherical_distance('[-3,0]'::vector, '[2,0]');
SELECT round(vector_spherical_distance('[0.6,0.8]'::vector, '[0.8,0.6]')::numeric, 6);
SELECT vector_spherical_distance('[1,0]'::vector, '[1]');
SELECT '[1,1]'::vector <-> NULL, NULL <=> '[1,1]'::vector;

-- normalization
SELECT l2_normalize('[6,8]'::vector);
SELECT l2_normalize('[0,-2]'::vector);
SELECT l2_normalize('[0.001,0]'::vector);
SELECT l2_normalize('[0,0,0]'::vector);
SELECT l2_normalize('[2e38,2e38]'::vector);
SELECT l2_normalize('[1e-40]'::vector);
SELECT vector_norm(l2_normalize('[1,2,3,4,5]'::vector))::real;

-- subvector
SELECT subvector('[10,20,30,40,50,60]'::vector, 2, 3);
SELECT subvector('[10,20,30,40,50,60]'::vector, 6, 1);
SELECT subvector('[10,20,30,40,50,60]'::vector, 5, 10);
SELECT subvector('[10,20,30,40,50,60]'::vector, 0, 2);
SELECT subvector('[10,20,30,40,50,60]'::vector, -2, 4);
SELECT subvector('[10,20,30,40,50,60]'::vector, -2, 3);
SELECT subvector('[10,20,30,40,50,60]'::vector, 2, 0);
SELECT subvector('[10,20,30,40,50,60]'::vector, 2, -3);
SELECT subvector('[10,20,30,40,50,60]'::vector, 7, 1);
SELECT subvector('[10,20,30,40,50,60]'::vector, 2147483647, 1);
SELECT subvector('[10,20,30,40,50,60]'::vector, 2, 2147483647);
SELECT subvector('[10,20,30,40,50,60]'::vector, -2147483647, 2147483647);
SELECT subvector('[10,20,30,40,50,60]'::vector, -2147483648, 2147483647);

-- aggregates
SELECT avg(v), sum(v) FROM (VALUES ('[2,4,8]'::vector), ('[4,6,10]'), ('[0,2,0]')) t(v);
SELECT avg(v), sum(v) FROM (VALUES ('[2,4]'::vector), (NULL), ('[4,8]')) t(v);
SELECT avg(v), sum(v) FROM (VALUES (NULL::vector), (NULL)) t(v);
SELECT avg(v), sum(v) FROM (SELECT '[1]'::vector WHERE false) t(v);
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT avg(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]'), ('[3e38]')) t(v);
SELECT sum(v) FROM (VALUES ('[2e38]'::vector), ('[2e38]')) t(v);
SELECT avg(v) FROM (VALUES ('[0.1]'::vector), ('[0.2]'), ('[0.3]')) t(v);
SELECT g % 2 AS k, avg(v), sum(v)
FROM generate_series(1, 10) g, LATERAL (SELECT ARRAY[g, g * 2]::vector) t(v)
GROUP BY 1 ORDER BY 1;

-- the aggregate support functions, called directly
SELECT vector_accum('{0}', '[2,4]');
SELECT vector_accum('{3,1,1}', '[2,4]');
SELECT vector_accum('{3,1,1}', '[2,4,6]');
SELECT vector_accum('{{3,1,1}}', '[2,4]');
SELECT vector_accum('{3,NULL,1}', '[2,4]');
SELECT vector_accum('{}', '[2,4]');
SELECT vector_combine('{2,4,6}', '{1,1,1}');
SELECT vector_combine('{0}', '{1,1,1}');
SELECT vector_combine('{2,4,6}', '{0}');
SELECT vector_combine('{0}', '{0}');
SELECT vector_combine('{2,4,6}', '{1,1}');
SELECT vector_combine('{{2,4,6}}', '{1,1,1}');
SELECT vector_combine('{2,4,6}', '{1,NULL,1}');
SELECT vector_combine('{}', '{1,1,1}');
SELECT vector_combine('{2,4,6}', '{}');
SELECT vector_combine('{1,1e308}', '{1,1e308}');
SELECT vector_combine('{1}', array_fill(1::float8, ARRAY[16002]));
SELECT vector_combine(array_fill(1::float8, ARRAY[16002]), '{1}');
SELECT vector_avg('{2,4,6}');
SELECT vector_avg('{4,2,6,10}');
SELECT vector_avg('{0}');
SELECT vector_avg('{0,5}');
SELECT vector_avg('{3}');
SELECT vector_avg('{{2,4,6}}');
SELECT vector_avg('{2,NULL,6}');
SELECT vector_avg('{}');
SELECT vector_avg(array_fill(1::float8, ARRAY[16002]));

-- binary output
SELECT vector_send('[1,-2,0.5]'::vector);
SELECT vector_send('[-0]'::vector);
