
# Copyright (c) vecpersist developers
#
# Hostile input: thousands of generated inputs to the vector type's text
# input (vector_in, with and without a typmod) and binary input
# (vector_recv, through COPY ... FORMAT binary), then out-of-range index
# options, settings, dimensions and function arguments.
#
# Every input is either accepted with the right value or rejected with an
# error of the right class; the server never crashes (the postmaster start
# time does not change and the log has no terminated process).
#
# Text: a seeded generator (srand below; change the seed to explore, keep
# it fixed in the test) produces valid literals in every spelling strtof
# reads (%.9g, %e, %.17g, uppercase exponents and '+' signs, hex floats,
# leading zeros, the six whitespace characters around every token), whose
# float bits are known, so the expected vector_send bytes are known; the
# same literals with one known fault (NaN or infinity in any spelling,
# overflow, underflow to a signed zero, a syntax error, no element, too many
# dimensions, a typmod mismatch) and the expected SQLSTATE and message;
# very long inputs; and, with no expectation but "accepted and round-trips,
# or rejected with an input error", random mutations of valid literals,
# random strings over the literal alphabet and random bytes 1-255.  The
# database is SQL_ASCII so that any byte but NUL reaches vector_in.  One
# PL/pgSQL block runs them all, catching each error and recording its
# SQLSTATE and message.
#
# Binary: each input is a one-row COPY BINARY file (a valid header, an int4
# id and the vector field).  Payloads are valid vectors, the same with one
# fault (dimensions 0, above 16000 or negative, since the int16 fields are
# signed as in pgvector; a nonzero unused field; NaN and infinity bit
# patterns; too few or too many bytes; a typmod mismatch), and random
# bytes.  A model of the binary format here lists every fault of a payload:
# it must be accepted (with vector_send giving back exactly the payload) if
# it has none, else rejected with the SQLSTATE and message of one of them.
# (Where a payload runs out of bytes the error is pgvector's, 08P01,
# "insufficient data left in message"; vecpersist checks the length before
# reading, so it reports that before any element fault.)

use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use File::Basename qw(dirname);
use lib dirname(__FILE__);
use VpCacheTest;

my $node = start_node('hostile', preload => 1);
my $tempdir = PostgreSQL::Test::Utils::tempdir;
my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

