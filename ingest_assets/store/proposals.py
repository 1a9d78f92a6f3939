"""What the local metadata service accepts: proposals, URNs and JSON it can store exactly and serve back.

Anything else is refused before it reaches the store, with a message naming the field, so that one
client's malformed proposal never becomes an error inside a write other clients' proposals share
(the service folds concurrent requests into one transaction) and never becomes a stored value that
differs from what was sent (`NaN` stored as `null`, an integer past 64 bits as a float) or that no read
can serve (a URN holding a newline, or longer than a GET can carry).
"""

import json
import math
import re
from urllib.parse import quote_plus

import orjson

from ..core.aspect_classes import UnknownAspect, aspect_class
from ..core.errors import first_line
from ..core.mcp import MCP, PEGASUS, canonical_json, to_short_names
from ..core.urns import entity_type_of
from .aspect_patch import PATCH_CONTENT_TYPE

SUPPORTED_CHANGE_TYPES = ("UPSERT", "CREATE", "PATCH")
JSON_CONTENT_TYPE = "application/json"

MAX_URN_CHARS = 500
"""The `urn` column of DataHub's metadata_aspect_v2 is VARCHAR(500)."""
MAX_URN_ENCODED_BYTES = 512
"""GMS refuses a URN longer than 512 bytes when URL-encoded: what fits in a read's path with room to spare."""
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MIN_INTEGER, MAX_INTEGER = -(2 ** 63), 2 ** 64 - 1
"""The integers the store keeps exactly (orjson's range); DataHub's own aspects use Java's 64-bit long."""


class ProposalError(ValueError):
    """A proposal that does not validate: answered with 422 and this message."""


class NotPlainJson(ValueError):
    """JSON text that holds what JSON cannot carry faithfully, or nesting no parser should follow."""


def _checked_int(text: str) -> int:
    value = int(text)
    if not MIN_INTEGER <= value <= MAX_INTEGER:
        raise NotPlainJson(f"the integer {text[:40]} does not fit in 64 bits")
    return value


def _checked_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotPlainJson(f"the number {text[:40]} is not finite")
    return value


def _no_constant(name: str):
    raise NotPlainJson(f"{name} is not a JSON value")


def plain_json(text: str | bytes):
    """Parse JSON as the standard says it: no NaN or Infinity, no number that overflows, no runaway nesting."""
    try:
        return json.loads(text, parse_int=_checked_int, parse_float=_checked_float, parse_constant=_no_constant)
    except RecursionError:
        raise NotPlainJson("it is nested too deeply") from None
    except NotPlainJson:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, and int's digit limit
        raise NotPlainJson(first_line(exc)[:200]) from None


def storable(value, what: str) -> str:
    """The value's canonical text, or why the store cannot keep it (a lone surrogate, nesting past 254 levels)."""
    try:
        return canonical_json(value)
    except orjson.JSONEncodeError as exc:
        raise ProposalError(f"{what} cannot be stored: {first_line(exc)}") from None


def urn_problem(urn) -> str | None:
    """Why the service could neither store nor serve back this URN, or None."""
    if not isinstance(urn, str):
        return f"must be a string, found {type(urn).__name__}"
    if not urn.startswith("urn:li:") or urn.count(":") < 3:
        return f"{urn[:100]!r} is not a urn:li: URN"
    if _CONTROL.search(urn):
        return f"{urn[:100]!r} holds a control character (a newline, a tab, an escape), which no read could ask for"
    if urn != urn.strip():
        return f"{urn[:100]!r} has leading or trailing whitespace"
    try:
        encoded = len(quote_plus(urn, safe="*"))
    except UnicodeEncodeError:
        return f"{urn[:100]!r} is not valid Unicode text (it holds a lone surrogate)"
    if len(urn) > MAX_URN_CHARS or encoded > MAX_URN_ENCODED_BYTES:
        return (f"{urn[:60]!r}... is longer than {MAX_URN_CHARS} characters or {MAX_URN_ENCODED_BYTES} bytes "
                f"URL-encoded ({len(urn):,} characters, {encoded:,} bytes), as GMS limits URNs")
    return None


def _aspect_value(value: str, change: str, where: str):
    try:
        parsed = plain_json(value)
    except NotPlainJson as exc:
        raise ProposalError(f"{where}: aspect value is not valid JSON ({exc})") from None
    if change == "PATCH":
        if not isinstance(parsed, (list, dict)):
            raise ProposalError(f"{where}: a PATCH aspect value must be a JSON Patch array or {{\"patch\": [...]}}")
    elif not isinstance(parsed, dict):
        raise ProposalError(f"{where}: aspect value must be a JSON object")
    storable(parsed, f"{where}: aspect value")
    if PEGASUS in value:  # the long union-member spelling: store the short one, as REST uses it
        parsed = to_short_names(parsed)
    return parsed


