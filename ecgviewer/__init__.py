"""ecgviewer: read ECGs as cardiologists do, and find the rare abnormal ones.

The Qt-free core (``record``, ``io``, ``signal``, ``analysis``, ``review``) can be used from
scripts; the GUI lives in ``ecgviewer.ui`` and the anomaly model in the top-level ``model``.
"""

import os as _os

__version__ = "0.1.0"

# Idle OpenMP threads sleep instead of spinning: on a 2-core workstation shared with the GUI or
# other programs, spinning torch threads made one ECG take 1.7 s instead of 30 ms. Read when
# torch loads OpenMP, hence here (before any torch import); a value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
