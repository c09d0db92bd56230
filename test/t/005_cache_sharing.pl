
# Copyright (c) vecpersist developers
#
# The shared graph cache (shared_preload_libraries = 'vecpersist'): one
# graph per index for the whole server, seen through the vecpersist_cache
# view and vecpersist_cache_stats().
#
#  (a) CREATE INDEX builds the graph straight into the cache (one entry,
#      builds = 1, logged once).
#  (b) Sessions share it: a new session's first query does not build
#      (builds stays 1, searches + 1, nothing logged), and rows inserted by
#      one session after the build are found by the next scan of another
#      session that already held the graph (absorbed grows, builds does not).
#      A DELETE and VACUUM are followed too.
#  (c) After a restart, ten sessions whose first queries start at the same
#      moment (released together from an advisory lock) get the graph once
#      between them, and all ten get the exact answer.  With snapshots (the
#      default) it is loaded from the snapshot saved at shutdown (one
#      "loaded" line, origin = loaded, its live nodes nodes - dead_nodes =
#      live rows); with vecpersist.snapshots = off it is built from the
#      pages (one "built" line, origin = built, nodes = live rows), the
#      sessions waiting for it (vecpersist.build_wait = -1).
#  (d) While a long-lived session holds the graph, another session runs
#      REINDEX, VACUUM FULL (which moves every heap tuple), REINDEX
#      CONCURRENTLY (new index OID), TRUNCATE, DROP INDEX and DROP TABLE:
#      the long-lived session never gets a stale answer, the view keeps one
#      entry per index (none for dropped ones; REINDEX, VACUUM FULL and
#      TRUNCATE give the index new storage, so its entry starts again from
#      builds = 1, and the long-lived session does not build) and
#      used_bytes goes down.
#  (e) Two databases with identically named tables and indexes holding
#      different vectors: separate graphs, each database gets its own
#      answers; DROP DATABASE removes that database's entries.
#
# "Exact answer": the top 10 ids of each of 20 query vectors through the
# hnsw index with vecpersist.ef_search = 400 must equal, in order, the top
# 10 by an exact (sequential) scan.  The data are 32-dimensional vectors
# around 50 well-separated centres (about 100 rows each, fewer than
# ef_search), generated deterministically in SQL (setseed), so an hnsw
# scan that sees every row of the graph returns the exact answer.  Rows
# inserted "near" a query are within about 0.1 of it while its cluster lies
# about 1.2 away and other clusters farther, so they must come first.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use VpCacheTest;

my $dims     = 32;
my $nrows    = 5000;
my $nqueries = 20;

my $node = start_node('sharing', preload => 1);

# The data (gen_rows, near_rows, create_tables), the k-NN statements,
# check_knn, cache_stats and the build counts come from VpCacheTest.pm.

my @cols = qw(state nodes dead_nodes bytes builds searches absorbed
  deletion_passes pinned build_ms);

# The view's rows matching $where, as seen from $db: a list of hashes.
sub cache_rows
{
	my ($db, $where) = @_;
	my $out = $node->safe_psql($db,
		'SELECT ' . join(', ', @cols) . " FROM vecpersist_cache WHERE $where");
	my @rows;
	foreach my $line (split /\n/, $out)
	{
		my %r;
		@r{@cols} = split /\|/, $line;
		push @rows, \%r;
	}
	return @rows;
}

# The one row of index $oid in $db's view; fails the test if there is not
# exactly one.
sub cache_row
{
	my ($label, $db, $oid) = @_;
	my @rows = cache_rows($db, "indexrelid = $oid");
	is(scalar @rows, 1, "$label: one vecpersist_cache row for the index");
	return $rows[0] // {};
}

sub oid_of
{
	my ($db, $name) = @_;
	return $node->safe_psql($db, "SELECT '$name'::regclass::oid");
}

# Settings -------------------------------------------------------------------
is($node->safe_psql('postgres', 'SHOW vecpersist.cache_size'),
	'256MB', 'vecpersist.cache_size defaults to 256MB');
is($node->safe_psql('postgres', 'SHOW vecpersist.cache_max_graphs'),
	'1024', 'vecpersist.cache_max_graphs defaults to 1024');
