"""The embedded metadata store: DataHub's `metadata_aspect_v2` table on any SQLAlchemy database.

Version 0 of an (urn, aspect) is always the latest; writing a different value first copies the
current latest to version max+1, as DataHub's GMS does. Writing an identical value only refreshes
its system metadata, so re-sending unchanged aspects adds no versions.

A PATCH proposal (changeType "PATCH", the aspect a JSON Patch) applies to the latest value inside the
same transaction, as GMS applies it: arrays of records are patched as maps keyed by their identifying
fields, either the aspect's own template keys (GMS's patch templates) or the `arrayPrimaryKeys` that
DataHub's patch builders send alongside the operations.
"""

import copy
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    tuple_,
)

from ..core.aspect_classes import TIMESERIES_ASPECTS
from ..core.mcp import MCP, canonical_json
from ..core.urns import entity_type_of
from .database import display_url, open_engine, user_home

metadata = MetaData()
aspects_table = Table(
    "metadata_aspect_v2",
    metadata,
    Column("urn", String(500), primary_key=True),
    Column("aspect", String(200), primary_key=True),
    Column("version", BigInteger, primary_key=True),
    Column("metadata", Text, nullable=False),
    Column("systemmetadata", Text),
    Column("createdon", DateTime, nullable=False),
    Column("createdby", String(255), nullable=False),
)

ACTOR = "urn:li:corpuser:__datahub_system"


def default_url() -> str:
    if os.environ.get("INGEST_LITE_URL"):
        return os.environ["INGEST_LITE_URL"]
    return f"sqlite:///{user_home() / 'lite.db'}"


PATCH_CONTENT_TYPE = "application/json-patch+json"


class PatchError(ValueError):
    """A PATCH that cannot apply to the stored aspect: GMS rejects that proposal and writes nothing of its batch."""

    def __init__(self, mcp: MCP, message: str):
        super().__init__(message)
        self.mcp = mcp


class _PatchFailure(ValueError):
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
        raise _PatchFailure(f"path {path!r} is not a JSON Pointer (it must start with '/')")
    if _BAD_ESCAPE.search(path):
        raise _PatchFailure(f"path {path!r} has a '~' that is not ~0 or ~1")
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
                raise _PatchFailure(f"path {op['path']!r} runs through a value that is not an object")
            node = node.setdefault(token, {})


def _list_index(array: list, token: str, path: str, appending: bool) -> int:
    if appending and token == "-":
        return len(array)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise _PatchFailure(f"path {path!r}: {token!r} is not an array index")
    index = int(token)
    if index > len(array) or (index == len(array) and not appending):
        raise _PatchFailure(f"path {path!r}: index {index} is out of range")
    return index


def _apply_op(doc, op: dict):
    """One RFC 6902 operation; returns the document (a root-level add or replace swaps it)."""
    path, tokens = op["path"], _pointer(op["path"])
    if not tokens:
        if op["op"] == "remove":
            raise _PatchFailure("the whole aspect cannot be removed by a patch")
        return copy.deepcopy(op["value"])
    parent = doc
    for token in tokens[:-1]:
        if isinstance(parent, dict) and token in parent:
            parent = parent[token]
        elif isinstance(parent, list):
            parent = parent[_list_index(parent, token, path, appending=False)]
        else:
            raise _PatchFailure(f"path {path!r} does not exist in the aspect")
    last = tokens[-1]
    if isinstance(parent, dict):
        if op["op"] != "add" and last not in parent:
            raise _PatchFailure(f"path {path!r} does not exist in the aspect")
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
        raise _PatchFailure(f"path {path!r} runs through a value that is not an object or array")
    return doc


def _read_ops(ops) -> list[dict]:
    if not isinstance(ops, list):
        raise _PatchFailure("a patch must be a JSON array of operations")
    for index, op in enumerate(ops):
        if not isinstance(op, dict) or op.get("op") not in _PATCH_OPS:
            raise _PatchFailure(f"operation {index}: op must be one of {', '.join(_PATCH_OPS)}")
        if "path" not in op:
            raise _PatchFailure(f"operation {index}: path is missing")
        if op["op"] != "remove" and "value" not in op:
            raise _PatchFailure(f"operation {index}: {op['op']} needs a value")
        _pointer(op["path"])
    return ops


