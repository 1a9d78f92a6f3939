"""The `file` source: DataHub's MCP files replayed through transformers, state and sinks."""

import copy
import json

import orjson
from datahub.emitter.mcp import MetadataChangeProposalWrapper

from ingest_assets.core.recipe import load_recipe
from ingest_assets.core.report import StageReport
from ingest_assets.sources.file import FileSource, FileSourceConfig
from ingest_assets.stages import RunFiles, run_mcps, run_sink, run_snapshot

from .conftest import REFERENCE
from .datahub_files import file_aspects
from .rest_service import metadata_service, rest_recipe, run_pipeline, store_latest

DATASET = "urn:li:dataset:(urn:li:dataPlatform:mysql,bench_000.t_0001,PROD)"


def replay(write_recipe, tmp_path, path, out, extra: str = "", name: str = "replay"):
    recipe = write_recipe(f"pipeline_name: {name}\nsource: {{type: file, config: {{path: '{path}'{extra}}}}}\n"
                          f"sink: {{type: file, config: {{filename: '{out}'}}}}\n", f"{name}.yml")
    loaded = load_recipe(recipe)
    files = RunFiles.for_pipeline(name, tmp_path / "artifacts")
    snapshot = run_snapshot(loaded, files)
    mcps = run_mcps(loaded, files, "run-1")
    sink = run_sink(loaded, files)
    return snapshot, mcps, sink


def test_datahubs_own_file_replays_to_the_same_aspects_in_datahubs_form(write_recipe, tmp_path):
    """DataHub's file (MCPs and an MCE snapshot with pegasus2avro names) -> our file sink: the same aspects, each
    MCE aspect an MCP of its own under com.linkedin.* names, every record read back unchanged by DataHub."""
    out = tmp_path / "out.json"
    snapshot, _, _ = replay(write_recipe, tmp_path, REFERENCE, out)
    written = json.loads(out.read_text())
    assert file_aspects(written) == file_aspects(json.loads(REFERENCE.read_text()))
    assert not any("proposedSnapshot" in r for r in written) and b"pegasus2avro" not in out.read_bytes()
    for record in written:
        assert MetadataChangeProposalWrapper.from_obj(copy.deepcopy(record)).to_obj(simplified_structure=True) == record
    assert snapshot.failure_count == 0 and snapshot.counts["records read"] == len(json.loads(REFERENCE.read_text()))


def test_our_file_output_round_trips_and_json_lines_and_value_form_read_alike(write_recipe, tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    replay(write_recipe, tmp_path, REFERENCE, first, name="one")
    replay(write_recipe, tmp_path, first, second, name="two")
    assert file_aspects(json.loads(second.read_text())) == file_aspects(json.loads(first.read_text()))
    lines = tmp_path / "dir" / "sub" / "mcps.jsonl"
    lines.parent.mkdir(parents=True)
    with open(lines, "wb") as handle:
        for record in json.loads(first.read_text()):
            record["aspect"] = {"value": json.dumps(record["aspect"]["json"]), "contentType": "application/json"}
            handle.write(orjson.dumps(record) + b"\n")
    (tmp_path / "dir" / "ignored.txt").write_text("not json")
    third = tmp_path / "third.json"
    replay(write_recipe, tmp_path, tmp_path / "dir", third, extra=", file_extension: jsonl", name="three")
    assert file_aspects(json.loads(third.read_text())) == file_aspects(json.loads(first.read_text()))


def test_bad_records_are_failures_with_file_and_position_and_are_skipped(tmp_path):
    good = json.loads(REFERENCE.read_text())[0]
    array = tmp_path / "bad.json"
    array.write_text(json.dumps([good, {"hello": 1}, {**good, "aspect": {"nope": 1}}, good]))
    lines = tmp_path / "bad.jsonl"
    lines.write_text(json.dumps(good) + "\n{broken\n" + json.dumps(good) + "\n")
    truncated = tmp_path / "truncated.json"
    truncated.write_text(json.dumps([good, good])[:-40])
    report = StageReport("snapshot")
    records = []
    for path in (array, lines, truncated):
        records += list(FileSource(FileSourceConfig(path=str(path)), report).extract())
    assert len(records) == 2 + 2 + 1
    assert report.counts["bad records"] == 2 and report.failure_count == 4
    assert report.failures[0].startswith(f"{array}: record 2: neither an MCP")
    assert report.failures[1].startswith(f"{array}: record 3: MCP aspect is neither")
    assert report.failures[2].startswith(f"{lines}: line 2: not valid JSON")
    assert report.failures[3].startswith(f"{truncated}: record 2 (near byte")


def test_aspect_filter_and_inert_keys(tmp_path):
    report = StageReport("snapshot")
    config = FileSourceConfig.model_validate({"filename": str(REFERENCE), "aspect": "status", "read_mode": "batch",
                                               "count_all_before_starting": False})
    records = list(FileSource(config, report).extract())
    assert records and {r.mcp["aspectName"] for r in records} == {"status"}
    from ingest_assets.core.plugin import inert_settings
    assert [line.split(":")[0] for line in inert_settings(config, "")] == ["count_all_before_starting", "read_mode"]


def test_datahub_recipe_file_to_rest_runs_unchanged_with_change_only_emission(write_recipe, tmp_path):
    """DataHub's recipe shape, `file` -> `datahub-rest`, into the local service; a second run sends nothing,
    an edited aspect in the file is the only thing re-sent."""
    source = f"  type: file\n  config:\n    path: {REFERENCE}\n    file_extension: .json\n    read_mode: AUTO"
    with metadata_service(tmp_path) as service:
        recipe = write_recipe(rest_recipe(source, service.url, pipeline="file_rest"))
        first = run_pipeline(recipe, tmp_path / "artifacts")
        store = service.store()
        try:
            stored = store_latest(store)
        finally:
            store.close()
        assert {k: v for k, v in stored.items()} == file_aspects(json.loads(REFERENCE.read_text()))
        assert first.counts["sent"] == len(stored)
        assert run_pipeline(recipe, tmp_path / "artifacts", "run-2").counts["sent"] == 0
        edited = json.loads(REFERENCE.read_text())
        for record in edited:
            if record.get("aspectName") == "containerProperties":
                record["aspect"]["json"]["description"] = "edited"
        copy_path = tmp_path / "edited.json"
        copy_path.write_text(json.dumps(edited))
        recipe.write_text(recipe.read_text().replace(str(REFERENCE), str(copy_path)))
        assert run_pipeline(recipe, tmp_path / "artifacts", "run-3").counts["sent"] == 1
