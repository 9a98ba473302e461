"""HL7 aECG XML output (root ``AnnotatedECG``, namespace ``urn:hl7-org:v3``), written as a
stream so a long record never sits in memory as text.

One rhythm ``series`` with one ``sequenceSet``: a ``TIME_ABSOLUTE`` ``GLIST_TS`` time sequence
(head = start time, increment = 1/fs s; ``TIME_RELATIVE`` ``GLIST_PQ`` from 0 s when the start
is unknown, so no time is invented) and one ``SLIST_PQ`` sequence per ECG lead
(``MDC_ECG_LEAD_<name>``), digits in 1 uV steps (scale 1 uV, origin 0). Patient id and sex
go into ``trialSubject``, the age into a "Reported Age" (LOINC 21612-7) control variable, the
device into the series author's ``manufacturerModelName``. Annotations become annotations of
the rhythm series with a ``TIME_ABSOLUTE`` boundary (and a lead boundary when they have a lead).
Non-ECG channels are not written (aECG holds ECG leads only); a note says so.

Written to the layout :mod:`ecgviewer.io.hl7_aecg` reads (and the FDA's 2003-12 schema uses).
Free texts (annotations, patient id, device, lead names) lose their control characters
(:func:`~ecgviewer.io.writers.clean_text`; XML 1.0 cannot hold them), with a note.

XML readers (ours included) refuse files over :data:`~ecgviewer.io._hl7.MAX_XML_BYTES`: a
recording whose aECG would be larger (a Holter) is refused before writing, from an estimate,
and the write stops as soon as the file passes the limit; EDF+ or WFDB hold it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from ecgviewer.errors import FileTooLargeError
from ecgviewer.io._hl7 import MAX_XML_BYTES
from ecgviewer.io.writers import Progress, TextCleaner, WriteResult, chunks, clean_text
from ecgviewer.record import STANDARD_LEADS, Record

#: Digits are integers in steps of this many microvolts.
SCALE_UV = 1.0
#: Base for offsets when the record has no start (never written: times are then relative).
NO_START = datetime(2000, 1, 1)
#: Samples per lead read to estimate the file size (a few slices spread over the record).
ESTIMATE_SAMPLES = 20_000


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S") + f".{moment.microsecond // 1000:03d}"


def _lead_code(name: str) -> str:
    """MDC code of a standard lead (MDC_ECG_LEAD_AVR); other names keep their spelling."""
    return "MDC_ECG_LEAD_" + (
        name.upper() if name in STANDARD_LEADS else clean_text(name).replace(" ", "_")
    )


def _too_large(path: Path, estimate: float | None = None) -> FileTooLargeError:
    size = "" if estimate is None else f"about {estimate / 2**20:,.0f} MB, "
    return FileTooLargeError(
        path,
        f"as HL7 aECG this recording would be {size}over the {MAX_XML_BYTES >> 20} MB limit "
        "of XML ECG readers (this viewer's included): export it as EDF+ or WFDB instead",
    )


def _estimated_bytes(record: Record, leads: list[int]) -> float:
    """Size of the digits (a few slices of the record measured, the rest extrapolated)."""
    n = record.n_samples
    if n == 0 or not leads:
        return 0.0
    width = min(n, max(1, ESTIMATE_SAMPLES // 10))
    starts = sorted({int(a) for a in np.linspace(0, n - width, 10)})
    chars = values = 0
    for a in starts:
        page = np.asarray(record.signal[:, a : a + width], dtype=np.float64)[leads]
        digits = np.round(page * 1000.0 / SCALE_UV).astype(np.int64)
        # Digits, a minus sign, a separating space.
        size = np.floor(np.log10(np.maximum(np.abs(digits), 1))) + 2 + (digits < 0)
        chars += int(size.sum())
        values += digits.size
    return chars / values * n * len(leads)


def iter_write(record: Record, path: Path) -> Progress:
    notes: list[str] = []
    # Without a start time the samples are on a relative time axis (TIME_RELATIVE, s from 0);
    # ``start`` is then only a base for computing offsets and is never written.
    relative = record.start is None
    start = record.start or NO_START
    leads = [k for k, name in enumerate(record.leads) if name not in record.non_ecg]
    if len(leads) < record.n_leads:
        notes.append(f"non-ECG channels not written: {', '.join(record.non_ecg)}")
    end = start + timedelta(seconds=record.duration)
    total = record.n_samples * len(leads)
    estimate = _estimated_bytes(record, leads)
    if estimate > MAX_XML_BYTES:
        raise _too_large(path, estimate)
    clean = TextCleaner()

    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        w = fh.write
        w('<?xml version="1.0" encoding="UTF-8"?>\n')
        w(
            '<AnnotatedECG xmlns="urn:hl7-org:v3" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" classCode="OBS" moodCode="EVN">\n'
        )
        w(f'  <id root="{uuid.uuid4()}"/>\n')
        w('  <code code="93000" codeSystem="2.16.840.1.113883.6.12" codeSystemName="CPT-4"/>\n')
        if not relative:
            w(
                f'  <effectiveTime><low value="{_ts(start)}"/><high value="{_ts(end)}"/>'
                "</effectiveTime>\n"
            )
        w(
            "  <componentOf><timepointEvent><componentOf><subjectAssignment><subject><trialSubject>\n"
        )
        if record.patient.id:
            w(f"    <id extension={quoteattr(clean(record.patient.id))}/>\n")
        w("    <subjectDemographicPerson>")
        if record.patient.name:
            family, _, given = clean(record.patient.name).partition(", ")
            w(f"<name><family>{escape(family)}</family>")
            w(f"<given>{escape(given)}</given></name>" if given else "</name>")
        if record.patient.sex in ("M", "F"):
            w(
                f'<administrativeGenderCode code="{record.patient.sex}" '
                'codeSystem="2.16.840.1.113883.5.1"/>'
            )
        if record.patient.birth_date is not None:
            born = record.patient.birth_date  # four-digit year: %Y gives "1" for year 1
            w(f'<birthTime value="{born.year:04d}{born.month:02d}{born.day:02d}"/>')
        w("</subjectDemographicPerson>\n")
        w(
            "  </trialSubject></subject></subjectAssignment></componentOf></timepointEvent>"
            "</componentOf>\n"
        )
        if record.patient.age is not None:
            w(
                '  <controlVariable><relatedObservation><code code="21612-7" '
                'codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC" displayName="Reported Age"/>'
                f'<value xsi:type="PQ" value="{record.patient.age:g}" unit="a"/>'
                "</relatedObservation></controlVariable>\n"
            )
        w('  <component><series><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>\n')
        if not relative:
            w(
                f'    <effectiveTime><low value="{_ts(start)}"/><high value="{_ts(end)}"/>'
                "</effectiveTime>\n"
            )
        if record.device:
            w(
                "    <author><seriesAuthor><manufacturedSeriesDevice><manufacturerModelName>"
                f"{_escape(clean(record.device))}</manufacturerModelName></manufacturedSeriesDevice>"
                "</seriesAuthor></author>\n"
            )
        w("    <component><sequenceSet>\n")
        if relative:
            w(
                '      <component><sequence><code code="TIME_RELATIVE" '
                'codeSystem="2.16.840.1.113883.6.24"/><value xsi:type="GLIST_PQ">'
                '<head value="0" unit="s"/>'
                f'<increment value="{1.0 / record.fs:.10g}" unit="s"/></value></sequence>'
                "</component>\n"
            )
        else:
            w(
                '      <component><sequence><code code="TIME_ABSOLUTE" '
                'codeSystem="2.16.840.1.113883.6.24"/><value xsi:type="GLIST_TS">'
                f'<head value="{_ts(start)}" unit="s"/>'
                f'<increment value="{1.0 / record.fs:.10g}" unit="s"/></value></sequence>'
                "</component>\n"
            )
        done = 0
        for k in leads:
            name = record.leads[k]
            clean(name)  # counted here; _lead_code cleans it
            w(
                f"      <component><sequence><code code={quoteattr(_lead_code(name))} "
                'codeSystem="2.16.840.1.113883.6.24"/><value xsi:type="SLIST_PQ">'
                f'<origin value="0" unit="uV"/><scale value="{SCALE_UV:g}" unit="uV"/><digits>'
            )
            for a, page in chunks(record):
                digits = np.round(page[k] * 1000.0 / SCALE_UV).astype(np.int64)
                w(" ".join(map(str, digits.tolist())))
                if a + page.shape[1] < record.n_samples:
                    w(" ")
                done += page.shape[1]
                if fh.tell() > MAX_XML_BYTES:  # the estimate was low: stop now, not at the end
                    raise _too_large(path)
                yield done, total, f"writing lead {name}"
            w("</digits></value></sequence></component>\n")
        w("    </sequenceSet></component>\n")
        if record.annotations:
            w("    <subjectOf><annotationSet>\n")
            for ann in record.annotations:
                if relative:
                    span = (
                        '<code code="TIME_RELATIVE" codeSystem="2.16.840.1.113883.6.24"/>'
                        f'<value xsi:type="IVL_PQ"><low value="{ann.onset:.6f}" unit="s"/>'
                        f'<high value="{ann.onset + ann.duration:.6f}" unit="s"/></value>'
                    )
                else:
                    low = start + timedelta(seconds=ann.onset)
                    high = low + timedelta(seconds=ann.duration)
                    span = (
                        '<code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.6.24"/>'
                        f'<value xsi:type="IVL_TS"><low value="{_ts(low)}"/>'
                        f'<high value="{_ts(high)}"/></value>'
                    )
                w(
                    '      <component><annotation><code code="ECGVIEWER_ANNOTATION" '
                    'codeSystemName="ecgviewer"/>'
                    f'<value xsi:type="CE" code="NOTE" displayName={quoteattr(clean(ann.text))}/>'
                    '<support><supportingROI classCode="ROIBND"><component><boundary>'
                    f"{span}</boundary></component>"
                )
                if ann.lead and ann.lead in record.leads:
                    w(
                        f"<component><boundary><code code={quoteattr(_lead_code(ann.lead))}/>"
                        "</boundary></component>"
                    )
                w("</supportingROI></support></annotation></component>\n")
            w("    </annotationSet></subjectOf>\n")
        w("  </series></component>\n</AnnotatedECG>\n")
    if clean.changed:
        notes.append(clean.note())
    if record.derived_leads:
        notes.append("aECG marks no lead as derived: derived leads are written as leads")
    return WriteResult([path], notes)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
