r"""Real data for the course, offline: loaders, sequence windows, splits and normalisation.

Two real data sets ship inside installed packages, so nothing is downloaded at run time:

- ``load_digits_sequences``: scikit-learn's 1797 handwritten digits (8x8 images), each image
  read row by row as a sequence of 8 time steps with 8 features, labelled 0-9;
- ``load_goog_prices``: 1047 daily closing prices of Google's stock (2004-08-19 to 2008-10-14),
  the ``goog.npz`` sample file that matplotlib ships.

The helpers turn such data into what a recurrent layer trains on, without leaking information
from validation or test data into training:

- ``sliding_windows`` cuts a series into (input window, target) pairs;
- ``train_val_test_split`` splits arrays into three consecutive (or shuffled) parts;
- ``Normalizer`` standardises features with a mean and standard deviation fitted on the training
  part only and then applied, unchanged, to every part.

One synthetic task tests how far back a recurrent layer remembers:

- ``delayed_recall``: sequences of random symbols, one of them marked; the target is the marked
  symbol, to be named after the last step, so the distance from the mark to the end is controlled.

Every function checks its arguments and raises a ``ValueError`` that names the bad argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.validation import fraction, positive_int

__all__ = [
    "Normalizer",
    "delayed_recall",
    "load_digits_sequences",
    "load_goog_prices",
    "sliding_windows",
    "train_val_test_split",
]


def load_digits_sequences() -> tuple[np.ndarray, np.ndarray]:
    r"""scikit-learn's handwritten digits as sequences: each 8x8 image read row by row.

    Image :math:`n` becomes the sequence :math:`x_{n,1}, \dots, x_{n,8}` where the input at step
    :math:`t` is row :math:`t` of the image (8 pixel intensities). Intensities, integers 0-16 in
    the data set, are divided by 16 so they lie in :math:`[0, 1]`.

    Returns:
        ``(x, y)``: ``x`` float32 of shape (1797, 8, 8) as (sample, time, feature) and ``y``
        int64 of shape (1797,), the digit 0-9 each image shows.

    Raises:
        ImportError: If scikit-learn (lstmkit's ``data`` extra) is not installed.

    Example:

    >>> x, y = lstmkit.data.load_digits_sequences()
    >>> x.shape, x.dtype, y.shape, y[:5].tolist()
    ((1797, 8, 8), dtype('float32'), (1797,), [0, 1, 2, 3, 4])
    >>> float(x.min()), float(x.max())
    (0.0, 1.0)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_digits_sequences needs scikit-learn, which ships the digits data set: "
            "pip install scikit-learn (lstmkit's `data` extra)."
        ) from err
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")
    return x, digits.target.astype("int64")


def load_goog_prices() -> tuple[np.ndarray, np.ndarray]:
    """Daily closing prices of Google's stock, 2004-08-19 to 2008-10-14 (matplotlib sample data).

    Returns:
        ``(dates, close)``: ``dates`` of dtype ``datetime64[D]`` and ``close`` float64 (US
        dollars), both of shape (1047,), one entry per trading day in increasing date order.

    Example:

    >>> dates, close = lstmkit.data.load_goog_prices()
    >>> dates.shape, str(dates[0]), str(dates[-1])
    ((1047,), '2004-08-19', '2008-10-14')
    """
    from matplotlib import cbook

    # A path, then np.load: get_sample_data's own loading of .npz files changed across
    # matplotlib releases (a file object before 3.8, the loaded arrays after).
    prices = np.load(cbook.get_sample_data("goog.npz", asfileobj=False))["price_data"]
    return prices["date"].astype("datetime64[D]"), prices["close"].astype("float64")


