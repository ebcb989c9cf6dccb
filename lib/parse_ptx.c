/* parse_ptx.c: reading TVM 0.27's table-driven T.ptx calls.
 *
 * TVM prints every T.ptx instruction as `T.ptx.<family>(operands...,
 * tokens..., flags)`: one string per modifier slot of the table entry (""
 * for an optional slot left out) and a flags string ("pred" when the last
 * operand is a predicate, "p<i>" when operand i is a .pred register, ...).
 * Users write the attribute-chain form `T.ptx.cp.async_.ca.shared.global_(
 * dst, src, 16)`, whose attributes are the tokens in any order (Python
 * keywords get a trailing '_', "::" is written "__").
 *
 * What is read (lib/ops.c has the op side):
 *   - the printed form of every family: kept as the family op with its
 *     arguments as written, or, for the entries tirxc models (cp.async),
 *     resolved to TVM's entry op with its operands coerced as TVM's parser
 *     coerces them (a pointer in a shared address slot is wrapped in
 *     T.cuda.cvta_generic_to_shared, literals get the operand's type), so
 *     that the module equals what TVM reads from the same text;
 *   - the attribute-chain form, for the modelled entries only; any other
 *     chain is refused (the table that would give its slots is TVM's);
 *   - the pre-0.27 spellings of the modelled ops (T.ptx_commit_group(),
 *     T.ptx.cp_async_wait_group(0), ...): their tokens and flags are added.
 * Anything else is a located error. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "tir.h"
#include "parse.h"

static int npos_(Node *call)
{
	int k = 0;
	for (int i = 0; i < call->n; i++)
		if (!call->kw || !call->kw[i])
			k++;
	return k;
}

static Node *pos_(Node *call, int k)
{
	for (int i = 0; i < call->n; i++)
		if ((!call->kw || !call->kw[i]) && k-- == 0)
			return call->a[i];
	return NULL;
}

/* An operand's value, and whether it was a bare Python literal. */
typedef struct Opnd {
	Node *n;
	Expr *e;
	int lit_int, lit_bool;
} Opnd;

static int is_type(const Expr *e, int code, int bits)
{
	TType t = ex_type(e);
	return t.kind == TY_PRIM && t.dt.code == code && t.dt.bits == bits && t.dt.lanes == 1;
}

static int imm_allowed(const char *list, int64_t v)
{
	char b[24];
	snprintf(b, sizeof b, "%lld", (long long)v);
	return ptx_slot_accepts(list, b);
}

/* Coerces operand o for an operand of kind k of entry e, as TVM's T.ptx
 * does; NULL and *why set when it does not fit.  tagged: the flags mark the
 * operand as a .pred register (the printed form of T.ptx.pred(x)). */
static Expr *coerce(P *p, const PtxEntry *e, char k, Opnd *o, int tagged, const char **why)
{
	Arena *A = p->A;
	Expr *x = o->e;
	TType t = ex_type(x);
	switch (k) {
	case 's':
		if (t.kind == TY_PTR) {
			const Op *cvta = op_get("tirx.cuda.cvta_generic_to_shared");
			Expr **a = ar_alloc(A, sizeof *a);
			a[0] = x;
			return ex_call(A, cvta, ty_prim(dt_make(DT_UINT, 32, 1)), a, 1);
		}
		if (!o->lit_int && is_type(x, DT_UINT, 32))
			return x;
		*why = "a shared address operand takes a pointer or a uint32 shared address";
		return NULL;
	case 'g':
		if (t.kind == TY_PTR && strncmp(t.scope ? t.scope : "global", "shared", 6) != 0)
			return x;
		*why = t.kind == TY_PTR ? "a global address operand does not take a shared-scope pointer"
		                        : "a global address operand takes a pointer";
		return NULL;
	case 'i': {
		int64_t v;
		if (!o->lit_bool && x->kind == EX_INT && dt_is_int(x->dt) && ex_is_const_int(x, &v)) {
			if (e->imm && !imm_allowed(e->imm, v)) {
				*why = "the immediate operand is not one of the values the instruction allows";
				return NULL;
			}
			if (v < INT32_MIN || v > INT32_MAX) {
				*why = "the immediate operand is out of the int32 range";
				return NULL;
			}
			return ex_int(A, DT_I32, v);
		}
		if (!e->imm && !o->lit_bool && dt_is_int(x->dt) && x->dt.lanes == 1 && t.kind == TY_PRIM)
			return x; /* an open immediate: an unrolled loop may make it constant */
		*why = "the immediate operand must be an integer constant";
		return NULL;
	}
	case 'u':
	case 'c': {
		int bits = k == 'u' ? 32 : 64;
		if (o->lit_int && x->kind == EX_INT && x->i >= 0 && (bits == 64 || x->i <= (int64_t)UINT32_MAX))
			return ex_int(A, dt_make(DT_UINT, bits, 1), x->kind == EX_INT ? x->i : 0);
		if (!o->lit_bool && is_type(x, DT_UINT, bits))
			return x;
		*why = k == 'u' ? "a .u32 operand takes a uint32 value" : "the cache policy takes a uint64 value";
		return NULL;
	}
	case 'p':
		if (o->lit_bool || (tagged && o->lit_int))
			return ex_int(A, dt_make(DT_UINT, 32, 1), x->kind == EX_INT ? x->i : 0);
		if (is_type(x, DT_BOOL, 1))
			return x;
		if (tagged && (is_type(x, DT_UINT, 32) || is_type(x, DT_INT, 32)))
			return x;
		*why = "a .pred operand takes a bool value";
		return NULL;
	}
	*why = "unknown operand kind";
	return NULL;
}

