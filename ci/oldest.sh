#!/usr/bin/env bash
# The core tests (cells, layers, recurrence) on the oldest TensorFlow and Keras that pyproject.toml
# admits, pinned in ci/constraints-oldest.txt, in a second environment .venv-oldest (the package
# and the test tools only, no notebooks). Creates or refreshes .venv-oldest when it is missing or
# older than pyproject.toml or the constraints file, as ci/bootstrap.sh does for .venv; the first
# time it downloads TensorFlow (about 600 MB). Called by ci/test.sh; by hand: `bash ci/oldest.sh`
# or `make test-oldest` (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${OLDEST_VENV:-.venv-oldest}
PYTHON=${PYTHON:-python3}
CONSTRAINTS=ci/constraints-oldest.txt
STAMP="$VENV/.lstmkit-installed"

if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ] && [ "$STAMP" -nt "$CONSTRAINTS" ] \
    && "$VENV/bin/python" -c "import lstmkit" 2>/dev/null; then
    :
else
    if [ ! -x "$VENV/bin/python" ]; then
        echo "oldest: creating $VENV with $("$PYTHON" --version)"
        "$PYTHON" -m venv "$VENV"
    fi
    echo "oldest: installing lstmkit with $CONSTRAINTS into $VENV (first time: a few minutes)"
    # pip's chatter goes to a log, shown only when pip fails (as in ci/bootstrap.sh).
    LOG="$VENV/pip-install.log"
    for args in "--upgrade pip" "-c $CONSTRAINTS -e . pytest pytest-xdist hypothesis"; do
        # shellcheck disable=SC2086  # word splitting wanted: two argument lists
        if ! "$VENV/bin/python" -m pip install --quiet $args >"$LOG" 2>&1; then
            cat "$LOG" >&2
            echo "oldest: pip install $args failed (log: $LOG)" >&2
            exit 1
        fi
    done
    touch "$STAMP"
fi
export PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=2 MPLBACKEND=Agg
echo "oldest: $("$VENV/bin/python" -c 'import tensorflow as tf, keras, numpy
print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {numpy.__version__}")' 2>/dev/null)"
# -n and lstmkit_cli.quiet as in ci/test.sh
"$VENV/bin/python" -m lstmkit_cli.quiet "$VENV/bin/python" -m pytest -p no:cacheprovider \
    -n "${TEST_WORKERS:-2}" --dist loadfile \
    tests/test_cells.py tests/test_layers.py tests/test_recurrence.py "$@"
