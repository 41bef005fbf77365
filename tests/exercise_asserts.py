"""Assertions shared by the exercise checkers' tests (tests/test_exercises_*.py)."""

from __future__ import annotations

import numpy as np

from lstmkit import exercises as ex


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def assert_pass(result):
    assert isinstance(result, ex.CheckResult)
    assert result.passed, result.message
    assert result.message.startswith("PASS")


def assert_hint(result, *fragments):
    assert isinstance(result, ex.CheckResult)
    assert not result.passed, result.message
    assert result.message.startswith("NOT YET")
    for fragment in fragments:
        assert fragment in result.message, result.message
