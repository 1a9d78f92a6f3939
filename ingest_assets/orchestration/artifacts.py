"""Stage hand-over files on a local disk or on object storage.

Local paths are used as they are (the fast path). A base that is a URL (`s3://`, `gs://`,
`memory://`, ...) goes through universal_pathlib: a step downloads the files it reads into a
scratch directory, runs the stage there and uploads what it wrote, reports included, even when
the stage failed. Files are copied as streams, so memory stays bounded.
"""

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..stages import RunFiles

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_CHUNK = 1 << 20


def is_remote(base: str) -> bool:
    return bool(_URL.match(base or "")) and not base.startswith("file://")


def remote_directory(base: str, pipeline: str, partition: str | None):
    from upath import UPath

    directory = UPath(base) / pipeline
    return directory / "partitions" / partition if partition else directory


def _copy(source, target) -> None:
    with source.open("rb") as reader, target.open("wb") as writer:
        shutil.copyfileobj(reader, writer, _CHUNK)


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@contextmanager
def staged_files(base: str, pipeline: str, partition: str | None) -> Iterator[RunFiles]:
    """The RunFiles a stage works on.

    With a remote base every file of the pipeline's (partition's) directory is downloaded first
    and every file the stage created or changed is uploaded afterwards, so a stage may add
    hand-over files without this module knowing their names.
    """
    if not is_remote(base):
        local_base = Path(base.removeprefix("file://")) if base else None
        yield RunFiles.for_pipeline(pipeline, local_base, partition)
        return
    remote = remote_directory(base, pipeline, partition)
    with tempfile.TemporaryDirectory(prefix="ingest-stage-") as scratch:
        files = RunFiles(Path(scratch))
        if remote.exists():
            for entry in remote.iterdir():
                if entry.is_file():
                    _copy(entry, files.directory / entry.name)
        before = {p.name: _signature(p) for p in files.directory.iterdir() if p.is_file()}
        try:
            yield files
        finally:
            remote.mkdir(parents=True, exist_ok=True)
            for path in sorted(files.directory.iterdir()):
                if path.is_file() and not path.name.endswith(".tmp") and before.get(path.name) != _signature(path):
                    _copy(path, remote / path.name)
