
# Copyright (c) vecpersist developers
#
# Corrupted index pages are reported, never trusted and never a crash.
# Each case changes bytes of an hnsw index file while the server is stopped,
# starts it again and runs the statements that read the pages: the k-NN
# query that builds the graph, vecpersist_prewarm() and, where the damage is
# in the page structure, VACUUM.  Each must fail with the documented SQLSTATE
# and message naming the index (and, for a page or an item, the block), with
# a hint to REINDEX; the server must stay up (same postmaster start time, no
# process terminated), another index must keep working, and REINDEX must
# repair the index.  The cases:
#
#  - a flipped float of a vector in data block 1: XX001 (data_corrupted,
#    the item's CRC32C no longer matches), again on every query;
#  - a flipped float in the continuation page of a vector that spans pages
#    (3000 dimensions): XX001 naming the block where the vector starts;
#  - the metapage's magic number: XX002 (index_corrupted: not our page);
#  - a counter or the head block number in the metapage: XX001 naming
#    block 0 (the metadata's CRC32C no longer matches);
#  - a line pointer whose item would extend past the page: XX002, and no
#    read or write outside the page, also in VACUUM;
#  - a chain that loops back to an earlier page: XX002, also in VACUUM
#    (which must not walk the loop forever);
#  - 12 seeded rounds of random bytes in random places of a data page
#    (header, line pointers, items, special space): every statement either
#    works or fails with XX001 / XX002, and the server never crashes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('corrupt');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'vecpersist'
autovacuum = off
# a VACUUM that loops over a corrupted chain fails the test instead of hanging it
statement_timeout = '60s'
});
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
CREATE TABLE big (id int PRIMARY KEY, v vector(3000));
INSERT INTO big
  SELECT i, ARRAY(SELECT sin(i * 0.3 + d * 0.01) FROM generate_series(1, 3000) d)::real[]::vector
    FROM generate_series(1, 20) i;
CREATE INDEX big_v_idx ON big USING hnsw (v vector_l2_ops);
});

my $knn = q{SET enable_seqscan = off;
SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 42) LIMIT 5};
my $other_knn = q{SET enable_seqscan = off;
SELECT id FROM other ORDER BY v <-> (SELECT v FROM other WHERE id = 42) LIMIT 1};
my $exact = q{SET enable_indexscan = off;
SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 42), id LIMIT 5};
my $big_knn = q{SET enable_seqscan = off;
SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 7) LIMIT 3};
my $big_exact = q{SET enable_indexscan = off;
SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 7), id LIMIT 3};

my $expected = $node->safe_psql('postgres', $exact);
is($node->safe_psql('postgres', $knn), $expected, 'index answers like an exact scan before corruption');
my $big_expected = $node->safe_psql('postgres', $big_exact);
is($node->safe_psql('postgres', $big_knn), $big_expected,
	'the index of 3000-dimension vectors answers like an exact scan');

my $pgdata = $node->data_dir;
my $block_size = $node->safe_psql('postgres', 'SHOW block_size');
my $special_size = 16;    # MAXALIGN(sizeof(VpPageOpaqueData))

# The file of index $index.
sub index_file
{
	my ($index) = @_;
	return $pgdata . '/'
	  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$index')");
}

# Block $block of $file, or (with $data) overwrite it with $data.
sub block_io
{
	my ($file, $block, $data) = @_;
	open(my $fh, '+<', $file) or die "open $file: $!";
	binmode $fh;
	sysseek($fh, $block * $block_size, 0) or die "seek: $!";
	if (defined $data)
	{
		length($data) == $block_size or die "bad block length";
		syswrite($fh, $data, $block_size) == $block_size or die "write: $!";
	}
	else
	{
		sysread($fh, $data, $block_size) == $block_size or die "read: $!";
	}
	close($fh);
	return $data;
}

