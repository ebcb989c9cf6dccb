/* parse.c: TIRx script to IR, at the level of files, modules, functions
 * and statements (expressions are in parse_expr.c).
 *
 * Errors: every error goes through perr(), which reports it and unwinds to
 * the statement being parsed (setjmp in parse_stmts).  That statement is
 * skipped up to its line end, together with any indented suite after it,
 * and the names it would have defined are bound as "poison" so that their
 * uses do not cascade into more messages.  tir_parse returns NULL when any
 * error was reported.  (In the one-pass attempt, see parse_one_pass, perr
 * reports nothing and abandons the attempt instead.) */
#include <stdlib.h>
#include <string.h>
#include "parse.h"

/* ------------------------------------------------------------ errors */

void perr(P *p, Loc loc, const char *fmt, ...)
{
	if (p->bail)
		longjmp(*p->bail, 1);
	if (!p->quiet) {
		va_list ap;
		va_start(ap, fmt);
		diag_verror(loc, "error", fmt, ap);
		va_end(ap);
	}
	longjmp(*p->jb, 1);
}

void pquiet(P *p)
{
	if (p->bail)
		longjmp(*p->bail, 1);
	longjmp(*p->jb, 1);
}

void pwarn(P *p)
{
	if (p->bail)
		longjmp(*p->bail, 1);
}

/* ------------------------------------------------------------ scopes */

static unsigned hsym(Sym s)
{
	uintptr_t x = (uintptr_t)s;
	x ^= x >> 17;
	x *= 0x9E3779B97F4A7C15ull;
	return (unsigned)(x >> 32);
}

static HSlot *hslot(P *p, Sym s)
{
	unsigned m = (unsigned)p->htcap - 1, i = hsym(s) & m;
	while (p->ht[i].key && p->ht[i].key != s)
		i = (i + 1) & m;
	return &p->ht[i];
}

static void hgrow(P *p)
{
	HSlot *old = p->ht;
	int oc = p->htcap;
	p->htcap = oc ? oc * 2 : 256;
	p->ht = xcalloc((size_t)p->htcap, sizeof *p->ht);
	for (int i = 0; i < oc; i++)
		if (old[i].key)
			*hslot(p, old[i].key) = old[i];
	free(old);
}

Bind *lookup(P *p, Sym name)
{
	if (!p->htcap)
		return NULL;
	HSlot *h = hslot(p, name);
	return h->key && h->top >= 0 ? &p->b[h->top] : NULL;
}

void bind_push(P *p, Sym name, int kind, Var *v, Buffer *b)
{
	if ((p->htn + 1) * 2 > p->htcap)
		hgrow(p);
	if (p->nb == p->capb) {
		p->capb = p->capb ? p->capb * 2 : 256;
		p->b = xrealloc(p->b, (size_t)p->capb * sizeof *p->b);
	}
	HSlot *h = hslot(p, name);
	if (!h->key) {
		h->key = name;
		h->top = -1;
		p->htn++;
	}
	Bind *e = &p->b[p->nb];
	memset(e, 0, sizeof *e);
	e->name = name;
	e->kind = (uint8_t)kind;
	e->var = v;
	e->buf = b;
	e->prev = h->top;
	h->top = p->nb++;
}

void scope_pop(P *p, int mark)
{
	while (p->nb > mark) {
		Bind *e = &p->b[--p->nb];
		hslot(p, e->name)->top = e->prev;
	}
}

/* Defined in the innermost scope (since mark)? */
static Bind *lookup_since(P *p, Sym name, int mark)
{
	Bind *b = lookup(p, name);
	return b && b - p->b >= mark ? b : NULL;
}

void stk_push(P *p, void *x)
{
	if (p->nstk == p->capstk) {
		p->capstk = p->capstk ? p->capstk * 2 : 256;
		p->stk = xrealloc(p->stk, (size_t)p->capstk * sizeof *p->stk);
	}
	p->stk[p->nstk++] = x;
}

void **stk_take(P *p, int mark, Arena *a)
{
	int n = p->nstk - mark;
	void **r = ar_alloc(a, (size_t)(n ? n : 1) * sizeof *r);
	if (n)
		memcpy(r, p->stk + mark, (size_t)n * sizeof *r);
	p->nstk = mark;
	return r;
}

Func *find_func(P *p, Sym name)
{
	intptr_t k = (intptr_t)pmap_get(&p->fidx, name);
	return k ? p->funcs[k - 1] : NULL;
}

static Tok *adv_tok(P *p)
{
	Tok *t = pk(p);
	if (t->kind != TK_EOF)
		p->pos++;
	return t;
}

static void expect_newline(P *p)
{
	Tok *t = pk(p);
	if (t->kind == TK_NEWLINE) {
		p->pos++;
		return;
	}
	if (t->kind == TK_EOF)
		return;
	if (t->kind == TK_OP && t->op == OP_SEMI)
		perr(p, tok_loc(p, t), "several statements on one line (';') are not supported");
	if (t->kind == TK_OP && t->op == OP_AUGASSIGN)
		perr(p, tok_loc(p, t), "augmented assignment (such as 'x += 1') is not supported; write x = x + 1");
	if (t->kind == TK_ERROR)
		pquiet(p);
	perr(p, tok_loc(p, t), "expected the end of the line");
}

static Sym norm_scope_sym(Sym s)
{
	return !s || !s[0] ? sym("global") : s;
}

/* ------------------------------------------------------------ buffers */

enum { BK_PARAM, BK_ALLOC, BK_DECL, BK_MATCH };

static Expr **shape_of(P *p, Node *n, int *ndim)
{
	Node one, **items;
	int k;
	if (n->kind == N_TUPLE || n->kind == N_LIST) {
		items = n->a;
		k = n->n;
	} else {
		one = *n;
		(void)one;
		items = &n;
		k = 1;
	}
	Expr **sh = ar_alloc(p->A, (size_t)(k ? k : 1) * sizeof *sh);
	for (int i = 0; i < k; i++) {
		Node *e = items[i];
		if (e->kind == N_STR) {
			if (!p->in_sig)
				perr(p, e->loc, "a quoted shape or stride is only allowed in a parameter's T.Buffer");
			Tok t = {0};
			t.kind = TK_STR;
			t.line = e->loc.line;
			t.col = e->loc.col;
			t.s = e->s;
			int save = p->in_shape;
			p->in_shape = 1;
			e = px_str_expr(p, &t);
			sh[i] = ev_expr(p, e);
			p->in_shape = save;
		} else {
			sh[i] = ev_expr(p, e);
		}
		if (!dt_is_int(sh[i]->dt) || sh[i]->dt.lanes != 1)
			perr(p, e->loc, "buffer shapes must be scalar integers");
	}
	*ndim = k;
	return sh;
}

static int layout_arg(P *p, Node *call)
{
	Node *l = kwarg(call, "layout");
	if (!l)
		return p->stir ? LAYOUT_NONE : LAYOUT_DEFAULT;
	if (l->kind == N_NONE)
		return LAYOUT_NONE;
	/* A TileLayout changes how TVM's FlattenBuffer (and LowerTIRxCleanup)
	 * map indices to memory; tirxc has no layout algebra to carry it, so
	 * it is refused rather than dropped. */
	perr(p, l->loc, "buffer layouts other than the default are not supported (only layout=None "
	     "or no layout): a T.TileLayout changes how indices map to memory");
}

/* A buffer from the arguments of T.Buffer / T.alloc_buffer / T.decl_buffer /
 * T.match_buffer.  *data gets the data= expression (BK_DECL). */
static Buffer *buffer_from(P *p, Node *call, Sym name, int bk, Sym scope0, Expr **data)
{
	static const char *const kws[] = {
		"shape", "dtype", "data", "strides", "elem_offset", "scope", "align", "offset_factor",
		"layout", "annotations", "axis_separators", "buffer_type", NULL,
	};
	int first = bk == BK_MATCH ? 1 : 0;
	check_args(p, call, first, first + 3, kws);
	Node *pos[4] = {0};
	for (int i = 0, k = 0; i < call->n; i++)
		if (!call->kw || !call->kw[i])
			pos[k++] = call->a[i];
	Node *sn = pos[first] ? pos[first] : kwarg(call, "shape");
	Node *dn = pos[first + 1] ? pos[first + 1] : kwarg(call, "dtype");
	Node *datan = pos[first + 2] ? pos[first + 2] : kwarg(call, "data");
	if (!sn)
		perr(p, call->loc, "missing the buffer shape");
	int ndim;
	Expr **shape = shape_of(p, sn, &ndim);
	DType dt = dn ? ev_dtype(p, dn) : DT_F32;
	Buffer *b = buf_new(p->A, name, dt, shape, ndim);
	b->scope = scope0 ? scope0 : sym("global");
	if (datan && datan->kind != N_NONE) {
		if (bk != BK_DECL)
			perr(p, datan->loc, "data= is not allowed here");
		Expr *d = ev_expr(p, datan);
		TType t = ex_type(d);
		if (t.kind != TY_PTR && !(t.kind == TY_PRIM && t.dt.code == DT_HANDLE))
			perr(p, datan->loc, "data= must be a pointer");
		if (t.kind == TY_PTR)
			b->scope = norm_scope_sym(t.scope);
		*data = d;
	} else if (data) {
		*data = NULL;
	}
	Node *x;
	if ((x = kwarg(call, "strides")) && x->kind != N_NONE) {
		int ns;
		int save = p->in_shape;
		b->strides = shape_of(p, x, &ns);
		p->in_shape = save;
		b->nstrides = ns;
		if (ns == 0)
			b->strides = NULL;
	}
	if ((x = kwarg(call, "elem_offset")) && x->kind != N_NONE) {
		b->elem_offset = ev_expr(p, x);
		if (!dt_is_int(b->elem_offset->dt))
			perr(p, x->loc, "elem_offset must be an integer");
	}
	if ((x = kwarg(call, "scope")))
		b->scope = norm_scope_sym(ev_str(p, x, "a storage scope"));
	if ((x = kwarg(call, "align"))) {
		int64_t v = ev_int(p, x, "an alignment");
		b->align = v <= 0 ? 64 : (int)(v > (1 << 30) ? (1 << 30) : v);
	}
	if ((x = kwarg(call, "offset_factor"))) {
		int64_t v = ev_int(p, x, "an offset factor");
		b->offset_factor = v <= 0 ? 1 : (int)(v > (1 << 30) ? (1 << 30) : v);
		/* TVM: an offset factor without an elem_offset makes the offset
		 * a new var, `<name>_elem_offset` (read in the body as
		 * B.elem_offset).  Only a parameter binds it. */
		Node *eo = kwarg(call, "elem_offset");
		if (v != 0 && (!eo || eo->kind == N_NONE)) {
			if (bk != BK_PARAM && bk != BK_MATCH)
				perr(p, x->loc, "offset_factor= without elem_offset= declares a symbolic "
				     "elem_offset, which only a parameter buffer can bind");
			Buf nm = {0};
			buf_printf(&nm, "%s_elem_offset", name ? name : "buffer");
			b->elem_offset = ex_var(p->A, var_new(p->A, symn(nm.s, nm.n), ty_prim(DT_I32)));
			buf_free(&nm);
		}
	}
	if ((x = kwarg(call, "axis_separators")) && !(x->kind == N_LIST && x->n == 0) && x->kind != N_NONE)
		perr(p, x->loc, "axis_separators are not supported");
	if ((x = kwarg(call, "buffer_type")) && !(x->kind == N_STR && streq(x->s, "default")))
		perr(p, x->loc, "buffer_type is not supported");
	if (kwarg(call, "annotations") && bk != BK_ALLOC)
		perr(p, kwarg(call, "annotations")->loc, "annotations= is only allowed on an allocation");
	b->layout = (uint8_t)layout_arg(p, call);
	return b;
}

