"""``lstmkit bench``: the JSON it writes, the plot, and that every path computes Keras' function.

Two ``--quick`` runs (tiny shapes, few rounds) are shared by the tests: every configuration at
the reference shape (XLA variants included), and a short one with the sweeps. No timing is
asserted, only that times were taken and reported.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json

import numpy as np
import pytest
import tensorflow as tf

from lstmkit import bench
from lstmkit.cli import main

ATOL = 1e-5


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert main(["bench", "--quick", "--no-sweeps", "--no-workloads", "--out", str(out)]) == 0
    report = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    return out, report


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """Only lstmkit.SimpleRNN and the baselines, no XLA, with the sweeps; console captured."""
    out = tmp_path_factory.mktemp("bench_sweeps")
    # three sweep steps, so that the fit's R^2 is not 1 by construction as through two points
    argv = ["bench", "--quick", "--no-xla", "--only", "lstmkit.SimpleRNN", "--no-workloads",
            "--sweep-steps", "3,5,8", "--out", str(out)]
    with contextlib.redirect_stdout(io.StringIO()) as console:
        assert main(argv) == 0
    report = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    return out, report, console.getvalue()


def _entries(report):
    return {e["name"]: e for e in report["reference"]["configs"]}


@pytest.mark.slow  # runs the bench
def test_json_top_level(quick):
    _, report = quick
    assert set(report) == {"machine", "settings", "reference", "cudnn_speedup", "sweeps",
                           "workloads"}
    assert report["workloads"] is None  # --no-workloads (tests/test_workloads.py runs it)
    if not report["machine"]["gpus"]:
        assert report["cudnn_speedup"] == {}
    machine = report["machine"]
    for key in ("cpus", "cpu_model", "cpu_flags", "tensorflow", "keras", "gpus",
                "load_average_start"):
        assert key in machine
    assert machine["tensorflow"] == tf.__version__
    assert report["settings"]["shape"] == bench.QUICK
    assert report["reference"]["shape"] == bench.QUICK
    matmul = report["reference"]["matmul"]
    assert matmul["gflops"] > 0 and matmul["rounds"] == report["settings"]["rounds"]


@pytest.mark.slow  # runs the bench
def test_every_configuration_of_the_issue_is_there(quick):
    _, report = quick
    names = set(_entries(report))
    expected = {
        "lstmkit.LSTMCell (eager Python loop)",
        "RNN(lstmkit.LSTMCell)",
        "lstmkit.LSTM",
        "RNN(keras.layers.LSTMCell), implementation=2",
        "RNN(keras.layers.LSTMCell), implementation=1",
        "keras.layers.LSTM",
        "lstmkit.SimpleRNN",
        "keras.layers.SimpleRNN",
        "lstmkit.LSTM + XLA",
        "keras.layers.LSTM + XLA",
        "RNN(lstmkit.GRUCell)",
        "lstmkit.GRU",
        "RNN(keras.layers.GRUCell)",
        "keras.layers.GRU",
        "lstmkit.GRU + XLA",
        "keras.layers.GRU + XLA",
    }
    assert expected <= names
    assert not any(e["eager"] and e["xla"] for e in _entries(report).values())
    entries = _entries(report)
    assert {n for n, e in entries.items() if e["baseline"]} == {
        "keras.layers.LSTM", "keras.layers.SimpleRNN", "keras.layers.GRU"}
    assert {n for n, e in entries.items() if e["family"] == "gru" and not e["xla"]} == {
        "RNN(lstmkit.GRUCell)", "lstmkit.GRU", "RNN(keras.layers.GRUCell)", "keras.layers.GRU"}
    if not report["machine"]["gpus"]:
        assert not any("use_cudnn=False" in n for n in names)


@pytest.mark.slow  # runs the bench
def test_every_path_computes_the_keras_function(quick):
    """Same weights, same input: outputs and gradients equal the Keras layer's."""
    _, report = quick
    for name, entry in _entries(report).items():
        # every configuration of the bench, the XLA ones included, compiles and runs here
        assert entry["error"] is None, (name, entry["error"])
        assert entry["check"]["output_max_abs_diff"] <= ATOL, name
        assert entry["check"]["grads_max_abs_diff"] <= ATOL, name


