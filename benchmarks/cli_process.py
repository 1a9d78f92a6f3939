"""One `ingest-assets ingest` process as the catalog benchmarks time it: wall seconds, peak RSS, exit code."""

import os
import subprocess
import sys
import time
from pathlib import Path

CLI = Path(sys.executable).with_name("ingest-assets")


def run_cli(recipe: Path, home: Path, report: Path) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in MB, exit code) of one `ingest-assets ingest` process, with fresh state in `home`."""
    env = {**os.environ, "INGEST_ASSETS_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    log = report.with_suffix(".stderr")
    started = time.perf_counter()
    with open(log, "wb") as stderr:
        process = subprocess.Popen([str(CLI), "ingest", "-c", str(recipe), "--report-to", str(report)],
                                   env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code:
        sys.stderr.write(log.read_text())
    return wall, usage.ru_maxrss // 1024, code
