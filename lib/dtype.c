/* dtype.c: data types as DLPack triples (code, bits, lanes) and their names,
 * spelled as TVM/DLPack spell them ("float32x4", "float8_e4m3fn", "bool"). */
#include <stdlib.h>
#include <string.h>
#include "tir.h"

/* The custom float family, by code: the name prefix already includes bits. */
static const struct {
	int code, bits;
	const char *name;
} floats[] = {
	{DT_BFLOAT, 16, "bfloat16"},
	{DT_F8_E3M4, 8, "float8_e3m4"},
	{DT_F8_E4M3, 8, "float8_e4m3"},
	{DT_F8_E4M3B11FNUZ, 8, "float8_e4m3b11fnuz"},
	{DT_F8_E4M3FN, 8, "float8_e4m3fn"},
	{DT_F8_E4M3FNUZ, 8, "float8_e4m3fnuz"},
	{DT_F8_E5M2, 8, "float8_e5m2"},
	{DT_F8_E5M2FNUZ, 8, "float8_e5m2fnuz"},
	{DT_F8_E8M0FNU, 8, "float8_e8m0fnu"},
	{DT_F6_E2M3FN, 6, "float6_e2m3fn"},
	{DT_F6_E3M2FN, 6, "float6_e3m2fn"},
	{DT_F4_E2M1FN, 4, "float4_e2m1fn"},
};

DType dt_make(int code, int bits, int lanes)
{
	return (DType){(uint8_t)code, (uint8_t)bits, (uint16_t)lanes};
}

int dt_eq(DType a, DType b)
{
	return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

int dt_is_void(DType t)
{
	return t.code == DT_HANDLE && t.bits == 0;
}

int dt_is_int(DType t)
{
	return t.code == DT_INT || t.code == DT_UINT;
}

int dt_is_custom_float(DType t)
{
	return t.code == DT_BFLOAT || (t.code >= DT_F8_E3M4 && t.code <= DT_F4_E2M1FN);
}

int dt_is_float(DType t)
{
	return t.code == DT_FLOAT || dt_is_custom_float(t);
}

DType dt_with_lanes(DType t, int lanes)
{
	t.lanes = (uint16_t)lanes;
	return t;
}

DType dt_element(DType t)
{
	return dt_with_lanes(t, 1);
}

int dt_bytes(DType t)
{
	return ((int)t.bits * (int)t.lanes + 7) / 8;
}

/* Parses decimal digits s[0..n) into *v (1..65535); 0 on failure. */
static int digits(const char *s, size_t n, int *v)
{
	if (n == 0 || n > 5)
		return 0;
	int x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return x > 0 && x <= 65535;
}

static int prefix(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	return n >= k && memcmp(s, p, k) == 0;
}

int dt_parse(const char *s, size_t n, DType *out)
{
	int lanes = 1;
	/* a lanes suffix "x4"; names never contain 'x' followed by digits only */
	for (size_t i = n; i-- > 0;) {
		if (s[i] == 'x') {
			if (i + 1 < n && digits(s + i + 1, n - i - 1, &lanes))
				n = i;
			else
				lanes = 1;
			break;
		}
		if (s[i] < '0' || s[i] > '9')
			break;
	}
	if (n == 4 && memcmp(s, "bool", 4) == 0) {
		*out = dt_make(DT_BOOL, 1, lanes);
		return 1;
	}
	if (n == 6 && memcmp(s, "handle", 6) == 0 && lanes == 1) {
		*out = DT_HANDLE64;
		return 1;
	}
	if (n == 4 && memcmp(s, "void", 4) == 0 && lanes == 1) {
		*out = DT_VOID;
		return 1;
	}
	for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
		if (strlen(floats[i].name) == n && memcmp(s, floats[i].name, n) == 0) {
			*out = dt_make(floats[i].code, floats[i].bits, lanes);
			return 1;
		}
	}
	/* TVM's String2DLDataType: a missing bit width is the family's default
	 * (bfloat: 16; int, uint, float: 32 below), so "floatx4" is float32x4. */
	if ((n == 4 && memcmp(s, "bf16", 4) == 0) || (n == 6 && memcmp(s, "bfloat", 6) == 0)) {
		*out = dt_make(DT_BFLOAT, 16, lanes);
		return 1;
	}
	int code, bits = 32;
	size_t k;
	if (prefix(s, n, "uint"))
		code = DT_UINT, k = 4;
	else if (prefix(s, n, "int"))
		code = DT_INT, k = 3;
	else if (prefix(s, n, "float"))
		code = DT_FLOAT, k = 5;
	else if (prefix(s, n, "u"))
		code = DT_UINT, k = 1;
	else if (prefix(s, n, "i"))
		code = DT_INT, k = 1;
	else if (prefix(s, n, "f"))
		code = DT_FLOAT, k = 1;
	else
		return 0;
	if (k == n) {
		if (k == 1)
			return 0;
	} else if (!digits(s + k, n - k, &bits)) {
		return 0;
	}
	if (code == DT_FLOAT && bits != 16 && bits != 32 && bits != 64)
		return 0;
	if (code != DT_FLOAT && (bits < 1 || bits > 64))
		return 0;
	*out = dt_make(code, bits, lanes);
	return 1;
}

const char *dt_str(DType t, char *buf)
{
	const char *name = NULL;
	char tmp[24];
	switch (t.code) {
	case DT_INT:
		snprintf(tmp, sizeof tmp, "int%d", t.bits);
		name = tmp;
		break;
	case DT_UINT:
		snprintf(tmp, sizeof tmp, "uint%d", t.bits);
		name = tmp;
		break;
	case DT_FLOAT:
		snprintf(tmp, sizeof tmp, "float%d", t.bits);
		name = tmp;
		break;
	case DT_BOOL:
		name = "bool";
		break;
	case DT_HANDLE:
		name = t.bits == 0 ? "void" : "handle";
		break;
	default:
		for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
			if (floats[i].code == t.code)
				name = floats[i].name;
		if (!name) {
			snprintf(tmp, sizeof tmp, "custom%d_%d", t.code, t.bits);
			name = tmp;
		}
	}
	if (t.lanes > 1)
		snprintf(buf, 32, "%sx%d", name, t.lanes);
	else
		snprintf(buf, 32, "%s", name);
	return buf;
}
