"""The mysql source against the local MariaDB: DataHub's output, types, keys, views, filters, quoting, failures."""

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from ingest_assets.core.aspects import record_mcps, view_query_urn
from ingest_assets.core.errors import ConnectionFailure
from ingest_assets.core.handover import read_lines
from ingest_assets.core.recipe import load_recipe
from ingest_assets.core.records import ContainerRecord, DatasetRecord, ScopeRecord, record_from_json
from ingest_assets.core.report import StageReport
from ingest_assets.core.urns import container_urn
from ingest_assets.stages import RunFiles, run_snapshot

from .cli_runner import run_cli
from .conftest import REFERENCE
from .datahub_files import file_aspects
from .mysql_fixtures import HOST, PASSWORD, PORT, USER, connect, extract, generator_sql, make_source, mariadb, quote, run_sql  # noqa: F401


def datasets(records) -> dict[str, DatasetRecord]:
    return {f"{r.table.database}.{r.table.name}": r for r in records if isinstance(r, DatasetRecord)}


# --- DataHub's own output for the benchmark catalog's first database -------------------------------

def _without_times(value):
    if isinstance(value, dict):
        return {k: 0 if k == "time" else _without_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def test_output_equals_datahubs_for_the_reference_database(mariadb):
    name = mariadb.prefix + "000"
    run_sql([s.replace("bench_000", name) for s in generator_sql(100)])
    mariadb.created.append(name)
    with connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'v_0001'", (name,))
        user, _, host = cursor.fetchone()[0].rpartition("@")

    records, source = extract(database_pattern={"allow": [f"^{name}$"]})
    ours = [{"urn": m.entity_urn, "aspect": m.aspect_name, "json": m.aspect} for r in records for m in record_mcps(r)]

    # Our database has another name and definer: map them onto the reference's before comparing.
    view = f"urn:li:dataset:(urn:li:dataPlatform:mysql,{name}.v_0001,PROD)"
    text = json.dumps(ours)
    text = text.replace(view_query_urn(view), view_query_urn(view.replace(name, "bench_000")))
    text = text.replace(container_urn("mysql", name), container_urn("mysql", "bench_000")).replace(name, "bench_000")
    text = text.replace(f"`{user}`@`{host}`", "`bench`@`localhost`").replace(f'\\"{user}\\"@\\"{host}\\"', '\\"bench\\"@\\"localhost\\"')
    ours_by_key = {(o["urn"], o["aspect"]): o["json"] for o in json.loads(text)}

    reference = file_aspects(json.loads(REFERENCE.read_text()))
    assert len(reference) == 23
    for key, aspect in reference.items():
        assert key in ours_by_key, f"missing {key}"
        assert _without_times(ours_by_key[key]) == _without_times(aspect), key
    entities = {urn for urn, _ in reference}
    assert sorted(k for k in ours_by_key if k[0] in entities) == sorted(reference)
    assert len(datasets(records)) == 110


# --- types, keys, comments --------------------------------------------------------------------------

TYPED_TABLE = """
CREATE TABLE typed (
  id BIGINT UNSIGNED NOT NULL COMMENT 'the key''s first part',
  part INT NOT NULL,
  tiny TINYINT(1), small SMALLINT, medium MEDIUMINT ZEROFILL, num DECIMAL(10,2) NOT NULL, fl FLOAT, dbl DOUBLE,
  bits BIT(3), yr YEAR, d DATE, dt DATETIME(3), ts TIMESTAMP NULL, tm TIME(2),
  c CHAR(3), vc VARCHAR(255) CHARACTER SET latin1, bin_vc VARCHAR(10) COLLATE utf8mb4_bin, tx TEXT, lt LONGTEXT,
  e ENUM('a','b''c'), s SET('x','y'), j JSON, bl BLOB, vb VARBINARY(8), g GEOMETRY,
  note VARCHAR(20) COMMENT 'naïve ☃ comment',
  PRIMARY KEY (id, part)
) COMMENT='typed table ☃'
"""


def test_types_match_sqlalchemy_reflection_and_keys_and_comments(mariadb):
    db = mariadb.create("types", [
        TYPED_TABLE,
        "CREATE TABLE parent (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a, b))",
        "CREATE TABLE child (id INT PRIMARY KEY, pa INT, pb INT, u INT NOT NULL, UNIQUE KEY uk (u),"
        " CONSTRAINT fk_parent FOREIGN KEY (pa, pb) REFERENCES parent (a, b))",
        "CREATE TABLE nopk (u INT NOT NULL, v INT, UNIQUE KEY (u))",
        "CREATE VIEW typed_view AS SELECT id, num, j, vc, e FROM typed",
    ])
    records, _ = extract(database_pattern=mariadb.pattern())
    found = datasets(records)

    # DataHub reads columns through SQLAlchemy's reflection and compiles the types with the inspector's
    # dialect: that spelling is the oracle.
    engine = create_engine(f"mysql+pymysql://{USER}:{PASSWORD}@{HOST}:{PORT}/{db}")
    try:
        inspector = inspect(engine)
        for table in ("typed", "parent", "child", "nopk", "typed_view"):
            reflected = {c["name"]: c for c in inspector.get_columns(table, schema=db)}
            ours = {c.name: c for c in found[f"{db}.{table}"].columns}
            assert list(ours) == list(reflected)
            for name, column in ours.items():
                if name == "g":  # DataHub registers the spatial types SQLAlchemy does not know, as opaque binaries
                    assert (column.native_type, column.field_type) == ("BLOB", "NullType")
                    continue
                assert column.native_type == reflected[name]["type"].compile(dialect=engine.dialect), (table, name)
                assert column.nullable == reflected[name]["nullable"], (table, name)
        pk = inspector.get_pk_constraint("typed", schema=db)["constrained_columns"]
    finally:
        engine.dispose()

    typed = found[f"{db}.typed"]
    by_name = {c.name: c for c in typed.columns}
    assert [c.name for c in typed.columns if c.is_part_of_key] == pk == ["id", "part"]
    assert typed.description == "typed table ☃"
    assert by_name["id"].description == "the key's first part"
    assert by_name["note"].description == "naïve ☃ comment"
    assert by_name["part"].description is None
    expected_spelling = {
        "id": ("BIGINT(20) UNSIGNED", "NumberType"),
        "num": ("DECIMAL(10, 2)", "NumberType"),
        "tiny": ("TINYINT(1)", "NumberType"),
        "dt": ("DATETIME(3)", "TimeType"),
        "d": ("DATE", "DateType"),
        "vc": ("VARCHAR(255) CHARACTER SET latin1 COLLATE latin1_swedish_ci", "StringType"),
        "bin_vc": ("VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "StringType"),
        "tx": ("TEXT", "StringType"),
        "e": ("ENUM('a','b''c')", "EnumType"),
        "s": ("SET('x','y')", "StringType"),
        "j": ("LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "StringType"),
        "bl": ("BLOB", "BytesType"),
        "vb": ("VARBINARY(8)", "BytesType"),
        "yr": ("YEAR(4)", "NullType"),
        "fl": ("FLOAT", "NumberType"),
        "dbl": ("DOUBLE", "NumberType"),
        "bits": ("BIT(3)", "BytesType"),
    }
    for name, (spelled, field_type) in expected_spelling.items():
        assert (by_name[name].native_type, by_name[name].field_type) == (spelled, field_type), name

    view = found[f"{db}.typed_view"]
    assert view.subtype == "View"
    assert all(c.nullable and not c.is_part_of_key and c.description is None for c in view.columns)
    assert {c.name: c.native_type for c in view.columns}["j"] == "LONGTEXT"

    child = found[f"{db}.child"]
    assert [c.name for c in child.columns if c.is_part_of_key] == ["id"]
    assert [(fk.name, fk.columns, fk.referenced.name, fk.referenced_columns) for fk in child.foreign_keys] == [
        ("fk_parent", ["pa", "pb"], "parent", ["a", "b"])
    ]
    assert not any(c.is_part_of_key for c in found[f"{db}.nopk"].columns), "a UNIQUE NOT NULL key is not the primary key"
    schema = next(m.aspect for m in record_mcps(child) if m.aspect_name == "schemaMetadata")
    assert schema["foreignKeys"][0]["foreignDataset"] == f"urn:li:dataset:(urn:li:dataPlatform:mysql,{db}.parent,PROD)"


# --- views and lineage ------------------------------------------------------------------------------

def test_views_lineage_and_unparseable_view(mariadb):
    other = mariadb.create("other", ["CREATE TABLE remote (id INT, amount DECIMAL(10,2))"])
    db = mariadb.create("views", [
        "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, amount DECIMAL(10,2), note VARCHAR(10), FULLTEXT KEY (note))",
        "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50))",
        "CREATE VIEW joined AS SELECT o.id, c.name AS customer, o.amount * 2 AS doubled FROM orders o JOIN customers c ON o.customer_id = c.id",
        "CREATE VIEW stacked AS SELECT id, customer FROM joined WHERE doubled > 10",
        f"CREATE VIEW unioned AS SELECT id, amount FROM orders UNION ALL SELECT id, amount FROM {quote(other)}.remote",
        "CREATE VIEW nested AS SELECT x.id FROM (SELECT id FROM orders WHERE note IS NOT NULL) x",
        # MariaDB stores MATCH ... AGAINST in a form sqlglot cannot parse
        "CREATE VIEW odd AS SELECT id, MATCH (note) AGAINST ('x' IN BOOLEAN MODE) AS score FROM orders",
    ])
    records, source = extract(database_pattern=mariadb.pattern())
    found = datasets(records)

    joined = found[f"{db}.joined"]
    assert joined.view_definition.startswith("CREATE ALGORITHM=UNDEFINED DEFINER=")
    assert " VIEW `joined` AS select `o`.`id` AS `id`" in joined.view_definition
    assert f"`{db}`." not in joined.view_definition
    assert sorted(t.name for t in joined.upstreams) == ["customers", "orders"]
    lineage = {c.downstream: ([(u.table.name, u.column) for u in c.upstreams], c.transform) for c in joined.column_lineage}
    assert lineage["customer"] == ([("customers", "name")], "COPY: `c`.`name` AS `customer`")
    assert lineage["doubled"][0] == [("orders", "amount")] and lineage["doubled"][1].startswith("SQL: ")
    assert joined.view_query and joined.view_query.startswith("CREATE ALGORITHM=UNDEFINED\n")

    assert [t.name for t in found[f"{db}.stacked"].upstreams] == ["joined"]
    unioned = found[f"{db}.unioned"]
    assert sorted((t.database, t.name) for t in unioned.upstreams) == sorted([(db, "orders"), (other, "remote")])
    amount = next(c for c in unioned.column_lineage if c.downstream == "amount")
    assert sorted((u.table.database, u.table.name) for u in amount.upstreams) == sorted([(db, "orders"), (other, "remote")])
    assert [(u.table.name, u.column) for c in found[f"{db}.nested"].column_lineage for u in c.upstreams] == [("orders", "id")]

    odd = found[f"{db}.odd"]
    assert odd.view_definition and odd.columns, "an unparseable view keeps its other aspects"
    assert odd.upstreams == [] and odd.column_lineage == []
    assert any(f"{db}.odd" in w and "could not be parsed" in w for w in source.report.warnings)
    aspects = {m.aspect_name for m in record_mcps(odd)}
    assert {"viewProperties", "schemaMetadata", "datasetProperties"} <= aspects and "upstreamLineage" not in aspects


def _snapshot_run(recipe: Path, files: RunFiles) -> tuple[StageReport, dict[str, DatasetRecord]]:
    report = run_snapshot(load_recipe(recipe), files)
    return report, datasets(record_from_json(line) for line in read_lines(files.snapshot))


def test_unchanged_views_carry_their_lineage_over(mariadb, write_recipe, tmp_path):
    db = mariadb.create("carry", [
        "CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2), note VARCHAR(10), FULLTEXT KEY (note))",
        "CREATE VIEW doubled AS SELECT id, amount * 2 AS twice FROM orders",
        "CREATE VIEW plain AS SELECT id FROM orders",
        "CREATE VIEW odd AS SELECT id, MATCH (note) AGAINST ('x' IN BOOLEAN MODE) AS score FROM orders",
    ])
    def recipe_text(extra: str = "") -> str:
        return f"""
source:
  type: mysql
  config: {{host_port: "{HOST}:{PORT}", username: "{USER}", password: "{PASSWORD}", database_pattern: {{allow: ["^{db}$"]}}{extra}}}
sink: {{type: console}}
"""
    recipe = write_recipe(recipe_text())
    files = RunFiles(tmp_path / "artifacts")

    first, parsed = _snapshot_run(recipe, files)
    assert "views with lineage carried over" not in first.counts
    first_text = files.snapshot.read_bytes()

    second, carried = _snapshot_run(recipe, files)
    assert second.counts["views with lineage carried over"] == 2, "both parsed views; the unparseable one is tried again"
    assert files.snapshot.read_bytes() == first_text
    assert any(f"{db}.odd" in w and "could not be parsed" in w for w in second.warnings)

    run_sql("CREATE OR REPLACE VIEW plain AS SELECT amount FROM orders", db)
    third, changed = _snapshot_run(recipe, files)
    assert third.counts["views with lineage carried over"] == 1
    assert [(c.downstream, [u.column for u in c.upstreams]) for c in changed[f"{db}.plain"].column_lineage] == [("amount", ["amount"])]
    assert changed[f"{db}.doubled"].column_lineage == parsed[f"{db}.doubled"].column_lineage

    # another config (or code) version: nothing carried over, and a snapshot without its key is never trusted
    write_recipe(recipe_text(", include_view_column_lineage: false"))
    fourth, no_columns = _snapshot_run(recipe, files)
    assert "views with lineage carried over" not in fourth.counts
    assert no_columns[f"{db}.doubled"].column_lineage == [] and no_columns[f"{db}.doubled"].upstreams
    files.snapshot_key.unlink()
    fifth, _ = _snapshot_run(recipe, files)
    assert "views with lineage carried over" not in fifth.counts


# --- filters, scope, partitions -------------------------------------------------------------------------

def test_filters_scope_and_partitions(mariadb):
    sales = mariadb.create("Sales", ["CREATE TABLE keep_me (a INT)", "CREATE TABLE tmp_skip (a INT)", "CREATE VIEW v_keep AS SELECT a FROM keep_me", "CREATE VIEW v_skip AS SELECT a FROM keep_me"])
    hr = mariadb.create("hr", ["CREATE TABLE people (a INT)"])
    mariadb.create("archive", ["CREATE TABLE old (a INT)"])

    records, source = extract(
        database_pattern={"allow": [f"^{mariadb.prefix}(sales|hr)$"]},
        table_pattern={"deny": [r".*\.tmp_"]},
        view_pattern={"allow": [r".*\.v_keep$"]},
    )
    assert sorted(datasets(records)) == sorted([f"{sales}.keep_me", f"{sales}.v_keep", f"{hr}.people"])
    assert [r.database for r in records if isinstance(r, ContainerRecord)] == sorted([sales, hr], key=str.encode)
    # a scope per database, after that database's datasets
    order = [(type(r).__name__, getattr(r, "database", None) or r.table.database) for r in records]
    for database in (sales, hr):
        positions = [i for i, (_, d) in enumerate(order) if d == database]
        assert order[positions[-1]] == ("ScopeRecord", database) and order[positions[0]] == ("ContainerRecord", database)

    case_sensitive, _ = extract(database_pattern={"allow": [f"^{mariadb.prefix}sales$"], "ignoreCase": False})
    assert datasets(case_sensitive) == {}

    only_views, _ = extract(database_pattern={"allow": [f"^{mariadb.prefix}Sales$"]}, include_tables=False)
    assert sorted(datasets(only_views)) == [f"{sales}.v_keep", f"{sales}.v_skip"]
    only_tables, _ = extract(database=sales, include_views=False)
    assert sorted(datasets(only_tables)) == [f"{sales}.keep_me", f"{sales}.tmp_skip"]

    source = make_source(database_pattern={"allow": [f"^{mariadb.prefix}"]})
    assert source.databases() == sorted(mariadb.created, key=str.encode)
    source.only_database = hr
    partition = list(source.extract())
    source.close()
    assert [type(r).__name__ for r in partition] == ["ContainerRecord", "DatasetRecord", "ScopeRecord"]
    system, _ = extract(database_pattern={"allow": ["^(mysql|sys|information_schema|performance_schema)$"]})
    assert system == []


# --- identifiers that need quoting -----------------------------------------------------------------

def test_identifiers_that_need_quoting_round_trip(mariadb):
    db = mariadb.create("odd name ü", [
        "CREATE TABLE `select` (`order` INT PRIMARY KEY, `with space` VARCHAR(5), `back``tick` INT, `ünï` INT COMMENT 'ü')",
        "CREATE TABLE `tab``le` (`x` INT)",
        "CREATE VIEW `the view` AS SELECT s.`order`, s.`with space` AS `also space`, s.`back``tick`, t.`x` FROM `select` s JOIN `tab``le` t ON s.`order` = t.`x`",
    ])
    records, source = extract(database_pattern=mariadb.pattern())
    found = datasets(records)
    assert sorted(found) == sorted([f"{db}.select", f"{db}.tab`le", f"{db}.the view"])
    assert [c.name for c in found[f"{db}.select"].columns] == ["order", "with space", "back`tick", "ünï"]
    view = found[f"{db}.the view"]
    assert "VIEW `the view` AS" in view.view_definition
    assert sorted(t.name for t in view.upstreams) == ["select", "tab`le"]
    lineage = {c.downstream: [(u.table.name, u.column) for u in c.upstreams] for c in view.column_lineage}
    assert lineage == {
        "order": [("select", "order")],
        "also space": [("select", "with space")],
        "back`tick": [("select", "back`tick")],
        "x": [("tab`le", "x")],
    }
    urns = {m.entity_urn for r in records for m in record_mcps(r) if m.entity_type == "dataset"}
    assert f"urn:li:dataset:(urn:li:dataPlatform:mysql,{db}.the view,PROD)" in urns
    assert not source.report.warnings


# --- fingerprint ----------------------------------------------------------------------------------------

def test_fingerprint_changes_with_the_catalog_only(mariadb):
    db = mariadb.create("fp", ["CREATE TABLE t (a INT)", "CREATE VIEW v AS SELECT a FROM t"])
    source = make_source(database_pattern=mariadb.pattern())
    try:
        first = source.fingerprint()
        assert source.fingerprint() == first
        run_sql("INSERT INTO t VALUES (1), (2)", db)
        assert source.fingerprint() == first, "rows are not metadata"
        seen = {first}
        for change in (
            "ALTER TABLE t ADD COLUMN b INT",
            "ALTER TABLE t MODIFY COLUMN b BIGINT",
            "ALTER TABLE t COMMENT 'now described'",
            "CREATE OR REPLACE VIEW v AS SELECT a FROM t WHERE a > 1",
            "CREATE TABLE u (x INT)",
            "DROP TABLE u",
            "ALTER TABLE t DROP COLUMN b",
        ):
            run_sql(change, db)
            value = source.fingerprint()
            assert value not in seen or change == "DROP TABLE u", change
            seen.add(value)
        before = source.statements
        source.fingerprint()
        assert source.statements - before == 2, "databases() and one fingerprint query"
    finally:
        source.close()


# --- failures: one line, exit 2, no password ---------------------------------------------------------

@pytest.mark.parametrize("case", ["wrong password", "unreachable host", "unknown database"])
def test_connection_failures_are_one_line_exit_2(case, write_recipe, tmp_path):
    secret = "s3cr3t-Pa55word"
    host_port, user, database = f"{HOST}:{PORT}", USER, None
    if case == "unreachable host":
        host_port = "127.0.0.1:1"
    elif case == "unknown database":
        database = "iat_does_not_exist_anywhere"
    if case == "wrong password":
        user = "iat_nobody"
    config = {"host_port": host_port, "username": user, "password": secret}
    if database:
        config["database"] = database
    recipe = write_recipe(json.dumps({
        "pipeline_name": "mysql_failure",
        "source": {"type": "mysql", "config": config},
        "sink": {"type": "file", "config": {"filename": str(tmp_path / "out.json")}},
    }))
    result = run_cli("ingest", "-c", str(recipe))
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot connect to MySQL" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert secret not in result.stderr + result.stdout

    source = make_source(**config)
    with pytest.raises(ConnectionFailure) as caught:
        list(source.extract())
    assert secret not in str(caught.value) and "\n" not in str(caught.value)


# --- a fixed number of statements --------------------------------------------------------------------

def test_statement_count_does_not_grow_with_tables(mariadb):
    def tables(n: int) -> list[str]:
        ddl = [f"CREATE TABLE t{i} (id INT PRIMARY KEY, ref INT, note VARCHAR(20) COMMENT 'c')" for i in range(n)]
        ddl += [f"CREATE VIEW v{i} AS SELECT id FROM t{i}" for i in range(0, n, 5)]
        ddl += ["CREATE TABLE fk_child (id INT PRIMARY KEY, t0 INT, FOREIGN KEY (t0) REFERENCES t0 (id))"]
        return ddl

    def questions() -> int:
        """The server's own count of statements received (reading it adds a fixed few)."""
        with connect() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
            return int(cursor.fetchone()[1])

    small = mariadb.create("small", tables(5))
    large = mariadb.create("large", tables(50))
    first = questions()
    reading = questions() - first
    counts, on_server = {}, {}
    for name in (small, large):
        before = questions()
        records, source = extract(database=name)
        on_server[name] = questions() - before - reading
        assert len(datasets(records)) in (5 + 1 + 1, 50 + 10 + 1)
        counts[name] = source.statements
    assert counts[small] == counts[large] == 6, counts  # SCHEMATA, InnoDB's foreign keys, COLUMNS, TABLES+STATISTICS, VIEWS, KEY_COLUMN_USAGE
    # and what the server counted: those 6 plus a SET NAMES and a quit on each of the 4 connections
    assert on_server[small] == on_server[large] == 14, on_server


# --- end to end through the CLI ----------------------------------------------------------------------

def test_cli_end_to_end_with_file_sink(mariadb, write_recipe, tmp_path):
    db = mariadb.create("e2e", ["CREATE TABLE a (id INT PRIMARY KEY COMMENT 'key')", "CREATE VIEW b AS SELECT id FROM a"])
    out = tmp_path / "mcps.json"
    recipe = write_recipe(f"""
pipeline_name: mysql_e2e
source:
  type: mariadb
  config:
    host_port: {HOST}:{PORT}
    username: {USER}
    password: "{PASSWORD}"
    database_pattern: {{allow: ["^{db}$"]}}
sink:
  type: file
  config: {{filename: {out}}}
""")
    result = run_cli("ingest", "-c", str(recipe))
    assert result.returncode == 0, result.stderr
    written = json.loads(out.read_text())
    urns = {m["entityUrn"] for m in written}
    assert f"urn:li:dataset:(urn:li:dataPlatform:mysql,{db}.a,PROD)" in urns
    assert container_urn("mysql", db) in urns
    lineage = next(m for m in written if m["aspectName"] == "upstreamLineage")
    assert lineage["aspect"]["json"]["upstreams"][0]["dataset"].endswith(f"{db}.a,PROD)")
    assert any(isinstance(r, ScopeRecord) for r in extract(database=db)[0])


def test_tls_options_reach_the_driver():
    """The local server has no TLS: asking for a verified TLS connection must fail in one line, not fall back."""
    import certifi

    source = make_source(ssl_ca=certifi.where(), ssl_verify_cert=True)
    with pytest.raises(ConnectionFailure) as caught:
        source.databases()
    assert "SSL" in str(caught.value) and "\n" not in str(caught.value)
    source.close()


def test_engine_connect_args_reach_the_driver(mariadb):
    """`options.connect_args` reach PyMySQL although the catalog's connections bypass the engine's pool."""
    db = mariadb.create("args", ["CREATE TABLE t (id INT PRIMARY KEY)"])
    records, _ = extract(database=db, options={"connect_args": {"init_command": "SET SESSION max_statement_time = 123"}})
    assert "t" in {r.table.name for r in records if isinstance(r, DatasetRecord)}
    source = make_source(database=db, options={"connect_args": {"init_command": "SET SESSION max_statement_time = 123"}})
    try:
        assert source._query("SELECT @@SESSION.max_statement_time") == [(123.0,)]
    finally:
        source.close()
