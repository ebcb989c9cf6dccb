/* parse.h: private interface between the lexer (lex.c) and the parser
 * (parse.c).  Not part of the IR contract in tir.h. */
#ifndef PARSE_H
#define PARSE_H

#include <string.h>
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

/* The same lexer, run on demand (the parser streams the tokens of big
 * files).  lx_fill lexes until at least `want` tokens are held or the text
 * ends (then the last is TK_EOF and a zeroed slot follows it); it returns
 * the token array and sets *ntoks.  The array moves as it grows, but an
 * outgrown array stays valid until lx_drop, which forgets the first n tokens
 * (the rest move to the front).  quiet: report nothing. */
typedef struct Lx Lx;
Lx *lx_open(int file, const char *text, size_t len, int line0, int col0, int quiet);
Tok *lx_fill(Lx *lx, int want, int *ntoks);
void lx_drop(Lx *lx, int n);
/* A cheaper lexer for a first pass that only looks for `def` lines: a name
 * or string token gets its Sym only on a logical line with a `def` name
 * (the `def` included); elsewhere its s is NULL.  Errors are the same. */
void lx_scan(Lx *lx);
int lx_fatal(const Lx *lx); /* as Lexed.fatal, for the tokens held */
int lx_errors(const Lx *lx); /* errors found so far (reported or not) */
void lx_close(Lx *lx);

/* arena.c, for the parser's scratch arena: forgets every allocation but
 * keeps the blocks (cleared) for the next ones, so scratch memory that is
 * reused statement after statement stays in the cache. */
void ar_reset(Arena *a);

/* strcmp(a, b) == 0, but the first two bytes are compared inline: the
 * parser tests names against keywords and op names all the time, and most
 * tests fail there ("T" against "True"). */
static inline int streq(const char *a, const char *b)
{
	if (a[0] != b[0])
		return 0;
	if (!a[0])
		return 1;
	if (a[1] != b[1])
		return 0;
	return !a[1] || strcmp(a + 2, b + 2) == 0;
}

/* The deepest nesting of brackets or blocks the lexer and parser accept. */
enum { MAX_NEST = TIR_MAX_NEST };


/* ------------------------------------------------------------------ parser
 * Shared by parse.c (file, functions, statements) and parse_expr.c (the
 * syntax of expressions and their meaning: calls, types, literals).
 * Expressions are first read into a small syntax tree (Node), because what
 * a piece of text means depends on where it is: `T.handle("int64")` is a
 * type in a parameter, a free var in `p = ...` and a dtype with `.ty`. */
#include <setjmp.h>

enum {
	N_NAME, N_INT, N_FLOAT, N_STR, N_BOOL, N_NONE,
	N_ATTR,   /* x.s */
	N_CALL,   /* x(a..., kw=...) */
	N_SUB,    /* x[a...] */
	N_SLICE,  /* x:y:z, any may be NULL */
	N_TUPLE, N_LIST,
	N_DICT,   /* a: keys and values interleaved, n pairs */
	N_BIN,    /* x op y (arithmetic, bitwise, shifts) */
	N_UNARY,  /* op x: OP_MINUS, OP_PLUS, OP_TILDE */
	N_CMP,    /* x op y */
	N_AND, N_OR, N_NOT,
	N_LAMBDA, /* lambda a...: x */
};

typedef struct Node Node;
struct Node {
	uint8_t kind;
	uint8_t op;     /* N_BIN/N_UNARY/N_CMP: OP_*; N_INT: 1 above INT64_MAX */
	uint16_t depth; /* height of the tree, bounded by MAX_NEST */
	Loc loc;
	Sym s;          /* N_NAME, N_ATTR, N_STR */
	uint64_t i;     /* N_INT, N_BOOL */
	double f;
	Node *x, *y, *z;
	Node **a;       /* call arguments, indices, items */
	Sym *kw;        /* N_CALL: each argument's keyword, NULL if positional */
	int n;
};

/* What a name in scope stands for. */
enum {
	NB_VAR,     /* a Var (scalar or pointer; tag set for env_thread vars) */
	NB_BUF,     /* a buffer */
	NB_SCALAR,  /* a (1,) buffer used through the scalar sugar `x` */
	NB_MATCHED, /* a legacy handle param (`var`, kept for its type) replaced
	             * by buffer `buf` */
	NB_POISON,  /* its definition failed: uses stay quiet */
	NB_TYPEVAR, /* N = TypeVar("N"): module-wide int64 var */
};

typedef struct Bind {
	Sym name;
	uint8_t kind;
	Var *var;
	Buffer *buf;
	Sym tag;  /* NB_VAR made by T.env_thread: the thread tag */
	int prev; /* the binding it shadows, or -1 */
} Bind;

typedef struct HSlot {
	Sym key;
	int top; /* index into P.b, or -1 */
} HSlot;

