"""Moved to :mod:`ecgviewer.paper.layouts` (Qt-free, shared with the report); kept so older
imports keep working."""

from ecgviewer.paper.layouts import *  # noqa: F401,F403
from ecgviewer.paper.layouts import LAYOUT_NAMES, page_layout_name  # noqa: F401
