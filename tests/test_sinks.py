"""Each sink for real: the file format, the console lines, and the embedded store's versions."""

import copy
import json

import pytest

from ingest_assets.core.errors import ConnectionFailure
from ingest_assets.core.mcp import MCP
from ingest_assets.core.report import StageReport
from ingest_assets.sinks.console import ConsoleSink, ConsoleSinkConfig
from ingest_assets.sinks.datahub_lite import LiteSink, LiteSinkConfig
from ingest_assets.sinks.file import FileSink, FileSinkConfig
from ingest_assets.store.lite import LiteStore
from ingest_assets.store.state import StateStore

URN = "urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.orders,PROD)"


def mcps(n: int = 3) -> list[MCP]:
    out = [MCP("dataset", URN, "status", {"removed": False})]
    out.append(MCP("dataset", URN, "schemaMetadata", {"fields": [
        {"fieldPath": "id", "type": {"type": {"com.linkedin.schema.NumberType": {}}}}]}))
    out += [MCP("dataset", URN.replace("orders", f"t{i}"), "status", {"removed": False}) for i in range(n - 2)]
    return out


def write(sink, items):
    acked = []
    sink.check()
    sink.write(iter(items), acked.append)
    sink.close()
    return acked


def test_file_sink_writes_what_datahub_reads_back_unchanged(tmp_path):
    """Union members keep DataHub's `com.linkedin.*` names in the file's MCPs: DataHub's own classes load each
    record and write it back identical. (With `pegasus2avro` names they load too, and every field type silently
    becomes the union's first member.)"""
    from datahub.emitter.mcp import MetadataChangeProposalWrapper
    from datahub.metadata.schema_classes import MySqlDDLClass, NumberTypeClass

    target = tmp_path / "mcps.json"
    field = {"fieldPath": "c", "nullable": False, "description": "named com.linkedin.pegasus2avro.schema.NumberType in the docs",
             "type": {"type": {"com.linkedin.schema.NumberType": {}}}, "nativeDataType": "INTEGER", "recursive": False,
             "isPartOfKey": False}
    schema = {"schemaName": "shop.orders", "platform": "urn:li:dataPlatform:mysql", "version": 0,
              "created": {"time": 0, "actor": "urn:li:corpuser:unknown"}, "lastModified": {"time": 0, "actor": "urn:li:corpuser:unknown"},
              "hash": "", "platformSchema": {"com.linkedin.schema.MySqlDDL": {"tableSchema": ""}}, "fields": [field]}
    lookalikes = {"customProperties": {"com.linkedin.note": 'see {"com.linkedin.schema.NumberType": {}}'},
                  "description": "com.linkedin.pegasus2avro.schema.NumberType", "tags": []}
    items = [MCP("dataset", URN, "datasetProperties", lookalikes), MCP("dataset", URN, "schemaMetadata", schema)]
    write(FileSink(FileSinkConfig(filename=str(target)), StageReport("sink")), items)
    data = json.loads(target.read_text())
    assert data[0]["aspect"]["json"] == lookalikes
    assert data[1]["aspect"]["json"] == schema
    for obj in data:  # from_obj rewrites the object it is given
        assert MetadataChangeProposalWrapper.from_obj(copy.deepcopy(obj)).to_obj(simplified_structure=True) == obj
    parsed = MetadataChangeProposalWrapper.from_obj(copy.deepcopy(data[1])).aspect
    assert isinstance(parsed.fields[0].type.type, NumberTypeClass)
    assert isinstance(parsed.platformSchema, MySqlDDLClass)


def test_file_sink_writes_datahubs_json_array(tmp_path):
    target = tmp_path / "out" / "mcps.json"
    items = mcps(5)
    acked = write(FileSink(FileSinkConfig(filename=str(target)), StageReport("sink")), items)
    assert acked == items
    data = json.loads(target.read_text())
    assert len(data) == 5
    assert data[1]["aspect"]["json"]["fields"][0]["type"] == {"type": {"com.linkedin.schema.NumberType": {}}}
    assert set(data[0]) == {"entityType", "entityUrn", "changeType", "aspectName", "aspect"}
    assert [MCP.from_obj(o).aspect for o in data] == [m.aspect for m in items]


