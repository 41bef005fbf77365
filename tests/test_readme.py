"""Every command and code block of README.md runs as written, or is checked as far as a test can.

- ```python blocks run, in order, in one namespace, in a temporary folder, and what their
  comments promise holds; a ``.keras`` file they save loads in a fresh process after
  ``import lstmkit`` (and not without it, as the README says).
- Commands (```bash blocks, and inline ones such as `make lab`): ``make`` targets exist in the
  Makefile; ``lstmkit ...`` parses, and ``lstmkit report`` also resolves its notebooks and
  parameters (nothing is executed); ``pip install`` names existing paths, extras and constraint
  files; ``conda``, ``python -m ...`` and ``jupyter lab`` name files, folders, the environment and
  the kernel that exist. A command of any other kind fails the test until it is taught here.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lstmkit import report
from lstmkit_cli import build_parser

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PLACEHOLDER_CHECKOUT = "/path/to/lstmkit"  # stands for this checkout in the README
#: Inline commands: `make ...`, `lstmkit ...` (with arguments: bare `lstmkit` is the name), ...
INLINE = re.compile(r"`((?:(?:make|pip install|conda|python -m|jupyter)(?=[\s`])"
                    r"|(?:lstmkit|\.venv/bin/lstmkit|CONSTRAINTS=)(?=\s))[^`]*)`")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def _commands() -> list[str]:
    """Every command line of the README: bash blocks' lines (comments dropped), inline ones."""
    lines = [line for block in _blocks("bash") for line in block.splitlines()]
    lines += [m.group(1) for m in INLINE.finditer(README)]
    return list(dict.fromkeys(line for line in lines if shlex.split(line, comments=True)))


def _make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))


def _checkout(path: str) -> Path:
    return ROOT / path[len(PLACEHOLDER_CHECKOUT):].lstrip("/") \
        if path.startswith(PLACEHOLDER_CHECKOUT) else ROOT / path


def _check_lstmkit(args: list[str]) -> None:
    parser = build_parser()
    try:
        parsed = parser.parse_args(args)
    except SystemExit as exc:  # --help, --version: fine; a usage error: not
        assert exc.code == 0, f"lstmkit {' '.join(args)}: usage error"
        return
    if parsed.command == "report":  # what report.run checks before it executes anything
        every = report.load_notebooks(parsed.notebooks_dir.resolve())
        selected = report.select_notebooks(parsed.notebooks, every)
        file_params = (report.load_params_file(parsed.parameters_file)
                       if parsed.parameters_file else {})
        report.resolve_parameters(selected, every, [tuple(p) for p in parsed.parameter],
                                  file_params, str(parsed.parameters_file))


def _check_pip(args: list[str]) -> None:
    assert args[0] == "install", args
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())
                 ["project"]["optional-dependencies"])
    rest = iter(args[1:])
    for arg in rest:
        if arg == "-c":
            assert _checkout(next(rest)).is_file()
        elif arg != "-e":
            target, _, extra = arg.partition("[")
            assert target == "." or target.startswith(PLACEHOLDER_CHECKOUT), arg
            assert (_checkout(target) / "pyproject.toml").is_file(), arg
            assert not extra or set(extra.rstrip("]").split(",")) <= extras, arg


def _check_python(args: list[str]) -> None:
    if args[0].endswith(".py"):  # a script of the checkout, or the user's own ("Scaling out")
        assert "/" not in args[0] or (ROOT / args[0]).is_file(), args[0]
        return
    assert args[0] == "-m", args
    module, rest = args[1], args[2:]
    if module == "lstmkit":
        _check_lstmkit(rest)
    elif module == "ipykernel":
        assert rest[:2] == ["install", "--sys-prefix"]
        assert rest[rest.index("--name") + 1] == report.KERNEL_NAME
    elif module in ("pytest", "ruff"):
        plugins = [rest[k + 1] for k, a in enumerate(rest) if a == "-p"]  # pytest -p MODULE
        for plugin in plugins:
            assert (ROOT / (plugin.replace(".", "/") + ".py")).is_file(), plugin
        paths = [a for a in rest if not a.startswith("-") and a != "check" and a not in plugins]
        assert paths and all((ROOT / a).exists() for a in paths), rest
    else:
        raise AssertionError(f"python -m {module}: not checked by tests/test_readme.py")


