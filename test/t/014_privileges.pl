
# Copyright (c) vecpersist developers
#
# A role without SELECT on a table cannot learn its vectors through
# anything vecpersist adds.  Roles (all logging in for themselves):
#
#  - alice owns table secret (vector(4), an hnsw index) and table shared
#    (row-level security: each role sees the rows it owns);
#  - bob has no privilege on secret, and SELECT on shared;
#  - carol has SELECT on secret, but does not own it;
#  - dave has SELECT on secret's id column only.
#
# Checked, with SQLSTATE 42501 and PostgreSQL's messages: bob and dave
# cannot query secret, with or without the index (the k-NN statement is
# refused before any scan), nor prewarm its index; only alice can evict it
# (carol can prewarm, not evict); a refused prewarm builds nothing and a
# refused evict leaves the graph in place.  The cache's view and functions
# hold sizes, counters, times, names and one-word states only (origin
# 'built' or 'loaded', quantization 'sq8' or 'none', the snapshot's time,
# size and staleness): their columns are listed exactly, so a column that
# could carry vectors cannot be added unnoticed (bob may call both
# functions).  And an index
# scan over shared returns bob only his own rows, the same as an exact scan
# does, even for a query vector sitting on alice's rows.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use File::Basename qw(dirname);
use lib dirname(__FILE__);
use VpCacheTest;

my $node = start_node('privileges', preload => 1);

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION vecpersist;
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE carol LOGIN;
CREATE ROLE dave LOGIN;
GRANT CREATE ON SCHEMA public TO alice;
SET ROLE alice;
CREATE TABLE secret (id int PRIMARY KEY, v vector(4));
INSERT INTO secret
  SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(3 * i)]::real[]::vector FROM generate_series(1, 500) i;
CREATE INDEX secret_v_idx ON secret USING hnsw (v vector_l2_ops);
GRANT SELECT ON secret TO carol;
GRANT SELECT (id) ON secret TO dave;
CREATE TABLE shared (id int PRIMARY KEY, owner name, v vector(4));
INSERT INTO shared
  SELECT i, CASE WHEN i % 4 = 0 THEN 'bob' ELSE 'alice' END,
         ARRAY[sin(i), cos(i), sin(2 * i), cos(3 * i)]::real[]::vector
  FROM generate_series(1, 2000) i;
CREATE INDEX shared_v_idx ON shared USING hnsw (v vector_l2_ops);
ALTER TABLE shared ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON shared FOR SELECT USING (owner = current_user);
GRANT SELECT ON shared TO bob;
RESET ROLE;
ANALYZE secret, shared;
});

# Run $sql as $role; returns (exit code, stdout, stderr with the SQLSTATE).
sub as_role
{
	my ($role, $sql) = @_;
	my ($stdout, $stderr);
	my $rc = $node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout,
		stderr => \$stderr,
		extra_params => [ '-U', $role ]);
	return ($rc, $stdout, $stderr);
}

# $sql as $role must fail with 42501 and message $re.
sub denied
{
	my ($role, $sql, $re, $label) = @_;
	my ($rc, $stdout, $stderr) = as_role($role, $sql);
	isnt($rc, 0, "$label: refused");
	like($stderr, qr/ERROR:  42501: $re/, "$label: 42501, $re");
	is($stdout, '', "$label: nothing returned");
	return;
}

# $sql as $role must succeed; returns its output.
sub allowed
{
	my ($role, $sql, $label) = @_;
	my ($rc, $stdout, $stderr) = as_role($role, $sql);
	is($rc, 0, "$label: allowed") or diag $stderr;
	return $stdout;
}

sub cached_builds
{
	return $node->safe_psql('postgres',
		q{SELECT coalesce(sum(builds), 0) FROM vecpersist_cache WHERE index = 'secret_v_idx'::regclass});
}

my $knn_select = q{SELECT id FROM secret ORDER BY v <-> '[1,0,0,1]' LIMIT 3};
my $knn = "SET enable_seqscan = off;\n$knn_select";
my $knn_exact = q{SET enable_indexscan = off;
SELECT id FROM secret ORDER BY v <-> '[1,0,0,1]', id LIMIT 3};

