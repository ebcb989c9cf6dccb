/* vectorize_loop.c: VectorizeLoop, T.vectorized loops to vector operations.
 *
 * IR expected: 1-d buffer accesses (after FlattenBuffer); vectorized loops
 *              start at 0 and have a constant extent (the lane count).
 * IR left:     no vectorized loops: each becomes its body with the loop var
 *              replaced by T.Ramp(0, 1, lanes), pushed through the
 *              arithmetic (ramps for affine indices, broadcasts elsewhere),
 *              giving vector loads and stores (a reinterpret of a vector
 *              gets the lanes its bits hold, as in TVM).  A statement that cannot be
 *              vectorized (a vector `if` condition, a call that is not a
 *              pure math op, nested control flow that needs it) becomes a
 *              serial loop over a fresh var `<v>.s`, as TVM scalarizes it.
 *              With the config tirx.disable_vectorize=1 every vectorized
 *              loop becomes serial instead.
 * Runs after:  FlattenBuffer.
 *
 * This is TVM's Vectorizer for fixed-width targets; the scalable-vector
 * (VLA/RVV) paths and buffer-level predication are not implemented.
 * A T.Ramp over a lane-dependent base becomes TVM's Shuffle of per-lane
 * ramps (vec_ramp).
 *
 * Deviations: operands whose lanes cannot be matched (a vector that is
 * not a broadcast, widened to other lanes) make the statement serial,
 * where TVM stops with an internal error; a ramp whose base is a ramp is
 * fused into one ramp only when that addresses the same elements (TVM
 * also fuses when the lanes differ, which addresses other elements). */
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

typedef struct VZ {
	Arena *a;
	Var *var;
	int lanes;
	Expr *ramp;
	int need_scalar;
	PtrMap lets; /* Var* -> Expr* */
	int failed;
} VZ;

static Expr *arith(VZ *z, int kind, Expr *x, Expr *y)
{
	return pu_arith(z->a, "VectorizeLoop", kind, x, y);
}

/* e with `lanes` lanes.  A vector of other lanes that is not a broadcast
 * cannot be widened (TVM stops there with an internal error): the
 * statement is scalarized instead (need_scalar), and the placeholder
 * returned, a broadcast of zero, only keeps the types of the discarded
 * vector form consistent. */
static Expr *bcast_to(VZ *z, Expr *e, int lanes)
{
	if (e->dt.lanes == lanes)
		return e;
	if (e->kind == EX_BROADCAST && lanes % e->dt.lanes == 0)
		e = e->bcast.value;
	if (e->dt.lanes != 1) {
		z->need_scalar = 1;
		DType el = dt_element(e->dt);
		e = dt_is_float(el) ? ex_float(z->a, el, 0) : ex_int(z->a, el, 0);
	}
	Expr *b = ex_new(z->a, EX_BROADCAST, dt_with_lanes(e->dt, lanes));
	b->bcast.value = e;
	return b;
}

static Expr *mk_shuffle(VZ *z, Expr **vecs, int nvecs, int nidx, int first)
{
	Expr *e = ex_new(z->a, EX_SHUFFLE, dt_with_lanes(vecs[0]->dt, nidx));
	e->shuf.vecs = vecs;
	e->shuf.nvecs = nvecs;
	e->shuf.nidx = nidx;
	e->shuf.idx = ar_alloc(z->a, (size_t)nidx * sizeof *e->shuf.idx);
	for (int i = 0; i < nidx; i++)
		e->shuf.idx[i] = ex_int(z->a, DT_I32, first + i);
	return e;
}

/* Lane k of vector v, as TVM's Shuffle::ExtractElement. */
static Expr *extract(VZ *z, Expr *v, int k)
{
	Expr **vs = ar_alloc(z->a, sizeof *vs);
	vs[0] = v;
	Expr *e = mk_shuffle(z, vs, 1, 1, k);
	e->dt = dt_element(v->dt);
	return e;
}

static Expr *mk_ramp(VZ *z, Expr *base, Expr *stride, int lanes)
{
	Expr *r = ex_new(z->a, EX_RAMP, dt_with_lanes(base->dt, lanes));
	r->ramp.base = base;
	r->ramp.stride = stride;
	return r;
}

static Expr *vec(VZ *z, Expr *e);
static Expr *vec_ramp(VZ *z, Expr *e);

static int max_lanes(int a, int b)
{
	return a > b ? a : b;
}

