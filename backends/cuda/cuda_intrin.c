/* cuda_intrin.c: the device intrinsics that TVM 0.27 prints through helper
 * functions (its Python codegen registry): for a call of one of them, the
 * helper's name, its source text, the arguments it takes and the preamble
 * tags it needs.  The helper text is what TVM 0.27 emits for the same call,
 * so that kernels match it token for token; it is generated here from
 * tirxc's own tables and rules:
 *
 *  - T.cuda.* with a fixed helper (fixed[] below: return type, parameter
 *    list, body), the templated atomics, the typed __ldg loads, the warp
 *    and CTA reductions, mbarrier_wait (raw form for a uint32 barrier),
 *    and printf (a __noinline__ helper named by the argument count and the
 *    SHA-1 of "format|dtype|...", the format written as a JSON string);
 *  - the modelled entries of the table-driven T.ptx (lib/ops.c
 *    ptx_entries: cp.async ca/cg with src-size or ignore-src, cache hint
 *    and prefetch, predicated or not; commit_group; wait_group; wait_all)
 *    and the raw T.s_tir.cp_async_raw copy;
 *  - the T.ptx family calls the parser keeps as printed, for the families
 *    described in px_entries below (ldmatrix, stmatrix, mma, fence, bar,
 *    mbarrier, and/or/xor/not, elect_sync): the entry is picked and the
 *    helper rendered by TVM's table rules (see "T.ptx families");
 *  - cuda_ptx_group_helper: the commit/wait helpers the async queue attrs
 *    print (cuda_c.c attr()).
 *
 * Expects: calls as the parser and the passes leave them (after LowerIntrin).
 * Deviation (docs/compatibility.md, "CUDA intrinsics"): known ops that are
 * not printed exactly are refused with a reason (*err): the T.ptx families
 * and entries not described here (and the "keep"/sink call forms), nvshmem,
 * and grid_sync (cooperative groups, which tirxc's preamble does not
 * include).  thread_rank and elect_sync use tirxc's own preamble snippets
 * (cuda_header.c).  Ops not listed here are left to the code generator,
 * which refuses what it does not know.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "cuda.h"
#include "parse.h"

static const char *adup(Arena *a, Buf *b)
{
	char *p = ar_alloc(a, b->n + 1);
	if (b->n)
		memcpy(p, b->s, b->n);
	p[b->n] = 0;
	buf_free(b);
	return p;
}

static Expr **argv_of(Arena *a, Expr *const *src, int n)
{
	Expr **v = ar_alloc(a, (size_t)(n ? n : 1) * sizeof *v);
	for (int i = 0; i < n; i++)
		v[i] = src[i];
	return v;
}

/* The helper of TVM's device_intrinsic: "\n[template <typename T>\n]
 * __forceinline__ __device__ RET NAME SIG {\nBODY\n}\n". */
static const char *dev_helper(Arena *a, int templated, const char *ret, const char *name, const char *sig,
                              const char *body)
{
	Buf b = {0};
	buf_printf(&b, "\n%s__forceinline__ __device__ %s %s%s {\n%s\n}\n", templated ? "template <typename T>\n" : "",
	           ret, name, sig, body);
	return adup(a, &b);
}

/* ------------------------------------------------------ fixed helpers */

enum { FX_TEMPLATE = 1 };

typedef struct Fixed {
	const char *op, *name, *ret, *sig, *body;
	int nparams;
	unsigned flags;
	CudaTags tags;
} Fixed;

static const Fixed fixed[] = {
	{"tirx.cuda.fdividef", "tvm_builtin_cuda_fdividef", "float", "(float x, float y)",
	 "    return __fdividef(x, y);", 2, 0, 0},
	{"tirx.cuda.atomic_add", "tvm_builtin_cuda_atomic_add", "T", "(T* addr, T value)",
	 "    return atomicAdd(addr, value);", 2, FX_TEMPLATE, 0},
	{"tirx.cuda.atomic_cas", "tvm_builtin_cuda_atomic_cas", "T", "(T* address, T compare, T val)",
	 "    return atomicCAS(address, compare, val);", 3, FX_TEMPLATE, 0},
	{"tirx.cuda.half2float", "tvm_builtin_cuda_half2float", "float", "(half src)",
	 "    return __half2float(src);", 1, 0, TAG_FP16},
	{"tirx.cuda.bfloat162float", "tvm_builtin_cuda_bfloat162float", "float", "(nv_bfloat16 src)",
	 "    return __bfloat162float(src);", 1, 0, TAG_BF16},
	{"tirx.cuda.cvta_generic_to_shared", "tvm_builtin_cuda_cvta_generic_to_shared", "unsigned int",
	 "(void* p)", "    return __cvta_generic_to_shared(p);", 1, 0, 0},
	{"tirx.cuda.nano_sleep", "tvm_builtin_cuda_nano_sleep", "void", "(uint64_t time)",
	 "    __nanosleep(time);", 1, 0, 0},
	{"tirx.cuda.any_sync", "tvm_builtin_cuda_any_sync", "int", "(unsigned mask, int pred)",
	 "    return __any_sync(mask, pred);", 2, 0, 0},
	{"tirx.cuda.thread_fence", "tvm_builtin_cuda_thread_fence", "void", "()", "    __threadfence();", 0, 0, 0},
	{"tirx.cuda.warp_sync", "tvm_builtin_cuda_warp_sync", "void", "()", "    __syncwarp();", 0, 0, 0},
	{"tirx.cuda.cta_sync", "tvm_builtin_cuda_cta_sync", "void", "()", "    __syncthreads();", 0, 0, 0},
	{"tirx.cuda.syncthreads_and", "tvm_builtin_cuda_syncthreads_and", "int", "(int predicate)",
	 "    return __syncthreads_and(predicate);", 1, 0, 0},
	{"tirx.cuda.syncthreads_or", "tvm_builtin_cuda_syncthreads_or", "int", "(int predicate)",
	 "    return __syncthreads_or(predicate);", 1, 0, 0},
	{"tirx.cuda.ballot_sync", "tvm_builtin_ballot_sync", "unsigned int", "(unsigned int mask, int pred)",
	 "    return __ballot_sync(mask, pred);", 2, 0, 0},
	{"tirx.cuda.cluster_sync", "tvm_builtin_cuda_cluster_sync", "void", "()",
	 "    asm(\"barrier.cluster.arrive.aligned;\");\n    asm(\"barrier.cluster.wait.aligned;\");", 0, 0, 0},
	{"tirx.cuda.warpgroup_sync", "tvm_builtin_cuda_warpgroup_sync", "void", "(int name_bar_id)",
	 "    asm volatile(\"bar.sync %0, 128;\" : : \"r\"(name_bar_id));", 1, 0, 0},
	{"tirx.cuda.clock64", "tvm_builtin_clock64", "unsigned long long", "()", "    return clock64();", 0, 0, 0},
	{"tirx.cuda.thread_rank", "tvm_builtin_cuda_thread_rank", "int", "()",
	 "    namespace cg = cooperative_groups;\n    return cg::this_thread_block().thread_rank();", 0, 0, TAG_THREAD_BLOCK},
	{"tirx.cuda.elect_sync", "tvm_builtin_elect_one_sync_op", "uint32_t", "()", "    return tvm_builtin_elect_one_sync();",
	 0, 0, TAG_ELECT_ONE},
	{"tirx.cuda.trap_when_assert_failed", "tvm_builtin_cuda_trap_when_assert_failed", "void", "(bool cond)",
	 "    do {\n        if (not (cond))\n            asm(\"trap;\");\n    } while (0);", 1, 0, 0},
};

/* Known ops whose helpers need preamble snippets or libraries that tirxc
 * does not ship: refused rather than printed into code that does not
 * compile. */
static const struct {
	const char *op, *why;
} refused[] = {
	{"tirx.cuda.grid_sync",
	 "a grid-wide barrier needs <cooperative_groups.h> (the driver's cooperative-launch workspace), which "
	 "tirxc's preamble does not include: it needs libcu++ under NVRTC"},
};

static int fixed_call(Arena *a, const Expr *call, const Fixed *f, CudaHelper *out, const char **err)
{
	if (call->call.nargs != f->nparams) {
		*err = "wrong number of arguments for its helper";
		return 0;
	}
	out->name = f->name;
	out->code = dev_helper(a, f->flags & FX_TEMPLATE, f->ret, f->name, f->sig, f->body);
	out->args = argv_of(a, call->call.args, call->call.nargs);
	out->nargs = call->call.nargs;
	out->tags = f->tags;
	return 1;
}

/* ------------------------------------------------ mbarrier_wait, ldg */

static int mbarrier_wait(Arena *a, const Expr *call, CudaHelper *out)
{
	TType t = ex_type(call->call.args[0]);
	int raw = t.kind == TY_PRIM && t.dt.code == DT_UINT && t.dt.bits == 32 && t.dt.lanes == 1;
	Buf b = {0};
	buf_printf(&b,
	           "    unsigned int barrier_addr_int = %s;\n"
	           "    unsigned int ticks = 0x989680;\n"
	           "    asm volatile(\n"
	           "        \"{\\n\"\n"
	           "        \".reg .pred                P1;\\n\"\n"
	           "        \"LAB_WAIT:\\n\"\n"
	           "        \"mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 P1, [%%0], %%1, %%2;\\n\"\n"
	           "        \"@P1                       bra.uni DONE;\\n\"\n"
	           "        \"bra.uni                   LAB_WAIT;\\n\"\n"
	           "        \"DONE:\\n\"\n"
	           "        \"}\\n\"\n"
	           "        :: \"r\"(barrier_addr_int), \"r\"(phase), \"r\"(ticks) : \"memory\");",
	           raw ? "barrier" : "__cvta_generic_to_shared(barrier)");
	const char *body = adup(a, &b);
	out->name = raw ? "tvm_builtin_cuda_mbarrier_wait_raw_u32" : "tvm_builtin_cuda_mbarrier_wait";
	out->code = dev_helper(a, 0, "void", out->name, raw ? "(unsigned int barrier, int phase)" : "(void* barrier, int phase)",
	                       body);
	out->args = argv_of(a, call->call.args, 2);
	out->nargs = 2;
	return 1;
}

