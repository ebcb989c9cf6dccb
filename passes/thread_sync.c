/* thread_sync.c: ThreadSync, barriers for shared memory.
 *
 * IR expected: flattened kernels (1-d accesses) with their thread launches,
 *              before MergeSharedMemoryAllocations and the split.
 * IR left:     the same, with T.tvm_storage_sync("shared") and then
 *              T.tvm_storage_sync("shared.dyn") inserted in front of each
 *              statement that would otherwise read what another thread
 *              wrote (or overwrite what another thread still reads).
 * Runs after:  FlattenBuffer, when that runs at all.
 *
 * TVM runs ThreadSync("shared") and then ThreadSync("shared.dyn") as two
 * passes; this pass runs the same planner twice in that order, the second
 * time over the output of the first, so the result is the same.
 *
 * The planner is TVM's StorageAccessVisitor + ThreadSyncPlanner: inside the
 * outermost thread launch, every statement becomes an entry with the reads,
 * writes and syncs of the scope's buffers it makes; each sequence is
 * simulated (a read after an unsynced write of the same buffer, or a write
 * after an unsynced read, needs a barrier, unless both index the same single
 * point through the innermost thread index), loops get a second pass for
 * loop-carried conflicts, and what a sequence leaves exposed is handed to
 * the enclosing one.  Buffers declared over another buffer's data are the
 * same storage, and all "shared.dyn" buffers of a sequence alias, as they
 * will once merged. */
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

enum { A_READ, A_WRITE, A_SYNC };

typedef struct Acc {
	int type;
	const void *buf; /* storage root: an allocated/param Buffer* or a pointer Var* */
	Sym scope;
	Var *thread;     /* innermost thread index var, or NULL */
	Expr **pts;      /* per dim: the single point, or NULL for a range */
	int ndim;
	int dbw;         /* double-buffer write */
} Acc;

typedef struct Accs {
	Acc *v;
	int n, cap;
} Accs;

typedef struct Entry {
	Stmt *stmt;
	Accs acc;
} Entry;

typedef struct Seq {
	Entry *v;
	int n, cap;
} Seq;

typedef struct TS {
	Arena *a;
	Sym scope;      /* the sync scope: "shared" or "shared.dyn" */
	PtrMap alias;   /* Buffer or Var -> storage root */
	PtrMap syncs;   /* Stmt* -> non-NULL: barrier before it */
	Seq *stack;     /* one Seq per open scope */
	int depth, cap;
	Var **threads;  /* env threads, innermost last */
	int nthreads, tcap;
	int in_env;
	int conds;      /* enclosing thread-variant conditions */
	Accs *cur;      /* where expression accesses go; NULL: dropped */
	const void *dbw_buf;
	int failed;
	Loc failloc;
} TS;

static void acc_push(Accs *s, Acc a)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4;
		s->v = xrealloc(s->v, (size_t)s->cap * sizeof *s->v);
	}
	s->v[s->n++] = a;
}

static void seq_push(Seq *s, Entry e)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->v = xrealloc(s->v, (size_t)s->cap * sizeof *s->v);
	}
	s->v[s->n++] = e;
}

static void seq_free(Seq *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i].acc.v);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static void open_scope(TS *t)
{
	if (t->depth == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 8;
		t->stack = xrealloc(t->stack, (size_t)t->cap * sizeof *t->stack);
	}
	t->stack[t->depth++] = (Seq){0};
}

static Seq *top(TS *t)
{
	return &t->stack[t->depth - 1];
}

static Var *inner_thread(TS *t)
{
	return t->nthreads ? t->threads[t->nthreads - 1] : NULL;
}

static const void *resolve(TS *t, const void *b)
{
	const void *r = pmap_get(&t->alias, b);
	return r ? r : b;
}

/* ------------------------------------------------------- expressions */

