/* lex.c: the tokenizer for TIRx script, with Python's line structure.
 *
 * Logical lines end in TK_NEWLINE; indentation changes give TK_INDENT and
 * TK_DEDENT; newlines inside brackets are ignored.  Errors are reported
 * here (unless the lexer is quiet), and a TK_ERROR token marks the spot so
 * the parser does not report the same line again.
 *
 * The lexer runs on demand: lx_fill makes more tokens, lx_drop forgets the
 * ones the parser is done with, so a big file never has all of its tokens
 * in memory at once.  lex_text lexes a whole (small) text in one go. */
#include <stdlib.h>
#include <string.h>
#include "parse.h"

struct Lx {
	int file;
	const char *s;
	size_t n, i;
	int line;          /* current physical line, 1-based */
	size_t linestart;  /* offset of the current line's first byte */
	int line0, col0;   /* added to token positions */
	Tok *toks;
	int ntoks, cap;   /* toks has room for cap + 1: a zeroed slot after EOF */
	Vec old;          /* outgrown token arrays, kept until lx_drop (see push) */
	int quiet;        /* report nothing: the same text was lexed before */
	int bol;          /* at the beginning of a line */
	int done;         /* TK_EOF was pushed */
	int fatal_at;     /* index of the token after a fatal error, or -1 */
	int ind[MAX_NEST + 1]; /* indentation stack; ind[0] = 0 */
	int nind;
	struct { char c; int line, col; } br[MAX_NEST];
	int nbr;
	int nerr;
	int fatal;
	int line_has_toks;
	int tab_reported;
	int scan;         /* lx_scan: names are interned on `def` lines only */
	int defline;      /* scan: the current logical line has a `def` */
	Sym def;          /* scan: sym("def") */
	Tok dummy;        /* scan: where tokens that are not kept are made */
	Buf scratch;
};

static int colof(Lx *lx, size_t at)
{
	return (int)(at - lx->linestart) + 1;
}

static Loc lxloc(Lx *lx, int line, int col)
{
	Loc l = {lx->file, line + lx->line0, col};
	if (line == 1)
		l.col += lx->col0;
	return l;
}

/* A full token array moves to a bigger one, but the old one is kept until
 * lx_drop: the parser may hold pointers to tokens it has already read. */
static void grow(Lx *lx)
{
	int ncap = lx->cap ? lx->cap * 2 : 1024;
	Tok *nt = xmalloc(((size_t)ncap + 1) * sizeof *nt);
	if (lx->ntoks)
		memcpy(nt, lx->toks, (size_t)lx->ntoks * sizeof *nt);
	if (lx->toks)
		vec_push(&lx->old, lx->toks);
	lx->toks = nt;
	lx->cap = ncap;
}

static inline Tok *push(Lx *lx, int kind, int line, int col)
{
	if (lx->scan && !lx->defline && kind >= TK_NAME && kind <= TK_OP) {
		/* nobody reads it: only its effect on the line counts */
		lx->line_has_toks = 1;
		return &lx->dummy;
	}
	if (lx->ntoks == lx->cap)
		grow(lx);
	Tok *t = &lx->toks[lx->ntoks++];
	t->kind = (uint8_t)kind;
	t->op = 0;
	t->i = 0;
	t->line = line + lx->line0;
	t->col = line == 1 ? col + lx->col0 : col;
	if (kind != TK_NEWLINE && kind != TK_INDENT && kind != TK_DEDENT)
		lx->line_has_toks = 1;
	return t;
}

/* Skips the rest of the physical line (not the newline itself). */
static void skip_line(Lx *lx)
{
	const char *nl = memchr(lx->s + lx->i, '\n', lx->n - lx->i);
	lx->i = nl ? (size_t)(nl - lx->s) : lx->n;
}

/* Reports an error at (line, col), leaves a TK_ERROR token and drops the
 * rest of the line and any open brackets.  Too many errors end lexing. */
static void lxerr(Lx *lx, int line, int col, const char *fmt, ...) TIR_PRINTF(4, 5);
static void lxerr(Lx *lx, int line, int col, const char *fmt, ...)
{
	if (!lx->quiet) {
		va_list ap;
		va_start(ap, fmt);
		diag_verror(lxloc(lx, line, col), "error", fmt, ap);
		va_end(ap);
	}
	push(lx, TK_ERROR, line, col);
	skip_line(lx);
	lx->nbr = 0;
	if (++lx->nerr >= 100)
		lx->fatal = 1;
}

