
# Copyright (c) vecpersist developers
#
# A hot standby streaming from a primary, both with vecpersist preloaded.
# The standby's graph is built from replayed pages and kept up to date
# from them: it must give the answers an exact scan on the standby gives.
#
#  (a) Step by step on the primary (CREATE INDEX after the base backup,
#      INSERT, DELETE, VACUUM, REINDEX), each replayed before the standby
#      is checked: hnsw answers equal the exact ones at ef_search = 400,
#      recall@10 >= 0.95 at the default ef_search, no deleted row.  Plain
#      inserts are absorbed into the standby's graph without a rebuild
#      (vecpersist_cache: builds unchanged, absorbed and nodes grow);
#      VACUUM is applied by a deletion pass; REINDEX (new storage) makes
#      one rebuild.
#  (b) A session on the standby runs queries in a loop, each comparing
#      the hnsw answers with an exact scan in the same snapshot, while the
#      primary deletes, vacuums (page recycling) and inserts, round after
#      round: no query may fail or differ.
#  (c) A chain walk on the standby that pauses between two pages while
#      replay recycles the next one.  No lock keeps a standby's walker and
#      the startup process's replay of VACUUM apart.  A catch-up
#      reads 1024 items, inserts them into the graph (slowly here:
#      ef_construction = 1000), then follows the copy of the page it
#      stopped on; meanwhile replay is resumed and recycles the pages
#      after it, and new rows take them.  The standby must still answer
#      like an exact scan and find every row.
#  (d) The standby is promoted and written to (INSERT, DELETE, VACUUM): its
#      graph goes on without a rebuild and answers exactly.
#  (e) (run before (d)) Vectors of 2500 dimensions, each spanning two
#      pages: the standby finds every row and the exact neighbours, also
#      after a DELETE and VACUUM that recycle heads and continuation pages
#      and inserts that take them back.
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
use Time::HiRes qw(time usleep);
use VpCacheTest;

my $dims     = 32;
my $nrows    = 3000;
my $nqueries = 20;
my $t_start  = time;

my $primary = start_node('primary', preload => 1,
	init => { allows_streaming => 1 });
create_tables($primary, 'postgres', $dims, $nqueries, 0.5, $nrows);

