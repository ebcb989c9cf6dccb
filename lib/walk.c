/* walk.c: generic traversal (Walker) and copy-on-write rewriting (Mutator)
 * of the IR, and the two analyses every outlining pass needs: substitution
 * and free variables.  Passes build on these instead of writing their own
 * recursion over every node kind. */
#include <stdlib.h>
#include <string.h>
#include "tir.h"

/* ------------------------------------------------------------------ walk */

static int wants(const Walker *w, const Expr *e)
{
	return w->expr && (!w->kinds || (w->kinds >> e->kind & 1));
}

/* walk_expr, with constants and vars (most nodes) answered inline. */
static inline void walk_kid(Walker *w, Expr *e)
{
	if (!e)
		return;
	if (e->kind > EX_VAR)
		walk_expr(w, e);
	else if (wants(w, e))
		w->expr(w, e);
}

static void walk_exprs(Walker *w, Expr **xs, int n)
{
	for (int i = 0; i < n; i++)
		walk_kid(w, xs[i]);
}

static void walk_def(Walker *w, Var *v)
{
	if (v && w->def)
		w->def(w, v);
}

static void walk_buffer_ref(Walker *w, Buffer *b)
{
	if (b && w->buffer)
		w->buffer(w, b);
}

/* A buffer's shape, strides and offset, as expressions. */
static void walk_buffer_fields(Walker *w, Buffer *b)
{
	walk_exprs(w, b->shape, b->ndim);
	walk_exprs(w, b->strides, b->nstrides);
	walk_kid(w, b->elem_offset);
}

/* A buffer's definition: its shape, strides and offset are uses. */
static void walk_buffer_def(Walker *w, Buffer *b)
{
	walk_buffer_fields(w, b);
	walk_buffer_ref(w, b);
}

/* Pre-order; the last child is walked by the loop, not by a call. */
void walk_expr(Walker *w, Expr *e)
{
	while (e) {
		if (wants(w, e) && !w->expr(w, e))
			return;
		switch (e->kind) {
		case EX_BUFDATA:
		case EX_BUFREF:
			walk_buffer_ref(w, e->buf);
			return;
		case EX_SELECT:
			walk_kid(w, e->sel.c);
			walk_kid(w, e->sel.t);
			e = e->sel.f;
			break;
		case EX_RAMP:
			walk_kid(w, e->ramp.base);
			e = e->ramp.stride;
			break;
		case EX_BROADCAST:
			e = e->bcast.value;
			break;
		case EX_SHUFFLE:
			walk_exprs(w, e->shuf.vecs, e->shuf.nvecs);
			walk_exprs(w, e->shuf.idx, e->shuf.nidx);
			return;
		case EX_LET:
			walk_kid(w, e->let.value);
			walk_def(w, e->let.var);
			e = e->let.body;
			break;
		case EX_LOAD:
			walk_buffer_ref(w, e->load.buf);
			walk_exprs(w, e->load.idx, e->load.nidx);
			e = e->load.pred;
			break;
		case EX_CALL:
			walk_exprs(w, e->call.args, e->call.nargs);
			return;
		default:
			if (e->kind < EX_ADD || e->kind > EX_CAST)
				return;
			walk_kid(w, e->bin.a);
			e = e->bin.b;
			break;
		}
	}
}

void walk_obj(Walker *w, Obj *o)
{
	if (!o)
		return;
	switch (o->kind) {
	case OB_LIST:
		for (int i = 0; i < o->list.n; i++)
			walk_obj(w, o->list.items[i]);
		break;
	case OB_DICT:
		for (int i = 0; i < o->dict.n; i++) {
			walk_obj(w, o->dict.keys[i]);
			walk_obj(w, o->dict.vals[i]);
		}
		break;
	case OB_EXPR:
		walk_kid(w, o->expr);
		break;
	case OB_BUFFER:
		walk_buffer_ref(w, o->buf);
		break;
	case OB_ITERVAR:
		walk_kid(w, o->iv.min);
		walk_kid(w, o->iv.extent);
		walk_def(w, o->iv.var);
		break;
	case OB_REDUCER:
		for (int i = 0; i < o->red.n; i++) {
			walk_def(w, o->red.lhs[i]);
			walk_def(w, o->red.rhs[i]);
		}
		walk_exprs(w, o->red.result, o->red.n);
		walk_exprs(w, o->red.identity, o->red.n);
		break;
	default:
		break;
	}
}

