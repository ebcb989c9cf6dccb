/* verify.c: the well-formedness checker run on the input and, with
 * --verify-each, after every pass.
 *
 * Scoping follows TVM's VerifyWellFormed (tir_visitor_with_path.cc): params
 * and the shape/stride/offset vars of buffer params are defined for the whole
 * function; Bind, AllocBuffer and DeclBuffer define until the end of the
 * enclosing body (for, while, if branch, attr, function); loop vars, launch
 * vars and let vars define over their body.  A var may be defined only once
 * per function, except thread vars, which sibling launches may rebind, and
 * every launch of one thread tag must use one var.  A var that is declared
 * (`n = T.int32()`) but never defined is an error wherever it is used, as in
 * TVM.  On top of that come type rules of the node constructors, op and
 * function-call arity, and the host/device rules of split modules.
 *
 * tir_verify_output adds the rules for the end of a pipeline, where the
 * module goes to code generation: no function whose target is a CPU binds
 * a GPU thread, since CPU code generation has no thread indices.  A device
 * region left inline (a target attr) is the form before the split, and is
 * refused only in a function that already has the packed calling
 * convention (MakePackedAPI ran on it: the split did not). */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"

/* The states of vars and buffers live in PtrMaps as small ints. */
static int state(const PtrMap *m, const void *k)
{
	return (int)(intptr_t)pmap_get(m, k);
}

static void set_state(PtrMap *m, const void *k, int st)
{
	pmap_put(m, k, (void *)(intptr_t)st);
}

/* Definition states of vars and buffers.  REPORTED is or'ed in once a
 * bad use has been reported, so one free var gives one error. */
/* Target kinds whose kernels run on a device. */
static const char *const device_kinds[] = {"cuda", "rocm", "metal", "vulkan", "opencl", "webgpu",
					   "nvptx"};
enum { NDEVICE = sizeof device_kinds / sizeof device_kinds[0] };

/* FREEBUF marks a buffer first met as the node of an attr without a
 * declaration (a free buffer: TVM's MakePackedAPI names the argument's
 * buffer in its storage_alignment attr before the DeclBuffer); it stays
 * free, so a later declaration of it is an error. */
enum { UNDEF = 0, LIVE = 1, DEAD = 2, STATE = 3, REPORTED = 4, THREADVAR = 8, FREEBUF = 16 };

typedef struct V {
	const Module *m;
	const Func *f;
	const char *after;
	int nerr;
	Loc loc;        /* of the innermost statement with a location */
	int is_kernel;  /* a device function after the split */
	int is_host;    /* thread bindings need a device region */
	int in_device;  /* depth of `target` attr regions */
	PtrMap vars, bufs; /* states; cleared, not freed, between functions */
	Vec scope;      /* defined things, popped at scope exit: tagged pointers */
	Vec tags;       /* thread tag (Sym) -> var pairs of this function */
	/* Syms looked up once per run rather than once per node */
	Sym thread_extent, virtual_thread, target, llvm, c;
	Sym device[NDEVICE]; /* target kinds of devices */
	char names[4][32];   /* see dts */
	unsigned nnames;
} V;

/* The offending node's first line, for the note after each error. */
static void note_node(const Expr *e, const Stmt *s)
{
	Buf b = {0};
	if (e)
		tir_print_expr(&b, e);
	else if (s)
		tir_print_stmt(&b, s);
	if (b.n) {
		while (b.n && (b.s[b.n - 1] == '\n' || b.s[b.n - 1] == ' '))
			b.n--;
		buf_putc(&b, 0);
		char *nl = strchr(b.s, '\n');
		if (nl)
			strcpy(nl, " ...");
		diag_note(NOLOC, "in: %s", b.s);
	}
	buf_free(&b);
}

static void fail(V *v, const Expr *e, const Stmt *s, const char *fmt, ...) TIR_PRINTF(4, 5);

static void fail(V *v, const Expr *e, const Stmt *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	Loc loc = s && s->loc.file >= 0 ? s->loc : v->loc;
	if (v->after)
		diag_error(loc, "in function '%s': %s (IR after pass %s)", v->f->name, msg, v->after);
	else
		diag_error(loc, "in function '%s': %s", v->f->name, msg);
	note_node(e, s);
	v->nerr++;
}

