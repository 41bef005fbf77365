"""The package lstmkit.exercises: the framework, then one module per notebook, each owning its
names; the package re-exports them all, and every checker a notebook imports exists."""

from __future__ import annotations

import ast
import json
import pkgutil
import re
from pathlib import Path

import pytest

from lstmkit import exercises as ex

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SUBMODULES = sorted(info.name for info in pkgutil.iter_modules(ex.__path__))


def _module(name):
    return getattr(ex, name)


def test_every_submodule_takes_part_in_the_package_all():
    assert sorted(m.__name__.rsplit(".", 1)[1] for m in ex._MODULES) == SUBMODULES


def test_every_public_name_is_defined_by_exactly_one_submodule():
    assert len(ex.__all__) == len(set(ex.__all__)), "a name is exported twice"
    for name in ex.__all__:
        owners = [m for m in SUBMODULES if name in _module(m).__all__]
        assert len(owners) == 1, f"{name} is in the __all__ of {owners}"
        module = _module(owners[0])
        obj = getattr(module, name)
        assert obj.__module__ == module.__name__, f"{name} is defined in {obj.__module__}"
        assert getattr(ex, name) is obj
    assert sorted(ex.__all__) == sorted(n for m in SUBMODULES for n in _module(m).__all__)


def _notebook_of(module_name):
    """The notebook file a per-notebook module's docstring names ('Notebook 03, ``03_...``')."""
    match = re.match(r"Notebook (\d\d), ``(\d\d_\w+\.ipynb)``", _module(module_name).__doc__)
    assert match and match[2].startswith(match[1]), module_name
    return match[2]


def test_each_notebook_module_names_an_existing_notebook_once():
    names = [_notebook_of(m) for m in SUBMODULES if m != "framework"]
    assert len(names) == len(set(names))
    if NOTEBOOKS:
        assert set(names) <= {p.name for p in NOTEBOOKS}


def _code(cell):
    """A code cell's source as Python: IPython magics and shell lines blanked out."""
    lines = "".join(cell["source"]).splitlines()
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _checker_names(path):
    """The names a notebook takes from lstmkit.exercises: ``from lstmkit.exercises import a, b``
    and ``ex.a`` after ``from lstmkit import exercises as ex``."""
    names, aliases, trees = set(), set(), []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            trees.append(ast.parse(_code(cell)))
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "lstmkit.exercises":
                names |= {alias.name for alias in node.names}
            if isinstance(node, ast.ImportFrom) and node.module == "lstmkit":
                aliases |= {a.asname or a.name for a in node.names if a.name == "exercises"}
    for tree in trees:
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases):
                names.add(node.attr)
    return names


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in this checkout")
def test_the_notebooks_checkers_exist_in_their_notebooks_module():
    owner = {name: m for m in SUBMODULES for name in _module(m).__all__}
    used = {path.name: _checker_names(path) for path in NOTEBOOKS}
    assert any(used.values()), "no notebook imports a checker: is the parsing broken?"
    for notebook, names in used.items():
        missing = sorted(n for n in names if not hasattr(ex, n))
        assert not missing, f"{notebook} uses {missing}, which lstmkit.exercises lacks"
        public = sorted(n for n in names if n in ex.__all__)
        assert public == sorted(names), f"{notebook} uses non-public names"
        for name in names:
            if owner[name] != "framework":
                assert _notebook_of(owner[name]) == notebook, (name, owner[name], notebook)


@pytest.mark.parametrize("module", SUBMODULES)
def test_exercise_modules_do_not_import_the_commands(module):
    tree = ast.parse(Path(_module(module).__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported |= {f"{node.module}.{a.name}" for a in node.names}
    commands = {"lstmkit.bench", "lstmkit.bench_report", "lstmkit.report", "lstmkit.cli"}
    assert not imported & commands, imported & commands
