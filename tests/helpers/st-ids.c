/* st-ids — a 2-D integer tensor of a safetensors file as task records, one row a line:
 *   st-ids FILE NAME [FIELD]   →   {"FIELD":[id, id, …]} (FIELD default text_ids)
 * For tests that score reference token ids through evalrun. */
#include <stdio.h>
#include <string.h>

#include "dtype.h"
#include "err.h"
#include "st.h"

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: st-ids FILE NAME [FIELD]\n");
		return 2;
	}
	st_ckpt *ck = st_open(argv[1]);
	const struct st_tensor *t = ck ? st_find(ck, argv[2]) : NULL;
	const void *p;
	if (!t || (t->dtype != DT_I64 && t->dtype != DT_I32) || t->ndim != 2 || st_seek(ck, t) < 0 ||
	    st_data(ck, &p) < 0) {
		fprintf(stderr, "st-ids: %s: %s: %s\n", argv[1], argv[2],
		        !ck || (t && err_get()[0]) ? err_get() : "no 2-D integer tensor of that name");
		return 1;
	}
	for (int64_t r = 0; r < t->shape[0]; r++) {
		printf("{\"%s\":[", argc > 3 ? argv[3] : "text_ids");
		for (int64_t c = 0; c < t->shape[1]; c++) {
			size_t i = (size_t)(r * t->shape[1] + c);
			long long v = t->dtype == DT_I64 ? ((const int64_t *)p)[i] : ((const int32_t *)p)[i];
			printf("%s%lld", c ? "," : "", v);
		}
		printf("]}\n");
	}
	st_close(ck);
	return fflush(stdout) || ferror(stdout);
}