/* ------------------------------------------------------------ statements */

static Stmt *parse_suite(P *p);

static int npos_call(Node *call)
{
	int k = 0;
	for (int i = 0; i < call->n; i++)
		if (!call->kw || !call->kw[i])
			k++;
	return k;
}

static Expr *bufdata_of(P *p, Buffer *b)
{
	Expr *e = ex_new(p->A, EX_BUFDATA, DT_HANDLE64);
	e->buf = b;
	return e;
}

/* A frame statement left open: its body is the rest of the block.  `hole`
 * is where that body goes. */
typedef struct Frame {
	Stmt *s;
	Stmt **hole;
} Frame;

static Stmt *mk_store(P *p, Loc loc, Buffer *b, Expr **idx, int nidx, int lanes, Expr *v)
{
	DType want = dt_with_lanes(b->dt, b->dt.lanes * lanes);
	/* a number becomes no pointer, nor a pointer a number, by a store:
	 * that conversion would make a constant nothing prints back */
	if (dt_is_void(v->dt) || ((v->dt.code == DT_HANDLE) != (b->dt.code == DT_HANDLE)))
		perr(p, loc, "cannot store this value into buffer '%s'", b->name);
	if (!dt_eq(v->dt, want)) {
		if (v->dt.lanes != 1 && v->dt.lanes != want.lanes)
			perr(p, loc, "storing %d lanes into %d lanes of buffer '%s'", v->dt.lanes, want.lanes, b->name);
		v = arith_cast(p->A, want, v);
	}
	Stmt *s = st_new(p->A, ST_STORE, loc);
	s->store.buf = b;
	s->store.idx = idx;
	s->store.nidx = nidx;
	s->store.value = v;
	return s;
}

static Stmt *scalar_store(P *p, Loc loc, Buffer *b, Expr *v)
{
	Expr **idx = ar_alloc(p->A, sizeof *idx);
	idx[0] = ex_int(p->A, DT_I32, 0);
	return mk_store(p, loc, b, idx, 1, 1, v);
}

static Buffer *local_scalar_buf(P *p, Sym name, DType dt)
{
	Expr **sh = ar_alloc(p->A, sizeof *sh);
	sh[0] = ex_int(p->A, DT_I32, 1);
	Buffer *b = buf_new(p->A, name, dt, sh, 1);
	b->scope = sym("local");
	/* TVM 0.27 gives a local scalar the default tile layout (S[1:1]) in
	 * both dialects, where an s_tir T.alloc_local has none: that is how
	 * its printer tells `x: T.int32 = v` from `T.alloc_local((1,))`. */
	b->layout = LAYOUT_DEFAULT;
	return b;
}

static Stmt *mk_alloc(P *p, Loc loc, Buffer *b, Obj *ann)
{
	Stmt *s = st_new(p->A, ST_ALLOC, loc);
	s->alloc.buf = b;
	s->alloc.annotations = ann;
	return s;
}

static Stmt *mk_attr(P *p, Loc loc, Obj *node, const char *key, Expr *value)
{
	Stmt *s = st_new(p->A, ST_ATTR, loc);
	s->attr.node = node;
	s->attr.key = sym(key);
	s->attr.value = value;
	return s;
}

/* T.attr(node, "key", value) or T.attr({"k": v, ...}): a chain of AttrStmts.
 * Returns the outermost; *hole gets the innermost body slot. */
static Stmt *attr_frame(P *p, Node *call, Stmt ***hole)
{
	check_args(p, call, 1, 3, NULL);
	if (call->n == 1) {
		Node *d = call->a[0];
		if (d->kind != N_DICT || d->n == 0)
			perr(p, call->loc, "T.attr takes (node, key, value) or a non-empty dict");
		Stmt *outer = NULL, **slot = &outer;
		for (int i = 0; i < d->n; i++) {
			Sym k = ev_str(p, d->a[2 * i], "an attribute key");
			Stmt *s = mk_attr(p, d->a[2 * i]->loc, obj_int(p->A, 0), k, ev_expr(p, d->a[2 * i + 1]));
			s->loc = call->loc;
			*slot = s;
			slot = &s->attr.body;
		}
		*hole = slot;
		return outer;
	}
	if (call->n != 3)
		perr(p, call->loc, "T.attr takes (node, key, value) or a dict");
	Node *nn = call->a[0];
	Sym key = ev_str(p, call->a[1], "an attribute key");
	Expr *value = ev_expr(p, call->a[2]);
	Obj *node;
	int64_t v;
	Bind *b = nn->kind == N_NAME ? lookup(p, nn->s) : NULL;
	if (b && b->kind == NB_VAR && b->tag) {
		node = obj_new(p->A, OB_ITERVAR);
		node->iv.var = b->var;
		node->iv.min = ex_int(p->A, b->var->dt, 0);
		node->iv.extent = value;
		node->iv.itype = IV_THREADINDEX;
		node->iv.tag = b->tag;
	} else if (nn->kind == N_INT && ast_const_int(nn, &v)) {
		node = obj_int(p->A, v);
	} else {
		node = ev_obj(p, nn);
	}
	Stmt *s = mk_attr(p, call->loc, node, key, value);
	*hole = &s->attr.body;
	return s;
}

/* T.launch_thread("tag", n) (a new var named `name`, or after the tag) or
 * T.launch_thread(env_var, n). */
static Stmt *launch_frame(P *p, Node *call, Sym name, Stmt ***hole, Var **defined)
{
	check_args(p, call, 2, 2, NULL);
	Node *tn = call->a[0];
	Expr *ext = ev_expr(p, call->a[1]);
	if (!dt_is_int(ext->dt) || ext->dt.lanes != 1)
		perr(p, call->a[1]->loc, "the thread extent must be a scalar integer");
	Var *v;
	Sym tag;
	*defined = NULL;
	if (tn->kind == N_STR) {
		tag = tn->s;
		v = var_new(p->A, name ? name : tag, ty_prim(ext->dt));
		*defined = v;
	} else if (tn->kind == N_NAME) {
		Bind *b = lookup(p, tn->s);
		if (!b)
			perr(p, tn->loc, "name '%s' is not defined", tn->s);
		if (b->kind != NB_VAR || !b->tag)
			perr(p, tn->loc, "'%s' is not a thread variable (declare it with T.env_thread)", tn->s);
		v = b->var;
		tag = b->tag;
		if (name && name != tn->s)
			*defined = v;
	} else {
		perr(p, tn->loc, "expected a thread tag string or a T.env_thread variable");
	}
	Obj *iv = obj_new(p->A, OB_ITERVAR);
	iv->iv.var = v;
	iv->iv.min = ex_int(p->A, v->dt, 0);
	iv->iv.extent = ext;
	iv->iv.itype = IV_THREADINDEX;
	iv->iv.tag = tag;
	Stmt *s = mk_attr(p, call->loc, iv, strncmp(tag, "vthread", 7) ? "thread_extent" : "virtual_thread", ext);
	*hole = &s->attr.body;
	return s;
}

static void bind_var(P *p, Sym name, Var *v)
{
	bind_push(p, name, NB_VAR, v, NULL);
}

static Node *ast_name_node(P *p)
{
	Node *n = ar_alloc(p->tmp, sizeof *n);
	n->kind = N_NAME;
	n->loc = tok_loc(p, pk(p));
	n->s = expect_name(p, "a name");
	return n;
}

static int same_expr(const Expr *a, const Expr *b)
{
	if (a == b)
		return 1;
	if (a->kind != b->kind || !dt_eq(a->dt, b->dt))
		return 0;
	Buf x = {0}, y = {0};
	tir_print_expr(&x, a);
	tir_print_expr(&y, b);
	int same = x.n == y.n && !memcmp(x.s, y.s, x.n);
	buf_free(&x);
	buf_free(&y);
	return same;
}

/* stop - start, simplified as TVM's builder does for the common shapes
 * (n + 4) - n and n - n; otherwise the folded difference. */
static Expr *extent_of(P *p, Expr *hi, Expr *lo, const char **err)
{
	if (same_expr(hi, lo))
		return ex_int(p->A, hi->dt, 0);
	if (hi->kind == EX_ADD && same_expr(hi->bin.a, lo))
		return hi->bin.b;
	if (hi->kind == EX_ADD && same_expr(hi->bin.b, lo))
		return hi->bin.a;
	return arith_binary(p->A, EX_SUB, hi, lo, err);
}

