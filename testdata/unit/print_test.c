/* Unit tests for the printer: IR built by hand, exact printed text. */
#include <stdarg.h>
#include <string.h>
#include "unit.h"
#include "tir.h"

static Module *M;
static Arena *A;

static void begin(void)
{
	M = mod_new();
	A = M->arena;
}

static void end(void)
{
	mod_free(M);
	M = NULL;
	A = NULL;
}

static Expr *i32(int64_t v) { return ex_int(A, DT_I32, v); }
static Expr *V(Var *v) { return ex_var(A, v); }
static Expr *bin(int k, Expr *x, Expr *y) { return ex_bin(A, k, x, y); }
static Var *var(const char *n, DType t) { return var_new(A, sym(n), ty_prim(t)); }

static Buffer *buf1(const char *n, DType t, Expr *len)
{
	Expr **sh = ar_alloc(A, sizeof *sh);
	sh[0] = len;
	return buf_new(A, sym(n), t, sh, 1);
}

static Expr **list(int n, ...)
{
	va_list ap;
	Expr **v = ar_alloc(A, (size_t)(n ? n : 1) * sizeof *v);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		v[i] = va_arg(ap, Expr *);
	va_end(ap);
	return v;
}

static Expr *load(Buffer *b, Expr *idx)
{
	Expr *e = ex_new(A, EX_LOAD, b->dt);
	e->load.buf = b;
	e->load.idx = list(1, idx);
	e->load.nidx = 1;
	if (idx->dt.lanes > 1)
		e->dt = dt_with_lanes(b->dt, idx->dt.lanes);
	return e;
}

static Stmt *store(Buffer *b, Expr *idx, Expr *v)
{
	Stmt *s = st_new(A, ST_STORE, NOLOC);
	s->store.buf = b;
	s->store.idx = list(1, idx);
	s->store.nidx = 1;
	s->store.value = v;
	return s;
}

static Stmt *seq(int n, ...)
{
	va_list ap;
	Stmt **v = ar_alloc(A, (size_t)n * sizeof *v);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		v[i] = va_arg(ap, Stmt *);
	va_end(ap);
	return st_seq(A, v, n);
}

static Stmt *eval(Expr *e)
{
	Stmt *s = st_new(A, ST_EVAL, NOLOC);
	s->eval.value = e;
	return s;
}

static Stmt *loop(Var *v, Expr *mn, Expr *ext, int kind, Stmt *body)
{
	Stmt *s = st_new(A, ST_FOR, NOLOC);
	s->loop.var = v;
	s->loop.min = mn;
	s->loop.extent = ext;
	s->loop.kind = (uint8_t)kind;
	s->loop.body = body;
	return s;
}

static Stmt *launch(Var *v, const char *tag, Expr *ext, Stmt *body)
{
	Obj *iv = obj_new(A, OB_ITERVAR);
	iv->iv.var = v;
	iv->iv.min = i32(0);
	iv->iv.extent = ext;
	iv->iv.itype = IV_THREADINDEX;
	iv->iv.tag = sym(tag);
	Stmt *s = st_new(A, ST_ATTR, NOLOC);
	s->attr.node = iv;
	s->attr.key = sym("thread_extent");
	s->attr.value = ext;
	s->attr.body = body;
	return s;
}

static Stmt *attr0(const char *key, Expr *v, Stmt *body)
{
	Stmt *s = st_new(A, ST_ATTR, NOLOC);
	s->attr.node = obj_int(A, 0);
	s->attr.key = sym(key);
	s->attr.value = v;
	s->attr.body = body;
	return s;
}

/* A function; params alternate kind: a Buffer* when isbuf[i], else a Var*. */
static Func *func(const char *name, int stir, int nparams, const int *isbuf, void **params, Stmt *body)
{
	Func *f = ar_alloc(A, sizeof *f);
	f->name = sym(name);
	f->nparams = nparams;
	f->params = ar_alloc(A, (size_t)(nparams ? nparams : 1) * sizeof *f->params);
	for (int i = 0; i < nparams; i++) {
		if (isbuf[i])
			f->params[i].buf = params[i];
		else
			f->params[i].var = params[i];
	}
	f->ret = ty_void();
	f->attrs = obj_new(A, OB_DICT);
	f->attrs = obj_dict_set(A, f->attrs, "global_symbol", obj_str(A, sym(name)));
	if (stir)
		f->attrs = obj_dict_set(A, f->attrs, "s_tir", obj_bool(A, 1));
	f->body = body;
	mod_add(M, f);
	return f;
}

static Buf out;

static const char *pe(const Expr *e)
{
	out.n = 0;
	if (out.s)
		out.s[0] = 0;
	tir_print_expr(&out, e);
	return out.s ? out.s : "";
}

static const char *pm(void)
{
	out.n = 0;
	if (out.s)
		out.s[0] = 0;
	tir_print(&out, M, NULL);
	return out.s ? out.s : "";
}

/* The printed function body: what follows the `def` line of a bare
 * prim_func, without the header comments. */
static int body_is(const char *want)
{
	const char *s = pm();
	const char *d = strstr(s, "\ndef ");
	if (!d)
		return 0;
	d = strchr(d + 1, '\n');
	int ok = d && strcmp(d + 1, want) == 0;
	if (!ok)
		fprintf(stderr, "--- got:\n%s--- want body:\n%s", s, want);
	return ok;
}

