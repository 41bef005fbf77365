"""The exercise checkers of notebook 04, lstmkit.exercises.stacking: each accepts a right answer
and, for every hint it gives, a wrong answer that makes that exact hint appear. A checker must
never raise because of the learner's code."""

from __future__ import annotations

import keras
import pytest
from exercise_asserts import assert_hint, assert_pass

import lstmkit
from lstmkit import exercises as ex


def _unseen_model():
    return keras.Sequential([
        keras.Input((20, 10)),
        keras.layers.Bidirectional(lstmkit.LSTM(16, return_sequences=True), merge_mode="sum"),
        lstmkit.LSTM(8),
        keras.layers.Dense(3),
    ])


def test_unseen_model_count_right_answer():
    """The expected number is Keras' own count of the model the exercise describes."""
    count = _unseen_model().count_params()
    assert count == 2 * 4 * 16 * (10 + 16 + 1) + 4 * 8 * (16 + 8 + 1) + 8 * 3 + 3
    assert_pass(ex.check_unseen_model_count(count))


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (3456 + 4 * 8 * (32 + 8 + 1) + 27, "not the 32"),
        (1728 + 800 + 27, "own weights: the lower layer"),
        (1728 + 1312 + 27, "keeps the width at 16"),
        (3456 + 800, "left out the Dense head"),
        (3456 + 800 + 24, "a bias per output"),
        (3456, "bidirectional layer alone"),
        (3456 + 4 * 8 * (10 + 8 + 1) + 27, "not the 10 input features"),
        (4284, "not right"),
        (None, "no answer yet"),
    ],
)
def test_unseen_model_count_hints(answer, fragment):
    assert_hint(ex.check_unseen_model_count(answer), fragment)


def _stack_count(u):
    return lstmkit.models.stacked_lstm(units=[u, u], input_shape=(5, 8)).count_params()


def test_widest_stack_right_answer():
    """The expected width, found with Keras' counts of real stacks around it."""
    assert _stack_count(27) <= ex.stacking.BUDGET < _stack_count(28)
    result = ex.check_widest_stack(27)
    assert_pass(result)
    assert str(_stack_count(27)) in result.message and str(_stack_count(28)) in result.message


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (31, "the upper one reads"),
        (45, "fits one layer"),
        (28, "over the budget"),
        (100, "over the budget"),
        (20, "a wider stack fits too"),
        (27.5, "positive whole number"),
        (True, "positive whole number"),
        (0, "positive whole number"),
        (None, "no answer yet"),
    ],
)
def test_widest_stack_hints(answer, fragment):
    assert_hint(ex.check_widest_stack(answer), fragment)


_DIAGNOSIS = {"A": "overfitting", "B": "exploding gradients", "C": "healthy",
              "D": "learning rate too high", "E": "vanishing gradients"}


def test_training_diagnosis_right_answer():
    assert_pass(ex.check_training_diagnosis(_DIAGNOSIS))
    assert_pass(ex.check_training_diagnosis({k.lower(): v.upper() + " "
                                             for k, v in _DIAGNOSIS.items()}))


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (None, "no answer yet"),
        ([("A", "healthy")], "expected a dict"),
        ({**_DIAGNOSIS, "F": "healthy"}, "no run F"),
        ({k: v for k, v in _DIAGNOSIS.items() if k != "C"}, "C missing"),
        ({**_DIAGNOSIS, "A": "too much data"}, "is not one of"),
        ({**_DIAGNOSIS, "A": 3}, "is not one of"),
        ({**_DIAGNOSIS, "B": "learning rate too high"}, "run B is not 'learning rate too high'"),
        ({**_DIAGNOSIS, "D": "exploding gradients"}, "end in NaN"),
        ({**_DIAGNOSIS, "E": "healthy"}, "both fall"),
        ({**_DIAGNOSIS, "C": "overfitting"}, "validation loss turns and rises"),
        ({**_DIAGNOSIS, "A": "vanishing gradients"}, "flat at the chance level"),
        ({**_DIAGNOSIS, "A": "healthy", "C": "overfitting"}, "1 more run(s)"),
    ],
)
def test_training_diagnosis_hints(answer, fragment):
    assert_hint(ex.check_training_diagnosis(answer), fragment)
