/* lower_tirx_opaque.c: LowerTIRxOpaque (TVM 0.27's tirx.LowerTIRxOpaque, the
 * TIRx counterpart of s_tir.LowerOpaqueBlock, which the s_tir pipeline runs
 * at the same place: right before FlattenBuffer).
 *
 * IR expected: any verified module (TIRx has no SBlocks, so of TVM's pass
 *   only the loop rewrites apply).
 * IR left:
 *   - every thread-binding loop `for v in T.thread_binding(n, thread=tag)`
 *     is a thread launch of its variable, `v = T.launch_thread(tag, n)`:
 *     an attr `thread_extent` (`virtual_thread` for vthread tags) over an
 *     iteration variable (v, range 0..n, thread index, tag) with value n
 *     and the loop's body.  The loop's annotations go with the loop.
 *   - every other loop whose extent is the constant 1 and that has no
 *     annotations is gone: its body stays, with the loop variable replaced
 *     by the loop's start (cast to the variable's type if needed).
 *   - other loops are unchanged, annotations included.
 * Runs after: nothing (BindTarget recognises device code by thread-binding
 *   loops as well as by launches).  The passes that look for thread launches
 *   (VerifyMemory, ThreadSync, MergeSharedMemoryAllocations, the split) list
 *   it in their `after`.
 *
 * Deviations from TVM 0.27, each where TVM's output would be wrong or
 * ill-formed:
 *   - a thread-binding loop that does not start at 0, or has a step other
 *     than 1, is refused: a launch always runs its variable over 0..n-1 and
 *     TVM drops the start and the step without a word;
 *   - `pragma_*` annotations (other than pragma_unroll) stay on their loop;
 *     TVM moves them to `T.attr(v, "pragma_...", value)` statements around
 *     the loop, whose node is the loop variable used before the loop
 *     defines it (the verifier refuses that).  On a thread-binding loop,
 *     which does not survive as a loop, they are refused.  Other
 *     annotations of a thread-binding loop are dropped, as in TVM.
 * A thread-binding loop in a function whose target is a CPU, outside a
 * `target` region, is refused here, at the loop: the launch it would become
 * has no place in host code (the verifier's rule; TVM fails later). */
#include <string.h>
#include "tir.h"
#include "passutil.h"

typedef struct LO {
	PtrMap unit; /* Var* of an eliminated unit loop -> Expr* (its start) */
	Sym thread_extent, virtual_thread, target;
	const Func *f;
	int cpu;       /* f's target is a CPU: GPU threads need a target region */
	int in_region; /* depth of `target` attrs */
	int failed;
} LO;

static int is_const(const Expr *e, int64_t v)
{
	int64_t x;
	return e && ex_is_const_int(e, &x) && x == v;
}

static int no_annotations(const Obj *ann)
{
	return !ann || (ann->kind == OB_DICT && ann->dict.n == 0);
}

/* The first `pragma_*` key of a loop's annotations other than
 * pragma_unroll (which TVM keeps on the loop), or NULL. */
static Sym pragma_key(const Obj *ann)
{
	if (!ann || ann->kind != OB_DICT)
		return NULL;
	for (int i = 0; i < ann->dict.n; i++) {
		const Obj *k = ann->dict.keys[i];
		if (k->kind == OB_STR && !strncmp(k->s, "pragma_", 7) && strcmp(k->s, "pragma_unroll"))
			return k->s;
	}
	return NULL;
}

static Expr *lo_expr(Mutator *mu, Expr *e)
{
	LO *lo = mu->data;
	return pmap_get(&lo->unit, e->var);
}

/* for v in T.thread_binding(min, min + n, thread=tag): the launch of v over
 * n threads, or NULL after a diagnostic. */