/* A type's name for a message.  The names rotate through v->names, enough
 * for one message, so the recursive checkers keep no buffers of their own
 * (which would also make every call pay for a stack-protector canary). */
static const char *dts(V *v, DType t)
{
	return dt_str(t, v->names[v->nnames++ % 4]);
}

/* ------------------------------------------------------------ scopes */

/* Scope entries are Var or Buffer pointers with bit 0 set for buffers
 * (both are at least 4-byte aligned arena objects). */
static void def_var(V *v, Var *x, const Stmt *s)
{
	void **slot = pmap_ref(&v->vars, x);
	int st = (int)(intptr_t)*slot;
	if ((st & STATE) != UNDEF && !(st & THREADVAR)) {
		fail(v, NULL, s, "variable '%s' defined more than once", x->name);
		return;
	}
	*slot = (void *)(intptr_t)(LIVE | (st & THREADVAR));
	vec_push(&v->scope, x);
}

static void def_buf(V *v, Buffer *b, const Stmt *s)
{
	int st = state(&v->bufs, b);
	if (st & FREEBUF) {
		fail(v, NULL, s, "buffer '%s' declared after an attr names it", b->name);
		return;
	}
	if ((st & STATE) != UNDEF) {
		fail(v, NULL, s, "buffer '%s' declared more than once", b->name);
		return;
	}
	set_state(&v->bufs, b, LIVE);
	vec_push(&v->scope, (void *)((uintptr_t)b | 1));
}

static void pop_scope(V *v, int mark)
{
	while (v->scope.n > mark) {
		uintptr_t p = (uintptr_t)v->scope.v[--v->scope.n];
		if (p & 1) {
			set_state(&v->bufs, (void *)(p & ~(uintptr_t)1), DEAD);
		} else {
			void **slot = pmap_ref(&v->vars, (void *)p);
			*slot = (void *)(intptr_t)(DEAD | ((intptr_t)*slot & THREADVAR));
		}
	}
}

/* A use of k: LIVE or already reported reads -1; else k is marked
 * reported and its state (UNDEF or DEAD) says what to report. */
static int bad_use(PtrMap *m, const void *k)
{
	int st = state(m, k);
	if ((st & STATE) == LIVE || (st & REPORTED))
		return -1;
	set_state(m, k, st | REPORTED);
	return st & STATE;
}

static void use_var(V *v, Var *x, const Expr *e)
{
	int st = bad_use(&v->vars, x);
	if (st < 0)
		return;
	if (st == DEAD)
		fail(v, e, NULL, "variable '%s' used out of its scope", x->name);
	else if (v->is_kernel)
		fail(v, e, NULL, "device function uses variable '%s' that it neither defines "
		     "nor takes as a parameter", x->name);
	else
		fail(v, e, NULL, "variable '%s' used before definition", x->name);
}

static void use_buf(V *v, Buffer *b, const Expr *e, const Stmt *s)
{
	int st = bad_use(&v->bufs, b);
	if (st < 0)
		return;
	if (st == DEAD)
		fail(v, e, s, "buffer '%s' used out of its scope", b->name);
	else
		fail(v, e, s, "buffer '%s' used without a declaration", b->name);
}

/* ------------------------------------------------------- expressions */

static void expr(V *v, const Expr *e);
static void stmt(V *v, const Stmt *s);

static int is_bool(DType t)
{
	return t.code == DT_BOOL;
}

/* Index rules of BufferLoad/BufferStore: one integer index per dimension,
 * and only the last may be a vector.  Returns the lanes of the access. */
