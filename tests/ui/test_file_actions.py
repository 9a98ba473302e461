"""File > Open: the dialog's patterns."""

from __future__ import annotations


def test_open_dialog_offers_cart_formats_in_either_case():
    from ecgviewer.ui.file_actions import dialog_patterns

    patterns = dialog_patterns().split()
    assert {"*.scp", "*.SCP", "*.xml", "*.XML"} <= set(patterns)
