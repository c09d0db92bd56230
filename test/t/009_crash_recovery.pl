
# Copyright (c) vecpersist developers
#
# Crash recovery: nothing committed is lost, nothing uncommitted appears.
# Every crash is $node->stop('immediate') (SIGQUIT to every server
# process: no shutdown checkpoint), so the restart must replay WAL; the
# test checks that the log says so.  After each restart the shared graph
# cache is empty.  The first query then gets the graph one of two ways,
# and each case checks both: with snapshots (the default) it LOADS the
# snapshot the writer saved before the crash (the test waits for that
# save) and catches it up from the WAL-recovered pages ("loaded hnsw
# graph", origin = loaded), or, if that snapshot is mostly dead, rejects
# it ("snapshot of hnsw index ... not used: most of its nodes are dead")
# and builds; with vecpersist.snapshots = off (set and reloaded for that
# phase, the graph evicted) it BUILDS the graph from the recovered pages
# ("built hnsw graph", origin = built).  Either way: exact answers.
#
#  (a) A stream of committed inserts and deletes: rows near the query
#      vectors, a DELETE, more rows; then, at the moment of the crash, a
#      procedure still inserting and deleting one row per transaction, and
#      an open transaction that inserted rows next to every query vector
#      and deleted committed ones.  After recovery (graph loaded, then
#      built): the hnsw answers equal the exact ones (ef_search = 400),
#      none of the aborted rows is returned and the rows the aborted
#      transaction deleted are; every sampled committed row (all rows of
#      the stream among them) is found first by a k-NN query for its own
#      vector; again after VACUUM.
#  (b) A crash during CREATE INDEX leaves no index; a new CREATE INDEX
#      works and answers exactly.  A crash during CREATE INDEX
#      CONCURRENTLY leaves an INVALID index that the planner ignores and
#      writes do not trip over; REINDEX makes it valid and exact, and a
#      second such index is simply dropped.
#  (c) A crash while VACUUM flags the dead rows' items (phase "vacuuming
#      indexes"), and another while it recycles all-dead pages ("cleaning
#      up indexes"): after recovery, and again after a second VACUUM, the
#      answers equal the exact ones, no deleted row is returned, a graph
#      built from the pages holds exactly the live rows, and the index's
#      reltuples (from amvacuumcleanup's count) equals the table's rows.
#      The first crash's snapshot (taken of the whole table) is loaded;
#      the second's has most of its nodes deleted by then (63%), so it is
#      rejected and the graph built (this once looped, rebuilding and
#      loading the snapshot again and again).
#  (d) A VACUUM canceled after flagging the dead rows' items but before it
#      told the graphs (the vacuum epoch): the next VACUUM must still make
#      the cached graph drop them, or once their heap slots are reused by
#      new rows a scan returns those new rows in the old rows' places.
#  (e) A crash after a snapshot, inserts, deletes (whole index pages of
#      them, and rows next to the query vectors), a VACUUM that recycled
#      those pages, and new rows taking the freed heap slots: the loaded
#      graph gives exactly the exact answers, never a deleted row, finds
#      every row first for its own vector, and its live nodes are the live
#      rows; so does a graph built from the pages.
#
# Finally the server log holds no PANIC, failed assertion or process
# terminated by a signal: the crashes above are immediate shutdowns.
#
# "Exact answer": as in the other tests (VpCacheTest.pm), the top 10 ids of
# each of 20 query vectors through the hnsw index at ef_search = 400 equal
# the top 10 by an exact scan.

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
my $nrows    = 3000;
my $nqueries = 20;
my $t_start  = time;

my $node = start_node('crash', preload => 1);
create_tables($node, 'postgres', $dims, $nqueries, 0.5, $nrows);
$node->safe_psql('postgres', 'CREATE EXTENSION pageinspect');
$node->safe_psql('postgres',
	'CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops)');
ok(wait_for_snapshot($node, 'items_v_idx'),
	'the graph of items_v_idx was saved as a snapshot');

# Run the statements @sql (one -c each, so each in its own transaction)
# with psql in the background; returns the handle and the references to
# its output.
sub start_psql
{
	my (@sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			$node->installed_command('psql'), '-XAtq',
			'-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr('postgres'),
			map { ('-c', $_) } @sql
		],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return { h => $h, out => \$out, err => \$err };
}

