/* lower_intrin.c: LowerIntrin, the last pass before codegen on both sides.
 *
 * IR expected: functions that each carry a "target" attr (after the split:
 *              host functions with llvm/c targets, kernels with cuda).
 * IR left:     no floordiv/floormod (codegen prints only truncating / and %),
 *              math ops spelled as the target's externs or LLVM intrinsics,
 *              warp shuffles and T.tvm_warp_activemask() as the CUDA
 *              __shfl_*_sync and __activemask ops (other targets keep
 *              them), tvm_access_ptr as address_of a buffer element.
 * Runs after:  SplitHostDevice and the host/device finalization passes.
 *
 * As TVM's IntrinInjecter, each op call is offered to the target's rule
 * tables in order (CUDA fast math when tirx.enable_fast_math, the target's
 * own, then the default ones); the first rule that changes the call wins and
 * its result is lowered again.  Floor division uses a small constant-bound
 * analysis (loop ranges, thread extents, bound values, unsigned types,
 * `if` conditions of the form `v >= c`) in place of TVM's arith::Analyzer:
 * where TVM proves a dividend non-negative we usually do too, and where we
 * cannot, the generic lowering is still exact, only longer.  Its output
 * is linear in its input: an operand the sign correction uses more than
 * once is copied only when small and free of Lets, else bound once in a
 * Let (see pu_copyable); each correction binds fresh rmod/rdiv vars.  The
 * LLVM rules of tanh, tan and atanh, which use their operand 3 or 2 times,
 * get it lowered first and shared the same way (lower_reusing); every
 * other rule uses each operand once.
 *
 * Deviations: LLVM intrinsics are named by string ("llvm.exp") instead of
 * TVM's numeric intrinsic id, which depends on the LLVM build; the Let
 * for a large operand of floor division or of the tanh/tan/atanh rules,
 * where TVM copies it.  A launch's IterVar range is lowered with its
 * value (TVM lowers only the attr value and keeps the IterVar's range as
 * it was; the text format prints only the value, so the two read back
 * the same). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

enum { T_OTHER, T_CUDA, T_LLVM };

typedef struct Bnd {
	int64_t lo, hi;
} Bnd;

#define NEG_INF INT64_MIN
#define POS_INF INT64_MAX

/* The pass's state: one per run, reset per function (the maps and arrays
 * keep their memory from function to function). */
typedef struct LI {
	Arena *a;
	Mutator mu;   /* for buffers and attr objects; its expr hook is lx */
	int kind;     /* T_* of the function's target */
	int fastmath;
	PtrMap bounds; /* Var* -> 1 + index of its current bound in bnd */
	Bnd *bnd;      /* bounds, appended: an old one stays for the undo of `if` */
	int nbnd, capbnd;
	Vec undo;      /* (var, old bounds value) pairs of the enclosing ifs */
	Vec aliases;   /* DeclBuffer stmts made by tvm_access_ptr lowering */
	Vec scratch;   /* a stack of statement lists being rebuilt */
	PtrMap ruled;  /* Op -> 1 + may_lower's answer, shared by the functions */
	int failed;
	Loc loc;
	/* looked up once per run */
	const Op *access_ptr, *shift_right, *bitwise_and, *address_of;
	const Op *pure_extern, *llvm_pure_intrin, *llvm_intrin;
	Sym thread_extent, virtual_thread, global;
	Expr *ints[16]; /* li_int's cache */
} LI;

/* ------------------------------------------------------------ bounds */

static inline Bnd everything(DType t)
{
	if (t.code == DT_BOOL)
		return (Bnd){0, 1};
	if (t.code == DT_INT && t.bits < 64 && t.bits > 0)
		return (Bnd){-((int64_t)1 << (t.bits - 1)), ((int64_t)1 << (t.bits - 1)) - 1};
	if (t.code == DT_UINT)
		return (Bnd){0, t.bits < 63 ? ((int64_t)1 << t.bits) - 1 : POS_INF};
	return (Bnd){NEG_INF, POS_INF};
}

static inline int64_t inf_add(int64_t x, int64_t y)
{
	if (x == POS_INF || y == POS_INF)
		return (x == NEG_INF || y == NEG_INF) ? 0 : POS_INF;
	if (x == NEG_INF || y == NEG_INF)
		return NEG_INF;
	int64_t r;
	if (__builtin_add_overflow(x, y, &r))
		return x > 0 ? POS_INF : NEG_INF;
	return r;
}

static inline int64_t inf_neg(int64_t x)
{
	return x == NEG_INF ? POS_INF : x == POS_INF ? NEG_INF : -x;
}

static inline int64_t inf_mul(int64_t x, int64_t y)
{
	if (x == 0 || y == 0)
		return 0;
	int neg = (x < 0) != (y < 0);
	if (x == POS_INF || x == NEG_INF || y == POS_INF || y == NEG_INF)
		return neg ? NEG_INF : POS_INF;
	int64_t r;
	if (__builtin_mul_overflow(x, y, &r))
		return neg ? NEG_INF : POS_INF;
	return r;
}

static int64_t min4(int64_t a, int64_t b, int64_t c, int64_t d)
{
	int64_t m = a < b ? a : b;
	m = m < c ? m : c;
	return m < d ? m : d;
}

static int64_t max4(int64_t a, int64_t b, int64_t c, int64_t d)
{
	int64_t m = a > b ? a : b;
	m = m > c ? m : c;
	return m > d ? m : d;
}

static int64_t inf_div(int64_t x, int64_t y, int floor)
{
	/* y != 0 and finite */
	if (x == POS_INF || x == NEG_INF)
		return (x > 0) == (y > 0) ? POS_INF : NEG_INF;
	int64_t q = x / y;
	if (floor && (x % y != 0) && ((x < 0) != (y < 0)))
		q--;
	return q;
}

static Bnd bound(LI *li, const Expr *e);

/* v's bound from now on (a new entry: the old one may be restored). */
static void set_bound(LI *li, Var *v, Bnd b)
{
	if (li->nbnd == li->capbnd) {
		li->capbnd = li->capbnd ? 2 * li->capbnd : 64;
		li->bnd = xrealloc(li->bnd, (size_t)li->capbnd * sizeof *li->bnd);
	}
	li->bnd[li->nbnd++] = b;
	pmap_put(&li->bounds, v, (void *)(intptr_t)li->nbnd);
}

