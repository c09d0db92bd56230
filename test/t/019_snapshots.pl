
# Copyright (c) vecpersist developers
#
# Graph snapshots (issue 13): the snapshot writer saves every graph to
# $PGDATA/pg_vecpersist/<db>_<tablespace>_<relfilenode>.snap, and the first
# use of an index after a restart loads its snapshot instead of building
# the graph (src/vpsnapshot.c, vpcache.c LoadSnapshot).
#
#  (1) Clean restart: the snapshot of a fresh index is written (the view's
#      snapshot_at), its file has the view's snapshot_bytes; after pg_ctl
#      restart the first query loads it (LOG "loaded hnsw graph ...", no
#      "built" line, origin = 'loaded') and answers exactly.
#  (2) Crash: a snapshot, then inserts, deletes, VACUUM and more inserts
#      (into the freed heap slots), then an immediate stop.  For churn,
#      whose graph is not cached meanwhile, the snapshot on disk is
#      certainly the older one (its file is checked unchanged); for items,
#      whose graph is cached, the writer may or may not save again before
#      the crash (reported).  The first query loads the snapshot and
#      catches up: exact answers, the rows inserted after the snapshot are
#      found, no deleted row is returned (every id of a top-100 is a row of
#      the table, in distance order, no id twice), and the live nodes
#      (nodes - dead_nodes) equal count(*) of the table: VACUUM flagged
#      every deleted row's item (or recycled its page), the load marks the
#      nodes of flagged items deleted and those of recycled items gone
#      (both counted in dead_nodes), and stages only the live items
#      appended after the snapshot's watermark, so every live node is a
#      live row and every row has a node.
#  (3) Rejections: each logs `snapshot of hnsw index "X" not used: <reason>`
#      with its DETAIL, then the graph is built (one "built" line, no
#      "loaded" one), the answers are exact, and a new snapshot replaces
#      the bad file (a final load proves it good).  Covered reasons:
#        - "its checksum does not match its contents": a byte of the image
#          flipped;
#        - "its length does not match its header": the file cut to half;
#        - "it is truncated": the file cut inside its header;
#        - "it is not a vecpersist snapshot": the magic overwritten;
#        - "it has another format version": the version overwritten;
#        - "it belongs to another relation": another index's file copied
#          over this one's name;
#        - "it was taken of a graph with other parameters": ALTER INDEX ...
#          SET (quantization = none) keeps the relfilenode and build;
#        - "most of its nodes are dead": 70% of the rows deleted and
#          vacuumed while the graph was not cached;
#        - "it was taken of an earlier build of the index": an UNLOGGED
#          table's index after a crash is reset from its init fork (same
#          relfilenode, the init fork's build_id), part of (2);
#        - "it is ahead of the index": the primary's newer snapshot copied
#          onto a standby whose replay is paused, part of (5).
#      Not covered (no real way there without forging a checksum): "a node
#      does not match its item in the index", "a live item absorbed before
#      the snapshot has no node", "a node's code could not be set" and the
#      image checks of VpGraphImageRestore.
#  (4) DROP INDEX and DROP TABLE remove the index's file at once (the drop
#      hook, in the dropping backend); DROP DATABASE, REINDEX and TRUNCATE
#      leave a file whose relation file is gone or empty, which the writer
#      removes at its start or at its periodic cleanup (every
#      max(snapshot_interval, 60 s): polled, not timed).  REINDEX and
#      TRUNCATE give the index a new relfilenode whose file appears after
#      the rebuild.
#  (5) Standby: pg_basebackup carries the snapshot files; the standby's
#      first query loads the primary's snapshot and catches up with rows
#      the primary inserted after the backup; the standby saves its own
#      snapshots; the "ahead" rejection (above); after promotion the
#      answers stay exact and new rows are found.
#  (6) No query waits for a full build (vecpersist.snapshots = off, a
#      20000 x 64 table): while session A's first query builds the graph,
#      session B with vecpersist.build_wait = 0 gets the exact answer and,
#      when it ran entirely inside A's build (B saw the slot 'building'
#      before it started and finished before the view's built_at), the
#      NOTICE "... is being built by another session; answering from an
#      exact scan of the index" and the fallbacks counter goes up.  Timing
#      decides only which assertions apply, never whether the test passes;
#      the overlaps are reported.  A session with build_wait = -1 gets no
#      NOTICE and no fallback: it waits and uses the graph.
#  (7) vecpersist.snapshots = off: after a restart the first query builds
#      (no load, though a good snapshot is there), and no snapshot file is
#      written (the directory is the same after the builds and a clean
#      stop, which saves nothing).
#
# "Exact answer" (check_knn in VpCacheTest.pm): the top 10 ids of each of
# the 20 query vectors through the hnsw index with vecpersist.ef_search =
# 400 equal, in order, the top 10 by a sequential scan.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use Digest::MD5;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use VpCacheTest;