/* A statement's location, for Walker.at and Mutator.at: a statement a
 * pass made (no location) keeps the enclosing one. */
static inline const Loc *loc_of(const Stmt *s, const Loc *outer)
{
	return s->loc.file >= 0 ? &s->loc : outer;
}

Loc walk_loc(const Walker *w)
{
	return w->at ? *w->at : NOLOC;
}

Loc mut_loc(const Mutator *m)
{
	return m->at ? *m->at : NOLOC;
}

/* Pre-order.  The last child of a statement (a body, a sequence's last
 * item, an else branch) is walked by the loop, not by a call: chains of
 * frames that print flat (a bare T.attr wraps the rest of its block, so
 * MakePackedAPI nests one per buffer parameter) cost no stack, and the
 * recursion depth is the nesting of the text.  w->at follows the link
 * being walked (a link's own expressions come before the links below it)
 * and is restored by walk_stmt. */
static void walk_links(Walker *w, Stmt *s)
{
	while (s) {
		w->at = loc_of(s, w->at);
		if (w->stmt && !w->stmt(w, s))
			return;
		switch (s->kind) {
		case ST_BIND:
			walk_kid(w, s->bind.value);
			walk_def(w, s->bind.var);
			return;
		case ST_STORE:
			walk_buffer_ref(w, s->store.buf);
			walk_exprs(w, s->store.idx, s->store.nidx);
			walk_kid(w, s->store.value);
			walk_kid(w, s->store.pred);
			return;
		case ST_ALLOC:
			walk_buffer_def(w, s->alloc.buf);
			walk_obj(w, s->alloc.annotations);
			return;
		case ST_DECL:
			walk_kid(w, s->decl.data);
			walk_buffer_def(w, s->decl.buf);
			return;
		case ST_ATTR:
			walk_obj(w, s->attr.node);
			walk_kid(w, s->attr.value);
			s = s->attr.body;
			break;
		case ST_FOR:
			walk_kid(w, s->loop.min);
			walk_kid(w, s->loop.extent);
			walk_kid(w, s->loop.step);
			walk_def(w, s->loop.var);
			walk_obj(w, s->loop.annotations);
			s = s->loop.body;
			break;
		case ST_WHILE:
			walk_kid(w, s->wloop.cond);
			s = s->wloop.body;
			break;
		case ST_IF:
			walk_kid(w, s->ifs.cond);
			walk_stmt(w, s->ifs.then);
			s = s->ifs.els;
			break;
		case ST_SEQ:
			if (s->seq.n == 0)
				return;
			for (int i = 0; i < s->seq.n - 1; i++)
				walk_stmt(w, s->seq.items[i]);
			s = s->seq.items[s->seq.n - 1];
			break;
		case ST_EVAL:
			walk_kid(w, s->eval.value);
			return;
		case ST_ASSERT:
			walk_kid(w, s->assert.cond);
			return;
		case ST_RETURN:
			walk_kid(w, s->ret.value);
			return;
		default:
			return;
		}
	}
}

void walk_stmt(Walker *w, Stmt *s)
{
	const Loc *outer = w->at;
	walk_links(w, s);
	w->at = outer;
}

void walk_func(Walker *w, Func *f)
{
	const Loc *outer = w->at;
	if (f->loc.file >= 0)
		w->at = &f->loc;
	for (int i = 0; i < f->nparams; i++) {
		if (f->params[i].buf)
			walk_buffer_def(w, f->params[i].buf);
		else
			walk_def(w, f->params[i].var);
	}
	walk_stmt(w, f->body);
	w->at = outer;
}

/* ---------------------------------------------------------------- mutate */

Var *mut_var(Mutator *m, Var *v)
{
	return v && m->var ? m->var(m, v) : v;
}

/* A definition site (Bind, Let, For, iter and reducer vars). */
static Var *mut_def(Mutator *m, Var *v)
{
	return v && m->def ? m->def(m, v) : mut_var(m, v);
}

static Expr *mut_expr_at(Mutator *m, Expr *e, int hook);
static Stmt *mut_stmt_at(Mutator *m, Stmt *s, int hook);

