"""Run the installed `ingest-assets` console script in a subprocess, as a user would."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    merged = {**os.environ, **(env or {})}
    exe = Path(sys.executable).with_name("ingest-assets")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=merged, cwd=cwd or ROOT, timeout=timeout)
