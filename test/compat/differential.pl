#!/usr/bin/perl
#
# test/compat/differential.pl -- run SQL files statement by statement against
# pgvector and vecpersist in one cluster and compare what each statement
# prints.
#
#   perl test/compat/differential.pl [options] FILE.sql...
#
#   --bindir DIR        directory holding psql (default: psql from PATH)
#   --host H, --port P, --user U
#                       connection parameters, passed to psql as -h/-p/-U
#                       (default: psql's own, i.e. PGHOST, PGPORT, PGUSER)
#   --maintenance-db D  database to connect to for CREATE/DROP DATABASE
#                       (default postgres)
#   --ref-db NAME       database for the reference (default vp_compat_ref)
#   --cand-db NAME      database for the candidate (default vp_compat_cand)
#   --ref-ext NAME      reference extension (default vector, i.e. pgvector)
#   --cand-ext NAME     candidate extension (default vecpersist)
#   --workdir DIR       where the two psql sessions run (each in its own
#                       subdirectory with an empty results/ in it, so that
#                       \copy ... 'results/x.bin' works); default a
#                       temporary directory, removed at the end
#   --summary           print only the per-file table, not the differences
#   --strict            also count DETAIL/HINT/CONTEXT and LINE/caret lines
#   --min-percent N     exit 1 if the total share of identical statements
#                       is below N (default: never)
#   --keep              keep the two databases of the last file
#   --save DIR          write each file's two transcripts to DIR as
#                       NAME.ref.out and NAME.cand.out: each unit, then
#                       what psql printed for it (for diff, or for writing
#                       expected output)
#
# Both databases are dropped and created afresh for each file (they are
# dropped again at the end unless --keep), and the extension is created in
# each.  The reference extension must already be available in the cluster:
# this script never builds or installs anything.  The cluster should have
# vecpersist in shared_preload_libraries, like the test suite's.
#
# How a file is run.  The file is split into the units psql itself would
# execute one at a time: SQL statements ending with a semicolon outside
# quotes ('...', E'...', "...", $tag$...$tag$), comments (--, nested /* */)
# and parentheses, or ending with a query-sending backslash command such as
# \g; and backslash commands on their own (\copy, \set, ...), each up to the
# end of its line.  COPY ... FROM STDIN takes its data lines with it.  Each
# database gets one psql session (-X -q, as pg_regress runs it, standard
# input not a file, so no "psql:file:line:" prefixes) reading the whole file
# with a marker between units:
#     \set SQLSTATE 00000
#     <unit>
#     \echo <marker> :SQLSTATE
# psql's standard output and error go to one pipe, in the order psql wrote
# them (as pg_regress captures them), and are cut at the markers.  The
# SQLSTATE psql reports for the unit is kept with its output.  If psql ends
# early (a lost connection, a server crash), the rest of its output goes
# with the unit it was running and the units after it are marked as not
# run.
#
# How outputs are compared.  The two outputs of a unit are the same if,
# after this normalization, they are equal:
#   - an ERROR is its primary message (all lines up to the first DETAIL,
#     HINT, CONTEXT, QUERY, LOCATION or LINE line) plus the SQLSTATE; its
#     DETAIL, HINT, CONTEXT, QUERY lines and statement position (LINE n:
#     and the caret under it) are dropped;
#   - a NOTICE, WARNING or INFO is its primary message; the DETAIL, HINT
#     and CONTEXT lines after it are dropped;
#   - every other line (query results, psql's own messages) must be equal.
# --strict compares the outputs exactly instead.  The report shows both raw
# outputs of every unit that differs.
#
# Output: for each file, its differences (the unit's first line number and
# text, then both outputs), then a table with, per file and in total, the
# number of units, how many are the same, and the percentage.
#
# Requires only Debian's perl and libipc-run-perl.
#
# IDENTIFICATION
#	  test/compat/differential.pl
#

use strict;
use warnings;

use File::Path qw(make_path remove_tree);
use File::Spec;
use File::Temp qw(tempdir);
use Getopt::Long;
use IPC::Run qw(run);

my %opt = (
	'maintenance-db' => 'postgres',
	'ref-db'         => 'vp_compat_ref',
	'cand-db'        => 'vp_compat_cand',
	'ref-ext'        => 'vector',
	'cand-ext'       => 'vecpersist',
);
GetOptions(
	\%opt,             'bindir=s', 'host=s',      'port=s',
	'user=s',          'maintenance-db=s',        'ref-db=s',
	'cand-db=s',       'ref-ext=s', 'cand-ext=s', 'workdir=s',
	'summary',         'strict',   'min-percent=f', 'keep',
	'save=s',          'help',
) or usage(2);
usage(0) if $opt{help};
usage(2) unless @ARGV;

