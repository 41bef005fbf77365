r"""``lstmkit bench``: lstmkit's recurrent layers timed side by side with Keras' own.

Every configuration computes the same function with the same weights (copied from the baseline
of its family: ``keras.layers.LSTM``, ``keras.layers.GRU`` or ``keras.layers.SimpleRNN``), on
the same input, and the command checks
that before timing anything: each entry of the JSON records the largest absolute difference of
its output and of its gradients from the baseline's.

Two measurements per configuration:

- **forward**: ``layer(x, training=False)`` (inference);
- **train**: forward and backward, the gradients of :math:`L = \sum y \odot w` (a fixed random
  :math:`w`) with respect to the layer's weights. No optimizer update: it would add the same
  small cost to every entry.

All configurations run in one process, in *interleaved rounds*: each round times every
configuration once, in an order rotated from round to round, so a slow spell of a shared machine
hits all of them alike, and each timed call follows an untimed call of the same function, so
that what ran before it does not count (:func:`lstmkit.timing.time_once`). Warm-up calls
(tracing, XLA compilation) are excluded. Each time is
reported as the median over rounds with its quartiles; the speed-up of a configuration is the
median over rounds of :math:`t_\text{baseline} / t` measured in the same round (so > 1 means
faster than Keras).

Effective rate. Only the matrix products are counted: with :math:`G` gates (4 for the LSTM, 3
for the GRU, 1 for the simple RNN), batch :math:`B`, :math:`T` steps, :math:`D` features and
:math:`H` units,

.. math::

    F_\text{forward} = 2\,T B\,G H\,(D + H), \qquad F_\text{train} = 3\,F_\text{forward}

(the backward pass costs two forward products: one for the gradient flowing back, one for the
weights). ``GFLOP/s`` is :math:`F / t`, and ``matmul fraction`` divides it by the rate of one
large square float32 product timed in the same rounds: the practical ceiling of the machine.

Sweeps over the number of steps and the batch size time the two LSTMs and the two simple RNNs;
for the steps sweep a least-squares line :math:`t \approx a + b\,T` is fitted with its
:math:`R^2` (a recurrence should be linear in :math:`T`; a quadratic backward pass shows up
here).

Then the *workload matrix* (:mod:`lstmkit.workloads`): masks, ``fit`` epochs (warm and cold),
stacked and bidirectional layers, batch 1 and 256, ``mixed_float16``, SimpleRNN and GRU rows,
``torch.nn.LSTM`` and ``torch.nn.GRU`` peers, each row checked equal to Keras and graded against
the issue's targets. ``--workloads`` runs only the matrix, ``--no-workloads`` skips it;
``--only`` chooses configurations and rows by the names of their layers. Results go to
``DIR/bench.json`` (key ``"workloads"`` for the matrix) and ``DIR/bench.png`` (reference shape
and sweeps).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from lstmkit import bench_report, provenance, workloads
from lstmkit.timing import (
    BASELINES,
    GRU_BASELINE,
    LSTM_BASELINE,
    RNN_BASELINE,
    Config,
    Runner,
    first_line,
    max_diff,
    measure,
    speedup,
    summary,
    sync,
)
from lstmkit_cli.arguments import REFERENCE, SWEEP_BATCH, SWEEP_STEPS, add_bench_arguments

__all__ = ["add_arguments", "cudnn_speedups", "linear_fit", "matmul_flops", "recurrent_flops",
           "run"]

QUICK = {"batch": 4, "steps": 6, "features": 3, "units": 5}
SWEPT = ("lstmkit.LSTM", LSTM_BASELINE, "lstmkit.SimpleRNN", RNN_BASELINE)
#: Gates of each family: the G of :func:`recurrent_flops`.
GATES = {"lstm": 4, "simple_rnn": 1, "gru": 3}


def recurrent_flops(gates: int, batch: int, steps: int, features: int, units: int) -> int:
    r"""Matrix-product FLOPs of one forward pass: :math:`2\,T B\,G H (D + H)`."""
    return 2 * steps * batch * gates * units * (features + units)


def matmul_flops(n: int) -> int:
    """FLOPs of one (n, n) @ (n, n) product: :math:`2 n^3`."""
    return 2 * n**3


def linear_fit(x: list[float], y: list[float]) -> dict[str, float]:
    r"""Least-squares line :math:`y \approx a + b x` and its coefficient of determination.

    .. math::

        R^2 = 1 - \frac{\sum (y - a - b x)^2}{\sum (y - \bar y)^2}

    Returns:
        ``{"intercept": a, "slope": b, "r2": R^2}`` (``r2`` is 1.0 when all ``y`` are equal).
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    slope, intercept = np.polyfit(xs, ys, 1)
    residual = float(np.sum((ys - intercept - slope * xs) ** 2))
    total = float(np.sum((ys - ys.mean()) ** 2))
    return {
        "intercept": float(intercept),
        "slope": float(slope),
        "r2": 1.0 - residual / total if total > 0 else 1.0,
    }


