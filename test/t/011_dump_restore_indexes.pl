
# Copyright (c) vecpersist developers
#
# pg_dump and restore of a schema with hnsw indexes, and pgvector's text
# format loaded unchanged.
#
# (1) A database with vector columns (vector(16) and unconstrained), hnsw
# indexes with non-default m and ef_construction in all four operator
# classes, a partial hnsw index and an hnsw index in another schema is
# dumped in plain, custom and directory format and restored with psql,
# pg_restore and pg_restore --jobs 2.  Every restored database must have the
# same rows (as text and as vector_send bytes), the same index definitions
# (the pg_get_indexdef list of both schemas), and the same k-NN answers
# through each hnsw index at ef_search = 400, which must also equal the
# exact answers by a sequential scan.  (No index has m below 6: with m = 4
# and ef_construction = 16, every build of the partial index, in
# vecpersist as in pgvector 0.8.6, leaves a few of its 300 nodes
# unreachable, so no ef_search finds them.)
#
# (2) test/t/data/pgvector_t.copy is the output of COPY t TO STDOUT on a
# pgvector 0.8.6 table, and test/t/data/pgvector_t_send.copy the output of
#   COPY (SELECT id, encode(vector_send(a), 'hex'), md5(vector_send(b))
#         FROM t ORDER BY id) TO STDOUT
# on the same table.  They were produced by building pgvector 0.8.6 into a
# private PostgreSQL 15.20 installation, creating
#   CREATE TABLE t (id int PRIMARY KEY, a vector(3), b vector, note text);
# and inserting 30 rows of edge values written in many ways (the note
# column says what each row is about): negative zero, subnormals (1e-38,
# 1.4e-45, 7e-46, which rounds to 0), values around FLT_MIN and FLT_MAX
# (3.4e38, 3.4028235e38 written out in full), decimals with many digits,
# integers beyond float precision, exponents in every spelling, whitespace
# and '+' signs, a zero vector, NULLs, and dims 1, 2, 3, 5, 8, 16, 100 and
# 2000.  Loading that file with COPY into vecpersist must give the same
# vector_send bytes as pgvector had, and COPY t TO STDOUT must reproduce
# the file byte for byte.  The fixture table goes through the dumps too.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use lib dirname(__FILE__);
use VpCacheTest;

my $dims = 16;
my $datadir = File::Spec->rel2abs(dirname(__FILE__) . '/data');
my $fixture = "$datadir/pgvector_t.copy";
my $fixture_send = "$datadir/pgvector_t_send.copy";

my $node = start_node('dump', preload => 1);
my $tempdir = PostgreSQL::Test::Utils::tempdir;

# --- the source database -----------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src',
	create_tables_sql($dims, 10, 0.5, 1500) . qq{
ALTER TABLE items ADD COLUMN u vector, ADD COLUMN cat int;
UPDATE items SET u = subvector(v, 1, 8), cat = id % 5;
CREATE SCHEMA other;
CREATE TABLE other.things (id int PRIMARY KEY, w vector(8));
INSERT INTO other.things SELECT id, subvector(v, 9, 8) FROM items WHERE id <= 1000;
CREATE INDEX items_v_l2 ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 40);
CREATE INDEX items_v_ip ON items USING hnsw (v vector_ip_ops) WITH (m = 12);
CREATE INDEX items_v_cos ON items USING hnsw (v vector_cosine_ops) WITH (ef_construction = 100);
CREATE INDEX items_u_l2 ON items USING hnsw (u vector_l2_ops);
CREATE INDEX items_v_cat1 ON items USING hnsw (v vector_l2_ops) WITH (m = 6, ef_construction = 24)
  WHERE cat = 1;
CREATE INDEX things_w_cos ON other.things USING hnsw (w vector_cosine_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX things_w_l1 ON other.things USING hnsw (w vector_l1_ops);
CREATE TABLE t (id int PRIMARY KEY, a vector(3), b vector, note text);
COPY t FROM '$fixture';
ANALYZE;
});

# --- (2) pgvector's text format ----------------------------------------------

my $send_sql = q{COPY (SELECT id, encode(vector_send(a), 'hex'), md5(vector_send(b))
        FROM t ORDER BY id) TO STDOUT};

# The fixture files, without their final newline (as psql's output).
my $fixture_text = slurp_file($fixture);
chomp $fixture_text;
my $fixture_send_text = slurp_file($fixture_send);
chomp $fixture_send_text;

# The fixture table of database $db must hold what pgvector had.
sub check_fixture
{
	my ($db, $how) = @_;
	is($node->safe_psql($db, 'COPY t TO STDOUT'),
		$fixture_text, "$how: COPY t TO STDOUT reproduces pgvector's COPY output");
	is($node->safe_psql($db, $send_sql),
		$fixture_send_text, "$how: vector_send bytes equal pgvector's");
	return;
}

