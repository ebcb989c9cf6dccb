/* rt_test.c: the runtime library's checks, linked the way a user links it
 * (prog.c libtirxrt.a -ldl -lpthread -lm).  Prints one line per area plus the
 * pool size it found, and "rt_test: N checks, M failed"; exits 1 when any
 * check failed.  runtime.test runs it with several pool sizes.
 *
 *     rt_test            every area
 *     rt_test oom        also a workspace request malloc must refuse
 *                        (not under ASan, which aborts on such a request) */
#define _POSIX_C_SOURCE 200809L
#include "tirxrt.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int checks, failed;
#define CHECK(c)                                                                   \
	do {                                                                       \
		checks++;                                                          \
		if (!(c)) {                                                        \
			failed++;                                                  \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,     \
			        __LINE__, #c);                                     \
		}                                                                  \
	} while (0)

static int streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

/* ---- errors ------------------------------------------------------------- */

static void *error_thread(void *arg)
{
	/* A new thread starts without an error, whatever the others hold. */
	int *ok = arg;
	*ok = tirxrt_last_error_kind() == NULL && tirxrt_last_error_message() == NULL;
	TVMFFIErrorSetRaisedFromCStr("ValueError", "from the other thread");
	*ok = *ok && streq(tirxrt_last_error_message(), "from the other thread");
	return NULL; /* exits holding an error: freed at thread exit */
}

static void test_errors(void)
{
	CHECK(tirxrt_last_error_kind() == NULL);
	CHECK(tirxrt_last_error_message() == NULL);

	TVMFFIErrorSetRaisedFromCStr("TypeError", "bad argument");
	CHECK(streq(tirxrt_last_error_kind(), "TypeError"));
	CHECK(streq(tirxrt_last_error_message(), "bad argument"));

	const char *parts[] = {"Expected ", "3", " arguments", NULL, " when calling:\n  `",
	                       "main(A: Tensor([1024], float32))", "`"};
	TVMFFIErrorSetRaisedFromCStrParts("TypeError", parts, 7);
	CHECK(streq(tirxrt_last_error_message(),
	            "Expected 3 arguments when calling:\n  `main(A: Tensor([1024], float32))`"));
	/* Only the first num_parts pieces count. */
	TVMFFIErrorSetRaisedFromCStrParts("ValueError", parts, 2);
	CHECK(streq(tirxrt_last_error_kind(), "ValueError"));
	CHECK(streq(tirxrt_last_error_message(), "Expected 3"));
	const char *nulls[] = {NULL, NULL, NULL};
	TVMFFIErrorSetRaisedFromCStrParts("ValueError", nulls, 3);
	CHECK(streq(tirxrt_last_error_message(), ""));
	TVMFFIErrorSetRaisedFromCStrParts("ValueError", NULL, 4);
	CHECK(streq(tirxrt_last_error_message(), ""));
	TVMFFIErrorSetRaisedFromCStrParts("ValueError", parts, -1);
	CHECK(streq(tirxrt_last_error_message(), ""));
	TVMFFIErrorSetRaisedFromCStr(NULL, NULL);
	CHECK(streq(tirxrt_last_error_kind(), "RuntimeError"));
	CHECK(streq(tirxrt_last_error_message(), ""));

	/* Passing the current error back in keeps it (no use after free). */
	TVMFFIErrorSetRaisedFromCStr("IndexError", "again");
	TVMFFIErrorSetRaisedFromCStr(tirxrt_last_error_kind(), tirxrt_last_error_message());
	CHECK(streq(tirxrt_last_error_kind(), "IndexError"));
	CHECK(streq(tirxrt_last_error_message(), "again"));

	/* No length limit. */
	enum { BIG = 200000 };
	char *big = malloc(BIG + 1);
	memset(big, 'x', BIG);
	big[BIG] = '\0';
	const char *bigparts[] = {big, "-", big};
	TVMFFIErrorSetRaisedFromCStrParts("ValueError", bigparts, 3);
	const char *m = tirxrt_last_error_message();
	CHECK(m && strlen(m) == 2 * BIG + 1 && m[BIG] == '-' && m[2 * BIG] == 'x');
	free(big);

	/* Per thread. */
	TVMFFIErrorSetRaisedFromCStr("TypeError", "main thread");
	int ok = 0;
	pthread_t t;
	CHECK(pthread_create(&t, NULL, error_thread, &ok) == 0);
	pthread_join(t, NULL);
	CHECK(ok);
	CHECK(streq(tirxrt_last_error_kind(), "TypeError"));
	CHECK(streq(tirxrt_last_error_message(), "main thread"));

	tirxrt_clear_error();
	CHECK(tirxrt_last_error_kind() == NULL && tirxrt_last_error_message() == NULL);
	tirxrt_clear_error();
	CHECK(tirxrt_last_error_kind() == NULL);
	printf("errors: done\n");
}

