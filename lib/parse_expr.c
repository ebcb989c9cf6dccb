/* parse_expr.c: expressions of TIRx script.  px_* read tokens into syntax
 * trees (Node) with Python's precedence; ev_* give a tree its meaning in the
 * IR: PrimExprs through arith.c's operator rules, op calls through the
 * registry, attribute values, dtypes and type annotations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"

/* ------------------------------------------------------------ tokens */

/* Keeps the current token and the one after it in p->t. */
static void more(P *p)
{
	p->t = lx_fill(p->lx, p->pos + 4096, &p->nt);
}

Tok *pk(P *p)
{
	if (p->pos + 1 >= p->nt && p->lx)
		more(p);
	return &p->t[p->pos];
}

Tok *pk_next(P *p)
{
	return pk(p) + 1;
}

/* Only at points where no Tok pointer and no saved position is held
 * (between statements): the tokens before the current one are dropped. */
void tok_release(P *p)
{
	if (!p->lx || p->pos < 4096)
		return;
	lx_drop(p->lx, p->pos);
	p->nt -= p->pos;
	p->pos = 0;
}

Loc tok_loc(P *p, const Tok *t)
{
	Loc l = {p->file, t->line, t->col};
	return l;
}

int is_op(P *p, int op)
{
	Tok *t = pk(p);
	return t->kind == TK_OP && t->op == op;
}

int is_kw(P *p, const char *kw)
{
	Tok *t = pk(p);
	return t->kind == TK_NAME && streq(t->s, kw);
}

static void adv(P *p)
{
	if (pk(p)->kind != TK_EOF)
		p->pos++;
}

int accept_op(P *p, int op)
{
	if (!is_op(p, op))
		return 0;
	adv(p);
	return 1;
}

static const char *tok_desc(const Tok *t, char *buf)
{
	switch (t->kind) {
	case TK_EOF: return "end of file";
	case TK_NEWLINE: return "end of line";
	case TK_INDENT: return "indent";
	case TK_DEDENT: return "dedent";
	case TK_INT: case TK_FLOAT: return "number";
	case TK_STR: return "string";
	case TK_NAME:
		snprintf(buf, 80, "'%.60s'", t->s);
		return buf;
	default:
		return "operator";
	}
}

/* A syntax error at the current token.  A lexer error token stays quiet. */
static TIR_NORETURN void unexpected(P *p, const char *what)
{
	Tok *t = pk(p);
	char b[80];
	if (t->kind == TK_ERROR)
		pquiet(p);
	perr(p, tok_loc(p, t), "expected %s, found %s", what, tok_desc(t, b));
}

void expect_op(P *p, int op, const char *what)
{
	if (!accept_op(p, op))
		unexpected(p, what);
}

/* Python's keywords, grouped by their first letter: a name is compared
 * only with the few that start like it (this runs for every name read). */
static const char *const keywords_by_letter[][6] = {
	['F'] = {"False"}, ['N'] = {"None"}, ['T'] = {"True"},
	['a'] = {"and", "as", "assert", "async", "await"}, ['b'] = {"break"},
	['c'] = {"class", "continue"}, ['d'] = {"def", "del"}, ['e'] = {"elif", "else", "except"},
	['f'] = {"finally", "for", "from"}, ['g'] = {"global"}, ['i'] = {"if", "import", "in", "is"},
	['l'] = {"lambda"}, ['n'] = {"nonlocal", "not"}, ['o'] = {"or"}, ['p'] = {"pass"},
	['r'] = {"raise", "return"}, ['t'] = {"try"}, ['w'] = {"while", "with"}, ['y'] = {"yield"},
};

int is_keyword(Sym s)
{
	unsigned char c = (unsigned char)s[0];
	if (c > 'y')
		return 0;
	for (const char *const *k = keywords_by_letter[c]; *k; k++)
		if (streq(s, *k))
			return 1;
	return 0;
}

Sym expect_name(P *p, const char *what)
{
	Tok *t = pk(p);
	if (t->kind != TK_NAME || is_keyword(t->s))
		unexpected(p, what);
	adv(p);
	return t->s;
}

/* ------------------------------------------------------------ syntax */

static Node *mk(P *p, int kind, Loc loc)
{
	Node *n = ar_alloc(p->tmp, sizeof *n);
	n->kind = (uint8_t)kind;
	n->loc = loc;
	n->depth = 1;
	return n;
}

/* Sets n's height from its children; trees deeper than MAX_NEST would make
 * every later recursive walk (evaluation, printing) risky. */
static Node *seal(P *p, Node *n)
{
	int d = 0;
	Node *c[3] = {n->x, n->y, n->z};
	for (int i = 0; i < 3; i++)
		if (c[i] && c[i]->depth > d)
			d = c[i]->depth;
	for (int i = 0; i < n->n; i++)
		if (n->a[i] && n->a[i]->depth > d)
			d = n->a[i]->depth;
	if (d + 1 > MAX_NEST)
		perr(p, n->loc, "nesting too deep (more than %d levels)", MAX_NEST);
	n->depth = (uint16_t)(d + 1);
	return n;
}

static void enter(P *p)
{
	if (++p->depth > MAX_NEST)
		perr(p, tok_loc(p, pk(p)), "nesting too deep (more than %d levels)", MAX_NEST);
}

static Node *px_or(P *p);

/* Items up to the closing bracket `close`; comprehension forms rejected.
 * Items and keywords go on the scratch stack as pairs, so an error that
 * unwinds the statement leaks nothing. */
static Node **px_items(P *p, int close, int *n, Sym **kws, int allow_kw)
{
	int mark = p->nstk;
	int any_kw = 0;
	while (!is_op(p, close)) {
		Sym k = NULL;
		if (is_op(p, OP_STAR) || is_op(p, OP_POW))
			perr(p, tok_loc(p, pk(p)), "starred arguments are not supported");
		if (allow_kw && pk(p)->kind == TK_NAME && pk_next(p)->kind == TK_OP &&
		    pk_next(p)->op == OP_ASSIGN) {
			k = pk(p)->s;
			adv(p);
			adv(p);
			any_kw = 1;
		} else if (any_kw) {
			perr(p, tok_loc(p, pk(p)), "positional argument follows keyword argument");
		}
		Node *e = px_expr(p);
		if (is_kw(p, "for"))
			perr(p, tok_loc(p, pk(p)), "comprehensions are not supported");
		stk_push(p, e);
		stk_push(p, (void *)k);
		if (!accept_op(p, OP_COMMA))
			break;
	}
	int cnt = (p->nstk - mark) / 2;
	*n = cnt;
	Node **items = ar_alloc(p->tmp, (size_t)(cnt ? cnt : 1) * sizeof *items);
	if (kws)
		*kws = any_kw ? ar_alloc(p->tmp, (size_t)cnt * sizeof(Sym)) : NULL;
	for (int i = 0; i < cnt; i++) {
		items[i] = p->stk[mark + 2 * i];
		if (kws && any_kw)
			(*kws)[i] = p->stk[mark + 2 * i + 1];
	}
	p->nstk = mark;
	return items;
}

static Node *px_atom(P *p)
{
	Tok *t = pk(p);
	Loc loc = tok_loc(p, t);
	Node *n;
	switch (t->kind) {
	case TK_INT:
		n = mk(p, N_INT, loc);
		n->i = t->i;
		n->op = t->op;
		adv(p);
		return n;
	case TK_FLOAT:
		n = mk(p, N_FLOAT, loc);
		n->f = t->f;
		adv(p);
		return n;
	case TK_STR:
		n = mk(p, N_STR, loc);
		n->s = t->s;
		adv(p);
		/* implicit concatenation "a" "b" */
		while (pk(p)->kind == TK_STR) {
			Buf b = {0};
			buf_put(&b, n->s, sym_len(n->s));
			buf_put(&b, pk(p)->s, sym_len(pk(p)->s));
			n->s = symn(b.n ? b.s : "", b.n);
			buf_free(&b);
			adv(p);
		}
		return n;
	case TK_NAME:
		if (streq(t->s, "True") || streq(t->s, "False")) {
			n = mk(p, N_BOOL, loc);
			n->i = t->s[0] == 'T';
			adv(p);
			return n;
		}
		if (streq(t->s, "None")) {
			adv(p);
			return mk(p, N_NONE, loc);
		}
		if (streq(t->s, "lambda"))
			perr(p, loc, "lambda is only supported as the first argument of T.comm_reducer");
		if (streq(t->s, "await") || streq(t->s, "yield"))
			perr(p, loc, "'%s' is not supported", t->s);
		n = mk(p, N_NAME, loc);
		n->s = expect_name(p, "an expression");
		return n;
	case TK_OP:
		if (t->op == OP_LPAREN) {
			adv(p);
			if (accept_op(p, OP_RPAREN))
				return mk(p, N_TUPLE, loc);
			Node *e = px_expr(p);
			if (is_kw(p, "for"))
				perr(p, tok_loc(p, pk(p)), "generator expressions are not supported");
			if (!is_op(p, OP_COMMA)) {
				expect_op(p, OP_RPAREN, "')'");
				return e;
			}
			adv(p);
			int mark = p->nstk;
			stk_push(p, e);
			int k;
			Node **rest = px_items(p, OP_RPAREN, &k, NULL, 0);
			for (int i = 0; i < k; i++)
				stk_push(p, rest[i]);
			expect_op(p, OP_RPAREN, "')'");
			n = mk(p, N_TUPLE, loc);
			n->n = p->nstk - mark;
			n->a = (Node **)stk_take(p, mark, p->tmp);
			return seal(p, n);
		}
		if (t->op == OP_LBRACK) {
			adv(p);
			n = mk(p, N_LIST, loc);
			n->a = px_items(p, OP_RBRACK, &n->n, NULL, 0);
			expect_op(p, OP_RBRACK, "']'");
			return seal(p, n);
		}
		if (t->op == OP_LBRACE) {
			adv(p);
			n = mk(p, N_DICT, loc);
			int mark = p->nstk;
			while (!is_op(p, OP_RBRACE)) {
				if (is_op(p, OP_POW))
					perr(p, tok_loc(p, pk(p)), "dict unpacking is not supported");
				Node *k = px_expr(p);
				if (!is_op(p, OP_COLON))
					perr(p, tok_loc(p, pk(p)), "set displays are not supported (expected ':' in a dict)");
				adv(p);
				Node *v = px_expr(p);
				if (is_kw(p, "for"))
					perr(p, tok_loc(p, pk(p)), "comprehensions are not supported");
				stk_push(p, k);
				stk_push(p, v);
				if (!accept_op(p, OP_COMMA))
					break;
			}
			expect_op(p, OP_RBRACE, "'}'");
			n->n = (p->nstk - mark) / 2;
			n->a = (Node **)stk_take(p, mark, p->tmp);
			return seal(p, n);
		}
		if (t->op == OP_ELLIPSIS)
			perr(p, loc, "'...' is not supported");
		if (t->op == OP_STAR)
			perr(p, loc, "starred expressions are not supported");
		break;
	default:
		break;
	}
	unexpected(p, "an expression");
}

