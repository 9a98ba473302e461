"""ecgviewer.io._common: the helpers every reader shares."""

from __future__ import annotations

import numpy as np

from ecgviewer.io._common import trim_trailing_fill


def _beats(n: int = 600) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / (7 + k)) * (k + 1) for k in range(12)]).round(3)


def test_fill_after_the_beat_is_cut():
    beats = _beats()
    filled = np.concatenate([beats, np.full((12, 600), 32767.0)], axis=1)
    np.testing.assert_array_equal(trim_trailing_fill(filled), beats)
    # Fill of each lead's own last value (a writer padding with the edge) too.
    edge = np.concatenate([beats, np.repeat(beats[:, -1:], 100, axis=1)], axis=1)
    assert trim_trailing_fill(edge).shape == (12, 599)  # the last real sample equals it


def test_a_short_flat_end_or_one_flat_lead_is_kept():
    beats = _beats()
    short = np.concatenate([beats, np.full((12, 10), 32767.0)], axis=1)
    assert trim_trailing_fill(short).shape == (12, 610)  # under 20 samples: not fill
    one_lead = np.concatenate([beats, np.full((12, 300), 32767.0)], axis=1)
    one_lead[3, 600:] = np.arange(300)  # one lead still varies: a recorded signal
    assert trim_trailing_fill(one_lead).shape == (12, 900)
    flat = np.zeros((12, 600))
    assert trim_trailing_fill(flat).shape == (12, 600)  # nothing varies: left as is


def test_an_error_message_is_one_bounded_printable_line() -> None:
    """Readers quote values from damaged files: binary, newlines, megabytes."""
    from ecgviewer.errors import CorruptFileError, brief

    exc = CorruptFileError("/d/bad\udcffname.dcm", "lead 'x\x00\ny' " + "z" * 100_000 + " is bad")
    text = str(exc)
    assert text.isprintable() and len(text) < 600
    assert text.startswith("/d/bad\\xffname.dcm: lead 'x\\x00\\ny' zzz")
    assert text.endswith("zzz is bad")  # the end of the sentence is kept
    assert exc.path == "/d/bad\udcffname.dcm"  # the path itself is untouched
    assert brief("a" * 300, 10) == "a" * 9 + "\u2026" and brief(b"\x01") == "b'\\x01'"
