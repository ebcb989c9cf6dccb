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

/* Walker.at / Mutator.at: every integer constant seen, with the line its
 * hook reads from walk_loc / mut_loc (-1: none). */
static const char *located =
	"# from tvm.script import tirx as T\n"
	"\n"
	"@T.prim_func(s_tir=True)\n"
	"def main(A: T.Buffer((16,), \"int32\")):\n" /* line 4 */
	"    T.attr(\"x\", \"a\", 1)\n"                /* 5 */
	"    T.attr(\"x\", \"b\", 2)\n"                /* 6 */
	"    if A[3] > 4:\n"                           /* 7 */
	"        A[5] = 6\n"                           /* 8 */
	"    A[7] = 8\n";                              /* 9 */

typedef struct AtLog {
	int line[32]; /* by constant value */
	int ifs;
} AtLog;

static void at_note(AtLog *g, Expr *e, Loc at)
{
	if (e->kind == EX_INT && e->i >= 0 && e->i < 32)
		g->line[e->i] = at.file >= 0 ? at.line : -1;
}

static int at_walk_expr(Walker *w, Expr *e)
{
	at_note(w->data, e, walk_loc(w));
	return 1;
}

/* An if's branch before its condition: the condition must still be
 * reported at the if, not at the branch just walked. */
static int at_walk_stmt(Walker *w, Stmt *s)
{
	if (s->kind != ST_IF)
		return 1;
	((AtLog *)w->data)->ifs++;
	walk_stmt(w, s->ifs.then);
	walk_expr(w, s->ifs.cond);
	return 0;
}

static Expr *at_mut_expr(Mutator *m, Expr *e)
{
	at_note(m->data, e, mut_loc(m));
	return NULL;
}

static Stmt *at_mut_stmt(Mutator *m, Stmt *s)
{
	if (s->kind != ST_IF)
		return NULL;
	((AtLog *)m->data)->ifs++;
	mut_stmt(m, s->ifs.then);
	mut_expr(m, s->ifs.cond);
	return s;
}

/* shape16: where A's shape is seen (walk_func: the function; the
 * Mutator rewrites a buffer's fields at its first use, once) */
static void at_check(const AtLog *g, int shape16)
{
	CHECK(g->ifs == 1);
	CHECK(g->line[16] == shape16);
	CHECK(g->line[1] == 5 && g->line[2] == 6);
	CHECK(g->line[3] == 7 && g->line[4] == 7);
	CHECK(g->line[5] == 8 && g->line[6] == 8);
	CHECK(g->line[7] == 9 && g->line[8] == 9);
	CHECK(g->line[9] == 8); /* a statement without a location: the enclosing one's */
}

UNIT_TEST(walk_loc_follows_statements)
{
	Module *m = parse(located);
	if (!m) {
		CHECK(0);
		return;
	}
	Func *f = m->funcs[0];
	Arena *a = m->arena;
	/* put an unlocated T.evaluate(9) after A[5] = 6 in the if's branch */
	Stmt *s = f->body;
	while (s->kind == ST_ATTR)
		s = s->attr.body;
	CHECK(s->kind == ST_SEQ && s->seq.n == 2 && s->seq.items[0]->kind == ST_IF);
	if (s->kind != ST_SEQ || s->seq.n != 2 || s->seq.items[0]->kind != ST_IF) {
		mod_free(m);
		return;
	}
	Stmt *two[2] = {s->seq.items[0]->ifs.then, st_eval(a, ex_int(a, DT_I32, 9))};
	Stmt *ifs = st_dup(a, s->seq.items[0]);
	ifs->ifs.then = st_seq(a, two, 2);
	Stmt *items[2] = {ifs, s->seq.items[1]};
	Stmt *seq = st_seq(a, items, 2);
	Stmt *outer = f->body; /* rebuild the two attrs around the new sequence */
	Stmt *inner = st_dup(a, outer->attr.body);
	inner->attr.body = seq;
	Stmt *body = st_dup(a, outer);
	body->attr.body = inner;
	Func *g = ar_dup(a, f, sizeof *f);
	g->body = body;

	AtLog wl = {{0}, 0};
	Walker w = {.stmt = at_walk_stmt, .expr = at_walk_expr, .kinds = EXK(EX_INT), .data = &wl};
	walk_func(&w, g);
	CHECK(w.at == NULL);
	at_check(&wl, 4);

	AtLog ml = {{0}, 0};
	Mutator mu = {.a = a, .expr = at_mut_expr, .stmt = at_mut_stmt, .kinds = EXK(EX_INT), .data = &ml};
	CHECK(mut_stmt(&mu, body) == body);
	CHECK(mu.at == NULL);
	mut_done(&mu);
	at_check(&ml, 8);
	mod_free(m);
}
