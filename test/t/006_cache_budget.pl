
# Copyright (c) vecpersist developers
#
# The shared graph cache under a budget too small for its graphs.
#
#  (a) vecpersist.cache_size = 1MB and six hnsw indexes whose graphs take
#      less than 40% of it each (so two fit together) but more than all of
#      it together: least recently used graphs are evicted (evictions
#      counter, entries gone from the view), used_bytes never exceeds the
#      budget, the cached graphs are always the most recently used ones,
#      and every query, including those on evicted indexes, gets the exact
#      answer.  An evicted graph comes back from its snapshot (each graph
#      is saved once after its CREATE INDEX, before the next one may evict
#      it): two rounds over all tables load graphs and build none; a third
#      round with vecpersist.snapshots = off builds them from the pages.
#  (b) A graph held by an open scan (a cursor) is pinned: the view shows it,
#      and it survives while four other graphs are loaded; the cursor then
#      finishes with the exact answer.
#  (c) Four pgbench clients query random indexes concurrently (each
#      transaction checks its answer against the exact one): no error, no
#      crash, however the graphs are evicted and pinned meanwhile.
#  (d) An index whose graph cannot fit even in the empty cache: its first
#      query in a session gives the documented WARNING (with DETAIL and
#      HINT) once per session, and every query is answered by an exact scan
#      of the index pages with the exact answer (fallbacks counts each such
#      index scan; no private copy of the graph is made);
#      vecpersist_prewarm() of it fails with the same message.
#  (e) After a restart with vecpersist.cache_max_graphs = 2 (and a larger
#      cache_size): never more than two graphs, exact answers, and the
#      large graph now fits.  Each graph comes back once: the small ones
#      loaded from their snapshots, the large one (never cached, so never
#      saved) built.
# The server must never crash (checked in its log at the end).
#
# "Exact answer": the top 10 ids of each of 20 query vectors through the
# hnsw index with vecpersist.ef_search = 400 must equal, in order, the top
# 10 by a sequential scan.  The data are 32-dimensional vectors around 50
# well-separated centres, generated deterministically in SQL (setseed) as
# in 005_cache_sharing.pl; each table has its own seed.  The sizes (the
# graph of a 600-row index takes about 0.3 MB, that of the 10,000-row one
# over 3 MB) are checked by the test itself before it relies on them.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use VpCacheTest;

my $dims       = 32;
my $ntables    = 6;
my $small_rows = 600;
my $big_rows   = 10000;
my $nqueries   = 20;
my @tables     = map { "t$_" } 1 .. $ntables;

my $node = start_node('budget',
	preload => 1,
	conf    => "vecpersist.cache_size = '1MB'\n");

# The data (queries_sql, table_sql), the k-NN statements, cache_stats and
# count_builds come from VpCacheTest.pm.

my %exact;    # table => exact answer

# The hnsw answer for $table in a new session must equal the exact one
# (computed once, in %exact).  Unlike VpCacheTest's check_knn, it runs
# psql without failing on an error and returns the session's stderr
# (notices, warnings).
sub check_knn_psql
{
	my ($label, $table) = @_;
	my $t0 = time;
	my ($ret, $out, $err) = $node->psql('postgres', knn_sql($table));
	note sprintf("%s: %d index scans in %.0f ms", $label, $nqueries,
		1000 * (time - $t0));
	is($ret, 0, "$label: query succeeded");
	is($out, $exact{$table}, "$label: hnsw answers equal the exact scan");
	return $err;
}

# The tables whose graphs are in the cache (state ready), in @tables order.
sub cached_tables
{
	my %in = map { $_ => 1 } split /\n/,
	  $node->safe_psql('postgres',
		q{SELECT c.relname FROM vecpersist_cache v
		  JOIN pg_index i ON i.indexrelid = v.indexrelid
		  JOIN pg_class c ON c.oid = i.indrelid
		  WHERE v.database = current_database() AND v.state = 'ready'});
	return grep { $in{$_} } (@tables, 'big');
}

$node->safe_psql('postgres', 'CREATE EXTENSION vecpersist');
is($node->safe_psql('postgres', 'SHOW vecpersist.cache_size'),
	'1MB', 'vecpersist.cache_size is 1MB');
my $s = cache_stats($node);
is($s->{budget_bytes}, 1024 * 1024, 'stats: budget_bytes = 1MB');
my $budget = $s->{budget_bytes};

