"""A catalog query's rows, sorted by object, fetched by a background thread: the consumer's side, shared by the SQL
sources. The server works on every stream of a run at once; a bounded queue of chunks holds back the thread when
the consumer is busy, so memory stays flat; `peek()`/`take(key)` let a merge-join pull one object's rows at a time.
Each platform says only how its rows are fetched (`_produce`)."""

import queue
import threading
from collections.abc import Callable

_END = object()


class Stopped(Exception):
    """Raised inside `_produce` to abandon a stream its consumer closed."""


class SortedRowStream:
    """`_produce` (in the thread) hands chunks of rows to `_deliver`; `prepare` turns each chunk into what the
    consumer reads (in the thread too), and is called with None once the rows are done, for what it held back."""

    def __init__(self, prepare: Callable[[list | None], list] | None = None, ahead: int = 4):
        self._prepare = prepare
        self._queue: queue.Queue = queue.Queue(maxsize=ahead)
        self._rows: list = []
        self._index = 0
        self._done = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "SortedRowStream":
        self._thread.start()
        return self

    def _produce(self) -> None:
        raise NotImplementedError

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _deliver(self, rows: list) -> None:
        if self._prepare is not None:
            rows = self._prepare(rows)
        if rows:
            self._queue.put(rows)

    def _run(self) -> None:
        try:
            self._produce()
            if self._prepare is not None and not self._stop.is_set():
                tail = self._prepare(None)
                if tail:
                    self._queue.put(tail)
            self._queue.put(_END)
        except Stopped:
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
    """Stands in for a stream that has nothing to say (nothing in scope holds such objects)."""

    def peek(self):
        return None

    def take(self, key: tuple) -> list:
        return []

    def close(self) -> None:
        pass
