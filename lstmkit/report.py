"""``lstmkit report``: execute the course notebooks with papermill into a reports folder.

Each chosen notebook (all of ``notebooks/*.ipynb`` in order by default) is executed with the
``python3`` kernel (the one ``ci/bootstrap.sh`` installs into ``.venv``) into
``<out>/<run name>/`` (default ``reports/latest/``), converted to HTML with nbconvert, and listed
in ``index.html`` with its status, duration, parameters and, when it failed, the failing cell and
error. A notebook that fails does not stop the others; the exit code is then 1 (2 for bad
arguments). The run name defaults to ``latest``, so ``make report`` always refreshes
``reports/latest/index.html``; ``--name RUN`` keeps a run beside it. ``--list`` prints each
notebook's parameters and defaults.

Parameters come from papermill's ``parameters`` cell of each notebook. They can be set with
``-p NAME VALUE`` (applied to every chosen notebook that has NAME; values are read as papermill
reads them: ``True``/``False``/``None``, int, float, else a string) and with ``-f FILE.yaml``
(see ``params/full.yaml``): a top-level key naming a notebook (stem, file name or number prefix)
holds that notebook's parameters; any other top-level key is a parameter applied to every notebook
that has it. ``-p`` wins over a notebook's section, which wins over top-level keys. Unknown
notebooks, unknown parameter names and values of the wrong type are rejected before anything runs.

The run is made in a hidden sibling folder (``<out>/.<run>.partial-*``) and replaces
``<out>/<run>/`` as a whole only when it is complete: an interrupted run (Ctrl-C, exit code 130)
leaves the previous report exactly as it was. The HTML pages work offline (see
:mod:`lstmkit.report_html`); ``index.html`` records what made the run (:mod:`lstmkit.provenance`).

The notebooks are not part of an installed ``lstmkit``: run it from a checkout of the course, or
pass ``--notebooks-dir``. Executing them needs the ``report`` extra (papermill, nbconvert, ...):
its absence is named in one line, before anything runs.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# papermill, nbformat, nbconvert, yaml, tqdm and jupyter_client (the ``report`` extra) are
# imported where they are used, so ``--help`` stays fast and their absence is one clear line.

KERNEL_NAME = "python3"
DEFAULT_RUN_NAME = "latest"
# module -> distribution, for the "not installed" message
REQUIRED = {"papermill": "papermill", "nbformat": "nbformat", "yaml": "pyyaml", "tqdm": "tqdm",
            "jupyter_client": "jupyter_client"}
REQUIRED_FOR_HTML = {"nbconvert": "nbconvert", "jupyter_server_mathjax": "jupyter-server-mathjax"}

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colours in tracebacks and error values
_TYPES: dict[str, type] = {
    t.__name__: t for t in (bool, int, float, str, list, tuple, dict)
}


class ReportError(Exception):
    """A problem with the command's arguments, found before any notebook runs."""


@dataclass(frozen=True)
class Notebook:
    """A course notebook and the parameters papermill infers from its ``parameters`` cell."""

    path: Path
    parameters: Mapping[str, Mapping[str, Any]]

    @property
    def stem(self) -> str:
        """The file name without ``.ipynb``, e.g. ``03_driving_cells``."""
        return self.path.stem

    def parameter_list(self) -> str:
        """The parameter names, comma-separated, for error messages."""
        return ", ".join(self.parameters) or "(none: no cell tagged 'parameters')"


@dataclass
class Result:
    """The outcome of executing one notebook."""

    notebook: Notebook
    parameters: dict[str, Any]
    status: str = "ok"
    seconds: float = 0.0
    error: str | None = None
    html: bool = False
    title: str = ""
    messages: list[str] = field(default_factory=list)


def check_dependencies(html_too: bool) -> None:
    """Raise ReportError naming the missing modules of the ``report`` extra, if any."""
    wanted = {**REQUIRED, **(REQUIRED_FOR_HTML if html_too else {})}
    missing = []
    for module, distribution in wanted.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(distribution)
    if missing:
        raise ReportError(f"{', '.join(missing)} not installed (needed to run the notebooks); "
                          f"install them with: pip install {' '.join(missing)} (lstmkit's "
                          "`report` extra)")