def parse_proposal(obj, where: str) -> MCP:
    if not isinstance(obj, dict):
        raise ProposalError(f"{where}: expected an object, found {type(obj).__name__}")
    for key in ("entityType", "entityUrn", "aspectName", "aspect"):
        if key not in obj:
            raise ProposalError(f"{where}: required field {key} is missing")
    if not isinstance(obj["aspectName"], str) or not obj["aspectName"]:
        raise ProposalError(f"{where}: aspectName must be a non-empty string")
    try:
        aspect_class(obj["aspectName"])
    except UnknownAspect as exc:
        raise ProposalError(f"{where}: {exc}") from None
    urn, entity_type = obj["entityUrn"], obj["entityType"]
    problem = urn_problem(urn)
    if problem:
        raise ProposalError(f"{where}: entityUrn {problem}")
    if entity_type != entity_type_of(urn):
        raise ProposalError(f"{where}: entityType {str(entity_type)[:100]!r} does not match the URN's type {entity_type_of(urn)!r}")
    change = obj.get("changeType", "UPSERT")
    if not isinstance(change, str) or change not in SUPPORTED_CHANGE_TYPES:
        raise ProposalError(f"{where}: changeType {str(change)[:100]!r} is not supported here "
                            "(UPSERT, PATCH, or CREATE, which this service stores as an UPSERT)")
    content_type = PATCH_CONTENT_TYPE if change == "PATCH" else JSON_CONTENT_TYPE
    aspect = obj["aspect"]
    if not isinstance(aspect, dict) or "value" not in aspect:
        raise ProposalError(f"{where}: aspect must be {{\"value\": \"<json>\", \"contentType\": \"{content_type}\"}}")
    if aspect.get("contentType", content_type) != content_type:
        raise ProposalError(f"{where}: aspect contentType {str(aspect.get('contentType'))[:100]!r} is not {content_type} "
                            f"(changeType {change})")
    if not isinstance(aspect["value"], str):
        raise ProposalError(f"{where}: aspect value must be a JSON string")
    parsed = _aspect_value(aspect["value"], change, where)
    system = obj.get("systemMetadata") or {}
    if not isinstance(system, dict):
        raise ProposalError(f"{where}: systemMetadata must be an object")
    storable(system, f"{where}: systemMetadata")
    return MCP(entity_type=entity_type, entity_urn=urn, aspect_name=obj["aspectName"], aspect=parsed,
               change_type=change, system_metadata=system)


def parse_ingest_body(payload, action: str) -> list[MCP]:
    """The proposals of an `ingestProposal` or `ingestProposalBatch` body, all valid, or ProposalError."""
    if not isinstance(payload, dict):
        raise ProposalError("request body must be a JSON object")
    if action == "ingestProposal":
        if "proposal" not in payload:
            raise ProposalError("required field proposal is missing")
        return [parse_proposal(payload["proposal"], "proposal")]
    proposals = payload.get("proposals")
    if not isinstance(proposals, list):
        raise ProposalError("required field proposals (a list) is missing")
    return [parse_proposal(p, f"proposals[{i}]") for i, p in enumerate(proposals)]


def _condition(criterion) -> tuple[str, set[str]]:
    if not isinstance(criterion, dict) or not isinstance(criterion.get("field"), str):
        raise ValueError("each criterion must be an object with a field")
    if criterion.get("condition", "EQUAL") != "EQUAL":
        raise ValueError(f"condition {str(criterion.get('condition'))[:40]!r} is not supported")
    values = criterion.get("values") or ([criterion["value"]] if "value" in criterion else None)
    if not isinstance(values, list) or not all(isinstance(v, (str, int, float, bool)) for v in values):
        raise ValueError("each criterion needs a value or a list of values")
    return criterion["field"], {str(v) for v in values}


def timeseries_conditions(query_filter) -> list[tuple[str, set[str]]]:
    """(field, accepted texts) of a GMS filter made of EQUAL criteria in one conjunction, as DataHub's client sends them."""
    if not query_filter:
        return []
    if not isinstance(query_filter, dict):
        raise ValueError("filter must be an object")
    clauses = query_filter.get("or") or [{"and": query_filter.get("criteria", [])}]
    if not isinstance(clauses, list) or len(clauses) != 1 or not isinstance(clauses[0], dict):
        raise ValueError("only one conjunction of criteria is supported")
    criteria = clauses[0].get("and", [])
    if not isinstance(criteria, list):
        raise ValueError("criteria must be a list")
    return [_condition(criterion) for criterion in criteria]


def parse_timeseries_query(body: bytes) -> tuple[str, str, int, list[tuple[str, set[str]]]]:
    """(urn, aspect, limit, conditions) of a `getTimeseriesAspectValues` body, or ValueError saying what is wrong."""
    query = plain_json(body)
    if not isinstance(query, dict):
        raise ValueError("the query must be a JSON object")
    urn, aspect, limit = query.get("urn"), query.get("aspect"), query.get("limit", 10000)
    problem = urn_problem(urn)
    if problem:
        raise ValueError(f"urn {problem}")
    if not isinstance(aspect, str):
        raise ValueError("aspect must be a string")
    if isinstance(limit, str) and limit.isdigit():
        limit = int(limit)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError("limit must be a non-negative integer")
    return urn, aspect, limit, timeseries_conditions(query.get("filter"))