# (a) six graphs, about twice the budget -------------------------------------
$node->safe_psql('postgres', queries_sql($dims, $nqueries));
my %bytes;
my $sum = 0;
foreach my $n (1 .. $ntables)
{
	my $t = "t$n";
	$node->safe_psql('postgres',
		table_sql($dims, $t, $n / 10, $small_rows) . "ANALYZE $t;\n");
	$exact{$t} = $node->safe_psql('postgres', exact_sql($t));
	$node->safe_psql('postgres',
		"CREATE INDEX ${t}_v_idx ON $t USING hnsw (v vector_l2_ops)");
	$bytes{$t} = $node->safe_psql('postgres',
		"SELECT bytes FROM vecpersist_cache WHERE index = '${t}_v_idx'::regclass");
	# saved before the next CREATE INDEX can evict it, so that its graph
	# comes back from the snapshot below
	ok(wait_for_snapshot($node, "${t}_v_idx"),
		"set-up: the graph of $t was saved as a snapshot");
	$sum += $bytes{$t} || 0;
	$s = cache_stats($node);
	cmp_ok($s->{used_bytes}, '<=', $budget,
		"after CREATE INDEX on $t: used_bytes <= budget");
	note "graph of $t ($small_rows x $dims): $bytes{$t} bytes; "
	  . "used $s->{used_bytes} of $budget, $s->{graphs} graphs, "
	  . "$s->{evictions} evictions; cached: @{[ cached_tables() ]}";
}
like(
	$node->safe_psql('postgres', explain_sql('t1')),
	qr/Index Scan using t1_v_idx on t1/,
	'the test statement scans the hnsw index');

# What the rest relies on.
foreach my $t (@tables)
{
	cmp_ok($bytes{$t}, '>', 0,
		"set-up: the graph of $t was cached by CREATE INDEX");
	cmp_ok($bytes{$t}, '<', 0.4 * $budget,
		"set-up: the graph of $t takes less than 40% of the budget");
}
cmp_ok($sum, '>', $budget, 'set-up: the six graphs do not fit together');
note "six graphs: $sum bytes for a budget of $budget";

$s = cache_stats($node);
cmp_ok($s->{evictions}, '>', 0, 'after six CREATE INDEX: evictions > 0');
cmp_ok($s->{graphs}, '<', $ntables,
	'after six CREATE INDEX: not all graphs cached');
is($s->{graphs}, scalar(cached_tables()),
	'stats: graphs = rows of the view in state ready');
is($s->{fallbacks}, 0, 'after six CREATE INDEX: fallbacks = 0');

