"""The ``lstmkit`` command line: fast help without TensorFlow, usage errors, a quiet console.

Help, ``--version`` and usage errors are checked in fresh processes (``tensorflow`` must not be
imported there) through the function the console script names in pyproject.toml, and through
``python -m lstmkit_cli``; the usage errors in-process too, with the commands' ``run`` replaced by
one that fails the test if anything starts.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lstmkit
from lstmkit import bench, report
from lstmkit_cli import arguments, build_parser, console, main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
TF_LOG_MARKS = ("I0000", "W0000", "E0000", "absl::InitializeLog", "cuInit", "cudart_stub")


def _entry_point() -> tuple[str, str]:
    """(module, function) of the ``lstmkit`` console script in pyproject.toml."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["lstmkit"].split(":")
    return module, function


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TQDM_DISABLE")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **extra}


def _run_entry(argv: list[str]) -> subprocess.CompletedProcess:
    """Run the console script's function on ``argv`` in a fresh Python; it prints, last, whether
    TensorFlow or Keras got imported."""
    module, function = _entry_point()
    code = (f"import sys\nfrom {module} import {function} as main\nrc = main({argv!r})\n"
            "print('imported:', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
            "sys.exit(rc)\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(), cwd=ROOT, timeout=300)


@pytest.mark.slow  # subprocess
@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["bench", "--help"],
                                  ["report", "--help"], ["bench", "--batch", "-3"]])
def test_help_version_and_usage_errors_import_no_tensorflow(argv):
    start = time.monotonic()
    result = _run_entry(argv)
    seconds = time.monotonic() - start
    assert result.stdout.rstrip().endswith("imported: []"), result.stdout + result.stderr
    assert result.returncode == (2 if "-3" in argv else 0), result.stderr
    assert seconds < 30, seconds  # well under a second on an idle machine; no TensorFlow here


