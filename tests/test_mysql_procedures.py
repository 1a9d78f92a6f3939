"""Stored procedures from the mysql source against the local MariaDB, judged by DataHub's own output.

The expected aspects below are what `datahub ingest` (acryl-datahub 1.7, mysql source, file sink) wrote
for the same procedures: per database with procedures one dataFlow (dataFlowInfo, subTypes, container,
browsePathsV2, status; dataPlatformInstance with an instance), per procedure one dataJob (dataJobInfo,
subTypes, container, dataTransformLogic, browsePathsV2, status; dataPlatformInstance with an instance).
Functions are left out, and so is the flow of a database without procedures. DataHub's URN builders
and its MetadataChangeProposalWrapper are the oracles for identities and wire shapes.
"""

import copy
import json
import re

import pytest
from datahub.emitter.mce_builder import make_data_flow_urn, make_data_job_urn
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.ingestion.source.sql.sql_utils import gen_database_key

from ingest_assets.cli import main
from ingest_assets.core.aspects import record_mcps
from ingest_assets.core.records import Location, ProcedureFlowRecord, ProcedureRecord, record_from_json, record_to_json

from .mysql_fixtures import HOST, PASSWORD, PORT, USER, connect, extract, make_source, mariadb, quote, run_sql  # noqa: F401
from .stateful_catalog import keys, sent

ODD = "odd `name` ü"
RESERVED = "a,b(c) d"
QUOTED_SOURCE = "BEGIN\n  SELECT 'it''s \"quoted\"', \"dq\", 'tab\there' AS x;\nEND"
QUOTED_BODY = QUOTED_SOURCE.replace("\t", "\\t")
"""MariaDB's ROUTINES.ROUTINE_DEFINITION writes a tab inside a string literal as `\\t`; DataHub sends that text as it is."""
COPY_BODY = "BEGIN\n  INSERT INTO dst (id, name) SELECT id, name FROM src WHERE id < n;\nEND"


def procedures_catalog(mariadb) -> tuple[str, str]:
    """A database with two tables, three procedures (plain, odd name, reserved URN characters) and a function;
    a second database with a table only."""
    with_procedures = mariadb.create("procs", [
        "CREATE TABLE src (id INT PRIMARY KEY, name VARCHAR(20))",
        "CREATE TABLE dst (id INT PRIMARY KEY, name VARCHAR(20))",
        f"CREATE PROCEDURE copy_rows(IN n INT) COMMENT 'copies rows' {COPY_BODY}",
        f"CREATE PROCEDURE {quote(ODD)}() {QUOTED_SOURCE}",
        f"CREATE PROCEDURE {quote(RESERVED)}() BEGIN SELECT 1; END",
        "CREATE FUNCTION plus_one(x INT) RETURNS INT DETERMINISTIC RETURN x + 1",
    ])
    without = mariadb.create("plain", ["CREATE TABLE t (id INT)"])
    return with_procedures, without


def procedure_mcp_objects(records) -> list[dict]:
    """Every dataFlow/dataJob MCP as the file sink writes it."""
    return [json.loads(mcp.to_file_json()) for record in records for mcp in record_mcps(record)
            if mcp.entity_type in ("dataFlow", "dataJob")]


def by_key(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["entityUrn"], o["aspectName"]): o["aspect"]["json"] for o in objects}