#define LEAVES (EXK(EX_INT) | EXK(EX_FLOAT) | EXK(EX_STR) | EXK(EX_VAR))

/* Whether m rewrites constants and vars at all (a var hook, or an expr hook
 * that sees them). */
static inline int touches_leaves(const Mutator *m)
{
	return m->var || (m->expr && (!m->kinds || (m->kinds & LEAVES)));
}

/* mut_expr, with the leaves (most nodes) answered inline when m leaves
 * them alone. */
static inline Expr *mut_kid(Mutator *m, Expr *e)
{
	return !e || (e->kind <= EX_VAR && !touches_leaves(m)) ? e : mut_expr_at(m, e, 1);
}

Expr **mut_exprs(Mutator *m, Expr **xs, int n)
{
	Expr **out = xs;
	for (int i = 0; i < n; i++) {
		Expr *y = mut_kid(m, xs[i]);
		if (y != xs[i] && out == xs)
			out = ar_dup(m->a, xs, (size_t)n * sizeof *xs);
		out[i] = y;
	}
	return out;
}

/* Whether a buffer's fields are constants and vars that m leaves alone:
 * then the buffer is its own rewrite, and needs no memo entry. */
static int plain_buffer(const Mutator *m, const Buffer *b)
{
	if (m->buffer || touches_leaves(m))
		return 0;
	if (b->elem_offset && b->elem_offset->kind > EX_VAR)
		return 0;
	for (int i = 0; i < b->ndim; i++)
		if (b->shape[i] && b->shape[i]->kind > EX_VAR)
			return 0;
	for (int i = 0; i < b->nstrides; i++)
		if (b->strides[i] && b->strides[i]->kind > EX_VAR)
			return 0;
	return 1;
}

Buffer *mut_buffer(Mutator *m, Buffer *b)
{
	if (!b || plain_buffer(m, b))
		return b;
	Buffer *done = pmap_get(&m->bufmemo, b);
	if (done)
		return done;
	Buffer *nb = m->buffer ? m->buffer(m, b) : b;
	if (nb == b) {
		Expr **shape = mut_exprs(m, b->shape, b->ndim);
		Expr **strides = mut_exprs(m, b->strides, b->nstrides);
		Expr *off = mut_expr(m, b->elem_offset);
		if (shape != b->shape || strides != b->strides || off != b->elem_offset) {
			nb = ar_alloc(m->a, sizeof *nb);
			*nb = *b;
			nb->shape = shape;
			nb->strides = strides;
			nb->elem_offset = off;
		}
	}
	pmap_put(&m->bufmemo, b, nb);
	return nb;
}

Expr *mut_expr(Mutator *m, Expr *e)
{
	return mut_expr_at(m, e, 1);
}

Expr *mut_expr_children(Mutator *m, Expr *e)
{
	return mut_expr_at(m, e, 0);
}

/* e rewritten: the hook first (when `hook` and it wants e's kind), else
 * e with its children rewritten, copy-on-write.  One function for both, so
 * that a node costs one call. */
