/* merge_shared_memory.c: MergeSharedMemoryAllocations.
 *
 * IR expected: flat buffers (FlattenBuffer has run): every buffer to merge
 *              is 1-D and every access to it has one index.  Kernels are
 *              `thread_extent` launches; ThreadSync has run.
 * IR left:     in every kernel launch (outermost thread_extent) holding two
 *              or more `shared.dyn` allocations, one `buf_dyn_shmem` uint8
 *              allocation as the first statement of the launch, followed by
 *              the old buffers re-declared over it
 *              (`A_sh = T.decl_buffer((128,), data=buf_dyn_shmem.data, ...)`),
 *              with every access shifted by the buffer's offset in elements.
 *              With the pass config `tirx.merge_static_smem`, plain `shared`
 *              allocations are merged the same way into `buf_shmem`.
 * Runs after:  FlattenBuffer and ThreadSync; before SplitHostDevice, whose
 *              kernel launch lowering allows one shared.dyn allocation per
 *              kernel.
 *
 * The algorithm is TVM HEAD's (src/s_tir/transform/merge_shared_memory_
 * allocations.cc), per kernel launch:
 *   1. a linear access sequence: leaves (statements that touch a buffer) and
 *      begin/end pairs for the scopes (launch, for, while, if, assert);
 *   2. liveness: a buffer is born at the begin of the outermost statement of
 *      its allocation's level that first touches it, and dies at the end of
 *      the last one;
 *   3. a plan: a born buffer takes a freed block of at least its size (at
 *      most 16 times larger) as a new layer, or gathers smaller freed blocks,
 *      largest first, under a new layer, or gets a fresh block;
 *   4. offsets: the blocks one after the other, each layer of a block from
 *      the block's start, every buffer aligned to its data_alignment.
 * Accesses keep their buffer's element type: the offset is added to the
 * index (HEAD), not folded into elem_offset.
 *
 * Deviations from TVM, all where TVM crashes or emits broken IR:
 *   - buffers of at most 32 bits (never reused) get an offset: TVM only
 *     places blocks found in its free lists at the end;
 *   - a symbolic-size buffer that reuses a freed symbolic block becomes a
 *     layer of it (TVM forgets the buffer and then fails to find its offset);
 *   - a merged buffer referenced only where liveness does not look
 *     (address_of, attribute objects) gets a block of its own;
 *   - loads in Bind, Return, DeclBuffer and attribute values at an
 *     allocation's own level count as leaves (TVM's ICHECK fires);
 *   - a bare `A_sh.data` outside tvm_access_ptr and cp.async becomes
 *     `T.address_of(A_sh[offset])` (TVM leaves the dead buffer), and the
 *     source arguments of cp.async are rewritten too; a merged buffer
 *     passed as a value (not its data) away from offset 0 is an error;
 *   - `T.s_tir.cp_async_raw` (also read from its older spellings
 *     `T.ptx_cp_async` and `T.ptx.cp_async`) keeps the typed view as its
 *     destination and its offset in elements.  The table-driven
 *     `T.ptx.cp(...)` copies take addresses (`T.address_of(A_sh[i])`),
 *     which are rewritten as any other buffer element.
 *
 * Costs: functions and launches with fewer than two allocations to merge
 * are found by statement-only walks; a launch is walked once to build its
 * access sequence and once to rewrite it (the walk for buffers that
 * liveness never saw runs only when there are some).  The planner's state
 * is scratch kept across launches.  The rewriter resolves each buffer once
 * and shares what repeats (the IR is immutable): the buffer's offset in
 * elements, its last shifted index and its last rewritten load. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

/* ------------------------------------------------------------ the state */

/* One entry of the linear access sequence (TVM's StmtEntry). */
typedef struct Entry {
	int off;     /* > 0: scope begin, its end at i + off; < 0: scope end; 0: leaf */
	Vec touched; /* allocations touched, in order of first touch (liveness
	              * looks at no later touch of a statement) */
	Vec gen;     /* liveness events, kept on leaves and scope begins */
	Vec kill;
} Entry;

/* A block of the merged buffer (TVM's StorageEntry).  Layers overlap each
 * other; the buffers of one layer sit side by side. */
typedef struct Block {
	uint64_t nbits; /* constant size in bits; 0 when symbolic */
	Vec *layers;
	int nlayers, caplayers;
} Block;

/* Freed constant blocks sorted by size; equal sizes in order of freeing
 * (TVM's std::multimap, whose order decides the layout). */
typedef struct FreeMap {
	uint64_t *key;
	Block **blk;
	int n, cap;
} FreeMap;

/* What the rewriter knows of a buffer, filled in as needed.  Rewritten
 * nodes are shared where they would be equal (the IR is immutable). */
typedef struct Info {
	Buffer *alloc;    /* the allocation it stands for (resolve), or NULL */
	Expr *eoff;       /* the allocation's offset in elements of its type */
	Buffer *nb;       /* its re-declaration (updated) */
	Expr *idx, *flat; /* the last index shifted by eoff, and the result */
	Expr **flat1;     /* {flat}: the index array of one shifted index */
	Expr *load;       /* the last load of one index rewritten */
} Info;

/* One launch being merged.  A single Kernel serves every launch of the pass
 * run (launches being merged do not nest): kernel_reset empties it and
 * keeps its memory. */
typedef struct Kernel {
	Vec allocs;        /* this launch's allocations of the merged kind */
	PtrMap alloc_stmt; /* allocation -> its ST_ALLOC */
	/* planning */
	Entry *seq;
	int nseq, capseq;
	PtrMap alias_src;  /* finder: view -> allocation (any scope) */
	PtrMap level;      /* finder: allocation -> scope level + 1 */
	PtrMap mentioned;  /* allocations referenced anywhere in the launch */
	PtrMap block;      /* allocation -> Block */
	FreeMap cfree;     /* freed constant blocks */
	Vec sfree;         /* freed symbolic blocks, in order */
	Vec smalls;        /* blocks of <= 32 bits, never freed */
	Vec lone;          /* blocks of buffers liveness never saw */
	Block **blocks;    /* blocks[0 .. nblocks) are in use, up to nmade made */
	int nblocks, nmade, capblocks;
	/* rewriting */
	PtrMap offset;     /* allocation -> byte offset (Expr) */
	PtrMap alias;      /* view -> allocation, as the rewriter meets them */
	PtrMap remap;      /* buffer -> its re-declaration over the merged data */
	Vec remap_order;   /* re-declared buffers in order of first use */
	PtrMap info;       /* buffer -> Info; emptied when an alias is added
	                    * (resolve may answer differently then) */
	Vec infos;         /* the Infos made: infos[0 .. ninfo) are in use */
	int ninfo;
	Buffer *merged;
	Expr *size;        /* bytes of the merged buffer */
	int has_volatile;
	/* scratch */
	Vec *stack;        /* finder: touched lists of the open statements */
	int capstack;
	PtrMap seen;       /* liveness */
	Vec all;           /* compute_offsets: the blocks in layout order */
	int *align;        /* compute_offsets: alignment per layer */
	int capalign;
} Kernel;

