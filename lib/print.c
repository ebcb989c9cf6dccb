/* print.c: the TVMScript-TIRx printer.
 *
 * The output is TVM HEAD's canonical printer output (see the grammar notes,
 * sections 5 and 6) with our deliberate deviations: strings are always inline,
 * DeclBuffer view sugar is never printed, pointer types carry their scope, and
 * a printed form is chosen only when re-parsing it builds the same node (the
 * parser and the printer share arith_binary_is_plain for that).
 *
 * Printing a function is two walks.  The scan walk finds what the text must
 * declare that no statement defines: free vars (`n = T.int32()`), thread vars
 * launched more than once or used outside their launch (`T.env_thread`), and
 * buffers used without a declaration (`X = T.Buffer(...)`).  Those are
 * declared just before the first top-level statement that uses them, except
 * a buffer first met as the node of an attr (MakePackedAPI's
 * storage_alignment), declared right before that attr, as TVM does.  The
 * print walk then writes the text, giving every Var and Buffer a name that is
 * unique among the names visible where it is defined; a name is released when
 * its scope (a loop, if, while or with body) closes, so siblings may reuse it.
 *
 * Vars and buffers are identified by pointer.  All state lives in two hash
 * tables and a few vectors that grow geometrically, so printing is linear in
 * the size of the IR and allocates nothing per node. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"

/* ------------------------------------------------------------ hash tables */

/* The object table maps Var/Buffer pointers to their printing state; the
 * name table maps name Syms to whether they are taken.  Both are open
 * addressing tables keyed by pointer, with the key first in the entry. */
enum {
	F_USED = 1 << 0,     /* used somewhere in the function */
	F_DEF = 1 << 1,      /* defined by a param, bind, loop, lambda, shape, decl */
	F_LAUNCH = 1 << 2,   /* the var of a thread launch */
	F_INLAUNCH = 1 << 3, /* scan: inside that launch's body right now */
	F_ENV = 1 << 4,      /* launched with T.env_thread + T.launch_thread(var, n) */
	F_BUF = 1 << 5,      /* the key is a Buffer */
	F_SCALAR = 1 << 6,   /* a buffer printed with the local scalar sugar */
	F_BOUND = 1 << 7,    /* signature: bound by an earlier parameter */
	F_TYPEVAR = 1 << 8,  /* signature: an int64 shape var printed as a TypeVar */
	F_ATTRBUF = 1 << 9,  /* a buffer declared nowhere, first met as an attr's
				node: its `X = T.Buffer(...)` goes right before
				that attr (its shape may use vars bound there);
				F_USED: used again after that attr */
};

typedef struct Ent {
	const void *key;
	Sym name;        /* the printed name while in scope */
	const Obj *iv;   /* F_ENV vars: the launch's IterVar (tag) */
	int32_t top;     /* index of the first top-level statement using it */
	int32_t order;   /* first-encounter order, to keep declarations stable */
	uint32_t flags;
} Ent;

typedef struct NEnt {
	Sym key;
	int32_t taken; /* 1 while some visible object has this name */
	int32_t next;  /* the next "_k" suffix worth trying for this base */
} NEnt;

typedef struct Map {
	char *e;
	size_t esz;    /* entry size; the key is the first member */
	size_t cap, n; /* cap is a power of two (or 0) */
} Map;

static size_t map_hash(const void *k)
{
	uint64_t x = (uint64_t)(uintptr_t)k;
	x ^= x >> 29;
	x *= 0x9e3779b97f4a7c15ull;
	return (size_t)(x >> 17);
}

#define KEY(m, i) (*(const void **)((m)->e + (i) * (m)->esz))

static void *map_find(const Map *m, const void *k)
{
	if (!m->cap)
		return NULL;
	for (size_t i = map_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const void *ki = KEY(m, i);
		if (ki == k)
			return m->e + i * m->esz;
		if (!ki)
			return NULL;
	}
}

/* Returns the entry for k, adding a zeroed one.  *isnew says which.
 * Entries move when the table grows: do not keep a pointer across calls. */
static void *map_get(Map *m, const void *k, int *isnew)
{
	if (2 * (m->n + 1) > m->cap) {
		size_t ncap = m->cap ? 2 * m->cap : 64;
		char *ne = xcalloc(ncap, m->esz);
		for (size_t j = 0; j < m->cap; j++) {
			const void *kj = KEY(m, j);
			if (!kj)
				continue;
			size_t i = map_hash(kj) & (ncap - 1);
			while (*(const void **)(ne + i * m->esz))
				i = (i + 1) & (ncap - 1);
			memcpy(ne + i * m->esz, m->e + j * m->esz, m->esz);
		}
		free(m->e);
		m->e = ne;
		m->cap = ncap;
	}
	size_t i = map_hash(k) & (m->cap - 1);
	while (KEY(m, i) && KEY(m, i) != k)
		i = (i + 1) & (m->cap - 1);
	char *e = m->e + i * m->esz;
	if (isnew)
		*isnew = !KEY(m, i);
	if (!KEY(m, i)) {
		*(const void **)e = k;
		m->n++;
	}
	return e;
}

/* Empties the table; a big one is dropped rather than cleared, so that a
 * module of many small functions after a big one stays linear. */
static void map_clear(Map *m)
{
	if (m->cap > 4096) {
		free(m->e);
		m->e = NULL;
		m->cap = 0;
	} else if (m->cap) {
		memset(m->e, 0, m->cap * m->esz);
	}
	m->n = 0;
}

/* ---------------------------------------------------------------- printer */

typedef struct P {
	Buf *b;
	int ind;            /* indentation level, 4 spaces each */
	int edepth, deepest; /* expression nesting now; deepest nesting written */
	size_t cut;          /* deepest > TIR_MAX_NEST: where the text was cut */
	PtrMap *names_out;   /* tir_print_names: Var* / Buffer* -> the name given */
	int stir;           /* the function is s_tir=True: layouts are implicit */
	const char *modpre; /* prefix of module function calls: "Module." or "" */
	Map obj;            /* Var/Buffer -> Ent */
	Map names;          /* Sym -> NEnt */
	struct { uint32_t key; uint8_t len; char s[31]; } dtc[64]; /* dtype strings */
	Vec scope;          /* keys of named objects, innermost last */
	/* scan state */
	int32_t top, order;
	/* declarations to print before top-level statements, sorted by top */
	struct Decl { const void *key; int32_t top, order; } *decls;
	int ndecls, capdecls, nextdecl;
	int sig;     /* pr_buffer_kwargs: the buffer is a parameter */
	int in_dims; /* pr_sig_dim is printing a shape dimension */
	Vec quoted;  /* vars a quoted shape dimension declared, in order */
	int unbound; /* visit_vars result: a var not bound yet */
	int typevar; /* visit_vars result: a var printed as a TypeVar */
	const Func *fn; /* the function whose TypeVars are collected */
	Vec tvars;      /* its TypeVars, first mention first */
} P;

static void pr_expr(P *p, const Expr *e, int ctx);
static void pr_block(P *p, const Stmt *s);
static void pr_obj(P *p, const Obj *o);

/* Appends n bytes.  The printer writes a few bytes at a time, tens of
 * millions of times for a big module, so the common case (room left) is
 * done here, inline; buf_put grows the buffer.  The text stays
 * NUL-terminated, as buf_put keeps it. */
static inline void putn(P *p, const char *s, size_t n)
{
	Buf *b = p->b;
	if (b->cap - b->n <= n) {
		buf_put(b, s, n);
		return;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
}

static void put(P *p, const char *s)
{
	putn(p, s, strlen(s));
}

/* A string literal, without strlen. */
#define PUTL(p, lit) putn((p), "" lit, sizeof(lit) - 1)

/* Names are Syms: their length is known. */
static void put_name(P *p, Sym s)
{
	putn(p, s, sym_len(s));
}

static void putc_(P *p, int c)
{
	Buf *b = p->b;
	if (b->cap - b->n <= 1) {
		buf_putc(b, c);
		return;
	}
	b->s[b->n++] = (char)c;
	b->s[b->n] = 0;
}

static void put_i64(P *p, int64_t v)
{
	char tmp[24], *e = tmp + sizeof tmp, *s = e;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do
		*--s = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--s = '-';
	putn(p, s, (size_t)(e - s));
}

static void put_u64(P *p, uint64_t u)
{
	char tmp[24], *e = tmp + sizeof tmp, *s = e;
	do
		*--s = (char)('0' + u % 10);
	while (u /= 10);
	putn(p, s, (size_t)(e - s));
}

static void indent(P *p)
{
	if (p->ind > p->deepest)
		p->deepest = p->ind;
	/* A line indented deeper than the reader takes: the text cannot read
	 * back, so it is not kept (its size could be quadratic in the input,
	 * as MakePackedAPI's messages repeat the signature); each further
	 * line overwrites the last. */
	if (p->ind > TIR_MAX_NEST) {
		if (!p->cut)
			p->cut = p->b->n + 1;
		p->b->n = p->cut - 1;
	}
	static const char sp[] = "                                                                ";
	size_t n = (size_t)p->ind * 4;
	while (n > 0) {
		size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
		putn(p, sp, k);
		n -= k;
	}
}

/* dt_str formats with snprintf: cache the strings, they are few. */
static void put_dtype(P *p, DType t)
{
	uint32_t key = ((uint32_t)t.code | (uint32_t)t.bits << 8 | (uint32_t)t.lanes << 16) + 1;
	unsigned h = (key * 0x9e3779b9u) >> 26;
	if (p->dtc[h].key != key) {
		char tmp[32];
		size_t n = strlen(dt_str(t, tmp));
		if (n >= sizeof p->dtc[h].s) {
			putn(p, tmp, n);
			return;
		}
		memcpy(p->dtc[h].s, tmp, n);
		p->dtc[h].len = (uint8_t)n;
		p->dtc[h].key = key;
	}
	putn(p, p->dtc[h].s, p->dtc[h].len);
}

/* A Python string literal: double quotes, TVM's StrEscape. */
static void put_str(P *p, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	putc_(p, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= ' ' && c <= '~' && c != '\\' && c != '"')
			continue;
		putn(p, s + run, i - run);
		run = i + 1;
		char esc[4] = {'\\', 0, 0, 0};
		size_t k = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\t': esc[1] = 't'; break;
		case '\r': esc[1] = 'r'; break;
		case '\n': esc[1] = 'n'; break;
		default:
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			k = 4;
		}
		putn(p, esc, k);
	}
	putn(p, s + run, n - run);
	putc_(p, '"');
}

static void put_sym_str(P *p, Sym s)
{
	if (!s)
		s = sym("");
	put_str(p, s, sym_len(s));
}

/* A float in TVM's LiteralDoc form: integral values with one decimal,
 * others with 17 significant digits; inf and nan as strings. */
static void put_float(P *p, double f)
{
	char tmp[512];
	if (isnan(f))
		PUTL(p, "\"nan\"");
	else if (isinf(f))
		put(p, f < 0 ? "\"-inf\"" : "\"inf\"");
	else if (nearbyint(f) == f && fabs(f) < 1e15) {
		/* integral and exact in an int64: skip snprintf */
		if (signbit(f))
			putc_(p, '-');
		put_i64(p, (int64_t)fabs(f));
		PUTL(p, ".0");
	} else {
		snprintf(tmp, sizeof tmp, nearbyint(f) == f ? "%.1f" : "%.17g", f);
		put(p, tmp);
	}
}