/* The family op of entry e. */
static const Op *family_op(const PtxEntry *e)
{
	char b[64];
	snprintf(b, sizeof b, "tirx.ptx.%s", e->family);
	return op_get(b);
}

static int family_modelled(const char *fam)
{
	for (int i = 0; i < ptx_entry_count(); i++)
		if (!strcmp(ptx_entry_at(i)->family, fam))
			return 1;
	return 0;
}

static void read_opnd(P *p, Node *n, Opnd *o)
{
	o->n = n;
	o->e = ev_arg(p, n);
	o->lit_int = n->kind == N_INT || (n->kind == N_UNARY && n->x->kind == N_INT);
	o->lit_bool = n->kind == N_BOOL;
}

/* The call of entry e: operands ops[0..nops) (already counted against the
 * entry), the predicate (or NULL), the slot tokens; tagged: the operands the
 * flags mark as .pred.  NULL and *why when an operand does not fit. */
static Expr *build(P *p, const PtxEntry *e, Opnd *ops, int nops, Opnd *pred, const char *const *toks,
                   uint32_t tagged, const char **why, Loc *where)
{
	char kinds[PTX_MAXOPERANDS + 1];
	ptx_operands(e, toks, kinds);
	int n = nops + (pred != NULL) + e->nslots + 1;
	Expr **args = ar_alloc(p->A, (size_t)n * sizeof *args);
	char flags[8 + 4 * PTX_MAXOPERANDS] = "";
	size_t fl = 0;
	if (pred)
		fl += (size_t)snprintf(flags + fl, sizeof flags - fl, "pred");
	for (int i = 0; i < nops; i++) {
		*where = ops[i].n->loc;
		if (!(args[i] = coerce(p, e, kinds[i], &ops[i], (tagged >> i) & 1, why)))
			return NULL;
		if (kinds[i] == 'p')
			fl += (size_t)snprintf(flags + fl, sizeof flags - fl, "%sp%d", fl ? "," : "", i);
	}
	int j = nops;
	if (pred) {
		Expr *x = pred->e;
		*where = pred->n->loc;
		if (pred->lit_bool)
			x = ex_int(p->A, dt_make(DT_BOOL, 1, 1), x->kind == EX_INT ? x->i : 0);
		else if (pred->lit_int || !(is_type(x, DT_BOOL, 1) || is_type(x, DT_UINT, 32) || is_type(x, DT_INT, 32))) {
			*why = "the predicate takes a bool, uint32 or int32 value";
			return NULL;
		}
		args[j++] = x;
	}
	for (int i = 0; i < e->nslots; i++)
		args[j++] = ex_str(p->A, sym(toks[i]));
	args[j++] = ex_str(p->A, sym(flags));
	return ex_call(p->A, op_get(e->op), ty_void(), args, j);
}

/* "global_" -> "global", "shared__cta" -> "shared::cta" (TVM's escape of
 * a token as a Python attribute), into buf. */
static const char *unescape(const char *s, char *buf, size_t cap)
{
	size_t j = 0;
	for (size_t i = 0; s[i] && j + 2 < cap;) {
		if (!strncmp(s + i, "__colon__", 9)) {
			buf[j++] = ':', i += 9;
		} else if (s[i] == '_' && s[i + 1] == '_') {
			buf[j++] = ':', buf[j++] = ':', i += 2;
		} else {
			buf[j++] = s[i++];
		}
	}
	if (j && buf[j - 1] == '_')
		j--;
	buf[j] = 0;
	return buf;
}

