"""`ingest-assets consume`: the counterpart of DataHub's MCP consumer job.

A consumer group reads DataHub's MCP topic(s), decodes each message (Avro in Confluent framing, its
writer schema fetched from the registry by id; or an MCP as JSON), validates it as the local service
validates a REST proposal, and applies it to the embedded store or forwards it to a DataHub server over
REST. Delivery is at least once: a batch's offsets are committed only after its proposals were written
and its failures were delivered to the failed topic, so a consumer killed at any point re-reads at most
the batch it held; re-applying a proposal adds no aspect version (the store keeps an identical value as
it is, and so does GMS). A proposal that cannot be applied goes to `FailedMetadataChangeProposal_v1`
with the error, as GMS sends it there, and the consumer goes on. SIGTERM and SIGINT finish the batch in
hand, commit it and stop; progress and lag are logged, and the counts printed at the end.

The Kafka client and fastavro are imported when a consumer is made, so the CLI runs without the `kafka` extra.
"""

import io
import logging
import signal
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from .core.errors import ConnectionFailure, IngestError, first_line
from .core.mcp import MCP
from .core.mcp_avro import (
    CONFLUENT_MAGIC,
    FAILED_MCP_SCHEMA,
    FAILED_MCP_TOPIC,
    MCP_TOPIC,
    NotAProposal,
    record_to_rest_obj,
    subject_of,
)
from .core.secrets import redact
from .store.proposals import NotPlainJson, ProposalError, parse_proposal, plain_json

log = logging.getLogger("ingest_assets")

DEFAULT_GROUP_ID = "generic-mce-consumer-job-client"
"""DataHub's own MCP consumer group: a deployment runs one or the other on a topic, never both."""
DEFAULT_REGISTRY_URL = "http://localhost:8080/schema-registry/api/"
PROGRESS_SECONDS = 10.0


class ConsumerStopped(IngestError):
    """The consumer could not go on without losing proposals: nothing past the last committed batch is acknowledged."""

    exit_code = 1


@dataclass
class ConsumeReport:
    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.counts["failed"] += 1
        if len(self.failures) < 20:
            self.failures.append(message)


# applying ----------------------------------------------------------------------------------------

class StoreTarget:
    """The embedded store: one transaction per batch; after any failure, each proposal alone, so only the bad one fails."""

    def __init__(self, url: str | None):
        from .store.lite import LiteStore

        self.store = LiteStore(url)
        self.where = f"the metadata store {self.store.display_url}"

    def apply(self, mcps: list[MCP]) -> list[str | None]:
        try:
            self.store.upsert_many(mcps)
            return [None] * len(mcps)
        except Exception:
            return [self._apply_one(mcp) for mcp in mcps]

    def _apply_one(self, mcp: MCP) -> str | None:
        try:
            self.store.upsert_many([mcp])
            return None
        except Exception as exc:
            return redact(f"{type(exc).__name__}: {first_line(exc)}")[:500]

    def close(self) -> None:
        self.store.close()


class RestTarget:
    """A DataHub server (or `ingest-assets serve`) over REST: a refused proposal fails alone; a server that is
    down stops the consumer before the batch's offsets are committed."""

    def __init__(self, server: str, token: str | None):
        from .emitter import RestEmitter

        self.errors: dict[int, str] = {}
        self.emitter = RestEmitter(server, token, mode="ASYNC_BATCH", on_result=self._result)
        self.emitter.test_connection()
        self.where = f"DataHub at {self.emitter.server}"

    def _result(self, mcps: list[MCP], error: str | None) -> None:
        if error is not None:
            for mcp in mcps:
                self.errors[id(mcp)] = error

    def apply(self, mcps: list[MCP]) -> list[str | None]:
        self.errors = {}
        for mcp in mcps:
            self.emitter.emit(mcp)
        self.emitter.flush()
        if self.emitter.fatal:
            raise ConsumerStopped(f"{self.emitter.fatal}; offsets stay at the last batch it took")
        return [self.errors.get(id(mcp)) for mcp in mcps]

    def close(self) -> None:
        self.emitter.close()


# decoding ----------------------------------------------------------------------------------------

class Undecodable(ValueError):
    """A message that holds no proposal; `record` is what could be read of it, if anything."""

    def __init__(self, message: str, record: dict | None = None):
        super().__init__(message)
        self.record = record


