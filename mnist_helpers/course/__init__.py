"""What runs the course, kept apart from what the notebooks import.

- ``runner.py``: ``python -m mnist_helpers notebooks``, the readiness check: executes the series
  and compares every output with the committed notebooks (``--in-place`` refreshes them).
- ``outputs.py``: what counts as "the same output" (shared with nbval),
  and the metadata a committed notebook keeps.
"""
