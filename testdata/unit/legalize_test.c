/* legalize_test.c: the float conversions the BF16/FP8 legalizers write as
 * IR are bit-exact.  Each test runs the real passes (compute, then storage
 * legalize, with the verifier) on a one-store kernel `Y[0] = T.Cast(dst,
 * X[0])`, takes the stored value the passes built and evaluates it with a
 * small evaluator of the integer ops it uses, against a reference that
 * works on values (decode to double, round with rint) rather than bits:
 *   - every bf16 pattern through bf16 -> f32 -> bf16, every fp8 pattern
 *     (e4m3fn, e5m2 and the other variants) through fp8 -> f32/f16 -> fp8;
 *   - narrowing edge cases: halfway ties around every representable value,
 *     max finite, overflow, inf, NaN payloads, subnormals, negative zero;
 *   - a million pseudo-random float32 patterns and every float16 pattern;
 *   - float8_e8m0fnu (a power of two, no sign, no zero) both ways with
 *     float32: every code, and float32 edge cases, ties and random patterns
 *     against ml_dtypes' rounding (e8m0_encode). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "unit.h"

/* ------------------------------------------------- reference (by value) */

enum { R_IEEE, R_FN, R_FNUZ };

typedef struct RFmt {
	const char *name;
	int bits, e, m, bias, style;
} RFmt;

static const RFmt F32 = {"float32", 32, 8, 23, 127, R_IEEE};
static const RFmt F16 = {"float16", 16, 5, 10, 15, R_IEEE};
static const RFmt BF16 = {"bfloat16", 16, 8, 7, 127, R_IEEE};
static const RFmt E4M3FN = {"float8_e4m3fn", 8, 4, 3, 7, R_FN};
static const RFmt E5M2 = {"float8_e5m2", 8, 5, 2, 15, R_IEEE};
static const RFmt E4M3FNUZ = {"float8_e4m3fnuz", 8, 4, 3, 8, R_FNUZ};
static const RFmt E4M3B11 = {"float8_e4m3b11fnuz", 8, 4, 3, 11, R_FNUZ};
static const RFmt E5M2FNUZ = {"float8_e5m2fnuz", 8, 5, 2, 16, R_FNUZ};
static const RFmt E4M3 = {"float8_e4m3", 8, 4, 3, 7, R_IEEE};
static const RFmt E3M4 = {"float8_e3m4", 8, 3, 4, 3, R_IEEE};
/* float8_e8m0fnu: the fields make only the name and width meaningful */
static const RFmt E8M0 = {"float8_e8m0fnu", 8, 8, 0, 127, R_FN};

static uint64_t mask(int bits)
{
	return bits >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << bits) - 1;
}

static int r_isnan(const RFmt *f, uint64_t b)
{
	uint64_t mag = b & mask(f->bits - 1), emax = mask(f->e);
	if (f->style == R_IEEE)
		return (mag >> f->m) == emax && (mag & mask(f->m)) != 0;
	if (f->style == R_FN)
		return mag == mask(f->bits - 1);
	return b == (uint64_t)1 << (f->bits - 1);
}

static double r_decode(const RFmt *f, uint64_t b)
{
	uint64_t mag = b & mask(f->bits - 1), E = mag >> f->m, M = mag & mask(f->m);
	double s = (b >> (f->bits - 1)) & 1 ? -1 : 1;
	if (r_isnan(f, b))
		return NAN;
	if (f->style == R_IEEE && E == mask(f->e))
		return s * INFINITY;
	if (E == 0)
		return s * ldexp((double)M, 1 - f->bias - f->m);
	return s * ldexp((double)(M | (uint64_t)1 << f->m), (int)E - f->bias - f->m);
}

/* Round to nearest even; overflow to inf (IEEE) or the largest finite
 * value (fn, fnuz); NaN to any NaN (the caller checks NaN-ness only). */