/* The C type of a scalar __ldg; NULL when TVM has none. */
static const char *ldg_ctype(DType t)
{
	if (t.lanes != 1)
		return NULL;
	if (t.code == DT_INT || t.code == DT_UINT) {
		int u = t.code == DT_UINT;
		switch (t.bits) {
		case 8: return u ? "unsigned char" : "signed char";
		case 16: return u ? "unsigned short" : "short";
		case 32: return u ? "unsigned int" : "int";
		case 64: return u ? "unsigned long long" : "long long";
		}
		return NULL;
	}
	if (t.code == DT_FLOAT)
		return t.bits == 16 ? "half" : t.bits == 32 ? "float" : t.bits == 64 ? "double" : NULL;
	if (t.code == DT_BFLOAT && t.bits == 16)
		return "nv_bfloat16";
	return NULL;
}

/* TVM's suffix of a dtype name: float -> f, uint -> u, int -> i. */
static void ldg_suffix(Buf *b, DType t)
{
	char s[32];
	dt_str(t, s);
	for (const char *p = s; *p;) {
		if (!strncmp(p, "float", 5))
			buf_putc(b, 'f'), p += 5;
		else if (!strncmp(p, "uint", 4))
			buf_putc(b, 'u'), p += 4;
		else if (!strncmp(p, "int", 3))
			buf_putc(b, 'i'), p += 3;
		else
			buf_putc(b, *p++);
	}
}

static int ldg_dtype(const Expr *e, DType *t)
{
	return e->kind == EX_STR && dt_parse(e->s, strlen(e->s), t);
}

static int ldg(Arena *a, const Expr *call, CudaHelper *out, const char **err)
{
	Expr **args = call->call.args;
	int n = call->call.nargs;
	DType t;
	Buf nm = {0}, code = {0};
	if (n == 2) {
		const char *ct;
		if (!ldg_dtype(args[1], &t) || !(ct = ldg_ctype(t))) {
			*err = "the dtype of a scalar __ldg must be an 8..64-bit integer, float16/32/64 or bfloat16";
			return 0;
		}
		buf_puts(&nm, "tvm_builtin_cuda_ldg_");
		ldg_suffix(&nm, t);
		out->name = adup(a, &nm);
		buf_printf(&code,
		           "\n__forceinline__ __device__ %s %s(void* src) {\n"
		           "    return __ldg(reinterpret_cast<const %s*>(src));\n}\n",
		           ct, out->name, ct);
		out->code = adup(a, &code);
		out->args = argv_of(a, args, 1);
		out->nargs = 1;
		out->tags = t.code == DT_BFLOAT ? TAG_BF16 : t.code == DT_FLOAT && t.bits == 16 ? TAG_FP16 : 0;
		return 1;
	}
	/* dst0, ..., dstN-1, addr, dtype, vec, dst_count */
	int64_t cnt;
	if (n < 5 || !ldg_dtype(args[n - 3], &t) || args[n - 2]->kind != EX_STR ||
	    !ex_is_const_int(args[n - 1], &cnt)) {
		*err = "expects (addr, dtype) or (dst..., addr, dtype, vec, dst_count)";
		return 0;
	}
	const char *vec = args[n - 2]->s;
	int len = !strcmp(vec, "v2") ? 2 : !strcmp(vec, "v4") ? 4 : 0;
	const char *ct = NULL, *base = NULL;
	if (t.lanes == 1 && t.bits == 32 && t.code == DT_INT)
		ct = "int", base = "int";
	else if (t.lanes == 1 && t.bits == 32 && t.code == DT_UINT)
		ct = "unsigned int", base = "uint";
	else if (t.lanes == 1 && t.bits == 32 && t.code == DT_FLOAT)
		ct = "float", base = "float";
	if (!ct || !len || cnt != len || n - 4 != len) {
		*err = "a vector __ldg takes int32, uint32 or float32 with vec v2 or v4 and as many destinations";
		return 0;
	}
	buf_puts(&nm, "tvm_builtin_cuda_ldg_");
	ldg_suffix(&nm, t);
	buf_printf(&nm, "_%s_to_dst%d", vec, len);
	out->name = adup(a, &nm);
	buf_printf(&code, "\n__forceinline__ __device__ void %s(", out->name);
	for (int i = 0; i < len; i++)
		buf_printf(&code, "void* dst%d, ", i);
	buf_printf(&code, "void* src) {\n    %s%d v = __ldg(reinterpret_cast<const %s%d*>(src));\n", base, len, base, len);
	for (int i = 0; i < len; i++)
		buf_printf(&code, "    *reinterpret_cast<%s*>(dst%d) = v.%c;\n", ct, i, "xyzw"[i]);
	buf_puts(&code, "}\n");
	out->code = adup(a, &code);
	out->args = argv_of(a, args, len + 1);
	out->nargs = len + 1;
	return 1;
}

/* ------------------------------------------------------- reductions */

static const char *red_step(const char *op, const char **identity)
{
	if (!strcmp(op, "sum"))
		return *identity = "T(0)", "val += shuffled;";
	if (!strcmp(op, "max"))
		return *identity = "-INFINITY", "val = max(val, shuffled);";
	if (!strcmp(op, "min"))
		return *identity = "INFINITY", "val = min(val, shuffled);";
	return NULL;
}

static void warp_reduce_text(Buf *b, const char *name, int64_t width, const char *step)
{
	buf_printf(b,
	           "\ntemplate <typename T>\n"
	           "__forceinline__ __device__ T %s(T val) {\n"
	           "    #pragma unroll\n"
	           "    for (int mask = %" PRId64 " >> 1; mask > 0; mask >>= 1) {\n"
	           "        T shuffled = __shfl_xor_sync(0xFFFFFFFF, val, mask);\n"
	           "        %s\n"
	           "    }\n"
	           "    return val;\n"
	           "}\n",
	           name, width, step);
}

static int pow2_in(const Expr *e, int64_t lo, int64_t hi, int64_t *v)
{
	return ex_is_const_int(e, v) && *v >= lo && *v <= hi && (*v & (*v - 1)) == 0;
}

static int reduce(Arena *a, const Expr *call, int cta, CudaHelper *out, const char **err)
{
	Expr **args = call->call.args;
	const char *identity = NULL, *step = NULL;
	int64_t w;
	if (args[1]->kind == EX_STR)
		step = red_step(args[1]->s, &identity);
	if (!step) {
		*err = "the reduction must be \"sum\", \"max\" or \"min\"";
		return 0;
	}
	if (!pow2_in(args[2], cta ? 1 : 2, 32, &w)) {
		*err = cta ? "num_warps must be a constant power of two in [1, 32]"
		           : "width must be a constant power of two in [2, 32]";
		return 0;
	}
	const char *op = args[1]->s;
	Buf nm = {0}, code = {0};
	if (!cta) {
		buf_printf(&nm, "tvm_builtin_cuda_warp_reduce_%s_%" PRId64, op, w);
		out->name = adup(a, &nm);
		warp_reduce_text(&code, out->name, w, step);
		out->args = argv_of(a, args, 1);
		out->nargs = 1;
	} else {
		Buf wn = {0};
		buf_printf(&wn, "tvm_builtin_cuda_warp_reduce_%s_32", op);
		const char *wname = adup(a, &wn);
		buf_printf(&nm, "tvm_builtin_cuda_cta_reduce_%s_%" PRId64, op, w);
		out->name = adup(a, &nm);
		warp_reduce_text(&code, wname, 32, step);
		buf_printf(&code,
		           "template <typename T>\n"
		           "__forceinline__ __device__ T %s(T val, void* scratch_raw) {\n"
		           "    T* scratch = reinterpret_cast<T*>(scratch_raw);\n"
		           "    val = %s(val);\n"
		           "    int tid = threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;\n"
		           "    int warp_id = tid / 32;\n"
		           "    int lane_id = tid %% 32;\n"
		           "    if (lane_id == 0) scratch[warp_id] = val;\n"
		           "    __syncthreads();\n"
		           "    if (warp_id == 0) {\n"
		           "        T partial = (lane_id < %" PRId64 ") ? scratch[lane_id] : %s;\n"
		           "        partial = %s(partial);\n"
		           "        if (lane_id == 0) scratch[0] = partial;\n"
		           "    }\n"
		           "    __syncthreads();\n"
		           "    return scratch[0];\n"
		           "}\n",
		           out->name, wname, w, identity, wname);
		Expr **v = ar_alloc(a, 2 * sizeof *v);
		v[0] = args[0], v[1] = args[3];
		out->args = v;
		out->nargs = 2;
	}
	out->code = adup(a, &code);
	return 1;
}

/* ----------------------------------------------------------- printf */

/* SHA-1 (FIPS 180-4), for the printf helper's name. */
typedef struct Sha1 {
	uint32_t h[5];
	unsigned char blk[64];
	uint64_t len;
	int n;
} Sha1;

static uint32_t rol(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

static void sha1_block(Sha1 *s)
{
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)s->blk[4 * i] << 24 | (uint32_t)s->blk[4 * i + 1] << 16 | (uint32_t)s->blk[4 * i + 2] << 8 |
		       s->blk[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20)
			f = (b & c) | (~b & d), k = 0x5A827999u;
		else if (i < 40)
			f = b ^ c ^ d, k = 0x6ED9EBA1u;
		else if (i < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCu;
		else
			f = b ^ c ^ d, k = 0xCA62C1D6u;
		uint32_t t = rol(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol(b, 30), b = a, a = t;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
}

static void sha1_put(Sha1 *s, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		s->blk[s->n++] = c[i];
		if (s->n == 64)
			sha1_block(s), s->n = 0;
	}
	s->len += n;
}

static void sha1_hex(Sha1 *s, char hex[41])
{
	uint64_t bits = s->len * 8;
	unsigned char pad = 0x80, z = 0;
	sha1_put(s, &pad, 1);
	while (s->n != 56)
		sha1_put(s, &z, 1);
	for (int i = 7; i >= 0; i--) {
		unsigned char c = (unsigned char)(bits >> (8 * i));
		sha1_put(s, &c, 1);
	}
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned)(s->h[i / 4] >> (24 - 8 * (i % 4))) & 0xffu);
}

