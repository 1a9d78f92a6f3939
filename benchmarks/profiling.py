#!/usr/bin/env python3
"""Profiling side by side: this project's profile stage and DataHub 1.7's profiler on the same MariaDB tables.

The catalog is `../shared/bench/make_profiling_catalog.py` (database `profile_big`, 100 tables x 10 columns x
100,000 rows; build it once with `python3 ../shared/bench/make_profiling_catalog.py | mysql -uroot -h127.0.0.1`).
Each run is a fresh process with DataHub's default profiling config (`profiling: {enabled: true}`) and a file sink:

- `datahub`: `datahub ingest -c recipe.yml` from DataHub's own virtualenv (`--datahub`, default /tmp/dhvenv/bin/datahub);
  its run also reads the schema, which takes well under a second here.
- `ours wN`: the snapshot stage, then the profile stage (`run_profile`) with `max_workers: N`, in-process, no Dagster.

Printed per run: wall seconds, SQL statements (MariaDB's global `Questions` counter, less what reading it adds;
other clients add noise), peak RSS of the process, datasetProfile MCPs written, and how many tables' profiles
differ from DataHub's (timestamps aside). Never part of the test suite.

Usage: python benchmarks/profiling.py [--workers 1 2] [--skip-datahub] [--database profile_big]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from server_statements import StatementCounter

ROOT = Path(__file__).resolve().parent.parent
HOST, PORT = os.environ.get("MYSQL_HOST", "127.0.0.1"), int(os.environ.get("MYSQL_PORT", "3306"))

SOURCE = """\
source:
  type: mysql
  config:
    host_port: {host}:{port}
    username: root
    database_pattern: {{allow: ["^{database}$"]}}
    include_views: false
    include_stored_procedures: false
    profiling:
      enabled: true
{extra}sink: {{type: file, config: {{filename: {output}}}}}
"""

OURS = """\
import sys
from pathlib import Path
from ingest_assets.core.recipe import load_recipe
from ingest_assets.stages import RunFiles, run_profile, run_snapshot
loaded = load_recipe(sys.argv[1])
files = RunFiles(Path(sys.argv[2]))
run_snapshot(loaded, files)
report = run_profile(loaded, files, "bench")
print(dict(report.counts), report.warnings[:3], file=sys.stderr)
"""


def measured(command: list[str], counter: StatementCounter) -> tuple[float, int, int]:
    """(wall seconds, statements, peak RSS in MB) of one process."""
    counter.start()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    statements = counter.stop()
    if status != 0:
        sys.exit(f"{command[0]} failed:\n{stderr.decode(errors='replace')[-2000:]}")
    return wall, statements, usage.ru_maxrss // 1024


def profiles(path: Path) -> dict[str, dict]:
    found = {}
    for mcp in json.loads(path.read_text()):
        if mcp.get("aspectName") == "datasetProfile":
            aspect = dict(mcp["aspect"]["json"])
            aspect.pop("timestampMillis")
            found[mcp["entityUrn"]] = aspect
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--database", default="profile_big")
    parser.add_argument("--datahub", default="/tmp/dhvenv/bin/datahub")
    parser.add_argument("--skip-datahub", action="store_true")
    args = parser.parse_args()
    counter = StatementCounter(HOST, PORT)
    rows, outputs = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        runs = [] if args.skip_datahub else [("datahub", "")]
        runs += [(f"ours w{n}", f"      max_workers: {n}\n") for n in args.workers]
        for name, extra in runs:
            output = scratch / f"{name.replace(' ', '_')}.json"
            recipe = scratch / f"{name.replace(' ', '_')}.yml"
            recipe.write_text(SOURCE.format(host=HOST, port=PORT, database=args.database, extra=extra, output=output))
            if name == "datahub":
                command = [args.datahub, "ingest", "-c", str(recipe)]
            else:
                command = [sys.executable, "-c", OURS, str(recipe), str(scratch / "artifacts" / name.replace(" ", "_"))]
                output = output.with_name(f"{output.stem}.profile.json")
            wall, statements, rss = measured(command, counter)
            outputs[name] = profiles(output)
            rows.append((name, wall, statements, rss, len(outputs[name])))
    reference = outputs.get("datahub")
    print(f"{'run':<10} {'wall_s':>8} {'statements':>11} {'peak_rss_mb':>12} {'profiles':>9} {'differ_from_datahub':>20}")
    for name, wall, statements, rss, count in rows:
        differ = "-" if reference is None or name == "datahub" else str(
            sum(1 for urn, aspect in outputs[name].items() if reference.get(urn) != aspect) + len(set(reference) - set(outputs[name])))
        print(f"{name:<10} {wall:>8.1f} {statements:>11,} {rss:>12,} {count:>9} {differ:>20}")


if __name__ == "__main__":
    main()