is($node->safe_psql('src', 'SELECT count(*), count(a), count(b) FROM t'),
	'30|28|27', 'pgvector fixture: 30 rows loaded, NULLs kept');
check_fixture('src', 'pgvector fixture');

# A few of the values spelled out, so that a failure above is readable.
my %bits = (
	2 => [ '00030000800000000000000080000000', 'negative zero keeps its sign bit' ],
	4 => [ '00030000000000018000000100000001', '1.4e-45 is the smallest subnormal' ],
	16 => [ '000300007f7fffffff7fffff3f800000', 'FLT_MAX written out in full' ],
	23 => [ '0003000000000000800000003f800000', 'double subnormals underflow to signed zeros' ],);
foreach my $id (sort { $a <=> $b } keys %bits)
{
	is( $node->safe_psql('src',
			"SELECT encode(vector_send(a), 'hex') FROM t WHERE id = $id"),
		$bits{$id}[0],
		"pgvector fixture row $id: $bits{$id}[1]");
}
is( $node->safe_psql('src',
		q{SELECT vector_dims(b) || ' ' || a::text FROM t WHERE id = 7}),
	'2 [0.12345679,3.1415927,2.7182817]',
	'pgvector fixture row 7: many digits round to the nearest float');
is( $node->safe_psql('src',
		q{SELECT string_agg(vector_dims(b)::text, ',' ORDER BY id) FROM t WHERE id IN (1, 26, 27)}),
	'1,2000,100', 'pgvector fixture: 1, 2000 and 100 dimensions');
# Text and binary agree: what vecpersist prints reads back to the same bytes.
is( $node->safe_psql(
		'src', q{
SELECT count(*) FROM t
WHERE vector_send(a::text::vector) IS DISTINCT FROM vector_send(a)
   OR vector_send(b::text::vector) IS DISTINCT FROM vector_send(b)}),
	'0', 'pgvector fixture: every value survives output and input');

# --- (1) dump and restore with hnsw indexes ----------------------------------

# The hnsw indexes checked after each restore: name, table, column, operator,
# WHERE clause, query vector (of table queries q).
my @indexes = (
	[ 'items_v_l2',   'items',        'v', '<->', '',              'q.v' ],
	[ 'items_v_ip',   'items',        'v', '<#>', '',              'q.v' ],
	[ 'items_v_cos',  'items',        'v', '<=>', '',              'q.v' ],
	[ 'items_u_l2',   'items',        'u', '<->', '',              'subvector(q.v, 1, 8)' ],
	[ 'items_v_cat1', 'items',        'v', '<->', 'WHERE cat = 1', 'q.v' ],
	[ 'things_w_cos', 'other.things', 'w', '<=>', '',              'subvector(q.v, 9, 8)' ],
	[ 'things_w_l1',  'other.things', 'w', '<+>', '',              'subvector(q.v, 9, 8)' ],);

# The top 10 ids of every query vector, one line "qid:id,..." per query.
sub knn_statement
{
	my ($spec, $exact) = @_;
	my (undef, $table, $col, $op, $where, $qv) = @$spec;
	my $order = $exact ? "t.$col $op $qv, t.id" : "t.$col $op $qv";
	return qq{
SELECT string_agg(q.qid || ':' || array_to_string(ARRAY(
           SELECT t.id FROM $table t $where ORDER BY $order LIMIT 10), ','),
       E'\\n' ORDER BY q.qid)
FROM queries q};
}

# The k-NN answers of every index of @indexes in $db, checked against the
# exact scan and against the plan (the statement must use that index);
# returns them as a hash by index name.
sub knn_answers
{
	my ($db, $how) = @_;
	my %answer;
	my $t0 = time;
	foreach my $spec (@indexes)
	{
		my $name = $spec->[0];
		my $plan = $node->safe_psql($db,
			"BEGIN; $index_settings EXPLAIN (COSTS OFF) "
			  . knn_statement($spec, 0) . '; COMMIT;');
		like($plan, qr/Index Scan using $name on /,
			"$how: the $name statement scans $name");
		my $got = $node->safe_psql($db,
			"BEGIN; $index_settings " . knn_statement($spec, 0) . '; COMMIT;');
		my $exact = $node->safe_psql($db,
			"BEGIN; $exact_settings " . knn_statement($spec, 1) . '; COMMIT;');
		is($got, $exact, "$how: $name answers equal the exact scan");
		$answer{$name} = $got;
	}
	note sprintf("%s: k-NN checks of %d indexes in %.0f ms",
		$how, scalar @indexes, 1000 * (time - $t0));
	return \%answer;
}

