"""Notebook 04, ``04_stacked_lstm.ipynb``: the checkers of its exercises 04.1-04.3 (the parameter
counts of LSTM layers and stacks)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, Mistake, check_answer, check_function

__all__ = [
    "check_lstm_param_count",
    "check_stack_param_count",
    "check_bidirectional_stack_count",
]


def _lstm_count(input_dim, units, gates=4, recurrent=True, bias=1):
    return gates * (units * (input_dim + (units if recurrent else 0)) + bias * units)


def _count_inputs(rng: np.random.Generator) -> dict[str, int]:
    return {"input_dim": int(rng.integers(2, 40)), "units": int(rng.integers(2, 40))}


_COUNT_MISTAKES = (
    Mistake("that is one gate's worth: an LSTM has four (i, f, c, o), each with its own kernel, "
            "recurrent kernel and bias, so multiply by 4.",
            lambda input_dim, units: _lstm_count(input_dim, units, gates=1)),
    Mistake("forgot the biases: each of the 4 gates also has `units` bias values.",
            lambda input_dim, units: _lstm_count(input_dim, units, bias=0)),
    Mistake("forgot the recurrent kernel: each gate also multiplies h_{t-1} (units values) by "
            "a (units, units) matrix.",
            lambda input_dim, units: _lstm_count(input_dim, units, recurrent=False)),
    Mistake("two biases per gate is PyTorch's layout (b_ih + b_hh); Keras keeps one.",
            lambda input_dim, units: _lstm_count(input_dim, units, bias=2)),
    Mistake("three gates is a GRU; the LSTM has four blocks (i, f, c, o).",
            lambda input_dim, units: _lstm_count(input_dim, units, gates=3)),
)


def check_lstm_param_count(fn: Any) -> CheckResult:
    """Exercise 04.1: ``fn(input_dim, units) -> int``, the parameters of one Keras LSTM layer."""
    return check_function(
        "lstm_param_count", fn, _lstm_count, _count_inputs, mistakes=_COUNT_MISTAKES,
        error_hint="Both arguments are plain integers; return one integer.", atol=0, rtol=0,
    )


def _stack_inputs(rng: np.random.Generator) -> dict[str, Any]:
    depth = int(rng.integers(2, 5))
    return {"input_dim": int(rng.integers(2, 20)),
            "units": [int(u) for u in rng.integers(2, 20, size=depth)]}


def _stack_count(input_dim, units, chain=True, layers=None):
    total, width = 0, input_dim
    for u in units[:layers]:
        total += _lstm_count(width if chain else input_dim, u)
        width = u
    return total


_STACK_MISTAKES = (
    Mistake("every layer after the first reads the previous layer's output, so its input_dim "
            "is the previous layer's units, not the input's feature width.",
            lambda input_dim, units: _stack_count(input_dim, units, chain=False)),
    Mistake("you counted only the first layer; add up every layer of the stack.",
            lambda input_dim, units: _stack_count(input_dim, units, layers=1)),
    Mistake("you left out the last layer: sum over all of `units`.",
            lambda input_dim, units: _stack_count(input_dim, units, layers=-1)),
    Mistake("return the total (one integer), not one count per layer.",
            lambda input_dim, units: [_stack_count(input_dim, units[:k + 1])
                                      - _stack_count(input_dim, units[:k])
                                      for k in range(len(units))]),
)


def check_stack_param_count(fn: Any) -> CheckResult:
    """Exercise 04.2: ``fn(input_dim, units) -> int``, the parameters of a stack of LSTM layers
    with ``units`` (a list) on inputs of width ``input_dim``."""
    return check_function(
        "stack_param_count", fn, _stack_count, _stack_inputs, mistakes=_STACK_MISTAKES,
        error_hint="input_dim is an integer and units a list of integers, one per layer.",
        atol=0, rtol=0,
    )


def check_bidirectional_stack_count(answer: Any) -> CheckResult:
    """Exercise 04.3: the parameters of Bidirectional(LSTM(3, return_sequences=True)) followed
    by Bidirectional(LSTM(5)) on inputs of width 8 (concat merge mode)."""
    return check_answer(
        "bidirectional_stack_count", answer, 2 * 144 + 2 * _lstm_count(6, 5),
        wrong_answers={
            324: "that is the one-directional stack: Bidirectional holds two LSTMs per layer.",
            648: "each Bidirectional layer holds two LSTMs, yes; but the second one reads the "
                 "concatenation of both directions, so its input width is 2 * 3 = 6, not 3.",
            468: "the second layer is bidirectional too: two LSTMs, each reading width 6.",
            528: "the first layer is bidirectional too (2 * 144); the second reads width 6.",
        },
    )
