"""The asset graph of a recipe and a full in-process materialize() of the quickstart recipe."""

import json
import shutil
from pathlib import Path

import dagster as dg

from ingest_assets.core.recipe import load_recipe
from ingest_assets.definitions import build_definitions
from ingest_assets.orchestration.assets import IngestSettings, build_pipeline
from ingest_assets.stages import RunFiles
from ingest_assets.store.lite import LiteStore

ROOT = Path(__file__).resolve().parent.parent


def quickstart(tmp_path, shop_db, monkeypatch):
    monkeypatch.setenv("SHOP_DB", str(shop_db))
    monkeypatch.setenv("INGEST_LITE_URL", f"sqlite:///{tmp_path / 'lite.db'}")
    return load_recipe(ROOT / "recipes" / "quickstart.yml")


def test_asset_graph_of_a_recipe(tmp_path, shop_db, monkeypatch):
    parts = build_pipeline(quickstart(tmp_path, shop_db, monkeypatch))
    snapshot, mcps, sink = parts.assets
    assert snapshot.key == dg.AssetKey(["quickstart", "snapshot"])
    assert mcps.key == dg.AssetKey(["quickstart", "mcps"])
    assert sink.key == dg.AssetKey(["quickstart", "datahub-lite"])
    assert mcps.asset_deps[mcps.key] == {snapshot.key}
    assert sink.asset_deps[sink.key] == {mcps.key}
    for asset in parts.assets:
        assert asset.group_names_by_key[asset.key] == "quickstart"
    spec = next(iter(snapshot.specs))
    assert "sqlite" in spec.kinds
    assert [job.name for job in parts.jobs] == ["quickstart_job"]


def test_definitions_load_every_example_recipe(tmp_path, shop_db, monkeypatch):
    monkeypatch.setenv("SHOP_DB", str(shop_db))
    recipes = tmp_path / "recipes"
    shutil.copytree(ROOT / "recipes", recipes)
    (recipes / "broken.yml").write_text("pipeline_name: broken\nsource: {type: nosuch}\n")
    defs = build_definitions(recipes)
    groups = {key.path[0] for key in defs.resolve_asset_graph().get_all_asset_keys()}
    examples = {load_recipe(path).pipeline_name for path in (ROOT / "recipes").glob("*.yml")}
    assert len(examples) >= 3 and groups == examples  # every example recipe, and not the broken one
    assert defs.resolve_job_def("quickstart_job") is not None


def test_materialize_quickstart_end_to_end(tmp_path, shop_db, monkeypatch):
    loaded = quickstart(tmp_path, shop_db, monkeypatch)
    settings = IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))
    result = dg.materialize(build_pipeline(loaded).assets, resources={"ingest": settings})
    assert result.success
    files = RunFiles.for_pipeline("quickstart", tmp_path / "artifacts")
    assert files.snapshot.exists() and files.mcps.exists()
    snapshot_meta = result.asset_materializations_for_node("quickstart__snapshot")[0].metadata
    assert snapshot_meta["count: dataset records"].value == 15
    mcps_meta = result.asset_materializations_for_node("quickstart__mcps")[0].metadata
    sink_meta = result.asset_materializations_for_node("quickstart__datahub_lite")[0].metadata
    sent = sink_meta["count: acknowledged"].value
    assert sent == sum(1 for _ in files.mcps.open()) and sent > 100
    assert "| sink |" in sink_meta["summary"].value
    assert mcps_meta["recipe"].value["pipeline_name"] == "quickstart"
    store = LiteStore(f"sqlite:///{tmp_path / 'lite.db'}")
    entities, aspects = store.count()
    assert entities == 1 + 15 + 3 and aspects == sent
    tags = store.get_aspect("urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.orders,PROD)", "globalTags")
    assert tags["value"] == {"tags": [{"tag": "urn:li:tag:quickstart"}]}
    system = tags["systemMetadata"]
    assert system["runId"] == result.run_id and system["pipelineName"] == "quickstart"


def test_sink_asset_re_emits_without_touching_the_source(tmp_path, shop_db, monkeypatch):
    loaded = quickstart(tmp_path, shop_db, monkeypatch)
    settings = IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))
    assets = build_pipeline(loaded).assets
    assert dg.materialize(assets, resources={"ingest": settings}).success
    shop_db.unlink()  # the source is gone; the last MCPs can still be emitted again
    (tmp_path / "lite.db").unlink()
    result = dg.materialize(assets, selection=[assets[2].key], resources={"ingest": settings})
    assert result.success
    assert LiteStore(f"sqlite:///{tmp_path / 'lite.db'}").count()[0] == 19


def test_failed_source_fails_the_run_with_a_clean_message(tmp_path, shop_db, monkeypatch):
    loaded = quickstart(tmp_path, shop_db, monkeypatch)
    shop_db.write_text("corrupted" * 1000)
    result = dg.materialize(build_pipeline(loaded).assets, resources={"ingest": IngestSettings(artifacts_dir=str(tmp_path))},
                            raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    data = failure.step_failure_data.user_failure_data
    assert data.description.startswith("cannot open SQLite database") and data.metadata["exit_code"].value == 2
    report = json.loads((tmp_path / "quickstart" / "snapshot.report.json").read_text())
    assert report["failure_count"] == 1
