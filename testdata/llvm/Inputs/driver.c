/* driver.c: runs the CPU kernels of testdata/llvm/ from plain C, the way a
 * user's program does: DLTensor arguments in TVMFFIAny cells, the packed
 * entry point __tvm_ffi_<name>, errors read back from the runtime.  The
 * first argument names the case; each prints what its test checks
 * (numeric results against a reference computed here, the kind and message
 * of an argument-check error). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	int32_t type_index;
	uint32_t zero_padding;
	union {
		int64_t v_int64;
		double v_float64;
		void *v_ptr;
	} v;
} Any;

typedef struct {
	void *data;
	struct {
		int32_t device_type, device_id;
	} device;
	int32_t ndim;
	struct {
		uint8_t code, bits;
		uint16_t lanes;
	} dtype;
	int64_t *shape, *strides;
	uint64_t byte_offset;
} Tensor;

typedef int Packed(void *, const Any *, int32_t, Any *);
#define KERNEL(name) extern Packed __tvm_ffi_##name __attribute__((weak));
KERNEL(vadd)
KERNEL(reduce_sum)
KERNEL(par_scale)
KERNEL(dyn_axpy)
KERNEL(dyn_scalar)
KERNEL(vec_relu)
KERNEL(lowp)
KERNEL(scalars)
KERNEL(workspace)
KERNEL(f16_bool)
KERNEL(main)
KERNEL(launch_point)

const char *tirxrt_last_error_kind(void);
const char *tirxrt_last_error_message(void);

enum { INT = 0, UINT = 1, FLOAT = 2 };

static void *aligned(size_t bytes)
{
	void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
	if (!p)
		abort();
	memset(p, 0, bytes);
	return p;
}

static Tensor tensor(void *data, int ndim, int64_t *shape, int code, int bits)
{
	Tensor t = {0};
	t.data = data;
	t.device.device_type = 1; /* CPU */
	t.ndim = ndim;
	t.dtype.code = (uint8_t)code;
	t.dtype.bits = (uint8_t)bits;
	t.dtype.lanes = 1;
	t.shape = shape;
	return t;
}

static Any tany(Tensor *t)
{
	Any a = {7, 0, {0}}; /* DLTensor* */
	a.v.v_ptr = t;
	return a;
}

static Any iany(int64_t v)
{
	Any a = {1, 0, {0}};
	a.v.v_int64 = v;
	return a;
}

static Any fany(double v)
{
	Any a = {3, 0, {0}};
	a.v.v_float64 = v;
	return a;
}

/* Calls f; on an error prints its kind and message (the message may span
 * lines) between markers. */
static int run(const char *what, Packed *f, Any *args, int n, Any *ret)
{
	Any r = {0, 0, {0}};
	if (!f) {
		printf("%s: kernel missing\n", what);
		exit(2);
	}
	int rc = f(NULL, args, n, ret ? ret : &r);
	if (rc != 0)
		printf("%s: rc=%d\n<<%s: %s>>\n", what, rc, tirxrt_last_error_kind(), tirxrt_last_error_message());
	return rc;
}

static void verdict(const char *what, int bad)
{
	printf("%s: %s\n", what, bad ? "WRONG" : "ok");
}

static int case_vadd(void)
{
	int64_t shape[1] = {1024}, bad_shape[1] = {1000}, shape2[2] = {32, 32};
	float *a = aligned(4096), *b = aligned(4096), *c = aligned(4096);
	for (int i = 0; i < 1024; i++) {
		a[i] = (float)i * 0.5f;
		b[i] = 3.0f - (float)i;
	}
	Tensor ta = tensor(a, 1, shape, FLOAT, 32), tb = tensor(b, 1, shape, FLOAT, 32),
	       tc = tensor(c, 1, shape, FLOAT, 32);
	Any args[3] = {tany(&ta), tany(&tb), tany(&tc)};
	int bad = run("vadd", __tvm_ffi_vadd, args, 3, NULL);
	for (int i = 0; i < 1024; i++)
		bad |= c[i] != a[i] + b[i];
	verdict("vadd", bad);
	/* argument checks */
	run("count", __tvm_ffi_vadd, args, 2, NULL);
	Tensor t2 = tensor(a, 2, shape2, FLOAT, 32);
	Any a2[3] = {tany(&t2), tany(&tb), tany(&tc)};
	run("ndim", __tvm_ffi_vadd, a2, 3, NULL);
	Tensor ti = tensor(a, 1, shape, INT, 32);
	Any a3[3] = {tany(&ta), tany(&ti), tany(&tc)};
	run("dtype", __tvm_ffi_vadd, a3, 3, NULL);
	Tensor ts = tensor(c, 1, bad_shape, FLOAT, 32);
	Any a4[3] = {tany(&ta), tany(&tb), tany(&ts)};
	run("shape", __tvm_ffi_vadd, a4, 3, NULL);
	Any a5[3] = {tany(&ta), iany(7), tany(&tc)};
	run("type", __tvm_ffi_vadd, a5, 3, NULL);
	free(a);
	free(b);
	free(c);
	return 0;
}

