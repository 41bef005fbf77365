"""``lstmkit bench --workloads``: the workload matrix's JSON and table, that every row computes
Keras' function, that the mask rows mask, and that the PyTorch rows degrade without PyTorch.

One ``--quick`` run (tiny shapes, few rounds) is shared by the tests marked slow. No timing is
asserted, only that times were taken and ratios reported. The rows' selection (``--only``) and
the parity check are tested without running the matrix.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import sys

import numpy as np
import pytest

from lstmkit import bench, bench_report, workload_rows, workloads
from lstmkit.cli import main
from lstmkit.timing import Config, Runner, speedup

MASKED = ("b", "c", "d", "b-rnn", "b-gru")
FAMILIES = {"": "lstm", "-rnn": "simple_rnn", "-gru": "gru"}
BASELINES = {"lstm": "keras.layers.LSTM", "simple_rnn": "keras.layers.SimpleRNN",
             "gru": "keras.layers.GRU"}
PEERS = {"torch": "lstm", "torch-gru": "gru"}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    out = tmp_path_factory.mktemp("workloads")
    with contextlib.redirect_stdout(io.StringIO()) as console:
        assert main(["bench", "--workloads", "--quick", "--out", str(out)]) == 0
    report = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    return out, report, console.getvalue()


def _rows(report):
    return report["workloads"]["rows"]


def _ran(report):
    return {key: e for key, e in _rows(report).items() if not e["skipped"]}


@pytest.mark.slow  # runs the bench's workload matrix
def test_only_the_matrix_ran(matrix):
    out, report, _ = matrix
    assert report["settings"]["workloads"] == "only"
    assert report["reference"] is None and report["sweeps"] == {}
    assert report["cudnn_speedup"] == {}
    assert (out / "bench.json").exists() and not (out / "bench.png").exists()
    assert report["workloads"]["shape"] == bench.QUICK


@pytest.mark.slow  # runs the bench's workload matrix
def test_every_row_of_the_issue(matrix):
    _, report, _ = matrix
    small, large = workloads.SIZES[True]["batches"]
    lstm = {"a", "b", "c", "d", "e", "f", "g", f"h{small}", f"h{large}", "i", "torch"}
    each = ("a", "b", f"h{small}", f"h{large}")
    rnn = {f"{k}-rnn" for k in each}
    gru = {f"{k}-gru" for k in each} | {"torch-gru"}
    rows = _rows(report)
    assert set(rows) == lstm | rnn | gru == {r.key for r in workloads.rows(quick=True)}
    for key, entry in rows.items():
        assert entry["key"] == key and entry["description"]
        family = "gru" if key in gru else "simple_rnn" if key in rnn else "lstm"
        assert entry["family"] == family
        assert entry["baseline"] == BASELINES[family]
    for suffix in ("", "-rnn", "-gru"):
        assert rows[f"h{small}{suffix}"]["shape"]["batch"] == small
        assert rows[f"h{large}{suffix}"]["shape"]["batch"] == large
    assert rows["a-gru"]["implementation"] == "lstmkit.GRU"
    assert rows["torch-gru"]["implementation"] == "torch.nn.GRU"
    assert rows["i"]["dtype"] == "mixed_float16"
    assert (rows["e"]["net"], rows["f"]["net"]) == ("stacked", "bidirectional")
    assert (rows["d"]["kind"], rows["g"]["kind"], rows["torch"]["kind"]) == (
        "fit", "cold_fit", "peer")
    assert rows["torch-gru"]["kind"] == "peer"


@pytest.mark.slow  # runs the bench's workload matrix
def test_every_row_computes_the_keras_function(matrix):
    """Same weights, same inputs: outputs and gradients (losses for fit rows) equal Keras'."""
    _, report, _ = matrix
    for key, entry in _ran(report).items():
        assert entry["error"] is None, (key, entry["error"])
        parity = entry["parity"]
        tolerance = 1e-2 if entry["dtype"] == "mixed_float16" else 1e-5
        assert parity["tolerance"] == tolerance, key
        compared = ("loss",) if entry["kind"] in ("fit", "cold_fit") else ("output", "grads")
        for name in compared:
            diff, scale = parity[f"{name}_max_abs_diff"], parity[f"{name}_scale"]
            assert scale > 0, (key, name)
            assert diff <= tolerance * max(1.0, scale), (key, name, diff)
        assert parity["ok"] is True, key


@pytest.mark.slow  # runs the bench's workload matrix
def test_times_and_ratios(matrix):
    _, report, _ = matrix
    rounds = report["workloads"]["rounds"]
    for key, entry in _ran(report).items():
        modes = ["fit"] if entry["kind"] in ("fit", "cold_fit") else ["forward", "train"]
        assert sorted(entry["ratios"]) == sorted(modes), key
        expected = {"layer": rounds["layers"], "peer": rounds["layers"], "fit": rounds["fit"],
                    "cold_fit": rounds["cold_fit"]}[entry["kind"]]
        assert set(entry["times"]) == {entry["baseline"], entry["implementation"]}
        for mode in modes:
            ratio = entry["ratios"][mode]
            assert 0 < ratio["speedup_q1"] <= ratio["speedup"] <= ratio["speedup_q3"], key
            assert ratio["speedup_best"] > 0
            for times in entry["times"].values():
                assert times[mode]["rounds"] == expected and times[mode]["min_s"] > 0, key


@pytest.mark.slow  # runs the bench's workload matrix
def test_mask_rows_have_masked_steps(matrix):
    _, report, _ = matrix
    rows = _rows(report)
    for key in MASKED:
        assert rows[key]["mask"]["masked_fraction"] > 0, key
    for key in ("b", "b-rnn", "b-gru", "d"):  # right padding: at least half of every row is kept
        assert rows[key]["mask"]["fully_masked_rows"] == 0
        assert rows[key]["mask"]["masked_fraction"] <= 0.5
    holes = rows["c"]["mask"]
    assert holes["fully_masked_rows"] >= 1
    assert holes["rows_with_masked_steps"] > holes["fully_masked_rows"]  # holes in kept rows
    assert rows["a"]["mask"] is None and rows["a-gru"]["mask"] is None


def test_make_mask():
    rng = np.random.default_rng(0)
    padded = workloads.make_mask("padded", 64, 10, rng)
    lengths = padded.sum(axis=1)
    assert np.array_equal(padded, np.arange(10) < lengths[:, None])  # a prefix of each row
    assert lengths.min() >= 5 and lengths.max() <= 10 and len(set(lengths)) > 1
    holes = workloads.make_mask("holes", 64, 10, rng)
    assert not holes[:8].any() and holes[8:].any(axis=1).all()
    inner = holes[8:, :-1] < holes[8:, 1:]  # a False step followed by a True one
    assert inner.any()


@pytest.mark.slow  # runs the bench's workload matrix
def test_cold_fit_row(matrix):
    _, report, _ = matrix
    entry = _rows(report)["g"]
    sizes = report["workloads"]["sizes"]
    assert len(entry["lengths"]) == sizes["cold_batches"] and len(set(entry["lengths"])) > 1
    assert max(entry["lengths"]) == report["workloads"]["shape"]["steps"]
    assert entry["shape"]["batch"] == sizes["cold_batch"]


@pytest.mark.slow  # runs the bench's workload matrix
def test_targets_and_verdicts(matrix):
    _, report, _ = matrix
    for key, entry in _rows(report).items():
        if entry["kind"] == "peer":
            assert entry["targets"] == {} and entry["met_target"] is None
            continue
        if entry["kind"] in ("fit", "cold_fit"):
            assert entry["targets"] == {"fit": 1.25}
        else:
            assert entry["targets"] == {"forward": 1.25, "train": 1.5 if key == "a" else 1.25}
        speed = {m: entry["ratios"][m]["speedup"] for m in entry["ratios"]}
        assert entry["met_target"] == all(speed[m] >= t for m, t in entry["targets"].items())
        assert entry["below_floor"] == any(v < 1.0 for v in speed.values())


