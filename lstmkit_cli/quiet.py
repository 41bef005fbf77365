"""``python -m lstmkit_cli.quiet COMMAND [ARGS...]``: run a command with TensorFlow's C++ log
lines filtered out of its stderr, as ``lstmkit report`` and ``lstmkit bench`` filter their own
(:func:`lstmkit_cli.console.quiet_tensorflow`). ``make notebooks``, ``make lab`` and the nbval
step of ``make test`` run Jupyter through it, so that the kernels' start-up lines, which the
course kernel keeps out of the notebooks, do not reach the terminal either."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from lstmkit_cli.console import quiet_tensorflow


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``argv`` (a command and its arguments) and return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("usage: python -m lstmkit_cli.quiet COMMAND [ARGS...]", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_tensorflow():
        try:
            child = subprocess.Popen(argv)
        except FileNotFoundError:
            print(f"lstmkit_cli.quiet: {argv[0]}: command not found", file=sys.stderr)
            return 127
        # Ctrl-C is the command's to handle (JupyterLab asks before it stops); this process
        # waits for it, so that its stderr stays filtered to the end.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return child.wait()
        finally:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
