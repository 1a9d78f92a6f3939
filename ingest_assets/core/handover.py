"""Stage hand-over files: one record per line (bytes: JSON as orjson writes it; see `MCP.to_line` for mcps.jsonl),
written under a temporary name and renamed once complete."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def write_lines(path: Path):
    """Yield a `write(line)` callable; the file appears under its name only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb", buffering=1 << 20) as handle:
        def write(line: bytes) -> None:
            handle.write(line)
            handle.write(b"\n")

        try:
            yield write
        except BaseException:
            handle.close()
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(path)


def read_lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb", buffering=1 << 20) as handle:
        for line in handle:
            if line.strip():
                yield line
