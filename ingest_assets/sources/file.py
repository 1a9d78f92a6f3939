"""DataHub's `file` source: replays MCP files (DataHub's file sink output, exports, hand-written metadata).

A file is a JSON array of records or JSON Lines; a record is an MCP (aspect as `{"json": ...}` or as
`{"value": "<json string>", "contentType": ...}`) or an MCE (`proposedSnapshot`), which becomes one MCP per
aspect with its `pegasus2avro` union names turned into the `com.linkedin.*` ones. Arrays are read with ijson
(yajl2's C parser) one record at a time, so a file larger than memory replays in flat memory. A record that is
not an MCP or MCE is a failure naming its file and position, and is skipped; JSON that stops parsing ends that
file with a failure.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import ijson
import orjson
from pydantic import field_validator, model_validator

from ..core.errors import ConnectionFailure
from ..core.mcp import to_short_names
from ..core.plugin import PluginConfig, Source, inert
from ..core.records import McpRecord
from ..core.urns import entity_type_of

CHANGE_TYPES = {"UPSERT", "CREATE", "PATCH", "CREATE_ENTITY", "DELETE", "RESTATE", "UPDATE"}


class FileSourceConfig(PluginConfig):
    path: str
    file_extension: str = ".json"
    read_mode: Literal["STREAM", "BATCH", "AUTO"] = inert("every file is streamed, whatever its size", "AUTO")
    aspect: str | None = None
    count_all_before_starting: bool = inert("counting first would read every file twice; records are counted as they arrive", True)

    @model_validator(mode="before")
    @classmethod
    def _filename_is_path(cls, values):
        """DataHub's deprecated `filename` key names the path."""
        if isinstance(values, dict) and "filename" in values:
            values = dict(values)
            values.setdefault("path", values.pop("filename"))
        return values

    @field_validator("file_extension")
    @classmethod
    def _leading_dot(cls, value: str) -> str:
        return value if not value or value.startswith(".") else "." + value

    @field_validator("read_mode", mode="before")
    @classmethod
    def _any_case(cls, value):
        return value.upper() if isinstance(value, str) else value


class BadRecord(ValueError):
    """A record that is neither an MCP nor an MCE snapshot."""


def aspect_name_of(class_name: str) -> str:
    """`com.linkedin.pegasus2avro.schema.SchemaMetadata` -> `schemaMetadata`: an aspect's name is its class's, uncapitalized."""
    short = class_name.rsplit(".", 1)[-1]
    return short[:1].lower() + short[1:]


def checked_mcp(obj: dict) -> dict:
    for key in ("entityType", "entityUrn", "aspectName"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise BadRecord(f"MCP without {key}")
    aspect = obj.get("aspect")
    if not isinstance(aspect, dict) or not ("json" in aspect or isinstance(aspect.get("value"), str)):
        raise BadRecord("MCP aspect is neither {\"json\": ...} nor {\"value\": \"<json>\", ...}")
    if obj.get("changeType", "UPSERT") not in CHANGE_TYPES:
        raise BadRecord(f"unknown changeType {obj.get('changeType')!r}")
    return obj


def snapshot_mcps(obj: dict) -> Iterator[dict]:
    """An MCE's aspects as MCPs (DataHub writes the schema inside such snapshots)."""
    snapshot = obj["proposedSnapshot"]
    if not isinstance(snapshot, dict) or len(snapshot) != 1:
        raise BadRecord("proposedSnapshot is not a single snapshot")
    body = next(iter(snapshot.values()))
    urn, aspects = body.get("urn"), body.get("aspects")
    if not isinstance(urn, str) or not isinstance(aspects, list):
        raise BadRecord("snapshot without urn or aspects")
    for aspect in aspects:
        if not isinstance(aspect, dict) or len(aspect) != 1:
            raise BadRecord(f"snapshot of {urn}: an aspect is not a single {{class: value}}")
        (class_name, value), = aspect.items()
        mcp = {"entityType": entity_type_of(urn), "entityUrn": urn, "changeType": "UPSERT",
               "aspectName": aspect_name_of(class_name), "aspect": {"json": to_short_names(value)}}
        if obj.get("systemMetadata"):
            mcp["systemMetadata"] = obj["systemMetadata"]
        yield mcp


def record_mcps(obj) -> Iterator[dict]:
    if isinstance(obj, dict) and "proposedSnapshot" in obj:
        yield from snapshot_mcps(obj)
    elif isinstance(obj, dict) and "aspect" in obj:
        yield checked_mcp(obj)
    else:
        raise BadRecord("neither an MCP (entityUrn, aspectName, aspect) nor an MCE (proposedSnapshot)")


def first_byte(handle) -> bytes:
    """The first byte that is not whitespace, the handle left where it was."""
    start = handle.tell()
    while chunk := handle.read(4096):
        stripped = chunk.lstrip()
        if stripped:
            handle.seek(start)
            return stripped[:1]
    handle.seek(start)
    return b""


class FileSource(Source):
    config_model = FileSourceConfig
    platform = "file"
    config: FileSourceConfig

    def files(self) -> list[Path]:
        root = Path(self.config.path).expanduser()
        if root.is_dir():
            ext = self.config.file_extension
            every = ext in ("", ".*", "*")
            return sorted(p for p in root.rglob("*") if p.is_file() and (every or p.name.endswith(ext)))
        if not root.is_file():
            raise ConnectionFailure(f"file source: {root} is neither a file nor a directory")
        return [root]

    def check(self) -> None:
        self.files()

    def extract(self) -> Iterator[McpRecord]:
        for path in self.files():
            self.report.count("files read")
            self.report.count("bytes read", path.stat().st_size)
            yield from self.read(path)

    def read(self, path: Path) -> Iterator[McpRecord]:
        with open(path, "rb") as handle:
            if first_byte(handle) == b"[":
                yield from self._array(path, handle)
            else:
                yield from self._lines(path, handle)

    def _array(self, path: Path, handle) -> Iterator[McpRecord]:
        number = 0
        try:
            for number, obj in enumerate(ijson.items(handle, "item", use_float=True), 1):
                yield from self._records(obj, f"{path}: record {number}")
        except ijson.JSONError as exc:
            self.report.fail(f"{path}: record {number + 1} (near byte {handle.tell()}): not valid JSON ({exc}); "
                             "the rest of the file is not read")

    def _lines(self, path: Path, handle) -> Iterator[McpRecord]:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                self.report.fail(f"{path}: line {number}: not valid JSON ({exc})")
                continue
            yield from self._records(obj, f"{path}: line {number}")

    def _records(self, obj, where: str) -> Iterator[McpRecord]:
        self.report.count("records read")
        try:
            mcps = list(record_mcps(obj))
        except BadRecord as exc:
            self.report.fail(f"{where}: {exc}; skipped")
            self.report.count("bad records")
            return
        for mcp in mcps:
            if self.config.aspect is not None and mcp["aspectName"] != self.config.aspect:
                continue
            yield McpRecord(mcp=mcp)
