"""A second MariaDB server, with TLS, started for the tests that need one (the local server has none).

It runs from a temporary data directory on a free port, with a certificate authority and a server
certificate made by `openssl` for the host name `db.internal` only (so checking the host name of
127.0.0.1 fails), and a user `tls_only` that the server admits over TLS only.
"""

import getpass
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest

TLS_USER, TLS_PASSWORD = "tls_only", "tls-s3cret"


@dataclass
class TlsServer:
    port: int
    ca: Path
    """The CA that signed the server's certificate."""
    other_ca: Path
    """A CA that signed nothing the server holds."""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(folder: Path) -> None:
    for name in ("ca", "other_ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=folder)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=db.internal", "-keyout", "server.key", "-out", "server.csr", cwd=folder)
    (folder / "server.ext").write_text("subjectAltName=DNS:db.internal\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
             "-extfile", "server.ext", "-out", "server.pem", cwd=folder)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(port: int, process: subprocess.Popen, log: Path) -> pymysql.Connection:
    deadline = time.monotonic() + 30
    while True:
        try:
            return pymysql.connect(host="127.0.0.1", port=port, user="root", password="", autocommit=True, ssl_disabled=True)
        except pymysql.err.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the TLS MariaDB did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def tls_mariadb(tmp_path_factory):
    """A running MariaDB with TLS (the machine's mariadbd and openssl; fails, not skips, without them)."""
    for tool in ("mariadbd", "mariadb-install-db", "openssl"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            pytest.fail(f"{tool} is needed to start a MariaDB with TLS")
    folder = tmp_path_factory.mktemp("tls_mariadb")
    _certificates(folder)
    data, user = folder / "data", getpass.getuser()
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", f"--user={user}", "--skip-test-db",
                    "--auth-root-authentication-method=normal"], check=True, capture_output=True)
    port, log = _free_port(), folder / "server.log"
    process = subprocess.Popen([
        shutil.which("mariadbd") or "/usr/sbin/mariadbd", "--no-defaults", f"--datadir={data}", f"--port={port}",
        "--bind-address=127.0.0.1", f"--socket={folder / 'server.sock'}", f"--pid-file={folder / 'server.pid'}",
        f"--user={user}", "--skip-log-bin", "--innodb-buffer-pool-size=16M", f"--log-error={log}",
        f"--ssl-ca={folder / 'ca.pem'}", f"--ssl-cert={folder / 'server.pem'}", f"--ssl-key={folder / 'server.key'}",
    ])
    try:
        with _wait_until_up(port, process, log) as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE USER {TLS_USER}@'%' IDENTIFIED BY '{TLS_PASSWORD}' REQUIRE SSL")
            cursor.execute(f"GRANT ALL ON *.* TO {TLS_USER}@'%'")
            cursor.execute("CREATE DATABASE shop")
            cursor.execute("CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(20)) COMMENT 'orders'")
            cursor.execute("CREATE VIEW shop.recent AS SELECT id FROM shop.orders")
        yield TlsServer(port=port, ca=folder / "ca.pem", other_ca=folder / "other_ca.pem")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
