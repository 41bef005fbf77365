"""The fast tier of a parametrized grid: ``make unit`` (``-m "not slow"``) runs a cover of it,
``make test`` all of it."""

from __future__ import annotations

from collections.abc import Iterable
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
