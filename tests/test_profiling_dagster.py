"""`<pipeline>/profile` for real: Dagster's `materialize()` over MariaDB into the real `ingest-assets serve`,
read back with DataHub's own client (every profile kept, the newest first)."""

from pathlib import Path

import dagster as dg
import pytest
from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph
from datahub.metadata.schema_classes import DatasetProfileClass

from ingest_assets.core.recipe import load_recipe
from ingest_assets.orchestration.assets import IngestSettings, build_pipeline

from .mysql_fixtures import HOST, PORT, Databases, run_sql
from .rest_service import metadata_service


@pytest.fixture()
def database():
    databases = Databases()
    try:
        yield databases.create("prof", ["CREATE TABLE t (id INT PRIMARY KEY, v INT)",
                                        "INSERT INTO t VALUES (1, 10), (2, NULL), (3, 30)"])
    finally:
        databases.drop_all()


def _recipe(tmp_path: Path, database: str, server: str) -> Path:
    path = tmp_path / "recipe.yml"
    path.write_text(f"""\
pipeline_name: prof_dagster
source:
  type: mysql
  config:
    host_port: {HOST}:{PORT}
    username: root
    database_pattern: {{allow: ["^{database}$"]}}
    include_stored_procedures: false
    profiling: {{enabled: true, max_workers: 1}}
sink: {{type: datahub-rest, config: {{server: "{server}"}}}}
schedule: {{cron: "0 2 * * *"}}
profiling_schedule: {{cron: "0 3 * * 0", timezone: UTC}}
""")
    return path


def test_profile_asset_job_and_schedule_sends_every_profile(tmp_path, database):
    with metadata_service(tmp_path) as service:
        loaded = load_recipe(_recipe(tmp_path, database, service.url))
        parts = build_pipeline(loaded)
        keys = [key.to_user_string() for asset in parts.assets for key in asset.keys]
        assert keys == ["prof_dagster/snapshot", "prof_dagster/mcps", "prof_dagster/datahub-rest", "prof_dagster/profile"]
        schema_job, profile_job = parts.jobs
        assert {s.name: s.cron_schedule for s in parts.schedules} == {
            "prof_dagster_schedule": "0 2 * * *", "prof_dagster_profile_schedule": "0 3 * * 0"}
        defs = dg.Definitions(assets=parts.assets, jobs=parts.jobs, resources={"ingest": IngestSettings(
            artifacts_dir=str(tmp_path / "artifacts"))})
        schema_keys = defs.get_job_def(schema_job.name).asset_layer.executable_asset_keys
        assert dg.AssetKey(["prof_dagster", "profile"]) not in schema_keys  # a schema run never waits on profiling

        settings = IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))
        result = dg.materialize(parts.assets, resources={"ingest": settings})
        assert result.success
        profile = [e for e in result.get_asset_materialization_events()
                   if e.asset_key == dg.AssetKey(["prof_dagster", "profile"])][0]
        assert profile.materialization.metadata["count: datasets profiled"].value == 1
        run_sql("INSERT INTO t VALUES (4, 40)", database)
        run_sql("ANALYZE TABLE t", database)
        again = dg.materialize([parts.assets[0], parts.assets[3]], resources={"ingest": settings},
                               selection=[dg.AssetKey(["prof_dagster", "profile"])])
        assert again.success

        graph = DataHubGraph(DatahubClientConfig(server=service.url))
        urn = f"urn:li:dataset:(urn:li:dataPlatform:mysql,{database}.t,PROD)"
        latest = graph.get_latest_timeseries_value(entity_urn=urn, aspect_type=DatasetProfileClass, filter_criteria_map={})
        assert latest.rowCount == 4 and latest.fieldProfiles[1].nullCount == 1
        kept = service.store().aspect_versions(urn, "datasetProfile")
        assert sorted(v["value"]["rowCount"] for v in kept) == [3, 4]
