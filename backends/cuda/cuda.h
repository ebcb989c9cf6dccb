/* cuda.h: what the files of backends/cuda share (private to them; the
 * driver sees backend.h only). */
#ifndef CUDA_H
#define CUDA_H

#include "backend.h"

/* What the generated code uses, so that the preamble holds just that. */
typedef unsigned CudaTags;
enum {
	TAG_FP16 = 1 << 0,       /* half, half2 (cuda_fp16.h) */
	TAG_HALF4 = 1 << 1,      /* half4 and make_half4 */
	TAG_BF16 = 1 << 2,       /* nv_bfloat16, nv_bfloat162 (cuda_bf16.h) */
	TAG_BF16X4 = 1 << 3,     /* nv_bfloat164 and make_nv_bfloat164 */
	TAG_FP8 = 1 << 4,        /* cuda_fp8.h */
	TAG_FP6 = 1 << 5,        /* cuda_fp6.h */
	TAG_FP4 = 1 << 6,        /* cuda_fp4.h */
	TAG_INT8 = 1 << 7,       /* packed int8 vectors (__dp4a) */
	TAG_MATH = 1 << 8,       /* CUDART_INF_F and friends (math_constants.h) */
	TAG_HALF_MINMAX = 1 << 9,  /* max/min on half */
	TAG_BF16_MINMAX = 1 << 10, /* max/min on nv_bfloat16 */
	TAG_PACK_HALF2 = 1 << 11,  /* __pack_half2 */
	TAG_PACK_BF162 = 1 << 12,  /* __pack_nv_bfloat162 */
	TAG_CAST_BF162 = 1 << 13,  /* cast_to_nv_bfloat162 */
	TAG_HALF_MATH = 1 << 14,   /* hpow, htanh, htan, hatan, herf */
	TAG_WARP_SHUFFLE = 1 << 15,
	TAG_PRINTF = 1 << 16,      /* printf in device code (cstdio under nvcc) */
	TAG_THREAD_BLOCK = 1 << 17, /* cooperative_groups::this_thread_block().thread_rank() */
	TAG_ELECT_ONE = 1 << 18,    /* tvm_builtin_elect_one_sync() */
	TAG_MMA = 1 << 19,          /* nvcuda::wmma (mma.h) */
};

/* The preamble for the tags: tirxc's own text (cuda_header.c). */
void cuda_header(Buf *out, CudaTags tags);

/* The code generator's state, for the helper-function tables. */
typedef struct G CudaGen;
/* Adds a helper function (printed once, before the forward declarations,
 * in first-use order); the same name with other code is an error. */
void cuda_add_util(CudaGen *g, const char *name, const char *code);

/* A call that TVM prints through a helper function: `name(args...)`, with
 * `code` defined once before the kernels. */
typedef struct CudaHelper {
	const char *name, *code;
	Expr **args;
	int nargs;
	CudaTags tags;
} CudaHelper;
/* 1 and *out for a call cuda_intrin.c knows; 0 otherwise, with *err set
 * when the op is known but this call cannot be printed. */
int cuda_helper_for(Arena *a, const Expr *call, CudaHelper *out, const char **err);
/* The cp.async commit_group helper (wait 0) or wait_group helper for `n`
 * (wait 1), as the async queue attrs print them: no arguments. */
int cuda_ptx_group_helper(Arena *a, int wait, int64_t n, CudaHelper *out);

#endif