my $dims     = 32;
my $nrows    = 3000;
my $nqueries = 20;
my $t_start  = time;

# snapshot_interval = 1 s: changed graphs are saved at every tick of the
# writer (10 s) rather than every 5 minutes
my $node = start_node(
	'primary',
	preload => 1,
	init    => { allows_streaming => 1 },
	conf    => "vecpersist.snapshot_interval = 1\n");

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# The path of the snapshot file of $index (in database $db) on $n, for the
# index's current relfilenode.
sub snap_file
{
	my ($n, $db, $index) = @_;
	my $name = $n->safe_psql(
		$db, qq{
SELECT d.oid || '_'
       || CASE WHEN c.reltablespace = 0 THEN d.dattablespace ELSE c.reltablespace END
       || '_' || pg_relation_filenode(c.oid)
FROM pg_class c, pg_database d
WHERE c.oid = '$index'::regclass AND d.datname = current_database()});
	return $n->data_dir . "/pg_vecpersist/$name.snap";
}

sub md5_of
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or return '';
	my $md5 = Digest::MD5->new->addfile($fh)->hexdigest;
	close $fh;
	return $md5;
}

# The files of $n's pg_vecpersist directory, as "name:md5" sorted.
sub snap_dir
{
	my ($n) = @_;
	my $dir = $n->data_dir . '/pg_vecpersist';
	opendir(my $dh, $dir) or return '';
	my @f = sort grep { !/^\./ } readdir $dh;
	closedir $dh;
	return join(' ', map { "$_:" . md5_of("$dir/$_") } @f);
}

# Column $col of the view row of $index in $db on $n.
sub view_col
{
	my ($n, $db, $index, $col) = @_;
	return $n->safe_psql($db,
		"SELECT $col FROM vecpersist_cache WHERE index = '$index'::regclass");
}

# Wait until the graph of $index has a snapshot that reflects all its
# changes (and $extra, an SQL condition on the view row, if given); then
# its file must exist with the view's snapshot_bytes.
sub wait_snapshot
{
	my ($n, $db, $index, $label, $extra) = @_;
	my $t0 = time;
	my $ok = $n->poll_query_until(
		$db, qq{
SELECT snapshot_at IS NOT NULL AND NOT snapshot_stale @{[ $extra ? "AND $extra" : '' ]}
FROM vecpersist_cache WHERE index = '$index'::regclass});
	ok($ok, "$label: the snapshot of $index is written");
	note sprintf('%s: the snapshot of %s was there after %.1f s',
		$label, $index, time - $t0);
	my $file = snap_file($n, $db, $index);
	ok(-f $file, "$label: the snapshot file of $index exists");
	is(-s $file, view_col($n, $db, $index, 'snapshot_bytes'),
		"$label: the file has the view's snapshot_bytes");
	return $file;
}

sub log_since
{
	my ($n, $offset) = @_;
	return slurp_file($n->logfile, $offset);
}

# The reasons logged by $n since $offset for not using a snapshot of $index.
sub logged_rejections
{
	my ($n, $offset, $index) = @_;
	my @r = (log_since($n, $offset) =~
		  /snapshot of hnsw index "\Q$index\E" not used: ([^\n]*)/g);
	return @r;
}

# The first query on $table since $offset must load the snapshot of $index:
# exact answers, one "loaded" line, no build, no rejection, origin
# 'loaded'.  Returns the answer.
sub check_loaded
{
	my ($n, $label, $db, $table, $index, $offset) = @_;
	my $got = check_knn($n, $label, $db, $table, digits => 1);
	my @loads = logged_loads($n, $offset, $index, $db);
	is(scalar @loads, 1, "$label: the log says the graph of $index was loaded");
	is(count_builds($n, $offset, $index, $db),
		0, "$label: no build of $index logged");
	is(join(' | ', logged_rejections($n, $offset, $index)),
		'', "$label: no snapshot rejected");
	is(view_col($n, $db, $index, 'origin'), 'loaded', "$label: origin = 'loaded'");
	note "$label: loaded in $loads[0] ms" if @loads;
	return $got;
}