# -- configurations ------------------------------------------------------------------------------
def _configs(gpu: bool, xla: bool) -> list[Config]:
    """Every configuration of the issue, baselines included, in report order."""
    import keras

    import lstmkit
    from lstmkit.gru import GRU
    from lstmkit.layers import LSTM, SimpleRNN

    cudnn = "cuDNN" if gpu else "generic loop"
    lstm = [
        Config("lstmkit.LSTMCell (eager Python loop)", "lstm", lstmkit.LSTMCell, eager=True),
        Config("RNN(lstmkit.LSTMCell)", "lstm", lambda u: keras.layers.RNN(lstmkit.LSTMCell(u))),
        Config("lstmkit.LSTM", "lstm", LSTM),
        Config(
            "RNN(keras.layers.LSTMCell), implementation=2",
            "lstm",
            lambda u: keras.layers.RNN(keras.layers.LSTMCell(u)),
        ),
        Config(
            "RNN(keras.layers.LSTMCell), implementation=1",
            "lstm",
            lambda u: keras.layers.RNN(keras.layers.LSTMCell(u, implementation=1)),
        ),
        Config(LSTM_BASELINE, "lstm", keras.layers.LSTM, note=cudnn),
    ]
    if gpu:
        lstm += [
            Config(
                "keras.layers.LSTM(use_cudnn=False)",
                "lstm",
                lambda u: keras.layers.LSTM(u, use_cudnn=False),
            ),
            Config("lstmkit.LSTM(use_cudnn=False)", "lstm", lambda u: LSTM(u, use_cudnn=False)),
        ]
    rnn = [
        Config(
            "RNN(lstmkit.RNNCell)", "simple_rnn", lambda u: keras.layers.RNN(lstmkit.RNNCell(u))
        ),
        Config("lstmkit.SimpleRNN", "simple_rnn", SimpleRNN),
        Config(
            "RNN(keras.layers.SimpleRNNCell)",
            "simple_rnn",
            lambda u: keras.layers.RNN(keras.layers.SimpleRNNCell(u)),
        ),
        Config(RNN_BASELINE, "simple_rnn", keras.layers.SimpleRNN),
    ]
    gru = [
        Config("RNN(lstmkit.GRUCell)", "gru", lambda u: keras.layers.RNN(lstmkit.GRUCell(u))),
        Config("lstmkit.GRU", "gru", GRU),
        Config(
            "RNN(keras.layers.GRUCell)", "gru", lambda u: keras.layers.RNN(keras.layers.GRUCell(u))
        ),
        Config(GRU_BASELINE, "gru", keras.layers.GRU, note=cudnn),
    ]
    if gpu:
        gru += [
            Config(
                "keras.layers.GRU(use_cudnn=False)",
                "gru",
                lambda u: keras.layers.GRU(u, use_cudnn=False),
            ),
            Config("lstmkit.GRU(use_cudnn=False)", "gru", lambda u: GRU(u, use_cudnn=False)),
        ]
    configs = lstm + rnn + gru
    if xla:
        configs += [
            Config(c.name + " + XLA", c.family, c.make, xla=True, note=c.note)
            for c in configs
            if not c.eager
        ]
    return configs


