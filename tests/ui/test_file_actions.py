"""File > Open: the dialog's patterns and filters."""

from __future__ import annotations


def test_open_dialog_offers_cart_formats_in_either_case():
    from ecgviewer.ui.file_actions import dialog_patterns

    patterns = dialog_patterns().split()
    assert {"*.scp", "*.SCP", "*.xml", "*.XML"} <= set(patterns)


def test_open_dialog_has_a_filter_per_format():
    from ecgviewer.ui.file_actions import open_filters

    filters = open_filters().split(";;")
    assert filters[0].startswith("ECG files (") and "*.dcm" in filters[0]
    assert "GE MUSE XML (*.xml *.XML)" in filters
    assert "DICOM ECG waveform (*.dcm *.dicom *.DCM *.DICOM)" in filters
    assert "ISHNE Holter (*.ecg *.ann *.ECG *.ANN)" in filters
    assert filters[-1] == "All files (*)"
