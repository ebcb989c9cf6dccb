/* legalize_float.c: the shared core of the BF16 and FP8 legalizers
 * (TVM's unsupported_dtype_legalize.cc and dtype_conversion.cc): exact float
 * conversions written as integer IR, the compute legalizer and the storage
 * legalizer.  legalize_bf16.c and legalize_fp8.c only choose the types.
 *
 * Conversions.  TVM's DTypeConversion ignores NaN, infinity, overflow and
 * the subnormals of formats whose exponent width differs; ours is exact
 * (see lz_convert in legalize.h).  Where TVM's formula is already exact we
 * keep its IR shape: widening between formats with the same exponent field
 * is a shift (bf16 -> f32, e5m2 -> f16), and narrowing between them is TVM's
 * round-half-to-even addition, guarded for NaN.  The other pairs use a
 * general formula over the magnitude bits.  Guards and case splits are
 * Selects, which VectorizeLoop vectorizes.  A converted operand that is not
 * a leaf (var, constant, small load) and is used more than once is computed
 * once, in a Let: the conversions are linear in their input. */
#include <string.h>
#include "legalize.h"
#include "passutil.h"

/* ------------------------------------------------------------- formats */

enum { FS_IEEE, FS_FN, FS_FNUZ }; /* FN: no inf, NaN = all ones; FNUZ: NaN = -0 */

typedef struct Fmt {
	int bits, e, m, bias, style;
} Fmt;

/* The binary formats, after IEEE 754 and the fp8 formats as ml_dtypes
 * defines them (OCP e4m3fn/e5m2, Graphcore's fnuz variants). */
static int fmt_of(DType t, Fmt *f)
{
	switch (t.code) {
	case DT_FLOAT:
		if (t.bits == 16) *f = (Fmt){16, 5, 10, 15, FS_IEEE};
		else if (t.bits == 32) *f = (Fmt){32, 8, 23, 127, FS_IEEE};
		else if (t.bits == 64) *f = (Fmt){64, 11, 52, 1023, FS_IEEE};
		else return 0;
		return 1;
	case DT_BFLOAT: *f = (Fmt){16, 8, 7, 127, FS_IEEE}; return t.bits == 16;
	case DT_F8_E3M4: *f = (Fmt){8, 3, 4, 3, FS_IEEE}; return 1;
	case DT_F8_E4M3: *f = (Fmt){8, 4, 3, 7, FS_IEEE}; return 1;
	case DT_F8_E4M3FN: *f = (Fmt){8, 4, 3, 7, FS_FN}; return 1;
	case DT_F8_E4M3FNUZ: *f = (Fmt){8, 4, 3, 8, FS_FNUZ}; return 1;
	case DT_F8_E4M3B11FNUZ: *f = (Fmt){8, 4, 3, 11, FS_FNUZ}; return 1;
	case DT_F8_E5M2: *f = (Fmt){8, 5, 2, 15, FS_IEEE}; return 1;
	case DT_F8_E5M2FNUZ: *f = (Fmt){8, 5, 2, 16, FS_FNUZ}; return 1;
	default: return 0; /* e8m0fnu (see below) and fp6/fp4 */
	}
}

/* float8_e8m0fnu: an 8-bit biased exponent (bias 127), no sign, no
 * mantissa: code c is 2^(c-127), 0xFF is NaN, there is no zero.  It
 * converts exactly to and from the IEEE formats whose exponent covers
 * 2^-127..2^127 (float32, bfloat16, float64); e8m0_* below. */
static int is_e8m0(DType t)
{
	return t.code == DT_F8_E8M0FNU;
}

static int e8m0_partner(const Fmt *f)
{
	return f->style == FS_IEEE && f->e >= 8 && f->bias >= 127;
}