static Bnd bound_div(Bnd a, Bnd b, DType t, int floor)
{
	if (b.lo > 0 && b.hi != POS_INF) {
		Bnd r = {min4(inf_div(a.lo, b.lo, floor), inf_div(a.lo, b.hi, floor),
		              inf_div(a.hi, b.lo, floor), inf_div(a.hi, b.hi, floor)),
		         max4(inf_div(a.lo, b.lo, floor), inf_div(a.lo, b.hi, floor),
		              inf_div(a.hi, b.lo, floor), inf_div(a.hi, b.hi, floor))};
		return r;
	}
	if (b.lo > 0 && a.lo >= 0)
		return (Bnd){0, a.hi};
	return everything(t);
}

static Bnd bound(LI *li, const Expr *e)
{
	Bnd a, b;
	if (e->dt.code != DT_INT && e->dt.code != DT_UINT && e->dt.code != DT_BOOL)
		return everything(e->dt);
	switch (e->kind) {
	case EX_INT:
		if (e->dt.code == DT_UINT && e->i < 0)
			return (Bnd){POS_INF, POS_INF};
		return (Bnd){e->i, e->i};
	case EX_VAR: {
		intptr_t k = (intptr_t)pmap_get(&li->bounds, e->var);
		return k ? li->bnd[k - 1] : everything(e->dt);
	}
	case EX_CAST: {
		a = e->bin.a->dt.code == DT_BOOL ? (Bnd){0, 1} : bound(li, e->bin.a);
		b = everything(e->dt);
		return (Bnd){a.lo > b.lo ? a.lo : b.lo, a.hi < b.hi ? a.hi : b.hi};
	}
	case EX_ADD:
		a = bound(li, e->bin.a), b = bound(li, e->bin.b);
		return (Bnd){inf_add(a.lo, b.lo), inf_add(a.hi, b.hi)};
	case EX_SUB:
		a = bound(li, e->bin.a), b = bound(li, e->bin.b);
		return (Bnd){inf_add(a.lo, inf_neg(b.hi)), inf_add(a.hi, inf_neg(b.lo))};
	case EX_MUL: {
		a = bound(li, e->bin.a), b = bound(li, e->bin.b);
		if (b.lo == b.hi) { /* by a constant (most): two products, not four */
			int64_t x = inf_mul(a.lo, b.lo), y = inf_mul(a.hi, b.lo);
			return (Bnd){x < y ? x : y, x > y ? x : y};
		}
		return (Bnd){min4(inf_mul(a.lo, b.lo), inf_mul(a.lo, b.hi), inf_mul(a.hi, b.lo), inf_mul(a.hi, b.hi)),
		             max4(inf_mul(a.lo, b.lo), inf_mul(a.lo, b.hi), inf_mul(a.hi, b.lo), inf_mul(a.hi, b.hi))};
	}
	case EX_DIV:
	case EX_FLOORDIV:
		a = bound(li, e->bin.a), b = bound(li, e->bin.b);
		return bound_div(a, b, e->dt, e->kind == EX_FLOORDIV);
	case EX_MOD:
		a = bound(li, e->bin.a), b = bound(li, e->bin.b);
		if (b.lo > 0) {
			int64_t cap = b.hi == POS_INF ? POS_INF : b.hi - 1;
			if (a.lo >= 0)
				return (Bnd){0, a.hi < cap ? a.hi : cap};
			int64_t lo = a.lo > inf_neg(cap) ? a.lo : inf_neg(cap);
			int64_t hi = a.hi > 0 ? a.hi : 0;
			return (Bnd){lo, hi < cap ? hi : cap};
		}
		return everything(e->dt);
	case EX_FLOORMOD:
		a = bound(li, e->bin.a), b = bound(li, e->bin.b);
		if (b.lo > 0) {
			int64_t cap = b.hi == POS_INF ? POS_INF : b.hi - 1;
			if (a.lo >= 0)
				return (Bnd){0, a.hi < cap ? a.hi : cap};
			return (Bnd){0, cap};
		}
		return everything(e->dt);
	case EX_MIN:
		a = bound(li, e->bin.a), b = bound(li, e->bin.b);
		return (Bnd){a.lo < b.lo ? a.lo : b.lo, a.hi < b.hi ? a.hi : b.hi};
	case EX_MAX:
		a = bound(li, e->bin.a), b = bound(li, e->bin.b);
		return (Bnd){a.lo > b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi};
	case EX_SELECT:
		a = bound(li, e->sel.t), b = bound(li, e->sel.f);
		return (Bnd){a.lo < b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi};
	case EX_BROADCAST:
		return bound(li, e->bcast.value);
	case EX_LET:
		set_bound(li, e->let.var, bound(li, e->let.value));
		return bound(li, e->let.body);
	case EX_CALL:
		if (e->call.op == li->shift_right && e->call.nargs == 2) {
			a = bound(li, e->call.args[0]), b = bound(li, e->call.args[1]);
			if (a.lo >= 0 && b.lo >= 0 && b.hi < 63)
				return (Bnd){b.hi == POS_INF ? 0 : a.lo >> b.hi, a.hi == POS_INF ? POS_INF : a.hi >> b.lo};
			/* a signed shift by a constant rounds toward -inf: monotone
			 * (the sign of an int32 is x >> 31, in [-1, 0]) */
			if (e->dt.code == DT_INT && b.lo == b.hi && b.lo >= 0 && b.lo < 63) {
				int64_t p = (int64_t)1 << b.lo;
				return (Bnd){inf_div(a.lo, p, 1), inf_div(a.hi, p, 1)};
			}
		}
		if (e->call.op == li->bitwise_and && e->call.nargs == 2) {
			a = bound(li, e->call.args[0]), b = bound(li, e->call.args[1]);
			if (a.lo >= 0 && b.lo >= 0)
				return (Bnd){0, a.hi < b.hi ? a.hi : b.hi};
			if (a.lo >= 0)
				return (Bnd){0, a.hi};
			if (b.lo >= 0)
				return (Bnd){0, b.hi};
		}
		return everything(e->dt);
	default:
		if (e->kind >= EX_EQ && e->kind <= EX_NOT)
			return (Bnd){0, 1};
		return everything(e->dt);
	}
}

