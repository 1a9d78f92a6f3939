"""One catalog query streamed as `COPY (query) TO STDOUT`: a single statement however many rows, in bounded memory.

psycopg2 buffers a plain query's whole result in the client, and a server-side cursor costs a FETCH per chunk;
COPY hands rows over as the server produces them, one statement in all. A background thread runs it and
parses COPY's text format into tuples of str (None for NULL); a bounded queue of chunks holds back the server
when the consumer is busy. `peek()`/`take(key)` let the merge-join pull the rows of one (schema, name) at a time.
"""

import re
from collections.abc import Callable

from ..row_stream import NoRows, SortedRowStream, Stopped

_ESCAPE = re.compile(r"\\(.)")
_ESCAPED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _field(text: str) -> str | None:
    if text == "\\N":
        return None
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: _ESCAPED.get(m.group(1), m.group(1)), text)


class _RowWriter:
    """The file object COPY writes into: whole lines become rows, rows become chunks on the queue."""

    def __init__(self, stream: "CopyStream"):
        self._stream = stream
        self._partial = b""
        self._rows: list = []
        self.count = 0
        self.last: tuple | None = None

    def write(self, data: bytes) -> None:
        if self._stream.stopped:
            raise Stopped()
        if isinstance(data, str):
            data = data.encode("utf-8")
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self.last = tuple(_field(f) for f in line.decode("utf-8").split("\t"))
            self._rows.append(self.last)
        self.count += len(lines)
        if len(self._rows) >= self._stream._chunk:
            self.flush()

    def flush(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            self._stream._deliver(rows)  # noqa: SLF001 (the stream's own writer)


class CopyStream(SortedRowStream):
    """`sql` (a SELECT, parameters already bound) streamed from a connection that `open_connection` gives;
    `prepare` turns each chunk into what the consumer reads (called in the stream's thread, with None at the end)."""

    def __init__(self, open_connection: Callable, sql: str, count: Callable[[], None],
                 prepare: Callable[[list | None], list] | None = None, chunk: int = 500, ahead: int = 4):
        super().__init__(prepare, ahead)
        self._open_connection = open_connection
        self._sql = sql
        self._count = count
        self._chunk = chunk
        self.start()

    def _produce(self) -> None:
        connection = self._open_connection()
        try:
            writer = _RowWriter(self)
            with connection.cursor() as cursor:
                self._count()
                cursor.copy_expert(f"COPY ({self._sql}) TO STDOUT", writer, size=65536)
            writer.flush()
        finally:
            connection.close()


class PagedCopyStream(CopyStream):
    """`query` run page by page, each page the `page_size` rows after the last one read (its first two fields),
    one statement a page: for catalog functions that lock what they read. `pg_get_viewdef` holds a lock on each
    view until its statement ends, and one statement over the 5,000 views of a 50,000-table catalog runs out of
    the server's lock table ("out of shared memory"). `query` takes `%(after_schema)s`, `%(after_name)s` and
    `%(page_size)s` besides `params`."""

    def __init__(self, open_connection: Callable, query: str, params: dict, page_size: int, count: Callable[[], None],
                 prepare: Callable[[list | None], list] | None = None, chunk: int = 500, ahead: int = 4):
        self._query, self._params, self._page_size = query, params, page_size
        super().__init__(open_connection, "", count, prepare, chunk, ahead)

    def _produce(self) -> None:
        connection = self._open_connection()
        try:
            after = ("", "")
            while not self.stopped:
                writer = _RowWriter(self)
                with connection.cursor() as cursor:
                    sql = cursor.mogrify(self._query, {**self._params, "page_size": self._page_size,
                                                       "after_schema": after[0], "after_name": after[1]})
                    self._count()
                    cursor.copy_expert(f"COPY ({sql.decode('utf-8')}) TO STDOUT", writer, size=65536)
                writer.flush()
                if writer.count < self._page_size:
                    return
                after = writer.last[:2]
        finally:
            connection.close()


__all__ = ["CopyStream", "NoRows", "PagedCopyStream"]