# The first query on $table since $offset must find the snapshot of $index
# rejected for $reason (a regexp), log why, build the graph, answer exactly;
# then the writer saves a new snapshot.
sub check_rejected
{
	my ($n, $label, $db, $table, $index, $offset, $reason) = @_;
	my $got = check_knn($n, $label, $db, $table, digits => 1);
	my @why = logged_rejections($n, $offset, $index);
	is(scalar @why, 1, "$label: one rejection of the snapshot of $index logged");
	like($why[0] // '', $reason, "$label: the reason");
	like(
		log_since($n, $offset),
		qr/not used: [^\n]*\n[^\n]*DETAIL:\s+The graph is rebuilt from the index pages\./,
		"$label: the rejection's DETAIL");
	my @ms = logged_builds($n, $offset, $index, $db);
	is(scalar @ms, 1, "$label: then the graph of $index was built");
	is(scalar logged_loads($n, $offset, $index, $db),
		0, "$label: and not loaded");
	is(view_col($n, $db, $index, 'origin'), 'built', "$label: origin = 'built'");
	note "$label: rejected ($why[0]), built in $ms[0] ms" if @ms && @why;
	wait_snapshot($n, $db, $index, "$label, after the build");
	return $got;
}

# Live nodes of the graph of $index must equal the rows of $table.
sub check_live_nodes
{
	my ($n, $label, $db, $table, $index) = @_;
	my ($nodes, $dead) = split /\|/, view_col($n, $db, $index, 'nodes, dead_nodes');
	my $rows = $n->safe_psql($db, "SELECT count(*) FROM $table");
	is($nodes - $dead, $rows,
		"$label: live nodes (nodes - dead_nodes) = rows of $table");
	note "$label: $nodes nodes, $dead dead, $rows rows";
	return;
}

# Through the index, the top 100 of each query vector: ids that are not rows
# of $table, ids returned twice for one query, and rows out of distance
# order; all three must be 0.
sub check_no_dead_rows
{
	my ($n, $label, $db, $table) = @_;
	my $res = $n->safe_psql(
		$db, qq{
BEGIN; $index_settings
CREATE TEMP TABLE top100 ON COMMIT DROP AS
SELECT q.qid, x.rn, x.id, x.dist
FROM queries q,
     LATERAL (SELECT s.id, s.dist, row_number() OVER () AS rn
              FROM (SELECT t.id, t.v <-> q.v AS dist FROM $table t
                    ORDER BY t.v <-> q.v LIMIT 100) s) x;
SELECT (SELECT count(*) FROM top100 a WHERE NOT EXISTS
           (SELECT 1 FROM $table t WHERE t.id = a.id)) || ':'
    || (SELECT count(*) - count(DISTINCT (qid, id)) FROM top100) || ':'
    || (SELECT count(*) FROM top100 a JOIN top100 b
           ON a.qid = b.qid AND b.rn = a.rn + 1 AND b.dist < a.dist) || ':'
    || (SELECT count(*) FROM top100);
COMMIT;});
	my ($missing, $dups, $disorder, $total) = split /:/, $res;
	is("$missing:$dups:$disorder", '0:0:0',
		"$label: top 100s: no id outside $table, none twice, in distance order");
	is($total, 100 * $nqueries, "$label: top 100s: 100 rows each");
	return;
}

sub evict
{
	my ($n, $db, $index) = @_;
	return $n->safe_psql($db, "SELECT vecpersist_evict('$index')");
}

# Overwrite bytes of a file at $pos.
sub write_at
{
	my ($path, $pos, $bytes) = @_;
	open(my $fh, '+<:raw', $path) or die "could not open $path: $!";
	seek($fh, $pos, 0) or die "could not seek in $path: $!";
	print $fh $bytes;
	close $fh or die "could not write $path: $!";
	return;
}

sub flip_byte
{
	my ($path, $pos) = @_;
	open(my $fh, '<:raw', $path) or die "could not open $path: $!";
	seek($fh, $pos, 0);
	my $c;
	read($fh, $c, 1) == 1 or die "could not read $path";
	close $fh;
	write_at($path, $pos, chr(ord($c) ^ 0xFF));
	return;
}

# Wait until none of @files (paths in $n's data directory) exists: the
# writer's cleanup.  Returns the ones left after the test timeout.
sub wait_files_gone
{
	my ($n, @files) = @_;
	my $dd = $n->data_dir;
	my $list = join(', ', map { my $r = $_; $r =~ s{^\Q$dd\E/}{}; "'$r'" } @files);
	$n->poll_query_until('postgres',
		"SELECT bool_and(pg_stat_file(f, true) IS NULL) FROM unnest(ARRAY[$list]) f");
	return grep { -e $_ } @files;
}

# ---------------------------------------------------------------------------
# Set-up: tables and indexes in database postgres (and d2), every graph
# built by CREATE INDEX and saved by the writer
# ---------------------------------------------------------------------------

my $sql = create_tables_sql($dims, $nqueries, 0.1, $nrows)
  . table_sql($dims, 'churn', 0.2, $nrows)
  . table_sql($dims, 'rj',    0.3, $nrows)
  . table_sql($dims, 'other', 0.4, 500)
  . table_sql($dims, 'md',    0.5, 1500)
  . qq{
CREATE UNLOGGED TABLE ul (id int PRIMARY KEY, v vector($dims));
SELECT setseed(0.6);
INSERT INTO ul @{[ gen_rows($dims, 1, 1000) ]};
};
my @small = qw(dropi dropt reidx trunc);
my $seed = 0.61;
foreach my $t (@small)
{
	$sql .= table_sql($dims, $t, $seed, 300);
	$seed += 0.01;
}
$sql .= "ANALYZE;\n";
$sql .= "CREATE INDEX ${_}_v_idx ON $_ USING hnsw (v vector_l2_ops);\n"
  foreach ('items', 'churn', 'rj', 'other', 'md', 'ul', @small);
$node->safe_psql('postgres', $sql);
$node->safe_psql('postgres', 'CREATE DATABASE d2');
create_tables($node, 'd2', $dims, $nqueries, 0.7, 300);
$node->safe_psql('d2',
	'CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops)');

my $ngraphs = 7 + @small;
ok( $node->poll_query_until(
		'postgres',
		'SELECT count(*) FILTER (WHERE snapshot_at IS NOT NULL) FROM vecpersist_cache',
		$ngraphs),
	"set-up: the writer saved the snapshots of all $ngraphs fresh graphs");

# ---------------------------------------------------------------------------
# (1) Clean restart
# ---------------------------------------------------------------------------

my $items_file = snap_file($node, 'postgres', 'items_v_idx');
ok(-f $items_file, '(1) items_v_idx has a file in pg_vecpersist/');
like($items_file, qr{/pg_vecpersist/\d+_1663_\d+\.snap$},
	'(1) named <db>_<tablespace>_<relfilenode>.snap');
is(-s $items_file, view_col($node, 'postgres', 'items_v_idx', 'snapshot_bytes'),
	"(1) its size is the view's snapshot_bytes");
note '(1) snapshot of items_v_idx: ' . (-s $items_file) . " bytes for $nrows nodes";

my $offset = -s $node->logfile;
$node->restart;
is($node->safe_psql('postgres', 'SELECT count(*) FROM vecpersist_cache'),
	'0', '(1) after the restart the cache is empty');
check_loaded($node, '(1) first query after restart', 'postgres', 'items',
	'items_v_idx', $offset);
is(view_col($node, 'postgres', 'items_v_idx', 'nodes || \':\' || dead_nodes'),
	"$nrows:0", "(1) the loaded graph has $nrows nodes, none dead");
ok(-f $items_file, '(1) the snapshot file is still there');

# ---------------------------------------------------------------------------
# (2) Crash after a snapshot and inserts, deletes, VACUUM
# ---------------------------------------------------------------------------

my $churn_file = snap_file($node, 'postgres', 'churn_v_idx');
my $churn_md5  = md5_of($churn_file);
my $items_md5  = md5_of($items_file);
my $ul_file    = snap_file($node, 'postgres', 'ul_v_idx');
ok(-f $ul_file, '(2) the unlogged ul_v_idx has a snapshot');

# churn: its graph is not cached, so nothing saves it again; items: cached
$node->safe_psql(
	'postgres', qq{
SELECT setseed(0.35);
INSERT INTO churn @{[ near_rows($dims, 500000, 1, 3) ]};
DELETE FROM churn WHERE id <= 700 OR (id <= $nrows AND id % 7 = 0);
VACUUM churn;
SELECT setseed(0.36);
INSERT INTO churn @{[ near_rows($dims, 500000, 4, 2) ]};
INSERT INTO churn @{[ gen_rows($dims, $nrows + 1, $nrows + 500) ]};
SELECT setseed(0.15);
INSERT INTO items @{[ gen_rows($dims, $nrows + 1, $nrows + 300) ]};
DELETE FROM items WHERE id <= $nrows AND id % 10 = 3;
VACUUM items;
INSERT INTO items @{[ gen_rows($dims, $nrows + 301, $nrows + 400) ]};
});
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM vecpersist_cache WHERE index = 'churn_v_idx'::regclass}),
	'0', '(2) the graph of churn_v_idx was not cached during the changes');
