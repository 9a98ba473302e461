"""Qt-free DSP shared by the viewer and the model: filters, resampling, R peaks, intervals.

- :mod:`~ecgviewer.signal.filters`: zero-phase high/low/band-pass, notch, baseline removal,
  and the viewer's :class:`~ecgviewer.signal.filters.DisplayFilter`.
- :mod:`~ecgviewer.signal.resample`: polyphase rate conversion and index mapping.
- :mod:`~ecgviewer.signal.rpeaks`: multi-lead R-peak detection at any rate.
- :mod:`~ecgviewer.signal.median_beat`: per-lead median beats of the dominant morphology.
- :mod:`~ecgviewer.signal.intervals`: heart-rate statistics and :func:`measure`, the one
  measurement path (global intervals, axes, amplitudes, ST levels, fiducials, reasons).
- :mod:`~ecgviewer.signal.serial`: changes between two ECGs beyond measurement noise.
- :mod:`~ecgviewer.signal.synthetic`: a 12-lead ECG with known fiducials (demo file, tests).

Modules are imported by name (``from ecgviewer.signal.rpeaks import detect_r_peaks``) so that
importing the package costs nothing until a function is needed.
"""