static void fatal(Lx *lx, int line, int col, const char *msg)
{
	if (!lx->quiet)
		diag_error(lxloc(lx, line, col), "%s", msg);
	push(lx, TK_ERROR, line, col);
	lx->fatal = 1;
}

/* 1: may start a name, 2: may continue one (every byte of a name is read
 * through this table, so it is worth a table) */
#define L3 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3
static const unsigned char name_class[256] = {
	['0'] = 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	['A'] = L3, L3,
	['_'] = 3,
	['a'] = L3, L3,
};
#undef L3

static int is_name_start(int c)
{
	return name_class[c] & 1;
}

static int is_name_char(int c)
{
	return name_class[c] & 2;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(Buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		buf_putc(b, (int)cp);
	} else if (cp < 0x800) {
		buf_putc(b, (int)(0xC0 | (cp >> 6)));
		buf_putc(b, (int)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_putc(b, (int)(0xE0 | (cp >> 12)));
		buf_putc(b, (int)(0x80 | ((cp >> 6) & 0x3F)));
		buf_putc(b, (int)(0x80 | (cp & 0x3F)));
	} else {
		buf_putc(b, (int)(0xF0 | (cp >> 18)));
		buf_putc(b, (int)(0x80 | ((cp >> 12) & 0x3F)));
		buf_putc(b, (int)(0x80 | ((cp >> 6) & 0x3F)));
		buf_putc(b, (int)(0x80 | (cp & 0x3F)));
	}
}

/* A string literal starting at the quote at lx->i.  raw: no escapes. */
static void lex_string(Lx *lx, int line, int col, int raw)
{
	const char *s = lx->s;
	char q = s[lx->i];
	int triple = lx->i + 2 < lx->n && s[lx->i + 1] == q && s[lx->i + 2] == q;
	lx->i += triple ? 3 : 1;
	Buf *b = &lx->scratch;
	b->n = 0;
	for (;;) {
		if (lx->i >= lx->n) {
			if (triple)
				fatal(lx, line, col, "unterminated triple-quoted string literal");
			else
				lxerr(lx, line, col, "unterminated string literal");
			return;
		}
		char c = s[lx->i];
		if (c == q) {
			if (!triple) {
				lx->i++;
				break;
			}
			if (lx->i + 2 < lx->n && s[lx->i + 1] == q && s[lx->i + 2] == q) {
				lx->i += 3;
				break;
			}
		}
		if (c == '\n') {
			if (!triple) {
				lxerr(lx, line, col, "unterminated string literal");
				return;
			}
			lx->line++;
			lx->linestart = lx->i + 1;
		}
		if (c != '\\' || raw) {
			buf_putc(b, c);
			lx->i++;
			continue;
		}
		/* escapes */
		if (lx->i + 1 >= lx->n) {
			lx->i++;
			continue;
		}
		char e = s[lx->i + 1];
		lx->i += 2;
		switch (e) {
		case 'n': buf_putc(b, '\n'); break;
		case 't': buf_putc(b, '\t'); break;
		case 'r': buf_putc(b, '\r'); break;
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
			int v = e - '0';
			for (int k = 0; k < 2 && lx->i < lx->n && s[lx->i] >= '0' && s[lx->i] <= '7'; k++)
				v = v * 8 + (s[lx->i++] - '0');
			buf_putc(b, v & 0xFF);
			break;
		}
		case 'a': buf_putc(b, '\a'); break;
		case 'b': buf_putc(b, '\b'); break;
		case 'f': buf_putc(b, '\f'); break;
		case 'v': buf_putc(b, '\v'); break;
		case '\\': case '\'': case '"': buf_putc(b, e); break;
		case '\n':
			lx->line++;
			lx->linestart = lx->i;
			break;
		case 'x': case 'u': case 'U': {
			int nd = e == 'x' ? 2 : e == 'u' ? 4 : 8;
			uint32_t v = 0;
			for (int k = 0; k < nd; k++) {
				int h = lx->i < lx->n ? hexval((unsigned char)s[lx->i]) : -1;
				if (h < 0) {
					lxerr(lx, lx->line, colof(lx, lx->i - 2 - (size_t)k),
					      "truncated \\%c escape in string literal", e);
					return;
				}
				v = v * 16 + (uint32_t)h;
				lx->i++;
			}
			if (e == 'x')
				buf_putc(b, (int)v);
			else
				put_utf8(b, v > 0x10FFFF ? 0xFFFD : v);
			break;
		}
		default: /* Python keeps unknown escapes as written */
			buf_putc(b, '\\');
			buf_putc(b, e);
		}
	}
	Tok *t = push(lx, TK_STR, line, col);
	if (t != &lx->dummy)
		t->s = symn(b->n ? b->s : "", b->n);
}