/* One subscript item: expr, or a slice [lo]:[hi][:step]. */
static Node *px_index(P *p)
{
	Loc loc = tok_loc(p, pk(p));
	if (is_op(p, OP_STAR))
		perr(p, loc, "starred expressions are not supported");
	Node *lo = NULL;
	if (!is_op(p, OP_COLON))
		lo = px_expr(p);
	if (!is_op(p, OP_COLON))
		return lo;
	adv(p);
	Node *n = mk(p, N_SLICE, loc);
	n->x = lo;
	if (!is_op(p, OP_COLON) && !is_op(p, OP_COMMA) && !is_op(p, OP_RBRACK))
		n->y = px_expr(p);
	if (accept_op(p, OP_COLON) && !is_op(p, OP_COMMA) && !is_op(p, OP_RBRACK))
		n->z = px_expr(p);
	return seal(p, n);
}

static Node *px_primary(P *p)
{
	Node *n = px_atom(p);
	for (;;) {
		Loc loc = tok_loc(p, pk(p));
		if (accept_op(p, OP_DOT)) {
			Node *a = mk(p, N_ATTR, n->loc);
			a->x = n;
			Tok *t = pk(p);
			if (t->kind != TK_NAME)
				unexpected(p, "an attribute name");
			a->s = t->s; /* keywords allowed: T.ptx.and_ is escaped, but be lenient */
			adv(p);
			n = seal(p, a);
		} else if (accept_op(p, OP_LPAREN)) {
			Node *c = mk(p, N_CALL, n->loc);
			c->x = n;
			c->a = px_items(p, OP_RPAREN, &c->n, &c->kw, 1);
			expect_op(p, OP_RPAREN, "')'");
			n = seal(p, c);
		} else if (accept_op(p, OP_LBRACK)) {
			Node *s = mk(p, N_SUB, n->loc);
			s->x = n;
			int mark = p->nstk;
			while (!is_op(p, OP_RBRACK)) {
				stk_push(p, px_index(p));
				if (!accept_op(p, OP_COMMA))
					break;
			}
			expect_op(p, OP_RBRACK, "']'");
			s->n = p->nstk - mark;
			if (!s->n)
				perr(p, loc, "empty subscript");
			s->a = (Node **)stk_take(p, mark, p->tmp);
			n = seal(p, s);
		} else {
			return n;
		}
	}
}

static Node *bin(P *p, int kind, int op, Loc loc, Node *x, Node *y)
{
	Node *n = mk(p, kind, loc);
	n->op = (uint8_t)op;
	n->x = x;
	n->y = y;
	return seal(p, n);
}

static Node *px_unary(P *p)
{
	Tok *t = pk(p);
	if (t->kind == TK_OP && (t->op == OP_MINUS || t->op == OP_PLUS || t->op == OP_TILDE)) {
		Loc loc = tok_loc(p, t);
		int op = t->op;
		adv(p);
		enter(p);
		Node *x = px_unary(p);
		p->depth--;
		Node *n = mk(p, N_UNARY, loc);
		n->op = (uint8_t)op;
		n->x = x;
		return seal(p, n);
	}
	Node *x = px_primary(p);
	if (is_op(p, OP_POW))
		perr(p, tok_loc(p, pk(p)), "the power operator '**' is not supported");
	return x;
}

/* Binding strength of the binary operators from '|' (1) to the
 * multiplicative ones (6); 0: not a binary operator. */
static const uint8_t bin_prec[OP_COUNT] = {
	[OP_PIPE] = 1, [OP_CARET] = 2, [OP_AMP] = 3,
	[OP_LSHIFT] = 4, [OP_RSHIFT] = 4,
	[OP_PLUS] = 5, [OP_MINUS] = 5,
	[OP_STAR] = 6, [OP_SLASH] = 6, [OP_DSLASH] = 6, [OP_PERCENT] = 6,
};

/* The binary operators binding at least as tightly as prec, all left
 * associative (precedence climbing: one call per operand instead of one
 * per grammar level).  '@' right after an operand is rejected. */
static Node *px_binary(P *p, int prec)
{
	Node *x = px_unary(p);
	for (;;) {
		Tok *t = pk(p);
		if (t->kind != TK_OP)
			return x;
		int op = t->op;
		if (op == OP_AT)
			perr(p, tok_loc(p, t), "the '@' operator (layout axes) is not supported");
		int q = bin_prec[op];
		if (q < prec)
			return x;
		Loc loc = tok_loc(p, t);
		adv(p);
		x = bin(p, N_BIN, op, loc, x, px_binary(p, q + 1));
	}
}

static Node *px_bor(P *p)
{
	return px_binary(p, 1);
}

static int cmp_op(P *p)
{
	Tok *t = pk(p);
	if (t->kind == TK_OP && (t->op == OP_LT || t->op == OP_GT || t->op == OP_LE ||
				 t->op == OP_GE || t->op == OP_EQ || t->op == OP_NE))
		return t->op;
	if (t->kind == TK_NAME && (streq(t->s, "in") || streq(t->s, "is")))
		perr(p, tok_loc(p, t), "the '%s' operator is not supported", t->s);
	if (t->kind == TK_NAME && streq(t->s, "not") && pk_next(p)->kind == TK_NAME &&
	    streq(pk_next(p)->s, "in"))
		perr(p, tok_loc(p, t), "the 'not in' operator is not supported");
	return -1;
}

static Node *px_cmp(P *p)
{
	Node *x = px_bor(p);
	int op = cmp_op(p);
	if (op < 0)
		return x;
	Loc loc = tok_loc(p, pk(p));
	adv(p);
	x = bin(p, N_CMP, op, loc, x, px_bor(p));
	if (cmp_op(p) >= 0)
		perr(p, tok_loc(p, pk(p)), "chained comparisons are not supported; use 'and'");
	return x;
}

static Node *px_not(P *p)
{
	if (is_kw(p, "not")) {
		Loc loc = tok_loc(p, pk(p));
		adv(p);
		enter(p);
		Node *x = px_not(p);
		p->depth--;
		Node *n = mk(p, N_NOT, loc);
		n->x = x;
		return seal(p, n);
	}
	return px_cmp(p);
}

static Node *px_and(P *p)
{
	Node *x = px_not(p);
	while (is_kw(p, "and")) {
		Loc loc = tok_loc(p, pk(p));
		adv(p);
		x = bin(p, N_AND, 0, loc, x, px_not(p));
	}
	return x;
}

static Node *px_or(P *p)
{
	Node *x = px_and(p);
	while (is_kw(p, "or")) {
		Loc loc = tok_loc(p, pk(p));
		adv(p);
		x = bin(p, N_OR, 0, loc, x, px_and(p));
	}
	return x;
}

static Node *px_lambda(P *p)
{
	Loc loc = tok_loc(p, pk(p));
	adv(p);
	Node *n = mk(p, N_LAMBDA, loc);
	int mark = p->nstk;
	while (!is_op(p, OP_COLON)) {
		Node *a = mk(p, N_NAME, tok_loc(p, pk(p)));
		a->s = expect_name(p, "a lambda parameter name");
		stk_push(p, a);
		if (!accept_op(p, OP_COMMA))
			break;
	}
	expect_op(p, OP_COLON, "':'");
	n->n = p->nstk - mark;
	n->a = (Node **)stk_take(p, mark, p->tmp);
	n->x = px_expr(p);
	return seal(p, n);
}

Node *px_expr(P *p)
{
	enter(p);
	Node *n;
	if (is_kw(p, "lambda")) {
		n = px_lambda(p);
	} else {
		n = px_or(p);
		if (is_kw(p, "if"))
			perr(p, tok_loc(p, pk(p)), "conditional expressions 'a if c else b' are not supported; use T.Select or T.if_then_else");
		if (is_op(p, OP_WALRUS))
			perr(p, tok_loc(p, pk(p)), "assignment expressions ':=' are not supported");
	}
	p->depth--;
	return n;
}

Node *px_tuple(P *p)
{
	Loc loc = tok_loc(p, pk(p));
	Node *e = px_expr(p);
	if (!is_op(p, OP_COMMA))
		return e;
	int mark = p->nstk;
	stk_push(p, e);
	while (accept_op(p, OP_COMMA)) {
		Tok *t = pk(p);
		if (t->kind == TK_NEWLINE || t->kind == TK_EOF || is_op(p, OP_ASSIGN) || is_op(p, OP_COLON))
			break;
		stk_push(p, px_expr(p));
	}
	Node *n = mk(p, N_TUPLE, loc);
	n->n = p->nstk - mark;
	n->a = (Node **)stk_take(p, mark, p->tmp);
	return seal(p, n);
}

/* The expression inside a quoted shape element ("n + 1"), read with the
 * string's own position so errors point into it. */
Node *px_str_expr(P *p, const Tok *str)
{
	if (p->bail) {
		/* lex_text reports its errors: the one-pass attempt must not */
		Lx *q = lx_open(p->file, str->s, sym_len(str->s), str->line - 1, str->col, 1);
		int nq;
		lx_fill(q, INT32_MAX, &nq);
		int bad = lx_errors(q);
		lx_close(q);
		if (bad)
			pwarn(p);
	}
	Lexed lx = lex_text(p->file, str->s, sym_len(str->s), str->line - 1, str->col);
	/* the tokens live in the scratch arena: an abandoned one-pass attempt
	 * unwinds past this frame, and nothing here may need freeing then */
	Tok *toks = ar_dup(p->tmp, lx.toks, (size_t)lx.ntoks * sizeof *lx.toks);
	free(lx.toks);
	Tok *st = p->t;
	int snt = p->nt, spos = p->pos;
	Lx *slx = p->lx;
	jmp_buf jb, *outer = p->jb;
	Node *n = NULL;
	p->jb = &jb;
	if (setjmp(jb) == 0) {
		p->t = toks;
		p->nt = lx.ntoks;
		p->pos = 0;
		p->lx = NULL;
		if (lx.fatal >= 0 || pk(p)->kind == TK_ERROR)
			pquiet(p);
		n = px_expr(p);
		if (pk(p)->kind != TK_NEWLINE && pk(p)->kind != TK_EOF)
			unexpected(p, "the end of the quoted shape");
	}
	p->t = st;
	p->nt = snt;
	p->pos = spos;
	p->lx = slx;
	p->jb = outer;
	if (!n)
		pquiet(p);
	return n;
}