typedef struct Merger {
	Arena *a;
	PassCtx *cx;
	Func *f;
	int dyn;        /* merging shared.dyn (1) or shared (0) */
	int in_env;     /* inside a kernel being merged */
	int fast_depth; /* inside a launch left alone (<= 1 allocation) */
	int launch_no;  /* outermost launches seen, for --stats */
	int failed;
	Kernel *k;      /* the kernel being rewritten, or NULL */
	Kernel scratch; /* the state of every launch planned */
	Vec items;      /* statements of the sequences being rebuilt, innermost last */
} Merger;

/* Interned once per pass run. */
static Sym S_thread_extent, S_virtual_thread, S_extern_scope, S_shared, S_shared_dyn,
	S_buf_dyn_shmem, S_buf_shmem;
static const Op *OP_address_of, *OP_access_ptr, *OP_cp_async_raw;

static int right_scope(int dyn, const Buffer *b)
{
	return b->scope == (dyn ? S_shared_dyn : S_shared);
}

static int is_data_ref(const Expr *e)
{
	return e && (e->kind == EX_BUFDATA || e->kind == EX_BUFREF);
}

static int is_op(const Expr *e, const Op *op)
{
	return e->kind == EX_CALL && e->call.op == op;
}

static int elem_bytes(DType t)
{
	int n = dt_bytes(t);
	return n > 0 ? n : 1;
}

static Expr *int32(Arena *a, int64_t v)
{
	return ex_int(a, DT_I32, v);
}

/* TVM's operators on PrimExprs (folding constants); a type error in user
 * input is reported once. */
static Expr *op2(Merger *M, int kind, Expr *x, Expr *y, Loc loc)
{
	const char *err = NULL;
	Expr *r = arith_binary(M->a, kind, x, y, &err);
	if (r)
		return r;
	if (!M->failed)
		diag_error(loc, "MergeSharedMemoryAllocations: %s", err ? err : "bad operands");
	M->failed = 1;
	return x;
}

static Stmt *nop(Arena *a, Loc loc)
{
	Stmt *s = st_new(a, ST_EVAL, loc);
	s->eval.value = int32(a, 0);
	return s;
}

/* Evaluate(0), which TVM's SeqStmt::Flatten drops. */
static int is_nop(const Stmt *s)
{
	return s->kind == ST_EVAL && s->eval.value->kind == EX_INT && s->eval.value->dt.lanes == 1 &&
	       s->eval.value->i == 0;
}

static void flatten_into(Vec *out, Stmt *s)
{
	if (s->kind == ST_SEQ) {
		for (int i = 0; i < s->seq.n; i++)
			flatten_into(out, s->seq.items[i]);
	} else if (!is_nop(s)) {
		vec_push(out, s);
	}
}

/* SeqStmt::Flatten of n statements: Evaluate(0) for none. */
static Stmt *seq_of(Arena *a, Stmt **items, int n, Loc loc)
{
	if (n == 0)
		return nop(a, loc);
	return st_seq(a, items, n);
}

static void pclear(PtrMap *m)
{
	if (m->n)
		pmap_clear(m);
}

/* Empties k for the next launch, keeping its memory. */
static void kernel_reset(Kernel *k)
{
	k->allocs.n = 0;
	pclear(&k->alloc_stmt);
	k->nseq = 0;
	pclear(&k->alias_src);
	pclear(&k->level);
	pclear(&k->mentioned);
	pclear(&k->block);
	k->cfree.n = 0;
	k->sfree.n = k->smalls.n = k->lone.n = 0;
	k->nblocks = 0;
	pclear(&k->offset);
	pclear(&k->alias);
	pclear(&k->remap);
	k->remap_order.n = 0;
	pclear(&k->info);
	k->ninfo = 0;
	k->merged = NULL;
	k->size = NULL;
	k->has_volatile = 0;
}

static void kernel_free(Kernel *k)
{
	for (int i = 0; i < k->capseq; i++) {
		vec_free(&k->seq[i].touched);
		vec_free(&k->seq[i].gen);
		vec_free(&k->seq[i].kill);
	}
	free(k->seq);
	for (int i = 0; i < k->nmade; i++) {
		Block *b = k->blocks[i];
		for (int j = 0; j < b->caplayers; j++)
			vec_free(&b->layers[j]);
		free(b->layers);
		free(b);
	}
	free(k->blocks);
	for (int i = 0; i < k->capstack; i++)
		vec_free(&k->stack[i]);
	free(k->stack);
	free(k->cfree.key);
	free(k->cfree.blk);
	for (int i = 0; i < k->infos.n; i++)
		free(k->infos.v[i]);
	vec_free(&k->infos);
	free(k->align);
	vec_free(&k->allocs);
	vec_free(&k->sfree);
	vec_free(&k->smalls);
	vec_free(&k->lone);
	vec_free(&k->remap_order);
	vec_free(&k->all);
	pmap_free(&k->alloc_stmt);
	pmap_free(&k->alias_src);
	pmap_free(&k->level);
	pmap_free(&k->mentioned);
	pmap_free(&k->block);
	pmap_free(&k->offset);
	pmap_free(&k->alias);
	pmap_free(&k->remap);
	pmap_free(&k->info);
	pmap_free(&k->seen);
}

/* ------------------------------------------------- collecting allocations */

/* Calls fn on each allocation of the merged kind in s, in order, until it
 * returns nonzero (then returns 1).  Only the statements are looked at:
 * allocations are statements. */
typedef struct EachAlloc {
	int dyn, stop;
	int (*fn)(void *data, Stmt *alloc);
	void *data;
} EachAlloc;

static int each_alloc_visit(Walker *w, Stmt *s)
{
	EachAlloc *ea = w->data;
	if (!ea->stop && s->kind == ST_ALLOC && right_scope(ea->dyn, s->alloc.buf))
		ea->stop = ea->fn(ea->data, s);
	return !ea->stop;
}

static int each_alloc(int dyn, Stmt *s, int (*fn)(void *data, Stmt *alloc), void *data)
{
	EachAlloc ea = {dyn, 0, fn, data};
	Walker w = {.stmt = each_alloc_visit, .expr = pu_skip_expr, .data = &ea};
	walk_stmt(&w, s);
	return ea.stop;
}

typedef struct Collect {
	Vec *allocs;
	PtrMap *stmts;
} Collect;

static int collect_one(void *data, Stmt *s)
{
	Collect *c = data;
	if (!pmap_get(c->stmts, s->alloc.buf)) {
		vec_push(c->allocs, s->alloc.buf);
		pmap_put(c->stmts, s->alloc.buf, s);
	}
	return 0;
}

/* The allocations of the merged kind in s (TVM's AllocateCollector). */
static void collect_allocs(int dyn, Stmt *s, Vec *allocs, PtrMap *stmts)
{
	Collect c = {allocs, stmts};
	each_alloc(dyn, s, collect_one, &c);
}

/* Counting distinct allocations of the merged kind, up to two. */
typedef struct Count {
	int n;
	Buffer *first;
} Count;

static int count_one(void *data, Stmt *s)
{
	Count *c = data;
	if (s->alloc.buf != c->first) {
		c->first = c->first ? c->first : s->alloc.buf;
		c->n++;
	}
	return c->n >= 2;
}

/* The number of distinct allocations of the merged kind in s, or 2 when
 * there are more. */
static int count_allocs(int dyn, Stmt *s)
{
	Count c = {0, NULL};
	each_alloc(dyn, s, count_one, &c);
	return c.n;
}