def load_notebooks(directory: Path) -> list[Notebook]:
    """Every ``*.ipynb`` in ``directory``, sorted by name, with its inferred parameters."""
    import papermill

    where = ("run it in a checkout of the lstmkit course (an installed lstmkit does not ship "
             "the notebooks) or pass --notebooks-dir DIR")
    if not directory.is_dir():
        raise ReportError(f"notebooks directory {str(directory)!r} does not exist; {where}")
    paths = sorted(directory.glob("*.ipynb"))
    if not paths:
        raise ReportError(f"no notebooks (*.ipynb) in {str(directory)!r}; {where}")
    notebooks = []
    for path in paths:
        try:
            notebooks.append(Notebook(path, papermill.inspect_notebook(str(path))))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ReportError(f"cannot read notebook {path.name}: {exc}") from exc
    return notebooks


def find_notebook(name: str, notebooks: Sequence[Notebook]) -> Notebook | None:
    """The notebook called ``name`` (file name, stem or number prefix such as ``03``), if any."""
    for nb in notebooks:
        prefix = nb.stem.split("_", 1)[0]
        if name in (nb.path.name, nb.stem, prefix):
            return nb
        if name.isdigit() and prefix.isdigit() and int(name) == int(prefix):
            return nb
    return None


def select_notebooks(names: Sequence[str], notebooks: Sequence[Notebook]) -> list[Notebook]:
    """The notebooks named in ``names`` (in the order given), or all of them when none is named."""
    if not names:
        return list(notebooks)
    chosen = []
    for name in names:
        nb = find_notebook(name, notebooks)
        if nb is None:
            valid = ", ".join(n.stem for n in notebooks)
            raise ReportError(f"unknown notebook {name!r}; the notebooks are: {valid}")
        if nb not in chosen:
            chosen.append(nb)
    return chosen


def parse_cli_value(raw: str) -> Any:
    """Read a ``-p`` value as papermill does: True/False/None, then int, then float, else str."""
    if raw in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[raw]
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


def expected_type(spec: Mapping[str, Any]) -> type | None:
    """The type a parameter must have: its annotation, else its default's type; None if unknown."""
    annotation = str(spec.get("inferred_type_name", "None")).split("[", 1)[0].strip()
    if annotation in _TYPES:
        return _TYPES[annotation]
    try:
        default = ast.literal_eval(str(spec.get("default", "")))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return _TYPES.get(type(default).__name__)


def check_value(nb: Notebook, name: str, value: Any, raw: str | None = None) -> Any:
    """``value`` for parameter ``name`` of ``nb`` if its type fits (int accepted for float).

    ``raw`` is the text typed after ``-p``: a string parameter takes it verbatim, and a
    list, tuple or dict parameter reads it as a Python literal.
    Raises ReportError for an unknown name or a value of the wrong type.
    """
    if name not in nb.parameters:
        raise ReportError(f"unknown parameter {name!r} for notebook {nb.stem}; "
                          f"its parameters are: {nb.parameter_list()}")
    spec = nb.parameters[name]
    want = expected_type(spec)
    if want is None:
        return value
    if raw is not None and want is str:
        return raw
    if raw is not None and want in (list, tuple, dict):
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
        list: isinstance(value, list | tuple),
        tuple: isinstance(value, list | tuple),
        dict: isinstance(value, dict),
    }[want]
    if not ok:
        raise ReportError(
            f"parameter {name} of {nb.stem} expects {want.__name__} (default {spec['default']}), "
            f"got {value!r} ({type(value).__name__})")
    return float(value) if want is float else value


