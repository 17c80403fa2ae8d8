"""Tailor: personalised marketing for e-commerce, as PySpark jobs that write Delta Lake tables."""

__version__ = "0.1.0"

DELTA_ARTIFACT = "io.delta:delta-spark_4.2_2.13:4.4.0"
"""The Delta Lake artifact matching this build's pyspark, for ``spark-submit --packages``."""
