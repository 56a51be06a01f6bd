/* st_index.c — libFuzzer target: the Hugging Face index reader. A scratch directory holds two
 * valid shards, a third file repeating a tensor of the first, a file that is not safetensors and
 * a config.json; the input becomes model.safetensors.index.json and st_open reads the directory
 * (weight_map, shard names, the shards' agreement with the index), then every tensor is read. */
#include "fuzz.h"

/* NAME: a safetensors file from its header text and data */
static size_t fz_shard(const char *dir, const char *name, const char *hdr, const char *data, size_t ndata)
{
	char path[256];
	uint8_t buf[512];
	size_t h = strlen(hdr);
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)((uint64_t)h >> (8 * i));
	memcpy(buf + 8, hdr, h);
	memcpy(buf + 8 + h, data, ndata);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	fz_put_file(path, buf, 8 + h + ndata);
	return 8 + h + ndata;
}

static void fz_st_index(const uint8_t *d, size_t n)
{
	static size_t files;          /* bytes in the shards: no tensor data can be more */
	char path[256];
	const char *dir = fz_dir();
	if (!files) {
		files += fz_shard(dir, "model-00001-of-00002.safetensors",
		                  "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		                  "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[8,14]}}",
		                  "\0\0\200?\0\0\0@\200?\0@@@", 14);
		files += fz_shard(dir, "model-00002-of-00002.safetensors",
		                  "{\"c\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"
		                  "\"e\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}",
		                  "\1\2\3\4", 4);
		files += fz_shard(dir, "extra.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", "x", 1);
		snprintf(path, sizeof path, "%s/broken.safetensors", dir);
		fz_put_file(path, "not safetensors", 15);
		snprintf(path, sizeof path, "%s/config.json", dir);
		fz_put_file(path, "{\"model_type\":\"llama\"}\n", 23);
		files += 15 + 23;
	}
	snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
	fz_put_file(path, d, n);
	fz_err_clear();
	st_ckpt *ck = st_open(dir);
	if (!ck) {
		fz_check_error("st_open (index)", n);
		return;
	}
	FZ_CHECK(st_dir(ck) != NULL, "a directory without st_dir");
	FZ_CHECK(st_config(ck) != NULL, "the directory's config.json was not read");
	fz_err_clear();
	if (fz_drain(ck, files, UINT64_MAX, fz_hash(d, n)) < 0)
		FZ_CHECK(0, "reading validated mapped shards failed: %s", err_get());
	st_close(ck);
}
FZ_TARGET(st_index)
