
# Copyright (c) vecpersist developers
#
# VpCacheTest: helpers shared by the TAP tests of the shared graph cache
# (005_cache_sharing.pl, 006_cache_budget.pl, 007_cache_prewarm.pl,
# 008_no_preload.pl).  It provides
#
#  - start_node: a new cluster (jit and autovacuum off, optionally with
#    shared_preload_libraries = 'vecpersist'), started;
#  - the deterministic test data, as SQL: gen_rows (vectors around 50
#    well-separated centres), near_rows (rows right next to each query
#    vector), queries_sql and table_sql (CREATE TABLE plus the INSERT),
#    create_tables_sql and create_tables (tables items and queries);
#  - the k-NN statements: knn_select (top 10 ids of every query vector),
#    knn_sql (through the hnsw index), exact_sql (by an exact scan),
#    explain_sql (EXPLAIN of knn_sql's statement), and the settings they
#    use, $index_settings and $exact_settings;
#  - checks and readings: check_knn (hnsw answer = exact answer),
#    cache_entry (a vecpersist_cache row as a hash), cache_stats
#    (vecpersist_cache_stats() as a hash), logged_builds and count_builds
#    (graph builds in the server log), logged_loads and count_loads (graphs
#    loaded from snapshots), count_builds_or_loads (either), count_rejected
#    (snapshots logged as not used), answer_ids and count_ids_from (the ids
#    of a knn_select answer), no_crash_ok (no server process was
#    terminated);
#  - snapshots: set_snapshots (vecpersist.snapshots on or off, reloaded)
#    and wait_for_snapshot (the writer has saved a graph as it is now).
#
# Graphs and restarts: the snapshot writer saves each graph after its
# build and at a clean shutdown, so after a restart a graph is normally
# LOADED ("loaded hnsw graph ..." in the log, origin = 'loaded' in the
# view), not built.  A loaded graph keeps the nodes of deleted rows (as
# dead_nodes; the view's nodes counts them too), so its live nodes are
# nodes - dead_nodes.  Tests of the build from the pages turn snapshots
# off with set_snapshots.
#
# Every helper is told the node and the dimensions it works with; nothing
# here keeps state between calls.
#
# "Exact answer": the top 10 ids of each query vector through the hnsw
# index with vecpersist.ef_search = 400 must equal, in order, the top 10 by
# an exact (sequential) scan.  The data are vectors around 50 centres
# (about 100 rows each in the tests, fewer than ef_search), generated
# deterministically in SQL (setseed), so an hnsw scan that sees every row
# of the graph returns the exact answer.

package VpCacheTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

our @EXPORT = qw(
  start_node
  gen_rows near_rows queries_sql table_sql create_tables_sql create_tables
  knn_select knn_sql exact_sql explain_sql $index_settings $exact_settings
  check_knn cache_entry cache_stats logged_builds count_builds
  logged_loads count_loads count_builds_or_loads count_rejected
  set_snapshots wait_for_snapshot
  answer_ids count_ids_from no_crash_ok
);

# A new cluster $name, initialised with the arguments in $opt{init} (a hash
# reference), with jit and autovacuum off, shared_preload_libraries =
# 'vecpersist' if $opt{preload}, and the lines $opt{conf}; started.
sub start_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $opt{init} // {} });
	my $conf = '';
	$conf .= "shared_preload_libraries = 'vecpersist'\n" if $opt{preload};
	$conf .= $opt{conf} // '';
	$conf .= q{
# enable_seqscan = off would otherwise JIT-compile the test statements
jit = off
# nothing but the test may touch the tables (and so the graphs)
autovacuum = off
};
	$node->append_conf('postgresql.conf', $conf);
	$node->start;
	return $node;
}

# Rows $from..$to of $dims-dimensional vectors: centre c = i % 50, whose
# coordinate d is a hash of (c, d) spread over [-1, 1] (2 * fract(sin(c *
# 12.9898 + d * 78.233) * 43758.5453) - 1, so that no two centres are close:
# about 4.6 apart on average in 32 dimensions), plus noise of standard
# deviation 0.15 per coordinate (sum of three uniforms), which puts a
# cluster's rows about 1.2 from each other.
sub gen_rows
{
	my ($dims, $from, $to) = @_;
	return qq{
SELECT i, (SELECT array_agg((2 * (h - floor(h)) - 1
                             + 0.3 * (random() + random() + random() - 1.5))::real
                            ORDER BY d)
           FROM generate_series(1, $dims) d,
                LATERAL (SELECT sin((i % 50) * 12.9898 + d * 78.233) * 43758.5453) x(h))::vector($dims)
FROM generate_series($from, $to) i};
}

