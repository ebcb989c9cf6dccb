/* verify_test.c: the well-formedness checker on hand-built IR (the parser
 * rejects most of these shapes, so they cannot come from text). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "tir.h"

/* Runs tir_verify with stderr captured into msgs (caller frees). */
static int verify_capture(const Module *m, const char *after, char **msgs)
{
	fflush(stderr);
	FILE *tmp = tmpfile();
	int saved = dup(2);
	dup2(fileno(tmp), 2);
	diag_reset();
	int n = tir_verify(m, after);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	long len = ftell(tmp);
	*msgs = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
	rewind(tmp);
	if (len > 0 && fread(*msgs, 1, (size_t)len, tmp) != (size_t)len)
		(*msgs)[0] = 0;
	fclose(tmp);
	return n;
}

/* The failure count, and whether the messages contain want (NULL: none). */
static int verify_says(const Module *m, const char *after, const char *want)
{
	char *msgs;
	int n = verify_capture(m, after, &msgs);
	int ok = want ? n > 0 && strstr(msgs, want) != NULL : n == 0;
	if (!ok)
		fprintf(stderr, "verify gave %d failure(s):\n%s", n, msgs);
	free(msgs);
	return ok;
}

static Stmt **items(Arena *a, int n)
{
	return ar_alloc(a, (size_t)n * sizeof(Stmt *));
}

static Expr **exprs1(Arena *a, Expr *e)
{
	Expr **v = ar_alloc(a, sizeof *v);
	v[0] = e;
	return v;
}

static Buffer *buf1(Arena *a, const char *name, DType dt, Expr *extent)
{
	return buf_new(a, sym(name), dt, exprs1(a, extent), 1);
}

static Expr *load1(Arena *a, Buffer *b, Expr *i)
{
	Expr *e = ex_new(a, EX_LOAD, b->dt);
	e->load.buf = b;
	e->load.idx = exprs1(a, i);
	e->load.nidx = 1;
	return e;
}

static Stmt *store1(Arena *a, Buffer *b, Expr *i, Expr *v)
{
	Stmt *s = st_new(a, ST_STORE, NOLOC);
	s->store.buf = b;
	s->store.idx = exprs1(a, i);
	s->store.nidx = 1;
	s->store.value = v;
	return s;
}

static Stmt *loop(Arena *a, Var *i, Expr *extent, Stmt *body)
{
	Stmt *s = st_new(a, ST_FOR, NOLOC);
	s->loop.var = i;
	s->loop.min = ex_int(a, DT_I32, 0);
	s->loop.extent = extent;
	s->loop.body = body;
	return s;
}

static Stmt *bind(Arena *a, Var *x, Expr *v)
{
	Stmt *s = st_new(a, ST_BIND, NOLOC);
	s->bind.var = x;
	s->bind.value = v;
	return s;
}

static Stmt *launch(Arena *a, Var *x, const char *tag, int extent, Stmt *body)
{
	Obj *iv = obj_new(a, OB_ITERVAR);
	iv->iv.var = x;
	iv->iv.min = ex_int(a, DT_I32, 0);
	iv->iv.extent = ex_int(a, DT_I32, extent);
	iv->iv.itype = IV_THREADINDEX;
	iv->iv.tag = sym(tag);
	Stmt *s = st_new(a, ST_ATTR, NOLOC);
	s->attr.node = iv;
	s->attr.key = sym("thread_extent");
	s->attr.value = ex_int(a, DT_I32, extent);
	s->attr.body = body;
	return s;
}

static Obj *target(Arena *a, const char *kind, const char *host)
{
	Obj *d = obj_new(a, OB_DICT);
	d = obj_dict_set(a, d, "kind", obj_str(a, sym(kind)));
	if (host) {
		Obj *h = obj_dict_set(a, obj_new(a, OB_DICT), "kind", obj_str(a, sym(host)));
		d = obj_dict_set(a, d, "host", h);
	}
	Obj *t = obj_new(a, OB_TARGET);
	t->target = d;
	return t;
}