is(md5_of($churn_file), $churn_md5,
	'(2) so its snapshot on disk is the one from before the changes');
note '(2) items_v_idx: the writer '
  . (md5_of($items_file) eq $items_md5 ? 'had not' : 'had')
  . ' saved the cached graph again before the crash';

$offset = -s $node->logfile;
$node->stop('immediate');
$node->start;
like(log_since($node, $offset), qr/redo starts at/,
	'(2) the restart replayed WAL (crash recovery)');

my $got = check_loaded($node, '(2) churn after the crash', 'postgres',
	'churn', 'churn_v_idx', $offset);
is(count_ids_from($got, 500000), 5 * $nqueries,
	'(2) churn: the rows inserted after the snapshot are found');
check_no_dead_rows($node, '(2) churn', 'postgres', 'churn');
check_live_nodes($node, '(2) churn', 'postgres', 'churn', 'churn_v_idx');

check_loaded($node, '(2) items after the crash', 'postgres', 'items',
	'items_v_idx', $offset);
check_no_dead_rows($node, '(2) items', 'postgres', 'items');
check_live_nodes($node, '(2) items', 'postgres', 'items', 'items_v_idx');

# (3, earlier build) the unlogged index was reset from its init fork
is($node->safe_psql('postgres', 'SELECT count(*) FROM ul'),
	'0', '(2) the unlogged table is empty after the crash');
