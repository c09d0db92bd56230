
# Copyright (c) vecpersist developers
#
# Under load, cancel and churn (issue 16): long operations can be
# cancelled, concurrent writers and readers get exact answers, and nothing
# is left behind.
#
#  (1) CREATE INDEX is cancelled (pg_cancel_backend) while it links the
#      graph of 100000 vectors of 128 dimensions, and while it writes the
#      vectors of an expression index whose expression is slow; a third
#      build is stopped by statement_timeout.  Each ends with the cancel
#      error as soon as the backend serves it: the test measures how long
#      the backend took to go idle and requires less than 30 s and less
#      than half of what the whole (measured) build or load takes.  No
#      index, lock, graph slot or shared memory is left behind, the
#      backend's memory is small again, and a new CREATE INDEX works.
#  (2) A filtered query whose filter matches nothing (WHERE id < 0 ORDER
#      BY v <-> q LIMIT 10), with iterative_scan = relaxed_order and no
#      tuple limit, walks the whole 100000-node graph.  statement_timeout
#      = 500ms and pg_cancel_backend stop a statement of many such scans
#      with the cancel errors, well before it would end; with work_mem =
#      64kB the scan stops on its own with the NOTICE "hnsw index scan
#      exceeded work_mem after N tuples", and a larger
#      scan_mem_multiplier lets it go further.
#  (3) A slow VACUUM (cost delay) of a table whose first pages lost most
#      or all of their rows runs while another session inserts rows one
#      by one: inserts are made while VACUUM flags index items and while
#      it recycles index pages (both phases of its progress view), pages
#      were recycled, new rows took the deleted rows' heap slots, every
#      inserted row is found by a k-NN query for its own vector, the
#      deleted rows' vectors get the exact answers and no deleted row, and
#      the graph's live nodes are the table's rows.
#  (4) The herd: after a VACUUM that deletes 10%, eight sessions send
#      their first query at once (they wait on an advisory lock that is
#      then released): the deletions are applied to the graph once
#      (deletion_passes), all answers exact; the same after a VACUUM that
#      was cancelled between flagging items and announcing them, whose
#      successor leaves the deletion pass to the scans.  After a restart
#      with vecpersist.snapshots = off, eight sessions' first queries at
#      once: one graph build (one "built hnsw graph" LOG line, builds =
#      1), every answer exact; sessions that did not wait for the build
#      answered by exact scans, with the NOTICE.
#  (5) Savepoints: a graph built by CREATE INDEX in a savepoint that is
#      rolled back, or built by a query in such a savepoint (or in a
#      transaction that is rolled back), must not stay in the cache as a
#      READY graph of an index that never existed; rows inserted in a
#      rolled-back savepoint are never returned, also once VACUUM freed
#      their heap slots and new rows took them.
#  (6) Four sessions insert disjoint rows at once, one row per
#      transaction, into a table whose graph is cached: every row is then
#      found by a k-NN query for its own vector (ef_search 400), and the
#      graph's live nodes equal the table's rows.
#  (7) vecpersist.cache_size = 1MB, smaller than the 100000-node graph:
#      eight sessions query at once; no error, answers equal a sequential
#      scan's, the WARNING of src/vpcache.c (ReportNoRoom) with the
#      graph's size, every scan counted in vecpersist_cache_stats()'s
#      fallbacks, no graph in the cache, and each backend's memory during
#      and after its scans a small fraction of the graph's size (measured
#      in (1), when it fit).
#  (8) Without shared_preload_libraries (private graphs): session A uses
#      an index (its own copy of the graph), session B drops the index;
#      A's next statements work, and the private graph's memory is freed.
#
# "Exact answer": as in VpCacheTest.pm, the top 10 ids of each of 20 query
# vectors through the hnsw index at ef_search = 400 equal the top 10 by an
# exact scan (clusters of about 100 to 200 rows, fewer than ef_search).
#
# Timings are printed with note(); the only timed assertions are the
# generous upper bounds on how long a cancel takes.

use strict;
use warnings;

use File::Basename qw(dirname);
use lib dirname(__FILE__);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use VpCacheTest;

my $dims     = 16;
my $nqueries = 20;
my $nbig     = 100000;
my $bigdims  = 128;
my $t_start  = time;