static Expr *binary(VZ *z, Expr *e)
{
	Expr *a = vec(z, e->bin.a), *b = vec(z, e->bin.b);
	if (a == e->bin.a && b == e->bin.b)
		return e;
	int lanes = max_lanes(a->dt.lanes, b->dt.lanes);
	int k = e->kind;
	int64_t c;
	if ((k == EX_ADD || k == EX_SUB) && lanes != 1) {
		if (a->dt.lanes == 1 && b->kind == EX_RAMP)
			return mk_ramp(z, arith(z, k, a, b->ramp.base),
			               arith(z, k, ex_int(z->a, b->ramp.stride->dt, 0), b->ramp.stride), b->dt.lanes);
		if (b->dt.lanes == 1 && a->kind == EX_RAMP)
			return mk_ramp(z, arith(z, k, a->ramp.base, b), a->ramp.stride, a->dt.lanes);
		return arith(z, k, bcast_to(z, a, lanes), bcast_to(z, b, lanes));
	}
	if (k == EX_ADD || k == EX_SUB)
		return arith(z, k, a, b);
	if (k == EX_MUL && lanes != 1) {
		if (a->kind == EX_RAMP && b->dt.lanes == 1 && ex_is_const_int(b, &c) && c > 0)
			return mk_ramp(z, arith(z, EX_MUL, a->ramp.base, b), arith(z, EX_MUL, a->ramp.stride, b), a->dt.lanes);
		if (b->kind == EX_RAMP && a->dt.lanes == 1 && ex_is_const_int(a, &c) && c > 0)
			return mk_ramp(z, arith(z, EX_MUL, b->ramp.base, a), arith(z, EX_MUL, b->ramp.stride, a), b->dt.lanes);
	}
	return ex_bin(z->a, k, bcast_to(z, a, lanes), bcast_to(z, b, lanes));
}

/* Vectorizes args in place; returns the common lane count (0: unchanged). */
static int vec_args(VZ *z, Expr **out, Expr **args, int n)
{
	int lanes = 1, changed = 0;
	for (int i = 0; i < n; i++) {
		out[i] = args[i]->kind == EX_STR ? args[i] : vec(z, args[i]);
		changed |= out[i] != args[i];
		lanes = max_lanes(lanes, out[i]->dt.lanes);
	}
	for (int i = 0; i < n; i++)
		if (out[i]->kind != EX_STR && out[i]->dt.lanes != lanes) {
			out[i] = bcast_to(z, out[i], lanes);
			changed = 1;
		}
	return changed ? lanes : 0;
}

static Expr *vec_call(VZ *z, Expr *e)
{
	const Op *op = e->call.op;
	int n = e->call.nargs;
	Expr **args = ar_alloc(z->a, (size_t)(n ? n : 1) * sizeof *args);
	if (op == op_get("tirx.if_then_else") && n == 3) {
		Expr *c = vec(z, e->call.args[0]);
		if (c->dt.lanes != 1) {
			z->need_scalar = 1;
			return e;
		}
		Expr *t = vec(z, e->call.args[1]), *f = vec(z, e->call.args[2]);
		if (c == e->call.args[0] && t == e->call.args[1] && f == e->call.args[2])
			return e;
		int lanes = max_lanes(t->dt.lanes, f->dt.lanes);
		args[0] = c, args[1] = bcast_to(z, t, lanes), args[2] = bcast_to(z, f, lanes);
		return ex_call(z->a, op, ty_prim(dt_with_lanes(e->dt, lanes)), args, 3);
	}
	if (op == op_get("tirx.reinterpret") && n == 1) {
		/* the bits of every lane: as many lanes of the new type as the
		 * vector's bits hold (lane for lane with float4, as TVM) */
		Expr *v = vec(z, e->call.args[0]);
		if (v == e->call.args[0])
			return e;
		int f4 = e->dt.code == DT_F4_E2M1FN || v->dt.code == DT_F4_E2M1FN;
		int lanes = f4 ? v->dt.lanes : v->dt.bits * v->dt.lanes / e->dt.bits;
		args[0] = v;
		return ex_call(z->a, op, ty_prim(dt_with_lanes(e->dt, lanes)), args, 1);
	}
	/* pure elementwise math: call on vectors */
	int elementwise = op && op->effect == EFF_PURE && op->rule == RT_ARG0 && !strncmp(op->name, "tirx.", 5);
	int lanes = vec_args(z, args, e->call.args, n);
	if (!lanes)
		return e;
	if (!elementwise) {
		z->need_scalar = 1;
		return e;
	}
	return ex_call(z->a, op, ty_prim(dt_with_lanes(e->dt, lanes)), args, n);
}