/* The format as a JSON string (what Python's json.dumps writes: quote and
 * backslash escaped, the usual short escapes, every other character outside
 * ' '..'~' as a \u00XX escape).  Returns 0 for a non-ASCII format: tirxc
 * keeps strings as UTF-8 bytes but prints them as \xNN escapes, which TVM
 * reads back as one Latin-1 character per byte, so the two disagree on
 * what the string is (docs/compatibility.md). */
static int json_string(Buf *b, const char *s)
{
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned c = *p;
		const char *esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
		if (c >= 0x80)
			return 0;
		if (c == '"' || c == '\\')
			buf_putc(b, '\\'), buf_putc(b, (int)c);
		else if (c >= 0x20 && c < 0x7f)
			buf_putc(b, (int)c);
		else if (esc)
			buf_puts(b, esc);
		else
			buf_printf(b, "\\u%04x", c);
	}
	buf_putc(b, '"');
	return 1;
}

static const char *printf_ctype(TType t)
{
	if (t.kind != TY_PRIM || t.dt.lanes != 1)
		return NULL;
	DType d = t.dt;
	if (d.code == DT_FLOAT)
		return d.bits == 32 ? "float" : d.bits == 64 ? "double" : NULL;
	if (d.code == DT_INT)
		return d.bits == 8 || d.bits == 16 || d.bits == 32 ? "int" : d.bits == 64 ? "long long" : NULL;
	if (d.code == DT_UINT)
		return d.bits == 8 || d.bits == 16 || d.bits == 32 ? "unsigned int"
		       : d.bits == 64                             ? "unsigned long long"
		                                                  : NULL;
	if (d.code == DT_BOOL)
		return "int";
	if (d.code == DT_HANDLE)
		return "void*";
	return NULL;
}

static int cuda_printf(Arena *a, const Expr *call, CudaHelper *out, const char **err)
{
	Expr **args = call->call.args;
	int n = call->call.nargs;
	if (n < 1 || args[0]->kind != EX_STR) {
		*err = "the format must be a string literal";
		return 0;
	}
	Sha1 h = {{0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u}, {0}, 0, 0};
	sha1_put(&h, args[0]->s, strlen(args[0]->s));
	Buf params = {0}, fmt = {0}, nm = {0}, code = {0};
	for (int i = 1; i < n; i++) {
		TType t = ex_type(args[i]);
		const char *ct = printf_ctype(t);
		if (!ct) {
			buf_free(&params);
			*err = "an argument type TVM's printf helper has no C type for";
			return 0;
		}
		char s[32];
		dt_str(t.dt, s);
		sha1_put(&h, "|", 1);
		sha1_put(&h, s, strlen(s));
		buf_printf(&params, "%s%s arg%d", i > 1 ? ", " : "", ct, i - 1);
	}
	if (!json_string(&fmt, args[0]->s)) {
		buf_free(&params), buf_free(&fmt);
		*err = "a format string with non-ASCII characters has no exact spelling here";
		return 0;
	}
	char hex[41];
	sha1_hex(&h, hex);
	buf_printf(&nm, "tvm_builtin_cuda_printf_%d_%s", n - 1, hex);
	out->name = adup(a, &nm);
	buf_printf(&code, "\n__noinline__ __device__ void %s(%s) {\n    printf(%s", out->name, params.s ? params.s : "",
	           fmt.s);
	for (int i = 1; i < n; i++)
		buf_printf(&code, "%sarg%d", i == 1 ? ", " : ", ", i - 1);
	buf_puts(&code, ");\n}\n");
	buf_free(&params), buf_free(&fmt);
	out->code = adup(a, &code);
	out->args = argv_of(a, args + 1, n - 1);
	out->nargs = n - 1;
	out->tags = TAG_PRINTF;
	return 1;
}

/* ------------------------------------------------------------- T.ptx */

/* TVM's helper name: "tvm_builtin_ptx_" and the parts joined by '_', with
 * "::" -> "__", ':' -> '_', '.' -> '_', '-' -> 'm'. */
static void ptx_name_part(Buf *b, const char *s)
{
	buf_putc(b, '_');
	for (; *s; s++) {
		if (s[0] == ':' && s[1] == ':')
			buf_puts(b, "__"), s++;
		else if (*s == ':' || *s == '.')
			buf_putc(b, '_');
		else if (*s == '-')
			buf_putc(b, 'm');
		else
			buf_putc(b, *s);
	}
}

static int imm_allowed(const char *list, int64_t v)
{
	if (!list)
		return 1;
	char s[32];
	snprintf(s, sizeof s, "%" PRId64, v);
	return ptx_slot_accepts(list, s);
}

typedef struct Asm {
	Buf params, ins, decls, pre;
	int idx, nps;
} Asm;

static void asm_reg(Asm *m, const char *ctype, const char *name, const char *cons)
{
	buf_printf(&m->params, "%s%s %s", m->params.n ? ", " : "", ctype, name);
	buf_printf(&m->ins, "%s\"%s\"(%s)", m->ins.n ? ", " : "", cons, name);
	m->idx++;
}

/* A modelled T.ptx entry (cp.async copy, commit, wait): the helper TVM's
 * PTX table renders for it.  Arguments: operands, the predicate when the
 * flags say "pred", one token per modifier slot, the flags. */
static int ptx_entry(Arena *a, const Expr *call, const PtxEntry *e, CudaHelper *out, const char **err)
{
	Expr **args = call->call.args;
	int n = call->call.nargs;
	int k = n;
	while (k > 0 && args[k - 1]->kind == EX_STR)
		k--;
	if (n - k != e->nslots + 1) {
		*err = "malformed modifier tokens";
		return 0;
	}
	const char *toks[PTX_MAXSLOTS];
	for (int j = 0; j < e->nslots; j++)
		toks[j] = args[k + j]->s;
	char kinds[PTX_MAXOPERANDS + 1];
	ptx_operands(e, toks, kinds);
	int nops = (int)strlen(kinds);
	const char *flags = args[n - 1]->s;
	int pred = !strcmp(flags, "pred") || !strncmp(flags, "pred,", 5) || strstr(flags, ",pred");
	if (k != nops + pred) {
		*err = "operand count does not match the instruction";
		return 0;
	}
	Buf nm = {0}, op = {0}, text = {0};
	Asm m = {0};
	buf_printf(&nm, "tvm_builtin_ptx_%s", e->op + strlen("tirx.ptx."));
	buf_puts(&op, "cp");
	for (int j = 0; j < e->nslots; j++)
		if (toks[j][0]) {
			ptx_name_part(&nm, toks[j]);
			buf_printf(&op, ".%s", toks[j]);
		}
	int touches = 0, orders = !strcmp(toks[1], "wait_group") || !strcmp(toks[1], "wait_all");
	Expr **fwd = ar_alloc(a, (size_t)(k ? k : 1) * sizeof *fwd);
	int nfwd = 0, nbridge = 0;
	for (int i = 0; i < nops; i++) {
		buf_puts(&text, i ? ", " : " ");
		switch (kinds[i]) {
		case 'i': {
			int64_t v;
			if (!ex_is_const_int(args[i], &v) || !imm_allowed(e->imm, v)) {
				buf_free(&nm), buf_free(&op), buf_free(&text);
				buf_free(&m.params), buf_free(&m.ins), buf_free(&m.decls), buf_free(&m.pre);
				*err = e->imm ? "the copy size must be a constant the instruction allows"
				              : "the immediate operand must be a constant";
				return 0;
			}
			char s[32];
			snprintf(s, sizeof s, "%" PRId64, v);
			ptx_name_part(&nm, s);
			buf_puts(&text, s);
			continue;
		}
		case 's':
			buf_printf(&text, "[%%%d]", m.idx);
			asm_reg(&m, "uint32_t", "__dst_mem", "r");
			touches = 1;
			break;
		case 'g':
			buf_printf(&text, "[%%%d]", m.idx);
			asm_reg(&m, "const void*", "__src_mem", "l");
			touches = 1;
			break;
		case 'u':
			buf_printf(&text, "%%%d", m.idx);
			asm_reg(&m, "uint32_t", "__src_size", "r");
			break;
		case 'c':
			buf_printf(&text, "%%%d", m.idx);
			asm_reg(&m, "uint64_t", "__cache_policy", "l");
			break;
		case 'p':
			buf_printf(&m.decls, ".reg .pred ps%d; ", nbridge);
			buf_printf(&m.pre, "setp.ne.b32 ps%d, %%%d, 0; ", nbridge, m.idx);
			buf_printf(&text, "ps%d", nbridge++);
			asm_reg(&m, "uint32_t", "__ignore_src", "r");
			break;
		}
		fwd[nfwd++] = args[i];
	}
	if (pred) {
		fwd[nfwd++] = args[nops];
		buf_puts(&nm, "_pred");
		buf_puts(&m.decls, ".reg .pred p; ");
		buf_printf(&m.pre, "setp.ne.b32 p, %%%d, 0; ", m.idx);
		asm_reg(&m, "uint32_t", "__pred", "r");
	}
	out->name = adup(a, &nm);
	Buf code = {0};
	buf_printf(&code, "__forceinline__ __device__ void %s(%s) {\n  asm volatile(\"", out->name, m.params.s ? m.params.s : "");
	if (m.decls.n)
		buf_printf(&code, "{ %s%s%s%s%s; }", m.decls.s, m.pre.s, pred ? "@p " : "", op.s, text.s ? text.s : "");
	else
		buf_printf(&code, "%s%s;", op.s, text.s ? text.s : "");
	buf_printf(&code, "\" :  : %s%s);\n}\n", m.ins.s ? m.ins.s : "", touches || orders ? " : \"memory\"" : "");
	buf_free(&op), buf_free(&text);
	buf_free(&m.params), buf_free(&m.ins), buf_free(&m.decls), buf_free(&m.pre);
	out->code = adup(a, &code);
	out->args = fwd;
	out->nargs = nfwd;
	return 1;
}