my $node = start_node('load', preload => 1);
$node->safe_psql('postgres',
	"CREATE EXTENSION vecpersist;\nCREATE EXTENSION pageinspect;\n"
	  . queries_sql($dims, $nqueries));

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# A background_psql session of $n that goes on after errors, whose timeout
# applies to each statement.
sub session
{
	my ($n) = @_;
	my $s = ($n // $node)->background_psql('postgres', on_error_stop => 0);
	$s->set_query_timer_restart;
	return $s;
}

# Send $sql to session $s without waiting for it (collect_query gets the
# result), as BackgroundPsql::query does: the statement, then a banner
# echoed to stdout and to stderr.
sub send_query
{
	my ($s, $sql) = @_;
	my $banner = "background_psql: QUERY_SEPARATOR $s->{query_cnt}:";
	$s->{query_cnt}++;
	$s->{pending} = $banner;
	$s->{timeout}->start if defined $s->{query_timer_restart};
	$s->{stdin} .= "$sql\n;\n\\echo '$banner'\n\\warn '$banner'\n";
	$s->{run}->pump_nb;
	return;
}

# Wait for the statement sent last to session $s; returns its stdout and
# stderr (without the banners).
sub collect_query
{
	my ($s) = @_;
	my $banner = delete $s->{pending};
	my $match = qr/\Q$banner\E\r?\n/;
	$s->{run}->pump
	  until ($s->{stdout} =~ $match && $s->{stderr} =~ $match)
	  || $s->{timeout}->is_expired;
	die "background psql: statement timed out" if $s->{timeout}->is_expired;
	my ($out, $err) = ($s->{stdout}, $s->{stderr});
	$out =~ s/\r?\n?\Q$banner\E\r?\n//;
	$err =~ s/\Q$banner\E\r?\n//;
	# psql:<stdin>:12: ERROR:  ... -> ERROR:  ...
	$err =~ s/^psql:<stdin>:\d+: //mg;
	$s->{stdout} = '';
	$s->{stderr} = '';
	return ($out, $err);
}

# Run $sql in session $s; returns stdout and stderr.
sub run_query
{
	my ($s, $sql) = @_;
	send_query($s, $sql);
	return collect_query($s);
}

# The pid of session $s's backend.
sub session_pid
{
	my ($s) = @_;
	my ($pid) = run_query($s, 'SELECT pg_backend_pid()');
	return $pid;
}

# Cancel backend $pid (pg_cancel_backend) and wait until it is idle;
# returns the seconds from the cancel to the backend going idle, by the
# server's clock (pg_stat_activity.state_change), so that the polling's
# own delays do not count.
sub cancel_and_wait
{
	my ($label, $pid) = @_;
	my ($ok, $at) = split /\|/,
	  $node->safe_psql('postgres', "SELECT pg_cancel_backend($pid), clock_timestamp()");
	is($ok, 't', "$label: pg_cancel_backend");
	ok( $node->poll_query_until(
			'postgres',
			"SELECT state = 'idle' FROM pg_stat_activity WHERE pid = $pid"),
		"$label: the backend went idle");
	return $node->safe_psql('postgres',
		"SELECT extract(epoch FROM state_change - '$at') FROM pg_stat_activity WHERE pid = $pid");
}

# How long the last statement of the (idle) backend $pid ran, in seconds,
# by the server's clock.
sub last_statement_seconds
{
	my ($pid) = @_;
	return $node->safe_psql('postgres',
		"SELECT extract(epoch FROM state_change - query_start) FROM pg_stat_activity WHERE pid = $pid"
	);
}

# Sessions run the statements @$sqls (one each; their first statements
# touching an hnsw index) at once: each first waits for a shared advisory
# lock that a gate session holds, and the gate lets go when all of them
# wait.  Returns a list of [stdout, stderr] per session.
sub herd
{
	my ($label, $sqls) = @_;
	my $n = scalar @$sqls;
	my $gate = session();
	run_query($gate, 'SELECT pg_advisory_lock(4242)');
	my @sessions = map { session() } 1 .. $n;
	foreach my $i (0 .. $n - 1)
	{
		send_query($sessions[$i],
			    "SELECT pg_advisory_lock_shared(4242) \\g /dev/null\n"
			  . "SELECT pg_advisory_unlock_shared(4242) \\g /dev/null\n"
			  . $sqls->[$i]);
	}
	ok( $node->poll_query_until(
			'postgres', qq{
SELECT count(*) = $n FROM pg_locks
WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted}),
		"$label: the $n sessions wait at the gate");
	my $t0 = time;
	run_query($gate, 'SELECT pg_advisory_unlock(4242)');
	my @results = map { [ collect_query($_) ] } @sessions;
	note sprintf("%s: %d sessions done %.0f ms after the gate opened",
		$label, $n, 1000 * (time - $t0));
	$_->quit foreach (@sessions, $gate);
	return @results;
}

# Every row of $table matching $where must be found by a k-NN query for
# its own vector through $index (ef_search 400): the first row returned is
# itself or a row at distance 0.
sub self_lookup_ok
{
	my ($label, $table, $index, $where) = @_;
	my $sql = qq{SELECT count(*), count(*) FILTER (WHERE x.id IS NULL OR (x.id <> s.id AND x.d > 0))
FROM $table s LEFT JOIN LATERAL (SELECT t.id, t.v <-> s.v AS d FROM $table t
                                 ORDER BY t.v <-> s.v LIMIT 1) x ON true
WHERE $where};
	like(
		$node->safe_psql('postgres',
			"BEGIN; $index_settings EXPLAIN (COSTS OFF) $sql; COMMIT;"),
		qr/Index Scan using $index on $table t/,
		"$label: the self-lookups scan $index");
	my $t0 = time;
	my ($n, $missed) = split /\|/,
	  $node->safe_psql('postgres', "BEGIN; $index_settings $sql; COMMIT;");
	note sprintf("%s: %d self-lookups in %.0f ms", $label, $n,
		1000 * (time - $t0));
	cmp_ok($n, '>', 0, "$label: there are rows to look up");
	is($missed, 0, "$label: every row is found by a query for its own vector");
	return;
}

# The graph's undeleted nodes must be the table's rows.
sub live_nodes_ok
{
	my ($label, $table, $index) = @_;
	my $r = cache_entry($node, $index);
	is($r->{state}, 'ready', "$label: the graph of $index is cached");
	is($r->{nodes} - $r->{dead_nodes},
		$node->safe_psql('postgres', "SELECT count(*) FROM $table"),
		"$label: the graph's live nodes are the table's rows");
	return $r;
}

# Which one-line errors, warnings and notices $err holds (DETAIL, HINT and
# the like left out).
sub messages
{
	my ($err) = @_;
	return grep { /^(?:ERROR|WARNING|NOTICE|FATAL):/ } split /\n/, $err;
}

# ---------------------------------------------------------------------------
# (1) Cancelling CREATE INDEX
# ---------------------------------------------------------------------------

my $t0 = time;
$node->safe_psql(
	'postgres', qq{
CREATE TABLE big (id int, v vector($bigdims));
SELECT setseed(0.125);
INSERT INTO big
  SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, $bigdims) d WHERE i > 0)::vector
  FROM generate_series(1, $nbig) i;
CREATE TABLE bigq (qid int, v vector($bigdims));
INSERT INTO bigq
  SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, $bigdims) d WHERE i > 0)::vector
  FROM generate_series(1, 5) i;
ANALYZE big, bigq;
-- an expression that takes a while (about a millisecond a row)
CREATE FUNCTION slow_v(v vector) RETURNS vector IMMUTABLE LANGUAGE plpgsql AS \$\$
DECLARE
	i int := 0;
BEGIN
	WHILE i < 5000 LOOP
		i := i + 1;
	END LOOP;
	RETURN v;
