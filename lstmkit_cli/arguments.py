"""The options of ``lstmkit report`` and ``lstmkit bench``, and the checks of their values.

Standard library only: ``lstmkit --help`` and every usage error are answered from here, before
TensorFlow is imported. Each check is an argparse ``type=`` function, so a bad value stops the
command with exit code 2 and one line, ``lstmkit bench: error: argument --batch: ...``, before
any work starts. Values that make no sense are refused, never replaced by a default.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

#: ``lstmkit bench``'s reference shape (the issue's): batch, steps, features, units.
REFERENCE = {"batch": 64, "steps": 100, "features": 32, "units": 128}
SWEEP_STEPS = (25, 50, 100, 200, 400)
SWEEP_BATCH = (1, 8, 32, 64, 128, 256)
#: ``lstmkit report`` writes to ``--out``/``--name``: reports/latest by default.
DEFAULT_RUN_NAME = "latest"
MAX_SEED = 2**32 - 1  # NumPy's seeds, which keras.utils.set_random_seed sets too


def _integer(text: str, kind: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer >= 1 (sizes, rounds, timeouts)."""
    value = _integer(text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (warm-up calls)."""
    value = _integer(text, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def seed(text: str) -> int:
    """A random seed: an integer in [0, 2**32 - 1]."""
    kind = f"an integer in [0, {MAX_SEED}]"
    value = _integer(text, kind)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}")
    return value


def positive_int_list(text: str) -> list[int]:
    """Comma-separated positive integers such as ``25,50,100``."""
    parts = [part.strip() for part in text.split(",")]
    try:
        values = [int(part) for part in parts]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like 25,50; got {text!r}")
    return values


def name_list(text: str) -> list[str]:
    """Comma-separated non-empty names such as ``lstmkit.LSTM,SimpleRNN``."""
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated names like lstmkit.LSTM,SimpleRNN; got {text!r}")
    return names


def output_dir(text: str) -> Path:
    """A folder to write into: an existing folder, or one that can be created (no file in the
    way, and the nearest existing folder above it writable)."""
    path = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("expected a folder, got ''")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot create folder {text!r}: {str(existing)!r} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(
            f"cannot write to {text!r}: {str(existing)!r} is not writable")
    return path


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``lstmkit report``'s options on ``parser``."""
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="notebooks to run, by file name, stem or number prefix (e.g. 03); "
                             "default: all, in order")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="set a parameter in every chosen notebook that has it")
    parser.add_argument("-f", "--parameters-file", type=Path, metavar="YAML",
                        help="parameter set, e.g. params/full.yaml (sections keyed by notebook)")
    parser.add_argument("--out", type=output_dir, default=Path("reports"), metavar="DIR",
                        help="folder that holds the runs (default: reports)")
    parser.add_argument("--name", default=DEFAULT_RUN_NAME, metavar="RUN",
                        help=f"run name: the report goes to DIR/RUN (default: {DEFAULT_RUN_NAME}, "
                             "replaced by each run)")
    parser.add_argument("--no-html", action="store_true", help="skip the HTML conversion")
    parser.add_argument("--notebooks-dir", type=Path, default=Path("notebooks"), metavar="DIR",
                        help="where the notebooks are (default: notebooks)")
    parser.add_argument("--list", action="store_true",
                        help="list the notebooks and their parameters (with defaults), run nothing")
    parser.add_argument("--cell-timeout", type=positive_int, default=600, metavar="SECONDS",
                        help="fail a notebook whose cell runs longer (default: 600)")


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``lstmkit bench``'s options on ``parser``. ``None`` means "the default", which
    depends on ``--quick`` (``lstmkit.bench._settings`` resolves it)."""
    shape = parser.add_argument_group("reference shape")
    for name, value in REFERENCE.items():
        shape.add_argument(f"--{name}", type=positive_int, default=None, help=f"default {value}")
    parser.add_argument("--rounds", type=positive_int, default=None,
                        help="timed rounds (default 10)")
    parser.add_argument("--eager-rounds", type=positive_int, default=None,
                        help="rounds for the slow eager Python loop (default 3)")
    parser.add_argument("--warmup", type=non_negative_int, default=None,
                        help="untimed calls before timing (default 2)")
    for axis, values in (("steps", SWEEP_STEPS), ("batch", SWEEP_BATCH)):
        what = "step counts" if axis == "steps" else "batch sizes"
        parser.add_argument(f"--sweep-{axis}", type=positive_int_list, default=None,
                            help=f"comma-separated {what} (default {','.join(map(str, values))})")
    parser.add_argument("--sweep-rounds", type=positive_int, default=None,
                        help="rounds per sweep point (default 5)")
    parser.add_argument("--no-sweeps", action="store_true", help="only the reference shape")
    parser.add_argument("--no-xla", action="store_true", help="skip the jit_compile variants")
    parser.add_argument("--matmul-size", type=positive_int, default=None,
                        help="n of the (n, n) @ (n, n) product (default 2048)")
    parser.add_argument("--only", type=name_list, default=None,
                        help="comma-separated substrings: time only the configurations and the "
                             "matrix rows that run a layer whose name contains one (with the "
                             "baselines they are compared with)")
    matrix = parser.add_argument_group("workload matrix (lstmkit.workloads)")
    which = matrix.add_mutually_exclusive_group()
    which.add_argument("--workloads", action="store_true",
                       help="run only the workload matrix (no reference configurations, sweeps)")
    which.add_argument("--no-workloads", action="store_true", help="skip the workload matrix")
    matrix.add_argument("--fit-rounds", type=positive_int, default=None,
                        help="timed fit epochs per model, after a warm-up one (default 5)")
    matrix.add_argument("--cold-rounds", type=positive_int, default=None,
                        help="cold first fit epochs per model, each in a fresh process (default 3)")
    parser.add_argument("--seed", type=seed, default=0,
                        help="seed of inputs and weights (default 0)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny shapes and few rounds (for tests): checks everything, measures "
                             "nothing useful")
    parser.add_argument("--out", type=output_dir, default=Path("reports/bench"), metavar="DIR",
                        help="folder for bench.json and bench.png (default reports/bench)")