static Expr *mut_expr_at(Mutator *m, Expr *e, int hook)
{
	if (!e)
		return NULL;
	if (hook && m->expr && (!m->kinds || (m->kinds >> e->kind & 1))) {
		Expr *r = m->expr(m, e);
		if (r)
			return r;
	}
	Expr *n;
	switch (e->kind) {
	case EX_VAR: {
		Var *v = mut_var(m, e->var);
		return v == e->var ? e : ex_var(m->a, v);
	}
	case EX_BUFDATA:
	case EX_BUFREF: {
		Buffer *b = mut_buffer(m, e->buf);
		if (b == e->buf)
			return e;
		n = ex_dup(m->a, e);
		n->buf = b;
		return n;
	}
	case EX_SELECT: {
		Expr *c = mut_kid(m, e->sel.c), *t = mut_kid(m, e->sel.t), *f = mut_kid(m, e->sel.f);
		if (c == e->sel.c && t == e->sel.t && f == e->sel.f)
			return e;
		n = ex_dup(m->a, e);
		n->sel.c = c, n->sel.t = t, n->sel.f = f;
		return n;
	}
	case EX_RAMP: {
		Expr *b = mut_kid(m, e->ramp.base), *s = mut_kid(m, e->ramp.stride);
		if (b == e->ramp.base && s == e->ramp.stride)
			return e;
		n = ex_dup(m->a, e);
		n->ramp.base = b, n->ramp.stride = s;
		return n;
	}
	case EX_BROADCAST: {
		Expr *v = mut_kid(m, e->bcast.value);
		if (v == e->bcast.value)
			return e;
		n = ex_dup(m->a, e);
		n->bcast.value = v;
		return n;
	}
	case EX_SHUFFLE: {
		Expr **v = mut_exprs(m, e->shuf.vecs, e->shuf.nvecs);
		Expr **i = mut_exprs(m, e->shuf.idx, e->shuf.nidx);
		if (v == e->shuf.vecs && i == e->shuf.idx)
			return e;
		n = ex_dup(m->a, e);
		n->shuf.vecs = v, n->shuf.idx = i;
		return n;
	}
	case EX_LET: {
		Expr *val = mut_kid(m, e->let.value);
		Var *v = mut_def(m, e->let.var);
		Expr *body = mut_kid(m, e->let.body);
		if (val == e->let.value && v == e->let.var && body == e->let.body)
			return e;
		n = ex_dup(m->a, e);
		n->let.value = val, n->let.var = v, n->let.body = body;
		return n;
	}
	case EX_LOAD: {
		Buffer *b = mut_buffer(m, e->load.buf);
		Expr **idx = mut_exprs(m, e->load.idx, e->load.nidx);
		Expr *pred = mut_kid(m, e->load.pred);
		if (b == e->load.buf && idx == e->load.idx && pred == e->load.pred)
			return e;
		n = ex_dup(m->a, e);
		n->load.buf = b, n->load.idx = idx, n->load.pred = pred;
		return n;
	}
	case EX_CALL: {
		Expr **args = mut_exprs(m, e->call.args, e->call.nargs);
		if (args == e->call.args)
			return e;
		n = ex_dup(m->a, e);
		n->call.args = args;
		return n;
	}
	default:
		if (e->kind >= EX_ADD && e->kind <= EX_CAST) {
			Expr *a = mut_kid(m, e->bin.a), *b = mut_kid(m, e->bin.b);
			if (a == e->bin.a && b == e->bin.b)
				return e;
			n = ex_dup(m->a, e);
			n->bin.a = a, n->bin.b = b;
			return n;
		}
		return e;
	}
}

/* Returns xs when no element changed, else a fresh array. */
static Obj **mut_objs(Mutator *m, Obj **xs, int n)
{
	Obj **out = xs;
	for (int i = 0; i < n; i++) {
		Obj *y = mut_obj(m, xs[i]);
		if (y != xs[i] && out == xs)
			out = ar_dup(m->a, xs, (size_t)n * sizeof *xs);
		out[i] = y;
	}
	return out;
}

Obj *mut_obj(Mutator *m, Obj *o)
{
	if (!o)
		return NULL;
	Obj *n;
	switch (o->kind) {
	case OB_LIST: {
		Obj **items = mut_objs(m, o->list.items, o->list.n);
		if (items == o->list.items)
			return o;
		n = ar_dup(m->a, o, sizeof *o);
		n->list.items = items;
		return n;
	}
	case OB_DICT: {
		Obj **vals = mut_objs(m, o->dict.vals, o->dict.n);
		if (vals == o->dict.vals)
			return o;
		n = ar_dup(m->a, o, sizeof *o);
		n->dict.vals = vals;
		return n;
	}
	case OB_EXPR: {
		Expr *e = mut_expr(m, o->expr);
		if (e == o->expr)
			return o;
		n = ar_dup(m->a, o, sizeof *o);
		n->expr = e;
		return n;
	}
	case OB_BUFFER: {
		Buffer *b = mut_buffer(m, o->buf);
		if (b == o->buf)
			return o;
		n = ar_dup(m->a, o, sizeof *o);
		n->buf = b;
		return n;
	}
	case OB_ITERVAR: {
		/* the range first, then the definition (as walk_obj) */
		Expr *mn = mut_kid(m, o->iv.min), *ext = mut_kid(m, o->iv.extent);
		Var *v = mut_def(m, o->iv.var);
		if (v == o->iv.var && mn == o->iv.min && ext == o->iv.extent)
			return o;
		n = ar_dup(m->a, o, sizeof *o);
		n->iv.var = v, n->iv.min = mn, n->iv.extent = ext;
		return n;
	}
	case OB_REDUCER: {
		int k = o->red.n;
		Var **lhs = o->red.lhs, **rhs = o->red.rhs;
		for (int i = 0; i < k; i++) {
			Var *l = mut_def(m, o->red.lhs[i]), *r = mut_def(m, o->red.rhs[i]);
			if ((l != lhs[i] || r != rhs[i]) && lhs == o->red.lhs) {
				lhs = ar_dup(m->a, lhs, (size_t)k * sizeof *lhs);
				rhs = ar_dup(m->a, rhs, (size_t)k * sizeof *rhs);
			}
			if (lhs != o->red.lhs)
				lhs[i] = l, rhs[i] = r;
		}
		Expr **res = mut_exprs(m, o->red.result, k);
		Expr **id = mut_exprs(m, o->red.identity, k);
		if (lhs == o->red.lhs && res == o->red.result && id == o->red.identity)
			return o;
		n = ar_dup(m->a, o, sizeof *o);
		n->red.lhs = lhs, n->red.rhs = rhs, n->red.result = res, n->red.identity = id;
		return n;
	}
	default:
		return o;
	}
}