static int check_indices(V *v, Buffer *b, Expr **idx, int nidx, const Expr *e, const Stmt *s)
{
	int lanes = 1;
	if (nidx != b->ndim)
		fail(v, e, s, "buffer '%s' has %d dimension%s but is accessed with %d ind%s",
		     b->name, b->ndim, b->ndim == 1 ? "" : "s", nidx, nidx == 1 ? "ex" : "ices");
	for (int i = 0; i < nidx; i++) {
		expr(v, idx[i]);
		if (!dt_is_int(idx[i]->dt)) {
			fail(v, e, s, "index %d of buffer '%s' has non-integer type %s", i, b->name,
			     dts(v, idx[i]->dt));
		} else if (idx[i]->dt.lanes > 1 && i != nidx - 1) {
			fail(v, e, s, "only the last index of buffer '%s' may be a vector", b->name);
		}
		if (i == nidx - 1)
			lanes = idx[i]->dt.lanes;
	}
	return lanes * (b->dt.lanes ? b->dt.lanes : 1);
}

static void check_call(V *v, const Expr *e)
{
	for (int i = 0; i < e->call.nargs; i++)
		expr(v, e->call.args[i]);
	if (e->call.op) {
		const Op *op = e->call.op;
		if (op->nargs >= 0 && e->call.nargs != op->nargs)
			fail(v, e, NULL, "op '%s' takes %d argument%s, but is called with %d",
			     op->script, op->nargs, op->nargs == 1 ? "" : "s", e->call.nargs);
		/* a launch that lost its tags (a pass rebuilt it with ex_call)
		 * would print in a form nothing reads back */
		static const Op *ffi_kernel; /* the op table is static: safe to keep */
		if (!ffi_kernel)
			ffi_kernel = op_get("tirx.call_ffi_kernel");
		if (op == ffi_kernel &&
		    (!call_launch_params(e) || !e->call.nargs || e->call.args[0]->kind != EX_STR))
			fail(v, e, NULL, "call_ffi_kernel needs a kernel name and launch_params");
		return;
	}
	const Func *g = e->call.fn ? mod_find(v->m, e->call.fn) : NULL;
	if (!g) {
		fail(v, e, NULL, "call of unknown function '%s'", e->call.fn ? e->call.fn : "?");
		return;
	}
	if (g->nparams != e->call.nargs)
		fail(v, e, NULL, "function '%s' takes %d argument%s, but is called with %d", g->name,
		     g->nparams, g->nparams == 1 ? "" : "s", e->call.nargs);
}

