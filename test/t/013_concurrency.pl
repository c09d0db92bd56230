
# Copyright (c) vecpersist developers
#
# Concurrency under load.  pgbench runs four clients for 15 seconds over a
# table with an hnsw index, each transaction one of: insert a new row,
# update a row's vector, delete a row, or a k-NN query (weights 3:3:1:5),
# at a fixed rate of 800 transactions per second in all (so that the table,
# 3000 rows to start with, ends up about twice as large on any machine),
# while autovacuum runs as often as it can (naptime 1 s, thresholds of 50
# rows, no cost delay), so VACUUM flags index items, recycles index pages
# and frees heap slots that new rows reuse while graphs are searched and
# extended.
#
# Then: pgbench reports no failed transaction and nothing on stderr (at
# READ COMMITTED these single-row statements have no serialization
# failures or deadlocks to expect); autovacuum did vacuum the table during
# the load; the postmaster never restarted and the log has no crash,
# assertion failure or PANIC; and the index agrees with the table, in a
# new session on the shared graph that followed the load, again after the
# graph is evicted and comes back (loaded from the snapshot the writer
# saved after CREATE INDEX and caught up with the whole load, or, if by
# then most of its nodes are dead, rejected and built: exactly one build
# or load either way, which depends on the random workload), again after
# it is evicted with vecpersist.snapshots = off and built from the pages
# (one build), and after a VACUUM:
#
#  - recall@10 at the default ef_search (40) is at least 0.95 against an
#    exact scan, over 50 query vectors;
#  - at ef_search = 400 the answers equal the exact ones (the clusters are
#    smaller than ef_search), their distances, computed from the rows
#    returned, never decrease, and no id comes twice: a stale graph node
#    (a deleted row, or the old version of an updated one, whose heap slot
#    a new row took) would show up as a row out of order or as a duplicate;
#  - a scan through the whole graph (relaxed order, no tuple limit) returns
#    no id twice and nearly every row.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use File::Basename qw(dirname);
use lib dirname(__FILE__);
use VpCacheTest;

my $dims = 16;
my $seconds = 15;
my $rate = 800;

my $node = PostgreSQL::Test::Cluster->new('load');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'vecpersist'
jit = off
autovacuum = on
autovacuum_naptime = 1
autovacuum_vacuum_threshold = 50
autovacuum_vacuum_scale_factor = 0
autovacuum_vacuum_insert_threshold = 50
autovacuum_vacuum_insert_scale_factor = 0
autovacuum_analyze_threshold = 50
autovacuum_analyze_scale_factor = 0
autovacuum_vacuum_cost_delay = 0
log_autovacuum_min_duration = 0
});
$node->start;
my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

$node->safe_psql('postgres',
	create_tables_sql($dims, 50, 0.5, 3000) . qq{
CREATE SEQUENCE item_ids START 3001;
CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops);
});
ok(wait_for_snapshot($node, 'items_v_idx'),
	'the graph of items_v_idx was saved as a snapshot before the load');

# A vector near centre :c, as gen_rows() makes them.
my $near_centre = qq{(SELECT array_agg((2 * (h - floor(h)) - 1
                         + 0.3 * (random() + random() + random() - 1.5))::real ORDER BY d)
       FROM generate_series(1, $dims) d,
            LATERAL (SELECT sin(:c * 12.9898 + d * 78.233) * 43758.5453) x(h))::vector($dims)};

my %scripts = (
	'vp_insert@3' => qq{\\set c random(0, 49)
INSERT INTO items VALUES (nextval('item_ids'), $near_centre);
},
	'vp_update@3' => qq{\\set c random(0, 49)
\\set id random(1, 6000)
UPDATE items SET v = $near_centre WHERE id = :id;
},
	'vp_delete@1' => q{\set id random(1, 6000)
DELETE FROM items WHERE id = :id;
},
	'vp_knn@5' => qq{\\set c random(0, 49)
SELECT id FROM items ORDER BY v <-> $near_centre LIMIT 10;
},);

my $offset = -s $node->logfile;
my @cmd = ('pgbench', '--no-vacuum', '--client=4', '--jobs=2', "--time=$seconds",
	"--rate=$rate", '--progress=5', '-h', $node->host, '-p', $node->port);
foreach my $name (sort keys %scripts)
{
	my $file = $node->basedir . "/$name";
	$file =~ s/\@\d+$//;
	append_to_file($file, $scripts{$name});
	push @cmd, '-f', $node->basedir . "/$name";
}
push @cmd, 'postgres';

my $t0 = time;
my ($stdout, $stderr) = run_command(\@cmd);
note sprintf('pgbench ran for %.1f s', time - $t0);
note $stdout;
my ($processed) = $stdout =~ /number of transactions actually processed: (\d+)/;
my ($failed) = $stdout =~ /number of failed transactions: (\d+)/;
cmp_ok($processed // 0, '>', 0, 'pgbench processed transactions');
is($failed, '0', 'pgbench: no failed transaction');
# progress reports go to stderr: anything else there is an error
my @complaints = grep { !/^progress: / } split /\n/, $stderr;
is(join("\n", @complaints), '', 'pgbench: nothing but progress reports on stderr');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
	$start_time, 'the postmaster was never restarted');

my $log = slurp_file($node->logfile, $offset);
my $vacuums = () = $log =~ /automatic vacuum of table "postgres\.public\.items"/g;
note "autovacuum vacuumed items $vacuums times during the load";
cmp_ok($vacuums, '>=', 1, 'autovacuum vacuumed the table during the load');
unlike($log, qr/terminated by signal|was terminated|TRAP:|PANIC/,
	'the log has no crash, assertion failure or PANIC');
