
# Copyright (c) vecpersist developers
#
# vecpersist_check(), the verifier (issue 17), against damaged indexes.
# Each page case builds a copy of an index, stops the server, changes
# bytes of the copy's file with perl, starts the server again and checks
# that vecpersist_check reports the first problem with the documented
# SQLSTATE, message (index, block, offset) and detail, and that the
# undamaged original still passes:
#
#  (a) clean indexes pass, with a DEBUG1 summary; a cached graph is
#      compared (also after inserts, deletes and VACUUM);
#  (b) a flipped payload byte: XX001, the item's block and offset, stored
#      and computed checksums; in the fragment of a value spanning pages:
#      XX001 at the block where the value starts;
#  (c) a broken item header (length, unknown flag), a line pointer past
#      the page, a continuation page that lost its fragment flag: XX002;
#  (d) a chain that loops back or points past the end: XX002;
#  (e) the metapage: a flipped counter (XX001, its checksum), counters
#      changed with the checksum renewed (XX002, expected vs found);
#  (f) heapallindexed: a row inserted while the index was not ready
#      (pg_index.indisready = false), and an item whose value differs from
#      its row (checksum renewed): XX002 naming the heap tuple; also with a
#      Bloom filter (maintenance_work_mem too small for the exact set);
#  (g) the graph: a snapshot taken when a node was deleted, loaded after
#      its item was made live again on disk: XX002 naming the item, fixed
#      by vecpersist_evict; on a second server with tiny shared_buffers,
#      pages changed on disk under a cached graph (the buffers evicted): a
#      node whose heap TID differs, a live node for an item made dead;
#      a flagged item VACUUM did not announce is tolerated;
#  (h) a graph whose entry point does not reach every node is a NOTICE,
#      not an error;
#  (j) seeded rounds of random bytes anywhere in a page: a pass, XX001 or
#      XX002, never anything else, never a crash;
#  (i) pgbench: inserts, updates, deletes, VACUUM, evictions and k-NN
#      queries beside vecpersist_check(heapallindexed) in 4 clients: no
#      false report.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('verify');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'vecpersist'
autovacuum = off
jit = off
statement_timeout = '120s'
});
$node->start;

my $block_size = $node->safe_psql('postgres', 'SHOW block_size');
my $special_size = 16;    # MAXALIGN(sizeof(VpPageOpaqueData))
my $meta_off = 24;        # the metadata follow the page header

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION vecpersist;
CREATE TABLE items (id int PRIMARY KEY, v vector(16));
INSERT INTO items
  SELECT i, ARRAY(SELECT sin(i * 0.7 + d * 1.3) FROM generate_series(1, 16) d)::real[]::vector
    FROM generate_series(1, 2000) i;
CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops);
CREATE TABLE big (id int PRIMARY KEY, v vector(3000));
INSERT INTO big
  SELECT i, ARRAY(SELECT sin(i * 0.3 + d * 0.01) FROM generate_series(1, 3000) d)::real[]::vector
    FROM generate_series(1, 20) i;
CREATE INDEX big_v_idx ON big USING hnsw (v vector_l2_ops);
});

# --- helpers ------------------------------------------------------------------

# CRC-32C (Castagnoli), as PostgreSQL's pg_crc32c computes it.
my @crc_table;
for my $i (0 .. 255)
{
	my $c = $i;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$crc_table[$i] = $c;
}

sub crc32c
{
	my ($data) = @_;
	my $crc = 0xFFFFFFFF;
	$crc = $crc_table[ ($crc ^ $_) & 0xFF ] ^ ($crc >> 8) for unpack('C*', $data);
	return $crc ^ 0xFFFFFFFF;
}

