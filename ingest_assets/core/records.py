"""Snapshot records: what a source found, platform-neutral, one JSON line each between stages."""

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Location(_Record):
    """Where a catalog object lives: platform, environment, optional instance."""

    platform: str
    env: str = "PROD"
    instance: str | None = None


class TableRef(_Record):
    database: str
    schema_name: str | None = None
    name: str


class ColumnRef(_Record):
    table: TableRef
    column: str


class Column(_Record):
    name: str
    native_type: str
    nullable: bool = True
    description: str | None = None
    is_part_of_key: bool = False
    field_type: str | None = None
    """DataHub's schema field type (NumberType, StringType, ...); derived from native_type when unset."""


class ForeignKey(_Record):
    name: str
    columns: list[str]
    referenced: TableRef
    referenced_columns: list[str]


class ColumnLineage(_Record):
    downstream: str
    upstreams: list[ColumnRef]
    transform: str | None = None


class ContainerRecord(_Record):
    kind: Literal["container"] = "container"
    location: Location
    database: str
    schema_name: str | None = None
    description: str | None = None


class DatasetRecord(_Record):
    kind: Literal["dataset"] = "dataset"
    location: Location
    table: TableRef
    subtype: Literal["Table", "View"] = "Table"
    description: str | None = None
    columns: list[Column] = Field(default_factory=list)
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    view_definition: str | None = None
    view_query: str | None = None
    """The view's statement as the query entity stores it (DataHub formats it); view_definition when unset."""
    materialized: bool = False
    custom_properties: dict[str, str] = Field(default_factory=dict)
    upstreams: list[TableRef] = Field(default_factory=list)
    column_lineage: list[ColumnLineage] = Field(default_factory=list)


class ScopeRecord(_Record):
    """A database (or schema) that this run enumerated completely: stale removal may act inside it."""

    kind: Literal["scope"] = "scope"
    location: Location
    database: str
    schema_name: str | None = None


Record = Annotated[Union[ContainerRecord, DatasetRecord, ScopeRecord], Field(discriminator="kind")]
RECORD_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)


def record_to_json(record: ContainerRecord | DatasetRecord | ScopeRecord) -> str:
    return record.model_dump_json(exclude_none=True)


def record_from_json(line: str | bytes) -> ContainerRecord | DatasetRecord | ScopeRecord:
    return RECORD_ADAPTER.validate_json(line)