def expected_aspects(db: str, procedures: dict[str, str], instance: str | None) -> dict[tuple[str, str], dict]:
    """DataHub's aspects for the flow of `db` and its procedures (name -> body), as its file sink wrote them."""
    container = gen_database_key(db, "mysql", instance, "PROD").as_urn()
    path = [{"id": container, "urn": container}]
    platform_instance = {}
    if instance:
        instance_urn = f"urn:li:dataPlatformInstance:(urn:li:dataPlatform:mysql,{instance})"
        path.insert(0, {"id": instance_urn, "urn": instance_urn})
        platform_instance = {"dataPlatformInstance": {"platform": "urn:li:dataPlatform:mysql", "instance": instance_urn}}
    flow = make_data_flow_urn("mysql", f"{db}.stored_procedures", "PROD", platform_instance=instance)
    expected = {
        (flow, "dataFlowInfo"): {"customProperties": {}, "name": f"{db}.stored_procedures"},
        (flow, "subTypes"): {"typeNames": ["Procedures Container"]},
        (flow, "container"): {"container": container},
        (flow, "browsePathsV2"): {"path": path},
        (flow, "status"): {"removed": False},
        **{(flow, name): aspect for name, aspect in platform_instance.items()},
    }
    for name, body in procedures.items():
        job = make_data_job_urn("mysql", f"{db}.stored_procedures", name, "PROD", platform_instance=instance)
        expected.update({
            (job, "dataJobInfo"): {"customProperties": {}, "name": name, "type": {"string": "Stored Procedure"}},
            (job, "subTypes"): {"typeNames": ["Stored Procedure"]},
            (job, "container"): {"container": container},
            (job, "dataTransformLogic"): {"transforms": [{"queryStatement": {"value": body, "language": "SQL"}}]},
            (job, "browsePathsV2"): {"path": path},
            (job, "status"): {"removed": False},
            **{(job, aspect_name): aspect for aspect_name, aspect in platform_instance.items()},
        })
    return expected


@pytest.mark.parametrize("instance", [None, "my_instance"])
def test_procedures_are_datahubs_flow_and_jobs(mariadb, instance):
    db, without = procedures_catalog(mariadb)
    records, _ = extract(database_pattern=mariadb.pattern(), platform_instance=instance)
    objects = procedure_mcp_objects(records)
    procedures = {"copy_rows": COPY_BODY, ODD: QUOTED_BODY, RESERVED: "BEGIN SELECT 1; END"}
    assert by_key(objects) == expected_aspects(db, procedures, instance)
    assert len(objects) == len(by_key(objects)), "each aspect once"
    assert not any(without in o["entityUrn"] for o in objects), "no flow for a database without procedures"
    for obj in objects:  # from_obj rewrites the object it is given
        assert MetadataChangeProposalWrapper.from_obj(copy.deepcopy(obj)).to_obj(simplified_structure=True) == obj


def test_reserved_characters_are_percent_encoded_as_datahub_does(mariadb):
    db, _ = procedures_catalog(mariadb)
    records, _ = extract(database_pattern=mariadb.pattern())
    urns = {o["entityUrn"] for o in procedure_mcp_objects(records)}
    assert f"urn:li:dataJob:(urn:li:dataFlow:(mysql,{db}.stored_procedures,PROD),a%2Cb%28c%29 d)" in urns


def test_procedures_go_out_inside_their_database_before_its_scope(mariadb):
    db, without = procedures_catalog(mariadb)
    records, source = extract(database_pattern=mariadb.pattern())
    kinds = [(r.kind, r.table.database if r.kind == "dataset" else r.database) for r in records]
    assert kinds == [  # "<prefix>plain" sorts before "<prefix>procs"
        ("container", without), ("dataset", without), ("scope", without),
        ("container", db), ("dataset", db), ("dataset", db),
        ("procedure_flow", db), ("procedure", db), ("procedure", db), ("procedure", db), ("scope", db),
    ]
    assert [r.name for r in records if isinstance(r, ProcedureRecord)] == sorted([ODD, RESERVED, "copy_rows"], key=str.encode)
    assert source.report.counts.get("procedures") == 3


def test_records_survive_the_hand_over_line(mariadb):
    procedures_catalog(mariadb)
    records, _ = extract(database_pattern=mariadb.pattern())
    procedures = [r for r in records if isinstance(r, (ProcedureRecord, ProcedureFlowRecord))]
    assert len(procedures) == 4
    for record in procedures:
        assert record_from_json(record_to_json(record)) == record
    hidden = ProcedureRecord(location=Location(platform="mysql", instance="i"), database="d", name="p", body=None)
    assert record_from_json(record_to_json(hidden)) == hidden


