"""One recipe -> three assets `<pipeline>/snapshot` -> `<pipeline>/mcps` -> `<pipeline>/<sink>` and a job.

Assets hand over files (see `stages.RunFiles`), not Python values, so the sink asset can be
re-materialized alone after a sink outage without touching the source again.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from ..core.errors import IngestError
from ..core.recipe import LoadedRecipe, load_recipe
from ..core.report import StageReport
from ..core.secrets import redact
from ..stages import RunFiles, run_mcps, run_snapshot, run_sink


class IngestSettings(dg.ConfigurableResource):
    """Run options, settable per run in the launchpad: where stage files go, preview, full refresh."""

    artifacts_dir: str = ""
    preview: int = 0
    full_refresh: bool = False

    def files(self, pipeline: str, partition: str | None = None) -> RunFiles:
        return RunFiles.for_pipeline(pipeline, Path(self.artifacts_dir) if self.artifacts_dir else None, partition)


def _metadata(report: StageReport, loaded: LoadedRecipe) -> dict:
    meta: dict = {f"count: {key}": dg.MetadataValue.int(int(value)) for key, value in sorted(report.counts.items())}
    meta["duration_seconds"] = dg.MetadataValue.float(report.duration)
    meta["warnings"] = dg.MetadataValue.int(report.warning_count)
    meta["failures"] = dg.MetadataValue.int(report.failure_count)
    meta["report"] = dg.MetadataValue.md(report.markdown())
    meta["recipe"] = dg.MetadataValue.json(loaded.redacted())
    return meta


def _run_stage(context: dg.AssetExecutionContext, recipe_path: Path, stage) -> dg.MaterializeResult:
    """Load the recipe afresh (secrets stay out of the definitions), run one stage, report it."""
    try:
        loaded = load_recipe(recipe_path)
        report = stage(loaded)
    except IngestError as exc:
        raise dg.Failure(
            description=redact(str(exc)),
            metadata={"exit_code": exc.exit_code, "error": type(exc).__name__},
            allow_retries=False,
        ) from None
    for warning in report.warnings:
        context.log.warning(warning)
    return dg.MaterializeResult(metadata=_metadata(report, loaded))


@dataclass
class PipelineDefs:
    pipeline: str
    assets: list = field(default_factory=list)
    jobs: list = field(default_factory=list)
    schedules: list = field(default_factory=list)
    sensors: list = field(default_factory=list)
    asset_checks: list = field(default_factory=list)


def pipeline_asset_keys(loaded: LoadedRecipe) -> tuple[dg.AssetKey, dg.AssetKey, dg.AssetKey]:
    p = loaded.pipeline_name
    return dg.AssetKey([p, "snapshot"]), dg.AssetKey([p, "mcps"]), dg.AssetKey([p, loaded.sink_type])


def build_pipeline(loaded: LoadedRecipe) -> PipelineDefs:
    recipe_path = loaded.path.resolve()
    pipeline = loaded.pipeline_name
    platform = getattr(loaded.source_class, "platform", loaded.recipe.source.type)
    snapshot_key, mcps_key, sink_key = pipeline_asset_keys(loaded)
    pool = f"ingest_{pipeline}"
    common = {"group_name": pipeline, "pool": pool, "metadata": {"recipe_path": str(recipe_path)}}

    @dg.asset(key=snapshot_key, kinds={platform}, description=f"What the {loaded.recipe.source.type} source holds now (snapshot records).", **common)
    def snapshot(context: dg.AssetExecutionContext, ingest: IngestSettings) -> dg.MaterializeResult:
        files = ingest.files(pipeline)
        return _run_stage(context, recipe_path, lambda lr: run_snapshot(lr, files, ingest.preview))

    @dg.asset(key=mcps_key, deps=[snapshot_key], kinds={"datahub"}, description="Metadata Change Proposals built from the snapshot.", **common)
    def mcps(context: dg.AssetExecutionContext, ingest: IngestSettings) -> dg.MaterializeResult:
        files = ingest.files(pipeline)
        return _run_stage(context, recipe_path, lambda lr: run_mcps(lr, files, context.run_id))

    @dg.asset(key=sink_key, deps=[mcps_key], kinds={"datahub"}, description=f"The MCPs as the {loaded.sink_type} sink acknowledged them.", **common)
    def sink(context: dg.AssetExecutionContext, ingest: IngestSettings) -> dg.MaterializeResult:
        files = ingest.files(pipeline)
        return _run_stage(context, recipe_path, lambda lr: run_sink(lr, files))

    job = dg.define_asset_job(
        name=f"{pipeline}_job",
        selection=dg.AssetSelection.groups(pipeline),
        description=f"Ingest {loaded.recipe.source.type} into {loaded.sink_type} ({recipe_path.name}).",
        tags={"ingest_assets/pipeline": pipeline},
    )
    return PipelineDefs(pipeline, assets=[snapshot, mcps, sink], jobs=[job])


def stage_reports(files: RunFiles) -> list[StageReport]:
    return [StageReport.load(files.report(s)) for s in ("snapshot", "mcps", "sink") if files.report(s).exists()]


def failure_exit_code(result: dg.ExecuteInProcessResult) -> tuple[int, list[str]]:
    """The CLI exit code and messages of a failed in-process run."""
    code, messages = 0, []
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        user = data.user_failure_data
        if user is not None:
            entry = user.metadata.get("exit_code")
            code = max(code, int(entry.value) if entry is not None else 1)
            messages.append(user.description or "step failed")
        else:
            code = max(code, 1)
            messages.append(redact(data.error.message.strip().splitlines()[0] if data.error else "step failed"))
    return code or 1, messages


def dump_json(obj) -> str:
    return json.dumps(obj, indent=2, default=str)
