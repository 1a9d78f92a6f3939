"""PostgreSQL: databases, schemas, tables, partitions, foreign tables, views, materialized views, columns, keys,
comments, view lineage and stored procedures.

One database, or every database the pattern admits (listed from `initial_database`), each read on connections
of its own with a fixed number of statements whatever its table count (`catalog.py`): SCHEMAS on the database's
first connection, then RELATIONS (columns packed per relation) on it and FOREIGN_KEYS, VIEWS and PROCEDURES
(only when a schema in scope holds one) on connections of their own, each streamed by COPY in a thread of its
own (`copy_stream.py`) and merge-joined here one table at a time, so memory stays flat and the server works on
them at once. Views are parsed for lineage in their stream's thread as they arrive.

The output equals DataHub's postgres source: native types as SQLAlchemy's dialect spells them (`types.py`), view
definitions as `pg_get_viewdef` prints them, foreign keys in constraint-name order. On purpose it differs where
DataHub is wrong (README): materialized views say so in viewProperties, unqualified names in views resolve
through the search path, foreign tables are emitted, partitions name their parent, and a foreign key to a table
on the search path names that table's schema.
"""

import hashlib
import threading
from collections.abc import Iterator

import psycopg2
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from ...core.errors import ConnectionFailure, SourceFailure, first_line
from ...core.patterns import domain_for
from ...core.plugin import Source
from ...core.records import (
    FLOW_KIND,
    PROCEDURE_KIND,
    Column,
    ContainerRecord,
    DatasetRecord,
    ForeignKey,
    Location,
    ScopeRecord,
    TableRef,
)
from .catalog import (
    FIELD,
    FINGERPRINT,
    FOREIGN_KEYS,
    LIST_DATABASES,
    PROCEDURES,
    RELATIONS,
    SCHEMAS,
    VIEWS,
    VIEWS_PER_STATEMENT,
    unpack_columns,
)
from .config import SYSTEM_DATABASES, PostgresConfig
from .copy_stream import CopyStream, NoRows, PagedCopyStream
from .procedures import procedure_records
from .types import native_type
from .views import add_view, prepare_view

_VIEW_KINDS = frozenset({"v", "m"})