/* ------------------------------------------------------------ helpers */

int node_is_T(P *p, Node *n, const char *name)
{
	return n && n->kind == N_ATTR && n->x->kind == N_NAME && streq(n->x->s, "T") &&
	       streq(n->s, name);
}

/* "T.a.b.c" -> "a.b.c" in buf; NULL when n is not an attribute chain on T. */
const char *node_T_path(P *p, Node *n, char *buf, size_t cap)
{
	Node *chain[16];
	int k = 0;
	while (n && n->kind == N_ATTR && k < 16) {
		chain[k++] = n;
		n = n->x;
	}
	if (!n || n->kind != N_NAME || !streq(n->s, "T") || !k)
		return NULL;
	size_t len = 0;
	buf[0] = 0;
	for (int i = k - 1; i >= 0; i--) {
		size_t l = strlen(chain[i]->s);
		if (len + l + 2 >= cap)
			return NULL;
		if (len)
			buf[len++] = '.';
		memcpy(buf + len, chain[i]->s, l + 1);
		len += l;
	}
	return buf;
}

static int64_t pyfloordiv(int64_t x, int64_t y)
{
	int64_t q = x / y;
	if ((x % y != 0) && ((x < 0) != (y < 0)))
		q--;
	return q;
}

/* Integers Python computes before TVM sees them: literals and operators on
 * literals (`-1`, `1024 * 1024`). */
int ast_const_int(Node *n, int64_t *v)
{
	int64_t a, b;
	switch (n->kind) {
	case N_INT:
		if (n->op)
			return 0;
		*v = (int64_t)n->i;
		return 1;
	case N_UNARY:
		if (!ast_const_int(n->x, &a))
			return 0;
		*v = n->op == OP_MINUS ? (int64_t)(0 - (uint64_t)a) : n->op == OP_TILDE ? ~a : a;
		return 1;
	case N_BIN:
		if (!ast_const_int(n->x, &a) || !ast_const_int(n->y, &b))
			return 0;
		switch (n->op) {
		case OP_PLUS: *v = (int64_t)((uint64_t)a + (uint64_t)b); return 1;
		case OP_MINUS: *v = (int64_t)((uint64_t)a - (uint64_t)b); return 1;
		case OP_STAR: *v = (int64_t)((uint64_t)a * (uint64_t)b); return 1;
		case OP_DSLASH:
			if (b == 0 || (b == -1 && a == INT64_MIN))
				return 0;
			*v = pyfloordiv(a, b);
			return 1;
		case OP_PERCENT:
			if (b == 0 || (b == -1 && a == INT64_MIN))
				return 0;
			*v = a - pyfloordiv(a, b) * b;
			return 1;
		case OP_LSHIFT:
			if (b < 0 || b > 62)
				return 0;
			*v = (int64_t)((uint64_t)a << b);
			return 1;
		case OP_RSHIFT:
			if (b < 0)
				return 0;
			*v = b > 63 ? (a < 0 ? -1 : 0) : a >> b;
			return 1;
		case OP_AMP: *v = a & b; return 1;
		case OP_PIPE: *v = a | b; return 1;
		case OP_CARET: *v = a ^ b; return 1;
		}
		return 0;
	}
	return 0;
}

Node *kwarg(Node *call, const char *name)
{
	if (!call->kw)
		return NULL;
	for (int i = 0; i < call->n; i++)
		if (call->kw[i] && streq(call->kw[i], name))
			return call->a[i];
	return NULL;
}

static int npos(Node *call)
{
	int k = 0;
	for (int i = 0; i < call->n; i++)
		if (!call->kw || !call->kw[i])
			k++;
	return k;
}

static Node *posarg(Node *call, int k)
{
	for (int i = 0; i < call->n; i++)
		if (!call->kw || !call->kw[i])
			if (k-- == 0)
				return call->a[i];
	return NULL;
}

static const char *callee_name(P *p, Node *call, char *buf, size_t cap)
{
	const char *s = node_T_path(p, call->x, buf + 2, cap - 2);
	if (s) {
		buf[0] = 'T';
		buf[1] = '.';
		return buf;
	}
	if (call->x->kind == N_ATTR)
		return call->x->s;
	if (call->x->kind == N_NAME)
		return call->x->s;
	return "call";
}

/* Positional count in [minpos, maxpos] (-1: any) and only known keywords. */
void check_args(P *p, Node *call, int minpos, int maxpos, const char *const *kws)
{
	char b[128];
	int k = npos(call);
	if (k < minpos || (maxpos >= 0 && k > maxpos)) {
		const char *nm = callee_name(p, call, b, sizeof b);
		if (minpos == maxpos)
			perr(p, call->loc, "%s takes %d positional argument%s (%d given)", nm, minpos,
			     minpos == 1 ? "" : "s", k);
		if (k < minpos)
			perr(p, call->loc, "%s takes at least %d positional argument%s (%d given)", nm,
			     minpos, minpos == 1 ? "" : "s", k);
		perr(p, call->loc, "%s takes at most %d positional argument%s (%d given)", nm, maxpos,
		     maxpos == 1 ? "" : "s", k);
	}
	for (int i = 0; call->kw && i < call->n; i++) {
		if (!call->kw[i])
			continue;
		int ok = 0;
		for (int j = 0; kws && kws[j]; j++)
			ok |= streq(kws[j], call->kw[i]);
		for (int j = 0; j < i; j++)
			if (call->kw[j] && streq(call->kw[j], call->kw[i]))
				perr(p, call->a[i]->loc, "keyword argument '%s' repeated", call->kw[i]);
		if (!ok)
			perr(p, call->a[i]->loc, "%s got an unexpected keyword argument '%s'",
			     callee_name(p, call, b, sizeof b), call->kw[i]);
	}
}

static TIR_NORETURN void undefined(P *p, Node *n)
{
	perr(p, n->loc, "name '%s' is not defined", n->s);
}

static int is_metadata(P *p, Node *n);
static TIR_NORETURN void metadata_ref(P *p, Node *n);

/* For slots that want a constant: an unknown name is reported as such, and
 * so is a metadata reference (TVM's spelling of a string it moved out). */
static void check_name(P *p, Node *n)
{
	if (is_metadata(p, n))
		metadata_ref(p, n);
	if (n->kind == N_NAME) {
		Bind *b = lookup(p, n->s);
		if (!b)
			undefined(p, n);
		if (b->kind == NB_POISON)
			pquiet(p);
	}
}

Sym ev_str(P *p, Node *n, const char *what)
{
	check_name(p, n);
	if (n->kind != N_STR)
		perr(p, n->loc, "expected %s (a string literal)", what);
	return n->s;
}

int64_t ev_int(P *p, Node *n, const char *what)
{
	int64_t v;
	check_name(p, n);
	if (ast_const_int(n, &v))
		return v;
	if (n->kind == N_CALL) {
		Expr *e = ev_expr(p, n);
		if (ex_is_const_int(e, &v))
			return v;
	}
	perr(p, n->loc, "expected %s (a constant integer)", what);
}

int ev_bool(P *p, Node *n, const char *what)
{
	check_name(p, n);
	if (n->kind == N_BOOL)
		return (int)n->i;
	int64_t v;
	if (ast_const_int(n, &v) && (v == 0 || v == 1))
		return (int)v;
	perr(p, n->loc, "expected %s (True or False)", what);
}

static DType parse_dt(P *p, Node *n, const char *s, size_t len)
{
	DType t;
	if (!dt_parse(s, len, &t))
		perr(p, n->loc, "unknown dtype '%.*s'", (int)(len > 64 ? 64 : len), s);
	return t;
}

DType ev_dtype(P *p, Node *n)
{
	char b[128];
	if (n->kind == N_STR)
		return parse_dt(p, n, n->s, sym_len(n->s));
	const char *path = node_T_path(p, n, b, sizeof b);
	if (path && !strchr(path, '.'))
		return parse_dt(p, n, path, strlen(path));
	check_name(p, n);
	perr(p, n->loc, "expected a dtype (a string such as \"float32\")");
}

static Sym norm_scope(Sym s)
{
	return !s || !s[0] ? sym("global") : s;
}

/* T.handle(dtype="void", storage_scope="global") as a pointer type. */
static TType handle_type(P *p, Node *call)
{
	static const char *const kws[] = {"dtype", "storage_scope", "scope", "is_size_var", NULL};
	check_args(p, call, 0, 2, kws);
	Node *d = posarg(call, 0), *s = posarg(call, 1);
	if (!d)
		d = kwarg(call, "dtype");
	if (!s)
		s = kwarg(call, "storage_scope");
	if (!s)
		s = kwarg(call, "scope");
	DType dt = DT_VOID;
	if (d && d->kind != N_NONE)
		dt = ev_dtype(p, d);
	if (d && d->kind == N_STR && streq(d->s, "handle"))
		dt = DT_VOID;
	Sym scope = s ? norm_scope(ev_str(p, s, "a storage scope")) : sym("global");
	return ty_ptr(dt, scope);
}

TType ev_type_slot(P *p, Node *n)
{
	if (n->kind == N_ATTR && streq(n->s, "ty")) {
		Node *c = n->x;
		if (c->kind == N_CALL && node_is_T(p, c->x, "handle"))
			return handle_type(p, c);
		if (node_is_T(p, c, "handle"))
			return ty_ptr(DT_VOID, sym("global"));
		perr(p, n->loc, "expected a type: T.handle(...).ty");
	}
	DType t = ev_dtype(p, n);
	if (dt_is_void(t))
		return ty_void();
	return ty_prim(t);
}

TType ev_type_anno(P *p, Node *n)
{
	char b[128];
	if (n->kind == N_CALL && node_is_T(p, n->x, "handle"))
		return handle_type(p, n);
	if (n->kind == N_CALL && node_is_T(p, n->x, "TensorMap")) {
		check_args(p, n, 0, 0, NULL);
		TType t = {TY_TENSORMAP, DT_HANDLE64, NULL};
		return t;
	}
	if (node_is_T(p, n, "handle"))
		return ty_ptr(DT_VOID, sym("global"));
	const char *path = node_T_path(p, n, b, sizeof b);
	if (path && !strchr(path, '.')) {
		DType t;
		if (dt_parse(path, strlen(path), &t))
			return dt_is_void(t) ? ty_void() : ty_prim(t);
	}
	if (n->kind == N_STR) {
		DType t = parse_dt(p, n, n->s, sym_len(n->s));
		if (t.code == DT_HANDLE && !dt_is_void(t))
			return ty_ptr(DT_VOID, sym("global"));
		return ty_prim(t);
	}
	check_name(p, n);
	perr(p, n->loc, "expected a type annotation such as T.int32 or T.handle(\"float32\")");
}