/* for NAMES in ITER: SUITE */
static Stmt *parse_for(P *p, Loc loc)
{
	int mark = p->nstk;
	do {
		Node *n = ast_name_node(p);
		stk_push(p, n);
	} while (accept_op(p, OP_COMMA));
	int nv = p->nstk - mark;
	Node **names = (Node **)stk_take(p, mark, p->tmp);
	if (!is_kw(p, "in"))
		perr(p, tok_loc(p, pk(p)), "expected 'in'");
	adv_tok(p);
	Node *it = px_expr(p);
	expect_op(p, OP_COLON, "':'");
	char b[128];
	const char *path = it->kind == N_CALL ? node_T_path(p, it->x, b, sizeof b) : NULL;
	int isrange = it->kind == N_CALL && it->x->kind == N_NAME && streq(it->x->s, "range") && !lookup(p, it->x->s);
	if (!isrange && !path) {
		if (it->kind == N_CALL && it->x->kind == N_NAME && !lookup(p, it->x->s))
			perr(p, it->x->loc, "name '%s' is not defined", it->x->s);
		perr(p, it->loc, "expected range(...), T.serial/parallel/vectorized/unroll/thread_binding(...) or T.grid(...)");
	}
	int kind = FOR_SERIAL;
	if (path && streq(path, "grid")) {
		check_args(p, it, 1, -1, NULL);
		if (it->n != nv)
			perr(p, it->loc, "T.grid has %d extents for %d loop variables", it->n, nv);
		Stmt *outer = NULL, **slot = &outer;
		int smark = p->nb;
		for (int i = 0; i < nv; i++) {
			Expr *ext = ev_expr(p, it->a[i]);
			if (!dt_is_int(ext->dt))
				perr(p, it->a[i]->loc, "loop extents must be integers");
			Var *v = var_new(p->A, names[i]->s, ty_prim(ext->dt));
			Stmt *s = st_new(p->A, ST_FOR, loc);
			s->loop.var = v;
			s->loop.min = ex_int(p->A, ext->dt, 0);
			s->loop.extent = ext;
			s->loop.kind = FOR_SERIAL;
			*slot = s;
			slot = &s->loop.body;
			bind_var(p, names[i]->s, v);
		}
		*slot = parse_suite(p);
		scope_pop(p, smark);
		return outer;
	}
	if (nv != 1)
		perr(p, names[1]->loc, "several loop variables need T.grid(...)");
	if (path) {
		static const char *const ks[] = {"serial", "parallel", "vectorized", "unroll", "thread_binding"};
		kind = -1;
		for (int i = 0; i < 5; i++)
			if (streq(path, ks[i]))
				kind = i;
		if (kind < 0) {
			reject_check(p, it->loc, path);
			perr(p, it->loc, "unknown loop kind 'T.%s'", path);
		}
	}
	static const char *const kws[] = {"step", "annotations", "unroll", "dtype", "thread", NULL};
	check_args(p, it, 1, kind == FOR_THREAD_BINDING ? 3 : isrange ? 3 : 2, kws);
	Node *pa[3] = {0};
	int np = 0;
	for (int i = 0; i < it->n; i++)
		if (!it->kw || !it->kw[i])
			pa[np++] = it->a[i];
	Sym thread = NULL;
	if (kind == FOR_THREAD_BINDING) {
		Node *tn = kwarg(it, "thread");
		if (!tn && np >= 2 && pa[np - 1]->kind == N_STR)
			tn = pa[--np];
		if (!tn)
			perr(p, it->loc, "T.thread_binding needs thread=\"...\"");
		thread = ev_str(p, tn, "a thread tag");
	}
	if (np == 0 || np > (isrange ? 3 : 2))
		perr(p, it->loc, "wrong number of loop bounds");
	Expr *mn, *ext, *step = NULL;
	if (np == 1) {
		ext = ev_expr(p, pa[0]);
		mn = ex_int(p->A, dt_element(ext->dt), 0);
	} else {
		Expr *lo = ev_expr(p, pa[0]), *hi = ev_expr(p, pa[1]);
		const char *err = NULL;
		if (!arith_match_types(p->A, &lo, &hi, &err))
			perr(p, it->loc, "%s", err);
		mn = lo;
		ext = extent_of(p, hi, lo, &err);
		if (!ext)
			perr(p, it->loc, "%s", err);
	}
	Node *sn = np == 3 ? pa[2] : kwarg(it, "step");
	if (sn)
		step = ev_expr(p, sn);
	Node *dn = kwarg(it, "dtype");
	if (dn) {
		DType t = ev_dtype(p, dn);
		mn = arith_cast(p->A, t, mn);
		ext = arith_cast(p->A, t, ext);
	}
	if (!dt_is_int(ext->dt) || ext->dt.lanes != 1 || !dt_is_int(mn->dt))
		perr(p, it->loc, "loop bounds must be scalar integers");
	if (step) {
		step = arith_cast(p->A, ext->dt, step);
		int64_t sv;
		if (ex_is_const_int(step, &sv) && sv == 1)
			step = NULL;
	}
	Obj *ann = NULL;
	Node *an = kwarg(it, "annotations");
	if (an && an->kind != N_NONE) {
		if (an->kind != N_DICT)
			perr(p, an->loc, "annotations must be a dict");
		ann = ev_obj(p, an);
	}
	Node *un = kwarg(it, "unroll");
	if (un && un->kind != N_NONE) {
		if (!ann)
			ann = obj_new(p->A, OB_DICT);
		if (un->kind == N_BOOL && !un->i)
			ann = obj_dict_set(p->A, ann, "disable_unroll", obj_bool(p->A, 1));
		else
			ann = obj_dict_set(p->A, ann, "pragma_unroll", ev_obj(p, un));
	}
	Var *v = var_new(p->A, names[0]->s, ty_prim(ext->dt));
	Stmt *s = st_new(p->A, ST_FOR, loc);
	s->loop.var = v;
	s->loop.min = mn;
	s->loop.extent = ext;
	s->loop.step = step;
	s->loop.kind = (uint8_t)kind;
	s->loop.thread = thread;
	s->loop.annotations = ann;
	int smark = p->nb;
	bind_var(p, names[0]->s, v);
	s->loop.body = parse_suite(p);
	scope_pop(p, smark);
	return s;
}

/* if / elif / else.  A literal True/False condition is decided here, as
 * Python would. */
static Stmt *parse_if(P *p, Loc loc)
{
	Node *cn = px_expr(p);
	Expr *c = ev_expr(p, cn);
	if (c->dt.code != DT_BOOL && !dt_is_int(c->dt))
		perr(p, cn->loc, "the condition must be a bool");
	if (c->dt.code != DT_BOOL || c->dt.lanes != 1) {
		if (c->dt.lanes != 1)
			perr(p, cn->loc, "the condition must be a scalar");
		const char *err = NULL;
		c = arith_binary(p->A, EX_NE, c, ex_int(p->A, c->dt, 0), &err);
	}
	expect_op(p, OP_COLON, "':'");
	Stmt *then = parse_suite(p), *els = NULL;
	if (is_kw(p, "elif")) {
		Loc l2 = tok_loc(p, pk(p));
		adv_tok(p);
		if (++p->sdepth > MAX_NEST)
			perr(p, l2, "nesting too deep (more than %d levels)", MAX_NEST);
		els = parse_if(p, l2);
		p->sdepth--;
	} else if (is_kw(p, "else")) {
		adv_tok(p);
		expect_op(p, OP_COLON, "':'");
		els = parse_suite(p);
	}
	if (cn->kind == N_BOOL)
		return cn->i ? then : els ? els : st_seq(p->A, NULL, 0);
	Stmt *s = st_new(p->A, ST_IF, loc);
	s->ifs.cond = c;
	s->ifs.then = then;
	s->ifs.els = els;
	return s;
}

static Stmt *parse_with(P *p, Loc loc)
{
	Stmt *outer = NULL, **slot = &outer;
	int smark = p->nb;
	do {
		Node *it = px_expr(p);
		char b[128];
		const char *path = it->kind == N_CALL ? node_T_path(p, it->x, b, sizeof b) : NULL;
		Stmt **hole;
		Stmt *s;
		if (path && streq(path, "attr")) {
			s = attr_frame(p, it, &hole);
		} else if (path && streq(path, "launch_thread")) {
			Sym as = NULL;
			if (is_kw(p, "as")) {
				adv_tok(p);
				as = expect_name(p, "a name after 'as'");
			}
			Var *def;
			s = launch_frame(p, it, as, &hole, &def);
			if (def)
				bind_var(p, as ? as : def->name, def);
		} else {
			if (path)
				reject_check(p, it->loc, path);
			perr(p, it->loc, "only T.attr(...) and T.launch_thread(...) are supported in 'with'");
		}
		*slot = s;
		slot = hole;
		if (++p->sdepth > MAX_NEST)
			perr(p, loc, "nesting too deep (more than %d levels)", MAX_NEST);
	} while (accept_op(p, OP_COMMA));
	expect_op(p, OP_COLON, "':'");
	*slot = parse_suite(p);
	scope_pop(p, smark);
	return outer;
}

static Stmt *parse_assert(P *p, Loc loc)
{
	Node *cn = px_expr(p);
	Expr *c = ev_expr(p, cn);
	if (c->dt.code != DT_BOOL)
		perr(p, cn->loc, "the assert condition must be a bool");
	Sym kind = sym("RuntimeError");
	int np = 0;
	Sym *parts = NULL;
	if (accept_op(p, OP_COMMA)) {
		Node *m = px_expr(p);
		if (m->kind == N_STR) {
			parts = ar_alloc(p->A, sizeof *parts);
			parts[0] = m->s;
			np = 1;
		} else if (m->kind == N_TUPLE && m->n == 2 && m->a[0]->kind == N_STR &&
			   (m->a[1]->kind == N_LIST || m->a[1]->kind == N_TUPLE)) {
			kind = m->a[0]->s;
			Node *l = m->a[1];
			np = l->n;
			parts = ar_alloc(p->A, (size_t)(np ? np : 1) * sizeof *parts);
			for (int i = 0; i < np; i++)
				parts[i] = ev_str(p, l->a[i], "a message part");
		} else {
			check_name_ref(p, m);
			perr(p, m->loc, "expected an assert message: \"text\" or (\"Kind\", [\"part\", ...])");
		}
	}
	Stmt *s = st_new(p->A, ST_ASSERT, loc);
	s->assert.cond = c;
	s->assert.kind = kind;
	s->assert.parts = parts;
	s->assert.nparts = np;
	return s;
}

static Stmt *mk_return(P *p, Loc loc, Expr *v)
{
	Stmt *s = st_new(p->A, ST_RETURN, loc);
	s->ret.value = v;
	return s;
}

/* T.int32(), T.handle(...), T.TensorMap(), T.int64(is_size_var=True): the
 * type of a free var declaration, or 0 when n is not one. */
