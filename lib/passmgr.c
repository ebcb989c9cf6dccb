/* passmgr.c: the pass table, the named pipelines, and the manager that runs
 * a list of passes under instruments.
 *
 * Passes and pipelines are data: adding a pass is one row in `passes`, and
 * a pipeline is a row of pass names in `pipelines`.  The same rows drive
 * --list-passes, --passes/--pipeline parsing, --print-before/after matching
 * and the ordering check (Pass.after).
 *
 * Everything cross-cutting is an Instrument (see lib/tir.h): printing,
 * dumps, timing, verification, -v and --stats are each a few hooks here.
 * The pass manager itself only numbers pass executions, calls the hooks in
 * stack order and stops at the first failure. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "tir.h"

/* ------------------------------------------------------------ the tables */

/* Keep rows in pipeline order; Pass.after names must be rows of this table. */
static const Pass passes[] = {
	{"Identity", "identity",
	 "leaves the module unchanged (for testing the instruments; in no pipeline)",
	 pass_identity, {NULL}, PRESERVES_NARROW, 0},
	/* The lowering passes, one row each, in the order of the default
	 * pipeline (see docs/passes.md); `after` lists passes that must have
	 * run earlier when both are in the plan. */
	{"BindTarget", "bind-target",
	 "gives every function a target from --target/--host (TVM's BindTarget rules); no-op without --target",
	 pass_bind_target, {NULL}, PRESERVES_NARROW, 0},
	{"LowerTIRxOpaque", "lower-tirx-opaque",
	 "turns thread-binding loops into thread launches and removes loops of extent 1",
	 pass_lower_tirx_opaque, {NULL}, PRESERVES_NARROW, 1},
	{"FlattenBuffer", "flatten-buffer",
	 "flattens multi-dimensional buffer accesses to 1-d (flat aliases of buffer parameters)",
	 pass_flatten_buffer, {NULL}, PRESERVES_NARROW, 1},
	{"BF16ComputeLegalize", "bf16-compute-legalize",
	 "computes bfloat16 arithmetic in float32 on targets without native bf16 (before sm_80)",
	 pass_bf16_compute_legalize, {NULL}, PRESERVES_NARROW, 1},
	{"VectorizeLoop", "vectorize-loop",
	 "turns T.vectorized loops into ramp/broadcast vector operations (serial where it cannot)",
	 pass_vectorize_loop, {"FlattenBuffer"}, PRESERVES_NARROW, 1},
	{"FP8ComputeLegalize", "fp8-compute-legalize",
	 "computes float8 arithmetic in float32 (or float16) on targets without native fp8 (before sm_89)",
	 pass_fp8_compute_legalize, {NULL}, PRESERVES_NARROW, 1},
	{"VerifyMemory", "verify-memory",
	 "checks that GPU functions touch buffer parameters only under thread launches",
	 pass_verify_memory, {"BindTarget", "LowerTIRxOpaque"}, PRESERVES_NARROW, 1},
	{"AnnotateEntryFunc", "annotate-entry-func",
	 "marks the module's entry function tirx.is_entry_func",
	 pass_annotate_entry_func, {NULL}, PRESERVES_NARROW, 0},
	{"ThreadSync", "thread-sync",
	 "inserts tvm_storage_sync barriers for shared, then shared.dyn, memory",
	 pass_thread_sync, {"LowerTIRxOpaque"}, PRESERVES_NARROW, 1},
	{"MergeSharedMemoryAllocations", "merge-shared-memory-allocations",
	 "merges each kernel's shared.dyn allocations (and shared, with tirx.merge_static_smem) into one buffer",
	 pass_merge_shared_memory, {"FlattenBuffer", "ThreadSync", "LowerTIRxOpaque"}, PRESERVES_NARROW, 1},
	{"AnnotateDeviceRegions", "annotate-device-regions",
	 "wraps each outermost thread launch / device_scope in a target attr (functions whose target has a host)",
	 pass_annotate_device_regions, {"BindTarget", "LowerTIRxOpaque"}, PRESERVES_NARROW, 1},
	{"SplitHostDevice", "split-host-device",
	 "outlines each target-attr region into a private <symbol>_kernel called from the host",
	 pass_split_host_device, {"AnnotateDeviceRegions", "MergeSharedMemoryAllocations"}, PRESERVES_NARROW, 0},
	{"LowerDeviceKernelLaunch", "lower-device-kernel-launch",
	 "turns host-to-kernel calls into call_packed launches and marks kernels calling_conv 2",
	 pass_lower_device_kernel_launch, {"SplitHostDevice"}, PRESERVES_NARROW, 0},
	{"SplitHostDeviceCombined", "split-host-device-combined",
	 "TVM 0.27's SplitHostDevice: annotate, split and launch kernels (call_ffi_kernel) in one pass",
	 pass_split_host_device_combined, {"MergeSharedMemoryAllocations", "LowerTIRxOpaque"}, PRESERVES_NARROW, 0},
	{"MakePackedAPI", "make-packed-api",
	 "gives public host functions the TVM-FFI packed calling convention with argument checks",
	 pass_make_packed_api, {"LowerDeviceKernelLaunch", "SplitHostDeviceCombined"}, PRESERVES_NARROW, 2},
	{"FP8StorageLegalize", "fp8-storage-legalize",
	 "stores float8 as uint8 on targets without native fp8, with exact conversions",
	 pass_fp8_storage_legalize, {"MakePackedAPI", "FP8ComputeLegalize"}, PRESERVES_NARROW, 1},
	{"BF16StorageLegalize", "bf16-storage-legalize",
	 "stores bfloat16 as uint16 on targets without native bf16, with exact conversions",
	 pass_bf16_storage_legalize, {"MakePackedAPI", "BF16ComputeLegalize"}, PRESERVES_NARROW, 1},
	{"LowerTVMBuiltin", "lower-tvm-builtin",
	 "host functions: packed calls through TVMFFIAny stacks, device allocations through workspaces",
	 pass_lower_tvm_builtin, {"MakePackedAPI"}, PRESERVES_NARROW, 1},
	{"LowerIntrin", "lower-intrin",
	 "lowers math ops to target externs/intrinsics and floordiv/floormod to truncating ops",
	 pass_lower_intrin, {"LowerDeviceKernelLaunch", "SplitHostDeviceCombined", "MakePackedAPI"}, PRESERVES_NARROW, 1},
	/* end of the pass rows */
};