static void expr(V *v, const Expr *e)
{
	if (!e)
		return;
	switch (e->kind) {
	case EX_INT: case EX_FLOAT: case EX_STR:
		break;
	case EX_VAR:
		use_var(v, e->var, e);
		break;
	case EX_BUFDATA: case EX_BUFREF:
		use_buf(v, e->buf, e, NULL);
		break;
	case EX_ADD: case EX_SUB: case EX_MUL: case EX_DIV: case EX_MOD:
	case EX_FLOORDIV: case EX_FLOORMOD: case EX_MIN: case EX_MAX:
		expr(v, e->bin.a);
		expr(v, e->bin.b);
		if (!dt_eq(e->bin.a->dt, e->bin.b->dt))
			fail(v, e, NULL, "operand types differ: %s vs %s", dts(v, e->bin.a->dt),
			     dts(v, e->bin.b->dt));
		else if (!dt_eq(e->dt, e->bin.a->dt))
			fail(v, e, NULL, "result type %s differs from operand type %s", dts(v, e->dt),
			     dts(v, e->bin.a->dt));
		break;
	case EX_EQ: case EX_NE: case EX_LT: case EX_LE: case EX_GT: case EX_GE:
	case EX_AND: case EX_OR:
		expr(v, e->bin.a);
		expr(v, e->bin.b);
		if (!dt_eq(e->bin.a->dt, e->bin.b->dt))
			fail(v, e, NULL, "operand types differ: %s vs %s", dts(v, e->bin.a->dt),
			     dts(v, e->bin.b->dt));
		else if ((e->kind == EX_AND || e->kind == EX_OR) && !is_bool(e->bin.a->dt))
			fail(v, e, NULL, "logical operands must be bool, not %s", dts(v, e->bin.a->dt));
		if (!is_bool(e->dt) || e->dt.lanes != e->bin.a->dt.lanes)
			fail(v, e, NULL, "comparison result must be bool with %d lane%s, not %s",
			     e->bin.a->dt.lanes, e->bin.a->dt.lanes == 1 ? "" : "s", dts(v, e->dt));
		break;
	case EX_NOT:
		expr(v, e->bin.a);
		if (!is_bool(e->bin.a->dt) || !dt_eq(e->dt, e->bin.a->dt))
			fail(v, e, NULL, "logical not needs a bool operand, not %s", dts(v, e->bin.a->dt));
		break;
	case EX_CAST:
		expr(v, e->bin.a);
		if (e->dt.lanes != e->bin.a->dt.lanes)
			fail(v, e, NULL, "cast changes the lanes: %s to %s", dts(v, e->bin.a->dt),
			     dts(v, e->dt));
		break;
	case EX_SELECT:
		expr(v, e->sel.c);
		expr(v, e->sel.t);
		expr(v, e->sel.f);
		if (!is_bool(e->sel.c->dt) ||
		    (e->sel.c->dt.lanes != 1 && e->sel.c->dt.lanes != e->dt.lanes))
			fail(v, e, NULL, "select condition must be bool, not %s", dts(v, e->sel.c->dt));
		if (!dt_eq(e->sel.t->dt, e->sel.f->dt) || !dt_eq(e->dt, e->sel.t->dt))
			fail(v, e, NULL, "select branch types differ: %s vs %s", dts(v, e->sel.t->dt),
			     dts(v, e->sel.f->dt));
		break;
	case EX_RAMP:
		expr(v, e->ramp.base);
		expr(v, e->ramp.stride);
		if (e->ramp.base->dt.lanes != 1 || !dt_eq(e->ramp.base->dt, e->ramp.stride->dt) ||
		    !dt_eq(dt_element(e->dt), e->ramp.base->dt))
			fail(v, e, NULL, "ramp of %s with base %s and stride %s", dts(v, e->dt),
			     dts(v, e->ramp.base->dt), dts(v, e->ramp.stride->dt));
		break;
	case EX_BROADCAST:
		expr(v, e->bcast.value);
		if (!dt_eq(dt_element(e->dt), e->bcast.value->dt))
			fail(v, e, NULL, "broadcast of %s to %s", dts(v, e->bcast.value->dt),
			     dts(v, e->dt));
		break;
	case EX_SHUFFLE:
		for (int i = 0; i < e->shuf.nvecs; i++)
			expr(v, e->shuf.vecs[i]);
		for (int i = 0; i < e->shuf.nidx; i++)
			expr(v, e->shuf.idx[i]);
		break;
	case EX_LET: {
		expr(v, e->let.value);
		if (!dt_eq(e->let.var->dt, e->let.value->dt))
			fail(v, e, NULL, "let of '%s' (%s) to a value of type %s", e->let.var->name,
			     dts(v, e->let.var->dt), dts(v, e->let.value->dt));
		int mark = v->scope.n;
		def_var(v, e->let.var, NULL);
		expr(v, e->let.body);
		pop_scope(v, mark);
		break;
	}
	case EX_LOAD: {
		Buffer *b = e->load.buf;
		use_buf(v, b, e, NULL);
		int lanes = check_indices(v, b, e->load.idx, e->load.nidx, e, NULL);
		if (e->load.nidx == b->ndim && !dt_eq(e->dt, dt_with_lanes(b->dt, lanes)))
			fail(v, e, NULL, "load of %s from buffer '%s' of %s", dts(v, e->dt), b->name,
			     dts(v, b->dt));
		if (e->load.pred) {
			expr(v, e->load.pred);
			if (!is_bool(e->load.pred->dt) || e->load.pred->dt.lanes != e->dt.lanes)
				fail(v, e, NULL, "load predicate must be bool with %d lanes",
				     e->dt.lanes);
		}
		break;
	}
	case EX_CALL:
		check_call(v, e);
		break;
	default:
		fail(v, e, NULL, "unknown expression kind %d", e->kind);
	}
}

/* -------------------------------------------------------- statements */

