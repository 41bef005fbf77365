"""``lstmkit report``: papermill runs of the fixture notebooks in tests/fixtures/notebooks.

The fixtures import no TensorFlow, so each run takes a kernel start and a second or two:
``01_params`` has parameters of every kind, ``02_fails`` raises in its fourth cell (a message
with terminal colour codes, as Keras' errors have), and ``03_after`` runs after it.
``params/full.yaml`` is checked against the course notebooks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lstmkit import report
from lstmkit.cli import main

pytestmark = pytest.mark.slow  # papermill runs notebooks in kernels

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "notebooks"


def _report(tmp_path: Path, *args: str) -> int:
    return main(["report", "--notebooks-dir", str(FIXTURES), "--out", str(tmp_path),
                 "--name", "run", *args])


def _outputs(nb_path: Path) -> str:
    """Every stream text and error of an executed notebook, joined."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") if out.output_type == "stream"
                         else f"{out.get('ename', '')}: {out.get('evalue', '')}")
    return "\n".join(texts)


def _injected(nb_path: Path) -> str:
    """The source of the cell papermill injected with the run's parameters."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "papermill should inject exactly one parameters cell"
    return cells[0].source


def test_one_notebook_with_parameters(tmp_path: Path) -> None:
    assert _report(tmp_path, "01", "-p", "STEPS", "4", "-p", "LABEL", "tiny",
                   "-p", "RATE", "1") == 0
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["01_params.html", "01_params.ipynb",
                                                     "_static", "index.html"]
    injected = _injected(run / "01_params.ipynb")
    assert "STEPS = 4" in injected and 'LABEL = "tiny"' in injected and "RATE = 1.0" in injected
    # 1.0 * (0 + 1 + 2 + 3) + (1 + 2)
    assert "tiny: STEPS=4 RATE=1.0 total=9.0" in _outputs(run / "01_params.ipynb")
    page = (run / "01_params.html").read_text()
    assert "Fixture: a parameterised notebook" in page and "tiny: STEPS=4" in page
    index = (run / "index.html").read_text()
    assert '<a href="01_params.html">' in index and '<a href="01_params.ipynb">' in index
    assert "<td>01_params</td><td>ok</td>" in index and "1 ok, 0 failed" in index


def test_parameters_file_sections_and_top_level_keys(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("SEED: 5\n01_params:\n  STEPS: 2\n  SIZES: [10, 20]\n"
                      "03_after:\n  SEED: 9\n")
    assert _report(tmp_path, "01_params.ipynb", "03_after", "-f", str(params),
                   "-p", "STEPS", "3", "--no-html") == 0
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["01_params.ipynb", "03_after.ipynb",
                                                     "index.html"]
    first = _injected(run / "01_params.ipynb")
    assert "SEED = 5" in first and "STEPS = 3" in first and "SIZES = [10, 20]" in first
    assert "SEED = 9" in _injected(run / "03_after.ipynb")  # the section beats the top level
    assert "total=31.5" in _outputs(run / "01_params.ipynb")  # -p STEPS 3 beats the section


def test_failing_notebook_fails_the_run_but_keeps_the_others(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _report(tmp_path) == 1
    run = tmp_path / "run"
    for stem in ("01_params", "02_fails", "03_after"):
        assert (run / f"{stem}.ipynb").is_file() and (run / f"{stem}.html").is_file()
    assert "after the failure, SEED=1" in _outputs(run / "03_after.ipynb")
    failed = _outputs(run / "02_fails.ipynb")
    assert "failure after 2 steps" in failed
    assert "never reached" not in failed
    index = (run / "index.html").read_text()
    assert "2 ok, 1 failed" in index
    assert '<tr class="failed"><td>02_fails</td><td>failed</td>' in index
    # the error's terminal colours (as in Keras' messages) are stripped
    assert "cell In [3]" in index and "ValueError: deliberate failure after 2 steps" in index
    assert "\x1b" not in index
    err = capsys.readouterr().err
    assert "FAILED 02_fails: cell In [3]" in err and "ValueError: deliberate failure after" in err


@pytest.mark.parametrize("args, message", [
    (["99"], "unknown notebook '99'; the notebooks are: 01_params, 02_fails, 03_after"),
    (["01", "-p", "STEPZ", "1"], "no chosen notebook has a parameter 'STEPZ'; their parameters"
                                 " are: 01_params: SEED, STEPS, RATE, LABEL, VERBOSE, SIZES"),
    (["03", "-p", "STEPS", "1"], "their parameters are: 03_after: SEED"),
    (["-p", "STEPS", "2.5"], "parameter STEPS of 01_params expects int (default 3), got 2.5"),
    (["-p", "VERBOSE", "1"], "parameter VERBOSE of 01_params expects bool (default False), got 1"),
    (["-p", "SIZES", "oops"], "parameter SIZES of 01_params expects list"),
    (["--name", "../elsewhere"], "--name must be a plain folder name"),
])
def test_bad_arguments_are_rejected_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert _report(tmp_path, *args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text, message", [
    ("01_params: {STEPZ: 1}", "unknown parameter 'STEPZ' for notebook 01_params; "
                              "its parameters are: SEED, STEPS, RATE, LABEL, VERBOSE, SIZES"),
    ("03_after: {SEED: two}", "parameter SEED of 03_after expects int"),
    ("EPOCHS: 3", "'EPOCHS' is neither a notebook nor a parameter of any notebook; "
                  "notebooks: 01_params, 02_fails, 03_after; "
                  "parameters: LABEL, RATE, SEED, SIZES, STEPS, VERBOSE"),
    ("[1, 2]", "must hold a mapping, not list"),
    ("03_after: 4", "'03_after' names notebook 03_after, so it must map parameter names"),
    ("a: [", "is not valid YAML"),
])
def test_bad_parameters_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             text: str, message: str) -> None:
    params = tmp_path / "bad.yaml"
    params.write_text(text + "\n")
    assert _report(tmp_path, "01", "-f", str(params)) == 2  # 03's section is checked too
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("raw, value", [
    ("3", 3), ("-2", -2), ("0.5", 0.5), ("1e-3", 1e-3), ("True", True), ("False", False),
    ("None", None), ("true", "true"), ("lstm", "lstm"), ("[1, 2]", "[1, 2]"),
])
def test_cli_values_are_read_as_papermill_reads_them(raw: str, value: object) -> None:
    parsed = report.parse_cli_value(raw)
    assert parsed == value and type(parsed) is type(value)


def test_list_shows_parameters_and_runs_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _report(tmp_path, "--list", "01", "03") == 0
    assert capsys.readouterr().out.splitlines() == [
        "01_params", "    SEED = 0", "    STEPS = 3  # how many terms to add", "    RATE = 0.5",
        '    LABEL = "demo"', "    VERBOSE = False", "    SIZES = [1, 2]",
        "03_after", "    SEED = 1"]
    assert not (tmp_path / "run").exists()


def test_unreadable_notebook_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "01_broken.ipynb").write_text("{not json")
    assert main(["report", "--notebooks-dir", str(notebooks), "--out", str(tmp_path)]) == 2
    assert "cannot read notebook 01_broken.ipynb: Notebook does not appear to be JSON" in \
        capsys.readouterr().err


def test_notebooks_are_found_by_file_name_stem_or_number() -> None:
    notebooks = report.load_notebooks(FIXTURES)
    for name in ("02_fails.ipynb", "02_fails", "02", "2"):
        assert report.find_notebook(name, notebooks) is notebooks[1]
    assert report.find_notebook("fails", notebooks) is None


def test_full_parameter_set_matches_the_course_notebooks() -> None:
    notebooks_dir = ROOT / "notebooks"
    assert list(notebooks_dir.glob("*.ipynb")), "no course notebooks in notebooks/"
    notebooks = report.load_notebooks(notebooks_dir)
    resolved = report.resolve_parameters(
        notebooks, notebooks, file_params=report.load_params_file(ROOT / "params" / "full.yaml"))
    assert any(resolved.values()), "params/full.yaml changes no parameter of any notebook"
