/* cuda_c.c: CUDA C for the device functions the pipeline leaves.
 *
 * Expects: a module after the host/device split and device finalization
 * (the default or head pipeline): device functions whose target is CUDA,
 * kernels with calling_conv 2 (pointer and scalar parameters, thread
 * launches as thread_extent attrs, flat one-index buffer accesses, no
 * floordiv/floormod: LowerIntrin has run) and their callees with
 * calling_conv 0.  Host functions are skipped.
 * Emits: our preamble (cuda_header.c: only what the code uses), the helper
 * functions the intrinsics need, a forward declaration of every function,
 * then every function, in module order.
 * Before it: a pipeline that ends in LowerIntrin (default, head).
 *
 * The kernels are TVM 0.27's CodeGenCUDA (on CodeGenC, non-SSA mode) token
 * for token: the same names (a per-function name supply with TVM's
 * reserved words and `_N` suffixes), the same temporaries (`v_`, `_N`,
 * `condval`) at the same places, the same parentheses and spacing, the
 * same constant spellings (hexfloat with a scientific comment).  Where TVM
 * relies on its arithmetic analyzer (the end of a loop that does not start
 * at 0, launch bounds, whether a vector load is aligned), we fold constants
 * and use a modular-set analysis of the index; where those are weaker than
 * TVM's analyzer the code is equivalent but may be spelled differently
 * (docs/compatibility.md).  Where TVM's spelling does not compile (or
 * draws an nvcc warning) and a close one does, we print that and list it
 * there: `(void)n;` for an evaluated value, `(part).x` for a lane of a
 * shuffle part, C++ keywords and CUDA built-ins reserved as names; the code
 * must build with nvcc -Werror all-warnings (mk/cuda-build.sh).  Other
 * constructs TVM would print into code that does
 * not compile, or that we cannot print exactly, are refused at their
 * statement: predicated loads and stores, floordiv left unlowered, asserts
 * in device code, intrinsics without a CUDA spelling here.
 * wmma fragments print although TVM 0.27 cannot print them: its code
 * generator needs the fragment attrs before the allocation, where the flat
 * IR cannot have them; we look them up in the function (wmma_alloc).
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "cuda.h"
#include "parse.h"

/* Handle element types registered for pointer vars and buffers, as a
 * non-NULL word. */
static void *dt_word(DType t)
{
	return (void *)(uintptr_t)(((uint64_t)1 << 40) | (uint64_t)t.code | (uint64_t)t.bits << 8 |
	                           (uint64_t)t.lanes << 16);
}

static DType word_dt(void *w)
{
	uint64_t v = (uint64_t)(uintptr_t)w;
	return dt_make((int)(v & 0xff), (int)((v >> 8) & 0xff), (int)((v >> 16) & 0xffff));
}

typedef struct SsaEntry {
	const char *vid;
	int scope;
	long stmt; /* the statement that made it; -1: a constant */
} SsaEntry;

typedef struct G {
	Arena *A;            /* strings and entries made while printing */
	Buf decl, fwd, body; /* TVM's decl_stream, fwd_decl_stream, stream */
	Buf *os;             /* where statements go: &body */
	int indent;
	/* per function (InitFuncState) */
	PtrMap names;  /* name supply: Sym -> 1 + last suffix */
	PtrMap ids;    /* Var* / Buffer* -> const char * */
	PtrMap htype;  /* Var* / Buffer* -> dt_word: the registered handle type */
	PtrMap vol;    /* volatile buffers */
	PtrMap ssa;    /* Sym source -> SsaEntry* */
	PtrMap pnames; /* Var* / Buffer* -> the name the TIR printer gives it */
	char *marks;   /* scope_mark_ */
	long stmt;     /* statements begun so far (SsaEntry.stmt) */
	int nmarks, capmarks;
	int in_kernel, cluster_linear;
	PtrMap frag_shape, frag_layout; /* Buffer* -> Sym: the wmma fragment attrs */
	int frag_scanned;
	/* module */
	PtrMap fnames;   /* function name supply: Sym -> 1 */
	PtrMap fname_of; /* GlobalVar name Sym -> printed name Sym */
	CudaTags tags;
	Vec util_names, util_code; /* helper functions, first use first */
	int need_global_barrier;
	const char *barrier_state, *barrier_expect;
	Loc at;
	const Func *fn;
	const Module *mod;
	int err;
} G;

static void gerr(G *g, const char *fmt, ...) TIR_PRINTF(2, 3);
static void gerr(G *g, const char *fmt, ...)
{
	if (g->err)
		return;
	g->err = 1;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	diag_error(g->at.file >= 0 ? g->at : g->fn ? g->fn->loc : NOLOC,
	           "in function '%s': CUDA code generation: %s", g->fn ? g->fn->name : "?", msg);
}

