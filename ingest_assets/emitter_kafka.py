"""The push emitter for the async path: MCPs to DataHub's MCP topic on Kafka, as DataHub's own Kafka emitter writes them.

The interface is `RestEmitter`'s (`emit`, `emit_many`, `flush`, a context manager that flushes and raises
if anything was not delivered), so code that emits at the point of origin picks a transport, not an API;
the `datahub-kafka` sink uses it for whole runs. What it guarantees, because a run's state may only
advance on it:

- a proposal is reported acknowledged only on its delivery report: written to every in-sync replica
  (`acks=all`) by an idempotent producer, which neither duplicates nor reorders on its own retries;
- the message is DataHub's: key the entity URN, value the Avro record
  `com.linkedin.pegasus2avro.mxe.MetadataChangeProposal` in Confluent framing, its schema registered
  under `<topic>-value`. The URN key keeps one entity's proposals on one partition, in order;
- `test_connection` reaches the broker and registers the schema before anything is produced, so an
  unreachable broker or registry is one line before the run sends anything.
"""

import io
import json
import logging
import struct
from collections.abc import Iterable

import fastavro
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from .core.errors import ConnectionFailure, first_line
from .core.mcp import MCP
from .core.mcp_avro import CONFLUENT_MAGIC, MCP_SCHEMA, MCP_TOPIC, mcp_to_record, subject_of
from .core.secrets import redact
from .emitter import EmitError, EmitStats, ResultCallback

DEFAULT_PRODUCER_CONFIG = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 20,
    "compression.type": "lz4",
    "delivery.timeout.ms": 60_000,
}
"""Ours, under whatever `producer_config` sets: a message not delivered in a minute fails the run
(librdkafka would wait five), and lz4 makes aspects' JSON a fraction of its size on the wire."""


def client_logger() -> logging.Logger:
    """Where librdkafka's own log lines go instead of stderr: its reconnect chatter (a line every few ms while a
    broker is down) would bury the one line that says what failed. Shown with `logging` set to DEBUG for it."""
    logger = logging.getLogger("ingest_assets.kafka_client")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.CRITICAL)
    return logger


FATAL_CODES = frozenset({KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
                         KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED,
                         KafkaError._UNKNOWN_TOPIC, KafkaError.UNKNOWN_TOPIC_OR_PART})
"""Delivery errors that will befall every later message too: the emitter stops taking more."""

_QUEUE_FULL_WAIT_SECONDS = 0.5


def confluent_frame(schema_id: int, payload: bytes) -> bytes:
    """Confluent's wire framing of an Avro payload: magic byte 0, the schema id (4 bytes, big-endian), the payload."""
    return struct.pack(">bI", CONFLUENT_MAGIC, schema_id) + payload


REGISTRY_RETRIES = {"max.retries": 1, "retries.wait.ms": 250}
"""Ours, under `schema_registry_config`: the client's defaults (3 retries, from 1 s) take 5 s to say a registry is down."""


def registry_client(url: str, config: dict | None = None) -> SchemaRegistryClient:
    """confluent-kafka's registry client; `config` carries its own keys (`basic.auth.user.info`, ...) as DataHub passes them."""
    return SchemaRegistryClient({"url": url, **REGISTRY_RETRIES, **(config or {})})


def registry_failure(url: str, exc: Exception) -> ConnectionFailure:
    """One line for a registry that cannot be used, whatever the client raised (its own errors, httpx's, OSError)."""
    reason = "connection refused" if "refused" in str(exc).lower() else first_line(exc)[:300]
    return ConnectionFailure(redact(f"cannot use the schema registry at {url}: {reason}"))


def check_broker(client, bootstrap: str, timeout: float) -> None:
    """Raise ConnectionFailure unless the cluster answers a metadata request within `timeout`.

    librdkafka connects in the background and retries forever, so a dead broker shows only as a
    metadata request that is never answered."""
    try:
        client.list_topics(timeout=timeout)
    except KafkaException as exc:
        error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        reason = (f"no broker answered in {timeout:g} s" if error is not None and error.code() in
                  (KafkaError._TRANSPORT, KafkaError._TIMED_OUT) else first_line(exc)[:300])
        raise ConnectionFailure(redact(f"cannot reach Kafka at {bootstrap}: {reason}")) from None


