"""Statement library: look-up, search as you type, unknown codes refused with close matches."""

from __future__ import annotations

import pytest

from ecgviewer.review.statements import (
    CATEGORIES,
    LIBRARY,
    ReadingError,
    by_category,
    lookup,
    search,
)


def test_library_covers_every_category_with_unique_codes():
    codes = [s.code for s in LIBRARY]
    assert len(codes) == len(set(codes))
    groups = by_category()
    assert list(groups) == list(CATEGORIES)
    assert all(groups[c] for c in CATEGORIES)
    assert {"SR", "AFIB", "1AVB", "CLBBB", "LAD", "LVH", "IMI", "LQT", "NOISE"} <= set(codes)


def test_lookup_is_case_insensitive():
    assert lookup(" afib ").text == "Atrial fibrillation"


def test_unknown_code_is_refused_with_close_matches():
    with pytest.raises(ReadingError) as err:
        lookup("AFB")
    msg = str(err.value)
    assert "unknown statement code 'AFB'" in msg and "AFIB (Atrial fibrillation)" in msg
    with pytest.raises(ReadingError, match="flutter"):
        lookup("flutter")  # a word of the text finds the code


def test_search_ranks_exact_code_then_favourites_then_prefix_then_words():
    assert search("sr")[0].code == "SR"
    assert [s.code for s in search("lbb")][:2] == ["CLBBB", "ILBBB"]  # contained in the code
    assert search("brad")[0].code == "SBRAD"
    infarct = [s.code for s in search("infarction")]
    assert "IMI" in infarct and "ASMI" in infarct
    assert search("infarction", favourites=["IMI"])[0].code == "IMI"
    assert [s.code for s in search("", favourites=["LVH", "SR"])] == ["SR", "LVH"]  # library order
    assert search("zzzz") == []
