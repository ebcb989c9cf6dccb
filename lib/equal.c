/* equal.c: structural equality and hashing of modules, up to consistent
 * renaming of vars and buffers (alpha-equivalence).
 *
 * Equality walks both modules in step.  Vars and buffers are paired on first
 * sight, whether that is a definition or a free use, and every later sight
 * must show the same pair, in both directions; names never matter.  Functions
 * are matched by name, string-keyed dicts (attrs, targets, annotations) by
 * key, Locs are ignored.  The first difference is described by a path such
 * as `main: body[3].then.value.b: 1 vs 2`.
 *
 * The hash numbers vars and buffers in the order of first sight, so two
 * modules that are equal hash equally; functions and dict entries are
 * combined order-independently. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"

/* ------------------------------------------------------------ equality */

typedef struct Eq {
	Buf *why;
	Buf path;
	PtrMap fwd, bwd; /* a's vars and buffers to b's, and back */
} Eq;

/* Reports the difference at the current path; returns 0 for chaining. */
static int differ(Eq *q, const char *fmt, ...) TIR_PRINTF(2, 3);

static int differ(Eq *q, const char *fmt, ...)
{
	if (!q->why)
		return 0;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* "main: " + ".body[3]" reads "main: body[3]" */
	const char *p = q->path.s ? q->path.s : "";
	int n = (int)q->path.n;
	const char *colon = memchr(p, ':', (size_t)n);
	if (colon && colon + 2 < p + n && colon[1] == ' ' && colon[2] == '.')
		buf_printf(q->why, "%.*s%.*s: %s", (int)(colon + 2 - p), p, (int)(p + n - colon - 3),
			   colon + 3, msg);
	else
		buf_printf(q->why, "%.*s: %s", n, p, msg);
	return 0;
}

/* Appends to the path; returns the length to restore. */
static size_t push(Eq *q, const char *fmt, ...) TIR_PRINTF(2, 3);

static size_t push(Eq *q, const char *fmt, ...)
{
	size_t n = q->path.n;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&q->path, fmt, ap);
	va_end(ap);
	return n;
}

static void pop(Eq *q, size_t n)
{
	q->path.n = n;
}

/* Prints an expression into a scratch string (caller frees). */
static char *show(const Expr *e)
{
	Buf b = {0};
	if (e)
		tir_print_expr(&b, e);
	else
		buf_puts(&b, "(none)");
	buf_putc(&b, 0);
	return b.s;
}

static int eq_expr(Eq *q, const Expr *a, const Expr *b);
static int eq_stmt(Eq *q, const Stmt *a, const Stmt *b);
static int eq_obj(Eq *q, const Obj *a, const Obj *b);
static int eq_buf(Eq *q, const Buffer *a, const Buffer *b);
static int eq_var(Eq *q, const Var *a, const Var *b);

/* name(q, field, a, b): cmp(q, a, b) with ".field" on the path. */
#define EQ_AT(name, T, cmp)                                                  \
	static int name(Eq *q, const char *field, const T *a, const T *b)    \
	{                                                                    \
		size_t n = push(q, ".%s", field);                            \
		int ok = cmp(q, a, b);                                       \
		pop(q, n);                                                   \
		return ok;                                                   \
	}
EQ_AT(eq_field, Expr, eq_expr)
EQ_AT(eq_varf, Var, eq_var)
EQ_AT(eq_buff, Buffer, eq_buf)
EQ_AT(eq_objf, Obj, eq_obj)
EQ_AT(eq_body, Stmt, eq_stmt)

/* Pairs x with y, or checks an existing pairing. */
static int pair(Eq *q, const void *x, const void *y, const char *what, const char *xn,
		const char *yn)
{
	const void *px = pmap_get(&q->fwd, x), *py = pmap_get(&q->bwd, y);
	if (px == y && py == x)
		return 1;
	if (px || py)
		return differ(q, "%s '%s' vs '%s' (not the same %s on both sides)", what, xn, yn, what);
	pmap_put(&q->fwd, x, (void *)y);
	pmap_put(&q->bwd, y, (void *)x);
	return 2; /* newly paired */
}