# XOR $len bytes at byte $offset of block $block of $file with 0xFF.
sub flip_bytes
{
	my ($file, $block, $offset, $len) = @_;
	my $page = block_io($file, $block);
	substr($page, $offset, $len) = substr($page, $offset, $len) ^ ("\xFF" x $len);
	block_io($file, $block, $page);
	return;
}

# The fields of a data page: its line pointers [lp_off, lp_flags, lp_len]
# and its special space (next block, sequence stamp, flags, page id).
sub page_fields
{
	my ($page) = @_;
	my $pd_lower = unpack('v', substr($page, 12, 2));
	my @lps = map {
		my $w = unpack('V', substr($page, 24 + 4 * $_, 4));
		[ $w & 0x7FFF, ($w >> 15) & 3, $w >> 17 ]
	} 0 .. (($pd_lower - 24) / 4 - 1);
	my ($next, $seq, $flags, $page_id) =
	  unpack('VVvv', substr($page, $block_size - $special_size, $special_size));
	return (\@lps, $next, $seq, $flags, $page_id);
}

my $start_time;

# Start the server and remember when the postmaster started.
sub start_server
{
	$node->start;
	$start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
	return;
}

# The server is up and was not restarted (no crash and reinitialisation)
# since start_server(), and the other index still works.
sub server_ok
{
	my ($label) = @_;
	is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
		$start_time, "$label: server still up, postmaster not restarted");
	is($node->safe_psql('postgres', $other_knn), '42', "$label: other index still works");
	return;
}

# Run $sql expecting an error; returns stderr (verbose: with the SQLSTATE).
sub query_error
{
	my ($sql, $label) = @_;
	my ($stdout, $stderr);
	my $rc = $node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout,
		stderr => \$stderr);
	isnt($rc, 0, "$label: fails");
	return $stderr;
}

# --- a flipped vector in data block 1 ---------------------------------------
# Items are placed from the end of the page backwards, before the 16-byte
# special space: 40 bytes before it lies inside the last item's vector.
my $index_file = index_file('items_v_idx');
$node->stop;
flip_bytes($index_file, 1, $block_size - $special_size - 40, 4);
start_server();

my $err = query_error($knn, 'k-NN query on a corrupted item');
like(
	$err,
	qr/ERROR:  XX001: index "items_v_idx" has a corrupted item at block 1, offset \d+/,
	'corrupted item reported with data_corrupted, index name and block');
like($err, qr/DETAIL:  The item's checksum does not match its contents\./, 'with a detail');
like($err, qr/HINT:  Please REINDEX it\./, 'with a hint to REINDEX');
server_ok('corrupted item');
$err = query_error($knn, 'second k-NN query on a corrupted item');
like($err, qr/XX001/, 'the corrupted graph is never used: the error repeats');
$err = query_error(q{SELECT vecpersist_prewarm('items_v_idx')}, 'prewarm of a corrupted item');
like($err, qr/ERROR:  XX001: index "items_v_idx" has a corrupted item at block 1/,
	'vecpersist_prewarm reports the corrupted item');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM vecpersist_cache WHERE indexrelid = 'items_v_idx'::regclass}),
	'0', 'no graph of the corrupted index is left in the cache');

$node->safe_psql('postgres', 'REINDEX INDEX items_v_idx');
is($node->safe_psql('postgres', $knn), $expected, 'REINDEX repairs the index');

# --- a flipped float in a continuation page ---------------------------------
# A 3000-dimension vector takes a head page and one continuation page.
my $big_file = index_file('big_v_idx');
my ($cont_block, $cont_lp);
for my $blk (1 .. 10)
{
	my ($lps, undef, undef, $flags) = page_fields(block_io($big_file, $blk));
	if ($flags & 4)
	{
		($cont_block, $cont_lp) = ($blk, $lps->[0]);
		last;
	}
}
ok(defined $cont_block, "big_v_idx has a continuation page (block $cont_block)");
my $head_block = $cont_block - 1;
$node->stop;
flip_bytes($big_file, $cont_block, $cont_lp->[0] + 100, 4);
start_server();

