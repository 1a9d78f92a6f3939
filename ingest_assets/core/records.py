"""Snapshot records: what a source found, platform-neutral, one JSON line each between stages.

Plain slotted dataclasses: a catalog of 5,000 tables is about 100,000 columns, and records are
written and read back once per run, so they cost a microsecond each instead of a validation pass.
Nothing checks their fields at run time: each source builds them from what its catalog says, and
they are read back only from our own hand-over files (`record_from_json` refuses a line with
unknown or missing keys, not one with wrong values).
"""

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Literal

import orjson

_RECORD = {"slots": True, "kw_only": True}


@dataclass(**_RECORD)
class Location:
    """Where a catalog object lives: platform, environment, optional instance."""

    platform: str
    env: str = "PROD"
    instance: str | None = None


@dataclass(**_RECORD)
class TableRef:
    database: str
    schema_name: str | None = None
    name: str


@dataclass(**_RECORD)
class ColumnRef:
    table: TableRef
    column: str


@dataclass(slots=True)
class Column:
    """Written as a JSON array in this field order: a catalog's columns outnumber its tables twenty to one."""

    name: str
    native_type: str
    nullable: bool = True
    description: str | None = None
    is_part_of_key: bool = False
    field_type: str | None = None
    """DataHub's schema field type (NumberType, StringType, ...); derived from native_type when unset."""


@dataclass(**_RECORD)
class ForeignKey:
    name: str
    columns: list[str]
    referenced: TableRef
    referenced_columns: list[str]


@dataclass(**_RECORD)
class ColumnLineage:
    downstream: str
    upstreams: list[ColumnRef]
    transform: str | None = None


@dataclass(**_RECORD)
class ContainerRecord:
    kind: Literal["container"] = "container"
    location: Location
    database: str
    schema_name: str | None = None
    description: str | None = None
    domain: str | None = None
    """The domain URN the source's `domain` patterns give this database (or schema)."""


@dataclass(**_RECORD)
class DatasetRecord:
    kind: Literal["dataset"] = "dataset"
    location: Location
    table: TableRef
    subtype: Literal["Table", "View"] = "Table"
    description: str | None = None
    columns: list[Column] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    view_definition: str | None = None
    view_query: str | None = None
    """The view's statement as the query entity stores it (DataHub formats it); view_definition when unset."""
    materialized: bool = False
    custom_properties: dict[str, str] = field(default_factory=dict)
    upstreams: list[TableRef] = field(default_factory=list)
    column_lineage: list[ColumnLineage] = field(default_factory=list)
    domain: str | None = None
    """The domain URN the source's `domain` patterns give this table or view."""


@dataclass(**_RECORD)
class ScopeRecord:
    """A database (or schema) that this run enumerated completely: stale removal may act inside it."""

    kind: Literal["scope"] = "scope"
    location: Location
    database: str
    schema_name: str | None = None


PROCEDURE_KIND = "Stored Procedure"
FLOW_KIND = "Procedures Container"
"""The kinds (DataHub's subtypes) of procedure and flow entities, as the state keeps them for stale removal."""


@dataclass(**_RECORD)
class ProcedureFlowRecord:
    """The flow DataHub groups a database's stored procedures under (`<db>.stored_procedures`):
    one per database that has procedures, before them."""

    kind: Literal["procedure_flow"] = "procedure_flow"
    location: Location
    database: str
    schema_name: str | None = None


@dataclass(**_RECORD)
class ProcedureRecord:
    """One stored procedure, a job of its database's flow; `body` is its definition as the catalog holds it
    (None where the catalog hides it from this user)."""

    kind: Literal["procedure"] = "procedure"
    location: Location
    database: str
    schema_name: str | None = None
    name: str
    body: str | None = None
    language: str = "SQL"
    argument_signature: str | None = None
    """The argument list where a platform overloads procedures by it (PostgreSQL): DataHub suffixes the job's id
    with a hash of it, so two overloads are two jobs."""
    description: str | None = None


@dataclass(**_RECORD)
class McpRecord:
    """An MCP a source hands over ready-made (the file source replaying DataHub's files): it skips the aspect
    builders and goes through transformers, change detection and the sink like a built one. `mcp` is the MCP in
    one of DataHub's JSON spellings (`{"json": ...}` or `{"value": "<json>", ...}` aspect). It has no scope, so
    stale removal never acts on its entity."""

    kind: Literal["mcp"] = "mcp"
    mcp: dict


Record = ContainerRecord | DatasetRecord | ScopeRecord | ProcedureFlowRecord | ProcedureRecord | McpRecord


_COLUMN_ARRAY = attrgetter("name", "native_type", "nullable", "description", "is_part_of_key", "field_type")


def record_to_json(record: Record) -> bytes:
    """One hand-over line (without its newline)."""
    if isinstance(record, DatasetRecord):
        data = {name: getattr(record, name) for name in DatasetRecord.__slots__}
        data["columns"] = list(map(_COLUMN_ARRAY, record.columns))
        return orjson.dumps(data)
    return orjson.dumps(record)


def _table(data: dict) -> TableRef:
    return TableRef(**data)


def _dataset(data: dict) -> DatasetRecord:
    data["location"] = Location(**data["location"])
    data["table"] = _table(data["table"])
    data["columns"] = [Column(*c) for c in data.get("columns", ())]
    data["foreign_keys"] = [
        ForeignKey(name=f["name"], columns=f["columns"], referenced=_table(f["referenced"]), referenced_columns=f["referenced_columns"])
        for f in data.get("foreign_keys", ())
    ]
    data["upstreams"] = [_table(t) for t in data.get("upstreams", ())]
    data["column_lineage"] = [
        ColumnLineage(downstream=c["downstream"], transform=c.get("transform"),
                      upstreams=[ColumnRef(table=_table(r["table"]), column=r["column"]) for r in c["upstreams"]])
        for c in data.get("column_lineage", ())
    ]
    return DatasetRecord(**data)


def _located(cls):
    def build(data: dict):
        data["location"] = Location(**data["location"])
        return cls(**data)

    return build


_READERS = {"dataset": _dataset, "container": _located(ContainerRecord), "scope": _located(ScopeRecord),
            "procedure_flow": _located(ProcedureFlowRecord), "procedure": _located(ProcedureRecord),
            "mcp": lambda data: McpRecord(**data)}


def record_from_json(line: str | bytes) -> Record:
    """A record from its hand-over line; a line that is not one of ours raises ValueError."""
    try:
        data = orjson.loads(line)
        return _READERS[data["kind"]](data)
    except (KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"not a snapshot record: {exc}") from None