END
\$\$;
});
note sprintf('(1) %d rows of %d dimensions made in %.1f s', $nbig, $bigdims, time - $t0);
my $used_before = cache_stats($node)->{used_bytes};

my $builder = session();
my $bpid = session_pid($builder);

# (1a) while linking the graph
send_query($builder, 'CREATE INDEX big_v_idx ON big USING hnsw (v vector_l2_ops)');
ok( $node->poll_query_until(
		'postgres', qq{
SELECT phase LIKE '%building graph' AND tuples_done > 0
FROM pg_stat_progress_create_index WHERE pid = $bpid}),
	'(1a) CREATE INDEX is building the graph');
my $progress = $node->safe_psql('postgres',
	"SELECT tuples_done || ' of ' || tuples_total FROM pg_stat_progress_create_index WHERE pid = $bpid");
my $lat_graph = cancel_and_wait('(1a) cancel while building the graph', $bpid);
my ($out, $err) = collect_query($builder);
is(join("\n", messages($err)),
	'ERROR:  canceling statement due to user request',
	'(1a) CREATE INDEX ended with the cancel error');
note sprintf('(1a) cancelled at %s nodes linked; idle %.1f ms after pg_cancel_backend',
	$progress, 1000 * $lat_graph);

# (1b) while writing the vectors of an index on a slow expression
run_query($builder, 'SELECT count(slow_v(v)) FROM big WHERE id <= 500');
my $est_load = last_statement_seconds($bpid) / 500 * $nbig;
send_query($builder,
	'CREATE INDEX big_slow_idx ON big USING hnsw ((slow_v(v)) vector_l2_ops)');
ok( $node->poll_query_until(
		'postgres', qq{
SELECT phase LIKE '%writing vectors%' AND blocks_done > 0
FROM pg_stat_progress_create_index WHERE pid = $bpid}),
	'(1b) CREATE INDEX is writing vectors to index pages');
$progress = $node->safe_psql('postgres',
	"SELECT blocks_done || ' of ' || blocks_total FROM pg_stat_progress_create_index WHERE pid = $bpid");
my $lat_load = cancel_and_wait('(1b) cancel while writing vectors', $bpid);
($out, $err) = collect_query($builder);
is(join("\n", messages($err)),
	'ERROR:  canceling statement due to user request',
	'(1b) CREATE INDEX ended with the cancel error');
note sprintf('(1b) cancelled at heap block %s; idle %.1f ms after pg_cancel_backend; '
	  . 'the whole load would take about %.0f s',
	$progress, 1000 * $lat_load, $est_load);
cmp_ok($lat_load, '<', 30, '(1b) the cancel took less than 30 s');
cmp_ok($lat_load, '<', $est_load / 2,
	'(1b) the cancel took less than half of the whole load');

# (1c) statement_timeout
run_query($builder, "SET statement_timeout = '1s'");
($out, $err) = run_query($builder,
	'CREATE INDEX big_v_idx ON big USING hnsw (v vector_l2_ops)');
my $lat_timeout = last_statement_seconds($bpid);
is(join("\n", messages($err)),
	'ERROR:  canceling statement due to statement timeout',
	'(1c) statement_timeout ended CREATE INDEX');
note sprintf('(1c) CREATE INDEX with statement_timeout = 1s ended after %.1f ms',
	1000 * $lat_timeout);
run_query($builder, 'RESET statement_timeout');

# (1d) nothing left behind
is( $node->safe_psql(
		'postgres', q{
SELECT (SELECT count(*) FROM pg_class WHERE relname IN ('big_v_idx', 'big_slow_idx'))
       || '/' || (SELECT count(*) FROM pg_index WHERE indrelid = 'big'::regclass)}),
	'0/0', '(1d) no index is left behind');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_locks WHERE pid = $bpid"),
	'0', '(1d) the cancelled backend holds no lock');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vecpersist_cache'),
	'0', '(1d) no graph slot is left behind (ready or building)');
is(cache_stats($node)->{used_bytes}, $used_before,
	'(1d) the graph cache uses no more memory than before the builds');
my ($builder_mem) = run_query($builder,
	'SELECT sum(total_bytes) FROM pg_backend_memory_contexts');
# the lock a new CREATE INDEX needs can be had at once
is( $node->safe_psql(
		'postgres', q{
SET lock_timeout = '5s';
BEGIN; LOCK TABLE big IN ACCESS EXCLUSIVE MODE; SELECT 'locked'; COMMIT;}),
	'locked', '(1d) the table can be locked exclusively');

# (1e) a new CREATE INDEX works: the full build, timed
my $offset = -s $node->logfile;
($out, $err) = run_query($builder, 'CREATE INDEX big_v_idx ON big USING hnsw (v vector_l2_ops)');
is(join("\n", messages($err)), '', '(1e) a new CREATE INDEX succeeds');
my $t_full = last_statement_seconds($bpid);
$builder->quit;
is(count_builds($node, $offset, 'big_v_idx', 'postgres'),
	1, '(1e) a new CREATE INDEX built the graph');
my $big = cache_entry($node, 'big_v_idx');
is($big->{state} . '/' . $big->{nodes}, "ready/$nbig", '(1e) its graph is cached');
my ($graph_bytes, $bytes_per_node) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT bytes, bytes_per_node FROM vecpersist_cache WHERE indexrelid = 'big_v_idx'::regclass");
note sprintf('(1e) the full CREATE INDEX took %.1f s; graph of %d nodes, %d bytes (%.0f a node)',
	$t_full, $nbig, $graph_bytes, $bytes_per_node);
cmp_ok($lat_graph, '<', 30, '(1a) the cancel took less than 30 s');
cmp_ok($lat_graph, '<', $t_full / 2,
	'(1a) the cancel took less than half of a whole CREATE INDEX');
cmp_ok($lat_timeout, '<', $t_full,
	'(1c) the statement_timeout ended CREATE INDEX before a whole build would have');
note sprintf('(1d) the cancelled backend used %d bytes of memory afterwards', $builder_mem);
cmp_ok($builder_mem, '<', $graph_bytes / 4,
	'(1d) the cancelled backend keeps nothing of the graph it was building');