static const char *gstr(G *g, const char *s, size_t n)
{
	char *p = ar_alloc(g->A, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

static const char *gbuf(G *g, Buf *b)
{
	const char *s = gstr(g, b->s ? b->s : "", b->n);
	b->n = 0;
	return s;
}

static const char *gfmt(G *g, const char *fmt, ...) TIR_PRINTF(2, 3);
static const char *gfmt(G *g, const char *fmt, ...)
{
	Buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	const char *s = gbuf(g, &b);
	buf_free(&b);
	return s;
}

/* ------------------------------------------------------------- names */

static int supply_has(PtrMap *ns, const char *name)
{
	return pmap_get(ns, sym(name)) != NULL;
}

/* The name v has in our TIR output, which is what TVM reads back and names
 * its code after; `own` (the IR's name hint) when the printer gave none. */
static const char *pname(G *g, const void *v, const char *own)
{
	Sym pn = pmap_get(&g->pnames, v);
	return pn ? pn : own;
}

static const char *alloc_id(G *g, const void *v, const char *hint)
{
	if (pmap_get(&g->ids, v)) {
		gerr(g, "'%s' is defined twice (the input is not in SSA form)", hint);
		return pmap_get(&g->ids, v);
	}
	const char *f = sym_fresh(&g->names, hint);
	char *vid = (char *)gstr(g, f, strlen(f));
	for (char *c = vid; *c; c++)
		if (*c == ':' || *c == '-' || *c == '.')
			*c = '_';
	pmap_put(&g->ids, v, vid);
	return vid;
}

static const char *var_id(G *g, const void *v, const char *name)
{
	const char *id = pmap_get(&g->ids, v);
	if (!id) {
		gerr(g, "'%s' is used where it is not defined", name);
		return name;
	}
	return id;
}

static const char *const reserved[] = {
	"_", "extern", "void", "int", "float", "double", "char", "unsigned", "short", "long",
	"if", "else", "switch", "case", "default", "for", "do", "while", "goto", "register",
	"continue", "break", "typedef", "struct", "enum", "union", "return",
};

/* Names TVM does not reserve, where TVM's code does not compile: the
 * other C++ keywords, CUDA's built-in variables, and the type names our
 * preamble and the CUDA headers give (docs/compatibility.md). */
static const char *const reserved_more[] = {
	"alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "catch",
	"char16_t", "char32_t", "char8_t", "class", "compl", "concept", "const", "const_cast",
	"consteval", "constexpr", "constinit", "co_await", "co_return", "co_yield", "decltype",
	"delete", "dynamic_cast", "explicit", "export", "false", "friend", "inline", "mutable",
	"namespace", "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq",
	"private", "protected", "public", "reinterpret_cast", "requires", "restrict", "signed",
	"sizeof", "static", "static_assert", "static_cast", "template", "this", "thread_local",
	"throw", "true", "try", "typeid", "typename", "using", "virtual", "volatile", "wchar_t",
	"xor", "xor_eq", "threadIdx", "blockIdx", "blockDim", "gridDim", "warpSize", "NULL",
	"uint", "uchar", "ushort", "half", "half2", "half4", "nv_bfloat16", "nv_bfloat162",
	"nv_bfloat164", "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t",
	"int64_t", "uint64_t",
};

static void init_func_state(G *g)
{
	pmap_clear(&g->names);
	pmap_clear(&g->ids);
	pmap_clear(&g->htype);
	pmap_clear(&g->vol);
	pmap_clear(&g->ssa);
	pmap_clear(&g->pnames);
	pmap_clear(&g->frag_shape);
	pmap_clear(&g->frag_layout);
	g->frag_scanned = 0;
	tir_print_names(g->mod, g->fn, &g->pnames);
	g->nmarks = 0;
	for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
		pmap_put(&g->names, sym(reserved[i]), (void *)1);
	for (size_t i = 0; i < sizeof reserved_more / sizeof *reserved_more; i++)
		pmap_put(&g->names, sym(reserved_more[i]), (void *)1);
}

/* ------------------------------------------------------------ scopes */

static void indent(G *g)
{
	for (int i = 0; i < g->indent; i++)
		buf_putc(g->os, ' ');
}

static int begin_scope(G *g)
{
	if (g->nmarks == g->capmarks) {
		g->capmarks = g->capmarks ? 2 * g->capmarks : 64;
		g->marks = xrealloc(g->marks, (size_t)g->capmarks);
	}
	g->marks[g->nmarks] = 1;
	g->indent += 2;
	return g->nmarks++;
}

static void end_scope(G *g, int id)
{
	g->marks[id] = 0;
	g->indent -= 2;
}

static void mark_const(G *g, const char *s)
{
	Sym k = sym(s);
	if (pmap_get(&g->ssa, k))
		return;
	SsaEntry *e = ar_alloc(g->A, sizeof *e);
	e->vid = k;
	e->scope = 0;
	e->stmt = -1;
	pmap_put(&g->ssa, k, e);
}

/* ------------------------------------------------------------- types */

static int is_fp8(DType t)
{
	return t.code >= DT_F8_E3M4 && t.code <= DT_F8_E8M0FNU;
}
static int is_fp6(DType t)
{
	return t.code == DT_F6_E2M3FN || t.code == DT_F6_E3M2FN;
}
static int is_fp4(DType t)
{
	return t.code == DT_F4_E2M1FN;
}
static int is_packed_float(DType t)
{
	return is_fp8(t) || is_fp6(t) || is_fp4(t);
}

static int lanes_suffix(int lanes, char *out)
{
	switch (lanes) {
	case 1: out[0] = 0; return 1;
	case 2: strcpy(out, "x2"); return 1;
	case 4: strcpy(out, "x4"); return 1;
	case 8: strcpy(out, "x8"); return 1;
	case 16: strcpy(out, "x16"); return 1;
	}
	return 0;
}

/* The 16-bit float types: the scalar, 2 and 4 lanes by name, 6 and 8 lanes
 * as uint3/uint4 (pairs in 32-bit words). */
static int half_like(Buf *os, const char *name, int lanes)
{
	if (lanes == 1)
		buf_puts(os, name);
	else if (lanes <= 4 && lanes % 2 == 0)
		buf_printf(os, "%s%d", name, lanes);
	else if (lanes <= 8 && lanes % 2 == 0)
		buf_printf(os, "uint%d", lanes / 2);
	else
		return 0;
	return 1;
}

/* CodeGenCUDA::PrintType for a PrimType.  Sets the preamble tags the type
 * needs.  0 when CUDA has no spelling for t (reported by the caller). */
static int type_name(G *g, DType t, Buf *os)
{
	int lanes = t.lanes;
	char sfx[8];
	if (dt_is_void(t)) {
		buf_puts(os, "void");
		return 1;
	}
	switch (t.code) {
	case DT_FLOAT:
		if (t.bits == 16) {
			g->tags |= TAG_FP16 | (lanes == 4 ? TAG_HALF4 : 0);
			return half_like(os, "half", lanes);
		}
		if (t.bits == 32) {
			if (lanes == 1) {
				buf_puts(os, "float");
				return 1;
			}
			if (lanes <= 4) {
				buf_printf(os, "float%d", lanes);
				return 1;
			}
			if (lanes <= 8 && lanes % 2 == 0) {
				buf_printf(os, "ulonglong%d", lanes / 2);
				return 1;
			}
			return 0;
		}
		if (t.bits == 64) {
			if (lanes == 1)
				buf_puts(os, "double");
			else if (lanes <= 4)
				buf_printf(os, "double%d", lanes);
			else
				return 0;
			return 1;
		}
		return 0;
	case DT_BFLOAT:
		if (t.bits != 16)
			return 0;
		g->tags |= TAG_BF16 | (lanes == 4 ? TAG_BF16X4 : 0);
		return half_like(os, "nv_bfloat16", lanes);
	case DT_BOOL:
		if (lanes == 1) {
			buf_puts(os, "bool");
			return 1;
		}
		if (lanes <= 4) {
			buf_printf(os, "ushort%d", lanes);
			return 1;
		}
		return 0;
	case DT_INT:
	case DT_UINT: {
		int u = t.code == DT_UINT;
		if (t.bits == 128 && lanes == 1) {
			buf_puts(os, u ? "__uint128_t" : "__int128_t");
			return 1;
		}
		const char *pre = u ? "u" : "";
		switch (t.bits) {
		case 1:
			if (lanes == 1 || lanes == 32) buf_printf(os, "%sint", pre);
			else if (lanes == 8) buf_printf(os, "%sint8_t", pre);
			else if (lanes == 16) buf_printf(os, "%sint16_t", pre);
			else return 0;
			return 1;
		case 4:
			if (lanes == 1 || lanes == 8) buf_printf(os, "%sint", pre);
			else if (lanes == 4) buf_printf(os, "%sint16_t", pre);
			else if (lanes == 16) buf_printf(os, "%sint2", pre);
			else if (lanes == 32) buf_printf(os, "%sint4", pre);
			else if (lanes == 64) buf_printf(os, "%sint8", pre);
			else return 0;
			return 1;
		case 8:
			if (lanes == 4 || lanes == 8 || lanes == 16) {
				g->tags |= TAG_INT8;
				buf_printf(os, "%sint%s", pre, lanes == 4 ? "" : lanes == 8 ? "2" : "4");
				return 1;
			}
			if (!u && lanes == 1)
				buf_puts(os, "signed char");
			else
				buf_printf(os, "%schar", pre);
			if (lanes == 1)
				return 1;
			if (lanes <= 4) {
				buf_printf(os, "%d", lanes);
				return 1;
			}
			return 0;
		case 16:
			if (lanes == 1) buf_printf(os, "%sshort", pre);
			else if (lanes <= 4) buf_printf(os, "%sshort%d", pre, lanes);
			else if (lanes <= 8 && lanes % 2 == 0) buf_printf(os, "%sint%d", pre, lanes / 2);
			else return 0;
			return 1;
		case 32:
			if (lanes == 1) buf_printf(os, "%sint", pre);
			else if (lanes <= 4) buf_printf(os, "%sint%d", pre, lanes);
			else if (lanes <= 8 && lanes % 2 == 0) buf_printf(os, "%slonglong%d", pre, lanes / 2);
			else return 0;
			return 1;
		case 64:
			if (lanes == 1) buf_printf(os, "%sint64_t", pre);
			else if (lanes >= 2 && lanes <= 4) buf_printf(os, "%slonglong%d", pre, lanes);
			else return 0;
			return 1;
		}
		return 0;
	}
	default:
		if (is_fp8(t)) {
			const char *s = t.code == DT_F8_E4M3FN ? "_e4m3" : t.code == DT_F8_E5M2 ? "_e5m2"
			                : t.code == DT_F8_E8M0FNU ? "_e8m0" : NULL;
			g->tags |= TAG_FP8;
			if (lanes > 4) {
				buf_printf(os, "uint%d", lanes / 4);
				return lanes % 4 == 0;
			}
			if (!s || !lanes_suffix(lanes, sfx))
				return 0;
			buf_printf(os, "__nv_fp8%s%s", sfx, s);
			return 1;
		}
		if (is_fp6(t) || is_fp4(t)) {
			g->tags |= is_fp6(t) ? TAG_FP6 : TAG_FP4;
			if (lanes > 4 || !lanes_suffix(lanes, sfx))
				return 0;
			buf_printf(os, "__nv_fp%d%s%s", is_fp6(t) ? 6 : 4, sfx,
			           t.code == DT_F6_E2M3FN ? "_e2m3" : t.code == DT_F6_E3M2FN ? "_e3m2" : "_e2m1");
			return 1;
		}
		if (t.code == DT_HANDLE && t.bits == 64 && lanes == 1) {
			buf_puts(os, "void*");
			return 1;
		}
		return 0;
	}
}

static void print_type(G *g, DType t, Buf *os)
{
	if (!type_name(g, t, os)) {
		char b[32];
		gerr(g, "CUDA has no type for %s", dt_str(t, b));
	}
}

/* PrintType(Type): pointers print their element type and '*'. */
static void print_ttype(G *g, TType t, Buf *os)
{
	switch (t.kind) {
	case TY_PRIM: print_type(g, t.dt, os); return;
	case TY_VOID: buf_puts(os, "void"); return;
	case TY_PTR:
		if (dt_is_void(t.dt))
			buf_puts(os, "void");
		else
			print_type(g, t.dt, os);
		buf_putc(os, '*');
		return;
	default:
		gerr(g, "a tensor map has no C type outside a kernel parameter");
	}
}

static const char *type_str(G *g, DType t)
{
	Buf b = {0};
	print_type(g, t, &b);
	const char *s = gbuf(g, &b);
	buf_free(&b);
	return s;
}

/* SSAGetID: src as is when it is a name or a constant, else the temporary
 * bound to it in a live scope, else a new `v_` temporary. */
static const char *ssa_id(G *g, const char *src, TType t)
{
	if (supply_has(&g->names, src))
		return src;
	Sym k = sym(src);
	SsaEntry *e = pmap_get(&g->ssa, k);
	/* TVM reuses a temporary while its scope lasts, in later statements
	 * too; a temporary that holds a load then reads memory as it was
	 * before a store in between (silently wrong).  We reuse one only in
	 * the statement that made it (constants always). */
	if (e && e->scope < g->nmarks && g->marks[e->scope] && (e->stmt < 0 || e->stmt == g->stmt))
		return e->vid;
	e = ar_alloc(g->A, sizeof *e);
	e->vid = sym_fresh(&g->names, "v_");
	e->scope = g->nmarks - 1;
	e->stmt = g->stmt;
	pmap_put(&g->ssa, k, e);
	indent(g);
	print_ttype(g, t, g->os);
	buf_printf(g->os, " %s = ", e->vid);
	/* CheckOutermostBracketMatch: drop one pair that encloses it all */
	size_t n = strlen(src);
	int strip = 0;
	if (n >= 2 && src[0] == '(' && src[n - 1] == ')') {
		int depth = 0;
		for (size_t i = 0; i < n; i++) {
			depth += src[i] == '(' ? 1 : src[i] == ')' ? -1 : 0;
			if (depth == 0) {
				strip = i == n - 1;
				break;
			}
		}
	}
	if (strip)
		buf_put(g->os, src + 1, n - 2);
	else
		buf_puts(g->os, src);
	buf_puts(g->os, ";\n");
	return e->vid;
}

static const char *ssa_dt(G *g, const char *src, DType t)
{
	return ssa_id(g, src, ty_prim(t));
}

/* ---------------------------------------------------------- helpers */

void cuda_add_util(CudaGen *cg, const char *name, const char *code)
{
	G *g = (G *)cg;
	Sym n = sym(name);
	for (int i = 0; i < g->util_names.n; i++)
		if (g->util_names.v[i] == n) {
			if (strcmp(g->util_code.v[i], code))
				gerr(g, "helper '%s' defined twice with different code", name);
			return;
		}
	vec_push(&g->util_names, (void *)n);
	vec_push(&g->util_code, (void *)gstr(g, code, strlen(code)));
}

/* ------------------------------------------------------- modular set */

/* e = coeff * k + base for some integer k (coeff 0: the constant base),
 * as TVM's ModularSetAnalyzer finds it without facts about vars. */
typedef struct Mod {
	int64_t coeff, base;
} Mod;

static int64_t gcd64(int64_t a, int64_t b)
{
	if (a < 0) a = -a;
	if (b < 0) b = -b;
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static Mod mod_norm(int64_t coeff, int64_t base)
{
	if (coeff < 0)
		coeff = -coeff;
	if (coeff) {
		base %= coeff;
		if (base < 0)
			base += coeff;
	}
	return (Mod){coeff, base};
}

static Mod modular_set(const Expr *e, int depth)
{
	if (depth > 64)
		return (Mod){1, 0};
	switch (e->kind) {
	case EX_INT: return (Mod){0, e->i};
	case EX_ADD:
	case EX_SUB: {
		Mod a = modular_set(e->bin.a, depth + 1), b = modular_set(e->bin.b, depth + 1);
		int64_t base = e->kind == EX_ADD ? a.base + b.base : a.base - b.base;
		return mod_norm(gcd64(a.coeff, b.coeff), base);
	}
	case EX_MUL: {
		Mod a = modular_set(e->bin.a, depth + 1), b = modular_set(e->bin.b, depth + 1);
		int64_t pq = a.coeff * b.coeff, pm = a.coeff * b.base, qn = a.base * b.coeff;
		return mod_norm(gcd64(gcd64(pq, pm), qn), a.base * b.base);
	}
	case EX_CAST:
		if (dt_is_int(e->dt) && dt_is_int(e->bin.a->dt) && e->dt.bits >= e->bin.a->dt.bits)
			return modular_set(e->bin.a, depth + 1);
		return (Mod){1, 0};
	default: return (Mod){1, 0};
	}
}

/* --------------------------------------------------------- expressions */

static void pe(G *g, Expr *e, Buf *os);
static void wmma_call(G *g, const char *name, Expr **a, int n, Buf *os);

static const char *ps(G *g, Expr *e)
{
	Buf b = {0};
	pe(g, e, &b);
	const char *s = gbuf(g, &b);
	buf_free(&b);
	return s;
}

static int is_vec(DType t)
{
	return t.lanes > 1;
}

static const char access_ch[] = {'x', 'y', 'z', 'w'};

/* PrintVecElemLoad: lane i of a vector value held in `vec`. */
static void vec_elem_load(G *g, const char *vec, DType t, int i, Buf *os)
{
	int lanes = t.lanes;
	if (lanes == 1) {
		buf_puts(os, vec);
		return;
	}
	if (i >= (t.bits == 8 ? 16 : (t.bits == 16 || t.bits == 32) ? 8 : 4)) {
		gerr(g, "lane %d of a %d-lane vector has no CUDA spelling", i, lanes);
		return;
	}
	if (t.bits == 8 && dt_is_int(t)) {
		const char *tn = t.code == DT_INT ? "signed char" : "unsigned char";
		if (lanes == 2 || lanes == 3) {
			buf_printf(os, "%s.%c", vec, access_ch[i % lanes]);
		} else if (lanes == 4) {
			buf_printf(os, "(reinterpret_cast<const %s*>(&(%s))[%d])", tn, vec, i % 4);
		} else {
			buf_printf(os, "(reinterpret_cast<const %s*>(&(%s.%c))[%d])", tn, vec, access_ch[i / 4], i % 4);
		}
	} else if ((t.code == DT_FLOAT && t.bits == 16) || (t.code == DT_BFLOAT && t.bits == 16)) {
		if (lanes <= 4)
			buf_printf(os, "%s.%c", vec, access_ch[i]);
		else
			buf_printf(os, "((%s*)(&(%s.%c)))->%c", t.code == DT_FLOAT ? "half2" : "nv_bfloat162", vec,
			           access_ch[i / 2], access_ch[i % 2]);
	} else if (lanes > 4 && lanes <= 8) {
		const char *tn = NULL;
		if (t.bits == 16)
			tn = t.code == DT_INT ? "short" : t.code == DT_UINT ? "ushort" : NULL;
		else if (t.bits == 32)
			tn = t.code == DT_INT ? "int" : t.code == DT_UINT ? "uint" : t.code == DT_FLOAT ? "float" : NULL;
		if (!tn) {
			gerr(g, "no lane access for this vector type");
			return;
		}
		buf_printf(os, "((%s2*)(&(%s.%c)))->%c", tn, vec, access_ch[i / 2], access_ch[i % 2]);
	} else if (is_fp4(t)) {
		buf_printf(os, "([](__nv_fp4_storage_t v) { __nv_fp4_e2m1 t; t.__x = v; return t; })((%s.__x >> %d) & 0xF)",
		           vec, i * 4);
	} else {
		buf_printf(os, "%s.%c", vec, access_ch[i]);
	}
}

static const char *vec_elem(G *g, const char *vec, DType t, int i)
{
	Buf b = {0};
	vec_elem_load(g, vec, t, i, &b);
	const char *s = gbuf(g, &b);
	buf_free(&b);
	return s;
}

/* PrintVecElemStore: a statement setting lane i of `vec`. */
static void vec_elem_store(G *g, const char *vec, DType t, int i, const char *value)
{
	Buf *os = g->os;
	int lanes = t.lanes;
	indent(g);
	if (i >= (t.bits == 8 ? 16 : (t.bits == 16 || t.bits == 32) ? 8 : 4)) {
		gerr(g, "lane %d of a %d-lane vector has no CUDA spelling", i, lanes);
		return;
	}
	if (t.bits == 8 && dt_is_int(t)) {
		if (lanes == 2 || lanes == 3) {
			buf_printf(os, "%s.%c=(%s);\n", vec, access_ch[i % lanes], value);
		} else {
			const char *tn = t.code == DT_INT ? "signed char" : "unsigned char";
			if (lanes == 4)
				buf_printf(os, "reinterpret_cast<%s*>(&(%s))[%d] = (%s)(%s);\n", tn, vec, i % 4, tn, value);
			else
				buf_printf(os, "reinterpret_cast<%s*>(&(%s.%c))[%d] = (%s)(%s);\n", tn, vec, access_ch[i / 4],
				           i % 4, tn, value);
		}
	} else if ((t.code == DT_FLOAT || t.code == DT_BFLOAT) && t.bits == 16) {
		if (lanes <= 4)
			buf_printf(os, "%s.%c = %s;\n", vec, access_ch[i], value);
		else
			buf_printf(os, "((%s*)(&(%s.%c)))->%c = %s;\n", t.code == DT_FLOAT ? "half2" : "nv_bfloat162", vec,
			           access_ch[i / 2], access_ch[i % 2], value);
	} else if (lanes > 4 && lanes <= 8) {
		const char *tn = NULL;
		if (t.bits == 16)
			tn = t.code == DT_INT ? "short" : t.code == DT_UINT ? "ushort" : NULL;
		else if (t.bits == 32)
			tn = t.code == DT_INT ? "int" : t.code == DT_UINT ? "uint" : t.code == DT_FLOAT ? "float" : NULL;
		if (!tn) {
			gerr(g, "no lane access for this vector type");
			return;
		}
		buf_printf(os, "((%s2*)(&(%s.%c)))->%c = %s;\n", tn, vec, access_ch[i / 2], access_ch[i % 2], value);
	} else {
		buf_printf(os, "%s.%c = %s;\n", vec, access_ch[i], value);
	}
}

/* A declared vector temporary `_N` of type t; returns its name. */
static const char *vec_temp(G *g, DType t)
{
	const char *r = sym_fresh(&g->names, "_");
	indent(g);
	print_type(g, t, g->os);
	buf_printf(g->os, " %s;\n", r);
	return r;
}

static void vec_binop(G *g, const char *op, DType t, Expr *lhs, Expr *rhs, Buf *os)
{
	const char *r = vec_temp(g, t);
	int sc = begin_scope(g);
	const char *vl = ssa_id(g, ps(g, lhs), ex_type(lhs));
	const char *vr = ssa_id(g, ps(g, rhs), ex_type(rhs));
	for (int i = 0; i < t.lanes; i++) {
		const char *a = vec_elem(g, vl, lhs->dt, i), *b = vec_elem(g, vr, rhs->dt, i);
		const char *v = isalpha((unsigned char)op[0]) ? gfmt(g, "%s(%s, %s)", op, a, b)
		                                              : gfmt(g, "(%s%s%s)", a, op, b);
		vec_elem_store(g, r, t, i, v);
	}
	end_scope(g, sc);
	buf_puts(os, r);
}

static void binop(G *g, Expr *e, const char *op, Buf *os)
{
	if (is_vec(e->dt)) {
		/* CodeGenCUDA's PrintVecBinaryOp: infix ops without spaces */
		vec_binop(g, op, e->dt, e->bin.a, e->bin.b, os);
		return;
	}
	if (!strcmp(op, "min") || !strcmp(op, "max")) {
		if (e->dt.code == DT_FLOAT && e->dt.bits == 16)
			g->tags |= TAG_HALF_MINMAX;
		else if (e->dt.code == DT_BFLOAT)
			g->tags |= TAG_BF16_MINMAX;
	}
	if (isalpha((unsigned char)op[0])) {
		buf_printf(os, "%s(", op);
		pe(g, e->bin.a, os);
		buf_puts(os, ", ");
		pe(g, e->bin.b, os);
		buf_putc(os, ')');
	} else {
		buf_putc(os, '(');
		pe(g, e->bin.a, os);
		buf_printf(os, " %s ", op);
		pe(g, e->bin.b, os);
		buf_putc(os, ')');
	}
}

/* CodeGenCUDA::CastFromTo. */
static const char *cast_from_to(G *g, const char *value, DType from, DType to)
{
	if (dt_eq(from, to))
		return value;
	Buf b = {0};
	buf_puts(&b, "((");
	print_type(g, to, &b);
	buf_putc(&b, ')');
	if (from.code == DT_FLOAT && from.bits == 16 && dt_is_int(to) && to.bits == 8)
		buf_puts(&b, to.code == DT_UINT ? "(uint)" : "(int)");
	buf_puts(&b, value);
	buf_putc(&b, ')');
	const char *s = gbuf(g, &b);
	buf_free(&b);
	return s;
}

static void print_int(G *g, DType t, int64_t v, Buf *os)
{
	if (t.code == DT_INT && t.bits == 32 && t.lanes == 1) {
		const char *s = gfmt(g, "%" PRId64, v);
		mark_const(g, s);
		buf_puts(os, s);
		return;
	}
	buf_putc(os, '(');
	print_type(g, t, os);
	buf_printf(os, ")%" PRId64, v);
}

static void hexfloat(Buf *os, double v)
{
	buf_printf(os, "%a", v);
}

static void print_float(G *g, DType t, double v, Buf *os)
{
	if (t.code == DT_BFLOAT && t.bits == 16) {
		buf_puts(os, "__float2bfloat16_rn(");
		hexfloat(os, v);
		buf_printf(os, "f/*%e*/)", v);
		return;
	}
	if (is_fp8(t) || is_fp4(t)) {
		print_type(g, t, os);
		buf_putc(os, '(');
		hexfloat(os, v);
		buf_printf(os, "f/*%e*/)", v);
		return;
	}
	if (t.code != DT_FLOAT) {
		char b[32];
		gerr(g, "a %s constant has no CUDA spelling", dt_str(t, b));
		return;
	}
	Buf tmp = {0};
	if (t.bits == 64 || t.bits == 32) {
		const char *f = t.bits == 32 ? "_F" : "";
		if (isinf(v)) {
			buf_printf(&tmp, "%sCUDART_INF%s", v < 0 ? "-" : "", f);
			g->tags |= TAG_MATH;
		} else if (isnan(v)) {
			buf_printf(&tmp, "CUDART_NAN%s", f);
			g->tags |= TAG_MATH;
		} else if (t.bits == 64) {
			buf_printf(&tmp, "%.15f", v);
		} else {
			hexfloat(&tmp, v);
			buf_printf(&tmp, "f/*%e*/", v);
		}
		const char *s = gbuf(g, &tmp);
		mark_const(g, s);
		buf_puts(os, s);
	} else if (t.bits == 16) {
		buf_puts(os, "__float2half_rn(");
		print_float(g, DT_F32, v, os);
		buf_putc(os, ')');
	} else {
		gerr(g, "a float%d constant has no CUDA spelling", t.bits);
	}
	buf_free(&tmp);
}

/* GetBufferRef: an lvalue for the element(s) of type t at index. */
static const char *buffer_ref(G *g, DType t, Buffer *b, Expr *index)
{
	const char *vid = var_id(g, b, b->name);
	int is_vol = pmap_get(&g->vol, b) != NULL;
	DType elem = b->dt;
	void *ht = pmap_get(&g->htype, b);
	int match = ht && dt_eq(word_dt(ht), elem);
	Buf o = {0};
	const char *vp = is_vol ? "volatile " : "";
	const char *bstr = vid;
	if (!match || is_vol)
		bstr = gfmt(g, "((%s%s*)%s)", vp, type_str(g, elem), vid);
	const char *idx = ps(g, index);
	if ((t.bits == 4 && !is_fp4(t)) || (t.bits == 1 && t.code == DT_INT)) {
		int div = t.lanes == 1 ? 32 / t.bits : t.lanes;
		buf_printf(&o, "*(((%s%s*)%s) + %s / %d)", vp, type_str(g, t), vid, idx, div);
	} else if (is_fp4(t) && t.lanes == 1) {
		buf_printf(&o, "*((%s%s*)(%s + %s / 2))", vp, type_str(g, t), vid, idx);
	} else if (dt_eq(t, elem)) {
		buf_printf(&o, "%s[%s]", bstr, idx);
	} else {
		buf_printf(&o, "*(%s%s*)(%s + %s)", vp, type_str(g, t), bstr, idx);
	}
	const char *s = gbuf(g, &o);
	buf_free(&o);
	return s;
}

static void volatile_load(G *g, const char *ref, Expr *e, Buf *os)
{
	DType t = e->dt;
	if (((t.code == DT_FLOAT || t.code == DT_BFLOAT) && t.bits == 16) && pmap_get(&g->vol, e->load.buf)) {
		buf_puts(os, "(");
		print_type(g, t, os);
		buf_printf(os, ")(%s)", ref);
	} else {
		buf_puts(os, ref);
	}
}

/* PrintVecElemLoadExpr: lane i of a vector built from lane values. */
static void vec_elem_load_expr(G *g, DType t, int i, const char *value, Buf *os)
{
	int lanes = t.lanes;
	if (t.bits == 8 && dt_is_int(t) && !(lanes == 2 || lanes == 3)) {
		if (i)
			buf_putc(os, '|');
		buf_printf(os, "((0x000000ff << %d) & (%s << %d))", i * 8, value, i * 8);
		return;
	}
	if (i == 0) {
		buf_puts(os, "make_");
		print_type(g, t, os);
		buf_putc(os, '(');
	}
	buf_puts(os, value);
	buf_puts(os, i == lanes - 1 ? ")" : ",");
}

static int ramp_unit(const Expr *idx, int lanes, Expr **base)
{
	int64_t s;
	if (idx->kind != EX_RAMP || idx->dt.lanes != lanes || !ex_is_const_int(idx->ramp.stride, &s) || s != 1)
		return 0;
	*base = idx->ramp.base;
	return 1;
}

static void load(G *g, Expr *e, Buf *os)
{
	Buffer *b = e->load.buf;
	if (e->load.nidx != 1) {
		gerr(g, "load from '%s' has %d indices; FlattenBuffer must run first", b->name, e->load.nidx);
		return;
	}
	if (e->load.pred) {
		gerr(g, "predicated load from '%s' has no CUDA spelling", b->name);
		return;
	}
	DType vt = e->dt;
	Expr *index = e->load.idx[0];
	if (vt.lanes == b->dt.lanes) {
		const char *ref = buffer_ref(g, vt, b, index);
		if (is_fp4(vt) && vt.lanes == 1) {
			const char *is = ps(g, index);
			Buf n = {0};
			buf_printf(&n, "([](__nv_fp4_storage_t v) { __nv_fp4_e2m1 t; t.__x = v; return t; })(((%s).__x >> ((%s %% 2) * 4)) & 0xF)",
			           ref, is);
			volatile_load(g, gbuf(g, &n), e, os);
			buf_free(&n);
		} else {
			volatile_load(g, ref, e, os);
		}
		return;
	}
	Expr *base = NULL;
	int can = 0;
	if (ramp_unit(index, vt.lanes, &base)) {
		Mod m = modular_set(base, 0);
		can = m.coeff % vt.lanes == 0 && m.base % vt.lanes == 0;
	}
	if (is_fp4(vt))
		can = 0;
	if (can) {
		volatile_load(g, buffer_ref(g, vt, b, base), e, os);
		return;
	}
	const char *sidx = ssa_dt(g, ps(g, index), index->dt);
	const char *vid = var_id(g, b, b->name);
	DType et = dt_element(vt);
	void *ht = pmap_get(&g->htype, b);
	Buf out = {0};
	for (int i = 0; i < vt.lanes; i++) {
		Buf v = {0};
		if (!(ht && dt_eq(word_dt(ht), et)))
			buf_printf(&v, "((%s*)%s)", type_str(g, et), vid);
		else
			buf_puts(&v, vid);
		buf_putc(&v, '[');
		vec_elem_load(g, sidx, index->dt, i, &v);
		buf_putc(&v, ']');
		vec_elem_load_expr(g, vt, i, gbuf(g, &v), &out);
		buf_free(&v);
	}
	buf_put(os, out.s, out.n);
	buf_free(&out);
}

static void cast(G *g, Expr *e, Buf *os)
{
	Expr *v = e->bin.a;
	DType from = v->dt, to = e->dt;
	if (from.lanes != to.lanes) {
		gerr(g, "a cast between vectors of different lengths");
		return;
	}
	if (from.lanes == 1) {
		buf_puts(os, cast_from_to(g, ps(g, v), from, to));
		return;
	}
	if (is_packed_float(to) || is_packed_float(from)) {
		if (to.code == DT_BFLOAT && to.lanes == 2) {
			g->tags |= TAG_CAST_BF162;
			buf_printf(os, "cast_to_nv_bfloat162(%s)", ps(g, v));
		} else {
			buf_putc(os, '(');
			print_type(g, to, os);
			buf_printf(os, ")(%s)", ps(g, v));
		}
		return;
	}
	const char *r = vec_temp(g, to);
	const char *src = ssa_dt(g, ps(g, v), from);
	const char *et = type_str(g, dt_element(to));
	for (int i = 0; i < from.lanes; i++)
		vec_elem_store(g, r, to, i, gfmt(g, "(%s)(%s)", et, vec_elem(g, src, from, i)));
	buf_puts(os, r);
}

static void select_expr(G *g, Expr *e, Buf *os)
{
	DType t = e->dt;
	if (!is_vec(t)) {
		buf_putc(os, '(');
		pe(g, e->sel.c, os);
		buf_puts(os, " ? ");
		pe(g, e->sel.t, os);
		buf_puts(os, " : ");
		pe(g, e->sel.f, os);
		buf_putc(os, ')');
		return;
	}
	const char *r = vec_temp(g, t);
	const char *c = ssa_dt(g, ps(g, e->sel.c), t);
	const char *tv = ssa_dt(g, ps(g, e->sel.t), t);
	const char *fv = ssa_dt(g, ps(g, e->sel.f), t);
	DType mem = dt_make(DT_UINT, 16, t.lanes);
	for (int i = 0; i < t.lanes; i++)
		vec_elem_store(g, r, t, i,
		               gfmt(g, "(bool(%s)?%s:%s)", vec_elem(g, c, mem, i), vec_elem(g, tv, t, i),
		                    vec_elem(g, fv, t, i)));
	buf_puts(os, r);
}

static void ramp(G *g, Expr *e, Buf *os)
{
	DType t = e->dt;
	int lanes = t.lanes;
	if (lanes <= 4) {
		buf_puts(os, "make_");
		print_type(g, t, os);
		buf_putc(os, '(');
		for (int i = 0; i < lanes; i++) {
			const char *b = ps(g, e->ramp.base), *s = ps(g, e->ramp.stride);
			buf_printf(os, "(%s)+(%s*%d)%s", b, s, i, i != lanes - 1 ? ", " : "");
		}
		buf_putc(os, ')');
		return;
	}
	const char *r = vec_temp(g, t);
	int sc = begin_scope(g);
	const char *vb = ssa_dt(g, ps(g, e->ramp.base), e->ramp.base->dt);
	const char *vs = ssa_dt(g, ps(g, e->ramp.stride), e->ramp.stride->dt);
	for (int i = 0; i < lanes; i++)
		vec_elem_store(g, r, t, i, gfmt(g, "(%s)+(%s*%d)", vb, vs, i));
	end_scope(g, sc);
	buf_puts(os, r);
}

static void broadcast(G *g, Expr *e, Buf *os)
{
	DType t = e->dt;
	int lanes = t.lanes;
	int64_t c;
	Expr *val = e->bcast.value;
	if (dt_is_int(t) && t.bits == 8 && lanes == 4) {
		if (!ex_is_const_int(val, &c)) {
			gerr(g, "an int8x4 broadcast of a value that is not a constant has no CUDA spelling");
			return;
		}
		int64_t v = c & 0xff;
		v = (v << 24) | (v << 16) | (v << 8) | v;
		buf_printf(os, "(%s)%" PRId64, t.code == DT_UINT ? "uint" : "int", v);
		return;
	}
	if ((t.code == DT_FLOAT || t.code == DT_BFLOAT) && t.bits == 16) {
		int half = t.code == DT_FLOAT;
		const char *v = ps(g, val);
		buf_puts(os, "make_");
		print_type(g, t, os);
		buf_putc(os, '(');
		if (half && lanes <= 4) {
			for (int i = 0; i < lanes / 2; i++)
				buf_printf(os, "%s%s, %s", i ? ", " : "", v, v);
		} else if (lanes > 4) {
			g->tags |= half ? TAG_PACK_HALF2 : TAG_PACK_BF162;
			for (int i = 0; i < lanes / 2; i++)
				buf_printf(os, "%s__pack_%s(%s, %s)", i ? ", " : "", half ? "half2" : "nv_bfloat162", v, v);
		} else {
			for (int i = 0; i < lanes; i++)
				buf_printf(os, "%s%s", i ? ", " : "", v);
		}
		buf_putc(os, ')');
		return;
	}
	if (is_fp8(t) || is_fp4(t)) {
		if (lanes != 1 && lanes != 2 && lanes != 4) {
			gerr(g, "a %d-lane fp8/fp4 broadcast has no CUDA spelling", lanes);
			return;
		}
		const char *v = ps(g, val);
		print_type(g, t, os);
		buf_printf(os, "(make_float%d(", lanes);
		for (int i = 0; i < lanes; i++)
			buf_printf(os, "%sstatic_cast<float>(%s)", i ? ", " : "", v);
		buf_puts(os, "))");
		return;
	}
	if (dt_is_int(t) && t.bits == 4) {
		if (!ex_is_const_int(val, &c)) {
			gerr(g, "an int4 broadcast of a value that is not a constant has no CUDA spelling");
			return;
		}
		int64_t v = c & 0xf;
		const char *u = t.code == DT_UINT ? "u" : "";
		if (lanes == 4) {
			v = (v << 12) | (v << 8) | (v << 4) | v;
			buf_printf(os, "(%sint16_t)%" PRId64, u, v);
			return;
		}
		v = (v << 28) | (v << 24) | (v << 20) | (v << 16) | (v << 12) | (v << 8) | (v << 4) | v;
		if (lanes == 8) {
			buf_printf(os, "(%sint)%" PRId64, u, v);
			return;
		}
		if (lanes == 16 || lanes == 32) {
			buf_puts(os, "make_");
			print_type(g, t, os);
			buf_putc(os, '(');
			for (int i = 0; i < lanes / 8; i++)
				buf_printf(os, "%s(%sint)%" PRId64, i ? ", " : "", u, v);
			buf_putc(os, ')');
			return;
		}
	}
	const char *v = ps(g, val);
	buf_puts(os, "make_");
	print_type(g, t, os);
	buf_putc(os, '(');
	for (int i = 0; i < lanes; i++)
		buf_printf(os, "%s%s", i ? ", " : "", v);
	buf_putc(os, ')');
}

static void shuffle(G *g, Expr *e, Buf *os)
{
	Vec cat = {0};
	int nv = e->shuf.nvecs;
	if (nv > 1) {
		for (int k = 0; k < nv; k++) {
			Expr *v = e->shuf.vecs[k];
			const char *s = ps(g, v);
			/* TVM prints lane i of a part as `part[i]`, which no CUDA
			 * vector type accepts; we print the lane as for one part,
			 * `(part).x` (docs/compatibility.md). */
			if (v->dt.lanes == 1)
				vec_push(&cat, (void *)s);
			else
				for (int i = 0; i < v->dt.lanes; i++)
					vec_push(&cat, (void *)vec_elem(g, gfmt(g, "(%s)", s), v->dt, i));
		}
	} else if (nv == 1) {
		Expr *v = e->shuf.vecs[0];
		const char *s = gfmt(g, "(%s)", ps(g, v));
		if (v->dt.lanes == 1)
			vec_push(&cat, (void *)s);
		else
			for (int i = 0; i < v->dt.lanes; i++)
				vec_push(&cat, (void *)vec_elem(g, s, v->dt, i));
	}
	int64_t k;
	if (e->shuf.nidx == 1) {
		if (!ex_is_const_int(e->shuf.idx[0], &k) || k < 0 || k >= cat.n)
			gerr(g, "a shuffle index that is not a constant within the vector");
		else
			buf_puts(os, cat.v[k]);
	} else {
		buf_puts(os, "make_");
		print_type(g, e->dt, os);
		buf_putc(os, '(');
		for (int i = 0; i < e->shuf.nidx; i++) {
			if (!ex_is_const_int(e->shuf.idx[i], &k) || k < 0 || k >= cat.n) {
				gerr(g, "a shuffle index that is not a constant within the vector");
				break;
			}
			buf_printf(os, "%s%s", i ? ", " : "", (const char *)cat.v[k]);
		}
		buf_putc(os, ')');
	}
	vec_free(&cat);
}

/* The element type a pointer-typed value points to, when it has one. */
static int pointee(TType t, DType *out)
{
	if (t.kind != TY_PTR || dt_is_void(t.dt))
		return 0;
	*out = t.dt;
	return 1;
}

static int call_is(const Expr *e, const char *name)
{
	return e->kind == EX_CALL && e->call.op && !strcmp(e->call.op->name, name);
}

/* RegisterHandleTypeFromPointer. */
static void register_pointer(G *g, Var *v, Expr *value)
{
	DType dt;
	if (!pointee(ex_type(value), &dt))
		return;
	void *old = pmap_get(&g->htype, v);
	if (old && !dt_eq(word_dt(old), dt))
		gerr(g, "conflicting pointer types for '%s'", v->name);
	pmap_put(&g->htype, v, dt_word(dt));
}

static void let_expr(G *g, Expr *e, Buf *os)
{
	Var *v = e->let.var;
	register_pointer(g, v, e->let.value);
	const char *value = ps(g, e->let.value);
	indent(g);
	void *ht = pmap_get(&g->htype, v);
	if (v->ty.kind == TY_PTR && ht) {
		const char *tn = type_str(g, word_dt(ht));
		const char *id = alloc_id(g, v, pname(g, v, v->name));
		buf_printf(g->os, "%s* %s = (%s*)%s;\n", tn, id, tn, value);
	} else {
		print_ttype(g, v->ty, g->os);
		buf_printf(g->os, " %s = %s;\n", alloc_id(g, v, pname(g, v, v->name)), value);
	}
	pe(g, e->let.body, os);
	/* the var goes out of scope: the same Let may be printed again */
	pmap_put(&g->ids, v, NULL);
}

/* PrintCallExtern: `name(args)`; a pointer result is cast to its type; a
 * vector result is computed lane by lane into a temporary. */
static void call_extern(G *g, TType rty, const char *name, Expr **args, int nargs, Buf *os)
{
	if (rty.kind == TY_PRIM && is_vec(rty.dt)) {
		DType rt = rty.dt;
		const char *r = vec_temp(g, rt);
		const char **sa = nargs ? ar_alloc(g->A, (size_t)nargs * sizeof *sa) : NULL;
		for (int i = 0; i < nargs; i++)
			sa[i] = ssa_id(g, ps(g, args[i]), ex_type(args[i]));
		for (int l = 0; l < rt.lanes; l++) {
			Buf c = {0};
			buf_printf(&c, "%s(", name);
			for (int j = 0; j < nargs; j++) {
				if (j)
					buf_puts(&c, ", ");
				if (ex_type(args[j]).kind == TY_PRIM)
					vec_elem_load(g, sa[j], args[j]->dt, l, &c);
				else
					buf_puts(&c, sa[j]);
			}
			buf_putc(&c, ')');
			vec_elem_store(g, r, rt, l, gbuf(g, &c));
			buf_free(&c);
		}
		buf_puts(os, r);
		return;
	}
	static const char *const half_math[] = {"hpow", "htanh", "htan", "hatan", "herf"};
	for (size_t i = 0; i < sizeof half_math / sizeof *half_math; i++)
		if (!strcmp(name, half_math[i]))
			g->tags |= TAG_HALF_MATH;
	int cast_ptr = rty.kind == TY_PTR;
	if (cast_ptr) {
		buf_puts(os, "((");
		print_ttype(g, rty, os);
		buf_putc(os, ')');
	}
	buf_printf(os, "%s(", name);
	for (int i = 0; i < nargs; i++) {
		pe(g, args[i], os);
		if (i < nargs - 1)
			buf_puts(os, ", ");
	}
	buf_putc(os, ')');
	if (cast_ptr)
		buf_putc(os, ')');
}

static void bin_intrin(G *g, Expr *e, const char *op, Buf *os)
{
	Expr **a = e->call.args;
	if (e->call.nargs != 2) {
		gerr(g, "%s takes 2 arguments", e->call.op->name);
		return;
	}
	if (is_vec(e->dt)) {
		/* TVM 0.27 prints the lanes of a vector bitwise op or shift
		 * without the spaces: (a.x<<b.x) */
		char bare[4];
		size_t k = 0;
		for (const char *c = op; *c && k < sizeof bare - 1; c++)
			if (*c != ' ')
				bare[k++] = *c;
		bare[k] = 0;
		vec_binop(g, gstr(g, bare, k), e->dt, a[0], a[1], os);
		return;
	}
	buf_putc(os, '(');
	pe(g, a[0], os);
	buf_puts(os, op);
	pe(g, a[1], os);
	buf_putc(os, ')');
}

/* `if (c) {` as TVM prints it: a condition that starts with '(' and ends
 * with ')' is not wrapped again (TVM tests the text, and so do we). */
static void print_if(G *g, const char *c)
{
	size_t n = strlen(c);
	if (n && c[0] == '(' && c[n - 1] == ')')
		buf_printf(g->os, "if %s {\n", c);
	else
		buf_printf(g->os, "if (%s) {\n", c);
}

static void if_then_else(G *g, Expr *e, Buf *os)
{
	Expr **a = e->call.args;
	const char *r = sym_fresh(&g->names, "condval");
	const char *c = ps(g, a[0]);
	indent(g);
	print_ttype(g, e->call.rty, g->os);
	buf_printf(g->os, " %s;\n", r);
	indent(g);
	print_if(g, c);
	int sc = begin_scope(g);
	const char *t = ps(g, a[1]);
	indent(g);
	buf_printf(g->os, "%s = %s;\n", r, t);
	end_scope(g, sc);
	indent(g);
	buf_puts(g->os, "} else {\n");
	sc = begin_scope(g);
	const char *f = ps(g, a[2]);
	indent(g);
	buf_printf(g->os, "%s = %s;\n", r, f);
	end_scope(g, sc);
	indent(g);
	buf_puts(g->os, "}\n");
	buf_puts(os, r);
}

static void address_of(G *g, Expr *e, Buf *os)
{
	Expr *x = e->call.args[0];
	if (x->kind == EX_LOAD) {
		if (x->load.nidx != 1) {
			gerr(g, "address_of a load with %d indices; FlattenBuffer must run first", x->load.nidx);
			return;
		}
		Expr *index = x->load.idx[0];
		if (index->kind == EX_RAMP)
			index = index->ramp.base;
		/* TVM prints `(p + i)` for a buffer that is itself a
		 * ptr_byte_offset var; a buffer here never is one. */
		Buffer *b = x->load.buf;
		buf_printf(os, "(&(%s))", buffer_ref(g, x->dt, b, index));
		return;
	}
	if (x->kind == EX_VAR || x->kind == EX_BUFDATA) {
		if (x->kind == EX_VAR && x->var->ty.kind == TY_TENSORMAP) {
			buf_puts(os, "((unsigned long long)(&(");
			pe(g, x, os);
			buf_puts(os, ")))");
		} else {
			buf_puts(os, "(&(");
			pe(g, x, os);
			buf_puts(os, "))");
		}
		return;
	}
	gerr(g, "address_of expects a buffer load or a var");
}

static void reinterpret(G *g, Expr *e, Buf *os)
{
	Expr *x = e->call.args[0];
	TType rt = e->call.rty, xt = ex_type(x);
	if (rt.kind == TY_PTR) {
		if (x->kind == EX_INT) {
			buf_puts(os, "reinterpret_cast<");
			buf_puts(os, dt_is_void(rt.dt) ? "void" : type_str(g, rt.dt));
			buf_printf(os, "*>(%s)", ps(g, x));
			return;
		}
		buf_puts(os, "((");
		buf_puts(os, dt_is_void(rt.dt) ? "void" : type_str(g, rt.dt));
		buf_puts(os, "*)");
		pe(g, x, os);
		buf_putc(os, ')');
		return;
	}
	DType to = rt.dt;
	if (xt.kind == TY_PTR) {
		if (to.lanes == 1 && to.bits == 64 && dt_is_int(to)) {
			buf_printf(os, "reinterpret_cast<%s>(%s)", type_str(g, to), ps(g, x));
			return;
		}
		gerr(g, "a pointer reinterpreted as a value that is not a 64-bit integer");
		return;
	}
	DType from = x->dt;
	if ((is_fp4(from) || is_fp4(to)) && !dt_eq(from, to) && to.lanes * to.bits != from.lanes * from.bits) {
		gerr(g, "reinterpreting float4_e2m1fn lanes has no CUDA spelling here");
		return;
	}
	if (to.lanes * to.bits != from.lanes * from.bits) {
		gerr(g, "reinterpret between types of different sizes");
		return;
	}
	int sc = begin_scope(g);
	const char *rhs = ssa_dt(g, ps(g, x), from);
	buf_puts(os, "(*(");
	print_type(g, to, os);
	buf_printf(os, " *)(&(%s)))", rhs);
	end_scope(g, sc);
}

/* Ops that print as a C function of the same arguments (TGlobalSymbol). */
static const struct {
	const char *op, *sym;
} global_symbols[] = {
	{"tirx.cuda.__shfl_sync", "__shfl_sync"},
	{"tirx.cuda.__shfl_up_sync", "__shfl_up_sync"},
	{"tirx.cuda.__shfl_down_sync", "__shfl_down_sync"},
	{"tirx.cuda.__shfl_xor_sync", "__shfl_xor_sync"},
	{"tirx.cuda.__activemask", "__activemask"},
};

/* T.ptx_legacy.ldmatrix(trans, num, ".b16", local_ptr, local_offset,
 * smem_ptr, smem_offset): TVM's C++ writes the asm block straight into the
 * statement stream (PrintLoadMatrixAssembly), unindented, and leaves the
 * expression empty. */
static void ldmatrix_legacy(G *g, Expr *e)
{
	Expr **a = e->call.args;
	int64_t trans, num;
	if (e->call.nargs != 7 || !ex_is_const_int(a[0], &trans) || !ex_is_const_int(a[1], &num) ||
	    (num != 1 && num != 2 && num != 4) || a[2]->kind != EX_STR || strcmp(a[2]->s, ".b16") != 0) {
		gerr(g, "T.ptx_legacy.ldmatrix takes (trans, 1|2|4, \".b16\", local, offset, smem, offset) with constants");
		return;
	}
	if (trans) {
		/* TVM picks a gather loop for 8-bit elements from the call's
		 * dtype, which tirxc does not keep (TVM reads it as int8) */
		gerr(g, "a transposing T.ptx_legacy.ldmatrix has no CUDA code here (TVM's form depends on an element "
		        "type tirxc does not keep)");
		return;
	}
	const char *lp = ps(g, a[3]), *lo = ps(g, a[4]), *sp = ps(g, a[5]), *so = ps(g, a[6]);
	Buf *os = g->os;
	buf_printf(os,
	           "\n  {\n    unsigned int addr = __cvta_generic_to_shared(%s + %s);\n"
	           "    __asm__ __volatile__(\n"
	           "      \"ldmatrix.sync.aligned.m8n8.x%d%s.shared.b16\"\n"
	           "      \"{%%0",
	           sp, so, (int)num, "");
	for (int i = 1; i < num; i++)
		buf_printf(os, ", %%%d", i);
	buf_printf(os, "}, [%%%d]", (int)num);
	buf_puts(os, ";\\n\"\n      : ");
	for (int i = 0; i < num; i++)
		buf_printf(os, "%s\"=r\"(((unsigned *)(%s + %s))[%d])", i ? ", " : "", lp, lo, i);
	buf_puts(os, "\n      : \"r\"(addr)\n    );\n  }\n");
}

/* T.ptx_legacy.mma(shape, A_layout, B_layout, A_dtype, B_dtype, C_dtype,
 * a, a_offset, b, b_offset, c, c_offset, saturate[, bit_op]): the asm
 * block TVM's C++ writes straight into the statement stream
 * (PrintMMAAssembly), for the shapes and types it accepts.  TVM puts the
 * fragment pointers in by replacing the letters A, B, C and D of its
 * template one after the other, so a pointer or offset whose text holds a
 * letter a later replacement would rewrite is refused rather than
 * printed mangled. */
typedef struct MmaType {
	const char *names; /* TVM's spellings, '|' separated */
	const char *ptx;
	int bits;
	char reg; /* fragment register constraint; 0: not a fragment type */
	const char *ptr;
} MmaType;

static const MmaType mma_types[] = {
	{"int4|.s4", ".s4", 4, 'r', "(unsigned *)"},
	{"uint4|.u4", ".u4", 4, 'r', "(unsigned *)"},
	{"int8|.s8", ".s8", 8, 'r', "(unsigned *)"},
	{"uint8|.u8", ".u8", 8, 'r', "(unsigned *)"},
	{"int32|.s32", ".s32", 32, 'r', "(int *)"},
	{"e4m3|.e4m3|float8_e4m3fn", ".e4m3", 8, 'r', "(unsigned *)"},
	{"e5m2|.e5m2|float8_e5m2|float8_e5m2fn|float8_e5m2fnuz", ".e5m2", 8, 'r', "(unsigned *)"},
	{"float16|fp16|.f16", ".f16", 16, 'r', "(unsigned *)"},
	{"bfloat16|bf16", ".bf16", 16, 'r', "(unsigned *)"},
	{"float32|fp32|.f32", ".f32", 32, 'f', "(float *)"},
	{"tf32", ".tf32", 32, 'r', "(unsigned *)"},
	{"float64|fp64|.f64", ".f64", 64, 'd', "(double *)"},
	{"int1|.b1", ".b1", 1, 'r', "(unsigned *)"},
};

static const MmaType *mma_type(const Expr *e)
{
	if (e->kind != EX_STR)
		return NULL;
	for (size_t i = 0; i < sizeof mma_types / sizeof *mma_types; i++)
		if (ptx_slot_accepts(mma_types[i].names, e->s))
			return &mma_types[i];
	return NULL;
}

/* Whether (m, n, k, multiplicand type, bit op) is one of TVM's MMA
 * configurations, the multiplicand and accumulator types pair as TVM
 * requires, and saturation and layouts are allowed. */
static const char *mma_legacy_check(int m, int n, int k, const char *a, const char *b, const char *c, int bitop,
                                    int sat, int row_col)
{
	static const struct {
		int m, n, k;
		const char *a;
		int bitop;
	} cfg[] = {{8, 8, 4, ".f64", 0},    {8, 8, 4, ".f16", 0},    {16, 8, 8, ".f16", 0},   {16, 8, 16, ".f16", 0},
	           {16, 8, 8, ".bf16", 0},  {16, 8, 16, ".bf16", 0}, {16, 8, 4, ".tf32", 0},  {16, 8, 8, ".tf32", 0},
	           {8, 8, 16, ".s8", 0},    {16, 8, 16, ".s8", 0},   {16, 8, 32, ".s8", 0},   {8, 8, 16, ".u8", 0},
	           {16, 8, 16, ".u8", 0},   {16, 8, 32, ".u8", 0},   {8, 8, 32, ".s4", 0},    {16, 8, 32, ".s4", 0},
	           {16, 8, 64, ".s4", 0},   {8, 8, 32, ".u4", 0},    {16, 8, 32, ".u4", 0},   {16, 8, 64, ".u4", 0},
	           {8, 8, 128, ".b1", 1},   {16, 8, 128, ".b1", 1},  {16, 8, 256, ".b1", 1},  {16, 8, 32, ".e4m3", 0},
	           {16, 8, 32, ".e5m2", 0}};
	int i8 = !strcmp(a, ".s8") || !strcmp(a, ".u8"), i4 = !strcmp(a, ".s4") || !strcmp(a, ".u4");
	int f8 = !strcmp(a, ".e4m3") || !strcmp(a, ".e5m2");
	if (bitop && strcmp(a, ".b1"))
		return "a bit operation needs 1-bit multiplicands";
	if (i8 ? !ptx_slot_accepts(".s8|.u8", b) : i4 ? !ptx_slot_accepts(".s4|.u4", b) : f8 ? !ptx_slot_accepts(".e4m3|.e5m2", b) : strcmp(a, b) != 0)
		return "the multiplicand types do not pair";
	if (i8 || i4 || !strcmp(a, ".b1") ? strcmp(c, ".s32") != 0
	    : !strcmp(a, ".f16")          ? !ptx_slot_accepts(".f16|.f32", c)
	    : !strcmp(a, ".f64")          ? strcmp(c, ".f64") != 0
	    : !strcmp(a, ".s32") || !strcmp(a, ".f32") ? 1
	                                  : strcmp(c, ".f32") != 0)
		return "the accumulator type does not go with the multiplicands";
	if (sat && !i8 && !i4)
		return "saturation applies only to s4/u4/s8/u8 multiplicands";
	if (!(m == 8 && n == 8 && k == 4 && !strcmp(a, ".f16")) && !row_col)
		return "only the m8n8k4 f16 shape takes layouts other than row, col";
	for (size_t i = 0; i < sizeof cfg / sizeof *cfg; i++)
		if (cfg[i].m == m && cfg[i].n == n && cfg[i].k == k && !strcmp(cfg[i].a, a) && cfg[i].bitop == bitop)
			return NULL;
	return "no MMA configuration of TVM has this shape and multiplicand type";
}

static void mma_legacy(G *g, Expr *e)
{
	Expr **a = e->call.args;
	int n = e->call.nargs;
	if (n != 13 && n != 14) {
		gerr(g, "T.ptx_legacy.mma takes 13 or 14 arguments");
		return;
	}
	for (int i = 0; i < 3; i++)
		if (a[i]->kind != EX_STR) {
			gerr(g, "T.ptx_legacy.mma: the shape and layouts must be strings");
			return;
		}
	const MmaType *ta = mma_type(a[3]), *tb = mma_type(a[4]), *tc = mma_type(a[5]);
	int64_t sat;
	const char *bit = n == 14 && a[13]->kind == EX_STR ? a[13]->s : "";
	int mm = 0, nn = 0, kk = 0;
	/* the shapes of TVM's MMA table, read without overflow */
	static const int shapes[][3] = {{8, 8, 4},    {16, 8, 8},   {16, 8, 16},  {16, 8, 4},   {8, 8, 16},
	                                {16, 8, 32},  {8, 8, 32},   {16, 8, 64},  {8, 8, 128},  {16, 8, 128},
	                                {16, 8, 256}};
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
		char b[32];
		snprintf(b, sizeof b, "m%dn%dk%d", shapes[i][0], shapes[i][1], shapes[i][2]);
		if (!strcmp(b, a[0]->s))
			mm = shapes[i][0], nn = shapes[i][1], kk = shapes[i][2];
	}
	if (!ta || !tb || !tc || !ex_is_const_int(a[12], &sat) || (n == 14 && a[13]->kind != EX_STR) || !mm ||
	    !ptx_slot_accepts("row|col", a[1]->s) || !ptx_slot_accepts("row|col", a[2]->s) ||
	    (*bit && !ptx_slot_accepts("xor|and", bit))) {
		gerr(g, "T.ptx_legacy.mma takes (\"mMnNkK\", \"row\"|\"col\", \"row\"|\"col\", A type, B type, C type, a, "
		        "offset, b, offset, c, offset, saturate[, \"xor\"|\"and\"]) with TVM's type names");
		return;
	}
	const char *why = mma_legacy_check(mm, nn, kk, ta->ptx, tb->ptx, tc->ptx, *bit != 0, sat != 0,
	                                   !strcmp(a[1]->s, "row") && !strcmp(a[2]->s, "col"));
	if (why) {
		gerr(g, "T.ptx_legacy.mma: %s", why);
		return;
	}
	const char *ap = gfmt(g, "%s + %s", ps(g, a[6]), ps(g, a[7]));
	const char *bp = gfmt(g, "%s + %s", ps(g, a[8]), ps(g, a[9]));
	const char *cp = gfmt(g, "%s + %s", ps(g, a[10]), ps(g, a[11]));
	if (strpbrk(ap, "BCD") || strpbrk(bp, "CD") || strchr(cp, 'D')) {
		gerr(g, "T.ptx_legacy.mma: TVM's text substitution of the fragment pointers would rewrite the letters "
		        "B, C or D in '%s', '%s' or '%s'", ap, bp, cp);
		return;
	}
	int threads = mm == 8 && nn == 8 && kk == 4 && !strcmp(ta->ptx, ".f16") ? 8 : 32;
	int rsa = ta->reg == 'd' ? 64 : 32, rsb = tb->reg == 'd' ? 64 : 32, rsc = tc->reg == 'd' ? 64 : 32;
	int na = mm * kk * ta->bits / rsa / threads, nb = kk * nn * tb->bits / rsb / threads,
	    nc = mm * nn * tc->bits / rsc / threads;
	if (na < 1 || nb < 1 || nc < 1) {
		gerr(g, "T.ptx_legacy.mma: a fragment of no registers");
		return;
	}
	Buf *os = g->os;
	buf_printf(os, "\n  {\n    __asm__ __volatile__(\n      \"mma.sync.aligned.%s.%s.%s%s%s%s%s%s", a[0]->s, a[1]->s,
	           a[2]->s, sat ? ".satfinite" : "", tc->ptx, ta->ptx, tb->ptx, tc->ptx);
	if (*bit)
		buf_printf(os, ".%s.popc", bit);
	buf_puts(os, "\"\n      \"{");
	int ix = 0;
	int cnt[4] = {nc, na, nb, nc};
	for (int grp = 0; grp < 4; grp++) {
		if (grp)
			buf_puts(os, "}, {");
		for (int i = 0; i < cnt[grp]; i++)
			buf_printf(os, "%s%%%d", i ? ", " : "", ix++);
	}
	buf_puts(os, "};\\n\"\n      : ");
	for (int i = 0; i < nc; i++)
		buf_printf(os, "%s \"=%c\"((%s(%s))[%d])", i ? "," : "", tc->reg, tc->ptr, cp, i);
	buf_puts(os, "\n      : ");
	const MmaType *ts[3] = {ta, tb, tc};
	const char *ps3[3] = {ap, bp, cp};
	int ns[3] = {na, nb, nc};
	for (int grp = 0, first = 1; grp < 3; grp++)
		for (int i = 0; i < ns[grp]; i++, first = 0)
			buf_printf(os, "%s\"%c\"((%s(%s))[%d])", first ? "" : ", ", ts[grp]->reg, ts[grp]->ptr, ps3[grp], i);
	buf_puts(os, ");\n  }\n");
}

/* T.s_tir.ldg32(reg, guard, global[i], local_index): the guarded 32-bit
 * global load TVM's C++ writes straight into the statement stream. */
static void ldg32(G *g, Expr *e)
{
	Expr **a = e->call.args;
	if (e->call.nargs != 4 || a[2]->kind != EX_LOAD || a[2]->load.nidx != 1) {
		gerr(g, "T.s_tir.ldg32 takes (reg, guard, a flat global load, local index)");
		return;
	}
	const char *reg = ps(g, a[0]), *guard = ps(g, a[1]);
	const char *gi = ps(g, a[2]->load.idx[0]);
	Buffer *b = a[2]->load.buf;
	const char *gb = var_id(g, b, b->name);
	const char *li = ps(g, a[3]);
	Buf *os = g->os;
	buf_puts(os, "asm volatile (\n\"{.reg .pred p;\\n\"\n\" setp.ne.b32 p, %2, 0;\\n\"\n"
	             "\" @!p mov.b32 %0, 0;\\n\"\n\" @p ld.global.nc.f32 %0, [%1];}\\n\"\n");
	buf_printf(os, ": \"=f\"(%s[%s])\n: \"l\"((void*)(%s+%s)), \"r\"((int)%s)\n);\n", reg, li, gb, gi, guard);
}

static void call(G *g, Expr *e, Buf *os)
{
	const Op *op = e->call.op;
	Expr **a = e->call.args;
	int n = e->call.nargs;
	if (!op) {
		Sym callee = pmap_get(&g->fname_of, e->call.fn);
		if (!callee) {
			gerr(g, "call of '%s', which is not a device function of this module", e->call.fn);
			return;
		}
		call_extern(g, e->call.rty, callee, a, n, os);
		return;
	}
	const char *name = op->name;
	CudaHelper h;
	const char *herr = NULL;
	if (cuda_helper_for(g->A, e, &h, &herr)) {
		const char **sa = h.nargs ? ar_alloc(g->A, (size_t)h.nargs * sizeof *sa) : NULL;
		for (int i = 0; i < h.nargs; i++)
			sa[i] = ps(g, h.args[i]);
		buf_printf(os, "%s(", h.name);
		for (int i = 0; i < h.nargs; i++)
			buf_printf(os, "%s%s", sa[i], i < h.nargs - 1 ? ", " : "");
		buf_putc(os, ')');
		cuda_add_util((CudaGen *)g, h.name, h.code);
		g->tags |= h.tags;
		return;
	}
	if (herr) {
		gerr(g, "T.%s: %s", op->script ? op->script : name, herr);
		return;
	}
#define IS(s) (!strcmp(name, s))
	if (IS("tirx.call_extern") || IS("tirx.call_pure_extern")) {
		if (n < 1 || a[0]->kind != EX_STR) {
			gerr(g, "%s needs the function name first", name);
			return;
		}
		call_extern(g, e->call.rty, a[0]->s, a + 1, n - 1, os);
		return;
	}
	for (size_t i = 0; i < sizeof global_symbols / sizeof *global_symbols; i++)
		if (IS(global_symbols[i].op)) {
			call_extern(g, e->call.rty, global_symbols[i].sym, a, n, os);
			return;
		}
	if (IS("tirx.bitwise_and")) {
		bin_intrin(g, e, " & ", os);
	} else if (IS("tirx.bitwise_or")) {
		bin_intrin(g, e, " | ", os);
	} else if (IS("tirx.bitwise_xor")) {
		bin_intrin(g, e, " ^ ", os);
	} else if (IS("tirx.shift_left")) {
		bin_intrin(g, e, " << ", os);
	} else if (IS("tirx.shift_right")) {
		bin_intrin(g, e, " >> ", os);
	} else if (IS("tirx.bitwise_not")) {
		buf_puts(os, "(~");
		pe(g, a[0], os);
		buf_putc(os, ')');
	} else if (IS("tirx.large_uint_imm")) {
		int64_t lo, hi;
		if (n != 2 || !ex_is_const_int(a[0], &lo) || !ex_is_const_int(a[1], &hi)) {
			gerr(g, "large_uint_imm needs two constants");
			return;
		}
		uint64_t v = ((uint64_t)hi << 32) | (uint64_t)(uint32_t)lo;
		DType t = e->call.rty.dt;
		if (t.code == DT_UINT && t.bits == 32 && t.lanes == 1) {
			const char *s = gfmt(g, "%" PRIu64 "U", v);
			mark_const(g, s);
			buf_puts(os, s);
		} else {
			buf_putc(os, '(');
			print_type(g, t, os);
			buf_printf(os, ")%" PRIu64, v);
		}
	} else if (IS("tirx.if_then_else")) {
		if_then_else(g, e, os);
	} else if (IS("tirx.address_of")) {
		address_of(g, e, os);
	} else if (IS("tirx.isnullptr")) {
		buf_putc(os, '(');
		pe(g, a[0], os);
		buf_puts(os, " == NULL)");
	} else if (IS("tirx.handle_add_byte_offset")) {
		buf_puts(os, "((void*)((char*)");
		pe(g, a[0], os);
		buf_puts(os, " + ");
		pe(g, a[1], os);
		buf_puts(os, "))");
	} else if (IS("tirx.reinterpret")) {
		reinterpret(g, e, os);
	} else if (IS("tirx.isnan")) {
		const char *x = ps(g, a[0]);
		buf_printf(os, "(%s != %s)", x, x);
	} else if (IS("tirx.tvm_thread_invariant") || IS("tirx.likely")) {
		if (IS("tirx.likely")) {
			gerr(g, "T.likely has no CUDA spelling in TVM 0.27 (it is removed by passes tirxc does not run)");
			return;
		}
		buf_putc(os, '(');
		pe(g, a[0], os);
		buf_putc(os, ')');
	} else if (IS("tirx.thread_return")) {
		buf_puts(os, "return");
	} else if (IS("tirx.continue_loop")) {
		buf_puts(os, "continue;");
	} else if (IS("tirx.break_loop")) {
		buf_puts(os, "break;");
	} else if (IS("tirx.cuda.func_call")) {
		if (n < 2 || a[0]->kind != EX_STR || a[n - 1]->kind != EX_STR) {
			gerr(g, "T.cuda.func_call needs a name, the arguments and the source");
			return;
		}
		const char **sa = ar_alloc(g->A, (size_t)n * sizeof *sa);
		for (int i = 1; i < n - 1; i++)
			sa[i] = ps(g, a[i]);
		buf_printf(os, "%s(", a[0]->s);
		for (int i = 1; i < n - 1; i++)
			buf_printf(os, "%s%s", sa[i], i < n - 2 ? ", " : "");
		buf_putc(os, ')');
		cuda_add_util((CudaGen *)g, a[0]->s, a[n - 1]->s);
	} else if (IS("tirx.mma_fill") || IS("tirx.mma_fill_legacy")) {
		/* TVM's C++ prints the zeroing loop as the expression */
		const char *num = ps(g, a[0]), *dst = ps(g, a[1]), *off = ps(g, a[2]);
		buf_printf(os, "for (int i = 0; i < %s; ++i) {\n%s[%s + i] = 0.0;}\n", num, dst, off);
	} else if (IS("tirx.tvm_fill_fragment") || IS("tirx.tvm_load_matrix_sync") || IS("tirx.tvm_store_matrix_sync") ||
	           IS("tirx.tvm_mma_sync") || IS("tirx.tvm_bmma_sync")) {
		wmma_call(g, name, a, n, os);
	} else if (IS("tirx.ptx_legacy.ldmatrix")) {
		ldmatrix_legacy(g, e);
	} else if (IS("tirx.ptx_legacy.mma")) {
		mma_legacy(g, e);
	} else if (IS("tirx.s_tir.ldg32")) {
		ldg32(g, e);
	} else {
		gerr(g, "no CUDA code for T.%s", op->script ? op->script : name);
	}
#undef IS
}

static void pe(G *g, Expr *e, Buf *os)
{
	if (g->err)
		return;
	switch (e->kind) {
	case EX_INT: print_int(g, e->dt, e->i, os); return;
	case EX_FLOAT: print_float(g, e->dt, e->f, os); return;
	case EX_STR: buf_printf(os, "\"%s\"", e->s); return;
	case EX_VAR: buf_puts(os, var_id(g, e->var, e->var->name)); return;
	case EX_BUFDATA: buf_puts(os, var_id(g, e->buf, e->buf->name)); return;
	case EX_BUFREF: gerr(g, "buffer '%s' used as a value", e->buf->name); return;
	case EX_ADD: binop(g, e, "+", os); return;
	case EX_SUB: binop(g, e, "-", os); return;
	case EX_MUL: binop(g, e, "*", os); return;
	case EX_DIV: binop(g, e, "/", os); return;
	case EX_MOD:
		if (dt_is_int(e->dt))
			binop(g, e, "%", os);
		else if (e->dt.code == DT_FLOAT && (e->dt.bits == 32 || e->dt.bits == 64))
			binop(g, e, e->dt.bits == 32 ? "fmodf" : "fmod", os);
		else
			gerr(g, "truncmod of this type has no CUDA spelling");
		return;
	case EX_FLOORDIV:
	case EX_FLOORMOD:
		gerr(g, "floor%s is not lowered; run LowerIntrin first", e->kind == EX_FLOORDIV ? "div" : "mod");
		return;
	case EX_MIN: binop(g, e, "min", os); return;
	case EX_MAX: binop(g, e, "max", os); return;
	case EX_EQ: binop(g, e, "==", os); return;
	case EX_NE: binop(g, e, "!=", os); return;
	case EX_LT: binop(g, e, "<", os); return;
	case EX_LE: binop(g, e, "<=", os); return;
	case EX_GT: binop(g, e, ">", os); return;
	case EX_GE: binop(g, e, ">=", os); return;
	case EX_AND: binop(g, e, "&&", os); return;
	case EX_OR: binop(g, e, "||", os); return;
	case EX_NOT:
		buf_putc(os, '!');
		pe(g, e->bin.a, os);
		return;
	case EX_CAST: cast(g, e, os); return;
	case EX_SELECT: select_expr(g, e, os); return;
	case EX_RAMP: ramp(g, e, os); return;
	case EX_BROADCAST: broadcast(g, e, os); return;
	case EX_SHUFFLE: shuffle(g, e, os); return;
	case EX_LET: let_expr(g, e, os); return;
	case EX_LOAD: load(g, e, os); return;
	case EX_CALL: call(g, e, os); return;
	}
	gerr(g, "unknown expression kind %d", e->kind);
}

/* ---------------------------------------------------------- statements */

static void pst(G *g, Stmt *s);

static void bind_thread(G *g, Obj *node)
{
	Var *v = node->iv.var;
	Sym tag = node->iv.tag;
	if (!tag || !*tag || pmap_get(&g->ids, v))
		return;
	if (!strncmp(tag, "vthread", 7) || !strncmp(tag, "cthread", 7)) {
		/* TVM prints `((int)vthread.x)`, which names nothing in CUDA */
		gerr(g, "virtual thread '%s' reached code generation: no tirxc pipeline injects virtual threads", tag);
		return;
	}
	if (!strncmp(tag, "clusterCtaIdx.", 14) && tag[14] >= 'x' && tag[14] <= 'z' && !tag[15]) {
		char dim = tag[14];
		const char *sreg = dim == 'x' && g->cluster_linear ? "cluster_ctarank" : gfmt(g, "cluster_ctaid.%c", dim);
		const char *fn = gfmt(g, "tvm_builtin_cluster_ctaid_%c", dim);
		cuda_add_util((CudaGen *)g, fn,
		              gfmt(g, "__forceinline__ __device__ unsigned int %s() {\n"
		                      "  unsigned int ctaid;\n"
		                      "  asm volatile(\"mov.u32 %%0, %%%%%s;\" : \"=r\"(ctaid) :);\n"
		                      "  return ctaid;\n"
		                      "}\n", fn, sreg));
		pmap_put(&g->ids, v, (void *)cast_from_to(g, gfmt(g, "%s()", fn), dt_make(DT_UINT, 32, 1), v->dt));
		return;
	}
	pmap_put(&g->ids, v, (void *)cast_from_to(g, tag, dt_make(DT_UINT, 32, 1), v->dt));
}

static void storage_sync(G *g, Expr *c)
{
	Expr **a = c->call.args;
	if (c->call.nargs < 1 || a[0]->kind != EX_STR) {
		gerr(g, "tvm_storage_sync needs a scope string");
		return;
	}
	const char *sc = a[0]->s;
	if (!strcmp(sc, "warp"))
		return;
	if (!strcmp(sc, "shared") || !strcmp(sc, "shared.dyn")) {
		indent(g);
		buf_puts(g->os, "__syncthreads();\n");
		return;
	}
	if (!strcmp(sc, "global") && c->call.nargs == 3) {
		if (!g->need_global_barrier) {
			g->need_global_barrier = 1;
			buf_printf(&g->decl, "extern \"C\" __device__ unsigned %s;\n", g->barrier_state);
		}
		const char *is_load = ps(g, a[1]), *nblocks = ps(g, a[2]);
		indent(g);
		buf_puts(g->os, "__threadfence_system();\n");
		indent(g);
		buf_printf(g->os, "if (%s) {\n", is_load);
		int wb = begin_scope(g);
		indent(g);
		buf_printf(g->os, "atomicAdd(&%s, 1);\n", g->barrier_state);
		indent(g);
		const char *pf = sym_fresh(&g->names, "pf");
		buf_printf(g->os, "volatile unsigned* %s = &%s;\n", pf, g->barrier_state);
		indent(g);
		buf_printf(g->os, "%s += %s;\n", g->barrier_expect, nblocks);
		indent(g);
		buf_printf(g->os, "while (%s[0] < %s);\n", pf, g->barrier_expect);
		end_scope(g, wb);
		indent(g);
		buf_puts(g->os, "}\n");
		indent(g);
		buf_puts(g->os, "__syncthreads();\n");
		return;
	}
	gerr(g, "tvm_storage_sync(\"%s\") has no CUDA spelling", sc);
}

static void evaluate(G *g, Expr *v)
{
	int64_t c;
	if (v->kind == EX_INT || (v->kind != EX_CALL && ex_is_const_int(v, &c)))
		return;
	if (call_is(v, "tirx.tvm_storage_sync")) {
		storage_sync(g, v);
		return;
	}
	if (call_is(v, "tirx.tvm_global_barrier_kinit")) {
		indent(g);
		buf_printf(g->os, "__shared__ unsigned %s;\n", g->barrier_expect);
		indent(g);
		buf_puts(g->os, "if (threadIdx.x == 0) {\n");
		indent(g);
		buf_printf(g->os, "  %s = 0;\n", g->barrier_expect);
		indent(g);
		buf_puts(g->os, "}\n");
		return;
	}
	if (call_is(v, "tirx.tvm_struct_set")) {
		gerr(g, "tvm_struct_set in device code");
		return;
	}
	const char *s = ps(g, v);
	if (*s) {
		/* A value that is not a call has no effect: TVM prints `n;`,
		 * which nvcc warns about (#174-D); the cast to void says it is
		 * meant (docs/compatibility.md). */
		indent(g);
		buf_printf(g->os, "%s%s;\n", v->kind == EX_CALL ? "" : "(void)", s);
	}
}

static void store(G *g, Stmt *s)
{
	Buffer *b = s->store.buf;
	if (s->store.nidx != 1) {
		gerr(g, "store to '%s' has %d indices; FlattenBuffer must run first", b->name, s->store.nidx);
		return;
	}
	if (s->store.pred) {
		gerr(g, "predicated store to '%s' has no CUDA spelling", b->name);
		return;
	}
	Expr *value = s->store.value, *index = s->store.idx[0];
	DType vt = value->dt;
	if (vt.lanes == b->dt.lanes) {
		const char *v = ps(g, value);
		const char *ref = buffer_ref(g, vt, b, index);
		indent(g);
		buf_printf(g->os, "%s = %s;\n", ref, v);
		return;
	}
	Expr *base;
	if (ramp_unit(index, vt.lanes, &base) && !is_fp4(vt)) {
		const char *v = ps(g, value);
		const char *ref = buffer_ref(g, vt, b, base);
		indent(g);
		buf_printf(g->os, "%s = %s;\n", ref, v);
		return;
	}
	int sc = begin_scope(g);
	const char *si = ssa_dt(g, ps(g, index), index->dt);
	const char *sv = ssa_dt(g, ps(g, value), vt);
	const char *vid = var_id(g, b, b->name);
	DType et = dt_element(vt);
	void *ht = pmap_get(&g->htype, b);
	for (int i = 0; i < vt.lanes; i++) {
		indent(g);
		if (!(ht && dt_eq(word_dt(ht), et)))
			buf_printf(g->os, "((%s*)%s)", type_str(g, et), vid);
		else
			buf_puts(g->os, vid);
		buf_putc(g->os, '[');
		vec_elem_load(g, si, index->dt, i, g->os);
		buf_puts(g->os, "] = ");
		vec_elem_load(g, sv, vt, i, g->os);
		buf_puts(g->os, ";\n");
	}
	end_scope(g, sc);
}

static void bind(G *g, Stmt *s)
{
	Var *v = s->bind.var;
	register_pointer(g, v, s->bind.value);
	const char *value = ps(g, s->bind.value);
	indent(g);
	void *ht = pmap_get(&g->htype, v);
	if (v->ty.kind == TY_PTR && ht) {
		const char *tn = type_str(g, word_dt(ht));
		buf_printf(g->os, "%s* %s = (%s*)%s;\n", tn, alloc_id(g, v, pname(g, v, v->name)), tn, value);
	} else {
		print_ttype(g, v->ty, g->os);
		buf_printf(g->os, " %s = %s;\n", alloc_id(g, v, pname(g, v, v->name)), value);
	}
}

static int64_t ann_int(Obj *ann, const char *key, int *found)
{
	Obj *o = ann ? obj_dict_get(ann, key) : NULL;
	*found = 0;
	if (!o)
		return 0;
	if (o->kind == OB_INT || o->kind == OB_BOOL) {
		*found = 1;
		return o->i;
	}
	int64_t v;
	if (o->kind == OB_EXPR && ex_is_const_int(o->expr, &v)) {
		*found = 1;
		return v;
	}
	*found = 2; /* present, not an integer */
	return 0;
}

/* ------------------------------------------------------------- wmma */

/* The fragment_shape / fragment_layout attrs of the function, by buffer
 * (the attr's node is the buffer: `T.attr(A_frag, "fragment_shape",
 * "16, 16, 16")`).
 * TVM's CodeGenCUDA reads them when it visits the attr and needs them at
 * the fragment's allocation, which the flat IR puts first (the attr names
 * the buffer the allocation defines), so TVM 0.27 cannot print a fragment
 * from a module it reads; here they are looked up in the whole function
 * (docs/compatibility.md).  A buffer with two different values of one
 * attr is refused. */
typedef struct FragScan {
	G *g;
	int conflict;
} FragScan;

static int scan_frag(Walker *w, Stmt *s)
{
	FragScan *x = w->data;
	if (s->kind != ST_ATTR || !s->attr.node || s->attr.node->kind != OB_BUFFER || !s->attr.value ||
	    s->attr.value->kind != EX_STR)
		return 1;
	int shape = !strcmp(s->attr.key, "fragment_shape");
	if (!shape && strcmp(s->attr.key, "fragment_layout"))
		return 1;
	PtrMap *m = shape ? &x->g->frag_shape : &x->g->frag_layout;
	Buffer *b = s->attr.node->buf;
	Sym old = pmap_get(m, b);
	if (old && strcmp(old, s->attr.value->s))
		x->conflict = 1;
	pmap_put(m, b, (void *)s->attr.value->s);
	return 1;
}

/* "M, N, K" -> the fragment's rows and columns for scope; 0 when the
 * string is not three positive integers so written. */
static int frag_dims(const char *shape, const char *scope, int64_t *rows, int64_t *cols)
{
	int64_t v[3];
	const char *p = shape;
	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*p))
			return 0;
		char *end;
		v[i] = strtoll(p, &end, 10);
		if (v[i] <= 0 || v[i] > 4096)
			return 0;
		p = end;
		if (i < 2) {
			if (p[0] != ',' || p[1] != ' ')
				return 0;
			p += 2;
		}
	}
	if (*p)
		return 0;
	if (!strcmp(scope, "wmma.matrix_a"))
		*rows = v[0], *cols = v[2];
	else if (!strcmp(scope, "wmma.matrix_b"))
		*rows = v[2], *cols = v[1];
	else
		*rows = v[0], *cols = v[1];
	return 1;
}

