"""Notebook 04, ``04_stacked_lstm.ipynb``: the checkers of its exercises 04.1-04.3 (the parameters
of a model the notebook does not build, the widest stack within a parameter budget, diagnosing
training runs from their curves)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, check_answer, hint, passed

__all__ = [
    "check_unseen_model_count",
    "check_widest_stack",
    "check_training_diagnosis",
]


def _lstm_count(input_dim: int, units: int, gates: int = 4) -> int:
    return gates * units * (input_dim + units + 1)


def _unseen_count(features: int = 10, bi_units: int = 16, upper: int = 8, classes: int = 3, *,
                  merge_width: int | None = None, directions: int = 2,
                  head_bias: bool = True) -> int:
    """Bidirectional(LSTM(bi_units, return_sequences=True), merge_mode="sum"), LSTM(upper),
    Dense(classes), on inputs of ``features`` features; the keywords build the wrong answers."""
    width = bi_units if merge_width is None else merge_width
    return (directions * _lstm_count(features, bi_units) + _lstm_count(width, upper)
            + upper * classes + (classes if head_bias else 0))


def check_unseen_model_count(answer: Any) -> CheckResult:
    """Exercise 04.1: the parameters of ``Bidirectional(LSTM(16, return_sequences=True),
    merge_mode="sum")``, then ``LSTM(8)``, then ``Dense(3)``, on inputs of 10 features."""
    lower = 2 * _lstm_count(10, 16)
    return check_answer(
        "unseen_model_count", answer, _unseen_count(),
        wrong_answers={
            _unseen_count(merge_width=32): "merge_mode='sum' adds the two directions element by "
                "element: the upper LSTM reads 16 features, not the 32 that 'concat' would give.",
            _unseen_count(directions=1): "Bidirectional holds two LSTMs (forward and backward), "
                "each with its own weights: the lower layer has 2 * 4 * 16 * (10 + 16 + 1) "
                "parameters.",
            _unseen_count(directions=1, merge_width=32): "Bidirectional holds two LSTMs with "
                "their own weights, and merge_mode='sum' keeps the width at 16.",
            _unseen_count() - 8 * 3 - 3: "you left out the Dense head: 8 * 3 weights and 3 "
                "biases.",
            _unseen_count(head_bias=False): "the Dense head has a bias per output too: "
                "8 * 3 + 3.",
            lower: "that is the bidirectional layer alone; add the upper LSTM and the head.",
            _unseen_count(merge_width=10): "the upper LSTM reads the lower layer's outputs "
                "(16 features after the sum), not the 10 input features.",
        },
    )


def _two_layer_count(units: int, features: int = 8, upper_reads: int | None = None) -> int:
    """A stack [units, units] on ``features`` features (the upper layer reads ``units``)."""
    return _lstm_count(features, units) + _lstm_count(
        units if upper_reads is None else upper_reads, units)


BUDGET = 10_000


def _widest(count: Any) -> int:
    units = 1
    while count(units + 1) <= BUDGET:
        units += 1
    return units


def check_widest_stack(answer: Any) -> CheckResult:
    """Exercise 04.2: the largest ``u`` for which the stack ``[u, u]`` on inputs of 8 features
    has at most :data:`BUDGET` parameters."""
    name = "widest_stack"
    if answer is None:
        return hint(name, "no answer yet: replace `None` with a number of units.")
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)) or answer < 1:
        return hint(name, f"the answer is a positive whole number of units, not {answer!r}.")
    right = _widest(_two_layer_count)
    if answer == right:
        return passed(name, f"right: [{right}, {right}] has {_two_layer_count(right)} "
                            f"parameters, [{right + 1}, {right + 1}] would have "
                            f"{_two_layer_count(right + 1)}.")
    known = {
        _widest(lambda u: _two_layer_count(u, upper_reads=8)): "the two layers do not cost the "
            "same: the upper one reads the lower layer's u outputs, not the 8 input features, "
            "so its count is 4u(u + u + 1).",
        _widest(lambda u: _lstm_count(8, u)): "that fits one layer in the budget; the stack "
            "has two, and the second costs 4u(2u + 1).",
    }
    if int(answer) in known:
        return hint(name, known[int(answer)])
    count = _two_layer_count(int(answer))
    if count > BUDGET:
        return hint(name, f"[{answer}, {answer}] has {count} parameters: over the budget of "
                          f"{BUDGET}.")
    return hint(name, f"[{answer}, {answer}] fits ({count} parameters), but a wider stack "
                      "fits too: solve 4u(8 + u + 1) + 4u(2u + 1) <= 10000 for the largest u.")


# Exercise 04.3: the runs the notebook trains, by their letter in its figure, and what each
# fault's curves look like (the hint when a run is given a fault it does not have).
FAULTS = ("healthy", "learning rate too high", "exploding gradients", "vanishing gradients",
          "overfitting")
_RUNS = {"A": "overfitting", "B": "exploding gradients", "C": "healthy",
         "D": "learning rate too high", "E": "vanishing gradients"}
_LOOKS = {
    "healthy": "a healthy run's training and validation losses both fall, and stay close",
    "learning rate too high": "with too high a learning rate the loss jumps up after the first "
                              "updates and stays high and erratic, but finite: every step "
                              "overshoots",
    "exploding gradients": "exploding gradients end in NaN: one huge step throws the weights "
                           "to infinity and the curve breaks off (clipnorm= prevents it)",
    "vanishing gradients": "with vanishing gradients the loss stays flat at the chance level, "
                           "log(10) = 2.30, from the first epoch: nothing reaches the steps "
                           "that hold the answer",
    "overfitting": "an overfitting run's training loss keeps falling while its validation loss "
                   "turns and rises",
}


def check_training_diagnosis(answer: Any) -> CheckResult:
    """Exercise 04.3: ``answer`` maps each run of the notebook's figure ("A" to "E") to one of
    :data:`FAULTS`; a wrong name is answered with what that fault's curves look like."""
    name = "training_diagnosis"
    if answer is None:
        return hint(name, "no answer yet: replace `None` with a dict {'A': ..., ..., 'E': ...}.")
    if not isinstance(answer, dict):
        return hint(name, f"expected a dict from run letter to fault, got a "
                          f"{type(answer).__name__}.")
    given = {str(k).strip().upper(): v for k, v in answer.items()}
    unknown = sorted(k for k in given if k not in _RUNS)
    if unknown:
        return hint(name, f"there is no run {', '.join(unknown)}: the runs are A to E.")
    missing = sorted(set(_RUNS) - set(given))
    if missing:
        return hint(name, f"name every run: {', '.join(missing)} missing.")
    for run, fault in sorted(given.items()):
        if not isinstance(fault, str) or fault.strip().lower() not in FAULTS:
            return hint(name, f"run {run}: {fault!r} is not one of: {', '.join(FAULTS)}.")
    wrong = [(run, given[run].strip().lower()) for run in sorted(_RUNS)
             if given[run].strip().lower() != _RUNS[run]]
    if not wrong:
        return passed(name, "right: every run named for its fault.")
    run, said = wrong[0]
    more = f" ({len(wrong) - 1} more run(s) to look at again.)" if len(wrong) > 1 else ""
    return hint(name, f"run {run} is not {said!r}: {_LOOKS[said]}. Run {run}'s curves do not "
                      f"look like that.{more}")