def test_a_body_the_catalog_hides_has_no_transform_logic():
    """ROUTINE_DEFINITION is NULL for a user who may not see the body; DataHub then leaves dataTransformLogic out."""
    record = ProcedureRecord(location=Location(platform="mysql"), database="d", name="p", body=None)
    assert [m.aspect_name for m in record_mcps(record)] == ["dataJobInfo", "subTypes", "container", "browsePathsV2", "status"]


def test_procedure_pattern_is_matched_against_database_dot_procedure(mariadb):
    db, _ = procedures_catalog(mariadb)
    records, source = extract(database_pattern=mariadb.pattern(), procedure_pattern={"deny": [f"^{db}\\.copy_"]})
    names = {r.name for r in records if isinstance(r, ProcedureRecord)}
    assert names == {ODD, RESERVED}
    assert source.report.counts.get("filtered procedures") == 1
    assert source.wants(db, None, "copy_rows", "Stored Procedure") is False
    assert source.wants(db, None, ODD, "Stored Procedure") is True

    records, _ = extract(database_pattern=mariadb.pattern(), procedure_pattern={"deny": ["^copy_rows$"]})
    assert "copy_rows" in {r.name for r in records if isinstance(r, ProcedureRecord)}, "the name alone does not match"

    records, _ = extract(database_pattern=mariadb.pattern(), procedure_pattern={"allow": ["^nothing$"]})
    assert not any(isinstance(r, (ProcedureRecord, ProcedureFlowRecord)) for r in records), "no flow without a wanted procedure"


def questions() -> int:
    """The server's own count of statements received (reading it adds a fixed few)."""
    with connect() as connection, connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
        return int(cursor.fetchone()[1])


def _procedures(n: int) -> list[str]:
    return [f"CREATE PROCEDURE p{i}(IN x INT) BEGIN SELECT x + {i}; END" for i in range(n)]


def test_statement_count_does_not_grow_with_procedures(mariadb):
    none = mariadb.create("none", ["CREATE TABLE t (id INT PRIMARY KEY)"])
    few = mariadb.create("few", ["CREATE TABLE t (id INT PRIMARY KEY)", *_procedures(2)])
    many = mariadb.create("many", ["CREATE TABLE t (id INT PRIMARY KEY)", *_procedures(60)])
    first = questions()
    reading = questions() - first
    counts, on_server, found = {}, {}, {}
    for name in (none, few, many):
        before = questions()
        records, source = extract(database=name)
        on_server[name] = questions() - before - reading
        counts[name] = source.statements
        found[name] = sum(isinstance(r, ProcedureRecord) for r in records)
    assert found == {none: 0, few: 2, many: 60}
    # SCHEMATA (which says whether procedures exist), InnoDB's foreign keys, COLUMNS, TABLES+STATISTICS, VIEWS; ROUTINES where needed
    assert counts == {none: 5, few: 6, many: 6}, counts
    # and the server: those plus a SET NAMES and a quit per connection (ROUTINES has its own)
    assert on_server[few] == on_server[many] == on_server[none] + 3, on_server

    records, source = extract(database=many, include_stored_procedures=False)
    assert source.statements == counts[none]
    assert not any(isinstance(r, (ProcedureRecord, ProcedureFlowRecord)) for r in records)
    assert source.wants(many, None, "p1", "Stored Procedure") is False
    assert source.wants(many, None, None, "Procedures Container") is False


def test_all_databases_procedures_in_one_statement(mariadb):
    for suffix in ("x", "y", "z"):
        mariadb.create(suffix, _procedures(3))
    records, source = extract(database_pattern=mariadb.pattern())
    assert sum(isinstance(r, ProcedureFlowRecord) for r in records) == 3
    assert sum(isinstance(r, ProcedureRecord) for r in records) == 9
    assert source.statements == 6


