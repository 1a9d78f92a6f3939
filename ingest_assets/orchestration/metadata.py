"""Materialization metadata a person reads at a glance in the Dagster UI: the story of one stage of one run.

Each figure once: the counts as integer entries (the UI plots those across runs), the MCPs per entity type
and aspect as one table (not also as thirty integers), one Markdown summary (the stages' durations, their
warnings and failures), and the recipe as it was read, its `${VAR}`s resolved and its secrets masked.
"""

import dagster as dg

from ..core.recipe import LoadedRecipe
from ..core.report import StageReport
from .checks import DATASETS_KEY

STAGES = ("snapshot", "mcps", "sink")
CHANGE_COUNTS = (
    ("new aspects", "aspects new"),
    ("changed aspects", "aspects changed"),
    ("unchanged aspects", "aspects unchanged"),
    ("removed entities", "entities removed"),
)
"""What change-only emission decided (the mcps stage's state diff), as plottable top-level numbers."""


def _aspect_table(report: StageReport) -> dg.TableMetadataValue | None:
    rows = []
    for key, value in sorted(report.counts.items()):
        if key.startswith("aspects ") and "/" in key:
            entity_type, aspect = key.removeprefix("aspects ").split("/", 1)
            rows.append(dg.TableRecord({"entity type": entity_type, "aspect": aspect, "MCPs": int(value)}))
    if not rows:
        return None
    schema = dg.TableSchema(columns=[
        dg.TableColumn("entity type", "string"),
        dg.TableColumn("aspect", "string"),
        dg.TableColumn("MCPs", "int"),
    ])
    return dg.MetadataValue.table(rows, schema=schema)


def _listed(title: str, items: list[str], total: int) -> str:
    lines = [f"**{title}** ({total})", ""] + [f"- {item}" for item in items]
    if total > len(items):
        lines.append(f"- … and {total - len(items)} more (see the stage report)")
    return "\n".join(lines)


def bytes_sent(report: StageReport) -> int:
    return sum(int(v) for k, v in report.counts.items() if k.startswith("bytes"))


def durations_markdown(reports: list[StageReport]) -> str:
    lines = ["| stage | seconds | warnings | failures |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {r.stage} | {r.duration:.2f} | {r.warning_count} | {r.failure_count} |" for r in reports]
    return "\n".join(lines)


def summary_markdown(loaded: LoadedRecipe, reports: list[StageReport], partition: str | None) -> str:
    title = f"## {loaded.pipeline_name}: {loaded.recipe.source.type} → {loaded.sink_type}"
    if partition:
        title += f" (database {partition})"
    parts = [title, "", durations_markdown(reports)]
    for report in reports:
        if report.warning_count:
            parts += ["", _listed(f"Warnings of {report.stage}", report.warnings, report.warning_count)]
        if report.failure_count:
            parts += ["", _listed(f"Failures of {report.stage}", report.failures, report.failure_count)]
    return "\n".join(parts)


def _per_aspect(key: str) -> bool:
    """`aspects dataset/schemaMetadata`: a row of the table, not an entry of its own."""
    return key.startswith("aspects ") and "/" in key


def stage_metadata(report: StageReport, loaded: LoadedRecipe, earlier: list[StageReport], partition: str | None = None) -> dict:
    """Metadata of one stage's materialization; `earlier` holds this run's reports of the stages before it."""
    meta: dict = {f"count: {key}": dg.MetadataValue.int(int(value))
                  for key, value in sorted(report.counts.items()) if not _per_aspect(key)}
    if report.stage == "snapshot":
        meta["datasets"] = dg.MetadataValue.int(int(report.counts.get(DATASETS_KEY, 0)))
    if report.stage == "mcps" and "aspects built" in report.counts:
        for label, key in CHANGE_COUNTS:
            meta[label] = dg.MetadataValue.int(int(report.counts.get(key, 0)))
    if report.stage == "sink":
        meta["bytes_sent"] = dg.MetadataValue.int(bytes_sent(report))
    table = _aspect_table(report)
    if table is not None:
        meta["aspects per entity type"] = table
    meta["duration_seconds"] = dg.MetadataValue.float(report.duration)
    meta["warnings"] = dg.MetadataValue.int(report.warning_count)
    meta["failures"] = dg.MetadataValue.int(report.failure_count)
    meta["summary"] = dg.MetadataValue.md(summary_markdown(loaded, [*earlier, report], partition))
    meta["recipe"] = dg.MetadataValue.json(loaded.as_read())
    if partition:
        meta["database"] = dg.MetadataValue.text(partition)
    return meta