static int var_ctor(P *p, Node *n, TType *ty)
{
	char b[128];
	if (n->kind != N_CALL)
		return 0;
	const char *path = node_T_path(p, n->x, b, sizeof b);
	if (!path || strchr(path, '.'))
		return 0;
	if (streq(path, "handle") || streq(path, "TensorMap")) {
		*ty = ev_type_anno(p, n);
		return 1;
	}
	DType dt;
	if (!dt_parse(path, strlen(path), &dt) || dt_is_void(dt))
		return 0;
	for (int i = 0; i < n->n; i++)
		if (!n->kw || !n->kw[i])
			return 0;
	static const char *const kws[] = {"is_size_var", NULL};
	check_args(p, n, 0, 0, kws);
	*ty = ty_prim(dt);
	return 1;
}

static void declare_var(P *p, Node *name, TType ty)
{
	Bind *b = lookup(p, name->s);
	if (b && (b->kind == NB_VAR || b->kind == NB_TYPEVAR)) {
		/* re-declaring a shape var or a param binds the same Var */
		if (!ty_eq(b->var->ty, ty)) {
			char b1[32], b2[32];
			perr(p, name->loc, "'%s' is already a variable of type %s, not %s", name->s,
			     dt_str(b->var->dt, b1), dt_str(ty_dtype(ty), b2));
		}
		return;
	}
	bind_var(p, name->s, var_new(p->A, name->s, ty));
}

static Stmt *mk_decl(P *p, Loc loc, Buffer *b, Expr *data)
{
	Stmt *s = st_new(p->A, ST_DECL, loc);
	s->decl.buf = b;
	s->decl.data = data;
	return s;
}

/* B = A.view(d0, d1, ...) or A.view("dtype"): a DeclBuffer over A.data. */
static Stmt *view_stmt(P *p, Loc loc, Sym name, Buffer *a, Node *call)
{
	static const char *const kws[] = {"layout", NULL};
	check_args(p, call, 1, -1, kws);
	Buffer *b = ar_alloc(p->A, sizeof *b);
	*b = *a;
	b->name = name;
	Buffer *fresh = buf_new(p->A, name, a->dt, a->shape, a->ndim);
	b->id = fresh->id;
	Node *x = kwarg(call, "layout");
	if (x && x->kind != N_NONE)
		perr(p, x->loc, "layouts are not supported (only layout=None)");
	if (x)
		b->layout = LAYOUT_NONE;
	if (call->a[0]->kind == N_STR) {
		check_args(p, call, 1, 1, kws);
		DType t = ev_dtype(p, call->a[0]);
		int ob = a->dt.bits * a->dt.lanes, nbits = t.bits * t.lanes;
		if (!a->ndim || !nbits || !ob)
			perr(p, call->loc, "cannot reinterpret this buffer");
		b->dt = t;
		b->shape = ar_dup(p->A, a->shape, (size_t)a->ndim * sizeof(Expr *));
		Expr *last = a->shape[a->ndim - 1];
		const char *err = NULL;
		Expr *r = NULL;
		if (ob >= nbits && ob % nbits == 0)
			r = arith_binary(p->A, EX_MUL, last, arith_cast(p->A, last->dt, ex_int(p->A, DT_I64, ob / nbits)), &err);
		else if (nbits % ob == 0)
			r = arith_binary(p->A, EX_FLOORDIV, last, arith_cast(p->A, last->dt, ex_int(p->A, DT_I64, nbits / ob)), &err);
		if (!r)
			perr(p, call->loc, "cannot reinterpret %d-bit elements as %d-bit ones", ob, nbits);
		b->shape[a->ndim - 1] = r;
		if (a->elem_offset) {
			Expr *eo = a->elem_offset;
			if (ob >= nbits)
				b->elem_offset = arith_binary(p->A, EX_MUL, eo, arith_cast(p->A, eo->dt, ex_int(p->A, DT_I64, ob / nbits)), &err);
			else
				b->elem_offset = arith_binary(p->A, EX_FLOORDIV, eo, arith_cast(p->A, eo->dt, ex_int(p->A, DT_I64, nbits / ob)), &err);
		}
	} else {
		Node *sh = call;
		Node tmp;
		if (npos_call(call) == 1 && (call->a[0]->kind == N_TUPLE || call->a[0]->kind == N_LIST)) {
			sh = call->a[0];
		} else {
			tmp = *call;
			tmp.kind = N_TUPLE;
			tmp.n = npos_call(call);
			sh = &tmp;
		}
		int nd;
		b->shape = shape_of(p, sh, &nd);
		b->ndim = nd;
	}
	return mk_decl(p, loc, b, bufdata_of(p, a));
}

/* NAME = T.<buffer ctor>(...) and the other calls that define a name.
 * Returns 1 when handled (statements pushed on the scratch stack). */
static int define_call(P *p, Loc loc, Node *lhs, Node *rhs, Frame *fr)
{
	char b[128];
	Sym name = lhs->s;
	const char *path = node_T_path(p, rhs->x, b, sizeof b);
	if (!path) {
		Node *c = rhs->x;
		if (c->kind == N_ATTR && c->x->kind == N_NAME && streq(c->s, "view")) {
			Bind *bd = lookup(p, c->x->s);
			if (bd && bd->kind == NB_BUF) {
				Stmt *s = view_stmt(p, loc, name, bd->buf, rhs);
				stk_push(p, s);
				bind_push(p, name, NB_BUF, NULL, s->decl.buf);
				return 1;
			}
		}
		if (c->kind == N_NAME && streq(c->s, "TypeVar") && !lookup(p, c->s))
			perr(p, loc, "TypeVar declarations are only allowed before the function");
		return 0;
	}
	Buffer *buf;
	Expr *data = NULL;
	if (streq(path, "alloc_buffer") || streq(path, "alloc_shared") || streq(path, "alloc_local") ||
	    (streq(path, "decl_buffer") && !(kwarg(rhs, "data") && kwarg(rhs, "data")->kind != N_NONE) &&
	     npos_call(rhs) < 3)) {
		Sym scope = streq(path, "alloc_shared") ? sym("shared") : streq(path, "alloc_local") ? sym("local") : NULL;
		buf = buffer_from(p, rhs, name, BK_ALLOC, scope, NULL);
		Obj *ann = NULL;
		Node *an = kwarg(rhs, "annotations");
		if (an && an->kind != N_NONE) {
			if (an->kind != N_DICT)
				perr(p, an->loc, "annotations must be a dict");
			ann = ev_obj(p, an);
		}
		stk_push(p, mk_alloc(p, loc, buf, ann));
		bind_push(p, name, NB_BUF, NULL, buf);
		return 1;
	}
	if (streq(path, "decl_buffer") || streq(path, "Buffer")) {
		buf = buffer_from(p, rhs, name, BK_DECL, NULL, &data);
		if (!data && streq(path, "decl_buffer"))
			perr(p, rhs->loc, "T.decl_buffer needs data= here");
		if (!data) {
			/* `A = T.Buffer((n,), "float32")` declares nothing: TVM prints it
			 * for a buffer the body uses without a declaration (such as the
			 * node of a storage_alignment attr); the name stands for it */
			bind_push(p, name, NB_BUF, NULL, buf);
			return 1;
		}
		stk_push(p, mk_decl(p, loc, buf, data));
		bind_push(p, name, NB_BUF, NULL, buf);
		return 1;
	}
	if (streq(path, "match_buffer")) {
		Node *h = rhs->n ? rhs->a[0] : NULL;
		if (!h || h->kind != N_NAME)
			perr(p, rhs->loc, "T.match_buffer takes a handle parameter first");
		Bind *hb = lookup(p, h->s);
		if (!hb)
			perr(p, h->loc, "name '%s' is not defined", h->s);
		int pi = -1;
		for (int i = 0; p->fn && i < p->fn->nparams; i++)
			if (hb->kind == NB_VAR && p->fn->params[i].var == hb->var)
				pi = i;
		if (pi < 0)
			perr(p, h->loc, "T.match_buffer needs a handle parameter of this function");
		if (p->sdepth > 1)
			perr(p, loc, "T.match_buffer is only allowed at the top of the function body");
		buf = buffer_from(p, rhs, name, BK_MATCH, NULL, NULL);
		Var *hv = p->fn->params[pi].var;
		p->fn->params[pi].var = NULL;
		p->fn->params[pi].buf = buf;
		bind_push(p, h->s, NB_MATCHED, hv, buf);
		bind_push(p, name, NB_BUF, NULL, buf);
		return 1;
	}
	if (streq(path, "launch_thread")) {
		Stmt **hole;
		Var *def;
		Stmt *s = launch_frame(p, rhs, name, &hole, &def);
		if (def)
			bind_var(p, name, def);
		stk_push(p, s);
		fr->s = s;
		fr->hole = hole;
		return 1;
	}
	if (streq(path, "env_thread")) {
		check_args(p, rhs, 1, 2, NULL);
		Sym tag = ev_str(p, rhs->a[0], "a thread tag");
		DType dt = rhs->n > 1 ? ev_dtype(p, rhs->a[1]) : DT_I32;
		Var *v = var_new(p->A, name, ty_prim(dt));
		bind_var(p, name, v);
		p->b[p->nb - 1].tag = tag;
		return 1;
	}
	if (streq(path, "local_scalar") || streq(path, "alloc_scalar") || streq(path, "shared_scalar")) {
		check_args(p, rhs, 1, 2, NULL);
		DType dt = ev_dtype(p, rhs->a[0]);
		buf = local_scalar_buf(p, name, dt);
		if (path[0] == 's')
			buf->scope = sym("shared");
		if (path[1] == 'l' && path[2] == 'l')
			buf->scope = rhs->n > 1 ? norm_scope_sym(ev_str(p, rhs->a[1], "a scope")) : sym("global");
		stk_push(p, mk_alloc(p, loc, buf, NULL));
		bind_push(p, name, NB_SCALAR, NULL, buf);
		return 1;
	}
	return 0;
}

