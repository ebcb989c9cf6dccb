/* gpu_launch: runs one kernel of a cubin on the GPU, for `make test-gpu`.
 *
 *   gpu_launch --arch                      prints sm_XX of device 0
 *   gpu_launch IMAGE KERNEL GX,GY,GZ BX,BY,BZ SMEM ARG...
 *     ARG  in:FILE        a device buffer holding FILE's bytes
 *          io:FILE:OUT    the same, copied back to OUT after the launch
 *          i32:V i64:V f32:V   a scalar argument
 *
 * The CUDA driver is found at run time (dlopen of libcuda.so.1), as the
 * objects tirxc makes will find it.  Exit status: 0 done, 77 no driver or
 * no device (the tier skips), 1 a CUDA or input error (reported). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext, *CUmodule, *CUfunction;
typedef unsigned long long CUdeviceptr;

static CUresult (*cuInit)(unsigned);
static CUresult (*cuDeviceGetCount)(int *);
static CUresult (*cuDeviceGet)(CUdevice *, int);
static CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
static CUresult (*cuCtxCreate)(CUcontext *, unsigned, CUdevice);
static CUresult (*cuModuleLoadData)(CUmodule *, const void *);
static CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
static CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
static CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
static CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
static CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
static CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                                  unsigned, void *, void **, void **);
static CUresult (*cuCtxSynchronize)(void);
static CUresult (*cuGetErrorString)(CUresult, const char **);

enum { ATTR_CC_MAJOR = 75, ATTR_CC_MINOR = 76, FUNC_ATTR_MAX_DYN_SMEM = 8 };

static void check(CUresult r, const char *what)
{
	if (r == 0)
		return;
	const char *s = "unknown error";
	if (cuGetErrorString)
		cuGetErrorString(r, &s);
	fprintf(stderr, "gpu_launch: %s: %s (%d)\n", what, s, r);
	exit(1);
}

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);
	if (!p) {
		fprintf(stderr, "gpu_launch: libcuda.so.1 lacks %s\n", name);
		exit(77);
	}
	return p;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)len + 1);
	if (!b || fread(b, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "gpu_launch: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	b[len] = 0;
	*n = (size_t)len;
	return b;
}

static void dims(const char *s, unsigned d[3])
{
	if (sscanf(s, "%u,%u,%u", &d[0], &d[1], &d[2]) != 3) {
		fprintf(stderr, "gpu_launch: bad dimensions '%s'\n", s);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "gpu_launch: no CUDA driver (libcuda.so.1)\n");
		return 77;
	}
	*(void **)&cuInit = sym(h, "cuInit");
	*(void **)&cuDeviceGetCount = sym(h, "cuDeviceGetCount");
	*(void **)&cuDeviceGet = sym(h, "cuDeviceGet");
	*(void **)&cuDeviceGetAttribute = sym(h, "cuDeviceGetAttribute");
	*(void **)&cuCtxCreate = sym(h, "cuCtxCreate_v2");
	*(void **)&cuModuleLoadData = sym(h, "cuModuleLoadData");
	*(void **)&cuModuleGetFunction = sym(h, "cuModuleGetFunction");
	*(void **)&cuFuncSetAttribute = sym(h, "cuFuncSetAttribute");
	*(void **)&cuMemAlloc = sym(h, "cuMemAlloc_v2");
	*(void **)&cuMemcpyHtoD = sym(h, "cuMemcpyHtoD_v2");
	*(void **)&cuMemcpyDtoH = sym(h, "cuMemcpyDtoH_v2");
	*(void **)&cuLaunchKernel = sym(h, "cuLaunchKernel");
	*(void **)&cuCtxSynchronize = sym(h, "cuCtxSynchronize");
	*(void **)&cuGetErrorString = sym(h, "cuGetErrorString");
	int count = 0;
	if (cuInit(0) != 0 || cuDeviceGetCount(&count) != 0 || count == 0) {
		fprintf(stderr, "gpu_launch: no CUDA device\n");
		return 77;
	}
	CUdevice dev;
	check(cuDeviceGet(&dev, 0), "cuDeviceGet");
	if (argc == 2 && !strcmp(argv[1], "--arch")) {
		int ma, mi;
		check(cuDeviceGetAttribute(&ma, ATTR_CC_MAJOR, dev), "cuDeviceGetAttribute");
		check(cuDeviceGetAttribute(&mi, ATTR_CC_MINOR, dev), "cuDeviceGetAttribute");
		printf("sm_%d%d\n", ma, mi);
		return 0;
	}
	if (argc < 6) {
		fprintf(stderr, "usage: gpu_launch IMAGE KERNEL GX,GY,GZ BX,BY,BZ SMEM ARG...\n");
		return 1;
	}
	CUcontext ctx;
	check(cuCtxCreate(&ctx, 0, dev), "cuCtxCreate");
	size_t n;
	char *image = slurp(argv[1], &n);
	CUmodule mod;
	check(cuModuleLoadData(&mod, image), "cuModuleLoadData");
	CUfunction fn;
	check(cuModuleGetFunction(&fn, mod, argv[2]), "cuModuleGetFunction");
	unsigned g[3], b[3];
	dims(argv[3], g);
	dims(argv[4], b);
	unsigned smem = (unsigned)strtoul(argv[5], NULL, 10);
	if (smem > 48 * 1024)
		check(cuFuncSetAttribute(fn, FUNC_ATTR_MAX_DYN_SMEM, (int)smem), "cuFuncSetAttribute");
	int na = argc - 6;
	void **params = calloc((size_t)na + 1, sizeof *params);
	union { CUdeviceptr p; int32_t i; int64_t l; float f; } *vals = calloc((size_t)na + 1, sizeof *vals);
	const char **outs = calloc((size_t)na + 1, sizeof *outs);
	size_t *sizes = calloc((size_t)na + 1, sizeof *sizes);
	for (int i = 0; i < na; i++) {
		char *a = argv[6 + i];
		if (!strncmp(a, "in:", 3) || !strncmp(a, "io:", 3)) {
			char *file = a + 3, *out = NULL;
			if (a[0] == 'i' && a[1] == 'o') {
				out = strchr(file, ':');
				if (!out) {
					fprintf(stderr, "gpu_launch: io:FILE:OUT expected\n");
					return 1;
				}
				*out++ = 0;
			}
			char *data = slurp(file, &sizes[i]);
			check(cuMemAlloc(&vals[i].p, sizes[i] ? sizes[i] : 1), "cuMemAlloc");
			if (sizes[i])
				check(cuMemcpyHtoD(vals[i].p, data, sizes[i]), "cuMemcpyHtoD");
			free(data);
			outs[i] = out;
		} else if (!strncmp(a, "i32:", 4)) {
			vals[i].i = (int32_t)strtol(a + 4, NULL, 10);
		} else if (!strncmp(a, "i64:", 4)) {
			vals[i].l = strtoll(a + 4, NULL, 10);
		} else if (!strncmp(a, "f32:", 4)) {
			vals[i].f = strtof(a + 4, NULL);
		} else {
			fprintf(stderr, "gpu_launch: bad argument '%s'\n", a);
			return 1;
		}
		params[i] = &vals[i];
	}
	check(cuLaunchKernel(fn, g[0], g[1], g[2], b[0], b[1], b[2], smem, NULL, params, NULL), "cuLaunchKernel");
	check(cuCtxSynchronize(), "the kernel");
	for (int i = 0; i < na; i++) {
		if (!outs[i])
			continue;
		char *buf = malloc(sizes[i] ? sizes[i] : 1);
		check(cuMemcpyDtoH(buf, vals[i].p, sizes[i]), "cuMemcpyDtoH");
		FILE *f = fopen(outs[i], "wb");
		if (!f || fwrite(buf, 1, sizes[i], f) != sizes[i] || fclose(f)) {
			fprintf(stderr, "gpu_launch: cannot write %s\n", outs[i]);
			return 1;
		}
		free(buf);
	}
	return 0;
}
