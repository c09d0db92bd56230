--
-- halfvec_casts: casts between halfvec, vector and arrays, and the
-- contexts in which they apply
--

-- the casts and their contexts (sparsevec, which only pgvector has, left out)
SELECT castsource::regtype, casttarget::regtype, castcontext, castmethod
FROM pg_cast
WHERE (castsource = 'halfvec'::regtype OR casttarget = 'halfvec'::regtype)
	AND 'sparsevec' NOT IN (format_type(castsource, NULL), format_type(casttarget, NULL))
ORDER BY format_type(castsource, NULL) COLLATE "C", format_type(casttarget, NULL) COLLATE "C";

-- vector -> halfvec rounds each element to the nearest half
SELECT '[1,2,3]'::vector::halfvec;
SELECT '[0.1,-0.2,1234.567,65504]'::vector::halfvec;
SELECT '[1e-8,3e-8,-6e-8,1e-30]'::vector::halfvec;
SELECT '[65519.996]'::vector::halfvec;
SELECT '[1,2,3]'::vector::halfvec(3);
SELECT '[1,2,3]'::vector::halfvec(2);
SELECT '[1,70000,3]'::vector::halfvec;
SELECT '[-65520]'::vector::halfvec;
SELECT '[3e38]'::vector::halfvec;
SELECT array_fill(0.5, ARRAY[16000])::vector::halfvec = array_fill(0.5, ARRAY[16000])::halfvec AS same;

-- halfvec -> vector is exact
SELECT '[1,2,3]'::halfvec::vector;
SELECT '[0.1,-0.2,65504,6e-8]'::halfvec::vector;
SELECT '[1,2,3]'::halfvec::vector(3);
SELECT '[1,2,3]'::halfvec::vector(4);
SELECT vector_dims(array_fill(0.5, ARRAY[16000])::halfvec::vector);

-- vector -> halfvec is implicit: a vector meets a halfvec operand or
-- column without a cast; halfvec -> vector only on assignment
SELECT '[1,2]'::halfvec <-> '[4,6]'::vector;
SELECT pg_typeof('[1,2]'::halfvec + '[4,6]'::vector);
SELECT '[1,2]'::halfvec = '[1,2]'::vector;
CREATE TABLE halfvec_casts_t (h halfvec(2), v vector(2));
INSERT INTO halfvec_casts_t (h) VALUES ('[0.1,0.2]'::vector);
INSERT INTO halfvec_casts_t (v) VALUES ('[0.1,0.2]'::halfvec);
INSERT INTO halfvec_casts_t (h, v) SELECT v, h FROM halfvec_casts_t;
INSERT INTO halfvec_casts_t (h) VALUES ('[1,2,3]'::vector);
INSERT INTO halfvec_casts_t (h) VALUES ('[1,80000]'::vector);
SELECT h, v FROM halfvec_casts_t ORDER BY h NULLS LAST, v NULLS LAST;
UPDATE halfvec_casts_t SET h = v WHERE h IS NULL;
SELECT h, v, h::vector = v AS exact FROM halfvec_casts_t ORDER BY v NULLS LAST;
SELECT h FROM halfvec_casts_t WHERE h = '[0.1,0.2]'::vector ORDER BY h;
DROP TABLE halfvec_casts_t;

-- integer[], real[], double precision[] and numeric[] -> halfvec
SELECT ARRAY[1,2,3]::halfvec;
SELECT ARRAY[1,2,3]::halfvec(3);
SELECT '{1,2,3}'::integer[]::halfvec(2);
SELECT '{-65504,65504,2049}'::integer[]::halfvec;
SELECT ARRAY[1.5,-2.25,0.1]::real[]::halfvec;
SELECT ARRAY[1.5,-2.25,0.1]::double precision[]::halfvec;
SELECT ARRAY[1.5,-2.25,0.1]::numeric[]::halfvec;
SELECT ARRAY[1.5,-2.25,0.1]::halfvec;
SELECT '{6e-8,3e-8,1e-9}'::double precision[]::halfvec;
SELECT '{65519.99}'::double precision[]::halfvec;
SELECT '{0.000000059604645}'::numeric[]::halfvec;
SELECT '[0:2]={7,8,9}'::integer[]::halfvec;
-- out of range for a half, or for a float on the way
SELECT '{1,65520}'::integer[]::halfvec;
SELECT '{2147483647}'::integer[]::halfvec;
SELECT '{-70000.5}'::real[]::halfvec;
SELECT '{1e10}'::double precision[]::halfvec;
SELECT '{1e39}'::double precision[]::halfvec;
SELECT '{123456}'::numeric[]::halfvec;
SELECT '{1e39}'::numeric[]::halfvec;
SELECT '{1e-50}'::numeric[]::halfvec;
-- NaN and infinity; a value out of range is reported first
SELECT '{1,NaN}'::real[]::halfvec;
SELECT '{Infinity}'::real[]::halfvec;
SELECT '{-Infinity,1}'::double precision[]::halfvec;
SELECT '{NaN}'::numeric[]::halfvec;
SELECT '{NaN,100000}'::real[]::halfvec;
-- the array itself
SELECT '{}'::integer[]::halfvec;
SELECT '{{1,2},{3,4}}'::integer[]::halfvec;
SELECT '{1,NULL,3}'::integer[]::halfvec;
SELECT '{NULL}'::real[]::halfvec;
SELECT array_fill(1, ARRAY[16000])::integer[]::halfvec = array_fill(1, ARRAY[16000])::real[]::halfvec AS same;
SELECT array_fill(1, ARRAY[16001])::integer[]::halfvec;
SELECT array_fill(1, ARRAY[16001])::numeric[]::halfvec;
-- no cast from other element types
SELECT '{1,2}'::bigint[]::halfvec;
SELECT '{1,2}'::text[]::halfvec;
-- array -> halfvec applies on assignment
CREATE TABLE halfvec_casts_a (h halfvec(3));
INSERT INTO halfvec_casts_a VALUES (ARRAY[1,2,3]), ('{4.5,5.5,6.5}'::real[]), ('{0.1,0.2,0.3}'::numeric[]);
INSERT INTO halfvec_casts_a VALUES (ARRAY[1,2]);
SELECT h FROM halfvec_casts_a ORDER BY h;
DROP TABLE halfvec_casts_a;

-- halfvec -> real[] is exact, on assignment or explicitly
SELECT '[1,2,3]'::halfvec::real[];
SELECT '[0.1,-65504,6e-8,-0]'::halfvec::real[];
SELECT array_length('[1,2,3]'::halfvec::real[], 1), array_lower('[1,2,3]'::halfvec::real[], 1);
CREATE TABLE halfvec_casts_r (r real[]);
INSERT INTO halfvec_casts_r VALUES ('[0.5,0.25]'::halfvec);
SELECT r FROM halfvec_casts_r;
DROP TABLE halfvec_casts_r;
SELECT '[1,2]'::halfvec::double precision[];
SELECT ('[1,2]'::halfvec::real[])::halfvec;

-- text
SELECT '[1,2]'::halfvec::text, '[1.5,2.5]'::text::halfvec;
SELECT '[0.1]'::halfvec::text::vector;