static int eq_var(Eq *q, const Var *a, const Var *b)
{
	if (!a || !b)
		return a == b ? 1 : differ(q, "variable missing on one side");
	if (!ty_eq(a->ty, b->ty)) {
		char t1[32], t2[32];
		return differ(q, "variable '%s' of %s vs '%s' of %s", a->name, dt_str(a->dt, t1),
			      b->name, dt_str(b->dt, t2));
	}
	return pair(q, a, b, "variable", a->name, b->name) != 0;
}

static int eq_exprs(Eq *q, const char *field, Expr *const *a, int na, Expr *const *b, int nb)
{
	if (na != nb)
		return differ(q, "%s: %d vs %d items", field, na, nb);
	for (int i = 0; i < na; i++) {
		size_t n = push(q, ".%s[%d]", field, i);
		int ok = eq_expr(q, a[i], b[i]);
		pop(q, n);
		if (!ok)
			return 0;
	}
	return 1;
}

static int eq_buf(Eq *q, const Buffer *a, const Buffer *b)
{
	if (!a || !b)
		return a == b ? 1 : differ(q, "buffer missing on one side");
	int r = pair(q, a, b, "buffer", a->name, b->name);
	if (r != 2)
		return r;
	/* first sight: the declarations must agree */
	char t1[32], t2[32];
	if (!dt_eq(a->dt, b->dt))
		return differ(q, "buffer '%s' of %s vs '%s' of %s", a->name, dt_str(a->dt, t1), b->name,
			      dt_str(b->dt, t2));
	if (a->scope != b->scope)
		return differ(q, "buffer '%s' in scope \"%s\" vs \"%s\"", a->name, a->scope, b->scope);
	if (a->align != b->align || a->offset_factor != b->offset_factor || a->layout != b->layout)
		return differ(q, "buffer '%s': align, offset_factor or layout differ", a->name);
	size_t n = push(q, "(buffer %s)", a->name);
	int ok = eq_exprs(q, "shape", a->shape, a->ndim, b->shape, b->ndim) &&
		 eq_exprs(q, "strides", a->strides, a->nstrides, b->strides, b->nstrides) &&
		 eq_field(q, "elem_offset", buf_elem_offset(a), buf_elem_offset(b));
	pop(q, n);
	return ok;
}

static int eq_float(double a, double b)
{
	return a == b ? signbit(a) == signbit(b) : isnan(a) && isnan(b);
}

static int eq_expr(Eq *q, const Expr *a, const Expr *b)
{
	char t1[32], t2[32];
	if (!a || !b) {
		if (a == b)
			return 1;
		char *s = show(a ? a : b);
		differ(q, "%s vs %s", a ? s : "(none)", a ? "(none)" : s);
		free(s);
		return 0;
	}
	if (a->kind != b->kind || !dt_eq(a->dt, b->dt) ||
	    (a->kind == EX_INT && a->i != b->i) ||
	    (a->kind == EX_FLOAT && !eq_float(a->f, b->f)) ||
	    (a->kind == EX_STR && a->s != b->s) ||
	    (a->kind == EX_CALL && (a->call.op != b->call.op || a->call.fn != b->call.fn))) {
		char *sa = show(a), *sb = show(b);
		if (a->kind == b->kind && !dt_eq(a->dt, b->dt))
			differ(q, "%s vs %s (%s vs %s)", sa, sb, dt_str(a->dt, t1), dt_str(b->dt, t2));
		else
			differ(q, "%s vs %s", sa, sb);
		free(sa);
		free(sb);
		return 0;
	}
	switch (a->kind) {
	case EX_INT: case EX_FLOAT: case EX_STR:
		return 1;
	case EX_VAR:
		return eq_var(q, a->var, b->var);
	case EX_BUFDATA: case EX_BUFREF:
		return eq_buf(q, a->buf, b->buf);
	case EX_NOT: case EX_CAST:
		return eq_field(q, "a", a->bin.a, b->bin.a);
	case EX_SELECT:
		return eq_field(q, "cond", a->sel.c, b->sel.c) &&
		       eq_field(q, "true", a->sel.t, b->sel.t) &&
		       eq_field(q, "false", a->sel.f, b->sel.f);
	case EX_RAMP:
		return eq_field(q, "base", a->ramp.base, b->ramp.base) &&
		       eq_field(q, "stride", a->ramp.stride, b->ramp.stride);
	case EX_BROADCAST:
		return eq_field(q, "value", a->bcast.value, b->bcast.value);
	case EX_SHUFFLE:
		return eq_exprs(q, "vectors", a->shuf.vecs, a->shuf.nvecs, b->shuf.vecs, b->shuf.nvecs) &&
		       eq_exprs(q, "indices", a->shuf.idx, a->shuf.nidx, b->shuf.idx, b->shuf.nidx);
	case EX_LET:
		return eq_field(q, "value", a->let.value, b->let.value) &&
		       eq_varf(q, "var", a->let.var, b->let.var) &&
		       eq_field(q, "body", a->let.body, b->let.body);
	case EX_LOAD:
		return eq_buff(q, "buffer", a->load.buf, b->load.buf) &&
		       eq_exprs(q, "idx", a->load.idx, a->load.nidx, b->load.idx, b->load.nidx) &&
		       eq_field(q, "predicate", a->load.pred, b->load.pred);
	case EX_CALL:
		if (!ty_eq(a->call.rty, b->call.rty))
			return differ(q, "call return types differ");
		return eq_exprs(q, "args", a->call.args, a->call.nargs, b->call.args, b->call.nargs) &&
		       eq_objf(q, "attrs", a->call.attrs, b->call.attrs);
	default:
		if (a->kind >= EX_ADD && a->kind <= EX_OR)
			return eq_field(q, "a", a->bin.a, b->bin.a) && eq_field(q, "b", a->bin.b, b->bin.b);
		return differ(q, "unknown expression kind %d", a->kind);
	}
}

