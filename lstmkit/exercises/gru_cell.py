"""Notebook 08, ``08_gru_from_scratch.ipynb``: the checkers of its exercises 08.1-08.4 (folding
a ``reset_after=True`` bias, PyTorch ``nn.GRU`` weights to Keras, a minimal gated unit, the
parameters of a GRU stack).

The NumPy GRU step here uses Keras' layout: the column blocks of ``kernel``, ``recurrent_kernel``
and ``bias`` are z, r, h (update, reset, candidate), ``h_t = z * h_prev + (1 - z) * candidate``,
and with ``reset_after=True`` the bias has two rows (input, recurrent).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import (
    CheckResult,
    Mistake,
    _sigmoid,
    _to_numpy,
    check_answer,
    check_function,
    hint,
)

__all__ = [
    "check_fold_gru_bias",
    "check_gru_from_torch",
    "check_minimal_gated_unit",
    "check_gru_stack_params",
]

_BATCH, _INPUT_DIM, _UNITS = 3, 5, 4


def _gru(x, h_prev, kernel, recurrent_kernel, bias, reset_after=True):
    """One GRU step in Keras' layout (blocks z, r, h)."""
    u = h_prev.shape[-1]
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * u))
    xz, xr, xh = np.split(x @ kernel + input_bias, 3, axis=-1)
    inner = h_prev @ recurrent_kernel + recurrent_bias
    z = _sigmoid(xz + inner[:, :u])
    r = _sigmoid(xr + inner[:, u:2 * u])
    if reset_after:
        candidate = np.tanh(xh + r * inner[:, 2 * u:])
    else:
        candidate = np.tanh(xh + (r * h_prev) @ recurrent_kernel[:, 2 * u:])
    return z * h_prev + (1.0 - z) * candidate


def _shape_hint(name: str, got: Any, want: dict[str, tuple[int, ...]],
                extra: dict[str, dict[tuple[int, ...], str]]) -> CheckResult | None:
    """A hint when ``got`` is not a tuple of arrays shaped as ``want`` (name -> shape), or
    ``None``; ``extra[name][shape]`` is the hint for a known wrong shape of one output."""
    if got is None:
        return hint(name, "your function returned None: replace `return None` with your code "
                          "and return the result.")
    names = ", ".join(want)
    if not isinstance(got, (tuple, list)) or len(got) != len(want):
        return hint(name, f"return a tuple ({names}).")
    for (label, shape), value in zip(want.items(), got, strict=True):
        try:
            array = _to_numpy(value)
        except Exception as err:  # noqa: BLE001 - any value of the learner's is a hint
            return hint(name, f"could not read {label} as an array ({type(err).__name__}).")
        if array.shape != shape:
            known = extra.get(label, {}).get(array.shape)
            return hint(name, known or f"{label} should have shape {shape}, yours has "
                                       f"{array.shape}.")
    return None


def _call(name: str, fn: Any, inputs: dict[str, Any]) -> tuple[Any, CheckResult | None]:
    """``fn(*inputs)``, or the hint for a function that is not one or raises."""
    if not callable(fn):
        return None, hint(name, f"expected a function, got a {type(fn).__name__}.")
    try:
        return fn(*(v.copy() for v in inputs.values())), None
    except Exception as err:  # noqa: BLE001 - any error of the learner's code is a hint
        lines = str(err).strip().splitlines()
        return None, hint(name, f"your function raised {type(err).__name__}: "
                                f"{lines[0][:200] if lines else ''}")


# Exercise 08.1: fold what can be folded of a reset_after=True bias into its input row

def _step_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "x": rng.normal(size=(_BATCH, _INPUT_DIM)),
        "h_prev": rng.normal(size=(_BATCH, _UNITS)) * 0.5,
        "kernel": rng.normal(size=(_INPUT_DIM, 3 * _UNITS)) * 0.5,
        "recurrent_kernel": rng.normal(size=(_UNITS, 3 * _UNITS)) * 0.5,
    }


def _fold_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"bias": rng.normal(size=(2, 3 * _UNITS)), **_step_inputs(rng)}


def _fold(bias, blocks=2):
    """The input row takes the recurrent row's first ``blocks`` blocks, which become zero."""
    folded = bias.copy()
    k = blocks * _UNITS
    folded[0, :k] += bias[1, :k]
    folded[1, :k] = 0.0
    return folded


