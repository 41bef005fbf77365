"""The fast tier of a parametrized grid: ``make unit`` (``-m "not slow"``) runs a cover of it,
``make test`` all of it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

import pytest


def cover(cases: Iterable[Any], every: int = 4, spread: bool = False) -> list[Any]:
    """``cases`` as pytest parameters: the first and then every ``every``-th case stay in the
    fast tier, the others are marked slow. ``spread``: each case is a tuple of the values of a
    multi-name ``parametrize``; otherwise each case is one parameter."""
    params = []
    for index, case in enumerate(cases):
        marks = () if index % every == 0 else (pytest.mark.slow,)
        values = tuple(case) if spread else (case,)
        params.append(pytest.param(*values, marks=marks))
    return params


def diagonal(*axes: Iterable[Any], ids: Callable[[Any], str] | None = None) -> list[Any]:
    """The product of ``axes`` as pytest parameters (one value of each axis per case), of which
    only a diagonal stays in the fast tier: case ``i`` takes value ``i mod len(axis)`` of each
    axis, for ``i < max(len(axis))``, so every value of every axis runs in it; the rest are
    marked slow. ``ids``: names a value, for the cases' ids (pytest's own otherwise)."""
    values = [list(axis) for axis in axes]
    fast = {tuple(i % len(axis) for axis in values) for i in range(max(map(len, values)))}
    params = []
    for index in itertools.product(*(range(len(axis)) for axis in values)):
        marks = () if index in fast else (pytest.mark.slow,)
        case = [axis[i] for axis, i in zip(values, index, strict=True)]
        name = "-".join(map(ids, case)) if ids else None
        params.append(pytest.param(*case, marks=marks, id=name))
    return params


def chosen(cases: Iterable[Any], fast: Iterable[Any], spread: bool = False,
           ids: Callable[[Any], str] | None = None) -> list[Any]:
    """``cases`` as pytest parameters, of which those equal to one in ``fast`` stay in the fast
    tier and the others are marked slow. ``spread``: each case is a tuple of the values of a
    multi-name ``parametrize``; otherwise each case is one parameter. ``ids``: names a case."""
    fast = list(fast)
    params = []
    for case in cases:
        marks = () if case in fast else (pytest.mark.slow,)
        values = tuple(case) if spread else (case,)
        params.append(pytest.param(*values, marks=marks, id=ids(case) if ids else None))
    return params
