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
"""

from __future__ import annotations

import argparse
import ast
import html
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import papermill
import yaml
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbconvert import HTMLExporter
from papermill.exceptions import PapermillExecutionError
from tqdm import tqdm

KERNEL_NAME = "python3"
DEFAULT_RUN_NAME = "latest"

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
    messages: list[str] = field(default_factory=list)


def load_notebooks(directory: Path) -> list[Notebook]:
    """Every ``*.ipynb`` in ``directory``, sorted by name, with its inferred parameters."""
    if not directory.is_dir():
        raise ReportError(f"notebooks directory {str(directory)!r} does not exist")
    paths = sorted(directory.glob("*.ipynb"))
    if not paths:
        raise ReportError(f"no notebooks (*.ipynb) in {str(directory)!r}")
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


def execute(nb: Notebook, parameters: dict[str, Any], run_dir: Path, *, html_too: bool,
            cell_timeout: int) -> Result:
    """Execute ``nb`` into ``run_dir`` and convert it to HTML, recording (not raising) failures."""
    result = Result(nb, parameters)
    output = run_dir / nb.path.name
    html_path = output.with_suffix(".html")
    output.unlink(missing_ok=True)
    html_path.unlink(missing_ok=True)
    start = time.monotonic()
    try:
        papermill.execute_notebook(
            str(nb.path), str(output), parameters=parameters, kernel_name=KERNEL_NAME,
            cwd=str(nb.path.parent), progress_bar=False, log_output=False,
            execution_timeout=cell_timeout,
            extra_arguments=["--log-level=ERROR"],  # the kernel's start-up chatter is noise here
        )
    except PapermillExecutionError as exc:
        first = (exc.source or "").strip().splitlines()[:1]
        cell = f"cell In [{exc.exec_count}]" + "".join(f" ({line.strip()!r})" for line in first)
        evalue = _ANSI_ESCAPE.sub("", str(exc.evalue))
        result.status, result.error = "failed", f"{cell}: {exc.ename}: {evalue}"
    except Exception as exc:  # a dead kernel or a timeout must not stop the others
        result.status, result.error = "failed", f"{type(exc).__name__}: {exc}".strip()
    result.seconds = time.monotonic() - start
    if html_too and output.exists():
        try:
            body, _ = HTMLExporter().from_notebook_node(nbformat.read(output, as_version=4))
            html_path.write_text(body, encoding="utf-8")
            result.html = True
        except Exception as exc:  # keep the executed notebook; say why
            result.messages.append(f"HTML conversion failed: {type(exc).__name__}: {exc}")
    return result


def write_index(run_dir: Path, run_name: str, results: Sequence[Result]) -> Path:
    """Write ``index.html`` linking each executed notebook with status and duration."""
    rows = []
    for r in results:
        name = r.notebook.path.name
        links = []
        if r.html:
            links.append(f'<a href="{html.escape(r.notebook.stem)}.html">HTML</a>')
        if (run_dir / name).exists():
            links.append(f'<a href="{html.escape(name)}">notebook</a>')
        params = ", ".join(f"{k}={v!r}" for k, v in r.parameters.items()) or "defaults"
        detail = "; ".join(filter(None, [r.error, *r.messages]))
        rows.append(
            f'<tr class="{r.status}"><td>{html.escape(r.notebook.stem)}</td>'
            f"<td>{r.status}</td><td>{r.seconds:.1f} s</td><td>{' · '.join(links)}</td>"
            f"<td>{html.escape(params)}</td><td>{html.escape(detail)}</td></tr>")
    failed = sum(r.status != "ok" for r in results)
    summary = f"{len(results) - failed} ok, {failed} failed"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>lstmkit report: {html.escape(run_name)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: .3em .6em; }}
tr.ok td:nth-child(2) {{ color: #070; }}
tr.failed td:nth-child(2) {{ color: #b00; font-weight: bold; }}
td:last-child {{ white-space: pre-wrap; font-family: monospace; }}
</style></head><body>
<h1>lstmkit report: {html.escape(run_name)}</h1>
<p>{datetime.now().strftime("%Y-%m-%d %H:%M:%S")} &middot; {summary}</p>
<table>
<tr><th>notebook</th><th>status</th><th>duration</th><th>files</th><th>parameters</th><th>error</th></tr>
{chr(10).join(rows)}
</table>
</body></html>
"""
    index = run_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``lstmkit report``'s options on ``parser`` (declared, and their values checked,
    in :mod:`lstmkit_cli.arguments`, which imports no TensorFlow)."""
    from lstmkit_cli.arguments import add_report_arguments

    add_report_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run ``lstmkit report``: 0 when every notebook ran, 1 when one failed, 2 on bad arguments."""
    try:
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
        try:
            KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        except NoSuchKernel as exc:
            raise ReportError(f"no Jupyter kernel named {KERNEL_NAME!r}; "
                              "run `make venv` (ci/bootstrap.sh) to install it") from exc
    except ReportError as exc:
        print(f"lstmkit report: error: {exc}", file=sys.stderr)
        return 2

    run_dir = (args.out / args.name).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    results = []
    with tqdm(selected, desc="report", unit="notebook", file=sys.stderr) as bar:
        for nb in bar:
            bar.set_postfix_str(nb.stem)
            result = execute(nb, params[nb.path], run_dir, html_too=not args.no_html,
                             cell_timeout=args.cell_timeout)
            results.append(result)
            for line in filter(None, [result.error, *result.messages]):
                bar.write(f"{nb.stem}: {line}", file=sys.stderr)
    index = write_index(run_dir, args.name, results)
    failed = [r for r in results if r.status != "ok"]
    print(f"{len(results) - len(failed)} ok, {len(failed)} failed: {index}")
    for r in failed:
        print(f"  FAILED {r.notebook.stem}: {r.error}", file=sys.stderr)
    return 1 if failed else 0
