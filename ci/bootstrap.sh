#!/usr/bin/env bash
# Create or refresh .venv from pyproject.toml. Idempotent: does nothing when the environment
# is newer than pyproject.toml. Used by the Makefile and by any CI service.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.lstmkit-installed"
# The versions the stored notebook outputs were made with; CONSTRAINTS= (empty) for the newest.
CONSTRAINTS=${CONSTRAINTS-ci/constraints.txt}

if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ] && [ "$STAMP" -nt ci/constraints.txt ] \
    && [ "$STAMP" -nt ci/course_kernel/ipython_kernel_config.py ] \
    && [ "$STAMP" -nt ci/course_kernel/pyproject.toml ] \
    && "$VENV/bin/python" -c "import importlib.util as u, sys; sys.exit(not u.find_spec('lstmkit'))" \
        2>/dev/null; then
    exit 0
fi

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"lstmkit needs Python >= 3.10; {sys.executable} is {sys.version.split()[0]}")
PY

if [ ! -x "$VENV/bin/python" ]; then
    echo "bootstrap: creating $VENV with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$VENV"
fi
echo "bootstrap: installing lstmkit[dev] into $VENV (first time: a few minutes)"
# pip's own chatter (mirror folders, setuptools' editable-install notice) goes to a log, shown
# only when pip fails.
LOG="$VENV/pip-install.log"
pip_install() {
    if ! "$VENV/bin/python" -m pip install --quiet "$@" >"$LOG" 2>&1; then
        cat "$LOG" >&2
        echo "bootstrap: pip install $* failed (log: $LOG)" >&2
        exit 1
    fi
}
pip_install --upgrade pip
# ./ci/course_kernel: the quiet settings of every kernel of $VENV (the course kernel is its
# python3): TensorFlow's C++ start-up lines stay out of the notebooks.
pip_install ${CONSTRAINTS:+-c "$CONSTRAINTS"} -e ".[dev]" ./ci/course_kernel
touch "$STAMP"
echo "bootstrap: ready ($("$VENV/bin/python" -c 'import tensorflow as tf, keras; print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}")' 2>/dev/null))"
