"""The REST sink through a real HTTP server that injects faults in front of the real metadata service."""

import json
import re

import pytest

from ingest_assets.core.errors import SinkFailure
from ingest_assets.core.handover import read_lines
from ingest_assets.core.mcp import MCP
from ingest_assets.core.recipe import load_recipe
from ingest_assets.stages import RunFiles, run_sink
from ingest_assets.store.state import StateStore

from .fault_proxy import RETRY_KINDS, FaultProxy
from .rest_service import metadata_service, rest_recipe, run_pipeline, shop_source

FAST_RETRIES = ("    timeout_sec: 2\n    retry_max_times: {retries}\n    retry_backoff_seconds: 0.01\n"
                "    retry_backoff_max_seconds: 2\n    max_per_batch: 3\n    max_threads: 4\n")


def sent_mcps(artifacts, pipeline: str) -> dict[tuple[str, str], dict]:
    return {(m.entity_urn, m.aspect_name): m.aspect
            for m in (MCP.from_line(line) for line in read_lines(RunFiles.for_pipeline(pipeline, artifacts).mcps))}


def assert_landed_exactly_once(store, expected: dict) -> None:
    held = {(urn, aspect): value for urn, aspect, value in store.latest()}
    assert held == expected
    for urn, aspect in expected:
        assert store.versions(urn, aspect) == [0], f"{urn} {aspect} was written as more than one version"


def test_faults_are_retried_and_every_mcp_lands_once(tmp_path, shop_db, write_recipe):
    with metadata_service(tmp_path) as svc:
        proxy = FaultProxy(svc.url, share=0.35, retry_after=0.25, client_timeout=2.0)
        try:
            recipe = write_recipe(rest_recipe(shop_source(shop_db), proxy.url, "shop_faults", FAST_RETRIES.format(retries=4)))
            report = run_pipeline(recipe, tmp_path / "artifacts")
        finally:
            proxy.close()
        expected = sent_mcps(tmp_path / "artifacts", "shop_faults")
        store = svc.store()
        assert_landed_exactly_once(store, expected)
        store.close()
    assert all(proxy.faults[kind] >= 1 for kind in RETRY_KINDS + ("slow",)), proxy.faults
    assert report.counts["retries"] == proxy.retry_faults
    assert report.counts["acknowledged"] == len(expected) and report.failure_count == 0
    assert proxy.waits_after_429 and min(proxy.waits_after_429) >= 0.25, "Retry-After was not honoured"
    assert StateStore().summary("shop_faults")["last_run_id"] == "run-1"


@pytest.mark.parametrize("down", ["503", "drop"])
def test_a_server_that_stays_down_fails_the_run_and_state_stays(tmp_path, shop_db, write_recipe, down):
    with metadata_service(tmp_path) as svc:
        proxy = FaultProxy(svc.url, share=0.0)
        proxy.forced = []
        proxy.down = down
        try:
            recipe = write_recipe(rest_recipe(shop_source(shop_db), proxy.url, "shop_down", FAST_RETRIES.format(retries=3)))
            with pytest.raises(SinkFailure) as failure:
                run_pipeline(recipe, tmp_path / "artifacts")
            message = str(failure.value)
            reason = r"HTTP 503: injected server error" if down == "503" else \
                rf"cannot reach DataHub at {re.escape(proxy.url)}: (the server closed the connection without answering|connection reset by the server)"
            assert re.match(rf"{reason} \(still failing after 3 retries\); the run stopped after \d+ MCPs read, 0 acknowledged$", message), message
            assert "\n" not in message
            summary = StateStore().summary("shop_down")
            assert summary["last_run_id"] is None and summary["entities"] == {}
            sink_report = json.loads((tmp_path / "artifacts" / "shop_down" / "sink.report.json").read_text())
            assert sink_report["counts"]["retries"] >= 3 and sink_report["counts"]["acknowledged"] == 0

            proxy.down = None  # the server is back: re-running the sink stage alone delivers the run
            loaded = load_recipe(recipe)
            report = run_sink(loaded, RunFiles.for_pipeline("shop_down", tmp_path / "artifacts"))
        finally:
            proxy.close()
        assert report.failure_count == 0
        store = svc.store()
        assert_landed_exactly_once(store, sent_mcps(tmp_path / "artifacts", "shop_down"))
        store.close()
    assert StateStore().summary("shop_down")["last_run_id"] == "run-1"
