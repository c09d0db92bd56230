
# Copyright (c) vecpersist developers
#
# Sharding with postgres_fdw: three servers on this machine (Unix
# sockets), a coordinator and two shards.  Table items is partitioned by
# HASH (id) into three: items_p0 on the coordinator, items_p1 and items_p2
# foreign tables on shard1 and shard2, each shard table with its own hnsw
# index.  The foreign servers have extensions 'vecpersist' (so that <->
# may be sent) and options '-c vecpersist.ef_search=400' (the shards'
# sessions are postgres_fdw's, not ours, so SET on the coordinator does
# not reach them).
#
#  (a) Rows inserted through the parent are routed to their shard and go
#      into that shard's graph (nodes = rows on the shard).
#  (b) The shards' sessions run with ef_search 400 (read back through a
#      foreign table over a view of current_setting()).
#  (c) EXPLAIN VERBOSE of the k-NN over the parent: Merge Append of the
#      local index scan and two Foreign Scans whose Remote SQL orders by
#      v OPERATOR(public.<->) $1; each shard's graph counts one search per
#      query vector, so the shards run the k-NN on their own index.  A
#      foreign table of a server without extensions 'vecpersist' gets no
#      remote ORDER BY (a local Sort of every row instead).
#  (d) The answer through the coordinator equals the exact top 10 over all
#      rows (a sequential scan of items_single, a plain table on the
#      coordinator holding the same rows).
#  (e) Rows inserted next to each query vector through the coordinator: on
#      each shard, queried directly, its share of them comes first and its
#      answer is exact; through the coordinator all of them come first and
#      the answer is exact.
#  (f) Prints the median time of 50 k-NN queries through the coordinator
#      and of the same 50 on a plain table holding all rows (one index),
#      with postgres_fdw's default fetch_size (100) and with fetch_size 10.
#      Printed only, never asserted.
#
# "Exact answer" (VpCacheTest.pm): the top 10 ids of each of 20 query
# vectors through the hnsw indexes with ef_search 400 equal, in order, the
# top 10 by an exact scan.  About 20 rows per centre and shard, far fewer
# than ef_search, so each shard's top 10 is exact and so is their merge.

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
my $near     = 100000;    # ids of the rows inserted in (e) start here
my $t_start  = time;

my $coord  = start_node('coordinator', preload => 1);
my $shard1 = start_node('shard1',      preload => 1);
my $shard2 = start_node('shard2',      preload => 1);
my %shards = (1 => $shard1, 2 => $shard2);

# The shards: the same queries table as everywhere (seed 0.25), an empty
# table with its hnsw index, and a view of the settings a session sees.
foreach my $i (sort keys %shards)
{
	$shards{$i}->safe_psql(
		'postgres', qq{
CREATE EXTENSION vecpersist;
@{[ queries_sql($dims, $nqueries) ]}
CREATE TABLE items_p$i (id int PRIMARY KEY, v vector($dims));
CREATE INDEX items_p${i}_v_idx ON items_p$i USING hnsw (v vector_l2_ops);
CREATE VIEW session_settings AS
    SELECT current_setting('vecpersist.ef_search') AS ef_search,
           current_setting('application_name') AS application_name;
});
}

# The coordinator: foreign servers, user mappings for the test user, the
# partitioned table, and items_single, a plain table that will hold the
# same rows.
my $user = $coord->safe_psql('postgres', 'SELECT current_user');
my $sql  = qq{
CREATE EXTENSION vecpersist;
CREATE EXTENSION postgres_fdw;
@{[ queries_sql($dims, $nqueries) ]}
CREATE TABLE items (id int, v vector($dims)) PARTITION BY HASH (id);
CREATE TABLE items_p0 PARTITION OF items FOR VALUES WITH (MODULUS 3, REMAINDER 0);
};
foreach my $i (sort keys %shards)
{
	my ($host, $port) = ($shards{$i}->host, $shards{$i}->port);
	$sql .= qq{
CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$host', port '$port', dbname 'postgres',
             extensions 'vecpersist', options '-c vecpersist.ef_search=400');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard$i OPTIONS (user '$user');
CREATE FOREIGN TABLE items_p$i PARTITION OF items
    FOR VALUES WITH (MODULUS 3, REMAINDER $i) SERVER shard$i;
CREATE FOREIGN TABLE shard${i}_settings (ef_search text, application_name text)
    SERVER shard$i OPTIONS (table_name 'session_settings');
};
}
$sql .= qq{
CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops);
SELECT setseed(0.1);
INSERT INTO items @{[ gen_rows($dims, 1, $nrows) ]};
CREATE TABLE items_single (id int PRIMARY KEY, v vector($dims));
INSERT INTO items_single SELECT * FROM items;
CREATE INDEX items_single_v_idx ON items_single USING hnsw (v vector_l2_ops);
ANALYZE items, items_single, queries;
};
$coord->safe_psql('postgres', $sql);