/* The element size a cp_async_raw offset is scaled by: the pointee of a
 * typed pointer, 1 for an untyped handle; 0 when TVM would not produce a
 * byte size. */
static int elem_bytes(const Expr *e)
{
	TType t = ex_type(e);
	if (t.kind != TY_PTR)
		return 1;
	if (dt_is_void(t.dt) || t.dt.bits % 8)
		return 0;
	return t.dt.bits / 8;
}

static int cp_async_raw(Arena *a, const Expr *call, CudaHelper *out, const char **err)
{
	Expr **args = call->call.args;
	int n = call->call.nargs;
	int64_t size, pv;
	if ((n != 5 && n != 6) || !ex_is_const_int(args[4], &size)) {
		*err = "expects (dst, dst_offset, src, src_offset, constant size[, predicate])";
		return 0;
	}
	int pred = n == 6 && !(ex_is_const_int(args[5], &pv) && pv == -1);
	int db = elem_bytes(args[0]), sb = elem_bytes(args[2]);
	if (!db || !sb) {
		*err = "a pointer whose element is not a whole number of bytes";
		return 0;
	}
	if (size != 4 && size != 8 && size != 16) {
		/* TVM prints any size; ptxas accepts only these */
		*err = "a cp.async copy is 4, 8 or 16 bytes";
		return 0;
	}
	const char *cop = size == 16 ? "cg" : "ca";
	char dsc[16] = "", ssc[16] = "";
	if (db != 1)
		snprintf(dsc, sizeof dsc, " * %d", db);
	if (sb != 1)
		snprintf(ssc, sizeof ssc, " * %d", sb);
	Buf nm = {0}, code = {0};
	buf_printf(&nm, "ptx_cp_async_legacy_%s%s_%" PRId64 "_%d_%d", pred ? "pred_" : "", cop, size, db, sb);
	out->name = adup(a, &nm);
	buf_printf(&code,
	           "\n__forceinline__ __device__ void %s(void* dst, int dst_off, void* src, int src_off%s) {\n"
	           "  uint8_t* dst_p = (uint8_t*)dst + dst_off%s;\n"
	           "  uint8_t* src_p = (uint8_t*)src + src_off%s;\n"
	           "  unsigned int dst_addr = __cvta_generic_to_shared(dst_p);\n",
	           out->name, pred ? ", int predicate" : "", dsc, ssc);
	if (pred) {
		const char *fill = size == 4 ? "u32 [%0], {%4}" : size == 8 ? "v2.u32 [%0], {%4, %4}" : "v4.u32 [%0], {%4, %4, %4, %4}";
		buf_printf(&code,
		           "  __asm__ __volatile__(\n"
		           "    \"{\\n\"\n"
		           "    \" .reg .pred p;\\n\"\n"
		           "    \" setp.eq.u32 p, %%3, 1;\\n\"\n"
		           "    \" @p cp.async.%s.shared.global [%%0], [%%1], %%2;\\n\"\n"
		           "    \" @!p st.shared.%s;\\n\"\n"
		           "    \"}\\n\"\n"
		           "    :: \"r\"(dst_addr), \"l\"(src_p), \"n\"(%" PRId64 "), \"r\"(predicate), \"r\"(0)\n"
		           "  );\n}\n",
		           cop, fill, size);
	} else {
		buf_printf(&code,
		           "  asm volatile(\"cp.async.%s.shared.global [%%0], [%%1], %%2;\"\n"
		           "    :: \"r\"(dst_addr), \"l\"(src_p), \"n\"(%" PRId64 "));\n}\n",
		           cop, size);
	}
	out->code = adup(a, &code);
	/* dst, dst_offset, src, src_offset[, predicate]: the size is baked in */
	out->args = argv_of(a, args, 5);
	out->args[4] = args[n - 1];
	out->nargs = pred ? 5 : 4;
	return 1;
}

int cuda_ptx_group_helper(Arena *a, int wait, int64_t n, CudaHelper *out)
{
	Buf nm = {0}, code = {0};
	if (wait) {
		buf_printf(&nm, "tvm_builtin_ptx_cp_async_wait_group_async_wait_group_%s%" PRId64, n < 0 ? "m" : "",
		           n < 0 ? -n : n);
		out->name = adup(a, &nm);
		buf_printf(&code,
		           "__forceinline__ __device__ void %s() {\n  asm volatile(\"cp.async.wait_group %" PRId64
		           ";\" :  :  : \"memory\");\n}\n",
		           out->name, n);
	} else {
		out->name = "tvm_builtin_ptx_cp_async_commit_group_async_commit_group";
		buf_printf(&code, "__forceinline__ __device__ void %s() {\n  asm volatile(\"cp.async.commit_group;\" :  : );\n}\n",
		           out->name);
	}
	out->code = adup(a, &code);
	out->args = NULL;
	out->nargs = 0;
	out->tags = 0;
	return 1;
}

/* ------------------------------------------------- T.ptx families */

/* The T.ptx families tirxc prints: the parser keeps a family call as
 * printed, `T.ptx.<family>(operands..., pred?, tokens..., flags)`, and the
 * instruction is picked here the way TVM 0.27 reads such a call back:
 * each non-empty token fills the first open modifier slot that lists it,
 * an entry whose slots cannot take the tokens, whose required slots stay
 * empty, whose cross-slot rule fails, whose operand count differs or whose
 * operands do not fit is dropped, and exactly one entry must remain.  The
 * helper is then rendered by TVM's rules: its name from the entry, the
 * written tokens and (for an operand given a non-canonical dtype) the
 * dtype suffixes; one C parameter per register (a register group is a
 * braced vector of them); destinations by reference; the C type that
 * carries a dtype across the asm boundary; `.pred` registers through a
 * block-local predicate (setp in, selp out); a trailing predicate as
 * `@p`; a "memory" clobber for an address operand or an ordering entry.
 *
 * The entries are tirxc's own description of the instructions (px_entries:
 * slots "?name=tok|tok", '?' marking an optional one; operands).  A family
 * with entries tirxc does not describe refuses a call that fits none of
 * those it does. */

enum { PX_MAXSLOTS = 12, PX_MAXOPS = 5 };
enum { LN_LDMATRIX = -1, LN_NUM = -2, LN_MMA_D = -3, LN_MMA_A = -4, LN_MMA_B = -5, LN_MMA_C = -6 };
enum { PX_ORDERS = 1 };

typedef struct PxOpnd {
	const char *name;
	char rw;          /* 'r' read, 'w' written, 'x' read and written ("+") */
	char kind;        /* 'r' register, 'a' address, 'l' literal in the text */
	const char *type; /* register: a slot name or a PTX type token (NULL: the
	                   * "type" slot); address: its fixed space (NULL: the
	                   * "space" slot); literal: its text */
	signed char lanes; /* registers in the group, or LN_* */
	char pipe;         /* adjacent operands with the same mark print as one, "a|b" */
} PxOpnd;

typedef struct PxMods PxMods;
typedef struct PxEntry {
	const char *name, *family, *mnemonic; /* mnemonic NULL: the name */
	const char *slots[PX_MAXSLOTS];
	PxOpnd ops[PX_MAXOPS];
	unsigned flags;
	const char *(*check)(const PxMods *m);
} PxEntry;

struct PxMods {
	const PxEntry *e;
	const char *tok[PX_MAXSLOTS]; /* "" for an omitted optional slot */
};

static int px_nslots(const PxEntry *e)
{
	int n = 0;
	while (n < PX_MAXSLOTS && e->slots[n])
		n++;
	return n;
}

static int px_nops(const PxEntry *e)
{
	int n = 0;
	while (n < PX_MAXOPS && e->ops[n].name)
		n++;
	return n;
}

/* The name of slot s ("?space=a|b" -> "space", length in *len) and its
 * token list. */
static const char *px_slot_name(const char *s, size_t *len)
{
	if (*s == '?')
		s++;
	*len = strcspn(s, "=");
	return s;
}

static int px_slot_takes(const char *s, const char *tok)
{
	size_t n;
	const char *nm = px_slot_name(s, &n);
	return ptx_slot_accepts(nm + n + 1, tok);
}

/* The token of the slot called name; NULL when the entry has no such slot. */
static const char *px_mod(const PxMods *m, const char *name)
{
	for (int i = 0; i < px_nslots(m->e); i++) {
		size_t n;
		const char *nm = px_slot_name(m->e->slots[i], &n);
		if (n == strlen(name) && !memcmp(nm, name, n))
			return m->tok[i];
	}
	return NULL;
}

static const char *px_mod0(const PxMods *m, const char *name)
{
	const char *t = px_mod(m, name);
	return t ? t : "";
}

/* --- the modifier-dependent register counts */

static int mma_bits(const char *t)
{
	static const struct {
		const char *t;
		int bits;
	} b[] = {{"f16", 16}, {"bf16", 16}, {"tf32", 32}, {"f32", 32}, {"f64", 64}, {"s32", 32}, {"u8", 8},
	         {"s8", 8},   {"u4", 4},    {"s4", 4},    {"b1", 1},   {"e4m3", 8}, {"e5m2", 8}};
	for (size_t i = 0; i < sizeof b / sizeof *b; i++)
		if (!strcmp(b[i].t, t))
			return b[i].bits;
	return 0;
}

static int mma_regs(const char *type, int rows, int cols, int threads, int reg_bits)
{
	int n = rows * cols * mma_bits(type) / threads / reg_bits;
	return n > 1 ? n : 1;
}