static int prove_ge0(LI *li, const Expr *e)
{
	if (e->kind == EX_INT && e->dt.lanes == 1)
		return e->dt.code == DT_UINT || e->i >= 0;
	return bound(li, e).lo >= 0;
}

/* ------------------------------------------------------ expr builders */

static Expr *arith(LI *li, int kind, Expr *x, Expr *y)
{
	return pu_arith(li->a, "LowerIntrin", kind, x, y);
}

/* ex_int(dt, v) through a small cache: the shifts and masks of floor
 * division by powers of two repeat. */
static Expr *li_int(LI *li, DType dt, int64_t v)
{
	unsigned h = ((unsigned)v ^ (unsigned)dt.bits * 31u ^ dt.code) & 15u;
	Expr *c = li->ints[h];
	if (c && c->i == v && dt_eq(c->dt, dt))
		return c;
	return li->ints[h] = ex_int(li->a, dt, v);
}

/* tvm::MakeConst: a scalar, broadcast for vector types. */
static Expr *mk_const(LI *li, DType t, double v)
{
	DType el = dt_element(t);
	Expr *c = dt_is_float(el) ? ex_float(li->a, el, v) : ex_int(li->a, el, (int64_t)v);
	if (t.lanes == 1)
		return c;
	Expr *b = ex_new(li->a, EX_BROADCAST, t);
	b->bcast.value = c;
	return b;
}

static int is_index_type(DType t)
{
	return t.code == DT_INT && (t.bits == 32 || t.bits == 64) && t.lanes == 1;
}

/* tvm::right_shift / bitwise_and: index-type constants fold, >> 0 is x. */
static Expr *bitop(LI *li, const Op *op, Expr *x, Expr *y)
{
	const char *err = NULL;
	if (!arith_match_types(li->a, &x, &y, &err))
		die("LowerIntrin: %s", err);
	int64_t a, b;
	int ca = ex_is_const_int(x, &a), cb = ex_is_const_int(y, &b);
	if (is_index_type(x->dt) && is_index_type(y->dt)) {
		int shr = op == li->shift_right;
		if (ca && cb)
			return ex_int(li->a, x->dt, shr ? a >> b : a & b);
		if (shr && cb && b == 0)
			return x;
	}
	Expr *args[2] = {x, y};
	return ex_call(li->a, op, ty_prim(x->dt), args, 2);
}

static Expr *call1(LI *li, const char *op, Expr *x)
{
	return ex_call(li->a, op_get(op), ty_prim(x->dt), &x, 1);
}

static Expr *neg(LI *li, Expr *x)
{
	if (x->kind == EX_INT && x->dt.lanes == 1)
		return ex_int(li->a, x->dt, -x->i);
	if (x->kind == EX_FLOAT && x->dt.lanes == 1)
		return ex_float(li->a, x->dt, -x->f);
	return arith(li, EX_SUB, mk_const(li, x->dt, 0), x);
}

static Expr *select3(LI *li, Expr *c, Expr *t, Expr *f)
{
	Expr *e = ex_new(li->a, EX_SELECT, t->dt);
	e->sel.c = c, e->sel.t = t, e->sel.f = f;
	return e;
}

static Expr *let(LI *li, Var *v, Expr *val, Expr *body)
{
	Expr *e = ex_new(li->a, EX_LET, body->dt);
	e->let.var = v, e->let.value = val, e->let.body = body;
	return e;
}

/* call_pure_extern(dt, name, args...) replacing call e. */
static Expr *pure_extern(LI *li, const Expr *e, const char *name)
{
	int n = e->call.nargs;
	Expr **args = ar_alloc(li->a, (size_t)(n + 1) * sizeof *args);
	args[0] = ex_str(li->a, sym(name));
	memcpy(args + 1, e->call.args, (size_t)n * sizeof *args);
	return ex_call(li->a, li->pure_extern, e->call.rty, args, n + 1);
}

static Expr *llvm_intrin(LI *li, const Op *op, DType dt, const char *name, Expr **xs, int n)
{
	Expr **args = ar_alloc(li->a, (size_t)(n + 1) * sizeof *args);
	args[0] = ex_str(li->a, sym(name));
	memcpy(args + 1, xs, (size_t)n * sizeof *args);
	return ex_call(li->a, op, ty_prim(dt), args, n + 1);
}

/* ---------------------------------------------------------- name rules */

static const char *short_name(const Expr *e)
{
	return e->call.op->name + 5; /* past "tirx." */
}

static int in_list(const char *name, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(name, list[i]))
			return 1;
	return 0;
}

/* FloatSuffix: scalar float32 adds "f", float64 is bare, others none. */
static const char *float_suffix(char *buf, DType t, const char *name)
{
	if (t.code == DT_FLOAT && t.lanes == 1 && t.bits == 32)
		return snprintf(buf, 64, "%sf", name), buf;
	if (t.code == DT_FLOAT && t.lanes == 1 && t.bits == 64)
		return name;
	return NULL;
}

static const char *cuda_math(char *buf, DType t, const char *name)
{
	int is_round = !strcmp(name, "round");
	if (t.code == DT_FLOAT && t.bits == 64)
		return is_round ? "nearbyint" : name;
	if (t.code == DT_FLOAT && t.bits == 32)
		return is_round ? "nearbyintf" : (snprintf(buf, 64, "%sf", name), buf);
	if ((t.code == DT_FLOAT || t.code == DT_BFLOAT) && t.bits == 16) {
		if (!strcmp(name, "fabs"))
			return "__habs";
		if (is_round)
			return "hrint";
		return snprintf(buf, 64, "h%s", name), buf;
	}
	if (dt_is_int(t) && t.bits == 32)
		return snprintf(buf, 64, "__%s", name), buf;
	if (dt_is_int(t) && t.bits == 64)
		return snprintf(buf, 64, "__%sll", name), buf;
	return NULL;
}

