/* bind_target.c: BindTarget (TVM's tirx.BindTarget, as tirx.build runs it
 * with the --target / --host of the command line).
 *
 * IR expected: any module.  Without --target only rule 1 applies, to each
 * function's own target (what tirx.build does with a target per function).
 * IR left: every function has a "target" attribute, by TVM's rules:
 *   1. a function with a target keeps it; if it is externally visible
 *      (global_symbol) and its target has no host, the host is added;
 *   2. a function marked tirx.is_host_func gets the host target (with
 *      itself as host) and loses the mark;
 *   3. an externally visible function gets the target with its host;
 *   4. a private function gets, by where the externally visible functions
 *      call it: host only -> the host target; device only or nowhere -> the
 *      target without host; both -> the target without host, plus a copy
 *      `<name>_host` with the host target that the host call sites use.
 *   "Device" means under a thread_extent, virtual_thread or
 *   tirx.device_entry attr, or a thread-binding loop.
 * The host is --host, else the target's own host, else the target itself
 * when it is a CPU, else llvm (tirx.build's choice when llvm is enabled).
 * A function whose own target differs from --target (hosts aside) draws a
 * warning that names it: --target does not apply to it.
 * Runs after: nothing; it is the first pass of the pipeline. */
#include <string.h>
#include "tir.h"
#include "passutil.h"

enum { CALLED_HOST = 1, CALLED_DEVICE = 2 };

static int is_gpu_scope(const Stmt *s)
{
	if (s->kind == ST_FOR)
		return s->loop.kind == FOR_THREAD_BINDING;
	return s->kind == ST_ATTR &&
	       (s->attr.key == sym("thread_extent") || s->attr.key == sym("virtual_thread") ||
	        s->attr.key == sym("tirx.device_entry"));
}

/* ---------------------------------------------------- who calls whom */

typedef struct Callers {
	PtrMap where; /* callee name -> CALLED_* bits */
	int gpu;
} Callers;

static int callers_stmt(Walker *w, Stmt *s)
{
	Callers *c = w->data;
	if (c->gpu || !is_gpu_scope(s))
		return 1;
	c->gpu = 1;
	walk_stmt(w, s); /* again, now inside the scope */
	c->gpu = 0;
	return 0;
}

static int callers_expr(Walker *w, Expr *e)
{
	Callers *c = w->data;
	if (e->kind == EX_CALL && !e->call.op && e->call.fn) {
		intptr_t bits = (intptr_t)pmap_get(&c->where, e->call.fn);
		bits |= c->gpu ? CALLED_DEVICE : CALLED_HOST;
		pmap_put(&c->where, e->call.fn, (void *)bits);
	}
	return 1;
}

/* ------------------------------------------- host call sites -> copies */

typedef struct Redirect {
	PtrMap to; /* name -> name of the host copy */
	int gpu;
} Redirect;

static Stmt *redirect_stmt(Mutator *mu, Stmt *s)
{
	Redirect *r = mu->data;
	if (r->gpu || !is_gpu_scope(s))
		return NULL;
	r->gpu = 1;
	Stmt *out = mut_stmt(mu, s);
	r->gpu = 0;
	return out;
}

static Expr *redirect_expr(Mutator *mu, Expr *e)
{
	Redirect *r = mu->data;
	if (r->gpu || e->kind != EX_CALL || e->call.op || !pmap_get(&r->to, e->call.fn))
		return NULL;
	Expr *n = ex_dup(mu->a, e);
	n->call.fn = pmap_get(&r->to, e->call.fn);
	n->call.args = ar_alloc(mu->a, (size_t)(e->call.nargs + 1) * sizeof *n->call.args);
	for (int i = 0; i < e->call.nargs; i++)
		n->call.args[i] = mut_expr(mu, e->call.args[i]);
	return n;
}

/* ------------------------------------------------------------------ */

static Func *with_target(Arena *a, const Func *f, Obj *t)
{
	Func *g = ar_alloc(a, sizeof *g);
	*g = *f;
	g->attrs = obj_dict_set(a, f->attrs, "target", t);
	return g;
}

/* A copy of f with fresh vars and buffers (TVM's RenewDefs). */
static Func *renew_func(Arena *a, const Func *f)
{
	PtrMap map = {0};
	Mutator mu;
	renew_init(&mu, a, &map);
	Func *g = ar_alloc(a, sizeof *g);
	*g = *f;
	g->params = ar_alloc(a, (size_t)(f->nparams + 1) * sizeof *g->params);
	for (int i = 0; i < f->nparams; i++) {
		g->params[i].var = mut_var(&mu, f->params[i].var);
		g->params[i].buf = mut_buffer(&mu, f->params[i].buf);
	}
	g->body = mut_stmt(&mu, f->body);
	mut_done(&mu);
	pmap_free(&map);
	return g;
}

static int nonzero(const Obj *o)
{
	return o && (o->kind == OB_BOOL || o->kind == OB_INT) && o->i != 0;
}

static Obj *parse_target(Arena *a, const char *opt, const char *spec)
{
	const char *why = NULL;
	Obj *t = target_parse(a, spec, &why);
	if (!t)
		diag_error(NOLOC, "BindTarget: %s=%s: %s", opt, spec, why ? why : "not a target");
	return t;
}

