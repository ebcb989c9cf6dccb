/* flatten_buffer.c: FlattenBuffer, N-d buffer accesses to 1-d.
 *
 * IR expected: any verified module; buffers may be multi-dimensional,
 *              strided, or carry an elem_offset.
 * IR left:     every load and store indexes a 1-d buffer with no strides,
 *              no elem_offset (but a zero of the N-d buffer's index type
 *              where that differs from the flat shape's, as TVM keeps it)
 *              and no layout.  Buffers defined in the body
 *              (AllocBuffer, DeclBuffer) are replaced by their flat form
 *              (kept as they are when already flat).  Buffer parameters
 *              keep their signature; each one the body uses is reached
 *              through a flat alias declared at the top of the body,
 *              `A_1 = T.decl_buffer((N,), data=A.data)`, as TVM does even
 *              for 1-d parameters.  A buffer argument of a packed call
 *              becomes the tvm_stack_make_array TVM's parser builds for
 *              it, with the declared shape, strides and elem_offset and
 *              the flat view's data: the callee gets the N-d tensor.
 *              `T.attr(A, "storage_alignment", n)` keeps naming a buffer
 *              parameter, or a buffer nothing defines before it, as it is
 *              (TVM leaves attr nodes alone) and is no use of it.
 * Runs after:  nothing; run it before the passes that expect 1-d accesses
 *              (ThreadSync, VectorizeLoop, the split, codegen).
 *
 * The flat index is TVM's Buffer::ElemOffset: Horner's rule over the shape
 * for compact buffers, the dot product with the strides otherwise, plus the
 * elem_offset.  TVM then simplifies the result (its arith Simplify, then the
 * iter-map simplifier); we only distribute constant factors over sums
 * (`(i*4 + j)*16 + k` becomes `i*64 + j*16 + k`) and merge a Horner step
 * `x // k * k + x % k` into x (TVM's MergeMulMod, the whole step only),
 * which gives the same text for the affine indices that multi-dimensional
 * accesses normally have.  Of TVM's iter-map step we model one class
 * (iter_order): a last index v, v * c, v + k or v * c + k (v an enclosing
 * For var) over a Horner prefix of free vars, which TVM writes with the
 * loop term first (`i + (m - 1) * n`), and a second (iter_first): a first
 * index that is an enclosing For var over zeros, `v * S` with S the
 * canonical product of the later extents.  Every other index keeps the form
 * above, which differs from TVM's text (not its value) where TVM's
 * simplifiers reorder or refactor: a symbolic base before loop terms of
 * more than one loop, a constant first index (`n * 2`), a leading index
 * that is an extent (`(m + 1) * n`), accesses under an if.
 *
 * A vector index of a buffer without strides (vector_index) gets TVM's
 * vector folds (broadcast/ramp sums become one ramp or broadcast, where
 * the scalar sum is exact; broadcast + shuffle is kept) and TVM's iter-map
 * step exactly: a loop-free index becomes `Broadcast(0, n) + index`, one
 * naming a loop var stays as folded.  Vector indices of strided buffers
 * keep the form fold_index builds.
 *
 * The flat shape goes through TVM's canonical simplifier in TVM; we fold
 * the forms flat shapes have (shape_simplify, including the push of a
 * widening int cast into `v + k`, push_cast) and leave others as built.
 *
 * Deviation from TVM: the storage_alignment attr of a buffer defined in the
 * body names its flat form; TVM keeps the N-d buffer, which then has no
 * definition (docs/compatibility.md). */
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

typedef struct Flat {
	Buffer *fold; /* the original geometry, expressions rewritten */
	Buffer *flat; /* the 1-d storage view */
} Flat;

typedef struct FB {
	Arena *a;
	Func *f;
	PtrMap info;   /* Buffer* (original) -> Flat* */
	PtrMap params; /* Buffer* -> non-NULL for buffer parameters */
	Vec used;      /* parameters the body reaches, in order of first use */
	PtrMap usedset;
	Mutator *m;
	/* The iterator context of the index normalization (iter_order): */
	PtrMap bound;  /* Var* -> non-NULL: defined in the body (For, Bind, ...) */
	PtrMap iters;  /* Var* -> non-NULL: For and thread vars seen so far */
	PtrMap loops;  /* Var* -> non-NULL: enclosing For vars with min 0, no step */
	int tangled;   /* an iterator's range has named an earlier iterator */
	int guarded;   /* depth of enclosing ifs and if_then_else branches */
} FB;

static Expr *arith(FB *fb, int kind, Expr *x, Expr *y)
{
	return pu_arith(fb->a, "FlattenBuffer", kind, x, y);
}

static int expr_eq(const Expr *x, const Expr *y)
{
	int64_t a, b;
	if (x == y)
		return 1;
	if (ex_is_const_int(x, &a) && ex_is_const_int(y, &b))
		return a == b && dt_eq(x->dt, y->dt);
	return x && y && x->kind == EX_VAR && y->kind == EX_VAR && x->var == y->var;
}