static const char *const cuda_ops[] = {
	"floor", "ceil", "trunc", "fabs", "round", "nearbyint", "exp", "exp2", "exp10", "erf",
	"log", "log2", "log10", "tan", "cos", "cosh", "sin", "sinh", "atan", "tanh", "sqrt",
	"rsqrt", "pow", "fmod", NULL};
static const char *const cuda_fast_ops[] = {
	"exp", "exp10", "log", "log2", "log10", "cos", "sin", "tanh", "pow", NULL};
static const char *const default_ops[] = {
	"exp", "erf", "log", "log2", "log10", "log1p", "tanh", "tan", "trunc", "atan", "atanh",
	"atan2", "cos", "acos", "cosh", "acosh", "sin", "asin", "sinh", "asinh", "hypot",
	"nextafter", "copysign", "ldexp", "sqrt", "floor", "ceil", "round", "nearbyint", "pow",
	NULL};

/* llvm.FLowerIntrinsic: op -> pure intrinsic. */
static const char *const llvm_ops[][2] = {
	{"exp", "llvm.exp"}, {"exp2", "llvm.exp2"}, {"fma", "llvm.fmuladd"},
	{"log", "llvm.log"}, {"log2", "llvm.log2"}, {"log10", "llvm.log10"},
	{"sqrt", "llvm.sqrt"}, {"floor", "llvm.floor"}, {"ceil", "llvm.ceil"},
	{"trunc", "llvm.trunc"}, {"fabs", "llvm.fabs"}, {"round", "llvm.nearbyint"},
	{"nearbyint", "llvm.nearbyint"}, {"pow", "llvm.pow"}, {"popcount", "llvm.ctpop"},
	{"cos", "llvm.cos"}, {"sin", "llvm.sin"}, {NULL, NULL}};

/* CUDA rules (fast math first when on); NULL when none changes the call. */
static Expr *rule_cuda(LI *li, Expr *e)
{
	const char *n = short_name(e);
	char buf[64];
	const char *r = NULL;
	DType t = e->dt;
	if (li->fastmath && t.code == DT_FLOAT && in_list(n, cuda_fast_ops)) {
		r = t.bits == 32 ? (snprintf(buf, sizeof buf, "__%sf", n), buf) : cuda_math(buf, t, n);
	} else if (li->fastmath && !strcmp(n, "tan") && t.code == DT_FLOAT) {
		r = t.bits == 64 ? "tan" : t.bits == 32 ? "tanf" : t.bits == 16 ? "htan" : NULL;
	} else if (in_list(n, cuda_ops)) {
		r = cuda_math(buf, t, n);
	} else if (!strcmp(n, "clz") && e->call.nargs == 1) {
		r = cuda_math(buf, e->call.args[0]->dt, n);
	} else if (!strcmp(n, "popcount")) {
		if (t.code == DT_UINT && t.bits == 32)
			r = "__popc";
		else if (t.code == DT_UINT && t.bits == 64)
			r = "__popcll";
	} else if (!strncmp(n, "tvm_warp_shuffle", 16) && e->call.nargs == 5) {
		const char *op = !strcmp(n, "tvm_warp_shuffle") ? "tirx.cuda.__shfl_sync"
		                 : !strcmp(n, "tvm_warp_shuffle_up") ? "tirx.cuda.__shfl_up_sync"
		                 : !strcmp(n, "tvm_warp_shuffle_down") ? "tirx.cuda.__shfl_down_sync"
		                                                       : "tirx.cuda.__shfl_xor_sync";
		return ex_call(li->a, op_get(op), e->call.rty, e->call.args, 4);
	} else if (!strcmp(n, "tvm_warp_activemask")) {
		/* TVM's DispatchCUDAWarpActiveMask; other targets keep the call */
		return ex_call(li->a, op_get("tirx.cuda.__activemask"), e->call.rty, e->call.args, e->call.nargs);
	}
	return r ? pure_extern(li, e, r) : NULL;
}

static Expr *rule_llvm(LI *li, Expr *e)
{
	const char *n = short_name(e);
	Expr *x = e->call.nargs ? e->call.args[0] : NULL;
	for (int i = 0; llvm_ops[i][0]; i++)
		if (!strcmp(n, llvm_ops[i][0]))
			return llvm_intrin(li, li->llvm_pure_intrin, e->dt, llvm_ops[i][1],
			                   e->call.args, e->call.nargs);
	if (!x)
		return NULL;
	DType t = x->dt;
	if (!strcmp(n, "tanh")) {
		/* numerically stable: no inf/inf for large |x| */
		Expr *one = mk_const(li, t, 1), *two = mk_const(li, t, 2), *ntwo = mk_const(li, t, -2);
		Expr *en = call1(li, "tirx.exp", arith(li, EX_MUL, ntwo, x));
		Expr *ep = call1(li, "tirx.exp", arith(li, EX_MUL, two, x));
		Expr *pos = arith(li, EX_DIV, arith(li, EX_SUB, one, en), arith(li, EX_ADD, one, en));
		Expr *ng = arith(li, EX_DIV, arith(li, EX_SUB, ep, one), arith(li, EX_ADD, ep, one));
		return select3(li, arith(li, EX_GE, x, mk_const(li, t, 0)), pos, ng);
	}
	/* llvm.FLegalize */
	if (!strcmp(n, "exp10"))
		return call1(li, "tirx.exp", arith(li, EX_MUL, x, mk_const(li, t, 2.302585093)));
	if (!strcmp(n, "tan"))
		return arith(li, EX_DIV, call1(li, "tirx.sin", x), call1(li, "tirx.cos", x));
	if (!strcmp(n, "asin") || !strcmp(n, "acos")) {
		char buf[64];
		const char *r = float_suffix(buf, e->dt, n);
		return r ? pure_extern(li, e, r) : NULL;
	}
	if (!strcmp(n, "atanh")) {
		Expr *one = mk_const(li, t, 1);
		Expr *d = arith(li, EX_SUB, call1(li, "tirx.log", arith(li, EX_ADD, one, x)),
		                call1(li, "tirx.log", arith(li, EX_SUB, one, x)));
		return arith(li, EX_MUL, d, mk_const(li, t, 0.5));
	}
	if (!strcmp(n, "clz")) {
		/* is_zero_undef: an int1 1, as TVM 0.27 passes it (not a bool:
		 * the two are different types to TVM's structural equality) */
		Expr *xs[2] = {x, ex_int(li->a, dt_make(DT_INT, 1, 1), 1)};
		return arith_cast(li->a, e->dt, llvm_intrin(li, li->llvm_intrin, t, "llvm.ctlz", xs, 2));
	}
	return NULL;
}

