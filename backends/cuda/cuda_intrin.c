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
 *  - cuda_ptx_group_helper: the commit/wait helpers the async queue attrs
 *    print (cuda_c.c attr()).
 *
 * Expects: calls as the parser and the passes leave them (after LowerIntrin).
 * Deviation (docs/compatibility.md, "CUDA intrinsics"): known ops that are
 * not printed exactly are refused with a reason (*err): the T.ptx families
 * other than the cp.async entries, nvshmem, and the helpers whose preamble
 * snippets tirxc does not ship (thread_rank, grid_sync: cooperative groups;
 * elect_sync: TVM's elect-one helper).  Ops not listed here are left to the
 * code generator, which refuses what it does not know.
 */
#include <inttypes.h>
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
	{"tirx.cuda.trap_when_assert_failed", "tvm_builtin_cuda_trap_when_assert_failed", "void", "(bool cond)",
	 "    do {\n        if (not (cond))\n            asm(\"trap;\");\n    } while (0);", 1, 0, 0},
};

/* Known ops whose helpers need preamble snippets or libraries that tirxc
 * does not ship: refused rather than printed into code that does not
 * compile. */
static const struct {
	const char *op, *why;
} refused[] = {
	{"tirx.cuda.thread_rank", "needs cooperative groups in the preamble, which tirxc does not ship"},
	{"tirx.cuda.grid_sync", "needs cooperative groups in the preamble, which tirxc does not ship"},
	{"tirx.cuda.elect_sync", "needs TVM's elect-one helper in the preamble, which tirxc does not ship"},
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
	if (ptx_is_family(op)) {
		*err = "this T.ptx instruction has no CUDA code in tirxc (only the cp.async copy, commit_group, "
		       "wait_group and wait_all entries)";
		return 0;
	}
	return 0;
}
