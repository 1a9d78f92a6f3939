"""The Metadata Change Proposal and its wire forms (file, REST, our own hand-over lines)."""

import hashlib
import json
import re
from dataclasses import dataclass, field

import orjson

PEGASUS = "com.linkedin.pegasus2avro."
SHORT = "com.linkedin."


def _rename_union_keys(obj, to_pegasus: bool):
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if to_pegasus and key.startswith(SHORT) and not key.startswith(PEGASUS):
                key = PEGASUS + key[len(SHORT):]
            elif not to_pegasus and key.startswith(PEGASUS):
                key = SHORT + key[len(PEGASUS):]
            out[key] = _rename_union_keys(value, to_pegasus)
        return out
    if isinstance(obj, list):
        return [_rename_union_keys(v, to_pegasus) for v in obj]
    return obj


def to_short_names(aspect: dict) -> dict:
    """`com.linkedin.pegasus2avro.schema.NumberType` -> `com.linkedin.schema.NumberType` (REST's form)."""
    return _rename_union_keys(aspect, to_pegasus=False)


def to_pegasus_names(aspect: dict) -> dict:
    """The file sink's spelling of union members, as DataHub's own file sink writes them."""
    return _rename_union_keys(aspect, to_pegasus=True)


def canonical_json(obj) -> str:
    """Compact, key-sorted JSON (what aspect hashes are taken of, and what REST carries as the aspect's value)."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode("utf-8")


_SHORT_UNION_KEY = re.compile(r'"com\.linkedin\.(?!pegasus2avro\.)(?=[\w.]+"\s*:)')


def pegasus_json(text: str) -> str:
    """`to_pegasus_names` on serialized JSON: only keys (a quoted name followed by a colon) are renamed."""
    return _SHORT_UNION_KEY.sub('"com.linkedin.pegasus2avro.', text)


@dataclass(slots=True)
class MCP:
    entity_type: str
    entity_urn: str
    aspect_name: str
    aspect: dict
    change_type: str = "UPSERT"
    system_metadata: dict = field(default_factory=dict)
    known_hash: str | None = field(default=None, compare=False, repr=False)
    """The aspect's hash once computed; carried in the hand-over line so no stage hashes twice."""

    def aspect_hash(self) -> str:
        """Content hash of the aspect alone (never the system metadata): what change detection compares."""
        if self.known_hash is None:
            self.known_hash = hashlib.sha256(orjson.dumps(self.aspect, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return self.known_hash

    def _envelope(self, aspect_wire: dict) -> dict:
        obj = {
            "entityType": self.entity_type,
            "entityUrn": self.entity_urn,
            "changeType": self.change_type,
            "aspectName": self.aspect_name,
            "aspect": aspect_wire,
        }
        if self.system_metadata:
            obj["systemMetadata"] = self.system_metadata
        return obj

    def to_file_obj(self) -> dict:
        return self._envelope({"json": to_pegasus_names(self.aspect)})

    def to_file_json(self) -> str:
        """`to_file_obj` serialized, one line."""
        return pegasus_json(orjson.dumps(self._envelope({"json": self.aspect})).decode("utf-8"))

    def to_rest_obj(self) -> dict:
        return self._envelope({"value": canonical_json(self.aspect), "contentType": "application/json"})

    def to_line(self) -> str:
        """Our hand-over form between stages: the file form with short union names (and the hash, if known), one line."""
        envelope = self._envelope({"json": self.aspect})
        if self.known_hash is not None:
            envelope["aspectHash"] = self.known_hash
        return orjson.dumps(envelope).decode("utf-8")

    @classmethod
    def from_obj(cls, obj: dict, long_names: bool = True) -> "MCP":
        """Read any of DataHub's MCP spellings: `{"json": ...}` or `{"value": "<json>", "contentType": ...}`."""
        wire = obj.get("aspect")
        if not isinstance(wire, dict):
            raise ValueError("MCP has no aspect object")
        if "json" in wire:
            aspect = wire["json"]
        elif "value" in wire:
            value = wire["value"]
            aspect = json.loads(value) if isinstance(value, str) else value
        else:
            raise ValueError("MCP aspect has neither 'json' nor 'value'")
        for key in ("entityType", "entityUrn", "aspectName"):
            if not isinstance(obj.get(key), str) or not obj.get(key):
                raise ValueError(f"MCP is missing {key}")
        return cls(
            entity_type=obj["entityType"],
            entity_urn=obj["entityUrn"],
            aspect_name=obj["aspectName"],
            aspect=to_short_names(aspect) if long_names else aspect,
            change_type=obj.get("changeType", "UPSERT"),
            system_metadata=obj.get("systemMetadata") or {},
            known_hash=obj.get("aspectHash") if not long_names else None,
        )

    @classmethod
    def from_line(cls, line: str | bytes) -> "MCP":
        marker = "pegasus2avro" if isinstance(line, str) else b"pegasus2avro"
        return cls.from_obj(orjson.loads(line), long_names=marker in line)
