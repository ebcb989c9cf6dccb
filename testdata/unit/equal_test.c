/* equal_test.c: structural equality and hashing on hand-built modules. */
#include <string.h>
#include "unit.h"
#include "tir.h"

/* main(A: Buffer((16,), "float32"), x: float32, y: float32):
 *     T.evaluate(x + <c>)            (y + <c> when swap)
 *     for i in range(16): A[i] = A[i] + x
 * with var names prefixed by `pre` so renaming can be tested. */
typedef struct Opts {
	const char *pre;
	double c;
	int swap;       /* use y where x was used in the first statement */
	int attr_order; /* 1: insert func attrs in the other order */
	int second;     /* also add a function "helper" (first when 2) */
} Opts;

static Sym nm(const Opts *o, const char *s)
{
	char b[64];
	snprintf(b, sizeof b, "%s%s", o->pre, s);
	return sym(b);
}

static void add_helper(Module *m)
{
	Func *h = ar_alloc(m->arena, sizeof *h);
	h->name = sym("helper");
	h->ret = ty_void();
	h->attrs = obj_new(m->arena, OB_DICT);
	h->body = st_new(m->arena, ST_EVAL, NOLOC);
	h->body->eval.value = ex_int(m->arena, DT_I32, 0);
	h->loc = NOLOC;
	mod_add(m, h);
}

static Module *build(Opts o)
{
	Module *m = mod_new();
	Arena *a = m->arena;
	if (o.second == 2)
		add_helper(m);
	Var *x = var_new(a, nm(&o, "x"), ty_prim(DT_F32));
	Var *y = var_new(a, nm(&o, "y"), ty_prim(DT_F32));
	Var *i = var_new(a, nm(&o, "i"), ty_prim(DT_I32));
	Expr **shape = ar_alloc(a, sizeof *shape);
	shape[0] = ex_int(a, DT_I32, 16);
	Buffer *A = buf_new(a, nm(&o, "A"), DT_F32, shape, 1);
	Param *ps = ar_alloc(a, 3 * sizeof *ps);
	ps[0].buf = A;
	ps[1].var = x;
	ps[2].var = y;
	Stmt **it = ar_alloc(a, 2 * sizeof *it);
	it[0] = st_new(a, ST_EVAL, NOLOC);
	it[0]->eval.value = ex_bin(a, EX_ADD, ex_var(a, o.swap ? y : x), ex_float(a, DT_F32, o.c));
	Expr *ld = ex_new(a, EX_LOAD, DT_F32);
	ld->load.buf = A;
	ld->load.idx = ar_alloc(a, sizeof(Expr *));
	ld->load.idx[0] = ex_var(a, i);
	ld->load.nidx = 1;
	Stmt *st = st_new(a, ST_STORE, NOLOC);
	st->store.buf = A;
	st->store.idx = ar_alloc(a, sizeof(Expr *));
	st->store.idx[0] = ex_var(a, i);
	st->store.nidx = 1;
	st->store.value = ex_bin(a, EX_ADD, ld, ex_var(a, x));
	Stmt *lp = st_new(a, ST_FOR, NOLOC);
	lp->loop.var = i;
	lp->loop.min = ex_int(a, DT_I32, 0);
	lp->loop.extent = ex_int(a, DT_I32, 16);
	lp->loop.body = st;
	it[1] = lp;
	Func *f = ar_alloc(a, sizeof *f);
	f->name = sym("main");
	f->params = ps;
	f->nparams = 3;
	f->ret = ty_void();
	Obj *d = obj_new(a, OB_DICT);
	if (o.attr_order) {
		d = obj_dict_set(a, d, "tirx.noalias", obj_bool(a, 1));
		d = obj_dict_set(a, d, "global_symbol", obj_str(a, sym("main")));
	} else {
		d = obj_dict_set(a, d, "global_symbol", obj_str(a, sym("main")));
		d = obj_dict_set(a, d, "tirx.noalias", obj_bool(a, 1));
	}
	f->attrs = d;
	f->body = st_seq(a, it, 2);
	f->loc = NOLOC;
	mod_add(m, f);
	if (o.second == 1)
		add_helper(m);
	return m;
}

/* Equality, and the reason when different (NULL: expect equal). */
static int compare(Opts oa, Opts ob, const char *why)
{
	Module *a = build(oa), *b = build(ob);
	Buf w = {0};
	int eq = tir_equal(a, b, &w);
	buf_putc(&w, 0);
	int ok = why ? !eq && strstr(w.s, why) != NULL : eq && tir_hash(a) == tir_hash(b);
	/* equality is symmetric */
	ok = ok && tir_equal(b, a, NULL) == eq;
	if (!ok)
		fprintf(stderr, "compare: eq %d, why \"%s\"\n", eq, w.s);
	buf_free(&w);
	mod_free(a);
	mod_free(b);
	return ok;
}

UNIT_TEST(equal_renaming)
{
	Opts a = {"", 1.0, 0, 0, 0}, b = a;
	b.pre = "other_";
	CHECK(compare(a, a, NULL));
	CHECK(compare(a, b, NULL));
	Module *m = build(a);
	CHECK(tir_equal(m, m, NULL));
	mod_free(m);
}

UNIT_TEST(equal_differences)
{
	Opts a = {"", 1.0, 0, 0, 0}, b = a;
	b.c = 2.0;
	CHECK(compare(a, b, "main: body[0].value.b: "));
	b = a;
	b.swap = 1; /* x + 1 vs y + 1: x would pair with both x and y */
	CHECK(compare(a, b, "main: body[0].value.a: "));
	Module *ma = build(a), *mb = build(b);
	CHECK(tir_hash(ma) != tir_hash(mb));
	mod_free(ma);
	mod_free(mb);
}

UNIT_TEST(equal_dicts_and_functions)
{
	Opts a = {"", 1.0, 0, 0, 1}, b = a;
	b.attr_order = 1;
	CHECK(compare(a, b, NULL));
	b = a;
	b.second = 2; /* functions in another order */
	CHECK(compare(a, b, NULL));
	b.second = 0;
	CHECK(compare(a, b, "function 'helper': function only in the first module"));
	CHECK(compare(b, a, "function 'helper': function only in the second module"));
}

UNIT_TEST(equal_attr_values)
{
	Opts o = {"", 1.0, 0, 0, 0};
	Module *a = build(o), *b = build(o);
	Func *f = mod_find(b, sym("main"));
	f->attrs = obj_dict_set(b->arena, f->attrs, "tirx.noalias", obj_bool(b->arena, 0));
	Buf w = {0};
	CHECK(!tir_equal(a, b, &w));
	buf_putc(&w, 0);
	CHECK(strstr(w.s, "main: attrs[\"tirx.noalias\"]: 1 vs 0") != NULL);
	buf_free(&w);
	/* a different buffer dtype on one side */
	mod_free(b);
	b = build(o);
	mod_find(b, sym("main"))->params[0].buf->dt = dt_make(DT_FLOAT, 16, 1);
	CHECK(!tir_equal(a, b, NULL));
	CHECK(tir_hash(a) != tir_hash(b));
	mod_free(a);
	mod_free(b);
}
