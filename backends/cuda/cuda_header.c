/* cuda_header.c: the preamble of the CUDA C we emit.
 *
 * tirxc's own text, not TVM's: only what the code uses (the tags the
 * code generator set), and no libcu++ headers.  Reason: TVM's preamble
 * includes <cuda/std/...> under NVRTC, which costs NVRTC 0.9-2.5 s per
 * kernel; without them a kernel compiles in 0.07-0.2 s.  Under NVRTC the
 * fixed-width integer types are typedefs of the builtin types (what
 * <cstdint> gives on the LP64 targets CUDA supports); under nvcc they come
 * from <cstdint>, so host code sharing the translation unit agrees.
 * The type headers need no architecture guard: sm_75 is the oldest
 * architecture we build for, and cuda_fp16.h / cuda_bf16.h compile for it.
 */
#include "cuda.h"

static const char base[] =
	"#ifdef __CUDACC_RTC__\n"
	"typedef signed char int8_t;\n"
	"typedef unsigned char uint8_t;\n"
	"typedef short int16_t;\n"
	"typedef unsigned short uint16_t;\n"
	"typedef int int32_t;\n"
	"typedef unsigned int uint32_t;\n"
	"typedef long long int64_t;\n"
	"typedef unsigned long long uint64_t;\n"
	"#ifndef NULL\n"
	"#define NULL 0\n"
	"#endif\n"
	"#else\n"
	"#include <cstdint>\n"
	"#endif\n"
	"#define uint unsigned int\n"
	"#define uchar unsigned char\n"
	"#define ushort unsigned short\n";

static const char fp16[] = "#include <cuda_fp16.h>\n";

static const char half_minmax[] =
	"__device__ inline half max(half a, half b) { return __hgt(a, b) ? a : b; }\n"
	"__device__ inline half min(half a, half b) { return __hlt(a, b) ? a : b; }\n";

/* The half math CUDA lacks (or lacked), computed in float. */
static const char half_math[] =
	"__device__ inline half hpow(half x, half y) { return __float2half(powf(__half2float(x), __half2float(y))); }\n"
	"#if __CUDACC_VER_MAJOR__ < 12 || (__CUDACC_VER_MAJOR__ == 12 && __CUDACC_VER_MINOR__ < 8)\n"
	"__device__ inline half htanh(half x) { return __float2half(tanhf(__half2float(x))); }\n"
	"#endif\n"
	"__device__ inline half htan(half x) { return __float2half(tanf(__half2float(x))); }\n"
	"__device__ inline half hatan(half x) { return __float2half(atanf(__half2float(x))); }\n"
	"__device__ inline half herf(half x) { return __float2half(erff(__half2float(x))); }\n";

static const char pack_half2[] =
	"__device__ inline unsigned __pack_half2(const half x, const half y) {\n"
	"  return ((unsigned)__half_as_ushort(y) << 16) | __half_as_ushort(x);\n"
	"}\n";

static const char half4[] =
	"struct __align__(8) half4 {\n"
	"  half x, y, z, w;\n"
	"};\n"
	"__device__ inline half4 make_half4(half x, half y, half z, half w) {\n"
	"  half4 r;\n"
	"  r.x = x; r.y = y; r.z = z; r.w = w;\n"
	"  return r;\n"
	"}\n";

static const char bf16[] = "#include <cuda_bf16.h>\n";

static const char bf16_minmax[] =
	"__device__ inline nv_bfloat16 max(nv_bfloat16 a, nv_bfloat16 b) { return __hgt(a, b) ? a : b; }\n"
	"__device__ inline nv_bfloat16 min(nv_bfloat16 a, nv_bfloat16 b) { return __hlt(a, b) ? a : b; }\n";

static const char pack_bf162[] =
	"__device__ inline unsigned __pack_nv_bfloat162(const nv_bfloat16 x, const nv_bfloat16 y) {\n"
	"  return ((unsigned)__bfloat16_as_ushort(y) << 16) | __bfloat16_as_ushort(x);\n"
	"}\n";