@pytest.mark.slow  # runs the bench
def test_times_and_derived_numbers(quick):
    _, report = quick
    settings = report["settings"]
    flops = report["reference"]["flops_forward"]
    assert flops["lstm"] == bench.recurrent_flops(4, **bench.QUICK)
    assert flops["simple_rnn"] == bench.recurrent_flops(1, **bench.QUICK)
    assert flops["gru"] == bench.recurrent_flops(3, **bench.QUICK)
    matmul_gflops = report["reference"]["matmul"]["gflops"]
    for name, entry in _entries(report).items():
        assert entry["error"] is None, (name, entry["error"])
        rounds = settings["eager_rounds"] if entry["eager"] else settings["rounds"]
        for mode, factor in (("forward", 1), ("train", 3)):
            stats = entry[mode]
            assert stats["rounds"] == rounds, name
            assert stats["min_s"] > 0, name
            # the rates are the flop count (3x forward for a training step) over the median
            gflops = factor * flops[entry["family"]] / stats["median_s"] / 1e9
            assert stats["gflops"] == pytest.approx(gflops, rel=1e-9), (name, mode)
            assert stats["matmul_fraction"] == pytest.approx(gflops / matmul_gflops, rel=1e-9)
            if entry["baseline"]:
                assert stats["speedup"] == pytest.approx(1.0)
                assert stats["speedup_best"] == pytest.approx(1.0)


@pytest.mark.slow  # runs the bench
def test_sweeps(swept):
    _, report, _ = swept
    settings = report["settings"]
    swept_names = {"lstmkit.SimpleRNN", "keras.layers.SimpleRNN"}
    for axis in ("steps", "batch"):
        sweep = report["sweeps"][axis]
        assert sweep["values"] == settings[f"sweep_{axis}"]
        assert set(sweep["configs"]) == swept_names
        for row in sweep["configs"].values():
            assert row["error"] is None
            for mode in ("forward", "train"):
                assert len(row[mode]) == len(sweep["values"])
                assert all(t > 0 for t in row[mode])
    steps = report["sweeps"]["steps"]
    for row in steps["configs"].values():
        for mode in ("forward", "train"):
            # the fit of the medians, recomputed in closed form: slope cov/var, R^2 = corr^2
            x, y = np.asarray(steps["values"], float), np.asarray(row[mode], float)
            slope = np.cov(x, y, bias=True)[0, 1] / np.var(x)
            assert row["fit"][mode] == pytest.approx(
                {"slope": slope, "intercept": y.mean() - slope * x.mean(),
                 "r2": np.corrcoef(x, y)[0, 1] ** 2}, rel=1e-6, abs=1e-12)


@pytest.mark.slow  # runs the bench
def test_plot_is_a_png(quick, swept):
    for out in (quick[0], swept[0]):
        assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # runs the bench
def test_console_output_and_only(swept):
    _, report, text = swept
    if not tf.config.list_physical_devices("GPU"):
        assert "No GPU visible" in text
    assert "lstmkit.SimpleRNN" in text and "keras.layers.SimpleRNN" in text and "Wrote" in text
    # --only keeps the matching configurations and the baseline of their family
    assert {e["name"] for e in report["reference"]["configs"]} == {
        "lstmkit.SimpleRNN", "keras.layers.SimpleRNN"}
    assert report["settings"]["xla"] is False


@pytest.mark.slow
def test_a_configuration_that_cannot_compile_is_reported_not_fatal():
    """tf.numpy_function has no XLA kernel: the XLA entry carries the error."""
    import keras

    class NumpyLayer(keras.layers.Layer):
        def call(self, x, training=False):
            y = tf.numpy_function(lambda a: a[:, -1, :1] * 0, [x], tf.float32)
            return tf.reshape(y, (x.shape[0], 1))

    configs = [
        bench.Config(bench.LSTM_BASELINE, "lstm", keras.layers.LSTM),
        bench.Config("numpy + XLA", "lstm", lambda u: NumpyLayer(), xla=True),
    ]
    runners, checks = bench._prepare(configs, {**bench.QUICK, "units": 1}, warmup=0, seed=0)
    assert runners[0].error is None and runners[1].error
    assert "numpy + XLA" not in checks


def test_summary_and_speedup_of_known_times():
    from lstmkit.timing import speedup, summary

    assert summary([0.4, 0.1, 0.3, 0.2, 0.5]) == pytest.approx(
        {"median_s": 0.3, "q1_s": 0.2, "q3_s": 0.4, "min_s": 0.1, "rounds": 5})
    # ratios paired round by round: 2, 4, 1, 3, 5; the best times: 2.0 / 1.0
    base, times = [2.0, 4.0, 3.0, 6.0, 10.0], [1.0, 1.0, 3.0, 2.0, 2.0]
    assert speedup(base, times) == pytest.approx(
        {"speedup": 3.0, "speedup_q1": 2.0, "speedup_q3": 4.0, "speedup_best": 2.0})


