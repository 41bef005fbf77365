"""The exercise checkers of notebook 01, lstmkit.exercises.rnn_cell: each accepts a right answer
and, for every hint it gives, a wrong answer that makes that exact hint appear. A checker must
never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex


def _run(xs, W, U, b, reverse=False):
    h, states = np.zeros((xs.shape[0], U.shape[0])), []
    order = range(xs.shape[1])
    for t in reversed(order) if reverse else order:
        h = np.tanh(xs[:, t] @ W + h @ U + b)
        states.append(h)
    return np.stack(states, axis=1)


def elman_right(xs, W, U, b, V, c):
    return _run(xs, W, U, b) @ V + c


def elman_with_keras(xs, W, U, b, V, c):
    """The independent reference: Keras' SimpleRNN, then a Dense layer at every step."""
    import keras

    rnn = keras.layers.SimpleRNN(U.shape[0], return_sequences=True)
    dense = keras.layers.Dense(V.shape[1])
    rnn.build(xs.shape)
    dense.build((None, U.shape[0]))
    rnn.set_weights([W, U, b])
    dense.set_weights([V, c])
    return keras.ops.convert_to_numpy(dense(rnn(xs.astype("float32"))))


def test_elman_outputs_right_answers():
    assert_pass(ex.check_elman_outputs(elman_right))
    assert_pass(ex.check_elman_outputs(elman_with_keras))


def _y_fed_back(xs, W, U, b, V, c):
    state, ys = np.zeros((xs.shape[0], U.shape[0])), []
    for t in range(xs.shape[1]):
        state = np.tanh(xs[:, t] @ W + state @ U + b) @ V + c
        ys.append(state)
    return np.stack(ys, axis=1)


def _z_projected(xs, W, U, b, V, c):
    h, ys = np.zeros((xs.shape[0], U.shape[0])), []
    for t in range(xs.shape[1]):
        z = xs[:, t] @ W + h @ U + b
        ys.append(z @ V + c)
        h = np.tanh(z)
    return np.stack(ys, axis=1)


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda xs, W, U, b, V, c: None, "returned None"),
        (lambda xs, W, U, b, V, c: _run(xs, W, U, b), "you returned the states h_t"),
        (_y_fed_back, "the state carried to the next step is h_t"),
        (lambda xs, W, U, b, V, c: _run(xs, W, U, b) @ V, "forgot the output bias"),
        (lambda xs, W, U, b, V, c: np.tanh(_run(xs, W, U, b) @ V + c), "no tanh on it"),
        (_z_projected, "not z_t V + c"),
        (lambda xs, W, U, b, V, c: (_run(xs, W, U, b) @ V + c)[:, -1], "not only the last"),
        (lambda xs, W, U, b, V, c: _run(xs, W, U, b) @ V.T + c, "V.T is not"),
        (lambda xs, W, U, b, V, c: _run(xs, W, U, b) @ V + 2 * c, "wrong values"),
        (lambda xs, W, U, b, V, c: np.tanh(W @ xs), "xs[:, t]"),
    ],
)
def test_elman_outputs_hints(wrong, fragment):
    assert_hint(ex.check_elman_outputs(wrong), fragment)


def test_elman_outputs_tries_a_narrower_output():
    """A function that only works when output_dim == units is caught by the second round."""
    def square_only(xs, W, U, b, V, c):
        assert V.shape[0] == V.shape[1], "shapes"
        return elman_right(xs, W, U, b, V, c)

    assert_hint(ex.check_elman_outputs(square_only), "raised AssertionError")


def bidirectional_right(xs, W_f, U_f, b_f, W_b, U_b, b_b):
    forward = _run(xs, W_f, U_f, b_f)
    backward = _run(xs[:, ::-1], W_b, U_b, b_b)[:, ::-1]
    return np.concatenate([forward, backward], axis=-1)