unlike($log, qr/ERROR:/, 'the log has no error');

# Autovacuum may still be running: let it finish, so that the checks below
# see one state of the table.
$node->safe_psql('postgres', 'ALTER TABLE items SET (autovacuum_enabled = off)');
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'})
  or die 'autovacuum did not finish';

note 'rows now: '
  . $node->safe_psql('postgres',
	q{SELECT count(*) || ' live, ids up to ' || max(id) FROM items});
note 'graph: '
  . $node->safe_psql('postgres',
	q{SELECT 'nodes ' || nodes || ', dead ' || dead_nodes || ', builds ' || builds
	         || ', absorbed ' || absorbed || ', deletion passes ' || deletion_passes
	  FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass});

# Recall@10 of the index at the default ef_search, over every query vector.
my $recall_sql = q{
BEGIN;
SET LOCAL enable_seqscan = off;
CREATE TEMP TABLE got ON COMMIT DROP AS
  SELECT q.qid, ARRAY(SELECT i.id FROM items i ORDER BY i.v <-> q.v LIMIT 10) ids FROM queries q;
SET LOCAL enable_seqscan = on;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT round(avg((SELECT count(*) FROM unnest(g.ids) x
                  WHERE x = ANY (ARRAY(SELECT i.id FROM items i ORDER BY i.v <-> q.v, i.id LIMIT 10))))
             / 10, 4)
FROM got g JOIN queries q USING (qid);
COMMIT;
};

# Top 10 at ef_search = 400 with the distances of the rows returned:
# returns the number of queries whose distances decrease somewhere and the
# number with a repeated id.
my $order_sql = qq{
BEGIN;
$index_settings
CREATE TEMP TABLE hits ON COMMIT DROP AS
  SELECT q.qid, h.ord, h.id, h.dist
  FROM queries q,
       LATERAL (SELECT row_number() OVER () ord, s.id, s.dist
                FROM (SELECT i.id, i.v <-> q.v AS dist FROM items i ORDER BY i.v <-> q.v LIMIT 10) s) h;
SELECT (SELECT count(DISTINCT a.qid) FROM hits a JOIN hits b ON a.qid = b.qid AND b.ord = a.ord + 1
        WHERE b.dist < a.dist)
       || '/' ||
       (SELECT count(*) FROM (SELECT qid, id FROM hits GROUP BY qid, id HAVING count(*) > 1) d);
COMMIT;
};

# A scan through the whole graph: rows returned, distinct ids, live rows.
my $full_sql = q{
BEGIN;
SET LOCAL enable_seqscan = off;
SET LOCAL vecpersist.ef_search = 1000;
SET LOCAL vecpersist.iterative_scan = relaxed_order;
SET LOCAL vecpersist.max_scan_tuples = 2147483647;
SELECT count(*) || '/' || count(DISTINCT id) || '/' || (SELECT count(*) FROM items)
FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM queries WHERE qid = 1) LIMIT 1000000) s;
COMMIT;
};

sub check_index
{
	my ($label) = @_;
	my $recall = $node->safe_psql('postgres', $recall_sql);
	note "$label: recall\@10 at ef_search 40: $recall";
	cmp_ok($recall, '>=', 0.95, "$label: recall\@10 at the default ef_search is at least 0.95");
	check_knn($node, "$label, ef_search 400", 'postgres', 'items', plan => 'items_v_idx');
	is($node->safe_psql('postgres', $order_sql), '0/0',
		"$label: distances of the rows returned never decrease, no id comes twice");
	my ($rows, $distinct, $live) = split m{/}, $node->safe_psql('postgres', $full_sql);
	note "$label: a whole-graph scan returned $rows rows ($distinct distinct) of $live";
	is($rows, $distinct, "$label: a whole-graph scan returns no id twice");
	cmp_ok($rows, '>=', 0.98 * $live, "$label: a whole-graph scan reaches nearly every row");
	return;
}

check_index('shared graph after the load');

# Evicted, the graph comes back from its snapshot (or, rejected, from the
# pages): once.
$offset = -s $node->logfile;
$node->safe_psql('postgres', q{SELECT vecpersist_evict('items_v_idx')});
check_index('graph back after eviction');
my $how = $node->safe_psql('postgres',
	q{SELECT origin FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass});
note "graph back after eviction: $how, "
  . count_rejected($node, $offset, 'items_v_idx') . ' snapshot(s) rejected';
is(count_builds_or_loads($node, $offset, 'items_v_idx', 'postgres'),
	1, 'graph back after eviction: one build or load logged');
is(count_loads($node, $offset, 'items_v_idx', 'postgres'),
	$how eq 'loaded' ? 1 : 0, "graph back after eviction: origin $how agrees with the log");

# Without snapshots the graph is built from the pages.
set_snapshots($node, 'off');
$offset = -s $node->logfile;
$node->safe_psql('postgres', q{SELECT vecpersist_evict('items_v_idx')});
check_index('graph rebuilt from the pages');
is($node->safe_psql('postgres',
		q{SELECT origin FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass}),
	'built', 'graph rebuilt from the pages: origin = built');
is(count_builds($node, $offset, 'items_v_idx', 'postgres'),
	1, 'graph rebuilt from the pages: one build logged');
set_snapshots($node, 'on');

# And once more after a plain VACUUM of everything the load left behind.
$node->safe_psql('postgres', 'VACUUM items');
check_index('after VACUUM');

is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
	$start_time, 'the postmaster was never restarted');
no_crash_ok($node);
$node->stop;

done_testing();
