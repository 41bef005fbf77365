"""The public API's docstrings, Keras-style: an ``Args:`` entry for every parameter, the default
of every parameter that has one, and an ``Example:`` that runs.

Public means: the classes and functions in ``lstmkit.__all__`` and in the ``__all__`` of the
public modules (:data:`PUBLIC_MODULES`), and the public methods those classes add (not the Keras
methods they override: ``call``, ``build``, ``get_config``, ...). The examples run with
``doctest`` in a namespace holding ``np`` (NumPy), ``keras`` and ``lstmkit``, as Keras' own
docstring examples assume ``np`` and ``keras``.
"""

from __future__ import annotations

import doctest
import inspect
import re

import keras
import numpy as np
import pytest

import lstmkit
from lstmkit import cudnn, data, models, params, text, weights

PUBLIC_MODULES = (lstmkit, cudnn, data, models, params, text, weights)


def public_objects() -> dict[str, object]:
    """``{qualified name: object}`` for every public class and function, each object once."""
    found: dict[str, object] = {}
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj not in found.values():
                found[f"{module.__name__}.{name}"] = obj
    return found


def public_methods(cls: type) -> dict[str, object]:
    """Public methods ``cls`` defines itself that no base class outside lstmkit has."""
    inherited = {
        name
        for base in cls.__mro__[1:]
        if not base.__module__.startswith("lstmkit")
        for name in vars(base)
    }
    return {
        name: member
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and not name.startswith("_") and name not in inherited
    }


OBJECTS = public_objects()
METHODS = {
    f"{name}.{method}": member
    for name, obj in OBJECTS.items()
    if inspect.isclass(obj)
    for method, member in public_methods(obj).items()
}


def documented_parameters(doc: str) -> dict[str, str]:
    """``{name: text}`` of the entries of a docstring's ``Args:`` section (``*args`` and
    ``**kwargs`` keep their stars)."""
    lines = inspect.cleandoc(doc).splitlines()
    if "Args:" not in [line.strip() for line in lines]:
        return {}
    start = [line.strip() for line in lines].index("Args:")
    base = len(lines[start]) - len(lines[start].lstrip())
    entries: dict[str, str] = {}
    entry_indent, current = None, None
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= base:
            break  # the next section
        match = re.match(r"(\*{0,2}\w+)(?: \([^)]*\))?:(.*)", line.strip())
        if match and (entry_indent is None or indent == entry_indent):
            entry_indent, current = indent, match.group(1)
            entries[current] = match.group(2)
        elif current is not None:
            entries[current] += " " + line.strip()
    return entries


def signature_parameters(obj: object) -> list[inspect.Parameter]:
    parameters = list(inspect.signature(obj).parameters.values())
    return [p for p in parameters if p.name not in ("self", "cls")]


def entry_name(parameter: inspect.Parameter) -> str:
    stars = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    return stars.get(parameter.kind, "") + parameter.name


def test_the_public_api_is_collected():
    names = set(OBJECTS)
    for expected in ("lstmkit.LSTM", "lstmkit.RNNCell", "lstmkit.cudnn.cudnn_eligibility",
                     "lstmkit.data.Normalizer", "lstmkit.weights.lstm_to_pytorch"):
        assert expected in names
    assert "lstmkit.LSTMCell.gate_update" in METHODS
    assert "lstmkit.LSTM.call" not in METHODS  # a Keras method, documented by Keras


@pytest.mark.parametrize("name", sorted({**OBJECTS, **METHODS}))
def test_every_parameter_has_an_args_entry_with_its_default(name):
    obj = {**OBJECTS, **METHODS}[name]
    doc = inspect.getdoc(obj) or ""
    entries = documented_parameters(doc)
    parameters = signature_parameters(obj)
    if parameters:
        assert entries, f"{name}: no Args: section"
    for parameter in parameters:
        key = entry_name(parameter)
        assert key in entries, f"{name}: no Args: entry for `{key}`"
        if parameter.default is not inspect.Parameter.empty:
            text = entries[key]
            assert "default" in text.lower(), f"{name}: `{key}` does not give its default"
            assert str(parameter.default) in text, (
                f"{name}: `{key}` does not say its default is {parameter.default!r}"
            )
    unknown = set(entries) - {entry_name(p) for p in parameters}
    if not (inspect.isclass(obj) and "**kwargs" in entries):  # classes list what **kwargs take
        assert not unknown, f"{name}: Args entries for no parameter: {sorted(unknown)}"


#: Examples that need an optional dependency (an extra of lstmkit) skip without it.
NEEDS = {"lstmkit.data.load_digits_sequences": "sklearn.datasets"}


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_every_public_object_has_a_running_example(name):
    obj = OBJECTS[name]
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    doc = inspect.getdoc(obj) or ""
    assert re.search(r"^Examples?:$", doc, re.MULTILINE), f"{name}: no Example: section"
    assert ">>> " in doc, f"{name}: the Example has no doctest lines"
    finder = doctest.DocTestFinder(recurse=inspect.isclass(obj), exclude_empty=True)
    tests = finder.find(obj, name, globs={"np": np, "keras": keras, "lstmkit": lstmkit})
    tests = [t for t in tests if t.examples]
    assert tests
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
