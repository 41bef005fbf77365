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
"""

import os

c = get_config()  # noqa: F821 (IPython's config loader provides get_config)
# ipykernel: do not forward what C/C++ libraries write to fds 1 and 2 into the notebook.
c.IPKernelApp.capture_fd_output = False
# TensorFlow's C++ INFO and WARNING lines once it has read its settings (the terminal is quieter).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
