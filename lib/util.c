/* util.c: checked allocation, internal errors, growable vectors and buffers.
 * Running out of memory or hitting a broken invariant is an internal error:
 * the process says so and exits 70, so callers never test for NULL. */
#include <stdlib.h>
#include <string.h>
#include "tir.h"

TIR_NORETURN void die(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("tirxc: internal error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(70);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

void vec_push(Vec *v, void *p)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 8;
		v->v = xrealloc(v->v, (size_t)v->cap * sizeof *v->v);
	}
	v->v[v->n++] = p;
}

void vec_free(Vec *v)
{
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

static void buf_grow(Buf *b, size_t extra)
{
	if (b->n + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + extra + 1)
		cap *= 2;
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void buf_put(Buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
}

void buf_puts(Buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void buf_putc(Buf *b, int c)
{
	buf_grow(b, 1);
	b->s[b->n++] = (char)c;
	b->s[b->n] = 0;
}

void buf_vprintf(Buf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	if (n < 0)
		die("buf_printf: bad format");
	if ((size_t)n < sizeof small) {
		buf_put(b, small, (size_t)n);
	} else {
		buf_grow(b, (size_t)n);
		vsnprintf(b->s + b->n, (size_t)n + 1, fmt, again);
		b->n += (size_t)n;
	}
	va_end(again);
}

void buf_printf(Buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_free(Buf *b)
{
	free(b->s);
	b->s = NULL;
	b->n = b->cap = 0;
}

static size_t pmap_hash(const void *k)
{
	return (size_t)(((uint64_t)(uintptr_t)k >> 4) * 0x9E3779B97F4A7C15ull >> 17);
}

void *pmap_get(const PtrMap *m, const void *k)
{
	if (!m->cap)
		return NULL;
	size_t mask = (size_t)m->cap - 1;
	for (size_t i = pmap_hash(k) & mask;; i = (i + 1) & mask) {
		if (!m->keys[i])
			return NULL;
		if (m->keys[i] == k)
			return m->vals[i];
	}
}

void **pmap_ref(PtrMap *m, const void *k)
{
	if (2 * (m->n + 1) > m->cap) {
		PtrMap old = *m;
		m->cap = old.cap ? 2 * old.cap : 64;
		m->keys = xcalloc((size_t)m->cap, sizeof *m->keys);
		m->vals = xcalloc((size_t)m->cap, sizeof *m->vals);
		m->n = 0;
		for (int i = 0; i < old.cap; i++)
			if (old.keys[i])
				pmap_put(m, old.keys[i], old.vals[i]);
		free(old.keys);
		free(old.vals);
	}
	size_t mask = (size_t)m->cap - 1, i = pmap_hash(k) & mask;
	while (m->keys[i] && m->keys[i] != k)
		i = (i + 1) & mask;
	if (!m->keys[i]) {
		m->keys[i] = k;
		m->n++;
	}
	return &m->vals[i];
}

void pmap_put(PtrMap *m, const void *k, void *v)
{
	*pmap_ref(m, k) = v;
}

void pmap_clear(PtrMap *m)
{
	if (m->cap) {
		memset(m->keys, 0, (size_t)m->cap * sizeof *m->keys);
		memset(m->vals, 0, (size_t)m->cap * sizeof *m->vals);
	}
	m->n = 0;
}

void pmap_free(PtrMap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}