# ---------------------------------------------------------------------------
# (2) Cancelling a long search; the memory bound
# ---------------------------------------------------------------------------

my $scan_settings = q{SET enable_seqscan = off;
SET vecpersist.iterative_scan = relaxed_order;
SET vecpersist.max_scan_tuples = 2147483647;
SET work_mem = '1GB';};
my $one_scan = q{SELECT count(*) FROM (SELECT id FROM big WHERE id < 0
  ORDER BY v <-> (SELECT v FROM bigq WHERE qid = 1) LIMIT 10) s};
# such scans for the five query vectors, $reps times
my $reps = 4;
my $many_scans_sql = q{SELECT count(*) FROM bigq q, generate_series(1, REPS) r,
  LATERAL (SELECT id FROM big WHERE id < 0 ORDER BY v <-> q.v LIMIT 10) s};
my $many_scans = $many_scans_sql =~ s/REPS/$reps/r;

my $searcher = session();
my $spid = session_pid($searcher);
run_query($searcher, $scan_settings);
($out) = run_query($searcher, "EXPLAIN (COSTS OFF) $one_scan");
like($out, qr/Index Scan using big_v_idx on big\s+Order By: .*\s+Filter: \(id < 0\)/,
	'(2) the filtered query scans big_v_idx');
($out) = run_query($searcher, "EXPLAIN (COSTS OFF) $many_scans");
like($out, qr/Index Scan using big_v_idx on big/, '(2) so does the statement of many scans');

# (2a) one scan through the whole graph
($out, $err) = run_query($searcher, $one_scan);
my $t_scan = last_statement_seconds($spid);
is($out, '0', '(2a) a scan whose filter matches nothing returns nothing');
is($err, '', '(2a) ... without a notice (it visited the whole graph)');
# enough scans for at least 20 s (and at least 20 scans)
$reps = 4;
$reps++ while 5 * $reps * $t_scan < 20;
$many_scans = $many_scans_sql =~ s/REPS/$reps/r;
note sprintf('(2a) one scan through the whole graph took %.0f ms; the statement of %d '
	  . 'scans would take about %.1f s',
	1000 * $t_scan, 5 * $reps, 5 * $reps * $t_scan);

# (2b) statement_timeout
run_query($searcher, "SET statement_timeout = '500ms'");
($out, $err) = run_query($searcher, $many_scans);
my $t_stop = last_statement_seconds($spid);
is(join("\n", messages($err)),
	'ERROR:  canceling statement due to statement timeout',
	'(2b) statement_timeout = 500ms cancels the scans');
note sprintf('(2b) the statement ended after %.1f ms', 1000 * $t_stop);
cmp_ok($t_stop, '<', 30, '(2b) it ended within 30 s');
cmp_ok($t_stop, '<', 5 * $reps * $t_scan / 2,
	'(2b) it ended before half of its scans could have run');
run_query($searcher, 'RESET statement_timeout');

# (2c) pg_cancel_backend
send_query($searcher, $many_scans);
ok( $node->poll_query_until(
		'postgres', qq{
SELECT state = 'active' AND query LIKE '%id < 0%' FROM pg_stat_activity WHERE pid = $spid}),
	'(2c) the scans run');
my $lat_scan = cancel_and_wait('(2c) cancel the scans', $spid);
($out, $err) = collect_query($searcher);
is(join("\n", messages($err)),
	'ERROR:  canceling statement due to user request',
	'(2c) the scans ended with the cancel error');
note sprintf('(2c) idle %.1f ms after pg_cancel_backend', 1000 * $lat_scan);
cmp_ok($lat_scan, '<', 30, '(2c) the cancel took less than 30 s');
cmp_ok($lat_scan, '<', 5 * $reps * $t_scan / 2,
	'(2c) the cancel took less than half of the statement\'s scans');