# $per rows next to each query vector (within about 0.1 of it), with ids
# $base + qid * 100 + k for k in $k0 .. $k0 + $per - 1.  Rows inserted so
# "near" a query are much closer to it than its cluster (about 1.2 away),
# so they must come first in its answer.
sub near_rows
{
	my ($dims, $base, $k0, $per) = @_;
	my $k1 = $k0 + $per - 1;
	return qq{
SELECT $base + q.qid * 100 + k,
       q.v + (SELECT array_agg((0.05 * (random() - 0.5) + 0 * k)::real ORDER BY d)
              FROM generate_series(1, $dims) d)::vector($dims)
FROM queries q, generate_series($k0, $k1) k};
}

# Table queries with $nqueries query vectors (qid 1 .. $nqueries, seed
# 0.25, so the same in every database and every test).
sub queries_sql
{
	my ($dims, $nqueries) = @_;
	return qq{
CREATE TABLE queries (qid int PRIMARY KEY, v vector($dims));
SELECT setseed(0.25);
INSERT INTO queries SELECT i - 1000000, v FROM (@{[ gen_rows($dims, 1000001, 1000000 + $nqueries) ]}) g(i, v);
};
}

# Table $table with rows 1 .. $n of gen_rows() from seed $seed.
sub table_sql
{
	my ($dims, $table, $seed, $n) = @_;
	return qq{
CREATE TABLE $table (id int PRIMARY KEY, v vector($dims));
SELECT setseed($seed);
INSERT INTO $table @{[ gen_rows($dims, 1, $n) ]};
};
}

# The extension and the tables queries and items ($n rows from seed $seed),
# analysed.
sub create_tables_sql
{
	my ($dims, $nqueries, $seed, $n) = @_;
	return "CREATE EXTENSION IF NOT EXISTS vecpersist;\n"
	  . queries_sql($dims, $nqueries)
	  . table_sql($dims, 'items', $seed, $n)
	  . "ANALYZE items, queries;\n";
}

# create_tables_sql() run in database $db of $node.
sub create_tables
{
	my ($node, $db, $dims, $nqueries, $seed, $n) = @_;
	$node->safe_psql($db, create_tables_sql($dims, $nqueries, $seed, $n));
	return;
}

# The top 10 ids of every query vector by operator $op (default <->) over
# $table, one line "qid:id,id,..." per query.  Through the index (with
# knn_sql) or, if $exact, by an exact scan (ties broken by id; with
# exact_sql).
sub knn_select
{
	my ($table, $exact, $op) = @_;
	$op //= '<->';
	my $order = $exact ? "t.v $op q.v, t.id" : "t.v $op q.v";
	return qq{
SELECT string_agg(q.qid || ':' || array_to_string(ARRAY(
           SELECT t.id FROM $table t ORDER BY $order LIMIT 10), ','),
       E'\\n' ORDER BY q.qid)
FROM queries q};
}

our $index_settings =
  'SET LOCAL enable_seqscan = off; SET LOCAL vecpersist.ef_search = 400;';
our $exact_settings =
  'SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off;';

# knn_select() through the index (forced, ef_search = 400), in a transaction.
sub knn_sql
{
	my ($table, $op) = @_;
	return "BEGIN; $index_settings " . knn_select($table, 0, $op) . '; COMMIT;';
}

# knn_select() by an exact scan, in a transaction.
sub exact_sql
{
	my ($table, $op) = @_;
	return "BEGIN; $exact_settings " . knn_select($table, 1, $op) . '; COMMIT;';
}

# The plan of knn_sql()'s statement.
sub explain_sql
{
	my ($table, $op) = @_;
	return "BEGIN; $index_settings EXPLAIN (COSTS OFF) "
	  . knn_select($table, 0, $op)
	  . '; COMMIT;';
}

