"""Notebook 07, ``07_backprop_through_time.ipynb``: the checkers of its exercises 07.1-07.3 (one
LSTM step backwards: output, cell state, gates)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from lstmkit.exercises.framework import _GATES, CheckResult, Mistake, _sigmoid, check_function

__all__ = [
    "check_output_backward",
    "check_cell_state_backward",
    "check_gates_backward",
]


def _output_backward_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, units = 3, 4
    return {
        "dh": rng.normal(size=(batch, units)),
        "o": _sigmoid(rng.normal(size=(batch, units))),
        "c": rng.normal(size=(batch, units)),
    }


def _output_backward(dh, o, c):
    return dh * np.tanh(c), dh * o * (1.0 - np.tanh(c) ** 2)


_OUTPUT_BACKWARD_MISTAKES = (
    Mistake("dc needs the derivative of tanh: dc = dh * o * (1 - tanh(c)**2).",
            lambda dh, o, c: (dh * np.tanh(c), dh * o)),
    Mistake("dc needs the factor o from h = o * tanh(c): dc = dh * o * (1 - tanh(c)**2).",
            lambda dh, o, c: (dh * np.tanh(c), dh * (1.0 - np.tanh(c) ** 2))),
    Mistake("tanh'(c) = 1 - tanh(c)**2, not 1 - c**2.",
            lambda dh, o, c: (dh * np.tanh(c), dh * o * (1.0 - c**2))),
    Mistake("do = dh * tanh(c): the output gate multiplies tanh(c), not c.",
            lambda dh, o, c: (dh * c, _output_backward(dh, o, c)[1])),
    Mistake("return (do, dc) in that order.", lambda dh, o, c: _output_backward(dh, o, c)[::-1]),
)


def check_output_backward(fn: Any) -> CheckResult:
    """Exercise 07.1: ``fn(dh, o, c) -> (do, dc)``, the gradients through
    ``h = o * tanh(c)`` given ``dh`` = dL/dh."""
    return check_function(
        "output_backward", fn, _output_backward, _output_backward_inputs,
        mistakes=_OUTPUT_BACKWARD_MISTAKES, output_names="a tuple (do, dc)",
    )


def _cell_backward_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, units = 3, 4
    return {
        "dc": rng.normal(size=(batch, units)),
        "c_prev": rng.normal(size=(batch, units)),
        "i": _sigmoid(rng.normal(size=(batch, units))),
        "f": _sigmoid(rng.normal(size=(batch, units))),
        "g": np.tanh(rng.normal(size=(batch, units))),
    }


def _cell_backward(dc, c_prev, i, f, g):
    return dc * f, dc * g, dc * c_prev, dc * i


_CELL_BACKWARD_MISTAKES = (
    Mistake("dc_prev = dc * f: the old cell state reaches c_t through the forget gate.",
            lambda dc, c_prev, i, f, g: (dc, dc * g, dc * c_prev, dc * i)),
    Mistake("di and dg are swapped: in i * g, di = dc * g and dg = dc * i.",
            lambda dc, c_prev, i, f, g: (dc * f, dc * i, dc * c_prev, dc * g)),
    Mistake("df = dc * c_prev: the forget gate multiplies the old cell state, not itself.",
            lambda dc, c_prev, i, f, g: (dc * f, dc * g, dc * f, dc * i)),
)


def check_cell_state_backward(fn: Any) -> CheckResult:
    """Exercise 07.2: ``fn(dc, c_prev, i, f, g) -> (dc_prev, di, df, dg)``, the gradients
    through ``c = f * c_prev + i * g`` given ``dc`` = dL/dc."""
    return check_function(
        "cell_state_backward", fn, _cell_backward, _cell_backward_inputs,
        mistakes=_CELL_BACKWARD_MISTAKES, output_names="a tuple (dc_prev, di, df, dg)",
    )


def _gates_backward_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, units = 3, 4
    shape = (batch, units)
    return {
        "di": rng.normal(size=shape), "df": rng.normal(size=shape),
        "dg": rng.normal(size=shape), "do": rng.normal(size=shape),
        "i": _sigmoid(rng.normal(size=shape)), "f": _sigmoid(rng.normal(size=shape)),
        "g": np.tanh(rng.normal(size=shape)), "o": _sigmoid(rng.normal(size=shape)),
    }


def _gates_backward(di, df, dg, do, i, f, g, o, order=_GATES, candidate_tanh=True,
                    gates_sigmoid=True):
    def sig(d, s):
        return d * s * (1.0 - s) if gates_sigmoid else d * (1.0 - s**2)

    blocks = {
        "i": sig(di, i), "f": sig(df, f), "o": sig(do, o),
        "c": dg * (1.0 - g**2) if candidate_tanh else dg * g * (1.0 - g),
    }
    return np.concatenate([blocks[k] for k in order], axis=-1)


_GATES_BACKWARD_MISTAKES = (
    Mistake("the candidate g = tanh(z_g), so dz_g = dg * (1 - g**2), not the sigmoid "
            "derivative g * (1 - g).",
            lambda *args: _gates_backward(*args, candidate_tanh=False)),
    Mistake("i, f and o are sigmoids: sigma'(z) = s * (1 - s) with s the gate's value, not "
            "1 - s**2 (that is tanh').",
            lambda *args: _gates_backward(*args, gates_sigmoid=False)),
    Mistake("you forgot the activations' derivatives: dz = d(gate) * (derivative of the "
            "activation at z), e.g. dz_i = di * i * (1 - i).",
            lambda di, df, dg, do, i, f, g, o: np.concatenate([di, df, dg, do], axis=-1)),
    *(Mistake(f"wrong block order: yours is {', '.join(p)}; Keras' kernel columns are i, f, "
              "c (candidate), o, and dz must follow them.",
              lambda *args, p=p: _gates_backward(*args, order=p))
      for p in ("".join(q) for q in itertools.permutations(_GATES)) if p != _GATES),
)


def check_gates_backward(fn: Any) -> CheckResult:
    """Exercise 07.3: ``fn(di, df, dg, do, i, f, g, o) -> dz`` (batch, 4*units), the gradient
    with respect to the pre-activations, blocks in Keras' order i, f, c, o."""
    return check_function(
        "gates_backward", fn, _gates_backward, _gates_backward_inputs,
        mistakes=_GATES_BACKWARD_MISTAKES,
        error_hint="Each input is (batch, units); concatenate the four blocks on the last axis.",
    )
