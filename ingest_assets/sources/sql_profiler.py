"""Profiling a SQL table in a fixed number of statements, whatever its width: the platform-neutral runner.

DataHub's profiler asks one question per metric per column (folded into CTEs that still scan the table once
each, then a sort per median and a query per column for samples); here a table costs

1. one aggregate statement: COUNT(*) and, for every profiled column, COUNT, COUNT(DISTINCT), MIN, MAX, AVG,
   STDDEV_SAMP — one scan;
2. one statement of UNION ALL parts for what needs rows: sample values, the median's middle rows and the
   quantiles' neighbours (ORDER BY ... LIMIT, the exact and cheapest way without a native MEDIAN), the value
   frequencies of low-cardinality columns;
3. with histograms on, one statement of bucket sums for every column that gets one.

The table-level figures (size, the row estimate) come from the catalog in one statement for the whole run.
A platform module (sources/<platform>/profiling.py) supplies a `ProfilingDialect`: connections, quoting, its
catalog query, its statement time limit and its types.
"""

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..core.profile import (
    QUANTILES,
    ColumnFigures,
    ColumnKind,
    ColumnPlan,
    ProfilingConfig,
    TableFigures,
    dataset_profile,
    field_profiles,
    histogram_bounds,
    median_of,
    median_window,
    profiled_columns,
    quantile_of,
    quantile_rows,
    wants_frequencies,
    wants_histogram,
    wants_median,
    wants_quantiles,
)
from ..core.report import StageReport

log = logging.getLogger("ingest_assets")


@dataclass(frozen=True)
class TableRequest:
    """A table in the snapshot to profile: where it is, its columns (name, native type) and its URN."""

    urn: str
    database: str
    schema: str | None
    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def dataset_name(self) -> str:
        return ".".join(p for p in (self.database, self.schema, self.name) if p is not None)


@dataclass(frozen=True)
class CatalogEntry:
    size_in_bytes: int | None
    row_estimate: int | None


class StatementTimeout(Exception):
    """A profiling statement ran past `query_timeout_seconds`."""


class ProfilingDialect:
    """What differs per platform. Connections are DB-API ones with the `%s` parameter style."""

    def connect(self, database: str) -> Any:
        raise NotImplementedError

    def catalog(self, requests: list[TableRequest]) -> dict[tuple, CatalogEntry]:
        """Size and row estimate per (database, schema, table), in one statement per database at most."""
        raise NotImplementedError

    def quote(self, name: str) -> str:
        raise NotImplementedError

    def table(self, request: TableRequest) -> str:
        return ".".join(self.quote(p) for p in (request.database, request.schema, request.name) if p is not None)

    def column_kind(self, native_type: str) -> ColumnKind:
        raise NotImplementedError

    def mean(self, column: str) -> str:
        return f"AVG({column} * 1.0e0)"

    def stdev(self, column: str) -> str:
        return f"STDDEV_SAMP({column})"

    def limited(self, sql: str, seconds: int | None) -> str:
        """The statement with the platform's per-statement time limit (or the session's, set on connect)."""
        return sql

    def on_connect(self, connection: Any, seconds: int | None) -> None:
        """Session settings for profiling connections (a time limit where the platform sets it per session)."""

    def is_timeout(self, exc: Exception) -> bool:
        raise NotImplementedError


class _Connections:
    """At most one connection per worker thread and database; closed together at the end."""

    def __init__(self, dialect: ProfilingDialect, timeout: int | None):
        self.dialect, self.timeout = dialect, timeout
        self.local = threading.local()
        self.opened: list[Any] = []
        self.lock = threading.Lock()

    def get(self, database: str) -> Any:
        held = getattr(self.local, "held", None)
        if held is None or held[0] != database:
            if held is not None:
                held[1].close()
            connection = self.dialect.connect(database)
            self.dialect.on_connect(connection, self.timeout)
            with self.lock:
                if held is not None:
                    self.opened.remove(held[1])
                self.opened.append(connection)
            self.local.held = held = (database, connection)
        return held[1]

    def close(self) -> None:
        for connection in self.opened:
            try:
                connection.close()
            except Exception:  # a connection the server already dropped
                pass