static Expr *rule_default(LI *li, Expr *e)
{
	const char *n = short_name(e);
	char buf[64];
	if (in_list(n, default_ops)) {
		const char *r = float_suffix(buf, e->dt, n);
		return r ? pure_extern(li, e, r) : NULL;
	}
	if (e->call.nargs != 1)
		return NULL;
	Expr *x = e->call.args[0];
	if (!strcmp(n, "rsqrt"))
		return arith(li, EX_DIV, mk_const(li, x->dt, 1), call1(li, "tirx.sqrt", x));
	if (!strcmp(n, "sigmoid")) {
		Expr *one = mk_const(li, x->dt, 1);
		return arith(li, EX_DIV, one, arith(li, EX_ADD, one, call1(li, "tirx.exp", neg(li, x))));
	}
	return NULL;
}

/* Whether some rule above names the op (by its short name): the other ops,
 * most calls of a module, skip the rule tables' string compares. */
static int names_rule(const char *n)
{
	static const char *const also[] = {
		"tan", "clz", "popcount", "tvm_warp_activemask", "tanh", "exp10", "asin", "acos",
		"atanh", "rsqrt", "sigmoid", NULL};
	for (int i = 0; llvm_ops[i][0]; i++)
		if (!strcmp(n, llvm_ops[i][0]))
			return 1;
	return in_list(n, cuda_ops) || in_list(n, cuda_fast_ops) || in_list(n, default_ops) ||
	       in_list(n, also) || !strncmp(n, "tvm_warp_shuffle", 16);
}

/* Whether the rules may change a call of op: cached per op for the run. */
static int may_lower(LI *li, const Op *op)
{
	intptr_t k = (intptr_t)pmap_get(&li->ruled, op);
	if (!k) {
		k = 1 + (!strncmp(op->name, "tirx.", 5) && names_rule(op->name + 5));
		pmap_put(&li->ruled, op, (void *)k);
	}
	return k == 2;
}

static Expr *lower_call(LI *li, Expr *e)
{
	if (!e->call.op || !may_lower(li, e->call.op))
		return NULL;
	Expr *r = NULL;
	if (li->kind == T_CUDA)
		r = rule_cuda(li, e);
	else if (li->kind == T_LLVM)
		r = rule_llvm(li, e);
	if (!r)
		r = rule_default(li, e);
	return r;
}

/* ------------------------------------------------------ tvm_access_ptr */

/* tvm_access_ptr(T.type_annotation(dt), data, offset, extent, rw) becomes
 * address_of(buf[offset]) over the buffer itself when it is a 1-d buffer of
 * dt, else over a scalar alias declared just before the statement. */
static Expr *lower_access_ptr(LI *li, Expr *e)
{
	if (e->call.nargs != 5)
		return NULL;
	DType dt = e->call.args[0]->dt;
	Expr *off = e->call.args[2];
	Expr *base = e->call.args[1];
	while (base->kind == EX_CALL && base->call.op == e->call.op && base->call.nargs == 5) {
		Expr *inner = base->call.args[2];
		if (!dt_eq(inner->dt, off->dt))
			inner = ex_cast(li->a, off->dt, inner);
		off = arith(li, EX_ADD, inner, off);
		base = base->call.args[1];
	}
	DType el = dt_element(dt);
	Expr *ext = arith(li, EX_ADD, off, ex_int(li->a, off->dt, 1));
	if (dt.lanes != 1) {
		off = arith(li, EX_MUL, off, ex_int(li->a, off->dt, dt.lanes));
		ext = arith(li, EX_ADD, off, ex_int(li->a, off->dt, dt.lanes));
		Expr *r = ex_new(li->a, EX_RAMP, dt_with_lanes(off->dt, dt.lanes));
		r->ramp.base = off;
		r->ramp.stride = ex_int(li->a, off->dt, 1);
		off = r;
	}
	Buffer *buf = NULL;
	Expr *data = NULL;
	Sym scope = li->global, name;
	if (base->kind == EX_BUFDATA || base->kind == EX_BUFREF) {
		Buffer *src = base->buf;
		if (dt_eq(src->dt, el) && src->ndim == 1) {
			buf = src;
		} else {
			scope = src->scope;
			data = ex_new(li->a, EX_BUFDATA, DT_HANDLE64);
			data->buf = src;
		}
		name = src->name;
	} else if (base->kind == EX_VAR && base->var->ty.kind == TY_PTR) {
		scope = base->var->ty.scope ? base->var->ty.scope : scope;
		data = base;
		name = base->var->name;
	} else {
		return NULL;
	}
	if (!buf) {
		char nm[256];
		snprintf(nm, sizeof nm, "%s_access", name);
		/* the shape must live in the arena: buf_new keeps the pointer */
		buf = buf_new(li->a, sym(nm), el, ar_dup(li->a, &ext, sizeof ext), 1);
		buf->scope = scope;
		Stmt *d = st_new(li->a, ST_DECL, NOLOC);
		d->decl.buf = buf;
		d->decl.data = data;
		vec_push(&li->aliases, d);
	}
	Expr *ld = ex_new(li->a, EX_LOAD, dt);
	ld->load.buf = buf;
	ld->load.idx = ar_dup(li->a, &off, sizeof off);
	ld->load.nidx = 1;
	return ex_call(li->a, li->address_of, e->call.rty, &ld, 1);
}

/* ---------------------------------------------------------- floor ops */