TType ex_type(const Expr *e)
{
	switch (e->kind) {
	case EX_CALL: return e->call.rty;
	case EX_VAR: return e->var->ty;
	case EX_BUFDATA: return buf_data_type(e->buf);
	default: return ty_prim(e->dt);
	}
}

/* ------------------------------------------------------------ PrimExprs */

static Expr *int_lit(P *p, int64_t v)
{
	if (v >= INT32_MIN && v <= INT32_MAX)
		return ex_int(p->A, DT_I32, v);
	return ex_int(p->A, DT_I64, v);
}

static Expr *check(P *p, Loc loc, Expr *e, const char *err)
{
	if (!e)
		perr(p, loc, "%s", err ? err : "invalid operands");
	return e;
}

static Expr *arith(P *p, Loc loc, int kind, Expr *x, Expr *y)
{
	const char *err = NULL;
	return check(p, loc, arith_binary(p->A, kind, x, y, &err), err);
}

static const Op *need_op(P *p, Loc loc, const char *name)
{
	const Op *op = op_find(name, strlen(name));
	if (!op)
		perr(p, loc, "unknown op 'T.%s'", name);
	return op;
}

/* The bitwise ops and shifts, as tvm::bitwise_and etc.: match types, fold
 * integer constants. */
static Expr *bitop(P *p, Loc loc, const char *name, Expr *x, Expr *y)
{
	const char *err = NULL;
	if (y && !arith_match_types(p->A, &x, &y, &err))
		perr(p, loc, "%s", err);
	if (!dt_is_int(x->dt) && x->dt.code != DT_BOOL)
		perr(p, loc, "T.%s needs integer operands", name);
	int64_t a, b;
	int ca = ex_is_const_int(x, &a), cb = y ? ex_is_const_int(y, &b) : 1;
	if (ca && cb) {
		int64_t r = 0;
		int ok = 1;
		if (streq(name, "bitwise_and")) r = a & b;
		else if (streq(name, "bitwise_or")) r = a | b;
		else if (streq(name, "bitwise_xor")) r = a ^ b;
		else if (streq(name, "bitwise_not")) r = ~a;
		else if (streq(name, "shift_left") && b >= 0 && b < 64) r = (int64_t)((uint64_t)a << b);
		else if (streq(name, "shift_right") && b >= 0 && b < 64)
			r = x->dt.code == DT_UINT ? (int64_t)((uint64_t)a >> b) : a >> b;
		else ok = 0;
		if (ok)
			return arith_cast(p->A, x->dt, ex_int(p->A, DT_I64, r));
	}
	if (y && cb && b == 0 && !strncmp(name, "shift", 5))
		return x;
	const Op *op = need_op(p, loc, name);
	Expr *args[2] = {x, y};
	return ex_call(p->A, op, ty_prim(x->dt), ar_dup(p->A, args, (y ? 2 : 1) * sizeof(Expr *)), y ? 2 : 1);
}

static Expr *neg(P *p, Loc loc, Expr *x)
{
	if (x->kind == EX_FLOAT && x->dt.lanes == 1)
		return ex_float(p->A, x->dt, -x->f);
	DType el = dt_element(x->dt);
	Expr *m = dt_is_float(el) ? ex_float(p->A, el, -1.0) : ex_int(p->A, el, -1);
	return arith(p, loc, EX_MUL, x, m);
}

static Expr *ev_bin(P *p, Node *n)
{
	int64_t v;
	if (ast_const_int(n, &v))
		return int_lit(p, v);
	if (n->op == OP_SLASH && n->x->kind == N_INT && n->y->kind == N_INT && n->y->i)
		return ex_float(p->A, DT_F32, (double)n->x->i / (double)n->y->i);
	Expr *x = ev_expr(p, n->x), *y = ev_expr(p, n->y);
	switch (n->op) {
	case OP_PLUS: return arith(p, n->loc, EX_ADD, x, y);
	case OP_MINUS: return arith(p, n->loc, EX_SUB, x, y);
	case OP_STAR: return arith(p, n->loc, EX_MUL, x, y);
	case OP_SLASH:
		if ((dt_is_int(x->dt) || x->dt.code == DT_BOOL) && (dt_is_int(y->dt) || y->dt.code == DT_BOOL))
			perr(p, n->loc, "integer division with '/' is ambiguous; use '//' (floor division) or T.truncdiv");
		return arith(p, n->loc, EX_DIV, x, y);
	case OP_DSLASH: return arith(p, n->loc, EX_FLOORDIV, x, y);
	case OP_PERCENT: return arith(p, n->loc, EX_FLOORMOD, x, y);
	case OP_LSHIFT: return bitop(p, n->loc, "shift_left", x, y);
	case OP_RSHIFT: return bitop(p, n->loc, "shift_right", x, y);
	case OP_AMP: return bitop(p, n->loc, "bitwise_and", x, y);
	case OP_PIPE: return bitop(p, n->loc, "bitwise_or", x, y);
	case OP_CARET: return bitop(p, n->loc, "bitwise_xor", x, y);
	}
	perr(p, n->loc, "unsupported operator");
}

static int cmp_kind(int op)
{
	switch (op) {
	case OP_LT: return EX_LT;
	case OP_LE: return EX_LE;
	case OP_GT: return EX_GT;
	case OP_GE: return EX_GE;
	case OP_EQ: return EX_EQ;
	default: return EX_NE;
	}
}

/* Index lists: slices become Ramps.  lanes: the vector width they give. */
Expr **ev_indices(P *p, Node *sub, int *nidx, int *lanes)
{
	Expr **idx = ar_alloc(p->A, (size_t)sub->n * sizeof *idx);
	*lanes = 1;
	for (int i = 0; i < sub->n; i++) {
		Node *s = sub->a[i];
		if (s->kind != N_SLICE) {
			idx[i] = ev_expr(p, s);
		} else {
			Expr *lo = s->x ? ev_expr(p, s->x) : ex_int(p->A, DT_I32, 0);
			int64_t step = s->z ? ev_int(p, s->z, "a slice step") : 1;
			int64_t a, b, width;
			if (!s->y)
				perr(p, s->loc, "a slice needs an end index");
			if (step == 0)
				perr(p, s->z->loc, "the slice step must not be zero");
			if (s->y->kind == N_BIN && s->y->op == OP_PLUS && s->x &&
			    ast_const_int(s->y->y, &b) && !ast_const_int(s->x, &a)) {
				/* stop = start + c, compared as text: both sides were read
				 * from the same spelling, so evaluate start again */
				Expr *st = ev_expr(p, s->y->x);
				Buf w1 = {0}, w2 = {0};
				tir_print_expr(&w1, st);
				tir_print_expr(&w2, lo);
				int same = w1.n == w2.n && !memcmp(w1.s, w2.s, w1.n);
				buf_free(&w1);
				buf_free(&w2);
				if (!same)
					perr(p, s->loc, "cannot tell the width of this slice; write it as [i:i + n]");
				width = b;
			} else {
				Expr *hi = ev_expr(p, s->y);
				Expr *d = arith(p, s->loc, EX_SUB, hi, lo);
				if (!ex_is_const_int(d, &width))
					perr(p, s->loc, "cannot tell the width of this slice; write it as [i:i + n]");
			}
			if (width == 0 || width % step || width / step <= 0)
				perr(p, s->loc, "the slice width must be a positive multiple of its step");
			int64_t n = width / step;
			if (n > 65535)
				perr(p, s->loc, "slice too wide");
			if (n == 1) {
				idx[i] = lo;
			} else {
				Expr *r = ex_new(p->A, EX_RAMP, dt_with_lanes(lo->dt, (int)n));
				r->ramp.base = lo;
				r->ramp.stride = arith_cast(p->A, lo->dt, ex_int(p->A, DT_I32, step));
				idx[i] = r;
			}
		}
		if (!dt_is_int(idx[i]->dt))
			perr(p, s->loc, "buffer indices must be integers");
		if (idx[i]->dt.lanes > 1) {
			if (*lanes > 1)
				perr(p, s->loc, "only one index may be a vector");
			*lanes = idx[i]->dt.lanes;
		}
	}
	*nidx = sub->n;
	return idx;
}

Expr *load_expr(P *p, Buffer *b, Node *sub, Loc loc)
{
	int n, lanes;
	Expr **idx = ev_indices(p, sub, &n, &lanes);
	if (n != b->ndim)
		perr(p, loc, "buffer '%s' has %d dimension%s but is indexed with %d", b->name, b->ndim,
		     b->ndim == 1 ? "" : "s", n);
	Expr *e = ex_new(p->A, EX_LOAD, dt_with_lanes(b->dt, b->dt.lanes * lanes));
	e->load.buf = b;
	e->load.idx = idx;
	e->load.nidx = n;
	return e;
}

static Expr *scalar_load(P *p, Buffer *b)
{
	Expr *e = ex_new(p->A, EX_LOAD, b->dt);
	e->load.buf = b;
	e->load.idx = ar_alloc(p->A, sizeof(Expr *));
	e->load.idx[0] = ex_int(p->A, DT_I32, 0);
	e->load.nidx = 1;
	return e;
}

static Expr *bufdata(P *p, Buffer *b)
{
	Expr *e = ex_new(p->A, EX_BUFDATA, DT_HANDLE64);
	e->buf = b;
	return e;
}

static Expr *ev_name(P *p, Node *n)
{
	Bind *b = lookup(p, n->s);
	if (b && b->kind == NB_TYPEVAR && p->in_shape) {
		/* a scalar parameter of the same name hides a module TypeVar */
		if (p->npnames && (intptr_t)pmap_get(&p->pidx, n->s) > 0)
			b = NULL;
	}
	if (!b) {
		if (p->in_shape) {
			DType dt = DT_I32;
			intptr_t k = p->npnames ? (intptr_t)pmap_get(&p->pidx, n->s) : 0;
			if (k > 0)
				dt = p->ptypes[k - 1];
			Var *v = var_new(p->A, n->s, ty_prim(dt));
			bind_push(p, n->s, NB_VAR, v, NULL);
			return ex_var(p->A, v);
		}
		if (find_func(p, n->s))
			perr(p, n->loc, "function '%s' used as a value", n->s);
		undefined(p, n);
	}
	switch (b->kind) {
	case NB_VAR:
	case NB_TYPEVAR:
		return ex_var(p->A, b->var);
	case NB_SCALAR:
		return scalar_load(p, b->buf);
	case NB_MATCHED: {
		/* the handle stands for the buffer's data pointer; where the
		 * handle's declared type differs from the data pointer's (plain
		 * `T.handle` is a void pointer), the use keeps its type through a
		 * reinterpret, as TVM's reader substitutes it */
		Expr *d = bufdata(p, b->buf);
		TType ht = b->var->ty;
		if (ty_eq(ht, buf_data_type(b->buf)))
			return d;
		Expr **args = ar_alloc(p->A, sizeof *args);
		args[0] = d;
		return ex_call(p->A, op_get("tirx.reinterpret"), ht, args, 1);
	}
	case NB_POISON:
		pquiet(p);
	default:
		perr(p, n->loc, "buffer '%s' used as a value; index it or use %s.data", n->s, n->s);
	}
}

