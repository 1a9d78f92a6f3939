"""The embedded metadata store as a sink: batches of MCPs, one transaction each."""

from itertools import islice

from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from ..core.errors import SinkFailure, first_line
from ..core.plugin import PluginConfig, Sink
from ..core.secrets import redact
from ..store.lite import LiteStore


class LiteSinkConfig(PluginConfig):
    url: str | None = Field(default=None, description="SQLAlchemy URL of the store; default ~/.ingest_assets/lite.db.")
    batch_size: int = Field(default=2000, ge=1)


class LiteSink(Sink):
    config_model = LiteSinkConfig
    config: LiteSinkConfig
    store: LiteStore | None = None

    def check(self) -> None:
        self.store = LiteStore(self.config.url)

    def write(self, mcps, ack) -> None:
        if self.store is None:
            self.check()
        iterator = iter(mcps)
        while batch := list(islice(iterator, self.config.batch_size)):
            try:
                self.store.upsert_many(batch)
            except SQLAlchemyError as exc:
                message = redact(first_line(exc))
                raise SinkFailure(f"metadata store {self.store.display_url} refused a batch of {len(batch)}: {message}") from None
            for mcp in batch:
                ack(mcp)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
