/* dtype.c — see dtype.h. */
#include <string.h>
#include <strings.h>

#include "dtype.h"

static const struct {
	const char *name, *torch;
	size_t size;
} dt[DT_COUNT] = {
	[DT_BOOL] = { "BOOL", "bool", 1 },     [DT_U8] = { "U8", "uint8", 1 },
	[DT_I8] = { "I8", "int8", 1 },         [DT_U16] = { "U16", "uint16", 2 },
	[DT_I16] = { "I16", "int16", 2 },      [DT_U32] = { "U32", "uint32", 4 },
	[DT_I32] = { "I32", "int32", 4 },      [DT_U64] = { "U64", "uint64", 8 },
	[DT_I64] = { "I64", "int64", 8 },      [DT_F8_E4M3] = { "F8_E4M3", "float8_e4m3fn", 1 },
	[DT_F8_E5M2] = { "F8_E5M2", "float8_e5m2", 1 },
	[DT_F16] = { "F16", "float16", 2 },    [DT_BF16] = { "BF16", "bfloat16", 2 },
	[DT_F32] = { "F32", "float32", 4 },    [DT_F64] = { "F64", "float64", 8 },
};

int dtype_parse(const char *s)
{
	for (int i = 0; i < DT_COUNT; i++)
		if (strcmp(s, dt[i].name) == 0)
			return i;
	return -1;
}

int dtype_parse_user(const char *s)
{
	static const struct { const char *s; int dt; } alias[] = {
		{ "f32", DT_F32 }, { "float32", DT_F32 }, { "fp32", DT_F32 }, { "float", DT_F32 },
		{ "f16", DT_F16 }, { "float16", DT_F16 }, { "fp16", DT_F16 }, { "half", DT_F16 },
		{ "bf16", DT_BF16 }, { "bfloat16", DT_BF16 },
		{ "f64", DT_F64 }, { "float64", DT_F64 }, { "fp64", DT_F64 }, { "double", DT_F64 },
	};
	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
		if (strcasecmp(s, alias[i].s) == 0)
			return alias[i].dt;
	return -1;
}

const char *dtype_name(int d) { return d >= 0 && d < DT_COUNT ? dt[d].name : "?"; }
const char *dtype_torch_name(int d) { return d >= 0 && d < DT_COUNT ? dt[d].torch : "?"; }
size_t dtype_size(int d) { return d >= 0 && d < DT_COUNT ? dt[d].size : 0; }

int dtype_is_float(int d) { return d == DT_F16 || d == DT_BF16 || d == DT_F32 || d == DT_F64; }
