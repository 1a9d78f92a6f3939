"""Stateful runs end to end: change-only emission, soft-deletes, the fail-safe, and a sink that fails halfway.

SQLite source into the file and datahub-lite sinks, through the CLI (in-process `main`) and Dagster's
`materialize`. State, stage files and stores live under tmp_path (see conftest's isolated_home).
"""

import json
import sqlite3

import dagster as dg
import pytest

from ingest_assets.cli import main
from ingest_assets.core.recipe import load_recipe
from ingest_assets.orchestration.assets import IngestSettings, build_pipeline
from ingest_assets.store.lite import LiteStore
from ingest_assets.store.state import StateStore

from .mysql_fixtures import HOST, PASSWORD, PORT, USER, mariadb, run_sql  # noqa: F401
from .stateful_catalog import TABLES, build_catalog, dataset_urn, execute, keys, recipe_text, sent

FULL_RUN_MCPS = 47  # 1 container (5) + 5 tables (6 each) + 1 view (8) + its query (4)


@pytest.fixture
def catalog(tmp_path):
    return build_catalog(tmp_path / "fin.db")


@pytest.fixture
def lite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'lite.db'}"


@pytest.fixture
def artifacts(isolated_home):
    return isolated_home / "artifacts"


def lite_sink(url: str, batch_size: int = 2000) -> str:
    return json.dumps({"type": "datahub-lite", "config": {"url": url, "batch_size": batch_size}})


def ingest(recipe, *flags: str) -> int:
    return main(["ingest", "-c", str(recipe), *flags])