static void thread_attr(V *v, const Stmt *s)
{
	const Obj *n = s->attr.node;
	if (!n || n->kind != OB_ITERVAR || !n->iv.var) {
		fail(v, NULL, s, "'%s' attribute needs an iteration variable node", s->attr.key);
		return;
	}
	Var *x = n->iv.var;
	if (!n->iv.tag || !*n->iv.tag)
		fail(v, NULL, s, "thread variable '%s' has no thread tag", x->name);
	if (n->iv.itype != IV_THREADINDEX)
		fail(v, NULL, s, "thread variable '%s' is not a thread index", x->name);
	if (!s->attr.value || !dt_is_int(s->attr.value->dt) || s->attr.value->dt.lanes != 1)
		fail(v, NULL, s, "thread extent of '%s' must be a scalar integer", x->name);
	else if (!dt_eq(x->dt, s->attr.value->dt))
		fail(v, NULL, s, "thread variable '%s' has type %s, its extent %s", x->name,
		     dts(v, x->dt), dts(v, s->attr.value->dt));
	if (v->is_host && !v->in_device)
		fail(v, NULL, s, "host function binds thread '%s' outside a device region",
		     n->iv.tag ? n->iv.tag : x->name);
	/* one var per thread tag in a function */
	if (n->iv.tag) {
		for (int i = 0; i < v->tags.n; i += 2) {
			if (v->tags.v[i] != n->iv.tag)
				continue;
			if (v->tags.v[i + 1] != x)
				fail(v, NULL, s, "thread '%s' is bound to two variables, '%s' and '%s'",
				     n->iv.tag, ((Var *)v->tags.v[i + 1])->name, x->name);
			goto known;
		}
		vec_push(&v->tags, (void *)n->iv.tag);
		vec_push(&v->tags, x);
	known:;
	}
	int st = state(&v->vars, x);
	set_state(&v->vars, x, st | THREADVAR);
	def_var(v, x, s);
}

static void body(V *v, const Stmt *s)
{
	int mark = v->scope.n;
	stmt(v, s);
	pop_scope(v, mark);
}

/* Shape, strides and offset of a buffer declared in the body are uses. */
static void buffer_fields(V *v, const Buffer *b)
{
	for (int i = 0; i < b->ndim; i++)
		expr(v, b->shape[i]);
	for (int i = 0; i < b->nstrides; i++)
		expr(v, b->strides[i]);
	expr(v, b->elem_offset);
}

/* An attr's body and a sequence's last item are checked by the loop, not
 * by a call (chains of flat frames cost no stack): the scope an attr opens
 * ends with the chain, as the scopes of all the attrs in it would, one
 * inside the other. */