# psql's messages and formats must not depend on the caller's locale, and
# the settings are pg_regress's, so that outputs read like its .out files.
$ENV{LC_ALL}      = 'C';
$ENV{PGTZ}        = 'PST8PDT';
$ENV{PGDATESTYLE} = 'Postgres, MDY';
delete $ENV{PSQLRC};

my $psql = defined $opt{bindir} ? File::Spec->catfile($opt{bindir}, 'psql') : 'psql';
my @conn;
push @conn, '-h', $opt{host} if defined $opt{host};
push @conn, '-p', $opt{port} if defined $opt{port};
push @conn, '-U', $opt{user} if defined $opt{user};

my $MARK = '@@vp-compat-end@@';

my $workdir = $opt{workdir};
if (defined $workdir) { make_path($workdir); }
else { $workdir = tempdir('vp-compat-XXXXXX', TMPDIR => 1, CLEANUP => 1); }

die "the two databases must differ\n" if $opt{'ref-db'} eq $opt{'cand-db'};
check_extension($opt{'ref-ext'});
check_extension($opt{'cand-ext'});

my (@summary, $total_n, $total_same);
$total_n = $total_same = 0;

for my $file (@ARGV)
{
	my @units = split_statements(read_file($file), $file);
	my %out;
	for my $side ([ref => $opt{'ref-db'}, $opt{'ref-ext'}],
		[cand => $opt{'cand-db'}, $opt{'cand-ext'}])
	{
		my ($key, $db, $ext) = @$side;
		fresh_database($db, $ext);
		$out{$key} = run_units($db, $key, \@units, $file);
		save_transcript($file, $key, \@units, $out{$key}) if defined $opt{save};
	}

	my ($same, @diffs) = (0);
	for my $i (0 .. $#units)
	{
		my ($r, $c) = ($out{ref}[$i], $out{cand}[$i]);
		if (normalize($r) eq normalize($c)) { $same++; next; }
		push @diffs, [ $units[$i], $r, $c ];
	}
	push @summary, [ $file, scalar(@units), $same ];
	$total_n    += @units;
	$total_same += $same;

	if (!$opt{summary} && @diffs)
	{
		print "=" x 72, "\n";
		printf "%s: %d difference%s\n", $file, scalar(@diffs),
		  @diffs == 1 ? '' : 's';
		for my $d (@diffs)
		{
			my ($u, $r, $c) = @$d;
			print "-" x 72, "\n";
			print "$file:$u->{line}:\n", indent($u->{text});
			print "  reference ($opt{'ref-ext'}):\n",  indent(show($r));
			print "  candidate ($opt{'cand-ext'}):\n", indent(show($c));
		}
		print "\n";
	}
}

unless ($opt{keep})
{
	drop_database($_) for ($opt{'ref-db'}, $opt{'cand-db'});
}

# The summary table.
my $w = 4;
for (@summary) { my $l = length((File::Spec->splitpath($_->[0]))[2]); $w = $l if $l > $w; }
printf "%-*s %10s %10s %7s\n", $w, 'file', 'statements', 'identical', '%';
for (@summary)
{
	my ($f, $n, $s) = @$_;
	printf "%-*s %10d %10d %7s\n", $w, (File::Spec->splitpath($f))[2], $n, $s, pct($s, $n);
}
printf "%-*s %10d %10d %7s\n", $w, 'total', $total_n, $total_same,
  pct($total_same, $total_n);

if (defined $opt{'min-percent'} && $total_n
	&& 100.0 * $total_same / $total_n < $opt{'min-percent'})
{
	printf "below the required %s%%\n", $opt{'min-percent'};
	exit 1;
}
exit 0;

# ---------------------------------------------------------------------------

sub usage
{
	my ($rc) = @_;
	open(my $fh, '<', $0) or die;
	while (<$fh>)
	{
		last if /^use strict/;
		next if $. == 1;
		s/^# ?//;
		print;
	}
	exit $rc;
}

sub read_file
{
	my ($f) = @_;
	open(my $fh, '<', $f) or die "cannot read $f: $!\n";
	local $/;
	my $t = <$fh>;
	return $t;
}

sub pct
{
	my ($s, $n) = @_;
	return '-' unless $n;
	return sprintf('%.1f', 100.0 * $s / $n);
}

# Indents a text for the report, cutting lines longer than 200 characters
# and texts longer than 60 lines (a 16000-dimension vector is one line).
sub indent
{
	my ($t) = @_;
	$t =~ s/\n\z//;
	my @l = split(/\n/, $t, -1);
	my $more = @l > 60 ? @l - 60 : 0;
	splice(@l, 60) if $more;
	for (@l)
	{
		$_ = substr($_, 0, 200) . '... (' . (length($_) - 200) . ' more characters)'
		  if length($_) > 200;
	}
	push @l, "... ($more more lines)" if $more;
	return join('', map { "    | $_\n" } @l);
}

# A unit's output as the report shows it: the raw text, then the SQLSTATE
# psql reported if it is not success.
sub show
{
	my ($o) = @_;
	my $t = $o->{text};
	$t .= "(SQLSTATE $o->{sqlstate})\n" if $o->{sqlstate} =~ /^[0-9A-Z]{5}\z/ && $o->{sqlstate} ne '00000';
	$t = "(no output)\n" if $t eq '';
	return $t;
}

# Writes what one side printed for a file, unit by unit.
sub save_transcript
{
	my ($file, $key, $units, $out) = @_;
	make_path($opt{save});
	my $name = (File::Spec->splitpath($file))[2];
	$name =~ s/\.sql\z//;
	my $path = File::Spec->catfile($opt{save}, "$name.$key.out");
	open(my $fh, '>', $path) or die "cannot write $path: $!\n";
	for my $i (0 .. $#$units)
	{
		print $fh $units->[$i]{text}, "\n", $out->[$i]{text};
	}
	close($fh) or die "cannot write $path: $!\n";
}

# Runs psql with the given arguments and standard input; dies on failure
# unless $may_fail.  Returns standard output and error, interleaved.
sub psql
{
	my ($db, $input, $dir, $may_fail) = @_;
	my @cmd = ($psql, '-X', '-q', '-v', 'ON_ERROR_STOP=0', @conn, '-d', $db);
	my $out = '';
	my $ok  = run(\@cmd, '<', \$input, '>&', \$out,
		defined $dir ? (init => sub { chdir $dir or die "chdir $dir: $!" }) : ());
	die "psql failed on database $db:\n$out" if !$ok && !$may_fail;
	return $out;
}

sub admin
{
	my ($sql, $may_fail) = @_;
	my $out = psql($opt{'maintenance-db'}, "\\set ON_ERROR_STOP 1\n$sql\n", undef, $may_fail);
	die "failed: $sql\n$out" if !$may_fail && $out =~ /^(ERROR|FATAL):/m;
	return $out;
}

sub quote_ident
{
	my ($n) = @_;
	$n =~ s/"/""/g;
	return qq{"$n"};
}

sub quote_literal
{
	my ($n) = @_;
	$n =~ s/'/''/g;
	return qq{'$n'};
}

sub check_extension
{
	my ($ext) = @_;
	my $out = admin("\\pset tuples_only on\n\\pset format unaligned\n"
		  . "SELECT count(*) FROM pg_available_extensions WHERE name = "
		  . quote_literal($ext) . ";");
	$out =~ s/\s+//g;
	die "extension \"$ext\" is not installed in this cluster "
	  . "(this script only uses it; install it first)\n"
	  unless $out eq '1';
}

sub drop_database
{
	my ($db) = @_;
	admin('DROP DATABASE IF EXISTS ' . quote_ident($db) . ' WITH (FORCE);');
}

sub fresh_database
{
	my ($db, $ext) = @_;
	drop_database($db);
	admin('CREATE DATABASE ' . quote_ident($db) . ' TEMPLATE template0;');
	my $out = psql($db, "\\set ON_ERROR_STOP 1\nCREATE EXTENSION " . quote_ident($ext) . ";\n");
	die "CREATE EXTENSION $ext failed in $db:\n$out" if $out =~ /^(ERROR|FATAL):/m;
}

# Runs every unit in one psql session on $db, from a fresh working directory
# with an empty results/ in it.  Returns, per unit, {text, sqlstate}.
sub run_units
{
	my ($db, $key, $units, $file) = @_;
	my $dir = File::Spec->catdir($workdir, $key);
	remove_tree($dir);
	make_path(File::Spec->catdir($dir, 'results'));

	my $script = '';
	for my $i (0 .. $#$units)
	{
		$script .= "\\set SQLSTATE 00000\n";
		$script .= $units->[$i]{text};
		$script .= "\n" unless $script =~ /\n\z/;
		$script .= "\\echo $MARK $i :SQLSTATE\n";
	}
	my $out = psql($db, $script, $dir, 1);

	my @res;
	my $rest = $out;
	for my $i (0 .. $#$units)
	{
		if ($rest =~ /\A(.*?)^\Q$MARK\E $i (\S*)\n/ms)
		{
			push @res, { text => $1, sqlstate => $2 };
			$rest = substr($rest, $+[0]);
		}
		else
		{
			# psql ended early (a lost connection, a crash): the rest of
			# its output goes with this statement, and the statements after
			# it show that they did not run, so they count as different
			# unless both sides stopped at the same place.
			warn "$file: psql on $db ended at statement " . ($i + 1)
			  . " (line $units->[$i]{line})\n";
			push @res, { text => $rest . "(psql ended here)\n", sqlstate => '-' };
			push @res, { text => "(not run: psql had ended)\n", sqlstate => '-' }
			  for ($i + 1 .. $#$units);
			last;
		}
	}
	return \@res;
}

# The comparison key of one unit's output (see the header).
sub normalize
{
	my ($o) = @_;
	return $o->{text} . "\n" . $o->{sqlstate} if $opt{strict};

	my $text = $o->{text};
	$text =~ s/\n\z//;
	my @lines = split(/\n/, $text, -1);
	my (@key, $in_msg, $in_error, $in_primary);
	for my $l (@lines)
	{
		if ($l =~ /^(ERROR|WARNING|NOTICE|INFO|LOG|DEBUG\d?|FATAL|PANIC):  /)
		{
			$in_msg     = 1;
			$in_error   = ($1 eq 'ERROR' || $1 eq 'FATAL' || $1 eq 'PANIC');
			$in_primary = 1;
			push @key, $l;
			next;
		}
		if ($in_msg)
		{
			if ($l =~ /^(DETAIL|HINT|CONTEXT|QUERY|LOCATION):  / || $l =~ /^LINE \d+: /)
			{
				$in_primary = 0;
				next;
			}
			# An error's report runs to the end of the unit's output; a
			# notice's continuation lines end where table output (which
			# starts with a space) or an empty line begins.
			if ($in_error || ($l ne '' && $l !~ /^ /))
			{
				push @key, $l if $in_primary;
				next;
			}
			$in_msg = 0;
		}
		push @key, $l;
	}
	return join("\n", @key) . "\n" . ($o->{sqlstate} eq '00000' ? '' : $o->{sqlstate});
}

# ---------------------------------------------------------------------------
# Splitting a file into the units psql executes (see the header).  Returns
# a list of {line, text}; text has no trailing newline.  Leading white space
# and -- comments are not part of a unit (psql drops them too).
# ---------------------------------------------------------------------------

sub split_statements
{
	my ($src, $file) = @_;
	# backslash commands that send (or discard) the query buffer
	my %SENDS = map { $_ => 1 }
	  qw(g gx gset gexec gdesc crosstabview watch r reset);
	my @units;
	my $len = length($src);
	my $pos = 0;
	my $line = 1;
	my ($start, $start_line);      # current unit, undef while none
	my $paren = 0;

	my $advance = sub {            # move $pos to $to, counting lines
		my ($to) = @_;
		$line += (substr($src, $pos, $to - $pos) =~ tr/\n//);
		$pos = $to;
	};
	my $begin = sub {
		if (!defined $start) { $start = $pos; $start_line = $line; }
	};
	my $finish = sub {             # the unit ends at $pos
		my $t = substr($src, $start, $pos - $start);
		$t =~ s/\s+\z//;
		push @units, { line => $start_line, text => $t };
		undef $start;
		$paren = 0;
	};

	while ($pos < $len)
	{
		my $rest = substr($src, $pos, 2);
		my $c = substr($src, $pos, 1);

		if ($c =~ /\s/) { $advance->($pos + 1); next; }
		if ($rest eq '--')
		{
			my $e = index($src, "\n", $pos);
			$e = $len if $e < 0;
			$advance->($e);
			next;
		}

		if ($c eq '\\')
		{
			my $tail = substr($src, $pos, 2);
			if ($tail eq '\\;' || $tail eq '\\:')
			{
				$begin->();
				$advance->($pos + 2);
				next;
			}
			# a backslash command: up to the end of its line
			$begin->();
			my $alone = ($start == $pos);
			my $e = index($src, "\n", $pos);
			$e = $len if $e < 0;
			my $cmd = substr($src, $pos, $e - $pos);
			$advance->($e);
			my ($name) = $cmd =~ /^\\([A-Za-z0-9_]*)/;
			$name = '' unless defined $name;
			if ($alone)
			{
				take_copy_data(\$pos, \$line, $src)
				  if $name eq 'copy' && $cmd =~ /\bfrom\s+p?stdin\b/i;
				$finish->();
			}
			elsif ($SENDS{$name})
			{
				$finish->();
			}
			next;
		}

		$begin->();

		if ($rest eq '/*')
		{
			my $depth = 0;
			my $p = $pos;
			while ($p < $len)
			{
				my $two = substr($src, $p, 2);
				if ($two eq '/*') { $depth++; $p += 2; }
				elsif ($two eq '*/') { $depth--; $p += 2; last if $depth == 0; }
				else { $p++; }
			}
			$advance->($p);
			next;
		}
		if ($c eq "'" || $c eq '"')
		{
			# standard_conforming_strings: a quote is escaped by doubling
			my $p = $pos + 1;
			while ($p < $len)
			{
				my $q = index($src, $c, $p);
				if ($q < 0) { $p = $len; last; }
				if (substr($src, $q + 1, 1) eq $c) { $p = $q + 2; next; }
				$p = $q + 1;
				last;
			}
			$advance->($p);
			next;
		}
		if ($c =~ /[Ee]/ && substr($src, $pos + 1, 1) eq "'"
			&& ($pos == 0 || substr($src, $pos - 1, 1) !~ /[\w\$\x80-\xff]/))
		{
			# E'...': backslash escapes as well as doubled quotes
			my $p = $pos + 2;
			while ($p < $len)
			{
				my $ch = substr($src, $p, 1);
				if ($ch eq '\\') { $p += 2; next; }
				if ($ch eq "'")
				{
					if (substr($src, $p + 1, 1) eq "'") { $p += 2; next; }
					$p++;
					last;
				}
				$p++;
			}
			$advance->($p);
			next;
		}
		if ($c eq '$' && substr($src, $pos) =~ /\A(\$(?:[A-Za-z\x80-\xff_][A-Za-z\x80-\xff_0-9]*)?\$)/)
		{
			my $tag = $1;
			my $q = index($src, $tag, $pos + length($tag));
			$advance->($q < 0 ? $len : $q + length($tag));
			next;
		}
		if ($c =~ /[A-Za-z_\x80-\xff]/)
		{
			# an identifier or keyword ($ may continue one: no dollar quote)
			substr($src, $pos) =~ /\A[A-Za-z_\x80-\xff][A-Za-z_0-9\$\x80-\xff]*/;
			$advance->($pos + length($&));
			next;
		}
		if ($rest eq '::') { $advance->($pos + 2); next; }
		if ($c eq ':' && substr($src, $pos) =~ /\A:(['"])[A-Za-z0-9_]+\1/)
		{
			# psql variable interpolation :'name' or :"name"
			$advance->($pos + length($&));
			next;
		}
		if ($c eq '(') { $paren++; $advance->($pos + 1); next; }
		if ($c eq ')') { $paren-- if $paren > 0; $advance->($pos + 1); next; }
		if ($c eq ';' && $paren == 0)
		{
			$advance->($pos + 1);
			my $stmt = substr($src, $start, $pos - $start);
			if ($stmt =~ /\A\s*COPY\b/i && $stmt =~ /\bFROM\s+STDIN\b/i)
			{
				take_copy_data(\$pos, \$line, $src);
			}
			$finish->();
			next;
		}
		$advance->($pos + 1);
	}
	if (defined $start)
	{
		# psql sends what is left at the end of its input; a semicolon on a
		# line of its own does the same here and lets the marker follow.
		my $t = substr($src, $start);
		$t =~ s/\s+\z//;
		push @units, { line => $start_line, text => "$t\n;" };
	}
	return @units;
}

# COPY ... FROM STDIN: the data lines that follow, up to "\.", belong to
# the statement.  Moves $$pos past them.
sub take_copy_data
{
	my ($posref, $lineref, $src) = @_;
	my $e = index($src, "\n", $$posref);
	return if $e < 0;
	my $p = $e + 1;
	while ($p < length($src))
	{
		my $n = index($src, "\n", $p);
		$n = length($src) if $n < 0;
		my $l = substr($src, $p, $n - $p);
		$p = $n + 1;
		last if $l eq '\\.';
	}
	$p = length($src) if $p > length($src);
	$$lineref += (substr($src, $$posref, $p - $$posref) =~ tr/\n//);
	$$posref = $p;
}
