"""Aspect builders: snapshot records to the MCPs DataHub's SQL sources emit, aspect for aspect.

Union members use DataHub's `com.linkedin.*` names (`com.linkedin.schema.NumberType`), in every MCP
form: file, REST and Kafka alike. Nothing volatile (times, run ids) goes inside an
aspect, so an aspect's hash changes only when the catalog does.
"""

import hashlib
import re
from collections.abc import Iterator

from .mcp import MCP
from .records import ContainerRecord, DatasetRecord, Location, ProcedureFlowRecord, ProcedureRecord, TableRef
from .urns import (
    container_guid,
    container_urn,
    data_flow_urn,
    data_job_urn,
    dataset_name,
    dataset_urn,
    platform_instance_urn,
    platform_urn,
    procedure_flow_name,
    schema_field_urn,
)

UNKNOWN_ACTOR = "urn:li:corpuser:unknown"
INGESTION_ACTOR = "urn:li:corpuser:_ingestion"

_TYPE_RULES: list[tuple[str, re.Pattern]] = [
    ("BooleanType", re.compile(r"^(bool|boolean)\b")),
    ("NumberType", re.compile(r"^(tinyint|smallint|mediumint|int|integer|bigint|decimal|dec|numeric|number|float|double|real|serial|bigserial|smallserial|money|fixed)\b")),
    ("EnumType", re.compile(r"^enum\b")),
    ("TimeType", re.compile(r"^(datetime|timestamp|time|year|interval)\b")),
    ("DateType", re.compile(r"^date\b")),
    ("StringType", re.compile(r"^(char|varchar|nchar|nvarchar|character|tinytext|text|mediumtext|longtext|set|string|clob|uuid|citext|name|bpchar|varying)\b")),
    ("BytesType", re.compile(r"^(blob|tinyblob|mediumblob|longblob|binary|varbinary|bit|bytea|raw)\b")),
    ("RecordType", re.compile(r"^(json|jsonb)\b")),
]


class _UnionMembers(dict):
    """`NumberType` -> `com.linkedin.schema.NumberType`, each name built once."""

    def __missing__(self, type_name: str) -> str:
        self[type_name] = f"com.linkedin.schema.{type_name}"
        return self[type_name]


_UNION_MEMBER = _UnionMembers()


def field_type_for(native_type: str) -> str:
    """DataHub's schema field type for a native SQL type (DESIGN.md's mapping)."""
    lowered = native_type.strip().lower()
    for type_name, pattern in _TYPE_RULES:
        if pattern.match(lowered):
            return type_name
    return "NullType"


def _mcp(entity_type: str, urn: str, aspect_name: str, aspect: dict) -> MCP:
    return MCP(entity_type=entity_type, entity_urn=urn, aspect_name=aspect_name, aspect=aspect)


def _dataset_urn_of(location: Location, table: TableRef) -> str:
    name = dataset_name(table.database, table.name, table.schema_name, location.instance)
    return dataset_urn(location.platform, name, location.env)


def _platform_instance_aspect(location: Location) -> dict:
    aspect = {"platform": platform_urn(location.platform)}
    if location.instance:
        aspect["instance"] = platform_instance_urn(location.platform, location.instance)
    return aspect


def _browse_path(location: Location, container_urns: list[str]) -> dict:
    path = []
    if location.instance:
        instance = platform_instance_urn(location.platform, location.instance)
        path.append({"id": instance, "urn": instance})
    path.extend({"id": urn, "urn": urn} for urn in container_urns)
    return {"path": path}


def _container_chain(location: Location, database: str, schema: str | None) -> list[str]:
    chain = [container_urn(location.platform, database, location.env, location.instance)]
    if schema is not None:
        chain.append(container_urn(location.platform, database, location.env, location.instance, schema))
    return chain


def container_mcps(record: ContainerRecord) -> Iterator[MCP]:
    loc = record.location
    chain = _container_chain(loc, record.database, record.schema_name)
    urn = chain[-1]
    custom = {"platform": loc.platform}
    if loc.instance:
        custom["instance"] = loc.instance
    custom["env"] = loc.env
    custom["database"] = record.database
    if record.schema_name is not None:
        custom["schema"] = record.schema_name
    properties = {"customProperties": custom, "name": record.schema_name or record.database, "env": loc.env}
    if record.description:
        properties["description"] = record.description
    yield _mcp("container", urn, "containerProperties", properties)
    yield _mcp("container", urn, "status", {"removed": False})
    yield _mcp("container", urn, "dataPlatformInstance", _platform_instance_aspect(loc))
    yield _mcp("container", urn, "subTypes", {"typeNames": ["Schema" if record.schema_name is not None else "Database"]})
    if record.domain:
        yield _mcp("container", urn, "domains", {"domains": [record.domain]})
    if record.schema_name is not None:
        yield _mcp("container", urn, "container", {"container": chain[0]})
    yield _mcp("container", urn, "browsePathsV2", _browse_path(loc, chain[:-1]))


