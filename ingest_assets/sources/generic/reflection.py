"""One schema's tables and views through SQLAlchemy 2's multi-table reflection: a fixed number of calls per schema
(columns, primary keys, foreign keys, comments), never one per table.

A dialect whose multi-table reflection fails (duckdb-engine's borrows PostgreSQL's catalog queries, which DuckDB
only partly answers) falls back to the standard `information_schema` views, still one query per schema; what
neither answers is left out with a warning.
"""

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.reflection import Inspector, ObjectKind
from sqlalchemy.exc import SQLAlchemyError

from ...core.errors import first_line
from ...core.records import Column
from ...core.report import StageReport
from .types import field_type, field_type_of_name, native_type


@dataclass
class ReflectedKey:
    name: str
    columns: list[str]
    referred_schema: str | None
    referred_table: str
    referred_columns: list[str]


@dataclass
class Relation:
    """A table or view as reflection describes it."""

    name: str
    is_view: bool
    materialized: bool = False
    columns: list[Column] = field(default_factory=list)
    comment: str | None = None
    foreign_keys: list[ReflectedKey] = field(default_factory=list)
    definition: str | None = None


_ANSI_COLUMNS = (
    "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
    "WHERE table_schema = :schema{catalog} ORDER BY table_name, ordinal_position"
)
_ANSI_PRIMARY_KEYS = (
    "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
    "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name "
    "AND kcu.constraint_schema = tc.constraint_schema AND kcu.table_name = tc.table_name "
    "WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = :schema{tc_catalog} "
    "ORDER BY tc.table_name, kcu.ordinal_position"
)
_ANSI_VIEWS = "SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = :schema{catalog}"


