r"""The workload matrix of ``lstmkit bench``: lstmkit's layers against Keras' on what users run.

Each row is one workload, run twice, with ``keras.layers.LSTM`` (or ``GRU``, ``SimpleRNN``) and
with ``lstmkit.LSTM`` (or ``GRU``, ``SimpleRNN``) holding the same weights (``get_weights`` of
the Keras network, ``set_weights`` into lstmkit's). Before anything is timed, the two results are
compared: outputs and gradients (or, for the ``fit`` rows, the losses of every epoch) must agree
to :data:`TOLERANCE` times the largest Keras value (at least 1).

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

Layer rows time the forward pass (``net(x, training=False)``) and the training step (gradients of
:math:`\sum y \odot w` with respect to the weights), each in a ``tf.function``, all rows and the
PyTorch peer interleaved in the same rounds (:func:`lstmkit.timing.measure`). Fit rows are
timed after them, the Keras and lstmkit models alternately. Every ratio is
:math:`t_\text{Keras} / t_\text{lstmkit}`, the median over rounds (> 1: lstmkit is faster).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.timing import (
    GRU_BASELINE,
    LSTM_BASELINE,
    RNN_BASELINE,
    Config,
    Runner,
    first_line,
    max_diff,
    measure,
    progress,
    speedup,
    summary,
    sync,
)
from lstmkit.workloads_torch import TORCH_PEERS, load_torch, torch_functions

__all__ = ["FLOOR", "HOLES", "TARGET", "TOLERANCE", "Row", "make_mask", "matrix", "rows",
           "select"]

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
    chosen |= {_reference_key(r) for r in every if r.key in chosen and r.kind == "peer"}
    return [r for r in every if r.key in chosen]


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


def _mask_stats(mask: np.ndarray | None) -> dict[str, Any] | None:
    if mask is None:
        return None
    return {"masked_fraction": float(1.0 - mask.mean()),
            "fully_masked_rows": int(np.sum(~mask.any(axis=1))),
            "rows_with_masked_steps": int(np.sum(~mask.all(axis=1)))}


def _row_shape(row: Row, shape: dict[str, int]) -> dict[str, int]:
    return {**shape, "batch": row.batch or shape["batch"]}


def _padded_tokens(shape: dict[str, int], count: int, vocab: int,
                   rng: np.random.Generator) -> np.ndarray:
    """``count`` right-padded sequences of token ids in 1..vocab-1 (0 pads)."""
    tokens = rng.integers(1, vocab, size=(count, shape["steps"]), dtype=np.int32)
    return np.where(make_mask("padded", count, shape["steps"], rng), tokens, 0)


# -- networks ------------------------------------------------------------------------------------
def _classes(family: str) -> dict[str, type]:
    """The Keras layer and lstmkit's, by name, baseline first."""
    import keras

    import lstmkit

    baseline, ours = LAYERS[family]
    layer = {"lstm": "LSTM", "simple_rnn": "SimpleRNN", "gru": "GRU"}[family]
    return {baseline: getattr(keras.layers, layer), ours: getattr(lstmkit, layer)}


def _network(row: Row, cls: type, units: int) -> Any:
    """The layer (or small stack) of a layer row, unbuilt."""
    import keras

    options = {} if row.dtype == "float32" else {"dtype": row.dtype}
    if row.net == "stacked":
        return keras.Sequential([cls(units, return_sequences=True, **options),
                                 cls(units, **options)])
    if row.net == "bidirectional":
        return keras.layers.Bidirectional(cls(units, **options))
    return cls(units, **options)


def _layer_functions(net: Any, x: Any, mask: Any, w: Any) -> tuple[Callable, Callable]:
    """Forward and training-step ``tf.function``\\ s of a built network on fixed inputs."""
    import tensorflow as tf

    options = {} if mask is None else {"mask": mask}

    @tf.function
    def forward() -> Any:
        return net(x, training=False, **options)

    @tf.function
    def train() -> list:
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.cast(net(x, training=True, **options), tf.float32) * w)
        return tape.gradient(loss, net.trainable_variables)

    return forward, train