def test_fingerprint_notices_a_procedure_change(mariadb):
    db = mariadb.create("fp", ["CREATE TABLE t (id INT)", *_procedures(1)])
    source = make_source(database_pattern=mariadb.pattern())
    before = source.fingerprint()
    assert source.fingerprint() == before
    run_sql(["DROP PROCEDURE p0", "CREATE PROCEDURE p0(IN x INT) BEGIN SELECT x + 100; END"], db)
    assert source.fingerprint() != before


def test_dropped_procedure_is_soft_deleted_on_the_next_stateful_run(mariadb, write_recipe, isolated_home):
    db, _ = procedures_catalog(mariadb)
    artifacts = isolated_home / "artifacts"
    recipe = write_recipe(json.dumps({"pipeline_name": "fin", "source": {"type": "mysql", "config": {
        "host_port": f"{HOST}:{PORT}", "username": USER, "password": PASSWORD,
        "database_pattern": mariadb.pattern(), "stateful_ingestion": {"enabled": True}}},
        "sink": {"type": "file", "config": {"filename": str(isolated_home / "out.json")}}}))
    flow = make_data_flow_urn("mysql", f"{db}.stored_procedures", "PROD")
    job = make_data_job_urn("mysql", f"{db}.stored_procedures", ODD, "PROD")
    assert main(["ingest", "-c", str(recipe)]) == 0
    assert {(flow, "dataFlowInfo"), (job, "dataTransformLogic")} <= keys(sent(artifacts))
    assert main(["ingest", "-c", str(recipe)]) == 0
    assert sent(artifacts) == [], "nothing changed, nothing sent"

    run_sql(f"DROP PROCEDURE {quote(ODD)}", db)
    assert main(["ingest", "-c", str(recipe)]) == 0
    assert [(m.entity_type, m.entity_urn, m.aspect_name, m.aspect) for m in sent(artifacts)] == [
        ("dataJob", job, "status", {"removed": True})]

    run_sql(f"CREATE PROCEDURE {quote(ODD)}() {QUOTED_SOURCE}", db)
    assert main(["ingest", "-c", str(recipe)]) == 0
    back = sent(artifacts)
    assert {m.entity_urn for m in back} == {job} and len(back) == 6, "a procedure that comes back is sent in full"


def test_procedures_a_changed_filter_leaves_out_are_out_of_scope_not_deleted(mariadb, write_recipe, isolated_home):
    """As with tables: a procedure_pattern or include_stored_procedures change is no reason to soft-delete."""
    db, _ = procedures_catalog(mariadb)
    artifacts = isolated_home / "artifacts"

    def recipe(**extra):
        return write_recipe(json.dumps({"pipeline_name": "fin", "source": {"type": "mysql", "config": {
            "host_port": f"{HOST}:{PORT}", "username": USER, "password": PASSWORD, "database_pattern": mariadb.pattern(),
            "stateful_ingestion": {"enabled": True, "fail_safe_threshold": 100}, **extra}},
            "sink": {"type": "file", "config": {"filename": str(isolated_home / "out.json")}}}))

    assert main(["ingest", "-c", str(recipe())]) == 0
    assert main(["ingest", "-c", str(recipe(procedure_pattern={"deny": [f".*\\.{re.escape(ODD)}$"]}))]) == 0
    assert sent(artifacts) == []
    assert main(["ingest", "-c", str(recipe(include_stored_procedures=False))]) == 0
    assert sent(artifacts) == []
    run_sql(f"DROP PROCEDURE {quote(ODD)}", db)
    assert main(["ingest", "-c", str(recipe())]) == 0  # back in scope: the dropped one is removed now
    job = make_data_job_urn("mysql", f"{db}.stored_procedures", ODD, "PROD")
    assert [(m.entity_urn, m.aspect) for m in sent(artifacts) if m.aspect_name == "status"] == [(job, {"removed": True})]