/* ------------------------------------------------------------------ names */

static const char *const reserved[] = {
	"T", "I", "R", "Module", "range", "metadata",
	"False", "None", "True", "and", "as", "assert", "async", "await", "break",
	"class", "continue", "def", "del", "elif", "else", "except", "finally",
	"for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
	"not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
};

static void names_reset(P *p)
{
	map_clear(&p->names);
	map_clear(&p->obj);
	p->scope.n = 0;
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		((NEnt *)map_get(&p->names, sym(reserved[i]), NULL))->taken = 1;
}

/* The hint as an identifier: other bytes become '_', a leading digit gets
 * a '_' in front, and an empty hint becomes dflt. */
static Sym sanitize(Sym hint, const char *dflt)
{
	size_t n = hint ? sym_len(hint) : 0;
	if (n == 0)
		return sym(dflt);
	int ok = !(hint[0] >= '0' && hint[0] <= '9');
	for (size_t i = 0; i < n && ok; i++) {
		char c = hint[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
	}
	if (ok)
		return hint;
	Buf t = {0};
	if (hint[0] >= '0' && hint[0] <= '9')
		buf_putc(&t, '_');
	for (size_t i = 0; i < n; i++) {
		char c = hint[i];
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		buf_putc(&t, keep ? c : '_');
	}
	Sym s = symn(t.s, t.n);
	buf_free(&t);
	return s;
}

/* Gives key a fresh name in the innermost scope: the hint if free, else
 * hint_1, hint_2, ... as TVM's GenerateUniqueName. */
static Sym define(P *p, const void *key, Sym hint, int isbuf)
{
	if (!key)
		return sym("None"); /* a hole in ill-formed IR: print something */
	Sym base = sanitize(hint, isbuf ? "buffer" : "v");
	NEnt *ne = map_get(&p->names, base, NULL);
	Sym name = base;
	if (ne->taken) {
		size_t bn = sym_len(base);
		char *tmp = xmalloc(bn + 24);
		memcpy(tmp, base, bn);
		int k = ne->next > 0 ? ne->next : 1;
		for (;; k++) {
			int len = snprintf(tmp + bn, 24, "_%d", k);
			name = symn(tmp, bn + (size_t)len);
			NEnt *c = map_find(&p->names, name);
			if (!c || !c->taken)
				break;
		}
		free(tmp);
		((NEnt *)map_get(&p->names, base, NULL))->next = k + 1;
	}
	((NEnt *)map_get(&p->names, name, NULL))->taken = 1;
	Ent *e = map_get(&p->obj, key, NULL);
	if (isbuf)
		e->flags |= F_BUF;
	e->name = name;
	vec_push(&p->scope, (void *)key);
	if (p->names_out)
		pmap_put(p->names_out, key, (void *)name);
	return name;
}

/* Frees the name of every object defined since mark.  A released "x_k"
 * lowers x's suffix counter so that the next x again tries x_k first. */
static void scope_close(P *p, int mark)
{
	while (p->scope.n > mark) {
		const void *key = p->scope.v[--p->scope.n];
		Ent *e = map_find(&p->obj, key);
		if (!e || !e->name)
			continue;
		Sym name = e->name;
		e->name = NULL;
		NEnt *ne = map_find(&p->names, name);
		if (ne)
			ne->taken = 0;
		size_t n = sym_len(name), i = n;
		while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
			i--;
		if (i > 1 && i < n && name[i - 1] == '_' && n - i < 10) {
			int k = atoi(name + i);
			NEnt *be = map_find(&p->names, symn(name, i - 1));
			if (be && be->next > k)
				be->next = k;
		}
	}
}

/* Makes a name available again while its object stays named: for an
 * object printed for the last time (its scope still ends as usual). */
static void release_name(P *p, Sym name)
{
	NEnt *ne = name ? map_find(&p->names, name) : NULL;
	if (ne)
		ne->taken = 0;
}

static Sym def_var(P *p, const Var *v)
{
	return define(p, v, v ? v->name : NULL, 0);
}

static Sym def_buf(P *p, const Buffer *b)
{
	return define(p, b, b ? b->name : NULL, 1);
}

static Sym var_name(P *p, const Var *v)
{
	if (!v)
		return sym("None");
	Ent *e = map_find(&p->obj, v);
	if (e && e->name)
		return e->name;
	/* Used outside any definition (ill-formed IR, or a diagnostic). */
	return def_var(p, v);
}

static Sym buf_name(P *p, const Buffer *b)
{
	if (!b)
		return sym("None");
	Ent *e = map_find(&p->obj, b);
	if (e && e->name)
		return e->name;
	return def_buf(p, b);
}

static int is_scalar_buf(P *p, const Buffer *b)
{
	Ent *e = map_find(&p->obj, b);
	return e && (e->flags & F_SCALAR);
}

/* A buffer as a value: `A`, or `x.buffer` for a local scalar. */
static void put_buf(P *p, const Buffer *b)
{
	put_name(p, buf_name(p, b));
	if (is_scalar_buf(p, b))
		PUTL(p, ".buffer");
}

/* ------------------------------------------------------------------ types */

/* A pointer type: bare T.handle for a global void*, else with its scope. */
static void put_ptr(P *p, TType t, int call)
{
	Sym scope = t.scope ? t.scope : sym("global");
	if (dt_is_void(t.dt)) {
		if (scope == sym("global")) {
			put(p, call ? "T.handle()" : "T.handle");
		} else {
			PUTL(p, "T.handle(storage_scope=");
			put_sym_str(p, scope);
			putc_(p, ')');
		}
		return;
	}
	PUTL(p, "T.handle(\"");
	put_dtype(p, t.dt);
	PUTL(p, "\", ");
	put_sym_str(p, scope);
	putc_(p, ')');
}

/* A type annotation: `T.int32`, `T.handle("float32", "global")`. */
static void put_type(P *p, TType t)
{
	switch (t.kind) {
	case TY_PRIM:
		PUTL(p, "T.");
		put_dtype(p, t.dt);
		break;
	case TY_PTR:
		put_ptr(p, t, 0);
		break;
	case TY_TENSORMAP:
		PUTL(p, "T.TensorMap()");
		break;
	default:
		PUTL(p, "None");
	}
}

/* A call's type in its dtype slot: "float32", "void", T.handle("int64", "global").ty. */
static void put_type_slot(P *p, TType t)
{
	switch (t.kind) {
	case TY_PRIM:
		putc_(p, '"');
		put_dtype(p, t.dt);
		putc_(p, '"');
		break;
	case TY_PTR:
		put_ptr(p, t, 1);
		PUTL(p, ".ty");
		break;
	case TY_TENSORMAP:
		PUTL(p, "T.TensorMap().ty");
		break;
	default:
		PUTL(p, "\"void\"");
	}
}

/* The right-hand side that creates a free var: `T.int32()`. */
static void put_var_creation(P *p, const Var *v)
{
	if (v->ty.kind == TY_PRIM) {
		PUTL(p, "T.");
		put_dtype(p, v->ty.dt);
		PUTL(p, "()");
	} else if (v->ty.kind == TY_PTR) {
		put_ptr(p, v->ty, 1);
	} else if (v->ty.kind == TY_TENSORMAP) {
		PUTL(p, "T.TensorMap()");
	} else {
		PUTL(p, "T.void()");
	}
}

/* ------------------------------------------------------------ expressions */

/* Python precedence levels, loosest first (TVM's ExprPrecedence). */
enum {
	PR_LAMBDA = 1,
	PR_OR = 3,
	PR_AND = 4,
	PR_NOT = 5,
	PR_CMP = 6,
	PR_BOR = 7,
	PR_BXOR = 8,
	PR_BAND = 9,
	PR_SHIFT = 10,
	PR_ADD = 11,
	PR_MUL = 12,
	PR_UNARY = 13,
	PR_ATOM = 15
};

static int is_const_int(const Expr *e, int64_t v)
{
	return e && e->kind == EX_INT && e->i == v;
}

/* The operator token when the node prints infix, else NULL. */
static const char *infix_op(const Expr *e, int *prec)
{
	const char *op = NULL;
	int pr = 0;
	switch (e->kind) {
	case EX_ADD: op = "+", pr = PR_ADD; break;
	case EX_SUB: op = "-", pr = PR_ADD; break;
	case EX_MUL: op = "*", pr = PR_MUL; break;
	case EX_DIV:
		/* integer Div is always T.Div: `/` on ints is a parse error */
		if (!dt_is_float(e->bin.a->dt) || !dt_is_float(e->bin.b->dt))
			return NULL;
		op = "/", pr = PR_MUL;
		break;
	case EX_FLOORDIV: op = "//", pr = PR_MUL; break;
	case EX_FLOORMOD: op = "%", pr = PR_MUL; break;
	case EX_EQ: op = "==", pr = PR_CMP; break;
	case EX_NE: op = "!=", pr = PR_CMP; break;
	case EX_LT: op = "<", pr = PR_CMP; break;
	case EX_LE: op = "<=", pr = PR_CMP; break;
	case EX_GT: op = ">", pr = PR_CMP; break;
	case EX_GE: op = ">=", pr = PR_CMP; break;
	case EX_AND: op = "and", pr = PR_AND; break;
	case EX_OR: op = "or", pr = PR_OR; break;
	default: return NULL;
	}
	if (!e->bin.a || !e->bin.b || !arith_binary_is_plain(e->kind, e->bin.a, e->bin.b))
		return NULL;
	*prec = pr;
	return op;
}

/* The operator of a bitwise or shift call that prints infix, as TVM 0.27
 * prints it (`a & b`, `a << 2`, `~a`), else NULL: only where re-reading the
 * operator builds the same call (the reader matches operand types and folds
 * constants; a call has neither). */
static const char *bit_infix(const Expr *e, int *prec)
{
	static const struct { const char *name, *op; int pr; } ops[] = {
		{"tirx.bitwise_and", "&", PR_BAND}, {"tirx.bitwise_or", "|", PR_BOR},
		{"tirx.bitwise_xor", "^", PR_BXOR}, {"tirx.shift_left", "<<", PR_SHIFT},
		{"tirx.shift_right", ">>", PR_SHIFT}, {"tirx.bitwise_not", "~", PR_UNARY},
	};
	const Op *op = e->call.op;
	if (!op || !op->name)
		return NULL;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(op->name, ops[i].name) != 0)
			continue;
		int unary = ops[i].pr == PR_UNARY;
		if (e->call.nargs != (unary ? 1 : 2))
			return NULL;
		const Expr *a = e->call.args[0], *b = unary ? NULL : e->call.args[1];
		if (!a || (!unary && !b) || !dt_eq(e->dt, a->dt) || (b && !dt_eq(a->dt, b->dt)))
			return NULL;
		if (!dt_is_int(a->dt) && a->dt.code != DT_BOOL)
			return NULL;
		int ca = a->kind == EX_INT, cb = !b || b->kind == EX_INT;
		if (ca && cb)
			return NULL; /* the reader folds two constants */
		if (b && b->kind == EX_INT && b->i == 0 && ops[i].pr == PR_SHIFT)
			return NULL; /* x << 0 reads as x */
		*prec = ops[i].pr;
		return ops[i].op;
	}
	return NULL;
}