/* Structural equality of index expressions (ExprDeepEqual). */
static int deep_eq(const Expr *x, const Expr *y)
{
	if (x == y)
		return 1;
	if (!x || !y || x->kind != y->kind || !dt_eq(x->dt, y->dt))
		return 0;
	switch (x->kind) {
	case EX_INT: return x->i == y->i;
	case EX_FLOAT: return x->f == y->f;
	case EX_STR: return x->s == y->s;
	case EX_VAR: return x->var == y->var;
	case EX_BUFDATA:
	case EX_BUFREF: return x->buf == y->buf;
	case EX_SELECT:
		return deep_eq(x->sel.c, y->sel.c) && deep_eq(x->sel.t, y->sel.t) && deep_eq(x->sel.f, y->sel.f);
	case EX_RAMP: return deep_eq(x->ramp.base, y->ramp.base) && deep_eq(x->ramp.stride, y->ramp.stride);
	case EX_BROADCAST: return deep_eq(x->bcast.value, y->bcast.value);
	case EX_LOAD:
		if (x->load.buf != y->load.buf || x->load.nidx != y->load.nidx || !deep_eq(x->load.pred, y->load.pred))
			return 0;
		for (int i = 0; i < x->load.nidx; i++)
			if (!deep_eq(x->load.idx[i], y->load.idx[i]))
				return 0;
		return 1;
	case EX_CALL:
		if (x->call.op != y->call.op || x->call.fn != y->call.fn || x->call.nargs != y->call.nargs)
			return 0;
		for (int i = 0; i < x->call.nargs; i++)
			if (!deep_eq(x->call.args[i], y->call.args[i]))
				return 0;
		return 1;
	case EX_LET:
		return x->let.var == y->let.var && deep_eq(x->let.value, y->let.value) && deep_eq(x->let.body, y->let.body);
	default:
		if (x->kind >= EX_ADD && x->kind <= EX_CAST)
			return deep_eq(x->bin.a, y->bin.a) && deep_eq(x->bin.b, y->bin.b);
		return 0; /* shuffles: never needed for indices */
	}
}

typedef struct UsesVar {
	Var *v;
	int found;
} UsesVar;

static int uses_hook(Walker *w, Expr *e)
{
	UsesVar *u = w->data;
	if (e->kind == EX_VAR && e->var == u->v)
		u->found = 1;
	return !u->found;
}

static int uses_var(Expr *e, Var *v)
{
	UsesVar u = {v, 0};
	Walker w = {.expr = uses_hook, .data = &u};
	walk_expr(&w, e);
	return u.found;
}

static int enabled(TS *t, Sym scope)
{
	return t->in_env && scope == t->scope;
}

static void add_access(TS *t, int type, const void *root, Sym scope, Expr **idx, int n, int point_ok)
{
	if (!t->cur)
		return;
	Acc a = {.type = type, .buf = root, .scope = scope, .thread = inner_thread(t), .ndim = n};
	a.pts = ar_alloc(t->a, (size_t)(n ? n : 1) * sizeof *a.pts); /* arena: shared by copies */
	for (int i = 0; i < n; i++)
		a.pts[i] = point_ok && idx[i]->dt.lanes == 1 ? idx[i] : NULL;
	acc_push(t->cur, a);
}

static void visit_expr(TS *t, Expr *e);

static void visit_exprs(TS *t, Expr **xs, int n)
{
	for (int i = 0; i < n; i++)
		visit_expr(t, xs[i]);
}

static void visit_expr(TS *t, Expr *e)
{
	if (!e)
		return;
	switch (e->kind) {
	case EX_LOAD: {
		Buffer *b = e->load.buf;
		if (enabled(t, b->scope))
			add_access(t, A_READ, resolve(t, b), b->scope, e->load.idx, e->load.nidx, 1);
		visit_exprs(t, e->load.idx, e->load.nidx);
		visit_expr(t, e->load.pred);
		return;
	}
	case EX_CALL: {
		const Op *op = e->call.op;
		if (op == op_get("tirx.address_of") && e->call.nargs == 1 && e->call.args[0]->kind == EX_LOAD) {
			Expr *ld = e->call.args[0];
			visit_exprs(t, ld->load.idx, ld->load.nidx);
			visit_expr(t, ld->load.pred);
			return;
		}
		if (op == op_get("tirx.tvm_access_ptr") && e->call.nargs == 5) {
			Expr *d = e->call.args[1];
			const void *key = NULL;
			Sym scope = sym("global");
			if (d->kind == EX_BUFDATA) {
				key = d->buf;
				scope = d->buf->scope;
			} else if (d->kind == EX_VAR) {
				key = d->var;
				if (d->var->ty.kind == TY_PTR && d->var->ty.scope)
					scope = d->var->ty.scope;
			}
			int64_t flag = 0, ext;
			ex_is_const_int(e->call.args[4], &flag);
			if (key && enabled(t, scope)) {
				Expr *off = e->call.args[2];
				int point = ex_is_const_int(e->call.args[3], &ext) && ext == 1;
				if (flag & 1)
					add_access(t, A_READ, resolve(t, key), scope, &off, 1, point);
				if (flag & 2)
					add_access(t, A_WRITE, resolve(t, key), scope, &off, 1, point);
			}
			visit_exprs(t, e->call.args, e->call.nargs);
			return;
		}
		if (op == op_get("tirx.tvm_storage_sync")) {
			Expr *s = e->call.nargs ? e->call.args[0] : NULL;
			if (t->cur && !(s && s->kind == EX_STR && s->s == sym("warp"))) {
				Acc a = {.type = A_SYNC, .thread = inner_thread(t)};
				acc_push(t->cur, a);
			}
			return;
		}
		visit_exprs(t, e->call.args, e->call.nargs);
		return;
	}
	case EX_SELECT:
		visit_expr(t, e->sel.c);
		visit_expr(t, e->sel.t);
		visit_expr(t, e->sel.f);
		return;
	case EX_RAMP:
		visit_expr(t, e->ramp.base);
		visit_expr(t, e->ramp.stride);
		return;
	case EX_BROADCAST:
		visit_expr(t, e->bcast.value);
		return;
	case EX_SHUFFLE:
		visit_exprs(t, e->shuf.vecs, e->shuf.nvecs);
		return;
	case EX_LET:
		visit_expr(t, e->let.value);
		visit_expr(t, e->let.body);
		return;
	default:
		if (e->kind >= EX_ADD && e->kind <= EX_CAST) {
			visit_expr(t, e->bin.a);
			visit_expr(t, e->bin.b);
		}
	}
}

