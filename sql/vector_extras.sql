--
-- vector_extras: the vector functions added with halfvec: || (concat),
-- binary_quantize, vector_spherical_distance and l2_norm
--

-- || concatenates, whatever the dimensions; the result is a vector (it
-- used to resolve to text concatenation)
SELECT '[1,2,3]'::vector || '[4,5]';
SELECT pg_typeof('[1,2,3]'::vector || '[4,5]');
SELECT '[1.5]'::vector || '[-0]' || '[3e38]';
SELECT vector_concat('[1]', '[2,3]');
SELECT vector_dims(array_fill(1, ARRAY[15999])::vector || '[2]');
SELECT array_fill(1, ARRAY[15999])::vector || '[2,3]';
SELECT array_fill(1, ARRAY[8000])::vector || array_fill(1, ARRAY[8001])::vector;
SELECT '[1,2]'::vector || NULL;
-- a vector and a halfvec meet as halfvecs
SELECT '[1,2]'::vector || '[3]'::halfvec, pg_typeof('[1,2]'::vector || '[3]'::halfvec);

-- binary_quantize(vector)
SELECT binary_quantize('[3,-1,0,0.001,-0.001,1e-45]'::vector);
SELECT binary_quantize(array_fill(-1, ARRAY[16000])::vector) = repeat('0', 16000)::bit(16000) AS all_zero;

-- the spherical distance of unit vectors (the angle over pi)
SELECT vector_spherical_distance('[1,0]', '[0,1]');
SELECT vector_spherical_distance('[1,0]', '[-1,0]');
SELECT vector_spherical_distance('[1,0,0]', '[1,0,0]');
SELECT vector_spherical_distance('[0.6,0.8]', '[0.8,0.6]');
SELECT vector_spherical_distance('[3,0]', '[2,0]');
SELECT vector_spherical_distance('[1,0]', '[1]');

-- l2_norm(vector), which pgvector does not have (there the call is
-- ambiguous): the exact norm, not that of the vector rounded to halves
SELECT l2_norm('[0.1]'::vector), l2_norm('[0.1]'::halfvec), l2_norm('[3e38,3e38]'::vector);
SELECT l2_norm('[3,4]'::vector), l2_norm('[3,4]'::halfvec);

-- the SQLSTATE of a result too large
\set VERBOSITY sqlstate
SELECT array_fill(1, ARRAY[16000])::vector || '[1]';
\set VERBOSITY default