/* `not x` unless x is a constant, which the parser would fold. */
static int not_is_infix(const Expr *e)
{
	return e->bin.a && e->bin.a->kind != EX_INT && e->bin.a->kind != EX_FLOAT;
}

static const char *const call_name[EX_COUNT] = {
	[EX_ADD] = "T.Add", [EX_SUB] = "T.Sub", [EX_MUL] = "T.Mul", [EX_DIV] = "T.Div",
	[EX_MOD] = "T.truncmod", [EX_FLOORDIV] = "T.FloorDiv", [EX_FLOORMOD] = "T.FloorMod",
	[EX_MIN] = "T.Min", [EX_MAX] = "T.Max", [EX_EQ] = "T.EQ", [EX_NE] = "T.NE",
	[EX_LT] = "T.LT", [EX_LE] = "T.LE", [EX_GT] = "T.GT", [EX_GE] = "T.GE",
	[EX_AND] = "T.And", [EX_OR] = "T.Or",
};

static void pr_args(P *p, Expr *const *a, int n)
{
	for (int i = 0; i < n; i++) {
		if (i)
			PUTL(p, ", ");
		pr_expr(p, a[i], 0);
	}
}

static void pr_int(P *p, const Expr *e)
{
	DType t = e->dt;
	if (t.code == DT_INT && t.bits == 32 && t.lanes == 1) {
		put_i64(p, e->i);
		return;
	}
	/* TVM 0.27's T has no int1/int4/uint1 constructors, and T.uint64 cannot
	 * take a value above INT64_MAX: those print as T.IntImm("dtype", v),
	 * which TVM reads back */
	int std = t.lanes == 1 && (t.bits == 8 || t.bits == 16 || t.bits == 32 || t.bits == 64);
	if (t.code != DT_BOOL && (!std || (t.code == DT_UINT && t.bits == 64 && e->i < 0))) {
		PUTL(p, "T.IntImm(\"");
		put_dtype(p, t);
		PUTL(p, "\", ");
	} else {
		PUTL(p, "T.");
		put_dtype(p, t);
		putc_(p, '(');
	}
	if (t.code == DT_BOOL)
		put(p, e->i ? "True" : "False");
	else if (t.code == DT_UINT)
		put_u64(p, t.bits < 64 ? (uint64_t)e->i & ((1ull << t.bits) - 1) : (uint64_t)e->i);
	else
		put_i64(p, e->i);
	putc_(p, ')');
}

/* The end of a slice: base + lanes * stride, built the way TVM's `+` folds
 * it (constant + constant folds; anything else stays an Add). */
static void pr_slice_stop(P *p, const Expr *base, int64_t delta)
{
	DType t = base->dt;
	Expr c = {.kind = EX_INT, .dt = t};
	c.i = delta;
	if (base->kind == EX_INT) {
		c.i = (int64_t)((uint64_t)base->i + (uint64_t)delta);
		pr_expr(p, &c, 0);
		return;
	}
	Expr add = {.kind = EX_ADD, .dt = t};
	add.bin.a = (Expr *)base;
	add.bin.b = &c;
	pr_expr(p, &add, 0);
}

/* Buffer indices; a ramp with a constant non-zero stride prints as a slice
 * `i:i + 4` or `i:i + 8:2`. */
static void pr_indices(P *p, Expr *const *idx, int n, int slices)
{
	for (int i = 0; i < n; i++) {
		const Expr *x = idx[i];
		if (i)
			PUTL(p, ", ");
		if (slices && x && x->kind == EX_RAMP && x->ramp.stride && x->ramp.base &&
		    x->ramp.stride->kind == EX_INT && x->ramp.stride->i != 0 && x->dt.lanes > 0) {
			int64_t stride = x->ramp.stride->i;
			pr_expr(p, x->ramp.base, 0);
			putc_(p, ':');
			pr_slice_stop(p, x->ramp.base, (int64_t)((uint64_t)stride * x->dt.lanes));
			if (stride != 1) {
				putc_(p, ':');
				pr_expr(p, x->ramp.stride, 0);
			}
			continue;
		}
		pr_expr(p, x, 0);
	}
}

static void pr_load(P *p, const Expr *e)
{
	const Buffer *b = e->load.buf;
	if (!e->load.pred && is_scalar_buf(p, b) && e->load.nidx == 1 && is_const_int(e->load.idx[0], 0)) {
		put_name(p, buf_name(p, b));
		return;
	}
	put_buf(p, b);
	if (e->load.pred) {
		PUTL(p, ".vload([");
		pr_indices(p, e->load.idx, e->load.nidx, 0);
		PUTL(p, "], predicate=");
		pr_expr(p, e->load.pred, 0);
		putc_(p, ')');
		return;
	}
	if (e->load.nidx == 0) {
		PUTL(p, "[()]");
		return;
	}
	putc_(p, '[');
	pr_indices(p, e->load.idx, e->load.nidx, 0);
	putc_(p, ']');
}

static void pr_call(P *p, const Expr *e)
{
	const Op *op = e->call.op;
	int n = e->call.nargs;
	Expr *const *a = e->call.args;
	if (!op) {
		put(p, p->modpre);
		put(p, e->call.fn ? e->call.fn : "unknown");
		putc_(p, '(');
		pr_args(p, a, n);
		putc_(p, ')');
		return;
	}
	PUTL(p, "T.");
	put(p, op->script);
	putc_(p, '(');
	if (!strcmp(op->name, "tirx.cuda.func_call") && n > 0) {
		/* the source is a keyword; a result type follows unless void */
		pr_args(p, a, n - 1);
		if (n > 1)
			PUTL(p, ", ");
		PUTL(p, "source_code=");
		pr_expr(p, a[n - 1], 0);
		if (!(e->call.rty.kind == TY_VOID || (e->call.rty.kind == TY_PRIM && dt_is_void(e->call.rty.dt)))) {
			PUTL(p, ", return_type=");
			put_type_slot(p, e->call.rty);
		}
		putc_(p, ')');
		return;
	}
	Obj *lp = call_launch_params(e);
	if (lp && !strcmp(op->name, "tirx.call_ffi_kernel")) {
		/* TVM 0.27's spelling: the tags, then the result type (always) */
		pr_args(p, a, n);
		if (n)
			PUTL(p, ", ");
		PUTL(p, "launch_params=");
		pr_obj(p, lp);
		PUTL(p, ", ret_ty=");
		put_type_slot(p, e->call.rty);
		putc_(p, ')');
		return;
	}
	int first = 1;
	if (op->dtloc == DTLOC_FIRST) {
		put_type_slot(p, e->call.rty);
		first = 0;
	}
	if (n) {
		if (!first)
			PUTL(p, ", ");
		pr_args(p, a, n);
		first = 0;
	}
	if (op->dtloc == DTLOC_LAST) {
		if (!first)
			PUTL(p, ", ");
		put_type_slot(p, e->call.rty);
	} else if (op->dtloc == DTLOC_NONE && op->rule == RT_GIVEN) {
		/* the type is not implied by the arguments: say it */
		if (!first)
			PUTL(p, ", ");
		PUTL(p, "dtype=");
		put_type_slot(p, e->call.rty);
	}
	putc_(p, ')');
}

/* Prints e, in parentheses when it binds looser than ctx requires. */
static void pr_expr1(P *p, const Expr *e, int ctx);

/* Counts the nesting it writes, for tir_print's answer. */
static void pr_expr(P *p, const Expr *e, int ctx)
{
	if (++p->edepth + p->ind > p->deepest)
		p->deepest = p->edepth + p->ind;
	pr_expr1(p, e, ctx);
	p->edepth--;
}

static void pr_expr1(P *p, const Expr *e, int ctx)
{
	if (!e) {
		PUTL(p, "None");
		return;
	}
	int pr;
	const char *op;
	switch (e->kind) {
	case EX_INT:
		pr_int(p, e);
		return;
	case EX_FLOAT:
		PUTL(p, "T.");
		put_dtype(p, e->dt);
		putc_(p, '(');
		put_float(p, e->f);
		putc_(p, ')');
		return;
	case EX_STR:
		put_sym_str(p, e->s);
		return;
	case EX_VAR:
		put_name(p, var_name(p, e->var));
		return;
	case EX_BUFDATA:
		put_buf(p, e->buf);
		PUTL(p, ".data");
		return;
	case EX_BUFREF:
		put_buf(p, e->buf);
		return;
	case EX_NOT:
		if (not_is_infix(e)) {
			if (ctx > PR_NOT)
				putc_(p, '(');
			PUTL(p, "not ");
			pr_expr(p, e->bin.a, PR_NOT);
			if (ctx > PR_NOT)
				putc_(p, ')');
		} else {
			PUTL(p, "T.Not(");
			pr_expr(p, e->bin.a, 0);
			putc_(p, ')');
		}
		return;
	case EX_CAST:
		PUTL(p, "T.Cast(\"");
		put_dtype(p, e->dt);
		PUTL(p, "\", ");
		pr_expr(p, e->bin.a, 0);
		putc_(p, ')');
		return;
	case EX_SELECT:
		PUTL(p, "T.Select(");
		pr_expr(p, e->sel.c, 0);
		PUTL(p, ", ");
		pr_expr(p, e->sel.t, 0);
		PUTL(p, ", ");
		pr_expr(p, e->sel.f, 0);
		putc_(p, ')');
		return;
	case EX_RAMP:
		PUTL(p, "T.Ramp(");
		pr_expr(p, e->ramp.base, 0);
		PUTL(p, ", ");
		pr_expr(p, e->ramp.stride, 0);
		PUTL(p, ", ");
		put_i64(p, e->dt.lanes);
		putc_(p, ')');
		return;
	case EX_BROADCAST:
		PUTL(p, "T.Broadcast(");
		pr_expr(p, e->bcast.value, 0);
		PUTL(p, ", ");
		put_i64(p, e->dt.lanes);
		putc_(p, ')');
		return;
	case EX_SHUFFLE:
		PUTL(p, "T.Shuffle([");
		pr_args(p, e->shuf.vecs, e->shuf.nvecs);
		PUTL(p, "], [");
		pr_args(p, e->shuf.idx, e->shuf.nidx);
		PUTL(p, "])");
		return;
	case EX_LET:
		PUTL(p, "T.Let(");
		pr_expr(p, e->let.body, 0);
		PUTL(p, ", where={");
		put_name(p, var_name(p, e->let.var));
		PUTL(p, ": ");
		pr_expr(p, e->let.value, 0);
		PUTL(p, "})");
		return;
	case EX_LOAD:
		pr_load(p, e);
		return;
	case EX_CALL:
		if ((op = bit_infix(e, &pr))) {
			if (pr < ctx)
				putc_(p, '(');
			if (pr == PR_UNARY) {
				putc_(p, '~');
				pr_expr(p, e->call.args[0], PR_UNARY);
			} else {
				pr_expr(p, e->call.args[0], pr);
				putc_(p, ' ');
				put(p, op);
				putc_(p, ' ');
				pr_expr(p, e->call.args[1], pr + 1);
			}
			if (pr < ctx)
				putc_(p, ')');
			return;
		}
		pr_call(p, e);
		return;
	default:
		break;
	}
	if (e->kind < EX_ADD || e->kind > EX_OR) {
		PUTL(p, "None");
		return;
	}
	op = infix_op(e, &pr);
	if (!op) {
		/* min/max have no operator: the folding spelling when it rebuilds
		 * the same node, else the raw node's constructor */
		if ((e->kind == EX_MIN || e->kind == EX_MAX) && e->bin.a && e->bin.b &&
		    arith_binary_is_plain(e->kind, e->bin.a, e->bin.b))
			put(p, e->kind == EX_MIN ? "T.min" : "T.max");
		else
			put(p, call_name[e->kind]);
		putc_(p, '(');
		pr_expr(p, e->bin.a, 0);
		PUTL(p, ", ");
		pr_expr(p, e->bin.b, 0);
		putc_(p, ')');
		return;
	}
	if (pr < ctx)
		putc_(p, '(');
	/* Comparisons never chain: a comparison operand of a comparison is
	 * parenthesised on either side. */
	pr_expr(p, e->bin.a, pr == PR_CMP ? pr + 1 : pr);
	putc_(p, ' ');
	put(p, op);
	putc_(p, ' ');
	pr_expr(p, e->bin.b, pr + 1);
	if (pr < ctx)
		putc_(p, ')');
}