enum { MAXPIPE = 32 };

typedef struct Pipeline {
	const char *name;
	const char *summary;
	const char *passes[MAXPIPE]; /* NULL-terminated */
} Pipeline;

static const Pipeline pipelines[] = {
	{"default", "TVM's lowering (s_tir order) with the May 2026 three-pass split: target, legalize, split, packed API, finalize",
	 {"BindTarget", "LowerTIRxOpaque", "FlattenBuffer", "BF16ComputeLegalize", "VectorizeLoop", "FP8ComputeLegalize",
	  "VerifyMemory", "AnnotateEntryFunc", "ThreadSync", "MergeSharedMemoryAllocations",
	  "AnnotateDeviceRegions", "SplitHostDevice", "LowerDeviceKernelLaunch", "MakePackedAPI",
	  "FP8StorageLegalize", "BF16StorageLegalize", "LowerTVMBuiltin", "LowerIntrin"}},
	{"head", "TVM 0.27's s_tir pipeline, the passes tirxc has (one-pass split, launches as call_ffi_kernel)",
	 {"BindTarget", "LowerTIRxOpaque", "FlattenBuffer", "BF16ComputeLegalize", "VectorizeLoop", "FP8ComputeLegalize",
	  "VerifyMemory", "AnnotateEntryFunc", "ThreadSync", "MergeSharedMemoryAllocations",
	  "SplitHostDeviceCombined", "MakePackedAPI", "FP8StorageLegalize", "BF16StorageLegalize",
	  "LowerTVMBuiltin", "LowerIntrin"}},
	{"mission", "only the split-and-pack core: merge, annotate, split, launch, packed API, storage legalize",
	 {"MergeSharedMemoryAllocations", "AnnotateDeviceRegions", "SplitHostDevice",
	  "LowerDeviceKernelLaunch", "MakePackedAPI", "FP8StorageLegalize", "BF16StorageLegalize"}},
	{"none", "parse, verify and print only", {NULL}},
};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

const Pass *pass_at(int i)
{
	return i >= 0 && i < NELEM(passes) ? &passes[i] : NULL;
}

int pass_count(void)
{
	return NELEM(passes);
}

const Pass *pass_find(const char *name)
{
	for (int i = 0; i < NELEM(passes); i++)
		if (strcmp(passes[i].name, name) == 0 || strcmp(passes[i].alias, name) == 0)
			return &passes[i];
	return NULL;
}

static const Pipeline *pipeline_find(const char *name)
{
	for (int i = 0; i < NELEM(pipelines); i++)
		if (strcmp(pipelines[i].name, name) == 0)
			return &pipelines[i];
	return NULL;
}

void pm_list(FILE *f)
{
	int w = 0, wa = 0;
	for (int i = 0; i < NELEM(passes); i++) {
		int n = (int)strlen(passes[i].name), na = (int)strlen(passes[i].alias);
		w = n > w ? n : w;
		wa = na > wa ? na : wa;
	}
	for (int i = 0; i < NELEM(pipelines); i++) {
		int n = (int)strlen(pipelines[i].name);
		w = n > w ? n : w;
	}
	fputs("Passes (name, alias, summary):\n", f);
	for (int i = 0; i < NELEM(passes); i++)
		fprintf(f, "  %-*s  %-*s  %s\n", w, passes[i].name, wa, passes[i].alias,
		        passes[i].summary);
	fputs("Pipelines (--pipeline=NAME):\n", f);
	for (int i = 0; i < NELEM(pipelines); i++) {
		const Pipeline *pl = &pipelines[i];
		fprintf(f, "  %-*s  %s:", w, pl->name, pl->summary);
		for (int j = 0; pl->passes[j]; j++)
			fprintf(f, "%s %s", j ? "," : "", pl->passes[j]);
		fputs(pl->passes[0] ? "\n" : " no passes\n", f);
	}
}