/* Bytes of the allocations in v, for --stats: a constant when all sizes
 * are; NULL when a shape does not type-check. */
static Expr *alloc_bytes(Merger *M, Vec *v)
{
	const char *err = NULL;
	if (!pass_stats_on(M->cx))
		return NULL;
	Expr *sum = int32(M->a, 0);
	for (int i = 0; i < v->n && sum; i++) {
		Buffer *b = v->v[i];
		Expr *n = int32(M->a, elem_bytes(b->dt));
		for (int d = 0; d < b->ndim && n; d++)
			n = arith_binary(M->a, EX_MUL, n, b->shape[d], &err);
		sum = n ? arith_binary(M->a, EX_ADD, sum, n, &err) : NULL;
	}
	return sum;
}

static void report(Merger *M, int no, Expr *before, Expr *after)
{
	if (!pass_stats_on(M->cx) || no < 0 || !before || !after)
		return;
	int64_t x, y;
	const char *scope = M->dyn ? "shared.dyn" : "shared";
	if (ex_is_const_int(before, &x) && ex_is_const_int(after, &y)) {
		pass_stat(M->cx, "kernel %s#%d: %s %lld -> %lld bytes", M->f->name, no, scope,
		          (long long)x, (long long)y);
		return;
	}
	Buf b1 = {0}, b2 = {0};
	tir_print_expr(&b1, before);
	tir_print_expr(&b2, after);
	pass_stat(M->cx, "kernel %s#%d: %s %s -> %s bytes", M->f->name, no, scope, b1.s, b2.s);
	buf_free(&b1);
	buf_free(&b2);
}

/* --------------------------------------------- the linear access sequence */

typedef struct Finder {
	Kernel *k;
	int dyn;
	int in_env;
	int depth; /* open statements: their touched lists are k->stack[0 .. depth) */
	Walker w;  /* find_expr's walk (find_visit) */
} Finder;

static Buffer *finder_resolve(Kernel *k, Buffer *b)
{
	Buffer *src;
	if (!k->alias_src.n)
		return b;
	while ((src = pmap_get(&k->alias_src, b)))
		b = src;
	return b;
}

static Entry *push_entry(Kernel *k)
{
	if (k->nseq == k->capseq) {
		int cap = k->capseq ? 2 * k->capseq : 32;
		k->seq = xrealloc(k->seq, (size_t)cap * sizeof *k->seq);
		memset(k->seq + k->capseq, 0, (size_t)(cap - k->capseq) * sizeof *k->seq);
		k->capseq = cap;
	}
	Entry *e = &k->seq[k->nseq++];
	e->off = 0;
	e->touched.n = e->gen.n = e->kill.n = 0;
	return e;
}

static void open_stmt(Finder *f)
{
	Kernel *k = f->k;
	if (f->depth == k->capstack) {
		int cap = k->capstack ? 2 * k->capstack : 16;
		k->stack = xrealloc(k->stack, (size_t)cap * sizeof *k->stack);
		memset(k->stack + k->capstack, 0, (size_t)(cap - k->capstack) * sizeof *k->stack);
		k->capstack = cap;
	}
	k->stack[f->depth++].n = 0;
}

static void vec_copy(Vec *to, const Vec *from)
{
	to->n = 0;
	for (int i = 0; i < from->n; i++)
		vec_push(to, from->v[i]);
}

/* Closes a leaf statement: it joins the sequence when it touched anything
 * allocated at its own level. */
static void close_leaf(Finder *f)
{
	Vec *t = &f->k->stack[--f->depth];
	if (t->n)
		vec_copy(&push_entry(f->k)->touched, t);
}

/* A touch goes to the statement open at the allocation's level, so the
 * liveness of a buffer is measured in statements of its own scope. */
static void touch(Finder *f, Buffer *b)
{
	b = finder_resolve(f->k, b);
	if (!right_scope(f->dyn, b))
		return;
	intptr_t lv = (intptr_t)pmap_get(&f->k->level, b);
	if (!lv || lv - 1 >= f->depth)
		return;
	Vec *t = &f->k->stack[lv - 1];
	for (int i = 0; i < t->n; i++)
		if (t->v[i] == b)
			return;
	vec_push(t, b);
}

/* Constants and vars touch nothing (nor change in a rewrite). */
static int is_leaf(const Expr *e)
{
	return !e || e->kind <= EX_VAR;
}

/* The touches of an expression, in evaluation order: a load touches its
 * buffer after its indices. */
static int find_visit(Walker *w, Expr *e)
{
	Finder *f = w->data;
	switch (e->kind) {
	case EX_LOAD:
		for (int i = 0; i < e->load.nidx; i++)
			walk_expr(w, e->load.idx[i]);
		walk_expr(w, e->load.pred);
		touch(f, e->load.buf);
		return 0;
	case EX_BUFDATA:
	case EX_BUFREF:
		touch(f, e->buf);
		return 0;
	default: /* EX_CALL */
		/* TVM: the element an address_of names is no use of the buffer */
		if (is_op(e, OP_address_of) && e->call.nargs == 1 && e->call.args[0]->kind == EX_LOAD) {
			Expr *ld = e->call.args[0];
			for (int i = 0; i < ld->load.nidx; i++)
				walk_expr(w, ld->load.idx[i]);
			return 0;
		}
		return 1;
	}
}

static void find_expr(Finder *f, Expr *e)
{
	if (!is_leaf(e))
		walk_expr(&f->w, e);
}

static void find_stmt(Finder *f, Stmt *s);

static void find_buffer_fields(Finder *f, Buffer *b)
{
	for (int i = 0; i < b->ndim; i++)
		find_expr(f, b->shape[i]);
	for (int i = 0; i < b->nstrides; i++)
		find_expr(f, b->strides[i]);
	find_expr(f, b->elem_offset);
}

/* A scope: a begin entry, the children, an end entry carrying what the
 * children touched of the allocations at this level. */
static void find_scope(Finder *f, Stmt *s)
{
	Kernel *k = f->k;
	open_stmt(f);
	int begin = k->nseq;
	push_entry(k);
	switch (s->kind) {
	case ST_ATTR:
		find_expr(f, s->attr.value);
		find_stmt(f, s->attr.body);
		break;
	case ST_FOR:
		find_expr(f, s->loop.min);
		find_expr(f, s->loop.extent);
		find_expr(f, s->loop.step);
		find_stmt(f, s->loop.body);
		break;
	case ST_WHILE:
		find_expr(f, s->wloop.cond);
		find_stmt(f, s->wloop.body);
		break;
	case ST_IF:
		find_expr(f, s->ifs.cond);
		find_stmt(f, s->ifs.then);
		if (s->ifs.els)
			find_stmt(f, s->ifs.els);
		break;
	case ST_ASSERT:
		find_expr(f, s->assert.cond);
		break;
	default:
		break;
	}
	Vec *t = &k->stack[--f->depth];
	int end = k->nseq;
	Entry *e = push_entry(k);
	vec_copy(&e->touched, t);
	e->off = begin - end;
	k->seq[begin].off = end - begin;
}