# --- the table itself -----------------------------------------------------------
my $expected = $node->safe_psql('postgres', $knn_exact);
like($node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $knn_select"),
	qr/Index Scan using secret_v_idx on secret/, 'the k-NN statement uses the index');
is(allowed('alice', $knn, 'owner k-NN'), $expected, 'the owner gets the exact answer');
is(allowed('carol', $knn, 'reader k-NN'), $expected, 'a role with SELECT gets it too');

denied('bob', 'SELECT v FROM secret LIMIT 1', 'permission denied for table secret',
	'bob reads the vectors');
denied('bob', $knn, 'permission denied for table secret', 'bob runs a k-NN query on the index');
denied('bob', $knn_exact, 'permission denied for table secret', 'bob runs an exact k-NN query');
denied('bob', q{SELECT count(*) FROM secret WHERE v <-> '[1,0,0,1]' < 0.5},
	'permission denied for table secret', 'bob counts by distance');
denied('dave', $knn, 'permission denied for table secret',
	'dave (SELECT on id only) orders by the vector');
is(allowed('dave', 'SELECT count(id) FROM secret', 'dave reads ids'), '500', 'dave can read the ids');

# --- prewarm and evict -------------------------------------------------------------
is($node->safe_psql('postgres', q{SELECT vecpersist_evict('secret_v_idx')}), 't',
	'superuser evicts the graph');
is(cached_builds(), '0', 'no graph of secret_v_idx in the cache');
denied('bob', q{SELECT vecpersist_prewarm('secret_v_idx')},
	'permission denied for table secret', 'bob prewarms');
denied('bob', q{SELECT vecpersist_prewarm('secret_v_idx'::regclass::oid::regclass)},
	'permission denied for table secret', 'bob prewarms by OID');
denied('dave', q{SELECT vecpersist_prewarm('secret_v_idx')},
	'permission denied for table secret', 'dave (SELECT on id only) prewarms');
is(cached_builds(), '0', 'refused prewarms built nothing');

is(allowed('carol', q{SELECT vecpersist_prewarm('secret_v_idx')}, 'carol prewarms'),
	'500', 'carol (SELECT) prewarms: 500 nodes');
is(cached_builds(), '1', 'the graph is in the cache');

denied('bob', q{SELECT vecpersist_evict('secret_v_idx')},
	'must be owner of table secret', 'bob evicts');
denied('carol', q{SELECT vecpersist_evict('secret_v_idx')},
	'must be owner of table secret', 'carol (SELECT, not owner) evicts');
is(cached_builds(), '1', 'refused evictions left the graph in place');
is(allowed('alice', q{SELECT vecpersist_evict('secret_v_idx')}, 'alice evicts'),
	't', 'the owner evicts the graph');
is(cached_builds(), '0', 'the graph is gone');

# --- what the cache shows -----------------------------------------------------------
$node->safe_psql('postgres', q{SELECT vecpersist_prewarm('secret_v_idx')});

