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
 * will once merged.  A tvm_access_ptr(dtype, B or B.data, offset, extent,
 * mask) reads (mask bit 1) and/or writes (bit 2) B at offset..+extent;
 * a mask that is not a constant counts as both (TVM requires a constant).
 *
 * Costs: one walk per function finds the scopes it mentions (a function is
 * planned only for those) and whether it has an async wait (the only thing
 * the async rewrite looks for).  The planner keeps its entries, accesses
 * and index points on stacks reused across functions: a closed scope's
 * summary replaces its entries' accesses in place, so nothing is allocated
 * per statement.  The running read and write sets of a sequence hold each
 * distinct access once (a repeat cannot change a conflict test), and
 * whether an index uses the thread var is computed once per access. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

enum { A_READ, A_WRITE, A_SYNC };

/* One access.  Its index points are TS.pts[pts .. pts + ndim), owned by
 * this access alone (so a loop may rewrite them in place): per dim the
 * single point indexed, or NULL for a range. */
typedef struct Acc {
	uint8_t type;
	uint8_t dbw;     /* double-buffer write */
	const void *buf; /* storage root: an allocated/param Buffer* or a pointer Var*; NULL: a sync */
	Sym scope;
	Var *thread;     /* innermost thread index var, or NULL */
	int pts;
	int ndim;
	uint32_t known;  /* bit i (dims below 32): whether point i uses `thread` is known */
	uint32_t uses;   /* ... and is true */
} Acc;

/* A statement of the open sequence: its accesses are TS.acc[a0 .. a1). */
typedef struct Entry {
	Stmt *stmt;
	int a0, a1;
} Entry;

/* The planner's state; the arrays are scratch kept across functions. */
typedef struct TS {
	Arena *a;
	Sym scope;    /* the sync scope: "shared" or "shared.dyn" */
	PtrMap alias; /* Buffer or Var -> storage root */
	PtrMap syncs; /* Stmt* -> non-NULL: barrier before it */
	/* The entries of the open scopes, innermost last; their accesses, in
	 * the same order, fill acc[0 .. nacc) without gaps. */
	Entry *ent;
	int nent, capent;
	Acc *acc;
	int nacc, capacc;
	Expr **pts; /* index points of the accesses (of one function) */
	int npts, cappts;
	int *rw;      /* close_scope's running read and write sets (acc indices) */
	int caprw;
	Var **threads; /* env threads, innermost last */
	int nthreads, tcap;
	int in_env;
	int conds;     /* enclosing thread-variant conditions */
	int failed;
	Loc failloc;
} TS;

/* Interned once per pass run. */
static Sym S_shared, S_shared_dyn, S_global, S_warp, S_thread_extent, S_double_buffer_write,
	S_hand_threaded, S_wait_queue, S_wait_inflight;
static const Op *OP_address_of, *OP_access_ptr, *OP_storage_sync, *OP_thread_invariant;

/* p, an array of *cap elements of size bytes, with room for need.  Never
 * NULL, even for need == 0: callers take `p + k` of the result, and
 * arithmetic on a null pointer is undefined even when k is 0. */
static void *grow(void *p, int *cap, int need, size_t size)
{
	if (p && need <= *cap)
		return p;
	int c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	*cap = c;
	return xrealloc(p, (size_t)c * size);
}

static void acc_push(TS *t, Acc a)
{
	t->acc = grow(t->acc, &t->capacc, t->nacc + 1, sizeof *t->acc);
	t->acc[t->nacc++] = a;
}

/* An entry for s holding the accesses pushed since a0 (when there are any,
 * or `always`). */
static void push_entry(TS *t, Stmt *s, int a0, int always)
{
	if (t->nacc == a0 && !always)
		return;
	t->ent = grow(t->ent, &t->capent, t->nent + 1, sizeof *t->ent);
	t->ent[t->nent++] = (Entry){s, a0, t->nacc};
}

static Var *inner_thread(TS *t)
{
	return t->nthreads ? t->threads[t->nthreads - 1] : NULL;
}

static const void *resolve(TS *t, const void *b)
{
	const void *r = t->alias.n ? pmap_get(&t->alias, b) : NULL;
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
	if (e->kind == EX_VAR)
		return e->var == v;
	UsesVar u = {v, 0};
	Walker w = {.expr = uses_hook, .data = &u};
	walk_expr(&w, e);
	return u.found;
}