def _step_with(bias_fn):
    return lambda bias, x, h_prev, kernel, recurrent_kernel: _gru(
        x, h_prev, kernel, recurrent_kernel, bias_fn(bias))


_FOLD_MISTAKES = (
    Mistake("the candidate's recurrent bias b'_h cannot move: reset_after=True multiplies it by "
            "r (r * (h_prev U_h + b'_h)), so it must stay in the recurrent row.",
            _step_with(lambda bias: _fold(bias, blocks=3))),
    Mistake("you zeroed the recurrent row's z and r blocks but did not add them to the input "
            "row: b_z + b'_z and b_r + b'_r go into row 0.",
            _step_with(lambda bias: np.stack([bias[0], np.r_[np.zeros(2 * _UNITS),
                                                             bias[1, 2 * _UNITS:]]]))),
)


def check_fold_gru_bias(fn: Any) -> CheckResult:
    """Exercise 08.1: ``fn(bias) -> bias``, a ``reset_after=True`` bias (2, 3*units) whose
    recurrent row (row 1) keeps only what cannot be folded into the input row (row 0), for the
    same GRU function."""
    name = "fold_gru_bias"
    inputs = _fold_inputs(np.random.default_rng(0))
    got, failed = _call(name, fn, {"bias": inputs["bias"]})
    if failed is not None:
        return failed
    shape = (2, 3 * _UNITS)
    failed = _shape_hint(name, None if got is None else (got,), {"bias": shape}, {"bias": {
        (3 * _UNITS,): "return both rows, (2, 3*units): reset_after=True keeps the candidate's "
                       "recurrent bias apart, so the two rows cannot become one.",
        (6 * _UNITS,): "keep Keras' layout: two rows, (2, 3*units), not one long vector."}})
    if failed is not None:
        return failed
    folded = _to_numpy(got)
    if not np.allclose(folded[1, :2 * _UNITS], 0.0):
        if np.allclose(folded, inputs["bias"]):
            return hint(name, "that is the bias unchanged: move what can be moved out of the "
                              "recurrent row (row 1) into the input row (row 0).")
        return hint(name, "the recurrent row's z and r blocks should end up zero: they are "
                          "added to the gates' pre-activations like the input row's, so they "
                          "fold into row 0.")
    return check_function(
        name, lambda bias, *rest: _gru(*rest, _to_numpy(fn(bias))),
        _step_with(lambda bias: bias), _fold_inputs, mistakes=_FOLD_MISTAKES,
        output_names="the folded bias, shape (2, 3*units)")


# Exercise 08.2: PyTorch nn.GRU weights to Keras' GRUCell (reset_after=True)

def _torch_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "weight_ih": rng.normal(size=(3 * _UNITS, _INPUT_DIM)) * 0.5,
        "weight_hh": rng.normal(size=(3 * _UNITS, _UNITS)) * 0.5,
        "bias_ih": rng.normal(size=(3 * _UNITS,)),
        "bias_hh": rng.normal(size=(3 * _UNITS,)),
        "x": rng.normal(size=(_BATCH, _INPUT_DIM)),
        "h_prev": rng.normal(size=(_BATCH, _UNITS)) * 0.5,
    }


def _torch_gru(weight_ih, weight_hh, bias_ih, bias_hh, x, h_prev):
    """PyTorch's nn.GRU step as its documentation writes it (gate order r, z, n)."""
    gi = x @ weight_ih.T + bias_ih
    gh = h_prev @ weight_hh.T + bias_hh
    (ir, iz, i_n), (hr, hz, hn) = np.split(gi, 3, axis=-1), np.split(gh, 3, axis=-1)
    r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
    n = np.tanh(i_n + r * hn)
    return (1.0 - z) * n + z * h_prev


_TORCH_ORDER = (1, 0, 2)  # Keras' blocks z, r, h from PyTorch's r, z, n


def _reorder(array, order=_TORCH_ORDER, axis=-1):
    blocks = np.split(array, 3, axis=axis)
    return np.concatenate([blocks[k] for k in order], axis=axis)