# Wait for a background psql to end; returns its stderr.
sub finish_psql
{
	my ($run) = @_;
	$run->{h}->finish;
	return ${ $run->{err} };
}

# Crash the server (immediate shutdown) and start it again; check that the
# start was a crash recovery that replayed WAL.  Returns the log offset
# before the restart.
sub crash_restart
{
	my ($label) = @_;
	$node->stop('immediate');
	my $offset = -s $node->logfile;
	my $t0 = time;
	$node->start;
	note sprintf("%s: restart with crash recovery took %.0f ms",
		$label, 1000 * (time - $t0));
	my $log = slurp_file($node->logfile, $offset);
	like($log, qr/database system was not properly shut down; automatic recovery in progress/,
		"$label: the restart was a crash recovery");
	like($log, qr/redo starts at/, "$label: recovery replayed WAL");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM vecpersist_cache'),
		'0', "$label: the graph cache starts empty");
	return $offset;
}

# Every row of $table matching $where must be the first answer of a k-NN
# query (through index $index, ef_search = 400) for its own vector.
sub self_lookup_ok
{
	my ($label, $table, $index, $where) = @_;
	my $sql = qq{SELECT count(*),
       count(*) FILTER (WHERE (SELECT t.id FROM $table t
                               ORDER BY t.v <-> s.v LIMIT 1) IS DISTINCT FROM s.id)
FROM $table s WHERE $where};
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
	is($missed, 0, "$label: every sampled row is found first for its own vector");
	return;
}

# (a) a stream of inserts and deletes, and a crash in the middle ------------

# committed: 5 rows next to every query vector, a DELETE (two of those
# rows per query among the deleted), 500 more rows
$node->safe_psql('postgres',
	'SELECT setseed(0.125); INSERT INTO items ' . near_rows($dims, 500000, 1, 5));
$node->safe_psql('postgres',
	'DELETE FROM items WHERE id % 9 = 0 OR (id >= 500000 AND id % 100 IN (2, 4))');
$node->safe_psql('postgres',
	'SELECT setseed(0.625); INSERT INTO items ' . gen_rows($dims, 3001, 3500));

# The stream: one transaction per iteration, inserting row 100000 + i and
# deleting an older row.
$node->safe_psql(
	'postgres', qq{
CREATE PROCEDURE stream(n int) LANGUAGE plpgsql AS \$\$
DECLARE
	k int;
BEGIN
	FOR k IN 100001 .. 100000 + n LOOP
		INSERT INTO items @{[ gen_rows($dims, 'k', 'k') ]};
		DELETE FROM items WHERE id = 1 + (k * 37) % 3000;
		COMMIT;
	END LOOP;
END
\$\$;
});

# The transaction that must vanish: 3 rows next to every query vector
# (ids 900000 + ...), and the deletion of committed rows next to them
# (k = 1), which must survive.
my $k1_rows = $node->safe_psql('postgres',
	'SELECT count(*) FROM items WHERE id >= 500000 AND id % 100 = 1');
my $aborted = $node->background_psql('postgres');
$aborted->query_safe('BEGIN; SELECT setseed(0.875); INSERT INTO items '
	  . near_rows($dims, 900000, 1, 3)
	  . '; DELETE FROM items WHERE id >= 500000 AND id < 900000 AND id % 100 = 1');
my $stream = start_psql('CALL stream(1000000)');
ok( $node->poll_query_until(
		'postgres',
		'SELECT count(*) >= 300 FROM items WHERE id BETWEEN 100001 AND 499999'),
	'(a) the stream committed at least 300 transactions');
my $streamed_before = $node->safe_psql('postgres',
	'SELECT count(*) FROM items WHERE id BETWEEN 100001 AND 499999');

my $offset = crash_restart('(a) crash during the stream');
like(finish_psql($stream), qr/terminat|connection/,
	'(a) the stream was cut off by the crash');
# psql's connection is gone; just reap it
$aborted->{run}->kill_kill;

my $streamed = $node->safe_psql('postgres',
	'SELECT count(*) FROM items WHERE id BETWEEN 100001 AND 499999');