typedef struct P {
	Arena *A;    /* the module arena: IR */
	Arena *tmp;  /* syntax trees and scratch arrays */
	Module *m;
	int file;
	Tok *t;      /* the tokens held: t[pos] is the current one */
	int nt, pos;
	Lx *lx;      /* makes more tokens on demand; NULL: t is all there is */
	int depth;   /* recursion depth of the syntax reader */
	int sdepth;  /* statement nesting (blocks, frames, elif) */
	int blevel;  /* nesting of statement lists being read */
	jmp_buf *jb; /* where an error in the current statement goes */
	int quiet;   /* pre-pass: errors are not reported */
	int has_meta; /* a `metadata = ...` header line was skipped */
	Bind *b;
	int nb, capb;
	HSlot *ht;
	int htcap, htn;
	void **stk;  /* scratch stack for lists being built */
	int nstk, capstk;
	/* the function being parsed */
	Func *fn;
	int stir;
	Var **shape_auto; /* quoted-shape context: names become new vars */
	int in_shape;
	int in_sig;       /* reading a parameter's T.Buffer: quoted shapes allowed */
	Sym *pnames;      /* scalar params of the signature (for quoted shapes) */
	DType *ptypes;
	int npnames;
	PtrMap pidx;      /* param name -> 1 + its index in pnames (0: a buffer) */
	/* module functions, declared before bodies */
	Func **funcs;
	uint8_t *fdone; /* funcs[i] already parsed */
	int nfuncs;
	PtrMap fidx;    /* name -> index in funcs + 1 (the first of that name) */
	struct DefLine *defs; /* every `def NAME` line, found before parsing */
	int ndefs;
	jmp_buf *bail; /* the one-pass attempt (see tir_parse): where any
	                  diagnostic goes instead of being reported */
} P;

/* parse.c: errors, scopes, the scratch stack */
TIR_NORETURN void perr(P *p, Loc loc, const char *fmt, ...) TIR_PRINTF(3, 4);
TIR_NORETURN void pquiet(P *p); /* abort the statement without a message */
void pwarn(P *p); /* before a warning: the one-pass attempt gives up */
Loc tok_loc(P *p, const Tok *t);
Bind *lookup(P *p, Sym name);
void bind_push(P *p, Sym name, int kind, Var *v, Buffer *b);
void scope_pop(P *p, int mark);
void stk_push(P *p, void *x);
void **stk_take(P *p, int mark, Arena *a); /* copies items from mark, pops them */
Func *find_func(P *p, Sym name);

/* parse_expr.c: reading */
Tok *pk(P *p);                  /* the current token (lexes more when needed) */
Tok *pk_next(P *p);             /* the token after it */
void tok_release(P *p);         /* forget the tokens before the current one */
int is_op(P *p, int op);
int is_kw(P *p, const char *kw); /* TK_NAME with that spelling */
int accept_op(P *p, int op);
void expect_op(P *p, int op, const char *what);
Sym expect_name(P *p, const char *what);
Node *px_expr(P *p);      /* one expression */
Node *px_tuple(P *p);     /* expr {, expr}: a N_TUPLE when commas appear */
Node *px_str_expr(P *p, const Tok *str); /* the expression inside a quoted shape */
int is_keyword(Sym s);

/* parse_expr.c: meaning */
Expr *ev_expr(P *p, Node *n);       /* a PrimExpr */
Expr *ev_arg(P *p, Node *n);        /* a call argument: buffers become EX_BUFREF */
Obj *ev_obj(P *p, Node *n);         /* an attribute value */
Sym ev_str(P *p, Node *n, const char *what);
int64_t ev_int(P *p, Node *n, const char *what); /* a constant integer */
int ev_bool(P *p, Node *n, const char *what);
DType ev_dtype(P *p, Node *n);      /* "float32", T.float32 */
TType ev_type_slot(P *p, Node *n);  /* dtype string or T.handle(...).ty */
/* A type annotation: T.int32, T.handle, T.handle("f32", "shared"). */
TType ev_type_anno(P *p, Node *n);
int node_is_T(P *p, Node *n, const char *name); /* n is `T.name` */
const char *node_T_path(P *p, Node *n, char *buf, size_t cap); /* "T.a.b" -> "a.b" */
int ast_const_int(Node *n, int64_t *v); /* Python-level constant int */
Expr *load_expr(P *p, Buffer *b, Node *sub, Loc loc); /* b[sub's indices] */
Expr **ev_indices(P *p, Node *sub, int *nidx, int *lanes);
TType ex_type(const Expr *e);
Obj *make_target(P *p, Node *call);
void reject_check(P *p, Loc loc, const char *path);
void check_name_ref(P *p, Node *n); /* an undefined name is reported */
Expr *ev_call_op(P *p, Node *call, const Op *op, const char *spell);
Node *kwarg(Node *call, const char *name);
void check_args(P *p, Node *call, int minpos, int maxpos, const char *const *kws);

/* parse_ptx.c: TVM 0.27's table-driven T.ptx calls */
Expr *ptx_call(P *p, Node *call, const Op *op, const char *spell); /* a family or modelled entry op */
Expr *ptx_chain(P *p, Node *call, const char *path); /* "ptx.cp.async_.ca...": the attribute chain */

#endif
