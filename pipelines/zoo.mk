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
BASE_STEPS := 1500
FT      := 300
endif
# Threads of one ckpt-train: the base runs alone, the runs side by side under make -j.
BASE_J  ?= 2
J       ?= 1

TASK_FILES  := $(foreach s,$(SKILLS),$(T)/$(s).train.jsonl $(T)/$(s).dev.jsonl $(T)/$(s).test.jsonl)
TRAIN_FILES := $(foreach s,$(SKILLS),$(T)/$(s).train.jsonl)
# mix,W1 W2 W3 W4: the -t options of a mixture with these weights.
mix = $(addprefix -t ,$(join $(addsuffix :,$(TRAIN_FILES)),$(1)))

all: $(ZOO)/runs.txt

# One task-gen call a difficulty setting; each skill's files depend only on the seed, the skill and
# its options, so the calls are independent.
$(T)/.stamp: $(TASKGEN) $(ZOO_MK)
	@mkdir -p $(T)
	$(TASKGEN) -s 1 --train $(NTRAIN) --dev $(NEVAL) --test $(NEVAL) --len 3-5 -o $(T) rev sort
	$(TASKGEN) -s 1 --train $(NTRAIN) --dev $(NEVAL) --test $(NEVAL) --digits 1-3 -o $(T) cmp
	$(TASKGEN) -s 1 --train $(NTRAIN) --dev $(NEVAL) --test $(NEVAL) --len 3-6 --letters 4 -o $(T) count
	@touch $@
$(TASK_FILES): $(T)/.stamp

$(ZOO)/base/model.safetensors: $(TRAIN_FILES) $(TRAIN) $(ZOO_MK)
	$(TRAIN) -q -j $(BASE_J) $(call mix,1 1 1 1) --config $(CONFIG) --steps $(BASE_STEPS) \
		--lr 3e-3 --warmup 50 --seed 1 -o $(ZOO)/base

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

#                 name    init   rev sort cmp count  lr    min-lr  steps seed  extra  what
$(eval $(call run,rev3,   base,  3 1 1 1,        1e-3, 1e-4, $(FT), 11,,          rev-heavy mixture))
$(eval $(call run,sort3,  base,  1 3 1 1,        1e-3, 1e-4, $(FT), 12,,          sort-heavy mixture))
$(eval $(call run,cmp3,   base,  1 1 3 1,        1e-3, 1e-4, $(FT), 13,,          cmp-heavy mixture))
$(eval $(call run,count3, base,  1 1 1 3,        1e-3, 1e-4, $(FT), 14,,          count-heavy mixture))
$(eval $(call run,hot1,   base,  1 1 1 1,        2e-3, 2e-3, $(FT), 15,,          even mixture at a constant high learning rate))
$(eval $(call run,hot2,   base,  2 2 1 1,        2e-3, 2e-3, $(FT), 16,,          letters-heavy mixture at a constant high learning rate))
$(eval $(call run,hot3,   base,  1 1 2 2,        2e-3, 2e-3, $(FT), 17,,          cmp and count at a constant high learning rate))
$(eval $(call run,revonly,base,  1 0 0 0,        5e-4, 5e-5, $(FT), 18,,          rev alone at a low learning rate))
$(eval $(call run,short,  base,  1 1 1 1,        1e-3, 1e-4, $(FT), 19,--seq 32 --no-pack, one example a row of 32 tokens))
$(eval $(call run,brief,  base,  1 1 1 1,        1e-3, 1e-4, 100,   20,,          a short even run))
$(eval $(call run,rev3-count,rev3, 1 1 1 4,      1e-3, 1e-3, $(FT), 21,,          second stage: rev3 then count at a constant rate))
$(eval $(call run,hot2-cmp,hot2, 0 0 1 0,        5e-4, 5e-5, $(FT), 22,,          second stage: hot2 then cmp alone))
$(eval $(call run,hot1-anneal,hot1, 1 1 1 1,     5e-4, 5e-5, $(FT), 23,,          second stage: hot1 annealed))
$(eval $(call run,revonly-sort,revonly, 1 3 0 0, 1e-3, 1e-4, $(FT), 24,,         second stage: revonly then sort-heavy))

$(ZOO)/runs.txt: $(foreach r,$(RUNS),$(R)/$(r)/model.safetensors)
	@{ $(foreach r,$(RUNS),printf '%s\t%s\n' '$(r)' '$($(r)_what)';) } > $@.tmp && mv $@.tmp $@

clean:
	rm -rf $(ZOO)

.PHONY: all clean
.DELETE_ON_ERROR:
