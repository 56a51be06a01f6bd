# zoo.mk — the demo family: byte-level tasks, a base model trained on their mixture, and
# fine-tuned "runs" of it that trade the skills off against each other. Driven by pipelines/zoo;
# usable on its own:
#
#   make -f pipelines/zoo.mk -j 2 [ZOO=build/zoo] [BIN=bin] [SMALL=1]
#
# Files: $(ZOO)/tasks/SKILL.{train,dev,test}.jsonl, $(ZOO)/base, $(ZOO)/runs/NAME (the family, Hugging
# Face directories), $(ZOO)/runs.txt (one line a run: name and what it is). Every checkpoint
# depends on its task files, its init checkpoint, the programs and this file, so make retrains
# exactly what is out of date and an up-to-date zoo does nothing. SMALL=1 is a reduced family
# (tiny model, few steps, four runs) for tests: same recipes, other sizes.

ZOO     ?= build/zoo
BIN     ?= bin
TRAIN   := $(BIN)/ckpt-train
TASKGEN := $(BIN)/task-gen
EVALRUN := $(BIN)/evalrun
ZOO_MK  := $(lastword $(MAKEFILE_LIST))
T       := $(ZOO)/tasks
R       := $(ZOO)/runs

# The skills, in the order of every weight list below.
SKILLS  := rev sort cmp count

ifeq ($(SMALL),1)
CONFIG  := hidden=16,layers=1,heads=2,kv-heads=1,ff=32,vocab=256
NTRAIN  := 300
NEVAL   := 50
BASE_STEPS := 30
FT      := 15
else
CONFIG  := hidden=64,layers=3,heads=4,kv-heads=2,ff=128,vocab=256
NTRAIN  := 3000
NEVAL   := 500
BASE_STEPS := 1000
FT      := 300
endif
# Threads of one ckpt-train: the base runs alone, the runs side by side under make -j.
BASE_J  ?= 2
J       ?= 1
BASE_SEED ?= 1

TASK_FILES  := $(foreach s,$(SKILLS),$(T)/$(s).train.jsonl $(T)/$(s).dev.jsonl $(T)/$(s).test.jsonl)
TRAIN_FILES := $(foreach s,$(SKILLS),$(T)/$(s).train.jsonl)
TEST_FILES  := $(foreach s,$(SKILLS),$(T)/$(s).test.jsonl)
# mix,W1 W2 W3 W4: the -t options of a mixture with these weights.
mix = $(addprefix -t ,$(join $(addsuffix :,$(TRAIN_FILES)),$(1)))

all: $(ZOO)/runs.txt

# One task-gen call a difficulty setting; each skill's files depend only on the seed, the skill and
# its options, so the calls are independent.
$(T)/.stamp: $(TASKGEN) $(ZOO_MK)
	@mkdir -p $(T)
	$(TASKGEN) -s 1 --train $(NTRAIN) --dev $(NEVAL) --test $(NEVAL) --len 3-7 -o $(T) rev sort
	$(TASKGEN) -s 1 --train $(NTRAIN) --dev $(NEVAL) --test $(NEVAL) --digits 1-4 -o $(T) cmp
	$(TASKGEN) -s 1 --train $(NTRAIN) --dev $(NEVAL) --test $(NEVAL) --len 3-7 --letters 4 -o $(T) count
	@touch $@
$(TASK_FILES): $(T)/.stamp

$(ZOO)/base/model.safetensors: $(TRAIN_FILES) $(TRAIN) $(ZOO_MK)
	$(TRAIN) -q -j $(BASE_J) $(call mix,1 1 1 1) --config $(CONFIG) --steps $(BASE_STEPS) \
		--lr 3e-3 --warmup 50 --seed $(BASE_SEED) -o $(ZOO)/base

