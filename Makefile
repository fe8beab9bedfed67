# Every recipe only calls the kagglekit CLI (or pytest), so the two cannot drift.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KK := $(BIN)/kagglekit

.PHONY: run test data submit kernel push bench help clean

run: $(VENV)/.installed  ## Train, evaluate, predict and validate (full data if downloaded, else the bundled sample)
	$(KK) run

test: $(VENV)/.installed  ## Run the test suite
	$(BIN)/python -m pytest -q

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,plot,dask]'
	touch $@

data: $(VENV)/.installed  ## Download the competition data into data/digit-recognizer
	$(KK) download

submit: $(VENV)/.installed  ## Submit the newest run's submission (the CLI names it): make submit MSG="what changed"
	$(KK) submit --run newest -m "$(MSG)" --wait

kernel: $(VENV)/.installed  ## Generate kernels/digit-recognizer/ from the package's own modules (no credentials needed)
	$(KK) kernel build

push: $(VENV)/.installed  ## Push the kernel as your Kaggle user, or as make push ID=you/slug
	$(KK) kernel push$(if $(ID), --id $(ID))

bench: $(VENV)/.bench  ## Side by side on ../shared/data: seed notebook vs seed preset; mlp and 4 CNN epochs vs PyTorch at 1 and 2 threads, and their GEMM limit; ensemble -j 1 vs -j 2. Before/after (~20 min, not run here): bench/versions.py
	$(BIN)/python bench/seed_vs_notebook.py --repeat 5 --mlp-seeds 0,1
	$(BIN)/python bench/mlp_vs_torch.py
	$(BIN)/python bench/cnn_vs_torch.py
	$(BIN)/python bench/ensemble_jobs.py --members 4 --epochs 3

$(VENV)/.bench: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[bench]'
	touch $@

help:  ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

clean:  ## Remove the virtual environment and caches (not runs/ or data/)
	rm -rf $(VENV) .pytest_cache *.egg-info