class SchemaReader:
    """Reads schemas of one connection; counts the reflection calls it makes (they must not grow with tables)."""

    def __init__(self, connection: Connection, inspector: Inspector, platform: str, report: StageReport):
        self.connection = connection
        self.inspector = inspector
        self.platform = platform
        self.report = report
        self.calls = 0

    def relations(self, schema: str, tables: bool, views: bool) -> list[Relation]:
        """The schema's tables and views, by name, with columns, keys, comments and view definitions."""
        kinds = {}  # name -> (is_view, materialized)
        if tables:
            kinds.update({n: (False, False) for n in self._names("get_table_names", schema)})
            kinds.update({n: (False, False) for n in self._names("get_foreign_table_names", schema)})
        if views:
            kinds.update({n: (True, False) for n in self._names("get_view_names", schema)})
            kinds.update({n: (True, True) for n in self._names("get_materialized_view_names", schema)})
        if not kinds:
            return []
        relations = {n: Relation(n, is_view, materialized) for n, (is_view, materialized) in sorted(kinds.items())}
        self._columns(schema, relations)
        self._primary_keys(schema, relations)
        self._foreign_keys(schema, relations)
        self._comments(schema, relations)
        self._view_definitions(schema, relations)
        return list(relations.values())

    def _names(self, method: str, schema: str) -> list[str]:
        """Names of one kind of relation; materialized views and foreign tables only where the dialect has them."""
        if not hasattr(self.inspector, method):
            return []
        try:
            return self._call(getattr(self.inspector, method), schema)
        except NotImplementedError:
            return []

    def _call(self, method, *args, **kwargs):
        self.calls += 1
        return method(*args, **kwargs)

    @staticmethod
    def _by_name(found: dict, schema: str, relations: dict) -> dict:
        """Multi-reflection results keyed (schema, name) or, for the default schema, (None, name)."""
        out = {}
        for (key_schema, name), value in found.items():
            if key_schema in (schema, None) and name in relations:
                out[name] = value
        return out

    def _columns(self, schema: str, relations: dict) -> None:
        dialect = self.connection.dialect
        try:
            found = self._by_name(self._call(self.inspector.get_multi_columns, schema=schema, kind=ObjectKind.ANY), schema, relations)
        except (NotImplementedError, SQLAlchemyError) as exc:
            self._fell_back(schema, "columns", exc)
            for table, name, native, nullable in self._ansi(_ANSI_COLUMNS, schema):
                if table in relations:
                    relations[table].columns.append(Column(name, native, nullable == "YES", None, False,
                                                           field_type_of_name(self.platform, native)))
            return
        for name, columns in found.items():
            for column in columns:
                native = native_type(column["type"], dialect)
                relations[name].columns.append(Column(column["name"], native, bool(column.get("nullable", True)),
                                                      column.get("comment") or None, False,
                                                      field_type(self.platform, column["type"], native)))

    def _primary_keys(self, schema: str, relations: dict) -> None:
        try:
            found = self._by_name(self._call(self.inspector.get_multi_pk_constraint, schema=schema), schema, relations)
            keys = {name: set(pk.get("constrained_columns") or ()) for name, pk in found.items()}
        except (NotImplementedError, SQLAlchemyError) as exc:
            self._fell_back(schema, "primary keys", exc)
            keys = {}
            for table, column in self._ansi(_ANSI_PRIMARY_KEYS, schema):
                keys.setdefault(table, set()).add(column)
        for name, key in keys.items():
            for column in relations[name].columns:
                column.is_part_of_key = column.name in key

    def _foreign_keys(self, schema: str, relations: dict) -> None:
        try:
            found = self._by_name(self._call(self.inspector.get_multi_foreign_keys, schema=schema), schema, relations)
        except (NotImplementedError, SQLAlchemyError) as exc:
            self._recover()
            self.report.warn(f"{schema}: foreign keys not read ({self.platform} reflection: {first_line(exc)})")
            return
        for name, keys in found.items():
            for index, key in enumerate(keys):
                relations[name].foreign_keys.append(ReflectedKey(
                    key.get("name") or f"fk_{name}_{key['referred_table']}_{index}", list(key["constrained_columns"]),
                    key.get("referred_schema"), key["referred_table"], list(key["referred_columns"])))

    def _comments(self, schema: str, relations: dict) -> None:
        try:
            found = self._by_name(self._call(self.inspector.get_multi_table_comment, schema=schema, kind=ObjectKind.ANY),
                                  schema, relations)
        except NotImplementedError:  # the dialect has no table comments (SQLite)
            return
        except SQLAlchemyError as exc:
            self._recover()
            self.report.warn(f"{schema}: table comments not read ({self.platform} reflection: {first_line(exc)})")
            return
        for name, comment in found.items():
            relations[name].comment = (comment or {}).get("text") or None

    def _view_definitions(self, schema: str, relations: dict) -> None:
        """One call per view: SQLAlchemy reflects no view definitions in bulk (DataHub reads them the same way).

        MySQL prints a view's definition compact only from the view's own database, as DataHub's mysql source
        reads it: the connection moves there first."""
        views = [r for r in relations.values() if r.is_view]
        if views and self.connection.dialect.name in ("mysql", "mariadb"):
            self.calls += 1
            self.connection.exec_driver_sql("USE " + self.connection.dialect.identifier_preparer.quote_identifier(schema))
        for view in views:
            try:
                view.definition = self._call(self.inspector.get_view_definition, view.name, schema)
            except (NotImplementedError, SQLAlchemyError):
                self._recover()
                break
        else:
            return
        definitions = dict(self._ansi(_ANSI_VIEWS, schema))
        for view in views:
            view.definition = definitions.get(view.name)

    def _ansi(self, sql: str, schema: str) -> list[tuple]:
        catalog, _, name = schema.rpartition(".")  # DuckDB names schemas catalog.schema
        params = {"schema": name if catalog else schema, **({"catalog": catalog} if catalog else {})}
        self.calls += 1
        try:
            return [tuple(row) for row in self.connection.execute(text(sql.format(
                catalog=" AND table_catalog = :catalog" if catalog else "",
                tc_catalog=" AND tc.table_catalog = :catalog" if catalog else "")), params)]
        except SQLAlchemyError as exc:
            self._recover()
            self.report.warn(f"{schema}: information_schema not readable either ({first_line(exc)})")
            return []

    def _recover(self) -> None:
        """A failed statement poisons the transaction on PostgreSQL-like servers: start afresh."""
        if self.connection.in_transaction():
            self.connection.rollback()

    def _fell_back(self, schema: str, what: str, exc: Exception) -> None:
        self._recover()
        self.report.count(f"schemas read through information_schema ({what})")
        self.report.warn(f"{schema}: {what} read from information_schema ({self.platform} multi-table reflection "
                         f"failed: {first_line(exc)[:200]})")