static void find_stmt(Finder *f, Stmt *s)
{
	Kernel *k = f->k;
	if (!s)
		return;
	switch (s->kind) {
	case ST_SEQ:
		for (int i = 0; i < s->seq.n; i++)
			find_stmt(f, s->seq.items[i]);
		break;
	case ST_STORE:
		open_stmt(f);
		find_expr(f, s->store.value);
		for (int i = 0; i < s->store.nidx; i++)
			find_expr(f, s->store.idx[i]);
		find_expr(f, s->store.pred);
		touch(f, s->store.buf);
		close_leaf(f);
		break;
	case ST_EVAL:
	case ST_BIND:
	case ST_RETURN:
		open_stmt(f);
		find_expr(f, s->kind == ST_EVAL ? s->eval.value
		                 : s->kind == ST_BIND ? s->bind.value
		                                      : s->ret.value);
		close_leaf(f);
		break;
	case ST_ALLOC:
		pmap_put(&k->level, s->alloc.buf, (void *)(intptr_t)(f->depth + 1));
		open_stmt(f);
		find_buffer_fields(f, s->alloc.buf);
		close_leaf(f);
		break;
	case ST_DECL: {
		Expr *d = s->decl.data;
		/* a typed view of an allocation: its uses are the allocation's */
		if (is_data_ref(d)) {
			Buffer *src = finder_resolve(k, d->buf);
			if (pmap_get(&k->level, src)) {
				pmap_put(&k->alias_src, s->decl.buf, src);
				break;
			}
		}
		open_stmt(f);
		find_expr(f, d);
		find_buffer_fields(f, s->decl.buf);
		close_leaf(f);
		break;
	}
	case ST_ATTR:
		if (s->attr.key == S_thread_extent && !f->in_env) {
			f->in_env = 1;
			find_scope(f, s);
			f->in_env = 0;
		} else if (s->attr.key == S_extern_scope || s->attr.key == S_virtual_thread) {
			find_scope(f, s);
		} else {
			open_stmt(f);
			find_expr(f, s->attr.value);
			close_leaf(f);
			find_stmt(f, s->attr.body);
		}
		break;
	case ST_FOR:
	case ST_WHILE:
	case ST_IF:
	case ST_ASSERT:
		find_scope(f, s);
		break;
	default:
		break;
	}
}

/* Every reference to an allocation of the launch, wherever it is, except
 * the definitions themselves: the rewriter needs an offset for each. */
static void mention_buffer(Walker *w, Buffer *b)
{
	Kernel *k = w->data;
	b = finder_resolve(k, b);
	if (pmap_get(&k->alloc_stmt, b))
		pmap_put(&k->mentioned, b, (void *)1);
}

static int mention_stmt(Walker *w, Stmt *s)
{
	Kernel *k = w->data;
	Buffer *b;
	switch (s->kind) {
	case ST_ALLOC:
		b = s->alloc.buf;
		break;
	case ST_DECL:
		if (is_data_ref(s->decl.data) && pmap_get(&k->alias_src, s->decl.buf))
			return 0; /* the rewriter drops the view's declaration */
		walk_expr(w, s->decl.data);
		b = s->decl.buf;
		break;
	default:
		return 1;
	}
	for (int i = 0; i < b->ndim; i++)
		walk_expr(w, b->shape[i]);
	for (int i = 0; i < b->nstrides; i++)
		walk_expr(w, b->strides[i]);
	walk_expr(w, b->elem_offset);
	if (s->kind == ST_ALLOC)
		walk_obj(w, s->alloc.annotations);
	return 0;
}

/* Builds k->seq for the launch s (the launch itself is the outer scope). */
static void find(Kernel *k, int dyn, Stmt *s)
{
	Finder f = {.k = k, .dyn = dyn};
	f.w = (Walker){.expr = find_visit, .kinds = EXK(EX_LOAD) | EXK(EX_BUFDATA) | EXK(EX_BUFREF) |
	                                               EXK(EX_CALL), .data = &f};
	find_stmt(&f, s);
}

/* Fills k->mentioned for the launch s (after find: views are known). */
static void find_mentions(Kernel *k, Stmt *s)
{
	Walker mw = {.stmt = mention_stmt, .buffer = mention_buffer, .data = k};
	walk_stmt(&mw, s->attr.body);
}

/* ------------------------------------------------------------- liveness */

static int vec_has(const Vec *v, const void *p)
{
	for (int i = 0; i < v->n; i++)
		if (v->v[i] == p)
			return 1;
	return 0;
}

/* Events live on the begin entry of a scope (TVM keys them by statement). */
static Entry *event_of(Kernel *k, int i)
{
	return &k->seq[k->seq[i].off < 0 ? i + k->seq[i].off : i];
}

/* Only allocations of the launch are touched (find and collect_allocs see
 * the same statements), so a pass can stop once it has seen them all. */
static void liveness(Kernel *k)
{
	PtrMap *seen = &k->seen;
	pclear(seen);
	for (int i = k->nseq - 1; i >= 0 && seen->n < k->allocs.n; i--) {
		Entry *s = &k->seq[i];
		for (int j = 0; j < s->touched.n; j++) {
			void *b = s->touched.v[j];
			if (!pmap_get(seen, b)) {
				pmap_put(seen, b, (void *)1);
				vec_push(&event_of(k, i)->kill, b);
			}
		}
	}
	pclear(seen);
	for (int i = 0; i < k->nseq && seen->n < k->allocs.n; i++) {
		if (k->seq[i].off < 0)
			continue;
		Entry *s = &k->seq[i + k->seq[i].off];
		for (int j = 0; j < s->touched.n; j++) {
			void *b = s->touched.v[j];
			if (!pmap_get(seen, b)) {
				pmap_put(seen, b, (void *)1);
				vec_push(&k->seq[i].gen, b);
			}
		}
	}
}

/* ------------------------------------------------------------ the plan */

static void free_insert(FreeMap *m, uint64_t key, Block *b)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->key = xrealloc(m->key, (size_t)m->cap * sizeof *m->key);
		m->blk = xrealloc(m->blk, (size_t)m->cap * sizeof *m->blk);
	}
	int i = m->n;
	while (i > 0 && m->key[i - 1] > key) /* after the equal keys */
		i--;
	memmove(m->key + i + 1, m->key + i, (size_t)(m->n - i) * sizeof *m->key);
	memmove(m->blk + i + 1, m->blk + i, (size_t)(m->n - i) * sizeof *m->blk);
	m->key[i] = key;
	m->blk[i] = b;
	m->n++;
}

static void free_erase(FreeMap *m, int i)
{
	memmove(m->key + i, m->key + i + 1, (size_t)(m->n - i - 1) * sizeof *m->key);
	memmove(m->blk + i, m->blk + i + 1, (size_t)(m->n - i - 1) * sizeof *m->blk);
	m->n--;
}

static int lower_bound(const FreeMap *m, uint64_t key)
{
	int i = 0;
	while (i < m->n && m->key[i] < key)
		i++;
	return i;
}

static Vec *add_layer(Block *b)
{
	if (b->nlayers == b->caplayers) {
		int cap = b->caplayers ? 2 * b->caplayers : 2;
		b->layers = xrealloc(b->layers, (size_t)cap * sizeof *b->layers);
		memset(b->layers + b->caplayers, 0, (size_t)(cap - b->caplayers) * sizeof *b->layers);
		b->caplayers = cap;
	}
	Vec *v = &b->layers[b->nlayers++];
	v->n = 0;
	return v;
}

