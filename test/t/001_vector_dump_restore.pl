
# Copyright (c) vecpersist developers
#
# pg_dump and restore of vector data: plain format through psql, custom
# format through pg_restore, and directory format through pg_restore --jobs 2.
# The restored rows must be identical to the originals, both as text and
# byte for byte in the binary format (vector_send), including NULLs, -0,
# tiny and huge floats and a 2000-dimensional vector; column types (typmods)
# and index definitions must survive too.  A binary COPY round trip checks
# vector_recv against vector_send on the same data.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecpersist'");
$node->start;

my $tempdir = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
CREATE EXTENSION vecpersist;
CREATE TABLE t (id int PRIMARY KEY, a vector(3), b vector);
INSERT INTO t VALUES
	(1, '[1,2,3]', '[1]'),
	(2, '[-1.5,-0,0]', NULL),
	(3, '[1e-37,-1.5e-38,1.17549435e-38]', '[0.1,0.2,0.3,0.4]'),
	(4, '[1e30,-1e30,3.4028235e38]', '[-3.4028235e38,1e-30,-1e-30]'),
	(5, NULL, NULL),
	(6, NULL, '[0]'),
	(7, '[0.1,-0.2,0.33333334]', '[123456.79,-9.87654e-05,7]'),
	(8, '[3,2,1]', '[-0]');
INSERT INTO t
	SELECT 9, '[1,1,1]',
		('[' || string_agg(((sin(i) * 1000)::real)::text, ',' ORDER BY i) || ']')::vector
	FROM generate_series(1, 2000) i;
CREATE INDEX t_a_idx ON t (a);
-- a 2000-dim vector is too large for a btree entry: index the short ones
CREATE INDEX t_b_idx ON t USING btree (b) WHERE vector_dims(b) < 100;
});

my $hnsw = $node->safe_psql('src',
	"SELECT count(*) FROM pg_am WHERE amname = 'hnsw'");
if ($hnsw)
{
	# Also check that hnsw index definitions survive, when the access
	# method is present in this build.
	$node->safe_psql('src',
		'CREATE INDEX t_a_hnsw ON t USING hnsw (a vector_l2_ops) WITH (m = 8, ef_construction = 32)'
	);
}

# Everything a restore must reproduce, as one string per database.
my @checks = (
	[ 'row count',
		q{SELECT count(*) || '/' || count(a) || '/' || count(b) FROM t} ],
	[ 'rows as text',
		q{SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM t} ],
	[ 'rows in binary',
		q{SELECT md5(string_agg(coalesce(encode(vector_send(a), 'hex'), 'null')
		    || '/' || coalesce(encode(vector_send(b), 'hex'), 'null'), ',' ORDER BY id))
		  FROM t} ],
	[ 'dimensions',
		q{SELECT string_agg(coalesce(vector_dims(b)::text, 'null'), ',' ORDER BY id) FROM t} ],
	[ 'column types',
		q{SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
		  FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0} ],
	[ 'index definitions',
		q{SELECT string_agg(pg_get_indexdef(indexrelid), E'\n' ORDER BY indexrelid::regclass::text)
		  FROM pg_index WHERE indrelid = 't'::regclass} ],
	[ 'extension version',
		q{SELECT extversion FROM pg_extension WHERE extname = 'vecpersist'} ],);

sub fingerprint
{
	my ($db) = @_;
	my %f;
	$f{ $_->[0] } = $node->safe_psql($db, $_->[1]) foreach @checks;
	return \%f;
}

my $orig = fingerprint('src');
note "original: $_ = $orig->{$_}" foreach sort keys %$orig;
is($orig->{'row count'}, '9/7/7', 'source table has the expected rows');
like($orig->{'column types'}, qr/^id integer, a vector\(3\), b vector$/,
	'typmod shown by format_type');
is( $node->safe_psql('src',
		q{SELECT encode(vector_send(a), 'hex') FROM t WHERE id = 2}),
	'00030000bfc000008000000000000000',
	'-0 keeps its sign bit in the binary format');

sub compare_with_original
{
	my ($db, $how) = @_;
	my $got = fingerprint($db);
	is($got->{ $_->[0] }, $orig->{ $_->[0] }, "$how: $_->[0] identical")
	  foreach @checks;

	# Indexes still work after the restore: the btree on the vector column
	# finds rows by equality.
	is( $node->safe_psql(
			$db, q{
SET enable_seqscan = off;
SELECT string_agg(id::text, ',' ORDER BY id) FROM t
WHERE a = '[1,2,3]' OR a = '[-1.5,0,0]'}),
		'1,2',
		"$how: btree lookup on the vector column (-0 = 0)");
	return;
}

# --- plain format, restored with psql ---------------------------------------
my $plain = "$tempdir/src.sql";
$node->command_ok(
	[ 'pg_dump', '--no-sync', '-f', $plain, '-d', $node->connstr('src') ],
	'pg_dump in plain format');
$node->safe_psql('postgres', 'CREATE DATABASE dst_plain');
$node->command_ok(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $plain,
		'-d', $node->connstr('dst_plain')
	],
	'plain dump restored with psql');
compare_with_original('dst_plain', 'plain');

# --- custom format, restored with pg_restore ----------------------------------
my $custom = "$tempdir/src.dump";
$node->command_ok(
	[ 'pg_dump', '--no-sync', '-Fc', '-f', $custom, '-d', $node->connstr('src') ],
	'pg_dump in custom format');
$node->safe_psql('postgres', 'CREATE DATABASE dst_custom');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst_custom'), $custom ],
	'custom dump restored with pg_restore');
compare_with_original('dst_custom', 'custom');

# --- directory format, restored in parallel ------------------------------------
my $dir = "$tempdir/src.dir";
$node->command_ok(
	[
		'pg_dump', '--no-sync', '-Fd', '--jobs', '2', '-f', $dir,
		'-d', $node->connstr('src')
	],
	'pg_dump in directory format');
$node->safe_psql('postgres', 'CREATE DATABASE dst_dir');
$node->command_ok(
	[
		'pg_restore', '--exit-on-error', '--jobs', '2',
		'-d', $node->connstr('dst_dir'), $dir
	],
	'directory dump restored with pg_restore --jobs 2');
compare_with_original('dst_dir', 'directory');

# --- binary COPY round trip (vector_send -> vector_recv) ---------------------
my $bin = "$tempdir/t.bin";
$node->safe_psql(
	'src', qq{
COPY t TO '$bin' WITH (FORMAT binary);
CREATE TABLE t2 (LIKE t);
COPY t2 FROM '$bin' WITH (FORMAT binary);
});
is( $node->safe_psql(
		'src', q{
SELECT count(*) FROM t FULL JOIN t2 USING (id)
WHERE t.id IS NULL OR t2.id IS NULL
   OR vector_send(t.a) IS DISTINCT FROM vector_send(t2.a)
   OR vector_send(t.b) IS DISTINCT FROM vector_send(t2.b)}),
	'0',
	'binary COPY round trip is byte-identical');

# The binary input checks the typmod like the text input does.
my ($ret, $stdout, $stderr) = $node->psql('src',
	qq{CREATE TABLE t3 (id int, a vector(2), b vector);
COPY t3 FROM '$bin' WITH (FORMAT binary);});
isnt($ret, 0, 'binary COPY into a vector(2) column fails');
like($stderr, qr/expected 2 dimensions, not 3/,
	'binary input reports the dimension mismatch');

$node->stop;

done_testing();