/* NAME: ANNOTATION [= value] */
static void ann_assign(P *p, Loc loc, Node *lhs)
{
	if (lhs->kind != N_NAME)
		perr(p, lhs->loc, "only a plain name can be annotated");
	Node *ann = px_expr(p);
	Node *val = NULL;
	if (accept_op(p, OP_ASSIGN))
		val = px_tuple(p);
	Sym name = lhs->s;
	/* T.let / T.let[type] */
	Node *letty = NULL;
	int islet = node_is_T(p, ann, "let");
	if (ann->kind == N_SUB && node_is_T(p, ann->x, "let")) {
		islet = 1;
		if (ann->n != 1)
			perr(p, ann->loc, "T.let takes one type");
		letty = ann->a[0];
	}
	if (islet) {
		if (!val)
			perr(p, loc, "a let binding needs a value");
		TType ty = letty ? ev_type_anno(p, letty) : ty_void();
		Expr *v = ev_arg(p, val);
		if (v->kind == EX_BUFREF)
			perr(p, val->loc, "a buffer cannot be bound with T.let");
		if (!letty)
			ty = ex_type(v);
		if (ty.kind == TY_VOID || dt_is_void(v->dt))
			perr(p, val->loc, "cannot bind a void value");
		if (ty.kind == TY_PRIM && !dt_eq(ty.dt, v->dt)) {
			char b1[32], b2[32];
			perr(p, val->loc, "the value has type %s, not %s", dt_str(v->dt, b1), dt_str(ty.dt, b2));
		}
		Var *var = var_new(p->A, name, ty);
		Stmt *s = st_new(p->A, ST_BIND, loc);
		s->bind.var = var;
		s->bind.value = v;
		stk_push(p, s);
		bind_var(p, name, var);
		return;
	}
	char b[128];
	const char *path;
	Node *dn = ann->kind == N_SUB ? ann->x : ann;
	path = node_T_path(p, dn, b, sizeof b);
	DType dt;
	if (!path || strchr(path, '.') || !dt_parse(path, strlen(path), &dt) || dt_is_void(dt) || dt.code == DT_HANDLE) {
		if (path && streq(path, "Buffer"))
			perr(p, ann->loc, "a T.Buffer annotation is only allowed on parameters");
		check_name_ref(p, dn);
		perr(p, ann->loc, "unsupported annotation (expected T.let[...] or a scalar type such as T.int32)");
	}
	if (ann->kind == N_SUB) {
		/* x: T.float32[4]: a local vector buffer */
		if (val)
			perr(p, val->loc, "a local buffer declaration takes no value");
		int nd;
		Node tmp = *ann;
		tmp.kind = N_TUPLE;
		Expr **sh = shape_of(p, &tmp, &nd);
		Buffer *buf = buf_new(p->A, name, dt, sh, nd);
		buf->scope = sym("local");
		buf->layout = p->stir ? LAYOUT_NONE : LAYOUT_DEFAULT;
		stk_push(p, mk_alloc(p, loc, buf, NULL));
		bind_push(p, name, NB_BUF, NULL, buf);
		return;
	}
	Buffer *buf = local_scalar_buf(p, name, dt);
	Expr *v = val ? ev_expr(p, val) : NULL;
	stk_push(p, mk_alloc(p, loc, buf, NULL));
	if (v)
		stk_push(p, scalar_store(p, loc, buf, v));
	bind_push(p, name, NB_SCALAR, NULL, buf);
}

static void assign(P *p, Loc loc, Node *lhs, Frame *fr)
{
	Node *rhs = px_tuple(p);
	if (is_op(p, OP_ASSIGN))
		perr(p, tok_loc(p, pk(p)), "chained assignment (a = b = c) is not supported");
	if (lhs->kind == N_TUPLE || lhs->kind == N_LIST) {
		if (rhs->kind != N_TUPLE || rhs->n != lhs->n)
			perr(p, loc, "tuple assignment is only supported for free variable declarations (a, b = T.int32(), T.int32())");
		for (int i = 0; i < lhs->n; i++) {
			TType ty;
			if (lhs->a[i]->kind != N_NAME)
				perr(p, lhs->a[i]->loc, "expected a name");
			if (!var_ctor(p, rhs->a[i], &ty))
				perr(p, rhs->a[i]->loc, "tuple assignment is only supported for free variable declarations");
			declare_var(p, lhs->a[i], ty);
		}
		return;
	}
	if (lhs->kind == N_SUB) {
		int scalar = 0;
		Bind *bd = lhs->x->kind == N_NAME ? lookup(p, lhs->x->s) : NULL;
		if (lhs->x->kind == N_NAME && !bd)
			perr(p, lhs->x->loc, "name '%s' is not defined", lhs->x->s);
		if (bd && bd->kind == NB_POISON)
			pquiet(p);
		if (!bd || (bd->kind != NB_BUF && bd->kind != NB_SCALAR))
			perr(p, lhs->loc, "only buffers can be stored to");
		scalar = bd->kind == NB_SCALAR;
		if (scalar)
			perr(p, lhs->loc, "'%s' is a scalar; assign it without an index", lhs->x->s);
		Buffer *b = bd->buf;
		int n, lanes;
		Expr **idx = ev_indices(p, lhs, &n, &lanes);
		if (n != b->ndim)
			perr(p, lhs->loc, "buffer '%s' has %d dimension%s but is indexed with %d", b->name, b->ndim,
			     b->ndim == 1 ? "" : "s", n);
		Expr *v = ev_expr(p, rhs);
		stk_push(p, mk_store(p, loc, b, idx, n, lanes, v));
		return;
	}
	if (lhs->kind != N_NAME)
		perr(p, lhs->loc, "cannot assign to this expression");
	if (is_keyword(lhs->s))
		perr(p, lhs->loc, "cannot assign to keyword '%s'", lhs->s);
	TType ty;
	if (var_ctor(p, rhs, &ty)) {
		declare_var(p, lhs, ty);
		return;
	}
	if (rhs->kind == N_CALL && define_call(p, loc, lhs, rhs, fr))
		return;
	Bind *bd = lookup(p, lhs->s);
	if (bd && bd->kind == NB_POISON)
		pquiet(p);
	if (bd && bd->kind == NB_BUF)
		perr(p, lhs->loc, "cannot assign to buffer '%s'; store to an element: %s[i] = ...", lhs->s, lhs->s);
	Expr *v = ev_expr(p, rhs);
	if (dt_is_void(v->dt))
		perr(p, rhs->loc, "cannot assign a void value");
	if (bd && bd->kind == NB_SCALAR) {
		stk_push(p, scalar_store(p, loc, bd->buf, v));
		return;
	}
	if (bd && bd->kind == NB_VAR) {
		/* rebinding a var (non-SSA input): a Bind of the same Var */
		Stmt *s = st_new(p->A, ST_BIND, loc);
		s->bind.var = bd->var;
		s->bind.value = v;
		stk_push(p, s);
		return;
	}
	if (v->dt.code == DT_HANDLE)
		perr(p, rhs->loc, "a pointer value needs a let binding: %s: T.let[T.handle(...)] = ...", lhs->s);
	if (v->dt.lanes != 1)
		perr(p, rhs->loc, "a vector value needs a let binding or a buffer");
	Buffer *buf = local_scalar_buf(p, lhs->s, v->dt);
	stk_push(p, mk_alloc(p, loc, buf, NULL));
	stk_push(p, scalar_store(p, loc, buf, v));
	bind_push(p, lhs->s, NB_SCALAR, NULL, buf);
}

/* A call or expression used as a statement. */
static void expr_stmt(P *p, Loc loc, Node *e, Frame *fr)
{
	char b[128];
	const char *path = e->kind == N_CALL ? node_T_path(p, e->x, b, sizeof b) : NULL;
	if (path && streq(path, "func_attr")) {
		if (!p->fn || p->fn->attrs)
			perr(p, loc, "T.func_attr must be the first statement of the function");
		check_args(p, e, 1, 1, NULL);
		if (e->a[0]->kind != N_DICT)
			perr(p, e->a[0]->loc, "T.func_attr takes a dict");
		Obj *d = ev_obj(p, e->a[0]);
		for (int i = 0; i < d->dict.n; i++)
			if (d->dict.keys[i]->kind != OB_STR)
				perr(p, e->a[0]->loc, "function attribute keys must be strings");
		p->fn->attrs = d;
		return;
	}
	if (path && (streq(path, "attr") || streq(path, "launch_thread"))) {
		Stmt **hole;
		Var *def = NULL;
		Stmt *s = path[0] == 'a' ? attr_frame(p, e, &hole) : launch_frame(p, e, NULL, &hole, &def);
		if (def)
			bind_var(p, def->name, def);
		stk_push(p, s);
		fr->s = s;
		fr->hole = hole;
		return;
	}
	Node *inner = e;
	if (path && streq(path, "evaluate")) {
		check_args(p, e, 1, 1, NULL);
		inner = e->a[0];
		path = inner->kind == N_CALL ? node_T_path(p, inner->x, b, sizeof b) : NULL;
	}
	if (path && streq(path, "ret")) {
		check_args(p, inner, 1, 1, NULL);
		stk_push(p, mk_return(p, loc, ev_expr(p, inner->a[0])));
		return;
	}
	if (e->kind == N_CALL && e->x->kind == N_ATTR && e->x->x->kind == N_NAME && streq(e->x->s, "vstore")) {
		Bind *bd = lookup(p, e->x->x->s);
		if (bd && bd->kind == NB_BUF) {
			static const char *const kws[] = {"predicate", NULL};
			check_args(p, e, 2, 2, kws);
			Node *l = e->a[0];
			if (l->kind != N_LIST && l->kind != N_TUPLE)
				perr(p, l->loc, "vstore takes a list of indices");
			int n, lanes;
			Expr **idx = ev_indices(p, l, &n, &lanes);
			if (n != bd->buf->ndim)
				perr(p, l->loc, "buffer '%s' has %d dimensions but is indexed with %d", bd->buf->name,
				     bd->buf->ndim, n);
			Stmt *s = mk_store(p, loc, bd->buf, idx, n, lanes, ev_expr(p, e->a[1]));
			Node *pr = kwarg(e, "predicate");
			if (pr) {
				s->store.pred = ev_expr(p, pr);
				if (s->store.pred->dt.code != DT_BOOL || s->store.pred->dt.lanes != s->store.value->dt.lanes)
					perr(p, pr->loc, "the predicate must be a bool vector of %d lanes", s->store.value->dt.lanes);
			}
			stk_push(p, s);
			return;
		}
	}
	if (e->kind == N_STR && e == inner)
		return; /* a docstring */
	Expr *v = ev_arg(p, inner);
	Stmt *s = st_new(p->A, ST_EVAL, loc);
	s->eval.value = v;
	stk_push(p, s);
}

static Node *g_lhs; /* the target of the statement being parsed, for poisoning */

/* One statement; results go on the scratch stack.  A bare frame statement
 * fills *fr. */