# -- building and checking ------------------------------------------------------------------------
def _build(config: Config, x: Any, w: Any, weights: list | None) -> tuple[Any, list]:
    """Build ``config``'s layer (or cell) on ``x``; copy ``weights`` in; return it and them."""
    layer = config.make(w.shape[-1])
    if config.eager:
        layer(x[:, 0], layer.get_initial_state(x.shape[0]))
    else:
        layer(x)
    if weights is not None:
        layer.set_weights(weights)
    return layer, layer.get_weights()


def _functions(config: Config, layer: Any, x: Any, w: Any) -> tuple[Callable, Callable]:
    """The forward and training-step callables of a built layer on fixed inputs."""
    import tensorflow as tf

    if config.eager:

        def forward() -> Any:
            states = layer.get_initial_state(x.shape[0])
            for x_t in tf.unstack(x, axis=1):
                out, states = layer(x_t, states, training=False)
            return out

    else:

        def forward() -> Any:
            return layer(x, training=False)

    def train() -> list:
        with tf.GradientTape() as tape:
            out = forward() if config.eager else layer(x, training=True)
            loss = tf.reduce_sum(out * w)
        return tape.gradient(loss, layer.trainable_variables)

    if config.eager:
        return forward, train
    return (
        tf.function(forward, jit_compile=config.xla),
        tf.function(train, jit_compile=config.xla),
    )


def _prepare(
    configs: list[Config], shape: dict[str, int], warmup: int, seed: int
) -> tuple[list[Runner], dict[str, dict[str, float]]]:
    """Build every configuration at ``shape``, warm it up and compare it with its baseline.

    Returns the runners (a configuration that fails to build, trace or compile keeps its
    ``error`` and is not timed) and, per name, the largest differences from the baseline.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    x = tf.random.normal((shape["batch"], shape["steps"], shape["features"]))
    w = tf.random.normal((shape["batch"], shape["units"]))
    weights: dict[str, list] = {}
    reference: dict[str, tuple[Any, Any]] = {}
    ordered = sorted(configs, key=lambda c: c.name not in BASELINES.values())  # baselines first
    runners, checks = {}, {}
    for config in ordered:
        runner = Runner(config, lambda: None, lambda: None)
        runners[config.name] = runner
        try:
            layer, built = _build(config, x, w, weights.get(config.family))
            weights.setdefault(config.family, built)
            runner.forward, runner.train = _functions(config, layer, x, w)
            results = (runner.forward(), runner.train())
            for _ in range(warmup):
                sync(runner.forward())
                sync(runner.train())
        except Exception as err:  # a configuration that cannot run is reported, not fatal
            runner.error = first_line(err)
            continue
        if config.name == BASELINES[config.family]:
            reference[config.family] = results
        base = reference.get(config.family)
        if base is not None:
            checks[config.name] = {
                "output_max_abs_diff": max_diff(results[0], base[0]),
                "grads_max_abs_diff": max_diff(results[1], base[1]),
            }
    return [runners[c.name] for c in configs], checks


# -- the command ---------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lstmkit bench`` (declared, and their values checked, in
    :mod:`lstmkit_cli.arguments`, which imports no TensorFlow)."""
    add_bench_arguments(parser)


def _option(args: argparse.Namespace, name: str, default: int) -> int:
    """The value of ``--name``, ``default`` when not given (the parser checked the value)."""
    value = getattr(args, name.replace("-", "_"))
    return default if value is None else value


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """Resolve the defaults, which depend on ``--quick``."""
    quick = args.quick
    base = QUICK if quick else REFERENCE
    sweeps = not (args.no_sweeps or args.workloads)
    sweep_steps = args.sweep_steps or ([3, 6] if quick else list(SWEEP_STEPS))
    sweep_batch = args.sweep_batch or ([2] if quick else list(SWEEP_BATCH))
    return {
        "shape": {k: _option(args, k, v) for k, v in base.items()},
        "rounds": _option(args, "rounds", 2 if quick else 10),
        "eager_rounds": _option(args, "eager-rounds", 1 if quick else 3),
        "warmup": _option(args, "warmup", 1 if quick else 2),
        "sweep_steps": sweep_steps if sweeps else [],
        "sweep_batch": sweep_batch if sweeps else [],
        "sweep_rounds": _option(args, "sweep-rounds", 1 if quick else 5),
        "xla": not args.no_xla,
        "matmul_size": _option(args, "matmul-size", 128 if quick else 2048),
        "workloads": "only" if args.workloads else "skip" if args.no_workloads else "also",
        "fit_rounds": _option(args, "fit-rounds", 1 if quick else 5),
        "cold_rounds": _option(args, "cold-rounds", 1 if quick else 3),
        "only": args.only,
        "seed": args.seed,
        "quick": quick,
    }