# The file of relation $rel on $n.
sub rel_file
{
	my ($n, $rel) = @_;
	return $n->data_dir . '/'
	  . $n->safe_psql('postgres', "SELECT pg_relation_filepath('$rel')");
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

# The line pointers [lp_off, lp_flags, lp_len] and special space (next,
# seq, flags) of a page.
sub page_fields
{
	my ($page) = @_;
	my $pd_lower = unpack('v', substr($page, 12, 2));
	my @lps = map {
		my $w = unpack('V', substr($page, 24 + 4 * $_, 4));
		[ $w & 0x7FFF, ($w >> 15) & 3, $w >> 17 ]
	} 0 .. (($pd_lower - 24) / 4 - 1);
	my ($next, $seq, $flags) =
	  unpack('VVv', substr($page, $block_size - $special_size, 10));
	return (\@lps, $next, $seq, $flags);
}

# Set the special space's next link of a page.
sub set_next
{
	my ($page, $next) = @_;
	substr($page, $block_size - $special_size, 4) = pack('V', $next);
	return $page;
}

# The byte offset of item $off (1-based) of a page, and its length.
sub item_at
{
	my ($page, $off) = @_;
	my ($lps) = page_fields($page);
	return @{ $lps->[ $off - 1 ] }[ 0, 2 ];
}

# Renew the CRC32C of the (whole, non-spanning) item $off of a page:
# CRC32C of heap TID (6 bytes), payload length (4) and payload.
sub renew_item_crc
{
	my ($page, $off) = @_;
	my ($start, $len) = item_at($page, $off);
	my $item = substr($page, $start, $len);
	my $plen = unpack('V', substr($item, 12, 4));
	my $crc = crc32c(substr($item, 0, 6) . pack('V', $plen) . substr($item, 16, $plen));
	substr($page, $start + 8, 4) = pack('V', $crc);
	return $page;
}

# Renew the metapage's checksum: CRC32C of its 104 bytes without the crc
# field (bytes 40..43).
sub renew_meta_crc
{
	my ($page) = @_;
	my $meta = substr($page, $meta_off, 104);
	my $crc = crc32c(substr($meta, 0, 40) . substr($meta, 44));
	substr($page, $meta_off + 40, 4) = pack('V', $crc);
	return $page;
}

# Metapage u64 fields (offset in the metadata).
my %meta_u64 = (
	items_appended => 64,
	items_dead => 72,
	items_recycled => 80,
	payload_bytes => 96);

sub meta_get
{
	my ($page, $field) = @_;
	return unpack('Q<', substr($page, $meta_off + $meta_u64{$field}, 8));
}

sub meta_set
{
	my ($page, $field, $value) = @_;
	substr($page, $meta_off + $meta_u64{$field}, 8) = pack('Q<', $value);
	return $page;
}

# Run $sql on $n; returns (exit code, stdout, stderr) with verbose errors.
sub run_sql
{
	my ($n, $sql) = @_;
	my ($stdout, $stderr);
	my $rc = $n->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout,
		stderr => \$stderr);
	return ($rc, $stdout, $stderr);
}

# vecpersist_check($index, $heap) must fail; returns its stderr.
sub check_fails
{
	my ($n, $index, $heap, $label) = @_;
	my ($rc, undef, $stderr) = run_sql($n,
		"SELECT vecpersist_check('$index', $heap)");
	isnt($rc, 0, "$label: vecpersist_check fails");
	return $stderr;
}

# vecpersist_check($index, $heap) must pass; returns its stderr (DEBUG1).
sub check_passes
{
	my ($n, $index, $heap, $label) = @_;
	my ($rc, undef, $stderr) = run_sql($n,
		"SET client_min_messages = debug1;\nSELECT vecpersist_check('$index', $heap)");
	is($rc, 0, "$label: vecpersist_check passes") or diag $stderr;
	return $stderr;
}

# A fresh copy of an index ON $table ($opclass), its file, and its pages'
# fields; built while the server runs.
sub make_copy
{
	my ($table, $col, $opclass) = @_;
	$node->safe_psql('postgres', "DROP INDEX IF EXISTS copy_idx;
		CREATE INDEX copy_idx ON $table USING hnsw ($col $opclass);
		CHECKPOINT");
	return rel_file($node, 'copy_idx');
}

# Stop, let $edit change the copy's file, start.
sub damage
{
	my ($file, $edit) = @_;
	$node->stop;
	$edit->($file);
	$node->start;
	return;
}

# --- (a) clean indexes, with and without a cached graph ----------------------

my $out = check_passes($node, 'items_v_idx', 'true', 'clean index');
like(
	$out,
	qr/DEBUG:  00000: verified hnsw index "items_v_idx": 21 pages, 2000 items \(0 dead, 0 of them with recycled pages\), 0 free pages/,
	'DEBUG1 summary of the walk');
like($out, qr/Graph: 2000 nodes compared, 0 unreachable\./,
	'the cached graph (built by CREATE INDEX) is compared');
like($out, qr/Heap: 2000 rows found among 2000 items, exactly\./,
	'heapallindexed finds every row, with an exact set');
$out = check_passes($node, 'big_v_idx', 'true', 'clean index of values spanning pages');
like($out, qr/20 items/, 'every spanning value is read');

$node->safe_psql(
	'postgres', q{
INSERT INTO items
  SELECT i, ARRAY(SELECT cos(i * 0.3 + d) FROM generate_series(1, 16) d)::real[]::vector
    FROM generate_series(2001, 2300) i;
DELETE FROM items WHERE id % 9 = 0;
UPDATE items SET v = v + v WHERE id % 13 = 0;
DELETE FROM big WHERE id IN (3, 9, 15);
});
$node->safe_psql('postgres', 'VACUUM items, big');
$out = check_passes($node, 'items_v_idx', 'true', 'after inserts, updates, deletes, VACUUM');
like($out, qr/Graph: \d+ nodes compared/, 'the graph VACUUM updated is compared');
$out = check_passes($node, 'big_v_idx', 'true',
	'after VACUUM recycled pages of dead spanning values');
like($out, qr/\(3 dead, [1-3] of them with recycled pages\), [1-9]\d* free pages/,
	'pages of dead spanning values were recycled, and that is fine');
$node->safe_psql('postgres', q{SELECT vecpersist_evict('items_v_idx')});
$out = check_passes($node, 'items_v_idx', 'false', 'no graph cached');
like($out, qr/Graph: none cached, not compared\.  Heap: not checked\./,
	'no graph is built just to be checked');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM vecpersist_cache WHERE indexrelid = 'items_v_idx'::regclass}),
	'0', 'vecpersist_check left no graph behind');
