/* split_host_device.c: SplitHostDevice, the outlining stage of the host/device
 * split (TVM's tirx.SplitHostDevice at ec3171ab7a), plus the two helpers the
 * other split-related passes share: fresh function names and RenewDefs.
 *
 * IR expected: device regions marked by `T.attr(<Target>, "target", 0)`
 *   (AnnotateDeviceRegions, or written by hand); a function needs no target
 *   attribute of its own for this stage.
 * IR left: each marked region is a private function `<symbol>_kernel`
 *   (`_1`, `_2`, ... when taken) whose params are the region's free vars and
 *   the data pointers of the buffers it uses, and the host calls it:
 *   `Module.main_kernel(args)`, or for CPU-like device targets
 *   `kernel_error_code = Module.main_kernel(args)` + an assert, the kernel
 *   then returning 0.
 * Runs after: AnnotateDeviceRegions, MergeSharedMemoryAllocations (the
 *   merged shared.dyn allocation must already sit inside the region).
 *   LowerDeviceKernelLaunch runs next.
 *
 * Deviations from TVM, on purpose:
 * - Params are sorted with a stable sort: handles first, then by name, ties
 *   in first-use order (TVM's std::sort leaves ties unspecified).
 * - The vars of a captured buffer's shape, strides and offset become params
 *   even when nothing else in the region uses them; TVM leaves them free.
 * - No var or buffer node is in two functions afterwards, as after TVM's
 *   ConvertSSA, and like it the pass renews only what would be shared; the
 *   side that gets the new node may differ.  Here the kernel's params (the
 *   region's free vars, the captured buffers and their data pointers) are
 *   always new nodes, the host keeping its own; a var or buffer the region
 *   defines (binds, lets, loops, thread vars, allocations, declared
 *   buffers, reducer vars) keeps its node unless the host has it outside
 *   its regions or an earlier kernel of the run kept it (two sibling
 *   regions sharing a subtree), and then the kernel gets a copy.
 * - The launch-bounds attrs of HEAD move to kernel attrs in both forms, and
 *   the kernel inherits the host's `tirx.kernel_launch_params` (HEAD) so
 *   flag-only launch tags reach LowerDeviceKernelLaunch. */
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

/* ------------------------------------------------------ shared helpers */

Sym fresh_func_name(const Module *m, PtrMap *counters, const char *base)
{
	/* The first request enters the module's names (as taken), so a name
	 * is taken exactly when it is a key: names made here are keys, and the
	 * caller adds them to the module before the next request, which adds
	 * no other names.  One look-up per candidate, not a scan of the
	 * module's functions. */
	if (!counters->n)
		for (int i = 0; i < m->nfuncs; i++)
			if (!pmap_get(counters, m->funcs[i]->name))
				pmap_put(counters, m->funcs[i]->name, (void *)1);
	return sym_fresh(counters, base);
}

static Var *renew_var(Mutator *mu, Var *v)
{
	PtrMap *map = mu->data;
	Var *nv = pmap_get(map, v);
	if (!nv) {
		nv = var_new(mu->a, v->name, v->ty);
		pmap_put(map, v, nv);
	}
	return nv;
}

static Expr **renew_exprs(Mutator *mu, Expr **xs, int n)
{
	if (!n)
		return xs;
	Expr **r = ar_alloc(mu->a, (size_t)n * sizeof *r);
	for (int i = 0; i < n; i++)
		r[i] = mut_expr(mu, xs[i]);
	return r;
}

static Buffer *renew_buffer(Mutator *mu, Buffer *b)
{
	PtrMap *map = mu->data;
	Buffer *nb = pmap_get(map, b);
	if (nb)
		return nb;
	nb = buf_new(mu->a, b->name, b->dt, NULL, 0);
	uint32_t id = nb->id;
	*nb = *b;
	nb->id = id;
	pmap_put(map, b, nb);
	nb->shape = renew_exprs(mu, b->shape, b->ndim);
	nb->strides = renew_exprs(mu, b->strides, b->nstrides);
	nb->elem_offset = mut_expr(mu, b->elem_offset);
	return nb;
}

void renew_init(Mutator *mu, Arena *a, PtrMap *map)
{
	memset(mu, 0, sizeof *mu);
	mu->a = a;
	mu->var = renew_var;
	mu->buffer = renew_buffer;
	mu->data = map;
}

