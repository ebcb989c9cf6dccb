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
 * - Every var and buffer of the kernel is a fresh node (TVM's ConvertSSA
 *   renames only what it finds shared), so no node crosses functions.
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
	size_t n = strlen(base);
	char *s = xmalloc(n + 24);
	memcpy(s, base, n + 1);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.')
			s[i] = '_';
	Sym b = sym(s);
	/* counters: name -> 1 + the last suffix tried for it.  The first
	 * request enters the module's names (as tried once, with no suffix),
	 * so a name is taken exactly when it is a key: names made here are
	 * keys, and the caller adds them to the module before the next
	 * request, which adds no other names.  One look-up per candidate,
	 * not a scan of the module's functions. */
	if (!counters->n)
		for (int i = 0; i < m->nfuncs; i++)
			if (!pmap_get(counters, m->funcs[i]->name))
				pmap_put(counters, m->funcs[i]->name, (void *)1);
	intptr_t k = (intptr_t)pmap_get(counters, b);
	Sym r = b;
	if (k) {
		k--;
		do {
			snprintf(s + n, 24, "_%ld", (long)++k);
			r = sym(s);
		} while (pmap_get(counters, r));
		pmap_put(counters, b, (void *)(k + 1));
	}
	pmap_put(counters, r, pmap_get(counters, r) ? pmap_get(counters, r) : (void *)1);
	free(s);
	return r;
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

/* ---------------------------------------------------- free-var ordering */

/* First-use positions in TVM's visiting order (VarUseDefAnalyzer): a store
 * visits its buffer, then the value, then the indices; a buffer's shape
 * counts as used where the buffer is first seen. */
typedef struct Order {
	PtrMap pos; /* var or buffer -> 1 + position */
	intptr_t n;
} Order;

static void order_see(Walker *w, const void *p)
{
	Order *o = w->data;
	if (!pmap_get(&o->pos, p))
		pmap_put(&o->pos, p, (void *)++o->n);
}

static int order_expr(Walker *w, Expr *e)
{
	if (e->kind == EX_VAR)
		order_see(w, e->var);
	return 1;
}

static void order_buffer(Walker *w, Buffer *b)
{
	Order *o = w->data;
	if (pmap_get(&o->pos, b))
		return;
	order_see(w, b);
	for (int i = 0; i < b->ndim; i++)
		walk_expr(w, b->shape[i]);
	for (int i = 0; i < b->nstrides; i++)
		walk_expr(w, b->strides[i]);
	walk_expr(w, b->elem_offset);
}

static int order_stmt(Walker *w, Stmt *s)
{
	if (s->kind != ST_STORE)
		return 1;
	order_buffer(w, s->store.buf);
	walk_expr(w, s->store.value);
	for (int i = 0; i < s->store.nidx; i++)
		walk_expr(w, s->store.idx[i]);
	walk_expr(w, s->store.pred);
	return 0;
}

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

/* --------------------------------------------------------- launch bounds */

static const char *const bound_keys[3] = {
	"tirx.launch_bounds_min_blocks_per_sm",
	"tirx.launch_bounds_max_blocks_per_cluster",
	"tirx.max_registers",
};

typedef struct Bounds {
	Sym key[3]; /* bound_keys, interned */
	int64_t val[3];
	int has[3];
	int err;
} Bounds;

static Stmt *bounds_stmt(Mutator *mu, Stmt *s)
{
	Bounds *b = mu->data;
	if (s->kind != ST_ATTR)
		return NULL;
	int k = 0;
	while (k < 3 && s->attr.key != b->key[k])
		k++;
	if (k == 3)
		return NULL;
	int64_t v = 0;
	if (!s->attr.value || !ex_is_const_int(s->attr.value, &v)) {
		diag_error(s->loc, "%s expects an integer value", bound_keys[k]);
		b->err = 1;
	} else if (v <= 0) {
		diag_error(s->loc, "%s must be positive", bound_keys[k]);
		b->err = 1;
	} else if (b->has[k] && b->val[k] != v) {
		diag_error(s->loc, "Conflicting %s values", bound_keys[k]);
		b->err = 1;
	} else {
		b->has[k] = 1;
		b->val[k] = v;
	}
	Stmt *body = mut_stmt(mu, s->attr.body);
	return body ? body : st_seq(mu->a, NULL, 0);
}

