"""Definitions per recipe: schedules, sensors, checks, UI metadata, partitions off, object-storage hand-over."""

import dataclasses
import json

import dagster as dg
import pytest

from ingest_assets.core.errors import RecipeError
from ingest_assets.core.plugin import Source
from ingest_assets.core.recipe import load_recipe
from ingest_assets.definitions import build_definitions
from ingest_assets.orchestration.assets import IngestSettings, build_pipeline
from ingest_assets.sources.sqlite import SqliteSource
from ingest_assets.store.lite import LiteStore

from .dagster_recipes import sqlite_recipe

SCHEDULED = """schedule: {cron: "15 3 * * 1-5", timezone: Europe/Berlin, default_status: RUNNING}
sensor: {source_change: {interval_seconds: 60}, recipe_change: true}
"""


def _evaluations(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def test_definitions_list_jobs_schedules_and_sensors(tmp_path, shop_db):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "shop.yml").write_text(sqlite_recipe(shop_db, tmp_path / "lite.db", "shop", SCHEDULED))
    (recipes / "plain.yml").write_text(sqlite_recipe(shop_db, tmp_path / "lite.db", "plain"))
    (recipes / "badcron.yml").write_text(sqlite_recipe(shop_db, tmp_path / "lite.db", "badcron", 'schedule: {cron: "61 * * * *"}\n'))
    defs = build_definitions(recipes)

    schedule = defs.resolve_schedule_def("shop_schedule")
    assert schedule.cron_schedule == "15 3 * * 1-5" and schedule.execution_timezone == "Europe/Berlin"
    assert schedule.job_name == "shop_job" and schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {"shop_source_change", "shop_recipe_change", "plain_recipe_change"}
    assert sensors["shop_source_change"].minimum_interval_seconds == 60
    assert sensors["shop_source_change"].default_status == dg.DefaultSensorStatus.RUNNING
    assert sensors["shop_recipe_change"].default_status == dg.DefaultSensorStatus.RUNNING
    assert sensors["plain_recipe_change"].default_status == dg.DefaultSensorStatus.STOPPED
    assert {s.job_name for s in sensors.values()} == {"shop_job", "plain_job"}
    jobs = {j.name for j in defs.resolve_all_job_defs()}
    assert {"shop_job", "plain_job"} <= jobs and "badcron_job" not in jobs
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.path[-1], k.name) for k in graph.asset_check_keys if k.asset_key.path[0] == "shop"}
    assert checks == {("snapshot", "no_source_failures"), ("snapshot", "snapshot_not_empty"),
                      ("mcps", "no_mcp_failures"), ("datahub-lite", "no_sink_failures")}
    assert graph.get(dg.AssetKey(["shop", "snapshot"])).pools == {"ingest_shop"}


