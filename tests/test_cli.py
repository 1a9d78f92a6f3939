"""The console script as a user runs it: exit codes 0 / 1 / 2, one-line errors, no tracebacks."""

import json
import sqlite3

from .cli_runner import run_cli


def env_for(tmp_path, shop_db) -> dict:
    return {"SHOP_DB": str(shop_db), "INGEST_LITE_URL": f"sqlite:///{tmp_path / 'lite.db'}",
            "INGEST_ASSETS_HOME": str(tmp_path / "home")}


def assert_one_line_error(result, code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and text in errors[0], result.stderr


def test_quickstart_ingest_then_browse_the_store(tmp_path, shop_db):
    env = env_for(tmp_path, shop_db)
    result = run_cli("ingest", "-c", "recipes/quickstart.yml", "--report-to", str(tmp_path / "report.json"), env=env)
    assert result.returncode == 0, result.stderr
    assert "Pipeline quickstart: sqlite -> datahub-lite" in result.stdout
    assert "[ingest] sink:" in result.stderr  # progress
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["counts"]["snapshot: tables"] == 12 and report["counts"]["snapshot: views"] == 3
    assert report["failures"] == [] and report["counts"]["sink: acknowledged"] == report["counts"]["mcps: mcps"]

    listing = run_cli("lite", "ls", env=env)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert any(line.startswith("/sqlite/shop ") and "Database" in line for line in lines)
    assert any(line.startswith("/sqlite/shop/orders ") and " Table " in line for line in lines)
    assert any(line.startswith("/sqlite/shop/low_stock ") and " View " in line for line in lines)
    assert len(lines) == 16

    urn = "urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.low_stock,PROD)"
    got = run_cli("lite", "get", "--urn", urn, "--aspect", "viewProperties", env=env)
    assert json.loads(got.stdout)["viewLanguage"] == "SQL"
    whole = json.loads(run_cli("lite", "get", "--urn", urn, env=env).stdout)
    assert {"schemaMetadata", "upstreamLineage", "subTypes"} <= set(whole["aspects"])
    found = run_cli("lite", "search", "lifetime", env=env)
    assert found.stdout.split() == ["urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.customer_lifetime_value,PROD)"]
    assert run_cli("lite", "search", "no-such-thing", env=env).returncode == 1


def test_dry_run_sends_nothing(tmp_path, shop_db):
    env = env_for(tmp_path, shop_db)
    result = run_cli("ingest", "-c", "recipes/quickstart.yml", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert "mcps: mcps" in result.stdout and "sink: acknowledged" not in result.stdout
    assert run_cli("lite", "ls", env=env).returncode == 1


def test_summary_reads_the_stages_of_this_run_where_they_wrote(tmp_path, shop_db):
    """A file:// artifacts URL is where the stages write and the CLI reads; a dry run after a full run
    does not report the earlier run's sink."""
    artifacts = tmp_path / "artifacts"
    env = {**env_for(tmp_path, shop_db), "INGEST_ARTIFACTS_DIR": f"file://{artifacts}"}
    full = run_cli("ingest", "-c", "recipes/quickstart.yml", "--report-to", str(tmp_path / "full.json"), env=env)
    assert full.returncode == 0, full.stderr
    assert (artifacts / "quickstart" / "sink.report.json").exists()
    counts = json.loads((tmp_path / "full.json").read_text())["counts"]
    assert counts["snapshot: tables"] == 12 and counts["sink: acknowledged"] == counts["mcps: mcps"] > 0
    dry = run_cli("ingest", "-c", "recipes/quickstart.yml", "--dry-run", "--report-to", str(tmp_path / "dry.json"), env=env)
    assert dry.returncode == 0, dry.stderr
    counts = json.loads((tmp_path / "dry.json").read_text())["counts"]
    assert counts["snapshot: tables"] == 12 and not any(key.startswith("sink: ") for key in counts)


def test_bad_recipe_exits_2_with_one_line(tmp_path, shop_db, write_recipe):
    recipe = write_recipe(f"pipeline_name: p\nsource:\n  type: sqlite\n  config: {{path: {shop_db}, tabel_pattern: {{}}}}\n")
    result = run_cli("ingest", "-c", str(recipe), env=env_for(tmp_path, shop_db))
    assert_one_line_error(result, 2, "source.config.tabel_pattern: unknown key (did you mean 'table_pattern'?)")
    assert run_cli("check", "-c", str(recipe)).returncode == 2


def test_unknown_plugin_exits_2(tmp_path, shop_db, write_recipe):
    recipe = write_recipe(f"pipeline_name: p\nsource: {{type: sqlite, config: {{path: {shop_db}}}}}\nsink: {{type: datahub-rset}}\n")
    result = run_cli("ingest", "-c", str(recipe), env=env_for(tmp_path, shop_db))
    assert_one_line_error(result, 2, "sink.type: unknown sink type 'datahub-rset'")


def test_missing_database_file_exits_2(tmp_path, shop_db, write_recipe):
    recipe = write_recipe(f"pipeline_name: p\nsource: {{type: sqlite, config: {{path: {tmp_path / 'gone.db'}}}}}\n")
    result = run_cli("ingest", "-c", str(recipe), env=env_for(tmp_path, shop_db))
    assert_one_line_error(result, 2, f"cannot open SQLite database {tmp_path / 'gone.db'}: no such file")


def test_missing_recipe_file_exits_2(tmp_path):
    assert_one_line_error(run_cli("ingest", "-c", str(tmp_path / "nope.yml")), 2, "recipe file not found")


def test_sink_failure_mid_run_exits_1(tmp_path, shop_db, write_recipe):
    store = tmp_path / "picky.db"
    with sqlite3.connect(store) as conn:
        conn.execute("CREATE TABLE metadata_aspect_v2 (urn VARCHAR(500), aspect VARCHAR(200), version BIGINT, "
                     "metadata TEXT NOT NULL, systemmetadata TEXT, createdon DATETIME, createdby VARCHAR(255), "
                     "PRIMARY KEY (urn, aspect, version), CHECK (aspect <> 'viewProperties'))")
    conn.close()
    recipe = write_recipe(
        f"pipeline_name: p\nsource: {{type: sqlite, config: {{path: {shop_db}}}}}\n"
        f"sink: {{type: datahub-lite, config: {{url: 'sqlite:///{store}', batch_size: 10}}}}\n")
    result = run_cli("ingest", "-c", str(recipe), "--report-to", str(tmp_path / "r.json"), env=env_for(tmp_path, shop_db))
    assert_one_line_error(result, 1, "refused a batch of 10")
    assert "CHECK constraint failed" in result.stderr
    counts = json.loads((tmp_path / "r.json").read_text())["counts"]
    assert 0 < counts["sink: acknowledged"] < counts["mcps: mcps"]


def test_check_and_plugins(tmp_path, shop_db):
    ok = run_cli("check", "-c", "recipes/quickstart.yml", env={"SHOP_DB": str(shop_db)})
    assert ok.returncode == 0 and "ok (pipeline quickstart: sqlite -> datahub-lite)" in ok.stdout
    plugins = run_cli("plugins").stdout
    for name in ("sqlite", "file", "console", "datahub-lite", "simple_add_dataset_tags"):
        assert f"  {name} " in plugins
