/* lower_device_kernel_launch.c: LowerDeviceKernelLaunch (TVM's
 * tirx.LowerDeviceKernelLaunch at ec3171ab7a with both fixes of #19605;
 * stage 3 of SplitHostDevice at HEAD, whose additions it honours).
 *
 * IR expected: the output of SplitHostDevice: host functions call kernels
 *   as module functions; every function that calls or is called has a
 *   "target" attribute.
 * IR left: a call that crosses devices is a kernel launch,
 *   `T.call_packed("<symbol>", args..., <launch args>)`, whose callee gets
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
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

static const char *const TAG_PDL = "tirx.use_programtic_dependent_launch"; /* sic */
static const char *const TAG_COOP = "tirx.use_cooperative_launch";
static const char *const TAG_DYN = "tirx.use_dyn_shared_memory";

typedef struct Info {
	int called;
	Obj *target; /* without host */
	Sym symbol;
	Sym tags[64];
	Expr *args[64]; /* launch argument of tags[i]; NULL for flags */
	int ntags;
	int launched, externed;
} Info;

typedef struct Collect {
	Module *m;
	Func *f;
	Info *info;
	PtrMap binds; /* var -> its value, binds inlined */
	Expr *dyn;    /* tirx.dyn_smem_bytes */
	Expr *inferred; /* from the shared.dyn allocation */
	int saw_dyn_alloc;
	int head;
	int err;
	Sym dyn_key, extent_key, dyn_scope; /* interned once */
} Collect;

static int has_tag(const Info *in, Sym t)
{
	for (int i = 0; i < in->ntags; i++)
		if (in->tags[i] == t)
			return 1;
	return 0;
}

static void add_tag(Collect *c, Sym t, Expr *arg, Loc loc)
{
	Info *in = c->info;
	if (in->ntags == (int)(sizeof in->tags / sizeof in->tags[0])) {
		diag_error(loc, "too many launch parameters in '%s'", c->f->name);
		c->err = 1;
		return;
	}
	in->tags[in->ntags] = t;
	in->args[in->ntags++] = arg;
}

static Expr *inline_binds(Collect *c, Expr *e)
{
	return c->binds.n ? subst_expr(c->m->arena, e, &c->binds, NULL) : e;
}

static Expr *mul(Arena *a, Expr *x, Expr *y)
{
	const char *err = NULL;
	Expr *r = arith_binary(a, EX_MUL, x, y, &err);
	return r ? r : ex_bin(a, EX_MUL, x, y);
}

static int collect_stmt(Walker *w, Stmt *s)
{
	Collect *c = w->data;
	Arena *a = c->m->arena;
	if (s->kind == ST_BIND) {
		pmap_put(&c->binds, s->bind.var, inline_binds(c, s->bind.value));
	} else if (s->kind == ST_ATTR && s->attr.key == c->dyn_key) {
		int64_t v;
		if (c->dyn) {
			diag_error(s->loc, "Only one tirx.dyn_smem_bytes declaration is allowed per kernel.");
			c->err = 1;
		} else if (!s->attr.value || !ex_is_const_int(s->attr.value, &v)) {
			diag_error(s->loc, "tirx.dyn_smem_bytes must be an IntImm");
			c->err = 1;
		} else {
			c->dyn = s->attr.value;
		}
	} else if (s->kind == ST_ATTR && s->attr.key == c->extent_key) {
		Obj *node = s->attr.node;
		Sym tag = NULL;
		if (node && node->kind == OB_ITERVAR)
			tag = node->iv.tag;
		else if (node && node->kind == OB_EXPR && node->expr && node->expr->kind == EX_VAR)
			tag = node->expr->var->name;
		if (!tag || !*tag) {
			diag_error(s->loc, "thread_extent node must be an IterVar or Var with a thread tag");
			c->err = 1;
		} else if (!has_tag(c->info, tag)) {
			add_tag(c, tag, inline_binds(c, s->attr.value), s->loc);
		}
	} else if (s->kind == ST_ALLOC && s->alloc.buf->scope == c->dyn_scope) {
		Buffer *b = s->alloc.buf;
		if (c->saw_dyn_alloc) {
			diag_error(s->loc, "Only one dynamic shared memory allocation is allowed.");
			c->err = 1;
		} else if (b->ndim == 0) {
			diag_error(s->loc, "a shared.dyn allocation needs a shape");
			c->err = 1;
		} else {
			c->saw_dyn_alloc = 1;
			Expr *size = ex_int(a, DT_I32, 1);
			for (int i = 0; i < b->ndim; i++)
				size = mul(a, size, b->shape[i]);
			/* HEAD: StorageBytes as int64; ec3171ab7a: bytes() as int */
			int bytes = dt_bytes(b->dt);
			size = mul(a, size, ex_int(a, c->head ? DT_I64 : DT_I32, bytes));
			c->inferred = inline_binds(c, size);
		}
	}
	return 1;
}

