"""The postgres source against the local PostgreSQL: scope and filters, records, the fingerprint, a statement count
that does not grow with the catalog, and connection failures as one line with exit code 2."""

import json
import time

import pytest

from ingest_assets.core.errors import ConnectionFailure
from ingest_assets.core.records import ContainerRecord, DatasetRecord, ProcedureFlowRecord, ProcedureRecord, ScopeRecord
from ingest_assets.sources.postgres.types import native_type

from .cli_runner import run_cli
from .postgres_fixtures import HOST, PORT, USER, connect, extract, make_source, postgres, run_sql  # noqa: F401

SHOP = [
    "CREATE SCHEMA shop",
    "CREATE SCHEMA staging",
    "CREATE TYPE shop.mood AS ENUM ('ok', 'sad')",
    "CREATE TABLE shop.customers (id integer PRIMARY KEY, mood shop.mood, tags text[])",
    "COMMENT ON TABLE shop.customers IS 'people'",
    "CREATE TABLE shop.orders (id bigint, line smallint, customer_id integer REFERENCES shop.customers (id), "
    "PRIMARY KEY (id, line))",
    "CREATE TABLE shop.tmp_scratch (x integer)",
    "CREATE TABLE staging.raw (payload jsonb)",
    "CREATE VIEW shop.customer_moods AS SELECT id, mood FROM shop.customers",
    "CREATE MATERIALIZED VIEW shop.mood_counts AS SELECT mood, count(*) AS n FROM shop.customers GROUP BY mood",
    "CREATE PROCEDURE shop.touch(n integer) LANGUAGE sql AS $$ SELECT 1 $$",
    "CREATE FUNCTION shop.twice(n integer) RETURNS integer LANGUAGE sql AS $$ SELECT 2 * n $$",
]


def _datasets(records) -> dict[str, DatasetRecord]:
    return {f"{r.table.schema_name}.{r.table.name}": r for r in records if isinstance(r, DatasetRecord)}


def test_one_database_reads_schemas_tables_views_keys_and_procedures(postgres):
    database = postgres.create("shop", SHOP)
    records, source = extract(database=database)
    datasets = _datasets(records)
    assert sorted(datasets) == ["shop.customer_moods", "shop.customers", "shop.mood_counts", "shop.orders",
                                "shop.tmp_scratch", "staging.raw"]
    schemas = [r.schema_name for r in records if isinstance(r, ContainerRecord)]
    assert schemas == [None, "public", "shop", "staging"], "the database, then every schema, empty ones included"
    customers = datasets["shop.customers"]
    assert customers.description == "people"
    assert [(c.name, c.native_type, c.field_type, c.nullable, c.is_part_of_key) for c in customers.columns] == [
        ("id", "INTEGER", "NumberType", False, True), ("mood", "shop.mood", "EnumType", True, False),
        ("tags", "TEXT[]", "ArrayType", True, False)]
    (fk,) = datasets["shop.orders"].foreign_keys
    assert (fk.columns, fk.referenced.schema_name, fk.referenced.name, fk.referenced_columns) == (
        ["customer_id"], "shop", "customers", ["id"])
    assert datasets["shop.mood_counts"].materialized and not datasets["shop.customer_moods"].materialized
    assert [u.name for u in datasets["shop.customer_moods"].upstreams] == ["customers"]
    procedures = [r for r in records if isinstance(r, ProcedureRecord)]
    assert [(p.schema_name, p.name, p.argument_signature) for p in procedures] == [("shop", "touch", "IN n integer")]
    assert [r.schema_name for r in records if isinstance(r, ProcedureFlowRecord)] == ["shop"]
    assert [r.database for r in records if isinstance(r, ScopeRecord)] == [database]
    assert source.report.failure_count == 0


def test_filters_on_databases_schemas_tables_views_and_procedures(postgres):
    first = postgres.create("first", SHOP)
    postgres.create("second", ["CREATE TABLE lonely (id integer)"])
    records, _ = extract(database_pattern=postgres.pattern(), schema_pattern={"deny": ["^staging$"]},
                         table_pattern={"deny": [r".*\.tmp_.*"]}, view_pattern={"deny": [r".*\.mood_counts$"]},
                         procedure_pattern={"deny": [".*"]})
    names = sorted(f"{r.table.database}.{r.table.schema_name}.{r.table.name}" for r in records if isinstance(r, DatasetRecord))
    assert names == [f"{first}.shop.customer_moods", f"{first}.shop.customers", f"{first}.shop.orders",
                     f"{postgres.prefix}second.public.lonely"]
    assert not [r for r in records if isinstance(r, (ProcedureRecord, ProcedureFlowRecord))]
    source = make_source(database_pattern=postgres.pattern(), schema_pattern={"deny": ["^staging$"]})
    assert source.databases() == [first, f"{postgres.prefix}second"]
    assert not source.wants(first, "staging", "raw", "Table") and source.wants(first, "shop", "orders", "Table")

    records, _ = extract(database=first, include_views=False, include_tables=False, include_stored_procedures=False)
    assert not [r for r in records if isinstance(r, DatasetRecord)]


