"""SQLite: tables, views, columns, keys and comments from `sqlite_schema` and its pragmas.

Three catalog queries whatever the table count (table-valued pragma functions joined to the
schema table). SQLite has no COMMENT syntax, so SQL comments in a CREATE TABLE statement serve:
`CREATE TABLE t /* table description */ (col INT -- column description`.
"""

import hashlib
import sqlite3
from collections import defaultdict
from pathlib import Path

import sqlglot
from pydantic import Field
from sqlglot import exp

from ..core.errors import ConnectionFailure, first_line
from ..core.patterns import AllowDenyPattern, DomainPatterns, domain_for
from ..core.plugin import PluginConfig, Source
from ..core.records import Column, ContainerRecord, DatasetRecord, ForeignKey, Location, ScopeRecord, TableRef
from ..lineage import view_lineage

_OBJECTS = """
SELECT type, name, sql FROM sqlite_schema
WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
ORDER BY name
"""
_COLUMNS = """
SELECT m.name, p.cid, p.name, p.type, p."notnull", p.pk
FROM sqlite_schema AS m JOIN pragma_table_xinfo(m.name) AS p
WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND p.hidden IN (0, 2, 3)
ORDER BY m.name, p.cid
"""
_FOREIGN_KEYS = """
SELECT m.name, f.id, f.seq, f."table", f."from", f."to"
FROM sqlite_schema AS m JOIN pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table'
ORDER BY m.name, f.id, f.seq
"""


class SqliteConfig(PluginConfig):
    path: str = Field(description="The SQLite database file.")
    database: str | None = Field(default=None, description="Name used in URNs; defaults to the file's stem.")
    table_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern)
    view_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern)
    include_tables: bool = True
    include_views: bool = True
    env: str = "PROD"
    platform_instance: str | None = None
    domain: DomainPatterns = Field(default_factory=dict, description="Domain URN -> patterns over 'db.table' and the database name.")

    @property
    def database_name(self) -> str:
        return self.database or Path(self.path).stem


def _comments(node: exp.Expression) -> str | None:
    found = [c.strip() for n in node.walk() for c in (n.comments or []) if c.strip()]
    return " ".join(found) or None


def _described(create_sql: str | None) -> tuple[str | None, dict[str, str]]:
    """The table's and its columns' descriptions, from the comments in its CREATE statement."""
    if not create_sql:
        return None, {}
    try:
        tree = sqlglot.parse_one(create_sql, dialect="sqlite")
    except sqlglot.errors.ParseError:
        return None, {}
    schema = tree.this if isinstance(tree, exp.Create) else None
    if not isinstance(schema, exp.Schema):
        return None, {}
    table_comment = " ".join(c.strip() for c in (schema.this.comments or []) if c.strip()) or None
    columns = {}
    for column in schema.expressions:
        if isinstance(column, exp.ColumnDef):
            text = _comments(column)
            if text:
                columns[column.name] = text
    return table_comment, columns


class SqliteSource(Source):
    config_model = SqliteConfig
    platform = "sqlite"
    config: SqliteConfig

    def _connect(self) -> sqlite3.Connection:
        if not Path(self.config.path).is_file():
            raise ConnectionFailure(f"cannot open SQLite database {self.config.path}: no such file")
        uri = Path(self.config.path).resolve().as_uri() + "?mode=ro"
        try:
            connection = sqlite3.connect(uri, uri=True)
            connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        except sqlite3.Error as exc:
            raise ConnectionFailure(f"cannot open SQLite database {self.config.path}: {exc}") from None
        return connection

    def check(self) -> None:
        self._connect().close()

    def _wanted(self, kind: str, name: str) -> bool:
        qualified = f"{self.config.database_name}.{name}"
        if kind == "table":
            return self.config.include_tables and self.config.table_pattern.allowed(qualified)
        return self.config.include_views and self.config.view_pattern.allowed(qualified)

    def wants(self, database: str, schema: str | None, table: str | None, kind: str) -> bool:
        if database != self.config.database_name:
            return False
        return table is None or self._wanted("view" if kind == "View" else "table", table)

    def extract(self):
        cfg = self.config
        location = Location(platform=self.platform, env=cfg.env, instance=cfg.platform_instance)
        db = cfg.database_name
        connection = self._connect()
        try:
            objects = connection.execute(_OBJECTS).fetchall()
            columns = defaultdict(list)
            for table, _cid, name, native, notnull, pk in connection.execute(_COLUMNS):
                columns[table].append((name, native or "null", bool(notnull), pk))  # no declared type: DataHub writes NullType's name
            fks = defaultdict(lambda: defaultdict(list))
            for table, fk_id, _seq, ref_table, from_col, to_col in connection.execute(_FOREIGN_KEYS):
                fks[table][fk_id].append((ref_table, from_col, to_col))
        except sqlite3.Error as exc:
            raise ConnectionFailure(f"cannot read SQLite catalog of {cfg.path}: {exc}") from None
        finally:
            connection.close()

        yield ContainerRecord(location=location, database=db, domain=domain_for(cfg.domain, db))
        primary_keys = {t: [c[0] for c in sorted(cols, key=lambda c: c[3]) if c[3]] for t, cols in columns.items()}
        known_columns = {t: [c[0] for c in cols] for t, cols in columns.items()}
        for kind, name, sql in objects:
            if not self._wanted(kind, name):
                self.report.count(f"filtered {kind}s")
                continue
            table_doc, column_docs = _described(sql) if kind == "table" else (None, {})
            record = DatasetRecord(
                location=location,
                table=TableRef(database=db, name=name),
                domain=domain_for(cfg.domain, f"{db}.{name}"),
                subtype="View" if kind == "view" else "Table",
                description=table_doc,
                columns=[
                    Column(
                        name=col,
                        native_type=native,
                        nullable=not notnull and not pk,
                        description=column_docs.get(col),
                        is_part_of_key=bool(pk),
                    )
                    for col, native, notnull, pk in columns.get(name, [])
                ],
            )
            for fk_id, parts in sorted(fks.get(name, {}).items()):
                ref_table = parts[0][0]
                ref_cols = [to for _, _, to in parts]
                if any(c is None for c in ref_cols):
                    ref_cols = primary_keys.get(ref_table, [])
                record.foreign_keys.append(ForeignKey(
                    name=f"fk_{name}_{ref_table}_{fk_id}",
                    columns=[frm for _, frm, _ in parts],
                    referenced=TableRef(database=db, name=ref_table),
                    referenced_columns=ref_cols,
                ))
            if kind == "view":
                record.view_definition = sql
                try:
                    lineage = view_lineage(sql, "sqlite", db, None, lambda t: known_columns.get(t.name) if t.database == db else None,
                                           pretty_statement=True)
                    lineage.apply_to(record)
                except (sqlglot.errors.SqlglotError, ValueError) as exc:
                    self.report.warn(f"{db}.{name}: view SQL could not be parsed for lineage ({first_line(exc)})")
            self.report.count(f"{kind}s")
            yield record
        yield ScopeRecord(location=location, database=db)

    def fingerprint(self) -> str:
        connection = self._connect()
        try:
            rows = connection.execute(_OBJECTS).fetchall()
        finally:
            connection.close()
        wanted = [r for r in rows if self._wanted(r[0], r[1])]
        return hashlib.sha256(repr(wanted).encode("utf-8")).hexdigest()
