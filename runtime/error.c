/* error.c: the per-thread last error (tirxrt.h, "Errors").
 *
 * Each thread owns one heap buffer holding "kind\0message\0"; recording an
 * error builds the new text in a fresh buffer before freeing the old one, so
 * a caller may pass the current kind or message back in.  The buffer is
 * freed when the thread exits (a pthread key destructor).  When memory runs
 * out the error still becomes visible, as a fixed RuntimeError text: a
 * failed call must never look like one without an error. */
#include "tirxrt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *buf;        /* "kind\0message\0", NULL when none or out of memory */
	const char *kind; /* NULL when no error is recorded */
	const char *msg;
} ErrState;

static _Thread_local ErrState tl_err;
static pthread_key_t err_key;
static pthread_once_t err_once = PTHREAD_ONCE_INIT;

/* Runs at thread exit on that thread: frees its buffer and leaves the state
 * consistent, since a later key destructor may record an error again. */
static void err_thread_exit(void *unused)
{
	free(tl_err.buf);
	tl_err.buf = NULL;
	tl_err.kind = tl_err.msg = NULL;
}

static void err_init(void) { (void)pthread_key_create(&err_key, err_thread_exit); }

static void err_store(char *buf, size_t kind_len)
{
	char *old = tl_err.buf;
	tl_err.buf = buf;
	if (buf) {
		tl_err.kind = buf;
		tl_err.msg = buf + kind_len + 1;
		(void)pthread_once(&err_once, err_init);
		/* Any non-NULL value makes the destructor run for this thread. */
		(void)pthread_setspecific(err_key, &tl_err);
	} else {
		tl_err.kind = "RuntimeError";
		tl_err.msg = "out of memory while recording an error";
	}
	free(old);
}

void TVMFFIErrorSetRaisedFromCStrParts(const char *kind, const char **parts, int32_t n)
{
	if (!kind)
		kind = "RuntimeError";
	if (!parts || n < 0)
		n = 0;
	size_t klen = strlen(kind), total = klen + 2;
	for (int32_t i = 0; i < n; i++)
		if (parts[i])
			total += strlen(parts[i]);
	char *buf = malloc(total);
	if (buf) {
		memcpy(buf, kind, klen + 1);
		char *p = buf + klen + 1;
		for (int32_t i = 0; i < n; i++)
			if (parts[i]) {
				size_t l = strlen(parts[i]);
				memcpy(p, parts[i], l);
				p += l;
			}
		*p = '\0';
	}
	err_store(buf, klen);
}

void TVMFFIErrorSetRaisedFromCStr(const char *kind, const char *message)
{
	const char *parts[1] = {message};
	TVMFFIErrorSetRaisedFromCStrParts(kind, parts, 1);
}

const char *tirxrt_last_error_kind(void) { return tl_err.kind; }

const char *tirxrt_last_error_message(void) { return tl_err.msg; }

void tirxrt_clear_error(void)
{
	free(tl_err.buf);
	tl_err.buf = NULL;
	tl_err.kind = tl_err.msg = NULL;
}
