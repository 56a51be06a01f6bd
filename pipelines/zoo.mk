# zoo.mk — recycle's model families: byte-level tasks, a base model trained from scratch on their
# mixture, and runs fine-tuned from it (or from each other) that trade the skills off. Two
# families (FAMILY): demo, the demo's (four skills: rev sort cmp count; 14 runs), and b, a second
# one for the search benchmark (three other skills: add copy seq; another architecture; 13 runs
# of other recipes). Driven by pipelines/zoo; usable on its own:
#
#   make -f pipelines/zoo.mk -j 2 [FAMILY=demo|b] [ZOO=build/zoo] [BIN=bin] [SMALL=1] [BASE_J=2] [BASE_SEED=1]
#   make -f pipelines/zoo.mk ZOO=... scores      # every checkpoint on the test splits (evalrun)
#
# Files: $(ZOO)/tasks/SKILL.{train,dev,test}.jsonl, $(ZOO)/base, $(ZOO)/runs/NAME (the family:
# Hugging Face directories), $(ZOO)/runs.txt (each run and what it is), $(ZOO)/.cmd/ (the
# arguments each output was made with), $(ZOO)/scores/ and scores.ndjson. ZOO defaults to
# build/zoo for the demo family, build/zoo-FAMILY for another.
#
# Caching: an output depends on the programs that make it, its inputs (task files, the checkpoint
# it starts from) and its command file, which is rewritten only when its arguments change. So an
# up-to-date zoo does nothing, and editing one run's line retrains that run and the runs started
# from it, nothing else. -j (threads) is not part of the arguments: it never changes the bytes.
#
# The demo family. The base is a generalist, undertrained on purpose (1000 steps) so that
# fine-tuning still moves every skill. The runs are what a training campaign leaves behind: each
# leans on one or two skills (weight 6 or 4 against 1), at a constant learning rate after warmup,
# as checkpoints of runs stopped before their cool-down are; they vary in mixture, learning rate,
# length (steps, rows of 32 unpacked tokens), seed and stage (three start from other runs). So
# each run is best at little and noisy everywhere, and a linear merge of several recovers what
# each lacks (it averages the noise a cool-down would remove and mixes the skills): on the test
# splits no run is best on every task, and merges beat the best single run by several points.
#
# Family b. Two generation skills and a text one (add: sums of 1-3 digit numbers; copy: strings
# of 3-8 letters; seq: arithmetic sequences of 1-3 digit numbers, scored by the mean log-likelihood
# per token, so the macro-average mixes accuracies with a log-likelihood), on a wider, shallower model (2 layers,
# 4 key-value heads, ff 192). Its runs differ from the demo's in kind:
# some are cooled down (a cosine to a tenth of the peak rate) and some are not, learning rates
# span 5e-4 to 3e-3, one is a rerun of another with only its seed changed, one uses a larger
# batch and more weight decay, and the stages go three deep (add, then copy, then seq).
#
# SMALL=1 is the same recipe at toy sizes, for tests.

FAMILY  ?= demo
ifeq ($(FAMILY),demo)
ZOO     ?= build/zoo
else
ZOO     ?= build/zoo-$(FAMILY)
endif
BIN     ?= bin
BASE_J  ?= 2
J       ?= 1
BASE_SEED ?= 1
TRAIN   := $(BIN)/ckpt-train
TASKGEN := $(BIN)/task-gen
EVALRUN := $(BIN)/evalrun
ZT      := $(ZOO)/tasks
ZR      := $(ZOO)/runs
ZC      := $(ZOO)/.cmd
ZS      := $(ZOO)/scores

# The skills, in the order of every weight list below, and the model.
ifeq ($(FAMILY),demo)
SKILLS  := rev sort cmp count
FULL_CONFIG := hidden=64,layers=3,heads=4,kv-heads=2,ff=128,vocab=256
else ifeq ($(FAMILY),b)
SKILLS  := add copy seq
FULL_CONFIG := hidden=64,layers=2,heads=4,kv-heads=4,ff=192,vocab=256
else
$(error FAMILY '$(FAMILY)': demo or b)
endif

ifeq ($(SMALL),1)
CONFIG  := hidden=16,layers=1,heads=2,kv-heads=1,ff=32,vocab=256
NTRAIN  := 300
NEVAL   := 50
BASE_STEPS := 30
BASE_WARMUP := 5
FT      := 15
FT2     := 10
FT_LONG := 30
WARMUP  := 3
else
CONFIG  := $(FULL_CONFIG)
NTRAIN  := 3000
NEVAL   := 500
BASE_STEPS := 1000
BASE_WARMUP := 50
FT      := 300
FT2     := 200
FT_LONG := 600
WARMUP  := 20
endif

