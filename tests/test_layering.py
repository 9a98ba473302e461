"""The import rules of DESIGN.md, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(
    "modules, forbidden",
    [
        (
            ["ecgviewer.record", "ecgviewer.io", "ecgviewer.signal"],
            ["PySide6", "pyqtgraph", "torch"],
        ),
        (["model"], ["PySide6", "pyqtgraph"]),
        (["ecgviewer.review", "ecgviewer.analysis"], ["PySide6", "pyqtgraph", "torch"]),
    ],
)
def test_core_imports_stay_free_of(modules: list[str], forbidden: list[str]) -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"bad = [m for m in {forbidden!r} if m in sys.modules]\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"{modules} loaded {out.stdout.strip()}"


def test_no_two_modules_depend_on_each_other() -> None:
    """Every dependency points one way: no import cycle between modules of ecgviewer/model
    (imports inside functions and under TYPE_CHECKING count too)."""
    grimp = pytest.importorskip("grimp")  # import-linter's graph library
    graph = grimp.build_graph("ecgviewer", "model")
    modules = sorted(graph.modules)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in modules}
    # Tarjan's strongly connected components: any component of 2+ modules is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for m in modules:
        if m not in index:
            visit(m)
    assert cycles == []