def _schema_fields(record: DatasetRecord) -> list[dict]:
    """One dict per column, keys in DataHub's order (a catalog's columns outnumber its tables twenty to one)."""
    fields = []
    for column in record.columns:
        field = {"fieldPath": column.name, "nullable": column.nullable}
        if column.description:
            field["description"] = column.description
        field["type"] = {"type": {_UNION_MEMBER[column.field_type or field_type_for(column.native_type)]: {}}}
        field["nativeDataType"] = column.native_type
        field["recursive"] = False
        field["isPartOfKey"] = column.is_part_of_key
        fields.append(field)
    return fields


def _foreign_keys(record: DatasetRecord, urn: str) -> list[dict]:
    keys = []
    for fk in record.foreign_keys:
        foreign = _dataset_urn_of(record.location, fk.referenced)
        keys.append({
            "name": fk.name,
            "foreignFields": [schema_field_urn(foreign, c) for c in fk.referenced_columns],
            "sourceFields": [schema_field_urn(urn, c) for c in fk.columns],
            "foreignDataset": foreign,
        })
    return keys


def view_query_urn(view_urn: str) -> str:
    """DataHub names the query behind a view's lineage after the sha256 of the view's URN."""
    return "urn:li:query:view_" + hashlib.sha256(view_urn.encode("utf-8")).hexdigest()


def dataset_mcps(record: DatasetRecord) -> Iterator[MCP]:
    loc = record.location
    table = record.table
    urn = _dataset_urn_of(loc, table)
    chain = _container_chain(loc, table.database, table.schema_name)
    is_view = record.subtype == "View"

    yield _mcp("dataset", urn, "container", {"container": chain[-1]})
    yield _mcp("dataset", urn, "status", {"removed": False})
    custom = dict(record.custom_properties)
    if is_view:
        custom.setdefault("is_view", "True")
        if record.view_definition is not None:
            custom.setdefault("view_definition", record.view_definition)
    properties: dict = {"customProperties": custom, "name": table.name}
    if record.description:
        properties["description"] = record.description
    properties["tags"] = []
    yield _mcp("dataset", urn, "datasetProperties", properties)

    schema_name = ".".join(p for p in (table.database, table.schema_name, table.name) if p is not None)
    schema = {
        "schemaName": schema_name,
        "platform": platform_urn(loc.platform),
        "version": 0,
        "created": {"time": 0, "actor": UNKNOWN_ACTOR},
        "lastModified": {"time": 0, "actor": UNKNOWN_ACTOR},
        "hash": "",
        "platformSchema": {"com.linkedin.schema.MySqlDDL": {"tableSchema": ""}},
        "fields": _schema_fields(record),
    }
    foreign_keys = _foreign_keys(record, urn)
    if foreign_keys:
        schema["foreignKeys"] = foreign_keys
    yield _mcp("dataset", urn, "schemaMetadata", schema)
    yield _mcp("dataset", urn, "subTypes", {"typeNames": [record.subtype]})
    if record.domain:
        yield _mcp("dataset", urn, "domains", {"domains": [record.domain]})
    if loc.instance:
        yield _mcp("dataset", urn, "dataPlatformInstance", _platform_instance_aspect(loc))
    if is_view and record.view_definition is not None:
        yield _mcp("dataset", urn, "viewProperties", {
            "materialized": record.materialized,
            "viewLogic": record.view_definition,
            "viewLanguage": "SQL",
        })
    yield _mcp("dataset", urn, "browsePathsV2", _browse_path(loc, chain))
    if is_view and record.upstreams:
        yield from _view_lineage_mcps(record, urn)