/* ---------------------------------------------------------------- objects */

static int key_cmp(const void *x, const void *y)
{
	const Obj *a = **(Obj *const *const *)x, *b = **(Obj *const *const *)y;
	return strcmp(a->s, b->s);
}

/* A dict: string keys sorted (TVM sorts string-keyed maps), other keys in
 * insertion order.  skip names keys to leave out (func_attr). */
static void pr_dict(P *p, const Obj *d, const char *const *skip, int nskip)
{
	int n = d->dict.n, allstr = 1;
	for (int i = 0; i < n; i++)
		if (!d->dict.keys[i] || d->dict.keys[i]->kind != OB_STR)
			allstr = 0;
	/* Sort pointers to the key slots; the value is found by offset. */
	Obj **small[32];
	Obj ***ord = n <= 32 ? small : xmalloc((size_t)n * sizeof *ord);
	for (int i = 0; i < n; i++)
		ord[i] = &d->dict.keys[i];
	if (allstr && n > 1)
		qsort(ord, (size_t)n, sizeof *ord, key_cmp);
	putc_(p, '{');
	int first = 1;
	for (int j = 0; j < n; j++) {
		int i = (int)(ord[j] - d->dict.keys);
		const Obj *k = d->dict.keys[i];
		int skipped = 0;
		for (int s = 0; s < nskip && allstr; s++)
			if (skip[s] && !strcmp(k->s, skip[s]))
				skipped = 1;
		if (skipped)
			continue;
		if (!first)
			PUTL(p, ", ");
		first = 0;
		pr_obj(p, k);
		PUTL(p, ": ");
		const Obj *v = d->dict.vals[i];
		/* a target's host prints as its plain config dict */
		if (v && v->kind == OB_TARGET && v->target && v->target->kind == OB_DICT && allstr &&
		    !strcmp(k->s, "host"))
			pr_dict(p, v->target, NULL, 0);
		else
			pr_obj(p, v);
	}
	putc_(p, '}');
	if (ord != small)
		free(ord);
}

static void pr_reducer(P *p, const Obj *o)
{
	int mark = p->scope.n, n = o->red.n;
	PUTL(p, "T.comm_reducer(lambda ");
	for (int i = 0; i < 2 * n; i++) {
		const Var *v = i < n ? o->red.lhs[i] : o->red.rhs[i - n];
		if (i)
			PUTL(p, ", ");
		put_name(p, def_var(p, v));
	}
	PUTL(p, ": ");
	if (n == 1) {
		pr_expr(p, o->red.result[0], PR_LAMBDA);
	} else {
		putc_(p, '(');
		pr_args(p, o->red.result, n);
		putc_(p, ')');
	}
	scope_close(p, mark);
	PUTL(p, ", [");
	pr_args(p, o->red.identity, n);
	PUTL(p, "])");
}

static void pr_obj(P *p, const Obj *o)
{
	if (!o) {
		PUTL(p, "None");
		return;
	}
	switch (o->kind) {
	case OB_NONE:
		PUTL(p, "None");
		break;
	case OB_BOOL:
		put(p, o->i ? "True" : "False");
		break;
	case OB_INT:
		put_i64(p, o->i);
		break;
	case OB_FLOAT:
		if (isnan(o->f) || isinf(o->f)) {
			PUTL(p, "float(");
			put_float(p, o->f);
			putc_(p, ')');
		} else {
			put_float(p, o->f);
		}
		break;
	case OB_STR:
		put_sym_str(p, o->s);
		break;
	case OB_LIST:
		putc_(p, '[');
		for (int i = 0; i < o->list.n; i++) {
			if (i)
				PUTL(p, ", ");
			pr_obj(p, o->list.items[i]);
		}
		putc_(p, ']');
		break;
	case OB_DICT:
		pr_dict(p, o, NULL, 0);
		break;
	case OB_TARGET:
		PUTL(p, "T.target(");
		if (o->target && o->target->kind == OB_DICT)
			pr_dict(p, o->target, NULL, 0);
		else
			pr_obj(p, o->target);
		putc_(p, ')');
		break;
	case OB_EXPR:
		pr_expr(p, o->expr, 0);
		break;
	case OB_BUFFER:
		put_buf(p, o->buf);
		break;
	case OB_ITERVAR:
		put_name(p, var_name(p, o->iv.var));
		break;
	case OB_REDUCER:
		pr_reducer(p, o);
		break;
	case OB_METADATA:
		PUTL(p, "metadata[");
		put_sym_str(p, o->meta.key);
		putc_(p, ']');
		putc_(p, '[');
		put_i64(p, o->meta.index);
		putc_(p, ']');
		break;
	default:
		PUTL(p, "None");
	}
}

/* -------------------------------------------------------------- buffers */

static int expr_is_zero(const Expr *e)
{
	return !e || (e->kind == EX_INT && e->i == 0 && e->dt.code == DT_INT && e->dt.bits == 32);
}

static void pr_tuple(P *p, Expr *const *a, int n)
{
	putc_(p, '(');
	pr_args(p, a, n);
	if (n == 1)
		putc_(p, ',');
	putc_(p, ')');
}

static void pr_sig_dim(P *p, const Expr *e);
static int is_bound(P *p, const Var *v);

/* What follows a buffer's shape: `, dtype, data=, strides=, elem_offset=,
 * scope=, align=, offset_factor=, layout=, annotations=`, defaults left out. */
static void pr_buffer_kwargs(P *p, const Buffer *b, const Expr *data, int want_dtype, int want_scope,
			     const Obj *ann)
{
	if (want_dtype || !dt_eq(b->dt, DT_F32)) {
		PUTL(p, ", \"");
		put_dtype(p, b->dt);
		putc_(p, '"');
	}
	if (data) {
		PUTL(p, ", data=");
		pr_expr(p, data, 0);
	}
	int sig = p->sig;
	p->sig = 0;
	if (b->nstrides > 0) {
		PUTL(p, ", strides=");
		if (sig) {
			putc_(p, '(');
			for (int i = 0; i < b->nstrides; i++) {
				if (i)
					PUTL(p, ", ");
				const Expr *st = b->strides[i];
				int fresh = st->kind == EX_VAR && !is_bound(p, st->var);
				pr_sig_dim(p, st);
				if (fresh) {
					/* TVM binds a quoted stride var to no name: uses
					 * read B.strides[i] */
					Buf nm = {0};
					buf_printf(&nm, "%s.strides[%d]", buf_name(p, b), i);
					((Ent *)map_get(&p->obj, st->var, NULL))->name = symn(nm.s, nm.n);
					buf_free(&nm);
				}
			}
			if (b->nstrides == 1)
				putc_(p, ',');
			putc_(p, ')');
		} else {
			pr_tuple(p, b->strides, b->nstrides);
		}
	}
	/* A parameter's elem_offset that is a var nothing bound yet is left
	 * out with its offset_factor written, TVM's way of declaring it; uses
	 * print as B.elem_offset.  An offset factor with a zero offset writes
	 * elem_offset=0, or the reader would make that var. */
	int implicit_off = sig && b->elem_offset && b->elem_offset->kind == EX_VAR &&
			   dt_eq(b->elem_offset->dt, DT_I32) && !is_bound(p, b->elem_offset->var);
	if (implicit_off) {
		Buf nm = {0};
		buf_printf(&nm, "%s.elem_offset", buf_name(p, b));
		Ent *e = map_get(&p->obj, b->elem_offset->var, NULL);
		e->name = symn(nm.s, nm.n);
		e->flags |= F_BOUND;
		vec_push(&p->scope, (void *)b->elem_offset->var);
		buf_free(&nm);
	} else if (buf_elem_offset(b) || b->offset_factor != 1) {
		PUTL(p, ", elem_offset=");
		if (b->elem_offset)
			pr_expr(p, b->elem_offset, 0);
		else
			putc_(p, '0');
	}
	if (want_scope && b->scope && b->scope != sym("global")) {
		PUTL(p, ", scope=");
		put_sym_str(p, b->scope);
	}
	if (b->align != 64) {
		PUTL(p, ", align=");
		put_i64(p, b->align);
	}
	if (b->offset_factor != 1 || implicit_off) {
		PUTL(p, ", offset_factor=");
		put_i64(p, b->offset_factor);
	}
	if (!p->stir && b->layout == LAYOUT_NONE)
		PUTL(p, ", layout=None");
	if (ann && ann->kind == OB_DICT && ann->dict.n > 0) {
		PUTL(p, ", annotations=");
		pr_obj(p, ann);
	}
}

/* fn(shape, ...) */
static void pr_buffer_call(P *p, const char *fn, const Buffer *b, const Expr *data, int want_dtype,
			   int want_scope, const Obj *ann)
{
	put(p, fn);
	putc_(p, '(');
	pr_tuple(p, b->shape, b->ndim);
	pr_buffer_kwargs(p, b, data, want_dtype, want_scope, ann);
	putc_(p, ')');
}

/* AllocBuffer of a local (1,) buffer with the default layout in a non-s_tir
 * function: printed `x: T.float32`, used as `x`. */
static int alloc_is_scalar(const P *p, const Stmt *s)
{
	const Buffer *b = s->alloc.buf;
	return b->ndim == 1 && b->shape[0] && b->shape[0]->kind == EX_INT &&
	       b->shape[0]->i == 1 && dt_eq(b->shape[0]->dt, DT_I32) && b->nstrides == 0 &&
	       expr_is_zero(b->elem_offset) && b->align == 64 && b->offset_factor == 1 &&
	       b->layout == LAYOUT_DEFAULT && b->scope == sym("local") &&
	       !(s->alloc.annotations && s->alloc.annotations->kind == OB_DICT &&
		 s->alloc.annotations->dict.n > 0);
}

/* ------------------------------------------------------------- statements */

static void line_end(P *p)
{
	putc_(p, '\n');
}

