"""The async path against a real broker (tansu) and the real service: the datahub-kafka sink, the Kafka emitter,
`ingest-assets consume` and the registry of `serve`, judged by DataHub's own emitter, schema and classes."""

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import fastavro
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from datahub.emitter.kafka_emitter import DatahubKafkaEmitter, KafkaEmitterConfig
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph
from datahub.metadata.schema_classes import (
    DatasetPropertiesClass,
    MetadataChangeProposalClass,
    NumberTypeClass,
    OtherSchemaClass,
    SchemaFieldClass,
    SchemaFieldDataTypeClass,
    SchemaMetadataClass,
    StatusClass,
)
from datahub.metadata.schemas import getMetadataChangeProposalSchema
from sqlalchemy import func, select

from ingest_assets.core.errors import SinkFailure
from ingest_assets.core.mcp import MCP
from ingest_assets.core.mcp_avro import FAILED_MCP_SCHEMA
from ingest_assets.core.report import StageReport
from ingest_assets.emitter import EmitError
from ingest_assets.emitter_kafka import KafkaEmitter
from ingest_assets.sinks.datahub_kafka import KafkaSink, KafkaSinkConfig
from ingest_assets.store.lite import LiteStore, aspects_table
from ingest_assets.store.state import StateStore

from .cli_runner import run_cli
from .kafka_broker import tansu_broker
from .rest_service import file_sink_latest, free_port, metadata_service, run_pipeline, shop_source, store_latest

FAST_GROUP = ["session.timeout.ms=1000", "heartbeat.interval.ms=100", "topic.metadata.refresh.interval.ms=200"]
"""tansu takes about half the session timeout to form a group; a consumer must see a topic created after it subscribed."""


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with tansu_broker(tmp_path_factory.mktemp("tansu")) as running:
        yield running


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with metadata_service(tmp_path_factory.mktemp("kafka-svc")) as svc:
        svc.registry_url = f"{svc.url}/schema-registry/api/"
        yield svc


def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 15.0) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{time.monotonic_ns()}", "auto.offset.reset": "earliest",
                         "session.timeout.ms": 1000, "heartbeat.interval.ms": 100, "enable.auto.commit": False})
    consumer.subscribe([topic])
    messages, deadline = [], time.monotonic() + timeout
    try:
        while len(messages) < count and time.monotonic() < deadline:
            messages += [m for m in consumer.consume(500, 0.2) if m.error() is None]
    finally:
        consumer.close()
    return messages


def consume_args(broker, service, topic: str, group: str, *extra: str) -> list[str]:
    args = ["consume", "--bootstrap", broker.bootstrap, "--schema-registry-url", service.registry_url, "--topic", topic,
            "--group-id", group, "--failed-topic", f"{topic}-failed"]
    for setting in FAST_GROUP:
        args += ["--consumer-config", setting]
    return args + list(extra)


def kafka_recipe(source: str, broker, registry_url: str, topic: str, pipeline: str) -> str:
    return (f"pipeline_name: {pipeline}\nsource:\n{source}\nsink:\n  type: datahub-kafka\n  config:\n"
            f"    connection:\n      bootstrap: '{broker}'\n      schema_registry_url: '{registry_url}'\n"
            f"      client_timeout_seconds: 1\n    topic_routes:\n      MetadataChangeProposal: {topic}\n")


def dataset_mcps(n: int, prefix: str) -> list[MCP]:
    return [MCP("dataset", f"urn:li:dataset:(urn:li:dataPlatform:mysql,shop.{prefix}{i:05d},PROD)", "datasetProperties",
                {"name": f"{prefix}{i}", "customProperties": {"i": str(i)}}, system_metadata={"lastObserved": 1, "runId": "r"})
            for i in range(n)]


def versions_above_zero(store_url: str) -> int:
    store = LiteStore(store_url)
    try:
        with store.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(aspects_table).where(aspects_table.c.version > 0)).scalar()
    finally:
        store.close()