/* An allocation in a wmma scope: an array of nvcuda::wmma::fragment, one
 * per M x K (matrix_a), K x N (matrix_b) or M x N (accumulator) tile of
 * the buffer, as TVM's PrintWmmaScope prints it. */
static void wmma_alloc(G *g, Buffer *b, const char *sc)
{
	if (!g->frag_scanned) {
		FragScan x = {g, 0};
		Walker w = {.stmt = scan_frag, .expr = NULL, .data = &x};
		w.kinds = EXK(EX_INT); /* statements only */
		walk_stmt(&w, g->fn->body);
		g->frag_scanned = 1 + x.conflict;
	}
	if (g->frag_scanned == 2) {
		gerr(g, "a wmma fragment has two different fragment_shape or fragment_layout attrs");
		return;
	}
	int ab = !strcmp(sc, "wmma.matrix_a") || !strcmp(sc, "wmma.matrix_b");
	if (!ab && strcmp(sc, "wmma.accumulator")) {
		gerr(g, "'%s': %s is not a wmma fragment scope (matrix_a, matrix_b, accumulator)", b->name, sc);
		return;
	}
	DType t = b->dt;
	const char *prec = NULL;
	int ok = t.lanes == 1;
	if (ab)
		ok = ok && ((t.code == DT_FLOAT && t.bits == 16) || (t.code == DT_BFLOAT && t.bits == 16) ||
		            (dt_is_int(t) && (t.bits == 8 || t.bits == 4)) || (t.code == DT_INT && t.bits == 1));
	else
		ok = ok && ((t.code == DT_FLOAT && (t.bits == 16 || t.bits == 32)) || (t.code == DT_INT && t.bits == 32));
	if (!ok) {
		char d[32];
		gerr(g, "'%s': a wmma %s fragment does not take %s", b->name, ab ? "matrix_a/matrix_b" : "accumulator",
		     dt_str(t, d));
		return;
	}
	if (t.bits == 4)
		prec = t.code == DT_INT ? "nvcuda::wmma::experimental::precision::s4" : "nvcuda::wmma::experimental::precision::u4";
	else if (t.bits == 1)
		prec = "nvcuda::wmma::experimental::precision::b1";
	Sym shape = pmap_get(&g->frag_shape, b), layout = pmap_get(&g->frag_layout, b);
	int64_t rows, cols, size = 1, d;
	if (!shape || !frag_dims(shape, sc, &rows, &cols)) {
		gerr(g,
		     shape ? "'%s': fragment_shape must be \"M, N, K\""
		           : "'%s': a wmma fragment needs a fragment_shape attr on the buffer: T.attr(buffer, "
		             "\"fragment_shape\", \"M, N, K\")",
		     b->name);
		return;
	}
	if (ab && (!layout || (strcmp(layout, "row_major") && strcmp(layout, "col_major")))) {
		gerr(g, "'%s': a wmma %s fragment needs a fragment_layout attr of row_major or col_major", b->name, sc + 5);
		return;
	}
	for (int i = 0; i < b->ndim; i++) {
		if (!ex_is_const_int(b->shape[i], &d)) {
			gerr(g, "'%s' has a shape that is not constant; a kernel allocates only constant sizes", b->name);
			return;
		}
		size *= d;
	}
	if (size <= 0 || size % (rows * cols)) {
		gerr(g, "'%s': %" PRId64 " elements are not a whole number of %" PRId64 "x%" PRId64 " fragments", b->name, size,
		     rows, cols);
		return;
	}
	const char *vid = alloc_id(g, b, gfmt(g, "%s_ptr", pname(g, b, b->name)));
	indent(g);
	Buf *os = g->os;
	buf_printf(os, "nvcuda::wmma::fragment<nvcuda::wmma::%s, %s, ", sc + 5, shape);
	if (prec)
		buf_puts(os, prec);
	else
		print_type(g, t, os);
	if (ab)
		buf_printf(os, ", nvcuda::wmma::%s", layout);
	buf_printf(os, "> %s[%" PRId64 "];\n", vid, size / rows / cols);
	g->tags |= TAG_MMA;
	pmap_put(&g->htype, b, dt_word(b->dt));
}