@pytest.mark.slow  # subprocess
def test_python_dash_m_lstmkit_cli_imports_no_tensorflow_for_help():
    result = subprocess.run(  # -X importtime lists every module imported, on stderr
        [sys.executable, "-X", "importtime", "-m", "lstmkit_cli", "bench", "--help"],
        capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage: lstmkit bench" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "tensorflow" not in imported and "keras" not in imported
    assert "lstmkit_cli" in imported


@pytest.mark.slow  # subprocess importing TensorFlow
def test_python_dash_m_lstmkit_is_the_same_command():
    result = subprocess.run([sys.executable, "-m", "lstmkit", "--version"], capture_output=True,
                            text=True, env=_env(), cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"lstmkit {importlib.metadata.version('lstmkit')}"


def test_lstmkit_imported_normally_registers_its_layers():
    """The package imports its layers at once (Keras needs that to load ``.keras`` files;
    tests/test_readme.py loads one in a fresh process)."""
    assert {"LSTM", "SimpleRNN", "LSTMCell", "RNNCell"} <= set(vars(lstmkit))
    import keras

    assert keras.saving.get_registered_object("lstmkit>LSTM") is lstmkit.LSTM


def test_version_comes_from_the_package_metadata(capsys):
    assert main(["--version"]) == 0
    installed = importlib.metadata.version("lstmkit")
    assert capsys.readouterr().out.strip() == f"lstmkit {installed}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert installed == project["version"] == lstmkit.__version__


def test_help_lists_the_commands_and_options(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "report" in out and "bench" in out and "--version" in out
    assert main(["bench", "--help"]) == 0
    assert "--matmul-size" in capsys.readouterr().out
    assert main(["report", "--help"]) == 0
    assert "--cell-timeout" in capsys.readouterr().out


def test_lstmkit_cli_and_python_dash_m_are_the_same_command():
    import lstmkit.cli

    assert lstmkit.cli.main is main
    assert "from lstmkit_cli import main" in (ROOT / "lstmkit" / "__main__.py").read_text()
    assert _entry_point() == ("lstmkit_cli", "main")


@pytest.fixture
def no_work(monkeypatch):
    """Replace both commands' ``run``: a usage error must stop before it."""
    started = []
    for module in (bench, report):
        monkeypatch.setattr(module, "run", lambda args, m=module: started.append(m) or 0)
    return started


def _usage_errors(tmp_path: Path) -> list[tuple[list[str], str]]:
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    return [
        (["bench", "--batch", "-3"], "--batch"),
        (["bench", "--steps", "0"], "--steps"),
        (["bench", "--features", "x"], "--features"),
        (["bench", "--units", "1.5"], "--units"),
        (["bench", "--rounds", "-1"], "--rounds"),
        (["bench", "--rounds", "0"], "--rounds"),
        (["bench", "--eager-rounds", "0"], "--eager-rounds"),
        (["bench", "--matmul-size", "-4"], "--matmul-size"),
        (["bench", "--seed", "-1"], "--seed"),
        (["bench", "--seed", str(2**32)], "--seed"),
        (["bench", "--warmup", "-3"], "--warmup"),
        (["bench", "--sweep-steps", "1,a"], "--sweep-steps"),
        (["bench", "--sweep-steps", "10,-1"], "--sweep-steps"),
        (["bench", "--sweep-batch", ""], "--sweep-batch"),
        (["bench", "--sweep-rounds", "0"], "--sweep-rounds"),
        (["bench", "--fit-rounds", "0"], "--fit-rounds"),
        (["bench", "--cold-rounds", "-2"], "--cold-rounds"),
        (["bench", "--only", ","], "--only"),
        (["bench", "--workloads", "--no-workloads"], "--no-workloads"),
        (["bench", "--out", str(a_file)], "--out"),
        (["bench", "--out", str(a_file / "below")], "--out"),
        (["bench", "--bogus"], "--bogus"),
        (["report", "--out", str(a_file)], "--out"),
        (["report", "--cell-timeout", "0"], "--cell-timeout"),
        (["report", "--cell-timeout", "-5"], "--cell-timeout"),
        (["report", "-p", "ONLY_NAME"], "-p"),
        (["benchh"], "COMMAND"),
        ([], "COMMAND"),
    ]


def test_usage_errors_exit_2_with_one_line_naming_the_argument(tmp_path, capsys, no_work):
    for argv, name in _usage_errors(tmp_path):
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert len(lines) == 1, (argv, captured.err)
        prog = " ".join(["lstmkit", *argv[:1]]) if argv[:1] in (["bench"], ["report"]) \
            else "lstmkit"
        assert lines[0].startswith(f"{prog}: error: "), (argv, lines)
        assert name in lines[0] and "Traceback" not in captured.err, (argv, lines)
        assert captured.out == ""
    assert no_work == []


@pytest.mark.slow  # subprocess
def test_usage_error_in_a_fresh_process_prints_no_traceback(tmp_path):
    a_file = tmp_path / "bench.json"
    a_file.write_text("{}")
    result = _run_entry(["bench", "--out", str(a_file)])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"lstmkit bench: error: argument --out: {str(a_file)!r} is a file, not a folder "
        "(see `lstmkit bench --help`)"]


def test_values_that_make_sense_are_taken_as_given(tmp_path):
    parser = build_parser()
    args = parser.parse_args(["bench", "--warmup", "0", "--seed", "0", "--sweep-steps", "3, 6",
                              "--only", "lstmkit.LSTM,SimpleRNN", "--out",
                              str(tmp_path / "new" / "folder")])
    settings = bench._settings(args)
    assert settings["warmup"] == 0 and settings["seed"] == 0
    assert settings["sweep_steps"] == [3, 6] and settings["only"] == ["lstmkit.LSTM", "SimpleRNN"]
    assert not (tmp_path / "new").exists()  # checked, not created, by the parser
    args = parser.parse_args(["report", "--out", str(tmp_path), "--cell-timeout", "1"])
    assert args.out == tmp_path and args.cell_timeout == 1
    assert parser.parse_args(["report"]).name == report.DEFAULT_RUN_NAME


def test_only_naming_no_configuration_is_refused(tmp_path, capsys):
    assert main(["bench", "--quick", "--no-workloads", "--only", "lstmkit.LSTM,nosuch",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(
        "lstmkit bench: error: argument --only: 'nosuch' matches no configuration")
    assert not (tmp_path / "bench.json").exists()


def test_every_bench_and_report_option_checks_its_values():
    """Each option that takes a number, list or folder has a checking ``type``."""
    checks = {arguments.positive_int, arguments.non_negative_int, arguments.seed,
              arguments.positive_int_list, arguments.name_list, arguments.output_dir}
    parser = build_parser()
    for name, sub in parser.commands.items():
        for action in sub._actions:
            if action.option_strings and action.nargs is None and not action.const \
                    and action.dest not in ("help", "name", "parameters_file", "notebooks_dir"):
                assert action.type in checks, (name, action.dest, action.type)


# -- the console -------------------------------------------------------------------------------
SAMPLE = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1796157560.746056   21112 cudart_stub.cc:31] Could not find cuda drivers on "
    b"your machine, GPU will not be used.\n"
    b"I0000 00:00:1796157639.046058   21595 cpu_feature_guard.cc:227] This TensorFlow binary is "
    b"optimized.\nTo enable the following instructions: AVX2 FMA, in other operations, rebuild "
    b"TensorFlow with the appropriate compiler flags.\n"
    b"\rreport:   0%|          | 0/1 [00:00<?, ?notebook/s]"
    b"W0512 10:01:02.345678   21112 some_op.cc:7] a warning\n"
    b"E0000 00:00:1796157568.870027   21112 cuda_platform.cc:52] failed call to cuInit: "
    b"INTERNAL: CUDA error\n"
    b"E0000 00:00:1796410154.835040    3696 util.cc:131] oneDNN supports DT_BOOL only on "
    b"platforms with AVX-512. Falling back to the default Eigen-based implementation if present.\n"
    b"2026-12-04 19:22:06.176424: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:479] "
    b"Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT when one "
    b"has already been registered\n"
    b"2026-12-04 19:22:06.195538: W tensorflow/core/x.cc:1] an old-style warning\n"
    b"E0512 10:01:02.345678   21112 xla.cc:9] a real error\n"
    b"F0512 10:01:02.345678   21112 xla.cc:9] fatal\n"
    b"Traceback (most recent call last):\n"
)


def test_the_console_filter_keeps_what_the_level_keeps():
    assert console.strip_tf_logs(SAMPLE, 0) == SAMPLE
    kept = console.strip_tf_logs(SAMPLE, 2).decode()
    assert kept == ("\rreport:   0%|          | 0/1 [00:00<?, ?notebook/s]"
                    "E0512 10:01:02.345678   21112 xla.cc:9] a real error\n"
                    "F0512 10:01:02.345678   21112 xla.cc:9] fatal\n"
                    "Traceback (most recent call last):\n")
    assert "a warning" in console.strip_tf_logs(SAMPLE, 1).decode()
    assert "DT_BOOL" in console.strip_tf_logs(SAMPLE, 1).decode()
    assert "an old-style warning" in console.strip_tf_logs(SAMPLE, 1).decode()
    assert "cuFFT" in console.strip_tf_logs(SAMPLE, 1).decode()
    assert "a real error" not in console.strip_tf_logs(SAMPLE, 3).decode()
    assert "fatal" in console.strip_tf_logs(SAMPLE, 3).decode()


@pytest.mark.slow  # subprocess
def test_quiet_tensorflow_filters_child_processes_too(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    with console.quiet_tensorflow():
        print("python line", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-c", f"import os; os.write(2, {SAMPLE!r})"], check=True)
    err = capfd.readouterr().err
    assert "python line" in err and "a real error" in err and "Traceback" in err
    assert not any(mark in err for mark in ("I0000", "E0000", "absl::", "cuInit"))
    print("after", file=sys.stderr, flush=True)
    assert capfd.readouterr().err == "after\n"


@pytest.mark.slow  # runs the bench
def test_smallest_bench_run_has_no_tensorflow_log_lines(tmp_path):
    """The whole command in a fresh process, TF_CPP_MIN_LOG_LEVEL unset (the command sets it)."""
    result = _run_entry(["bench", "--quick", "--no-sweeps", "--no-workloads", "--no-xla",
                         "--only", "lstmkit.SimpleRNN", "--rounds", "1", "--warmup", "0",
                         "--eager-rounds", "1", "--matmul-size", "8", "--out", str(tmp_path)])
    assert result.returncode == 0, result.stderr
    assert "Wrote" in result.stdout and (tmp_path / "bench.json").exists()
    noise = [line for line in result.stderr.splitlines()
             if any(mark in line for mark in TF_LOG_MARKS)]
    assert not noise, result.stderr
    assert "run/s" not in result.stderr and "\r" not in result.stderr  # a pipe gets no bar


@pytest.mark.parametrize(("terminal", "preset", "expected"),
                         [(False, None, "1"), (False, "0", "0"), (True, None, None)])
def test_progress_bars_only_on_a_terminal(monkeypatch, terminal: bool, preset: str | None,
                                          expected: str | None):
    """Redirected to a file (``lstmkit bench > log``, CI), stderr gets no progress bar: tqdm
    redraws one with carriage returns, hundreds of partial lines in a file. ``TQDM_DISABLE``
    set by the user wins."""
    if preset is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", preset)
    monkeypatch.setattr(console.os, "isatty", lambda fd: terminal)
    monkeypatch.setattr(console.shutil, "get_terminal_size", lambda: os.terminal_size((99, 9)))
    monkeypatch.delenv("COLUMNS", raising=False)
    with console.quiet_tensorflow():
        seen = os.environ.get("TQDM_DISABLE")
    assert seen == expected
    assert os.environ.get("TQDM_DISABLE") == preset  # for the duration only


NOISY = """
import os, sys
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to "
            b"STDERR\\nI0000 00:00:1796161525.616942   16811 cudart_stub.cc:31] Could not find "
            b"cuda drivers on your machine, GPU will not be used.\\nE0000 00:00:1796161551.492494 "
            b"  16811 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed "
            b"call to cuInit: UNKNOWN ERROR (303)\\na real error\\n")
sys.exit(3)
"""


@pytest.mark.slow  # subprocesses
def test_quiet_runs_a_command_without_tensorflow_start_up_lines(tmp_path):
    """make notebooks / make lab / nbval run Jupyter through lstmkit_cli.quiet."""
    script = tmp_path / "noisy.py"
    script.write_text(NOISY)
    env = _env()
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    result = subprocess.run([sys.executable, "-m", "lstmkit_cli.quiet", sys.executable, script],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 3  # the command's own exit code
    assert result.stderr == "a real error\n"
    missing = subprocess.run([sys.executable, "-m", "lstmkit_cli.quiet", "no-such-command-x"],
                             capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert missing.returncode == 127 and "no-such-command-x" in missing.stderr


def test_the_jupyter_commands_run_quietly():
    assert "lstmkit_cli.quiet" in (ROOT / "ci" / "notebooks.sh").read_text()
    assert "lstmkit_cli.quiet" in (ROOT / "ci" / "test.sh").read_text()
    lab = (ROOT / "Makefile").read_text().split("\nlab:")[1].split("\n\n")[0]
    assert "lstmkit_cli.quiet" in lab