# (2d) the memory bound: work_mem = 64kB
run_query($searcher, "SET work_mem = '64kB'");
my %stopped;
foreach my $mult (1, 4)
{
	run_query($searcher, "SET vecpersist.scan_mem_multiplier = $mult");
	($out, $err) = run_query($searcher, $one_scan);
	is($out, '0', "(2d) scan_mem_multiplier $mult: the scan returns nothing");
	like(
		$err,
		qr/^NOTICE:  hnsw index scan exceeded work_mem after \d+ tuples\nHINT:  Increase hnsw.scan_mem_multiplier to scan more tuples.$/,
		"(2d) scan_mem_multiplier $mult: the scan stops with the NOTICE");
	($stopped{$mult}) = $err =~ /after (\d+) tuples/;
	note "(2d) work_mem = 64kB, scan_mem_multiplier $mult: stopped after "
	  . ($stopped{$mult} // '?') . ' tuples';
}
cmp_ok($stopped{1} // $nbig, '<', $nbig, '(2d) the scan stopped before the end of the graph');
cmp_ok($stopped{4} // 0, '>', $stopped{1} // $nbig,
	'(2d) a larger scan_mem_multiplier lets the scan visit more');
$searcher->quit;

# ---------------------------------------------------------------------------
# (3) Inserts during VACUUM
# ---------------------------------------------------------------------------

# Table vac: 5000 rows; rows 1 .. 1500 (the first index pages) are all
# deleted, and nine in ten of rows 1501 .. 3000.
$node->safe_psql(
	'postgres', table_sql($dims, 'vac', 0.3, 5000) . qq{
CREATE INDEX vac_v_idx ON vac USING hnsw (v vector_l2_ops);
ANALYZE vac;
CREATE TABLE vac_deleted AS
  SELECT id, v, ctid AS tid FROM vac WHERE id <= 1500 OR (id <= 3000 AND id % 10 <> 0);
DELETE FROM vac WHERE id IN (SELECT id FROM vac_deleted);
CREATE TABLE vac_log (id int, before text, after text);
-- Insert rows 100001, ... one per transaction until backend vpid has run
-- a VACUUM and is idle again; log VACUUM's phase before and after each.
CREATE PROCEDURE insert_during_vacuum(vpid int) LANGUAGE plpgsql AS \$\$
DECLARE
	k int := 100001;
	ph_before text;
	ph_after text;
BEGIN
	LOOP
		EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity
		                  WHERE pid = vpid AND state = 'idle' AND query LIKE 'VACUUM%');
		EXIT WHEN k > 150000;
		SELECT p.phase INTO ph_before FROM pg_stat_progress_vacuum p WHERE p.pid = vpid;
		COMMIT;
		INSERT INTO vac @{[ gen_rows($dims, 'k', 'k') ]};
		COMMIT;
		SELECT p.phase INTO ph_after FROM pg_stat_progress_vacuum p WHERE p.pid = vpid;
		INSERT INTO vac_log VALUES (k, ph_before, ph_after);
		COMMIT;
		PERFORM pg_sleep(0.005);
		k := k + 1;
	END LOOP;
END
\$\$;
});
is(cache_entry($node, 'vac_v_idx')->{state}, 'ready', '(3) the graph of vac_v_idx is cached');
my $vacuumer = session();
my $vpid = session_pid($vacuumer);
run_query($vacuumer, "SET vacuum_cost_delay = '10ms'");
run_query($vacuumer, 'SET vacuum_cost_limit = 1');
my $inserter = session();
send_query($inserter, "CALL insert_during_vacuum($vpid)");
ok($node->poll_query_until('postgres', 'SELECT count(*) >= 5 FROM vac_log'),
	'(3) the inserts began');
$t0 = time;
($out, $err) = run_query($vacuumer, 'VACUUM (VERBOSE) vac');
my $t_vacuum = time - $t0;
is(join("\n", messages($err)), '', '(3) VACUUM succeeded');
my ($recycled) = $err =~ /index "vac_v_idx": pages: \d+ in total, (\d+) newly deleted/;
($out, $err) = collect_query($inserter);
is($err, '', '(3) the inserts succeeded');
$vacuumer->quit;
$inserter->quit;
my ($n_ins, $n_during, $n_flagging, $n_recycling) = split /\|/,
  $node->safe_psql(
	'postgres', q{
SELECT count(*),
       count(*) FILTER (WHERE before IS NOT NULL AND after IS NOT NULL),
       count(*) FILTER (WHERE before = 'vacuuming indexes' AND after = 'vacuuming indexes'),
       count(*) FILTER (WHERE before = 'cleaning up indexes' AND after = 'cleaning up indexes')
FROM vac_log});
note sprintf('(3) VACUUM took %.1f s; %d rows inserted, %d of them while it ran: %d while '
	  . 'it flagged index items, %d while it recycled index pages; %s index pages recycled',
	$t_vacuum, $n_ins, $n_during, $n_flagging, $n_recycling, $recycled // '?');
cmp_ok($n_flagging, '>', 0, '(3) rows were inserted while VACUUM flagged index items');
cmp_ok($n_recycling, '>', 0, '(3) rows were inserted while VACUUM recycled index pages');
cmp_ok($recycled // 0, '>', 0, '(3) VACUUM recycled index pages');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vac WHERE id > 100000'),
	$n_ins, '(3) every logged insert is in the table');

# rows next to the query vectors, in the heap slots VACUUM freed
$node->safe_psql('postgres', 'SELECT setseed(0.31); INSERT INTO vac ' . near_rows($dims, 700000, 1, 5));
my $reused = $node->safe_psql('postgres',
	'SELECT count(*) FROM vac WHERE ctid IN (SELECT tid FROM vac_deleted)');
note "(3) $reused rows inserted in heap slots of deleted rows";
cmp_ok($reused, '>', 0, '(3) new rows took heap slots of deleted rows');

my $got = check_knn($node, '(3) after VACUUM', 'postgres', 'vac', plan => 'vac_v_idx');
is(count_ids_from($got, 700000), 5 * $nqueries, '(3) each query finds its 5 new rows');
self_lookup_ok('(3) rows inserted during VACUUM', 'vac', 'vac_v_idx',
	's.id > 100000 AND s.id < 700000');
my ($differ, $sampled, $dead_returned) = split m{/}, $node->safe_psql(
	'postgres', qq{
BEGIN;
$index_settings
CREATE TEMP TABLE got ON COMMIT DROP AS
  SELECT d.id, ARRAY(SELECT t.id FROM vac t ORDER BY t.v <-> d.v LIMIT 10) ids
  FROM vac_deleted d WHERE d.id % 5 = 0;
$exact_settings
SELECT count(*) FILTER (WHERE g.ids <> ARRAY(SELECT t.id FROM vac t ORDER BY t.v <-> d.v, t.id LIMIT 10))
       || '/' || count(*)
       || '/' || (SELECT count(*) FROM got g2, unnest(g2.ids) x WHERE x IN (SELECT id FROM vac_deleted))
FROM got g JOIN vac_deleted d USING (id);
COMMIT;
});
cmp_ok($sampled, '>', 0, '(3) deleted rows\' vectors to query');
is($differ, 0, "(3) $sampled deleted rows' vectors get the exact top 10");
is($dead_returned, 0, '(3) no deleted row is returned');
live_nodes_ok('(3)', 'vac', 'vac_v_idx');

# ---------------------------------------------------------------------------
# (5) Savepoints
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', table_sql($dims, 'sp', 0.5, 2000) . 'ANALYZE sp;');
my $sp_query = q{SET LOCAL enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM sp ORDER BY v <-> (SELECT v FROM queries WHERE qid = 1) LIMIT 10) s;};

# (5a) CREATE INDEX in a savepoint, a query, ROLLBACK TO
my (undef, $sp_state, $sp_oid) = split /\n/, $node->safe_psql(
	'postgres', qq{
BEGIN;
SAVEPOINT s;
CREATE INDEX sp_v_idx ON sp USING hnsw (v vector_l2_ops);
$sp_query
SELECT state FROM vecpersist_cache WHERE indexrelid = 'sp_v_idx'::regclass;
SELECT 'sp_v_idx'::regclass::oid;
ROLLBACK TO s;
COMMIT;
});
is($sp_state, 'ready', '(5a) in the savepoint, the new index has a graph');
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM vecpersist_cache WHERE indexrelid = $sp_oid"),
	'0', '(5a) after ROLLBACK TO, the cache holds no graph of the vanished index');

