"""`schedule: {cron, timezone, default_status}` in a recipe -> `<pipeline>_schedule` on its job.

A partitioned pipeline's schedule requests one run per known database partition.
"""

import dagster as dg

from ..core.errors import RecipeError, first_line
from ..core.recipe import LoadedRecipe


def build_schedule(loaded: LoadedRecipe, job, partitions: dg.DynamicPartitionsDefinition | None) -> dg.ScheduleDefinition | None:
    spec = loaded.recipe.schedule
    if spec is None:
        return None
    return build_schedule_for(loaded, spec, job, partitions, name=f"{loaded.pipeline_name}_schedule", key="schedule")


def build_schedule_for(loaded: LoadedRecipe, spec, job, partitions: dg.DynamicPartitionsDefinition | None, *, name: str,
                       key: str) -> dg.ScheduleDefinition:
    """A schedule from one of the recipe's schedule blocks (`key` names it in errors): `schedule`, `profiling_schedule`."""
    description = f"Runs {loaded.pipeline_name} on cron '{spec.cron}' ({spec.timezone}), from {loaded.path.name if loaded.path else 'the recipe'}."
    try:
        if partitions is None:
            return dg.ScheduleDefinition(
                name=name,
                job=job,
                cron_schedule=spec.cron,
                execution_timezone=spec.timezone,
                default_status=dg.DefaultScheduleStatus[spec.default_status],
                description=description,
            )

        @dg.schedule(
            name=name,
            job=job,
            cron_schedule=spec.cron,
            execution_timezone=spec.timezone,
            default_status=dg.DefaultScheduleStatus[spec.default_status],
            description=description + " One run per database partition.",
        )
        def every_database(context: dg.ScheduleEvaluationContext):
            databases = context.instance.get_dynamic_partitions(partitions.name)
            if not databases:
                return dg.SkipReason(f"no database partitions yet: turn on {loaded.pipeline_name}_databases or add one in the UI")
            tick = context.scheduled_execution_time.isoformat()
            return [dg.RunRequest(run_key=f"{tick}:{db}", partition_key=db) for db in databases]

        return every_database
    except dg.DagsterInvalidDefinitionError as exc:
        raise RecipeError([f"{loaded.path}: {key}.cron: expected a cron expression Dagster accepts, found {spec.cron!r} "
                           f"({first_line(exc)})"]) from None
