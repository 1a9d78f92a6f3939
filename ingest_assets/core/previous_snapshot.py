"""The previous run's view records, looked up by table: what a source may carry over instead of computing it again.

A view's lineage costs a SQL parse (about 1 ms a view in pure Python, most of an unchanged rerun's
CPU besides start-up). A source whose lineage is a function of the view's statement, its own code
and its config says so with `Source.carry_over_key()`; the snapshot stage writes that key beside
the snapshot (`snapshot.key`) and, when the next run has the same key, hands the source the previous
snapshot through this index. The source still compares the statement, so a view that changed is parsed again.

Only the byte offsets of view records stay in memory (about 200 bytes a view); a record is read
back from the file when asked for.
"""

import threading
from pathlib import Path

import orjson

from .records import DatasetRecord, record_from_json

_VIEW = b'"subtype":"View"'


class PreviousViews:
    def __init__(self, path: Path):
        self._path = path
        self._lock = threading.Lock()
        self._offsets: dict[tuple[str, str | None, str], int] | None = None
        self._handle = None

    def _index(self) -> dict[tuple[str, str | None, str], int]:
        offsets: dict[tuple[str, str | None, str], int] = {}
        self._handle = open(self._path, "rb")
        offset = 0
        for line in self._handle:
            if _VIEW in line:
                try:
                    table = orjson.loads(line)["table"]
                    offsets[(table["database"], table.get("schema_name"), table["name"])] = offset
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    pass  # not a record of ours: nothing to carry over from it
            offset += len(line)
        return offsets

    def view(self, database: str, schema: str | None, name: str) -> DatasetRecord | None:
        """The view's record in the previous snapshot, or None (not there, or the file is unreadable)."""
        with self._lock:
            try:
                if self._offsets is None:
                    self._offsets = self._index()
                offset = self._offsets.get((database, schema, name))
                if offset is None:
                    return None
                self._handle.seek(offset)
                record = record_from_json(self._handle.readline())
            except (OSError, ValueError):
                self._offsets = {}
                return None
        return record if isinstance(record, DatasetRecord) and record.subtype == "View" else None

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
