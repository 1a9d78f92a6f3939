"""URN and container GUID rules, and aspect shapes against DataHub 1.7's own output."""

import hashlib
import json

import pytest

from ingest_assets.core.aspects import container_mcps, dataset_mcps, field_type_for, record_mcps
from ingest_assets.core.mcp import MCP
from ingest_assets.core.previous_snapshot import PreviousViews
from ingest_assets.core.records import (
    Column,
    ColumnLineage,
    ColumnRef,
    ContainerRecord,
    DatasetRecord,
    ForeignKey,
    Location,
    TableRef,
    record_from_json,
    record_to_json,
)
from ingest_assets.core.urns import container_urn, dataset_urn, schema_field_urn

from .conftest import REFERENCE
from .datahub_files import file_aspects

MYSQL = Location(platform="mysql", env="PROD")


@pytest.fixture(scope="module")
def reference():
    """The reference file as {(urn, aspect name): aspect}, MCE aspects included, with the union-member names every
    MCP form uses (the MCE snapshot records spell them `com.linkedin.pegasus2avro.*`)."""
    return file_aspects(json.loads(REFERENCE.read_text()))


def _record_from_reference(reference, table: str, subtype: str) -> DatasetRecord:
    urn = dataset_urn("mysql", f"bench_000.{table}")
    schema = reference[(urn, "schemaMetadata")]
    props = reference[(urn, "datasetProperties")]
    return DatasetRecord(
        location=MYSQL,
        table=TableRef(database="bench_000", name=table),
        subtype=subtype,
        description=props.get("description"),
        columns=[
            Column(name=f["fieldPath"], native_type=f["nativeDataType"], nullable=f["nullable"],
                   description=f.get("description"), is_part_of_key=f["isPartOfKey"])
            for f in schema["fields"]
        ],
        view_definition=props["customProperties"].get("view_definition"),
    )


def _produced(record) -> dict:
    """What the file sink writes for the record, aspect by aspect."""
    return {(m.entity_urn, m.aspect_name): json.loads(m.to_file_json())["aspect"]["json"] for m in record_mcps(record)}


def test_container_guid_matches_design_example():
    assert container_urn("mysql", "bench_000", "PROD") == "urn:li:container:ba626c97f9d1f71372f3d0a5ffd98e76"


def test_instance_replaces_env_in_container_key_and_prefixes_dataset_names():
    assert container_urn("mysql", "bench_000", "PROD", instance="PROD") == container_urn("mysql", "bench_000", "PROD")
    assert container_urn("mysql", "bench_000", "PROD", instance="eu1") != container_urn("mysql", "bench_000", "PROD")
    assert container_urn("postgres", "db", schema="public") != container_urn("postgres", "db")
    assert dataset_urn("mysql", "eu1.shop.orders") == "urn:li:dataset:(urn:li:dataPlatform:mysql,eu1.shop.orders,PROD)"
    assert schema_field_urn("urn:li:dataset:(urn:li:dataPlatform:mysql,a.b,PROD)", "id") == \
        "urn:li:schemaField:(urn:li:dataset:(urn:li:dataPlatform:mysql,a.b,PROD),id)"


def test_database_container_aspects_equal_reference(reference):
    produced = {(m.entity_urn, m.aspect_name): m.aspect for m in container_mcps(ContainerRecord(location=MYSQL, database="bench_000"))}
    urn = "urn:li:container:ba626c97f9d1f71372f3d0a5ffd98e76"
    expected = {k: v for k, v in reference.items() if k[0] == urn}
    assert produced == expected
    assert list(produced) == list(expected)  # same aspects in the same order


def test_table_aspects_equal_reference(reference):
    produced = _produced(_record_from_reference(reference, "t_0001", "Table"))
    urn = dataset_urn("mysql", "bench_000.t_0001")
    expected = {k: v for k, v in reference.items() if k[0] == urn}
    assert set(produced) == set(expected)
    for key, aspect in expected.items():
        assert produced[key] == aspect, key