is($node->safe_psql('postgres', 'SHOW vecpersist.prewarm'),
	'', 'vecpersist.prewarm defaults to empty');

# (a) CREATE INDEX builds into the cache -------------------------------------
create_tables($node, 'postgres', $dims, $nqueries, 0.5, $nrows);
my $db_oid = $node->safe_psql('postgres',
	q{SELECT oid FROM pg_database WHERE datname = 'postgres'});
is($node->safe_psql('postgres', 'SELECT count(*) FROM vecpersist_cache'),
	'0', 'the cache is empty before any hnsw index exists');

my $offset = -s $node->logfile;
my $t0     = time;
$node->safe_psql('postgres',
	'CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops)');
note sprintf("CREATE INDEX on %d rows x %d dims: %.0f ms",
	$nrows, $dims, 1000 * (time - $t0));
my $idx = oid_of('postgres', 'items_v_idx');

my $r = cache_row('after CREATE INDEX', 'postgres', $idx);
is($r->{state},      'ready', 'after CREATE INDEX: state is ready');
is($r->{builds},     '1',     'after CREATE INDEX: builds = 1');
is($r->{nodes},      $nrows,  "after CREATE INDEX: nodes = $nrows");
is($r->{dead_nodes}, '0',     'after CREATE INDEX: dead_nodes = 0');
is($r->{searches},   '0',     'after CREATE INDEX: searches = 0');
is($r->{absorbed},   '0',     'after CREATE INDEX: absorbed = 0');
is($r->{pinned},     '0',     'after CREATE INDEX: pinned = 0');
cmp_ok($r->{bytes}, '>', 0, 'after CREATE INDEX: bytes > 0');
note "graph of $nrows x $dims: $r->{bytes} bytes, built in $r->{build_ms} ms";
is( $node->safe_psql(
		'postgres',
		"SELECT database, dbid, index, built_at IS NOT NULL, built_at <= now() "
		  . "FROM vecpersist_cache WHERE indexrelid = $idx"),
	"postgres|$db_oid|items_v_idx|t|t",
	'after CREATE INDEX: database, dbid, index and built_at');
my @built = logged_builds($node, $offset, 'items_v_idx', 'postgres');
is(scalar @built, 1, 'CREATE INDEX logged one graph build');
note "logged: built in $built[0] ms" if @built;

my $s = cache_stats($node);
is($s->{budget_bytes}, 256 * 1024 * 1024, 'stats: budget_bytes = 256MB');
is($s->{graphs},       1,                 'stats: graphs = 1');
is($s->{max_graphs},   1024,              'stats: max_graphs = 1024');
is($s->{evictions},    0,                 'stats: evictions = 0');
is($s->{fallbacks},    0,                 'stats: fallbacks = 0');
cmp_ok($s->{used_bytes}, '>=', $r->{bytes}, 'stats: used_bytes >= the graph');
cmp_ok($s->{used_bytes}, '<=', $s->{budget_bytes},
	'stats: used_bytes <= budget_bytes');

# (b) two sessions share the graph -------------------------------------------
my $q1 = $node->safe_psql('postgres', 'SELECT v FROM queries WHERE qid = 1');
my $one_query = "SET enable_seqscan = off; "
  . "SELECT id FROM items ORDER BY v <-> '$q1' LIMIT 10; RESET enable_seqscan;";
like(
	$node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) "
		  . "SELECT id FROM items ORDER BY v <-> '$q1' LIMIT 10"),
	qr/Index Scan using items_v_idx on items/,
	'the single query scans items_v_idx');

my $s1 = $node->background_psql('postgres');
my $s2 = $node->background_psql('postgres');

$offset = -s $node->logfile;
$t0 = time;
$s1->query_safe($one_query);
note sprintf("session 1, first query: %.1f ms", 1000 * (time - $t0));
$r = cache_row('session 1 first query', 'postgres', $idx);
is($r->{builds},   '1', 'session 1 first query: no build (builds = 1)');
is($r->{searches}, '1', 'session 1 first query: searches = 1');
is($r->{pinned},   '0', 'session 1 first query: pinned = 0 once it ended');