/* ------------------------------------------------------ did you mean ... */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Levenshtein distance, with one row of scratch; fold: ignoring case. */
static int distance(const char *a, const char *b, int fold)
{
	size_t na = strlen(a), nb = strlen(b);
	int *row = xmalloc((nb + 1) * sizeof *row);
	for (size_t j = 0; j <= nb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= na; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= nb; j++) {
			int up = row[j];
			int ca = a[i - 1], cb = b[j - 1];
			int best = diag + (fold ? lower(ca) != lower(cb) : ca != cb);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	int d = row[nb];
	free(row);
	return d;
}

const char *pm_suggest(const char *word, const char *const *cands, int n)
{
	const char *best = NULL;
	int bestd = 0, bestcase = 0;
	for (int i = 0; i < n; i++) {
		int d = distance(word, cands[i], 1);
		/* a third of the candidate's length: typos, not unrelated words */
		if (d * 3 > (int)strlen(cands[i]) + 1)
			continue;
		/* ties go to the spelling closest in case: identty -> identity */
		int dc = distance(word, cands[i], 0);
		if (!best || d < bestd || (d == bestd && dc < bestcase)) {
			best = cands[i];
			bestd = d;
			bestcase = dc;
		}
	}
	return best;
}

/* The tail of an "unknown ..." message: the nearest candidate, if any. */
static void did_you_mean(Buf *err, const char *name, const char *const *cands, int n)
{
	const char *s = pm_suggest(name, cands, n);
	if (s)
		buf_printf(err, "; did you mean '%s'?", s);
	else
		buf_puts(err, " (--list-passes shows them)");
}

/* "unknown pass 'X'", plus the nearest name or alias when there is one. */
static void unknown_pass(Buf *err, const char *opt, const char *name)
{
	const char *cands[2 * NELEM(passes)];
	for (int i = 0; i < NELEM(passes); i++) {
		cands[2 * i] = passes[i].name;
		cands[2 * i + 1] = passes[i].alias;
	}
	buf_printf(err, "%s: unknown pass '%s'", opt, name);
	did_you_mean(err, name, cands, 2 * NELEM(passes));
}

/* ---------------------------------------------------------- the context */

typedef struct Config {
	char *key, *val;
	int used; /* a pass asked for it */
} Config;

typedef struct TimeRow {
	char *what;
	double secs;
} TimeRow;

struct PassCtx {
	const Pass **plan; /* what pm_run runs */
	int nplan;
	int done; /* passes finished so far: the version of the module */
	Instrument *ins;
	int nins;
	Config *cfg;
	int ncfg;
	char *target, *host;
	Vec dead;     /* modules that passes replaced, freed at pm_free */
	Buf text;     /* the module printed at version text_ver (a cache) */
	int text_ver; /* -1: nothing cached */
	TimeRow *rows;
	int nrows;
	int lo, hi;   /* pass_range while a chunk runs; hi < 0: all functions */
	void *state;  /* pass_state of the running per_function == 2 pass */
	void (*release)(void *);
	int stats_on; /* --stats: passes report through pass_stat */
	Buf stats;    /* their lines, printed after the pipeline */
};

/* The module's text now; every printing instrument shares one print. */
static const Buf *printed(PassCtx *cx, const Module *m)
{
	if (cx->text_ver != cx->done) {
		cx->text.n = 0;
		if (cx->text.s)
			cx->text.s[0] = 0;
		tir_print(&cx->text, m, NULL);
		cx->text_ver = cx->done;
	}
	return &cx->text;
}

double pm_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void pm_time(PassCtx *cx, const char *what, double secs)
{
	for (int i = 0; i < cx->nrows; i++)
		if (strcmp(cx->rows[i].what, what) == 0) {
			cx->rows[i].secs += secs;
			return;
		}
	cx->rows = xrealloc(cx->rows, (size_t)(cx->nrows + 1) * sizeof *cx->rows);
	cx->rows[cx->nrows++] = (TimeRow){xstrdup(what), secs};
}

const char *pass_config(const PassCtx *cx, const char *key)
{
	for (int i = cx->ncfg - 1; i >= 0; i--)
		if (strcmp(cx->cfg[i].key, key) == 0) {
			cx->cfg[i].used = 1;
			return cx->cfg[i].val;
		}
	return NULL;
}

static int is_key_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

#define CHUNK_KEY "tirxc.function_chunk"

/* The boolean keys the passes read; their values are checked at start-up
 * (a value a pass would read as false without a word is a trap).  Python's
 * True and False are accepted too, as TVM's config takes them. */
static const char *const bool_keys[] = {
	"tirx.disable_vectorize", "tirx.merge_static_smem", "tirx.enable_fast_math",
};

static int is_bool_key(const char *k, size_t n)
{
	for (size_t i = 0; i < sizeof bool_keys / sizeof bool_keys[0]; i++)
		if (strlen(bool_keys[i]) == n && !strncmp(bool_keys[i], k, n))
			return 1;
	return 0;
}

/* 1 for 1/true/True, 0 for 0/false/False, -1 for anything else. */
static int config_bool(const char *v)
{
	if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "True"))
		return 1;
	if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "False"))
		return 0;
	return -1;
}

int pm_set_config(PassCtx *cx, const char *kv, Buf *err)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		buf_printf(err, "--pass-config: expected KEY=VALUE, got '%s'", kv);
		return 1;
	}
	for (const char *p = kv; p < eq; p++)
		if (!is_key_char((unsigned char)*p)) {
			buf_printf(err, "--pass-config: bad character in key '%.*s'", (int)(eq - kv), kv);
			return 1;
		}
	/* the pass manager's own key is checked here, the passes' where read */
	if ((size_t)(eq - kv) == strlen(CHUNK_KEY) && !strncmp(kv, CHUNK_KEY, strlen(CHUNK_KEY))) {
		const char *v = eq + 1;
		size_t n = strspn(v, "0123456789");
		if (!*v || v[n] || n > 6) {
			buf_printf(err, "--pass-config: %s must be a number of functions (0: no chunks), "
			           "not '%s'", CHUNK_KEY, v);
			return 1;
		}
	}
	if (is_bool_key(kv, (size_t)(eq - kv)) && config_bool(eq + 1) < 0) {
		buf_printf(err, "--pass-config: %.*s: expected a boolean (true, false, 1 or 0), got '%s'",
		           (int)(eq - kv), kv, eq + 1);
		return 1;
	}
	Config c = {xmalloc((size_t)(eq - kv) + 1), xstrdup(eq + 1), 0};
	memcpy(c.key, kv, (size_t)(eq - kv));
	c.key[eq - kv] = 0;
	cx->cfg = xrealloc(cx->cfg, (size_t)(cx->ncfg + 1) * sizeof *cx->cfg);
	cx->cfg[cx->ncfg++] = c;
	return 0;
}

