"""DataHub's `datahub-rest` sink: MCPs to a DataHub server or the local metadata service over REST.

The config keys are DataHub's own, so a recipe written for `datahub ingest` works unchanged; the
`retry_backoff_*` and `max_batch_bytes` keys are ours. Only proposals the server acknowledged are
acknowledged to the run, so state never advances past what the server holds.
"""

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ..core.plugin import PluginConfig
from ..emitter import DEFAULT_MAX_BATCH_BYTES, DEFAULT_RETRY_STATUS_CODES, RestEmitter
from .emitting import EmittingSink


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


class RestSink(EmittingSink):
    config_model = RestSinkConfig
    config: RestSinkConfig
    emitter: RestEmitter | None = None

    def new_emitter(self) -> RestEmitter:
        c = self.config
        return RestEmitter(
            c.server, c.token, mode=c.mode, timeout_sec=c.timeout_sec, retry_max_times=c.retry_max_times,
            retry_status_codes=c.retry_status_codes, retry_backoff_seconds=c.retry_backoff_seconds,
            retry_backoff_max_seconds=c.retry_backoff_max_seconds, max_threads=c.max_threads,
            max_per_batch=c.max_per_batch, max_batch_bytes=c.max_batch_bytes,
            disable_ssl_verification=c.disable_ssl_verification, ca_certificate_path=c.ca_certificate_path,
            extra_headers=c.extra_headers, on_result=self.on_result,
        )

    def count_stats(self, stats) -> None:
        self.report.count("requests", stats.requests)
        self.report.count("retries", stats.retries)
        if stats.splits:
            self.report.count("batches split (413)", stats.splits)
        super().count_stats(stats)