ok(-f $ul_file, '(2) the snapshot of ul_v_idx is still there');
$node->safe_psql('postgres',
	'SELECT setseed(0.6); INSERT INTO ul ' . gen_rows($dims, 1, 1000));
$offset = -s $node->logfile;
check_rejected($node, '(3) unlogged index reset by the crash', 'postgres', 'ul',
	'ul_v_idx', $offset, qr/^it was taken of an earlier build of the index$/);

# ---------------------------------------------------------------------------
# (3) Rejections of bad files
# ---------------------------------------------------------------------------

my $other_file = snap_file($node, 'postgres', 'other_v_idx');
my @cases = (
	[
		'a byte of the image flipped',
		qr/^its checksum does not match its contents$/,
		sub { flip_byte($_[0], int((-s $_[0]) / 2)) }
	],
	[
		'the file cut to half',
		qr/^its length does not match its header$/,
		sub { truncate($_[0], int((-s $_[0]) / 2)) or die "truncate: $!" }
	],
	[
		'the file cut inside its header',
		qr/^it is truncated$/,
		sub { truncate($_[0], 20) or die "truncate: $!" }
	],
	[
		'the magic overwritten',
		qr/^it is not a vecpersist snapshot$/,
		sub { write_at($_[0], 0, 'XXXX') }
	],
	[
		'the version overwritten',
		qr/^it has another format version$/,
		sub { write_at($_[0], 4, pack('L', 99)) }
	],
	[
		'the file of another index',
		qr/^it belongs to another relation$/,
		sub { copy($other_file, $_[0]) or die "copy: $!" }
	]);
foreach my $case (@cases)
{
	my ($what, $reason, $corrupt) = @$case;
	my $label = "(3) $what";
	# no graph in the cache, so the query must read the file
	evict($node, 'postgres', 'rj_v_idx');
	my $file = snap_file($node, 'postgres', 'rj_v_idx');
	ok(-f $file, "$label: rj_v_idx has a snapshot to spoil");
	$corrupt->($file);
	$offset = -s $node->logfile;
	check_rejected($node, $label, 'postgres', 'rj', 'rj_v_idx', $offset,
		$reason);
}

# other parameters: the reloption changes the graph's codes, not the
# index's storage
my $rj_file = snap_file($node, 'postgres', 'rj_v_idx');
evict($node, 'postgres', 'rj_v_idx');
$node->safe_psql('postgres', 'ALTER INDEX rj_v_idx SET (quantization = none)');
is(snap_file($node, 'postgres', 'rj_v_idx'),
	$rj_file, '(3) ALTER INDEX SET (quantization) keeps the relfilenode');
$offset = -s $node->logfile;
check_rejected($node, '(3) quantization changed', 'postgres', 'rj', 'rj_v_idx',
	$offset, qr/^it was taken of a graph with other parameters$/);
is(view_col($node, 'postgres', 'rj_v_idx', 'quantization'),
	'none', '(3) quantization changed: the new graph keeps float vectors');

# the last replacement is a good snapshot
evict($node, 'postgres', 'rj_v_idx');
$offset = -s $node->logfile;
check_loaded($node, '(3) the snapshot written after the rejections',
	'postgres', 'rj', 'rj_v_idx', $offset);

# most of its nodes are dead
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM vecpersist_cache WHERE index = 'md_v_idx'::regclass}),
	'0', '(3) md_v_idx is not cached');
$node->safe_psql('postgres', 'DELETE FROM md WHERE id % 10 < 7; VACUUM md');
$offset = -s $node->logfile;
check_rejected($node, '(3) 70% of the rows deleted', 'postgres', 'md',
	'md_v_idx', $offset, qr/^most of its nodes are dead$/);
check_live_nodes($node, '(3) md rebuilt', 'postgres', 'md', 'md_v_idx');

# ---------------------------------------------------------------------------
# (4) Files of dropped and rewritten indexes
# ---------------------------------------------------------------------------

