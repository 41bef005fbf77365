"""nbval settings for the course notebooks, kept out of ``notebooks/`` (which learners browse).

Loaded by ``ci/test.sh``: ``python -m pytest -p ci.nbval_plugin --nbval ... notebooks/*.ipynb``
from the repository root. Every output is compared after ``ci/nbval_sanitize.cfg``, stderr
included: the course kernel (``ci/install_kernel.py``) keeps TensorFlow's C++ start-up lines out
of the notebooks, so a line on stderr is a real warning and must be in the stored outputs too.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars, as in the stored outputs

_INSTALLER = Path(__file__).with_name("install_kernel.py")


def _installer():
    spec = importlib.util.spec_from_file_location("lstmkit_ci_install_kernel", _INSTALLER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to compare stderr with a kernel that would forward TensorFlow's C++ lines."""
    if not session.config.getoption("nbval", False) and not session.config.getoption(
            "nbval_lax", False):
        return
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    installer = _installer()
    try:
        spec = KernelSpecManager().get_kernel_spec(installer.KERNEL_NAME)
    except NoSuchKernel:
        spec = None
    if spec is None or not installer.is_quiet(spec.to_dict()):
        pytest.exit(f"the Jupyter kernel {installer.KERNEL_NAME!r} is missing or not the course's "
                    "quiet one (TensorFlow's C++ lines would reach stderr); install it with "
                    "`python ci/install_kernel.py` (ci/bootstrap.sh does)", returncode=4)
