"""Benchmarks of the series against the original tutorial's pipeline: ``python -m benchmarks``."""