static uint64_t r_encode(const RFmt *f, double v)
{
	uint64_t sign = signbit(v) ? (uint64_t)1 << (f->bits - 1) : 0, code;
	uint64_t top = f->style == R_IEEE ? mask(f->e) << f->m
	             : f->style == R_FN ? mask(f->bits - 1) - 1 : mask(f->bits - 1);
	if (isnan(v))
		return f->style == R_FNUZ ? (uint64_t)1 << (f->bits - 1)
		     : f->style == R_FN ? mask(f->bits - 1) : (mask(f->e + 1) << (f->m - 1));
	double a = fabs(v);
	if (isinf(a)) {
		code = top;
	} else if (a < ldexp(1, 1 - f->bias)) {
		code = (uint64_t)rint(ldexp(a, f->bias + f->m - 1));
	} else {
		int ex;
		frexp(a, &ex);
		int e = ex - 1;
		double r = rint(ldexp(a, f->m - e));
		if (r == ldexp(1, f->m + 1))
			r /= 2, e++;
		if (e + f->bias >= (int)mask(f->e) + 1)
			code = top; /* far beyond: avoid shifting out of range */
		else
			code = ((uint64_t)(e + f->bias) << f->m) | ((uint64_t)r & mask(f->m));
		if (code > top)
			code = top;
	}
	if (f->style == R_FNUZ && code == 0)
		return 0;
	return sign | code;
}

/* ------------------------------------------------------- IR evaluation */

typedef struct Env {
	uint64_t x;    /* the loaded X[0] bits */
	Var *vars[8];  /* Let vars in scope */
	uint64_t vals[8];
	int n;
	int bad;       /* an op or shift the evaluator does not accept */
} Env;

static const RFmt *fmt_of_dt(DType t)
{
	if (t.code == DT_FLOAT)
		return t.bits == 32 ? &F32 : t.bits == 16 ? &F16 : NULL;
	return NULL;
}

static uint64_t ev(Env *env, const Expr *e)
{
	if (e->dt.lanes != 1) {
		env->bad = 1;
		return 0;
	}
	uint64_t m = mask(e->dt.bits), a, b;
	switch (e->kind) {
	case EX_INT:
		return (uint64_t)e->i & m;
	case EX_LOAD:
		return env->x & m;
	case EX_VAR:
		for (int i = env->n - 1; i >= 0; i--)
			if (env->vars[i] == e->var)
				return env->vals[i];
		env->bad = 1;
		return 0;
	case EX_LET: {
		uint64_t v = ev(env, e->let.value);
		if (env->n == 8) {
			env->bad = 1;
			return 0;
		}
		env->vars[env->n] = e->let.var;
		env->vals[env->n++] = v;
		uint64_t r = ev(env, e->let.body);
		env->n--;
		return r;
	}
	case EX_CAST: {
		uint64_t v = ev(env, e->bin.a);
		if (e->bin.a->dt.code != DT_UINT)
			break;
		if (e->dt.code == DT_UINT)
			return v & m;
		const RFmt *f = fmt_of_dt(e->dt);
		if (f && v < (1u << 12)) /* exact int -> float */
			return r_encode(f, (double)v);
		break;
	}
	case EX_OR: case EX_AND:
		if (e->bin.a->dt.code != DT_BOOL || e->bin.b->dt.code != DT_BOOL)
			break;
		a = ev(env, e->bin.a);
		b = ev(env, e->bin.b);
		return e->kind == EX_OR ? (a || b) : (a && b);
	case EX_ADD: case EX_SUB: case EX_MIN: case EX_MAX:
	case EX_EQ: case EX_NE: case EX_LT: case EX_LE: case EX_GT: case EX_GE:
		if (e->bin.a->dt.code != DT_UINT || e->bin.b->dt.code != DT_UINT)
			break;
		a = ev(env, e->bin.a);
		b = ev(env, e->bin.b);
		switch (e->kind) {
		case EX_ADD: return (a + b) & m;
		case EX_SUB: return (a - b) & m;
		case EX_MIN: return a < b ? a : b;
		case EX_MAX: return a < b ? b : a;
		case EX_EQ: return a == b;
		case EX_NE: return a != b;
		case EX_LT: return a < b;
		case EX_LE: return a <= b;
		case EX_GT: return a > b;
		default: return a >= b;
		}
	case EX_SELECT: {
		/* both arms evaluated (and must be defined), as a vector select */
		uint64_t c = ev(env, e->sel.c);
		a = ev(env, e->sel.t);
		b = ev(env, e->sel.f);
		return c ? a : b;
	}
	case EX_CALL: {
		const char *n = e->call.op ? e->call.op->name : "";
		Expr **x = e->call.args;
		if (!strcmp(n, "tirx.reinterpret")) {
			if (x[0]->dt.bits != e->dt.bits)
				break;
			return ev(env, x[0]);
		}
		if (!strcmp(n, "tirx.if_then_else")) {
			/* both arms evaluated, as a vector select would */
			a = ev(env, x[1]);
			b = ev(env, x[2]);
			return ev(env, x[0]) ? a : b;
		}
		if (e->dt.code != DT_UINT)
			break;
		a = ev(env, x[0]);
		b = e->call.nargs > 1 ? ev(env, x[1]) : 0;
		if (!strcmp(n, "tirx.bitwise_and")) return a & b;
		if (!strcmp(n, "tirx.bitwise_or")) return a | b;
		if (!strcmp(n, "tirx.shift_left") || !strcmp(n, "tirx.shift_right")) {
			if (b >= (uint64_t)e->dt.bits) {
				env->bad = 1; /* undefined in C, poison in LLVM */
				return 0;
			}
			return (!strcmp(n, "tirx.shift_left") ? a << b : a >> b) & m;
		}
		break;
	}
	default:
		break;
	}
	env->bad = 1;
	return 0;
}