static Func *func(Module *m, const char *name, Param *params, int n, Stmt *body)
{
	Func *f = ar_alloc(m->arena, sizeof *f);
	f->name = sym(name);
	f->params = params;
	f->nparams = n;
	f->ret = ty_void();
	f->attrs = obj_new(m->arena, OB_DICT);
	f->body = body;
	f->loc = NOLOC;
	mod_add(m, f);
	return f;
}

/* One param: A, a buffer of 16 float32. */
static Param *param_A(Arena *a, Buffer **pa)
{
	Param *ps = ar_alloc(a, sizeof *ps);
	ps[0].buf = *pa = buf1(a, "A", DT_F32, ex_int(a, DT_I32, 16));
	return ps;
}

/* main(A: Buffer((n,), "float32"), x: float32): for i in range(n): A[i] = A[i] + x */
static Module *good_module(Buffer **pa, Var **pn, Var **px)
{
	Module *m = mod_new();
	Arena *a = m->arena;
	Var *n = var_new(a, sym("n"), ty_prim(DT_I32));
	Var *x = var_new(a, sym("x"), ty_prim(DT_F32));
	Var *i = var_new(a, sym("i"), ty_prim(DT_I32));
	Buffer *A = buf1(a, "A", DT_F32, ex_var(a, n));
	Param *ps = ar_alloc(a, 2 * sizeof *ps);
	ps[0].buf = A;
	ps[1].var = x;
	Expr *sum = ex_bin(a, EX_ADD, load1(a, A, ex_var(a, i)), ex_var(a, x));
	func(m, "main", ps, 2, loop(a, i, ex_var(a, n), store1(a, A, ex_var(a, i), sum)));
	if (pa)
		*pa = A;
	if (pn)
		*pn = n;
	if (px)
		*px = x;
	return m;
}

UNIT_TEST(verify_good)
{
	Module *m = good_module(NULL, NULL, NULL);
	CHECK(verify_says(m, NULL, NULL));
	mod_free(m);
}

UNIT_TEST(verify_undefined_var)
{
	Module *m = good_module(NULL, NULL, NULL);
	Arena *a = m->arena;
	Func *f = m->funcs[0];
	Var *k = var_new(a, sym("k"), ty_prim(DT_I32));
	Stmt **it = items(a, 2);
	it[0] = st_new(a, ST_EVAL, NOLOC);
	it[0]->eval.value = ex_bin(a, EX_ADD, ex_var(a, k), ex_var(a, k));
	it[1] = f->body;
	f->body = st_seq(a, it, 2);
	it = f->body->seq.items; /* st_seq copies */
	CHECK(verify_says(m, NULL, "in function 'main': variable 'k' used before definition"));
	/* reported once per var, not once per use */
	char *msgs;
	CHECK(verify_capture(m, NULL, &msgs) == 1);
	free(msgs);
	CHECK(verify_says(m, "SplitHostDevice",
			  "variable 'k' used before definition (IR after pass SplitHostDevice)"));
	mod_free(m);
}

UNIT_TEST(verify_scopes)
{
	/* for i: t = i; then a use of t after the loop */
	Module *m = good_module(NULL, NULL, NULL);
	Arena *a = m->arena;
	Func *f = m->funcs[0];
	Var *t = var_new(a, sym("t"), ty_prim(DT_I32));
	Stmt *lp = f->body;
	Stmt **in = items(a, 2);
	in[0] = bind(a, t, ex_var(a, lp->loop.var));
	in[1] = lp->loop.body;
	lp->loop.body = st_seq(a, in, 2);
	CHECK(verify_says(m, NULL, NULL));
	Stmt **out = items(a, 2);
	out[0] = lp;
	out[1] = st_new(a, ST_EVAL, NOLOC);
	out[1]->eval.value = ex_var(a, t);
	f->body = st_seq(a, out, 2);
	CHECK(verify_says(m, NULL, "variable 't' used out of its scope"));
	/* and a loop var used after its loop */
	out[1]->eval.value = ex_var(a, lp->loop.var);
	CHECK(verify_says(m, NULL, "variable 'i' used out of its scope"));
	mod_free(m);
}

