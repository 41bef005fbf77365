r"""Text for character-level language models, offline: a corpus, streams, sampling, a look inside.

The corpus is Python's own standard library: every Python installation ships its source files,
so nothing is downloaded. The helpers cover what a character-level LSTM language model needs
(notebook ``10_character_language_model``):

- ``load_stdlib_text`` reads a fixed, sorted list of standard-library modules and records which
  files and how many characters each gave; ``CharVocabulary`` maps characters to integer ids;
- ``stream_batches`` lays one long stream out for ``stateful=True`` training (truncated
  backpropagation through time): row :math:`b` of every batch continues row :math:`b` of the
  batch before it;
- ``temperature_probabilities`` and ``sample_with_temperature`` reshape a softmax with a
  temperature and draw from it; ``generate_text`` runs a trained
  ``Embedding -> LSTM -> Dense(softmax)`` model character by character with NumPy;
- ``trace_lstm`` recomputes an LSTM's gates and states from its weights with NumPy (Keras'
  layout and gate order), ``text_features`` computes readable per-character features of Python
  source (indentation, inside a string, bracket depth, column), and ``feature_correlations``
  correlates every unit with every feature.

Every function checks its arguments and raises a ``ValueError`` that names the bad argument.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lstmkit.validation import positive_int

__all__ = [
    "STDLIB_FILES",
    "CharVocabulary",
    "feature_correlations",
    "generate_text",
    "load_stdlib_text",
    "sample_with_temperature",
    "stream_batches",
    "temperature_probabilities",
    "text_features",
    "trace_lstm",
]

# Pure-Python modules with indentation, strings and brackets of every kind; sorted. Each file was
# byte-identical in CPython 3.11.2 and 3.11.7 (compared when this list was chosen); other
# releases may differ, so the notebook prints a digest of the text it trained on.
STDLIB_FILES = (
    "copy.py", "csv.py", "fnmatch.py", "functools.py", "glob.py", "graphlib.py", "heapq.py",
    "json/decoder.py", "json/encoder.py", "queue.py", "reprlib.py", "sched.py", "string.py",
    "textwrap.py",
)


def load_stdlib_text(files: Sequence[str] | None = None) -> tuple[str, dict[str, int]]:
    """Read standard-library source files of the running Python, concatenated in the given order.

    The files are looked up next to the ``os`` module (``os.path.dirname(os.__file__)``), read as
    UTF-8 with universal newlines, and joined as they are (each ends with a newline).

    Args:
        files: Paths relative to the standard library's directory, with ``/`` as separator.
            Defaults to `None`: :data:`STDLIB_FILES`.

    Returns:
        ``(text, sizes)``: the concatenated text and ``{file: number of characters}`` in the order
        read, so ``sum(sizes.values()) == len(text)``.

    Raises:
        ValueError: If ``files`` is empty or a file is not in this Python's standard library.

    Example:

    >>> text, sizes = lstmkit.text.load_stdlib_text(["this.py"])
    >>> text.startswith("s = "), sizes == {"this.py": len(text)}
    (True, True)
    """
    files = STDLIB_FILES if files is None else files
    if isinstance(files, str) or not files:
        raise ValueError(f"Argument `files` must be a non-empty list of file names; received "
                         f"files={files!r}.")
    root = os.path.dirname(os.__file__)
    parts, sizes = [], {}
    for name in files:
        path = os.path.join(root, *str(name).split("/"))
        if not os.path.isfile(path):
            raise ValueError(f"Argument `files` names {name!r}, which is not a file of this "
                             "Python's standard library.")
        with open(path, encoding="utf-8") as handle:
            parts.append(handle.read())
        sizes[name] = len(parts[-1])
    return "".join(parts), sizes


class CharVocabulary:
    """The characters of a text, sorted, and their integer ids (0 to ``size - 1``).

    Args:
        text: Every character the model may see or produce (the whole corpus).

    Example:

    >>> vocab = lstmkit.text.CharVocabulary("abcab")
    >>> vocab.chars, vocab.size, vocab.encode("cab").tolist(), vocab.decode([2, 1])
    ('abc', 3, [2, 0, 1], 'cb')
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text:
            raise ValueError(f"Argument `text` must be a non-empty string; received {text!r:.40}.")
        self.chars = "".join(sorted(set(text)))
        self._ids = {c: i for i, c in enumerate(self.chars)}

    @property
    def size(self) -> int:
        """The number of distinct characters."""
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The ids of the characters of ``text`` as an int32 array of shape (len(text),).

        Args:
            text: A string whose characters are all in the vocabulary.
        """
        unknown = sorted(set(text) - self._ids.keys())
        if unknown:
            raise ValueError(f"Argument `text` holds characters outside the vocabulary: "
                             f"{''.join(unknown[:10])!r}.")
        return np.fromiter((self._ids[c] for c in text), dtype=np.int32, count=len(text))

    def decode(self, ids: Any) -> str:
        """The string of the ids ``ids`` (any integer array-like of rank 1).

        Args:
            ids: Integers in ``[0, size)``.
        """
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"Argument `ids` must lie in [0, {self.size}); received values from "
                             f"{ids.min()} to {ids.max()}.")
        return "".join(self.chars[i] for i in ids)


def stream_batches(ids: Any, batch_size: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Lay one long stream out as batches for ``stateful=True`` training (truncated BPTT).

    The stream :math:`s_0, \dots, s_{N-1}` is cut into ``batch_size`` contiguous rows of
    :math:`L = \lfloor (N - 1) / B \rfloor` characters (row :math:`b` starts at :math:`bL`), and
    each row into :math:`K = \lfloor L / S \rfloor` windows of :math:`S` = ``steps``. Batch
    :math:`k` holds window :math:`k` of every row, so row :math:`b` of batch :math:`k + 1`
    continues row :math:`b` of batch :math:`k` exactly where it ended:

    .. math::

        x^{(k)}_{b,t} = s_{bL + kS + t}, \qquad y^{(k)}_{b,t} = s_{bL + kS + t + 1}.

    A stateful layer carries its states from batch :math:`k` to :math:`k + 1`, so each row is
    read as one long sequence while gradients flow back :math:`S` steps at most. The batches are
    stacked in order, batch :math:`k` as samples :math:`kB` to :math:`kB + B - 1`: pass the
    arrays to ``fit`` with ``batch_size=batch_size, shuffle=False``. The last
    :math:`N - 1 - KSB` characters are dropped.

    Args:
        ids: Integer array-like of shape (N,), the stream.
        batch_size: Positive integer :math:`B`, rows per batch (the stateful layer's batch size).
        steps: Positive integer :math:`S`, time steps per window (how far back gradients flow).

    Returns:
        ``(x, y)``, each of shape (K * batch_size, steps) in the stream's dtype; ``y`` is ``x``
        one character later.

    Raises:
        ValueError: If ``ids`` is not of rank 1, if ``batch_size`` or ``steps`` is not a positive
            integer, or if the stream is too short for one window per row.

    Example:

    >>> x, y = lstmkit.text.stream_batches(np.arange(13), batch_size=2, steps=3)
    >>> x.tolist()  # batch 0: rows [0 1 2] and [6 7 8]; batch 1 continues each row
    [[0, 1, 2], [6, 7, 8], [3, 4, 5], [9, 10, 11]]
    >>> y[:, -1].tolist()
    [3, 9, 6, 12]
    """
    batch_size = positive_int("batch_size", batch_size)
    steps = positive_int("steps", steps)
    stream = np.asarray(ids)
    if stream.ndim != 1:
        raise ValueError(f"Argument `ids` must be of rank 1 (N,); received shape {stream.shape}.")
    row = (len(stream) - 1) // batch_size
    windows = row // steps
    if windows == 0:
        raise ValueError(
            f"Argument `ids` is too short: batch_size={batch_size} rows of steps={steps} need at "
            f"least {batch_size * steps + 1} ids; received {len(stream)}.")
    used = windows * steps
    rows = np.stack([stream[b * row: b * row + used + 1] for b in range(batch_size)])

    def lay_out(part: np.ndarray) -> np.ndarray:  # (B, K*S) -> (K*B, S), batch k = window k
        return part.reshape(batch_size, windows, steps).transpose(1, 0, 2).reshape(-1, steps)

    return lay_out(rows[:, :-1]), lay_out(rows[:, 1:])