/* --------------------------------------------------- the pass under test */

typedef struct Conv {
	Module *m;
	Expr *value; /* the stored value after legalization */
} Conv;

static int find_store(Walker *w, Stmt *s)
{
	if (s->kind == ST_STORE)
		*(Expr **)w->data = s->store.value;
	return 1;
}

/* Legalizes `Y[0] = T.Cast(to, X[0])` with the passes for `narrow`. */
static Conv legalize(const RFmt *from, const RFmt *to, const RFmt *narrow, const char *promote)
{
	char src[1024];
	snprintf(src, sizeof src,
	         "# from tvm.script import tirx as T\n"
	         "@T.prim_func\n"
	         "def main(Xp: T.handle(\"%s\"), Yp: T.handle(\"%s\")):\n"
	         "    X = T.decl_buffer((1,), \"%s\", data=Xp)\n"
	         "    Y = T.decl_buffer((1,), \"%s\", data=Yp)\n"
	         "    Y[0] = T.Cast(\"%s\", X[0])\n",
	         from->name, to->name, from->name, to->name, to->name);
	Conv c = {tir_parse("legalize.tx", src, strlen(src)), NULL};
	if (!c.m)
		return c;
	int bf = narrow == &BF16;
	const Pass *plan[2] = {pass_find(bf ? "BF16ComputeLegalize" : "FP8ComputeLegalize"),
	                       pass_find(bf ? "BF16StorageLegalize" : "FP8StorageLegalize")};
	Buf err = {0};
	PassCtx *cx = pm_new(&(PmOptions){.verify_each = 1}, &err);
	if (promote) {
		char kv[64];
		snprintf(kv, sizeof kv, "tirx.fp8_promote_dtype=%s", promote);
		pm_set_config(cx, kv, &err);
	}
	pm_set_passes(cx, plan, 2);
	if (plan[0] && plan[1] && pm_run(cx, &c.m) == 0) {
		Walker w = {.stmt = find_store, .data = &c.value};
		walk_stmt(&w, c.m->funcs[0]->body);
	}
	pm_free(cx);
	buf_free(&err);
	return c;
}

static uint64_t run(Conv *c, uint64_t x, int *bad)
{
	Env env = {.x = x};
	uint64_t r = ev(&env, c->value);
	*bad |= env.bad;
	return r;
}

/* Every pattern of n through wide and back; every widening against the
 * reference.  Returns the number of mismatches (and prints the first). */
