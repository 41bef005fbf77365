"""The layering of ARCHITECTURE.md: no core module imports an edge module (checked with ast on
the source, so imports inside functions count too)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lstmkit"
CORE = ["cells", "gru_cell", "layers", "gru", "loop", "fused", "fused_lstm", "fused_rnn",
        "fused_gru", "recurrence", "chunks", "derivatives", "internals", "cudnn", "params",
        "weights", "models", "data", "text", "validation"]
EDGE = {f"lstmkit.{name}" for name in ("bench", "bench_report", "timing", "workloads",
                                        "workload_rows", "workloads_fit", "workloads_torch",
                                        "report", "report_html", "provenance", "cli",
                                        "exercises")}
EDGE.add("lstmkit_cli")


def imported_modules(source: str, module: str) -> set[str]:
    """Every module an import statement in ``source`` names, relative imports resolved against
    ``lstmkit.<module>``; ``from lstmkit import x`` counts as importing ``lstmkit.x``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = f"lstmkit.{module}".split(".")[: -node.level]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def edge_imports(names: set[str]) -> set[str]:
    return {n for n in names if any(n == e or n.startswith(f"{e}.") for e in EDGE)}


def test_every_module_is_core_or_edge():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    modules |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert modules == set(CORE) | {e.split(".")[1] for e in EDGE if e != "lstmkit_cli"}


@pytest.mark.parametrize("module", CORE)
def test_core_never_imports_the_edge(module):
    source = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
    assert not edge_imports(imported_modules(source, module)), module


@pytest.mark.parametrize("line", [
    "import lstmkit.bench", "from lstmkit import report", "from lstmkit.exercises import tour",
    "from . import timing", "from .report_html import x", "import lstmkit_cli.arguments",
    "def f():\n    from lstmkit import cli",
])
def test_an_edge_import_is_caught(line):
    assert edge_imports(imported_modules(line, "layers"))


def test_core_imports_are_not_flagged():
    assert not edge_imports(imported_modules(
        "from lstmkit import recurrence\nfrom .cells import LSTMCell\nimport keras", "layers"))
