/*-------------------------------------------------------------------------
 *
 * vppgvector.c
 *	  pgvector compatibility: its setting names.
 *
 * Applications written for pgvector tune their queries with
 * hnsw.ef_search, hnsw.iterative_scan, hnsw.max_scan_tuples and
 * hnsw.scan_mem_multiplier.  This file makes those names real settings of
 * vecpersist, with pgvector's types, ranges and defaults (and so
 * PostgreSQL's own error messages for bad values, which are what pgvector
 * users see), and decides, for each of them, whether the hnsw.* or the
 * vecpersist.* name gives the value a scan uses (VpEfSearch() and the
 * other accessors below).
 *
 * The difficulty is that vecpersist is preloaded into every backend of a
 * cluster, and pgvector may be installed in another database of the same
 * cluster: if we defined hnsw.ef_search in _PG_init, loading pgvector's
 * library in that other database would fail with "attempt to redefine
 * parameter".  So the hnsw.* names are defined only in backends connected
 * to a database whose access method "hnsw" is ours.  Both extensions
 * create an access method of that name, so one database never holds both,
 * and pgvector's library has no business in such a backend.
 *
 * When to find that out: a post_parse_analyze_hook looks once per backend,
 * before the first statement of the session is executed, so that even a
 * "SET hnsw.ef_search = 0" sent as the very first statement is rejected
 * with the message pgvector would give.  A value set while the name was
 * still a placeholder (postgresql.conf, ALTER DATABASE/ROLE SET, PGOPTIONS,
 * or a SET before vecpersist's library was loaded) is carried over by
 * PostgreSQL when the setting is defined, with its source.  A negative
 * answer is cached until pg_am changes (a syscache callback), so a session
 * that runs CREATE EXTENSION gets the settings from its next statement on,
 * and a session of an unrelated database pays one catalog lookup in all.
 * The accessors run the same check, for the session whose library was
 * loaded in the middle of a statement.
 *
 * If another library (pgvector, preloaded) has already defined an hnsw.*
 * name in this backend, it is left alone and its value is read through the
 * GUC machinery; vecpersist never redefines a setting.
 *
 * The "hnsw" prefix is not reserved (MarkGUCPrefixReserved), unlike in
 * pgvector: an application written for a newer pgvector may set an hnsw.*
 * name we do not know, and that must stay harmless here.
 *
 * IDENTIFICATION
 *	  src/vppgvector.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/inval.h"
#include "utils/syscache.h"

#include "vecpersist.h"

/*
 * The C symbol and library of our access method handler, as pg_proc
 * records them (sql/vecpersist--*.sql: AS 'MODULE_PATHNAME',
 * 'vp_hnsw_handler').  Matching the symbol rather than the SQL name keeps
 * this independent of the name the extension is installed under.
 */
#define VP_HANDLER_SYMBOL	"vp_hnsw_handler"
#define VP_LIBRARY_NAME		"vecpersist"

/* Whether this backend has looked at its database yet */
typedef enum VpPgvectorState
{
	VP_PGV_UNKNOWN,				/* not looked yet, or pg_am changed since */
	VP_PGV_NOT_OURS,			/* the database's hnsw (if any) is not ours */
	VP_PGV_READY				/* hnsw.* are defined (by us or by pgvector) */
} VpPgvectorState;

/* One setting under its two names */
typedef struct VpSettingName
{
	const char *pgvector;		/* pgvector's name */
	const char *ours;			/* vecpersist's name */
	enum config_type vartype;	/* the type both names have */
	bool		defined_here;	/* pgvector_gen is the one this file defined */
	struct config_generic *pgvector_gen;	/* hnsw.* once READY, or NULL */
	struct config_generic *ours_gen;	/* vecpersist.*, or NULL */
} VpSettingName;

/* indexes into vp_setting_names[] */
#define VP_SET_EF_SEARCH			0
#define VP_SET_ITERATIVE_SCAN		1
#define VP_SET_MAX_SCAN_TUPLES		2
#define VP_SET_SCAN_MEM_MULTIPLIER	3

static VpSettingName vp_setting_names[] = {
	{"hnsw.ef_search", "vecpersist.ef_search", PGC_INT, false, NULL, NULL},
	{"hnsw.iterative_scan", "vecpersist.iterative_scan", PGC_ENUM, false, NULL, NULL},
	{"hnsw.max_scan_tuples", "vecpersist.max_scan_tuples", PGC_INT, false, NULL, NULL},
	{"hnsw.scan_mem_multiplier", "vecpersist.scan_mem_multiplier", PGC_REAL, false, NULL, NULL},
};

static VpPgvectorState vp_pgvector_state = VP_PGV_UNKNOWN;
static bool vp_am_callback_registered = false;