$node->safe_psql('postgres', 'REINDEX TABLE items; REINDEX TABLE big');

# --- (b) a flipped payload byte -------------------------------------------------

my $file = make_copy('items', 'v', 'vector_l2_ops');
damage(
	$file,
	sub {
		my $page = block_io($_[0], 1);
		my ($start) = item_at($page, 3);
		substr($page, $start + 16 + 5, 1) ^= "\x01";
		block_io($_[0], 1, $page);
	});
my $err = check_fails($node, 'copy_idx', 'false', 'flipped payload byte');
like(
	$err,
	qr/ERROR:  XX001: index "copy_idx" has a corrupted item at block 1, offset 3/,
	'XX001 naming block 1, offset 3');
like(
	$err,
	qr/DETAIL:  The item's checksum does not match its contents: stored [0-9A-F]{8}, computed [0-9A-F]{8}\./,
	'detail gives the stored and computed checksums');
like($err, qr/HINT:  Please REINDEX it\./, 'hint to REINDEX');
check_passes($node, 'items_v_idx', 'true', 'the original beside the damaged copy');

# in the fragment of a value spanning pages: the block where it starts
$file = make_copy('big', 'v', 'vector_l2_ops');
my ($cont_block, $cont_lp);
for my $blk (1 .. 10)
{
	my ($lps, undef, undef, $flags) = page_fields(block_io($file, $blk));
	if ($flags & 4)
	{
		($cont_block, $cont_lp) = ($blk, $lps->[0]);
		last;
	}
}
ok(defined $cont_block, "copy of big_v_idx has a continuation page ($cont_block)");
damage(
	$file,
	sub {
		my $page = block_io($_[0], $cont_block);
		substr($page, $cont_lp->[0] + 100, 1) ^= "\x10";
		block_io($_[0], $cont_block, $page);
	});
$err = check_fails($node, 'copy_idx', 'false', 'flipped byte of a fragment');
my $head_block = $cont_block - 1;
like(
	$err,
	qr/ERROR:  XX001: index "copy_idx" has a corrupted item at block $head_block, offset \d+/,
	'XX001 naming the block where the spanning value starts');

# --- (c) item headers, line pointers, fragments ---------------------------------

$file = make_copy('items', 'v', 'vector_l2_ops');
damage(
	$file,
	sub {
		my $page = block_io($_[0], 1);
		my ($start) = item_at($page, 2);
		substr($page, $start + 12, 4) = pack('V', 70000);    # its length
		block_io($_[0], 1, $page);
	});
$err = check_fails($node, 'copy_idx', 'false', 'item length');
like(
	$err,
	qr/ERROR:  XX002: index "copy_idx" has a corrupted item at block 1, offset 2/,
	'a wrong item length: XX002 naming block 1, offset 2');
like(
	$err,
	qr/DETAIL:  Its header says 70000 payload bytes; 64 follow it on this page \(at most \d+ in all\)\./,
	'detail: what the header says, what the page holds');

$file = make_copy('items', 'v', 'vector_l2_ops');
damage(
	$file,
	sub {
		my $page = block_io($_[0], 2);
		my ($start) = item_at($page, 5);
		substr($page, $start + 6, 2) = pack('v', 0x10);    # its flags
		block_io($_[0], 2, $page);
	});