UNIT_TEST(verify_defined_twice)
{
	Module *m = good_module(NULL, NULL, NULL);
	Arena *a = m->arena;
	Func *f = m->funcs[0];
	Var *t = var_new(a, sym("t"), ty_prim(DT_I32));
	Stmt **it = items(a, 3);
	it[0] = bind(a, t, ex_int(a, DT_I32, 1));
	it[1] = bind(a, t, ex_int(a, DT_I32, 2));
	it[2] = f->body;
	f->body = st_seq(a, it, 3);
	it = f->body->seq.items; /* st_seq copies */
	CHECK(verify_says(m, NULL, "variable 't' defined more than once"));
	/* a param rebound in the body */
	it[1] = bind(a, m->funcs[0]->params[1].var, ex_float(a, DT_F32, 1.0));
	CHECK(verify_says(m, NULL, "variable 'x' defined more than once"));
	mod_free(m);
}

UNIT_TEST(verify_buffer_scope)
{
	/* if c: B = alloc; B[0] = 1 ... then B[0] = 2 after the if */
	Module *m = good_module(NULL, NULL, NULL);
	Arena *a = m->arena;
	Func *f = m->funcs[0];
	Buffer *B = buf1(a, "B", DT_I32, ex_int(a, DT_I32, 4));
	Stmt *al = st_new(a, ST_ALLOC, NOLOC);
	al->alloc.buf = B;
	Stmt **th = items(a, 2);
	th[0] = al;
	th[1] = store1(a, B, ex_int(a, DT_I32, 0), ex_int(a, DT_I32, 1));
	Stmt *ifs = st_new(a, ST_IF, NOLOC);
	ifs->ifs.cond = ex_int(a, DT_BOOL1, 1);
	ifs->ifs.then = st_seq(a, th, 2);
	Stmt **it = items(a, 2);
	it[0] = ifs;
	it[1] = f->body;
	f->body = st_seq(a, it, 2);
	it = f->body->seq.items; /* st_seq copies */
	CHECK(verify_says(m, NULL, NULL));
	it[1] = store1(a, B, ex_int(a, DT_I32, 0), ex_int(a, DT_I32, 2));
	CHECK(verify_says(m, NULL, "buffer 'B' used out of its scope"));
	/* never declared at all; A.data of it too */
	Buffer *C = buf1(a, "C", DT_I32, ex_int(a, DT_I32, 4));
	it[1] = store1(a, C, ex_int(a, DT_I32, 0), ex_int(a, DT_I32, 2));
	CHECK(verify_says(m, NULL, "buffer 'C' used without a declaration"));
	Expr *data = ex_new(a, EX_BUFDATA, DT_HANDLE64);
	data->buf = C;
	it[1] = st_new(a, ST_EVAL, NOLOC);
	it[1]->eval.value = data;
	CHECK(verify_says(m, NULL, "buffer 'C' used without a declaration"));
	mod_free(m);
}