# run,NAME,INIT,WEIGHTS,LR,MIN-LR,STEPS,SEED,EXTRA,DESCRIPTION: one fine-tuning run from INIT (base
# or another run's name).
RUNS :=
ckpt_dir = $(if $(filter base,$(1)),$(ZOO)/base,$(R)/$(strip $(1)))
define run
RUNS += $(1)
$(1)_what := $(9)
$(R)/$(1)/model.safetensors: $(call ckpt_dir,$(2))/model.safetensors \
		$(TRAIN_FILES) $(TRAIN) $(ZOO_MK)
	@mkdir -p $(R)
	$(TRAIN) -q -j $(J) --init $(call ckpt_dir,$(2)) $(call mix,$(3)) \
		--lr $(4) --min-lr $(5) --steps $(6) --warmup 20 --seed $(7) $(8) -o $(R)/$(1)
endef

#                 name      init    rev sort cmp count lr    min-lr steps  seed extra  what
$(eval $(call run,rev,      base,   6 1 1 1,       1e-3, 1e-3, $(FT), 11,,  rev-heavy mixture))
$(eval $(call run,sort,     base,   1 6 1 1,       1e-3, 1e-3, $(FT), 12,,  sort-heavy mixture))
$(eval $(call run,cmp,      base,   1 1 6 1,       1e-3, 1e-3, $(FT), 13,,  cmp-heavy mixture))
$(eval $(call run,count,    base,   1 1 1 6,       1e-3, 1e-3, $(FT), 14,,  count-heavy mixture))
$(eval $(call run,revsort,  base,   4 4 1 1,       1e-3, 1e-3, $(FT), 15,,  letter skills))
$(eval $(call run,cmpcount, base,   1 1 4 4,       1e-3, 1e-3, $(FT), 16,,  cmp and count))
$(eval $(call run,revcount, base,   4 1 1 4,       1e-3, 1e-3, $(FT), 17,,  rev and count))
$(eval $(call run,sortcmp,  base,   1 4 4 1,       1e-3, 1e-3, $(FT), 18,,  sort and cmp))
$(eval $(call run,rev-hot,  base,   6 1 1 1,       2e-3, 2e-3, $(FT), 19,,  rev-heavy at a high learning rate))
$(eval $(call run,sort-short,base,  1 6 1 1,       1e-3, 1e-3, $(FT), 20,--seq 32 --no-pack, sort-heavy with one example a row of 32 tokens))
$(eval $(call run,count-long,base,  1 1 1 6,       5e-4, 5e-4, 600,   21,,  count-heavy with a longer run at a lower learning rate))
$(eval $(call run,rev-count,rev,    1 1 1 6,       1e-3, 1e-3, 200,   22,,  second stage: rev then count-heavy))
$(eval $(call run,sort-cmp, sort,   1 1 6 1,       1e-3, 1e-3, 200,   23,,  second stage: sort then cmp-heavy))
$(eval $(call run,cmpcount-rev,cmpcount, 6 1 1 1,  1e-3, 1e-3, 200,   24,,  second stage: cmpcount then rev-heavy))

$(ZOO)/runs.txt: $(foreach r,$(RUNS),$(R)/$(r)/model.safetensors)
	@{ $(foreach r,$(RUNS),printf '%s\t%s\n' '$(r)' '$($(r)_what)';) } > $@.tmp && mv $@.tmp $@

# scores: every checkpoint on the test splits, one evalrun record each, then all in one file.
S := $(ZOO)/scores
scores: $(ZOO)/scores.ndjson
$(S)/base.json: $(ZOO)/base/model.safetensors $(TEST_FILES) $(EVALRUN)
	@mkdir -p $(S)
	$(EVALRUN) -q -j $(J) $(addprefix -t ,$(TEST_FILES)) $(ZOO)/base > $@.tmp && mv $@.tmp $@
$(S)/%.json: $(R)/%/model.safetensors $(TEST_FILES) $(EVALRUN)
	@mkdir -p $(S)
	$(EVALRUN) -q -j $(J) $(addprefix -t ,$(TEST_FILES)) $(R)/$* > $@.tmp && mv $@.tmp $@
$(ZOO)/scores.ndjson: $(S)/base.json $(foreach r,$(RUNS),$(S)/$(r).json)
	cat $^ > $@.tmp && mv $@.tmp $@

clean:
	rm -rf $(ZOO)

.PHONY: all scores clean
.DELETE_ON_ERROR:
