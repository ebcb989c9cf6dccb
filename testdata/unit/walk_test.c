/* Unit tests for walk.c: free variables, substitution, copy-on-write. */
#include <string.h>
#include "unit.h"
#include "tir.h"

static Module *parse(const char *src)
{
	return tir_parse("walk.tx", src, strlen(src));
}

static const char *kernel =
	"# from tvm.script import tirx as T\n"
	"\n"
	"@T.prim_func(s_tir=True)\n"
	"def main(A: T.Buffer((16,), \"float32\"), n: T.int32):\n"
	"    x: T.let[T.int32] = n + 1\n"
	"    tx = T.launch_thread(\"threadIdx.x\", 16)\n"
	"    S = T.alloc_shared((16,))\n"
	"    S[tx] = A[tx] + T.Cast(\"float32\", x)\n"
	"    for i in range(n):\n"
	"        A[i] = S[i]\n";

/* The launch region's free vars are n and x; its free buffer is A. */
UNIT_TEST(walk_free_vars_of_region)
{
	Module *m = parse(kernel);
	CHECK(m != NULL);
	if (!m)
		return;
	Stmt *body = m->funcs[0]->body;
	CHECK(body->kind == ST_SEQ && body->seq.n == 2);
	Stmt *launch = body->seq.items[1];
	CHECK(launch->kind == ST_ATTR);
	Vec vars = {0}, bufs = {0};
	free_vars(launch, &vars, &bufs);
	CHECK(vars.n == 2);
	CHECK(vars.n == 2 && !strcmp(((Var *)vars.v[0])->name, "x") && !strcmp(((Var *)vars.v[1])->name, "n"));
	CHECK(bufs.n == 1 && !strcmp(((Buffer *)bufs.v[0])->name, "A"));
	vec_free(&vars);
	vec_free(&bufs);
	mod_free(m);
}

/* Substituting n by a fresh var rewrites uses and leaves other nodes shared. */
UNIT_TEST(walk_subst_copy_on_write)
{
	Module *m = parse(kernel);
	if (!m) {
		CHECK(0);
		return;
	}
	Func *f = m->funcs[0];
	Var *n = f->params[1].var;
	Var *k = var_new(m->arena, sym("k"), ty_prim(DT_I32));
	PtrMap vmap = {0};
	pmap_put(&vmap, n, ex_var(m->arena, k));
	Stmt *body = subst_stmt(m->arena, f->body, &vmap, NULL);
	CHECK(body != f->body);
	CHECK(body->seq.items[0] != f->body->seq.items[0]); /* x = n + 1 changed */
	Vec vars = {0};
	free_vars(body, &vars, NULL);
	int has_n = 0, has_k = 0;
	for (int i = 0; i < vars.n; i++) {
		has_n |= vars.v[i] == n;
		has_k |= vars.v[i] == k;
	}
	CHECK(!has_n && has_k);
	/* an empty map changes nothing */
	PtrMap none = {0};
	CHECK(subst_stmt(m->arena, f->body, &none, NULL) == f->body);
	vec_free(&vars);
	pmap_free(&vmap);
	mod_free(m);
}

/* pmap_ref: one slot per key, kept across growth; NULL for a new key. */
UNIT_TEST(walk_pmap_ref)
{
	PtrMap m = {0};
	static int keys[1000];
	for (int i = 0; i < 1000; i++) {
		void **slot = pmap_ref(&m, &keys[i]);
		CHECK(*slot == NULL);
		*slot = (void *)(intptr_t)(i + 1);
	}
	CHECK(m.n == 1000);
	int ok = 1;
	for (int i = 0; i < 1000; i++)
		ok &= pmap_get(&m, &keys[i]) == (void *)(intptr_t)(i + 1) &&
		      *pmap_ref(&m, &keys[i]) == (void *)(intptr_t)(i + 1);
	CHECK(ok && m.n == 1000);
	pmap_clear(&m);
	CHECK(m.n == 0 && pmap_get(&m, &keys[0]) == NULL);
	pmap_free(&m);
}

/* Identity mutation returns every node as is; one changed item makes a
 * new sequence that shares the unchanged items and leaves the old one. */
static Var *rename_n(Mutator *mu, Var *v)
{
	return v == mu->data ? var_new(mu->a, sym("n2"), v->ty) : v;
}

UNIT_TEST(walk_mutate_sequence)
{
	Module *m = parse(kernel);
	if (!m) {
		CHECK(0);
		return;
	}
	Func *f = m->funcs[0];
	Mutator id = {.a = m->arena};
	CHECK(mut_stmt(&id, f->body) == f->body);
	mut_done(&id);
	/* body: [x = n + 1, launch]; only the bind mentions n */
	Stmt *old0 = f->body->seq.items[0], *old1 = f->body->seq.items[1];
	Mutator mu = {.a = m->arena, .var = rename_n, .data = f->params[1].var};
	Stmt *body = mut_stmt(&mu, f->body);
	mut_done(&mu);
	CHECK(body != f->body && body->kind == ST_SEQ && body->seq.n == 2);
	CHECK(body->seq.items[0] != old0 && body->seq.items[1] != old1);
	CHECK(f->body->seq.items[0] == old0 && f->body->seq.items[1] == old1);
	/* a sequence whose first item is unchanged keeps sharing it */
	Stmt **two = ar_alloc(m->arena, 2 * sizeof *two);
	two[0] = old1->attr.body->seq.items[0];
	two[1] = old0;
	Stmt *seq = st_seq(m->arena, two, 2);
	Mutator mu2 = {.a = m->arena, .var = rename_n, .data = f->params[1].var};
	Stmt *seq2 = mut_stmt(&mu2, seq);
	mut_done(&mu2);
	CHECK(seq2 != seq && seq2->seq.items[0] == seq->seq.items[0]);
	CHECK(seq2->seq.items[1] != old0 && seq->seq.items[1] == old0);
	mod_free(m);
}

/* A reducer whose vars are unchanged is returned as is. */
UNIT_TEST(walk_mutate_reducer)
{
	Module *m = mod_new();
	Arena *a = m->arena;
	Var *x = var_new(a, sym("x"), ty_prim(DT_F32)), *y = var_new(a, sym("y"), ty_prim(DT_F32));
	Obj *r = obj_new(a, OB_REDUCER);
	r->red.n = 1;
	r->red.lhs = ar_alloc(a, sizeof(Var *));
	r->red.rhs = ar_alloc(a, sizeof(Var *));
	r->red.result = ar_alloc(a, sizeof(Expr *));
	r->red.identity = ar_alloc(a, sizeof(Expr *));
	r->red.lhs[0] = x;
	r->red.rhs[0] = y;
	r->red.result[0] = ex_bin(a, EX_ADD, ex_var(a, x), ex_var(a, y));
	r->red.identity[0] = ex_float(a, DT_F32, 0.0);
	Mutator id = {.a = a};
	CHECK(mut_obj(&id, r) == r);
	Mutator mu = {.a = a, .var = rename_n, .data = y};
	Obj *r2 = mut_obj(&mu, r);
	CHECK(r2 != r && r2->red.lhs[0] == x && r2->red.rhs[0] != y);
	CHECK(r->red.rhs[0] == y && r2->red.rhs != r->red.rhs);
	mod_free(m);
}
