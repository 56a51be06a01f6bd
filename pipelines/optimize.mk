# optimize.mk — pipelines/optimize for make workflows: the same steps, files and resumability,
# with make's -j deciding how many candidates are scored at once (each generation's candidates
# are targets of a sub-make that shares the caller's job slots).
#
#   make -f pipelines/optimize.mk -j 8 WORK=work DEV='t/add.dev.jsonl t/rev.dev.jsonl' \
#        TEST='t/add.test.jsonl t/rev.test.jsonl' CKPTS='ckpts/a ckpts/b ckpts/c' [BUDGET=100]
#        [X0=uniform|best|greedy] [OPTIMIZE_OPTS='--sigma 0.2 --seed 3 --eval-opts ...']
#
# The report is remade when a checkpoint or a task file is newer than it. Include this file from
# your own make file to make a merged model a prerequisite: $(WORK)/answer is its directory.

P       := $(dir $(lastword $(MAKEFILE_LIST)))
BUDGET  ?= 100
X0      ?= uniform
OPTIMIZE_OPTS ?=
# The -j of this make, for the steps that run their own parallel loops (the single checkpoints).
MAKE_J  := $(or $(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS))),1)

ifdef GDIR
# Sub-make of one generation (started by search with RUNNER=make): one target a candidate.
score: $(patsubst %.cand.json,%.json,$(wildcard $(GDIR)/*.cand.json))
$(GDIR)/%.json: $(GDIR)/%.cand.json
	@$(P)score-one $(SUB) $<
.PHONY: score
else
ifndef WORK
$(error WORK=DIR is required (see the comment at the top of $(lastword $(MAKEFILE_LIST))))
endif
ifndef DEV
$(error DEV='TASK FILES' is required)
endif
ifndef CKPTS
$(error CKPTS='CHECKPOINTS' is required)
endif
all: $(WORK)/report.md

$(WORK)/report.md: $(CKPTS) $(DEV) $(TEST)
	+@RUNNER=make MAKE='$(MAKE)' $(P)optimize -d $(WORK) -t '$(DEV)' $(if $(TEST),--test '$(TEST)') \
		--budget $(BUDGET) --x0 $(X0) -j $(MAKE_J) --runner make $(OPTIMIZE_OPTS) $(CKPTS)

.PHONY: all
endif