UNIT_TEST(verify_types)
{
	Buffer *A;
	Var *x;
	Module *m = good_module(&A, NULL, &x);
	Arena *a = m->arena;
	Func *f = m->funcs[0];
	Stmt *st = f->body->loop.body;
	Expr *good = st->store.value;
	/* store of int32 into a float32 buffer */
	st->store.value = ex_int(a, DT_I32, 1);
	CHECK(verify_says(m, NULL, "store of int32 into buffer 'A' of float32"));
	/* binary operands of different types */
	st->store.value = ex_bin(a, EX_ADD, ex_var(a, x), ex_int(a, DT_I32, 1));
	st->store.value->dt = DT_F32;
	CHECK(verify_says(m, NULL, "operand types differ: float32 vs int32"));
	/* compare result must be bool */
	Expr *cmp = ex_bin(a, EX_LT, ex_var(a, x), ex_var(a, x));
	CHECK(dt_eq(cmp->dt, DT_BOOL1));
	cmp->dt = DT_I32;
	Stmt *ev = st_new(a, ST_EVAL, NOLOC);
	ev->eval.value = cmp;
	Stmt **it = items(a, 2);
	it[0] = ev;
	it[1] = f->body;
	st->store.value = good;
	f->body = st_seq(a, it, 2);
	it = f->body->seq.items; /* st_seq copies */
	CHECK(verify_says(m, NULL, "comparison result must be bool"));
	cmp->dt = DT_BOOL1;
	CHECK(verify_says(m, NULL, NULL));
	/* if condition must be bool */
	Stmt *ifs = st_new(a, ST_IF, NOLOC);
	ifs->ifs.cond = ex_var(a, x);
	ifs->ifs.then = ev;
	it[0] = ifs;
	CHECK(verify_says(m, NULL, "if condition must be bool, not float32"));
	/* a load with two indices of a 1-d buffer; a float index */
	Expr *ld = load1(a, A, ex_int(a, DT_I32, 0));
	Expr **two = ar_alloc(a, 2 * sizeof *two);
	two[0] = two[1] = ex_int(a, DT_I32, 0);
	ld->load.idx = two;
	ld->load.nidx = 2;
	ev->eval.value = ld;
	it[0] = ev;
	CHECK(verify_says(m, NULL, "buffer 'A' has 1 dimension but is accessed with 2 indices"));
	ev->eval.value = load1(a, A, ex_var(a, x));
	CHECK(verify_says(m, NULL, "index 0 of buffer 'A' has non-integer type float32"));
	/* a vector store needs a vector value */
	Expr *ramp = ex_new(a, EX_RAMP, dt_make(DT_INT, 32, 4));
	ramp->ramp.base = ex_int(a, DT_I32, 0);
	ramp->ramp.stride = ex_int(a, DT_I32, 1);
	it[0] = store1(a, A, ramp, ex_float(a, DT_F32, 0.0));
	CHECK(verify_says(m, NULL, "store of float32 into buffer 'A' of float32x4"));
	Expr *bc = ex_new(a, EX_BROADCAST, dt_make(DT_FLOAT, 32, 4));
	bc->bcast.value = ex_float(a, DT_F32, 0.0);
	it[0]->store.value = bc;
	CHECK(verify_says(m, NULL, NULL));
	mod_free(m);
}

UNIT_TEST(verify_calls)
{
	Module *m = good_module(NULL, NULL, NULL);
	Arena *a = m->arena;
	Func *f = m->funcs[0];
	func(m, "helper", NULL, 0, st_new(a, ST_EVAL, NOLOC));
	m->funcs[1]->body->eval.value = ex_int(a, DT_I32, 0);
	Expr *call = ex_call(a, NULL, ty_void(), exprs1(a, ex_int(a, DT_I32, 1)), 1);
	call->call.fn = sym("helper");
	Stmt *ev = st_new(a, ST_EVAL, NOLOC);
	ev->eval.value = call;
	Stmt **it = items(a, 2);
	it[0] = ev;
	it[1] = f->body;
	f->body = st_seq(a, it, 2);
	it = f->body->seq.items; /* st_seq copies */
	CHECK(verify_says(m, NULL, "function 'helper' takes 0 arguments, but is called with 1"));
	call->call.nargs = 0;
	CHECK(verify_says(m, NULL, NULL));
	call->call.fn = sym("nothere");
	CHECK(verify_says(m, NULL, "call of unknown function 'nothere'"));
	/* op arity */
	ev->eval.value = ex_call(a, op_get("tirx.exp"), ty_prim(DT_F32), NULL, 0);
	CHECK(verify_says(m, NULL, "op 'exp' takes 1 argument, but is called with 0"));
	/* a kernel launch that lost its tags, or has no name */
	Expr *name = ex_str(a, sym("main_kernel"));
	ev->eval.value = ex_call(a, op_get("tirx.call_ffi_kernel"), ty_prim(DT_I32), exprs1(a, name), 1);
	CHECK(verify_says(m, NULL, "call_ffi_kernel needs a kernel name and launch_params"));
	Obj *tags = obj_new(a, OB_LIST);
	ev->eval.value = ex_call_ffi_kernel(a, ty_prim(DT_I32), exprs1(a, name), 1, tags);
	CHECK(verify_says(m, NULL, NULL));
	ev->eval.value = ex_call_ffi_kernel(a, ty_prim(DT_I32), exprs1(a, ex_int(a, DT_I32, 1)), 1, tags);
	CHECK(verify_says(m, NULL, "call_ffi_kernel needs a kernel name and launch_params"));
	mod_free(m);
}

