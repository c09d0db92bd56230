
# Copyright (c) vecpersist developers
#
# pgvector's setting names (hnsw.ef_search, hnsw.iterative_scan,
# hnsw.max_scan_tuples, hnsw.scan_mem_multiplier) are defined only in
# backends of a database whose access method hnsw is vecpersist's, so that
# pgvector's library can still define them in another database of the same
# cluster (pgvector itself is not needed here, nor used).
#
#  (a) Database "vp" (CREATE EXTENSION vecpersist): the session's very first
#      statement, SET hnsw.ef_search = 0, fails with PostgreSQL's range
#      message; the four names are in pg_settings.
#  (b) Databases without vecpersist's hnsw: "plain" (no access method hnsw
#      at all) and "other" (an access method hnsw whose handler is a
#      built-in function, even one named vecpersist_hnsw_handler, as a
#      stand-in for pgvector's): SET hnsw.ef_search takes any string, a
#      placeholder, and pg_settings has no hnsw.* row.
#  (c) Values given before the definition are carried over: from the
#      connection's options (source "client", and the value scans use);
#      a bad one is reported as a WARNING and the default applies.
#  (d) A session that runs CREATE EXTENSION vecpersist gets the names from
#      its next statement on, keeping what it SET before, also SET LOCAL
#      inside the same transaction.
#  (e) Without shared_preload_libraries: a SET before the library is
#      loaded is a placeholder; once a statement loads the library, the
#      value is kept and further SETs are checked.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VpCacheTest;

my $range_error =
  qr/0 is outside the valid range for parameter "hnsw\.ef_search" \(1 \.\. 1000\)/;

my $node = start_node('pgvnames', preload => 1);

$node->safe_psql('postgres', $_)
  for ('CREATE DATABASE vp', 'CREATE DATABASE plain', 'CREATE DATABASE other',
	'CREATE DATABASE late1', 'CREATE DATABASE late2');
$node->safe_psql('vp', q{
CREATE EXTENSION vecpersist;
CREATE FUNCTION vp_effective(OUT ef_search int, OUT iterative_scan text,
                             OUT max_scan_tuples int, OUT scan_mem_multiplier float8)
  AS '$libdir/vecpersist', 'vp_pgvector_settings_effective' LANGUAGE C;
});
$node->safe_psql('other', q{
CREATE FUNCTION vecpersist_hnsw_handler(internal) RETURNS index_am_handler
  LANGUAGE internal AS 'bthandler';
CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER vecpersist_hnsw_handler;
});

my $hnsw_rows =
  q{SELECT count(*) FROM pg_settings WHERE name LIKE 'hnsw.%'};

# (a) vecpersist's database
my ($ret, $out, $err) =
  $node->psql('vp', 'SET hnsw.ef_search = 0', on_error_stop => 1);
isnt($ret, 0, 'vp: the first statement SET hnsw.ef_search = 0 fails');
like($err, $range_error, 'vp: with the range message pgvector gives');
is($node->safe_psql('vp', $hnsw_rows), '4', 'vp: four hnsw.* settings');
is( $node->safe_psql('vp', 'SET hnsw.ef_search = 400; SHOW hnsw.ef_search'),
	'400', 'vp: a good value reads back');

# (b) databases whose hnsw is not ours stay as PostgreSQL leaves them
for my $db ('plain', 'other')
{
	($ret, $out, $err) = $node->psql($db, q{
SET hnsw.ef_search = 'abc';
SET hnsw.scan_mem_multiplier = 0;
SHOW hnsw.ef_search;
}, on_error_stop => 1);
	is($ret, 0, "$db: SET hnsw.ef_search = 'abc' is accepted");
	is($out, 'abc', "$db: it is a placeholder holding the string");
	is($node->safe_psql($db, $hnsw_rows), '0', "$db: no hnsw.* setting defined");
}

# (c) carried over from the connection's options
{
	local $ENV{PGOPTIONS} = '-c hnsw.ef_search=400 -c hnsw.iterative_scan=off';
	is( $node->safe_psql('vp', q{
SELECT setting || ' ' || source FROM pg_settings WHERE name = 'hnsw.ef_search';
SELECT ef_search || ' ' || iterative_scan FROM vp_effective();
}),
		"400 client\n400 off",
		'vp: connection options are carried over, with their source, and used');
}
{
	local $ENV{PGOPTIONS} = '-c hnsw.ef_search=0';
	($ret, $out, $err) =
	  $node->psql('vp', 'SHOW hnsw.ef_search', on_error_stop => 1);
	is($ret, 0, 'vp: a bad connection option does not refuse the session');
	is($out, '40', 'vp: the bad value is replaced by the default');
	like($err, qr/WARNING:.*$range_error/, 'vp: and reported as a WARNING');
}

# (d) CREATE EXTENSION in the session
($ret, $out, $err) = $node->psql('late1', q{
SET hnsw.ef_search = 123;
CREATE EXTENSION vecpersist;
SHOW hnsw.ef_search;
SET hnsw.ef_search = 0;
}, on_error_stop => 0);
is($out, '123', 'late1: the value SET before CREATE EXTENSION is kept');
like($err, $range_error, 'late1: the next SET is checked');

($ret, $out, $err) = $node->psql('late2', q{
BEGIN;
SET LOCAL hnsw.ef_search = 55;
CREATE EXTENSION vecpersist;
SHOW hnsw.ef_search;
COMMIT;
SHOW hnsw.ef_search;
}, on_error_stop => 1);
is($ret, 0, 'late2: CREATE EXTENSION within a transaction');
is($out, "55\n40", 'late2: SET LOCAL is kept until the end of the transaction');

# (e) without shared_preload_libraries
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$node->restart;
($ret, $out, $err) = $node->psql('vp', q{
SET hnsw.ef_search = 77;
SELECT '[1,2]'::vector;
SHOW hnsw.ef_search;
SET hnsw.ef_search = 0;
}, on_error_stop => 0);
is($out, "[1,2]\n77", 'no preload: a SET before the library loads is kept');
like($err, $range_error, 'no preload: once loaded, SET is checked');
is($node->safe_psql('plain', "SET hnsw.ef_search = 'abc'; LOAD 'vecpersist'; SHOW hnsw.ef_search"),
	'abc', 'no preload: loading the library in plain defines nothing');

$node->stop;
done_testing();