/* The buffer a name stands for, or NULL. */
static Buffer *name_buf(P *p, Node *n, int *scalar)
{
	if (n->kind != N_NAME)
		return NULL;
	Bind *b = lookup(p, n->s);
	if (!b)
		undefined(p, n);
	if (b->kind == NB_POISON)
		pquiet(p);
	if (scalar)
		*scalar = b->kind == NB_SCALAR;
	return b->kind == NB_BUF || b->kind == NB_SCALAR ? b->buf : NULL;
}

static Expr *ev_call(P *p, Node *n);

/* metadata["key"][i]: TVM's reference into the metadata section of a
 * printout.  The section is not read (and is absent unless printed with
 * show_meta=True), so the value is unknown: refused rather than guessed. */
static int is_metadata(P *p, Node *n)
{
	return n->kind == N_SUB && n->x->kind == N_SUB && n->x->x->kind == N_NAME &&
	       streq(n->x->x->s, "metadata") && !lookup(p, n->x->x->s);
}

static TIR_NORETURN void metadata_ref(P *p, Node *n)
{
	if (p->has_meta)
		perr(p, n->loc, "metadata[...] is not supported: tirxc does not read the metadata "
		     "section; write the value inline");
	perr(p, n->loc, "metadata[...] refers to a metadata section that was omitted from this "
	     "printout; print the module with show_meta=True, or write the value inline");
}

static Expr *ev_attr(P *p, Node *n)
{
	char b[128];
	if (n->x->kind == N_NAME) {
		Bind *bd = lookup(p, n->x->s);
		if (bd && (bd->kind == NB_BUF || bd->kind == NB_SCALAR)) {
			if (streq(n->s, "data"))
				return bufdata(p, bd->buf);
			if (streq(n->s, "elem_offset"))
				return bd->buf->elem_offset ? bd->buf->elem_offset : ex_int(p->A, DT_I32, 0);
			perr(p, n->loc, "buffer attribute '%s' is not supported", n->s);
		}
		if (bd && bd->kind == NB_POISON)
			pquiet(p);
	}
	const char *path = node_T_path(p, n, b, sizeof b);
	if (path)
		perr(p, n->loc, "'T.%s' is not a value%s", path,
		     strchr(path, '.') ? "" : " (call it, e.g. T.int32(0))");
	if (n->x->kind == N_NAME && !lookup(p, n->x->s))
		undefined(p, n->x);
	perr(p, n->loc, "unsupported attribute '%s'", n->s);
}

Expr *ev_expr(P *p, Node *n)
{
	int64_t v;
	switch (n->kind) {
	case N_INT:
		if (n->op)
			perr(p, n->loc, "integer literal too large (use T.uint64(...))");
		return int_lit(p, (int64_t)n->i);
	case N_FLOAT:
		return ex_float(p->A, DT_F32, n->f);
	case N_BOOL:
		return ex_int(p->A, DT_BOOL1, (int64_t)n->i);
	case N_STR:
		return ex_str(p->A, n->s);
	case N_NONE:
		perr(p, n->loc, "None is not a value here");
	case N_NAME:
		return ev_name(p, n);
	case N_ATTR:
		return ev_attr(p, n);
	case N_SUB: {
		if (is_metadata(p, n))
			metadata_ref(p, n);
		if (n->x->kind == N_ATTR && streq(n->x->s, "strides") && n->x->x->kind == N_NAME) {
			/* B.strides[i], TVM's spelling of a stride var bound by a
			 * parameter buffer */
			Bind *bd = lookup(p, n->x->x->s);
			if (bd && (bd->kind == NB_BUF || bd->kind == NB_SCALAR)) {
				Buffer *sb = bd->buf;
				if (n->n != 1 || !ast_const_int(n->a[0], &v) || v < 0 || v >= sb->nstrides)
					perr(p, n->loc, "'%s.strides' takes one constant index below %d", n->x->x->s,
					     sb->nstrides);
				return sb->strides[v];
			}
		}
		int scalar = 0;
		Buffer *b = name_buf(p, n->x, &scalar);
		if (!b || scalar) {
			if (n->x->kind == N_NAME && scalar)
				perr(p, n->loc, "'%s' is a scalar; use it without an index", n->x->s);
			perr(p, n->loc, "only buffers can be indexed");
		}
		return load_expr(p, b, n, n->loc);
	}
	case N_SLICE:
		perr(p, n->loc, "a slice is only allowed as a buffer index");
	case N_TUPLE:
	case N_LIST:
	case N_DICT:
		perr(p, n->loc, "a %s is not a PrimExpr", n->kind == N_DICT ? "dict" : n->kind == N_LIST ? "list" : "tuple");
	case N_LAMBDA:
		perr(p, n->loc, "lambda is only supported as the first argument of T.comm_reducer");
	case N_BIN:
		return ev_bin(p, n);
	case N_UNARY: {
		if (ast_const_int(n, &v))
			return int_lit(p, v);
		Expr *x = ev_expr(p, n->x);
		if (n->op == OP_PLUS)
			return x;
		if (n->op == OP_MINUS)
			return neg(p, n->loc, x);
		return bitop(p, n->loc, "bitwise_not", x, NULL);
	}
	case N_CMP:
		return arith(p, n->loc, cmp_kind(n->op), ev_expr(p, n->x), ev_expr(p, n->y));
	case N_AND:
	case N_OR:
		return arith(p, n->loc, n->kind == N_AND ? EX_AND : EX_OR, ev_expr(p, n->x), ev_expr(p, n->y));
	case N_NOT: {
		const char *err = NULL;
		return check(p, n->loc, arith_not(p->A, ev_expr(p, n->x), &err), err);
	}
	case N_CALL:
		return ev_call(p, n);
	}
	perr(p, n->loc, "unsupported expression");
}

Expr *ev_arg(P *p, Node *n)
{
	if (n->kind == N_NAME) {
		Bind *b = lookup(p, n->s);
		if (b && b->kind == NB_BUF) {
			Expr *e = ex_new(p->A, EX_BUFREF, DT_HANDLE64);
			e->buf = b->buf;
			return e;
		}
	}
	return ev_expr(p, n);
}

/* T.int64(3), T.float32("inf"), T.float16(x): literals of the type, or a
 * cast (tvm::cast folds constants). */
static Expr *typed_lit(P *p, Node *call, DType dt)
{
	static const char *const kws[] = {"is_size_var", NULL};
	check_args(p, call, 0, 1, kws);
	Node *a = posarg(call, 0);
	if (!a) {
		char b[32];
		dt_str(dt, b);
		perr(p, call->loc, "a free variable declaration must be a statement of its own: name = T.%s()", b);
	}
	int64_t v;
	DType el = dt_element(dt);
	if (a->kind == N_STR) {
		if (!dt_is_float(el))
			perr(p, a->loc, "a string literal is only allowed for float types");
		const char *s = a->s;
		double f;
		if (streq(s, "inf") || streq(s, "+inf")) f = INFINITY;
		else if (streq(s, "-inf")) f = -INFINITY;
		else if (streq(s, "nan") || streq(s, "+nan")) f = NAN;
		else if (streq(s, "-nan")) f = -NAN;
		else perr(p, a->loc, "expected \"inf\", \"-inf\" or \"nan\"");
		return arith_cast(p->A, dt, ex_float(p->A, el, f));
	}
	if (a->kind == N_INT && a->op) {
		if (el.code != DT_UINT || el.bits != 64)
			perr(p, a->loc, "integer literal out of range for %s", dt_str(el, (char[32]){0}));
		return arith_cast(p->A, dt, ex_int(p->A, el, (int64_t)a->i));
	}
	if (a->kind == N_BOOL)
		return arith_cast(p->A, dt, ex_int(p->A, DT_BOOL1, (int64_t)a->i));
	if (ast_const_int(a, &v)) {
		if (dt_is_int(el) && el.bits < 64) {
			/* int1 holds 0 and 1, as TVM's IntImm allows */
			int u = el.code == DT_UINT || el.bits == 1;
			int64_t lo = u ? 0 : -(int64_t)(UINT64_C(1) << (el.bits - 1));
			int64_t hi = (int64_t)((UINT64_C(1) << (u ? el.bits : el.bits - 1)) - 1);
			if (v < lo || v > hi)
				perr(p, a->loc, "literal %lld is out of range for %s", (long long)v,
				     dt_str(el, (char[32]){0}));
		} else if (el.code == DT_UINT && v < 0) {
			perr(p, a->loc, "literal %lld is out of range for uint64", (long long)v);
		} else if (el.code == DT_BOOL && v != 0 && v != 1) {
			perr(p, a->loc, "literal %lld is not a bool", (long long)v);
		} else if (el.code == DT_HANDLE) {
			perr(p, a->loc, "a handle literal is not supported");
		}
		if (dt_is_float(el))
			return arith_cast(p->A, dt, ex_float(p->A, el, (double)v));
		return arith_cast(p->A, dt, ex_int(p->A, el, v));
	}
	if (a->kind == N_FLOAT || (a->kind == N_UNARY && a->x->kind == N_FLOAT)) {
		double f = a->kind == N_FLOAT ? a->f : a->op == OP_MINUS ? -a->x->f : a->x->f;
		if (!dt_is_float(el))
			perr(p, a->loc, "a float literal for an integer type");
		return arith_cast(p->A, dt, ex_float(p->A, el, f));
	}
	Expr *e = ev_expr(p, a);
	if (e->dt.code == DT_HANDLE || dt_is_void(e->dt))
		perr(p, a->loc, "cannot cast a handle to %s", dt_str(dt, (char[32]){0}));
	return arith_cast(p->A, dt, e);
}

static int64_t lanes_arg(P *p, Node *n)
{
	int64_t l = ev_int(p, n, "a lane count");
	if (l < 1 || l > 65535)
		perr(p, n->loc, "invalid lane count %lld", (long long)l);
	return l;
}

static Expr *raw_bin(P *p, Node *call, int kind)
{
	check_args(p, call, 2, 2, NULL);
	/* the raw node, unchecked: the verifier reports mismatched operands */
	Expr *x = ev_expr(p, call->a[0]), *y = ev_expr(p, call->a[1]);
	return ex_bin(p->A, kind, x, y);
}