/* Dicts keyed by strings compare as maps, others as lists of pairs. */
static int str_keyed(const Obj *d)
{
	for (int i = 0; i < d->dict.n; i++)
		if (!d->dict.keys[i] || d->dict.keys[i]->kind != OB_STR)
			return 0;
	return 1;
}

static int eq_dict(Eq *q, const Obj *a, const Obj *b)
{
	if (a->dict.n != b->dict.n)
		return differ(q, "dicts of %d vs %d entries", a->dict.n, b->dict.n);
	int keyed = str_keyed(a) && str_keyed(b);
	for (int i = 0; i < a->dict.n; i++) {
		const Obj *k = a->dict.keys[i], *bv;
		size_t n;
		if (keyed) {
			bv = obj_dict_get(b, k->s);
			n = push(q, "[\"%s\"]", k->s);
			if (!bv) {
				differ(q, "key missing on the right");
				pop(q, n);
				return 0;
			}
		} else {
			n = push(q, ".keys[%d]", i);
			int ok = eq_obj(q, k, b->dict.keys[i]);
			pop(q, n);
			if (!ok)
				return 0;
			bv = b->dict.vals[i];
			n = push(q, ".values[%d]", i);
		}
		int ok = eq_obj(q, a->dict.vals[i], bv);
		pop(q, n);
		if (!ok)
			return 0;
	}
	return 1;
}

static int is_empty_dict(const Obj *o)
{
	return !o || (o->kind == OB_DICT && o->dict.n == 0);
}

