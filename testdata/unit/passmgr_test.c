/* passmgr_test.c: the pass manager with passes made up for the test: hook
 * order, execution numbers, verification failure after a pass, a failing
 * pass, a pass that replaces the module, and module-wide facts dropped
 * after a pass that does not preserve them. */
#include <string.h>
#include "tir.h"
#include "unit.h"

static const char *src =
	"# from tvm.script import tirx as T\n"
	"@T.prim_func\n"
	"def main(A: T.Buffer((4,), \"float32\")):\n"
	"    A[0] = T.float32(1.0)\n";

static Module *load(void)
{
	return tir_parse("pm.tx", src, strlen(src));
}

static char trace[256];

static int rec_before(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m)
{
	size_t k = strlen(trace);
	snprintf(trace + k, sizeof trace - k, "%s<%d ", (const char *)in->data, n);
	return 0;
}

static int rec_after(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m)
{
	size_t k = strlen(trace);
	snprintf(trace + k, sizeof trace - k, "%s>%d ", (const char *)in->data, n);
	return 0;
}

/* Uses a var that nothing defines: the verifier must reject the result. */
static int break_ir(Module **m, PassCtx *cx)
{
	Func *f = (*m)->funcs[0];
	Var *v = var_new((*m)->arena, sym("ghost"), ty_prim(DT_I32));
	Stmt *s = st_new((*m)->arena, ST_EVAL, NOLOC);
	s->eval.value = ex_var((*m)->arena, v);
	Stmt *items[2] = {f->body, s};
	f->body = st_seq((*m)->arena, items, 2);
	return 0;
}

static int fail_pass(Module **m, PassCtx *cx)
{
	diag_error(NOLOC, "the test pass fails");
	return 1;
}

/* Replaces the module with a fresh one that shares nothing. */
static int replace(Module **m, PassCtx *cx)
{
	Module *n = load();
	*m = n;
	return 0;
}

static const Pass id = {"TestId", "test-id", "", pass_identity, {NULL}, 0, 0};
static const Pass brk = {"TestBreak", "test-break", "", break_ir, {NULL}, 0, 0};
static const Pass bad = {"TestFail", "test-fail", "", fail_pass, {NULL}, 0, 0};
static const Pass rep = {"TestReplace", "test-replace", "", replace, {NULL}, 0, 0};

UNIT_TEST(pm_hook_order)
{
	Buf err = {0};
	PassCtx *cx = pm_new(&(PmOptions){0}, &err);
	Module *m = load();
	CHECK(cx && m);
	pm_add_instrument(cx, &(Instrument){.data = "a", .before_pass = rec_before, .after_pass = rec_after});
	pm_add_instrument(cx, &(Instrument){.data = "b", .before_pass = rec_before, .after_pass = rec_after});
	const Pass *plan[] = {&id, &id};
	pm_set_passes(cx, plan, 2);
	trace[0] = 0;
	CHECK(pm_run(cx, &m) == 0);
	CHECK(strcmp(trace, "a<1 b<1 b>1 a>1 a<2 b<2 b>2 a>2 ") == 0);
	mod_free(m);
	pm_free(cx);
	buf_free(&err);
}

/* Runs id, brk, id with the options o and a recording instrument; the
 * result of pm_run, the trace left in `trace`. */
static int run_breaking(PmOptions o)
{
	Buf err = {0};
	PassCtx *cx = pm_new(&o, &err);
	Module *m = load();
	pm_add_instrument(cx, &(Instrument){.data = "x", .before_pass = rec_before, .after_pass = rec_after});
	const Pass *plan[] = {&id, &brk, &id};
	pm_set_passes(cx, plan, 3);
	trace[0] = 0;
	diag_reset();
	int rc = pm_run(cx, &m);
	if (rc)
		CHECK(diag_errors() > 0);
	diag_reset();
	mod_free(m);
	pm_free(cx);
	buf_free(&err);
	return rc;
}

UNIT_TEST(pm_verify_each_stops_after_the_breaking_pass)
{
	CHECK(run_breaking((PmOptions){.verify_each = 1}) == 1);
	CHECK(strcmp(trace, "x<1 x>1 x<2 x>2 ") == 0); /* pass 3 never ran */
	/* without verification the same list runs to the end */
	CHECK(run_breaking((PmOptions){0}) == 0);
	CHECK(strcmp(trace, "x<1 x>1 x<2 x>2 x<3 x>3 ") == 0);
}