my $f = snap_file($node, 'postgres', 'dropi_v_idx');
ok(-f $f, '(4) dropi_v_idx has a snapshot');
$node->safe_psql('postgres', 'DROP INDEX dropi_v_idx');
ok(!-e $f, '(4) DROP INDEX removed it at once');

$f = snap_file($node, 'postgres', 'dropt_v_idx');
ok(-f $f, '(4) dropt_v_idx has a snapshot');
$node->safe_psql('postgres', 'DROP TABLE dropt');
ok(!-e $f, '(4) DROP TABLE removed the snapshot of its index at once');

my @stale;
$f = snap_file($node, 'd2', 'items_v_idx');
ok(-f $f, '(4) d2.items_v_idx has a snapshot');
$node->safe_psql('postgres', 'DROP DATABASE d2');
push @stale, [ 'DROP DATABASE', $f ];

foreach my $case ([ 'REINDEX', 'reidx', 'REINDEX INDEX reidx_v_idx' ],
	[ 'TRUNCATE', 'trunc', 'TRUNCATE trunc' ])
{
	my ($what, $t, $stmt) = @$case;
	my $old = snap_file($node, 'postgres', "${t}_v_idx");
	ok(-f $old, "(4) ${t}_v_idx has a snapshot");
	$node->safe_psql('postgres', $stmt);
	my $new = snap_file($node, 'postgres', "${t}_v_idx");
	isnt($new, $old, "(4) $what: a new relfilenode, so a new file name");
	if ($what eq 'TRUNCATE')
	{
		$node->safe_psql('postgres',
			"SELECT setseed(0.9); INSERT INTO $t " . gen_rows($dims, 1, 300));
	}
	check_knn($node, "(4) after $what", 'postgres', $t);
	wait_snapshot($node, 'postgres', "${t}_v_idx", "(4) after $what");
	push @stale, [ $what, $old ];
}

# ---------------------------------------------------------------------------
# (5) Standby from a base backup
# ---------------------------------------------------------------------------

wait_snapshot($node, 'postgres', 'items_v_idx', '(5) before the backup');
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
my $sb_items_file = snap_file($node, 'postgres', 'items_v_idx');
$sb_items_file =~ s/^\Q@{[ $node->data_dir ]}\E/@{[ $standby->data_dir ]}/;
ok(-f $sb_items_file, '(5) the base backup holds the snapshot of items_v_idx');

$node->safe_psql('postgres',
	'SELECT setseed(0.55); INSERT INTO items ' . near_rows($dims, 600000, 1, 5));
$offset = -s $standby->logfile;
$standby->start;
$node->wait_for_catchup($standby);
$got = check_loaded($standby, '(5) standby, first query', 'postgres', 'items',
	'items_v_idx', $offset);
is(count_ids_from($got, 600000), 5 * $nqueries,
	'(5) standby: rows the primary inserted after the backup are found');
check_live_nodes($standby, '(5) standby', 'postgres', 'items', 'items_v_idx');
wait_snapshot($standby, 'postgres', 'items_v_idx',
	'(5) standby saves its own snapshot');

# (3, ahead) a snapshot newer than the standby's pages
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
ok( $standby->poll_query_until(
		'postgres', q{SELECT pg_get_wal_replay_pause_state() = 'paused'}),
	'(5) standby: replay paused');
my $t_insert = $node->safe_psql('postgres', 'SELECT now()');
$node->safe_psql('postgres',
	'SELECT setseed(0.56); INSERT INTO items ' . near_rows($dims, 700000, 1, 5));
my $primary_file = wait_snapshot($node, 'postgres', 'items_v_idx',
	'(5) primary, after more inserts', "snapshot_at > '$t_insert'");
evict($standby, 'postgres', 'items_v_idx');
copy($primary_file, $sb_items_file) or die "copy: $!";
$offset = -s $standby->logfile;
$got = check_rejected($standby, '(3) the primary\'s newer snapshot on a paused standby',
	'postgres', 'items', 'items_v_idx', $offset, qr/^it is ahead of the index$/);
is(count_ids_from($got, 700000), 0,
	'(5) standby, paused: the rows not replayed yet are not found');

$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$node->wait_for_catchup($standby);
$got = check_knn($standby, '(5) standby, replay resumed', 'postgres', 'items');
is(count_ids_from($got, 600000), 10 * $nqueries,
	'(5) standby, replay resumed: all rows near the query vectors are found');

$standby->promote;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	'f', '(5) the standby is promoted');
check_knn($standby, '(5) promoted', 'postgres', 'items');
$standby->safe_psql('postgres',
	'SELECT setseed(0.57); INSERT INTO items ' . gen_rows($dims, 900001, 900200));
