"""Sensors evaluated with build_sensor_context against real sources: the SQLite shop file and MariaDB."""

import sqlite3
from datetime import datetime, timezone

import dagster as dg

from ingest_assets.core.recipe import load_recipe
from ingest_assets.orchestration.assets import IngestSettings, build_pipeline
from ingest_assets.store.lite import LiteStore

from .dagster_recipes import mysql_recipe, sqlite_recipe
from .dagster_server import free_port
from .mysql_fixtures import mariadb, run_sql  # noqa: F401  (mariadb is a fixture)

WATCHED = "sensor: {source_change: {interval_seconds: 30}}\n"


def _sensor(recipe_path, name: str, **build) -> dg.SensorDefinition:
    parts = build_pipeline(load_recipe(recipe_path), **build)
    return next(s for s in parts.sensors if s.name == name)


def _context(instance, definitions, cursor=None):
    """A sensor context; with a persistent instance, as the daemon gives it (its ref resolves dynamic partitions)."""
    if instance is not None and instance.get_ref() is not None:
        return dg.build_sensor_context(cursor=cursor, instance_ref=instance.get_ref(), definitions=definitions)
    return dg.build_sensor_context(cursor=cursor, instance=instance, definitions=definitions)


def _tick(sensor: dg.SensorDefinition, cursor: str | None, instance=None, definitions=None):
    """One evaluation, as the daemon does it; returns (run requests, skip message, new cursor)."""
    data = sensor.evaluate_tick(_context(instance, definitions, cursor))
    return data.run_requests or [], data.skip_message, data.cursor


def test_source_change_sensor_on_sqlite(tmp_path, shop_db, write_recipe):
    sensor = _sensor(write_recipe(sqlite_recipe(shop_db, tmp_path / "lite.db", extra=WATCHED)), "shop_source_change")
    runs, skip, cursor = _tick(sensor, None)
    assert runs == [] and skip.startswith("first check")
    runs, skip, cursor_again = _tick(sensor, cursor)
    assert runs == [] and skip.startswith("source unchanged") and cursor_again == cursor

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
    assert after == cursor
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


# --- MariaDB -----------------------------------------------------------------------------------

SHOP_TABLES = [
    "CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(200) NOT NULL)",
    "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, FOREIGN KEY (customer_id) REFERENCES customers (id))",
]


def test_source_change_sensor_on_mariadb(tmp_path, mariadb, write_recipe):
    shop = mariadb.create("shop", SHOP_TABLES)
    sensor = _sensor(write_recipe(mysql_recipe(mariadb.prefix, tmp_path / "lite.db", extra=WATCHED)), "shop_mysql_source_change")
    runs, skip, cursor = _tick(sensor, None)
    assert runs == [] and skip.startswith("first check")
    for _ in range(2):
        runs, skip, _ = _tick(sensor, cursor)
        assert runs == [] and skip.startswith("source unchanged")
    run_sql("INSERT INTO customers VALUES (1, 'a@example.com')", shop)  # data, not metadata: no run
    assert _tick(sensor, cursor)[0] == []

    run_sql("ALTER TABLE orders ADD COLUMN placed_at DATETIME", shop)
    runs, skip, changed = _tick(sensor, cursor)
    assert len(runs) == 1 and skip is None and runs[0].tags["ingest_assets/trigger"] == "source_change"
    runs, skip, _ = _tick(sensor, changed)
    assert runs == [] and skip.startswith("source unchanged")


def test_source_change_sensor_skips_when_mariadb_cannot_be_reached(tmp_path, mariadb, write_recipe):
    mariadb.create("shop", SHOP_TABLES)
    down = write_recipe(mysql_recipe(mariadb.prefix, tmp_path / "lite.db", extra=WATCHED, host_port=f"127.0.0.1:{free_port()}"), "down.yml")
    runs, skip, cursor = _tick(_sensor(down, "shop_mysql_source_change"), '{"fingerprint": "abc", "changes": 3}')
    assert runs == [] and skip.startswith("source not checked: ") and "127.0.0.1" in skip
    assert cursor == '{"fingerprint": "abc", "changes": 3}'  # the last fingerprint is kept

    refused = write_recipe(mysql_recipe(mariadb.prefix, tmp_path / "lite.db", extra=WATCHED, password="wr0ng-Secret-pw"), "refused.yml")
    runs, skip, _ = _tick(_sensor(refused, "shop_mysql_source_change"), None)
    assert runs == [] and skip.startswith("source not checked: ") and "wr0ng-Secret-pw" not in skip


def test_partitions_by_database_on_mariadb(tmp_path, mariadb, write_recipe):
    first = mariadb.create("a", SHOP_TABLES)
    second = mariadb.create("b", SHOP_TABLES[:1])
    path = write_recipe(mysql_recipe(mariadb.prefix, tmp_path / "lite.db",
                                     extra=WATCHED + "partition_by: database\nschedule: {cron: '0 2 * * *'}\n"))
    parts = build_pipeline(load_recipe(path), partitioned=True)
    assert {s.name for s in parts.sensors} == {"shop_mysql_source_change", "shop_mysql_recipe_change", "shop_mysql_databases"}
    (tmp_path / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home"))  # with a ref, as the daemon's
    defs = dg.Definitions(assets=parts.assets, jobs=parts.jobs, sensors=parts.sensors, resources={"ingest": IngestSettings()})

    databases = next(s for s in parts.sensors if s.name == "shop_mysql_databases")
    data = databases.evaluate_tick(_context(instance, defs))
    assert sorted(r.partition_key for r in data.run_requests) == [first, second]
    (added,) = data.dynamic_partitions_requests
    assert added.partitions_def_name == "shop_mysql_databases" and sorted(added.partition_keys) == [first, second]
    instance.add_dynamic_partitions(added.partitions_def_name, list(added.partition_keys))
    (schedule,) = parts.schedules
    scheduled = schedule.evaluate_tick(dg.build_schedule_context(
        instance=instance, repository_def=defs.get_repository_def(), scheduled_execution_time=datetime(2026, 1, 5, 2, tzinfo=timezone.utc)))
    assert sorted(r.partition_key for r in scheduled.run_requests) == [first, second]
    assert databases.evaluate_tick(_context(instance, defs)).skip_message.startswith("no new databases")

    settings = IngestSettings(artifacts_dir=str(tmp_path / "artifacts"))
    result = dg.materialize(parts.assets, partition_key=second, instance=instance, resources={"ingest": settings})
    assert result.success
    snapshot = result.asset_materializations_for_node("shop_mysql__snapshot")[0]
    assert snapshot.partition == second and snapshot.metadata["datasets"].value == 1
    assert (tmp_path / "artifacts" / "shop_mysql" / "partitions" / second / "snapshot.jsonl").exists()
    entities = LiteStore(f"sqlite:///{tmp_path / 'lite.db'}").count()[0]
    assert entities == 2  # database b and its one table, nothing of a

    source_change = next(s for s in parts.sensors if s.name == "shop_mysql_source_change")
    _, _, cursor = _tick(source_change, None, instance, defs)
    run_sql("ALTER TABLE customers ADD COLUMN phone VARCHAR(40)", first)
    runs, _, _ = _tick(source_change, cursor, instance, defs)
    assert sorted(r.partition_key for r in runs) == [first, second]
