/* target.c: compilation targets.  A target is an OB_TARGET whose dict is
 * TVM's Target::ToConfig(): "kind", "keys", "tag", the kind's attributes
 * ("arch", "max_num_threads", ...) and an optional "host" (a plain dict).
 * Passes read only kind, keys, arch and host; other keys ride along. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"

/* The attributes each kind has by default, in key order.  An attribute is
 * a list of one or two strings (l), the kind's own name (k), a string (s)
 * or an int (i). */
typedef struct Attr {
	const char *key;
	char type;
	const char *s1, *s2;
	int64_t i;
} Attr;

static const struct {
	const char *kind;
	Attr attrs[5];
	int n;
} kinds[] = {
	{"cuda", {{"keys", 'l', "cuda", "gpu", 0}, {"kind", 'k', NULL, NULL, 0},
	          {"max_num_threads", 'i', NULL, NULL, 1024}, {"tag", 's', "", NULL, 0},
	          {"thread_warp_size", 'i', NULL, NULL, 32}}, 5},
	{"llvm", {{"keys", 'l', "cpu", NULL, 0}, {"kind", 'k', NULL, NULL, 0}, {"tag", 's', "", NULL, 0}}, 3},
	{"c", {{"keys", 'l', "cpu", NULL, 0}, {"kind", 'k', NULL, NULL, 0}, {"tag", 's', "", NULL, 0}}, 3},
};

static int kind_index(const char *kind)
{
	for (int k = 0; k < (int)(sizeof kinds / sizeof kinds[0]); k++)
		if (!strcmp(kind, kinds[k].kind))
			return k;
	return -1;
}

static Obj *attr_value(Arena *a, int k, const Attr *at)
{
	switch (at->type) {
	case 'l': {
		Obj *l = obj_new(a, OB_LIST);
		l->list.items = ar_alloc(a, 2 * sizeof(Obj *));
		l->list.items[l->list.n++] = obj_str(a, sym(at->s1));
		if (at->s2)
			l->list.items[l->list.n++] = obj_str(a, sym(at->s2));
		return l;
	}
	case 'k':
		return obj_str(a, sym(kinds[k].kind));
	case 's':
		return obj_str(a, sym(at->s1));
	default:
		return obj_int(a, at->i);
	}
}

/* The attributes a kind has by default; NULL for an unknown kind. */
static Obj *kind_defaults(Arena *a, const char *kind)
{
	int k = kind_index(kind);
	if (k < 0)
		return NULL;
	int n = kinds[k].n;
	Obj *d = obj_new(a, OB_DICT);
	d->dict.keys = ar_alloc(a, (size_t)(n + 1) * sizeof(Obj *));
	d->dict.vals = ar_alloc(a, (size_t)(n + 1) * sizeof(Obj *));
	for (int i = 0; i < n; i++) {
		d->dict.keys[i] = obj_str(a, sym(kinds[k].attrs[i].key));
		d->dict.vals[i] = attr_value(a, k, &kinds[k].attrs[i]);
	}
	d->dict.n = n;
	return d;
}

/* Has d a string key equal to key?  (By text: no interning, this runs for
 * every target the parser reads.) */
static int has_key(const Obj *d, const char *key)
{
	for (int i = 0; i < d->dict.n; i++)
		if (!strcmp(d->dict.keys[i]->s, key))
			return 1;
	return 0;
}

/* The CUDA tags, expanded as TVM 0.27 exports them: the tag's attributes
 * are added and "tag" itself stays "" (l2 0: no l2_cache_size_bytes). */
static const struct {
	const char *tag, *arch;
	int64_t l2;
} tags[] = {
	{"nvidia/nvidia-a100", "sm_80", 41943040},
	{"nvidia/nvidia-h100", "sm_90a", 52428800},
	{"nvidia/geforce-rtx-4090", "sm_89", 75497472},
	{"nvidia/nvidia-t4", "sm_75", 0},
};

/* An error message that quotes the offending text, kept in the arena (the
 * parser reports it at the target's location, the driver after the
 * option). */
