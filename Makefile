# vecpersist: vector type and hnsw index for PostgreSQL (PGXS build)
#
#   make && make install        build and install into the server found by pg_config
#   make installcheck           pg_regress + isolation + TAP against that installation
#   make unittest               standalone tests of the kernels, halves and the graph
#   test/check.sh               the whole suite from nothing (see README.md)
#   make install-as-vector      install, and also under pgvector's name "vector"

EXTENSION = vecpersist
EXTVERSION = 0.2.0

MODULE_big = vecpersist
OBJS = \
	src/vecpersist.o \
	src/vector.o \
	src/halfvec.o \
	src/bitvec.o \
	src/sparsevec.o \
	src/vpdistance.o \
	src/vphalfdist.o \
	src/vpcodes.o \
	src/vpgraph.o \
	src/vpgraphbuild.o \
	src/vpgraphsearch.o \
	src/vpgraphrepair.o \
	src/vppage.o \
	src/vptype.o \
	src/vpcache.o \
	src/vpcheck.o \
	src/vpshmem.o \
	src/vpsnapshot.o \
	src/vpprewarm.o \
	src/vppgvector.o \
	src/vpam.o \
	src/vpbuild.o \
	src/vpinsert.o \
	src/vpscan.o \
	src/vpexact.o \
	src/vpvacuum.o

DATA = $(wildcard sql/vecpersist--*.sql)

# pg_regress: sql/<name>.sql -> expected/<name>.out (keep this list explicit)
REGRESS = \
	vector_input \
	vector_operators \
	vector_functions \
	vector_casts \
	vector_aggregates \
	vector_btree \
	vector_copy \
	vector_errors \
	vector_extras \
	halfvec_input \
	halfvec_functions \
	halfvec_casts \
	halfvec_aggregates \
	halfvec_btree \
	halfvec_catalog \
	bit_functions \
	sparsevec_input \
	sparsevec_copy \
	sparsevec_functions \
	sparsevec_casts \
	sparsevec_btree \
	hnsw_ddl \
	hnsw_opclasses \
	hnsw_plans \
	hnsw_maintenance \
	hnsw_dims \
	hnsw_iterative \
	hnsw_vacuum_spanning \
	hnsw_check \
	hnsw_quantization \
	hnsw_pages \
	hnsw_planner \
	compat_vector \
	compat_cast \
	compat_copy \
	compat_btree \
	compat_halfvec \
	compat_sparsevec \
	compat_bit \
	compat_hnsw \
	pgvector_settings

REGRESS_OPTS = --load-extension=vecpersist

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# isolation specs live in test/specs, their outputs in test/expected
ISOLATION = hnsw_catchup
ISOLATION_OPTS = --inputdir=test --load-extension=vecpersist

