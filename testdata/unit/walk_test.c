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
