/* verify_memory.c: VerifyMemory, the "did you forget to bind?" check.
 *
 * IR expected: any verified module, before SplitHostDevice (functions still
 *              hold both the host part and the thread launches).
 * IR left:     unchanged; this is an analysis that may fail.
 * Runs after:  BindTarget, so that functions carry their target.
 *
 * A function whose target is a GPU (cuda, opencl, vulkan, metal, rocm), with
 * the default calling convention, must not load or store a buffer parameter
 * outside its first thread launch: that code would run on the host against
 * device memory.  As in TVM, only accesses through a buffer parameter itself
 * (or through a var bound to a tvm_struct_get chain rooted at the first
 * parameter) count; buffers allocated inside the function, and aliases made
 * with T.decl_buffer, may live anywhere and are skipped.  Functions without
 * a target are host helpers and are skipped too. */
#include <string.h>
#include "tir.h"

typedef struct VM {
	Func *f;
	Sym thread_extent;
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

/* In TVM a buffer parameter is its own var, and TVM's test also follows
 * Bind chains of tvm_struct_get back to the first parameter; a var reached
 * that way is a pointer, and a buffer over it is a DeclBuffer, which defines
 * a new buffer var that TVM does not trace.  So the whole test is: is b a
 * buffer parameter. */
static int from_args(VM *v, Buffer *b)
{
	Func *f = v->f;
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].buf == b)
			return 1;
	return 0;
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

/* Nothing below the first thread_extent can be reported (every access
 * there is in a thread environment), so the walk stops at it. */
static int vm_stmt(Walker *w, Stmt *s)
{
	VM *v = w->data;
	if (s->loc.file >= 0)
		v->cur = s->loc;
	if (s->kind == ST_STORE)
		access(v, s->store.buf, s->loc);
	return !(s->kind == ST_ATTR && s->attr.key == v->thread_extent);
}

static int verify_func(Func *f)
{
	Obj *t = func_target(f);
	if (!t || !is_gpu_kind(target_kind(t)))
		return 0;
	Obj *cc = obj_dict_get(f->attrs, "calling_conv");
	if (cc && (cc->kind == OB_INT || cc->kind == OB_BOOL) && cc->i != 0)
		return 0;
	VM v = {.f = f, .cur = f->loc, .thread_extent = sym("thread_extent")};
	Walker w = {.stmt = vm_stmt, .expr = vm_expr, .data = &v};
	walk_stmt(&w, f->body);
	int bad = v.nerrs;
	if (bad)
		diag_error(v.first, "Memory verification failed with the following errors:\n%s"
		           "  Did you forget to bind?\nin function `%s`", v.errs.s, f->name);
	buf_free(&v.errs);
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
