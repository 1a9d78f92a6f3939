"""A status line per stage while `ingest-assets ingest` runs in a terminal: records read, MCPs built, MCPs
acknowledged, with rates. It watches the hand-over files grow (only the bytes added since its last look), so no
stage knows about it; with no terminal it does nothing."""

import os
import sys
import threading
import time
from pathlib import Path

_WATCHED = (("snapshot", "records read"), ("mcps", "MCPs built"), ("sink.acknowledged", "MCPs acknowledged"))


class _Tail:
    """Counts the lines of a growing hand-over file, reading each byte once.

    Stages write `<name>.jsonl.<pid>.tmp` and rename it into place when done (this process runs them), so the
    count follows the temporary file and, once it is renamed, the rest of the same bytes under the final name;
    a file that is appended to in place (the sink's acknowledgements) is followed from its size at the start."""

    def __init__(self, path: Path, pid: int):
        self.path = path
        self.tmp = path.with_name(f"{path.name}.{pid}.tmp")
        self.offset = 0
        self.lines = 0
        self.follows_tmp = True
        self.tmp_seen = False
        self.earlier: tuple | None = None

    def start(self, appended_in_place: bool) -> None:
        self.follows_tmp = not appended_in_place
        self.offset = self.path.stat().st_size if appended_in_place and self.path.exists() else 0
        self.earlier = self._identity()

    def _identity(self) -> tuple | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def count(self) -> int:
        if self.follows_tmp and not self.tmp_seen:
            if not self.tmp.exists() and self._identity() == self.earlier:
                return self.lines  # the stage has not started: the final name still holds the last run's file
            self.tmp_seen = True
        path = self.tmp if self.follows_tmp and self.tmp.exists() else self.path
        try:
            with open(path, "rb") as handle:
                handle.seek(self.offset)
                while chunk := handle.read(1 << 20):
                    self.lines += chunk.count(b"\n")
                    self.offset += len(chunk)
        except FileNotFoundError:  # renamed between the look and the open: the next look reads the final name
            pass
        return self.lines


class TerminalProgress:
    """`with TerminalProgress(directory):` redraws one line on stderr every `interval` seconds, when stderr is a terminal."""

    def __init__(self, directory: Path, interval: float = 0.5, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.interval = interval
        self.tails = [(label, _Tail(directory / f"{name}.jsonl", os.getpid())) for name, label in _WATCHED]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> "TerminalProgress":
        if self.enabled:
            for label, tail in self.tails:  # what an earlier run left is not this run's progress
                tail.start(appended_in_place=tail.path.name == "sink.acknowledged.jsonl")
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        parts = [f"{label} {tail.count():,} ({tail.lines / elapsed:,.0f}/s)" for label, tail in self.tails if tail.count()]
        return f"[ingest] {' · '.join(parts) or 'starting'} · {elapsed:.0f} s"

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.stream.write("\r\x1b[2K" + self.line())
            self.stream.flush()