static void stmt(V *v, const Stmt *s)
{
	Loc saved = v->loc;
	int mark = -1, in_device = v->in_device;
	for (; s; s = st_chain_next(s)) {
		if (s->loc.file >= 0)
			v->loc = s->loc;
		switch (s->kind) {
		case ST_BIND:
			expr(v, s->bind.value);
			if (!dt_eq(s->bind.var->dt, s->bind.value->dt))
				fail(v, NULL, s, "'%s' of type %s is bound to a value of type %s",
				     s->bind.var->name, dts(v, s->bind.var->dt), dts(v, s->bind.value->dt));
			def_var(v, s->bind.var, s);
			break;
		case ST_STORE: {
			Buffer *b = s->store.buf;
			expr(v, s->store.value);
			use_buf(v, b, NULL, s);
			int lanes = check_indices(v, b, s->store.idx, s->store.nidx, NULL, s);
			if (s->store.nidx == b->ndim && !dt_eq(s->store.value->dt, dt_with_lanes(b->dt, lanes)))
				fail(v, NULL, s, "store of %s into buffer '%s' of %s", dts(v, s->store.value->dt),
				     b->name, dts(v, dt_with_lanes(b->dt, lanes)));
			if (s->store.pred) {
				expr(v, s->store.pred);
				if (!is_bool(s->store.pred->dt) || s->store.pred->dt.lanes != lanes)
					fail(v, NULL, s, "store predicate must be bool with %d lanes", lanes);
			}
			break;
		}
		case ST_ALLOC:
			buffer_fields(v, s->alloc.buf);
			def_buf(v, s->alloc.buf, s);
			break;
		case ST_DECL:
			expr(v, s->decl.data);
			if (!s->decl.data || s->decl.data->dt.code != DT_HANDLE)
				fail(v, NULL, s, "data of buffer '%s' is not a pointer", s->decl.buf->name);
			buffer_fields(v, s->decl.buf);
			def_buf(v, s->decl.buf, s);
			break;
		case ST_ATTR: {
			if (mark < 0)
				mark = v->scope.n;
			expr(v, s->attr.value);
			const Obj *n = s->attr.node;
			if (s->attr.key == v->thread_extent || s->attr.key == v->virtual_thread) {
				thread_attr(v, s);
			} else if (n && n->kind == OB_EXPR) {
				expr(v, n->expr);
			} else if (n && n->kind == OB_BUFFER) {
				/* An attr may name a buffer that nothing declares (TVM
				 * prints it as `A = T.Buffer(...)` + `with T.attr(A,
				 * "storage_alignment", 64)`): only the buffer's identity
				 * matters there, so its fields (which may use free vars)
				 * are not checked, as in TVM; declaring it later, or a
				 * buffer used out of its scope, is wrong. */
				int st = state(&v->bufs, n->buf);
				if ((st & STATE) == UNDEF && !(st & REPORTED))
					set_state(&v->bufs, n->buf, FREEBUF);
				else if (!(st & FREEBUF))
					use_buf(v, n->buf, NULL, s);
			} else if (n && n->kind == OB_ITERVAR && n->iv.var) {
				use_var(v, n->iv.var, NULL);
			}
			v->in_device += s->attr.key == v->target;
			continue;
		}
		case ST_FOR: {
			expr(v, s->loop.min);
			expr(v, s->loop.extent);
			expr(v, s->loop.step);
			Var *x = s->loop.var;
			if (!dt_is_int(x->dt) || x->dt.lanes != 1)
				fail(v, NULL, s, "loop variable '%s' has non-integer type %s", x->name,
				     dts(v, x->dt));
			else if (!dt_eq(s->loop.min->dt, x->dt) || !dt_eq(s->loop.extent->dt, x->dt))
				fail(v, NULL, s, "loop '%s' of %s has bounds of %s and %s", x->name,
				     dts(v, x->dt), dts(v, s->loop.min->dt), dts(v, s->loop.extent->dt));
			int m = v->scope.n;
			def_var(v, x, s);
			body(v, s->loop.body);
			pop_scope(v, m);
			break;
		}
		case ST_WHILE:
			expr(v, s->wloop.cond);
			if (!is_bool(s->wloop.cond->dt) || s->wloop.cond->dt.lanes != 1)
				fail(v, NULL, s, "while condition must be bool, not %s",
				     dts(v, s->wloop.cond->dt));
			body(v, s->wloop.body);
			break;
		case ST_IF:
			expr(v, s->ifs.cond);
			if (!is_bool(s->ifs.cond->dt) || s->ifs.cond->dt.lanes != 1)
				fail(v, NULL, s, "if condition must be bool, not %s", dts(v, s->ifs.cond->dt));
			body(v, s->ifs.then);
			body(v, s->ifs.els);
			break;
		case ST_SEQ:
			/* not a scope: flat definitions stay visible to the enclosing body */
			for (int i = 0; i < s->seq.n - 1; i++)
				stmt(v, s->seq.items[i]);
			continue;
		case ST_EVAL:
			expr(v, s->eval.value);
			break;
		case ST_ASSERT:
			expr(v, s->assert.cond);
			if (!is_bool(s->assert.cond->dt))
				fail(v, NULL, s, "assert condition must be bool, not %s",
				     dts(v, s->assert.cond->dt));
			break;
		case ST_RETURN:
			expr(v, s->ret.value);
			break;
		case ST_BREAK: case ST_CONTINUE:
			break;
		default:
			fail(v, NULL, s, "unknown statement kind %d", s->kind);
		}
		break;
	}
	v->in_device = in_device;
	if (mark >= 0)
		pop_scope(v, mark);
	v->loc = saved;
}

/* --------------------------------------------------------- functions */

