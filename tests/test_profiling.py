"""Profiling against the local MariaDB, judged by DataHub 1.7's own profiler output for the same tables.

tests/data/datahub_profile_mysql.json is what `datahub ingest` (acryl-datahub 1.7, its SQLAlchemy profiler, file
sink) wrote for KNOWN_TABLES with each config in MODES. Ours must equal it but for the timestamps and the
quantiles DataHub cannot compute on MariaDB (its PERCENTILE_CONT query fails there; ours are exact).
"""

import copy
import json
import statistics
import threading
from pathlib import Path

import pytest
from datahub.emitter.mcp import MetadataChangeProposalWrapper

from ingest_assets.core.profile import ProfilingConfig
from ingest_assets.core.recipe import parse_recipe
from ingest_assets.stages import RunFiles, run_profile, run_snapshot

from .mysql_fixtures import HOST, PORT, Databases, connect, quote

REFERENCE = json.loads((Path(__file__).parent / "data" / "datahub_profile_mysql.json").read_text())

KNOWN_TABLES = [
    """CREATE TABLE readings (id INT PRIMARY KEY, qty INT, price DECIMAL(10,2), ratio DOUBLE, name VARCHAR(40),
       note TEXT, created DATE, updated DATETIME, flag TINYINT(1), nothing INT)""",
    """INSERT INTO readings VALUES
       (1, 10, 19.99, 0.5, 'alpha', 'first note', '2024-01-01', '2024-01-01 10:00:00', 1, NULL),
       (2, 20, 5.00, 1.25, 'beta', NULL, '2024-01-02', '2024-01-02 11:30:00', 0, NULL),
       (3, NULL, 7.50, 2.75, 'gamma', 'third', '2024-02-29', NULL, 1, NULL),
       (4, 40, NULL, -1.5, 'alpha', 'fourth note here', '2023-12-31', '2023-12-31 23:59:59', NULL, NULL),
       (5, 10, 100.00, 3.125, NULL, '', '2024-03-15', '2024-03-15 08:15:00', 0, NULL),
       (6, 60, 0.01, 0, 'delta', 'x', NULL, '2024-06-01 00:00:00', 1, NULL),
       (7, 70, 42.42, 10, 'epsilon', NULL, '2024-07-04', '2024-07-04 12:00:00', 1, NULL),
       (8, 10, 19.99, 0.5, 'beta', 'eighth', '2024-08-08', '2024-08-08 08:08:08', 0, NULL),
       (9, -5, 3.33, 7.7, 'zeta', 'ninth', '2024-09-09', '2024-09-09 09:09:09', 1, NULL),
       (10, 100, 250.50, 99.99, 'eta', 'tenth note', '2024-10-10', '2024-10-10 10:10:10', 0, NULL),
       (11, 20, 19.99, 1.25, 'theta', 'eleventh', '2024-11-11', '2024-11-11 11:11:11', 1, NULL)""",
    "CREATE TABLE empty_table (id INT PRIMARY KEY, label VARCHAR(20), amount DECIMAL(8,3), born DATE)",
    "CREATE TABLE one_row (id INT PRIMARY KEY, label VARCHAR(20), amount DECIMAL(8,3), seen DATETIME)",
    "INSERT INTO one_row VALUES (1, 'only', 1.5, '2024-05-05 05:05:05')",
    "CREATE TABLE series (id INT PRIMARY KEY, bucket INT, amount DECIMAL(9,2), score DOUBLE, code VARCHAR(8), day DATE)",
    """INSERT INTO series SELECT seq, seq % 40, ROUND((seq * 37 % 1000) / 10, 2), IF(seq % 7 = 0, NULL, (seq % 53) / 4.0),
       CONCAT('c', seq % 30), DATE_ADD('2024-01-01', INTERVAL seq % 45 DAY) FROM seq_1_to_300""",
    "ANALYZE TABLE readings, empty_table, one_row, series",
]

MODES = {
    "all": {"include_field_quantiles": True, "include_field_distinct_value_frequencies": True, "include_field_histogram": True},
    "default": {},
    "table_level": {"profile_table_level_only": True},
    "estimate": {"profile_table_row_count_estimate_only": True},
}


@pytest.fixture(scope="module")
def known():
    databases = Databases()
    try:
        yield databases.create("known", KNOWN_TABLES)
    finally:
        databases.drop_all()


