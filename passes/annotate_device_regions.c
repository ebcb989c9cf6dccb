/* annotate_device_regions.c: AnnotateDeviceRegions (TVM's
 * tirx.AnnotateDeviceRegions at ec3171ab7a; stage 1 of SplitHostDevice at
 * HEAD).
 *
 * IR expected: every function has a "target" attribute.
 * IR left: in a function whose target has a host, each outermost
 *   thread_extent / device_scope subtree is wrapped in
 *   `T.attr(<the target without host>, "target", 0)`; regions already
 *   wrapped in a "target" attr are left alone.  A target without a host
 *   means an all-host or all-device function: it is not touched.
 * Runs after: nothing in particular; SplitHostDevice runs next. */
#include "tir.h"
#include "passutil.h"

typedef struct Annotate {
	Obj *device; /* the function's target without host */
	Sym target, thread_extent, device_scope; /* interned once */
} Annotate;

static Stmt *annotate_stmt(Mutator *mu, Stmt *s)
{
	Annotate *an = mu->data;
	if (s->kind != ST_ATTR)
		return NULL;
	if (s->attr.key == an->target)
		return s; /* an existing region: kept whole */
	if (s->attr.key != an->thread_extent && s->attr.key != an->device_scope)
		return NULL;
	/* nested launches stay inside this one region */
	Stmt *r = st_new(mu->a, ST_ATTR, s->loc);
	r->attr.node = an->device;
	r->attr.key = an->target;
	r->attr.value = ex_int(mu->a, DT_I32, 0);
	r->attr.body = s;
	return r;
}

/* Whether target t (OB_TARGET) has a host, as target_host would say,
 * without making the host's target object. */
static int has_host(const Obj *t, Sym host)
{
	const Obj *d = t->target;
	if (!d || d->kind != OB_DICT)
		return 0;
	for (int i = 0; i < d->dict.n; i++)
		if (d->dict.keys[i]->kind == OB_STR && d->dict.keys[i]->s == host)
			return d->dict.vals[i] != NULL;
	return 0;
}

int shd_annotate(Module *m, int lo, int hi, const char *who)
{
	int err = 0;
	Sym host = sym("host");
	Annotate an = {NULL, sym("target"), sym("thread_extent"), sym("device_scope")};
	for (int i = lo; i < hi; i++) {
		Func *f = m->funcs[i];
		Obj *t = func_target(f);
		if (!t) {
			diag_error(f->loc, "%s: Require the target attribute", who);
			err = 1;
			continue;
		}
		if (!has_host(t, host))
			continue;
		/* statements only: regions are found by their attrs */
		an.device = target_without_host(m->arena, t);
		Mutator mu = {.a = m->arena, .expr = pu_keep_expr, .stmt = annotate_stmt, .data = &an};
		Stmt *body = mut_stmt(&mu, f->body);
		mut_done(&mu);
		pu_set_body(m, i, body);
	}
	return err;
}

int pass_annotate_device_regions(Module **m, PassCtx *cx)
{
	int lo, hi;
	pass_range(cx, *m, &lo, &hi);
	return shd_annotate(*m, lo, hi, "AnnotateDeviceRegions");
}