def _view_lineage_mcps(record: DatasetRecord, urn: str) -> Iterator[MCP]:
    loc = record.location
    query = view_query_urn(urn)
    upstream_urns = sorted({_dataset_urn_of(loc, t) for t in record.upstreams})
    lineage: dict = {
        "upstreams": [
            {
                "auditStamp": {"time": 0, "actor": INGESTION_ACTOR},
                "created": {"time": 0, "actor": INGESTION_ACTOR},
                "dataset": up,
                "type": "VIEW",
                "query": query,
            }
            for up in upstream_urns
        ]
    }
    fine = []
    upstream_fields: set[str] = set()
    for col in record.column_lineage:
        if not col.upstreams:
            continue  # a column reading no column has no edge; it is still one of the query's subjects
        ups = sorted({schema_field_urn(_dataset_urn_of(loc, ref.table), ref.column) for ref in col.upstreams})
        upstream_fields.update(ups)
        entry = {
            "upstreamType": "FIELD_SET",
            "upstreams": ups,
            "downstreamType": "FIELD",
            "downstreams": [schema_field_urn(urn, col.downstream)],
        }
        if col.transform:
            entry["transformOperation"] = col.transform
        entry["confidenceScore"] = 0.9
        entry["query"] = query
        fine.append(entry)
    if fine:
        lineage["fineGrainedLineages"] = fine
    yield _mcp("dataset", urn, "upstreamLineage", lineage)

    subjects = upstream_urns + [urn] + sorted(upstream_fields)
    subjects += [schema_field_urn(urn, col.downstream) for col in record.column_lineage]
    yield _mcp("query", query, "queryProperties", {
        "customProperties": {},
        "statement": {"value": record.view_query or record.view_definition or "", "language": "SQL"},
        "source": "SYSTEM",
        "created": {"time": 0, "actor": INGESTION_ACTOR},
        "lastModified": {"time": 0, "actor": INGESTION_ACTOR},
    })
    yield _mcp("query", query, "querySubjects", {"subjects": [{"entity": s} for s in subjects]})
    yield _mcp("query", query, "dataPlatformInstance", _platform_instance_aspect(loc))
    yield _mcp("query", query, "status", {"removed": False})


def procedure_flow_mcps(record: ProcedureFlowRecord) -> Iterator[MCP]:
    """DataHub's flow of a database's (or a schema's) stored procedures: it lives in the database container,
    whereas a schema's jobs live in the schema container."""
    loc = record.location
    urn = data_flow_urn(loc, record.database, record.schema_name)
    database_only = _container_chain(loc, record.database, None)
    yield _mcp("dataFlow", urn, "dataFlowInfo", {"customProperties": {}, "name": procedure_flow_name(record.database, record.schema_name)})
    yield _mcp("dataFlow", urn, "subTypes", {"typeNames": ["Procedures Container"]})
    if loc.instance:
        yield _mcp("dataFlow", urn, "dataPlatformInstance", _platform_instance_aspect(loc))
    yield _mcp("dataFlow", urn, "container", {"container": database_only[0]})
    yield _mcp("dataFlow", urn, "browsePathsV2", _browse_path(loc, database_only))
    yield _mcp("dataFlow", urn, "status", {"removed": False})


def procedure_job_id(record: ProcedureRecord) -> str:
    """The job's id: the procedure's name, suffixed with DataHub's guid of its argument list where it has one."""
    if not record.argument_signature:
        return record.name
    return f"{record.name}_{container_guid({'argument_signature': record.argument_signature})}"


def procedure_mcps(record: ProcedureRecord) -> Iterator[MCP]:
    """One stored procedure as DataHub's dataJob; its body is the transform logic (DataHub labels every body SQL)."""
    loc = record.location
    urn = data_job_urn(loc, record.database, record.schema_name, procedure_job_id(record))
    chain = _container_chain(loc, record.database, record.schema_name)
    info = {"customProperties": {}, "name": record.name}
    if record.description:
        info["description"] = record.description
    info["type"] = {"string": "Stored Procedure"}
    yield _mcp("dataJob", urn, "dataJobInfo", info)
    yield _mcp("dataJob", urn, "subTypes", {"typeNames": ["Stored Procedure"]})
    if loc.instance:
        yield _mcp("dataJob", urn, "dataPlatformInstance", _platform_instance_aspect(loc))
    yield _mcp("dataJob", urn, "container", {"container": chain[-1]})
    if record.body:
        yield _mcp("dataJob", urn, "dataTransformLogic", {"transforms": [{"queryStatement": {"value": record.body, "language": "SQL"}}]})
    yield _mcp("dataJob", urn, "browsePathsV2", _browse_path(loc, chain))
    yield _mcp("dataJob", urn, "status", {"removed": False})


def record_mcps(record) -> Iterator[MCP]:
    """All MCPs for one snapshot record (scope records produce none)."""
    if isinstance(record, ContainerRecord):
        yield from container_mcps(record)
    elif isinstance(record, DatasetRecord):
        yield from dataset_mcps(record)
    elif isinstance(record, ProcedureRecord):
        yield from procedure_mcps(record)
    elif isinstance(record, ProcedureFlowRecord):
        yield from procedure_flow_mcps(record)
