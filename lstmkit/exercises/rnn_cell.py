"""Notebook 01, ``01_rnn_cell_from_scratch.ipynb``: the checkers of its exercises 01.1-01.3 (an
Elman network with an output projection, a bidirectional layer by hand, the step's Jacobian)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, Mistake, check_function, passed

__all__ = [
    "check_elman_outputs",
    "check_bidirectional_rnn",
    "check_step_jacobian",
]


_RNN_SHAPES = (
    "Shapes: xs is (batch, time, input_dim) and the input of step t is xs[:, t]; W is "
    "(input_dim, units), U (units, units), so the products are x @ W and h @ U (data on the left)."
)


def _rnn_step(x, h_prev, W, U, b):
    return np.tanh(x @ W + h_prev @ U + b)


def _states(xs, W, U, b, reverse=False):
    """Every state of the simple RNN from h_0 = 0, in processing order (reversed time when
    ``reverse``)."""
    h, out = np.zeros((xs.shape[0], U.shape[0])), []
    steps = range(xs.shape[1])
    for t in reversed(steps) if reverse else steps:
        h = _rnn_step(xs[:, t], h, W, U, b)
        out.append(h)
    return out


# --- exercise 01.1: an Elman network, h carried, y = h V + c read out at every step


def _elman_inputs(units: int, output_dim: int) -> Any:
    def make(rng: np.random.Generator) -> dict[str, np.ndarray]:
        batch, time, input_dim = 3, 5, 2
        return {
            "xs": rng.normal(size=(batch, time, input_dim)),
            "W": rng.normal(size=(input_dim, units)) * 0.6,
            "U": rng.normal(size=(units, units)) * 0.5,
            "b": rng.normal(size=(units,)) * 0.3,
            "V": rng.normal(size=(units, output_dim)),
            "c": rng.normal(size=(output_dim,)),
        }

    return make


def _elman(xs, W, U, b, V, c):
    return np.stack([h @ V + c for h in _states(xs, W, U, b)], axis=1)


def _y_fed_back(xs, W, U, b, V, c):
    state, ys = np.zeros((xs.shape[0], U.shape[0])), []
    for t in range(xs.shape[1]):
        y = _rnn_step(xs[:, t], state, W, U, b) @ V + c
        ys.append(y)
        state = y
    return np.stack(ys, axis=1)


def _projected_pre_activation(xs, W, U, b, V, c):
    h, ys = np.zeros((xs.shape[0], U.shape[0])), []
    for t in range(xs.shape[1]):
        z = xs[:, t] @ W + h @ U + b
        ys.append(z @ V + c)
        h = np.tanh(z)
    return np.stack(ys, axis=1)


_ELMAN_MISTAKES = (
    Mistake("you returned the states h_t; the network's outputs are y_t = h_t V + c.",
            lambda xs, W, U, b, V, c: np.stack(_states(xs, W, U, b), axis=1)),
    Mistake("the state carried to the next step is h_t, not the output y_t: keep h for the "
            "recurrence and only read y out (notebook 02, mistake 4, shows what this computes).",
            _y_fed_back),
    Mistake("forgot the output bias: y_t = h_t V + c.",
            lambda xs, W, U, b, V, c: _elman(xs, W, U, b, V, 0.0)),
    Mistake("the output projection is linear: y_t = h_t V + c, with no tanh on it.",
            lambda xs, W, U, b, V, c: np.tanh(_elman(xs, W, U, b, V, c))),
    Mistake("project h_t, after the tanh: y_t = tanh(z_t) V + c, not z_t V + c.",
            _projected_pre_activation),
    Mistake("return y_t for every step, (batch, time, output_dim), not only the last one.",
            lambda xs, W, U, b, V, c: _elman(xs, W, U, b, V, c)[:, -1]),
    Mistake("h_t @ V.T is not h_t @ V: V is (units, output_dim), rows follow h.",
            lambda xs, W, U, b, V, c: np.stack([h @ V.T + c for h in _states(xs, W, U, b)],
                                               axis=1)),
)


def check_elman_outputs(fn: Any) -> CheckResult:
    """Exercise 01.1: ``fn(xs, W, U, b, V, c) -> ys``: an Elman network from ``h_0 = 0``,
    ``h_t = tanh(x_t W + h_{t-1} U + b)`` carried, ``y_t = h_t V + c`` returned for every step,
    shape (batch, time, output_dim). Checked with ``output_dim == units`` (so a network that
    feeds ``y`` back runs, and is recognised) and with ``output_dim != units``."""
    for units, output_dim, seed in ((4, 4, 0), (4, 2, 10)):
        result = check_function(
            "elman_outputs", fn, _elman, _elman_inputs(units, output_dim),
            mistakes=_ELMAN_MISTAKES, error_hint=_RNN_SHAPES + " V is (units, output_dim).",
            trials=2, seed=seed)
        if not result:
            return result
    return passed("elman_outputs", "matches the reference with output_dim == units and "
                                   "output_dim != units.")


# --- exercise 01.2: a bidirectional simple RNN, merge_mode="concat", return_sequences=True


def _bidirectional_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, time, input_dim, units = 3, 5, 2, 4

    def weights() -> list[np.ndarray]:
        return [rng.normal(size=(input_dim, units)) * 0.6, rng.normal(size=(units, units)) * 0.5,
                rng.normal(size=(units,)) * 0.3]

    forward, backward = weights(), weights()
    return {"xs": rng.normal(size=(batch, time, input_dim)),
            **dict(zip(("W_f", "U_f", "b_f"), forward, strict=True)),
            **dict(zip(("W_b", "U_b", "b_b"), backward, strict=True))}


def _directions(xs, W_f, U_f, b_f, W_b, U_b, b_b):
    """(forward states, backward states in time order, backward states in processing order)."""
    forward = np.stack(_states(xs, W_f, U_f, b_f), axis=1)
    processed = np.stack(_states(xs, W_b, U_b, b_b, reverse=True), axis=1)
    return forward, processed[:, ::-1], processed


def _bidirectional(*args):
    forward, backward, _ = _directions(*args)
    return np.concatenate([forward, backward], axis=-1)


_BIDIRECTIONAL_MISTAKES = (
    Mistake("the backward states are in the order they were computed (step T first): reverse "
            "them back along time, so that position t holds the state that has read "
            "x_T ... x_t, before concatenating.",
            lambda *args: np.concatenate([_directions(*args)[0], _directions(*args)[2]], -1)),
    Mistake("the forward states come first: concatenate [forward, backward] on the last axis "
            "(Keras' merge_mode='concat').",
            lambda *args: np.concatenate(_directions(*args)[1::-1], axis=-1)),
    Mistake("your backward RNN reads the sequence forwards: it must read x_T first, i.e. run "
            "over xs[:, ::-1].",
            lambda xs, W_f, U_f, b_f, W_b, U_b, b_b: np.concatenate(
                [_directions(xs, W_f, U_f, b_f, W_b, U_b, b_b)[0],
                 np.stack(_states(xs, W_b, U_b, b_b), axis=1)], axis=-1)),
    Mistake("the backward direction has its own weights (W_b, U_b, b_b); yours uses the "
            "forward ones.",
            lambda xs, W_f, U_f, b_f, *rest: _bidirectional(xs, W_f, U_f, b_f, W_f, U_f, b_f)),
    Mistake("you added the two directions (merge_mode='sum'); concatenate them: the result "
            "has 2 * units features.",
            lambda *args: _directions(*args)[0] + _directions(*args)[1]),
    Mistake("concatenate on the feature axis (axis=-1), not on the time axis.",
            lambda *args: np.concatenate(_directions(*args)[:2], axis=1)),
    Mistake("return every step, (batch, time, 2 * units), not only the final states.",
            lambda *args: np.concatenate([_directions(*args)[0][:, -1],
                                          _directions(*args)[2][:, -1]], axis=-1)),
)


def check_bidirectional_rnn(fn: Any) -> CheckResult:
    """Exercise 01.2: ``fn(xs, W_f, U_f, b_f, W_b, U_b, b_b) -> (batch, time, 2 * units)``:
    what ``keras.layers.Bidirectional(keras.layers.SimpleRNN(units, return_sequences=True))``
    computes, by hand: a forward RNN and a backward RNN (over the reversed sequence, its states
    put back in time order), both from zero states, concatenated on the last axis."""
    return check_function(
        "bidirectional_rnn", fn, _bidirectional, _bidirectional_inputs,
        mistakes=_BIDIRECTIONAL_MISTAKES, error_hint=_RNN_SHAPES)


# --- exercise 01.3: the Jacobian of one step


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
