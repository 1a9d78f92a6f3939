"""DataHub's `profiling` recipe block and its `datasetProfile` aspect, independent of any platform.

A platform's profiler (sources/<platform>/profiling.py) measures each table with its own SQL and hands
the figures here as `ColumnFigures`; this module decides what DataHub 1.7's SQLAlchemy profiler would
have written from the same figures: which metrics a column gets (by its kind and cardinality), the field
names, and the number formatting (`"6.0"` for an integer column's mean, `"1"` for its min, ISO dates).
Keeping that in one place is what lets every platform's profile equal DataHub's.
"""

import os
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from .plugin import PluginConfig, inert

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
HISTOGRAM_BUCKETS = 10

_BY_PLATFORM = "has no effect here: DataHub itself acts on it only for other platforms"


class ProfilingConfig(PluginConfig):
    """DataHub 1.7's `profiling` block of a SQL source: the same keys, defaults and meaning."""

    enabled: bool = Field(default=False, description="Whether profiling should be done.")
    profile_table_level_only: bool = Field(default=False, description="Row count, column count and size only.")
    include_field_null_count: bool = True
    include_field_distinct_count: bool = True
    include_field_min_value: bool = True
    include_field_max_value: bool = True
    include_field_mean_value: bool = True
    include_field_median_value: bool = True
    include_field_stddev_value: bool = True
    include_field_quantiles: bool = False
    include_field_distinct_value_frequencies: bool = False
    include_field_histogram: bool = False
    include_field_sample_values: bool = True
    max_workers: PositiveInt = Field(default=5 * (os.cpu_count() or 4),
                                     description="Connections profiling tables at the same time.")
    turn_off_expensive_profiling_metrics: bool = Field(
        default=False, description="No quantiles, value frequencies, histograms or sample values; at most 10 columns.")
    field_sample_values_limit: int = 20
    max_number_of_fields_to_profile: PositiveInt | None = None
    profile_table_size_limit: int | None = Field(default=5, description="Tables larger than this many GB are not profiled.")
    profile_table_row_limit: int | None = Field(default=5000000, description="Tables with more rows (by the catalog's "
                                                "estimate) are not profiled.")
    profile_table_row_count_estimate_only: bool = Field(default=False, description="rowCount from the catalog's estimate.")
    query_timeout_seconds: PositiveInt | None = Field(
        default=None, le=2147483, description="Server-side limit per profiling statement; a table whose statement "
                                              "exceeds it gets its table-level profile and a warning.")
    catch_exceptions: bool = Field(default=True, description="A table that fails is a warning (false: the run fails).")
    report_dropped_profiles: bool = False

    # DataHub's keys that change nothing here: warned about once when set.
    profile_if_updated_since_days: PositiveFloat | None = inert(
        "has no effect here: DataHub supports it only on Snowflake, BigQuery and Dremio")
    operation_config: dict[str, Any] = inert("has no effect here: profiling runs on its own schedule "
                                             "(profiling_schedule)", default_factory=dict)
    limit: int | None = inert("has no effect here: whole tables are profiled")
    offset: int | None = inert("has no effect here: whole tables are profiled")
    query_combiner_enabled: bool = inert("has no effect here: every table is profiled in one aggregate statement",
                                         default=True)
    query_combiner_flatten_enabled: bool = inert("has no effect here: every table is profiled in one aggregate "
                                                 "statement", default=False)
    max_queries_to_combine: PositiveInt = inert("has no effect here: every table is profiled in one aggregate "
                                                "statement", default=40)
    max_distinct_per_statement: PositiveInt = inert("has no effect here: every table is profiled in one aggregate "
                                                    "statement", default=5)
    profiling_isolation_level: str | None = inert("has no effect here: each profiling statement runs on its own "
                                                  "(autocommit)")
    partition_profiling_enabled: bool = inert(_BY_PLATFORM, default=True)
    partition_datetime: datetime | None = inert(_BY_PLATFORM)
    use_sampling: bool = inert(_BY_PLATFORM, default=True)
    sample_size: int = inert(_BY_PLATFORM, default=10000)
    profile_external_tables: bool = inert(_BY_PLATFORM, default=False)
    tags_to_ignore_sampling: list[str] | None = inert("has no effect here: no run reads tags from a server")
    profile_nested_fields: bool = inert(_BY_PLATFORM, default=False)
    nested_field_max_depth: PositiveInt = inert(_BY_PLATFORM, default=10)

    @model_validator(mode="before")
    @classmethod
    def _normalized_as_datahub_does(cls, values: Any) -> Any:
        """DataHub's own rules: table-level-only switches every field metric off (and forbids turning one on);
        the expensive-metrics switch turns four off and caps the columns at 10, unless set explicitly."""
        if not isinstance(values, dict):
            return values
        values = dict(values)
        if values.get("profile_table_level_only"):
            for name in cls.model_fields:
                if name.startswith("include_field_"):
                    if values.get(name):
                        raise ValueError("Cannot enable field-level metrics if profile_table_level_only is set")
                    values[name] = False
            if values.get("max_number_of_fields_to_profile") is not None:
                raise ValueError("max_number_of_fields_to_profile should be set to None with profile_table_level_only")
        if values.get("turn_off_expensive_profiling_metrics"):
            for name in ("include_field_quantiles", "include_field_distinct_value_frequencies",
                         "include_field_histogram", "include_field_sample_values"):
                values.setdefault(name, False)
            values.setdefault("max_number_of_fields_to_profile", 10)
        return values

    def any_field_level_metrics_enabled(self) -> bool:
        return any(getattr(self, name) for name in type(self).model_fields if name.startswith("include_field_"))


