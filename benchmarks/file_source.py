#!/usr/bin/env python3
"""The file source replaying a large MCP file to the file sink: peak RSS and MB/s, at several file sizes.

For each size this writes an MCP file in DataHub's own format (a JSON array indented as DataHub's file sink
indents it, MCPs with `{"json": ...}` aspects and MCE snapshots, copied from DataHub 1.7's output in
`../shared/reference/datahub_mysql_sample.json` with a fresh table name per copy) into a temporary directory,
runs `ingest-assets ingest` (file source -> file sink, fresh state) in a fresh process, and prints the input's
size, wall time, MB/s of input, the CLI process's peak RSS and the MCPs written. Peak RSS must not grow with the
size: records stream through ijson and the hand-over files. Everything generated is deleted afterwards.

Usage: python benchmarks/file_source.py [--mb 250 1000]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "datahub_mysql_sample.json"
CLI = Path(sys.executable).with_name("ingest-assets")

RECIPE = """\
pipeline_name: file_bench
source:
  type: file
  config: {{path: '{path}'}}
sink:
  type: file
  config: {{filename: '{out}'}}
"""


def write_mcp_file(path: Path, megabytes: int) -> int:
    """DataHub-format records until the file holds `megabytes` MB; returns the records written."""
    records = json.loads(REFERENCE.read_text())
    template = ",\n".join(json.dumps(r, indent=4) for r in records)
    names = sorted(set(re.findall(r"bench_000\.[tv]_\d{4}", template)))
    target, written, copy = megabytes * 1_000_000, 0, 0
    with open(path, "w") as handle:
        handle.write("[\n")
        while handle.tell() < target:
            text = template
            for name in names:
                text = text.replace(name, f"{name}_{copy}")
            handle.write((",\n" if copy else "") + text)
            written += len(records)
            copy += 1
        handle.write("\n]\n")
    return written


def replay(work: Path, megabytes: int) -> dict:
    source = work / f"mcps_{megabytes}.json"
    records = write_mcp_file(source, megabytes)
    size = source.stat().st_size
    out = work / "out.json"
    recipe = work / "recipe.yml"
    recipe.write_text(RECIPE.format(path=source, out=out))
    env = {**os.environ, "INGEST_ASSETS_HOME": str(work / "home"), "INGEST_ARTIFACTS_DIR": str(work / "artifacts"),
           "INGEST_STATE_URL": f"sqlite:///{work / f'state_{megabytes}.db'}"}
    started = time.perf_counter()
    process = subprocess.Popen([str(CLI), "ingest", "-c", str(recipe)], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"ingest-assets exited with {process.returncode}")
    with open(out, "rb") as handle:
        written = sum(1 for line in handle if line.startswith(b"{"))
    for path in (source, out):
        path.unlink()
    return {"input_mb": round(size / 1e6), "records": records, "wall_s": round(wall, 1), "mb_per_s": round(size / 1e6 / wall, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "mcps_written": written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, nargs="+", default=[250, 1000])
    args = parser.parse_args()
    print("input_mb records wall_s mb_per_s peak_rss_mb mcps_written")
    for megabytes in args.mb:
        with tempfile.TemporaryDirectory(prefix="file_bench_") as work:
            row = replay(Path(work), megabytes)
        print(" ".join(str(row[k]) for k in ("input_mb", "records", "wall_s", "mb_per_s", "peak_rss_mb", "mcps_written")), flush=True)


if __name__ == "__main__":
    main()
