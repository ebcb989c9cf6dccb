/* lower_device_kernel_launch.c: LowerDeviceKernelLaunch (TVM's
 * tirx.LowerDeviceKernelLaunch at ec3171ab7a with both fixes of #19605;
 * stage 3 of SplitHostDevice at HEAD, whose additions it honours).
 *
 * IR expected: the output of SplitHostDevice: host functions call kernels
 *   as module functions; every function that calls or is called has a
 *   "target" attribute.
 * IR left: a call that crosses devices is a kernel launch,
 *   `T.call_packed("<symbol>", args..., <launch args>)` (for the combined
 *   pass, TVM 0.27's `T.call_ffi_kernel(...)` with the same operands and
 *   the launch params as launch_params=), whose callee gets
 *   calling_conv 2, `tirx.kernel_launch_params`, a global_symbol and a void
 *   return; a call to another target of the same device kind becomes
 *   `T.call_extern(...)` and the callee becomes public; a call within one
 *   target stays a subroutine call.
 * Runs after: SplitHostDevice.
 *
 * Launch params: thread tags in order of first appearance, then the
 * flag-only tags the kernel inherited (tirx.kernel_launch_params), then
 * tirx.use_dyn_shared_memory, whose byte count (`tirx.dyn_smem_bytes`, else
 * the shared.dyn allocation's size) is the last launch argument.  Extents
 * are written in the caller's terms: binds inside the kernel are inlined and
 * the kernel's params replaced by the call's arguments.
 *
 * Only functions that some call names are analysed (as at HEAD), so an
 * uncalled function is never an error. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

static const char *const TAG_PDL = "tirx.use_programtic_dependent_launch"; /* sic */
static const char *const TAG_COOP = "tirx.use_cooperative_launch";
static const char *const TAG_DYN = "tirx.use_dyn_shared_memory";

enum { MAX_TAGS = 64 };

typedef struct Info {
	int called;
	Obj *target; /* without host */
	Sym symbol;
	int tag0, ntags; /* its launch params: entries tag0.. of the pass's pool */
	int launched, externed;
	int returns; /* the body holds a return (or T.ret) or a tirx.dyn_smem_bytes
	              * attr: phase 2 rewrites the body only then */
} Info;

/* The state of one run. */
typedef struct Launch {
	Module *m;
	Arena *a;
	int head;
	Info *infos;  /* per function index */
	Sym *tags;    /* the launch params of all functions, by Info.tag0 */
	Expr **targs; /* launch argument of tags[i]; NULL for flags */
	int ntags, captags;
	PtrMap binds; /* collect: var -> its value, binds inlined */
	struct Deferred *diags; /* collection errors, reported in function order */
	int ndiags, capdiags;
	/* interned once */
	Sym dyn_key, extent_key, dyn_scope, launch_params, pdl, coop, dyn, cuda;
	Sym global_symbol, is_global, calling_conv, host;
	const Op *ret_op, *call_extern, *call_packed;
} Launch;

/* A collection error, held until every called function is collected:
 * the functions are collected as the scan meets them, the errors are
 * reported in function order. */
typedef struct Deferred {
	int func, seq;
	Loc loc;
	char *msg;
} Deferred;

typedef struct Collect {
	Launch *l;
	int index; /* of f */
	Func *f;
	Info *info;
	Expr *dyn;    /* tirx.dyn_smem_bytes */
	Expr *inferred; /* from the shared.dyn allocation */
	int saw_dyn_alloc;
	int err;
} Collect;

static void col_error(Collect *c, Loc loc, const char *fmt, ...) TIR_PRINTF(3, 4);

static void col_error(Collect *c, Loc loc, const char *fmt, ...)
{
	Launch *l = c->l;
	Buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (l->ndiags == l->capdiags) {
		l->capdiags = l->capdiags ? 2 * l->capdiags : 8;
		l->diags = xrealloc(l->diags, (size_t)l->capdiags * sizeof *l->diags);
	}
	l->diags[l->ndiags] = (Deferred){c->index, l->ndiags, loc, b.s};
	l->ndiags++;
	c->err = 1;
}