/* A c > 0 with a + b*c >= 0 over a's bound and no overflow; 0 if none. */
static int64_t shift_coeff(LI *li, Expr *a, int64_t b)
{
	if (b <= 0)
		return 0;
	Bnd ba = bound(li, a);
	if (ba.lo >= 0 || ba.lo == NEG_INF)
		return 0;
	Bnd full = everything(dt_element(a->dt));
	int64_t maxv = full.hi;
	if (b - 1 > maxv + ba.lo)
		return 0;
	int64_t c = ((b - 1) - ba.lo) / b;
	if (c <= 0 || c > maxv / b)
		return 0;
	if (ba.hi > maxv - b * c)
		return 0;
	return c;
}

static int pow2_shift(const Expr *b, int *shift)
{
	int64_t v;
	if (!ex_is_const_int(b, &v) || v <= 0 || (v & (v - 1)))
		return 0;
	int s = 0;
	while (((int64_t)1 << s) != v)
		s++;
	*shift = s;
	return 1;
}

/* x itself when copyable, else a fresh var `name` (with x's bound) that
 * *v binds to x: the caller wraps its result in that Let. */
static Expr *share(LI *li, Expr *x, const char *name, Var **v)
{
	*v = NULL;
	if (pu_copyable(x))
		return x;
	*v = var_new(li->a, sym(name), ty_prim(x->dt));
	set_bound(li, *v, bound(li, x));
	return ex_var(li->a, *v);
}

/* The lowering of floordiv/floormod(a, b) (a and b lowered), as TVM's:
 * truncating division when a >= 0 is known, shifted into the positive
 * range when a has a known lower bound, else a sign correction. */
static Expr *lower_floor(LI *li, int kind, Expr *a, Expr *b, DType dt)
{
	int shift, div = kind == EX_FLOORDIV;
	if (!dt_is_int(dt)) {
		if (!li->failed)
			diag_error(li->loc, "LowerIntrin: %s of non-integer type is not supported",
			           div ? "floordiv" : "floormod");
		li->failed = 1;
		return NULL;
	}
	if (pow2_shift(b, &shift)) {
		if (div)
			return bitop(li, li->shift_right, a, li_int(li, dt, shift));
		return bitop(li, li->bitwise_and, a, li_int(li, dt, ((int64_t)1 << shift) - 1));
	}
	Expr *one = mk_const(li, dt, 1), *zero = ex_int(li->a, dt_element(dt), 0);
	int wide = dt.code == DT_INT && (dt.bits == 32 || dt.bits == 64) && dt.lanes == 1;
	int64_t bv;
	int bpos = prove_ge0(li, b);
	if (bpos) {
		if (prove_ge0(li, a))
			return arith(li, div ? EX_DIV : EX_MOD, a, b);
		if (ex_is_const_int(b, &bv)) {
			int64_t c = shift_coeff(li, a, bv);
			if (c) {
				Expr *sa = arith(li, EX_ADD, a, ex_int(li->a, dt, bv * c));
				if (div)
					return arith(li, EX_SUB, arith(li, EX_DIV, sa, b), ex_int(li->a, dt, c));
				return arith(li, EX_MOD, sa, b);
			}
		}
	}
	/* The corrections below use a and b more than once. */
	Var *va, *vb;
	Expr *a0 = a, *b0 = b;
	a = share(li, a, div ? "fdiv_a" : "fmod_a", &va);
	b = share(li, b, div ? "fdiv_b" : "fmod_b", &vb);
	Expr *r;
	if (bpos) {
		Expr *rmod = arith(li, EX_MOD, a, b);
		Expr *sign = NULL;
		if (wide)
			sign = bitop(li, li->shift_right, rmod, ex_int(li->a, dt, dt.bits - 1));
		if (div) {
			Expr *rdiv = arith(li, EX_DIV, a, b);
			if (wide)
				r = arith(li, EX_ADD, rdiv, sign);
			else
				r = select3(li, arith(li, EX_GE, rmod, zero), rdiv, arith(li, EX_SUB, rdiv, one));
		} else if (wide) {
			r = arith(li, EX_ADD, rmod, bitop(li, li->bitwise_and, b, sign));
		} else {
			r = select3(li, arith(li, EX_GE, rmod, zero), rmod, arith(li, EX_ADD, rmod, b));
		}
	} else {
		/* divisor of unknown sign: fresh rmod/rdiv per lowering */
		Var *vm = var_new(li->a, sym("rmod"), ty_prim(dt));
		Expr *rmod = ex_var(li->a, vm);
		Expr *c1 = arith(li, EX_AND, arith(li, EX_GE, b, zero), arith(li, EX_GE, rmod, zero));
		Expr *c2 = arith(li, EX_AND, arith(li, EX_LT, b, zero), arith(li, EX_LE, rmod, zero));
		Expr *cond = arith(li, EX_OR, c1, c2);
		if (div) {
			Var *vd = var_new(li->a, sym("rdiv"), ty_prim(dt));
			Expr *rdiv = ex_var(li->a, vd);
			Expr *body = let(li, vd, arith(li, EX_DIV, a, b),
			                 select3(li, cond, rdiv, arith(li, EX_SUB, rdiv, one)));
			r = let(li, vm, arith(li, EX_MOD, a, b), body);
		} else {
			r = let(li, vm, arith(li, EX_MOD, a, b), select3(li, cond, rmod, arith(li, EX_ADD, rmod, b)));
		}
	}
	if (vb)
		r = let(li, vb, b0, r);
	if (va)
		r = let(li, va, a0, r);
	return r;
}

/* ------------------------------------------------------------ mutator */

static Expr *swap_bcast_cast(LI *li, Expr *e)
{
	if (e->kind != EX_BROADCAST || e->bcast.value->kind != EX_CAST)
		return e;
	Expr *c = e->bcast.value;
	DType ct = c->dt, vt = c->bin.a->dt;
	int swap = ct.bits == vt.bits * 2 ||
	           (dt_is_int(ct) && dt_is_int(vt) && ct.bits > vt.bits);
	if (!swap)
		return e;
	Expr *b = ex_new(li->a, EX_BROADCAST, dt_with_lanes(vt, e->dt.lanes));
	b->bcast.value = c->bin.a;
	return ex_cast(li->a, e->dt, b);
}


/* The lowered e (the Mutator with li_expr on the kinds it lowers). */
static Expr *lx(LI *li, Expr *e)
{
	return mut_expr(&li->mu, e);
}

