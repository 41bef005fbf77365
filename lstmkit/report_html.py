"""The HTML pages of ``lstmkit report``: self-contained, offline, linked to each other.

Each executed notebook becomes one page made by nbconvert's ``lab`` template with these changes:

- the page's ``<title>`` is the notebook's title (its first markdown ``# `` heading);
- math is typeset by a MathJax 2 copied beside the pages (``_static/mathjax/``, taken from the
  ``jupyter-server-mathjax`` package) and loaded by a relative URL, so the pages render without a
  network; require.js and mermaid, which the template loads from CDNs, are left out (the course
  has no widgets or mermaid diagrams);
- markdown images (the course's diagrams, ``notebooks/figures/*.svg``, linked as
  ``![...](figures/NAME.svg)``) are embedded as ``data:`` URIs, so a page needs no file beside
  it; a page with an image that cannot be embedded (a missing file) is not written, and the
  report says which image was missing;
- links to other notebooks (``03_driving_cells.ipynb``) point at their pages when those are part
  of the run, and become plain text otherwise; a "Previous · Index · Next" bar links the pages in
  run order;
- a code cell whose source JupyterLab hides (``jupyter.source_hidden``, as the exercises'
  solutions are) shows its source inside a closed ``<details>``, its outputs as usual.

Heavy imports (nbconvert, nbformat, jinja2, bs4) happen inside the functions.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

STATIC_DIR = "_static"
MATHJAX_DIR = f"{STATIC_DIR}/mathjax"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # the combined configuration the copy ships
# What a page never loads: the accessibility explorer (3.7 MB, opt-in from MathJax's menu) and
# the SVG output's fonts (its jax.js is not in the package, so SVG output cannot run anyway).
_MATHJAX_SKIP = ("a11y", "SVG")
_NOTEBOOK_LINK = re.compile(r"^(?P<stem>[^/\\:?#]+)\.ipynb(?P<fragment>#.*)?$")
_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.M)

# Extends the lab template; "report.html.j2" is served from memory by a DictLoader.
TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
// The copy has STIX-Web fonts only (as the classic notebook configured it): no TeX web fonts,
// no image fonts.
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web",
                                 imageFont: null}});
</script>
{{ super() }}
{%- endblock html_head_js_mathjax -%}
{%- block html_head_css -%}
<style type="text/css">
nav.lstmkit-nav { display: flex; gap: 1.5em; justify-content: space-between;
  max-width: 1200px; margin: 1em auto; padding: .4em 1em; border: 1px solid #ddd;
  border-radius: 4px; font-family: var(--jp-ui-font-family, sans-serif); }
nav.lstmkit-nav span { flex: 1; }
nav.lstmkit-nav .index { text-align: center; }
nav.lstmkit-nav .next { text-align: right; }
details.lstmkit-hidden-source > summary { cursor: pointer; padding: .2em 0 .2em 1em;
  color: var(--jp-ui-font-color2, #555); font-family: var(--jp-ui-font-family, sans-serif); }
</style>
{%- endblock html_head_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.lstmkit_nav }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.lstmkit_nav }}
{{ super() }}
{% endblock body_footer %}
{% block input_group -%}
{%- if cell.metadata.get('jupyter', {}).get('source_hidden', False) -%}
<details class="lstmkit-hidden-source">
<summary>{{ 'Solution' if 'solution' in cell.metadata.get('tags', []) else 'Code' }}</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{% endblock input_group %}
"""


def notebook_title(nb: Any, fallback: str) -> str:
    """The text of the first markdown cell's first ``# `` heading, markup removed; else
    ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        match = _HEADING.search(cell.source)
        if match:
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1))  # [text](url)
            return re.sub(r"[*_`]", "", text).strip()
    return fallback


def copy_mathjax(run_dir: Path) -> Path:
    """Copy MathJax into ``run_dir/_static/mathjax`` and return that folder.

    Raises ImportError when ``jupyter-server-mathjax`` is not installed.
    """
    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = run_dir / MATHJAX_DIR
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*_MATHJAX_SKIP),
                    dirs_exist_ok=True)
    return target


def _nav(stem: str, pages: Sequence[tuple[str, str]]) -> str:
    """The "Previous · Index · Next" bar of page ``stem`` among ``pages`` (stem, title)."""
    stems = [s for s, _ in pages]
    at = stems.index(stem) if stem in stems else -1

    def link(i: int, css: str, before: str, after: str) -> str:
        if at < 0 or not 0 <= i < len(pages):
            return f'<span class="{css}"></span>'
        target, title = pages[i]
        return (f'<span class="{css}">{before}<a href="{html.escape(target)}.html" rel="{css}">'
                f"{html.escape(title)}</a>{after}</span>")

    return ('<nav class="lstmkit-nav">' + link(at - 1, "prev", "&larr; Previous: ", "")
            + '<span class="index"><a href="index.html">Index of the report</a></span>'
            + link(at + 1, "next", "Next: ", " &rarr;") + "</nav>")


def relink(page: str, stems: Sequence[str]) -> str:
    """``page`` with each ``<a href="NAME.ipynb">`` pointing at ``NAME.html`` when NAME is in
    ``stems`` (the pages of this run), and turned into plain text otherwise."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, features="html.parser")
    changed = False
    for anchor in soup.find_all("a", href=True):
        match = _NOTEBOOK_LINK.match(anchor["href"])
        if not match:
            continue
        changed = True
        if match["stem"] in stems:
            anchor["href"] = f"{match['stem']}.html{match['fragment'] or ''}"
        else:
            anchor.name = "span"
            del anchor["href"]
            anchor["title"] = f"{match['stem']} is not part of this report"
    return str(soup) if changed else page


