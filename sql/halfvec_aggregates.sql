--
-- halfvec_aggregates: avg(halfvec) and sum(halfvec)
--

SELECT avg(v), sum(v) FROM unnest(ARRAY['[1,4,-2]'::halfvec, '[2,8,5]']) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY['[1,4,-2]'::halfvec, NULL, '[2,8,5]', NULL]) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY['[0.1,0.2]'::halfvec, '[0.3,0.4]', '[0.5,0.6]']) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY[]::halfvec[]) v;
SELECT avg(v), sum(v) FROM unnest(ARRAY[NULL, NULL]::halfvec[]) v;
SELECT avg(v) FROM unnest(ARRAY['[1,2]'::halfvec, '[1,2,3]']) v;
SELECT sum(v) FROM unnest(ARRAY['[1,2]'::halfvec, '[1,2,3]']) v;
-- avg sums in double precision, so it does not overflow where sum does
SELECT avg(v) FROM unnest(ARRAY['[65504,-65504]'::halfvec, '[65504,-65504]', '[65504,-65504]']) v;
SELECT sum(v) FROM unnest(ARRAY['[65504,-65504]'::halfvec, '[65504,-65504]']) v;
SELECT sum(v) FROM unnest(ARRAY['[40000]'::halfvec, '[40000]', '[-40000]']) v;
-- sum rounds to half after every addition; avg only once
SELECT avg(v), sum(v) FROM (SELECT '[0.001,100]'::halfvec AS v FROM generate_series(1, 100)) t;
SELECT sum(v) FROM (SELECT '[1]'::halfvec AS v FROM generate_series(1, 3000)) t;
SELECT avg(v) FROM (SELECT '[1]'::halfvec AS v FROM generate_series(1, 3000)) t;

-- grouped, and as window aggregates
CREATE TABLE halfvec_agg_t (g int, v halfvec(3));
INSERT INTO halfvec_agg_t
SELECT i % 3, ARRAY[i, i * 0.5, -i]::halfvec FROM generate_series(1, 30) i;
SELECT g, avg(v), sum(v), count(*) FROM halfvec_agg_t GROUP BY g ORDER BY g;
SELECT g, v, sum(v) OVER w, avg(v) OVER w
FROM halfvec_agg_t WHERE g = 1
WINDOW w AS (ORDER BY v ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
ORDER BY v;

-- parallel plans use the combine function (not shown for sum, whose
-- result in half precision depends on the order of the additions)
ALTER TABLE halfvec_agg_t SET (parallel_workers = 2);
INSERT INTO halfvec_agg_t
SELECT i % 3, ARRAY[i % 7, i % 5, (i % 3) * 0.25]::halfvec FROM generate_series(1, 20000) i;
ANALYZE halfvec_agg_t;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v) FROM halfvec_agg_t;
SELECT avg(v), count(*) FROM halfvec_agg_t;
EXPLAIN (COSTS OFF) SELECT g, avg(v) FROM halfvec_agg_t GROUP BY g ORDER BY g;
SELECT g, avg(v) FROM halfvec_agg_t GROUP BY g ORDER BY g;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT avg(v) FROM halfvec_agg_t;
DROP TABLE halfvec_agg_t;

-- over 16000 dimensions
SELECT vector_dims(avg(v)), vector_dims(sum(v)), (avg(v)::real[])[16000], (sum(v)::real[])[1]
FROM (SELECT array_fill(i, ARRAY[16000])::halfvec AS v FROM generate_series(1, 4) i) t;

-- the state functions, called directly
SELECT halfvec_accum('{0}', '[1,2,3]');
SELECT halfvec_accum('{1,1,2,3}', '[0.5,-2,6e-8]');
SELECT halfvec_accum('{0,0,0,0}', '[1,2,3]');
SELECT halfvec_accum('{5,0,0}', '[1,2,3]');
SELECT halfvec_accum('{1,1e308}', '[65504]');
SELECT halfvec_avg('{4,2,-8,65504}');
SELECT halfvec_avg('{2,1,1}');
SELECT halfvec_avg('{0}');
SELECT halfvec_avg('{0,1,2}');
SELECT halfvec_avg('{3}');
SELECT halfvec_avg('{1,70000}');
SELECT halfvec_avg('{1e-300,1}');
SELECT vector_dims(halfvec_avg(array_prepend(1, array_fill(0::float8, ARRAY[16000]))));
SELECT halfvec_avg(array_prepend(1, array_fill(0::float8, ARRAY[16001])));
SELECT halfvec_combine('{0}', '{2,4,6}');
SELECT halfvec_combine('{2,4,6}', '{0}');
SELECT halfvec_combine('{1,2,3}', '{2,4,6}');
SELECT halfvec_combine('{1,2,3}', '{2,4,6,8}');
