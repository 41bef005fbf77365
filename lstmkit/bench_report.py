"""What ``lstmkit bench`` shows: the text tables printed on the console (reference shape, and the
workload matrix of :mod:`lstmkit.workloads`) with their legends, and the plot written to
``bench.png``.

All read the report dictionary that :func:`lstmkit.bench.run` writes to ``bench.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.workload_rows import LAYERS

__all__ = ["plot", "summary", "table", "workloads_table"]


def plot(report: dict[str, Any], path: Path) -> None:
    """Speed-ups at the reference shape, and time against steps and against batch."""
    # A bare Figure, not pyplot: no backend is switched, so a notebook that calls this keeps
    # its inline plots.
    import matplotlib.ticker
    from matplotlib.figure import Figure

    timed = [e for e in report["reference"]["configs"] if e["error"] is None and "speedup"
             in e.get("forward", {})]
    sweeps = report["sweeps"]
    fig = Figure(figsize=(7 + 5 * len(sweeps), max(6.0, 1.5 + 0.2 * len(timed))))
    axes = fig.subplots(1, 1 + len(sweeps), squeeze=False)
    ax = axes[0, 0]
    ypos = np.arange(len(timed))
    for k, mode in enumerate(("forward", "train")):
        ax.barh(ypos + (k - 0.5) * 0.4, [e[mode]["speedup"] for e in timed], height=0.4,
                label=mode)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(ypos, [e["name"] for e in timed], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("speed-up over the Keras layer (> 1 is faster)")
    shape = report["reference"]["shape"]
    ax.set_title("batch {batch}, {steps} steps, {features} features, {units} units".format(
        **shape), fontsize=9)
    ax.legend(loc="upper right")
    for ax, (axis, sweep) in zip(axes[0, 1:], sweeps.items(), strict=True):
        for k, (name, row) in enumerate(sweep["configs"].items()):
            for mode, style in (("forward", "s--"), ("train", "o-")):
                if None in row[mode]:
                    continue
                fit = row.get("fit", {}).get(mode)
                label = f"{name} {mode}" + (f" (linear fit R²={fit['r2']:.3f})" if fit else "")
                ax.plot(sweep["values"], 1e3 * np.asarray(row[mode]), style, color=f"C{k}",
                        label=label)
        ax.set_xlabel(axis)
        ax.set_ylabel("time per call (ms)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sweep["values"], [str(v) for v in sweep["values"]])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_title(f"time against {axis} (median of rounds)", fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle(f"lstmkit bench — {report['machine']['cpu_model']}, "
                 f"{report['machine']['cpus']} CPUs, TF {report['machine']['tensorflow']}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(report: dict[str, Any]) -> str:
    """The reference results as an aligned text table."""
    rows = [("configuration", "fwd ms", "fwd x", "(best)", "train ms", "train x", "(best)",
             "train GFLOP/s", "of matmul")]
    nan = float("nan")
    for e in report["reference"]["configs"]:
        if e["error"] is not None:
            rows.append((e["name"], "failed: " + e["error"][:60], *[""] * 7))
            continue
        f, t = e["forward"], e["train"]
        rows.append((
            e["name"],
            f"{1e3 * f['median_s']:.2f}", f"{f.get('speedup', nan):.2f}",
            f"{f.get('speedup_best', nan):.2f}",
            f"{1e3 * t['median_s']:.2f}", f"{t.get('speedup', nan):.2f}",
            f"{t.get('speedup_best', nan):.2f}",
            f"{t['gflops']:.1f}", f"{100 * t['matmul_fraction']:.0f}%",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                     for r in rows)


def summary(report: dict[str, Any]) -> str:
    """What the console shows: the reference shape and matmul rate, the table, cuDNN's gain."""
    ref = report["reference"]
    lines = [
        f"Reference shape {ref['shape']}; a {ref['matmul']['n']}^2 matmul runs at "
        f"{ref['matmul']['gflops']:.1f} GFLOP/s. Times are medians over rounds; x = speed-up "
        "over the Keras layer of the same family (median of per-round ratios; (best): ratio "
        "of the fastest rounds).",
        table(report),
    ]
    lines += [
        f"cuDNN speed-up of {layer} over its use_cudnn=False path: forward "
        f"{modes['forward']:.2f}x, training step {modes['train']:.2f}x"
        for layer, modes in report["cudnn_speedup"].items()
    ]
    return "\n".join(lines)


# -- the workload matrix ----------------------------------------------------------------------
def _ratio(entry: dict[str, Any], mode: str) -> str:
    stats = entry["ratios"].get(mode)
    if stats is None:
        return "-"
    return f"{stats['speedup']:.2f} [{stats['speedup_q1']:.2f}, {stats['speedup_q3']:.2f}]"


def _diffs(entry: dict[str, Any]) -> str:
    parity = entry["parity"]
    if parity is None:
        return "-"
    keys = ("loss",) if "loss_max_abs_diff" in parity else ("output", "grads")
    return " ".join(f"{k} {parity[f'{k}_max_abs_diff']:.1e}" for k in keys)


def _status(entry: dict[str, Any]) -> str:
    if entry["skipped"]:
        return "skipped: " + entry["skipped"]
    if entry["error"]:
        return "FAILED: " + entry["error"][:80]
    if not entry["parity"]["ok"]:
        return "PARITY FAILED"
    if entry["met_target"] is None:
        versus = entry.get("lstmkit_vs_peer")
        if not versus:
            return "peer (no target)"
        return (f"peer (no target); {LAYERS[entry['family']][1]} "
                f"{versus['forward']['speedup']:.2f}x / {versus['train']['speedup']:.2f}x "
                "its speed")
    if entry["below_floor"]:
        return "SLOWER THAN KERAS"
    return "ok" if entry["met_target"] else "below target"


def _shape_text(entry: dict[str, Any]) -> str:
    s = entry["shape"]
    steps = s["steps"]
    if "lengths" in entry:
        steps = f"({min(entry['lengths'])}..{max(entry['lengths'])})"
    return f"{s['batch']}x{steps}x{s['features']}->{s['units']}"


def workloads_table(workloads: dict[str, Any]) -> str:
    """The matrix as an aligned text table, with a legend and the count of rows on target."""
    header = ("row", "workload", "B x T x D -> H", "forward x [q1, q3]", "train|fit x [q1, q3]",
              "target", "max abs diff", "status")
    lines = [header]
    for entry in workloads["rows"].values():
        targets = entry["targets"]
        target = "/".join(f"{targets[m]:.2f}" for m in ("forward", "train", "fit") if m in targets)
        train = "fit" if "fit" in entry["ratios"] else "train"
        lines.append((entry["key"], entry["description"],
                      _shape_text(entry), _ratio(entry, "forward"), _ratio(entry, train),
                      target or "-", _diffs(entry), _status(entry)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in lines]
    graded = [e for e in workloads["rows"].values() if e["targets"]]
    met = sum(bool(e["met_target"]) for e in graded)
    goal, tol = workloads["targets"], workloads["tolerance"]
    text += [
        "x = t_Keras / t_lstmkit, median over rounds [quartiles]; > 1 is faster than Keras. "
        f"Targets: {goal['every_row']}x every row, {goal['a_train']}x row a's training step, "
        f"never below {goal['floor']}x. Parity: within {tol['float32']:g} (float32; "
        f"{tol['mixed_float16']:g} for mixed_float16) times the largest Keras value (at least 1).",
        f"{met} of {len(graded)} rows meet their target.",
    ]
    return "\n".join(text)