/* ---------------------------------------------------------- the planner */

static int conflict1(const Acc *prev, const Acc *cur, int loop_carry)
{
	if (prev->buf != cur->buf)
		return 0;
	int same = 1, dep = 1;
	Var *tv = cur->thread;
	int n = prev->ndim < cur->ndim ? prev->ndim : cur->ndim;
	for (int i = 0; i < n; i++) {
		Expr *p = prev->pts[i], *c = cur->pts[i];
		if (p && c) {
			same = deep_eq(p, c);
			if (tv)
				dep = dep && uses_var(c, tv) && uses_var(p, tv);
		} else {
			same = 0;
		}
		if (!(same && dep))
			break;
	}
	if (same && dep)
		return 0;
	if (prev->dbw && cur->type == A_READ && !loop_carry)
		return 0;
	return 1;
}

static int conflict(const Accs *prev, const Acc *cur, int loop_carry)
{
	for (int i = 0; i < prev->n; i++)
		if (conflict1(&prev->v[i], cur, loop_carry))
			return 1;
	return 0;
}

static void mark_sync(TS *t, Stmt *s)
{
	if (t->conds && !t->failed) {
		t->failed = 1;
		t->failloc = s->loc;
	}
	pmap_put(&t->syncs, s, s);
}

/* Plans the barriers of one sequence and returns its exposed accesses. */
static Accs summarize(TS *t, Seq *seq, int loop)
{
	const void *dyn = NULL;
	for (int i = 0; i < seq->n; i++)
		for (int j = 0; j < seq->v[i].acc.n; j++) {
			Acc *a = &seq->v[i].acc.v[j];
			if (a->buf && a->scope == sym("shared.dyn")) {
				if (!dyn)
					dyn = a->buf;
				else
					a->buf = dyn;
			}
		}
	Accs reads = {0}, writes = {0};
	for (int i = 0; i < seq->n; i++) {
		Entry *s = &seq->v[i];
		int sync = pmap_get(&t->syncs, s->stmt) != NULL;
		if (sync)
			reads.n = writes.n = 0;
		for (int j = 0; j < s->acc.n; j++) {
			Acc *a = &s->acc.v[j];
			if (a->type == A_READ && conflict(&writes, a, 0)) {
				sync = 1;
				break;
			}
			if (a->type == A_WRITE && conflict(&reads, a, 0)) {
				sync = 1;
				break;
			}
			if (a->type == A_SYNC)
				reads.n = writes.n = 0;
		}
		if (sync)
			reads.n = writes.n = 0;
		for (int j = 0; j < s->acc.n; j++) {
			Acc *a = &s->acc.v[j];
			if (a->type == A_READ)
				acc_push(&reads, *a);
			else if (a->type == A_WRITE)
				acc_push(&writes, *a);
			else
				reads.n = writes.n = 0;
		}
		if (sync)
			mark_sync(t, s->stmt);
	}
	if (loop) {
		for (int i = 0; i < seq->n; i++) {
			Entry *s = &seq->v[i];
			if (pmap_get(&t->syncs, s->stmt) || (reads.n == 0 && writes.n == 0))
				break;
			int sync = 0;
			for (int j = 0; j < s->acc.n; j++) {
				Acc *a = &s->acc.v[j];
				if (a->type == A_READ && conflict(&writes, a, 1)) {
					sync = 1;
					break;
				}
				if (a->type == A_WRITE && conflict(&reads, a, 1)) {
					sync = 1;
					break;
				}
				if (a->type == A_SYNC)
					reads.n = writes.n = 0;
			}
			if (sync) {
				mark_sync(t, s->stmt);
				break;
			}
		}
	}
	free(reads.v);
	free(writes.v);
	/* head: before the first sync; tail: after the last */
	Accs head = {0}, tail = {0};
	Acc esync = {.type = A_SYNC, .thread = inner_thread(t), .scope = t->scope};
	int nsync = 0;
	for (int i = 0; i < seq->n; i++) {
		Entry *s = &seq->v[i];
		if (pmap_get(&t->syncs, s->stmt)) {
			if (nsync)
				tail.n = 0;
			else
				acc_push(&head, esync);
			nsync++;
		}
		for (int j = 0; j < s->acc.n; j++) {
			Acc *a = &s->acc.v[j];
			if (a->type == A_SYNC) {
				if (nsync)
					tail.n = 0;
				else
					acc_push(&head, esync);
				nsync++;
			} else {
				acc_push(nsync ? &tail : &head, *a);
			}
		}
	}
	for (int i = 0; i < tail.n; i++)
		acc_push(&head, tail.v[i]);
	free(tail.v);
	if (loop)
		for (int i = 0; i < head.n; i++)
			head.v[i].dbw = 0;
	return head;
}

