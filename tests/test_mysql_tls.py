"""The mysql source over TLS, against a MariaDB started with TLS whose test user may connect over TLS only."""

import ssl

import pydantic
import pytest

from ingest_assets.core.errors import ConnectionFailure
from ingest_assets.core.records import DatasetRecord
from ingest_assets.core.report import StageReport
from ingest_assets.sources.mysql import MySQLConfig, MySQLSource

from .tls_mariadb import TLS_PASSWORD, TLS_USER, tls_mariadb  # noqa: F401


def tls_source(server, **tls) -> MySQLSource:
    config = {"host_port": f"127.0.0.1:{server.port}", "username": TLS_USER, "password": TLS_PASSWORD, **tls}
    return MySQLSource(MySQLConfig.model_validate(config), StageReport("snapshot"))


@pytest.fixture
def contexts_built(monkeypatch) -> list:
    """Every TLS context built from now on (PyMySQL and the source both build them with create_default_context)."""
    built = []
    original = ssl.create_default_context

    def counting(*args, **kwargs):
        built.append(kwargs.get("cafile"))
        return original(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    return built


def read_catalog(source: MySQLSource) -> dict[str, DatasetRecord]:
    try:
        records = list(source.extract())
    finally:
        source.close()
    assert source.report.failure_count == 0, source.report.failures
    return {r.table.name: r for r in records if isinstance(r, DatasetRecord)}


def test_without_tls_keys_every_connection_uses_the_tls_the_server_offers(tls_mariadb, contexts_built):  # noqa: F811
    source = tls_source(tls_mariadb)
    found = read_catalog(source)
    assert sorted(found) == ["orders", "recent"]
    assert found["orders"].description == "orders"
    assert [u.name for u in found["recent"].upstreams] == ["orders"]
    assert source.statements == 5  # SCHEMATA, the foreign-key check and three streams, on four connections
    assert contexts_built == [None]  # the first connection's context serves the other three


def test_verified_tls_with_the_recipes_ca(tls_mariadb, contexts_built):  # noqa: F811
    source = tls_source(tls_mariadb, ssl_ca=str(tls_mariadb.ca), ssl_verify_identity=False)
    assert sorted(read_catalog(source)) == ["orders", "recent"]
    assert contexts_built == [str(tls_mariadb.ca)]


@pytest.mark.parametrize("settings, expected", [
    ({"ssl_ca": "ca"}, "127.0.0.1"),  # the certificate names db.internal only: host names are checked by default
    ({"ssl_ca": "other_ca"}, "certificate verify failed"),
    ({"ssl_ca": "/nonexistent/ca.pem"}, "TLS settings for MySQL"),
])
def test_tls_that_cannot_be_trusted_fails_in_one_line(tls_mariadb, settings, expected):  # noqa: F811
    ca = settings["ssl_ca"]
    source = tls_source(tls_mariadb, ssl_ca=str(getattr(tls_mariadb, ca, ca)))
    with pytest.raises(ConnectionFailure) as caught:
        source.databases()
    message = str(caught.value)
    assert expected in message and "\n" not in message and TLS_PASSWORD not in message
    source.close()


def test_unverified_tls_still_encrypts(tls_mariadb):  # noqa: F811
    source = tls_source(tls_mariadb, ssl_verify_cert=False)
    assert source.databases() == ["shop"]
    source.close()


def test_host_name_check_needs_a_verified_certificate():
    with pytest.raises(pydantic.ValidationError, match="ssl_verify_identity"):
        MySQLConfig.model_validate({"ssl_verify_cert": False, "ssl_verify_identity": True})
