"""Qt-free long jobs, written as generators that yield progress between batches.

A job yields ``(done, total, message)`` tuples and returns its result; ``ui/workers.py`` steps it
on a thread pool and checks for cancellation between yields.
"""