static int case_reduce(void)
{
	int64_t shape[1] = {1000}, one[1] = {1};
	float *a = aligned(4000), *b = aligned(4);
	double ref = 0;
	for (int i = 0; i < 1000; i++) {
		a[i] = (float)((i * 37) % 101) * 0.25f;
		ref += a[i];
	}
	Tensor ta = tensor(a, 1, shape, FLOAT, 32), tb = tensor(b, 1, one, FLOAT, 32);
	Any args[2] = {tany(&ta), tany(&tb)};
	int bad = run("reduce", __tvm_ffi_reduce_sum, args, 2, NULL);
	printf("sum %.2f ref %.2f\n", b[0], ref);
	verdict("reduce", bad || fabs(b[0] - ref) > 1e-3 * fabs(ref));
	free(a);
	free(b);
	return 0;
}

static int case_parallel(void)
{
	int64_t shape[1] = {1000};
	float *a = aligned(4000), *b = aligned(4000);
	for (int i = 0; i < 1000; i++) {
		a[i] = (float)i - 500.0f;
		b[i] = -1.0f;
	}
	Tensor ta = tensor(a, 1, shape, FLOAT, 32), tb = tensor(b, 1, shape, FLOAT, 32);
	Any args[3] = {tany(&ta), tany(&tb), fany(1.5)};
	int bad = run("parallel", __tvm_ffi_par_scale, args, 3, NULL);
	for (int i = 0; i < 1000; i++) {
		float want = a[i] * 1.5f + expf(a[i] * 0.001f);
		bad |= fabsf(b[i] - want) > 1e-4f * (fabsf(want) + 1);
	}
	verdict("parallel", bad);
	free(a);
	free(b);
	return 0;
}

static int case_dyn(void)
{
	int64_t sa[1] = {100}, sb[1] = {100}, sbad[1] = {99};
	double *a = aligned(800), *b = aligned(800);
	int bad = 0;
	for (int m = 50; m <= 200; m += 150) {
		for (int i = 0; i < 100; i++) {
			a[i] = i;
			b[i] = 1;
		}
		Tensor ta = tensor(a, 1, sa, FLOAT, 64), tb = tensor(b, 1, sb, FLOAT, 64);
		Any args[4] = {tany(&ta), tany(&tb), iany(m), fany(0.5)};
		bad |= run("dyn", __tvm_ffi_dyn_axpy, args, 4, NULL);
		for (int i = 0; i < 100; i++)
			bad |= b[i] != (i < m ? 1 + 0.5 * i : 1);
	}
	verdict("dyn", bad);
	Tensor ta = tensor(a, 1, sa, FLOAT, 64), tb = tensor(b, 1, sbad, FLOAT, 64);
	Any args[4] = {tany(&ta), tany(&tb), iany(10), fany(0.5)};
	run("mismatch", __tvm_ffi_dyn_axpy, args, 4, NULL);
	Any a2[4] = {tany(&ta), tany(&ta), fany(1.5), fany(0.5)};
	run("int-arg", __tvm_ffi_dyn_axpy, a2, 4, NULL);
	free(a);
	free(b);
	return 0;
}

static int case_dyn_scalar(void)
{
	int64_t s[1] = {77};
	int32_t *a = aligned(77 * 4);
	Tensor ta = tensor(a, 1, s, INT, 32);
	Any args[2] = {tany(&ta), iany(77)};
	int bad = run("dyn_scalar", __tvm_ffi_dyn_scalar, args, 2, NULL);
	for (int i = 0; i < 77; i++)
		bad |= a[i] != i * i - 3;
	verdict("dyn_scalar", bad);
	Any a2[2] = {tany(&ta), iany(78)};
	run("n", __tvm_ffi_dyn_scalar, a2, 2, NULL);
	free(a);
	return 0;
}

static int case_vec(void)
{
	int64_t s[1] = {256};
	int32_t *a = aligned(1024), *b = aligned(1024);
	for (int i = 0; i < 256; i++)
		a[i] = (i * 7919) % 41 - 20;
	Tensor ta = tensor(a, 1, s, INT, 32), tb = tensor(b, 1, s, INT, 32);
	Any args[2] = {tany(&ta), tany(&tb)};
	int bad = run("vec", __tvm_ffi_vec_relu, args, 2, NULL);
	for (int i = 0; i < 256; i++)
		bad |= b[i] != (a[i] > 0 ? a[i] : 0) * 3 - i % 5;
	verdict("vec", bad);
	free(a);
	free(b);
	return 0;
}