def test_fingerprint_changes_on_ddl_in_scope_only(postgres):
    database = postgres.create("fp", SHOP)
    source = make_source(database=database, schema_pattern={"deny": ["^staging$"]})
    try:
        first = source.fingerprint()
        assert source.fingerprint() == first
        run_sql("ALTER TABLE staging.raw ADD COLUMN extra integer", database)
        assert source.fingerprint() == first, "a schema out of scope changed"
        run_sql("ALTER TABLE shop.customers ADD COLUMN email text", database)
        second = source.fingerprint()
        assert second != first
        run_sql("COMMENT ON COLUMN shop.customers.email IS 'where receipts go'", database)
        assert source.fingerprint() != second
        run_sql("CREATE OR REPLACE VIEW shop.customer_moods AS SELECT id, mood, email FROM shop.customers", database)
        assert source.fingerprint() not in (first, second)
    finally:
        source.close()


def _transactions(database: str) -> int:
    time.sleep(1.0)  # backends flush their statistics about once a second
    connection = connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (database,))
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


def test_statement_count_does_not_grow_with_tables(postgres):
    def catalog(n: int) -> list[str]:
        ddl = ["CREATE SCHEMA s"]
        for i in range(n):
            ddl += [f"CREATE TABLE s.t{i} (id integer PRIMARY KEY, ref integer REFERENCES s.t0 (id), note text)",
                    f"COMMENT ON COLUMN s.t{i}.note IS 'c'"]
        ddl += [f"CREATE VIEW s.v{i} AS SELECT id, note FROM s.t{i}" for i in range(0, n, 5)]
        return ddl + ["CREATE PROCEDURE s.p() LANGUAGE sql AS $$ SELECT 1 $$"]

    counts = {}
    for n in (5, 60):
        database = postgres.create(f"n{n}", catalog(n))
        before = _transactions(database)
        records, source = extract(database=database)
        on_server = _transactions(database) - before
        assert len([r for r in records if isinstance(r, DatasetRecord)]) == n + len(range(0, n, 5))
        counts[n] = (source.statements, on_server)
    assert counts[5] == counts[60], counts
    assert counts[5][0] == 5, "SCHEMAS, RELATIONS, FOREIGN_KEYS, VIEWS, PROCEDURES"


@pytest.mark.parametrize("case", ["unknown user", "unreachable host", "unknown database"])
def test_connection_failures_are_one_line_exit_2(case, write_recipe, tmp_path):
    secret = "s3cr3t-Pa55word"
    config = {"host_port": f"{HOST}:{PORT}", "username": USER, "password": secret}
    if case == "unreachable host":
        config["host_port"] = "127.0.0.1:1"
    elif case == "unknown database":
        config["database"] = "iat_does_not_exist_anywhere"
    else:
        config["username"] = "iat_nobody"
    recipe = write_recipe(json.dumps({
        "pipeline_name": "postgres_failure",
        "source": {"type": "postgres", "config": config},
        "sink": {"type": "file", "config": {"filename": str(tmp_path / "out.json")}},
    }))
    result = run_cli("ingest", "-c", str(recipe), env={"INGEST_ASSETS_HOME": str(tmp_path / "home")})
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot connect to PostgreSQL" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert secret not in result.stderr + result.stdout

    source = make_source(**config)
    with pytest.raises(ConnectionFailure) as caught:
        list(source.extract())
    assert secret not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(("format_type", "kind", "expected"), [
    ("numeric(12,2)", "b", ("NUMERIC(12, 2)", "NumberType")),
    ("timestamp(3) without time zone", "b", ("TIMESTAMP(3) WITHOUT TIME ZONE", "TimeType")),
    ("interval day", "b", ("INTERVAL day", "TimeType")),
    ("integer[]", "b", ("INTEGER[]", "ArrayType")),
    ("jsonb", "b", ("JSONB", "RecordType")),
    ("hstore", "b", ("HSTORE", "MapType")),
    ("tsvector", "b", ("TSVECTOR", "BytesType")),
    ("bit varying(5)", "b", ("BIT VARYING(5)", "BytesType")),
    ("shop.mood", "e", ("shop.mood", "EnumType")),
    ("positive_int", "d", ("positive_int", "NullType")),
    ("pg_lsn", "b", ("null", "NullType")),
])
def test_native_types_as_datahub_spells_and_classifies_them(format_type, kind, expected):
    assert native_type(format_type, kind) == expected


def test_views_are_read_a_page_at_a_time(postgres):
    """pg_get_viewdef locks every view it prints until its statement ends: a catalog with more views than the
    server's lock table holds is read in pages, each one statement, none lost or read twice."""
    from ingest_assets.sources.postgres.catalog import VIEWS
    from ingest_assets.sources.postgres.copy_stream import PagedCopyStream

    db = postgres.create("paged", ["CREATE SCHEMA a", "CREATE SCHEMA b", "CREATE TABLE a.t (id int)"]
                         + [f"CREATE VIEW {schema}.v{i} AS SELECT id FROM a.t" for schema in "ab" for i in range(4)])
    statements = []
    stream = PagedCopyStream(lambda: connect(db), VIEWS, {"schemas": ["a", "b"]}, 3, lambda: statements.append(1))
    try:
        rows = []
        while (row := stream.peek()) is not None:
            rows += stream.take((row[0], row[1]))
    finally:
        stream.close()
    assert [(r[0], r[1]) for r in rows] == [(s, f"v{i}") for s in "ab" for i in range(4)]
    assert len(statements) == 3  # 8 views, 3 a page
