"""Profiling on MySQL and MariaDB: the catalog's figures, the servers' statement time limits, their column types.

Table size (`data_length`, what DataHub reports as sizeInBytes) and the row estimate (`table_rows`) come from
`information_schema.TABLES` in one statement per run; every table then costs two statements (see
`sql_profiler`). A time limit is MariaDB's `SET STATEMENT max_statement_time=N FOR <statement>`, and MySQL's
`MAX_EXECUTION_TIME(ms)` optimizer hint, so no statement is spent setting or restoring a session variable.
"""

import warnings
from functools import lru_cache
from typing import Any

import pymysql
from sqlalchemy import types as sa_types
from sqlalchemy.dialects.mysql.reflection import ReflectedState

from ...core.profile import ColumnKind
from ..sql_profiler import CatalogEntry, ProfilingDialect, TableRequest
from .source import MySQLSource
from .types import _PARSER

_TIMEOUT_ERRORS = frozenset({1969, 3024})
"""MariaDB's ER_STATEMENT_TIMEOUT and MySQL's ER_QUERY_TIMEOUT."""


@lru_cache(maxsize=1024)
def column_kind(native_type: str) -> ColumnKind:
    """DataHub's profiler type of a column, from the SQLAlchemy type its native spelling reflects to.

    The same isinstance order as DataHub's `get_column_profiler_type` (integers before floats before
    decimals), so TINYINT(1) is an INT (with a mean), FLOAT a FLOAT, ENUM a STRING.
    """
    state = ReflectedState()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _PARSER._parse_column(f"  `c` {native_type.lower()},", state)
        except TypeError:  # a spelling SQLAlchemy's reflection does not know
            return ColumnKind.OTHER
    if not state.columns:
        return ColumnKind.OTHER
    type_ = state.columns[0]["type"]
    for kind, classes in (
            (ColumnKind.INT, (sa_types.Integer,)),
            (ColumnKind.FLOAT, (sa_types.Float,)),
            (ColumnKind.NUMERIC, (sa_types.Numeric,)),
            (ColumnKind.STRING, (sa_types.String,)),
            (ColumnKind.DATETIME, (sa_types.DateTime, sa_types.Date, sa_types.Time, sa_types.Interval)),
            (ColumnKind.BOOLEAN, (sa_types.Boolean,))):
        if isinstance(type_, classes):
            return kind
    return ColumnKind.OTHER


class MySQLProfiling(ProfilingDialect):
    def __init__(self, source: MySQLSource):
        self.source = source
        self._mariadb: bool | None = None

    def connect(self, database: str) -> Any:
        connection = self.source.connect()
        if self._mariadb is None:
            self._mariadb = "mariadb" in connection.get_server_info().lower()
        return connection

    def catalog(self, requests: list[TableRequest]) -> dict[tuple, CatalogEntry]:
        databases = sorted({r.database for r in requests})
        marks = ", ".join(["%s"] * len(databases))
        rows = self.source._query("SELECT TABLE_SCHEMA, TABLE_NAME, DATA_LENGTH, TABLE_ROWS FROM information_schema.TABLES "
                                  f"WHERE TABLE_SCHEMA IN ({marks})", tuple(databases))
        return {(db, None, name): CatalogEntry(_int(size), _int(rows_)) for db, name, size, rows_ in rows}

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def column_kind(self, native_type: str) -> ColumnKind:
        return column_kind(native_type)

    def limited(self, sql: str, seconds: int | None) -> str:
        if not seconds:
            return sql
        if self._mariadb:
            return f"SET STATEMENT max_statement_time={int(seconds)} FOR {sql}"
        return sql.replace("SELECT", f"SELECT /*+ MAX_EXECUTION_TIME({int(seconds) * 1000}) */", 1)

    def is_timeout(self, exc: Exception) -> bool:
        return isinstance(exc, pymysql.err.MySQLError) and bool(exc.args) and exc.args[0] in _TIMEOUT_ERRORS


def _int(value) -> int | None:
    return int(value) if value is not None else None


def profiling_dialect(source_config, report) -> MySQLProfiling:
    return MySQLProfiling(MySQLSource(source_config, report))
