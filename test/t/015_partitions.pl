
# Copyright (c) vecpersist developers
#
# hnsw indexes on a partitioned table (one server, shared graph cache).
#
#  (a) CREATE INDEX ... USING hnsw on a table partitioned by RANGE (id) into
#      three partitions creates one index per partition, attached to the
#      parent's index, and builds one graph per partition.
#  (b) ORDER BY v <-> q LIMIT 10 over the parent plans as a Merge Append of
#      one index scan per partition, and its answer (each partition's
#      approximate top 10 merged) equals the exact top 10 over all rows.
#  (c) A WHERE on the partition key prunes: one partition's index scan, no
#      Merge Append, and the exact answer within that range.
#  (d) A partition created afterwards (CREATE TABLE ... PARTITION OF) gets
#      the index.  ATTACH PARTITION of a table that already has a matching
#      hnsw index adopts it (no second index, no second graph), even with
#      another m, since PostgreSQL does not compare index options; a table
#      whose hnsw index has another operator class gets a new index.  The
#      answer over all five partitions is still exact.
#  (e) Rows inserted through the parent go into their partition's graph.
#
# "Exact answer" (check_knn in VpCacheTest.pm): the top 10 ids of each of
# 20 query vectors through the hnsw indexes with vecpersist.ef_search = 400
# equal, in order, the top 10 by a sequential scan.  The data are vectors
# around 50 centres, about 20 rows per centre and partition, so a scan of
# each partition's graph that sees ef_search candidates is exact, and so is
# their merge.

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
my $nqueries = 20;
my $t_start  = time;

my $node = start_node('partitions', preload => 1);

# Rows $from..$to of gen_rows(), inserted into $table (seed $seed).
sub insert_rows
{
	my ($table, $seed, $from, $to) = @_;
	return "SELECT setseed($seed); INSERT INTO $table "
	  . gen_rows($dims, $from, $to) . ";\n";
}

# The hnsw indexes of $table: "index:opclass" sorted, space-separated.
sub hnsw_indexes_of
{
	my ($table) = @_;
	return $node->safe_psql(
		'postgres', qq{
SELECT string_agg(c.relname || ':' || oc.opcname, ' ' ORDER BY c.relname)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am am ON am.oid = c.relam AND am.amname = 'hnsw'
JOIN pg_opclass oc ON oc.oid = i.indclass[0]
WHERE i.indrelid = '$table'::regclass});
}

# The partitions of index items_v_idx (pg_inherits), sorted.
sub attached_indexes
{
	return $node->safe_psql(
		'postgres', q{
SELECT string_agg(inhrelid::regclass::text, ' ' ORDER BY inhrelid::regclass::text)
FROM pg_inherits WHERE inhparent = 'items_v_idx'::regclass});
}

# The plan of the k-NN statement over items with an extra WHERE $where.
sub explain_where
{
	my ($where) = @_;
	return $node->safe_psql('postgres',
		    "BEGIN; $index_settings EXPLAIN (COSTS OFF) "
		  . "SELECT id FROM items WHERE $where ORDER BY v <-> (SELECT v FROM queries WHERE qid = 1) LIMIT 10; COMMIT;"
	);
}

# (a) three range partitions, index on the parent ----------------------------
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION vecpersist;
@{[ queries_sql($dims, $nqueries) ]}
CREATE TABLE items (id int, v vector($dims)) PARTITION BY RANGE (id);
CREATE TABLE items_p1 PARTITION OF items FOR VALUES FROM (1) TO (1001);
CREATE TABLE items_p2 PARTITION OF items FOR VALUES FROM (1001) TO (2001);
CREATE TABLE items_p3 PARTITION OF items FOR VALUES FROM (2001) TO (3001);
@{[ insert_rows('items', 0.1, 1, 3000) ]}
CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops);
ANALYZE items, queries;
});

is(attached_indexes(), 'items_p1_v_idx items_p2_v_idx items_p3_v_idx',
	'CREATE INDEX on the parent: one attached index per partition');
is(hnsw_indexes_of('items'), 'items_v_idx:vector_l2_ops',
	'the parent has the partitioned index');
is( $node->safe_psql(
		'postgres',
		q{SELECT string_agg(index::text || ':' || state || ':' || nodes, ' ' ORDER BY index::text) FROM vecpersist_cache}
	),
	'items_p1_v_idx:ready:1000 items_p2_v_idx:ready:1000 items_p3_v_idx:ready:1000',
	'one graph per partition, each with its partition\'s rows');

# (b) Merge Append of per-partition index scans; exact top-k -----------------
my $plan = $node->safe_psql('postgres', explain_sql('items'));
note "k-NN over the parent:\n$plan";
like($plan, qr/Limit\s*\n\s*->\s+Merge Append/,
	'the plan is a Limit over a Merge Append');
my @scans = ($plan =~ /Index Scan using (items_p\d_v_idx) on items_p\d/g);
is(join(' ', sort @scans), 'items_p1_v_idx items_p2_v_idx items_p3_v_idx',
	'Merge Append of one index scan per partition');
check_knn($node, 'parent, 3 partitions', 'postgres', 'items', digits => 1);

