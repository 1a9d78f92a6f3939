"""The three stages of a pipeline run as plain functions over hand-over files.

snapshot: source -> snapshot.jsonl; mcps: snapshot.jsonl -> mcps.jsonl; sink: mcps.jsonl -> sink.
The Dagster assets and therefore the CLI call these; each stage writes a report beside its output.
"""

import logging
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .core.aspects import record_mcps
from .core.errors import IngestError, SinkFailure, SourceFailure
from .core.handover import read_lines, write_lines
from .core.mcp import MCP
from .core.recipe import LoadedRecipe
from .core.records import DatasetRecord, record_from_json, record_to_json
from .core.report import StageReport
from .core.secrets import redact

log = logging.getLogger("ingest_assets")


def artifacts_root() -> Path:
    """Where stage files live: INGEST_ARTIFACTS_DIR, else beside the Dagster instance, else ~/.ingest_assets."""
    if os.environ.get("INGEST_ARTIFACTS_DIR"):
        return Path(os.environ["INGEST_ARTIFACTS_DIR"])
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]) / "ingest_assets" / "artifacts"
    return Path(os.environ.get("INGEST_ASSETS_HOME", Path.home() / ".ingest_assets")) / "artifacts"


@dataclass(frozen=True)
class RunFiles:
    """The hand-over files of one pipeline (one partition, where partitioned)."""

    directory: Path

    @classmethod
    def for_pipeline(cls, pipeline: str, base: Path | None = None, partition: str | None = None) -> "RunFiles":
        directory = (base or artifacts_root()) / pipeline
        if partition:
            directory = directory / "partitions" / partition
        return cls(directory)

    @property
    def snapshot(self) -> Path:
        return self.directory / "snapshot.jsonl"

    @property
    def mcps(self) -> Path:
        return self.directory / "mcps.jsonl"

    def report(self, stage: str) -> Path:
        return self.directory / f"{stage}.report.json"


def _unexpected(what: str, exc: Exception) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return redact(f"{what}: {type(exc).__name__}: {first}")


def run_snapshot(loaded: LoadedRecipe, files: RunFiles, preview: int = 0, only_database: str | None = None) -> StageReport:
    """Stream the source's records into snapshot.jsonl; `preview` stops after that many datasets.

    `only_database` (a partitioned run) limits the source to that one database.
    """
    report = StageReport("snapshot")
    source = loaded.source_class(loaded.source_config, report)
    if only_database:
        source.only_database = only_database
    log.info("snapshot: reading %s source", loaded.recipe.source.type)
    datasets = 0
    try:
        with write_lines(files.snapshot) as write:
            for record in source.extract():
                if record.kind == "scope" and preview:
                    continue
                write(record_to_json(record))
                report.count(f"{record.kind} records")
                if isinstance(record, DatasetRecord):
                    datasets += 1
                    if preview and datasets >= preview:
                        report.warn(f"preview: stopped after {preview} datasets")
                        break
    except IngestError as exc:
        report.fail(str(exc))
        report.finish().save(files.report("snapshot"))
        raise
    except Exception as exc:  # a source bug or an unexpected driver error: one line, no secrets
        message = _unexpected(f"{loaded.recipe.source.type} source failed", exc)
        report.fail(message)
        report.finish().save(files.report("snapshot"))
        raise SourceFailure(message) from None
    finally:
        source.close()
    report.finish().save(files.report("snapshot"))
    log.info("snapshot: %d datasets in %.2f s", datasets, report.duration)
    return report


def _stamp(mcps, run_id: str, pipeline: str):
    now_ms = int(time.time() * 1000)
    for mcp in mcps:
        mcp.system_metadata = {"lastObserved": now_ms, "runId": run_id, "pipelineName": pipeline}
        yield mcp


def build_mcps(loaded: LoadedRecipe, files: RunFiles, report: StageReport):
    """The run's MCPs, streamed: records -> aspects -> transformers."""
    stream = (mcp for line in read_lines(files.snapshot) for mcp in record_mcps(record_from_json(line)))
    for plugin, config in loaded.transformers:
        stream = plugin(config, report).transform(stream)
    return stream


def run_mcps(loaded: LoadedRecipe, files: RunFiles, run_id: str) -> StageReport:
    report = StageReport("mcps")
    entities: dict[str, set] = {}
    try:
        with write_lines(files.mcps) as write:
            for mcp in _stamp(build_mcps(loaded, files, report), run_id, loaded.pipeline_name):
                write(mcp.to_line())
                report.count(f"aspects {mcp.entity_type}/{mcp.aspect_name}")
                report.count("mcps")
                entities.setdefault(mcp.entity_type, set()).add(mcp.entity_urn)
    except IngestError:
        raise
    except Exception as exc:
        message = _unexpected("building MCPs failed", exc)
        report.fail(message)
        report.finish().save(files.report("mcps"))
        raise SourceFailure(message) from None
    for entity_type, urns in entities.items():
        report.count(f"entities {entity_type}", len(urns))
    report.finish().save(files.report("mcps"))
    log.info("mcps: %d MCPs in %.2f s", report.counts["mcps"], report.duration)
    return report


def run_sink(loaded: LoadedRecipe, files: RunFiles) -> StageReport:
    """Send mcps.jsonl to the sink; raise SinkFailure unless every MCP was acknowledged."""
    report = StageReport("sink")
    sink = loaded.sink_class(loaded.sink_config, report)
    acked = Counter()

    def ack(mcp: MCP) -> None:
        acked["mcps"] += 1

    total = 0

    def stream():
        nonlocal total
        for line in read_lines(files.mcps):
            total += 1
            yield MCP.from_line(line)

    log.info("sink: sending to %s", loaded.sink_type)
    try:
        try:
            sink.check()
            sink.write(stream(), ack)
        finally:
            sink.close()
    except IngestError as exc:
        report.fail(str(exc))
        report.count("acknowledged", acked["mcps"])
        report.finish().save(files.report("sink"))
        raise
    except Exception as exc:
        message = _unexpected(f"{loaded.sink_type} sink failed", exc)
        report.fail(message)
        report.count("acknowledged", acked["mcps"])
        report.finish().save(files.report("sink"))
        raise SinkFailure(message) from None
    report.count("acknowledged", acked["mcps"])
    report.count("sent", total)
    report.finish().save(files.report("sink"))
    if acked["mcps"] < total:
        raise SinkFailure(f"{loaded.sink_type} sink acknowledged {acked['mcps']} of {total} MCPs")
    log.info("sink: %d MCPs acknowledged in %.2f s", acked["mcps"], report.duration)
    return report


def run_report_markdown(loaded: LoadedRecipe, reports: list[StageReport]) -> str:
    lines = [f"## {loaded.pipeline_name}: {loaded.recipe.source.type} -> {loaded.sink_type}", ""]
    lines += [r.markdown() for r in reports]
    return "\n".join(lines)