UNIT_TEST(verify_threads)
{
	/* main(A): target llvm; launch threadIdx.x: A[tx] = 0 */
	Module *m = mod_new();
	Arena *a = m->arena;
	Buffer *A;
	Param *ps = param_A(a, &A);
	Var *tx = var_new(a, sym("tx"), ty_prim(DT_I32));
	Stmt *st = store1(a, A, ex_var(a, tx), ex_float(a, DT_F32, 0.0));
	Stmt *l1 = launch(a, tx, "threadIdx.x", 16, st);
	Func *f = func(m, "main", ps, 1, l1);
	CHECK(verify_says(m, NULL, NULL));
	f->attrs = obj_dict_set(a, f->attrs, "target", target(a, "llvm", NULL));
	CHECK(verify_says(m, NULL, "host function binds thread 'threadIdx.x' outside a device region"));
	/* inside a `target` attr region it is a device region */
	Stmt *reg = st_new(a, ST_ATTR, NOLOC);
	reg->attr.node = target(a, "cuda", NULL);
	reg->attr.key = sym("target");
	reg->attr.value = ex_int(a, DT_I32, 0);
	reg->attr.body = l1;
	f->body = reg;
	CHECK(verify_says(m, NULL, NULL));
	/* cuda with host llvm: fine before the split ... */
	f->body = l1;
	f->attrs = obj_dict_set(a, f->attrs, "target", target(a, "cuda", "llvm"));
	CHECK(verify_says(m, NULL, NULL));
	/* ... but not once the module has kernels */
	Func *k = func(m, "main_kernel", NULL, 0, st_new(a, ST_EVAL, NOLOC));
	k->body->eval.value = ex_int(a, DT_I32, 0);
	k->attrs = obj_dict_set(a, k->attrs, "target", target(a, "cuda", NULL));
	k->attrs = obj_dict_set(a, k->attrs, "tirx.is_global_func", obj_bool(a, 1));
	CHECK(verify_says(m, "SplitHostDevice", "host function binds thread 'threadIdx.x' "
			  "outside a device region (IR after pass SplitHostDevice)"));
	mod_free(m);
}