#define EXPECT_EXPR(e, want)                                                 \
	do {                                                                 \
		const char *got_ = pe(e);                                    \
		if (strcmp(got_, want) != 0)                                 \
			fprintf(stderr, "got  %s\nwant %s\n", got_, want);   \
		CHECK(strcmp(got_, want) == 0);                              \
	} while (0)

UNIT_TEST(print_literals)
{
	begin();
	EXPECT_EXPR(i32(5), "5");
	EXPECT_EXPR(i32(-1), "-1");
	EXPECT_EXPR(ex_int(A, DT_I64, 3), "T.int64(3)");
	EXPECT_EXPR(ex_int(A, DT_BOOL1, 1), "T.bool(True)");
	EXPECT_EXPR(ex_int(A, DT_U8, 2), "T.uint8(2)");
	EXPECT_EXPR(ex_int(A, dt_make(DT_UINT, 64, 1), -1), "T.IntImm(\"uint64\", 18446744073709551615)");
	EXPECT_EXPR(ex_int(A, dt_make(DT_UINT, 32, 1), 4294967295LL), "T.uint32(4294967295)");
	EXPECT_EXPR(ex_float(A, DT_F32, 1.0), "T.float32(1.0)");
	EXPECT_EXPR(ex_float(A, DT_F32, -3.0), "T.float32(-3.0)");
	EXPECT_EXPR(ex_float(A, dt_make(DT_FLOAT, 16, 1), 0.0), "T.float16(0.0)");
	EXPECT_EXPR(ex_float(A, dt_make(DT_FLOAT, 64, 1), 0.1), "T.float64(0.10000000000000001)");
	EXPECT_EXPR(ex_float(A, DT_F32, 1e-05), "T.float32(1.0000000000000001e-05)");
	EXPECT_EXPR(ex_float(A, DT_F32, 1.0 / 0.0), "T.float32(\"inf\")");
	EXPECT_EXPR(ex_float(A, DT_F32, -1.0 / 0.0), "T.float32(\"-inf\")");
	EXPECT_EXPR(ex_float(A, DT_F32, 0.0 / 0.0), "T.float32(\"nan\")");
	EXPECT_EXPR(ex_float(A, dt_make(DT_BFLOAT, 16, 1), 2.5), "T.bfloat16(2.5)");
	EXPECT_EXPR(ex_float(A, dt_make(DT_F8_E4M3FN, 8, 1), 0.0), "T.float8_e4m3fn(0.0)");
	EXPECT_EXPR(ex_str(A, sym("a\"b\\c\n\t\x01\xff")), "\"a\\\"b\\\\c\\n\\t\\x01\\xFF\"");
	EXPECT_EXPR(ex_str(A, symn("x\0y", 3)), "\"x\\x00y\"");
	end();
}

UNIT_TEST(print_operators)
{
	begin();
	Var *a = var("a", DT_I32), *b = var("b", DT_I32), *c = var("c", DT_I32);
	Var *x = var("x", DT_F32), *y = var("y", DT_F32);
	Var *p = var("p", DT_BOOL1), *q = var("q", DT_BOOL1);
	EXPECT_EXPR(bin(EX_ADD, V(a), i32(1)), "a + 1");
	/* constant operands would fold on re-parse: call form */
	EXPECT_EXPR(bin(EX_ADD, i32(3), i32(4)), "T.Add(3, 4)");
	EXPECT_EXPR(bin(EX_MUL, V(a), i32(1)), "T.Mul(a, 1)");
	EXPECT_EXPR(bin(EX_ADD, V(a), i32(0)), "T.Add(a, 0)");
	EXPECT_EXPR(bin(EX_DIV, V(a), V(b)), "T.Div(a, b)");
	EXPECT_EXPR(bin(EX_DIV, V(x), V(y)), "x / y");
	EXPECT_EXPR(bin(EX_MOD, V(a), V(b)), "T.truncmod(a, b)");
	EXPECT_EXPR(bin(EX_FLOORDIV, V(a), V(b)), "a // b");
	EXPECT_EXPR(bin(EX_FLOORMOD, V(a), V(b)), "a % b");
	EXPECT_EXPR(bin(EX_MIN, V(a), V(b)), "T.min(a, b)");
	EXPECT_EXPR(bin(EX_MAX, V(a), i32(0)), "T.max(a, 0)");
	EXPECT_EXPR(bin(EX_MUL, bin(EX_ADD, V(a), V(b)), V(c)), "(a + b) * c");
	EXPECT_EXPR(bin(EX_SUB, V(a), bin(EX_SUB, V(b), V(c))), "a - (b - c)");
	EXPECT_EXPR(bin(EX_SUB, bin(EX_SUB, V(a), V(b)), V(c)), "a - b - c");
	EXPECT_EXPR(bin(EX_ADD, V(a), bin(EX_MUL, V(b), V(c))), "a + b * c");
	EXPECT_EXPR(bin(EX_MUL, V(a), i32(-1)), "a * -1");
	EXPECT_EXPR(bin(EX_LT, V(a), V(b)), "a < b");
	/* comparisons never chain */
	EXPECT_EXPR(bin(EX_EQ, bin(EX_LT, V(a), V(b)), V(p)), "(a < b) == p");
	EXPECT_EXPR(bin(EX_AND, bin(EX_OR, V(p), V(q)), V(p)), "(p or q) and p");
	EXPECT_EXPR(bin(EX_OR, V(p), bin(EX_AND, V(q), V(p))), "p or q and p");
	Expr *n = ex_new(A, EX_NOT, DT_BOOL1);
	n->bin.a = bin(EX_EQ, V(a), V(b));
	EXPECT_EXPR(n, "not a == b");
	Expr *n2 = ex_new(A, EX_NOT, DT_BOOL1);
	n2->bin.a = bin(EX_AND, V(p), V(q));
	EXPECT_EXPR(n2, "not (p and q)");
	EXPECT_EXPR(bin(EX_EQ, n2, V(p)), "(not (p and q)) == p");
	Expr *n3 = ex_new(A, EX_NOT, DT_BOOL1);
	n3->bin.a = ex_int(A, DT_BOOL1, 1);
	EXPECT_EXPR(n3, "T.Not(T.bool(True))");
	/* mismatched operand types re-parse differently: call form */
	EXPECT_EXPR(bin(EX_ADD, V(a), ex_int(A, DT_I64, 1)), "T.Add(a, T.int64(1))");
	EXPECT_EXPR(ex_cast(A, DT_F32, V(a)), "T.Cast(\"float32\", a)");
	end();
}