cmp_ok($streamed, '>=', $streamed_before,
	'(a) every stream transaction seen committed before the crash survived');
note "(a) stream rows: $streamed_before seen before the crash, $streamed after";
is($node->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id >= 900000'),
	'0', '(a) the aborted transaction\'s rows are gone');
is( $node->safe_psql(
		'postgres',
		'SELECT count(*) FROM items WHERE id >= 500000 AND id < 900000 AND id % 100 = 1'),
	$k1_rows,
	'(a) the rows the aborted transaction deleted are there');

# Once with the graph loaded from the snapshot taken after CREATE INDEX,
# once with a graph built from the pages (snapshots off, the loaded graph
# evicted).  The pages hold every item ever appended and not yet
# vacuumed: the committed rows, the deleted ones and the aborted ones, so
# either graph has at least as many nodes as rows were appended.
my $appended = $nrows + 5 * $nqueries + 500 + $streamed;
foreach my $how ('loaded', 'built')
{
	my $label = "(a) after recovery, $how";
	if ($how eq 'built')
	{
		set_snapshots($node, 'off');
		$node->safe_psql('postgres', q{SELECT vecpersist_evict('items_v_idx')});
		$offset = -s $node->logfile;
	}
	my $got = check_knn($node, $label, 'postgres', 'items',
		plan => 'items_v_idx');
	is(count_ids_from($got, 900000), 0, "$label: no aborted row is returned");
	is(scalar(grep { $_ >= 500000 && $_ < 900000 && $_ % 100 == 1 } answer_ids($got)),
		$k1_rows, "$label: each row the aborted transaction deleted is found by its query");
	is(scalar(grep { $_ >= 500000 && $_ < 900000 && ($_ % 100 == 2 || $_ % 100 == 4) } answer_ids($got)),
		0, "$label: no row deleted before the crash is returned");
	my $r = cache_entry($node, 'items_v_idx');
	is($r->{builds}, 1, "$label: the first query got the graph once");
	is($r->{origin}, $how, "$label: origin = $how");
	is(count_loads($node, $offset, 'items_v_idx', 'postgres'),
		$how eq 'loaded' ? 1 : 0, "$label: loads logged");
	is(count_builds($node, $offset, 'items_v_idx', 'postgres'),
		$how eq 'built' ? 1 : 0, "$label: builds logged");
	is(count_rejected($node, $offset, 'items_v_idx'), 0,
		"$label: no snapshot was rejected");
	cmp_ok($r->{nodes}, '>=', $appended,
		"$label: the graph holds every item on the pages");
	note "$label: graph of $r->{nodes} nodes, $r->{dead_nodes} deleted "
	  . "(committed rows appended: $appended)";

	self_lookup_ok($label, 'items', 'items_v_idx',
		'id % 15 = 1 OR id > 3000');
}

# VACUUM (snapshots still off): the graph drops the deleted rows.
$node->safe_psql('postgres', 'VACUUM items');
my $got = check_knn($node, '(a) after VACUUM', 'postgres', 'items');
is(count_ids_from($got, 900000), 0, '(a) after VACUUM: no aborted row is returned');
self_lookup_ok('(a) after VACUUM', 'items', 'items_v_idx', 'id % 15 = 1 OR id > 3000');
my $r = cache_entry($node, 'items_v_idx');
is($r->{nodes} - $r->{dead_nodes},
	$node->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'(a) after VACUUM: the graph\'s undeleted nodes are exactly the live rows');
note "(a) after VACUUM: $r->{nodes} nodes, $r->{dead_nodes} deleted, "
  . "$r->{deletion_passes} deletion passes";
set_snapshots($node, 'on');

note sprintf("(a) done after %.1f s", time - $t_start);

# (b) a crash during CREATE INDEX and during CREATE INDEX CONCURRENTLY --------

# A slow build (m = 32, ef_construction = 1000: about 2 s here), so that the
# crash surely comes while it runs.
my $slow = 'USING hnsw (v vector_l2_ops) WITH (m = 32, ef_construction = 1000)';