/* The wmma calls, as CodeGenCUDA prints them: `frag[index]` for a
 * fragment and its index argument. */
static void wmma_frag(G *g, Expr *frag, Expr *index, Buf *os)
{
	pe(g, frag, os);
	buf_putc(os, '[');
	pe(g, index, os);
	buf_putc(os, ']');
}

static void wmma_call(G *g, const char *name, Expr **a, int n, Buf *os)
{
	g->tags |= TAG_MMA;
	if (n != 6 && n != 8) {
		gerr(g, "T.%s: wrong number of arguments", name + 5);
		return;
	}
	if (!strcmp(name, "tirx.tvm_fill_fragment")) {
		buf_puts(os, "nvcuda::wmma::fill_fragment(");
		wmma_frag(g, a[0], a[4], os);
		buf_puts(os, ", ");
		pe(g, a[5], os);
	} else if (!strcmp(name, "tirx.tvm_load_matrix_sync")) {
		buf_puts(os, "nvcuda::wmma::load_matrix_sync(");
		wmma_frag(g, a[0], a[4], os);
		buf_puts(os, ", ");
		pe(g, a[5], os);
		buf_puts(os, ", ");
		pe(g, a[6], os);
	} else if (!strcmp(name, "tirx.tvm_store_matrix_sync")) {
		if (a[7]->kind != EX_STR || (strcmp(a[7]->s, "row_major") && strcmp(a[7]->s, "col_major"))) {
			gerr(g, "T.tvm_store_matrix_sync: the layout must be \"row_major\" or \"col_major\"");
			return;
		}
		buf_puts(os, "nvcuda::wmma::store_matrix_sync(");
		pe(g, a[5], os);
		buf_puts(os, ", ");
		wmma_frag(g, a[0], a[4], os);
		buf_puts(os, ", ");
		pe(g, a[6], os);
		buf_printf(os, ", nvcuda::wmma::mem_%s", a[7]->s);
	} else {
		buf_printf(os, "nvcuda::wmma::%s(", !strcmp(name, "tirx.tvm_mma_sync") ? "mma_sync" : "bmma_sync");
		for (int i = 0; i < 4; i++) {
			if (i)
				buf_puts(os, ", ");
			wmma_frag(g, a[2 * i], a[2 * i + 1], os);
		}
	}
	buf_putc(os, ')');
}