/* ------------------------------------------------------------- regions */

/* The outlining of a region is one walk over it that rewrites it for the
 * kernel, finds its free vars and buffers (what it uses before defining:
 * the kernel's params, TVM's VarUseDefAnalyzer) with the position of their
 * first use, and takes the launch-bounds attrs out.
 *
 * The rewrite renews the free vars and buffers (the host keeps the
 * originals) and the defined ones that are claimed: those the function
 * has outside its regions (its host part, walked at its first region; the
 * host parts of earlier functions stay claimed) and those an earlier
 * kernel kept.  Every other defined node stays and becomes claimed.  So a
 * kernel shares no node with its host or another kernel, nor with other
 * functions when the input's functions share none.  Nodes are copied on
 * write: a statement or expression whose vars and buffers all stay is
 * shared with the region, which the host drops.  Renewing everything
 * instead (as this pass once did) copies every kernel: a compact copy,
 * which the passes after this one read with fewer cache misses, but more
 * than twice the bytes written here.
 *
 * The walk visits in VarUseDefAnalyzer's order, which positions follow: a
 * store visits its buffer, then the value, then the indices; a buffer's
 * shape counts as used where the buffer is first seen; a buffer allocated
 * or declared is defined from its statement on (free_vars in lib/walk.c
 * decides the same way, visiting a store's indices before its value: the
 * two differ only for a let var used out of its scope, which the verifier
 * rejects). */

static const char *const bound_keys[3] = {
	"tirx.launch_bounds_min_blocks_per_sm",
	"tirx.launch_bounds_max_blocks_per_cluster",
	"tirx.max_registers",
};

/* What the walk knows of a host var or buffer of the region. */
typedef struct Seen {
	const void *key; /* the host var or buffer */
	void *fresh;     /* its kernel copy; NULL for a buffer being defined */
	intptr_t pos;    /* free ones: 1 + position of the first use */
} Seen;

/* The state of the pass; the maps and arrays are reused region to region. */
typedef struct Split {
	Module *m;
	Arena *a;
	Func *host;
	Sym kernel_name; /* the base: "<symbol>_kernel" */
	PtrMap names;    /* fresh_func_name's counters */
	int head;
	int err;
	/* the current region */
	Seen *seen;     /* what the walk met, in order */
	int nseen, capseen;
	int *tab;       /* hash table: 1 + index in seen, 0 empty */
	int captab;     /* a power of 2, over twice nseen */
	intptr_t npos;
	Vec vars, bufs; /* the free ones, host nodes, in order of first use */
	/* the vars and buffers a region may not keep: those the functions
	 * mention outside their regions (each function's host part is added
	 * at its first region), and those kept by the kernels made so far */
	uint64_t *claimed; /* a bitmap over node ids (Var.id, Buffer.id) */
	size_t nclaimed;   /* its words */
	int host_walked;   /* the current function's host part is in claimed */
	Sym bkey[3];    /* bound_keys, interned */
	int64_t bval[3];
	int bhas[3];
	int berr;       /* a bound was wrong */
	/* interned once */
	Sym target_key, host_key, tmem, cuda, error_code, runtime_error, error_msg;
	Obj *akey[8]; /* attr_keys, as OB_STR objects (shared by the kernels) */
	Obj *yes;     /* True */
} Split;

static size_t seen_hash(const void *k)
{
	return (size_t)(((uint64_t)(uintptr_t)k >> 4) * 0x9E3779B97F4A7C15ull >> 20);
}

/* Puts entry j (0-based) into the table, which has room. */
static void seen_place(Split *sp, int j)
{
	size_t mask = (size_t)sp->captab - 1, i = seen_hash(sp->seen[j].key) & mask;
	while (sp->tab[i])
		i = (i + 1) & mask;
	sp->tab[i] = j + 1;
}

