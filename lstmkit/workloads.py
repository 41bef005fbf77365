r"""The workload matrix of ``lstmkit bench``: lstmkit's layers against Keras' on what users run.

Each row is one workload, run twice, with ``keras.layers.LSTM`` (or ``GRU``, ``SimpleRNN``) and
with ``lstmkit.LSTM`` (or ``GRU``, ``SimpleRNN``) holding the same weights (``get_weights`` of
the Keras network, ``set_weights`` into lstmkit's). Before anything is timed, the two results are
compared: outputs and gradients (or, for the ``fit`` rows, the losses of every epoch) must agree
to :data:`TOLERANCE` times the largest Keras value (at least 1).

The rows are defined in :mod:`lstmkit.workload_rows`; the ``fit`` rows are timed by
:mod:`lstmkit.workloads_fit`.

Layer rows time the forward pass (``net(x, training=False)``) and the training step (gradients of
:math:`\sum y \odot w` with respect to the weights), each in a ``tf.function``, all rows and the
PyTorch peer interleaved in the same rounds (:func:`lstmkit.timing.measure`). Fit rows are
timed after them, the Keras and lstmkit models alternately. Every ratio is
:math:`t_\text{Keras} / t_\text{lstmkit}`, the median over rounds (> 1: lstmkit is faster).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lstmkit.timing import first_line, max_diff, measure, progress, speedup, summary, sync
from lstmkit.workload_rows import (
    FLOOR,
    HOLES,
    LAYERS,
    SIZES,
    TARGET,
    TARGET_REFERENCE_TRAIN,
    TOLERANCE,
    Prepared,
    Row,
    layer_classes,
    make_mask,
    mask_stats,
    reference_key,
    row_shape,
    rows,
    runners_for,
    select,
)
from lstmkit.workloads_fit import cold_fit_row, fit_row
from lstmkit.workloads_torch import TORCH_PEERS, load_torch, torch_functions

__all__ = ["FLOOR", "HOLES", "SIZES", "TARGET", "TOLERANCE", "Row", "make_mask", "matrix", "rows",
           "select"]


# -- networks ------------------------------------------------------------------------------------
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
def _layer_row(row: Row, shape: dict[str, int], warmup: int, seed: int) -> Prepared:
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
    classes = layer_classes(row.family)
    prepared = Prepared(row, shape, runners_for(row, classes), {}, {"mask": mask_stats(mask)})
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


def _torch_row(row: Row, reference: Prepared) -> Prepared:
    """The PyTorch peer of ``row.family`` (:mod:`lstmkit.workloads_torch`) with the Keras
    layer's weights on the family's reference row's input; its runner has ``error`` set to a
    skip note when PyTorch is not installed."""
    name = TORCH_PEERS[row.family]
    prepared = Prepared(row, reference.shape, runners_for(row, [name]), {})
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
    prepared: dict[str, Prepared] = {}
    bar = progress(len(layer_rows), "workloads: build and check")
    try:
        for row in layer_rows:
            prepared[row.key] = _layer_row(row, row_shape(row, shape), settings["warmup"], seed)
            bar.update()
    finally:
        bar.close()
    for row in every:
        if row.kind == "peer":
            prepared[row.key] = _torch_row(row, prepared[reference_key(row)])
    measure([r for p in prepared.values() for r in p.runners.values()], settings["rounds"], 0,
             None, "workloads: layers")
    for row in every:
        if row.kind == "fit":
            prepared[row.key] = fit_row(row, shape, sizes, settings["fit_rounds"], seed)
        elif row.kind == "cold_fit":
            prepared[row.key] = cold_fit_row(row, shape, sizes, settings["cold_rounds"], seed)
    return {
        "shape": shape,
        "sizes": sizes,
        "rounds": {"layers": settings["rounds"], "fit": settings["fit_rounds"],
                   "cold_fit": settings["cold_rounds"]},
        "targets": {"every_row": TARGET, "a_train": TARGET_REFERENCE_TRAIN, "floor": FLOOR},
        "tolerance": TOLERANCE,
        "rows": {row.key: _entry(prepared[row.key], prepared.get(reference_key(row)))
                 for row in every},
    }


def _entry(prepared: Prepared, reference_row: Prepared | None) -> dict[str, Any]:
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