def _recipe(database: str, tmp_path: Path, profiling: dict, **source) -> tuple:
    raw = {
        "pipeline_name": "profiling_test",
        "source": {"type": "mysql", "config": {
            "host_port": f"{HOST}:{PORT}", "username": "root", "database_pattern": {"allow": [f"^{database}$"]},
            "include_views": False, "include_stored_procedures": False,
            "profiling": {"enabled": True, **profiling}, **source}},
        "sink": {"type": "file", "config": {"filename": str(tmp_path / "out.json")}},
    }
    return parse_recipe(raw, "recipe"), RunFiles(tmp_path / "artifacts")


def _profile(database: str, tmp_path: Path, profiling: dict, **source) -> tuple[dict[str, dict], object]:
    loaded, files = _recipe(database, tmp_path, profiling, **source)
    run_snapshot(loaded, files)
    report = run_profile(loaded, files, "test-run")
    written = json.loads((tmp_path / "out.profile.json").read_text())
    return {mcp["entityUrn"].split(",")[1].rsplit(".", 1)[1]: mcp for mcp in written}, report


def _reference(mode: str) -> dict[str, dict]:
    return {mcp["entityUrn"].split(",")[1].rsplit(".", 1)[1]: mcp["aspect"]["json"] for mcp in REFERENCE[mode]}


def _table_rows(database: str) -> dict[str, int]:
    with connect(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,))
        return {name: int(rows) for name, rows in cursor.fetchall()}


def _without_timestamp(aspect: dict) -> dict:
    return {k: v for k, v in aspect.items() if k != "timestampMillis"}


@pytest.mark.parametrize("mode", MODES)
def test_profiles_equal_datahubs_own(known, tmp_path, mode):
    ours, report = _profile(known, tmp_path, MODES[mode])
    theirs = _reference(mode)
    assert set(ours) == set(theirs) == {"readings", "empty_table", "one_row", "series"}
    if mode == "estimate":  # rowCount is the catalog's estimate: equal to DataHub's only where the estimates agree
        estimates = _table_rows(known)
        assert {t: mcp["aspect"]["json"]["rowCount"] for t, mcp in ours.items()} == estimates
        ours = {t: mcp for t, mcp in ours.items() if theirs[t]["rowCount"] == estimates[t]}
        assert len(ours) >= 2
    for table, mcp in ours.items():
        aspect = copy.deepcopy(mcp["aspect"]["json"])
        for field in aspect.get("fieldProfiles", []):
            field.pop("quantiles", None)  # DataHub has none on MariaDB; checked below
        assert _without_timestamp(aspect) == _without_timestamp(theirs[table]), table
        assert MetadataChangeProposalWrapper.from_obj(copy.deepcopy(mcp)).to_obj(simplified_structure=True) == mcp
    assert report.failure_count == 0 and report.warning_count == 0


def test_quantiles_are_exact_where_datahub_has_none(known, tmp_path):
    """PERCENTILE_CONT's definition (linear between neighbours), from the sorted values read back directly."""
    ours, _ = _profile(known, tmp_path, MODES["all"])
    fields = {f["fieldPath"]: f for f in ours["series"]["aspect"]["json"]["fieldProfiles"]}
    with connect(known) as connection, connection.cursor() as cursor:
        for column in ("bucket", "score"):
            cursor.execute(f"SELECT {column} FROM series WHERE {column} IS NOT NULL ORDER BY {column}")
            values = [float(v) for (v,) in cursor.fetchall()]
            expected = statistics.quantiles(values, n=20, method="inclusive")
            wanted = [expected[0], expected[4], expected[9], expected[14], expected[18]]
            got = [float(q["value"]) for q in fields[column]["quantiles"]]
            assert [q["quantile"] for q in fields[column]["quantiles"]] == ["0.05", "0.25", "0.5", "0.75", "0.95"]
            assert got == pytest.approx(wanted, abs=1e-9)
    assert "quantiles" not in fields["id"]  # unique: DataHub's cardinality rule leaves it out