/* Closes the innermost scope: its summary, as one entry for stmt (pushed
 * when non-empty or `always`). */
static Accs close_scope(TS *t, int loop)
{
	Seq *s = top(t);
	Accs r = summarize(t, s, loop);
	seq_free(s);
	t->depth--;
	return r;
}

static void push_entry(TS *t, Stmt *s, Accs acc, int always)
{
	if (acc.n || always)
		seq_push(top(t), (Entry){s, acc});
	else
		free(acc.v);
}

static void visit_stmt(TS *t, Stmt *s);

/* A leaf statement: its expression accesses become one entry. */
static void leaf(TS *t, Stmt *s, Accs acc, int always)
{
	push_entry(t, s, acc, always);
}

static int is_thread_invariant(const Expr *c)
{
	return c->kind == EX_CALL && c->call.op == op_get("tirx.tvm_thread_invariant");
}

static void visit_stmt(TS *t, Stmt *s)
{
	if (!s)
		return;
	Accs acc = {0};
	switch (s->kind) {
	case ST_STORE: {
		Buffer *b = s->store.buf;
		t->cur = &acc;
		if (enabled(t, b->scope))
			add_access(t, A_WRITE, resolve(t, b), b->scope, s->store.idx, s->store.nidx, 1);
		visit_exprs(t, s->store.idx, s->store.nidx);
		visit_expr(t, s->store.value);
		visit_expr(t, s->store.pred);
		t->cur = NULL;
		leaf(t, s, acc, 1);
		return;
	}
	case ST_EVAL:
		t->cur = &acc;
		visit_expr(t, s->eval.value);
		t->cur = NULL;
		leaf(t, s, acc, 0);
		return;
	case ST_BIND:
		t->cur = &acc;
		visit_expr(t, s->bind.value);
		t->cur = NULL;
		leaf(t, s, acc, 1);
		return;
	case ST_DECL: {
		Expr *d = s->decl.data;
		if (d && (d->kind == EX_BUFDATA || d->kind == EX_BUFREF))
			pmap_put(&t->alias, s->decl.buf, (void *)resolve(t, d->buf));
		else if (d && d->kind == EX_VAR)
			pmap_put(&t->alias, s->decl.buf, (void *)resolve(t, d->var));
		return;
	}
	case ST_ATTR: {
		Sym k = s->attr.key;
		if (k == sym("double_buffer_write")) {
			Obj *n = s->attr.node;
			const void *b = NULL;
			if (n && n->kind == OB_BUFFER)
				b = resolve(t, n->buf);
			else if (n && n->kind == OB_EXPR && n->expr->kind == EX_BUFDATA)
				b = resolve(t, n->expr->buf);
			else if (n && n->kind == OB_EXPR && n->expr->kind == EX_VAR)
				b = resolve(t, n->expr->var);
			const void *saved = t->dbw_buf;
			t->dbw_buf = b;
			open_scope(t);
			visit_stmt(t, s->attr.body);
			Accs r = close_scope(t, 0);
			for (int i = 0; i < r.n; i++)
				if (r.v[i].type == A_WRITE && b && r.v[i].buf == b)
					r.v[i].dbw = 1;
			push_entry(t, s, r, 0);
			t->dbw_buf = saved;
			return;
		}
		if (k == sym("thread_extent")) {
			Obj *n = s->attr.node;
			Var *v = n && n->kind == OB_ITERVAR ? n->iv.var : NULL;
			if (t->nthreads == t->tcap) {
				t->tcap = t->tcap ? 2 * t->tcap : 8;
				t->threads = xrealloc(t->threads, (size_t)t->tcap * sizeof *t->threads);
			}
			t->threads[t->nthreads++] = v;
			if (!t->in_env) {
				t->in_env = 1;
				open_scope(t);
				visit_stmt(t, s->attr.body);
				Accs r = close_scope(t, 0); /* the kernel's end is a barrier */
				free(r.v);
				t->in_env = 0;
			} else {
				visit_stmt(t, s->attr.body);
			}
			t->nthreads--;
			return;
		}
		if (k == sym("hand_threaded"))
			return;
		visit_stmt(t, s->attr.body);
		return;
	}
	case ST_FOR: {
		open_scope(t);
		visit_stmt(t, s->loop.body);
		Accs r = close_scope(t, 1);
		int64_t ext;
		int unit = ex_is_const_int(s->loop.extent, &ext) && ext == 1;
		for (int i = 0; i < r.n; i++) {
			if (!r.v[i].buf)
				continue;
			Expr **pts = ar_alloc(t->a, (size_t)(r.v[i].ndim ? r.v[i].ndim : 1) * sizeof *pts);
			for (int j = 0; j < r.v[i].ndim; j++) {
				Expr *p = r.v[i].pts[j];
				if (p && uses_var(p, s->loop.var)) {
					if (unit) {
						PtrMap vm = {0};
						pmap_put(&vm, s->loop.var, s->loop.min);
						p = subst_expr(t->a, p, &vm, NULL);
						pmap_free(&vm);
					} else {
						p = NULL;
					}
				}
				pts[j] = p;
			}
			r.v[i].pts = pts; /* copies may share the old array */
		}
		push_entry(t, s, r, 0);
		return;
	}
	case ST_IF: {
		int inv = is_thread_invariant(s->ifs.cond);
		t->conds += !inv;
		open_scope(t);
		visit_stmt(t, s->ifs.then);
		Accs r = close_scope(t, 0);
		if (s->ifs.els) {
			open_scope(t);
			visit_stmt(t, s->ifs.els);
			Accs r2 = close_scope(t, 0);
			for (int i = 0; i < r2.n; i++)
				acc_push(&r, r2.v[i]);
			free(r2.v);
		}
		push_entry(t, s, r, 1);
		t->conds -= !inv;
		return;
	}
	case ST_WHILE: {
		int inv = is_thread_invariant(s->wloop.cond);
		t->conds += !inv;
		open_scope(t);
		visit_stmt(t, s->wloop.body);
		push_entry(t, s, close_scope(t, 0), 1);
		t->conds -= !inv;
		return;
	}
	case ST_SEQ:
		for (int i = 0; i < s->seq.n; i++)
			visit_stmt(t, s->seq.items[i]);
		return;
	default:
		return;
	}
}

