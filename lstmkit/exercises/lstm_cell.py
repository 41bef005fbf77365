"""Notebook 02, ``02_lstm_cell_from_scratch.ipynb``: the checkers of its exercises 02.1-02.3 (the
LSTM step, unit_forget_bias, PyTorch weights to Keras)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from lstmkit.exercises.framework import (
    _GATES,
    CheckResult,
    Mistake,
    _lstm,
    _sigmoid,
    check_function,
)

__all__ = [
    "check_lstm_step",
    "check_unit_forget_bias",
    "check_torch_to_keras",
]


def _lstm_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, input_dim, units = 3, 5, 4
    return {
        "x": rng.normal(size=(batch, input_dim)),
        "h_prev": rng.normal(size=(batch, units)) * 0.5,
        "c_prev": rng.normal(size=(batch, units)),
        "kernel": rng.normal(size=(input_dim, 4 * units)) * 0.5,
        "recurrent_kernel": rng.normal(size=(units, 4 * units)) * 0.5,
        "bias": rng.normal(size=(4 * units,)),
    }


def _lstm_step(x, h_prev, c_prev, kernel, recurrent_kernel, bias):
    return _lstm(x, h_prev, c_prev, kernel, recurrent_kernel, bias)


def _gate_order_mistake(order: str) -> Mistake:
    return Mistake(
        f"wrong gate order: your function reads the column blocks as {', '.join(order)}, "
        "but Keras stores them as i, f, c, o (input, forget, candidate, output).",
        lambda *args: _lstm(*args, order=order),
    )


_LSTM_STEP_MISTAKES = (
    Mistake("forgot the bias: z = x @ kernel + h_prev @ recurrent_kernel + bias.",
            lambda *args: _lstm(*args, use_bias=False)),
    Mistake("h_t = o * tanh(c_t): you forgot the tanh on the new cell state.",
            lambda *args: _lstm(*args, tanh_c=False)),
    Mistake("the candidate g uses tanh, not sigmoid (only i, f and o are sigmoid gates).",
            lambda *args: _lstm(*args, candidate=_sigmoid)),
    Mistake("c_t = f * c_prev + i * g: you dropped the forget term f * c_prev.",
            lambda *args: _lstm(*args, forget=False)),
    Mistake("return (h_t, c_t) in that order; yours returns (c_t, h_t).",
            lambda *args: _lstm(*args)[::-1]),
    *(_gate_order_mistake("".join(p)) for p in itertools.permutations(_GATES)
      if "".join(p) != _GATES),
)


def check_lstm_step(fn: Any) -> CheckResult:
    """Exercise 02.1: ``fn(x, h_prev, c_prev, kernel, recurrent_kernel, bias) -> (h_t, c_t)`` in
    NumPy with Keras' weight layout (column blocks i, f, c, o)."""
    return check_function(
        "lstm_step", fn, _lstm_step, _lstm_inputs, mistakes=_LSTM_STEP_MISTAKES,
        output_names="a tuple (h_t, c_t)",
        error_hint="Shapes: kernel is (input_dim, 4*units) and recurrent_kernel (units, "
                   "4*units): x @ kernel + h_prev @ recurrent_kernel is (batch, 4*units); "
                   "split it into 4 blocks of `units` columns.",
    )


def _forget_bias_inputs(rng: np.random.Generator) -> dict[str, int]:
    return {"units": int(rng.integers(2, 7))}


def _forget_bias(units, block=1, value=1.0):
    bias = np.zeros(4 * units)
    bias[block * units:(block + 1) * units] = value
    return bias


_FORGET_BIAS_MISTAKES = (
    *(Mistake(f"the ones are in block {k} ({'ifco'[k]}); the forget gate is block 1: Keras' "
              "order is i, f, c, o.", lambda units, k=k: _forget_bias(units, block=k))
      for k in (0, 2, 3)),
    Mistake("only the forget block starts at 1; the other three blocks start at 0 (zeros).",
            lambda units: np.ones(4 * units)),
    Mistake("the forget block must start at exactly 1, not 0: that is the point of "
            "unit_forget_bias.", lambda units: np.zeros(4 * units)),
    Mistake("return the whole bias, 4 * units values (i, f, c, o), not only the forget block.",
            lambda units: np.ones(units)),
)


def check_unit_forget_bias(fn: Any) -> CheckResult:
    """Exercise 02.2: ``fn(units) -> bias`` (4*units,), the initial LSTM bias with
    ``unit_forget_bias=True`` and ``bias_initializer="zeros"``."""
    return check_function("unit_forget_bias", fn, lambda units: _forget_bias(units),
                          _forget_bias_inputs, mistakes=_FORGET_BIAS_MISTAKES)


def _torch_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    input_dim, units = 5, 3
    return {
        "weight_ih": rng.normal(size=(4 * units, input_dim)),
        "weight_hh": rng.normal(size=(4 * units, units)),
        "bias_ih": rng.normal(size=(4 * units,)),
        "bias_hh": rng.normal(size=(4 * units,)),
    }


def _torch_to_keras(weight_ih, weight_hh, bias_ih, bias_hh):
    return weight_ih.T, weight_hh.T, bias_ih + bias_hh


_TORCH_MISTAKES = (
    Mistake("PyTorch stores weights as (4*units, input_dim) for W @ x; Keras as "
            "(input_dim, 4*units) for x @ W: transpose both weight matrices.",
            lambda weight_ih, weight_hh, bias_ih, bias_hh: (weight_ih, weight_hh,
                                                            bias_ih + bias_hh)),
    Mistake("PyTorch adds two biases (b_ih + b_hh) and Keras has one: the Keras bias is "
            "their sum, you kept only bias_ih.",
            lambda weight_ih, weight_hh, bias_ih, bias_hh: (weight_ih.T, weight_hh.T, bias_ih)),
    Mistake("the two PyTorch biases are added in the cell, so the Keras bias is their sum "
            "(4*units values), not their concatenation.",
            lambda weight_ih, weight_hh, bias_ih, bias_hh: (
                weight_ih.T, weight_hh.T, np.concatenate([bias_ih, bias_hh]))),
    Mistake("the kernel comes from weight_ih (input to hidden) and the recurrent kernel from "
            "weight_hh; yours are swapped.",
            lambda weight_ih, weight_hh, bias_ih, bias_hh: (weight_hh.T, weight_ih.T,
                                                            bias_ih + bias_hh)),
)


def check_torch_to_keras(fn: Any) -> CheckResult:
    """Exercise 02.3: ``fn(weight_ih, weight_hh, bias_ih, bias_hh) -> (kernel,
    recurrent_kernel, bias)``: PyTorch ``nn.LSTM`` weights to Keras' ``LSTMCell`` layout."""
    return check_function(
        "torch_to_keras", fn, _torch_to_keras, _torch_inputs, mistakes=_TORCH_MISTAKES,
        output_names="a tuple (kernel, recurrent_kernel, bias)",
        error_hint="PyTorch: weight_ih (4*units, input_dim), weight_hh (4*units, units), two "
                   "biases (4*units,). Keras: kernel (input_dim, 4*units), recurrent_kernel "
                   "(units, 4*units), one bias (4*units,).",
    )