void pm_set_target(PassCtx *cx, const char *target, const char *host)
{
	free(cx->target);
	free(cx->host);
	cx->target = target ? xstrdup(target) : NULL;
	cx->host = host ? xstrdup(host) : NULL;
}

const char *pass_target(const PassCtx *cx)
{
	return cx->target;
}

const char *pass_host(const PassCtx *cx)
{
	return cx->host;
}

void pm_add_instrument(PassCtx *cx, const Instrument *in)
{
	cx->ins = xrealloc(cx->ins, (size_t)(cx->nins + 1) * sizeof *cx->ins);
	cx->ins[cx->nins++] = *in;
}

void pm_set_passes(PassCtx *cx, const Pass *const *p, int n)
{
	free(cx->plan);
	cx->plan = xmalloc((size_t)(n ? n : 1) * sizeof *cx->plan);
	for (int i = 0; i < n; i++)
		cx->plan[i] = p[i];
	cx->nplan = n;
}

/* ------------------------------------------------------- choosing passes */

/* Splits a comma list into fresh strings; empty items are kept (as ""), so
 * the caller can reject them by name. */
static void split(const char *s, Vec *out)
{
	for (;;) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		char *item = xmalloc(n + 1);
		memcpy(item, s, n);
		item[n] = 0;
		vec_push(out, item);
		if (!c)
			break;
		s = c + 1;
	}
}

static void free_items(Vec *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->v[i]);
	vec_free(v);
}

/* The Pass.after rule: when a pass named in p->after is in the list, one of
 * its runs comes before p.  Returns the index of the first violation's
 * pass, or -1, and the missing predecessor in *pred. */
static int order_violation(const Pass **plan, int n, const Pass **pred)
{
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < NELEM(plan[i]->after) && plan[i]->after[k]; k++) {
			const Pass *q = pass_find(plan[i]->after[k]);
			if (!q)
				die("pass %s: 'after' names unknown pass '%s'", plan[i]->name,
				    plan[i]->after[k]);
			int present = 0, before = 0;
			for (int j = 0; j < n; j++)
				if (plan[j] == q) {
					present = 1;
					before |= j < i;
				}
			if (present && !before) {
				*pred = q;
				return i;
			}
		}
	}
	return -1;
}

int pm_plan(PassCtx *cx, const char *list, const char *pipeline, const char *disable,
            int force_order, Buf *err)
{
	Vec names = {0}, off = {0}, plan = {0};
	const char *name = pipeline ? pipeline : "default";
	int rc = 1;
	if (list && pipeline) {
		buf_puts(err, "--passes and --pipeline cannot be used together");
		return 1;
	}
	if (list) {
		if (*list)
			split(list, &names);
	} else {
		const Pipeline *pl = pipeline_find(name);
		if (!pl) {
			const char *cands[NELEM(pipelines)];
			for (int i = 0; i < NELEM(pipelines); i++)
				cands[i] = pipelines[i].name;
			buf_printf(err, "--pipeline: unknown pipeline '%s'", name);
			did_you_mean(err, name, cands, NELEM(pipelines));
			return 1;
		}
		for (int i = 0; pl->passes[i]; i++)
			vec_push(&names, xstrdup(pl->passes[i]));
	}
	if (disable)
		split(disable, &off);

	for (int i = 0; i < off.n; i++)
		if (!pass_find(off.v[i])) {
			unknown_pass(err, "--disable-pass", off.v[i]);
			goto out;
		}
	for (int i = 0; i < names.n; i++) {
		const Pass *p = pass_find(names.v[i]);
		if (!p) {
			if (!list)
				die("pipeline '%s' names unknown pass '%s'", name, (char *)names.v[i]);
			unknown_pass(err, "--passes", names.v[i]);
			goto out;
		}
		int skip = 0;
		for (int j = 0; j < off.n; j++)
			skip |= pass_find(off.v[j]) == p;
		if (!skip)
			vec_push(&plan, (void *)p);
	}

	const Pass *pred;
	int bad = order_violation((const Pass **)plan.v, plan.n, &pred);
	if (bad >= 0 && !list)
		die("pipeline '%s' runs %s before %s", name,
		    ((const Pass *)plan.v[bad])->name, pred->name);
	if (bad >= 0 && !force_order) {
		buf_printf(err, "--passes: %s must run after %s, which comes later in the list; "
		           "reorder the list, or use --force-order",
		           ((const Pass *)plan.v[bad])->name, pred->name);
		goto out;
	}
	pm_set_passes(cx, (const Pass *const *)plan.v, plan.n);
	rc = 0;
out:
	free_items(&names);
	free_items(&off);
	vec_free(&plan);
	return rc;
}

/* ------------------------------------------------------------- running */

void pass_range(const PassCtx *cx, const Module *m, int *lo, int *hi)
{
	*lo = cx->hi < 0 ? 0 : cx->lo;
	*hi = cx->hi < 0 ? m->nfuncs : cx->hi;
}

void *pass_state(const PassCtx *cx)
{
	return cx->state;
}

void pass_set_state(PassCtx *cx, void *state, void (*release)(void *))
{
	cx->state = state;
	cx->release = release;
}

static void drop_state(PassCtx *cx)
{
	if (cx->state && cx->release)
		cx->release(cx->state);
	cx->state = NULL;
	cx->release = NULL;
}

/* Runs plan[i] on *m with every instrument around it; 0, or 1 when the
 * pipeline must stop. */