def load_params_file(path: Path) -> dict[str, Any]:
    """The mapping in a parameters YAML file (an empty file is an empty mapping)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"cannot read parameters file {str(path)!r}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ReportError(f"parameters file {str(path)!r} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ReportError(f"parameters file {str(path)!r} must hold a mapping, "
                          f"not {type(data).__name__}")
    return data


def resolve_parameters(
    selected: Sequence[Notebook],
    every: Sequence[Notebook],
    cli: Sequence[tuple[str, str]] = (),
    file_params: Mapping[str, Any] | None = None,
    file_name: str = "parameters file",
) -> dict[Path, dict[str, Any]]:
    """The parameters each selected notebook runs with, validated against its parameters cell.

    ``every`` is all notebooks of the course, against which the file's keys are checked
    (a file may hold sections for notebooks that are not run this time).
    """
    resolved: dict[Path, dict[str, Any]] = {nb.path: {} for nb in selected}
    by_name: dict[str, list[Notebook]] = {}
    for nb in every:
        for name in nb.parameters:
            by_name.setdefault(name, []).append(nb)

    sections: list[tuple[Notebook, Mapping[str, Any]]] = []
    for key, value in (file_params or {}).items():
        nb = find_notebook(str(key), every)
        if nb is not None:
            if not isinstance(value, Mapping):
                raise ReportError(f"{file_name}: {key!r} names notebook {nb.stem}, so it must "
                                  f"map parameter names to values, not hold {value!r}")
            sections.append((nb, value))
        elif str(key) in by_name:
            for target in by_name[str(key)]:
                checked = check_value(target, str(key), value)
                if target.path in resolved:
                    resolved[target.path][str(key)] = checked
        else:
            raise ReportError(
                f"{file_name}: {key!r} is neither a notebook nor a parameter of any notebook; "
                f"notebooks: {', '.join(n.stem for n in every)}; "
                f"parameters: {', '.join(sorted(by_name)) or '(none)'}")
    for nb, section in sections:  # after the top-level keys, which they override
        for name, value in section.items():
            checked = check_value(nb, str(name), value)
            if nb.path in resolved:
                resolved[nb.path][str(name)] = checked

    for name, raw in cli:
        targets = [nb for nb in selected if name in nb.parameters]
        if not targets:
            listing = "; ".join(f"{nb.stem}: {nb.parameter_list()}" for nb in selected)
            raise ReportError(f"-p {name}: no chosen notebook has a parameter {name!r}; "
                              f"their parameters are: {listing}")
        for nb in targets:
            resolved[nb.path][name] = check_value(nb, name, parse_cli_value(raw), raw)
    return resolved


def describe(notebooks: Sequence[Notebook]) -> str:
    """Each notebook's stem and its parameters as ``NAME = default  # help`` lines."""
    lines = []
    for nb in notebooks:
        lines.append(nb.stem)
        for name, spec in nb.parameters.items():
            comment = f"  # {spec['help']}" if spec.get("help") else ""
            lines.append(f"    {name} = {spec['default']}{comment}")
    return "\n".join(lines)


