"""What a learner sees of the course notebooks is clean: no TensorFlow start-up lines, no
progress-bar warnings and no paths of the machine that made the stored outputs; the course kernel
(``python3`` with the settings of ``ci/course_kernel``) keeps TensorFlow's C++ lines out of
freshly run notebooks too; and
``notebooks/`` holds the course only (test configuration lives in ``ci/``)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# TensorFlow's C++ log lines (absl's prefix: severity, MMDD, time, thread, file:line]) and the
# rest of the noise the course's outputs once carried.
TF_NOISE = re.compile(r"absl::InitializeLog|^[IWEF]\d{4} \d\d:\d\d:\d\d|cuInit|cudart_stub|oneDNN"
                      r"|TqdmWarning|IProgress not found|retracing", re.M)
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|home|root|tmp|Users|private/var)/")
TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")
# What notebooks/ may hold besides the notebooks: course data (none yet), and the diagrams the
# notebooks show, as SVG files in notebooks/figures/ (linked as ![...](figures/NAME.svg)).
COURSE_DATA = {".csv", ".json", ".npz", ".npy", ".txt", ".png"}
FIGURES = ROOT / "notebooks" / "figures"
FIGURE_LINK = re.compile(r"!\[[^\]]*\]\((?P<src>[^)\s]+)\)")


def _plugin():
    """ci/nbval_plugin.py, which knows the course kernel's settings and checks them."""
    path = ROOT / "ci" / "nbval_plugin.py"
    spec = importlib.util.spec_from_file_location("lstmkit_ci_nbval_plugin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("workers", "dist", "expected"),
                         [(2, "no", "loadfile"), (2, "load", "loadfile"),
                          ("auto", "no", "loadfile"), (2, "loadfile", "loadfile"),
                          (2, "loadgroup", "loadgroup"), (None, "no", "no"), (0, "no", "no")])
def test_nbval_plugin_keeps_each_notebook_on_one_xdist_worker(workers, dist, expected):
    config = types.SimpleNamespace(option=types.SimpleNamespace(numprocesses=workers, dist=dist))
    _plugin().pytest_cmdline_main(config)
    assert config.option.dist == expected


def _stock_spec(*extra: str) -> dict:
    """ipykernel's own ``python3`` spec for this Python (what ``ipykernel install`` writes)."""
    return {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                     *extra],
            "display_name": "Python 3 (ipykernel)", "language": "python"}


def _texts(output: dict) -> list[str]:
    """The human-readable text of one stored output (images left out: base64 is not text)."""
    if output["output_type"] == "stream":
        return [output["text"]]
    if output["output_type"] == "error":
        return [output["ename"], output["evalue"], *output["traceback"]]
    data = output.get("data", {})
    return [json.dumps(v) if not isinstance(v, str) else v
            for k, v in data.items() if k in TEXT_MIMES]


