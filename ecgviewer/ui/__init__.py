"""PySide6 + pyqtgraph viewer. The only package that imports Qt; it never imports torch."""