def test_sink_messages_are_datahubs_records(tmp_path, shop_db, write_recipe, broker, service):
    topic = "sink_wire_MCP"
    recipe = write_recipe(kafka_recipe(shop_source(shop_db), broker.bootstrap, service.registry_url, topic, "shop_kafka"))
    report = run_pipeline(recipe, tmp_path / "artifacts")
    out = tmp_path / "mcps.json"
    run_pipeline(write_recipe(f"pipeline_name: shop_file\nsource:\n{shop_source(shop_db)}\n"
                              f"sink:\n  type: file\n  config:\n    filename: {out}\n", "file.yml"), tmp_path / "artifacts")
    expected = {(obj["entityUrn"], obj["aspectName"]): obj for obj in json.loads(out.read_text())}
    assert report.counts["acknowledged"] == report.counts["sent"] == len(expected) > 100
    assert StateStore().summary("shop_kafka")["last_run_id"] == "run-1"

    registry = SchemaRegistryClient({"url": service.registry_url})
    schema_id = registry.get_latest_version(f"{topic}-value").schema_id
    # DataHub's schema as the reader's, ours from the registry as the writer's: Avro resolution by name and layout
    deserializer = AvroDeserializer(registry, getMetadataChangeProposalSchema(), lambda record, _ctx: MetadataChangeProposalClass.from_obj(record))
    messages = read_topic(broker.bootstrap, topic, len(expected))
    assert len(messages) == len(expected)
    got = {}
    for message in messages:
        value = message.value()
        assert value[0] == 0 and int.from_bytes(value[1:5], "big") == schema_id
        proposal = deserializer(value, SerializationContext(topic, MessageField.VALUE))
        assert message.key() == proposal.entityUrn.encode("utf-8")
        assert proposal.aspect.contentType == "application/json"
        assert b"pegasus2avro" not in proposal.aspect.value
        wrapper = MetadataChangeProposalWrapper.try_from_mcpc(proposal)
        assert isinstance(wrapper, MetadataChangeProposalWrapper)  # the aspect parsed into DataHub's class
        obj = wrapper.to_obj(simplified_structure=True)
        system = obj.pop("systemMetadata")
        assert (system["runId"], system["pipelineName"], system["lastObserved"] > 0) == ("run-1", "shop_kafka", True)
        got[(proposal.entityUrn, proposal.aspectName)] = obj
    for obj in expected.values():
        del obj["systemMetadata"]  # another pipeline's run
    assert got == expected  # DataHub's reading of our messages is the file sink's output, union names and all
    assert any("com.linkedin.schema.NumberType" in json.dumps(obj["aspect"]) for obj in got.values())


def test_datahubs_emitter_feeds_consume_and_datahubgraph_reads_it_back(broker, service):
    topic = "datahub_emitter_MCP"
    emitter = DatahubKafkaEmitter(KafkaEmitterConfig.model_validate({
        "connection": {"bootstrap": broker.bootstrap, "schema_registry_url": service.registry_url},
        "topic_routes": {"MetadataChangeProposal": topic},
    }))
    urn = "urn:li:dataset:(urn:li:dataPlatform:mysql,shop.from_datahub,PROD)"
    aspects = [
        DatasetPropertiesClass(name="from_datahub", description="sent by DatahubKafkaEmitter", customProperties={"k": "v"}),
        SchemaMetadataClass(schemaName="shop.from_datahub", platform="urn:li:dataPlatform:mysql", version=0, hash="",
                            platformSchema=OtherSchemaClass(rawSchema=""),
                            fields=[SchemaFieldClass(fieldPath="id", type=SchemaFieldDataTypeClass(NumberTypeClass()), nativeDataType="INT")]),
        StatusClass(removed=False),
    ]
    errors = []
    for aspect in aspects:
        emitter.emit(MetadataChangeProposalWrapper(entityUrn=urn, aspect=aspect),
                     lambda error, _message: errors.append(error) if error else None)
    emitter.flush()
    assert errors == []
    # its documented schema text and our bare one are one schema to the registry: one id for both producers
    assert SchemaRegistryClient({"url": service.registry_url}).get_versions(f"{topic}-value") == [1]

    result = run_cli(*consume_args(broker, service, topic, "dh-emitter", "--store", service.store_url, "--stop-when-idle", "1"))
    assert result.returncode == 0, result.stderr
    assert "applied" in result.stdout and " 3\n" in result.stdout

    graph = DataHubGraph(DatahubClientConfig(server=service.url))
    for aspect in aspects:
        assert graph.get_aspect(urn, type(aspect)) == aspect


