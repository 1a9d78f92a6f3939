"""An MCP as DataHub's Kafka record: `com.linkedin.pegasus2avro.mxe.MetadataChangeProposal` in Avro.

DataHub's producers and its MCP consumer agree on this record by its full name and field layout
(Avro resolves a writer's schema against a reader's by names and types, never by documentation),
so the schemas here state the layout alone. The aspect travels as its JSON text in bytes, with
`com.linkedin.*` union names inside, exactly as over REST; a failed proposal is wrapped in
`FailedMetadataChangeProposal` with the error, as GMS writes it to its failed topic.

Pure data and pure functions: the Kafka emitter, the consumer and the schema registry share them.
"""

from .mcp import JSON_CONTENT_TYPE, MCP, PATCH_CONTENT_TYPE

MCP_TOPIC = "MetadataChangeProposal_v1"
FAILED_MCP_TOPIC = "FailedMetadataChangeProposal_v1"
MCE_TOPIC = "MetadataChangeEvent_v4"
CONFLUENT_MAGIC = 0
"""Confluent framing: this byte, the schema id as 4 big-endian bytes, then the Avro binary."""


def subject_of(topic: str) -> str:
    """The registry subject of a topic's values (Confluent's TopicNameStrategy, as DataHub uses it)."""
    return f"{topic}-value"


def _optional(avro_type) -> list:
    return ["null", avro_type]


_AUDIT_STAMP = {
    "type": "record", "name": "AuditStamp", "namespace": "com.linkedin.pegasus2avro.common",
    "fields": [
        {"name": "time", "type": "long"},
        {"name": "actor", "type": "string"},
        {"name": "impersonator", "type": _optional("string"), "default": None},
        {"name": "message", "type": _optional("string"), "default": None},
    ],
}

_KAFKA_AUDIT_HEADER = {
    "type": "record", "name": "KafkaAuditHeader", "namespace": "com.linkedin.events",
    "fields": [
        {"name": "time", "type": "long"},
        {"name": "server", "type": "string"},
        {"name": "instance", "type": _optional("string"), "default": None},
        {"name": "appName", "type": "string"},
        {"name": "messageId", "type": {"type": "fixed", "name": "UUID", "namespace": "com.linkedin.events", "size": 16}},
        {"name": "auditVersion", "type": _optional("int"), "default": None},
        {"name": "fabricUrn", "type": _optional("string"), "default": None},
        {"name": "clusterConnectionString", "type": _optional("string"), "default": None},
    ],
}

_GENERIC_ASPECT = {
    "type": "record", "name": "GenericAspect", "namespace": "com.linkedin.pegasus2avro.mxe",
    "fields": [{"name": "value", "type": "bytes"}, {"name": "contentType", "type": "string"}],
}

_SYSTEM_METADATA = {
    "type": "record", "name": "SystemMetadata", "namespace": "com.linkedin.pegasus2avro.mxe",
    "fields": [
        {"name": "lastObserved", "type": ["long", "null"], "default": 0},
        {"name": "runId", "type": ["string", "null"], "default": "no-run-id-provided"},
        {"name": "lastRunId", "type": ["string", "null"], "default": "no-run-id-provided"},
        {"name": "pipelineName", "type": _optional("string"), "default": None},
        {"name": "registryName", "type": _optional("string"), "default": None},
        {"name": "registryVersion", "type": _optional("string"), "default": None},
        {"name": "properties", "type": _optional({"type": "map", "values": "string"}), "default": None},
        {"name": "version", "type": _optional("string"), "default": None},
        {"name": "schemaVersion", "type": _optional("long"), "default": None},
        {"name": "aspectCreated", "type": _optional(_AUDIT_STAMP), "default": None},
        {"name": "aspectModified", "type": _optional("com.linkedin.pegasus2avro.common.AuditStamp"), "default": None},
    ],
}
SYSTEM_METADATA_FIELDS = tuple(field["name"] for field in _SYSTEM_METADATA["fields"])

CHANGE_TYPES = ("UPSERT", "CREATE", "UPDATE", "DELETE", "PATCH", "RESTATE", "CREATE_ENTITY")
"""In DataHub's order: an Avro enum is written as the symbol's index."""

