
# Copyright (c) vecpersist developers
#
# Read replicas: a primary and two streaming hot standbys, all with
# shared_preload_libraries = 'vecpersist'.  The standbys are made from a
# base backup taken before the hnsw index exists, so everything they know
# of the index comes from replayed WAL.
#
#  (a) CREATE INDEX on the primary, replayed: each standby builds its own
#      graph from its own copy of the index pages, standby1 on its first
#      query, standby2 by vecpersist_prewarm() before any query.  The view
#      of each standby shows the graph ready with nodes = rows, built (not
#      loaded: snapshots are files of the server that saved them, not
#      WAL-logged, and the base backup predates the index, so a standby
#      has none).
#  (b) The same k-NN statement gives the same answer on all three servers,
#      and it is the exact answer.
#  (c) Rows inserted on the primary next to each query vector: once
#      replayed, each standby finds them through its index, and its graph
#      absorbed them from the replayed pages (no rebuild).
#  (d) A DELETE and VACUUM on the primary: once replayed, each standby
#      applies the deletions to its graph (a deletion pass, no rebuild) and
#      still answers exactly.
#
# "Exact answer" (check_knn in VpCacheTest.pm): the top 10 ids of each of
# 20 query vectors through the hnsw index with vecpersist.ef_search = 400
# equal, in order, the top 10 by a sequential scan.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use VpCacheTest;

my $dims     = 16;
my $nrows    = 3000;
my $nqueries = 20;
my $near     = 500000;    # ids of the rows inserted in (c) start here
my $t_start  = time;

my $primary = start_node('primary',
	preload => 1,
	init    => { allows_streaming => 1 });
create_tables($primary, 'postgres', $dims, $nqueries, 0.1, $nrows);

$primary->backup('base');
my @standbys;
foreach my $name ('standby1', 'standby2')
{
	my $s = PostgreSQL::Test::Cluster->new($name);
	# (the backup carries the primary's postgresql.conf, preload included)
	$s->init_from_backup($primary, 'base', has_streaming => 1);
	$s->start;
	push @standbys, $s;
}
my ($standby1, $standby2) = @standbys;
my @servers = ($primary, @standbys);

# "state:builds:nodes:absorbed:deletion_passes" of items_v_idx in $n's
# cache ('' if it has no graph of it).
sub graph_of
{
	my ($n) = @_;
	return $n->safe_psql(
		'postgres', q{
SELECT state || ':' || builds || ':' || nodes || ':' || absorbed || ':' || deletion_passes
FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass});
}

# (a) the index arrives by WAL; each standby builds its own graph ------------
$primary->safe_psql('postgres',
	'CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops)');
$primary->wait_for_catchup($_) foreach @standbys;
is($standby1->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'standby1 is a hot standby');
is(graph_of($_), '', $_->name . ': no graph before anything uses the index')
  foreach @standbys;

is($standby2->safe_psql('postgres', q{SELECT vecpersist_prewarm('items_v_idx')}),
	$nrows, 'standby2: vecpersist_prewarm() builds the graph from its pages');
is(graph_of($standby2), "ready:1:$nrows:0:0",
	'standby2: graph ready after the prewarm, nodes = rows');

my %answer;
foreach my $n (@servers)
{
	$answer{ $n->name } = check_knn($n, $n->name, 'postgres', 'items',
		plan => 'items_v_idx', digits => 1);
}
is(graph_of($standby1), "ready:1:$nrows:0:0",
	'standby1: its first query built its own graph, nodes = rows');
is(graph_of($standby2), "ready:1:$nrows:0:0",
	'standby2: the query used the prewarmed graph, no second build');
like(
	slurp_file($standby1->logfile),
	qr/built hnsw graph of index "items_v_idx" in database "postgres"/,
	'standby1 logged its own build');
foreach my $n (@standbys)
{
	is( $n->safe_psql('postgres',
			q{SELECT origin FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass}),
		'built', $n->name . ': the graph was built from its pages, not loaded');
	is(count_loads($n, 0, 'items_v_idx', 'postgres'), 0,
		$n->name . ': no load logged');
}

# (b) the same answers on all three ------------------------------------------
is($answer{standby1}, $answer{primary},
	'standby1 and the primary give the same answer');
is($answer{standby2}, $answer{primary},
	'standby2 and the primary give the same answer');

# (c) inserts on the primary, replayed ---------------------------------------
$primary->safe_psql('postgres',
	'SELECT setseed(0.5); INSERT INTO items ' . near_rows($dims, $near, 1, 5));
$primary->wait_for_catchup($_) foreach @standbys;
my $added = 5 * $nqueries;
foreach my $n (@servers)
{
	my $got = check_knn($n, $n->name . ' after inserts',
		'postgres', 'items', digits => 1);
	is(count_ids_from($got, $near), $added,
		$n->name . ': the rows inserted on the primary are found');
	$answer{ $n->name } = $got;
}
is($answer{$_}, $answer{primary}, "$_: same answer as the primary")
  foreach ('standby1', 'standby2');
is(graph_of($_), "ready:1:" . ($nrows + $added) . ":$added:0",
	$_->name . ': the graph absorbed the replayed rows, no rebuild')
  foreach @standbys;

# (d) DELETE and VACUUM on the primary, replayed -----------------------------
# Remove the near rows of odd query vectors.
$primary->safe_psql('postgres',
	"DELETE FROM items WHERE id >= $near AND (id / 100) % 2 = 1");
$primary->safe_psql('postgres', 'VACUUM items');
$primary->wait_for_catchup($_) foreach @standbys;
my $left = $primary->safe_psql('postgres',
	"SELECT count(*) FROM items WHERE id >= $near");
cmp_ok($left, '<', $added, "some of the $added near rows were deleted");
foreach my $n (@servers)
{
	my $got = check_knn($n, $n->name . ' after DELETE and VACUUM',
		'postgres', 'items', digits => 1);
	is(count_ids_from($got, $near), $left,
		$n->name . ": only the $left remaining near rows are found");
	$answer{ $n->name } = $got;
}
is($answer{$_}, $answer{primary}, "$_: same answer as the primary")
  foreach ('standby1', 'standby2');
is(graph_of($_), "ready:1:" . ($nrows + $added) . ":$added:1",
	$_->name . ': one deletion pass from the replayed VACUUM, no rebuild')
  foreach @standbys;
is( $_->safe_psql(
		'postgres',
		q{SELECT dead_nodes FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass}
	),
	$added - $left,
	$_->name . ': the deleted rows are dead nodes of its graph')
  foreach @standbys;

no_crash_ok($_, $_->name . ': ') foreach @servers;
$_->stop foreach (@standbys, $primary);
note sprintf('017_read_replicas: %.1f s', time - $t_start);

done_testing();