def _read(notebook: Path) -> dict:
    """A stored notebook as its JSON, its multi-line strings (sources, stream texts, non-JSON
    data) joined as ``nbformat.read`` joins them. Read without nbformat, whose schema validator
    takes seconds to import: this module runs in the fast tier."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell["source"] = _joined(cell["source"])
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _joined(output["text"])
            data = output.get("data", {})
            for mime in data:
                if not mime.endswith("json"):
                    data[mime] = _joined(data[mime])
    return nb


def _joined(value):
    return "".join(value) if isinstance(value, list) else value


def _outputs(notebook: Path):
    for index, cell in enumerate(_read(notebook)["cells"]):
        for output in cell.get("outputs", []):
            yield index, output


def test_there_are_course_notebooks():
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_carry_no_tensorflow_noise(notebook: Path):
    found = [(i, m.group(0)) for i, out in _outputs(notebook)
             if out["output_type"] == "stream" and out["name"] == "stderr"
             for m in [TF_NOISE.search(out["text"])] if m]
    found += [(i, m.group(0)) for i, out in _outputs(notebook) for text in _texts(out)
              for m in [re.search(r"absl::InitializeLog|^[IWEF]0000 ", text, re.M)] if m]
    assert not found, f"{notebook.name}: TensorFlow's log lines in cells {found}; re-execute it " \
                      "with the course kernel (make notebooks)"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_carry_no_paths_of_the_machine(notebook: Path):
    found = [(i, text[max(0, m.start() - 40):m.end() + 40]) for i, out in _outputs(notebook)
             for text in _texts(out) for m in [MACHINE_PATH.search(text)] if m]
    metadata = json.dumps(_read(notebook)["metadata"])
    assert not MACHINE_PATH.search(metadata), f"{notebook.name}: a path in the metadata"
    assert not found, f"{notebook.name}: machine paths in cells {found}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_carry_no_widgets(notebook: Path):
    """Progress bars are widgets only live in JupyterLab: stored outputs stay deterministic (no
    random model ids, no widget state); ci/notebooks.sh runs with TQDM_DISABLE=1."""
    widgets = [i for i, out in _outputs(notebook)
               if any("widget" in key for key in out.get("data", {}))]
    assert not widgets, f"{notebook.name}: widget outputs in cells {widgets}"
    assert "widgets" not in _read(notebook)["metadata"]


@pytest.mark.parametrize(("value", "disabled"), [("1", True), ("", False), ("0", False)])
def test_progress_bar_honours_tqdm_disable(monkeypatch, value: str, disabled: bool):
    from lstmkit.timing import progress

    monkeypatch.setenv("TQDM_DISABLE", value)
    bar = progress(3, "runs")
    try:
        assert bar.disable is disabled
    finally:
        bar.close()


def test_notebooks_folder_holds_only_the_course():
    """The learner's file browser (``make lab`` serves notebooks/) shows the course only."""
    strays = [p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").rglob("*")
              if p.is_file() and not any(part.startswith(".") or part == "__pycache__"
                                         for part in p.relative_to(ROOT).parts)
              and not _is_course_file(p)]
    assert not strays, f"not course material, move it out of notebooks/: {strays}"
    assert not (ROOT / "notebooks" / "conftest.py").exists()


def _is_course_file(path: Path) -> bool:
    if path.parent == FIGURES:
        return path.suffix == ".svg"
    return path.parent == ROOT / "notebooks" and (path.suffix == ".ipynb"
                                                  or path.suffix in COURSE_DATA)


def _figure_links() -> dict[str, list[str]]:
    """Every image a course notebook's markdown shows: notebook name -> the links."""
    return {nb.name: [m["src"] for cell in _read(nb)["cells"]
                      if cell["cell_type"] == "markdown"
                      for m in FIGURE_LINK.finditer(cell["source"])]
            for nb in NOTEBOOKS}


def test_figures_shown_exist_and_figures_present_are_shown():
    """A notebook links its diagrams relatively (``figures/NAME.svg``: JupyterLab, a code host's
    notebook view and ``lstmkit report`` all resolve that), every link names a file, and
    notebooks/figures/ holds no figure that no notebook shows."""
    links = _figure_links()
    shown = {src for srcs in links.values() for src in srcs}
    assert shown, "no notebook shows a figure"
    for notebook, srcs in links.items():
        for src in srcs:
            assert re.fullmatch(r"figures/[\w-]+\.svg", src), \
                f"{notebook}: {src} is not figures/NAME.svg"
            assert (ROOT / "notebooks" / src).is_file(), f"{notebook} shows missing {src}"
    present = {f"figures/{p.name}" for p in FIGURES.glob("*") if p.is_file()}
    assert present <= shown, f"figures no notebook shows: {sorted(present - shown)}"


@pytest.mark.parametrize("figure", sorted(FIGURES.glob("*.svg")), ids=lambda p: p.stem)
def test_figures_are_standalone_svg(figure: Path):
    """Each figure parses as SVG with a size and a title (read aloud, shown on hover), and
    loads nothing: it renders the same everywhere, offline."""
    import xml.etree.ElementTree as ET

    root = ET.parse(figure).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") and root.get("width") and root.get("height")
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text.strip()
    assert not re.search(r"(?:href|src)\s*=\s*[\"'](?!#)", figure.read_text()), \
        f"{figure.name} refers to another file"


def test_ci_loads_the_nbval_settings_from_ci():
    test_sh = (ROOT / "ci" / "test.sh").read_text()
    assert "-p ci.nbval_plugin" in test_sh and "--nbval " in test_sh
    assert (ROOT / "ci" / "nbval_plugin.py").is_file()
    assert "./ci/course_kernel" in (ROOT / "ci" / "bootstrap.sh").read_text()