def test_view_aspects_equal_reference(reference):
    record = _record_from_reference(reference, "v_0001", "View")
    lineage = reference[(dataset_urn("mysql", "bench_000.v_0001"), "upstreamLineage")]
    record.upstreams = [TableRef(database="bench_000", name=u["dataset"].split(".")[-1].split(",")[0]) for u in lineage["upstreams"]]
    for edge in lineage["fineGrainedLineages"]:
        (up,) = edge["upstreams"]
        table = up.split("bench_000.")[1].split(",")[0]
        column = up.rsplit(",", 1)[1].rstrip(")")
        down = edge["downstreams"][0].rsplit(",", 1)[1].rstrip(")")
        record.column_lineage.append(ColumnLineage(downstream=down, transform=edge["transformOperation"],
                                                   upstreams=[ColumnRef(table=TableRef(database="bench_000", name=table), column=column)]))
    produced = _produced(record)
    expected = {k: v for k, v in reference.items() if "v_0001" in k[0] or k[0].startswith("urn:li:query:")}
    assert set(produced) == set(expected)
    for key, aspect in expected.items():
        if key[1] == "upstreamLineage":
            for up in aspect["upstreams"]:
                up["auditStamp"]["time"] = 0  # DataHub stamps the run's time; ours is stable for change detection
        if key[1] == "queryProperties":
            aspect = {**aspect, "lastModified": {**aspect["lastModified"], "time": 0},
                      "statement": {**aspect["statement"], "value": record.view_definition}}  # DataHub re-formats the SQL
        assert produced[key] == aspect, key


@pytest.mark.parametrize("native, expected", [
    ("BIGINT(20)", "NumberType"), ("INTEGER(10) UNSIGNED", "NumberType"), ("DECIMAL(18, 4)", "NumberType"),
    ("DOUBLE", "NumberType"), ("FLOAT", "NumberType"), ("VARCHAR(64)", "StringType"), ("CHAR(2)", "StringType"),
    ("TEXT", "StringType"), ("SET('a','b')", "StringType"), ("ENUM('v0','v1')", "EnumType"), ("DATE", "DateType"),
    ("DATETIME(6)", "TimeType"), ("TIMESTAMP", "TimeType"), ("TIME", "TimeType"), ("BLOB", "BytesType"),
    ("VARBINARY(16)", "BytesType"), ("BIT(1)", "BytesType"), ("JSON", "RecordType"), ("BOOLEAN", "BooleanType"),
    ("GEOMETRY", "NullType"),
])
def test_type_mapping(native, expected):
    assert field_type_for(native) == expected


def test_foreign_keys_and_instance_aspects():
    loc = Location(platform="mysql", env="PROD", instance="eu1")
    record = DatasetRecord(
        location=loc, table=TableRef(database="shop", name="orders"),
        columns=[Column(name="customer_id", native_type="INTEGER(11)")],
        foreign_keys=[ForeignKey(name="fk_c", columns=["customer_id"], referenced=TableRef(database="shop", name="customers"),
                                 referenced_columns=["id"])],
    )
    aspects = {m.aspect_name: m.aspect for m in dataset_mcps(record)}
    urn = dataset_urn("mysql", "eu1.shop.orders")
    assert aspects["schemaMetadata"]["foreignKeys"] == [{
        "name": "fk_c",
        "foreignFields": ["urn:li:schemaField:(urn:li:dataset:(urn:li:dataPlatform:mysql,eu1.shop.customers,PROD),id)"],
        "sourceFields": [f"urn:li:schemaField:({urn},customer_id)"],
        "foreignDataset": "urn:li:dataset:(urn:li:dataPlatform:mysql,eu1.shop.customers,PROD)",
    }]
    instance = "urn:li:dataPlatformInstance:(urn:li:dataPlatform:mysql,eu1)"
    assert aspects["dataPlatformInstance"] == {"platform": "urn:li:dataPlatform:mysql", "instance": instance}
    assert aspects["browsePathsV2"]["path"][0] == {"id": instance, "urn": instance}


def test_postgres_schema_container_has_parent_and_browse_path():
    pg = Location(platform="postgres")
    aspects = {m.aspect_name: m.aspect for m in container_mcps(ContainerRecord(location=pg, database="db", schema_name="public"))}
    parent = container_urn("postgres", "db")
    assert aspects["container"] == {"container": parent}
    assert aspects["subTypes"] == {"typeNames": ["Schema"]}
    assert aspects["browsePathsV2"] == {"path": [{"id": parent, "urn": parent}]}
    assert aspects["containerProperties"]["customProperties"] == {"platform": "postgres", "env": "PROD", "database": "db", "schema": "public"}


def test_mcp_reads_both_file_forms_and_writes_rest_form():
    aspect = {"type": {"type": {"com.linkedin.pegasus2avro.schema.NumberType": {}}}}
    new = MCP.from_obj({"entityType": "dataset", "entityUrn": "u", "aspectName": "a", "aspect": {"json": aspect}})
    old = MCP.from_obj({"entityType": "dataset", "entityUrn": "u", "aspectName": "a",
                        "aspect": {"value": json.dumps(aspect), "contentType": "application/json"}})
    assert new.aspect == old.aspect == {"type": {"type": {"com.linkedin.schema.NumberType": {}}}}
    rest = new.to_rest_obj()
    assert json.loads(rest["aspect"]["value"]) == new.aspect and rest["aspect"]["contentType"] == "application/json"
    assert json.loads(new.to_file_json())["aspect"]["json"] == new.aspect  # read in either spelling, written in DataHub's MCP one
    assert new.aspect_hash() == old.aspect_hash()
    with pytest.raises(ValueError):
        MCP.from_obj({"entityType": "dataset", "entityUrn": "u", "aspectName": "a", "aspect": {}})


