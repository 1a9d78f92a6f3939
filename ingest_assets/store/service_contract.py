"""The local metadata service's published contract: the request bodies of `POST /aspects`, as OpenAPI schemas.

The service reads those bodies itself (to bound their size and memory before parsing, and to answer
as GMS answers), so these models describe the wire for clients and fuzzers; they do not parse it.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from .proposals import MAX_URN_CHARS, SUPPORTED_CHANGE_TYPES


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")  # DataHub's emitters add fields of their own (async, headers, ...)


class GenericAspect(_Open):
    value: str = Field(description="The aspect as a JSON string: an object, or a JSON Patch for changeType PATCH.")
    contentType: Literal["application/json", "application/json-patch+json"] = "application/json"


class MetadataChangeProposal(_Open):
    entityType: str = Field(description="The URN's entity type, e.g. dataset.")
    entityUrn: str = Field(max_length=MAX_URN_CHARS, pattern=r"^urn:li:[^\x00-\x1f\x7f]+$",
                           description="At most 500 characters and 512 bytes URL-encoded; no control characters.")
    changeType: Literal[SUPPORTED_CHANGE_TYPES] = "UPSERT"
    aspectName: str = Field(description="An aspect DataHub knows, e.g. datasetProperties.")
    aspect: GenericAspect
    systemMetadata: dict[str, Any] | None = None


class IngestProposalRequest(_Open):
    """`?action=ingestProposal`"""

    proposal: MetadataChangeProposal


class IngestProposalBatchRequest(_Open):
    """`?action=ingestProposalBatch`: all proposals are written in one transaction, or none."""

    proposals: list[MetadataChangeProposal]


class TimeseriesAspectQuery(_Open):
    """`?action=getTimeseriesAspectValues`: EQUAL criteria in one conjunction."""

    urn: str
    aspect: str
    limit: int = Field(default=10000, ge=0)
    filter: dict[str, Any] | None = None


_BODIES = (IngestProposalRequest, IngestProposalBatchRequest, TimeseriesAspectQuery)
_REF = "#/components/schemas/{model}"


def aspects_request_body() -> dict:
    """The `requestBody` of `POST /aspects`: one of the three bodies, chosen by the `action` parameter."""
    refs = [{"$ref": _REF.format(model=model.__name__)} for model in _BODIES]
    return {"required": True, "content": {"application/json": {"schema": {"anyOf": refs}}}}


def component_schemas() -> dict:
    _, schemas = models_json_schema([(model, "validation") for model in _BODIES], ref_template=_REF)
    return schemas["$defs"]