static const char bf16x4[] =
	"struct __align__(8) nv_bfloat164 {\n"
	"  nv_bfloat16 x, y, z, w;\n"
	"};\n"
	"__device__ inline nv_bfloat164 make_nv_bfloat164(nv_bfloat16 x, nv_bfloat16 y, nv_bfloat16 z, nv_bfloat16 w) {\n"
	"  nv_bfloat164 r;\n"
	"  r.x = x; r.y = y; r.z = z; r.w = w;\n"
	"  return r;\n"
	"}\n";

static const char mma[] = "#include <mma.h>\n";
static const char fp8[] = "#include <cuda_fp8.h>\n";
static const char fp6[] = "#include <cuda_fp6.h>\n";
static const char fp4[] = "#include <cuda_fp4.h>\n";
static const char math[] = "#include <math_constants.h>\n";
/* NVRTC declares printf itself; nvcc needs the header. */
static const char cstdio[] = "#ifndef __CUDACC_RTC__\n#include <cstdio>\n#endif\n";

/* The one cooperative-groups query TVM's thread_rank helper makes, as a
 * minimal stand-in: <cooperative_groups.h> needs libcu++ under NVRTC (about
 * 1-2 s per kernel, and the include path).  The rank is the linear thread
 * index within the block, x fastest, as cooperative groups defines it. */
static const char thread_block[] =
	"namespace cooperative_groups {\n"
	"struct thread_block {\n"
	"  __device__ unsigned int thread_rank() const {\n"
	"    return (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;\n"
	"  }\n"
	"};\n"
	"__device__ inline thread_block this_thread_block() { return thread_block(); }\n"
	"}  // namespace cooperative_groups\n";

/* What TVM's elect_sync helper calls: 1 in the lane elect.sync picks from
 * the full warp, 0 in the others (sm_90 and newer).  tirxc's own text:
 * TVM's preamble version has doubled braces and does not compile. */
static const char elect_one[] =
	"__device__ __forceinline__ uint32_t tvm_builtin_elect_one_sync() {\n"
	"  uint32_t elected;\n"
	"  asm volatile(\"{ .reg .pred e; elect.sync _|e, %1; selp.u32 %0, 1, 0, e; }\" : \"=r\"(elected) : \"r\"(0xffffffffu));\n"
	"  return elected;\n"
	"}\n";

void cuda_header(Buf *out, CudaTags t)
{
	buf_puts(out, base);
	if (t & (TAG_FP16 | TAG_HALF4 | TAG_HALF_MINMAX | TAG_PACK_HALF2 | TAG_HALF_MATH))
		buf_puts(out, fp16);
	if (t & TAG_HALF_MINMAX)
		buf_puts(out, half_minmax);
	if (t & TAG_HALF_MATH)
		buf_puts(out, half_math);
	if (t & TAG_PACK_HALF2)
		buf_puts(out, pack_half2);
	if (t & TAG_HALF4)
		buf_puts(out, half4);
	if (t & (TAG_BF16 | TAG_BF16X4 | TAG_BF16_MINMAX | TAG_PACK_BF162 | TAG_CAST_BF162))
		buf_puts(out, bf16);
	if (t & TAG_BF16_MINMAX)
		buf_puts(out, bf16_minmax);
	if (t & TAG_PACK_BF162)
		buf_puts(out, pack_bf162);
	if (t & TAG_BF16X4)
		buf_puts(out, bf16x4);
	if (t & TAG_MMA)
		buf_puts(out, mma);
	if (t & TAG_FP8)
		buf_puts(out, fp8);
	if (t & TAG_FP6)
		buf_puts(out, fp6);
	if (t & TAG_FP4)
		buf_puts(out, fp4);
	if (t & TAG_MATH)
		buf_puts(out, math);
	if (t & TAG_PRINTF)
		buf_puts(out, cstdio);
	if (t & TAG_THREAD_BLOCK)
		buf_puts(out, thread_block);
	if (t & TAG_ELECT_ONE)
		buf_puts(out, elect_one);
}