class ColumnKind(Enum):
    """DataHub's profiler data types: what decides a column's metrics and formatting."""

    INT = "INT"
    FLOAT = "FLOAT"
    NUMERIC = "NUMERIC"
    STRING = "STRING"
    DATETIME = "DATETIME"
    BOOLEAN = "BOOLEAN"
    OTHER = "UNKNOWN"

    @property
    def numeric(self) -> bool:
        return self in (ColumnKind.INT, ColumnKind.FLOAT, ColumnKind.NUMERIC)


class Cardinality(Enum):
    """Great Expectations' cardinality classes, as DataHub derives them (`convert_to_cardinality`)."""

    NONE = 0
    ONE = 1
    TWO = 2
    VERY_FEW = 3
    FEW = 4
    MANY = 5
    VERY_MANY = 6
    UNIQUE = 7


def cardinality(unique_count: int | None, non_null_count: int | None) -> Cardinality:
    if unique_count is None:
        return Cardinality.NONE
    pct = unique_count / non_null_count if non_null_count else None
    if pct == 1.0:
        return Cardinality.UNIQUE
    if unique_count == 1:
        return Cardinality.ONE
    if unique_count == 2:
        return Cardinality.TWO
    if 0 < unique_count < 20:
        return Cardinality.VERY_FEW
    if 0 < unique_count < 60:
        return Cardinality.FEW
    if unique_count == 0 or pct is None:
        return Cardinality.NONE
    return Cardinality.VERY_MANY if pct > 0.1 else Cardinality.MANY


_SPREAD = {Cardinality.FEW, Cardinality.MANY, Cardinality.VERY_MANY}
"""Quantiles and histograms need this many distinct values (DataHub skips the rest)."""
_FEW_NUMBERS = {Cardinality.ONE, Cardinality.TWO, Cardinality.VERY_FEW}
_FEW_VALUES = _FEW_NUMBERS | {Cardinality.FEW}


@dataclass
class ColumnPlan:
    """One profiled column and what its aggregate statement measures."""

    name: str
    kind: ColumnKind


@dataclass
class ColumnFigures:
    """What a platform measured for one column; None where it was not measured."""

    non_null: int | None = None
    distinct: int | None = None
    min: Any = None
    max: Any = None
    mean: Any = None
    stdev: Any = None
    median: Any = None
    quantiles: list[Any] | None = None
    histogram: list[int] | None = None
    frequencies: list[tuple[Any, int]] | None = None
    samples: list[Any] | None = None


