/* passutil.h: small helpers that several passes share (private to passes/;
 * passutil.c implements them). */
#ifndef PASSUTIL_H
#define PASSUTIL_H

#include "tir.h"

/* A Mutator expr hook that keeps every expression as it is, without
 * visiting it: for rewrites that change statements only, so that the
 * Mutator does not descend into the expressions of every statement. */
Expr *pu_keep_expr(Mutator *m, Expr *e);

/* A Walker expr hook that skips every expression (statements only). */
int pu_skip_expr(Walker *w, Expr *e);

/* Stores a rewritten body as function i of m: a copy of the function with
 * that body (functions are not changed in place), or nothing when the body
 * is the one it has. */
void pu_set_body(Module *m, int i, Stmt *body);

/* Builders several passes use: `T.handle("void", "global")`'s type, an
 * int32 constant, and a call of an op by canonical name. */
TType pu_void_ptr(void);
/* TVM's operator (arith_binary) on operands the pass built itself, where a
 * type error is the pass's bug: an internal error naming the pass `who`. */
Expr *pu_arith(Arena *a, const char *who, int kind, Expr *x, Expr *y);
Expr *pu_i32(Arena *a, int64_t v);
Expr *pu_call(Arena *a, const char *op, TType rty, Expr **args, int n);

/* The bits of t as a DLDataType (DLTensor.dtype, workspace requests):
 * bool is 1 bit in the IR but 8 bits in DLPack (code 6, bits 8), as TVM
 * 0.27's PrimType::Bool is and as numpy and DLPack callers pass it. */
int pu_dl_bits(DType t);

/* Whether a lowering may copy x (use it more than once) and stay linear
 * in its input: at most PU_COPY_MAX_NODES nodes and no Let (a copy would
 * define the Let's var twice).  Larger operands are bound once in a Let
 * instead, so that nested lowerings do not grow exponentially.  Costs
 * O(PU_COPY_MAX_NODES): the walk stops past the limit. */
enum { PU_COPY_MAX_NODES = 12 };
int pu_copyable(Expr *x);

/* What TVM's script parser passes for a buffer argument of a packed call:
 * tvm_stack_make_array(data.data, tvm_stack_make_shape(shape...), strides
 * or 0, ndim, a zero of the dtype, elem_offset), with the geometry of
 * `geom` and the data pointer of `data` (the same buffer, or the flat view
 * FlattenBuffer gives it: the callee still sees the N-d tensor). */
Expr *pu_pack_buffer(Arena *a, const Buffer *geom, Buffer *data);

#endif
