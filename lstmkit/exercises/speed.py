"""Notebook 05, ``05_cudnn_and_speed.ipynb``: the checkers of its exercises 05.1-05.3 (which masks
cuDNN takes, the FLOPs of an LSTM, a configuration that keeps cuDNN)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.cudnn import cudnn_eligibility, mask_reasons
from lstmkit.exercises.framework import CheckResult, Mistake, check_function, hint, passed
from lstmkit.layers import LSTM

__all__ = [
    "check_cudnn_mask",
    "check_lstm_flops",
    "check_cudnn_config",
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


# Exercise 05.3: what each of lstmkit.cudnn's reasons means for the learner's configuration
# (matched on the start of the reason) and what to do instead.
_CUDNN_FIXES = (
    ("use_cudnn=False", "use_cudnn=False forbids the kernel outright; leave it at 'auto'."),
    ("activation is", "cuDNN's LSTM computes tanh for the candidate and the cell output; any "
                      "other `activation` sends the layer to the generic loop."),
    ("recurrent_activation is", "cuDNN's gates are sigmoids; keep recurrent_activation="
                                "'sigmoid'."),
    ("recurrent_dropout", "cuDNN cannot drop h_{t-1} inside its loop. Regularise the inputs "
                          "instead: dropout=0.3 is applied to the whole input sequence before "
                          "the kernel."),
    ("implementation=1", "implementation=1 with dropout draws one input mask per gate, and "
                         "the kernel takes one input: keep the default implementation=2."),
    ("unroll=True", "unroll=True writes the loop out step by step; cuDNN runs its own loop, so "
                    "keep unroll=False."),
    ("use_bias=False", "cuDNN's LSTM always adds biases: keep use_bias=True."),
)
_PADDING = ("pre", "post")


def check_cudnn_config(config: Any, padding: Any) -> CheckResult:
    """Exercise 05.3: ``config`` (keyword arguments of ``lstmkit.LSTM``) for a layer of 64 units
    that returns every step's output, reads the text backwards, regularises with a dropout rate of
    0.3 and keeps cuDNN; ``padding``, the ``pad_sequences`` padding ("pre" or "post") of its
    masked batches. The hints come from :func:`lstmkit.cudnn.cudnn_eligibility`."""
    name = "cudnn_config"
    if config is None or padding is None:
        return hint(name, "no answer yet: replace both `None`s (a dict of keyword arguments and "
                          "'pre' or 'post').")
    if not isinstance(config, dict):
        return hint(name, f"`config` should be a dict of keyword arguments of lstmkit.LSTM, not "
                          f"a {type(config).__name__}.")
    try:
        layer = LSTM(**config)
    except (TypeError, ValueError) as err:
        return hint(name, f"lstmkit.LSTM(**config) raised {type(err).__name__}: "
                          f"{str(err).splitlines()[0][:200]}")
    if layer.units != 64:
        return hint(name, f"the layer should have 64 units, yours has {layer.units}.")
    if not layer.return_sequences:
        return hint(name, "another layer reads every step's output: return_sequences=True.")
    if not layer.go_backwards:
        return hint(name, "reading the text backwards is go_backwards=True (notebook 03).")
    rates = {"dropout": layer.cell.dropout, "recurrent_dropout": layer.cell.recurrent_dropout}
    if 0.3 not in rates.values():
        return hint(name, f"regularise with a dropout rate of 0.3 (now dropout={rates['dropout']}, "
                          f"recurrent_dropout={rates['recurrent_dropout']}).")
    reasons = cudnn_eligibility(layer)
    for reason in reasons:
        fix = next(text for start, text in _CUDNN_FIXES if reason.startswith(start))
        return hint(name, f"cudnn_eligibility says: {reason}. {fix}")
    if padding not in _PADDING:
        return hint(name, f"padding is 'pre' or 'post' (keras.utils.pad_sequences), not "
                          f"{padding!r}.")
    if padding == "pre":
        lengths = np.array([2, 4])
        left = np.arange(4)[None, :] >= (4 - lengths)[:, None]
        return hint(name, "the layer is fine, but padding='pre' puts the padding first, and "
                          f"on such a mask cudnn_eligibility says: {mask_reasons(left)[0]}. "
                          "cuDNN takes one length per sample: real steps first, then padding "
                          "(go_backwards does not change that).")
    return passed(name, f"right: lstmkit.LSTM(**config) keeps cuDNN ({_describe(config)}), and "
                        "right-padded masks describe each sample by its length.")


def _describe(config: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in config.items())