static void lex_number(Lx *lx, int line, int col)
{
	const char *s = lx->s;
	size_t st = lx->i;
	int base = 10;
	if (s[st] == '0' && st + 1 < lx->n) {
		char x = s[st + 1] | 0x20;
		base = x == 'x' ? 16 : x == 'o' ? 8 : x == 'b' ? 2 : 10;
	}
	if (base != 10) {
		lx->i = st + 2;
		uint64_t v = 0;
		int nd = 0, over = 0;
		while (lx->i < lx->n) {
			int c = (unsigned char)s[lx->i];
			if (c == '_') {
				lx->i++;
				continue;
			}
			int d = hexval(c);
			if (d < 0 || d >= base)
				break;
			if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
				over = 1;
			v = v * (uint64_t)base + (uint64_t)d;
			nd++;
			lx->i++;
		}
		if (!nd || (lx->i < lx->n && is_name_char((unsigned char)s[lx->i]))) {
			lxerr(lx, line, col, "invalid number literal");
			return;
		}
		if (over) {
			lxerr(lx, line, col, "integer literal is too large");
			return;
		}
		Tok *t = push(lx, TK_INT, line, col);
		t->i = v;
		t->op = v > (uint64_t)INT64_MAX;
		return;
	}
	int isfloat = 0;
	size_t j = st;
	while (j < lx->n && ((s[j] >= '0' && s[j] <= '9') || s[j] == '_'))
		j++;
	if (j < lx->n && s[j] == '.') {
		isfloat = 1;
		j++;
		while (j < lx->n && ((s[j] >= '0' && s[j] <= '9') || s[j] == '_'))
			j++;
	}
	if (j < lx->n && (s[j] | 0x20) == 'e') {
		size_t k = j + 1;
		if (k < lx->n && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k < lx->n && s[k] >= '0' && s[k] <= '9') {
			isfloat = 1;
			j = k;
			while (j < lx->n && s[j] >= '0' && s[j] <= '9')
				j++;
		}
	}
	lx->i = j;
	if (j < lx->n && is_name_char((unsigned char)s[j])) {
		lxerr(lx, line, col, "invalid number literal");
		return;
	}
	if (!isfloat && j - st < 19) {
		/* the common case: few plain digits, no '_', cannot overflow */
		uint64_t v = 0;
		size_t k = st;
		while (k < j && s[k] != '_')
			v = v * 10 + (uint64_t)(s[k++] - '0');
		if (k == j) {
			Tok *t = push(lx, TK_INT, line, col);
			t->i = v;
			return;
		}
	}
	if (isfloat && j - st < 64 && !memchr(s + st, '_', j - st)) {
		/* a plain float: strtod reads a NUL-terminated copy */
		Tok *t = push(lx, TK_FLOAT, line, col);
		if (t != &lx->dummy) {
			char tmp[64];
			memcpy(tmp, s + st, j - st);
			tmp[j - st] = 0;
			t->f = strtod(tmp, NULL);
		}
		return;
	}
	Buf *b = &lx->scratch;
	b->n = 0;
	for (size_t k = st; k < j; k++)
		if (s[k] != '_')
			buf_putc(b, s[k]);
	buf_putc(b, 0);
	if (isfloat) {
		Tok *t = push(lx, TK_FLOAT, line, col);
		if (t != &lx->dummy)
			t->f = strtod(b->s, NULL);
		return;
	}
	uint64_t v = 0;
	for (const char *p = b->s; *p; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10) {
			lxerr(lx, line, col, "integer literal is too large");
			return;
		}
		v = v * 10 + d;
	}
	Tok *t = push(lx, TK_INT, line, col);
	t->i = v;
	t->op = v > (uint64_t)INT64_MAX;
}

