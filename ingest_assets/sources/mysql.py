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
import queue
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import pymysql
from pymysql.constants import CLIENT
from pydantic import Field, SecretStr, field_validator, model_validator
from sqlalchemy import create_engine
from sqlalchemy import types as sa_types
from sqlalchemy.dialects import mysql as sa_mysql
from sqlalchemy.dialects.mysql.reflection import (
    MySQLTableDefinitionParser,
    ReflectedState,
)
from sqlalchemy.engine import URL, Engine

from ..core.errors import ConnectionFailure, SourceFailure, first_line
from ..core.patterns import AllowDenyPattern
from ..core.plugin import PluginConfig, Source
from ..core.records import Column, ContainerRecord, DatasetRecord, ForeignKey, Location, ScopeRecord, TableRef

SYSTEM_DATABASES = frozenset({"mysql", "information_schema", "performance_schema", "sys"})


class MySQLConfig(PluginConfig):
    """DataHub's mysql recipe keys (plus TLS keys that DataHub users put under options.connect_args)."""

    host_port: str = Field(default="localhost:3306", description="host:port of the server.")
    username: str | None = None
    password: SecretStr | None = None
    database: str | None = Field(default=None, description="Read only this database (default: every database).")
    scheme: str = Field(default="mysql+pymysql", description="SQLAlchemy driver name.")
    options: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for SQLAlchemy's create_engine; its connect_args reach PyMySQL.")
    ssl_ca: str | None = Field(default=None, description="CA certificate file (else the system's); setting any ssl_* key makes TLS required.")
    ssl_cert: str | None = Field(default=None, description="Client certificate file (with ssl_key, unless the file holds the key).")
    ssl_key: str | None = None
    ssl_verify_cert: bool | None = Field(default=None, description="Verify the server's certificate (default: true once TLS is required).")
    ssl_verify_identity: bool | None = Field(default=None, description="Check the server's host name against its certificate (default: as ssl_verify_cert).")

    @model_validator(mode="after")
    def _identity_needs_certificate(self) -> "MySQLConfig":
        if self.ssl_verify_identity and self.ssl_verify_cert is False:
            raise ValueError("ssl_verify_identity: true needs the certificate verified (ssl_verify_cert is false)")
        return self
    database_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern)
    table_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against 'db.table'.")
    view_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against 'db.view'.")
    include_tables: bool = True
    include_views: bool = True
    include_view_lineage: bool = True
    include_view_column_lineage: bool = True
    include_system_databases: bool = Field(default=False, description="Also read mysql, information_schema, performance_schema and sys.")
    env: str = "PROD"
    platform_instance: str | None = None

    @field_validator("host_port")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":") if ":" in value else (value, "", "3306")
        if not host or not port.isdigit():
            raise ValueError(f"'host:port' such as 'localhost:3306' (found {value!r})")
        return value

    @property
    def host(self) -> str:
        return self.host_port.rpartition(":")[0] if ":" in self.host_port else self.host_port

    @property
    def port(self) -> int:
        return int(self.host_port.rpartition(":")[2]) if ":" in self.host_port else 3306


# --- native types, as DataHub's SQLAlchemy reflection spells and classifies them ---------------

_DIALECT = sa_mysql.dialect()
_PARSER = MySQLTableDefinitionParser(_DIALECT, _DIALECT.identifier_preparer)

# DataHub's `_field_type_mapping`, in its order (the first isinstance match wins).
_FIELD_TYPES: list[tuple[type, str]] = [
    (sa_types.Integer, "NumberType"),
    (sa_types.Numeric, "NumberType"),
    (sa_types.Boolean, "BooleanType"),
    (sa_types.Enum, "EnumType"),
    (sa_types._Binary, "BytesType"),
    (sa_types.LargeBinary, "BytesType"),
    (sa_types.PickleType, "BytesType"),
    (sa_types.ARRAY, "ArrayType"),
    (sa_types.String, "StringType"),
    (sa_types.Date, "DateType"),
    (sa_types.Time, "TimeType"),
    (sa_types.DateTime, "TimeType"),
    (sa_types.TIMESTAMP, "TimeType"),
    (sa_types.JSON, "RecordType"),
]


# Types DataHub's mysql source adds to SQLAlchemy's reflection (spelt in capitals, no field type).
_DATAHUB_REGISTERED = frozenset({"geometry", "point", "linestring", "polygon", "decimal128"})


