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

/* Every var and buffer a function mentions (defines or uses), params and
 * the vars of buffer shapes included. */
static void nodes_of(Func *f, PtrMap *out)
{
	Walker w = {.expr = collect_var, .def = collect_def, .buffer = collect_buf, .data = out};
	walk_func(&w, f);
}

/* The invariant SplitHostDevice leaves: the number of Var and Buffer nodes
 * that more than one function of m mentions (0 when it holds). */
static int shared_nodes(const Module *m)
{
	PtrMap owner = {0}; /* node -> 1 + the index of the first function */
	int shared = 0;
	for (int i = 0; i < m->nfuncs; i++) {
		PtrMap mine = {0};
		nodes_of(m->funcs[i], &mine);
		for (int k = 0; k < mine.cap; k++) {
			if (!mine.keys[k])
				continue;
			intptr_t o = (intptr_t)pmap_get(&owner, mine.keys[k]);
			if (!o)
				pmap_put(&owner, mine.keys[k], (void *)(intptr_t)(i + 1));
			else if (o != i + 1)
				shared++;
		}
		pmap_free(&mine);
	}
	pmap_free(&owner);
	return shared;
}

/* Whether f mentions the node p (a Var or a Buffer). */
static int mentions(Func *f, const void *p)
{
	PtrMap nodes = {0};
	nodes_of(f, &nodes);
	int r = pmap_get(&nodes, p) != NULL;
	pmap_free(&nodes);
	return r;
}

/* The first var defined or buffer mentioned in f with the given name. */
typedef struct Named {
	Sym name;
	Var *var;
	Buffer *buf;
	Stmt *loop; /* the loop that defines var, if one does */
} Named;

static int named_stmt(Walker *w, Stmt *s)
{
	Named *n = w->data;
	if (s->kind == ST_FOR && s->loop.var->name == n->name && !n->loop)
		n->loop = s;
	return 1;
}

static void named_def(Walker *w, Var *v)
{
	Named *n = w->data;
	if (v->name == n->name && !n->var)
		n->var = v;
}

static void named_buf(Walker *w, Buffer *b)
{
	Named *n = w->data;
	if (b->name == n->name && !n->buf)
		n->buf = b;
}

static Named find_named(Func *f, const char *name)
{
	Named n = {.name = sym(name)};
	Walker w = {.stmt = named_stmt, .def = named_def, .buffer = named_buf, .data = &n};
	walk_func(&w, f);
	return n;
}

/* The first statement of f's body that is a "target" attr (a region). */
static Stmt *first_region(Func *f)
{
	Stmt *b = f->body;
	if (b->kind == ST_ATTR && b->attr.key == sym("target"))
		return b;
	if (b->kind == ST_SEQ)
		for (int i = 0; i < b->seq.n; i++)
			if (b->seq.items[i]->kind == ST_ATTR && b->seq.items[i]->attr.key == sym("target"))
				return b->seq.items[i];
	return NULL;
}

/* m's function i with a new body (functions are immutable too). */
static void set_body(Module *m, int i, Stmt *body)
{
	Func *g = ar_alloc(m->arena, sizeof *g);
	*g = *m->funcs[i];
	g->body = body;
	m->funcs[i] = g;
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
	CHECK(shared_nodes(m) == 0);
	CHECK(tir_verify(m, "SplitHostDevice") == 0);
	mod_free(m);
}

/* A device region with a thread var, an allocation, a let var and a
 * loop, reading the host's A and n. */
static const char *one_region =
	"# from tvm.script import ir as I\n"
	"# from tvm.script import tirx as T\n\n"
	"@I.ir_module\n"
	"class Module:\n"
	"    @T.prim_func(s_tir=True)\n"
	"    def main(A: T.Buffer((256,), \"float32\"), n: T.int32):\n"
	"        T.func_attr({\"target\": T.target(\"cuda\", host=\"llvm\")})\n"
	"        threadIdx_x = T.launch_thread(\"threadIdx.x\", 256)\n"
	"        C = T.alloc_buffer((4,), scope=\"local\")\n"
	"        x: T.let[T.int32] = threadIdx_x + n\n"
	"        for j in range(4):\n"
	"            C[j] = A[x % 256]\n"
	"        A[threadIdx_x] = C[0]\n";