class MessageDecoder:
    """Avro in Confluent framing (writer schemas from the registry by id, parsed once each) or JSON, to a valid MCP."""

    def __init__(self, registry):
        import fastavro

        self.registry = registry
        self._parse_schema, self._read = fastavro.parse_schema, fastavro.schemaless_reader
        self._schemas: dict[int, object] = {}

    def _writer_schema(self, schema_id: int):
        if schema_id not in self._schemas:
            try:
                text = self.registry.get_schema(schema_id).schema_str
            except Exception as exc:
                if "40403" in str(exc) or "not found" in str(exc).lower():
                    raise Undecodable(f"the registry knows no schema with id {schema_id}") from None
                raise ConsumerStopped(redact(f"the schema registry failed to answer for schema {schema_id}: {first_line(exc)}")) from None
            self._schemas[schema_id] = self._parse_schema(orjson.loads(text))
        return self._schemas[schema_id]

    def decode(self, value: bytes | None) -> tuple[MCP, dict | None]:
        """(the MCP, the Avro record it came from, or None for JSON), or Undecodable."""
        if not value:
            raise Undecodable("an empty message (a tombstone) holds no proposal")
        if value[0] == CONFLUENT_MAGIC and len(value) >= 5:
            (schema_id,) = struct.unpack(">I", value[1:5])
            schema = self._writer_schema(schema_id)
            try:
                record = self._read(io.BytesIO(value[5:]), schema, None)
            except Exception as exc:
                raise Undecodable(f"not an Avro record of schema {schema_id}: {type(exc).__name__}: {first_line(exc)}"[:500]) from None
            if not isinstance(record, dict):
                raise Undecodable(f"schema {schema_id} is not a record schema")
            try:
                obj = record_to_rest_obj(record)
            except NotAProposal as exc:
                raise Undecodable(str(exc), record) from None
            return self._proposal(obj, record), record
        if value[:1] in (b"{", b" ", b"\n"):
            try:
                obj = plain_json(value)
            except NotPlainJson as exc:
                raise Undecodable(f"neither Avro in Confluent framing nor JSON: {exc}") from None
            if isinstance(obj, dict) and isinstance(obj.get("aspect"), dict) and "json" in obj["aspect"]:
                obj["aspect"] = {"value": orjson.dumps(obj["aspect"]["json"]).decode()}  # the file form's aspect
            return self._proposal(obj, None), None
        raise Undecodable(f"neither Avro in Confluent framing nor JSON (first byte {value[0]:#04x})")

    @staticmethod
    def _proposal(obj, record: dict | None) -> MCP:
        try:
            return parse_proposal(obj, "proposal")
        except ProposalError as exc:
            raise Undecodable(str(exc), record if record is not None else obj if isinstance(obj, dict) else None) from None


def _failed_proposal_record(source: dict | None, key: bytes | None) -> dict:
    """The proposal part of a failed record: the decoded record as it came, else what a JSON message held, else the key."""
    if source is not None and "auditHeader" in source:
        return source
    source = source or {}
    aspect = source.get("aspect") if isinstance(source.get("aspect"), dict) else None
    value = aspect.get("value") if aspect else None
    return {
        "auditHeader": None,
        "entityType": str(source.get("entityType") or ""),
        "entityUrn": str(source["entityUrn"]) if source.get("entityUrn") else (key or b"").decode("utf-8", "replace") or None,
        "entityKeyAspect": None,
        "changeType": source.get("changeType") if source.get("changeType") in ("UPSERT", "CREATE", "PATCH") else "UPSERT",
        "aspectName": str(source["aspectName"]) if source.get("aspectName") else None,
        "aspect": {"value": value.encode("utf-8", "replace"), "contentType": str(aspect.get("contentType") or "application/json")}
        if isinstance(value, str) else None,
        "systemMetadata": None,
        "headers": None,
    }


# the loop ----------------------------------------------------------------------------------------

