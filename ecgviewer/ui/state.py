"""Typed view state, themes and persistent settings.

``ViewState`` is the one place the window's display choices live (no attribute bag shared by
widgets). Settings are an INI file in the user data directory, so each test (which gets its own
``ECGVIEWER_DATA_DIR``) has its own settings and the user's real ones are never touched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from PySide6.QtCore import QSettings

from ecgviewer.paper.layouts import PAGE_SECONDS  # noqa: F401 - re-exported
from ecgviewer.paper.theme import DARK, LIGHT, Theme  # noqa: F401 - re-exported
from ecgviewer.paths import user_data_dir

LAYOUTS: dict[str, str] = {
    "3x4": "3x4 + II rhythm",
    "6x2": "6x2",
    "12x1": "12x1",
}
SPEEDS_MM_S: tuple[float, ...] = (12.5, 25.0, 50.0)
GAINS_MM_MV: tuple[float, ...] = (5.0, 10.0, 20.0)
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


@dataclass
class ViewState:
    """What the clinician chose to see; saved between sessions."""

    layout: str = "3x4"  # key of LAYOUTS
    speed_mm_s: float = 25.0  # paper speed
    gain_mm_mv: float = 10.0  # amplitude scale
    page_start: float = 0.0  # seconds: start of the page on screen
    enlarged_lead: str | None = None  # one lead shown alone (double-click), None = layout
    show_overlay: bool = True  # anomaly heat band
    show_ghost: bool = True  # model's restored (expected-normal) trace
    threshold: float = 0.5  # heat band shows map values above this fraction of its scale
    opacity: float = 0.4  # heat band maximum opacity
    dark: bool = False  # dark theme (light paper is the default)
    display_filter: bool = True  # clinician's display filter on the traces
    fit_to_window: bool = False  # page scaled to the window instead of true scale
    device: str = "auto"  # where the model runs: auto / cpu / cuda

    _persisted = (
        "layout",
        "speed_mm_s",
        "gain_mm_mv",
        "show_overlay",
        "show_ghost",
        "threshold",
        "opacity",
        "dark",
        "display_filter",
        "device",
        "fit_to_window",
    )

    def save(self, settings: QSettings) -> None:
        for name in self._persisted:
            settings.setValue(f"view/{name}", getattr(self, name))

    @classmethod
    def load(cls, settings: QSettings) -> ViewState:
        state = cls()
        for name in cls._persisted:
            raw = settings.value(f"view/{name}")
            if raw is None:
                continue
            default = getattr(state, name)
            try:
                if isinstance(default, bool):
                    value = raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1")
                elif isinstance(default, float):
                    value = float(raw)
                else:
                    value = str(raw)
            except (TypeError, ValueError):
                continue
            setattr(state, name, value)
        if state.layout not in LAYOUTS:
            state.layout = "3x4"
        if state.speed_mm_s not in SPEEDS_MM_S:
            state.speed_mm_s = 25.0
        if state.gain_mm_mv not in GAINS_MM_MV:
            state.gain_mm_mv = 10.0
        if state.device not in DEVICES:
            state.device = "auto"
        state.threshold = min(0.95, max(0.0, state.threshold))
        state.opacity = min(1.0, max(0.05, state.opacity))
        return state

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def settings() -> QSettings:
    """The application's settings file (INI in the user data directory)."""
    return QSettings(str(user_data_dir() / "settings.ini"), QSettings.Format.IniFormat)