# (c) pruning by the partition key -------------------------------------------
$plan = explain_where('id BETWEEN 1001 AND 2000');
note "k-NN with WHERE id BETWEEN 1001 AND 2000:\n$plan";
@scans = ($plan =~ /Index Scan using (\w+) on items/g);
is(join(' ', @scans), 'items_p2_v_idx',
	'WHERE on the partition key: only items_p2 is scanned, by its index');
unlike($plan, qr/Merge Append|items_p[13]/,
	'WHERE on the partition key: no Merge Append, no other partition');
my $where_knn = sub {
	my ($settings, $order) = @_;
	return qq{BEGIN; $settings
SELECT string_agg(q.qid || ':' || array_to_string(ARRAY(
           SELECT t.id FROM items t WHERE t.id BETWEEN 1001 AND 2000
           ORDER BY $order LIMIT 10), ','), E'\\n' ORDER BY q.qid)
FROM queries q; COMMIT;};
};
is( $node->safe_psql('postgres',
		$where_knn->($index_settings, 't.v <-> q.v')),
	$node->safe_psql('postgres',
		$where_knn->($exact_settings, 't.v <-> q.v, t.id')),
	'pruned k-NN equals the exact answer within the range');

# (d) partitions created or attached later -----------------------------------
$node->safe_psql(
	'postgres', qq{
CREATE TABLE items_p4 PARTITION OF items FOR VALUES FROM (3001) TO (4001);
@{[ insert_rows('items', 0.2, 3001, 4000) ]}
CREATE TABLE items_p5 (id int, v vector($dims));
@{[ insert_rows('items_p5', 0.3, 4001, 5000) ]}
CREATE INDEX items_p5_own_idx ON items_p5 USING hnsw (v vector_l2_ops) WITH (m = 12);
CREATE TABLE items_p6 (id int, v vector($dims));
@{[ insert_rows('items_p6', 0.4, 5001, 6000) ]}
CREATE INDEX items_p6_cos_idx ON items_p6 USING hnsw (v vector_cosine_ops);
});
is(hnsw_indexes_of('items_p4'), 'items_p4_v_idx:vector_l2_ops',
	'a partition created after CREATE INDEX gets the index');

my $builds_before = count_builds($node, 0, 'items_p5_own_idx', 'postgres');
my $offset        = -s $node->logfile;
$node->safe_psql('postgres',
	'ALTER TABLE items ATTACH PARTITION items_p5 FOR VALUES FROM (4001) TO (5001)'
);
is(hnsw_indexes_of('items_p5'), 'items_p5_own_idx:vector_l2_ops',
	'ATTACH with a matching hnsw index: that index is reused, no second one');
is( $node->safe_psql(
		'postgres',
		q{SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'items_p5_own_idx'}
	),
	'm=12',
	'the adopted index keeps its own m (PostgreSQL does not compare index options)'
);
is($builds_before, 1, 'items_p5_own_idx was built once by its CREATE INDEX');
is(count_builds_or_loads($node, $offset, 'items_p5_v_idx', 'postgres')
	  + count_builds_or_loads($node, $offset, 'items_p5_own_idx', 'postgres'),
	0, 'ATTACH with a matching hnsw index built or loaded no graph');

$node->safe_psql('postgres',
	'ALTER TABLE items ATTACH PARTITION items_p6 FOR VALUES FROM (5001) TO (6001)'
);
is( hnsw_indexes_of('items_p6'),
	'items_p6_cos_idx:vector_cosine_ops items_p6_v_idx:vector_l2_ops',
	'ATTACH with an hnsw index of another opclass: a new l2 index is created'
);
is( attached_indexes(),
	'items_p1_v_idx items_p2_v_idx items_p3_v_idx items_p4_v_idx items_p5_own_idx items_p6_v_idx',
	'items_v_idx has one attached index per partition');

$node->safe_psql('postgres', 'ANALYZE items');
$plan = $node->safe_psql('postgres', explain_sql('items'));
@scans = ($plan =~ /Index Scan using (\w+) on items_p\d/g);
is( join(' ', sort @scans),
	'items_p1_v_idx items_p2_v_idx items_p3_v_idx items_p4_v_idx items_p5_own_idx items_p6_v_idx',
	'Merge Append over the six partitions\' l2 indexes');
check_knn($node, 'parent, 6 partitions', 'postgres', 'items', digits => 1);

# (e) inserts through the parent ---------------------------------------------
# Rows right next to each query vector, ids 100101 .. 102005: beyond every
# partition's range, so they need a new one first.
$node->safe_psql(
	'postgres', qq{
CREATE TABLE items_p7 PARTITION OF items FOR VALUES FROM (100000) TO (200000);
SELECT setseed(0.5);
INSERT INTO items @{[ near_rows($dims, 100000, 1, 5) ]};
});
my $got = check_knn($node, 'parent, after inserts through it', 'postgres',
	'items', digits => 1);
is(count_ids_from($got, 100000), 5 * $nqueries,
	'the rows inserted through the parent are found');
is( $node->safe_psql(
		'postgres',
		q{SELECT nodes FROM vecpersist_cache WHERE index = 'items_p7_v_idx'::regclass}
	),
	5 * $nqueries,
	'they went into the new partition\'s graph');

no_crash_ok($node);
$node->stop;
note sprintf('015_partitions: %.1f s', time - $t_start);

done_testing();