/* Structural equality of the arithmetic the shape rules look at. */
static int same_expr(const Expr *x, const Expr *y)
{
	if (expr_eq(x, y))
		return 1;
	if (!x || !y || x->kind != y->kind || !dt_eq(x->dt, y->dt))
		return 0;
	switch (x->kind) {
	case EX_ADD: case EX_SUB: case EX_MUL: case EX_MIN: case EX_MAX:
	case EX_DIV: case EX_MOD: case EX_FLOORDIV: case EX_FLOORMOD:
		return same_expr(x->bin.a, y->bin.a) && same_expr(x->bin.b, y->bin.b);
	case EX_CAST:
		return same_expr(x->bin.a, y->bin.a);
	default:
		return 0;
	}
}

/* Appends the factors of a product tree, left to right. */
static void factors(Expr *e, Vec *out)
{
	if (e->kind == EX_MUL && e->dt.lanes == 1) {
		factors(e->bin.a, out);
		factors(e->bin.b, out);
	} else {
		vec_push(out, e);
	}
}

/* Appends the terms of a sum tree, left to right. */
static void terms(Expr *e, Vec *out)
{
	if (e->kind == EX_ADD && e->dt.lanes == 1) {
		terms(e->bin.a, out);
		terms(e->bin.b, out);
	} else {
		vec_push(out, e);
	}
}

/* xs[0] op xs[1] op ... with the symbolic operands first, in order, and
 * the constants folded into one, last; frees xs. */
static Expr *constants_last(FB *fb, int op, Vec *xs)
{
	Expr *sym = NULL, *k = NULL;
	for (int i = 0; i < xs->n; i++) {
		Expr *t = xs->v[i];
		if (ex_is_const_int(t, NULL))
			k = k ? arith(fb, op, k, t) : t;
		else
			sym = sym ? arith(fb, op, sym, t) : t;
	}
	vec_free(xs);
	if (!sym)
		return k;
	return k ? arith(fb, op, sym, k) : sym;
}

/* TVM's canonical simplifier pushes a widening cast between signed int
 * types into a sum: `T.Cast("int64", n + 1)` is `T.Cast("int64", n) +
 * T.int64(1)`.  The forms modelled (checked against TVM 0.27): v + k,
 * k + v, v - k and v * c + k, v a variable, c and k constants (a negative
 * k is written as a subtraction).  Other casts are kept.  NULL when e is
 * no such cast. */
static Expr *push_cast(FB *fb, Expr *e)
{
	if (e->kind != EX_CAST || e->dt.code != DT_INT || e->dt.lanes != 1)
		return NULL;
	Expr *x = e->bin.a;
	if (x->dt.code != DT_INT || x->dt.lanes != 1 || x->dt.bits > e->dt.bits ||
	    dt_eq(x->dt, e->dt))
		return NULL;
	int64_t k, c = 1;
	Expr *v;
	if (x->kind == EX_ADD && ex_is_const_int(x->bin.b, &k))
		v = x->bin.a;
	else if (x->kind == EX_ADD && ex_is_const_int(x->bin.a, &k))
		v = x->bin.b;
	else if (x->kind == EX_SUB && ex_is_const_int(x->bin.b, &k) && k > INT32_MIN)
		v = x->bin.a, k = -k;
	else
		return NULL;
	if (v->kind == EX_MUL && ex_is_const_int(v->bin.b, &c) && v->bin.a->kind == EX_VAR)
		v = v->bin.a;
	else if (v->kind != EX_VAR)
		return NULL;
	if (k == 0)
		return NULL;
	Expr *t = ex_cast(fb->a, e->dt, v);
	if (c != 1)
		t = ex_bin(fb->a, EX_MUL, t, ex_int(fb->a, e->dt, c));
	return k > 0 ? ex_bin(fb->a, EX_ADD, t, ex_int(fb->a, e->dt, k))
	             : ex_bin(fb->a, EX_SUB, t, ex_int(fb->a, e->dt, -k));
}

/* The flat shape as TVM's canonical simplifier writes the forms that flat
 * shapes have: a product of symbols is one left-to-right product with the
 * constant factors folded last (`N * M * (M * 2)` is `N * M * M * 2`); a
 * constant factor distributes over a sum; the constants of a sum fold
 * into one, written last (`128 + x + 1` is `x + 129`); and
 * max(max(a, b), b) is max(a, b).  Other forms are left as they are (the
 * value is the same; only the text may differ from TVM's). */
