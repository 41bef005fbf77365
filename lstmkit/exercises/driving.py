"""Notebook 03, ``03_driving_cells.ipynb``: the checkers of its exercises 03.1-03.3 (driving a step
over a sequence, with a mask, the last real output)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, Mistake, _lstm, check_function

__all__ = [
    "check_drive",
    "check_drive_masked",
    "check_last_valid",
]


def _drive_inputs(rng: np.random.Generator) -> dict[str, Any]:
    batch, time, input_dim, units = 3, 5, 4, 2
    kernel = rng.normal(size=(input_dim, 4 * units)) * 0.5
    recurrent_kernel = rng.normal(size=(units, 4 * units)) * 0.5
    bias = rng.normal(size=(4 * units,))

    def step(x_t, h_prev, c_prev):
        """One LSTM step in NumPy: (batch, input_dim), (batch, units) x2 -> (h_t, c_t)."""
        return _lstm(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias)

    return {"step": step, "xs": rng.normal(size=(batch, time, input_dim)), "units": units}


def _drive_states(step, xs, units, mask=None, carry=True, reverse=False, gate_states=True,
                  zero_output=False):
    """Reference loop (and its variants): Keras' masking semantics when ``mask`` is given."""
    batch = xs.shape[0]
    h = c = np.zeros((batch, units))
    h0 = c0 = h
    out = np.zeros((batch, units))
    outs = []
    steps = range(xs.shape[1])
    for t in reversed(steps) if reverse else steps:
        h_new, c_new = step(xs[:, t], h if carry else h0, c if carry else c0)
        m = np.ones((batch, 1), bool) if mask is None else mask[:, t:t + 1]
        if gate_states:
            h, c = np.where(m, h_new, h), np.where(m, c_new, c)
        else:
            h, c = h_new, c_new
        out = np.where(m, h_new, 0.0 if zero_output else out)
        outs.append(out)
    return outs, h, c


def _drive(step, xs, units):
    outs, h, c = _drive_states(step, xs, units)
    return np.stack(outs, axis=1), h, c


_DRIVE_MISTAKES = (
    Mistake("the outputs are stacked on the wrong axis: Keras' layout is (batch, time, units), "
            "so stack on axis 1.",
            lambda step, xs, units: (np.stack(_drive_states(step, xs, units)[0], axis=0),
                                     *_drive_states(step, xs, units)[1:])),
    Mistake("the state is not carried: pass the (h, c) returned at step t-1 to step t, not the "
            "zeros every time.",
            lambda step, xs, units: (lambda o, h, c: (np.stack(o, axis=1), h, c))(
                *_drive_states(step, xs, units, carry=False))),
    Mistake("time runs backwards in your loop (that is go_backwards=True): go from t = 0 to "
            "T-1, xs[:, t] is step t.",
            lambda step, xs, units: (lambda o, h, c: (np.stack(o, axis=1), h, c))(
                *_drive_states(step, xs, units, reverse=True))),
    Mistake("return (outputs, h, c) in that order, as RNN(return_sequences=True, "
            "return_state=True) does; yours has h and c swapped.",
            lambda step, xs, units: (lambda o, h, c: (o, c, h))(*_drive(step, xs, units))),
    Mistake("the first return value is every step's output (batch, time, units), not only the "
            "last one.",
            lambda step, xs, units: (lambda o, h, c: (o[:, -1], h, c))(*_drive(step, xs, units))),
)


def check_drive(fn: Any) -> CheckResult:
    """Exercise 03.1: ``fn(step, xs, units) -> (outputs, h, c)``: drive the NumPy LSTM step
    ``step(x_t, h_prev, c_prev) -> (h_t, c_t)`` over ``xs`` (batch, time, input_dim) from zero
    states, like ``RNN(cell, return_sequences=True, return_state=True)``."""
    return check_function(
        "drive", fn, _drive, _drive_inputs, mistakes=_DRIVE_MISTAKES,
        output_names="a tuple (outputs, h, c)",
        error_hint="Start from h = c = np.zeros((batch, units)); the input of step t is "
                   "xs[:, t]; step(x_t, h, c) returns the new (h, c), and the output is h.",
    )


def _masked_inputs(rng: np.random.Generator) -> dict[str, Any]:
    inputs = _drive_inputs(rng)
    batch, time = inputs["xs"].shape[:2]
    mask = rng.random((batch, time)) < 0.6
    mask[0] = np.arange(time) < 2  # right-padded
    mask[1] = np.arange(time) >= time - 2  # left-padded
    return {"step": inputs["step"], "xs": inputs["xs"], "mask": mask, "units": inputs["units"]}


def _drive_masked(step, xs, mask, units, **variant):
    outs, h, c = _drive_states(step, xs, units, mask=mask, **variant)
    return np.stack(outs, axis=1), h, c


_MASKED_MISTAKES = (
    Mistake("the mask is ignored: at a step where mask[:, t] is False, keep h and c unchanged "
            "(np.where(m, new, old)).",
            lambda step, xs, mask, units: _drive(step, xs, units)),
    Mistake("at masked steps you wrote zeros to the output (that is zero_output_for_mask=True); "
            "by default Keras repeats the previous output there.",
            lambda step, xs, mask, units: _drive_masked(step, xs, mask, units, zero_output=True)),
    Mistake("the outputs are right but the states still change at masked steps: keep h and c "
            "too, not only the output.",
            lambda step, xs, mask, units: _drive_masked(step, xs, mask, units,
                                                        gate_states=False)),
)


def check_drive_masked(fn: Any) -> CheckResult:
    """Exercise 03.2: ``fn(step, xs, mask, units) -> (outputs, h, c)`` with Keras' masking:
    at a masked step the states stay and the output repeats the previous output (zeros before
    the first real step)."""
    return check_function(
        "drive_masked", fn, _drive_masked, _masked_inputs, mistakes=_MASKED_MISTAKES,
        output_names="a tuple (outputs, h, c)",
        error_hint="mask is a (batch, time) bool array; m = mask[:, t:t+1] has shape (batch, 1) "
                   "and broadcasts in np.where(m, new, old).",
    )


def _last_valid_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    batch, time, units = 5, 6, 3
    lengths = rng.integers(1, time + 1, size=batch)
    lengths[0] = time
    lengths[1] = 1
    return {"outputs": rng.normal(size=(batch, time, units)), "lengths": lengths}


def _last_valid(outputs, lengths, shift=1):
    return outputs[np.arange(outputs.shape[0]), np.asarray(lengths) - shift]


_LAST_VALID_MISTAKES = (
    Mistake("outputs[:, -1] is the output after the padding; take each sample's own last real "
            "step, outputs[i, lengths[i] - 1].",
            lambda outputs, lengths: outputs[:, -1]),
    Mistake("off by one: a sample of length L has its last real output at index L - 1, "
            "not L - 2.",
            lambda outputs, lengths: _last_valid(outputs, lengths, shift=2)),
)


def check_last_valid(fn: Any) -> CheckResult:
    """Exercise 03.3: ``fn(outputs, lengths) -> (batch, units)``: from the sequence of an
    unmasked run over right-padded inputs, each sample's output at its last real step."""
    return check_function(
        "last_valid", fn, lambda outputs, lengths: _last_valid(outputs, lengths),
        _last_valid_inputs, mistakes=_LAST_VALID_MISTAKES,
        error_hint="outputs is (batch, time, units) and lengths (batch,) integers >= 1; a "
                   "sample of length L has its last real output at index L - 1, and "
                   "outputs[np.arange(batch), idx] picks one step per sample.",
    )