/* The attribute-chain form: fam, the tokens toks[0..ntok) (unescaped), the
 * call's positional operands and pred=. */
static Expr *chain_call(P *p, Node *call, const char *spell, const Op *fop, char toks[][48], int ntok)
{
	const char *fam = fop->name + 9;
	static const char *const kws[] = {"pred", NULL};
	check_args(p, call, 0, -1, kws);
	if (!family_modelled(fam))
		perr(p, call->loc,
		     "T.%s: the attribute-chain form of T.ptx is read only for the cp.async instructions; "
		     "write the form TVM prints, T.%s(operands..., modifier tokens..., flags)",
		     spell, fop->script);
	int k = npos_(call);
	if (k > PTX_MAXOPERANDS)
		perr(p, call->loc, "T.%s: too many operands (%d)", spell, k);
	Opnd ops[PTX_MAXOPERANDS], pr;
	for (int i = 0; i < k; i++)
		read_opnd(p, pos_(call, i), &ops[i]);
	Node *pn = kwarg(call, "pred");
	if (pn)
		read_opnd(p, pn, &pr);
	const char *why = NULL, *last_why = NULL;
	Loc where = call->loc, last_where = call->loc;
	int fits = 0;
	Expr *got = NULL;
	for (int c = 0; c < ptx_entry_count(); c++) {
		const PtxEntry *e = ptx_entry_at(c);
		if (strcmp(e->family, fam) != 0)
			continue;
		const char *filled[PTX_MAXSLOTS] = {0};
		int ok = 1;
		for (int t = 0; t < ntok && ok; t++) {
			ok = 0;
			for (int s = 0; s < e->nslots && !ok; s++)
				if (!filled[s] && ptx_slot_accepts(e->slots[s], toks[t]))
					filled[s] = toks[t], ok = 1;
		}
		for (int s = 0; s < e->nslots && ok; s++) {
			if (!filled[s] && e->slots[s][0] != '?')
				ok = 0;
			if (!filled[s])
				filled[s] = "";
		}
		if (!ok)
			continue;
		char kinds[PTX_MAXOPERANDS + 1];
		if ((int)strlen(ptx_operands(e, filled, kinds)) != k)
			continue;
		fits++;
		Expr *r = build(p, e, ops, k, pn ? &pr : NULL, filled, 0, &why, &where);
		if (!r) {
			last_why = why, last_where = where;
			continue;
		}
		if (got)
			perr(p, call->loc, "T.%s: the operands fit more than one PTX instruction", spell);
		got = r;
	}
	if (got)
		return got;
	if (fits == 1 || (fits && last_why))
		perr(p, last_where, "T.%s: %s", spell, last_why);
	perr(p, call->loc,
	     "T.%s: no cp.async instruction of TVM 0.27 takes these modifiers and %d operand%s",
	     spell, k, k == 1 ? "" : "s");
}

Expr *ptx_chain(P *p, Node *call, const char *path)
{
	/* path: "ptx.<family>.<token>..." */
	char toks[PTX_MAXSLOTS + 2][48], fam[48];
	const char *s = path + 4;
	size_t l = strcspn(s, ".");
	if (l >= sizeof fam)
		perr(p, call->loc, "unknown op 'T.%s'", path);
	memcpy(fam, s, l);
	fam[l] = 0;
	char ufam[48];
	unescape(fam, ufam, sizeof ufam);
	char b[64];
	snprintf(b, sizeof b, "ptx.%s", ufam);
	const Op *op = op_find(b, strlen(b));
	if (!op || !ptx_is_family(op))
		perr(p, call->loc, "unknown op 'T.%s': '%s' is not a PTX instruction family of TVM 0.27", path, fam);
	int n = 0;
	for (s += l; *s == '.';) {
		s++;
		l = strcspn(s, ".");
		char raw[48];
		if (n == PTX_MAXSLOTS + 2 || l >= sizeof raw)
			perr(p, call->loc, "T.%s: too many or too long modifiers", path);
		memcpy(raw, s, l);
		raw[l] = 0;
		unescape(raw, toks[n++], sizeof toks[0]);
		s += l;
	}
	return chain_call(p, call, path, op, toks, n);
}

