#!/usr/bin/env python3
"""MCPs per second from the `datahub-rest` sink into the local metadata service.

The MCPs are either a file (`--mcps FILE`: DataHub's JSON array as the file sink writes it, or our
JSON Lines hand-over file), or, by default, the benchmark catalog's shape built with the core
builders: 50 databases x 100 tables x 20 columns plus 500 views (the same records the mysql
source yields for `make_mysql_catalog.py --databases 50 --tables-per-db 100`).

The service runs as `ingest-assets serve` in its own process on a free port with a fresh SQLite
store; the sink runs in this process with its default config. Prints MCPs, wall time, MCPs/s,
requests, bytes and the service's peak RSS.

Usage: python benchmarks/rest_sink.py [--mcps FILE] [--databases 50] [--tables-per-db 100] [--runs 2]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from ingest_assets.core.aspects import record_mcps
from ingest_assets.core.mcp import MCP
from ingest_assets.core.records import (
    Column,
    ColumnLineage,
    ColumnRef,
    ContainerRecord,
    DatasetRecord,
    ForeignKey,
    Location,
    TableRef,
)
from ingest_assets.core.report import StageReport
from ingest_assets.sinks.datahub_rest import RestSink, RestSinkConfig

TYPES = ["int(11)", "varchar(255)", "decimal(10,2)", "datetime", "text", "tinyint(1)", "date", "bigint(20)", "json", "enum('a','b')"]


def catalog_mcps(databases: int, tables_per_db: int, columns: int = 20) -> list[MCP]:
    """The benchmark catalog's records, through the core builders, as MCPs."""
    location = Location(platform="mysql", env="PROD")
    mcps: list[MCP] = []
    for d in range(databases):
        db = f"bench_{d:03d}"
        mcps += record_mcps(ContainerRecord(location=location, database=db))
        for t in range(tables_per_db):
            table = TableRef(database=db, name=f"table_{t:04d}")
            cols = [Column(name=f"col_{c:02d}" if c else "id", native_type=TYPES[c % len(TYPES)], nullable=c != 0,
                           description=f"column {c} of {table.name}", is_part_of_key=c == 0) for c in range(columns)]
            fks = [ForeignKey(name=f"fk_{t}", columns=["col_01"], referenced=TableRef(database=db, name=f"table_{t - 1:04d}"),
                              referenced_columns=["id"])] if t else []
            mcps += record_mcps(DatasetRecord(location=location, table=table, description=f"table {t} of {db}",
                                              columns=cols, foreign_keys=fks))
        for v in range(tables_per_db // 10):
            base = TableRef(database=db, name=f"table_{v:04d}")
            view = TableRef(database=db, name=f"view_{v:04d}")
            sql = f"SELECT id, col_01, col_02 FROM {db}.{base.name} WHERE id > 10"
            mcps += record_mcps(DatasetRecord(
                location=location, table=view, subtype="View", view_definition=sql,
                columns=[Column(name=n, native_type="int(11)") for n in ("id", "col_01", "col_02")],
                upstreams=[base],
                column_lineage=[ColumnLineage(downstream=n, upstreams=[ColumnRef(table=base, column=n)]) for n in ("id", "col_01", "col_02")],
                custom_properties={"is_view": "True", "view_definition": sql}))
    now = int(time.time() * 1000)
    for mcp in mcps:
        mcp.system_metadata = {"lastObserved": now, "runId": "bench", "pipelineName": "rest_bench"}
    return mcps


def read_mcps(path: Path) -> list[MCP]:
    text = path.read_text()
    if text.lstrip().startswith("["):
        return [MCP.from_obj(obj) for obj in json.loads(text)]
    return [MCP.from_line(line) for line in text.splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(store_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    exe = Path(sys.executable).with_name("ingest-assets")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--store", store_url], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if requests.get(f"{url}/config", timeout=1).ok:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the metadata service did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_once(mcps: list[MCP], store_url: str, config: dict) -> dict:
    proc, url = start_service(store_url)
    try:
        report = StageReport("sink")
        sink = RestSink(RestSinkConfig(server=url, **config), report)
        acked = 0

        def ack(_mcp):
            nonlocal acked
            acked += 1

        started = time.perf_counter()
        sink.check()
        sink.write(iter(mcps), ack)
        sink.close()
        elapsed = time.perf_counter() - started
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    assert acked == len(mcps), f"only {acked} of {len(mcps)} acknowledged"
    return {"mcps": len(mcps), "seconds": round(elapsed, 3), "mcps_per_second": round(len(mcps) / elapsed),
            "requests": report.counts["requests"], "retries": report.counts["retries"],
            "bytes_sent": report.counts["bytes sent"], "service_peak_rss_mb": round(rss, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mcps", type=Path, help="an MCP file (file sink JSON array or hand-over JSON Lines)")
    parser.add_argument("--databases", type=int, default=50)
    parser.add_argument("--tables-per-db", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2, help="each run uses a fresh store")
    parser.add_argument("--max-threads", type=int, default=None)
    parser.add_argument("--max-per-batch", type=int, default=None)
    args = parser.parse_args()
    config = {k: v for k, v in {"max_threads": args.max_threads, "max_per_batch": args.max_per_batch}.items() if v}
    if args.mcps:
        mcps, what = read_mcps(args.mcps), f"MCPs of {args.mcps}"
    else:
        mcps = catalog_mcps(args.databases, args.tables_per_db)
        what = f"core-built catalog: {args.databases} databases x {args.tables_per_db} tables x 20 columns + views"
    print(f"{what}: {len(mcps):,} MCPs; sink config {config or 'defaults'}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            store_url = f"sqlite:///{os.path.join(tmp, f'store{run}.db')}"
            print(json.dumps({"run": run + 1, **run_once(mcps, store_url, config)}), flush=True)


if __name__ == "__main__":
    main()