# Run $sql in the background, wait until pg_stat_progress_create_index
# shows it building, crash and restart.  Returns the log offset before the
# restart.
sub crash_during_build
{
	my ($label, $sql) = @_;
	my $run = start_psql($sql);
	ok( $node->poll_query_until(
			'postgres', q{
SELECT count(*) > 0 FROM pg_stat_progress_create_index
WHERE relid = 'items'::regclass AND phase LIKE 'building index%'}),
		"$label: the build is running");
	note "$label: crash in phase "
	  . $node->safe_psql('postgres',
		q{SELECT phase FROM pg_stat_progress_create_index WHERE relid = 'items'::regclass});
	my $offset = crash_restart($label);
	like(finish_psql($run), qr/terminat|connection/,
		"$label: the statement was cut off by the crash");
	return $offset;
}

$node->safe_psql('postgres', 'DROP INDEX items_v_idx');
crash_during_build('(b) crash during CREATE INDEX',
	"CREATE INDEX items_v_idx ON items $slow");
is($node->safe_psql('postgres', q{SELECT to_regclass('items_v_idx') IS NULL}),
	't', '(b) after a crash during CREATE INDEX the index does not exist');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_index WHERE indrelid = 'items'::regclass AND NOT indisvalid}),
	'0',
	'(b) ... and no invalid index is left on the table');
$node->safe_psql('postgres',
	'CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops)');
check_knn($node, '(b) new index after the crashed CREATE INDEX',
	'postgres', 'items', plan => 'items_v_idx');
$node->safe_psql('postgres', 'DROP INDEX items_v_idx');

crash_during_build('(b) crash during CREATE INDEX CONCURRENTLY',
	"CREATE INDEX CONCURRENTLY items_cic_idx ON items $slow");