static const char *errmsg(Arena *a, const char *what, const char *text, const char *after)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf, "%s '%.120s'%s", what, text, after);
	if (n < 0)
		return what;
	if ((size_t)n >= sizeof buf)
		n = (int)sizeof buf - 1;
	return ar_dup(a, buf, (size_t)n + 1);
}

static int key_cmp(const void *x, const void *y)
{
	const Obj *const *a = x, *const *b = y;
	return strcmp(a[0]->s, b[0]->s);
}

/* d with its keys in sorted order (the printed order); d itself when they
 * already are. */
static Obj *sorted(Arena *a, const Obj *d)
{
	int n = d->dict.n, in_order = 1;
	for (int i = 1; i < n && in_order; i++)
		in_order = strcmp(d->dict.keys[i - 1]->s, d->dict.keys[i]->s) < 0;
	if (in_order)
		return (Obj *)d;
	/* sort (key, value) pairs together */
	Obj **pairs = xmalloc((size_t)(2 * n) * sizeof *pairs);
	for (int i = 0; i < n; i++)
		pairs[2 * i] = d->dict.keys[i], pairs[2 * i + 1] = d->dict.vals[i];
	qsort(pairs, (size_t)n, 2 * sizeof *pairs, key_cmp);
	Obj *r = obj_new(a, OB_DICT);
	r->dict.keys = ar_alloc(a, (size_t)(n + 1) * sizeof(Obj *));
	r->dict.vals = ar_alloc(a, (size_t)(n + 1) * sizeof(Obj *));
	for (int i = 0; i < n; i++)
		r->dict.keys[i] = pairs[2 * i], r->dict.vals[i] = pairs[2 * i + 1];
	r->dict.n = n;
	free(pairs);
	return r;
}

Obj *target_complete(Arena *a, const Obj *dict, const char **err)
{
	for (int i = 0; i < dict->dict.n; i++) {
		if (dict->dict.keys[i]->kind != OB_STR) {
			*err = "target dict keys must be strings";
			return NULL;
		}
	}
	Obj *kind = obj_dict_get(dict, "kind");
	if (!kind || kind->kind != OB_STR) {
		*err = "a target dict needs a \"kind\"";
		return NULL;
	}
	int k = kind_index(kind->s);
	if (k < 0) {
		*err = errmsg(a, "unknown target kind", kind->s, "");
		return NULL;
	}
	Obj *d = (Obj *)dict;
	for (int i = 0; i < kinds[k].n; i++)
		if (!has_key(d, kinds[k].attrs[i].key))
			d = obj_dict_set(a, d, kinds[k].attrs[i].key, attr_value(a, k, &kinds[k].attrs[i]));
	Obj *h = obj_dict_get(d, "host");
	if (h && h->kind == OB_TARGET)
		d = obj_dict_set(a, d, "host", h->target);
	else if (h && h->kind == OB_DICT) {
		Obj *hc = target_complete(a, h, err);
		if (!hc)
			return NULL;
		if (hc != h)
			d = obj_dict_set(a, d, "host", hc);
	}
	return sorted(a, d);
}

Obj *target_parse(Arena *a, const char *spec, const char **err)
{
	size_t len = strlen(spec);
	char *buf = xmalloc(len + 1), *save = NULL;
	memcpy(buf, spec, len + 1);
	Obj *d = NULL, *r = NULL;
	char *w = strtok_r(buf, " ", &save);
	if (!w) {
		*err = "empty target string";
		goto out;
	}
	for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
		if (!strcmp(w, tags[i].tag)) {
			d = kind_defaults(a, "cuda");
			d = obj_dict_set(a, d, "arch", obj_str(a, sym(tags[i].arch)));
			if (tags[i].l2)
				d = obj_dict_set(a, d, "l2_cache_size_bytes", obj_int(a, tags[i].l2));
			d = obj_dict_set(a, d, "max_shared_memory_per_block", obj_int(a, 49152));
			d = obj_dict_set(a, d, "max_threads_per_block", obj_int(a, 1024));
			d = obj_dict_set(a, d, "registers_per_block", obj_int(a, 65536));
		}
	}
	if (!d)
		d = kind_defaults(a, w);
	if (!d) {
		*err = errmsg(a, "unknown target kind or tag", w, "");
		goto out;
	}
	while ((w = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(w, '=');
		if (w[0] != '-' || !eq || eq == w + 1) {
			*err = errmsg(a, "malformed target option", w, " (expected -key=value)");
			goto out;
		}
		*eq = 0;
		const char *key = w + (w[1] == '-' ? 2 : 1);
		char *end;
		long long v = strtoll(eq + 1, &end, 10);
		Obj *val = eq[1] && !*end ? obj_int(a, v) : obj_str(a, sym(eq + 1));
		d = obj_dict_set(a, d, key, val);
	}
	r = obj_new(a, OB_TARGET);
	r->target = sorted(a, d);
out:
	free(buf);
	return r;
}

