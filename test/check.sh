#!/usr/bin/env bash
#
# test/check.sh -- build vecpersist from this tree and run every test suite.
#
#   sudo bash test/check.sh        (from a clone; CI runs it as root via .ci/run)
#
# What it does, in order:
#   1. installs what is missing (gcc/make, postgresql-15, its server headers,
#      IPC::Run for the TAP tests) with apt-get;
#   2. copies the tree (without .git) to a fresh /tmp/vecpersist-check.XXXXXX,
#      owned by an unprivileged user (postgres when run as root, else you),
#      because PostgreSQL refuses to run as root;
#   3. builds there with -Werror and installs into PostgreSQL 15 (as root);
#   4. runs the stages: exported-symbol check, unit tests (plain, then under
#      ASan/UBSan), pg_regress, isolation and TAP tests.  The server-side
#      suites run against throwaway servers that pg_regress and the TAP
#      framework start and stop themselves, with test/regress.conf.
#
# Every stage runs even if an earlier one failed (except after a failed
# build); each stage's output is streamed and kept in <builddir>/logs/.
# The last line is "N passed, N failed", counting individual tests.  The exit
# status is non-zero if anything failed or if no test ran at all.
#
# Environment: PG_CONFIG (default /usr/lib/postgresql/15/bin/pg_config).

set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
UNIT_BINARIES=(test/unit/test_distance test/unit/test_graph test/unit/test_half)

SCRIPT=check.sh
# shellcheck source=test/common.sh
. "$SRC/test/common.sh"
[ -t 1 ] && say() { printf '\n\033[1m==== %s\033[0m\n' "$*"; }

say "Dependencies"
install_deps build-essential binutils perl libipc-run-perl \
	postgresql-15 postgresql-server-dev-15
