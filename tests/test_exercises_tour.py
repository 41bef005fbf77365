"""The exercise checkers of notebook 00, lstmkit.exercises.tour: each accepts a right answer and,
for every hint it gives, a wrong answer that makes that exact hint appear. A checker must never
raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex


def test_tour_shapes():
    right = ((32, 10, 4), (32, 4), (32, 4))
    assert_pass(ex.check_tour_shapes(right, 32, 10, 8, 4))
    assert_pass(ex.check_tour_shapes([[32, 10, 4], [32, 4], [32, 4]], 32, 10, 8, 4))
    assert_pass(ex.check_tour_shapes(((2, 3, 5), (2, 5), (2, 5)), 2, 3, 7, 5))


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (None, "no answer yet"),
        (((32, 4), (32, 4), (32, 4)), "return_sequences=True"),
        (((32, 10, 8), (32, 8), (32, 8)), "not the number of input features"),
        (((32, 10, 4), (32, 4)), "two states"),
        (((10, 32, 4), (32, 4), (32, 4)), "batch axis first"),
        (((32, 10, 4), (32, 10, 4), (32, 10, 4)), "final states only"),
        (((32, 10, 4), (32, 4), (32, 5)), "is not right"),
        ("a string", "is not right"),
    ],
)
def test_tour_shapes_hints(answer, fragment):
    assert_hint(ex.check_tour_shapes(answer, 32, 10, 8, 4), fragment)


def copy_weights_right(src, dst):
    dst.build((None, src.kernel.shape[0]))
    dst.set_weights(src.get_weights())


def test_copy_weights_right():
    assert_pass(ex.check_copy_weights(copy_weights_right))


def _reverse_copy(src, dst):
    dst.build((None, src.kernel.shape[0]))
    src.set_weights(dst.get_weights())


def _zero_bias_copy(src, dst):
    dst.build((None, src.kernel.shape[0]))
    kernel, recurrent_kernel, bias = src.get_weights()
    dst.set_weights([kernel, recurrent_kernel, np.zeros_like(bias)])


def _wrong_width(src, dst):
    dst.build((None, 7))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        ("not a function", "expected a function"),
        (lambda src, dst: dst.set_weights(src.get_weights()), "call dst.build((None, input_dim))"),
        (_reverse_copy, "you copied from dst to src"),
        (lambda src, dst: None, "dst has no weights"),
        (_zero_bias_copy, "computes something different"),
        (_wrong_width, "calling dst raised ValueError"),
    ],
)
def test_copy_weights_hints(wrong, fragment):
    assert_hint(ex.check_copy_weights(wrong), fragment)