static int case_lowp(void)
{
	int64_t s[1] = {64};
	float *a = aligned(256), *d = aligned(256);
	uint16_t *b = aligned(128);
	uint8_t *c = aligned(64);
	for (int i = 0; i < 64; i++)
		a[i] = (float)(i % 13 - 6) * 0.5f;
	Tensor ta = tensor(a, 1, s, FLOAT, 32), tb = tensor(b, 1, s, 4, 16), tc = tensor(c, 1, s, 10, 8),
	       td = tensor(d, 1, s, FLOAT, 32);
	Any args[4] = {tany(&ta), tany(&tb), tany(&tc), tany(&td)};
	int bad = run("lowp", __tvm_ffi_lowp, args, 4, NULL);
	for (int i = 0; i < 64; i++) {
		uint32_t bits;
		memcpy(&bits, &a[i], 4);
		bad |= b[i] != (uint16_t)(bits >> 16); /* exact in bfloat16 */
		bad |= d[i] != 2 * a[i];
	}
	/* float8_e4m3fn: 1.0 is 0x38, -1.0 0xb8, 0.5 0x30, 3.0 0x44, 0 0 */
	printf("fp8 %02x %02x %02x %02x %02x\n", c[8], c[4], c[7], c[12], c[6]);
	verdict("lowp", bad);
	free(a);
	free(b);
	free(c);
	free(d);
	return 0;
}

static int case_scalars(void)
{
	Any args[3] = {iany(20), fany(2.75), iany(1)};
	Any r = {0, 0, {0}};
	int bad = run("scalars", __tvm_ffi_scalars, args, 3, &r);
	printf("result type %d value %lld\n", r.type_index, (long long)r.v.v_int64);
	Any a2[3] = {iany(20), fany(2.75), iany(0)};
	bad |= run("scalars", __tvm_ffi_scalars, a2, 3, &r);
	printf("result type %d value %lld\n", r.type_index, (long long)r.v.v_int64);
	verdict("scalars", bad);
	Any a3[3] = {fany(1.0), fany(2.75), iany(0)};
	run("float-for-int", __tvm_ffi_scalars, a3, 3, &r);
	return 0;
}

static int case_workspace(void)
{
	int64_t s[1] = {4096};
	float *a = aligned(4096 * 4);
	for (int i = 0; i < 4096; i++)
		a[i] = (float)i;
	Tensor ta = tensor(a, 1, s, FLOAT, 32);
	Any args[1] = {tany(&ta)};
	int bad = run("workspace", __tvm_ffi_workspace, args, 1, NULL);
	for (int i = 0; i < 4096; i++)
		bad |= a[i] != (float)(4095 - i) * 2.0f;
	verdict("workspace", bad);
	free(a);
	return 0;
}

static int case_f16_bool(void)
{
	int64_t s[1] = {8};
	float *a = aligned(32);
	uint8_t *b = aligned(8);
	uint16_t *c = aligned(16);
	int32_t *d = aligned(32);
	for (int i = 0; i < 8; i++)
		a[i] = (float)i - 3.5f;
	Tensor ta = tensor(a, 1, s, FLOAT, 32), tb = tensor(b, 1, s, 6, 8), tc = tensor(c, 1, s, FLOAT, 16),
	       td = tensor(d, 1, s, INT, 32);
	Any args[4] = {tany(&ta), tany(&tb), tany(&tc), tany(&td)};
	run("f16_bool", __tvm_ffi_f16_bool, args, 4, NULL);
	for (int i = 0; i < 8; i++)
		printf("%d %04x %d\n", b[i], c[i], d[i]);
	free(a);
	free(b);
	free(c);
	free(d);
	return 0;
}

static int case_subroutine(void)
{
	int64_t s[1] = {2};
	int32_t *a = aligned(8);
	Tensor ta = tensor(a, 1, s, INT, 32);
	Any args[2] = {tany(&ta), iany(5)};
	run("main", __tvm_ffi_main, args, 2, NULL);
	free(a);
	return 0;
}

static int case_launch_point(void)
{
	int64_t s[1] = {100};
	float *a = aligned(400), *b = aligned(400), *c = aligned(400);
	for (int i = 0; i < 100; i++)
		a[i] = (float)i;
	Tensor ta = tensor(a, 1, s, FLOAT, 32), tb = tensor(b, 1, s, FLOAT, 32), tc = tensor(c, 1, s, FLOAT, 32);
	Any args[3] = {tany(&ta), tany(&tb), tany(&tc)};
	int bad = run("launch_point", __tvm_ffi_launch_point, args, 3, NULL);
	for (int i = 0; i < 100; i++)
		bad |= c[i] != 2.0f * (float)(99 - i);
	verdict("launch_point", bad);
	free(a);
	free(b);
	free(c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} cases[] = {
		{"vadd", case_vadd}, {"reduce", case_reduce}, {"parallel", case_parallel},
		{"dyn", case_dyn}, {"dyn_scalar", case_dyn_scalar}, {"vec", case_vec},
		{"lowp", case_lowp}, {"scalars", case_scalars}, {"workspace", case_workspace},
		{"f16_bool", case_f16_bool}, {"subroutine", case_subroutine},
		{"launch_point", case_launch_point},
	};
	for (size_t i = 0; argc > 1 && i < sizeof cases / sizeof cases[0]; i++)
		if (!strcmp(argv[1], cases[i].name))
			return cases[i].fn();
	fprintf(stderr, "usage: driver CASE\n");
	return 2;
}
