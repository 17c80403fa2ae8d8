"""Shared by the spark-submit entry points: run one Tailor job with the command-line arguments given."""

from __future__ import annotations

import sys


def submit(job: str) -> None:
    from tailor.cli import main

    sys.exit(main([job, *sys.argv[1:]]))