class ProposalConsumer:
    """Reads the MCP topics in batches; each batch is applied, its failures delivered, then its offsets committed."""

    def __init__(self, bootstrap: str, registry_url: str, target, *, topics: list[str] | None = None,
                 group_id: str = DEFAULT_GROUP_ID, failed_topic: str = FAILED_MCP_TOPIC, consumer_config: dict | None = None,
                 registry_config: dict | None = None, batch_size: int = 1000, timeout_sec: float = 10.0):
        import fastavro
        from confluent_kafka import Consumer, Producer

        from .emitter_kafka import (
            DEFAULT_PRODUCER_CONFIG,
            check_broker,
            client_logger,
            confluent_frame,
            registry_client,
            registry_failure,
        )

        self.bootstrap, self.target, self.batch_size = bootstrap, target, batch_size
        self.topics = topics or [MCP_TOPIC]
        self.failed_topic = failed_topic
        self.report = ConsumeReport()
        self._frame = confluent_frame
        self._stop = False
        self._assigned: list = []
        self._assigned_at = 0.0
        registry = registry_client(registry_url, registry_config)
        try:
            from confluent_kafka.schema_registry import Schema

            self._failed_schema_id = registry.register_schema(subject_of(failed_topic), Schema(orjson.dumps(FAILED_MCP_SCHEMA).decode(), "AVRO"))
        except Exception as exc:
            raise registry_failure(registry_url, exc) from None
        self._failed_schema = fastavro.parse_schema(FAILED_MCP_SCHEMA)
        self._write = fastavro.schemaless_writer
        self.decoder = MessageDecoder(registry)
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group_id, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "enable.auto.offset.store": False, "topic.metadata.refresh.interval.ms": 5000,
            "queued.max.messages.kbytes": 8192,  # librdkafka prefetches up to 64 MB per partition by default
            "logger": client_logger(), **(consumer_config or {}),
        })
        try:
            check_broker(self.consumer, bootstrap, timeout_sec)
        except ConnectionFailure:
            self.consumer.close()
            raise
        self.producer = Producer({**DEFAULT_PRODUCER_CONFIG, "bootstrap.servers": bootstrap, "logger": client_logger()})

    def stop(self, *_args) -> None:
        """Finish the batch in hand, commit it and return from `run` (the SIGTERM handler)."""
        self._stop = True

    def _on_assign(self, consumer, partitions) -> None:
        self._assigned = list(partitions)
        self._assigned_at = time.monotonic()

    def run(self, stop_when_idle: float | None = None, on_batch: Callable[[int], None] | None = None) -> ConsumeReport:
        """Consume until stopped (or, with `stop_when_idle`, until no message came for that long after joining the group)."""
        from confluent_kafka import KafkaException

        self.consumer.subscribe(self.topics, on_assign=self._on_assign)
        last_message = time.monotonic()
        next_progress = time.monotonic() + PROGRESS_SECONDS
        try:
            while not self._stop:
                try:
                    messages = self.consumer.consume(self.batch_size, 0.5)
                except KafkaException as exc:
                    raise ConsumerStopped(redact(f"Kafka at {self.bootstrap} failed: {first_line(exc)}")) from None
                if messages:
                    self._handle(messages)
                    last_message = time.monotonic()
                    if on_batch is not None:
                        on_batch(len(messages))
                elif (stop_when_idle is not None and self._assigned
                      and time.monotonic() - max(last_message, self._assigned_at) >= stop_when_idle):
                    break
                if time.monotonic() >= next_progress:
                    self._log_progress()
                    next_progress = time.monotonic() + PROGRESS_SECONDS
        finally:
            self.consumer.close()  # leaves the group at once, so a restart or another member takes over without waiting
            self.producer.flush(10)
            self.target.close()
        return self.report

    def _handle(self, messages) -> None:
        from confluent_kafka import KafkaError, TopicPartition

        counts = self.report.counts
        applicable: list[tuple[object, MCP]] = []
        failed: list[tuple[object, dict | None, str]] = []
        for message in messages:
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise ConsumerStopped(redact(f"Kafka at {self.bootstrap} failed: {message.error().str()}"))
            counts["consumed"] += 1
            try:
                mcp, _record = self.decoder.decode(message.value())
                applicable.append((message, mcp))
            except Undecodable as exc:
                failed.append((message, exc.record, str(exc)))
        if applicable:
            for (message, mcp), error in zip(applicable, self.target.apply([mcp for _, mcp in applicable])):
                if error is None:
                    counts["applied"] += 1
                else:
                    failed.append((message, self._source_record(message), error))
        for message, source, error in failed:
            self._send_failed(message, source, error)
        if failed:
            self._flush_failed()
        offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            if message.error() is None:
                offsets[(message.topic(), message.partition())] = message.offset() + 1
        self.consumer.commit(offsets=[TopicPartition(topic, partition, offset) for (topic, partition), offset in offsets.items()],
                             asynchronous=False)
        counts["batches committed"] += 1

    def _source_record(self, message) -> dict | None:
        try:
            return self.decoder.decode(message.value())[1]
        except Undecodable as exc:
            return exc.record

    def _send_failed(self, message, source: dict | None, error: str) -> None:
        where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
        self.report.fail(f"{where}: {error}")
        log.warning("consume: %s went to %s: %s", where, self.failed_topic, error)
        record = {"auditHeader": None, "metadataChangeProposal": _failed_proposal_record(source, message.key()),
                  "error": f"{error} ({where})"}
        buffer = io.BytesIO()
        self._write(buffer, self._failed_schema, record)
        self.producer.produce(self.failed_topic, key=message.key(), value=self._frame(self._failed_schema_id, buffer.getvalue()))

    def _flush_failed(self) -> None:
        if self.producer.flush(30):
            raise ConsumerStopped(f"the failed proposals could not be delivered to {self.failed_topic}; "
                                  "offsets stay at the last batch committed")

    def _log_progress(self) -> None:
        counts = self.report.counts
        lag = 0
        for partition in self._assigned:
            try:
                _low, high = self.consumer.get_watermark_offsets(partition, timeout=1.0)
                position = self.consumer.position([partition])[0].offset
            except Exception:  # progress is best effort; it never stops the consumer
                continue
            lag += max(0, high - max(position, 0))
        log.info("consume: %d consumed, %d applied, %d failed; lag %d", counts["consumed"], counts["applied"], counts["failed"], lag)


