"""The datahub-rest sink and the push emitter against the real local metadata service over HTTP."""

import json
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
import requests

from ingest_assets.core.errors import ConnectionFailure, SinkFailure
from ingest_assets.core.mcp import MCP
from ingest_assets.core.report import StageReport
from ingest_assets.emitter import EmitError, RestEmitter
from ingest_assets.sinks.datahub_rest import RestSink, RestSinkConfig
from ingest_assets.store.state import StateStore

from .cli_runner import run_cli
from .mysql_fixtures import HOST, PASSWORD, PORT, USER, mariadb  # noqa: F401
from .rest_service import (
    file_sink_latest,
    free_port,
    metadata_service,
    rest_recipe,
    run_pipeline,
    shop_source,
    store_latest,
)

URN_EMITTED = "urn:li:dataset:(urn:li:dataPlatform:mysql,shop.emitted,PROD)"


def dataset_mcps(n: int, prefix: str = "t") -> list[MCP]:
    out = []
    for i in range(n):
        urn = f"urn:li:dataset:(urn:li:dataPlatform:mysql,shop.{prefix}{i:04d},PROD)"
        out.append(MCP("dataset", urn, "status", {"removed": False}))
        out.append(MCP("dataset", urn, "datasetProperties", {"name": f"{prefix}{i}", "description": "d" * 1000}))
    return out


def sink_run(config: RestSinkConfig, mcps: list[MCP]) -> tuple[RestSink, list[MCP]]:
    acked: list[MCP] = []
    sink = RestSink(config, StageReport("sink"))
    sink.check()
    try:
        sink.write(iter(mcps), acked.append)
    finally:
        sink.close()
    return sink, acked


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with metadata_service(tmp_path_factory.mktemp("svc"), max_body_mb=0.05) as svc:
        yield svc


def test_quickstart_over_rest_equals_the_file_sink(tmp_path, shop_db, write_recipe):
    with metadata_service(tmp_path) as svc:
        rest = write_recipe(rest_recipe(shop_source(shop_db), svc.url, "shop_rest"), "rest.yml")
        report = run_pipeline(rest, tmp_path / "artifacts")
        out = tmp_path / "mcps.json"
        file_recipe = write_recipe(f"pipeline_name: shop_file\nsource:\n{shop_source(shop_db)}\n"
                                   f"sink:\n  type: file\n  config:\n    filename: {out}\n", "file.yml")
        run_pipeline(file_recipe, tmp_path / "artifacts")
        store = svc.store()
        held = store_latest(store)
        store.close()
        expected = file_sink_latest(out)
        assert len(expected) > 100
        assert held == expected
        assert report.counts["acknowledged"] == report.counts["sent"] == len(expected)
        assert report.counts["retries"] == 0
        urn = "urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.orders,PROD)"
        entity = requests.get(f"{svc.url}/entitiesV2/{quote(urn, safe='')}", timeout=5).json()
        assert entity["aspects"]["schemaMetadata"]["value"] == expected[(urn, "schemaMetadata")]
        assert StateStore().summary("shop_rest")["last_run_id"] == "run-1"


def test_sync_mode_sends_one_proposal_per_request(service):
    mcps = dataset_mcps(10, "sync")
    sink, acked = sink_run(RestSinkConfig(server=service.url, mode="SYNC"), mcps)
    assert acked == mcps
    assert sink.report.counts["requests"] == 20


def test_batches_stay_under_the_byte_limit(service):
    mcps = dataset_mcps(60, "bytes")
    sink, acked = sink_run(RestSinkConfig(server=service.url, max_batch_bytes=20_000, max_threads=2), mcps)
    assert len(acked) == len(mcps)
    assert sink.report.counts["batches split (413)"] == 0
    assert sink.report.counts["requests"] >= 60 * 1000 // 20_000


def test_a_413_splits_the_batch(service):
    mcps = dataset_mcps(60, "split")
    sink, acked = sink_run(RestSinkConfig(server=service.url, max_per_batch=100, max_threads=1), mcps)
    assert len(acked) == len(mcps)
    assert sink.report.counts["batches split (413)"] >= 1
    store = service.store()
    assert all(store.get_aspect(m.entity_urn, m.aspect_name)["value"] == m.aspect for m in mcps)
    store.close()


def test_a_refused_batch_fails_its_mcps_with_the_servers_message(service):
    mcps = dataset_mcps(10, "refused")
    bad = MCP("container", mcps[4].entity_urn, "status", {"removed": False})
    mcps.insert(5, bad)
    sink, acked = sink_run(RestSinkConfig(server=service.url, max_per_batch=4, max_threads=1), mcps)
    assert len(acked) == len(mcps) - 4 and bad not in acked
    assert sink.report.failure_count == 4
    assert "HTTP 422" in sink.report.failures[0] and "does not match the URN's type" in sink.report.failures[0]
    assert sink.report.counts["retries"] == 0


