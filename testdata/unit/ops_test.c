/* ops_test.c: the op registry: spellings, printing data, return types. */
#include <string.h>
#include "unit.h"
#include "tir.h"

static const Op *find(const char *s)
{
	return op_find(s, strlen(s));
}

UNIT_TEST(ops_spellings)
{
	const Op *exp = find("tirx.exp");
	CHECK(exp && strcmp(exp->name, "tirx.exp") == 0);
	CHECK(find("exp") == exp);
	CHECK(find("expo") == NULL);
	CHECK(find("ex") == NULL);
	CHECK(find("") == NULL);
	CHECK(find("tirx.") == NULL);

	/* packed calls: printed short, long names accepted */
	const Op *cp = find("call_packed");
	CHECK(cp && strcmp(cp->name, "tirx.tvm_call_packed") == 0);
	CHECK(cp && strcmp(cp->script, "call_packed") == 0);
	CHECK(find("tvm_call_packed") == cp);
	CHECK(find("tirx.tvm_call_packed") == cp);
	CHECK(find("call_cpacked_lowered") == find("tvm_call_cpacked_lowered"));
	CHECK(find("call_packed_lowered") != cp);

	/* namespaced device ops and their OLD flat spellings; the pre-0.27
	 * raw cp.async is TVM 0.27's s_tir.cp_async_raw */
	const Op *cpa = find("s_tir.cp_async_raw");
	CHECK(cpa && strcmp(cpa->name, "tirx.s_tir.cp_async_raw") == 0);
	CHECK(find("tirx.ptx_cp_async") == cpa);
	CHECK(find("ptx_cp_async") == cpa);
	CHECK(find("ptx.cp_async") == cpa);
	CHECK(find("tirx.ptx.cp_async") == cpa);
	CHECK(find("ptx_cp_async_commit_group") == find("tirx.ptx.cp_async_commit_group"));
	CHECK(find("ptx_cp_async_commit_group") != NULL);
	CHECK(find("ptx_commit_group") == find("tirx.ptx.cp_async_commit_group"));
	CHECK(find("ptx.wait_group") == find("tirx.ptx.cp_async_wait_group"));
	/* T.ptx families: T.ptx.cp is the family op, the keywords escaped */
	CHECK(find("ptx.cp") == op_get("tirx.ptx.cp"));
	CHECK(find("ptx.and_") == op_get("tirx.ptx.and"));
	CHECK(find("ptx.and") == op_get("tirx.ptx.and"));
	CHECK(ptx_is_family(find("ptx.fence")));
	CHECK(!ptx_is_family(find("ptx.cp_async_commit_group")));
	CHECK(ptx_entry_of(find("ptx.cp_async_ca")) != NULL);
	CHECK(ptx_entry_of(find("ptx.cp")) == NULL);
	CHECK(find("cuda.__activemask") && find("cuda.__activemask")->effect == EFF_PURE);
	CHECK(find("cuda_atomic_add") == find("cuda.atomic_add"));
	CHECK(find("ptx_legacy_mma") == find("ptx_legacy.mma"));
	CHECK(find("ptx_legacy_mma") != NULL);
	CHECK(find("ptx_ldg32") == op_get("tirx.s_tir.ldg32"));
	CHECK(find("s_tir_cp_async_raw") == find("s_tir.cp_async_raw"));
	CHECK(find("nvshmem.getmem_nbi.warp") == find("nvshmem.getmem_nbi_warp"));
	CHECK(find("cuda.__shfl_sync") != NULL);
	CHECK(find("ptx_") == NULL);
	CHECK(find("cuda.no_such_op") == NULL);
	/* buffer_data is EX_BUFDATA, never a call */
	CHECK(find("buffer_data") == NULL);

	/* the length bounds the name: no reading past it */
	CHECK(op_find("expXYZ", 3) == exp);
	CHECK(op_find("tirx.exp2", 8) == exp);
}

UNIT_TEST(ops_table_consistent)
{
	int n = op_count();
	CHECK(n > 100);
	CHECK(op_at(-1) == NULL && op_at(n) == NULL);
	for (int i = 0; i < n; i++) {
		const Op *op = op_at(i);
		/* every op is found by both of its names, as itself */
		CHECK(find(op->name) == op);
		CHECK(op_get(op->name) == op);
		CHECK(op->dtloc <= DTLOC_LAST);
		CHECK((op->dtloc != DTLOC_NONE) <= (op->rule == RT_GIVEN));
		/* a modelled T.ptx entry prints as its family (T.ptx.cp) */
		const PtxEntry *pe = ptx_entry_of(op);
		if (pe) {
			const Op *fam = find(op->script);
			CHECK(fam && ptx_is_family(fam) && strcmp(fam->name + 9, pe->family) == 0);
			CHECK(op->rule == RT_VOID && op->nargs == -1 && op->effect == EFF_OPAQUE);
			continue;
		}
		CHECK(find(op->script) == op);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(op_at(j)->name, op->name) != 0 &&
			      strcmp(op_at(j)->script, op->script) != 0);
	}
}