Stmt *mut_stmt(Mutator *m, Stmt *s)
{
	return mut_stmt_at(m, s, 1);
}

Stmt *mut_stmt_children(Mutator *m, Stmt *s)
{
	return mut_stmt_at(m, s, 0);
}

/* s with its children rewritten, for the statements that are not links
 * of a chain (mut_stmt_at walks those). */
static Stmt *mut_leaf(Mutator *m, Stmt *s)
{
	Stmt *n;
	switch (s->kind) {
	case ST_BIND: {
		Expr *v = mut_kid(m, s->bind.value);
		Var *var = mut_def(m, s->bind.var);
		if (v == s->bind.value && var == s->bind.var)
			return s;
		n = st_dup(m->a, s);
		n->bind.value = v, n->bind.var = var;
		return n;
	}
	case ST_STORE: {
		/* the value before the indices, as TVM's StmtExprMutator */
		Buffer *b = mut_buffer(m, s->store.buf);
		Expr *v = mut_kid(m, s->store.value);
		Expr **idx = mut_exprs(m, s->store.idx, s->store.nidx);
		Expr *p = mut_kid(m, s->store.pred);
		if (b == s->store.buf && idx == s->store.idx && v == s->store.value && p == s->store.pred)
			return s;
		n = st_dup(m->a, s);
		n->store.buf = b, n->store.idx = idx, n->store.value = v, n->store.pred = p;
		return n;
	}
	case ST_ALLOC: {
		Buffer *b = mut_buffer(m, s->alloc.buf);
		Obj *ann = mut_obj(m, s->alloc.annotations);
		if (b == s->alloc.buf && ann == s->alloc.annotations)
			return s;
		n = st_dup(m->a, s);
		n->alloc.buf = b, n->alloc.annotations = ann;
		return n;
	}
	case ST_DECL: {
		Expr *d = mut_kid(m, s->decl.data);
		Buffer *b = mut_buffer(m, s->decl.buf);
		if (b == s->decl.buf && d == s->decl.data)
			return s;
		n = st_dup(m->a, s);
		n->decl.buf = b, n->decl.data = d;
		return n;
	}
	case ST_FOR: {
		Expr *mn = mut_kid(m, s->loop.min), *ext = mut_kid(m, s->loop.extent);
		Expr *step = mut_kid(m, s->loop.step);
		Var *v = mut_def(m, s->loop.var);
		Obj *ann = mut_obj(m, s->loop.annotations);
		Stmt *body = mut_stmt_at(m, s->loop.body, 1);
		if (mn == s->loop.min && ext == s->loop.extent && step == s->loop.step &&
		    v == s->loop.var && ann == s->loop.annotations && body == s->loop.body)
			return s;
		n = st_dup(m->a, s);
		n->loop.min = mn, n->loop.extent = ext, n->loop.step = step;
		n->loop.var = v, n->loop.annotations = ann, n->loop.body = body;
		return n;
	}
	case ST_WHILE: {
		Expr *c = mut_kid(m, s->wloop.cond);
		Stmt *body = mut_stmt_at(m, s->wloop.body, 1);
		if (c == s->wloop.cond && body == s->wloop.body)
			return s;
		n = st_dup(m->a, s);
		n->wloop.cond = c, n->wloop.body = body;
		return n;
	}
	case ST_IF: {
		Expr *c = mut_kid(m, s->ifs.cond);
		Stmt *t = mut_stmt_at(m, s->ifs.then, 1), *f = mut_stmt_at(m, s->ifs.els, 1);
		if (c == s->ifs.cond && t == s->ifs.then && f == s->ifs.els)
			return s;
		n = st_dup(m->a, s);
		n->ifs.cond = c, n->ifs.then = t, n->ifs.els = f;
		return n;
	}
	case ST_EVAL: {
		Expr *v = mut_kid(m, s->eval.value);
		if (v == s->eval.value)
			return s;
		n = st_dup(m->a, s);
		n->eval.value = v;
		return n;
	}
	case ST_ASSERT: {
		Expr *c = mut_kid(m, s->assert.cond);
		if (c == s->assert.cond)
			return s;
		n = st_dup(m->a, s);
		n->assert.cond = c;
		return n;
	}
	case ST_RETURN: {
		Expr *v = mut_kid(m, s->ret.value);
		if (v == s->ret.value)
			return s;
		n = st_dup(m->a, s);
		n->ret.value = v;
		return n;
	}
	default:
		return s;
	}
}

