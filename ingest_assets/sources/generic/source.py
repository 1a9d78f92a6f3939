"""The generic SQLAlchemy source: schemas, tables, views, columns, keys, comments and view lineage of any database
SQLAlchemy reaches, named as the platform's dedicated source (or DataHub's generic one) names them."""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlglot
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ...core.errors import ConnectionFailure, SourceFailure, first_line
from ...core.patterns import domain_for
from ...core.plugin import Source
from ...core.records import ContainerRecord, DatasetRecord, ForeignKey, Location, ScopeRecord, TableRef
from ...lineage import view_lineage
from .config import SQLAlchemyConfig
from .naming import Place, is_system_schema, place_of
from .reflection import Relation, SchemaReader

_SQLGLOT_DIALECTS = {"postgres": "postgres", "postgresql": "postgres", "mariadb": "mysql", "mssql": "tsql"}


class SQLAlchemySource(Source):
    config_model = SQLAlchemyConfig
    platform = "sqlalchemy"
    config: SQLAlchemyConfig

    def __init__(self, config: SQLAlchemyConfig, report):
        super().__init__(config, report)
        self.platform = config.platform
        self.statements = 0
        self._search_path_schema: str | None = None
        """Where a three-tier database resolves an unqualified name in a view (PostgreSQL prints a view's tables
        unqualified exactly when they are on the search path), rather than the view's own schema."""

    @contextmanager
    def _connection(self):
        cfg = self.config
        try:
            engine = create_engine(cfg.url, **cfg.options)
        except (NoSuchModuleError, ArgumentError, ImportError) as exc:
            raise ConnectionFailure(f"no SQLAlchemy dialect for {cfg.url.drivername}:// ({first_line(exc)}); "
                                    "install the database's SQLAlchemy driver") from None
        try:
            try:
                connection = engine.connect()
            except SQLAlchemyError as exc:
                raise ConnectionFailure(f"cannot connect to {cfg.platform} at {cfg.address}: "
                                        f"{first_line(getattr(exc, 'orig', None) or exc)}") from None
            with connection:
                try:
                    yield connection
                except SQLAlchemyError as exc:
                    raise SourceFailure(f"reading {cfg.platform} at {cfg.address} failed: "
                                        f"{first_line(getattr(exc, 'orig', None) or exc)}") from None
        finally:
            engine.dispose()

    def check(self) -> None:
        with self._connection():
            pass

    def _schemas(self, inspector) -> list[str]:
        return sorted(s for s in inspector.get_schema_names() if not is_system_schema(s) and self.config.schema_pattern.allowed(s))

    def _sa_schema(self, place: Place) -> str:
        """The schema a place's tables were reflected from (the inverse of `place_of`)."""
        if place.schema is not None:
            return place.schema
        if self.platform == "sqlite" and place == place_of("sqlite", self.config.url.database, "main"):
            return "main"
        return place.database

    def _identifier(self, schema: str, name: str) -> str:
        """What the patterns match: DataHub's generic source names a table `schema.table`."""
        return f"{schema}.{name}"

    def _wanted(self, schema: str, name: str, is_view: bool) -> bool:
        cfg = self.config
        if is_view:
            return cfg.include_views and cfg.view_pattern.allowed(self._identifier(schema, name))
        return cfg.include_tables and cfg.table_pattern.allowed(self._identifier(schema, name))

    def wants(self, database: str, schema: str | None, table: str | None, kind: str) -> bool:
        sa_schema = self._sa_schema(Place(database, schema))
        if not self.config.schema_pattern.allowed(sa_schema):
            return False
        return table is None or self._wanted(sa_schema, table, kind == "View")

    def extract(self) -> Iterator[ContainerRecord | DatasetRecord | ScopeRecord]:
        cfg = self.config
        location = Location(platform=self.platform, env=cfg.env, instance=cfg.platform_instance)
        with self._connection() as connection:
            inspector = inspect(connection)
            reader = SchemaReader(connection, inspector, self.platform, self.report)
            if place_of(self.platform, cfg.url.database, "s").schema is not None:
                self._search_path_schema = inspector.default_schema_name
            databases_seen: set[str] = set()
            for schema in self._schemas(inspector):
                place = place_of(self.platform, cfg.url.database, schema)
                if place.database not in databases_seen:
                    databases_seen.add(place.database)
                    yield ContainerRecord(location=location, database=place.database, domain=domain_for(cfg.domain, place.database))
                if place.schema is not None:
                    yield ContainerRecord(location=location, database=place.database, schema_name=place.schema,
                                          domain=domain_for(cfg.domain, f"{place.database}.{place.schema}"))
                failures = self.report.failure_count
                relations = reader.relations(schema, cfg.include_tables, cfg.include_views)
                columns = {r.name: [c.name for c in r.columns] for r in relations}
                for relation in relations:
                    if not self._wanted(schema, relation.name, relation.is_view):
                        self.report.count("filtered views" if relation.is_view else "filtered tables")
                        continue
                    yield self._dataset(location, place, schema, relation, columns)
                if self.report.failure_count == failures:
                    yield ScopeRecord(location=location, database=place.database, schema_name=place.schema)
            self.statements = reader.calls
            self.report.count("reflection calls", reader.calls)

    def _dataset(self, location: Location, place: Place, schema: str, relation: Relation, columns: dict) -> DatasetRecord:
        table = TableRef(database=place.database, schema_name=place.schema, name=relation.name)
        record = DatasetRecord(
            location=location, table=table, subtype="View" if relation.is_view else "Table",
            description=relation.comment, columns=relation.columns,
            domain=domain_for(self.config.domain, ".".join(p for p in (place.database, place.schema, relation.name) if p)),
        )
        for key in relation.foreign_keys:
            # no schema: PostgreSQL's referred table is on the search path, elsewhere in the table's own schema
            referred = place_of(self.platform, self.config.url.database, key.referred_schema or self._search_path_schema or schema)
            record.foreign_keys.append(ForeignKey(
                name=key.name, columns=key.columns, referenced_columns=key.referred_columns,
                referenced=TableRef(database=referred.database, schema_name=referred.schema, name=key.referred_table)))
        if relation.is_view:
            record.view_definition = relation.definition
            record.materialized = relation.materialized
            self.report.count("views")
            if relation.definition and self.config.include_view_lineage:
                self._add_lineage(record, place, relation.definition, columns)
        else:
            self.report.count("tables")
        return record

    def _add_lineage(self, record: DatasetRecord, place: Place, definition: str, columns: dict) -> None:
        dialect = _SQLGLOT_DIALECTS.get(self.platform, self.platform)
        try:
            lineage = view_lineage(
                definition, dialect, place.database, self._search_path_schema or place.schema,
                lambda ref: columns.get(ref.name) if (ref.database, ref.schema_name) == (place.database, place.schema) else None,
                two_tier=place.schema is None, pretty_statement=True)
        except (sqlglot.errors.SqlglotError, ValueError, RecursionError) as exc:
            self.report.warn(f"{record.table.name}: view SQL could not be parsed for lineage ({first_line(exc)})")
            return
        lineage.apply_to(record, self.config.include_view_column_lineage)

    def fingerprint(self) -> str:
        """Names and column types of everything in scope, through the same bulk reflection as a run."""
        digest = hashlib.sha256()
        with self._connection() as connection:
            inspector = inspect(connection)
            reader = SchemaReader(connection, inspector, self.platform, self.report)
            for schema in self._schemas(inspector):
                for relation in reader.relations(schema, self.config.include_tables, self.config.include_views):
                    digest.update(repr((schema, relation.name, relation.is_view, relation.comment, relation.definition,
                                        [(c.name, c.native_type, c.nullable, c.is_part_of_key) for c in relation.columns],
                                        [(k.name, k.columns, k.referred_table) for k in relation.foreign_keys])).encode())
        return digest.hexdigest()
