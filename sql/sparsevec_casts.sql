--
-- sparsevec_casts: to and from vector, from arrays, and typmod coercion
-- (the casts to and from halfvec come with that type)
--

-- vector to sparsevec: zeros (-0 too) are dropped; implicit
SELECT '[0,1.5,0,-3.5,-0]'::vector::sparsevec;
SELECT '[0,1.5,0,-3.5,-0]'::vector::sparsevec(5);
SELECT '[0,1.5,0,-3.5,-0]'::vector::sparsevec(4);
SELECT '[0,0,0]'::vector::sparsevec;
SELECT '[1e-45,3.4028235e38]'::vector::sparsevec;
SELECT l2_distance('{1:1}/3'::sparsevec, '[0,0,1]'::vector);
CREATE TABLE sparsevec_cast_t (v sparsevec(3));
INSERT INTO sparsevec_cast_t SELECT '[1,0,2]'::vector;
INSERT INTO sparsevec_cast_t SELECT '[1,0]'::vector;
SELECT * FROM sparsevec_cast_t;
DROP TABLE sparsevec_cast_t;

-- sparsevec to vector: on assignment only
SELECT '{2:1.5,4:-3.5}/5'::sparsevec::vector;
SELECT '{2:1.5,4:-3.5}/5'::sparsevec::vector(5);
SELECT '{2:1.5,4:-3.5}/5'::sparsevec::vector(6);
SELECT '{}/3'::sparsevec::vector;
SELECT ('{16000:1}/16000')::sparsevec::vector <-> array_fill(0, ARRAY[16000])::vector;
-- vector's own limit, in vector's words
SELECT '{}/16001'::sparsevec::vector;
SELECT '{1:1}/1000000000'::sparsevec::vector;
CREATE TABLE sparsevec_cast_v (v vector(3));
INSERT INTO sparsevec_cast_v SELECT '{1:1,3:3}/3'::sparsevec;
INSERT INTO sparsevec_cast_v SELECT '{1:1}/2'::sparsevec;
SELECT * FROM sparsevec_cast_v;
DROP TABLE sparsevec_cast_v;
-- no implicit cast to vector: a vector function does not take a sparsevec
SELECT vector_dims('{1:1}/3'::sparsevec);
-- round trips
SELECT v::vector::sparsevec = v AS same
FROM (VALUES ('{1:0.1,4:-2,7:3e38}/7'::sparsevec), ('{}/2'::sparsevec)) t(v);

-- arrays: integer[], real[], double precision[], numeric[] on assignment
SELECT '{0,1,0,-2,0}'::int[]::sparsevec;
SELECT '{0,1.5,0,-2.25}'::real[]::sparsevec;
SELECT '{0,1.5,0,-2.25}'::float8[]::sparsevec;
SELECT '{0,1.5,0,-2.25}'::numeric[]::sparsevec;
SELECT '{0,0}'::int[]::sparsevec;
SELECT '{1,2,3}'::int[]::sparsevec(3);
SELECT '{1,2,3}'::int[]::sparsevec(2);
SELECT ARRAY[16777217]::sparsevec, ARRAY[0.1::float8]::sparsevec, ARRAY[1e-50::float8]::sparsevec;
SELECT ARRAY[1e-46::numeric, 1]::sparsevec;
-- values beyond float4: Infinity from float8 is refused as such, numeric
-- refuses them itself
SELECT ARRAY[1e39::float8]::sparsevec;
SELECT ARRAY[-1e39::float8, 1]::sparsevec;
SELECT ARRAY[1e39::numeric]::sparsevec;
SELECT ARRAY['NaN'::real]::sparsevec;
SELECT ARRAY[1, 'NaN'::float8]::sparsevec;
SELECT ARRAY['Infinity'::real]::sparsevec;
SELECT ARRAY['NaN'::numeric]::sparsevec;
SELECT ARRAY['-Infinity'::numeric]::sparsevec;
-- shape: one dimension, no NULLs, not empty
SELECT '{{1,2},{3,4}}'::int[]::sparsevec;
SELECT '{1,NULL,3}'::int[]::sparsevec;
SELECT '{NULL}'::real[]::sparsevec;
SELECT '{}'::int[]::sparsevec;
SELECT '{}'::real[]::sparsevec(3);
SELECT '[2:4]={1,0,3}'::int[]::sparsevec;
-- 16,000 non-zero elements at most, checked before NaN and infinity
SELECT l2_norm(array_fill(1, ARRAY[16000])::sparsevec);
SELECT array_fill(1, ARRAY[16001])::sparsevec;
SELECT l2_norm(array_cat(array_fill(0, ARRAY[100000]), array_fill(1, ARRAY[16000]))::sparsevec);
SELECT array_fill('NaN'::real, ARRAY[16001])::sparsevec;
-- no implicit cast from arrays, but assignment works
SELECT l2_norm('{1,2}'::int[]);
CREATE TABLE sparsevec_cast_a (v sparsevec);
INSERT INTO sparsevec_cast_a VALUES ('{0,1}'::int[]), ('{2,0}'::real[]), ('{0,3.5}'::float8[]), ('{4.5,0}'::numeric[]);
SELECT * FROM sparsevec_cast_a;
DROP TABLE sparsevec_cast_a;
-- no cast from sparsevec to an array
SELECT '{1:1}/2'::sparsevec::real[];

-- sparsevec to sparsevec applies the typmod
SELECT '{1:1}/3'::sparsevec::sparsevec(3);
SELECT '{1:1}/3'::sparsevec::sparsevec(2);
SELECT sparsevec('{1:1}/3'::sparsevec, 3, false), sparsevec('{1:1}/3'::sparsevec, -1, false);
SELECT sparsevec('{1:1}/3'::sparsevec, 4, true);

-- the casts with their contexts (those with halfvec are that type's)
SELECT castsource::regtype, casttarget::regtype, castfunc::regprocedure, castcontext
FROM pg_cast
WHERE (castsource = 'sparsevec'::regtype OR casttarget = 'sparsevec'::regtype)
	AND 'halfvec' NOT IN (format_type(castsource, NULL), format_type(casttarget, NULL))
ORDER BY castsource::regtype::text, casttarget::regtype::text;
