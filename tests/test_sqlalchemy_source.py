"""The generic `sqlalchemy` source on SQLite, MariaDB, PostgreSQL and DuckDB, each a real database: the same entities
as the dedicated source where there is one, DataHub's generic naming where there is none."""

import copy
import json

import duckdb
import pytest
from datahub.emitter.mcp import MetadataChangeProposalWrapper

from .cli_runner import run_cli
from .datahub_files import file_aspects
from .fidelity_catalog import RECIPE_CONFIG, SHOP, STATEMENTS
from .mysql_fixtures import HOST, PASSWORD, PORT, USER, run_sql
from .postgres_fixtures import HOST as PG_HOST
from .postgres_fixtures import PORT as PG_PORT
from .postgres_fixtures import USER as PG_USER
from .postgres_fixtures import postgres, recreate_database  # noqa: F401
from .postgres_fixtures import quote as quote_pg
from .postgres_fixtures import run_sql as run_pg_sql

PG = {"host": PG_HOST, "port": PG_PORT, "user": PG_USER}


def ingest(tmp_path, name: str, source: dict) -> list[dict]:
    out = tmp_path / f"{name}.json"
    recipe = tmp_path / f"{name}.yml"
    recipe.write_text(json.dumps({"pipeline_name": name, "source": source, "sink": {"type": "file", "config": {"filename": str(out)}}}))
    result = run_cli("ingest", "-c", str(recipe), env={"INGEST_ASSETS_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stdout + result.stderr
    records = json.loads(out.read_text())
    for record in records:
        assert MetadataChangeProposalWrapper.from_obj(copy.deepcopy(record)).to_obj(simplified_structure=True) == record
    return records


def without(aspect: dict, *keys: str) -> dict:
    """The aspect with `keys` left out of it and of each schema field."""
    aspect = {k: v for k, v in aspect.items() if k not in keys}
    if "fields" in aspect:
        aspect["fields"] = [{k: v for k, v in f.items() if k not in keys} for f in aspect["fields"]]
    return aspect


def test_sqlite_gives_the_sqlite_sources_entities(shop_db, tmp_path):
    """What reflection cannot see differs, nothing else: descriptions (SQLite keeps them only as SQL comments,
    which the sqlite source reads) and key columns' nullability (SQLAlchemy reports a non-INTEGER primary-key
    column as nullable, as SQLite lets it hold NULL)."""
    generic = file_aspects(ingest(tmp_path, "generic", {"type": "sqlalchemy", "config": {
        "connect_uri": f"sqlite:///{shop_db}", "platform": "sqlite"}}))
    dedicated = file_aspects(ingest(tmp_path, "dedicated", {"type": "sqlite", "config": {"path": str(shop_db)}}))
    assert set(generic) == set(dedicated)
    differing = {key for key in dedicated if generic[key] != dedicated[key]}
    assert {aspect for _, aspect in differing} == {"datasetProperties", "schemaMetadata"}
    for key in differing:
        assert without(generic[key], "description", "nullable") == without(dedicated[key], "description", "nullable"), key


def test_mariadb_gives_the_mysql_sources_entities(tmp_path):
    """On the fidelity catalog (every column type, odd names, views across databases): identical but for the spatial
    types, which the mysql source spells BLOB as DataHub's registers them and reflection cannot name (`null`)."""
    run_sql(STATEMENTS)
    generic = file_aspects(ingest(tmp_path, "generic", {"type": "sqlalchemy", "config": {
        "connect_uri": f"mysql+pymysql://{USER}:{PASSWORD}@{HOST}:{PORT}", "platform": "mysql",
        "schema_pattern": RECIPE_CONFIG["database_pattern"], "domain": RECIPE_CONFIG["domain"]}}))
    dedicated = file_aspects(ingest(tmp_path, "dedicated", {"type": "mysql", "config": {
        "host_port": f"{HOST}:{PORT}", "username": USER, "password": PASSWORD, **RECIPE_CONFIG,
        "include_stored_procedures": False}}))
    assert set(generic) == set(dedicated)
    every_type = (f"urn:li:dataset:(urn:li:dataPlatform:mysql,{SHOP}.every_type,PROD)", "schemaMetadata")
    assert [key for key in dedicated if generic[key] != dedicated[key]] == [every_type]
    spatial = [(g["fieldPath"], g["nativeDataType"], d["nativeDataType"])
               for g, d in zip(generic[every_type]["fields"], dedicated[every_type]["fields"]) if g != d]
    assert {(native, spelt) for _, native, spelt in spatial} == {("null", "BLOB")}
    assert len(spatial) == 4  # geometry, point, linestring, polygon (the other spatial types are null in both)


def test_postgres_names_keys_and_views_through_the_search_path(tmp_path, postgres):
    pg_database = postgres.create("generic", [
        "CREATE SCHEMA sales",
        "CREATE TABLE public.customers (id int PRIMARY KEY, email text NOT NULL, tags text[], meta jsonb, h numeric(12,2))",
        "COMMENT ON TABLE public.customers IS 'people who buy'",
        "CREATE TABLE sales.orders (id bigint PRIMARY KEY, customer_id int REFERENCES public.customers (id), "
        "total numeric(10,2), at timestamp(3))",
        'CREATE TABLE sales."odd, name (x)" ("a,b" int, "ключ" text)',
        "CREATE TABLE sales.nothing ()",
        "CREATE VIEW sales.big_orders AS SELECT o.id, c.email FROM sales.orders o JOIN customers c ON c.id = o.customer_id",
    ])
    records = ingest(tmp_path, "pg", {"type": "sqlalchemy", "config": {
        "connect_uri": f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{pg_database}", "platform": "postgres"}})
    aspects = file_aspects(records)

    def urn(schema: str, table: str) -> str:
        return f"urn:li:dataset:(urn:li:dataPlatform:postgres,{pg_database}.{schema}.{table},PROD)"

    datasets = {r["entityUrn"] for r in records if r["entityType"] == "dataset"}
    assert datasets == {urn("public", "customers"), urn("sales", "orders"), urn("sales", "odd%2C name %28x%29"),
                        urn("sales", "nothing"), urn("sales", "big_orders")}
    assert aspects[(urn("public", "customers"), "datasetProperties")]["description"] == "people who buy"
    fields = {f["fieldPath"]: (f["nativeDataType"], next(iter(f["type"]["type"])).rsplit(".", 1)[1])
              for f in aspects[(urn("public", "customers"), "schemaMetadata")]["fields"]}
    assert fields == {"id": ("INTEGER", "NumberType"), "email": ("TEXT", "StringType"), "tags": ("TEXT[]", "ArrayType"),
                      "meta": ("JSONB", "RecordType"), "h": ("NUMERIC(12, 2)", "NumberType")}
    orders = aspects[(urn("sales", "orders"), "schemaMetadata")]
    assert orders["foreignKeys"][0]["foreignDataset"] == urn("public", "customers")  # on the search path: schema left out
    assert aspects[(urn("sales", "nothing"), "schemaMetadata")]["fields"] == []
    lineage = aspects[(urn("sales", "big_orders"), "upstreamLineage")]
    assert sorted(u["dataset"] for u in lineage["upstreams"]) == [urn("public", "customers"), urn("sales", "orders")]
    containers = {a["name"] for (u, n), a in aspects.items() if n == "containerProperties"}
    assert containers == {pg_database, "public", "sales"}


def test_duckdb_reads_through_information_schema_where_reflection_fails(tmp_path):
    """duckdb-engine borrows PostgreSQL's catalog queries, which DuckDB only partly answers under SQLAlchemy 2.1:
    columns and keys then come from information_schema, one query per schema, and the run says so."""
    path = tmp_path / "lake.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total DECIMAL(10,2), tags VARCHAR[], "
                           "m MAP(VARCHAR, INTEGER), s STRUCT(a INTEGER), placed_at TIMESTAMP, b BLOB, u UUID, f FLOAT)")
        connection.execute("CREATE VIEW big AS SELECT id, total FROM orders WHERE total > 100")
    records = ingest(tmp_path, "duck", {"type": "sqlalchemy", "config": {"connect_uri": f"duckdb:///{path}", "platform": "duckdb"}})
    aspects = file_aspects(records)
    orders = "urn:li:dataset:(urn:li:dataPlatform:duckdb,lake.main.orders,PROD)"  # DataHub's generic naming: schema.table
    fields = {f["fieldPath"]: (next(iter(f["type"]["type"])).rsplit(".", 1)[1], f["isPartOfKey"])
              for f in aspects[(orders, "schemaMetadata")]["fields"]}
    assert fields == {"id": ("NumberType", True), "total": ("NumberType", False), "tags": ("ArrayType", False),
                      "m": ("MapType", False), "s": ("RecordType", False), "placed_at": ("TimeType", False),
                      "b": ("BytesType", False), "u": ("StringType", False), "f": ("NumberType", False)}
    lineage = aspects[("urn:li:dataset:(urn:li:dataPlatform:duckdb,lake.main.big,PROD)", "upstreamLineage")]
    assert [u["dataset"] for u in lineage["upstreams"]] == [orders]
    assert len(lineage["fineGrainedLineages"]) == 2


def test_reflection_calls_do_not_grow_with_tables(tmp_path):
    import sqlite3

    from ingest_assets.core.report import StageReport
    from ingest_assets.sources.generic import SQLAlchemyConfig, SQLAlchemySource

    calls = {}
    for count in (5, 50):
        path = tmp_path / f"t{count}.db"
        with sqlite3.connect(path) as connection:
            for i in range(count):
                connection.execute(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, ref INTEGER REFERENCES t0 (id))")
            connection.execute("CREATE VIEW v AS SELECT id FROM t0")
        source = SQLAlchemySource(SQLAlchemyConfig(connect_uri=f"sqlite:///{path}", platform="sqlite"), StageReport("snapshot"))
        records = list(source.extract())
        assert sum(r.kind == "dataset" for r in records) == count + 1
        calls[count] = source.statements
    assert calls[5] == calls[50] == 8, calls  # tables, views, materialized views, columns, keys, foreign keys, comments; one view definition


@pytest.mark.parametrize("uri, expected", [
    ("nosuchdb://host/db", "error: no SQLAlchemy dialect for nosuchdb://"),
    ("postgresql+psycopg2://postgres:s3cr3t-xyz@127.0.0.1:1/db", "error: cannot connect to postgres at "
                                                                  "postgresql+psycopg2://postgres:********@127.0.0.1:1/db: "),
])
def test_a_bad_uri_or_an_unreachable_server_is_one_line_exit_2_without_the_password(tmp_path, uri, expected):
    recipe = tmp_path / "r.yml"
    recipe.write_text(json.dumps({"pipeline_name": "bad", "source": {"type": "sqlalchemy", "config": {
        "connect_uri": uri, "platform": "postgres"}}, "sink": {"type": "console"}}))
    result = run_cli("ingest", "-c", str(recipe), env={"INGEST_ASSETS_HOME": str(tmp_path / "home")})
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(expected)
    assert "s3cr3t" not in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_stale_removal_follows_its_patterns(shop_db, tmp_path, write_recipe, isolated_home):
    """A table a changed pattern leaves out is out of scope, not deleted; a dropped one is soft-deleted."""
    import sqlite3

    from ingest_assets.cli import main

    from .stateful_catalog import sent

    def recipe(**extra):
        return write_recipe(json.dumps({"pipeline_name": "gen", "source": {"type": "sqlalchemy", "config": {
            "connect_uri": f"sqlite:///{shop_db}", "platform": "sqlite",
            "stateful_ingestion": {"enabled": True, "fail_safe_threshold": 100}, **extra}},
            "sink": {"type": "file", "config": {"filename": str(tmp_path / "out.json")}}}))

    artifacts = isolated_home / "artifacts"
    assert main(["ingest", "-c", str(recipe())]) == 0
    assert main(["ingest", "-c", str(recipe(table_pattern={"deny": ["main\\.addresses$"]}))]) == 0
    assert sent(artifacts, "gen") == []
    with sqlite3.connect(shop_db) as connection:
        connection.execute("DROP TABLE addresses")
    assert main(["ingest", "-c", str(recipe())]) == 0
    removed = [m.entity_urn for m in sent(artifacts, "gen") if m.aspect_name == "status" and m.aspect == {"removed": True}]
    assert removed == ["urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.addresses,PROD)"]


def test_postgres_gives_the_postgres_sources_entities(tmp_path):
    """On the postgres fidelity catalog: the same entities and aspects, but for what only the catalog tables tell
    (a partition's parent, a foreign table's server) and the types SQLAlchemy's PostgreSQL dialect does not know
    (xml, cidr, the geometric and range types), which reflection can only call `null`."""
    from .postgres_fidelity_catalog import MAIN, MAIN_STATEMENTS

    recreate_database(MAIN, MAIN_STATEMENTS)
    try:
        generic = file_aspects(ingest(tmp_path, "generic", {"type": "sqlalchemy", "config": {
            "connect_uri": f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{MAIN}", "platform": "postgres"}}))
        dedicated = file_aspects(ingest(tmp_path, "dedicated", {"type": "postgres", "config": {
            "host_port": f"{PG['host']}:{PG['port']}", "username": PG["user"], "database": MAIN,
            "include_stored_procedures": False}}))
    finally:
        run_pg_sql(f"DROP DATABASE IF EXISTS {quote_pg(MAIN)} WITH (FORCE)")
    assert set(generic) == set(dedicated)
    differing = {key for key in dedicated if generic[key] != dedicated[key]}
    assert {aspect for _, aspect in differing} == {"datasetProperties", "schemaMetadata"}
    for key in differing:
        if key[1] == "datasetProperties":
            assert set(dedicated[key]["customProperties"]) - set(generic[key]["customProperties"]) <= {"partition_of", "foreign_server"}
            assert {**generic[key], "customProperties": {}} == {**dedicated[key], "customProperties": {}}
        else:
            unknown = {g["fieldPath"] for g, d in zip(generic[key]["fields"], dedicated[key]["fields"])
                       if {**g, "type": None, "nativeDataType": None} == {**d, "type": None, "nativeDataType": None} and g != d}
            assert [g["fieldPath"] for g, d in zip(generic[key]["fields"], dedicated[key]["fields"]) if g != d] == sorted(
                unknown, key=[f["fieldPath"] for f in dedicated[key]["fields"]].index)
            assert {name.split("_", 1)[1] for name in unknown} == {
                "xml", "cidr", "point", "line", "lseg", "box", "path", "polygon", "circle", "int4range", "int8range",
                "numrange", "tsrange", "tstzrange", "daterange", "int4multirange"}

