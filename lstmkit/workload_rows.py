r"""The rows of the workload matrix of ``lstmkit bench``: what each row runs, its targets and
inputs, and what a row holds once built (:mod:`lstmkit.workloads` builds, checks and times the
layer rows and assembles the matrix; :mod:`lstmkit.workloads_fit` times the ``fit`` rows).

Rows, at the reference shape unless said (``--quick`` shrinks them all):

- **a** no mask; **b** a right-padded mask (lengths uniform in 50–100 % of the steps);
  **c** a mask with holes (:data:`HOLES` of the steps False at random, one row in eight fully
  masked); the mask is passed as ``mask=``;
- **d** one ``fit`` epoch of ``Embedding(vocab, features, mask_zero=True) -> LSTM -> Dense(1)``
  on right-padded integer sequences, timed after a warm-up epoch (Adam, mean squared error);
- **e** two stacked LSTMs, ``return_sequences=True`` on the first;
- **f** ``keras.layers.Bidirectional`` around the LSTM;
- **g** the first, cold ``fit`` epoch (tracing and compilation included) over batches of
  changing length, fed as a user would: ``tf.data.Dataset.from_generator`` with
  ``TensorSpec((None, None, features))``. Each epoch runs in a fresh Python process (only the
  ``fit`` call is timed, up to the end of its epoch): in one process, XLA's compilation cache
  would make every epoch after the first warm, fresh models or not;
- **h** batch 1 and batch 256;
- **i** the layers built with ``dtype="mixed_float16"`` (float16 compute, float32 weights);
- GRU rows (``-gru``) and SimpleRNN rows (``-rnn``) for a, b and h;
- **torch** and **torch-gru**: ``torch.nn.LSTM`` and ``torch.nn.GRU`` as peers at the reference
  shape (:mod:`lstmkit.workloads_torch`), against Keras and against lstmkit's row a (a-gru),
  when PyTorch is installed (``pip install torch``, lstmkit's ``torch`` extra; skipped
  otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmkit.timing import GRU_BASELINE, LSTM_BASELINE, RNN_BASELINE, Config, Runner
from lstmkit.workloads_torch import TORCH_PEERS

__all__ = ["FLOOR", "HOLES", "LAYERS", "SIZES", "SUFFIX", "TARGET", "TARGET_REFERENCE_TRAIN",
           "TOLERANCE", "Prepared", "Row", "layer_classes", "make_mask", "mask_stats",
           "padded_tokens", "reference_key", "row_shape", "rows", "runners_for", "select"]

#: Speed-up over Keras every row must reach; row a's training step must reach 1.5.
TARGET = 1.25
TARGET_REFERENCE_TRAIN = 1.5
#: No row may be slower than Keras.
FLOOR = 1.0
#: Parity tolerance, relative to the largest Keras value (at least 1), by compute dtype.
TOLERANCE = {"float32": 1e-5, "mixed_float16": 1e-2}
#: Fraction of the steps a mask with holes sets to False.
HOLES = 0.2
TORCH_BASELINE = TORCH_PEERS["lstm"]
LAYERS = {"lstm": (LSTM_BASELINE, "lstmkit.LSTM"),
          "simple_rnn": (RNN_BASELINE, "lstmkit.SimpleRNN"),
          "gru": (GRU_BASELINE, "lstmkit.GRU")}
#: What a family's row keys end with ("a", "a-rnn", "a-gru", ...); row a of a family is its
#: reference shape, the row its PyTorch peer is compared with.
SUFFIX = {"lstm": "", "simple_rnn": "-rnn", "gru": "-gru"}
#: Sizes that do not derive from the reference shape, full and under ``--quick``.
SIZES = {
    False: {"batches": (1, 256), "fit_batches": 16, "vocab": 1000, "cold_batches": 20,
            "cold_batch": 32},
    True: {"batches": (1, 8), "fit_batches": 2, "vocab": 20, "cold_batches": 2, "cold_batch": 4},
}


@dataclass(frozen=True)
class Row:
    """One workload of the matrix (see the module docstring for what each key means)."""

    key: str
    description: str
    family: str = "lstm"  # a key of LAYERS: "lstm", "simple_rnn" or "gru"
    kind: str = "layer"  # "layer", "fit" (warm epoch), "cold_fit" or "peer" (PyTorch)
    batch: int | None = None  # None: the reference batch
    mask: str | None = None  # None, "padded" or "holes"
    net: str = "single"  # "single", "stacked" or "bidirectional"
    dtype: str = "float32"

    def names(self) -> tuple[str, ...]:
        """The layers the row runs or compares: Keras', lstmkit's, and the PyTorch peer's."""
        peer = (TORCH_PEERS[self.family],) if self.kind == "peer" else ()
        return (*LAYERS[self.family], *peer)

    def targets(self) -> dict[str, float]:
        """The speed-up each timed mode must reach (none for the PyTorch peer)."""
        if self.kind == "peer":
            return {}
        if self.kind in ("fit", "cold_fit"):
            return {"fit": TARGET}
        train = TARGET_REFERENCE_TRAIN if self.key == "a" else TARGET
        return {"forward": TARGET, "train": train}


