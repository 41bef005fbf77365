"""The lstmkit course's settings for every IPython kernel of this environment: quiet.

``pip install ./ci/course_kernel`` (ci/bootstrap.sh does; environment.yml's pip section does)
installs this file as ``<prefix>/etc/ipython/ipython_kernel_config.py``. IPython reads it at the
start of every kernel whose Python is that environment's, so the stock ``python3`` kernel that
``make lab``, nbconvert (``ci/notebooks.sh``), nbval (``ci/test.sh``) and papermill
(``lstmkit report``) start is the course kernel, with nothing else to install or keep in step.

What it does, measured with TensorFlow 2.21 in a real kernel: what TensorFlow's C++ runtime
writes to file descriptor 2 at start-up (``WARNING: All log messages before
absl::InitializeLog()``, ``I0000 ... cudart_stub``, ``E0000 ... failed call to cuInit``, the
oneDNN lines) stays out of the notebooks. ``TF_CPP_MIN_LOG_LEVEL`` alone cannot do it (the
``cudart_stub`` line and absl's warning come before TensorFlow reads it, at any level, and level 3
would also hide real C++ errors); ipykernel forwards fd 2 into the notebook unless
``capture_fd_output`` is off. With it off, those lines go to the terminal that started the kernel
instead, where ``TF_CPP_MIN_LOG_LEVEL=2`` keeps TensorFlow's INFO and WARNING lines out too.
Python's own ``sys.stderr`` is still shown in the notebook, so warnings about a learner's code
(``warnings.warn``, Keras' and TensorFlow's Python warnings, tracebacks) still appear there.

On x86-64 it also caps the instruction set of the two libraries that pick their kernels by CPU at
run time: oneDNN (TensorFlow's matmuls and convolutions, ``ONEDNN_MAX_CPU_ISA=AVX2``) and OpenBLAS
(NumPy's ``@``, ``OPENBLAS_CORETYPE=Haswell``). On an AVX-512 or AMX machine they otherwise sum in
another order than on an AVX2 one, so the last digits of the stored outputs (``max |diff| = 3e-07``
where 5e-07 was stored) and, through hundreds of training steps, whole learning curves would
depend on the machine that ran the notebook. Measured on a Sapphire Rapids Xeon against outputs
stored on an AVX2 machine: 28 of the 252 checked cells differed uncapped; with the caps notebooks
01 and 02 reproduce exactly (``XLA_FLAGS=--xla_cpu_max_isa=AVX2`` changed no bit, so it is not
set). Both are read when the library loads (after this file runs: ipykernel
imports neither NumPy nor TensorFlow first), and a value already in the environment wins.
"""

import os
import platform

c = get_config()  # noqa: F821 (IPython's config loader provides get_config)
# ipykernel: do not forward what C/C++ libraries write to fds 1 and 2 into the notebook.
c.IPKernelApp.capture_fd_output = False
# TensorFlow's C++ INFO and WARNING lines once it has read its settings (the terminal is quieter).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Same numbers on every x86-64 machine with AVX2 (see the docstring); other CPUs are left alone.
if platform.machine().lower() in {"x86_64", "amd64"}:
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
