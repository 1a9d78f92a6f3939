#!/usr/bin/env python3
"""The postgres source end to end on the PostgreSQL benchmark catalog, at several sizes.

For each size (tables; 100 tables per schema, 20 columns each, a view per 10 tables, in database `bench_pg`) this
builds the catalog with the shared generator (`../shared/bench/make_postgres_catalog.py`), then runs
`ingest-assets ingest` in a fresh process with a quickstart-style recipe (postgres source, file sink, fresh state)
and prints: wall time, SQL statements (the server's transaction counters of bench_pg and of the initial database in
pg_stat_database before/after: every statement of an autocommit session is one transaction; other clients of those
databases add noise), the source's own count of catalog statements, peak RSS of the CLI process and MCPs written.
A second run over the unchanged catalog is measured too (change-only: sends nothing).

DataHub 1.7's figures on the 5,000-table catalog: 101 s, 26,714 statements, 710 MB.

Usage: python benchmarks/postgres_catalog.py [--tables 5000] [--skip-build] [--runs 1]
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

import psycopg2
from cli_process import run_cli

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT.parent / "shared" / "bench" / "make_postgres_catalog.py"
TABLES_PER_SCHEMA = 100
DATABASE = "bench_pg"

RECIPE = """\
pipeline_name: bench_postgres
source:
  type: postgres
  config:
    host_port: {host_port}
    username: ${{PGUSER:-postgres}}
    password: ${{PGPASSWORD:-}}
    database: {database}
    include_views: true
sink:
  type: file
  config: {{filename: {output}}}
"""


def build(tables: int, host: str, port: int) -> float:
    started = time.time()
    schemas = max(1, tables // TABLES_PER_SCHEMA)
    subprocess.run([sys.executable, str(GENERATOR), "--database", DATABASE, "--schemas", str(schemas),
                    "--tables-per-schema", str(TABLES_PER_SCHEMA), "--host", host, "--port", str(port)], check=True)
    return time.time() - started


class TransactionCounter:
    """Transactions the server counted in `databases` (pg_stat_database), less the counter's own reads."""

    def __init__(self, host: str, port: int, databases: tuple[str, ...]):
        self._connect = lambda: psycopg2.connect(host=host, port=port, user=os.environ.get("PGUSER", "postgres"),
                                                 dbname="postgres")
        self._databases = list(databases)
        self._before = 0

    def _read(self) -> int:
        time.sleep(1.0)  # backends flush their statistics about once a second
        connection = self._connect()
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute("SELECT coalesce(sum(xact_commit + xact_rollback), 0) FROM pg_stat_database "
                               "WHERE datname = ANY (%s)", (self._databases,))
                return int(cursor.fetchone()[0])
        finally:
            connection.close()

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> int:
        return self._read() - self._before - (3 if "postgres" in self._databases else 0)


def measure(tables: int, host: str, port: int, runs: int) -> list[dict]:
    rows = []
    counter = TransactionCounter(host, port, (DATABASE,))
    with tempfile.TemporaryDirectory(prefix="postgres_bench_") as tmp:
        tmp = Path(tmp)
        recipe = tmp / "recipe.yml"
        recipe.write_text(RECIPE.format(host_port=f"{host}:{port}", database=DATABASE, output=tmp / "mcps.json"))
        for attempt in range(runs):
            home = tmp / f"home{attempt}"
            for label in ("first run", "unchanged rerun"):
                report = tmp / "report.json"
                report.unlink(missing_ok=True)
                counter.start()
                wall, rss, code = run_cli(recipe, home, report)
                statements = counter.stop()
                counts = (json.loads(report.read_text()) if report.exists() else {"counts": {}})["counts"]
                rows.append({
                    "tables": tables, "run": label, "exit": code, "wall_s": round(wall, 2), "statements": statements,
                    "catalog_stmts": counts.get("snapshot: catalog statements", 0), "peak_rss_mb": rss,
                    "datasets": counts.get("snapshot: dataset records", 0), "mcps_written": counts.get("sink: acknowledged", 0),
                })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, nargs="+", default=[5000])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--runs", type=int, default=1, help="repetitions per size (each a fresh state)")
    parser.add_argument("--skip-build", action="store_true", help="measure the bench_pg catalog already in place")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "ingest_assets", quiet=1)

    rows = []
    for tables in args.tables:
        if not args.skip_build:
            print(f"building {tables:,} tables ...", file=sys.stderr, flush=True)
            print(f"  built in {build(tables, args.host, args.port):.0f} s", file=sys.stderr, flush=True)
        rows += measure(tables, args.host, args.port, args.runs)

    load = os.getloadavg()
    print(f"\npostgres source, file sink; load average before the last run {load[0]:.2f}")
    header = ["tables", "run", "exit", "wall_s", "statements", "catalog_stmts", "peak_rss_mb", "datasets", "mcps_written"]
    print("  ".join(f"{h:>15}" for h in header))
    for row in rows:
        print("  ".join(f"{str(row[h]):>15}" for h in header))
    return 0 if all(r["exit"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