/* As mut_expr_at, for statements.  An attr's body and a sequence's last
 * item are rewritten by the loop, not by a call: the links of such a chain
 * (frames that print flat; MakePackedAPI nests one attr per buffer
 * parameter) wait on m->chain, three entries each, and are rebuilt
 * innermost first once the chain ends.  Hooks run in the same order as
 * with a recursion, and the recursion depth is the nesting of the text.
 * m->at follows the link being rewritten (its hook and expressions run
 * before the links below it) and is restored on return.
 *
 * A sequence collects its items on m->stk from the first change on
 * (sequences inside them push above and pop before returning); st_seq
 * copies and flattens them (an item rewritten to an empty sequence
 * vanishes). */
static Stmt *mut_stmt_at(Mutator *m, Stmt *s, int hook)
{
	int base0 = m->chain.n;
	const Loc *outer = m->at;
	Stmt *r;
	for (;;) {
		if (!s) {
			r = NULL;
			break;
		}
		m->at = loc_of(s, m->at);
		if (hook && m->stmt && (r = m->stmt(m, s)) != NULL)
			break;
		hook = 1;
		if (s->kind == ST_ATTR) {
			Obj *node = mut_obj(m, s->attr.node);
			Expr *v = mut_kid(m, s->attr.value);
			vec_push(&m->chain, s);
			vec_push(&m->chain, node);
			vec_push(&m->chain, v);
			s = s->attr.body;
		} else if (s->kind == ST_SEQ && s->seq.n > 0) {
			int k = s->seq.n;
			intptr_t base = -1;
			for (int i = 0; i < k - 1; i++) {
				Stmt *y = mut_stmt_at(m, s->seq.items[i], 1);
				if (base < 0 && y != s->seq.items[i]) {
					base = m->stk.n;
					for (int j = 0; j < i; j++)
						vec_push(&m->stk, s->seq.items[j]);
				}
				if (base >= 0)
					vec_push(&m->stk, y);
			}
			vec_push(&m->chain, s);
			vec_push(&m->chain, (void *)base);
			vec_push(&m->chain, NULL);
			s = s->seq.items[k - 1];
		} else {
			r = s->kind == ST_SEQ ? s : mut_leaf(m, s);
			break;
		}
	}
	while (m->chain.n > base0) {
		m->chain.n -= 3;
		Stmt *c = m->chain.v[m->chain.n];
		if (c->kind == ST_ATTR) {
			Obj *node = m->chain.v[m->chain.n + 1];
			Expr *v = m->chain.v[m->chain.n + 2];
			if (node == c->attr.node && v == c->attr.value && r == c->attr.body) {
				r = c;
				continue;
			}
			Stmt *n = st_dup(m->a, c);
			n->attr.node = node, n->attr.value = v, n->attr.body = r;
			r = n;
			continue;
		}
		int k = c->seq.n;
		intptr_t base = (intptr_t)m->chain.v[m->chain.n + 1];
		if (base < 0 && r != c->seq.items[k - 1]) {
			base = m->stk.n;
			for (int j = 0; j < k - 1; j++)
				vec_push(&m->stk, c->seq.items[j]);
		}
		if (base < 0) {
			r = c;
			continue;
		}
		vec_push(&m->stk, r);
		r = st_seq(m->a, (Stmt **)m->stk.v + base, k);
		m->stk.n = (int)base;
	}
	m->at = outer;
	return r;
}

