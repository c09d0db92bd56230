
# Copyright (c) vecpersist developers
#
# Prewarming the shared graph cache.
#
# Every graph is saved as a snapshot after its build and at a clean
# shutdown, so after a restart prewarm (and any first query) LOADS graphs
# ("loaded hnsw graph ..." in the log, origin = loaded); with
# vecpersist.snapshots = off it builds them from the pages.  The log lines
# are counted by kind ("db:index kind" below): a graph comes back exactly
# once, by the way the scenario implies.
#
#  (a) vecpersist.prewarm = 'db1, db2:public.c_v_idx' (a whole database and
#      one schema-qualified index): after a restart the background worker
#      loads exactly those graphs (a_v_idx and b_v_idx of db1, c_v_idx of
#      db2, not d_v_idx) before any query touches them: the view shows them
#      ready with builds = 1, searches = 0 and origin = loaded, and the log
#      has one load line each and no build line.  The first query then
#      neither builds nor loads (builds stays 1) and gets the exact answer.
#      The times of the first and three more queries of a session are
#      printed, for a prewarmed index and for one that was not prewarmed
#      (which the first query loads).  The same restart with
#      vecpersist.snapshots = off: the worker builds the same three graphs
#      from the pages (one build line each, origin = built).
#  (b) vecpersist.prewarm = 'db2:d_v_idx, db1:public.b_v_idx': the unqualified
#      and the qualified form, only those two graphs.
#  (c) A hot standby made from a base backup (which carries the snapshots)
#      prewarms the same graphs at its start by loading them, answers
#      exactly, and catches up from the pages with rows the primary
#      inserted afterwards (absorbed, no rebuild).
#  (d) vecpersist_prewarm() and vecpersist_evict(): return values, effect on
#      the view, no second load or build of a cached graph, and their
#      errors (not an hnsw index; no SELECT privilege; not the owner).  An
#      evicted graph comes back from its snapshot.
#  (e) A list with a database and an index that do not exist: the server
#      starts and the valid item after them is prewarmed.
#
# "Exact answer" (check_knn in VpCacheTest.pm): the top 10 ids of each of
# the 20 query vectors through the hnsw index with vecpersist.ef_search =
# 400 equal, in order, the top 10 by a sequential scan.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use VpCacheTest;

my $dims     = 32;
my $nrows    = 3000;
my $nqueries = 20;

my $node = start_node('primary',
	preload => 1,
	init    => { allows_streaming => 1 });

# The data (queries_sql, table_sql, near_rows), the k-NN statements,
# check_knn, count_ids_from and cache_stats come from VpCacheTest.pm.

# In a new session (connected before the clock starts): one query on
# $table, then three more; prints their times and returns the first's (ms).
sub timed_queries
{
	my ($label, $n, $db, $table) = @_;
	my $q   = $n->safe_psql($db, 'SELECT v FROM queries WHERE qid = 1');
	my $sql = "SET enable_seqscan = off; "
	  . "SELECT id FROM $table ORDER BY v <-> '$q' LIMIT 10; RESET enable_seqscan;";
	my $session = $n->background_psql($db);
	my @ms;
	foreach my $i (0 .. 3)
	{
		my $t0 = time;
		$session->query_safe($sql);
		push @ms, 1000 * (time - $t0);
	}
	$session->quit;
	note sprintf("%s: first query %.1f ms, then %s ms", $label, $ms[0],
		join(', ', map { sprintf('%.1f', $_) } @ms[ 1 .. 3 ]));
	return $ms[0];
}

# "index:builds:searches:nodes" for every graph of database $db in $n's
# cache, sorted by index name, space-separated.
sub graphs_of
{
	my ($n, $db) = @_;
	return $n->safe_psql(
		$db, q{
SELECT string_agg(index::text || ':' || builds || ':' || searches || ':' || nodes,
                  ' ' ORDER BY index::text)
FROM vecpersist_cache WHERE database = current_database()});
}

