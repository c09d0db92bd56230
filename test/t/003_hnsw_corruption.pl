
# Copyright (c) vecpersist developers
#
# Corrupted index pages are reported, never trusted and never a crash.
# With the server stopped, bytes are flipped in one vector stored in an
# hnsw data page, and then separately in the metapage.  After a restart the
# query that needs the graph must fail with the documented message and
# SQLSTATE (XX001 data_corrupted for an item whose CRC32C no longer matches,
# XX002 index_corrupted for a bad metapage), naming the index and the block,
# with a hint to REINDEX; the server must stay up, other indexes must keep
# working, and REINDEX must repair the index.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('corrupt');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecpersist'");
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION vecpersist;
CREATE TABLE items (id int PRIMARY KEY, v vector(16));
INSERT INTO items
  SELECT i, ARRAY(SELECT sin(i * 0.7 + d * 1.3) FROM generate_series(1, 16) d)::real[]::vector
    FROM generate_series(1, 2000) i;
CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops);
CREATE TABLE other (id int PRIMARY KEY, v vector(16));
INSERT INTO other SELECT * FROM items WHERE id <= 500;
CREATE INDEX other_v_idx ON other USING hnsw (v vector_l2_ops);
});

my $knn = q{SET enable_seqscan = off;
SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 42) LIMIT 5};
my $other_knn = q{SET enable_seqscan = off;
SELECT id FROM other ORDER BY v <-> (SELECT v FROM other WHERE id = 42) LIMIT 1};
my $exact = q{SET enable_indexscan = off;
SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 42), id LIMIT 5};

my $expected = $node->safe_psql('postgres', $exact);
is($node->safe_psql('postgres', $knn), $expected, 'index answers like an exact scan before corruption');

my $pgdata = $node->data_dir;
my $index_file = $pgdata . '/'
  . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('items_v_idx')});
my $block_size = $node->safe_psql('postgres', 'SHOW block_size');

# XOR $len bytes at byte $offset of block $block of the index file.
sub flip_bytes
{
	my ($block, $offset, $len) = @_;
	open(my $fh, '+<', $index_file) or die "open $index_file: $!";
	binmode $fh;
	my $pos = $block * $block_size + $offset;
	sysseek($fh, $pos, 0) or die "seek: $!";
	my $buf;
	sysread($fh, $buf, $len) == $len or die "read: $!";
	$buf = join('', map { chr(ord($_) ^ 0xFF) } split(//, $buf));
	sysseek($fh, $pos, 0) or die "seek: $!";
	syswrite($fh, $buf, $len) == $len or die "write: $!";
	close($fh);
}

# Run $sql expecting an error; returns stderr (with SQLSTATE, verbose).
sub query_error
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	my $rc = $node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout,
		stderr => \$stderr);
	isnt($rc, 0, 'query fails');
	return $stderr;
}

# --- a flipped vector in data block 1 ---------------------------------------
# Items are placed from the end of the page backwards, before the 16-byte
# special space: 40 bytes before it lies inside the last item's vector.
$node->stop;
flip_bytes(1, $block_size - 16 - 40, 4);
$node->start;

my $err = query_error($knn);
like(
	$err,
	qr/ERROR:  XX001: index "items_v_idx" has a corrupted item at block 1, offset \d+/,
	'corrupted item reported with data_corrupted, index name and block');
like($err, qr/HINT:  Please REINDEX it\./, 'with a hint to REINDEX');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still up');
is($node->safe_psql('postgres', $other_knn), '42', 'other index still works');
$err = query_error($knn);
like($err, qr/XX001/, 'the corrupted graph is never used: the error repeats');

$node->safe_psql('postgres', 'REINDEX INDEX items_v_idx');
is($node->safe_psql('postgres', $knn), $expected, 'REINDEX repairs the index');

# --- a flipped magic number in the metapage ---------------------------------
$index_file = $pgdata . '/'
  . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('items_v_idx')});
$node->stop;
# the metadata starts right after the 24-byte page header
flip_bytes(0, 24, 4);
$node->start;

$err = query_error($knn);
like(
	$err,
	qr/ERROR:  XX002: index "items_v_idx" has an invalid metapage/,
	'corrupted metapage reported with index_corrupted');
like($err, qr/HINT:  Please REINDEX it\./, 'with a hint to REINDEX');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still up');
is($node->safe_psql('postgres', $other_knn), '42', 'other index still works');

$node->safe_psql('postgres', 'REINDEX INDEX items_v_idx');
is($node->safe_psql('postgres', $knn), $expected, 'REINDEX repairs the metapage');

# the server log holds no crash
$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|server process .* was terminated|PANIC/,
	'no backend crashed');

done_testing();