/* Python-only or pre-lowering constructs, rejected with the reason. */
static const struct { const char *name; const char *why; } rejected[] = {
	{"sblock", "s_tir blocks must be lowered before tirxc"},
	{"block", "s_tir blocks must be lowered before tirxc"},
	{"axis", "s_tir blocks must be lowered before tirxc"},
	{"reads", "s_tir blocks must be lowered before tirxc"},
	{"writes", "s_tir blocks must be lowered before tirxc"},
	{"init", "s_tir blocks must be lowered before tirxc"},
	{"where", "s_tir blocks must be lowered before tirxc"},
	{"sblock_alloc_buffer", "s_tir blocks must be lowered before tirxc"},
	{"sblock_attr", "s_tir blocks must be lowered before tirxc"},
	{"copy", "tile primitives must be lowered (LowerTIRx) before tirxc"},
	{"fill", "tile primitives must be lowered (LowerTIRx) before tirxc"},
	{"gemm", "tile primitives must be lowered (LowerTIRx) before tirxc"},
	{"tile", "tile primitives must be lowered (LowerTIRx) before tirxc"},
	{"warp", "tile primitives must be lowered (LowerTIRx) before tirxc"},
	{"wg", "tile primitives must be lowered (LowerTIRx) before tirxc"},
	{"cta", "tile primitives must be lowered (LowerTIRx) before tirxc"},
	{"compose_op", "tile primitives must be lowered (LowerTIRx) before tirxc"},
	{"device_entry", "TIRx front-end scopes must be lowered (LowerTIRx) before tirxc"},
	{"cta_id", "TIRx front-end scopes must be lowered (LowerTIRx) before tirxc"},
	{"thread_id", "TIRx front-end scopes must be lowered (LowerTIRx) before tirxc"},
	{"warp_id", "TIRx front-end scopes must be lowered (LowerTIRx) before tirxc"},
	{"lane_id", "TIRx front-end scopes must be lowered (LowerTIRx) before tirxc"},
	{"cluster_id", "TIRx front-end scopes must be lowered (LowerTIRx) before tirxc"},
	{"TileLayout", "layouts are not supported in lowered input"},
	{"ComposeLayout", "layouts are not supported in lowered input"},
	{"SwizzleLayout", "layouts are not supported in lowered input"},
	{"S", "layouts are not supported in lowered input"},
	{"allocate", "it is dead in TVM; use T.alloc_buffer"},
	{"buffer_decl", "it is deprecated; use T.Buffer or T.decl_buffer"},
	{"var", "it is deprecated; use T.int32() etc."},
	{"buffer_var", "it is deprecated"},
	{"meta_var", "it is Python meta-programming"},
	{"macro", "macros are Python meta-programming"},
	{"inline", "it is Python meta-programming"},
	{"jit", "it is Python meta-programming"},
	{"constexpr", "it is Python meta-programming"},
	{"static_assert", "it is Python meta-programming"},
	{"hint", "hints are not part of lowered TIR"},
	{"alloc_tcgen05_ldst_frag", "TIRx front-end constructs must be lowered first"},
	{"wg_reg_tile", "TIRx front-end constructs must be lowered first"},
	{"LetStmt", "use `x: T.let[T.int32] = value`"},
	{"assert_", "use an assert statement"},
	{"realize", "it does not exist in TIRx"},
};

/* Reports `T.path` when it names a rejected construct. */
void reject_check(P *p, Loc loc, const char *path)
{
	size_t l = strcspn(path, ".");
	for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++)
		if (rejected[i].name[0] == path[0] && !strncmp(rejected[i].name, path, l) &&
		    rejected[i].name[l] == 0)
			perr(p, loc, "'T.%s' is not supported: %s", path, rejected[i].why);
}

Expr *ev_call_op(P *p, Node *call, const Op *op, const char *spell)
{
	static const char *const kws[] = {"dtype", NULL};
	check_args(p, call, 0, -1, kws);
	int k = npos(call);
	Node *dk = kwarg(call, "dtype");
	int slot = -1;
	if (!dk && op->dtloc == DTLOC_FIRST)
		slot = 0;
	else if (!dk && op->dtloc == DTLOC_LAST)
		slot = k - 1;
	int nargs = k - (slot >= 0);
	if (slot >= 0 && k == 0)
		perr(p, call->loc, "T.%s needs its return dtype as the %s argument", spell,
		     op->dtloc == DTLOC_FIRST ? "first" : "last");
	if (op->nargs >= 0 && nargs != op->nargs)
		perr(p, call->loc, "T.%s takes %d argument%s (%d given)", spell, op->nargs,
		     op->nargs == 1 ? "" : "s", nargs);
	Expr **args = ar_alloc(p->A, (size_t)(nargs ? nargs : 1) * sizeof *args);
	TType rty = {0};
	int have = 0;
	for (int i = 0, j = 0; i < k; i++) {
		Node *a = posarg(call, i);
		if (i == slot) {
			rty = ev_type_slot(p, a);
			have = 1;
		} else {
			args[j++] = ev_arg(p, a);
		}
	}
	if (dk) {
		rty = ev_type_slot(p, dk);
		have = 1;
	}
	if (!have && !op_ret_type(op, args, nargs, &rty))
		perr(p, call->loc, "T.%s needs a dtype= argument", spell);
	return ex_call(p->A, op, rty, args, nargs);
}

/* T.cuda.func_call("f", args..., source_code="...", return_type=dt): the
 * source is the call's last argument and the result is void unless
 * return_type says otherwise (as TVM's cuda_func_call). */
static Expr *cuda_func_call(P *p, Node *call, const Op *op, const char *spell)
{
	static const char *const kws[] = {"source_code", "return_type", NULL};
	check_args(p, call, 1, -1, kws);
	Node *src = kwarg(call, "source_code");
	if (!src)
		perr(p, call->loc, "T.%s needs a source_code= argument", spell);
	Node *rt = kwarg(call, "return_type");
	int k = npos(call);
	Expr **args = ar_alloc(p->A, (size_t)(k + 1) * sizeof *args);
	for (int i = 0; i < k; i++)
		args[i] = ev_arg(p, posarg(call, i));
	if (args[0]->kind != EX_STR)
		perr(p, posarg(call, 0)->loc, "the function name of T.%s must be a string", spell);
	args[k] = ev_arg(p, src);
	if (args[k]->kind != EX_STR)
		perr(p, src->loc, "source_code= must be a string");
	return ex_call(p->A, op, rt ? ev_type_slot(p, rt) : ty_void(), args, k + 1);
}

/* T.call_ffi_kernel("symbol", args..., launch_params=[tags...],
 * ret_ty="int32"): TVM 0.27's host-side kernel launch.  The tags become
 * the call's attrs; ret_ty is a scalar type or "void", int32 when absent
 * (as TVM's builder).  The symbol must be a string literal and every tag
 * a string: the launch lowering reads both. */
static Expr *call_ffi_kernel(P *p, Node *call, const Op *op, const char *spell)
{
	static const char *const kws[] = {"launch_params", "ret_ty", NULL};
	check_args(p, call, 1, -1, kws);
	Node *lp = kwarg(call, "launch_params");
	if (!lp)
		perr(p, call->loc, "T.%s needs a launch_params= argument", spell);
	if (lp->kind != N_LIST && lp->kind != N_TUPLE)
		perr(p, lp->loc, "launch_params= must be a list of strings");
	Obj **tags = ar_alloc(p->A, (size_t)(lp->n ? lp->n : 1) * sizeof *tags);
	for (int i = 0; i < lp->n; i++) {
		if (lp->a[i]->kind != N_STR)
			perr(p, lp->a[i]->loc, "launch_params= must be a list of strings");
		tags[i] = obj_str(p->A, lp->a[i]->s);
	}
	Node *rt = kwarg(call, "ret_ty");
	TType rty = rt ? ev_type_slot(p, rt) : ty_prim(DT_I32);
	if (rty.kind != TY_PRIM && rty.kind != TY_VOID)
		perr(p, rt->loc, "ret_ty= of T.%s must be a scalar type or \"void\"", spell);
	int k = npos(call);
	Expr **args = ar_alloc(p->A, (size_t)k * sizeof *args);
	for (int i = 0; i < k; i++)
		args[i] = ev_arg(p, posarg(call, i));
	if (args[0]->kind != EX_STR)
		perr(p, posarg(call, 0)->loc, "the kernel name of T.%s must be a string", spell);
	Obj *l = obj_new(p->A, OB_LIST);
	l->list.items = tags;
	l->list.n = lp->n;
	return ex_call_ffi_kernel(p->A, rty, args, k, l);
}

/* T.Call("op.name", [args], attrs=..., ret_ty=type): HEAD prints a call
 * that carries attributes this way.  tirxc's calls have no attributes, so
 * attrs must be absent, None or {}; what is left is the plain op call. */
static Expr *generic_call(P *p, Node *call)
{
	static const char *const kws[] = {"attrs", "ret_ty", NULL};
	if (kwarg(call, "annotations") || npos(call) == 3)
		perr(p, call->loc, "the old form T.Call(dtype, op, [args], annotations=...) is not supported; "
		     "use T.Call(\"op\", [args], attrs=..., ret_ty=...)");
	check_args(p, call, 2, 2, kws);
	Node *on = posarg(call, 0), *ln = posarg(call, 1);
	if (on->kind != N_STR)
		perr(p, on->loc, "T.Call takes the op name as a string");
	const Op *op = op_find(on->s, sym_len(on->s));
	if (!op)
		perr(p, on->loc, "unknown op '%s'", on->s);
	if (streq(op->name, "tirx.call_ffi_kernel"))
		perr(p, on->loc, "write T.call_ffi_kernel(\"symbol\", args..., launch_params=[...]) "
		     "instead of T.Call");
	if (ln->kind != N_LIST && ln->kind != N_TUPLE)
		perr(p, ln->loc, "T.Call takes the arguments as a list");
	Node *at = kwarg(call, "attrs");
	if (at && at->kind != N_NONE && !(at->kind == N_DICT && at->n == 0))
		perr(p, at->loc, "call attributes are not supported (T.Call with a non-empty attrs=)");
	int n = ln->n;
	if (op->nargs >= 0 && n != op->nargs)
		perr(p, ln->loc, "'%s' takes %d argument%s (%d given)", on->s, op->nargs, op->nargs == 1 ? "" : "s", n);
	Expr **args = ar_alloc(p->A, (size_t)(n ? n : 1) * sizeof *args);
	for (int i = 0; i < n; i++)
		args[i] = ev_arg(p, ln->a[i]);
	Node *rt = kwarg(call, "ret_ty");
	TType rty;
	if (rt)
		rty = ev_type_slot(p, rt);
	else if (!op_ret_type(op, args, n, &rty))
		perr(p, call->loc, "T.Call of '%s' needs a ret_ty= argument", on->s);
	return ex_call(p->A, op, rty, args, n);
}