static Expr *shape_simplify(FB *fb, Expr *e)
{
	int64_t c;
	if (!e || e->dt.lanes != 1 || !dt_is_int(e->dt))
		return e;
	switch (e->kind) {
	case EX_ADD: {
		Expr *x = arith(fb, EX_ADD, shape_simplify(fb, e->bin.a), shape_simplify(fb, e->bin.b));
		if (x->kind != EX_ADD)
			return x;
		Vec ts = {0};
		terms(x, &ts);
		return constants_last(fb, EX_ADD, &ts);
	}
	case EX_MUL: {
		Expr *x = shape_simplify(fb, e->bin.a), *y = shape_simplify(fb, e->bin.b);
		if (ex_is_const_int(x, NULL)) {
			Expr *t = x;
			x = y, y = t;
		}
		if (ex_is_const_int(y, &c)) {
			if (x->kind == EX_ADD)
				return shape_simplify(fb, arith(fb, EX_ADD, arith(fb, EX_MUL, x->bin.a, y),
				                                arith(fb, EX_MUL, x->bin.b, y)));
			if (x->kind == EX_MUL && ex_is_const_int(x->bin.b, NULL))
				return arith(fb, EX_MUL, x->bin.a, arith(fb, EX_MUL, x->bin.b, y));
			return arith(fb, EX_MUL, x, y);
		}
		Vec fs = {0};
		factors(x, &fs);
		factors(y, &fs);
		return constants_last(fb, EX_MUL, &fs);
	}
	case EX_MAX: {
		Expr *x = shape_simplify(fb, e->bin.a), *y = shape_simplify(fb, e->bin.b);
		if (x->kind == EX_MAX && (same_expr(x->bin.b, y) || same_expr(x->bin.a, y)))
			return x;
		if (y->kind == EX_MAX && (same_expr(y->bin.a, x) || same_expr(y->bin.b, x)))
			return y;
		return x == e->bin.a && y == e->bin.b ? e : arith(fb, EX_MAX, x, y);
	}
	case EX_CAST: {
		Expr *x = push_cast(fb, e);
		return x ? x : e;
	}
	default:
		return e;
	}
}

/* Flattened storage of b's (rewritten) geometry: [prod(shape)] compact, or
 * shape[0] * strides[0] when strided. */
static Buffer *flat_of(FB *fb, Buffer *fold)
{
	Expr *size;
	if (fold->ndim == 0) {
		size = ex_int(fb->a, DT_I32, 1);
	} else if (fold->nstrides > 0) {
		size = arith(fb, EX_MUL, fold->strides[0], fold->shape[0]);
	} else {
		size = ex_int(fb->a, DT_I32, 1); /* as TVM: promotes to the shape's type */
		for (int i = 0; i < fold->ndim; i++)
			size = arith(fb, EX_MUL, size, fold->shape[i]);
	}
	size = shape_simplify(fb, size);
	Buffer *nb = ar_alloc(fb->a, sizeof *nb);
	*nb = *fold;
	nb->shape = ar_dup(fb->a, &size, sizeof size);
	nb->ndim = 1;
	nb->strides = NULL;
	nb->nstrides = 0;
	/* TVM's flat buffer keeps the N-d buffer's elem_offset: a zero of the
	 * N-d buffer's index type, which stays explicit beside a flat shape of
	 * another type (an int32 zero of an (N, k) buffer, N int32 and k
	 * int64, beside the int64 flat shape). */
	nb->elem_offset = NULL;
	int64_t z;
	if (!fold->elem_offset || (ex_is_const_int(fold->elem_offset, &z) && z == 0)) {
		DType zt = fold->elem_offset ? fold->elem_offset->dt : buf_index_type(fold);
		if (!dt_eq(zt, size->dt))
			nb->elem_offset = ex_int(fb->a, zt, 0);
	}
	nb->layout = LAYOUT_NONE;
	return nb;
}

static int same_type(const Buffer *x, const Buffer *y)
{
	if (!dt_eq(x->dt, y->dt) || x->ndim != y->ndim || x->nstrides != y->nstrides ||
	    x->scope != y->scope || x->align != y->align || x->offset_factor != y->offset_factor ||
	    x->layout != y->layout)
		return 0;
	for (int i = 0; i < x->ndim; i++)
		if (!expr_eq(x->shape[i], y->shape[i]))
			return 0;
	for (int i = 0; i < x->nstrides; i++)
		if (!expr_eq(x->strides[i], y->strides[i]))
			return 0;
	int64_t v;
	int xz = !x->elem_offset || (ex_is_const_int(x->elem_offset, &v) && v == 0);
	int yz = !y->elem_offset || (ex_is_const_int(y->elem_offset, &v) && v == 0);
	return xz && yz;
}

/* Derives {fold, flat} at b's definition (or first sight). */
static Flat *define(FB *fb, Buffer *b)
{
	Flat *fl = pmap_get(&fb->info, b);
	if (fl)
		return fl;
	fl = ar_alloc(fb->a, sizeof *fl);
	pmap_put(&fb->info, b, fl); /* before recursing: shapes never name b */
	Buffer *fold = ar_alloc(fb->a, sizeof *fold);
	*fold = *b;
	if (b->ndim) {
		fold->shape = ar_alloc(fb->a, (size_t)b->ndim * sizeof *fold->shape);
		for (int i = 0; i < b->ndim; i++)
			fold->shape[i] = mut_expr(fb->m, b->shape[i]);
	}
	if (b->nstrides) {
		fold->strides = ar_alloc(fb->a, (size_t)b->nstrides * sizeof *fold->strides);
		for (int i = 0; i < b->nstrides; i++)
			fold->strides[i] = mut_expr(fb->m, b->strides[i]);
	}
	fold->elem_offset = mut_expr(fb->m, b->elem_offset);
	Buffer *flat = flat_of(fb, fold);
	int is_param = pmap_get(&fb->params, b) != NULL;
	fl->fold = fold;
	fl->flat = !is_param && same_type(flat, b) ? b : flat;
	return fl;
}

