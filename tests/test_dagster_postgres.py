"""A pipeline run on a Dagster instance whose storage is the local PostgreSQL, configured by the shipped
deploy/production/dagster.yaml (minus the Kubernetes launcher and S3 compute logs, not installed here)."""

import uuid
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml

from ingest_assets.core.recipe import load_recipe
from ingest_assets.orchestration.assets import IngestSettings, build_pipeline

from .dagster_recipes import sqlite_recipe

ROOT = Path(__file__).resolve().parent.parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _admin(sql: str) -> None:
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


@pytest.fixture
def dagster_database():
    name = f"ingest_dagster_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    yield name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_pipeline_on_a_postgres_instance(tmp_path, shop_db, write_recipe, dagster_database, monkeypatch):
    config = yaml.safe_load((ROOT / "deploy" / "production" / "dagster.yaml").read_text())
    for needs_extra_packages in ("run_launcher", "compute_logs"):
        config.pop(needs_extra_packages)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for key, value in {"DAGSTER_PG_HOST": PG["host"], "DAGSTER_PG_USER": PG["user"], "DAGSTER_PG_PASSWORD": "",
                       "DAGSTER_PG_DB": dagster_database}.items():
        monkeypatch.setenv(key, value)

    loaded = load_recipe(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db")))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        pools = instance.get_concurrency_config().pool_config
        assert pools.pool_granularity.value == "run" and pools.default_pool_limit == 1

        result = dg.materialize(build_pipeline(loaded).assets, instance=instance,
                                resources={"ingest": IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))})
        assert result.success

        record = instance.fetch_materializations(dg.AssetKey(["shop", "snapshot"]), limit=1).records[0]
        assert record.run_id == result.run_id
        assert record.asset_materialization.metadata["datasets"].value == 15
        sink = instance.fetch_materializations(dg.AssetKey(["shop", "datahub-lite"]), limit=1).records[0]
        assert sink.asset_materialization.metadata["count: acknowledged"].value > 100
        check_key = dg.AssetCheckKey(dg.AssetKey(["shop", "snapshot"]), "snapshot_not_empty")
        (execution,) = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=5)
        assert execution.run_id == result.run_id and execution.status.value == "SUCCEEDED"
        assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS

    conn = psycopg2.connect(dbname=dagster_database, **PG)
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM runs")
        assert cur.fetchone()[0] == 1
    finally:
        conn.close()