/* The nodes the tests follow, as the parser made them. */
typedef struct RegionNodes {
	Var *tx, *x, *j;
	Buffer *c, *a;
	Stmt *loop;
} RegionNodes;

static RegionNodes region_nodes(Func *f)
{
	RegionNodes r = {0};
	r.tx = find_named(f, "threadIdx_x").var;
	r.x = find_named(f, "x").var;
	Named j = find_named(f, "j");
	r.j = j.var;
	r.loop = j.loop;
	r.c = find_named(f, "C").buf;
	r.a = find_named(f, "A").buf;
	return r;
}

/* The kernel keeps the nodes its region defines (nothing else has them);
 * a thread var that two sibling regions share (T.env_thread) is kept by
 * the first kernel and renewed in the second. */
UNIT_TEST(split_host_device_keeps_region_defs)
{
	Module *m = parse("# from tvm.script import ir as I\n"
	                  "# from tvm.script import tirx as T\n\n"
	                  "@I.ir_module\n"
	                  "class Module:\n"
	                  "    @T.prim_func(s_tir=True)\n"
	                  "    def main(A: T.Buffer((256,), \"float32\"), n: T.int32):\n"
	                  "        T.func_attr({\"target\": T.target(\"cuda\", host=\"llvm\")})\n"
	                  "        threadIdx_x = T.env_thread(\"threadIdx.x\")\n"
	                  "        with T.launch_thread(threadIdx_x, 256):\n"
	                  "            C = T.alloc_buffer((4,), scope=\"local\")\n"
	                  "            x: T.let[T.int32] = threadIdx_x + n\n"
	                  "            for j in range(4):\n"
	                  "                C[j] = A[x % 256]\n"
	                  "            A[threadIdx_x] = C[0]\n"
	                  "        s: T.let[T.float32] = A[0]\n"
	                  "        with T.launch_thread(threadIdx_x, 256):\n"
	                  "            A[threadIdx_x] = s\n");
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(shd_annotate(m, 0, m->nfuncs, "test") == 0);
	RegionNodes r = region_nodes(m->funcs[0]);
	CHECK(r.tx && r.x && r.j && r.c && r.a);
	CHECK(shd_split(m, 0) == 0);
	Func *host = mod_find(m, sym("main")), *k1 = mod_find(m, sym("main_kernel")),
	     *k2 = mod_find(m, sym("main_kernel_1"));
	CHECK(m->nfuncs == 3 && host && k1 && k2);
	if (!host || !k1 || !k2 || !r.tx || !r.x || !r.j || !r.c || !r.a) {
		mod_free(m);
		return;
	}
	CHECK(shared_nodes(m) == 0);
	/* kept: defined in the first region only */
	CHECK(mentions(k1, r.tx) && mentions(k1, r.x) && mentions(k1, r.j) && mentions(k1, r.c));
	/* renewed: a captured buffer (the host has it), the second thread var */
	CHECK(!mentions(k1, r.a) && mentions(host, r.a));
	CHECK(!mentions(k2, r.tx) && find_named(k2, "threadIdx_x").var);
	CHECK(!mentions(host, r.tx) && !mentions(host, r.x) && !mentions(host, r.c));
	CHECK(tir_verify(m, "SplitHostDevice") == 0);
	mod_free(m);
}

/* Two sibling regions that are one and the same subtree (as a pass that
 * duplicates a statement would leave; the parser never does): the first
 * kernel keeps the region's nodes, the second gets its own. */
UNIT_TEST(split_host_device_shared_subtree)
{
	for (int head = 0; head < 2; head++) {
		Module *m = parse(one_region);
		CHECK(m != NULL);
		if (!m)
			return;
		CHECK(shd_annotate(m, 0, m->nfuncs, "test") == 0);
		RegionNodes r = region_nodes(m->funcs[0]);
		Stmt *region = first_region(m->funcs[0]);
		CHECK(r.tx && r.x && r.j && r.c && region);
		if (!region || !r.tx || !r.x || !r.j || !r.c) {
			mod_free(m);
			return;
		}
		Stmt *two[2] = {region, region};
		set_body(m, 0, st_seq(m->arena, two, 2));
		CHECK(shared_nodes(m) == 0); /* one function so far */
		CHECK(shd_split(m, head) == 0);
		Func *k1 = mod_find(m, sym("main_kernel")), *k2 = mod_find(m, sym("main_kernel_1"));
		CHECK(m->nfuncs == 3 && k1 && k2);
		if (!k1 || !k2) {
			mod_free(m);
			return;
		}
		CHECK(shared_nodes(m) == 0);
		CHECK(mentions(k1, r.tx) && mentions(k1, r.x) && mentions(k1, r.j) &&
		      mentions(k1, r.c));
		CHECK(!mentions(k2, r.tx) && !mentions(k2, r.x) && !mentions(k2, r.j) &&
		      !mentions(k2, r.c));
		Named x2 = find_named(k2, "x"), c2 = find_named(k2, "C");
		CHECK(x2.var && x2.var != r.x && c2.buf && c2.buf != r.c);
		CHECK(tir_verify(m, "SplitHostDevice") == 0);
		mod_free(m);
	}
}

/* Vars and a buffer the region defines that the host also has outside it
 * (defined there: the loop var of a host loop; used there: the let var
 * and the allocation) are renewed; the thread var, which only the region
 * has, is kept. */
UNIT_TEST(split_host_device_region_defs_in_host)
{
	Module *m = parse(one_region);
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(shd_annotate(m, 0, m->nfuncs, "test") == 0);
	RegionNodes r = region_nodes(m->funcs[0]);
	Stmt *region = first_region(m->funcs[0]);
	CHECK(r.tx && r.x && r.j && r.c && r.loop && region);
	if (!region || !r.tx || !r.x || !r.j || !r.c || !r.loop) {
		mod_free(m);
		return;
	}
	Arena *a = m->arena;
	Stmt *use_j = st_new(a, ST_EVAL, NOLOC);
	use_j->eval.value = ex_var(a, r.j);
	Stmt *host_loop = st_dup(a, r.loop); /* for j in range(4): T.evaluate(j) */
	host_loop->loop.body = use_j;
	Stmt *use_x = st_new(a, ST_EVAL, NOLOC);
	use_x->eval.value = ex_bin(a, EX_ADD, ex_var(a, r.x), ex_int(a, DT_I32, 1));
	Stmt *use_c = st_new(a, ST_EVAL, NOLOC);
	use_c->eval.value = ex_new(a, EX_BUFDATA, DT_HANDLE64);
	use_c->eval.value->buf = r.c;
	Stmt *body[4] = {host_loop, region, use_x, use_c};
	set_body(m, 0, st_seq(a, body, 4));
	CHECK(shd_split(m, 0) == 0);
	Func *host = mod_find(m, sym("main")), *k = mod_find(m, sym("main_kernel"));
	CHECK(m->nfuncs == 2 && host && k);
	if (!host || !k) {
		mod_free(m);
		return;
	}
	CHECK(shared_nodes(m) == 0);
	CHECK(mentions(host, r.j) && mentions(host, r.x) && mentions(host, r.c));
	CHECK(!mentions(k, r.j) && !mentions(k, r.x) && !mentions(k, r.c));
	CHECK(find_named(k, "j").var && find_named(k, "x").var && find_named(k, "C").buf);
	CHECK(mentions(k, r.tx) && !mentions(host, r.tx));
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