/* Whether point i of a uses a's thread var (which is not NULL). */
static int point_uses_thread(TS *t, Acc *a, int i)
{
	if (i >= 32)
		return uses_var(t->pts[a->pts + i], a->thread);
	uint32_t bit = (uint32_t)1 << i;
	if (!(a->known & bit)) {
		a->known |= bit;
		if (uses_var(t->pts[a->pts + i], a->thread))
			a->uses |= bit;
	}
	return (a->uses & bit) != 0;
}

static int enabled(TS *t, Sym scope)
{
	return t->in_env && scope == t->scope;
}

static void add_access(TS *t, int type, const void *root, Sym scope, Expr **idx, int n, int point_ok)
{
	t->pts = grow(t->pts, &t->cappts, t->npts + n, sizeof *t->pts);
	int p0 = t->npts;
	for (int i = 0; i < n; i++)
		t->pts[p0 + i] = point_ok && idx[i]->dt.lanes == 1 ? idx[i] : NULL;
	t->npts += n;
	acc_push(t, (Acc){.type = (uint8_t)type, .buf = root, .scope = scope, .thread = inner_thread(t),
	                  .pts = p0, .ndim = n});
}

static void visit_node(TS *t, Expr *e);

/* The accesses of e, in evaluation order, onto the access stack (constants,
 * vars and buffer refs make none). */
static inline void visit_expr(TS *t, Expr *e)
{
	if (e && e->kind > EX_BUFREF)
		visit_node(t, e);
}

static void visit_exprs(TS *t, Expr **xs, int n)
{
	for (int i = 0; i < n; i++)
		visit_expr(t, xs[i]);
}