@lru_cache(maxsize=4096)
def native_type(column_type: str, charset: str | None = None, collation: str | None = None) -> tuple[str, str]:
    """(nativeDataType, DataHub field type) for an information_schema COLUMN_TYPE.

    `charset`/`collation` are given when `SHOW CREATE TABLE` would print them (the column's
    collation differs from the table's), which is when SQLAlchemy's reflection sees them.
    """
    base = column_type.split("(", 1)[0].split(" ", 1)[0].lower()
    if base in _DATAHUB_REGISTERED:
        return base.upper(), "NullType"
    clause = f" CHARACTER SET {charset} COLLATE {collation}" if charset and collation else ""
    state = ReflectedState()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _PARSER._parse_column(f"  `c` {column_type}{clause},", state)
    if not state.columns:
        return column_type.upper(), "NullType"
    type_ = state.columns[0]["type"]
    if isinstance(type_, sa_types.NullType):
        return "NULL", "NullType"
    try:
        spelled = str(type_.compile(dialect=_DIALECT))
    except Exception:  # a type SQLAlchemy reflects but cannot print: DataHub falls back to repr-like text
        spelled = column_type.upper()
    for sa_class, field_type in _FIELD_TYPES:
        if isinstance(type_, sa_class):
            return spelled, field_type
    return spelled, "NullType"


# --- view definitions as SHOW CREATE VIEW prints them --------------------------------------------