# The hnsw answer for $table (in $opt{session}, a background_psql session,
# if given, else in a new session of $db on $node) must equal the exact
# answer (computed in a new session); with $opt{plan}, also check that the
# statement scans index $opt{plan}.  Prints how long the hnsw statement
# took, in ms with $opt{digits} decimals (default 0).  Returns the answer.
sub check_knn
{
	my ($node, $label, $db, $table, %opt) = @_;
	if ($opt{plan})
	{
		my $plan = $node->safe_psql($db, explain_sql($table));
		like($plan, qr/Index Scan using $opt{plan} on $table/,
			"$label: the statement scans $opt{plan}");
	}
	my $exact = $node->safe_psql($db, exact_sql($table));
	# one line per query vector, so one index scan each
	my @lines = split /\n/, $exact;
	my $nqueries = scalar @lines;
	my $t0 = time;
	my $got =
	  $opt{session}
	  ? $opt{session}->query_safe(knn_sql($table))
	  : $node->safe_psql($db, knn_sql($table));
	note sprintf("%s: %d index scans in %.*f ms",
		$label, $nqueries, $opt{digits} // 0, 1000 * (time - $t0));
	is($got, $exact, "$label: hnsw answers equal the exact scan");
	return $got;
}

# The vecpersist_cache row of $index (in database $db, default postgres)
# on $node, as a hash; origin is 'built', 'loaded' or '' (no row), and
# snapshot is 't' once the graph has a snapshot (snapshot_at is set).
sub cache_entry
{
	my ($node, $index, $db) = @_;
	my %r;
	my @cols = qw(state nodes dead_nodes builds absorbed deletion_passes
	  searches origin snapshot);
	@r{@cols} =
	  split /\|/,
	  $node->safe_psql($db // 'postgres',
		'SELECT state, nodes, dead_nodes, builds, absorbed, deletion_passes, '
		  . 'searches, origin, snapshot_at IS NOT NULL '
		  . "FROM vecpersist_cache WHERE indexrelid = '$index'::regclass");
	$r{$_} //= '' foreach @cols;
	return \%r;
}

# vecpersist_cache_stats() of $node, as a hash reference.
sub cache_stats
{
	my ($node) = @_;
	my %s;
	@s{qw(budget_bytes used_bytes graphs max_graphs evictions fallbacks)} =
	  split /\|/,
	  $node->safe_psql('postgres',
		'SELECT budget_bytes, used_bytes, graphs, max_graphs, evictions, fallbacks '
		  . 'FROM vecpersist_cache_stats()');
	return \%s;
}

# Durations (ms) of the graphs of $index in $db that $node logged as
# $verb ('built' or 'loaded') since $offset.
sub logged_graphs
{
	my ($verb, $node, $offset, $index, $db) = @_;
	my $log = slurp_file($node->logfile, $offset);
	my @ms = ($log =~
		  /\Q$verb\E hnsw graph of index "\Q$index\E" in database "\Q$db\E" in ([0-9.]+) ms/g
	);
	return @ms;
}

# Durations (ms) of the builds of $index in $db logged by $node since
# $offset.
sub logged_builds
{
	return logged_graphs('built', @_);
}

# How many builds of $index in $db $node logged since $offset.
sub count_builds
{
	my @ms = logged_builds(@_);
	return scalar @ms;
}

# Durations (ms) of the loads of $index's graph in $db from its snapshot
# logged by $node since $offset.
sub logged_loads
{
	return logged_graphs('loaded', @_);
}

# How many loads of $index in $db from a snapshot $node logged since
# $offset.
sub count_loads
{
	my @ms = logged_loads(@_);
	return scalar @ms;
}

# How many times $node logged since $offset that it built or loaded the
# graph of $index in $db (for checks that a graph came back once, however).
sub count_builds_or_loads
{
	return count_builds(@_) + count_loads(@_);
}

# How many times $node logged since $offset that it did not use the
# snapshot of $index (and rebuilt its graph from the pages instead).
sub count_rejected
{
	my ($node, $offset, $index) = @_;
	my $log = slurp_file($node->logfile, $offset);
	my @r = ($log =~
		  /snapshot of hnsw index "\Q$index\E" not used: ([^\n]*)/g);
	return scalar @r;
}

# Set vecpersist.snapshots to $on ('on' or 'off') in $node's
# postgresql.conf and reload; it takes effect for loading at once, for
# the graphs after the next restart too.
sub set_snapshots
{
	my ($node, $on) = @_;
	$node->append_conf('postgresql.conf', "vecpersist.snapshots = $on\n");
	$node->reload;
	$node->poll_query_until('postgres', 'SHOW vecpersist.snapshots', $on)
	  or die "vecpersist.snapshots did not become $on";
	return;
}

# Wait until the snapshot writer of $node has saved the graph of $index
# (in $db, default postgres) at least once (snapshot_at is set): the
# writer saves a graph asynchronously, soon after its build.  Changes made
# after that save are not in the snapshot (snapshot_stale), until the next
# periodic save or a clean shutdown; a load catches them up from the
# pages.  Returns whether it was saved.
sub wait_for_snapshot
{
	my ($node, $index, $db) = @_;
	return $node->poll_query_until($db // 'postgres',
		"SELECT snapshot_at IS NOT NULL FROM vecpersist_cache "
		  . "WHERE indexrelid = '$index'::regclass");
}

# The ids of an answer of knn_select().
sub answer_ids
{
	my ($answer) = @_;
	return map { my (undef, $ids) = split /:/; split /,/, ($ids // '') }
	  split /\n/, $answer;
}

# How many ids of an answer of knn_select() are >= $min.
sub count_ids_from
{
	my ($answer, $min) = @_;
	return scalar grep { $_ >= $min } answer_ids($answer);
}

# No server process of $node was terminated (it never crashed); the test
# is named "${prefix}no server process was terminated".
sub no_crash_ok
{
	my ($node, $prefix) = @_;
	return ok(!$node->log_contains(qr/server process .* was terminated/),
		($prefix // '') . 'no server process was terminated');
}

1;