def _check_temperature(temperature: Any) -> float:
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        value = float("nan")
    if not value >= 0.0 or value == float("inf"):
        raise ValueError(f"Argument `temperature` must be a float >= 0 (0: always the most "
                         f"likely); received temperature={temperature!r}.")
    return value


def temperature_probabilities(logits: Any, temperature: float = 1.0) -> np.ndarray:
    r"""The softmax of ``logits / temperature`` over the last axis.

    .. math::

        p_j(T) = \frac{\exp(z_j / T)}{\sum_k \exp(z_k / T)}
               = \frac{p_j^{1/T}}{\sum_k p_k^{1/T}}
        \quad\text{for } z = \log p.

    :math:`T = 1` gives the model's own distribution, :math:`T < 1` sharpens it towards the most
    likely character, :math:`T > 1` flattens it towards uniform; :math:`T = 0` is the limit, all
    mass on the most likely character (the first one on ties). Log-probabilities work as logits
    (the softmax ignores a constant shift); computed with the maximum subtracted, so large
    logits do not overflow.

    Args:
        logits: Float array-like, the last axis over the characters.
        temperature: Float :math:`T \ge 0`. Defaults to `1.0`.

    Returns:
        A float64 array of the shape of ``logits`` whose last axis sums to 1.

    Example:

    >>> p = lstmkit.text.temperature_probabilities(np.log([0.5, 0.3, 0.2]), 0.5)
    >>> p.round(3).tolist()  # proportional to 0.5**2, 0.3**2, 0.2**2
    [0.658, 0.237, 0.105]
    """
    temperature = _check_temperature(temperature)
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim == 0:
        raise ValueError("Argument `logits` must have at least one axis (the characters).")
    if temperature == 0.0:
        return np.eye(z.shape[-1])[z.argmax(axis=-1)]
    z = (z - z.max(axis=-1, keepdims=True)) / temperature
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sample_with_temperature(logits: Any, temperature: float = 1.0,
                            rng: np.random.Generator | int | None = None) -> np.ndarray:
    r"""Draw one index per row from :func:`temperature_probabilities` (inverse CDF sampling).

    For each row, one uniform number :math:`u \sim U[0, 1)` picks the first index :math:`j` whose
    cumulative probability exceeds :math:`u`; :math:`T = 0` returns the argmax.

    Args:
        logits: Float array-like of shape (..., characters).
        temperature: Float :math:`T \ge 0`. Defaults to `1.0`.
        rng: A ``numpy.random.Generator`` or a seed for ``numpy.random.default_rng``. Defaults
            to `None` (fresh entropy).

    Returns:
        An int64 array of shape ``logits.shape[:-1]``.

    Example:

    >>> logits = np.log([[0.1, 0.9], [0.5, 0.5]])
    >>> lstmkit.text.sample_with_temperature(logits, 0.0).tolist()
    [1, 0]
    >>> draws = lstmkit.text.sample_with_temperature(np.zeros((10000, 2)), 1.0, rng=0)
    >>> bool(abs(draws.mean() - 0.5) < 0.02)
    True
    """
    p = temperature_probabilities(logits, temperature)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    u = generator.random(p.shape[:-1] + (1,))
    picked = (np.cumsum(p, axis=-1) <= u).sum(axis=-1)
    return np.minimum(picked, p.shape[-1] - 1).astype(np.int64)  # rounding: never past the end


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def trace_lstm(inputs: Any, kernel: Any, recurrent_kernel: Any, bias: Any,
               initial_state: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
    r"""Run an LSTM with NumPy and return every gate and state at every step.

    With Keras' weight layout (columns in gate order input, forget, cell candidate, output) and
    default activations (``tanh``, ``recurrent_activation="sigmoid"``):

    .. math::

        [\tilde i, \tilde f, \tilde g, \tilde o] = x_t W + h_{t-1} U + b, \quad
        c_t = \sigma(\tilde f) \odot c_{t-1} + \sigma(\tilde i) \odot \tanh(\tilde g), \quad
        h_t = \sigma(\tilde o) \odot \tanh(c_t).

    Args:
        inputs: Float array-like of shape (batch, time, features).
        kernel: :math:`W`, shape (features, 4 * units), the layer's first weight.
        recurrent_kernel: :math:`U`, shape (units, 4 * units).
        bias: :math:`b`, shape (4 * units,).
        initial_state: ``[h0, c0]``, each (batch, units). Defaults to `None` (zeros).

    Returns:
        ``{"i", "f", "g", "o", "c", "h"}``: the input, forget and output gates after the sigmoid,
        the candidate :math:`\tanh(\tilde g)`, the cell state and the output, each float64 of
        shape (batch, time, units).

    Example:

    >>> layer = keras.layers.LSTM(3, return_sequences=True)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    >>> outputs = layer(x)
    >>> trace = lstmkit.text.trace_lstm(x, *layer.get_weights())
    >>> bool(np.allclose(trace["h"], outputs, atol=1e-5)), trace["c"].shape
    (True, (2, 5, 3))
    """
    x = np.asarray(inputs, dtype=np.float64)
    w, u, b = (np.asarray(a, dtype=np.float64) for a in (kernel, recurrent_kernel, bias))
    if x.ndim != 3:
        raise ValueError(f"Argument `inputs` must be of rank 3 (batch, time, features); "
                         f"received shape {x.shape}.")
    units = u.shape[0]
    if w.shape != (x.shape[-1], 4 * units) or u.shape != (units, 4 * units) or \
            b.shape != (4 * units,):
        raise ValueError(
            f"Arguments `kernel`, `recurrent_kernel`, `bias` must have shapes "
            f"({x.shape[-1]}, {4 * units}), ({units}, {4 * units}), ({4 * units},) for inputs "
            f"of {x.shape[-1]} features; received {w.shape}, {u.shape}, {b.shape}.")
    batch, time = x.shape[:2]
    h, c = ((np.zeros((batch, units)), np.zeros((batch, units))) if initial_state is None
            else (np.asarray(s, dtype=np.float64) for s in initial_state))
    if h.shape != (batch, units) or c.shape != (batch, units):
        raise ValueError(f"Argument `initial_state` must be [h0, c0], each of shape "
                         f"({batch}, {units}); received {h.shape} and {c.shape}.")
    projected = x @ w + b  # the input part of every step at once
    out = {k: np.empty((batch, time, units)) for k in "ifgoch"}
    for t in range(time):
        z_i, z_f, z_g, z_o = np.split(projected[:, t] + h @ u, 4, axis=-1)
        i, f, g, o = _sigmoid(z_i), _sigmoid(z_f), np.tanh(z_g), _sigmoid(z_o)
        c = f * c + i * g
        h = o * np.tanh(c)
        for key, value in zip("ifgoch", (i, f, g, o, c, h), strict=True):
            out[key][:, t] = value
    return out


def generate_text(weights: Sequence[Any], vocabulary: CharVocabulary, prompt: str, length: int,
                  temperature: float = 1.0, seed: int | None = 0) -> str:
    r"""Continue ``prompt`` by ``length`` characters with an ``Embedding -> LSTM -> Dense`` model.

    The prompt is read through :func:`trace_lstm` with the model's weights; then, one character
    at a time, the next character is drawn with :func:`sample_with_temperature` from the
    softmax's logits :math:`h_t V + d` and fed back in.

    Args:
        weights: ``model.get_weights()`` of ``Sequential([Embedding(size, E), LSTM(units),
            Dense(size)])``: the embedding (size, E), the LSTM's kernel, recurrent kernel and
            bias, the dense kernel (units, size) and bias (size,).
        vocabulary: The :class:`CharVocabulary` the model was trained with.
        prompt: Non-empty text to start from (characters of the vocabulary).
        length: Positive integer, how many characters to generate.
        temperature: Float :math:`T \ge 0` (0: always the most likely). Defaults to `1.0`.
        seed: Seed of the draws. Defaults to `0`.

    Returns:
        The ``length`` generated characters (without the prompt).

    Example:

    >>> vocab = lstmkit.text.CharVocabulary("ab")
    >>> rng = np.random.default_rng(0)
    >>> weights = [rng.normal(size=s) for s in [(2, 3), (3, 8), (2, 8), (8,), (2, 2), (2,)]]
    >>> text = lstmkit.text.generate_text(weights, vocab, "ab", 5, temperature=1.0)
    >>> len(text), set(text) <= {"a", "b"}
    (5, True)
    """
    if len(weights) != 6:
        raise ValueError(f"Argument `weights` must be the 6 arrays of Embedding -> LSTM -> Dense; "
                         f"received {len(weights)}.")
    embedding, kernel, recurrent_kernel, bias, dense_kernel, dense_bias = (
        np.asarray(w, dtype=np.float64) for w in weights)
    if not prompt:
        raise ValueError("Argument `prompt` must be a non-empty string.")
    length = positive_int("length", length)
    _check_temperature(temperature)
    rng = np.random.default_rng(seed)
    trace = trace_lstm(embedding[vocabulary.encode(prompt)][None], kernel, recurrent_kernel, bias)
    state = [trace["h"][:, -1], trace["c"][:, -1]]
    out = []
    for _ in range(length):
        logits = state[0] @ dense_kernel + dense_bias
        out.append(int(sample_with_temperature(logits, temperature, rng)[0]))
        step = trace_lstm(embedding[[out[-1]]][None], kernel, recurrent_kernel, bias, state)
        state = [step["h"][:, -1], step["c"][:, -1]]
    return vocabulary.decode(out)


def text_features(text: str) -> dict[str, np.ndarray]:
    """Readable per-character features of Python source, each *after reading* that character.

    A scanner (not Python's tokenizer, so any slice of a file works) follows strings (``'``,
    ``"``, triple quotes, backslash escapes), comments and brackets. At character ``t``:

    - ``"column"``: characters of the current line read so far (a newline gives 0, the first
      character of a line 1);
    - ``"indent"``: leading spaces of the current line read so far;
    - ``"in_string"``: 1 inside a string literal (the opening quote gives 1, the closing 0);
    - ``"in_comment"``: 1 from ``#`` (outside strings) to the end of the line;
    - ``"bracket_depth"``: open ``(``, ``[``, ``{`` outside strings and comments (an opening
      bracket counts, a closing one no longer; never below 0).

    Args:
        text: Python source, or a slice of it.

    Returns:
        ``{name: float64 array of shape (len(text),)}``.

    Example:

    >>> f = lstmkit.text.text_features("  f('a(')\\n")
    >>> f["in_string"].tolist()
    [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    >>> f["bracket_depth"].tolist(), f["indent"][:4].tolist()
    ([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], [1.0, 2.0, 2.0, 2.0])
    """
    if not isinstance(text, str):
        raise ValueError(f"Argument `text` must be a string; received {type(text).__name__}.")
    names = ("column", "indent", "in_string", "in_comment", "bracket_depth")
    out = {name: np.zeros(len(text)) for name in names}
    column = indent = depth = 0
    leading = True  # still in the line's leading spaces
    quote = ""  # the open string's delimiter: ', ", ''' or """
    comment = escaped = False
    t = 0
    while t < len(text):
        ch, width = text[t], 1
        if ch == "\n":
            column = indent = 0
            leading, comment = True, False
            quote = quote if len(quote) == 3 else ""  # a one-line string cannot go on
            escaped = False
        else:
            column += 1
            if leading and ch == " ":
                indent += 1
            else:
                leading = False
            if quote:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif text.startswith(quote, t):
                    width, quote = len(quote), ""
            elif comment:
                pass
            elif ch == "#":
                comment = True
            elif ch in "'\"":
                quote = ch * 3 if text.startswith(ch * 3, t) else ch
                width = len(quote)
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth = max(depth - 1, 0)
        for k in range(t, t + width):  # a triple quote: its three characters alike
            if k > t:
                column += 1
            out["column"][k], out["indent"][k] = column, indent
            out["in_string"][k], out["in_comment"][k] = float(bool(quote)), float(comment)
            out["bracket_depth"][k] = depth
        t += width
    return out


def feature_correlations(values: Any, features: Mapping[str, Any]) -> dict[str, np.ndarray]:
    r"""Pearson's correlation of every unit with every feature over time.

    .. math::

        r_{j} = \frac{\sum_t (a_{tj} - \bar a_j)(f_t - \bar f)}
                     {\sqrt{\sum_t (a_{tj} - \bar a_j)^2 \sum_t (f_t - \bar f)^2}}

    A constant unit or feature has no correlation: its :math:`r` is 0.

    Args:
        values: Float array-like of shape (time, units), e.g. the cell states over a text.
        features: ``{name: array of shape (time,)}``, e.g. :func:`text_features`.

    Returns:
        ``{name: float64 array of shape (units,)}``, values in :math:`[-1, 1]`.

    Example:

    >>> a = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0]])
    >>> r = lstmkit.text.feature_correlations(a, {"t": [0, 1, 2]})
    >>> r["t"].round(3).tolist()
    [1.0, 0.0]
    """
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"Argument `values` must be of rank 2 (time, units); received shape "
                         f"{a.shape}.")
    centred = a - a.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    out = {}
    for name, feature in features.items():
        f = np.asarray(feature, dtype=np.float64)
        if f.shape != (a.shape[0],):
            raise ValueError(f"Argument `features` has {name!r} of shape {f.shape}; expected "
                             f"({a.shape[0]},), one value per time step of `values`.")
        f = f - f.mean()
        denominator = norms * np.sqrt((f**2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(denominator > 0, centred.T @ f / denominator, 0.0)
    return out
