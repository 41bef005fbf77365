"""Tests of lstmkit.data against independent references (plain loops, scikit-learn)."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.data import (
    Normalizer,
    delayed_recall,
    load_digits_sequences,
    load_goog_prices,
    sliding_windows,
    train_val_test_split,
)

# -- loaders --------------------------------------------------------------------------------


def test_digits_are_the_images_row_by_row_scaled_to_unit_interval():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    digits = sklearn_datasets.load_digits()
    x, y = load_digits_sequences()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    # Sample n, time step t, feature j is pixel (row t, column j) of image n, over 16.
    np.testing.assert_allclose(x[5, 3, :], digits.data[5, 24:32] / 16.0, rtol=1e-6)
    np.testing.assert_array_equal(y, digits.target)
    assert x.min() == 0.0 and x.max() == 1.0


def test_goog_prices_are_daily_and_match_known_values():
    dates, close = load_goog_prices()
    assert dates.shape == close.shape == (1047,)
    assert dates.dtype == np.dtype("datetime64[D]") and close.dtype == np.float64
    assert str(dates[0]) == "2004-08-19" and str(dates[-1]) == "2008-10-14"
    assert np.all(np.diff(dates) > np.timedelta64(0, "D"))
    assert close[0] == pytest.approx(100.34) and close[1] == pytest.approx(108.31)
    assert np.all(np.isfinite(close)) and close.min() > 0


# -- sliding_windows ------------------------------------------------------------------------


def _windows_by_loop(series, window, horizon, stride):
    values = np.asarray(series)
    values = values[:, None] if values.ndim == 1 else values
    xs, ys = [], []
    start = 0
    while start + window - 1 + horizon < len(values):
        xs.append(values[start : start + window])
        ys.append(values[start + window - 1 + horizon])
        start += stride
    return np.array(xs), np.array(ys)


@pytest.mark.parametrize("length", [5, 12, 13])
@pytest.mark.parametrize("window", [1, 3, 4])
@pytest.mark.parametrize("horizon", [1, 2])
@pytest.mark.parametrize("stride", [1, 2, 5])
def test_sliding_windows_match_a_plain_loop(length, window, horizon, stride):
    series = np.arange(length * 2, dtype="float32").reshape(length, 2) ** 1.5
    if window + horizon > length:
        with pytest.raises(ValueError, match="`window` is too long"):
            sliding_windows(series, window, horizon=horizon, stride=stride)
        return
    x, y = sliding_windows(series, window, horizon=horizon, stride=stride)
    x_ref, y_ref = _windows_by_loop(series, window, horizon, stride)
    np.testing.assert_array_equal(x, x_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert x.shape == (len(x_ref), window, 2) and x.dtype == np.float32
    assert len(x) == (length - window - horizon) // stride + 1


def test_sliding_windows_of_a_1d_series_have_one_feature_and_target_the_next_value():
    x, y = sliding_windows([10, 11, 12, 13, 14], window=3)
    np.testing.assert_array_equal(x[..., 0], [[10, 11, 12], [11, 12, 13]])
    np.testing.assert_array_equal(y[:, 0], [13, 14])


def test_sliding_windows_return_copies():
    series = np.zeros(6)
    x, _ = sliding_windows(series, window=2)
    x[0, 0, 0] = 1.0
    assert series[0] == 0.0


def test_window_as_long_as_the_series_allows_is_accepted():
    x, y = sliding_windows(np.arange(10), window=9)
    assert x.shape == (1, 9, 1) and y[0, 0] == 9


@pytest.mark.parametrize("window, horizon", [(10, 1), (11, 1), (9, 2), (50, 1)])
def test_window_longer_than_the_series_names_window_and_the_limit(window, horizon):
    with pytest.raises(ValueError, match=r"`window`.*series.*window <= " + str(10 - horizon)):
        sliding_windows(np.arange(10), window, horizon=horizon)


@pytest.mark.parametrize("name", ["window", "horizon", "stride"])
@pytest.mark.parametrize("bad", [0, -1, 2.5, None, True, "3"])
def test_sliding_windows_reject_non_positive_integers_by_name(name, bad):
    kwargs = {"window": 2, "horizon": 1, "stride": 1, name: bad}
    with pytest.raises(ValueError, match=f"`{name}` must be a positive integer"):
        sliding_windows(np.arange(10), **kwargs)


@pytest.mark.parametrize("shape", [(), (4, 3, 2)])
def test_sliding_windows_reject_wrong_rank(shape):
    with pytest.raises(ValueError, match=r"`series` must be of rank 1 .* or 2"):
        sliding_windows(np.zeros(shape), window=1)


# -- train_val_test_split -------------------------------------------------------------------


def test_split_is_consecutive_without_shuffle():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = train_val_test_split(
        x, y, validation=0.2, test=0.3
    )
    np.testing.assert_array_equal(y_tr, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(y_va, [5, 6])
    np.testing.assert_array_equal(y_te, [7, 8, 9])
    np.testing.assert_array_equal(x_te, x[7:])
    assert x_tr.shape == (5, 2) and x_va.shape == (2, 2)


def test_split_with_shuffle_permutes_all_arrays_alike_and_repeats_with_the_seed():
    x = np.arange(100) * 10
    y = np.arange(100)
    first = train_val_test_split(x, y, shuffle=True, seed=3)
    again = train_val_test_split(x, y, shuffle=True, seed=3)
    parts = [part for split in first for part in split]
    for a, b in zip(parts, [part for split in again for part in split], strict=True):
        np.testing.assert_array_equal(a, b)
    for xs, ys in first:
        np.testing.assert_array_equal(xs, ys * 10)
    all_y = np.concatenate([ys for _, ys in first])
    assert sorted(all_y.tolist()) == list(range(100))
    assert not np.array_equal(all_y, np.arange(100))
    assert [len(ys) for _, ys in first] == [70, 15, 15]


def test_split_with_zero_fractions_gives_empty_parts():
    train, val, test = train_val_test_split(np.arange(7), validation=0.0, test=0.0)
    assert len(train[0]) == 7 and len(val[0]) == 0 and len(test[0]) == 0


@pytest.mark.parametrize("name", ["validation", "test"])
@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), "a", None])
def test_split_rejects_bad_fractions_by_name(name, bad):
    with pytest.raises(ValueError, match=f"`{name}` must be a float in \\[0, 1\\)"):
        train_val_test_split(np.arange(10), **{name: bad})


def test_split_rejects_fractions_that_leave_nothing_for_training():
    with pytest.raises(ValueError, match=r"`validation` and `test` must sum to less than 1"):
        train_val_test_split(np.arange(10), validation=0.5, test=0.5)
    with pytest.raises(ValueError, match=r"training part would be empty"):
        train_val_test_split(np.arange(2), validation=0.4, test=0.4)


def test_split_rejects_arrays_of_different_lengths_scalars_and_nothing():
    with pytest.raises(ValueError, match=r"`arrays`.*same length.*\[10, 9\]"):
        train_val_test_split(np.arange(10), np.arange(9))
    with pytest.raises(ValueError, match=r"`arrays`.*array 1 is a scalar"):
        train_val_test_split(np.arange(10), 3.0)
    with pytest.raises(ValueError, match=r"at least one array"):
        train_val_test_split()


# -- Normalizer -----------------------------------------------------------------------------


def test_normalizer_matches_sklearn_standard_scaler_on_flattened_sequences():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, size=(50, 6, 4))
    test = rng.normal(-1.0, 5.0, size=(20, 6, 4))
    scaler = preprocessing.StandardScaler().fit(train.reshape(-1, 4))
    norm = Normalizer().fit(train)
    np.testing.assert_allclose(norm.mean_, scaler.mean_)
    np.testing.assert_allclose(norm.std_, scaler.scale_)
    np.testing.assert_allclose(
        norm.transform(test), scaler.transform(test.reshape(-1, 4)).reshape(test.shape)
    )


def test_normalizer_uses_training_statistics_only():
    train = np.array([[0.0], [2.0]])  # mean 1, std 1
    test = np.array([[100.0], [102.0]])
    norm = Normalizer().fit(train)
    np.testing.assert_allclose(norm.transform(test), [[99.0], [101.0]])
    np.testing.assert_allclose(norm.fit_transform(train), [[-1.0], [1.0]])


def test_normalizer_round_trips_and_keeps_float_dtype():
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(30, 3)) * [1.0, 10.0, 100.0]).astype("float32")
    norm = Normalizer().fit(x)
    z = norm.transform(x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(norm.inverse_transform(z), x, rtol=1e-5, atol=1e-4)
    assert norm.transform(np.ones((2, 3), dtype="int64")).dtype == np.float64


def test_normalizer_maps_a_constant_feature_to_zero():
    x = np.array([[5.0, 1.0], [5.0, 3.0]])
    z = Normalizer().fit_transform(x)
    np.testing.assert_array_equal(z[:, 0], [0.0, 0.0])
    assert np.all(np.isfinite(z))


def test_normalizer_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"not fitted yet: call fit"):
        Normalizer().transform(np.zeros((2, 3)))
    norm = Normalizer().fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"`x` must have 3 features.*\(4, 2\)"):
        norm.transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"`z` must have 3 features"):
        norm.inverse_transform(np.zeros((1, 5)))
    with pytest.raises(ValueError, match=r"`x` must be a non-empty array of rank >= 1"):
        Normalizer().fit(np.float64(3.0))
    with pytest.raises(ValueError, match=r"`x` must be a non-empty array"):
        Normalizer().fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"`x` must hold finite numbers"):
        Normalizer().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match=r"`x` must hold finite numbers"):
        Normalizer().fit(np.array([["a"], ["b"]]))


# -- delayed_recall -------------------------------------------------------------------------


@pytest.mark.parametrize(("samples", "length", "symbols"), [(1, 1, 2), (7, 5, 3), (64, 30, 4)])
def test_delayed_recall_by_construction(samples, length, symbols):
    x, y, distance = delayed_recall(samples, length, symbols=symbols, seed=3)
    assert x.shape == (samples, length, symbols + 1) and x.dtype == np.float32
    assert y.shape == distance.shape == (samples,)
    assert y.dtype == distance.dtype == np.int64
    assert set(np.unique(x)) <= {0.0, 1.0}
    # every step holds exactly one symbol; exactly one step of each sequence is marked
    np.testing.assert_array_equal(x[..., :symbols].sum(axis=-1), np.ones((samples, length)))
    np.testing.assert_array_equal(x[..., symbols].sum(axis=-1), np.ones(samples))
    for n in range(samples):  # a plain loop: find the mark, read its symbol
        (marked,) = np.flatnonzero(x[n, :, symbols])
        assert distance[n] == length - 1 - marked
        assert y[n] == int(np.flatnonzero(x[n, marked, :symbols])[0])
    assert np.all((0 <= y) & (y < symbols)) and np.all((0 <= distance) & (distance < length))


def test_delayed_recall_is_seeded_and_uniform():
    a = delayed_recall(50, 6, seed=1)
    for first, second in zip(a, delayed_recall(50, 6, seed=1), strict=True):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(a[0], delayed_recall(50, 6, seed=2)[0])
    x, y, distance = delayed_recall(20000, 10, symbols=4, seed=0)
    # symbols, targets and marked positions are uniform: each share within 5 sigma of 1/K, 1/T
    for values, k in ((x[..., :4].argmax(-1).ravel(), 4), (y, 4), (distance, 10)):
        shares = np.bincount(values, minlength=k) / len(values)
        sigma = np.sqrt((1 / k) * (1 - 1 / k) / len(values))
        np.testing.assert_array_less(np.abs(shares - 1 / k), 5 * sigma)
    # the target is independent of the last step's symbol unless the mark is on the last step
    last = x[:, -1, :4].argmax(-1)
    assert abs(np.mean(last[distance > 0] == y[distance > 0]) - 0.25) < 0.02
    assert np.all(last[distance == 0] == y[distance == 0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": 0, "length": 5}, r"`samples` must be a positive integer; received samples=0"),
        ({"samples": 2, "length": 2.5}, r"`length` must be a positive integer"),
        ({"samples": 2, "length": 5, "symbols": 1}, r"`symbols` must be an integer >= 2"),
        ({"samples": 2, "length": 5, "symbols": True}, r"`symbols` must be a positive integer"),
    ],
)
def test_delayed_recall_errors_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        delayed_recall(**kwargs)