/* The operator at p (left bytes available): its OP_* and length, or -1. */
static int scan_op(const char *p, size_t left, int *len)
{
	char c1 = left > 1 ? p[1] : 0, c2 = left > 2 ? p[2] : 0;
	int op = -1, l = 1;
#define TWO(ch, op2, op1) (c1 == (ch) ? (l = 2, (op2)) : (op1))
	switch (*p) {
	case '(': op = OP_LPAREN; break;
	case ')': op = OP_RPAREN; break;
	case '[': op = OP_LBRACK; break;
	case ']': op = OP_RBRACK; break;
	case '{': op = OP_LBRACE; break;
	case '}': op = OP_RBRACE; break;
	case ',': op = OP_COMMA; break;
	case ';': op = OP_SEMI; break;
	case '~': op = OP_TILDE; break;
	case ':': op = TWO('=', OP_WALRUS, OP_COLON); break;
	case '.':
		if (c1 == '.' && c2 == '.')
			op = OP_ELLIPSIS, l = 3;
		else
			op = OP_DOT;
		break;
	case '@': op = TWO('=', OP_AUGASSIGN, OP_AT); break;
	case '=': op = TWO('=', OP_EQ, OP_ASSIGN); break;
	case '!':
		if (c1 == '=')
			op = OP_NE, l = 2;
		break;
	case '+': op = TWO('=', OP_AUGASSIGN, OP_PLUS); break;
	case '-':
		op = c1 == '>' ? (l = 2, OP_ARROW) : TWO('=', OP_AUGASSIGN, OP_MINUS);
		break;
	case '%': op = TWO('=', OP_AUGASSIGN, OP_PERCENT); break;
	case '&': op = TWO('=', OP_AUGASSIGN, OP_AMP); break;
	case '|': op = TWO('=', OP_AUGASSIGN, OP_PIPE); break;
	case '^': op = TWO('=', OP_AUGASSIGN, OP_CARET); break;
	case '*': case '/': case '<': case '>': {
		/* doubled: ** // << >>, each with an augmented form */
		static const uint8_t one[] = {['*'] = OP_STAR, ['/'] = OP_SLASH, ['<'] = OP_LT, ['>'] = OP_GT};
		static const uint8_t two[] = {['*'] = OP_POW, ['/'] = OP_DSLASH, ['<'] = OP_LSHIFT, ['>'] = OP_RSHIFT};
		unsigned char c = (unsigned char)*p;
		if (c1 == *p) {
			op = c2 == '=' ? (l = 3, OP_AUGASSIGN) : (l = 2, two[c]);
		} else if (c1 == '=') {
			l = 2;
			op = c == '<' ? OP_LE : c == '>' ? OP_GE : OP_AUGASSIGN;
		} else {
			op = one[c];
		}
		break;
	}
	}
#undef TWO
	*len = l;
	return op;
}

static void lex_op(Lx *lx, int line, int col)
{
	const char *p = lx->s + lx->i;
	int l, op = scan_op(p, lx->n - lx->i, &l);
	if (op >= 0) {
		if (op == OP_LPAREN || op == OP_LBRACK || op == OP_LBRACE) {
			if (lx->nbr >= MAX_NEST) {
				fatal(lx, line, col, "nesting too deep (more than 1000 levels)");
				return;
			}
			lx->br[lx->nbr].c = *p;
			lx->br[lx->nbr].line = line;
			lx->br[lx->nbr].col = col;
			lx->nbr++;
		} else if (op == OP_RPAREN || op == OP_RBRACK || op == OP_RBRACE) {
			char want = *p == ')' ? '(' : *p == ']' ? '[' : '{';
			if (!lx->nbr) {
				lxerr(lx, line, col, "unmatched '%c'", *p);
				return;
			}
			if (lx->br[lx->nbr - 1].c != want) {
				lxerr(lx, line, col, "closing '%c' does not match opening '%c'", *p,
				      lx->br[lx->nbr - 1].c);
				return;
			}
			lx->nbr--;
		}
		lx->i += (size_t)l;
		Tok *t = push(lx, TK_OP, line, col);
		t->op = (uint8_t)op;
		return;
	}
	unsigned char c = (unsigned char)*p;
	if (c == 0)
		lxerr(lx, line, col, "NUL byte in input");
	else if (c >= 0x80)
		lxerr(lx, line, col, "non-ASCII character in source (byte 0x%02X)", c);
	else if (c < 32 || c == 127)
		lxerr(lx, line, col, "invalid control character 0x%02X in source", c);
	else
		lxerr(lx, line, col, "invalid character '%c'", c);
}

