"""Tailor's benchmarks: ``make bench`` (or ``python -m benchmarks.run --help``). Not part of the tests."""
