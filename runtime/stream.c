/* stream.c: the per-thread current stream of each device (tirxrt.h,
 * "Streams").
 *
 * A thread's table is a small array of (device type, device id, stream)
 * entries, searched linearly (a program uses a few devices); an entry whose
 * stream is set back to NULL is dropped, so the table holds only non-default
 * streams.  The array is freed when the thread exits. */
#include "tirxrt.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
	int32_t type, id;
	void *stream;
} StreamEntry;

typedef struct {
	StreamEntry *v;
	size_t n, cap;
} StreamTable;

static _Thread_local StreamTable tl_streams;
static pthread_key_t stream_key;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;

static void stream_thread_exit(void *unused)
{
	free(tl_streams.v);
	tl_streams.v = NULL;
	tl_streams.n = tl_streams.cap = 0;
}

static void stream_init(void) { (void)pthread_key_create(&stream_key, stream_thread_exit); }

static StreamEntry *stream_find(int32_t type, int32_t id)
{
	for (size_t i = 0; i < tl_streams.n; i++)
		if (tl_streams.v[i].type == type && tl_streams.v[i].id == id)
			return &tl_streams.v[i];
	return NULL;
}

void *TVMFFIEnvGetStream(int32_t device_type, int32_t device_id)
{
	StreamEntry *e = stream_find(device_type, device_id);
	return e ? e->stream : NULL;
}

int TVMFFIEnvSetStream(int32_t device_type, int32_t device_id, void *stream,
                       void **opt_out_original)
{
	StreamEntry *e = stream_find(device_type, device_id);
	if (opt_out_original)
		*opt_out_original = e ? e->stream : NULL;
	if (e) {
		if (stream)
			e->stream = stream;
		else
			*e = tl_streams.v[--tl_streams.n];
		return 0;
	}
	if (!stream)
		return 0;
	if (tl_streams.n == tl_streams.cap) {
		size_t cap = tl_streams.cap ? 2 * tl_streams.cap : 4;
		StreamEntry *v = realloc(tl_streams.v, cap * sizeof *v);
		if (!v) {
			TVMFFIErrorSetRaisedFromCStr("RuntimeError",
			                             "TVMFFIEnvSetStream: out of memory");
			return -1;
		}
		if (!tl_streams.v) {
			(void)pthread_once(&stream_once, stream_init);
			(void)pthread_setspecific(stream_key, &tl_streams);
		}
		tl_streams.v = v;
		tl_streams.cap = cap;
	}
	tl_streams.v[tl_streams.n++] = (StreamEntry){device_type, device_id, stream};
	return 0;
}
