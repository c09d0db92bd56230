--
-- compat_sparsevec: the sparsevec type as pgvector behaves, statement by
-- statement.  The expected output is pgvector's own output for these
-- statements, as test/compat/differential.pl compares them (see
-- test/compat/README.md); vecpersist may add a DETAIL or HINT line, nothing
-- else.
--

-- text input and output: 1-based indices, zeros not stored, sorted
SELECT '{2:7,4:-8.5}/6'::sparsevec;
SELECT '{1:0.1,2:0.2,3:0.3}/3'::sparsevec;
SELECT '{4:1,1:2,3:3}/4'::sparsevec;
SELECT '{1:0,3:0}/3'::sparsevec;
SELECT '{1:-0,2:5}/2'::sparsevec;
SELECT E'\t{ 2 :\n7 , 4: 8 }\r/ 6 '::sparsevec;
SELECT '{1:+2.,2:1e3}/2'::sparsevec;
SELECT '{1:3.4028235e38,2:-3.4028235e38}/2'::sparsevec;
SELECT '{1:1e-45}/1'::sparsevec;
SELECT '{1:5e38}/1'::sparsevec;
SELECT '{1:-5e38}/1'::sparsevec;
SELECT '{1:2e-50}/1'::sparsevec;
SELECT '{}/7'::sparsevec;
SELECT '{}/1000000000'::sparsevec;

-- malformed input
SELECT '{1:x}/2'::sparsevec;
SELECT '{y:1}/2'::sparsevec;
SELECT '{1:1'::sparsevec;
SELECT '{1:1}'::sparsevec;
SELECT '{1:1}/'::sparsevec;
SELECT '{1:1}/2x'::sparsevec;
SELECT '{1:1}/2 3'::sparsevec;
SELECT '1:1/2'::sparsevec;
SELECT '  '::sparsevec;
SELECT '{1}/2'::sparsevec;
SELECT '{1:}/2'::sparsevec;
SELECT '{:1}/2'::sparsevec;
SELECT '{1:1,}/2'::sparsevec;
SELECT '{,1:1}/2'::sparsevec;
SELECT '{1:1 2:2}/2'::sparsevec;
SELECT '{1:1,,2:2}/2'::sparsevec;
SELECT '{1.5:1}/2'::sparsevec;
SELECT '{1:nan}/2'::sparsevec;
SELECT '{1:inf}/2'::sparsevec;
SELECT '{2:-infinity}/2'::sparsevec;

-- dimensions and indices
SELECT '{}/0'::sparsevec;
SELECT '{}/-3'::sparsevec;
SELECT '{}/1000000001'::sparsevec;
SELECT '{}/99999999999'::sparsevec;
SELECT '{0:1}/3'::sparsevec;
SELECT '{4:1}/3'::sparsevec;
SELECT '{-1:1}/3'::sparsevec;
SELECT '{99999999999:1}/3'::sparsevec;
SELECT '{3:1,2:1,3:2}/3'::sparsevec;
SELECT '{2:1,2:1}/3'::sparsevec;
SELECT '{5:0}/3'::sparsevec;

-- type modifiers and arrays
SELECT '{1:7}/4'::sparsevec(4);
SELECT '{1:7}/4'::sparsevec(5);
SELECT '{1:7}/4'::sparsevec(4, 1);
SELECT '{1:7}/4'::sparsevec('x');
SELECT '{1:7}/4'::sparsevec(0);
SELECT '{1:7}/4'::sparsevec(1000000000);
SELECT '{1:7}/4'::sparsevec(1000000001);
SELECT format_type('sparsevec'::regtype, 11), format_type('sparsevec'::regtype, -1);
SELECT '{"{1:7}/4","{}/2",NULL}'::sparsevec[];
SELECT unnest('{"{1:7}/4","{2:8}/2"}'::sparsevec[]);
SELECT '{"{1:7}/4","{2:8}/2"}'::sparsevec(4)[];

