
# Copyright (c) vecpersist developers
#
# Prewarming the shared graph cache.
#
#  (a) vecpersist.prewarm = 'db1, db2:public.c_v_idx' (a whole database and
#      one schema-qualified index): after a restart the background worker
#      builds exactly those graphs (a_v_idx and b_v_idx of db1, c_v_idx of
#      db2, not d_v_idx) before any query touches them: the view shows them
#      ready with builds = 1 and searches = 0, and the log has one build
#      line each.  The first query then does not build (builds stays 1) and
#      gets the exact answer.  The times of the first and three more
#      queries of a session are printed, for a prewarmed index and for one
#      that was not prewarmed (which the first query builds).
#  (b) vecpersist.prewarm = 'db2:d_v_idx, db1:public.b_v_idx': the unqualified
#      and the qualified form, only those two graphs.
#  (c) A hot standby made from a base backup prewarms the same graphs at its
#      start, answers exactly, and catches up from the pages with rows the
#      primary inserted afterwards (absorbed, no rebuild).
#  (d) vecpersist_prewarm() and vecpersist_evict(): return values, effect on
#      the view, no rebuild of a cached graph, and their errors (not an hnsw
#      index; no SELECT privilege; not the owner).
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

sub build_lines
{
	my ($n, $offset) = @_;
	my $log = slurp_file($n->logfile, $offset);
	my %b;
	while ($log =~
		/built hnsw graph of index "([^"]+)" in database "([^"]+)" in ([0-9.]+) ms/g)
	{
		push @{ $b{"$2:$1"} }, $3;
	}
	return \%b;
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
my $offset = restart_with_prewarm($node, 'db1, db2:public.c_v_idx', 3);
is(graphs_of($node, 'db1'), "a_v_idx:1:0:$nrows b_v_idx:1:0:$nrows",
	'prewarm db1: a_v_idx and b_v_idx ready, builds = 1, searches = 0');
is(graphs_of($node, 'db2'), "c_v_idx:1:0:$nrows",
	'prewarm db2:public.c_v_idx: only c_v_idx ready, builds = 1, searches = 0');
my $b = build_lines($node, $offset);
is( join(' ', map { "$_ x" . scalar @{ $b->{$_} } } sort keys %$b),
	'db1:a_v_idx x1 db1:b_v_idx x1 db2:c_v_idx x1',
	'the log has one build line for each prewarmed graph and no other');
note "prewarm build times (log): "
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
	{}, 'the first queries on a_v_idx built nothing');

my $first_d =
  timed_queries('d_v_idx (not prewarmed), after restart', $node, 'db2', 'd');
check_knn($node, 'd_v_idx (not prewarmed)', 'db2', 'd', digits => 1);
$b = build_lines($node, $offset);
is(join(' ', sort keys %$b), 'db2:d_v_idx',
	'the first query on d_v_idx built it (and nothing else)');
note sprintf("first query after restart: %.1f ms with prewarm, %.1f ms without",
	$first_a, $first_d);

# (b) unqualified and qualified index names ----------------------------------
$offset = restart_with_prewarm($node, 'db2:d_v_idx,db1:public.b_v_idx', 2);
is(graphs_of($node, 'db1'), "b_v_idx:1:0:$nrows", 'prewarm db1:public.b_v_idx');
is(graphs_of($node, 'db2'), "d_v_idx:1:0:$nrows", 'prewarm db2:d_v_idx');
check_knn($node, 'b_v_idx (prewarmed)', 'db1', 'b', digits => 1);

# (c) a hot standby prewarms too ---------------------------------------------
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
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
check_knn($node, 'b_v_idx after vecpersist_evict', 'db1', 'b', digits => 1);
is($node->safe_psql('db1', q{SELECT vecpersist_evict('b_v_idx')}),
	't', 'vecpersist_evict(b_v_idx) after a query rebuilt it returns true');

$offset = -s $node->logfile;
is($node->safe_psql('db1', q{SELECT vecpersist_prewarm('b_v_idx')}),
	$n_b, "vecpersist_prewarm(b_v_idx) returns $n_b nodes");
is( $node->safe_psql('db1',
		q{SELECT state || ':' || builds || ':' || searches || ':' || nodes FROM vecpersist_cache WHERE index = 'b_v_idx'::regclass}),
	"ready:1:0:$n_b",
	'after vecpersist_prewarm: b_v_idx ready, builds = 1, searches = 0');
is(join(' ', keys %{ build_lines($node, $offset) }),
	'db1:b_v_idx', 'vecpersist_prewarm logged the build');
$offset = -s $node->logfile;
is($node->safe_psql('db1', q{SELECT vecpersist_prewarm('b_v_idx')}),
	$n_b, 'vecpersist_prewarm(b_v_idx) again returns the same count');
like(graphs_of($node, 'db1'), qr/\bb_v_idx:1:0:$n_b\b/,
	'vecpersist_prewarm of a cached graph does not rebuild it');
is_deeply(build_lines($node, $offset), {},
	'vecpersist_prewarm of a cached graph logged no build');
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