# Three rounds of queries over all tables: every answer exact, the budget
# kept, and the cached graphs always the most recently used ones (LRU; a
# CREATE INDEX counts as a use).  In rounds 1 and 2 evicted graphs are
# loaded from their snapshots; round 3 runs with vecpersist.snapshots =
# off, so they are built from the pages.
my @order = @tables;
foreach my $round (1, 2, 3)
{
	set_snapshots($node, 'off') if $round == 3;
	my $s0     = cache_stats($node);
	my $offset = -s $node->logfile;
	foreach my $t (@tables)
	{
		check_knn_psql("round $round, $t", $t);
		push @order, $t;
		my @cached = cached_tables();
		ok((grep { $_ eq $t } @cached), "round $round, $t: its graph is cached");
		$s = cache_stats($node);
		cmp_ok($s->{used_bytes}, '<=', $budget,
			"round $round, $t: used_bytes <= budget");

		# LRU: the cached graphs are the last ones used.
		my %used_since;
		my @recent;
		foreach my $u (reverse @order)
		{
			next if $used_since{$u}++;
			push @recent, $u;
		}
		is(join(' ', sort @cached), join(' ', sort @recent[ 0 .. $#cached ]),
			"round $round, $t: the cached graphs are the "
			  . scalar(@cached) . ' most recently used');
	}
	$s = cache_stats($node);
	cmp_ok($s->{evictions}, '>', $s0->{evictions}, "round $round: more evictions");
	my ($builds, $loads, $rejected) = (0, 0, 0);
	foreach my $t (@tables)
	{
		$builds   += count_builds($node, $offset, "${t}_v_idx", 'postgres');
		$loads    += count_loads($node, $offset, "${t}_v_idx", 'postgres');
		$rejected += count_rejected($node, $offset, "${t}_v_idx");
	}
	if ($round < 3)
	{
		cmp_ok(count_loads($node, $offset, 't1_v_idx', 'postgres'), '>=', 1,
			"round $round: the evicted graph of t1 was loaded from its snapshot");
		is($builds, 0, "round $round: no graph was built (all were loaded)");
	}
	else
	{
		cmp_ok(count_builds($node, $offset, 't1_v_idx', 'postgres'), '>=', 1,
			"round $round (snapshots off): the evicted graph of t1 was built again");
		is($loads, 0, "round $round (snapshots off): no graph was loaded");
	}
	is($rejected, 0, "round $round: no snapshot was rejected");
	note "round $round: $builds builds, $loads loads; "
	  . "evictions $s0->{evictions} -> $s->{evictions}, "
	  . "fallbacks $s->{fallbacks}, cached now: @{[ cached_tables() ]}";
	set_snapshots($node, 'on') if $round == 3;
}

# (b) a pinned graph is not evicted ------------------------------------------
my $q1 = $node->safe_psql('postgres', 'SELECT v FROM queries WHERE qid = 1');
my $exact_q1 = $node->safe_psql('postgres',
	"BEGIN; $exact_settings SELECT array_to_string(ARRAY(SELECT id FROM t1 "
	  . "ORDER BY v <-> '$q1', id LIMIT 10), ','); COMMIT;");
my $cursor = $node->background_psql('postgres');
my $first = $cursor->query_safe(
	"BEGIN; $index_settings DECLARE c CURSOR FOR SELECT id FROM t1 "
	  . "ORDER BY v <-> '$q1' LIMIT 10; FETCH 1 FROM c;");
is( $node->safe_psql('postgres',
		q{SELECT state || ':' || pinned FROM vecpersist_cache WHERE index = 't1_v_idx'::regclass}),
	'ready:1',
	'an open cursor pins the graph of t1');
foreach my $t (@tables[ 1 .. 4 ])
{
	check_knn_psql("while t1 is pinned, $t", $t);
	ok((grep { $_ eq 't1' } cached_tables()),
		"while t1 is pinned, after $t: t1's graph is still cached");
}
my $rest = $cursor->query_safe('FETCH ALL FROM c; COMMIT;');
is(join(',', $first, split /\n/, $rest),
	$exact_q1, 'the cursor on the pinned graph gets the exact answer');
$cursor->quit;
is( $node->safe_psql('postgres',
		q{SELECT coalesce(sum(pinned), 0) FROM vecpersist_cache}),
	'0', 'nothing is pinned once the cursor is closed');

# (c) concurrent queries on all six indexes ----------------------------------
$node->safe_psql(
	'postgres', qq{
CREATE TABLE truth (tbl text, qid int, ids int[], PRIMARY KEY (tbl, qid));
BEGIN;
$exact_settings
INSERT INTO truth
SELECT t.tbl, q.qid, CASE t.tbl
@{[ join("\n", map { "WHEN '$_' THEN ARRAY(SELECT x.id FROM $_ x ORDER BY x.v <-> q.v, x.id LIMIT 10)" } @tables) ]}
END
FROM queries q, unnest(ARRAY[@{[ join(', ', map { "'$_'" } @tables) ]}]) t(tbl);
COMMIT;
});
$s = cache_stats($node);
my $t0 = time;
$node->pgbench(
	'--no-vacuum --client=4 --jobs=2 --transactions=50',
	0,
	[qr{processed: 200/200}],
	[qr{\A(?!.*ERROR)}s],
	'pgbench: 4 clients querying random indexes get exact answers',
	{
		'006_budget_knn' => qq{
\\set n random(1, $ntables)
\\set q random(1, $nqueries)
BEGIN;
$index_settings
SELECT 1 / (ARRAY(SELECT id FROM t:n ORDER BY v <-> (SELECT v FROM queries WHERE qid = :q) LIMIT 10)
            = (SELECT ids FROM truth WHERE tbl = 't:n' AND qid = :q))::int;
COMMIT;
}
	});
my $s1 = cache_stats($node);
note sprintf(
	"pgbench, 200 transactions: %.0f ms; evictions %d -> %d, fallbacks %d -> %d",
	1000 * (time - $t0), $s->{evictions}, $s1->{evictions},
	$s->{fallbacks}, $s1->{fallbacks});
cmp_ok($s1->{used_bytes}, '<=', $budget, 'after pgbench: used_bytes <= budget');

# (d) a graph that cannot fit ------------------------------------------------
$node->safe_psql('postgres',
	table_sql($dims, 'big', 0.9, $big_rows) . "ANALYZE big;\n");
$exact{big} = $node->safe_psql('postgres', exact_sql('big'));
my ($ret, $out, $err) = $node->psql('postgres',
	'CREATE INDEX big_v_idx ON big USING hnsw (v vector_l2_ops)');
is($ret, 0, 'CREATE INDEX big_v_idx succeeds');
note "CREATE INDEX big_v_idx ($big_rows x $dims) said: "
  . ($err eq '' ? '(nothing)' : $err);

my $nowarn =
  qr/hnsw graph of index "big_v_idx" does not fit in the shared graph cache/;
$s = cache_stats($node);
($ret, $out, $err) =
  $node->psql('postgres', knn_sql('big') . "\n" . knn_sql('big'));
is($ret, 0, 'two queries on big in one session succeed');
is($out, "$exact{big}\n$exact{big}",
	'two queries on big in one session: hnsw answers equal the exact scan');
my @warnings = ($err =~ /WARNING:\s+$nowarn/g);
is(scalar @warnings, 1, 'two queries on big in one session: one WARNING');
like($err, qr/DETAIL:\s+\S.*\d+.*\d+/,
	'the WARNING has a DETAIL with the needed and free bytes');
like($err, qr/HINT:\s+Increase vecpersist\.cache_size/,
	'the WARNING has a HINT to increase vecpersist.cache_size');
note "the WARNING:\n$err";
# Every index scan of the two statements (one per query vector each) was
# answered by an exact scan of the pages, and counted.
$s1 = cache_stats($node);
is($s1->{fallbacks}, $s->{fallbacks} + 2 * $nqueries,
	'every index scan of big in the session is counted as a fallback');
cmp_ok($s1->{used_bytes}, '<=', $budget,
	'after the fallback: used_bytes <= budget');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM vecpersist_cache WHERE index = 'big_v_idx'::regclass}),
	'0', 'the graph of big is not in the shared cache');