/* A new (zeroed) entry for k, which has none. */
static Seen *seen_add(Split *sp, const void *k)
{
	if (sp->nseen == sp->capseen) {
		sp->capseen *= 2;
		sp->seen = xrealloc(sp->seen, (size_t)sp->capseen * sizeof *sp->seen);
	}
	int j = sp->nseen++;
	sp->seen[j] = (Seen){k, NULL, 0};
	if (2 * sp->nseen > sp->captab) {
		sp->captab *= 2;
		free(sp->tab);
		sp->tab = xcalloc((size_t)sp->captab, sizeof *sp->tab);
		for (int i = 0; i < sp->nseen; i++)
			seen_place(sp, i);
	} else {
		seen_place(sp, j);
	}
	return &sp->seen[j];
}

/* k's entry, made when new.  Valid until the next call.  Most calls find
 * the entry: that path is inline. */
static inline Seen *seen_of(Split *sp, const void *k, int *isnew)
{
	size_t mask = (size_t)sp->captab - 1;
	for (size_t i = seen_hash(k) & mask;; i = (i + 1) & mask) {
		int j = sp->tab[i];
		if (!j)
			break;
		if (sp->seen[j - 1].key == k) {
			*isnew = 0;
			return &sp->seen[j - 1];
		}
	}
	*isnew = 1;
	return seen_add(sp, k);
}

/* The entry of k, seen in this region. */
static Seen *seen_find(Split *sp, const void *k)
{
	int isnew;
	return seen_of(sp, k, &isnew);
}

/* Claimed nodes are kept by id, in a bitmap: ids are small and nodes made
 * together have close ids, so the bits a function touches are few cache
 * lines (a hash set of pointers spreads them over the whole table).  A
 * node with a copied id (ids are meant to be unique) would only be renewed
 * without need: the output stays the same. */

/* Whether the node with this id is claimed. */
static int claimed(const Split *sp, uint32_t id)
{
	size_t w = id / 64;
	return w < sp->nclaimed && (sp->claimed[w] >> (id % 64) & 1);
}

/* Claims the node with this id: 1 when it was claimed already. */
static int claim(Split *sp, uint32_t id)
{
	size_t w = id / 64;
	if (w >= sp->nclaimed) {
		size_t n = sp->nclaimed ? 2 * sp->nclaimed : 1024;
		while (n <= w)
			n *= 2;
		sp->claimed = xrealloc(sp->claimed, n * sizeof *sp->claimed);
		memset(sp->claimed + sp->nclaimed, 0, (n - sp->nclaimed) * sizeof *sp->claimed);
		sp->nclaimed = n;
	}
	uint64_t bit = (uint64_t)1 << (id % 64);
	int was = (sp->claimed[w] & bit) != 0;
	sp->claimed[w] |= bit;
	return was;
}

/* Empties the table for the next region. */
static void seen_reset(Split *sp)
{
	if (!sp->tab) {
		sp->captab = 128;
		sp->tab = xcalloc((size_t)sp->captab, sizeof *sp->tab);
		sp->capseen = 64;
		sp->seen = xmalloc((size_t)sp->capseen * sizeof *sp->seen);
	} else if (sp->captab > 4096) {
		free(sp->tab);
		sp->captab = 128;
		sp->tab = xcalloc((size_t)sp->captab, sizeof *sp->tab);
	} else if (sp->nseen) {
		memset(sp->tab, 0, (size_t)sp->captab * sizeof *sp->tab);
	}
	sp->nseen = 0;
}

/* A fresh copy of the var v, with its use node made (the Mutator's use of
 * a renewed var is that node). */
static Var *copy_var(Split *sp, Var *v)
{
	Var *nv = var_new(sp->a, v->name, v->ty);
	ex_var(sp->a, nv);
	return nv;
}

/* A definition of v: v itself, unless another function or an earlier
 * kernel has it (claimed), then a copy (v is not free when this comes
 * first; when it was used before, it is the free var's copy). */
static Var *rn_def(Split *sp, Var *v)
{
	int isnew;
	Seen *e = seen_of(sp, v, &isnew);
	if (isnew) {
		e->fresh = v;
		if (claim(sp, v->id))
			e->fresh = copy_var(sp, v); /* e is valid: the table is as it was */
	}
	return e->fresh;
}

/* A use of v: its copy; free when not seen before. */
static Var *rn_use(Split *sp, Var *v)
{
	int isnew;
	Seen *e = seen_of(sp, v, &isnew);
	if (isnew) {
		e->fresh = copy_var(sp, v);
		e->pos = ++sp->npos;
		vec_push(&sp->vars, v);
	}
	return e->fresh;
}

