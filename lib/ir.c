/* ir.c: raw IR constructors and small accessors.  Nothing here folds or
 * type-checks: that is arith.c's job (the parser's operator semantics) and
 * verify.c's (well-formedness). */
#include <stdlib.h>
#include <string.h>
#include "tir.h"

static uint32_t next_id = 1;

int ty_eq(TType a, TType b)
{
	if (a.kind != b.kind)
		return 0;
	if (a.kind == TY_PRIM)
		return dt_eq(a.dt, b.dt);
	if (a.kind == TY_PTR)
		return dt_eq(a.dt, b.dt) && a.scope == b.scope;
	return 1;
}

TType ty_prim(DType t)
{
	return (TType){TY_PRIM, t, NULL};
}

TType ty_ptr(DType elem, Sym scope)
{
	return (TType){TY_PTR, elem, scope && *scope ? scope : sym("global")};
}

TType ty_void(void)
{
	return (TType){TY_VOID, DT_VOID, NULL};
}

DType ty_dtype(TType t)
{
	switch (t.kind) {
	case TY_PRIM:
		return t.dt;
	case TY_VOID:
		return DT_VOID;
	default:
		return DT_HANDLE64;
	}
}

Module *mod_new(void)
{
	Arena *a = ar_new();
	Module *m = ar_alloc(a, sizeof *m);
	m->arena = a;
	m->name = sym("Module");
	m->is_module = 1;
	return m;
}

void mod_free(Module *m)
{
	if (!m)
		return;
	free(m->funcs);
	pmap_free(&m->facts);
	ar_free(m->arena);
}

Func *mod_find(const Module *m, Sym name)
{
	for (int i = 0; i < m->nfuncs; i++)
		if (m->funcs[i]->name == name)
			return m->funcs[i];
	return NULL;
}

void mod_add(Module *m, Func *f)
{
	/* funcs grows by doubling: capacity is the next power of two >= n */
	int n = m->nfuncs;
	if ((n & (n - 1)) == 0)
		m->funcs = xrealloc(m->funcs, (size_t)(n ? 2 * n : 4) * sizeof *m->funcs);
	m->funcs[m->nfuncs++] = f;
}

Var *var_new(Arena *a, Sym name, TType ty)
{
	Var *v = ar_alloc(a, sizeof *v);
	v->name = name ? name : sym("v");
	v->ty = ty;
	v->dt = ty_dtype(ty);
	v->id = next_id++;
	return v;
}

Buffer *buf_new(Arena *a, Sym name, DType dt, Expr **shape, int ndim)
{
	Buffer *b = ar_alloc(a, sizeof *b);
	b->name = name ? name : sym("buffer");
	b->dt = dt;
	b->shape = shape;
	b->ndim = ndim;
	b->scope = sym("global");
	b->align = 64;
	b->offset_factor = 1;
	b->layout = LAYOUT_NONE;
	b->id = next_id++;
	return b;
}

TType buf_data_type(const Buffer *b)
{
	return ty_ptr(b->dt, b->scope);
}

DType buf_index_type(const Buffer *b)
{
	return b->ndim && b->shape[0] ? b->shape[0]->dt : DT_I32;
}

Expr *buf_elem_offset(const Buffer *b)
{
	Expr *e = b->elem_offset;
	if (e && e->kind == EX_INT && e->i == 0 && dt_eq(e->dt, buf_index_type(b)))
		return NULL;
	return e;
}

/* The header and the union member the kind uses: a binary node takes 24
 * bytes instead of the 64 of the largest kind (calls, with their attrs). */
#define EX_PART(m) (offsetof(Expr, m) + sizeof(((Expr *)0)->m))
static size_t ex_bytes(int kind)
{
	switch (kind) {
	case EX_INT: return EX_PART(i);
	case EX_FLOAT: return EX_PART(f);
	case EX_STR: return EX_PART(s);
	case EX_VAR: return EX_PART(var);
	case EX_BUFDATA: case EX_BUFREF: return EX_PART(buf);
	case EX_SELECT: return EX_PART(sel);
	case EX_RAMP: return EX_PART(ramp);
	case EX_BROADCAST: return EX_PART(bcast);
	case EX_SHUFFLE: return EX_PART(shuf);
	case EX_LET: return EX_PART(let);
	case EX_LOAD: return EX_PART(load);
	case EX_CALL: return sizeof(Expr);
	default: return kind >= EX_ADD && kind <= EX_CAST ? EX_PART(bin) : sizeof(Expr);
	}
}

Expr *ex_new(Arena *a, int kind, DType dt)
{
	Expr *e = ar_alloc(a, ex_bytes(kind));
	e->kind = (uint8_t)kind;
	e->dt = dt;
	return e;
}

Expr *ex_dup(Arena *a, const Expr *e)
{
	return ar_dup(a, e, ex_bytes(e->kind));
}

/* Constants are shared within an arena: the IR is never changed in place.
 * Small int32 values have a slot each; other ints and floats go through a
 * direct-mapped cache, so repeats of a recent constant cost nothing. */