static void mark_used(FB *fb, Buffer *b)
{
	if (pmap_get(&fb->params, b) && !pmap_get(&fb->usedset, b)) {
		pmap_put(&fb->usedset, b, b);
		vec_push(&fb->used, b);
	}
}

/* Distributes constant factors over sums so that nested Horner forms read
 * as sums of terms. */
static Expr *distribute(FB *fb, Expr *e)
{
	int64_t c, c2;
	if (e->dt.lanes != 1)
		return e;
	if (e->kind == EX_ADD)
		return arith(fb, EX_ADD, distribute(fb, e->bin.a), distribute(fb, e->bin.b));
	if (e->kind == EX_MUL && ex_is_const_int(e->bin.b, &c)) {
		Expr *x = distribute(fb, e->bin.a);
		if (x->kind == EX_ADD)
			return arith(fb, EX_ADD, distribute(fb, arith(fb, EX_MUL, x->bin.a, e->bin.b)),
			             distribute(fb, arith(fb, EX_MUL, x->bin.b, e->bin.b)));
		if (x->kind == EX_MUL && ex_is_const_int(x->bin.b, &c2))
			return arith(fb, EX_MUL, x->bin.a, ex_int(fb->a, e->bin.b->dt, c * c2));
		return x == e->bin.a ? e : arith(fb, EX_MUL, x, e->bin.b);
	}
	return e;
}

/* Whether off * extent + idx is `x // k * k + x % k` (floor division, the
 * same x and k on both sides, k the extent): TVM's ElemOffset writes that
 * step as x, the index of a fused loop split back into two axes
 * (`A[v // m, v % m]` on an (n, m) buffer reads A[v]).  Only this whole
 * step is recognised; TVM's MergeMulMod also finds the pattern inside
 * longer sums. */
static int merges(const Expr *off, const Expr *extent, const Expr *idx)
{
	return off->kind == EX_FLOORDIV && idx->kind == EX_FLOORMOD && off->dt.lanes == 1 &&
	       same_expr(off->bin.b, extent) && same_expr(idx->bin.b, extent) &&
	       same_expr(off->bin.a, idx->bin.a) && dt_eq(off->dt, idx->dt);
}

/* The 1-d index of idx (already rewritten) into fold's geometry, built as
 * TVM's ElemOffset builds it: from an int32 zero, with TVM's operators, so
 * that the index takes the widest type among the indices and the shape (or
 * strides): an int64-shaped buffer gets int64 indices. */
static Expr *fold_index(FB *fb, Buffer *fold, Expr **idx, int n)
{
	Expr *off = ex_int(fb->a, DT_I32, 0);
	for (int i = 0; i < n; i++) {
		if (fold->nstrides > 0)
			off = i < fold->nstrides
			              ? arith(fb, EX_ADD, off, arith(fb, EX_MUL, idx[i], fold->strides[i]))
			              : off;
		else if (i > 0 && merges(off, fold->shape[i], idx[i]))
			off = off->bin.a;
		else
			off = arith(fb, EX_ADD, arith(fb, EX_MUL, off, fold->shape[i]), idx[i]);
	}
	int64_t v;
	if (fold->elem_offset && !(ex_is_const_int(fold->elem_offset, &v) && v == 0))
		off = arith(fb, EX_ADD, off, fold->elem_offset);
	if (n > 1 || fold->nstrides > 0)
		off = distribute(fb, off);
	return off;
}

static int names_iter_hook(Walker *w, Expr *e)
{
	FB *fb = w->data;
	if (pmap_get(&fb->iters, e->var))
		fb->tangled = 1;
	return 0;
}

/* Whether e names an iterator seen so far. */
static int names_iter(FB *fb, Expr *e)
{
	if (!e || fb->tangled)
		return 0;
	Walker w = {.expr = names_iter_hook, .data = fb, .kinds = EXK(EX_VAR)};
	walk_expr(&w, e);
	return fb->tangled;
}

static Var *fb_def(Mutator *m, Var *v)
{
	FB *fb = m->data;
	pmap_put(&fb->bound, v, v);
	return v;
}

/* A variable the body does not define: a scalar parameter or a shape var
 * of the signature. */
static int free_var(FB *fb, const Expr *e)
{
	return e->kind == EX_VAR && e->dt.lanes == 1 && !pmap_get(&fb->bound, e->var);
}

static int pos_const(const Expr *e, int64_t min)
{
	int64_t v;
	return ex_is_const_int(e, &v) && v >= min;
}

/* Whether v is one of fold's extents. */
static int shape_var(Buffer *fold, const Expr *v)
{
	for (int i = 0; i < fold->ndim; i++)
		if (fold->shape[i] == v)
			return 1;
	return 0;
}