/* Prints the declarations due before top-level statement `top`. */
static void pr_decls(P *p, int32_t top)
{
	while (p->nextdecl < p->ndecls && p->decls[p->nextdecl].top <= top) {
		const void *key = p->decls[p->nextdecl++].key;
		Ent *e = map_find(&p->obj, key);
		if (!e || e->name)
			continue; /* named already (ill-formed order): nothing to declare */
		uint32_t flags = e->flags;
		const Obj *iv = e->iv;
		indent(p);
		if (flags & F_BUF) {
			const Buffer *b = key;
			Sym name = def_buf(p, b);
			put_name(p, name);
			PUTL(p, " = ");
			pr_buffer_call(p, "T.Buffer", b, NULL, 0, 1, NULL);
		} else {
			const Var *v = key;
			put_name(p, def_var(p, v));
			PUTL(p, " = ");
			if ((flags & F_ENV) && iv) {
				PUTL(p, "T.env_thread(");
				put_sym_str(p, iv->iv.tag);
				if (!dt_eq(v->dt, DT_I32)) {
					PUTL(p, ", \"");
					put_dtype(p, v->dt);
					putc_(p, '"');
				}
				putc_(p, ')');
			} else {
				put_var_creation(p, v);
			}
		}
		line_end(p);
	}
}

static int is_launch(const Stmt *s)
{
	const Obj *n = s->attr.node;
	return n && n->kind == OB_ITERVAR && n->iv.var &&
	       (s->attr.key == sym("thread_extent") || s->attr.key == sym("virtual_thread"));
}

static int is_dict_attr(const Stmt *s)
{
	return s && s->kind == ST_ATTR && s->attr.node && s->attr.node->kind == OB_INT &&
	       s->attr.node->i == 0 && s->attr.key;
}

/* The launch var a T.launch_thread("tag", n) defines, or NULL when the var
 * is already named (a param, or declared with T.env_thread). */
static const Var *launch_def(P *p, const Stmt *s)
{
	if (!is_launch(s))
		return NULL;
	const Var *v = s->attr.node->iv.var;
	Ent *e = map_find(&p->obj, v);
	if (e && (e->name || (e->flags & F_ENV)))
		return NULL;
	return v;
}

/* Writes the header expression of an attr statement (or a chain of node-0
 * attrs) and returns the body it scopes over. */
static const Stmt *pr_attr_head(P *p, const Stmt *s, const Var *def)
{
	if (is_launch(s)) {
		PUTL(p, "T.launch_thread(");
		if (def)
			put_sym_str(p, s->attr.node->iv.tag);
		else
			put_name(p, var_name(p, s->attr.node->iv.var));
		PUTL(p, ", ");
		pr_expr(p, s->attr.value, 0);
		putc_(p, ')');
		return s->attr.body;
	}
	if (is_dict_attr(s)) {
		/* nested node-0 attrs collapse into one dict, until a key repeats */
		const Stmt *c = s;
		PUTL(p, "T.attr({");
		for (int first = 1;; first = 0) {
			if (!first)
				PUTL(p, ", ");
			put_sym_str(p, c->attr.key);
			PUTL(p, ": ");
			pr_expr(p, c->attr.value, 0);
			const Stmt *nx = c->attr.body;
			if (!is_dict_attr(nx))
				break;
			int dup = 0;
			for (const Stmt *q = s; q != nx; q = q->attr.body)
				if (q->attr.key == nx->attr.key)
					dup = 1;
			if (dup)
				break;
			c = nx;
		}
		PUTL(p, "})");
		return c->attr.body;
	}
	PUTL(p, "T.attr(");
	pr_obj(p, s->attr.node);
	PUTL(p, ", ");
	put_sym_str(p, s->attr.key);
	PUTL(p, ", ");
	pr_expr(p, s->attr.value, 0);
	putc_(p, ')');
	return s->attr.body;
}

static int trivial_step(const Expr *step)
{
	return !step || (step->kind == EX_INT && step->i == 1);
}

static int expr_uses(const Expr *e, const Var *const *vars, int n);

static int exprs_use(Expr *const *a, int k, const Var *const *vars, int n)
{
	for (int i = 0; i < k; i++)
		if (expr_uses(a[i], vars, n))
			return 1;
	return 0;
}

/* Whether e mentions one of vars (T.grid extents must not). */
static int expr_uses(const Expr *e, const Var *const *vars, int n)
{
	if (!e)
		return 0;
	switch (e->kind) {
	case EX_VAR:
		for (int i = 0; i < n; i++)
			if (vars[i] == e->var)
				return 1;
		return 0;
	case EX_INT: case EX_FLOAT: case EX_STR: case EX_BUFDATA: case EX_BUFREF:
		return 0;
	case EX_SELECT:
		return expr_uses(e->sel.c, vars, n) || expr_uses(e->sel.t, vars, n) ||
		       expr_uses(e->sel.f, vars, n);
	case EX_RAMP:
		return expr_uses(e->ramp.base, vars, n) || expr_uses(e->ramp.stride, vars, n);
	case EX_BROADCAST:
		return expr_uses(e->bcast.value, vars, n);
	case EX_SHUFFLE:
		return exprs_use(e->shuf.vecs, e->shuf.nvecs, vars, n) ||
		       exprs_use(e->shuf.idx, e->shuf.nidx, vars, n);
	case EX_LET:
		return expr_uses(e->let.value, vars, n) || expr_uses(e->let.body, vars, n);
	case EX_LOAD:
		return exprs_use(e->load.idx, e->load.nidx, vars, n) || expr_uses(e->load.pred, vars, n);
	case EX_CALL:
		return exprs_use(e->call.args, e->call.nargs, vars, n);
	default:
		return expr_uses(e->bin.a, vars, n) ||
		       (e->kind != EX_NOT && e->kind != EX_CAST && expr_uses(e->bin.b, vars, n));
	}
}

/* Loop annotations.  TVM 0.27 prints {"pragma_unroll": n} as `unroll=n` and
 * {"disable_unroll": True} as `unroll=False`, but its parser rejects that
 * keyword: the dict form reads back in both. */
static void pr_loop_annotations(P *p, const Obj *ann)
{
	PUTL(p, "annotations=");
	pr_obj(p, ann);
}

static void pr_for(P *p, const Stmt *s)
{
	enum { MAXGRID = 64 };
	const Var *gv[MAXGRID];
	const Stmt *gl[MAXGRID];
	int ng = 0;
	for (const Stmt *l = s; l && l->kind == ST_FOR && ng < MAXGRID; l = l->loop.body) {
		const Obj *ann = l->loop.annotations;
		if (l->loop.kind != FOR_SERIAL || !is_const_int(l->loop.min, 0) ||
		    (ann && ann->kind == OB_DICT && ann->dict.n > 0) || !trivial_step(l->loop.step) ||
		    expr_uses(l->loop.extent, gv, ng))
			break;
		gv[ng] = l->loop.var;
		gl[ng++] = l;
	}
	int mark = p->scope.n;
	const Stmt *body;
	indent(p);
	PUTL(p, "for ");
	if (ng > 1) {
		for (int i = 0; i < ng; i++) {
			if (i)
				PUTL(p, ", ");
			put_name(p, def_var(p, gv[i]));
		}
		PUTL(p, " in T.grid(");
		for (int i = 0; i < ng; i++) {
			if (i)
				PUTL(p, ", ");
			pr_expr(p, gl[i]->loop.extent, 0);
		}
		putc_(p, ')');
		body = gl[ng - 1]->loop.body;
	} else {
		const Obj *ann = s->loop.annotations;
		int has_ann = ann && ann->kind == OB_DICT && ann->dict.n > 0;
		int range = s->loop.kind == FOR_SERIAL && !has_ann;
		static const char *const kinds[] = {"T.serial(", "T.parallel(", "T.vectorized(", "T.unroll(",
						    "T.thread_binding("};
		put_name(p, def_var(p, s->loop.var));
		PUTL(p, " in ");
		put(p, range ? "range(" : kinds[s->loop.kind <= FOR_THREAD_BINDING ? s->loop.kind : 0]);
		if (is_const_int(s->loop.min, 0) && trivial_step(s->loop.step)) {
			pr_expr(p, s->loop.extent, 0);
		} else {
			pr_expr(p, s->loop.min, 0);
			PUTL(p, ", ");
			const Expr *mn = s->loop.min, *ex = s->loop.extent;
			if (mn && ex && mn->kind == EX_INT && ex->kind == EX_INT && dt_eq(mn->dt, ex->dt)) {
				Expr c = {.kind = EX_INT, .dt = mn->dt};
				c.i = (int64_t)((uint64_t)mn->i + (uint64_t)ex->i);
				pr_expr(p, &c, 0);
			} else if (mn && ex) {
				Expr add = {.kind = EX_ADD, .dt = mn->dt};
				add.bin.a = (Expr *)mn;
				add.bin.b = (Expr *)ex;
				pr_expr(p, &add, 0);
			} else {
				pr_expr(p, ex, 0);
			}
		}
		if (s->loop.kind == FOR_THREAD_BINDING) {
			PUTL(p, ", thread=");
			put_sym_str(p, s->loop.thread);
		}
		if (has_ann) {
			PUTL(p, ", ");
			pr_loop_annotations(p, ann);
		}
		if (!trivial_step(s->loop.step)) {
			put(p, range ? ", " : ", step=");
			pr_expr(p, s->loop.step, 0);
		}
		putc_(p, ')');
		body = s->loop.body;
	}
	PUTL(p, ":\n");
	p->ind++;
	pr_block(p, body);
	p->ind--;
	scope_close(p, mark);
}

static void pr_store(P *p, const Stmt *s)
{
	const Buffer *b = s->store.buf;
	indent(p);
	if (!s->store.pred && is_scalar_buf(p, b) && s->store.nidx == 1 && is_const_int(s->store.idx[0], 0)) {
		put_name(p, buf_name(p, b));
	} else if (s->store.pred) {
		put_buf(p, b);
		PUTL(p, ".vstore([");
		pr_indices(p, s->store.idx, s->store.nidx, 0);
		PUTL(p, "], ");
		pr_expr(p, s->store.value, 0);
		PUTL(p, ", predicate=");
		pr_expr(p, s->store.pred, 0);
		PUTL(p, ")\n");
		return;
	} else {
		put_buf(p, b);
		if (s->store.nidx == 0) {
			PUTL(p, "[()]");
		} else {
			putc_(p, '[');
			pr_indices(p, s->store.idx, s->store.nidx, 1);
			putc_(p, ']');
		}
	}
	PUTL(p, " = ");
	pr_expr(p, s->store.value, 0);
	line_end(p);
}

/* Whether b stores the initial value of the scalar that alloc a declares:
 * the pair prints as one `x: T.float32 = v`. */
static int fuses_init(const P *p, const Stmt *a, const Stmt *b)
{
	return a->kind == ST_ALLOC && a->alloc.buf && alloc_is_scalar(p, a) && b && b->kind == ST_STORE &&
	       b->store.buf == a->alloc.buf && !b->store.pred && b->store.nidx == 1 &&
	       is_const_int(b->store.idx[0], 0) && b->store.value;
}