static int px_lanes(const PxOpnd *o, const PxMods *m)
{
	if (o->lanes > 0)
		return o->lanes;
	const char *num = px_mod0(m, "num");
	int k = num[0] == 'x' ? atoi(num + 1) : 0;
	if (o->lanes == LN_LDMATRIX)
		return k * (!strcmp(px_mod0(m, "shape"), "m16n16") ? 2 : 1);
	if (o->lanes == LN_NUM)
		return k;
	int mm = 0, nn = 0, kk = 0;
	if (sscanf(px_mod0(m, "shape"), "m%dn%dk%d", &mm, &nn, &kk) != 3)
		return 0;
	int threads = !strcmp(px_mod0(m, "shape"), "m8n8k4") && !strcmp(px_mod0(m, "atype"), "f16") ? 8 : 32;
	int rb = !strcmp(px_mod0(m, "dtype"), "f64") ? 64 : 32;
	switch (o->lanes) {
	case LN_MMA_D: return mma_regs(px_mod0(m, "dtype"), mm, nn, threads, rb);
	case LN_MMA_C: return mma_regs(px_mod0(m, "ctype"), mm, nn, threads, rb);
	case LN_MMA_A: return mma_regs(px_mod0(m, "atype"), mm, kk, threads, rb);
	default: return mma_regs(px_mod0(m, "btype"), kk, nn, threads, rb);
	}
}

/* --- the cross-slot rules (the instruction's syntax lines) */

static const char *chk_fence_proxy(const PxMods *m)
{
	return *px_mod0(m, "space") && strcmp(px_mod0(m, "proxykind"), "async") ? "fence.proxy takes a state space only with .async" : NULL;
}

static const char *chk_sem_scope(const PxMods *m)
{
	return !*px_mod0(m, "sem") != !*px_mod0(m, "scope") ? ".sem and .scope go together: both or neither" : NULL;
}

static int is_f8(const char *t)
{
	return !strcmp(t, "e4m3") || !strcmp(t, "e5m2");
}

static const char *mma_pair(const PxMods *m)
{
	const char *a = px_mod0(m, "atype"), *b = px_mod0(m, "btype"), *s = px_mod0(m, "shape");
	if (strcmp(a, b) && !(is_f8(a) && is_f8(b)))
		return "no mma syntax line pairs these multiplicand types";
	if (strcmp(s, "m8n8k4") && (strcmp(px_mod0(m, "alayout"), "row") || strcmp(px_mod0(m, "blayout"), "col")))
		return "this mma shape is spelled .row.col";
	return NULL;
}

static int in_list(const char *t, const char *list)
{
	return ptx_slot_accepts(list, t);
}

/* The f16 and f8 input lines, shared by the f16- and f32-accumulator
 * entries. */
static const char *chk_mma_f16(const PxMods *m)
{
	const char *why = mma_pair(m);
	if (why)
		return why;
	const char *s = px_mod0(m, "shape"), *a = px_mod0(m, "atype");
	if (!strcmp(a, "f16") && !in_list(s, "m8n8k4|m16n8k8|m16n8k16"))
		return "no .f16 mma line has this shape";
	if (is_f8(a) && !in_list(s, "m16n8k16|m16n8k32"))
		return "no .f8 mma line has this shape";
	return NULL;
}

static const char *chk_mma_f32(const PxMods *m)
{
	const char *why = chk_mma_f16(m);
	if (why)
		return why;
	const char *s = px_mod0(m, "shape"), *a = px_mod0(m, "atype");
	if (!strcmp(a, "tf32") && !in_list(s, "m16n8k4|m16n8k8"))
		return "the .tf32 mma lines are m16n8k4 and m16n8k8";
	if (!strcmp(a, "bf16") && !in_list(s, "m16n8k8|m16n8k16"))
		return "the .bf16 mma lines are m16n8k8 and m16n8k16";
	return NULL; /* .dtype and .ctype are both f32 in this entry */
}

static char int_line(const char *t)
{
	return !strcmp(t, "u8") || !strcmp(t, "s8") ? '8' : !strcmp(t, "u4") || !strcmp(t, "s4") ? '4' : 'b';
}

static const char *chk_mma_int(const PxMods *m)
{
	const char *s = px_mod0(m, "shape"), *a = px_mod0(m, "atype"), *b = px_mod0(m, "btype");
	char la = int_line(a);
	if (la != int_line(b))
		return "no mma syntax line pairs these multiplicand types";
	if (la == '8' && !in_list(s, "m8n8k16|m16n8k16|m16n8k32"))
		return "no 8-bit integer mma line has this shape";
	if (la == '4' && !in_list(s, "m8n8k32|m16n8k32|m16n8k64"))
		return "no 4-bit integer mma line has this shape";
	if (la == 'b') {
		if (!in_list(s, "m8n8k128|m16n8k128|m16n8k256"))
			return "no single-bit mma line has this shape";
		if (!*px_mod0(m, "bitop") || !*px_mod0(m, "popc") || *px_mod0(m, "satfinite"))
			return "the single-bit mma line is .xor or .and with .popc and no .satfinite";
	} else if (*px_mod0(m, "bitop") || *px_mod0(m, "popc")) {
		return "only the single-bit mma line takes .bitOp.popc";
	}
	return NULL;
}

/* --- the entries */

#define R(n, t) {n, 'r', 'r', t, 1, 0}
#define W(n, t) {n, 'w', 'r', t, 1, 0}
#define ADDR(n) {n, 'r', 'a', NULL, 1, 0}
#define MMA_OPS(dt, at, ct)                                                                                  \
	{{"d", 'w', 'r', dt, LN_MMA_D, 0}, {"a", 'r', 'r', at, LN_MMA_A, 0}, {"b", 'r', 'r', at, LN_MMA_B, 0},            \
	 {"c", 'r', 'r', ct, LN_MMA_C, 0}}
#define MMA_HEAD "sync=sync", "aligned=aligned"
#define LOGIC(nm) {nm, nm, NULL, {"type=pred|b16|b32|b64"}, {W("d", NULL), R("a", NULL), R("b", NULL)}, 0, NULL}

