--
-- vector_functions: distance functions, norms, subvector, send
--

SELECT l2_distance('[0,0]'::vector, '[3,4]');
SELECT l2_distance('[0,0]'::vector, '[0,1]');
SELECT l2_distance('[3e38]'::vector, '[-3e38]');
SELECT vector_l2_squared_distance('[0,0]'::vector, '[3,4]');
SELECT vector_l2_squared_distance('[1,2,3]'::vector, '[1,2,3]');

SELECT inner_product('[1,2]'::vector, '[3,4]');
SELECT inner_product('[1,1,1,1,1,1,1,1,1]'::vector, '[1,2,3,4,5,6,7,8,9]');
SELECT inner_product('[3e38]'::vector, '[3e38]');
SELECT vector_negative_inner_product('[1,2]'::vector, '[3,4]');
SELECT vector_negative_inner_product('[1,-2]'::vector, '[3,4]');

SELECT cosine_distance('[1,2]'::vector, '[2,4]');
SELECT cosine_distance('[1,1]'::vector, '[1,1]');
SELECT cosine_distance('[1,0]'::vector, '[0,2]');
SELECT cosine_distance('[1,1]'::vector, '[-1,-1]');
SELECT round(cosine_distance('[1,1]'::vector, '[1.1,1.1]')::numeric, 6);
SELECT round(cosine_distance('[1,1]'::vector, '[-1.1,-1.1]')::numeric, 6);
SELECT cosine_distance('[1,2,3,4,5,6,7,8,9]'::vector, '[1,2,3,4,5,6,7,8,9]');
SELECT cosine_distance('[1,2,3,4,5,6,7,8,9]'::vector, '[-1,-2,-3,-4,-5,-6,-7,-8,-9]');
-- a zero vector has no direction
SELECT cosine_distance('[1,2]'::vector, '[0,0]');
SELECT cosine_distance('[0,0]'::vector, '[0,0]');
SELECT cosine_distance('[3e38]'::vector, '[3e38]');
-- rounding never takes the result outside [0, 2]
SELECT count(*) FILTER (WHERE d < 0 OR d > 2) AS outside, count(*)
FROM (SELECT cosine_distance(('[' || i * 0.1 || ',' || i * 0.3 || ',' || i * 0.7 || ']')::vector,
                             ('[' || j * 0.1 || ',' || j * 0.3 || ',' || j * 0.7 || ']')::vector) AS d
      FROM generate_series(-20, 20) i, generate_series(-20, 20) j
      WHERE i <> 0 AND j <> 0) t;

SELECT l1_distance('[0,0]'::vector, '[3,4]');
SELECT l1_distance('[0,0]'::vector, '[0,1]');
SELECT l1_distance('[1,2,3,4,5,6,7,8,9]'::vector, '[1,2,3,4,5,6,7,8,9]');
SELECT l1_distance('[3e38]'::vector, '[-3e38]');

-- the functions agree with their operators
SELECT l2_distance(a, b) = (a <-> b) AS l2,
       vector_negative_inner_product(a, b) = (a <#> b) AS nip,
       inner_product(a, b) = -(a <#> b) AS ip,
       cosine_distance(a, b) = (a <=> b) AS cos,
       l1_distance(a, b) = (a <+> b) AS l1,
       sqrt(vector_l2_squared_distance(a, b)) = (a <-> b) AS l2sq
FROM (VALUES ('[1,2,3]'::vector, '[4,6,8]'::vector)) t(a, b);

-- long vectors exercise every lane of the kernels (and their tails); the
-- elements are small integers, so every summation order gives exact results
SELECT n, l2_distance(a, b), vector_l2_squared_distance(a, b), inner_product(a, b),
       cosine_distance(a, a), l1_distance(a, b)
FROM (SELECT n, array_agg(i % 7 ORDER BY i)::vector AS a,
             array_agg(i % 5 - 2 ORDER BY i)::vector AS b
      FROM generate_series(1, 67) n, generate_series(1, n) i
      WHERE n IN (1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 67)
      GROUP BY n) t
ORDER BY n;

SELECT vector_dims('[1,2,3]'::vector);
SELECT vector_dims('[1]'::vector);

SELECT vector_norm('[3,4]');
SELECT vector_norm('[0,1]');
SELECT vector_norm('[0,0]');
SELECT vector_norm('[2]');
SELECT round(vector_norm('[1,1]')::numeric, 5);
-- the norm is accumulated in double precision, so large elements do not overflow
SELECT vector_norm('[3e37,4e37]')::real;
SELECT vector_norm('[3e38,3e38,3e38]') < 'Infinity'::float8;

SELECT l2_normalize('[3,4]'::vector);
SELECT l2_normalize('[3,0]'::vector);
SELECT l2_normalize('[0,0.1]'::vector);
SELECT l2_normalize('[-2,0,0]'::vector);
SELECT l2_normalize('[0,0]'::vector);
SELECT l2_normalize('[3e38]'::vector);
SELECT l2_normalize('[1e-45,0]'::vector);
SELECT round(vector_norm(l2_normalize('[1,2,3,4,5]'::vector))::numeric, 6);

-- subvector(v, start, count) follows substring()'s rules
SELECT subvector('[1,2,3,4,5]'::vector, 1, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 2);
SELECT subvector('[1,2,3,4,5]'::vector, 5, 1);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 9);
SELECT subvector('[1,2,3,4,5]'::vector, 3, 2147483647);
SELECT subvector('[1,2,3,4,5]'::vector, -2147483644, 2147483647);
SELECT subvector('[1,2,3,4,5]'::vector, -2147483648, 2147483647);
SELECT subvector('[1,2,3,4,5]'::vector, 1, 0);
SELECT subvector('[1,2,3,4,5]'::vector, 3, -1);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 2);
SELECT subvector('[1,2,3,4,5]'::vector, 6, 1);
SELECT subvector('[1,2,3,4,5]'::vector, 2147483647, 10);

-- the binary format: uint16 dim, uint16 zero, float4 elements, network order
SELECT vector_send('[1,2,3]'::vector);
SELECT vector_send('[-0,1e-45,3.4028235e38]'::vector);
SELECT vector_send('[1.5]'::vector(1));

-- NULL in, NULL out
SELECT l2_distance(NULL::vector, '[1]'), vector_dims(NULL::vector), vector_norm(NULL),
       l2_normalize(NULL::vector), subvector(NULL::vector, 1, 1), subvector('[1]'::vector, NULL, 1);

-- every C function of the type is IMMUTABLE STRICT PARALLEL SAFE and bound
-- to a vp_ symbol
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
       p.provolatile, p.proisstrict, p.proparallel, p.prosrc
FROM pg_proc p
WHERE p.proname IN ('vector_in', 'vector_out', 'vector_typmod_in',
                    'vector_typmod_out', 'vector_recv', 'vector_send',
                    'vector', 'array_to_vector', 'vector_to_float4',
                    'l2_distance', 'vector_l2_squared_distance',
                    'inner_product', 'vector_negative_inner_product',
                    'cosine_distance', 'l1_distance', 'vector_dims',
                    'vector_norm', 'l2_normalize', 'subvector',
                    'vector_add', 'vector_sub', 'vector_mul',
                    'vector_lt', 'vector_le', 'vector_eq', 'vector_ne',
                    'vector_ge', 'vector_gt', 'vector_cmp',
                    'vector_accum', 'vector_combine', 'vector_avg')
ORDER BY p.proname, args;