/* The scalar sugar `x: T.float32` with its initial value, if any. */
static void pr_scalar_alloc(P *p, const Stmt *s, const Expr *init)
{
	const Buffer *b = s->alloc.buf;
	indent(p);
	put_name(p, def_buf(p, b));
	((Ent *)map_get(&p->obj, b, NULL))->flags |= F_SCALAR;
	PUTL(p, ": T.");
	put_dtype(p, b->dt);
	if (init) {
		PUTL(p, " = ");
		pr_expr(p, init, 0);
	}
	line_end(p);
}

static int block_empty(const Stmt *s);

/* One statement; last says whether it ends its block (attrs and launches
 * print bare then, their body following at the same indentation: flat
 * chains keep the text as shallow as the IR's real nesting; TVM 0.27 reads
 * this form, though it prints `with` inside a block of several).  A bare
 * attr's body and a sequence's last item are printed by jumping back to the
 * top, not by a call: chains of flat frames cost no stack. */
static void pr_stmt(P *p, const Stmt *s, int last)
{
again:
	if (p->cut)
		return; /* the text is cut short: nothing more of it is kept */
	switch (s->kind) {
	case ST_BIND: {
		const Var *v = s->bind.var;
		Ent *e = map_find(&p->obj, v);
		indent(p);
		if (e && e->name) {
			/* a second binding of one var (not SSA): plain assignment */
			put_name(p, e->name);
		} else {
			put_name(p, def_var(p, v));
			PUTL(p, ": T.let[");
			put_type(p, v->ty);
			putc_(p, ']');
		}
		PUTL(p, " = ");
		pr_expr(p, s->bind.value, 0);
		line_end(p);
		break;
	}
	case ST_STORE:
		pr_store(p, s);
		break;
	case ST_ALLOC: {
		const Buffer *b = s->alloc.buf;
		if (b && alloc_is_scalar(p, s)) {
			pr_scalar_alloc(p, s, NULL);
			break;
		}
		indent(p);
		if (!b) {
			PUTL(p, "None = T.alloc_buffer(None)\n");
			break;
		}
		/* alloc_shared/alloc_local imply their scope */
		const char *fn = "T.alloc_buffer";
		if (b->scope == sym("shared"))
			fn = "T.alloc_shared";
		else if (b->scope == sym("local"))
			fn = "T.alloc_local";
		put_name(p, def_buf(p, b));
		PUTL(p, " = ");
		pr_buffer_call(p, fn, b, NULL, 0, fn[8] == 'b', s->alloc.annotations);
		line_end(p);
		break;
	}
	case ST_DECL: {
		const Buffer *b = s->decl.buf;
		indent(p);
		if (!b) {
			PUTL(p, "None = T.decl_buffer(None)\n");
			break;
		}
		put_name(p, def_buf(p, b));
		PUTL(p, " = ");
		pr_buffer_call(p, "T.decl_buffer", b, s->decl.data, 0, 1, NULL);
		line_end(p);
		break;
	}
	case ST_ATTR: {
		const Var *def = launch_def(p, s);
		const Obj *n = s->attr.node;
		Sym attrbuf = NULL;
		if (n && n->kind == OB_BUFFER && n->buf) {
			Ent *e = map_find(&p->obj, n->buf);
			if (e && (e->flags & F_ATTRBUF) && !e->name) {
				indent(p);
				put_name(p, def_buf(p, n->buf));
				PUTL(p, " = ");
				pr_buffer_call(p, "T.Buffer", n->buf, NULL, 0, 1, NULL);
				line_end(p);
				/* named for this attr alone: the name is free again
				 * after it, so the DeclBuffer that MakePackedAPI puts
				 * in its body prints as `A`, as in TVM */
				if (!(e->flags & F_USED))
					attrbuf = e->name;
				/* TVM prints an attr that ends a sequence as `with`
				 * (bare only as the whole body of its parent), which
				 * MakePackedAPI's storage_alignment attrs always do:
				 * and only inside `with` may its text redefine A */
				last = 0;
			}
		}
		indent(p);
		if (last) {
			/* bare: the body is the rest of the block */
			if (def) {
				put_name(p, def_var(p, def));
				PUTL(p, " = ");
			}
			const Stmt *body = pr_attr_head(p, s, def);
			release_name(p, attrbuf);
			line_end(p);
			if (!block_empty(body)) {
				s = body; /* pr_block(p, body), as a loop */
				goto again;
			}
			pr_block(p, body);
		} else {
			int mark = p->scope.n;
			PUTL(p, "with ");
			const Stmt *body = pr_attr_head(p, s, def);
			release_name(p, attrbuf);
			if (def) {
				PUTL(p, " as ");
				put_name(p, def_var(p, def));
			}
			PUTL(p, ":\n");
			p->ind++;
			pr_block(p, body);
			p->ind--;
			scope_close(p, mark);
		}
		break;
	}
	case ST_FOR:
		pr_for(p, s);
		break;
	case ST_WHILE: {
		int mark = p->scope.n;
		indent(p);
		PUTL(p, "while ");
		pr_expr(p, s->wloop.cond, 0);
		PUTL(p, ":\n");
		p->ind++;
		pr_block(p, s->wloop.body);
		p->ind--;
		scope_close(p, mark);
		break;
	}
	case ST_IF: {
		int mark = p->scope.n;
		indent(p);
		PUTL(p, "if ");
		pr_expr(p, s->ifs.cond, 0);
		PUTL(p, ":\n");
		p->ind++;
		pr_block(p, s->ifs.then);
		p->ind--;
		scope_close(p, mark);
		const Stmt *el = s->ifs.els;
		if (el && !(el->kind == ST_SEQ && el->seq.n == 0)) {
			indent(p);
			PUTL(p, "else:\n");
			p->ind++;
			pr_block(p, el);
			p->ind--;
			scope_close(p, mark);
		}
		break;
	}
	case ST_SEQ:
		for (int i = 0; i < s->seq.n; i++) {
			const Stmt *it = s->seq.items[i];
			if (i + 1 < s->seq.n && fuses_init(p, it, s->seq.items[i + 1])) {
				pr_scalar_alloc(p, it, s->seq.items[++i]->store.value);
				continue;
			}
			if (i == s->seq.n - 1) {
				s = it; /* pr_stmt(p, it, last), as a loop */
				goto again;
			}
			pr_stmt(p, it, 0);
		}
		break;
	case ST_EVAL:
		indent(p);
		if (s->eval.value && s->eval.value->kind == EX_CALL) {
			pr_expr(p, s->eval.value, 0);
		} else {
			PUTL(p, "T.evaluate(");
			pr_expr(p, s->eval.value, 0);
			putc_(p, ')');
		}
		line_end(p);
		break;
	case ST_ASSERT:
		indent(p);
		PUTL(p, "assert ");
		pr_expr(p, s->assert.cond, 0);
		PUTL(p, ", (");
		put_sym_str(p, s->assert.kind ? s->assert.kind : sym("RuntimeError"));
		PUTL(p, ", [");
		for (int i = 0; i < s->assert.nparts; i++) {
			if (i)
				PUTL(p, ", ");
			put_sym_str(p, s->assert.parts[i]);
		}
		PUTL(p, "])\n");
		break;
	case ST_RETURN:
		indent(p);
		if (s->ret.value) {
			PUTL(p, "return ");
			pr_expr(p, s->ret.value, 0);
		} else {
			PUTL(p, "return");
		}
		line_end(p);
		break;
	case ST_BREAK:
		indent(p);
		PUTL(p, "break\n");
		break;
	case ST_CONTINUE:
		indent(p);
		PUTL(p, "continue\n");
		break;
	default:
		indent(p);
		PUTL(p, "pass\n");
	}
}

static int block_empty(const Stmt *s)
{
	if (!s)
		return 1;
	if (s->kind != ST_SEQ)
		return 0;
	for (int i = 0; i < s->seq.n; i++)
		if (!block_empty(s->seq.items[i]))
			return 0;
	return 1;
}

/* A statement list at the current indentation; nested seqs are flattened. */
static void pr_block(P *p, const Stmt *s)
{
	if (block_empty(s)) {
		indent(p);
		PUTL(p, "pass\n");
		return;
	}
	pr_stmt(p, s, 1);
}

/* The function body's top level: the same as pr_block, but declarations
 * of free vars, env threads and undeclared buffers come before the first
 * top-level statement that uses them. */
static void pr_top(P *p, const Stmt *s, int last)
{
	if (s->kind == ST_SEQ) {
		for (int i = 0; i < s->seq.n; i++) {
			const Stmt *it = s->seq.items[i];
			if (i + 1 < s->seq.n && fuses_init(p, it, s->seq.items[i + 1])) {
				pr_decls(p, p->top + 1);
				p->top += 2;
				pr_scalar_alloc(p, it, s->seq.items[++i]->store.value);
				continue;
			}
			pr_top(p, it, last && i == s->seq.n - 1);
		}
		return;
	}
	pr_decls(p, p->top);
	p->top++;
	pr_stmt(p, s, last);
}

/* ------------------------------------------------------------------- scan */

static Ent *touch(P *p, const void *key)
{
	static Ent hole; /* for NULL keys in ill-formed IR: absorbs the flags */
	if (!key)
		return memset(&hole, 0, sizeof hole);
	int isnew;
	Ent *e = map_get(&p->obj, key, &isnew);
	if (isnew) {
		e->top = p->top;
		e->order = p->order++;
	}
	return e;
}

static void sc_expr(P *p, const Expr *e);
static void sc_stmt(P *p, const Stmt *s);

static void sc_exprs(P *p, Expr *const *a, int n)
{
	for (int i = 0; i < n; i++)
		sc_expr(p, a[i]);
}

static void sc_use_var(P *p, const Var *v)
{
	Ent *e = touch(p, v);
	if ((e->flags & F_LAUNCH) && !(e->flags & F_INLAUNCH))
		e->flags |= F_ENV;
	e->flags |= F_USED;
}

static void sc_def_var(P *p, const Var *v)
{
	touch(p, v)->flags |= F_DEF;
}

static void sc_buffer_fields(P *p, const Buffer *b)
{
	if (!b)
		return;
	sc_exprs(p, b->shape, b->ndim);
	sc_exprs(p, b->strides, b->nstrides);
	sc_expr(p, b->elem_offset);
}

static void sc_use_buf(P *p, const Buffer *b)
{
	if (!b)
		return;
	if (!map_find(&p->obj, b))
		sc_buffer_fields(p, b); /* its shape is printed where it is declared */
	touch(p, b)->flags |= F_USED | F_BUF;
}

static void sc_obj(P *p, const Obj *o)
{
	if (!o)
		return;
	switch (o->kind) {
	case OB_LIST:
		for (int i = 0; i < o->list.n; i++)
			sc_obj(p, o->list.items[i]);
		break;
	case OB_DICT:
		for (int i = 0; i < o->dict.n; i++) {
			sc_obj(p, o->dict.keys[i]);
			sc_obj(p, o->dict.vals[i]);
		}
		break;
	case OB_TARGET:
		sc_obj(p, o->target);
		break;
	case OB_EXPR:
		sc_expr(p, o->expr);
		break;
	case OB_BUFFER:
		sc_use_buf(p, o->buf);
		break;
	case OB_ITERVAR:
		if (o->iv.var)
			sc_use_var(p, o->iv.var);
		sc_expr(p, o->iv.min);
		sc_expr(p, o->iv.extent);
		break;
	case OB_REDUCER:
		for (int i = 0; i < o->red.n; i++) {
			sc_def_var(p, o->red.lhs[i]);
			sc_def_var(p, o->red.rhs[i]);
		}
		sc_exprs(p, o->red.result, o->red.n);
		sc_exprs(p, o->red.identity, o->red.n);
		break;
	default:
		break;
	}
}

