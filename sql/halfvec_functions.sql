--
-- halfvec_functions: arithmetic, concatenation, distances, norms and the
-- other functions on halfvec
--

-- + - * are elementwise, computed in float and rounded to half once
SELECT '[1,2,3]'::halfvec + '[0.5,-4,10]';
SELECT '[1,2,3]'::halfvec - '[0.5,-4,10]';
SELECT '[1,2,3]'::halfvec * '[0.5,-4,10]';
SELECT '[0.1,0.2]'::halfvec + '[0.2,0.1]';
SELECT '[2048]'::halfvec + '[1]', '[2048]'::halfvec + '[3]';
SELECT '[1000]'::halfvec * '[1.001]';
SELECT '[0.001]'::halfvec * '[0.01]';
SELECT '[-0]'::halfvec + '[-0]', '[0]'::halfvec - '[0]', '[-1]'::halfvec * '[0]';
-- results beyond the half range overflow, non-zero products that round
-- to zero underflow
SELECT '[60000]'::halfvec + '[6000]';
SELECT '[-60000,1]'::halfvec - '[6000,1]';
SELECT '[65504]'::halfvec + '[15.99]';
SELECT '[300,2]'::halfvec * '[300,2]';
SELECT '[0.0001]'::halfvec * '[0.0001]';
SELECT '[6e-8]'::halfvec * '[0.5]';
SELECT '[6e-8]'::halfvec * '[0.75]';
-- dimensions must match
SELECT '[1,2]'::halfvec + '[1,2,3]';
SELECT '[1,2]'::halfvec - '[1]';
SELECT '[1]'::halfvec * '[1,2]';

-- || concatenates, whatever the dimensions
SELECT '[1,2]'::halfvec || '[3.5]';
SELECT '[1]'::halfvec || '[1]' || '[2,3]';
SELECT vector_dims(array_fill(1, ARRAY[15999])::halfvec || '[2]');
SELECT array_fill(1, ARRAY[15999])::halfvec || '[2,3]';
SELECT array_fill(1, ARRAY[16000])::halfvec || array_fill(1, ARRAY[16000])::halfvec;

-- Euclidean distance
SELECT l2_distance('[1,1]'::halfvec, '[4,5]');
SELECT l2_distance('[2,2,2]'::halfvec, '[2,2,2]');
SELECT l2_distance('[0.1,0.2,0.3]'::halfvec, '[-0.4,0.5,0.6]');
SELECT '[1,1]'::halfvec <-> '[4,5]';
SELECT '[1,2,3,4,5,6,7,8,9,10,11]'::halfvec <-> '[11,10,9,8,7,6,5,4,3,2,1]';
SELECT halfvec_l2_squared_distance('[1,1]', '[4,5]');
SELECT halfvec_l2_squared_distance('[0.1,0.2,0.3]', '[-0.4,0.5,0.6]');
-- the squares are summed in float: beyond its range the result is
-- infinite, as in pgvector
SELECT l2_distance('[65504,65504]'::halfvec, '[-65504,-65504]');
SELECT l2_distance('[1,2]'::halfvec, '[1,2,3]');
SELECT '[1,2]'::halfvec <-> '[1]';

-- inner product, and its negation for ascending ORDER BY
SELECT inner_product('[1,2]'::halfvec, '[-3,4]');
SELECT inner_product('[0.1,0.2,0.3]'::halfvec, '[0.4,0.5,0.6]');
SELECT inner_product('[1,2,3,4,5,6,7,8,9,10]'::halfvec, '[10,9,8,7,6,5,4,3,2,1]');
SELECT inner_product('[60000,60000]'::halfvec, '[60000,60000]');
SELECT '[1,2]'::halfvec <#> '[-3,4]';
SELECT halfvec_negative_inner_product('[1,2]', '[-3,4]');
SELECT '[0]'::halfvec <#> '[5]';
SELECT inner_product('[1,2]'::halfvec, '[1]');
SELECT '[1]'::halfvec <#> '[1,2]';

-- cosine distance, in [0, 2]; a zero vector has no direction (NaN)
SELECT cosine_distance('[1,2]'::halfvec, '[2,4]');
SELECT cosine_distance('[1,2]'::halfvec, '[-2,-4]');
SELECT cosine_distance('[1,0]'::halfvec, '[0,7]');
SELECT cosine_distance('[3,4]'::halfvec, '[4,3]');
SELECT cosine_distance('[0.1,0.2,0.3]'::halfvec, '[0.3,0.2,0.1]');
SELECT cosine_distance('[1,1,1,1,1,1,1,1,1,1]'::halfvec, '[1,1,1,1,1,1,1,1,1,1]');
SELECT cosine_distance('[1.1,1.1,1.1]'::halfvec, '[-1.1,-1.1,-1.1]');
SELECT cosine_distance('[0,0]'::halfvec, '[1,2]');
SELECT cosine_distance('[0,0]'::halfvec, '[0,0]');
SELECT '[1,2]'::halfvec <=> '[2,4]';
SELECT '[1,2]'::halfvec <=> '[1,2,3]';

-- taxicab distance
SELECT l1_distance('[1,1]'::halfvec, '[4,-3]');
SELECT l1_distance('[0.1,0.2,0.3]'::halfvec, '[-0.4,0.5,0.6]');
SELECT l1_distance('[1,2,3,4,5,6,7,8,9]'::halfvec, '[9,8,7,6,5,4,3,2,1]');
SELECT l1_distance('[65504]'::halfvec, '[-65504]');
SELECT '[1,1]'::halfvec <+> '[4,-3]';
SELECT l1_distance('[1,2]'::halfvec, '[3]');