-- casts from arrays
SELECT ARRAY[0,7,0,-8]::sparsevec;
SELECT ARRAY[0.1,0,2.5]::numeric[]::sparsevec;
SELECT '{0,0.1}'::real[]::sparsevec, '{0,0.1}'::float8[]::sparsevec;
SELECT '{0,0,0}'::int[]::sparsevec;
SELECT '{7,0}'::int[]::sparsevec(2);
SELECT '{7,0}'::real[]::sparsevec(3);
SELECT '{7,NULL}'::int[]::sparsevec;
SELECT '{}'::float8[]::sparsevec;
SELECT '{{7},{0}}'::real[]::sparsevec;
SELECT '{0,NaN}'::real[]::sparsevec;
SELECT '{Infinity}'::float8[]::sparsevec;
SELECT '{5e38}'::float8[]::sparsevec;
SELECT '{2e-50,-2e-50,1}'::float8[]::sparsevec;
SELECT array_to_sparsevec('{0,7}'::int[], 2, true);
SELECT array_fill(0, ARRAY[20000])::sparsevec = '{}/20000'::sparsevec;
SELECT array_fill(1, ARRAY[16001])::sparsevec;

-- casts to and from vector and halfvec
SELECT '[0,7,0,-8.5]'::vector::sparsevec;
SELECT '[0,7,0,-8.5]'::vector::sparsevec(4);
SELECT '[0,7,0,-8.5]'::vector::sparsevec(3);
SELECT '[-0,0]'::vector::sparsevec;
SELECT '{2:7,4:-8.5}/5'::sparsevec::vector;
SELECT '{2:7,4:-8.5}/5'::sparsevec::vector(5);
SELECT '{2:7,4:-8.5}/5'::sparsevec::vector(2);
SELECT '{}/16000'::sparsevec::vector = array_fill(0, ARRAY[16000])::vector;
SELECT '{}/16001'::sparsevec::vector;
SELECT '[0,0.1,0,-2]'::halfvec::sparsevec;
SELECT '{2:0.1,3:-2}/3'::sparsevec::halfvec;
SELECT '{1:65504,2:-65505}/2'::sparsevec::halfvec;
SELECT '{1:1e5}/1'::sparsevec::halfvec;
SELECT '{1:7}/3'::sparsevec::text, '{1:7}/3'::text::sparsevec;

-- assignment into a sparsevec column
CREATE TABLE compat_sparsevec_t (id int, v sparsevec(3));
INSERT INTO compat_sparsevec_t VALUES (1, '{1:1}/3'), (2, ARRAY[0,2,0]),
	(3, '[0,0,3]'::vector), (4, '[-1,0,0]'::halfvec), (5, '{}/3'), (6, NULL);
INSERT INTO compat_sparsevec_t VALUES (7, '{1:1}/2');
INSERT INTO compat_sparsevec_t VALUES (7, ARRAY[1,2,3,4]);
SELECT id, v FROM compat_sparsevec_t ORDER BY id;
SELECT id, v, v::vector AS dense FROM compat_sparsevec_t ORDER BY v, id;
DROP TABLE compat_sparsevec_t;

-- comparison and sorting
SELECT '{1:7}/2'::sparsevec < '{1:8}/2', '{1:7}/2'::sparsevec <= '{1:7}/2',
       '{1:7}/2'::sparsevec = '{1:7}/2', '{1:7}/2'::sparsevec <> '{1:7}/2',
       '{1:7}/2'::sparsevec >= '{1:8}/2', '{1:7}/2'::sparsevec > '{2:7}/2';
SELECT '{1:7}/2'::sparsevec = '{1:7}/3', '{1:7}/2'::sparsevec < '{1:7}/3',
       '{1:7}/3'::sparsevec < '{1:8}/2', '{}/2'::sparsevec < '{2:1}/2',
       '{}/2'::sparsevec > '{2:-1}/2';
SELECT sparsevec_cmp('{1:7}/2', '{1:7}/2'), sparsevec_cmp('{1:7}/2', '{2:7}/2'),
       sparsevec_cmp('{2:7}/2', '{1:7}/2'), sparsevec_cmp('{1:7}/2', '{1:7}/3'),
       sparsevec_cmp('{1:7,3:1}/3', '{1:7}/2'), sparsevec_cmp('{}/5', '{}/4');
SELECT v FROM unnest('{"{1:2}/2","{1:1,2:1}/2","{}/2","{2:1}/3",NULL,"{1:-1}/2"}'::sparsevec[]) v
ORDER BY v;

