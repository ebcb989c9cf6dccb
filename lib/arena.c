/* arena.c: the one allocation primitive of the IR.  Blocks are chained and
 * released together by ar_free; a request larger than a block gets a block of
 * its own so big strings or arrays waste nothing.  Blocks come zeroed (from
 * calloc or mmap) and memory is never handed out twice without being
 * cleared, so ar_alloc need not clear it.  The current block's free space
 * is Arena.cur to Arena.end, which the inline ar_alloc (tir.h) bumps.
 *
 * Once an arena holds 1 MiB its blocks grow with it (up to 8 MiB): a big
 * module (some 300 MB for a million lines) then takes some 40 blocks,
 * mapped fresh from the system, already zero, instead of thousands
 * of 64 KiB pieces of the C library's heap that calloc clears.  Blocks of
 * 2 MiB and more are mapped on a 2 MiB boundary and marked for transparent
 * huge pages where the system has them: a pass pipeline that grows the
 * module by tens of megabytes then takes one page fault per 2 MiB instead
 * of one per 4 KiB (about a fifth of the passes' time on the 1000-kernel
 * benchmark, docs/performance.md). */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS, madvise */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "tir.h"
#include "parse.h"

#ifdef TIR_ASAN
#include <sanitizer/asan_interface.h>
enum { REDZONE = 16 };
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
enum { REDZONE = 0 };
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

enum { BLOCK = 64 * 1024 };

#define BIG_FROM ((size_t)1 << 20)  /* arena size from which blocks grow */
#define BIG_MAX ((size_t)8 << 20)   /* the largest growing block */

typedef struct Block {
	struct Block *next;
	size_t used, size; /* used: of the current block, only once left */
	size_t mapped;     /* bytes mapped with mmap; 0: from calloc */
	_Alignas(16) unsigned char data[];
} Block;

#define HUGE ((size_t)2 << 20)

struct ArenaPriv {
	Block *head;  /* the current block first */
	Block *spare; /* cleared blocks kept by ar_reset */
	size_t bytes;
	void **memo;  /* ar_memo's table */
};

Arena *ar_new(void)
{
	Arena *a = xcalloc(1, sizeof *a);
	a->priv = xcalloc(1, sizeof *a->priv);
	return a;
}

/* A block of at least HUGE bytes, 2 MiB aligned; NULL if mmap fails. */
static Block *block_map(size_t size)
{
	size_t len = (sizeof(Block) + size + HUGE - 1) & ~(HUGE - 1);
	unsigned char *p = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE,
	                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	unsigned char *base = (unsigned char *)(((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	if (base > p)
		munmap(p, (size_t)(base - p));
	if (base + len < p + len + HUGE)
		munmap(base + len, (size_t)(p + len + HUGE - (base + len)));
#ifdef MADV_HUGEPAGE
	madvise(base, len, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#endif
	Block *b = (Block *)base;
	b->mapped = len;
	b->size = len - sizeof(Block);
	return b;
}

static Block *block_new(size_t size)
{
	Block *b = NULL;
	if (sizeof(Block) + size >= HUGE)
		b = block_map(size);
	if (!b) {
		b = xcalloc(1, sizeof(Block) + size);
		b->size = size;
	}
	POISON(b->data, b->size);
	return b;
}

static void block_free(Block *b)
{
	UNPOISON(b->data, b->size);
	if (b->mapped)
		munmap(b, b->mapped);
	else
		free(b);
}

/* Bytes used in b: the current block's count lives in a->cur. */
static size_t used_of(const Arena *a, const Block *b)
{
	return b == a->priv->head ? (size_t)(a->cur - b->data) : b->used;
}

static void make_current(Arena *a, Block *b)
{
	a->cur = b->data + b->used;
	a->end = b->data + b->size;
}

/* The current block cannot hold n more bytes (n is rounded). */
static void *alloc_block(Arena *a, size_t n)
{
	struct ArenaPriv *pa = a->priv;
	Block *b = pa->head, *nb;
	if (b)
		b->used = used_of(a, b);
	if (pa->spare && pa->spare->size >= n) {
		nb = pa->spare;
		pa->spare = nb->next;
		nb->next = b;
		pa->head = nb;
	} else {
		size_t size = BLOCK;
		if (pa->bytes >= BIG_FROM)
			size = pa->bytes < BIG_MAX ? pa->bytes : BIG_MAX;
		int own = n > BLOCK / 4 && n > size / 4;
		if (own)
			size = n;
		nb = block_new(size);
		pa->bytes += sizeof(Block) + nb->size;
		if (own && b) {
			/* keep filling the current block; the big one goes behind it */
			nb->next = b->next;
			b->next = nb;
			nb->used = n;
			return nb->data;
		}
		nb->next = b;
		pa->head = nb;
	}
	make_current(a, nb);
	void *p = a->cur;
	a->cur += n;
	return p;
}

void *ar_alloc_slow(Arena *a, size_t n)
{
	size_t want = n;
	n = (n + 7 + REDZONE) & ~(size_t)7;
	void *p;
	if ((size_t)(a->end - a->cur) >= n) {
		p = a->cur;
		a->cur += n;
	} else {
		p = alloc_block(a, n);
	}
	UNPOISON(p, want);
	return p;
}

void *ar_dup(Arena *a, const void *p, size_t n)
{
	if (n == 0)
		return NULL;
	return memcpy(ar_alloc(a, n), p, n);
}

size_t ar_bytes(const Arena *a)
{
	return a->priv->bytes;
}

void ar_reset(Arena *a)
{
	struct ArenaPriv *pa = a->priv;
	for (Block *b = pa->head, *next; b; b = next) {
		next = b->next;
		size_t used = used_of(a, b);
		UNPOISON(b->data, used);
		memset(b->data, 0, used);
		POISON(b->data, used);
		b->used = 0;
		b->next = pa->spare;
		pa->spare = b;
	}
	pa->head = NULL;
	pa->memo = NULL;
	a->cur = a->end = NULL;
}

void ar_free(Arena *a)
{
	if (!a)
		return;
	for (int i = 0; i < 2; i++) {
		for (Block *b = i ? a->priv->spare : a->priv->head, *next; b; b = next) {
			next = b->next;
			block_free(b);
		}
	}
	free(a->priv);
	free(a);
}

void **ar_memo(Arena *a)
{
	if (!a->priv->memo)
		a->priv->memo = ar_alloc(a, AR_MEMO * sizeof *a->priv->memo);
	return a->priv->memo;
}