static int run_one(PassCtx *cx, Module **m, int i)
{
	const Pass *p = cx->plan[i];
	int n = cx->done + 1;
	for (int k = 0; k < cx->nins; k++)
		if (cx->ins[k].before_pass && cx->ins[k].before_pass(&cx->ins[k], cx, p, n, *m))
			return 1;
	Module *old = *m;
	int errors = diag_errors();
	int rc = p->run(m, cx);
	drop_state(cx);
	if (*m != old)
		vec_push(&cx->dead, old); /* the new module may share its nodes */
	else if (!(p->preserves & PRESERVES_NARROW))
		pmap_put(&old->facts, old, NULL);
	if (!*m)
		die("pass %s returned no module", p->name);
	cx->done = n;
	if (rc) {
		if (diag_errors() == errors)
			die("pass %s failed without reporting an error", p->name);
		diag_note(NOLOC, "in pass %s (pass %d)", p->name, n);
		return 1;
	}
	for (int k = cx->nins - 1; k >= 0; k--)
		if (cx->ins[k].after_pass && cx->ins[k].after_pass(&cx->ins[k], cx, p, n, *m))
			return 1;
	return 0;
}

/* ------------------------------------------------- function by function */

/* A big module does not fit in cache, and a pipeline that runs each pass
 * over the whole module brings every function back from memory once per
 * pass.  Consecutive per_function passes therefore run over chunks of
 * CHUNK functions: all of them on the first chunk, then on the next.  A
 * group ends after a pass that does not preserve the module-wide facts,
 * so the facts a pass sees are the ones it would see pass by pass.
 *
 * The result equals the pass-by-pass one: each function goes through the
 * same passes in the same order.  Only the order of diagnostics could
 * differ (a later pass failing on an earlier function), and a pass that
 * fails must stop the pipeline before the passes after it run; so the
 * chunked run is a trial with diagnostics held, and if it issued any, the
 * functions are put back and the group runs pass by pass to report them.
 * --pass-config tirxc.function_chunk=N sets the chunk (0: never chunk). */
enum { CHUNK = 32 };

/* The index after the group of per_function passes that starts at i; a
 * pass that first reads the whole module (per_function 2) only starts one. */
static int group_end(const PassCtx *cx, int i)
{
	int g = i;
	while (g < cx->nplan && cx->plan[g]->per_function &&
	       (g == i || cx->plan[g]->per_function == 1)) {
		g++;
		if (!(cx->plan[g - 1]->preserves & PRESERVES_NARROW))
			break;
	}
	return g;
}

/* 0 when passes [i, g) ran chunk by chunk; -1 when nothing changed and
 * they are to run pass by pass. */
static int run_chunked(PassCtx *cx, Module **m, int i, int g, int chunk)
{
	Module *mod = *m;
	int n = mod->nfuncs;
	Func **snap = xmalloc(((size_t)n + 1) * sizeof *snap);
	memcpy(snap, mod->funcs, (size_t)n * sizeof *snap);
	int mark = diag_hold(), ok = 1;
	for (int lo = 0; lo < n && ok; lo += chunk) {
		cx->lo = lo;
		cx->hi = lo + chunk < n ? lo + chunk : n;
		for (int k = i; k < g && ok; k++) {
			const Pass *p = cx->plan[k];
			int num = cx->done + 1 + (k - i);
			for (int j = 0; j < cx->nins; j++)
				if (cx->ins[j].before_pass)
					cx->ins[j].before_pass(&cx->ins[j], cx, p, num, mod);
			ok = p->run(m, cx) == 0;
			if (*m != mod || mod->nfuncs != n)
				die("pass %s is marked per_function but changed the module", p->name);
			for (int j = cx->nins - 1; j >= 0; j--)
				if (cx->ins[j].after_pass)
					cx->ins[j].after_pass(&cx->ins[j], cx, p, num, mod);
		}
	}
	cx->hi = -1;
	drop_state(cx);
	if (diag_unhold(mark) || !ok) {
		memcpy(mod->funcs, snap, (size_t)n * sizeof *snap);
		free(snap);
		return -1;
	}
	free(snap);
	cx->done += g - i;
	if (!(cx->plan[g - 1]->preserves & PRESERVES_NARROW))
		pmap_put(&mod->facts, mod, NULL);
	return 0;
}

/* The chunk size, or 0 when this run must go pass by pass: an instrument
 * looks at the module between passes, or --stats orders its lines by pass. */
static int chunk_size(PassCtx *cx, const Module *m)
{
	const char *v = pass_config(cx, CHUNK_KEY);
	int chunk = v ? atoi(v) : CHUNK;
	if (chunk <= 0 || cx->stats_on)
		return 0;
	for (int k = 0; k < cx->nins; k++)
		if ((cx->ins[k].before_pass || cx->ins[k].after_pass) && !cx->ins[k].chunk_ok)
			return 0;
	return m->nfuncs > chunk ? chunk : 0;
}

int pm_run(PassCtx *cx, Module **m)
{
	for (int k = 0; k < cx->nins; k++)
		if (cx->ins[k].before_pipeline && cx->ins[k].before_pipeline(&cx->ins[k], cx, *m))
			return 1;
	for (int i = 0; i < cx->nplan;) {
		int g = group_end(cx, i), chunk;
		if (g - i > 1 && (chunk = chunk_size(cx, *m)) && run_chunked(cx, m, i, g, chunk) == 0) {
			i = g;
			continue;
		}
		/* pass by pass, including a group whose chunked trial issued
		 * diagnostics */
		for (int end = g > i ? g : i + 1; i < end; i++)
			if (run_one(cx, m, i))
				return 1;
	}
	for (int k = cx->nins - 1; k >= 0; k--)
		if (cx->ins[k].after_pipeline && cx->ins[k].after_pipeline(&cx->ins[k], cx, *m))
			return 1;
	/* A flag that silently does nothing is a trap: say so. */
	for (int i = 0; i < cx->ncfg; i++)
		if (!cx->cfg[i].used)
			diag_warning(NOLOC, "--pass-config '%s' was not read by any pass that ran",
			             cx->cfg[i].key);
	return 0;
}