def rows(quick: bool = False) -> list[Row]:
    """The rows of the matrix, in report order."""
    small, large = SIZES[quick]["batches"]
    lstm = [
        Row("a", "reference shape, no mask"),
        Row("b", "right-padded mask, lengths 50-100% of the steps", mask="padded"),
        Row("c", f"mask with holes ({HOLES:.0%} False), 1 row in 8 fully masked", mask="holes"),
        Row("d", "fit epoch: Embedding(mask_zero) -> LSTM -> Dense, padded", kind="fit"),
        Row("e", "two stacked LSTMs (return_sequences=True, then last output)", net="stacked"),
        Row("f", "keras.layers.Bidirectional(LSTM)", net="bidirectional"),
        Row("g", "first fit epoch in a fresh process, batch lengths vary", kind="cold_fit"),
        Row(f"h{small}", f"batch {small}", batch=small),
        Row(f"h{large}", f"batch {large}", batch=large),
        Row("i", 'dtype="mixed_float16"', dtype="mixed_float16"),
        Row("torch", f"{TORCH_BASELINE} peer at the reference shape (vs Keras)", kind="peer"),
    ]
    others = [Row(f"{r.key}{SUFFIX[family]}", r.description, family=family, batch=r.batch,
                  mask=r.mask)
              for family in ("simple_rnn", "gru")
              for r in lstm if r.key in ("a", "b", f"h{small}", f"h{large}")]
    gru_peer = Row("torch-gru", f"{TORCH_PEERS['gru']} peer at the reference shape (vs Keras)",
                   family="gru", kind="peer")
    return lstm + others + [gru_peer]


def select(every: list[Row], only: list[str] | None) -> list[Row]:
    """The rows of ``every`` that run a layer whose name (:meth:`Row.names`) contains one of the
    substrings ``only`` (all rows when ``only`` is None), and the reference row (a) of the family
    of each chosen PyTorch peer, which it is compared with."""
    if only is None:
        return every
    chosen = {r.key for r in every if any(s in n for s in only for n in r.names())}
    chosen |= {reference_key(r) for r in every if r.key in chosen and r.kind == "peer"}
    return [r for r in every if r.key in chosen]


def reference_key(row: Row) -> str:
    """The key of row a of ``row``'s family (its reference shape)."""
    return f"a{SUFFIX[row.family]}"


# -- inputs --------------------------------------------------------------------------------------
def make_mask(kind: str, batch: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """A (batch, steps) boolean mask: ``"padded"`` (right padding, lengths uniform in 50-100 %
    of ``steps``) or ``"holes"`` (:data:`HOLES` of the entries False at random, and the first
    ``max(1, batch // 8)`` rows fully masked)."""
    if kind == "padded":
        lengths = rng.integers(math.ceil(steps / 2), steps + 1, size=batch)
        return np.arange(steps) < lengths[:, None]
    mask = rng.random((batch, steps)) >= HOLES
    mask[: max(1, batch // 8)] = False
    return mask


def mask_stats(mask: np.ndarray | None) -> dict[str, Any] | None:
    if mask is None:
        return None
    return {"masked_fraction": float(1.0 - mask.mean()),
            "fully_masked_rows": int(np.sum(~mask.any(axis=1))),
            "rows_with_masked_steps": int(np.sum(~mask.all(axis=1)))}


def row_shape(row: Row, shape: dict[str, int]) -> dict[str, int]:
    return {**shape, "batch": row.batch or shape["batch"]}


def padded_tokens(shape: dict[str, int], count: int, vocab: int,
                   rng: np.random.Generator) -> np.ndarray:
    """``count`` right-padded sequences of token ids in 1..vocab-1 (0 pads)."""
    tokens = rng.integers(1, vocab, size=(count, shape["steps"]), dtype=np.int32)
    return np.where(make_mask("padded", count, shape["steps"], rng), tokens, 0)


# -- what a row holds ----------------------------------------------------------------------------
def layer_classes(family: str) -> dict[str, type]:
    """The Keras layer and lstmkit's, by name, baseline first."""
    import keras

    import lstmkit

    baseline, ours = LAYERS[family]
    layer = {"lstm": "LSTM", "simple_rnn": "SimpleRNN", "gru": "GRU"}[family]
    return {baseline: getattr(keras.layers, layer), ours: getattr(lstmkit, layer)}


@dataclass
class Prepared:
    """A row built and checked: its runners by implementation name, and what was compared."""

    row: Row
    shape: dict[str, int]
    runners: dict[str, Runner]
    results: dict[str, dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)  # e.g. the mask's statistics
    inputs: tuple | None = None  # x, w, Keras weights (for the PyTorch peer)


def runners_for(row: Row, names: Iterable[str]) -> dict[str, Runner]:
    """One runner per implementation of ``row``, by name, with nothing to call yet (this module
    builds the networks itself: ``Config.make`` is not used)."""
    return {name: Runner(Config(f"{row.key}: {name}", row.family, lambda units: None),
                         lambda: None, lambda: None) for name in names}