check_knn($standby, '(5) promoted, after inserts', 'postgres', 'items');
is( $standby->safe_psql(
		'postgres', qq{
BEGIN; $index_settings
SELECT count(*) FROM items n
WHERE n.id > 900000
  AND (SELECT t.id FROM items t ORDER BY t.v <-> n.v LIMIT 1) = n.id;
COMMIT;}),
	'200',
	'(5) promoted: each row inserted after the promotion is found first by its own vector'
);
no_crash_ok($standby, '(5) standby: ');
$standby->stop;

# (4) the writer's periodic cleanup (at most 60 s + one tick after the
# previous one; the restart in (2) was the last)
my @left = wait_files_gone($node, map { $_->[1] } @stale);
is(join(' ', @left), '',
	'(4) the writer removed the files of '
	  . join(', ', map { $_->[0] } @stale));
note sprintf('(4) stale files gone %.0f s into the test', time - $t_start);

# ---------------------------------------------------------------------------
# (6) No query waits for a full build
# ---------------------------------------------------------------------------

$node->safe_psql('postgres',
	'ALTER SYSTEM SET vecpersist.snapshots = off; SELECT pg_reload_conf()');
ok($node->poll_query_until('postgres', 'SHOW vecpersist.snapshots', 'off'),
	'(6) vecpersist.snapshots = off');

my $bdims = 64;
my $bn    = 20000;

# like gen_rows() with 500 centres (40 rows each: fewer than ef_search)
sub big_rows
{
	my ($from, $to) = @_;
	return qq{
SELECT i, (SELECT array_agg((2 * (h - floor(h)) - 1
                             + 0.3 * (random() + random() + random() - 1.5))::real
                            ORDER BY d)
           FROM generate_series(1, $bdims) d,
                LATERAL (SELECT sin((i % 500) * 12.9898 + d * 78.233) * 43758.5453) x(h))::vector($bdims)
FROM generate_series($from, $to) i};
}
$node->safe_psql('postgres', 'CREATE DATABASE big');
my $t0 = time;
$node->safe_psql(
	'big', qq{
CREATE EXTENSION vecpersist;
CREATE TABLE queries (qid int PRIMARY KEY, v vector($bdims));
SELECT setseed(0.25);
INSERT INTO queries SELECT i - 1000000, v FROM (@{[ big_rows(1000001, 1000000 + $nqueries) ]}) g(i, v);
CREATE TABLE bigt (id int PRIMARY KEY, v vector($bdims));
SELECT setseed(0.8);
INSERT INTO bigt @{[ big_rows(1, $bn) ]};
ANALYZE;
});
note sprintf('(6) %d x %d rows made in %.1f s', $bn, $bdims, time - $t0);
$offset = -s $node->logfile;
$t0 = time;
$node->safe_psql('big', 'CREATE INDEX bigt_v_idx ON bigt USING hnsw (v vector_l2_ops)');
note sprintf('(6) CREATE INDEX in %.1f s, graph built in %s ms (log)',
	time - $t0, join(', ', logged_builds($node, $offset, 'bigt_v_idx', 'big')));
my $big_file = snap_file($node, 'big', 'bigt_v_idx');
my $exact_big = $node->safe_psql('big', exact_sql('bigt'));

my $sA = $node->background_psql('big');
my $busy_re =
  qr/NOTICE:\s+hnsw graph of index "bigt_v_idx" is being built by another session; answering from an exact scan of the index/;

# One round: evict the graph, start its build by session A's query, and
# once the view shows the graph, run $sql_settings and the k-NN query in a
# new session.  Returns (state seen by that session at its start, whether
# it finished before the build was published, whether it started after,
# its stderr, its answer, fallbacks it added, A's answer).
sub race_round
{
	my ($label, $settings) = @_;
	evict($node, 'big', 'bigt_v_idx');
	my $fallbacks0 = cache_stats($node)->{fallbacks};
	$sA->query_until(qr/A-go\r?\n/,
		"\\echo A-go\n" . knn_sql('bigt') . "\n\\echo A-done\n");
	$node->poll_query_until('big',
		q{SELECT count(*) FROM vecpersist_cache WHERE index = 'bigt_v_idx'::regclass},
		'1');
	my $t0 = time;
	my ($ret, $out, $err) = $node->psql(
		'big', qq{
SELECT coalesce((SELECT state FROM vecpersist_cache
                 WHERE index = 'bigt_v_idx'::regclass), 'none')
       || ' ' || clock_timestamp();
$settings
@{[ knn_sql('bigt') ]}
SELECT clock_timestamp();});
	note sprintf('%s: the other session took %.0f ms', $label, 1000 * (time - $t0));
	is($ret, 0, "$label: the query succeeds");
	my @lines = split /\n/, $out;
	my ($state, $b_start) = split / /, shift(@lines), 2;
	my $b_end = pop @lines;
	my $answer = join("\n", @lines);
	my $outA = $sA->query_until(qr/A-done\r?\n/, '');
	$outA =~ s/\r?\n?A-done\r?\n$//;
	my ($before, $after) = split /\|/, $node->safe_psql(
		'big', qq{
SELECT '$b_end'::timestamptz < built_at, '$b_start'::timestamptz > built_at
FROM vecpersist_cache WHERE index = 'bigt_v_idx'::regclass});
	my $added = cache_stats($node)->{fallbacks} - $fallbacks0;
	is($outA, $exact_big, "$label: session A (the build) answers exactly");
	is($answer, $exact_big, "$label: the other session answers exactly");
	return ($state, $before eq 't', $after eq 't', $err, $added);
}