/* TVM's FlattenBuffer hands the index ElemOffset built to the iter-map
 * simplifier with the enclosing loops as iterators; when that succeeds the
 * index is rewritten as the iterator terms followed by the loop-invariant
 * rest.  We model one class exactly (checked against TVM 0.27), and leave
 * every other index as fold_index builds it:
 *   - the buffer is compact (no strides, no elem_offset), 2-d or more;
 *   - the last index is v, v * c (c >= 2) or either plus k (k >= 1), v an
 *     enclosing For var with min 0, no step, and an extent that is not 1,
 *     outside any if and if_then_else branch (TVM's iterator predicates),
 *     and no loop or thread range so far names an earlier iterator (TVM
 *     then simplifies nothing);
 *   - the first index is a free var (not defined in the body, not a shape
 *     extent after the first) or such a var plus or minus a constant; every
 *     later leading index is 0 or a free var that is no shape extent and
 *     differs from the other indices; the extents after the first are
 *     free vars: TVM's simplifier then leaves the Horner prefix P as we
 *     build it.
 * TVM writes that index `v * c + P` (`v * c + (P + k)` with the constant),
 * ours `P + v * c` before this step. */
static Expr *iter_order(FB *fb, Buffer *fold, Expr **idx, int n, Expr *off)
{
	if (n < 2 || fold->nstrides || fb->tangled || fb->guarded || off->kind != EX_ADD)
		return off;
	int64_t z;
	if (fold->elem_offset && !(ex_is_const_int(fold->elem_offset, &z) && z == 0))
		return off;
	for (int i = 0; i < n; i++)
		if (!dt_eq(idx[i]->dt, DT_I32) || !dt_eq(fold->shape[i]->dt, DT_I32))
			return off;
	for (int i = 1; i < n; i++)
		if (!free_var(fb, fold->shape[i]))
			return off;
	/* the last index: v [* c] [+ k] */
	Expr *t = idx[n - 1], *k = NULL, *v, *c = NULL;
	if (t->kind == EX_ADD && pos_const(t->bin.b, 1))
		k = t->bin.b, t = t->bin.a;
	if (t->kind == EX_MUL && pos_const(t->bin.b, 2))
		c = t->bin.b, t = t->bin.a;
	v = t;
	if (v->kind != EX_VAR)
		return off;
	Expr *ext = pmap_get(&fb->loops, v->var);
	if (!ext || (ex_is_const_int(ext, &z) && z == 1))
		return off;
	/* the leading indices */
	Expr *a0 = idx[0];
	if ((a0->kind == EX_ADD || a0->kind == EX_SUB) && pos_const(a0->bin.b, 1))
		a0 = a0->bin.a;
	if (!free_var(fb, a0))
		return off;
	for (int i = 1; i < n; i++)
		if (fold->shape[i] == a0)
			return off;
	for (int i = 1; i < n - 1; i++) {
		if (ex_is_const_int(idx[i], &z) && z == 0)
			continue;
		if (!free_var(fb, idx[i]) || shape_var(fold, idx[i]) || idx[i]->var == a0->var)
			return off;
		for (int j = 1; j < i; j++)
			if (idx[j] == idx[i])
				return off;
	}
	/* off is P + t (fold_index: Horner, then distribute, which leaves a
	 * sum with symbolic extents alone) */
	Expr *p = off->bin.a;
	if (!same_expr(off->bin.b, idx[n - 1]))
		return off;
	Expr *term = c ? arith(fb, EX_MUL, v, c) : v;
	Expr *base = k ? arith(fb, EX_ADD, p, k) : p;
	return arith(fb, EX_ADD, term, base);
}

/* x + y for the scalar parts of a vector index, where TVM's simplifier
 * gives a known form: one side an int zero (the other is kept) or both
 * constants (folded).  NULL otherwise. */
static Expr *scalar_sum(FB *fb, Expr *x, Expr *y)
{
	int64_t v;
	int xc = ex_is_const_int(x, &v), xz = xc && v == 0;
	int yc = ex_is_const_int(y, &v), yz = yc && v == 0;
	if (!dt_eq(x->dt, y->dt) || !(xz || yz || (xc && yc)))
		return NULL;
	return arith(fb, EX_ADD, x, y);
}

/* TVM's arith Simplify of a vector index ElemOffset built (fold_index),
 * for the vector forms whose result we know exactly: broadcast + ramp and
 * ramp + broadcast become one ramp, broadcast + broadcast one broadcast and
 * ramp + ramp one ramp, where the scalar sums are exact (scalar_sum); the
 * index of a vector load inside is simplified the same way.  A broadcast
 * value gets the constant-factor distribution of scalar indices (n > 1
 * dimensions).  Other forms (a Shuffle, a product) are kept, as TVM's
 * simplifier keeps `Broadcast(0, n) + Shuffle(..)`. */