$err = check_fails($node, 'copy_idx', 'false', 'item flags');
like(
	$err,
	qr/ERROR:  XX002: index "copy_idx" has a corrupted item at block 2, offset 5\nDETAIL:  Its flags are 0x0010; only 0x0001 \(dead\) and 0x0002 \(spans pages\) are defined\./,
	'an unknown item flag: XX002 with the flags found and allowed');

$file = make_copy('items', 'v', 'vector_l2_ops');
damage(
	$file,
	sub {
		my $page = block_io($_[0], 1);
		my ($lps) = page_fields($page);
		my ($lp_off, $lp_flags, $lp_len) = @{ $lps->[0] };
		substr($page, 24, 4) =
		  pack('V', ($block_size - 8) | ($lp_flags << 15) | ($lp_len << 17));
		block_io($_[0], 1, $page);
	});
$err = check_fails($node, 'copy_idx', 'false', 'line pointer past the page');
like(
	$err,
	qr/ERROR:  XX002: index "copy_idx" has a corrupted item at block 1, offset 1\nDETAIL:  Its line pointer \(offset 8184, length 80\) lies outside the page's item space \(\d+ to 8176\)\./,
	'a line pointer past the page: XX002 with its offset and length');

$file = make_copy('big', 'v', 'vector_l2_ops');
damage(
	$file,
	sub {
		my $page = block_io($_[0], $cont_block);
		substr($page, $block_size - $special_size + 8, 2) = pack('v', 2);  # data only
		block_io($_[0], $cont_block, $page);
	});
$err = check_fails($node, 'copy_idx', 'false', 'continuation page without its flag');
like(
	$err,
	qr/ERROR:  XX002: index "copy_idx" has a corrupted page at block $cont_block\nDETAIL:  The page should continue the item at block $head_block, offset \d+ \(\d+ of its 12000 bytes read\), but does not begin with a fragment\./,
	'a page that should continue a value: XX002 naming both places');

# --- (d) the chain ----------------------------------------------------------------

$file = make_copy('items', 'v', 'vector_l2_ops');
my $last = $node->safe_psql('postgres',
	"SELECT pg_relation_size('copy_idx') / $block_size - 1");
my $before_last = $last - 1;
damage($file, sub { block_io($_[0], 3, set_next(block_io($_[0], 3), 1)) });
$err = check_fails($node, 'copy_idx', 'false', 'chain loop');
like(
	$err,
	qr/ERROR:  XX002: index "copy_idx" has a corrupted page at block 1\nDETAIL:  The page chain is not in append order: the page is stamped 1, the one before it 3\./,
	'a chain that loops back: XX002 with the stamps');

$file = make_copy('items', 'v', 'vector_l2_ops');
damage($file, sub { block_io($_[0], 3, set_next(block_io($_[0], 3), 99999)) });
$err = check_fails($node, 'copy_idx', 'false', 'chain past the end');
like(
	$err,
	qr/ERROR:  XX002: index "copy_idx" has a corrupted page at block 3\nDETAIL:  The page links to block 99999, outside the data pages of the index \(blocks 1 to $last\)\./,
	'a link past the end: XX002 naming the page that links');

$file = make_copy('items', 'v', 'vector_l2_ops');
damage($file,
	sub { block_io($_[0], $before_last, set_next(block_io($_[0], $before_last), 0xFFFFFFFF)) });
$err = check_fails($node, 'copy_idx', 'false', 'chain cut short');
like(
	$err,
	qr/ERROR:  XX002: index "copy_idx" has a corrupted page at block $before_last\nDETAIL:  The chain ends at this page, stamped $before_last, before the tail: block $last, stamped $last\./,
	'a chain that ends before the tail: XX002');

# --- (e) the metapage ----------------------------------------------------------------

$file = make_copy('items', 'v', 'vector_l2_ops');
damage(
	$file,
	sub {
		my $page = block_io($_[0], 0);
		block_io($_[0], 0, meta_set($page, 'items_appended', meta_get($page, 'items_appended') + 1));
	});
$err = check_fails($node, 'copy_idx', 'false', 'flipped counter');
like(
	$err,
	qr/ERROR:  XX001: index "copy_idx" has a corrupted metapage at block 0\nDETAIL:  The metapage's checksum does not match its contents: stored [0-9A-F]{8}, computed [0-9A-F]{8}\./,
	'a counter changed under the checksum: XX001');

