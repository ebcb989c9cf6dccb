/* Unit tests for arith.c: TVM's type matching and constant folding. */
#include <string.h>
#include "unit.h"
#include "tir.h"

static Arena *A;
static const char *err;

static Expr *i32(int64_t v) { return ex_int(A, DT_I32, v); }
static Var *var(const char *n, DType t) { return var_new(A, sym(n), ty_prim(t)); }
static Expr *bin(int k, Expr *x, Expr *y) { err = NULL; return arith_binary(A, k, x, y, &err); }

UNIT_TEST(arith_fold_constants)
{
	A = ar_new();
	int64_t v;
	CHECK(ex_is_const_int(bin(EX_ADD, i32(3), i32(4)), &v) && v == 7);
	CHECK(ex_is_const_int(bin(EX_FLOORDIV, i32(-7), i32(2)), &v) && v == -4);
	CHECK(ex_is_const_int(bin(EX_FLOORMOD, i32(-7), i32(2)), &v) && v == 1);
	CHECK(ex_is_const_int(bin(EX_DIV, i32(-7), i32(2)), &v) && v == -3);
	CHECK(ex_is_const_int(bin(EX_MOD, i32(-7), i32(2)), &v) && v == -1);
	/* int32 wraps like TVM's folding */
	CHECK(ex_is_const_int(bin(EX_MUL, i32(65536), i32(65536)), &v) && v == 0);
	Expr *c = bin(EX_LT, i32(1), i32(2));
	CHECK(c->kind == EX_INT && c->dt.code == DT_BOOL && c->i == 1);
	CHECK(bin(EX_FLOORDIV, i32(1), i32(0)) == NULL && err);
	ar_free(A);
}

UNIT_TEST(arith_identities)
{
	A = ar_new();
	Expr *x = ex_var(A, var("x", DT_I32));
	CHECK(bin(EX_MUL, x, i32(1)) == x);
	CHECK(bin(EX_ADD, i32(0), x) == x);
	CHECK(bin(EX_SUB, x, i32(0)) == x);
	CHECK(bin(EX_FLOORDIV, x, i32(1)) == x);
	Expr *z = bin(EX_MUL, x, i32(0));
	CHECK(z->kind == EX_INT && z->i == 0);
	z = bin(EX_FLOORMOD, x, i32(1));
	CHECK(z->kind == EX_INT && z->i == 0);
	CHECK(bin(EX_MIN, x, ex_var(A, x->var)) == x);
	/* what the printer must spell T.Mul(x, 1) */
	CHECK(!arith_binary_is_plain(EX_MUL, x, i32(1)));
	CHECK(arith_binary_is_plain(EX_MUL, x, i32(2)));
	CHECK(!arith_binary_is_plain(EX_ADD, i32(3), i32(4)));
	ar_free(A);
}

UNIT_TEST(arith_promotion)
{
	A = ar_new();
	DType f16 = dt_make(DT_FLOAT, 16, 1);
	Expr *h = ex_var(A, var("h", f16));
	Expr *e = bin(EX_ADD, h, i32(1));
	CHECK(e && e->kind == EX_ADD && dt_eq(e->dt, f16));
	CHECK(e->bin.b->kind == EX_FLOAT && e->bin.b->f == 1.0 && dt_eq(e->bin.b->dt, f16));
	Expr *l = ex_var(A, var("l", DT_I64));
	e = bin(EX_ADD, l, i32(1));
	CHECK(e && dt_eq(e->dt, DT_I64) && e->bin.b->kind == EX_INT && dt_eq(e->bin.b->dt, DT_I64));
	Expr *n = ex_var(A, var("n", DT_I32));
	e = bin(EX_ADD, n, l);
	CHECK(e && dt_eq(e->dt, DT_I64) && e->bin.a->kind == EX_CAST);
	/* int x uint of equal width: uint wins */
	Expr *u = ex_var(A, var("u", dt_make(DT_UINT, 32, 1)));
	e = bin(EX_ADD, n, u);
	CHECK(e && e->dt.code == DT_UINT);
	/* float beats int; the wider float wins */
	Expr *f = ex_var(A, var("f", DT_F32));
	e = bin(EX_MUL, h, f);
	CHECK(e && dt_eq(e->dt, DT_F32));
	/* scalar against vector: broadcast */
	Expr *vec = ex_var(A, var("v", dt_make(DT_FLOAT, 32, 4)));
	e = bin(EX_ADD, vec, ex_float(A, DT_F32, 2.0));
	CHECK(e && e->dt.lanes == 4 && e->bin.b->kind == EX_BROADCAST);
	/* handles and bad logic operands are errors */
	Expr *p = ex_var(A, var_new(A, sym("p"), ty_ptr(DT_F32, sym("global"))));
	CHECK(bin(EX_ADD, p, i32(1)) == NULL && err);
	CHECK(bin(EX_AND, n, n) == NULL && err);
	ar_free(A);
}

UNIT_TEST(arith_cast_folds)
{
	A = ar_new();
	Expr *e = arith_cast(A, DT_I64, i32(42));
	CHECK(e->kind == EX_INT && dt_eq(e->dt, DT_I64) && e->i == 42);
	e = arith_cast(A, dt_make(DT_INT, 8, 1), i32(300));
	CHECK(e->kind == EX_INT && e->i == 44);
	e = arith_cast(A, DT_F32, i32(3));
	CHECK(e->kind == EX_FLOAT && e->f == 3.0);
	Expr *x = ex_var(A, var("x", DT_I32));
	e = arith_cast(A, DT_F32, x);
	CHECK(e->kind == EX_CAST && e->bin.a == x);
	ar_free(A);
}
