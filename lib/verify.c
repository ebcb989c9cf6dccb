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
 * function-call arity, and the host/device rules of split modules. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"

/* A pointer-keyed hash map to small ints: the states of vars and buffers. */
typedef struct VMap {
	const void **keys;
	int *vals;
	int cap, n;
} VMap;

static int vm_get(const VMap *m, const void *k)
{
	if (!m->cap)
		return 0;
	uintptr_t h = ((uintptr_t)k >> 4) * 0x9E3779B1u;
	for (int i = (int)(h & (uintptr_t)(m->cap - 1));; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i])
			return 0;
		if (m->keys[i] == k)
			return m->vals[i];
	}
}

static void vm_set(VMap *m, const void *k, int v)
{
	if (2 * (m->n + 1) > m->cap) {
		VMap old = *m;
		m->cap = old.cap ? 2 * old.cap : 64;
		m->keys = xcalloc((size_t)m->cap, sizeof *m->keys);
		m->vals = xcalloc((size_t)m->cap, sizeof *m->vals);
		m->n = 0;
		for (int i = 0; i < old.cap; i++)
			if (old.keys[i])
				vm_set(m, old.keys[i], old.vals[i]);
		free(old.keys);
		free(old.vals);
	}
	uintptr_t h = ((uintptr_t)k >> 4) * 0x9E3779B1u;
	int i = (int)(h & (uintptr_t)(m->cap - 1));
	while (m->keys[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = k;
	m->vals[i] = v;
}

static void vm_free(VMap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* Definition states of vars and buffers.  REPORTED is or'ed in once a
 * bad use has been reported, so one free var gives one error. */
enum { UNDEF = 0, LIVE = 1, DEAD = 2, STATE = 3, REPORTED = 4, THREADVAR = 8 };

typedef struct V {
	const Module *m;
	const Func *f;
	const char *after;
	int nerr;
	Loc loc;        /* of the innermost statement with a location */
	int is_kernel;  /* a device function after the split */
	int is_host;    /* thread bindings need a device region */
	int in_device;  /* depth of `target` attr regions */
	VMap vars, bufs;
	Vec scope;      /* defined things, popped at scope exit: tagged pointers */
	Vec tags;       /* thread tag (Sym) -> var pairs of this function */
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

static const char *dts(DType t, char *buf)
{
	return dt_str(t, buf);
}

/* ------------------------------------------------------------ scopes */

/* Scope entries are Var or Buffer pointers with bit 0 set for buffers
 * (both are at least 4-byte aligned arena objects). */
static void def_var(V *v, Var *x, const Stmt *s)
{
	int st = vm_get(&v->vars, x);
	if ((st & STATE) != UNDEF && !(st & THREADVAR)) {
		fail(v, NULL, s, "variable '%s' defined more than once", x->name);
		return;
	}
	vm_set(&v->vars, x, LIVE | (st & THREADVAR));
	vec_push(&v->scope, x);
}

static void def_buf(V *v, Buffer *b, const Stmt *s)
{
	if ((vm_get(&v->bufs, b) & STATE) != UNDEF) {
		fail(v, NULL, s, "buffer '%s' declared more than once", b->name);
		return;
	}
	vm_set(&v->bufs, b, LIVE);
	vec_push(&v->scope, (void *)((uintptr_t)b | 1));
}

static void pop_scope(V *v, int mark)
{
	while (v->scope.n > mark) {
		uintptr_t p = (uintptr_t)v->scope.v[--v->scope.n];
		if (p & 1) {
			vm_set(&v->bufs, (void *)(p & ~(uintptr_t)1), DEAD);
		} else {
			int st = vm_get(&v->vars, (void *)p);
			vm_set(&v->vars, (void *)p, DEAD | (st & THREADVAR));
		}
	}
}

static void use_var(V *v, Var *x, const Expr *e)
{
	int st = vm_get(&v->vars, x);
	if ((st & STATE) == LIVE || (st & REPORTED))
		return;
	vm_set(&v->vars, x, st | REPORTED);
	if ((st & STATE) == DEAD)
		fail(v, e, NULL, "variable '%s' used out of its scope", x->name);
	else if (v->is_kernel)
		fail(v, e, NULL, "device function uses variable '%s' that it neither defines "
		     "nor takes as a parameter", x->name);
	else
		fail(v, e, NULL, "variable '%s' used before definition", x->name);
}

static void use_buf(V *v, Buffer *b, const Expr *e, const Stmt *s)
{
	int st = vm_get(&v->bufs, b);
	if ((st & STATE) == LIVE || (st & REPORTED))
		return;
	vm_set(&v->bufs, b, st | REPORTED);
	if ((st & STATE) == DEAD)
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
		char t[32];
		expr(v, idx[i]);
		if (!dt_is_int(idx[i]->dt)) {
			fail(v, e, s, "index %d of buffer '%s' has non-integer type %s", i, b->name,
			     dts(idx[i]->dt, t));
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
	char t1[32], t2[32], t3[32];
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
			fail(v, e, NULL, "operand types differ: %s vs %s", dts(e->bin.a->dt, t1),
			     dts(e->bin.b->dt, t2));
		else if (!dt_eq(e->dt, e->bin.a->dt))
			fail(v, e, NULL, "result type %s differs from operand type %s", dts(e->dt, t1),
			     dts(e->bin.a->dt, t2));
		break;
	case EX_EQ: case EX_NE: case EX_LT: case EX_LE: case EX_GT: case EX_GE:
	case EX_AND: case EX_OR:
		expr(v, e->bin.a);
		expr(v, e->bin.b);
		if (!dt_eq(e->bin.a->dt, e->bin.b->dt))
			fail(v, e, NULL, "operand types differ: %s vs %s", dts(e->bin.a->dt, t1),
			     dts(e->bin.b->dt, t2));
		else if ((e->kind == EX_AND || e->kind == EX_OR) && !is_bool(e->bin.a->dt))
			fail(v, e, NULL, "logical operands must be bool, not %s", dts(e->bin.a->dt, t1));
		if (!is_bool(e->dt) || e->dt.lanes != e->bin.a->dt.lanes)
			fail(v, e, NULL, "comparison result must be bool with %d lane%s, not %s",
			     e->bin.a->dt.lanes, e->bin.a->dt.lanes == 1 ? "" : "s", dts(e->dt, t1));
		break;
	case EX_NOT:
		expr(v, e->bin.a);
		if (!is_bool(e->bin.a->dt) || !dt_eq(e->dt, e->bin.a->dt))
			fail(v, e, NULL, "logical not needs a bool operand, not %s", dts(e->bin.a->dt, t1));
		break;
	case EX_CAST:
		expr(v, e->bin.a);
		if (e->dt.lanes != e->bin.a->dt.lanes)
			fail(v, e, NULL, "cast changes the lanes: %s to %s", dts(e->bin.a->dt, t1),
			     dts(e->dt, t2));
		break;
	case EX_SELECT:
		expr(v, e->sel.c);
		expr(v, e->sel.t);
		expr(v, e->sel.f);
		if (!is_bool(e->sel.c->dt) ||
		    (e->sel.c->dt.lanes != 1 && e->sel.c->dt.lanes != e->dt.lanes))
			fail(v, e, NULL, "select condition must be bool, not %s", dts(e->sel.c->dt, t1));
		if (!dt_eq(e->sel.t->dt, e->sel.f->dt) || !dt_eq(e->dt, e->sel.t->dt))
			fail(v, e, NULL, "select branch types differ: %s vs %s", dts(e->sel.t->dt, t1),
			     dts(e->sel.f->dt, t2));
		break;
	case EX_RAMP:
		expr(v, e->ramp.base);
		expr(v, e->ramp.stride);
		if (e->ramp.base->dt.lanes != 1 || !dt_eq(e->ramp.base->dt, e->ramp.stride->dt) ||
		    !dt_eq(dt_element(e->dt), e->ramp.base->dt))
			fail(v, e, NULL, "ramp of %s with base %s and stride %s", dts(e->dt, t1),
			     dts(e->ramp.base->dt, t2), dts(e->ramp.stride->dt, t3));
		break;
	case EX_BROADCAST:
		expr(v, e->bcast.value);
		if (!dt_eq(dt_element(e->dt), e->bcast.value->dt))
			fail(v, e, NULL, "broadcast of %s to %s", dts(e->bcast.value->dt, t1),
			     dts(e->dt, t2));
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
			     dts(e->let.var->dt, t1), dts(e->let.value->dt, t2));
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
			fail(v, e, NULL, "load of %s from buffer '%s' of %s", dts(e->dt, t1), b->name,
			     dts(b->dt, t2));
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

/* The function's target kind, and whether that target names a host. */
static Sym func_target_kind(const Func *f, int *has_host)
{
	Obj *t = func_target(f);
	*has_host = t && obj_dict_get(t->target, "host") != NULL;
	return t ? target_kind(t) : NULL;
}

static int is_thread_attr(const Stmt *s)
{
	return s->attr.key == sym("thread_extent") || s->attr.key == sym("virtual_thread");
}

static void thread_attr(V *v, const Stmt *s)
{
	const Obj *n = s->attr.node;
	if (!n || n->kind != OB_ITERVAR || !n->iv.var) {
		fail(v, NULL, s, "'%s' attribute needs an iteration variable node", s->attr.key);
		return;
	}
	Var *x = n->iv.var;
	char t1[32], t2[32];
	if (!n->iv.tag || !*n->iv.tag)
		fail(v, NULL, s, "thread variable '%s' has no thread tag", x->name);
	if (n->iv.itype != IV_THREADINDEX)
		fail(v, NULL, s, "thread variable '%s' is not a thread index", x->name);
	if (!s->attr.value || !dt_is_int(s->attr.value->dt) || s->attr.value->dt.lanes != 1)
		fail(v, NULL, s, "thread extent of '%s' must be a scalar integer", x->name);
	else if (!dt_eq(x->dt, s->attr.value->dt))
		fail(v, NULL, s, "thread variable '%s' has type %s, its extent %s", x->name,
		     dts(x->dt, t1), dts(s->attr.value->dt, t2));
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
	int st = vm_get(&v->vars, x);
	vm_set(&v->vars, x, st | THREADVAR);
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

static void stmt(V *v, const Stmt *s)
{
	char t1[32], t2[32], t3[32];
	if (!s)
		return;
	Loc saved = v->loc;
	if (s->loc.file >= 0)
		v->loc = s->loc;
	switch (s->kind) {
	case ST_BIND:
		expr(v, s->bind.value);
		if (!dt_eq(s->bind.var->dt, s->bind.value->dt))
			fail(v, NULL, s, "'%s' of type %s is bound to a value of type %s",
			     s->bind.var->name, dts(s->bind.var->dt, t1), dts(s->bind.value->dt, t2));
		def_var(v, s->bind.var, s);
		break;
	case ST_STORE: {
		Buffer *b = s->store.buf;
		expr(v, s->store.value);
		use_buf(v, b, NULL, s);
		int lanes = check_indices(v, b, s->store.idx, s->store.nidx, NULL, s);
		if (s->store.nidx == b->ndim && !dt_eq(s->store.value->dt, dt_with_lanes(b->dt, lanes)))
			fail(v, NULL, s, "store of %s into buffer '%s' of %s", dts(s->store.value->dt, t1),
			     b->name, dts(dt_with_lanes(b->dt, lanes), t2));
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
		int mark = v->scope.n;
		expr(v, s->attr.value);
		const Obj *n = s->attr.node;
		if (is_thread_attr(s)) {
			thread_attr(v, s);
		} else if (n && n->kind == OB_EXPR) {
			expr(v, n->expr);
		} else if (n && n->kind == OB_BUFFER) {
			use_buf(v, n->buf, NULL, s);
		} else if (n && n->kind == OB_ITERVAR && n->iv.var) {
			use_var(v, n->iv.var, NULL);
		}
		int device = s->attr.key == sym("target");
		v->in_device += device;
		body(v, s->attr.body);
		v->in_device -= device;
		pop_scope(v, mark);
		break;
	}
	case ST_FOR: {
		expr(v, s->loop.min);
		expr(v, s->loop.extent);
		expr(v, s->loop.step);
		Var *x = s->loop.var;
		if (!dt_is_int(x->dt) || x->dt.lanes != 1)
			fail(v, NULL, s, "loop variable '%s' has non-integer type %s", x->name,
			     dts(x->dt, t1));
		else if (!dt_eq(s->loop.min->dt, x->dt) || !dt_eq(s->loop.extent->dt, x->dt))
			fail(v, NULL, s, "loop '%s' of %s has bounds of %s and %s", x->name,
			     dts(x->dt, t1), dts(s->loop.min->dt, t2), dts(s->loop.extent->dt, t3));
		int mark = v->scope.n;
		def_var(v, x, s);
		body(v, s->loop.body);
		pop_scope(v, mark);
		break;
	}
	case ST_WHILE:
		expr(v, s->wloop.cond);
		if (!is_bool(s->wloop.cond->dt) || s->wloop.cond->dt.lanes != 1)
			fail(v, NULL, s, "while condition must be bool, not %s",
			     dts(s->wloop.cond->dt, t1));
		body(v, s->wloop.body);
		break;
	case ST_IF:
		expr(v, s->ifs.cond);
		if (!is_bool(s->ifs.cond->dt) || s->ifs.cond->dt.lanes != 1)
			fail(v, NULL, s, "if condition must be bool, not %s", dts(s->ifs.cond->dt, t1));
		body(v, s->ifs.then);
		body(v, s->ifs.els);
		break;
	case ST_SEQ:
		/* not a scope: flat definitions stay visible to the enclosing body */
		for (int i = 0; i < s->seq.n; i++)
			stmt(v, s->seq.items[i]);
		break;
	case ST_EVAL:
		expr(v, s->eval.value);
		break;
	case ST_ASSERT:
		expr(v, s->assert.cond);
		if (!is_bool(s->assert.cond->dt))
			fail(v, NULL, s, "assert condition must be bool, not %s",
			     dts(s->assert.cond->dt, t1));
		break;
	case ST_RETURN:
		expr(v, s->ret.value);
		break;
	case ST_BREAK: case ST_CONTINUE:
		break;
	default:
		fail(v, NULL, s, "unknown statement kind %d", s->kind);
	}
	v->loc = saved;
}

/* --------------------------------------------------------- functions */

static int is_device_kind(Sym k)
{
	static const char *const kinds[] = {"cuda", "rocm", "metal", "vulkan", "opencl", "webgpu", "nvptx"};
	for (size_t i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
		if (k == sym(kinds[i]))
			return 1;
	return 0;
}

static int is_kernel(const Func *f)
{
	int host;
	if (!is_device_kind(func_target_kind(f, &host)))
		return 0;
	Obj *g = obj_dict_get(f->attrs, "tirx.is_global_func");
	Obj *cc = obj_dict_get(f->attrs, "calling_conv");
	return (g && (g->kind == OB_BOOL || g->kind == OB_INT) && g->i) ||
	       (cc && cc->kind == OB_INT && cc->i == 2);
}

/* Buffer params define the vars of their shapes (a shape is a match scope),
 * and the strides and offset that are bare vars. */
static void def_match_var(V *v, const Expr *e)
{
	if (!e)
		return;
	if (e->kind == EX_VAR) {
		if ((vm_get(&v->vars, e->var) & STATE) != LIVE)
			def_var(v, e->var, NULL);
		return;
	}
	switch (e->kind) {
	case EX_INT: case EX_FLOAT: case EX_STR: case EX_BUFDATA: case EX_BUFREF:
		return;
	case EX_SELECT:
		def_match_var(v, e->sel.c);
		def_match_var(v, e->sel.t);
		def_match_var(v, e->sel.f);
		return;
	case EX_CALL:
		for (int i = 0; i < e->call.nargs; i++)
			def_match_var(v, e->call.args[i]);
		return;
	default:
		if (e->kind >= EX_ADD && e->kind <= EX_CAST) {
			def_match_var(v, e->bin.a);
			if (e->kind != EX_NOT && e->kind != EX_CAST)
				def_match_var(v, e->bin.b);
		} else {
			/* other shapes are not match patterns: plain uses */
			expr(v, e);
		}
	}
}

static void verify_func(V *v, const Func *f, int split)
{
	v->f = f;
	v->loc = f->loc;
	v->in_device = 0;
	v->tags.n = 0;
	int host = 0;
	Sym kind = func_target_kind(f, &host);
	v->is_kernel = is_kernel(f);
	v->is_host = kind == sym("llvm") || kind == sym("c") || (split && host && !v->is_kernel);
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].var)
			def_var(v, f->params[i].var, NULL);
	for (int i = 0; i < f->nparams; i++) {
		Buffer *b = f->params[i].buf;
		if (!b)
			continue;
		for (int j = 0; j < b->ndim; j++)
			def_match_var(v, b->shape[j]);
		for (int j = 0; j < b->nstrides; j++)
			if (b->strides[j]->kind == EX_VAR)
				def_match_var(v, b->strides[j]);
			else
				expr(v, b->strides[j]);
		if (b->elem_offset && b->elem_offset->kind == EX_VAR)
			def_match_var(v, b->elem_offset);
		else
			expr(v, b->elem_offset);
	}
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].buf)
			def_buf(v, f->params[i].buf, NULL);
	body(v, f->body);
	pop_scope(v, 0);
	vm_free(&v->vars);
	vm_free(&v->bufs);
}

int tir_verify(const Module *m, const char *after)
{
	V v;
	memset(&v, 0, sizeof v);
	v.m = m;
	v.after = after;
	/* Host functions may bind threads before the split (the device
	 * region is still inline); after it, only inside `target` attrs. */
	int split = 0;
	for (int i = 0; i < m->nfuncs; i++)
		split |= is_kernel(m->funcs[i]);
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
		verify_func(&v, f, split);
	}
	pmap_free(&seen);
	vec_free(&v.scope);
	vec_free(&v.tags);
	return v.nerr;
}