def _to_keras(weight_ih, weight_hh, bias_ih, bias_hh, order=_TORCH_ORDER, bias_order=None):
    bias_order = order if bias_order is None else bias_order
    return (_reorder(weight_ih.T, order), _reorder(weight_hh.T, order),
            np.stack([_reorder(bias_ih, bias_order), _reorder(bias_hh, bias_order)]))


def _keras_step(convert):
    return lambda weight_ih, weight_hh, bias_ih, bias_hh, x, h_prev: _gru(
        x, h_prev, *convert(weight_ih, weight_hh, bias_ih, bias_hh))


_TORCH_MISTAKES = (
    Mistake("PyTorch's gate order is r, z, n and Keras' z, r, h: swap the first two blocks of "
            "every weight and bias.",
            _keras_step(lambda *w: _to_keras(*w, order=(0, 1, 2)))),
    Mistake("you reordered the weight matrices but not the biases: their blocks are r, z, n "
            "too.", _keras_step(lambda *w: _to_keras(*w, bias_order=(0, 1, 2)))),
    Mistake("the bias rows are swapped: row 0 is the input bias (bias_ih), row 1 the recurrent "
            "one (bias_hh).", _keras_step(lambda *w: tuple(
                v[::-1] if k == 2 else v for k, v in enumerate(_to_keras(*w))))),
    Mistake("blocks z and h (n) are swapped: Keras' order is z, r, h.",
            _keras_step(lambda *w: _to_keras(*w, order=(2, 0, 1)))),
)


def check_gru_from_torch(fn: Any) -> CheckResult:
    """Exercise 08.2: ``fn(weight_ih, weight_hh, bias_ih, bias_hh) -> (kernel,
    recurrent_kernel, bias)``: PyTorch ``nn.GRU`` weights to Keras' ``GRUCell`` with
    ``reset_after=True``; checked by running both cells."""
    name = "gru_from_torch"
    inputs = _torch_inputs(np.random.default_rng(0))
    weights = {k: v for k, v in inputs.items() if k not in ("x", "h_prev")}
    got, failed = _call(name, fn, weights)
    if failed is not None:
        return failed
    d, u = _INPUT_DIM, _UNITS
    transpose = ("PyTorch stores (3*units, input) matrices for W @ x, Keras (input, 3*units) "
                 "for x @ W: transpose them.")
    failed = _shape_hint(
        name, got, {"kernel": (d, 3 * u), "recurrent_kernel": (u, 3 * u), "bias": (2, 3 * u)},
        {"kernel": {(3 * u, d): transpose,
                    (u, 3 * u): "the kernel comes from weight_ih, the recurrent kernel from "
                                "weight_hh; yours are swapped."},
         "recurrent_kernel": {(d, 3 * u): "the kernel comes from weight_ih, the recurrent kernel "
                                          "from weight_hh; yours are swapped."},
         "bias": {(3 * u,): "bias_ih and bias_hh cannot be summed for a GRU: b_hn sits inside "
                            "r * (W_hn h + b_hn). Keras' reset_after=True keeps both, as two "
                            "rows (2, 3*units).",
                  (6 * u,): "stack the two biases as rows, (2, 3*units), not one long vector."}})
    if failed is not None:
        return failed
    return check_function(
        name,
        lambda wi, wh, bi, bh, x, h_prev: _gru(x, h_prev, *map(_to_numpy, fn(wi, wh, bi, bh))),
        _torch_gru, _torch_inputs, mistakes=_TORCH_MISTAKES,
        output_names="(kernel, recurrent_kernel, bias)")


# Exercise 08.3: the minimal gated unit, one gate f for both jobs

def _mgu_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "x": rng.normal(size=(_BATCH, _INPUT_DIM)),
        "h_prev": rng.normal(size=(_BATCH, _UNITS)) * 0.5,
        "kernel": rng.normal(size=(_INPUT_DIM, 2 * _UNITS)) * 0.5,
        "recurrent_kernel": rng.normal(size=(_UNITS, 2 * _UNITS)) * 0.5,
        "bias": rng.normal(size=(2 * _UNITS,)),
    }