static void alloc(G *g, Stmt *s)
{
	Buffer *b = s->alloc.buf;
	Obj *ann = s->alloc.annotations;
	const char *sc = b->scope ? b->scope : "global";
	if (!strncmp(sc, "wmma.", 5)) {
		wmma_alloc(g, b, sc);
		return;
	}
	if (!strcmp(sc, "global")) {
		gerr(g, "'%s' allocates global memory in a kernel: pass global arrays as arguments", b->name);
		return;
	}
	const char *vid = alloc_id(g, b, gfmt(g, "%s_ptr", pname(g, b, b->name)));
	indent(g);
	Buf *os = g->os;
	if (!strcmp(sc, "shared"))
		buf_puts(os, "__shared__ ");
	else if (!strcmp(sc, "shared.dyn"))
		buf_puts(os, "extern __shared__ ");
	int found;
	int64_t align = b->align;
	int64_t a = ann_int(ann, "buffer_data_alignment", &found);
	if (found == 1)
		align = a;
	if (align > 0 && !strcmp(sc, "shared.dyn"))
		buf_printf(os, "__align__(%" PRId64 ") ", align);
	else if (align > 0)
		buf_printf(os, "alignas(%" PRId64 ") ", align);
	print_type(g, b->dt, os);
	if (!strcmp(sc, "shared.dyn")) {
		buf_printf(os, " %s[];\n", vid);
	} else {
		int64_t size = 1, d;
		for (int i = 0; i < b->ndim; i++) {
			if (!ex_is_const_int(b->shape[i], &d)) {
				gerr(g, "'%s' has a shape that is not constant; a kernel allocates only constant sizes", b->name);
				return;
			}
			size *= d;
		}
		if (size <= 0) {
			gerr(g, "'%s' allocates %" PRId64 " elements", b->name, size);
			return;
		}
		DType t = b->dt;
		if (t.lanes == 1 && ((dt_is_int(t) && t.bits == 4) || (t.code == DT_INT && t.bits == 1)) &&
		    !strcmp(sc, "shared"))
			size /= 32 / t.bits;
		buf_printf(os, " %s[%" PRId64 "];\n", vid, size);
	}
	pmap_put(&g->htype, b, dt_word(b->dt));
	if (ann && obj_dict_get(ann, "tirx.volatile"))
		pmap_put(&g->vol, b, (void *)1);
}