def execute(nb: Notebook, parameters: dict[str, Any], run_dir: Path, *,
            cell_timeout: int) -> Result:
    """Execute ``nb`` into ``run_dir``, recording (not raising) its failures."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    result = Result(nb, parameters)
    output = run_dir / nb.path.name
    start = time.monotonic()
    try:
        papermill.execute_notebook(
            str(nb.path), str(output), parameters=parameters, kernel_name=KERNEL_NAME,
            cwd=str(nb.path.parent), progress_bar=False, log_output=False,
            execution_timeout=cell_timeout,
            # The kernel's own log (start-up chatter; on Ctrl-C, the traceback of a reply it
            # could not send) is noise here: the notebook's errors are in the notebook.
            extra_arguments=["--log-level=CRITICAL"],
        )
    except PapermillExecutionError as exc:
        first = (exc.source or "").strip().splitlines()[:1]
        cell = f"cell In [{exc.exec_count}]" + "".join(f" ({line.strip()!r})" for line in first)
        evalue = _ANSI_ESCAPE.sub("", str(exc.evalue))
        result.status, result.error = "failed", f"{cell}: {exc.ename}: {evalue}"
    except Exception as exc:  # a dead kernel or a timeout must not stop the others
        result.status, result.error = "failed", f"{type(exc).__name__}: {exc}".strip()
    result.seconds = time.monotonic() - start
    return result


def export_html(results: Sequence[Result], run_dir: Path) -> None:
    """Write the HTML page of each executed notebook in ``results`` into ``run_dir``.

    The pages link to each other in run order, so a page whose conversion fails is dropped and
    the others are made again without a link to it.
    """
    import nbformat

    from lstmkit import report_html

    report_html.copy_mathjax(run_dir)
    pending = []
    for r in results:
        output = run_dir / r.notebook.path.name
        if output.exists():
            r.title = report_html.notebook_title(nbformat.read(output, as_version=4),
                                                 r.notebook.stem)
            pending.append(r)
    while pending:
        pages = [(r.notebook.stem, r.title) for r in pending]
        bodies, failed = {}, []
        for r in pending:
            try:
                bodies[r.notebook.stem] = report_html.export_page(
                    run_dir / r.notebook.path.name, r.notebook.path.parent, pages)
            except Exception as exc:  # keep the executed notebook; say why
                r.messages.append(f"HTML conversion failed: {type(exc).__name__}: {exc}")
                failed.append(r)
        if not failed:
            for r in pending:
                (run_dir / f"{r.notebook.stem}.html").write_text(bodies[r.notebook.stem],
                                                                 encoding="utf-8")
                r.html = True
            return
        pending = [r for r in pending if r not in failed]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``lstmkit report``'s options on ``parser`` (declared, and their values checked,
    in :mod:`lstmkit_cli.arguments`, which imports no TensorFlow)."""
    from lstmkit_cli.arguments import add_report_arguments

    add_report_arguments(parser)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (perhaps under another user)."""
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except (ProcessLookupError, OverflowError):
        return False
    return True


def _staging_dir(run_dir: Path) -> Path:
    """A new hidden folder beside ``run_dir`` for this run to be made in; the folders of runs
    that were killed (their process is gone) are removed first."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.parent.glob(f".{run_dir.name}.partial-*-*"):
        pid = stale.name.rsplit("-", 2)[-2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    staging = run_dir.parent / f".{run_dir.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    return staging


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (``kill``, a CI timeout) ends the run as Ctrl-C does."""
    raise KeyboardInterrupt


def publish(staging: Path, run_dir: Path) -> None:
    """Replace ``run_dir`` (if any) by the finished ``staging`` folder, Ctrl-C ignored meanwhile.

    Two renames, so the previous report is whole until the new one takes its place.
    """
    old = staging.with_name(staging.name.replace(".partial-", ".old-", 1))
    main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
    try:
        if run_dir.exists():
            os.replace(run_dir, old)
        try:
            os.replace(staging, run_dir)
        except OSError:
            if old.exists():
                os.replace(old, run_dir)
            raise
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, handler)
    shutil.rmtree(old, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    """Run ``lstmkit report``: 0 when every notebook ran, 1 when one failed, 2 on bad arguments
    or a missing dependency, 130 when interrupted (the previous report is then kept)."""
    try:
        check_dependencies(html_too=not args.list and not args.no_html)
        every = load_notebooks(args.notebooks_dir.resolve())
        selected = select_notebooks(args.notebooks, every)
        if args.list:
            print(describe(selected))
            return 0
        file_params = load_params_file(args.parameters_file) if args.parameters_file else {}
        params = resolve_parameters(selected, every, [tuple(p) for p in args.parameter],
                                    file_params, str(args.parameters_file))
        if not args.name or Path(args.name).name != args.name or args.name in (".", ".."):
            raise ReportError(f"--name must be a plain folder name, not {args.name!r}")
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        try:
            kernel = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        except NoSuchKernel as exc:
            raise ReportError(f"no Jupyter kernel named {KERNEL_NAME!r}; "
                              "run `make venv` (ci/bootstrap.sh) to install it") from exc
    except ReportError as exc:
        print(f"lstmkit report: error: {exc}", file=sys.stderr)
        return 2

    from tqdm import tqdm

    run_dir = (args.out / args.name).resolve()
    started = datetime.now().astimezone()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    staging = _staging_dir(run_dir)
    main_thread = threading.current_thread() is threading.main_thread()
    on_term = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    try:
        results = []
        with tqdm(selected, desc="report", unit="notebook", file=sys.stderr) as bar:
            for nb in bar:
                bar.set_postfix_str(nb.stem)
                result = execute(nb, params[nb.path], staging, cell_timeout=args.cell_timeout)
                results.append(result)
                for line in filter(None, [result.error]):
                    bar.write(f"{nb.stem}: {line}", file=sys.stderr)
        if not args.no_html:
            export_html(results, staging)
            for r in results:
                for line in r.messages:
                    print(f"{r.notebook.stem}: {line}", file=sys.stderr)
        from lstmkit import provenance, report_html

        took = (datetime.now().astimezone() - started).total_seconds()
        made_by = [("date", f"{started:%Y-%m-%d %H:%M:%S %Z} (the run took {took:.0f} s)"),
                   *provenance.collect(args.notebooks_dir.resolve(), kernel.argv),
                   ("parameters", _parameters_source(args)),
                   ("cell timeout", f"{args.cell_timeout} s")]
        report_html.write_index(staging, args.name, results, made_by)
        publish(staging, run_dir)
    except KeyboardInterrupt:
        # nbclient's cell task dies with its kernel; asyncio would report it at exit
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        shutil.rmtree(staging, ignore_errors=True)
        print(f"lstmkit report: interrupted; the previous report in {run_dir} is unchanged",
              file=sys.stderr)
        return 130
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, on_term)
    index = run_dir / "index.html"
    failed = [r for r in results if r.status != "ok"]
    print(f"{len(results) - len(failed)} ok, {len(failed)} failed: {index}")
    for r in failed:
        print(f"  FAILED {r.notebook.stem}: {r.error}", file=sys.stderr)
    return 1 if failed else 0


def _parameters_source(args: argparse.Namespace) -> str:
    """Where this run's parameters came from: the ``-f`` file and the ``-p`` pairs."""
    parts = [f"-f {args.parameters_file}"] if args.parameters_file else []
    parts += [f"-p {name} {value}" for name, value in args.parameter]
    return " ".join(parts) or "each notebook's defaults"
