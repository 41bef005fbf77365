"""The ``lstmkit`` command line, kept in :mod:`lstmkit_cli` so that ``--help``, ``--version``
and usage errors need no TensorFlow; ``lstmkit.cli.main`` is the same function."""

from __future__ import annotations

import sys

from lstmkit_cli import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
