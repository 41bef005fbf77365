# Each target bootstraps .venv from pyproject.toml (with the versions in ci/constraints.txt) when it
# is missing or older than either file.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lstmkit-installed

.PHONY: report test test-oldest lint unit notebooks lab bench venv clean

report: $(STAMP)  ## execute the course notebooks into reports/latest/ (the main job); ARGS="-f params/full.yaml" for bigger runs
	$(VENV)/bin/lstmkit report $(ARGS)

test: $(STAMP)  ## everything CI runs: lint, all tests (slow ones too), notebooks under strict nbval, test-oldest
	bash ci/test.sh

test-oldest:  ## the cells, layers and recurrence tests on the oldest TensorFlow and Keras admitted (.venv-oldest)
	bash ci/oldest.sh

lint: $(STAMP)
	$(PY) -m ruff check lstmkit lstmkit_cli tests notebooks

unit: $(STAMP)  ## the fast tests (not marked slow: no subprocess, browser, kernel or bench; goal: under two minutes)
	PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=2 MPLBACKEND=Agg $(PY) -m lstmkit_cli.quiet $(PY) -m pytest -p no:nbval -n $(or $(TEST_WORKERS),2) --dist loadfile -m "not slow" tests

notebooks: $(STAMP)  ## re-execute notebooks in place to refresh their stored outputs
	bash ci/notebooks.sh

lab: $(STAMP)  ## JupyterLab on notebooks/ with a kernel that has lstmkit installed
	$(PY) -m lstmkit_cli.quiet $(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP)
	$(VENV)/bin/lstmkit bench

venv: $(STAMP)

$(STAMP): pyproject.toml ci/constraints.txt ci/course_kernel/ipython_kernel_config.py ci/course_kernel/pyproject.toml
	bash ci/bootstrap.sh

clean:
	rm -rf $(VENV) .venv-oldest reports .pytest_cache .ruff_cache