def test_sink_to_consume_forwarding_to_serve_equals_the_file_sink(tmp_path, shop_db, write_recipe, broker, service):
    topic = "forward_MCP"
    recipe = write_recipe(kafka_recipe(shop_source(shop_db), broker.bootstrap, service.registry_url, topic, "shop_forward"))
    run_pipeline(recipe, tmp_path / "artifacts")
    with metadata_service(tmp_path, name="target") as target:
        result = run_cli(*consume_args(broker, service, topic, "forwarder", "--server", target.url, "--stop-when-idle", "1"))
        assert result.returncode == 0, result.stderr
        store = target.store()
        held = store_latest(store)
        store.close()
    out = tmp_path / "mcps.json"
    run_pipeline(write_recipe(f"pipeline_name: shop_file\nsource:\n{shop_source(shop_db)}\n"
                              f"sink:\n  type: file\n  config:\n    filename: {out}\n", "file.yml"), tmp_path / "artifacts")
    assert held == file_sink_latest(out)


def test_a_consumer_killed_mid_stream_loses_nothing_and_a_replay_adds_no_versions(tmp_path, broker, service):
    topic = "killed_MCP"
    mcps = dataset_mcps(2000, "k")
    with KafkaEmitter(broker.bootstrap, service.registry_url, topic=topic) as emitter:
        emitter.emit_many(mcps)
    store_url = f"sqlite:///{tmp_path / 'consumer.db'}"
    LiteStore(store_url).close()  # its tables exist before the test reads them while the consumer writes
    args = consume_args(broker, service, topic, "killed", "--store", store_url, "--batch-size", "20")
    exe = str(Path(sys.executable).with_name("ingest-assets"))
    proc = subprocess.Popen([exe, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        held = 0
        while time.monotonic() < deadline and held == 0 and proc.poll() is None:
            time.sleep(0.02)
            store = LiteStore(store_url)
            held = len(store_latest(store))
            store.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 0 < held < len(mcps), "the consumer was to be killed mid-stream"

    result = run_cli(*args, "--stop-when-idle", "1")
    assert result.returncode == 0, result.stderr
    store = LiteStore(store_url)
    assert store_latest(store) == {(m.entity_urn, m.aspect_name): m.aspect for m in mcps}
    store.close()
    assert versions_above_zero(store_url) == 0  # the batch re-read after the kill added no versions

    replay = run_cli(*consume_args(broker, service, topic, "replay", "--store", store_url, "--stop-when-idle", "1"))
    assert replay.returncode == 0, replay.stderr
    assert f"{len(mcps):,}" in replay.stdout  # every message applied again ...
    assert versions_above_zero(store_url) == 0  # ... and not one new version


def test_a_poison_message_goes_to_the_failed_topic_and_the_consumer_goes_on(tmp_path, broker, service):
    topic = "poison_MCP"
    good = dataset_mcps(2, "good")
    with KafkaEmitter(broker.bootstrap, service.registry_url, topic=topic) as emitter:
        emitter.emit(good[0])
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic, key=b"garbage", value=b"\x07not a proposal")
    producer.produce(topic, key=b"unknown-id", value=b"\x00\x00\x01\x86\xa0\x02")  # Confluent framing, schema id 100000
    bad_aspect = {"entityType": "dataset", "entityUrn": good[1].entity_urn, "changeType": "UPSERT",
                  "aspectName": "noSuchAspect", "aspect": {"value": "{}", "contentType": "application/json"}}
    producer.produce(topic, key=good[1].entity_urn.encode(), value=json.dumps(bad_aspect).encode())
    producer.produce(topic, key=good[1].entity_urn.encode(), value=json.dumps(good[1].to_rest_obj()).encode())  # JSON is read too
    assert producer.flush(10) == 0

    store_url = f"sqlite:///{tmp_path / 'poison.db'}"
    result = run_cli(*consume_args(broker, service, topic, "poison", "--store", store_url, "--stop-when-idle", "1"))
    assert result.returncode == 1, result.stderr  # failures are counted, and the run says so
    store = LiteStore(store_url)
    assert store_latest(store) == {(m.entity_urn, m.aspect_name): m.aspect for m in good}
    store.close()

    failed = read_topic(broker.bootstrap, f"{topic}-failed", 3)
    registry = SchemaRegistryClient({"url": service.registry_url})
    errors = {}
    for message in failed:
        schema_id = int.from_bytes(message.value()[1:5], "big")
        writer = fastavro.parse_schema(json.loads(registry.get_schema(schema_id).schema_str))
        record = fastavro.schemaless_reader(io.BytesIO(message.value()[5:]), writer, fastavro.parse_schema(FAILED_MCP_SCHEMA))
        errors[message.key()] = record
    assert set(errors) == {b"garbage", b"unknown-id", good[1].entity_urn.encode()}
    assert "neither Avro" in errors[b"garbage"]["error"]
    assert "no schema with id 100000" in errors[b"unknown-id"]["error"]
    assert "noSuchAspect" in errors[good[1].entity_urn.encode()]["error"]
    assert errors[good[1].entity_urn.encode()]["metadataChangeProposal"]["aspectName"] == "noSuchAspect"


def test_unreachable_broker_or_registry_is_one_line_and_exit_2_before_anything_is_sent(tmp_path, shop_db, write_recipe, broker, service):
    closed = f"127.0.0.1:{free_port()}"
    recipe = write_recipe(kafka_recipe(shop_source(shop_db), closed, service.registry_url, "never_MCP", "no_broker"), "a.yml")
    result = run_cli("ingest", "-c", str(recipe))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot reach Kafka at {closed}: no broker answered in 1 s"], result.stderr

    topic = "no_registry_MCP"
    registry = f"http://{closed}/schema-registry/api/"
    recipe = write_recipe(kafka_recipe(shop_source(shop_db), broker.bootstrap, registry, topic, "no_registry"), "b.yml")
    result = run_cli("ingest", "-c", str(recipe))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot use the schema registry at {registry}: connection refused"], result.stderr
    assert read_topic(broker.bootstrap, topic, 1, timeout=1.5) == []
    assert StateStore().summary("no_registry")["last_run_id"] is None

    result = run_cli("consume", "--bootstrap", closed, "--schema-registry-url", service.registry_url, "--timeout", "1",
                     "--store", f"sqlite:///{tmp_path / 'x.db'}")
    assert (result.returncode, result.stderr.strip()) == (2, f"error: cannot reach Kafka at {closed}: no broker answered in 1 s")


def test_a_broker_stopped_mid_run_fails_the_sink_with_one_line_and_acknowledges_nothing_undelivered(tmp_path, service):
    with tansu_broker(tmp_path) as private:
        config = KafkaSinkConfig.model_validate({"connection": {
            "bootstrap": private.bootstrap, "schema_registry_url": service.registry_url,
            "producer_config": {"delivery.timeout.ms": 1500, "linger.ms": 5}}, "topic_routes": {"MetadataChangeProposal": "stopped_MCP"}})
        sink = KafkaSink(config, StageReport("sink"))
        sink.check()
        acked: list[MCP] = []
        first, rest = dataset_mcps(50, "before"), dataset_mcps(500, "after")
        sink.write(iter(first), acked.append)
        assert sorted(m.entity_urn for m in acked) == [m.entity_urn for m in first]
        private.stop()
        acked.clear()
        with pytest.raises(SinkFailure) as raised:
            sink.write(iter(rest), acked.append)
        sink.close()
    assert acked == []
    message = str(raised.value)
    assert "\n" not in message and "Kafka did not take the message" in message and "unusable" in message

    with tansu_broker(tmp_path) as private:
        emitter = KafkaEmitter(private.bootstrap, service.registry_url, topic="emitter_MCP",
                               producer_config={"delivery.timeout.ms": 1500})
        emitter.test_connection()
        private.stop()
        with pytest.raises(EmitError), emitter:
            emitter.emit_many(dataset_mcps(10, "lost"))
