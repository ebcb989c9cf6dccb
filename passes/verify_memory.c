/* verify_memory.c: VerifyMemory, the "did you forget to bind?" check.
 *
 * IR expected: any verified module, before SplitHostDevice (functions still
 *              hold both the host part and the thread launches).
 * IR left:     unchanged; this is an analysis that may fail.
 * Runs after:  BindTarget, so that functions carry their target.
 *
 * A function whose target is a GPU (cuda, opencl, vulkan, metal, rocm), with
 * the default calling convention, must not load or store a buffer parameter
 * outside a thread launch: that code would run on the host against device
 * memory.  An access counts when the buffer's data is a buffer parameter's
 * data: the parameter itself, a T.decl_buffer over `P.data` (FlattenBuffer's
 * flat aliases, or the user's), over a variable bound to `P.data`, or over
 * another such alias.  Buffers allocated inside the function may live
 * anywhere and are skipped; so are functions without a target (host
 * helpers).  The error is reported at the first offending access.
 *
 * Deviation from TVM 0.27: TVM compares buffer variables, so it misses
 * every access through an alias, and since it runs after FlattenBuffer, every
 * access to a buffer parameter that FlattenBuffer rewrote to its flat alias:
 * a host-side store to device memory passes its default pipeline.  And TVM
 * counts only thread launches as device code, so it also refuses accesses
 * under a device_scope attr or a target region, which the split moves to
 * the device. */
#include <string.h>
#include "tir.h"

typedef struct VM {
	Func *f;
	PtrMap dev;   /* Buffer* or Var* whose data pointer is a parameter's -> 1 */
	Sym thread_extent, device_scope, target;
	Buf errs;     /* one "    Variable ..." line per offending access */
	int nerrs;
	Loc first;    /* where the first offending access is */
	Loc cur;      /* the statement being walked */
} VM;

static int is_gpu_kind(Sym k)
{
	return k == sym("cuda") || k == sym("opencl") || k == sym("vulkan") ||
	       k == sym("metal") || k == sym("rocm");
}

/* Whether b's data pointer is a buffer parameter's (see the header). */
static int from_args(VM *v, Buffer *b)
{
	Func *f = v->f;
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].buf == b)
			return 1;
	return pmap_get(&v->dev, b) != NULL;
}

/* Whether pointer expression e is a buffer parameter's data. */
static int param_data(VM *v, const Expr *e)
{
	if (e && e->kind == EX_BUFDATA)
		return from_args(v, e->buf);
	return e && e->kind == EX_VAR && pmap_get(&v->dev, e->var);
}

static void access(VM *v, Buffer *b, Loc loc)
{
	if (!from_args(v, b))
		return;
	if (!v->nerrs)
		v->first = loc;
	v->nerrs++;
	buf_printf(&v->errs, "    Variable `%s` is directly accessed by host memory (it is not "
	           "contained in a thread environment or in the function arguments.\n", b->name);
}

static int vm_expr(Walker *w, Expr *e)
{
	if (e->kind == EX_LOAD)
		{
		VM *v = w->data;
		access(v, e->load.buf, v->cur);
	}
	return 1;
}

/* Nothing below a device region can be reported (every access there runs
 * on the device), so the walk does not enter one.  A region is a thread
 * launch, as in TVM, or what the split also outlines: a device_scope attr,
 * or a region AnnotateDeviceRegions already marked with a target attr. */
static int vm_stmt(Walker *w, Stmt *s)
{
	VM *v = w->data;
	if (s->loc.file >= 0)
		v->cur = s->loc;
	if (s->kind == ST_STORE)
		access(v, s->store.buf, s->loc);
	else if (s->kind == ST_DECL && param_data(v, s->decl.data))
		pmap_put(&v->dev, s->decl.buf, (void *)1);
	else if (s->kind == ST_BIND && param_data(v, s->bind.value))
		pmap_put(&v->dev, s->bind.var, (void *)1);
	return !(s->kind == ST_ATTR && (s->attr.key == v->thread_extent ||
	                                s->attr.key == v->device_scope || s->attr.key == v->target));
}

static int verify_func(Func *f)
{
	Obj *t = func_target(f);
	if (!t || !is_gpu_kind(target_kind(t)))
		return 0;
	Obj *cc = obj_dict_get(f->attrs, "calling_conv");
	if (cc && (cc->kind == OB_INT || cc->kind == OB_BOOL) && cc->i != 0)
		return 0;
	VM v = {.f = f, .cur = f->loc, .thread_extent = sym("thread_extent"),
	        .device_scope = sym("device_scope"), .target = sym("target")};
	Walker w = {.stmt = vm_stmt, .expr = vm_expr, .data = &v};
	walk_stmt(&w, f->body);
	int bad = v.nerrs;
	if (bad)
		diag_error(v.first, "Memory verification failed with the following errors:\n%s"
		           "  Did you forget to bind?\nin function `%s`", v.errs.s, f->name);
	buf_free(&v.errs);
	pmap_free(&v.dev);
	return bad != 0;
}

int pass_verify_memory(Module **m, PassCtx *cx)
{
	int bad = 0;
	/* TVM throws at the first failing function. */
	int lo, hi;
	pass_range(cx, *m, &lo, &hi);
	for (int i = lo; i < hi && !bad; i++)
		bad = verify_func((*m)->funcs[i]);
	return bad;
}
