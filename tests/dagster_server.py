"""`dagster-webserver` and `dagster-daemon` as subprocesses on a free localhost port, and a GraphQL client."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GraphQL:
    def __init__(self, url: str):
        self.url = url

    def __call__(self, query: str, **variables) -> dict:
        response = requests.post(self.url, json={"query": query, "variables": variables}, timeout=30)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and the code servers it started
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as handle:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_workspace(client: "GraphQL", webserver: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert webserver.poll() is None, log.read_text()[-3000:]
        try:
            data = client("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                          "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
            entries = data["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                assert all(e["locationOrLoadError"]["__typename"] == "RepositoryLocation" for e in entries), entries
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "dagster-webserver did not load the workspace in time"
        time.sleep(0.5)


@contextmanager
def dagster_services(env: dict, logs: Path, daemon: bool = True, timeout: float = 60):
    """Start the webserver on workspace.yaml, then the daemon; yield a GraphQL client.

    The daemon starts once the webserver has loaded the workspace: two processes creating a fresh
    SQLite instance storage at the same moment can both stamp its schema version.
    """
    port = free_port()
    merged = {**os.environ, **env}
    processes = []
    try:
        webserver = _start([str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                           merged, logs / "webserver.log")
        processes.append(webserver)
        client = GraphQL(f"http://127.0.0.1:{port}/graphql")
        _wait_for_workspace(client, webserver, logs / "webserver.log", timeout)
        if daemon:
            processes.append(_start([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], merged, logs / "daemon.log"))
        yield client
    finally:
        for process in processes:
            _stop(process)
