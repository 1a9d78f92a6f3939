"""The CLI facing an unlucky operator and hostile names: a state store that cannot be written or goes away
mid-run, names that would drive the terminal, credential headers in what Dagster persists."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg

from ingest_assets.core.mcp import MCP
from ingest_assets.core.recipe import load_recipe
from ingest_assets.orchestration.assets import IngestSettings, build_pipeline
from ingest_assets.store.lite import LiteStore
from ingest_assets.store.state import StateStore

from .cli_runner import run_cli
from .dagster_recipes import sqlite_recipe
from .fault_proxy import FaultProxy
from .mysql_fixtures import HOST, PASSWORD, PORT, USER, connect
from .rest_service import metadata_service, rest_recipe, shop_source


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr[-3000:]
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_state_store_that_cannot_be_written_is_one_line_exit_2(tmp_path, shop_db, write_recipe):
    state = tmp_path / "state.db"
    StateStore(f"sqlite:///{state}").close()  # the tables exist; the file is then opened read-only
    recipe = write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db"))
    result = run_cli("ingest", "-c", str(recipe), env={"INGEST_STATE_URL": f"sqlite:///file:{state}?mode=ro&uri=true"})
    assert result.returncode == 2, result.stderr[-3000:]
    errors = _error_lines(result.stderr)
    assert len(errors) == 1 and "state store" in errors[0] and "cannot be written" in errors[0], result.stderr[-3000:]
    assert len(result.stderr.strip().splitlines()) <= 3


def test_a_state_database_lost_mid_run_gives_one_line_and_the_summary(tmp_path, shop_db):
    database = f"hardening_state_{uuid.uuid4().hex[:8]}"
    connect().cursor().execute(f"CREATE DATABASE {database}")
    state_url = f"mysql+pymysql://{USER}:{PASSWORD}@{HOST}:{PORT}/{database}"
    try:
        with metadata_service(tmp_path) as svc:
            proxy = FaultProxy(svc.url, share=0, slow=0.03)
            proxy.forced = ["slow"] * 100_000
            try:
                recipe = tmp_path / "recipe.yml"
                recipe.write_text(rest_recipe(shop_source(shop_db), proxy.url, "lost", "    mode: SYNC\n    max_threads: 1\n"))
                cli = subprocess.Popen([str(Path(sys.executable).with_name("ingest-assets")), "ingest", "-c", str(recipe)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       env={**os.environ, "INGEST_STATE_URL": state_url})
                deadline = time.time() + 120
                while proxy.passed < 10 and cli.poll() is None and time.time() < deadline:
                    time.sleep(0.01)
                connect().cursor().execute(f"DROP DATABASE {database}")  # the state store goes away inside the sink stage
                stdout, stderr = cli.communicate(timeout=120)
            finally:
                proxy.close()
    finally:
        connect().cursor().execute(f"DROP DATABASE IF EXISTS {database}")
        if cli.poll() is None:
            cli.send_signal(signal.SIGKILL)
    assert cli.returncode == 1, stderr[-3000:]
    errors = _error_lines(stderr)
    assert len(errors) == 1 and "state store" in errors[0], stderr[-3000:]
    assert "Pipeline lost: sqlite -> datahub-rest" in stdout and "sink: acknowledged" in stdout


def test_lite_ls_escapes_control_characters_in_names(tmp_path):
    url = f"sqlite:///{tmp_path / 'lite.db'}"
    urn = "urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.evil\x1b[2J\nFAKE,PROD)"
    store = LiteStore(url)
    store.upsert_many([MCP("dataset", urn, "datasetProperties", {"name": "evil\x1b[2J\nFAKE\u202etxt.exe"}),
                       MCP("dataset", urn, "subTypes", {"typeNames": ["Table\x07"]})])
    store.close()
    result = run_cli("lite", "--store", url, "ls")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\u202e" not in result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and "evil\\x1b[2J\\nFAKE\\u202etxt.exe" in lines[0] and "Table\\x07" in lines[0]
    search = run_cli("lite", "--store", url, "search", "evil")
    assert search.stdout.splitlines() == ["urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.evil\\x1b[2J\\nFAKE,PROD)"]


def test_credential_headers_never_reach_dagster_storage(tmp_path, shop_db, monkeypatch):
    """A real materialization on a persistent instance: neither its event log nor its run storage holds the header values."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    rest = tmp_path / "rest.yml"
    with metadata_service(tmp_path) as svc:
        rest.write_text(rest_recipe(shop_source(shop_db), svc.url, "headers",
                                    "    extra_headers:\n      Authorization: Bearer tok-SECRET-9f8e7d\n"
                                    "      X-Api-Key: key-SECRET-1a2b3c\n      X-Team: data-platform\n"))
        loaded = load_recipe(rest)
        with dg.DagsterInstance.get() as instance:
            result = dg.materialize(build_pipeline(loaded).assets, instance=instance,
                                    resources={"ingest": IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))})
            assert result.success
            records = instance.get_records_for_run(result.run_id).records
            events = json.dumps([dg.serialize_value(record.event_log_entry) for record in records])
            run = dg.serialize_value(instance.get_run_by_id(result.run_id))
    assert "data-platform" in events  # the recipe is there, with what is not a secret
    for secret in ("tok-SECRET-9f8e7d", "key-SECRET-1a2b3c"):
        assert secret not in events and secret not in run
        for path in home.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
