"""``lstmkit report``'s HTML: pages one can send to a colleague, and a report that survives
Ctrl-C and a pip install without the course.

A module-scoped run of the three fixture notebooks (tests/fixtures/notebooks; no TensorFlow in
their kernels) is checked for titles, links, solutions, offline resources and provenance. The
browser test (``slow``) opens pages in headless Chromium with the network unavailable and checks
that MathJax typeset the math; it is skipped where Debian's chromium or chromedriver is missing,
except under CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import ast
import base64
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import OFFLINE, headless_chromium
from bs4 import BeautifulSoup

from lstmkit import report, report_html
from lstmkit.cli import main

pytestmark = pytest.mark.slow  # papermill runs notebooks; a browser

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "notebooks"
STEMS = ["01_params", "02_fails", "03_after"]
RENDER_TIMEOUT = 60  # seconds for MathJax to typeset a page on a busy 2-core machine


def _report(out: Path, *args: str, notebooks: Path = FIXTURES) -> int:
    return main(["report", "--notebooks-dir", str(notebooks), "--out", str(out),
                 "--name", "run", *args])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert _report(out) == 1  # 02_fails fails on purpose
    return out / "run"


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), features="html.parser")


def _local_targets(page: Path) -> list[str]:
    """Every src and href of ``page`` that is not an in-page anchor."""
    soup = _soup(page)
    urls = [tag.get("src") or tag.get("href") for tag in soup.find_all(["a", "link", "script",
                                                                      "img"])]
    return [u for u in urls if u and not u.startswith("#")]


def _assert_links_resolve(folder: Path) -> None:
    """Every link of every page in ``folder`` names a file there (no network, no dead link)."""
    for page in folder.glob("*.html"):
        for url in _local_targets(page):
            assert not re.match(r"^[a-z]+:", url), f"{page.name} loads {url}"
            path = url.split("#", 1)[0].split("?", 1)[0]
            assert (folder / path).is_file(), f"{page.name} links to missing {path}"


def test_pages_are_titled_by_their_notebooks(run_dir: Path) -> None:
    titles = {stem: _soup(run_dir / f"{stem}.html").title.string for stem in STEMS}
    assert titles == {"01_params": "Fixture: a parameterised notebook",  # markup removed
                      "02_fails": "Fixture: a notebook that fails",
                      "03_after": "Fixture: runs after the failure"}


def test_course_notebook_titles_are_their_first_headings() -> None:
    import nbformat  # here, not at the top: the fast tier collects this module too

    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert paths, "no course notebooks in notebooks/"
    for path in paths:
        title = report_html.notebook_title(nbformat.read(path, as_version=4), path.stem)
        assert re.fullmatch(rf"{path.stem[:2]} · \S.*", title), (path.name, title)


def test_links_go_between_the_html_pages(run_dir: Path) -> None:
    _assert_links_resolve(run_dir)
    first = _soup(run_dir / "01_params.html")
    hrefs = {a.get_text(): a["href"] for a in first.find_all("a", href=True)}
    assert hrefs["the failing fixture"] == "02_fails.html#Fixture:-a-notebook-that-fails"
    assert hrefs["the last one"] == "03_after.html"
    # a notebook that is not in the run is named, not linked
    missing = first.find("span", string="a missing notebook")
    assert missing is not None and "not part of this report" in missing["title"]
    assert not [a for a in first.find_all("a", href=True) if ".ipynb" in a["href"]]
    # Previous / Next in run order, on every page
    for i, stem in enumerate(STEMS):
        nav = _soup(run_dir / f"{stem}.html").find_all("nav", class_="lstmkit-nav")
        assert len(nav) == 2  # top and bottom
        rel = {a.get("rel", [""])[0]: a["href"] for a in nav[0].find_all("a")}
        assert rel.get("prev") == (f"{STEMS[i - 1]}.html" if i else None)
        assert rel.get("next") == (f"{STEMS[i + 1]}.html" if i + 1 < len(STEMS) else None)
        assert nav[0].find("a", href="index.html")
    # the stored notebooks keep their .ipynb links, for JupyterLab
    assert "(02_fails.ipynb#" in (FIXTURES / "01_params.ipynb").read_text()


def test_solution_cells_are_collapsed(run_dir: Path) -> None:
    soup = _soup(run_dir / "01_params.html")
    details = soup.find_all("details")
    assert len(details) == 1 and not details[0].has_attr("open")
    assert details[0].summary.get_text(strip=True) == "Solution"
    assert "the solution's source" in details[0].get_text()
    # its output stays visible, outside the <details>
    outputs = [o.get_text() for o in soup.select(".jp-OutputArea-output")]
    assert any("solution output: 3" in o for o in outputs)
    assert "solution output: 3" not in details[0].get_text()
    assert "the solution's source" in soup.get_text()  # nothing is lost, only folded


def test_pages_load_nothing_from_the_network(run_dir: Path) -> None:
    for stem in STEMS:
        page = (run_dir / f"{stem}.html").read_text(encoding="utf-8")
        soup = BeautifulSoup(page, features="html.parser")
        for tag in soup.find_all(["script", "link", "img", "iframe"]):
            url = tag.get("src") or tag.get("href") or ""
            assert not url.startswith(("http:", "https:", "//")), f"{stem}: {tag}"
        for script in soup.find_all("script"):  # nor by a script's import()
            assert not re.search(r"https?://", script.get_text()), f"{stem}: {script}"
        assert "_static/mathjax/MathJax.js?config=" in page
    assert (run_dir / report_html.MATHJAX_DIR / "MathJax.js").is_file()
    assert (run_dir / report_html.MATHJAX_DIR / "config" / "TeX-AMS-MML_HTMLorMML-full.js"
            ).is_file()


SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10">'
       '<rect width="20" height="10" fill="#123456"/></svg>')


def _notebook_with_images(folder: Path, *images: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 · Figures\n\n"
                                              + "\n\n".join(f"![a diagram]({i})" for i in images))]
    path = folder / "01_figures.ipynb"
    nbformat.write(nb, path)
    return path


def test_figures_are_embedded_in_the_page(tmp_path: Path) -> None:
    """A notebook's ``![...](figures/NAME.svg)`` becomes an image inside the page itself: no link
    to a file that the report folder does not have."""
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "box.svg").write_text(SVG, encoding="utf-8")
    path = _notebook_with_images(tmp_path, "figures/box.svg")
    page = report_html.export_page(path, tmp_path, [("01_figures", "01 · Figures")])
    images = _soup_text(page).find_all("img")
    assert len(images) == 1
    src = images[0]["src"]
    assert src.startswith("data:image/svg+xml;base64,"), src[:60]
    assert base64.b64decode(src.split(",", 1)[1]).decode() == SVG
    assert "figures/box.svg" not in page
    assert report_html.unembedded_images(page) == []


def test_a_missing_figure_is_named_not_linked(tmp_path: Path) -> None:
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "box.svg").write_text(SVG, encoding="utf-8")
    path = _notebook_with_images(tmp_path, "figures/box.svg", "figures/gone.svg")
    with pytest.raises(ValueError, match=r"not embedded: figures/gone\.svg$"):
        report_html.export_page(path, tmp_path, [("01_figures", "01 · Figures")])


def test_course_pages_embed_their_figures() -> None:
    """Every course notebook that shows a figure gets a page with every image embedded."""
    notebooks = ROOT / "notebooks"
    with_figures = [p for p in sorted(notebooks.glob("*.ipynb")) if "](figures/" in p.read_text()]
    assert with_figures, "no course notebook shows a figure"
    for path in with_figures:
        page = report_html.export_page(path, notebooks, [(path.stem, path.stem)])
        soup = _soup_text(page)
        embedded = [img for img in soup.find_all("img")
                    if img["src"].startswith("data:image/svg+xml;base64,")]
        assert embedded, path.name
        assert "figures/" not in " ".join(img["src"] for img in soup.find_all("img")), path.name


def _soup_text(page: str) -> BeautifulSoup:
    return BeautifulSoup(page, features="html.parser")


def test_index_records_what_made_the_run(run_dir: Path) -> None:
    import keras
    import tensorflow as tf

    index = _soup(run_dir / "index.html")
    made = {th.get_text(): th.find_next_sibling("td").get_text()
            for th in index.select("table.made-by th")}
    assert made["lstmkit"].startswith("0.1.0 (") and str(ROOT / "lstmkit") in made["lstmkit"]
    assert made["TensorFlow"] == tf.__version__ and made["Keras"] == keras.__version__
    assert made["Python"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")
    assert re.match(r"[0-9a-f]{40}\b", made["git commit"]) or \
        made["git commit"] == "not a git checkout"
    assert re.search(r"\d+ logical cores( \([a-z0-9_ ]+\))?$", made["CPU"])
    assert "TensorFlow built with" in made["GPU"]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", made["date"])
    assert made["parameters"] == "each notebook's defaults"
    assert "Fixture: a notebook that fails" in index.get_text()  # the titles are listed


def test_provenance_outside_a_checkout(tmp_path: Path) -> None:
    from lstmkit import provenance

    assert provenance.git_commit(tmp_path) == provenance.NOT_A_CHECKOUT


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_interrupted_run_leaves_the_previous_report_intact(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _report(tmp_path, "01", "03") == 0
    run = tmp_path / "run"
    before = _snapshot(run)
    capsys.readouterr()

    real_execute, calls = report.execute, []

    def execute_then_ctrl_c(*args: object, **kwargs: object) -> report.Result:
        calls.append(args[0])
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real_execute(*args, **kwargs)

    monkeypatch.setattr(report, "execute", execute_then_ctrl_c)
    assert _report(tmp_path, "-p", "SEED", "7") == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"lstmkit report: interrupted; the previous report in {run} is unchanged"
    assert len(calls) == 2
    assert _snapshot(run) == before  # byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no half-made folder left
    _assert_links_resolve(run)


def test_a_finished_run_replaces_the_previous_one_whole(tmp_path: Path) -> None:
    assert _report(tmp_path, "01", "--no-html") == 0
    assert _report(tmp_path, "03") == 0
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["03_after.html", "03_after.ipynb",
                                                     "_static", "index.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    _assert_links_resolve(run)


def test_folders_of_killed_runs_are_removed(tmp_path: Path) -> None:
    killed = tmp_path / ".run.partial-999999999-0123abcd"  # no such process
    killed.mkdir(parents=True)
    (killed / "01_params.ipynb").write_text("{}")
    other = tmp_path / ".other.partial-999999999-0123abcd"  # another run name: not ours
    other.mkdir()
    assert _report(tmp_path, "03", "--no-html") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "run"]


@pytest.mark.parametrize("module", ["nbformat", "papermill", "nbconvert"])
def test_missing_report_dependencies_are_named_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    assert _report(tmp_path) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith(f"lstmkit report: error: {module} not installed")
    assert "pip install " in captured.err and "`report` extra" in captured.err
    assert not (tmp_path / "run").exists()


def test_no_notebooks_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _report(tmp_path, notebooks=tmp_path / "notebooks") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and "--notebooks-dir DIR" in err
    (tmp_path / "empty").mkdir()
    assert _report(tmp_path, notebooks=tmp_path / "empty") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no notebooks" in err and "--notebooks-dir DIR" in err


def test_report_module_imports_nothing_heavy_at_top_level() -> None:
    """``lstmkit report --help`` must not wait for (or need) papermill, nbconvert, TensorFlow."""
    heavy = {"nbformat", "papermill", "nbconvert", "yaml", "tqdm", "jupyter_client", "bs4",
             "jinja2", "tensorflow", "keras", "jupyter_server_mathjax"}
    for name in ("report", "report_html", "provenance"):
        tree = ast.parse((ROOT / "lstmkit" / f"{name}.py").read_text())
        top = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                top |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                top.add(node.module.split(".")[0])
        assert not top & heavy, f"lstmkit/{name}.py imports {sorted(top & heavy)} at top level"


@pytest.fixture
def offline_chromium(tmp_path: Path) -> Iterator[object]:
    """Headless Chromium that cannot reach any network (every host unresolvable, a dead proxy)."""
    with headless_chromium(tmp_path, extra=OFFLINE, browser_log=True) as driver:
        yield driver


_MATH_STATE = """
const hub = window.MathJax && MathJax.Hub;
return {
  loaded: !!hub,
  idle: !!hub && hub.queue.pending === 0 && !hub.queue.running,
  sources: document.querySelectorAll('script[type^="math/tex"]').length,
  rendered: document.querySelectorAll('span.MathJax').length,
  errors: document.querySelectorAll('.MathJax_Error, merror').length,
};
"""


def _rendered_math(driver: object, page: Path) -> dict:
    """Open ``page`` and wait until MathJax has typeset it; return its final state."""
    driver.get(page.as_uri())
    deadline, state = time.monotonic() + RENDER_TIMEOUT, {}
    while time.monotonic() < deadline:
        state = driver.execute_script(_MATH_STATE)
        if state["idle"] and state["sources"] and state["rendered"] >= state["sources"]:
            return state
        time.sleep(0.5)
    raise AssertionError(f"{page.name}: math not typeset in {RENDER_TIMEOUT} s: {state}")


@pytest.mark.slow
def test_math_renders_offline_in_chromium(run_dir: Path, tmp_path: Path,
                                          offline_chromium: object) -> None:
    import nbformat

    pages = [run_dir / "01_params.html"]
    course = ROOT / "notebooks" / "01_rnn_cell_from_scratch.ipynb"
    if course.exists():  # a course page too, from its stored outputs (no kernel needed)
        report_html.copy_mathjax(tmp_path)
        title = report_html.notebook_title(nbformat.read(course, as_version=4), course.stem)
        page = tmp_path / f"{course.stem}.html"
        page.write_text(report_html.export_page(course, course.parent, [(course.stem, title)]),
                        encoding="utf-8")
        pages.append(page)
    driver = offline_chromium
    for page in pages:
        state = _rendered_math(driver, page)
        assert state["errors"] == 0, (page.name, state)
        assert driver.title == _soup(page).title.string
        # the display formula of the fixture is typeset, not left as TeX
        assert driver.execute_script("return document.querySelectorAll('.MathJax_Display')"
                                     ".length") >= 1
    logs = [entry["message"] for entry in driver.get_log("browser")]
    assert not [m for m in logs if re.search(r"https?://", m)], logs  # nothing tried the net