def test_course_settings_turn_the_capture_off_and_keep_a_chosen_log_level(monkeypatch):
    """What IPython runs at every kernel's start: ipykernel's fd capture off, and
    TF_CPP_MIN_LOG_LEVEL=2 unless the user chose a level."""
    from traitlets.config import Config

    source = _plugin().SETTINGS.read_text()
    for preset, expected in ((None, "2"), ("0", "0")):
        if preset is None:
            monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
        else:
            monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", preset)
        config = Config()
        exec(compile(source, "ipython_kernel_config.py", "exec"),
             {"get_config": lambda config=config: config})
        assert config.IPKernelApp.capture_fd_output is False
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == expected



@pytest.mark.parametrize("machine, capped", [("x86_64", True), ("AMD64", True),
                                             ("aarch64", False), ("arm64", False)])
def test_course_settings_cap_the_instruction_set_on_x86_only(monkeypatch, machine, capped):
    """On x86-64 oneDNN and OpenBLAS are capped to AVX2 (stored outputs the same on AVX2 and
    AVX-512 machines) unless the user set them; other CPUs are left alone."""
    import platform

    from traitlets.config import Config

    source = _plugin().SETTINGS.read_text()
    monkeypatch.setattr(platform, "machine", lambda: machine)
    for preset in (None, "AVX512_CORE"):
        for name in ("ONEDNN_MAX_CPU_ISA", "OPENBLAS_CORETYPE"):
            if preset is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, preset)
        config = Config()
        exec(compile(source, "ipython_kernel_config.py", "exec"),
             {"get_config": lambda config=config: config})
        if preset is not None:
            assert os.environ["ONEDNN_MAX_CPU_ISA"] == os.environ["OPENBLAS_CORETYPE"] == preset
        elif capped:
            assert os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"
            assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"
        else:
            assert "ONEDNN_MAX_CPU_ISA" not in os.environ
            assert "OPENBLAS_CORETYPE" not in os.environ

