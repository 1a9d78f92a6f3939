"""PATCH proposals applied as GMS applies them: a JSON Patch (changeType "PATCH") on the latest value of an
aspect, where arrays of records are patched as maps keyed by their identifying fields, either the aspect's own
template keys (GMS's patch templates) or the `arrayPrimaryKeys` that DataHub's patch builders send alongside the
operations. Pure functions: the store applies them inside its write transaction.
"""

import copy
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..core.aspect_classes import TIMESERIES_ASPECTS
from ..core.mcp import MCP

ACTOR = "urn:li:corpuser:__datahub_system"
"""The actor GMS stamps on what it writes itself (stored versions, the audit stamps a patch fills in)."""

PATCH_CONTENT_TYPE = "application/json-patch+json"


class PatchError(ValueError):
    """A PATCH that cannot apply to the stored aspect: GMS rejects that proposal and writes nothing of its batch."""

    def __init__(self, mcp: MCP, message: str):
        super().__init__(message)
        self.mcp = mcp


class PatchFailure(ValueError):
    """Why a patch document cannot apply, before it is tied to its proposal."""


NESTED_KEY_SEPARATOR = "\u241f"
"""`attribution\u241fsource` names the field `source` inside `attribution` in a key list."""


def _audit_stamp() -> dict:
    return {"time": int(time.time() * 1000), "actor": ACTOR}


@dataclass(frozen=True)
class PatchTemplate:
    """GMS's patch template of one aspect: the value a patch starts from when none is stored, and the
    arrays it patches as maps keyed by the listed fields (no fields: an array of strings keyed by themselves)."""

    default: Callable[[], dict]
    keyed_arrays: dict[str, tuple[str, ...]]


_EDGES = ("destinationUrn",)
PATCH_TEMPLATES: dict[str, PatchTemplate] = {
    "globalTags": PatchTemplate(lambda: {"tags": []}, {"tags": ("tag",)}),
    "glossaryTerms": PatchTemplate(lambda: {"terms": [], "auditStamp": _audit_stamp()},
                                   {"terms": ("urn", f"attribution{NESTED_KEY_SEPARATOR}source")}),
    "ownership": PatchTemplate(lambda: {"owners": [], "lastModified": _audit_stamp()}, {"owners": ("owner", "type")}),
    "domains": PatchTemplate(lambda: {"domains": []}, {"domains": ()}),
    "datasetProperties": PatchTemplate(lambda: {"tags": [], "customProperties": {}}, {"tags": ()}),
    "editableDatasetProperties": PatchTemplate(dict, {}),
    "upstreamLineage": PatchTemplate(lambda: {"upstreams": [], "fineGrainedLineages": []}, {"upstreams": ("dataset",)}),
    "dataFlowInfo": PatchTemplate(lambda: {"customProperties": {}}, {}),
    "dataJobInfo": PatchTemplate(lambda: {"customProperties": {}}, {}),
    "dataJobInputOutput": PatchTemplate(
        lambda: {"inputDatasets": [], "outputDatasets": [], "inputDatajobs": [], "inputDatajobEdges": [],
                 "inputDatasetEdges": [], "outputDatasetEdges": [], "fineGrainedLineages": [],
                 "inputDatasetFields": [], "outputDatasetFields": []},
        {"inputDatajobEdges": _EDGES, "inputDatasetEdges": _EDGES, "outputDatasetEdges": _EDGES,
         "inputDatasetFields": (), "outputDatasetFields": ()}),
    "dataProductProperties": PatchTemplate(lambda: {"assets": []}, {"assets": _EDGES}),
}
"""The aspects GMS patches with a template of its own; any other aspect takes only DataHub's generic
form (`{"arrayPrimaryKeys": ..., "patch": [...]}`), which starts from an empty record."""

_REQUIRED_STAMPS = {"glossaryTerms": "auditStamp"}
"""Required fields GMS fills in after a patch when the record lacks them."""

_PATCH_OPS = ("add", "remove", "replace")
_BAD_ESCAPE = re.compile(r"~(?![01])")


def _pointer(path) -> list[str]:
    """A JSON Pointer (RFC 6901) as its unescaped tokens: `~1` is `/`, `~0` is `~`."""
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchFailure(f"path {path!r} is not a JSON Pointer (it must start with '/')")
    if _BAD_ESCAPE.search(path):
        raise PatchFailure(f"path {path!r} has a '~' that is not ~0 or ~1")
    return [token.replace("~1", "/").replace("~0", "~") for token in path.split("/")[1:]] if path else []


def _key_text(element, key_field: str) -> str:
    """The map key an array element files under: the field's text, "" when absent or not a scalar."""
    value = element
    for part in key_field.split(NESTED_KEY_SEPARATOR):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (str, int, float)) else ""


def _array_to_map(array, key_fields: tuple[str, ...]) -> dict:
    keyed: dict = {}
    for element in array if isinstance(array, list) else []:
        if not key_fields:
            keyed[element if isinstance(element, str) else ""] = copy.deepcopy(element)
            continue
        node = keyed
        for key_field in key_fields:
            node = node.setdefault(_key_text(element, key_field), {})
        if isinstance(element, dict):
            node.update(copy.deepcopy(element))
    return keyed


def _map_to_array(node, key_fields: tuple[str, ...]) -> list:
    if not key_fields:
        return list(node) if isinstance(node, list) else [node]
    if isinstance(node, list):
        return [element for child in node for element in _map_to_array(child, key_fields[1:])]
    if not isinstance(node, dict):
        return []
    elements = []
    for key, child in node.items():
        merged = _map_to_array(child, key_fields[1:])
        if key and NESTED_KEY_SEPARATOR not in key_fields[0]:
            for element in merged:
                if isinstance(element, dict):
                    element.setdefault(key_fields[0], key)
        elements.extend(merged)
    return elements


