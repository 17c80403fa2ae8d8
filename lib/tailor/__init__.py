"""Tailor: personalised marketing for e-commerce, as PySpark jobs that write Delta Lake tables."""

__version__ = "0.1.0"