def test_course_kernel_package_installs_the_settings_where_ipython_reads_them():
    from IPython.core.application import ENV_CONFIG_DIRS

    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib

    project = tomllib.loads((ROOT / "ci" / "course_kernel" / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["data-files"] == {
        "etc/ipython": ["ipython_kernel_config.py"]}
    assert os.path.join(sys.prefix, "etc", "ipython") in ENV_CONFIG_DIRS


def test_is_quiet_wants_the_installed_settings_and_no_capture_on_the_command_line(tmp_path):
    plugin = _plugin()
    assert plugin.is_quiet(_stock_spec()) == (
        Path(sys.prefix, "etc", "ipython", "ipython_kernel_config.py").is_file())
    assert not plugin.is_quiet(_stock_spec("--IPKernelApp.capture_fd_output=True"))
    assert not plugin.is_quiet({"argv": []})
    other = tmp_path / "bin" / "python"  # a Python whose environment lacks the settings
    other.parent.mkdir()
    other.write_text(f"#!/bin/sh\necho {tmp_path}\n")
    other.chmod(0o755)
    assert not plugin.is_quiet({"argv": [str(other), "-m", "ipykernel_launcher"]})
    (tmp_path / "etc" / "ipython").mkdir(parents=True)
    (tmp_path / "etc" / "ipython" / "ipython_kernel_config.py").write_text(
        plugin.SETTINGS.read_text())
    assert plugin.is_quiet({"argv": [str(other), "-m", "ipykernel_launcher"]})


def test_installed_course_kernel_is_quiet():
    """The kernel that ``make lab``, nbconvert, nbval and papermill start (ci/bootstrap.sh
    installs its settings)."""
    from jupyter_client.kernelspec import KernelSpecManager

    plugin = _plugin()
    spec = KernelSpecManager().get_kernel_spec(plugin.KERNEL_NAME)
    assert plugin.is_quiet(spec.to_dict()), (
        f"{sys.prefix}/etc/ipython/ipython_kernel_config.py is missing or stale; "
        f"run {plugin.INSTALL}")


@pytest.mark.slow
def test_the_course_kernel_wheel_installs_the_settings_into_the_prefix(tmp_path: Path):
    """pip builds ci/course_kernel into a wheel whose one data file lands in
    <prefix>/etc/ipython (a wheel is inspected: installing would replace this environment's)."""
    import zipfile

    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
         str(tmp_path), str(ROOT / "ci" / "course_kernel")],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = tmp_path.glob("lstmkit_course_kernel-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        data = [n for n in archive.namelist() if ".data/" in n]
        assert [n.split(".data/", 1)[1] for n in data] == [
            "data/etc/ipython/ipython_kernel_config.py"]
        assert archive.read(data[0]).decode() == _plugin().SETTINGS.read_text()


@pytest.mark.slow
def test_course_kernel_runs_tensorflow_without_noise(tmp_path: Path, monkeypatch):
    """A real kernel from the spec imports TensorFlow and runs an LSTM: nothing of TensorFlow's
    reaches the notebook, a progress bar is a widget, and a warning about user code still shows."""
    import nbformat
    from nbclient import NotebookClient

    (tmp_path / "kernels" / "python3").mkdir(parents=True)  # ipykernel's stock spec
    (tmp_path / "kernels" / "python3" / "kernel.json").write_text(json.dumps(_stock_spec()))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        "import keras\nimport tensorflow as tf\n"
        "layer = keras.layers.LSTM(4)\nprint(layer(tf.zeros((2, 5, 3))).shape)\n"
        "print(bool(tf.reduce_any(tf.zeros((2,)) > 0)))",
        "from lstmkit.timing import progress\nbar = progress(2, 'runs')\nbar.update(2)\n"
        "bar.close()\nfrom tqdm.notebook import tqdm_notebook\n"
        "print(isinstance(bar, tqdm_notebook))",
        "import warnings\nwarnings.warn('a mistake of the learner')",
    )]
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [(i, out) for i, cell in enumerate(nb.cells) for out in cell.outputs]
    stderr = [(i, out["text"]) for i, out in outputs
              if out["output_type"] == "stream" and out["name"] == "stderr"]
    stdout = ["".join(out["text"] for out in cell.outputs
                      if out["output_type"] == "stream" and out["name"] == "stdout")
              for cell in nb.cells]
    assert stdout[0] == "(2, 4)\nFalse\n"
    assert stdout[1] == "True\n"  # a widget
    assert [i for i, _ in stderr] == [2], stderr
    assert "UserWarning: a mistake of the learner" in stderr[0][1]
    assert not [t for _, out in outputs for t in _texts(out) if TF_NOISE.search(t)]


def _nbval(notebook: Path, jupyter_path: Path) -> subprocess.CompletedProcess:
    """ci/test.sh's nbval command on one notebook, with kernels looked up in ``jupyter_path``."""
    env = dict(os.environ, JUPYTER_PATH=str(jupyter_path), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "ci.nbval_plugin",
         "--nbval", "--nbval-sanitize-with", "ci/nbval_sanitize.cfg", str(notebook)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_nbval_settings_compare_stderr_and_want_the_quiet_kernel(tmp_path: Path):
    """ci/nbval_plugin.py: stderr is compared like any output, and nbval refuses to start with a
    kernel that would forward TensorFlow's C++ lines."""
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3 (lstmkit)", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("import sys\nprint('out')\nprint('err', file=sys.stderr)",
                                          execution_count=1, outputs=[
                                              nbformat.v4.new_output("stream", name="stdout",
                                                                     text="out\n")])]
    notebook = tmp_path / "tiny.ipynb"
    nbformat.write(nb, notebook)
    quiet, loud = tmp_path / "quiet", tmp_path / "loud"
    for folder, spec in ((quiet, _stock_spec()),
                         (loud, _stock_spec("--IPKernelApp.capture_fd_output=True"))):
        (folder / "kernels" / "python3").mkdir(parents=True)
        (folder / "kernels" / "python3" / "kernel.json").write_text(json.dumps(spec))

    refused = _nbval(notebook, loud)
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "pip install ./ci/course_kernel" in refused.stdout + refused.stderr

    compared = _nbval(notebook, quiet)
    assert compared.returncode == 1, compared.stdout + compared.stderr
    assert "stderr" in compared.stdout and "err" in compared.stdout
    nb.cells[0].outputs.append(nbformat.v4.new_output("stream", name="stderr", text="err\n"))
    nbformat.write(nb, notebook)
    passed = _nbval(notebook, quiet)
    assert passed.returncode == 0, passed.stdout + passed.stderr