def test_invalid_cron_is_a_recipe_error(tmp_path, shop_db, write_recipe):
    loaded = load_recipe(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db", "shop", 'schedule: {cron: "0 25 * * *"}\n')))
    with pytest.raises(RecipeError) as raised:
        build_pipeline(loaded)
    (line,) = raised.value.problems
    assert "schedule.cron" in line and "'0 25 * * *'" in line


def test_a_source_without_fingerprint_says_so_at_load(tmp_path, shop_db, write_recipe):
    loaded = load_recipe(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db", "shop", SCHEDULED)))

    class NoFingerprint(SqliteSource):
        fingerprint = Source.fingerprint

    parts = build_pipeline(dataclasses.replace(loaded, source_class=NoFingerprint))
    assert [s.name for s in parts.sensors] == ["shop_recipe_change"]
    assert parts.notes and "has no fingerprint" in parts.notes[0]


def test_partition_by_database_on_a_source_that_cannot_split_is_a_recipe_error(tmp_path, shop_db, write_recipe):
    loaded = load_recipe(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db", "shop", "partition_by: database\n")))
    assert len(build_pipeline(loaded).assets) == 3  # the CLI runs the whole source, unpartitioned
    with pytest.raises(RecipeError, match="partition_by: .*cannot split by database"):
        build_pipeline(loaded, partitioned=True)


def test_a_run_passes_its_checks_and_tells_its_story(tmp_path, shop_db, write_recipe, monkeypatch):
    monkeypatch.setenv("TAG_API_TOKEN", "s3cr3t-tag-value")
    loaded = load_recipe(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db", tag="urn:li:tag:${TAG_API_TOKEN}")))
    settings = IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))
    result = dg.materialize(build_pipeline(loaded).assets, resources={"ingest": settings})
    assert result.success
    evaluations = _evaluations(result)
    assert len(evaluations) == 4 and all(e.passed for e in evaluations.values())
    assert evaluations[("snapshot", "snapshot_not_empty")].metadata["datasets"].value == 15

    snapshot = result.asset_materializations_for_node("shop__snapshot")[0].metadata
    mcps = result.asset_materializations_for_node("shop__mcps")[0].metadata
    sink = result.asset_materializations_for_node("shop__datahub_lite")[0].metadata
    assert snapshot["datasets"].value == 15 and snapshot["count: tables"].value == 12
    rows = {(r.data["entity type"], r.data["aspect"]): r.data["MCPs"] for r in mcps["aspects per entity type"].value.records}
    assert rows[("dataset", "schemaMetadata")] == 15 and rows[("container", "containerProperties")] == 1
    assert rows[("dataset", "globalTags")] == 15
    assert mcps["count: entities dataset"].value == 15
    assert sink["count: acknowledged"].value == mcps["count: mcps"].value
    assert sink["bytes_sent"].value == 0  # the embedded store counts no bytes; the file sink does (below)
    summary = sink["summary"].value
    assert summary.startswith("## shop: sqlite → datahub-lite")
    assert all(f"| {stage} |" in summary for stage in ("snapshot", "mcps", "sink"))
    assert not any(key.startswith("count: aspects dataset/") for key in mcps), "per-aspect counts are the table's rows"
    assert {"report", "duration per stage", "warning details"}.isdisjoint(sink)
    for meta in (snapshot, mcps, sink):
        assert "s3cr3t-tag-value" not in json.dumps({k: str(v.value) for k, v in meta.items()})
    assert sink["recipe"].value["sink"]["type"] == "datahub-lite"


def test_sink_metadata_counts_the_bytes_the_sink_wrote(tmp_path, shop_db, write_recipe):
    out = tmp_path / "mcps.json"
    recipe = sqlite_recipe(shop_db, tmp_path / "lite.db").split("sink:")[0] + f"sink:\n  type: file\n  config: {{filename: {out}}}\n"
    result = dg.materialize(build_pipeline(load_recipe(write_recipe(recipe))).assets,
                            resources={"ingest": IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))})
    sink = result.asset_materializations_for_node("shop__file")[0].metadata
    assert sink["bytes_sent"].value == out.stat().st_size > 0


def test_an_emptied_source_blocks_mcps_and_sink(tmp_path, shop_db, write_recipe):
    path = write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db"))
    settings = IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))
    instance = dg.DagsterInstance.ephemeral()
    assets = build_pipeline(load_recipe(path)).assets
    assert dg.materialize(assets, resources={"ingest": settings}, instance=instance).success
    before = LiteStore(f"sqlite:///{tmp_path / 'lite.db'}").count()

    path.write_text(sqlite_recipe(shop_db, tmp_path / "lite.db", table_deny=".*"))  # steps load the recipe afresh
    result = dg.materialize(assets, resources={"ingest": settings}, instance=instance, raise_on_error=False)
    assert not result.success
    check = _evaluations(result)[("snapshot", "snapshot_not_empty")]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["previous datasets"].value == 15
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"snapshot"}  # mcps and sink did not run
    assert LiteStore(f"sqlite:///{tmp_path / 'lite.db'}").count() == before

    allowed = IngestSettings(artifacts_dir=str(tmp_path / "artifacts"), allow_empty=True)
    assert dg.materialize(assets, resources={"ingest": allowed}, instance=instance).success