def check_command(line: str) -> None:
    """Raise AssertionError unless ``line`` is a valid command for this repository."""
    tokens = shlex.split(line, comments=True)
    while tokens:
        if "&&" in tokens:
            at = tokens.index("&&")
            check_command(shlex.join(tokens[:at]))
            tokens = tokens[at + 1:]
            continue
        while tokens and re.match(r"^[A-Z_]+=", tokens[0]):
            name, _, value = tokens.pop(0).partition("=")
            if name == "TF_CONFIG":
                config = json.loads(value)
                assert set(config) == {"cluster", "task"}, config
        program, args = tokens[0], tokens[1:]
        if program == "make":
            targets = [a for a in args if "=" not in a]
            assert set(targets) <= _make_targets(), (line, targets)
            for arg in args:
                if arg.startswith("ARGS=") and "report" in targets:
                    _check_lstmkit(["report", *shlex.split(arg[5:])])
        elif program in ("lstmkit", ".venv/bin/lstmkit"):
            _check_lstmkit(args)
        elif program == "pip":
            _check_pip(args)
        elif program == "python":
            _check_python(args)
        elif program == "conda":
            env = yaml.safe_load((ROOT / "environment.yml").read_text())
            assert args in (["env", "create", "-f", "environment.yml"],
                            ["activate", env["name"]]), args
        elif program == "jupyter":
            assert args == ["lab", "--ServerApp.root_dir=notebooks"], args
            assert "lab --ServerApp.root_dir=notebooks" in (ROOT / "Makefile").read_text()
        else:
            raise AssertionError(f"{line!r}: a command tests/test_readme.py does not check")
        return


def test_the_readme_has_commands_and_they_are_valid(monkeypatch):
    monkeypatch.chdir(ROOT)  # the README's commands run from the repository root
    commands = _commands()
    assert ".venv/bin/lstmkit report 04 -p UNITS_UPPER 8    # notebook 04 only, its upper LSTM " \
           "with 8 units" in commands
    assert any(c.startswith("make lab") for c in commands)
    for command in commands:
        check_command(command)


@pytest.mark.parametrize("command", [
    ".venv/bin/lstmkit report 04 -p UNITS 8",  # what the README said: 04 has no UNITS
    "lstmkit report 99",
    "lstmkit bench --rounds 0",
    "make nosuchtarget",
    "pip install -e .[nosuchextra]",
    "conda activate other",
    "rm -rf /",
])
def test_wrong_commands_are_caught(monkeypatch, command):
    monkeypatch.chdir(ROOT)
    with pytest.raises((AssertionError, report.ReportError)):
        check_command(command)


def test_the_python_blocks_run_and_hold(tmp_path, monkeypatch):
    """The README's Python blocks run as written, and what their comments promise holds."""
    import numpy as np

    monkeypatch.chdir(tmp_path)
    blocks = _blocks("python")
    assert len(blocks) == 3
    namespace: dict = {}
    saved = None
    for block in blocks:
        exec(block, namespace)  # noqa: S102 - the README's own examples
        saved = namespace.get("model") if saved is None else saved  # the one saved to .keras
    assert [tuple(namespace[k].shape) for k in ("seq", "h", "c")] == [(32, 10, 4), (32, 4), (32, 4)]
    ours, theirs, x = namespace["ours"], namespace["theirs"], namespace["x"]
    np.testing.assert_allclose(ours(x), theirs(x), atol=1e-5)
    assert namespace["state"]["weight_ih_l0"].shape == (64, 5)
    reloaded = namespace["reloaded"]
    assert isinstance(reloaded.layers[0], namespace["lstmkit"].LSTM)
    y = np.random.rand(2, 20, 5).astype("float32")
    np.testing.assert_allclose(reloaded(y), saved(y), atol=1e-6)
    strategy, model = namespace["strategy"], namespace["model"]  # "Scaling out"
    assert model.distribute_strategy is strategy and strategy.num_replicas_in_sync >= 1
    assert isinstance(model.layers[0], namespace["lstmkit"].LSTM)
    assert (tmp_path / "model.keras").is_file()


def test_a_keras_file_loads_after_import_lstmkit_in_a_fresh_process(tmp_path):
    """What the README says: it loads after ``import lstmkit``, and not without it."""
    import keras

    import lstmkit

    path = tmp_path / "model.keras"
    keras.Sequential([keras.Input((4, 3)), lstmkit.LSTM(2)]).save(path)
    code = "import sys, keras\n{}\nkeras.saving.load_model(sys.argv[1])\nprint('loaded')\n"
    env = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}
    runs = {name: subprocess.run([sys.executable, "-c", code.format(imports), str(path)],
                                 capture_output=True, text=True, env=env, timeout=300)
            for name, imports in (("with", "import lstmkit"), ("without", ""))}
    assert runs["with"].returncode == 0 and "loaded" in runs["with"].stdout, runs["with"].stderr
    assert runs["without"].returncode != 0
    assert "Could not locate class 'LSTM'" in runs["without"].stderr
