/* arena.c: the one allocation primitive of the IR.  Blocks are chained and
 * released together by ar_free; a request larger than a block gets a block of
 * its own so big strings or arrays waste nothing.  Blocks come zeroed from
 * calloc and memory is never handed out twice without being cleared, so
 * ar_alloc need not clear it.
 *
 * Once an arena holds 1 MiB its blocks grow with it (up to 8 MiB): a big
 * module (over half a gigabyte for a million lines) then takes some 70
 * blocks, which the C library maps fresh from the system, already zero,
 * instead of thousands of 64 KiB pieces of its heap that calloc clears. */
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "parse.h"

/* Under AddressSanitizer every allocation is followed by a poisoned red
 * zone and free block space stays poisoned, so reading past a node (an
 * Expr copied with the size of a larger kind, say) is reported. */
#if defined(__SANITIZE_ADDRESS__)
#define AR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AR_ASAN 1
#endif
#endif
#ifdef AR_ASAN
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
	size_t used, size;
	_Alignas(16) unsigned char data[];
} Block;

struct Arena {
	Block *head;
	Block *spare; /* cleared blocks kept by ar_reset */
	size_t bytes;
	void **memo;  /* ar_memo's table */
};

Arena *ar_new(void)
{
	return xcalloc(1, sizeof(Arena));
}

static Block *block_new(size_t size)
{
	Block *b = xcalloc(1, sizeof(Block) + size);
	b->size = size;
	POISON(b->data, size);
	return b;
}

/* The current block cannot hold n more bytes. */
static void *alloc_slow(Arena *a, size_t n)
{
	Block *b = a->head, *nb;
	if (a->spare && a->spare->size >= n) {
		nb = a->spare;
		a->spare = nb->next;
		nb->next = b;
		a->head = nb;
	} else {
		size_t size = BLOCK;
		if (a->bytes >= BIG_FROM)
			size = a->bytes < BIG_MAX ? a->bytes : BIG_MAX;
		int own = n > BLOCK / 4 && n > size / 4;
		if (own)
			size = n;
		nb = block_new(size);
		if (own && b) {
			/* keep filling the current block; the big one goes behind it */
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		a->bytes += sizeof(Block) + nb->size;
	}
	void *p = nb->data + nb->used;
	nb->used += n;
	return p;
}

void *ar_alloc(Arena *a, size_t n)
{
	size_t want = n;
	/* pointer alignment: nodes are 8-byte aligned structs */
	n = (n + 7 + REDZONE) & ~(size_t)7;
	Block *b = a->head;
	void *p;
	if (!b || b->size - b->used < n) {
		p = alloc_slow(a, n);
	} else {
		p = b->data + b->used;
		b->used += n;
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
	return a->bytes;
}

void ar_reset(Arena *a)
{
	for (Block *b = a->head, *next; b; b = next) {
		next = b->next;
		UNPOISON(b->data, b->used);
		memset(b->data, 0, b->used);
		POISON(b->data, b->used);
		b->used = 0;
		b->next = a->spare;
		a->spare = b;
	}
	a->head = NULL;
	a->memo = NULL;
}

void ar_free(Arena *a)
{
	if (!a)
		return;
	for (int i = 0; i < 2; i++) {
		for (Block *b = i ? a->spare : a->head, *next; b; b = next) {
			next = b->next;
			UNPOISON(b->data, b->size);
			free(b);
		}
	}
	free(a);
}

void **ar_memo(Arena *a)
{
	if (!a->memo)
		a->memo = ar_alloc(a, AR_MEMO * sizeof *a->memo);
	return a->memo;
}
