"""The model store: fitted pipelines under ``<warehouse>/models/<model>/run_date=<version>``, indexed by
the ``model_versions`` Delta table (model, version, path, meta JSON), so that "the latest version" and "a
pinned version" are a table lookup that works on any file system Delta does. The path is kept relative to
the warehouse (``models/<model>/run_date=<version>``), so a warehouse copied or moved elsewhere still finds
its models; an absolute path (a row indexed before) is read as it is.

On a warehouse on the driver's own file system (a local path, or a shared one every node mounts), a model's
files are written and read by the driver alone, with Spark ML's local saving mode (the one Spark Connect saves
models with): no Spark job, where Spark ML's own writer starts one or two for every stage, about 1.4 s a
model on a tiny shop. The files then hold the same parameters and coefficients in Spark ML's binary layout
instead of Parquet. Either layout loads: :func:`load` tells them apart by the files (a ``metadata`` file, not
a folder), so versions saved before stay readable, and a warehouse on any other file system keeps Spark
ML's writer."""

from __future__ import annotations

import json
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from pyspark.ml import PipelineModel
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.errors import MissingTableError
from tailor.tables import Warehouse, hadoop_path

log = logging.getLogger(__name__)


class ModelNotFoundError(MissingTableError):
    """No trained version of a model matches the request."""


# Models this process saved or loaded, so that scoring right after training in one session (the pipeline, the
# demo) does not read them back: Spark ML's PipelineModel.load costs about 1.65 s a model on a tiny shop. A
# model is found again only under the path and the exact index row (meta) it was saved or loaded with, so a
# version re-trained by another process (a new row) is read from its files.
_SAVED: dict[str, PipelineModel] = {}
_KNOWN: OrderedDict[tuple[str, str, str], PipelineModel] = OrderedDict()
KNOWN_MAX = 16


def _key(wh: Warehouse, path: str, meta: str) -> tuple[str, str, str]:
    return wh.spark.sparkContext.applicationId, path, meta


def _remember(key: tuple[str, str, str], model: PipelineModel) -> None:
    _KNOWN[key] = model
    _KNOWN.move_to_end(key)
    while len(_KNOWN) > KNOWN_MAX:
        _KNOWN.popitem(last=False)


def forget_known() -> None:
    """Drop the models this process holds (the next load reads the files)."""
    _SAVED.clear()
    _KNOWN.clear()


def version_of(run_date: date) -> str:
    """The version a training run on ``run_date`` makes."""
    return run_date.isoformat()


def on_driver(wh: Warehouse, path: str) -> str | None:
    """``path`` as a path of the driver's own file system when the warehouse is on it, else None. (Spark ML's
    local mode hands the path to java.nio as it is: a ``file:`` URI would become a folder named ``file:``
    under the working directory.)"""
    p, fs = hadoop_path(wh.spark, path)
    return str(fs.makeQualified(p).toUri().getPath()) if fs.getScheme() == "file" else None


def _local_mode_switch(wh: Warehouse):
    """The JVM thread-local that turns Spark ML's local saving mode on (None on a Spark without it, before 4.0).
    PySpark runs a Python thread's calls on one JVM thread, so setting it affects only this thread's saves."""
    try:
        return wh.spark.sparkContext._jvm.org.apache.spark.ml.util.ReadWriteUtils.localSavingModeState()
    except Exception:  # a JavaPackage that is not callable: no such class
        return None


@contextmanager
def _driver_files(wh: Warehouse, path: str) -> Iterator[str | None]:
    """Within the block, Spark ML's local saving mode is on and the path to give it is yielded, when
    ``path`` is on the driver's file system and this Spark has the mode; otherwise None, and nothing changes."""
    local, switch = on_driver(wh, path), _local_mode_switch(wh)
    if local is None or switch is None:
        yield None
        return
    switch.set(True)
    try:
        yield local
    finally:
        switch.set(False)