my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
my ($n1, $bytes, $bytes4) = ($n + 1, 64 * $n, 64 * $n + 4);
for my $case (
	[ 'items_appended', 1, qr/It counts $n1 items appended and 0 recycled, so $n1 in the chain, but the chain holds $n\./ ],
	[ 'items_dead', 5, qr/It counts 5 dead items, but the chain holds 0\./ ],
	[ 'payload_bytes', 4, qr/It counts $bytes4 payload bytes appended and nothing recycled, but the chain holds $bytes\./ ])
{
	my ($field, $delta, $detail) = @$case;
	$file = make_copy('items', 'v', 'vector_l2_ops');
	damage(
		$file,
		sub {
			my $page = block_io($_[0], 0);
			$page = meta_set($page, $field, meta_get($page, $field) + $delta);
			block_io($_[0], 0, renew_meta_crc($page));
		});
	$err = check_fails($node, 'copy_idx', 'false', "$field off by $delta");
	like(
		$err,
		qr/ERROR:  XX002: index "copy_idx" has a corrupted metapage at block 0\nDETAIL:  $detail/,
		"$field off by $delta, checksum renewed: XX002 with expected and found");
}

# a free page count with no free list
$file = make_copy('items', 'v', 'vector_l2_ops');
damage(
	$file,
	sub {
		my $page = block_io($_[0], 0);
		substr($page, $meta_off + 32, 4) = pack('V', 1);
		block_io($_[0], 0, renew_meta_crc($page));
	});
$err = check_fails($node, 'copy_idx', 'false', 'free pages');
like($err, qr/DETAIL:  It counts 1 free pages, but its free list is empty\./,
	'a free page count without a free list');
$node->safe_psql('postgres', 'DROP INDEX copy_idx');

# --- (f) heapallindexed -----------------------------------------------------------

# a row inserted while the index was not ready for inserts
$node->safe_psql(
	'postgres', q{
UPDATE pg_index SET indisready = false WHERE indexrelid = 'items_v_idx'::regclass;
});
$node->safe_psql('postgres',
	q{INSERT INTO items VALUES (5000, array_fill(0.5, ARRAY[16])::real[]::vector)});
$node->safe_psql(
	'postgres', q{
UPDATE pg_index SET indisready = true WHERE indexrelid = 'items_v_idx'::regclass;
});
my $tid = $node->safe_psql('postgres', 'SELECT ctid FROM items WHERE id = 5000');
$tid =~ s/[()]//g;
my ($tid_block, $tid_off) = split /,/, $tid;
check_passes($node, 'items_v_idx', 'false', 'a row missing from the index, pages only');
$err = check_fails($node, 'items_v_idx', 'true', 'a row missing from the index');
like(
	$err,
	qr/ERROR:  XX002: heap tuple \($tid_block,$tid_off\) of table "items" has no matching item in index "items_v_idx"\nDETAIL:  No live item of the index has that heap TID\./,
	'heapallindexed names the heap tuple that has no item');

$node->safe_psql('postgres', 'REINDEX INDEX items_v_idx');
check_passes($node, 'items_v_idx', 'true', 'after REINDEX the row has its item');

# an item whose value is not its row's (checksum renewed: the pages agree)
$file = make_copy('items', 'v', 'vector_l2_ops');
damage(
	$file,
	sub {
		my $page = block_io($_[0], 2);
		my ($start) = item_at($page, 4);
		substr($page, $start + 16, 4) = pack('f<', 42.0);
		block_io($_[0], 2, renew_item_crc($page, 4));
	});
check_passes($node, 'copy_idx', 'false', 'a changed value with its checksum renewed');
$err = check_fails($node, 'copy_idx', 'true', 'an item holding another value');
like(
	$err,
	qr/ERROR:  XX002: heap tuple \(\d+,\d+\) of table "items" has no matching item in index "copy_idx"\nDETAIL:  The live item at block 2, offset 4 has that heap TID, but holds another value\./,
	'heapallindexed compares values too, naming the item');
$node->safe_psql('postgres', 'DROP INDEX copy_idx');

# a Bloom filter: more live items than 1 MB of maintenance_work_mem holds
$node->safe_psql(
	'postgres', q{
CREATE TABLE many (id int PRIMARY KEY, v vector(2));
INSERT INTO many SELECT i, ARRAY[sin(i), cos(i * 0.37)]::real[]::vector
  FROM generate_series(1, 70000) i;
CREATE INDEX many_v_idx ON many USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 8);
});
$out = check_passes($node, 'many_v_idx',
	"true);\nSET maintenance_work_mem = '1MB';\nSELECT vecpersist_check('many_v_idx', true",
	'70000 items in 1 MB');
like($out, qr/Heap: 70000 rows found among 70000 items by a Bloom filter \([\d.]+% of its bits set\)\./,
	'past maintenance_work_mem, a Bloom filter');