EXTRA_CLEAN = as-vector/ \
	test/unit/test_distance test/unit/test_graph test/unit/test_half \
	test/unit/*.o results/ regression.diffs regression.out tmp_check/ \
	tmp_check_iso/ output_iso/ log/

PG_CONFIG ?= pg_config

# (These must be set before including PGXS, which reads them at once.)
# Our own code builds warning-free under -Wall -Wextra.  The server headers
# are included as system headers so that their -Wextra noise (unused
# parameters in inline functions) does not drown ours.  Symbols are hidden
# by default and PGDLLEXPORT marks the few PostgreSQL looks up, so that a
# second vector extension in the same server cannot interpose ours.
# No -march=native: the kernels pick their instruction set at run time.
PG_CPPFLAGS += -isystem $(shell $(PG_CONFIG) --includedir-server) \
	-DPGDLLEXPORT='__attribute__((visibility("default")))'
PG_CFLAGS += -Wall -Wextra -fvisibility=hidden -O2 -pthread
# graph builds link nodes with several threads (src/vpgraph.c)
SHLIB_LINK += -pthread
ifdef WERROR
PG_CFLAGS += -Werror
endif

# Track header dependencies (PGXS does so only when the server was built
# with --enable-depend): an object compiled against an older vpcodes.h or
# vpdistance.h calls the kernels through the wrong slots of their table.
override autodepend = yes

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# ---------------------------------------------------------------------------
# Standalone unit tests: the kernels, the half conversions and the graph
# without a server.
# UNIT_SANITIZE=1 builds them with AddressSanitizer and UBSan.
# ---------------------------------------------------------------------------
UNIT_CC ?= $(CC)
UNIT_CFLAGS = -O2 -g -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Isrc -pthread
ifdef UNIT_SANITIZE
UNIT_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
endif
UNIT_TESTS = test/unit/test_distance test/unit/test_graph test/unit/test_half

test/unit/test_distance: test/unit/test_distance.c src/vpdistance.c src/vpdistance.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_distance.c src/vpdistance.c -lm

test/unit/test_half: test/unit/test_half.c test/unit/test_half_known.h src/vphalf.h src/vphalfdist.c src/vphalfdist.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_half.c src/vphalfdist.c -lm

GRAPH_SRCS = src/vpgraph.c src/vpgraphbuild.c src/vpgraphsearch.c \
	src/vpgraphrepair.c src/vpcodes.c src/vpdistance.c
GRAPH_HDRS = src/vpgraph.h src/vpgraph_internal.h src/vpcodes.h src/vpdistance.h

test/unit/test_graph: test/unit/test_graph.c $(GRAPH_SRCS) $(GRAPH_HDRS)
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_graph.c $(GRAPH_SRCS) -lm

.PHONY: unittest
unittest: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "+++ $$t"; $$t || exit 1; done

# ---------------------------------------------------------------------------
# make install-as-vector: install, and also install the control file and
# scripts under pgvector's extension name, so that the CREATE EXTENSION [IF
# NOT EXISTS] vector that frameworks written for pgvector run creates
# vecpersist.  Same library ('$libdir/vecpersist'), same SQL; only the
# psql guard lines name "vector".  One installation cannot hold both this
# and pgvector, so it refuses to replace a vector.control or vector--*.sql
# that is not ours.  make uninstall-as-vector removes ours again.
# ---------------------------------------------------------------------------
AS_VECTOR_DIR = as-vector
AS_VECTOR_MARK = installed under the name vector by vecpersist
AS_VECTOR_DATA = $(AS_VECTOR_DIR)/vector.control \
	$(patsubst sql/vecpersist--%,$(AS_VECTOR_DIR)/vector--%,$(DATA))
AS_VECTOR_DEST = $(DESTDIR)$(datadir)/extension

$(AS_VECTOR_DIR)/vector.control: $(EXTENSION).control
	@mkdir -p $(AS_VECTOR_DIR)
	{ echo '# $(AS_VECTOR_MARK) (make install-as-vector)'; \
	  sed -e "s/^comment = '/comment = 'vecpersist, installed as vector: /" $<; } > $@

$(AS_VECTOR_DIR)/vector--%.sql: sql/vecpersist--%.sql
	@mkdir -p $(AS_VECTOR_DIR)
	{ echo '-- $(AS_VECTOR_MARK) (make install-as-vector)'; \
	  sed -e '/^\\echo /s/EXTENSION vecpersist/EXTENSION vector/' $<; } > $@

.PHONY: install-as-vector uninstall-as-vector
install-as-vector: $(AS_VECTOR_DATA)
	@for f in '$(AS_VECTOR_DEST)'/vector.control '$(AS_VECTOR_DEST)'/vector--*.sql; do \
		if [ -f "$$f" ] && ! grep -q '$(AS_VECTOR_MARK)' "$$f"; then \
			echo "install-as-vector: $$f belongs to another extension named vector (pgvector?): not replacing it" >&2; \
			echo "install-as-vector: vecpersist installed as vector and pgvector exclude each other on one PostgreSQL installation; uninstall pgvector first, or use CREATE EXTENSION vecpersist" >&2; \
			exit 1; \
		fi; \
	done
	$(MAKE) install
	$(INSTALL_DATA) $(AS_VECTOR_DATA) '$(AS_VECTOR_DEST)/'

uninstall-as-vector:
	@for f in '$(AS_VECTOR_DEST)'/vector.control '$(AS_VECTOR_DEST)'/vector--*.sql; do \
		if [ -f "$$f" ] && grep -q '$(AS_VECTOR_MARK)' "$$f"; then \
			echo "rm -f $$f"; rm -f "$$f"; \
		fi; \
	done
