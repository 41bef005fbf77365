"""Notebook 05, ``05_cudnn_and_speed.ipynb``: the checkers of its exercises 05.1-05.2 (which masks
cuDNN takes, the FLOPs of an LSTM)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, Mistake, check_function

__all__ = [
    "check_cudnn_mask",
    "check_lstm_flops",
]


def _mask_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    time = 6
    rows = [
        np.arange(time) < 3,  # right-padded
        np.ones(time, bool),  # no padding
        np.arange(time) >= 2,  # left-padded
        np.zeros(time, bool),  # fully masked
        np.array([1, 0, 1, 0, 0, 0], bool),  # a hole
        np.array([0, 1, 1, 1, 1, 1], bool),  # only the first step masked
        np.arange(time) < 1,  # one real step
    ]
    rows += [rng.random(time) < 0.6 for _ in range(3)]
    rows += [np.arange(time) < int(rng.integers(1, time + 1))]
    return {"mask": np.stack([rows[k] for k in rng.permutation(len(rows))])}


def _mask_ok(mask, empty_ok=False, any_order=False):
    mask = np.asarray(mask, bool)
    lengths = mask.sum(axis=1)
    right = (mask == (np.arange(mask.shape[1])[None, :] < lengths[:, None])).all(axis=1)
    if any_order:
        right = np.ones(mask.shape[0], bool)
    return right & (empty_ok | (lengths > 0))


_MASK_MISTAKES = (
    Mistake("a fully masked sample (no True at all) rules cuDNN out too: its length would be 0.",
            lambda mask: _mask_ok(mask, empty_ok=True)),
    Mistake("only the number of real steps is not enough: they must come first, then only "
            "padding (left padding or holes rule cuDNN out).",
            lambda mask: _mask_ok(mask, any_order=True)),
    Mistake("return one answer per sample (shape (batch,)); np.all of it answers for the batch.",
            lambda mask: bool(_mask_ok(mask).all())),
    Mistake("your answers are the other way round: True where the sample is fine for cuDNN.",
            lambda mask: ~_mask_ok(mask)),
)


def check_cudnn_mask(fn: Any) -> CheckResult:
    """Exercise 05.1: ``fn(mask) -> (batch,) bool``: for each sample, whether its mask row is
    strictly right-padded (some True, then only False) and not entirely False."""
    return check_function(
        "cudnn_mask", fn, _mask_ok, _mask_inputs, mistakes=_MASK_MISTAKES,
        error_hint="mask is a (batch, time) bool array; return a (batch,) bool array.",
    )


def _flops_inputs(rng: np.random.Generator) -> dict[str, int]:
    return {"batch": int(rng.integers(1, 65)), "steps": int(rng.integers(1, 101)),
            "features": int(rng.integers(1, 65)), "units": int(rng.integers(1, 129))}


def _flops(batch, steps, features, units, mult=2, gates=4, recurrent=True):
    return mult * steps * batch * gates * units * (features + (units if recurrent else 0))


_FLOPS_MISTAKES = (
    Mistake("a multiply-add is 2 floating point operations: a (B, K) @ (K, N) product costs "
            "2 B K N.",
            lambda batch, steps, features, units: _flops(batch, steps, features, units, mult=1)),
    Mistake("the products produce all four gate blocks at once: N = 4 * units columns.",
            lambda batch, steps, features, units: _flops(batch, steps, features, units,
                                                         gates=1)),
    Mistake("forgot the recurrent product h_{t-1} @ U (K = units) at every step.",
            lambda batch, steps, features, units: _flops(batch, steps, features, units,
                                                         recurrent=False)),
    Mistake("that is one step: the products run at every one of the `steps` time steps.",
            lambda batch, steps, features, units: _flops(batch, 1, features, units)),
)


def check_lstm_flops(fn: Any) -> CheckResult:
    """Exercise 05.2: ``fn(batch, steps, features, units) -> int``, the floating point
    operations of the matrix products of one LSTM forward pass."""
    return check_function(
        "lstm_flops", fn, _flops, _flops_inputs, mistakes=_FLOPS_MISTAKES, atol=0, rtol=0,
        error_hint="All four arguments are integers; return one number.",
    )
