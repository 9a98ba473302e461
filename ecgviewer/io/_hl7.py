"""HL7 v3 plumbing for the aECG reader: safe XML parsing and the data types it needs.

``parse_xml`` uses :mod:`defusedxml` (entity declarations and external references are refused,
never expanded or fetched) and strips namespaces so elements are found by local name whatever
namespace use the producer chose. TS timestamps, PQ time quantities and a few attribute
accessors complete it.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from ecgviewer.errors import CorruptFileError, FileTooLargeError

__all__ = [
    "attr",
    "code_of",
    "parse_hl7_ts",
    "parse_xml",
    "pq_seconds",
    "text_of",
    "to_float",
    "xsi_type",
]

_SECONDS = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "min": 60.0, "h": 3600.0}
_TS_RE = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6})\d*)?([+-]\d{2}:?\d{2})?$"
)


#: Largest XML ECG parsed. The largest real file we know is 0.5 MB (a 10 s 12-lead aECG is
#: ~1 MB at 1 kHz); parsing costs ~2-3x the file's size in memory (a tree, then the samples).
MAX_XML_BYTES = 64 << 20


def parse_xml(path: Path) -> Element:
    """The document's root element, parsed safely, with namespace-free tags.

    Files over :data:`MAX_XML_BYTES` are refused before parsing (the tree of a hostile 360 MB
    file would not fit in memory).
    """
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    size = Path(path).stat().st_size
    if size > MAX_XML_BYTES:
        raise FileTooLargeError(
            path,
            f"XML file of {size / 2**20:,.0f} MB is over the {MAX_XML_BYTES >> 20} MB limit "
            "for XML ECGs (a 10 s 12-lead ECG is about 1 MB): not opened",
        )

    try:
        try:
            root = SafeET.parse(str(path)).getroot()
        except ParseError as exc:
            retry = _declared_wide_but_stored_narrow(path, exc)
            if retry is None:
                raise
            root = SafeET.fromstring(retry)
    except DefusedXmlException as exc:
        raise CorruptFileError(
            path,
            f"unsafe XML refused ({type(exc).__name__}): entity declarations and external "
            "references are not allowed in an ECG file",
        ) from None
    except ParseError as exc:
        raise CorruptFileError(path, f"malformed XML: {exc}") from None
    except (UnicodeError, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        raise CorruptFileError(path, f"malformed XML: {exc}") from None
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.rsplit("}", 1)[1]
    return root


_DECLARED_ENCODING = re.compile(
    rb"""^(<\?xml[^>]{0,200}?encoding\s*=\s*["'])(utf-?16[^"']{0,8})(["'])""", re.I
)


def _declared_wide_but_stored_narrow(path: Path, exc: ParseError) -> bytes | None:
    """The file's bytes with its declaration saying utf-8, when the parser refused it because
    it declares UTF-16 but is stored in single bytes (no byte-order mark, no NUL bytes): what
    a UTF-16 Philips TraceMasterVue export becomes when an editor saves it as UTF-8. None
    otherwise (the original error stands)."""
    if "encoding" not in str(exc):
        return None
    data = Path(path).read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:512]:
        return None
    head = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    fixed = _DECLARED_ENCODING.sub(rb"\1utf-8\3", head, count=1)
    return fixed if fixed != head else None


def attr(el: Element | None, name: str) -> str | None:
    """An attribute, stripped; None when absent or blank."""
    if el is None:
        return None
    value = el.get(name)
    return value.strip() if value is not None and value.strip() else None


def xsi_type(el: Element | None) -> str:
    if el is None:
        return ""
    for key, value in el.attrib.items():
        if key == "type" or key.endswith("}type"):
            return value.strip()
    return ""


def code_of(el: Element | None) -> str:
    return (attr(el.find("code"), "code") or "") if el is not None else ""


def text_of(el: Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


def parse_hl7_ts(text: str | None) -> tuple[datetime | None, str | None]:
    """An HL7 v3 TS (``YYYYMMDDHHMMSS.UUUU[+ZZzz]``, any precision) -> (naive local time, tz).

    The time is kept as written (the device's local clock); the UTC offset, when given, is
    returned as text for a note rather than making the datetime aware.
    """
    if not text:
        return None, None
    m = _TS_RE.match(text.strip())
    if not m:
        return None, None
    year, month, day, hour, minute, second, frac, tz = m.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError:
        return None, None
    return moment, tz


def pq_seconds(el: Element | None) -> float | None:
    """A PQ time (value + unit, default seconds) in seconds."""
    value = to_float(attr(el, "value"))
    if value is None:
        return None
    unit = (attr(el, "unit") or "s").lower()
    factor = _SECONDS.get(unit)
    return None if factor is None else value * factor


def to_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