static int deferred_cmp(const void *x, const void *y)
{
	const Deferred *a = x, *b = y;
	if (a->func != b->func)
		return a->func < b->func ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static int has_tag(const Launch *l, const Info *in, Sym t)
{
	for (int i = 0; i < in->ntags; i++)
		if (l->tags[in->tag0 + i] == t)
			return 1;
	return 0;
}

/* Appends a launch param to the function being collected (whose tags are
 * the last of the pool). */
static void add_tag(Collect *c, Sym t, Expr *arg, Loc loc)
{
	Launch *l = c->l;
	Info *in = c->info;
	if (in->ntags == MAX_TAGS) {
		col_error(c, loc, "too many launch parameters in '%s'", c->f->name);
		return;
	}
	if (l->ntags == l->captags) {
		l->captags = l->captags ? 2 * l->captags : 256;
		l->tags = xrealloc(l->tags, (size_t)l->captags * sizeof *l->tags);
		l->targs = xrealloc(l->targs, (size_t)l->captags * sizeof *l->targs);
	}
	l->tags[l->ntags] = t;
	l->targs[l->ntags++] = arg;
	in->ntags++;
}

/* Whether e mentions a var that binds maps (then inlining may change it;
 * when not, subst_expr returns e). */
static int mentions_bound(const PtrMap *binds, const Expr *e);

static int mentions_bound_list(const PtrMap *binds, Expr *const *xs, int n)
{
	for (int i = 0; i < n; i++)
		if (mentions_bound(binds, xs[i]))
			return 1;
	return 0;
}

static int mentions_bound_buffer(const PtrMap *binds, const Buffer *b)
{
	return mentions_bound_list(binds, b->shape, b->ndim) ||
	       mentions_bound_list(binds, b->strides, b->nstrides) ||
	       mentions_bound(binds, b->elem_offset);
}

static int mentions_bound_node(const PtrMap *binds, const Expr *e);

static int mentions_bound(const PtrMap *binds, const Expr *e)
{
	if (!e || e->kind < EX_VAR)
		return 0;
	if (e->kind == EX_VAR)
		return pmap_get(binds, e->var) != NULL;
	return mentions_bound_node(binds, e);
}

static int mentions_bound_node(const PtrMap *binds, const Expr *e)
{
	switch (e->kind) {
	case EX_BUFDATA:
	case EX_BUFREF:
		return mentions_bound_buffer(binds, e->buf);
	case EX_SELECT:
		return mentions_bound(binds, e->sel.c) || mentions_bound(binds, e->sel.t) ||
		       mentions_bound(binds, e->sel.f);
	case EX_RAMP:
		return mentions_bound(binds, e->ramp.base) || mentions_bound(binds, e->ramp.stride);
	case EX_BROADCAST:
		return mentions_bound(binds, e->bcast.value);
	case EX_SHUFFLE:
		return mentions_bound_list(binds, e->shuf.vecs, e->shuf.nvecs) ||
		       mentions_bound_list(binds, e->shuf.idx, e->shuf.nidx);
	case EX_LET:
		return pmap_get(binds, e->let.var) || mentions_bound(binds, e->let.value) ||
		       mentions_bound(binds, e->let.body);
	case EX_LOAD:
		return mentions_bound_buffer(binds, e->load.buf) ||
		       mentions_bound_list(binds, e->load.idx, e->load.nidx) ||
		       mentions_bound(binds, e->load.pred);
	case EX_CALL:
		return mentions_bound_list(binds, e->call.args, e->call.nargs);
	default:
		if (e->kind >= EX_ADD && e->kind <= EX_CAST)
			return mentions_bound(binds, e->bin.a) || mentions_bound(binds, e->bin.b);
		return 0;
	}
}

/* e with the binds seen so far inlined; e itself when it mentions none
 * (subst_expr would return it unchanged). */
static Expr *inline_binds(Collect *c, Expr *e)
{
	const PtrMap *b = &c->l->binds;
	return b->n && mentions_bound(b, e) ? subst_expr(c->l->a, e, b, NULL) : e;
}

static Expr *mul(Arena *a, Expr *x, Expr *y)
{
	const char *err = NULL;
	Expr *r = arith_binary(a, EX_MUL, x, y, &err);
	return r ? r : ex_bin(a, EX_MUL, x, y);
}

static int is_ret_call(const Launch *l, const Expr *e)
{
	return e && e->kind == EX_CALL && e->call.op == l->ret_op;
}

/* DeviceInfoCollector's visit of s (every statement of the function, in
 * walk order). */
static void collect_stmt(Collect *c, Stmt *s)
{
	Launch *l = c->l;
	Arena *a = l->a;
	if (s->kind == ST_BIND) {
		pmap_put(&l->binds, s->bind.var, inline_binds(c, s->bind.value));
	} else if (s->kind == ST_RETURN || (s->kind == ST_EVAL && is_ret_call(l, s->eval.value))) {
		c->info->returns = 1;
	} else if (s->kind == ST_ATTR && s->attr.key == l->dyn_key) {
		int64_t v;
		c->info->returns = 1;
		if (c->dyn) {
			col_error(c, s->loc, "Only one tirx.dyn_smem_bytes declaration is allowed per kernel.");
		} else if (!s->attr.value || !ex_is_const_int(s->attr.value, &v)) {
			col_error(c, s->loc, "tirx.dyn_smem_bytes must be an IntImm");
		} else {
			c->dyn = s->attr.value;
		}
	} else if (s->kind == ST_ATTR && s->attr.key == l->extent_key) {
		Obj *node = s->attr.node;
		Sym tag = NULL;
		if (node && node->kind == OB_ITERVAR)
			tag = node->iv.tag;
		else if (node && node->kind == OB_EXPR && node->expr && node->expr->kind == EX_VAR)
			tag = node->expr->var->name;
		if (!tag || !*tag) {
			col_error(c, s->loc, "thread_extent node must be an IterVar or Var with a thread tag");
		} else if (!has_tag(l, c->info, tag)) {
			add_tag(c, tag, inline_binds(c, s->attr.value), s->loc);
		}
	} else if (s->kind == ST_ALLOC && s->alloc.buf->scope == l->dyn_scope) {
		Buffer *b = s->alloc.buf;
		if (c->saw_dyn_alloc) {
			col_error(c, s->loc, "Only one dynamic shared memory allocation is allowed.");
		} else if (b->ndim == 0) {
			col_error(c, s->loc, "a shared.dyn allocation needs a shape");
		} else {
			c->saw_dyn_alloc = 1;
			Expr *size = ex_int(a, DT_I32, 1);
			for (int i = 0; i < b->ndim; i++)
				size = mul(a, size, b->shape[i]);
			/* HEAD: StorageBytes as int64; ec3171ab7a: bytes() as int */
			int bytes = dt_bytes(b->dt);
			size = mul(a, size, ex_int(a, l->head ? DT_I64 : DT_I32, bytes));
			c->inferred = inline_binds(c, size);
		}
	}
}

static int requested(const Launch *l, const Func *f, Sym tag)
{
	Obj *ls = obj_dict_getk(f->attrs, l->launch_params);
	if (!ls || ls->kind != OB_LIST)
		return 0;
	for (int i = 0; i < ls->list.n; i++)
		if (ls->list.items[i]->kind == OB_STR && ls->list.items[i]->s == tag)
			return 1;
	return 0;
}

/* The global_symbol attr, as func_global_symbol. */
static Sym global_symbol(const Launch *l, const Obj *attrs)
{
	Obj *g = obj_dict_getk(attrs, l->global_symbol);
	return g && g->kind == OB_STR ? g->s : NULL;
}

/* Target t (OB_TARGET) without its host: t itself when it has none (what
 * target_without_host makes then, a target with t's config, equal). */
static Obj *without_host(const Launch *l, Obj *t)
{
	return obj_dict_getk(t->target, l->host) ? target_without_host(l->a, t) : t;
}

/* DeviceInfoCollector, before the walk over f's statements: 0 when f has
 * no target (reported). */
static int collect_begin(Collect *c, Launch *l, int index, Info *in)
{
	Func *f = l->m->funcs[index];
	*c = (Collect){l, index, f, in, NULL, NULL, 0, 0};
	Obj *t = func_target(f);
	if (!t) {
		col_error(c, f->loc, "LowerDeviceKernelLaunch: function '%s' is called but has no target attribute",
		          f->name);
		return 0;
	}
	in->target = without_host(l, t);
	in->tag0 = l->ntags;
	if (l->binds.cap > 1024)
		pmap_free(&l->binds);
	else if (l->binds.n)
		pmap_clear(&l->binds);
	return 1;
}

/* DeviceInfoCollector, after the walk.  Returns 1 on error. */
static int collect_end(Collect *c)
{
	Launch *l = c->l;
	Func *f = c->f;
	Info *in = c->info;
	if (requested(l, f, l->pdl))
		add_tag(c, l->pdl, NULL, f->loc);
	if (requested(l, f, l->coop))
		add_tag(c, l->coop, NULL, f->loc);
	if (!c->dyn && c->inferred) {
		int64_t v;
		if (ex_is_const_int(c->inferred, &v) && v == 0)
			col_error(c, f->loc, "PrimFunc %s allocates dynamic shared memory with a placeholder "
			          "extent but does not declare its size; annotate the kernel with "
			          "tirx.dyn_smem_bytes (SMEMPool.commit() emits it).", f->name);
		c->dyn = c->inferred;
	}
	if (c->dyn)
		add_tag(c, l->dyn, c->dyn, f->loc);
	Sym gs = global_symbol(l, f->attrs);
	in->symbol = gs ? gs : f->name;
	return c->err;
}

/* ------------------------------------------------------------ call sites */

/* Whether two targets run on one device type (TVM's GetTargetDeviceType,
 * by DLPack device code); an unknown kind only matches itself. */
static int same_device(const Obj *x, const Obj *y)
{
	static const struct { const char *kind; int dev; } kinds[] = {
		{"llvm", 1}, {"c", 1}, {"cuda", 2}, {"nvptx", 2}, {"opencl", 4}, {"vulkan", 7},
		{"metal", 8}, {"rocm", 10}, {"ext_dev", 12}, {"webgpu", 15}, {"hexagon", 16},
	};
	Sym k[2] = {target_kind(x), target_kind(y)};
	int dev[2] = {0, 0};
	for (int j = 0; j < 2; j++)
		for (size_t i = 0; k[j] && i < sizeof kinds / sizeof kinds[0]; i++)
			if (!strcmp(k[j], kinds[i].kind))
				dev[j] = kinds[i].dev;
	return dev[0] || dev[1] ? dev[0] == dev[1] : k[0] == k[1];
}

typedef struct Rewrite {
	Launch *l;
	Obj *caller;       /* the caller's target without host, or its host */
	int host;          /* the caller has a host target */
	Func *f;
	const PtrMap *index; /* function name -> 1 + its index */
	int err;
} Rewrite;

static Expr *rewrite_expr(Mutator *mu, Expr *e)
{
	Rewrite *rw = mu->data;
	Launch *l = rw->l;
	Arena *a = mu->a;
	if (e->kind != EX_CALL || e->call.op)
		return NULL;
	/* arguments first, as a post-order mutator would */
	int n = e->call.nargs;
	Expr **args = e->call.args;
	for (int i = 0; i < n; i++) {
		Expr *y = mut_expr(mu, e->call.args[i]);
		if (y != e->call.args[i] && args == e->call.args)
			args = ar_dup(a, e->call.args, (size_t)n * sizeof *args);
		args[i] = y;
	}
	Expr *node = e;
	if (args != e->call.args) {
		node = ex_dup(a, e);
		node->call.args = args;
	}
	int k = (int)(intptr_t)pmap_get(rw->index, e->call.fn) - 1;
	if (k < 0) {
		diag_error(rw->f->loc, "CallNode attempted subroutine call to %s, but %s did not appear within the IRModule",
		           e->call.fn, e->call.fn);
		rw->err = 1;
		return node;
	}
	Info *in = &l->infos[k];
	if (!in->target)
		return node; /* its collection failed and was reported */
	int callee_is_kernel = in->ntags > 0;
	/* #19605: a host caller launches a real kernel even when its target
	 * without host equals the kernel's; and compares helpers against its
	 * host target, not its device target */
	if (!(callee_is_kernel && rw->host)) {
		if (obj_eq(rw->caller, in->target))
			return node;
		if (same_device(rw->caller, in->target)) {
			in->externed = 1;
			Expr **xa = xmalloc((size_t)(n + 1) * sizeof *xa);
			xa[0] = ex_str(a, e->call.fn);
			for (int i = 0; i < n; i++)
				xa[i + 1] = node->call.args[i];
			Expr *r = ex_call(a, l->call_extern, e->call.rty, xa, n + 1);
			free(xa);
			return r;
		}
	}
	Func *callee = l->m->funcs[k];
	if (callee->nparams != n) {
		diag_error(rw->f->loc, "Function %s accepts %d arguments as input, but is called using %d arguments",
		           callee->name, callee->nparams, n);
		rw->err = 1;
		return node;
	}
	PtrMap pmap = {0};
	for (int i = 0; i < n; i++)
		if (callee->params[i].var)
			pmap_put(&pmap, callee->params[i].var, node->call.args[i]);
	in->launched = 1;
	int nl = 0;
	for (int i = 0; i < in->ntags; i++)
		nl += l->targs[in->tag0 + i] != NULL;
	Expr **pa = xmalloc((size_t)(n + nl + 1) * sizeof *pa);
	int np = 0;
	pa[np++] = ex_str(a, in->symbol);
	for (int i = 0; i < n; i++)
		pa[np++] = node->call.args[i];
	for (int i = 0; i < in->ntags; i++) {
		Expr *arg = l->targs[in->tag0 + i];
		if (arg)
			pa[np++] = pmap.n ? subst_expr(a, arg, &pmap, NULL) : arg;
	}
	pmap_free(&pmap);
	TType rty = e->call.rty.kind == TY_VOID ? ty_prim(DT_I32) : e->call.rty;
	Expr *r;
	if (l->head) {
		/* TVM 0.27: the same operands, the tags (flags included) as attrs */
		Obj *tags = obj_new(a, OB_LIST);
		tags->list.n = in->ntags;
		tags->list.items = ar_alloc(a, (size_t)(in->ntags ? in->ntags : 1) * sizeof(Obj *));
		for (int i = 0; i < in->ntags; i++)
			tags->list.items[i] = obj_str(a, l->tags[in->tag0 + i]);
		r = ex_call_ffi_kernel(a, rty, pa, np, tags);
	} else {
		r = ex_call(a, l->call_packed, rty, pa, np);
	}
	free(pa);
	return r;
}

/* -------------------------------------------------------- kernel attrs */

typedef struct Returns {
	Launch *l;
	/* CUDA keeps `return 0` as an early exit, in both forms (TVM 0.27 and
	 * HEAD do; the May 2026 form made it T.evaluate(0), which silently
	 * dropped the guard of a kernel: out-of-range threads went on) */
	int keep;
	int err;
} Returns;

static Stmt *returns_stmt(Mutator *mu, Stmt *s)
{
	Returns *r = mu->data;
	Expr *v;
	if (s->kind == ST_RETURN)
		v = s->ret.value;
	else if (s->kind == ST_EVAL && is_ret_call(r->l, s->eval.value))
		v = s->eval.value->call.nargs == 1 ? s->eval.value->call.args[0] : NULL;
	else if (s->kind == ST_ATTR && s->attr.key == r->l->dyn_key)
		/* consumed by the launch: no meaning inside the kernel */
		return s->attr.body ? mut_stmt(mu, s->attr.body) : st_seq(mu->a, NULL, 0);
	else
		return NULL;
	int64_t k;
	if (!v || !ex_is_const_int(v, &k) || k != 0) {
		diag_error(s->loc, "Device kernel may only contain a successful return, return 0");
		r->err = 1;
		return s;
	}
	if (r->keep && s->kind == ST_RETURN)
		return s;
	Stmt *ev = st_new(mu->a, ST_EVAL, s->loc);
	ev->eval.value = ex_int(mu->a, DT_I32, 0);
	return ev;
}

static Obj *tag_list(Launch *l, const Info *in)
{
	Arena *a = l->a;
	Obj *ls = obj_new(a, OB_LIST);
	ls->list.items = ar_alloc(a, (size_t)(in->ntags + 1) * sizeof(Obj *));
	for (int i = 0; i < in->ntags; i++)
		ls->list.items[ls->list.n++] = obj_str(a, l->tags[in->tag0 + i]);
	return ls;
}

static void stat_launch(PassCtx *cx, const Launch *l, const Info *in)
{
	Buf b = {0};
	for (int i = 0; i < in->ntags; i++) {
		buf_printf(&b, "%s%s", i ? " " : "", l->tags[in->tag0 + i]);
		if (l->targs[in->tag0 + i]) {
			buf_putc(&b, '=');
			tir_print_expr(&b, l->targs[in->tag0 + i]);
		}
	}
	pass_stat(cx, "kernel %s: launch %s", in->symbol, in->ntags ? b.s : "(no launch params)");
	buf_free(&b);
}

/* d with the given keys (OB_STR objects) set in order, each replaced where
 * present and appended where not: obj_dict_set applied n times, with one
 * copy. */
static Obj *dict_set_all(Arena *a, const Obj *d, Obj *const *keys, Obj *const *vals, int n)
{
	int m = d ? d->dict.n : 0;
	Obj *r = obj_new(a, OB_DICT);
	r->dict.keys = ar_alloc(a, (size_t)(m + n) * sizeof(Obj *));
	r->dict.vals = ar_alloc(a, (size_t)(m + n) * sizeof(Obj *));
	for (int i = 0; i < m; i++) {
		r->dict.keys[i] = d->dict.keys[i];
		r->dict.vals[i] = d->dict.vals[i];
	}
	r->dict.n = m;
	for (int j = 0; j < n; j++) {
		int i = 0;
		while (i < r->dict.n && !(r->dict.keys[i]->kind == OB_STR && r->dict.keys[i]->s == keys[j]->s))
			i++;
		if (i == r->dict.n)
			r->dict.keys[r->dict.n++] = keys[j];
		r->dict.vals[i] = vals[j];
	}
	return r;
}

/* The functions that calls name, and whether the function walked calls
 * any: the call-site rewrite leaves a function without calls unchanged. */
typedef struct Called {
	PtrMap names;
	int any;
} Called;

/* One walk over a function: the calls of its expressions into calls (when
 * not NULL), and every statement to col (when not NULL). */
typedef struct Scan {
	Called *calls;
	Collect *col;
} Scan;

static int scan_call(Walker *w, Expr *e)
{
	Called *c = ((Scan *)w->data)->calls;
	if (!e->call.op && e->call.fn) {
		pmap_put(&c->names, e->call.fn, (void *)1);
		c->any = 1;
	}
	return 1;
}

static int scan_stmt(Walker *w, Stmt *s)
{
	Scan *sc = w->data;
	if (sc->col)
		collect_stmt(sc->col, s);
	return 1;
}

static void scan(Scan *sc, Stmt *body)
{
	Walker w = {.stmt = scan_stmt, .data = sc};
	if (sc->calls)
		w.expr = scan_call, w.kinds = EXK(EX_CALL);
	else
		w.expr = pu_skip_expr;
	walk_stmt(&w, body);
}

int shd_lower_launch(Module *m, PassCtx *cx, int head)
{
	Arena *a = m->arena;
	int err = 0, n = m->nfuncs;
	Launch l = {
		.m = m, .a = a, .head = head,
		.infos = xcalloc((size_t)(n ? n : 1), sizeof *l.infos),
		.dyn_key = sym("tirx.dyn_smem_bytes"), .extent_key = sym("thread_extent"),
		.dyn_scope = sym("shared.dyn"), .launch_params = sym("tirx.kernel_launch_params"),
		.pdl = sym(TAG_PDL), .coop = sym(TAG_COOP), .dyn = sym(TAG_DYN), .cuda = sym("cuda"),
		.global_symbol = sym("global_symbol"), .is_global = sym("tirx.is_global_func"),
		.calling_conv = sym("calling_conv"), .host = sym("host"),
		.ret_op = op_get("tirx.ret"), .call_extern = op_get("tirx.call_extern"),
		.call_packed = op_get("tirx.tvm_call_packed"),
	};
	Info *infos = l.infos;

	/* phase 0: the calls of every function and the launch params of every
	 * called one.  A function already called by an earlier one (a kernel
	 * after its host) is collected in the walk that scans it; the others
	 * called, in a walk of their own after. */
	Called called = {{0}, 0};
	char *calls = xcalloc((size_t)(n ? n : 1), 1); /* function i calls some */
	char *done = xcalloc((size_t)(n ? n : 1), 1);  /* function i is collected */
	PtrMap index = {0};
	for (int i = 0; i < n; i++) {
		Func *f = m->funcs[i];
		Collect col;
		Scan sc = {&called, NULL};
		called.any = 0;
		if (pmap_get(&called.names, f->name)) {
			done[i] = 1;
			if (collect_begin(&col, &l, i, &infos[i]))
				sc.col = &col;
		}
		scan(&sc, f->body);
		if (sc.col)
			err |= collect_end(&col);
		else if (done[i])
			err = 1;
		calls[i] = (char)called.any;
		if (!pmap_get(&index, f->name))
			pmap_put(&index, f->name, (void *)(intptr_t)(i + 1));
	}
	for (int i = 0; i < n; i++) {
		infos[i].called = pmap_get(&called.names, m->funcs[i]->name) != NULL;
		if (!infos[i].called || done[i])
			continue;
		Collect col;
		Scan sc = {NULL, &col};
		if (collect_begin(&col, &l, i, &infos[i])) {
			scan(&sc, m->funcs[i]->body);
			err |= collect_end(&col);
		} else {
			err = 1;
		}
	}
	if (l.ndiags > 1)
		qsort(l.diags, (size_t)l.ndiags, sizeof *l.diags, deferred_cmp);
	for (int i = 0; i < l.ndiags; i++) {
		diag_error(l.diags[i].loc, "%s", l.diags[i].msg);
		free(l.diags[i].msg);
	}
	free(l.diags);
	free(done);
	pmap_free(&called.names);
	pmap_free(&l.binds);

	/* phase 1: call sites */
	for (int i = 0; i < n && !err; i++) {
		Func *f = m->funcs[i];
		if (!calls[i])
			continue;
		Obj *t = func_target(f);
		if (!t) {
			/* a function without target may not call anything */
			diag_error(f->loc, "LowerDeviceKernelLaunch: function '%s' calls functions but has no target attribute",
			           f->name);
			err = 1;
			continue;
		}
		Obj *host = target_host(a, t);
		Rewrite rw = {&l, host ? host : t, host != NULL, f, &index, 0};
		Mutator mu = {.a = a, .expr = rewrite_expr, .data = &rw};
		Stmt *body = mut_stmt(&mu, f->body);
		mut_done(&mu);
		err |= rw.err;
		pu_set_body(m, i, body);
	}

	/* phase 2: the callees' attributes (the constant keys and values are
	 * shared: attribute objects are immutable) */
	Obj *key_global = obj_str(a, l.is_global), *key_conv = obj_str(a, l.calling_conv);
	Obj *key_params = obj_str(a, l.launch_params), *key_symbol = obj_str(a, l.global_symbol);
	Obj *yes = obj_bool(a, 1), *two = obj_int(a, 2);
	for (int i = 0; i < n && !err; i++) {
		Func *f = m->funcs[i];
		Info *in = &infos[i];
		if (in->launched && in->externed) {
			diag_error(f->loc, "Function %s has multiple callees, and would need to be lowered into a "
			           "call_extern at some call sites, and a device kernel launch at others.  "
			           "This case is not yet supported.", f->name);
			err = 1;
			break;
		}
		if (!in->launched && !in->externed)
			continue;
		Func *g = ar_alloc(a, sizeof *g);
		*g = *f;
		if (in->launched) {
			g->ret = ty_void();
			if (in->returns) {
				Returns r = {&l, target_kind(in->target) == l.cuda, 0};
				Mutator mu = {.a = a, .expr = pu_keep_expr, .stmt = returns_stmt, .data = &r};
				g->body = mut_stmt(&mu, g->body);
				mut_done(&mu);
				err |= r.err;
			}
			Obj *keys[4] = {key_global, key_conv, key_params, key_symbol};
			Obj *vals[4] = {yes, two, tag_list(&l, in), obj_str(a, in->symbol)};
			g->attrs = dict_set_all(a, g->attrs, keys, vals, 4);
			if (pass_stats_on(cx))
				stat_launch(cx, &l, in);
		} else {
			Obj *keys[2] = {key_global, key_symbol};
			Obj *vals[2] = {yes, NULL};
			int k = 1;
			if (!global_symbol(&l, g->attrs))
				vals[k++] = obj_str(a, g->name);
			g->attrs = dict_set_all(a, g->attrs, keys, vals, k);
		}
		m->funcs[i] = g;
	}
	free(infos);
	free(calls);
	free(l.tags);
	free(l.targs);
	pmap_free(&index);
	return err;
}

int pass_lower_device_kernel_launch(Module **m, PassCtx *cx)
{
	return shd_lower_launch(*m, cx, 0);
}
