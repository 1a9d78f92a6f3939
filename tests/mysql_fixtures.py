"""Fixtures for tests against the local MariaDB: databases with unique names, dropped afterwards.

MariaDB must be running (root, empty password, 127.0.0.1:3306); a test that needs it fails when it is not.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pymysql
import pytest

from ingest_assets.core.report import StageReport
from ingest_assets.sources.mysql import MySQLConfig, MySQLSource

HOST = os.environ.get("MYSQL_HOST", "127.0.0.1")
PORT = int(os.environ.get("MYSQL_PORT", "3306"))
USER = os.environ.get("MYSQL_USER", "root")
PASSWORD = os.environ.get("MYSQL_PASSWORD", "")
GENERATOR = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_mysql_catalog.py"


def connect(database: str | None = None) -> pymysql.Connection:
    return pymysql.connect(host=HOST, port=PORT, user=USER, password=PASSWORD, database=database, autocommit=True, charset="utf8mb4")


def run_sql(statements: list[str] | str, database: str | None = None) -> None:
    if isinstance(statements, str):
        statements = [statements]
    with connect(database) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class Databases:
    """Creates databases named `<prefix><suffix>` for one test and drops every one of them afterwards."""

    def __init__(self):
        self.prefix = f"iat_{uuid.uuid4().hex[:8]}_"
        self.created: list[str] = []

    def create(self, suffix: str = "db", statements: list[str] = ()) -> str:
        name = self.prefix + suffix
        run_sql(f"CREATE DATABASE {quote(name)} DEFAULT CHARACTER SET utf8mb4")
        self.created.append(name)
        run_sql(list(statements), name)
        return name

    def pattern(self) -> dict:
        """A database_pattern that admits exactly this test's databases."""
        return {"allow": ["^" + self.prefix], "deny": []}

    def drop_all(self) -> None:
        for name in self.created:
            run_sql(f"DROP DATABASE IF EXISTS {quote(name)}")


@pytest.fixture
def mariadb():
    """A factory of throwaway databases on the local MariaDB (fails, not skips, when it is down)."""
    try:
        connect().close()
    except pymysql.err.OperationalError as exc:
        pytest.fail(f"MariaDB is not reachable at {HOST}:{PORT}: {exc}")
    databases = Databases()
    try:
        yield databases
    finally:
        databases.drop_all()


def generator_sql(tables_per_db: int, databases: int = 1) -> list[str]:
    """The shared benchmark generator's statements (database names bench_000, ...)."""
    out = subprocess.run(
        [sys.executable, str(GENERATOR), "--databases", str(databases), "--tables-per-db", str(tables_per_db), "--sql-only"],
        capture_output=True, text=True, check=True,
    )
    statements, current = [], []
    for line in out.stdout.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    return statements


def make_source(**config) -> MySQLSource:
    """The mysql source on the test server, with `config` over the connection keys."""
    base = {"host_port": f"{HOST}:{PORT}", "username": USER, "password": PASSWORD}
    return MySQLSource(MySQLConfig.model_validate({**base, **config}), StageReport("snapshot"))


def extract(**config) -> tuple[list, MySQLSource]:
    """Every snapshot record the source yields for `config`, and the (closed) source, for its counts."""
    source = make_source(**config)
    try:
        return list(source.extract()), source
    finally:
        source.close()