static int eq_obj(Eq *q, const Obj *a, const Obj *b)
{
	if (is_empty_dict(a) && is_empty_dict(b))
		return 1;
	if (!a || !b)
		return differ(q, "attribute missing on one side");
	if (a->kind != b->kind)
		return differ(q, "attribute objects of different kinds (%d vs %d)", a->kind, b->kind);
	switch (a->kind) {
	case OB_NONE:
		return 1;
	case OB_BOOL: case OB_INT:
		if (a->i != b->i)
			return differ(q, "%lld vs %lld", (long long)a->i, (long long)b->i);
		return 1;
	case OB_FLOAT:
		return eq_float(a->f, b->f) ? 1 : differ(q, "%.17g vs %.17g", a->f, b->f);
	case OB_STR:
		return a->s == b->s ? 1 : differ(q, "\"%s\" vs \"%s\"", a->s, b->s);
	case OB_LIST:
		if (a->list.n != b->list.n)
			return differ(q, "lists of %d vs %d items", a->list.n, b->list.n);
		for (int i = 0; i < a->list.n; i++) {
			size_t n = push(q, "[%d]", i);
			int ok = eq_obj(q, a->list.items[i], b->list.items[i]);
			pop(q, n);
			if (!ok)
				return 0;
		}
		return 1;
	case OB_DICT:
		return eq_dict(q, a, b);
	case OB_TARGET:
		return eq_obj(q, a->target, b->target);
	case OB_EXPR:
		return eq_expr(q, a->expr, b->expr);
	case OB_BUFFER:
		return eq_buf(q, a->buf, b->buf);
	case OB_ITERVAR:
		if (a->iv.itype != b->iv.itype || a->iv.tag != b->iv.tag)
			return differ(q, "thread \"%s\" vs \"%s\"", a->iv.tag ? a->iv.tag : "",
				      b->iv.tag ? b->iv.tag : "");
		return eq_var(q, a->iv.var, b->iv.var) && eq_field(q, "min", a->iv.min, b->iv.min) &&
		       eq_field(q, "extent", a->iv.extent, b->iv.extent);
	case OB_REDUCER:
		if (a->red.n != b->red.n)
			return differ(q, "reducers of %d vs %d values", a->red.n, b->red.n);
		for (int i = 0; i < a->red.n; i++)
			if (!eq_var(q, a->red.lhs[i], b->red.lhs[i]) ||
			    !eq_var(q, a->red.rhs[i], b->red.rhs[i]))
				return 0;
		return eq_exprs(q, "result", a->red.result, a->red.n, b->red.result, b->red.n) &&
		       eq_exprs(q, "identity", a->red.identity, a->red.n, b->red.identity, b->red.n);
	case OB_METADATA:
		if (a->meta.key != b->meta.key || a->meta.index != b->meta.index)
			return differ(q, "metadata[\"%s\"][%lld] vs metadata[\"%s\"][%lld]", a->meta.key,
				      (long long)a->meta.index, b->meta.key, (long long)b->meta.index);
		return 1;
	default:
		return differ(q, "unknown attribute kind %d", a->kind);
	}
}

static const char *const stmt_names[ST_COUNT] = {
	"bind", "store", "alloc_buffer", "decl_buffer", "attr", "for", "while", "if",
	"sequence", "evaluate", "assert", "return", "break", "continue",
};

static const char *stmt_name(const Stmt *s)
{
	return s ? s->kind < ST_COUNT ? stmt_names[s->kind] : "?" : "nothing";
}

static int eq_node(Eq *q, const Stmt *a, const Stmt *b);

/* An attr's body and a sequence's last item are compared by the loop, not
 * by a call (chains of flat frames cost no stack); the path grows along
 * the chain and is restored at the end. */
static int eq_stmt(Eq *q, const Stmt *a, const Stmt *b)
{
	size_t n0 = q->path.n;
	int ok = 1;
	for (;;) {
		if (!a || !b || a->kind != b->kind) {
			if (a != b)
				ok = differ(q, "%s vs %s", stmt_name(a), stmt_name(b));
			break;
		}
		if (a->kind == ST_ATTR) {
			if (a->attr.key != b->attr.key) {
				ok = differ(q, "attr \"%s\" vs \"%s\"", a->attr.key, b->attr.key);
				break;
			}
			if (!eq_field(q, "value", a->attr.value, b->attr.value) ||
			    !eq_objf(q, "node", a->attr.node, b->attr.node)) {
				ok = 0;
				break;
			}
			push(q, ".body");
		} else if (a->kind == ST_SEQ && a->seq.n && b->seq.n) {
			int k = a->seq.n < b->seq.n ? a->seq.n : b->seq.n;
			int last = a->seq.n == b->seq.n; /* the last pair is the next link */
			for (int i = 0; i < k - last && ok; i++) {
				size_t n = push(q, "[%d]", i);
				ok = eq_stmt(q, a->seq.items[i], b->seq.items[i]);
				pop(q, n);
			}
			if (!ok)
				break;
			if (a->seq.n != b->seq.n) {
				push(q, "[%d]", k);
				ok = differ(q, "%s vs %s", k < a->seq.n ? stmt_name(a->seq.items[k]) : "nothing",
				            k < b->seq.n ? stmt_name(b->seq.items[k]) : "nothing");
				break;
			}
			push(q, "[%d]", k - 1);
		} else {
			ok = eq_node(q, a, b);
			break;
		}
		a = st_chain_next(a);
		b = st_chain_next(b);
	}
	pop(q, n0);
	return ok;
}