my %overlap = (inside => 0, partly => 0, after => 0);
foreach my $round (1 .. 3)
{
	my $label = "(6) round $round, build_wait = 0";
	$offset = -s $node->logfile;
	my ($state, $inside, $after, $err, $added) =
	  race_round($label, 'SET vecpersist.build_wait = 0;');
	my $kind =
	    ($state eq 'building' && $inside) ? 'inside'
	  : $after ? 'after'
	  :          'partly';
	$overlap{$kind}++;
	note "$label: B saw '$state' at its start; it ran $kind A's build;"
	  . " $added fallbacks; stderr: $err";
	if ($kind eq 'inside')
	{
		like($err, $busy_re, "$label: B ran inside the build: the NOTICE");
		cmp_ok($added, '>=', 1,
			"$label: B ran inside the build: exact scans counted as fallbacks");
	}
	elsif ($kind eq 'after')
	{
		unlike($err, qr/being built/, "$label: B ran after the build: no NOTICE");
		is($added, 0, "$label: B ran after the build: no fallback");
	}
	else
	{
		unlike($err, qr/being built/, "$label: B got the NOTICE only if busy")
		  if $added == 0;
		like($err, $busy_re, "$label: a fallback comes with the NOTICE")
		  if $added > 0;
	}
	is(count_builds($node, $offset, 'bigt_v_idx', 'big'),
		1, "$label: one build (by A)");
	is(scalar logged_loads($node, $offset, 'bigt_v_idx', 'big'),
		0, "$label: nothing loaded (snapshots off)");
	note "$label: built in "
	  . join(', ', logged_builds($node, $offset, 'bigt_v_idx', 'big')) . ' ms';
}
note sprintf('(6) build_wait = 0: B ran inside A\'s build %d times, partly %d, after %d (of 3)',
	$overlap{inside}, $overlap{partly}, $overlap{after});

{
	my $label = '(6) build_wait = -1';
	my ($state, $inside, $after, $err, $added) =
	  race_round($label, 'SET vecpersist.build_wait = -1;');
	note "$label: C saw '$state' at its start; "
	  . ($after ? 'it started after the build' : 'it waited for the build');
	unlike($err, qr/being built/, "$label: no NOTICE");
	is($added, 0, "$label: no exact-scan fallback: the graph was used");
	ok(!$inside, "$label: C did not finish before the build was published");
}
$sA->quit;
ok(!-e $big_file, '(6) with snapshots off, no file was written for bigt_v_idx');

# ---------------------------------------------------------------------------
# (7) vecpersist.snapshots = off across a restart
# ---------------------------------------------------------------------------

$items_file = snap_file($node, 'postgres', 'items_v_idx');
ok(-f $items_file, '(7) items_v_idx has a snapshot');
my $dir_before = snap_dir($node);
$offset = -s $node->logfile;
$node->restart;
check_knn($node, '(7) items after the restart', 'postgres', 'items');
is(scalar logged_loads($node, $offset, 'items_v_idx', 'postgres'),
	0, '(7) the snapshot was not loaded');
is(count_builds($node, $offset, 'items_v_idx', 'postgres'),
	1, '(7) the graph was built');
is(join(' | ', logged_rejections($node, $offset, 'items_v_idx')),
	'', '(7) nor rejected');
is(view_col($node, 'postgres', 'items_v_idx', 'origin'),
	'built', "(7) origin = 'built'");
is(view_col($node, 'postgres', 'items_v_idx', 'snapshot_at IS NULL'),
	't', '(7) the view shows no snapshot');
check_knn($node, '(7) bigt after the restart', 'big', 'bigt');
$node->stop;
is(snap_dir($node), $dir_before,
	'(7) after builds and a clean stop, pg_vecpersist/ is unchanged');
ok(-f $items_file, '(7) the unused snapshot of items_v_idx is kept');
ok(!-e $big_file, '(7) still no file for bigt_v_idx');

ok(!$node->log_contains(qr/PANIC|TRAP:|terminated by signal/),
	'no PANIC, failed assertion or process killed by a signal');
note sprintf('total %.0f s', time - $t_start);

done_testing();