def bidirectional_with_keras(xs, W_f, U_f, b_f, W_b, U_b, b_b):
    """The independent reference: keras.layers.Bidirectional itself."""
    import keras

    layer = keras.layers.Bidirectional(
        keras.layers.SimpleRNN(U_f.shape[0], return_sequences=True))
    layer.build(xs.shape)
    layer.set_weights([W_f, U_f, b_f, W_b, U_b, b_b])  # forward layer's weights, then backward's
    return keras.ops.convert_to_numpy(layer(xs.astype("float32")))


def test_bidirectional_rnn_right_answers():
    assert_pass(ex.check_bidirectional_rnn(bidirectional_right))
    assert_pass(ex.check_bidirectional_rnn(bidirectional_with_keras))


def _fwd(xs, W_f, U_f, b_f, *back):
    return _run(xs, W_f, U_f, b_f)


def _bwd_processing_order(xs, W_f, U_f, b_f, W_b, U_b, b_b):
    return _run(xs, W_b, U_b, b_b, reverse=True)


def _bwd(xs, *weights):
    return _bwd_processing_order(xs, *weights)[:, ::-1]


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda *a: np.concatenate([_fwd(*a), _bwd_processing_order(*a)], -1),
         "reverse them back along time"),
        (lambda *a: np.concatenate([_bwd(*a), _fwd(*a)], -1), "forward states come first"),
        (lambda xs, W_f, U_f, b_f, W_b, U_b, b_b: np.concatenate(
            [_fwd(xs, W_f, U_f, b_f), _run(xs, W_b, U_b, b_b)], -1), "reads the sequence forwards"),
        (lambda xs, W_f, U_f, b_f, *back: bidirectional_right(xs, W_f, U_f, b_f, W_f, U_f, b_f),
         "its own weights"),
        (lambda *a: _fwd(*a) + _bwd(*a), "merge_mode='sum'"),
        (lambda *a: np.concatenate([_fwd(*a), _bwd(*a)], 1), "not on the time axis"),
        (lambda *a: np.concatenate([_fwd(*a)[:, -1], _bwd_processing_order(*a)[:, -1]], -1),
         "not only the final states"),
        (lambda *a: np.concatenate([_fwd(*a), _fwd(*a)], -1), "wrong values"),
        (lambda *a: _fwd(*a), "wrong shape"),
    ],
)
def test_bidirectional_rnn_hints(wrong, fragment):
    assert_hint(ex.check_bidirectional_rnn(wrong), fragment)


def jacobian_right(x, h_prev, W, U, b):
    h = np.tanh(x @ W + h_prev @ U + b)
    return np.diag(1 - h**2) @ U.T


def test_step_jacobian_right_answers():
    assert_pass(ex.check_step_jacobian(jacobian_right))

    def by_finite_differences(x, h_prev, W, U, b, eps=1e-6):
        def f(h):
            return np.tanh(x @ W + h @ U + b)

        return np.stack([(f(h_prev + eps * e) - f(h_prev - eps * e)) / (2 * eps)
                         for e in np.eye(len(h_prev))], axis=1)

    assert_pass(ex.check_step_jacobian(by_finite_differences))


def _h(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U + b)


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda x, h, W, U, b: U.T, "forgot the derivative of tanh"),
        (lambda x, h, W, U, b: jacobian_right(x, h, W, U, b).T, "transposed"),
        (lambda x, h, W, U, b: np.diag(1 - h**2) @ U.T, "not 1 - h_prev**2"),
        (lambda x, h, W, U, b: np.diag(1 - _h(x, h, W, U, b)) @ U.T, "squared"),
        (lambda x, h, W, U, b: np.diag(1 - _h(x, h, W, U, b) ** 2) @ U, "U where U.T"),
        (lambda x, h, W, U, b: np.diag(1 - _h(x, h, W, U, b) ** 2), "wrong values"),
        (lambda x, h, W, U, b: np.zeros((5, 5)), "wrong shape"),
    ],
)
def test_step_jacobian_hints(wrong, fragment):
    assert_hint(ex.check_step_jacobian(wrong), fragment)
