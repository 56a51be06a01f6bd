# optimize.mk — pipelines/optimize for make workflows: the same steps, files and resumability,
# with make's -j deciding how many evaluations run at once (each batch of evaluations is a
# sub-make that shares the caller's job slots).
#
#   make -f pipelines/optimize.mk -j 8 WORK=work DEV='t/add.dev.jsonl t/rev.dev.jsonl' \
#        TEST='t/add.test.jsonl t/rev.test.jsonl' CKPTS='ckpts/a ckpts/b ckpts/c' [BUDGET=100]
#        [X0=greedy|best|uniform] [OPTIMIZE_OPTS='--sigma 0.05 --seed 3 --harness ...']
#
# The report is remade when a checkpoint or a task file is newer than it. Include this file from
# your own make file, before or after setting WORK, DEV and CKPTS, to make a merged model a
# prerequisite: $(WORK)/answer is its directory (the rule is DIR/report.md for any DIR).

RECYCLE_P := $(dir $(lastword $(MAKEFILE_LIST)))
BUDGET  ?= 100
X0      ?=
OPTIMIZE_OPTS ?=
# The -j of this make, for optimize's own -j.
RECYCLE_J := $(or $(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS))),1)

ifdef JOBLIST
# Sub-make of one batch of evaluations (run_jobs with RUNNER=make, run in the work directory):
# one target a job, DIR/ID.json or DIR/ID.test.json from DIR/ID.cand.json.
score: $(shell cat $(JOBLIST))
%.test.json: %.cand.json
	@$(SCORE_ONE) $(CURDIR) $@
%.select.json: %.cand.json
	@$(SCORE_ONE) $(CURDIR) $@
%.json: %.cand.json
	@$(SCORE_ONE) $(CURDIR) $@
.PHONY: score
else
# Prerequisites are expanded when make needs them (.SECONDEXPANSION and $$), and the report's rule
# is a pattern rule, so this file can be included before WORK, DEV and CKPTS are set.
.SECONDEXPANSION:
recycle-optimize: $$(WORK)/report.md

%/report.md: $$(CKPTS) $$(DEV) $$(TEST)
	@test -n '$(CKPTS)' || { echo "optimize.mk: CKPTS='CHECKPOINTS' is required" >&2; exit 2; }
	+@RUNNER=make MAKE='$(MAKE)' $(RECYCLE_P)optimize -d $* $(if $(DEV),-t '$(DEV)') $(if $(TEST),--test '$(TEST)') \
		--budget $(BUDGET) $(if $(X0),--x0 $(X0)) -j $(RECYCLE_J) --runner make $(OPTIMIZE_OPTS) $(CKPTS)

.PHONY: recycle-optimize
endif