/* A block from k's pool. */
static Block *new_block(Kernel *k, uint64_t nbits)
{
	if (k->nblocks == k->nmade) {
		if (k->nmade == k->capblocks) {
			k->capblocks = k->capblocks ? 2 * k->capblocks : 8;
			k->blocks = xrealloc(k->blocks, (size_t)k->capblocks * sizeof *k->blocks);
		}
		k->blocks[k->nmade++] = xcalloc(1, sizeof(Block));
	}
	Block *b = k->blocks[k->nblocks++];
	b->nbits = nbits;
	b->nlayers = 0;
	return b;
}

static Block *new_alloc(Kernel *k, Buffer *buf, uint64_t nbits)
{
	Block *b = new_block(k, nbits);
	vec_push(add_layer(b), buf);
	return b;
}

/* The constant size in bits, 0 when symbolic (or absurdly large). */
static uint64_t const_bits(const Buffer *b)
{
	uint64_t n = (uint64_t)b->dt.bits * b->dt.lanes;
	for (int i = 0; i < b->ndim; i++) {
		int64_t v;
		if (!ex_is_const_int(b->shape[i], &v) || v < 0)
			return 0;
		if (v != 0 && n > (UINT64_MAX / 16) / (uint64_t)v)
			return 0;
		n *= (uint64_t)v;
	}
	return n;
}

/* TVM's FindAlloc, with match_range 16. */
static Block *find_alloc(Kernel *k, Buffer *buf)
{
	const uint64_t match_range = 16;
	uint64_t nbits = const_bits(buf);
	/* small arrays are never reused (they are registers in LLVM) */
	if (nbits > 0 && nbits <= 32) {
		Block *b = new_alloc(k, buf, nbits);
		vec_push(&k->smalls, b);
		return b;
	}
	if (nbits == 0) {
		/* any freed symbolic block fits, as we cannot compare sizes */
		if (k->sfree.n) {
			Block *b = k->sfree.v[0];
			memmove(k->sfree.v, k->sfree.v + 1, (size_t)(k->sfree.n - 1) * sizeof(void *));
			k->sfree.n--;
			vec_push(add_layer(b), buf);
			return b;
		}
		return new_alloc(k, buf, 0);
	}
	FreeMap *m = &k->cfree;
	int mid = lower_bound(m, nbits);
	/* a freed block at least as large, but not too large */
	if (mid < m->n && m->key[mid] <= nbits * match_range) {
		Block *b = m->blk[mid];
		if (b->nbits < nbits)
			b->nbits = nbits;
		free_erase(m, mid);
		vec_push(add_layer(b), buf);
		return b;
	}
	/* else smaller freed blocks, largest first, until they are enough */
	uint64_t got = 0;
	int lo = mid;
	while (lo > 0 && got < nbits) {
		lo--;
		got += m->blk[lo]->nbits;
	}
	if (got == 0)
		return new_alloc(k, buf, nbits);
	Block *nb = new_block(k, nbits > got ? nbits : got);
	for (int i = mid - 1; i >= lo; i--) {
		Block *v = m->blk[i];
		for (int j = 0; j < v->nlayers; j++) {
			while (nb->nlayers <= j)
				add_layer(nb);
			for (int t = 0; t < v->layers[j].n; t++)
				vec_push(&nb->layers[j], v->layers[j].v[t]);
		}
	}
	vec_push(add_layer(nb), buf);
	for (int i = mid - 1; i >= lo; i--)
		free_erase(m, i);
	return nb;
}

static void free_buffer(Kernel *k, Buffer *buf)
{
	Block *b = pmap_get(&k->block, buf);
	if (!b || b->nlayers == 0)
		die("MergeSharedMemoryAllocations: freeing an unplanned buffer '%s'", buf->name);
	if (b->nbits > 0 && b->nbits <= 32)
		return;
	if (b->nbits)
		free_insert(&k->cfree, b->nbits, b);
	else
		vec_push(&k->sfree, b);
}

static void plan(Kernel *k, Stmt *launch)
{
	for (int i = 0; i < k->nseq; i++) {
		int off = k->seq[i].off;
		Entry *ev = event_of(k, i);
		/* a leaf that both allocates and frees a buffer frees it last,
		 * so the buffers it touches never share memory */
		if (off <= 0)
			for (int j = 0; j < ev->kill.n; j++)
				if (!(off == 0 && vec_has(&ev->gen, ev->kill.v[j])))
					free_buffer(k, ev->kill.v[j]);
		if (off >= 0)
			for (int j = 0; j < ev->gen.n; j++) {
				Buffer *b = ev->gen.v[j];
				if (!pmap_get(&k->alloc_stmt, b))
					die("MergeSharedMemoryAllocations: '%s' is no allocation of the kernel",
					    b->name);
				pmap_put(&k->block, b, find_alloc(k, b));
			}
		if (off <= 0)
			for (int j = 0; j < ev->kill.n; j++)
				if (off == 0 && vec_has(&ev->gen, ev->kill.v[j]))
					free_buffer(k, ev->kill.v[j]);
	}
	/* referenced only where liveness does not look: a block of its own */
	int unplanned = 0;
	for (int i = 0; i < k->allocs.n && !unplanned; i++)
		unplanned = !pmap_get(&k->block, k->allocs.v[i]);
	if (!unplanned)
		return;
	find_mentions(k, launch);
	for (int i = 0; i < k->allocs.n; i++) {
		Buffer *b = k->allocs.v[i];
		if (pmap_get(&k->mentioned, b) && !pmap_get(&k->block, b)) {
			Block *nb = new_alloc(k, b, 0);
			vec_push(&k->lone, nb);
			pmap_put(&k->block, b, nb);
		}
	}
}

static void print_shape(Buf *out, const Buffer *b)
{
	buf_putc(out, '[');
	for (int i = 0; i < b->ndim; i++) {
		if (i)
			buf_puts(out, ", ");
		tir_print_expr(out, b->shape[i]);
	}
	buf_putc(out, ']');
}

/* Offsets of the blocks' buffers and the merged size (TVM's
 * ComputeOffsets).  Blocks are laid out in the order TVM takes them from its
 * free lists: constant blocks by size, then symbolic ones; ours adds the
 * small blocks before the symbolic ones and the unplanned last. */
static void compute_offsets(Merger *M, Kernel *k)
{
	Vec all = k->all;
	all.n = 0;
	for (int i = 0; i < k->cfree.n; i++)
		vec_push(&all, k->cfree.blk[i]);
	for (int i = 0; i < k->smalls.n; i++)
		vec_push(&all, k->smalls.v[i]);
	for (int i = 0; i < k->sfree.n; i++)
		vec_push(&all, k->sfree.v[i]);
	for (int i = 0; i < k->lone.n; i++)
		vec_push(&all, k->lone.v[i]);
	k->all = all;
	int nl = 1;
	for (int i = 0; i < all.n; i++) {
		Block *b = all.v[i];
		if (b->nlayers > nl)
			nl = b->nlayers;
	}
	if (nl > k->capalign) {
		k->capalign = nl;
		k->align = xrealloc(k->align, (size_t)nl * sizeof *k->align);
	}
	int *align = k->align;
	memset(align, 0, (size_t)nl * sizeof *align);
	for (int i = 0; i < all.n; i++) {
		Block *b = all.v[i];
		for (int j = 0; j < b->nlayers; j++)
			for (int t = 0; t < b->layers[j].n; t++) {
				int eb = elem_bytes(((Buffer *)b->layers[j].v[t])->dt);
				if (eb > align[j])
					align[j] = eb;
			}
	}
	Arena *a = M->a;
	Expr *merged = int32(a, 0);
	Loc last = NOLOC; /* the last allocation placed: where a sum's type error shows */
	for (int i = 0; i < all.n && !M->failed; i++) {
		Block *b = all.v[i];
		Expr *max_inner = int32(a, 0);
		for (int j = 0; j < b->nlayers && !M->failed; j++) {
			Expr *inner = int32(a, 0);
			for (int t = 0; t < b->layers[j].n; t++) {
				Buffer *buf = b->layers[j].v[t];
				Stmt *at = pmap_get(&k->alloc_stmt, buf);
				Loc loc = at ? at->loc : NOLOC;
				last = loc;
				if (buf->ndim != 1) {
					Buf sh = {0};
					print_shape(&sh, buf);
					diag_error(loc,
					           "Buffer %s has shape %s.  MergeSharedMemoryAllocations expects "
					           "flat memory buffers, and is to be run after FlattenBuffer",
					           buf->name, sh.s);
					buf_free(&sh);
					M->failed = 1;
					break;
				}
				int eb = elem_bytes(buf->dt);
				int ab = align[j] > eb ? align[j] : eb;
				if (buf->align > 0) {
					if (buf->align % ab != 0) {
						diag_error(loc, "The alignment of the buffer is not a multiple of the "
						                "data type size.");
						M->failed = 1;
						break;
					}
					ab = buf->align;
				}
				Expr *nbytes = op2(M, EX_MUL, buf->shape[0], int32(a, eb), loc);
				Expr *abx = int32(a, ab);
				Expr *at_now = op2(M, EX_ADD, merged, inner, loc);
				Expr *pad = op2(M, EX_FLOORMOD,
				                op2(M, EX_SUB, abx, op2(M, EX_FLOORMOD, at_now, abx, loc), loc),
				                abx, loc);
				inner = op2(M, EX_ADD, inner, pad, loc);
				pmap_put(&k->offset, buf, op2(M, EX_ADD, merged, inner, loc));
				inner = op2(M, EX_ADD, inner, nbytes, loc);
			}
			max_inner = op2(M, EX_MAX, max_inner, inner, last);
		}
		merged = op2(M, EX_ADD, merged, max_inner, last);
	}
	k->size = merged;
}

/* ------------------------------------------------------------ rewriting */

/* The allocation a buffer (or a view of one) stands for in this kernel. */
static Buffer *resolve(Kernel *k, Buffer *b)
{
	Buffer *src;
	if (k->alias.n)
		while ((src = pmap_get(&k->alias, b)))
			b = src;
	return pmap_get(&k->alloc_stmt, b) ? b : NULL;
}

/* What the rewriter knows of b; alloc is resolved on the first call.  The
 * Info stays put until the next alias (a statement) empties the map. */
static Info *info_of(Kernel *k, Buffer *b)
{
	void **slot = pmap_ref(&k->info, b);
	if (*slot)
		return *slot;
	if (k->ninfo == k->infos.n)
		vec_push(&k->infos, xmalloc(sizeof(Info)));
	Info *in = k->infos.v[k->ninfo++];
	*slot = in;
	memset(in, 0, sizeof *in);
	in->alloc = resolve(k, b);
	return in;
}

/* The buffer re-declared over the merged data (TVM's GetUpdatedBuffer):
 * same type, name and fields, a new identity. */
static Buffer *updated_in(Merger *M, Info *in, Buffer *b)
{
	Kernel *k = M->k;
	if (!in->alloc)
		return b;
	if (in->nb)
		return in->nb;
	Buffer *nb = pmap_get(&k->remap, b);
	if (!nb) {
		nb = buf_new(M->a, b->name, b->dt, b->shape, b->ndim);
		uint32_t id = nb->id;
		*nb = *b;
		nb->id = id;
		pmap_put(&k->remap, b, nb);
		vec_push(&k->remap_order, nb);
	}
	in->nb = nb;
	return nb;
}

static Buffer *updated(Merger *M, Buffer *b)
{
	return M->k ? updated_in(M, info_of(M->k, b), b) : b;
}

/* floordiv(byte offset, element bytes): the offset in elements of dt of
 * the allocation b stands for. */
static Expr *elem_offset_of(Merger *M, Buffer *alloc, Buffer *b, DType dt, Loc loc)
{
	Expr *off = pmap_get(&M->k->offset, alloc);
	if (!off)
		die("MergeSharedMemoryAllocations: no offset for buffer '%s'", b->name);
	return op2(M, EX_FLOORDIV, off, int32(M->a, elem_bytes(dt)), loc);
}

/* The same in b's own type, computed once per buffer. */
static Expr *own_offset(Merger *M, Info *in, Buffer *b, Loc loc)
{
	if (!in->eoff)
		in->eoff = elem_offset_of(M, in->alloc, b, b->dt, loc);
	return in->eoff;
}

/* Whether accesses to b are rewritten (TVM's VisitBufferAccess test): its
 * Info when they are, else NULL. */
static Info *merged_here(Merger *M, Buffer *b)
{
	if (!M->k || !right_scope(M->dyn, b))
		return NULL;
	Info *in = info_of(M->k, b);
	return in->alloc ? in : NULL;
}

/* xs rewritten: xs itself when nothing changed, else a fresh array. */
static Expr **mut_list(Mutator *mu, Expr **xs, int n)
{
	Expr **out = xs;
	for (int i = 0; i < n; i++) {
		Expr *y = mut_expr(mu, xs[i]);
		if (y != xs[i] && out == xs)
			out = ar_dup(mu->a, xs, (size_t)n * sizeof *xs);
		if (out != xs)
			out[i] = y;
	}
	return out;
}

/* The call's arguments rewritten, except the data pointer at `skip`,
 * which the caller replaces. */
static Expr **mut_args_but(Mutator *mu, Expr *call, int skip)
{
	int n = call->call.nargs;
	Expr **out = ar_alloc(mu->a, (size_t)n * sizeof *out);
	for (int i = 0; i < n; i++)
		out[i] = i == skip ? call->call.args[i] : mut_expr(mu, call->call.args[i]);
	return out;
}

/* idx (already rewritten, orig: the node's own array) with the first
 * index shifted by b's offset: orig itself when that changes nothing. */
static Expr **flat_index(Merger *M, Info *in, Buffer *b, Expr **idx, Expr **orig, int nidx, Loc loc)
{
	if (nidx == 0)
		return idx;
	Expr *x = idx[0];
	if (nidx != 1) {
		if (!M->failed)
			diag_error(loc, "MergeSharedMemoryAllocations expects flat memory buffers, and is to "
			                "be run after FlattenBuffer");
		M->failed = 1;
	} else if (in->flat && in->idx == idx[0]) {
		x = in->flat;
	} else {
		Expr *off = own_offset(M, in, b, loc);
		x = op2(M, EX_ADD, idx[0], off, loc);
		in->idx = idx[0];
		in->flat = x;
	}
	if (x == idx[0])
		return idx;
	if (nidx == 1) {
		if (!in->flat1 || in->flat1[0] != x) {
			in->flat1 = ar_alloc(M->a, sizeof *in->flat1);
			in->flat1[0] = x;
		}
		return in->flat1;
	}
	if (idx == orig)
		idx = ar_dup(M->a, orig, (size_t)nidx * sizeof *idx);
	idx[0] = x;
	return idx;
}

static Expr *data_of(Arena *a, Buffer *b)
{
	Expr *e = ex_new(a, EX_BUFDATA, DT_HANDLE64);
	e->buf = b;
	return e;
}

/* The hook below runs on every node: the work for the few accesses stays
 * out of line, so the common case costs a test. */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* A buffer access of the kernel being merged, rewritten; NULL for others. */
static NOINLINE Expr *rw_access(Mutator *mu, Expr *e)
{
	Merger *M = mu->data;
	if (!M->k)
		return NULL;
	Arena *a = mu->a;
	Loc at = mut_loc(mu); /* expressions have no location: the statement's */
	switch (e->kind) {
	case EX_LOAD: {
		Buffer *b = e->load.buf;
		Info *in = merged_here(M, b);
		if (!in)
			return NULL;
		Expr **idx = mut_list(mu, e->load.idx, e->load.nidx);
		Expr *pred = mut_expr(mu, e->load.pred);
		idx = flat_index(M, in, b, idx, e->load.idx, e->load.nidx, at);
		Buffer *nb = updated_in(M, in, b);
		Expr *ld = in->load;
		int one = e->load.nidx == 1;
		if (one && ld && ld->load.idx[0] == idx[0] && ld->load.pred == pred && dt_eq(ld->dt, e->dt))
			return ld;
		Expr *n = ex_dup(a, e);
		n->load.idx = idx;
		n->load.pred = pred;
		n->load.buf = nb;
		if (one)
			in->load = n;
		return n;
	}
	case EX_BUFDATA:
	case EX_BUFREF: {
		/* TVM leaves these pointing at the dropped allocation; the view
		 * starts at the merged base, so step to the buffer's offset */
		Info *in = merged_here(M, e->buf);
		if (!in)
			return NULL;
		Expr *off = own_offset(M, in, e->buf, at);
		Buffer *nb = updated_in(M, in, e->buf);
		int64_t v;
		if (ex_is_const_int(off, &v) && v == 0) {
			Expr *n = ex_new(a, e->kind, e->dt);
			n->buf = nb;
			return n;
		}
		if (e->kind == EX_BUFREF) {
			if (!M->failed)
				diag_error(at, "MergeSharedMemoryAllocations: buffer '%s' is passed as a "
				                  "value and cannot be moved into the merged allocation",
				           e->buf->name);
			M->failed = 1;
			return e;
		}
		Expr *ld = ex_new(a, EX_LOAD, nb->dt);
		ld->load.buf = nb;
		ld->load.idx = ar_alloc(a, sizeof(Expr *));
		ld->load.idx[0] = off;
		ld->load.nidx = 1;
		return ex_call(a, OP_address_of, ty_ptr(nb->dt, nb->scope), &ld, 1);
	}
	case EX_CALL:
		break;
	default:
		return NULL;
	}
	int n = e->call.nargs;
	if (is_op(e, OP_access_ptr)) {
		/* tvm_access_ptr(type, data, offset, extent, rw) */
		if (n != 5 || !is_data_ref(e->call.args[1]) || !merged_here(M, e->call.args[1]->buf))
			return NULL;
		Buffer *b = e->call.args[1]->buf;
		Expr **args = mut_args_but(mu, e, 1);
		args[1] = data_of(a, updated(M, b));
		Buffer *alloc = info_of(M->k, b)->alloc;
		args[2] = op2(M, EX_ADD, elem_offset_of(M, alloc, b, e->call.args[0]->dt, at), args[2],
		              at);
		Expr *c = ex_call(a, e->call.op, e->call.rty, args, n);
		c->dt = e->dt;
		return c;
	}
	if (is_op(e, OP_cp_async_raw)) {
		/* (dst, dst_offset, src, src_offset, bytes[, predicate]), offsets
		 * in elements of dst's type */
		if ((n != 5 && n != 6) || !is_data_ref(e->call.args[0]) ||
		    !merged_here(M, e->call.args[0]->buf))
			return NULL;
		Buffer *b = e->call.args[0]->buf;
		Expr **args = mut_args_but(mu, e, 0);
		args[0] = data_of(a, updated(M, b));
		args[1] = op2(M, EX_ADD, own_offset(M, info_of(M->k, b), b, at), args[1], at);
		Expr *c = ex_call(a, e->call.op, e->call.rty, args, n);
		c->dt = e->dt;
		return c;
	}
	return NULL;
}

static Expr *rw_expr(Mutator *mu, Expr *e)
{
	switch (e->kind) {
	case EX_LOAD:
	case EX_BUFDATA:
	case EX_BUFREF:
	case EX_CALL:
		return rw_access(mu, e);
	default:
		/* an operator on constants and vars stays (the Mutator maps no var) */
		if (e->kind >= EX_ADD && e->kind <= EX_CAST && is_leaf(e->bin.a) && is_leaf(e->bin.b))
			return e;
		return NULL;
	}
}

static Buffer *rw_buffer(Mutator *mu, Buffer *b)
{
	return updated(mu->data, b);
}

static Stmt *kernel(Mutator *mu, Stmt *s);

/* Whether s is a merged allocation or a view of one, which the rewrite
 * drops (an Evaluate(0) in its place, which a sequence drops in turn).
 * Notes what the dropped statement tells: a volatile allocation, a view. */
static int dropped(Merger *M, Stmt *s)
{
	Kernel *k = M->k;
	if (!k)
		return 0;
	if (s->kind == ST_ALLOC) {
		if (!right_scope(M->dyn, s->alloc.buf) || !pmap_get(&k->alloc_stmt, s->alloc.buf))
			return 0;
		if (obj_dict_get(s->alloc.annotations, "tirx.volatile"))
			k->has_volatile = 1;
		return 1;
	}
	/* a view of a merged allocation is re-declared at the top */
	if (s->kind != ST_DECL || !is_data_ref(s->decl.data))
		return 0;
	Buffer *src = resolve(k, s->decl.data->buf);
	if (!src)
		return 0;
	pmap_put(&k->alias, s->decl.buf, src);
	pclear(&k->info); /* resolve may answer differently now */
	k->ninfo = 0;
	return 1;
}

