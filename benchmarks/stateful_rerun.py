#!/usr/bin/env python3
"""Change-only emission on the benchmark catalog: a first run, then a second one over the unchanged source.

Runs `ingest-assets ingest` twice in fresh processes (mysql source -> datahub-lite sink, fresh state
and store in a temporary directory) and prints for each: wall time, aspects built (in the run, sent or not), aspects sent,
SQL statements (MariaDB's `Questions` counter before/after, less what reading it adds) and peak RSS. The second run must send
0 aspects and take under half the first run's wall time.

Build the catalog first (the `sbench_` prefix keeps it apart from other catalogs):
  python ../shared/bench/make_mysql_catalog.py --databases 50 --tables-per-db 100 --prefix sbench_
Usage: python benchmarks/stateful_rerun.py [--prefix sbench_] [--host-port 127.0.0.1:3306] [--keep DIR]
Drop it afterwards with `make_mysql_catalog.py --drop-only --prefix sbench_`.
"""

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from server_statements import StatementCounter

ROOT = Path(__file__).resolve().parent.parent


def run(recipe: Path, home: Path, report: Path, counter: StatementCounter) -> dict:
    env = {**os.environ, "INGEST_ASSETS_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    env.pop("INGEST_STATE_URL", None)
    exe = Path(sys.executable).with_name("ingest-assets")
    counter.start()
    started = time.perf_counter()
    process = subprocess.Popen([str(exe), "ingest", "-c", str(recipe), "--report-to", str(report)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    statements = counter.stop()
    if process.returncode != 0:
        sys.exit(f"ingest failed ({process.returncode}): {stderr.strip().splitlines()[-1] if stderr.strip() else ''}")
    counts = json.loads(report.read_text())["counts"]
    return {
        "wall_seconds": round(wall, 2),
        "aspects_built": counts.get("mcps: aspects built", 0),
        "aspects_sent": counts.get("sink: acknowledged", 0),
        "aspects_unchanged": counts.get("mcps: aspects unchanged", 0),
        "datasets": counts.get("snapshot: dataset records", 0),
        "sql_statements": statements,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="sbench_")
    parser.add_argument("--host-port", default="127.0.0.1:3306")
    parser.add_argument("--keep", default=None, help="keep state, store and stage files in this directory")
    args = parser.parse_args()
    # the package's bytecode, as a wheel install has it: this checkout is installed editable, and with
    # PYTHONDONTWRITEBYTECODE set every run would compile our modules again (about 0.05 s)
    compileall.compile_dir(ROOT / "ingest_assets", quiet=1)
    host, port = args.host_port.rsplit(":", 1)
    with tempfile.TemporaryDirectory(prefix="stateful-rerun-") as scratch:
        work = Path(args.keep or scratch)
        work.mkdir(parents=True, exist_ok=True)
        recipe = work / "recipe.yml"
        recipe.write_text(json.dumps({
            "pipeline_name": "stateful_rerun",
            "source": {"type": "mysql", "config": {
                "host_port": args.host_port, "username": "root", "password": "",
                "database_pattern": {"allow": [f"^{args.prefix}"]},
                "stateful_ingestion": {"enabled": True},
            }},
            "sink": {"type": "datahub-lite", "config": {"url": f"sqlite:///{work / 'lite.db'}"}},
        }))
        counter = StatementCounter(host, int(port))
        results = [run(recipe, work / "home", work / f"report{i}.json", counter) for i in (1, 2)]
    for name, result in zip(("first run", "second run (unchanged source)"), results):
        print(f"{name}:")
        for key, value in result.items():
            print(f"  {key:<20} {value}")
    first, second = results
    ratio = second["wall_seconds"] / first["wall_seconds"]
    print(f"second/first wall time: {ratio:.2f}")
    ok = second["aspects_sent"] == 0 and ratio < 0.5
    print("PASS: the unchanged run sent 0 aspects in under half the time" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