def _rebased_array(value, key_fields: tuple[str, ...]) -> list:
    """A keyed map back to the array the record holds; an array set whole by a `replace` stays as it is."""
    if isinstance(value, list):
        return value
    if value is None:
        return []
    if not key_fields:
        return list(value.values()) if isinstance(value, dict) else [value]
    return _map_to_array(value, key_fields)


def _populate_parents(doc: dict, ops: list[dict]) -> None:
    """Create the missing objects along every patch path (the whole path for a remove), as GMS does before
    applying: a patch may add under a key no stored entry has yet, and removing an absent entry is no error."""
    for op in ops:
        tokens = _pointer(op["path"])
        node = doc
        for token in tokens if op["op"] == "remove" else tokens[:-1]:
            if isinstance(node, list):
                break
            if not isinstance(node, dict):
                raise PatchFailure(f"path {op['path']!r} runs through a value that is not an object")
            node = node.setdefault(token, {})


def _list_index(array: list, token: str, path: str, appending: bool) -> int:
    if appending and token == "-":
        return len(array)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchFailure(f"path {path!r}: {token!r} is not an array index")
    index = int(token)
    if index > len(array) or (index == len(array) and not appending):
        raise PatchFailure(f"path {path!r}: index {index} is out of range")
    return index


def _apply_op(doc, op: dict):
    """One RFC 6902 operation; returns the document (a root-level add or replace swaps it)."""
    path, tokens = op["path"], _pointer(op["path"])
    if not tokens:
        if op["op"] == "remove":
            raise PatchFailure("the whole aspect cannot be removed by a patch")
        return copy.deepcopy(op["value"])
    parent = doc
    for token in tokens[:-1]:
        if isinstance(parent, dict) and token in parent:
            parent = parent[token]
        elif isinstance(parent, list):
            parent = parent[_list_index(parent, token, path, appending=False)]
        else:
            raise PatchFailure(f"path {path!r} does not exist in the aspect")
    last = tokens[-1]
    if isinstance(parent, dict):
        if op["op"] != "add" and last not in parent:
            raise PatchFailure(f"path {path!r} does not exist in the aspect")
        if op["op"] == "remove":
            del parent[last]
        else:
            parent[last] = copy.deepcopy(op["value"])
    elif isinstance(parent, list):
        index = _list_index(parent, last, path, appending=op["op"] == "add")
        if op["op"] == "add":
            parent.insert(index, copy.deepcopy(op["value"]))
        elif op["op"] == "remove":
            parent.pop(index)
        else:
            parent[index] = copy.deepcopy(op["value"])
    else:
        raise PatchFailure(f"path {path!r} runs through a value that is not an object or array")
    return doc


def _read_ops(ops) -> list[dict]:
    if not isinstance(ops, list):
        raise PatchFailure("a patch must be a JSON array of operations")
    for index, op in enumerate(ops):
        if not isinstance(op, dict) or op.get("op") not in _PATCH_OPS:
            raise PatchFailure(f"operation {index}: op must be one of {', '.join(_PATCH_OPS)}")
        if "path" not in op:
            raise PatchFailure(f"operation {index}: path is missing")
        if op["op"] != "remove" and "value" not in op:
            raise PatchFailure(f"operation {index}: {op['op']} needs a value")
        _pointer(op["path"])
    return ops


def patched_aspect(aspect_name: str, document, current: dict | None) -> dict:
    """The aspect GMS stores after applying a PATCH document to `current` (None: nothing stored yet).

    `document` is a JSON Patch array (GMS then uses the aspect's template), or DataHub's generic form
    `{"arrayPrimaryKeys": {field: [key fields]}, "patch": [...]}`, whose keys replace the template's.
    """
    if aspect_name in TIMESERIES_ASPECTS:
        raise PatchFailure(f"{aspect_name} is a timeseries aspect; GMS does not patch those")
    template = PATCH_TEMPLATES.get(aspect_name)
    if isinstance(document, dict) and "patch" in document:
        primary_keys = document.get("arrayPrimaryKeys") or {}
        if not isinstance(primary_keys, dict) or not all(
                isinstance(keys, list) and all(isinstance(k, str) for k in keys) for keys in primary_keys.values()):
            raise PatchFailure("arrayPrimaryKeys must map array fields to lists of key field names")
        generic = bool(primary_keys) or document.get("forceGenericPatch") is True
        ops = _read_ops(document["patch"])
    else:
        primary_keys, generic, ops = {}, False, _read_ops(document)
    if generic:
        keyed = {field: tuple(keys) for field, keys in primary_keys.items()}
        base = current if current is not None else {}
    elif template is None:
        raise PatchFailure(f"GMS has no patch template for {aspect_name}; send DataHub's generic form "
                            "with arrayPrimaryKeys, or an UPSERT")
    else:
        keyed = template.keyed_arrays
        base = current if current is not None else template.default()
    doc = copy.deepcopy(base)
    for field, key_fields in keyed.items():
        doc[field] = _array_to_map(doc.get(field), key_fields)
    _populate_parents(doc, ops)
    for op in ops:
        doc = _apply_op(doc, op)
    if not isinstance(doc, dict):
        raise PatchFailure("the patched aspect is not a JSON object")
    for field, key_fields in keyed.items():
        doc[field] = _rebased_array(doc.get(field), key_fields)
    stamp_field = _REQUIRED_STAMPS.get(aspect_name)
    if stamp_field and stamp_field not in doc:
        doc[stamp_field] = _audit_stamp()
    return doc
