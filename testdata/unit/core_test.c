/* Unit tests for the core layer: arenas, symbols, data types, dicts. */
#include <string.h>
#include "unit.h"
#include "tir.h"

UNIT_TEST(sym_interning)
{
	CHECK(sym("abc") == sym("abc"));
	CHECK(sym("abc") != sym("abd"));
	CHECK(symn("a\0b", 3) != sym("a"));
	CHECK(sym_len(symn("a\0b", 3)) == 3);
	char big[5000];
	memset(big, 'x', sizeof big);
	CHECK(symn(big, sizeof big) == symn(big, sizeof big));
}

UNIT_TEST(arena_alignment_and_big_blocks)
{
	Arena *a = ar_new();
	for (int i = 1; i < 200; i++) {
		char *p = ar_alloc(a, (size_t)i * 37);
		CHECK(((uintptr_t)p & 7) == 0); /* the documented alignment */
		CHECK(p[0] == 0 && p[i * 37 - 1] == 0);
		memset(p, 0xab, (size_t)i * 37);
	}
	char *big = ar_alloc(a, 1 << 20);
	CHECK(big[(1 << 20) - 1] == 0);
	CHECK(ar_bytes(a) >= (1 << 20));
	ar_free(a);
}

static int parses_as(const char *s, const char *canon)
{
	DType t;
	char buf[32];
	if (!dt_parse(s, strlen(s), &t))
		return canon == NULL;
	return canon && strcmp(dt_str(t, buf), canon) == 0;
}

UNIT_TEST(dtype_names)
{
	CHECK(parses_as("float32", "float32"));
	CHECK(parses_as("float32x4", "float32x4"));
	CHECK(parses_as("int1", "int1"));
	CHECK(parses_as("uint64", "uint64"));
	CHECK(parses_as("bool", "bool"));
	CHECK(parses_as("boolx4", "boolx4"));
	CHECK(parses_as("bfloat16", "bfloat16"));
	CHECK(parses_as("float8_e4m3fn", "float8_e4m3fn"));
	CHECK(parses_as("float8_e5m2x8", "float8_e5m2x8"));
	CHECK(parses_as("float8_e8m0fnu", "float8_e8m0fnu"));
	CHECK(parses_as("float4_e2m1fn", "float4_e2m1fn"));
	CHECK(parses_as("handle", "handle"));
	CHECK(parses_as("void", "void"));
	CHECK(parses_as("f32", "float32"));
	CHECK(parses_as("i64", "int64"));
	CHECK(parses_as("u8", "uint8"));
	CHECK(parses_as("int", "int32"));
	CHECK(parses_as("float", "float32"));
	/* as TVM: a missing width is the default, and x32 is the lanes */
	CHECK(parses_as("floatx4", "float32x4"));
	CHECK(parses_as("floatx32", "float32x32"));
	CHECK(parses_as("intx4", "int32x4"));
	CHECK(parses_as("bfloatx2", "bfloat16x2"));
	CHECK(parses_as("ix4", NULL));
	CHECK(parses_as("floatx", NULL));
	CHECK(parses_as("float24", NULL));
	CHECK(parses_as("int65", NULL));
	CHECK(parses_as("int0", NULL));
	CHECK(parses_as("float32x0", NULL));
	CHECK(parses_as("", NULL));
	CHECK(parses_as("x4", NULL));
	CHECK(parses_as("handlex2", NULL));
	CHECK(dt_bytes(dt_make(DT_FLOAT, 16, 8)) == 16);
	CHECK(dt_bytes(DT_BOOL1) == 1);
	CHECK(dt_bytes(dt_make(DT_F4_E2M1FN, 4, 2)) == 1);
	CHECK(dt_is_float(dt_make(DT_BFLOAT, 16, 1)));
	CHECK(!dt_is_float(DT_I32));
}

UNIT_TEST(dict_set_get_del)
{
	Arena *a = ar_new();
	Obj *d = obj_dict_set(a, NULL, "b", obj_int(a, 1));
	d = obj_dict_set(a, d, "a", obj_int(a, 2));
	Obj *d2 = obj_dict_set(a, d, "b", obj_int(a, 3));
	CHECK(obj_dict_get(d, "b")->i == 1);
	CHECK(obj_dict_get(d2, "b")->i == 3);
	CHECK(d2->dict.n == 2);
	Obj *d3 = obj_dict_del(a, d2, "b");
	CHECK(d3->dict.n == 1 && obj_dict_get(d3, "b") == NULL);
	CHECK(obj_dict_get(d3, "a")->i == 2);
	ar_free(a);
}