/* T.Ramp(base, stride, n) whose base or stride depends on the loop var:
 * lane j of the loop gives the n-lane ramp from base_j by stride_j, and
 * the vector is those ramps one after another, a Shuffle that
 * concatenates them (TVM's form).  When the base is a ramp with as many
 * lanes as n and a constant stride n times the ramp's, the concatenation
 * is one ramp, as TVM writes it.  (TVM fuses whenever the base's stride
 * is the stride times the base's lanes, whatever n: with n different from
 * the lanes that addresses the wrong elements, so here those cases keep
 * the concatenation.) */
static Expr *vec_ramp(VZ *z, Expr *e)
{
	Expr *b = vec(z, e->ramp.base), *s = vec(z, e->ramp.stride);
	if (b == e->ramp.base && s == e->ramp.stride)
		return e;
	int n = e->dt.lanes;
	int64_t sb, st;
	if (b->kind == EX_RAMP && s->dt.lanes == 1 && b->dt.lanes == n &&
	    ex_is_const_int(b->ramp.stride, &sb) && ex_is_const_int(s, &st) && sb == st * n &&
	    (int64_t)n * n <= 65535)
		return mk_ramp(z, b->ramp.base, s, n * n);
	int lanes = max_lanes(b->dt.lanes, s->dt.lanes);
	if (lanes == 1)
		return mk_ramp(z, b, s, n);
	if ((int64_t)lanes * n > 65535) {
		z->need_scalar = 1;
		return e;
	}
	b = bcast_to(z, b, lanes);
	s = bcast_to(z, s, lanes);
	Expr **parts = ar_alloc(z->a, (size_t)lanes * sizeof *parts);
	for (int j = 0; j < lanes; j++)
		parts[j] = mk_ramp(z, extract(z, b, j), extract(z, s, j), n);
	return mk_shuffle(z, parts, lanes, lanes * n, 0);
}

static Expr *vec(VZ *z, Expr *e)
{
	if (!e)
		return NULL;
	switch (e->kind) {
	case EX_VAR: {
		if (e->var == z->var)
			return z->ramp;
		Expr *r = pmap_get(&z->lets, e->var);
		return r ? r : e;
	}
	case EX_INT: case EX_FLOAT: case EX_STR: case EX_BUFDATA: case EX_BUFREF:
		return e;
	case EX_NOT: {
		Expr *a = vec(z, e->bin.a);
		if (a == e->bin.a)
			return e;
		Expr *n = ex_new(z->a, EX_NOT, a->dt);
		n->bin.a = a;
		return n;
	}
	case EX_CAST: {
		Expr *a = vec(z, e->bin.a);
		return a == e->bin.a ? e : ex_cast(z->a, dt_with_lanes(e->dt, a->dt.lanes), a);
	}
	case EX_SELECT: {
		Expr *c = vec(z, e->sel.c), *t = vec(z, e->sel.t), *f = vec(z, e->sel.f);
		if (c == e->sel.c && t == e->sel.t && f == e->sel.f)
			return e;
		int lanes = max_lanes(max_lanes(c->dt.lanes, t->dt.lanes), f->dt.lanes);
		Expr *n = ex_new(z->a, EX_SELECT, dt_with_lanes(t->dt, lanes));
		n->sel.c = bcast_to(z, c, lanes), n->sel.t = bcast_to(z, t, lanes), n->sel.f = bcast_to(z, f, lanes);
		return n;
	}
	case EX_RAMP:
		return vec_ramp(z, e);
	case EX_BROADCAST: case EX_SHUFFLE: {
		/* vectors inside a vectorized loop: only when independent of it */
		Vec vars = {0};
		Stmt tmp = {.kind = ST_EVAL};
		tmp.eval.value = e;
		free_vars(&tmp, &vars, NULL);
		for (int i = 0; i < vars.n; i++)
			if (vars.v[i] == z->var || pmap_get(&z->lets, vars.v[i]))
				z->need_scalar = 1;
		vec_free(&vars);
		return e;
	}
	case EX_LET: {
		Expr *v = vec(z, e->let.value);
		if (v->dt.lanes != e->let.value->dt.lanes) {
			Var *nv = var_new(z->a, e->let.var->name, ty_prim(v->dt));
			pmap_put(&z->lets, e->let.var, ex_var(z->a, nv));
			Expr *n = ex_new(z->a, EX_LET, e->dt);
			n->let.var = nv, n->let.value = v, n->let.body = vec(z, e->let.body);
			n->dt = n->let.body->dt;
			return n;
		}
		Expr *body = vec(z, e->let.body);
		if (v == e->let.value && body == e->let.body)
			return e;
		Expr *n = ex_new(z->a, EX_LET, body->dt);
		n->let.var = e->let.var, n->let.value = v, n->let.body = body;
		return n;
	}
	case EX_LOAD: {
		int n = e->load.nidx, changed = 0, lanes = e->load.buf->dt.lanes;
		Expr **idx = ar_alloc(z->a, (size_t)(n ? n : 1) * sizeof *idx);
		for (int i = 0; i < n; i++) {
			idx[i] = vec(z, e->load.idx[i]);
			changed |= idx[i] != e->load.idx[i];
			lanes *= idx[i]->dt.lanes;
		}
		if (!changed)
			return e;
		Expr *r = ex_new(z->a, EX_LOAD, dt_with_lanes(e->load.buf->dt, lanes));
		r->load = e->load;
		r->load.idx = idx;
		return r;
	}
	case EX_CALL:
		return vec_call(z, e);
	default:
		if (e->kind >= EX_ADD && e->kind <= EX_OR)
			return binary(z, e);
		return e;
	}
}

