/* parallel.c: the thread pool behind T.parallel (tirxrt.h, "Parallel
 * launch").
 *
 * One process-wide pool of `size` threads: the thread that launches runs task
 * 0 and workers 1 .. size-1 run tasks 1 .. num_task-1, worker i always task
 * i.  Every task of a launch therefore runs on its own thread at the same
 * time, which a barrier needs.  The pool is created on the first launch that
 * needs more than one task (pthread_once); its workers live until the process
 * exits.
 *
 * A launch publishes its job under `mu` and bumps `gen`; workers wait on
 * `wake` for a new generation, run their task if their index is below
 * num_task, and the last one to finish signals `done`.  A worker whose index
 * is not needed may sleep through a generation: it was not counted.  Top-level
 * launches from different threads take the pool in turn (`launch_mu`); a
 * launch from inside a task (the thread-local `tl_in_task`) runs serially as
 * a single task on its own thread, so nesting never waits for the pool it is
 * already holding.
 *
 * Errors are per thread (error.c): a task that fails on a worker records its
 * error on the worker, so the worker copies kind and message into the job
 * under `mu`, keeping the failing task with the lowest id; the launcher then
 * records that error on its own thread.  A failure of task 0 already sits on
 * the launcher's thread and wins.  Each launch starts by clearing the
 * launcher's error, so that a task which fails without recording one is
 * noticed (and reported as such) rather than leaving a stale error in view.
 *
 * The barrier (sync_handle) is a counting barrier with a generation under its
 * own mutex: blocking rather than spinning, since a machine may run more
 * threads than it has cores. */
#include "tirxrt.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_THREADS = 1024 };

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int32_t arrived;
	unsigned gen;
} Barrier;

typedef struct {
	pthread_mutex_t launch_mu; /* one top-level launch at a time */
	pthread_mutex_t mu;        /* everything below */
	pthread_cond_t wake, done;
	int size;                  /* threads that run tasks, the launcher included */
	unsigned long gen;
	FTVMParallelLambda flambda;
	void *cdata;
	TVMParallelGroupEnv env;
	int pending;               /* worker tasks of this launch still running */
	int fail_task;             /* lowest failing worker task, INT_MAX if none */
	int fail_rc;
	char *fail_kind, *fail_msg; /* its error, NULL if it recorded none */
	Barrier bar;
} Pool;

static Pool pool = {
	.launch_mu = PTHREAD_MUTEX_INITIALIZER,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.bar = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0},
};
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static _Thread_local int tl_in_task;

static char *dup_or_null(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static void *worker_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	unsigned long seen = 0;
	tl_in_task = 1; /* a launch from a worker is always nested */
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		while (pool.gen == seen)
			pthread_cond_wait(&pool.wake, &pool.mu);
		seen = pool.gen;
		if (id >= pool.env.num_task)
			continue;
		FTVMParallelLambda f = pool.flambda;
		void *cdata = pool.cdata;
		pthread_mutex_unlock(&pool.mu);

		tirxrt_clear_error();
		int rc = f(id, &pool.env, cdata);
		char *kind = NULL, *msg = NULL;
		if (rc != 0 && tirxrt_last_error_kind()) {
			kind = dup_or_null(tirxrt_last_error_kind());
			msg = dup_or_null(tirxrt_last_error_message());
		}
		tirxrt_clear_error();

		pthread_mutex_lock(&pool.mu);
		if (rc != 0 && id < pool.fail_task) {
			free(pool.fail_kind);
			free(pool.fail_msg);
			pool.fail_task = id;
			pool.fail_rc = rc;
			pool.fail_kind = kind;
			pool.fail_msg = msg;
		} else {
			free(kind);
			free(msg);
		}
		if (--pool.pending == 0)
			pthread_cond_signal(&pool.done);
	}
	return NULL;
}

/* TIRXRT_NUM_THREADS when it is a whole number in 1..MAX_THREADS, else the
 * online CPUs (at least 1). */
