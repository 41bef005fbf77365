"""The exercise checkers of notebook 03, lstmkit.exercises.driving: each accepts a right answer
and, for every hint it gives, a wrong answer that makes that exact hint appear. A checker must
never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_asserts import assert_hint, assert_pass, sigmoid

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


def _bidirectional_ok(step_f, step_b, xs, units, flip=True, axis=-1):
    forward = _drive_ok(step_f, xs, units)[0]
    backward = _drive_ok(step_b, xs, units, reverse=True)[0]
    return np.concatenate([forward, backward[:, ::-1] if flip else backward], axis=axis)


def test_bidirectional_right_answer():
    assert_pass(ex.check_bidirectional(_bidirectional_ok))
    # the same through the time-reversed input (as keras' go_backwards does)
    assert_pass(ex.check_bidirectional(lambda f, b, xs, u: np.concatenate(
        [_drive_ok(f, xs, u)[0], _drive_ok(b, xs[:, ::-1], u)[0][:, ::-1]], axis=-1)))


def test_bidirectional_matches_keras_bidirectional():
    """The checker's reference is keras.layers.Bidirectional's computation (independent check:
    Keras' layer with the same weights as the NumPy steps)."""
    import keras

    from lstmkit.exercises.driving import _bidirectional

    units, xs = 3, np.random.default_rng(1).normal(size=(2, 5, 4)).astype("float32")
    layer = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))
    want = np.asarray(layer(xs))

    def step_of(weights):
        kernel, recurrent, bias = weights

        def step(x_t, h, c):
            z_i, z_f, z_g, z_o = np.split(x_t @ kernel + h @ recurrent + bias, 4, axis=-1)
            c = sigmoid(z_f) * c + sigmoid(z_i) * np.tanh(z_g)
            return sigmoid(z_o) * np.tanh(c), c
        return step

    got = _bidirectional(step_of(layer.forward_layer.get_weights()),
                         step_of(layer.backward_layer.get_weights()), xs, units)
    assert np.max(np.abs(got - want)) < 1e-5


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda f, b, xs, u: None, "returned None"),
        (lambda f, b, xs, u: _bidirectional_ok(f, b, xs, u, flip=False), "processing order"),
        (lambda f, b, xs, u: (lambda o: np.concatenate([o[..., u:], o[..., :u]], axis=-1))(
            _bidirectional_ok(f, b, xs, u)), "swapped"),
        (lambda f, b, xs, u: (lambda o: o[..., :u] + o[..., u:])(_bidirectional_ok(f, b, xs, u)),
         "merge_mode='sum'"),
        (lambda f, b, xs, u: _bidirectional_ok(f, b, xs, u, axis=1), "feature axis"),
        (lambda f, b, xs, u: np.concatenate([_drive_ok(f, xs, u)[0], _drive_ok(b, xs, u)[0]],
                                            axis=-1), "read the sequence forwards"),
        (lambda f, b, xs, u: _bidirectional_ok(f, f, xs, u), "own weights"),
        (lambda f, b, xs, u: np.concatenate([_drive_ok(f, xs, u, carry=False)[0],
                                             _drive_ok(b, xs, u, reverse=True,
                                                       carry=False)[0][:, ::-1]], axis=-1),
         "not carried"),
        (lambda f, b, xs, u: np.concatenate([_drive_ok(f, xs, u)[1],
                                             _drive_ok(b, xs, u, reverse=True)[1]], axis=-1),
         "return_sequences=False"),
        (lambda f, b, xs, u: _bidirectional_ok(f, b, xs, u)[:, 0], "wrong shape"),
        (lambda f, b, xs, u: f(xs, 0, 0), "start both directions"),
        (lambda f, b, xs, u: _bidirectional_ok(f, b, xs, u) + 1, "wrong values"),
    ],
)
def test_bidirectional_hints(wrong, fragment):
    assert_hint(ex.check_bidirectional(wrong), fragment)


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