$node->safe_psql('postgres',
	q{UPDATE pg_index SET indisready = false WHERE indexrelid = 'many_v_idx'::regclass});
$node->safe_psql('postgres', q{INSERT INTO many VALUES (70001, '[7,7]')});
$node->safe_psql('postgres',
	q{UPDATE pg_index SET indisready = true WHERE indexrelid = 'many_v_idx'::regclass});
my ($rc, undef, $stderr) = run_sql($node,
	"SET maintenance_work_mem = '1MB';\nSELECT vecpersist_check('many_v_idx', true)");
isnt($rc, 0, 'a row missing, with a Bloom filter: fails');
like(
	$stderr,
	qr/ERROR:  XX002: heap tuple \(\d+,\d+\) of table "many" has no matching item in index "many_v_idx"\nDETAIL:  No live item of the index has that heap TID and value\./,
	'the Bloom filter finds the missing row');
$node->safe_psql('postgres', 'DROP TABLE many');

# --- (g) the graph ------------------------------------------------------------------

# A snapshot saved while a node was deleted, loaded after its item was made
# live again on disk (the metapage's count and checksum renewed, so the
# pages are consistent): the loaded graph has a deleted node for a live item.
$node->safe_psql(
	'postgres', q{
CREATE TABLE snap (id int PRIMARY KEY, v vector(8));
INSERT INTO snap SELECT i, ARRAY(SELECT sin(i * 0.9 + d) FROM generate_series(1, 8) d)::real[]::vector
  FROM generate_series(1, 500) i;
CREATE INDEX snap_v_idx ON snap USING hnsw (v vector_l2_ops);
DELETE FROM snap WHERE id = 7;
});
$node->safe_psql('postgres', 'VACUUM snap');
check_passes($node, 'snap_v_idx', 'false', 'graph after VACUUM deleted a node');
$file = rel_file($node, 'snap_v_idx');
my ($dead_block, $dead_off);
$node->stop;
for my $blk (1 .. 20)
{
	my $page = block_io($file, $blk);
	my ($lps) = page_fields($page);
	for my $i (0 .. $#$lps)
	{
		my ($start, undef, $len) = @{ $lps->[$i] };
		next if $len < 16 || !(unpack('v', substr($page, $start + 6, 2)) & 1);
		($dead_block, $dead_off) = ($blk, $i + 1);
		substr($page, $start + 6, 2) = pack('v', 0);
		block_io($file, $blk, $page);
		last;
	}
	last if defined $dead_block;
}
ok(defined $dead_block, "the dead item found at block $dead_block, offset $dead_off, made live");
{
	my $page = block_io($file, 0);
	block_io($file, 0,
		renew_meta_crc(meta_set($page, 'items_dead', meta_get($page, 'items_dead') - 1)));
}
my $log_offset = -s $node->logfile;
$node->start;
$node->safe_psql('postgres',
	q{SET enable_seqscan = off; SELECT id FROM snap ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 1});
ok( $node->log_contains(qr/loaded hnsw graph of index "snap_v_idx"/, $log_offset),
	'the graph was loaded from its snapshot');
$err = check_fails($node, 'snap_v_idx', 'false', 'deleted node for a live item');
like(
	$err,
	qr/ERROR:  XX002: hnsw graph of index "snap_v_idx" does not match the item at block $dead_block, offset $dead_off\nDETAIL:  The item is live, but its node \d+ is deleted\.\nHINT:  The index pages are intact; the graph cached in shared memory is not\.  REINDEX INDEX snap_v_idx builds a new graph \(vecpersist_evict\(\) alone may load the same one again from its snapshot\)\./,
	'a deleted node for a live item: XX002 naming the item, hint to REINDEX');
$node->safe_psql('postgres', q{SELECT vecpersist_evict('snap_v_idx')});
$out = check_passes($node, 'snap_v_idx', 'false', 'after vecpersist_evict');
like($out, qr/Graph: none cached/, 'no graph to compare after vecpersist_evict');
$node->safe_psql('postgres', 'REINDEX INDEX snap_v_idx');
$out = check_passes($node, 'snap_v_idx', 'true', 'after REINDEX');
like($out, qr/Graph: 499 nodes compared/, 'the new graph is compared and matches');
$node->safe_psql('postgres', 'DROP TABLE snap');

# Pages changed on disk under a cached graph: on a server with 16 shared
# buffers, CHECKPOINT, change the file, then read another table through its
# index until pg_buffercache shows no buffer of the index (clean buffers are
# dropped, not written back), so the next read of the index sees the file.
my $small = PostgreSQL::Test::Cluster->new('small');
$small->init;
$small->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'vecpersist'
shared_buffers = 128kB
autovacuum = off
jit = off
statement_timeout = '120s'
});
$small->start;
$small->safe_psql(
	'postgres', q{
CREATE EXTENSION vecpersist;
CREATE EXTENSION pg_buffercache;
CREATE TABLE t (id int PRIMARY KEY, v vector(8));
INSERT INTO t SELECT i, ARRAY(SELECT cos(i * 0.4 + d) FROM generate_series(1, 8) d)::real[]::vector
  FROM generate_series(1, 300) i;
CREATE INDEX t_v_idx ON t USING hnsw (v vector_l2_ops);
CREATE TABLE filler (id int PRIMARY KEY, pad text);
INSERT INTO filler SELECT i, repeat('x', 500) FROM generate_series(1, 3000) i;
CHECKPOINT;
});
my $t_file = rel_file($small, 't_v_idx');
my $t_node = $small->safe_psql('postgres', q{SELECT pg_relation_filenode('t_v_idx')});

