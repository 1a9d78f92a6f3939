"""`<pipeline>/profile`: DataHub's datasetProfile per table, as an asset of its own beside the schema chain.

It reads the snapshot the schema run left (the tables in scope) and sends what it measures through the
pipeline's sink. It has its own job, `<pipeline>_profile_job`, its own pool (`ingest_<pipeline>_profile`) and
serial tag, and its own optional schedule (`profiling_schedule` in the recipe): profiles change with the data,
schemas with DDL, and a schema run must never queue behind a table scan. The schema job leaves it out.
"""

import dagster as dg

from ..core.errors import IngestError, first_line
from ..core.recipe import LoadedRecipe, load_recipe
from ..core.report import StageReport
from ..core.secrets import redact
from ..stages import collector_spared, run_profile
from . import checks
from .artifacts import staged_files
from .metadata import stage_metadata
from .resources import IngestSettings

NO_PROFILE_FAILURES = "no_profile_failures"
PROFILE_SERIAL_TAG = "ingest_assets/serial"


def profile_asset_key(loaded: LoadedRecipe) -> dg.AssetKey:
    return dg.AssetKey([loaded.pipeline_name, "profile"])


def _reloaded(loaded: LoadedRecipe) -> LoadedRecipe:
    """The recipe as it is now on disk (each run reads it afresh: edits apply, secrets stay out of definitions)."""
    within = getattr(loaded, "within", ())
    return load_recipe(loaded.path.resolve(), within) if within else load_recipe(loaded.path.resolve())


def build_profile_asset(loaded: LoadedRecipe, snapshot_key: dg.AssetKey, partitions, platform: str):
    key = profile_asset_key(loaded)
    pipeline = loaded.pipeline_name

    @dg.asset(
        key=key,
        deps=[snapshot_key],
        kinds={platform, "datahub"},
        group_name=pipeline,
        pool=f"ingest_{pipeline}_profile",
        partitions_def=partitions,
        metadata={"recipe_path": str(loaded.path.resolve())},
        check_specs=[dg.AssetCheckSpec(NO_PROFILE_FAILURES, asset=key, description="Every table in scope was profiled "
                                       "and the sink acknowledged every profile.")],
        description="DataHub's datasetProfile of every table in the snapshot, sent through the pipeline's sink.",
    )
    def profile(context: dg.AssetExecutionContext, ingest: IngestSettings):
        partition = context.partition_key if context.has_partition_key else None
        with staged_files(ingest.artifacts_base, pipeline, partition) as files:
            files.report("profile").unlink(missing_ok=True)
            try:
                current = _reloaded(loaded)
                if not files.snapshot.exists():
                    raise dg.Failure(description=f"no snapshot yet: materialize {snapshot_key.to_user_string()} first",
                                     metadata={"exit_code": 2}, allow_retries=False)
                with collector_spared():
                    report = run_profile(current, files, context.run_id)
            except IngestError as exc:
                message = redact(str(exc))
                saved = files.report("profile")
                yield checks.failures_check(NO_PROFILE_FAILURES, StageReport.load(saved) if saved.exists() else None, message)
                raise dg.Failure(description=message, metadata={"exit_code": exc.exit_code, "error": type(exc).__name__},
                                 allow_retries=False) from None
            except dg.Failure:
                raise
            except Exception as exc:
                message = redact(f"profile stage failed: {type(exc).__name__}: {first_line(exc)}")
                context.log.exception(message)
                yield checks.failures_check(NO_PROFILE_FAILURES, None, message)
                raise dg.Failure(description=message, metadata={"exit_code": 1, "error": type(exc).__name__}) from None
            for warning in report.warnings:
                context.log.warning(warning)
            metadata = stage_metadata(report, current, [], partition)
            yield dg.MaterializeResult(metadata=metadata,
                                       check_results=[checks.failures_check(NO_PROFILE_FAILURES, report)])

    job = dg.define_asset_job(
        name=f"{pipeline}_profile_job",
        selection=dg.AssetSelection.assets(key),
        description=f"Profile the tables of {pipeline} (datasetProfile) into {loaded.sink_type}.",
        tags={"ingest_assets/pipeline": pipeline,
              **({PROFILE_SERIAL_TAG: f"{pipeline}/profile"} if partitions is None else {})},
        partitions_def=partitions,
        executor_def=dg.in_process_executor,
    )
    return profile, job


def build_profile_schedule(loaded: LoadedRecipe, job, partitions) -> dg.ScheduleDefinition | None:
    """`profiling_schedule: {cron, timezone, default_status}` -> `<pipeline>_profile_schedule` (one run per database
    partition where the pipeline is partitioned)."""
    spec = loaded.recipe.profiling_schedule
    if spec is None:
        return None
    from .schedules import build_schedule_for

    return build_schedule_for(loaded, spec, job, partitions, name=f"{loaded.pipeline_name}_profile_schedule",
                              key="profiling_schedule")