static void sc_expr(P *p, const Expr *e)
{
	if (!e)
		return;
	switch (e->kind) {
	case EX_INT: case EX_FLOAT: case EX_STR:
		break;
	case EX_VAR:
		sc_use_var(p, e->var);
		break;
	case EX_BUFDATA: case EX_BUFREF:
		sc_use_buf(p, e->buf);
		break;
	case EX_SELECT:
		sc_expr(p, e->sel.c);
		sc_expr(p, e->sel.t);
		sc_expr(p, e->sel.f);
		break;
	case EX_RAMP:
		sc_expr(p, e->ramp.base);
		sc_expr(p, e->ramp.stride);
		break;
	case EX_BROADCAST:
		sc_expr(p, e->bcast.value);
		break;
	case EX_SHUFFLE:
		sc_exprs(p, e->shuf.vecs, e->shuf.nvecs);
		sc_exprs(p, e->shuf.idx, e->shuf.nidx);
		break;
	case EX_LET:
		/* T.Let does not define its var: it must be declared before */
		sc_use_var(p, e->let.var);
		sc_expr(p, e->let.value);
		sc_expr(p, e->let.body);
		break;
	case EX_LOAD:
		sc_use_buf(p, e->load.buf);
		sc_exprs(p, e->load.idx, e->load.nidx);
		sc_expr(p, e->load.pred);
		break;
	case EX_CALL:
		sc_exprs(p, e->call.args, e->call.nargs);
		break;
	case EX_NOT: case EX_CAST:
		sc_expr(p, e->bin.a);
		break;
	default:
		if (e->kind >= EX_ADD && e->kind <= EX_OR) {
			sc_expr(p, e->bin.a);
			sc_expr(p, e->bin.b);
		}
	}
}

/* An attr's body and a sequence's last item are scanned by jumping back to
 * the top, not by a call (chains of flat frames cost no stack); the launch
 * vars whose bodies the chain is in are remembered until it ends. */
static void sc_stmt(P *p, const Stmt *s)
{
	Vec launched = {0};
again:
	if (!s)
		goto done;
	switch (s->kind) {
	case ST_BIND:
		sc_expr(p, s->bind.value);
		sc_def_var(p, s->bind.var);
		break;
	case ST_STORE:
		sc_use_buf(p, s->store.buf);
		sc_exprs(p, s->store.idx, s->store.nidx);
		sc_expr(p, s->store.value);
		sc_expr(p, s->store.pred);
		break;
	case ST_ALLOC:
		sc_buffer_fields(p, s->alloc.buf);
		sc_obj(p, s->alloc.annotations);
		touch(p, s->alloc.buf)->flags |= F_DEF | F_BUF;
		break;
	case ST_DECL:
		sc_buffer_fields(p, s->decl.buf);
		sc_expr(p, s->decl.data);
		touch(p, s->decl.buf)->flags |= F_DEF | F_BUF;
		break;
	case ST_ATTR:
		if (is_launch(s)) {
			const Obj *iv = s->attr.node;
			sc_expr(p, s->attr.value);
			sc_expr(p, iv->iv.extent);
			Ent *e = touch(p, iv->iv.var);
			/* a var defined, used or launched before needs env_thread */
			if (e->flags & (F_DEF | F_USED | F_LAUNCH))
				e->flags |= F_ENV;
			if (!e->iv)
				e->iv = iv;
			e->flags |= F_LAUNCH | F_INLAUNCH;
			vec_push(&launched, iv->iv.var);
		} else {
			const Obj *n = s->attr.node;
			if (n && n->kind == OB_BUFFER && n->buf && !map_find(&p->obj, n->buf)) {
				sc_buffer_fields(p, n->buf);
				touch(p, n->buf)->flags |= F_ATTRBUF | F_DEF | F_BUF;
			} else {
				sc_obj(p, n);
			}
			sc_expr(p, s->attr.value);
		}
		s = s->attr.body;
		goto again;
	case ST_FOR:
		sc_expr(p, s->loop.min);
		sc_expr(p, s->loop.extent);
		sc_expr(p, s->loop.step);
		sc_obj(p, s->loop.annotations);
		sc_def_var(p, s->loop.var);
		sc_stmt(p, s->loop.body);
		break;
	case ST_WHILE:
		sc_expr(p, s->wloop.cond);
		sc_stmt(p, s->wloop.body);
		break;
	case ST_IF:
		sc_expr(p, s->ifs.cond);
		sc_stmt(p, s->ifs.then);
		sc_stmt(p, s->ifs.els);
		break;
	case ST_SEQ:
		if (s->seq.n == 0)
			break;
		for (int i = 0; i < s->seq.n - 1; i++)
			sc_stmt(p, s->seq.items[i]);
		s = s->seq.items[s->seq.n - 1];
		goto again;
	case ST_EVAL:
		sc_expr(p, s->eval.value);
		break;
	case ST_ASSERT:
		sc_expr(p, s->assert.cond);
		break;
	case ST_RETURN:
		sc_expr(p, s->ret.value);
		break;
	default:
		break;
	}
done:
	for (int i = launched.n - 1; i >= 0; i--)
		((Ent *)map_get(&p->obj, launched.v[i], NULL))->flags &= ~(uint32_t)F_INLAUNCH;
	vec_free(&launched);
}

static void sc_top(P *p, const Stmt *s)
{
	if (s->kind == ST_SEQ) {
		for (int i = 0; i < s->seq.n; i++)
			sc_top(p, s->seq.items[i]);
		return;
	}
	sc_stmt(p, s);
	p->top++;
}

static int decl_cmp(const void *x, const void *y)
{
	const struct Decl *a = x, *b = y;
	if (a->top != b->top)
		return a->top < b->top ? -1 : 1;
	return (a->order > b->order) - (a->order < b->order);
}

/* Collects what the body uses but no statement defines, in the order of
 * first use. */
static void collect_decls(P *p)
{
	p->ndecls = p->nextdecl = 0;
	for (size_t i = 0; i < p->obj.cap; i++) {
		const Ent *e = (const Ent *)(p->obj.e + i * p->obj.esz);
		if (!e->key)
			continue;
		int need;
		if (e->flags & F_BUF)
			need = (e->flags & F_USED) && !(e->flags & F_DEF);
		else if (e->flags & F_ENV)
			need = !(e->flags & F_DEF);
		else
			need = (e->flags & F_USED) && !(e->flags & (F_DEF | F_LAUNCH));
		if (!need)
			continue;
		if (p->ndecls == p->capdecls) {
			p->capdecls = p->capdecls ? 2 * p->capdecls : 16;
			p->decls = xrealloc(p->decls, (size_t)p->capdecls * sizeof *p->decls);
		}
		p->decls[p->ndecls++] = (struct Decl){e->key, e->top, e->order};
	}
	if (p->ndecls > 1)
		qsort(p->decls, (size_t)p->ndecls, sizeof *p->decls, decl_cmp);
}

/* -------------------------------------------------------------- functions */

/* Calls fn on every var that e mentions. */
static void visit_vars(P *p, const Expr *e, void (*fn)(P *, const Var *))
{
	if (!e)
		return;
	switch (e->kind) {
	case EX_VAR:
		fn(p, e->var);
		break;
	case EX_INT: case EX_FLOAT: case EX_STR: case EX_BUFDATA: case EX_BUFREF:
		break;
	case EX_SELECT:
		visit_vars(p, e->sel.c, fn);
		visit_vars(p, e->sel.t, fn);
		visit_vars(p, e->sel.f, fn);
		break;
	case EX_RAMP:
		visit_vars(p, e->ramp.base, fn);
		visit_vars(p, e->ramp.stride, fn);
		break;
	case EX_BROADCAST:
		visit_vars(p, e->bcast.value, fn);
		break;
	case EX_SHUFFLE:
		for (int i = 0; i < e->shuf.nvecs; i++)
			visit_vars(p, e->shuf.vecs[i], fn);
		break;
	case EX_LET:
		fn(p, e->let.var);
		visit_vars(p, e->let.value, fn);
		visit_vars(p, e->let.body, fn);
		break;
	case EX_LOAD:
		for (int i = 0; i < e->load.nidx; i++)
			visit_vars(p, e->load.idx[i], fn);
		break;
	case EX_CALL:
		for (int i = 0; i < e->call.nargs; i++)
			visit_vars(p, e->call.args[i], fn);
		break;
	case EX_NOT: case EX_CAST:
		visit_vars(p, e->bin.a, fn);
		break;
	default:
		if (e->kind >= EX_ADD && e->kind <= EX_OR) {
			visit_vars(p, e->bin.a, fn);
			visit_vars(p, e->bin.b, fn);
		}
	}
}

static void check_bound(P *p, const Var *v)
{
	Ent *e = map_find(&p->obj, v);
	if (!e || !(e->flags & F_BOUND))
		p->unbound = 1;
	else if (e->flags & F_TYPEVAR)
		p->typevar = 1;
}

static void set_bound(P *p, const Var *v)
{
	((Ent *)map_get(&p->obj, v, NULL))->flags |= F_BOUND;
}

static int is_bound(P *p, const Var *v)
{
	Ent *e = map_find(&p->obj, v);
	return e && (e->flags & F_BOUND);
}

/* HEAD's int64 TypeVars (portable mode): the int64 scalar vars that the
 * shapes, strides and elem_offsets of p->fn's buffer parameters mention and
 * that are not scalar parameters.  The text declares them before the module
 * (`N = TypeVar("N")`) and the re-parser makes an int64 var of each. */
static void tv_add(P *p, const Var *v)
{
	DType t = v->ty.dt;
	if (v->ty.kind != TY_PRIM || t.code != DT_INT || t.bits != 64 || t.lanes != 1)
		return;
	for (int i = 0; i < p->tvars.n; i++)
		if (p->tvars.v[i] == v)
			return;
	for (int i = 0; i < p->fn->nparams; i++)
		if (p->fn->params[i].var == v)
			return;
	vec_push(&p->tvars, (void *)v);
}

static void collect_typevars(P *p, const Func *f)
{
	p->fn = f;
	p->tvars.n = 0;
	for (int i = 0; i < f->nparams; i++) {
		const Buffer *b = f->params[i].buf;
		if (!b)
			continue;
		for (int k = 0; k < b->ndim; k++)
			visit_vars(p, b->shape[k], tv_add);
		for (int k = 0; k < b->nstrides; k++)
			visit_vars(p, b->strides[k], tv_add);
		visit_vars(p, b->elem_offset, tv_add);
	}
}

/* Names the TypeVars of f, as the first names of the function.  Returns
 * how many. */
static int def_typevars(P *p, const Func *f)
{
	collect_typevars(p, f);
	for (int i = 0; i < p->tvars.n; i++) {
		const Var *v = p->tvars.v[i];
		def_var(p, v);
		((Ent *)map_get(&p->obj, v, NULL))->flags |= F_BOUND | F_TYPEVAR;
	}
	return p->tvars.n;
}