/* Handles the indentation of a new logical line starting at lx->i.
 * Returns 0 when the line is blank (nothing emitted). */
static int lex_indent(Lx *lx)
{
	const char *s = lx->s;
	size_t j = lx->i;
	int tabs = 0;
	while (j < lx->n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\f')) {
		tabs |= s[j] == '\t';
		j++;
	}
	if (j >= lx->n || s[j] == '\n' || s[j] == '#' || (s[j] == '\r' && (j + 1 >= lx->n || s[j + 1] == '\n'))) {
		lx->i = j;
		return 0;
	}
	int width = (int)(j - lx->i);
	int col = width + 1;
	if (tabs) {
		/* reported once; the line still counts with tab stops of 8 so
		 * the block structure (and later messages) stay sensible */
		if (!lx->tab_reported && !lx->quiet)
			diag_error(lxloc(lx, lx->line, 1), "tab character in indentation (indent with spaces)");
		lx->tab_reported = 1;
		width = 0;
		for (size_t k = lx->i; k < j; k++)
			width = s[k] == '\t' ? (width / 8 + 1) * 8 : width + 1;
	}
	lx->i = j;
	int top = lx->ind[lx->nind];
	if (width > top) {
		if (lx->nind >= MAX_NEST) {
			fatal(lx, lx->line, col, "nesting too deep (more than 1000 levels)");
			return 0;
		}
		lx->ind[++lx->nind] = width;
		push(lx, TK_INDENT, lx->line, col);
	} else if (width < top) {
		while (lx->nind > 0 && lx->ind[lx->nind] > width) {
			lx->nind--;
			push(lx, TK_DEDENT, lx->line, col);
		}
		if (lx->ind[lx->nind] != width) {
			lxerr(lx, lx->line, col, "unindent does not match any outer indentation level");
			return 0;
		}
	}
	return 1;
}

static void newline(Lx *lx, int line, int col)
{
	if (lx->line_has_toks)
		push(lx, TK_NEWLINE, line, col);
	lx->line_has_toks = 0;
	lx->defline = 0;
}

/* One step of lexing at lx->i: blanks, a line end, a comment, or a token. */
static void step(Lx *lx)
{
	if (lx->bol && lx->nbr == 0) {
		lx->bol = 0;
		if (!lex_indent(lx))
			return;
	}
	const char *s = lx->s;
	unsigned char c = (unsigned char)s[lx->i];
	int col = colof(lx, lx->i);
	if (c == ' ' || c == '\t' || c == '\f' || c == '\r') {
		lx->i++;
		while (lx->i < lx->n && s[lx->i] == ' ')
			lx->i++;
	} else if (c == '\n') {
		if (lx->nbr == 0) {
			newline(lx, lx->line, col);
			lx->bol = 1;
		}
		lx->i++;
		lx->line++;
		lx->linestart = lx->i;
	} else if (c == '#') {
		skip_line(lx);
	} else if (c == '\\') {
		size_t j = lx->i + 1;
		if (j < lx->n && s[j] == '\r')
			j++;
		if (j < lx->n && s[j] == '\n') {
			lx->i = j + 1;
			lx->line++;
			lx->linestart = lx->i;
		} else {
			lxerr(lx, lx->line, col, "unexpected character after line continuation");
		}
	} else if (is_name_start(c)) {
		size_t st = lx->i;
		while (lx->i < lx->n && is_name_char((unsigned char)s[lx->i]))
			lx->i++;
		size_t l = lx->i - st;
		if (lx->i < lx->n && (s[lx->i] == '"' || s[lx->i] == '\'') && l <= 2) {
			int raw = 0, fstr = 0, bytes = 0, ok = 1;
			for (size_t k = st; k < lx->i; k++) {
				char p = (char)(s[k] | 0x20);
				raw |= p == 'r';
				fstr |= p == 'f';
				bytes |= p == 'b';
				ok &= p == 'r' || p == 'f' || p == 'b' || p == 'u';
			}
			if (ok && fstr) {
				lxerr(lx, lx->line, col, "f-strings are not supported");
				return;
			}
			if (ok && bytes) {
				lxerr(lx, lx->line, col, "bytes literals are not supported");
				return;
			}
			if (ok) {
				lex_string(lx, lx->line, col, raw);
				return;
			}
		}
		if (lx->scan && !lx->defline && l == 3 && memcmp(s + st, "def", 3) == 0) {
			lx->defline = 1;
			push(lx, TK_NAME, lx->line, col)->s = lx->def;
		} else {
			Tok *t = push(lx, TK_NAME, lx->line, col);
			if (t != &lx->dummy)
				t->s = symn(s + st, l);
		}
	} else if (c >= '0' && c <= '9') {
		lex_number(lx, lx->line, col);
	} else if (c == '.' && lx->i + 1 < lx->n && s[lx->i + 1] >= '0' && s[lx->i + 1] <= '9') {
		lex_number(lx, lx->line, col);
	} else if (c == '"' || c == '\'') {
		lex_string(lx, lx->line, col, 0);
	} else {
		lex_op(lx, lx->line, col);
	}
}

