/* arith.c: TVM's operator semantics for PrimExprs, as the script parser
 * applies them to `a + b`: BinaryOpMatchTypes (broadcast a scalar against a
 * vector, promote the narrower or integer side, cast constants in place)
 * followed by TryConstFold (fold constant operands and the identities
 * x+0, x*1, x*0, x//1, x%1, min(x,x) ...).  The printer asks
 * arith_binary_is_plain() whether infix text would re-parse to the same
 * node, so both directions share this one definition. */
#include <math.h>
#include <string.h>
#include "tir.h"

int ex_is_const_int(const Expr *e, int64_t *v)
{
	if (!e || e->kind != EX_INT || e->dt.lanes != 1)
		return 0;
	if (v)
		*v = e->i;
	return 1;
}

static int is_fimm(const Expr *e)
{
	return e && e->kind == EX_FLOAT && e->dt.lanes == 1;
}

static int is_bool(DType t)
{
	return t.code == DT_BOOL;
}

/* Wraps an int64 result to the width of t (sign-extending for int). */
static int64_t wrap(int64_t x, DType t)
{
	if (t.code == DT_BOOL)
		return x != 0;
	if (t.bits < 64) {
		uint64_t m = ((uint64_t)1 << t.bits) - 1;
		uint64_t u = (uint64_t)x & m;
		if (t.code == DT_INT) {
			uint64_t sign = (uint64_t)1 << (t.bits - 1);
			u = (u ^ sign) - sign;
		}
		return (int64_t)u;
	}
	return x;
}

/* tvm::make_const for a scalar type. */
static Expr *make_const_i(Arena *a, DType t, int64_t v)
{
	if (dt_is_float(t))
		return ex_float(a, t, (double)v);
	return ex_int(a, t, wrap(v, t));
}

static Expr *make_const_f(Arena *a, DType t, double v)
{
	if (dt_is_float(t))
		return ex_float(a, t, v);
	if (t.code == DT_BOOL)
		return ex_int(a, t, v != 0);
	if (isnan(v) || v >= 9.3e18 || v <= -9.3e18)
		return ex_int(a, t, 0);
	return ex_int(a, t, wrap((int64_t)v, t));
}

static Expr *broadcast(Arena *a, Expr *x, int lanes)
{
	Expr *e = ex_new(a, EX_BROADCAST, dt_with_lanes(x->dt, lanes));
	e->bcast.value = x;
	return e;
}

Expr *arith_cast(Arena *a, DType t, Expr *x)
{
	if (dt_eq(x->dt, t))
		return x;
	if (t.lanes == 1) {
		if (x->kind == EX_INT && x->dt.lanes == 1) {
			if (x->dt.code == DT_UINT && dt_is_float(t))
				return ex_float(a, t, (double)(uint64_t)x->i);
			return make_const_i(a, t, x->i);
		}
		if (is_fimm(x))
			return make_const_f(a, t, x->f);
		return ex_cast(a, t, x);
	}
	DType elem = dt_element(t);
	if (x->dt.lanes == 1)
		return broadcast(a, arith_cast(a, elem, x), t.lanes);
	if (x->dt.lanes == t.lanes) {
		if (x->kind == EX_BROADCAST)
			return broadcast(a, arith_cast(a, elem, x->bcast.value), t.lanes);
		if (x->kind == EX_RAMP && dt_is_int(t)) {
			Expr *e = ex_new(a, EX_RAMP, t);
			e->ramp.base = arith_cast(a, elem, x->ramp.base);
			e->ramp.stride = arith_cast(a, elem, x->ramp.stride);
			return e;
		}
	}
	return ex_cast(a, t, x);
}

int arith_match_types(Arena *a, Expr **px, Expr **py, const char **err)
{
	Expr *x = *px, *y = *py;
	DType lt = x->dt, rt = y->dt;
	if (dt_eq(lt, rt))
		return 1;
	if (lt.lanes == 1 && rt.lanes != 1)
		x = broadcast(a, x, rt.lanes);
	else if (rt.lanes == 1 && lt.lanes != 1)
		y = broadcast(a, y, lt.lanes);
	else if (lt.lanes != rt.lanes) {
		*err = "cannot match vector types with different lane counts";
		return 0;
	}
	lt = x->dt;
	rt = y->dt;
	if (!dt_eq(lt, rt)) {
		int lf = dt_is_float(lt), rf = dt_is_float(rt);
		int li = dt_is_int(lt), ri = dt_is_int(rt);
		if (lt.code == DT_HANDLE || rt.code == DT_HANDLE) {
			*err = "cannot match the types of the operands (handle)";
			return 0;
		}
		if (!lf && rf) {
			x = arith_cast(a, rt, x);
		} else if (lf && !rf) {
			y = arith_cast(a, lt, y);
		} else if (lf && rf) {
			if (lt.bits < rt.bits)
				x = arith_cast(a, rt, x);
			else
				y = arith_cast(a, lt, y);
		} else if (is_bool(lt) && !is_bool(rt)) {
			x = arith_cast(a, rt, x);
		} else if (!is_bool(lt) && is_bool(rt)) {
			y = arith_cast(a, lt, y);
		} else if (li && ri && lt.code == rt.code) {
			if (lt.bits < rt.bits)
				x = arith_cast(a, rt, x);
			else
				y = arith_cast(a, lt, y);
		} else if (li && ri) {
			if (lt.bits < rt.bits)
				x = arith_cast(a, rt, x);
			else if (lt.bits > rt.bits)
				y = arith_cast(a, lt, y);
			else if (lt.code == DT_UINT)
				y = arith_cast(a, lt, y);
			else
				x = arith_cast(a, rt, x);
		} else {
			*err = "cannot match the types of the operands";
			return 0;
		}
	}
	*px = x;
	*py = y;
	return 1;
}