/* Without --target, tirx.build still binds each externally visible
 * function's own target to a host (rule 1): --host, else the target itself
 * when it is a CPU, else llvm. */
static int add_hosts(Module *m, PassCtx *cx)
{
	Arena *a = m->arena;
	Obj *given = NULL;
	if (pass_host(cx) && !(given = parse_target(a, "--host", pass_host(cx))))
		return 1;
	for (int i = 0; i < m->nfuncs; i++) {
		Func *f = m->funcs[i];
		Obj *ft = func_target(f);
		if (!ft || func_is_private(f) || target_host(a, ft))
			continue;
		const char *why = NULL;
		Obj *host = given ? given : target_is_cpu(ft) ? ft : target_parse(a, "llvm", &why);
		m->funcs[i] = with_target(a, f, target_with_host(a, ft, target_without_host(a, host)));
	}
	return 0;
}

/* The warning for a function that keeps its own target t, which differs
 * from --target=spec: the kind, and the arch or CPU that tell two targets
 * of one kind apart, and its tag. */
static void warn_own_target(const Func *f, const Obj *t, const char *spec)
{
	Buf d = {0};
	buf_puts(&d, target_kind(t) ? target_kind(t) : "?");
	static const char *const keys[] = {"arch", "mcpu"};
	for (int i = 0; i < 2; i++) {
		Obj *v = obj_dict_get(t->target, keys[i]);
		if (v && v->kind == OB_STR)
			buf_printf(&d, " -%s=%s", keys[i], v->s);
	}
	Obj *tag = obj_dict_get(t->target, "tag");
	if (tag && tag->kind == OB_STR && *tag->s)
		buf_printf(&d, " (tag %s)", tag->s);
	diag_warning(f->loc, "--target=%s does not apply to function '%s', which keeps its own "
	             "target '%s'", spec, f->name, d.s);
	buf_free(&d);
}

int pass_bind_target(Module **mp, PassCtx *cx)
{
	Module *m = *mp;
	Arena *a = m->arena;
	const char *spec = pass_target(cx);
	if (!spec)
		return add_hosts(m, cx);
	Obj *t = parse_target(a, "--target", spec);
	if (!t)
		return 1;
	Obj *host;
	if (pass_host(cx)) {
		if (!(host = parse_target(a, "--host", pass_host(cx))))
			return 1;
	} else if (target_host(a, t)) {
		host = target_host(a, t);
	} else if (target_is_cpu(t)) {
		host = t;
	} else {
		const char *why = NULL;
		host = target_parse(a, "llvm", &why);
	}
	host = target_without_host(a, host);
	Obj *full = target_with_host(a, t, host);
	Obj *device = target_without_host(a, full);

	/* where the externally visible functions call each function */
	Callers cl = {{0}, 0};
	Walker w = {.stmt = callers_stmt, .expr = callers_expr, .data = &cl};
	for (int i = 0; i < m->nfuncs; i++)
		if (!func_is_private(m->funcs[i]))
			walk_stmt(&w, m->funcs[i]->body);

	Redirect rd = {{0}, 0};
	PtrMap names = {0};
	int n = m->nfuncs;
	for (int i = 0; i < n; i++) {
		Func *f = m->funcs[i];
		int exposed = !func_is_private(f);
		Obj *ft = func_target(f);
		if (ft) {
			/* TVM's rule keeps the function's own target; an option that
			 * silently does nothing would be a trap */
			if (!obj_eq(target_without_host(a, ft), device))
				warn_own_target(f, ft, spec);
			if (exposed && !target_host(a, ft))
				m->funcs[i] = with_target(a, f, target_with_host(a, ft, host));
			continue;
		}
		if (nonzero(obj_dict_get(f->attrs, "tirx.is_host_func"))) {
			Func *g = with_target(a, f, target_with_host(a, host, host));
			g->attrs = obj_dict_del(a, g->attrs, "tirx.is_host_func");
			m->funcs[i] = g;
			continue;
		}
		if (exposed) {
			m->funcs[i] = with_target(a, f, full);
			continue;
		}
		intptr_t bits = (intptr_t)pmap_get(&cl.where, f->name);
		if (bits == (CALLED_HOST | CALLED_DEVICE)) {
			Buf hn = {0};
			buf_printf(&hn, "%s_host", f->name);
			Func *copy = with_target(a, renew_func(a, f), host);
			copy->name = fresh_func_name(m, &names, hn.s);
			buf_free(&hn);
			mod_add(m, copy);
			pmap_put(&rd.to, f->name, (void *)copy->name);
			m->funcs[i] = with_target(a, f, device);
		} else if (bits == CALLED_HOST) {
			m->funcs[i] = with_target(a, f, host);
		} else {
			m->funcs[i] = with_target(a, f, device);
		}
	}

	/* host call sites of the functions copied for the host */
	if (rd.to.n) {
		for (int i = 0; i < n; i++) {
			Func *f = m->funcs[i];
			if (func_is_private(f))
				continue;
			Mutator mu = {.a = a, .stmt = redirect_stmt, .expr = redirect_expr, .data = &rd};
			Stmt *body = mut_stmt(&mu, f->body);
			mut_done(&mu);
			pu_set_body(m, i, body);
		}
	}
	pmap_free(&cl.where);
	pmap_free(&rd.to);
	pmap_free(&names);
	return 0;
}