/* The default: the output is verified once, after every pass has run. */
UNIT_TEST(pm_verify_output_runs_every_pass_then_rejects)
{
	CHECK(run_breaking((PmOptions){.verify_output = 1}) == 1);
	CHECK(strcmp(trace, "x<1 x>1 x<2 x>2 x<3 x>3 ") == 0);
}

UNIT_TEST(pm_failing_pass_and_replaced_module)
{
	Buf err = {0};
	PassCtx *cx = pm_new(&(PmOptions){.verify_each = 1}, &err);
	Module *m = load(), *first = m;
	const Pass *plan[] = {&rep, &bad};
	pm_set_passes(cx, plan, 2);
	diag_reset();
	CHECK(pm_run(cx, &m) == 1);
	CHECK(m != first); /* the old one is freed by pm_free */
	diag_reset();
	mod_free(m);
	pm_free(cx);
	buf_free(&err);
}

/* Module-wide facts: the bf16 compute legalizer records that the module
 * has no bf16; a pass then brings in a bf16 function.  When that pass does
 * not declare PRESERVES_NARROW, the storage legalizer must scan again and
 * legalize the new function; when it (wrongly) declares it, the stale fact
 * is used and the function is left alone, which shows the fact is what
 * decides. */
static const char *bf16_src =
	"# from tvm.script import tirx as T\n"
	"@T.prim_func\n"
	"def main():\n"
	"    A = T.alloc_buffer((4,), \"bfloat16\")\n"
	"    A[0] = T.bfloat16(1.0)\n";
static Module *bf16_mod;

static int bring_bf16(Module **m, PassCtx *cx)
{
	(*m)->funcs[0] = bf16_mod->funcs[0];
	return 0;
}

UNIT_TEST(pm_module_facts_dropped_unless_preserved)
{
	const Pass *cl = pass_find("BF16ComputeLegalize"), *sl = pass_find("BF16StorageLegalize");
	for (int keep = 0; keep < 2; keep++) {
		Pass bring = {"TestBring", "test-bring", "", bring_bf16, {NULL}, keep ? PRESERVES_NARROW : 0, 0};
		const char *f32 = "# from tvm.script import tirx as T\n@T.prim_func\ndef main():\n"
		                  "    A = T.alloc_buffer((4,), \"float32\")\n    A[0] = T.float32(1.0)\n";
		Buf err = {0};
		PassCtx *cx = pm_new(&(PmOptions){0}, &err);
		Module *m = tir_parse("f32.tx", f32, strlen(f32));
		bf16_mod = tir_parse("bf16.tx", bf16_src, strlen(bf16_src));
		CHECK(cx && m && bf16_mod && cl && sl);
		const Pass *plan[] = {cl, &bring, sl};
		pm_set_passes(cx, plan, 3);
		CHECK(pm_run(cx, &m) == 0);
		CHECK((m->funcs[0] == bf16_mod->funcs[0]) == keep);
		mod_free(m);
		mod_free(bf16_mod);
		pm_free(cx);
		buf_free(&err);
	}
}

UNIT_TEST(pm_plan_and_suggest)
{
	Buf err = {0};
	PassCtx *cx = pm_new(&(PmOptions){0}, &err);
	CHECK(pm_plan(cx, NULL, NULL, NULL, 0, &err) == 0);
	CHECK(pm_plan(cx, "identity,Identity", NULL, "identity", 0, &err) == 0);
	CHECK(pm_plan(cx, "Identiy", NULL, NULL, 0, &err) == 1);
	CHECK(err.s && strstr(err.s, "did you mean 'Identity'?"));
	const char *c[] = {"SplitHostDevice", "MakePackedAPI"};
	CHECK(pm_suggest("SplitHostDevic", c, 2) == c[0]);
	CHECK(pm_suggest("splithostdevice", c, 2) == c[0]);
	CHECK(pm_suggest("Frobnicate", c, 2) == NULL);
	pm_free(cx);
	buf_free(&err);
}