/* the variables behind the hnsw.* names, when this file defines them */
static int	pgv_ef_search = VP_DEFAULT_EF_SEARCH;
static int	pgv_iterative_scan = VP_ITERATIVE_SCAN_OFF;
static int	pgv_max_scan_tuples = VP_DEFAULT_MAX_SCAN_TUPLES;
static double pgv_scan_mem_multiplier = VP_DEFAULT_SCAN_MEM_MULTIPLIER;

static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;

/*
 * Find a defined setting or a placeholder by name, or NULL.  PostgreSQL 15
 * exports the array of settings but not its lookup function; a linear
 * scan is fine for the few calls per backend this file makes.
 */
static struct config_generic *
FindSetting(const char *name)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();
	int			i;

	for (i = 0; i < n; i++)
	{
		if (pg_strcasecmp(vars[i]->name, name) == 0)
			return vars[i];
	}
	return NULL;
}

/*
 * Whether the access method "hnsw" of the current database is ours: its
 * handler is our C symbol in our library.  Needs a transaction.
 */
static bool
DatabaseHasOurHnsw(void)
{
	HeapTuple	tup;
	Oid			handler;
	bool		ours = false;

	tup = SearchSysCache1(AMNAME, CStringGetDatum("hnsw"));
	if (!HeapTupleIsValid(tup))
		return false;
	handler = ((Form_pg_am) GETSTRUCT(tup))->amhandler;
	ReleaseSysCache(tup);

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(handler));
	if (!HeapTupleIsValid(tup))
		return false;
	if (((Form_pg_proc) GETSTRUCT(tup))->prolang == ClanguageId)
	{
		bool		srcnull;
		bool		binnull;
		Datum		src = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc,
										  &srcnull);
		Datum		bin = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_probin,
										  &binnull);

		if (!srcnull && !binnull)
		{
			char	   *symbol = TextDatumGetCString(src);
			char	   *library = TextDatumGetCString(bin);
			char	   *base = strrchr(library, '/');
			size_t		len = strlen(VP_LIBRARY_NAME);

			/* '$libdir/vecpersist', or a path ending in vecpersist.so */
			base = base ? base + 1 : library;
			ours = strcmp(symbol, VP_HANDLER_SYMBOL) == 0 &&
				strncmp(base, VP_LIBRARY_NAME, len) == 0 &&
				(base[len] == '\0' || base[len] == '.');
			pfree(symbol);
			pfree(library);
		}
	}
	ReleaseSysCache(tup);
	return ours;
}

/*
 * Syscache callback on pg_am: an access method was created, dropped or
 * changed (CREATE/DROP EXTENSION), so a "not ours" answer may be stale.
 * It only flips the state; the next statement looks again.  A READY state
 * stays: settings cannot be undefined.
 */
static void
VpAmChanged(Datum arg, int cacheid, uint32 hashvalue)
{
	(void) arg;
	(void) cacheid;
	(void) hashvalue;
	if (vp_pgvector_state == VP_PGV_NOT_OURS)
		vp_pgvector_state = VP_PGV_UNKNOWN;
}

/* the precedence rule, for pg_settings.extra_desc (see UsePgvectorName) */
#define VP_PRECEDENCE_HINT \
	"If both names are set, the value from the later source (configuration " \
	"file, database, role, connection, session) wins, this name at equal ones."

/*
 * Define the hnsw.* names that no library has defined yet, with pgvector's
 * types, ranges and defaults, so that bad values get the messages pgvector
 * users know.  Called at most once per backend.
 */
