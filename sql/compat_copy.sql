--
-- compat_copy: COPY of vector columns in text, CSV and binary formats as
-- pgvector behaves; the expected output is pgvector's (see
-- test/compat/README.md).  Binary files go to results/ beside the test.
--

CREATE TABLE compat_copy_src (id int, v vector(3));
INSERT INTO compat_copy_src VALUES
	(1, '[1.5,-2,3e-5]'), (2, '[0,0,0]'), (3, NULL), (4, '[3.4e38,-1e-45,7]');

-- text and CSV out
COPY compat_copy_src TO STDOUT;
COPY compat_copy_src (v) TO STDOUT WITH (FORMAT csv, HEADER);
COPY (SELECT v FROM compat_copy_src WHERE id = 1) TO STDOUT WITH (FORMAT text);

-- text in, including errors that name the line
CREATE TABLE compat_copy_dst (id int, v vector(3));
COPY compat_copy_dst FROM STDIN;
10	[9,8,7]
11	\N
12	 [ 1 , 2 , 3 ] 
\.
COPY compat_copy_dst FROM STDIN WITH (FORMAT csv);
13,"[4,5,6]"
14,
\.
COPY compat_copy_dst FROM STDIN;
15	[1,2]
\.
COPY compat_copy_dst FROM STDIN;
16	[1,2,x]
\.
COPY compat_copy_dst FROM STDIN;
17	[1,2,NaN]
\.
SELECT * FROM compat_copy_dst ORDER BY id;

-- binary round trip through a client-side file
\copy compat_copy_src TO 'results/compat_copy.bin' WITH (FORMAT binary)
TRUNCATE compat_copy_dst;
\copy compat_copy_dst FROM 'results/compat_copy.bin' WITH (FORMAT binary)
SELECT id, v FROM compat_copy_dst ORDER BY id;
SELECT count(*) AS same FROM compat_copy_src s JOIN compat_copy_dst d USING (id)
WHERE s.v = d.v;

-- binary input into a column of another dimension count
CREATE TABLE compat_copy_narrow (id int, v vector(2));
\copy compat_copy_narrow FROM 'results/compat_copy.bin' WITH (FORMAT binary)
SELECT count(*) FROM compat_copy_narrow;

-- binary input into an unconstrained column
CREATE TABLE compat_copy_any (id int, v vector);
\copy compat_copy_any FROM 'results/compat_copy.bin' WITH (FORMAT binary)
SELECT id, v, vector_dims(v) FROM compat_copy_any ORDER BY id;

DROP TABLE compat_copy_src, compat_copy_dst, compat_copy_narrow, compat_copy_any;