@pytest.mark.slow  # runs the bench's workload matrix
def test_console_table(matrix):
    _, report, text = matrix
    for key in _rows(report):
        assert f"\n{key} " in text
    assert "rows meet their target" in text and "Wrote" in text
    try:
        import torch  # noqa: F401
    except ImportError:
        return
    peer = next(line for line in text.splitlines() if line.startswith("torch-gru "))
    assert "lstmkit.GRU" in peer and "its speed" in peer


@pytest.mark.slow  # runs the bench's workload matrix
def test_table_marks_rows_missing_the_target(matrix):
    _, report, _ = matrix
    marked = copy.deepcopy(report["workloads"])
    rows = marked["rows"]
    rows["a"].update(met_target=False, below_floor=False)
    rows["b"].update(met_target=False, below_floor=True)
    rows["c"]["parity"]["ok"] = False
    rows["e"].update(met_target=True, below_floor=False)
    lines = {line.split()[0]: line for line in bench_report.workloads_table(marked).splitlines()}
    assert lines["a"].endswith("below target")
    assert lines["b"].endswith("SLOWER THAN KERAS")
    assert lines["c"].endswith("PARITY FAILED")
    assert lines["e"].endswith("ok")


@pytest.mark.parametrize("key", sorted(PEERS))
def test_torch_row_is_skipped_without_torch(monkeypatch, key):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    every = {r.key: r for r in workloads.rows(quick=True)}
    row = every[key]
    baseline = BASELINES[PEERS[key]]
    keras_runner = Runner(Config(baseline, row.family, lambda u: None), print, print)
    reference = workload_rows.Prepared(every[workload_rows.reference_key(row)], dict(bench.QUICK),
                                    {baseline: keras_runner}, {})
    entry = workloads._entry(workloads._torch_row(row, reference), reference)
    assert "torch is not installed" in entry["skipped"]
    assert entry["error"] is None and entry["ratios"] == {} and entry["parity"] is None
    assert entry["baseline"] == baseline
    table = bench_report.workloads_table({**_empty_matrix(), "rows": {key: entry}})
    assert "skipped: torch is not installed" in table


def _empty_matrix():
    return {"targets": {"every_row": 1.25, "a_train": 1.5, "floor": 1.0},
            "tolerance": workloads.TOLERANCE, "rows": {}}


@pytest.mark.slow  # runs the bench's workload matrix
@pytest.mark.parametrize("key", sorted(PEERS))
def test_torch_row_matches_keras_when_torch_is_installed(matrix, key):
    _, report, _ = matrix
    rows = _rows(report)
    entry = rows[key]
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "torch is not installed" in entry["skipped"]
        return
    assert entry["skipped"] is None and entry["parity"]["ok"]
    assert entry["parity"]["output_max_abs_diff"] <= 1e-5
    assert entry["parity"]["grads_max_abs_diff"] <= 1e-5 * max(1, entry["parity"]["grads_scale"])
    assert entry["baseline"] == BASELINES[PEERS[key]]
    # the peer against lstmkit's layer of its own family, row a of that family (a, a-gru)
    reference = rows[f"a{'-gru' if PEERS[key] == 'gru' else ''}"]
    ours = reference["times"][reference["implementation"]]
    peer = entry["times"][entry["implementation"]]
    assert entry["lstmkit_vs_peer"] == {
        m: speedup(peer[m]["each_s"], ours[m]["each_s"]) for m in ("forward", "train")}
    # and with Keras' layer timed in that row
    assert entry["times"][entry["baseline"]] == reference["times"][entry["baseline"]]