/* ---------------------------------------------------------- insertion */

typedef struct Ins {
	TS *t;
	Stmt *skip;
} Ins;

static Stmt *barrier(Arena *a, Sym scope, Loc loc)
{
	Expr *arg = ex_str(a, scope);
	Stmt *s = st_new(a, ST_EVAL, loc);
	s->eval.value = ex_call(a, op_get("tirx.tvm_storage_sync"), ty_void(), &arg, 1);
	return s;
}

static Stmt *ins_stmt(Mutator *m, Stmt *s)
{
	Ins *in = m->data;
	if (s == in->skip) {
		in->skip = NULL;
		return NULL;
	}
	if (!pmap_get(&in->t->syncs, s))
		return NULL;
	in->skip = s;
	Stmt *items[2] = {barrier(m->a, in->t->scope, s->loc), mut_stmt(m, s)};
	return st_seq(m->a, items, 2);
}

/* The async-wait rule of TVM (shared scope only): a barrier at the start of
 * every async_wait_queue_scope { async_wait_inflight_count { body } }. */
static Stmt *wait_stmt(Mutator *m, Stmt *s)
{
	TS *t = m->data;
	if (s->kind != ST_ATTR || s->attr.key != sym("async_wait_queue_scope"))
		return NULL;
	Stmt *inner = s->attr.body;
	if (!inner || inner->kind != ST_ATTR || inner->attr.key != sym("async_wait_inflight_count")) {
		if (!t->failed) {
			t->failed = 2;
			t->failloc = s->loc;
		}
		return s;
	}
	Stmt *items[2] = {barrier(m->a, t->scope, inner->loc), mut_stmt(m, inner->attr.body)};
	Stmt *ni = st_new(m->a, ST_ATTR, inner->loc);
	ni->attr = inner->attr;
	ni->attr.body = st_seq(m->a, items, 2);
	Stmt *no = st_new(m->a, ST_ATTR, s->loc);
	no->attr = s->attr;
	no->attr.body = ni;
	return no;
}