void mut_done(Mutator *m)
{
	pmap_free(&m->bufmemo);
	vec_free(&m->stk);
	vec_free(&m->chain);
}

/* ---------------------------------------------------------- substitution */

typedef struct Subst {
	const PtrMap *vmap, *bmap;
} Subst;

static Expr *subst_var_expr(Mutator *m, Expr *e)
{
	Subst *s = m->data;
	if (e->kind == EX_VAR && s->vmap)
		return pmap_get(s->vmap, e->var);
	return NULL;
}

/* Definition sites follow a var that maps to another var. */
static Var *subst_var(Mutator *m, Var *v)
{
	Subst *s = m->data;
	Expr *e = s->vmap ? pmap_get(s->vmap, v) : NULL;
	return e && e->kind == EX_VAR ? e->var : v;
}

static Buffer *subst_buffer(Mutator *m, Buffer *b)
{
	Subst *s = m->data;
	Buffer *nb = s->bmap ? pmap_get(s->bmap, b) : NULL;
	return nb ? nb : b;
}

Stmt *subst_stmt(Arena *a, Stmt *st, const PtrMap *vmap, const PtrMap *bmap)
{
	Subst s = {vmap, bmap};
	Mutator m = {.a = a, .expr = subst_var_expr, .var = subst_var, .buffer = subst_buffer, .data = &s};
	Stmt *r = mut_stmt(&m, st);
	mut_done(&m);
	return r;
}

Expr *subst_expr(Arena *a, Expr *e, const PtrMap *vmap, const PtrMap *bmap)
{
	Subst s = {vmap, bmap};
	Mutator m = {.a = a, .expr = subst_var_expr, .var = subst_var, .buffer = subst_buffer, .data = &s};
	Expr *r = mut_expr(&m, e);
	mut_done(&m);
	return r;
}

/* ------------------------------------------------------------- free vars */

typedef struct Free {
	PtrMap defined; /* vars and buffers defined so far (value: 1) */
	PtrMap seen;    /* vars and buffers already reported as free */
	Vec *vars, *bufs;
} Free;

static void free_def(Walker *w, Var *v)
{
	Free *f = w->data;
	pmap_put(&f->defined, v, (void *)1);
}

static int free_expr(Walker *w, Expr *e)
{
	Free *f = w->data;
	if (e->kind == EX_VAR && !pmap_get(&f->defined, e->var) && !pmap_get(&f->seen, e->var)) {
		pmap_put(&f->seen, e->var, (void *)1);
		if (f->vars)
			vec_push(f->vars, e->var);
	}
	return 1;
}

static int free_stmt(Walker *w, Stmt *s)
{
	Free *f = w->data;
	if (s->kind == ST_ALLOC)
		pmap_put(&f->defined, s->alloc.buf, (void *)1);
	else if (s->kind == ST_DECL)
		pmap_put(&f->defined, s->decl.buf, (void *)1);
	return 1;
}

static void free_buffer(Walker *w, Buffer *b)
{
	Free *f = w->data;
	if (pmap_get(&f->defined, b) || pmap_get(&f->seen, b))
		return;
	pmap_put(&f->seen, b, (void *)1);
	if (f->bufs)
		vec_push(f->bufs, b);
	/* an outside buffer's shape is a use of its vars */
	walk_buffer_fields(w, b);
}

void free_vars(Stmt *s, Vec *vars, Vec *bufs)
{
	Free f = {{0}, {0}, vars, bufs};
	Walker w = {.stmt = free_stmt, .expr = free_expr, .buffer = free_buffer, .def = free_def, .data = &f};
	walk_stmt(&w, s);
	pmap_free(&f.defined);
	pmap_free(&f.seen);
}