# (a) routing ----------------------------------------------------------------
is( $coord->safe_psql(
		'postgres',
		q{SELECT string_agg(indexrelid::regclass::text, ' ' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid IN ('items'::regclass, 'items_p0'::regclass)}
	),
	'items_p0_v_idx items_v_idx',
	'CREATE INDEX on the parent: an index on the local partition only');
# (Counted on items_single: on a foreign partition, postgres_fdw would
# send satisfies_hash_partition() with the coordinator's OID of items.)
my %rows;
foreach my $i (0, 1, 2)
{
	$rows{$i} = $coord->safe_psql('postgres',
		"SELECT count(*) FROM items_single WHERE satisfies_hash_partition('items'::regclass, 3, $i, id)"
	);
}
is($rows{0} + $rows{1} + $rows{2}, $nrows, 'hash remainders cover all rows');
cmp_ok($rows{0} * $rows{1} * $rows{2}, '>', 0, 'every partition has rows');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM ONLY items_p0'),
	$rows{0}, 'the local partition holds its rows');
foreach my $i (sort keys %shards)
{
	is($shards{$i}->safe_psql('postgres', "SELECT count(*) FROM items_p$i"),
		$rows{$i}, "shard$i holds the rows of remainder $i");
	is( $shards{$i}->safe_psql(
			'postgres',
			"SELECT state || ':' || nodes FROM vecpersist_cache WHERE index = 'items_p${i}_v_idx'::regclass"
		),
		"ready:$rows{$i}",
		"shard$i: the routed inserts went into its graph");
}

# (b) the shards' sessions run with ef_search 400 ----------------------------
foreach my $i (sort keys %shards)
{
	is($coord->safe_psql('postgres', "SELECT * FROM shard${i}_settings"),
		'400|postgres_fdw',
		"shard$i: postgres_fdw sessions see vecpersist.ef_search = 400");
}

# (c) the plan and where the k-NN runs ---------------------------------------
my $plan = $coord->safe_psql('postgres',
	    "BEGIN; $index_settings EXPLAIN (VERBOSE, COSTS OFF) "
	  . knn_select('items', 0)
	  . '; COMMIT;');
note "k-NN through the coordinator:\n$plan";
like($plan, qr/Limit\n\s+Output: [^\n]*\n\s+->\s+Merge Append/,
	'a Limit over a Merge Append');
like($plan, qr/Index Scan using items_p0_v_idx on public\.items_p0/,
	'the local partition is scanned by its index');
foreach my $i (sort keys %shards)
{
	like(
		$plan,
		qr/Foreign Scan on public\.items_p$i .*?Remote SQL: SELECT id, v FROM public\.items_p$i ORDER BY \(v OPERATOR\(public\.<->\) \$1::public\.vector\($dims\)\) ASC NULLS LAST/s,
		"shard$i: the Remote SQL orders by the <-> distance");
}

# Without extensions 'vecpersist', nothing of ours is sent: the shard
# returns every row and the coordinator sorts them.
my $host1 = $shard1->host;
my $port1 = $shard1->port;
$plan = $coord->safe_psql(
	'postgres', qq{
CREATE SERVER shard1_plain FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$host1', port '$port1', dbname 'postgres');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard1_plain OPTIONS (user '$user');
CREATE FOREIGN TABLE items_p1_plain (id int, v vector($dims))
    SERVER shard1_plain OPTIONS (table_name 'items_p1');
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM items_p1_plain ORDER BY v <-> (SELECT v FROM queries WHERE qid = 1) LIMIT 10;
});
note "k-NN on a foreign table of a server without extensions 'vecpersist':\n$plan";
like($plan, qr/Sort\n.*Remote SQL: SELECT id, v FROM public\.items_p1\n?$/s,
	'without extensions \'vecpersist\': no remote ORDER BY, a local Sort');

