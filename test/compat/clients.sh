#!/usr/bin/env bash
#
# test/compat/clients.sh -- opt-in check of Node.js frameworks written for
# pgvector against a running server (not part of test/check.sh: it needs
# the npm registry).
#
#   PGHOST=/tmp/sock PGPORT=5432 PGUSER=postgres bash test/compat/clients.sh
#
# The server must have vecpersist installed under the name vector
# (make install-as-vector; README "Installing as vector"), or pgvector, to
# compare.  The script installs pinned versions of knex, pg, typeorm,
# @langchain/core and @langchain/community into a temporary directory,
# creates a scratch database (vp_compat_clients, dropped at the end) and
# runs clients.mjs there: Knex createExtensionIfNotExists('vector'),
# LangChain's PGVectorStore and TypeORMVectorStore with a fake embedding.
#
# Skips (exit 0) when node or npm is missing, node is older than 18, or the
# npm registry cannot be reached.  Environment: PSQL (default psql),
# NPM_PACKAGES to override the pinned package list.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PSQL=${PSQL:-psql}
DB=vp_compat_clients
# the versions last checked; --legacy-peer-deps because an optional peer
# of @langchain/community (@getzep/zep-cloud) asks for an older core
NPM_PACKAGES=${NPM_PACKAGES:-"@langchain/community@1.1.29 @langchain/core@1.4.0 pg@8.23.1 knex@3.3.0 typeorm@1.1.3"}

skip() { echo "clients.sh: skipped: $*"; exit 0; }

command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ] || skip "node is older than 18"
timeout 30 npm ping >/dev/null 2>&1 || skip "the npm registry cannot be reached"
command -v "$PSQL" >/dev/null || { echo "clients.sh: $PSQL not found (set PSQL)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vp-compat-clients.XXXXXX") || exit 2
cleanup() {
	"$PSQL" -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "installing $NPM_PACKAGES"
(cd "$WORK" && npm init -y >/dev/null &&
	# shellcheck disable=SC2086
	timeout 600 npm install --no-audit --no-fund --legacy-peer-deps $NPM_PACKAGES >npm.log 2>&1) ||
	{ tail -n 20 "$WORK/npm.log"; echo "clients.sh: npm install failed" >&2; exit 1; }
cp "$HERE/clients.mjs" "$WORK/"

"$PSQL" -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" || exit 1
(cd "$WORK" && PGDATABASE=$DB timeout 300 node clients.mjs)