-- norm
SELECT l2_norm('{1:5,3:12}/3'::sparsevec);
SELECT l2_norm('{}/3'::sparsevec);
SELECT l2_norm('{2:-7}/3'::sparsevec);
SELECT l2_norm('{1:2e38,2:2e38}/2'::sparsevec);
SELECT l2_norm('{1:0.1,2:0.2,3:0.3,4:0.4,5:0.5}/5'::sparsevec);

-- distances and their operators: overlapping, disjoint and empty operands
SELECT l2_distance('{1:1,2:2}/3'::sparsevec, '{1:4,2:6}/3');
SELECT l2_distance('{1:3}/3'::sparsevec, '{3:4}/3');
SELECT l2_distance('{}/3'::sparsevec, '{2:5}/3');
SELECT l2_distance('{1:1}/3'::sparsevec, '{1:1}/2');
SELECT l2_distance('{1:2e38}/1'::sparsevec, '{1:-2e38}/1');
SELECT sparsevec_l2_squared_distance('{1:1,2:2}/3'::sparsevec, '{1:4,2:6}/3');
SELECT '{1:1,2:2}/3'::sparsevec <-> '{1:4,2:6}/3';
SELECT inner_product('{1:1,2:-2,3:3}/3'::sparsevec, '{1:5,2:6,3:-7}/3');
SELECT inner_product('{1:1,3:3}/3'::sparsevec, '{2:2}/3');
SELECT inner_product('{2:1,4:2,6:3}/6'::sparsevec, '{1:5,4:6,5:-7,6:1}/6');
SELECT inner_product('{1:1}/3'::sparsevec, '{1:1}/4');
SELECT inner_product('{1:2e38}/1'::sparsevec, '{1:2e38}/1');
SELECT sparsevec_negative_inner_product('{1:1,2:-2,3:3}/3'::sparsevec, '{1:5,2:6,3:-7}/3');
SELECT '{1:1,2:-2,3:3}/3'::sparsevec <#> '{1:5,2:6,3:-7}/3';
SELECT cosine_distance('{1:5,2:12}/2'::sparsevec, '{1:10,2:24}/2');
SELECT cosine_distance('{1:5,2:12}/2'::sparsevec, '{1:-5,2:-12}/2');
SELECT cosine_distance('{1:3}/2'::sparsevec, '{2:4}/2');
SELECT cosine_distance('{1:5,2:12}/2'::sparsevec, '{}/2');
SELECT cosine_distance('{}/2'::sparsevec, '{}/2');
SELECT cosine_distance('{1:3,2:3}/2'::sparsevec, '{1:3.3,2:3.3}/2');
SELECT cosine_distance('{1:5}/2'::sparsevec, '{1:5}/1');
SELECT cosine_distance('{1:2e38}/1'::sparsevec, '{1:2e38}/1');
SELECT '{1:5,2:12}/2'::sparsevec <=> '{1:12,2:5}/2';
SELECT l1_distance('{1:1,2:2}/3'::sparsevec, '{1:4,3:-6}/3');
SELECT l1_distance('{}/3'::sparsevec, '{2:5,3:-1}/3');
SELECT l1_distance('{2:5,3:-1}/3'::sparsevec, '{}/3');
SELECT l1_distance('{1:1}/3'::sparsevec, '{1:1}/2');
SELECT l1_distance('{1:2e38}/1'::sparsevec, '{1:-2e38}/1');
SELECT l1_distance('{1:0.1,3:0.3,5:0.5,7:0.7,9:0.9}/10'::sparsevec,
                   '{2:0.2,4:0.4,6:0.6,8:0.8,10:1}/10');
SELECT '{1:1,2:2}/3'::sparsevec <+> '{1:4,3:-6}/3';
SELECT '{1:1}/2'::sparsevec <-> NULL, NULL <=> '{1:1}/2'::sparsevec;

-- normalization
SELECT l2_normalize('{1:5,3:12}/3'::sparsevec);
SELECT l2_normalize('{2:-7}/3'::sparsevec);
SELECT l2_normalize('{}/3'::sparsevec);
SELECT l2_normalize('{1:2e38,2:2e38}/2'::sparsevec);
SELECT l2_normalize('{1:1e-40}/1'::sparsevec);
SELECT l2_normalize('{1:1,2:1e-30}/2'::sparsevec);

-- binary output
SELECT sparsevec_send('{2:1.5,4:-2}/5'::sparsevec);
SELECT sparsevec_send('{}/3'::sparsevec);
