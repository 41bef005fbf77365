"""The exercise checkers of notebook 00, lstmkit.exercises.tour: each accepts a right answer and,
for every hint it gives, a wrong answer that makes that exact hint appear. A checker must never
raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex


def shapes_right(cell, batch, steps, features, units, return_sequences, return_state):
    output = (batch, steps, units) if return_sequences else (batch, units)
    states = [(batch, units)] * (2 if cell == "lstm" else 1)
    return [output, *states] if return_state else [output]


def shapes_from_keras(cell, batch, steps, features, units, return_sequences, return_state):
    """What Keras' layers really return: the independent reference."""
    import keras

    cells = {"lstm": keras.layers.LSTMCell, "simple_rnn": keras.layers.SimpleRNNCell}
    layer = keras.layers.RNN(cells[cell](units), return_sequences=return_sequences,
                             return_state=return_state)
    out = layer(np.zeros((batch, steps, features), "float32"))
    return [tuple(t.shape) for t in (out if isinstance(out, (list, tuple)) else [out])]


def test_returned_shapes_right_answers():
    assert_pass(ex.check_returned_shapes(shapes_right))
    assert_pass(ex.check_returned_shapes(shapes_from_keras))
    assert_pass(ex.check_returned_shapes(  # lists instead of tuples are fine
        lambda *args: [list(s) for s in shapes_right(*args)]))


def _always_sequences(cell, b, t, f, u, seq, st):
    return shapes_right(cell, b, t, f, u, True, st)


def _never_sequences(cell, b, t, f, u, seq, st):
    return shapes_right(cell, b, t, f, u, False, st)


def _states_only(cell, b, t, f, u, seq, st):
    return shapes_right(cell, b, t, f, u, seq, st)[1:] if st else shapes_right(cell, b, t, f, u,
                                                                              seq, st)


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        ("not a function", "expected a function"),
        (lambda *args: None, "returned None"),
        (lambda *args: 1 / 0, "raised ZeroDivisionError"),
        (_always_sequences, "return_sequences=False the output is the last step only"),
        (_never_sequences, "return_sequences=True the output holds every step"),
        (lambda cell, *rest: shapes_right("lstm", *rest), "simple RNN has one state"),
        (lambda cell, *rest: shapes_right("simple_rnn", *rest), "two states, h and c"),
        (_states_only, "the output stays in the list"),
        (lambda cell, b, t, f, u, seq, st: shapes_right(cell, b, t, f, u, seq, True),
         "returns the output alone"),
        (lambda cell, b, t, f, u, seq, st: shapes_right(cell, b, t, f, f, seq, st),
         "not the number of input features"),
        (lambda cell, b, t, f, u, seq, st: [(t, b, u) if len(s) == 3 else s
                                            for s in shapes_right(cell, b, t, f, u, seq, st)],
         "batch axis first"),
        (lambda cell, b, t, f, u, seq, st: [(b, t, u) if seq else s
                                            for s in shapes_right(cell, b, t, f, u, seq, st)],
         "final states only"),
        (lambda *args: [(1, 2, 3)], "for lstm with return_sequences=True, return_state=True you "
                                    "returned ((1, 2, 3),)"),
        (lambda *args: "shapes", "you returned 'shapes'"),
    ],
)
def test_returned_shapes_hints(wrong, fragment):
    assert_hint(ex.check_returned_shapes(wrong), fragment)


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