enum { MEMO_MIN = -64, MEMO_SMALL = 1088, MEMO_CACHE = AR_MEMO - MEMO_SMALL };

static void **const_slot(Arena *a, int kind, DType dt, uint64_t bits)
{
	void **memo = ar_memo(a);
	if (kind == EX_INT && dt.code == DT_INT && dt.bits == 32 && dt.lanes == 1 &&
	    (int64_t)bits >= MEMO_MIN && (int64_t)bits < MEMO_MIN + MEMO_SMALL)
		return &memo[(int64_t)bits - MEMO_MIN];
	uint64_t h = (bits ^ ((uint64_t)dt.code << 56) ^ ((uint64_t)dt.bits << 48) ^
	              ((uint64_t)dt.lanes << 32) ^ (uint64_t)kind) * 0x9E3779B97F4A7C15ull;
	return &memo[MEMO_SMALL + (h >> 40) % MEMO_CACHE];
}

static int same_const(const Expr *e, int kind, DType dt, uint64_t bits)
{
	uint64_t eb;
	if (!e || e->kind != kind || !dt_eq(e->dt, dt))
		return 0;
	if (kind == EX_INT)
		return (uint64_t)e->i == bits;
	memcpy(&eb, &e->f, sizeof eb);
	return eb == bits;
}

Expr *ex_int(Arena *a, DType dt, int64_t v)
{
	void **slot = const_slot(a, EX_INT, dt, (uint64_t)v);
	if (same_const(*slot, EX_INT, dt, (uint64_t)v))
		return *slot;
	Expr *e = ex_new(a, EX_INT, dt);
	e->i = v;
	*slot = e;
	return e;
}

Expr *ex_float(Arena *a, DType dt, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	void **slot = const_slot(a, EX_FLOAT, dt, bits);
	if (same_const(*slot, EX_FLOAT, dt, bits))
		return *slot;
	Expr *e = ex_new(a, EX_FLOAT, dt);
	e->f = v;
	*slot = e;
	return e;
}

Expr *ex_str(Arena *a, Sym s)
{
	Expr *e = ex_new(a, EX_STR, DT_HANDLE64);
	e->s = s;
	return e;
}

Expr *ex_var(Arena *a, Var *v)
{
	(void)a;
	v->ref.kind = EX_VAR;
	v->ref.dt = v->dt;
	v->ref.var = v;
	return &v->ref;
}

Expr *ex_bin(Arena *a, int kind, Expr *x, Expr *y)
{
	DType dt = x->dt;
	if ((kind >= EX_EQ && kind <= EX_GE) || kind == EX_AND || kind == EX_OR)
		dt = dt_make(DT_BOOL, 1, x->dt.lanes);
	Expr *e = ex_new(a, kind, dt);
	e->bin.a = x;
	e->bin.b = y;
	return e;
}

Expr *ex_cast(Arena *a, DType dt, Expr *x)
{
	Expr *e = ex_new(a, EX_CAST, dt);
	e->bin.a = x;
	return e;
}

Expr *ex_call(Arena *a, const Op *op, TType rty, Expr **args, int nargs)
{
	Expr *e = ex_new(a, EX_CALL, ty_dtype(rty));
	e->call.op = op;
	e->call.rty = rty;
	e->call.args = ar_dup(a, args, (size_t)nargs * sizeof *args);
	e->call.nargs = nargs;
	e->call.attrs = NULL;
	return e;
}

Expr *ex_call_ffi_kernel(Arena *a, TType rty, Expr **args, int nargs, Obj *launch_params)
{
	Expr *e = ex_call(a, op_get("tirx.call_ffi_kernel"), rty, args, nargs);
	e->call.attrs = obj_dict_set(a, NULL, "launch_params", launch_params);
	return e;
}

Obj *call_launch_params(const Expr *e)
{
	if (e->kind != EX_CALL)
		return NULL;
	Obj *l = e->call.attrs ? obj_dict_get(e->call.attrs, "launch_params") : NULL;
	return l && l->kind == OB_LIST ? l : NULL;
}

/* As for Exprs: the header and the union member the kind uses (an
 * Evaluate takes 24 bytes, a sequence 32, a loop the whole 80). */
#define ST_PART(m) (offsetof(Stmt, m) + sizeof(((Stmt *)0)->m))
static size_t st_bytes(int kind)
{
	switch (kind) {
	case ST_BIND: return ST_PART(bind);
	case ST_STORE: return ST_PART(store);
	case ST_ALLOC: return ST_PART(alloc);
	case ST_DECL: return ST_PART(decl);
	case ST_ATTR: return ST_PART(attr);
	case ST_WHILE: return ST_PART(wloop);
	case ST_IF: return ST_PART(ifs);
	case ST_SEQ: return ST_PART(seq);
	case ST_EVAL: return ST_PART(eval);
	case ST_ASSERT: return ST_PART(assert);
	case ST_RETURN: return ST_PART(ret);
	default: return sizeof(Stmt);
	}
}

