"""nbval settings for the course notebooks, kept out of ``notebooks/`` (which learners browse).

Loaded by ``ci/test.sh``: ``python -m pytest -p ci.nbval_plugin --nbval ... notebooks/*.ipynb``
from the repository root. Every output is compared after ``ci/nbval_sanitize.cfg``, stderr
included: the course kernel (``python3`` with the settings of ``ci/course_kernel``) keeps
TensorFlow's C++ start-up lines out of the notebooks, so a line on stderr is a real warning and
must be in the stored outputs too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars, as in the stored outputs

#: The course's kernel settings, installed as <prefix>/etc/ipython/ipython_kernel_config.py by
#: ``pip install ./ci/course_kernel`` (ci/bootstrap.sh and environment.yml do).
SETTINGS = Path(__file__).with_name("course_kernel") / "ipython_kernel_config.py"
KERNEL_NAME = "python3"  # the stock ipykernel spec; the settings make it the course kernel
INSTALL = "pip install ./ci/course_kernel"


def _kernel_prefix(argv0: str) -> Path:
    """``sys.prefix`` of the Python a kernel spec starts (jupyter_client runs ``sys.executable``
    for a bare ``python``/``python3``)."""
    if argv0 in {sys.executable, "python", f"python{sys.version_info[0]}",
                 "python{}.{}".format(*sys.version_info[:2])}:
        return Path(sys.prefix)
    found = subprocess.run([argv0, "-c", "import sys; print(sys.prefix)"],
                           capture_output=True, text=True, timeout=60)
    return Path(found.stdout.strip())


def is_quiet(spec: dict[str, Any]) -> bool:
    """Whether a kernel started from ``spec`` (a ``kernel.json`` as a dict) runs with the course's
    settings: its Python's environment has them installed, and its command line does not turn
    ipykernel's fd capture back on."""
    argv = spec.get("argv") or []
    if not argv or any(a.replace(" ", "").startswith("--IPKernelApp.capture_fd_output=")
                       and not a.endswith("=False") for a in argv):
        return False
    installed = _kernel_prefix(argv[0]) / "etc" / "ipython" / SETTINGS.name
    return installed.is_file() and installed.read_text() == SETTINGS.read_text()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which turns "no" into "load"
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With pytest-xdist (``-n``), keep each notebook on one worker, its cells in order
    (``--dist loadfile``, as ``ci/test.sh`` asks): spread over workers, a notebook's cells run in
    kernels that never ran the cells before them, and fail."""
    option = config.option
    if getattr(option, "numprocesses", None) and getattr(option, "dist", "no") in ("no", "load"):
        option.dist = "loadfile"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to compare stderr with a kernel that would forward TensorFlow's C++ lines."""
    if not session.config.getoption("nbval", False) and not session.config.getoption(
            "nbval_lax", False):
        return
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        spec = None
    if spec is None or not is_quiet(spec.to_dict()):
        pytest.exit(f"the Jupyter kernel {KERNEL_NAME!r} is missing or runs without the course's "
                    "quiet settings (TensorFlow's C++ lines would reach stderr); install them with "
                    f"`{INSTALL}` (ci/bootstrap.sh does)", returncode=4)
