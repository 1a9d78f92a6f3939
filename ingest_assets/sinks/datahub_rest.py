"""DataHub's `datahub-rest` sink: MCPs to a DataHub server or the local metadata service over REST.

The config keys are DataHub's own, so a recipe written for `datahub ingest` works unchanged; the
`retry_backoff_*` and `max_batch_bytes` keys are ours. Only proposals the server acknowledged are
acknowledged to the run, so state never advances past what the server holds.
"""

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ..core.errors import SinkFailure
from ..core.plugin import PluginConfig, Sink
from ..emitter import DEFAULT_MAX_BATCH_BYTES, DEFAULT_RETRY_STATUS_CODES, RestEmitter


class RestSinkConfig(PluginConfig):
    server: str = Field(default="http://localhost:8080", description="DataHub GMS (or the local metadata service) base URL.")
    token: SecretStr | None = Field(default=None, description="Personal access token, sent as a Bearer token.")
    timeout_sec: float = Field(default=30.0, gt=0)
    retry_max_times: int = Field(default=4, ge=0)
    retry_status_codes: list[int] = Field(default_factory=lambda: list(DEFAULT_RETRY_STATUS_CODES))
    max_threads: int = Field(default=8, ge=1, le=64)
    mode: Literal["SYNC", "ASYNC_BATCH"] = "ASYNC_BATCH"
    max_per_batch: int = Field(default=100, ge=1)
    max_batch_bytes: int = Field(default=DEFAULT_MAX_BATCH_BYTES, ge=1024, description="Ours: byte limit of one batch request.")
    disable_ssl_verification: bool = False
    ca_certificate_path: str | None = None
    extra_headers: dict[str, str] = Field(default_factory=dict)
    retry_backoff_seconds: float = Field(default=2.0, ge=0, description="Ours: first retry delay; doubles per attempt, with jitter.")
    retry_backoff_max_seconds: float = Field(default=60.0, ge=0, description="Ours: ceiling of one retry delay.")

    @field_validator("server")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"an http:// or https:// URL such as http://localhost:8080 (found {value!r})")
        return value.rstrip("/")

    @field_validator("token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value):
        return None if value in ("", None) else value


class RestSink(Sink):
    config_model = RestSinkConfig
    config: RestSinkConfig
    emitter: RestEmitter | None = None

    def __init__(self, config: RestSinkConfig, report):
        super().__init__(config, report)
        self._ack = lambda mcp: None

    def _emitter(self) -> RestEmitter:
        c = self.config
        return RestEmitter(
            c.server, c.token, mode=c.mode, timeout_sec=c.timeout_sec, retry_max_times=c.retry_max_times,
            retry_status_codes=c.retry_status_codes, retry_backoff_seconds=c.retry_backoff_seconds,
            retry_backoff_max_seconds=c.retry_backoff_max_seconds, max_threads=c.max_threads,
            max_per_batch=c.max_per_batch, max_batch_bytes=c.max_batch_bytes,
            disable_ssl_verification=c.disable_ssl_verification, ca_certificate_path=c.ca_certificate_path,
            extra_headers=c.extra_headers, on_result=self._on_result,
        )

    def check(self) -> None:
        self.emitter = self._emitter()
        self.emitter.test_connection()

    def _on_result(self, mcps, error: str | None) -> None:
        """One request's outcome. Its acknowledgements are made durable together (the sink stage's `ack.flush`,
        when it has one), so a run killed later re-sends none of what this request delivered."""
        if error is None:
            for mcp in mcps:
                self._ack(mcp)
            flush = getattr(self._ack, "flush", None)
            if flush is not None:
                flush()
            return
        for mcp in mcps:
            self.report.fail(f"{mcp.entity_urn} {mcp.aspect_name}: {error}")

    def write(self, mcps, ack) -> None:
        self._ack = ack
        emitter = self.emitter  # opened by check(), which the sink stage calls first
        sent = 0
        try:
            for mcp in mcps:
                if emitter.fatal:
                    break
                emitter.emit(mcp)
                sent += 1
            emitter.flush()
        finally:
            stats = emitter.stats
            self.report.count("requests", stats.requests)
            self.report.count("retries", stats.retries)
            self.report.count("bytes sent", stats.bytes_sent)
            if stats.splits:
                self.report.count("batches split (413)", stats.splits)
            if stats.failed:
                self.report.count("failed", stats.failed)
        if emitter.fatal:
            raise SinkFailure(f"{emitter.fatal}; the run stopped after {sent:,} MCPs read, {stats.acknowledged:,} acknowledged")

    def close(self) -> None:
        if self.emitter is not None:
            self.emitter.close()