UNIT_TEST(verify_thread_vars)
{
	/* two sibling launches of one var are fine; two vars for one tag are not */
	Module *m = mod_new();
	Arena *a = m->arena;
	Buffer *A;
	Param *ps = param_A(a, &A);
	Var *tx = var_new(a, sym("tx"), ty_prim(DT_I32));
	Stmt **it = items(a, 2);
	it[0] = launch(a, tx, "threadIdx.x", 16, store1(a, A, ex_var(a, tx), ex_float(a, DT_F32, 0.0)));
	it[1] = launch(a, tx, "threadIdx.x", 16, store1(a, A, ex_var(a, tx), ex_float(a, DT_F32, 1.0)));
	func(m, "main", ps, 1, st_seq(a, it, 2));
	it = m->funcs[0]->body->seq.items;
	CHECK(verify_says(m, NULL, NULL));
	Var *ty = var_new(a, sym("ty"), ty_prim(DT_I32));
	it[1] = launch(a, ty, "threadIdx.x", 16, store1(a, A, ex_var(a, ty), ex_float(a, DT_F32, 1.0)));
	CHECK(verify_says(m, NULL, "thread 'threadIdx.x' is bound to two variables, 'tx' and 'ty'"));
	/* an attr that is not a launch */
	it[1]->attr.node = obj_int(a, 0);
	CHECK(verify_says(m, NULL, "'thread_extent' attribute needs an iteration variable node"));
	mod_free(m);
}

UNIT_TEST(verify_device_free_var)
{
	/* a kernel using n that is not one of its params */
	Module *m = mod_new();
	Arena *a = m->arena;
	Var *n = var_new(a, sym("n"), ty_prim(DT_I32));
	Var *p = var_new(a, sym("A_data"), ty_ptr(DT_F32, sym("global")));
	Buffer *A = buf1(a, "A", DT_F32, ex_int(a, DT_I32, 16));
	Stmt *decl = st_new(a, ST_DECL, NOLOC);
	decl->decl.buf = A;
	decl->decl.data = ex_var(a, p);
	Stmt **it = items(a, 2);
	it[0] = decl;
	it[1] = store1(a, A, ex_int(a, DT_I32, 0), ex_cast(a, DT_F32, ex_var(a, n)));
	Param *ps = ar_alloc(a, sizeof *ps);
	ps[0].var = p;
	Func *k = func(m, "main_kernel", ps, 1, st_seq(a, it, 2));
	CHECK(verify_says(m, NULL, "variable 'n' used before definition"));
	k->attrs = obj_dict_set(a, k->attrs, "target", target(a, "cuda", NULL));
	k->attrs = obj_dict_set(a, k->attrs, "calling_conv", obj_int(a, 2));
	CHECK(verify_says(m, NULL, "in function 'main_kernel': device function uses variable 'n' "
			  "that it neither defines nor takes as a parameter"));
	/* with n as a param it is well formed */
	Param *ps2 = ar_alloc(a, 2 * sizeof *ps2);
	ps2[0].var = p;
	ps2[1].var = n;
	k->params = ps2;
	k->nparams = 2;
	CHECK(verify_says(m, NULL, NULL));
	/* decl over a non-pointer */
	decl->decl.data = ex_var(a, n);
	CHECK(verify_says(m, NULL, "data of buffer 'A' is not a pointer"));
	mod_free(m);
}

UNIT_TEST(verify_shape_vars)
{
	/* A: Buffer((n + 1,)) defines n; a body buffer of shape (m,) does not */
	Module *m = mod_new();
	Arena *a = m->arena;
	Var *n = var_new(a, sym("n"), ty_prim(DT_I32));
	Var *k = var_new(a, sym("m"), ty_prim(DT_I32));
	Buffer *A = buf1(a, "A", DT_F32, ex_bin(a, EX_ADD, ex_var(a, n), ex_int(a, DT_I32, 1)));
	Param *ps = ar_alloc(a, sizeof *ps);
	ps[0].buf = A;
	Stmt *st = store1(a, A, ex_var(a, n), ex_float(a, DT_F32, 0.0));
	func(m, "main", ps, 1, st);
	CHECK(verify_says(m, NULL, NULL));
	Buffer *B = buf1(a, "B", DT_F32, ex_var(a, k));
	Stmt *al = st_new(a, ST_ALLOC, NOLOC);
	al->alloc.buf = B;
	Stmt **it = items(a, 2);
	it[0] = al;
	it[1] = st;
	m->funcs[0]->body = st_seq(a, it, 2);
	CHECK(verify_says(m, NULL, "variable 'm' used before definition"));
	mod_free(m);
}

