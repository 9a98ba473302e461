"""Worklist, score cache and review store (SQLite), CSV export. Qt-free."""
