"""DataHub's `datahub-kafka` sink: MCPs to the MCP topic, for `ingest-assets consume` or DataHub's own MCP consumer.

The config keys are DataHub's own (`connection.bootstrap`, `connection.schema_registry_url`,
`connection.schema_registry_config`, `connection.producer_config`, `topic_routes`), so a recipe written
for `datahub ingest` works unchanged. Only proposals with a delivery report are acknowledged to the
run, and each poll's acknowledgements are made durable together, as the REST sink does per request:
state never advances past what the topic holds.
"""

from pydantic import Field, field_validator

from ..core.errors import SinkFailure
from ..core.mcp_avro import MCE_TOPIC, MCP_TOPIC
from ..core.plugin import PluginConfig, Sink, inert
from ..emitter import EmitError
from ..emitter_kafka import KafkaEmitter

MCP_ROUTE, MCE_ROUTE = "MetadataChangeProposal", "MetadataChangeEvent"


class KafkaConnectionConfig(PluginConfig):
    bootstrap: str = Field(default="localhost:9092", description="Kafka bootstrap servers, host:port[,host:port...].")
    schema_registry_url: str = Field(default="http://localhost:8080/schema-registry/api/",
                                     description="Confluent-compatible registry; `ingest-assets serve` (and DataHub's GMS) serve one here.")
    schema_registry_config: dict = Field(default_factory=dict, description="Passed to confluent-kafka's SchemaRegistryClient.")
    producer_config: dict = Field(default_factory=dict, description="librdkafka producer settings, over ours "
                                  "(idempotence, acks=all, lz4, a 60 s delivery timeout).")
    client_timeout_seconds: int = Field(default=10, gt=0, description="How long the connection check waits for the broker "
                                        "(DataHub's key; its default of 60 s is ours 10).")

    @field_validator("bootstrap")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for entry in value.split(","):
            host, _, port = entry.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"host:port[,host:port...] (found {entry.strip()!r})")
        return value

    @field_validator("schema_registry_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.strip().startswith(("http://", "https://")):
            raise ValueError(f"an http:// or https:// URL (found {value!r})")
        return value.strip()


class KafkaSinkConfig(PluginConfig):
    connection: KafkaConnectionConfig = Field(default_factory=KafkaConnectionConfig)
    topic_routes: dict[str, str] = Field(default_factory=lambda: {MCE_ROUTE: MCE_TOPIC, MCP_ROUTE: MCP_TOPIC},
                                         description="Topics by record kind; this sink writes MCPs only.")
    max_queue_full_block_seconds: float = inert("the producer's queue blocks at most until a delivery fails (delivery.timeout.ms)",
                                                300.0, ge=0)
    rest_fallback: dict | None = inert("this project never emits DELETE or RESTATE proposals, which is all DataHub sends to it")

    @field_validator("topic_routes")
    @classmethod
    def _has_mcp_route(cls, value: dict[str, str]) -> dict[str, str]:
        if MCP_ROUTE not in value:
            raise ValueError(f"a route for {MCP_ROUTE} (found routes for {', '.join(sorted(value)) or 'nothing'})")
        return value


class KafkaSink(Sink):
    config_model = KafkaSinkConfig
    config: KafkaSinkConfig
    emitter: KafkaEmitter | None = None

    def __init__(self, config: KafkaSinkConfig, report):
        super().__init__(config, report)
        self._ack = lambda mcp: None

    def check(self) -> None:
        c = self.config.connection
        self.emitter = KafkaEmitter(c.bootstrap, c.schema_registry_url, topic=self.config.topic_routes[MCP_ROUTE],
                                    schema_registry_config=c.schema_registry_config, producer_config=c.producer_config,
                                    timeout_sec=c.client_timeout_seconds, on_result=self._on_result)
        self.emitter.test_connection()

    def _on_result(self, mcps, error: str | None) -> None:
        """One poll's delivery reports: the delivered are acknowledged and made durable together."""
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
                try:
                    emitter.emit(mcp)
                except EmitError:  # the broker became unusable while the producer's queue was full: fatal is set
                    break
                sent += 1
            emitter.flush()
        finally:
            stats = emitter.stats
            self.report.count("messages produced", stats.requests)
            self.report.count("bytes sent", stats.bytes_sent)
            if stats.failed:
                self.report.count("failed", stats.failed)
        if emitter.fatal:
            raise SinkFailure(f"{emitter.fatal}; the run stopped after {sent:,} MCPs read, {stats.acknowledged:,} delivered")

    def close(self) -> None:
        if self.emitter is not None:
            self.emitter.close()
