"""What made a run of ``lstmkit report``: versions, checkout, machine, kernel.

:func:`collect` returns ``(label, value)`` rows for the report's ``index.html``. It imports
TensorFlow (its version, and the GPUs it sees), so the report calls it after the notebooks have
run; nothing here runs for ``--help`` or argument checks. The versions are those of this
interpreter; the kernel's interpreter is named, with a note when it is another one.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

NOT_A_CHECKOUT = "not a git checkout"


def _git(directory: Path, *args: str) -> str | None:
    """The output of ``git -C directory ARGS``, stripped; None when git or the checkout is
    missing or the command fails."""
    try:
        done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True,
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit(directory: Path) -> str:
    """``<commit> (<branch>)`` of the checkout holding ``directory``, with a note when tracked
    files have uncommitted changes; :data:`NOT_A_CHECKOUT` outside a git checkout."""
    commit = _git(directory, "rev-parse", "HEAD")
    if not commit:
        return NOT_A_CHECKOUT
    branch = _git(directory, "rev-parse", "--abbrev-ref", "HEAD")
    text = commit + (f" ({branch})" if branch and branch != "HEAD" else "")
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    if status:
        text += f", with uncommitted changes to {len(status.splitlines())} tracked file(s)"
    return text


#: The vector instruction sets that decide how fast the loops' products and TensorFlow's kernels
#: run, as /proc/cpuinfo names them: two CPUs of one model name may differ here (a virtual
#: machine may hide AVX-512 or AMX).
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
                "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve")


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        return []


def cpu_name() -> str:
    """The CPU's model name: /proc/cpuinfo's where there is one, else what :mod:`platform`
    says."""
    for line in _cpuinfo():
        if line.lower().startswith(("model name", "hardware", "cpu model")):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags() -> list[str]:
    """Which of :data:`VECTOR_FLAGS` the CPU has, in that order, from the first ``flags`` (x86)
    or ``Features`` (Arm) line of /proc/cpuinfo; empty where there is no such file."""
    for line in _cpuinfo():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            present = set(value.split())
            return [flag for flag in VECTOR_FLAGS if flag in present]
    return []


def cpu_model() -> str:
    """The CPU's model name, its logical cores and its vector instruction sets
    (:func:`cpu_flags`), on one line."""
    flags = cpu_flags()
    text = f"{cpu_name()}, {os.cpu_count() or '?'} logical cores"
    return text + (f" ({' '.join(flags)})" if flags else "")


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 (where C++ libraries log) to /dev/null meanwhile."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (an embedded interpreter): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def gpus() -> str:
    """The GPUs TensorFlow sees (physical devices: listing them allocates no GPU memory)."""
    try:
        import tensorflow as tf

        with _quiet_stderr():  # TensorFlow's C++ logs "failed call to cuInit" without a GPU
            found = tf.config.list_physical_devices("GPU")
        names = []
        for device in found:
            try:
                details = tf.config.experimental.get_device_details(device)
            except (ValueError, RuntimeError):
                details = {}
            capability = details.get("compute_capability")
            names.append(details.get("device_name", device.name)
                         + (f" (compute capability {capability[0]}.{capability[1]})"
                            if capability else ""))
        built = "built with CUDA" if tf.test.is_built_with_cuda() else "built without CUDA"
    except Exception as exc:  # provenance must never fail the report
        return f"unknown ({type(exc).__name__}: {exc})"
    return (", ".join(names) if names else "none visible to TensorFlow") + f"; TensorFlow {built}"


def _version(module: str) -> str:
    try:
        return str(__import__(module).__version__)
    except Exception as exc:  # noqa: BLE001 - report what is there
        return f"unknown ({type(exc).__name__})"


def kernel_interpreter(argv: list[str]) -> str:
    """The interpreter a kernel spec's ``argv`` starts, noting when it is not this one."""
    found = shutil.which(argv[0]) if argv else None
    try:
        same = found is not None and os.path.samefile(found, sys.executable)
    except OSError:
        same = False
    note = "" if same else " (not the Python above: the kernel's versions may differ)"
    return f"{found or (argv[0] if argv else '?')}{note}"


def collect(notebooks_dir: Path, kernel_argv: list[str] | None = None) -> list[tuple[str, str]]:
    """``(label, value)`` rows: versions, git commit, machine, and the kernel's interpreter."""
    import lstmkit

    package_dir = Path(lstmkit.__file__).resolve().parent
    rows = [
        ("lstmkit", f"{lstmkit.__version__} ({package_dir})"),
        ("TensorFlow", _version("tensorflow")),
        ("Keras", _version("keras")),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()}, "
                   f"{sys.executable})"),
    ]
    if kernel_argv:
        rows.append(("kernel", kernel_interpreter(kernel_argv)))
    course = git_commit(notebooks_dir)
    rows.append(("git commit", course))
    lstmkit_top = _git(package_dir, "rev-parse", "--show-toplevel")
    if lstmkit_top and lstmkit_top != _git(notebooks_dir, "rev-parse", "--show-toplevel"):
        rows.append(("git commit of lstmkit", f"{git_commit(package_dir)} in {lstmkit_top}"))
    rows += [
        ("operating system", platform.platform()),
        ("CPU", cpu_model()),
        ("GPU", gpus()),
    ]
    return rows