static Expr *vector_simplify(FB *fb, Expr *e, int dist)
{
	if (!e || e->dt.lanes == 1)
		return e;
	if (e->kind == EX_BROADCAST && dist) {
		Expr *v = distribute(fb, e->bcast.value);
		if (v == e->bcast.value)
			return e;
		Expr *r = ex_dup(fb->a, e);
		r->bcast.value = v;
		return r;
	}
	if (e->kind == EX_LOAD && e->load.nidx == 1 && e->load.idx[0]->dt.lanes > 1) {
		Expr *i = vector_simplify(fb, e->load.idx[0], 0);
		if (i == e->load.idx[0])
			return e;
		Expr *r = ex_dup(fb->a, e);
		r->load.idx = ar_dup(fb->a, &i, sizeof i);
		return r;
	}
	if (e->kind != EX_ADD)
		return e;
	Expr *x = vector_simplify(fb, e->bin.a, dist), *y = vector_simplify(fb, e->bin.b, dist);
	Expr *base = NULL, *stride = NULL;
	int kind = 0;
	if (x->kind == EX_BROADCAST && y->kind == EX_BROADCAST) {
		kind = EX_BROADCAST;
		base = scalar_sum(fb, x->bcast.value, y->bcast.value);
	} else if (x->kind == EX_BROADCAST && y->kind == EX_RAMP) {
		kind = EX_RAMP;
		base = scalar_sum(fb, x->bcast.value, y->ramp.base);
		stride = y->ramp.stride;
	} else if (x->kind == EX_RAMP && y->kind == EX_BROADCAST) {
		kind = EX_RAMP;
		base = scalar_sum(fb, x->ramp.base, y->bcast.value);
		stride = x->ramp.stride;
	} else if (x->kind == EX_RAMP && y->kind == EX_RAMP) {
		kind = EX_RAMP;
		base = scalar_sum(fb, x->ramp.base, y->ramp.base);
		stride = scalar_sum(fb, x->ramp.stride, y->ramp.stride);
	}
	if (kind && base && (kind == EX_BROADCAST || stride)) {
		Expr *r = ex_new(fb->a, kind, e->dt);
		if (kind == EX_BROADCAST) {
			r->bcast.value = base;
		} else {
			r->ramp.base = base;
			r->ramp.stride = stride;
		}
		return r;
	}
	return x == e->bin.a && y == e->bin.b ? e : arith(fb, EX_ADD, x, y);
}

typedef struct IterProbe {
	FB *fb;
	int named; /* the walked expression names an iterator seen so far */
} IterProbe;

static int uses_iter_hook(Walker *w, Expr *e)
{
	IterProbe *p = w->data;
	if (pmap_get(&p->fb->iters, e->var))
		p->named = 1;
	return 0;
}

/* TVM's iter-map step for a vector index: it fails on an index that names
 * an iterator (the index stays as simplified) and, on a loop-free one,
 * writes the index as its loop-free base after an int32 zero, which the
 * vector operand turns into `Broadcast(0, n) + base`.  With tangled
 * iterator ranges the step does nothing. */
static Expr *vector_index(FB *fb, Buffer *fold, Expr *off, int n)
{
	if (fold->nstrides)
		return off; /* products of strides: not modelled */
	off = vector_simplify(fb, off, n > 1);
	if (fb->tangled)
		return off;
	IterProbe pr = {fb, 0};
	Walker w = {.expr = uses_iter_hook, .data = &pr, .kinds = EXK(EX_VAR)};
	walk_expr(&w, off);
	if (pr.named)
		return off;
	DType st = off->dt;
	st.lanes = 1;
	Expr *zero = ex_new(fb->a, EX_BROADCAST, off->dt);
	zero->bcast.value = ex_int(fb->a, st, 0);
	return ex_bin(fb->a, EX_ADD, zero, off);
}

/* A second class of TVM's iter-map step (checked against TVM 0.27): the
 * first index an enclosing For var v (min 0, no step, extent not 1,
 * outside any if, untangled ranges) and every later index an int zero, on
 * a compact buffer without elem_offset: TVM writes `v * S`, S the product
 * of the later extents in the canonical form of flat shapes
 * (shape_simplify), where ours is the Horner product `v * s1 * s2`. */
static Expr *iter_first(FB *fb, Buffer *fold, Expr **idx, int n, Expr *off)
{
	int64_t z;
	if (n < 2 || fold->nstrides || fb->tangled || fb->guarded)
		return off;
	if (fold->elem_offset && !(ex_is_const_int(fold->elem_offset, &z) && z == 0))
		return off;
	Expr *v = idx[0];
	if (v->kind != EX_VAR || v->dt.lanes != 1)
		return off;
	Expr *ext = pmap_get(&fb->loops, v->var);
	if (!ext || (ex_is_const_int(ext, &z) && z == 1))
		return off;
	for (int i = 1; i < n; i++)
		if (!(ex_is_const_int(idx[i], &z) && z == 0))
			return off;
	if (!dt_eq(off->dt, v->dt))
		return off;
	/* each extent as the Horner step saw it: widened to the index type */
	Expr *prod = NULL;
	for (int i = 1; i < n; i++) {
		Expr *s = fold->shape[i];
		if (s->dt.code != DT_INT || s->dt.lanes != 1 || s->dt.bits > v->dt.bits)
			return off;
		if (!dt_eq(s->dt, v->dt))
			s = ex_cast(fb->a, v->dt, s);
		prod = prod ? arith(fb, EX_MUL, prod, s) : s;
	}
	return arith(fb, EX_MUL, v, shape_simplify(fb, prod));
}

