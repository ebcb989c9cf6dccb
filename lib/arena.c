/* arena.c: the one allocation primitive of the IR.  Blocks are chained and
 * released together by ar_free; a request larger than a block gets a block of
 * its own so big strings or arrays waste nothing.  Blocks come zeroed from
 * calloc and memory is never handed out twice, so ar_alloc need not clear
 * it (calloc of a fresh mapping costs no extra pass over the memory). */
#include <stdlib.h>
#include <string.h>
#include "tir.h"

enum { BLOCK = 64 * 1024 };

typedef struct Block {
	struct Block *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
} Block;

struct Arena {
	Block *head;
	size_t bytes;
};

Arena *ar_new(void)
{
	return xcalloc(1, sizeof(Arena));
}

void *ar_alloc(Arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	Block *b = a->head;
	if (!b || b->size - b->used < n) {
		size_t size = n > BLOCK / 4 ? n : BLOCK;
		Block *nb = xcalloc(1, sizeof(Block) + size);
		nb->size = size;
		if (size == n && b) {
			/* keep filling the current block; the big one goes behind it */
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		a->bytes += sizeof(Block) + size;
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += n;
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

void ar_free(Arena *a)
{
	if (!a)
		return;
	for (Block *b = a->head, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}