$err = query_error($big_knn, 'k-NN query on a corrupted continuation page');
like(
	$err,
	qr/ERROR:  XX001: index "big_v_idx" has a corrupted item at block $head_block, offset 1/,
	'corrupted fragment reported at the block where the vector starts');
like($err, qr/HINT:  Please REINDEX it\./, 'with a hint to REINDEX');
server_ok('corrupted continuation page');
$node->safe_psql('postgres', 'REINDEX INDEX big_v_idx');
is($node->safe_psql('postgres', $big_knn), $big_expected, 'REINDEX repairs the spanning vector');

# --- a flipped magic number in the metapage ---------------------------------
$index_file = index_file('items_v_idx');
$node->stop;
# the metadata starts right after the 24-byte page header
flip_bytes($index_file, 0, 24, 4);
start_server();

$err = query_error($knn, 'k-NN query with a corrupted metapage');
like(
	$err,
	qr/ERROR:  XX002: index "items_v_idx" has an invalid metapage/,
	'corrupted metapage reported with index_corrupted');
like($err, qr/HINT:  Please REINDEX it\./, 'with a hint to REINDEX');
server_ok('corrupted metapage');

$node->safe_psql('postgres', 'REINDEX INDEX items_v_idx');
is($node->safe_psql('postgres', $knn), $expected, 'REINDEX repairs the metapage');

# --- a flipped counter in the metapage --------------------------------------
# Any other byte of the metadata is covered by its checksum: flip bytes of
# items_appended (metadata bytes 64..71) and of the head block (20..23).
for my $case ([ 24 + 64, 'a counter' ], [ 24 + 20, 'the head block number' ])
{
	my ($offset, $what) = @$case;

	$index_file = index_file('items_v_idx');
	$node->stop;
	flip_bytes($index_file, 0, $offset, 2);
	start_server();

	$err = query_error($knn, "k-NN query with $what of the metapage flipped");
	like(
		$err,
		qr/ERROR:  XX001: index "items_v_idx" has a corrupted metapage at block 0/,
		"flipped $what in the metapage reported with data_corrupted and block 0");
	like($err, qr/HINT:  Please REINDEX it\./, 'with a hint to REINDEX');
	server_ok("flipped $what in the metapage");

	$node->safe_psql('postgres', 'REINDEX INDEX items_v_idx');
	is($node->safe_psql('postgres', $knn), $expected,
		"REINDEX repairs the metapage ($what)");
}

# --- a line pointer past the end of the page --------------------------------
# Some rows are deleted first, so that VACUUM has items to flag.
$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 50 = 0');
$index_file = index_file('items_v_idx');
$node->stop;
{
	my $page = block_io($index_file, 1);
	my ($lps) = page_fields($page);
	my ($lp_off, $lp_flags, $lp_len) = @{ $lps->[0] };
	# same length, but starting 8 bytes before the end of the page
	my $w = ($block_size - 8) | ($lp_flags << 15) | ($lp_len << 17);
	substr($page, 24, 4) = pack('V', $w);
	block_io($index_file, 1, $page);
}
start_server();

$err = query_error($knn, 'k-NN query with a line pointer past the page');
like(
	$err,
	qr/ERROR:  XX002: index "items_v_idx" has a corrupted page at block 1/,
	'a line pointer past the page is reported with index_corrupted and the block');
like($err, qr/HINT:  Please REINDEX it\./, 'with a hint to REINDEX');
$err = query_error('VACUUM items', 'VACUUM with a line pointer past the page');
like(
	$err,
	qr/ERROR:  XX002: index "items_v_idx" has a corrupted page at block 1/,
	'VACUUM reports the line pointer past the page');
server_ok('line pointer past the page');
$node->safe_psql('postgres', 'REINDEX INDEX items_v_idx');
is($node->safe_psql('postgres', $knn), $expected,
	'REINDEX repairs the line pointer');
