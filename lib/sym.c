/* sym.c: interned strings.  A Sym lives until sym_free_all; equal strings
 * give the same pointer, so IR code compares names with ==.  Syms may hold
 * NUL bytes (string literals), so the length is part of the key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"

typedef struct Ent {
	struct Ent *next;
	size_t len;
	uint32_t hash;
	char s[];
} Ent;

static Ent **tab;
static size_t cap, count;

/* Eight bytes at a time: every name the lexer reads is hashed here. */
static uint32_t hash(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	if (n) {
		/* in registers: a byte copy to memory and a word load back would
		 * stall on store forwarding */
		uint64_t w = 0;
		for (size_t i = 0; i < n; i++)
			w |= (uint64_t)(unsigned char)s[i] << (8 * i);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
	}
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(h >> 32);
}

static void grow(void)
{
	size_t ncap = cap ? cap * 2 : 1024;
	Ent **nt = xcalloc(ncap, sizeof *nt);
	for (size_t i = 0; i < cap; i++) {
		for (Ent *e = tab[i], *next; e; e = next) {
			next = e->next;
			e->next = nt[e->hash & (ncap - 1)];
			nt[e->hash & (ncap - 1)] = e;
		}
	}
	free(tab);
	tab = nt;
	cap = ncap;
}

Sym symn(const char *s, size_t n)
{
	if (count >= cap / 2)
		grow();
	uint32_t h = hash(s, n);
	Ent **slot = &tab[h & (cap - 1)];
	for (Ent *e = *slot; e; e = e->next)
		if (e->hash == h && e->len == n && memcmp(e->s, s, n) == 0)
			return e->s;
	Ent *e = xmalloc(sizeof(Ent) + n + 1);
	e->len = n;
	e->hash = h;
	memcpy(e->s, s, n);
	e->s[n] = 0;
	e->next = *slot;
	*slot = e;
	count++;
	return e->s;
}

/* Passes intern the same literal keys ("thread_extent", "global_symbol")
 * hundreds of thousands of times: a small cache keyed by the string's
 * address answers those without hashing.  The text is compared too, so a
 * buffer reused with other contents at the same address is safe. */
enum { LITCACHE = 512 };
static struct {
	const char *p;
	Sym s;
} lit[LITCACHE];

Sym sym(const char *s)
{
	size_t h = ((uintptr_t)s >> 3 ^ (uintptr_t)s >> 12) & (LITCACHE - 1);
	if (lit[h].p == s && strcmp(lit[h].s, s) == 0)
		return lit[h].s;
	Sym r = symn(s, strlen(s));
	lit[h].p = s;
	lit[h].s = r;
	return r;
}

size_t sym_len(Sym s)
{
	return ((const Ent *)(s - offsetof(Ent, s)))->len;
}

void sym_free_all(void)
{
	for (size_t i = 0; i < cap; i++) {
		for (Ent *e = tab[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(tab);
	tab = NULL;
	cap = count = 0;
	memset(lit, 0, sizeof lit);
}

Sym sym_fresh(PtrMap *taken, const char *name)
{
	size_t n = strlen(name);
	if (!n)
		name = "v", n = 1;
	char *s = xmalloc(n + 24);
	memcpy(s, name, n + 1);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.')
			s[i] = '_';
	Sym key = sym(s);
	intptr_t k = (intptr_t)pmap_get(taken, key);
	Sym r = key;
	if (k) {
		intptr_t suffix = k - 1;
		do {
			snprintf(s + n, 24, "_%ld", (long)++suffix);
			r = sym(s);
		} while (pmap_get(taken, r));
		pmap_put(taken, key, (void *)(suffix + 1));
	}
	pmap_put(taken, r, (void *)1);
	free(s);
	return r;
}