/* The statements that are not links of a chain. */
static int eq_node(Eq *q, const Stmt *a, const Stmt *b)
{
	switch (a->kind) {
	case ST_BIND:
		return eq_field(q, "value", a->bind.value, b->bind.value) &&
		       eq_varf(q, "var", a->bind.var, b->bind.var);
	case ST_STORE:
		return eq_buff(q, "buffer", a->store.buf, b->store.buf) &&
		       eq_exprs(q, "idx", a->store.idx, a->store.nidx, b->store.idx, b->store.nidx) &&
		       eq_field(q, "value", a->store.value, b->store.value) &&
		       eq_field(q, "predicate", a->store.pred, b->store.pred);
	case ST_ALLOC:
		return eq_buff(q, "buffer", a->alloc.buf, b->alloc.buf) &&
		       eq_objf(q, "annotations", a->alloc.annotations, b->alloc.annotations);
	case ST_DECL:
		return eq_field(q, "data", a->decl.data, b->decl.data) &&
		       eq_buff(q, "buffer", a->decl.buf, b->decl.buf);
	case ST_FOR:
		if (a->loop.kind != b->loop.kind || a->loop.thread != b->loop.thread)
			return differ(q, "loop kinds differ");
		return eq_field(q, "min", a->loop.min, b->loop.min) &&
		       eq_field(q, "extent", a->loop.extent, b->loop.extent) &&
		       eq_field(q, "step", a->loop.step, b->loop.step) &&
		       eq_objf(q, "annotations", a->loop.annotations, b->loop.annotations) &&
		       eq_varf(q, "var", a->loop.var, b->loop.var) &&
		       eq_body(q, "body", a->loop.body, b->loop.body);
	case ST_WHILE:
		return eq_field(q, "cond", a->wloop.cond, b->wloop.cond) &&
		       eq_body(q, "body", a->wloop.body, b->wloop.body);
	case ST_IF:
		return eq_field(q, "cond", a->ifs.cond, b->ifs.cond) &&
		       eq_body(q, "then", a->ifs.then, b->ifs.then) &&
		       eq_body(q, "else", a->ifs.els, b->ifs.els);
	case ST_SEQ: /* one of them empty */
		if (a->seq.n != b->seq.n) {
			size_t n = push(q, "[0]");
			differ(q, "%s vs %s", a->seq.n ? stmt_name(a->seq.items[0]) : "nothing",
			       b->seq.n ? stmt_name(b->seq.items[0]) : "nothing");
			pop(q, n);
			return 0;
		}
		return 1;
	case ST_EVAL:
		return eq_field(q, "value", a->eval.value, b->eval.value);
	case ST_ASSERT:
		if (a->assert.kind != b->assert.kind || a->assert.nparts != b->assert.nparts)
			return differ(q, "assert messages differ");
		for (int i = 0; i < a->assert.nparts; i++)
			if (a->assert.parts[i] != b->assert.parts[i])
				return differ(q, "assert message part %d: \"%s\" vs \"%s\"", i,
					      a->assert.parts[i], b->assert.parts[i]);
		return eq_field(q, "cond", a->assert.cond, b->assert.cond);
	case ST_RETURN:
		return eq_field(q, "value", a->ret.value, b->ret.value);
	case ST_BREAK: case ST_CONTINUE:
		return 1;
	default:
		return differ(q, "unknown statement kind %d", a->kind);
	}
}