static int pool_size_wanted(void)
{
	const char *s = getenv("TIRXRT_NUM_THREADS");
	if (s && *s) {
		char *end;
		long v = strtol(s, &end, 10);
		if (*end == '\0' && v >= 1 && v <= MAX_THREADS)
			return (int)v;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static void pool_init(void)
{
	int want = pool_size_wanted();
	pool.size = 1;
	pool.fail_task = INT_MAX;
	pthread_attr_t attr;
	int attr_ok = pthread_attr_init(&attr) == 0;
	if (attr_ok)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* A worker that cannot be created shrinks the pool: tasks are numbered
	 * by worker, so the workers must be 1 .. size-1 without gaps. */
	for (int i = 1; i < want; i++) {
		pthread_t t;
		if (pthread_create(&t, attr_ok ? &attr : NULL, worker_main, (void *)(intptr_t)i) != 0)
			break;
		pool.size = i + 1;
	}
	if (attr_ok)
		pthread_attr_destroy(&attr);
}

/* Runs one task on the calling thread: nested launches and a pool of one. */
static int run_serial(FTVMParallelLambda f, void *cdata)
{
	TVMParallelGroupEnv env = {NULL, 1};
	int outer = tl_in_task;
	tl_in_task = 1;
	int rc = f(0, &env, cdata);
	tl_in_task = outer;
	return rc;
}

static int launch_failed(int task, int rc)
{
	if (!tirxrt_last_error_kind()) {
		char msg[128];
		snprintf(msg, sizeof msg,
		         "parallel task %d returned %d without recording an error", task, rc);
		TVMFFIErrorSetRaisedFromCStr("RuntimeError", msg);
	}
	return -1;
}

int TVMBackendParallelLaunch(FTVMParallelLambda flambda, void *cdata, int num_task)
{
	if (!flambda || num_task < 0) {
		TVMFFIErrorSetRaisedFromCStr("ValueError", flambda
		        ? "TVMBackendParallelLaunch: the number of tasks is negative"
		        : "TVMBackendParallelLaunch: the task function is NULL");
		return -1;
	}
	tirxrt_clear_error();
	if (tl_in_task || num_task == 1) {
		int rc = run_serial(flambda, cdata);
		return rc == 0 ? 0 : launch_failed(0, rc);
	}
	(void)pthread_once(&pool_once, pool_init);
	int n = num_task == 0 || num_task > pool.size ? pool.size : num_task;
	if (n == 1) {
		int rc = run_serial(flambda, cdata);
		return rc == 0 ? 0 : launch_failed(0, rc);
	}

	pthread_mutex_lock(&pool.launch_mu);
	pthread_mutex_lock(&pool.mu);
	pool.flambda = flambda;
	pool.cdata = cdata;
	pool.env.num_task = n;
	pool.env.sync_handle = &pool.bar;
	pool.bar.arrived = 0; /* no task of an earlier launch is inside it */
	pool.pending = n - 1;
	pool.fail_task = INT_MAX;
	pool.gen++;
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.mu);

	tl_in_task = 1;
	int rc0 = flambda(0, &pool.env, cdata);
	tl_in_task = 0;

	pthread_mutex_lock(&pool.mu);
	while (pool.pending > 0)
		pthread_cond_wait(&pool.done, &pool.mu);
	int fail = pool.fail_task, fail_rc = pool.fail_rc;
	char *kind = pool.fail_kind, *msg = pool.fail_msg;
	pool.fail_kind = pool.fail_msg = NULL;
	pool.fail_task = INT_MAX;
	pthread_mutex_unlock(&pool.mu);
	pthread_mutex_unlock(&pool.launch_mu);

	int ret = 0;
	if (rc0 != 0) {
		ret = launch_failed(0, rc0);
	} else if (fail != INT_MAX) {
		if (kind)
			TVMFFIErrorSetRaisedFromCStr(kind, msg);
		ret = launch_failed(fail, fail_rc);
	}
	free(kind);
	free(msg);
	return ret;
}

int TVMBackendParallelBarrier(int task_id, TVMParallelGroupEnv *penv)
{
	if (!penv || penv->num_task <= 1 || !penv->sync_handle)
		return 0;
	Barrier *b = penv->sync_handle;
	pthread_mutex_lock(&b->mu);
	unsigned gen = b->gen;
	if (++b->arrived == penv->num_task) {
		b->arrived = 0;
		b->gen++;
		pthread_cond_broadcast(&b->cv);
	} else {
		while (b->gen == gen)
			pthread_cond_wait(&b->cv, &b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	return 0;
}
