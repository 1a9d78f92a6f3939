"""One recipe -> three assets `<pipeline>/snapshot` -> `<pipeline>/mcps` -> `<pipeline>/<sink>`, a job,
its checks, schedule and sensors.

Assets hand over files (see `stages.RunFiles`), not Python values, so the sink asset can be
re-materialized alone after a sink outage without touching the source again. Each asset runs
in the pool `ingest_<pipeline>` and each unpartitioned job carries the tag `ingest_assets/serial`:
with the limits deploy/*/dagster.yaml sets, two runs of one pipeline (of one partition, where
partitioned) never touch its hand-over files at the same time.
"""

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from ..core.errors import IngestError, first_line
from ..core.recipe import LoadedRecipe, load_recipe
from ..core.report import StageReport
from ..core.secrets import redact
from ..stages import RunFiles, collector_spared, profiling_enabled, run_mcps, run_sink, run_snapshot
from . import checks
from .artifacts import staged_files
from .metadata import STAGES, stage_metadata
from .partitions import database_partitions, is_partitioned
from .profile_asset import build_profile_asset, build_profile_schedule, profile_asset_key
from .resources import IngestSettings
from .schedules import build_schedule
from .sensors import (
    build_databases_sensor,
    build_recipe_change_sensor,
    build_source_change_sensor,
    has_fingerprint,
)

__all__ = ["IngestSettings", "PipelineDefs", "build_pipeline", "failure_exit_code", "pipeline_asset_keys", "stage_reports"]


@dataclass
class PipelineDefs:
    pipeline: str
    assets: list = field(default_factory=list)
    jobs: list = field(default_factory=list)
    schedules: list = field(default_factory=list)
    sensors: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def pipeline_asset_keys(loaded: LoadedRecipe) -> tuple[dg.AssetKey, dg.AssetKey, dg.AssetKey]:
    p = loaded.pipeline_name
    return dg.AssetKey([p, "snapshot"]), dg.AssetKey([p, "mcps"]), dg.AssetKey([p, loaded.sink_type])


def _load_report(files: RunFiles, stage: str) -> StageReport | None:
    path = files.report(stage)
    return StageReport.load(path) if path.exists() else None


@dataclass(frozen=True)
class _Stage:
    """What differs between the three assets: the stage's name and the check that its failures fail."""

    name: str
    failure_check: str


_SNAPSHOT = _Stage("snapshot", checks.NO_SOURCE_FAILURES)
_MCPS = _Stage("mcps", checks.NO_MCP_FAILURES)
_SINK = _Stage("sink", checks.NO_SINK_FAILURES)


def _run_stage(context: dg.AssetExecutionContext, ingest: IngestSettings, recipe: tuple[Path, tuple[str, ...]], stage: _Stage, run):
    """Load the recipe afresh (secrets stay out of the definitions), run one stage, report it and check it.

    A stage that raises still reports its failure check (red in the UI) before the step fails.
    """
    pipeline = context.asset_key.path[0]
    partition = context.partition_key if context.has_partition_key else None
    earlier = STAGES[: STAGES.index(stage.name)]
    with staged_files(ingest.artifacts_base, pipeline, partition) as files:
        files.report(stage.name).unlink(missing_ok=True)
        try:
            loaded = load_recipe(*recipe)
            with collector_spared():
                report = run(loaded, files, partition)
        except IngestError as exc:
            message = redact(str(exc))
            yield checks.failures_check(stage.failure_check, _load_report(files, stage.name), message)
            raise dg.Failure(
                description=message,
                metadata={"exit_code": exc.exit_code, "error": type(exc).__name__},
                allow_retries=False,
            ) from None
        except Exception as exc:  # a bug, not an expected failure: traceback in the run's log, one line for the rest
            message = redact(f"{stage.name} stage failed: {type(exc).__name__}: {first_line(exc)}")
            context.log.exception(message)
            yield checks.failures_check(stage.failure_check, _load_report(files, stage.name), message)
            raise dg.Failure(description=message, metadata={"exit_code": 1, "error": type(exc).__name__}) from None
        for warning in report.warnings:
            context.log.warning(warning)
        before = stage_reports(files, earlier)
        results = [checks.failures_check(stage.failure_check, report)]
        if stage is _SNAPSHOT:
            previous = checks.previous_datasets(context.instance, context.asset_key, partition)
            results.append(checks.snapshot_not_empty_check(report, previous, ingest.allow_empty))
        metadata = stage_metadata(report, loaded, before, partition)
        yield dg.MaterializeResult(metadata=metadata, check_results=results)


SERIAL_TAG = "ingest_assets/serial"
"""On every run of an unpartitioned pipeline; the run queue allows one run per value (deploy/*/dagster.yaml)."""


def _job_tags(pipeline: str, partitions) -> dict[str, str]:
    tags = {"ingest_assets/pipeline": pipeline}
    if partitions is None:
        tags[SERIAL_TAG] = pipeline
    return tags