# Columns of a relation, or of a function's result, with their types.
my %columns = (
	'vecpersist_cache' => [
		q{SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
		  FROM pg_attribute WHERE attrelid = 'vecpersist_cache'::regclass AND attnum > 0},
		'database name, dbid oid, index regclass, indexrelid oid, state text, nodes bigint, '
		  . 'dead_nodes bigint, bytes bigint, builds bigint, build_ms double precision, '
		  . 'built_at timestamp with time zone, last_used timestamp with time zone, '
		  . 'searches bigint, absorbed bigint, deletion_passes bigint, pinned integer, '
		  . 'origin text, quantization text, bytes_per_node double precision, '
		  . 'repaired integer, unreachable integer, '
		  . 'snapshot_at timestamp with time zone, snapshot_bytes bigint, '
		  . 'snapshot_stale boolean' ],
	'vecpersist_cache_entries()' => [
		q{SELECT pg_get_function_result('vecpersist_cache_entries()'::regprocedure)
		         || ' ' || pg_get_function_arguments('vecpersist_cache_entries()'::regprocedure)},
		'SETOF record OUT dbid oid, OUT indexrelid oid, OUT state text, OUT nodes bigint, '
		  . 'OUT dead_nodes bigint, OUT bytes bigint, OUT builds bigint, '
		  . 'OUT build_ms double precision, OUT built_at timestamp with time zone, '
		  . 'OUT last_used timestamp with time zone, OUT searches bigint, OUT absorbed bigint, '
		  . 'OUT deletion_passes bigint, OUT pinned integer, OUT origin text, '
		  . 'OUT quantization text, OUT bytes_per_node double precision, '
		  . 'OUT repaired integer, OUT unreachable integer, '
		  . 'OUT snapshot_at timestamp with time zone, OUT snapshot_bytes bigint, '
		  . 'OUT snapshot_stale boolean' ],
	'vecpersist_cache_stats()' => [
		q{SELECT pg_get_function_result('vecpersist_cache_stats()'::regprocedure)
		         || ' ' || pg_get_function_arguments('vecpersist_cache_stats()'::regprocedure)},
		'record OUT budget_bytes bigint, OUT used_bytes bigint, OUT graphs integer, '
		  . 'OUT max_graphs integer, OUT evictions bigint, OUT fallbacks bigint' ],);
foreach my $what (sort keys %columns)
{
	is($node->safe_psql('postgres', $columns{$what}[0]),
		$columns{$what}[1], "$what: only sizes, counters, times and names");
}

# What bob sees of it.  The view, the function behind it and
# vecpersist_cache_stats are readable by everyone, like PostgreSQL's
# statistics views: what they show must be harmless.
is( allowed(
		'bob',
		q{SELECT index || ' ' || nodes || ' ' || state FROM vecpersist_cache
		  WHERE indexrelid = 'secret_v_idx'::regclass},
		'bob reads the view vecpersist_cache'),
	'secret_v_idx 500 ready',
	'bob reads the view: the index name, its size and state');
is( allowed(
		'bob',
		q{SELECT nodes || ' ' || state FROM vecpersist_cache_entries()
		  WHERE indexrelid = 'secret_v_idx'::regclass},
		'bob reads the entry of secret_v_idx'),
	'500 ready',
	'bob sees that the graph exists and its size (pg_class.reltuples tells him as much)');
is(allowed('bob', 'SELECT graphs, used_bytes FROM vecpersist_cache_stats()', 'bob reads the totals'),
	$node->safe_psql('postgres', 'SELECT graphs, used_bytes FROM vecpersist_cache_stats()'),
	'bob sees the totals');

# --- row-level security ------------------------------------------------------------
# A query vector placed on alice's rows: bob's answer must hold only his rows
# (owner = 'bob'), the same as an exact scan over what he may see.
my $alice_row = $node->safe_psql('postgres', 'SELECT v FROM shared WHERE id = 1');
my $rls_select = qq{SELECT string_agg(id::text || ':' || owner, ',') FROM
  (SELECT id, owner FROM shared ORDER BY v <-> '$alice_row' LIMIT 5) s};
my $rls_knn = "SET enable_seqscan = off; SET vecpersist.ef_search = 400;\n$rls_select";
my $rls_exact = qq{SET enable_indexscan = off;
SELECT string_agg(id::text || ':' || owner, ',') FROM
  (SELECT id, owner FROM shared ORDER BY v <-> '$alice_row', id LIMIT 5) s};
my (undef, $plan) = as_role('bob', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $rls_select");
like($plan, qr/Index Scan using shared_v_idx on shared/, 'bob\'s k-NN query on shared uses the index');
my $bob_got = allowed('bob', $rls_knn, 'bob k-NN on shared');
unlike($bob_got, qr/alice/, "bob's index scan returns none of alice's rows ($bob_got)");
like($bob_got, qr/^(\d+:bob,){4}\d+:bob$/, 'bob gets five of his own rows');
is($bob_got, allowed('bob', $rls_exact, 'bob exact k-NN on shared'),
	'the same rows as an exact scan over what bob may see');
like(allowed('alice', $rls_knn, 'alice k-NN on shared'), qr/^1:alice,/,
	'alice finds her own row first');

no_crash_ok($node);
$node->stop;

done_testing();
