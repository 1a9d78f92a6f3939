"""Fixtures for tests against the local PostgreSQL: databases with unique names, dropped afterwards.

PostgreSQL must be running (trust authentication on 127.0.0.1:5432); a test that needs it fails when it is not.
"""

import os
import uuid

import psycopg2
import pytest

from ingest_assets.core.report import StageReport
from ingest_assets.sources.postgres import PostgresConfig, PostgresSource

HOST = os.environ.get("PGHOST_TEST", "127.0.0.1")
PORT = int(os.environ.get("PGPORT_TEST", "5432"))
USER = os.environ.get("PGUSER_TEST", "postgres")


def connect(database: str = "postgres"):
    connection = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=database, connect_timeout=5)
    connection.autocommit = True
    return connection


def run_sql(statements: list[str] | str, database: str = "postgres") -> None:
    if isinstance(statements, str):
        statements = [statements]
    connection = connect(database)
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def recreate_database(name: str, statements: list[str] = ()) -> None:
    run_sql([f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)", f"CREATE DATABASE {quote(name)}"])
    run_sql(list(statements), name)


class Databases:
    """Creates databases named `<prefix><suffix>` for one test and drops every one of them afterwards."""

    def __init__(self):
        self.prefix = f"iat_{uuid.uuid4().hex[:8]}_"
        self.created: list[str] = []

    def create(self, suffix: str = "db", statements: list[str] = ()) -> str:
        name = self.prefix + suffix
        self.created.append(name)
        recreate_database(name, statements)
        return name

    def pattern(self) -> dict:
        """A database_pattern that admits exactly this test's databases."""
        return {"allow": ["^" + self.prefix], "deny": []}

    def drop_all(self) -> None:
        for name in self.created:
            run_sql(f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)")


@pytest.fixture
def postgres():
    """A factory of throwaway databases on the local PostgreSQL (fails, not skips, when it is down)."""
    try:
        connect().close()
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {HOST}:{PORT}: {exc}")
    databases = Databases()
    try:
        yield databases
    finally:
        databases.drop_all()


def make_source(**config) -> PostgresSource:
    """The postgres source on the test server, with `config` over the connection keys."""
    base = {"host_port": f"{HOST}:{PORT}", "username": USER}
    return PostgresSource(PostgresConfig.model_validate({**base, **config}), StageReport("snapshot"))


def extract(**config) -> tuple[list, PostgresSource]:
    """Every snapshot record the source yields for `config`, and the (closed) source, for its counts."""
    source = make_source(**config)
    try:
        return list(source.extract()), source
    finally:
        source.close()
