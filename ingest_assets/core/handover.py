"""Stage hand-over files: JSON Lines written to a temporary name and renamed once complete."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def write_lines(path: Path):
    """Yield a `write(line)` callable; the file appears under its name only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", buffering=1 << 20) as handle:
        def write(line: str) -> None:
            handle.write(line)
            handle.write("\n")

        try:
            yield write
        except BaseException:
            handle.close()
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(path)


def read_lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", buffering=1 << 20) as handle:
        for line in handle:
            if line.strip():
                yield line