/* b is allocated or declared here: defined, unless seen before. */
static void rn_define_buffer(Split *sp, Buffer *b)
{
	int isnew;
	seen_of(sp, b, &isnew);
}

/* A new buffer like b (its own id), with the given shape, strides and
 * offset. */
static Buffer *copy_buffer(Split *sp, const Buffer *b, Expr **shape, Expr **strides, Expr *off)
{
	Buffer *nb = buf_new(sp->a, b->name, b->dt, NULL, 0);
	uint32_t id = nb->id;
	*nb = *b;
	nb->id = id;
	nb->shape = shape;
	nb->strides = strides;
	nb->elem_offset = off;
	return nb;
}

/* A reference to b: b in the kernel, decided at the first reference (then
 * its shape is used).  Free (neither seen nor defined before): a copy, as
 * the host keeps b.  Defined here: b itself when no other function or
 * earlier kernel has it (claimed) and its shape, strides and offset stay;
 * else a copy. */
static Buffer *rn_buffer(Mutator *mu, Buffer *b)
{
	Split *sp = mu->data;
	int isnew;
	Seen *e = seen_of(sp, b, &isnew);
	if (e->fresh)
		return e->fresh;
	if (isnew) {
		e->pos = ++sp->npos;
		vec_push(&sp->bufs, b);
	}
	int keep = !isnew && !claimed(sp, b->id);
	Buffer *nb = keep ? b : copy_buffer(sp, b, b->shape, b->strides, b->elem_offset);
	e->fresh = nb; /* before the shape: e is not valid after the calls below */
	Expr **shape = mut_exprs(mu, b->shape, b->ndim);
	Expr **strides = mut_exprs(mu, b->strides, b->nstrides);
	Expr *off = mut_expr(mu, b->elem_offset);
	if (!keep) {
		nb->shape = shape, nb->strides = strides, nb->elem_offset = off;
	} else if (shape == b->shape && strides == b->strides && off == b->elem_offset) {
		claim(sp, b->id);
	} else {
		/* the shape uses a renewed var: a new buffer, b stays unclaimed */
		nb = copy_buffer(sp, b, shape, strides, off);
		seen_find(sp, b)->fresh = nb;
	}
	return nb;
}

/* A launch-bounds attr: its value recorded (berr set on error). */
static void take_bound(Split *sp, Stmt *s, int k)
{
	int64_t v = 0;
	if (!s->attr.value || !ex_is_const_int(s->attr.value, &v)) {
		diag_error(s->loc, "%s expects an integer value", bound_keys[k]);
		sp->berr = 1;
	} else if (v <= 0) {
		diag_error(s->loc, "%s must be positive", bound_keys[k]);
		sp->berr = 1;
	} else if (sp->bhas[k] && sp->bval[k] != v) {
		diag_error(s->loc, "Conflicting %s values", bound_keys[k]);
		sp->berr = 1;
	} else {
		sp->bhas[k] = 1;
		sp->bval[k] = v;
	}
}

/* The region walk is the Mutator with these hooks: it copies a node only
 * when something below it changed, so a subtree whose vars and buffers are
 * all kept is shared with the host's old body, which the host drops. */
static Var *rn_use_hook(Mutator *mu, Var *v)
{
	return rn_use(mu->data, v);
}

static Var *rn_def_hook(Mutator *mu, Var *v)
{
	return rn_def(mu->data, v);
}

/* Allocations and declarations define their buffer before the Mutator
 * meets it; a launch-bounds attr becomes a kernel attr (its node and
 * value still count as uses, as the attr is walked before it goes). */
static Stmt *rn_stmt(Mutator *mu, Stmt *s)
{
	Split *sp = mu->data;
	switch (s->kind) {
	case ST_ALLOC:
		rn_define_buffer(sp, s->alloc.buf);
		return NULL;
	case ST_DECL:
		rn_define_buffer(sp, s->decl.buf);
		return NULL;
	case ST_ATTR:
		for (int k = 0; k < 3; k++) {
			if (s->attr.key == sp->bkey[k]) {
				mut_obj(mu, s->attr.node);
				mut_expr(mu, s->attr.value);
				take_bound(sp, s, k);
				return s->attr.body ? mut_stmt(mu, s->attr.body) : st_seq(sp->a, NULL, 0);
			}
		}
		return NULL;
	default:
		return NULL;
	}
}

