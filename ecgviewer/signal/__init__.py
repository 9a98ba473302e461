"""Qt-free DSP shared by the viewer and the model: filters, resampling, R peaks, intervals.

- :mod:`~ecgviewer.signal.filters`: zero-phase high/low/band-pass, notch, baseline removal,
  and the viewer's :class:`~ecgviewer.signal.filters.DisplayFilter`.
- :mod:`~ecgviewer.signal.resample`: polyphase rate conversion and index mapping.
- :mod:`~ecgviewer.signal.rpeaks`: multi-lead R-peak detection at any rate.
- :mod:`~ecgviewer.signal.intervals`: heart-rate statistics and median-beat PR/QRS/QT/QTc.
- :mod:`~ecgviewer.signal.synthetic`: a 12-lead ECG with known fiducials (demo file, tests).

Modules are imported by name (``from ecgviewer.signal.rpeaks import detect_r_peaks``) so that
importing the package costs nothing until a function is needed.
"""