def test_proposals_of_one_urn_arrive_in_order(service):
    """Ten successive values per URN over four concurrent lanes: the latest is the last, the history in order."""
    urns = [f"urn:li:dataset:(urn:li:dataPlatform:mysql,shop.order{i},PROD)" for i in range(40)]
    mcps = [MCP("dataset", urn, "datasetProperties", {"name": f"v{step}"}) for step in range(10) for urn in urns]
    sink, acked = sink_run(RestSinkConfig(server=service.url, max_per_batch=7, max_threads=4), mcps)
    assert len(acked) == len(mcps)
    store = service.store()
    for urn in urns:
        assert store.versions(urn, "datasetProperties") == list(range(10))
        assert store.get_aspect(urn, "datasetProperties")["value"] == {"name": "v9"}
        assert [store.get_aspect(urn, "datasetProperties", v)["value"]["name"] for v in range(1, 10)] == [f"v{s}" for s in range(9)]
    store.close()


def test_emitter_as_a_context_manager(service):
    urn = "urn:li:dataset:(urn:li:dataPlatform:mysql,shop.emitted,PROD)"
    with RestEmitter(service.url) as emitter:
        emitter.emit(MCP("dataset", urn, "status", {"removed": False}))
        stats = emitter.emit_many(dataset_mcps(5, "many"))
    assert stats.acknowledged == 11 and stats.failed == 0
    with RestEmitter(service.url, mode="ASYNC_BATCH") as emitter:
        emitter.emit(MCP("dataset", urn, "datasetProperties", {"name": "emitted"}))
    store = service.store()
    assert store.get_entity(urn) == {"status": {"removed": False}, "datasetProperties": {"name": "emitted"}}
    store.close()
    with pytest.raises(EmitError, match="HTTP 422.*does not match"):
        RestEmitter(service.url).emit(MCP("container", urn, "status", {"removed": False}))
    with pytest.raises(EmitError, match="HTTP 422"):
        with RestEmitter(service.url, mode="ASYNC_BATCH") as emitter:
            emitter.emit(MCP("container", urn, "status", {"removed": False}))


def test_queued_proposals_are_held_at_their_own_size(tmp_path):
    """orjson's result keeps the buffer it grew for escaping an aspect string (8 times a string-heavy
    payload), and a queued payload waits in its lane for up to three batches: the lanes hold copies."""
    mcps = [MCP("dataset", f"urn:li:dataset:(urn:li:dataPlatform:mysql,shop.q{i:04d},PROD)", "datasetProperties",
                {"name": f"q{i}", "description": 'say "hi" ' * 400}) for i in range(300)]
    payload_bytes = sum(len(RestEmitter._payload(m)) for m in mcps)
    with metadata_service(tmp_path) as svc:
        emitter = RestEmitter(svc.url, mode="ASYNC_BATCH", max_threads=1, max_per_batch=1000)
        tracemalloc.start()
        try:
            for mcp in mcps:  # under 1,000 proposals and 15 MiB: all of them wait in the lane's batch
                emitter.emit(mcp)
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        emitter.flush()
        emitter.close()
    assert emitter.stats.acknowledged == 300
    assert held < 1.5 * payload_bytes, f"{held:,} bytes held for {payload_bytes:,} bytes of proposals"


def test_token_is_sent_and_never_shown(tmp_path, shop_db, write_recipe, monkeypatch):
    token = "tok-9f8e7d6c5b4a"
    with metadata_service(tmp_path, token=token) as svc:
        monkeypatch.setenv("DATAHUB_TOKEN", token)
        recipe = write_recipe(rest_recipe(shop_source(shop_db), svc.url, extra_sink="    token: ${DATAHUB_TOKEN}\n"))
        report = run_cli("ingest", "-c", str(recipe), "--report-to", str(tmp_path / "report.json"), timeout=120)
        assert report.returncode == 0, report.stderr
        assert token not in report.stdout + report.stderr + (tmp_path / "report.json").read_text()
        monkeypatch.setenv("DATAHUB_TOKEN", "wrong-token-value")
        refused = run_cli("ingest", "-c", str(recipe), timeout=120)
        with pytest.raises(EmitError, match=r"HTTP 401: Unauthorized"):
            RestEmitter(svc.url, "wrong-token-value").emit(MCP("dataset", URN_EMITTED, "status", {"removed": False}))
    assert refused.returncode == 2
    assert f"error: DataHub at {svc.url} refused the request as unauthenticated (HTTP 401): the token was not accepted" in refused.stderr
    assert "wrong-token-value" not in refused.stdout + refused.stderr and "Traceback" not in refused.stderr


