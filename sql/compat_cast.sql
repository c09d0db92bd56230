--
-- compat_cast: casts between vector and arrays as pgvector behaves; the
-- expected output is pgvector's (see test/compat/README.md).
--

-- from integer[], numeric[], real[] and double precision[]
SELECT ARRAY[4,5,6]::vector;
SELECT ARRAY[4.5,5.25,-6]::vector;
SELECT ARRAY[4.5,5.25,-6]::real[]::vector;
SELECT ARRAY[4.5,5.25,-6]::float8[]::vector;
SELECT ARRAY[4.5,5.25,-6]::numeric[]::vector;
SELECT ARRAY[0.1::float8]::vector, ARRAY[0.1::real]::vector, ARRAY[0.1::numeric]::vector;
SELECT ARRAY[16777217]::vector, ARRAY[16777217::float8]::vector;
SELECT '{7,8}'::int[]::vector(2);
SELECT '{7,8}'::int[]::vector(3);
SELECT '{7,8}'::numeric[]::vector(1);
SELECT '{7,8}'::real[]::vector(2);
SELECT '{7,8}'::float8[]::vector(4);

-- bad arrays
SELECT '{7,NULL}'::int[]::vector;
SELECT '{NULL}'::numeric[]::vector;
SELECT '{7,NULL}'::float8[]::vector;
SELECT '{{7,8},{9,10}}'::int[]::vector;
SELECT '{{7}}'::float8[]::vector;
SELECT '{}'::int[]::vector;
SELECT '{}'::real[]::vector;
SELECT '[2:3]={7,8}'::int[]::vector;
SELECT array_fill(1, ARRAY[16000])::vector = array_fill(1::real, ARRAY[16000])::vector;
SELECT array_fill(1, ARRAY[16001])::vector;
SELECT array_fill(1.5, ARRAY[16001])::vector;

-- element values through arrays
SELECT '{7,NaN}'::real[]::vector;
SELECT '{NaN}'::float8[]::vector;
SELECT '{NaN}'::numeric[]::vector;
SELECT '{7,Infinity}'::real[]::vector;
SELECT '{-Infinity}'::float8[]::vector;
SELECT '{5e38}'::float8[]::vector;
SELECT '{-5e38}'::float8[]::vector;
SELECT '{5e38}'::numeric[]::vector;
SELECT '{2e-50,-2e-50}'::float8[]::vector;
SELECT '{1e-45}'::real[]::vector;

-- array_to_vector called directly
SELECT array_to_vector('{7,8}'::int[], -1, false);
SELECT array_to_vector('{7,8}'::real[], 2, true);
SELECT array_to_vector('{7,8}'::float8[], 3, true);
SELECT array_to_vector('{7,8}'::numeric[], -1, true);
SELECT array_to_vector(array_fill(2, ARRAY[16001]), 16001, true);

-- from vector to real[] and to itself
SELECT '[7,8.5,-9]'::vector::real[];
SELECT '[7,8.5,-9]'::vector::real[] = '{7,8.5,-9}';
SELECT vector_to_float4('[7,8]'::vector, -1, false);
SELECT '[7,8.5,-9]'::vector::float8[];
SELECT '[7,8.5,-9]'::vector::int[];
SELECT '[7,8,9]'::vector::vector(3);
SELECT '[7,8,9]'::vector::vector(2);
SELECT ARRAY[7,8]::vector::real[]::vector;

-- through text
SELECT '[7,8]'::vector::text;
SELECT '[7,8]'::text::vector;
SELECT ('[' || '7,8' || ']')::vector(2);
SELECT CAST('[7.25]' AS vector) AS v, pg_typeof(CAST('[7.25]' AS vector));

-- assignment casts into a vector column
CREATE TABLE compat_cast_t (v vector(2));
INSERT INTO compat_cast_t VALUES (ARRAY[1,2]), (ARRAY[1.5,2.5]::numeric[]),
	('{3,4}'::real[]), ('{5,6}'::float8[]);
INSERT INTO compat_cast_t VALUES (ARRAY[1,2,3]);
INSERT INTO compat_cast_t VALUES ('[1]');
SELECT v FROM compat_cast_t ORDER BY v;
UPDATE compat_cast_t SET v = v + ARRAY[10,10]::vector;
SELECT v, v::real[] AS a FROM compat_cast_t ORDER BY v;
DROP TABLE compat_cast_t;

-- array comparison still works with vector's casts installed
SELECT ARRAY[7,8] = ARRAY[7,8], ARRAY[7.5] < ARRAY[8.5];
