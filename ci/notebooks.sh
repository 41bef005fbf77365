#!/usr/bin/env bash
# Re-execute the course notebooks in place so their stored outputs are current (`make notebooks`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh
# TQDM_DISABLE: no progress bars in the stored outputs (in JupyterLab they are widgets).
export PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=2 TQDM_DISABLE=1
export MPLBACKEND=module://matplotlib_inline.backend_inline
for nb in "${@:-notebooks/*.ipynb}"; do
    for f in $nb; do
        echo "executing $f"
        # lstmkit_cli.quiet: the kernels' TensorFlow start-up lines stay off the terminal too;
        # --log-level=CRITICAL: nor does the kernel's own start-up log (as lstmkit report runs it)
        .venv/bin/python -m lstmkit_cli.quiet .venv/bin/jupyter nbconvert --to notebook --execute --inplace \
            --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.kernel_name=python3 \
            --ExecutePreprocessor.extra_arguments=--log-level=CRITICAL "$f"
    done
done