is( $node->safe_psql(
		'postgres',
		q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_cic_idx'::regclass}),
	'f',
	'(b) after a crash during CREATE INDEX CONCURRENTLY the index is INVALID');
unlike($node->safe_psql('postgres', explain_sql('items')),
	qr/items_cic_idx/, '(b) the planner ignores the invalid index');
# writes and VACUUM go on with the invalid index in place
$node->safe_psql('postgres',
	    'SELECT setseed(0.3); INSERT INTO items '
	  . near_rows($dims, 600000, 1, 2)
	  . '; DELETE FROM items WHERE id % 10 = 3; VACUUM items');
check_knn($node, '(b) exact scan with the invalid index in place',
	'postgres', 'items');
$node->safe_psql('postgres', 'REINDEX INDEX items_cic_idx');
is( $node->safe_psql(
		'postgres',
		q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_cic_idx'::regclass}),
	't',
	'(b) REINDEX made the index valid');
$got = check_knn($node, '(b) after REINDEX of the invalid index',
	'postgres', 'items', plan => 'items_cic_idx');
is(count_ids_from($got, 600000), 2 * $nqueries,
	'(b) after REINDEX: the rows inserted meanwhile are found');

crash_during_build('(b) second crash during CREATE INDEX CONCURRENTLY',
	"CREATE INDEX CONCURRENTLY items_cic2_idx ON items $slow");
is( $node->safe_psql(
		'postgres',
		q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_cic2_idx'::regclass}),
	'f',
	'(b) the second interrupted index is INVALID');
$node->safe_psql('postgres', 'DROP INDEX items_cic2_idx');
is($node->safe_psql('postgres', q{SELECT to_regclass('items_cic2_idx') IS NULL}),
	't', '(b) DROP INDEX removed it');
check_knn($node, '(b) after DROP INDEX of the invalid index', 'postgres', 'items',
	plan => 'items_cic_idx');

note sprintf("(b) done after %.1f s", time - $t_start);

# (c) a crash during VACUUM -------------------------------------------------

# Table vac: 4000 rows (ids in chain order, about 55 items per index page),
# no other index, so that VACUUM's "vacuuming indexes" phase is the hnsw
# index's ambulkdelete.
$node->safe_psql(
	'postgres', qq{
CREATE TABLE vac (id int, v vector($dims));
SELECT setseed(0.75);
INSERT INTO vac @{[ gen_rows($dims, 1, 4000) ]};
CREATE INDEX vac_v_idx ON vac USING hnsw (v vector_l2_ops);
ANALYZE vac;
});

# The LSN of block $blkno of index $index.
sub page_lsn
{
	my ($index, $blkno) = @_;
	return $node->safe_psql('postgres',
		"SELECT lsn FROM page_header(get_raw_page('$index', $blkno))");
}

# A VACUUM of $table slowed down by cost-based delay (at least 30 ms per
# page), in the background: slow enough that the crash or cancel that
# follows the first sign of the phase awaited comes well before its end
# (a whole index walk takes about 2 s; at 5 ms per page VACUUM sometimes
# finished first).
sub start_slow_vacuum
{
	my ($table) = @_;
	return start_psql("SET vacuum_cost_delay = '30ms'",
		'SET vacuum_cost_limit = 1', "VACUUM $table");
}

# Wait until VACUUM of $table is in phase $phase.
sub wait_vacuum_phase
{
	my ($label, $table, $phase) = @_;
	ok( $node->poll_query_until(
			'postgres', qq{
SELECT count(*) > 0 FROM pg_stat_progress_vacuum
WHERE relid = '$table'::regclass AND phase = '$phase'}),
		"$label: VACUUM is $phase");
	return;
}

# The checks after a crash during VACUUM, and again after a VACUUM that
# completes: exact answers, no deleted row, the graph built from the pages
# holds the live rows, reltuples of the index counts them.  First with
# snapshots on: the first query after the crash must get the graph the
# way $expect says ('loaded': from the snapshot; 'rejected': the snapshot
# is refused as mostly dead and the graph built); then, before any VACUUM,
# with snapshots off (the graph evicted): built from the recovered pages.
# The rest runs with snapshots off (so that the rebuild at the end is a
# build); they are turned on again at the end, and the next snapshot is
# of the graph built last.
sub check_vac
{
	my ($label, $offset, $expect) = @_;
	my $live = $node->safe_psql('postgres', 'SELECT count(*) FROM vac');
	my %present = map { $_ => 1 } split /\n/,
	  $node->safe_psql('postgres', 'SELECT id FROM vac');
	foreach my $how ($expect, 'built')
	{
		my $l = "$label, $how";
		if ($how eq 'built')
		{
			set_snapshots($node, 'off');
			$node->safe_psql('postgres', q{SELECT vecpersist_evict('vac_v_idx')});
			$offset = -s $node->logfile;
		}
		my $got = check_knn($node, $l, 'postgres', 'vac', plan => 'vac_v_idx');
		is(scalar(grep { !$present{$_} } answer_ids($got)),
			0, "$l: no deleted row is returned");
		my $r = cache_entry($node, 'vac_v_idx');
		is($r->{origin}, $how eq 'loaded' ? 'loaded' : 'built',
			"$l: origin = " . ($how eq 'loaded' ? 'loaded' : 'built'));
		is(count_loads($node, $offset, 'vac_v_idx', 'postgres'),
			$how eq 'loaded' ? 1 : 0, "$l: loads logged");
		is(count_builds($node, $offset, 'vac_v_idx', 'postgres'),
			$how eq 'loaded' ? 0 : 1,
			$how eq 'loaded' ? "$l: no build logged"
			: "$l: the graph was built from the pages once");
		my $log = slurp_file($node->logfile, $offset);
		if ($how eq 'rejected')
		{
			like($log,
				qr/snapshot of hnsw index "vac_v_idx" not used: most of its nodes are dead\n.*DETAIL:  The graph is rebuilt from the index pages\./,
				"$l: the snapshot was rejected as mostly dead, with the DETAIL");
		}
		is(count_rejected($node, $offset, 'vac_v_idx'),
			$how eq 'rejected' ? 1 : 0, "$l: rejections logged");
		cmp_ok($r->{nodes} - $r->{dead_nodes}, '>=', $live,
			"$l: the graph's undeleted nodes include every live row");
		note "$l: graph of $r->{nodes} nodes, $r->{dead_nodes} deleted, $live live rows";
	}
	$node->safe_psql('postgres', 'VACUUM vac');
	check_knn($node, "$label, then VACUUM", 'postgres', 'vac');
	my $r = cache_entry($node, 'vac_v_idx');
	is($r->{nodes} - $r->{dead_nodes},
		$live, "$label, then VACUUM: the graph's undeleted nodes are the live rows");
	is( $node->safe_psql(
			'postgres', q{SELECT reltuples::bigint FROM pg_class WHERE relname = 'vac_v_idx'}),
		$live,
		"$label, then VACUUM: the index's reltuples counts the live rows");
	$node->safe_psql('postgres', q{SELECT vecpersist_evict('vac_v_idx')});
	check_knn($node, "$label, then VACUUM, then a rebuild", 'postgres', 'vac');
	$r = cache_entry($node, 'vac_v_idx');
	is($r->{origin}, 'built', "$label, then VACUUM, then a rebuild: origin = built");
	is($r->{nodes},
		$live, "$label, then VACUUM: a graph rebuilt from the pages holds the live rows");
	set_snapshots($node, 'on');
	return;
}

# A crash while ambulkdelete flags items: wait until the walk has passed
# block 10 (all dead), so that flags were logged before the crash.  The
# snapshot is of the graph CREATE INDEX built (all 4000 rows); at most
# 1760 of them are flagged dead when the crash comes, so it is loaded.
ok(wait_for_snapshot($node, 'vac_v_idx'),
	'(c) the graph of vac_v_idx was saved as a snapshot');
$node->safe_psql('postgres', 'DELETE FROM vac WHERE id <= 1200 OR id % 5 = 0');
my $lsn10 = page_lsn('vac_v_idx', 10);
my $vacuum = start_slow_vacuum('vac');
wait_vacuum_phase('(c) crash in ambulkdelete', 'vac', 'vacuuming indexes');
ok( $node->poll_query_until(
		'postgres',
		"SELECT lsn <> '$lsn10' FROM page_header(get_raw_page('vac_v_idx', 10))"),
	'(c) crash in ambulkdelete: the walk flagged block 10');
# a commit writes out the WAL before it, so the flags survive the crash
$node->safe_psql('postgres', 'SELECT txid_current()');
$offset = crash_restart('(c) crash in ambulkdelete');
like(finish_psql($vacuum), qr/terminat|connection/,
	'(c) crash in ambulkdelete: VACUUM was cut off by the crash');
check_vac('(c) crash in ambulkdelete', $offset, 'loaded');

# A crash while amvacuumcleanup recycles all-dead pages: wait until it has
# recycled one (the metapage changed after the phase began).  The snapshot
# is of the graph check_vac built last (the 2240 live rows); this DELETE
# removes 1416 of them (63%), which ambulkdelete has flagged before the
# crash, so the loaded snapshot is mostly dead: rejected, and the graph
# built.
ok(wait_for_snapshot($node, 'vac_v_idx'),
	'(c) the rebuilt graph of vac_v_idx was saved as a snapshot');
$node->safe_psql('postgres', 'DELETE FROM vac WHERE id BETWEEN 2001 AND 3600 OR id % 7 = 0');
$vacuum = start_slow_vacuum('vac');
wait_vacuum_phase('(c) crash in amvacuumcleanup', 'vac', 'cleaning up indexes');
my $meta_lsn = page_lsn('vac_v_idx', 0);
ok( $node->poll_query_until(
		'postgres',
		"SELECT lsn <> '$meta_lsn' FROM page_header(get_raw_page('vac_v_idx', 0))"),
	'(c) crash in amvacuumcleanup: a page was recycled');
$node->safe_psql('postgres', 'SELECT txid_current()');
$offset = crash_restart('(c) crash in amvacuumcleanup');
like(finish_psql($vacuum), qr/terminat|connection/,
	'(c) crash in amvacuumcleanup: VACUUM was cut off by the crash');
check_vac('(c) crash in amvacuumcleanup', $offset, 'rejected');

note sprintf("(c) done after %.1f s", time - $t_start);

# (d) a VACUUM canceled between flagging items and telling the graphs ------

# Table canc: 4000 rows; rows 1 .. 600 fill index blocks 1 .. 10 and part
# of block 11.  Their heap slots are remembered in canc_freed.
$node->safe_psql(
	'postgres', qq{
CREATE TABLE canc (id int, v vector($dims));
SELECT setseed(0.8);
INSERT INTO canc @{[ gen_rows($dims, 1, 4000) ]};
CREATE INDEX canc_v_idx ON canc USING hnsw (v vector_l2_ops);
ANALYZE canc;
CREATE TABLE canc_freed AS SELECT ctid AS tid FROM canc WHERE id <= 600;
DELETE FROM canc WHERE id <= 600;
});
check_knn($node, '(d) before VACUUM', 'postgres', 'canc', plan => 'canc_v_idx');
my $passes = cache_entry($node, 'canc_v_idx')->{deletion_passes};
my $lsn11 = page_lsn('canc_v_idx', 11);
$vacuum = start_slow_vacuum('canc');
wait_vacuum_phase('(d) cancel in ambulkdelete', 'canc', 'vacuuming indexes');
ok( $node->poll_query_until(
		'postgres',
		"SELECT lsn <> '$lsn11' FROM page_header(get_raw_page('canc_v_idx', 11))"),
	'(d) cancel in ambulkdelete: the walk flagged the last page of dead rows');
ok( $node->safe_psql(
		'postgres', q{
SELECT pg_cancel_backend(pid) FROM pg_stat_progress_vacuum
WHERE relid = 'canc'::regclass}),
	'(d) VACUUM canceled');
like(finish_psql($vacuum), qr/canceling statement due to user request/,
	'(d) VACUUM was canceled during ambulkdelete');
# what the rest relies on: the cancel came before the walk's end, so the
# graph was not told of the flags
$r = cache_entry($node, 'canc_v_idx');
is($r->{deletion_passes} . ':' . $r->{dead_nodes}, "$passes:0",
	'(d) the canceled VACUUM did not tell the graph (no deletion pass, no dead node)');
# a VACUUM that completes; its heap pass frees the dead rows' slots, and
# new rows (next to the query vectors) take them
$node->safe_psql('postgres', 'VACUUM canc');
$node->safe_psql('postgres',
	'SELECT setseed(0.9); INSERT INTO canc ' . near_rows($dims, 700000, 1, 5));
my $reused = $node->safe_psql('postgres',
	'SELECT count(*) FROM canc WHERE ctid IN (SELECT tid FROM canc_freed)');
cmp_ok($reused, '>', 0, '(d) new rows took heap slots of the deleted rows');
note "(d) $reused new rows in heap slots of deleted rows";
$got = check_knn($node, '(d) after VACUUM and new rows in the freed slots',
	'postgres', 'canc');
is(count_ids_from($got, 700000), 5 * $nqueries,
	'(d) each query finds its 5 new rows');
$r = cache_entry($node, 'canc_v_idx');
cmp_ok($r->{deletion_passes}, '>', $passes,
	'(d) the completed VACUUM made the graph drop the dead rows');
is($r->{nodes} - $r->{dead_nodes},
	$node->safe_psql('postgres', 'SELECT count(*) FROM canc'),
	'(d) the graph\'s undeleted nodes are the live rows');

note sprintf("(d) done after %.1f s", time - $t_start);

# (e) a crash after a snapshot, inserts, deletes and VACUUM -------------------

# Table snap: 4000 rows, its graph saved as a snapshot.  Then, none of it
# in the snapshot: 5 rows next to every query vector (ids 800000 + ...);
# the deletion of rows 1 .. 800 (whole index pages, which the VACUUM
# recycles), of every tenth row and of the near rows k = 1, 2 (which,
# were they still live nodes, would come first in their query's answer);
# a VACUUM, which frees their heap slots; and new rows that take those
# slots (ids 4001 ..) and the recycled pages, and 2 more near rows per
# query (k = 6, 7).  Then a crash.
$node->safe_psql(
	'postgres', qq{
CREATE TABLE snap (id int, v vector($dims));
SELECT setseed(0.85);
INSERT INTO snap @{[ gen_rows($dims, 1, 4000) ]};
CREATE INDEX snap_v_idx ON snap USING hnsw (v vector_l2_ops);
ANALYZE snap;
});
ok(wait_for_snapshot($node, 'snap_v_idx'),
	'(e) the graph of snap_v_idx was saved as a snapshot');
$node->safe_psql('postgres',
	'SELECT setseed(0.15); INSERT INTO snap ' . near_rows($dims, 800000, 1, 5));
$node->safe_psql(
	'postgres', q{
CREATE TABLE snap_freed AS SELECT ctid AS tid FROM snap
  WHERE id <= 800 OR (id <= 4000 AND id % 10 = 0) OR (id >= 800000 AND id % 100 IN (1, 2));
DELETE FROM snap
  WHERE id <= 800 OR (id <= 4000 AND id % 10 = 0) OR (id >= 800000 AND id % 100 IN (1, 2));
});
$node->safe_psql('postgres', 'VACUUM snap');
my $snap_size = $node->safe_psql('postgres', q{SELECT pg_relation_size('snap_v_idx')});
$node->safe_psql('postgres',
	'SELECT setseed(0.35); INSERT INTO snap ' . gen_rows($dims, 4001, 4600));
note "(e) index size before the 600 new rows: $snap_size bytes, after: "
  . $node->safe_psql('postgres', q{SELECT pg_relation_size('snap_v_idx')})
  . ' bytes (the new rows take recycled pages)';
$node->safe_psql('postgres',
	'SELECT setseed(0.45); INSERT INTO snap ' . near_rows($dims, 800000, 6, 2));
$reused = $node->safe_psql('postgres',
	'SELECT count(*) FROM snap WHERE ctid IN (SELECT tid FROM snap_freed)');
cmp_ok($reused, '>', 0, '(e) new rows took heap slots of the deleted rows');
is( $node->safe_psql(
		'postgres',
		q{SELECT snapshot_stale FROM vecpersist_cache WHERE index = 'snap_v_idx'::regclass}),
	't', '(e) the changes are not in the snapshot');
my %snap_deleted = map { $_ => 1 } split /
/, $node->safe_psql('postgres', q{
SELECT i FROM generate_series(1, 4000) i WHERE i <= 800 OR i % 10 = 0
UNION ALL
SELECT 800000 + q * 100 + k FROM generate_series(1, 20) q, generate_series(1, 2) k});
$node->safe_psql('postgres', 'SELECT txid_current()');
$offset = crash_restart('(e) crash after a snapshot, inserts, deletes and VACUUM');

my $snap_live = $node->safe_psql('postgres', 'SELECT count(*) FROM snap');
foreach my $how ('loaded', 'built')
{
	my $label = "(e) after recovery, $how";
	if ($how eq 'built')
	{
		set_snapshots($node, 'off');
		$node->safe_psql('postgres', q{SELECT vecpersist_evict('snap_v_idx')});
		$offset = -s $node->logfile;
	}
	$got = check_knn($node, $label, 'postgres', 'snap', plan => 'snap_v_idx');
	is(scalar(grep { $snap_deleted{$_} } answer_ids($got)),
		0, "$label: no deleted row is returned");
	is(scalar(grep { $_ >= 800000 && ($_ % 100 >= 3) } answer_ids($got)),
		5 * $nqueries, "$label: each query finds its 5 live near rows");
	$r = cache_entry($node, 'snap_v_idx');
	is($r->{origin}, $how, "$label: origin = $how");
	is(count_loads($node, $offset, 'snap_v_idx', 'postgres'),
		$how eq 'loaded' ? 1 : 0, "$label: loads logged");
	is(count_builds($node, $offset, 'snap_v_idx', 'postgres'),
		$how eq 'built' ? 1 : 0, "$label: builds logged");
	is(count_rejected($node, $offset, 'snap_v_idx'), 0,
		"$label: no snapshot was rejected");
	is($r->{nodes} - $r->{dead_nodes}, $snap_live,
		"$label: the graph's undeleted nodes are exactly the live rows");
	note "$label: graph of $r->{nodes} nodes, $r->{dead_nodes} deleted, "
	  . "$snap_live live rows";
	self_lookup_ok($label, 'snap', 'snap_v_idx', 'true');
}
set_snapshots($node, 'on');

note sprintf("(e) done after %.1f s", time - $t_start);

# The log ---------------------------------------------------------------------
my $log = slurp_file($node->logfile);
my @bad = ($log =~ /^.*(?:PANIC|TRAP:|terminated by signal|was terminated).*$/mg);
is(scalar @bad, 0, 'the server log has no PANIC, failed assertion or killed process')
  or diag join("\n", @bad);
is(scalar(() = $log =~ /received immediate shutdown request/g),
	7, 'the log shows the seven crashes caused here as immediate shutdowns');

done_testing();