def test_hand_over_line_keeps_the_aspect_text_and_reads_the_earlier_form():
    aspect = {"description": "tab\there, a newline\nthere, \"quotes\", ünïcode", "customProperties": {"k\t": "[\tv]"}}
    mcp = MCP("dataset", "urn:li:dataset:(urn:li:dataPlatform:mysql,d.t\t1,PROD)", "datasetProperties", aspect,
              system_metadata={"runId": "r"})
    unsealed_hash = MCP(mcp.entity_type, mcp.entity_urn, mcp.aspect_name, aspect).aspect_hash()
    mcp.seal()
    assert mcp.known_hash == unsealed_hash == hashlib.sha256(mcp.aspect_text().encode("utf-8")).hexdigest()  # the text sent
    carried = MCP("dataset", "u", "status", {"removed": True}, known_hash="carried").seal()  # a hash it came with is kept, the text still made
    assert (carried.known_hash, carried.aspect_text(), carried.aspect) == ("carried", '{"removed":true}', {"removed": True})
    line = mcp.to_line()
    assert line.count(b"\t") == 1 and b"\n" not in line
    back = MCP.from_line(line + b"\n")  # as read_lines yields it
    assert back == mcp and back.aspect_text() == mcp.aspect_text() and back.known_hash == mcp.aspect_hash()
    assert MCP.from_line(line.decode("utf-8")) == mcp
    earlier = json.dumps({"entityType": "dataset", "entityUrn": mcp.entity_urn, "changeType": "UPSERT", "aspectName": "datasetProperties",
                          "aspect": {"value": mcp.aspect_text(), "contentType": "application/json"},
                          "systemMetadata": {"runId": "r"}, "aspectHash": mcp.known_hash})
    assert MCP.from_line(earlier) == mcp and MCP.from_line(earlier).known_hash == mcp.known_hash


def test_records_round_trip_through_json_lines():
    record = DatasetRecord(location=MYSQL, table=TableRef(database="d", name="t"), columns=[Column(name="c", native_type="INT")])
    assert record_from_json(record_to_json(record)) == record


def test_a_line_that_is_not_a_record_is_refused():
    with pytest.raises(ValueError, match="not a snapshot record"):
        record_from_json('{"kind": "dataset", "location": {"platform": "mysql"}, "table": {"database": "d", "name": "t"}, "colums": []}')
    with pytest.raises(ValueError, match="not a snapshot record"):
        record_from_json('{"kind": "table"}')
    with pytest.raises(ValueError, match="not a snapshot record"):
        record_from_json("not json")


def test_previous_views_finds_view_records_only_and_survives_a_damaged_file(tmp_path):
    view = DatasetRecord(location=MYSQL, table=TableRef(database="d", name="v"), subtype="View", view_definition="CREATE VIEW v AS SELECT 1",
                         view_query="SELECT\n  1", upstreams=[TableRef(database="d", name="t")])
    table = DatasetRecord(location=MYSQL, table=TableRef(database="d", name="t"), description='a comment naming "subtype":"View"')
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(b"\n".join([record_to_json(ContainerRecord(location=MYSQL, database="d")), record_to_json(table),
                                 b'{"subtype":"View", not json', record_to_json(view)]) + b"\n")
    previous = PreviousViews(path)
    try:
        assert previous.view("d", None, "v") == view
        assert previous.view("d", None, "t") is None, "tables are not indexed"
        assert previous.view("d", "s", "v") is None and previous.view("e", None, "v") is None
    finally:
        previous.close()

    path.write_bytes(b"")
    assert PreviousViews(path).view("d", None, "v") is None
    assert PreviousViews(tmp_path / "absent.jsonl").view("d", None, "v") is None


@pytest.mark.parametrize("name, field", [("shop.odd, name (x)", "a,b"), ("shop.plain", "c(d)"), ("shop.t␟x", "é %2C"),
                                         ("shop.Ünïcode_表", "ключ")])
def test_urns_encode_reserved_characters_as_datahub_does(name, field):
    from datahub.emitter.mce_builder import make_dataset_urn, make_schema_field_urn

    assert dataset_urn("mysql", name) == make_dataset_urn("mysql", name, "PROD")
    assert schema_field_urn(dataset_urn("mysql", name), field) == make_schema_field_urn(make_dataset_urn("mysql", name, "PROD"), field)