# "index:origin" for every graph of database $db in $n's cache, sorted by
# index name, space-separated.
sub origins_of
{
	my ($n, $db) = @_;
	return $n->safe_psql(
		$db, q{
SELECT string_agg(index::text || ':' || origin, ' ' ORDER BY index::text)
FROM vecpersist_cache WHERE database = current_database()});
}

# The graphs $n logged as built or loaded since $offset: a hash from
# "db:index kind" (kind "built" or "loaded") to the list of their times.
sub build_lines
{
	my ($n, $offset) = @_;
	my $log = slurp_file($n->logfile, $offset);
	my %b;
	while ($log =~
		/(built|loaded) hnsw graph of index "([^"]+)" in database "([^"]+)" in ([0-9.]+) ms/g)
	{
		push @{ $b{"$3:$2 $1"} }, $4;
	}
	return \%b;
}

# The keys of build_lines() with how many lines each, sorted:
# "db:index kind xN, ...".
sub build_summary
{
	my ($b) = @_;
	return join(', ', map { "$_ x" . scalar @{ $b->{$_} } } sort keys %$b);
}

# Restart $n with vecpersist.prewarm = $list; wait until $nready graphs are
# ready; return the log offset of the start.
sub restart_with_prewarm
{
	my ($n, $list, $nready) = @_;
	$n->append_conf('postgresql.conf', "vecpersist.prewarm = '$list'");
	$n->stop;
	my $offset = -s $n->logfile;
	my $t0     = time;
	$n->start;
	my $ready = $n->poll_query_until(
		'postgres',
		q{SELECT count(*) FROM vecpersist_cache WHERE state = 'ready'},
		$nready);
	ok($ready, "prewarm '$list': $nready graphs become ready");
	note sprintf("prewarm '%s': %d graphs %s %.0f ms after pg_ctl start",
		$list, $nready, $ready ? 'ready' : 'still not ready',
		1000 * (time - $t0));
	return $offset;
}

# Set-up: db1 with tables a and b, db2 with c and d; same queries in both.
# The extension in database postgres too, for its view of the whole cache.
$node->safe_psql('postgres', 'CREATE EXTENSION vecpersist');
my $seed = 0;
foreach my $db ('db1', 'db2')
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	my $sql = "CREATE EXTENSION vecpersist;\n" . queries_sql($dims, $nqueries);
	foreach my $t ($db eq 'db1' ? ('a', 'b') : ('c', 'd'))
	{
		$seed += 0.1;
		$sql .= table_sql($dims, $t, $seed, $nrows)
		  . "CREATE INDEX ${t}_v_idx ON $t USING hnsw (v vector_l2_ops);\n";
	}
	$node->safe_psql($db, "$sql\nANALYZE;");
}
is($node->safe_psql('postgres', 'SHOW vecpersist.prewarm'), '',
	'vecpersist.prewarm is empty by default');

# (a) a database and a schema-qualified index --------------------------------
# The graphs were saved at the shutdown (if not before): prewarm loads them.
my $offset = restart_with_prewarm($node, 'db1, db2:public.c_v_idx', 3);
is(graphs_of($node, 'db1'), "a_v_idx:1:0:$nrows b_v_idx:1:0:$nrows",
	'prewarm db1: a_v_idx and b_v_idx ready, builds = 1, searches = 0');
is(graphs_of($node, 'db2'), "c_v_idx:1:0:$nrows",
	'prewarm db2:public.c_v_idx: only c_v_idx ready, builds = 1, searches = 0');
is(origins_of($node, 'db1') . ' ' . origins_of($node, 'db2'),
	'a_v_idx:loaded b_v_idx:loaded c_v_idx:loaded',
	'prewarm after a restart: the three graphs were loaded from snapshots');
my $b = build_lines($node, $offset);
is(build_summary($b),
	'db1:a_v_idx loaded x1, db1:b_v_idx loaded x1, db2:c_v_idx loaded x1',
	'the log has one load line for each prewarmed graph and no other load or build');