# knn_pair(table): the hnsw answer (ef_search = 400) and the exact answer,
# as knn_select() formats them, computed in one transaction (callers use
# REPEATABLE READ, so both see the same rows).
$primary->safe_psql(
	'postgres', qq{
CREATE FUNCTION knn_pair(tbl text, OUT got text, OUT want text)
LANGUAGE plpgsql AS \$\$
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('vecpersist.ef_search', '400', true);
	EXECUTE replace(\$q\$@{[ knn_select('TBL', 0) ]}\$q\$, 'TBL', tbl) INTO got;
	PERFORM set_config('enable_seqscan', 'on', true);
	PERFORM set_config('enable_indexscan', 'off', true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	EXECUTE replace(\$q\$@{[ knn_select('TBL', 1) ]}\$q\$, 'TBL', tbl) INTO want;
	PERFORM set_config('enable_indexscan', 'on', true);
	PERFORM set_config('enable_bitmapscan', 'on', true);
	PERFORM set_config('vecpersist.ef_search', '40', true);
END
\$\$;
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'the standby is in recovery');

# recall@10 of the hnsw answers of $table on $node at the default
# ef_search, against the exact answers.
sub recall_at_default
{
	my ($node, $table) = @_;
	my $exact = $node->safe_psql('postgres', exact_sql($table));
	my $got = $node->safe_psql('postgres',
		'BEGIN; SET LOCAL enable_seqscan = off; ' . knn_select($table, 0) . '; COMMIT;');
	my %want;
	foreach my $line (split /\n/, $exact)
	{
		my ($q, $ids) = split /:/, $line;
		$want{$q} = { map { $_ => 1 } split /,/, ($ids // '') };
	}
	my ($hit, $total) = (0, 0);
	foreach my $line (split /\n/, $got)
	{
		my ($q, $ids) = split /:/, $line;
		$hit += scalar grep { $want{$q}{$_} } split /,/, ($ids // '');
	}
	$total += scalar keys %{ $want{$_} } foreach keys %want;
	return $total ? $hit / $total : 0;
}

# The checks on the standby after a step on the primary was replayed.
sub check_standby
{
	my ($label, $table, $index) = @_;
	$primary->wait_for_catchup($standby);
	my $got = check_knn($standby, "$label: standby", 'postgres', $table,
		plan => $index);
	my %present = map { $_ => 1 } split /\n/,
	  $standby->safe_psql('postgres', "SELECT id FROM $table");
	is(scalar(grep { !$present{$_} } answer_ids($got)),
		0, "$label: standby returns no deleted row");
	my $recall = recall_at_default($standby, $table);
	cmp_ok($recall, '>=', 0.95, "$label: standby recall\@10 at default ef_search >= 0.95");
	note sprintf("%s: standby recall\@10 at default ef_search = %.3f", $label, $recall);
	return $got;
}

# (a) step by step -------------------------------------------------------------

$primary->safe_psql('postgres',
	'CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops)');
check_standby('(a) CREATE INDEX', 'items', 'items_v_idx');
my $r = cache_entry($standby, 'items_v_idx');
is($r->{builds}, 1, '(a) CREATE INDEX: the standby built its graph once');
is($r->{nodes},  $nrows, "(a) CREATE INDEX: the standby's graph has $nrows nodes");

# INSERT: absorbed from replayed pages, no rebuild
$primary->safe_psql('postgres',
	    'SELECT setseed(0.125); INSERT INTO items '
	  . near_rows($dims, 500000, 1, 5)
	  . '; SELECT setseed(0.25); INSERT INTO items '
	  . gen_rows($dims, 3001, 3500));
my $got = check_standby('(a) INSERT', 'items', 'items_v_idx');
is(count_ids_from($got, 500000), 5 * $nqueries,
	'(a) INSERT: the standby finds the 5 rows inserted next to each query');
my $r2 = cache_entry($standby, 'items_v_idx');
is($r2->{builds}, $r->{builds}, '(a) INSERT: no rebuild on the standby');
is($r2->{absorbed} - $r->{absorbed}, 5 * $nqueries + 500,
	'(a) INSERT: the standby absorbed the 600 replayed rows');
is($r2->{nodes}, $nrows + 600, '(a) INSERT: the standby\'s graph grew by 600 nodes');
$r = $r2;

# DELETE: invisible rows are skipped by the heap, no graph change needed
$primary->safe_psql('postgres',
	'DELETE FROM items WHERE id % 7 = 0 OR (id >= 500000 AND id % 100 = 2)');
$got = check_standby('(a) DELETE', 'items', 'items_v_idx');
is(count_ids_from($got, 500000),
	$standby->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id >= 500000'),
	'(a) DELETE: the standby finds the remaining near rows');
$r2 = cache_entry($standby, 'items_v_idx');
is($r2->{builds}, $r->{builds}, '(a) DELETE: no rebuild on the standby');
$r = $r2;

# VACUUM: flags and page recycling replayed, a deletion pass on the standby
$primary->safe_psql('postgres', 'DELETE FROM items WHERE id BETWEEN 1 AND 600; VACUUM items');
check_standby('(a) VACUUM', 'items', 'items_v_idx');
$r2 = cache_entry($standby, 'items_v_idx');
is($r2->{builds}, $r->{builds}, '(a) VACUUM: no rebuild on the standby');
cmp_ok($r2->{deletion_passes}, '>', $r->{deletion_passes},
	'(a) VACUUM: the standby applied it with a deletion pass');
is($r2->{nodes} - $r2->{dead_nodes},
	$standby->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'(a) VACUUM: the standby\'s undeleted nodes are the live rows');
$r = $r2;

# INSERT after VACUUM: appends take recycled pages
$primary->safe_psql('postgres',
	'SELECT setseed(0.375); INSERT INTO items ' . gen_rows($dims, 3501, 4000));
check_standby('(a) INSERT into recycled pages', 'items', 'items_v_idx');
$r2 = cache_entry($standby, 'items_v_idx');
is($r2->{builds}, $r->{builds}, '(a) INSERT into recycled pages: no rebuild on the standby');
is($r2->{absorbed} - $r->{absorbed}, 500,
	'(a) INSERT into recycled pages: the standby absorbed the 500 rows');
$r = $r2;

# REINDEX: new storage, so one rebuild on the standby
$primary->safe_psql('postgres', 'REINDEX INDEX items_v_idx');
check_standby('(a) REINDEX', 'items', 'items_v_idx');
$r2 = cache_entry($standby, 'items_v_idx');
is($r2->{builds}, $r->{builds} + 1, '(a) REINDEX: the standby rebuilt its graph once');
is($r2->{nodes}, $standby->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'(a) REINDEX: the rebuilt graph holds the live rows');
$r = $r2;

note sprintf("(a) done after %.1f s", time - $t_start);

# (b) queries on the standby in a loop while the primary deletes and vacuums

# Six rounds on the primary, each: delete 200 rows in a row (whole pages,
# to be recycled) and some scattered ones, VACUUM, insert 200 new rows.
my @rounds;
foreach my $round (1 .. 6)
{
	my $lo = 600 + 300 * $round;
	my $new = 10000 + 200 * $round;
	push @rounds,
	  "DELETE FROM items WHERE id BETWEEN $lo AND $lo + 199 OR id % 50 = $round",
	  'VACUUM items',
	  "SELECT setseed(0.$round); INSERT INTO items "
	  . gen_rows($dims, $new + 1, $new + 200),
	  'SELECT pg_sleep(0.2)';
}
my $loop = $standby->background_psql('postgres', on_error_stop => 0);
my ($writer_out, $writer_err) = ('', '');
my $writer = IPC::Run::start(
	[
		$primary->installed_command('psql'), '-XAtq',
		'-v', 'ON_ERROR_STOP=1',
		'-d', $primary->connstr('postgres'),
		map { ('-c', $_) } @rounds
	],
	'<', \undef, '>', \$writer_out, '2>', \$writer_err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
my ($iterations, $differ, @errors) = (0, 0);
my $loop_sql = q{BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT got = want FROM knn_pair('items');
COMMIT;};
my $t_loop = time;
my $running = 1;
while ($running)
{
	$writer->pump_nb;
	$running = $writer->pumpable;
	my ($out, $failed) = $loop->query($loop_sql);
	$iterations++;
	if ($failed)
	{
		push @errors, $loop->{stderr};
		$loop->{stderr} = '';
	}
	elsif ($out ne 't')
	{
		$differ++;
	}
}
$writer->finish;
is($writer_err, '', '(b) the primary\'s rounds of DELETE, VACUUM and INSERT succeeded');
$primary->wait_for_catchup($standby);
my ($out_last) = $loop->query($loop_sql);
is($out_last, 't', '(b) after the last round the standby still answers exactly');
$loop->quit;
note sprintf("(b) %d standby queries in %.1f s while the primary ran 6 rounds",
	$iterations, time - $t_loop);
cmp_ok($iterations, '>=', 6, '(b) the standby ran queries during the rounds');
is($differ, 0, '(b) no standby query differed from the exact scan in its snapshot');
is(scalar @errors, 0, '(b) no standby query failed') or diag join("\n", @errors);
check_standby('(b) after the rounds', 'items', 'items_v_idx');
$r2 = cache_entry($standby, 'items_v_idx');
note "(b) standby graph: $r2->{nodes} nodes, $r2->{dead_nodes} deleted, "
  . "builds $r2->{builds}, deletion passes $r2->{deletion_passes}";

note sprintf("(b) done after %.1f s", time - $t_start);

# (c) a standby's chain walk paused between two pages while replay recycles
# the next one, or the one it is on -------------------------------------------

# One race on table $table: 500 rows, an index whose graph inserts are
# slow (ef_construction = 1000), about 55 items per index page.  The
# primary's graph is evicted so that its inserts do not absorb (and stay
# fast).  Then 2000 new rows (ids 1001 .. 3000, one after the other in the
# chain): the standby's next catch-up reads the first 1024 (ids 1001 ..
# 2024), stops on the page holding id 2024 and inserts them into its
# graph.  Rows $del_lo .. 2300 are deleted first: from 2025 on, the pages
# after the one it stops on hold only dead items; from 1901 on, that page
# too.
sub race
{
	my ($label, $table, $del_lo) = @_;
	my $index = "${table}_v_idx";
	$primary->safe_psql(
		'postgres', qq{
@{[ table_sql($dims, $table, 0.6, 500) ]}
CREATE INDEX $index ON $table USING hnsw (v vector_l2_ops)
  WITH (m = 48, ef_construction = 1000);
ANALYZE $table;
});
	check_standby("$label, before", $table, $index);
	$primary->safe_psql('postgres', "SELECT vecpersist_evict('$index')");
	$primary->safe_psql('postgres',
		    "SELECT setseed(0.7); INSERT INTO $table "
		  . gen_rows($dims, 1001, 3000)
		  . "; DELETE FROM $table WHERE id BETWEEN $del_lo AND 2300");
	$primary->wait_for_catchup($standby);
	my $before = cache_entry($standby, $index);

	# Replay stops; the primary vacuums (recycling those pages) and inserts
	# 400 rows (5 next to each query vector, ids 500000 + ..., and 300
	# more), which take the recycled pages back from the free list and link
	# them at the chain's end.
	$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
	ok( $standby->poll_query_until(
			'postgres', q{SELECT pg_get_wal_replay_pause_state() = 'paused'}),
		"$label: replay is paused on the standby");
	$primary->safe_psql('postgres', "VACUUM $table");
	$primary->safe_psql('postgres',
		    "SELECT setseed(0.8); INSERT INTO $table "
		  . near_rows($dims, 500000, 1, 5)
		  . "; INSERT INTO $table "
		  . gen_rows($dims, 4001, 4300));

	# A query on the standby starts the catch-up; once it is inserting the
	# first 1024 items into the graph (absorbed grows), replay resumes.
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			$standby->installed_command('psql'), '-XAtq',
			'-d', $standby->connstr('postgres'),
			'-c', knn_sql($table)
		],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	my $t0 = time;
	my $absorbing = 0;
	my $absorbed_sql = "SELECT absorbed - $before->{absorbed} FROM vecpersist_cache "
	  . "WHERE indexrelid = '$index'::regclass";
	while (time - $t0 < $PostgreSQL::Test::Utils::timeout_default)
	{
		$absorbing = $standby->safe_psql('postgres', $absorbed_sql);
		last if $absorbing > 0;
		usleep(10_000);
	}
	ok($absorbing > 0, "$label: the standby's catch-up is inserting the items it read");
	$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
	note sprintf("%s: replay resumed %.0f ms after the query started, "
		  . "%d items absorbed by then", $label, 1000 * (time - $t0), $absorbing);

	# Whether replay got past the recycling while the catch-up was still on
	# its first 1024 items, as intended, depends on timing, so it is only
	# reported (here the catch-up takes over a second, replay about 0.1 s).
	$primary->wait_for_catchup($standby);
	$h->pump_nb;
	my $at = $standby->safe_psql('postgres', $absorbed_sql);
	note(($h->pumpable && $at < 1024)
		? "$label: the race happened: replay caught up with $at items absorbed"
		: "$label: the race was missed: replay caught up with $at items absorbed");
	$h->finish;
	note sprintf("%s: the racing query took %.0f ms", $label, 1000 * (time - $t0));
	is($err, '', "$label: the racing query raised no error");

	my $after = cache_entry($standby, $index);
	note "$label: standby graph after the race: $after->{nodes} nodes, "
	  . "$after->{dead_nodes} deleted, absorbed $after->{absorbed}, builds $after->{builds}";
	my $got = check_standby("$label, after", $table, $index);
	is(count_ids_from($got, 500000), 5 * $nqueries,
		"$label: the standby finds the 5 rows inserted next to each query");
	my $missing = $standby->safe_psql(
		'postgres', qq{
BEGIN; $index_settings
SELECT count(*) FROM $table s
WHERE (SELECT t.id FROM $table t ORDER BY t.v <-> s.v LIMIT 1) IS DISTINCT FROM s.id;
COMMIT;});
	is($missing, 0, "$label: every row is found first for its own vector on the standby");
	return;
}

race('(c) next pages recycled', 'race1', 2025);
race('(c) current page recycled', 'race2', 1901);

note sprintf("(c) done after %.1f s", time - $t_start);

# (e) vectors that span pages (2500 dimensions: two pages each) --------------

# 300 rows; every row must be found first for its own vector on the
# standby, and the 5 nearest rows of 10 of them must be the exact ones;
# after a deletion of whole runs of rows (their head and continuation
# pages recycled) and new rows (taking those pages back).
sub check_wide
{
	my ($label) = @_;
	$primary->wait_for_catchup($standby);
	my $sql = q{
SELECT count(*) FILTER (WHERE (SELECT t.id FROM wide t ORDER BY t.v <-> s.v LIMIT 1)
                              IS DISTINCT FROM s.id),
       string_agg((SELECT string_agg(t.id::text, ',' ORDER BY t.v <-> s.v, t.id)
                   FROM (SELECT id, v FROM wide t ORDER BY t.v <-> s.v LIMIT 5) t),
                  ' ' ORDER BY s.id) FILTER (WHERE s.id % 30 = 1)
FROM wide s};
	like($standby->safe_psql('postgres', "BEGIN; $index_settings EXPLAIN (COSTS OFF) $sql; COMMIT;"),
		qr/Index Scan using wide_v_idx on wide t/, "$label: the statement scans wide_v_idx");
	# psql, not safe_psql: an error here fails these checks, and the test
	# goes on to (d)
	my ($ret, $out, $err) =
	  $standby->psql('postgres', "BEGIN; $index_settings $sql; COMMIT;");
	is($ret, 0, "$label: the hnsw query succeeds on the standby");
	diag "$label: $err" if $ret;
	my ($missed, $got) = split /\|/, $out;
	my (undef, $want) = split /\|/,
	  $standby->safe_psql('postgres', "BEGIN; $exact_settings $sql; COMMIT;");
	is($missed, 0, "$label: every row is found first for its own vector on the standby");
	is($got, $want, "$label: the standby's 5 nearest rows of sampled rows are the exact ones");
	return;
}
$primary->safe_psql(
	'postgres', q{
CREATE TABLE wide (id int PRIMARY KEY, v vector(2500));
INSERT INTO wide
  SELECT i, (SELECT array_agg(sin(i * 0.37 + d * 0.011 * (i % 7 + 1))::real ORDER BY d)
             FROM generate_series(1, 2500) d)::vector(2500)
  FROM generate_series(1, 300) i;
CREATE INDEX wide_v_idx ON wide USING hnsw (v vector_l2_ops);
});
check_wide('(e) wide vectors');
$primary->safe_psql(
	'postgres', q{
DELETE FROM wide WHERE id BETWEEN 51 AND 120 OR id % 9 = 0;
VACUUM wide;
INSERT INTO wide
  SELECT i, (SELECT array_agg(cos(i * 0.29 + d * 0.013 * (i % 5 + 1))::real ORDER BY d)
             FROM generate_series(1, 2500) d)::vector(2500)
  FROM generate_series(1001, 1060) i;
});
check_wide('(e) wide vectors after DELETE, VACUUM and INSERT');
$r = cache_entry($standby, 'wide_v_idx');
is($r->{nodes} - $r->{dead_nodes},
	$standby->safe_psql('postgres', 'SELECT count(*) FROM wide'),
	'(e) the standby\'s undeleted nodes are the live rows');
note sprintf("(e) done after %.1f s", time - $t_start);

# (d) promotion, then writes on the promoted standby ---------------------------

$standby->promote;
ok( $standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'),
	'(d) the standby was promoted');
$r = cache_entry($standby, 'items_v_idx');
$standby->safe_psql('postgres',
	'SELECT setseed(0.95); INSERT INTO items ' . near_rows($dims, 800000, 1, 3));
$got = check_knn($standby, '(d) INSERT after promotion', 'postgres', 'items',
	plan => 'items_v_idx');
is(count_ids_from($got, 800000), 3 * $nqueries,
	'(d) INSERT after promotion: the new rows are found');
$r2 = cache_entry($standby, 'items_v_idx');
is($r2->{builds}, $r->{builds}, '(d) INSERT after promotion: no rebuild');
is($r2->{absorbed} - $r->{absorbed}, 3 * $nqueries,
	'(d) INSERT after promotion: the graph absorbed the new rows');
$standby->safe_psql('postgres',
	'DELETE FROM items WHERE id % 10 = 5 OR id >= 800000 AND id % 100 = 1; VACUUM items');
$got = check_knn($standby, '(d) DELETE and VACUUM after promotion', 'postgres', 'items');
is(count_ids_from($got, 800000), 2 * $nqueries,
	'(d) DELETE and VACUUM after promotion: only the new rows not deleted are found');
$r = cache_entry($standby, 'items_v_idx');
is($r->{builds}, $r2->{builds}, '(d) DELETE and VACUUM after promotion: no rebuild');
cmp_ok($r->{deletion_passes}, '>', $r2->{deletion_passes},
	'(d) DELETE and VACUUM after promotion: a deletion pass');
is($r->{nodes} - $r->{dead_nodes},
	$standby->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'(d) after promotion: the undeleted nodes are the live rows');

no_crash_ok($primary, 'primary: ');
no_crash_ok($standby, 'standby: ');
foreach my $node ($primary, $standby)
{
	ok(!$node->log_contains(qr/PANIC|TRAP:|terminated by signal/),
		$node->name . ': no PANIC, failed assertion or killed process in the log');
}

note sprintf("(d) done after %.1f s", time - $t_start);

done_testing();