/* plan: 0 when the function mentions nothing of the scope (see Mention):
 * only the async-wait rewrite of "shared" can then change it. */
static int sync_func(Func *f, Arena *a, Sym scope, int plan)
{
	TS t = {.a = a, .scope = scope};
	Stmt *body = f->body;
	if (scope == sym("shared")) {
		Mutator w = {.a = a, .expr = pu_keep_expr, .stmt = wait_stmt, .data = &t};
		body = mut_stmt(&w, body);
		mut_done(&w);
	}
	if (!t.failed && plan) {
		open_scope(&t);
		visit_stmt(&t, body);
		Accs r = close_scope(&t, 0);
		free(r.v);
	}
	int failed = t.failed;
	if (failed == 1)
		diag_error(t.failloc, "Cannot insert syncs inside condition");
	else if (failed == 2)
		diag_error(t.failloc, "async_wait_queue_scope must directly enclose async_wait_inflight_count");
	if (!failed && t.syncs.n) {
		Ins in = {&t, NULL};
		Mutator m = {.a = a, .expr = pu_keep_expr, .stmt = ins_stmt, .data = &in};
		body = mut_stmt(&m, body);
		mut_done(&m);
	}
	if (!failed)
		f->body = body;
	pmap_free(&t.alias);
	pmap_free(&t.syncs);
	free(t.stack);
	free(t.threads);
	return failed != 0;
}

/* Which of the two sync scopes a function can access: the planner records
 * an access only for a buffer of the scope or a pointer var typed with it,
 * and inserts a barrier only between recorded accesses, so a function that
 * mentions neither has nothing to plan for that scope (bit k: scopes[k]). */
typedef struct Mention {
	Sym scopes[2];
	int bits;
} Mention;

static void mention(Mention *mn, Sym scope)
{
	for (int k = 0; k < 2; k++)
		if (scope == mn->scopes[k])
			mn->bits |= 1 << k;
}

static void mention_buffer(Walker *w, Buffer *b)
{
	mention(w->data, b->scope);
}

static void mention_var(Walker *w, Var *v)
{
	if (v->ty.kind == TY_PTR)
		mention(w->data, v->ty.scope);
}

static int mention_expr(Walker *w, Expr *e)
{
	if (e->kind == EX_VAR)
		mention_var(w, e->var);
	return 1;
}

int pass_thread_sync(Module **m, PassCtx *cx)
{
	(void)cx;
	Module *mod = *m;
	static const char *const scopes[] = {"shared", "shared.dyn"};
	Mention mn = {{sym(scopes[0]), sym(scopes[1])}, 0};
	int *bits = xcalloc((size_t)mod->nfuncs + 1, sizeof *bits);
	for (int i = 0; i < mod->nfuncs; i++) {
		Walker w = {.expr = mention_expr, .buffer = mention_buffer, .def = mention_var, .data = &mn};
		mn.bits = 0;
		walk_func(&w, mod->funcs[i]);
		bits[i] = mn.bits;
	}
	int failed = 0;
	/* copies, whose bodies sync_func replaces: functions, like nodes, are
	 * not changed in place */
	for (int i = 0; i < mod->nfuncs; i++)
		mod->funcs[i] = ar_dup(mod->arena, mod->funcs[i], sizeof *mod->funcs[i]);
	for (int k = 0; k < 2 && !failed; k++)
		for (int i = 0; i < mod->nfuncs && !failed; i++)
			failed = sync_func(mod->funcs[i], mod->arena, sym(scopes[k]), bits[i] >> k & 1);
	free(bits);
	return failed;
}