/* What a function's attributes make of it; computed once per function. */
enum { ROLE_KERNEL = 1, ROLE_HOST_KIND = 2, ROLE_HAS_HOST = 4 };

static int func_role(const V *v, const Func *f)
{
	Obj *t = func_target(f);
	if (!t)
		return 0;
	Sym kind = target_kind(t);
	int role = obj_dict_get(t->target, "host") ? ROLE_HAS_HOST : 0;
	if (kind == v->llvm || kind == v->c)
		return role | ROLE_HOST_KIND;
	int device = 0;
	for (int i = 0; i < NDEVICE; i++)
		device |= kind == v->device[i];
	if (!device)
		return role;
	Obj *g = obj_dict_get(f->attrs, "tirx.is_global_func");
	Obj *cc = obj_dict_get(f->attrs, "calling_conv");
	if ((g && (g->kind == OB_BOOL || g->kind == OB_INT) && g->i) ||
	    (cc && cc->kind == OB_INT && cc->i == 2))
		role |= ROLE_KERNEL;
	return role;
}

/* A var of a buffer param's shape, a bare-var stride or offset: defined
 * there, unless an earlier param or shape already defined it. */
static void def_match_var(V *v, Var *x)
{
	if ((state(&v->vars, x) & STATE) != LIVE)
		def_var(v, x, NULL);
}

/* Buffer params define the vars of their shapes (a shape is a match
 * scope): vars under arithmetic, selects and calls are defined; other
 * shapes are not match patterns but plain uses. */
static int match_shape(Walker *w, Expr *e)
{
	V *v = w->data;
	if (e->kind == EX_VAR) {
		def_match_var(v, e->var);
		return 0;
	}
	if (e->kind <= EX_CAST || e->kind == EX_SELECT || e->kind == EX_CALL)
		return 1;
	expr(v, e);
	return 0;
}

/* A stride or offset defines its var when it is a bare var, else uses. */
static void def_or_use(V *v, const Expr *e)
{
	if (e && e->kind == EX_VAR)
		def_match_var(v, e->var);
	else
		expr(v, e);
}

/* Clearing costs the table's capacity: a table far larger than what this
 * function needed is dropped instead, so one huge function does not make
 * every later small one pay for it. */
static void reset_map(PtrMap *m)
{
	if (m->cap > 1024 && m->cap > 8 * m->n)
		pmap_free(m);
	else
		pmap_clear(m);
}

static void verify_func(V *v, const Func *f, int role, int split)
{
	v->f = f;
	v->loc = f->loc;
	v->in_device = 0;
	v->tags.n = 0;
	v->is_kernel = (role & ROLE_KERNEL) != 0;
	v->is_host = (role & ROLE_HOST_KIND) || (split && (role & ROLE_HAS_HOST) && !v->is_kernel);
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].var)
			def_var(v, f->params[i].var, NULL);
	Walker shape = {.expr = match_shape, .data = v};
	for (int i = 0; i < f->nparams; i++) {
		Buffer *b = f->params[i].buf;
		if (!b)
			continue;
		for (int j = 0; j < b->ndim; j++)
			walk_expr(&shape, b->shape[j]);
		for (int j = 0; j < b->nstrides; j++)
			def_or_use(v, b->strides[j]);
		def_or_use(v, b->elem_offset);
	}
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].buf)
			def_buf(v, f->params[i].buf, NULL);
	body(v, f->body);
	pop_scope(v, 0);
	reset_map(&v->vars);
	reset_map(&v->bufs);
}

