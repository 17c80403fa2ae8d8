"""One module per job: ``run(spark, cfg, run_date[, args]) -> JobSummary`` and the tables it declares
(``READS``, ``SOFT_READS``, ``HISTORY``, ``WRITES``; see :class:`tailor.jobs.base.Job`). :data:`JOBS` is the
registry the CLI, the demo, the pipeline and the Airflow DAG read."""

from __future__ import annotations

from tailor.jobs import (
    als,
    analyze_experiment,
    campaign,
    cf,
    content,
    evaluate,
    features,
    forget,
    ingest,
    popularity,
    recommend,
    record_sends,
    report,
    rules,
    score_propensity,
    segments,
    similarity,
    stream,
    train_propensity,
)
from tailor.jobs.base import Job, job_of

JOBS: dict[str, Job] = {
    name: job_of(name, module, daily=name != "stream")
    for name, module in (
        ("ingest", ingest),
        ("features", features),
        ("segments", segments),
        ("similarity", similarity),
        ("content", content),
        ("cf", cf),
        ("als", als),
        ("popularity", popularity),
        ("rules", rules),
        ("train-propensity", train_propensity),
        ("score-propensity", score_propensity),
        ("evaluate", evaluate),
        ("recommend", recommend),
        ("stream", stream),
        ("campaign", campaign),
        ("record-sends", record_sends),
        ("analyze-experiment", analyze_experiment),
        ("report", report),
    )
}
"""Job name -> :class:`~tailor.jobs.base.Job`, in the order the demo runs them (a valid run order of the
graph :mod:`tailor.pipeline` derives from their declarations; ``stream`` is not part of it)."""

TOOLS: dict[str, Job] = {"forget": job_of("forget", forget, daily=False)}
"""Jobs run on request, never by the demo or the pipeline."""
