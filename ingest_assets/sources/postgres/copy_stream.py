"""One catalog query streamed as `COPY (query) TO STDOUT`: a single statement however many rows, in bounded memory.

psycopg2 buffers a plain query's whole result in the client, and a server-side cursor costs a FETCH per chunk;
COPY hands rows over as the server produces them, one statement in all. A background thread runs it and
parses COPY's text format into tuples of str (None for NULL); a bounded queue of chunks holds back the server
when the consumer is busy. `peek()`/`take(key)` let the merge-join pull the rows of one (schema, name) at a time.
"""

import queue
import re
import threading
from collections.abc import Callable

_END = object()
_ESCAPE = re.compile(r"\\(.)")
_ESCAPED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _field(text: str) -> str | None:
    if text == "\\N":
        return None
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: _ESCAPED.get(m.group(1), m.group(1)), text)


class _Stopped(Exception):
    """Raised inside COPY's write callback to abandon a stream the consumer closed."""


class _RowWriter:
    """The file object COPY writes into: whole lines become rows, rows become chunks on the queue."""

    def __init__(self, stream: "CopyStream"):
        self._stream = stream
        self._partial = b""
        self._rows: list = []

    def write(self, data: bytes) -> None:
        if self._stream._stop.is_set():
            raise _Stopped()
        if isinstance(data, str):
            data = data.encode("utf-8")
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self._rows.append(tuple(_field(f) for f in line.decode("utf-8").split("\t")))
        if len(self._rows) >= self._stream._chunk:
            self.flush()

    def flush(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            self._stream._deliver(rows)


class CopyStream:
    """`sql` (a SELECT, parameters already bound) streamed from a connection that `open_connection` gives;
    `prepare` turns each chunk into what the consumer reads (called in the stream's thread, with None at the end)."""

    def __init__(self, open_connection: Callable, sql: str, count: Callable[[], None],
                 prepare: Callable[[list | None], list] | None = None, chunk: int = 500, ahead: int = 4):
        self._open_connection = open_connection
        self._sql = sql
        self._count = count
        self._prepare = prepare
        self._chunk = chunk
        self._queue: queue.Queue = queue.Queue(maxsize=ahead)
        self._rows: list = []
        self._index = 0
        self._done = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _deliver(self, rows: list) -> None:
        if self._prepare is not None:
            rows = self._prepare(rows)
        if rows:
            self._queue.put(rows)

    def _run(self) -> None:
        try:
            connection = self._open_connection()
            try:
                writer = _RowWriter(self)
                with connection.cursor() as cursor:
                    self._count()
                    cursor.copy_expert(f"COPY ({self._sql}) TO STDOUT", writer, size=65536)
                writer.flush()
                if self._prepare is not None:
                    tail = self._prepare(None)
                    if tail:
                        self._queue.put(tail)
            finally:
                connection.close()
            self._queue.put(_END)
        except _Stopped:
            self._queue.put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it in the main thread
            self._queue.put(exc)

    def _next_chunk(self) -> bool:
        item = self._queue.get()
        if item is _END:
            self._done = True
            return False
        if isinstance(item, BaseException):
            self._done = True
            raise item
        self._rows, self._index = item, 0
        return True

    def peek(self):
        while self._index >= len(self._rows):
            if self._done or not self._next_chunk():
                return None
        return self._rows[self._index]

    def take(self, key: tuple) -> list:
        """The rows for `key` (their first len(key) fields), skipping rows that sort before it (gone meanwhile)."""
        found = []
        width = len(key)
        while True:
            row = self.peek()
            if row is None:
                return found
            row_key = row[:width]
            if row_key > key:
                return found
            self._index += 1
            if row_key == key:
                found.append(row)

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass


class NoRows:
    """Stands in for a stream that has nothing to say (views not wanted, no procedure in scope)."""

    def peek(self):
        return None

    def take(self, key: tuple) -> list:
        return []

    def close(self) -> None:
        pass
