"""ecgviewer: read ECGs as cardiologists do, and find the rare abnormal ones.

The Qt-free core (``record``, ``io``, ``signal``, ``analysis``, ``review``) can be used from
scripts; the GUI lives in ``ecgviewer.ui`` and the anomaly model in the top-level ``model``.
"""

__version__ = "0.1.0"