static void decl(G *g, Stmt *s)
{
	Buffer *b = s->decl.buf;
	Expr *d = s->decl.data;
	const void *src = d->kind == EX_VAR ? (const void *)d->var : d->kind == EX_BUFDATA ? (const void *)d->buf : NULL;
	if (src && pmap_get(&g->ids, src)) {
		pmap_put(&g->ids, b, pmap_get(&g->ids, src));
		if (pmap_get(&g->vol, src))
			pmap_put(&g->vol, b, (void *)1);
		void *ht = pmap_get(&g->htype, src);
		pmap_put(&g->htype, b, ht ? ht : dt_word(b->dt));
		return;
	}
	/* TVM's order: the name is taken before the data is printed */
	indent(g);
	const char *tn = type_str(g, b->dt);
	buf_printf(g->os, "%s* %s = ", tn, alloc_id(g, b, pname(g, b, b->name)));
	if (d->kind == EX_INT)
		buf_printf(g->os, "reinterpret_cast<%s*>(%s)", tn, ps(g, d));
	else
		buf_printf(g->os, "((%s*)%s)", tn, ps(g, d));
	buf_puts(g->os, ";\n");
	pmap_put(&g->htype, b, dt_word(b->dt));
}

/* Whether a and b are the same var or the same integer constant. */
static int same_leaf(const Expr *a, const Expr *b)
{
	int64_t x, y;
	if (a == b)
		return 1;
	if (a->kind == EX_VAR && b->kind == EX_VAR)
		return a->var == b->var;
	return ex_is_const_int(a, &x) && ex_is_const_int(b, &y) && x == y &&
	       dt_eq(a->dt, b->dt);
}

