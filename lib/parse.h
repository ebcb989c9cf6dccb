/* parse.h: private interface between the lexer (lex.c) and the parser
 * (parse.c).  Not part of the IR contract in tir.h. */
#ifndef PARSE_H
#define PARSE_H

#include "tir.h"

/* Token kinds.  Keywords are TK_NAME tokens; the parser compares their Sym. */
enum {
	TK_EOF,
	TK_NEWLINE,
	TK_INDENT,
	TK_DEDENT,
	TK_NAME,
	TK_INT,
	TK_FLOAT,
	TK_STR,
	TK_OP,
	TK_ERROR, /* the lexer already reported this spot; the parser stays quiet */
};

/* Operators and delimiters (TK_OP). */
enum {
	OP_LPAREN, OP_RPAREN, OP_LBRACK, OP_RBRACK, OP_LBRACE, OP_RBRACE,
	OP_COMMA, OP_COLON, OP_DOT, OP_SEMI, OP_AT, OP_ASSIGN, OP_ARROW,
	OP_PLUS, OP_MINUS, OP_STAR, OP_SLASH, OP_DSLASH, OP_PERCENT, OP_POW,
	OP_LSHIFT, OP_RSHIFT, OP_AMP, OP_PIPE, OP_CARET, OP_TILDE,
	OP_LT, OP_GT, OP_LE, OP_GE, OP_EQ, OP_NE,
	OP_AUGASSIGN, /* any of += -= *= /= //= %= **= >>= <<= &= |= ^= @= */
	OP_WALRUS,    /* := */
	OP_ELLIPSIS,
	OP_COUNT
};

typedef struct Tok {
	uint8_t kind;
	uint8_t op;    /* TK_OP: OP_*; TK_INT: 1 when the value exceeds INT64_MAX;
	                  TK_STR: a prefix letter ('f', 'b') or 0 */
	int32_t line, col;
	union {
		Sym s;      /* TK_NAME, TK_STR (may hold NUL bytes: sym_len) */
		uint64_t i; /* TK_INT */
		double f;   /* TK_FLOAT */
	};
} Tok;

typedef struct Lexed {
	Tok *toks; /* ends with TK_EOF; xmalloc'd */
	int ntoks;
	int fatal; /* index of the first token after a fatal lexer error, or -1 */
} Lexed;

/* Splits text into tokens with Python's line rules.  Errors are reported
 * through diag (file index `file`); line and col are added to every token
 * position (for re-lexing the inside of a string literal). */
Lexed lex_text(int file, const char *text, size_t len, int line0, int col0);

/* The deepest nesting of brackets or blocks the lexer and parser accept. */
enum { MAX_NEST = 1000 };

#endif