UNIT_TEST(verify_state_per_function)
{
	/* f(A, x) uses its params; g uses the same var and buffer objects
	 * without defining them: the state of f must not leak into g, also
	 * after a function large enough to grow the tables. */
	Module *m = mod_new();
	Arena *a = m->arena;
	Buffer *A;
	Param *ps = param_A(a, &A);
	Var *x = var_new(a, sym("x"), ty_prim(DT_F32));
	Param *fps = ar_alloc(a, 2 * sizeof *fps);
	fps[0] = ps[0];
	fps[1].var = x;
	enum { NBIG = 3000 };
	Stmt **big = items(a, NBIG + 1);
	for (int i = 0; i < NBIG; i++)
		big[i] = bind(a, var_new(a, sym("t"), ty_prim(DT_I32)), ex_int(a, DT_I32, i));
	big[NBIG] = store1(a, A, ex_int(a, DT_I32, 0), ex_var(a, x));
	func(m, "f", fps, 2, st_seq(a, big, NBIG + 1));
	CHECK(verify_says(m, NULL, NULL));
	func(m, "g", NULL, 0, store1(a, A, ex_int(a, DT_I32, 0), ex_var(a, x)));
	CHECK(verify_says(m, NULL, "in function 'g': variable 'x' used before definition"));
	CHECK(verify_says(m, NULL, "in function 'g': buffer 'A' used without a declaration"));
	char *msgs;
	CHECK(verify_capture(m, NULL, &msgs) == 2);
	free(msgs);
	/* g with its own params is fine after f, and f after g */
	Param *gps = ar_alloc(a, 2 * sizeof *gps);
	gps[0] = fps[0];
	gps[1] = fps[1];
	m->funcs[1]->params = gps;
	m->funcs[1]->nparams = 2;
	CHECK(verify_says(m, NULL, NULL));
	Func *f = m->funcs[0];
	m->funcs[0] = m->funcs[1];
	m->funcs[1] = f;
	CHECK(verify_says(m, NULL, NULL));
	mod_free(m);
}

UNIT_TEST(verify_shape_patterns)
{
	/* shape (T.max(n, 1) * 2, select(c, k, 4)): n, c and k are defined by
	 * the shape; a load in a shape is a use of the buffer it reads */
	Module *m = mod_new();
	Arena *a = m->arena;
	Var *n = var_new(a, sym("n"), ty_prim(DT_I32));
	Var *k = var_new(a, sym("k"), ty_prim(DT_I32));
	Var *c = var_new(a, sym("c"), ty_prim(DT_BOOL1));
	Expr *d0 = ex_bin(a, EX_MUL, ex_bin(a, EX_MAX, ex_var(a, n), ex_int(a, DT_I32, 1)),
			  ex_int(a, DT_I32, 2));
	Expr *d1 = ex_new(a, EX_SELECT, DT_I32);
	d1->sel.c = ex_var(a, c);
	d1->sel.t = ex_var(a, k);
	d1->sel.f = ex_int(a, DT_I32, 4);
	Expr **shape = ar_alloc(a, 2 * sizeof *shape);
	shape[0] = d0;
	shape[1] = d1;
	Buffer *A = buf_new(a, sym("A"), DT_F32, shape, 2);
	Param *ps = ar_alloc(a, sizeof *ps);
	ps[0].buf = A;
	Stmt *ev = st_new(a, ST_EVAL, NOLOC);
	ev->eval.value = ex_bin(a, EX_ADD, ex_var(a, n), ex_var(a, k));
	func(m, "main", ps, 1, ev);
	CHECK(verify_says(m, NULL, NULL));
	Buffer *B = buf1(a, "B", DT_I32, ex_int(a, DT_I32, 4));
	shape[1] = load1(a, B, ex_var(a, k));
	CHECK(verify_says(m, NULL, "buffer 'B' used without a declaration"));
	mod_free(m);
}