def save(wh: Warehouse, model: PipelineModel, name: str, run_date: date) -> str:
    """Save ``model``'s files as version ``run_date`` of ``name`` (replacing a re-run's); returns the path.
    Not yet a version anyone loads: :func:`index` makes it one. Written by the driver alone when the
    warehouse is on its file system (see the module's notes)."""
    path = wh.model_path(name, run_date)
    with _driver_files(wh, path) as local:
        model.write().overwrite().save(local or path)
    _SAVED[path] = model
    return path


def _read(wh: Warehouse, path: str) -> PipelineModel:
    """The model saved at ``path``, in whichever layout it was written: Spark ML's local mode leaves a
    ``metadata`` file where its writer leaves a folder of part files."""
    with _driver_files(wh, path) as local:
        if local is not None and os.path.isfile(os.path.join(local, "metadata")):
            return PipelineModel.load(local)
    return PipelineModel.load(path)


def _relative(wh: Warehouse, path: str) -> str:
    """``path`` as ``model_versions`` keeps it: relative to the warehouse when under it."""
    prefix = wh.root.rstrip("/") + "/"
    return path[len(prefix):] if path.startswith(prefix) else path


def _absolute(wh: Warehouse, stored: str) -> str:
    """Where a ``model_versions`` path is now: under this warehouse unless it is absolute or a URI (``s3a://``,
    or Hadoop's ``file:/``)."""
    if stored.startswith("/") or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", stored):
        return stored
    return f"{wh.root.rstrip('/')}/{stored}"


def index(wh: Warehouse, run_date: date, saved: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Make the models ``saved`` ((name, path, meta) from :func:`save`) version ``run_date`` in
    ``model_versions``, in one commit (a re-run's rows of these models replaced)."""
    version = version_of(run_date)
    rows = [(name, version, path, json.dumps({"model": name, "version": version, **meta}, sort_keys=True))
            for name, path, meta in saved]
    df = wh.spark.createDataFrame([(n, v, _relative(wh, p), m) for n, v, p, m in rows],
                                  "model string, version string, path string, meta string")
    wh.replace_partition(df, "model_versions", run_date, among={"model": [name for name, _, _ in saved]})
    for _, _, path, row_meta in rows:  # (model, version, path, meta)
        if path in _SAVED:
            _remember(_key(wh, path, row_meta), _SAVED.pop(path))
    for name, _, meta in saved:
        _log_mlflow(name, version, meta)


def load(wh: Warehouse, name: str, run_date: date, version: str | None) -> tuple[
        PipelineModel, str, dict[str, Any]]:
    """(the model, its version, its metadata): ``version`` when given, else the latest trained on or before
    ``run_date``."""
    try:
        versions = wh.read("model_versions").where(F.col("model") == name)
    except MissingTableError:
        raise ModelNotFoundError(f"no model {name} has been trained: run tailor train-propensity first") from None
    if version is not None:
        row = versions.where(F.col("version") == version).first()
        if row is None:
            raise ModelNotFoundError(f"model {name} has no version {version} (propensity.version)")
    else:
        row = versions.where(F.col(S.RUN_DATE) <= F.lit(run_date)).orderBy(F.desc("version")).first()
        if row is None:
            raise ModelNotFoundError(f"no version of model {name} was trained on or before {run_date}: run "
                                     "tailor train-propensity first")
    path = _absolute(wh, row["path"])
    key = _key(wh, path, row["meta"])
    if key in _KNOWN:
        _KNOWN.move_to_end(key)
    else:
        _remember(key, _read(wh, path))
    return _KNOWN[key], row["version"], json.loads(row["meta"])


def _log_mlflow(name: str, version: str, meta: dict[str, Any]) -> None:
    """Log the run to MLflow when the optional ``mlflow`` package is installed; never required."""
    try:
        import mlflow
    except ImportError:
        return
    try:
        with mlflow.start_run(run_name=f"{name}-{version}"):
            mlflow.log_params({f"param.{k}": v for k, v in meta.get("params", {}).items()})
            mlflow.log_params({"model": name, "version": version, **meta.get("cutoffs", {})})
            mlflow.log_metrics({k: float(v) for k, v in meta.get("metrics", {}).items()})
    except Exception as e:  # a tracking server being down must not fail training
        log.warning("could not log %s %s to MLflow: %s", name, version, e)