def _fit_model(cls: type, shape: dict[str, int], vocab: int | None) -> Any:
    """``[Embedding(vocab, features, mask_zero=True) ->] layer -> Dense(1)``, compiled."""
    import keras

    if vocab is None:  # float sequences of any length
        head = [keras.Input((None, shape["features"]))]
    else:
        head = [keras.Input((shape["steps"],), dtype="int32"),
                keras.layers.Embedding(vocab, shape["features"], mask_zero=True)]
    model = keras.Sequential([*head, cls(shape["units"]), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model


def _fit_pair(classes: dict[str, type], shape: dict[str, int], vocab: int | None,
              seed: int) -> dict[str, Any]:
    """Fresh Keras and lstmkit models, lstmkit's holding the Keras model's weights."""
    import keras

    keras.utils.set_random_seed(seed)
    models = {name: _fit_model(cls, shape, vocab) for name, cls in classes.items()}
    weights = next(iter(models.values())).get_weights()
    for model in models.values():
        model.set_weights(weights)
    return models


# -- parity --------------------------------------------------------------------------------------
def _largest(values: Any) -> float:
    import tensorflow as tf

    return max((float(np.max(np.abs(np.asarray(v, np.float64)))) for v in tf.nest.flatten(values)
                if np.size(v)), default=0.0)


def _as_float64(values: Any) -> list[np.ndarray]:
    import tensorflow as tf

    return [np.asarray(v, np.float64) for v in tf.nest.flatten(values)]


def _parity(reference: dict[str, Any], result: dict[str, Any], tolerance: float) -> dict[str, Any]:
    """Largest differences of ``result`` from ``reference`` (same keys), and whether each is
    within ``tolerance`` times the largest reference value (at least 1)."""
    check: dict[str, Any] = {"tolerance": tolerance}
    ok = True
    for key, ref in reference.items():
        diff = max_diff(_as_float64(result[key]), _as_float64(ref))
        scale = _largest(ref)
        check[f"{key}_max_abs_diff"], check[f"{key}_scale"] = diff, scale
        ok = ok and diff <= tolerance * max(1.0, scale)
    check["ok"] = bool(ok)
    return check


# -- layer rows ----------------------------------------------------------------------------------
@dataclass
class _Prepared:
    """A row built and checked: its runners by implementation name, and what was compared."""

    row: Row
    shape: dict[str, int]
    runners: dict[str, Runner]
    results: dict[str, dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)  # e.g. the mask's statistics
    inputs: tuple | None = None  # x, w, Keras weights (for the PyTorch peer)


def _runners(row: Row, names: Iterable[str]) -> dict[str, Runner]:
    """One runner per implementation of ``row``, by name, with nothing to call yet (this module
    builds the networks itself: ``Config.make`` is not used)."""
    return {name: Runner(Config(f"{row.key}: {name}", row.family, lambda units: None),
                         lambda: None, lambda: None) for name in names}


def _layer_row(row: Row, shape: dict[str, int], warmup: int, seed: int) -> _Prepared:
    """Build both implementations of a layer row, warm them up and keep their first results."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = tf.constant(rng.standard_normal((shape["batch"], shape["steps"], shape["features"]),
                                        dtype=np.float32))
    mask = None if row.mask is None else make_mask(row.mask, shape["batch"], shape["steps"], rng)
    width = shape["units"] * (2 if row.net == "bidirectional" else 1)
    w = tf.constant(rng.standard_normal((shape["batch"], width), dtype=np.float32))
    tf_mask = None if mask is None else tf.constant(mask)
    classes = _classes(row.family)
    prepared = _Prepared(row, shape, _runners(row, classes), {}, {"mask": _mask_stats(mask)})
    weights = None
    for name, cls in classes.items():
        runner = prepared.runners[name]
        try:
            keras.utils.set_random_seed(seed)
            net = _network(row, cls, shape["units"])
            net(x, mask=tf_mask)  # builds it
            if weights is None:
                weights = net.get_weights()
            else:
                net.set_weights(weights)
            runner.forward, runner.train = _layer_functions(net, x, tf_mask, w)
            prepared.results[name] = {"output": runner.forward(), "grads": runner.train()}
            for _ in range(warmup):
                sync(runner.forward())
                sync(runner.train())
        except Exception as err:  # a row that cannot run is reported, not fatal
            runner.error = first_line(err)
    prepared.inputs = (x, w, weights)
    return prepared


def _torch_row(row: Row, reference: _Prepared) -> _Prepared:
    """The PyTorch peer of ``row.family`` (:mod:`lstmkit.workloads_torch`) with the Keras
    layer's weights on the family's reference row's input; its runner has ``error`` set to a
    skip note when PyTorch is not installed."""
    name = TORCH_PEERS[row.family]
    prepared = _Prepared(row, reference.shape, _runners(row, [name]), {})
    runner = prepared.runners[name]
    torch = load_torch()
    if torch is None:
        runner.error = "skipped: torch is not installed (pip install torch)"
        return prepared
    x, w, weights = reference.inputs
    if weights is None:
        runner.error = (f"{LAYERS[row.family][0]} failed at the reference shape: nothing to "
                        "compare with")
        return prepared
    try:
        runner.forward, runner.train = torch_functions(torch, row.family, x, w, weights)
        prepared.results[name] = {"output": runner.forward(), "grads": runner.train()}
    except Exception as err:
        runner.error = first_line(err)
    return prepared


# -- fit rows ------------------------------------------------------------------------------------
def _alternate(pairs: list[tuple[str, Callable]], rounds: int) -> Iterator[tuple[str, Callable]]:
    """``(name, call)`` for ``rounds`` rounds, the order reversed every other round."""
    for k in range(rounds):
        yield from pairs if k % 2 == 0 else pairs[::-1]


def _fit_row(row: Row, shape: dict[str, int], sizes: dict[str, Any], rounds: int,
             seed: int) -> _Prepared:
    """Row d: a warm-up epoch, then ``rounds`` timed epochs of each model, alternately."""
    rng = np.random.default_rng(seed)
    count = sizes["fit_batches"] * shape["batch"]
    tokens = _padded_tokens(shape, count, sizes["vocab"], rng)
    targets = rng.standard_normal((count, 1)).astype(np.float32)
    classes = _classes(row.family)
    prepared = _Prepared(row, shape, _runners(row, classes), {},
                         {"mask": _mask_stats(tokens != 0)})
    try:
        models = _fit_pair(classes, shape, sizes["vocab"], seed)
        epochs = [(name, partial(_fit_epoch, model, tokens, targets, batch_size=shape["batch"]))
                  for name, model in models.items()]
        for _, epoch in epochs:
            epoch()  # warm-up: tracing and compilation
        _record(prepared, epochs, rounds, "fit epochs")
    except Exception as err:
        for runner in prepared.runners.values():
            runner.error = runner.error or first_line(err)
    return prepared


def _fit_epoch(model: Any, x: Any, y: Any = None, **options: Any) -> dict[str, float]:
    """One epoch of ``model.fit`` (in order, silent): the wall time from the call to the end of
    the epoch (``on_epoch_end``), and its loss.

    What ``fit`` does after the epoch is left out: it drops its ``tf.data`` iterator, and
    joining the iterator's autotuning thread takes 0.3 to 0.6 s in some runs and none in
    others, whatever the layer (seen with both Keras' and lstmkit's, gone with autotuning off).
    """
    import keras

    class EpochEnd(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.time = time.perf_counter()

    end = EpochEnd()
    start = time.perf_counter()
    history = model.fit(x, y, epochs=1, shuffle=False, verbose=0, callbacks=[end], **options)
    return {"seconds": end.time - start, "loss": float(history.history["loss"][0])}


def _record(prepared: _Prepared, calls: list[tuple[str, Callable[[], dict[str, float]]]],
            rounds: int, desc: str) -> None:
    """Run each call once per round, alternately (:func:`_alternate`); file the ``seconds``
    each returns as the runner's ``fit`` times and its ``loss`` as the result to compare."""
    losses: dict[str, list[float]] = {name: [] for name, _ in calls}
    plan = list(_alternate(calls, rounds))
    bar = progress(len(plan), f"{prepared.row.key}: {desc}")
    try:
        for name, call in plan:
            result = call()
            prepared.runners[name].times.setdefault("fit", []).append(result["seconds"])
            losses[name].append(result["loss"])
            bar.update()
    finally:
        bar.close()
    prepared.results = {name: {"loss": values} for name, values in losses.items()}


def _cold_batches(shape: dict[str, int], sizes: dict[str, Any],
                  rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, y) batches of ``cold_batch`` sequences, each batch its own length, from 20 % of the
    steps to all of them, in a shuffled order."""
    steps = shape["steps"]
    lengths = np.linspace(max(1, round(0.2 * steps)), steps, sizes["cold_batches"]).round()
    batch = sizes["cold_batch"]
    return [(rng.standard_normal((batch, int(t), shape["features"]), dtype=np.float32),
             rng.standard_normal((batch, 1), dtype=np.float32)) for t in rng.permutation(lengths)]


def _dataset(batches: list[tuple[np.ndarray, np.ndarray]], features: int) -> Any:
    """What a user feeds ``fit`` batches of varying length with: a generator-backed dataset
    (its number of batches declared, so ``fit`` knows where the epoch ends)."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_generator(
        lambda: iter(batches),
        output_signature=(tf.TensorSpec((None, None, features), tf.float32),
                          tf.TensorSpec((None, 1), tf.float32)))
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))