static Expr *make_fma(LI *li, Expr *x, Expr *y, Expr *c, Expr *add)
{
	Expr *lhs = swap_bcast_cast(li, x), *rhs = swap_bcast_cast(li, y);
	if (li->kind == T_LLVM && add->dt.code == DT_FLOAT) {
		Expr *xs[3] = {lhs, rhs, c};
		return lx(li, llvm_intrin(li, li->llvm_pure_intrin, add->dt, "llvm.fmuladd", xs, 3));
	}
	if (lhs != x || rhs != y) {
		Expr *mul = lx(li, ex_bin(li->a, EX_MUL, lhs, rhs));
		return ex_bin(li->a, EX_ADD, mul, lx(li, c));
	}
	return NULL;
}

static int is_int_zero(const Expr *e)
{
	int64_t v;
	return ex_is_const_int(e, &v) && v == 0;
}

/* Whether e's LLVM rule uses its operand more than once: tanh (three
 * times), tan and atanh (twice). */
static int reuses_arg(const Expr *e)
{
	static const char *const ops[] = {"tanh", "tan", "atanh", NULL};
	return e->call.op && !strncmp(e->call.op->name, "tirx.", 5) && in_list(short_name(e), ops);
}

/* tanh/tan/atanh on LLVM, linear in the operand: the operand is lowered
 * once, then the rule sees it copied when small (as TVM) or as a fresh var
 * bound to it by a Let around the result (TVM copies it; a nest of such
 * calls would grow by a factor of 2-3 per level).  Only the rule's own new
 * nodes are lowered after it, so the operand is not lowered again. */
static Expr *lower_reusing(LI *li, Expr *e)
{
	char name[64];
	snprintf(name, sizeof name, "%s_x", short_name(e));
	Expr *x0 = lx(li, e->call.args[0]);
	Var *v;
	Expr *x = share(li, x0, name, &v);
	Expr *c = ex_call(li->a, e->call.op, e->call.rty, &x, 1);
	Expr *r = rule_llvm(li, c);
	if (!r) /* not reached: the three rules always apply */
		return x0 == e->call.args[0] ? e : ex_call(li->a, e->call.op, e->call.rty, &x0, 1);
	r = lx(li, r);
	return v ? let(li, v, x0, r) : r;
}

/* The Mutator's expr hook, on the kinds of LI_KINDS: the node lowered, or
 * NULL to have the Mutator rewrite its children.  Results of a rule are
 * lowered again (a rule may produce nodes other rules lower). */
#define LI_KINDS (EXK(EX_CALL) | EXK(EX_ADD) | EXK(EX_FLOORDIV) | EXK(EX_FLOORMOD) | \
                  EXK(EX_MAX) | EXK(EX_EQ) | EXK(EX_NE) | EXK(EX_LET))
static Expr *li_expr(Mutator *m, Expr *e)
{
	LI *li = m->data;
	Expr *x, *y, *r = NULL;
	switch (e->kind) {
	case EX_CALL:
		if (li->kind == T_LLVM && e->call.nargs == 1 && reuses_arg(e))
			return lower_reusing(li, e);
		/* an op call the rules change is replaced, and the result lowered */
		r = e->call.op == li->access_ptr ? lower_access_ptr(li, e) : lower_call(li, e);
		return r ? lx(li, r) : NULL;
	case EX_ADD:
		if (e->bin.b->kind == EX_MUL)
			r = make_fma(li, e->bin.b->bin.a, e->bin.b->bin.b, e->bin.a, e);
		else if (e->bin.a->kind == EX_MUL)
			r = make_fma(li, e->bin.a->bin.a, e->bin.a->bin.b, e->bin.b, e);
		return r;
	case EX_FLOORDIV:
	case EX_FLOORMOD:
		x = lx(li, e->bin.a), y = lx(li, e->bin.b);
		r = lower_floor(li, e->kind, x, y, e->dt);
		return r ? r : e;
	case EX_MAX: {
		/* max(floordiv(x, y), c) with c >= 0 and y >= 0: truncdiv suffices */
		Expr *fd = e->bin.a;
		int64_t c;
		if (fd->kind == EX_FLOORDIV && ex_is_const_int(e->bin.b, &c) && c >= 0 &&
		    prove_ge0(li, fd->bin.b)) {
			Expr *t = arith(li, EX_DIV, fd->bin.a, fd->bin.b);
			return arith(li, EX_MAX, lx(li, t), e->bin.b);
		}
		return NULL;
	}
	case EX_EQ:
	case EX_NE:
		if (e->bin.a->kind == EX_FLOORMOD && is_int_zero(e->bin.b) &&
		    dt_eq(e->bin.b->dt, e->bin.a->dt)) {
			Expr *fm = e->bin.a;
			Expr *t = arith(li, EX_MOD, fm->bin.a, fm->bin.b);
			return lx(li, arith(li, e->kind, t, ex_int(li->a, t->dt, 0)));
		}
		return NULL;
	default: /* EX_LET: the body sees the value's bounds */
		x = lx(li, e->let.value);
		set_bound(li, e->let.var, bound(li, x));
		y = lx(li, e->let.body);
		return x == e->let.value && y == e->let.body ? e : let(li, e->let.var, x, y);
	}
}

static Expr *const_val(Expr *e, int64_t *v)
{
	return ex_is_const_int(e, v) ? e : NULL;
}

/* Refines bounds from `v >= c`, `v > c`, `v < c`, `v <= c` conjuncts;
 * pushes (var, old bounds value) pairs on li->undo. */
static void constrain(LI *li, Expr *c)
{
	int64_t k;
	if (c->kind == EX_AND) {
		constrain(li, c->bin.a);
		constrain(li, c->bin.b);
		return;
	}
	if (c->kind < EX_LT || c->kind > EX_GE || c->bin.a->kind != EX_VAR || !const_val(c->bin.b, &k))
		return;
	Var *v = c->bin.a->var;
	void *old = pmap_get(&li->bounds, v);
	Bnd b = old ? li->bnd[(intptr_t)old - 1] : everything(v->dt);
	vec_push(&li->undo, v);
	vec_push(&li->undo, old);
	switch (c->kind) {
	case EX_GE: b.lo = k > b.lo ? k : b.lo; break;
	case EX_GT: b.lo = k + 1 > b.lo ? k + 1 : b.lo; break;
	case EX_LE: b.hi = k < b.hi ? k : b.hi; break;
	case EX_LT: b.hi = k - 1 < b.hi ? k - 1 : b.hi; break;
	}
	set_bound(li, v, b);
}