_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`(?:[^`]|``)*`\.?")


def quote_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def strip_database(body: str, database: str) -> str:
    """Drop the `db`. qualifier of the view's own database outside string literals (SHOW CREATE VIEW does)."""
    prefix = quote_identifier(database) + "."
    return _QUOTED.sub(lambda m: "" if m.group(0) == prefix else m.group(0), body)


def view_statement(name: str, database: str, body: str, definer: str, security: str, check_option: str, algorithm: str) -> str:
    user, _, host = (definer or "").rpartition("@")
    definer_sql = f"{quote_identifier(user)}@{quote_identifier(host)}" if user else quote_identifier(definer or "")
    statement = (
        f"CREATE ALGORITHM={algorithm or 'UNDEFINED'} DEFINER={definer_sql} SQL SECURITY {security or 'DEFINER'} "
        f"VIEW {quote_identifier(name)} AS {strip_database(body, database)}"
    )
    if check_option and check_option != "NONE":
        statement += f" WITH {check_option} CHECK OPTION"
    return statement


# --- the catalog queries ---------------------------------------------------------------------------

def _in_list(count: int) -> str:
    return ", ".join(["%s"] * count)


_TABLE, _KEY = 0, 1


def _objects_sql(n: int) -> str:
    """TABLES and the primary-key rows of STATISTICS in one sorted stream: per table, its TABLES row,
    then its key columns in order (columns a..c differ by part)."""
    in_list = _in_list(n)
    return (
        "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, 0 AS part, 0 AS seq, TABLE_TYPE AS a, TABLE_COMMENT AS b, "
        f"TABLE_COLLATION AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({in_list}) "
        "UNION ALL SELECT TABLE_SCHEMA, TABLE_NAME, 1, SEQ_IN_INDEX, COLUMN_NAME, NULL, NULL "
        f"FROM information_schema.STATISTICS WHERE INDEX_NAME = 'PRIMARY' AND TABLE_SCHEMA IN ({in_list}) "
        "ORDER BY BINARY s, BINARY t, part, seq"
    )


def _views_sql(n: int, mariadb: bool) -> str:
    """VIEWS on their own: the server answers in a fraction of the time COLUMNS takes, so the views
    are parsed for lineage while the main thread still waits for COLUMNS."""
    algorithm = "ALGORITHM" if mariadb else "'UNDEFINED'"
    return (
        f"SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION, DEFINER, SECURITY_TYPE, CHECK_OPTION, {algorithm} "
        f"FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN ({_in_list(n)}) "
        "ORDER BY BINARY TABLE_SCHEMA, BINARY TABLE_NAME"
    )


# One row per table, its columns packed server-side: the client decodes 20 times fewer rows.
_FIELD, _COLUMN, _NULL = "\x1f", "\x1e", "\x1d"


def _columns_sql(n: int, mariadb: bool) -> str:
    """GROUP_CONCAT's default limit (1 KB) would cut tables short; the statement lifts it for itself."""
    if mariadb:
        prefix, hint = "SET STATEMENT group_concat_max_len = 1073741824 FOR ", ""
    else:
        prefix, hint = "", "/*+ SET_VAR(group_concat_max_len = 1073741824) */ "
    return (
        f"{prefix}SELECT {hint}TABLE_SCHEMA, TABLE_NAME, COUNT(*), GROUP_CONCAT(CONCAT_WS(0x1f, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, "
        "COALESCE(CHARACTER_SET_NAME, 0x1d), COALESCE(COLLATION_NAME, 0x1d), COLUMN_COMMENT) "
        "ORDER BY ORDINAL_POSITION SEPARATOR 0x1e) "
        f"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN ({_in_list(n)}) "
        "GROUP BY TABLE_SCHEMA, TABLE_NAME ORDER BY BINARY TABLE_SCHEMA, BINARY TABLE_NAME"
    )


def _unpack_columns(row) -> list[str]:
    """The fields of one packed COLUMNS row, six per column: name, type, nullable, charset, collation, comment.

    Charset and collation are `_NULL` where the server has none.
    """
    packed = row[3]
    if isinstance(packed, bytes):
        packed = packed.decode("utf-8")
    fields = packed.replace(_COLUMN, _FIELD).split(_FIELD) if packed else []
    if len(fields) != 6 * row[2]:
        raise ValueError(f"column list of {row[0]}.{row[1]} was cut short or holds control characters")
    return fields


def _fk_schemas_sql(n: int) -> str:
    return (
        "SELECT DISTINCT CONSTRAINT_SCHEMA FROM information_schema.REFERENTIAL_CONSTRAINTS "
        f"WHERE CONSTRAINT_SCHEMA IN ({_in_list(n)})"
    )


def _foreign_keys_sql(n: int) -> str:
    return (
        "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, "
        "REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
        f"WHERE REFERENCED_TABLE_NAME IS NOT NULL AND TABLE_SCHEMA IN ({_in_list(n)}) "
        "ORDER BY BINARY TABLE_SCHEMA, BINARY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION"
    )


_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# InnoDB's own list of foreign keys needs no table to be opened (REFERENTIAL_CONSTRAINTS opens them all);
# it needs the PROCESS privilege, so REFERENTIAL_CONSTRAINTS stays the fallback.
_INNODB_FOREIGN = (
    "SELECT DISTINCT SUBSTRING_INDEX(FOR_NAME, '/', 1) FROM information_schema.INNODB_SYS_FOREIGN",
    "SELECT DISTINCT SUBSTRING_INDEX(FOR_NAME, '/', 1) FROM information_schema.INNODB_FOREIGN",
)


def _databases_with_foreign_keys(source: "MySQLSource", connection, databases: list[str]) -> list[str]:
    """The databases (of `databases`) that may hold foreign keys, in at most three cheap statements."""
    for sql in _INNODB_FOREIGN:
        try:
            with connection.cursor() as cursor:
                source.sent(1)
                cursor.execute(sql)
                encoded = {r[0].decode() if isinstance(r[0], bytes) else r[0] for r in cursor.fetchall()}
        except pymysql.err.MySQLError:
            continue
        # InnoDB spells names in filename encoding: simple names are unchanged, others we cannot rule out.
        escaped = any(not _SIMPLE_NAME.match(name) for name in encoded)
        return [d for d in databases if (d in encoded if _SIMPLE_NAME.match(d) else escaped)]
    return [r[0] for r in source._query(_fk_schemas_sql(len(databases)), tuple(databases), connection=connection)]


_END = object()
_CHUNK = 2000


class _Stream:
    """One catalog query fetched in chunks by a background thread, on `connection` or a connection of its own.

    The server works on every stream at once; a bounded queue keeps at most a few chunks in memory.
    `peek()`/`take(key)` let the merge-join pull the rows of one (schema, table) at a time.
    """

    def __init__(self, source: "MySQLSource", query, prepare=None, chunk: int = _CHUNK, ahead: int = 4, connection=None):
        self._connection = connection
        self._prepare = prepare
        self._chunk = chunk
        self._queue: queue.Queue = queue.Queue(maxsize=ahead)
        self._rows: list = []
        self._index = 0
        self._done = False
        self._source = source
        self._query = query
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            connection = self._connection or self._source.connect()
            try:
                sql, params = self._query
                cursor = connection.cursor(pymysql.cursors.SSCursor)
                self._source.sent(1)
                cursor.execute(sql, tuple(params))
                try:
                    while not self._stop.is_set():
                        chunk = cursor.fetchmany(self._chunk)
                        if not chunk:
                            break
                        if self._prepare is not None:
                            chunk = [self._prepare(row) for row in chunk]
                        self._queue.put(chunk)
                finally:
                    cursor.close()
            finally:
                connection.close()
            self._queue.put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it in the main thread
            self._queue.put(exc)

    def _next_chunk(self) -> bool:
        item = self._queue.get()
        if item is _END:
            self._done = True
            return False
        if isinstance(item, BaseException):
            self._done = True
            raise item
        self._rows, self._index = item, 0
        return True

    def peek(self):
        while self._index >= len(self._rows):
            if self._done or not self._next_chunk():
                return None
        return self._rows[self._index]

    def take(self, key: tuple[str, str]) -> list:
        """The rows for table `key`, skipping rows of tables that sort before it (gone meanwhile)."""
        found = []
        while True:
            row = self.peek()
            if row is None:
                return found
            row_key = (row[0], row[1])
            if row_key > key:
                return found
            self._index += 1
            if row_key == key:
                found.append(row)

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass


class _NoRows:
    """Stands in for a stream that has nothing to say (no database in scope has foreign keys)."""

    def take(self, key: tuple[str, str]) -> list:
        return []

    def close(self) -> None:
        pass


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

    # --- connection ---

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine the recipe describes (URL, `options`, TLS): its dialect opens every connection."""
        if self._engine is None:
            cfg = self.config
            url = URL.create(
                cfg.scheme,
                username=cfg.username,
                password=cfg.password.get_secret_value() if cfg.password else None,
                host=cfg.host,
                port=cfg.port,
                database=cfg.database,
            )
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
            raise ConnectionFailure(f"TLS settings for MySQL at {cfg.host_port}: {first_line(exc)}") from None
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
            raise ConnectionFailure(_driver_message(exc, f"cannot connect to MySQL at {self.config.host_port}")) from None
        except pymysql.err.MySQLError as exc:
            raise SourceFailure(_driver_message(exc, f"query failed on MySQL at {self.config.host_port}")) from None

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
        rows = self._query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA", connection=connection)
        return sorted((r[0] for r in rows if self._database_wanted(r[0])), key=lambda s: s.encode("utf-8"))

    def _location(self) -> Location:
        return Location(platform=self.platform, env=self.config.env, instance=self.config.platform_instance)

    def _wanted(self, database: str, name: str, is_view: bool) -> bool:
        qualified = f"{database}.{name}"
        if is_view:
            return self.config.include_views and self.config.view_pattern.allowed(qualified)
        return self.config.include_tables and self.config.table_pattern.allowed(qualified)

    def wants(self, database: str, schema: str | None, table: str | None, kind: str) -> bool:
        if not self._database_wanted(database):
            return False
        return table is None or self._wanted(database, table, kind == "View")

    # --- extraction ---

    def extract(self) -> Iterator[ContainerRecord | DatasetRecord | ScopeRecord]:
        connection = self.connect()  # SCHEMATA, then the foreign-key check, then COLUMNS
        streams: dict[str, _Stream | _NoRows] = {}
        try:
            databases = self.databases(connection)
            if self.only_database is not None:
                databases = [d for d in databases if d == self.only_database]
            if not databases:
                return
            n, params = len(databases), list(databases)
            mariadb = "mariadb" in connection.get_server_info().lower()
            # views are parsed in their stream's thread as they arrive, while the server still works on the rest
            streams["views"] = _Stream(self, (_views_sql(n, mariadb), params), prepare=self._prepared_view, chunk=50, ahead=8)
            streams["objects"] = _Stream(self, (_objects_sql(n), params * 2), chunk=500)
            with self._driver_errors():
                having = _databases_with_foreign_keys(self, connection, databases)
            # a COLUMNS row holds a whole table: small chunks keep the read-ahead to a few megabytes
            streams["columns"] = _Stream(self, (_columns_sql(n, mariadb), params), chunk=250, connection=connection)
            connection = None  # the columns stream closes it
            streams["foreign_keys"] = _Stream(self, (_foreign_keys_sql(len(having)), having)) if having else _NoRows()
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
            yield ContainerRecord(location=location, database=database)
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
        for module in (__name__, "..lineage", "..core.records"):
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

    def _prepared_view(self, view_row) -> tuple:
        """(database, name, statement, lineage or None, parse error or None) for one VIEWS row; views out of scope stay unparsed.

        The lineage is the previous run's record of the view where `_carried_over` finds one, else a `ViewLineage`.
        """
        database, name, body, definer, security, check_option, algorithm = view_row
        if not self._wanted(database, name, True):
            return database, name, None, None, None
        statement = view_statement(name, database, body or "", definer, security, check_option, algorithm)
        if not self.config.include_view_lineage:
            return database, name, statement, None, None
        previous = self._carried_over(database, name, statement)
        if previous is not None:
            return database, name, statement, previous, None
        import sqlglot  # first imported here, in the views thread, while the main thread waits for COLUMNS

        from ..lineage import view_lineage

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
        record.upstreams = lineage.upstreams
        record.view_query = lineage.statement
        if self.config.include_view_column_lineage:
            record.column_lineage = lineage.columns

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
        rows = self._query(sql, tuple(databases) * 3, connection=connection)
        payload = repr((databases, [tuple(str(v) for v in r) for r in rows]))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
