"""Process-wide settings for a process that does nothing but score (``ecgad score`` and the
scoring processes it starts), applied once the model is loaded.

Why, measured on the 2-core machine scoring 500 Hz ECGs in one thread (paired runs):

* **Garbage collector.** By then ~220,000 objects are loaded (torch, scipy, the network) and
  live as long as the process. ``gc.freeze()`` moves them out of the collector's sight, so a
  full collection does not walk them again (one took ~0.1 s within the first hundred ECGs).
* **glibc's malloc.** Scoring allocates and frees arrays of 0.1-10 MB for every ECG. glibc
  serves large ones from fresh ``mmap`` pages and returns freed heap to the system beyond a
  threshold that starts at 128 kB, so each ECG page-faulted ~600 times (1.1-1.7 ms of system
  time per ECG). Fixed thresholds keep that memory in the process for the next ECG: ~350
  faults and 0.5-0.9 ms, CPU time per ECG -0.8 to -1.7 ms; the process's peak memory did not
  move (~650 MB). Other C libraries (Windows, macOS) are left as they are.
"""

from __future__ import annotations

import ctypes
import gc
import sys

#: glibc mallopt parameters and the values set (bytes).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 16 << 20  # blocks below this come from the heap and are reused
TRIM_THRESHOLD = 64 << 20  # free heap kept for the next ECG before any is returned
TOP_PAD = 8 << 20  # heap grown in steps of this much


def settle_scoring_process() -> bool:
    """Freeze what is loaded out of the garbage collector's sight and, with glibc, keep freed
    memory for reuse. Returns whether glibc's settings were applied."""
    gc.freeze()
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another C library: leave it as it is
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    settings = (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (_M_TOP_PAD, TOP_PAD),
    )
    return all(mallopt(param, value) == 1 for param, value in settings)