/* The Mutator's stmt hook: the bounds s's definitions give, then its
 * children lowered, then the aliases made by tvm_access_ptr lowering put in
 * front of it. */
static Stmt *li_stmt(Mutator *m, Stmt *s)
{
	LI *li = m->data;
	if (s->loc.file >= 0)
		li->loc = s->loc;
	switch (s->kind) {
	case ST_FOR: {
		Bnd mn = bound(li, s->loop.min), ext = bound(li, s->loop.extent);
		set_bound(li, s->loop.var, (Bnd){mn.lo, inf_add(inf_add(mn.hi, ext.hi), -1)});
		break;
	}
	case ST_BIND:
		set_bound(li, s->bind.var, bound(li, s->bind.value));
		break;
	case ST_ATTR:
		if ((s->attr.key == li->thread_extent || s->attr.key == li->virtual_thread) &&
		    s->attr.node && s->attr.node->kind == OB_ITERVAR && s->attr.node->iv.var) {
			Bnd ext = bound(li, s->attr.value);
			set_bound(li, s->attr.node->iv.var, (Bnd){0, inf_add(ext.hi, -1)});
		}
		/* An attr over constants and vars makes no aliases of its own:
		 * the Mutator rewrites it and follows its body with a loop
		 * (chains of flat frames cost no stack). */
		if ((!s->attr.value || s->attr.value->kind <= EX_VAR) &&
		    (!s->attr.node || s->attr.node->kind != OB_EXPR || !s->attr.node->expr ||
		     s->attr.node->expr->kind <= EX_VAR))
			return NULL;
		break;
	case ST_SEQ:
		/* every item puts its own aliases in front of itself */
		return NULL;
	case ST_IF: {
		/* the then-branch sees the condition's bounds, restored after;
		 * aliases of the condition go in front of the enclosing statement */
		Expr *c = lx(li, s->ifs.cond);
		int mark = li->undo.n;
		constrain(li, s->ifs.cond);
		Stmt *t = mut_stmt(m, s->ifs.then);
		for (int i = li->undo.n - 2; i >= mark; i -= 2)
			pmap_put(&li->bounds, li->undo.v[i], li->undo.v[i + 1]);
		li->undo.n = mark;
		Stmt *f = mut_stmt(m, s->ifs.els);
		if (c == s->ifs.cond && t == s->ifs.then && f == s->ifs.els)
			return s;
		Stmt *n = st_new(li->a, ST_IF, s->loc);
		n->ifs.cond = c, n->ifs.then = t, n->ifs.els = f;
		return n;
	}
	default:
		break;
	}
	int na = li->aliases.n;
	Stmt *r = mut_stmt_children(m, s);
	if (li->aliases.n > na) {
		int k = li->aliases.n - na, mark = li->scratch.n;
		for (int i = 0; i < k; i++)
			vec_push(&li->scratch, li->aliases.v[li->aliases.n - 1 - i]);
		vec_push(&li->scratch, r);
		r = st_seq(li->a, (Stmt **)li->scratch.v + mark, k + 1);
		li->scratch.n = mark;
		li->aliases.n = na;
	}
	return r;
}

/* Empties a map for the next function, keeping a small table's memory. */
static void pmap_reset(PtrMap *m)
{
	if (m->cap > 1024)
		pmap_free(m);
	else if (m->n)
		pmap_clear(m);
}

static Stmt *lower_func(LI *li, Func *f, int kind)
{
	li->kind = kind;
	li->loc = f->loc;
	li->nbnd = 0;
	pmap_reset(&li->bounds);
	li->mu = (Mutator){.a = li->a, .expr = li_expr, .stmt = li_stmt, .kinds = LI_KINDS, .data = li};
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].var && f->params[i].var->ty.kind == TY_PRIM)
			set_bound(li, f->params[i].var, everything(f->params[i].var->dt));
	Stmt *body = mut_stmt(&li->mu, f->body);
	mut_done(&li->mu);
	return body;
}

static int truthy(const char *v)
{
	return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "True"));
}

int pass_lower_intrin(Module **m, PassCtx *cx)
{
	Module *mod = *m;
	Sym cuda = sym("cuda"), llvm = sym("llvm");
	LI li = {
		.a = mod->arena,
		.fastmath = truthy(pass_config(cx, "tirx.enable_fast_math")),
		.access_ptr = op_get("tirx.tvm_access_ptr"),
		.shift_right = op_get("tirx.shift_right"),
		.bitwise_and = op_get("tirx.bitwise_and"),
		.address_of = op_get("tirx.address_of"),
		.pure_extern = op_get("tirx.call_pure_extern"),
		.llvm_pure_intrin = op_get("tirx.call_llvm_pure_intrin"),
		.llvm_intrin = op_get("tirx.call_llvm_intrin"),
		.thread_extent = sym("thread_extent"),
		.virtual_thread = sym("virtual_thread"),
		.global = sym("global"),
	};
	int lo, hi;
	pass_range(cx, mod, &lo, &hi);
	for (int i = lo; i < hi && !li.failed; i++) {
		Func *f = mod->funcs[i];
		Obj *t = func_target(f);
		if (!t) {
			diag_error(f->loc, "LowerIntrin: Require the target attribute");
			li.failed = 1;
			break;
		}
		Sym k = target_kind(t);
		Stmt *body = lower_func(&li, f, k == cuda ? T_CUDA : k == llvm ? T_LLVM : T_OTHER);
		if (!li.failed)
			pu_set_body(mod, i, body);
	}
	pmap_free(&li.bounds);
	pmap_free(&li.ruled);
	free(li.bnd);
	vec_free(&li.undo);
	vec_free(&li.aliases);
	vec_free(&li.scratch);
	return li.failed;
}
