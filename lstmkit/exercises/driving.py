"""Notebook 03, ``03_driving_cells.ipynb``: the checkers of its exercises 03.1-03.3 (a
bidirectional layer by hand, driving a step with a mask, the last real output)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, Mistake, _lstm, check_function

__all__ = [
    "check_bidirectional",
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


def _bidirectional_inputs(rng: np.random.Generator) -> dict[str, Any]:
    forward, backward = _drive_inputs(rng), _drive_inputs(rng)
    return {"step_forward": forward["step"], "step_backward": backward["step"],
            "xs": forward["xs"], "units": forward["units"]}


def _directions(step_forward, step_backward, xs, units, carry=True):
    """The forward outputs and the backward outputs in processing order, (batch, time, units)."""
    forward = np.stack(_drive_states(step_forward, xs, units, carry=carry)[0], axis=1)
    backward = np.stack(_drive_states(step_backward, xs, units, carry=carry, reverse=True)[0],
                        axis=1)
    return forward, backward


def _bidirectional(step_forward, step_backward, xs, units):
    forward, backward = _directions(step_forward, step_backward, xs, units)
    return np.concatenate([forward, backward[:, ::-1]], axis=-1)


def _bidirectional_mistake(transform):
    """A wrong answer built from the two directions: ``transform(forward, backward)``, with the
    backward outputs in processing order."""
    return lambda step_forward, step_backward, xs, units: transform(
        *_directions(step_forward, step_backward, xs, units))


_BIDIRECTIONAL_MISTAKES = (
    Mistake("the backward outputs are in processing order: their first entry belongs to the last "
            "time step. Flip them ([:, ::-1]) before concatenating, so that step t of both halves "
            "describes x_t.",
            _bidirectional_mistake(lambda f, b: np.concatenate([f, b], axis=-1))),
    Mistake("the halves are swapped: Keras' Bidirectional puts the forward layer's features "
            "first, then the backward layer's.",
            _bidirectional_mistake(lambda f, b: np.concatenate([b[:, ::-1], f], axis=-1))),
    Mistake("that is merge_mode='sum' (forward + backward); the default merge_mode='concat' keeps "
            "both, side by side on the feature axis.",
            _bidirectional_mistake(lambda f, b: f + b[:, ::-1])),
    Mistake("concatenate on the feature axis (axis=-1), giving (batch, time, 2 * units); you "
            "joined the two sequences along time.",
            _bidirectional_mistake(lambda f, b: np.concatenate([f, b[:, ::-1]], axis=1))),
    Mistake("the backward half read the sequence forwards: run step_backward from t = T-1 down "
            "to 0 (that is go_backwards=True), then flip its outputs into time order.",
            lambda step_forward, step_backward, xs, units: np.concatenate(
                [_drive(step_forward, xs, units)[0], _drive(step_backward, xs, units)[0]],
                axis=-1)),
    Mistake("both halves use step_forward: the backward layer has its own weights, "
            "step_backward.",
            lambda step_forward, step_backward, xs, units: _bidirectional(
                step_forward, step_forward, xs, units)),
    Mistake("the state is not carried: pass the (h, c) returned at one step to the next, not "
            "the zeros every time.",
            lambda step_forward, step_backward, xs, units: (lambda f, b: np.concatenate(
                [f, b[:, ::-1]], axis=-1))(*_directions(step_forward, step_backward, xs, units,
                                                        carry=False))),
    Mistake("that is return_sequences=False: the exercise asks for every step's output, "
            "(batch, time, 2 * units).",
            _bidirectional_mistake(lambda f, b: np.concatenate([f[:, -1], b[:, -1]], axis=-1))),
)


def check_bidirectional(fn: Any) -> CheckResult:
    """Exercise 03.1: ``fn(step_forward, step_backward, xs, units) -> (batch, time, 2 * units)``:
    a bidirectional layer by hand, as ``keras.layers.Bidirectional(LSTM(units,
    return_sequences=True))`` computes it: ``step_forward`` driven forwards from zero states,
    ``step_backward`` driven backwards from zero states, its outputs flipped back into time
    order, the two concatenated on the feature axis (forward first)."""
    return check_function(
        "bidirectional", fn, _bidirectional, _bidirectional_inputs,
        mistakes=_BIDIRECTIONAL_MISTAKES,
        error_hint="each step(x_t, h, c) returns the new (h, c) of shape (batch, units); start "
                   "both directions from np.zeros((batch, units)); xs[:, t] is step t.",
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
