#!/usr/bin/env bash
#
# test/demo.sh -- build vecpersist, start a throwaway server and show it work.
#
#   sudo bash test/demo.sh        (from a clone, on Debian/Ubuntu)
#
# Installs what is missing (gcc/make, postgresql-15 and its server headers),
# builds and installs the extension, then, in a temporary directory and as an
# unprivileged user (postgres when run as root): initdb, start a server on a
# free port of 127.0.0.1 (and a Unix socket in the temporary directory) with
# shared_preload_libraries = 'vecpersist', load 20,000 clustered 64-dim
# vectors, build an hnsw index (its graph goes into the shared graph cache:
# the vecpersist_cache view, vecpersist_cache_stats()), run k-NN queries and
# measure recall@10 against an exact scan.  Then it waits (at most 60 s) for
# the snapshot writer to save the graph (vecpersist_cache.snapshot_at) and
# restarts the server: the graph in shared memory is gone, and the first
# query after the restart loads it from its snapshot (origin 'loaded', the
# LOG line "loaded hnsw graph ... in N ms") instead of building it; its time
# is shown beside the build time of CREATE INDEX, and a second session
# searches the same graph without loading it again.  Last, it sets
# vecpersist.prewarm and restarts once more: the prewarm worker loads the
# graph before any query.  The server is stopped and the directory removed on
# exit, whatever happens; set KEEP=1 to keep the directory (with the server
# log).
#
# Environment: PG_CONFIG (default /usr/lib/postgresql/15/bin/pg_config).

set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

SCRIPT=demo.sh
# shellcheck source=test/common.sh
. "$SRC/test/common.sh"
unset PGHOST PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS

say "Dependencies"
install_deps build-essential postgresql-15 postgresql-server-dev-15
[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found"
BINDIR=$("$PG_CONFIG" --bindir)

setup_run_user

# --- build and install from a private copy ------------------------------------
DIR=$(mktemp -d /tmp/vecpersist-demo.XXXXXX)
DATA=$DIR/data
PGCTL_STARTED=
cleanup() {
	if [ -n "$PGCTL_STARTED" ]; then
		say "Stopping the server"
		as_user "$BINDIR/pg_ctl" -D "$DATA" -m fast -w stop || true
	fi
	if [ "${KEEP:-}" = 1 ]; then
		echo "kept $DIR (server log: $DIR/server.log)"
	else
		rm -rf "$DIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Building in $DIR/src as $RUN_USER"
copy_tree "$SRC" "$DIR/src"
if [ "$(id -u)" -eq 0 ]; then chown "$RUN_USER" "$DIR"; fi
chmod 755 "$DIR"
cd "$DIR/src"
as_user make -s clean PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1 || true
as_user make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG"
say "Installing into $("$PG_CONFIG" --pkglibdir)"
as_root make -s install PG_CONFIG="$PG_CONFIG"

# --- a throwaway server ----------------------------------------------------------
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
	[ -e "/tmp/.s.PGSQL.$1" ]
}
PORT=$((54330 + RANDOM % 2000))
while port_in_use "$PORT"; do PORT=$((PORT + 1)); done

say "initdb and start on 127.0.0.1:$PORT (socket in $DIR)"
as_user "$BINDIR/initdb" -D "$DATA" -A trust -N -E UTF8 --locale=C.UTF-8 \
	-U postgres >/dev/null
cat >>"$DATA/postgresql.conf" <<EOF

# vecpersist demo
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
shared_preload_libraries = 'vecpersist'
EOF
as_user "$BINDIR/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w start >/dev/null
PGCTL_STARTED=1

psql_demo() {
	as_user "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" \
		-U postgres -d postgres
}

# One value from one query (empty if the query fails)
psql_value() {
	as_user "$BINDIR/psql" -X -q -t -A -h "$DIR" -p "$PORT" -U postgres \
		-d postgres -c "$1" 2>/dev/null || true
}

# Print the lines of the server log written since byte $1 that tell how a
# graph came to be (built, loaded, prewarmed, repaired, a snapshot not
# used), without their timestamps.
log_since() {
	tail -c +$(($1 + 1)) "$DIR/server.log" |
		grep -A1 -e 'hnsw graph' -e 'snapshot of hnsw' |
		sed -e 's/^[0-9-]* [0-9:.]* [A-Z]* \[[0-9]*\] //' -e '/^--$/d' -e '/STATEMENT:/d' || true
}

psql_demo <<'SQL'
\pset footer off
\echo
\echo '==== CREATE EXTENSION vecpersist'
CREATE EXTENSION vecpersist;
SELECT extname, extversion FROM pg_extension WHERE extname = 'vecpersist';

\echo '==== 20,000 vectors of 64 dimensions around 40 centres (setseed: same data every run)'
CREATE TABLE items (id int PRIMARY KEY, v vector(64));
-- Centre c has coordinates sin(c * 12.9898 + d * 78.233); each row adds
-- noise in every coordinate (a sum of three uniforms, sd 0.15).
SELECT setseed(0.42) \gset
INSERT INTO items
SELECT i, (SELECT array_agg((sin((i % 40) * 12.9898 + d * 78.233)
                             + 0.3 * (random() + random() + random() - 1.5))::real
                            ORDER BY d)
           FROM generate_series(1, 64) d)::vector(64)
FROM generate_series(1, 20000) i;
-- 20 query vectors from the same distribution, rounded to keep them short
CREATE TABLE queries (qid int PRIMARY KEY, v vector(64));
INSERT INTO queries
SELECT i, (SELECT array_agg(round((sin((i % 40) * 12.9898 + d * 78.233)
                                   + 0.3 * (random() + random() + random() - 1.5))::numeric, 2)
                            ORDER BY d)
           FROM generate_series(1, 64) d)::vector(64)
FROM generate_series(1, 20) i;
ANALYZE items;
SELECT count(*) AS rows, pg_size_pretty(pg_table_size('items')) AS table_size FROM items;

\echo
\echo '==== CREATE INDEX ON items USING hnsw (v vector_l2_ops)'
\timing on
CREATE INDEX items_v_idx ON items USING hnsw (v vector_l2_ops);
\timing off
SELECT pg_size_pretty(pg_relation_size('items_v_idx')) AS index_size;

\echo
\echo '==== The shared graph cache: CREATE INDEX built the graph into it'
SELECT index, state, nodes, bytes, builds, round(build_ms) AS build_ms, searches
FROM vecpersist_cache;
SELECT index, origin, quantization, round(bytes_per_node) AS bytes_per_node,
       repaired, unreachable
FROM vecpersist_cache;
SELECT pg_size_pretty(budget_bytes) AS budget, pg_size_pretty(used_bytes) AS used,
       graphs, max_graphs, evictions, fallbacks
FROM vecpersist_cache_stats();

SELECT v AS q FROM queries WHERE qid = 1 \gset
\echo
\echo '==== The planner uses the index for ORDER BY v <-> ''[...]'' LIMIT 10'
\pset format wrapped
\pset columns 100
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> :'q' LIMIT 10;
\pset format aligned

\echo
\echo '==== k-NN: the 5 nearest rows to query vectors 1 to 3, with their L2 distance'
\timing on
SELECT id, round((v <-> :'q')::numeric, 4) AS distance FROM items ORDER BY v <-> :'q' LIMIT 5;
\timing off
SELECT q.qid, n.id, round(n.distance::numeric, 4) AS distance
FROM queries q,
     LATERAL (SELECT id, v <-> q.v AS distance FROM items ORDER BY v <-> q.v LIMIT 5) n
WHERE q.qid IN (2, 3)
ORDER BY q.qid, n.distance;

\echo '==== recall@10 of the index against an exact scan, over 20 query vectors'
SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TABLE truth AS
SELECT q.qid, ARRAY(SELECT id FROM items ORDER BY v <-> q.v LIMIT 10) AS ids FROM queries q;
RESET enable_indexscan;
RESET enable_bitmapscan;
-- and the same through the index (made certain by disabling the alternative)
SET enable_seqscan = off;
SHOW vecpersist.ef_search;
CREATE TABLE before_restart AS
SELECT q.qid, ARRAY(SELECT id FROM items ORDER BY v <-> q.v LIMIT 10) AS ids FROM queries q;
SELECT round(avg(cardinality(ARRAY(SELECT unnest(t.ids) INTERSECT SELECT unnest(r.ids))) / 10.0), 3)
       AS "recall@10 (ef_search 40)"
FROM truth t JOIN before_restart r USING (qid);
SET vecpersist.ef_search = 100;
SELECT round(avg(cardinality(ARRAY(SELECT unnest(t.ids) INTERSECT SELECT unnest(
           ARRAY(SELECT id FROM items i ORDER BY i.v <-> q.v LIMIT 10)))) / 10.0), 3)
       AS "recall@10 (ef_search 100)"
FROM truth t JOIN queries q USING (qid);
SQL

say "The server log of CREATE INDEX (grep 'hnsw graph')"
log_since 0

say "Waiting (at most 60 s) for the snapshot writer to save the graph"
echo "A background worker saves each graph to \$PGDATA/pg_vecpersist right after"
echo "its build: the links, levels and entry point, not the vectors."
SAVED=
DEADLINE=$((SECONDS + 60))
while [ "$SECONDS" -lt "$DEADLINE" ]; do
	SAVED=$(psql_value "SELECT snapshot_at IS NOT NULL FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
	[ "$SAVED" = t ] && break
	sleep 0.2
done
if [ "$SAVED" = t ]; then
	psql_demo <<'SQL'
\pset footer off
SELECT index, snapshot_bytes, pg_size_pretty(snapshot_bytes) AS size,
       round(snapshot_bytes::numeric / nodes) AS bytes_per_node, snapshot_stale
FROM vecpersist_cache;
SQL
	as_user ls -l "$DATA/pg_vecpersist" |
		awk '/\.snap$/ { print "$PGDATA/pg_vecpersist/" $NF ": " $5 " bytes" }'
else
	echo "not saved after 60 s: the restart below rebuilds the graph (and logs it as built)"
fi

say "Restarting the server (pg_ctl restart -m fast)"
echo "The graph in shared memory is lost; the index pages and the snapshot are not."
LOGPOS=$(stat -c %s "$DIR/server.log")
as_user "$BINDIR/pg_ctl" -D "$DATA" -l "$DIR/server.log" -m fast -w restart >/dev/null

psql_demo <<'SQL'
\pset footer off
\echo '==== Graphs in the cache right after the restart'
SELECT count(*) AS graphs FROM vecpersist_cache;
SELECT v AS q FROM queries WHERE qid = 1 \gset
\echo
\echo '==== First query after the restart: it loads the graph from its snapshot'
\timing on
SELECT id, round((v <-> :'q')::numeric, 4) AS distance FROM items ORDER BY v <-> :'q' LIMIT 5;
\echo '==== Same query again'
SELECT id, round((v <-> :'q')::numeric, 4) AS distance FROM items ORDER BY v <-> :'q' LIMIT 5;
\timing off
\echo
\echo '==== How the graph came back (build_ms is the load time when origin is loaded)'
SELECT index, origin, nodes, builds, round(build_ms) AS build_ms, repaired, unreachable,
       searches, snapshot_stale
FROM vecpersist_cache;
SQL

say "The server log since the restart (grep 'hnsw graph')"
log_since "$LOGPOS"
BUILT_MS=$(sed -n 's/.*built hnsw graph of index "items_v_idx" in database "postgres" in \([0-9.]*\) ms.*/\1/p' \
	"$DIR/server.log" | head -n 1)
LOADED_MS=$(tail -c +$((LOGPOS + 1)) "$DIR/server.log" |
	sed -n 's/.*loaded hnsw graph of index "items_v_idx" in database "postgres" in \([0-9.]*\) ms.*/\1/p' |
	head -n 1)
if [ -n "$BUILT_MS" ] && [ -n "$LOADED_MS" ]; then
	echo "CREATE INDEX built the graph in $BUILT_MS ms; after the restart it was loaded in $LOADED_MS ms."
fi

psql_demo <<'SQL'
\pset footer off
SELECT v AS q FROM queries WHERE qid = 1 \gset
SELECT builds AS builds_before, searches AS searches_before
FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass \gset
\echo
\echo '==== Another session: its first query searches the same graph (no second load)'
\timing on
SELECT id, round((v <-> :'q')::numeric, 4) AS distance FROM items ORDER BY v <-> :'q' LIMIT 5;
\timing off
SELECT :builds_before AS builds_before, builds AS builds_after,
       :searches_before AS searches_before, searches AS searches_after
FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass;
\echo '==== recall@10 after the restart, and agreement with the answers before it'
SET enable_seqscan = off;
SELECT round(avg(cardinality(ARRAY(SELECT unnest(t.ids) INTERSECT SELECT unnest(a.ids))) / 10.0), 3)
         AS "recall@10",
       count(*) FILTER (WHERE a.ids = b.ids) || ' of ' || count(*) AS "same answer as before restart"
FROM truth t
JOIN before_restart b USING (qid)
JOIN (SELECT q.qid, ARRAY(SELECT id FROM items ORDER BY v <-> q.v LIMIT 10) AS ids
      FROM queries q) a USING (qid);
SQL

say "Setting vecpersist.prewarm = 'postgres' and restarting the server again"
echo "At start, a prewarm worker loads (or builds) the graph of every hnsw index of"
echo "database postgres, before any query asks for it."
echo "vecpersist.prewarm = 'postgres'" >>"$DATA/postgresql.conf"
LOGPOS=$(stat -c %s "$DIR/server.log")
as_user "$BINDIR/pg_ctl" -D "$DATA" -l "$DIR/server.log" -m fast -w restart >/dev/null
T_UP=$(date +%s%N)

say "Waiting (at most 60 s) until vecpersist_cache shows the graph ready"
STATE=
DEADLINE=$((SECONDS + 60))
while [ "$SECONDS" -lt "$DEADLINE" ]; do
	STATE=$(psql_value "SELECT state FROM vecpersist_cache WHERE index = 'items_v_idx'::regclass")
	[ "$STATE" = ready ] && break
	sleep 0.1
done
if [ "$STATE" = ready ]; then
	echo "ready $((($(date +%s%N) - T_UP) / 1000000)) ms after pg_ctl restart returned"
else
	echo "not ready after 60 s (state: ${STATE:-no entry}): the first query loads the graph"
fi
log_since "$LOGPOS"

psql_demo <<'SQL'
\pset footer off
SELECT v AS q FROM queries WHERE qid = 1 \gset
\echo
\echo '==== First query after this restart (the graph is already in shared memory)'
\timing on
SELECT id, round((v <-> :'q')::numeric, 4) AS distance FROM items ORDER BY v <-> :'q' LIMIT 5;
\timing off
SELECT index, origin, round(build_ms) AS build_ms, searches FROM vecpersist_cache;
SQL

say "Done"
