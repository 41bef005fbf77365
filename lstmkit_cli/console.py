"""Keep TensorFlow's C++ log lines off the console of ``lstmkit report`` and ``lstmkit bench``.

``TF_CPP_MIN_LOG_LEVEL`` hides most of them, but not all: TensorFlow 2.21 logs through Abseil,
which writes every message logged before ``absl::InitializeLog()`` to stderr whatever the level
(``cudart_stub.cc: Could not find cuda drivers``, with a ``WARNING: All log messages before
absl::InitializeLog() ...`` line, once per library loaded), and a machine without a GPU adds an
ERROR line ``failed call to cuInit``; and the first transpose of booleans (a mask made time-major,
as ``keras.layers.LSTM`` makes it) logs the ERROR ``oneDNN supports DT_BOOL only on platforms
with AVX-512. Falling back to the default Eigen-based implementation`` on any CPU, AVX-512 or not,
and then runs TensorFlow's usual kernel; TensorFlow 2.16 (the oldest admitted) adds ERROR lines
``Unable to register cuFFT factory`` and the like. They come from C++ (and from the Jupyter
kernels and other processes a command starts), so Python's ``sys.stderr`` never sees them.
:func:`quiet_tensorflow` therefore points file descriptor 2 at a pipe and copies what comes
through to the real stderr, less the lines whose severity ``TF_CPP_MIN_LOG_LEVEL`` says to hide
(1: INFO, 2: and WARNING, 3: and ERROR; ``0`` copies everything), and, from level 2 on, those
ERROR messages, which report nothing wrong (``_HARMLESS``). When the real stderr is no terminal
(a log file, CI), it also turns progress bars off (``TQDM_DISABLE=1`` unless set): redrawn with
carriage returns, a bar would write hundreds of partial lines into the file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator

#: One Abseil/glog record: severity, month and day, time, thread, file:line, message, as in
#: ``I0512 10:01:02.345678   20730 cudart_stub.cc:31] ...`` (before ``absl::InitializeLog()``
#: the date is 0000 and the seconds count from 1970); or, as TensorFlow 2.16 (the oldest
#: admitted) writes them, date, time, severity, file:line, message:
#: ``2026-12-04 19:22:06.176424: E external/.../cuda_fft.cc:479] ...``. cpu_feature_guard's
#: runs over two lines.
RECORD = re.compile(
    rb"(?:([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+"
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF])) [\w./+-]+:\d+\] ([^\n]*)\n"
    rb"(?:To enable the following instructions:[^\n]*\n)?")
PREAMBLE = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR\n")
_RANK = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}
#: ERROR messages that report nothing wrong: "this machine has no GPU"; oneDNN declining a
#: dtype other than float for TensorFlow's own kernel (whatever the CPU); and TensorFlow 2.16
#: finding its CUDA plugins registered already (on a machine without a GPU).
_HARMLESS = re.compile(
    rb"failed call to cuInit"
    rb"|oneDNN supports DT_\w+ only on platforms with AVX-512\. Falling back to the default"
    rb"|Unable to register cu\w+ factory: Attempting to register factory for plugin cu\w+ when"
    rb" one has already been registered")


def min_log_level() -> int:
    """``TF_CPP_MIN_LOG_LEVEL`` as an integer (0 when unset or not a number)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def strip_tf_logs(data: bytes, level: int) -> bytes:
    """``data`` without the records below ``level`` (and, from level 2, the harmless ERROR
    messages)."""
    if level <= 0:
        return data

    def keep(match: re.Match[bytes]) -> bytes:
        rank = _RANK[match.group(1) or match.group(2)]
        hidden = rank < level or (level >= 2 and _HARMLESS.search(match.group(3)) is not None)
        return b"" if hidden and rank < 3 else match.group(0)

    return PREAMBLE.sub(b"", RECORD.sub(keep, data))


def _copy(source: int, target: int, level: int) -> None:
    """Copy ``source`` to ``target`` until end of file, filtering each chunk.

    A record is written with one ``write`` of less than ``PIPE_BUF`` bytes, which a pipe keeps
    whole, so filtering chunk by chunk finds every record; the progress bars' partial lines pass
    at once."""
    while True:
        try:
            data = os.read(source, 1 << 16)
        except OSError:
            return
        if not data:
            return
        try:
            data = strip_tf_logs(data, level)
        except Exception:  # never lose the console over a filter bug
            pass
        while data:
            try:
                data = data[os.write(target, data):]
            except OSError:
                break


@contextlib.contextmanager
def quiet_tensorflow() -> Iterator[None]:
    """Filter TensorFlow's C++ log lines out of file descriptor 2 for the duration, in this
    process and in the processes it starts (they inherit the descriptor)."""
    level = min_log_level()
    try:
        original = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep clean
        yield
        return
    terminal = os.isatty(original)
    if terminal:  # progress bars size themselves from the terminal, not the pipe
        os.environ.setdefault("COLUMNS", str(shutil.get_terminal_size().columns))
    no_bars = not terminal and "TQDM_DISABLE" not in os.environ
    if no_bars:  # a log file or CI: a bar redrawn with carriage returns would fill it with lines
        os.environ["TQDM_DISABLE"] = "1"
    read_end, write_end = os.pipe()
    copier = threading.Thread(target=_copy, args=(read_end, original, level),
                              name="lstmkit-stderr", daemon=True)
    copier.start()
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(original, 2)  # the pipe's last writer here: the copier sees its end
        if no_bars:
            os.environ.pop("TQDM_DISABLE", None)
        copier.join(timeout=5)  # a process still holding the pipe must not hang the command
        if not copier.is_alive():
            os.close(read_end)
            os.close(original)