def cold_fit_epoch(name: str, shape: dict[str, int], sizes: dict[str, Any],
                   seed: int) -> dict[str, float]:
    """Row g's measurement, meant for a fresh process: build the Keras and lstmkit models
    (untimed; the lstmkit one gets the Keras weights) and time model ``name``'s first epoch.

    Returns:
        ``{"seconds": wall time of the epoch, "loss": its loss}``.
    """
    family = next(f for f, names in LAYERS.items() if name in names)
    batches = _cold_batches(shape, sizes, np.random.default_rng(seed))
    model = _fit_pair(_classes(family), shape, None, seed)[name]
    return _fit_epoch(model, _dataset(batches, shape["features"]))


def _in_fresh_process(function: str, **kwargs: Any) -> dict[str, float]:
    """``lstmkit.workloads.<function>(**kwargs)`` run in a new Python process (nothing traced,
    compiled or cached yet); its result, passed back as JSON on the last line of stdout."""
    import lstmkit

    code = ("import json, sys; from lstmkit import workloads; "
            f"print(json.dumps(workloads.{function}(**json.loads(sys.argv[1]))))")
    paths = [str(Path(lstmkit.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p),
           "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(kwargs)], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise RuntimeError(f"{function} in a fresh process failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cold_fit_row(row: Row, shape: dict[str, int], sizes: dict[str, Any], rounds: int,
                  seed: int) -> _Prepared:
    """Row g: each round, each model's first epoch in a fresh process, alternately."""
    classes = _classes(row.family)
    prepared = _Prepared(row, {**shape, "batch": sizes["cold_batch"]}, _runners(row, classes), {})
    batches = _cold_batches(shape, sizes, np.random.default_rng(seed))
    prepared.info["lengths"] = [int(x.shape[1]) for x, _ in batches]
    calls = [(name, partial(_in_fresh_process, "cold_fit_epoch", name=name, shape=shape,
                            sizes=sizes, seed=seed)) for name in classes]
    try:
        _record(prepared, calls, rounds, "cold fit epochs, fresh processes")
    except Exception as err:
        for runner in prepared.runners.values():
            runner.error = runner.error or first_line(err)
    return prepared


# -- the matrix ----------------------------------------------------------------------------------
def matrix(settings: dict[str, Any]) -> dict[str, Any]:
    """Build, check and time every row; the ``"workloads"`` part of ``bench.json``.

    Reads ``shape`` (the reference), ``rounds`` (layer rows), ``fit_rounds``, ``cold_rounds``,
    ``warmup``, ``seed``, ``quick`` and ``only`` (substrings of layer names: :func:`select`;
    optional) from ``settings``.
    """
    quick, seed, shape = settings["quick"], settings["seed"], settings["shape"]
    sizes = SIZES[quick]
    every = select(rows(quick), settings.get("only"))
    layer_rows = [r for r in every if r.kind == "layer"]
    prepared: dict[str, _Prepared] = {}
    bar = progress(len(layer_rows), "workloads: build and check")
    try:
        for row in layer_rows:
            prepared[row.key] = _layer_row(row, _row_shape(row, shape), settings["warmup"], seed)
            bar.update()
    finally:
        bar.close()
    for row in every:
        if row.kind == "peer":
            prepared[row.key] = _torch_row(row, prepared[_reference_key(row)])
    measure([r for p in prepared.values() for r in p.runners.values()], settings["rounds"], 0,
             None, "workloads: layers")
    for row in every:
        if row.kind == "fit":
            prepared[row.key] = _fit_row(row, shape, sizes, settings["fit_rounds"], seed)
        elif row.kind == "cold_fit":
            prepared[row.key] = _cold_fit_row(row, shape, sizes, settings["cold_rounds"], seed)
    return {
        "shape": shape,
        "sizes": sizes,
        "rounds": {"layers": settings["rounds"], "fit": settings["fit_rounds"],
                   "cold_fit": settings["cold_rounds"]},
        "targets": {"every_row": TARGET, "a_train": TARGET_REFERENCE_TRAIN, "floor": FLOOR},
        "tolerance": TOLERANCE,
        "rows": {row.key: _entry(prepared[row.key], prepared.get(_reference_key(row)))
                 for row in every},
    }


def _reference_key(row: Row) -> str:
    """The key of row a of ``row``'s family (its reference shape)."""
    return f"a{SUFFIX[row.family]}"


def _entry(prepared: _Prepared, reference_row: _Prepared | None) -> dict[str, Any]:
    """One row of the JSON: what ran, its parity check, times, ratios and the verdict
    (``reference_row``: the family's row a, which a PyTorch peer is compared with)."""
    row = prepared.row
    if row.kind == "peer":  # compared with the family's row a, timed in the same rounds
        base_name, source = LAYERS[row.family][0], reference_row
    else:
        base_name, source = LAYERS[row.family][0], prepared
    base = source.runners[base_name]
    name, ours = next((n, r) for n, r in prepared.runners.items() if n != base_name)
    entry: dict[str, Any] = {
        "key": row.key, "description": row.description, "family": row.family, "kind": row.kind,
        "net": row.net, "dtype": row.dtype, "shape": prepared.shape, **prepared.info,
        "baseline": base_name, "implementation": name, "targets": row.targets(), "floor": FLOOR,
        "error": None, "skipped": None, "parity": None, "times": {}, "ratios": {},
        "met_target": None, "below_floor": None,
    }
    if ours.error and ours.error.startswith("skipped: "):
        entry["skipped"] = ours.error.removeprefix("skipped: ")
        return entry
    errors = [f"{n}: {r.error}" for n, r in ((base_name, base), (name, ours)) if r.error]
    if errors:
        entry["error"] = "; ".join(errors)
        return entry
    modes = ("fit",) if row.kind in ("fit", "cold_fit") else ("forward", "train")
    entry["parity"] = _parity(source.results[base_name], prepared.results[name],
                              TOLERANCE[row.dtype])
    entry["times"] = {n: {m: {**summary(r.times[m]), "each_s": r.times[m]} for m in modes}
                      for n, r in ((base_name, base), (name, ours))}
    entry["ratios"] = {m: speedup(base.times[m], ours.times[m]) for m in modes}
    if row.kind == "peer":  # t_peer / t_lstmkit: > 1 is lstmkit faster than the peer
        ours_a = reference_row.runners[LAYERS[row.family][1]]
        entry["lstmkit_vs_peer"] = None if ours_a.error else {
            m: speedup(ours.times[m], ours_a.times[m]) for m in modes}
    if entry["targets"]:
        speed = {m: entry["ratios"][m]["speedup"] for m in modes}
        entry["met_target"] = entry["parity"]["ok"] and all(
            speed[m] >= target for m, target in entry["targets"].items())
        entry["below_floor"] = any(v < FLOOR for v in speed.values())
    return entry
