"""The exercise checkers of notebook 06 (windows and standardisation), lstmkit.exercises.real_data:
each accepts a right answer and, for every hint it gives, a wrong answer that makes that exact hint
appear. A checker must never raise because of the learner's code."""

from __future__ import annotations

import numpy as np
from exercise_asserts import assert_hint, assert_pass

from lstmkit import exercises as ex


def _make_windows(series, window, target_offset=0, missing=0):
    starts = range(len(series) - window - missing)
    return (np.array([series[a:a + window] for a in starts]),
            np.array([series[a + window + target_offset] for a in starts]))


def test_check_make_windows():
    from lstmkit.data import sliding_windows

    assert_pass(ex.check_make_windows(_make_windows))
    assert_pass(ex.check_make_windows(
        lambda s, w: tuple(a[..., 0] for a in sliding_windows(s, w))))
    assert_hint(ex.check_make_windows(lambda s, w: _make_windows(s, w, missing=1)),
                "one window too few")
    assert_hint(ex.check_make_windows(lambda s, w: _make_windows(s, w, target_offset=-1)),
                "last value *inside* the window")
    assert_hint(ex.check_make_windows(lambda s, w: _make_windows(s, w, 1, missing=1)),
                "skips a step")
    assert_hint(ex.check_make_windows(lambda s, w: _make_windows(s, w)[::-1]),
                "(x, y) in that order")
    assert_hint(ex.check_make_windows(lambda s, w: _make_windows(s, w, missing=-1)),
                "raised IndexError")
    assert_hint(ex.check_make_windows(lambda s, w: None), "returned None")


def _standardize(train, test, stats=None, ddof=0, divide=True):
    stats = train if stats is None else stats
    mean = stats.mean(axis=(0, 1))
    std = stats.std(axis=(0, 1), ddof=ddof) if divide else 1.0
    return (train - mean) / std, (test - mean) / std


def test_check_standardize():
    from lstmkit.data import Normalizer

    assert_pass(ex.check_standardize(_standardize))
    assert_pass(ex.check_standardize(
        lambda tr, te: (Normalizer().fit(tr).transform(tr), Normalizer().fit(tr).transform(te))))
    assert_hint(ex.check_standardize(
        lambda tr, te: (_standardize(tr, te)[0], _standardize(te, te)[0])), "its own mean")
    assert_hint(ex.check_standardize(
        lambda tr, te: _standardize(tr, te, stats=np.concatenate([tr, te]))), "together")
    assert_hint(ex.check_standardize(
        lambda tr, te: ((tr - tr.mean()) / tr.std(), (te - tr.mean()) / tr.std())),
        "axis=(0, 1)")
    assert_hint(ex.check_standardize(lambda tr, te: _standardize(tr, te, ddof=1)), "ddof=0")
    assert_hint(ex.check_standardize(lambda tr, te: _standardize(tr, te, divide=False)),
                "did not divide")
    assert_hint(ex.check_standardize(lambda tr, te: _standardize(tr, te)[0]), "(train_z, test_z)")
