"""Notebook 10, ``10_character_language_model.ipynb``: the checkers of its exercises 10.1-10.2
(perplexity from per-character losses, temperature applied to a softmax)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, Mistake, check_function

__all__ = [
    "check_perplexity",
    "check_temperature",
]


def _loss_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    # probabilities of the right characters, as a model gives them: some sure, some lost
    p = rng.uniform(0.02, 0.95, size=int(rng.integers(20, 40)))
    return {"losses": -np.log(p)}


_PERPLEXITY_MISTAKES = (
    Mistake("perplexity is exp of the *mean* loss per character, not of the sum: the sum grows "
            "with the length of the text.", lambda losses: np.exp(np.sum(losses))),
    Mistake("the exponential comes after the average: exp(mean(losses)), the geometric mean of "
            "1/p, not mean(exp(losses)).", lambda losses: np.mean(np.exp(losses))),
    Mistake("Keras' cross-entropy is in nats (natural log), so its perplexity is e**mean, not "
            "2**mean (that is for losses in bits).", lambda losses: 2.0 ** np.mean(losses)),
    Mistake("the losses are already -log p: exp(mean(losses)), without another minus sign.",
            lambda losses: np.exp(-np.mean(losses))),
    Mistake("you returned the mean loss; perplexity is its exponential.",
            lambda losses: np.mean(losses)),
)


def check_perplexity(fn: Any) -> CheckResult:
    """Exercise 10.1: ``fn(losses) -> float``, the perplexity of per-character losses in nats
    (``-log p`` of each right character): ``exp(mean(losses))``."""
    return check_function(
        "perplexity", fn, lambda losses: np.exp(np.mean(losses)), _loss_inputs,
        mistakes=_PERPLEXITY_MISTAKES, output_names="one number",
        error_hint="losses is a 1-D array of -log p, one per character; return one number.",
    )


def _temperature_inputs(rng: np.random.Generator) -> dict[str, Any]:
    logits = rng.normal(0.0, 3.0, size=(int(rng.integers(2, 5)), int(rng.integers(5, 9))))
    return {"logits": logits + 400.0, "temperature": float(rng.choice([0.3, 0.5]))}


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_TEMPERATURE_MISTAKES = (
    Mistake("divide the logits by the temperature (z / T), do not multiply: a low temperature "
            "must sharpen the distribution.", lambda logits, t: _softmax(logits * t)),
    Mistake("normalise over the characters, the last axis: each row must sum to 1 (axis=-1).",
            lambda logits, t: np.exp((logits - logits.max()) / t)
            / np.exp((logits - logits.max()) / t).sum(axis=0, keepdims=True)),
    Mistake("the temperature was left out: softmax(z / T), not softmax(z).",
            lambda logits, t: _softmax(logits)),
    Mistake("the result is not normalised: divide by the sum over the characters.",
            lambda logits, t: np.exp((logits - logits.max(axis=-1, keepdims=True)) / t)),
)


def check_temperature(fn: Any) -> CheckResult:
    """Exercise 10.2: ``fn(logits, temperature) -> probabilities``, the softmax of
    ``logits / temperature`` over the last axis, stable for large logits (the checker's logits
    are around 400: ``exp(400 / 0.5)`` overflows unless the maximum is subtracted first)."""
    return check_function(
        "temperature", fn, lambda logits, t: _softmax(logits / t), _temperature_inputs,
        mistakes=_TEMPERATURE_MISTAKES, output_names="one array of probabilities",
        error_hint="logits is (rows, characters); return an array of the same shape.",
    )