[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found (is postgresql-server-dev-15 installed?)"
echo "using $("$PG_CONFIG" --version) from $PG_CONFIG"

setup_run_user

# ---------------------------------------------------------------------------
# Private copy of the tree, owned by the user that runs the servers.
# ---------------------------------------------------------------------------
BUILD=$(mktemp -d /tmp/vecpersist-check.XXXXXX) || die "mktemp failed"
LOGS=$BUILD/logs
copy_tree "$SRC" "$BUILD"
mkdir -p "$LOGS"
if [ "$(id -u)" -eq 0 ]; then chown "$RUN_USER" "$LOGS"; fi
cd "$BUILD" || die "cd $BUILD"
echo "build directory: $BUILD (user $RUN_USER)"

# If we are interrupted, stop any server still running out of the build
# directory (pg_regress and the TAP framework normally stop their own).
stop_leftover_servers() {
	local pidfile
	while IFS= read -r pidfile; do
		as_user "$(dirname "$PG_CONFIG")/pg_ctl" -D "$(dirname "$pidfile")" \
			-m immediate stop >/dev/null 2>&1 || true
	done < <(find "$BUILD" -name postmaster.pid 2>/dev/null)
}
trap stop_leftover_servers EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# Stages.  run_stage NAME CMD... streams CMD's output to the terminal and to
# $LOGS/NAME.log and records its exit status; count_* turn a log into test
# counts.  A stage that fails without any countable failed test counts as one
# failed test, so that a crash or a missing file can never pass silently.
# ---------------------------------------------------------------------------
STAGES=() STATUS=() NPASS=() NFAIL=()
TOTAL_PASS=0 TOTAL_FAIL=0

run_stage() {
	local name=$1; shift
	say "$name: $*"
	"$@" 2>&1 | tee "$LOGS/$name.log"
	return "${PIPESTATUS[0]}"
}

record() {	# record NAME RC PASSED FAILED [NOTE]
	local name=$1 rc=$2 p=$3 f=$4 note=${5:-}
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	local st=ok
	[ "$f" -gt 0 ] && st=FAILED
	[ -n "$note" ] && st="$st ($note)"
	STAGES+=("$name") STATUS+=("$st") NPASS+=("$p") NFAIL+=("$f")
	TOTAL_PASS=$((TOTAL_PASS + p)) TOTAL_FAIL=$((TOTAL_FAIL + f))
}

# pg_regress / pg_isolation_regress: "test name ... ok  12 ms",
# "     name ... FAILED  12 ms" (parallel groups), "failed (ignored)".
count_regress() {	# prints "passed failed"
	awk '/^ *(test +)?[^ ]+ +\.\.\. +ok/ { p++ }
	     /^ *(test +)?[^ ]+ +\.\.\. +(FAILED|failed)/ { f++ }
	     END { printf "%d %d\n", p, f }' "$1"
}

# prove: one line per file, "test/t/001_x.pl .. ok" when every subtest
# passed.  Each file is one test; a file prove reports as anything but ok
# (Dubious, Failed n/m subtests, no plan, never ran) is a failed test.
count_tap() {	# prints "passed failed skipped"
	local log=$1 f p=0 n=0 s=0 base
	for f in test/t/*.pl; do
		[ -e "$f" ] || continue
		base=${f//./\\.}
		if grep -Eq "(^|[[:space:]])$base \.+ ok" "$log"; then
			p=$((p + 1))
		elif grep -Eq "(^|[[:space:]])$base \.+ skipped" "$log"; then
			s=$((s + 1))
		else
			n=$((n + 1))
		fi
	done
	echo "$p $n $s"
}

# Unit binaries print their own "N passed, N failed" line: sum them.
count_unit() {
	awk '/^[ \t]*[0-9]+ passed, [0-9]+ failed[ \t]*$/ { p += $1; f += $3 }
	     END { printf "%d %d\n", p, f }' "$1"
}

summary_and_exit() {
	local i
	say "Summary (logs in $LOGS)"
	for i in "${!STAGES[@]}"; do
		printf '  %-15s %-28s %4d passed, %d failed\n' \
			"${STAGES[$i]}" "${STATUS[$i]}" "${NPASS[$i]}" "${NFAIL[$i]}"
	done
	if [ "$TOTAL_FAIL" -ne 0 ]; then
		echo "build directory kept for inspection: $BUILD"
	elif [ $((TOTAL_PASS + TOTAL_FAIL)) -eq 0 ]; then
		echo "no test ran"
	fi
	echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
	[ "$TOTAL_FAIL" -eq 0 ] && [ "$TOTAL_PASS" -gt 0 ]
	exit $?
}

# --- build and install (nothing else can run if these fail) ----------------
# A tree that was built in place may carry objects from other flags.
as_user make -s clean PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1
run_stage build as_user make -j"$(nproc)" WERROR=1 PG_CONFIG="$PG_CONFIG"
rc=$?
if [ $rc -ne 0 ]; then
	record build $rc 0 1
	summary_and_exit
fi
record build 0 0 0
run_stage install as_root make install PG_CONFIG="$PG_CONFIG"
rc=$?
if [ $rc -ne 0 ]; then
	record install $rc 0 1
	summary_and_exit
fi
record install 0 0 0

# --- exported symbols --------------------------------------------------------
# Only what PostgreSQL looks up may be exported: a second vector extension in
# the same server must not be able to interpose our internals (STYLE.md §9).
check_symbols() {
	local all bad
	all=$(nm -D --defined-only vecpersist.so | awk 'NF >= 2 { print $NF }') || return 1
	echo "$all" | sed 's/^/  /'
	bad=$(echo "$all" | grep -Ev '^(Pg_magic_func|_PG_init|pg_finfo_[A-Za-z0-9_]+|vp_[A-Za-z0-9_]+)$')
	if [ -n "$bad" ]; then
		echo "unexpected exported symbols in vecpersist.so:"
		echo "$bad" | sed 's/^/  /'
		return 1
	fi
	echo "exported symbols: ok ($(echo "$all" | wc -l))"
}
run_stage symbols check_symbols
rc=$?
if [ $rc -eq 0 ]; then record symbols 0 1 0; else record symbols $rc 0 1; fi

# --- unit tests: plain, then with AddressSanitizer + UBSan -------------------
run_stage unit as_user make unittest PG_CONFIG="$PG_CONFIG"
rc=$?
read -r p f < <(count_unit "$LOGS/unit.log")
record unit $rc "$p" "$f"

as_user rm -f "${UNIT_BINARIES[@]}"
run_stage unit-sanitize as_user env ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1 make unittest UNIT_SANITIZE=1 PG_CONFIG="$PG_CONFIG"
rc=$?
read -r p f < <(count_unit "$LOGS/unit-sanitize.log")
record unit-sanitize $rc "$p" "$f"

# --- server tests --------------------------------------------------------------
# installcheck runs pg_regress, then isolation, then prove in one recipe, and
# stops at the first that fails.  To run every suite regardless, we call it
# once per suite with the other two switched off.  --temp-instance makes
# pg_regress start (and stop) its own server with test/regress.conf.
# What pg_regress leaves behind when it fails: the diffs, and the temporary
# server's log (the only clue when the server did not even start).
show_failure() {	# show_failure STAGE OUTPUTDIR
	if [ -s "$2/regression.diffs" ]; then
		say "$1: $2/regression.diffs"
		cat "$2/regression.diffs"
	fi
	if [ -f "$2/log/postmaster.log" ]; then
		say "$1: tail of $2/log/postmaster.log"
		tail -n 40 "$2/log/postmaster.log"
	fi
}

REGRESS_ENV="--temp-instance=$BUILD/tmp_regress --temp-config=$BUILD/test/regress.conf"

run_stage regress as_user make installcheck PG_CONFIG="$PG_CONFIG" \
	ISOLATION= TAP_TESTS= EXTRA_REGRESS_OPTS="$REGRESS_ENV"
rc=$?
read -r p f < <(count_regress "$LOGS/regress.log")
if [ $rc -ne 0 ] || [ "$f" -ne 0 ]; then
	show_failure regress .
fi
record regress $rc "$p" "$f"

run_stage isolation as_user make installcheck PG_CONFIG="$PG_CONFIG" \
	REGRESS= TAP_TESTS= EXTRA_REGRESS_OPTS="$REGRESS_ENV"
rc=$?
if grep -q 'isolation install-check' "$LOGS/isolation.log"; then
	read -r p f < <(count_regress "$LOGS/isolation.log")
	if [ $rc -ne 0 ] || [ "$f" -ne 0 ]; then
		show_failure isolation output_iso
	fi
	record isolation $rc "$p" "$f"
else
	record isolation $rc 0 0 "no specs yet"
fi

run_stage tap as_user make installcheck PG_CONFIG="$PG_CONFIG" \
	REGRESS= ISOLATION= EXTRA_REGRESS_OPTS="$REGRESS_ENV"
rc=$?
read -r p f s < <(count_tap "$LOGS/tap.log")
if [ $rc -ne 0 ] || [ "$f" -ne 0 ]; then
	for log in tmp_check/log/*; do
		[ -f "$log" ] || continue
		say "tap: tail of $log"
		tail -n 60 "$log"
	done
fi
note=
[ "$s" -gt 0 ] && note="$s skipped"
record tap $rc "$p" "$f" "$note"

summary_and_exit