static const PxEntry px_entries[] = {
	{"ldmatrix", "ldmatrix", NULL,
	 {MMA_HEAD, "shape=m8n8", "num=x1|x2|x4", "?trans=trans", "?space=shared|shared::cta", "type=b16"},
	 {{"r", 'w', 'r', "b32", LN_LDMATRIX, 0}, ADDR("p")}, 0, NULL},
	{"ldmatrix_s8_s4", "ldmatrix", "ldmatrix",
	 {MMA_HEAD, "shape=m8n16", "num=x1|x2|x4", "?space=shared|shared::cta", "dtype=s8", "ctype=s4"},
	 {{"r", 'w', 'r', "b32", LN_LDMATRIX, 0}, ADDR("p")}, 0, NULL},
	{"ldmatrix_m16n16_b8", "ldmatrix", "ldmatrix",
	 {MMA_HEAD, "shape=m16n16", "num=x1|x2", "trans=trans", "?space=shared|shared::cta", "type=b8"},
	 {{"r", 'w', 'r', "b32", LN_LDMATRIX, 0}, ADDR("p")}, 0, NULL},
	{"stmatrix", "stmatrix", NULL,
	 {MMA_HEAD, "shape=m8n8", "num=x1|x2|x4", "?trans=trans", "?space=shared|shared::cta", "type=b16"},
	 {ADDR("p"), {"r", 'r', 'r', "b32", LN_NUM, 0}}, 0, NULL},
	{"stmatrix_m16n8_b8", "stmatrix", "stmatrix",
	 {MMA_HEAD, "shape=m16n8", "num=x1|x2|x4", "trans=trans", "?space=shared|shared::cta", "type=b8"},
	 {ADDR("p"), {"r", 'r', 'r', "b32", LN_NUM, 0}}, 0, NULL},
	{"mma", "mma", NULL,
	 {MMA_HEAD, "shape=m8n8k4|m16n8k4|m16n8k8|m16n8k16|m16n8k32", "alayout=row|col", "blayout=row|col",
	  "dtype=f32", "atype=f16|bf16|tf32|e4m3|e5m2", "btype=f16|bf16|tf32|e4m3|e5m2", "ctype=f32"},
	 MMA_OPS("f32", "u32", "f32"), 0, chk_mma_f32},
	{"mma_f16acc", "mma", "mma",
	 {MMA_HEAD, "shape=m8n8k4|m16n8k8|m16n8k16|m16n8k32", "alayout=row|col", "blayout=row|col", "dtype=f16",
	  "atype=f16|e4m3|e5m2", "btype=f16|e4m3|e5m2", "ctype=f16"},
	 MMA_OPS("u32", "u32", "u32"), 0, chk_mma_f16},
	{"mma_f16c_f32d", "mma", "mma",
	 {MMA_HEAD, "shape=m8n8k4", "alayout=row|col", "blayout=row|col", "dtype=f32", "atype=f16", "btype=f16",
	  "ctype=f16"},
	 MMA_OPS("f32", "u32", "u32"), 0, NULL},
	{"mma_int", "mma", "mma",
	 {MMA_HEAD, "shape=m8n8k16|m16n8k16|m16n8k32|m8n8k32|m16n8k64|m8n8k128|m16n8k128|m16n8k256", "alayout=row",
	  "blayout=col", "?satfinite=satfinite", "dtype=s32", "atype=u8|s8|u4|s4|b1", "btype=u8|s8|u4|s4|b1",
	  "ctype=s32", "?bitop=xor|and", "?popc=popc"},
	 MMA_OPS("u32", "u32", "u32"), 0, chk_mma_int},
	{"mma_f64", "mma", "mma",
	 {MMA_HEAD, "shape=m8n8k4|m16n8k4|m16n8k8|m16n8k16", "alayout=row", "blayout=col", "dtype=f64", "atype=f64",
	  "btype=f64", "ctype=f64", "?rnd=rn|rz|rm|rp"},
	 MMA_OPS("f64", "f64", "f64"), 0, NULL},
	{"fence", "fence", NULL, {"?sem=sc|acq_rel|acquire|release", "scope=cta|cluster|gpu|sys"}, {{0}}, PX_ORDERS,
	 NULL},
	{"fence_mbarrier_init", "fence", "fence", {"op_restrict=mbarrier_init", "sem=release", "scope=cluster"}, {{0}},
	 PX_ORDERS, NULL},
	{"fence_proxy", "fence", "fence", {"proxy=proxy", "proxykind=alias|async", "?space=global|shared::cta|shared::cluster"},
	 {{0}}, PX_ORDERS, chk_fence_proxy},
	{"fence_proxy_fabric", "fence", "fence",
	 {"proxy=proxy", "direction=generic::fabric|fabric::generic|fabric::fabric", "proxykind=alias",
	  "sem=acquire|release", "scope=sys"},
	 {{0}}, PX_ORDERS, NULL},
	{"fence_proxy_tensormap_release", "fence", "fence",
	 {"proxy=proxy", "proxykind=tensormap::generic", "sem=release", "scope=cta|cluster|gpu|sys"}, {{0}}, PX_ORDERS,
	 NULL},
	{"fence_proxy_tensormap_acquire", "fence", "fence",
	 {"proxy=proxy", "proxykind=tensormap::generic", "sem=acquire", "scope=cta|cluster|gpu|sys"},
	 {ADDR("addr"), {"size", 'r', 'l', "128", 1, 0}}, PX_ORDERS, NULL},
	{"bar_sync", "bar", "bar", {"?cta=cta", "action=sync"}, {R("a", "u32")}, PX_ORDERS, NULL},
	{"bar_sync_count", "bar", "bar", {"?cta=cta", "action=sync"}, {R("a", "u32"), R("b", "u32")}, PX_ORDERS, NULL},
	{"bar_arrive", "bar", "bar", {"?cta=cta", "action=arrive"}, {R("a", "u32"), R("b", "u32")}, PX_ORDERS, NULL},
	{"bar_warp_sync", "bar", "bar", {"warp=warp", "action=sync"}, {R("membermask", "u32")}, PX_ORDERS, NULL},
	{"bar_red_popc", "bar", "bar", {"?cta=cta", "action=red", "op=popc", "type=u32"},
	 {W("d", "u32"), R("a", "u32"), R("c", "pred")}, PX_ORDERS, NULL},
	{"bar_red_popc_count", "bar", "bar", {"?cta=cta", "action=red", "op=popc", "type=u32"},
	 {W("d", "u32"), R("a", "u32"), R("b", "u32"), R("c", "pred")}, PX_ORDERS, NULL},
	{"bar_red_pred", "bar", "bar", {"?cta=cta", "action=red", "op=and|or", "type=pred"},
	 {W("d", "pred"), R("a", "u32"), R("c", "pred")}, PX_ORDERS, NULL},
	{"bar_red_pred_count", "bar", "bar", {"?cta=cta", "action=red", "op=and|or", "type=pred"},
	 {W("d", "pred"), R("a", "u32"), R("b", "u32"), R("c", "pred")}, PX_ORDERS, NULL},
	LOGIC("and"),
	LOGIC("or"),
	LOGIC("xor"),
	{"not", "not", NULL, {"type=pred|b16|b32|b64"}, {W("d", NULL), R("a", NULL)}, 0, NULL},
	{"mbarrier_init", "mbarrier", "mbarrier",
	 {"action=init", "?layout=layout::v0|layout::v1", "?space=shared|shared::cta", "type=b64"},
	 {ADDR("addr"), R("count", "u32")}, 0, NULL},
	{"mbarrier_arrive", "mbarrier", "mbarrier",
	 {"action=arrive", "?sem=release|relaxed", "?scope=cta|cluster", "?space=shared|shared::cta|shared::cluster",
	  "type=b64"},
	 {{"state", 'r', 'l', "_", 1, 0}, ADDR("addr"), R("count", "u32")}, 0, chk_sem_scope},
	{"mbarrier_arrive_expect_tx", "mbarrier", "mbarrier",
	 {"action=arrive", "expect_tx=expect_tx", "?sem=release|relaxed", "?scope=cta|cluster",
	  "?space=shared|shared::cta|shared::cluster", "type=b64"},
	 {{"state", 'r', 'l', "_", 1, 0}, ADDR("addr"), R("tx_count", "u32")}, 0, chk_sem_scope},
	{"mbarrier_expect_tx", "mbarrier", "mbarrier",
	 {"action=expect_tx", "?sem=relaxed", "?scope=cta|cluster", "?space=shared|shared::cta|shared::cluster",
	  "type=b64"},
	 {ADDR("addr"), R("tx_count", "u32")}, 0, chk_sem_scope},
	{"mbarrier_test_wait_parity", "mbarrier", "mbarrier",
	 {"action=test_wait", "parity=parity", "?phase_type=phase_type::primary|phase_type::conditional",
	  "?sem=acquire|relaxed", "?scope=cta|cluster", "?space=shared|shared::cta", "type=b64"},
	 {W("wait_complete", "pred"), ADDR("addr"), R("phase", "u32")}, 0, chk_sem_scope},
	{"mbarrier_try_wait_parity", "mbarrier", "mbarrier",
	 {"action=try_wait", "parity=parity", "?phase_type=phase_type::primary|phase_type::conditional",
	  "?sem=acquire|relaxed", "?scope=cta|cluster", "?space=shared|shared::cta", "type=b64"},
	 {W("wait_complete", "pred"), ADDR("addr"), R("phase", "u32"), R("time_hint", "u32")}, 0, chk_sem_scope},
	{"mbarrier_inval", "mbarrier", "mbarrier", {"action=inval", "?space=shared|shared::cta", "type=b64"},
	 {ADDR("addr")}, 0, NULL},
	{"elect_sync", "elect_sync", "elect.sync", {NULL}, {{"d", 'w', 'r', "b32i", 1, 'p'}, {"p", 'w', 'r', "pred", 1, 'p'}, R("membermask", "u32")}, 0,
	 NULL},
};
#undef R
#undef W
#undef ADDR
#undef MMA_OPS
#undef MMA_HEAD
#undef LOGIC

/* Families all of whose TVM 0.27 entries are described above. */
static const char *const px_complete[] = {"stmatrix", "fence", "bar", "and", "or", "xor", "not", "elect_sync"};

/* --- dtypes */

/* The TVM dtypes a PTX type token takes, canonical first; NULL for a token
 * this file does not know. */
static const char *px_dtypes(const char *t)
{
	static const struct {
		const char *t, *d;
	} m[] = {{"b8", "uint8|int8"},
	         {"b16", "uint16|int16|float16|bfloat16"},
	         {"b32", "uint32|int32|float32"},
	         {"b64", "uint64|int64|float64"},
	         {"b32i", "uint32|int32"},
	         {"b64i", "uint64|int64"},
	         {"u8", "uint8"},
	         {"s8", "int8"},
	         {"u16", "uint16"},
	         {"s16", "int16"},
	         {"u32", "uint32"},
	         {"s32", "int32"},
	         {"u64", "uint64"},
	         {"s64", "int64"},
	         {"f32", "float32"},
	         {"f64", "float64"},
	         {"pred", "uint32"}};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++)
		if (!strcmp(m[i].t, t))
			return m[i].d;
	return NULL;
}

/* How a dtype crosses the C/asm boundary: its C type, constraint, the C
 * type bound when it is not the C type itself (with the bit puns in and
 * out), and its suffix in a helper name. */
typedef struct PxBind {
	const char *dt, *ctype, *cons, *carrier, *to, *to_end, *from, *from_end, *suffix;
} PxBind;

static const PxBind px_binds[] = {
	{"uint8", "uint8_t", "h", "uint16_t", "(uint16_t)", "", "(uint8_t)", "", "u8"},
	{"int8", "int8_t", "h", "int16_t", "(int16_t)", "", "(int8_t)", "", "s8"},
	{"uint16", "uint16_t", "h", NULL, NULL, NULL, NULL, NULL, "u16"},
	{"int16", "int16_t", "h", NULL, NULL, NULL, NULL, NULL, "s16"},
	{"float16", "__half", "h", "uint16_t", "__half_as_ushort(", ")", "__ushort_as_half(", ")", "f16"},
	{"bfloat16", "__nv_bfloat16", "h", "uint16_t", "__bfloat16_as_ushort(", ")", "__ushort_as_bfloat16(", ")", "bf16"},
	{"uint32", "uint32_t", "r", NULL, NULL, NULL, NULL, NULL, "u32"},
	{"int32", "int32_t", "r", NULL, NULL, NULL, NULL, NULL, "s32"},
	{"float32", "float", "f", NULL, NULL, NULL, NULL, NULL, "f32"},
	{"uint64", "uint64_t", "l", NULL, NULL, NULL, NULL, NULL, "u64"},
	{"int64", "int64_t", "l", NULL, NULL, NULL, NULL, NULL, "s64"},
	{"float64", "double", "d", NULL, NULL, NULL, NULL, NULL, "f64"},
};

static const PxBind *px_bind(const char *dt)
{
	for (size_t i = 0; i < sizeof px_binds / sizeof *px_binds; i++)
		if (!strcmp(px_binds[i].dt, dt))
			return &px_binds[i];
	return NULL;
}

/* The PTX type token of register operand o. */
static const char *px_type(const PxOpnd *o, const PxMods *m)
{
	const char *key = o->type ? o->type : "type";
	const char *t = px_mod(m, key);
	if (t)
		return *t ? t : px_mod0(m, "type");
	return key;
}

/* The state space of address operand o. */
static const char *px_space(const PxOpnd *o, const PxMods *m)
{
	return o->type ? o->type : px_mod0(m, "space");
}

/* A scalar dtype's name into s; 0 when the value is not a scalar. */
static int px_dtname(const Expr *e, char s[32])
{
	TType t = ex_type(e);
	if (t.kind != TY_PRIM || t.dt.lanes != 1)
		return 0;
	dt_str(t.dt, s);
	return 1;
}

/* --- picking the entry */