def profiled_columns(config: ProfilingConfig, columns: list[tuple[str, ColumnKind]], table: str) -> list[ColumnPlan]:
    """The columns DataHub would profile, in table order, capped by `max_number_of_fields_to_profile`.

    `table` is the dataset name ("db.table"); no per-column pattern exists for SQL sources in DataHub 1.7.
    """
    if not config.any_field_level_metrics_enabled():
        return []
    plans = [ColumnPlan(name, kind) for name, kind in columns]
    if config.max_number_of_fields_to_profile is not None:
        plans = plans[: config.max_number_of_fields_to_profile]
    return plans


def wants_median(config: ProfilingConfig, plan: ColumnPlan) -> bool:
    return config.include_field_median_value and plan.kind.numeric


def wants_quantiles(config: ProfilingConfig, plan: ColumnPlan, figures: ColumnFigures) -> bool:
    return config.include_field_quantiles and plan.kind.numeric and _cardinality(config, figures) in _SPREAD


def wants_histogram(config: ProfilingConfig, plan: ColumnPlan, figures: ColumnFigures) -> bool:
    return (config.include_field_histogram and plan.kind.numeric and _cardinality(config, figures) in _SPREAD
            and figures.min is not None and figures.max is not None and figures.min != figures.max)


def wants_frequencies(config: ProfilingConfig, plan: ColumnPlan, figures: ColumnFigures) -> bool:
    allowed = _FEW_NUMBERS if plan.kind.numeric else _FEW_VALUES
    return config.include_field_distinct_value_frequencies and _cardinality(config, figures) in allowed


def _cardinality(config: ProfilingConfig, figures: ColumnFigures) -> Cardinality | None:
    """DataHub derives it only when it counts distinct values."""
    if not config.include_field_distinct_count:
        return None
    return cardinality(figures.distinct, figures.non_null)