$node->safe_psql('postgres', 'VACUUM items');

# --- a chain that loops back ------------------------------------------------
$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 50 = 1');
$index_file = index_file('items_v_idx');
$node->stop;
{
	my $page = block_io($index_file, 2);
	substr($page, $block_size - $special_size, 4) = pack('V', 1);
	block_io($index_file, 2, $page);
}
start_server();

$err = query_error($knn, 'k-NN query on a looping chain');
like(
	$err,
	qr/ERROR:  XX002: index "items_v_idx" has a corrupted page at block 1/,
	'a chain that loops back is reported with index_corrupted');
like($err, qr/DETAIL:  The page chain is not in append order\./, 'with a detail');
$err = query_error('VACUUM items', 'VACUUM on a looping chain');
like($err, qr/ERROR:  XX002: index "items_v_idx" has a corrupted page at block 1/,
	'VACUUM reports the looping chain instead of walking it forever');
server_ok('looping chain');
$node->safe_psql('postgres', 'REINDEX INDEX items_v_idx');
is($node->safe_psql('postgres', $knn), $expected, 'REINDEX repairs the chain');
$node->safe_psql('postgres', 'VACUUM items');

# --- random bytes in a data page --------------------------------------------
# Each round deletes a few rows (so that VACUUM has items to flag), then,
# with the server stopped, overwrites 1 to 8 runs of 1 to 16 random bytes
# at random places of data block 1, 2 or 3 (any part: header, line
# pointers, items, special space), from a fixed seed so that a failing
# round can be replayed.  The k-NN query, vecpersist_prewarm and VACUUM may
# succeed (damage the checks cannot see, such as an item's flag bits) or
# fail with XX001 or XX002, nothing else; then REINDEX must repair the index.
srand(20240611);
my %outcomes;
for my $round (1 .. 12)
{
	my $residue = 10 + $round;
	$node->safe_psql('postgres', "DELETE FROM items WHERE id % 100 = $residue");
	$index_file = index_file('items_v_idx');
	$node->stop;
	my $blk = 1 + int(rand(3));
	my $page = block_io($index_file, $blk);
	my @runs;
	for (1 .. 1 + int(rand(8)))
	{
		my $len = 1 + int(rand(16));
		my $off = int(rand($block_size - $len));
		substr($page, $off, $len) = join('', map { chr(int(rand(256))) } 1 .. $len);
		push @runs, "$off+$len";
	}
	block_io($index_file, $blk, $page);
	start_server();
	foreach my $sql ($knn, q{SELECT vecpersist_prewarm('items_v_idx')}, 'VACUUM items')
	{
		my ($stdout, $stderr);
		$node->psql(
			'postgres', "\\set VERBOSITY verbose\n$sql",
			stdout => \$stdout,
			stderr => \$stderr);
		my ($state) = $stderr =~ /ERROR:  ([0-9A-Z]{5}):/;
		$state //= $stderr eq '' ? 'ok' : 'other';
		$outcomes{$state}++;
		ok($state =~ /^(ok|XX001|XX002)$/,
			"random round $round (block $blk, bytes @runs): "
			  . (split /\n/, $sql)[-1] . " -> $state")
		  or diag $stderr;
	}
	is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
		$start_time, "random round $round: postmaster not restarted");
	$node->safe_psql('postgres', 'REINDEX INDEX items_v_idx');
	is($node->safe_psql('postgres', $knn), $node->safe_psql('postgres', $exact),
		"random round $round: REINDEX repairs the index");
}
note 'outcomes of the random rounds: '
  . join(', ', map { "$_ $outcomes{$_}" } sort keys %outcomes);
$node->safe_psql('postgres', 'VACUUM items');

# the server log holds no crash
$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|server process .* was terminated|PANIC/,
	'no backend crashed');

done_testing();
