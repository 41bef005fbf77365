"""Install the course's Jupyter kernel, ``python3``, into this Python's prefix (``--sys-prefix``),
quiet: what TensorFlow's C++ runtime writes to file descriptor 2 at start-up (``WARNING: All log
messages before absl::InitializeLog()``, ``I0000 ... cudart_stub``, ``E0000 ... failed call to
cuInit``, the oneDNN lines) stays out of the notebooks.

Measured with TensorFlow 2.21 in a real kernel: ``TF_CPP_MIN_LOG_LEVEL`` cannot do it (the
``cudart_stub`` line and absl's warning come before TensorFlow reads it, at any level, and level 3
would also hide real C++ errors); ipykernel forwards fd 2 into the notebook unless
``capture_fd_output`` is off. With it off, those lines go to the terminal that started JupyterLab
(or nbconvert, papermill, nbval) instead. Python's own ``sys.stderr`` is still shown in the
notebook, so warnings about a learner's code (``warnings.warn``, Keras' and TensorFlow's Python
warnings, tracebacks) still appear there.

``jupyter lab``, ``ci/notebooks.sh``, nbval (``ci/test.sh``) and papermill (``lstmkit report``)
all start the kernel from this spec. ``ci/bootstrap.sh`` runs this script; it is idempotent.
Usage: ``python ci/install_kernel.py [--prefix PREFIX]`` (default: ``sys.prefix``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

KERNEL_NAME = "python3"
DISPLAY_NAME = "Python 3 (lstmkit)"
# ipykernel: do not forward what C/C++ libraries write to fds 1 and 2 into the notebook.
QUIET_ARGUMENTS = ["--IPKernelApp.capture_fd_output=False"]
# TensorFlow's C++ INFO and WARNING lines once it has read its settings (the terminal is quieter).
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def kernel_spec(executable: str | None = None) -> dict[str, Any]:
    """The ``kernel.json`` of the course kernel: ipykernel's own, plus the quiet settings."""
    from ipykernel.kernelspec import get_kernel_dict

    spec = get_kernel_dict(extra_arguments=QUIET_ARGUMENTS,
                           python_arguments=["-Xfrozen_modules=off"])  # as `ipykernel install`
    if executable is not None:
        spec["argv"][0] = executable
    spec["display_name"] = DISPLAY_NAME
    spec["env"] = dict(QUIET_ENV)
    return spec


def is_quiet(spec: dict[str, Any]) -> bool:
    """Whether a ``kernel.json`` (as a dict) carries the quiet settings."""
    env = spec.get("env") or {}
    return (all(a in spec.get("argv", []) for a in QUIET_ARGUMENTS)
            and all(env.get(k) == v for k, v in QUIET_ENV.items()))


def install(prefix: str | Path | None = None) -> Path:
    """Install (or replace) the ``python3`` kernelspec under ``prefix``/share/jupyter/kernels;
    return its folder."""
    from ipykernel.kernelspec import RESOURCES
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / KERNEL_NAME
        shutil.copytree(RESOURCES, staged)  # the logos
        (staged / "kernel.json").write_text(json.dumps(kernel_spec(), indent=1) + "\n")
        dest = KernelSpecManager().install_kernel_spec(
            str(staged), kernel_name=KERNEL_NAME, prefix=str(prefix or sys.prefix))
    return Path(dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", default=sys.prefix,
                        help="install under PREFIX/share/jupyter/kernels (default: %(default)s)")
    dest = install(parser.parse_args(argv).prefix)
    print(f"install_kernel: {KERNEL_NAME} ({DISPLAY_NAME}) in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