static void stmt(P *p, Frame *fr)
{
	Tok *t = pk(p);
	Loc loc = tok_loc(p, t);
	if (t->kind == TK_INDENT)
		perr(p, loc, "unexpected indent");
	if (t->kind == TK_ERROR)
		pquiet(p);
	if (t->kind == TK_OP && t->op == OP_AT) {
		adv_tok(p);
		Node *d = px_expr(p);
		char b[128];
		const char *path = node_T_path(p, d->kind == N_CALL ? d->x : d, b, sizeof b);
		if (path && (streq(path, "macro") || streq(path, "inline")))
			perr(p, loc, "macros (@T.%s) are not supported", path);
		perr(p, loc, "decorators and nested functions are not supported inside a function");
	}
	if (t->kind == TK_NAME) {
		const char *k = t->s;
		if (streq(k, "for")) {
			adv_tok(p);
			stk_push(p, parse_for(p, loc));
			return;
		}
		if (streq(k, "while")) {
			adv_tok(p);
			Node *cn = px_expr(p);
			Expr *c = ev_expr(p, cn);
			if (c->dt.code != DT_BOOL || c->dt.lanes != 1)
				perr(p, cn->loc, "the loop condition must be a bool");
			expect_op(p, OP_COLON, "':'");
			Stmt *s = st_new(p->A, ST_WHILE, loc);
			s->wloop.cond = c;
			s->wloop.body = parse_suite(p);
			stk_push(p, s);
			return;
		}
		if (streq(k, "if")) {
			adv_tok(p);
			stk_push(p, parse_if(p, loc));
			return;
		}
		if (streq(k, "with")) {
			adv_tok(p);
			int sd = p->sdepth;
			Stmt *s = parse_with(p, loc);
			p->sdepth = sd;
			stk_push(p, s);
			return;
		}
		if (streq(k, "assert")) {
			adv_tok(p);
			stk_push(p, parse_assert(p, loc));
			expect_newline(p);
			return;
		}
		if (streq(k, "return")) {
			adv_tok(p);
			Expr *v = NULL;
			if (pk(p)->kind != TK_NEWLINE && pk(p)->kind != TK_EOF)
				v = ev_expr(p, px_tuple(p));
			stk_push(p, mk_return(p, loc, v));
			expect_newline(p);
			return;
		}
		if (streq(k, "break") || streq(k, "continue")) {
			adv_tok(p);
			const Op *op = op_find(k[0] == 'b' ? "break_loop" : "continue_loop", k[0] == 'b' ? 10 : 13);
			if (!op)
				perr(p, loc, "internal: missing op for '%s'", k);
			Stmt *s = st_new(p->A, ST_EVAL, loc);
			s->eval.value = ex_call(p->A, op, ty_void(), NULL, 0);
			stk_push(p, s);
			expect_newline(p);
			return;
		}
		if (streq(k, "pass")) {
			adv_tok(p);
			expect_newline(p);
			return;
		}
		if (streq(k, "elif") || streq(k, "else"))
			perr(p, loc, "'%s' without a matching 'if'", k);
		if (streq(k, "def"))
			perr(p, loc, "nested function definitions are not supported");
		static const char *const bad[] = {
			"class", "import", "from", "del", "global", "nonlocal", "raise", "try", "except",
			"finally", "yield", "async", "await", "lambda", NULL,
		};
		for (int i = 0; bad[i]; i++)
			if (streq(k, bad[i]))
				perr(p, loc, "'%s' statements are not supported inside a function", k);
	}
	Node *lhs = px_tuple(p);
	g_lhs = lhs;
	if (accept_op(p, OP_COLON)) {
		ann_assign(p, loc, lhs);
	} else if (accept_op(p, OP_ASSIGN)) {
		assign(p, loc, lhs, fr);
	} else if (is_op(p, OP_AUGASSIGN)) {
		perr(p, tok_loc(p, pk(p)), "augmented assignment (such as 'x += 1') is not supported; write x = x + 1");
	} else {
		g_lhs = NULL;
		if (lhs->kind == N_TUPLE)
			perr(p, lhs->loc, "a tuple is not a statement");
		expr_stmt(p, loc, lhs, fr);
	}
	g_lhs = NULL;
	expect_newline(p);
}

/* Skips the rest of a failed statement: to its line end, and over any
 * indented suite that follows.  Stops before a DEDENT or EOF. */
static void sync(P *p)
{
	for (;;) {
		Tok *t = pk(p);
		if (t->kind == TK_EOF || t->kind == TK_DEDENT)
			return;
		if (t->kind == TK_INDENT)
			break;
		p->pos++;
		if (t->kind == TK_NEWLINE)
			break;
	}
	if (pk(p)->kind != TK_INDENT)
		return;
	int d = 0;
	for (;;) {
		Tok *t = pk(p);
		if (t->kind == TK_EOF)
			return;
		p->pos++;
		if (t->kind == TK_INDENT)
			d++;
		else if (t->kind == TK_DEDENT && --d == 0)
			return;
	}
}

static void poison(P *p, Node *lhs)
{
	if (!lhs)
		return;
	if (lhs->kind == N_NAME) {
		Bind *b = lookup(p, lhs->s);
		if (!b)
			bind_push(p, lhs->s, NB_POISON, NULL, NULL);
	} else if (lhs->kind == N_TUPLE) {
		for (int i = 0; i < lhs->n; i++)
			poison(p, lhs->a[i]);
	}
}

/* Statements up to a DEDENT or EOF, as one Stmt.  Bare frames wrap the
 * rest of the block.  Names defined here go out of scope at the end. */
static Stmt *parse_stmts(P *p)
{
	int bmark = p->nb;
	volatile int lmark = p->nstk; /* start of the current list */
	volatile int nframes = 0;
	int sd0 = p->sdepth;
	jmp_buf jb, *outer = p->jb;
	p->blevel++;
	while (pk(p)->kind != TK_DEDENT && pk(p)->kind != TK_EOF) {
		volatile int smark = p->nstk;
		volatile int depth = p->depth;
		Frame fr = {0};
		/* Syntax trees are dead once their statement is built; between
		 * the statements of a function body nothing refers to them. */
		if (p->blevel == 1)
			ar_reset(p->tmp);
		if (p->blevel == 1)
			tok_release(p);
		p->jb = &jb;
		if (setjmp(jb)) {
			p->jb = outer;
			p->nstk = smark;
			p->depth = depth;
			poison(p, g_lhs);
			g_lhs = NULL;
			sync(p);
			continue;
		}
		stmt(p, &fr);
		/* T.func_attr must come first, but declarations that make no
		 * statement (`n = T.int32()`) may precede it, as TVM prints them */
		if (p->fn && (p->nstk != smark || fr.s))
			p->fn->attrs = p->fn->attrs ? p->fn->attrs : obj_new(p->A, OB_DICT);
		p->jb = outer;
		if (fr.s) {
			/* A bare frame wraps the rest of the block without
			 * indenting it: it is built here without recursion, every
			 * traversal follows such chains with a loop
			 * (st_chain_next), so it does not count toward the nesting
			 * limit, and the output of MakePackedAPI (one attr per
			 * buffer parameter) reads back. */
			stk_push(p, fr.hole);
			stk_push(p, (void *)(intptr_t)lmark);
			lmark = p->nstk;
			nframes++;
		}
	}
	p->jb = outer;
	p->blevel--;
	for (; nframes > 0; nframes--) {
		int n = p->nstk - lmark;
		Stmt *body = st_seq(p->A, (Stmt **)(p->stk + lmark), n);
		int prev = (int)(intptr_t)p->stk[lmark - 1];
		Stmt **hole = p->stk[lmark - 2];
		*hole = body;
		p->nstk = lmark - 2;
		lmark = prev;
	}
	p->sdepth = sd0;
	Stmt *s = st_seq(p->A, (Stmt **)(p->stk + lmark), p->nstk - lmark);
	p->nstk = lmark;
	scope_pop(p, bmark);
	return s;
}

/* NEWLINE INDENT stmts DEDENT (the ':' is already read). */
static Stmt *parse_suite(P *p)
{
	Tok *t = pk(p);
	if (t->kind != TK_NEWLINE) {
		if (t->kind == TK_ERROR)
			pquiet(p);
		perr(p, tok_loc(p, t), "expected a new line after ':' (one-line bodies are not supported)");
	}
	p->pos++;
	if (pk(p)->kind != TK_INDENT)
		perr(p, tok_loc(p, pk(p)), "expected an indented block");
	p->pos++;
	if (++p->sdepth > MAX_NEST)
		perr(p, tok_loc(p, pk(p)), "nesting too deep (more than %d levels)", MAX_NEST);
	Stmt *s = parse_stmts(p);
	p->sdepth--;
	if (pk(p)->kind == TK_DEDENT)
		p->pos++;
	return s;
}

/* ------------------------------------------------------------ functions */

static Func *new_stub(P *p, Sym name, Loc loc)
{
	Func *f = ar_alloc(p->A, sizeof *f);
	f->name = name;
	f->ret = ty_void();
	f->loc = loc;
	if (!(p->nfuncs & (p->nfuncs - 1))) {
		int cap = p->nfuncs ? p->nfuncs * 2 : 8;
		p->funcs = xrealloc(p->funcs, (size_t)cap * sizeof *p->funcs);
		p->fdone = xrealloc(p->fdone, (size_t)cap);
	}
	p->fdone[p->nfuncs] = 0;
	p->funcs[p->nfuncs++] = f;
	if (!pmap_get(&p->fidx, name))
		pmap_put(&p->fidx, name, (void *)(intptr_t)p->nfuncs);
	return f;
}

/* A `def NAME` line, found by scan_defs before parsing starts. */
typedef struct DefLine {
	int depth;  /* block depth of the def (1 inside a class) */
	Sym name;
	Loc loc;    /* of the name */
	int nparams;
	Tok *ret;   /* the tokens after `->` to the line end, then TK_EOF; or NULL */
	int nret;
} DefLine;

/* Lexes the whole text once, reporting lexer errors, and notes every
 * `def NAME` line for declare_funcs.  The tokens are not kept: the parser
 * lexes the text again, quietly, as it reads.  Returns Lexed.fatal. */
