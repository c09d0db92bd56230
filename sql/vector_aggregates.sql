--
-- vector_aggregates: avg(vector) and sum(vector)
--

SELECT avg(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]']) v;
SELECT avg(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]', NULL]) v;
SELECT avg(v) FROM unnest(ARRAY[]::vector[]) v;
SELECT avg(v) FROM unnest(ARRAY[NULL]::vector[]) v;
SELECT avg(v) FROM unnest(ARRAY['[1,2]'::vector, '[3]']) v;
-- the sums are kept in double precision: no overflow, no lost precision
SELECT avg(v) FROM unnest(ARRAY['[3e38]'::vector, '[3e38]']) v;
SELECT avg(v) FROM unnest(ARRAY['[16777216]'::vector, '[1]', '[1]', '[0]']) v;

SELECT sum(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]']) v;
SELECT sum(v) FROM unnest(ARRAY['[1,2,3]'::vector, '[3,5,7]', NULL]) v;
SELECT sum(v) FROM unnest(ARRAY[]::vector[]) v;
SELECT sum(v) FROM unnest(ARRAY['[1,2]'::vector, '[3]']) v;
SELECT sum(v) FROM unnest(ARRAY['[3e38]'::vector, '[3e38]']) v;

-- grouped, and as window aggregates
CREATE TABLE vector_agg_t (g int, v vector(3));
INSERT INTO vector_agg_t
SELECT i % 3, ARRAY[i, i * 2, -i]::vector FROM generate_series(1, 30) i;
SELECT g, avg(v), sum(v), count(*) FROM vector_agg_t GROUP BY g ORDER BY g;
SELECT g, v, sum(v) OVER w, avg(v) OVER w
FROM vector_agg_t WHERE g = 0
WINDOW w AS (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY v;

-- parallel plans use the combine functions
ALTER TABLE vector_agg_t SET (parallel_workers = 2);
INSERT INTO vector_agg_t
SELECT i % 3, ARRAY[i % 11, i % 13, i % 17]::vector FROM generate_series(1, 10000) i;
ANALYZE vector_agg_t;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM vector_agg_t;
SELECT avg(v), sum(v), count(*) FROM vector_agg_t;
EXPLAIN (COSTS OFF) SELECT g, avg(v), sum(v) FROM vector_agg_t GROUP BY g ORDER BY g;
SELECT g, avg(v), sum(v) FROM vector_agg_t GROUP BY g ORDER BY g;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT avg(v), sum(v) FROM vector_agg_t;
DROP TABLE vector_agg_t;

-- aggregates over 16000 dimensions
SELECT vector_dims(avg(v)), vector_dims(sum(v)), (avg(v)::real[])[16000], (sum(v)::real[])[1]
FROM (SELECT array_fill(i, ARRAY[16000])::vector AS v FROM generate_series(1, 4) i) t;

-- the state functions, called directly
SELECT vector_accum('{0}', '[1,2,3]');
SELECT vector_accum('{1,1,2,3}', '[1,2,3]');
SELECT vector_accum('{0,0,0,0}', '[1,2,3]');
SELECT vector_accum('{0,0}', '[1,2,3]');
SELECT vector_accum('{{0}}', '[1,2,3]');
SELECT vector_accum('{NULL}', '[1,2,3]');
SELECT vector_accum('{}', '[1,2,3]');
SELECT vector_accum('{1,1e308}', '[3e38]');
SELECT vector_combine('{1,2}', '{3,4}');
SELECT vector_combine('{0}', '{0}');
SELECT vector_combine('{0}', '{2,4,6}');
SELECT vector_combine('{2,4,6}', '{0}');
SELECT vector_combine('{1,2}', '{3,4,5}');
SELECT vector_combine('{{1,2}}', '{3,4}');
SELECT vector_combine('{1,2}', '{{3,4}}');
SELECT vector_combine('{NULL,2}', '{3,4}');
SELECT vector_combine('{1,2}', '{3,NULL}');
SELECT vector_combine('{}', '{0}');
SELECT vector_combine('{0}', '{}');
SELECT vector_combine('{1,1e308}', '{1,1e308}');
SELECT vector_combine('{0}', (SELECT array_agg(n) FROM generate_series(1, 16002) n)::float8[]);
SELECT vector_combine((SELECT array_agg(n) FROM generate_series(1, 16002) n)::float8[], '{0}');
SELECT vector_avg('{2,2,4,6}');
SELECT vector_avg('{0}');
SELECT vector_avg('{1}');
SELECT vector_avg('{{2,2,4,6}}');
SELECT vector_avg('{NULL,2,4,6}');
SELECT vector_avg('{}');
SELECT vector_avg('{1e-300,1e10}');
SELECT vector_avg((SELECT array_agg(n) FROM generate_series(1, 16002) n)::float8[]);

-- the aggregate catalog
SELECT aggfnoid::regprocedure, aggtransfn, aggcombinefn, aggfinalfn,
       aggtranstype::regtype, agginitval, p.proparallel
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE aggfnoid IN ('avg(vector)'::regprocedure, 'sum(vector)'::regprocedure)
ORDER BY 1::text;