$t0 = time;
$s2->query_safe($one_query);
note sprintf("session 2, first query: %.1f ms", 1000 * (time - $t0));
$r = cache_row('session 2 first query', 'postgres', $idx);
is($r->{builds},   '1', 'session 2 first query: no build (builds = 1)');
is($r->{searches}, '2', 'session 2 first query: searches = 2');
is(count_builds($node, $offset, 'items_v_idx', 'postgres'),
	0, 'first queries of two sessions logged no build');

check_knn($node, 'session 1', 'postgres', 'items',
	session => $s1, plan => 'items_v_idx');
check_knn($node, 'session 2', 'postgres', 'items', session => $s2);

# Session 1 inserts 5 rows next to each query vector; session 2, which has
# used the graph before, must find them in its next scans.
$s1->query_safe(
	'SELECT setseed(0.125); INSERT INTO items ' . near_rows($dims, 500000, 1, 5));
my $got = check_knn($node, 'session 2 after session 1 inserted', 'postgres',
	'items', session => $s2);
is(count_ids_from($got, 500000),
	5 * $nqueries, 'session 2 finds the 5 rows inserted next to each query');
$r = cache_row('after session 1 inserted', 'postgres', $idx);
is($r->{builds},   '1', 'after inserts: builds = 1 (no rebuild)');
is($r->{absorbed}, 5 * $nqueries, 'after inserts: absorbed = ' . 5 * $nqueries);
is($r->{nodes}, $nrows + 5 * $nqueries, 'after inserts: nodes counts them');

# And the other way round; then a new session.
$s2->query_safe(
	'SELECT setseed(0.375); INSERT INTO items ' . near_rows($dims, 500000, 6, 3));
$got = check_knn($node, 'session 1 after session 2 inserted', 'postgres',
	'items', session => $s1);
is(count_ids_from($got, 500000),
	8 * $nqueries, 'session 1 finds the 8 rows inserted next to each query');
$offset = -s $node->logfile;
check_knn($node, 'new session after inserts', 'postgres', 'items');
$r = cache_row('after inserts in both sessions', 'postgres', $idx);
is($r->{builds},   '1', 'after inserts in both sessions: builds = 1');
is($r->{absorbed}, 8 * $nqueries,
	'after inserts in both sessions: absorbed = ' . 8 * $nqueries);
is(count_builds($node, $offset, 'items_v_idx', 'postgres'),
	0, 'new session after inserts: no build logged');

# DELETE (half of the near rows among them) and VACUUM in another session.
$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 7 = 0; VACUUM items');
check_knn($node, 'session 2 after DELETE and VACUUM', 'postgres', 'items',
	session => $s2);
check_knn($node, 'session 1 after DELETE and VACUUM', 'postgres', 'items',
	session => $s1);
$r = cache_row('after DELETE and VACUUM', 'postgres', $idx);
cmp_ok($r->{deletion_passes}, '>=', 1,
	'after DELETE and VACUUM: deletion_passes >= 1');
note "after DELETE and VACUUM: builds $r->{builds}, nodes $r->{nodes}, "
  . "dead_nodes $r->{dead_nodes}, deletion_passes $r->{deletion_passes}, "
  . "searches $r->{searches}";
$s1->quit;
$s2->quit;

# (c) ten concurrent first queries after a restart ---------------------------
my $exact_items = $node->safe_psql('postgres', exact_sql('items'));
my $live = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
my $all_nodes = $node->safe_psql('postgres',
	"SELECT nodes FROM vecpersist_cache WHERE indexrelid = $idx");

