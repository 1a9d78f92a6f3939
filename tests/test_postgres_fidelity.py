"""Our postgres source against DataHub 1.7's own output for the same PostgreSQL catalog, aspect by aspect.

tests/data/datahub_postgres_fidelity.json is what `datahub ingest` (acryl-datahub[postgres] 1.7.0.17, file sink) wrote for
tests/postgres_fidelity_catalog.py: every column type, partitions, inheritance, views of views, materialized views, views
reading `public` through the search path, odd names, keys, procedures and domains, over two databases listed from the
initial database. Our file sink's output must hold the same aspects; DataHub's own classes must read each of our records,
and the REST body we would post for it, and write the record back unchanged.

Differences that are on purpose (README, "Where this project and DataHub differ on purpose"), normalized here:
- DataHub stamps the run's time into upstreamLineage's auditStamp and queryProperties.lastModified; ours stay 0.
- A materialized view has viewProperties.materialized true (DataHub writes false).
- An unqualified table in a view resolves through the search path: reports.things_report reads public.things (DataHub
  links it to reports.things, which does not exist, with confidence 0.2).
- A foreign key to a table on the search path names that table's schema: shop.thing_notes -> public.things (DataHub
  names shop.things, which does not exist).
- A foreign table is emitted (shop.imported, with its server in customProperties.foreign_server); DataHub skips it.
- A partition names its parent in customProperties.partition_of.

Known gap, not on purpose (asserted, so that a fix shows up here): the shared lineage module loses column-level lineage
when pg_get_viewdef qualifies columns by a quoted table name that is not all lowercase ("Ünïcode_表"."ключ").
"""

import copy
import json
from pathlib import Path

from datahub.emitter.mcp import MetadataChangeProposalWrapper

from ingest_assets.core.mcp import MCP

from .cli_runner import run_cli
from .datahub_files import file_aspects, without_run_times
from .postgres_fidelity_catalog import MAIN, MAIN_STATEMENTS, RECIPE_CONFIG, SECOND, SECOND_STATEMENTS
from .postgres_fixtures import HOST, PORT, USER, recreate_database, run_sql

REFERENCE = Path(__file__).parent / "data" / "datahub_postgres_fidelity.json"
DATASET = "urn:li:dataset:(urn:li:dataPlatform:postgres,{},PROD)"
MATERIALIZED = {DATASET.format(f"{MAIN}.shop.customer_countries"), DATASET.format(f"{MAIN}.reports.monthly_peaks")}
PARTITIONS = {f"{MAIN}.shop.measurements_2024": f"{MAIN}.shop.measurements",
              f"{MAIN}.shop.measurements_2025": f"{MAIN}.shop.measurements",
              f"{MAIN}.shop.measurements_other": f"{MAIN}.shop.measurements",
              f"{MAIN}.shop.measurements_2025_c1": f"{MAIN}.shop.measurements_2025"}
SEARCH_PATH = {f"{MAIN}.reports.things,": f"{MAIN}.public.things,", f"{MAIN}.reports.shared_name,": f"{MAIN}.public.shared_name,"}
FOREIGN_TABLE = DATASET.format(f"{MAIN}.shop.imported")
UNICODE_VIEW = DATASET.format(f"{MAIN}.shop.Ünïcode view")


def datahub_made_right(key: tuple[str, str], aspect: dict) -> dict:
    """DataHub's aspect with its deliberate-difference mistakes put right, as this project writes it."""
    urn, name = key
    if name == "viewProperties" and urn in MATERIALIZED:
        aspect["materialized"] = True
    if name == "datasetProperties":
        for partition, parent in PARTITIONS.items():
            if urn == DATASET.format(partition):
                aspect["customProperties"]["partition_of"] = parent
    if name == "schemaMetadata" and urn == DATASET.format(f"{MAIN}.shop.thing_notes"):
        aspect = json.loads(json.dumps(aspect).replace(f"{MAIN}.shop.things,", f"{MAIN}.public.things,"))
    text = json.dumps(aspect, ensure_ascii=False)
    if name in ("upstreamLineage", "querySubjects") and any(wrong in text for wrong in SEARCH_PATH):
        for wrong, right in SEARCH_PATH.items():
            text = text.replace(wrong, right)
        aspect = json.loads(text.replace('"confidenceScore": 0.2', '"confidenceScore": 0.9'))
    return aspect


def build_catalog() -> None:
    recreate_database(MAIN, MAIN_STATEMENTS)
    recreate_database(SECOND, SECOND_STATEMENTS)


def test_postgres_output_equals_datahubs_for_the_fidelity_catalog(tmp_path):
    build_catalog()
    try:
        out = tmp_path / "ours.json"
        recipe = tmp_path / "fidelity.yml"
        recipe.write_text(json.dumps({
            "pipeline_name": "pg_fidelity", "run_id": "fidelity",
            "source": {"type": "postgres", "config": {"host_port": f"{HOST}:{PORT}", "username": USER, **RECIPE_CONFIG}},
            "sink": {"type": "file", "config": {"filename": str(out)}}}))
        result = run_cli("ingest", "-c", str(recipe), env={"INGEST_ASSETS_HOME": str(tmp_path / "home")})
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        for database in (MAIN, SECOND):
            run_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")

    records = json.loads(out.read_text())
    for record in records:
        assert MetadataChangeProposalWrapper.from_obj(copy.deepcopy(record)).to_obj(simplified_structure=True) == record
        rest_body = MCP.from_obj(record).to_rest_obj()
        assert MetadataChangeProposalWrapper.from_obj(rest_body).to_obj(simplified_structure=True) == record
    assert {r["systemMetadata"]["runId"] for r in records} == {"fidelity"}

    theirs = {k: datahub_made_right(k, without_run_times(k, v)) for k, v in file_aspects(json.loads(REFERENCE.read_text())).items()}
    ours = {k: without_run_times(k, v) for k, v in file_aspects(records).items()}

    foreign = {k: v for k, v in ours.items() if k[0] == FOREIGN_TABLE}
    assert foreign[(FOREIGN_TABLE, "datasetProperties")]["customProperties"] == {"foreign_server": "files"}
    assert foreign[(FOREIGN_TABLE, "subTypes")] == {"typeNames": ["Table"]}
    assert [f["nativeDataType"] for f in foreign[(FOREIGN_TABLE, "schemaMetadata")]["fields"]] == ["INTEGER", "TEXT"]
    ours = {k: v for k, v in ours.items() if k not in foreign}

    assert sorted(set(theirs) - set(ours)) == [], "aspects DataHub emits and we do not"
    assert sorted(set(ours) - set(theirs)) == [], "aspects we emit and DataHub does not"
    gap = {key for key in theirs if key[0] == UNICODE_VIEW and key[1] == "upstreamLineage"}
    assert all("fineGrainedLineages" not in ours[key] and "fineGrainedLineages" in theirs[key] for key in gap), \
        "the known column-lineage gap for quoted mixed-case qualifiers is fixed: drop it from this test and the docstring"
    differing = [key for key in theirs if theirs[key] != ours[key] and key not in gap and not _gap_subjects(key, theirs)]
    for key in differing:
        assert ours[key] == theirs[key], key


def _gap_subjects(key: tuple[str, str], theirs: dict) -> bool:
    """The querySubjects of the known gap's view (its column subjects follow from the lost column lineage)."""
    return key[1] == "querySubjects" and any(s["entity"] == UNICODE_VIEW for s in theirs[key]["subjects"])