typedef struct PxPick {
	PxMods m;
	Expr *args[64]; /* the operands as the helper takes them, then the predicate */
	int nargs;
	char dt[PX_MAXOPS][32]; /* the dtype of each register operand */
	int pred;
} PxPick;

/* Bit i of a "p<i>" mask (flags name operands 0..31 only). */
static int px_bit(uint32_t m, int i)
{
	return i < 32 && (m >> i & 1);
}

static int is_literal(const Expr *e)
{
	return (e->kind == EX_INT && e->dt.code == DT_INT && e->dt.bits == 32 && e->dt.lanes == 1) ||
	       (e->kind == EX_FLOAT && e->dt.code == DT_FLOAT && e->dt.bits == 32 && e->dt.lanes == 1);
}

/* Coerces the operands of a call of entry e (the modifiers in pk->m) as
 * TVM's T.ptx does when it reads the call: 1, or 0 and *why. */
static int px_coerce(Arena *a, PxPick *pk, Expr *const *ops, int nops, uint32_t tagged, const char **why)
{
	const PxEntry *e = pk->m.e;
	int at = 0, out = 0;
	for (int i = 0; i < px_nops(e); i++) {
		const PxOpnd *o = &e->ops[i];
		if (o->kind == 'l')
			continue;
		int n = px_lanes(o, &pk->m);
		if (at + n > nops || out + n > 60) {
			*why = "operand count";
			return 0;
		}
		Expr *const *v = ops + at;
		if (o->kind == 'a') {
			TType t = ex_type(v[0]);
			const char *sp = px_space(o, &pk->m);
			Expr *x = v[0];
			if (!strncmp(sp, "shared", 6)) {
				if (t.kind == TY_PTR) {
					Expr **ca = ar_alloc(a, sizeof *ca);
					ca[0] = v[0];
					x = ex_call(a, op_get("tirx.cuda.cvta_generic_to_shared"), ty_prim(dt_make(DT_UINT, 32, 1)), ca, 1);
				} else if (!(t.kind == TY_PRIM && t.dt.code == DT_UINT && t.dt.bits == 32 && t.dt.lanes == 1)) {
					*why = "a shared address operand takes a pointer or a uint32 shared address";
					return 0;
				}
			} else if (t.kind != TY_PTR || !strncmp(t.scope ? t.scope : "global", "shared", 6)) {
				*why = t.kind == TY_PTR ? "a generic or global address operand does not take a shared-scope pointer"
				                        : "a generic or global address operand takes a pointer";
				return 0;
			}
			if (px_bit(tagged, at)) {
				*why = "T.ptx.pred marks an operand that is not a .pred register";
				return 0;
			}
			pk->args[out++] = x;
			at++;
			continue;
		}
		const char *ty = px_type(o, &pk->m);
		if (!strcmp(ty, "pred")) {
			char s[32];
			if (n != 1 || !px_dtname(v[0], s)) {
				*why = "a .pred operand takes one scalar";
				return 0;
			}
			if (o->rw != 'r') {
				if (v[0]->kind != EX_LOAD || strcmp(s, "uint32")) {
					*why = "a .pred result must be a writable uint32 scalar or buffer element";
					return 0;
				}
			} else if (px_bit(tagged, at) ? strcmp(s, "bool") && strcmp(s, "uint32") && strcmp(s, "int32")
			                            : strcmp(s, "bool") != 0) {
				*why = "a .pred operand takes a bool value (or T.ptx.pred of a bool, uint32 or int32 one)";
				return 0;
			}
			Expr *x = v[0];
			int64_t c;
			if (o->rw == 'r' && ex_is_const_int(x, &c) && x->kind == EX_INT && !strcmp(s, "bool"))
				x = ex_int(a, dt_make(DT_UINT, 32, 1), c);
			strcpy(pk->dt[i], "uint32");
			pk->args[out++] = x;
			at++;
			continue;
		}
		const char *dts = px_dtypes(ty);
		if (!dts) {
			*why = "an operand type tirxc has no C binding for";
			return 0;
		}
		const char *named = NULL;
		char buf[32], nb[32] = "";
		for (int l = 0; l < n; l++) {
			if (px_bit(tagged, at + l)) {
				*why = "T.ptx.pred marks an operand that is not a .pred register";
				return 0;
			}
			if (o->rw != 'r' && v[l]->kind != EX_LOAD) {
				*why = "a destination must be a writable scalar or buffer element";
				return 0;
			}
			if (is_literal(v[l]) && o->rw == 'r')
				continue;
			if (!px_dtname(v[l], buf)) {
				*why = "a register operand takes a scalar";
				return 0;
			}
			if (named && strcmp(named, buf)) {
				*why = "the registers of one operand group must have one dtype";
				return 0;
			}
			strcpy(nb, buf);
			named = nb;
		}
		char first[32];
		size_t fl = strcspn(dts, "|");
		memcpy(first, dts, fl);
		first[fl] = 0;
		const char *dt = named ? named : first;
		if (!ptx_slot_accepts(dts, dt)) {
			*why = "an operand's dtype is not one its PTX type takes";
			return 0;
		}
		DType d;
		dt_parse(dt, strlen(dt), &d);
		for (int l = 0; l < n; l++) {
			Expr *x = v[l];
			if (is_literal(x) && o->rw == 'r') {
				if (x->kind == EX_FLOAT && !dt_is_float(d)) {
					*why = "a float literal for an integer operand";
					return 0;
				}
				x = dt_is_float(d) ? ex_float(a, d, x->kind == EX_FLOAT ? x->f : (double)x->i) : ex_int(a, d, x->i);
			}
			pk->args[out++] = x;
		}
		strcpy(pk->dt[i], dt);
		at += n;
	}
	if (at != nops) {
		*why = "operand count";
		return 0;
	}
	pk->nargs = out;
	return 1;
}

/* --- rendering */

typedef struct PxList {
	Buf b;
	const char *sep;
} PxList;