note "prewarm load times (log): "
  . join(', ', map { "$_ $b->{$_}[0] ms" } sort keys %$b);
note 'build_ms in the view: '
  . $node->safe_psql('postgres',
	q{SELECT string_agg(database || ':' || round(build_ms::numeric, 1), ', ') FROM vecpersist_cache});

$offset = -s $node->logfile;
my $first_a =
  timed_queries('a_v_idx (prewarmed), after restart', $node, 'db1', 'a');
check_knn($node, 'a_v_idx (prewarmed)', 'db1', 'a', digits => 1);
like(graphs_of($node, 'db1'), qr/^a_v_idx:1:\d+:$nrows /,
	'a_v_idx after its first queries: still builds = 1');
is_deeply(build_lines($node, $offset),
	{}, 'the first queries on a_v_idx built and loaded nothing');

my $first_d =
  timed_queries('d_v_idx (not prewarmed), after restart', $node, 'db2', 'd');
check_knn($node, 'd_v_idx (not prewarmed)', 'db2', 'd', digits => 1);
$b = build_lines($node, $offset);
is(build_summary($b), 'db2:d_v_idx loaded x1',
	'the first query on d_v_idx loaded it (and nothing else was loaded or built)');
note sprintf("first query after restart: %.1f ms with prewarm, %.1f ms without",
	$first_a, $first_d);

# The same prewarm without snapshots: the worker builds the graphs from the
# pages.
set_snapshots($node, 'off');
$offset = restart_with_prewarm($node, 'db1, db2:public.c_v_idx', 3);
is(graphs_of($node, 'db1'), "a_v_idx:1:0:$nrows b_v_idx:1:0:$nrows",
	'snapshots off, prewarm db1: a_v_idx and b_v_idx ready, builds = 1, searches = 0');
is(graphs_of($node, 'db2'), "c_v_idx:1:0:$nrows",
	'snapshots off, prewarm db2:public.c_v_idx: only c_v_idx ready');
is(origins_of($node, 'db1') . ' ' . origins_of($node, 'db2'),
	'a_v_idx:built b_v_idx:built c_v_idx:built',
	'snapshots off: the three graphs were built from the pages');
$b = build_lines($node, $offset);
is(build_summary($b),
	'db1:a_v_idx built x1, db1:b_v_idx built x1, db2:c_v_idx built x1',
	'snapshots off: the log has one build line for each prewarmed graph and no other');
note "prewarm build times (log): "
  . join(', ', map { "$_ $b->{$_}[0] ms" } sort keys %$b);
check_knn($node, 'a_v_idx (prewarmed, built)', 'db1', 'a', digits => 1);
set_snapshots($node, 'on');

# (b) unqualified and qualified index names ----------------------------------
$offset = restart_with_prewarm($node, 'db2:d_v_idx,db1:public.b_v_idx', 2);
is(graphs_of($node, 'db1'), "b_v_idx:1:0:$nrows", 'prewarm db1:public.b_v_idx');
is(graphs_of($node, 'db2'), "d_v_idx:1:0:$nrows", 'prewarm db2:d_v_idx');
is(build_summary(build_lines($node, $offset)),
	'db1:b_v_idx loaded x1, db2:d_v_idx loaded x1',
	'prewarm of two indexes: each loaded once, nothing else');
check_knn($node, 'b_v_idx (prewarmed)', 'db1', 'b', digits => 1);

# (c) a hot standby prewarms too ---------------------------------------------
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
my $standby_offset = -s $standby->logfile;
my $t0 = time;
$standby->start;
my $ready = $standby->poll_query_until('postgres',
	q{SELECT count(*) FROM vecpersist_cache WHERE state = 'ready'}, '2');