/* Two operand nodes TVM would consider the same object (same_as): the
 * same node, or two references to one Var (our IR copies Var uses). */
static int same_as(const Expr *x, const Expr *y)
{
	if (x == y)
		return 1;
	return x->kind == EX_VAR && y->kind == EX_VAR && x->var == y->var;
}

static int64_t floordiv64(int64_t x, int64_t y)
{
	int64_t q = x / y;
	if ((x % y != 0) && ((x < 0) != (y < 0)))
		q--;
	return q;
}

static int64_t floormod64(int64_t x, int64_t y)
{
	int64_t r = x % y;
	if (r != 0 && ((r < 0) != (y < 0)))
		r += y;
	return r;
}

/* TryConstFold for operands of matched type.  Returns NULL when nothing
 * folds.  `a` NULL: only decide (no allocation), returning x as a marker.
 * Division by a zero constant sets *err. */
static Expr *try_fold(Arena *a, int kind, Expr *x, Expr *y, const char **err)
{
	int64_t pa = 0, pb = 0;
	int ia = ex_is_const_int(x, &pa), ib = ex_is_const_int(y, &pb);
	int fa = is_fimm(x), fb = is_fimm(y);
	double va = fa ? x->f : 0, vb = fb ? y->f : 0;
	DType t = x->dt;
	DType b1 = dt_make(DT_BOOL, 1, 1);
	int u = t.code == DT_UINT;
#define MK_I(v) (a ? ex_int(a, t, wrap((v), t)) : x)
#define MK_F(v) (a ? ex_float(a, t, (v)) : x)
#define MK_B(v) (a ? ex_int(a, b1, (v) != 0) : x)
	switch (kind) {
	case EX_ADD:
		if (ia && ib) return MK_I((int64_t)((uint64_t)pa + (uint64_t)pb));
		if (ia && pa == 0) return y;
		if (ib && pb == 0) return x;
		if (fa && fb) return MK_F(va + vb);
		if (fa && va == 0) return y;
		if (fb && vb == 0) return x;
		return NULL;
	case EX_SUB:
		if (ia && ib) return MK_I((int64_t)((uint64_t)pa - (uint64_t)pb));
		if (ib && pb == 0) return x;
		if (fa && fb) return MK_F(va - vb);
		if (fb && vb == 0) return x;
		return NULL;
	case EX_MUL:
		if (ia && ib) return MK_I((int64_t)((uint64_t)pa * (uint64_t)pb));
		if (ia) {
			if (pa == 1) return y;
			if (pa == 0) return x;
		}
		if (ib) {
			if (pb == 1) return x;
			if (pb == 0) return y;
		}
		if (fa && fb) return MK_F(va * vb);
		if (fa) {
			if (va == 1) return y;
			if (va == 0) return x;
		}
		if (fb) {
			if (vb == 1) return x;
			if (vb == 0) return y;
		}
		return NULL;
	case EX_DIV:
	case EX_MOD:
	case EX_FLOORDIV:
	case EX_FLOORMOD:
		if ((ib && pb == 0) || (fb && vb == 0 && kind != EX_MOD && kind != EX_FLOORMOD)) {
			*err = "division by zero";
			return NULL;
		}
		if (ia && ib) {
			if (u) {
				uint64_t ua = (uint64_t)pa, ub = (uint64_t)pb;
				return MK_I((int64_t)(kind == EX_DIV || kind == EX_FLOORDIV ? ua / ub : ua % ub));
			}
			if (pb == -1 && pa == INT64_MIN)
				return NULL;
			switch (kind) {
			case EX_DIV: return MK_I(pa / pb);
			case EX_MOD: return MK_I(pa % pb);
			case EX_FLOORDIV: return MK_I(floordiv64(pa, pb));
			default: return MK_I(floormod64(pa, pb));
			}
		}
		if (ia && pa == 0) return x;
		if (ib && pb == 1) {
			if (kind == EX_DIV || kind == EX_FLOORDIV)
				return x;
			return MK_I(0);
		}
		if (kind == EX_DIV || kind == EX_FLOORDIV) {
			if (fa && fb) return MK_F(kind == EX_DIV ? va / vb : floor(va / vb));
			if (fa && va == 0) return x;
			if (fb && vb == 1) return x;
		}
		return NULL;
	case EX_MIN:
	case EX_MAX:
		if (ia && ib) {
			int lt = u ? (uint64_t)pa < (uint64_t)pb : pa < pb;
			return MK_I(kind == EX_MIN ? (lt ? pa : pb) : (lt ? pb : pa));
		}
		if (fa && fb) return MK_F(kind == EX_MIN ? (va < vb ? va : vb) : (va < vb ? vb : va));
		if (same_as(x, y)) return x;
		return NULL;
	case EX_EQ: case EX_NE: case EX_LT: case EX_LE: case EX_GT: case EX_GE: {
		int c;
		if (ia && ib) {
			if (u) {
				uint64_t ua = (uint64_t)pa, ub = (uint64_t)pb;
				c = ua < ub ? -1 : ua > ub;
			} else {
				c = pa < pb ? -1 : pa > pb;
			}
		} else if (fa && fb) {
			if (isnan(va) || isnan(vb))
				return NULL;
			c = va < vb ? -1 : va > vb;
		} else {
			return NULL;
		}
		switch (kind) {
		case EX_EQ: return MK_B(c == 0);
		case EX_NE: return MK_B(c != 0);
		case EX_LT: return MK_B(c < 0);
		case EX_LE: return MK_B(c <= 0);
		case EX_GT: return MK_B(c > 0);
		default: return MK_B(c >= 0);
		}
	}
	case EX_AND:
		if (ia && ib) return MK_B(pa && pb);
		if (ia) return pa ? y : x;
		if (ib) return pb ? x : y;
		return NULL;
	case EX_OR:
		if (ia && ib) return MK_B(pa || pb);
		if (ia) return pa ? x : y;
		if (ib) return pb ? y : x;
		return NULL;
	}
#undef MK_I
#undef MK_F
#undef MK_B
	return NULL;
}