/* the PTX entry table: every entry names an op of its family */
UNIT_TEST(ops_ptx_entries)
{
	CHECK(ptx_entry_count() > 0 && ptx_entry_at(ptx_entry_count()) == NULL);
	for (int i = 0; i < ptx_entry_count(); i++) {
		const PtxEntry *e = ptx_entry_at(i);
		const Op *op = op_get(e->op);
		CHECK(ptx_entry_of(op) == e);
		CHECK(e->nslots > 0 && e->nslots <= PTX_MAXSLOTS);
		CHECK(strlen(e->operands) <= PTX_MAXOPERANDS);
	}
	CHECK(ptx_slot_accepts("shared|shared::cta", "shared::cta"));
	CHECK(!ptx_slot_accepts("shared|shared::cta", "shared::"));
	CHECK(!ptx_slot_accepts("shared|shared::cta", ""));
	CHECK(ptx_slot_accepts("?L2::cache_hint", ""));
	CHECK(!ptx_slot_accepts("?L2::cache_hint", "L2"));
}

UNIT_TEST(ops_print_data)
{
	CHECK(find("reinterpret")->dtloc == DTLOC_FIRST);
	CHECK(find("call_extern")->dtloc == DTLOC_FIRST);
	CHECK(find("call_pure_extern")->dtloc == DTLOC_FIRST);
	CHECK(find("call_llvm_pure_intrin")->dtloc == DTLOC_FIRST);
	CHECK(find("type_annotation")->dtloc == DTLOC_FIRST);
	CHECK(find("mma_store")->dtloc == DTLOC_FIRST);
	CHECK(find("tvm_struct_get")->dtloc == DTLOC_LAST);
	CHECK(find("tvm_struct_get")->nargs == 3);
	CHECK(find("exp")->dtloc == DTLOC_NONE);
	CHECK(find("if_then_else")->dtloc == DTLOC_NONE);
	CHECK(find("cuda.atomic_add")->dtloc == DTLOC_NONE);
	CHECK(find("if_then_else")->nargs == 3);
	CHECK(find("call_packed")->nargs == -1);
	CHECK(find("exp")->effect == EFF_PURE);
	CHECK(find("call_extern")->effect == EFF_OPAQUE);
	CHECK(find("tvm_struct_set")->effect == EFF_UPDATESTATE);
	CHECK(find("break_loop")->effect == EFF_CONTROL);
	CHECK(find("assume")->effect == EFF_EMBED);
}

UNIT_TEST(ops_return_types)
{
	Arena *a = ar_new();
	TType t;
	Var *x = var_new(a, sym("x"), ty_prim(dt_make(DT_FLOAT, 16, 4)));
	Expr *xv = ex_var(a, x);
	Expr *args1[] = {xv};
	CHECK(op_ret_type(find("exp"), args1, 1, &t) && t.kind == TY_PRIM &&
	      dt_eq(t.dt, dt_make(DT_FLOAT, 16, 4)));
	CHECK(op_ret_type(find("isnan"), args1, 1, &t) && dt_eq(t.dt, dt_make(DT_BOOL, 1, 4)));
	CHECK(op_ret_type(find("clz"), args1, 1, &t) && dt_eq(t.dt, DT_I32));
	CHECK(op_ret_type(find("exp"), NULL, 0, &t) == 0);
	CHECK(op_ret_type(find("call_extern"), args1, 1, &t) == 0);
	CHECK(op_ret_type(find("thread_return"), NULL, 0, &t) && t.kind == TY_VOID);

	/* if_then_else carries pointers through */
	Var *p = var_new(a, sym("p"), ty_ptr(DT_F32, sym("shared")));
	Expr *c = ex_int(a, DT_BOOL1, 1);
	Expr *args3[] = {c, ex_var(a, p), ex_var(a, p)};
	CHECK(op_ret_type(find("if_then_else"), args3, 3, &t) && t.kind == TY_PTR &&
	      dt_eq(t.dt, DT_F32) && t.scope == sym("shared"));

	/* handle_add_byte_offset keeps the scope, not the pointee */
	Expr *args2[] = {ex_var(a, p), ex_int(a, DT_I32, 8)};
	CHECK(op_ret_type(find("handle_add_byte_offset"), args2, 2, &t) && t.kind == TY_PTR &&
	      dt_is_void(t.dt) && t.scope == sym("shared"));

	/* tvm_stack_alloca("shape", n) is an int64 pointer, others void */
	Expr *sa[] = {ex_str(a, sym("shape")), ex_int(a, DT_I32, 4)};
	CHECK(op_ret_type(find("tvm_stack_alloca"), sa, 2, &t) && t.kind == TY_PTR &&
	      dt_eq(t.dt, DT_I64));
	sa[0] = ex_str(a, sym("tvm_ffi_any"));
	CHECK(op_ret_type(find("tvm_stack_alloca"), sa, 2, &t) && t.kind == TY_PTR &&
	      dt_is_void(t.dt));

	/* address_of(A[i]): pointer to A's elements in A's scope */
	Expr *shape[] = {ex_int(a, DT_I32, 16)};
	Buffer *b = buf_new(a, sym("A"), dt_make(DT_FLOAT, 16, 1), shape, 1);
	b->scope = sym("shared.dyn");
	Expr *ld = ex_new(a, EX_LOAD, b->dt);
	Expr **idx = ar_alloc(a, sizeof *idx);
	idx[0] = ex_int(a, DT_I32, 3);
	ld->load.buf = b;
	ld->load.idx = idx;
	ld->load.nidx = 1;
	Expr *ao[] = {ld};
	CHECK(op_ret_type(find("address_of"), ao, 1, &t) && t.kind == TY_PTR &&
	      dt_eq(t.dt, dt_make(DT_FLOAT, 16, 1)) && t.scope == sym("shared.dyn"));
	ar_free(a);
}