ok($ready, 'standby: the two graphs become ready');
note sprintf("standby: graphs %s %.0f ms after pg_ctl start",
	$ready ? 'ready' : 'still not ready', 1000 * (time - $t0));
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'the standby is in recovery');
is(graphs_of($standby, 'db1'), "b_v_idx:1:0:$nrows", 'standby: prewarmed b_v_idx');
is(graphs_of($standby, 'db2'), "d_v_idx:1:0:$nrows", 'standby: prewarmed d_v_idx');
is(build_summary(build_lines($standby, $standby_offset)),
	'db1:b_v_idx loaded x1, db2:d_v_idx loaded x1',
	'standby: both graphs loaded from the snapshots of the base backup, none built');
check_knn($standby, 'standby, b_v_idx', 'db1', 'b', digits => 1);

# Rows next to each query vector, inserted on the primary.
$node->safe_psql('db1',
	'SELECT setseed(0.5); INSERT INTO b ' . near_rows($dims, 500000, 1, 5));
$node->wait_for_catchup($standby);
my $got = check_knn($standby, 'standby, b_v_idx after the primary inserted',
	'db1', 'b', digits => 1);
is(count_ids_from($got, 500000),
	5 * $nqueries, 'standby: the new rows are found');
is( $standby->safe_psql('db1',
		q{SELECT builds || ':' || absorbed || ':' || nodes FROM vecpersist_cache WHERE index = 'b_v_idx'::regclass}),
	'1:' . 5 * $nqueries . ':' . ($nrows + 5 * $nqueries),
	'standby: caught up from the pages (absorbed), no rebuild');
no_crash_ok($standby, 'standby: ');
$standby->stop;

# (d) vecpersist_prewarm() and vecpersist_evict() ----------------------------
my $n_b = $nrows + 5 * $nqueries;
my $s   = cache_stats($node);
is($node->safe_psql('db1', q{SELECT vecpersist_evict('b_v_idx')}),
	't', 'vecpersist_evict(b_v_idx) returns true');
is($node->safe_psql('db1',
		q{SELECT count(*) FROM vecpersist_cache WHERE index = 'b_v_idx'::regclass}),
	'0', 'after vecpersist_evict: b_v_idx is gone from the view');
my $s1 = cache_stats($node);
is($s1->{graphs}, $s->{graphs} - 1, 'after vecpersist_evict: one graph fewer');
cmp_ok($s1->{used_bytes}, '<', $s->{used_bytes},
	'after vecpersist_evict: used_bytes went down');
is($node->safe_psql('db1', q{SELECT vecpersist_evict('b_v_idx')}),
	'f', 'vecpersist_evict(b_v_idx) again returns false');
is($node->safe_psql('db1', q{SELECT vecpersist_evict('a_v_idx')}),
	'f', 'vecpersist_evict(a_v_idx), not cached, returns false');
# The evicted graph comes back from its snapshot (saved at the last
# shutdown, before the 100 rows were inserted: the load catches them up).
$offset = -s $node->logfile;
check_knn($node, 'b_v_idx after vecpersist_evict', 'db1', 'b', digits => 1);
is(build_summary(build_lines($node, $offset)), 'db1:b_v_idx loaded x1',
	'the query after vecpersist_evict loaded b_v_idx from its snapshot');
is($node->safe_psql('db1',
		q{SELECT nodes || ':' || dead_nodes FROM vecpersist_cache WHERE index = 'b_v_idx'::regclass}),
	"$n_b:0", "the loaded graph of b_v_idx has the $n_b rows, none dead");
is($node->safe_psql('db1', q{SELECT vecpersist_evict('b_v_idx')}),
	't', 'vecpersist_evict(b_v_idx) after a query brought it back returns true');

$offset = -s $node->logfile;
is($node->safe_psql('db1', q{SELECT vecpersist_prewarm('b_v_idx')}),
	$n_b, "vecpersist_prewarm(b_v_idx) returns $n_b nodes");
is( $node->safe_psql('db1',
		q{SELECT state || ':' || builds || ':' || searches || ':' || nodes || ':' || origin FROM vecpersist_cache WHERE index = 'b_v_idx'::regclass}),
	"ready:1:0:$n_b:loaded",
	'after vecpersist_prewarm: b_v_idx ready, builds = 1, searches = 0, loaded');
