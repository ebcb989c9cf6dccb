/* Unit tests for the parser: the IR built for small scripts. */
#include <string.h>
#include "unit.h"
#include "tir.h"

static Module *parse(const char *src)
{
	diag_reset();
	return tir_parse("unit.tx", src, strlen(src));
}

/* The first statement of the only function's body. */
static Stmt *first(Module *m)
{
	Stmt *b = m->funcs[0]->body;
	return b->kind == ST_SEQ ? b->seq.items[0] : b;
}

UNIT_TEST(parse_minimal)
{
	Module *m = parse("@T.prim_func\ndef main(n: T.int32) -> T.int32:\n    return n + 1\n");
	CHECK(m && m->nfuncs == 1 && !m->is_module);
	if (!m)
		return;
	Func *f = m->funcs[0];
	CHECK(f->name == sym("main") && f->nparams == 1 && f->ret.kind == TY_PRIM);
	CHECK(func_global_symbol(f) == sym("main"));
	Stmt *s = first(m);
	CHECK(s->kind == ST_RETURN && s->ret.value->kind == EX_ADD);
	mod_free(m);
}

UNIT_TEST(parse_folding_and_literals)
{
	Module *m = parse("@T.prim_func(private=True)\ndef main(A: T.Buffer((4,), \"int64\"), x: T.float16):\n"
			  "    A[0] = 1024 * 1024\n    A[1] = -1\n    T.evaluate(x + 1)\n");
	CHECK(m != NULL);
	if (!m)
		return;
	Func *f = m->funcs[0];
	CHECK(func_global_symbol(f) == NULL && f->params[0].buf);
	Stmt *b = f->body;
	CHECK(b->kind == ST_SEQ && b->seq.n == 3);
	Stmt *s0 = b->seq.items[0], *s1 = b->seq.items[1], *s2 = b->seq.items[2];
	/* the store casts to int64 and folds the constant */
	CHECK(s0->kind == ST_STORE && s0->store.value->kind == EX_INT && s0->store.value->i == 1048576 &&
	      dt_eq(s0->store.value->dt, DT_I64));
	CHECK(s1->store.value->kind == EX_INT && s1->store.value->i == -1);
	Expr *e = s2->eval.value;
	CHECK(e->kind == EX_ADD && e->bin.b->kind == EX_FLOAT && e->dt.bits == 16);
	mod_free(m);
}

UNIT_TEST(parse_bare_frames_wrap_the_rest)
{
	Module *m = parse("@T.prim_func\ndef main(A: T.Buffer((16,), \"float32\")):\n"
			  "    bx = T.launch_thread(\"blockIdx.x\", 4)\n    tx = T.launch_thread(\"threadIdx.x\", 4)\n"
			  "    A[bx * 4 + tx] = T.float32(0.0)\n");
	CHECK(m != NULL);
	if (!m)
		return;
	Stmt *s = first(m);
	CHECK(s->kind == ST_ATTR && s->attr.key == sym("thread_extent") && s->attr.node->kind == OB_ITERVAR);
	CHECK(s->attr.body && s->attr.body->kind == ST_ATTR);
	CHECK(s->attr.body->attr.body && s->attr.body->attr.body->kind == ST_STORE);
	mod_free(m);
}

UNIT_TEST(parse_scalar_sugar_and_break)
{
	Module *m = parse("@T.prim_func\ndef main(n: T.int32):\n    x: T.int32 = n\n"
			  "    for i in range(n):\n        if i == x:\n            break\n");
	CHECK(m != NULL);
	if (!m)
		return;
	Stmt *b = m->funcs[0]->body;
	CHECK(b->kind == ST_SEQ && b->seq.n == 3);
	CHECK(b->seq.items[0]->kind == ST_ALLOC && b->seq.items[0]->alloc.buf->layout == LAYOUT_DEFAULT);
	CHECK(b->seq.items[1]->kind == ST_STORE);
	Stmt *loop = b->seq.items[2];
	CHECK(loop->kind == ST_FOR && loop->loop.body->kind == ST_IF);
	Stmt *brk = loop->loop.body->ifs.then;
	CHECK(brk->kind == ST_EVAL && brk->eval.value->kind == EX_CALL &&
	      !strcmp(brk->eval.value->call.op->script, "break_loop"));
	mod_free(m);
}

UNIT_TEST(parse_module_calls_before_callee)
{
	Module *m = parse("@I.ir_module\nclass Module:\n    @T.prim_func\n    def main(n: T.int32) -> T.int32:\n"
			  "        return Module.helper(n)\n\n    @T.prim_func(private=True)\n"
			  "    def helper(n: T.int32) -> T.int32:\n        return n\n");
	CHECK(m && m->is_module && m->nfuncs == 2);
	if (!m)
		return;
	Func *f = mod_find(m, sym("main"));
	Stmt *r = f->body;
	CHECK(r->kind == ST_RETURN && r->ret.value->kind == EX_CALL && !r->ret.value->call.op &&
	      r->ret.value->call.fn == sym("helper") && r->ret.value->call.rty.kind == TY_PRIM);
	mod_free(m);
}

UNIT_TEST(parse_errors_return_null)
{
	CHECK(parse("@T.prim_func\ndef main():\n    x = y\n") == NULL);
	CHECK(parse("@T.prim_func\ndef main(n: T.int32):\n    T.evaluate(n / 2)\n") == NULL);
	CHECK(parse("@T.prim_func\ndef main():\n    T.evaluate(((((0\n") == NULL);
	CHECK(parse("\x01\x02\xff") == NULL);
	CHECK(parse("") == NULL);
	diag_reset();
}

/* diag_first_error_located: what the robustness checks (mk/robust.py's
 * in-process twin, bench/fuzz_pipeline.c) ask of every refused input. */
UNIT_TEST(diag_first_error_located)
{
	diag_reset();
	CHECK(diag_first_error_located() == -1);
	Module *m = parse("@T.prim_func\ndef main(:\n");
	CHECK(!m && diag_first_error_located() == 1);
	diag_error(NOLOC, "a later error without a location");
	CHECK(diag_first_error_located() == 1); /* the first one counts */
	diag_reset();
	diag_warning(NOLOC, "warnings do not count");
	CHECK(diag_first_error_located() == -1);
	diag_error(NOLOC, "an error without a location");
	CHECK(diag_first_error_located() == 0);
	diag_reset();
	CHECK(diag_first_error_located() == -1);
	mod_free(m);
}
