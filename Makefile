# Each target bootstraps .venv from pyproject.toml (with the versions in ci/constraints.txt) when it
# is missing or older than either file.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lstmkit-installed

.PHONY: report test lint unit notebooks lab bench venv clean

report: $(STAMP)  ## execute the course notebooks into reports/latest/ (the main job); ARGS="-f params/full.yaml" for bigger runs
	$(VENV)/bin/lstmkit report $(ARGS)

test: $(STAMP)  ## everything CI runs: lint, unit tests, notebooks under strict nbval
	bash ci/test.sh

lint: $(STAMP)
	$(PY) -m ruff check lstmkit lstmkit_cli tests notebooks

unit: $(STAMP)
	$(PY) -m pytest tests

notebooks: $(STAMP)  ## re-execute notebooks in place to refresh their stored outputs
	bash ci/notebooks.sh

lab: $(STAMP)  ## JupyterLab on notebooks/ with a kernel that has lstmkit installed
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP)
	$(VENV)/bin/lstmkit bench

venv: $(STAMP)

$(STAMP): pyproject.toml ci/constraints.txt ci/install_kernel.py
	bash ci/bootstrap.sh

clean:
	rm -rf $(VENV) reports .pytest_cache .ruff_cache