/* ---- streams ------------------------------------------------------------ */

static void *stream_thread(void *arg)
{
	int *ok = arg;
	*ok = TVMFFIEnvGetStream(2, 0) == NULL;
	*ok = *ok && TVMFFIEnvSetStream(2, 0, (void *)0x99, NULL) == 0;
	*ok = *ok && TVMFFIEnvGetStream(2, 0) == (void *)0x99;
	return NULL;
}

static void test_streams(void)
{
	void *old = (void *)1;
	CHECK(TVMFFIEnvGetStream(2, 0) == NULL);
	CHECK(TVMFFIEnvSetStream(2, 0, (void *)0x10, &old) == 0);
	CHECK(old == NULL);
	CHECK(TVMFFIEnvGetStream(2, 0) == (void *)0x10);
	CHECK(TVMFFIEnvGetStream(2, 1) == NULL);
	CHECK(TVMFFIEnvGetStream(1, 0) == NULL);
	CHECK(TVMFFIEnvSetStream(2, 0, (void *)0x20, &old) == 0);
	CHECK(old == (void *)0x10);
	CHECK(TVMFFIEnvSetStream(2, 1, (void *)0x21, NULL) == 0);
	CHECK(TVMFFIEnvGetStream(2, 0) == (void *)0x20);
	CHECK(TVMFFIEnvGetStream(2, 1) == (void *)0x21);
	/* Back to the default stream. */
	CHECK(TVMFFIEnvSetStream(2, 0, NULL, &old) == 0);
	CHECK(old == (void *)0x20);
	CHECK(TVMFFIEnvGetStream(2, 0) == NULL);
	CHECK(TVMFFIEnvGetStream(2, 1) == (void *)0x21);
	CHECK(TVMFFIEnvSetStream(2, 5, NULL, &old) == 0 && old == NULL);
	/* Many devices. */
	for (int i = 0; i < 100; i++)
		CHECK(TVMFFIEnvSetStream(10, i, (void *)(intptr_t)(1000 + i), NULL) == 0);
	int all = 1;
	for (int i = 0; i < 100; i++)
		all = all && TVMFFIEnvGetStream(10, i) == (void *)(intptr_t)(1000 + i);
	CHECK(all);
	CHECK(TVMFFIEnvGetStream(2, 1) == (void *)0x21);
	/* Per thread. */
	int ok = 0;
	pthread_t t;
	CHECK(pthread_create(&t, NULL, stream_thread, &ok) == 0);
	pthread_join(t, NULL);
	CHECK(ok);
	CHECK(TVMFFIEnvGetStream(2, 0) == NULL);
	printf("streams: done\n");
}

/* ---- parallel launch ---------------------------------------------------- */

enum { MAXT = 1024 };

/* The pool size the library should have chosen. */
static int expected_pool(void)
{
	const char *s = getenv("TIRXRT_NUM_THREADS");
	if (s && *s) {
		char *end;
		long v = strtol(s, &end, 10);
		if (*end == '\0' && v >= 1 && v <= MAXT)
			return (int)v;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAXT ? MAXT : (int)n;
}

typedef struct {
	int64_t lo, hi;
	int64_t part[MAXT];
	int ran[MAXT];
	pthread_t thread[MAXT];
	int32_t seen_num_task[MAXT];
	int bad;
} SumJob;

static int sum_task(int task, TVMParallelGroupEnv *penv, void *cdata)
{
	SumJob *j = cdata;
	int n = penv->num_task;
	if (task < 0 || task >= n || n > MAXT) {
		j->bad = 1;
		return 0;
	}
	int64_t len = j->hi - j->lo, chunk = (len + n - 1) / n;
	int64_t b = j->lo + task * chunk, e = b + chunk < j->hi ? b + chunk : j->hi;
	int64_t s = 0;
	for (int64_t i = b; i < e; i++)
		s += i;
	j->part[task] = s;
	j->ran[task]++;
	j->thread[task] = pthread_self();
	j->seen_num_task[task] = n;
	return 0;
}

/* Sums lo..hi-1 with a launch of num_task; returns the tasks that ran, or -1. */
static int run_sum(int64_t lo, int64_t hi, int num_task, int check_threads)
{
	SumJob *j = calloc(1, sizeof *j);
	j->lo = lo;
	j->hi = hi;
	int rc = TVMBackendParallelLaunch(sum_task, j, num_task);
	int n = j->seen_num_task[0];
	int ok = rc == 0 && !j->bad && n >= 1;
	int64_t s = 0;
	for (int t = 0; ok && t < n; t++) {
		ok = j->ran[t] == 1 && j->seen_num_task[t] == n;
		s += j->part[t];
	}
	for (int t = n; ok && t < MAXT; t++)
		ok = j->ran[t] == 0;
	ok = ok && s == (hi - 1 + lo) * (hi - lo) / 2;
	/* Each task on its own thread, task 0 on the caller's. */
	if (ok && check_threads) {
		ok = pthread_equal(j->thread[0], pthread_self());
		for (int a = 0; ok && a < n; a++)
			for (int b = a + 1; ok && b < n; b++)
				ok = !pthread_equal(j->thread[a], j->thread[b]);
	}
	free(j);
	return ok ? n : -1;
}

typedef struct {
	int n;
	int rounds;
	int a[MAXT];
	int64_t b[MAXT];
	int bad;
} BarJob;

/* Phase 1: task t writes a[t] (late, for high t); barrier; phase 2: every
 * task reads every a[] and must see all of this round's writes; barrier
 * again before the next round overwrites them. */
static int barrier_task(int task, TVMParallelGroupEnv *penv, void *cdata)
{
	BarJob *j = cdata;
	int n = penv->num_task;
	for (int r = 1; r <= j->rounds; r++) {
		if (r <= 3)
			sleep_us(200L * task);
		__atomic_store_n(&j->a[task], r * 1000 + task, __ATOMIC_RELAXED);
		if (TVMBackendParallelBarrier(task, penv) != 0)
			j->bad = 1;
		int64_t s = 0;
		for (int t = 0; t < n; t++) {
			int v = __atomic_load_n(&j->a[t], __ATOMIC_RELAXED);
			if (v != r * 1000 + t)
				__atomic_store_n(&j->bad, 1, __ATOMIC_RELAXED);
			s += v;
		}
		j->b[task] = s;
		if (TVMBackendParallelBarrier(task, penv) != 0)
			j->bad = 1;
	}
	if (task == 0)
		j->n = n;
	return 0;
}

static int run_barrier(int num_task, int rounds)
{
	BarJob *j = calloc(1, sizeof *j);
	j->rounds = rounds;
	int rc = TVMBackendParallelLaunch(barrier_task, j, num_task);
	int ok = rc == 0 && !j->bad && j->n >= 1;
	int64_t want = 0;
	for (int t = 0; t < j->n; t++)
		want += rounds * 1000 + t;
	for (int t = 0; ok && t < j->n; t++)
		ok = j->b[t] == want;
	free(j);
	return ok;
}

/* Tasks listed in the mask fail; those also in `record` record an error
 * naming themselves first. */
typedef struct {
	unsigned fail, record;
} FailJob;

static int fail_task(int task, TVMParallelGroupEnv *penv, void *cdata)
{
	FailJob *j = cdata;
	/* A slow low task must still win over a fast high one. */
	if (task == 1)
		sleep_us(2000);
	if (task < 32 && (j->fail >> task & 1)) {
		if (j->record >> task & 1) {
			char msg[64];
			snprintf(msg, sizeof msg, "task %d failed", task);
			TVMFFIErrorSetRaisedFromCStr(task == 0 ? "TypeError" : "ValueError", msg);
		}
		return 7;
	}
	return 0;
}

static int inner_task(int task, TVMParallelGroupEnv *penv, void *cdata)
{
	int *rec = cdata;
	rec[0] = penv->num_task;
	rec[1] = task;
	rec[2] = TVMBackendParallelBarrier(task, penv) == 0;
	return 0;
}

typedef struct {
	int inner[MAXT][3];
	int inner_rc[MAXT];
	int fail_rc;
	const char *fail_kind;
	char fail_msg[64];
} NestJob;

static int outer_task(int task, TVMParallelGroupEnv *penv, void *cdata)
{
	NestJob *j = cdata;
	j->inner_rc[task] = TVMBackendParallelLaunch(inner_task, j->inner[task], 0);
	if (task == 0) {
		/* A nested failure is the nested launch's result. */
		FailJob f = {1, 1};
		j->fail_rc = TVMBackendParallelLaunch(fail_task, &f, 4);
		j->fail_kind = tirxrt_last_error_kind();
		snprintf(j->fail_msg, sizeof j->fail_msg, "%s",
		         tirxrt_last_error_message() ? tirxrt_last_error_message() : "(none)");
	}
	return 0;
}

static void *concurrent_thread(void *arg)
{
	int *ok = arg;
	for (int i = 0; i < 150 && *ok; i++) {
		*ok = run_sum(i, 10000 + i, i % 4 == 0 ? 0 : i % 5, 0) > 0;
		if (*ok && i % 10 == 0)
			*ok = run_barrier(0, 3);
	}
	return NULL;
}

static void test_parallel(void)
{
	int pool = expected_pool();
	/* Every task count, from 0 (the pool) to beyond it. */
	for (int nt = 0; nt <= pool + 2; nt++) {
		int want = nt == 0 || nt > pool ? pool : nt;
		int got = run_sum(-5, 100003, nt, 1);
		if (got != want)
			fprintf(stderr, "num_task %d: %d tasks ran, want %d\n", nt, got, want);
		CHECK(got == want);
	}
	CHECK(run_sum(0, 0, 0, 1) == pool); /* empty range */
	CHECK(run_sum(0, 3, 0, 1) == pool); /* fewer items than tasks */
	printf("parallel: pool of %d threads\n", pool);

	/* Barrier. */
	for (int nt = 0; nt <= pool; nt++)
		CHECK(run_barrier(nt, 50));
	TVMParallelGroupEnv one = {NULL, 1};
	CHECK(TVMBackendParallelBarrier(0, &one) == 0);

	/* Errors. */
	FailJob f;
	int last = pool - 1 < 31 ? pool - 1 : 31; /* the highest task the masks reach */
	TVMFFIErrorSetRaisedFromCStr("OldError", "stale");
	f = (FailJob){1u << last, 1u << last};
	CHECK(TVMBackendParallelLaunch(fail_task, &f, 0) == -1);
	char want[64];
	snprintf(want, sizeof want, "task %d failed", last);
	CHECK(streq(tirxrt_last_error_kind(), last == 0 ? "TypeError" : "ValueError"));
	CHECK(streq(tirxrt_last_error_message(), want));
	if (pool >= 3) {
		/* Several fail: the lowest task id's error wins. */
		f = (FailJob){6, 6};
		CHECK(TVMBackendParallelLaunch(fail_task, &f, 0) == -1);
		CHECK(streq(tirxrt_last_error_message(), "task 1 failed"));
		f = (FailJob){7, 7};
		CHECK(TVMBackendParallelLaunch(fail_task, &f, 0) == -1);
		CHECK(streq(tirxrt_last_error_kind(), "TypeError"));
		CHECK(streq(tirxrt_last_error_message(), "task 0 failed"));
		/* Task 1 fails silently, task 2 records: the lowest failing task
		 * decides, and it recorded nothing. */
		f = (FailJob){6, 4};
		CHECK(TVMBackendParallelLaunch(fail_task, &f, 0) == -1);
		CHECK(streq(tirxrt_last_error_message(),
		            "parallel task 1 returned 7 without recording an error"));
	}
	/* A failure without an error recorded is reported, not left stale. */
	TVMFFIErrorSetRaisedFromCStr("OldError", "stale");
	f = (FailJob){1, 0};
	CHECK(TVMBackendParallelLaunch(fail_task, &f, 0) == -1);
	CHECK(streq(tirxrt_last_error_kind(), "RuntimeError"));
	CHECK(streq(tirxrt_last_error_message(),
	            "parallel task 0 returned 7 without recording an error"));
	/* The pool works after failures. */
	CHECK(run_sum(1, 5000, 0, 1) == pool);
	CHECK(run_barrier(0, 5));

	/* Bad calls. */
	CHECK(TVMBackendParallelLaunch(NULL, NULL, 0) == -1);
	CHECK(streq(tirxrt_last_error_kind(), "ValueError"));
	CHECK(TVMBackendParallelLaunch(sum_task, NULL, -1) == -1);
	CHECK(streq(tirxrt_last_error_kind(), "ValueError"));

	/* Nested launches run serially, as one task, on the task's thread. */
	NestJob *nj = calloc(1, sizeof *nj);
	CHECK(TVMBackendParallelLaunch(outer_task, nj, 0) == 0);
	int nested_ok = 1;
	for (int t = 0; t < pool; t++)
		nested_ok = nested_ok && nj->inner_rc[t] == 0 && nj->inner[t][0] == 1 &&
		            nj->inner[t][1] == 0 && nj->inner[t][2] == 1;
	CHECK(nested_ok);
	CHECK(nj->fail_rc == -1);
	CHECK(streq(nj->fail_kind, "TypeError"));
	CHECK(streq(nj->fail_msg, "task 0 failed"));
	free(nj);

	/* Two threads launching at once, and this one too. */
	pthread_t t1, t2;
	int ok1 = 1, ok2 = 1, ok0 = 1;
	CHECK(pthread_create(&t1, NULL, concurrent_thread, &ok1) == 0);
	CHECK(pthread_create(&t2, NULL, concurrent_thread, &ok2) == 0);
	concurrent_thread(&ok0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK(ok0 && ok1 && ok2);
	printf("parallel: done\n");
}

/* ---- workspaces --------------------------------------------------------- */

static int ws_task(int task, TVMParallelGroupEnv *penv, void *cdata)
{
	void *p = TVMBackendAllocWorkspace(1, 0, 4096, 2, 32);
	if (!p || (uintptr_t)p % 64 != 0)
		return -1;
	memset(p, task, 4096);
	return TVMBackendFreeWorkspace(1, 0, p);
}

static void test_workspaces(int oom)
{
	static const uint64_t sizes[] = {0, 1, 7, 63, 64, 65, 1000, 4096, 1 << 20};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		void *p = TVMBackendAllocWorkspace(1, 0, sizes[i], 2, 32);
		CHECK(p != NULL);
		CHECK((uintptr_t)p % 64 == 0);
		if (p && sizes[i])
			memset(p, 0xab, sizes[i]);
		CHECK(TVMBackendFreeWorkspace(1, 0, p) == 0);
	}
	/* Size 0: distinct, usable pointers. */
	void *z1 = TVMBackendAllocWorkspace(1, 0, 0, 0, 8);
	void *z2 = TVMBackendAllocWorkspace(1, 0, 0, 0, 8);
	CHECK(z1 && z2 && z1 != z2);
	CHECK(TVMBackendFreeWorkspace(1, 0, z1) == 0 && TVMBackendFreeWorkspace(1, 0, z2) == 0);
	/* Large. */
	uint64_t large = (uint64_t)64 << 20;
	char *l = TVMBackendAllocWorkspace(1, 0, large, 2, 32);
	CHECK(l != NULL && (uintptr_t)l % 64 == 0);
	if (l) {
		l[0] = 1;
		l[large - 1] = 2;
	}
	CHECK(TVMBackendFreeWorkspace(1, 0, l) == 0);
	/* Sizes that cannot be served. */
	tirxrt_clear_error();
	CHECK(TVMBackendAllocWorkspace(1, 0, UINT64_MAX, 2, 32) == NULL);
	CHECK(streq(tirxrt_last_error_kind(), "RuntimeError"));
	CHECK(streq(tirxrt_last_error_message(), "TVMBackendAllocWorkspace: cannot allocate a "
	                                         "workspace of 18446744073709551615 bytes"));
	tirxrt_clear_error();
	CHECK(TVMBackendAllocWorkspace(1, 0, (uint64_t)SIZE_MAX - 10, 2, 32) == NULL);
	CHECK(streq(tirxrt_last_error_kind(), "RuntimeError"));
	if (oom) {
		tirxrt_clear_error();
		CHECK(TVMBackendAllocWorkspace(1, 0, (uint64_t)1 << 62, 2, 32) == NULL);
		CHECK(streq(tirxrt_last_error_message(), "TVMBackendAllocWorkspace: cannot allocate "
		                                         "a workspace of 4611686018427387904 bytes"));
	}
	/* Another device type. */
	tirxrt_clear_error();
	CHECK(TVMBackendAllocWorkspace(2, 0, 64, 2, 32) == NULL);
	CHECK(streq(tirxrt_last_error_kind(), "RuntimeError"));
	CHECK(streq(tirxrt_last_error_message(),
	            "TVMBackendAllocWorkspace: device type 2 is not supported: the tirxc runtime "
	            "provides CPU (device type 1) workspaces only"));
	void *p = TVMBackendAllocWorkspace(1, 0, 64, 2, 32);
	tirxrt_clear_error();
	CHECK(TVMBackendFreeWorkspace(2, 0, p) == -1);
	CHECK(streq(tirxrt_last_error_message(),
	            "TVMBackendFreeWorkspace: device type 2 is not supported: the tirxc runtime "
	            "provides CPU (device type 1) workspaces only"));
	CHECK(TVMBackendFreeWorkspace(1, 0, p) == 0);
	CHECK(TVMBackendFreeWorkspace(1, 0, NULL) == 0);
	/* From the tasks of a launch, as a T.parallel body does. */
	CHECK(TVMBackendParallelLaunch(ws_task, NULL, 0) == 0);
	printf("workspaces: done\n");
}

int main(int argc, char **argv)
{
	int oom = argc > 1 && strcmp(argv[1], "oom") == 0;
	test_errors();
	test_streams();
	test_parallel();
	test_workspaces(oom);
	printf("rt_test: %d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