$err = check_knn_psql('big in another session', 'big');
@warnings = ($err =~ /WARNING:\s+$nowarn/g);
is(scalar @warnings, 1, 'big in another session: the WARNING again, once');
is(cache_stats($node)->{fallbacks}, $s1->{fallbacks} + $nqueries,
	'big in another session: its index scans are counted as fallbacks');

($ret, $out, $err) =
  $node->psql('postgres', q{SELECT vecpersist_prewarm('big_v_idx')});
isnt($ret, 0, 'vecpersist_prewarm(big_v_idx) fails');
like($err, qr/ERROR:\s+$nowarn/,
	'vecpersist_prewarm(big_v_idx): the same message, as an ERROR');

# The small graphs still work, and one can be prewarmed.
check_knn_psql('t1 after big', 't1');
is($node->safe_psql('postgres', q{SELECT vecpersist_prewarm('t2_v_idx')}),
	$small_rows,
	"vecpersist_prewarm(t2_v_idx) under the budget returns $small_rows");
ok((grep { $_ eq 't2' } cached_tables()), 't2 is cached after vecpersist_prewarm');
cmp_ok(cache_stats($node)->{used_bytes}, '<=', $budget,
	'used_bytes <= budget at the end');

# (e) at most cache_max_graphs graphs ----------------------------------------
$node->append_conf('postgresql.conf',
	"vecpersist.cache_size = '64MB'\nvecpersist.cache_max_graphs = 2");
$node->restart;
my $offset = -s $node->logfile;
is($node->safe_psql('postgres', 'SHOW vecpersist.cache_max_graphs'),
	'2', 'vecpersist.cache_max_graphs is 2');
$s = cache_stats($node);
is($s->{max_graphs},   2,                 'stats: max_graphs = 2');
is($s->{budget_bytes}, 64 * 1024 * 1024, 'stats: budget_bytes = 64MB');
foreach my $t (@tables[ 0 .. 2 ], 'big')
{
	$err = check_knn_psql("max_graphs = 2, $t", $t);
	unlike($err, qr/WARNING/, "max_graphs = 2, $t: no WARNING");
	$s = cache_stats($node);
	cmp_ok($s->{graphs}, '<=', 2, "max_graphs = 2, after $t: at most 2 graphs");
	cmp_ok(scalar(cached_tables()), '<=', 2,
		"max_graphs = 2, after $t: at most 2 rows in the view");
	ok((grep { $_ eq $t } cached_tables()),
		"max_graphs = 2, after $t: its graph is cached");
	# the small graphs were saved (after their CREATE INDEX, and at
	# shutdown); big's never was, since it never fit
	my $how = $t eq 'big' ? 'built' : 'loaded';
	is( $node->safe_psql('postgres',
			"SELECT origin FROM vecpersist_cache WHERE index = '${t}_v_idx'::regclass"),
		$how, "max_graphs = 2, $t: its graph was $how");
	my $n =
	  $how eq 'built'
	  ? count_builds($node, $offset, "${t}_v_idx", 'postgres')
	  : count_loads($node, $offset, "${t}_v_idx", 'postgres');
	is($n, 1, "max_graphs = 2, $t: one '$how' line logged");
	is(count_builds_or_loads($node, $offset, "${t}_v_idx", 'postgres'),
		1, "max_graphs = 2, $t: no other build or load logged");
}
note "max_graphs = 2: evictions $s->{evictions}, fallbacks $s->{fallbacks}";

# The server never crashed.
no_crash_ok($node);
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still responds');
$node->stop;

done_testing();