UNIT_TEST(print_vector_exprs)
{
	begin();
	Var *i = var("i", DT_I32), *s = var("s", DT_I32);
	Expr *r = ex_new(A, EX_RAMP, dt_make(DT_INT, 32, 4));
	r->ramp.base = V(i);
	r->ramp.stride = i32(1);
	EXPECT_EXPR(r, "T.Ramp(i, 1, 4)");
	Expr *bc = ex_new(A, EX_BROADCAST, dt_make(DT_FLOAT, 32, 4));
	bc->bcast.value = ex_float(A, DT_F32, 0.0);
	EXPECT_EXPR(bc, "T.Broadcast(T.float32(0.0), 4)");
	Buffer *B = buf1("B", DT_F32, i32(64));
	EXPECT_EXPR(load(B, r), "B[T.Ramp(i, 1, 4)]");
	Expr *r2 = ex_new(A, EX_RAMP, dt_make(DT_INT, 32, 4));
	r2->ramp.base = V(i);
	r2->ramp.stride = i32(2);
	EXPECT_EXPR(load(B, r2), "B[T.Ramp(i, 2, 4)]");
	Expr *r3 = ex_new(A, EX_RAMP, dt_make(DT_INT, 32, 4));
	r3->ramp.base = i32(8);
	r3->ramp.stride = i32(1);
	EXPECT_EXPR(load(B, r3), "B[T.Ramp(8, 1, 4)]");
	Expr *r4 = ex_new(A, EX_RAMP, dt_make(DT_INT, 32, 4));
	r4->ramp.base = V(i);
	r4->ramp.stride = V(s);
	EXPECT_EXPR(load(B, r4), "B[T.Ramp(i, s, 4)]");
	Expr *sel = ex_new(A, EX_SELECT, DT_I32);
	sel->sel.c = ex_int(A, DT_BOOL1, 1);
	sel->sel.t = i32(0);
	sel->sel.f = i32(2);
	EXPECT_EXPR(sel, "T.Select(T.bool(True), 0, 2)");
	Var *x = var("x", DT_I32);
	Expr *let = ex_new(A, EX_LET, DT_I32);
	let->let.var = x;
	let->let.value = i32(1);
	let->let.body = bin(EX_ADD, V(x), i32(1));
	EXPECT_EXPR(let, "T.Let(x + 1, where={x: 1})");
	Expr *sh = ex_new(A, EX_SHUFFLE, dt_make(DT_INT, 32, 2));
	sh->shuf.vecs = list(2, V(i), V(s));
	sh->shuf.nvecs = 2;
	sh->shuf.idx = list(2, i32(1), i32(0));
	sh->shuf.nidx = 2;
	EXPECT_EXPR(sh, "T.Shuffle([i, s], [1, 0])");
	end();
}