static void
DefinePgvectorNames(void)
{
	VpSettingName *s;

	s = &vp_setting_names[VP_SET_EF_SEARCH];
	if (s->pgvector_gen == NULL)
	{
		DefineCustomIntVariable(s->pgvector,
								"Sets the size of the candidate list for hnsw index scans.",
								"pgvector's name for vecpersist.ef_search.  " VP_PRECEDENCE_HINT,
								&pgv_ef_search,
								VP_DEFAULT_EF_SEARCH, VP_MIN_EF_SEARCH,
								VP_MAX_EF_SEARCH,
								PGC_USERSET, 0, NULL, NULL, NULL);
		s->defined_here = true;
	}

	s = &vp_setting_names[VP_SET_ITERATIVE_SCAN];
	if (s->pgvector_gen == NULL)
	{
		/* pgvector's default, off; vecpersist.iterative_scan's is strict */
		DefineCustomEnumVariable(s->pgvector,
								 "Continues an hnsw scan past ef_search rows while the query asks for more.",
								 "pgvector's name for vecpersist.iterative_scan.  " VP_PRECEDENCE_HINT
								 "  While neither is set, vecpersist.iterative_scan's default "
								 "(strict_order) applies, not this one's.",
								 &pgv_iterative_scan,
								 VP_ITERATIVE_SCAN_OFF,
								 vp_iterative_scan_options,
								 PGC_USERSET, 0, NULL, NULL, NULL);
		s->defined_here = true;
	}

	s = &vp_setting_names[VP_SET_MAX_SCAN_TUPLES];
	if (s->pgvector_gen == NULL)
	{
		DefineCustomIntVariable(s->pgvector,
								"Sets the most graph nodes an iterative hnsw scan visits.",
								"pgvector's name for vecpersist.max_scan_tuples.  " VP_PRECEDENCE_HINT,
								&pgv_max_scan_tuples,
								VP_DEFAULT_MAX_SCAN_TUPLES, 1, INT_MAX,
								PGC_USERSET, 0, NULL, NULL, NULL);
		s->defined_here = true;
	}

	s = &vp_setting_names[VP_SET_SCAN_MEM_MULTIPLIER];
	if (s->pgvector_gen == NULL)
	{
		DefineCustomRealVariable(s->pgvector,
								 "Sets the memory of an iterative hnsw scan, as a multiple of work_mem.",
								 "pgvector's name for vecpersist.scan_mem_multiplier.  " VP_PRECEDENCE_HINT,
								 &pgv_scan_mem_multiplier,
								 VP_DEFAULT_SCAN_MEM_MULTIPLIER,
								 VP_MIN_SCAN_MEM_MULTIPLIER,
								 VP_MAX_SCAN_MEM_MULTIPLIER,
								 PGC_USERSET, 0, NULL, NULL, NULL);
		s->defined_here = true;
	}
}

/*
 * Decide, once per backend (again only after pg_am changed), whether the
 * hnsw.* names are ours to define, define them if so, and remember where
 * the settings under both names live.
 *
 * Does nothing outside a valid transaction (catalog access needs one: a
 * ROLLBACK of an aborted transaction is parse-analysed too), in a backend
 * without a database, or in a parallel worker, which cannot change
 * settings; the state stays UNKNOWN and the vecpersist.* values apply.
 */
static void
VpPgvectorCheck(void)
{
	int			i;
	bool		foreign_only = true;

	if (!IsTransactionState() || !OidIsValid(MyDatabaseId) ||
		IsParallelWorker())
		return;

	if (!vp_am_callback_registered)
	{
		CacheRegisterSyscacheCallback(AMNAME, VpAmChanged, (Datum) 0);
		vp_am_callback_registered = true;
	}

	/* settings pgvector's library already defined in this backend */
	for (i = 0; i < (int) lengthof(vp_setting_names); i++)
	{
		VpSettingName *s = &vp_setting_names[i];
		struct config_generic *gen = FindSetting(s->pgvector);

		s->ours_gen = FindSetting(s->ours);
		s->pgvector_gen = NULL;
		if (gen != NULL && !(gen->flags & GUC_CUSTOM_PLACEHOLDER))
			s->pgvector_gen = gen;
		else
			foreign_only = false;
	}

	if (!foreign_only)
	{
		if (!DatabaseHasOurHnsw())
		{
			vp_pgvector_state = VP_PGV_NOT_OURS;
			return;
		}
		DefinePgvectorNames();
		for (i = 0; i < (int) lengthof(vp_setting_names); i++)
		{
			VpSettingName *s = &vp_setting_names[i];

			if (s->defined_here)
				s->pgvector_gen = FindSetting(s->pgvector);
		}
	}

	/* a name another library gave another type is not a synonym of ours */
	for (i = 0; i < (int) lengthof(vp_setting_names); i++)
	{
		VpSettingName *s = &vp_setting_names[i];

		if (s->pgvector_gen != NULL && s->pgvector_gen->vartype != s->vartype)
			s->pgvector_gen = NULL;
		if (s->ours_gen != NULL && s->ours_gen->vartype != s->vartype)
			s->ours_gen = NULL;
	}
	vp_pgvector_state = VP_PGV_READY;
}

/*
 * post_parse_analyze_hook: runs before each statement is executed, which
 * is the earliest point with a transaction and a database.  After the
 * first look it costs one comparison.
 */
static void
vp_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);
	if (vp_pgvector_state == VP_PGV_UNKNOWN)
		VpPgvectorCheck();
}

/*
 * Called from _PG_init: install the hook, chained to any earlier one.
 * Defines nothing yet: in the postmaster there is no database to ask.
 */
void
VpPgvectorInit(void)
{
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = vp_post_parse_analyze;
}