def test_a_source_that_never_had_datasets_only_warns(tmp_path, shop_db, write_recipe):
    loaded = load_recipe(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db", table_deny=".*")))
    result = dg.materialize(build_pipeline(loaded).assets, resources={"ingest": IngestSettings(artifacts_dir=str(tmp_path / "a"))})
    assert result.success
    check = _evaluations(result)[("snapshot", "snapshot_not_empty")]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN


def test_a_failed_source_shows_a_failed_check_with_the_reason(tmp_path, shop_db, write_recipe):
    loaded = load_recipe(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db")))
    shop_db.write_text("corrupted" * 1000)
    result = dg.materialize(build_pipeline(loaded).assets, resources={"ingest": IngestSettings(artifacts_dir=str(tmp_path / "a"))},
                            raise_on_error=False)
    assert not result.success
    check = _evaluations(result)[("snapshot", "no_source_failures")]
    assert not check.passed and check.metadata["failures"].value == 1
    assert "cannot open SQLite database" in check.metadata["details"].value


def test_hand_over_files_on_object_storage(tmp_path, shop_db, write_recipe):
    from upath import UPath

    loaded = load_recipe(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db")))
    base = f"memory://ingest-test-{tmp_path.name}"
    settings = IngestSettings(artifacts_dir=base)
    assets = build_pipeline(loaded).assets
    result = dg.materialize(assets, resources={"ingest": settings})
    assert result.success
    remote = UPath(base) / "shop"
    names = sorted(p.name for p in remote.iterdir())
    assert {"mcps.jsonl", "mcps.report.json", "sink.report.json", "snapshot.jsonl", "snapshot.report.json"} <= set(names)
    sent = result.asset_materializations_for_node("shop__datahub_lite")[0].metadata["count: acknowledged"].value
    assert sum(1 for _ in (remote / "mcps.jsonl").open("r")) == sent
    assert not (tmp_path / "home" / "artifacts").exists()  # nothing went to the local default base

    (tmp_path / "lite.db").unlink()
    again = dg.materialize(assets, selection=[assets[2].key], resources={"ingest": settings})
    assert again.success and LiteStore(f"sqlite:///{tmp_path / 'lite.db'}").count()[0] == 19


def test_change_only_emission_is_told_in_the_metadata(tmp_path, shop_db, write_recipe):
    import sqlite3

    loaded = load_recipe(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db", stateful=True)))
    settings = IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))
    assets = build_pipeline(loaded).assets

    def mcps_metadata():
        result = dg.materialize(assets, resources={"ingest": settings})
        assert result.success
        return result.asset_materializations_for_node("shop__mcps")[0].metadata

    first = mcps_metadata()
    assert first["new aspects"].value == first["count: mcps"].value > 100 and first["unchanged aspects"].value == 0
    second = mcps_metadata()
    assert second["unchanged aspects"].value == first["new aspects"].value
    assert second["new aspects"].value == second["changed aspects"].value == second["removed entities"].value == 0
    with sqlite3.connect(shop_db) as conn:
        conn.execute("CREATE TABLE gift_cards (code TEXT PRIMARY KEY)")
    third = mcps_metadata()
    assert third["new aspects"].value > 0 and third["unchanged aspects"].value == first["new aspects"].value
    with sqlite3.connect(shop_db) as conn:
        conn.execute("DROP TABLE gift_cards")
    fourth = mcps_metadata()
    assert fourth["removed entities"].value == 1 and fourth["new aspects"].value == 0


def test_recipe_definitions_for_a_file_or_a_directory_and_one_process_per_run(tmp_path, shop_db):
    from ingest_assets.definitions import recipe_definitions

    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "one.yml").write_text(sqlite_recipe(shop_db, tmp_path / "lite.db", "one"))
    (recipes / "two.yml").write_text(sqlite_recipe(shop_db, tmp_path / "lite.db", "two"))
    single = recipe_definitions(recipes / "one.yml")
    assert {j.name for j in single.resolve_all_job_defs()} >= {"one_job"} and "two_job" not in {j.name for j in single.resolve_all_job_defs()}
    both = recipe_definitions(recipes)
    assert {"one_job", "two_job"} <= {j.name for j in both.resolve_all_job_defs()}
    implicit = both.resolve_implicit_global_asset_job_def()  # what the UI's "Materialize" runs
    assert implicit.executor_def is dg.in_process_executor


def test_the_recipe_in_metadata_is_as_it_was_read_with_secrets_masked(tmp_path, shop_db, write_recipe, monkeypatch):
    monkeypatch.setenv("SHOP_DB_FOR_METADATA", str(shop_db))
    monkeypatch.setenv("LITE_TOKEN", "s3cr3t-in-env")
    recipe = f"""pipeline_name: shop
source:
  type: sqlite
  config: {{path: "${{SHOP_DB_FOR_METADATA}}", database: "${{SHOP_NAME:-shop}}"}}
sink:
  type: file
  config: {{filename: "{tmp_path / 'out.json'}"}}
run_id: "${{LITE_TOKEN}}"
"""
    result = dg.materialize(build_pipeline(load_recipe(write_recipe(recipe))).assets,
                            resources={"ingest": IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))})
    shown = result.asset_materializations_for_node("shop__snapshot")[0].metadata["recipe"].value
    assert shown["source"]["config"] == {"path": str(shop_db), "database": "shop"}  # ${VAR}s resolved
    assert "s3cr3t-in-env" not in json.dumps(shown)  # a value from a variable whose name looks secret stays masked