UNIT_TEST(print_calls)
{
	begin();
	Var *x = var("x", DT_F32);
	Expr *e = ex_call(A, op_get("tirx.exp"), ty_prim(DT_F32), list(1, V(x)), 1);
	EXPECT_EXPR(e, "T.exp(x)");
	e = ex_call(A, op_get("tirx.call_extern"), ty_prim(DT_F32), list(2, ex_str(A, sym("expf")), V(x)), 2);
	EXPECT_EXPR(e, "T.call_extern(\"float32\", \"expf\", x)");
	e = ex_call(A, op_get("tirx.call_extern"), ty_void(), list(1, ex_str(A, sym("f"))), 1);
	EXPECT_EXPR(e, "T.call_extern(\"void\", \"f\")");
	Var *h = var_new(A, sym("args"), ty_ptr(DT_VOID, sym("global")));
	e = ex_call(A, op_get("tirx.tvm_struct_get"), ty_prim(DT_I32), list(3, V(h), i32(0), i32(13)), 3);
	EXPECT_EXPR(e, "T.tvm_struct_get(args, 0, 13, \"int32\")");
	e = ex_call(A, op_get("tirx.tvm_struct_get"), ty_ptr(DT_I64, sym("global")),
		    list(3, V(h), i32(0), i32(2)), 3);
	EXPECT_EXPR(e, "T.tvm_struct_get(args, 0, 2, T.handle(\"int64\", \"global\").ty)");
	e = ex_call(A, op_get("tirx.reinterpret"), ty_ptr(DT_VOID, sym("global")), list(1, ex_str(A, sym("s"))), 1);
	EXPECT_EXPR(e, "T.reinterpret(T.handle().ty, \"s\")");
	e = ex_call(A, op_get("tirx.tvm_call_packed"), ty_prim(DT_I32), list(2, ex_str(A, sym("k")), i32(16)), 2);
	EXPECT_EXPR(e, "T.call_packed(\"k\", 16)");
	e = ex_call(A, op_get("tirx.cuda.func_call"), ty_void(),
		    list(3, ex_str(A, sym("f")), i32(1), ex_str(A, sym("src"))), 3);
	EXPECT_EXPR(e, "T.cuda.func_call(\"f\", 1, source_code=\"src\")");
	e = ex_call(A, op_get("tirx.cuda.func_call"), ty_prim(DT_F32),
		    list(2, ex_str(A, sym("f")), ex_str(A, sym(""))), 2);
	EXPECT_EXPR(e, "T.cuda.func_call(\"f\", source_code=\"\", return_type=\"float32\")");
	Buffer *B = buf1("B", DT_F32, i32(4));
	Expr *bd = ex_new(A, EX_BUFDATA, DT_HANDLE64);
	bd->buf = B;
	EXPECT_EXPR(bd, "B.data");
	Expr *mc = ex_new(A, EX_CALL, DT_I32);
	mc->call.fn = sym("kernel");
	mc->call.args = list(1, bd);
	mc->call.nargs = 1;
	mc->call.rty = ty_prim(DT_I32);
	EXPECT_EXPR(mc, "Module.kernel(B.data)");
	end();
}

UNIT_TEST(print_bare_func_header)
{
	begin();
	M->is_module = 0;
	Buffer *B = buf1("A", DT_F32, i32(16));
	Var *n = var("n", DT_I32);
	Var *p = var_new(A, sym("p"), ty_ptr(DT_F32, sym("global")));
	Var *s = var_new(A, sym("s"), ty_ptr(DT_VOID, sym("shared")));
	Var *h = var_new(A, sym("h"), ty_ptr(DT_VOID, sym("global")));
	int isbuf[] = {1, 0, 0, 0, 0};
	void *ps[] = {B, n, p, s, h};
	Func *f = func("main", 1, 5, isbuf, ps, store(B, V(n), ex_float(A, DT_F32, 1.0)));
	f->ret = ty_prim(DT_I32);
	f->attrs = obj_dict_del(A, f->attrs, "global_symbol");
	f->attrs = obj_dict_set(A, f->attrs, "tirx.noalias", obj_bool(A, 1));
	f->attrs = obj_dict_set(A, f->attrs, "calling_conv", obj_int(A, 2));
	const char *want =
		"# from tvm.script import tirx as T\n"
		"# from tvm.tirx.layout import Axis\n"
		"\n"
		"@T.prim_func(private=True, s_tir=True)\n"
		"def main(A: T.Buffer((16,), \"float32\"), n: T.int32, p: T.handle(\"float32\", \"global\"), "
		"s: T.handle(storage_scope=\"shared\"), h: T.handle) -> T.int32:\n"
		"    T.func_attr({\"calling_conv\": 2, \"tirx.noalias\": True})\n"
		"    A[n] = T.float32(1.0)\n";
	const char *got = pm();
	if (strcmp(got, want))
		fprintf(stderr, "got:\n%s", got);
	CHECK(strcmp(got, want) == 0);
	end();
}

UNIT_TEST(print_module_order_and_calls)
{
	begin();
	M->attrs = obj_dict_set(A, NULL, "system_lib_prefix", obj_str(A, sym("x")));
	Var *n1 = var("n", DT_I32);
	int isbuf[] = {0};
	void *ps1[] = {n1};
	Expr *mc = ex_new(A, EX_CALL, DT_I32);
	mc->call.fn = sym("zeta");
	mc->call.args = list(1, V(n1));
	mc->call.nargs = 1;
	mc->call.rty = ty_prim(DT_I32);
	func("main", 0, 1, isbuf, ps1, eval(mc));
	Var *n2 = var("n", DT_I32);
	void *ps2[] = {n2};
	Func *z = func("zeta", 1, 1, isbuf, ps2, eval(V(n2)));
	z->attrs = obj_dict_set(A, z->attrs, "global_symbol", obj_str(A, sym("other")));
	Var *n3 = var("n", DT_I32);
	void *ps3[] = {n3};
	func("alpha", 1, 1, isbuf, ps3, NULL);
	const char *want =
		"# from tvm.script import ir as I\n"
		"# from tvm.script import tirx as T\n"
		"# from tvm.tirx.layout import Axis\n"
		"\n"
		"@I.ir_module\n"
		"class Module:\n"
		"    I.module_attrs({\"system_lib_prefix\": \"x\"})\n"
		"    @T.prim_func(s_tir=True)\n"
		"    def alpha(n: T.int32):\n"
		"        pass\n"
		"\n"
		"    @T.prim_func(s_tir=True)\n"
		"    def zeta(n: T.int32):\n"
		"        T.func_attr({\"global_symbol\": \"other\"})\n"
		"        T.evaluate(n)\n"
		"\n"
		"    @T.prim_func\n"
		"    def main(n: T.int32):\n"
		"        Module.zeta(n)\n";
	const char *got = pm();
	if (strcmp(got, want))
		fprintf(stderr, "got:\n%s", got);
	CHECK(strcmp(got, want) == 0);
	end();
}