Expr *ptx_call(P *p, Node *call, const Op *op, const char *spell)
{
	int fam = ptx_is_family(op);
	const PtxEntry *e = fam ? NULL : ptx_entry_of(op);
	int k = npos_(call);
	int nstr = 0;
	while (nstr < k && pos_(call, k - 1 - nstr)->kind == N_STR)
		nstr++;
	if (fam && nstr == 0) {
		if (family_modelled(op->name + 9))
			return chain_call(p, call, spell, op, NULL, 0);
		Node *a0 = pos_(call, 0);
		if (a0 && a0->kind == N_STR && (!strcmp(op->name, "tirx.ptx.ldmatrix") || !strcmp(op->name, "tirx.ptx.mma")))
			perr(p, call->loc,
			     "T.%s: the pre-0.27 form with the dtype first is not read; TVM 0.27 spells it T.ptx_legacy.%s(...)",
			     spell, op->name + 9);
		perr(p, call->loc,
		     "T.%s: a T.ptx instruction is read in the form TVM 0.27 prints, "
		     "T.%s(operands..., modifier tokens..., flags), and this call ends without the flags string",
		     spell, op->script);
	}
	check_args(p, call, 0, -1, NULL);
	if (k > 64)
		perr(p, call->loc, "T.%s: too many arguments (%d)", spell, k);
	Expr **args = ar_alloc(p->A, (size_t)(k ? k : 1) * sizeof *args);
	Opnd ops[64];
	for (int i = 0; i < k; i++) {
		read_opnd(p, pos_(call, i), &ops[i]);
		args[i] = ops[i].e;
	}
	const Op *fop = fam ? op : family_op(e);
	const char *toks[PTX_MAXSLOTS];
	if (!fam && nstr == 0) {
		/* a pre-0.27 spelling: the slots are fixed, the flags empty */
		char kinds[PTX_MAXOPERANDS + 1];
		for (int i = 0; i < e->nslots; i++)
			toks[i] = e->slots[i];
		int want = (int)strlen(ptx_operands(e, toks, kinds));
		if (k != want)
			perr(p, call->loc, "T.%s takes %d argument%s (%d given)", spell, want, want == 1 ? "" : "s", k);
		const char *why = NULL;
		Loc where = call->loc;
		Expr *r = build(p, e, ops, k, NULL, toks, 0, &why, &where);
		if (!r)
			perr(p, where, "T.%s: %s", spell, why);
		return r;
	}
	const Op *rop = ptx_resolve(fop, args, k);
	if (!rop) {
		if (!fam)
			perr(p, call->loc, "T.%s: the arguments do not fit TVM 0.27's %s", spell, op->name);
		/* a family tirxc does not model, or a cp call that fits no modelled
		 * entry: kept as written unless its tokens name a modelled entry */
		for (int i = 0; i < ptx_entry_count(); i++) {
			const PtxEntry *c = ptx_entry_at(i);
			if (strcmp(c->family, fop->name + 9) != 0 || c->nslots != nstr - 1)
				continue;
			int ok = 1;
			for (int j = 0; j < c->nslots && ok; j++)
				ok = ptx_slot_accepts(c->slots[j], args[k - nstr + j]->s);
			if (ok)
				perr(p, call->loc, "T.%s: the operands or flags do not fit TVM 0.27's %s", spell, c->op);
		}
		return ex_call(p->A, op, ty_void(), args, k);
	}
	if (!fam && rop != op)
		perr(p, call->loc, "T.%s: the arguments are those of %s", spell, rop->name);
	e = ptx_entry_of(rop);
	/* the printed form: the entry's modifier slots, then one flags string */
	if (nstr != e->nslots + 1)
		perr(p, call->loc, "T.%s: %s takes %d modifier strings and a flags string (%d strings given)",
		     spell, rop->name, e->nslots, nstr);
	int pred = 0;
	uint32_t tagged = 0;
	const char *f = args[k - 1]->s;
	pred = strstr(f, "pred") != NULL;
	for (int i = 0; i < e->nslots; i++)
		toks[i] = args[k - nstr + i]->s;
	int nops = k - nstr - pred;
	char kinds[PTX_MAXOPERANDS + 1];
	ptx_operands(e, toks, kinds);
	for (int i = 0; i < nops; i++)
		if (kinds[i] == 'p')
			tagged |= 1u << i; /* resolve checked the flags mark exactly these */
	const char *why = NULL;
	Loc where = call->loc;
	Expr *r = build(p, e, ops, nops, pred ? &ops[nops] : NULL, toks, tagged, &why, &where);
	if (!r)
		perr(p, where, "T.%s: %s", spell, why);
	return r;
}