# Everything a restore must reproduce, one string each.
my @checks = (
	[ 'rows of items',
		q{SELECT count(*) || ' ' || md5(string_agg(items::text, ';' ORDER BY id)) FROM items} ],
	[ 'items in binary',
		q{SELECT md5(string_agg(encode(vector_send(v), 'hex') || '/' || encode(vector_send(u), 'hex'),
		    ';' ORDER BY id)) FROM items} ],
	[ 'rows of other.things',
		q{SELECT count(*) || ' ' || md5(string_agg(encode(vector_send(w), 'hex'), ';' ORDER BY id))
		  FROM other.things} ],
	[ 'rows of t',
		q{SELECT count(*) || ' ' || md5(string_agg(t::text, ';' ORDER BY id)) FROM t} ],
	[ 'column types',
		q{SELECT string_agg(attrelid::regclass || '.' || attname || ' ' || format_type(atttypid, atttypmod),
		    ', ' ORDER BY attrelid::regclass::text, attnum)
		  FROM pg_attribute
		  WHERE attrelid IN ('items'::regclass, 'other.things'::regclass, 't'::regclass)
		    AND attnum > 0 AND NOT attisdropped} ],
	[ 'index definitions',
		q{SELECT string_agg(pg_get_indexdef(i.indexrelid), E'\n' ORDER BY n.nspname, c.relname)
		  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		    JOIN pg_namespace n ON n.oid = c.relnamespace
		  WHERE n.nspname IN ('public', 'other')} ],);

sub fingerprint
{
	my ($db) = @_;
	my %f;
	$f{ $_->[0] } = $node->safe_psql($db, $_->[1]) foreach @checks;
	return \%f;
}

my $orig = fingerprint('src');
note "index definitions of the source:\n$orig->{'index definitions'}";
my $defs = $orig->{'index definitions'};
like($defs, qr/items_v_l2 ON public\.items USING hnsw \(v vector_l2_ops\) WITH \(m='8', ef_construction='40'\)$/m,
	'source: l2 index with its options');
like($defs, qr/items_v_cat1 ON public\.items USING hnsw \(v vector_l2_ops\) WITH \(m='6', ef_construction='24'\) WHERE \(cat = 1\)$/m,
	'source: partial index with its options');
like($defs, qr/things_w_cos ON other\.things USING hnsw \(w vector_cosine_ops\) WITH \(m='8', ef_construction='32'\)$/m,
	'source: index in another schema');
is(scalar(() = $defs =~ /USING hnsw/g), 7, 'source: seven hnsw indexes');

my $orig_knn = knn_answers('src', 'source');

# The restored database $db must match the source in everything.
sub compare_with_source
{
	my ($db, $how) = @_;
	my $got = fingerprint($db);
	is($got->{ $_->[0] }, $orig->{ $_->[0] }, "$how: $_->[0] identical")
	  foreach @checks;
	check_fixture($db, $how);
	my $knn = knn_answers($db, $how);
	is($knn->{$_}, $orig_knn->{$_}, "$how: $_ answers equal the source's")
	  foreach map { $_->[0] } @indexes;
	return;
}

# Dump src with @dump_args into $target (a file or directory), restore it
# into a new database $db with @restore (the command, without -d).
sub dump_and_restore
{
	my ($how, $db, $dump_args, $restore) = @_;
	my $t0 = time;
	$node->command_ok(
		[ 'pg_dump', '--no-sync', @$dump_args, '-d', $node->connstr('src') ],
		"$how: pg_dump");
	my $t1 = time;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->command_ok([ @$restore, '-d', $node->connstr($db) ],
		"$how: restored");
	note sprintf("%s: dump %.0f ms, restore %.0f ms",
		$how, 1000 * ($t1 - $t0), 1000 * (time - $t1));
	compare_with_source($db, $how);
	return;
}

dump_and_restore(
	'plain', 'dst_plain',
	[ '-f', "$tempdir/src.sql" ],
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$tempdir/src.sql" ]);

dump_and_restore(
	'custom', 'dst_custom',
	[ '-Fc', '-f', "$tempdir/src.dump" ],
	[ 'pg_restore', '--exit-on-error', "$tempdir/src.dump" ]);

dump_and_restore(
	'directory, --jobs 2', 'dst_dir',
	[ '-Fd', '--jobs', '2', '-f', "$tempdir/src.dir" ],
	[ 'pg_restore', '--exit-on-error', '--jobs', '2', "$tempdir/src.dir" ]);

no_crash_ok($node);
$node->stop;

done_testing();
