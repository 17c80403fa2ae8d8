"""Typed, validated configuration.

The defaults live in the models below and are written out, value for value, in ``conf/base.yaml`` (a test
keeps the two equal). A run layers, in order: the defaults, each ``--conf FILE`` given (``conf/local.yaml``,
``conf/cluster.yaml`` or the user's own), then each ``--set dotted.key=value``. An unknown key, a wrong type
or a missing file raises :class:`~tailor.errors.ConfigError` with one line naming the key or file.

Example:
    >>> cfg = load_config(["conf/local.yaml"], ["spark.shuffle_partitions=4"])
    >>> cfg.spark.shuffle_partitions
    4
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from tailor.errors import ConfigError
from tailor.settings import (  # noqa: F401  (re-exported: the sections are part of the config's API)
    NAME_PATTERN,
    NUMERIC_FEATURES,
    SEGMENT_FEATURES,
    AlsGrid,
    AlsSettings,
    CampaignDefinition,
    CampaignSettings,
    CfSettings,
    ClvSettings,
    ContentSettings,
    CsvEntity,
    CsvSource,
    DeltaSettings,
    EvaluationSettings,
    FeaturesSettings,
    HybridSettings,
    HybridSource,
    IngestSettings,
    InteractionsSettings,
    MovieLensSource,
    OnlineRetailSource,
    PipelineSettings,
    PlanSettings,
    PopularitySettings,
    PrivacySettings,
    PropensitySettings,
    ReportSettings,
    RulesSettings,
    SegmentsSettings,
    SimilarityMethod,
    SimilaritySettings,
    SourcesSettings,
    SparkSettings,
    StreamSettings,
    Strict,
    SyntheticSettings,
    UpliftSettings,
)
from tailor.tables import Warehouse


class Config(Strict):
    """The whole configuration of a Tailor run."""

    seed: int = 42
    warehouse: str = "warehouse"
    """Root folder (or URI) under which every Delta table lives."""
    checkpoint_dir: str | None = None
    """Spark checkpoint folder; defaults to <warehouse>/_checkpoints."""
    catalog_database: str | None = None
    """When set, tables are also registered in the metastore under this database."""
    spark: SparkSettings = Field(default_factory=SparkSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    synthetic: SyntheticSettings = Field(default_factory=SyntheticSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    features: FeaturesSettings = Field(default_factory=FeaturesSettings)
    segments: SegmentsSettings = Field(default_factory=SegmentsSettings)
    clv: ClvSettings = Field(default_factory=ClvSettings)
    interactions: InteractionsSettings = Field(default_factory=InteractionsSettings)
    similarity: SimilaritySettings = Field(default_factory=SimilaritySettings)
    cf: CfSettings = Field(default_factory=CfSettings)
    als: AlsSettings = Field(default_factory=AlsSettings)
    content: ContentSettings = Field(default_factory=ContentSettings)
    popularity: PopularitySettings = Field(default_factory=PopularitySettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    propensity: PropensitySettings = Field(default_factory=PropensitySettings)
    hybrid: HybridSettings = Field(default_factory=HybridSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    campaigns: CampaignSettings = Field(default_factory=CampaignSettings)
    uplift: UpliftSettings = Field(default_factory=UpliftSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    delta: DeltaSettings = Field(default_factory=DeltaSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    plans: PlanSettings = Field(default_factory=PlanSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)

    @field_validator("catalog_database")
    @classmethod
    def _database_name(cls, v: str | None) -> str | None:
        if v is not None and not NAME_PATTERN.match(v):
            raise ValueError("must be lower-case letters, digits and underscores")
        return v

    @model_validator(mode="after")
    def _cf_reads_a_written_method(self) -> Config:
        if self.cf.item_method not in self.similarity.item_methods:
            raise ValueError(f"cf.item_method {self.cf.item_method!r} must be one of similarity.item_methods")
        if self.cf.user_method is not None and self.cf.user_method not in self.similarity.user_methods:
            raise ValueError(f"cf.user_method {self.cf.user_method!r} must be one of similarity.user_methods")
        return self

    @property
    def warehouse_uri(self) -> str:
        """The warehouse as a URI; a local relative folder is made absolute (Delta needs that)."""
        return as_uri(self.warehouse)

    @property
    def checkpoint_path(self) -> str:
        return as_uri(self.checkpoint_dir) if self.checkpoint_dir else f"{self.warehouse_uri}/_checkpoints"


def warehouse(spark, cfg: Config) -> Warehouse:
    """The :class:`~tailor.tables.Warehouse` of ``cfg``: its root, metastore database and retry policy, on
    ``spark`` (None is enough for paths)."""
    return Warehouse(spark, cfg.warehouse_uri, cfg.catalog_database, cfg.delta.conflict_retries,
                     cfg.delta.retry_backoff_seconds, cfg.seed)


def as_uri(location: str) -> str:
    """A URI (s3a://...) is kept; a local path is made absolute."""
    location = location.rstrip("/")
    return location if "://" in location else str(Path(location).resolve())


def _read_yaml(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {str(e).splitlines()[0]}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _apply_override(data: dict[str, Any], assignment: str) -> dict[str, Any]:
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects key=value, got {assignment!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    nested: Any = value
    for part in reversed(key.split(".")):
        nested = {part: nested}
    return _deep_merge(data, nested)


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "<root>"
        if e["type"] == "extra_forbidden":
            parts.append(f"unknown config key '{loc}'")
        else:
            parts.append(f"config key '{loc}': {e['msg']} (got {e.get('input')!r})")
    return "; ".join(parts)


def load_config(conf_files: list[str] | None = None, overrides: list[str] | None = None) -> Config:
    """Build the configuration from the defaults, YAML overlays and ``key=value`` overrides.

    Args:
        conf_files: YAML files applied in order, each over the one before.
        overrides: ``dotted.key=value`` strings; values are parsed as YAML scalars.

    Returns:
        The validated, immutable :class:`Config`.

    Raises:
        ConfigError: a file is missing or unreadable, a key is unknown, or a value has the wrong type.
    """
    data: dict[str, Any] = {}
    for f in conf_files or []:
        data = _deep_merge(data, _read_yaml(f))
    for o in overrides or []:
        data = _apply_override(data, o)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(e)) from None