class PostgresSource(Source):
    config_model = PostgresConfig
    platform = "postgres"
    config: PostgresConfig

    def __init__(self, config: PostgresConfig, report):
        super().__init__(config, report)
        self._engine: Engine | None = None
        self.statements = 0
        """Catalog statements this source sent: the figure that must not grow with the table count."""
        self._statements_lock = threading.Lock()

    # --- connection ---

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine the recipe describes (URL, `options`, TLS through connect_args): its dialect opens
        every connection, never its pool."""
        if self._engine is None:
            options = dict(self.config.options)
            connect_args = dict(options.pop("connect_args", {}) or {})
            connect_args.setdefault("connect_timeout", 10)
            connect_args.setdefault("client_encoding", "utf8")
            self._connect_args = connect_args
            self._engine = create_engine(self.config.url(), connect_args=connect_args, **options)
        return self._engine

    def connect(self, database: str):
        """A psycopg2 connection to `database` in autocommit (no BEGIN/COMMIT around the catalog reads)."""
        engine = self.engine
        cargs, cparams = engine.dialect.create_connect_args(self.config.url(database))
        try:
            connection = engine.dialect.connect(*cargs, **{**cparams, **self._connect_args})
        except psycopg2.Error as exc:
            raise ConnectionFailure(f"cannot connect to PostgreSQL at {self.config.address}: {_driver_line(exc)}") from None
        connection.autocommit = True
        return connection

    def check(self) -> None:
        self.connect(self.config.single_database or self.config.initial_database).close()

    def sent(self) -> None:
        with self._statements_lock:
            self.statements += 1

    def _rows(self, connection, sql: str) -> list:
        try:
            with connection.cursor() as cursor:
                self.sent()
                cursor.execute(sql)
                return cursor.fetchall()
        except psycopg2.Error as exc:
            raise SourceFailure(f"query failed on PostgreSQL at {self.config.address}: {_driver_line(exc)}") from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- scope ---

    def databases(self) -> list[str]:
        """The databases in scope: the one the recipe names, else those of the initial database's list the pattern admits."""
        single = self.config.single_database
        if single is not None:
            return [single]
        connection = self.connect(self.config.initial_database)
        try:
            rows = self._rows(connection, LIST_DATABASES)
        finally:
            connection.close()
        return [r[0] for r in rows if self._database_wanted(r[0])]

    def _database_wanted(self, name: str) -> bool:
        single = self.config.single_database
        if single is not None:
            return name == single
        return name not in SYSTEM_DATABASES and self.config.database_pattern.allowed(name)

    def _wanted(self, database: str, schema: str, name: str, is_view: bool) -> bool:
        qualified = f"{database}.{schema}.{name}"
        if is_view:
            return self.config.include_views and self.config.view_pattern.allowed(qualified)
        return self.config.include_tables and self.config.table_pattern.allowed(qualified)

    def _procedure_wanted(self, database: str, schema: str, name: str) -> bool:
        return self.config.include_stored_procedures and self.config.procedure_pattern.allowed(f"{database}.{schema}.{name}")

    def wants(self, database: str, schema: str | None, table: str | None, kind: str) -> bool:
        if not self._database_wanted(database):
            return False
        if schema is not None and not self.config.schema_pattern.allowed(schema):
            return False
        if kind == FLOW_KIND:
            return self.config.include_stored_procedures
        if table is None or schema is None:
            return True
        if kind == PROCEDURE_KIND:
            return self._procedure_wanted(database, schema, table)
        return self._wanted(database, schema, table, kind == "View")

    def _location(self) -> Location:
        return Location(platform=self.platform, env=self.config.env, instance=self.config.platform_instance)

    # --- extraction ---

    def extract(self) -> Iterator[ContainerRecord | DatasetRecord | ScopeRecord]:
        databases = self.databases()
        if self.only_database is not None:
            databases = [d for d in databases if d == self.only_database]
        location = self._location()
        try:
            for database in databases:
                yield from self._database(location, database)
        finally:
            self.report.count("catalog statements", self.statements)

    def _database(self, location: Location, database: str) -> Iterator:
        try:
            connection = self.connect(database)
        except ConnectionFailure as exc:
            if self.config.single_database is not None:
                raise
            self.report.fail(f"{database}: {exc}")  # listed, then gone or refused: the others still run
            return
        streams: dict[str, CopyStream | NoRows] = {}
        try:
            schemas = self._rows(connection, SCHEMAS)
            in_scope = [r for r in schemas if self.config.schema_pattern.allowed(r[0])]
            self.report.count("filtered schemas", len(schemas) - len(in_scope))
            yield ContainerRecord(location=location, database=database, domain=domain_for(self.config.domain, database))
            if not in_scope:
                yield ScopeRecord(location=location, database=database)
                return
            names = [r[0] for r in in_scope]
            streams = self._open_streams(database, connection, names, any(r[2] for r in in_scope))
            connection = None  # the relations stream closes it
            failures = self.report.failure_count
            for schema in names:
                yield ContainerRecord(location=location, database=database, schema_name=schema,
                                      domain=domain_for(self.config.domain, f"{database}.{schema}"))
                yield from self._schema(location, database, schema, streams)
            if self.report.failure_count == failures:
                yield ScopeRecord(location=location, database=database)
        except psycopg2.Error as exc:
            raise SourceFailure(f"reading {database} on PostgreSQL at {self.config.address} failed: {_driver_line(exc)}") from None
        finally:
            for stream in streams.values():
                stream.close()
            if connection is not None:
                connection.close()

    def _open_streams(self, database: str, connection, schemas: list[str], with_procedures: bool) -> dict:
        def bound(sql: str) -> str:
            with connection.cursor() as cursor:
                return cursor.mogrify(sql, {"schemas": schemas}).decode("utf-8")

        def own_connection():
            return self.connect(database)

        cfg = self.config
        streams: dict[str, CopyStream | NoRows] = {}
        if cfg.include_views:
            def prepared(rows):
                if rows is None:
                    return []
                wanted = lambda schema, name: self._wanted(database, schema, name, True)  # noqa: E731
                return [(r[0], r[1], prepare_view(r, database, wanted, cfg.include_view_lineage)) for r in rows]
            streams["views"] = PagedCopyStream(own_connection, VIEWS, {"schemas": schemas}, VIEWS_PER_STATEMENT, self.sent,
                                               prepare=prepared, chunk=50, ahead=8)
        else:
            streams["views"] = NoRows()
        streams["foreign_keys"] = CopyStream(own_connection, bound(FOREIGN_KEYS), self.sent)
        streams["procedures"] = (CopyStream(own_connection, bound(PROCEDURES), self.sent, chunk=50)
                                 if cfg.include_stored_procedures and with_procedures else NoRows())
        sql = bound(RELATIONS)
        streams["relations"] = CopyStream(lambda: connection, sql, self.sent, chunk=250)
        return streams

    def _schema(self, location: Location, database: str, schema: str, streams: dict) -> Iterator:
        relations = streams["relations"]
        while (row := relations.peek()) is not None and row[0] <= schema:
            (relation,) = relations.take((row[0], row[1]))[:1] or (row,)
            if relation[0] != schema:
                continue
            record = self._dataset(location, database, relation, streams)
            if record is not None:
                yield record
        wanted = lambda s, name: self._procedure_wanted(database, s, name)  # noqa: E731
        yield from procedure_records(streams["procedures"], location, database, schema, wanted, self.report)

    def _dataset(self, location: Location, database: str, row: tuple, streams: dict) -> DatasetRecord | None:
        schema, name, relkind, comment, parent, server, count, packed = row
        key = (schema, name)
        is_view = relkind in _VIEW_KINDS
        fk_rows = streams["foreign_keys"].take(key)
        view_rows = streams["views"].take(key) if is_view else []
        if not self._wanted(database, schema, name, is_view):
            self.report.count("filtered views" if is_view else "filtered tables")
            return None
        try:
            columns = [_column(*fields) for fields in unpack_columns(count, packed)]
        except ValueError as exc:
            self.report.fail(f"{database}.{schema}.{name}: {exc}")
            return None
        custom: dict[str, str] = {}
        if parent is not None:
            custom["partition_of"] = f"{database}." + ".".join(parent.split(FIELD, 1))
        if server is not None:
            custom["foreign_server"] = server
        record = DatasetRecord(
            location=location,
            table=TableRef(database=database, schema_name=schema, name=name),
            subtype="View" if is_view else "Table",
            description=comment or None,
            columns=columns,
            foreign_keys=[_foreign_key(database, r) for r in fk_rows],
            custom_properties=custom,
            domain=domain_for(self.config.domain, f"{database}.{schema}.{name}"),
        )
        if view_rows:
            add_view(record, view_rows[0][2], self.config.include_view_column_lineage, self.report)
        self.report.count("views" if is_view else "tables")
        return record

    # --- change sensor ---

    def fingerprint(self) -> str:
        """One query per database in scope (and one listing them): changes on any DDL in a schema in scope."""
        parts = []
        for database in self.databases():
            connection = self.connect(database)
            try:
                rows = self._rows(connection, FINGERPRINT)
            finally:
                connection.close()
            parts.append((database, [tuple(r) for r in rows if self.config.schema_pattern.allowed(r[0])]))
        return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


def _column(name: str, format_type: str, kind: str, not_null: str, in_key: str, comment: str) -> Column:
    spelled, field_type = native_type(format_type, kind)
    return Column(name, spelled, not_null == "0", comment or None, in_key == "1", field_type)


def _foreign_key(database: str, row: tuple) -> ForeignKey:
    _schema, _table, constraint, columns, ref_schema, ref_table, ref_columns = row
    return ForeignKey(name=constraint, columns=columns.split(FIELD),
                      referenced=TableRef(database=database, schema_name=ref_schema, name=ref_table),
                      referenced_columns=ref_columns.split(FIELD))


def _driver_line(exc: psycopg2.Error) -> str:
    """What libpq or the server said, in one line (libpq's own message names neither the password nor the URL)."""
    text = (getattr(exc, "pgerror", None) or str(exc) or "").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else first_line(exc)
