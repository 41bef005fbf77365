"""The exercise checkers of notebook 10 (perplexity, temperature), lstmkit.exercises.char_lm: each
accepts a right answer and, for every hint it gives, a wrong answer that makes that exact hint
appear. A checker must never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex
from lstmkit.text import temperature_probabilities


def test_check_perplexity():
    assert_pass(ex.check_perplexity(lambda losses: np.exp(np.mean(losses))))
    geometric = lambda losses: float(np.prod(np.exp(losses)) ** (1 / len(losses)))  # noqa: E731
    assert_pass(ex.check_perplexity(geometric))
    assert_hint(ex.check_perplexity(lambda losses: np.exp(np.sum(losses))), "*mean* loss")
    assert_hint(ex.check_perplexity(lambda losses: np.mean(np.exp(losses))), "geometric mean")
    assert_hint(ex.check_perplexity(lambda losses: 2 ** np.mean(losses)), "nats")
    assert_hint(ex.check_perplexity(lambda losses: np.exp(-np.mean(losses))), "minus sign")
    assert_hint(ex.check_perplexity(lambda losses: np.mean(losses)), "returned the mean loss")
    assert_hint(ex.check_perplexity(lambda losses: np.exp(np.median(losses))), "wrong values")
    assert_hint(ex.check_perplexity(lambda losses: losses.nope), "raised AttributeError")
    assert_hint(ex.check_perplexity(lambda losses: None), "returned None")


def _tempered(logits, t, stable=True, axis=-1):
    z = (logits - (logits.max(axis=axis, keepdims=True) if stable else 0.0)) / t
    return np.exp(z) / np.exp(z).sum(axis=axis, keepdims=True)


def test_check_temperature():
    assert_pass(ex.check_temperature(_tempered))
    assert_pass(ex.check_temperature(temperature_probabilities))
    assert_hint(ex.check_temperature(lambda z, t: _tempered(z * t * t, t)), "do not multiply")
    assert_hint(ex.check_temperature(lambda z, t: _tempered(z, t, axis=0)), "last axis")
    assert_hint(ex.check_temperature(lambda z, t: _tempered(z, 1.0)), "left out")
    assert_hint(ex.check_temperature(
        lambda z, t: np.exp((z - z.max(axis=-1, keepdims=True)) / t)), "not normalised")
    with np.errstate(over="ignore", invalid="ignore"):
        assert_hint(ex.check_temperature(lambda z, t: _tempered(z, t, stable=False)), "NaN or inf")
    assert_hint(ex.check_temperature(lambda z, t: _tempered(z, t)[:, :-1]), "wrong shape")
    assert_hint(ex.check_temperature(lambda z, t: None), "returned None")
