"""Benchmarks: `make bench` prints figures and ratios (never timed assertions in tests)."""