# Restart, then start ten sessions whose first queries (knn_sql of items,
# after the statements $set) begin together: they wait on an advisory lock
# held here until all ten are waiting.  Checks that each gets the exact
# answer and that stderr shows nothing but the lines matching $allowed (a
# regexp, or undef for nothing at all).  Returns the log offset of the
# restart.
sub ten_first_queries
{
	my ($label, $set, $allowed) = @_;
	$node->restart;
	my $offset = -s $node->logfile;
	is($node->safe_psql('postgres', 'SELECT count(*) FROM vecpersist_cache'),
		'0', "$label: after restart the cache is empty");

	my $gate = $node->background_psql('postgres');
	$gate->query_safe('SELECT pg_advisory_lock(4242)');
	my $psql = $node->installed_command('psql');
	my $base = $node->basedir;
	my @runs;
	foreach my $i (1 .. 10)
	{
		my %run = (
			file => "$base/first_$label$i.sql",
			out  => "$base/first_$label$i.out",
			err  => "$base/first_$label$i.err");
		$run{file} =~ s/[^\w\/.-]/_/g;
		$run{out}  =~ s/[^\w\/.-]/_/g;
		$run{err}  =~ s/[^\w\/.-]/_/g;
		append_to_file($run{file},
			    "$set\n"
			  . "DO \$\$BEGIN PERFORM pg_advisory_lock_shared(4242); "
			  . "PERFORM pg_advisory_unlock_shared(4242); END\$\$;\n"
			  . knn_sql('items') . "\n");
		$run{h} = IPC::Run::start(
			[
				$psql, '-XAtq', '-v', 'ON_ERROR_STOP=1',
				'-d', $node->connstr('postgres'), '-f', $run{file}
			],
			'<', '/dev/null', '>', $run{out}, '2>', $run{err},
			IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
		push @runs, \%run;
	}
	ok( $node->poll_query_until(
			'postgres',
			q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted},
			'10'),
		"$label: ten sessions wait to run their first query");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM vecpersist_cache'),
		'0', "$label: no graph was built or loaded while they waited");
	my $t0 = time;
	$gate->query_safe('SELECT pg_advisory_unlock(4242)');
	foreach my $i (1 .. 10)
	{
		my $run = $runs[ $i - 1 ];
		$run->{h}->finish;
		is(($run->{h}->results)[0], 0, "$label, session $i: psql succeeded");
		my $out = slurp_file($run->{out});
		chomp $out;
		is($out, $exact_items,
			"$label, session $i: hnsw answers equal the exact scan");
		my $err = slurp_file($run->{err});
		$err =~ s/^.*$allowed.*\n//mg if defined $allowed;
		is($err, '', "$label, session $i: no error or warning");
	}
	note sprintf("%s: ten concurrent first sessions (%d index scans each): %.0f ms",
		$label, $nqueries, 1000 * (time - $t0));
	$gate->quit;
	return $offset;
}

# With snapshots (the default): the graph was saved at the clean shutdown,
# so after the restart it is loaded once, not built.  It still holds the
# nodes of the rows deleted and vacuumed above (as dead nodes), so its
# live nodes are nodes - dead_nodes.  The sessions wait for the load at
# most vecpersist.build_wait (200 ms): one that waits longer answers by an
# exact scan (exact answers too) with the documented NOTICE, the only
# message allowed.
$offset = ten_first_queries('(c) snapshots on', '',
	qr/NOTICE:  hnsw graph of index "items_v_idx" is being built by another session; answering from an exact scan of the index|HINT:  Results are exact\./
);
$r = cache_row('(c) snapshots on', 'postgres', $idx);
is($r->{builds}, '1',     '(c) snapshots on: builds = 1');
is($r->{state},  'ready', '(c) snapshots on: state is ready');
is($node->safe_psql('postgres',
		"SELECT origin FROM vecpersist_cache WHERE indexrelid = $idx"),
	'loaded', '(c) snapshots on: origin = loaded');
is($r->{nodes}, $all_nodes,
	'(c) snapshots on: nodes = the nodes of the graph before the restart');
is($r->{nodes} - $r->{dead_nodes},
	$live, '(c) snapshots on: nodes - dead_nodes = live rows');
is($r->{pinned}, '0', '(c) snapshots on: pinned = 0');
cmp_ok($r->{searches}, '>=', 1, '(c) snapshots on: searches >= 1');
my @loaded = logged_loads($node, $offset, 'items_v_idx', 'postgres');
is(scalar @loaded, 1, '(c) snapshots on: one load logged');
is(count_builds($node, $offset, 'items_v_idx', 'postgres'),
	0, '(c) snapshots on: no build logged');
is(count_rejected($node, $offset, 'items_v_idx'),
	0, '(c) snapshots on: the snapshot was not rejected');
note "(c) load after restart: $r->{build_ms} ms (view), "
  . join(', ', @loaded) . " ms (log)";