# (d) the answer equals the exact one ----------------------------------------
sub searches_of
{
	my ($i) = @_;
	return $shards{$i}->safe_psql('postgres',
		"SELECT searches FROM vecpersist_cache WHERE index = 'items_p${i}_v_idx'::regclass"
	);
}
my %searches = map { $_ => searches_of($_) } keys %shards;
# (No exact scan through the coordinator: even with enable_indexscan off
# there, postgres_fdw sends the ORDER BY, and a shard may use its index.)
my $exact = $coord->safe_psql('postgres', exact_sql('items_single'));
my $t0  = time;
my $got = $coord->safe_psql('postgres', knn_sql('items'));
note sprintf('k-NN through the coordinator: %d queries in %.1f ms',
	$nqueries, 1000 * (time - $t0));
is($got, $exact, 'k-NN through the coordinator equals the exact answer');
foreach my $i (sort keys %shards)
{
	is(searches_of($i) - $searches{$i},
		$nqueries, "shard$i: one search of its graph per query vector");
}

# (e) rows inserted next to each query vector --------------------------------
$coord->safe_psql(
	'postgres', qq{
SELECT setseed(0.5);
INSERT INTO items @{[ near_rows($dims, $near, 1, 5) ]};
INSERT INTO items_single SELECT * FROM items WHERE id >= $near;
});
foreach my $i (sort keys %shards)
{
	my $n = $shards{$i};
	my $new = $n->safe_psql('postgres',
		"SELECT count(*) FROM items_p$i WHERE id >= $near");
	cmp_ok($new, '>', 0, "shard$i received some of the new rows");
	my $answer = check_knn($n, "shard$i, queried directly",
		'postgres', "items_p$i", digits => 1);
	is(count_ids_from($answer, $near),
		$new, "shard$i, queried directly: its $new new rows are found");
}
$exact = $coord->safe_psql('postgres', exact_sql('items_single'));
$got   = $coord->safe_psql('postgres', knn_sql('items'));
is($got, $exact,
	'after the inserts: k-NN through the coordinator equals the exact answer'
);
is(count_ids_from($got, $near), 5 * $nqueries,
	'after the inserts: all new rows are found through the coordinator');

# (f) latency: coordinator against a single server ---------------------------
my @vectors = split /\n/,
  $coord->safe_psql('postgres', 'SELECT v FROM queries ORDER BY qid');

# Median time (ms) of 50 k-NN queries on $table, in one session, after
# one untimed query.
sub median_ms
{
	my ($table) = @_;
	my $session = $coord->background_psql('postgres');
	$session->query_safe('SET vecpersist.ef_search = 400');
	my @ms;
	foreach my $k (0 .. 50)
	{
		my $q  = $vectors[ $k % @vectors ];
		my $t0 = time;
		$session->query_safe(
			"SELECT id FROM $table ORDER BY v <-> '$q' LIMIT 10");
		push @ms, 1000 * (time - $t0) if $k > 0;
	}
	$session->quit;
	@ms = sort { $a <=> $b } @ms;
	return ($ms[24] + $ms[25]) / 2;
}
my $single_ms = median_ms('items_single');
my $coord_ms  = median_ms('items');
$coord->safe_psql('postgres',
	'ALTER SERVER shard1 OPTIONS (ADD fetch_size \'10\'); '
	  . 'ALTER SERVER shard2 OPTIONS (ADD fetch_size \'10\')');
my $coord10_ms = median_ms('items');
note sprintf(
	'median of 50 k-NN queries (LIMIT 10, ef_search 400, %d rows): '
	  . 'single server %.2f ms, coordinator + 2 shards %.2f ms '
	  . '(fetch_size 100), %.2f ms (fetch_size 10)',
	$nrows + 5 * $nqueries,
	$single_ms, $coord_ms, $coord10_ms);
is($coord->safe_psql('postgres', knn_sql('items')),
	$exact, 'with fetch_size 10: still the exact answer');

no_crash_ok($_, $_->name . ': ') foreach ($coord, $shard1, $shard2);
$_->stop foreach ($coord, $shard1, $shard2);
note sprintf('016_fdw_sharding: %.1f s', time - $t_start);

done_testing();
