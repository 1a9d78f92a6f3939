"""DataHub's `datahub-kafka` sink: MCPs to the MCP topic, for `ingest-assets consume` or DataHub's own MCP consumer.

The config keys are DataHub's own (`connection.bootstrap`, `connection.schema_registry_url`,
`connection.schema_registry_config`, `connection.producer_config`, `topic_routes`), so a recipe written
for `datahub ingest` works unchanged. Only proposals with a delivery report are acknowledged to the
run, and each poll's acknowledgements are made durable together, as the REST sink does per request:
state never advances past what the topic holds.
"""

from pydantic import Field, field_validator

from ..core.mcp_avro import MCE_TOPIC, MCP_TOPIC
from ..core.plugin import PluginConfig, inert
from ..emitter import EmitError
from ..emitter_kafka import KafkaEmitter
from .emitting import EmittingSink

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


class KafkaSink(EmittingSink):
    config_model = KafkaSinkConfig
    config: KafkaSinkConfig
    emitter: KafkaEmitter | None = None
    stops_on = (EmitError,)  # the broker became unusable while the producer's queue was full: fatal is set
    confirmed = "delivered"

    def new_emitter(self) -> KafkaEmitter:
        c = self.config.connection
        return KafkaEmitter(c.bootstrap, c.schema_registry_url, topic=self.config.topic_routes[MCP_ROUTE],
                            schema_registry_config=c.schema_registry_config, producer_config=c.producer_config,
                            timeout_sec=c.client_timeout_seconds, on_result=self.on_result)

    def count_stats(self, stats) -> None:
        self.report.count("messages produced", stats.requests)
        super().count_stats(stats)