# Without snapshots: the first queries build the graph from the pages,
# once between the ten of them.  They wait for that build however long it
# takes (vecpersist.build_wait = -1), so every scan uses the one graph
# and no session says anything.  A build leaves out the vacuumed rows:
# nodes = live rows.
set_snapshots($node, 'off');
$offset = ten_first_queries('(c) snapshots off',
	'SET vecpersist.build_wait = -1;', undef);
$r = cache_row('(c) snapshots off', 'postgres', $idx);
is($r->{builds}, '1',     '(c) snapshots off: builds = 1');
is($r->{state},  'ready', '(c) snapshots off: state is ready');
is($node->safe_psql('postgres',
		"SELECT origin FROM vecpersist_cache WHERE indexrelid = $idx"),
	'built', '(c) snapshots off: origin = built');
is($r->{nodes},      $live, '(c) snapshots off: nodes = live rows');
is($r->{dead_nodes}, '0',   '(c) snapshots off: dead_nodes = 0');
is($r->{pinned},     '0',   '(c) snapshots off: pinned = 0');
cmp_ok($r->{searches}, '>=', 10 * $nqueries,
	'(c) snapshots off: every scan of the ten sessions searched the graph');
@built = logged_builds($node, $offset, 'items_v_idx', 'postgres');
is(scalar @built, 1, '(c) snapshots off: one build logged');
is(count_loads($node, $offset, 'items_v_idx', 'postgres'),
	0, '(c) snapshots off: no load logged');
is(cache_stats($node)->{fallbacks}, 0,
	'(c) snapshots off: no scan fell back to an exact scan');
note "(c) rebuild after restart: $r->{build_ms} ms (view), "
  . join(', ', @built) . " ms (log)";
set_snapshots($node, 'on');

# (d) REINDEX, VACUUM FULL, REINDEX CONCURRENTLY, TRUNCATE, DROP while held ---
# items2 and items3 (2000 rows each) are dropped below.
foreach my $t ('items2', 'items3')
{
	$node->safe_psql('postgres',
		table_sql($dims, $t, 0.0625, 2000) . qq{ANALYZE $t;
CREATE INDEX ${t}_v_idx ON $t USING hnsw (v vector_l2_ops);
});
}

my $holder = $node->background_psql('postgres');
check_knn($node, 'holder', 'postgres', 'items', session => $holder);
check_knn($node, 'holder, items2', 'postgres', 'items2', session => $holder,
	plan => 'items2_v_idx');
check_knn($node, 'holder, items3', 'postgres', 'items3', session => $holder);
is($node->safe_psql('postgres',
		"SELECT count(*) FROM vecpersist_cache WHERE dbid = $db_oid"),
	'3', 'three graphs cached');

# REINDEX after deleting a quarter of the rows: the new graph has only the
# live rows, and replaces the old one.
# REINDEX gives the index new storage and so a new entry: builds counts
# from 1 again (the REINDEX's build).
$s = cache_stats($node);
my $built_at0 = $node->safe_psql('postgres',
	"SELECT built_at FROM vecpersist_cache WHERE indexrelid = $idx");
$offset = -s $node->logfile;
$node->safe_psql('postgres',
	'DELETE FROM items WHERE id % 4 = 0; REINDEX INDEX items_v_idx');
$live = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
$r = cache_row('after REINDEX', 'postgres', $idx);
is($r->{state},      'ready', 'after REINDEX: state is ready');
is($r->{builds},     '1',     'after REINDEX: builds = 1 (the REINDEX)');
is( $node->safe_psql(
		'postgres',
		"SELECT built_at > '$built_at0' FROM vecpersist_cache "
		  . "WHERE indexrelid = $idx"),
	't',
	'after REINDEX: built_at is later');
is($r->{nodes},      $live,   "after REINDEX: nodes = $live live rows");
is($r->{dead_nodes}, '0',     'after REINDEX: dead_nodes = 0');
is($r->{absorbed},   '0',     'after REINDEX: absorbed = 0');
is(count_builds($node, $offset, 'items_v_idx', 'postgres'),
	1, 'REINDEX logged one build');
my $s_after = cache_stats($node);
cmp_ok($s_after->{used_bytes}, '<', $s->{used_bytes},
	'after REINDEX with fewer rows: used_bytes went down');