static Stmt *vec_stmt(VZ *z, Stmt *s);

static Stmt *scalarize(VZ *z, Stmt *s)
{
	char name[256];
	snprintf(name, sizeof name, "%s.s", z->var->name);
	Var *idx = var_new(z->a, sym(name), z->var->ty);
	PtrMap vm = {0};
	pmap_put(&vm, z->var, ex_var(z->a, idx));
	Stmt *body = subst_stmt(z->a, s, &vm, NULL);
	pmap_free(&vm);
	Stmt *f = st_new(z->a, ST_FOR, s->loc);
	f->loop.var = idx;
	f->loop.min = ex_int(z->a, z->var->dt, 0);
	f->loop.extent = ex_int(z->a, z->var->dt, z->lanes);
	f->loop.kind = FOR_SERIAL;
	f->loop.body = body;
	return f;
}

/* One statement; a statement whose vectorization asked for it is
 * scalarized whole. */
static Stmt *visit(VZ *z, Stmt *s)
{
	Stmt *r = vec_stmt(z, s);
	if (z->need_scalar) {
		z->need_scalar = 0;
		return scalarize(z, s);
	}
	return r;
}

static Stmt *vec_stmt(VZ *z, Stmt *s)
{
	if (!s)
		return NULL;
	Stmt *n;
	switch (s->kind) {
	case ST_STORE: {
		int k = s->store.nidx, changed = 0;
		Expr **idx = ar_alloc(z->a, (size_t)(k ? k : 1) * sizeof *idx);
		for (int i = 0; i < k; i++) {
			idx[i] = vec(z, s->store.idx[i]);
			changed |= idx[i] != s->store.idx[i];
		}
		Expr *v = vec(z, s->store.value);
		if (!changed && v == s->store.value)
			return s;
		int other = s->store.buf->dt.lanes;
		for (int i = 0; i + 1 < k; i++)
			other *= idx[i]->dt.lanes;
		int total = max_lanes(other * (k ? idx[k - 1]->dt.lanes : 1), v->dt.lanes);
		if (k)
			idx[k - 1] = bcast_to(z, idx[k - 1], total / other);
		n = st_new(z->a, ST_STORE, s->loc);
		n->store = s->store;
		n->store.idx = idx;
		n->store.value = bcast_to(z, v, total);
		return n;
	}
	case ST_BIND: {
		Expr *v = vec(z, s->bind.value);
		if (z->need_scalar)
			return s;
		if (v->dt.lanes != s->bind.value->dt.lanes) {
			Var *nv = var_new(z->a, s->bind.var->name, ty_prim(v->dt));
			pmap_put(&z->lets, s->bind.var, ex_var(z->a, nv));
			n = st_new(z->a, ST_BIND, s->loc);
			n->bind.var = nv;
			n->bind.value = v;
			return n;
		}
		if (v == s->bind.value)
			return s;
		n = st_new(z->a, ST_BIND, s->loc);
		n->bind = s->bind;
		n->bind.value = v;
		return n;
	}
	case ST_EVAL: {
		Expr *v = vec(z, s->eval.value);
		if (v == s->eval.value)
			return s;
		n = st_new(z->a, ST_EVAL, s->loc);
		n->eval.value = v;
		return n;
	}
	case ST_SEQ: {
		int k = s->seq.n, changed = 0;
		Stmt **items = xmalloc((size_t)(k ? k : 1) * sizeof *items);
		for (int i = 0; i < k; i++) {
			items[i] = visit(z, s->seq.items[i]);
			changed |= items[i] != s->seq.items[i];
		}
		n = changed ? st_seq(z->a, items, k) : s;
		free(items);
		return n;
	}
	case ST_IF: {
		Expr *c = vec(z, s->ifs.cond);
		int cond_scalar = z->need_scalar;
		z->need_scalar = 0;
		Stmt *t = visit(z, s->ifs.then), *f = s->ifs.els ? visit(z, s->ifs.els) : NULL;
		if (cond_scalar || c->dt.lanes != 1) {
			z->need_scalar = 0;
			return scalarize(z, s);
		}
		if (c == s->ifs.cond && t == s->ifs.then && f == s->ifs.els)
			return s;
		n = st_new(z->a, ST_IF, s->loc);
		n->ifs.cond = c, n->ifs.then = t, n->ifs.els = f;
		return n;
	}
	case ST_FOR: {
		Expr *ext = vec(z, s->loop.extent);
		if (ext->dt.lanes != 1 || z->need_scalar) {
			z->need_scalar = 0;
			return scalarize(z, s);
		}
		Stmt *body = visit(z, s->loop.body);
		if (ext == s->loop.extent && body == s->loop.body)
			return s;
		n = st_new(z->a, ST_FOR, s->loc);
		n->loop = s->loop;
		n->loop.extent = ext;
		n->loop.body = body;
		return n;
	}
	case ST_ATTR: {
		Stmt *body = visit(z, s->attr.body);
		if (body == s->attr.body)
			return s;
		n = st_new(z->a, ST_ATTR, s->loc);
		n->attr = s->attr;
		n->attr.body = body;
		return n;
	}
	case ST_ALLOC:
	case ST_DECL:
	case ST_BREAK:
	case ST_CONTINUE:
		return s;
	default: {
		/* while, assert, return: serial when they depend on the lane */
		Vec vars = {0};
		free_vars(s, &vars, NULL);
		for (int i = 0; i < vars.n; i++)
			if (vars.v[i] == z->var || pmap_get(&z->lets, vars.v[i]))
				z->need_scalar = 1;
		vec_free(&vars);
		return s;
	}
	}
}

