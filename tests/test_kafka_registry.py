"""The schema registry of `ingest-assets serve`, through confluent-kafka's own registry client (what producers and deserializers use)."""

import json
import shutil

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from datahub.metadata.schemas import getMetadataChangeProposalSchema

from ingest_assets.core.mcp_avro import FAILED_MCP_SCHEMA, MCP_SCHEMA

from .rest_service import metadata_service

MCP_SUBJECT = "MetadataChangeProposal_v1-value"


def client(url: str) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": f"{url}/schema-registry/api/"})


def error_code(call) -> int:
    with pytest.raises(SchemaRegistryError) as raised:
        call()
    return raised.value.error_code


def test_registry_serves_datahubs_subjects_and_confluents_api(tmp_path):
    with metadata_service(tmp_path) as svc:
        registry = client(svc.url)
        assert registry.get_subjects() == ["FailedMetadataChangeProposal_v1-value", MCP_SUBJECT]
        latest = registry.get_latest_version(MCP_SUBJECT)
        assert json.loads(latest.schema.schema_str) == MCP_SCHEMA
        # DataHub's emitter registers its documented schema text: the same schema in canonical form, so the same id
        assert registry.register_schema(MCP_SUBJECT, Schema(getMetadataChangeProposalSchema(), "AVRO")) == latest.schema_id
        assert registry.get_versions(MCP_SUBJECT) == [1]
        assert json.loads(registry.get_schema(latest.schema_id).schema_str) == MCP_SCHEMA

        evolved = {**MCP_SCHEMA, "fields": [*MCP_SCHEMA["fields"], {"name": "extra", "type": ["null", "string"], "default": None}]}
        new_id = registry.register_schema(MCP_SUBJECT, Schema(json.dumps(evolved), "AVRO"))
        assert new_id not in (latest.schema_id, registry.get_latest_version("FailedMetadataChangeProposal_v1-value").schema_id)
        assert registry.get_versions(MCP_SUBJECT) == [1, 2]
        assert client(svc.url).get_latest_version(MCP_SUBJECT).schema_id == new_id  # a fresh client: the first one caches "latest"
        assert registry.get_version(MCP_SUBJECT, 1).schema_id == latest.schema_id
        # one schema under two subjects keeps one id, as Confluent's registry numbers them
        assert registry.register_schema("other-topic-value", Schema(json.dumps(evolved), "AVRO")) == new_id
        found = registry.lookup_schema(MCP_SUBJECT, Schema(json.dumps(evolved), "AVRO"))
        assert (found.schema_id, found.version) == (new_id, 2)

        fresh = client(svc.url)  # no cache: every answer below comes from the service
        assert error_code(lambda: fresh.get_schema(9999)) == 40403
        assert error_code(lambda: fresh.get_latest_version("no-such-subject")) == 40401
        assert error_code(lambda: fresh.get_version(MCP_SUBJECT, 7)) == 40402
        assert error_code(lambda: fresh.lookup_schema(MCP_SUBJECT, Schema('"string"', "AVRO"))) == 40403
        assert error_code(lambda: fresh.register_schema("x-value", Schema('{"type": "record"}', "AVRO"))) == 42201
        assert error_code(lambda: fresh.register_schema("x-value", Schema('{"type": "object"}', "JSON"))) == 42201

    # ids are kept with the store: messages written before a restart stay readable after it
    for suffix in ("", "-wal"):  # the database as the stopped service left it
        if (tmp_path / f"service.db{suffix}").exists():
            shutil.copy(tmp_path / f"service.db{suffix}", tmp_path / f"again.db{suffix}")
    with metadata_service(tmp_path, name="again") as svc:
        registry = client(svc.url)
        assert registry.get_latest_version(MCP_SUBJECT).schema_id == new_id
        assert json.loads(registry.get_schema(new_id).schema_str) == evolved
        assert json.loads(registry.get_latest_version("FailedMetadataChangeProposal_v1-value").schema.schema_str) == FAILED_MCP_SCHEMA
