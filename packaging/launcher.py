"""Entry script of the frozen bundle: the same start-up path as ``python -m ecgviewer``."""

import multiprocessing

from ecgviewer.app import main

if __name__ == "__main__":
    # Harmless when no child process is started; required by frozen Windows/macOS builds if
    # anything (torch, pyqtgraph.multiprocess) ever spawns one.
    multiprocessing.freeze_support()
    raise SystemExit(main())
