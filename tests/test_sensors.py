"""Sensors evaluated with build_sensor_context against real sources: the SQLite shop file and MariaDB."""

import sqlite3

import dagster as dg

from ingest_assets.core.recipe import load_recipe
from ingest_assets.orchestration.assets import build_pipeline

from .dagster_recipes import sqlite_recipe

WATCHED = "sensor: {source_change: {interval_seconds: 30}}\n"


def _sensor(recipe_path, name: str, **build) -> dg.SensorDefinition:
    parts = build_pipeline(load_recipe(recipe_path), **build)
    return next(s for s in parts.sensors if s.name == name)


def _tick(sensor: dg.SensorDefinition, cursor: str | None, instance=None):
    """One evaluation, as the daemon does it; returns (run requests, skip message, new cursor)."""
    data = sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor, instance=instance))
    return data.run_requests or [], data.skip_message, data.cursor


def test_source_change_sensor_on_sqlite(tmp_path, shop_db, write_recipe):
    sensor = _sensor(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db", extra=WATCHED)), "shop_source_change")
    runs, skip, cursor = _tick(sensor, None)
    assert runs == [] and skip.startswith("first check")
    runs, skip, cursor_again = _tick(sensor, cursor)
    assert runs == [] and skip.startswith("source unchanged") and cursor_again in (None, cursor)

    with sqlite3.connect(shop_db) as conn:
        conn.execute("CREATE TABLE gift_cards (code TEXT PRIMARY KEY)")
    runs, skip, changed = _tick(sensor, cursor)
    assert len(runs) == 1 and skip is None and runs[0].run_key.startswith("1:")
    assert _tick(sensor, changed)[0] == []

    with sqlite3.connect(shop_db) as conn:  # back to the first state: a new change, a new run key
        conn.execute("DROP TABLE gift_cards")
    runs, _, _ = _tick(sensor, changed)
    assert len(runs) == 1 and runs[0].run_key.startswith("2:")


def test_source_change_sensor_skips_with_the_reason_when_the_source_is_broken(tmp_path, shop_db, write_recipe):
    sensor = _sensor(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db", extra=WATCHED)), "shop_source_change")
    _, _, cursor = _tick(sensor, None)
    shop_db.write_bytes(b"not a database" * 100)
    runs, skip, after = _tick(sensor, cursor)
    assert runs == [] and skip.startswith("source not checked: cannot open SQLite database")
    assert after in (None, cursor)
    shop_db.unlink()
    runs, skip, _ = _tick(sensor, cursor)
    assert runs == [] and skip.startswith("source not checked: ") and "no such file" in skip


def test_recipe_change_sensor(tmp_path, shop_db, write_recipe):
    path = write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db"))
    sensor = _sensor(path, "shop_recipe_change")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED  # the recipe did not ask for it
    runs, skip, cursor = _tick(sensor, None)
    assert runs == [] and skip.startswith("first check")
    assert _tick(sensor, cursor)[1] == "recipe unchanged"

    path.write_text(sqlite_recipe(shop_db, tmp_path / "lite.db", tag="urn:li:tag:edited"))
    runs, _, edited = _tick(sensor, cursor)
    assert len(runs) == 1 and runs[0].tags["ingest_assets/trigger"] == "recipe_change" and edited != cursor

    path.write_text("pipeline_name: shop\nsource: {type: sqlite, config: {pathh: x}}\n")
    runs, skip, _ = _tick(sensor, edited)
    assert runs == [] and skip.startswith("recipe changed but is not valid") and "did you mean 'path'" in skip
