"""Colours of the ECG paper, traces and overlay, per theme (RGBA tuples, no Qt types): the
viewer paints with them, the report prints the light theme."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    """Colours of one theme (RGBA tuples)."""

    name: str
    background: tuple[int, int, int, int]
    grid_minor: tuple[int, int, int, int]
    grid_major: tuple[int, int, int, int]
    trace: tuple[int, int, int, int]
    ghost: tuple[int, int, int, int]
    label: tuple[int, int, int, int]
    marks: tuple[int, int, int, int]  # calibration pulse, column separators
    heat: tuple[int, int, int]  # heat band colour; alpha comes from the map
    highlight: tuple[int, int, int, int]
    caliper: tuple[int, int, int, int]


LIGHT = Theme(
    name="light",
    background=(255, 250, 250, 255),
    grid_minor=(246, 196, 200, 255),  # pink 1 mm lines of ECG paper
    grid_major=(226, 110, 120, 255),  # red 5 mm lines
    trace=(0, 0, 0, 255),
    # Green, 2 px under the trace: seen as a halo where the ECG is as expected and as its own
    # line where it is not; not blue, which is the heat band's colour.
    ghost=(0, 160, 80, 170),
    label=(20, 20, 20, 255),
    marks=(0, 0, 0, 255),
    heat=(40, 80, 230),  # blue: stands out from the pink-red paper and the black trace
    highlight=(255, 140, 0, 255),
    caliper=(0, 140, 60, 255),
)

DARK = Theme(
    name="dark",
    background=(18, 18, 22, 255),
    grid_minor=(58, 44, 50, 255),
    grid_major=(140, 70, 82, 255),
    trace=(235, 235, 235, 255),
    ghost=(110, 230, 140, 170),
    label=(235, 235, 235, 255),
    marks=(235, 235, 235, 255),
    heat=(255, 170, 40),
    highlight=(255, 170, 0, 255),
    caliper=(80, 230, 120, 255),
)