typedef struct LV {
	int disable;
	int failed;
} LV;

static Stmt *lv_stmt(Mutator *m, Stmt *s)
{
	LV *lv = m->data;
	if (s->kind != ST_FOR || s->loop.kind != FOR_VECTORIZED)
		return NULL;
	Stmt *body = mut_stmt(m, s->loop.body); /* inner loops first */
	int64_t ext, mn;
	if (lv->disable) {
		Stmt *n = st_new(m->a, ST_FOR, s->loc);
		n->loop = s->loop;
		n->loop.kind = FOR_SERIAL;
		n->loop.body = body;
		return n;
	}
	if (!ex_is_const_int(s->loop.min, &mn) || mn != 0 || !ex_is_const_int(s->loop.extent, &ext) ||
	    ext < 1 || ext > 65535) {
		if (!lv->failed) {
			Buf b = {0};
			tir_print_expr(&b, s->loop.extent);
			diag_error(s->loc, "Failed to vectorize loop with extent %s", b.s ? b.s : "?");
			buf_free(&b);
		}
		lv->failed = 1;
		return s;
	}
	VZ z = {.a = m->a, .var = s->loop.var, .lanes = (int)ext};
	z.ramp = mk_ramp(&z, ex_int(m->a, s->loop.var->dt, 0), ex_int(m->a, s->loop.var->dt, 1), (int)ext);
	Stmt *r = visit(&z, body);
	pmap_free(&z.lets);
	return r;
}

static int truthy(const char *v)
{
	return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "True"));
}

static int find_vectorized(Walker *w, Stmt *s)
{
	if (s->kind == ST_FOR && s->loop.kind == FOR_VECTORIZED)
		*(int *)w->data = 1;
	return !*(int *)w->data;
}

/* Whether f has a vectorized loop: a statement-only walk, much cheaper than
 * the rewrite, which visits buffers too. */
static int has_vectorized(Func *f)
{
	int found = 0;
	Walker w = {.stmt = find_vectorized, .expr = pu_skip_expr, .data = &found};
	walk_stmt(&w, f->body);
	return found;
}

int pass_vectorize_loop(Module **m, PassCtx *cx)
{
	LV lv = {.disable = truthy(pass_config(cx, "tirx.disable_vectorize"))};
	int lo, hi;
	pass_range(cx, *m, &lo, &hi);
	for (int i = lo; i < hi; i++) {
		Func *f = (*m)->funcs[i];
		if (!has_vectorized(f))
			continue;
		Mutator mu = {.a = (*m)->arena, .expr = pu_keep_expr, .stmt = lv_stmt, .data = &lv};
		Stmt *body = mut_stmt(&mu, f->body);
		mut_done(&mu);
		if (lv.failed)
			return 1;
		pu_set_body(*m, i, body);
	}
	return 0;
}