static void pl_add(PxList *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pl_add(PxList *l, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (l->b.n)
		buf_puts(&l->b, l->sep);
	buf_puts(&l->b, tmp);
}

static const char *pl_s(const PxList *l)
{
	return l->b.n ? l->b.s : "";
}

static void px_render(Arena *a, const PxPick *pk, CudaHelper *out)
{
	const PxEntry *e = pk->m.e;
	const PxMods *m = &pk->m;
	Buf nm = {0}, opc = {0};
	buf_puts(&nm, "tvm_builtin_ptx_");
	buf_puts(&nm, e->name);
	buf_puts(&opc, e->mnemonic ? e->mnemonic : e->name);
	for (int i = 0; i < px_nslots(e); i++)
		if (m->tok[i][0]) {
			ptx_name_part(&nm, m->tok[i]);
			buf_printf(&opc, ".%s", m->tok[i]);
		}
	/* a non-canonical dtype names every present register operand's dtype */
	int canon = 1, has_dst = 0, touches = (e->flags & PX_ORDERS) != 0;
	for (int i = 0; i < px_nops(e); i++) {
		const PxOpnd *o = &e->ops[i];
		if (o->kind == 'r' && o->rw == 'w')
			has_dst = 1;
		if (o->kind == 'a' && strcmp(px_space(o, m), "tmem"))
			touches = 1;
		if (o->kind != 'r' || !px_lanes(o, m))
			continue;
		const char *dts = px_dtypes(px_type(o, m));
		size_t fl = strcspn(dts, "|");
		if (strlen(pk->dt[i]) != fl || strncmp(dts, pk->dt[i], fl))
			canon = 0;
	}
	if (!canon)
		for (int i = 0; i < px_nops(e); i++)
			if (e->ops[i].kind == 'r' && px_lanes(&e->ops[i], m))
				buf_printf(&nm, "_%s", px_bind(pk->dt[i])->suffix);
	if (pk->pred)
		buf_puts(&nm, has_dst ? "_pred_undef" : "_pred");
	PxList params = {{0}, ", "}, ins = {{0}, ", "}, outs = {{0}, ", "}, pre = {{0}, "\n"}, post = {{0}, "\n"};
	PxList decls = {{0}, " "}, apre = {{0}, " "}, apost = {{0}, " "}, text = {{0}, ", "};
	int idx = 0, nps = 0, npd = 0;
	for (int i = 0; i < px_nops(e); i++) {
		const PxOpnd *o = &e->ops[i];
		if (o->kind == 'l') {
			pl_add(&text, "%s", o->type);
			continue;
		}
		int n = px_lanes(o, m);
		if (!n)
			continue;
		int group = o->lanes < 0 || n > 1;
		PxList regs = {{0}, ", "};
		for (int l = 0; l < n; l++) {
			char ln[64];
			if (group)
				snprintf(ln, sizeof ln, "__%s%d", o->name, l);
			else
				snprintf(ln, sizeof ln, "__%s", o->name);
			if (o->kind == 'a') {
				const char *sp = px_space(o, m);
				if (!strncmp(sp, "shared", 6) || !strncmp(sp, "tmem", 4)) {
					pl_add(&params, "uint32_t %s", ln);
					pl_add(&ins, "\"r\"(%s)", ln);
				} else {
					pl_add(&params, "const void* %s", ln);
					pl_add(&ins, "\"l\"(%s)", ln);
				}
				pl_add(&regs, "[%%%d]", idx);
				idx++;
				continue;
			}
			const PxBind *cb = px_bind(pk->dt[i]);
			if (o->rw == 'x') {
				pl_add(&params, "%s& %s", cb->ctype, ln);
				pl_add(&outs, "\"+%s\"(%s)", cb->cons, ln);
			} else if (o->rw == 'w') {
				pl_add(&params, "%s& %s", cb->ctype, ln);
				if (!cb->carrier) {
					pl_add(&outs, "\"=%s\"(%s)", cb->cons, ln);
				} else {
					pl_add(&pre, "  %s %s_reg;", cb->carrier, ln);
					pl_add(&outs, "\"=%s\"(%s_reg)", cb->cons, ln);
					pl_add(&post, "  %s = %s%s_reg%s;", ln, cb->from, ln, cb->from_end);
				}
			} else {
				pl_add(&params, "%s %s", cb->ctype, ln);
				if (cb->carrier)
					pl_add(&ins, "\"%s\"(%s%s%s)", cb->cons, cb->to, ln, cb->to_end);
				else
					pl_add(&ins, "\"%s\"(%s)", cb->cons, ln);
			}
			if (!strcmp(px_type(o, m), "pred")) {
				char reg[16];
				if (o->rw == 'r')
					snprintf(reg, sizeof reg, "ps%d", nps++);
				else
					snprintf(reg, sizeof reg, "pd%d", npd++);
				pl_add(&decls, ".reg .pred %s;", reg);
				if (o->rw != 'w')
					pl_add(&apre, "setp.ne.b32 %s, %%%d, 0;", reg, idx);
				if (o->rw != 'r')
					pl_add(&apost, "selp.b32 %%%d, 1, 0, %s;", idx, reg);
				pl_add(&regs, "%s", reg);
			} else {
				pl_add(&regs, "%%%d", idx);
			}
			idx++;
		}
		if (o->pipe && i > 0 && e->ops[i - 1].pipe == o->pipe)
			buf_printf(&text.b, "|%s", pl_s(&regs)); /* one operand with the one before */
		else if (group)
			pl_add(&text, "{%s}", pl_s(&regs));
		else
			pl_add(&text, "%s", pl_s(&regs));
		buf_free(&regs.b);
	}
	Buf instr = {0};
	if (pk->pred) {
		pl_add(&params, "uint32_t __pred");
		pl_add(&ins, "\"r\"(__pred)");
		pl_add(&decls, ".reg .pred p;");
		pl_add(&apre, "setp.ne.b32 p, %%%d, 0;", idx);
		buf_puts(&instr, "@p ");
	}
	buf_puts(&instr, opc.s);
	if (text.b.n)
		buf_printf(&instr, " %s", text.b.s);
	buf_putc(&instr, ';');
	Buf code = {0};
	buf_printf(&code, "__forceinline__ __device__ void %s(%s) {\n", nm.s, pl_s(&params));
	if (pre.b.n)
		buf_printf(&code, "%s\n", pre.b.s);
	buf_puts(&code, "  asm volatile(\"");
	if (decls.b.n) {
		buf_printf(&code, "{ %s ", decls.b.s);
		if (apre.b.n)
			buf_printf(&code, "%s ", apre.b.s);
		buf_puts(&code, instr.s);
		if (apost.b.n)
			buf_printf(&code, " %s", apost.b.s);
		buf_puts(&code, " }");
	} else {
		buf_puts(&code, instr.s);
	}
	buf_printf(&code, "\" : %s : %s%s);\n", pl_s(&outs), pl_s(&ins), touches ? " : \"memory\"" : "");
	if (post.b.n)
		buf_printf(&code, "%s\n", post.b.s);
	buf_puts(&code, "}\n");
	PxList *all[] = {&params, &ins, &outs, &pre, &post, &decls, &apre, &apost, &text};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		buf_free(&all[i]->b);
	buf_free(&opc), buf_free(&instr);
	out->name = adup(a, &nm);
	out->code = adup(a, &code);
	out->args = argv_of(a, pk->args, pk->nargs);
	out->nargs = pk->nargs;
	for (int i = 0; i < px_nops(e); i++)
		if (e->ops[i].kind == 'r' && px_lanes(&e->ops[i], m)) {
			if (!strcmp(pk->dt[i], "float16"))
				out->tags |= TAG_FP16;
			else if (!strcmp(pk->dt[i], "bfloat16"))
				out->tags |= TAG_BF16;
		}
}

/* The flags string: "pred" and "p<i>"; 0 for anything else ("keep",
 * sinks: no tirxc entry takes them). */
static int px_flags(const char *f, int *pred, uint32_t *tagged)
{
	*pred = 0, *tagged = 0;
	while (*f) {
		size_t k = strcspn(f, ",");
		if (k == 4 && !memcmp(f, "pred", 4)) {
			*pred = 1;
		} else if (k >= 2 && k <= 3 && f[0] == 'p' && f[1] >= '0' && f[1] <= '9' &&
		           (k == 2 || (f[2] >= '0' && f[2] <= '9'))) {
			int i = atoi(f + 1);
			if (i >= 32)
				return 0;
			*tagged |= 1u << i;
		} else {
			return 0;
		}
		f += k;
		if (*f == ',')
			f++;
	}
	return 1;
}

static int ptx_family(Arena *a, const Expr *call, CudaHelper *out, const char **err)
{
	const char *fam = call->call.op->name + strlen("tirx.ptx.");
	Expr **args = call->call.args;
	int n = call->call.nargs;
	int k = n;
	while (k > 0 && args[k - 1]->kind == EX_STR)
		k--;
	int known = 0;
	for (size_t i = 0; i < sizeof px_entries / sizeof *px_entries; i++)
		known |= !strcmp(px_entries[i].family, fam);
	if (!known && !strcmp(fam, "cp")) {
		*err = "this T.ptx.cp instruction has no CUDA code in tirxc (only the cp.async copy, commit_group, "
		       "wait_group and wait_all entries)";
		return 0;
	}
	if (!known) {
		*err = "this T.ptx family has no CUDA code in tirxc (it prints cp, ldmatrix, stmatrix, mma, fence, bar, "
		       "mbarrier, and, or, xor, not, elect_sync)";
		return 0;
	}
	int pred;
	uint32_t tagged;
	if (k == n || !px_flags(args[n - 1]->s, &pred, &tagged) || (pred && k == 0)) {
		*err = "the call must end with a flags string of \"pred\" and \"p<i>\" (tirxc prints no \"keep\" or "
		       "sink form)";
		return 0;
	}
	int nops = k - pred;
	if (nops > 60) {
		*err = "too many operands";
		return 0;
	}
	PxPick pick, *hit = NULL;
	int nhit = 0, tried = 0;
	const char *why = NULL;
	for (size_t c = 0; c < sizeof px_entries / sizeof *px_entries; c++) {
		const PxEntry *e = &px_entries[c];
		if (strcmp(e->family, fam))
			continue;
		PxPick pk;
		memset(&pk, 0, sizeof pk);
		pk.m.e = e;
		int ns = px_nslots(e), ok = 1;
		for (int t = k; t < n - 1 && ok; t++) {
			const char *tok = args[t]->s;
			if (!*tok)
				continue;
			ok = 0;
			for (int s = 0; s < ns && !ok; s++)
				if (!pk.m.tok[s] && px_slot_takes(e->slots[s], tok))
					pk.m.tok[s] = tok, ok = 1;
		}
		for (int s = 0; s < ns && ok; s++)
			if (!pk.m.tok[s]) {
				if (e->slots[s][0] != '?')
					ok = 0;
				pk.m.tok[s] = "";
			}
		if (!ok || (e->check && e->check(&pk.m)))
			continue;
		int want = 0;
		for (int i = 0; i < px_nops(e); i++)
			if (e->ops[i].kind != 'l')
				want += px_lanes(&e->ops[i], &pk.m);
		if (want != nops)
			continue;
		tried++;
		const char *w = NULL;
		if (!px_coerce(a, &pk, args, nops, tagged, &w)) {
			why = w;
			continue;
		}
		if (pred) {
			char s[32];
			if (!px_dtname(args[nops], s) || (strcmp(s, "bool") && strcmp(s, "uint32") && strcmp(s, "int32"))) {
				why = "the predicate takes a bool, uint32 or int32 value";
				continue;
			}
			pk.args[pk.nargs++] = args[nops];
			pk.pred = 1;
		}
		nhit++;
		pick = pk;
		hit = &pick;
	}
	if (nhit == 1) {
		px_render(a, hit, out);
		return 1;
	}
	if (nhit > 1) {
		*err = "the call fits more than one instruction";
		return 0;
	}
	if (tried == 1 && why) {
		*err = why;
		return 0;
	}
	int complete = 0;
	for (size_t i = 0; i < sizeof px_complete / sizeof *px_complete; i++)
		complete |= !strcmp(px_complete[i], fam);
	*err = complete ? "no instruction of this family takes these modifiers and operands"
	                : "no instruction of this family that tirxc prints takes these modifiers and operands";
	return 0;
}

/* ------------------------------------------------------------ lookup */

int cuda_helper_for(Arena *a, const Expr *call, CudaHelper *out, const char **err)
{
	*err = NULL;
	memset(out, 0, sizeof *out);
	const Op *op = call->call.op;
	if (!op)
		return 0;
	const char *name = op->name;
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		if (!strcmp(name, fixed[i].op))
			return fixed_call(a, call, &fixed[i], out, err);
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
		if (!strcmp(name, refused[i].op)) {
			*err = refused[i].why;
			return 0;
		}
	int n = call->call.nargs;
	if (!strcmp(name, "tirx.cuda.mbarrier_wait"))
		return n == 2 ? mbarrier_wait(a, call, out) : (*err = "takes a barrier and a phase", 0);
	if (!strcmp(name, "tirx.cuda.ldg"))
		return ldg(a, call, out, err);
	if (!strcmp(name, "tirx.cuda.warp_reduce") || !strcmp(name, "tirx.cuda.cta_reduce")) {
		int cta = name[10] == 'c';
		if (n != (cta ? 4 : 3)) {
			*err = "wrong number of arguments";
			return 0;
		}
		return reduce(a, call, cta, out, err);
	}
	if (!strcmp(name, "tirx.cuda.printf"))
		return cuda_printf(a, call, out, err);
	if (!strcmp(name, "tirx.s_tir.cp_async_raw"))
		return cp_async_raw(a, call, out, err);
	if (!strncmp(name, "tirx.nvshmem.", 13)) {
		*err = "nvshmem needs the NVSHMEM headers and library, which tirxc's CUDA code does not include";
		return 0;
	}
	const PtxEntry *e = ptx_entry_of(op);
	if (e)
		return ptx_entry(a, call, e, out, err);
	if (ptx_is_family(op))
		return ptx_family(a, call, out, err);
	return 0;
}