Stmt *st_new(Arena *a, int kind, Loc loc)
{
	Stmt *s = ar_alloc(a, st_bytes(kind));
	s->kind = (uint8_t)kind;
	s->loc = loc;
	return s;
}

Stmt *st_dup(Arena *a, const Stmt *s)
{
	return ar_dup(a, s, st_bytes(s->kind));
}

Stmt *st_eval(Arena *a, Expr *e)
{
	Stmt *s = st_new(a, ST_EVAL, NOLOC);
	s->eval.value = e;
	return s;
}

Stmt *st_bind(Arena *a, Var *v, Expr *value)
{
	Stmt *s = st_new(a, ST_BIND, NOLOC);
	s->bind.var = v;
	s->bind.value = value;
	return s;
}

Stmt *st_seq(Arena *a, Stmt **items, int n)
{
	int total = 0;
	for (int i = 0; i < n; i++)
		total += items[i]->kind == ST_SEQ ? items[i]->seq.n : 1;
	if (total == 1 && n == 1 && items[0]->kind != ST_SEQ)
		return items[0];
	Stmt *s = st_new(a, ST_SEQ, n ? items[0]->loc : NOLOC);
	s->seq.items = ar_alloc(a, (size_t)(total ? total : 1) * sizeof *s->seq.items);
	for (int i = 0; i < n; i++) {
		if (items[i]->kind == ST_SEQ) {
			for (int j = 0; j < items[i]->seq.n; j++)
				s->seq.items[s->seq.n++] = items[i]->seq.items[j];
		} else {
			s->seq.items[s->seq.n++] = items[i];
		}
	}
	return s;
}

Obj *obj_new(Arena *a, int kind)
{
	Obj *o = ar_alloc(a, sizeof *o);
	o->kind = (uint8_t)kind;
	return o;
}

Obj *obj_str(Arena *a, Sym s)
{
	Obj *o = obj_new(a, OB_STR);
	o->s = s;
	return o;
}

Obj *obj_int(Arena *a, int64_t v)
{
	Obj *o = obj_new(a, OB_INT);
	o->i = v;
	return o;
}

Obj *obj_bool(Arena *a, int v)
{
	Obj *o = obj_new(a, OB_BOOL);
	o->i = v != 0;
	return o;
}

Obj *obj_dict_get(const Obj *d, const char *key)
{
	return d && d->kind == OB_DICT ? obj_dict_getk(d, sym(key)) : NULL;
}

Obj *obj_dict_getk(const Obj *d, Sym k)
{
	if (!d || d->kind != OB_DICT)
		return NULL;
	for (int i = 0; i < d->dict.n; i++)
		if (d->dict.keys[i]->kind == OB_STR && d->dict.keys[i]->s == k)
			return d->dict.vals[i];
	return NULL;
}

/* Copies d's entries except `key` into a new dict with room for one more. */
static Obj *dict_without(Arena *a, const Obj *d, Sym k)
{
	int n = d ? d->dict.n : 0;
	Obj *r = obj_new(a, OB_DICT);
	r->dict.keys = ar_alloc(a, (size_t)(n + 1) * sizeof(Obj *));
	r->dict.vals = ar_alloc(a, (size_t)(n + 1) * sizeof(Obj *));
	for (int i = 0; i < n; i++) {
		if (d->dict.keys[i]->kind == OB_STR && d->dict.keys[i]->s == k)
			continue;
		r->dict.keys[r->dict.n] = d->dict.keys[i];
		r->dict.vals[r->dict.n++] = d->dict.vals[i];
	}
	return r;
}

Obj *obj_dict_set(Arena *a, const Obj *d, const char *key, Obj *val)
{
	Sym k = sym(key);
	int n = d ? d->dict.n : 0;
	for (int i = 0; i < n; i++) {
		if (d->dict.keys[i]->kind == OB_STR && d->dict.keys[i]->s == k) {
			Obj *r = obj_new(a, OB_DICT);
			r->dict.n = n;
			r->dict.keys = ar_dup(a, d->dict.keys, (size_t)n * sizeof(Obj *));
			r->dict.vals = ar_dup(a, d->dict.vals, (size_t)n * sizeof(Obj *));
			r->dict.vals[i] = val;
			return r;
		}
	}
	Obj *r = dict_without(a, d, k);
	r->dict.keys[r->dict.n] = obj_str(a, k);
	r->dict.vals[r->dict.n++] = val;
	return r;
}

Obj *obj_dict_del(Arena *a, const Obj *d, const char *key)
{
	return dict_without(a, d, sym(key));
}

Sym func_global_symbol(const Func *f)
{
	Obj *g = obj_dict_get(f->attrs, "global_symbol");
	return g && g->kind == OB_STR ? g->s : NULL;
}

int func_is_private(const Func *f)
{
	return func_global_symbol(f) == NULL;
}