static int requested(const Func *f, const char *tag)
{
	Obj *l = obj_dict_get(f->attrs, "tirx.kernel_launch_params");
	if (!l || l->kind != OB_LIST)
		return 0;
	for (int i = 0; i < l->list.n; i++)
		if (l->list.items[i]->kind == OB_STR && l->list.items[i]->s == sym(tag))
			return 1;
	return 0;
}

/* DeviceInfoCollector: the launch params of f.  Returns 1 on error. */
static int collect(Module *m, Func *f, Info *in, int head)
{
	Obj *t = func_target(f);
	if (!t) {
		diag_error(f->loc, "LowerDeviceKernelLaunch: function '%s' is called but has no target attribute",
		           f->name);
		return 1;
	}
	in->target = target_without_host(m->arena, t);
	Collect c = {m, f, in, {0}, NULL, NULL, 0, head, 0,
	             sym("tirx.dyn_smem_bytes"), sym("thread_extent"), sym("shared.dyn")};
	Walker w = {.stmt = collect_stmt, .expr = pu_skip_expr, .data = &c};
	walk_stmt(&w, f->body);
	if (requested(f, TAG_PDL))
		add_tag(&c, sym(TAG_PDL), NULL, f->loc);
	if (requested(f, TAG_COOP))
		add_tag(&c, sym(TAG_COOP), NULL, f->loc);
	if (!c.dyn && c.inferred) {
		int64_t v;
		if (ex_is_const_int(c.inferred, &v) && v == 0) {
			diag_error(f->loc, "PrimFunc %s allocates dynamic shared memory with a placeholder "
			           "extent but does not declare its size; annotate the kernel with "
			           "tirx.dyn_smem_bytes (SMEMPool.commit() emits it).", f->name);
			c.err = 1;
		}
		c.dyn = c.inferred;
	}
	if (c.dyn)
		add_tag(&c, sym(TAG_DYN), c.dyn, f->loc);
	Sym gs = func_global_symbol(f);
	in->symbol = gs ? gs : f->name;
	pmap_free(&c.binds);
	return c.err;
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
	Module *m;
	Info *infos;       /* per function index */
	Obj *caller;       /* the caller's target without host */
	Obj *caller_host;  /* its host target, NULL for a device caller */
	Func *f;
	const PtrMap *index; /* function name -> 1 + its index */
	int err;
} Rewrite;