def test_linear_fit_and_flops():
    steps = [25, 50, 100, 200]
    fit = bench.linear_fit(steps, [0.5 + 0.01 * s for s in steps])
    assert fit["slope"] == pytest.approx(0.01) and fit["intercept"] == pytest.approx(0.5)
    assert fit["r2"] == pytest.approx(1.0)
    noisy = bench.linear_fit(steps, [1.0, 3.0, 2.0, 5.0])
    assert 0.0 < noisy["r2"] < 1.0
    assert bench.linear_fit([1, 2], [3.0, 3.0])["r2"] == 1.0
    # reference shape: 2 * 100 * 64 * 4 * 128 * (32 + 128)
    assert bench.recurrent_flops(4, **bench.REFERENCE) == 1_048_576_000
    assert bench.recurrent_flops(bench.GATES["gru"], **bench.REFERENCE) == 786_432_000
    assert bench.matmul_flops(2048) == 2 * 2048**3


def test_cudnn_speedups():
    """On a GPU the bench times both LSTMs with and without cuDNN; the ratio is off / auto."""
    def entry(name, forward, train, error=None):
        return {"name": name, "error": error, "forward": {"median_s": forward},
                "train": {"median_s": train}}

    entries = [
        entry("keras.layers.LSTM", 1.0, 2.0),
        entry("keras.layers.LSTM(use_cudnn=False)", 8.0, 12.0),
        entry("lstmkit.LSTM", 1.0, 4.0),
        entry("lstmkit.LSTM(use_cudnn=False)", 5.0, 8.0, error="failed"),
        entry("keras.layers.GRU", 2.0, 4.0),
        entry("keras.layers.GRU(use_cudnn=False)", 6.0, 10.0),
        entry("lstmkit.GRU", 1.0, 2.0),
        entry("lstmkit.GRU(use_cudnn=False)", 3.0, 7.0),
    ]
    assert bench.cudnn_speedups(entries) == {
        "keras.layers.LSTM": {"forward": 8.0, "train": 6.0},
        "keras.layers.GRU": {"forward": 3.0, "train": 2.5},
        "lstmkit.GRU": {"forward": 3.0, "train": 3.5}}
    assert bench.cudnn_speedups(entries[:1]) == {}


def test_bad_arguments():
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--sweep-steps", "10,-1"])
    with pytest.raises(SystemExit):
        bench.run(parser.parse_args(["--quick", "--units", "-3"]))
    args = parser.parse_args(["--sweep-steps", "25,50", "--batch", "8"])
    settings = bench._settings(args)
    assert settings["sweep_steps"] == [25, 50] and settings["shape"]["batch"] == 8
    assert settings["shape"]["steps"] == bench.REFERENCE["steps"]


def test_configurations_of_each_family():
    """One baseline a family; the use_cudnn=False pairs of the LSTM and the GRU on a GPU only."""
    cpu = bench._configs(gpu=False, xla=False)
    gpu = bench._configs(gpu=True, xla=False)
    for configs in (cpu, gpu):
        baselines = [c for c in configs if c.name == bench.BASELINES[c.family]]
        assert sorted(c.family for c in baselines) == ["gru", "lstm", "simple_rnn"]
        assert {c.family for c in configs} == set(bench.GATES)
    pairs = {f"{layer}(use_cudnn=False)" for layer in (
        "keras.layers.LSTM", "lstmkit.LSTM", "keras.layers.GRU", "lstmkit.GRU")}
    assert pairs <= {c.name for c in gpu} and not pairs & {c.name for c in cpu}
    xla = bench._configs(gpu=False, xla=True)
    assert {"lstmkit.GRU + XLA", "keras.layers.GRU + XLA"} <= {c.name for c in xla}


def test_only_chooses_configurations_and_their_baselines(capsys):
    configs = bench._configs(gpu=False, xla=False)
    settings = {"only": ["GRU"], "workloads": "skip", "quick": True}
    assert [c.name for c in bench._chosen(configs, settings)] == [
        "RNN(lstmkit.GRUCell)", "lstmkit.GRU", "RNN(keras.layers.GRUCell)", "keras.layers.GRU"]
    settings["only"] = ["lstmkit.GRU", "SimpleRNN"]  # substrings: the cells' names match too
    assert {c.name for c in bench._chosen(configs, settings)} == {
        "lstmkit.GRU", "RNN(lstmkit.GRUCell)", "keras.layers.GRU", "lstmkit.SimpleRNN",
        "RNN(keras.layers.SimpleRNNCell)", "keras.layers.SimpleRNN"}
    # a name of the workload matrix only (its PyTorch peers) counts when the matrix runs
    settings["only"] = ["torch.nn.GRU"]
    assert bench._chosen(configs, {**settings, "workloads": "also"}) == []
    assert bench._chosen(configs, settings) is None
    assert capsys.readouterr().err.startswith(
        "lstmkit bench: error: argument --only: 'torch.nn.GRU' matches no configuration")