class TableProfiler:
    """Profiles tables with one dialect and one profiling config, `max_workers` connections at most."""

    def __init__(self, dialect: ProfilingDialect, config: ProfilingConfig, report: StageReport,
                 clock: Callable[[], int]):
        self.dialect, self.config, self.report, self.clock = dialect, config, report, clock
        self.statements = 0
        self._count_lock = threading.Lock()

    # --- the run ---

    def profile(self, requests: Iterable[TableRequest]) -> Iterator[tuple[TableRequest, dict]]:
        """(request, datasetProfile aspect) per table profiled, in request order."""
        requests = list(requests)
        if not requests:
            return
        catalog = self.dialect.catalog(requests)
        self._count(len({r.database for r in requests}))
        wanted = [(r, catalog.get((r.database, r.schema, r.name), CatalogEntry(None, None))) for r in requests]
        wanted = [(r, entry) for r, entry in wanted if self._within_limits(r, entry)]
        connections = _Connections(self.dialect, self.config.query_timeout_seconds)
        workers = max(1, min(self.config.max_workers, len(wanted)))
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="profile") as pool:
                pending: deque = deque()
                for request, entry in wanted:
                    pending.append((request, pool.submit(self._one, connections, request, entry)))
                    if len(pending) >= 2 * workers:
                        yield from self._finished(pending.popleft())
                while pending:
                    yield from self._finished(pending.popleft())
        finally:
            connections.close()

    def _finished(self, item) -> Iterator[tuple[TableRequest, dict]]:
        request, future = item
        aspect = future.result()
        if aspect is not None:
            self.report.count("datasets profiled")
            yield request, aspect

    def _within_limits(self, request: TableRequest, entry: CatalogEntry) -> bool:
        """DataHub's guardrails for MySQL: too large or too many rows by the catalog, and the table is left out."""
        config = self.config
        if (config.profile_table_size_limit is not None and entry.size_in_bytes is not None
                and entry.size_in_bytes / 2**30 > config.profile_table_size_limit):
            self._dropped(request, f"larger than profile_table_size_limit ({config.profile_table_size_limit} GB)")
            return False
        if (config.profile_table_row_limit is not None and entry.row_estimate is not None
                and entry.row_estimate > config.profile_table_row_limit):
            self._dropped(request, f"more rows than profile_table_row_limit ({config.profile_table_row_limit:,})")
            return False
        if not request.columns:
            return False
        return True

    def _dropped(self, request: TableRequest, why: str) -> None:
        self.report.count("datasets not profiled (limits)")
        if self.config.report_dropped_profiles:
            self.report.warn(f"profile of {request.dataset_name} dropped: {why}")

    def _count(self, n: int = 1) -> None:
        with self._count_lock:
            self.statements += n

    # --- one table ---

    def _one(self, connections: _Connections, request: TableRequest, entry: CatalogEntry) -> dict | None:
        try:
            return self._measure(connections.get(request.database), request, entry)
        except StatementTimeout:
            self.report.count("datasets profiled at table level after a timeout")
            self.report.warn(f"profile of {request.dataset_name}: a statement ran past query_timeout_seconds="
                             f"{self.config.query_timeout_seconds}; table-level profile only (rowCount is the "
                             "catalog's estimate)")
            return dataset_profile(TableFigures(len(request.columns), entry.size_in_bytes, entry.row_estimate), self.clock())
        except Exception as exc:
            if not self.config.catch_exceptions:
                raise
            self.report.warn(f"profile of {request.dataset_name} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            return None

    def _run(self, connection, sql: str, params: tuple = ()) -> list[tuple]:
        self._count()
        try:
            with connection.cursor() as cursor:
                cursor.execute(self.dialect.limited(sql, self.config.query_timeout_seconds), params or None)
                return list(cursor.fetchall())
        except Exception as exc:
            if self.dialect.is_timeout(exc):
                raise StatementTimeout() from None
            raise

    def _measure(self, connection, request: TableRequest, entry: CatalogEntry) -> dict:
        config = self.config
        estimate_only = config.profile_table_row_count_estimate_only
        names = [name for name, _ in request.columns]
        plans = profiled_columns(config, [(n, self.dialect.column_kind(t)) for n, t in request.columns], request.dataset_name)
        table = self.dialect.table(request)
        selects, readers = [] if estimate_only else ["COUNT(*)"], []
        for plan in plans:
            readers.append(self._aggregates(plan, selects))
        row_count = entry.row_estimate if estimate_only else None
        figures = {plan.name: ColumnFigures() for plan in plans}
        if selects:
            row = self._run(connection, f"SELECT {', '.join(selects)} FROM {table}")[0]
            values = iter(row)
            if not estimate_only:
                row_count = int(next(values))
            for plan, read in zip(plans, readers):
                read(figures[plan.name], values)
        if row_count is None or (row_count == 0 and not estimate_only):
            return dataset_profile(TableFigures(len(names), entry.size_in_bytes, row_count), self.clock())
        if plans:
            self._rows(connection, table, plans, figures)
            self._histograms(connection, table, plans, figures)
        measured = {plan.name: (plan, figures[plan.name]) for plan in plans}
        profiles = field_profiles(config, names, measured, row_count)
        return dataset_profile(TableFigures(len(names), entry.size_in_bytes, row_count, profiles), self.clock())

    def _aggregates(self, plan: ColumnPlan, selects: list[str]):
        """Adds the column's aggregates to the select list; returns what reads them back from the row."""
        config, column = self.config, self.dialect.quote(plan.name)
        fields = ["non_null"]
        selects.append(f"COUNT({column})")
        if config.include_field_distinct_count:
            selects.append(f"COUNT(DISTINCT {column})")
            fields.append("distinct")
        if plan.kind.numeric or plan.kind is ColumnKind.DATETIME:
            needs_range = config.include_field_histogram and plan.kind.numeric
            for name, wanted, expression in (
                    ("min", config.include_field_min_value or needs_range, f"MIN({column})"),
                    ("max", config.include_field_max_value or needs_range, f"MAX({column})")):
                if wanted:
                    selects.append(expression)
                    fields.append(name)
        if plan.kind.numeric:
            if config.include_field_mean_value:
                selects.append(self.dialect.mean(column))
                fields.append("mean")
            if config.include_field_stddev_value:
                selects.append(self.dialect.stdev(column))
                fields.append("stdev")

        def read(figures: ColumnFigures, values: Iterator) -> None:
            for name in fields:
                value = next(values)
                setattr(figures, name, int(value) if name in ("non_null", "distinct") else value)

        return read

    def _rows(self, connection, table: str, plans: list[ColumnPlan], figures: dict[str, ColumnFigures]) -> None:
        """Samples, medians, quantiles and value frequencies of every column in one UNION ALL statement.

        Each part puts its value in the column's own slot, NULL in the others, so every slot keeps the
        column's type (a DECIMAL stays a Decimal, a DATE a date) and the values read as DataHub reads them.
        """
        config, quote = self.config, self.dialect.quote
        width = len(plans)
        parts: list[str] = []

        def part(tag: str, index: int, value: str, count: str = "NULL") -> str:
            slots = ["NULL"] * width
            slots[index] = value
            return f"SELECT '{tag}' AS k, {index} AS i, {', '.join(slots)}, {count} AS n"

        for index, plan in enumerate(plans):
            column, got = quote(plan.name), figures[plan.name]
            non_null = got.non_null or 0
            if config.include_field_sample_values:
                parts.append(f"({part('s', index, column)} FROM {table} WHERE {column} IS NOT NULL "
                             f"LIMIT {int(config.field_sample_values_limit)})")
                got.samples = []
            if non_null and wants_median(config, plan):
                offset, count = median_window(non_null)
                parts.append(f"({part('m', index, column)} FROM {table} WHERE {column} IS NOT NULL "
                             f"ORDER BY {column} LIMIT {count} OFFSET {offset})")
            if non_null and wants_quantiles(config, plan, got):
                for q_index, q in enumerate(QUANTILES):
                    offset, count = quantile_rows(non_null, q)
                    parts.append(f"({part(f'q{q_index}', index, column)} FROM {table} WHERE {column} IS NOT NULL "
                                 f"ORDER BY {column} LIMIT {count} OFFSET {offset})")
            if wants_frequencies(config, plan, got):
                parts.append(f"({part('f', index, column, f'COUNT({column})')} FROM {table} "
                             f"WHERE {column} IS NOT NULL GROUP BY {column})")
                got.frequencies = []
        if not parts:
            return
        windows: dict[tuple[str, int], list] = {}
        for tag, index, *slots, count in self._run(connection, " UNION ALL ".join(parts)):
            value = slots[index]
            got = figures[plans[index].name]
            if tag == "s":
                got.samples.append(value)
            elif tag == "f":
                got.frequencies.append((value, int(count)))
            else:
                windows.setdefault((tag, index), []).append(value)
        for index, plan in enumerate(plans):
            got = figures[plan.name]
            if (window := windows.get(("m", index))) is not None:
                got.median = median_of(window, got.non_null)
            if wants_quantiles(config, plan, got) and got.non_null:
                got.quantiles = [quantile_of(windows.get((f"q{i}", index), []), got.non_null, q)
                                 for i, q in enumerate(QUANTILES)]
            if got.frequencies:
                got.frequencies = _sorted_by_value(got.frequencies)

    def _histograms(self, connection, table: str, plans: list[ColumnPlan], figures: dict[str, ColumnFigures]) -> None:
        """DataHub's ten equal-width buckets (the last one closed), for every column that gets one, in one statement."""
        selects, params, owners = [], [], []
        for plan in plans:
            got = figures[plan.name]
            if not wants_histogram(self.config, plan, got):
                continue
            column = self.dialect.quote(plan.name)
            bounds = histogram_bounds(got.min, got.max)
            for i, (low, high) in enumerate(bounds):
                upper = "<=" if i == len(bounds) - 1 else "<"
                selects.append(f"SUM(CASE WHEN {column} >= %s AND {column} {upper} %s THEN 1 ELSE 0 END)")
                params += [low, high]
            owners.append(plan.name)
        if not selects:
            return
        row = self._run(connection, f"SELECT {', '.join(selects)} FROM {table}", tuple(params))[0]
        for n, name in enumerate(owners):
            figures[name].histogram = [int(v or 0) for v in row[n * 10:(n + 1) * 10]]


def _sorted_by_value(frequencies: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
    """DataHub sorts value frequencies by value in Python (by their text when values do not compare)."""
    try:
        return sorted(frequencies, key=lambda item: (item[0] is None, item[0]))
    except TypeError:
        return sorted(frequencies, key=lambda item: (item[0] is None, str(item[0])))