static Expr **rewrite_idx(FB *fb, Buffer *orig, Expr **idx, int n, int *changed)
{
	Flat *fl = define(fb, orig);
	mark_used(fb, orig);
	Expr *small[8];
	Expr **ni = n <= 8 ? small : xmalloc((size_t)n * sizeof *ni);
	for (int i = 0; i < n; i++) {
		ni[i] = mut_expr(fb->m, idx[i]);
		*changed |= ni[i] != idx[i];
	}
	Expr *off = fold_index(fb, fl->fold, ni, n);
	if (off->dt.lanes > 1)
		off = vector_index(fb, fl->fold, off, n);
	else
		off = iter_first(fb, fl->fold, ni, n, iter_order(fb, fl->fold, ni, n, off));
	if (ni != small)
		free(ni);
	*changed |= n != 1 || fl->flat != orig || off != idx[0];
	/* an unchanged access keeps its node: nothing to allocate */
	return *changed ? ar_dup(fb->a, &off, sizeof off) : idx;
}

/* The calls whose buffer arguments reach the callee as DLTensors (the op
 * table is static: the pointers are looked up once). */
static int is_packed_call(const Op *op)
{
	static const char *const names[] = {
		"tirx.tvm_call_packed", "tirx.tvm_call_cpacked", "tirx.tvm_call_trace_packed",
		"tirx.tvm_call_packed_lowered", "tirx.tvm_call_cpacked_lowered",
		"tirx.tvm_call_trace_packed_lowered",
	};
	enum { N = sizeof names / sizeof *names };
	static const Op *ops[N];
	if (!ops[0])
		for (int i = 0; i < N; i++)
			ops[i] = op_get(names[i]);
	for (int i = 0; op && i < N; i++)
		if (op == ops[i])
			return 1;
	return 0;
}

/* A buffer passed to a packed call keeps its N-d geometry: the argument
 * becomes the DLTensor TVM's parser builds for it (pu_pack_buffer), with
 * the shape, strides and elem_offset of the buffer as declared and the data
 * pointer of its flat view, as TVM's FlattenBuffer leaves it. */
static Expr *packed_call(FB *fb, Expr *e)
{
	int n = e->call.nargs, changed = 0;
	Expr **args = xmalloc((size_t)(n ? n : 1) * sizeof *args);
	for (int i = 0; i < n; i++) {
		Expr *x = e->call.args[i];
		if (x->kind == EX_BUFREF) {
			mark_used(fb, x->buf);
			Flat *fl = define(fb, x->buf);
			args[i] = pu_pack_buffer(fb->a, fl->fold, fl->flat);
		} else {
			args[i] = mut_expr(fb->m, x);
		}
		changed |= args[i] != x;
	}
	Expr *r = e;
	if (changed) {
		r = ex_dup(fb->a, e);
		r->call.args = ar_dup(fb->a, args, (size_t)n * sizeof *args);
	}
	free(args);
	return r;
}

static Expr *fb_expr(Mutator *m, Expr *e)
{
	FB *fb = m->data;
	if (e->kind == EX_CALL && e->call.op == op_get("tirx.if_then_else")) {
		fb->guarded++;
		Expr *r = mut_expr_children(m, e);
		fb->guarded--;
		return r;
	}
	if (e->kind == EX_LOAD) {
		int changed = 0;
		Expr **idx = rewrite_idx(fb, e->load.buf, e->load.idx, e->load.nidx, &changed);
		Expr *pred = mut_expr(m, e->load.pred);
		if (!changed && pred == e->load.pred)
			return e;
		Expr *n = ex_new(fb->a, EX_LOAD, e->dt);
		n->load.buf = define(fb, e->load.buf)->flat;
		n->load.idx = idx;
		n->load.nidx = 1;
		n->load.pred = pred;
		return n;
	}
	if (e->kind == EX_CALL && is_packed_call(e->call.op))
		return packed_call(fb, e);
	if (e->kind == EX_BUFDATA || e->kind == EX_BUFREF)
		mark_used(fb, e->buf);
	return NULL;
}