def _machine() -> dict[str, Any]:
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": provenance.cpu_name(),
        "cpu_flags": provenance.cpu_flags(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "gpus": [tf.config.experimental.get_device_details(g).get("device_name", g.name)
                 for g in gpus],
        "load_average_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _matmul_runner(n: int) -> Runner:
    import tensorflow as tf

    a = tf.random.normal((n, n))
    product = tf.function(lambda: tf.matmul(a, a))
    config = Config(f"matmul {n}x{n}", "matmul", lambda u: None)
    sync(product())
    return Runner(config, product, product)


def _reference(settings: dict[str, Any], configs: list[Config]) -> dict[str, Any]:
    """Check and time every configuration at the reference shape."""
    shape = settings["shape"]
    runners, checks = _prepare(configs, shape, settings["warmup"], settings["seed"])
    matmul = _matmul_runner(settings["matmul_size"])
    measure(runners, settings["rounds"], settings["eager_rounds"], matmul, "reference shape")
    matmul_rate = matmul_flops(settings["matmul_size"]) / float(np.median(matmul.times["forward"]))
    flops = {
        family: recurrent_flops(gates, shape["batch"], shape["steps"], shape["features"],
                                shape["units"])
        for family, gates in GATES.items()
    }
    base = {r.config.family: r for r in runners
            if r.config.name == BASELINES[r.config.family] and r.error is None}
    entries = []
    for runner in runners:
        c = runner.config
        entry: dict[str, Any] = {
            "name": c.name, "family": c.family, "xla": c.xla, "eager": c.eager, "note": c.note,
            "baseline": c.name == BASELINES[c.family], "error": runner.error,
            "check": checks.get(c.name),
        }
        if runner.error is None:
            for mode, factor in (("forward", 1), ("train", 3)):
                stats = summary(runner.times[mode])
                rate = factor * flops[c.family] / stats["median_s"]
                stats.update(gflops=rate / 1e9, matmul_fraction=rate / matmul_rate)
                if c.family in base:
                    stats.update(speedup(base[c.family].times[mode], runner.times[mode]))
                entry[mode] = stats
        entries.append(entry)
    return {
        "shape": shape,
        "flops_forward": flops,
        "matmul": {"n": settings["matmul_size"], "gflops": matmul_rate / 1e9,
                   **summary(matmul.times["forward"])},
        "configs": entries,
    }


def _sweep(
    settings: dict[str, Any], configs: list[Config], axis: str, values: list[int]
) -> dict[str, Any]:
    """Time the swept configurations at each value of one shape parameter."""
    chosen = [c for c in configs if c.name in SWEPT]
    result: dict[str, Any] = {"values": values, "configs": {c.name: {
        "forward": [], "train": [], "error": None} for c in chosen}}
    for value in values:
        shape = {**settings["shape"], axis: value}
        runners, _ = _prepare(chosen, shape, settings["warmup"], settings["seed"])
        measure(runners, settings["sweep_rounds"], 0, None, f"sweep {axis}={value}")
        for runner in runners:
            row = result["configs"][runner.config.name]
            row["error"] = row["error"] or runner.error
            for mode in ("forward", "train"):
                times = runner.times[mode]
                row[mode].append(float(np.median(times)) if times else None)
    if axis == "steps" and len(values) >= 2:
        for row in result["configs"].values():
            row["fit"] = {mode: linear_fit(values, row[mode]) for mode in ("forward", "train")
                          if None not in row[mode]}
    return result


def cudnn_speedups(entries: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    r"""What cuDNN brings: :math:`t_\text{use\_cudnn=False} / t_\text{auto}` per layer and mode.

    Only for layers timed both ways (``keras.layers.LSTM``, ``lstmkit.LSTM``,
    ``keras.layers.GRU`` and ``lstmkit.GRU``, on a GPU); empty otherwise. Ratios of the medians
    of the reference-shape entries.
    """
    timed = {e["name"]: e for e in entries if e["error"] is None}
    result = {}
    for layer in (LSTM_BASELINE, "lstmkit.LSTM", GRU_BASELINE, "lstmkit.GRU"):
        off = timed.get(f"{layer}(use_cudnn=False)")
        if layer in timed and off is not None:
            result[layer] = {mode: off[mode]["median_s"] / timed[layer][mode]["median_s"]
                             for mode in ("forward", "train")}
    return result


def _chosen(configs: list[Config], settings: dict[str, Any]) -> list[Config] | None:
    """The configurations ``--only`` names, with the baselines of their families; ``None``
    (after one line on stderr) when a substring matches no configuration and no matrix row
    that runs (a typo would silently time the baselines alone)."""
    only = settings["only"]
    names = [c.name for c in configs]
    if settings["workloads"] != "skip":
        names += [n for r in workloads.rows(settings["quick"]) for n in r.names()]
    unknown = [s for s in only if not any(s in n for n in names)]
    if unknown:
        print(f"lstmkit bench: error: argument --only: {', '.join(map(repr, unknown))} "
              f"matches no configuration; they are: {', '.join(dict.fromkeys(names))}",
              file=sys.stderr)
        return None
    chosen = {c.name for c in configs if any(s in c.name for s in only)}
    families = {c.family for c in configs if c.name in chosen}
    return [c for c in configs if c.name in chosen  # and the baselines they are compared with
            or (c.family in families and c.name == BASELINES[c.family])]


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; write ``bench.json`` to ``args.out``, and ``bench.png`` of the
    reference shape and sweeps unless only the workload matrix ran."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # every configuration traces its own functions: expected
    settings = _settings(args)
    args.out.mkdir(parents=True, exist_ok=True)  # before the work (the parser checked --out)
    machine = _machine()
    gpu = bool(machine["gpus"])
    print(f"Machine: {provenance.cpu_model()}; TensorFlow {machine['tensorflow']}, "
          f"Keras {machine['keras']}.")
    if not gpu:
        print("No GPU visible: keras.layers.LSTM and GRU run their generic loops (not cuDNN), "
              "and the cuDNN comparison (use_cudnn=False entries) is skipped. On a machine with "
              "an NVIDIA GPU, `pip install -e .[gpu]` and run `lstmkit bench` again.")
    report: dict[str, Any] = {"machine": machine, "settings": settings, "reference": None,
                              "cudnn_speedup": {}, "sweeps": {}, "workloads": None}
    configs = _configs(gpu, settings["xla"]) if settings["workloads"] != "only" else []
    if settings["only"]:
        configs = _chosen(configs, settings)
        if configs is None:
            return 2
    if configs:
        report["reference"] = _reference(settings, configs)
        report["cudnn_speedup"] = cudnn_speedups(report["reference"]["configs"])
        for axis in ("steps", "batch"):
            values = settings[f"sweep_{axis}"]
            if values and any(c.name in SWEPT for c in configs):
                report["sweeps"][axis] = _sweep(settings, configs, axis, values)
    if settings["workloads"] != "skip":
        report["workloads"] = workloads.matrix(settings)
    machine["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    written = [args.out / "bench.json"]
    written[0].write_text(json.dumps(report, indent=1), encoding="utf-8")
    if report["reference"] is not None:
        written.append(args.out / "bench.png")
        bench_report.plot(report, written[1])
        print(bench_report.summary(report))
    if report["workloads"] is not None:
        print(bench_report.workloads_table(report["workloads"]))
    print(f"Wrote {' and '.join(map(str, written))}")
    return 0