UNIT_TEST(print_names_unique_and_scoped)
{
	begin();
	M->is_module = 0;
	Buffer *B = buf1("A", DT_I32, i32(16));
	Var *i1 = var("i", DT_I32), *i2 = var("i", DT_I32), *i3 = var("i", DT_I32);
	Var *t = var("T", DT_I32), *e = var("", DT_I32), *d = var("threadIdx.x", DT_I32);
	Var *k = var("in", DT_I32), *a2 = var("A", DT_I32);
	Stmt *b1 = st_new(A, ST_BIND, NOLOC);
	b1->bind.var = t;
	b1->bind.value = i32(1);
	Stmt *b2 = st_new(A, ST_BIND, NOLOC);
	b2->bind.var = e;
	b2->bind.value = V(t);
	Stmt *b3 = st_new(A, ST_BIND, NOLOC);
	b3->bind.var = k;
	b3->bind.value = V(e);
	Stmt *b4 = st_new(A, ST_BIND, NOLOC);
	b4->bind.var = a2;
	b4->bind.value = V(k);
	/* the nested loop shadows nothing: its var clashes with the outer i */
	Stmt *inner = loop(i2, i32(0), i32(4), FOR_SERIAL, store(B, bin(EX_ADD, V(i1), V(i2)), V(d)));
	Stmt *l1 = loop(i1, i32(0), i32(4), FOR_PARALLEL, inner);
	Stmt *l2 = loop(i3, i32(0), i32(8), FOR_SERIAL, store(B, V(i3), V(a2)));
	int isbuf[] = {1};
	void *ps[] = {B};
	func("main", 1, 1, isbuf, ps, seq(6, b1, b2, b3, b4, l1, l2));
	/* the free var is declared at function level, before its first use */
	CHECK(body_is("    T_1: T.let[T.int32] = 1\n"
		      "    v: T.let[T.int32] = T_1\n"
		      "    in_1: T.let[T.int32] = v\n"
		      "    A_1: T.let[T.int32] = in_1\n"
		      "    threadIdx_x = T.int32()\n"
		      "    for i in T.parallel(4):\n"
		      "        for i_1 in range(4):\n"
		      "            A[i + i_1] = threadIdx_x\n"
		      "    for i in range(8):\n"
		      "        A[i] = A_1\n"));
	end();
}

UNIT_TEST(print_loops)
{
	begin();
	M->is_module = 0;
	Buffer *B = buf1("A", DT_I32, i32(64));
	Var *i = var("i", DT_I32), *j = var("j", DT_I32), *k = var("k", DT_I32), *l = var("l", DT_I32);
	Var *u = var("u", DT_I32), *w = var("w", DT_I32), *tx = var("tx", DT_I32), *z = var("z", DT_I32);
	Var *n = var("n", DT_I32);
	/* a perfect nest of zero-based serial loops is a T.grid */
	Stmt *g = loop(i, i32(0), i32(4), FOR_SERIAL,
		       loop(j, i32(0), i32(4), FOR_SERIAL, store(B, bin(EX_ADD, V(i), V(j)), i32(0))));
	/* an extent depending on the outer var stops the grid */
	Stmt *dep = loop(k, i32(0), i32(4), FOR_SERIAL,
			 loop(l, i32(0), V(k), FOR_SERIAL, store(B, V(l), i32(1))));
	Stmt *r = loop(u, i32(2), V(n), FOR_SERIAL, store(B, V(u), i32(2)));
	Stmt *an = loop(w, i32(0), i32(8), FOR_UNROLLED, store(B, V(w), i32(3)));
	an->loop.annotations = obj_dict_set(A, NULL, "pragma_unroll", obj_int(A, 4));
	Stmt *st = loop(z, i32(0), i32(16), FOR_SERIAL, store(B, V(z), i32(4)));
	st->loop.step = i32(2);
	Stmt *ser = loop(var("q", DT_I32), i32(1), i32(3), FOR_SERIAL, eval(i32(0)));
	ser->loop.annotations = obj_dict_set(A, NULL, "k", obj_str(A, sym("v")));
	Stmt *tb = loop(tx, i32(0), i32(32), FOR_THREAD_BINDING, store(B, V(tx), i32(5)));
	tb->loop.thread = sym("threadIdx.x");
	int isbuf[] = {1, 0};
	void *ps[] = {B, n};
	func("main", 1, 2, isbuf, ps, seq(7, g, dep, r, an, st, ser, tb));
	CHECK(body_is("    for i, j in T.grid(4, 4):\n"
		      "        A[i + j] = 0\n"
		      "    for k in range(4):\n"
		      "        for l in range(k):\n"
		      "            A[l] = 1\n"
		      "    for u in range(2, 2 + n):\n"
		      "        A[u] = 2\n"
		      "    for w in T.unroll(8, annotations={\"pragma_unroll\": 4}):\n"
		      "        A[w] = 3\n"
		      "    for z in range(0, 16, 2):\n"
		      "        A[z] = 4\n"
		      "    for q in T.serial(1, 4, annotations={\"k\": \"v\"}):\n"
		      "        T.evaluate(0)\n"
		      "    for tx in T.thread_binding(32, thread=\"threadIdx.x\"):\n"
		      "        A[tx] = 5\n"));
	end();
}