def test_file_sink_empty_run_is_an_empty_array(tmp_path):
    target = tmp_path / "empty.json"
    write(FileSink(FileSinkConfig(filename=str(target)), StageReport("sink")), [])
    assert json.loads(target.read_text()) == []


def test_file_sink_refuses_a_directory(tmp_path):
    with pytest.raises(ConnectionFailure, match="is a directory"):
        FileSink(FileSinkConfig(filename=str(tmp_path)), StageReport("sink")).check()


def test_console_sink_prints_one_line_per_mcp(capsys):
    acked = write(ConsoleSink(ConsoleSinkConfig(), StageReport("sink")), mcps(3))
    lines = capsys.readouterr().out.splitlines()
    assert len(acked) == 3 and len(lines) == 3
    assert lines[1] == f"UPSERT dataset {URN} schemaMetadata 1 fields"


def test_lite_store_keeps_versions_as_datahub_does(tmp_path):
    url = f"sqlite:///{tmp_path / 'lite.db'}"
    sink = LiteSink(LiteSinkConfig(url=url, batch_size=2), StageReport("sink"))
    assert len(write(sink, mcps(3))) == 3
    store = LiteStore(url)
    assert store.versions(URN, "status") == [0]
    # unchanged value: no new version, system metadata refreshed
    again = MCP("dataset", URN, "status", {"removed": False}, system_metadata={"runId": "r2"})
    write(LiteSink(LiteSinkConfig(url=url), StageReport("sink")), [again])
    assert store.versions(URN, "status") == [0]
    assert store.get_aspect(URN, "status")["systemMetadata"] == {"runId": "r2"}
    # changed value: the old one moves to version 1, twice in one batch -> versions 1 and 2
    write(LiteSink(LiteSinkConfig(url=url), StageReport("sink")), [
        MCP("dataset", URN, "status", {"removed": True}), MCP("dataset", URN, "status", {"removed": False}),
    ])
    assert store.versions(URN, "status") == [0, 1, 2]
    assert store.get_aspect(URN, "status")["value"] == {"removed": False}
    assert store.get_aspect(URN, "status", version=1)["value"] == {"removed": False}
    assert store.get_aspect(URN, "status", version=2)["value"] == {"removed": True}
    assert store.get_entity(URN)["schemaMetadata"]["fields"][0]["fieldPath"] == "id"
    assert store.search("t0") == [URN.replace("orders", "t0")]


def test_lite_store_on_postgres(tmp_path):
    """Any SQLAlchemy URL works: the store on the local PostgreSQL."""
    import uuid

    import sqlalchemy as sa

    name = f"lite_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
        write(LiteSink(LiteSinkConfig(url=url), StageReport("sink")), mcps(4))
        write(LiteSink(LiteSinkConfig(url=url), StageReport("sink")), [MCP("dataset", URN, "status", {"removed": True})])
        store = LiteStore(url)
        assert store.versions(URN, "status") == [0, 1]
        assert store.count() == (3, 4)
        store.close()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_lite_store_bad_url_is_a_connection_failure():
    with pytest.raises(ConnectionFailure, match="not a SQLAlchemy database URL"):
        LiteStore("definitely not a url")


@pytest.mark.parametrize("store", [LiteStore, StateStore])
def test_store_that_cannot_be_opened_is_one_line_without_the_password(store):
    url = "postgresql+psycopg2://postgres:s3cret-pw@127.0.0.1:5432/no_such_database_ingest_assets"
    with pytest.raises(ConnectionFailure) as caught:
        store(url)
    message = str(caught.value)
    assert message.startswith("cannot open the ") and "no_such_database_ingest_assets" in message
    assert "s3cret-pw" not in message and "\n" not in message
