"""spark-submit entry point of the whole daily pipeline:
``spark-submit --py-files dist/tailor-0.1.0.zip jobs/pipeline.py --conf conf/local.yaml --run-date 2026-11-23``
(``--from JOB`` or ``--only JOB`` run part of it)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _entry import submit

if __name__ == "__main__":
    submit("pipeline")