static int round_trip(const RFmt *n, const RFmt *w, const char *promote)
{
	Conv up = legalize(n, w, n, promote), down = legalize(w, n, n, promote);
	int bad = 0, fails = 0;
	if (!up.value || !down.value) {
		mod_free(up.m);
		mod_free(down.m);
		return 1;
	}
	for (uint64_t b = 0; b <= mask(n->bits); b++) {
		uint64_t wide = run(&up, b, &bad), back = run(&down, wide, &bad);
		double v = r_decode(n, b);
		int ok;
		if (isnan(v)) /* NaN stays NaN, and comes back a quiet NaN */
			ok = r_isnan(w, wide) && r_isnan(n, back) &&
			     (n->style != R_IEEE || (back >> (n->m - 1)) & 1);
		else
			ok = wide == r_encode(w, v) && back == b;
		if (!ok && !fails++)
			fprintf(stderr, "%s via %s: 0x%llx -> 0x%llx -> 0x%llx\n", n->name, w->name,
			        (unsigned long long)b, (unsigned long long)wide, (unsigned long long)back);
	}
	mod_free(up.m);
	mod_free(down.m);
	return fails + bad;
}

static uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* One narrowing: IR against the reference. */
static int narrow_ok(Conv *c, const RFmt *w, const RFmt *n, uint64_t x, int *bad)
{
	uint64_t r = run(c, x, bad);
	double v = r_decode(w, x);
	if (isnan(v))
		return r_isnan(n, r) && (n->style != R_IEEE || (r >> (n->m - 1)) & 1);
	return r == r_encode(n, v);
}

/* float32 -> n on edge cases and random patterns. */
static int narrow_f32(const RFmt *n)
{
	Conv c = legalize(&F32, n, n, NULL);
	int bad = 0, fails = 0;
	if (!c.value) {
		mod_free(c.m);
		return 1;
	}
	static const uint32_t edge[] = {
		0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000,
		0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7F800001, 0xFF800001,
		0x7FC00000, 0xFFC00000, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FBFFFFF, 0x7F808000,
		0x3F808000, 0x3F818000, 0x3F800001, 0x3F807FFF, 0x43E00000, 0x43E80000,
		0x43F00000, 0x47600000, 0x47700000, 0x47800000, 0x3A800000, 0x3B000000,
	};
	for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
		if (!narrow_ok(&c, &F32, n, edge[i], &bad) && !fails++)
			fprintf(stderr, "float32 0x%08x -> %s\n", edge[i], n->name);
	/* ties and their neighbours around every finite value of n */
	for (uint64_t b = 0; b < mask(n->bits - 1); b++) {
		double lo = r_decode(n, b), hi = r_decode(n, b + 1);
		if (isnan(lo) || isnan(hi) || isinf(hi))
			continue;
		float mid = (float)((lo + hi) / 2);
		float xs[6] = {mid, nextafterf(mid, 0), nextafterf(mid, INFINITY), -mid,
		               (float)hi, -(float)lo};
		for (int k = 0; k < 6; k++)
			if (!narrow_ok(&c, &F32, n, f32_bits(xs[k]), &bad) && !fails++)
				fprintf(stderr, "float32 %a -> %s\n", (double)xs[k], n->name);
	}
	/* beyond the largest finite value: half an ulp more and far more */
	uint64_t maxb = r_decode(n, mask(n->bits - 1)) != r_decode(n, mask(n->bits - 1))
	                    ? mask(n->bits - 1) - 1 : mask(n->bits - 1);
	while (isinf(r_decode(n, maxb)) || isnan(r_decode(n, maxb)))
		maxb--;
	double mx = r_decode(n, maxb), ulp = mx - r_decode(n, maxb - 1);
	float over[5] = {(float)(mx + ulp / 2), nextafterf((float)(mx + ulp / 2), 0),
	                 (float)(mx + ulp), (float)(mx * 1000), -(float)(mx + ulp / 2)};
	for (int k = 0; k < 5; k++)
		if (!narrow_ok(&c, &F32, n, f32_bits(over[k]), &bad) && !fails++)
			fprintf(stderr, "float32 %a -> %s (overflow)\n", (double)over[k], n->name);
	uint32_t s = 12345;
	for (int i = 0; i < 1000000; i++) {
		s = s * 1664525u + 1013904223u;
		uint32_t x = s ^ (s >> 13);
		if (!narrow_ok(&c, &F32, n, x, &bad) && !fails++)
			fprintf(stderr, "float32 0x%08x -> %s\n", x, n->name);
	}
	mod_free(c.m);
	return fails + bad;
}