def test_no_server_is_one_clear_line_and_exit_2(tmp_path, shop_db, write_recipe):
    url = f"http://127.0.0.1:{free_port()}"
    recipe = write_recipe(rest_recipe(shop_source(shop_db), url))
    result = run_cli("ingest", "-c", str(recipe), timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot reach DataHub at {url}: connection refused"]
    assert "Traceback" not in result.stderr


class _NotDataHub(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><body>some other web app</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_server_that_is_not_datahub_is_refused_at_start():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotDataHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(ConnectionFailure, match=r"is not a DataHub metadata service: GET /config did not answer with noCode=true \(it answered with a web page"):
            RestSink(RestSinkConfig(server=url), StageReport("sink")).check()
    finally:
        server.shutdown()
        server.server_close()


def test_config_keys_are_datahubs(write_recipe, shop_db):
    from ingest_assets.core.errors import RecipeError
    from ingest_assets.core.recipe import load_recipe

    recipe = write_recipe(rest_recipe(shop_source(shop_db), "http://localhost:8080", extra_sink=(
        "    timeout_sec: 5\n    retry_max_times: 2\n    retry_status_codes: [429, 503]\n    max_threads: 4\n"
        "    mode: SYNC\n    max_per_batch: 50\n    disable_ssl_verification: true\n    extra_headers: {X-Team: data}\n")))
    config = load_recipe(recipe).sink_config
    assert (config.mode, config.max_per_batch, config.retry_status_codes) == ("SYNC", 50, [429, 503])
    bad = write_recipe(rest_recipe(shop_source(shop_db), "localhost:8080", extra_sink="    mode: ASYNC_BACH\n"), "bad.yml")
    with pytest.raises(RecipeError) as err:
        load_recipe(bad)
    text = str(err.value)
    assert "sink.config.server: expected an http:// or https:// URL" in text and "sink.config.mode" in text


def test_a_failed_run_does_not_advance_state(tmp_path, shop_db, write_recipe):
    """The server refuses part of the run: the sink stage fails and the run is not recorded as done."""
    with metadata_service(tmp_path, max_body_mb=0.0015) as svc:
        recipe = write_recipe(rest_recipe(shop_source(shop_db), svc.url, "shop_partial"))
        with pytest.raises(SinkFailure, match="acknowledged .* of .* MCPs"):
            run_pipeline(recipe, tmp_path / "artifacts")
    report = json.loads((tmp_path / "artifacts" / "shop_partial" / "sink.report.json").read_text())
    assert report["failure_count"] > 0 and "HTTP 413" in report["failures"][0]
    assert StateStore().summary("shop_partial")["last_run_id"] is None


MARIADB_SCHEMA = [
    "CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(255) NOT NULL COMMENT 'login', "
    "kind ENUM('person','company'), created DATETIME) COMMENT 'people who buy'",
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2), notes JSON, "
    "FOREIGN KEY (customer_id) REFERENCES customers (id))",
    "CREATE VIEW big_orders AS SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
    "WHERE o.total > 100",
]


def test_mariadb_over_rest_equals_the_file_sink(tmp_path, write_recipe, mariadb):
    database = mariadb.create("shop", MARIADB_SCHEMA)
    source = (f"  type: mysql\n  config:\n    host_port: {HOST}:{PORT}\n    username: {USER}\n    password: '{PASSWORD}'\n"
              f"    database_pattern: {{allow: ['^{database}$']}}")
    with metadata_service(tmp_path) as svc:
        report = run_pipeline(write_recipe(rest_recipe(source, svc.url, "maria_rest"), "rest.yml"), tmp_path / "artifacts")
        out = tmp_path / "mcps.json"
        file_recipe = f"pipeline_name: maria_file\nsource:\n{source}\nsink:\n  type: file\n  config:\n    filename: {out}\n"
        run_pipeline(write_recipe(file_recipe, "file.yml"), tmp_path / "artifacts")
        store = svc.store()
        held = store_latest(store)
        store.close()
    expected = file_sink_latest(out)
    view = f"urn:li:dataset:(urn:li:dataPlatform:mysql,{database}.big_orders,PROD)"
    assert (view, "upstreamLineage") in expected and (view, "viewProperties") in expected
    assert held == expected
    assert report.counts["acknowledged"] == len(expected)