static int sym_cmp(const void *x, const void *y)
{
	return strcmp(*(Sym const *)x, *(Sym const *)y);
}

/* The `N = TypeVar("N")` lines of the whole module, each name once (by
 * name, as HEAD), sorted by name within a function and in function order
 * across them.  Returns 0 when there are none. */
static int pr_typevars(P *p, Func *const *fs, int n, Buf *out)
{
	Vec names = {0};
	for (int i = 0; i < n; i++) {
		collect_typevars(p, fs[i]);
		if (!p->tvars.n)
			continue;
		names_reset(p);
		int k = def_typevars(p, fs[i]);
		int first = names.n;
		for (int j = 0; j < k; j++) {
			Sym s = var_name(p, p->tvars.v[j]);
			int seen = 0;
			for (int q = 0; q < first && !seen; q++)
				seen = names.v[q] == s;
			if (!seen)
				vec_push(&names, (void *)s);
		}
		qsort(names.v + first, (size_t)(names.n - first), sizeof(void *), sym_cmp);
	}
	for (int i = 0; i < names.n; i++)
		buf_printf(out, "%s = TypeVar(\"%s\")\n", (Sym)names.v[i], (Sym)names.v[i]);
	int any = names.n > 0;
	vec_free(&names);
	return any;
}

/* A buffer parameter's annotation.  A shape dimension that mentions a var
 * no earlier parameter bound is quoted, `T.Buffer(("n",), ...)`: HEAD's
 * match-scope syntax, whose first mention defines the var.  So is one that
 * mentions a TypeVar in a compound expression (`(N, "N * T.int64(2)")`),
 * as HEAD does in its portable mode. */
static void note_quoted(P *p, const Var *v)
{
	Ent *e = map_find(&p->obj, v);
	if (!e || !(e->flags & F_BOUND)) {
		for (int i = 0; i < p->quoted.n; i++)
			if (p->quoted.v[i] == v)
				return;
		vec_push(&p->quoted, (void *)v);
	}
}

static void pr_sig_dim(P *p, const Expr *e)
{
	p->unbound = p->typevar = 0;
	visit_vars(p, e, check_bound);
	if (p->unbound && p->in_dims)
		visit_vars(p, e, note_quoted);
	if (p->unbound || (p->typevar && e->kind != EX_VAR)) {
		Buf *save = p->b, tmp = {0};
		p->b = &tmp;
		pr_expr(p, e, 0);
		p->b = save;
		put_str(p, tmp.s ? tmp.s : "", tmp.n);
		buf_free(&tmp);
	} else {
		pr_expr(p, e, 0);
	}
	visit_vars(p, e, set_bound);
}

/* Strides follow the same rule as dimensions (TVM quotes a new stride
 * var); a new elem_offset var is left to offset_factor (pr_buffer_kwargs). */
static void pr_param_buffer(P *p, const Buffer *b)
{
	PUTL(p, "T.Buffer((");
	for (int i = 0; i < b->ndim; i++) {
		if (i)
			PUTL(p, ", ");
		p->in_dims = 1;
		pr_sig_dim(p, b->shape[i]);
		p->in_dims = 0;
	}
	if (b->ndim == 1)
		putc_(p, ',');
	putc_(p, ')');
	p->sig = 1;
	pr_buffer_kwargs(p, b, NULL, 1, 1, NULL);
	putc_(p, ')');
}

static int func_cmp(const void *x, const void *y)
{
	const Func *a = *(Func *const *)x, *b = *(Func *const *)y;
	int am = !strcmp(a->name, "main"), bm = !strcmp(b->name, "main");
	if (am != bm)
		return am - bm;
	return strcmp(a->name, b->name);
}

static void pr_func(P *p, const Func *f)
{
	const Obj *attrs = f->attrs && f->attrs->kind == OB_DICT ? f->attrs : NULL;
	int is_private = func_is_private(f);
	int has_stir = obj_dict_get(attrs, "s_tir") != NULL;
	int persistent = obj_dict_get(attrs, "tirx.persistent_kernel") != NULL;
	p->stir = has_stir;
	names_reset(p);

	/* scan: params and their shape vars are defined up front */
	p->top = 0;
	p->order = 0;
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].var)
			sc_def_var(p, f->params[i].var);
	for (int i = 0; i < f->nparams; i++) {
		const Buffer *b = f->params[i].buf;
		if (!b)
			continue;
		touch(p, b)->flags |= F_DEF | F_BUF;
		sc_buffer_fields(p, b);
	}
	for (size_t i = 0; i < p->obj.cap; i++) {
		Ent *e = (Ent *)(p->obj.e + i * p->obj.esz);
		if (e->key && !(e->flags & F_BUF))
			e->flags |= F_DEF; /* shape vars of buffer params */
	}
	if (f->body)
		sc_top(p, f->body);
	collect_decls(p);

	/* decorator */
	indent(p);
	PUTL(p, "@T.prim_func");
	if (is_private || has_stir || persistent) {
		const char *sep = "(";
		if (is_private)
			put(p, sep), PUTL(p, "private=True"), sep = ", ";
		if (has_stir)
			put(p, sep), PUTL(p, "s_tir=True"), sep = ", ";
		if (persistent)
			put(p, sep), PUTL(p, "persistent=True");
		putc_(p, ')');
	}
	line_end(p);

	/* signature: TypeVars and then scalar params are named first, as TVM
	 * does */
	def_typevars(p, f);
	for (int i = 0; i < f->nparams; i++)
		if (f->params[i].var)
			def_var(p, f->params[i].var);
	indent(p);
	PUTL(p, "def ");
	put(p, f->name ? f->name : "main");
	putc_(p, '(');
	for (int i = 0; i < f->nparams; i++) {
		const Param *pa = &f->params[i];
		if (i)
			PUTL(p, ", ");
		if (pa->buf) {
			put_name(p, def_buf(p, pa->buf));
			PUTL(p, ": ");
			pr_param_buffer(p, pa->buf);
		} else if (pa->var) {
			put_name(p, var_name(p, pa->var));
			PUTL(p, ": ");
			put_type(p, pa->var->ty);
			set_bound(p, pa->var);
		}
	}
	putc_(p, ')');
	if (f->ret.kind != TY_VOID && !(f->ret.kind == TY_PRIM && dt_is_void(f->ret.dt))) {
		PUTL(p, " -> ");
		put_type(p, f->ret);
	}
	PUTL(p, ":\n");
	p->ind++;

	/* TVM 0.27 re-declares the vars a quoted shape dimension introduced
	 * (not scalar parameters), before T.func_attr; the reader binds them
	 * to the same vars */
	for (int i = 0; i < p->quoted.n; i++) {
		const Var *v = p->quoted.v[i];
		int param = 0;
		for (int k = 0; k < f->nparams; k++)
			param |= f->params[k].var == v;
		if (param)
			continue;
		indent(p);
		put_name(p, var_name(p, v));
		PUTL(p, " = ");
		put_type(p, v->ty);
		PUTL(p, "()\n");
	}
	p->quoted.n = 0;

	/* T.func_attr, keys sorted, minus what the decorator and name say */
	if (attrs) {
		const char *skip[3] = {"s_tir", "tirx.persistent_kernel", NULL};
		Sym gs = func_global_symbol(f);
		int n = attrs->dict.n - has_stir - persistent;
		if (gs && f->name && gs == f->name) {
			skip[2] = "global_symbol";
			n--;
		}
		if (n > 0) {
			indent(p);
			PUTL(p, "T.func_attr(");
			pr_dict(p, attrs, skip, 3);
			PUTL(p, ")\n");
		}
	}

	p->top = 0;
	if (block_empty(f->body)) {
		pr_decls(p, INT32_MAX);
		indent(p);
		PUTL(p, "pass\n");
	} else {
		pr_top(p, f->body, 1);
	}
	p->ind--;
	scope_close(p, 0);
}

static void p_init(P *p, Buf *out)
{
	memset(p, 0, sizeof *p);
	p->obj.esz = sizeof(Ent);
	p->names.esz = sizeof(NEnt);
	p->b = out;
	p->stir = 1;
	p->modpre = "Module.";
	names_reset(p);
}

static void p_free(P *p)
{
	free(p->obj.e);
	free(p->names.e);
	vec_free(&p->scope);
	vec_free(&p->tvars);
	vec_free(&p->quoted);
	free(p->decls);
}

int tir_print(Buf *out, const Module *m, const Func **deepest_fn)
{
	P p;
	p_init(&p, out);
	p.modpre = m->is_module ? "Module." : "";
	Func **fs = xmalloc((size_t)(m->nfuncs ? m->nfuncs : 1) * sizeof *fs);
	if (m->nfuncs)
		memcpy(fs, m->funcs, (size_t)m->nfuncs * sizeof *fs);
	if (m->nfuncs > 1)
		qsort(fs, (size_t)m->nfuncs, sizeof *fs, func_cmp);
	Buf tv = {0};
	if (pr_typevars(&p, fs, m->nfuncs, &tv))
		PUTL(&p, "# from typing import TypeVar\n");
	if (m->is_module)
		PUTL(&p, "# from tvm.script import ir as I\n");
	PUTL(&p, "# from tvm.script import tirx as T\n");
	PUTL(&p, "# from tvm.tirx.layout import Axis\n\n");
	if (tv.n)
		putn(&p, tv.s, tv.n);
	buf_free(&tv);
	if (m->is_module) {
		PUTL(&p, "@I.ir_module\nclass Module:\n");
		p.ind = 1;
		if (m->attrs) {
			indent(&p);
			PUTL(&p, "I.module_attrs(");
			pr_obj(&p, m->attrs);
			PUTL(&p, ")\n");
		}
		if (m->global_infos) {
			indent(&p);
			PUTL(&p, "I.module_global_infos(");
			pr_obj(&p, m->global_infos);
			PUTL(&p, ")\n");
		}
		if (!m->nfuncs && !m->attrs && !m->global_infos) {
			indent(&p);
			PUTL(&p, "pass\n");
		}
	}
	for (int i = 0; i < m->nfuncs; i++) {
		if (i)
			PUTL(&p, "\n"); /* one blank line between functions */
		int before = p.deepest;
		pr_func(&p, fs[i]);
		if (deepest_fn && (p.deepest > before || !i))
			*deepest_fn = fs[i];
	}
	free(fs);
	p_free(&p);
	return p.cut ? INT_MAX : p.deepest;
}

void tir_print_names(const Module *m, const Func *f, PtrMap *names)
{
	Buf scratch = {0};
	P p;
	p_init(&p, &scratch);
	p.modpre = m->is_module ? "Module." : "";
	p.names_out = names;
	pr_func(&p, f);
	p_free(&p);
	buf_free(&scratch);
}

void tir_print_expr(Buf *out, const Expr *e)
{
	P p;
	p_init(&p, out);
	pr_expr(&p, e, 0);
	p_free(&p);
}

void tir_print_stmt(Buf *out, const Stmt *s)
{
	P p;
	p_init(&p, out);
	if (s)
		pr_block(&p, s);
	p_free(&p);
}
