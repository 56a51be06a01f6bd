/* st-gen — writes deterministic pseudo-random checkpoints for tests and benchmarks.
 *
 *   st-gen [--seed S] [-t DTYPE] [--scale X]
 *          [--llama hidden=H,layers=L,vocab=V,ff=F[,heads=A,kv=K,tie=1,qkvbias=1]]
 *          [--tensor NAME:DTYPE:D0xD1x...]... [--shard-size SIZE] [--config FILE] -o PATH|-
 *
 * Values are scale × (uniform in [-1,1)), from a splitmix64 stream seeded by S and the tensor's
 * name, so one tensor's values do not depend on which other tensors exist. Integer tensors get
 * small integers. --llama adds the tensors of a Llama model with Hugging Face names (and writes its
 * config.json when the output is a directory); tie=1 leaves lm_head out (tied embeddings),
 * qkvbias=1 adds q/k/v projection biases (a Qwen2: give its config.json with --config). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvt.h"
#include "dtype.h"
#include "err.h"
#include "rng.h"
#include "st.h"

struct spec { char name[200]; int dtype, ndim; int64_t shape[ST_MAX_DIMS]; };
static struct spec *specs;
static size_t nspecs;

static void add(const char *name, int dt, int ndim, const int64_t *shape)
{
	specs = xrealloc(specs, (nspecs + 1) * sizeof *specs);
	struct spec *s = &specs[nspecs++];
	snprintf(s->name, sizeof s->name, "%s", name);
	s->dtype = dt;
	s->ndim = ndim;
	memcpy(s->shape, shape, (size_t)ndim * sizeof *shape);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", 1, 0, 's' }, { "dtype", 1, 0, 't' }, { "scale", 1, 0, 'S' }, { "llama", 1, 0, 'L' },
		{ "tensor", 1, 0, 'T' }, { "shard-size", 1, 0, 'z' }, { "output", 1, 0, 'o' }, { "config", 1, 0, 'c' }, { 0 }
	};
	uint64_t seed = 1, shard = 0;
	int dt = DT_BF16, c;
	double scale = 0.02;
	const char *outp = NULL, *cfgfile = NULL;
	char config[1024] = "";
	prog_init(argv[0]);
	while ((c = getopt_long(argc, argv, "s:t:o:", lo, NULL)) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 't': if ((dt = dtype_parse_user(optarg)) < 0) usage_err("bad dtype %s", optarg); break;
		case 'S': scale = atof(optarg); break;
		case 'o': outp = optarg; break;
		case 'c': cfgfile = optarg; break;
		case 'z': if (st_parse_size(optarg, &shard) < 0) usage_err("bad size %s", optarg); break;
		case 'T': {
			char name[200], dts[32], dims[200];
			if (sscanf(optarg, "%199[^:]:%31[^:]:%199s", name, dts, dims) < 2)
				usage_err("bad --tensor %s", optarg);
			int d = dtype_parse_user(dts);
			if (d < 0)
				d = dtype_parse(dts);
			if (d < 0)
				usage_err("bad dtype in %s", optarg);
			int64_t shape[ST_MAX_DIMS];
			int nd = 0;
			if (strchr(optarg + strlen(name) + strlen(dts) + 1, ':'))
				for (char *p = dims; *p && nd < ST_MAX_DIMS; ) {
					shape[nd++] = strtoll(p, &p, 10);
					if (*p == 'x')
						p++;
				}
			add(name, d, nd, shape);
			break;
		}
		case 'L': {
			int h = 64, l = 2, v = 256, f = 128, a = 4, k = 0, tie = 0, qkvb = 0;
			for (char *p = optarg; *p; ) {
				char key[32];
				int val, n;
				if (sscanf(p, "%31[^=]=%d%n", key, &val, &n) != 2)
					usage_err("bad --llama %s", optarg);
				if (!strcmp(key, "hidden")) h = val;
				else if (!strcmp(key, "layers")) l = val;
				else if (!strcmp(key, "vocab")) v = val;
				else if (!strcmp(key, "ff")) f = val;
				else if (!strcmp(key, "heads")) a = val;
				else if (!strcmp(key, "kv")) k = val;
				else if (!strcmp(key, "tie")) tie = val;
				else if (!strcmp(key, "qkvbias")) qkvb = val;
				else usage_err("bad --llama key %s", key);
				p += n;
				if (*p == ',')
					p++;
			}
			if (!k)
				k = a;
			int hd = h / a;
			char nm[200];
			add("model.embed_tokens.weight", dt, 2, (int64_t[]){ v, h });
			for (int i = 0; i < l; i++) {
				snprintf(nm, sizeof nm, "model.layers.%d.input_layernorm.weight", i);
				add(nm, dt, 1, (int64_t[]){ h });
				snprintf(nm, sizeof nm, "model.layers.%d.self_attn.q_proj.weight", i);
				add(nm, dt, 2, (int64_t[]){ (int64_t)a * hd, h });
				snprintf(nm, sizeof nm, "model.layers.%d.self_attn.k_proj.weight", i);
				add(nm, dt, 2, (int64_t[]){ (int64_t)k * hd, h });
				snprintf(nm, sizeof nm, "model.layers.%d.self_attn.v_proj.weight", i);
				add(nm, dt, 2, (int64_t[]){ (int64_t)k * hd, h });
				for (int b = 0; qkvb && b < 3; b++) {
					snprintf(nm, sizeof nm, "model.layers.%d.self_attn.%c_proj.bias", i, "qkv"[b]);
					add(nm, dt, 1, (int64_t[]){ (int64_t)(b ? k : a) * hd });
				}
				snprintf(nm, sizeof nm, "model.layers.%d.self_attn.o_proj.weight", i);
				add(nm, dt, 2, (int64_t[]){ h, (int64_t)a * hd });
				snprintf(nm, sizeof nm, "model.layers.%d.post_attention_layernorm.weight", i);
				add(nm, dt, 1, (int64_t[]){ h });
				snprintf(nm, sizeof nm, "model.layers.%d.mlp.gate_proj.weight", i);
				add(nm, dt, 2, (int64_t[]){ f, h });
				snprintf(nm, sizeof nm, "model.layers.%d.mlp.up_proj.weight", i);
				add(nm, dt, 2, (int64_t[]){ f, h });
				snprintf(nm, sizeof nm, "model.layers.%d.mlp.down_proj.weight", i);
				add(nm, dt, 2, (int64_t[]){ h, f });
			}
			add("model.norm.weight", dt, 1, (int64_t[]){ h });
			if (!tie)
				add("lm_head.weight", dt, 2, (int64_t[]){ v, h });
			snprintf(config, sizeof config,
			         "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"hidden_size\":%d,"
			         "\"intermediate_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":%d,"
			         "\"num_key_value_heads\":%d,\"vocab_size\":%d,\"rms_norm_eps\":1e-05,\"rope_theta\":10000.0,"
			         "\"max_position_embeddings\":512,\"tie_word_embeddings\":%s,\"hidden_act\":\"silu\","
			         "\"torch_dtype\":\"%s\"}", h, f, l, a, k, v, tie ? "true" : "false", dtype_torch_name(dt));
			break;
		}
		default:
			usage_err("see the comment at the top of tests/helpers/st-gen.c");
		}
	}
	if (!outp)
		usage_err("-o PATH required");
	char *cfgtext = NULL;
	if (cfgfile) {
		FILE *f = fopen(cfgfile, "r");
		if (!f)
			die("%s:", cfgfile);
		cfgtext = xcalloc(1, 1 << 20);
		if (fread(cfgtext, 1, (1 << 20) - 1, f) == 0)
			die("%s: empty", cfgfile);
		fclose(f);
	}
	struct st_wopts o = { .shard_size = shard, .config = cfgtext ? cfgtext : config[0] ? config : NULL };
	st_writer *w = st_create(outp, &o);
	if (!w)
		die_err();
	for (size_t i = 0; i < nspecs; i++)
		if (st_add(w, specs[i].name, specs[i].dtype, specs[i].ndim, specs[i].shape) < 0)
			die_err();
	if (st_begin(w) < 0)
		die_err();
	size_t chunk = 1 << 16;
	float *f = xmalloc(chunk * sizeof *f);
	uint8_t *buf = xmalloc(chunk * 8);
	for (size_t i = 0; i < nspecs; i++) {
		struct spec *s = &specs[i];
		uint64_t numel = 1, x = seed;
		for (int d = 0; d < s->ndim; d++)
			numel *= (uint64_t)s->shape[d];
		for (const char *p = s->name; *p; p++)
			x = x * 131 + (uint8_t)*p;
		for (uint64_t done = 0; done < numel; ) {
			size_t k = numel - done < chunk ? (size_t)(numel - done) : chunk;
			if (dtype_is_float(s->dtype)) {
				for (size_t j = 0; j < k; j++)
					f[j] = (float)(scale * ((double)(rng_splitmix64(&x) >> 11) * 0x1p-52 - 1.0));
				if (cvt_from_f32(s->dtype, buf, f, k) < 0)
					die_err();
			} else {
				size_t es = dtype_size(s->dtype);
				for (size_t j = 0; j < k; j++) {
					uint64_t v = rng_splitmix64(&x) % 7;
					memcpy(buf + j * es, &v, es);
				}
			}
			if (st_write(w, buf, k * dtype_size(s->dtype)) < 0)
				die_err();
			done += k;
		}
	}
	if (st_commit(w) < 0)
		die_err();
	free(f);
	free(buf);
	free(specs);
	free(cfgtext);
	return 0;
}
