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


@contextmanager
def dagster_services(env: dict, logs: Path, daemon: bool = True, timeout: float = 60):
    """Start the webserver (and the daemon) on workspace.yaml; yield a GraphQL client once the code location loaded."""
    port = free_port()
    merged = {**os.environ, **env}
    processes = []
    try:
        commands = [[str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]]
        if daemon:
            commands.append([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"])
        for index, command in enumerate(commands):
            log = open(logs / f"service{index}.log", "w")
            processes.append(subprocess.Popen(command, cwd=ROOT, env=merged, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))
        client = GraphQL(f"http://127.0.0.1:{port}/graphql")
        deadline = time.monotonic() + timeout
        while True:
            assert all(p.poll() is None for p in processes), (logs / "service0.log").read_text()[-3000:]
            try:
                data = client("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                              "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
                entries = data["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    assert all(e["locationOrLoadError"]["__typename"] == "RepositoryLocation" for e in entries), entries
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "dagster-webserver did not load the workspace in time"
            time.sleep(0.5)
        yield client
    finally:
        for process in processes:
            _stop(process)