void pm_finish(PassCtx *cx)
{
	for (int k = cx->nins - 1; k >= 0; k--)
		if (cx->ins[k].finish)
			cx->ins[k].finish(&cx->ins[k], cx);
}

void pm_free(PassCtx *cx)
{
	if (!cx)
		return;
	for (int k = 0; k < cx->nins; k++)
		if (cx->ins[k].free)
			cx->ins[k].free(&cx->ins[k]);
	for (int i = 0; i < cx->dead.n; i++)
		mod_free(cx->dead.v[i]);
	vec_free(&cx->dead);
	for (int i = 0; i < cx->ncfg; i++) {
		free(cx->cfg[i].key);
		free(cx->cfg[i].val);
	}
	for (int i = 0; i < cx->nrows; i++)
		free(cx->rows[i].what);
	free(cx->rows);
	free(cx->cfg);
	free(cx->ins);
	free(cx->plan);
	free(cx->target);
	free(cx->host);
	buf_free(&cx->text);
	buf_free(&cx->stats);
	free(cx);
}

/* ------------------------------------------------ --print-before/after */

/* A set of passes: all, or by pass, or by execution number. */
typedef struct Sel {
	int all;
	const Pass **p;
	int np;
	long *num;
	int nnum;
} Sel;

static int sel_parse(Sel *s, const char *opt, const char *list, Buf *err)
{
	Vec items = {0};
	int rc = 0;
	split(list, &items);
	for (int i = 0; i < items.n && !rc; i++) {
		const char *it = items.v[i];
		char *end;
		if (*it >= '0' && *it <= '9') {
			errno = 0;
			long v = strtol(it, &end, 10);
			if (*end || v < 1 || errno) {
				buf_printf(err, "%s: '%s' is not a pass execution number (1, 2, ...)", opt, it);
				rc = 1;
				break;
			}
			s->num = xrealloc(s->num, (size_t)(s->nnum + 1) * sizeof *s->num);
			s->num[s->nnum++] = v;
			continue;
		}
		const Pass *p = pass_find(it);
		if (!p) {
			unknown_pass(err, opt, it);
			rc = 1;
			break;
		}
		s->p = xrealloc(s->p, (size_t)(s->np + 1) * sizeof *s->p);
		s->p[s->np++] = p;
	}
	free_items(&items);
	return rc;
}

static int sel_has(const Sel *s, const Pass *p, int n)
{
	if (s->all)
		return 1;
	for (int i = 0; i < s->np; i++)
		if (s->p[i] == p)
			return 1;
	for (int i = 0; i < s->nnum; i++)
		if (s->num[i] == n)
			return 1;
	return 0;
}

static int sel_empty(const Sel *s)
{
	return !s->all && !s->np && !s->nnum;
}

typedef struct Printer {
	Sel before, after;
	int changed;
	char *last; /* --print-changed: the text after the previous pass */
} Printer;

static void banner(FILE *f, const char *when, const Pass *p, int n, const char *tail)
{
	fprintf(f, "# *** IR %s %s (pass %d)%s ***\n", when, p->name, n, tail);
}

/* A selection that names a pass this run does not run, or an execution
 * number past its last pass, would silently print nothing: say so. */
static void sel_check(const Sel *s, const char *opt, const PassCtx *cx)
{
	for (int i = 0; i < s->np; i++) {
		int runs = 0;
		for (int k = 0; k < cx->nplan && !runs; k++)
			runs = cx->plan[k] == s->p[i];
		if (!runs)
			diag_warning(NOLOC, "%s: pass %s does not run in this invocation", opt,
			             s->p[i]->name);
	}
	for (int i = 0; i < s->nnum; i++)
		if (s->num[i] > cx->nplan)
			diag_warning(NOLOC, "%s: there is no pass %ld: %d pass%s run%s in this invocation",
			             opt, s->num[i], cx->nplan, cx->nplan == 1 ? "" : "es",
			             cx->nplan == 1 ? "s" : "");
}

static int print_before_pipeline(Instrument *in, PassCtx *cx, const Module *m)
{
	Printer *pr = in->data;
	sel_check(&pr->before, "--print-before", cx);
	sel_check(&pr->after, "--print-after", cx);
	if (pr->changed)
		pr->last = xstrdup(printed(cx, m)->s);
	return 0;
}

static int print_before_pass(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m)
{
	Printer *pr = in->data;
	if (sel_has(&pr->before, p, n)) {
		fflush(stdout);
		banner(stderr, "Before", p, n, "");
		fputs(printed(cx, m)->s, stderr);
	}
	return 0;
}

static int print_after_pass(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m)
{
	Printer *pr = in->data;
	/* --print-changed alone watches every pass; with a list, those passes */
	int want = sel_has(&pr->after, p, n) || (pr->changed && sel_empty(&pr->after));
	if (!want && !pr->changed)
		return 0;
	const char *text = printed(cx, m)->s;
	if (pr->changed) {
		int same = strcmp(pr->last, text) == 0;
		free(pr->last);
		pr->last = xstrdup(text);
		if (want && same) {
			banner(stderr, "After", p, n, " omitted because no change");
			return 0;
		}
	}
	if (want) {
		fflush(stdout);
		banner(stderr, "After", p, n, "");
		fputs(text, stderr);
	}
	return 0;
}

