/* stub_rt.c: a test-only stand-in for the runtime library (build/libtirxrt.a)
 * with the functions host objects call and the error readers the test
 * drivers use.  The lit substitution %tirxrt names the library when it has
 * been built and this file otherwise.  Parallel launches run their tasks
 * one after the other (three of them, so that the chunking is exercised);
 * the barrier has nothing to wait for then. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char err_kind[256], err_msg[4096];

void TVMFFIErrorSetRaisedFromCStr(const char *kind, const char *message)
{
	strncpy(err_kind, kind ? kind : "", sizeof err_kind - 1);
	strncpy(err_msg, message ? message : "", sizeof err_msg - 1);
}

void TVMFFIErrorSetRaisedFromCStrParts(const char *kind, const char **parts, int32_t n)
{
	size_t len = 0;
	strncpy(err_kind, kind ? kind : "", sizeof err_kind - 1);
	err_msg[0] = 0;
	for (int32_t i = 0; i < n; i++) {
		if (!parts[i])
			continue;
		size_t k = strlen(parts[i]);
		if (len + k >= sizeof err_msg)
			k = sizeof err_msg - 1 - len;
		memcpy(err_msg + len, parts[i], k);
		len += k;
		err_msg[len] = 0;
	}
}

const char *tirxrt_last_error_kind(void)
{
	return err_kind;
}

const char *tirxrt_last_error_message(void)
{
	return err_msg;
}

typedef struct {
	void *sync_handle;
	int32_t num_task;
} TVMParallelGroupEnv;

typedef int (*FTVMParallelLambda)(int task_id, TVMParallelGroupEnv *penv, void *cdata);

int TVMBackendParallelLaunch(FTVMParallelLambda f, void *cdata, int num_task)
{
	TVMParallelGroupEnv env = {NULL, num_task > 0 ? num_task : 3};
	for (int i = 0; i < env.num_task; i++)
		if (f(i, &env, cdata) != 0)
			return -1;
	return 0;
}

int TVMBackendParallelBarrier(int task_id, TVMParallelGroupEnv *penv)
{
	(void)task_id;
	(void)penv;
	return 0;
}

void *TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes, int code, int bits)
{
	(void)device_type;
	(void)device_id;
	(void)code;
	(void)bits;
	return aligned_alloc(64, (size_t)((nbytes + 63) / 64 * 64));
}

int TVMBackendFreeWorkspace(int device_type, int device_id, void *ptr)
{
	(void)device_type;
	(void)device_id;
	free(ptr);
	return 0;
}

void *TVMFFIEnvGetStream(int32_t device_type, int32_t device_id)
{
	(void)device_type;
	(void)device_id;
	return NULL;
}
