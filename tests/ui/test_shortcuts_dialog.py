"""Help > Keyboard shortcuts lists every key, menu actions included."""

from __future__ import annotations

from ecgviewer.ui.shortcuts_dialog import shortcut_rows


def test_every_action_shortcut_and_the_widget_keys_are_listed(window):
    window.actions["help_shortcuts_probe"] = window.actions["quit"]  # any action is picked up
    window.show_shortcuts()
    dialog = window.shortcuts_dialog
    assert dialog.isVisible()
    keys = {row[1] for row in dialog.rows}
    for needed in (
        "N",
        "P",
        "O",
        "G",
        "C",
        "Esc",
        "Ctrl+1",
        "Ctrl+2",
        "Ctrl+3",
        "Ctrl+F",
        "Ctrl+0",
        "F / Shift+F",
        "PgDown",
        "PgUp",
        "F1",
    ):
        assert needed in keys, needed
    listed = {row[1] for row in shortcut_rows(window)}
    for action in window.actions.values():
        if not action.shortcut().isEmpty():
            assert action.shortcut().toString() in listed
    assert dialog.table.rowCount() == len(dialog.rows)
    dialog.close()
