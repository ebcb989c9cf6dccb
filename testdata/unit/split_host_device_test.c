/* Unit tests for the host/device split: what the printed form cannot show
 * (node identity across functions) and the kernel name supply. */
#include <string.h>
#include "unit.h"
#include "tir.h"

static Module *parse(const char *src)
{
	return tir_parse("split.tx", src, strlen(src));
}

static int collect_var(Walker *w, Expr *e)
{
	if (e->kind == EX_VAR)
		pmap_put(w->data, e->var, (void *)1);
	return 1;
}

static void collect_def(Walker *w, Var *v)
{
	pmap_put(w->data, v, (void *)1);
}

static void collect_buf(Walker *w, Buffer *b)
{
	pmap_put(w->data, b, (void *)1);
}

/* Every var and buffer a function mentions, params included. */
static void nodes_of(Func *f, PtrMap *out)
{
	Walker w = {.expr = collect_var, .def = collect_def, .buffer = collect_buf, .data = out};
	walk_func(&w, f);
}

/* TVM's test_ssa_across_entire_module: the host loop var passed to the
 * kernel is not the kernel's param; no node is shared between functions. */
UNIT_TEST(split_host_device_fresh_vars)
{
	Module *m = parse("# from tvm.script import ir as I\n"
	                  "# from tvm.script import tirx as T\n\n"
	                  "@I.ir_module\n"
	                  "class Module:\n"
	                  "    @T.prim_func(s_tir=True)\n"
	                  "    def main(A: T.Buffer((16,), \"float32\")):\n"
	                  "        T.func_attr({\"target\": T.target(\"cuda\", host=\"llvm\")})\n"
	                  "        for i in range(16):\n"
	                  "            T.attr(0, \"device_scope\", 0)\n"
	                  "            for j in range(16):\n"
	                  "                A[j] = T.Cast(\"float32\", i)\n");
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(shd_annotate(m, 0, m->nfuncs, "test") == 0);
	CHECK(shd_split(m, 0) == 0);
	CHECK(m->nfuncs == 2);
	Func *host = mod_find(m, sym("main")), *kernel = mod_find(m, sym("main_kernel"));
	CHECK(host && kernel);
	if (!host || !kernel) {
		mod_free(m);
		return;
	}
	CHECK(host->body->kind == ST_FOR);
	CHECK(kernel->nparams == 2 && kernel->params[1].var);
	if (host->body->kind == ST_FOR && kernel->nparams == 2)
		CHECK(host->body->loop.var != kernel->params[1].var);
	PtrMap hn = {0}, kn = {0};
	nodes_of(host, &hn);
	nodes_of(kernel, &kn);
	int shared = 0;
	for (int i = 0; i < kn.cap; i++)
		if (kn.keys[i] && pmap_get(&hn, kn.keys[i]))
			shared++;
	CHECK(kn.n > 0 && shared == 0);
	CHECK(tir_verify(m, "SplitHostDevice") == 0);
	pmap_free(&hn);
	pmap_free(&kn);
	mod_free(m);
}

/* TVM's NameSupply: "." becomes "_", taken names get _1, _2, ... */
UNIT_TEST(split_host_device_fresh_names)
{
	Module *m = parse("# from tvm.script import tirx as T\n\n"
	                  "@T.prim_func(s_tir=True)\n"
	                  "def main_kernel():\n"
	                  "    T.evaluate(0)\n");
	CHECK(m != NULL);
	if (!m)
		return;
	PtrMap names = {0};
	CHECK(fresh_func_name(m, &names, "main_kernel") == sym("main_kernel_1"));
	CHECK(fresh_func_name(m, &names, "main_kernel") == sym("main_kernel_2"));
	CHECK(fresh_func_name(m, &names, "a.b_kernel") == sym("a_b_kernel"));
	CHECK(fresh_func_name(m, &names, "a.b_kernel") == sym("a_b_kernel_1"));
	CHECK(fresh_func_name(m, &names, "main_kernel_1_x") == sym("main_kernel_1_x"));
	pmap_free(&names);
	mod_free(m);
}
