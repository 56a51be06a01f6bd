/* lmio.h — Llama models in and out of checkpoints: loading any CKPT (file, zstd, Hugging Face
 * directory, stream) into a struct llama_model (f32 for training, or resident in the checkpoint's
 * dtype for scoring), and saving one as safetensors. The glue between st.h (tensors on disk and
 * in pipes) and llama.h. */
#ifndef RECYCLE_LMIO_H
#define RECYCLE_LMIO_H

#include <json-c/json.h>

#include "llama.h"
#include "st.h"

/* Loads ck front to back (a stream works): the config from st_config(), every tensor converted to
 * f32 into its place. Refuses, naming it, a tensor the architecture does not have, a tensor of the
 * wrong shape or type, and a missing tensor. Buffers Hugging Face leaves in old checkpoints
 * (*.rotary_emb.inv_freq) are skipped, as is lm_head.weight of a tied model. NULL on error. */
struct llama_model *lmio_load(st_ckpt *ck);
/* The same as a resident model (llama_new_resident), for scoring: every matrix stays in the
 * checkpoint's dtype when it is f32, bf16 or f16 (others become f32), viewed in place where ck is
 * a mapped file, else copied; vectors become f32. Memory is then about the checkpoint's bytes
 * (pages of a mapped file shared with the page cache). ck must stay open until llama_free. */
struct llama_model *lmio_load_resident(st_ckpt *ck);
/* st_open + lmio_load + st_close. */
struct llama_model *lmio_load_path(const char *arg);

/* Writes m to path (see st_create: "-" stdout, *.safetensors, or a Hugging Face directory with
 * config.json) in dtype (DT_F32, DT_BF16, DT_F16), the config's dtype set to match. donor_dir
 * (may be NULL) gives tokenizer files; meta (may be NULL) extra metadata. */
int lmio_save(const struct llama_model *m, const char *path, int dtype, const char *donor_dir,
              json_object *meta);

#endif