class KafkaEmitter:
    """Produces MCPs to DataHub's MCP topic; see the module docstring for the guarantees.

    `emit` queues a proposal for the producer (blocking only while its local queue is full); `flush()`
    (and leaving the `with` block) waits for every delivery report. Without `on_result`, failures are
    collected and `flush()` raises EmitError listing them; with it, delivery reports are handed over
    in groups, one call per poll of the producer, so a sink makes each group's acknowledgements
    durable together.
    """

    def __init__(self, bootstrap: str, schema_registry_url: str, *, topic: str = MCP_TOPIC,
                 schema_registry_config: dict | None = None, producer_config: dict | None = None,
                 timeout_sec: float = 10.0, on_result: ResultCallback | None = None):
        self.bootstrap = bootstrap
        self.schema_registry_url = schema_registry_url
        self.topic = topic
        self.timeout_sec = timeout_sec
        self.on_result = on_result
        self.producer_config = {**DEFAULT_PRODUCER_CONFIG, "bootstrap.servers": bootstrap, "logger": client_logger(),
                                **(producer_config or {})}
        self._registry = registry_client(schema_registry_url, schema_registry_config)
        self._parsed_schema = fastavro.parse_schema(MCP_SCHEMA)
        self._schema_id: int | None = None
        self._producer: Producer | None = None
        self._reports: list[tuple[MCP, str | None]] = []
        self.stats = EmitStats()
        self.failures: list[str] = []
        self.fatal: str | None = None
        """Set once a delivery failed in a way every later message would too (the broker gone, the topic refused)."""

    def __repr__(self) -> str:
        return f"KafkaEmitter({self.bootstrap!r}, topic={self.topic!r}, registry={self.schema_registry_url!r})"

    # connection -------------------------------------------------------------------------------

    def test_connection(self) -> int:
        """Reach the broker and register the record's schema under `<topic>-value`; the schema id."""
        check_broker(self._open_producer(), self.bootstrap, self.timeout_sec)
        return self._register()

    def _register(self) -> int:
        if self._schema_id is None:
            try:
                self._schema_id = self._registry.register_schema(subject_of(self.topic), Schema(json.dumps(MCP_SCHEMA), "AVRO"))
            except Exception as exc:  # the client raises its own errors, httpx's and OSError alike
                raise registry_failure(self.schema_registry_url, exc) from None
        return self._schema_id

    def _open(self) -> Producer:
        self._register()
        return self._open_producer()

    def _open_producer(self) -> Producer:
        if self._producer is None:
            try:
                self._producer = Producer(self.producer_config)
            except KafkaException as exc:
                raise ConnectionFailure(redact(f"the Kafka producer refused its configuration: {first_line(exc)}")) from None
        return self._producer

    # sending ----------------------------------------------------------------------------------

    def encode(self, mcp: MCP) -> bytes:
        """The message value: the Avro record in Confluent framing."""
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self._parsed_schema, mcp_to_record(mcp))
        return confluent_frame(self._register(), buffer.getvalue())

    def emit(self, mcp: MCP) -> None:
        """Queue one proposal; its delivery report arrives in a later `poll` or `flush`."""
        if self.fatal:
            raise EmitError(f"not sent: {self.fatal}")
        producer = self._open()
        value = self.encode(mcp)
        key = mcp.entity_urn.encode("utf-8")

        def delivered(error, message) -> None:
            self._reports.append((mcp, None if error is None else self._delivery_error(error)))
            if error is None:
                self.stats.bytes_sent += len(message.value() or b"")

        while True:
            try:
                producer.produce(self.topic, value=value, key=key, on_delivery=delivered)
                break
            except BufferError:  # the local queue is full: wait for deliveries (backpressure)
                producer.poll(_QUEUE_FULL_WAIT_SECONDS)
                self._dispatch()
                if self.fatal:
                    raise EmitError(f"not sent: {self.fatal}") from None
            except KafkaException as exc:
                self._reports.append((mcp, redact(first_line(exc))))
                break
        self.stats.requests += 1
        if producer.poll(0):
            self._dispatch()

    def _delivery_error(self, error: KafkaError) -> str:
        message = redact(f"Kafka did not take the message: {error.str()} ({error.name()})")
        if error.fatal() or error.code() in FATAL_CODES:
            self.fatal = self.fatal or f"{message}; the broker at {self.bootstrap} is unusable"
        return message

    def _dispatch(self) -> None:
        """Hand the delivery reports gathered by the last poll over: the delivered as one group, failures per reason."""
        if not self._reports:
            return
        reports, self._reports = self._reports, []
        delivered = [mcp for mcp, error in reports if error is None]
        failed: dict[str, list[MCP]] = {}
        for mcp, error in reports:
            if error is not None:
                failed.setdefault(error, []).append(mcp)
        if delivered:
            self.stats.acknowledged += len(delivered)
            if self.on_result is not None:
                self.on_result(delivered, None)
        for error, mcps in failed.items():
            self.stats.failed += len(mcps)
            if self.on_result is not None:
                self.on_result(mcps, error)
            elif len(self.failures) < 50:
                self.failures.append(f"{len(mcps)} proposal(s) from {mcps[0].entity_urn} {mcps[0].aspect_name}: {error}")

    def emit_many(self, mcps: Iterable[MCP]) -> EmitStats:
        """Produce all of them and wait for every delivery report."""
        for mcp in mcps:
            self.emit(mcp)
        self.flush()
        return self.stats

    def flush(self) -> None:
        """Wait until every queued proposal has its delivery report; without `on_result`, raise if any was not delivered."""
        if self._producer is not None:
            while self._producer.flush(1.0):
                self._dispatch()
            self._dispatch()
        if self.on_result is None and self.failures:
            failures, self.failures = self.failures, []
            more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
            raise EmitError(f"Kafka at {self.bootstrap} did not take every proposal: " + "; ".join(failures[:5]) + more)

    def close(self) -> None:
        """Wait for what is still queued (its reports still reach `on_result`), then let the producer go."""
        if self._producer is not None:
            while self._producer.flush(1.0):
                self._dispatch()
            self._dispatch()
            self._producer = None

    def __enter__(self) -> "KafkaEmitter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.close()

