/* passutil.c: helpers shared by several passes (see passutil.h). */
#include "passutil.h"

Expr *pu_keep_expr(Mutator *m, Expr *e)
{
	(void)m;
	return e;
}

int pu_skip_expr(Walker *w, Expr *e)
{
	(void)w;
	(void)e;
	return 0;
}

void pu_set_body(Module *m, int i, Stmt *body)
{
	Func *f = m->funcs[i];
	if (body == f->body)
		return;
	Func *g = ar_alloc(m->arena, sizeof *g);
	*g = *f;
	g->body = body;
	m->funcs[i] = g;
}

TType pu_void_ptr(void)
{
	return ty_ptr(DT_VOID, sym("global"));
}

Expr *pu_arith(Arena *a, const char *who, int kind, Expr *x, Expr *y)
{
	const char *err = NULL;
	Expr *r = arith_binary(a, kind, x, y, &err);
	if (!r)
		die("%s: %s", who, err ? err : "type error");
	return r;
}

Expr *pu_i32(Arena *a, int64_t v)
{
	return ex_int(a, DT_I32, v);
}

Expr *pu_call(Arena *a, const char *op, TType rty, Expr **args, int n)
{
	return ex_call(a, op_get(op), rty, args, n);
}

Expr *pu_pack_buffer(Arena *a, const Buffer *geom, Buffer *data)
{
	Expr *d = ex_new(a, EX_BUFDATA, DT_HANDLE64);
	d->buf = data;
	TType i64p = ty_ptr(DT_I64, sym("global"));
	const Op *make_shape = op_get("tirx.tvm_stack_make_shape");
	Expr *shape = ex_call(a, make_shape, i64p, geom->shape, geom->ndim);
	Expr *strides = geom->nstrides ? ex_call(a, make_shape, i64p, geom->strides, geom->nstrides)
	                               : pu_i32(a, 0);
	Expr *zero = dt_is_float(geom->dt) ? ex_float(a, geom->dt, 0) : ex_int(a, geom->dt, 0);
	Expr *off = geom->elem_offset ? geom->elem_offset
	                              : ex_int(a, geom->ndim ? geom->shape[0]->dt : DT_I32, 0);
	Expr *args[6] = {d, shape, strides, pu_i32(a, geom->ndim), zero, off};
	return ex_call(a, op_get("tirx.tvm_stack_make_array"), pu_void_ptr(), args, 6);
}

int pu_dl_bits(DType t)
{
	return t.code == DT_BOOL ? 8 : t.bits;
}

typedef struct Small {
	int n, let;
} Small;

static int small_visit(Walker *w, Expr *e)
{
	Small *s = w->data;
	s->let |= e->kind == EX_LET;
	return ++s->n <= PU_COPY_MAX_NODES && !s->let;
}

int pu_copyable(Expr *x)
{
	if (x->kind <= EX_VAR)
		return 1;
	Small s = {0, 0};
	Walker w = {.expr = small_visit, .data = &s};
	walk_expr(&w, x);
	return s.n <= PU_COPY_MAX_NODES && !s.let;
}
