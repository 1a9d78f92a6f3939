"""The Metadata Change Proposal and its wire forms (file, REST, our own hand-over lines)."""

import hashlib
import json

import orjson

PEGASUS = "com.linkedin.pegasus2avro."
SHORT = "com.linkedin."
JSON_CONTENT_TYPE = "application/json"
PATCH_CONTENT_TYPE = "application/json-patch+json"


def to_short_names(obj):
    """`com.linkedin.pegasus2avro.schema.NumberType` -> `com.linkedin.schema.NumberType`, all through.

    The `pegasus2avro` names belong inside DataHub's older MCE snapshot records (and files written by
    earlier versions of this project); every MCP form uses the short ones."""
    if isinstance(obj, dict):
        return {SHORT + key[len(PEGASUS):] if key.startswith(PEGASUS) else key: to_short_names(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [to_short_names(v) for v in obj]
    return obj


def canonical_json(obj) -> str:
    """Compact, key-sorted JSON: how the embedded store keeps an aspect, equal for equal content whatever order it was built in."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode("utf-8")


class MCP:
    """One aspect of one entity, and how it travels.

    Between the mcps and sink stages the aspect travels as JSON text (DataHub's `{"value": ...}`
    form): the sink writes or sends that text as it is, so 36,250 aspects are parsed into dicts
    only where something reads `aspect` (a transformer, the console, the embedded store).
    """

    __slots__ = ("entity_type", "entity_urn", "aspect_name", "_aspect", "_text", "change_type", "system_metadata", "known_hash")

    def __init__(self, entity_type: str, entity_urn: str, aspect_name: str, aspect: dict | None = None,
                 change_type: str = "UPSERT", system_metadata: dict | None = None, known_hash: str | None = None,
                 *, aspect_text: str | None = None):
        if (aspect is None) == (aspect_text is None):
            raise ValueError("an MCP needs its aspect as a dict or as JSON text: exactly one of them")
        self.entity_type = entity_type
        self.entity_urn = entity_urn
        self.aspect_name = aspect_name
        self._aspect = aspect
        self._text = aspect_text
        self.change_type = change_type
        self.system_metadata = system_metadata if system_metadata is not None else {}
        self.known_hash = known_hash
        """The aspect's hash once computed; carried in the hand-over line so no stage hashes twice."""

    @property
    def aspect(self) -> dict:
        if self._aspect is None:
            self._aspect = orjson.loads(self._text)
        return self._aspect

    def aspect_text(self) -> str:
        """The aspect as compact JSON in its own key order (what the file sink writes)."""
        if self._text is None:
            self._text = orjson.dumps(self._aspect).decode("utf-8")
        return self._text

    def seal(self) -> "MCP":
        """Hash and serialize the aspect now and let its dict go: an MCP waiting in a batch then holds one
        string instead of hundreds of objects for the cycle collector to walk. `aspect` parses the text again if asked."""
        if self._aspect is not None:
            self.aspect_text()
            self.aspect_hash()  # of that text, unless the MCP came with its hash
            self._aspect = None
        return self

    def __eq__(self, other) -> bool:
        if not isinstance(other, MCP):
            return NotImplemented
        return (self.entity_type, self.entity_urn, self.aspect_name, self.change_type, self.system_metadata, self.aspect) == \
            (other.entity_type, other.entity_urn, other.aspect_name, other.change_type, other.system_metadata, other.aspect)

    __hash__ = None

    def __repr__(self) -> str:
        return f"MCP({self.entity_type!r}, {self.entity_urn!r}, {self.aspect_name!r}, {self.aspect!r})"

    def aspect_hash(self) -> str:
        """sha256 of the aspect's text as the sinks send it (never the system metadata): what change detection compares.

        The aspect builders are deterministic, so equal content is built in equal key order; hashing the
        text that is serialized anyway spares a second, key-sorted serialization of every aspect.
        """
        if self.known_hash is None:
            self.known_hash = hashlib.sha256(self.aspect_text().encode("utf-8")).hexdigest()
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

    def to_file_json(self) -> bytes:
        """DataHub's file form of an MCP (`{"json": ...}`, union members under their `com.linkedin.*` names, as
        DataHub's own file sink writes them), one line of UTF-8; the aspect's text is embedded, not re-serialized."""
        return orjson.dumps(self._envelope({"json": orjson.Fragment(self.aspect_text())}))

    def to_rest_obj(self) -> dict:
        """GMS's form: the aspect as a JSON string; a PATCH's (JSON Patch operations) under the JSON Patch content type."""
        content_type = PATCH_CONTENT_TYPE if self.change_type == "PATCH" else JSON_CONTENT_TYPE
        return self._envelope({"value": self.aspect_text(), "contentType": content_type})

    def to_line(self) -> bytes:
        """Our hand-over form between stages, one line: a JSON array `[entityType, entityUrn, aspectName,
        changeType, systemMetadata, aspectHash or null]`, a tab, the aspect's JSON.

        The aspect stays outside the array, so it is never escaped into a JSON string and unescaped
        again (46 MB of text at 5,000 tables); `cut -f2` gives the aspects. Neither part holds a raw tab.
        """
        head = orjson.dumps([self.entity_type, self.entity_urn, self.aspect_name, self.change_type,
                             self.system_metadata, self.known_hash])
        return head + b"\t" + self.aspect_text().encode("utf-8")

    @classmethod
    def from_obj(cls, obj: dict, long_names: bool = True) -> "MCP":
        """Read any of DataHub's MCP spellings: `{"json": ...}` or `{"value": "<json>", "contentType": ...}`."""
        wire = obj.get("aspect")
        if not isinstance(wire, dict):
            raise ValueError("MCP has no aspect object")
        for key in ("entityType", "entityUrn", "aspectName"):
            if not isinstance(obj.get(key), str) or not obj.get(key):
                raise ValueError(f"MCP is missing {key}")
        aspect = text = None
        if "json" in wire:
            aspect = wire["json"]
        elif "value" in wire:
            value = wire["value"]
            if isinstance(value, str) and not long_names:
                text = value
            else:
                aspect = json.loads(value) if isinstance(value, str) else value
        else:
            raise ValueError("MCP aspect has neither 'json' nor 'value'")
        if aspect is not None and long_names:
            aspect = to_short_names(aspect)
        return cls(
            obj["entityType"],
            obj["entityUrn"],
            obj["aspectName"],
            aspect,
            obj.get("changeType", "UPSERT"),
            obj.get("systemMetadata") or {},
            obj.get("aspectHash") if not long_names else None,
            aspect_text=text,
        )

    @classmethod
    def from_line(cls, line: str | bytes) -> "MCP":
        """Read a hand-over line (`to_line`) or one MCP in any of DataHub's JSON spellings."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        if line.startswith(b"["):  # ours: an MCP in DataHub's JSON is an object; nothing in it needs checking or renaming
            head, _, text = line.partition(b"\t")
            entity_type, urn, aspect_name, change_type, system_metadata, known_hash = orjson.loads(head)
            return cls(entity_type, urn, aspect_name, None, change_type, system_metadata, known_hash,
                       aspect_text=text.rstrip().decode("utf-8"))
        return cls.from_obj(orjson.loads(line), long_names=b"pegasus2avro" in line)
