"""The exercise checkers of notebook 01, lstmkit.exercises.rnn_cell: each accepts a right answer
and, for every hint it gives, a wrong answer that makes that exact hint appear. A checker must
never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_asserts import assert_hint, assert_pass, sigmoid

from lstmkit import exercises as ex


def rnn_step_right(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U + b)


def test_rnn_step_right_answers():
    assert_pass(ex.check_rnn_step(rnn_step_right))
    import keras

    assert_pass(ex.check_rnn_step(lambda x, h, W, U, b: keras.ops.tanh(
        keras.ops.matmul(x, W) + keras.ops.matmul(h, U) + b)))


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda x, h, W, U, b: None, "returned None"),
        (lambda x, h, W, U, b: np.tanh(x @ W + h @ U), "forgot the bias"),
        (lambda x, h, W, U, b: x @ W + h @ U + b, "forgot the activation"),
        (lambda x, h, W, U, b: sigmoid(x @ W + h @ U + b), "not sigmoid"),
        (lambda x, h, W, U, b: np.tanh(x @ W + b), "forgot the recurrent term"),
        (lambda x, h, W, U, b: np.tanh(x @ W + h @ U.T + b), "U.T is not"),
        (lambda x, h, W, U, b: np.tanh(x @ W + h @ U) + b, "after tanh"),
        (lambda x, h, W, U, b: np.tanh(W @ x + h @ U + b), "x @ W and h_prev @ U"),
        (lambda x, h, W, U, b: np.tanh(x @ W + U @ h + b), "raised ValueError"),
        (lambda x, h, W, U, b: np.tanh(x @ W + h @ U + b)[:, :2], "wrong shape"),
        (lambda x, h, W, U, b: np.tanh(x @ W + 2 * h @ U + b), "wrong values"),
    ],
)
def test_rnn_step_hints(wrong, fragment):
    assert_hint(ex.check_rnn_step(wrong), fragment)


def rnn_unroll_right(xs, h0, W, U, b):
    h, states = h0, []
    for t in range(xs.shape[1]):
        h = np.tanh(xs[:, t] @ W + h @ U + b)
        states.append(h)
    return np.stack(states, axis=1)


def test_rnn_unroll_right_answer():
    assert_pass(ex.check_rnn_unroll(rnn_unroll_right))


def _states(xs, h0, W, U, b, carry=True, reverse=False):
    h, out = h0, []
    order = range(xs.shape[1])
    for t in reversed(order) if reverse else order:
        h = np.tanh(xs[:, t] @ W + (h if carry else h0) @ U + b)
        out.append(h)
    return out


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        (lambda xs, h0, W, U, b: _states(xs, h0, W, U, b)[-1], "only the last state"),
        (lambda xs, h0, W, U, b: np.stack(_states(xs, h0, W, U, b)), "wrong axis"),
        (lambda xs, h0, W, U, b: np.stack(_states(xs, h0, W, U, b, carry=False), 1),
         "not carried"),
        (lambda xs, h0, W, U, b: np.stack([h0, *_states(xs, h0, W, U, b)], 1), "initial state"),
        (lambda xs, h0, W, U, b: np.stack(_states(xs, h0, W, U, b, reverse=True), 1),
         "backwards"),
        (lambda xs, h0, W, U, b: np.tanh(xs @ W + b), "wrong values"),
        (lambda xs, h0, W, U, b: np.stack([np.tanh(xs[t] @ W) for t in range(6)], 1),
         "xs[:, t]"),
    ],
)
def test_rnn_unroll_hints(wrong, fragment):
    assert_hint(ex.check_rnn_unroll(wrong), fragment)


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
