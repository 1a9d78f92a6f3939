"""DataHub's file format: one JSON array of MCPs with `{"json": ...}` aspects, written as a stream."""

import os
from pathlib import Path

from pydantic import Field

from ..core.errors import ConnectionFailure
from ..core.plugin import PluginConfig, Sink


class FileSinkConfig(PluginConfig):
    filename: str = Field(description="Where to write the JSON array of MCPs.")


class FileSink(Sink):
    """Writes to a temporary name and renames at the end, so the file appears whole or not at all."""

    config_model = FileSinkConfig
    atomic = True
    config: FileSinkConfig

    def check(self) -> None:
        target = Path(self.config.filename)
        directory = target.parent if str(target.parent) else Path(".")
        if target.is_dir():
            raise ConnectionFailure(f"file sink: {target} is a directory, expected a file name")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConnectionFailure(f"file sink: cannot create {directory}: {exc.strerror}") from None
        if not os.access(directory, os.W_OK):
            raise ConnectionFailure(f"file sink: {directory} is not writable")

    def write(self, mcps, ack) -> None:
        target = Path(self.config.filename)
        tmp = target.with_name(target.name + ".tmp")
        written = 0
        with open(tmp, "wb", buffering=1 << 20) as handle:
            handle.write(b"[")
            for mcp in mcps:
                handle.write(b",\n" if written else b"\n")
                handle.write(mcp.to_file_json())
                written += 1
                ack(mcp)
            handle.write(b"\n]\n" if written else b"]\n")
        tmp.replace(target)
        self.report.count("bytes written", target.stat().st_size)
