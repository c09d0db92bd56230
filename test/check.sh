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
#      framework start and stop themselves, with test/regress.conf;
#   5. as-vector: make install-as-vector into a private copy of PostgreSQL
#      in the build directory, and psql checks against a throwaway server
#      of that copy (CREATE EXTENSION IF NOT EXISTS vector, an hnsw index,
#      ALTER EXTENSION UPDATE, DROP EXTENSION).
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

# --- installed under the name "vector" -----------------------------------------
# Frameworks written for pgvector run CREATE EXTENSION IF NOT EXISTS vector.
# make install-as-vector serves them; it must not touch the system's
# PostgreSQL (pgvector may live there), so it is tested in a private,
# relocatable copy of that PostgreSQL inside the build directory (its
# binaries find share/ and lib/ relative to themselves), with a throwaway
# server on a Unix socket only, run as $RUN_USER and stopped at the end (or
# by stop_leftover_servers).  Each check prints "ok N - what" or
# "not ok N - what"; every one is a test in the summary.
AV=$BUILD/tmp_as_vector
AV_VERSION=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" vecpersist.control)
AV_OLDEST=$(ls sql/vecpersist--*.sql | sed -n 's|^sql/vecpersist--\([0-9.]*\)\.sql$|\1|p' |
	sort -V | head -n 1)

av_n=0 av_failed=0
av_result() {	# av_result OK|FAIL DESCRIPTION [DETAIL]
	av_n=$((av_n + 1))
	if [ "$1" = OK ]; then
		echo "ok $av_n - $2"
	else
		av_failed=$((av_failed + 1))
		echo "not ok $av_n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
}

# av_sql DB SQL: run SQL (one or more statements) in DB with ON_ERROR_STOP,
# tuples only, unaligned.  Prints the rows; messages go to $AV/stderr.
av_sql() {
	as_user "$AV_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$AV/sock" \
		-d "$1" -c "$2" 2>"$AV/stderr"
}

# av_check DESCRIPTION DB SQL EXPECTED [MESSAGE]: SQL must succeed, print
# EXPECTED, and (if given) send MESSAGE (a fixed string) to stderr.
av_check() {
	local out rc
	out=$(av_sql "$2" "$3")
	rc=$?
	if [ $rc -eq 0 ] && [ "$out" = "$4" ] &&
		{ [ -z "${5:-}" ] || grep -qF -- "$5" "$AV/stderr"; }; then
		av_result OK "$1"
	else
		av_result FAIL "$1" "status $rc; expected: $4 ${5:+/ $5}
got: $out / $(cat "$AV/stderr")"
	fi
}

# Deterministic rows, and the k-NN answers (ids of the 10 nearest rows of
# three query vectors) through the hnsw index or by an exact scan.  With
# ef_search above the number of rows a search reaches every node, so the
# two must be equal.  ef_search is set under both names, so that this
# holds whichever name a scan reads.
AV_TABLE="CREATE TABLE items (id int PRIMARY KEY, v vector(4));
INSERT INTO items SELECT i,
    ARRAY[sin(i * 0.37), cos(i * 0.53), sin(i * 0.71), cos(i * 0.29)]::real[]
  FROM generate_series(1, 500) i;
CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops);
ANALYZE items;"
AV_KNN="SELECT string_agg(ids, ' ' ORDER BY q) FROM (
  SELECT q, (SELECT string_agg(id::text, ',' ORDER BY d, id) FROM (
      SELECT id, v <-> qv AS d FROM items ORDER BY v <-> qv LIMIT 10) s) AS ids
  FROM (SELECT q, ARRAY[sin(q), cos(q), sin(2 * q), cos(3 * q)]::real[]::vector AS qv
        FROM generate_series(1, 3) q) queries) a"
AV_INDEX="SET hnsw.ef_search = 1000; SET vecpersist.ef_search = 1000;
SET enable_seqscan = off; SET enable_sort = off;"
AV_EXACT="SET enable_indexscan = off; SET enable_bitmapscan = off;"

