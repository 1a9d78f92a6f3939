"""Our mysql source against DataHub 1.7's own output for the same MariaDB catalog, aspect by aspect.

tests/data/datahub_mysql_fidelity.json is what `datahub ingest` (acryl-datahub[mysql] 1.7, file sink) wrote for
tests/fidelity_catalog.py: every column type, keys, odd names, views across databases, CTEs, scalar subqueries,
unions, views of views, stored procedures and domains. Our file sink's output must hold the same aspects;
DataHub's own classes must read each of our records, and the REST body we would post for it, and write the record
back unchanged; and DataHub's file source must read our file back as the same MCPs.

Differences that are on purpose, and normalized here:
- DataHub stamps the run's time into upstreamLineage's auditStamp and queryProperties.lastModified; ours stay 0,
  so that an unchanged view's aspects hash the same every run.
- DataHub's dataJobInputOutput (lineage parsed from a procedure's body) names datasets `db.db.table`, which
  exist nowhere; we do not emit it.
- The view definer depends on the account that created the catalog.
"""

import copy
import json
import re
from pathlib import Path

from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.ingestion.api.common import PipelineContext
from datahub.ingestion.source.file import FileSourceConfig, GenericFileSource

from ingest_assets.core.mcp import MCP

from .cli_runner import run_cli
from .datahub_files import file_aspects, without_run_times
from .fidelity_catalog import RECIPE_CONFIG, STATEMENTS
from .mysql_fixtures import HOST, PASSWORD, PORT, USER, run_sql

REFERENCE = Path(__file__).parent / "data" / "datahub_mysql_fidelity.json"
_DEFINER = re.compile(r'DEFINER=(`[^`]*`@`[^`]*`|\\?"[^"\\]*\\?"@\\?"[^"\\]*\\?")')


def normalized(key: tuple[str, str], aspect: dict) -> dict:
    return without_run_times(key, json.loads(_DEFINER.sub("DEFINER=?", json.dumps(aspect))))


def test_mysql_output_equals_datahubs_for_the_fidelity_catalog(tmp_path):
    run_sql(STATEMENTS)
    out = tmp_path / "ours.json"
    recipe = tmp_path / "fidelity.yml"
    recipe.write_text(json.dumps({
        "pipeline_name": "fidelity", "run_id": "fidelity",
        "source": {"type": "mysql", "config": {"host_port": f"{HOST}:{PORT}", "username": USER, "password": PASSWORD,
                                               **RECIPE_CONFIG}},
        "sink": {"type": "file", "config": {"filename": str(out)}}}))
    result = run_cli("ingest", "-c", str(recipe), env={"INGEST_ASSETS_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stdout + result.stderr

    records = json.loads(out.read_text())
    for record in records:
        assert MetadataChangeProposalWrapper.from_obj(copy.deepcopy(record)).to_obj(simplified_structure=True) == record
        rest_body = MCP.from_obj(record).to_rest_obj()  # what the datahub-rest sink posts for it
        assert MetadataChangeProposalWrapper.from_obj(rest_body).to_obj(simplified_structure=True) == record
    assert {r["systemMetadata"]["runId"] for r in records} == {"fidelity"}
    replayed = GenericFileSource(PipelineContext(run_id="replay"), FileSourceConfig(path=str(out))).get_workunits_internal()
    assert [unit.metadata.to_obj(simplified_structure=True) for unit in replayed] == records, \
        "DataHub's file source reads our file back as the same MCPs"

    theirs = {k: normalized(k, v) for k, v in file_aspects(json.loads(REFERENCE.read_text())).items()
              if k[1] != "dataJobInputOutput"}
    ours = {k: normalized(k, v) for k, v in file_aspects(records).items()}
    assert sorted(set(theirs) - set(ours)) == [], "aspects DataHub emits and we do not"
    assert sorted(set(ours) - set(theirs)) == [], "aspects we emit and DataHub does not"
    differing = [key for key in theirs if theirs[key] != ours[key]]
    for key in differing:
        assert ours[key] == theirs[key], key
