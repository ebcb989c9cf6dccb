/* stub_rt.c: a test-only stand-in for the runtime library (build/libtirxrt.a)
 * with the functions host objects call and the error readers the test
 * drivers use.  The lit substitution %tirxrt names the library when it has
 * been built and this file otherwise.  A parallel launch runs three tasks
 * on three threads (so that the chunking and the barrier are exercised);
 * the error state is one global, enough for the single-threaded callers of
 * these tests. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
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

typedef struct {
	FTVMParallelLambda f;
	void *cdata;
	TVMParallelGroupEnv *env;
	int task, rc;
} Task;

static void *run_task(void *p)
{
	Task *t = p;
	t->rc = t->f(t->task, t->env, t->cdata);
	return NULL;
}

/* Three tasks on three threads (the barrier needs them to run at once). */
int TVMBackendParallelLaunch(FTVMParallelLambda f, void *cdata, int num_task)
{
	enum { N = 3 };
	pthread_barrier_t bar;
	TVMParallelGroupEnv env = {&bar, N};
	Task t[N];
	pthread_t th[N];
	(void)num_task;
	pthread_barrier_init(&bar, NULL, N);
	for (int i = 0; i < N; i++) {
		t[i] = (Task){f, cdata, &env, i, 0};
		if (i && pthread_create(&th[i], NULL, run_task, &t[i]) != 0)
			abort();
	}
	run_task(&t[0]);
	int rc = t[0].rc;
	for (int i = 1; i < N; i++) {
		pthread_join(th[i], NULL);
		rc |= t[i].rc;
	}
	pthread_barrier_destroy(&bar);
	return rc ? -1 : 0;
}

int TVMBackendParallelBarrier(int task_id, TVMParallelGroupEnv *penv)
{
	(void)task_id;
	pthread_barrier_wait((pthread_barrier_t *)penv->sync_handle);
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
