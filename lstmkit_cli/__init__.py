"""The ``lstmkit`` command: ``lstmkit report ...``, ``lstmkit bench ...``, ``lstmkit --version``.

It lives beside the ``lstmkit`` package, not in it, because ``import lstmkit`` imports Keras and
TensorFlow (it registers lstmkit's layers with Keras, so that ``.keras`` files holding them load
after ``import lstmkit``). This package imports only the standard library: ``--help``,
``--version`` and every usage error are answered in a fraction of a second, and the chosen
command's module (``lstmkit.report``, ``lstmkit.bench``, each with ``run(args) -> int``) is
imported only once its arguments are parsed and checked (:mod:`lstmkit_cli.arguments`).
The console script ``lstmkit``, ``python -m lstmkit_cli`` and ``python -m lstmkit`` (which imports
the package, and TensorFlow, first) all run :func:`main`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Callable, Sequence

from lstmkit_cli import arguments, console

__all__ = ["COMMANDS", "Parser", "build_parser", "main", "version"]

#: name -> (module with ``run(args)``, function declaring the options, one-line description)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], str]] = {
    "report": ("lstmkit.report", arguments.add_report_arguments,
               "execute the course notebooks into a reports folder (HTML too)"),
    "bench": ("lstmkit.bench", arguments.add_bench_arguments,
              "benchmark lstmkit's layers against Keras' side by side"),
}


def version() -> str:
    """The installed lstmkit's version, from its package metadata."""
    try:
        return importlib.metadata.version("lstmkit")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (lstmkit is not installed: pip install -e .)"


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit code 2), without
    the usage block: ``lstmkit bench: error: argument --batch: expected a positive ...``."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``lstmkit`` parser with one subparser per command (``prog`` ``lstmkit NAME``)."""
    parser = Parser(
        prog="lstmkit", description="The lstmkit course's commands.",
        epilog="Run `lstmkit COMMAND --help` for a command's options.")
    parser.add_argument("--version", action="version", version=f"lstmkit {version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parser.commands = {}  # name -> its parser, for errors in the command's own name
    for name, (_, add_arguments, help_) in COMMANDS.items():
        parser.commands[name] = commands.add_parser(name, help=help_, description=help_)
        add_arguments(parser.commands[name])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lstmkit COMMAND [options]`` and return its exit code: 2 for a usage error (one line
    on stderr, nothing run), else the command's."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # argparse would name `lstmkit`, not the command, as the one that refused
            before = argv.index(args.command) > argv.index(unknown[0])
            (parser if before else parser.commands[args.command]).error(
                f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exc:  # --help and --version (0), usage errors (2): already printed
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
    with console.quiet_tensorflow():
        module = importlib.import_module(COMMANDS[args.command][0])
        return int(module.run(args) or 0)