MCP_SCHEMA = {
    "type": "record", "name": "MetadataChangeProposal", "namespace": "com.linkedin.pegasus2avro.mxe",
    "fields": [
        {"name": "auditHeader", "type": _optional(_KAFKA_AUDIT_HEADER), "default": None},
        {"name": "entityType", "type": "string"},
        {"name": "entityUrn", "type": _optional("string"), "default": None},
        {"name": "entityKeyAspect", "type": _optional(_GENERIC_ASPECT), "default": None},
        {"name": "changeType", "type": {"type": "enum", "name": "ChangeType",
                                        "namespace": "com.linkedin.pegasus2avro.events.metadata", "symbols": list(CHANGE_TYPES)}},
        {"name": "aspectName", "type": _optional("string"), "default": None},
        {"name": "aspect", "type": _optional("com.linkedin.pegasus2avro.mxe.GenericAspect"), "default": None},
        {"name": "systemMetadata", "type": _optional(_SYSTEM_METADATA), "default": None},
        {"name": "headers", "type": _optional({"type": "map", "values": "string"}), "default": None},
    ],
}

_MCP_AFTER_AUDIT_HEADER = {**MCP_SCHEMA, "fields": [
    {"name": "auditHeader", "type": _optional("com.linkedin.events.KafkaAuditHeader"), "default": None},
    *MCP_SCHEMA["fields"][1:],
]}
"""The proposal inside a failed one: the audit header's type is defined once, by the outer record."""

FAILED_MCP_SCHEMA = {
    "type": "record", "name": "FailedMetadataChangeProposal", "namespace": "com.linkedin.pegasus2avro.mxe",
    "fields": [
        {"name": "auditHeader", "type": _optional(_KAFKA_AUDIT_HEADER), "default": None},
        {"name": "metadataChangeProposal", "type": _MCP_AFTER_AUDIT_HEADER},
        {"name": "error", "type": "string"},
    ],
}


def _system_metadata_record(system: dict) -> dict | None:
    """Every field set, absent ones to null: a missing field would be written with the schema's default
    (`runId` "no-run-id-provided"), which the reader could not tell from a value that was sent."""
    if not system:
        return None
    return {name: system.get(name) for name in SYSTEM_METADATA_FIELDS}


def mcp_to_record(mcp: MCP) -> dict:
    """The Avro record of an MCP; the aspect's JSON text is carried as it is, never re-serialized."""
    content_type = PATCH_CONTENT_TYPE if mcp.change_type == "PATCH" else JSON_CONTENT_TYPE
    return {
        "auditHeader": None,
        "entityType": mcp.entity_type,
        "entityUrn": mcp.entity_urn,
        "entityKeyAspect": None,
        "changeType": mcp.change_type,
        "aspectName": mcp.aspect_name,
        "aspect": {"value": mcp.aspect_text().encode("utf-8"), "contentType": content_type},
        "systemMetadata": _system_metadata_record(mcp.system_metadata),
        "headers": None,
    }


def _without_nulls(value):
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    return value


class NotAProposal(ValueError):
    """A record that holds no proposal the REST form can carry (no URN, no aspect, an aspect that is not UTF-8)."""


def record_to_rest_obj(record: dict) -> dict:
    """A decoded record in GMS's REST form (`{"value": "<json>", "contentType"}`), nulls dropped as GMS drops them,
    for the same validation the local service applies to REST proposals."""
    aspect = record.get("aspect")
    if not record.get("entityUrn"):
        raise NotAProposal("the record has no entityUrn (proposals by key aspect alone are not supported)")
    if not isinstance(aspect, dict) or not record.get("aspectName"):
        raise NotAProposal("the record has no aspect and aspectName")
    value = aspect.get("value")
    try:
        text = value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else value
    except UnicodeDecodeError as exc:
        raise NotAProposal(f"the aspect value is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    obj = {
        "entityType": record.get("entityType"),
        "entityUrn": record["entityUrn"],
        "changeType": record.get("changeType", "UPSERT"),
        "aspectName": record["aspectName"],
        "aspect": {"value": text, "contentType": aspect.get("contentType")},
    }
    system = _without_nulls(record.get("systemMetadata") or {})
    if system:
        obj["systemMetadata"] = system
    return obj