note "used_bytes $s->{used_bytes} before REINDEX, $s_after->{used_bytes} after";
is($s_after->{graphs}, $s->{graphs}, 'after REINDEX: as many graphs as before');
check_knn($node, 'holder after REINDEX', 'postgres', 'items',
	session => $holder);
$r = cache_row('holder after REINDEX', 'postgres', $idx);
is($r->{builds}, '1',
	'holder after REINDEX: used the REINDEX graph (builds = 1)');

# VACUUM FULL rewrites the table: every row gets a new heap TID, so a graph
# left over from before would point at the wrong rows.
$offset = -s $node->logfile;
$node->safe_psql('postgres',
	'DELETE FROM items WHERE id % 5 = 0; VACUUM FULL items');
$live = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
$r = cache_row('after VACUUM FULL', 'postgres', $idx);
is($r->{builds}, '1',   'after VACUUM FULL: builds = 1 (the rebuild)');
is($r->{nodes},  $live, "after VACUUM FULL: nodes = $live live rows");
is(count_builds($node, $offset, 'items_v_idx', 'postgres'),
	1, 'VACUUM FULL logged one build');
check_knn($node, 'holder after VACUUM FULL', 'postgres', 'items',
	session => $holder);
is(cache_row('holder after VACUUM FULL', 'postgres', $idx)->{builds},
	'1', 'holder after VACUUM FULL: no build (builds = 1)');

# REINDEX CONCURRENTLY builds a new index (new OID) and drops the old one.
$node->safe_psql('postgres', 'REINDEX INDEX CONCURRENTLY items_v_idx');
my $old_idx = $idx;
$idx = oid_of('postgres', 'items_v_idx');
isnt($idx, $old_idx, 'REINDEX CONCURRENTLY gave the index a new OID');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM vecpersist_cache WHERE indexrelid = $old_idx"),
	'0', 'after REINDEX CONCURRENTLY: no row for the old index');
$r = cache_row('after REINDEX CONCURRENTLY', 'postgres', $idx);
is($r->{state}, 'ready', 'after REINDEX CONCURRENTLY: state is ready');
is($r->{builds}, '1', 'after REINDEX CONCURRENTLY: builds = 1 (a new index)');
is($r->{nodes}, $live,   'after REINDEX CONCURRENTLY: nodes = live rows');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM vecpersist_cache WHERE dbid = $db_oid"),
	'3', 'after REINDEX CONCURRENTLY: still three graphs');
check_knn($node, 'holder after REINDEX CONCURRENTLY', 'postgres', 'items',
	session => $holder, plan => 'items_v_idx');

# TRUNCATE (new storage: a new entry with the graph of the empty index),
# then 1000 new rows (other vectors, other ids), which inserts add to it.
$s = cache_stats($node);
$node->safe_psql('postgres', 'TRUNCATE items');
$r = cache_row('after TRUNCATE', 'postgres', $idx);
is($r->{state},  'ready', 'after TRUNCATE: state is ready');
is($r->{nodes},  '0',     'after TRUNCATE: the graph is empty');
is($r->{builds}, '1',     'after TRUNCATE: builds = 1');
$node->safe_psql('postgres',
	'SELECT setseed(0.875); INSERT INTO items '
	  . gen_rows($dims, 600001, 601000));
$got = check_knn($node, 'holder after TRUNCATE and INSERT', 'postgres', 'items',
	session => $holder);
my @ids = answer_ids($got);
is(count_ids_from($got, 600001), scalar @ids,
	'holder after TRUNCATE and INSERT: only new rows returned');
is(scalar @ids, 10 * $nqueries,
	'holder after TRUNCATE and INSERT: 10 rows per query');
$r = cache_row('after TRUNCATE and INSERT', 'postgres', $idx);
is($r->{nodes},      '1000', 'after TRUNCATE and INSERT: nodes = 1000');
is($r->{dead_nodes}, '0',    'after TRUNCATE and INSERT: dead_nodes = 0');
is($r->{builds},     '1',    'after TRUNCATE and INSERT: builds = 1');
is($r->{absorbed},   '1000', 'after TRUNCATE and INSERT: absorbed = 1000');
$s_after = cache_stats($node);
cmp_ok($s_after->{used_bytes}, '<', $s->{used_bytes},
	'after TRUNCATE: used_bytes went down');