UNIT_TEST(print_attrs_and_launches)
{
	begin();
	M->is_module = 0;
	Buffer *B = buf1("A", DT_F32, i32(128));
	Var *tx = var("threadIdx.x", DT_I32), *bx = var("blockIdx.x", DT_I32);
	/* nested node-0 attrs collapse; not last in its block: `with` */
	Stmt *a = attr0("compute_scope", ex_str(A, sym("main_compute_")),
			attr0("device_scope", i32(0), store(B, i32(0), ex_float(A, DT_F32, 0.0))));
	/* one var launched by two sibling launches needs T.env_thread */
	Stmt *l1 = launch(tx, "threadIdx.x", i32(128), store(B, V(tx), ex_float(A, DT_F32, 1.0)));
	Stmt *l2 = launch(tx, "threadIdx.x", i32(128), store(B, V(tx), ex_float(A, DT_F32, 2.0)));
	/* a launch last in its block prints bare, its body following */
	Stmt *l3 = launch(bx, "blockIdx.x", i32(4), store(B, V(bx), ex_float(A, DT_F32, 3.0)));
	Stmt *gen = st_new(A, ST_ATTR, NOLOC);
	Obj *node = obj_new(A, OB_BUFFER);
	node->buf = B;
	gen->attr.node = node;
	gen->attr.key = sym("storage_alignment");
	gen->attr.value = i32(64);
	gen->attr.body = seq(3, l1, l2, l3);
	int isbuf[] = {1};
	void *ps[] = {B};
	func("main", 1, 1, isbuf, ps, seq(2, a, gen));
	CHECK(body_is("    with T.attr({\"compute_scope\": \"main_compute_\", \"device_scope\": 0}):\n"
		      "        A[0] = T.float32(0.0)\n"
		      "    threadIdx_x = T.env_thread(\"threadIdx.x\")\n"
		      "    T.attr(A, \"storage_alignment\", 64)\n"
		      "    with T.launch_thread(threadIdx_x, 128):\n"
		      "        A[threadIdx_x] = T.float32(1.0)\n"
		      "    with T.launch_thread(threadIdx_x, 128):\n"
		      "        A[threadIdx_x] = T.float32(2.0)\n"
		      "    blockIdx_x = T.launch_thread(\"blockIdx.x\", 4)\n"
		      "    A[blockIdx_x] = T.float32(3.0)\n"));
	end();
}

UNIT_TEST(print_with_launch_as)
{
	begin();
	M->is_module = 0;
	Buffer *B = buf1("A", DT_F32, i32(128));
	Var *tx1 = var("threadIdx.x", DT_I32), *tx2 = var("threadIdx.x", DT_I32);
	Stmt *l1 = launch(tx1, "threadIdx.x", i32(64), store(B, V(tx1), ex_float(A, DT_F32, 1.0)));
	Stmt *l2 = launch(tx2, "threadIdx.x", i32(64), store(B, V(tx2), ex_float(A, DT_F32, 2.0)));
	int isbuf[] = {1};
	void *ps[] = {B};
	func("main", 1, 1, isbuf, ps, seq(3, l1, l2, eval(i32(0))));
	/* distinct vars: each `with ... as` scope frees the name for the next */
	CHECK(body_is("    with T.launch_thread(\"threadIdx.x\", 64) as threadIdx_x:\n"
		      "        A[threadIdx_x] = T.float32(1.0)\n"
		      "    with T.launch_thread(\"threadIdx.x\", 64) as threadIdx_x:\n"
		      "        A[threadIdx_x] = T.float32(2.0)\n"
		      "    T.evaluate(0)\n"));
	end();
}

