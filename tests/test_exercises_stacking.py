"""The exercise checkers of notebook 04, lstmkit.exercises.stacking: each accepts a right answer
and, for every hint it gives, a wrong answer that makes that exact hint appear. A checker must
never raise because of the learner's code."""

from __future__ import annotations

import pytest
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex


def _count_ok(d, u):
    return 4 * (u * (d + u) + u)


def _stack_ok(d, units):
    total = 0
    for u in units:
        total, d = total + _count_ok(d, u), u
    return total


def test_lstm_param_count_right_answer():
    assert_pass(ex.check_lstm_param_count(_count_ok))
    assert_pass(ex.check_lstm_param_count(lambda d, u: 4 * u * (d + u + 1)))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda d, u: u * (d + u) + u, "multiply by 4"),
        (lambda d, u: 4 * u * (d + u), "forgot the biases"),
        (lambda d, u: 4 * (u * d + u), "forgot the recurrent kernel"),
        (lambda d, u: 4 * (u * (d + u) + 2 * u), "PyTorch"),
        (lambda d, u: 3 * (u * (d + u) + u), "GRU"),
        (lambda d, u: _count_ok(d, u) + 1, "wrong values"),
        (lambda d, u: None, "returned None"),
    ],
)
def test_lstm_param_count_hints(wrong, fragment):
    assert_hint(ex.check_lstm_param_count(wrong), fragment)


def test_stack_param_count_right_answer():
    assert_pass(ex.check_stack_param_count(_stack_ok))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda d, us: sum(_count_ok(d, u) for u in us), "previous layer's units"),
        (lambda d, us: _count_ok(d, us[0]), "only the first layer"),
        (lambda d, us: _stack_ok(d, us[:-1]), "left out the last layer"),
        (lambda d, us: [_count_ok(a, b) for a, b in zip([d, *us[:-1]], us, strict=True)],
         "not one count per layer"),
        (lambda d, us: _stack_ok(d, us) + 1, "wrong values"),
    ],
)
def test_stack_param_count_hints(wrong, fragment):
    assert_hint(ex.check_stack_param_count(wrong), fragment)


def test_bidirectional_stack_count():
    assert 2 * _count_ok(8, 3) + 2 * _count_ok(6, 5) == 768
    assert_pass(ex.check_bidirectional_stack_count(768))
    for wrong, fragment in [(324, "one-directional"), (648, "2 * 3 = 6"),
                            (468, "bidirectional too"), (528, "first layer"),
                            (769, "not right"), (None, "no answer")]:
        assert_hint(ex.check_bidirectional_stack_count(wrong), fragment)
