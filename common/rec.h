/* rec.h — NDJSON records (wire format 2): reading one JSON object a line, writing them back with
 * every field kept, numbers that round-trip exactly and no bare NaN/Infinity.
 *
 * Records are json-c objects. A parsed number keeps its original text, so a field a tool does not
 * touch is written back byte for byte; a number a tool sets goes through rec_double(). */
#ifndef RECYCLE_REC_H
#define RECYCLE_REC_H

#include <stdio.h>
#include <json-c/json.h>

typedef struct rec_reader rec_reader;

/* path "-" is standard input. NULL on error (err_get()). */
rec_reader *rec_open(const char *path);
rec_reader *rec_open_file(FILE *f, const char *name);   /* does not own f */
/* 1 and *out (caller puts it) for a record, 0 at end, -1 on error: "name:LINE: why".
 * Blank lines are skipped; a line that is not a JSON object is an error. */
int rec_next(rec_reader *r, json_object **out);
long rec_lineno(const rec_reader *r);
const char *rec_name(const rec_reader *r);
void rec_close(rec_reader *r);

/* One JSON value from a whole file ("-" = stdin), e.g. a candidate record or a state file. */
json_object *rec_load(const char *path);

/* A record as one line on f; -1 on a write error. */
int rec_write(FILE *f, json_object *o);
/* The text of a record without newline (valid until o changes or is freed). */
const char *rec_str(json_object *o);
/* A double that prints the shortest text reading back to the same value (at most 17 significant
 * digits); NaN and ±Inf become JSON null (NULL). */
json_object *rec_double(double v);
/* Shortest round-trip text of v into buf (size ≥ 32); "null" for non-finite values. */
const char *rec_fmt_double(char *buf, double v);

/* Dotted path lookup: "scores.add" → o["scores"]["add"]. rec_lookup returns 1 when present
 * (*out may then be NULL: JSON null), 0 when absent; rec_path gives NULL for both. */
int rec_lookup(json_object *o, const char *path, json_object **out);
json_object *rec_path(json_object *o, const char *path);
/* Number at a dotted path: 0 and *v, or -1 (err_set: missing / not a number). A JSON null reads
 * as NaN. */
int rec_number(json_object *o, const char *path, double *v);
/* Set o[key] = v (replacing), taking ownership of v. */
void rec_set(json_object *o, const char *key, json_object *v);

/* Typed fields of a JSON object, for readers of state files, configs and records. Each returns 1
 * with *v set when the field is there and valid, 0 (*v untouched) when it is absent or null and
 * the flags allow that, and -1 with a message naming the field otherwise:
 *   missing field "K" · field "K" is not an integer · field "K" is out of range LO..HI
 * Doubles must be finite. Bounds are inclusive; for doubles REC_OPEN_LO excludes lo (sigma > 0). */
#define REC_OPTIONAL 1   /* the field may be absent */
#define REC_NULLABLE 2   /* the field may be JSON null */
#define REC_INTEGRAL 4   /* rec_get_int: a number without fraction (4096.0) is an integer too */
#define REC_OPEN_LO  8   /* rec_get_double: lo itself is out of range */
int rec_get_int(json_object *o, const char *key, int flags, long long lo, long long hi, long long *v);
int rec_get_double(json_object *o, const char *key, int flags, double lo, double hi, double *v);
int rec_get_bool(json_object *o, const char *key, int flags, int *v);
/* A string of at most maxlen bytes; *v points into o. */
int rec_get_str(json_object *o, const char *key, int flags, size_t maxlen, const char **v);
/* One of names[0..count): *v its index. "field "K": unknown value "S"" otherwise. */
int rec_get_enum(json_object *o, const char *key, int flags, const char *const *names, int count, int *v);
int rec_get_object(json_object *o, const char *key, int flags, json_object **v);
/* An array of minlen..maxlen elements. */
int rec_get_array(json_object *o, const char *key, int flags, size_t minlen, size_t maxlen, json_object **v);
/* An array of exactly n finite numbers into v[0..n): "field "K" is not an array of N numbers",
 * "field "K": element I is not a finite number". With REC_NULLABLE a null element reads as NaN.
 * rec_doubles reads the array a itself (key names it in messages). */
int rec_get_doubles(json_object *o, const char *key, int flags, double *v, size_t n);
int rec_doubles(json_object *a, const char *key, int flags, double *v, size_t n);
/* A JSON number (integer or not) as a double: 0, or -1 without a message for anything else. */
int rec_as_double(json_object *x, double *v);

#endif