static int eq_func(Eq *q, const Func *a, const Func *b)
{
	q->path.n = 0;
	buf_printf(&q->path, "%s: ", a->name);
	if (a->nparams != b->nparams)
		return differ(q, "%d vs %d parameters", a->nparams, b->nparams);
	/* Scalar params first, then buffer params: shape vars that are
	 * params must pair as params. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < a->nparams; i++) {
			const Param *pa = &a->params[i], *pb = &b->params[i];
			size_t n = push(q, ".params[%d]", i);
			int ok = 1;
			if (!pa->buf != !pb->buf)
				ok = differ(q, "buffer vs scalar parameter");
			else if (pass == 0 && !pa->buf)
				ok = eq_var(q, pa->var, pb->var);
			else if (pass == 1 && pa->buf)
				ok = eq_buf(q, pa->buf, pb->buf);
			pop(q, n);
			if (!ok)
				return 0;
		}
	}
	if (!ty_eq(a->ret, b->ret))
		return differ(q, "return types differ");
	return eq_objf(q, "attrs", a->attrs, b->attrs) && eq_body(q, "body", a->body, b->body);
}

int tir_equal(const Module *a, const Module *b, Buf *why)
{
	Eq q = {why, {0}, {0}, {0}};
	int ok = 1;
	buf_puts(&q.path, "module: ");
	if (!eq_objf(&q, "attrs", a->attrs, b->attrs) ||
	    !eq_objf(&q, "global_infos", a->global_infos, b->global_infos))
		ok = 0;
	for (int i = 0; ok && i < a->nfuncs; i++) {
		const Func *g = mod_find(b, a->funcs[i]->name);
		if (!g) {
			q.path.n = 0;
			buf_printf(&q.path, "function '%s'", a->funcs[i]->name);
			ok = differ(&q, "function only in the first module");
			break;
		}
		/* vars and buffers never cross functions */
		pmap_free(&q.fwd);
		pmap_free(&q.bwd);
		ok = eq_func(&q, a->funcs[i], g);
	}
	for (int i = 0; ok && i < b->nfuncs; i++) {
		if (!mod_find(a, b->funcs[i]->name)) {
			q.path.n = 0;
			buf_printf(&q.path, "function '%s'", b->funcs[i]->name);
			ok = differ(&q, "function only in the second module");
		}
	}
	pmap_free(&q.fwd);
	pmap_free(&q.bwd);
	buf_free(&q.path);
	return ok;
}

/* ------------------------------------------------------------- hashing */

typedef struct Hs {
	PtrMap ids; /* var or buffer -> 1 + order of first sight */
	uintptr_t next;
} Hs;

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
	h *= 0xFF51AFD7ED558CCDull;
	return h ^ (h >> 32);
}