/* Loop bounds: min + extent as TVM's Simplify leaves them when both are
 * constants (folded), min is 0 (the extent) or the extent is `e - min`
 * (e: what the loop was written with, range(min, e)); otherwise the sum. */
static Expr *loop_end(G *g, Stmt *s)
{
	int64_t m, x;
	Expr *mn = s->loop.min, *ext = s->loop.extent;
	if (ex_is_const_int(mn, &m) && m == 0)
		return ext;
	if (ex_is_const_int(mn, &m) && ex_is_const_int(ext, &x))
		return ex_int(g->A, ext->dt, m + x);
	if (ext->kind == EX_SUB && same_leaf(ext->bin.b, mn) && dt_eq(ext->dt, mn->dt))
		return ext->bin.a;
	const char *err = NULL;
	Expr *r = arith_binary(g->A, EX_ADD, mn, ext, &err);
	if (!r)
		gerr(g, "loop bounds of different types");
	return r ? r : ext;
}

static void loop(G *g, Stmt *s)
{
	if (s->loop.kind == FOR_THREAD_BINDING) {
		gerr(g, "a thread-binding loop reached code generation; run LowerTIRxOpaque first");
		return;
	}
	const char *begin = ps(g, s->loop.min);
	const char *end = ps(g, loop_end(g, s));
	const char *step = s->loop.step ? ps(g, s->loop.step) : NULL;
	Obj *ann = s->loop.annotations;
	int found;
	if (ann && obj_dict_get(ann, "disable_unroll")) {
		indent(g);
		buf_puts(g->os, "#pragma unroll 1\n");
	} else if (s->loop.kind == FOR_UNROLLED) {
		indent(g);
		buf_puts(g->os, "#pragma unroll\n");
	} else if (ann && obj_dict_get(ann, "pragma_unroll")) {
		int64_t n = ann_int(ann, "pragma_unroll", &found);
		indent(g);
		buf_puts(g->os, "#pragma unroll");
		if (found == 1)
			buf_printf(g->os, " %" PRId64, n);
		buf_putc(g->os, '\n');
	}
	indent(g);
	Var *v = s->loop.var;
	const char *vid = alloc_id(g, v, pname(g, v, v->name));
	buf_puts(g->os, "for (");
	print_type(g, v->dt, g->os);
	buf_printf(g->os, " %s = %s; %s < %s; ", vid, begin, vid, end);
	if (step)
		buf_printf(g->os, "%s += %s", vid, step);
	else
		buf_printf(g->os, "++%s", vid);
	buf_puts(g->os, ") {\n");
	int sc = begin_scope(g);
	pst(g, s->loop.body);
	end_scope(g, sc);
	indent(g);
	buf_puts(g->os, "}\n");
}

static void if_stmt(G *g, Stmt *s)
{
	const char *c = ps(g, s->ifs.cond);
	indent(g);
	print_if(g, c);
	int sc = begin_scope(g);
	pst(g, s->ifs.then);
	end_scope(g, sc);
	if (s->ifs.els) {
		indent(g);
		buf_puts(g->os, "} else {\n");
		sc = begin_scope(g);
		pst(g, s->ifs.els);
		end_scope(g, sc);
	}
	indent(g);
	buf_puts(g->os, "}\n");
}