def test_statements_per_table(known, tmp_path):
    """One catalog statement for the run; a table: one aggregate, one for rows (samples and medians); an empty
    table stops after its aggregate; histograms add one."""
    _, report = _profile(known, tmp_path, {})
    assert report.counts["profiling statements"] == 1 + 2 * 3 + 1
    _, report = _profile(known, tmp_path, MODES["all"])
    assert report.counts["profiling statements"] == 1 + 2 * 3 + 1 + 1  # series alone gets histograms
    _, report = _profile(known, tmp_path, {"profile_table_level_only": True, "profile_table_row_count_estimate_only": True})
    assert report.counts["profiling statements"] == 1


def test_patterns_and_limits(known, tmp_path):
    ours, _ = _profile(known, tmp_path, {}, profile_pattern={"deny": [r".*\.one_row$"]})
    assert set(ours) == {"readings", "empty_table", "series"}
    ours, report = _profile(known, tmp_path, {"profile_table_row_limit": 100})
    assert set(ours) == {"readings", "empty_table", "one_row"}  # series has 300 rows by the catalog
    assert report.counts["datasets not profiled (limits)"] == 1
    ours, _ = _profile(known, tmp_path, {"max_number_of_fields_to_profile": 2})
    fields = ours["readings"]["aspect"]["json"]["fieldProfiles"]
    assert [f["fieldPath"] for f in fields] == ["id", "qty", "price", "ratio", "name", "note", "created", "updated",
                                                "flag", "nothing"]
    assert "sampleValues" in fields[1] and fields[2] == {"fieldPath": "price"}  # DataHub lists the rest by name


def test_a_table_past_the_time_limit_gets_its_table_level_profile(known, tmp_path):
    """A table another session holds locked makes the aggregate wait: past query_timeout_seconds the server ends it,
    the table keeps its table-level profile with a warning, and the other tables are profiled in full."""
    holder = connect(known)
    locked = threading.Event()
    try:
        with holder.cursor() as cursor:
            cursor.execute("LOCK TABLES series WRITE")
        locked.set()
        ours, report = _profile(known, tmp_path, {"query_timeout_seconds": 1, "max_workers": 2})
    finally:
        with holder.cursor() as cursor:
            cursor.execute("UNLOCK TABLES")
        holder.close()
    series = ours["series"]["aspect"]["json"]
    assert "fieldProfiles" not in series
    assert series["columnCount"] == 6 and series["rowCount"] == 300 and series["sizeInBytes"] == 16384
    assert any("series" in w and "query_timeout_seconds=1" in w for w in report.warnings)
    assert len(ours["readings"]["aspect"]["json"]["fieldProfiles"]) == 10


def test_datahubs_profiling_keys_and_rules():
    assert ProfilingConfig().max_workers >= 5 and ProfilingConfig().include_field_sample_values
    config = ProfilingConfig(turn_off_expensive_profiling_metrics=True)
    assert config.max_number_of_fields_to_profile == 10 and not config.include_field_sample_values
    assert not ProfilingConfig(profile_table_level_only=True).any_field_level_metrics_enabled()
    with pytest.raises(ValueError, match="field-level metrics"):
        ProfilingConfig(profile_table_level_only=True, include_field_null_count=True)


def test_keys_with_no_effect_warn_once(known, tmp_path):
    loaded, _ = _recipe(known, tmp_path, {"query_combiner_enabled": False, "use_sampling": False})
    named = [n for n in loaded.notices if "profiling." in n]
    assert len(named) == 2
    assert "source.config.profiling.query_combiner_enabled" in named[0] and "source.config.profiling.use_sampling" in named[1]


def test_unknown_profiling_key_is_an_error(known, tmp_path):
    from ingest_assets.core.errors import RecipeError

    with pytest.raises(RecipeError, match="profiling"):
        _recipe(known, tmp_path, {"include_field_medain_value": True})


def test_quote_survives_odd_names(tmp_path):
    databases = Databases()
    try:
        database = databases.create("odd", [f"CREATE TABLE {quote('we`ird table')} ({quote('a`b')} INT, {quote('%s')} VARCHAR(5))",
                                            f"INSERT INTO {quote('we`ird table')} VALUES (1, 'x'), (2, NULL), (2, 'y')"])
        ours, report = _profile(database, tmp_path, {"include_field_histogram": True})
        fields = ours["we`ird table"]["aspect"]["json"]["fieldProfiles"]
        assert fields[0]["median"] == "2.0" and fields[1]["sampleValues"] == ["x", "y"]
        assert report.warning_count == 0
    finally:
        databases.drop_all()