static uint64_t ones(int n)
{
	return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

/* Same exponent field and both IEEE: the shift/round formulas are exact. */
static int same_exponent(const Fmt *x, const Fmt *y)
{
	return x->e == y->e && x->bias == y->bias && x->style == FS_IEEE && y->style == FS_IEEE;
}

const char *lz_convertible(DType from, DType to)
{
	Fmt s, t;
	if (from.lanes != to.lanes)
		return "The lanes for data type for source value must matches the target datatype.";
	if (is_e8m0(from) || is_e8m0(to)) {
		DType other = is_e8m0(from) ? to : from;
		if (is_e8m0(other))
			return NULL;
		if (!fmt_of(other, &s) || !e8m0_partner(&s))
			return "float8_e8m0fnu converts exactly only to and from float32, bfloat16 and float64";
		return NULL;
	}
	if (!fmt_of(from, &s) || !fmt_of(to, &t))
		return "no exact conversion is known for this data type";
	const Fmt *w = s.m < t.m ? &t : &s, *n = s.m < t.m ? &s : &t; /* wide, narrow */
	if (same_exponent(w, n) || w->m == n->m)
		return w->m == n->m && !same_exponent(w, n) ? "the formats differ in range only" : NULL;
	if (w->style != FS_IEEE || w->bias < n->bias)
		return "the wider type must be an IEEE format with the wider range";
	/* widening: every narrow subnormal is normal in the wide type */
	if (w->bias < n->bias + n->m)
		return "the wider type cannot hold the narrow type's subnormals as normal numbers";
	/* narrowing: the wide type's subnormals all round to zero */
	if (w->bias < 1 + n->bias + n->m)
		return "the wider type's subnormals do not all round to zero";
	return NULL;
}

/* ------------------------------------------------------------ builders */

typedef struct Cv {
	Arena *a;
	int lanes;
} Cv;

static DType uint_t(const Cv *c, int bits)
{
	return dt_make(DT_UINT, bits, c->lanes);
}

static Expr *kst(const Cv *c, int bits, uint64_t v)
{
	return ex_int(c->a, dt_make(DT_UINT, bits, 1), (int64_t)v);
}

static Expr *bin(const Cv *c, int kind, Expr *x, Expr *y)
{
	return pu_arith(c->a, "legalize", kind, x, y);
}

/* A call of a two-operand integer op, operands matched as TVM's operators
 * (x >> y, x & y) match them. */
static Expr *op2(const Cv *c, const char *op, Expr *x, Expr *y)
{
	const char *err = NULL;
	if (!arith_match_types(c->a, &x, &y, &err))
		die("legalize: %s", err);
	Expr *args[2] = {x, y};
	return ex_call(c->a, op_get(op), ty_prim(x->dt), args, 2);
}

static Expr *shr(const Cv *c, Expr *x, int k)
{
	return k ? op2(c, "tirx.shift_right", x, kst(c, x->dt.bits, (uint64_t)k)) : x;
}

static Expr *shl(const Cv *c, Expr *x, int k)
{
	return k ? op2(c, "tirx.shift_left", x, kst(c, x->dt.bits, (uint64_t)k)) : x;
}

static Expr *band(const Cv *c, Expr *x, uint64_t k)
{
	return op2(c, "tirx.bitwise_and", x, kst(c, x->dt.bits, k));
}

static Expr *bor(const Cv *c, Expr *x, Expr *y)
{
	return op2(c, "tirx.bitwise_or", x, y);
}

/* cond ? t : f as a Select, not if_then_else: both arms are pure and
 * always defined (every shift amount is clamped below the width), and a
 * Select vectorizes where if_then_else with a vector condition does not,
 * so a T.vectorized loop over converted values stays vectorized. */
static Expr *ite(const Cv *c, Expr *cond, Expr *t, Expr *f)
{
	const char *err = NULL;
	if (!arith_match_types(c->a, &t, &f, &err))
		die("legalize: %s", err);
	Expr *e = ex_new(c->a, EX_SELECT, t->dt);
	e->sel.c = cond;
	e->sel.t = t;
	e->sel.f = f;
	return e;
}

static Expr *ucast(const Cv *c, int bits, Expr *x)
{
	return arith_cast(c->a, uint_t(c, bits), x);
}

/* reinterpret(t, x) is x itself when the types agree, as in TVM. */
static Expr *reinterp(const Cv *c, DType t, Expr *x)
{
	if (dt_eq(t, x->dt))
		return x;
	return ex_call(c->a, op_get("tirx.reinterpret"), ty_prim(t), &x, 1);
}

/* Bits of x as an unsigned integer; when x is used more than once and is
 * not a leaf (a var, a constant, a small load: pu_copyable), *let gets the
 * Let var and *val its value. */
static Expr *src_bits(const Cv *c, Expr *x, int bits, Var **let, Expr **val)
{
	Expr *u = reinterp(c, uint_t(c, bits), x);
	int leaf = x->kind == EX_VAR || x->kind == EX_INT || x->kind == EX_FLOAT ||
	           (x->kind == EX_LOAD && pu_copyable(x));
	if (leaf)
		return u;
	*let = var_new(c->a, sym("bits"), ty_prim(u->dt));
	*val = u;
	return ex_var(c->a, *let);
}

static Expr *wrap_let(const Cv *c, Var *v, Expr *val, Expr *body)
{
	if (!v)
		return body;
	Expr *e = ex_new(c->a, EX_LET, body->dt);
	e->let.var = v;
	e->let.value = val;
	e->let.body = body;
	return e;
}

/* ---------------------------------------------------------- conversions */

/* Narrow (D) from wide (T).  Same exponent field: TVM's formula
 *     r = (D)((u + ((u >> d) & 1) + (2^(d-1) - 1)) >> d)
 * which rounds subnormals and overflows (to inf) correctly, and a NaN guard
 * that keeps the sign and top payload bits and sets the quiet bit. */
static Expr *narrow(const Cv *c, Expr *x, const Fmt *T, const Fmt *D, DType to)
{
	Var *lv = NULL;
	Expr *lval = NULL;
	int d = T->m - D->m, tb = T->bits, db = D->bits;
	Expr *u = src_bits(c, x, tb, &lv, &lval);
	Expr *mag = band(c, u, ones(tb - 1));
	Expr *is_nan = bin(c, EX_GT, mag, kst(c, tb, ones(T->e) << T->m));
	Expr *out;
	if (same_exponent(T, D)) {
		Expr *bias = bin(c, EX_ADD, band(c, shr(c, u, d), 1), kst(c, tb, ones(d - 1)));
		Expr *r = ucast(c, db, shr(c, bin(c, EX_ADD, u, bias), d));
		Expr *qnan = bor(c, ucast(c, db, shr(c, u, d)), kst(c, db, (uint64_t)1 << (D->m - 1)));
		out = ite(c, is_nan, qnan, r);
	} else {
		/* Magnitude code of D, in T's width.  Normal results (exponent
		 * field et >= emin) round the magnitude at bit d and rebias;
		 * subnormal ones shift the significand right by sh = emin + d - et
		 * (at least d + 1, clamped where everything rounds to 0) and round
		 * there.  A T subnormal gets a spurious implicit bit, harmless as
		 * lz_convertible checks that all of them round to 0 anyway. */
		int64_t dbias = T->bias - D->bias, emin = dbias + 1;
		Expr *et = shr(c, mag, T->m);
		Expr *rn = bin(c, EX_ADD, mag,
		               bin(c, EX_ADD, band(c, shr(c, mag, d), 1), kst(c, tb, ones(d - 1))));
		Expr *nrm = bin(c, EX_SUB, shr(c, rn, d), kst(c, tb, (uint64_t)dbias << D->m));
		Expr *sig = bor(c, band(c, mag, ones(T->m)), kst(c, tb, (uint64_t)1 << T->m));
		Expr *sh = bin(c, EX_MIN,
		               bin(c, EX_SUB, kst(c, tb, (uint64_t)(emin + d)),
		                   bin(c, EX_MIN, et, kst(c, tb, (uint64_t)emin))),
		               kst(c, tb, (uint64_t)T->m + 2));
		Expr *half = bin(c, EX_SUB, op2(c, "tirx.shift_left", kst(c, tb, 1),
		                                bin(c, EX_SUB, sh, kst(c, tb, 1))),
		                 kst(c, tb, 1));
		Expr *sbias = bin(c, EX_ADD, band(c, op2(c, "tirx.shift_right", sig, sh), 1), half);
		Expr *sub = op2(c, "tirx.shift_right", bin(c, EX_ADD, sig, sbias), sh);
		Expr *code = ite(c, bin(c, EX_LT, et, kst(c, tb, (uint64_t)emin)), sub, nrm);
		/* overflow: inf where D has one, else the largest finite value */
		uint64_t top = D->style == FS_IEEE ? ones(D->e) << D->m
		             : D->style == FS_FN ? ones(db - 1) - 1 : ones(db - 1);
		code = ucast(c, db, bin(c, EX_MIN, code, kst(c, tb, top)));
		Expr *sign = shl(c, ucast(c, db, shr(c, u, tb - 1)), db - 1);
		if (D->style == FS_FNUZ) {
			/* no negative zero: 0x80 is the NaN */
			Expr *signed_code = ite(c, bin(c, EX_EQ, code, kst(c, db, 0)), code, bor(c, sign, code));
			out = ite(c, is_nan, kst(c, db, (uint64_t)1 << (db - 1)), signed_code);
		} else {
			uint64_t nan = D->style == FS_IEEE ? (ones(D->e) << D->m) | ((uint64_t)1 << (D->m - 1))
			                                   : ones(db - 1);
			out = bor(c, sign, ite(c, is_nan, kst(c, db, nan), code));
		}
	}
	return reinterp(c, to, wrap_let(c, lv, lval, out));
}

/* Wide (T) from narrow (S).  Same exponent field: a shift, as in TVM.
 * Otherwise, on the magnitude: normal numbers shift and rebias; subnormals
 * m * 2^(1-bias-mbits) go through an exact integer-to-float cast of m and
 * lower its exponent field; NaN and inf map to T's. */
static Expr *widen(const Cv *c, Expr *x, const Fmt *S, const Fmt *T, DType to)
{
	int tb = T->bits, sb = S->bits, d = T->m - S->m;
	if (same_exponent(S, T))
		return reinterp(c, to, shl(c, ucast(c, tb, reinterp(c, uint_t(c, sb), x)), d));
	Var *lv = NULL;
	Expr *lval = NULL;
	Expr *w = ucast(c, tb, src_bits(c, x, sb, &lv, &lval));
	Expr *mag = band(c, w, ones(sb - 1));
	Expr *e = shr(c, mag, S->m);
	Expr *m = band(c, mag, ones(S->m));
	Expr *nrm = bin(c, EX_ADD, shl(c, mag, d), kst(c, tb, (uint64_t)(T->bias - S->bias) << T->m));
	DType tf = dt_make(DT_FLOAT, tb, c->lanes);
	Expr *asf = reinterp(c, uint_t(c, tb), arith_cast(c->a, tf, m));
	Expr *sub = bin(c, EX_SUB, asf, kst(c, tb, (uint64_t)(S->bias + S->m - 1) << T->m));
	Expr *fin = ite(c, bin(c, EX_NE, e, kst(c, tb, 0)), nrm,
	                ite(c, bin(c, EX_NE, m, kst(c, tb, 0)), sub, kst(c, tb, 0)));
	uint64_t inf = ones(T->e) << T->m, qnan = inf | ((uint64_t)1 << (T->m - 1));
	Expr *res;
	if (S->style == FS_IEEE) /* exponent all ones: inf, NaN keeps its payload */
		res = ite(c, bin(c, EX_EQ, e, kst(c, tb, ones(S->e))), bor(c, kst(c, tb, inf), shl(c, m, d)), fin);
	else if (S->style == FS_FN)
		res = ite(c, bin(c, EX_EQ, mag, kst(c, tb, ones(sb - 1))), kst(c, tb, qnan), fin);
	else
		res = ite(c, bin(c, EX_EQ, w, kst(c, tb, (uint64_t)1 << (sb - 1))), kst(c, tb, qnan), fin);
	Expr *sign = shl(c, shr(c, w, sb - 1), tb - 1);
	return reinterp(c, to, wrap_let(c, lv, lval, bor(c, sign, res)));
}

/* e8m0 from an IEEE format F (e8m0_partner), as ml_dtypes rounds: a
 * positive finite x = 2^k * 1.f goes to 2^k, or 2^(k+1) when f >= 1/2
 * (nearest power of two; the midpoint 1.5 * 2^k rounds up); below 2^-127
 * it saturates to 2^-127 (code 0); what rounds beyond 2^127 is NaN, and
 * so are zero, negatives (-0 included), infinities and NaN. */
static Expr *e8m0_from(const Cv *c, Expr *x, const Fmt *F, DType to)
{
	Var *lv = NULL;
	Expr *lval = NULL;
	int tb = F->bits;
	Expr *u = src_bits(c, x, tb, &lv, &lval);
	Expr *mag = band(c, u, ones(tb - 1));
	Expr *e = shr(c, mag, F->m), *f = band(c, mag, ones(F->m));
	Expr *up = ite(c, bin(c, EX_GE, f, kst(c, tb, (uint64_t)1 << (F->m - 1))), kst(c, tb, 1),
	               kst(c, tb, 0));
	Expr *k = bin(c, EX_ADD, e, up); /* F's exponent field, rounded */
	Expr *code;
	uint64_t off = (uint64_t)(F->bias - 127);
	if (off == 0) {
		/* F's subnormals: 2^-127 is one; from 1.5 * 2^-127 on, 2^-126 */
		Expr *sub = ite(c, bin(c, EX_GE, f, kst(c, tb, (uint64_t)3 << (F->m - 2))), kst(c, tb, 1),
		                kst(c, tb, 0));
		code = ite(c, bin(c, EX_EQ, e, kst(c, tb, 0)), sub, k);
	} else {
		code = ite(c, bin(c, EX_LT, k, kst(c, tb, off)), kst(c, tb, 0),
		           bin(c, EX_SUB, k, kst(c, tb, off)));
	}
	Expr *bad = bin(c, EX_OR,
	                bin(c, EX_OR, bin(c, EX_NE, shr(c, u, tb - 1), kst(c, tb, 0)),
	                    bin(c, EX_EQ, mag, kst(c, tb, 0))),
	                bin(c, EX_GT, code, kst(c, tb, 254)));
	Expr *out = ucast(c, 8, ite(c, bad, kst(c, tb, 255), code));
	return reinterp(c, to, wrap_let(c, lv, lval, out));
}

/* An IEEE format F (e8m0_partner) from e8m0: 2^(c-127) exactly (for c = 0
 * a subnormal of float32 and bfloat16), 0xFF a quiet NaN. */
static Expr *e8m0_to(const Cv *c, Expr *x, const Fmt *F, DType to)
{
	Var *lv = NULL;
	Expr *lval = NULL;
	int tb = F->bits;
	Expr *w = ucast(c, tb, src_bits(c, x, 8, &lv, &lval));
	uint64_t off = (uint64_t)(F->bias - 127);
	Expr *nrm = shl(c, off ? bin(c, EX_ADD, w, kst(c, tb, off)) : w, F->m);
	if (!off) /* code 0: 2^-127, F's subnormal with the top mantissa bit */
		nrm = ite(c, bin(c, EX_EQ, w, kst(c, tb, 0)), kst(c, tb, (uint64_t)1 << (F->m - 1)), nrm);
	uint64_t qnan = (ones(F->e) << F->m) | ((uint64_t)1 << (F->m - 1));
	Expr *out = ite(c, bin(c, EX_EQ, w, kst(c, tb, 255)), kst(c, tb, qnan), nrm);
	return reinterp(c, to, wrap_let(c, lv, lval, out));
}

Expr *lz_convert(Arena *a, Expr *x, DType to)
{
	Fmt s, t;
	const char *why = lz_convertible(x->dt, to);
	if (why) {
		char b1[32], b2[32];
		die("legalize: converting %s to %s: %s", dt_str(x->dt, b1), dt_str(to, b2), why);
	}
	if (is_e8m0(x->dt) || is_e8m0(to)) {
		Cv c = {a, to.lanes};
		if (is_e8m0(x->dt) && is_e8m0(to))
			return x;
		if (is_e8m0(to)) {
			fmt_of(x->dt, &s);
			return e8m0_from(&c, x, &s, to);
		}
		fmt_of(to, &t);
		return e8m0_to(&c, x, &t, to);
	}
	fmt_of(x->dt, &s);
	fmt_of(to, &t);
	Cv c = {a, to.lanes};
	if (t.m < s.m)
		return narrow(&c, x, &s, &t, to);
	return widen(&c, x, &s, &t, to);
}

/* ------------------------------------------------------- native support */

int lz_native(const Legalize *lz, const Func *f)
{
	Obj *t = func_target(f);
	if (!t)
		return 0;
	Sym kind = target_kind(t);
	return kind && !strcmp(kind, "cuda") && target_sm(t) >= lz->native_sm;
}

/* -------------------------------------------------------- early exit */

int lz_family(DType t)
{
	if (t.code == DT_BFLOAT)
		return LZ_BF16;
	if (t.bits == 8 && t.code >= DT_F8_E3M4 && t.code <= DT_F8_E8M0FNU)
		return LZ_FP8;
	return 0;
}

/* Whether a function gives a legalizer anything to do: a value, buffer,
 * var or pointer of a matched type, or a reinterpret of a value to its own
 * type (the storage legalizer drops it).  Both legalizers leave a function
 * without any of these unchanged, so it is skipped; most modules have no
 * bf16 or fp8 at all.  One scan finds the families a function mentions for
 * all four passes: the result is kept in the module's facts, keyed by the
 * (immutable) function, so a function no pass rewrote in between is not
 * scanned again. */
enum { MT_SELF_REINTERPRET = 4, MT_ALL = LZ_BF16 | LZ_FP8 | MT_SELF_REINTERPRET,
       MT_FACT = 0x100 /* the facts word is never 0 */ };

typedef struct Mt {
	const Op *reinterpret;
	int found; /* LZ_* and MT_SELF_REINTERPRET bits */
} Mt;

static int mt_type(TType ty)
{
	return ty.kind == TY_PRIM || ty.kind == TY_PTR ? lz_family(ty.dt) : 0;
}

static int mt_expr(Walker *w, Expr *e)
{
	Mt *t = w->data;
	t->found |= lz_family(e->dt);
	if (e->kind == EX_VAR)
		t->found |= mt_type(e->var->ty);
	else if (e->kind == EX_CALL) {
		t->found |= mt_type(e->call.rty);
		if (e->call.op == t->reinterpret && e->call.rty.kind != TY_PTR &&
		    e->call.nargs == 1 && dt_eq(e->call.args[0]->dt, e->dt))
			t->found |= MT_SELF_REINTERPRET;
	}
	return t->found != MT_ALL;
}

static int mt_stmt(Walker *w, Stmt *s)
{
	return ((Mt *)w->data)->found != MT_ALL;
}

static void mt_buffer(Walker *w, Buffer *b)
{
	((Mt *)w->data)->found |= lz_family(b->dt);
}

static void mt_def(Walker *w, Var *v)
{
	((Mt *)w->data)->found |= mt_type(v->ty);
}

static uintptr_t func_fact(Module *m, Func *f)
{
	uintptr_t fact = (uintptr_t)pmap_get(&m->facts, f);
	if (!fact) {
		Mt t = {op_get("tirx.reinterpret"), 0};
		Walker w = {.stmt = mt_stmt, .expr = mt_expr, .buffer = mt_buffer, .def = mt_def,
		            .data = &t};
		walk_func(&w, f);
		fact = MT_FACT | (uintptr_t)t.found;
		pmap_put(&m->facts, f, (void *)fact);
	}
	return fact;
}

/* The module-wide word is the union over all functions, native ones
 * included (MakePackedAPI may move a native function's code to the host).
 * Passes that add no narrow type keep it (PRESERVES_NARROW), so the
 * storage legalizers usually learn from it, without any scan, that the
 * module had no bf16 or fp8 when the compute legalizers looked. */
static int mentions_matched(Module *m, Func *f, const Legalize *lz)
{
	uintptr_t want = (uintptr_t)(lz->family | MT_SELF_REINTERPRET);
	uintptr_t all = (uintptr_t)pmap_get(&m->facts, m);
	if (!all) {
		all = MT_FACT;
		for (int i = 0; i < m->nfuncs; i++)
			all |= func_fact(m, m->funcs[i]);
		pmap_put(&m->facts, m, (void *)all);
	}
	return (all & want) && (func_fact(m, f) & want);
}

/* A load rewritten by either legalizer: its buffer as mapped and its
 * type following the buffer's; the node itself when nothing changed.
 * A predicated load of a retyped buffer is refused (once: *failed). */
static Expr *retyped_load(Mutator *m, Expr *e, int *failed)
{
	Buffer *b = mut_buffer(m, e->load.buf);
	int k = e->load.nidx;
	Expr **idx = e->load.idx;
	for (int i = 0; i < k; i++) {
		Expr *x = mut_expr(m, e->load.idx[i]);
		if (x != e->load.idx[i] && idx == e->load.idx)
			idx = ar_dup(m->a, idx, (size_t)k * sizeof *idx);
		idx[i] = x;
	}
	Expr *pred = mut_expr(m, e->load.pred);
	if (b == e->load.buf && idx == e->load.idx && pred == e->load.pred)
		return e;
	if (b != e->load.buf && e->load.pred && !(*failed)++)
		diag_error(mut_loc(m), "Predicated buffer load is not currently supported in "
		                       "data type legalizer pass.");
	Expr *n = ex_dup(m->a, e);
	n->dt = dt_with_lanes(b->dt, e->dt.lanes);
	n->load.buf = b, n->load.idx = idx, n->load.pred = pred;
	return n;
}

/* ---------------------------------------------------- compute legalize */

/* Planner and legalizer state.  A buffer's storage is identified by a key:
 * an allocated buffer is its own key, a declared buffer takes the key of its
 * data (the buffer of `X.data`, or the pointer var). */
typedef struct Cl {
	const Legalize *lz;
	Arena *a;
	PtrMap key;    /* Buffer -> key */
	PtrMap alloc;  /* key -> 1: matched allocations (TVM's var_remap) */
	PtrMap opaque; /* key -> 1: the raw pointer is used */
	PtrMap used;   /* Buffer -> 1: loaded, stored or declared */
	PtrMap vars;   /* Var -> Var: retyped let/bind/reducer vars */
	Loc at;        /* the statement being rewritten, for diagnostics */
	int failed;
} Cl;

/* lz_convert, or a located error (once) where no exact conversion exists
 * (float8_e8m0fnu and a float16 compute type); the placeholder cast it
 * returns then is never printed, as the pass fails. */
static Expr *cl_convert(Cl *c, Expr *e, DType to)
{
	const char *why = lz_convertible(e->dt, to);
	if (!why)
		return lz_convert(c->a, e, to);
	if (!c->failed++) {
		char b1[32], b2[32];
		diag_error(c->at, "no exact conversion from %s to %s: %s", dt_str(dt_element(e->dt), b1),
		           dt_str(dt_element(to), b2), why);
	}
	return arith_cast(c->a, to, e);
}

static void *data_key(Cl *c, Expr *data)
{
	if (data && data->kind == EX_BUFDATA) {
		void *k = pmap_get(&c->key, data->buf);
		return k ? k : data->buf;
	}
	if (data && data->kind == EX_VAR)
		return data->var;
	return data;
}

static void *buf_key(Cl *c, Buffer *b)
{
	void *k = pmap_get(&c->key, b);
	return k ? k : b;
}

static int plan_expr(Walker *w, Expr *e)
{
	Cl *c = w->data;
	if (e->kind == EX_BUFDATA || e->kind == EX_BUFREF)
		pmap_put(&c->opaque, buf_key(c, e->buf), (void *)1);
	else if (e->kind == EX_VAR && e->var->dt.code == DT_HANDLE)
		pmap_put(&c->opaque, e->var, (void *)1);
	else if (e->kind == EX_LOAD)
		pmap_put(&c->used, e->load.buf, (void *)1);
	return 1;
}

static int plan_stmt(Walker *w, Stmt *s)
{
	Cl *c = w->data;
	Buffer *b;
	switch (s->kind) {
	case ST_ALLOC:
		b = s->alloc.buf;
		pmap_put(&c->key, b, b);
		if (c->lz->match(b->dt))
			pmap_put(&c->alloc, b, (void *)1);
		return 1;
	case ST_DECL:
		/* the data of a declaration is not a raw use of the pointer */
		b = s->decl.buf;
		pmap_put(&c->key, b, data_key(c, s->decl.data));
		pmap_put(&c->used, b, (void *)1);
		if (s->decl.data && s->decl.data->kind != EX_BUFDATA)
			walk_expr(w, s->decl.data);
		for (int i = 0; i < b->ndim; i++)
			walk_expr(w, b->shape[i]);
		for (int i = 0; i < b->nstrides; i++)
			walk_expr(w, b->strides[i]);
		walk_expr(w, b->elem_offset);
		return 0;
	case ST_STORE:
		pmap_put(&c->used, s->store.buf, (void *)1);
		return 1;
	default:
		return 1;
	}
}

static int cl_remapped(Cl *c, Buffer *b)
{
	void *k = buf_key(c, b);
	return pmap_get(&c->used, b) && pmap_get(&c->alloc, k) && !pmap_get(&c->opaque, k);
}

static DType promoted(const Cl *c, DType t)
{
	return dt_with_lanes(c->lz->promote, t.lanes);
}

static Buffer *cl_buffer(Mutator *m, Buffer *b)
{
	Cl *c = m->data;
	if (!cl_remapped(c, b))
		return b;
	Buffer *nb = ar_alloc(c->a, sizeof *nb);
	*nb = *b;
	nb->dt = promoted(c, b->dt);
	return nb;
}

static Var *cl_var(Mutator *m, Var *v)
{
	Cl *c = m->data;
	Var *nv = pmap_get(&c->vars, v);
	return nv ? nv : v;
}

/* PromoteToTarget: a matched value in the compute type; a cast from the
 * compute type is undone instead of rounded. */
static Expr *promote(Cl *c, Expr *e)
{
	if (!c->lz->match(e->dt))
		return e;
	DType p = promoted(c, e->dt);
	if (e->kind == EX_CAST && dt_eq(e->bin.a->dt, p))
		return e->bin.a;
	return cl_convert(c, e, p);
}

static Var *retype(Cl *c, Var *v, DType t)
{
	Var *nv = var_new(c->a, v->name, ty_prim(t));
	pmap_put(&c->vars, v, nv);
	return nv;
}

static Expr *cl_expr(Mutator *m, Expr *e)
{
	Cl *c = m->data;
	const Legalize *lz = c->lz;
	Expr *n;
	switch (e->kind) {
	case EX_FLOAT:
		return lz->match(e->dt) ? ex_float(c->a, lz->promote, e->f) : e;
	case EX_CAST: {
		Expr *v = promote(c, mut_expr(m, e->bin.a));
		if (lz->match(e->dt))
			return arith_cast(c->a, promoted(c, e->dt), v);
		return v == e->bin.a ? e : arith_cast(c->a, e->dt, v);
	}
	case EX_SELECT: {
		Expr *cond = mut_expr(m, e->sel.c);
		Expr *t = promote(c, mut_expr(m, e->sel.t)), *f = promote(c, mut_expr(m, e->sel.f));
		if (cond == e->sel.c && t == e->sel.t && f == e->sel.f)
			return e;
		n = ex_dup(c->a, e);
		n->dt = t->dt;
		n->sel.c = cond, n->sel.t = t, n->sel.f = f;
		return n;
	}
	case EX_BROADCAST: {
		Expr *v = promote(c, mut_expr(m, e->bcast.value));
		if (v == e->bcast.value)
			return e;
		n = ex_dup(c->a, e);
		n->dt = dt_with_lanes(v->dt, e->dt.lanes);
		n->bcast.value = v;
		return n;
	}
	case EX_SHUFFLE: {
		int k = e->shuf.nvecs, changed = 0;
		Expr **vs = ar_alloc(c->a, (size_t)(k + 1) * sizeof *vs);
		for (int i = 0; i < k; i++) {
			vs[i] = promote(c, mut_expr(m, e->shuf.vecs[i]));
			changed |= vs[i] != e->shuf.vecs[i];
		}
		if (!changed)
			return e;
		n = ex_dup(c->a, e);
		n->dt = dt_with_lanes(vs[0]->dt, e->dt.lanes);
		n->shuf.vecs = vs;
		return n;
	}
	case EX_CALL: {
		if (e->call.op == op_get("tirx.reinterpret"))
			return NULL;
		int k = e->call.nargs, changed = 0;
		Expr **args = ar_alloc(c->a, (size_t)(k + 1) * sizeof *args);
		for (int i = 0; i < k; i++) {
			args[i] = promote(c, mut_expr(m, e->call.args[i]));
			changed |= args[i] != e->call.args[i];
		}
		int retyped = e->call.rty.kind == TY_PRIM && lz->match(e->dt);
		if (!changed && !retyped)
			return e;
		n = ex_dup(c->a, e);
		n->call.args = args;
		if (retyped) {
			n->dt = promoted(c, e->dt);
			n->call.rty = ty_prim(n->dt);
		}
		return n;
	}
	case EX_LET: {
		/* TVM promotes the value without visiting it and retypes the var
		 * to the old type; we visit it and give the var the new type. */
		Expr *v = promote(c, mut_expr(m, e->let.value));
		Var *var = e->let.var;
		if (!dt_eq(v->dt, e->let.value->dt))
			var = retype(c, var, v->dt);
		Expr *body = mut_expr(m, e->let.body);
		if (v == e->let.value && var == e->let.var && body == e->let.body)
			return e;
		n = ex_dup(c->a, e);
		n->dt = body->dt;
		n->let.var = var, n->let.value = v, n->let.body = body;
		return n;
	}
	case EX_LOAD:
		/* the load keeps its buffer's type; its consumer promotes it */
		return retyped_load(m, e, &c->failed);
	case EX_ADD: case EX_SUB: case EX_MUL: case EX_DIV: case EX_MIN: case EX_MAX:
	case EX_LT: case EX_LE: case EX_GT: case EX_GE: case EX_EQ: case EX_NE: {
		Expr *x = promote(c, mut_expr(m, e->bin.a)), *y = promote(c, mut_expr(m, e->bin.b));
		if (x == e->bin.a && y == e->bin.b)
			return e;
		return pu_arith(c->a, "legalize", e->kind, x, y);
	}
	default:
		return NULL;
	}
}

static Stmt *cl_stmt(Mutator *m, Stmt *s)
{
	Cl *c = m->data;
	const Legalize *lz = c->lz;
	Stmt *n;
	c->at = s->loc;
	switch (s->kind) {
	case ST_STORE: {
		Expr *v = mut_expr(m, s->store.value);
		Expr **idx = s->store.idx;
		for (int i = 0; i < s->store.nidx; i++) {
			Expr *x = mut_expr(m, s->store.idx[i]);
			if (x != s->store.idx[i] && idx == s->store.idx)
				idx = ar_dup(c->a, idx, (size_t)s->store.nidx * sizeof *idx);
			idx[i] = x;
		}
		Buffer *b = mut_buffer(m, s->store.buf);
		if (v == s->store.value && idx == s->store.idx && b == s->store.buf)
			return s;
		int ilanes = s->store.nidx ? idx[s->store.nidx - 1]->dt.lanes : 1;
		c->at = s->loc;
		if (lz->match(b->dt) && v->dt.code == DT_FLOAT)
			v = cl_convert(c, v, dt_with_lanes(b->dt, ilanes * b->dt.lanes));
		if (!dt_eq(dt_element(v->dt), dt_element(b->dt))) {
			/* the buffer became the compute type, the value did not:
			 * a buffer of another type over the same data as a matched
			 * one (T.decl_buffer(..., "float16", data=bf16_buf.data)),
			 * which TVM's legalizer does not handle either */
			if (!lz->match(v->dt)) {
				char b1[32], b2[32];
				if (c->failed++)
					return s;
				if (b != s->store.buf)
					diag_error(s->loc, "buffer '%s' (%s) shares its data with a buffer this "
					           "pass computes in %s; buffers of other types over the data "
					           "of a legalized buffer are not supported",
					           s->store.buf->name, dt_str(dt_element(s->store.buf->dt), b1),
					           dt_str(dt_element(b->dt), b2));
				else
					diag_error(s->loc, "the value stored into '%s' (%s) reads a buffer of "
					           "another type over the data of a buffer this pass computes "
					           "in %s; buffers of other types over the data of a legalized "
					           "buffer are not supported",
					           b->name, dt_str(dt_element(b->dt), b1),
					           dt_str(dt_element(v->dt), b2));
				return s;
			}
			v = cl_convert(c, v, dt_with_lanes(b->dt, v->dt.lanes));
		}
		if (s->store.pred && !c->failed++)
			diag_error(s->loc, "Predicated buffer store is not currently supported in "
			                   "data type legalizer pass.");
		n = st_dup(c->a, s);
		n->store.value = v, n->store.idx = idx, n->store.buf = b;
		return n;
	}
	case ST_BIND: {
		Expr *v = promote(c, mut_expr(m, s->bind.value));
		Var *var = s->bind.var;
		if (!dt_eq(v->dt, s->bind.value->dt))
			var = retype(c, var, v->dt);
		if (v == s->bind.value && var == s->bind.var)
			return s;
		n = st_dup(c->a, s);
		n->bind.value = v, n->bind.var = var;
		return n;
	}
	case ST_ATTR:
		/* comm_reducer: the lhs/rhs vars take the identities' new type
		 * before the results are rewritten (by the default recursion) */
		if (s->attr.node && s->attr.node->kind == OB_REDUCER) {
			Obj *r = s->attr.node;
			for (int i = 0; i < r->red.n; i++) {
				DType t = r->red.identity[i]->dt;
				if (!lz->match(t))
					continue;
				if (r->red.lhs[i] && !pmap_get(&c->vars, r->red.lhs[i]))
					retype(c, r->red.lhs[i], promoted(c, t));
				if (r->red.rhs[i] && !pmap_get(&c->vars, r->red.rhs[i]))
					retype(c, r->red.rhs[i], promoted(c, t));
			}
		}
		return NULL;
	default:
		return NULL;
	}
}

/* Legalizes the computation of one function; 0, or 1 after a diagnostic. */
static int compute_func(Module *m, int i, const Legalize *lz)
{
	Func *f = m->funcs[i];
	{
		Cl c = {.lz = lz, .a = m->arena};
		Walker w = {.stmt = plan_stmt, .expr = plan_expr, .data = &c};
		walk_stmt(&w, f->body);
		Mutator mu = {.a = m->arena, .expr = cl_expr, .stmt = cl_stmt, .var = cl_var,
		              .buffer = cl_buffer, .data = &c};
		Stmt *body = mut_stmt(&mu, f->body);
		mut_done(&mu);
		pmap_free(&c.key);
		pmap_free(&c.alloc);
		pmap_free(&c.opaque);
		pmap_free(&c.used);
		pmap_free(&c.vars);
		if (c.failed)
			return 1;
		pu_set_body(m, i, body);
	}
	return 0;
}

int lz_compute(Module *m, const PassCtx *cx, const Legalize *lz)
{
	int lo, hi;
	pass_range(cx, m, &lo, &hi);
	for (int i = lo; i < hi; i++)
		if (!lz_native(lz, m->funcs[i]) && mentions_matched(m, m->funcs[i], lz) &&
		    compute_func(m, i, lz))
			return 1;
	return 0;
}

/* ---------------------------------------------------- storage legalize */

typedef struct Sl {
	const Legalize *lz;
	Arena *a;
	PtrMap vars; /* Var -> Var: pointers to matched types */
	int failed;
} Sl;

static DType storage_uint(DType t)
{
	return dt_make(DT_UINT, t.bits, t.lanes);
}

static Var *sl_var(Mutator *m, Var *v)
{
	Sl *c = m->data;
	Var *nv = pmap_get(&c->vars, v);
	if (nv)
		return nv;
	if (v->ty.kind != TY_PTR || !c->lz->match(v->ty.dt))
		return v;
	nv = var_new(c->a, v->name, ty_ptr(storage_uint(v->ty.dt), v->ty.scope));
	pmap_put(&c->vars, v, nv);
	return nv;
}

static Buffer *sl_buffer(Mutator *m, Buffer *b)
{
	Sl *c = m->data;
	if (!c->lz->match(b->dt))
		return b;
	Buffer *nb = ar_alloc(c->a, sizeof *nb);
	*nb = *b;
	nb->dt = storage_uint(b->dt);
	return nb;
}

static Expr *sl_expr(Mutator *m, Expr *e)
{
	Sl *c = m->data;
	Expr *n;
	if (e->kind == EX_LOAD)
		return retyped_load(m, e, &c->failed);
	if (e->kind == EX_CALL && e->call.rty.kind == TY_PTR) {
		/* a call returning a pointer to a matched type (MakePackedAPI's
		 * reinterpret of a DLTensor's data) returns storage pointers */
		int k = e->call.nargs, changed = 0;
		Expr **args = ar_alloc(c->a, (size_t)(k + 1) * sizeof *args);
		for (int i = 0; i < k; i++) {
			args[i] = mut_expr(m, e->call.args[i]);
			changed |= args[i] != e->call.args[i];
		}
		TType rty = e->call.rty;
		if (c->lz->match(rty.dt))
			rty = ty_ptr(storage_uint(rty.dt), rty.scope);
		if (!changed && ty_eq(rty, e->call.rty))
			return e;
		n = ex_dup(c->a, e);
		n->call.args = args;
		n->call.rty = rty;
		return n;
	}
	if (e->kind == EX_CALL && e->call.op == op_get("tirx.reinterpret") && e->call.nargs == 1) {
		/* an unneeded reinterpret disappears; one to a matched type
		 * reinterprets to its storage type */
		Expr *v = mut_expr(m, e->call.args[0]);
		if (dt_eq(v->dt, e->dt))
			return v;
		DType t = c->lz->match(e->dt) ? storage_uint(e->dt) : e->dt;
		if (dt_eq(v->dt, t))
			return v;
		if (v == e->call.args[0] && dt_eq(t, e->dt))
			return e;
		return ex_call(c->a, e->call.op, ty_prim(t), &v, 1);
	}
	return NULL;
}

/* The pointer type of a declaration's data, when the expression has one. */
static int data_ptr_type(const Expr *d, TType *t)
{
	if (!d)
		return 0;
	if (d->kind == EX_BUFDATA)
		*t = buf_data_type(d->buf);
	else if (d->kind == EX_VAR)
		*t = d->var->ty;
	else if (d->kind == EX_CALL)
		*t = d->call.rty;
	else
		return 0;
	return t->kind == TY_PTR;
}

static Stmt *sl_stmt(Mutator *m, Stmt *s)
{
	Sl *c = m->data;
	if (s->kind == ST_DECL && c->lz->match(s->decl.buf->dt)) {
		/* As at TVM HEAD, a declaration defines its buffer, which is
		 * retyped whatever its data is: a retyped pointer, an untyped
		 * handle (MakePackedAPI's tvm_struct_get of a DLTensor's data) or
		 * uint storage.  Data typed as a pointer to another type (float32)
		 * has no storage to retype; TVM before buffers became typed vars
		 * failed there ("Cannot find var remap"), and so do we. */
		TType t;
		if (data_ptr_type(s->decl.data, &t) && !dt_is_void(t.dt) && !c->lz->match(t.dt) &&
		    !dt_eq(dt_element(t.dt), dt_element(storage_uint(s->decl.buf->dt))) && !c->failed++)
			diag_error(s->loc, "Cannot find var remap for buffer %s", s->decl.buf->name);
		return NULL;
	}
	if (s->kind != ST_STORE)
		return NULL;
	Expr *v = mut_expr(m, s->store.value);
	/* ChangeToUInt: a stored reinterpret to a matched type stores bits */
	if (c->lz->match(v->dt) && v->kind == EX_CALL && v->call.op == op_get("tirx.reinterpret")) {
		Expr *x = v->call.args[0];
		DType t = storage_uint(v->dt);
		v = dt_eq(x->dt, t) ? x : ex_call(c->a, v->call.op, ty_prim(t), &x, 1);
	}
	Buffer *b = mut_buffer(m, s->store.buf);
	Expr **idx = s->store.idx;
	for (int i = 0; i < s->store.nidx; i++) {
		Expr *x = mut_expr(m, s->store.idx[i]);
		if (x != s->store.idx[i] && idx == s->store.idx)
			idx = ar_dup(c->a, idx, (size_t)s->store.nidx * sizeof *idx);
		idx[i] = x;
	}
	if (v == s->store.value && b == s->store.buf && idx == s->store.idx)
		return s;
	if (c->lz->match(s->store.value->dt) && b->dt.code != DT_UINT)
		die("legalize: a %d-bit float stored into a non-integer buffer", b->dt.bits);
	if (s->store.pred && !c->failed++)
		diag_error(s->loc, "Predicated buffer store is not currently supported in "
		                   "data type legalizer pass.");
	Stmt *n = st_dup(c->a, s);
	n->store.value = v, n->store.buf = b, n->store.idx = idx;
	return n;
}

/* Compute legalize leaves values of a matched type only in loads and in
 * the reinterprets that store bits; anything else is arithmetic. */
typedef struct Mc {
	const Legalize *lz;
	int found;
} Mc;

static int mc_expr(Walker *w, Expr *e)
{
	Mc *mc = w->data;
	if (mc->found)
		return 0;
	if (mc->lz->match(e->dt) && e->kind != EX_LOAD &&
	    !(e->kind == EX_CALL && e->call.op == op_get("tirx.reinterpret")))
		mc->found = 1;
	return !mc->found;
}

static int computes_matched(Func *f, const Legalize *lz)
{
	Mc mc = {lz, 0};
	Walker w = {.expr = mc_expr, .data = &mc};
	walk_stmt(&w, f->body);
	return mc.found;
}

int lz_storage(Module *m, const PassCtx *cx, const Legalize *lz)
{
	int lo, hi;
	pass_range(cx, m, &lo, &hi);
	for (int i = lo; i < hi; i++) {
		Func *f = m->funcs[i];
		if (lz_native(lz, f))
			continue;
		for (int k = 0; k < f->nparams; k++) {
			if (f->params[k].buf) {
				diag_error(f->loc, "This pass must be called after MakePackedAPI");
				return 1;
			}
		}
		if (!mentions_matched(m, f, lz))
			continue;
		/* A function that compute legalize skipped because its target
		 * was native (cuda sm_86 for bf16) but that MakePackedAPI then
		 * moved to the host target still computes in the matched type.
		 * TVM's storage legalizer turns that arithmetic into integer
		 * arithmetic on the stored bits, a wrong result; we compute it in
		 * the compute legalizer's type first. */
		if (computes_matched(f, lz)) {
			if (compute_func(m, i, lz))
				return 1;
			f = m->funcs[i];
		}
		Sl c = {.lz = lz, .a = m->arena};
		Mutator mu = {.a = m->arena, .expr = sl_expr, .stmt = sl_stmt, .var = sl_var,
		              .buffer = sl_buffer, .data = &c};
		Param *ps = f->params;
		for (int k = 0; k < f->nparams; k++) {
			Var *v = mut_var(&mu, f->params[k].var);
			if (v != f->params[k].var) {
				if (ps == f->params)
					ps = ar_dup(m->arena, ps, (size_t)f->nparams * sizeof *ps);
				ps[k].var = v;
			}
		}
		Stmt *body = mut_stmt(&mu, f->body);
		mut_done(&mu);
		pmap_free(&c.vars);
		if (c.failed)
			return 1;
		if (ps != f->params || body != f->body) {
			Func *g = ar_dup(m->arena, f, sizeof *g);
			g->params = ps;
			g->body = body;
			m->funcs[i] = g;
		}
	}
	return 0;
}
