"""MySQL and MariaDB: databases, tables, views, columns, keys, comments and view lineage.

Everything comes from `information_schema` in a fixed number of statements whatever the table
count: COLUMNS packed one row per table; TABLES and the primary-key rows of STATISTICS in one UNION;
VIEWS; KEY_COLUMN_USAGE only for databases that InnoDB says have foreign keys. Each is sorted by
(schema, table) in byte order and streamed by a thread of its own: COLUMNS on the connection that
first read SCHEMATA and checked for foreign keys, the others each on a connection of their own.
The streams are merge-joined here one table at a time, so memory stays flat however large the
catalog is, and the server works on them at once. Connections come straight from SQLAlchemy's
dialect, not its pool, which would add statements to each.

The output equals DataHub's mysql source: native types spelt as SQLAlchemy's MySQL dialect
reflects them (`BIGINT(20)`, `DECIMAL(18, 4)`), view definitions as `SHOW CREATE VIEW` prints
them from the view's own database, view columns as `DESCRIBE` shows them (nullable, no comment).
"""

import hashlib
import importlib.metadata
import importlib.util
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter
from pathlib import Path

import pymysql
from pymysql.constants import CLIENT
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
from ..row_stream import NoRows
from .catalog import (
    _KEY,
    _NULL,
    _TABLE,
    _columns_sql,
    _databases_with_foreign_keys,
    _foreign_keys_sql,
    _in_list,
    _objects_sql,
    _Stream,
    _unpack_columns,
    _views_sql,
)
from .config import SYSTEM_DATABASES, MySQLConfig
from .procedures import (
    holding_procedures,
    open_routines,
    procedure_records,
    routines_fingerprint_sql,
    schemata_sql,
)
from .types import native_type
from .views import compact_views, view_statement

_TLS_KEYS = frozenset({"ssl", "ssl_ca", "ssl_cert", "ssl_key", "ssl_key_password", "ssl_verify_cert", "ssl_verify_identity", "ssl_disabled"})


def _tls_as_negotiated(connection: pymysql.connections.Connection) -> dict:
    """What the source's later connections pass instead of the recipe's TLS keys: the first connection's
    TLS context when it encrypted, else TLS off.

    PyMySQL builds a new TLS context for every connection (loading the system's CA store, about 50 ms
    of CPU), even in its default "preferred" mode against a server that offers no TLS. The server
    and the settings are the same for every connection of a run, and so is the outcome.
    """
    if connection.ssl and connection.server_capabilities & CLIENT.SSL:
        return {"ssl": connection.ctx}
    return {"ssl_disabled": True}


def _driver_message(exc: pymysql.err.MySQLError, what: str) -> str:
    """`what`, then the server's or driver's own words: PyMySQL's errors are (code, message)."""
    args = exc.args
    text = str(args[1]).strip() if len(args) >= 2 else ""
    return f"{what}: {(text.splitlines() or [first_line(exc)])[0]}"


class MySQLSource(Source):
    config_model = MySQLConfig
    platform = "mysql"
    config: MySQLConfig

    def __init__(self, config: MySQLConfig, report):
        super().__init__(config, report)
        self._engine: Engine | None = None
        self.statements = 0
        """Catalog statements this source sent: the figure that must not grow with the table count."""
        self._statements_lock = threading.Lock()
        self._tls: dict | None = None
        self._holding_procedures: set[str] = set()
        """The databases SCHEMATA said hold stored procedures: only they are asked for ROUTINES."""
        self._all_databases: frozenset[str] = frozenset()
        """Every database on the server, filters aside: a view's qualifiers are looked up in it."""
        self._held_views: list = []

    # --- connection ---

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine the recipe describes (URL, `options`, TLS): its dialect opens every connection."""
        if self._engine is None:
            cfg = self.config
            url = cfg.url
            options = dict(cfg.options)
            connect_args = dict(options.pop("connect_args", {}) or {})
            connect_args.setdefault("connect_timeout", 10)
            connect_args.setdefault("autocommit", True)  # we only read; spares a SET AUTOCOMMIT per connection
            context = self._tls_context()
            if context is not None:
                connect_args["ssl"] = context
            self._connect_args = connect_args
            self._engine = create_engine(url, connect_args=connect_args, **options)
        return self._engine

    def _tls_context(self) -> ssl.SSLContext | None:
        """The recipe's TLS keys as one context for every connection; None leaves TLS to the driver
        (used when the server offers it, unverified)."""
        cfg = self.config
        if all(v is None for v in (cfg.ssl_ca, cfg.ssl_cert, cfg.ssl_key, cfg.ssl_verify_cert, cfg.ssl_verify_identity)):
            return None
        verify_cert = cfg.ssl_verify_cert is not False
        try:
            if verify_cert:
                context = ssl.create_default_context(cafile=cfg.ssl_ca)
                context.check_hostname = cfg.ssl_verify_identity is not False
            else:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if cfg.ssl_cert:
                context.load_cert_chain(cfg.ssl_cert, cfg.ssl_key)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise ConnectionFailure(f"TLS settings for MySQL at {cfg.address}: {first_line(exc)}") from None
        return context

    def connect(self) -> pymysql.connections.Connection:
        """A PyMySQL connection as the engine would open it, straight from its dialect.

        The engine's pool adds statements to every connection (a second SET NAMES, the dialect's
        first-connect queries, a ROLLBACK on return): 7 of the 17 statements a run sent.
        Catalog reads need none of them.

        The first connection settles TLS for the source's later ones (see `_tls_as_negotiated`).
        """
        engine = self.engine
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        params = {**cparams, **self._connect_args}
        if self._tls is not None:
            params = {**{k: v for k, v in params.items() if k not in _TLS_KEYS}, **self._tls}
        with self._driver_errors():
            connection = engine.dialect.connect(*cargs, **params)
        if self._tls is None:
            self._tls = _tls_as_negotiated(connection)
        return connection

    def check(self) -> None:
        self.connect().close()

    def sent(self, count: int) -> None:
        with self._statements_lock:
            self.statements += count

    def _query(self, sql: str, params: tuple = (), connection=None) -> list:
        """One statement's rows, on `connection` (left open) or on a connection of its own."""
        own = connection is None
        if own:
            connection = self.connect()
        try:
            with self._driver_errors(), connection.cursor() as cursor:
                self.sent(1)
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        finally:
            if own:
                connection.close()

    @contextmanager
    def _driver_errors(self):
        """PyMySQL's errors as one line: no connection (exit 2), or a statement the server refused."""
        try:
            yield
        except pymysql.err.OperationalError as exc:
            raise ConnectionFailure(_driver_message(exc, f"cannot connect to MySQL at {self.config.address}")) from None
        except pymysql.err.MySQLError as exc:
            raise SourceFailure(_driver_message(exc, f"query failed on MySQL at {self.config.address}")) from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._tls = None

    # --- scope ---

    def _database_wanted(self, name: str) -> bool:
        cfg = self.config
        if cfg.database is not None:
            return name == cfg.database
        if name.lower() in SYSTEM_DATABASES and not cfg.include_system_databases:
            return False
        return cfg.database_pattern.allowed(name)

    def databases(self, connection=None) -> list[str]:
        """The databases in scope after filters (one query), in byte order like the catalog streams."""
        rows = self._query(schemata_sql(self.config.include_stored_procedures), connection=connection)
        self._holding_procedures = holding_procedures(rows)
        self._all_databases = frozenset(r[0] for r in rows)
        return sorted((r[0] for r in rows if self._database_wanted(r[0])), key=lambda s: s.encode("utf-8"))

    def _location(self) -> Location:
        return Location(platform=self.platform, env=self.config.env, instance=self.config.platform_instance)

    def _wanted(self, database: str, name: str, is_view: bool) -> bool:
        qualified = f"{database}.{name}"
        if is_view:
            return self.config.include_views and self.config.view_pattern.allowed(qualified)
        return self.config.include_tables and self.config.table_pattern.allowed(qualified)

    def _procedure_wanted(self, database: str, name: str) -> bool:
        return self.config.include_stored_procedures and self.config.procedure_pattern.allowed(f"{database}.{name}")

    def wants(self, database: str, schema: str | None, table: str | None, kind: str) -> bool:
        if not self._database_wanted(database):
            return False
        if kind == FLOW_KIND:
            return self.config.include_stored_procedures
        if kind == PROCEDURE_KIND:
            return table is None or self._procedure_wanted(database, table)
        return table is None or self._wanted(database, table, kind == "View")

    # --- extraction ---

    def extract(self) -> Iterator[ContainerRecord | DatasetRecord | ScopeRecord]:
        connection = self.connect()  # SCHEMATA, then the foreign-key check, then COLUMNS
        streams: dict[str, _Stream | NoRows] = {}
        try:
            databases = self.databases(connection)
            if self.only_database is not None:
                databases = [d for d in databases if d == self.only_database]
            if not databases:
                return
            n, params = len(databases), list(databases)
            mariadb = "mariadb" in connection.get_server_info().lower()
            # views are parsed in their stream's thread as they arrive, while the server still works on the rest
            self._held_views = []
            streams["views"] = _Stream(self, (_views_sql(n, mariadb), params), prepare=self._prepared_views, chunk=50, ahead=8)
            streams["objects"] = _Stream(self, (_objects_sql(n), params * 2), chunk=500)
            with self._driver_errors():
                having = _databases_with_foreign_keys(self, connection, databases)
            # a COLUMNS row holds a whole table: small chunks keep the read-ahead to a few megabytes
            streams["columns"] = _Stream(self, (_columns_sql(n, mariadb), params), chunk=250, connection=connection)
            connection = None  # the columns stream closes it
            streams["foreign_keys"] = _Stream(self, (_foreign_keys_sql(len(having)), having)) if having else NoRows()
            streams["routines"] = open_routines(self, [d for d in databases if d in self._holding_procedures])
            with self._driver_errors():
                yield from self._merge(databases, self._location(), streams)
        finally:
            for stream in streams.values():
                stream.close()
            if connection is not None:
                connection.close()
            self.report.count("catalog statements", self.statements)

    def _merge(self, databases: list[str], location: Location, streams: dict[str, _Stream]):
        objects = streams["objects"]
        for database in databases:
            yield ContainerRecord(location=location, database=database, domain=domain_for(self.config.domain, database))
            failures = self.report.failure_count
            while True:
                row = objects.peek()
                if row is None or row[0].encode("utf-8") > database.encode("utf-8"):
                    break
                rows = objects.take((row[0], row[1]))
                if row[0] != database or rows[0][2] != _TABLE:
                    continue  # a database out of scope, or keys/view of a table that vanished meanwhile
                record = self._dataset(location, rows, streams)
                if record is not None:
                    yield record
            yield from procedure_records(streams["routines"], location, database, self._procedure_wanted, self.report)
            if self.report.failure_count == failures:
                yield ScopeRecord(location=location, database=database)

    def _dataset(self, location: Location, object_rows: list, streams: dict[str, _Stream]) -> DatasetRecord | None:
        database, name, _part, _seq, table_type, comment, table_collation = object_rows[0]
        key = (database, name)
        is_view = table_type in ("VIEW", "SYSTEM VIEW")
        column_rows = streams["columns"].take(key)
        fk_rows = streams["foreign_keys"].take(key)
        view_rows = streams["views"].take(key)
        if not self._wanted(database, name, is_view):
            self.report.count("filtered views" if is_view else "filtered tables")
            return None
        primary = {r[4] for r in object_rows if r[2] == _KEY}
        if not column_rows:
            self.report.warn(f"{database}.{name}: no columns readable (dropped meanwhile, or an invalid view)")
            fields = []
        else:
            try:
                fields = _unpack_columns(column_rows[0])
            except ValueError as exc:
                self.report.fail(f"{database}.{name}: {exc}")
                return None
        columns = []
        each = iter(fields)
        for col_name, column_type, is_nullable, charset, collation, col_comment in zip(each, each, each, each, each, each):
            if is_view:
                spelled, field_type = native_type(column_type)
                columns.append(Column(col_name, spelled, field_type=field_type))
                continue
            if collation == _NULL or collation == table_collation:
                spelled, field_type = native_type(column_type)
            else:  # SHOW CREATE TABLE prints a collation that differs from the table's, and so reflection sees it
                spelled, field_type = native_type(column_type, None if charset == _NULL else charset, collation)
            columns.append(Column(col_name, spelled, is_nullable == "YES", col_comment or None, col_name in primary, field_type))
        record = DatasetRecord(
            location=location,
            table=TableRef(database=database, name=name),
            subtype="View" if is_view else "Table",
            description=None if is_view else (comment or None),
            columns=columns,
            foreign_keys=self._foreign_keys(fk_rows),
            domain=domain_for(self.config.domain, f"{database}.{name}"),
        )
        if is_view and view_rows:
            self._add_view(record, view_rows[0])
        self.report.count("views" if is_view else "tables")
        return record

    @staticmethod
    def _foreign_keys(rows) -> list[ForeignKey]:
        keys: dict[str, ForeignKey] = {}
        for _db, _tbl, constraint, column, ref_db, ref_table, ref_column in rows:
            fk = keys.get(constraint)
            if fk is None:
                fk = keys[constraint] = ForeignKey(
                    name=constraint, columns=[], referenced=TableRef(database=ref_db, name=ref_table), referenced_columns=[]
                )
            fk.columns.append(column)
            fk.referenced_columns.append(ref_column)
        return list(keys.values())

    def carry_over_key(self) -> str:
        """A view's lineage follows from its statement (MySQL stores views with `*` expanded, so no other
        table's columns enter it), this module, the lineage and record modules, sqlglot's version and the config."""
        digest = hashlib.sha256()
        for module in (*(f"{__package__}.{m}" for m in ("source", "catalog", "types", "views", "config")), "ingest_assets.lineage", "ingest_assets.core.records"):
            digest.update(Path(importlib.util.find_spec(module, __package__).origin).read_bytes())
        digest.update(importlib.metadata.version("sqlglot").encode())
        digest.update(self.config.model_dump_json().encode())
        return digest.hexdigest()

    def _carried_over(self, database: str, name: str, statement: str) -> DatasetRecord | None:
        """The previous run's record of this view when its statement is unchanged and its lineage was parsed."""
        if self.previous_views is None:
            return None
        previous = self.previous_views.view(database, None, name)
        if previous is None or previous.view_definition != statement or previous.view_query is None:
            return None
        return previous

    def _prepared_views(self, rows: list | None) -> list[tuple]:
        """The VIEWS rows of every database complete so far, prepared (`_prepared_view`); None at the end flushes.

        A database's views are held until its last one arrived: whether SHOW CREATE VIEW prints a view
        compact depends on the views it reads (`compact_views`).
        """
        held = self._held_views + (rows or [])
        last = held[-1][0] if held and rows is not None else None
        self._held_views = [r for r in held if r[0] == last]
        prepared = []
        for database, group in groupby((r for r in held if r[0] != last), key=itemgetter(0)):
            group = list(group)
            compact = compact_views(database, {r[1]: r[2] or "" for r in group}, self._all_databases)
            prepared.extend(self._prepared_view(r, r[1] in compact) for r in group)
        return prepared

    def _prepared_view(self, view_row, compact: bool) -> tuple:
        """(database, name, statement, lineage or None, parse error or None) for one VIEWS row; views out of scope stay unparsed.

        The lineage is the previous run's record of the view where `_carried_over` finds one, else a `ViewLineage`.
        """
        database, name, body, definer, security, check_option, algorithm = view_row
        if not self._wanted(database, name, True):
            return database, name, None, None, None
        statement = view_statement(name, database, body or "", definer, security, check_option, algorithm, compact)
        if not self.config.include_view_lineage:
            return database, name, statement, None, None
        previous = self._carried_over(database, name, statement)
        if previous is not None:
            return database, name, statement, previous, None
        import sqlglot  # first imported here, in the views thread, while the main thread waits for COLUMNS

        from ...lineage import view_lineage

        try:
            return database, name, statement, view_lineage(statement, "mysql", database, None, lambda _table: None, pretty_statement=True), None
        except (sqlglot.errors.SqlglotError, ValueError, RecursionError) as exc:
            return database, name, statement, None, first_line(exc)

    def _add_view(self, record: DatasetRecord, view_row: tuple) -> None:
        database, name, statement, lineage, error = view_row
        record.view_definition = statement
        if error is not None:
            self.report.warn(f"{database}.{name}: view SQL could not be parsed for lineage ({error})")
        if lineage is None:
            return
        if isinstance(lineage, DatasetRecord):
            record.upstreams, record.view_query, record.column_lineage = lineage.upstreams, lineage.view_query, lineage.column_lineage
            self.report.count("views with lineage carried over")
            return
        lineage.apply_to(record, self.config.include_view_column_lineage)

    # --- change sensor ---

    def fingerprint(self) -> str:
        """One query over TABLES and COLUMNS in scope: changes when a table, view or column is added, dropped or altered."""
        connection = self.connect()
        try:
            return self._fingerprint(connection)
        finally:
            connection.close()

    def _fingerprint(self, connection) -> str:
        databases = self.databases(connection)
        if not databases:
            return hashlib.sha256(b"empty").hexdigest()
        in_list = _in_list(len(databases))
        sql = (
            "SELECT (SELECT CONCAT_WS(':', COUNT(*), SUM(CRC32(CONCAT_WS(0x1f, TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION, "
            "COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COALESCE(COLLATION_NAME, ''), COLUMN_COMMENT))), "
            "BIT_XOR(CRC32(CONCAT_WS(0x1f, TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, COLUMN_KEY)))) "
            f"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN ({in_list})), "
            "(SELECT CONCAT_WS(':', COUNT(*), BIT_XOR(CRC32(CONCAT_WS(0x1f, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, "
            "TABLE_COMMENT, COALESCE(TABLE_COLLATION, ''))))) "
            f"FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({in_list})), "
            "(SELECT CONCAT_WS(':', COUNT(*), BIT_XOR(CRC32(CONCAT_WS(0x1f, TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION, "
            "DEFINER, SECURITY_TYPE)))) "
            f"FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN ({in_list}))"
        )
        params = tuple(databases) * 3
        if self.config.include_stored_procedures:
            sql, params = f"{sql}, {routines_fingerprint_sql(len(databases))}", params + tuple(databases)
        rows = self._query(sql, params, connection=connection)
        payload = repr((databases, [tuple(str(v) for v in r) for r in rows]))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

