"""Interleaved timing for ``lstmkit bench``: what is timed (:class:`Config`, :class:`Runner`),
in which order (:func:`interleaved`: every runner once a round, the order rotated from round to
round, so a slow spell of a shared machine hits all of them alike), and the statistics reported
(:func:`summary` of times, :func:`speedup` of paired times).

:mod:`lstmkit.bench` (reference shape and sweeps) and :mod:`lstmkit.workloads` (the workload
matrix) time their runners with :func:`measure`.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BASELINES", "GRU_BASELINE", "LSTM_BASELINE", "RNN_BASELINE", "Config", "Runner",
           "first_line", "interleaved", "max_diff", "measure", "progress", "speedup", "summary",
           "sync", "time_once"]

#: The layers every speed-up is measured against.
LSTM_BASELINE = "keras.layers.LSTM"
RNN_BASELINE = "keras.layers.SimpleRNN"
GRU_BASELINE = "keras.layers.GRU"
#: The baseline of each family of layers.
BASELINES = {"lstm": LSTM_BASELINE, "simple_rnn": RNN_BASELINE, "gru": GRU_BASELINE}


@dataclass
class Config:
    """One way of computing the baseline's function.

    ``make(units)`` returns a fresh layer mapping (batch, steps, features) to (batch, units).
    ``eager`` configurations run a Python loop over the steps without ``tf.function``.
    """

    name: str
    family: str  # a key of BASELINES: "lstm", "simple_rnn" or "gru"
    make: Callable[[int], Any]
    xla: bool = False
    eager: bool = False
    note: str = ""


def sync(result: Any) -> None:
    """Wait for a result (GPU work is asynchronous): copy every tensor of it to the host."""
    import tensorflow as tf

    for tensor in tf.nest.flatten(result):
        np.asarray(tensor)


@dataclass
class Runner:
    """A configuration built at one shape: its forward and training-step functions."""

    config: Config
    forward: Callable[[], Any]
    train: Callable[[], Any]
    error: str | None = None
    times: dict[str, list[float]] = field(default_factory=lambda: {"forward": [], "train": []})


def max_diff(a: Any, b: Any) -> float:
    """Largest absolute difference between two (nests of) tensors of equal structure."""
    import tensorflow as tf

    flat_a, flat_b = tf.nest.flatten(a), tf.nest.flatten(b)
    if len(flat_a) != len(flat_b):
        return float("inf")
    return max(
        float(np.max(np.abs(np.asarray(p) - np.asarray(q)))) if np.shape(p) == np.shape(q)
        else float("inf")
        for p, q in zip(flat_a, flat_b, strict=True)
    )


def first_line(err: BaseException) -> str:
    """``Type: first line of the message`` of an exception, at most 300 characters."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def interleaved(runners: list[Runner], rounds: int, eager_rounds: int) -> Iterator[Runner]:
    """Runners in interleaved order, rotated by one configuration every round."""
    live = [r for r in runners if r.error is None]
    for k in range(rounds):
        shift = k % len(live) if live else 0
        for runner in live[shift:] + live[:shift]:
            if k < (eager_rounds if runner.config.eager else rounds):
                yield runner


def time_once(runner: Runner) -> None:
    """Time one forward call and one training step of ``runner``, each right after an untimed
    call of the same function; append to its times.

    The untimed call leaves the machine as a loop of such calls keeps it (caches, allocations),
    whatever ran before. Timed right after another configuration instead, a call runs slower by
    an amount that depends on that configuration, and interleaved rounds keep each runner's
    predecessor round after round (:func:`interleaved` rotates one cyclic order), so the bias
    does not average out: on the 2-core Xeon of the README, ``lstmkit.LSTM``'s training step
    took 19.2 ms right after ``keras.layers.LSTM``'s, 18.2 ms after its own forward pass and
    16.6 ms after its own step (Keras' 33.2, 32.6 and 31.9 ms)."""
    for mode in ("forward", "train"):
        fn = getattr(runner, mode)
        sync(fn())
        start = time.perf_counter()
        sync(fn())
        runner.times[mode].append(time.perf_counter() - start)


def summary(times: list[float]) -> dict[str, float]:
    """Median, quartiles and minimum of ``times`` (seconds), and how many there are."""
    q1, median, q3 = np.percentile(times, [25, 50, 75])
    return {
        "median_s": float(median),
        "q1_s": float(q1),
        "q3_s": float(q3),
        "min_s": float(np.min(times)),
        "rounds": len(times),
    }


def speedup(base: list[float], times: list[float]) -> dict[str, float]:
    """Median (and quartiles) over rounds of ``base / time`` paired round by round, and the
    ratio of the best times (``speedup_best``: on a busy machine delays only add time, so the
    minima estimate the undisturbed costs)."""
    ratios = np.asarray(base[: len(times)]) / np.asarray(times)
    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    return {"speedup": float(median), "speedup_q1": float(q1), "speedup_q3": float(q3),
            "speedup_best": float(np.min(base) / np.min(times))}


def progress(total: int, desc: str) -> Any:
    """A tqdm progress bar: a widget in a Jupyter kernel that has ipywidgets, text on stderr
    elsewhere (never tqdm's "IProgress not found" warning); a silent stand-in when tqdm is not
    installed. ``TQDM_DISABLE=1`` turns it off (ci/notebooks.sh: no bar in stored outputs)."""
    try:
        if importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.auto import tqdm
        else:  # tqdm.auto would warn in a kernel and fall back to text; go to text directly
            from tqdm.std import tqdm
    except ImportError:  # tqdm is a dev extra; the command works without it

        class _Silent:
            def update(self, n: int = 1) -> None:
                """Nothing to draw."""

            def close(self) -> None:
                """Nothing to close."""

        return _Silent()
    # tqdm reads TQDM_DISABLE itself, but its notebook bar ignores it: passed to both kinds.
    disable = os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false")
    return tqdm(total=total, desc=desc, unit="run", leave=False, disable=disable)


def measure(
    runners: list[Runner], rounds: int, eager_rounds: int, matmul: Runner | None, desc: str
) -> None:
    """Time every runner in interleaved rounds (the matmul probe is timed in each round too)."""
    everyone = runners + ([matmul] if matmul is not None else [])
    plan = list(interleaved(everyone, rounds, eager_rounds))
    bar = progress(len(plan), desc)
    try:
        for runner in plan:
            time_once(runner)
            bar.update()
    finally:
        bar.close()