def export_page(executed: Path, source_dir: Path, pages: Sequence[tuple[str, str]]) -> str:
    """The HTML page of the executed notebook ``executed`` among this run's ``pages``.

    ``source_dir`` is where the notebook came from (markdown images are read from there).
    Raises ValueError naming the images that could not be embedded (a missing file).
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    stem = executed.stem
    nb.metadata["title"] = notebook_title(nb, stem)  # only in this copy: the page's <title>
    exporter = HTMLExporter(
        template_file="report.html.j2",
        extra_loaders=[jinja2.DictLoader({"report.html.j2": TEMPLATE})],
        mathjax_url=f"{MATHJAX_DIR}/MathJax.js?config={MATHJAX_CONFIG}",
        embed_images=True,
    )
    resources = {"metadata": {"name": stem, "path": str(source_dir)},
                 "lstmkit_nav": _nav(stem, pages)}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    missing = unembedded_images(body)
    if missing:
        raise ValueError(f"{executed.name}: image(s) not found in {source_dir}, so not embedded: "
                         + ", ".join(missing))
    return relink(body, [s for s, _ in pages])


def unembedded_images(page: str) -> list[str]:
    """The ``src`` of every ``<img>`` of ``page`` that is not embedded (not a ``data:`` URI):
    nbconvert leaves an image it cannot read as a link, which would be dead in the report."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, features="html.parser")
    return [img["src"] for img in soup.find_all("img", src=True)
            if not img["src"].startswith("data:")]


def write_index(run_dir: Path, run_name: str, results: Sequence[Any],
                made_by: Sequence[tuple[str, str]] = ()) -> Path:
    """Write ``index.html``: each notebook's page, status, duration, parameters and error
    (``results``, :class:`lstmkit.report.Result`), then what made the run (``made_by`` rows)."""
    rows = []
    for r in results:
        name, stem = r.notebook.path.name, r.notebook.stem
        links = []
        if r.html:
            links.append(f'<a href="{html.escape(stem)}.html">HTML</a>')
        if (run_dir / name).exists():
            links.append(f'<a href="{html.escape(name)}">notebook</a>')
        params = ", ".join(f"{k}={v!r}" for k, v in r.parameters.items()) or "defaults"
        detail = "; ".join(filter(None, [r.error, *r.messages]))
        title = f"<br><small>{html.escape(r.title)}</small>" if r.title else ""
        rows.append(
            f'<tr class="{r.status}"><td>{html.escape(stem)}</td>'
            f"<td>{r.status}</td><td>{r.seconds:.1f} s</td><td>{' · '.join(links)}{title}</td>"
            f"<td>{html.escape(params)}</td><td>{html.escape(detail)}</td></tr>")
    failed = sum(r.status != "ok" for r in results)
    summary = f"{len(results) - failed} ok, {failed} failed"
    made = "\n".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
                     for label, value in made_by)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>lstmkit report: {html.escape(run_name)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: .3em .6em; }}
table.results tr.ok td:nth-child(2) {{ color: #070; }}
table.results tr.failed td:nth-child(2) {{ color: #b00; font-weight: bold; }}
table.results td:last-child {{ white-space: pre-wrap; font-family: monospace; }}
table.made-by th {{ text-align: left; font-weight: normal; color: #555; }}
</style></head><body>
<h1>lstmkit report: {html.escape(run_name)}</h1>
<p>{summary}</p>
<table class="results">
<tr><th>notebook</th><th>status</th><th>duration</th><th>files</th><th>parameters</th><th>error</th></tr>
{chr(10).join(rows)}
</table>
<h2>What made this run</h2>
<table class="made-by">
{made}
</table>
</body></html>
"""
    index = run_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
