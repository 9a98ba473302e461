"""Lead codes shared by the cart formats: the SCP-ECG lead numbers (EN 1064), which DICOM
waveforms also use (SCPECG ``5.6.3-9-N`` and the MDC ``2:N`` terms of ISO/IEEE 11073-10101)."""

from __future__ import annotations

#: SCP-ECG lead number -> lead name (EN 1064 lead table).
SCP_LEAD_NAMES: dict[int, str] = {
    1: "I",
    2: "II",
    3: "V1",
    4: "V2",
    5: "V3",
    6: "V4",
    7: "V5",
    8: "V6",
    9: "V7",
    10: "V2R",
    11: "V3R",
    12: "V4R",
    13: "V5R",
    14: "V6R",
    15: "V7R",
    16: "X",
    17: "Y",
    18: "Z",
    19: "CC5",
    20: "CM5",
    21: "LA",
    22: "RA",
    23: "LL",
    61: "III",
    62: "aVR",
    63: "aVL",
    64: "aVF",
    65: "-aVR",
    66: "V8",
    67: "V9",
    68: "V8R",
    69: "V9R",
    70: "D",
    71: "A",
    72: "J",
}
