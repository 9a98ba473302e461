"""The windows' state is declared where they are built: no module sets attributes on them.

Mixins and builder functions used to set ~35 attributes on MainWindow and WorklistWindow from
other modules (widgets, workers, dialogs); they are now widgets and controllers of their own.
This keeps it so: an attribute assigned on ``self`` in a window method (or on ``window`` / ``win``
in a ui module) must be one its ``__init__`` declares.
"""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "ecgviewer" / "ui"
WINDOWS = {"MainWindow": "main_window.py", "WorklistWindow": "worklist_window.py"}


def _assigned(node: ast.AST, names: set[str]) -> set[str]:
    out = set()
    for n in ast.walk(node):
        targets = n.targets if isinstance(n, ast.Assign) else []
        if isinstance(n, ast.AnnAssign | ast.AugAssign):
            targets = [n.target]
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name):
                if t.value.id in names:
                    out.add(t.attr)
    return out


def _window_class(name: str) -> ast.ClassDef:
    tree = ast.parse((UI / WINDOWS[name]).read_text())
    return next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == name)


def test_windows_have_no_mixins_and_set_only_declared_attributes():
    for name in WINDOWS:
        cls = _window_class(name)
        assert [ast.unparse(b) for b in cls.bases] in (["QMainWindow"],), name
        init = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
        declared = _assigned(init, {"self"})
        for item in cls.body:
            if isinstance(item, ast.FunctionDef) and item.name != "__init__":
                extra = _assigned(item, {"self"}) - declared
                assert not extra, f"{name}.{item.name} sets undeclared {sorted(extra)}"


def test_no_ui_module_sets_attributes_on_a_window():
    for path in sorted(UI.glob("*.py")):
        if path.name in WINDOWS.values():
            continue
        found = _assigned(ast.parse(path.read_text()), {"window", "win"})
        assert not found, f"{path.name} sets {sorted(found)} on a window"