# Evict every buffer of t_v_idx; returns whether that worked.
sub evict_index
{
	for (1 .. 20)
	{
		$small->safe_psql('postgres',
			q{SET enable_seqscan = off; SET enable_bitmapscan = off;
			  SELECT sum(length(pad)) FROM filler WHERE id > 0});
		return 1
		  if $small->safe_psql('postgres',
			"SELECT count(*) FROM pg_buffercache WHERE relfilenode = $t_node") eq '0';
	}
	return 0;
}

check_passes($small, 't_v_idx', 'true', 'small server: clean');
my $orig1 = block_io($t_file, 1);
my $orig0 = block_io($t_file, 0);

SKIP:
{
	# a node whose heap TID is not its item's any more
	{
		my $page = $orig1;
		my ($start) = item_at($page, 3);
		my $posid = unpack('v', substr($page, $start + 4, 2));
		substr($page, $start + 4, 2) = pack('v', $posid + 1);
		block_io($t_file, 1, renew_item_crc($page, 3));
	}
	skip 'the buffers of the index could not be evicted', 8 unless evict_index();
	$err = check_fails($small, 't_v_idx', 'false', 'a node with another heap TID');
	like(
		$err,
		qr/ERROR:  XX002: hnsw graph of index "t_v_idx" does not match the item at block 1, offset 3\nDETAIL:  Its node \d+ has heap TID \(\d+,\d+\); the item has \(\d+,\d+\)\./,
		'a node whose heap TID differs from its item: XX002');

	# a live node for an item flagged dead and counted: announced, so wrong
	{
		my $page = $orig1;
		my ($start) = item_at($page, 5);
		substr($page, $start + 6, 2) = pack('v', 1);
		block_io($t_file, 1, $page);
		block_io($t_file, 0,
			renew_meta_crc(meta_set($orig0, 'items_dead', meta_get($orig0, 'items_dead') + 1)));
	}
	evict_index();
	$err = check_fails($small, 't_v_idx', 'false', 'a live node for a dead item');
	like(
		$err,
		qr/ERROR:  XX002: hnsw graph of index "t_v_idx" does not match the item at block 1, offset 5\nDETAIL:  The item is dead, but its node \d+ is live\./,
		'a live node for a dead item VACUUM counted: XX002');

	# flagged but not counted (a VACUUM that stopped before announcing it):
	# the graph has not heard of it yet, which is fine
	block_io($t_file, 0, $orig0);
	evict_index();
	$out = check_passes($small, 't_v_idx', 'false', 'a flag no VACUUM announced');
	like($out, qr/1 dead/, 'the unannounced dead item was seen');

	block_io($t_file, 1, $orig1);
	evict_index();
	check_passes($small, 't_v_idx', 'true', 'small server: the original pages again');
}
$small->stop;
ok(!$small->log_contains(qr/PANIC|terminated by signal/), 'small server: no crash');

# --- (h) nodes the entry point does not reach: a NOTICE -----------------------------

# m = 2 and a second cluster inserted after the build leave level 0 split,
# often; whether it happens depends on the random levels of the build.
$node->safe_psql(
	'postgres', q{
CREATE TABLE sparse_graph (id int, v vector(4));
INSERT INTO sparse_graph SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), 0]::real[]::vector
  FROM generate_series(1, 300) i;
CREATE INDEX sparse_graph_v_idx ON sparse_graph USING hnsw (v vector_l2_ops)
  WITH (m = 2, ef_construction = 4, quantization = none);
