--
-- vector_errors: the SQLSTATE, message and detail of every error the type
-- raises, one statement per row
--

CREATE FUNCTION vector_errors_try(stmt text,
	OUT code text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	code := '00000';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE,
		message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
END
$$;

CREATE TABLE vector_errors_cases (id serial, stmt text);
INSERT INTO vector_errors_cases (stmt) VALUES
	-- malformed literals (22P02)
	($$SELECT '[1,2'::vector$$),
	($$SELECT '[1,'::vector$$),
	($$SELECT '1,2]'::vector$$),
	($$SELECT '[1 2]'::vector$$),
	($$SELECT '[1,,2]'::vector$$),
	($$SELECT '[x]'::vector$$),
	($$SELECT '[1,2] 3'::vector$$),
	-- dimension limits
	($$SELECT '[]'::vector$$),
	($$SELECT ('[' || repeat('1,', 16000) || '1]')::vector$$),
	-- element values
	($$SELECT '[NaN]'::vector$$),
	($$SELECT '[-Infinity]'::vector$$),
	($$SELECT '[1e39]'::vector$$),
	($$SELECT '[-1e39]'::vector$$),
	-- typmods
	($$SELECT '[1,2]'::vector(3)$$),
	($$SELECT '[1,2]'::vector::vector(3)$$),
	($$SELECT '[1,2]'::vector(0)$$),
	($$SELECT '[1,2]'::vector(16001)$$),
	($$SELECT '[1,2]'::vector(2,2)$$),
	-- different dimensions
	($$SELECT '[1,2,3]'::vector <-> '[1,2]'$$),
	($$SELECT '[1,2,3]'::vector <#> '[1,2]'$$),
	($$SELECT '[1,2,3]'::vector <=> '[1,2]'$$),
	($$SELECT '[1,2,3]'::vector <+> '[1,2]'$$),
	($$SELECT l2_distance('[1,2,3]'::vector, '[1,2]')$$),
	($$SELECT vector_l2_squared_distance('[1,2,3]', '[1,2]')$$),
	($$SELECT inner_product('[1,2,3]'::vector, '[1,2]')$$),
	($$SELECT vector_negative_inner_product('[1,2,3]', '[1,2]')$$),
	($$SELECT cosine_distance('[1,2,3]'::vector, '[1,2]')$$),
	($$SELECT l1_distance('[1,2,3]'::vector, '[1,2]')$$),
	($$SELECT '[1,2,3]'::vector + '[1,2]'$$),
	($$SELECT '[1,2,3]'::vector - '[1,2]'$$),
	($$SELECT '[1,2,3]'::vector * '[1,2]'$$),
	-- arithmetic range
	($$SELECT '[3e38]'::vector + '[3e38]'$$),
	($$SELECT '[-3e38]'::vector - '[3e38]'$$),
	($$SELECT '[1e20]'::vector * '[1e20]'$$),
	($$SELECT '[1e-30]'::vector * '[1e-30]'$$),
	-- aggregates
	($$SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v)$$),
	($$SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[3]')) t(v)$$),
	($$SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[3]')) t(v)$$),
	($$SELECT vector_accum('{{0}}', '[1]')$$),
	($$SELECT vector_combine('{0}', '{NULL}')$$),
	($$SELECT vector_avg('{}')$$),
	-- casts from arrays
	($$SELECT '{1,NULL}'::real[]::vector$$),
	($$SELECT '{{1,2}}'::real[]::vector$$),
	($$SELECT '{}'::integer[]::vector$$),
	($$SELECT array_fill(0, ARRAY[16001])::vector$$),
	($$SELECT '{1,2}'::real[]::vector(3)$$),
	($$SELECT '{NaN}'::double precision[]::vector$$),
	($$SELECT '{1e300}'::double precision[]::vector$$),
	($$SELECT '{1e39}'::numeric[]::vector$$),
	-- subvector
	($$SELECT subvector('[1,2,3]'::vector, 1, 0)$$),
	($$SELECT subvector('[1,2,3]'::vector, 4, 1)$$),
	($$SELECT subvector('[1,2,3]'::vector, -5, 3)$$),
	-- no error
	($$SELECT '[1,2,3]'::vector(3)$$);

SELECT c.id, c.stmt, r.code, r.message, r.detail
FROM vector_errors_cases c, vector_errors_try(c.stmt) r
ORDER BY c.id;

DROP TABLE vector_errors_cases;
DROP FUNCTION vector_errors_try(text);
