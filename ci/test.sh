#!/usr/bin/env bash
# Everything CI checks: lint, unit tests, the notebooks under strict nbval, and the core tests on
# the oldest TensorFlow and Keras that pyproject.toml admits (ci/oldest.sh, its own .venv-oldest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh
if [ "${CI:-}" = true ]; then bash ci/install_browser.sh; fi  # for tests/test_jupyter.py
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
export PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=2 MPLBACKEND=Agg

echo "== ruff"
"$PY" -m ruff check lstmkit lstmkit_cli tests notebooks
echo "== unit tests"
# -n: one pytest-xdist worker per core (TEST_WORKERS, default 2, the CI machine's cores), each
# test file on one worker (its module fixtures built once); lstmkit_cli.quiet: the workers'
# TensorFlow start-up lines stay off the console. --durations: the slowest tests end the log,
# where CI's time goes.
"$PY" -m lstmkit_cli.quiet "$PY" -m pytest -n "${TEST_WORKERS:-2}" --dist loadfile \
    --durations=30 tests "$@"
echo "== notebooks (nbval, strict: stored outputs compared)"
shopt -s nullglob
notebooks=(notebooks/*.ipynb)
if [ ${#notebooks[@]} -eq 0 ]; then
    echo "no notebooks in notebooks/ to check" >&2
    exit 1
fi
# ci/nbval_plugin.py: the nbval settings (stderr compared too; the course kernel must be quiet)
# lstmkit_cli.quiet: the kernels' TensorFlow start-up lines stay off the console
# -n, --dist loadfile: two notebooks at a time, each notebook's cells in order in its own kernel
"$PY" -m lstmkit_cli.quiet "$PY" -m pytest -p no:cacheprovider -p ci.nbval_plugin --nbval \
    --nbval-sanitize-with ci/nbval_sanitize.cfg --nbval-cell-timeout=300 \
    -n "${TEST_WORKERS:-2}" --dist loadfile "${notebooks[@]}"
echo "== oldest versions (ci/constraints-oldest.txt): cells, layers, recurrence"
bash ci/oldest.sh
