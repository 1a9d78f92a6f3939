#!/usr/bin/env python3
"""The mysql source end to end on the benchmark catalog, at several sizes.

For each size (tables; 100 tables per database, 20 columns each, a view per 10 tables) this builds
the catalog with the shared generator (`../shared/bench/make_mysql_catalog.py`, prefix `bench_`),
then runs `ingest-assets ingest` in a fresh process with a quickstart-style recipe (mysql source,
file sink, fresh state) and prints: wall time, SQL statements (MariaDB's global `Questions`
counter before/after, less what reading the counter adds; other clients of the server add noise; `catalog_stmts` is the source's own
count of catalog queries, without the driver's connection set-up), peak RSS of the CLI process and
MCPs written. A second run over the unchanged catalog is measured too (change-only: sends nothing).
With `--runs N` each size is measured N times and the median wall time is printed too.

Before each first run, `ref_s` times a fixed piece of work, `python -c "import dagster"` (also the
CLI's own start-up cost): this machine's speed drifts from hour to hour, and the reference says
which speed a row was measured at.

Usage: python benchmarks/mysql_catalog.py [--tables 1000 5000 50000] [--skip-build] [--runs 1]
Afterwards the catalog of the last size stays in place unless it is larger than 5,000 tables: then
the 5,000-table catalog is rebuilt (`--leave none` drops the bench_ databases instead).
"""

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli_process import run_cli
from server_statements import StatementCounter

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT.parent / "shared" / "bench" / "make_mysql_catalog.py"
TABLES_PER_DB = 100

RECIPE = """\
pipeline_name: bench_mysql
source:
  type: mysql
  config:
    host_port: {host_port}
    username: ${{MYSQL_USER:-root}}
    password: ${{MYSQL_PASSWORD:-}}
    database_pattern: {{allow: ["^bench_"]}}
    include_views: true
sink:
  type: file
  config: {{filename: {output}}}
"""


def build(tables: int, host: str, port: int) -> float:
    started = time.time()
    databases = max(1, tables // TABLES_PER_DB)
    subprocess.run([sys.executable, str(GENERATOR), "--databases", str(databases), "--tables-per-db", str(TABLES_PER_DB),
                    "--host", host, "--port", str(port)], check=True)
    return time.time() - started


def reference_seconds() -> float:
    """Wall time of importing Dagster in a fresh interpreter: the same work whenever it runs."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import dagster"], check=True)
    return round(time.perf_counter() - started, 2)


def measure(tables: int, host: str, port: int, runs: int) -> list[dict]:
    rows = []
    counter = StatementCounter(host, port)
    with tempfile.TemporaryDirectory(prefix="mysql_bench_") as tmp:
        tmp = Path(tmp)
        recipe = tmp / "recipe.yml"
        recipe.write_text(RECIPE.format(host_port=f"{host}:{port}", output=tmp / "mcps.json"))
        for attempt in range(runs):
            home = tmp / f"home{attempt}"
            reference = reference_seconds()
            for label in ("first run", "unchanged rerun"):
                report = tmp / "report.json"
                report.unlink(missing_ok=True)
                for stale in home.glob("**/*.report.json"):
                    stale.unlink()
                counter.start()
                wall, rss, code = run_cli(recipe, home, report)
                statements = counter.stop()
                summary = json.loads(report.read_text()) if report.exists() else {"counts": {}}
                counts = summary["counts"]
                rows.append({
                    "tables": tables, "run": label, "exit": code, "wall_s": round(wall, 2), "statements": statements,
                    "peak_rss_mb": rss, "datasets": counts.get("snapshot: dataset records", 0),
                    "mcps_written": counts.get("sink: acknowledged", 0),
                    "snapshot_s": _stage_seconds(home, "snapshot"),
                    "catalog_stmts": counts.get("snapshot: catalog statements", 0),
                    "ref_s": reference,
                })
    return rows


def _stage_seconds(home: Path, stage: str) -> float | None:
    found = list(home.glob(f"**/bench_mysql/{stage}.report.json"))
    return json.loads(found[0].read_text()).get("duration_seconds") if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, nargs="+", default=[1000, 5000, 50000])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--runs", type=int, default=1, help="repetitions per size (each a fresh state)")
    parser.add_argument("--skip-build", action="store_true", help="measure the bench_ catalog already in place")
    parser.add_argument("--leave", choices=["5000", "none", "last"], default="5000",
                        help="what stays in the server afterwards (default: a 5,000-table catalog)")
    args = parser.parse_args()
    # the package's bytecode, as a wheel install has it: this checkout is installed editable, and with
    # PYTHONDONTWRITEBYTECODE set every run would compile our modules again (about 0.05 s)
    compileall.compile_dir(ROOT / "ingest_assets", quiet=1)

    rows = []
    for tables in args.tables:
        if not args.skip_build:
            print(f"building {tables:,} tables ...", file=sys.stderr, flush=True)
            print(f"  built in {build(tables, args.host, args.port):.0f} s", file=sys.stderr, flush=True)
        rows += measure(tables, args.host, args.port, args.runs)

    load = os.getloadavg()
    print(f"\nmysql source, file sink; load average before the last run {load[0]:.2f}")
    header = ["tables", "run", "exit", "ref_s", "wall_s", "snapshot_s", "statements", "catalog_stmts", "peak_rss_mb", "datasets", "mcps_written"]
    print("  ".join(f"{h:>15}" for h in header))
    for row in rows:
        print("  ".join(f"{str(row[h]):>15}" for h in header))
    if args.runs > 1:
        print()
        for tables in args.tables:
            for label in ("first run", "unchanged rerun"):
                chosen = [r for r in rows if r["tables"] == tables and r["run"] == label]
                walls = sorted(r["wall_s"] for r in chosen)
                print(f"{tables:>15,}  {label:>15}  median wall {statistics.median(walls):.2f} s over {len(walls)} runs "
                      f"(min {walls[0]:.2f}, max {walls[-1]:.2f}; median ref_s {statistics.median(r['ref_s'] for r in chosen):.2f})")

    if not args.skip_build and args.leave != "last":
        if args.leave == "none":
            subprocess.run([sys.executable, str(GENERATOR), "--drop-only", "--host", args.host, "--port", str(args.port)], check=True)
        elif args.tables[-1] != 5000:
            build(5000, args.host, args.port)
    return 0 if all(r["exit"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