static Stmt *rw_stmt(Mutator *mu, Stmt *s)
{
	Merger *M = mu->data;
	Arena *a = mu->a;
	switch (s->kind) {
	case ST_ATTR:
		if (s->attr.key == S_thread_extent && !M->in_env)
			return kernel(mu, s);
		return NULL;
	case ST_ALLOC:
	case ST_DECL:
		return dropped(M, s) ? nop(a, s->loc) : NULL;
	case ST_STORE: {
		Buffer *b = s->store.buf;
		Info *in = merged_here(M, b);
		if (!in)
			return NULL;
		/* (expressions add no alias: in stays valid) */
		Expr *value = mut_expr(mu, s->store.value);
		Expr **idx = mut_list(mu, s->store.idx, s->store.nidx);
		Expr *pred = mut_expr(mu, s->store.pred);
		idx = flat_index(M, in, b, idx, s->store.idx, s->store.nidx, s->loc);
		Stmt *n = st_dup(a, s);
		n->store.value = value;
		n->store.idx = idx;
		n->store.pred = pred;
		n->store.buf = updated_in(M, in, b);
		return n;
	}
	case ST_SEQ: {
		/* TVM's mutator re-flattens every sequence, dropping Evaluate(0);
		 * the items go on M->items above those of enclosing sequences */
		Vec *items = &M->items;
		int base = items->n;
		for (int i = 0; i < s->seq.n; i++) {
			Stmt *x = s->seq.items[i];
			if ((x->kind != ST_ALLOC && x->kind != ST_DECL) || !dropped(M, x))
				flatten_into(items, mut_stmt(mu, x));
		}
		int n = items->n - base;
		int same = n == s->seq.n;
		for (int i = 0; same && i < n; i++)
			same = items->v[base + i] == s->seq.items[i];
		Stmt *r = s;
		if (!same)
			r = seq_of(a, (Stmt **)items->v + base, n, s->loc);
		items->n = base;
		return r;
	}
	default:
		return NULL;
	}
}

/* One outermost launch: plan and rewrite its merged allocations. */
static Stmt *kernel(Mutator *mu, Stmt *s)
{
	Merger *M = mu->data;
	Arena *a = mu->a;
	int no = M->fast_depth == 0 ? M->launch_no++ : -1;
	Kernel *k = &M->scratch;
	kernel_reset(k);
	collect_allocs(M->dyn, s->attr.body, &k->allocs, &k->alloc_stmt);

	if (k->allocs.n <= 1) {
		/* nothing to merge; a launch nested in this one counts as a new
		 * kernel, as in TVM, but is no kernel of its own for --stats */
		if (k->allocs.n == 1) {
			Expr *n = alloc_bytes(M, &k->allocs);
			report(M, no, n, n);
		}
		M->fast_depth++;
		Expr *v = mut_expr(mu, s->attr.value);
		Stmt *body = mut_stmt(mu, s->attr.body);
		M->fast_depth--;
		if (v == s->attr.value && body == s->attr.body)
			return s;
		Stmt *n = st_dup(a, s);
		n->attr.value = v;
		n->attr.body = body;
		return n;
	}

	find(k, M->dyn, s);
	liveness(k);
	plan(k, s);
	compute_offsets(M, k);
	if (M->failed)
		return s;
	Expr **shape = ar_alloc(a, sizeof *shape);
	shape[0] = k->size;
	k->merged = buf_new(a, M->dyn ? S_buf_dyn_shmem : S_buf_shmem, DT_U8, shape, 1);
	k->merged->scope = M->dyn ? S_shared_dyn : S_shared;

	/* (launches inside this one are part of it: kernel() is not reentered) */
	M->in_env = 1;
	M->k = k;
	Stmt *body = mut_stmt(mu, s->attr.body);
	M->k = NULL;
	M->in_env = 0;

	/* the merged allocation, then the views (TVM prepends them one by one
	 * in order of first use, so the last used comes first), then the body */
	Vec *items = &M->items;
	int base = items->n;
	Stmt *al = st_new(a, ST_ALLOC, s->loc);
	al->alloc.buf = k->merged;
	if (k->has_volatile)
		al->alloc.annotations = obj_dict_set(a, NULL, "tirx.volatile", obj_bool(a, 1));
	vec_push(items, al);
	for (int i = k->remap_order.n - 1; i >= 0; i--) {
		Stmt *d = st_new(a, ST_DECL, s->loc);
		d->decl.buf = k->remap_order.v[i];
		d->decl.data = data_of(a, k->merged);
		vec_push(items, d);
	}
	flatten_into(items, body);
	Stmt *n = st_dup(a, s);
	n->attr.body = st_seq(a, (Stmt **)items->v + base, items->n - base);
	items->n = base;

	report(M, no, alloc_bytes(M, &k->allocs), k->size);
	return n;
}

/* --------------------------------------------------------------- driver */

/* --stats for a function left alone: each launch's allocations as they are. */
typedef struct StatWalk {
	Merger *M;
} StatWalk;

static int stat_stmt(Walker *w, Stmt *s)
{
	Merger *M = ((StatWalk *)w->data)->M;
	if (s->kind != ST_ATTR || s->attr.key != S_thread_extent)
		return 1;
	int no = M->launch_no++;
	Vec allocs = {0};
	PtrMap stmts = {0};
	collect_allocs(M->dyn, s->attr.body, &allocs, &stmts);
	if (allocs.n) {
		Expr *n = alloc_bytes(M, &allocs);
		report(M, no, n, n);
	}
	vec_free(&allocs);
	pmap_free(&stmts);
	return 0;
}

/* Merges the allocations of one kind in f, whose body is *body (f's own,
 * or the result of the merge before); 1 after an error. */
static int merge_func(Merger *M, Func *f, Stmt **body, int dyn)
{
	M->f = f;
	M->dyn = dyn;
	M->in_env = 0;
	M->fast_depth = 0;
	M->launch_no = 0;
	M->k = NULL;
	int n = count_allocs(dyn, *body);
	if (n <= 1) {
		if (n == 1 && pass_stats_on(M->cx)) {
			StatWalk sw = {M};
			Walker w = {.stmt = stat_stmt, .expr = pu_skip_expr, .data = &sw};
			walk_stmt(&w, *body);
		}
		return 0;
	}
	Mutator mu = {.a = M->a, .expr = rw_expr, .stmt = rw_stmt, .buffer = rw_buffer, .data = M};
	Stmt *b = mut_stmt(&mu, *body);
	mut_done(&mu);
	if (M->failed)
		return 1;
	*body = b;
	return 0;
}

int pass_merge_shared_memory(Module **m, PassCtx *cx)
{
	S_thread_extent = sym("thread_extent");
	S_virtual_thread = sym("virtual_thread");
	S_extern_scope = sym("extern_scope");
	S_shared = sym("shared");
	S_shared_dyn = sym("shared.dyn");
	S_buf_dyn_shmem = sym("buf_dyn_shmem");
	S_buf_shmem = sym("buf_shmem");
	OP_address_of = op_get("tirx.address_of");
	OP_access_ptr = op_get("tirx.tvm_access_ptr");
	OP_cp_async_raw = op_get("tirx.s_tir.cp_async_raw");

	int merge_static = 0;
	const char *v = pass_config(cx, "tirx.merge_static_smem");
	if (v) {
		if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "True"))
			merge_static = 1;
		else if (strcmp(v, "0") && strcmp(v, "false") && strcmp(v, "False")) {
			diag_error(NOLOC, "tirx.merge_static_smem: expected a boolean, got '%s'", v);
			return 1;
		}
	}
	Merger M = {.a = (*m)->arena, .cx = cx};
	int failed = 0;
	int lo, hi;
	pass_range(cx, *m, &lo, &hi);
	for (int i = lo; i < hi && !failed; i++) {
		Func *f = (*m)->funcs[i];
		Stmt *body = f->body;
		/* the dynamic merge runs first; the static one sees its result */
		failed = merge_func(&M, f, &body, 1) || (merge_static && merge_func(&M, f, &body, 0));
		/* functions, like nodes, are not changed in place */
		pu_set_body(*m, i, body);
	}
	kernel_free(&M.scratch);
	vec_free(&M.items);
	return failed;
}