static void visit_node(TS *t, Expr *e)
{
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
		if (op == OP_address_of && e->call.nargs == 1 && e->call.args[0]->kind == EX_LOAD) {
			Expr *ld = e->call.args[0];
			visit_exprs(t, ld->load.idx, ld->load.nidx);
			visit_expr(t, ld->load.pred);
			return;
		}
		if (op == OP_access_ptr && e->call.nargs == 5) {
			Expr *d = e->call.args[1];
			const void *key = NULL;
			Sym scope = S_global;
			/* the buffer (`B`) or its data (`B.data`): the same storage */
			if (d->kind == EX_BUFDATA || d->kind == EX_BUFREF) {
				key = d->buf;
				scope = d->buf->scope;
			} else if (d->kind == EX_VAR) {
				key = d->var;
				if (d->var->ty.kind == TY_PTR && d->var->ty.scope)
					scope = d->var->ty.scope;
			}
			/* a mask that is not a constant (TVM requires one) counts
			 * as both: an extra barrier, never a missing one */
			int64_t flag = 3, ext;
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
		if (op == OP_storage_sync) {
			Expr *s = e->call.nargs ? e->call.args[0] : NULL;
			if (!(s && s->kind == EX_STR && s->s == S_warp))
				acc_push(t, (Acc){.type = A_SYNC, .thread = inner_thread(t)});
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

static int conflict1(TS *t, const Acc *prev, Acc *cur, int loop_carry)
{
	if (prev->buf != cur->buf)
		return 0;
	int n = prev->ndim < cur->ndim ? prev->ndim : cur->ndim;
	for (int i = 0; i < n; i++) {
		Expr *p = t->pts[prev->pts + i], *c = t->pts[cur->pts + i];
		/* no conflict while both index the same single point through the
		 * thread var (structurally equal points use the same vars) */
		if (!p || !c || !deep_eq(p, c) || (cur->thread && !point_uses_thread(t, cur, i)))
			return !(prev->dbw && cur->type == A_READ && !loop_carry);
	}
	return 0;
}

static int conflict(TS *t, const int *set, int n, Acc *cur, int loop_carry)
{
	for (int i = 0; i < n; i++)
		if (conflict1(t, &t->acc[set[i]], cur, loop_carry))
			return 1;
	return 0;
}

/* Adds access j to a running set unless an access the conflict test cannot
 * tell from it (root, dims, points, double-buffer flag) is there. */
static void add_to_set(TS *t, int *set, int *n, int j)
{
	const Acc *a = &t->acc[j];
	for (int i = 0; i < *n; i++) {
		const Acc *b = &t->acc[set[i]];
		if (b->buf != a->buf || b->ndim != a->ndim || b->dbw != a->dbw)
			continue;
		int d = 0;
		while (d < a->ndim && t->pts[a->pts + d] == t->pts[b->pts + d])
			d++;
		if (d == a->ndim)
			return;
	}
	set[(*n)++] = j;
}

static int synced(TS *t, Stmt *s)
{
	return t->syncs.n && pmap_get(&t->syncs, s);
}

static void mark_sync(TS *t, Stmt *s)
{
	if (t->conds && !t->failed) {
		t->failed = 1;
		t->failloc = s->loc;
	}
	pmap_put(&t->syncs, s, s);
}

/* Closes the innermost scope, whose entries start at e0 and accesses at
 * a0: plans the barriers of its sequence and leaves in acc[a0 .. nacc) the
 * accesses it exposes: those before the first sync, one sync standing for
 * all, those after the last. */
static void close_scope(TS *t, int e0, int a0, int loop)
{
	int a1 = t->nacc;
	const void *dyn = NULL;
	for (int j = a0; j < a1; j++) {
		Acc *a = &t->acc[j];
		if (a->buf && a->scope == S_shared_dyn) {
			if (!dyn)
				dyn = a->buf;
			else
				a->buf = dyn;
		}
	}
	t->rw = grow(t->rw, &t->caprw, 2 * (a1 - a0), sizeof *t->rw);
	int *rd = t->rw, *wr = t->rw + (a1 - a0);
	int nr = 0, nw = 0;
	for (int i = e0; i < t->nent; i++) {
		Entry *s = &t->ent[i];
		int sync = synced(t, s->stmt);
		if (sync)
			nr = nw = 0;
		for (int j = s->a0; j < s->a1; j++) {
			Acc *a = &t->acc[j];
			if (a->type == A_READ && conflict(t, wr, nw, a, 0)) {
				sync = 1;
				break;
			}
			if (a->type == A_WRITE && conflict(t, rd, nr, a, 0)) {
				sync = 1;
				break;
			}
			if (a->type == A_SYNC)
				nr = nw = 0;
		}
		if (sync)
			nr = nw = 0;
		for (int j = s->a0; j < s->a1; j++) {
			int type = t->acc[j].type;
			if (type == A_READ)
				add_to_set(t, rd, &nr, j);
			else if (type == A_WRITE)
				add_to_set(t, wr, &nw, j);
			else
				nr = nw = 0;
		}
		if (sync)
			mark_sync(t, s->stmt);
	}
	if (loop) {
		for (int i = e0; i < t->nent; i++) {
			Entry *s = &t->ent[i];
			if (synced(t, s->stmt) || (nr == 0 && nw == 0))
				break;
			int sync = 0;
			for (int j = s->a0; j < s->a1; j++) {
				Acc *a = &t->acc[j];
				if (a->type == A_READ && conflict(t, wr, nw, a, 1)) {
					sync = 1;
					break;
				}
				if (a->type == A_WRITE && conflict(t, rd, nr, a, 1)) {
					sync = 1;
					break;
				}
				if (a->type == A_SYNC)
					nr = nw = 0;
			}
			if (sync) {
				mark_sync(t, s->stmt);
				break;
			}
		}
	}
	/* the first sync point (a barrier before an entry, or a sync access)
	 * and the accesses after the last one */
	int first = -1, tail = a1;
	for (int i = e0; i < t->nent; i++) {
		Entry *s = &t->ent[i];
		if (synced(t, s->stmt)) {
			if (first < 0)
				first = s->a0;
			tail = s->a0;
		}
		for (int j = s->a0; j < s->a1; j++)
			if (t->acc[j].type == A_SYNC) {
				if (first < 0)
					first = j;
				tail = j + 1;
			}
	}
	int end = a1;
	if (first >= 0) {
		int ntail = a1 - tail;
		end = first + 1 + ntail;
		t->acc = grow(t->acc, &t->capacc, end, sizeof *t->acc);
		memmove(&t->acc[first + 1], &t->acc[tail], (size_t)ntail * sizeof *t->acc);
		t->acc[first] = (Acc){.type = A_SYNC, .thread = inner_thread(t), .scope = t->scope};
	}
	if (loop)
		for (int j = a0; j < end; j++)
			t->acc[j].dbw = 0;
	t->nent = e0;
	t->nacc = end;
}

static void visit_stmt(TS *t, Stmt *s);

static int is_thread_invariant(const Expr *c)
{
	return c->kind == EX_CALL && c->call.op == OP_thread_invariant;
}

/* A loop's exposed accesses seen from outside: points that use the loop
 * var are ranges, unless the loop runs once (then the var is its min). */
static void loop_points(TS *t, Stmt *s, int a0)
{
	int64_t ext;
	int unit = ex_is_const_int(s->loop.extent, &ext) && ext == 1;
	for (int i = a0; i < t->nacc; i++) {
		Acc *a = &t->acc[i];
		if (!a->buf)
			continue;
		for (int j = 0; j < a->ndim; j++) {
			Expr *p = t->pts[a->pts + j];
			if (!p || !uses_var(p, s->loop.var))
				continue;
			if (unit) {
				PtrMap vm = {0};
				pmap_put(&vm, s->loop.var, s->loop.min);
				p = subst_expr(t->a, p, &vm, NULL);
				pmap_free(&vm);
			} else {
				p = NULL;
			}
			t->pts[a->pts + j] = p;
			if (j < 32) {
				a->known &= ~((uint32_t)1 << j);
				a->uses &= ~((uint32_t)1 << j);
			}
		}
	}
}

/* A plain attr's body and a sequence's last item are visited by jumping
 * back to the top, not by a call: chains of flat frames cost no stack. */
static void visit_stmt(TS *t, Stmt *s)
{
again:
	if (!s)
		return;
	int e0 = t->nent, a0 = t->nacc;
	switch (s->kind) {
	case ST_STORE: {
		Buffer *b = s->store.buf;
		if (enabled(t, b->scope))
			add_access(t, A_WRITE, resolve(t, b), b->scope, s->store.idx, s->store.nidx, 1);
		visit_exprs(t, s->store.idx, s->store.nidx);
		visit_expr(t, s->store.value);
		visit_expr(t, s->store.pred);
		push_entry(t, s, a0, 1);
		return;
	}
	case ST_EVAL:
		visit_expr(t, s->eval.value);
		push_entry(t, s, a0, 0);
		return;
	case ST_BIND:
		visit_expr(t, s->bind.value);
		push_entry(t, s, a0, 1);
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
		if (k == S_double_buffer_write) {
			Obj *n = s->attr.node;
			const void *b = NULL;
			if (n && n->kind == OB_BUFFER)
				b = resolve(t, n->buf);
			else if (n && n->kind == OB_EXPR && n->expr->kind == EX_BUFDATA)
				b = resolve(t, n->expr->buf);
			else if (n && n->kind == OB_EXPR && n->expr->kind == EX_VAR)
				b = resolve(t, n->expr->var);
			visit_stmt(t, s->attr.body);
			close_scope(t, e0, a0, 0);
			for (int i = a0; i < t->nacc; i++)
				if (t->acc[i].type == A_WRITE && b && t->acc[i].buf == b)
					t->acc[i].dbw = 1;
			push_entry(t, s, a0, 0);
			return;
		}
		if (k == S_thread_extent) {
			Obj *n = s->attr.node;
			Var *v = n && n->kind == OB_ITERVAR ? n->iv.var : NULL;
			t->threads = grow(t->threads, &t->tcap, t->nthreads + 1, sizeof *t->threads);
			t->threads[t->nthreads++] = v;
			if (!t->in_env) {
				t->in_env = 1;
				visit_stmt(t, s->attr.body);
				close_scope(t, e0, a0, 0); /* the kernel's end is a barrier */
				t->nacc = a0;
				t->in_env = 0;
			} else {
				visit_stmt(t, s->attr.body);
			}
			t->nthreads--;
			return;
		}
		if (k == S_hand_threaded)
			return;
		s = s->attr.body;
		goto again;
	}
	case ST_FOR:
		visit_stmt(t, s->loop.body);
		close_scope(t, e0, a0, 1);
		loop_points(t, s, a0);
		push_entry(t, s, a0, 0);
		return;
	case ST_IF: {
		int inv = is_thread_invariant(s->ifs.cond);
		t->conds += !inv;
		visit_stmt(t, s->ifs.then);
		close_scope(t, e0, a0, 0);
		if (s->ifs.els) {
			/* the else branch's summary follows the then branch's */
			int a1 = t->nacc;
			visit_stmt(t, s->ifs.els);
			close_scope(t, e0, a1, 0);
		}
		push_entry(t, s, a0, 1);
		t->conds -= !inv;
		return;
	}
	case ST_WHILE: {
		int inv = is_thread_invariant(s->wloop.cond);
		t->conds += !inv;
		visit_stmt(t, s->wloop.body);
		close_scope(t, e0, a0, 0);
		push_entry(t, s, a0, 1);
		t->conds -= !inv;
		return;
	}
	case ST_SEQ:
		if (s->seq.n == 0)
			return;
		for (int i = 0; i < s->seq.n - 1; i++)
			visit_stmt(t, s->seq.items[i]);
		s = s->seq.items[s->seq.n - 1];
		goto again;
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
	s->eval.value = ex_call(a, OP_storage_sync, ty_void(), &arg, 1);
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
	if (s->kind != ST_ATTR || s->attr.key != S_wait_queue)
		return NULL;
	Stmt *inner = s->attr.body;
	if (!inner || inner->kind != ST_ATTR || inner->attr.key != S_wait_inflight) {
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

/* Plans and inserts the barriers of one scope into *body.  plan: 0 when the
 * function mentions nothing of the scope (see Mention); wait: whether it
 * has an async_wait_queue_scope (the async-wait rewrite of "shared" changes
 * nothing else). */
static int sync_func(TS *t, Stmt **body, Sym scope, int plan, int wait)
{
	t->scope = scope;
	t->nent = t->nacc = t->npts = 0;
	t->nthreads = t->in_env = t->conds = t->failed = 0;
	if (t->alias.n)
		pmap_clear(&t->alias);
	if (t->syncs.n)
		pmap_clear(&t->syncs);
	Stmt *b = *body;
	if (scope == S_shared && wait) {
		Mutator w = {.a = t->a, .expr = pu_keep_expr, .stmt = wait_stmt, .data = t};
		b = mut_stmt(&w, b);
		mut_done(&w);
	}
	if (!t->failed && plan) {
		visit_stmt(t, b);
		close_scope(t, 0, 0, 0);
	}
	int failed = t->failed;
	if (failed == 1)
		diag_error(t->failloc, "Cannot insert syncs inside condition");
	else if (failed == 2)
		diag_error(t->failloc, "async_wait_queue_scope must directly enclose async_wait_inflight_count");
	if (!failed && t->syncs.n) {
		Ins in = {t, NULL};
		Mutator m = {.a = t->a, .expr = pu_keep_expr, .stmt = ins_stmt, .data = &in};
		b = mut_stmt(&m, b);
		mut_done(&m);
	}
	if (!failed)
		*body = b;
	return failed != 0;
}

/* ------------------------------------------------------------ mentions */

/* Which of the two sync scopes a function can access: the planner records
 * an access only inside a kernel, in the expressions of a store, evaluate
 * or bind, and only for a buffer of the scope or a pointer var typed with
 * it; it inserts a barrier only between recorded accesses.  So a function
 * whose such expressions mention neither (no buffer, load or var of the
 * scope) has nothing to plan for that scope (bit k: scope k).  Bit 2: the
 * function has an async_wait_queue_scope, found among all statements. */
typedef struct Mention {
	Sym scopes[2];
	int bits;
	int in_env; /* below a thread_extent */
	Walker w;   /* mention_visit over expressions */
} Mention;

static void mention(Mention *mn, Sym scope)
{
	for (int k = 0; k < 2; k++)
		if (scope == mn->scopes[k])
			mn->bits |= 1 << k;
}

static void mention_var(Mention *mn, const Var *v)
{
	if (v && v->ty.kind == TY_PTR)
		mention(mn, v->ty.scope);
}

static int mention_visit(Walker *w, Expr *e)
{
	Mention *mn = w->data;
	switch (e->kind) {
	case EX_VAR:
		mention_var(mn, e->var);
		break;
	case EX_LOAD:
		mention(mn, e->load.buf->scope);
		break;
	default: /* EX_BUFDATA, EX_BUFREF */
		mention(mn, e->buf->scope);
		break;
	}
	/* both scopes seen: only statements (async waits) are left to find */
	return (mn->bits & 3) != 3;
}

static void mention_def(Walker *w, Var *v)
{
	mention_var(w->data, v);
}

static void mention_expr(Mention *mn, Expr *e)
{
	if (e && (mn->bits & 3) != 3)
		walk_expr(&mn->w, e);
}

static void mention_exprs(Mention *mn, Expr *const *xs, int n)
{
	for (int i = 0; i < n; i++)
		mention_expr(mn, xs[i]);
}

/* The statement walk: the expressions of stores, evaluates and binds in
 * a thread environment (below a thread_extent) are where the planner
 * records accesses; async waits are found everywhere. */
static int mention_stmt(Walker *w, Stmt *s)
{
	Mention *mn = w->data;
	switch (s->kind) {
	case ST_STORE:
		if (mn->in_env) {
			mention(mn, s->store.buf->scope);
			mention_exprs(mn, s->store.idx, s->store.nidx);
			mention_expr(mn, s->store.value);
			mention_expr(mn, s->store.pred);
		}
		return 0;
	case ST_EVAL:
		if (mn->in_env)
			mention_expr(mn, s->eval.value);
		return 0;
	case ST_BIND:
		if (mn->in_env)
			mention_expr(mn, s->bind.value);
		return 0;
	case ST_ATTR:
		if (s->attr.key == S_wait_queue)
			mn->bits |= 4;
		if (s->attr.key == S_thread_extent && !mn->in_env) {
			mn->in_env = 1;
			walk_stmt(w, s->attr.body);
			mn->in_env = 0;
			return 0;
		}
		return 1;
	default:
		return 1;
	}
}

static int mentions(const Func *f)
{
	Mention mn = {{S_shared, S_shared_dyn}, 0, 0, {0}};
	mn.w = (Walker){.expr = mention_visit, .def = mention_def, .data = &mn,
	                .kinds = EXK(EX_VAR) | EXK(EX_LOAD) | EXK(EX_BUFDATA) | EXK(EX_BUFREF)};
	Walker sw = {.stmt = mention_stmt, .expr = pu_skip_expr, .data = &mn};
	walk_stmt(&sw, f->body);
	return mn.bits;
}

int pass_thread_sync(Module **m, PassCtx *cx)
{
	(void)cx;
	S_shared = sym("shared");
	S_shared_dyn = sym("shared.dyn");
	S_global = sym("global");
	S_warp = sym("warp");
	S_thread_extent = sym("thread_extent");
	S_double_buffer_write = sym("double_buffer_write");
	S_hand_threaded = sym("hand_threaded");
	S_wait_queue = sym("async_wait_queue_scope");
	S_wait_inflight = sym("async_wait_inflight_count");
	OP_address_of = op_get("tirx.address_of");
	OP_access_ptr = op_get("tirx.tvm_access_ptr");
	OP_storage_sync = op_get("tirx.tvm_storage_sync");
	OP_thread_invariant = op_get("tirx.tvm_thread_invariant");

	Module *mod = *m;
	int lo, hi;
	pass_range(cx, mod, &lo, &hi);
	int n = hi - lo;
	int *bits = xcalloc((size_t)n + 1, sizeof *bits);
	Stmt **bodies = xcalloc((size_t)n + 1, sizeof *bodies);
	for (int i = 0; i < n; i++) {
		bits[i] = mentions(mod->funcs[lo + i]);
		bodies[i] = mod->funcs[lo + i]->body;
	}
	/* "shared" over every function, then "shared.dyn" over the result; a
	 * function is left alone for a scope it does not mention, unless it
	 * has an async wait (the rewrite of "shared" adds barriers there) */
	TS t = {.a = mod->arena};
	const Sym scopes[2] = {S_shared, S_shared_dyn};
	int failed = 0;
	for (int k = 0; k < 2 && !failed; k++)
		for (int i = 0; i < n && !failed; i++)
			if (bits[i] >> k & 1 || (k == 0 && bits[i] & 4))
				failed = sync_func(&t, &bodies[i], scopes[k], bits[i] >> k & 1, bits[i] & 4);
	/* functions are not changed in place: a changed one is replaced */
	for (int i = 0; i < n; i++)
		pu_set_body(mod, lo + i, bodies[i]);
	pmap_free(&t.alias);
	pmap_free(&t.syncs);
	free(t.ent);
	free(t.acc);
	free(t.pts);
	free(t.rw);
	free(t.threads);
	free(bits);
	free(bodies);
	return failed;
}