# (5b) the same, but the graph is built by the query (after an eviction)
my %rolled_back = (
	'(5b) graph built by a query, ROLLBACK TO' =>
	  [ 'BEGIN; SAVEPOINT s;', 'ROLLBACK TO s; COMMIT;' ],
	'(5c) graph built by a query, ROLLBACK' => [ 'BEGIN;', 'ROLLBACK;' ]);
foreach my $label (sort keys %rolled_back)
{
	my ($begin, $end) = @{ $rolled_back{$label} };
	my ($count, $state, $oid) = split /\n/, $node->safe_psql(
		'postgres', qq{
$begin
CREATE INDEX sp_v_idx ON sp USING hnsw (v vector_l2_ops);
SELECT vecpersist_evict('sp_v_idx') \\g /dev/null
$sp_query
SELECT state FROM vecpersist_cache WHERE indexrelid = 'sp_v_idx'::regclass;
SELECT 'sp_v_idx'::regclass::oid;
$end
});
	is("$count/$state", '10/ready', "$label: in the transaction, the query built a graph");
	is( $node->safe_psql(
			'postgres',
			"SELECT coalesce(string_agg(state, ','), 'none') FROM vecpersist_cache WHERE indexrelid = $oid"),
		'none',
		"$label: afterwards, the cache holds no graph of the vanished index");
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 'sp_v_idx'}),
	'0', '(5) no index sp_v_idx exists');

# (5d) INSERT in a rolled-back savepoint
$node->safe_psql('postgres', 'CREATE INDEX sp_v_idx ON sp USING hnsw (v vector_l2_ops)');
($out) = $node->safe_psql(
	'postgres', qq{
BEGIN;
SAVEPOINT s;
SELECT setseed(0.51);
INSERT INTO sp @{[ near_rows($dims, 900000, 1, 3) ]};
$index_settings
SELECT count(*) FROM queries q,
  LATERAL (SELECT id FROM sp ORDER BY v <-> q.v LIMIT 10) s WHERE s.id >= 900000;
ROLLBACK TO s;
COMMIT;
});
is((split /\n/, $out)[-1], 3 * $nqueries,
	'(5d) inside the savepoint, the queries find the new rows');
$got = check_knn($node, '(5d) after ROLLBACK TO', 'postgres', 'sp', plan => 'sp_v_idx');
is(count_ids_from($got, 900000), 0, '(5d) no row of the rolled-back savepoint is returned');
$node->safe_psql('postgres', 'VACUUM sp');
$node->safe_psql('postgres', 'SELECT setseed(0.52); INSERT INTO sp ' . near_rows($dims, 800000, 1, 3));
$got = check_knn($node, '(5d) after VACUUM and new rows', 'postgres', 'sp');
is(count_ids_from($got, 900000), 0,
	'(5d) still no row of the rolled-back savepoint is returned');
is(count_ids_from($got, 800000), 3 * $nqueries, '(5d) each query finds its 3 new rows');
live_nodes_ok('(5d)', 'sp', 'sp_v_idx');

# ---------------------------------------------------------------------------
# (6) Parallel inserts
# ---------------------------------------------------------------------------

$node->safe_psql(
	'postgres', table_sql($dims, 'par', 0.6, 1000) . qq{
CREATE INDEX par_v_idx ON par USING hnsw (v vector_l2_ops);
ANALYZE par;
-- rows first .. first + n - 1, one per transaction
CREATE PROCEDURE par_insert(first int, n int) LANGUAGE plpgsql AS \$\$
BEGIN
	FOR k IN first .. first + n - 1 LOOP
		INSERT INTO par @{[ gen_rows($dims, 'k', 'k') ]};
		COMMIT;
	END LOOP;
END
\$\$;
});
my $par_before = cache_entry($node, 'par_v_idx');
is($par_before->{state}, 'ready', '(6) the graph of par_v_idx is cached');
my @par = herd('(6) parallel inserts',
	[ map { "SELECT setseed(0.6$_) \\g /dev/null\nCALL par_insert(${_}0001, 300);" } 1 .. 4 ]);
is(join('', map { $_->[1] } @par), '', '(6) the four sessions\' inserts succeeded');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) || '/' || count(DISTINCT id / 10000) FROM par WHERE id > 10000}),
	'1200/4', '(6) the four sessions inserted their 300 rows each');
self_lookup_ok('(6) after parallel inserts', 'par', 'par_v_idx', 'true');
my $par_after = live_nodes_ok('(6)', 'par', 'par_v_idx');
note sprintf('(6) graph: %d nodes, builds %d -> %d, absorbed %d -> %d',
	$par_after->{nodes}, $par_before->{builds}, $par_after->{builds},
	$par_before->{absorbed}, $par_after->{absorbed});
check_knn($node, '(6) after parallel inserts', 'postgres', 'par', plan => 'par_v_idx');

# ---------------------------------------------------------------------------
# (4) The herd
# ---------------------------------------------------------------------------

# Table herd: 10000 rows (clusters of 200).
$node->safe_psql(
	'postgres', table_sql($dims, 'herd', 0.4, 10000) . q{
CREATE INDEX herd_v_idx ON herd USING hnsw (v vector_l2_ops);
ANALYZE herd;
});
is(cache_entry($node, 'herd_v_idx')->{state}, 'ready', '(4) the graph of herd_v_idx is cached');

