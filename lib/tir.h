/* tir.h: the one header of lib/: arenas, symbols, diagnostics, data types,
 * the op registry, the TIRx IR, and the entry points of the parser, printer,
 * verifier, structural equality and the pass manager.
 *
 * Memory: every IR node lives in the Arena of its Module and is freed with it;
 * there is no per-node free.  Strings are interned Syms (process lifetime), so
 * two Syms are equal exactly when their pointers are.
 *
 * The IR follows TVM's TIRx (HEAD of Aug 2026): buffers are typed variables,
 * Bind/AllocBuffer/DeclBuffer/Assert are flat statements whose scope is the
 * rest of the enclosing sequence, and `A.data` is an expression on a buffer.
 */
#ifndef TIR_H
#define TIR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>

#define TIRXC_VERSION "0.1.0"

#if defined(__GNUC__)
#define TIR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define TIR_NORETURN __attribute__((noreturn))
#else
#define TIR_PRINTF(f, a)
#define TIR_NORETURN
#endif

/* ---------------------------------------------------------------- util.c */
/* Allocation never fails silently: these exit 70 on exhaustion. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Internal error: prints "tirxc: internal error: ..." and exits 70. */
TIR_NORETURN void die(const char *fmt, ...) TIR_PRINTF(1, 2);

/* Growable array of pointers (scratch space; copy into the arena to keep). */
typedef struct Vec {
	void **v;
	int n, cap;
} Vec;
void vec_push(Vec *v, void *p);
void vec_free(Vec *v);

/* Pointer-keyed hash map to pointers (vars, buffers, nodes).  NULL keys are
 * not allowed; a missing key reads as NULL.  Zero-initialise to start. */
typedef struct PtrMap {
	const void **keys;
	void **vals;
	int cap, n;
} PtrMap;
void *pmap_get(const PtrMap *m, const void *k);
void pmap_put(PtrMap *m, const void *k, void *v);
/* k's value slot, added as NULL when k is absent: one probe for a read
 * followed by a write.  Valid until the next insertion. */
void **pmap_ref(PtrMap *m, const void *k);
void pmap_clear(PtrMap *m); /* drops entries, keeps capacity */
void pmap_free(PtrMap *m);

