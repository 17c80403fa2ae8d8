"""One ``run(spark, cfg, run_date) -> JobSummary`` per job. :data:`JOBS` is the registry the CLI, the demo
and (later) the pipeline runner read, in dependency order."""

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
from tailor.jobs.base import JobFn

JOBS: dict[str, JobFn] = {
    "ingest": ingest.run,
    "features": features.run,
    "segments": segments.run,
    "similarity": similarity.run,
    "cf": cf.run,
    "als": als.run,
    "content": content.run,
    "popularity": popularity.run,
    "rules": rules.run,
    "train-propensity": train_propensity.run,
    "score-propensity": score_propensity.run,
    "evaluate": evaluate.run,
    "recommend": recommend.run,
    "stream": stream.run,
    "campaign": campaign.run,
    "record-sends": record_sends.run,
    "analyze-experiment": analyze_experiment.run,
    "report": report.run,
}
"""Job name -> run function, in the order the demo runs them (a valid order of ``tailor.pipeline.NEEDS``)."""

TOOLS: dict[str, JobFn] = {
    "forget": forget.run,
}
"""Jobs run on request, never by the demo or the pipeline."""
