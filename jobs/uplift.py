"""spark-submit entry point: ``spark-submit jobs/uplift.py --conf conf/local.yaml --run-date 2026-11-23``."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _entry import submit

if __name__ == "__main__":
    submit("uplift")