static Stmt *launch(Mutator *mu, Stmt *s)
{
	LO *lo = mu->data;
	Sym tag = s->loop.thread;
	if (!is_const(s->loop.min, 0)) {
		diag_error(s->loc, "thread-binding loop '%s' (%s) must start at 0: a thread launch "
		           "always counts from 0", s->loop.var->name, tag ? tag : "?");
		return NULL;
	}
	if (s->loop.step && !is_const(s->loop.step, 1)) {
		diag_error(s->loc, "thread-binding loop '%s' (%s) must have step 1: a thread launch "
		           "has no step", s->loop.var->name, tag ? tag : "?");
		return NULL;
	}
	Sym pk = pragma_key(s->loop.annotations);
	if (pk) {
		diag_error(s->loc, "annotation '%s' on thread-binding loop '%s' is not supported: "
		           "the loop becomes a thread launch, which has no annotations", pk,
		           s->loop.var->name);
		return NULL;
	}
	if (!tag || !*tag) {
		diag_error(s->loc, "thread-binding loop '%s' has no thread tag", s->loop.var->name);
		return NULL;
	}
	if (lo->cpu && !lo->in_region) {
		diag_error(s->loc, "thread-binding loop '%s' binds thread '%s' in function '%s', "
		           "whose target is a CPU (%s)", s->loop.var->name, tag, lo->f->name,
		           target_kind(func_target(lo->f)));
		return NULL;
	}
	/* the start and extent are rewritten before the body, as TVM does */
	Stmt *r = mut_stmt_children(mu, s);
	Obj *iv = obj_new(mu->a, OB_ITERVAR);
	iv->iv.var = r->loop.var;
	iv->iv.min = r->loop.min;
	iv->iv.extent = r->loop.extent;
	iv->iv.itype = IV_THREADINDEX;
	iv->iv.tag = tag;
	Stmt *a = st_new(mu->a, ST_ATTR, s->loc);
	a->attr.node = iv;
	a->attr.key = strncmp(tag, "vthread", 7) ? lo->thread_extent : lo->virtual_thread;
	a->attr.value = r->loop.extent;
	a->attr.body = r->loop.body;
	return a;
}

static Stmt *lo_stmt(Mutator *mu, Stmt *s)
{
	LO *lo = mu->data;
	if (s->kind == ST_ATTR && s->attr.key == lo->target) {
		lo->in_region++;
		Stmt *r = mut_stmt_children(mu, s);
		lo->in_region--;
		return r;
	}
	if (s->kind != ST_FOR)
		return NULL;
	if (s->loop.kind == FOR_THREAD_BINDING) {
		Stmt *r = launch(mu, s);
		if (!r)
			lo->failed = 1;
		return r ? r : s;
	}
	if (!is_const(s->loop.extent, 1) || !no_annotations(s->loop.annotations))
		return NULL;
	/* a unit loop: its body, at v = min */
	Var *v = s->loop.var;
	Expr *mn = mut_expr(mu, s->loop.min);
	if (!dt_eq(mn->dt, v->dt))
		mn = arith_cast(mu->a, v->dt, mn);
	pmap_put(&lo->unit, v, mn);
	return mut_stmt(mu, s->loop.body);
}

/* Whether f has a loop this pass rewrites: a statement-only walk, cheaper
 * than the rewrite. */
static int find_loop(Walker *w, Stmt *s)
{
	if (s->kind == ST_FOR &&
	    (s->loop.kind == FOR_THREAD_BINDING ||
	     (is_const(s->loop.extent, 1) && no_annotations(s->loop.annotations))))
		*(int *)w->data = 1;
	return !*(int *)w->data;
}

int pass_lower_tirx_opaque(Module **m, PassCtx *cx)
{
	LO lo = {.thread_extent = sym("thread_extent"), .virtual_thread = sym("virtual_thread"),
	         .target = sym("target")};
	int lo_i, hi;
	pass_range(cx, *m, &lo_i, &hi);
	for (int i = lo_i; i < hi && !lo.failed; i++) {
		Func *f = (*m)->funcs[i];
		int found = 0;
		Walker w = {.stmt = find_loop, .expr = pu_skip_expr, .data = &found};
		walk_stmt(&w, f->body);
		if (!found)
			continue;
		Obj *t = func_target(f);
		lo.f = f;
		lo.cpu = t && target_is_cpu(t);
		Mutator mu = {.a = (*m)->arena, .expr = lo_expr, .stmt = lo_stmt, .data = &lo,
		              .kinds = EXK(EX_VAR)};
		Stmt *body = mut_stmt(&mu, f->body);
		mut_done(&mu);
		pmap_clear(&lo.unit);
		if (!lo.failed)
			pu_set_body(*m, i, body);
	}
	pmap_free(&lo.unit);
	return lo.failed;
}