static Expr *rewrite_expr(Mutator *mu, Expr *e)
{
	Rewrite *rw = mu->data;
	Arena *a = mu->a;
	if (e->kind != EX_CALL || e->call.op)
		return NULL;
	/* arguments first, as a post-order mutator would */
	int n = e->call.nargs;
	Expr **args = ar_alloc(a, (size_t)(n + 1) * sizeof *args);
	int changed = 0;
	for (int i = 0; i < n; i++) {
		args[i] = mut_expr(mu, e->call.args[i]);
		changed |= args[i] != e->call.args[i];
	}
	Expr *node = e;
	if (changed) {
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
	Info *in = &rw->infos[k];
	if (!in->target)
		return node; /* its collection failed and was reported */
	int callee_is_kernel = in->ntags > 0;
	Obj *caller = rw->caller_host ? rw->caller_host : rw->caller;
	/* #19605: a host caller launches a real kernel even when its target
	 * without host equals the kernel's; and compares helpers against its
	 * host target, not its device target */
	if (!(callee_is_kernel && rw->caller_host)) {
		if (obj_eq(caller, in->target))
			return node;
		if (same_device(caller, in->target)) {
			in->externed = 1;
			Expr **xa = ar_alloc(a, (size_t)(n + 1) * sizeof *xa);
			xa[0] = ex_str(a, e->call.fn);
			for (int i = 0; i < n; i++)
				xa[i + 1] = node->call.args[i];
			return ex_call(a, op_get("tirx.call_extern"), e->call.rty, xa, n + 1);
		}
	}
	Func *callee = rw->m->funcs[k];
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
		nl += in->args[i] != NULL;
	Expr **pa = ar_alloc(a, (size_t)(n + nl + 1) * sizeof *pa);
	int np = 0;
	pa[np++] = ex_str(a, in->symbol);
	for (int i = 0; i < n; i++)
		pa[np++] = node->call.args[i];
	for (int i = 0; i < in->ntags; i++)
		if (in->args[i])
			pa[np++] = pmap.n ? subst_expr(a, in->args[i], &pmap, NULL) : in->args[i];
	pmap_free(&pmap);
	TType rty = e->call.rty.kind == TY_VOID ? ty_prim(DT_I32) : e->call.rty;
	return ex_call(a, op_get("tirx.tvm_call_packed"), rty, pa, np);
}

/* -------------------------------------------------------- kernel attrs */

typedef struct Returns {
	int keep; /* cuda at HEAD keeps `return 0` as an early exit */
	int err;
	Sym dyn_key; /* "tirx.dyn_smem_bytes" */
} Returns;

static int is_ret_call(const Expr *e)
{
	return e && e->kind == EX_CALL && e->call.op == op_get("tirx.ret");
}

static Stmt *returns_stmt(Mutator *mu, Stmt *s)
{
	Returns *r = mu->data;
	Expr *v;
	if (s->kind == ST_RETURN)
		v = s->ret.value;
	else if (s->kind == ST_EVAL && is_ret_call(s->eval.value))
		v = s->eval.value->call.nargs == 1 ? s->eval.value->call.args[0] : NULL;
	else if (s->kind == ST_ATTR && s->attr.key == r->dyn_key)
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

static Obj *tag_list(Arena *a, const Info *in)
{
	Obj *l = obj_new(a, OB_LIST);
	l->list.items = ar_alloc(a, (size_t)(in->ntags + 1) * sizeof(Obj *));
	for (int i = 0; i < in->ntags; i++)
		l->list.items[l->list.n++] = obj_str(a, in->tags[i]);
	return l;
}

static void stat_launch(PassCtx *cx, const Info *in)
{
	Buf b = {0};
	for (int i = 0; i < in->ntags; i++) {
		buf_printf(&b, "%s%s", i ? " " : "", in->tags[i]);
		if (in->args[i]) {
			buf_putc(&b, '=');
			tir_print_expr(&b, in->args[i]);
		}
	}
	pass_stat(cx, "kernel %s: launch %s", in->symbol, in->ntags ? b.s : "(no launch params)");
	buf_free(&b);
}

/* The functions that calls name, and whether the function walked calls
 * any: the call-site rewrite leaves a function without calls unchanged. */
typedef struct Called {
	PtrMap names;
	int any;
} Called;

static int called_expr(Walker *w, Expr *e)
{
	Called *c = w->data;
	if (e->kind == EX_CALL && !e->call.op && e->call.fn) {
		pmap_put(&c->names, e->call.fn, (void *)1);
		c->any = 1;
	}
	return 1;
}

int shd_lower_launch(Module *m, PassCtx *cx, int head)
{
	Arena *a = m->arena;
	int err = 0, n = m->nfuncs;
	Info *infos = xcalloc((size_t)(n ? n : 1), sizeof *infos);

	/* phase 0: the launch params of every called function */
	Called called = {{0}, 0};
	Walker cw = {.expr = called_expr, .data = &called};
	char *calls = xcalloc((size_t)(n ? n : 1), 1); /* function i calls some */
	PtrMap index = {0};
	for (int i = 0; i < n; i++) {
		called.any = 0;
		walk_stmt(&cw, m->funcs[i]->body);
		calls[i] = (char)called.any;
		if (!pmap_get(&index, m->funcs[i]->name))
			pmap_put(&index, m->funcs[i]->name, (void *)(intptr_t)(i + 1));
	}
	for (int i = 0; i < n; i++) {
		infos[i].called = pmap_get(&called.names, m->funcs[i]->name) != NULL;
		if (infos[i].called)
			err |= collect(m, m->funcs[i], &infos[i], head);
	}
	pmap_free(&called.names);

	/* phase 1: call sites */
	for (int i = 0; i < n && !err; i++) {
		Func *f = m->funcs[i];
		Obj *t = func_target(f);
		if (!calls[i])
			continue;
		Rewrite rw = {m, infos, NULL, NULL, f, &index, 0};
		if (t) {
			rw.caller = target_without_host(a, t);
			rw.caller_host = target_host(a, t);
		}
		Mutator mu = {.a = a, .expr = rewrite_expr, .data = &rw};
		if (!t) {
			/* a function without target may not call anything */
			diag_error(f->loc, "LowerDeviceKernelLaunch: function '%s' calls functions but has no target attribute",
			           f->name);
			err = 1;
			continue;
		}
		Stmt *body = mut_stmt(&mu, f->body);
		mut_done(&mu);
		err |= rw.err;
		pu_set_body(m, i, body);
	}

	/* phase 2: the callees' attributes */
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
		g->attrs = obj_dict_set(a, g->attrs, "tirx.is_global_func", obj_bool(a, 1));
		if (in->launched) {
			g->ret = ty_void();
			Returns r = {head && target_kind(in->target) == sym("cuda"), 0, sym("tirx.dyn_smem_bytes")};
			Mutator mu = {.a = a, .expr = pu_keep_expr, .stmt = returns_stmt, .data = &r};
			g->body = mut_stmt(&mu, g->body);
			mut_done(&mu);
			err |= r.err;
			g->attrs = obj_dict_set(a, g->attrs, "calling_conv", obj_int(a, 2));
			g->attrs = obj_dict_set(a, g->attrs, "tirx.kernel_launch_params", tag_list(a, in));
			g->attrs = obj_dict_set(a, g->attrs, "global_symbol", obj_str(a, in->symbol));
			if (pass_stats_on(cx))
				stat_launch(cx, in);
		} else if (!func_global_symbol(g)) {
			g->attrs = obj_dict_set(a, g->attrs, "global_symbol", obj_str(a, g->name));
		}
		m->funcs[i] = g;
	}
	free(infos);
	free(calls);
	pmap_free(&index);
	return err;
}

int pass_lower_device_kernel_launch(Module **m, PassCtx *cx)
{
	return shd_lower_launch(*m, cx, 0);
}