def sliding_windows(
    series: Any, window: int, horizon: int = 1, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    r"""Cut a series into input windows and the value ``horizon`` steps after each window.

    For a series :math:`s_0, \dots, s_{T-1}`, window :math:`n` starts at :math:`a = n \cdot
    \text{stride}`:

    .. math::

        X_n = (s_a, s_{a+1}, \dots, s_{a+w-1}), \qquad y_n = s_{a+w-1+h}

    with :math:`w` = ``window`` and :math:`h` = ``horizon`` (1: the next value), for every
    :math:`n` with :math:`a + w - 1 + h \le T - 1`, that is
    :math:`N = \lfloor (T - w - h) / \text{stride} \rfloor + 1` windows.

    Args:
        series: Array-like of shape (T,) (one feature) or (T, features).
        window: Positive integer :math:`w`, the number of time steps in each input window.
        horizon: Positive integer :math:`h`, how many steps after the window's last step the
            target lies. Defaults to `1` (the next step).
        stride: Positive integer, steps between the starts of consecutive windows. Defaults to
            `1`.

    Returns:
        ``(x, y)``: ``x`` of shape (N, window, features) and ``y`` of shape (N, features), copies
        in the series' dtype (a 1-D series counts as one feature).

    Raises:
        ValueError: If ``series`` is not of rank 1 or 2, if ``window``, ``horizon`` or ``stride``
            is not a positive integer, or if ``window + horizon`` exceeds the series' length.

    Example:

    >>> x, y = lstmkit.data.sliding_windows(np.arange(6), window=3)
    >>> x[..., 0].tolist(), y[:, 0].tolist()
    ([[0, 1, 2], [1, 2, 3], [2, 3, 4]], [3, 4, 5])
    >>> x.shape, y.shape  # (N, window, features), (N, features)
    ((3, 3, 1), (3, 1))
    """
    window = positive_int("window", window)
    horizon = positive_int("horizon", horizon)
    stride = positive_int("stride", stride)
    values = np.asarray(series)
    if values.ndim not in (1, 2):
        raise ValueError(
            "Argument `series` must be of rank 1 (time,) or 2 (time, features); received an "
            f"array of shape {values.shape}."
        )
    if values.ndim == 1:
        values = values[:, None]
    length = values.shape[0]
    if window + horizon > length:
        raise ValueError(
            f"Argument `window` is too long for the series: window={window} plus "
            f"horizon={horizon} needs at least {window + horizon} time steps, but `series` has "
            f"{length}; use window <= {length - horizon}."
        )
    starts = np.arange(0, length - window - horizon + 1, stride)
    x = values[starts[:, None] + np.arange(window)]
    y = values[starts + window - 1 + horizon]
    return x, y


def train_val_test_split(
    *arrays: Any,
    validation: float = 0.15,
    test: float = 0.15,
    shuffle: bool = False,
    seed: int | None = None,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    r"""Split arrays along their first axis into training, validation and test parts.

    Of :math:`N` samples, the test part gets :math:`\lfloor N \cdot \text{test} \rceil`
    (rounded), the validation part :math:`\lfloor N \cdot \text{validation} \rceil` and training
    the rest. Without shuffling the parts are consecutive, in that order — training first, then
    validation, then test — which is what a time series needs: the model is evaluated on data
    from *after* everything it trained on. With ``shuffle=True`` one random permutation
    (from ``seed``) is applied to all arrays alike first.

    Args:
        *arrays: One or more array-likes with the same length along their first axis (for
            example inputs and targets).
        validation: Fraction in [0, 1) of the samples for validation. Defaults to `0.15`.
        test: Fraction in [0, 1) of the samples for testing. Defaults to `0.15`.
        shuffle: Whether to permute the samples before splitting. Defaults to `False`.
        seed: Seed of the permutation (used only with ``shuffle=True``). Defaults to `None`
            (a fresh permutation each call).

    Returns:
        ``(train, val, test)``, each a tuple with one array per input array, in input order.

    Raises:
        ValueError: If no array is given, an array is a scalar, the arrays' lengths differ,
            ``validation`` or ``test`` is not in [0, 1), their sum is not below 1, or the
            training part would be empty.

    Example:

    >>> x, y = np.arange(10), np.arange(10) * 10
    >>> (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
    ...     lstmkit.data.train_val_test_split(x, y, validation=0.2, test=0.2))
    >>> x_train.tolist(), x_val.tolist(), y_test.tolist()
    ([0, 1, 2, 3, 4, 5], [6, 7], [80, 90])
    """
    if not arrays:
        raise ValueError(
            "train_val_test_split needs at least one array in `arrays`; received none."
        )
    values = [np.asarray(a) for a in arrays]
    for position, a in enumerate(values):
        if a.ndim == 0:
            raise ValueError(
                f"Argument `arrays` must hold arrays of rank >= 1; array {position} is a scalar."
            )
    lengths = [len(a) for a in values]
    if len(set(lengths)) != 1:
        raise ValueError(
            "Argument `arrays` must hold arrays of the same length along the first axis; "
            f"received lengths {lengths}."
        )
    validation = fraction("validation", validation)
    test = fraction("test", test)
    if validation + test >= 1.0:
        raise ValueError(
            "Arguments `validation` and `test` must sum to less than 1 so that some data is left "
            f"for training; received validation={validation} and test={test}."
        )
    n = lengths[0]
    n_test = round(n * test)
    n_val = round(n * validation)
    n_train = n - n_val - n_test
    if n_train <= 0:
        raise ValueError(
            f"The training part would be empty: {n} samples with validation={validation} and "
            f"test={test} leave {n_train} for training; pass more samples or smaller fractions."
        )
    if shuffle:
        order = np.random.default_rng(seed).permutation(n)
        values = [a[order] for a in values]
    bounds = [(0, n_train), (n_train, n_train + n_val), (n_train + n_val, n)]
    train, val, tst = (tuple(a[lo:hi] for a in values) for lo, hi in bounds)
    return train, val, tst


class Normalizer:
    r"""Standardise each feature with statistics fitted on training data only.

    ``fit(x)`` computes, for each feature (last axis) :math:`j`, the mean :math:`\mu_j` and
    standard deviation :math:`\sigma_j` over all other axes (samples, and time steps for
    sequences); ``transform`` maps

    .. math::

        z_{\dots j} = \frac{x_{\dots j} - \mu_j}{\sigma_j}

    and ``inverse_transform`` maps back, :math:`x = z \sigma + \mu`. A constant feature
    (:math:`\sigma_j = 0`) gets :math:`\sigma_j = 1`, so it becomes 0 instead of NaN.

    Fit it on the training part, then transform training, validation and test data with the
    same :math:`\mu, \sigma`: statistics taken from validation or test data would leak
    information about them into training.

    Attributes:
        mean_: (features,) float64 array :math:`\mu`, set by ``fit``.
        std_: (features,) float64 array :math:`\sigma`, set by ``fit``.

    Raises:
        ValueError: If data is empty, of rank 0 or not finite numbers, if ``transform`` or
            ``inverse_transform`` runs before ``fit``, or the number of features differs from
            the fitted data's.

    Example:

    >>> train, test = np.array([[1.0], [3.0]]), np.array([[5.0]])
    >>> normalizer = lstmkit.data.Normalizer().fit(train)
    >>> normalizer.mean_.tolist(), normalizer.std_.tolist()
    ([2.0], [1.0])
    >>> normalizer.transform(test).tolist()  # test data scaled with the training statistics
    [[3.0]]
    >>> normalizer.inverse_transform(normalizer.transform(test)).tolist()
    [[5.0]]
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    @staticmethod
    def _check(x: Any, name: str) -> np.ndarray:
        values = np.asarray(x)
        if values.ndim == 0 or values.size == 0:
            raise ValueError(
                f"Argument `{name}` must be a non-empty array of rank >= 1 (features on the "
                f"last axis); received shape {values.shape}."
            )
        if not np.issubdtype(values.dtype, np.number) or not np.all(np.isfinite(values)):
            raise ValueError(f"Argument `{name}` must hold finite numbers only.")
        return values

    def fit(self, x: Any) -> Normalizer:
        """Compute the per-feature mean and standard deviation of ``x``.

        Args:
            x: Training data, features on the last axis.

        Returns:
            ``self``, fitted.
        """
        values = self._check(x, "x").astype("float64")
        axes = tuple(range(values.ndim - 1))
        self.mean_ = values.mean(axis=axes)
        std = values.std(axis=axes)
        self.std_ = np.where(std > 0.0, std, 1.0)
        return self

    def _fitted(self, x: Any, name: str) -> np.ndarray:
        if self.mean_ is None or self.std_ is None:
            raise ValueError("This Normalizer is not fitted yet: call fit(training_data) first.")
        values = self._check(x, name)
        if values.shape[-1] != self.mean_.shape[-1]:
            raise ValueError(
                f"Argument `{name}` must have {self.mean_.shape[-1]} features on its last axis, "
                f"as the data the Normalizer was fitted on; received shape {values.shape}."
            )
        return values

    def transform(self, x: Any) -> np.ndarray:
        r"""Return :math:`(x - \mu) / \sigma`, in ``x``'s dtype if floating, else float64.

        Args:
            x: Data with the fitted number of features on the last axis.

        Returns:
            The standardised data, of ``x``'s shape.
        """
        values = self._fitted(x, "x")
        dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64
        return ((values - self.mean_) / self.std_).astype(dtype)

    def inverse_transform(self, z: Any) -> np.ndarray:
        r"""Return :math:`z \sigma + \mu`, in ``z``'s dtype if floating, else float64.

        Args:
            z: Standardised data with the fitted number of features on the last axis.

        Returns:
            The data in its original units, of ``z``'s shape.
        """
        values = self._fitted(z, "z")
        dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64
        return (values * self.std_ + self.mean_).astype(dtype)

    def fit_transform(self, x: Any) -> np.ndarray:
        """``fit(x)``, then ``transform(x)``.

        Args:
            x: Training data, features on the last axis.

        Returns:
            ``x`` standardised with its own statistics.
        """
        return self.fit(x).transform(x)


def delayed_recall(
    samples: int, length: int, symbols: int = 4, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Sequences of random symbols with one step marked: recall the marked symbol at the end.

    Sample :math:`n` has a random symbol :math:`s_{n,t} \in \{0, \dots, K-1\}` at every step
    :math:`t = 0, \dots, T-1` (uniform, independent) and one marked step :math:`p_n`, uniform over
    the :math:`T` steps. The input at step :math:`t` is the one-hot code of :math:`s_{n,t}`
    followed by a marker feature, 1 at :math:`t = p_n` and 0 elsewhere:

    .. math::

        x_{n,t} = \big[\, e_{s_{n,t}} \;\; [t = p_n] \,\big] \in \{0, 1\}^{K+1}, \qquad
        y_n = s_{n, p_n}, \qquad d_n = T - 1 - p_n .

    A model that reads the whole sequence and answers after the last step must carry the marked
    symbol over :math:`d_n` steps of distractors (:math:`d_n = 0`: it is the last step). Guessing
    gets :math:`1 / K` right (chance level); a model that remembers only the last :math:`m` steps
    gets about :math:`m / T + (1 - m / T) / K`.

    Args:
        samples: Positive integer, the number of sequences :math:`N`.
        length: Positive integer, the number of time steps :math:`T`.
        symbols: Integer >= 2, the size :math:`K` of the alphabet. Defaults to `4`.
        seed: Seed of NumPy's random generator. Defaults to `None` (fresh data each call).

    Returns:
        ``(x, y, distance)``: ``x`` float32 of shape (samples, length, symbols + 1), ``y`` int64
        of shape (samples,), the marked symbols, and ``distance`` int64 of shape (samples,), the
        steps from the mark to the last step, :math:`d_n` in 0 to length - 1.

    Raises:
        ValueError: If ``samples`` or ``length`` is not a positive integer, or ``symbols`` is not
            an integer >= 2.

    Example:

    >>> x, y, distance = lstmkit.data.delayed_recall(2, length=5, symbols=3, seed=0)
    >>> x.shape, y.shape, distance.shape  # (samples, time, symbols + marker)
    ((2, 5, 4), (2,), (2,))
    >>> x[..., -1].sum(axis=1).tolist()  # one marked step per sequence
    [1.0, 1.0]
    >>> marked = x.shape[1] - 1 - distance  # the marked step ...
    >>> bool(np.all(x[np.arange(2), marked, :-1].argmax(-1) == y))  # ... holds the target
    True
    """
    samples = positive_int("samples", samples)
    length = positive_int("length", length)
    if positive_int("symbols", symbols) < 2:
        raise ValueError(
            f"Argument `symbols` must be an integer >= 2 (a choice to remember); received "
            f"symbols={symbols!r}."
        )
    rng = np.random.default_rng(seed)
    steps = rng.integers(0, symbols, size=(samples, length))
    marked = rng.integers(0, length, size=samples)
    x = np.zeros((samples, length, symbols + 1), dtype="float32")
    x[..., :symbols] = np.eye(symbols, dtype="float32")[steps]
    rows = np.arange(samples)
    x[rows, marked, symbols] = 1.0
    return x, steps[rows, marked].astype("int64"), (length - 1 - marked).astype("int64")
