"""A real HTTP server in front of the metadata service that misbehaves for a share of POSTs.

Kinds of fault, each costing the client exactly one retry: `500`, `429` (with `Retry-After`),
`drop` (connection closed before forwarding), `drop_after` (forwarded, so the store has it, then
closed without an answer), `timeout` (forwarded, answered after the client gave up; once). `slow`
answers late but in time and costs no retry. A batch is faulted on its first two attempts at most,
so a run always gets through; `down` makes every POST fail until it is cleared.
"""

import hashlib
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

RETRY_KINDS = ("500", "429", "drop", "drop_after", "timeout")


class FaultProxy:
    def __init__(self, upstream: str, *, share: float = 0.35, retry_after: float = 0.25, slow: float = 0.15,
                 client_timeout: float = 1.0, seed: int = 7):
        self.upstream = upstream.rstrip("/")
        self.share, self.retry_after, self.slow, self.client_timeout = share, retry_after, slow, client_timeout
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.faults: Counter = Counter()
        self.attempts: Counter = Counter()
        self.throttled_at: dict[str, float] = {}
        self.waits_after_429: list[float] = []
        self.forced = list(RETRY_KINDS) + ["slow"]
        self.down: str | None = None
        """'503' or 'drop': every POST fails that way."""
        self.passed = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def retry_faults(self) -> int:
        return sum(self.faults[kind] for kind in RETRY_KINDS)

    def _decide(self, key: str) -> str | None:
        with self.lock:
            now = time.monotonic()
            if key in self.throttled_at:
                self.waits_after_429.append(now - self.throttled_at.pop(key))
            attempt = self.attempts[key]
            self.attempts[key] += 1
            if self.down:
                kind = self.down
            elif attempt == 0 and self.forced:
                kind = self.forced.pop(0)
            elif attempt < 2 and self.rng.random() < self.share:
                kind = self.rng.choice(("500", "429", "drop", "drop_after", "slow"))  # one timeout (forced) is enough
            else:
                kind = None
            if kind:
                self.faults[kind] += 1
            if kind == "429":
                self.throttled_at[key] = now
            return kind

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _forward(self, method: str, body: bytes | None) -> tuple[int, bytes]:
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "authorization", "x-restli-protocol-version")}
                response = requests.request(method, proxy.upstream + self.path, data=body, headers=headers, timeout=30)
                return response.status_code, response.content

            def _drop(self) -> None:
                self.close_connection = True
                self.connection.shutdown(2)

            def do_GET(self):
                self._answer(*self._forward("GET", None))

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                kind = proxy._decide(hashlib.sha256(body).hexdigest())
                if kind in ("500", "503"):
                    self._answer(int(kind), b'{"message":"injected server error","status":%s}' % kind.encode())
                elif kind == "429":
                    self._answer(429, b'{"message":"slow down","status":429}', {"Retry-After": str(proxy.retry_after)})
                elif kind == "drop":
                    self._drop()
                elif kind == "drop_after":
                    self._forward("POST", body)
                    self._drop()
                elif kind == "timeout":
                    status, content = self._forward("POST", body)
                    time.sleep(proxy.client_timeout + 0.3)
                    try:
                        self._answer(status, content)
                    except OSError:
                        pass
                    self.close_connection = True
                else:
                    if kind == "slow":
                        time.sleep(proxy.slow)
                    self._answer(*self._forward("POST", body))
                    with proxy.lock:
                        proxy.passed += 1

        return Handler