UNIT_TEST(print_buffers)
{
	begin();
	M->is_module = 0;
	Buffer *P = buf1("A", DT_F32, i32(16));
	Buffer *S = buf1("S", dt_make(DT_FLOAT, 16, 1), i32(128));
	S->scope = sym("shared");
	Buffer *L = buf1("L", DT_F32, i32(4));
	L->scope = sym("local");
	Buffer *D = buf1("D", DT_U8, i32(512));
	D->scope = sym("shared.dyn");
	D->align = 16;
	Buffer *V1 = buf1("V", DT_F32, i32(4));
	V1->scope = sym("shared.dyn");
	V1->elem_offset = i32(8);
	V1->strides = list(1, i32(1));
	V1->nstrides = 1;
	V1->offset_factor = 4;
	Stmt *as = st_new(A, ST_ALLOC, NOLOC);
	as->alloc.buf = S;
	Stmt *al = st_new(A, ST_ALLOC, NOLOC);
	al->alloc.buf = L;
	al->alloc.annotations = obj_dict_set(A, NULL, "pragma", obj_int(A, 1));
	Stmt *ad = st_new(A, ST_ALLOC, NOLOC);
	ad->alloc.buf = D;
	Stmt *dd = st_new(A, ST_DECL, NOLOC);
	dd->decl.buf = V1;
	Expr *bd = ex_new(A, EX_BUFDATA, DT_HANDLE64);
	bd->buf = D;
	dd->decl.data = bd;
	int isbuf[] = {1};
	void *ps[] = {P};
	func("main", 1, 1, isbuf, ps, seq(5, as, al, ad, dd, store(V1, i32(0), load(P, i32(0)))));
	CHECK(body_is("    S = T.alloc_shared((128,), \"float16\")\n"
		      "    L = T.alloc_local((4,), annotations={\"pragma\": 1})\n"
		      "    D = T.alloc_buffer((512,), \"uint8\", scope=\"shared.dyn\", align=16)\n"
		      "    V = T.decl_buffer((4,), data=D.data, strides=(1,), elem_offset=8, "
		      "scope=\"shared.dyn\", offset_factor=4)\n"
		      "    V[0] = A[0]\n"));
	end();
}

UNIT_TEST(print_layouts_and_scalars)
{
	begin();
	M->is_module = 0;
	Buffer *P = buf1("A", DT_F32, i32(16));
	P->layout = LAYOUT_NONE;
	Buffer *X = buf1("x", DT_F32, i32(1));
	X->scope = sym("local");
	X->layout = LAYOUT_DEFAULT;
	Buffer *C = buf1("cnt", DT_I32, i32(1));
	C->scope = sym("local");
	C->layout = LAYOUT_DEFAULT;
	Stmt *ac = st_new(A, ST_ALLOC, NOLOC);
	ac->alloc.buf = C;
	Buffer *Y = buf1("y", DT_F32, i32(8));
	Y->layout = LAYOUT_DEFAULT;
	Stmt *ax = st_new(A, ST_ALLOC, NOLOC);
	ax->alloc.buf = X;
	Stmt *ay = st_new(A, ST_ALLOC, NOLOC);
	ay->alloc.buf = Y;
	Expr *ref = ex_new(A, EX_BUFREF, DT_HANDLE64);
	ref->buf = X;
	Stmt *call = eval(ex_call(A, op_get("tirx.tvm_call_packed"), ty_prim(DT_I32),
				  list(2, ex_str(A, sym("f")), ref), 2));
	int isbuf[] = {1};
	void *ps[] = {P};
	/* not s_tir: omitted layout is the default; a local (1,) buffer is a scalar */
	/* the initial store fuses into the declaration */
	func("main", 0, 1, isbuf, ps,
	     seq(8, ax, store(X, i32(0), ex_float(A, DT_F32, 0.0)), ac, ay, store(C, i32(0), i32(2)),
		 store(X, i32(0), ex_float(A, DT_F32, 1.0)),
		 store(Y, i32(0), bin(EX_ADD, load(X, i32(0)), load(P, i32(1)))), call));
	const char *s = pm();
	CHECK(strstr(s, "def main(A: T.Buffer((16,), \"float32\", layout=None)):\n"
			"    x: T.float32 = T.float32(0.0)\n"
			"    cnt: T.int32\n"
			"    y = T.alloc_buffer((8,))\n"
			"    cnt = 2\n"
			"    x = T.float32(1.0)\n"
			"    y[0] = x + A[1]\n"
			"    T.call_packed(\"f\", x.buffer)\n") != NULL);
	if (!strstr(s, "x: T.float32"))
		fprintf(stderr, "%s", s);
	/* in an s_tir function too a default-layout local (1,) buffer is a
	 * scalar (TVM 0.27 gives `x: T.int32 = v` the default tile layout),
	 * and a buffer without layout prints no layout=None */
	M->funcs[0]->attrs = obj_dict_set(A, M->funcs[0]->attrs, "s_tir", obj_bool(A, 1));
	s = pm();
	CHECK(strstr(s, "def main(A: T.Buffer((16,), \"float32\")):\n"
			"    x: T.float32 = T.float32(0.0)\n"
			"    cnt: T.int32\n") != NULL);
	/* s_tir's T.alloc_local((1,)) has no layout: no sugar */
	X->layout = LAYOUT_NONE;
	C->layout = LAYOUT_NONE;
	s = pm();
	CHECK(strstr(s, "def main(A: T.Buffer((16,), \"float32\")):\n"
			"    x = T.alloc_local((1,))\n"
			"    x[0] = T.float32(0.0)\n"
			"    cnt = T.alloc_local((1,), \"int32\")\n") != NULL);
	end();
}