static int is_int_kind(int kind)
{
	return kind == EX_MOD || kind == EX_FLOORMOD;
}

Expr *arith_binary(Arena *a, int kind, Expr *x, Expr *y, const char **err)
{
	const char *e = NULL;
	if (kind < EX_ADD || kind > EX_OR) {
		*err = "not a binary operator";
		return NULL;
	}
	if (dt_is_void(x->dt) || dt_is_void(y->dt)) {
		*err = "void value used as an operand";
		return NULL;
	}
	if (!arith_match_types(a, &x, &y, &e)) {
		*err = e;
		return NULL;
	}
	if ((kind == EX_AND || kind == EX_OR) && !is_bool(x->dt)) {
		*err = "'and'/'or' need boolean operands";
		return NULL;
	}
	if (is_int_kind(kind) && dt_is_float(x->dt) && kind == EX_MOD) {
		*err = "truncmod needs integer operands";
		return NULL;
	}
	if (x->dt.code == DT_HANDLE && kind != EX_EQ && kind != EX_NE) {
		*err = "arithmetic on handles is not allowed";
		return NULL;
	}
	Expr *r = try_fold(a, kind, x, y, &e);
	if (e) {
		*err = e;
		return NULL;
	}
	if (r)
		return r;
	return ex_bin(a, kind, x, y);
}

Expr *arith_not(Arena *a, Expr *x, const char **err)
{
	if (!is_bool(x->dt)) {
		*err = "'not' needs a boolean operand";
		return NULL;
	}
	int64_t v;
	if (ex_is_const_int(x, &v))
		return ex_int(a, x->dt, !v);
	Expr *e = ex_new(a, EX_NOT, x->dt);
	e->bin.a = x;
	return e;
}

int arith_binary_is_plain(int kind, const Expr *x, const Expr *y)
{
	const char *err = NULL;
	if (!dt_eq(x->dt, y->dt) || kind < EX_ADD || kind > EX_OR)
		return 0;
	if ((kind == EX_AND || kind == EX_OR) && !is_bool(x->dt))
		return 0;
	if (x->dt.code == DT_HANDLE && kind != EX_EQ && kind != EX_NE)
		return 0;
	if (dt_is_void(x->dt))
		return 0;
	return try_fold(NULL, kind, (Expr *)x, (Expr *)y, &err) == NULL && !err;
}