/* The config dict of t (an OB_TARGET or already a dict). */
static const Obj *config(const Obj *t)
{
	if (t && t->kind == OB_TARGET)
		return t->target;
	return t && t->kind == OB_DICT ? t : NULL;
}

static Sym str_attr(const Obj *t, const char *key)
{
	Obj *v = obj_dict_get(config(t), key);
	return v && v->kind == OB_STR ? v->s : NULL;
}

Sym target_kind(const Obj *t)
{
	return str_attr(t, "kind");
}

Obj *func_target(const Func *f)
{
	Obj *t = obj_dict_get(f->attrs, "target");
	return t && t->kind == OB_TARGET ? t : NULL;
}

Obj *target_host(Arena *a, const Obj *t)
{
	Obj *h = obj_dict_get(config(t), "host");
	if (!h)
		return NULL;
	if (h->kind == OB_TARGET)
		return h;
	Obj *r = obj_new(a, OB_TARGET);
	r->target = h;
	return r;
}

Obj *target_without_host(Arena *a, const Obj *t)
{
	Obj *r = obj_new(a, OB_TARGET);
	r->target = obj_dict_get(config(t), "host") ? obj_dict_del(a, config(t), "host") : (Obj *)config(t);
	return r;
}

Obj *target_with_host(Arena *a, const Obj *t, const Obj *host)
{
	Obj *r = obj_new(a, OB_TARGET);
	r->target = sorted(a, obj_dict_set(a, config(t), "host", (Obj *)config(host)));
	return r;
}

int target_is_cpu(const Obj *t)
{
	Obj *keys = obj_dict_get(config(t), "keys");
	if (keys && keys->kind == OB_LIST)
		for (int i = 0; i < keys->list.n; i++)
			if (keys->list.items[i]->kind == OB_STR && !strcmp(keys->list.items[i]->s, "cpu"))
				return 1;
	Sym k = target_kind(t);
	return k && (!strcmp(k, "llvm") || !strcmp(k, "c"));
}

int target_sm(const Obj *t)
{
	Sym arch = str_attr(t, "arch");
	if (!arch || strncmp(arch, "sm_", 3) != 0)
		return 0;
	return atoi(arch + 3);
}

int obj_eq(const Obj *x, const Obj *y)
{
	if (x == y)
		return 1;
	if (!x || !y || x->kind != y->kind)
		return 0;
	switch (x->kind) {
	case OB_NONE:
		return 1;
	case OB_BOOL:
	case OB_INT:
		return x->i == y->i;
	case OB_FLOAT:
		return x->f == y->f;
	case OB_STR:
		return x->s == y->s;
	case OB_TARGET:
		return obj_eq(x->target, y->target);
	case OB_LIST:
		if (x->list.n != y->list.n)
			return 0;
		for (int i = 0; i < x->list.n; i++)
			if (!obj_eq(x->list.items[i], y->list.items[i]))
				return 0;
		return 1;
	case OB_DICT:
		if (x->dict.n != y->dict.n)
			return 0;
		for (int i = 0; i < x->dict.n; i++) {
			const Obj *k = x->dict.keys[i];
			if (k->kind != OB_STR || !obj_eq(x->dict.vals[i], obj_dict_get(y, k->s)))
				return 0;
		}
		return 1;
	case OB_EXPR:
		return x->expr == y->expr;
	case OB_BUFFER:
		return x->buf == y->buf;
	default:
		return 0;
	}
}