# Eight sessions' k-NN statements at once; each must get the exact answer
# and say nothing but (if $notice) that NOTICE.  Returns how many said it.
sub herd_knn_ok
{
	my ($label, $table, $notice) = @_;
	my $exact = $node->safe_psql('postgres', exact_sql($table));
	my @results = herd($label, [ (knn_sql($table)) x 8 ]);
	my ($exact_ok, $quiet, $noticed) = (0, 0, 0);
	foreach my $r (@results)
	{
		if ($r->[0] eq $exact)
		{
			$exact_ok++;
		}
		else
		{
			diag "$label: got\n$r->[0]\nexpected\n$exact";
		}
		if ($r->[1] eq '')
		{
			$quiet++;
		}
		elsif ($notice && $r->[1] =~ /^NOTICE:  \Q$notice\E\nHINT:  [^\n]*$/)
		{
			$noticed++;
		}
		else
		{
			diag "$label: $r->[1]";
		}
	}
	is($exact_ok, 8, "$label: all eight sessions got the exact answers");
	is($quiet + $noticed, 8,
		"$label: no session got an error or warning"
		  . ($notice ? ' (only the NOTICE)' : ''));
	return $noticed;
}

# (4a) a VACUUM that deletes 10%, then the herd.  Every cluster (id % 50)
# loses a tenth of its rows: a query vector whose whole cluster is gone
# lies between clusters, where ef_search = 400 need not find the exact
# top 10.
my $passes0 = cache_entry($node, 'herd_v_idx')->{deletion_passes};
$node->safe_psql('postgres', 'DELETE FROM herd WHERE (id / 50) % 10 = 3');
$node->safe_psql('postgres', 'VACUUM herd');
my $passes1 = cache_entry($node, 'herd_v_idx')->{deletion_passes};
herd_knn_ok('(4a) after VACUUM', 'herd');
my $passes2 = cache_entry($node, 'herd_v_idx')->{deletion_passes};
note "(4a) deletion passes: $passes0 before VACUUM, $passes1 after it, $passes2 after the herd";
is($passes2 - $passes0, 1, '(4a) the deletions were applied to the graph once');
live_nodes_ok('(4a)', 'herd', 'herd_v_idx');

# (4b) another 10% (rows 1 .. 49 among them, on the first index page); a
# VACUUM cancelled after it flagged items of that page, before it
# announced them; a VACUUM that completes; then the herd
$node->safe_psql('postgres', 'DELETE FROM herd WHERE (id / 50) % 10 = 0');
# block 1 is the head of the chain (it lost no row in (4a), so it was not
# recycled)
my $head = 1;
my $lsn = $node->safe_psql('postgres',
	"SELECT lsn FROM page_header(get_raw_page('herd_v_idx', $head))");
my $slow = session();
my $slow_pid = session_pid($slow);
run_query($slow, "SET vacuum_cost_delay = '20ms'");
run_query($slow, 'SET vacuum_cost_limit = 1');
send_query($slow, 'VACUUM herd');
ok( $node->poll_query_until(
		'postgres', qq{
SELECT p.phase = 'vacuuming indexes'
       AND (SELECT lsn <> '$lsn' FROM page_header(get_raw_page('herd_v_idx', $head)))
FROM pg_stat_progress_vacuum p WHERE p.pid = $slow_pid}),
	'(4b) VACUUM flagged items of the first index page');
my $passes3 = cache_entry($node, 'herd_v_idx')->{deletion_passes};
cancel_and_wait('(4b) cancel VACUUM', $slow_pid);
($out, $err) = collect_query($slow);
is(join("\n", messages($err)), 'ERROR:  canceling statement due to user request',
	'(4b) VACUUM was cancelled');
$slow->quit;
is(cache_entry($node, 'herd_v_idx')->{deletion_passes},
	$passes3, '(4b) the cancelled VACUUM applied nothing to the graph');
$node->safe_psql('postgres', 'VACUUM herd');
my $passes4 = cache_entry($node, 'herd_v_idx')->{deletion_passes};
herd_knn_ok('(4b) after a cancelled VACUUM and a VACUUM', 'herd');
my $passes5 = cache_entry($node, 'herd_v_idx')->{deletion_passes};
note "(4b) deletion passes: $passes3 before, $passes4 after the second VACUUM, $passes5 after the herd";
is($passes5 - $passes3, 1, '(4b) the deletions were applied to the graph once');
live_nodes_ok('(4b)', 'herd', 'herd_v_idx');

# (4c) a restart without snapshots, then the herd
$node->append_conf('postgresql.conf', "vecpersist.snapshots = off\n");
$node->restart;
$offset = -s $node->logfile;
my $noticed = herd_knn_ok('(4c) first queries after a restart', 'herd',
	'hnsw graph of index "herd_v_idx" is being built by another session; answering from an exact scan of the index'
);
is(count_builds($node, $offset, 'herd_v_idx', 'postgres'),
	1, '(4c) one "built hnsw graph" LOG line');
ok(!$node->log_contains(qr/loaded hnsw graph of index "herd_v_idx"/, $offset),
	'(4c) no snapshot was loaded');
my $r = live_nodes_ok('(4c)', 'herd', 'herd_v_idx');
is($r->{builds}, 1, '(4c) the view counts one build');
my $fallbacks = cache_stats($node)->{fallbacks};
note "(4c) $noticed sessions answered by exact scans (the NOTICE) while the graph was built; "
  . "$fallbacks scans in all";
cmp_ok($fallbacks, '>=', $noticed, '(4c) each of them counted in fallbacks');

# ---------------------------------------------------------------------------
# (7) A graph that does not fit
# ---------------------------------------------------------------------------

$node->append_conf('postgresql.conf', "vecpersist.cache_size = '1MB'\n");
$node->restart;
is(cache_stats($node)->{budget_bytes}, 1024 * 1024, '(7) the cache has 1MB');

