"""The push emitter: MCPs to a DataHub server (or the local metadata service) over REST.

Code that knows about metadata at the point of origin uses it directly
(`with RestEmitter(server, token) as emitter: emitter.emit(mcp)`); the `datahub-rest` sink uses it
for whole runs. What it guarantees, because a run's state may only advance on it:

- a proposal is reported acknowledged only after the server answered 2xx for it;
- 429, the retryable 5xx and dropped connections are retried with exponential backoff and jitter,
  honouring `Retry-After`; other 4xx are never retried and carry the server's message;
- batches stay under a byte limit as well as a count, and a 413 splits the batch and tries again;
- batches go out concurrently, but every URN always travels in the same lane, so the
  proposals of one entity reach the server in the order they were emitted.
"""

import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from queue import Queue
from typing import Literal

import orjson
import requests
from requests.adapters import HTTPAdapter

from .core.errors import ConnectionFailure, IngestError, first_line
from .core.mcp import MCP
from .core.secrets import redact, register

DEFAULT_RETRY_STATUS_CODES = (429, 500, 502, 503, 504)
DEFAULT_MAX_BATCH_BYTES = 15 * 1024 * 1024
BATCH_PATH = "/aspects?action=ingestProposalBatch"
SINGLE_PATH = "/aspects?action=ingestProposal"
_BATCH_OVERHEAD = len(b'{"proposals":[]}')

ResultCallback = Callable[[list[MCP], str | None], None]
"""Called once per group of proposals with None (acknowledged) or the reason they were not; calls never overlap."""


class EmitError(IngestError):
    """Some proposals were not acknowledged by the server."""

    exit_code = 1


@dataclass
class EmitStats:
    requests: int = 0
    retries: int = 0
    bytes_sent: int = 0
    splits: int = 0
    acknowledged: int = 0
    failed: int = 0


@dataclass
class _Outcome:
    ok: bool
    status: int | None = None
    message: str = ""


def _connection_reason(exc: Exception) -> str:
    """What went wrong with the connection, in a few words, from the exception chain."""
    seen, current = [], exc
    while current is not None and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__ or (current.args[0] if current.args and isinstance(current.args[0], BaseException) else None)
    for item in seen:
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, ConnectionResetError):
            return "connection reset by the server"
        if "NameResolution" in type(item).__name__ or "Name or service not known" in str(item):
            return "host name not found"
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    text = str(exc)
    if "RemoteDisconnected" in text or "closed connection without response" in text:
        return "the server closed the connection without answering"
    if "SSLError" in type(exc).__name__ or "SSL" in text[:200]:
        return "TLS handshake failed (see ca_certificate_path / disable_ssl_verification)"
    return first_line(exc)[:200]


