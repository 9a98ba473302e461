"""``python -m ecgviewer [FILE]``: start the viewer."""

from ecgviewer.app import main

raise SystemExit(main())