TASK_FILES  := $(foreach s,$(SKILLS),$(ZT)/$(s).train.jsonl $(ZT)/$(s).dev.jsonl $(ZT)/$(s).test.jsonl)
TRAIN_FILES := $(foreach s,$(SKILLS),$(ZT)/$(s).train.jsonl)
TEST_FILES  := $(foreach s,$(SKILLS),$(ZT)/$(s).test.jsonl)
# mix,W1 W2 ...: the -t options of a mixture with these weights, one a skill.
mix = $(addprefix -t ,$(join $(addsuffix :,$(TRAIN_FILES)),$(1)))
# cmdfile,NAME,ARGS: $(ZC)/NAME holds ARGS (no single quotes), rewritten at parse time only when they
# changed, so its time stamp is the time the recipe last changed.
cmdfile = $(shell mkdir -p '$(ZC)' && { printf '%s\n' '$(strip $(2))' | cmp -s - '$(ZC)/$(1)' || \
	printf '%s\n' '$(strip $(2))' > '$(ZC)/$(1)'; } && echo ok)
need_ok = $(if $(filter ok,$(1)),,$(error $(ZC): cannot write the command files))

all: $(ZOO)/runs.txt

# One task-gen call a difficulty setting; each skill's files depend only on the seed, the skill and
# its own options, so the calls are independent of each other.
TG := -s 1 --train $(NTRAIN) --dev $(NEVAL) --test $(NEVAL) -o $(ZT)
ifeq ($(FAMILY),demo)
TASKS_ARGS := $(TG) --len 3-7 rev sort; $(TG) --digits 1-4 cmp; $(TG) --len 3-7 --letters 4 count
else
TASKS_ARGS := $(TG) --digits 1-3 add; $(TG) --len 3-8 copy; $(TG) --digits 1-3 --terms 4-6 seq
endif
$(call need_ok,$(call cmdfile,tasks,$(TASKS_ARGS)))
$(ZT)/.stamp: $(TASKGEN) $(ZC)/tasks
	@mkdir -p $(ZT)
ifeq ($(FAMILY),demo)
	$(TASKGEN) $(TG) --len 3-7 rev sort
	$(TASKGEN) $(TG) --digits 1-4 cmp
	$(TASKGEN) $(TG) --len 3-7 --letters 4 count
else
	$(TASKGEN) $(TG) --digits 1-3 add
	$(TASKGEN) $(TG) --len 3-8 copy
	$(TASKGEN) $(TG) --digits 1-3 --terms 4-6 seq
endif
	@touch $@
$(TASK_FILES): $(ZT)/.stamp

BASE_ARGS := $(call mix,$(foreach s,$(SKILLS),1)) --config $(CONFIG) --steps $(BASE_STEPS) --lr 3e-3 \
	--warmup $(BASE_WARMUP) --seed $(BASE_SEED) -o $(ZOO)/base
$(call need_ok,$(call cmdfile,base,$(BASE_ARGS)))
$(ZOO)/base/model.safetensors: $(TRAIN_FILES) $(TRAIN) $(ZC)/base
	$(TRAIN) -q -j $(BASE_J) $(BASE_ARGS)

# run,NAME,INIT,WEIGHTS,LR,MIN-LR,STEPS,SEED,EXTRA,WHAT: one fine-tuning run from INIT (base or
# another run), its mixture's weights in the order of SKILLS, and what it is, for runs.txt.
RUNS :=
ckpt_dir = $(if $(filter base,$(1)),$(ZOO)/base,$(ZR)/$(strip $(1)))
define run
RUNS += $(1)
$(1)_what := $(9)
$(1)_args := --init $(call ckpt_dir,$(2)) $(call mix,$(3)) --lr $(strip $(4)) --min-lr $(strip $(5)) \
	--steps $(strip $(6)) --warmup $(WARMUP) --seed $(strip $(7)) $(strip $(8)) -o $(ZR)/$(1)
$$(call need_ok,$$(call cmdfile,$(1),$$($(1)_args)))
$(ZR)/$(1)/model.safetensors: $(call ckpt_dir,$(2))/model.safetensors $(TRAIN_FILES) $(TRAIN) $(ZC)/$(1)
	@mkdir -p $(ZR)
	$(TRAIN) -q -j $(J) $$($(1)_args)
endef