static Stmt *fb_stmt(Mutator *m, Stmt *s)
{
	FB *fb = m->data;
	if (s->kind == ST_FOR) {
		if (names_iter(fb, s->loop.min) || names_iter(fb, s->loop.extent))
			fb->tangled = 1;
		pmap_put(&fb->iters, s->loop.var, s->loop.var);
		int64_t lo;
		int simple = !s->loop.step && ex_is_const_int(s->loop.min, &lo) && lo == 0;
		if (simple)
			pmap_put(&fb->loops, s->loop.var, s->loop.extent);
		Stmt *r = mut_stmt_children(m, s);
		if (simple)
			pmap_put(&fb->loops, s->loop.var, NULL);
		return r;
	}
	if (s->kind == ST_IF) {
		fb->guarded++;
		Stmt *r = mut_stmt_children(m, s);
		fb->guarded--;
		return r;
	}
	if (s->kind == ST_ATTR && s->attr.node && s->attr.node->kind == OB_ITERVAR) {
		if (names_iter(fb, s->attr.value))
			fb->tangled = 1;
		pmap_put(&fb->iters, s->attr.node->iv.var, s->attr.node->iv.var);
		return NULL;
	}
	if (s->kind == ST_STORE) {
		int changed = 0;
		Expr **idx = rewrite_idx(fb, s->store.buf, s->store.idx, s->store.nidx, &changed);
		Expr *v = mut_expr(m, s->store.value), *p = mut_expr(m, s->store.pred);
		if (!changed && v == s->store.value && p == s->store.pred)
			return s;
		Stmt *n = st_new(fb->a, ST_STORE, s->loc);
		n->store.buf = define(fb, s->store.buf)->flat;
		n->store.idx = idx;
		n->store.nidx = 1;
		n->store.value = v;
		n->store.pred = p;
		return n;
	}
	if (s->kind == ST_DECL) {
		/* A view over a parameter's data keeps pointing at the parameter. */
		Expr *d = s->decl.data;
		int extern_src = d && d->kind == EX_BUFDATA && pmap_get(&fb->params, d->buf);
		Expr *nd = extern_src ? d : mut_expr(m, d);
		Buffer *nb = define(fb, s->decl.buf)->flat;
		if (nd == d && nb == s->decl.buf)
			return s;
		Stmt *n = st_new(fb->a, ST_DECL, s->loc);
		n->decl.buf = nb;
		n->decl.data = nd;
		return n;
	}
	if (s->kind == ST_ATTR && s->attr.node && s->attr.node->kind == OB_BUFFER &&
	    (pmap_get(&fb->params, s->attr.node->buf) || !pmap_get(&fb->info, s->attr.node->buf))) {
		/* `T.attr(A, "storage_alignment", n)` on a parameter keeps naming
		 * the parameter, as in TVM (its attr node is not rewritten); nor
		 * does it count as a use that needs the flat alias.  So does one
		 * on a buffer nothing defined before it (the detached
		 * `A = T.Buffer(...)` form): there is no definition to follow. */
		Expr *v = mut_expr(m, s->attr.value);
		Stmt *body = mut_stmt(m, s->attr.body);
		if (v == s->attr.value && body == s->attr.body)
			return s;
		Stmt *n = st_dup(fb->a, s);
		n->attr.value = v;
		n->attr.body = body;
		return n;
	}
	if (s->kind == ST_ALLOC) {
		Buffer *nb = define(fb, s->alloc.buf)->flat;
		if (nb == s->alloc.buf)
			return s;
		Stmt *n = st_new(fb->a, ST_ALLOC, s->loc);
		n->alloc = s->alloc;
		n->alloc.buf = nb;
		return n;
	}
	return NULL;
}

/* Every other occurrence of a buffer follows its flat form. */
static Buffer *fb_buffer(Mutator *m, Buffer *b)
{
	FB *fb = m->data;
	mark_used(fb, b);
	return define(fb, b)->flat;
}

/* Returns f's flattened body. */
static Stmt *flatten_func(Func *f, Arena *a)
{
	FB fb = {.a = a, .f = f};
	Mutator m = {.a = a, .expr = fb_expr, .stmt = fb_stmt, .buffer = fb_buffer, .def = fb_def,
	             .data = &fb};
	fb.m = &m;
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].buf)
			pmap_put(&fb.params, f->params[i].buf, f->params[i].buf);
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].buf)
			define(&fb, f->params[i].buf);
	Stmt *body = mut_stmt(&m, f->body);
	/* Aliases of the used parameters, in parameter order. */
	int k = 0;
	Stmt **items = xmalloc((size_t)(f->nparams + 1) * sizeof *items);
	for (int i = 0; i < f->nparams; i++) {
		Buffer *b = f->params[i].buf;
		if (!b || !pmap_get(&fb.usedset, b))
			continue;
		Stmt *d = st_new(a, ST_DECL, f->loc);
		d->decl.buf = define(&fb, b)->flat;
		d->decl.data = ex_new(a, EX_BUFDATA, DT_HANDLE64);
		d->decl.data->buf = b;
		items[k++] = d;
	}
	if (k) {
		items[k++] = body;
		body = st_seq(a, items, k);
	}
	free(items);
	mut_done(&m);
	pmap_free(&fb.info);
	pmap_free(&fb.params);
	pmap_free(&fb.usedset);
	pmap_free(&fb.bound);
	pmap_free(&fb.iters);
	pmap_free(&fb.loops);
	vec_free(&fb.used);
	return body;
}

int pass_flatten_buffer(Module **m, PassCtx *cx)
{
	int lo, hi;
	pass_range(cx, *m, &lo, &hi);
	for (int i = lo; i < hi; i++)
		pu_set_body(*m, i, flatten_func((*m)->funcs[i], (*m)->arena));
	return 0;
}