/* float16 -> n for every float16 pattern (the fp8 float16 promote path). */
static int narrow_f16(const RFmt *n)
{
	Conv c = legalize(&F16, n, n, "float16");
	int bad = 0, fails = 0;
	if (!c.value) {
		mod_free(c.m);
		return 1;
	}
	for (uint32_t x = 0; x < 65536; x++)
		if (!narrow_ok(&c, &F16, n, x, &bad) && !fails++)
			fprintf(stderr, "float16 0x%04x -> %s\n", x, n->name);
	mod_free(c.m);
	return fails + bad;
}

UNIT_TEST(legalize_reference_sanity)
{
	/* the reference itself, on values known by heart */
	CHECK(r_encode(&BF16, 1.0) == 0x3F80);
	CHECK(r_encode(&BF16, bits_f32(0x3F808000)) == 0x3F80); /* tie to even */
	CHECK(r_encode(&BF16, bits_f32(0x3F818000)) == 0x3F82);
	CHECK(r_encode(&BF16, bits_f32(0x7F7FFFFF)) == 0x7F80); /* overflow */
	CHECK(r_encode(&E4M3FN, 448) == 0x7E);
	CHECK(r_encode(&E4M3FN, 1e9) == 0x7E);   /* saturates */
	CHECK(r_encode(&E4M3FN, -480) == 0xFE);
	CHECK(r_encode(&E4M3FN, ldexp(1, -9)) == 0x01);
	CHECK(r_encode(&E4M3FN, ldexp(1, -10)) == 0x00); /* tie to even zero */
	CHECK(r_encode(&E5M2, 57344) == 0x7B);
	CHECK(r_encode(&E5M2, 61440) == 0x7C);   /* tie, to inf */
	CHECK(r_decode(&E4M3FNUZ, 0x80) != r_decode(&E4M3FNUZ, 0x80));
	CHECK(r_encode(&E4M3FNUZ, -0.0) == 0x00);
}

UNIT_TEST(legalize_bf16_round_trip_all)
{
	CHECK(round_trip(&BF16, &F32, NULL) == 0);
}

UNIT_TEST(legalize_bf16_from_f32)
{
	CHECK(narrow_f32(&BF16) == 0);
}

UNIT_TEST(legalize_bf16_widening_is_tvm_shift)
{
	/* bf16 -> f32 keeps TVM's exact formula: the bits shifted left by 16 */
	Conv c = legalize(&BF16, &F32, &BF16, NULL);
	int bad = 0;
	CHECK(c.value != NULL);
	if (c.value)
		for (uint64_t b = 0; b < 65536; b += 257)
			CHECK(run(&c, b, &bad) == b << 16);
	CHECK(!bad);
	mod_free(c.m);
}

UNIT_TEST(legalize_fp8_round_trip_all)
{
	CHECK(round_trip(&E4M3FN, &F32, NULL) == 0);
	CHECK(round_trip(&E5M2, &F32, NULL) == 0);
	CHECK(round_trip(&E4M3FN, &F16, "float16") == 0);
	CHECK(round_trip(&E5M2, &F16, "float16") == 0);
	CHECK(round_trip(&E4M3FNUZ, &F32, NULL) == 0);
	CHECK(round_trip(&E4M3B11, &F32, NULL) == 0);
	CHECK(round_trip(&E5M2FNUZ, &F32, NULL) == 0);
	CHECK(round_trip(&E4M3, &F32, NULL) == 0);
	CHECK(round_trip(&E3M4, &F32, NULL) == 0);
	CHECK(round_trip(&E4M3FNUZ, &F16, "float16") == 0);
}

UNIT_TEST(legalize_fp8_from_f32)
{
	CHECK(narrow_f32(&E4M3FN) == 0);
	CHECK(narrow_f32(&E5M2) == 0);
	CHECK(narrow_f32(&E4M3FNUZ) == 0);
	CHECK(narrow_f32(&E5M2FNUZ) == 0);
	CHECK(narrow_f32(&E4M3) == 0);
	CHECK(narrow_f32(&E3M4) == 0);
}