def build_pipeline(loaded: LoadedRecipe, partitioned: bool = False) -> PipelineDefs:
    """Everything Dagster shows for one recipe.

    `partitioned=True` (the Definitions) honours the recipe's `partition_by: database`; the CLI
    leaves it off and runs the whole source in one run.
    """
    recipe_path = loaded.path.resolve()
    recipe = (recipe_path, loaded.within)  # what each run reads again: the file, and where in it the recipe sits
    pipeline = loaded.pipeline_name
    platform = getattr(loaded.source_class, "platform", loaded.recipe.source.type)
    snapshot_key, mcps_key, sink_key = pipeline_asset_keys(loaded)
    partitions = database_partitions(loaded) if partitioned and is_partitioned(loaded) else None
    pool = f"ingest_{pipeline}"
    common = {
        "group_name": pipeline,
        "pool": pool,
        "partitions_def": partitions,
        "metadata": {"recipe_path": str(recipe_path)},
    }

    @dg.asset(
        key=snapshot_key,
        kinds={platform},
        check_specs=checks.snapshot_check_specs(snapshot_key),
        description=f"What the {loaded.recipe.source.type} source holds now (snapshot records).",
        **common,
    )
    def snapshot(context: dg.AssetExecutionContext, ingest: IngestSettings):
        yield from _run_stage(context, ingest, recipe, _SNAPSHOT,
                              lambda lr, files, partition: run_snapshot(lr, files, ingest.preview, only_database=partition))

    @dg.asset(
        key=mcps_key,
        deps=[snapshot_key],
        kinds={"datahub"},
        check_specs=checks.mcps_check_specs(mcps_key),
        description="Metadata Change Proposals built from the snapshot.",
        **common,
    )
    def mcps(context: dg.AssetExecutionContext, ingest: IngestSettings):
        yield from _run_stage(context, ingest, recipe, _MCPS,
                              lambda lr, files, partition: run_mcps(
                                  lr, files, context.run_id, full_refresh=ingest.full_refresh,
                                  allow_mass_removal=ingest.allow_mass_removal, state_url=ingest.state_url or None,
                                  partition=partition))

    @dg.asset(
        key=sink_key,
        deps=[mcps_key],
        kinds={"datahub"},
        check_specs=checks.sink_check_specs(sink_key),
        description=f"The MCPs as the {loaded.sink_type} sink acknowledged them.",
        **common,
    )
    def sink(context: dg.AssetExecutionContext, ingest: IngestSettings):
        yield from _run_stage(context, ingest, recipe, _SINK, lambda lr, files, partition: run_sink(
            lr, files, state_url=ingest.state_url or None, partition=partition))

    job = dg.define_asset_job(
        name=f"{pipeline}_job",
        selection=dg.AssetSelection.assets(snapshot_key, mcps_key, sink_key),  # never the profile asset
        description=f"Ingest {loaded.recipe.source.type} into {loaded.sink_type} ({recipe_path.name}).",
        tags=_job_tags(pipeline, partitions),
        partitions_def=partitions,
        # The three stages are a chain handing over files: one process per run, not one per step.
        executor_def=dg.in_process_executor,
    )
    parts = PipelineDefs(pipeline, assets=[snapshot, mcps, sink], jobs=[job])
    if profiling_enabled(loaded):
        profile, profile_job = build_profile_asset(loaded, snapshot_key, partitions, platform)
        parts.assets.append(profile)
        parts.jobs.append(profile_job)
        parts.schedules += [s for s in [build_profile_schedule(loaded, profile_job, partitions)] if s is not None]
    schedule = build_schedule(loaded, job, partitions)
    if schedule is not None:
        parts.schedules.append(schedule)
    if loaded.recipe.sensor and loaded.recipe.sensor.source_change:
        if has_fingerprint(loaded):
            parts.sensors.append(build_source_change_sensor(loaded, job, partitions))
        else:
            parts.notes.append(f"{loaded.path}: sensor.source_change: the {loaded.recipe.source.type} source has no fingerprint, so no source-change sensor")
    parts.sensors.append(build_recipe_change_sensor(loaded, job, partitions))
    if partitions is not None:
        parts.sensors.append(build_databases_sensor(loaded, job, partitions))
    return parts


def stage_reports(files: RunFiles, stages=STAGES) -> list[StageReport]:
    return [StageReport.load(files.report(s)) for s in (*STAGES, "profile") if s in stages and files.report(s).exists()]


def stages_run(loaded: LoadedRecipe, result: dg.ExecuteInProcessResult) -> set[str]:
    """The stages whose step started in this run (any other stage's report is an earlier run's)."""
    started = {event.step_key for event in result.all_events if event.is_step_start}
    keys = zip((*STAGES, "profile"), (*pipeline_asset_keys(loaded), profile_asset_key(loaded)))
    return {stage for stage, key in keys if key.to_python_identifier() in started}


INTERRUPTED = 130
"""The exit code of a run stopped by Ctrl-C (SIGINT), as shells report it."""


def failure_exit_code(result: dg.ExecuteInProcessResult) -> tuple[int, list[str]]:
    """The CLI exit code and messages of a failed in-process run (130 when it was interrupted)."""
    code, messages = 0, []
    if any(event.event_type_value == "RUN_FAILURE" and "Interrupted" in (event.message or "") for event in result.all_events) \
            or any(e.step_failure_data.error is not None and e.step_failure_data.error.cls_name == "DagsterExecutionInterruptedError"
                   for e in result.get_step_failure_events()):
        return INTERRUPTED, ["interrupted: the run stopped; state is unchanged, the next run sends what this one did not"]
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        user = data.user_failure_data
        if user is not None:
            entry = user.metadata.get("exit_code")
            code = max(code, int(entry.value) if entry is not None else 1)
            messages.append(user.description or "step failed")
        else:
            code = max(code, 1)
            messages.append(redact((data.error.message.strip().splitlines() or ["step failed"])[0] if data.error else "step failed"))
    return code or 1, messages