static Expr *module_call(P *p, Node *call, Func *f)
{
	check_args(p, call, 0, -1, NULL);
	Expr **args = ar_alloc(p->A, (size_t)(call->n ? call->n : 1) * sizeof *args);
	for (int i = 0; i < call->n; i++)
		args[i] = ev_arg(p, call->a[i]);
	if (f->nparams != call->n)
		perr(p, call->loc, "function '%s' takes %d argument%s (%d given)", f->name, f->nparams,
		     f->nparams == 1 ? "" : "s", call->n);
	Expr *e = ex_call(p->A, NULL, f->ret, args, call->n);
	e->call.fn = f->name;
	return e;
}

static Expr *vload(P *p, Node *call, Buffer *b)
{
	static const char *const kws[] = {"predicate", "dtype", NULL};
	check_args(p, call, 1, 1, kws);
	Node *l = posarg(call, 0);
	if (l->kind != N_LIST && l->kind != N_TUPLE)
		perr(p, l->loc, "vload takes a list of indices");
	Node sub = *l;
	Expr *e = load_expr(p, b, &sub, call->loc);
	Node *pr = kwarg(call, "predicate");
	if (pr) {
		e->load.pred = ev_expr(p, pr);
		if (e->load.pred->dt.code != DT_BOOL || e->load.pred->dt.lanes != e->dt.lanes)
			perr(p, pr->loc, "the predicate must be a bool vector of %d lanes", e->dt.lanes);
	}
	Node *d = kwarg(call, "dtype");
	if (d)
		e->dt = ev_dtype(p, d);
	return e;
}

static Expr *ev_T_call(P *p, Node *n, const char *path)
{
	Loc loc = n->loc;
	DType dt;
	if (!strchr(path, '.') && dt_parse(path, strlen(path), &dt) && !streq(path, "handle") && !streq(path, "void"))
		return typed_lit(p, n, dt);
	reject_check(p, loc, path);
	const char *err = NULL;
	static const struct { const char *s; int kind; } raws[] = {
		{"Add", EX_ADD}, {"Sub", EX_SUB}, {"Mul", EX_MUL}, {"Div", EX_DIV}, {"Mod", EX_MOD},
		{"FloorDiv", EX_FLOORDIV}, {"FloorMod", EX_FLOORMOD}, {"Min", EX_MIN}, {"Max", EX_MAX},
		{"EQ", EX_EQ}, {"NE", EX_NE}, {"LT", EX_LT}, {"LE", EX_LE}, {"GT", EX_GT}, {"GE", EX_GE},
		{"And", EX_AND}, {"Or", EX_OR},
	};
	for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++)
		if (streq(path, raws[i].s))
			return raw_bin(p, n, raws[i].kind);
	static const struct { const char *s; int kind; } folds[] = {
		{"truncdiv", EX_DIV}, {"truncmod", EX_MOD}, {"floordiv", EX_FLOORDIV},
		{"floormod", EX_FLOORMOD}, {"min", EX_MIN}, {"max", EX_MAX},
	};
	for (size_t i = 0; i < sizeof folds / sizeof folds[0]; i++)
		if (streq(path, folds[i].s)) {
			check_args(p, n, 2, 2, NULL);
			return arith(p, loc, folds[i].kind, ev_expr(p, n->a[0]), ev_expr(p, n->a[1]));
		}
	if (streq(path, "ceildiv")) {
		check_args(p, n, 2, 2, NULL);
		Expr *a = ev_expr(p, n->a[0]), *b = ev_expr(p, n->a[1]);
		Expr *one = arith_cast(p->A, dt_element(b->dt), ex_int(p->A, DT_I32, 1));
		return arith(p, loc, EX_FLOORDIV, arith(p, loc, EX_SUB, arith(p, loc, EX_ADD, a, b), one), b);
	}
	if (streq(path, "Not")) {
		check_args(p, n, 1, 1, NULL);
		Expr *x = ev_expr(p, n->a[0]);
		if (x->dt.code != DT_BOOL)
			perr(p, loc, "T.Not needs a bool operand");
		Expr *e = ex_new(p->A, EX_NOT, x->dt);
		e->bin.a = x;
		return e;
	}
	if (streq(path, "Cast") || streq(path, "cast")) {
		static const char *const kws[] = {"dtype", NULL};
		check_args(p, n, 1, 2, kws);
		int raw = path[0] == 'C';
		Node *dn = kwarg(n, "dtype"), *xn;
		if (dn)
			xn = posarg(n, 0);
		else if (npos(n) != 2)
			perr(p, loc, "T.%s takes a dtype and a value", path);
		else if (raw)
			dn = posarg(n, 0), xn = posarg(n, 1);
		else
			xn = posarg(n, 0), dn = posarg(n, 1);
		DType t = ev_dtype(p, dn);
		Expr *x = ev_expr(p, xn);
		if (dt_is_void(t))
			perr(p, dn->loc, "cannot cast to void");
		return raw ? ex_cast(p->A, t, x) : arith_cast(p->A, t, x);
	}
	if (streq(path, "Select")) {
		check_args(p, n, 3, 3, NULL);
		Expr *c = ev_expr(p, n->a[0]), *t = ev_expr(p, n->a[1]), *f = ev_expr(p, n->a[2]);
		if (c->dt.code != DT_BOOL)
			perr(p, n->a[0]->loc, "the condition of T.Select must be bool");
		if (!dt_eq(t->dt, f->dt))
			perr(p, loc, "the values of T.Select have different types");
		Expr *e = ex_new(p->A, EX_SELECT, t->dt);
		e->sel.c = c, e->sel.t = t, e->sel.f = f;
		return e;
	}
	if (streq(path, "if_then_else")) {
		check_args(p, n, 3, 3, NULL);
		Expr *c = ev_expr(p, n->a[0]), *t = ev_arg(p, n->a[1]), *f = ev_arg(p, n->a[2]);
		if (c->dt.code != DT_BOOL)
			perr(p, n->a[0]->loc, "the condition of T.if_then_else must be bool");
		if (!dt_eq(t->dt, f->dt) && !arith_match_types(p->A, &t, &f, &err))
			perr(p, loc, "%s", err);
		int64_t cv;
		if (ex_is_const_int(c, &cv))
			return cv ? t : f;
		Expr *args[3] = {c, t, f};
		return ex_call(p->A, need_op(p, loc, "if_then_else"), ex_type(t), ar_dup(p->A, args, sizeof args), 3);
	}
	if (streq(path, "likely")) {
		check_args(p, n, 1, 1, NULL);
		Expr *c = ev_expr(p, n->a[0]);
		if (ex_is_const_int(c, NULL))
			return c;
		return ex_call(p->A, need_op(p, loc, "likely"), ty_prim(c->dt), ar_dup(p->A, &c, sizeof c), 1);
	}
	if (streq(path, "IntImm")) {
		/* T.IntImm("int4", -3): the form tirxc prints for integer constants
		 * whose T.<dtype>(v) TVM 0.27 cannot read back */
		check_args(p, n, 2, 2, NULL);
		DType it = ev_dtype(p, n->a[0]);
		Node *v = n->a[1];
		int lit = v->kind == N_INT || v->kind == N_BOOL ||
			  (v->kind == N_UNARY && v->op == OP_MINUS && v->x->kind == N_INT && !v->x->op);
		if (!(dt_is_int(it) || it.code == DT_BOOL) || it.lanes != 1)
			perr(p, n->a[0]->loc, "T.IntImm needs a scalar integer type");
		if (!lit)
			perr(p, v->loc, "T.IntImm needs an integer literal");
		Node one = *n;
		one.a = n->a + 1;
		one.kw = NULL;
		one.n = 1;
		return typed_lit(p, &one, it);
	}
	if (streq(path, "Ramp")) {
		check_args(p, n, 3, 3, NULL);
		Expr *b = ev_expr(p, n->a[0]), *s = ev_expr(p, n->a[1]);
		int64_t l = lanes_arg(p, n->a[2]);
		if (!dt_eq(b->dt, s->dt) && !arith_match_types(p->A, &b, &s, &err))
			perr(p, loc, "%s", err);
		if (b->dt.lanes != 1)
			perr(p, loc, "T.Ramp needs a scalar base");
		Expr *e = ex_new(p->A, EX_RAMP, dt_with_lanes(b->dt, (int)l));
		e->ramp.base = b, e->ramp.stride = s;
		return e;
	}
	if (streq(path, "Broadcast")) {
		check_args(p, n, 2, 2, NULL);
		Expr *v = ev_expr(p, n->a[0]);
		int64_t l = lanes_arg(p, n->a[1]);
		if (v->dt.lanes != 1)
			perr(p, loc, "T.Broadcast needs a scalar value");
		Expr *e = ex_new(p->A, EX_BROADCAST, dt_with_lanes(v->dt, (int)l));
		e->bcast.value = v;
		return e;
	}
	if (streq(path, "Shuffle")) {
		check_args(p, n, 2, 2, NULL);
		Node *vl = n->a[0], *il = n->a[1];
		if ((vl->kind != N_LIST && vl->kind != N_TUPLE) || (il->kind != N_LIST && il->kind != N_TUPLE) ||
		    !vl->n || !il->n)
			perr(p, loc, "T.Shuffle takes a list of vectors and a list of indices");
		Expr *e = ex_new(p->A, EX_SHUFFLE, DT_I32);
		e->shuf.nvecs = vl->n;
		e->shuf.vecs = ar_alloc(p->A, (size_t)vl->n * sizeof(Expr *));
		for (int i = 0; i < vl->n; i++)
			e->shuf.vecs[i] = ev_expr(p, vl->a[i]);
		e->shuf.nidx = il->n;
		e->shuf.idx = ar_alloc(p->A, (size_t)il->n * sizeof(Expr *));
		for (int i = 0; i < il->n; i++)
			e->shuf.idx[i] = ev_expr(p, il->a[i]);
		if (il->n > 65535)
			perr(p, loc, "too many lanes");
		e->dt = dt_with_lanes(e->shuf.vecs[0]->dt, il->n);
		return e;
	}
	if (streq(path, "Let")) {
		static const char *const kws[] = {"where", NULL};
		check_args(p, n, 1, 1, kws);
		Node *w = kwarg(n, "where");
		if (!w || w->kind != N_DICT || w->n != 1 || w->a[0]->kind != N_NAME)
			perr(p, loc, "T.Let takes where={var: value} with one var");
		Bind *b = lookup(p, w->a[0]->s);
		if (!b)
			undefined(p, w->a[0]);
		if (b->kind != NB_VAR)
			perr(p, w->a[0]->loc, "'%s' is not a variable", w->a[0]->s);
		Expr *val = ev_expr(p, w->a[1]);
		Expr *body = ev_expr(p, posarg(n, 0));
		Expr *e = ex_new(p->A, EX_LET, body->dt);
		e->let.var = b->var, e->let.value = val, e->let.body = body;
		return e;
	}
	static const char *const stmt_only[] = {
		"evaluate", "attr", "launch_thread", "env_thread", "func_attr", "alloc_buffer", "alloc_local",
		"alloc_shared", "decl_buffer", "match_buffer", "Buffer", "handle", "TensorMap", "target",
		"comm_reducer", "serial", "parallel", "vectorized", "unroll", "thread_binding", "grid",
		"prim_func", "let", "local_scalar", "shared_scalar", "alloc_scalar", "decl_scalar", NULL,
	};
	for (int i = 0; stmt_only[i]; i++)
		if (streq(path, stmt_only[i]))
			perr(p, loc, "'T.%s' is not allowed in an expression", path);
	if (streq(path, "Call"))
		return generic_call(p, n);
	const Op *op = op_find(path, strlen(path));
	if (!op && !strncmp(path, "ptx.", 4))
		return ptx_chain(p, n, path);
	if (!op)
		perr(p, loc, "unknown op 'T.%s'", path);
	if (ptx_is_family(op) || ptx_entry_of(op))
		return ptx_call(p, n, op, path);
	if (streq(op->name, "tirx.cuda.func_call"))
		return cuda_func_call(p, n, op, path);
	if (streq(op->name, "tirx.call_ffi_kernel"))
		return call_ffi_kernel(p, n, op, path);
	return ev_call_op(p, n, op, path);
}

