"""The ``lstmkit`` command line: ``lstmkit report ...`` and ``lstmkit bench ...``.

Each subcommand lives in its own module, which exposes
``add_arguments(parser: argparse.ArgumentParser) -> None`` and ``run(args) -> int``.
Only the chosen subcommand's module is imported, so one command's dependencies never break
another.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, tuple[str, str]] = {
    "report": ("lstmkit.report", "execute the course notebooks into a reports folder (HTML too)"),
    "bench": ("lstmkit.bench", "benchmark lstmkit's layers against Keras' side by side"),
}


def _usage() -> str:
    lines = ["usage: lstmkit {" + ",".join(COMMANDS) + "} [options]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run `lstmkit COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lstmkit COMMAND [options]`` and return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"lstmkit: unknown command {name!r}; choose one of: {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"lstmkit {name}", description=help_)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(rest)) or 0)


if __name__ == "__main__":
    sys.exit(main())