/*----------
 * Which name gives the value of setting s.  The rule, for each setting:
 *
 *	- a name counts as set when its value comes from anywhere but the
 *	  built-in default (postgresql.conf, ALTER DATABASE/ROLE SET, the
 *	  connection's options, SET, SET LOCAL, a function's SET clause);
 *	- if only one name is set, it wins;
 *	- if both are, the one from the later source in PostgreSQL's own order
 *	  (file < database < user < client < session) wins, as it would if
 *	  both were the same setting: a SET in the session beats an ALTER
 *	  DATABASE SET under the other name;
 *	- at the same level, hnsw.* wins, since applications and their
 *	  documentation use pgvector's names;
 *	- if neither is set, vecpersist.*'s default applies (for
 *	  iterative_scan that is strict_order, not pgvector's off).
 *
 * Reading two source fields is cheap enough for every scan.
 *----------
 */
static inline bool
UsePgvectorName(const VpSettingName *s)
{
	GucSource	theirs;
	GucSource	ours;

	if (unlikely(vp_pgvector_state == VP_PGV_UNKNOWN))
		VpPgvectorCheck();
	if (vp_pgvector_state != VP_PGV_READY || s->pgvector_gen == NULL)
		return false;
	theirs = s->pgvector_gen->source;
	ours = s->ours_gen ? s->ours_gen->source : PGC_S_DEFAULT;
	if (theirs <= PGC_S_DYNAMIC_DEFAULT)
		return false;
	return theirs >= ours;
}

/*
 * The effective hnsw candidate list size of a scan.
 */
int
VpEfSearch(void)
{
	const VpSettingName *s = &vp_setting_names[VP_SET_EF_SEARCH];

	if (UsePgvectorName(s))
		return *((struct config_int *) s->pgvector_gen)->variable;
	return vp_ef_search;
}

/*
 * The effective iterative scan mode, a VpIterativeScanMode.  pgvector's own
 * variable (when its library defined the name) is mapped by the value's
 * name, not by its number.
 */
int
VpIterativeScan(void)
{
	const VpSettingName *s = &vp_setting_names[VP_SET_ITERATIVE_SCAN];
	struct config_enum *e;
	const char *name;
	const struct config_enum_entry *entry;

	if (!UsePgvectorName(s))
		return vp_iterative_scan;
	e = (struct config_enum *) s->pgvector_gen;
	if (s->defined_here)
		return *e->variable;
	name = config_enum_lookup_by_value(e, *e->variable);
	for (entry = vp_iterative_scan_options; entry->name; entry++)
	{
		if (pg_strcasecmp(entry->name, name) == 0)
			return entry->val;
	}
	return vp_iterative_scan;
}

/*
 * The effective bound on the nodes an iterative scan visits.
 */
int
VpMaxScanTuples(void)
{
	const VpSettingName *s = &vp_setting_names[VP_SET_MAX_SCAN_TUPLES];

	if (UsePgvectorName(s))
		return *((struct config_int *) s->pgvector_gen)->variable;
	return vp_max_scan_tuples;
}

/*
 * The effective multiple of work_mem an iterative scan may use.
 */
double
VpScanMemMultiplier(void)
{
	const VpSettingName *s = &vp_setting_names[VP_SET_SCAN_MEM_MULTIPLIER];

	if (UsePgvectorName(s))
		return *((struct config_real *) s->pgvector_gen)->variable;
	return vp_scan_mem_multiplier;
}

/*
 * vp_pgvector_settings_effective(): the values the accessors return, for
 * tests and for users wondering which name won.  Not part of the
 * extension's SQL; tests declare it (LANGUAGE C, 'vecpersist',
 * 'vp_pgvector_settings_effective') with OUT parameters ef_search int,
 * iterative_scan text, max_scan_tuples int, scan_mem_multiplier float8.
 */
PGDLLEXPORT PG_FUNCTION_INFO_V1(vp_pgvector_settings_effective);
Datum
vp_pgvector_settings_effective(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	const struct config_enum_entry *entry;
	int			mode = VpIterativeScan();
	const char *modename = "?";

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE ||
		tupdesc->natts != 4)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record"),
				 errhint("Declare it with OUT parameters ef_search int, iterative_scan text, max_scan_tuples int, scan_mem_multiplier float8.")));
	tupdesc = BlessTupleDesc(tupdesc);

	for (entry = vp_iterative_scan_options; entry->name; entry++)
	{
		if (entry->val == mode)
		{
			modename = entry->name;
			break;
		}
	}
	values[0] = Int32GetDatum(VpEfSearch());
	values[1] = CStringGetTextDatum(modename);
	values[2] = Int32GetDatum(VpMaxScanTuples());
	values[3] = Float8GetDatum(VpScanMemMultiplier());
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
