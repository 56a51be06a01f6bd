/* dtype.h — the safetensors element types: names, sizes, and which ones are floating point.
 * Conversions between them live in cvt.h. */
#ifndef RECYCLE_DTYPE_H
#define RECYCLE_DTYPE_H

#include <stddef.h>

enum dtype {
	DT_BOOL, DT_U8, DT_I8, DT_U16, DT_I16, DT_U32, DT_I32, DT_U64, DT_I64,
	DT_F8_E4M3, DT_F8_E5M2, DT_F16, DT_BF16, DT_F32, DT_F64,
	DT_COUNT
};

/* "F32" → DT_F32 (the safetensors spelling); -1 when unknown. */
int dtype_parse(const char *s);
/* Also the user spellings f32, float32, fp32, f16, float16, fp16, half, bf16, bfloat16, f64,
 * float64, double (case-insensitive); -1 when unknown. */
int dtype_parse_user(const char *s);
const char *dtype_name(int dt);          /* "F32" */
const char *dtype_torch_name(int dt);    /* "float32", as config.json's torch_dtype spells it */
size_t dtype_size(int dt);               /* bytes per element */
/* Float types recycle computes on (F16, BF16, F32, F64). F8 types count as "other": copied,
 * never merged or converted. */
int dtype_is_float(int dt);

#endif