INSERT INTO sparse_graph SELECT i, ARRAY[100 + sin(i), cos(i), 50, cos(3 * i)]::real[]::vector
  FROM generate_series(301, 600) i;
});
($rc, undef, $stderr) = run_sql($node, q{SELECT vecpersist_check('sparse_graph_v_idx', true)});
is($rc, 0, 'a sparse graph: vecpersist_check passes');
if ($stderr =~ /NOTICE/)
{
	like(
		$stderr,
		qr/NOTICE:  00000: hnsw graph of index "sparse_graph_v_idx" has \d+ live nodes that its entry point does not reach on level 0\nDETAIL:  This is not corruption: the index pages are intact, and the graph is a cache of them\.  Searches may miss these rows until the graph is rebuilt\.\nHINT:  REINDEX INDEX sparse_graph_v_idx builds a new graph\./,
		'unreachable nodes: a NOTICE, not an error');
}
else
{
	pass('no unreachable node in this build of the graph');
}
$node->safe_psql('postgres', 'DROP TABLE sparse_graph');

# --- (j) random bytes: an error of the two kinds, or a pass, never a crash --------

# Seeded rounds (VP_FUZZ_ROUNDS of them, 8 by default) each overwrite 1 to
# 8 runs of 1 to 16 random bytes anywhere in block 0, 1, 2 or the last
# block of a fresh copy (header, line pointers, items, special space).
srand(17021);
my %outcomes;
my $rounds = $ENV{VP_FUZZ_ROUNDS} // 8;
for my $round (1 .. $rounds)
{
	$file = make_copy('items', 'v', 'vector_l2_ops');
	my $nblk = (-s $file) / $block_size;
	my @choices = (0, 1, 2, $nblk - 1);
	my $blk = $choices[ int(rand(@choices)) ];
	my @runs;
	damage(
		$file,
		sub {
			my $page = block_io($_[0], $blk);
			for (1 .. 1 + int(rand(8)))
			{
				my $len = 1 + int(rand(16));
				my $off = int(rand($block_size - $len));
				substr($page, $off, $len) = join('', map { chr(int(rand(256))) } 1 .. $len);
				push @runs, "$off+$len";
			}
			block_io($_[0], $blk, $page);
		});
	my ($frc, undef, $ferr) = run_sql($node, q{SELECT vecpersist_check('copy_idx', true)});
	my ($state) = $ferr =~ /ERROR:  ([0-9A-Z]{5}):/;
	$state //= $frc == 0 ? 'ok' : 'other';
	$outcomes{$state}++;
	ok($state =~ /^(ok|XX001|XX002)$/,
		"random round $round (block $blk, bytes @runs): $state")
	  or diag $ferr;
}
note 'outcomes of the random rounds: '
  . join(', ', map { "$_ $outcomes{$_}" } sort keys %outcomes);
$node->safe_psql('postgres', 'DROP INDEX copy_idx');

# --- (i) beside inserts, updates, deletes, VACUUM and evictions ---------------------

$node->safe_psql(
	'postgres', q{
CREATE TABLE conc (id serial PRIMARY KEY, v vector(8));
INSERT INTO conc (v) SELECT ARRAY(SELECT sin(i * 0.3 + d) FROM generate_series(1, 8) d)::real[]::vector
  FROM generate_series(1, 1000) i;
CREATE INDEX conc_v_idx ON conc USING hnsw (v vector_l2_ops);
});
my $vec = q{(SELECT array_agg(random())::real[]::vector FROM generate_series(1, 8))};
$node->pgbench(
	'--no-vacuum --client=4 --jobs=2 --transactions=60',
	0,
	[qr{actually processed: 240/240}],
	[qr{^$}],
	'vecpersist_check beside inserts, updates, deletes, VACUUM, evictions and queries',
	{
		'021_insert@6' => "INSERT INTO conc (v) SELECT $vec;",
		'021_update@3' => "\\set id random(1, 1300)\nUPDATE conc SET v = $vec WHERE id = :id;",
		'021_delete@3' => "\\set id random(1, 1300)\nDELETE FROM conc WHERE id = :id;",
		'021_vacuum@1' => "VACUUM conc;",
		'021_evict@1' => "SELECT vecpersist_evict('conc_v_idx');",
		'021_query@3' => "SET client_min_messages = warning;\nSELECT id FROM conc ORDER BY v <-> $vec LIMIT 5;",
		'021_check@3' => "SET client_min_messages = warning;\nSELECT vecpersist_check('conc_v_idx', true);",
	});
check_passes($node, 'conc_v_idx', 'true', 'after the concurrent load');

$node->stop;
ok(!$node->log_contains(qr/PANIC|terminated by signal/), 'no crash');

done_testing();