static void print_free(Instrument *in)
{
	Printer *pr = in->data;
	free(pr->before.p);
	free(pr->before.num);
	free(pr->after.p);
	free(pr->after.num);
	free(pr->last);
	free(pr);
}

/* ------------------------------------------------------------ --dump-dir */

typedef struct Dumper {
	char *dir;
} Dumper;

/* mkdir -p: each missing component in turn. */
static int make_dirs(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = 0;
			if (mkdir(p, 0777) != 0 && errno != EEXIST)
				rc = -1;
			*s = c;
			if (!c || rc)
				break;
		}
	}
	struct stat st;
	if (!rc && (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))) {
		if (!errno || errno == EEXIST)
			errno = ENOTDIR;
		rc = -1;
	}
	free(p);
	return rc;
}

/* Our dump names: digits, '-', a name, ".tx". */
static int is_dump_name(const char *s)
{
	size_t n = strlen(s), d = 0;
	while (s[d] >= '0' && s[d] <= '9')
		d++;
	return d >= 2 && s[d] == '-' && n > d + 4 && strcmp(s + n - 3, ".tx") == 0;
}

static int dump_write(Dumper *d, const char *file, const char *head, const char *text)
{
	Buf path = {0};
	buf_printf(&path, "%s/%s", d->dir, file);
	FILE *f = fopen(path.s, "w");
	int ok = f && fputs(head, f) >= 0 && fputs(text, f) >= 0;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok)
		diag_error(NOLOC, "--dump-dir: cannot write '%s': %s", path.s, strerror(errno));
	buf_free(&path);
	return !ok;
}

static int dump_before_pipeline(Instrument *in, PassCtx *cx, const Module *m)
{
	Dumper *d = in->data;
	if (make_dirs(d->dir) != 0) {
		diag_error(NOLOC, "--dump-dir: cannot create '%s': %s", d->dir, strerror(errno));
		return 1;
	}
	/* Stale dumps of a longer earlier run would read as this run's. */
	DIR *dir = opendir(d->dir);
	if (dir) {
		struct dirent *e;
		Buf path = {0};
		while ((e = readdir(dir)))
			if (is_dump_name(e->d_name)) {
				path.n = 0;
				buf_printf(&path, "%s/%s", d->dir, e->d_name);
				remove(path.s);
			}
		buf_free(&path);
		closedir(dir);
	}
	return dump_write(d, "00-input.tx", "# *** IR Input ***\n", printed(cx, m)->s);
}

static int dump_after_pass(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m)
{
	Buf file = {0}, head = {0};
	buf_printf(&file, "%02d-%s.tx", n, p->name);
	buf_printf(&head, "# *** IR After %s (pass %d) ***\n", p->name, n);
	int rc = dump_write(in->data, file.s, head.s, printed(cx, m)->s);
	buf_free(&file);
	buf_free(&head);
	return rc;
}

static void dump_free(Instrument *in)
{
	Dumper *d = in->data;
	free(d->dir);
	free(d);
}

/* ------------------------------------------------ verification instruments */

/* The rules for the module the passes hand on (tir_verify_output: no GPU
 * threads left in CPU functions), after the verifier proper; with or
 * without --verify-each. */
static int output_after_pipeline(Instrument *in, PassCtx *cx, const Module *m)
{
	if (!cx->done)
		return 0; /* no pass ran: the input is what it was */
	double t0 = pm_now();
	int bad = tir_verify_output(m, cx->plan[cx->nplan - 1]->name);
	pm_time(cx, "verify", pm_now() - t0);
	return bad != 0;
}

/* The default: the output once, which costs one verifier run instead of one
 * per pass; --verify-each then finds the pass that broke the IR. */
static int verify_after_pipeline(Instrument *in, PassCtx *cx, const Module *m)
{
	if (!cx->done)
		return 0; /* no pass ran: the input was verified */
	const Pass *last = cx->plan[cx->nplan - 1];
	double t0 = pm_now();
	int bad = tir_verify(m, last->name);
	pm_time(cx, "verify", pm_now() - t0);
	if (bad) {
		diag_error(NOLOC, "the IR is invalid after the passes (the last: %s, pass %d); "
		           "--verify-each finds the pass that broke it", last->name, cx->done);
		return 1;
	}
	return output_after_pipeline(in, cx, m);
}