check_as_vector() {
	local d out rc exact ext avpgc

	# 1. the copy: each directory of the installation at the same path
	#    below $AV/pg (bindir's parent holds bin/ and lib/ on Debian)
	rm -rf "$AV"
	as_user mkdir -p "$AV/pg" "$AV/sock" || return 1
	for d in "$(dirname "$("$PG_CONFIG" --bindir)")" "$("$PG_CONFIG" --sharedir)" \
		"$("$PG_CONFIG" --includedir)"; do
		as_user mkdir -p "$AV/pg$(dirname "$d")" || return 1
		as_user cp -R -P --preserve=mode,timestamps "$d" "$AV/pg$(dirname "$d")/" || return 1
	done
	AV_BIN=$AV/pg$("$PG_CONFIG" --bindir)
	avpgc=$AV_BIN/pg_config
	ext=$("$avpgc" --sharedir)/extension
	if [ "$ext" = "$AV/pg$("$PG_CONFIG" --sharedir)/extension" ]; then
		av_result OK "the private copy of PostgreSQL finds its own share/"
	else
		av_result FAIL "the private copy of PostgreSQL finds its own share/" "sharedir: $ext"
		return 1
	fi
	# the system's installation may hold pgvector; the copy must not
	as_user rm -f "$ext"/vector.control "$ext"/vector--*.sql

	# 2. install-as-vector leaves another extension's vector.control alone
	printf '%s\n' "comment = 'another vector extension'" "module_pathname = '\$libdir/vector'" |
		as_user sh -c "cat > '$ext/vector.control'"
	out=$(as_user make install-as-vector PG_CONFIG="$avpgc" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && echo "$out" | grep -q 'belongs to another extension named vector' &&
		grep -q 'another vector extension' "$ext/vector.control"; then
		av_result OK "install-as-vector refuses to replace another extension's vector.control"
	else
		av_result FAIL "install-as-vector refuses to replace another extension's vector.control" \
			"status $rc: $out"
	fi
	as_user rm -f "$ext/vector.control"

	# 3. installed for real
	out=$(as_user make install-as-vector PG_CONFIG="$avpgc" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -f "$ext/vector.control" ] && [ -f "$ext/vector--$AV_VERSION.sql" ]; then
		av_result OK "make install-as-vector installs vector.control and vector--$AV_VERSION.sql"
	else
		av_result FAIL "make install-as-vector installs vector.control and vector--$AV_VERSION.sql" \
			"status $rc: $out"
		return 1
	fi

	# 4. the throwaway server (its superuser is $RUN_USER, psql's default)
	if as_user "$AV_BIN/initdb" -D "$AV/data" -A trust >"$AV/initdb.log" 2>&1 &&
		printf '%s\n' "shared_preload_libraries = 'vecpersist'" "listen_addresses = ''" \
			"unix_socket_directories = '$AV/sock'" "fsync = off" "jit = off" |
		as_user sh -c "cat >> '$AV/data/postgresql.conf'" &&
		as_user "$AV_BIN/pg_ctl" -D "$AV/data" -l "$AV/server.log" -w start >/dev/null; then
		av_result OK "a server of the private copy starts with vecpersist preloaded"
	else
		av_result FAIL "a server of the private copy starts with vecpersist preloaded" \
			"$(tail -n 20 "$AV/initdb.log" "$AV/server.log" 2>/dev/null)"
		return 1
	fi

	# 5. what frameworks run, and what applications do next
	av_check "CREATE EXTENSION IF NOT EXISTS vector creates vecpersist $AV_VERSION" postgres \
		"CREATE EXTENSION IF NOT EXISTS vector;
		 SELECT e.extversion || ' ' || p.probin FROM pg_extension e, pg_proc p
		 WHERE e.extname = 'vector' AND p.proname = 'vector_in'" \
		"$AV_VERSION \$libdir/vecpersist"
	av_check "CREATE EXTENSION IF NOT EXISTS vector again is skipped" postgres \
		"CREATE EXTENSION IF NOT EXISTS vector; SELECT count(*) FROM pg_extension WHERE extname = 'vector'" \
		"1" 'extension "vector" already exists, skipping'
	av_check "pgvector's hnsw.ef_search is checked in that database" postgres \
		"DO \$\$ BEGIN SET hnsw.ef_search = 0;
		 EXCEPTION WHEN invalid_parameter_value THEN RAISE NOTICE '%', SQLERRM; END \$\$" \
		"" '0 is outside the valid range for parameter "hnsw.ef_search" (1 .. 1000)'
	av_check "a table with a vector column and an hnsw index" postgres \
		"$AV_TABLE SELECT count(*) FROM items" "500"
	out=$(av_sql postgres "$AV_INDEX EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '[1,0,1,0]' LIMIT 10")
	if echo "$out" | grep -q "Index Scan using items_v_idx"; then
		av_result OK "the k-NN query is planned as a scan of the hnsw index"
	else
		av_result FAIL "the k-NN query is planned as a scan of the hnsw index" "$out"
	fi
	exact=$(av_sql postgres "$AV_EXACT $AV_KNN")
	if echo "$exact" | grep -Eq '^([0-9]+(,[0-9]+){9} ){2}[0-9]+(,[0-9]+){9}$'; then
		av_result OK "the exact scan gives 10 ids for each of 3 query vectors"
	else
		av_result FAIL "the exact scan gives 10 ids for each of 3 query vectors" "$exact"
	fi
	av_check "k-NN through the hnsw index equals an exact scan" postgres \
		"$AV_INDEX $AV_KNN" "$exact"
	av_check "ALTER EXTENSION vector UPDATE: already up to date" postgres \
		"ALTER EXTENSION vector UPDATE; SELECT extversion FROM pg_extension WHERE extname = 'vector'" \
		"$AV_VERSION" "version \"$AV_VERSION\" of extension \"vector\" is already installed"
	av_check "DROP EXTENSION vector drops the type and the access method" postgres \
		"DROP EXTENSION vector CASCADE;
		 SELECT count(*) FROM pg_am WHERE amname = 'hnsw'" \
		"0" "drop cascades to column v of table items"

	# 6. the update path from the oldest full script, in a database of its own
	av_check "a database for the update path" postgres "CREATE DATABASE upd" ""
	av_check "CREATE EXTENSION vector VERSION '$AV_OLDEST', an hnsw index, ALTER EXTENSION vector UPDATE" upd \
		"CREATE EXTENSION vector VERSION '$AV_OLDEST'; $AV_TABLE
		 ALTER EXTENSION vector UPDATE;
		 SELECT extversion FROM pg_extension WHERE extname = 'vector'" \
		"$AV_VERSION"
	av_check "after the update, k-NN through the index built before equals an exact scan" upd \
		"$AV_INDEX $AV_KNN" "$exact"
	av_check "DROP EXTENSION vector after the update" upd \
		"DROP EXTENSION vector CASCADE; SELECT count(*) FROM pg_type WHERE typname = 'vector'" "0"

	as_user "$AV_BIN/pg_ctl" -D "$AV/data" -m fast -w stop >/dev/null
	echo "$av_n checks, $av_failed failed"
	[ "$av_failed" -eq 0 ]
}
run_stage as-vector check_as_vector
rc=$?
p=$(grep -c '^ok ' "$LOGS/as-vector.log")
f=$(grep -c '^not ok ' "$LOGS/as-vector.log")
record as-vector $rc "$p" "$f"

summary_and_exit
