"""Notebook 06, ``06_training_on_real_data.ipynb``: the checkers of its exercises 06.1-06.2
(windows of a series, standardisation)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.exercises.framework import CheckResult, Mistake, check_function

__all__ = [
    "check_make_windows",
    "check_standardize",
]


def _window_inputs(rng: np.random.Generator) -> dict[str, Any]:
    return {"series": rng.normal(size=int(rng.integers(9, 15))), "window": int(rng.integers(2, 5))}


def _windows(series, window, first_target=0, last_missing=0):
    starts = range(len(series) - window - last_missing)
    x = np.array([series[a:a + window] for a in starts])
    y = np.array([series[a + window - 1 + first_target] for a in starts])
    return x, y


_WINDOW_MISTAKES = (
    Mistake("one window too few: a series of T values gives T - window windows with a next "
            "value to predict (the last window ends at step T - 2).",
            lambda series, window: _windows(series, window, first_target=1, last_missing=1)),
    Mistake("the target is the last value *inside* the window; it must be the value right "
            "after it, series[start + window].",
            lambda series, window: _windows(series, window, first_target=0)),
    Mistake("the target skips a step: it is series[start + window], the value right after the "
            "window, not series[start + window + 1].",
            lambda series, window: _windows(series, window, first_target=2, last_missing=1)),
    Mistake("return (x, y) in that order: the windows first, then the targets.",
            lambda series, window: _windows(series, window, first_target=1)[::-1]),
)


def check_make_windows(fn: Any) -> CheckResult:
    """Exercise 06.1: ``fn(series, window) -> (x, y)`` for a 1-D series: ``x[n]`` is
    ``series[n:n + window]`` and ``y[n]`` the value after it, ``series[n + window]``."""
    return check_function(
        "make_windows", fn, lambda series, window: _windows(series, window, first_target=1),
        _window_inputs, mistakes=_WINDOW_MISTAKES, output_names="a tuple (x, y)",
        error_hint="series is 1-D of length T: x is (T - window, window), y is (T - window,).",
    )


def _standardize_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    scale = rng.uniform(0.5, 5.0, size=3)
    return {
        "train": rng.normal(2.0, 1.0, size=(20, 5, 3)) * scale,
        "test": rng.normal(-1.0, 3.0, size=(10, 5, 3)) * scale,
    }


def _standardize_with(train, test, mean, std):
    return (train - mean) / std, (test - mean) / std


def _standardize(train, test):
    return _standardize_with(train, test, train.mean(axis=(0, 1)), train.std(axis=(0, 1)))


_STANDARDIZE_MISTAKES = (
    Mistake("the test data was standardised with its own mean and standard deviation: use the "
            "training statistics for both, or the test set leaks into the preprocessing.",
            lambda train, test: (
                _standardize(train, test)[0],
                (test - test.mean(axis=(0, 1))) / test.std(axis=(0, 1)))),
    Mistake("the statistics come from training and test data together; fit them on the "
            "training data only.",
            lambda train, test: _standardize_with(
                train, test, np.concatenate([train, test]).mean(axis=(0, 1)),
                np.concatenate([train, test]).std(axis=(0, 1)))),
    Mistake("one mean and standard deviation per feature: reduce over the sample and time "
            "axes, axis=(0, 1), not over the whole array.",
            lambda train, test: _standardize_with(train, test, train.mean(), train.std())),
    Mistake("use the population standard deviation (np.std's default ddof=0), as "
            "lstmkit.data.Normalizer does, not ddof=1.",
            lambda train, test: _standardize_with(
                train, test, train.mean(axis=(0, 1)), train.std(axis=(0, 1), ddof=1))),
    Mistake("you subtracted the mean but did not divide by the standard deviation.",
            lambda train, test: _standardize_with(train, test, train.mean(axis=(0, 1)), 1.0)),
)


def check_standardize(fn: Any) -> CheckResult:
    """Exercise 06.2: ``fn(train, test) -> (train_z, test_z)``: both standardised per feature
    (last axis) with the training data's mean and standard deviation."""
    return check_function(
        "standardize", fn, _standardize, _standardize_inputs, mistakes=_STANDARDIZE_MISTAKES,
        output_names="a tuple (train_z, test_z)",
        error_hint="train and test are (samples, time, features); the statistics are (features,).",
    )
