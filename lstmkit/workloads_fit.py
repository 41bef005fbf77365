r"""The ``fit`` rows of the workload matrix (:mod:`lstmkit.workloads`): row d, warm ``fit``
epochs of ``Embedding(mask_zero=True) -> layer -> Dense``, timed in this process; row g, a first
``fit`` epoch over batches of changing length, each in a fresh Python process (nothing traced,
compiled or cached yet). The Keras and lstmkit models hold the same weights and run alternately;
their losses are the results compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.timing import first_line, progress
from lstmkit.workload_rows import (
    LAYERS,
    Prepared,
    Row,
    layer_classes,
    mask_stats,
    padded_tokens,
    runners_for,
)

__all__ = ["cold_fit_epoch", "cold_fit_row", "fit_row"]


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


# -- fit rows ------------------------------------------------------------------------------------
def _alternate(pairs: list[tuple[str, Callable]], rounds: int) -> Iterator[tuple[str, Callable]]:
    """``(name, call)`` for ``rounds`` rounds, the order reversed every other round."""
    for k in range(rounds):
        yield from pairs if k % 2 == 0 else pairs[::-1]


def fit_row(row: Row, shape: dict[str, int], sizes: dict[str, Any], rounds: int,
             seed: int) -> Prepared:
    """Row d: a warm-up epoch, then ``rounds`` timed epochs of each model, alternately."""
    rng = np.random.default_rng(seed)
    count = sizes["fit_batches"] * shape["batch"]
    tokens = padded_tokens(shape, count, sizes["vocab"], rng)
    targets = rng.standard_normal((count, 1)).astype(np.float32)
    classes = layer_classes(row.family)
    prepared = Prepared(row, shape, runners_for(row, classes), {},
                         {"mask": mask_stats(tokens != 0)})
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


def _record(prepared: Prepared, calls: list[tuple[str, Callable[[], dict[str, float]]]],
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
    model = _fit_pair(layer_classes(family), shape, None, seed)[name]
    return _fit_epoch(model, _dataset(batches, shape["features"]))


def _in_fresh_process(function: str, **kwargs: Any) -> dict[str, float]:
    """``lstmkit.workloads_fit.<function>(**kwargs)`` run in a new Python process (nothing traced,
    compiled or cached yet); its result, passed back as JSON on the last line of stdout."""
    import lstmkit

    code = ("import json, sys; from lstmkit import workloads_fit; "
            f"print(json.dumps(workloads_fit.{function}(**json.loads(sys.argv[1]))))")
    paths = [str(Path(lstmkit.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p),
           "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(kwargs)], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise RuntimeError(f"{function} in a fresh process failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_fit_row(row: Row, shape: dict[str, int], sizes: dict[str, Any], rounds: int,
                  seed: int) -> Prepared:
    """Row g: each round, each model's first epoch in a fresh process, alternately."""
    classes = layer_classes(row.family)
    prepared = Prepared(row, {**shape, "batch": sizes["cold_batch"]},
                        runners_for(row, classes), {})
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