/* ---------------------------------------------------------------- split */

/* One kernel parameter: a free var, or a captured buffer's data pointer. */
typedef struct KParam {
	Var *var;    /* the host var, or NULL for a buffer */
	Buffer *buf; /* the host buffer */
	const char *key; /* sort name */
	int handle;
	intptr_t pos;
} KParam;

static int kparam_cmp(const void *x, const void *y)
{
	const KParam *a = x, *b = y;
	if (a->handle != b->handle)
		return b->handle - a->handle;
	int c = strcmp(a->key, b->key);
	if (c)
		return c;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

/* Device targets (t, of kind k) whose codegen (CodeGenCPU) returns an
 * int32 status. */
static int can_propagate_errors(const Obj *t, Sym k)
{
	return target_is_cpu(t) || (k && (!strcmp(k, "ext_dev") || !strcmp(k, "hexagon")));
}

/* Appends key (an OB_STR) = val to the dict being built, which has room
 * and does not hold key; nothing when val is NULL. */
static void attr_add(Obj *d, Obj *key, Obj *val)
{
	if (!val)
		return;
	d->dict.keys[d->dict.n] = key;
	d->dict.vals[d->dict.n++] = val;
}

/* base followed by suffix, interned. */
static Sym sym_cat(const char *base, const char *suffix)
{
	size_t n = strlen(base), k = strlen(suffix);
	char small[128];
	char *s = n + k < sizeof small ? small : xmalloc(n + k + 1);
	memcpy(s, base, n);
	memcpy(s + n, suffix, k);
	Sym r = symn(s, n + k);
	if (s != small)
		free(s);
	return r;
}

enum { A_TARGET, A_NOALIAS, A_GLOBAL, A_STIR, A_INPUTS, A_LAUNCH, A_PERSISTENT, A_CLUSTER_SYNC };
static const char *const attr_keys[8] = {
	"target", "tirx.noalias", "tirx.is_global_func", "s_tir", "num_inputs",
	"tirx.kernel_launch_params", "tirx.persistent_kernel", "tirx.entry_cluster_sync",
};

/* Outlines body (the inside of a `target` attr) into a new kernel and
 * returns the host statement that calls it. */
static Stmt *split_region(Split *sp, Stmt *body, Obj *device_target, Loc loc)
{
	Arena *a = sp->a;
	/* the walk: a fresh copy, the free vars and buffers, the bounds */
	seen_reset(sp);
	sp->npos = 0;
	sp->vars.n = sp->bufs.n = 0;
	for (int k = 0; k < 3; k++)
		sp->bhas[k] = 0, sp->bval[k] = 0;
	sp->berr = 0;
	Mutator mu = {.a = a, .stmt = rn_stmt, .var = rn_use_hook, .def = rn_def_hook,
	              .buffer = rn_buffer, .data = sp};
	Stmt *kbody = mut_stmt(&mu, body);
	mut_done(&mu);

	int np = 0;
	KParam *ps = xmalloc((size_t)(sp->vars.n + sp->bufs.n + 1) * sizeof *ps);
	for (int i = 0; i < sp->vars.n; i++) {
		Var *v = sp->vars.v[i];
		ps[np++] = (KParam){v, NULL, v->name, v->dt.code == DT_HANDLE && !dt_is_void(v->dt),
		                    seen_find(sp, v)->pos};
	}
	/* buffers in tmem are not captured: TVM keeps them out of kernel args */
	for (int i = 0; i < sp->bufs.n; i++) {
		Buffer *b = sp->bufs.v[i];
		if (b->scope == sp->tmem)
			continue;
		ps[np++] = (KParam){NULL, b, sp->head ? b->name : sym_cat(b->name, "_data"), 1,
		                    seen_find(sp, b)->pos};
	}
	qsort(ps, (size_t)np, sizeof *ps, kparam_cmp);

	/* the kernel's params: the copies of the free vars, and a pointer per
	 * captured buffer */
	Param *params = ar_alloc(a, (size_t)(np + 1) * sizeof *params);
	Expr **args = xmalloc((size_t)(np + 1) * sizeof *args);
	for (int i = 0; i < np; i++) {
		if (ps[i].var) {
			params[i].var = seen_find(sp, ps[i].var)->fresh;
			args[i] = ex_var(a, ps[i].var);
		} else {
			Buffer *b = ps[i].buf;
			Sym name = sp->head ? sym_cat(b->name, "_ptr") : ps[i].key;
			params[i].var = var_new(a, name, buf_data_type(b));
			args[i] = ex_new(a, EX_BUFDATA, DT_HANDLE64);
			args[i]->buf = b;
		}
	}

	Sym kind = target_kind(device_target);
	int cpu = can_propagate_errors(device_target, kind);
	if (cpu) {
		Stmt *ret = st_new(a, ST_RETURN, NOLOC);
		ret->ret.value = ex_int(a, DT_I32, 0);
		Stmt *two[2] = {kbody, ret};
		kbody = st_seq(a, two, 2);
	}
	/* DeclBuffers in reverse first-use order, as TVM prepends each */
	for (intptr_t done = 0;;) {
		int next = -1;
		for (int i = 0; i < np; i++)
			if (!ps[i].var && ps[i].pos > done && (next < 0 || ps[i].pos < ps[next].pos))
				next = i;
		if (next < 0)
			break;
		done = ps[next].pos;
		Stmt *d = st_new(a, ST_DECL, loc);
		d->decl.buf = seen_find(sp, ps[next].buf)->fresh;
		d->decl.data = ex_var(a, params[next].var);
		Stmt *two[2] = {d, kbody};
		kbody = st_seq(a, two, 2);
	}

	/* the launch bounds taken out of the body */
	if (sp->bhas[1] && !sp->bhas[0]) {
		diag_error(loc, "%s requires %s", bound_keys[1], bound_keys[0]);
		sp->berr = 1;
	}
	if (sp->bhas[2] && (sp->bhas[0] || sp->bhas[1])) {
		diag_error(loc, "%s cannot be combined with CUDA launch bounds", bound_keys[2]);
		sp->berr = 1;
	}
	sp->err |= sp->berr;

	Func *k = ar_alloc(a, sizeof *k);
	k->name = fresh_func_name(sp->m, &sp->names, sp->kernel_name);
	k->params = params;
	k->nparams = np;
	k->ret = cpu ? ty_prim(DT_I32) : ty_void();
	k->body = kbody;
	k->loc = loc;
	/* the attrs, in the order TVM sets them */
	const Obj *ha = sp->host->attrs;
	Obj *at = obj_new(a, OB_DICT);
	at->dict.keys = ar_alloc(a, 11 * sizeof(Obj *));
	at->dict.vals = ar_alloc(a, 11 * sizeof(Obj *));
	attr_add(at, sp->akey[A_TARGET], device_target);
	attr_add(at, sp->akey[A_NOALIAS], sp->yes);
	attr_add(at, sp->akey[A_GLOBAL], sp->yes);
	if (obj_dict_getk(ha, sp->akey[A_STIR]->s))
		attr_add(at, sp->akey[A_STIR], sp->yes);
	attr_add(at, sp->akey[A_INPUTS], obj_dict_getk(ha, sp->akey[A_INPUTS]->s));
	attr_add(at, sp->akey[A_LAUNCH], obj_dict_getk(ha, sp->akey[A_LAUNCH]->s));
	if (!sp->head) {
		attr_add(at, sp->akey[A_PERSISTENT], obj_dict_getk(ha, sp->akey[A_PERSISTENT]->s));
		attr_add(at, sp->akey[A_CLUSTER_SYNC], obj_dict_getk(ha, sp->akey[A_CLUSTER_SYNC]->s));
	}
	if (kind == sp->cuda)
		for (int i = 0; i < 3; i++)
			if (sp->bhas[i])
				attr_add(at, obj_str(a, sp->bkey[i]), obj_int(a, sp->bval[i]));
	k->attrs = at;
	mod_add(sp->m, k);

	Expr *call = ex_call(a, NULL, cpu ? ty_prim(DT_I32) : ty_void(), args, np);
	call->call.fn = k->name;
	free(ps);
	free(args);
	if (!cpu) {
		Stmt *ev = st_new(a, ST_EVAL, loc);
		ev->eval.value = call;
		return ev;
	}
	Var *code = var_new(a, sp->error_code, ty_prim(DT_I32));
	Stmt *bind = st_new(a, ST_BIND, loc);
	bind->bind.var = code;
	bind->bind.value = call;
	Stmt *as = st_new(a, ST_ASSERT, loc);
	as->assert.cond = ex_bin(a, EX_EQ, ex_var(a, code), ex_int(a, DT_I32, 0));
	as->assert.kind = sp->runtime_error;
	as->assert.parts = ar_alloc(a, sizeof(Sym));
	as->assert.parts[0] = sp->error_msg;
	as->assert.nparts = 1;
	Stmt *two[2] = {bind, as};
	return st_seq(a, two, 2);
}

/* The walk of a function outside its regions: every var and buffer it
 * mentions (defined or used) goes into claimed. */
static int claim_stmt(Walker *w, Stmt *s)
{
	Split *sp = w->data;
	return s->kind != ST_ATTR || s->attr.key != sp->target_key;
}

static int claim_expr(Walker *w, Expr *e)
{
	if (e->kind == EX_VAR)
		claim(w->data, e->var->id);
	return 1;
}

static void claim_def(Walker *w, Var *v)
{
	claim(w->data, v->id);
}

static void claim_buffer(Walker *w, Buffer *b)
{
	claim(w->data, b->id);
}

static Stmt *split_stmt(Mutator *mu, Stmt *s)
{
	Split *sp = mu->data;
	if (s->kind != ST_ATTR || s->attr.key != sp->target_key)
		return NULL;
	if (!sp->host_walked) {
		Walker w = {.stmt = claim_stmt, .expr = claim_expr, .def = claim_def,
		            .buffer = claim_buffer, .data = sp};
		walk_func(&w, sp->host);
		sp->host_walked = 1;
	}
	Obj *t = s->attr.node;
	if (!t || t->kind != OB_TARGET) {
		diag_error(s->loc, "SplitHostDevice: the node of a \"target\" attr must be a Target");
		sp->err = 1;
		return s;
	}
	Stmt *body = s->attr.body ? s->attr.body : st_seq(mu->a, NULL, 0);
	/* the device target: t when it has no host (AnnotateDeviceRegions
	 * strips it), the target without_host would make an equal copy of */
	Obj *device = obj_dict_getk(t->target, sp->host_key) ? target_without_host(mu->a, t) : t;
	return split_region(sp, body, device, s->loc);
}

int shd_split(Module *m, int head)
{
	Split sp = {.m = m, .a = m->arena, .head = head, .target_key = sym("target"),
	            .host_key = sym("host"),
	            .tmem = sym("tmem"), .cuda = sym("cuda"),
	            .error_code = sym("kernel_error_code"), .runtime_error = sym("RuntimeError"),
	            .error_msg = sym("Error executing compute kernel"), .yes = obj_bool(m->arena, 1)};
	for (int k = 0; k < 3; k++)
		sp.bkey[k] = sym(bound_keys[k]);
	for (int k = 0; k < 8; k++)
		sp.akey[k] = obj_str(m->arena, sym(attr_keys[k]));
	int n = m->nfuncs; /* kernels are appended; they hold no regions */
	for (int i = 0; i < n; i++) {
		Func *f = m->funcs[i];
		Sym gs = func_global_symbol(f);
		sp.host = f;
		sp.host_walked = 0;
		sp.kernel_name = sym_cat(gs ? gs : f->name, "_kernel");
		Mutator mu = {.a = m->arena, .expr = pu_keep_expr, .stmt = split_stmt, .data = &sp};
		Stmt *body = mut_stmt(&mu, f->body);
		mut_done(&mu);
		pu_set_body(m, i, body);
	}
	if (m->nfuncs > n)
		m->is_module = 1;
	pmap_free(&sp.names);
	free(sp.claimed);
	free(sp.tab);
	free(sp.seen);
	vec_free(&sp.vars);
	vec_free(&sp.bufs);
	return sp.err;
}

int pass_split_host_device(Module **m, PassCtx *cx)
{
	(void)cx;
	return shd_split(*m, 0);
}
