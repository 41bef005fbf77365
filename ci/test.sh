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
"$PY" -m pytest tests "$@"
echo "== notebooks (nbval, strict: stored outputs compared)"
shopt -s nullglob
notebooks=(notebooks/*.ipynb)
if [ ${#notebooks[@]} -eq 0 ]; then
    echo "no notebooks to check"
else
    "$PY" -m pytest -p no:cacheprovider --nbval --nbval-sanitize-with ci/nbval_sanitize.cfg \
        --nbval-cell-timeout=300 "${notebooks[@]}"
fi
echo "== oldest versions (ci/constraints-oldest.txt): cells, layers, recurrence"
bash ci/oldest.sh
