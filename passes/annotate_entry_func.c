/* annotate_entry_func.c: AnnotateEntryFunc (TVM's tirx.AnnotateEntryFunc,
 * src/tirx/transform/primfunc_utils.cc).
 *
 * IR expected: any module.
 * IR left: the same, with `tirx.is_entry_func = True` on the entry: the only
 *   function of a one-function module, else the only externally visible
 *   (global_symbol) function if there is exactly one.  Otherwise nothing can
 *   be inferred and the module is unchanged.  The host codegen uses the flag
 *   for the `__tvm_ffi_main` alias.
 * Runs after: BindTarget, VerifyMemory; before the host/device split. */
#include "tir.h"

static int nonzero(const Obj *o)
{
	return o && (o->kind == OB_BOOL || o->kind == OB_INT) && o->i != 0;
}

static void mark(Module *m, int i)
{
	Func *g = ar_alloc(m->arena, sizeof *g);
	*g = *m->funcs[i];
	g->attrs = obj_dict_set(m->arena, g->attrs, "tirx.is_entry_func", obj_bool(m->arena, 1));
	m->funcs[i] = g;
}

int pass_annotate_entry_func(Module **mp, PassCtx *cx)
{
	(void)cx;
	Module *m = *mp;
	if (m->nfuncs == 1) {
		if (!nonzero(obj_dict_get(m->funcs[0]->attrs, "tirx.is_entry_func")))
			mark(m, 0);
		return 0;
	}
	int entry = -1, nexternal = 0;
	for (int i = 0; i < m->nfuncs; i++) {
		if (!func_is_private(m->funcs[i])) {
			entry = i;
			nexternal++;
		}
	}
	if (nexternal == 1)
		mark(m, entry);
	return 0;
}