$node->safe_psql('postgres',
	q{CREATE DATABASE fuzz TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'});
$node->safe_psql(
	'fuzz', q{
CREATE EXTENSION vecpersist;
CREATE TABLE txt_inputs (id int PRIMARY KEY, input text, typmod int);
CREATE TABLE txt_results (id int PRIMARY KEY, state text, msg text, v vector);
CREATE TABLE bin_inputs (id int PRIMARY KEY, tab text, path text);
CREATE TABLE bin_results (id int PRIMARY KEY, state text, msg text);
CREATE TABLE fz (id int, v vector);
CREATE TABLE fz3 (id int, v vector(3));
CREATE FUNCTION short_msg(m text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN length(m) <= 2000 THEN coalesce(m, '')
              ELSE left(m, 900) || '...' || right(m, 900) END $$;
});

# --- generators --------------------------------------------------------------

# (here, after everything that may draw random numbers for itself: ports,
# temporary directories)
my $seed = 20241124;
srand($seed);
note "seed $seed";

my @ws = (' ', "\t", "\n", "\r", "\x0b", "\x0c");

sub pick { return $_[ int(rand(@_)) ]; }

# 0 to 2 whitespace characters, often none.
sub some_ws
{
	return '' if rand() < 0.6;
	return join('', map { pick(@ws) } 1 .. 1 + int(rand(2)));
}

# The bits of a random finite float, from the parts of the range that are
# hard to print and read: any normal number, small integers, subnormals,
# signed zeros, the largest and the smallest normals, binary fractions.
sub random_bits
{
	my $r = rand();
	my $sign = rand() < 0.5 ? 0x80000000 : 0;
	my $mant = int(rand(0x800000));
	return $sign | ((1 + int(rand(254))) << 23) | $mant if $r < 0.35;
	return unpack('L', pack('f', int(rand(2001)) - 1000)) if $r < 0.5;
	return $sign | $mant if $r < 0.6;
	return $sign if $r < 0.67;
	return $sign | (254 << 23) | $mant if $r < 0.77;
	return $sign | (1 << 23) | $mant if $r < 0.87;
	return unpack('L', pack('f', (int(rand(4001)) - 2000) / 64));
}

sub float_of_bits { return unpack('f', pack('L', $_[0])); }

# A spelling of float $x that strtof reads back as exactly $x.
sub spell
{
	my ($x) = @_;
	my $style = int(rand(8));
	my $s;
	if ($style == 0) { $s = sprintf('%.9g', $x); }
	elsif ($style == 1) { $s = sprintf('%.9e', $x); }
	elsif ($style == 2) { $s = sprintf('%.17g', $x); }
	elsif ($style == 3)
	{
		$s = sprintf('%.9G', $x);
		$s = "+$s" unless $s =~ /^-/;
	}
	elsif ($style == 4) { $s = sprintf('%a', $x); }    # hex float: strtof reads it, as in pgvector
	elsif ($style == 5)
	{
		# leading zeros
		$s = sprintf('%.9g', $x);
		$s =~ s/^(-?)(\d)/${1}00$2/;
	}
	elsif ($style == 6 && abs($x) > 1e-6 && abs($x) < 1e9)
	{
		$s = sprintf('%.20f', $x);
	}
	else { $s = sprintf('%.12g', $x); }
	return $s;
}

# A literal of the floats @bits, with random whitespace around every token.
sub literal
{
	my @tokens = @_;
	return some_ws() . '[' . join(',', map { some_ws() . $_ . some_ws() } @tokens) . ']' . some_ws();
}

# vector_send bytes of @bits.
sub send_bytes
{
	my @bits = @_;
	return pack('nnN*', scalar(@bits), 0, @bits);
}

sub random_dims
{
	my $r = rand();
	return 1 + int(rand(12)) if $r < 0.9;
	return 13 + int(rand(200)) if $r < 0.98;
	return pick(1000, 2000);
}

# Text inputs: [input, typmod, category, expectation], expectation either
# ['ok', md5 of vector_send] or [SQLSTATE, message regex] or undef (only
# the generic checks).
my @text;

sub add_text
{
	my ($cat, $input, $typmod, $expect) = @_;
	push @text, [ $input, $typmod // -1, $cat, $expect ];
	return;
}

my $re_syntax = qr/^invalid input syntax for type vector: "/s;
my $re_nan = qr/^NaN not allowed in vector$/;
my $re_inf = qr/^infinite value not allowed in vector$/;
my $re_empty = qr/^vector must have at least 1 dimension$/;
my $re_toomany = qr/^vector cannot have more than 16000 dimensions$/;

# valid literals
my @valid;    # [tokens, bits] for the fault generators below
for (1 .. 1200)
{
	my @bits = map { random_bits() } 1 .. random_dims();
	my @tokens = map { spell(float_of_bits($_)) } @bits;
	push @valid, [ \@tokens, \@bits ];
	add_text('valid', literal(@tokens), -1, [ 'ok', md5_hex(send_bytes(@bits)) ]);
}

# one bad element in a valid literal
my @bad_tokens = (
	(map { [ $_, '22000', $re_nan ] } qw(nan NaN NAN -nan +nan nan(0x1234) nan() nAn)),
	(map { [ $_, '22000', $re_inf ] } qw(inf -inf +inf INF Infinity -INFINITY infinity -Inf)),
	(map { [ $_, '22003', qr/^"\Q$_\E" is out of range for type vector$/ ] }
		  ('1e39', '-1e39', '3.5e38', '-3.41e38', '1e400', '-1e309', '0x1p128', '9' x 45,
			'1' . '0' x 40, '1E+39')),);
my @underflow = (
	[ '1e-50', 0 ], [ '-1e-50', 0x80000000 ], [ '1e-46', 0 ], [ '-1e-46', 0x80000000 ],
	[ '0x1p-160', 0 ], [ '1e-400', 0 ], [ '7.1e-46', 1 ], [ '-7.1e-46', 0x80000001 ],
	[ '0.' . '0' x 60 . '1', 0 ],);
for (1 .. 400)
{
	my ($tokens, $bits) = @{ pick(@valid) };
	my @t = @$tokens;
	my @b = @$bits;
	my $pos = int(rand(@t));
	if (rand() < 0.8)
	{
		my ($tok, $state, $re) = @{ pick(@bad_tokens) };
		$t[$pos] = $tok;
		add_text('nan/inf/overflow', literal(@t), -1, [ $state, $re ]);
	}
	else
	{
		my ($tok, $bit) = @{ pick(@underflow) };
		$t[$pos] = $tok;
		$b[$pos] = $bit;
		add_text('underflow', literal(@t), -1, [ 'ok', md5_hex(send_bytes(@b)) ]);
	}
}

# one syntax error in a valid literal
for (1 .. 400)
{
	my ($tokens) = @{ pick(@valid) };
	my @t = @$tokens;
	my $lit = '[' . join(',', @t) . ']';
	my $kind = int(rand(8));
	if ($kind == 0) { chop $lit; }                                 # no ]
	elsif ($kind == 1) { $lit = substr($lit, 1); }                 # no [
	elsif ($kind == 2) { $lit .= pick('x', ']', '[', ',', '1', ';', 'e'); }    # junk after ]
	elsif ($kind == 3) { $lit =~ s/\]$/,]/; }                      # trailing comma
	elsif ($kind == 4) { $lit =~ s/^\[/[,/; }                      # leading comma
	elsif ($kind == 5 && @t > 1) { $lit =~ s/,/,,/; }              # empty element
	elsif ($kind == 6 && @t > 1) { $lit =~ s/,/pick(' ', ';', "\t", '|')/e; }    # no separator
	else
	{
		# a token that strtof cannot read at all, or only in part
		$t[ int(rand(@t)) ] = pick(qw(a - + . e e5 x -- +- .e1 1.2.3 1e 2e+ 0x 1x ++1 ), '1 2', '""', '[1]', '{1}');
		$lit = '[' . join(',', @t) . ']';
	}
	add_text('syntax', $lit, -1, [ '22P02', $re_syntax ]);
	$text[-1][4] = "kind $kind";
}
add_text('syntax', $_, -1, [ '22P02', $re_syntax ])
  foreach ('', ' ', '[', ']', '[1', '1]', '1', '{1,2}', '(1,2)', '[[1]]', '[1]]', '[1,2]]',
	'[1,2][3]', 'vector', '[1,2', "[1,2\n", '[1 , 2 , ]', '[,]', '[,1]', ',', '[1;2]',
	'[ 1 ,, 2 ]', '[0x]', '[1e]', '[.]', '[-]', '[+]', '[e1]');
add_text('empty', $_, -1, [ '22000', $re_empty ])
  foreach ('[]', '[ ]', "[\t]", " [\n] ", "[\x0b\x0c]");

# typmods
for (1 .. 200)
{
	my ($tokens, $bits) = @{ pick(@valid) };
	my $dims = @$bits;
	my $typmod = rand() < 0.4 ? $dims : pick(1, 2, 3, 16, 1000, 16000);
	add_text('typmod', literal(@$tokens), $typmod,
		$typmod == $dims
		? [ 'ok', md5_hex(send_bytes(@$bits)) ]
		: [ '22000', qr/^expected $typmod dimensions, not $dims$/ ]);
}

# dimensions at and past the limit
{
	my @ones = (0x3f800000) x 16000;
	add_text('dims', '[' . join(',', ('1') x 16000) . ']', -1, [ 'ok', md5_hex(send_bytes(@ones)) ]);
	add_text('dims', '[' . join(',', ('1') x 16000) . ']', 16000, [ 'ok', md5_hex(send_bytes(@ones)) ]);
	add_text('dims', '[' . join(',', ('1') x 16001) . ']', -1, [ '54000', $re_toomany ]);
	add_text('dims', '[' . join(',', ('1') x 16001) . ']', 3, [ '54000', $re_toomany ]);
	add_text('dims', '[' . join(',', ('0') x 100000) . ']', -1, [ '54000', $re_toomany ]);
	add_text('dims', '[' . (',' x 20000) . ']', -1, [ '22P02', $re_syntax ]);
}

# very long inputs
add_text('long', '[' . ('1' x 100000) . ']', -1,
	[ '22003', qr/^"1{800}.*1" is out of range for type vector$/s ]);
add_text('long', '[0.' . ('0' x 100000) . '1]', -1, [ 'ok', md5_hex(send_bytes(0)) ]);
add_text('long', '[-0.' . ('0' x 100000) . '1,2]', -1,
	[ 'ok', md5_hex(send_bytes(0x80000000, 0x40000000)) ]);
add_text('long', (' ' x 100000) . '[1]' . ("\t" x 100000), -1,
	[ 'ok', md5_hex(send_bytes(0x3f800000)) ]);
add_text('long', '[1.' . ('5' x 100000) . ']', -1, undef);
add_text('long', '[1' . (' ' x 100000) . 'x]', -1, [ '22P02', $re_syntax ]);
add_text('long', join('', map { chr(1 + int(rand(255))) } 1 .. 1000000), -1, undef);

# random mutations of valid literals
my @alphabet = (split(//, '[],.0123456789eE+-xXpPnaifNAIF'), @ws);
for (1 .. 600)
{
	my ($tokens) = @{ pick(@valid) };
	my $lit = literal(@$tokens);
	for (1 .. 1 + int(rand(3)))
	{
		my $pos = int(rand(length($lit) + 1));
		my $op = int(rand(3));
		my $ch = rand() < 0.8 ? pick(@alphabet) : chr(1 + int(rand(255)));
		if ($op == 0) { substr($lit, $pos, 0) = $ch; }
		elsif ($op == 1) { substr($lit, $pos, 1) = ''; }
		else { substr($lit, $pos, 1) = $ch; }
	}
	add_text('mutation', $lit, rand() < 0.1 ? 3 : -1, undef);
}

# random strings over the literal alphabet, and random bytes
for (1 .. 400)
{
	add_text('alphabet', '[' . join('', map { pick(@alphabet) } 1 .. int(rand(30))) . pick(']', ''),
		-1, undef);
}
for (1 .. 400)
{
	add_text('bytes', join('', map { chr(1 + int(rand(255))) } 1 .. int(rand(40))), -1, undef);
}

# --- text inputs: run ---------------------------------------------------------

# An E'' literal of any string without NUL.
sub e_literal
{
	my ($s) = @_;
	$s =~ s/([^A-Za-z0-9 ,.\[\]+\-])/sprintf('\\x%02x', ord($1))/ge;
	return "E'$s'";
}

my $t0 = time;
for (my $i = 0; $i < @text; $i += 200)
{
	my $last = $i + 199 < $#text ? $i + 199 : $#text;
	$node->safe_psql('fuzz',
		'INSERT INTO txt_inputs VALUES '
		  . join(",\n", map { "($_, " . e_literal($text[$_][0]) . ", $text[$_][1])" } $i .. $last));
}
my $t1 = time;
$node->safe_psql(
	'fuzz', q{
DO $$
DECLARE
	r record;
	st text;
	msg text;
BEGIN
	FOR r IN SELECT id, input, typmod FROM txt_inputs ORDER BY id LOOP
		BEGIN
			INSERT INTO txt_results VALUES (r.id, 'ok', NULL, vector_in(r.input::cstring, 0, r.typmod));
		EXCEPTION WHEN others THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			INSERT INTO txt_results VALUES (r.id, st, msg, NULL);
		END;
	END LOOP;
END
$$;
});
note sprintf('text: %d inputs loaded in %.0f ms, parsed in %.0f ms',
	scalar @text, 1000 * ($t1 - $t0), 1000 * (time - $t1));

# The results by id: [state, message (hex; of a long one only its first and
# last 900 characters, with "..." between), md5 of vector_send, dims].
sub fetch_results
{
	my ($sql) = @_;
	my %res;
	foreach (split /\n/, $node->safe_psql('fuzz', $sql))
	{
		my ($id, $state, $msg, $md5, $dims) = split /\|/, $_, -1;
		$res{$id} = [ $state, pack('H*', $msg), $md5, $dims ];
	}
	return \%res;
}

my $txt = fetch_results(
	q{SELECT id, state, encode(convert_to(short_msg(msg), 'SQL_ASCII'), 'hex'),
	         coalesce(md5(vector_send(v)), ''), coalesce(vector_dims(v), 0)
	  FROM txt_results ORDER BY id});
is(scalar keys %$txt, scalar @text, 'text: every input has a result');

# Every input: its category, how it ended, and whether that is right.
my %by_cat;
my %states;
my @txt_wrong;
for my $id (0 .. $#text)
{
	my ($input, $typmod, $cat, $expect) = @{ $text[$id] };
	my ($state, $msg, $md5, $dims) = @{ $txt->{$id} // [ 'missing', '', '', 0 ] };
	$by_cat{$cat}{total}++;
	$states{$state}++;
	my $why;
	if (!defined $expect)
	{
		# accepted, or an input error (round trips of accepted values are
		# checked below in SQL)
		$why = "unexpected SQLSTATE $state: $msg"
		  unless $state =~ /^(ok|22P02|22000|22003|54000)$/;
		$why = "dims $dims do not fit typmod $typmod"
		  if $state eq 'ok' && $typmod != -1 && $dims != $typmod;
	}
	elsif ($expect->[0] eq 'ok')
	{
		$why = "rejected ($state: $msg)" if $state ne 'ok';
		$why = 'accepted with the wrong value' if $state eq 'ok' && $md5 ne $expect->[1];
	}
	else
	{
		$why = "got $state ($msg), expected $expect->[0]"
		  if $state ne $expect->[0] || $msg !~ $expect->[1];
	}
	if ($why)
	{
		$by_cat{$cat}{wrong}++;
		push @txt_wrong, sprintf('%s input %d %s (%s, typmod %d): %s', $cat, $id, $text[$id][4] // '',
			length($input) > 300 ? substr($input, 0, 80) . '...' : $input, $typmod, $why);
	}
}
note 'text outcomes: ' . join(', ', map { "$_ $states{$_}" } sort keys %states);
foreach my $cat (sort keys %by_cat)
{
	is($by_cat{$cat}{wrong} // 0, 0,
		"text $cat: all $by_cat{$cat}{total} inputs accepted or rejected as expected");
}
diag $_ foreach @txt_wrong[ 0 .. ($#txt_wrong < 19 ? $#txt_wrong : 19) ];

# Every accepted value prints as text that reads back to the same bytes,
# holds no NaN or infinity, and has 1 to 16000 dimensions.
is( $node->safe_psql(
		'fuzz', q{
SELECT count(*) FROM txt_results
WHERE state = 'ok'
  AND (vector_send(v::text::vector) IS DISTINCT FROM vector_send(v)
       OR v::text::vector::text IS DISTINCT FROM v::text
       OR v::text ~* '(nan|inf)'
       OR vector_dims(v) NOT BETWEEN 1 AND 16000)}),
	'0', 'text: every accepted value round-trips through its output');
cmp_ok($states{ok}, '>=', 1400, 'text: the valid inputs were accepted');

# --- binary inputs -------------------------------------------------------------

# Every fault of payload $p for a column of typmod $typmod, as [SQLSTATE,
# message regex]; none if it must be accepted.
sub recv_faults
{
	my ($p, $typmod) = @_;
	my $len = length $p;
	my $short = [ '08P01', qr/^insufficient data left in message$/ ];
	return ($short) if $len < 4;
	# both int16, signed (as pgvector reads them)
	my ($dim, $unused) = unpack('s>s>', $p);
	my @f;
	push @f, [ '22000', qr/^expected $typmod dimensions, not $dim$/ ]
	  if $typmod != -1 && $dim != $typmod;
	push @f, [ '22000', qr/^expected unused to be 0, not $unused$/ ] if $unused;
	if ($dim < 1 || $dim > 16000)
	{
		push @f, $dim < 1 ? [ '22000', $re_empty ] : [ '54000', $re_toomany ];
		return @f;
	}
	if ($len - 4 < 4 * $dim)
	{
		push @f, $short;
		return @f;
	}
	foreach my $b (unpack('N*', substr($p, 4, 4 * $dim)))
	{
		next unless (($b >> 23) & 0xFF) == 0xFF;
		push @f, ($b & 0x7FFFFF) ? [ '22000', $re_nan ] : [ '22000', $re_inf ];
	}
	# COPY's own check that the type used every byte of its field
	push @f, [ '22P03', qr/^incorrect binary data format/ ] if $len - 4 > 4 * $dim;
	return @f;
}

my @bin;    # [payload, table, category]
for (1 .. 600)
{
	my $tab = rand() < 0.3 ? 'fz3' : 'fz';
	my $dims = $tab eq 'fz3' ? 3 : (rand() < 0.97 ? random_dims() : 16000);
	push @bin, [ send_bytes(map { random_bits() } 1 .. $dims), $tab, 'valid' ];
}
for (1 .. 700)
{
	my $tab = rand() < 0.3 ? 'fz3' : 'fz';
	my $dims = $tab eq 'fz3' ? 3 : random_dims();
	my @bits = map { random_bits() } 1 .. $dims;
	my $p = send_bytes(@bits);
	my $kind = int(rand(9));
	if ($kind == 0) { substr($p, 0, 2) = pack('n', 0); }
	elsif ($kind == 1) { substr($p, 0, 2) = pack('n', pick(16001, 32767, 16001 + int(rand(32767 - 16001)))); }
	elsif ($kind == 2) { substr($p, 0, 2) = pack('n', pick(0xFFFF, 0x8000, 0xC180, 0x8001 + int(rand(0x7FFE)))); }    # negative
	elsif ($kind == 3) { substr($p, 2, 2) = pack('n', 1 + int(rand(65535))); }
	elsif ($kind == 4) { $p = substr($p, 0, int(rand(length $p))); }
	elsif ($kind == 5) { $p .= join('', map { chr(int(rand(256))) } 1 .. 1 + int(rand(8))); }
	elsif ($kind == 6)
	{
		# NaN: exponent all ones, any nonzero mantissa (quiet or signalling)
		substr($p, 4 + 4 * int(rand($dims)), 4) =
		  pack('N', (rand() < 0.5 ? 0x80000000 : 0) | 0x7F800000 | (1 + int(rand(0x7FFFFF))));
	}
	elsif ($kind == 7)
	{
		substr($p, 4 + 4 * int(rand($dims)), 4) = pack('N', pick(0x7F800000, 0xFF800000));
	}
	else { substr($p, 0, 2) = pack('n', 1 + int(rand(40))); }    # dims that do not match the bytes
	push @bin, [ $p, $tab, 'fault' ];
}
for (1 .. 500)
{
	push @bin,
	  [ join('', map { chr(int(rand(256))) } 1 .. int(rand(40))), rand() < 0.3 ? 'fz3' : 'fz', 'random' ];
}
# random bytes behind a plausible header
for (1 .. 200)
{
	my $dims = 1 + int(rand(6));
	push @bin,
	  [ pack('nn', $dims, 0) . join('', map { chr(int(rand(256))) } 1 .. 4 * $dims), 'fz', 'random floats' ];
}

my $copy_header = "PGCOPY\n\xff\r\n\0" . pack('NN', 0, 0);
$t0 = time;
my @rows;
for my $id (0 .. $#bin)
{
	my ($p, $tab) = @{ $bin[$id] };
	my $path = "$tempdir/bin$id.copy";
	open(my $fh, '>', $path) or die "open $path: $!";
	binmode $fh;
	print $fh $copy_header
	  . pack('nNN', 2, 4, $id)
	  . pack('N', length $p) . $p
	  . pack('n', 0xFFFF);
	close($fh);
	push @rows, "($id, '$tab', '$path')";
}
while (my @chunk = splice(@rows, 0, 500))
{
	$node->safe_psql('fuzz', 'INSERT INTO bin_inputs VALUES ' . join(",\n", @chunk));
}
$t1 = time;
$node->safe_psql(
	'fuzz', q{
DO $$
DECLARE
	r record;
	st text;
	msg text;
BEGIN
	FOR r IN SELECT id, tab, path FROM bin_inputs ORDER BY id LOOP
		BEGIN
			EXECUTE format('COPY %I FROM %L WITH (FORMAT binary)', r.tab, r.path);
			INSERT INTO bin_results VALUES (r.id, 'ok', NULL);
		EXCEPTION WHEN others THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			INSERT INTO bin_results VALUES (r.id, st, msg);
		END;
	END LOOP;
END
$$;
});
note sprintf('binary: %d COPY files written in %.0f ms, loaded in %.0f ms',
	scalar @bin, 1000 * ($t1 - $t0), 1000 * (time - $t1));

my $bres = fetch_results(
	q{SELECT r.id, r.state, encode(convert_to(short_msg(r.msg), 'SQL_ASCII'), 'hex'),
	         coalesce(md5(vector_send(coalesce(a.v, b.v))), ''), coalesce(vector_dims(coalesce(a.v, b.v)), 0)
	  FROM bin_results r LEFT JOIN fz a USING (id) LEFT JOIN fz3 b USING (id) ORDER BY r.id});
is(scalar keys %$bres, scalar @bin, 'binary: every input has a result');

my %bin_cat;
my %bin_states;
my @bin_wrong;
for my $id (0 .. $#bin)
{
	my ($p, $tab, $cat) = @{ $bin[$id] };
	my ($state, $msg, $md5) = @{ $bres->{$id} // [ 'missing', '', '' ] };
	my @faults = recv_faults($p, $tab eq 'fz3' ? 3 : -1);
	$bin_cat{$cat}{total}++;
	$bin_cat{$cat}{accepted}++ if $state eq 'ok';
	$bin_states{$state}++;
	my $why;
	if (!@faults)
	{
		$why = "rejected ($state: $msg)" if $state ne 'ok';
		$why = 'accepted with other bytes' if $state eq 'ok' && $md5 ne md5_hex($p);
	}
	elsif (!grep { $state eq $_->[0] && $msg =~ $_->[1] } @faults)
	{
		$why = "got $state ($msg), expected one of: "
		  . join('; ', map { "$_->[0] $_->[1]" } @faults);
	}
	if ($why)
	{
		$bin_cat{$cat}{wrong}++;
		push @bin_wrong, "$cat input $id ($tab, " . unpack('H*', substr($p, 0, 24)) . "): $why";
	}
}
note 'binary outcomes: ' . join(', ', map { "$_ $bin_states{$_}" } sort keys %bin_states);
foreach my $cat (sort keys %bin_cat)
{
	is($bin_cat{$cat}{wrong} // 0, 0,
		"binary $cat: all $bin_cat{$cat}{total} payloads accepted or rejected as the format says ("
		  . ($bin_cat{$cat}{accepted} // 0) . ' accepted)');
}
diag $_ foreach @bin_wrong[ 0 .. ($#bin_wrong < 19 ? $#bin_wrong : 19) ];
is( $node->safe_psql(
		'fuzz', q{
SELECT count(*) FROM (SELECT v FROM fz UNION ALL SELECT v FROM fz3) s
WHERE vector_send(v::text::vector) IS DISTINCT FROM vector_send(v)}),
	'0', 'binary: every accepted value round-trips through its text output');

# --- options, settings, dimensions and arguments --------------------------------

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION vecpersist;
CREATE TABLE t3 (id int, v vector(3));
INSERT INTO t3 VALUES (1, '[1,2,3]'), (2, '[4,5,6]');
CREATE INDEX t3_idx ON t3 USING hnsw (v vector_l2_ops);
CREATE TABLE tu (id int, v vector);
INSERT INTO tu VALUES (1, '[1,2,3]');
CREATE INDEX tu_idx ON tu USING hnsw (v vector_l2_ops);
});

# [statement, SQLSTATE, message regex (the primary message, or a line of
# the verbose error output), label]
my @errors = (
	# index options
	[ 'CREATE INDEX ON t3 USING hnsw (v vector_l2_ops) WITH (m = 1)',
		'22023', qr/value 1 out of bounds for option "m"\n.*DETAIL:  Valid values are between "2" and "100"\./,
		'm below its range' ],
	[ 'CREATE INDEX ON t3 USING hnsw (v vector_l2_ops) WITH (m = 101)',
		'22023', qr/value 101 out of bounds for option "m"/, 'm above its range' ],
	[ 'CREATE INDEX ON t3 USING hnsw (v vector_l2_ops) WITH (ef_construction = 3)',
		'22023', qr/value 3 out of bounds for option "ef_construction"\n.*DETAIL:  Valid values are between "4" and "1000"\./,
		'ef_construction below its range' ],
	[ 'CREATE INDEX ON t3 USING hnsw (v vector_l2_ops) WITH (ef_construction = 1001)',
		'22023', qr/value 1001 out of bounds for option "ef_construction"/,
		'ef_construction above its range' ],
	[ 'CREATE INDEX ON t3 USING hnsw (v vector_l2_ops) WITH (m = 40, ef_construction = 64)',
		'22023', qr/ef_construction must be greater than or equal to 2 \* m\n.*DETAIL:  ef_construction is 64 and m is 40\.\n.*HINT:  Raise ef_construction to 80 or lower m\./,
		'ef_construction below 2 * m' ],
	[ q{CREATE INDEX ON t3 USING hnsw (v vector_l2_ops) WITH (m = 'many')},
		'22023', qr/invalid value for integer option "m": many/, 'm not a number' ],
	[ 'CREATE INDEX ON t3 USING hnsw (v vector_l2_ops) WITH (lists = 100)',
		'22023', qr/unrecognized parameter "lists"/, 'an ivfflat option' ],
	[ 'ALTER INDEX t3_idx SET (m = 0)',
		'22023', qr/value 0 out of bounds for option "m"/, 'ALTER INDEX checks the range too' ],
	# settings
	[ 'SET vecpersist.ef_search = 0',
		'22023', qr/0 is outside the valid range for parameter "vecpersist\.ef_search" \(1 \.\. 1000\)/,
		'ef_search below its range' ],
	[ 'SET vecpersist.ef_search = 1001',
		'22023', qr/1001 is outside the valid range for parameter "vecpersist\.ef_search" \(1 \.\. 1000\)/,
		'ef_search above its range' ],
	[ q{SET vecpersist.ef_search = 'lots'},
		'22023', qr/invalid value for parameter "vecpersist\.ef_search": "lots"/, 'ef_search not a number' ],
	[ 'SET vecpersist.max_scan_tuples = 0',
		'22023', qr/0 is outside the valid range for parameter "vecpersist\.max_scan_tuples" \(1 \.\. 2147483647\)/,
		'max_scan_tuples below its range' ],
	[ 'SET vecpersist.max_scan_tuples = 2147483648',
		'22023', qr/invalid value for parameter "vecpersist\.max_scan_tuples": "2147483648"/,
		'max_scan_tuples beyond int' ],
	[ q{SET vecpersist.iterative_scan = 'sometimes'},
		'22023', qr/invalid value for parameter "vecpersist\.iterative_scan": "sometimes"\n.*HINT:  Available values: off, relaxed_order, strict_order\./,
		'iterative_scan not one of its values' ],
	[ q{SET vecpersist.cache_size = '1GB'},
		'55P02', qr/parameter "vecpersist\.cache_size" cannot be changed without restarting the server/,
		'cache_size only at server start' ],
	[ q{SET vecpersist.prewarm = 'postgres:t3_idx'},
		'55P02', qr/parameter "vecpersist\.prewarm" cannot be changed without restarting the server/,
		'prewarm only at server start' ],
	[ 'SET vecpersist.ef_serach = 10',
		'42602', qr/invalid configuration parameter name "vecpersist\.ef_serach"\n.*DETAIL:  "vecpersist" is a reserved prefix\./,
		'a misspelt setting is an error, not a new placeholder' ],
	# dimensions
	[ q{INSERT INTO t3 VALUES (3, '[1,2]')},
		'22000', qr/expected 3 dimensions, not 2/, 'a vector(3) column takes only 3 dimensions' ],
	[ q{INSERT INTO tu VALUES (2, '[1,2,3,4]')},
		'22000', qr/expected 3 dimensions, not 4/, 'an hnsw index takes only the dimensions it has' ],
	# an index scan names the query's dimensions first, as pgvector's does
	# (it computes distance(query, row)); a sequential scan the column's
	[ q{SET enable_seqscan = off; SELECT id FROM t3 ORDER BY v <-> '[1,2]' LIMIT 1},
		'22000', qr/different vector dimensions 2 and 3/, 'a query vector of other dimensions (index scan)' ],
	[ q{SET enable_indexscan = off; SELECT id FROM t3 ORDER BY v <-> '[1,2,3,4]' LIMIT 1},
		'22000', qr/different vector dimensions 3 and 4/, 'a query vector of other dimensions (sequential scan)' ],
	[ q{SELECT '[1,2]'::vector <=> '[1,2,3]'}, '22000', qr/different vector dimensions 2 and 3/,
		'operands of other dimensions' ],
	[ q{SELECT '[1,2]'::vector + '[1]'}, '22000', qr/different vector dimensions 2 and 1/,
		'arithmetic on other dimensions' ],
	[ q{SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) s(v)},
		'22000', qr/expected 2 dimensions, not 3/, 'avg over other dimensions' ],
	[ 'CREATE TABLE t16001 (v vector(16001))',
		'22023', qr/dimensions for type vector cannot exceed 16000/, 'vector(16001)' ],
	[ 'CREATE TABLE t0 (v vector(0))',
		'22023', qr/dimensions for type vector must be at least 1/, 'vector(0)' ],
	[ 'CREATE TABLE t22 (v vector(2, 2))',
		'22023', qr/invalid type modifier/, 'vector(2, 2)' ],
	[ q{SELECT '[1,2,3]'::vector(2)}, '22000', qr/expected 2 dimensions, not 3/,
		'a literal cast to vector(2)' ],
	[ q{SELECT '[1,2,3]'::vector::vector(2)}, '22000', qr/expected 2 dimensions, not 3/,
		'a vector cast to vector(2)' ],
	# function arguments
	[ q{SELECT subvector('[1,2,3]'::vector, 2, 0)}, '22000', qr/vector must have at least 1 dimension/,
		'subvector of no elements' ],
	[ q{SELECT subvector('[1,2,3]'::vector, 4, 1)}, '22000', qr/vector must have at least 1 dimension/,
		'subvector past the end' ],
	[ q{SELECT subvector('[1,2,3]'::vector, -2147483648, 2147483647)}, '22000',
		qr/vector must have at least 1 dimension/, 'subvector at the ends of int' ],
	[ q{SELECT ARRAY[1, NULL]::int[]::vector}, '22004', qr/array must not contain nulls/,
		'an array with a NULL' ],
	[ q{SELECT ARRAY[[1, 2], [3, 4]]::vector}, '22000', qr/array must be 1-D/, 'a 2-D array' ],
	[ q{SELECT '{}'::real[]::vector}, '22000', qr/vector must have at least 1 dimension/,
		'an empty array' ],
	[ q{SELECT ARRAY['NaN']::float8[]::vector}, '22000', qr/NaN not allowed in vector/,
		'an array with NaN' ],
	[ q{SELECT ARRAY[1e300]::float8[]::vector}, '22000', qr/infinite value not allowed in vector/,
		'a double beyond real' ],
	[ q{SELECT ARRAY[1e300]::numeric[]::vector}, '22003', qr/"1000+" is out of range for type real/,
		'a numeric beyond real' ],
	[ q{SELECT array_fill(1, ARRAY[16001])::vector}, '54000',
		qr/vector cannot have more than 16000 dimensions/, 'an array of 16001 elements' ],
	[ q{SELECT '[3e38]'::vector + '[3e38]'}, '22003', qr/value out of range: overflow/,
		'a sum beyond real' ],
	[ q{SELECT '[3e38]'::vector * '[3e38]'}, '22003', qr/value out of range: overflow/,
		'a product beyond real' ],
	[ q{SELECT vecpersist_prewarm('t3')}, '42809', qr/"t3" is not an hnsw index of vecpersist/,
		'prewarm of a table' ],
	[ q{SELECT vecpersist_evict('pg_class_oid_index')}, '42809',
		qr/"pg_class_oid_index" is not an hnsw index of vecpersist/, 'evict of a btree index' ],
	[ q{SELECT vecpersist_prewarm(0)}, '42P01', qr/relation with OID 0 does not exist/,
		'prewarm of OID 0' ],
	[ q{SELECT vecpersist_prewarm('no_such_index')}, '42P01',
		qr/relation "no_such_index" does not exist/, 'prewarm of a missing index' ],);

foreach my $e (@errors)
{
	my ($sql, $state, $re, $label) = @$e;
	my ($stdout, $stderr);
	my $rc = $node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout,
		stderr => \$stderr);
	isnt($rc, 0, "$label: fails");
	like($stderr, qr/ERROR:  $state: /, "$label: SQLSTATE $state");
	like($stderr, $re, "$label: message");
}

# The values on either side of the limits are accepted.
is( $node->safe_psql(
		'postgres', q{
CREATE INDEX t3_min ON t3 USING hnsw (v vector_l2_ops) WITH (m = 2, ef_construction = 4);
CREATE INDEX t3_max ON t3 USING hnsw (v vector_l2_ops) WITH (m = 100, ef_construction = 1000);
SET vecpersist.ef_search = 1;
SET vecpersist.max_scan_tuples = 1;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM t3 ORDER BY v <-> '[4,5,6]' LIMIT 1) s;
SET vecpersist.ef_search = 1000;
SET vecpersist.max_scan_tuples = 2147483647;
SELECT id FROM t3 ORDER BY v <-> '[4,5,6]' LIMIT 1;
}),
	"1\n2",
	'options and settings at both ends of their ranges work');

# --- the server survived -----------------------------------------------------------
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
	$start_time, 'the postmaster was never restarted');
no_crash_ok($node);
ok(!$node->log_contains(qr/terminated by signal|PANIC/), 'no process died by a signal');
$node->stop;

done_testing();