def test_rows_of_every_family():
    """Row a, b and both batch rows for each family, and a PyTorch peer for the LSTM and GRU."""
    small, large = workloads.SIZES[False]["batches"]
    every = {r.key: r for r in workloads.rows()}
    for suffix, family in FAMILIES.items():
        for key in ("a", "b", f"h{small}", f"h{large}"):
            row = every[key + suffix]
            assert (row.family, row.kind, row.net, row.dtype) == (
                family, "layer", "single", "float32")
        assert every["b" + suffix].mask == "padded" and every["a" + suffix].mask is None
        assert every[f"h{large}" + suffix].batch == large
    for key, family in PEERS.items():
        assert (every[key].family, every[key].kind) == (family, "peer")
        assert workload_rows.reference_key(every[key]) == "a" + {"lstm": "", "gru": "-gru"}[family]
    assert every["a-gru"].targets() == {"forward": 1.25, "train": 1.25}
    assert every["torch-gru"].names() == ("keras.layers.GRU", "lstmkit.GRU", "torch.nn.GRU")


def test_select_rows_by_layer_name():
    every = workloads.rows(quick=True)
    assert workloads.select(every, None) == every
    gru = [r.key for r in workloads.select(every, ["GRU"])]
    assert gru == ["a-gru", "b-gru", "h1-gru", "h8-gru", "torch-gru"]
    simple = {r.key for r in workloads.select(every, ["lstmkit.SimpleRNN"])}
    assert simple == {"a-rnn", "b-rnn", "h1-rnn", "h8-rnn"}
    # a peer alone brings the row it is compared with
    assert [r.key for r in workloads.select(every, ["torch.nn.GRU"])] == ["a-gru", "torch-gru"]
    assert [r.key for r in workloads.select(every, ["torch"])] == [
        "a", "torch", "a-gru", "torch-gru"]
    assert workloads.select(every, ["nosuch"]) == []


def test_parity_fails_beyond_the_tolerance():
    reference = {"output": np.array([2.0, -3.0]), "grads": [np.array([[0.5]]), np.zeros(2)]}
    close = {"output": reference["output"] + 2e-5, "grads": reference["grads"]}
    check = workloads._parity(reference, close, 1e-5)  # 2e-5 <= 1e-5 * 3 (the largest value)
    assert check["ok"] and check["output_max_abs_diff"] == pytest.approx(2e-5)
    assert check["output_scale"] == 3.0 and check["grads_scale"] == 0.5
    wrong = {"output": reference["output"], "grads": [np.array([[0.5 + 2e-5]]), np.zeros(2)]}
    check = workloads._parity(reference, wrong, 1e-5)  # the scale is at least 1
    assert not check["ok"] and check["grads_max_abs_diff"] == pytest.approx(2e-5)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--fit-rounds", "0"], "argument --fit-rounds: expected a positive integer, got '0'"),
        (["--cold-rounds", "-2"], "argument --cold-rounds: expected a positive integer, got '-2'"),
        (["--rounds", "0"], "argument --rounds: expected a positive integer, got '0'"),
        (["--warmup", "-1"], "argument --warmup: expected an integer >= 0, got '-1'"),
        (["--no-workloads"], "argument --no-workloads: not allowed with argument --workloads"),
    ],
)
def test_bad_values_exit_2_with_one_line(argv, message, capsys):
    """The matrix's options are checked before any work, in one line naming the option."""
    assert main(["bench", "--workloads", *argv]) == 2
    err = capsys.readouterr().err
    assert err == f"lstmkit bench: error: {message} (see `lstmkit bench --help`)\n"


def test_settings_defaults():
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    full = bench._settings(parser.parse_args([]))
    assert (full["workloads"], full["fit_rounds"], full["cold_rounds"]) == ("also", 5, 3)
    only = bench._settings(parser.parse_args(["--workloads", "--quick"]))
    assert only["workloads"] == "only" and only["sweep_steps"] == only["sweep_batch"] == []
    assert bench._settings(parser.parse_args(["--no-workloads"]))["workloads"] == "skip"