def server_message(response: requests.Response) -> str:
    """The server's own explanation: GMS's `message` field, else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "detail", "error"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key][:500]
    text = (response.text or "").strip()
    if "<html" in text[:500].lower() or "<!doctype" in text[:500].lower():
        title = re.search(r"<title[^>]*>([^<]{1,120})", text, re.IGNORECASE)
        return f"a web page{f' titled {title.group(1).strip()!r}' if title else ''}, not DataHub's JSON"
    text = " ".join(text.split())  # one line, whatever the body's layout
    return text[:300] if text else (response.reason or "no message")


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from `Retry-After` (delta-seconds, fractional accepted, or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _Lane:
    """One worker thread with its own HTTP session; sends the batches of the URNs hashed to it, in order."""

    def __init__(self, emitter: "RestEmitter", index: int):
        self.emitter = emitter
        self.queue: Queue = Queue(maxsize=2)
        self.pending: list[tuple[MCP, bytes]] = []
        self.pending_bytes = _BATCH_OVERHEAD
        self.session = emitter._new_session()
        self.thread = threading.Thread(target=self._run, name=f"rest-emitter-{index}", daemon=True)
        self.thread.start()

    def submit(self) -> None:
        if self.pending:
            self.queue.put(self.pending)
            self.pending, self.pending_bytes = [], _BATCH_OVERHEAD

    def _run(self) -> None:
        while True:
            batch = self.queue.get()
            try:
                if batch is None:
                    return
                self.emitter._send_batch(self.session, batch)
            except Exception as exc:  # a bug must not hang flush(): report the batch as not acknowledged
                self.emitter._result([m for m, _ in batch], redact(f"{type(exc).__name__}: {exc}"))
            finally:
                self.queue.task_done()

    def stop(self) -> None:
        self.submit()
        self.queue.put(None)
        self.thread.join()
        self.session.close()


class RestEmitter:
    """Sends MCPs to `{server}/aspects`; see the module docstring for the guarantees.

    mode SYNC: `emit` sends one proposal now and returns once it is acknowledged (or raises).
    mode ASYNC_BATCH: `emit` queues the proposal; `flush()` (and leaving the `with` block) waits
    until everything queued was answered. `emit_many` always batches and waits.
    Without `on_result`, failures are collected and `flush()` raises EmitError listing them.
    """

    def __init__(
        self,
        server: str,
        token=None,
        *,
        mode: Literal["SYNC", "ASYNC_BATCH"] = "SYNC",
        timeout_sec: float = 30.0,
        retry_max_times: int = 4,
        retry_status_codes: Iterable[int] = DEFAULT_RETRY_STATUS_CODES,
        retry_backoff_seconds: float = 2.0,
        retry_backoff_max_seconds: float = 60.0,
        max_threads: int = 8,
        max_per_batch: int = 100,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        disable_ssl_verification: bool = False,
        ca_certificate_path: str | None = None,
        extra_headers: dict[str, str] | None = None,
        on_result: ResultCallback | None = None,
    ):
        if mode not in ("SYNC", "ASYNC_BATCH"):
            raise ValueError(f"mode must be SYNC or ASYNC_BATCH, not {mode!r}")
        self.server = server.rstrip("/")
        secret = token.get_secret_value() if hasattr(token, "get_secret_value") else token
        self._token = secret or None
        register(self._token)
        self.mode = mode
        self.timeout_sec = timeout_sec
        self.retry_max_times = retry_max_times
        self.retry_status_codes = frozenset(retry_status_codes)
        self.retry_backoff_seconds = retry_backoff_seconds
        self.retry_backoff_max_seconds = retry_backoff_max_seconds
        self.max_threads = max(1, max_threads)
        self.max_per_batch = max(1, max_per_batch)
        self.max_batch_bytes = max_batch_bytes
        self.verify = False if disable_ssl_verification else (ca_certificate_path or True)
        self.extra_headers = dict(extra_headers or {})
        self.on_result = on_result
        self.stats = EmitStats()
        self.failures: list[str] = []
        self.fatal: str | None = None
        """Set once the server is unusable (down after every retry, or refusing our token): later batches fail fast."""
        self._lock = threading.Lock()
        self._lanes: list[_Lane] = []
        self._session = self._new_session()

    def __repr__(self) -> str:
        return f"RestEmitter({self.server!r}, token={'set' if self._token else 'none'}, mode={self.mode})"

    # connection -------------------------------------------------------------------------------

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=2, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.verify = self.verify
        session.headers.update({
            "Content-Type": "application/json",
            "X-RestLi-Protocol-Version": "2.0.0",
            "User-Agent": "ingest-assets-rest-emitter",
        })
        session.headers.update(self.extra_headers)
        if self._token:
            session.headers["Authorization"] = f"Bearer {self._token}"
        return session

    def test_connection(self) -> dict:
        """GET /config: the server is up, takes our token and is a DataHub metadata service."""
        where = f"DataHub at {self.server}"
        try:
            response = self._session.get(f"{self.server}/config", timeout=self.timeout_sec)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ConnectionFailure(f"cannot reach {where}: {_connection_reason(exc)}") from None
        except requests.RequestException as exc:
            raise ConnectionFailure(redact(f"cannot reach {where}: {type(exc).__name__}: {exc}")) from None
        if response.status_code == 401:
            raise ConnectionFailure(f"{where} refused the request as unauthenticated (HTTP 401): "
                                    f"{'the token was not accepted' if self._token else 'set sink.config.token'}")
        if response.status_code == 403:
            raise ConnectionFailure(f"{where} refused the request (HTTP 403): the token lacks the privilege to read /config")
        if response.status_code != 200:
            raise ConnectionFailure(redact(f"{where} answered GET /config with HTTP {response.status_code}: "
                                           f"{server_message(response)}; is this a DataHub metadata service (GMS)?"))
        try:
            config = response.json()
        except ValueError:
            config = None
        if not isinstance(config, dict) or config.get("noCode") != "true":
            web_page = "<html" in response.text[:500].lower()
            hint = " (it answered with a web page; if that is DataHub's frontend, use its /api/gms path or GMS itself, " \
                "usually port 8080)" if web_page else ""
            raise ConnectionFailure(f"{self.server} is not a DataHub metadata service: GET /config did not answer "
                                    f"with noCode=true{hint}")
        return config

    # sending ----------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.retry_backoff_max_seconds, self.retry_backoff_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _post(self, session: requests.Session, path: str, body: bytes) -> _Outcome:
        attempt = 0
        while True:
            if self.fatal:
                return _Outcome(False, None, f"not sent: {self.fatal}")
            wait = None
            try:
                response = session.post(f"{self.server}{path}", data=body, timeout=self.timeout_sec)
            except (requests.ConnectionError, requests.Timeout) as exc:
                status, retryable = None, True
                message = f"cannot reach DataHub at {self.server}: {_connection_reason(exc)}"
            else:
                with self._lock:
                    self.stats.requests += 1
                    self.stats.bytes_sent += len(body)
                status = response.status_code
                if status < 300:
                    response.close()
                    return _Outcome(True, status)
                message = redact(f"HTTP {status}: {server_message(response)}")
                retryable = status in self.retry_status_codes
                wait = _retry_after(response) if retryable else None
                response.close()
            if status in (401, 403):
                self._set_fatal(f"DataHub at {self.server} refused our credentials ({message})")
                return _Outcome(False, status, message)
            if not retryable:
                return _Outcome(False, status, message)
            if attempt >= self.retry_max_times:
                self._set_fatal(f"{message} (still failing after {attempt} retries)")
                return _Outcome(False, status, f"{message} (after {attempt} retries)")
            attempt += 1
            with self._lock:
                self.stats.retries += 1
            delay = wait if wait is not None else self._backoff(attempt)
            time.sleep(min(delay, self.retry_backoff_max_seconds))

    def _set_fatal(self, message: str) -> None:
        with self._lock:
            if self.fatal is None:
                self.fatal = message

    def _result(self, mcps: list[MCP], error: str | None) -> None:
        with self._lock:
            if error is None:
                self.stats.acknowledged += len(mcps)
            else:
                self.stats.failed += len(mcps)
                if self.on_result is None and len(self.failures) < 50:
                    self.failures.append(f"{len(mcps)} proposal(s) from {mcps[0].entity_urn} {mcps[0].aspect_name}: {error}")
            if self.on_result is not None:
                self.on_result(mcps, error)

    def _send_batch(self, session: requests.Session, batch: list[tuple[MCP, bytes]]) -> None:
        body = b'{"proposals":[' + b",".join(payload for _, payload in batch) + b"]}"
        outcome = self._post(session, BATCH_PATH, body)
        if outcome.ok:
            self._result([m for m, _ in batch], None)
        elif outcome.status == 413 and len(batch) > 1:
            with self._lock:
                self.stats.splits += 1
            half = len(batch) // 2
            self._send_batch(session, batch[:half])
            self._send_batch(session, batch[half:])
        elif outcome.status == 413:
            self._result([batch[0][0]], f"{outcome.message} (one proposal of {len(body):,} bytes is over the server's limit)")
        else:
            self._result([m for m, _ in batch], outcome.message)

    @staticmethod
    def _payload(mcp: MCP) -> bytes:
        return orjson.dumps(mcp.to_rest_obj())

    def _enqueue(self, mcp: MCP) -> None:
        if not self._lanes:
            self._lanes = [_Lane(self, i) for i in range(self.max_threads)]
        # a copy: orjson's bytes keep the buffer grown for escaping the aspect string (about 8 times the
        # payload), and a queued payload waits in its lane for up to three batches
        payload = bytes(memoryview(self._payload(mcp)))
        lane = self._lanes[zlib.crc32(mcp.entity_urn.encode("utf-8")) % len(self._lanes)]
        size = len(payload) + 1
        if lane.pending and (len(lane.pending) >= self.max_per_batch or lane.pending_bytes + size > self.max_batch_bytes):
            lane.submit()
        lane.pending.append((mcp, payload))
        lane.pending_bytes += size

    def emit(self, mcp: MCP) -> None:
        """SYNC: send now (raises EmitError without `on_result`); ASYNC_BATCH: queue for the next batch."""
        if self.mode == "ASYNC_BATCH":
            self._enqueue(mcp)
            return
        body = b'{"proposal":' + self._payload(mcp) + b"}"
        outcome = self._post(self._session, SINGLE_PATH, body)
        self._result([mcp], None if outcome.ok else outcome.message)
        if not outcome.ok and self.on_result is None:
            raise EmitError(f"{mcp.entity_urn} {mcp.aspect_name} was not accepted: {outcome.message}")

    def emit_many(self, mcps: Iterable[MCP]) -> EmitStats:
        """Send all of them in concurrent batches and wait for every answer."""
        for mcp in mcps:
            self._enqueue(mcp)
        self.flush()
        return self.stats

    def flush(self) -> None:
        """Wait until every queued proposal was answered; without `on_result`, raise if any was refused."""
        for lane in self._lanes:
            lane.submit()
        for lane in self._lanes:
            lane.queue.join()
        if self.on_result is None and self.failures:
            failures, self.failures = self.failures, []
            more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
            raise EmitError(f"{self.server} did not accept every proposal: " + "; ".join(failures[:5]) + more)

    def close(self) -> None:
        """Send what is still queued, then stop the workers."""
        lanes, self._lanes = self._lanes, []
        for lane in lanes:
            lane.stop()
        self._session.close()

    def __enter__(self) -> "RestEmitter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.close()