static int verify_after_pass(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m)
{
	double t0 = pm_now();
	int bad = tir_verify(m, p->name);
	pm_time(cx, "verify", pm_now() - t0);
	if (bad) {
		diag_error(NOLOC, "the IR is invalid after pass %s (pass %d)", p->name, n);
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------- --time-passes */

typedef struct Timer {
	double t0;
} Timer;

static int time_before_pass(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m)
{
	((Timer *)in->data)->t0 = pm_now();
	return 0;
}

static int time_after_pass(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m)
{
	pm_time(cx, p->name, pm_now() - ((Timer *)in->data)->t0);
	return 0;
}

static void time_free(Instrument *in)
{
	free(in->data);
}

static void time_finish(Instrument *in, PassCtx *cx)
{
	double total = 0;
	for (int i = 0; i < cx->nrows; i++)
		total += cx->rows[i].secs;
	fflush(stdout);
	fputs("# tirxc --time-passes: wall time per phase and pass\n", stderr);
	fprintf(stderr, "# %10s %7s  %s\n", "seconds", "%", "name");
	for (int i = 0; i < cx->nrows; i++)
		fprintf(stderr, "  %10.6f %6.1f%%  %s\n", cx->rows[i].secs,
		        total > 0 ? 100 * cx->rows[i].secs / total : 0.0, cx->rows[i].what);
	fprintf(stderr, "  %10.6f %6.1f%%  total\n", total, 100.0);
}

/* ------------------------------------------------------------------- -v */

static int verbose_before_pipeline(Instrument *in, PassCtx *cx, const Module *m)
{
	fputs("tirxc: passes:", stderr);
	for (int i = 0; i < cx->nplan; i++)
		fprintf(stderr, "%s %s", i ? "," : "", cx->plan[i]->name);
	fputs(cx->nplan ? "\n" : " (none)\n", stderr);
	if (cx->target)
		fprintf(stderr, "tirxc: target: %s\n", cx->target);
	if (cx->host)
		fprintf(stderr, "tirxc: host: %s\n", cx->host);
	for (int i = 0; i < cx->ncfg; i++)
		fprintf(stderr, "tirxc: pass config: %s=%s\n", cx->cfg[i].key, cx->cfg[i].val);
	return 0;
}

static int verbose_before_pass(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m)
{
	fprintf(stderr, "tirxc: running %s (pass %d)\n", p->name, n);
	return 0;
}

/* --------------------------------------------------------------- --stats */

/* Statements, not counting sequences; expressions are not visited. */
static int count_stmt(Walker *w, Stmt *s)
{
	*(long *)w->data += s->kind != ST_SEQ;
	return 1;
}

static int skip_expr(Walker *w, Expr *e)
{
	return 0;
}

static long count_stmts(Stmt *s)
{
	long n = 0;
	Walker w = {.stmt = count_stmt, .expr = skip_expr, .data = &n};
	walk_stmt(&w, s);
	return n;
}

static int stats_after_pipeline(Instrument *in, PassCtx *cx, const Module *m)
{
	long total = 0;
	for (int i = 0; i < m->nfuncs; i++)
		total += count_stmts(m->funcs[i]->body);
	fflush(stdout);
	fprintf(stderr, "# tirxc --stats\n");
	fprintf(stderr, "module: %d function%s, %ld statement%s, %zu arena bytes\n", m->nfuncs,
	        m->nfuncs == 1 ? "" : "s", total, total == 1 ? "" : "s", ar_bytes(m->arena));
	for (int i = 0; i < m->nfuncs; i++) {
		const Func *f = m->funcs[i];
		long n = count_stmts(f->body);
		fprintf(stderr, "function %s: %d param%s, %ld statement%s\n", f->name, f->nparams,
		        f->nparams == 1 ? "" : "s", n, n == 1 ? "" : "s");
	}
	if (cx->stats.n)
		fputs(cx->stats.s, stderr);
	return 0;
}

int pass_stats_on(const PassCtx *cx)
{
	return cx->stats_on;
}

void pass_stat(PassCtx *cx, const char *fmt, ...)
{
	if (!cx->stats_on)
		return;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&cx->stats, fmt, ap);
	va_end(ap);
	buf_putc(&cx->stats, '\n');
}

/* ---------------------------------------------------------------- setup */

PassCtx *pm_new(const PmOptions *o, Buf *err)
{
	PassCtx *cx = xcalloc(1, sizeof *cx);
	cx->text_ver = -1;
	cx->hi = -1;
	pm_set_passes(cx, NULL, 0);

	/* Added first, so its after-hook runs last: the printers show the IR
	 * that failed verification before the run stops. */
	if (o->verify_each)
		pm_add_instrument(cx, &(Instrument){.name = "verify", .after_pass = verify_after_pass,
		                                    .after_pipeline = output_after_pipeline});
	else if (o->verify_output)
		pm_add_instrument(cx, &(Instrument){.name = "verify-output",
		                                    .after_pipeline = verify_after_pipeline});
	if (o->verbose)
		pm_add_instrument(cx, &(Instrument){.name = "verbose",
		                                    .before_pipeline = verbose_before_pipeline,
		                                    .before_pass = verbose_before_pass});
	cx->stats_on = o->stats;
	if (o->stats)
		pm_add_instrument(cx, &(Instrument){.name = "stats",
		                                    .after_pipeline = stats_after_pipeline});
	if (o->dump_dir) {
		if (!*o->dump_dir) {
			buf_puts(err, "--dump-dir: empty directory name");
			pm_free(cx);
			return NULL;
		}
		Dumper *d = xcalloc(1, sizeof *d);
		d->dir = xstrdup(o->dump_dir);
		pm_add_instrument(cx, &(Instrument){.name = "dump", .data = d,
		                                    .before_pipeline = dump_before_pipeline,
		                                    .after_pass = dump_after_pass,
		                                    .free = dump_free});
	}
	if (o->print_before || o->print_after || o->print_before_all || o->print_after_all ||
	    o->print_changed) {
		Printer *pr = xcalloc(1, sizeof *pr);
		pr->before.all = o->print_before_all;
		pr->after.all = o->print_after_all;
		pr->changed = o->print_changed;
		pm_add_instrument(cx, &(Instrument){.name = "print", .data = pr,
		                                    .before_pipeline = print_before_pipeline,
		                                    .before_pass = print_before_pass,
		                                    .after_pass = print_after_pass,
		                                    .free = print_free});
		if ((o->print_before && sel_parse(&pr->before, "--print-before", o->print_before, err)) ||
		    (o->print_after && sel_parse(&pr->after, "--print-after", o->print_after, err))) {
			pm_free(cx);
			return NULL;
		}
	}
	/* Last, so it sits closest to the pass and times nothing else. */
	if (o->time_passes)
		pm_add_instrument(cx, &(Instrument){.name = "time", .data = xcalloc(1, sizeof(Timer)),
		                                    .before_pass = time_before_pass,
		                                    .after_pass = time_after_pass,
		                                    .finish = time_finish,
		                                    .free = time_free,
		                                    .chunk_ok = 1});
	return cx;
}