int tir_verify(const Module *m, const char *after)
{
	V v;
	memset(&v, 0, sizeof v);
	v.m = m;
	v.after = after;
	v.thread_extent = sym("thread_extent");
	v.virtual_thread = sym("virtual_thread");
	v.target = sym("target");
	v.llvm = sym("llvm");
	v.c = sym("c");
	for (int i = 0; i < NDEVICE; i++)
		v.device[i] = sym(device_kinds[i]);
	/* Host functions may bind threads before the split (the device
	 * region is still inline); after it, only inside `target` attrs. */
	int split = 0;
	int *roles = xmalloc((size_t)(m->nfuncs ? m->nfuncs : 1) * sizeof *roles);
	for (int i = 0; i < m->nfuncs; i++) {
		roles[i] = func_role(&v, m->funcs[i]);
		split |= roles[i] & ROLE_KERNEL;
	}
	/* name -> how many functions before this one have it: one failure
	 * per earlier definition, without a quadratic scan */
	PtrMap seen = {0};
	for (int i = 0; i < m->nfuncs; i++) {
		const Func *f = m->funcs[i];
		const void *key = f->name ? (const void *)f->name : (const void *)&seen;
		intptr_t dups = (intptr_t)pmap_get(&seen, key);
		for (intptr_t j = 0; j < dups; j++) {
			v.f = f;
			v.loc = f->loc;
			fail(&v, NULL, NULL, "function defined more than once");
		}
		pmap_put(&seen, key, (void *)(dups + 1));
		verify_func(&v, f, roles[i], split);
	}
	free(roles);
	pmap_free(&seen);
	pmap_free(&v.vars);
	pmap_free(&v.bufs);
	vec_free(&v.scope);
	vec_free(&v.tags);
	return v.nerr;
}

/* --------------------------------------------------------- the output */

typedef struct Out {
	const Func *f;
	const char *after;
	Sym thread_extent, target;
	int packed; /* f has calling convention 1: final host code */
	int nerr;
} Out;

/* A GPU thread: any thread_extent launch, and thread-binding loops of tags
 * other than vthread (virtual threads become loops, on any target). */
static int out_stmt(Walker *w, Stmt *s)
{
	Out *o = w->data;
	Sym tag = NULL;
	if (s->kind == ST_ATTR && s->attr.key == o->target)
		return o->packed; /* an inline device region: only before the split */
	if (s->kind == ST_ATTR && s->attr.key == o->thread_extent && s->attr.node &&
	    s->attr.node->kind == OB_ITERVAR)
		tag = s->attr.node->iv.tag ? s->attr.node->iv.tag : "?";
	else if (s->kind == ST_FOR && s->loop.kind == FOR_THREAD_BINDING && s->loop.thread &&
	         strncmp(s->loop.thread, "vthread", 7))
		tag = s->loop.thread;
	if (!tag)
		return 1;
	diag_error(s->loc.file >= 0 ? s->loc : o->f->loc,
	           "function '%s' has a CPU target (%s) but binds GPU thread '%s': its device "
	           "code was never outlined into a kernel (IR after pass %s)", o->f->name,
	           target_kind(func_target(o->f)), tag, o->after ? o->after : "?");
	o->nerr++;
	return 0; /* one error per outermost launch */
}

static int out_skip(Walker *w, Expr *e)
{
	(void)w;
	(void)e;
	return 0; /* statements only */
}

/* Whether s can be a function's name in the text: the reader takes only
 * identifiers there, while passes name kernels after global symbols, which
 * may be any string. */
static int is_identifier(const char *s)
{
	if (!s || !(*s == '_' || isalpha((unsigned char)*s)))
		return 0;
	for (; *s; s++)
		if (!(*s == '_' || isalnum((unsigned char)*s)))
			return 0;
	return 1;
}

int tir_verify_output(const Module *m, const char *after)
{
	Out o = {.after = after, .thread_extent = sym("thread_extent"), .target = sym("target")};
	for (int i = 0; i < m->nfuncs; i++) {
		const Func *f = m->funcs[i];
		if (!is_identifier(f->name)) {
			diag_error(f->loc, "the passes named a function '%s' (after its global_symbol), "
			           "which is not an identifier: the output would not read back (IR after "
			           "pass %s)", f->name, after ? after : "?");
			o.nerr++;
			continue;
		}
		Obj *t = func_target(f);
		if (!t || !target_is_cpu(t))
			continue;
		o.f = f;
		Obj *cc = obj_dict_get(f->attrs, "calling_conv");
		o.packed = cc && cc->kind == OB_INT && cc->i == 1;
		Walker w = {.stmt = out_stmt, .expr = out_skip, .data = &o};
		walk_stmt(&w, f->body);
	}
	return o.nerr;
}