# DROP INDEX and DROP TABLE.
foreach my $case (
	[ 'DROP INDEX', 'items2', 'DROP INDEX items2_v_idx' ],
	[ 'DROP TABLE', 'items3', 'DROP TABLE items3' ])
{
	my ($what, $t, $sql) = @$case;
	my $oid = oid_of('postgres', "${t}_v_idx");
	$s = cache_stats($node);
	$node->safe_psql('postgres', $sql);
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM vecpersist_cache WHERE indexrelid = $oid"),
		'0', "after $what: the entry is gone");
	$s_after = cache_stats($node);
	is($s_after->{graphs}, $s->{graphs} - 1, "after $what: one graph fewer");
	cmp_ok($s_after->{used_bytes}, '<', $s->{used_bytes},
		"after $what: used_bytes went down");
	note "after $what: used_bytes $s->{used_bytes} -> $s_after->{used_bytes}";
}
check_knn($node, 'holder after DROP INDEX (sequential scan)', 'postgres',
	'items2', session => $holder);
is($holder->query_safe('SELECT count(*) FROM pg_class WHERE relname = \'items3\''),
	'0', 'holder after DROP TABLE: still works');
check_knn($node, 'holder after DROP INDEX and DROP TABLE', 'postgres', 'items',
	session => $holder);
$holder->quit;

# (e) two databases, identically named tables and indexes --------------------
my %ans;
foreach my $db ('db1', 'db2')
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	create_tables($node, $db, $dims, $nqueries, $db eq 'db1' ? 0.1 : 0.2, 2000);
	$node->safe_psql($db,
		'CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops)');
}
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(c.database || ':' || (c.index IS NULL) || ':' || (c.dbid = d.oid)
                  || ':' || c.builds || ':' || c.nodes, ' ' ORDER BY c.database)
FROM vecpersist_cache c JOIN pg_database d ON d.datname = c.database
WHERE c.database IN ('db1', 'db2')}),
	'db1:true:true:1:2000 db2:true:true:1:2000',
	'two databases: one entry each (index is NULL from another database)');
is( $node->safe_psql(
		'db1', q{
SELECT string_agg(database || ':' || coalesce(index::text, '-'), ' ' ORDER BY database)
FROM vecpersist_cache WHERE database IN ('db1', 'db2')}),
	'db1:items_v_idx db2:-',
	'two databases: index is named only in its own database');
foreach my $db ('db1', 'db2')
{
	$ans{$db} = check_knn($node, "database $db", $db, 'items',
		plan => 'items_v_idx');
}
isnt($ans{db1}, $ans{db2}, 'the two databases give different answers');

$node->safe_psql('db1',
	'SELECT setseed(0.5); INSERT INTO items ' . near_rows($dims, 500000, 1, 5));
$got = check_knn($node, 'database db1 after INSERT', 'db1', 'items');
is(count_ids_from($got, 500000), 5 * $nqueries,
	'database db1 finds its new rows');
is(check_knn($node, 'database db2 after INSERT into db1', 'db2', 'items'),
	$ans{db2}, 'database db2 is unaffected by db1\'s INSERT');
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(database || ':' || builds || ':' || absorbed || ':' || nodes, ' '
                  ORDER BY database)
FROM vecpersist_cache WHERE database IN ('db1', 'db2')}),
	'db1:1:100:2100 db2:1:0:2000',
	'two databases: the INSERT went to db1\'s graph only');

$s = cache_stats($node);
$node->safe_psql('postgres', 'DROP DATABASE db2');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM vecpersist_cache WHERE database = 'db2'}),
	'0', 'after DROP DATABASE db2: its entry is gone');
$s_after = cache_stats($node);
is($s_after->{graphs}, $s->{graphs} - 1, 'after DROP DATABASE: one graph fewer');
cmp_ok($s_after->{used_bytes}, '<', $s->{used_bytes},
	'after DROP DATABASE: used_bytes went down');
is(check_knn($node, 'database db1 after DROP DATABASE db2', 'db1', 'items'),
	$got, 'database db1 still gives the same answers');

# The server never crashed.
no_crash_ok($node);
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still responds');
$node->stop;

done_testing();