static Expr *ev_call(P *p, Node *n)
{
	char b[160];
	const char *path = node_T_path(p, n->x, b, sizeof b);
	if (path && !lookup(p, sym("T")))
		return ev_T_call(p, n, path);
	Node *c = n->x;
	if (c->kind == N_NAME) {
		Bind *bd = lookup(p, c->s);
		if (bd && bd->kind == NB_POISON)
			pquiet(p);
		Func *f = bd ? NULL : find_func(p, c->s);
		if (f)
			return module_call(p, n, f);
		if (bd)
			perr(p, c->loc, "'%s' is not callable", c->s);
		if (streq(c->s, "range"))
			perr(p, c->loc, "range(...) is only allowed in a for statement");
		perr(p, c->loc, "name '%s' is not defined (calls of Python helper functions are not supported)", c->s);
	}
	if (c->kind == N_ATTR && c->x->kind == N_NAME) {
		Bind *bd = lookup(p, c->x->s);
		if (!bd && p->m->name && c->x->s == p->m->name) {
			Func *f = find_func(p, c->s);
			if (!f)
				perr(p, c->loc, "module '%s' has no function '%s'", c->x->s, c->s);
			return module_call(p, n, f);
		}
		if (bd && (bd->kind == NB_BUF || bd->kind == NB_SCALAR)) {
			if (streq(c->s, "vload"))
				return vload(p, n, bd->buf);
			if (streq(c->s, "view") || streq(c->s, "local") || streq(c->s, "permute") ||
			    streq(c->s, "partition") || streq(c->s, "ptr_to") || streq(c->s, "access_ptr"))
				perr(p, n->loc, "'%s.%s(...)' is not allowed here%s", c->x->s, c->s,
				     strcmp(c->s, "view") ? "" : " (a view must be assigned: B = A.view(...))");
			perr(p, c->loc, "unknown buffer method '%s'", c->s);
		}
		if (bd && bd->kind == NB_POISON)
			pquiet(p);
		if (!bd)
			undefined(p, c->x);
	}
	if (c->kind == N_ATTR && streq(c->s, "ty"))
		perr(p, n->loc, "a type is not callable");
	Node *root = c;
	while (root->kind == N_ATTR || root->kind == N_CALL || root->kind == N_SUB)
		root = root->x;
	if (root->kind == N_NAME && !lookup(p, root->s))
		undefined(p, root);
	perr(p, n->loc, "this call is not supported");
}

/* ------------------------------------------------------------ objects */

/* A target's config dict from a target string, a config dict or a nested
 * T.target(...).  target.c builds it; its message is reported here, at the
 * argument. */
static Obj *target_config(P *p, Node *n)
{
	const char *err = "not a target";
	Obj *t = NULL;
	if (n->kind == N_STR) {
		if (memchr(n->s, 0, sym_len(n->s)))
			perr(p, n->loc, "a target string cannot hold a NUL byte");
		t = target_parse(p->A, n->s, &err);
		if (t)
			return t->target;
	} else if (n->kind == N_DICT) {
		t = target_complete(p->A, ev_obj(p, n), &err);
		if (t)
			return t;
	} else if (n->kind == N_CALL && node_is_T(p, n->x, "target")) {
		return make_target(p, n)->target;
	} else {
		check_name(p, n);
		err = "expected a target string or dict";
	}
	perr(p, n->loc, "%s", err);
}

Obj *make_target(P *p, Node *call)
{
	static const char *const kws[] = {"host", NULL};
	check_args(p, call, 1, 1, kws);
	Obj *d = target_config(p, posarg(call, 0));
	Node *h = kwarg(call, "host");
	if (h && h->kind != N_NONE)
		return target_with_host(p->A, d, target_config(p, h));
	Obj *o = obj_new(p->A, OB_TARGET);
	o->target = d;
	return o;
}

static Obj *comm_reducer(P *p, Node *call)
{
	check_args(p, call, 2, 2, NULL);
	Node *lam = call->a[0], *ids = call->a[1];
	if (lam->kind != N_LAMBDA)
		perr(p, lam->loc, "T.comm_reducer takes a lambda as its first argument");
	if (ids->kind != N_LIST && ids->kind != N_TUPLE)
		perr(p, ids->loc, "T.comm_reducer takes a list of identity values");
	int k = ids->n;
	if (!k || lam->n != 2 * k)
		perr(p, lam->loc, "the lambda of T.comm_reducer needs %d parameters", 2 * k);
	Obj *o = obj_new(p->A, OB_REDUCER);
	o->red.n = k;
	o->red.lhs = ar_alloc(p->A, (size_t)k * sizeof(Var *));
	o->red.rhs = ar_alloc(p->A, (size_t)k * sizeof(Var *));
	o->red.identity = ar_alloc(p->A, (size_t)k * sizeof(Expr *));
	o->red.result = ar_alloc(p->A, (size_t)k * sizeof(Expr *));
	for (int i = 0; i < k; i++)
		o->red.identity[i] = ev_expr(p, ids->a[i]);
	int mark = p->nb;
	for (int i = 0; i < 2 * k; i++) {
		Var *v = var_new(p->A, lam->a[i]->s, ty_prim(o->red.identity[i % k]->dt));
		(i < k ? o->red.lhs : o->red.rhs)[i % k] = v;
		bind_push(p, v->name, NB_VAR, v, NULL);
	}
	Node *body = lam->x;
	if (k == 1) {
		o->red.result[0] = ev_expr(p, body);
	} else {
		if ((body->kind != N_TUPLE && body->kind != N_LIST) || body->n != k)
			perr(p, body->loc, "the lambda must return %d values", k);
		for (int i = 0; i < k; i++)
			o->red.result[i] = ev_expr(p, body->a[i]);
	}
	scope_pop(p, mark);
	return o;
}

Obj *ev_obj(P *p, Node *n)
{
	int64_t v;
	Obj *o;
	switch (n->kind) {
	case N_STR:
		return obj_str(p->A, n->s);
	case N_BOOL:
		return obj_bool(p->A, (int)n->i);
	case N_NONE:
		return obj_new(p->A, OB_NONE);
	case N_FLOAT:
		o = obj_new(p->A, OB_FLOAT);
		o->f = n->f;
		return o;
	case N_LIST:
	case N_TUPLE: {
		Obj **items = ar_alloc(p->A, (size_t)(n->n ? n->n : 1) * sizeof *items);
		for (int i = 0; i < n->n; i++)
			items[i] = ev_obj(p, n->a[i]);
		o = obj_new(p->A, OB_LIST);
		o->list.items = items;
		o->list.n = n->n;
		return o;
	}
	case N_DICT:
		o = obj_new(p->A, OB_DICT);
		o->dict.keys = ar_alloc(p->A, (size_t)(n->n ? n->n : 1) * sizeof(Obj *));
		o->dict.vals = ar_alloc(p->A, (size_t)(n->n ? n->n : 1) * sizeof(Obj *));
		for (int i = 0; i < n->n; i++) {
			Obj *k = ev_obj(p, n->a[2 * i]);
			for (int j = 0; j < o->dict.n; j++)
				if (k->kind == OB_STR && o->dict.keys[j]->kind == OB_STR && o->dict.keys[j]->s == k->s)
					perr(p, n->a[2 * i]->loc, "duplicate key \"%s\"", k->s);
			o->dict.keys[o->dict.n] = k;
			o->dict.vals[o->dict.n++] = ev_obj(p, n->a[2 * i + 1]);
		}
		return o;
	case N_CALL:
		if (node_is_T(p, n->x, "target"))
			return make_target(p, n);
		if (node_is_T(p, n->x, "comm_reducer"))
			return comm_reducer(p, n);
		break;
	case N_NAME: {
		Bind *b = lookup(p, n->s);
		if (b && b->kind == NB_BUF) {
			o = obj_new(p->A, OB_BUFFER);
			o->buf = b->buf;
			return o;
		}
		break;
	}
	case N_SUB:
		if (n->x->kind == N_SUB && n->x->x->kind == N_NAME && streq(n->x->x->s, "metadata") &&
		    !lookup(p, n->x->x->s) && n->x->n == 1 && n->x->a[0]->kind == N_STR && n->n == 1) {
			metadata_ref(p, n);
		}
		break;
	default:
		if (n->kind != N_INT && ast_const_int(n, &v))
			return obj_int(p->A, v);
		break;
	}
	if (n->kind == N_INT) {
		if (n->op)
			perr(p, n->loc, "integer literal too large");
		return obj_int(p->A, (int64_t)n->i);
	}
	o = obj_new(p->A, OB_EXPR);
	o->expr = ev_expr(p, n);
	return o;
}

void check_name_ref(P *p, Node *n)
{
	check_name(p, n);
}