def state_summary(capsys) -> dict:
    capsys.readouterr()
    assert main(["state", "show", "fin", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_unchanged_rerun_sends_nothing_and_one_altered_column_sends_one_aspect(catalog, write_recipe, lite_url, artifacts):
    recipe = write_recipe(recipe_text(catalog, lite_sink(lite_url)))
    assert ingest(recipe) == 0
    assert len(sent(artifacts)) == FULL_RUN_MCPS
    assert ingest(recipe) == 0
    assert sent(artifacts) == []

    execute(catalog, "ALTER TABLE payments ADD COLUMN currency CHAR(3)")
    assert ingest(recipe) == 0
    changed = sent(artifacts)
    assert keys(changed) == {(dataset_urn("payments"), "schemaMetadata")}
    fields = [f["fieldPath"] for f in LiteStore(lite_url).get_aspect(dataset_urn("payments"), "schemaMetadata")["value"]["fields"]]
    assert fields == ["id", "amount", "note", "currency"]

    assert ingest(recipe, "--full-refresh") == 0
    assert len(sent(artifacts)) == FULL_RUN_MCPS
    assert ingest(recipe) == 0
    assert sent(artifacts) == []
    assert main(["state", "reset", "fin"]) == 0
    assert ingest(recipe) == 0
    assert len(sent(artifacts)) == FULL_RUN_MCPS


def test_a_new_transformer_sends_exactly_what_it_adds(catalog, write_recipe, lite_url, artifacts):
    recipe = write_recipe(recipe_text(catalog, lite_sink(lite_url)))
    assert ingest(recipe) == 0
    tagged = json.loads(recipe.read_text())
    tagged["transformers"] = [{"type": "simple_add_dataset_tags", "config": {"tag_urns": ["urn:li:tag:finance"]}}]
    recipe.write_text(json.dumps(tagged))
    assert ingest(recipe) == 0
    added = sent(artifacts)
    assert keys(added) == {(dataset_urn(t), "globalTags") for t in TABLES + ["big_invoices"]}
    assert ingest(recipe) == 0
    assert sent(artifacts) == []


def test_file_sink_holds_only_what_changed(catalog, write_recipe, tmp_path):
    out = tmp_path / "out.json"
    recipe = write_recipe(recipe_text(catalog, json.dumps({"type": "file", "config": {"filename": str(out)}})))
    assert ingest(recipe) == 0
    assert len(json.loads(out.read_text())) == FULL_RUN_MCPS
    assert ingest(recipe) == 0
    assert json.loads(out.read_text()) == []
    execute(catalog, "ALTER TABLE ledgers ADD COLUMN closed_at DATETIME")
    assert ingest(recipe) == 0
    written = json.loads(out.read_text())
    assert [(m["entityUrn"], m["aspectName"]) for m in written] == [(dataset_urn("ledgers"), "schemaMetadata")]


def test_dropped_table_is_one_soft_delete_and_comes_back_in_full(catalog, write_recipe, lite_url, artifacts, capsys):
    recipe = write_recipe(recipe_text(catalog, lite_sink(lite_url)))
    assert ingest(recipe) == 0
    execute(catalog, "DROP TABLE refunds")
    assert ingest(recipe) == 0
    removal = sent(artifacts)
    assert [(m.entity_urn, m.aspect_name, m.aspect) for m in removal] == [(dataset_urn("refunds"), "status", {"removed": True})]
    store = LiteStore(lite_url)
    assert store.get_aspect(dataset_urn("refunds"), "status")["value"] == {"removed": True}
    assert dataset_urn("refunds") not in [urn for _, _, urn in store.browse()]
    assert state_summary(capsys)["entities"]["dataset"] == {"present": 5, "removed": 1}

    assert ingest(recipe) == 0
    assert sent(artifacts) == []  # removed once, not again

    execute(catalog, "CREATE TABLE refunds (id INTEGER PRIMARY KEY, amount DECIMAL(10, 2), note TEXT)")
    assert ingest(recipe) == 0
    back = sent(artifacts)
    assert keys(back) == {(dataset_urn("refunds"), a) for a in
                          ("container", "status", "datasetProperties", "schemaMetadata", "subTypes", "browsePathsV2")}
    assert next(m for m in back if m.aspect_name == "status").aspect == {"removed": False}
    assert store.get_aspect(dataset_urn("refunds"), "status")["value"] == {"removed": False}


def test_without_stateful_ingestion_nothing_is_removed(catalog, write_recipe, lite_url, artifacts):
    recipe = write_recipe(recipe_text(catalog, lite_sink(lite_url), stateful=False))
    assert ingest(recipe) == 0
    execute(catalog, "DROP TABLE refunds")
    assert ingest(recipe) == 0
    assert sent(artifacts) == []


def test_a_table_the_filter_no_longer_allows_is_not_removed(catalog, write_recipe, lite_url, artifacts):
    assert ingest(write_recipe(recipe_text(catalog, lite_sink(lite_url)))) == 0
    assert ingest(write_recipe(recipe_text(catalog, lite_sink(lite_url), table_deny=[r"fin\.refunds"]))) == 0
    assert sent(artifacts) == []


def test_fail_safe_threshold_holds_mass_removal_until_overridden(catalog, write_recipe, lite_url, artifacts, capsys):
    recipe = write_recipe(recipe_text(catalog, lite_sink(lite_url), threshold=50))
    assert ingest(recipe) == 0
    execute(catalog, "DROP VIEW big_invoices", *(f"DROP TABLE {t}" for t in TABLES[1:]))
    capsys.readouterr()
    assert ingest(recipe) == 0
    assert sent(artifacts) == []
    assert "6 of 8 entities in scope (75%) are gone, above fail_safe_threshold 50%" in capsys.readouterr().out
    assert ingest(recipe, "--allow-mass-removal") == 0
    removed = sent(artifacts)
    assert {m.entity_urn for m in removed} >= {dataset_urn(t) for t in TABLES[1:] + ["big_invoices"]}
    assert len(removed) == 6 and all(m.aspect == {"removed": True} for m in removed)


def _fail_writes_after(lite_url: str, rows: int) -> None:
    """The store's database refuses every write once it holds `rows` aspect rows (as a full disk would)."""
    LiteStore(lite_url).close()
    path = lite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute(f"""CREATE TRIGGER disk_full BEFORE INSERT ON metadata_aspect_v2
                         WHEN (SELECT count(*) FROM metadata_aspect_v2) >= {rows}
                         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END""")


def _writes_work_again(lite_url: str) -> None:
    with sqlite3.connect(lite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DROP TRIGGER disk_full")


def test_sink_failing_halfway_is_followed_by_a_run_sending_exactly_what_was_missing(catalog, write_recipe, lite_url, artifacts, capsys):
    recipe = write_recipe(recipe_text(catalog, lite_sink(lite_url, batch_size=8)))
    _fail_writes_after(lite_url, 20)
    assert ingest(recipe) == 1
    assert "database or disk is full" in capsys.readouterr().err
    attempted = sent(artifacts)
    assert len(attempted) == FULL_RUN_MCPS
    held = {(urn, aspect) for urn, aspect, _ in LiteStore(lite_url).latest()}
    assert len(held) == 16  # two batches of 8 were acknowledged, the third was refused
    assert held == keys(attempted[:16])
    summary = state_summary(capsys)
    assert summary["last_run_id"] is None  # the run did not advance, only its acknowledged aspects were kept

    _writes_work_again(lite_url)
    assert ingest(recipe) == 0
    resent = sent(artifacts)
    assert keys(resent) == keys(attempted) - held and len(resent) == FULL_RUN_MCPS - 16
    assert ingest(recipe) == 0
    assert sent(artifacts) == []


def test_a_failed_run_does_not_advance_removals(catalog, write_recipe, lite_url, artifacts, capsys):
    recipe = write_recipe(recipe_text(catalog, lite_sink(lite_url)))
    assert ingest(recipe) == 0
    first_run = state_summary(capsys)["last_run_id"]
    execute(catalog, "DROP TABLE refunds")
    _fail_writes_after(lite_url, 0)
    assert ingest(recipe) == 1
    assert keys(sent(artifacts)) == {(dataset_urn("refunds"), "status")}
    summary = state_summary(capsys)
    assert summary["last_run_id"] == first_run and summary["entities"]["dataset"] == {"present": 6, "removed": 0}

    _writes_work_again(lite_url)
    assert ingest(recipe) == 0
    assert [(m.entity_urn, m.aspect) for m in sent(artifacts)] == [(dataset_urn("refunds"), {"removed": True})]
    assert state_summary(capsys)["entities"]["dataset"] == {"present": 5, "removed": 1}


def test_source_failure_sends_and_removes_nothing(catalog, write_recipe, lite_url, artifacts, capsys):
    recipe = write_recipe(recipe_text(catalog, lite_sink(lite_url)))
    assert ingest(recipe) == 0
    before = state_summary(capsys)
    catalog.unlink()
    assert ingest(recipe) == 2
    assert "cannot open SQLite database" in capsys.readouterr().err
    assert state_summary(capsys) == before
    assert LiteStore(lite_url).get_aspect(dataset_urn("refunds"), "status")["value"] == {"removed": False}


def test_dagster_materialize_reports_counts_and_honours_full_refresh(catalog, write_recipe, lite_url, tmp_path):
    loaded = load_recipe(write_recipe(recipe_text(catalog, lite_sink(lite_url))))
    assets = build_pipeline(loaded).assets
    settings = IngestSettings(artifacts_dir=str(tmp_path / "dg"))
    assert dg.materialize(assets, resources={"ingest": settings}).success
    execute(catalog, "DROP TABLE refunds", "ALTER TABLE payments ADD COLUMN currency CHAR(3)")
    result = dg.materialize(assets, resources={"ingest": settings})
    meta = result.asset_materializations_for_node("fin__mcps")[0].metadata
    assert meta["count: aspects changed"].value == 1
    assert meta["count: aspects unchanged"].value == FULL_RUN_MCPS - 6 - 1
    assert meta["count: entities removed"].value == 1
    assert meta["count: mcps"].value == 2
    sink_meta = result.asset_materializations_for_node("fin__datahub_lite")[0].metadata
    assert sink_meta["count: acknowledged"].value == 2

    refresh = IngestSettings(artifacts_dir=str(tmp_path / "dg"), full_refresh=True)
    result = dg.materialize(assets, resources={"ingest": refresh})
    meta = result.asset_materializations_for_node("fin__mcps")[0].metadata
    assert meta["count: mcps"].value == meta["count: aspects built"].value == FULL_RUN_MCPS - 6


def test_two_runs_of_one_pipeline_never_overlap(catalog, write_recipe, lite_url, capsys):
    recipe = write_recipe(recipe_text(catalog, lite_sink(lite_url)))
    store = StateStore()
    store.acquire("fin", holder="other-host:4242")
    assert ingest(recipe) == 1
    err = capsys.readouterr().err
    assert "pipeline fin is being run by other-host:4242" in err and "state unlock fin" in err and "Traceback" not in err
    assert main(["state", "unlock", "fin"]) == 0
    assert "released the lease held by other-host:4242" in capsys.readouterr().out
    assert ingest(recipe) == 0


# --- MariaDB source (the real server on 127.0.0.1:3306) ---

MARIADB_FULL_RUN = 3 * 5 + 9 * 6  # 3 database containers, 9 tables


@pytest.fixture
def mariadb_catalog(mariadb):
    """Three databases of three tables each, under the fixture's unique prefix; dropped afterwards."""
    for db in ("a", "b", "c"):
        mariadb.create(db, [f"CREATE TABLE t{t} (id INT PRIMARY KEY, label VARCHAR(40)) COMMENT 'table {t}'" for t in range(3)])
    return mariadb.prefix, run_sql


def mariadb_recipe(prefix: str, sink: str, threshold: float = 75, password: str = "") -> str:
    return json.dumps({"pipeline_name": "fin", "source": {"type": "mysql", "config": {
        "host_port": f"{HOST}:{PORT}", "username": USER, "password": password or PASSWORD,
        "database_pattern": {"allow": [f"^{prefix}"]},
        "stateful_ingestion": {"enabled": True, "fail_safe_threshold": threshold}}}, "sink": json.loads(sink)})


def mysql_urn(db: str, table: str) -> str:
    return f"urn:li:dataset:(urn:li:dataPlatform:mysql,{db}.{table},PROD)"


def test_mariadb_change_only_emission_and_one_soft_delete(mariadb_catalog, write_recipe, lite_url, artifacts):
    prefix, run = mariadb_catalog
    recipe = write_recipe(mariadb_recipe(prefix, lite_sink(lite_url)))
    assert ingest(recipe) == 0
    assert len(sent(artifacts)) == MARIADB_FULL_RUN
    assert ingest(recipe) == 0
    assert sent(artifacts) == []

    run(f"ALTER TABLE `{prefix}a`.t1 MODIFY label VARCHAR(80)")
    assert ingest(recipe) == 0
    changed = sent(artifacts)
    assert keys(changed) == {(mysql_urn(f"{prefix}a", "t1"), "schemaMetadata")}
    assert changed[0].aspect["fields"][1]["nativeDataType"] == "VARCHAR(80)"

    run(f"DROP TABLE `{prefix}b`.t2")
    assert ingest(recipe) == 0
    assert [(m.entity_urn, m.aspect) for m in sent(artifacts)] == [(mysql_urn(f"{prefix}b", "t2"), {"removed": True})]
    assert LiteStore(lite_url).get_aspect(mysql_urn(f"{prefix}b", "t2"), "status")["value"] == {"removed": True}


def test_mariadb_dropped_database_is_removed_only_below_the_threshold(mariadb_catalog, write_recipe, tmp_path, artifacts, capsys):
    prefix, run = mariadb_catalog
    out = tmp_path / "out.json"
    file_sink = json.dumps({"type": "file", "config": {"filename": str(out)}})
    assert ingest(write_recipe(mariadb_recipe(prefix, file_sink, threshold=30))) == 0
    assert len(json.loads(out.read_text())) == MARIADB_FULL_RUN

    run(f"DROP DATABASE `{prefix}c`")
    capsys.readouterr()
    assert ingest(write_recipe(mariadb_recipe(prefix, file_sink, threshold=30))) == 0
    assert json.loads(out.read_text()) == []
    assert "4 of 12 entities in scope (33%) are gone, above fail_safe_threshold 30%" in capsys.readouterr().out

    assert ingest(write_recipe(mariadb_recipe(prefix, file_sink, threshold=75))) == 0
    removed = json.loads(out.read_text())
    assert len(removed) == 4 and all(m["aspectName"] == "status" and m["aspect"]["json"] == {"removed": True} for m in removed)
    assert {m["entityUrn"] for m in removed} >= {mysql_urn(f"{prefix}c", f"t{t}") for t in range(3)}
    assert sum(m["entityType"] == "container" for m in removed) == 1


def test_mariadb_source_failure_removes_nothing(mariadb_catalog, write_recipe, lite_url, artifacts, capsys):
    prefix, run = mariadb_catalog
    assert ingest(write_recipe(mariadb_recipe(prefix, lite_sink(lite_url)))) == 0
    before = state_summary(capsys)
    run(f"DROP TABLE `{prefix}a`.t0")
    assert ingest(write_recipe(mariadb_recipe(prefix, lite_sink(lite_url), password="wrong-password"))) == 2
    err = capsys.readouterr().err
    assert "wrong-password" not in err and "Traceback" not in err
    assert state_summary(capsys) == before
    assert LiteStore(lite_url).get_aspect(mysql_urn(f"{prefix}a", "t0"), "status")["value"] == {"removed": False}
    assert ingest(write_recipe(mariadb_recipe(prefix, lite_sink(lite_url)))) == 0
    assert keys(sent(artifacts)) == {(mysql_urn(f"{prefix}a", "t0"), "status")}


def test_mariadb_partitioned_runs_remove_only_inside_their_own_database(mariadb_catalog, write_recipe, lite_url, tmp_path):
    from ingest_assets.stages import RunFiles, run_mcps, run_sink, run_snapshot

    prefix, run = mariadb_catalog
    loaded = load_recipe(write_recipe(mariadb_recipe(prefix, lite_sink(lite_url))))

    def run_partition(db: str, run_id: str) -> list:
        files = RunFiles.for_pipeline("fin", tmp_path / "parts", partition=f"{prefix}{db}")
        run_snapshot(loaded, files, only_database=f"{prefix}{db}")
        run_mcps(loaded, files, run_id, partition=f"{prefix}{db}")
        run_sink(loaded, files, partition=f"{prefix}{db}")
        return sent(tmp_path / "parts" / "fin" / "partitions", f"{prefix}{db}")

    assert [len(run_partition(db, f"r1{db}")) for db in "abc"] == [5 + 3 * 6] * 3
    run(f"DROP TABLE `{prefix}b`.t1")
    run(f"DROP DATABASE `{prefix}c`")
    assert run_partition("a", "r2a") == []  # neither b's table nor database c is a's to remove
    assert [(m.entity_urn, m.aspect) for m in run_partition("b", "r2b")] == [(mysql_urn(f"{prefix}b", "t1"), {"removed": True})]
    assert run_partition("c", "r2c") == []  # an emptied partition lists nothing: it removes nothing
    assert StateStore().summary("fin")["entities"]["dataset"] == {"present": 8, "removed": 1}


def test_a_file_sink_that_fails_midway_holds_nothing_so_the_next_run_sends_everything(catalog, write_recipe, tmp_path, artifacts):
    from ingest_assets.core.errors import SinkFailure
    from ingest_assets.stages import RunFiles, run_sink

    out = tmp_path / "out.json"
    recipe = write_recipe(recipe_text(catalog, json.dumps({"type": "file", "config": {"filename": str(out)}})))
    assert ingest(recipe, "--dry-run") == 0
    files = RunFiles.for_pipeline("fin", artifacts)
    lines = files.mcps.read_text().splitlines()
    files.mcps.write_text("\n".join(lines[:30] + ["{corrupted hand-over line"] + lines[30:]) + "\n")
    with pytest.raises(SinkFailure):
        run_sink(load_recipe(recipe), files)
    assert not out.exists()  # the file sink writes whole files: 30 MCPs written before the failure are not held
    assert ingest(recipe) == 0
    assert len(json.loads(out.read_text())) == FULL_RUN_MCPS