/* The end of the text: open brackets, the last line end, the dedents. */
static void finish(Lx *lx)
{
	int col = colof(lx, lx->i);
	if (lx->fatal) {
		lx->fatal_at = lx->ntoks - 1 >= 0 ? lx->ntoks - 1 : 0;
	} else if (lx->nbr > 0) {
		int k = lx->nbr - 1;
		lxerr(lx, lx->br[k].line, lx->br[k].col, "'%c' was never closed", lx->br[k].c);
	}
	newline(lx, lx->line, col);
	while (lx->nind > 0) {
		lx->nind--;
		push(lx, TK_DEDENT, lx->line, col);
	}
	push(lx, TK_EOF, lx->line, col);
	lx->done = 1;
	buf_free(&lx->scratch);
}

Lx *lx_open(int file, const char *text, size_t len, int line0, int col0, int quiet)
{
	Lx *lx = xcalloc(1, sizeof *lx);
	lx->file = file;
	lx->s = text;
	lx->n = len;
	lx->line = 1;
	lx->line0 = line0;
	lx->col0 = col0;
	lx->quiet = quiet;
	lx->bol = 1;
	lx->fatal_at = -1;
	return lx;
}

void lx_scan(Lx *lx)
{
	lx->scan = 1;
	lx->def = sym("def");
}

Tok *lx_fill(Lx *lx, int want, int *ntoks)
{
	while (lx->ntoks < want && !lx->done) {
		if (lx->i < lx->n && !lx->fatal)
			step(lx);
		else
			finish(lx);
	}
	if (lx->toks)
		memset(&lx->toks[lx->ntoks], 0, sizeof *lx->toks); /* TK_EOF */
	*ntoks = lx->ntoks;
	return lx->toks;
}

void lx_drop(Lx *lx, int n)
{
	if (n > lx->ntoks)
		n = lx->ntoks;
	if (n > 0) {
		memmove(lx->toks, lx->toks + n, (size_t)(lx->ntoks - n) * sizeof *lx->toks);
		lx->ntoks -= n;
		if (lx->fatal_at >= 0)
			lx->fatal_at = lx->fatal_at >= n ? lx->fatal_at - n : 0;
	}
	for (int i = 0; i < lx->old.n; i++)
		free(lx->old.v[i]);
	lx->old.n = 0;
}

int lx_errors(const Lx *lx)
{
	return lx->nerr + lx->fatal + lx->tab_reported;
}

int lx_fatal(const Lx *lx)
{
	return lx->fatal_at;
}

void lx_close(Lx *lx)
{
	if (!lx)
		return;
	lx_drop(lx, 0);
	vec_free(&lx->old);
	buf_free(&lx->scratch);
	free(lx->toks);
	free(lx);
}

Lexed lex_text(int file, const char *text, size_t len, int line0, int col0)
{
	Lx *lx = lx_open(file, text, len, line0, col0, 0);
	Lexed r;
	lx_fill(lx, INT32_MAX, &r.ntoks);
	r.toks = lx->toks;
	r.fatal = lx->fatal_at;
	lx->toks = NULL;
	lx_close(lx);
	return r;
}