def parse_settings(pairs: list[str] | None, what: str) -> dict:
    """`key=value` arguments (librdkafka's or the registry client's own keys) as a dict."""
    settings = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConnectionFailure(f"{what} takes key=value, found {pair!r}")
        settings[key.strip()] = value
    return settings


def consume(args, token: str | None) -> ConsumeReport:
    """`ingest-assets consume` with its parsed arguments; every connection is checked before anything is read."""
    target = RestTarget(args.server, token) if args.server else StoreTarget(args.store)
    try:
        consumer = ProposalConsumer(
            args.bootstrap, args.schema_registry_url, target, topics=args.topic, group_id=args.group_id,
            failed_topic=args.failed_topic, consumer_config=parse_settings(args.consumer_config, "--consumer-config"),
            registry_config=parse_settings(args.registry_config, "--registry-config"), batch_size=args.batch_size,
            timeout_sec=args.timeout)
    except BaseException:
        target.close()
        raise
    log.info("consume: %s from %s into %s (group %s)", ", ".join(consumer.topics), args.bootstrap, target.where, args.group_id)
    previous = {sig: signal.signal(sig, consumer.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return consumer.run(stop_when_idle=args.stop_when_idle)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def add_arguments(parser) -> None:
    parser.add_argument("--bootstrap", default="localhost:9092", help="Kafka bootstrap servers")
    parser.add_argument("--schema-registry-url", default=DEFAULT_REGISTRY_URL, help="Confluent-compatible registry (`serve` has one)")
    parser.add_argument("--topic", action="append", default=None, help=f"topic to read (repeatable; default {MCP_TOPIC})")
    parser.add_argument("--failed-topic", default=FAILED_MCP_TOPIC, help="where proposals that cannot be applied go")
    parser.add_argument("--group-id", default=DEFAULT_GROUP_ID, help="consumer group (default DataHub's own)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--store", default=None, help="SQLAlchemy URL of the embedded store (default INGEST_LITE_URL or ~/.ingest_assets/lite.db)")
    target.add_argument("--server", default=None, help="forward to a DataHub server (or `serve`) over REST instead; token from DATAHUB_GMS_TOKEN")
    parser.add_argument("--consumer-config", action="append", metavar="KEY=VALUE", help="librdkafka consumer setting (repeatable)")
    parser.add_argument("--registry-config", action="append", metavar="KEY=VALUE", help="schema registry client setting (repeatable)")
    parser.add_argument("--batch-size", type=int, default=1000, help="messages applied and committed together")
    parser.add_argument("--stop-when-idle", type=float, default=None, metavar="SECONDS",
                        help="stop once no message came for this long (a one-off catch-up); default: run until SIGTERM")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds the connection checks wait")