ifeq ($(FAMILY),demo)
#                 name        init      rev sort cmp count  lr    min-lr  steps  seed extra  what
$(eval $(call run,rev,        base,     6 1 1 1,    1e-3, 1e-3, $(FT),      11,,  rev-heavy mixture))
$(eval $(call run,sort,       base,     1 6 1 1,    1e-3, 1e-3, $(FT),      12,,  sort-heavy mixture))
$(eval $(call run,cmp,        base,     1 1 6 1,    1e-3, 1e-3, $(FT),      13,,  cmp-heavy mixture))
$(eval $(call run,count,      base,     1 1 1 6,    1e-3, 1e-3, $(FT),      14,,  count-heavy mixture))
$(eval $(call run,revsort,    base,     4 4 1 1,    1e-3, 1e-3, $(FT),      15,,  rev and sort))
$(eval $(call run,cmpcount,   base,     1 1 4 4,    1e-3, 1e-3, $(FT),      16,,  cmp and count))
$(eval $(call run,revcount,   base,     4 1 1 4,    1e-3, 1e-3, $(FT),      17,,  rev and count))
$(eval $(call run,sortcmp,    base,     1 4 4 1,    1e-3, 1e-3, $(FT),      18,,  sort and cmp))
$(eval $(call run,rev-hot,    base,     6 1 1 1,    2e-3, 2e-3, $(FT),      19,,  rev-heavy at twice the learning rate))
$(eval $(call run,sort-short, base,     1 6 1 1,    1e-3, 1e-3, $(FT),      20,--seq 32 --no-pack, sort-heavy on rows of one example in 32 tokens))
$(eval $(call run,count-long, base,     1 1 1 6,    5e-4, 5e-4, $(FT_LONG), 21,,  count-heavy for twice the steps at half the learning rate))
$(eval $(call run,rev-count,  rev,      1 1 1 6,    1e-3, 1e-3, $(FT2),     22,,  second stage: rev then count-heavy))
$(eval $(call run,sort-cmp,   sort,     1 1 6 1,    1e-3, 1e-3, $(FT2),     23,,  second stage: sort then cmp-heavy))
$(eval $(call run,cmpcount-rev,cmpcount,6 1 1 1,    1e-3, 1e-3, $(FT2),     24,,  second stage: cmpcount then rev-heavy))
else
#                 name        init      add copy seq  lr    min-lr  steps  seed extra  what
$(eval $(call run,add,        base,     6 1 1,    1e-3, 1e-3, $(FT),      31,,  add-heavy mixture))
$(eval $(call run,copy,       base,     1 6 1,    1e-3, 1e-3, $(FT),      32,,  copy-heavy mixture))
$(eval $(call run,seq,        base,     1 1 6,    1e-3, 1e-3, $(FT),      33,,  seq-heavy mixture))
$(eval $(call run,add-cool,   base,     6 1 1,    2e-3, 2e-4, $(FT),      34,,  add-heavy at twice the rate, cooled down (cosine to a tenth)))
$(eval $(call run,copy-cool,  base,     1 6 1,    2e-3, 2e-4, $(FT),      35,,  copy-heavy at twice the rate, cooled down))
$(eval $(call run,addseq,     base,     4 1 4,    1e-3, 1e-3, $(FT),      36,,  add and seq))
$(eval $(call run,addcopy-slow,base,    4 4 1,    5e-4, 5e-4, $(FT_LONG), 37,,  add and copy for twice the steps at half the rate))
$(eval $(call run,add-rerun,  base,     6 1 1,    1e-3, 1e-3, $(FT),      38,,  add-heavy again: the first run with another seed))
$(eval $(call run,seq-hot,    base,     1 1 6,    3e-3, 3e-3, $(FT2),     39,,  seq-heavy at three times the rate, shorter))
$(eval $(call run,even-wd,    base,     2 2 2,    1e-3, 1e-4, $(FT),      40,--batch 32 --weight-decay 0.1, even mixture: batch 32 and weight decay 0.1, cooled down))
$(eval $(call run,add-copy,   add,      1 6 1,    1e-3, 1e-3, $(FT2),     41,,  second stage: add then copy-heavy))
$(eval $(call run,copy-seq,   copy,     1 1 6,    1e-3, 1e-3, $(FT2),     42,,  second stage: copy then seq-heavy))
$(eval $(call run,add-copy-seq,add-copy,1 1 6,    1e-3, 1e-3, $(FT2),     43,,  third stage: add, copy, then seq-heavy))
endif

$(ZOO)/runs.txt: $(foreach r,$(RUNS),$(ZR)/$(r)/model.safetensors)
	@{ $(foreach r,$(RUNS),printf '%s\t%s\n' '$(r)' '$(strip $($(r)_what))';) } > $@.tmp && mv $@.tmp $@

# Every checkpoint on the test splits, one evalrun record each, then all in one file.
scores: $(ZOO)/scores.ndjson
$(ZS)/base.json: $(ZOO)/base/model.safetensors $(TEST_FILES) $(EVALRUN)
	@mkdir -p $(ZS)
	$(EVALRUN) -q -j $(J) $(addprefix -t ,$(TEST_FILES)) $(ZOO)/base > $@.tmp && mv $@.tmp $@
$(ZS)/%.json: $(ZR)/%/model.safetensors $(TEST_FILES) $(EVALRUN)
	@mkdir -p $(ZS)
	$(EVALRUN) -q -j $(J) $(addprefix -t ,$(TEST_FILES)) $(ZR)/$* > $@.tmp && mv $@.tmp $@
$(ZOO)/scores.ndjson: $(ZS)/base.json $(foreach r,$(RUNS),$(ZS)/$(r).json)
	cat $^ > $@.tmp && mv $@.tmp $@

clean:
	rm -rf $(ZOO)

.PHONY: all scores clean
.DELETE_ON_ERROR:
