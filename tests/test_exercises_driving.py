"""The exercise checkers of notebook 03, lstmkit.exercises.driving: each accepts a right answer
and, for every hint it gives, a wrong answer that makes that exact hint appear. A checker must
never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex


def _drive_ok(step, xs, units, reverse=False, carry=True):
    h = c = z = np.zeros((xs.shape[0], units))
    outputs = []
    steps = range(xs.shape[1])
    for t in reversed(steps) if reverse else steps:
        h, c = step(xs[:, t], h if carry else z, c if carry else z)
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c


def _drive_masked_ok(step, xs, mask, units, zero_output=False, gate_states=True):
    h = c = out = np.zeros((xs.shape[0], units))
    outputs = []
    for t in range(xs.shape[1]):
        h_new, c_new = step(xs[:, t], h, c)
        m = mask[:, t:t + 1]
        out = np.where(m, h_new, 0.0 if zero_output else out)
        h, c = (np.where(m, h_new, h), np.where(m, c_new, c)) if gate_states else (h_new, c_new)
        outputs.append(out)
    return np.stack(outputs, axis=1), h, c


def test_drive_right_answer():
    assert_pass(ex.check_drive(_drive_ok))
    assert_pass(ex.check_drive(lambda s, xs, u: list(_drive_ok(s, xs, u))))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda s, xs, u: None, "returned None"),
        (lambda s, xs, u: (np.moveaxis(_drive_ok(s, xs, u)[0], 1, 0), *_drive_ok(s, xs, u)[1:]),
         "wrong axis"),
        (lambda s, xs, u: _drive_ok(s, xs, u, carry=False), "not carried"),
        (lambda s, xs, u: _drive_ok(s, xs, u, reverse=True), "backwards"),
        (lambda s, xs, u: (lambda o, h, c: (o, c, h))(*_drive_ok(s, xs, u)), "swapped"),
        (lambda s, xs, u: (lambda o, h, c: (o[:, -1], h, c))(*_drive_ok(s, xs, u)),
         "not only the last one"),
        (lambda s, xs, u: _drive_ok(s, xs, u)[0], "(outputs, h, c)"),
        (lambda s, xs, u: s(xs, 0, 0), "Start from h = c"),
        (lambda s, xs, u: (lambda o, h, c: (o + 1, h, c))(*_drive_ok(s, xs, u)), "wrong values"),
    ],
)
def test_drive_hints(wrong, fragment):
    assert_hint(ex.check_drive(wrong), fragment)


def test_drive_masked_right_answer():
    assert_pass(ex.check_drive_masked(_drive_masked_ok))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda s, xs, m, u: _drive_ok(s, xs, u), "mask is ignored"),
        (lambda s, xs, m, u: _drive_masked_ok(s, xs, m, u, zero_output=True),
         "zero_output_for_mask"),
        (lambda s, xs, m, u: _drive_masked_ok(s, xs, m, u, gate_states=False),
         "states still change"),
        (lambda s, xs, m, u: 1 / 0, "ZeroDivisionError"),
        (lambda s, xs, m, u: _drive_masked_ok(s, xs, ~m, u), "wrong values"),
    ],
)
def test_drive_masked_hints(wrong, fragment):
    assert_hint(ex.check_drive_masked(wrong), fragment)


def test_last_valid_right_answer():
    assert_pass(ex.check_last_valid(lambda o, n: o[np.arange(len(n)), n - 1]))
    assert_pass(ex.check_last_valid(
        lambda o, n: np.stack([o[i, k - 1] for i, k in enumerate(n)])))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda o, n: o[:, -1], "after the padding"),
        (lambda o, n: o[np.arange(len(n)), n], "L - 1"),
        (lambda o, n: o[np.arange(len(n)), n - 2], "not L - 2"),
        (lambda o, n: o[:, 0], "wrong values"),
        (lambda o, n: o[np.arange(len(n)), n - 1].T, "wrong shape"),
    ],
)
def test_last_valid_hints(wrong, fragment):
    assert_hint(ex.check_last_valid(wrong), fragment)
