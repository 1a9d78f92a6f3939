"""Helpers for the REST tests: the real local metadata service in a subprocess, pipeline runs through the stages."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from ingest_assets.core.mcp import MCP
from ingest_assets.core.recipe import load_recipe
from ingest_assets.stages import RunFiles, run_mcps, run_sink, run_snapshot
from ingest_assets.store.lite import LiteStore

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    def __init__(self, url: str, store_url: str, proc: subprocess.Popen):
        self.url, self.store_url, self.proc = url, store_url, proc

    def store(self) -> LiteStore:
        return LiteStore(self.store_url)


@contextmanager
def metadata_service(tmp_path: Path, token: str | None = None, max_body_mb: float | None = None, name: str = "service"):
    """`ingest-assets serve` on a free localhost port over a fresh SQLite store; stopped afterwards."""
    port = free_port()
    store_url = f"sqlite:///{tmp_path / (name + '.db')}"
    args = [str(Path(sys.executable).with_name("ingest-assets")), "serve", "--port", str(port), "--store", store_url]
    if max_body_mb is not None:
        args += ["--max-body-mb", str(max_body_mb)]
    env = {**os.environ}
    env.pop("INGEST_SERVICE_TOKEN", None)
    if token:
        env["INGEST_SERVICE_TOKEN"] = token
    log = open(tmp_path / f"{name}.log", "w")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(f"{url}/config", headers=headers, timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"metadata service did not start: {(tmp_path / f'{name}.log').read_text()}")
            time.sleep(0.05)
        yield Service(url, store_url, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def rest_recipe(source_yaml: str, server: str, pipeline: str = "rest_test", extra_sink: str = "") -> str:
    return f"""pipeline_name: {pipeline}
source:
{source_yaml}
sink:
  type: datahub-rest
  config:
    server: {server}
{extra_sink}"""


def shop_source(db_path: Path) -> str:
    return f"""  type: sqlite
  config:
    path: {db_path}
    database: shop"""


def run_pipeline(recipe_path: Path, artifacts: Path, run_id: str = "run-1"):
    """The three stages in order, as the sink asset would run them; returns the sink report."""
    loaded = load_recipe(recipe_path)
    files = RunFiles.for_pipeline(loaded.pipeline_name, artifacts)
    run_snapshot(loaded, files)
    run_mcps(loaded, files, run_id)
    return run_sink(loaded, files)


def store_latest(store: LiteStore) -> dict[tuple[str, str], dict]:
    return {(urn, aspect): value for urn, aspect, value in store.latest()}


def file_sink_latest(path: Path) -> dict[tuple[str, str], dict]:
    """What DataHub's file format holds, read back as the store keeps it (the last value per urn and aspect)."""
    out = {}
    for obj in json.loads(path.read_text()):
        mcp = MCP.from_obj(obj)
        out[(mcp.entity_urn, mcp.aspect_name)] = mcp.aspect
    return out