def median_window(non_null: int) -> tuple[int, int]:
    """(offset, count) of the rows DataHub reads for a median without a native MEDIAN: the middle one or two."""
    return max(non_null // 2 - 1, 0), 2


def median_of(window: list[Any], non_null: int) -> Any:
    """DataHub's median from the window: the mean of the two middle values (as floats), else the middle one."""
    if not window:
        return None
    if non_null % 2 == 0 and len(window) == 2:
        return (float(window[0]) + float(window[1])) / 2.0
    return window[-1]


def quantile_rows(non_null: int, q: float) -> tuple[int, int]:
    """(offset, count) of the sorted non-null rows that PERCENTILE_CONT(q) interpolates between."""
    position = q * (non_null - 1)
    return int(position), 2


def quantile_of(window: list[Any], non_null: int, q: float) -> float | None:
    """PERCENTILE_CONT(q): linear interpolation between the two neighbouring sorted values."""
    if not window:
        return None
    position = q * (non_null - 1)
    low = float(window[0])
    high = float(window[1]) if len(window) > 1 else low
    return low + (high - low) * (position - int(position))


def histogram_bounds(low: Any, high: Any) -> list[tuple[Any, Any]]:
    """DataHub's ten equal-width buckets between min and max, computed on the values as the driver returned them."""
    size = (high - low) / HISTOGRAM_BUCKETS
    return [(low + i * size, low + (i + 1) * size) for i in range(HISTOGRAM_BUCKETS)]


def format_float(value: Any) -> str:
    number = float(value)
    return f"{number:.1f}" if number.is_integer() else str(number)


def format_datetime(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    try:
        return datetime.fromisoformat(text).isoformat()
    except (ValueError, TypeError):
        return text


def format_value(value: Any, kind: ColumnKind, *, as_stat: bool = False) -> str | None:
    """DataHub's `format_profile_value`: a min/max in the column's own terms, a statistic always as a float."""
    if value is None:
        return None
    if kind is ColumnKind.DATETIME:
        return format_datetime(value)
    if kind.numeric:
        if as_stat or kind is not ColumnKind.INT:
            return format_float(value)
        return str(int(value))
    return str(value)


def field_profiles(config: ProfilingConfig, columns: list[str], measured: dict[str, tuple[ColumnPlan, ColumnFigures]],
                   row_count: int) -> list[dict]:
    """Every column of the table, as DataHub lists them: measured ones in full, the rest by name only."""
    if not measured:
        return []
    return [field_profile(config, *measured[name], row_count) if name in measured else {"fieldPath": name}
            for name in columns]


def field_profile(config: ProfilingConfig, plan: ColumnPlan, figures: ColumnFigures, row_count: int) -> dict:
    """One entry of `fieldProfiles`, in DataHub's field order, with DataHub's rules for what is present."""
    out: dict[str, Any] = {"fieldPath": plan.name}
    if config.include_field_distinct_count and figures.distinct is not None:
        out["uniqueCount"] = figures.distinct
        if figures.non_null:
            out["uniqueProportion"] = min(1, figures.distinct / figures.non_null)
    if config.include_field_null_count and figures.non_null is not None:
        nulls = max(0, row_count - figures.non_null)
        out["nullCount"] = nulls
        if row_count > 0:
            out["nullProportion"] = min(1, nulls / row_count)
    kind = plan.kind
    if kind.numeric or kind is ColumnKind.DATETIME:
        if config.include_field_min_value and figures.min is not None:
            out["min"] = format_value(figures.min, kind)
        if config.include_field_max_value and figures.max is not None:
            out["max"] = format_value(figures.max, kind)
    if kind.numeric:
        for key, value in (("mean", figures.mean), ("median", figures.median), ("stdev", _stdev(figures))):
            if value is not None:
                out[key] = format_value(value, kind, as_stat=True)
        if figures.quantiles:
            kept = [{"quantile": str(q), "value": format_float(v)} for q, v in zip(QUANTILES, figures.quantiles)
                    if v is not None]
            if kept:
                out["quantiles"] = kept
    if figures.frequencies is not None:
        out["distinctValueFrequencies"] = [{"value": str(v), "frequency": n} for v, n in figures.frequencies]
    if figures.histogram is not None:
        bounds = histogram_bounds(figures.min, figures.max)
        out["histogram"] = {"boundaries": [format_float(lo) for lo, _ in bounds] + [format_float(bounds[-1][1])],
                            "heights": [float(n) for n in figures.histogram]}
    if figures.samples is not None:
        values = [str(v) for v in figures.samples if v is not None]
        if values:
            out["sampleValues"] = values
        elif figures.non_null == 0 and row_count > 0:
            out["sampleValues"] = []
    return _in_datahub_order(out)


def _stdev(figures: ColumnFigures) -> Any:
    """A NULL sample deviation means one value (undefined) or none; several equal values mean 0."""
    if figures.stdev is not None or figures.non_null is None:
        return figures.stdev
    return 0.0 if figures.non_null > 1 else None


_FIELD_ORDER = ("fieldPath", "uniqueCount", "uniqueProportion", "nullCount", "nullProportion", "min", "max", "mean",
                "median", "stdev", "quantiles", "distinctValueFrequencies", "histogram", "sampleValues")


def _in_datahub_order(profile: dict) -> dict:
    return {key: profile[key] for key in _FIELD_ORDER if key in profile}


@dataclass
class TableFigures:
    """One table's profile inputs: the catalog's figures, and the columns' where they were measured."""

    column_count: int
    size_in_bytes: int | None
    row_count: int | None
    field_profiles: list[dict] | None = field(default=None)
    """None: no column figures (an empty table, or a statement that timed out); [] when table-level only."""


def dataset_profile(figures: TableFigures, timestamp_millis: int) -> dict:
    """The `datasetProfile` aspect as DataHub 1.7's file sink writes it (and DataHub's classes read it back)."""
    aspect: dict[str, Any] = {
        "timestampMillis": timestamp_millis,
        "partitionSpec": {"partition": "FULL_TABLE_SNAPSHOT", "type": "FULL_TABLE"},
    }
    if figures.row_count is not None:
        aspect["rowCount"] = figures.row_count
    aspect["columnCount"] = figures.column_count
    if figures.field_profiles is not None:
        aspect["fieldProfiles"] = figures.field_profiles
    if figures.size_in_bytes is not None:
        aspect["sizeInBytes"] = figures.size_in_bytes
    return aspect
