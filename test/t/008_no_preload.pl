
# Copyright (c) vecpersist developers
#
# vecpersist without shared_preload_libraries: no shared graph cache, each
# session builds its own copy of a graph.
#
#  (a) hnsw scans work and give the exact answer, for two indexes (L2 and
#      cosine); the first hnsw use of a session emits the documented NOTICE
#      once, however many queries and indexes the session then uses, and a
#      new session emits it again, once.
#  (b) Per-session graphs follow other sessions' inserts.
#  (c) The cache's view and functions fail with the documented error and
#      SQLSTATE 55000 (object_not_in_prerequisite_state).
#  (d) After adding vecpersist to shared_preload_libraries and restarting:
#      no NOTICE, the graph is in the shared cache, same exact answers.
#
# "Exact answer": as in VpCacheTest.pm, the top 10 ids of each of 20 query
# vectors through the hnsw index with vecpersist.ef_search = 400 equal, in
# order, the top 10 by a sequential scan (here for operators <-> and <=>).

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

my $notice =
  qr/NOTICE:\s+vecpersist is not in shared_preload_libraries, so each session builds its own copy of an hnsw graph/;
my $not_loaded =
  qr/ERROR:\s+55000: vecpersist must be loaded via "?shared_preload_libraries"?/;

my $node = start_node('nopreload');

# The data (create_tables_sql, near_rows) and the k-NN statements come from
# VpCacheTest.pm; here on table items, by operator $op (<-> or <=>).

# The hnsw statement, ending with a newline (several go to one psql).
sub items_knn_sql
{
	my ($op) = @_;
	return knn_sql('items', $op) . "\n";
}

sub exact_answer
{
	my ($op) = @_;
	return $node->safe_psql('postgres', exact_sql('items', $op));
}

my ($ret, $out, $err) = $node->psql('postgres',
	create_tables_sql($dims, $nqueries, 0.5, $nrows));
# Nothing else can work if this fails (the library cannot be loaded).
if (!is($ret, 0, 'CREATE EXTENSION and the tables, without preload'))
{
	diag $err;
	$node->stop;
	done_testing();
	exit;
}
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'', 'shared_preload_libraries is empty');

($ret, $out, $err) = $node->psql('postgres', q{
CREATE INDEX items_l2_idx ON items USING hnsw (v vector_l2_ops);
CREATE INDEX items_cos_idx ON items USING hnsw (v vector_cosine_ops);
});
is($ret, 0, 'CREATE INDEX without preload');
note 'CREATE INDEX said: ' . ($err eq '' ? '(nothing)' : $err);
foreach my $case ([ '<->', 'items_l2_idx' ], [ '<=>', 'items_cos_idx' ])
{
	my ($op, $index) = @$case;
	like(
		$node->safe_psql('postgres',
			'BEGIN; SET LOCAL enable_seqscan = off; EXPLAIN (COSTS OFF) '
			  . knn_select('items', 0, $op)
			  . '; COMMIT;'),
		qr/Index Scan using $index on items/,
		"the $op statement scans $index");
}

# (a) two sessions, three queries each on two indexes ------------------------
my %exact = ('<->' => exact_answer('<->'), '<=>' => exact_answer('<=>'));
foreach my $session (1, 2)
{
	my $t0 = time;
	($ret, $out, $err) = $node->psql('postgres',
		items_knn_sql('<->') . items_knn_sql('<->') . items_knn_sql('<=>'));
	note sprintf(
		"session %d: three statements of %d scans (two graph builds): %.0f ms",
		$session, $nqueries, 1000 * (time - $t0));
	is($ret, 0, "session $session: queries succeed");
	is($out, "$exact{'<->'}\n$exact{'<->'}\n$exact{'<=>'}",
		"session $session: hnsw answers equal the exact scan");
	my @notices = ($err =~ /$notice/g);
	is(scalar @notices, 1, "session $session: the NOTICE, once");
	unlike($err, qr/WARNING|ERROR/, "session $session: no warning or error");
}

# (b) another session's inserts ----------------------------------------------
# (query(), not query_safe(): the NOTICE goes to stderr.)
my $reader = $node->background_psql('postgres');
is($reader->query(items_knn_sql('<->')), $exact{'<->'},
	'long-lived session: hnsw answers equal the exact scan');
like($reader->{stderr}, $notice, 'long-lived session: the NOTICE');
$reader->{stderr} = '';
$node->safe_psql('postgres',
	'SELECT setseed(0.75); INSERT INTO items ' . near_rows($dims, 500000, 1, 5));
$exact{'<->'} = exact_answer('<->');
is($reader->query(items_knn_sql('<->')), $exact{'<->'},
	'long-lived session after another session inserted: exact answers');
is(scalar(() = $exact{'<->'} =~ /\b5\d{5}\b/g),
	5 * $nqueries, 'the exact answers include the inserted rows');
is($reader->{stderr}, '', 'long-lived session: no second NOTICE');
$reader->quit;

# (c) the cache's view and functions -----------------------------------------
foreach my $sql (
	'SELECT * FROM vecpersist_cache',
	'SELECT * FROM vecpersist_cache_stats()',
	q{SELECT vecpersist_prewarm('items_l2_idx')},
	q{SELECT vecpersist_evict('items_l2_idx')})
{
	($ret, $out, $err) =
	  $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	isnt($ret, 0, "$sql: fails without preload");
	like($err, $not_loaded,
		"$sql: must be loaded via shared_preload_libraries (55000)");
}
($ret, $out, $err) = $node->psql('postgres', 'SHOW vecpersist.cache_size');
note "SHOW vecpersist.cache_size without preload: returned $ret, '$out' $err";

# (d) with preload after a restart -------------------------------------------
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecpersist'");
$node->restart;
($ret, $out, $err) =
  $node->psql('postgres', items_knn_sql('<->') . items_knn_sql('<->'));
is($ret, 0, 'with preload: queries succeed');
is($out, "$exact{'<->'}\n$exact{'<->'}",
	'with preload: hnsw answers equal the exact scan');
unlike($err, $notice, 'with preload: no NOTICE');
is( $node->safe_psql('postgres',
		q{SELECT state || ':' || builds || ':' || nodes FROM vecpersist_cache WHERE index = 'items_l2_idx'::regclass}),
	'ready:1:' . ($nrows + 5 * $nqueries),
	'with preload: the graph is in the shared cache');

no_crash_ok($node);
$node->stop;

done_testing();