static int scan_defs(P *p, const char *text, size_t len)
{
	Lx *lx = lx_open(p->file, text, len, 0, 0, 0);
	lx_scan(lx);
	Sym def = sym("def");
	int n, d = 0, cap = 0;
	Tok *t = lx_fill(lx, 4096, &n);
	for (int i = 0;; i++) {
		if (i + 1 >= n) {
			if (i > 4096) {
				lx_drop(lx, i);
				i = 0;
			}
			t = lx_fill(lx, i + 4096, &n);
		}
		if (t[i].kind == TK_EOF)
			break;
		if (t[i].kind == TK_INDENT)
			d++;
		else if (t[i].kind == TK_DEDENT)
			d--;
		if (t[i].kind != TK_NAME || t[i].s != def || t[i + 1].kind != TK_NAME)
			continue;
		/* count the parameters (for arity checks of calls made before
		 * the callee is parsed) and find the return annotation */
		int j = i + 2, paren = 0, items = 0, open = 0;
		for (;; j++) {
			if (j >= n)
				t = lx_fill(lx, j + 4096, &n);
			Tok *u = &t[j];
			if (u->kind == TK_EOF || u->kind == TK_NEWLINE)
				break;
			if (paren == 1 && !open && !(u->kind == TK_OP && u->op == OP_RPAREN))
				items++, open = 1;
			if (u->kind != TK_OP)
				continue;
			if (u->op == OP_LPAREN || u->op == OP_LBRACK || u->op == OP_LBRACE)
				paren++;
			else if (u->op == OP_RPAREN || u->op == OP_RBRACK || u->op == OP_RBRACE)
				paren--;
			else if (u->op == OP_COMMA && paren == 1)
				open = 0;
			else if (u->op == OP_ARROW && paren == 0)
				break;
		}
		if (p->ndefs == cap) {
			cap = cap ? cap * 2 : 64;
			p->defs = xrealloc(p->defs, (size_t)cap * sizeof *p->defs);
		}
		DefLine *df = &p->defs[p->ndefs++];
		memset(df, 0, sizeof *df);
		df->depth = d;
		df->name = t[i + 1].s;
		df->loc = tok_loc(p, &t[i + 1]);
		df->nparams = items;
		if (t[j].kind == TK_OP && t[j].op == OP_ARROW) {
			int k = j + 1;
			for (;; k++) {
				if (k >= n)
					t = lx_fill(lx, k + 4096, &n);
				if (t[k].kind == TK_EOF || t[k].kind == TK_NEWLINE)
					break;
			}
			df->nret = k + 1 - (j + 1);
			df->ret = xcalloc((size_t)df->nret + 2, sizeof *df->ret); /* then EOF, EOF */
			memcpy(df->ret, &t[j + 1], (size_t)df->nret * sizeof *df->ret);
		}
	}
	int fatal = lx_fatal(lx);
	lx_close(lx);
	return fatal;
}

/* Declares every function (name and return type) before any body is read,
 * so that calls may precede the callee.  depth: the block depth of the
 * defs (1 inside a class). */
static void declare_funcs(P *p, int depth)
{
	Tok *st = p->t;
	int snt = p->nt, spos = p->pos;
	Lx *slx = p->lx;
	jmp_buf jb, *outer = p->jb;
	for (volatile int i = 0; i < p->ndefs; i++) {
		DefLine *df = &p->defs[i];
		if (df->depth != depth || find_func(p, df->name))
			continue;
		Func *f = new_stub(p, df->name, df->loc);
		f->nparams = df->nparams;
		if (df->ret) {
			p->t = df->ret;
			p->nt = df->nret + 1;
			p->pos = 0;
			p->lx = NULL;
			p->quiet = 1;
			p->jb = &jb;
			if (!setjmp(jb))
				f->ret = ev_type_anno(p, px_expr(p));
			p->quiet = 0;
			p->depth = 0;
			p->nstk = 0;
		}
	}
	p->jb = outer;
	p->t = st;
	p->nt = snt;
	p->pos = spos;
	p->lx = slx;
}

static void func_params(P *p, Func *f)
{
	expect_op(p, OP_LPAREN, "'('");
	int mark = p->nstk;
	pmap_clear(&p->pidx);
	while (!is_op(p, OP_RPAREN)) {
		if (is_op(p, OP_STAR) || is_op(p, OP_POW))
			perr(p, tok_loc(p, pk(p)), "*args and **kwargs are not supported");
		Node *nm = ar_alloc(p->tmp, sizeof *nm);
		nm->kind = N_NAME;
		nm->loc = tok_loc(p, pk(p));
		nm->s = expect_name(p, "a parameter name");
		if (!is_op(p, OP_COLON))
			perr(p, tok_loc(p, pk(p)), "parameter '%s' needs a type annotation", nm->s);
		p->pos++;
		Node *ann = px_expr(p);
		if (is_op(p, OP_ASSIGN))
			perr(p, tok_loc(p, pk(p)), "default parameter values are not supported");
		/* a map, not a scan: functions may have many thousands */
		if (pmap_get(&p->pidx, nm->s))
			perr(p, nm->loc, "duplicate parameter '%s'", nm->s);
		pmap_put(&p->pidx, nm->s, (void *)(intptr_t)-1);
		stk_push(p, nm);
		stk_push(p, ann);
		if (!accept_op(p, OP_COMMA))
			break;
	}
	expect_op(p, OP_RPAREN, "')'");
	int n = (p->nstk - mark) / 2;
	Node **pn = (Node **)stk_take(p, mark, p->tmp);
	/* scalar params first, so quoted shapes can take their types */
	p->pnames = ar_alloc(p->tmp, (size_t)(n ? n : 1) * sizeof(Sym));
	p->ptypes = ar_alloc(p->tmp, (size_t)(n ? n : 1) * sizeof(DType));
	p->npnames = 0;
	TType *tys = ar_alloc(p->tmp, (size_t)(n ? n : 1) * sizeof(TType));
	for (int i = 0; i < n; i++) {
		Node *ann = pn[2 * i + 1];
		if (ann->kind == N_CALL && node_is_T(p, ann->x, "Buffer"))
			continue;
		tys[i] = ev_type_anno(p, ann);
		if (tys[i].kind == TY_PRIM) {
			p->pnames[p->npnames] = pn[2 * i]->s;
			p->ptypes[p->npnames++] = tys[i].dt;
			pmap_put(&p->pidx, pn[2 * i]->s, (void *)(intptr_t)p->npnames);
		}
	}
	f->params = ar_alloc(p->A, (size_t)(n ? n : 1) * sizeof(Param));
	f->nparams = n;
	int fmark = p->nb;
	for (int i = 0; i < n; i++) {
		Sym name = pn[2 * i]->s;
		Node *ann = pn[2 * i + 1];
		if (ann->kind == N_CALL && node_is_T(p, ann->x, "Buffer")) {
			/* only quoted names declare vars (shape_of); a bare name must
			 * already be defined, as in TVM */
			p->in_sig = 1;
			Buffer *b = buffer_from(p, ann, name, BK_PARAM, NULL, NULL);
			p->in_sig = 0;
			f->params[i].buf = b;
			bind_push(p, name, NB_BUF, NULL, b);
			continue;
		}
		Bind *b = lookup_since(p, name, fmark);
		Var *v;
		if (b && b->kind == NB_VAR && b->var->ty.kind == TY_PRIM && ty_eq(b->var->ty, tys[i])) {
			v = b->var;
		} else {
			if (b && b->kind != NB_VAR)
				perr(p, pn[2 * i]->loc, "duplicate parameter '%s'", name);
			v = var_new(p->A, name, tys[i]);
			bind_var(p, name, v);
		}
		f->params[i].var = v;
	}
	p->npnames = 0;
}

static void prim_func(P *p, Node *deco)
{
	int priv = 0, stir = 0, persistent = 0;
	if (deco->kind == N_CALL) {
		static const char *const kws[] = {"private", "s_tir", "persistent", "check_well_formed", NULL};
		check_args(p, deco, 0, 0, kws);
		Node *x;
		if ((x = kwarg(deco, "private")))
			priv = ev_bool(p, x, "private=");
		if ((x = kwarg(deco, "s_tir")))
			stir = ev_bool(p, x, "s_tir=");
		if ((x = kwarg(deco, "persistent")))
			persistent = ev_bool(p, x, "persistent=");
		if ((x = kwarg(deco, "check_well_formed")))
			ev_bool(p, x, "check_well_formed=");
	}
	expect_newline(p);
	if (!is_kw(p, "def"))
		perr(p, tok_loc(p, pk(p)), "expected 'def' after the decorator");
	p->pos++;
	Loc nloc = tok_loc(p, pk(p));
	Sym name = expect_name(p, "a function name");
	/* declare_funcs made at most one stub per name, and so does this */
	Func *f = NULL;
	intptr_t k = (intptr_t)pmap_get(&p->fidx, name);
	if (k) {
		if (p->fdone[k - 1])
			perr(p, nloc, "function '%s' is defined twice", name);
		p->fdone[k - 1] = 1;
		f = p->funcs[k - 1];
	}
	if (!f) {
		f = new_stub(p, name, nloc);
		p->fdone[p->nfuncs - 1] = 1;
	}
	f->loc = nloc;
	int smark = p->nb;
	/* A module-level TypeVar stands for a var of each function's own, as
	 * in TVM, so that no Var is shared between functions. */
	for (int i = 0; i < smark; i++) {
		Sym tv = p->b[i].name;
		if (p->b[i].kind == NB_TYPEVAR && lookup(p, tv) == &p->b[i])
			bind_push(p, tv, NB_TYPEVAR, var_new(p->A, tv, ty_prim(DT_I64)), NULL);
	}
	p->fn = f;
	p->stir = stir;
	f->attrs = NULL;
	if (accept_op(p, OP_LBRACK)) {
		while (!is_op(p, OP_RBRACK)) {
			Sym tv = expect_name(p, "a type parameter");
			if (accept_op(p, OP_COLON))
				expect_name(p, "'int'");
			bind_push(p, tv, NB_TYPEVAR, var_new(p->A, tv, ty_prim(DT_I64)), NULL);
			if (!accept_op(p, OP_COMMA))
				break;
		}
		expect_op(p, OP_RBRACK, "']'");
	}
	func_params(p, f);
	f->ret = ty_void();
	if (accept_op(p, OP_ARROW))
		f->ret = ev_type_anno(p, px_expr(p));
	expect_op(p, OP_COLON, "':'");
	f->body = parse_suite(p);
	if (!f->attrs)
		f->attrs = obj_new(p->A, OB_DICT);
	Obj *gs = obj_dict_get(f->attrs, "global_symbol");
	if (!priv && !gs)
		f->attrs = obj_dict_set(p->A, f->attrs, "global_symbol", obj_str(p->A, name));
	if (priv && gs)
		f->attrs = obj_dict_del(p->A, f->attrs, "global_symbol");
	if (stir)
		f->attrs = obj_dict_set(p->A, f->attrs, "s_tir", obj_bool(p->A, 1));
	if (persistent)
		f->attrs = obj_dict_set(p->A, f->attrs, "tirx.persistent_kernel", obj_bool(p->A, 1));
	scope_pop(p, smark);
	p->fn = NULL;
	mod_add(p->m, f);
}

