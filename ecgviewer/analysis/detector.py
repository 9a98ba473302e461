"""Getting a Detector without importing torch until it is needed, and naming its version.

The worklist must know the model version *before* loading the model, so that a folder whose
scores are all cached opens without importing torch at all: the version comes from the bundled
model card (a JSON file) when no detector object is given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from ecgviewer.paths import resource

log = logging.getLogger(__name__)

#: A detector object (has ``score_many``), a zero-argument factory returning one, or None for
#: the bundled model loaded lazily.
DetectorSource = Any


def version_key(model: Mapping[str, Any]) -> str:
    """Cache key of a model: name, version and the first 16 hex digits of the weights sha256.

    The sha256 is part of the key because retrained weights may keep the version string.
    """
    name = str(model.get("name", "model"))
    version = str(model.get("version", "?"))
    sha = str(model.get("sha256") or model.get("weights_sha256") or "")[:16]
    return f"{name}:{version}:{sha}"


def bundled_model_info() -> dict[str, Any] | None:
    """name/version/sha256 from ``resources/model/model_card.json``, or None when absent.

    The same keys ``model.infer.Detector`` reads from the card (name, version,
    weights_sha256), so the key is the same before and after loading.
    """
    card = resource("model/model_card.json")
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not data.get("weights_sha256"):
        return None
    return {
        "name": str(data.get("name", "ecg-cross-restoration")),
        "version": str(data.get("version", "untrained")),
        "sha256": str(data["weights_sha256"]),
    }


def detector_info(det: Any) -> dict[str, Any] | None:
    """name/version/sha256 of a loaded detector, if it says (``det.model`` or ``det.info``)."""
    for attr in ("model_info", "model", "info"):
        value = getattr(det, attr, None)
        if isinstance(value, Mapping) and "version" in value:
            return dict(value)
    return None


class LazyDetector:
    """Resolves a :data:`DetectorSource` on first use, in the job's thread.

    Parameters
    ----------
    source
        Detector object, factory, or None (``model.infer.Detector.load(weights, device)``).
    """

    def __init__(
        self, source: DetectorSource = None, *, device: str = "auto", weights: str | None = None
    ) -> None:
        self._source = source
        self._device = device
        self._weights = weights
        self._det: Any = source if hasattr(source, "score_many") else None
        self.loads = 0

    @property
    def loaded(self) -> bool:
        return self._det is not None

    def get(self) -> Any:
        if self._det is None:
            self.loads += 1
            if callable(self._source):
                self._det = self._source()
            else:
                # Imported here, never at module level: torch takes seconds to import. The
                # shared instance is the viewer's too (loaded once per process).
                from ecgviewer.analysis.scoring import get_detector

                self._det = get_detector(self._weights, self._device)
        return self._det

    def version_key(self) -> str:
        """Version key without loading the model when the card or the object says it."""
        info = detector_info(self._det) if self._det is not None else None
        if info is None and self._source is None and self._weights is None:
            info = bundled_model_info()
        if info is None:
            info = detector_info(self.get())
        if info is None:
            log.warning("the detector does not name its version; cached scores keyed 'unknown'")
            return "unknown"
        return version_key(info)


def result_model(result: Any) -> dict[str, Any]:
    model = getattr(result, "model", None)
    return dict(model) if isinstance(model, Mapping) else {}


Factory = Callable[[], Any]