def patched_aspect(aspect_name: str, document, current: dict | None) -> dict:
    """The aspect GMS stores after applying a PATCH document to `current` (None: nothing stored yet).

    `document` is a JSON Patch array (GMS then uses the aspect's template), or DataHub's generic form
    `{"arrayPrimaryKeys": {field: [key fields]}, "patch": [...]}`, whose keys replace the template's.
    """
    if aspect_name in TIMESERIES_ASPECTS:
        raise _PatchFailure(f"{aspect_name} is a timeseries aspect; GMS does not patch those")
    template = PATCH_TEMPLATES.get(aspect_name)
    if isinstance(document, dict) and "patch" in document:
        primary_keys = document.get("arrayPrimaryKeys") or {}
        if not isinstance(primary_keys, dict) or not all(
                isinstance(keys, list) and all(isinstance(k, str) for k in keys) for keys in primary_keys.values()):
            raise _PatchFailure("arrayPrimaryKeys must map array fields to lists of key field names")
        generic = bool(primary_keys) or document.get("forceGenericPatch") is True
        ops = _read_ops(document["patch"])
    else:
        primary_keys, generic, ops = {}, False, _read_ops(document)
    if generic:
        keyed = {field: tuple(keys) for field, keys in primary_keys.items()}
        base = current if current is not None else {}
    elif template is None:
        raise _PatchFailure(f"GMS has no patch template for {aspect_name}; send DataHub's generic form "
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
        raise _PatchFailure("the patched aspect is not a JSON object")
    for field, key_fields in keyed.items():
        doc[field] = _rebased_array(doc.get(field), key_fields)
    stamp_field = _REQUIRED_STAMPS.get(aspect_name)
    if stamp_field and stamp_field not in doc:
        doc[stamp_field] = _audit_stamp()
    return doc


def _stored(metadata: str, system: str | None, created) -> dict:
    """One stored aspect version: its value, system metadata and creation time (a datetime)."""
    return {"value": json.loads(metadata), "systemMetadata": json.loads(system) if system else None, "created": created}


class LiteStore:
    """Every aspect version per (urn, aspect), in one SQL table."""

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        self.engine = open_engine(self.url, "metadata store", metadata)

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def upsert_many(self, mcps: list[MCP]) -> None:
        """Write a batch in one transaction (all or nothing; a PATCH that cannot apply raises PatchError and writes nothing)."""
        if not mcps:
            return
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        t = aspects_table
        keys = list({(m.entity_urn, m.aspect_name) for m in mcps})
        with self.engine.begin() as conn:
            latest: dict[tuple, str] = {}
            highest: dict[tuple, int] = {}
            for chunk_start in range(0, len(keys), 500):
                chunk = keys[chunk_start:chunk_start + 500]
                rows = conn.execute(
                    select(t.c.urn, t.c.aspect, t.c.version, t.c.metadata).where(
                        tuple_(t.c.urn, t.c.aspect).in_(chunk)
                    )
                )
                for urn, aspect, version, value in rows:
                    if version == 0:
                        latest[(urn, aspect)] = value
                    highest[(urn, aspect)] = max(highest.get((urn, aspect), 0), version)
            existed = set(latest)
            history, final = [], {}
            for mcp in mcps:
                key = (mcp.entity_urn, mcp.aspect_name)
                if mcp.change_type == "PATCH":
                    try:
                        aspect = patched_aspect(mcp.aspect_name, mcp.aspect, json.loads(latest[key]) if key in latest else None)
                    except _PatchFailure as exc:
                        raise PatchError(mcp, str(exc)) from None
                    value = canonical_json(aspect)
                else:
                    value = canonical_json(mcp.aspect)
                system = json.dumps(mcp.system_metadata) if mcp.system_metadata else None
                if key in latest and latest[key] != value:
                    highest[key] = highest.get(key, 0) + 1
                    history.append({"urn": key[0], "aspect": key[1], "version": highest[key], "metadata": latest[key],
                                    "systemmetadata": None, "createdon": now, "createdby": ACTOR})
                changed = final.get(key, (None, None, key not in latest))[2] or latest.get(key) != value
                latest[key] = value
                final[key] = (value, system, changed)
            new_rows = [{"urn": k[0], "aspect": k[1], "version": 0, "metadata": v, "systemmetadata": sm,
                         "createdon": now, "createdby": ACTOR} for k, (v, sm, _) in final.items() if k not in existed]
            updates = [{"k_urn": k[0], "k_aspect": k[1], "metadata": v, "systemmetadata": sm, "createdon": now}
                       for k, (v, sm, changed) in final.items() if k in existed and changed]
            touches = [{"k_urn": k[0], "k_aspect": k[1], "systemmetadata": sm}
                       for k, (v, sm, changed) in final.items() if k in existed and not changed]
            if history or new_rows:
                conn.execute(t.insert(), history + new_rows)
            v0 = and_(t.c.urn == bindparam("k_urn"), t.c.aspect == bindparam("k_aspect"), t.c.version == 0)
            if updates:
                conn.execute(t.update().where(v0).values(metadata=bindparam("metadata"),
                             systemmetadata=bindparam("systemmetadata"), createdon=bindparam("createdon")), updates)
            if touches:
                conn.execute(t.update().where(v0).values(systemmetadata=bindparam("systemmetadata")), touches)

    def get_aspect(self, urn: str, aspect: str, version: int = 0) -> dict | None:
        t = aspects_table
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.c.metadata, t.c.systemmetadata, t.c.createdon).where(
                    t.c.urn == urn, t.c.aspect == aspect, t.c.version == version)
            ).first()
        return None if row is None else _stored(*row)

    def aspect_versions(self, urn: str, aspect: str) -> list[dict]:
        """Every stored version of one aspect, latest first: what a timeseries read chooses from."""
        t = aspects_table
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.metadata, t.c.systemmetadata, t.c.createdon, t.c.version)
                                .where(t.c.urn == urn, t.c.aspect == aspect).order_by(t.c.version))
            stored = [(version, _stored(value, system, created)) for value, system, created, version in rows]
        return [item for version, item in sorted(stored, key=lambda row: (row[0] != 0, -row[0]))]

    def entity_aspects(self, urn: str) -> dict[str, dict]:
        """Every latest aspect of one entity with its system metadata and time, for the REST service."""
        t = aspects_table
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.aspect, t.c.metadata, t.c.systemmetadata, t.c.createdon)
                                .where(t.c.urn == urn, t.c.version == 0).order_by(t.c.aspect))
            return {aspect: _stored(value, system, created) for aspect, value, system, created in rows}

    def get_entity(self, urn: str) -> dict[str, dict]:
        """Every latest aspect of one entity, by aspect name."""
        return {aspect: item["value"] for aspect, item in self.entity_aspects(urn).items()}

    def versions(self, urn: str, aspect: str) -> list[int]:
        t = aspects_table
        with self.engine.connect() as conn:
            return [v for (v,) in conn.execute(select(t.c.version).where(t.c.urn == urn, t.c.aspect == aspect).order_by(t.c.version))]

    def latest(self, aspects: Iterable[str] | None = None) -> Iterator[tuple[str, str, dict]]:
        """Every latest (urn, aspect, value), optionally only the named aspects."""
        t = aspects_table
        query = select(t.c.urn, t.c.aspect, t.c.metadata).where(t.c.version == 0).order_by(t.c.urn, t.c.aspect)
        if aspects is not None:
            query = query.where(t.c.aspect.in_(list(aspects)))
        with self.engine.connect() as conn:
            for urn, aspect, value in conn.execution_options(yield_per=2000).execute(query):
                yield urn, aspect, json.loads(value)

    def count(self) -> tuple[int, int]:
        """(entities, aspect rows at version 0)."""
        t = aspects_table
        with self.engine.connect() as conn:
            entities = conn.execute(select(func.count(func.distinct(t.c.urn))).where(t.c.version == 0)).scalar_one()
            aspects = conn.execute(select(func.count()).select_from(t).where(t.c.version == 0)).scalar_one()
        return entities, aspects

    def search(self, text: str, limit: int = 100) -> list[str]:
        t = aspects_table
        pattern = f"%{text}%"
        query = (
            select(t.c.urn).where(t.c.version == 0)
            .where(or_(t.c.urn.ilike(pattern), and_(
                t.c.aspect.in_(["datasetProperties", "containerProperties", "schemaMetadata"]),
                t.c.metadata.ilike(pattern))))
            .distinct().order_by(t.c.urn).limit(limit)
        )
        with self.engine.connect() as conn:
            return [urn for (urn,) in conn.execute(query)]

    def browse(self, include_removed: bool = False) -> list[tuple[str, str, str]]:
        """(path, kind, urn) for every container and dataset, paths built as DataHub's browse paths."""
        names: dict[str, str] = {}
        paths: dict[str, list[str]] = {}
        kinds: dict[str, str] = {}
        removed: set[str] = set()
        platforms: dict[str, str] = {}
        wanted = ["containerProperties", "datasetProperties", "browsePathsV2", "subTypes", "status", "dataPlatformInstance"]
        for urn, aspect, value in self.latest(wanted):
            if aspect == "dataPlatformInstance":
                platforms[urn] = value.get("platform", "").removeprefix("urn:li:dataPlatform:")
            if aspect in ("containerProperties", "datasetProperties"):
                names[urn] = value.get("name") or urn
            if aspect == "browsePathsV2":
                paths[urn] = [p.get("urn") or p.get("id") for p in value.get("path", [])]
            elif aspect == "subTypes" and value.get("typeNames"):
                kinds[urn] = value["typeNames"][0]
            elif aspect == "status" and value.get("removed"):
                removed.add(urn)
        result = []
        for urn, name in names.items():
            if urn in removed and not include_removed:
                continue
            path = paths.get(urn, [])
            platform = platforms.get(urn) or next((platforms[p] for p in path if p in platforms), None) or _platform_of(urn)
            parts = [platform] + [names.get(p, p.rsplit(",", 1)[-1].rstrip(")")) for p in paths.get(urn, [])] + [name]
            result.append(("/" + "/".join(parts), kinds.get(urn, entity_type_of(urn)), urn))
        return sorted(result)


def _platform_of(urn: str) -> str:
    marker = "urn:li:dataPlatform:"
    if marker in urn:
        return urn.split(marker, 1)[1].split(",", 1)[0]
    return entity_type_of(urn)