# The top 10 of every vector of bigq, through the index or exactly.
sub big_knn
{
	my ($exact) = @_;
	my $order = $exact ? 't.v <-> q.v, t.id' : 't.v <-> q.v';
	return qq{SELECT string_agg(q.qid || ':' || array_to_string(ARRAY(
           SELECT t.id FROM big t ORDER BY $order LIMIT 10), ','), E'\\n' ORDER BY q.qid)
FROM bigq q};
}
my $exact_big = $node->safe_psql('postgres', "BEGIN; $exact_settings " . big_knn(1) . '; COMMIT;');
my $probe = q{WITH k AS MATERIALIZED (SELECT id FROM big
  ORDER BY v <-> (SELECT v FROM bigq WHERE qid = 1) LIMIT 10)
SELECT (SELECT count(*) FROM k) || '|' || (SELECT sum(total_bytes) FROM pg_backend_memory_contexts);};
my $fallbacks0 = cache_stats($node)->{fallbacks};
my @fit = herd('(7) eight sessions', [
	("BEGIN; SET LOCAL enable_seqscan = off;\n" . big_knn(0) . ";\n$probe\nCOMMIT;\n"
	  . 'SELECT sum(total_bytes) FROM pg_backend_memory_contexts;') x 8 ]);
my ($fit_exact, $fit_warned, $fit_quiet, $fit_mem_ok, @needed) = (0, 0, 0, 0);
my $max_mem = 0;
foreach my $r (@fit)
{
	my @lines = split /\n/, $r->[0];
	my $after = pop @lines;
	my ($count, $during) = split /\|/, pop @lines;
	$fit_exact++ if join("\n", @lines) eq $exact_big && $count == 10;
	$max_mem = $during if $during > $max_mem;
	$max_mem = $after if $after > $max_mem;
	$fit_mem_ok++ if $during < $graph_bytes / 4 && $after < $graph_bytes / 4;
	my @msgs = messages($r->[1]);
	if (grep { $_ eq 'WARNING:  hnsw graph of index "big_v_idx" does not fit in the shared graph cache' } @msgs)
	{
		$fit_warned++;
		push @needed, $1
		  if $r->[1] =~ /DETAIL:  The graph needs (\d+) bytes; the cache has 1048576 bytes, of which \d+ are free\./;
	}
	$fit_quiet++
	  unless grep { !/^WARNING:  hnsw graph of index "big_v_idx" does not fit|^NOTICE:  hnsw graph of index "big_v_idx" is being built/ } @msgs;
}
is($fit_exact, 8, '(7) all eight sessions got the exact answers');
is($fit_quiet, 8, '(7) no session got an error (only the WARNING, or the NOTICE of a build)');
cmp_ok($fit_warned, '>', 0, '(7) the sessions were warned that the graph does not fit');
like(
	join("\n", map { $_->[1] } @fit),
	qr/HINT:  Increase vecpersist.cache_size and restart the server.  Until then queries of this index are answered by exact scans of its pages./,
	'(7) the WARNING has its HINT');
is(scalar @needed, $fit_warned, '(7) the WARNING says how large the graph is');
note "(7) $fit_warned sessions warned; the graph needs @{[ $needed[0] // '?' ]} bytes "
  . "(cached in (1) it took $graph_bytes); the largest backend used $max_mem bytes";
cmp_ok($needed[0] // 0, '>', 1024 * 1024, '(7) the graph needs more than the cache has');
is($fit_mem_ok, 8,
	'(7) each backend used less than a quarter of the graph\'s size during and after its scans');
is(cache_stats($node)->{fallbacks} - $fallbacks0,
	8 * 6, '(7) every scan (six a session) was answered by an exact scan (fallbacks)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vecpersist_cache WHERE state = 'ready'}),
	'0', '(7) no graph is in the cache');

no_crash_ok($node, '(1)-(7) ');
$node->stop;

# ---------------------------------------------------------------------------
# (8) Private graphs (no shared_preload_libraries)
# ---------------------------------------------------------------------------

my $priv = start_node('private');
$node = $priv;
$priv->safe_psql(
	'postgres', "CREATE EXTENSION vecpersist;\n"
	  . table_sql($dims, 'priv', 0.7, 20000)
	  . table_sql($dims, 'priv2', 0.8, 500) . q{
CREATE INDEX priv_v_idx ON priv USING hnsw (v vector_l2_ops);
CREATE INDEX priv2_v_idx ON priv2 USING hnsw (v vector_l2_ops);
ANALYZE priv, priv2;
});
my $graph_mem = q{SELECT coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts
WHERE name = 'vecpersist graph'};
my $priv_knn = q{SELECT id FROM priv ORDER BY v <-> (SELECT v FROM priv WHERE id = 1) LIMIT 1};
my $sa = session($priv);
run_query($sa, 'SET enable_seqscan = off');
($out, $err) = run_query($sa, $priv_knn);
is($out, '1', '(8) session A: the index finds row 1');
like($err, qr/NOTICE:  vecpersist is not in shared_preload_libraries/,
	'(8) session A: a private graph (the NOTICE)');
my ($mem1) = run_query($sa, $graph_mem);
note "(8) session A's private graph: $mem1 bytes";
cmp_ok($mem1, '>', 1024 * 1024, '(8) session A holds a private graph of more than 1MB');

$priv->safe_psql('postgres', 'DROP INDEX priv_v_idx');
($out, $err) = run_query($sa, $priv_knn);
is("$out/$err", '1/', '(8) session A: the next query works (without the index)');
my ($mem2) = run_query($sa, $graph_mem);
note "(8) session A's graphs after the DROP and its next query: $mem2 bytes";
cmp_ok($mem2, '<', $mem1 / 4, '(8) session A\'s next statements freed the dropped index\'s graph');

# a query through another index (which sweeps private graphs)
($out, $err) = run_query($sa,
	'SELECT count(*) FROM (SELECT id FROM priv2 ORDER BY v <-> (SELECT v FROM priv2 WHERE id = 1) LIMIT 5) s');
is("$out/$err", '5/', '(8) session A: a query through another index works');
my ($mem3) = run_query($sa, $graph_mem);
note "(8) session A's graphs after a query of another index: $mem3 bytes";
cmp_ok($mem3, '<', $mem1 / 4,
	'(8) after a query of another index, the dropped index\'s graph is freed');
$sa->quit;

no_crash_ok($priv, '(8) ');
$priv->stop;

note sprintf('total %.0f s', time - $t_start);
done_testing();