/* float32 -> e8m0 as ml_dtypes 0.7 converts (checked against it on the
 * values of legalize_e8m0): the nearest power of two, the midpoint 1.5 *
 * 2^k rounding up; below 2^-127 the smallest code 0; beyond 2^127, zero,
 * negatives, inf and NaN: 0xFF (NaN). */
static uint64_t e8m0_encode(double v)
{
	if (isnan(v) || isinf(v) || v <= 0 || signbit(v))
		return 0xFF;
	int ex;
	double fr = frexp(v, &ex); /* v = 2fr * 2^(ex-1), 2fr in [1, 2) */
	int k = ex - 1 + (2 * fr >= 1.5);
	if (k < -127)
		return 0;
	return k > 127 ? 0xFF : (uint64_t)(k + 127);
}

UNIT_TEST(legalize_e8m0)
{
	/* the reference, on values ml_dtypes gave */
	static const struct { uint32_t f; uint8_t code; } known[] = {
		{0x00000000, 0xFF}, {0x80000000, 0xFF}, {0x3F800000, 127}, {0xBF800000, 0xFF},
		{0x3FC00000, 128}, {0x3FB33333, 127}, {0x40400000, 129}, {0x3F400000, 127},
		{0x00400000, 0}, {0x00200000, 0}, {0x00C00000, 2}, {0x7F000000, 254},
		{0x7F400000, 0xFF}, {0x7F800000, 0xFF}, {0xFF800000, 0xFF}, {0x7FC00000, 0xFF},
		{0x00000001, 0}, {0x00600000, 1}, {0x005FFFFF, 0}, {0x00800000, 1},
	};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		CHECK(e8m0_encode(bits_f32(known[i].f)) == known[i].code);

	Conv up = legalize(&E8M0, &F32, &E8M0, NULL), down = legalize(&F32, &E8M0, &E8M0, NULL);
	int bad = 0, fails = 0;
	CHECK(up.value != NULL && down.value != NULL);
	if (!up.value || !down.value) {
		mod_free(up.m);
		mod_free(down.m);
		return;
	}
	/* every code: 2^(c-127) exactly (0: a float32 subnormal), 0xFF NaN */
	for (uint64_t b = 0; b < 256; b++) {
		uint64_t w = run(&up, b, &bad), back = run(&down, w, &bad);
		int ok = b == 0xFF ? r_isnan(&F32, w) && (w >> 22 & 1) && back == 0xFF
		                   : r_decode(&F32, w) == ldexp(1, (int)b - 127) && back == b;
		if (!ok && !fails++)
			fprintf(stderr, "e8m0 0x%02llx -> 0x%08llx -> 0x%02llx\n", (unsigned long long)b,
			        (unsigned long long)w, (unsigned long long)back);
	}
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (run(&down, known[i].f, &bad) != known[i].code && !fails++)
			fprintf(stderr, "float32 0x%08x -> e8m0\n", known[i].f);
	/* around every power of two: the midpoints and their neighbours */
	for (int k = -149; k <= 127; k++) {
		float p = ldexpf(1, k), mid = 1.5f * p;
		float xs[6] = {p, nextafterf(p, 0), nextafterf(p, INFINITY), mid, nextafterf(mid, 0),
		               nextafterf(mid, INFINITY)};
		for (int j = 0; j < 6; j++) {
			uint32_t x = f32_bits(xs[j]);
			if (run(&down, x, &bad) != e8m0_encode(xs[j]) && !fails++)
				fprintf(stderr, "float32 %a -> e8m0\n", (double)xs[j]);
		}
	}
	uint32_t s = 777;
	for (int i = 0; i < 1000000; i++) {
		s = s * 1664525u + 1013904223u;
		uint32_t x = s ^ (s >> 13);
		if (run(&down, x, &bad) != e8m0_encode(bits_f32(x)) && !fails++)
			fprintf(stderr, "float32 0x%08x -> e8m0\n", x);
	}
	CHECK(fails == 0);
	CHECK(!bad);
	mod_free(up.m);
	mod_free(down.m);
}

UNIT_TEST(legalize_fp8_from_f16_all)
{
	CHECK(narrow_f16(&E4M3FN) == 0);
	CHECK(narrow_f16(&E5M2) == 0);
	CHECK(narrow_f16(&E4M3B11) == 0);
}