def _mgu(x, h_prev, kernel, recurrent_kernel, bias, order=(0, 1), use_bias=True,
         reset="before", keras_mix=False, candidate=np.tanh):
    u = h_prev.shape[-1]
    kf, kh = (kernel[:, k * u:(k + 1) * u] for k in order)
    uf, uh = (recurrent_kernel[:, k * u:(k + 1) * u] for k in order)
    bf, bh = (bias[k * u:(k + 1) * u] * use_bias for k in order)
    f = _sigmoid(x @ kf + h_prev @ uf + bf)
    if reset == "before":
        recurrent = (f * h_prev) @ uh
    else:
        recurrent = f * (h_prev @ uh) if reset == "after" else h_prev @ uh
    h_tilde = candidate(x @ kh + recurrent + bh)
    return f * h_prev + (1 - f) * h_tilde if keras_mix else (1 - f) * h_prev + f * h_tilde


_MGU_MISTAKES = (
    Mistake("that is the GRU's (Keras') mix; the minimal gated unit writes "
            "h_t = (1 - f) * h_prev + f * candidate: f weighs the candidate.",
            lambda *args: _mgu(*args, keras_mix=True)),
    Mistake("f multiplies h_prev before the product, (f * h_prev) @ U_h, as reset_after=False "
            "does; you applied it after.", lambda *args: _mgu(*args, reset="after")),
    Mistake("the candidate reads f * h_prev, not h_prev: the one gate also does the reset "
            "gate's job.", lambda *args: _mgu(*args, reset="none")),
    Mistake("the blocks are f then h: columns [:units] are the gate, [units:] the candidate.",
            lambda *args: _mgu(*args, order=(1, 0))),
    Mistake("forgot the bias: both pre-activations add their block of `bias`.",
            lambda *args: _mgu(*args, use_bias=False)),
    Mistake("the candidate uses tanh, not sigmoid (only f is a sigmoid gate).",
            lambda *args: _mgu(*args, candidate=_sigmoid)),
)


def check_minimal_gated_unit(fn: Any) -> CheckResult:
    """Exercise 08.3: ``fn(x, h_prev, kernel, recurrent_kernel, bias) -> h_t``, one step of the
    minimal gated unit (column blocks f, h)."""
    return check_function(
        "minimal_gated_unit", fn, _mgu, _mgu_inputs, mistakes=_MGU_MISTAKES,
        error_hint="kernel is (input_dim, 2*units), recurrent_kernel (units, 2*units), bias "
                   "(2*units,): two blocks of `units` columns, f then h.")


# Exercise 08.4: the parameters of a GRU stack

def _gru_count(input_dim, units, reset_after=True, gates=3):
    return gates * units * (input_dim + units + 1) + (gates * units if reset_after else 0)


_STACK = (2 * _gru_count(5, 8, reset_after=False)    # Bidirectional(GRU(8, reset_after=False))
          + _gru_count(16, 4))                        # GRU(4) on the 2 * 8 concatenated features


def check_gru_stack_params(answer: Any) -> CheckResult:
    """Exercise 08.4: the parameters of ``Bidirectional(GRU(8, reset_after=False,
    return_sequences=True))`` then ``GRU(4)`` on inputs of width 5."""
    return check_answer(
        "gru_stack_params", answer, _STACK,
        wrong_answers={
            _gru_count(5, 8, reset_after=False) + _gru_count(8, 4):
                "Bidirectional holds two GRUs (one per direction), and the GRU above reads "
                "their concatenation, 2 * 8 features.",
            _gru_count(5, 8, reset_after=False) + _gru_count(16, 4):
                "Bidirectional holds two GRUs, one per direction: count the first layer twice.",
            2 * _gru_count(5, 8, reset_after=False) + _gru_count(8, 4):
                "the second GRU reads the concatenation of both directions: input width "
                "2 * 8 = 16.",
            2 * _gru_count(5, 8) + _gru_count(16, 4):
                "the first layer has reset_after=False: one bias row, no extra 3 * units.",
            2 * _gru_count(5, 8, reset_after=False) + _gru_count(16, 4, reset_after=False):
                "the second GRU has the default reset_after=True: its bias has two rows, "
                "3 * units more.",
            2 * _gru_count(5, 8, reset_after=False, gates=4) + _gru_count(16, 4, gates=4):
                "four blocks is an LSTM; a GRU has three (z, r, h).",
        },
    )