-- spherical distance: the angle over pi of unit vectors
SELECT halfvec_spherical_distance('[1,0]', '[0,1]');
SELECT halfvec_spherical_distance('[1,0]', '[-1,0]');
SELECT halfvec_spherical_distance('[0.6,0.8]', '[0.8,0.6]');
SELECT halfvec_spherical_distance('[2,0]', '[3,0]');
SELECT halfvec_spherical_distance('[1,0]', '[1]');

-- distances over every length from 1 to 20 (so every remainder of the
-- eight-lane accumulation), and over long vectors
SELECT n,
	a <-> b AS l2, a <#> b AS negative_ip, a <=> b AS cosine, a <+> b AS l1
FROM (SELECT n,
		(SELECT array_agg(i * 0.37 - 1.5 ORDER BY i) FROM generate_series(1, n) i)::halfvec AS a,
		(SELECT array_agg(2.25 - i * 0.11 ORDER BY i) FROM generate_series(1, n) i)::halfvec AS b
	FROM generate_series(1, 20) n) t
ORDER BY n;
SELECT n,
	a <-> b AS l2, a <#> b AS negative_ip, a <=> b AS cosine, a <+> b AS l1
FROM (SELECT n,
		(SELECT array_agg(sin(i) ORDER BY i) FROM generate_series(1, n) i)::halfvec AS a,
		(SELECT array_agg(cos(i * 0.5) ORDER BY i) FROM generate_series(1, n) i)::halfvec AS b
	FROM unnest(ARRAY[100, 384, 768, 1536, 3072, 16000]) n) t
ORDER BY n;

-- dimensions and norms
SELECT vector_dims('[1,2,3]'::halfvec);
SELECT vector_dims(array_fill(0, ARRAY[16000])::halfvec);
SELECT l2_norm('[3,4]'::halfvec);
SELECT l2_norm('[1,1]'::halfvec);
SELECT l2_norm('[0,0,0]'::halfvec);
SELECT l2_norm('[-5]'::halfvec);
SELECT l2_norm('[0.1,0.2,0.3]'::halfvec);
-- the norm is computed in double, so it does not overflow
SELECT l2_norm('[65504,65504,65504]'::halfvec);
SELECT l2_norm('[6e-8,6e-8]'::halfvec);

-- normalising: unit length, zero vectors stay zero
SELECT l2_normalize('[3,4]'::halfvec);
SELECT l2_normalize('[-2,0]'::halfvec);
SELECT l2_normalize('[1,1,1]'::halfvec);
SELECT l2_normalize('[0,0.5]'::halfvec);
SELECT l2_normalize('[0,0]'::halfvec);
SELECT l2_normalize('[65504,-65504]'::halfvec);
SELECT l2_normalize('[6e-8,0]'::halfvec);
SELECT l2_norm(l2_normalize('[0.3,1.7,-2.2,4.4]'::halfvec));

-- binary quantization: one bit per element, set when it is positive
SELECT binary_quantize('[1,-1,0,-0,0.001]'::halfvec);
SELECT binary_quantize('[1,2,3,4,5,6,7,8]'::halfvec);
SELECT binary_quantize('[-1,2,-3,4,-5,6,-7,8,-9]'::halfvec);
SELECT binary_quantize('[6e-8,-6e-8]'::halfvec);
SELECT length(binary_quantize(array_fill(1, ARRAY[16000])::halfvec));
SELECT pg_typeof(binary_quantize('[1]'::halfvec));

-- subvector(v, start, count): 1-based, cut to the vector like substring
SELECT subvector('[10,20,30,40,50]'::halfvec, 2, 3);
SELECT subvector('[10,20,30,40,50]'::halfvec, 1, 5);
SELECT subvector('[10,20,30,40,50]'::halfvec, 5, 1);
SELECT subvector('[10,20,30,40,50]'::halfvec, 4, 100);
SELECT subvector('[10,20,30,40,50]'::halfvec, 0, 2);
SELECT subvector('[10,20,30,40,50]'::halfvec, -3, 6);
SELECT subvector('[10,20,30,40,50]'::halfvec, -3, 4);
SELECT subvector('[10,20,30,40,50]'::halfvec, 6, 1);
SELECT subvector('[10,20,30,40,50]'::halfvec, 2, 0);
SELECT subvector('[10,20,30,40,50]'::halfvec, 2, -2);
SELECT subvector('[10,20,30,40,50]'::halfvec, 2147483647, 2);
SELECT subvector('[10,20,30,40,50]'::halfvec, 2, 2147483647);
SELECT subvector('[10,20,30,40,50]'::halfvec, -2147483648, 2147483647);
SELECT subvector('[10,20,30,40,50]'::halfvec, -2147483647, 2147483647);

-- NULL in, NULL out
SELECT '[1]'::halfvec + NULL, l2_distance(NULL::halfvec, '[1]'), l2_norm(NULL::halfvec),
	subvector(NULL::halfvec, 1, 1), binary_quantize(NULL::halfvec);

-- the SQLSTATEs of errors
\set VERBOSITY sqlstate
SELECT '[1,2]'::halfvec + '[1]';
SELECT '[60000]'::halfvec + '[60000]';
SELECT '[0.0001]'::halfvec * '[0.0001]';
SELECT array_fill(1, ARRAY[16000])::halfvec || '[1]';
SELECT subvector('[1,2]'::halfvec, 3, 1);
\set VERBOSITY default