static uint64_t hstr(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static uint64_t hdt(DType t)
{
	return (uint64_t)t.code << 32 | (uint64_t)t.bits << 16 | t.lanes;
}

static uint64_t hty(TType t)
{
	uint64_t h = mix(t.kind, hdt(t.dt));
	return t.kind == TY_PTR ? mix(h, hstr(t.scope)) : h;
}

static uint64_t h_expr(Hs *s, const Expr *e);
static uint64_t h_stmt(Hs *s, const Stmt *st);
static uint64_t h_obj(Hs *s, const Obj *o);

static uint64_t h_id(Hs *s, const void *p)
{
	uintptr_t id = (uintptr_t)pmap_get(&s->ids, p);
	if (!id) {
		id = ++s->next;
		pmap_put(&s->ids, p, (void *)id);
	}
	return id;
}

static uint64_t h_var(Hs *s, const Var *v)
{
	return v ? mix(hty(v->ty), h_id(s, v)) : 0;
}

static uint64_t h_exprs(Hs *s, uint64_t h, Expr *const *v, int n)
{
	h = mix(h, (uint64_t)n);
	for (int i = 0; i < n; i++)
		h = mix(h, h_expr(s, v[i]));
	return h;
}

static uint64_t h_buf(Hs *s, const Buffer *b)
{
	if (!b)
		return 0;
	int seen = pmap_get(&s->ids, b) != NULL;
	uint64_t h = mix(0xB0F, h_id(s, b));
	if (seen)
		return h;
	h = mix(h, hdt(b->dt));
	h = mix(h, hstr(b->scope));
	h = mix(h, (uint64_t)b->align << 32 | (uint64_t)b->offset_factor << 8 | b->layout);
	h = h_exprs(s, h, b->shape, b->ndim);
	h = h_exprs(s, h, b->strides, b->nstrides);
	return mix(h, h_expr(s, buf_elem_offset(b)));
}

static uint64_t h_expr(Hs *s, const Expr *e)
{
	if (!e)
		return 0x5EED;
	uint64_t h = mix(e->kind, hdt(e->dt));
	switch (e->kind) {
	case EX_INT: return mix(h, (uint64_t)e->i);
	case EX_FLOAT: {
		double f = e->f;
		uint64_t bits;
		if (isnan(f))
			f = NAN;
		memcpy(&bits, &f, sizeof bits);
		return mix(h, bits);
	}
	case EX_STR: return mix(h, hstr(e->s));
	case EX_VAR: return mix(h, h_var(s, e->var));
	case EX_BUFDATA: case EX_BUFREF: return mix(h, h_buf(s, e->buf));
	case EX_NOT: case EX_CAST: return mix(h, h_expr(s, e->bin.a));
	case EX_SELECT:
		h = mix(h, h_expr(s, e->sel.c));
		h = mix(h, h_expr(s, e->sel.t));
		return mix(h, h_expr(s, e->sel.f));
	case EX_RAMP:
		h = mix(h, h_expr(s, e->ramp.base));
		return mix(h, h_expr(s, e->ramp.stride));
	case EX_BROADCAST: return mix(h, h_expr(s, e->bcast.value));
	case EX_SHUFFLE:
		h = h_exprs(s, h, e->shuf.vecs, e->shuf.nvecs);
		return h_exprs(s, h, e->shuf.idx, e->shuf.nidx);
	case EX_LET:
		h = mix(h, h_expr(s, e->let.value));
		h = mix(h, h_var(s, e->let.var));
		return mix(h, h_expr(s, e->let.body));
	case EX_LOAD:
		h = mix(h, h_buf(s, e->load.buf));
		h = h_exprs(s, h, e->load.idx, e->load.nidx);
		return mix(h, h_expr(s, e->load.pred));
	case EX_CALL:
		h = mix(h, hstr(e->call.op ? e->call.op->name : e->call.fn));
		h = mix(h, hty(e->call.rty));
		h = mix(h, h_obj(s, e->call.attrs));
		return h_exprs(s, h, e->call.args, e->call.nargs);
	default:
		if (e->kind >= EX_ADD && e->kind <= EX_OR) {
			h = mix(h, h_expr(s, e->bin.a));
			return mix(h, h_expr(s, e->bin.b));
		}
		return h;
	}
}

static uint64_t h_obj(Hs *s, const Obj *o)
{
	if (is_empty_dict(o))
		return 0xD1C7;
	uint64_t h = mix(0x0B1, o->kind);
	switch (o->kind) {
	case OB_BOOL: case OB_INT: return mix(h, (uint64_t)o->i);
	case OB_FLOAT: {
		double f = o->f;
		uint64_t bits;
		memcpy(&bits, &f, sizeof bits);
		return mix(h, isnan(f) ? 0x7FF8 : bits);
	}
	case OB_STR: return mix(h, hstr(o->s));
	case OB_LIST:
		for (int i = 0; i < o->list.n; i++)
			h = mix(h, h_obj(s, o->list.items[i]));
		return h;
	case OB_DICT: {
		/* string-keyed dicts compare order-independently: sum the entries */
		int keyed = str_keyed(o);
		uint64_t sum = 0;
		for (int i = 0; i < o->dict.n; i++) {
			uint64_t kv = mix(h_obj(s, o->dict.keys[i]), h_obj(s, o->dict.vals[i]));
			if (keyed)
				sum += kv;
			else
				h = mix(h, kv);
		}
		return mix(h, sum + (uint64_t)o->dict.n);
	}
	case OB_TARGET: return mix(h, h_obj(s, o->target));
	case OB_EXPR: return mix(h, h_expr(s, o->expr));
	case OB_BUFFER: return mix(h, h_buf(s, o->buf));
	case OB_ITERVAR:
		h = mix(h, hstr(o->iv.tag));
		h = mix(h, (uint64_t)o->iv.itype);
		h = mix(h, h_var(s, o->iv.var));
		h = mix(h, h_expr(s, o->iv.min));
		return mix(h, h_expr(s, o->iv.extent));
	case OB_REDUCER:
		for (int i = 0; i < o->red.n; i++) {
			h = mix(h, h_var(s, o->red.lhs[i]));
			h = mix(h, h_var(s, o->red.rhs[i]));
		}
		h = h_exprs(s, h, o->red.result, o->red.n);
		return h_exprs(s, h, o->red.identity, o->red.n);
	case OB_METADATA: return mix(mix(h, hstr(o->meta.key)), (uint64_t)o->meta.index);
	default: return h;
	}
}

static uint64_t h_node(Hs *s, const Stmt *st, uint64_t h);

/* An attr's body and a sequence's last item are hashed by the loop, not by
 * a call (chains of flat frames cost no stack): each link's own fields go
 * into the running hash, then the next link's. */
static uint64_t h_stmt(Hs *s, const Stmt *st)
{
	uint64_t h = 0x57;
	for (; st; st = st_chain_next(st)) {
		h = mix(h, mix(0x5700, st->kind));
		if (st->kind == ST_ATTR) {
			h = mix(h, hstr(st->attr.key));
			h = mix(h, h_expr(s, st->attr.value));
			h = mix(h, h_obj(s, st->attr.node));
		} else if (st->kind == ST_SEQ) {
			h = mix(h, (uint64_t)st->seq.n);
			for (int i = 0; i < st->seq.n - 1; i++)
				h = mix(h, h_stmt(s, st->seq.items[i]));
		} else {
			return h_node(s, st, h);
		}
	}
	return mix(h, 0x57);
}

/* The statements that are not links of a chain, mixed into h. */
static uint64_t h_node(Hs *s, const Stmt *st, uint64_t h)
{
	switch (st->kind) {
	case ST_BIND:
		h = mix(h, h_expr(s, st->bind.value));
		return mix(h, h_var(s, st->bind.var));
	case ST_STORE:
		h = mix(h, h_buf(s, st->store.buf));
		h = h_exprs(s, h, st->store.idx, st->store.nidx);
		h = mix(h, h_expr(s, st->store.value));
		return mix(h, h_expr(s, st->store.pred));
	case ST_ALLOC:
		h = mix(h, h_buf(s, st->alloc.buf));
		return mix(h, h_obj(s, st->alloc.annotations));
	case ST_DECL:
		h = mix(h, h_expr(s, st->decl.data));
		return mix(h, h_buf(s, st->decl.buf));
	case ST_FOR:
		h = mix(h, (uint64_t)st->loop.kind << 32 | (uint64_t)hstr(st->loop.thread));
		h = mix(h, h_expr(s, st->loop.min));
		h = mix(h, h_expr(s, st->loop.extent));
		h = mix(h, h_expr(s, st->loop.step));
		h = mix(h, h_obj(s, st->loop.annotations));
		h = mix(h, h_var(s, st->loop.var));
		return mix(h, h_stmt(s, st->loop.body));
	case ST_WHILE:
		h = mix(h, h_expr(s, st->wloop.cond));
		return mix(h, h_stmt(s, st->wloop.body));
	case ST_IF:
		h = mix(h, h_expr(s, st->ifs.cond));
		h = mix(h, h_stmt(s, st->ifs.then));
		return mix(h, h_stmt(s, st->ifs.els));
	case ST_EVAL: return mix(h, h_expr(s, st->eval.value));
	case ST_ASSERT:
		h = mix(h, hstr(st->assert.kind));
		for (int i = 0; i < st->assert.nparts; i++)
			h = mix(h, hstr(st->assert.parts[i]));
		return mix(h, h_expr(s, st->assert.cond));
	case ST_RETURN: return mix(h, h_expr(s, st->ret.value));
	default: return h;
	}
}

uint64_t tir_hash(const Module *m)
{
	Hs s = {{0}, 0};
	uint64_t sum = 0;
	for (int i = 0; i < m->nfuncs; i++) {
		const Func *f = m->funcs[i];
		pmap_free(&s.ids);
		s.next = 0;
		uint64_t h = mix(hstr(f->name), (uint64_t)f->nparams);
		/* the same order of first sight as tir_equal: scalars, buffers */
		for (int pass = 0; pass < 2; pass++)
			for (int j = 0; j < f->nparams; j++) {
				const Param *p = &f->params[j];
				if (pass == 0 && !p->buf)
					h = mix(h, h_var(&s, p->var));
				else if (pass == 1 && p->buf)
					h = mix(h, h_buf(&s, p->buf));
			}
		h = mix(h, hty(f->ret));
		h = mix(h, h_obj(&s, f->attrs));
		h = mix(h, h_stmt(&s, f->body));
		sum += h; /* functions are matched by name, not position */
	}
	pmap_free(&s.ids);
	uint64_t h = mix(sum, (uint64_t)m->nfuncs);
	h = mix(h, h_obj(&s, m->attrs));
	h = mix(h, h_obj(&s, m->global_infos));
	pmap_free(&s.ids);
	return h;
}