static void while_stmt(G *g, Stmt *s)
{
	indent(g);
	buf_puts(g->os, "#pragma unroll 1\n");
	indent(g);
	buf_puts(g->os, "while (1) {\n");
	int sc = begin_scope(g);
	const char *c = ps(g, s->wloop.cond);
	indent(g);
	buf_printf(g->os, "if (!(%s)) { break; }\n", c);
	pst(g, s->wloop.body);
	end_scope(g, sc);
	indent(g);
	buf_puts(g->os, "}\n");
}

/* The async queue scopes (s_tir's software pipeline): TVM prints the
 * commit_group helper after the body of a commit scope, and the wait_group
 * helper for the inflight count before the body of a wait scope.  Queue 0
 * only, as TVM; the count must be a constant (it is baked into the
 * instruction). */
static void group_helper(G *g, int wait, int64_t n)
{
	CudaHelper h;
	cuda_ptx_group_helper(g->A, wait, n, &h);
	indent(g);
	buf_printf(g->os, "%s();\n", h.name);
	cuda_add_util((CudaGen *)g, h.name, h.code);
}

static Stmt *async_scope(G *g, Stmt *s)
{
	int64_t q, n;
	if (!s->attr.value || !ex_is_const_int(s->attr.value, &q) || q != 0) {
		gerr(g, "attr '%s': for CUDA the async queue must be 0", s->attr.key);
		return NULL;
	}
	if (!strcmp(s->attr.key, "async_commit_queue_scope")) {
		pst(g, s->attr.body);
		if (!g->err)
			group_helper(g, 0, 0);
		return NULL;
	}
	Stmt *in = s->attr.body;
	if (!in || in->kind != ST_ATTR || strcmp(in->attr.key, "async_wait_inflight_count") != 0) {
		gerr(g, "attr 'async_wait_queue_scope' must wrap an 'async_wait_inflight_count' attr");
		return NULL;
	}
	if (!in->attr.value || !ex_is_const_int(in->attr.value, &n) || n < INT32_MIN || n > INT32_MAX) {
		gerr(g, "attr 'async_wait_inflight_count' must be a constant here (it is baked into cp.async.wait_group)");
		return NULL;
	}
	group_helper(g, 1, n);
	return in->attr.body;
}

/* The pre-body part of an attr; returns 0 when the attr printed its body
 * itself. */
static int attr(G *g, Stmt *s)
{
	Sym key = s->attr.key;
	Obj *node = s->attr.node;
	if (!strcmp(key, "thread_extent")) {
		if (node && node->kind == OB_ITERVAR)
			bind_thread(g, node);
	} else if (!strcmp(key, "virtual_thread")) {
		/* TVM prints `((int)vthread.x)`, which names nothing in CUDA */
		gerr(g, "virtual thread '%s' reached code generation: no tirxc pipeline injects virtual threads",
		     node && node->kind == OB_ITERVAR && node->iv.tag ? node->iv.tag : "?");
	} else if (!strcmp(key, "pragma_import_c")) {
		if (!s->attr.value || s->attr.value->kind != EX_STR)
			gerr(g, "pragma_import_c needs a string");
		else
			buf_puts(&g->decl, s->attr.value->s);
	} else if (!strcmp(key, "disable_unroll")) {
		indent(g);
		buf_puts(g->os, "#pragma unroll 1\n");
	} else if (!strcmp(key, "pragma_unroll")) {
		int64_t n;
		indent(g);
		buf_puts(g->os, "#pragma unroll");
		if (s->attr.value && ex_is_const_int(s->attr.value, &n) && n != 1)
			buf_printf(g->os, " %" PRId64, n);
		buf_putc(g->os, '\n');
	} else if (!strcmp(key, "async_wait_inflight_count")) {
		gerr(g, "attr '%s' has no CUDA code here yet", key);
	}
	return 1;
}

static void pst(G *g, Stmt *s)
{
	/* Chains of attrs and the last items of sequences are followed with a
	 * loop: the recursion depth is the nesting of the printed code. */
	while (s && !g->err) {
		if (s->loc.file >= 0)
			g->at = s->loc;
		g->stmt++;
		switch (s->kind) {
		case ST_ATTR:
			if (!strcmp(s->attr.key, "async_commit_queue_scope") ||
			    !strcmp(s->attr.key, "async_wait_queue_scope")) {
				s = async_scope(g, s);
				continue;
			}
			attr(g, s);
			s = s->attr.body;
			continue;
		case ST_SEQ:
			for (int i = 0; i + 1 < s->seq.n; i++)
				pst(g, s->seq.items[i]);
			s = s->seq.n ? s->seq.items[s->seq.n - 1] : NULL;
			continue;
		case ST_BIND: bind(g, s); break;
		case ST_STORE: store(g, s); break;
		case ST_ALLOC: alloc(g, s); break;
		case ST_DECL: decl(g, s); break;
		case ST_FOR: loop(g, s); break;
		case ST_WHILE: while_stmt(g, s); break;
		case ST_IF: if_stmt(g, s); break;
		case ST_EVAL: evaluate(g, s->eval.value); break;
		case ST_ASSERT: gerr(g, "an assertion in device code has no CUDA spelling"); break;
		case ST_RETURN:
			if (g->in_kernel) {
				int64_t v;
				if (s->ret.value && !(ex_is_const_int(s->ret.value, &v) && v == 0)) {
					gerr(g, "a kernel may only return 0 (an early exit)");
					break;
				}
				indent(g);
				buf_puts(g->os, "return;\n");
			} else {
				indent(g);
				buf_puts(g->os, "return ");
				if (s->ret.value)
					pe(g, s->ret.value, g->os);
				buf_puts(g->os, ";\n");
			}
			break;
		case ST_BREAK: indent(g); buf_puts(g->os, "break;\n"); break;
		case ST_CONTINUE: indent(g); buf_puts(g->os, "continue;\n"); break;
		default: gerr(g, "unknown statement kind %d", s->kind);
		}
		return;
	}
}

/* ----------------------------------------------------------- functions */

typedef struct Extents {
	Expr *tx, *ty, *tz, *cx, *cy, *cz; /* the last thread_extent of each tag */
} Extents;

static int scan_extent(Walker *w, Stmt *s)
{
	if (s->kind == ST_ATTR && s->attr.node && s->attr.node->kind == OB_ITERVAR &&
	    !strcmp(s->attr.key, "thread_extent")) {
		Extents *x = w->data;
		Sym tag = s->attr.node->iv.tag;
		Sym vn = s->attr.node->iv.var ? s->attr.node->iv.var->name : "";
#define T(name, f) if ((tag && !strcmp(tag, name)) || !strcmp(vn, name)) x->f = s->attr.value;
		T("threadIdx.x", tx) T("threadIdx.y", ty) T("threadIdx.z", tz)
		T("clusterCtaIdx.x", cx) T("clusterCtaIdx.y", cy) T("clusterCtaIdx.z", cz)
#undef T
	}
	return 1;
}

/* The product of constant extents (an absent tag counts 1); 0 when one of
 * them is not a constant. */
static int const_product(Expr *const *xs, int n, int64_t *out)
{
	int64_t p = 1, v;
	for (int i = 0; i < n; i++) {
		if (!xs[i])
			continue;
		if (!ex_is_const_int(xs[i], &v))
			return 0;
		p *= v;
	}
	*out = p;
	return 1;
}

static Sym func_name(const Func *f)
{
	Sym gs = func_global_symbol(f);
	return gs ? gs : f->name;
}

static int64_t attr_int(const Func *f, const char *key, int *found)
{
	return ann_int(f->attrs, key, found);
}

/* PrintExtraAttrs: __maxnreg__ or __launch_bounds__. */
static void extra_attrs(G *g, const Func *f, Buf *os)
{
	Extents x = {0};
	Walker w = {.stmt = scan_extent, .expr = NULL, .data = &x};
	w.kinds = EXK(EX_INT); /* statements only */
	walk_stmt(&w, f->body);
	Expr *yz[2] = {x.cy, x.cz};
	int64_t cyz;
	g->cluster_linear = const_product(yz, 2, &cyz) && cyz == 1;
	int fr, fm, fc;
	int64_t maxreg = attr_int(f, "tirx.max_registers", &fr);
	int64_t minb = attr_int(f, "tirx.launch_bounds_min_blocks_per_sm", &fm);
	int64_t maxc = attr_int(f, "tirx.launch_bounds_max_blocks_per_cluster", &fc);
	if (fr == 2 || fm == 2 || fc == 2) {
		gerr(g, "launch-bound attributes must be integers");
		return;
	}
	if (fr) {
		if (maxreg <= 0 || fm || fc) {
			gerr(g, "tirx.max_registers must be positive and cannot be combined with launch bounds");
			return;
		}
		buf_printf(os, " __maxnreg__(%" PRId64 ")", maxreg);
		return;
	}
	Expr *t3[3] = {x.tx, x.ty, x.tz};
	int64_t t;
	if (!const_product(t3, 3, &t) || t == 1)
		return;
	if (fm) {
		if (minb <= 0 || (fc && maxc <= 0)) {
			gerr(g, "launch bounds must be positive");
			return;
		}
		buf_printf(os, " __launch_bounds__(%" PRId64 ", %" PRId64, t, minb);
		if (fc)
			buf_printf(os, ", %" PRId64, maxc);
		buf_putc(os, ')');
	} else {
		if (fc) {
			gerr(g, "tirx.launch_bounds_max_blocks_per_cluster requires tirx.launch_bounds_min_blocks_per_sm");
			return;
		}
		buf_printf(os, " __launch_bounds__(%" PRId64 ")", t);
	}
}

static int calling_conv(const Func *f, int *cc)
{
	Obj *o = obj_dict_get(f->attrs, "calling_conv");
	*cc = 0;
	if (!o)
		return 1;
	if (o->kind != OB_INT)
		return 0;
	*cc = (int)o->i;
	return 1;
}

static void signature(G *g, const Func *f, Sym name, Buf *os)
{
	int cc;
	calling_conv(f, &cc);
	g->in_kernel = cc == 2;
	buf_puts(os, cc == 2 ? "extern \"C\" __global__ " : "extern \"C\" __device__ ");
	print_ttype(g, f->ret, os);
	extra_attrs(g, f, os);
	buf_printf(os, " %s(", name);
	Obj *na = obj_dict_get(f->attrs, "tirx.noalias");
	int noalias = na && (na->kind == OB_BOOL || na->kind == OB_INT) && na->i;
	for (int i = 0; i < f->nparams; i++) {
		Var *v = f->params[i].var;
		if (i)
			buf_puts(os, ", ");
		if (!v) {
			gerr(g, "buffer parameter '%s': device functions take pointers (run the host/device split)",
			     f->params[i].buf->name);
			return;
		}
		if (v->ty.kind == TY_TENSORMAP) {
			buf_puts(os, "const __grid_constant__ CUtensorMap");
		} else {
			print_ttype(g, v->ty, os);
			if (noalias && v->ty.kind == TY_PTR)
				buf_puts(os, " __restrict__");
		}
		buf_printf(os, " %s", alloc_id(g, v, pname(g, v, v->name)));
	}
	buf_putc(os, ')');
	for (int i = 0; i < f->nparams; i++) {
		Var *v = f->params[i].var;
		DType dt;
		if (v && pointee(v->ty, &dt))
			pmap_put(&g->htype, v, dt_word(dt));
	}
}

int cuda_is_device_func(const Func *f)
{
	Obj *t = func_target(f);
	Sym k = t ? target_kind(t) : NULL;
	return k && !strcmp(k, "cuda");
}

int cuda_emit_c(const Module *m, Buf *out)
{
	G g = {0};
	g.A = ar_new();
	g.mod = m;
	g.os = &g.body;
	g.at = NOLOC;
	int ndev = 0;
	/* TVM's CodeGenCUDA::Init takes these two names first, from a supply
	 * that each function then replaces: they are fixed names. */
	g.barrier_state = "__tvm_global_barrier_state";
	g.barrier_expect = "__barrier_expect";
	for (int i = 0; i < m->nfuncs && !g.err; i++) {
		const Func *f = m->funcs[i];
		if (!cuda_is_device_func(f))
			continue;
		g.fn = f;
		int cc;
		if (!calling_conv(f, &cc) || (cc != 0 && cc != 2)) {
			gerr(&g, "a CUDA function must have calling_conv 2 (a kernel) or 0 (a device function)");
			break;
		}
		Sym name = func_name(f);
		if (pmap_get(&g.fnames, name)) {
			gerr(&g, "function name '%s' is used twice", name);
			break;
		}
		pmap_put(&g.fnames, name, (void *)1);
		pmap_put(&g.fname_of, f->name, (void *)name);
		ndev++;
	}
	if (!g.err && !ndev) {
		g.fn = NULL;
		diag_error(NOLOC, "no device function to generate CUDA code for (is there a CUDA target, "
		                  "and did the host/device split run?)");
		g.err = 1;
	}
	/* DeclareFunction for all, then AddFunction for all */
	for (int i = 0; i < m->nfuncs && !g.err; i++) {
		const Func *f = m->funcs[i];
		if (!cuda_is_device_func(f))
			continue;
		g.fn = f;
		g.at = f->loc;
		init_func_state(&g);
		signature(&g, f, pmap_get(&g.fname_of, f->name), &g.fwd);
		buf_puts(&g.fwd, ";\n");
	}
	for (int i = 0; i < m->nfuncs && !g.err; i++) {
		const Func *f = m->funcs[i];
		if (!cuda_is_device_func(f))
			continue;
		g.fn = f;
		g.at = f->loc;
		init_func_state(&g);
		signature(&g, f, pmap_get(&g.fname_of, f->name), &g.body);
		buf_puts(&g.body, " {\n");
		int sc = begin_scope(&g);
		pst(&g, f->body);
		end_scope(&g, sc);
		indent(&g);
		buf_puts(&g.body, "}\n\n");
	}
	if (!g.err) {
		if (g.decl.n)
			buf_put(out, g.decl.s, g.decl.n);
		cuda_header(out, g.tags);
		for (int i = 0; i < g.util_code.n; i++)
			buf_puts(out, g.util_code.v[i]);
		buf_put(out, g.fwd.s, g.fwd.n);
		buf_put(out, g.body.s, g.body.n);
	}
	buf_free(&g.decl);
	buf_free(&g.fwd);
	buf_free(&g.body);
	pmap_free(&g.names);
	pmap_free(&g.ids);
	pmap_free(&g.htype);
	pmap_free(&g.vol);
	pmap_free(&g.ssa);
	pmap_free(&g.pnames);
	pmap_free(&g.frag_shape);
	pmap_free(&g.frag_layout);
	pmap_free(&g.fnames);
	pmap_free(&g.fname_of);
	vec_free(&g.util_names);
	vec_free(&g.util_code);
	free(g.marks);
	ar_free(g.A);
	return g.err;
}