UNIT_TEST(print_stmts_misc)
{
	begin();
	M->is_module = 0;
	Var *n = var("n", DT_I32);
	Buffer *P = buf1("A", DT_F32, i32(16));
	Stmt *as = st_new(A, ST_ASSERT, NOLOC);
	as->assert.cond = bin(EX_GT, V(n), i32(0));
	as->assert.kind = sym("TypeError");
	Sym *parts = ar_alloc(A, 2 * sizeof *parts);
	parts[0] = sym("bad\n");
	parts[1] = sym("n");
	as->assert.parts = parts;
	as->assert.nparts = 2;
	Stmt *iff = st_new(A, ST_IF, NOLOC);
	iff->ifs.cond = bin(EX_LT, V(n), i32(4));
	Stmt *inner = st_new(A, ST_IF, NOLOC);
	inner->ifs.cond = bin(EX_EQ, V(n), i32(1));
	inner->ifs.then = st_new(A, ST_BREAK, NOLOC);
	iff->ifs.then = store(P, V(n), ex_float(A, DT_F32, 1.0));
	iff->ifs.els = inner;
	Stmt *wh = st_new(A, ST_WHILE, NOLOC);
	wh->wloop.cond = bin(EX_LT, V(n), i32(8));
	wh->wloop.body = seq(2, iff, st_new(A, ST_CONTINUE, NOLOC));
	Stmt *pst = st_new(A, ST_STORE, NOLOC);
	Expr *r = ex_new(A, EX_RAMP, dt_make(DT_INT, 32, 4));
	r->ramp.base = i32(0);
	r->ramp.stride = i32(2);
	Expr *m = ex_new(A, EX_BROADCAST, dt_make(DT_BOOL, 1, 4));
	m->bcast.value = ex_int(A, DT_BOOL1, 0);
	pst->store.buf = P;
	pst->store.idx = list(1, r);
	pst->store.nidx = 1;
	Expr *bc = ex_new(A, EX_BROADCAST, dt_make(DT_FLOAT, 32, 4));
	bc->bcast.value = ex_float(A, DT_F32, 0.0);
	pst->store.value = bc;
	pst->store.pred = m;
	Stmt *ret = st_new(A, ST_RETURN, NOLOC);
	ret->ret.value = i32(0);
	Stmt *brk = eval(ex_call(A, op_get("tirx.break_loop"), ty_void(), NULL, 0));
	int isbuf[] = {1, 0};
	void *ps[] = {P, n};
	func("main", 1, 2, isbuf, ps, seq(5, as, wh, pst, brk, ret));
	CHECK(body_is("    assert n > 0, (\"TypeError\", [\"bad\\n\", \"n\"])\n"
		      "    while n < 8:\n"
		      "        if n < 4:\n"
		      "            A[n] = T.float32(1.0)\n"
		      "        else:\n"
		      "            if n == 1:\n"
		      "                break\n"
		      "        continue\n"
		      "    A.vstore([T.Ramp(0, 2, 4)], T.Broadcast(T.float32(0.0), 4), "
		      "predicate=T.Broadcast(T.bool(False), 4))\n"
		      "    T.break_loop()\n"
		      "    return 0\n"));
	end();
}

UNIT_TEST(print_signature_quoting_and_targets)
{
	begin();
	M->is_module = 0;
	Var *n = var("n", DT_I32);
	Buffer *P = buf1("A", DT_F32, bin(EX_ADD, V(n), i32(1)));
	Buffer *Q = buf1("B", DT_F32, V(n));
	int isbuf[] = {1, 1, 0};
	void *ps[] = {P, Q, n};
	Func *f = func("main", 1, 3, isbuf, ps, store(Q, i32(0), load(P, i32(0))));
	Obj *host = obj_new(A, OB_TARGET);
	Obj *hd = obj_dict_set(A, NULL, "kind", obj_str(A, sym("llvm")));
	host->target = obj_dict_set(A, hd, "tag", obj_str(A, sym("")));
	Obj *t = obj_new(A, OB_TARGET);
	Obj *td = obj_dict_set(A, NULL, "kind", obj_str(A, sym("cuda")));
	td = obj_dict_set(A, td, "host", host);
	td = obj_dict_set(A, td, "arch", obj_str(A, sym("sm_80")));
	t->target = td;
	f->attrs = obj_dict_set(A, f->attrs, "target", t);
	const char *s = pm();
	CHECK(strstr(s, "def main(A: T.Buffer((\"n + 1\",), \"float32\"), B: T.Buffer((n,), \"float32\"), "
			"n: T.int32):\n"
			"    T.func_attr({\"target\": T.target({\"arch\": \"sm_80\", \"host\": {\"kind\": \"llvm\", "
			"\"tag\": \"\"}, \"kind\": \"cuda\"})})\n") != NULL);
	end();
}

UNIT_TEST(print_undeclared_buffer_and_stmt_api)
{
	begin();
	M->is_module = 0;
	Buffer *P = buf1("A", DT_F32, i32(16));
	Buffer *U = buf1("U", DT_I32, i32(4));
	int isbuf[] = {1};
	void *ps[] = {P};
	func("main", 1, 1, isbuf, ps, seq(2, eval(i32(0)), store(U, i32(0), i32(1))));
	CHECK(body_is("    T.evaluate(0)\n"
		      "    U = T.Buffer((4,), \"int32\")\n"
		      "    U[0] = 1\n"));
	Buf b = {0};
	tir_print_stmt(&b, M->funcs[0]->body);
	CHECK(b.s && strcmp(b.s, "T.evaluate(0)\nU[0] = 1\n") == 0);
	buf_free(&b);
	end();
	buf_free(&out);
}
