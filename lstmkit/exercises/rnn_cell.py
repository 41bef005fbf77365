"""Notebook 01, ``01_rnn_cell_from_scratch.ipynb``: the checkers of its exercises 01.1-01.3 (the
simple RNN step, unrolling it, its Jacobian)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, Mistake, _sigmoid, check_function

__all__ = [
    "check_rnn_step",
    "check_rnn_unroll",
    "check_step_jacobian",
]


_RNN_SHAPES = (
    "Shapes: x is (batch, input_dim), W is (input_dim, units), h_prev is (batch, units) and "
    "U is (units, units), so the products are x @ W and h_prev @ U (data on the left)."
)


def _rnn_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, input_dim, units = 3, 5, 4
    return {
        "x": rng.normal(size=(batch, input_dim)),
        "h_prev": rng.normal(size=(batch, units)) * 0.5,
        "W": rng.normal(size=(input_dim, units)) * 0.5,
        "U": rng.normal(size=(units, units)) * 0.5,
        "b": rng.normal(size=(units,)),
    }


def _rnn_step(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U + b)


_RNN_STEP_MISTAKES = (
    Mistake("forgot the bias: add b to the pre-activation before tanh.",
            lambda x, h_prev, W, U, b: np.tanh(x @ W + h_prev @ U)),
    Mistake("forgot the activation: h_t = tanh(x W + h_prev U + b).",
            lambda x, h_prev, W, U, b: x @ W + h_prev @ U + b),
    Mistake("wrong activation: the simple RNN cell uses tanh, not sigmoid.",
            lambda x, h_prev, W, U, b: _sigmoid(x @ W + h_prev @ U + b)),
    Mistake("forgot the recurrent term h_prev @ U: without it the cell has no memory.",
            lambda x, h_prev, W, U, b: np.tanh(x @ W + b)),
    Mistake("h_prev @ U.T is not h_prev @ U: in the row-vector convention rows of U index "
            "h_prev and columns index h_t, so no transpose is needed.",
            lambda x, h_prev, W, U, b: np.tanh(x @ W + h_prev @ U.T + b)),
    Mistake("the bias belongs inside the activation: you added b after tanh, but "
            "h_t = tanh(x W + h_prev U + b).",
            lambda x, h_prev, W, U, b: np.tanh(x @ W + h_prev @ U) + b),
)


def check_rnn_step(fn: Any) -> CheckResult:
    """Exercise 01.1: ``fn(x, h_prev, W, U, b) -> h_t`` in NumPy, ``h_t = tanh(x W + h U + b)``."""
    return check_function("rnn_step", fn, _rnn_step, _rnn_inputs,
                          mistakes=_RNN_STEP_MISTAKES, error_hint=_RNN_SHAPES)


def _unroll_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, time, input_dim, units = 3, 6, 5, 4
    return {
        "xs": rng.normal(size=(batch, time, input_dim)),
        "h0": rng.normal(size=(batch, units)) * 0.5,
        "W": rng.normal(size=(input_dim, units)) * 0.5,
        "U": rng.normal(size=(units, units)) * 0.5,
        "b": rng.normal(size=(units,)),
    }


def _unroll_states(xs, h0, W, U, b, carry=True, reverse=False):
    h, out = h0, []
    steps = range(xs.shape[1])
    for t in reversed(steps) if reverse else steps:
        h = _rnn_step(xs[:, t], h if carry else h0, W, U, b)
        out.append(h)
    return out


def _unroll(xs, h0, W, U, b):
    return np.stack(_unroll_states(xs, h0, W, U, b), axis=1)


_UNROLL_MISTAKES = (
    Mistake("you returned only the last state; return every step's h_t, stacked on axis 1 "
            "into (batch, time, units).",
            lambda xs, h0, W, U, b: _unroll_states(xs, h0, W, U, b)[-1]),
    Mistake("the states are stacked on the wrong axis: Keras' layout is (batch, time, units), "
            "so stack on axis 1 (np.stack(states, axis=1)).",
            lambda xs, h0, W, U, b: np.stack(_unroll_states(xs, h0, W, U, b), axis=0)),
    Mistake("the state is not carried: each step must use the h_t of the step before, not h0.",
            lambda xs, h0, W, U, b: np.stack(_unroll_states(xs, h0, W, U, b, carry=False),
                                             axis=1)),
    Mistake("you included the initial state h0 in the output; return only the T new states.",
            lambda xs, h0, W, U, b: np.stack([h0, *_unroll_states(xs, h0, W, U, b)], axis=1)),
    Mistake("time runs backwards in your loop: go from t = 0 to T-1 (xs[:, t] is step t).",
            lambda xs, h0, W, U, b: np.stack(_unroll_states(xs, h0, W, U, b, reverse=True),
                                             axis=1)),
)


def check_rnn_unroll(fn: Any) -> CheckResult:
    """Exercise 01.2: ``fn(xs, h0, W, U, b) -> hs``, all states (batch, time, units)."""
    return check_function(
        "rnn_unroll", fn, _unroll, _unroll_inputs, mistakes=_UNROLL_MISTAKES,
        error_hint="xs is (batch, time, input_dim): the input of step t is xs[:, t]. "
                   + _RNN_SHAPES,
    )


def _jacobian_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    input_dim, units = 5, 4
    return {
        "x": rng.normal(size=(input_dim,)),
        "h_prev": rng.normal(size=(units,)) * 0.5,
        "W": rng.normal(size=(input_dim, units)) * 0.5,
        "U": rng.normal(size=(units, units)) * 0.5,
        "b": rng.normal(size=(units,)),
    }


def _new_h(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U + b)


def _step_jacobian(x, h_prev, W, U, b):
    h = _new_h(x, h_prev, W, U, b)
    return (1.0 - h**2)[:, None] * U.T


_JACOBIAN_MISTAKES = (
    Mistake("forgot the derivative of tanh: J = diag(1 - h_t**2) @ U.T.",
            lambda x, h_prev, W, U, b: U.T),
    Mistake("your Jacobian is transposed: J[i, j] = d h_t[i] / d h_prev[j], so rows follow "
            "h_t: J = diag(1 - h_t**2) @ U.T, i.e. (1 - h_t**2)[:, None] * U.T.",
            lambda x, h_prev, W, U, b: _step_jacobian(x, h_prev, W, U, b).T),
    Mistake("tanh' must be taken at the new state: 1 - h_t**2, not 1 - h_prev**2.",
            lambda x, h_prev, W, U, b: (1.0 - h_prev**2)[:, None] * U.T),
    Mistake("tanh'(z) = 1 - tanh(z)**2 = 1 - h_t**2 (squared), not 1 - h_t.",
            lambda x, h_prev, W, U, b: (1.0 - _new_h(x, h_prev, W, U, b))[:, None] * U.T),
    Mistake("you used U where U.T belongs: since h_t = tanh(... + h_prev @ U), "
            "d h_t[i] / d h_prev[j] = (1 - h_t[i]**2) * U[j, i], i.e. J = (1 - h_t**2)[:, None] "
            "* U.T.",
            lambda x, h_prev, W, U, b: (1.0 - _new_h(x, h_prev, W, U, b) ** 2)[:, None] * U),
)


def check_step_jacobian(fn: Any) -> CheckResult:
    """Exercise 01.3: ``fn(x, h_prev, W, U, b) -> J`` with ``J[i, j] = d h_t[i] / d h_prev[j]``
    for one sample (vectors, no batch axis)."""
    return check_function(
        "step_jacobian", fn, _step_jacobian, _jacobian_inputs, mistakes=_JACOBIAN_MISTAKES,
        error_hint="Here x, h_prev and b are vectors (no batch axis) and J is (units, units).",
    )