is(build_summary(build_lines($node, $offset)),
	'db1:b_v_idx loaded x1', 'vecpersist_prewarm logged the load');
$offset = -s $node->logfile;
is($node->safe_psql('db1', q{SELECT vecpersist_prewarm('b_v_idx')}),
	$n_b, 'vecpersist_prewarm(b_v_idx) again returns the same count');
like(graphs_of($node, 'db1'), qr/\bb_v_idx:1:0:$n_b\b/,
	'vecpersist_prewarm of a cached graph does not rebuild it');
is_deeply(build_lines($node, $offset), {},
	'vecpersist_prewarm of a cached graph logged no build or load');
check_knn($node, 'b_v_idx after vecpersist_prewarm', 'db1', 'b', digits => 1);

# Errors.
my ($ret, $out, $err);
foreach my $rel ('b', 'b_pkey')
{
	($ret, $out, $err) =
	  $node->psql('db1', "SELECT vecpersist_prewarm('$rel')");
	isnt($ret, 0, "vecpersist_prewarm($rel) fails");
	like($err, qr/ERROR:\s.*not an hnsw index/,
		"vecpersist_prewarm($rel): not an hnsw index");
	note "vecpersist_prewarm($rel): $err";
	($ret, $out, $err) = $node->psql('db1', "SELECT vecpersist_evict('$rel')");
	note "vecpersist_evict($rel): returned $ret, '$out' $err";
}

$node->safe_psql('db1', 'CREATE ROLE reader');
($ret, $out, $err) = $node->psql('db1',
	q{SET ROLE reader; SELECT vecpersist_prewarm('a_v_idx')});
isnt($ret, 0, 'vecpersist_prewarm without SELECT on the table fails');
like($err, qr/ERROR:\s+permission denied for table a\b/,
	'vecpersist_prewarm without SELECT: permission denied for table a');
($ret, $out, $err) = $node->psql('db1',
	q{SET ROLE reader; SELECT vecpersist_evict('b_v_idx')});
isnt($ret, 0, 'vecpersist_evict by a role that does not own the table fails');
like($err, qr/ERROR:\s+must be owner of (table|index) b(_v_idx)?\b/,
	'vecpersist_evict by another role: must be owner');
$node->safe_psql('db1', 'GRANT SELECT ON a TO reader');
is( $node->safe_psql(
		'db1', q{SET ROLE reader; SELECT vecpersist_prewarm('a_v_idx')}),
	$nrows, 'vecpersist_prewarm with SELECT on the table works');
($ret, $out, $err) = $node->psql('db1',
	q{SET ROLE reader; SELECT vecpersist_evict('a_v_idx')});
like($err, qr/ERROR:\s+must be owner of (table|index) a(_v_idx)?\b/,
	'vecpersist_evict with SELECT but not owner: must be owner');
is($node->safe_psql('db1',
		q{SELECT count(*) FROM vecpersist_cache WHERE index IN ('a_v_idx'::regclass, 'b_v_idx'::regclass)}),
	'2', 'a_v_idx and b_v_idx are still cached');

# (e) items that do not exist ------------------------------------------------
$offset = restart_with_prewarm($node,
	'nosuchdb, db1:nosuch_idx, db2:public.nosuch_idx, db1:a_v_idx', 1);
is(graphs_of($node, 'db1'), "a_v_idx:1:0:$nrows",
	'a list with missing items: the valid item is prewarmed');
is(build_summary(build_lines($node, $offset)), 'db1:a_v_idx loaded x1',
	'a list with missing items: a_v_idx was loaded once, nothing else');
is(graphs_of($node, 'db2'), '', 'a list with missing items: nothing in db2');
my $log = slurp_file($node->logfile, $offset);
note 'log lines about the missing items: '
  . join(' | ', grep { /nosuch/ } split /\n/, $log);
check_knn($node, 'a_v_idx after a list with missing items', 'db1', 'a',
	digits => 1);

# The server never crashed.
no_crash_ok($node);
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still responds');
$node->stop;

done_testing();