/* ------------------------------------------------------------ files */

static void skip_line(P *p)
{
	while (pk(p)->kind != TK_NEWLINE && pk(p)->kind != TK_EOF)
		p->pos++;
	if (pk(p)->kind == TK_NEWLINE)
		p->pos++;
}

/* One header line (imports, TypeVars, metadata); 0 at the decorator. */
static int header_line(P *p)
{
	Tok *t = pk(p);
	Loc loc = tok_loc(p, t);
	if (t->kind == TK_NEWLINE) {
		p->pos++;
		return 1;
	}
	if (t->kind == TK_OP && t->op == OP_AT)
		return 0;
	if (t->kind == TK_NAME && (streq(t->s, "from") || streq(t->s, "import"))) {
		skip_line(p);
		return 1;
	}
	if (t->kind == TK_NAME && streq(t->s, "metadata") && pk_next(p)->kind == TK_OP &&
	    pk_next(p)->op == OP_ASSIGN) {
		p->has_meta = 1;
		skip_line(p);
		return 1;
	}
	if (t->kind == TK_NAME && streq(t->s, "return"))
		perr(p, loc, "'return' outside function");
	if (t->kind == TK_NAME && !is_keyword(t->s) && pk_next(p)->kind == TK_OP &&
	    pk_next(p)->op == OP_ASSIGN) {
		Sym name = t->s;
		p->pos += 2;
		Node *r = px_expr(p);
		if (r->kind != N_CALL || r->x->kind != N_NAME || !streq(r->x->s, "TypeVar") || r->n != 1 ||
		    r->a[0]->kind != N_STR)
			perr(p, r->loc, "only `N = TypeVar(\"N\")` is allowed before the function");
		/* bound first, so a mismatch is reported once, not again at every use */
		bind_push(p, name, NB_TYPEVAR, var_new(p->A, name, ty_prim(DT_I64)), NULL);
		if (r->a[0]->s != name)
			perr(p, r->a[0]->loc, "TypeVar \"%s\" is bound to the name '%s'; the names must match", r->a[0]->s, name);
		expect_newline(p);
		return 1;
	}
	if (t->kind == TK_ERROR)
		pquiet(p);
	if (t->kind == TK_EOF)
		perr(p, loc, "expected a @I.ir_module class or a @T.prim_func function, found end of file");
	perr(p, loc, "expected a @I.ir_module class or a @T.prim_func function");
}

static Node *decorator(P *p)
{
	expect_op(p, OP_AT, "'@'");
	Node *d = px_expr(p);
	Node *c = d->kind == N_CALL ? d->x : d;
	if (node_is_T(p, c, "prim_func"))
		return d;
	if (c->kind == N_ATTR && c->x->kind == N_NAME && (streq(c->x->s, "I") || streq(c->x->s, "tvm")) &&
	    streq(c->s, "ir_module"))
		return d;
	if (node_is_T(p, c, "macro") || node_is_T(p, c, "inline"))
		perr(p, d->loc, "macros (@T.%s) are not supported", c->s);
	perr(p, d->loc, "unsupported decorator (expected @I.ir_module or @T.prim_func)");
}

static int is_prim_func(P *p, Node *d)
{
	return node_is_T(p, d->kind == N_CALL ? d->x : d, "prim_func");
}

static void module_body(P *p)
{
	while (pk(p)->kind != TK_DEDENT && pk(p)->kind != TK_EOF) {
		jmp_buf jb, *outer = p->jb;
		volatile int smark = p->nb;
		tok_release(p);
		p->jb = &jb;
		if (setjmp(jb)) {
			p->jb = outer;
			scope_pop(p, smark);
			p->fn = NULL;
			p->nstk = 0;
			p->depth = 0;
			p->sdepth = 0;
			p->in_shape = 0;
			p->in_sig = 0;
			p->blevel = 0;
			sync(p);
			continue;
		}
		Tok *t = pk(p);
		Loc loc = tok_loc(p, t);
		if (t->kind == TK_OP && t->op == OP_AT) {
			Node *d = decorator(p);
			if (!is_prim_func(p, d))
				perr(p, d->loc, "a module may only contain @T.prim_func functions");
			prim_func(p, d);
		} else if (t->kind == TK_NAME && streq(t->s, "pass")) {
			p->pos++;
			expect_newline(p);
		} else if (t->kind == TK_NAME && streq(t->s, "def")) {
			perr(p, loc, "a function needs the @T.prim_func decorator");
		} else {
			Node *e = px_expr(p);
			Node *c = e->kind == N_CALL ? e->x : NULL;
			int ma = c && c->kind == N_ATTR && c->x->kind == N_NAME && streq(c->x->s, "I");
			if (ma && (streq(c->s, "module_attrs") || streq(c->s, "module_global_infos"))) {
				check_args(p, e, 1, 1, NULL);
				if (e->a[0]->kind != N_DICT)
					perr(p, e->a[0]->loc, "I.%s takes a dict", c->s);
				Obj *d = ev_obj(p, e->a[0]);
				if (c->s[7] == 'a')
					p->m->attrs = d;
				else
					p->m->global_infos = d;
				expect_newline(p);
			} else if (t->kind == TK_NAME && streq(t->s, "return")) {
				perr(p, loc, "'return' outside function");
			} else {
				perr(p, loc, "expected a @T.prim_func function or I.module_attrs(...) in the module");
			}
		}
		p->jb = outer;
	}
}

static void parse_file(P *p)
{
	jmp_buf jb;
	p->jb = &jb;
	volatile int done_header = 0;
	while (!done_header) {
		if (setjmp(jb)) {
			p->nstk = 0;
			p->depth = 0;
			sync(p);
			if (pk(p)->kind == TK_DEDENT)
				p->pos++;
			if (pk(p)->kind == TK_EOF)
				return;
			continue;
		}
		if (!header_line(p))
			done_header = 1;
	}
	if (setjmp(jb)) {
		/* a broken decorator or class line: nothing sensible follows */
		return;
	}
	Node *d = decorator(p);
	if (is_prim_func(p, d)) {
		p->m->is_module = 0;
		declare_funcs(p, 0);
		volatile int smark = p->nb;
		if (setjmp(jb)) {
			scope_pop(p, smark);
			p->fn = NULL;
			return;
		}
		prim_func(p, d);
	} else {
		if (d->kind == N_CALL) {
			static const char *const kws[] = {"check_well_formed", NULL};
			check_args(p, d, 0, 0, kws);
		}
		expect_newline(p);
		if (!is_kw(p, "class"))
			perr(p, tok_loc(p, pk(p)), "expected 'class' after @I.ir_module");
		p->pos++;
		p->m->name = expect_name(p, "a class name");
		p->m->is_module = 1;
		if (accept_op(p, OP_LPAREN)) {
			while (!is_op(p, OP_RPAREN) && pk(p)->kind != TK_EOF)
				p->pos++;
			expect_op(p, OP_RPAREN, "')'");
		}
		expect_op(p, OP_COLON, "':'");
		expect_newline(p);
		if (pk(p)->kind != TK_INDENT)
			perr(p, tok_loc(p, pk(p)), "expected an indented class body");
		p->pos++;
		declare_funcs(p, 1);
		module_body(p);
		if (pk(p)->kind == TK_DEDENT)
			p->pos++;
	}
	while (pk(p)->kind == TK_NEWLINE)
		p->pos++;
	if (pk(p)->kind != TK_EOF) {
		Tok *t = pk(p);
		if (t->kind != TK_ERROR)
			perr(p, tok_loc(p, t), "unexpected text after the %s", p->m->is_module ? "module" : "function");
	}
}

/* Frees the parser's own memory (not the module). */
static void p_free(P *p)
{
	lx_close(p->lx);
	for (int i = 0; i < p->ndefs; i++)
		free(p->defs[i].ret);
	free(p->defs);
	pmap_free(&p->fidx);
	pmap_free(&p->pidx);
	free(p->b);
	free(p->ht);
	free(p->stk);
	free(p->funcs);
	free(p->fdone);
	ar_free(p->tmp);
}

static void p_init(P *p, int file)
{
	memset(p, 0, sizeof *p);
	p->m = mod_new();
	p->A = p->m->arena;
	p->tmp = ar_new();
	p->file = file;
	p->m->name = sym("Module");
	g_lhs = NULL;
}

/* The one-pass attempt: the text is lexed as it is parsed, with no first
 * pass for lexer errors and `def` lines.  It stands only if it would have
 * reported nothing: no lexer error, no parse error or warning, and no call
 * of a function defined further down (declared by the first pass, unknown
 * here, so an error).  Anything else leaves at the first sign of it, and
 * the text is parsed again the two-pass way, which reports it.  Valid
 * input, the common case, is lexed once. */
static Module *parse_one_pass(int file, const char *text, size_t len)
{
	P *p = xmalloc(sizeof *p);
	jmp_buf bail;
	p_init(p, file);
	/* kept here too: a bail-out from inside a quoted shape leaves p->lx
	 * swapped out (px_str_expr parses with a lexer of its own) */
	Lx *lx = p->lx = lx_open(file, text, len, 0, 0, 1);
	Module *m = NULL;
	p->bail = &bail;
	if (!setjmp(bail)) {
		parse_file(p);
		if (!lx_errors(p->lx))
			m = p->m;
	}
	if (!m)
		mod_free(p->m);
	p->lx = lx;
	p_free(p);
	free(p);
	return m;
}

Module *tir_parse(const char *filename, const char *text, size_t len)
{
	int e0 = diag_errors();
	int file = diag_add_file(filename, text, len);
	Module *m = parse_one_pass(file, text, len);
	if (m) {
		if (!m->nfuncs) {
			mod_free(m);
			diag_error((Loc){file, 1, 1}, "no function in the input");
			return NULL;
		}
		return m;
	}
	P p;
	p_init(&p, file);
	if (scan_defs(&p, text, len) < 0) {
		p.lx = lx_open(file, text, len, 0, 0, 1);
		parse_file(&p);
	}
	p_free(&p);
	if (diag_errors() > e0) {
		mod_free(p.m);
		return NULL;
	}
	if (!p.m->nfuncs) {
		mod_free(p.m);
		diag_error((Loc){file, 1, 1}, "no function in the input");
		return NULL;
	}
	return p.m;
}
