--
-- vector_casts: casts between vector and arrays, and the typmod cast
--

-- arrays to vector, explicitly
SELECT ARRAY[1,2,3]::vector;
SELECT ARRAY[1.5,2.25,-3]::vector;
SELECT ARRAY[1,2,3]::real[]::vector;
SELECT ARRAY[1,2,3]::double precision[]::vector;
SELECT ARRAY[1,2,3]::numeric[]::vector;
SELECT '{1.5,-2.5}'::real[]::vector;
SELECT '{0.1,0.2}'::double precision[]::vector;
SELECT '{0.1,123456789.123}'::numeric[]::vector;
SELECT '{2147483647,-2147483648}'::integer[]::vector;
SELECT '{1,2,3}'::real[]::vector(3);
SELECT '{1,2,3}'::integer[]::vector(3);
-- non-default lower bounds are ignored
SELECT '[0:2]={7,8,9}'::integer[]::vector;

-- rounding to float4
SELECT '{16777217}'::integer[]::vector;
SELECT '{0.1}'::double precision[]::vector::real[];
SELECT '{1e-46,-1e-46}'::double precision[]::vector;
-- numeric converts through float4, which rejects underflow as well
SELECT '{1e-50}'::numeric[]::vector;

-- errors
SELECT '{1,2,3}'::real[]::vector(2);
SELECT '{1,2,3}'::double precision[]::vector(2);
SELECT '{1,2,3}'::integer[]::vector(4);
SELECT '{1,2,3}'::numeric[]::vector(2);
SELECT '{NULL}'::real[]::vector;
SELECT '{1,NULL,3}'::integer[]::vector;
SELECT '{1,NULL}'::double precision[]::vector;
SELECT '{NULL,1}'::numeric[]::vector;
SELECT '{}'::real[]::vector;
SELECT '{}'::numeric[]::vector;
SELECT '{{1,2},{3,4}}'::real[]::vector;
SELECT '{{1}}'::integer[]::vector;
SELECT '{NaN}'::real[]::vector;
SELECT '{Infinity}'::real[]::vector;
SELECT '{-Infinity}'::double precision[]::vector;
SELECT '{NaN}'::double precision[]::vector;
SELECT '{NaN}'::numeric[]::vector;
SELECT '{Infinity}'::numeric[]::vector;
SELECT '{4e38,-4e38}'::double precision[]::vector;
SELECT '{1e39}'::numeric[]::vector;
SELECT array_fill(1, ARRAY[16001])::vector;

-- 16000 elements is the limit
SELECT vector_dims(array_fill(1, ARRAY[16000])::vector);
SELECT vector_dims(array_fill(1.5::real, ARRAY[16000])::vector(16000));
SELECT vector_dims(array_fill(2.5::float8, ARRAY[16000])::vector);
SELECT vector_dims(array_fill(3.5::numeric, ARRAY[16000])::vector);

-- array casts are assignment casts: they apply in INSERT and UPDATE ...
CREATE TABLE vector_casts_t (id int, v vector(3));
INSERT INTO vector_casts_t VALUES (1, ARRAY[1,2,3]);
INSERT INTO vector_casts_t VALUES (2, ARRAY[1.5,2.5,3.5]);
INSERT INTO vector_casts_t VALUES (3, '{4,5,6}'::real[]);
INSERT INTO vector_casts_t VALUES (4, '{7,8,9}'::double precision[]);
INSERT INTO vector_casts_t VALUES (5, ARRAY[1,2]);
UPDATE vector_casts_t SET v = ARRAY[0,0,1] WHERE id = 1;
SELECT * FROM vector_casts_t ORDER BY id;
-- ... but not in expressions
SELECT v <-> ARRAY[1,2,3] FROM vector_casts_t WHERE id = 1;
SELECT '[1,2,3]'::vector = ARRAY[1,2,3];

-- vector to real[]
SELECT '[1,2,3]'::vector::real[];
SELECT '[1.5,-0.25,3e38]'::vector::real[];
-- the cast is implicit, so functions taking real[] accept vectors
CREATE FUNCTION vector_casts_len(real[]) RETURNS int
	LANGUAGE sql AS 'SELECT cardinality($1)';
SELECT vector_casts_len('[4,5,6]'::vector);
DROP FUNCTION vector_casts_len(real[]);
-- (polymorphic array functions do not apply implicit casts)
SELECT array_length('[1,2,3]'::vector, 1);
SELECT (v::real[])[2] FROM vector_casts_t WHERE id = 1;
-- arrays from and to vectors round trip exactly
SELECT v = v::real[]::vector AS round_trip FROM vector_casts_t ORDER BY id;
DROP TABLE vector_casts_t;

-- the typmod cast
SELECT '[1,2,3]'::vector::vector(3);
SELECT '[1,2,3]'::vector::vector(2);
SELECT vector('[1,2]'::vector, 2, true);
SELECT vector('[1,2]'::vector, 3, false);
SELECT vector('[1,2]'::vector, -1, false);

-- the cast catalog
SELECT castsource::regtype, casttarget::regtype, castfunc::regprocedure, castcontext
FROM pg_cast
WHERE castsource = 'vector'::regtype OR casttarget = 'vector'::regtype
ORDER BY castsource::regtype::text, casttarget::regtype::text;
