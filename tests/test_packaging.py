"""The project's set-up files agree with each other."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string ('scikit-learn>=1.2' -> ...)."""
    name = re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment() -> tuple[set[str], list[str]]:
    """environment.yml's conda package names (python and pip left out) and its pip section."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return conda, pip_section


def _constraints(name: str = "constraints.txt") -> list[str]:
    lines = [line.split("#")[0].strip()
             for line in (ROOT / "ci" / name).read_text().splitlines()]
    return [line for line in lines if line]


def _lower_bounds() -> dict[str, str]:
    """{name: version} of pyproject's runtime dependencies written 'name>=version'."""
    bounds = {}
    for requirement in _pyproject()["project"]["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)>=([0-9][0-9A-Za-z.]*)", requirement.strip())
        assert match, f"a runtime dependency without a plain lower bound: {requirement}"
        bounds[_name(match[1])] = match[2]
    return bounds


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = _pyproject()["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["dev"]}
    conda, pip_section = _environment()
    listed = conda | {_name(r) for r in pip_section if not r.startswith(("-", "./"))}

    assert listed == wanted, (
        f"only in environment.yml: {sorted(listed - wanted)}; "
        f"only in pyproject.toml: {sorted(wanted - listed)}"
    )
    assert not conda & {_name(r) for r in pip_section if not r.startswith(("-", "./"))}, "twice"
    assert pip_section[-1] == "-e .", "environment.yml must install lstmkit itself with pip, last"


def test_environment_yml_pins_the_tensorflow_and_keras_of_the_constraints():
    """The conda route gets the versions the notebooks' outputs were made with, as .venv does."""
    _, pip_section = _environment()
    pins = sorted(r for r in pip_section if "==" in r)
    assert pins == sorted(_constraints()), (pins, _constraints())
    assert {_name(pin) for pin in pins} == {"tensorflow", "keras"}


def test_environment_yml_and_bootstrap_install_the_kernel_the_report_uses():
    """Both install routes get the course kernel from pip alone: ipykernel's ``python3`` (the
    kernel ``lstmkit report`` and nbval start) with the settings of ci/course_kernel."""
    from lstmkit import report

    plugin = (ROOT / "ci" / "nbval_plugin.py").read_text()
    assert f'KERNEL_NAME = "{report.KERNEL_NAME}"' in plugin
    _, pip_section = _environment()
    assert "./ci/course_kernel" in pip_section
    assert '-e ".[dev]" ./ci/course_kernel' in (ROOT / "ci" / "bootstrap.sh").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "ci/install_kernel.py" not in readme and "ci/course_kernel" in readme


def test_dependencies_are_not_pinned():
    project = _pyproject()["project"]
    requirements = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    pinned = [r for r in requirements if "==" in r]
    assert not pinned, f"exact pins belong in a lock file, not the package: {pinned}"


def test_tensorflow_ships_keras_3():
    bounds = _lower_bounds()
    assert _version(bounds["tensorflow"]) >= (2, 16) and _version(bounds["keras"]) >= (3, 0)
    assert f"tensorflow[and-cuda]>={bounds['tensorflow']}" in \
        _pyproject()["project"]["optional-dependencies"]["gpu"]


def test_lower_bounds_are_the_oldest_versions_ci_tests():
    """pyproject's lower bounds for TensorFlow and Keras are exactly the versions that
    ci/constraints-oldest.txt pins and ci/oldest.sh tests, so the two cannot drift apart; every
    other pinned dependency of the package is admitted by its bound."""
    bounds = _lower_bounds()
    pins = dict(pin.split("==") for pin in _constraints("constraints-oldest.txt"))
    pins = {_name(name): version for name, version in pins.items()}
    assert {name: pins.get(name) for name in ("tensorflow", "keras")} == \
        {name: bounds[name] for name in ("tensorflow", "keras")}
    for name in bounds.keys() & pins.keys():
        assert _version(pins[name]) >= _version(bounds[name]), (name, pins[name], bounds[name])
    assert {"numpy", "pytest", "hypothesis"} <= pins.keys()


def test_ci_runs_the_core_tests_on_the_oldest_versions():
    test_sh = (ROOT / "ci" / "test.sh").read_text()
    oldest = (ROOT / "ci" / "oldest.sh").read_text()
    assert re.search(r"^bash ci/oldest\.sh$", test_sh, re.MULTILINE)
    assert "CONSTRAINTS=ci/constraints-oldest.txt" in oldest and '-c $CONSTRAINTS -e .' in oldest
    assert '[ "$STAMP" -nt pyproject.toml ] && [ "$STAMP" -nt "$CONSTRAINTS" ]' in oldest
    for tests in ("tests/test_cells.py", "tests/test_layers.py", "tests/test_recurrence.py"):
        assert tests in oldest
    assert ".venv-oldest/" in (ROOT / ".gitignore").read_text().splitlines()


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make report", "make test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_constraints_pin_only_dependencies_of_the_package():
    """ci/constraints.txt pins the versions the notebooks' outputs were made with; each line must
    name a dependency of the package (a stale name would silently pin nothing)."""
    project = _pyproject()["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    pins = _constraints()
    assert pins and all("==" in pin for pin in pins), pins
    assert {_name(pin) for pin in pins} <= wanted, pins


def test_bootstrap_installs_with_the_constraints():
    bootstrap = (ROOT / "ci" / "bootstrap.sh").read_text()
    assert "ci/constraints.txt" in bootstrap and '-c "$CONSTRAINTS"' in bootstrap
    assert "ci/constraints.txt" in (ROOT / "Makefile").read_text()


def test_package_discovery_finds_every_subpackage():
    """A non-editable install ships lstmkit's subpackages (lstmkit.exercises...): pyproject's
    package discovery finds every folder of lstmkit/ that has an __init__.py."""
    from setuptools import find_packages

    find = _pyproject()["tool"]["setuptools"]["packages"]["find"]
    found = set(find_packages(str(ROOT), include=find["include"]))
    packages = {".".join(p.relative_to(ROOT).parent.parts)
                for p in (ROOT / "lstmkit").rglob("__init__.py")}
    assert "lstmkit.exercises" in packages
    assert packages <= found, sorted(packages - found)