/* Removes the launch-bounds attrs from a kernel body into *b; 1 on error. */
static Stmt *extract_bounds(Arena *a, Stmt *body, Bounds *b, Loc loc)
{
	for (int k = 0; k < 3; k++)
		b->key[k] = sym(bound_keys[k]);
	Mutator mu = {.a = a, .expr = pu_keep_expr, .stmt = bounds_stmt, .data = b};
	body = mut_stmt(&mu, body);
	mut_done(&mu);
	if (b->has[1] && !b->has[0]) {
		diag_error(loc, "%s requires %s", bound_keys[1], bound_keys[0]);
		b->err = 1;
	}
	if (b->has[2] && (b->has[0] || b->has[1])) {
		diag_error(loc, "%s cannot be combined with CUDA launch bounds", bound_keys[2]);
		b->err = 1;
	}
	return body;
}

/* ---------------------------------------------------------------- split */

typedef struct Split {
	Module *m;
	Func *host;
	Sym kernel_name; /* the base: "<symbol>_kernel" */
	PtrMap *names;
	int head;
	int err;
	Sym target_key; /* "target" */
} Split;

/* Device targets whose codegen (CodeGenCPU) returns an int32 status. */
static int can_propagate_errors(const Obj *t)
{
	Sym k = target_kind(t);
	return target_is_cpu(t) || (k && (!strcmp(k, "ext_dev") || !strcmp(k, "hexagon")));
}

static Obj *copy_attr(Arena *a, Obj *attrs, const Func *from, const char *key)
{
	Obj *v = obj_dict_get(from->attrs, key);
	return v ? obj_dict_set(a, attrs, key, v) : attrs;
}

/* Outlines body (the inside of a `target` attr) into a new kernel and
 * returns the host statement that calls it. */
static Stmt *split_region(Split *sp, Stmt *body, Obj *device_target, Loc loc)
{
	Arena *a = sp->m->arena;
	Vec vars = {0}, bufs = {0};
	free_vars(body, &vars, &bufs);
	Order ord = {{0}, 0};
	Walker ow = {.stmt = order_stmt, .expr = order_expr, .buffer = order_buffer, .data = &ord};
	walk_stmt(&ow, body);

	int np = 0;
	KParam *ps = xmalloc((size_t)(vars.n + bufs.n + 1) * sizeof *ps);
	for (int i = 0; i < vars.n; i++) {
		Var *v = vars.v[i];
		ps[np++] = (KParam){v, NULL, v->name, v->dt.code == DT_HANDLE && !dt_is_void(v->dt),
		                    (intptr_t)pmap_get(&ord.pos, v)};
	}
	/* buffers in tmem are not captured: TVM keeps them out of kernel args */
	for (int i = 0; i < bufs.n; i++) {
		Buffer *b = bufs.v[i];
		if (b->scope == sym("tmem"))
			continue;
		Buf key = {0};
		buf_printf(&key, "%s%s", b->name, sp->head ? "" : "_data");
		ps[np++] = (KParam){NULL, b, sym(key.s), 1, (intptr_t)pmap_get(&ord.pos, b)};
		buf_free(&key);
	}
	qsort(ps, (size_t)np, sizeof *ps, kparam_cmp);

	/* the kernel: fresh params, then a fresh copy of the region */
	PtrMap map = {0};
	Mutator mu;
	renew_init(&mu, a, &map);
	Param *params = ar_alloc(a, (size_t)(np + 1) * sizeof *params);
	Expr **args = ar_alloc(a, (size_t)(np + 1) * sizeof *args);
	for (int i = 0; i < np; i++) {
		if (ps[i].var) {
			params[i].var = mut_var(&mu, ps[i].var);
			args[i] = ex_var(a, ps[i].var);
		} else {
			Buffer *b = ps[i].buf;
			Buf name = {0};
			buf_printf(&name, "%s%s", b->name, sp->head ? "_ptr" : "_data");
			params[i].var = var_new(a, sym(name.s), buf_data_type(b));
			buf_free(&name);
			args[i] = ex_new(a, EX_BUFDATA, DT_HANDLE64);
			args[i]->buf = b;
		}
	}
	Stmt *kbody = mut_stmt(&mu, body);

	int cpu = can_propagate_errors(device_target);
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
		d->decl.buf = mut_buffer(&mu, ps[next].buf);
		d->decl.data = ex_var(a, params[next].var);
		Stmt *two[2] = {d, kbody};
		kbody = st_seq(a, two, 2);
	}
	mut_done(&mu);
	pmap_free(&map);

	Bounds bounds = {{0}, {0}, {0}, 0};
	kbody = extract_bounds(a, kbody, &bounds, loc);
	sp->err |= bounds.err;

	Func *k = ar_alloc(a, sizeof *k);
	k->name = fresh_func_name(sp->m, sp->names, sp->kernel_name);
	k->params = params;
	k->nparams = np;
	k->ret = cpu ? ty_prim(DT_I32) : ty_void();
	k->body = kbody;
	k->loc = loc;
	Obj *at = obj_new(a, OB_DICT);
	at = obj_dict_set(a, at, "target", device_target);
	at = obj_dict_set(a, at, "tirx.noalias", obj_bool(a, 1));
	at = obj_dict_set(a, at, "tirx.is_global_func", obj_bool(a, 1));
	if (obj_dict_get(sp->host->attrs, "s_tir"))
		at = obj_dict_set(a, at, "s_tir", obj_bool(a, 1));
	at = copy_attr(a, at, sp->host, "num_inputs");
	at = copy_attr(a, at, sp->host, "tirx.kernel_launch_params");
	if (!sp->head) {
		at = copy_attr(a, at, sp->host, "tirx.persistent_kernel");
		at = copy_attr(a, at, sp->host, "tirx.entry_cluster_sync");
	}
	if (target_kind(device_target) == sym("cuda"))
		for (int i = 0; i < 3; i++)
			if (bounds.has[i])
				at = obj_dict_set(a, at, bound_keys[i], obj_int(a, bounds.val[i]));
	k->attrs = at;
	mod_add(sp->m, k);

	Expr *call = ex_call(a, NULL, cpu ? ty_prim(DT_I32) : ty_void(), args, np);
	call->call.fn = k->name;
	free(ps);
	vec_free(&vars);
	vec_free(&bufs);
	pmap_free(&ord.pos);
	if (!cpu) {
		Stmt *ev = st_new(a, ST_EVAL, loc);
		ev->eval.value = call;
		return ev;
	}
	Var *code = var_new(a, sym("kernel_error_code"), ty_prim(DT_I32));
	Stmt *bind = st_new(a, ST_BIND, loc);
	bind->bind.var = code;
	bind->bind.value = call;
	Stmt *as = st_new(a, ST_ASSERT, loc);
	as->assert.cond = ex_bin(a, EX_EQ, ex_var(a, code), ex_int(a, DT_I32, 0));
	as->assert.kind = sym("RuntimeError");
	as->assert.parts = ar_alloc(a, sizeof(Sym));
	as->assert.parts[0] = sym("Error executing compute kernel");
	as->assert.nparts = 1;
	Stmt *two[2] = {bind, as};
	return st_seq(a, two, 2);
}

