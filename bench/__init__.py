"""Benchmarks of the publishing pipeline: `python -m bench` (see docs/benchmarks.md)."""