/* Growable byte buffer with printf (printer, diagnostics, dumps). */
typedef struct Buf {
	char *s;
	size_t n, cap;
} Buf;
void buf_put(Buf *b, const char *s, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_putc(Buf *b, int c);
void buf_printf(Buf *b, const char *fmt, ...) TIR_PRINTF(2, 3);
void buf_vprintf(Buf *b, const char *fmt, va_list ap);
void buf_free(Buf *b);

/* --------------------------------------------------------------- arena.c */
/* The free space of the current block is public so that ar_alloc's common
 * case is inline (a bump of `cur`); everything else is arena.c's.  Under
 * AddressSanitizer every allocation goes through arena.c, which puts a
 * poisoned red zone after it. */
#if defined(__SANITIZE_ADDRESS__)
#define TIR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TIR_ASAN 1
#endif
#endif
typedef struct Arena {
	unsigned char *cur, *end;
	struct ArenaPriv *priv;
} Arena;
Arena *ar_new(void);
void *ar_alloc_slow(Arena *a, size_t n);
void ar_free(Arena *a);

/* zeroed, 8-byte aligned */
static inline void *ar_alloc(Arena *a, size_t n)
{
#ifdef TIR_ASAN
	return ar_alloc_slow(a, n);
#else
	n = (n + 7) & ~(size_t)7; /* pointer alignment: nodes are 8-byte aligned structs */
	if ((size_t)(a->end - a->cur) < n)
		return ar_alloc_slow(a, n);
	void *p = a->cur;
	a->cur += n;
	return p;
#endif
}
size_t ar_bytes(const Arena *a); /* bytes held, for --stats and bench */
/* A table of AR_MEMO null-initialised slots owned by the arena, for
 * sharing immutable nodes (ir.c keeps small int32 constants there).  The
 * table is dropped by ar_reset with everything else. */
enum { AR_MEMO = 2048 };
void **ar_memo(Arena *a);
/* Copies n bytes into the arena (NULL when n == 0). */
void *ar_dup(Arena *a, const void *p, size_t n);

/* ----------------------------------------------------------------- sym.c */
typedef const char *Sym;
Sym sym(const char *s);
Sym symn(const char *s, size_t n);
size_t sym_len(Sym s); /* Syms may hold NUL bytes (string literals) */
void sym_free_all(void); /* at exit, so leak checkers stay quiet */
/* TVM's UniqueNameSupply::FreshName: '.' in name becomes '_' (an empty name
 * is "v"); a name not yet taken is returned as is, a taken one gets the
 * first free `_N` after the last suffix tried for it.  taken: Sym -> 1 +
 * that suffix (zero-initialise; put a Sym with value 1 to reserve it). */
Sym sym_fresh(PtrMap *taken, const char *name);

/* ---------------------------------------------------------------- diag.c */
/* A source file known to the diagnostics engine.  Loc.file indexes them. */
typedef struct Loc {
	int32_t file; /* -1: no location (node made by a pass) */
	int32_t line; /* 1-based */
	int32_t col;  /* 1-based, in bytes */
} Loc;
extern const Loc NOLOC;

int diag_add_file(const char *name, const char *text, size_t len);
const char *diag_file_name(int file);
/* "file:line:col: error: msg", the source line and a caret, on stderr.
 * After diag_max_errors errors, further ones are counted but not shown. */
void diag_error(Loc loc, const char *fmt, ...) TIR_PRINTF(2, 3);
void diag_warning(Loc loc, const char *fmt, ...) TIR_PRINTF(2, 3);
void diag_note(Loc loc, const char *fmt, ...) TIR_PRINTF(2, 3);
void diag_verror(Loc loc, const char *kind, const char *fmt, va_list ap);
int diag_errors(void);    /* errors reported so far */
/* A trial run: while held, diagnostics are neither shown nor counted.
 * diag_hold returns a mark; diag_unhold ends the hold and says how many
 * diagnostics the held run issued (its caller redoes that work unheld to
 * report them). */
int diag_hold(void);
int diag_unhold(int mark);
void diag_reset(void);    /* forget the error count (not the files) */
/* Whether the first error shown since diag_reset named a file (FILE:LINE:COL,
 * or FILE for a whole-file error): 1, 0 (the `tirxc: error:` form), or -1
 * when none was shown.  For the robustness checks. */
int diag_first_error_located(void);
void diag_forget_files(void); /* at exit, or between fuzz inputs */
extern int diag_max_errors; /* default 20 */
extern int diag_color;      /* set by the driver: tty and no NO_COLOR */

/* --------------------------------------------------------------- dtype.c */
/* Type codes are DLPack's, so the ABI layer can use them unchanged. */
enum {
	DT_INT = 0,
	DT_UINT = 1,
	DT_FLOAT = 2,
	DT_HANDLE = 3, /* bits 64; bits 0 and lanes 0 is void */
	DT_BFLOAT = 4,
	DT_BOOL = 6, /* bits 1 in the IR, as TVM's bool */
	DT_F8_E3M4 = 7,
	DT_F8_E4M3 = 8,
	DT_F8_E4M3B11FNUZ = 9,
	DT_F8_E4M3FN = 10,
	DT_F8_E4M3FNUZ = 11,
	DT_F8_E5M2 = 12,
	DT_F8_E5M2FNUZ = 13,
	DT_F8_E8M0FNU = 14,
	DT_F6_E2M3FN = 15,
	DT_F6_E3M2FN = 16,
	DT_F4_E2M1FN = 17,
};

typedef struct DType {
	uint8_t code;
	uint8_t bits;
	uint16_t lanes;
} DType;

DType dt_make(int code, int bits, int lanes);
#define DT_I32 ((DType){DT_INT, 32, 1})
#define DT_I64 ((DType){DT_INT, 64, 1})
#define DT_U8 ((DType){DT_UINT, 8, 1})
#define DT_F32 ((DType){DT_FLOAT, 32, 1})
#define DT_BOOL1 ((DType){DT_BOOL, 1, 1})
#define DT_HANDLE64 ((DType){DT_HANDLE, 64, 1})
#define DT_VOID ((DType){DT_HANDLE, 0, 0})

int dt_eq(DType a, DType b);
int dt_is_void(DType t);
int dt_is_int(DType t);   /* int or uint (not bool) */
int dt_is_float(DType t); /* float, bfloat, float8/6/4 */
int dt_is_custom_float(DType t); /* bfloat and the float8/6/4 family */
DType dt_with_lanes(DType t, int lanes);
DType dt_element(DType t); /* lanes 1 */
int dt_bytes(DType t);     /* storage bytes of one value, lanes included */
/* Parses "float32", "int8x4", "bfloat16", "float8_e4m3fn", "bool", "handle",
 * "void", and the short forms "f32", "i64", "u8" ...; returns 0 on failure. */
int dt_parse(const char *s, size_t n, DType *out);
/* The DLPack string ("float32x4"); buf of at least 32 bytes. Returns buf. */
const char *dt_str(DType t, char *buf);

/* ----------------------------------------------------------------- ops.c */
/* Where the printer puts the call's return type among the arguments. */
enum { DTLOC_NONE, DTLOC_FIRST, DTLOC_LAST };

/* Return-type rules of ops whose type is not printed. */
enum {
	RT_GIVEN,   /* the type is printed (DTLOC_FIRST/LAST) or given by dtype= */
	RT_ARG0,    /* type of argument 0 */
	RT_ARG1,    /* type of argument 1 (if_then_else, tvm_warp_shuffle) */
	RT_BOOL,    /* bool with the lanes of argument 0 */
	RT_INT32,
	RT_UINT32,
	RT_VOID,
	RT_HANDLE,  /* an opaque pointer (T.handle) */
	RT_PTR_ARG0, /* pointer to the element type of argument 0 (address_of) */
	RT_STACK,   /* tvm_stack_alloca: "shape" gives int64*, others handle */
};

/* Side effects, TVM's CallEffectKind. */
enum { EFF_PURE, EFF_READSTATE, EFF_UPDATESTATE, EFF_OPAQUE, EFF_EMBED, EFF_CONTROL };

typedef struct Op {
	const char *name;   /* canonical: "tirx.ptx.cp_async" */
	const char *script; /* printed after "T.": "ptx.cp_async", "call_packed" */
	int8_t nargs;       /* -1: variadic; arguments, not counting the dtype slot */
	uint8_t dtloc;
	uint8_t rule;
	uint8_t effect;
} Op;

/* Finds an op by canonical name, script name ("T." stripped), or a legacy
 * flat spelling ("tirx.ptx_cp_async", "ptx_cp_async", "tvm_call_packed").
 * NULL when unknown. */
const Op *op_find(const char *name, size_t n);
const Op *op_get(const char *canonical); /* die()s when missing: for passes */
int op_count(void);
const Op *op_at(int i);

/* TVM 0.27's table-driven T.ptx (ops.c header).  A modelled table entry:
 * its op, family, modifier slots (tokens '|'-separated, '?' first when
 * optional) and operand kinds (ops.c, ptx_entries). */
#define PTX_MAXSLOTS 6
#define PTX_MAXOPERANDS 8
typedef struct PtxEntry {
	const char *op;     /* canonical op name: "tirx.ptx.cp_async_ca" */
	const char *family; /* "cp": printed T.ptx.cp */
	const char *slots[PTX_MAXSLOTS];
	int nslots;
	const char *operands; /* s g i u p c: see ops.c */
	const char *imm;      /* allowed immediates, '|'-separated; NULL: any constant */
} PtxEntry;
int ptx_entry_count(void);
const PtxEntry *ptx_entry_at(int i);
const PtxEntry *ptx_entry_of(const struct Op *op); /* NULL: not a modelled entry */
/* Whether op is a T.ptx family op (kept as printed, not resolved). */
int ptx_is_family(const struct Op *op);
/* Whether a slot takes tok ("" for an optional slot left out). */
int ptx_slot_accepts(const char *slot, const char *tok);
/* The entry's operand kinds given its slot tokens (the cache policy is
 * there only with a cache hint); buf of PTX_MAXOPERANDS + 1. */
const char *ptx_operands(const PtxEntry *e, const char *const *toks, char *buf);
/* The modelled entry op a printed call T.ptx.<family>(args) denotes: its
 * tokens, operand count and flags all fit; NULL when none does. */
struct Expr;
const struct Op *ptx_resolve(const struct Op *family, struct Expr *const *args, int nargs);

/* More return-type rules (ops.c). */
enum {
	RT_INT64 = RT_STACK + 1,
	RT_UINT64,
	RT_FLOAT32,
	RT_PTR_INT64,      /* pointer to int64 (tvm_stack_make_shape) */
	RT_PTR_SCOPE_ARG0, /* void pointer in argument 0's scope (handle_add_byte_offset) */
	RT_ACCESS_PTR,     /* tvm_access_ptr: pointer to arg 0's type in arg 1's scope */
};
/* The return type of a call of op on args, by op->rule.  Returns 1 and sets
 * *out; returns 0 for RT_GIVEN (the type is printed or given by dtype=, so
 * the caller knows it) and when the arguments the rule needs are missing. */
struct Expr;
struct TType;
int op_ret_type(const Op *op, struct Expr *const *args, int nargs, struct TType *out);

/* ------------------------------------------------------------------ IR */
typedef struct Expr Expr;
typedef struct Stmt Stmt;
typedef struct Var Var;
typedef struct Buffer Buffer;
typedef struct Obj Obj;
typedef struct Func Func;
typedef struct Module Module;

/* A type annotation: scalars, pointers with a storage scope, void. */
enum { TY_PRIM, TY_PTR, TY_VOID, TY_TENSORMAP };
typedef struct TType {
	uint8_t kind;
	DType dt;  /* TY_PRIM: the type; TY_PTR: the pointee (DT_VOID for void*) */
	Sym scope; /* TY_PTR: storage scope, "global" when not said */
} TType;

int ty_eq(TType a, TType b);
TType ty_prim(DType t);
TType ty_ptr(DType elem, Sym scope);
TType ty_void(void);
DType ty_dtype(TType t); /* the value's dtype: handle for pointers */


enum { LAYOUT_DEFAULT, LAYOUT_NONE }; /* anything else is rejected on input */

struct Buffer {
	Sym name;
	DType dt;
	Expr **shape;
	int ndim;
	Expr **strides; /* NULL/0: compact */
	int nstrides;
	Expr *elem_offset; /* NULL: 0 of the default index type (buf_index_type) */
	Sym scope;         /* "global" by default */
	int align;         /* data_alignment; 64 by default */
	int offset_factor; /* 1 by default */
	uint8_t layout;    /* LAYOUT_* */
	uint32_t id;
};

enum {
	/* leaves */
	EX_INT,     /* i: value (uint64 as its bit pattern) */
	EX_FLOAT,   /* f */
	EX_STR,     /* s: StringImm */
	EX_VAR,     /* var */
	EX_BUFDATA, /* buf: A.data (TVM's tirx.buffer_data) */
	EX_BUFREF,  /* buf: the buffer as a value (call_packed args, attr nodes) */
	/* binary: a, b */
	EX_ADD, EX_SUB, EX_MUL,
	EX_DIV,  /* truncating for ints (T.Div / T.truncdiv), true for floats (/) */
	EX_MOD,  /* truncating: T.truncmod */
	EX_FLOORDIV, EX_FLOORMOD,
	EX_MIN, EX_MAX,
	EX_EQ, EX_NE, EX_LT, EX_LE, EX_GT, EX_GE,
	EX_AND, EX_OR,
	/* unary: a */
	EX_NOT,
	EX_CAST,   /* a converted to dt */
	/* others */
	EX_SELECT,    /* c ? t : f, all evaluated */
	EX_RAMP,      /* base, stride, lanes (dt.lanes) */
	EX_BROADCAST, /* value, lanes (dt.lanes) */
	EX_SHUFFLE,
	EX_LET,       /* var = value in body */
	EX_LOAD,      /* buf[idx...] with optional predicate */
	EX_CALL,      /* op or module function */
	EX_COUNT
};

struct Expr {
	uint8_t kind;
	DType dt;
	union {
		int64_t i;
		double f;
		Sym s;
		Var *var;
		Buffer *buf;
		struct { Expr *a, *b; } bin;  /* binary, EX_NOT and EX_CAST use a */
		struct { Expr *c, *t, *f; } sel;
		struct { Expr *base, *stride; } ramp;
		struct { Expr *value; } bcast;
		struct { Expr **vecs; int nvecs; Expr **idx; int nidx; } shuf;
		struct { Var *var; Expr *value, *body; } let;
		struct { Buffer *buf; Expr **idx; int nidx; Expr *pred; } load;
		struct {
			const Op *op; /* NULL: a call of module function `fn` */
			Sym fn;
			Expr **args;
			int nargs;
			TType rty; /* the return type; pointer types for handles */
			/* The call's attributes (TVM's Call.attrs), an OB_DICT, or
			 * NULL: only T.call_ffi_kernel has them, {"launch_params":
			 * [tags...]}.  Part of the node for equality and hashing. */
			Obj *attrs;
		} call;
	};
};

struct Var {
	Sym name; /* a hint: the printer makes names unique */
	TType ty;
	DType dt; /* == ty_dtype(ty) */
	uint32_t id; /* unique per process, for hashing and debugging */
	/* The one EX_VAR node of this var: ex_var returns it, so a use costs no
	 * allocation.  IR is never changed in place, so sharing is safe. */
	Expr ref;
};

/* Attribute objects: func attrs, annotations, targets, AttrStmt nodes. */
enum {
	OB_NONE, OB_BOOL, OB_INT, OB_FLOAT, OB_STR, OB_LIST, OB_DICT,
	OB_TARGET,  /* target: its config dict (kind, keys, arch, host...) */
	OB_EXPR,    /* a PrimExpr: attr dict sugar values, var nodes */
	OB_BUFFER,  /* AttrStmt node `A` (storage_alignment) */
	OB_ITERVAR, /* thread_extent / virtual_thread node */
	OB_REDUCER, /* comm_reducer, before LowerThreadAllreduce */
	OB_METADATA,/* metadata["key"][i]: opaque placeholder */
};

enum { IV_DATAPAR = 0, IV_THREADINDEX = 1, IV_COMMREDUCE = 2, IV_ORDERED = 3, IV_OPAQUE = 4 };

struct Obj {
	uint8_t kind;
	union {
		int64_t i; /* OB_BOOL, OB_INT */
		double f;
		Sym s;     /* OB_STR */
		struct { Obj **items; int n; } list;
		struct { Obj **keys; Obj **vals; int n; } dict;
		Obj *target; /* OB_TARGET: an OB_DICT */
		Expr *expr;
		Buffer *buf;
		struct { Var *var; Expr *min, *extent; int itype; Sym tag; } iv;
		struct { Var **lhs, **rhs; Expr **result, **identity; int n; } red;
		struct { Sym key; int64_t index; } meta;
	};
};

/* Dict helpers (keys are OB_STR).  obj_dict_get returns NULL when absent. */
Obj *obj_dict_get(const Obj *d, const char *key);
Obj *obj_dict_getk(const Obj *d, Sym key); /* the same, by an interned key */
/* Returns a new dict with key set (replaced or appended). */
Obj *obj_dict_set(Arena *a, const Obj *d, const char *key, Obj *val);
Obj *obj_dict_del(Arena *a, const Obj *d, const char *key);

enum {
	ST_BIND,   /* var = value, flat */
	ST_STORE,
	ST_ALLOC,  /* AllocBuffer, flat */
	ST_DECL,   /* DeclBuffer over `data`, flat */
	ST_ATTR,
	ST_FOR,
	ST_WHILE,
	ST_IF,
	ST_SEQ,
	ST_EVAL,
	ST_ASSERT, /* flat */
	ST_RETURN,
	ST_BREAK,
	ST_CONTINUE,
	ST_COUNT
};

enum { FOR_SERIAL, FOR_PARALLEL, FOR_VECTORIZED, FOR_UNROLLED, FOR_THREAD_BINDING };

struct Stmt {
	uint8_t kind;
	Loc loc;
	union {
		struct { Var *var; Expr *value; } bind;
		struct { Buffer *buf; Expr **idx; int nidx; Expr *value; Expr *pred; } store;
		struct { Buffer *buf; Obj *annotations; } alloc; /* annotations: OB_DICT or NULL */
		struct { Buffer *buf; Expr *data; } decl;
		struct { Obj *node; Sym key; Expr *value; Stmt *body; } attr;
		struct {
			Var *var;
			Expr *min, *extent, *step; /* step NULL: 1 */
			uint8_t kind;              /* FOR_* */
			Sym thread;                /* FOR_THREAD_BINDING: the tag */
			Obj *annotations;          /* OB_DICT or NULL */
			Stmt *body;
		} loop;
		struct { Expr *cond; Stmt *body; } wloop;
		struct { Expr *cond; Stmt *then, *els; } ifs; /* els may be NULL */
		struct { Stmt **items; int n; } seq;
		struct { Expr *value; } eval;
		struct { Expr *cond; Sym kind; Sym *parts; int nparts; } assert;
		struct { Expr *value; } ret; /* value NULL: bare return (never printed by TVM) */
	};
};

typedef struct Param {
	Var *var;    /* scalar or pointer parameter */
	Buffer *buf; /* non-NULL: a buffer parameter (var is NULL) */
} Param;

struct Func {
	Sym name;      /* the GlobalVar's name */
	Param *params;
	int nparams;
	TType ret;     /* TY_VOID when the function returns nothing */
	Obj *attrs;    /* OB_DICT, never NULL; "global_symbol" absent == private */
	Stmt *body;
	Loc loc;
};

struct Module {
	Arena *arena;
	Sym name;       /* the class name; "Module" when printed */
	int is_module;  /* 0: the input was a bare @T.prim_func */
	Func **funcs;
	int nfuncs;
	Obj *attrs;        /* I.module_attrs, or NULL */
	Obj *global_infos; /* I.module_global_infos, or NULL */
	/* What analyses found, for passes that would otherwise repeat a
	 * whole-module scan: Func* -> a pass-defined non-NULL word.  Functions
	 * are immutable, so an entry stays true for its Func*; a rewritten
	 * function is a new Func* and gets its own entry.  The key m itself
	 * holds module-wide facts, which the pass manager drops after a pass
	 * that does not preserve them (Pass.preserves). */
	PtrMap facts;
};

/* ------------------------------------------------------------------ ir.c */
/* Raw constructors: no folding, no type matching. */
Module *mod_new(void);
void mod_free(Module *m);
Func *mod_find(const Module *m, Sym name);
void mod_add(Module *m, Func *f);

Var *var_new(Arena *a, Sym name, TType ty);
Buffer *buf_new(Arena *a, Sym name, DType dt, Expr **shape, int ndim);
/* An Expr occupies only the bytes its kind uses: never copy one with
 * `*n = *e` or sizeof(Expr) (that reads past a smaller node); ex_dup copies
 * it, and a node keeps the kind it was made with. */
Expr *ex_new(Arena *a, int kind, DType dt);
Expr *ex_dup(Arena *a, const Expr *e);
Expr *ex_int(Arena *a, DType dt, int64_t v);
Expr *ex_float(Arena *a, DType dt, double v);
Expr *ex_str(Arena *a, Sym s);
Expr *ex_var(Arena *a, Var *v);
Expr *ex_bin(Arena *a, int kind, Expr *x, Expr *y); /* dt: bool for compares, else x's */
Expr *ex_cast(Arena *a, DType dt, Expr *x);
Expr *ex_call(Arena *a, const Op *op, TType rty, Expr **args, int nargs);
/* T.call_ffi_kernel(args..., launch_params=<OB_LIST of OB_STR>, ret_ty=rty);
 * call_launch_params returns that list (NULL for any other call). */
Expr *ex_call_ffi_kernel(Arena *a, TType rty, Expr **args, int nargs, Obj *launch_params);
Obj *call_launch_params(const Expr *e);
/* Stmts, like Exprs, take only the bytes of their kind: st_dup copies one. */
Stmt *st_new(Arena *a, int kind, Loc loc);
Stmt *st_dup(Arena *a, const Stmt *s);
Stmt *st_seq(Arena *a, Stmt **items, int n); /* flattens nested seqs; n == 1 returns the item */
Stmt *st_eval(Arena *a, Expr *e);              /* T.evaluate(e), no location */
Stmt *st_bind(Arena *a, Var *v, Expr *value);  /* v = value, no location */
Obj *obj_new(Arena *a, int kind);
Obj *obj_str(Arena *a, Sym s);
Obj *obj_int(Arena *a, int64_t v);
Obj *obj_bool(Arena *a, int v);

/* Pointer type of a buffer's data: pointer to dt in the buffer's scope. */
TType buf_data_type(const Buffer *b);
/* TVM's default index type of b: its first extent's type, int32 when 0-d. */
DType buf_index_type(const Buffer *b);
/* b's elem_offset, NULL where it is the implicit one (a zero of
 * buf_index_type): an explicit zero of another type (an int32 zero beside
 * an int64 shape) is kept, as TVM keeps and prints it. */
Expr *buf_elem_offset(const Buffer *b);
int func_is_private(const Func *f);
Sym func_global_symbol(const Func *f); /* NULL when private */

/* -------------------------------------------------------------- target.c */
/* Targets are OB_TARGET objects holding TVM's config dict (see target.c). */
Obj *target_parse(Arena *a, const char *spec, const char **err); /* "cuda -arch=sm_80", tags */
Obj *target_complete(Arena *a, const Obj *dict, const char **err); /* a dict with "kind" */
Obj *func_target(const Func *f); /* the "target" func attr, or NULL */
Sym target_kind(const Obj *t);
Obj *target_host(Arena *a, const Obj *t); /* NULL when t has no host */
Obj *target_without_host(Arena *a, const Obj *t);
Obj *target_with_host(Arena *a, const Obj *t, const Obj *host);
int target_is_cpu(const Obj *t); /* keys hold "cpu" (llvm, c) */
int target_sm(const Obj *t);     /* 80 for arch "sm_80"; 0 when unknown */
/* Plain structural equality of attribute objects (exprs by identity). */
int obj_eq(const Obj *x, const Obj *y);

/* ---------------------------------------------------------------- walk.c */
/* Read-only traversal in evaluation order.  A hook returning 0 skips the
 * node's children.  `buffer` sees every buffer reference and definition
 * (after the buffer's shape and strides have been walked as expressions);
 * `def` sees every var definition site (params, binds, loops, launches,
 * let-exprs, reducer vars).  Any hook may be NULL. */
/* The next link of a chain of frames: an attr's body, a sequence's last
 * item (NULL for other statements).  Bare T.attr / T.launch_thread frames
 * print flat and wrap the rest of their block, so such chains grow with
 * the input's length (MakePackedAPI nests one attr per buffer parameter)
 * while the text stays shallow.  Every traversal follows them with a loop,
 * never a call, so its recursion depth is the nesting of the text, which
 * the parser bounds. */
static inline Stmt *st_chain_next(const Stmt *s)
{
	return s->kind == ST_ATTR ? s->attr.body
	       : s->kind == ST_SEQ && s->seq.n ? s->seq.items[s->seq.n - 1] : NULL;
}

typedef struct Walker Walker;
struct Walker {
	int (*stmt)(Walker *w, Stmt *s);
	int (*expr)(Walker *w, Expr *e);
	void (*buffer)(Walker *w, Buffer *b);
	void (*def)(Walker *w, Var *v);
	void *data;
	/* 0, or the EXK() bits of the expression kinds `expr` is called on;
	 * other nodes are walked through without a call, so a scan for a few
	 * kinds (calls, loads) pays little for the rest. */
	uint64_t kinds;
	/* Kept current by the walk (read it with walk_loc): the location of
	 * the innermost statement being walked that has one (a statement a
	 * pass made has none and reports at the enclosing one), or the
	 * function's for its parameters; NULL outside any.  Expressions carry
	 * no location, so a hook reports a property of one here. */
	const Loc *at;
};
#define EXK(kind) ((uint64_t)1 << (kind))
void walk_stmt(Walker *w, Stmt *s);
void walk_expr(Walker *w, Expr *e);
void walk_obj(Walker *w, Obj *o);
void walk_func(Walker *w, Func *f); /* params (buffers included), then body */
Loc walk_loc(const Walker *w);      /* *w->at, or NOLOC */

/* Copy-on-write rewriting: a node whose children are unchanged is returned
 * as is.  `expr`/`stmt` run before the children: a non-NULL result replaces
 * the node (and is not visited further); NULL means "recurse".  `var` and
 * `buffer` map every occurrence, definitions included (NULL: identity),
 * except that definition sites (Bind, Let, For, iter and reducer vars) call
 * `def` instead of `var` when it is set; a
 * buffer that maps to itself still has its shape rewritten when the shape
 * changes (a new Buffer, memoised).  New nodes go into `a`. */
typedef struct Mutator Mutator;
struct Mutator {
	Arena *a;
	Expr *(*expr)(Mutator *m, Expr *e);
	Stmt *(*stmt)(Mutator *m, Stmt *s);
	Var *(*var)(Mutator *m, Var *v);
	Var *(*def)(Mutator *m, Var *v);
	Buffer *(*buffer)(Mutator *m, Buffer *b);
	void *data;
	/* 0, or the EXK() bits of the expression kinds `expr` is called on;
	 * the others are rewritten through (as with Walker.kinds). */
	uint64_t kinds;
	PtrMap bufmemo; /* internal: old buffer -> rewritten buffer */
	Vec stk;        /* internal: scratch stack of rewritten sequence items */
	Vec chain;      /* internal: links of the attr/sequence chain being rewritten */
	/* As Walker.at: kept current by mut_stmt (a caller that rewrites a
	 * statement's expressions itself, with mut_expr, may point it at that
	 * statement's loc first); read it with mut_loc. */
	const Loc *at;
};
Expr *mut_expr(Mutator *m, Expr *e);
Stmt *mut_stmt(Mutator *m, Stmt *s);
Expr **mut_exprs(Mutator *m, Expr **xs, int n); /* xs when none changed, else a copy */
/* The node with its children rewritten, without the hooks on the node
 * itself: for a hook that rewrites around the generic rewrite. */
Expr *mut_expr_children(Mutator *m, Expr *e);
Stmt *mut_stmt_children(Mutator *m, Stmt *s);
Obj *mut_obj(Mutator *m, Obj *o);
Buffer *mut_buffer(Mutator *m, Buffer *b);
Var *mut_var(Mutator *m, Var *v);
Loc mut_loc(const Mutator *m); /* *m->at, or NOLOC */
void mut_done(Mutator *m); /* frees the memo */

/* Replaces vars by expressions (vmap: Var* -> Expr*) and buffers by buffers
 * (bmap: Buffer* -> Buffer*, may be NULL) throughout s. */
Stmt *subst_stmt(Arena *a, Stmt *s, const PtrMap *vmap, const PtrMap *bmap);
Expr *subst_expr(Arena *a, Expr *e, const PtrMap *vmap, const PtrMap *bmap);

/* Vars used in s but not defined inside it, in order of first use; and the
 * buffers used but not defined (allocated/declared) inside it.  Vars that
 * appear only in the shape of an undefined buffer count as used. */
void free_vars(Stmt *s, Vec *vars, Vec *bufs);

/* --------------------------------------------------------------- arith.c */
/* TVM's operator semantics, as the parser builds nodes for `a + b`:
 * BinaryOpMatchTypes (broadcast, promotion, constant casting) and
 * TryConstFold.  Returns NULL and sets *err on a type error. */
Expr *arith_binary(Arena *a, int kind, Expr *x, Expr *y, const char **err);
Expr *arith_not(Arena *a, Expr *x, const char **err);
Expr *arith_cast(Arena *a, DType dt, Expr *x); /* tvm::cast: folds constants */
/* 1 when arith_binary(kind, x, y) would return exactly the node (kind, x, y):
 * the printer's test for printing infix. */
int arith_binary_is_plain(int kind, const Expr *x, const Expr *y);
int ex_is_const_int(const Expr *e, int64_t *v);
/* BinaryOpMatchTypes alone (for ops such as bitwise_and and if_then_else):
 * broadcasts and casts *x and *y in place; 0 with *err set on a mismatch. */
int arith_match_types(Arena *a, Expr **x, Expr **y, const char **err);

/* --------------------------------------------------------------- parse.c */
/* Parses a whole .tx file.  On errors, reports them all (up to the limit)
 * through diag and returns NULL. */
Module *tir_parse(const char *filename, const char *text, size_t len);

/* --------------------------------------------------------------- print.c */
/* Prints the module as TVMScript-TIRx, in TVM's canonical form (see
 * docs/language.md for our deliberate deviations). */
enum { TIR_MAX_NEST = 1000 }; /* the reader's limit on nesting, of any kind */
/* Returns the deepest nesting it wrote: indentation levels plus expression
 * levels (the reader's limit is 1000; the driver reads a deep output back
 * before it writes it), and in *deepest_fn (unless NULL) the function that
 * holds it.  INT_MAX: indented deeper than the reader takes, so the text
 * was cut short there and must not be used. */
int tir_print(Buf *out, const Module *m, const Func **deepest_fn);
/* The names the printer gives f's vars and buffers (Var* / Buffer* -> Sym),
 * what TVM reads back from our text: a backend that names things in its
 * output as the TIR printout does agrees with TVM run on that printout. */
void tir_print_names(const Module *m, const Func *f, PtrMap *names);
void tir_print_expr(Buf *out, const Expr *e); /* for diagnostics */
void tir_print_stmt(Buf *out, const Stmt *s); /* for diagnostics */

/* -------------------------------------------------------------- verify.c */
/* Checks the well-formedness rules of docs/architecture.md.  Reports each
 * failure through diag naming the function and printing the node; `after`
 * names the pass that just ran (NULL: the input).  Returns the number of
 * failures. */
int tir_verify(const Module *m, const char *after);
/* The rules for a pipeline's output, on top of tir_verify's: no function
 * whose target is a CPU binds a GPU thread (a launch or a thread-binding
 * loop, vthread aside), except inside a target region of a function without
 * the packed calling convention (the form before the split).  Reports each
 * through diag; returns how many. */
int tir_verify_output(const Module *m, const char *after);

/* --------------------------------------------------------------- equal.c */
/* Structural equality up to renaming of vars and buffers (alpha-equivalence).
 * On a difference, writes a path and both sides into why (if non-NULL). */
int tir_equal(const Module *a, const Module *b, Buf *why);
uint64_t tir_hash(const Module *m);

/* -------------------------------------------------------------- passmgr.c */
typedef struct PassCtx PassCtx;

typedef struct Pass {
	const char *name;    /* TVM's CamelCase name */
	const char *alias;   /* kebab-case */
	const char *summary;
	/* Returns 0 on success; on a user-facing failure it reports through diag
	 * and returns 1.  The module may be changed in place or replaced. */
	int (*run)(Module **m, PassCtx *cx);
	const char *after[4]; /* passes that must have run before, when present */
	unsigned preserves;   /* PRESERVES_* : module-wide facts left valid */
	/* 1: the pass rewrites each function on its own (what it makes of a
	 * function depends on that function alone and on module-wide facts),
	 * adds, removes and reorders none, and keeps the module object; it
	 * works on the functions pass_range gives.  The pass manager then
	 * runs consecutive such passes chunk of functions by chunk, so that
	 * a function stays in cache through all of them.
	 * 2: the same, but the pass first reads the whole module (which
	 * functions have a packed API, say): when pass_state is NULL it looks
	 * and keeps what it learnt with pass_set_state.  Such a pass starts a
	 * chunked group, so it reads the module as the pass before left it. */
	int per_function;
} Pass;

/* The functions [*lo, *hi) of m that a per_function pass rewrites now. */
void pass_range(const PassCtx *cx, const Module *m, int *lo, int *hi);
/* A per_function == 2 pass's whole-module findings: NULL at its first
 * chunk (or when it runs unchunked); the pass manager frees them with
 * `release` once the pass has run on every chunk. */
void *pass_state(const PassCtx *cx);
void pass_set_state(PassCtx *cx, void *state, void (*release)(void *));

/* Module-wide facts (Module.facts keyed by the Module itself) survive a pass
 * only when it declares that it keeps them true; the pass manager drops
 * them after any other pass.  PRESERVES_NARROW: the pass adds no bf16 or
 * fp8 type (value, var, buffer, pointer) and no reinterpret of a value to
 * its own type that the module did not already have. */
enum { PRESERVES_NARROW = 1 };

/* Pass configuration (--pass-config KEY=VALUE), readable by passes. */
const char *pass_config(const PassCtx *cx, const char *key);

const Pass *pass_find(const char *name); /* CamelCase or kebab-case */
const Pass *pass_at(int i);
int pass_count(void);

/* Everything below drives a run: the context, the standard instruments, the
 * choice of passes.  The driver (cmd/tirxc.c) is its only user besides tests. */

/* An instrument wraps every pass, as in MLIR's PassInstrumentation and TVM's
 * PassInstrument: printing, dumps, timing, verification and statistics are
 * all instruments.  Any hook may be NULL.  Before-hooks run in the order the
 * instruments were added, after-hooks in the reverse order, so the instrument
 * added last sits closest to the pass.  n is the pass's 1-based execution
 * number.  A hook that returns nonzero stops the pipeline; it must have
 * reported why through diag. */
typedef struct Instrument Instrument;
struct Instrument {
	const char *name;
	void *data;
	int (*before_pipeline)(Instrument *in, PassCtx *cx, const Module *m);
	int (*before_pass)(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m);
	int (*after_pass)(Instrument *in, PassCtx *cx, const Pass *p, int n, const Module *m);
	int (*after_pipeline)(Instrument *in, PassCtx *cx, const Module *m);
	void (*finish)(Instrument *in, PassCtx *cx); /* reports, at pm_finish */
	void (*free)(Instrument *in);                /* releases data, at pm_free */
	/* 1: the pass hooks neither look at the module nor need it whole and
	 * never stop the run, so they may run once per chunk of functions
	 * (timing, crash notes; their results are not checked there).  Passes
	 * run chunk by chunk only when every instrument allows it. */
	int chunk_ok;
};

/* Selects the standard instruments.  Pass lists are comma-separated names,
 * kebab aliases or 1-based execution numbers. */
typedef struct PmOptions {
	const char *print_before, *print_after; /* NULL: none */
	int print_before_all, print_after_all;
	int print_changed;    /* print after a pass only when the text changed */
	const char *dump_dir; /* NULL: no dumps */
	int verify_each;      /* tir_verify after every pass */
	int verify_output;    /* tir_verify after the last pass (implied by verify_each) */
	int time_passes;      /* the table on stderr at pm_finish */
	int verbose;          /* say on stderr which pass runs */
	int stats;            /* module counts on stderr after the pipeline */
} PmOptions;

/* NULL, with the message in err, when an option names an unknown pass. */
PassCtx *pm_new(const PmOptions *o, Buf *err);
void pm_free(PassCtx *cx); /* also frees modules that passes replaced */
void pm_add_instrument(PassCtx *cx, const Instrument *in); /* copies *in */
/* "KEY=VALUE"; 1 with a message in err when malformed. */
int pm_set_config(PassCtx *cx, const char *kv, Buf *err);
void pm_set_target(PassCtx *cx, const char *target, const char *host);
const char *pass_target(const PassCtx *cx); /* --target, NULL when not given */
const char *pass_host(const PassCtx *cx);   /* --host, NULL when not given */
/* Chooses what pm_run runs: the comma list `passes`, else the pipeline
 * named `pipeline` (NULL: "default"), less the passes in `disable`.  Checks
 * every Pass.after constraint unless force_order.  Returns 1 with a message
 * in err on a usage error. */
int pm_plan(PassCtx *cx, const char *passes, const char *pipeline,
            const char *disable, int force_order, Buf *err);
void pm_set_passes(PassCtx *cx, const Pass *const *p, int n); /* unchecked */
/* Runs the chosen passes on *m under the instruments.  Returns 0, or 1 after
 * a pass or an instrument reported an error. */
int pm_run(PassCtx *cx, Module **m);
void pm_finish(PassCtx *cx); /* the instruments' reports (--time-passes) */
double pm_now(void);         /* monotonic wall clock, seconds */
/* Adds secs to the --time-passes row `what` (driver phases: parse, print...). */
void pm_time(PassCtx *cx, const char *what, double secs);
void pm_list(FILE *f); /* --list-passes: passes and pipelines */
/* The candidate closest to word by edit distance, ignoring case, when close
 * enough to be a likely typo; else NULL.  For "did you mean" hints. */
const char *pm_suggest(const char *word, const char *const *cands, int n);

/* --stats lines from passes (shared memory per kernel, launch params...),
 * printed after the pipeline; pass_stats_on says whether to compute them. */
int pass_stats_on(const PassCtx *cx);
void pass_stat(PassCtx *cx, const char *fmt, ...) TIR_PRINTF(2, 3);

/* -------------------------------------------------------------- passes/ */
/* One run function per file (or a few closely related ones); the table in
 * passmgr.c names them.  Each returns 0, or 1 after reporting through diag. */
int pass_identity(Module **m, PassCtx *cx);
int pass_bind_target(Module **m, PassCtx *cx);          /* bind_target.c */
int pass_lower_tirx_opaque(Module **m, PassCtx *cx);    /* lower_tirx_opaque.c */
int pass_verify_memory(Module **m, PassCtx *cx);        /* verify_memory.c */
int pass_annotate_entry_func(Module **m, PassCtx *cx);  /* annotate_entry_func.c */
int pass_flatten_buffer(Module **m, PassCtx *cx);       /* flatten_buffer.c */
int pass_vectorize_loop(Module **m, PassCtx *cx);       /* vectorize_loop.c */
int pass_bf16_compute_legalize(Module **m, PassCtx *cx); /* legalize_bf16.c */
int pass_bf16_storage_legalize(Module **m, PassCtx *cx);
int pass_fp8_compute_legalize(Module **m, PassCtx *cx);  /* legalize_fp8.c */
int pass_fp8_storage_legalize(Module **m, PassCtx *cx);
int pass_thread_sync(Module **m, PassCtx *cx);           /* thread_sync.c: shared + shared.dyn */
int pass_merge_shared_memory(Module **m, PassCtx *cx);   /* merge_shared_memory.c */
int pass_annotate_device_regions(Module **m, PassCtx *cx); /* annotate_device_regions.c */
int pass_split_host_device(Module **m, PassCtx *cx);     /* split_host_device.c */
int pass_lower_device_kernel_launch(Module **m, PassCtx *cx); /* lower_device_kernel_launch.c */
int pass_split_host_device_combined(Module **m, PassCtx *cx); /* split_host_device_combined.c */
/* The stages of the host/device split, shared by the three-pass form of
 * ec3171ab7a and SplitHostDeviceCombined (HEAD); head = 1 selects HEAD's
 * details.  Each returns 0, or 1 after reporting through diag.  `who`
 * names the pass in the missing-target message. */
int shd_annotate(Module *m, int lo, int hi, const char *who); /* functions [lo, hi); annotate_device_regions.c */
int shd_split(Module *m, int head);                     /* split_host_device.c */
int shd_lower_launch(Module *m, PassCtx *cx, int head); /* lower_device_kernel_launch.c */
/* split_host_device.c: a function name not yet in m, TVM's NameSupply
 * ("." -> "_", then base, base_1, base_2, ...; counters: zeroed PtrMap
 * kept across calls, names added to m before the next call); and a Mutator
 * giving every var and buffer it meets a fresh copy, recorded old -> new in
 * *map (entries already there are used as is): TVM's RenewDefs. */
Sym fresh_func_name(const Module *m, PtrMap *counters, const char *base);
void renew_init(Mutator *mu, Arena *a, PtrMap *map);
int pass_make_packed_api(Module **m, PassCtx *cx);       /* make_packed_api.c */
int pass_lower_tvm_builtin(Module **m, PassCtx *cx);     /* lower_tvm_builtin.c */
int pass_lower_intrin(Module **m, PassCtx *cx);          /* lower_intrin.c */

#endif