static Stmt *split_stmt(Mutator *mu, Stmt *s)
{
	Split *sp = mu->data;
	if (s->kind != ST_ATTR || s->attr.key != sp->target_key)
		return NULL;
	Obj *t = s->attr.node;
	if (!t || t->kind != OB_TARGET) {
		diag_error(s->loc, "SplitHostDevice: the node of a \"target\" attr must be a Target");
		sp->err = 1;
		return s;
	}
	Stmt *body = s->attr.body ? s->attr.body : st_seq(mu->a, NULL, 0);
	return split_region(sp, body, target_without_host(mu->a, t), s->loc);
}

int shd_split(Module *m, int head)
{
	PtrMap names = {0};
	Split sp = {m, NULL, NULL, &names, head, 0, sym("target")};
	int n = m->nfuncs; /* kernels are appended; they hold no regions */
	for (int i = 0; i < n; i++) {
		Func *f = m->funcs[i];
		Sym gs = func_global_symbol(f);
		Buf kn = {0};
		buf_printf(&kn, "%s_kernel", gs ? gs : f->name);
		sp.host = f;
		sp.kernel_name = sym(kn.s);
		buf_free(&kn);
		Mutator mu = {.a = m->arena, .expr = pu_keep_expr, .stmt = split_stmt, .data = &sp};
		Stmt *body = mut_stmt(&mu, f->body);
		mut_done(&mu);
		pu_set_body(m, i, body);
	}
	if (m->nfuncs > n)
		m->is_module = 1;
	pmap_free(&names);
	return sp.err;
}

int pass_split_host_device(Module **m, PassCtx *cx)
{
	(void)cx;
	return shd_split(*m, 0);
}
