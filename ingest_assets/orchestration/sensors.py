"""Sensors per recipe: the source changed, the recipe file changed, new databases appeared.

Every sensor loads the recipe afresh on each tick (secrets never sit in the definitions) and
turns anything that goes wrong (recipe invalid, source unreachable) into a SkipReason with the
reason, one line, secrets masked: a tick never crashes.

- `<pipeline>_source_change` (`sensor: {source_change: {interval_seconds}}`): calls the source's
  cheap `fingerprint()`. The cursor keeps the last fingerprint and a change counter. The first
  tick records the fingerprint without a run (launch one by hand, or let the schedule run);
  every later change requests a run with run key `<change number>:<fingerprint>`, so a source
  that changes back to an earlier state still runs again.
- `<pipeline>_recipe_change`: always defined, running by default when the recipe says
  `sensor: {recipe_change: true}`. The cursor keeps a hash of the recipe file; an edit requests a
  run. Runs load the recipe when they start, so the edited recipe is what runs; a new
  pipeline_name or sink type only appears after the code location is reloaded.
- `<pipeline>_databases` (partitioned recipes): adds a partition for each new database and
  requests a run of it.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg

from ..core.errors import RecipeError, first_line
from ..core.plugin import Source
from ..core.recipe import LoadedRecipe, load_recipe
from ..core.report import StageReport
from ..core.secrets import redact
from .partitions import discover_databases, new_partitions

RECIPE_INTERVAL_SECONDS = 30
DATABASES_INTERVAL_SECONDS = 300


def has_fingerprint(loaded: LoadedRecipe) -> bool:
    return loaded.source_class.fingerprint is not Source.fingerprint


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, RecipeError):
        text = "; ".join(exc.problems)
    else:
        text = first_line(exc)
    return redact(text)


def source_fingerprint(loaded: LoadedRecipe) -> str | None:
    """The source's fingerprint now; raises IngestError when the source fails."""
    source = loaded.source_class(loaded.source_config, StageReport("fingerprint"))
    try:
        return source.fingerprint()
    finally:
        source.close()


def _read_cursor(cursor: str | None) -> dict:
    try:
        return json.loads(cursor) if cursor else {}
    except ValueError:
        return {}


def _databases(context, partitions, loaded: LoadedRecipe) -> tuple[list[str], list[str]] | dg.SkipReason:
    """The databases in scope now and those of them the partitions do not have yet, or why they are unknown."""
    try:
        found = discover_databases(loaded)
    except Exception as exc:
        return dg.SkipReason(f"databases not listed: {_one_line(exc)}")
    return found, new_partitions(context.instance, partitions, found)


def _run_pipeline(context, partitions, loaded: LoadedRecipe, run_key: str, tags: dict, cursor: str):
    """One run of the pipeline; a partitioned one runs every database (known and new) and adds the new ones."""
    if partitions is None:
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run_key, tags=tags)], cursor=cursor)
    listed = _databases(context, partitions, loaded)
    if isinstance(listed, dg.SkipReason):
        return listed
    found, added = listed
    databases = sorted(set(context.instance.get_dynamic_partitions(partitions.name)) | set(found))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"{run_key}:{db}", partition_key=db, tags=tags) for db in databases],
        cursor=cursor,
        dynamic_partitions_requests=[partitions.build_add_request(added)] if added else [],
    )


def build_source_change_sensor(loaded: LoadedRecipe, job, partitions=None) -> dg.SensorDefinition:
    recipe_path = loaded.path.resolve()
    pipeline = loaded.pipeline_name
    interval = loaded.recipe.sensor.source_change.interval_seconds

    @dg.sensor(
        name=f"{pipeline}_source_change",
        job=job,
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Runs {pipeline} when the {loaded.recipe.source.type} source's fingerprint changes (checked every {interval} s).",
    )
    def source_change(context: dg.SensorEvaluationContext):
        try:
            current = load_recipe(recipe_path, loaded.within)
            fingerprint = source_fingerprint(current)
        except Exception as exc:  # an unreachable source or a broken recipe must not crash the tick
            return dg.SkipReason(f"source not checked: {_one_line(exc)}")
        if fingerprint is None:
            return dg.SkipReason(f"the {loaded.recipe.source.type} source has no fingerprint")
        cursor = _read_cursor(context.cursor)
        if "fingerprint" not in cursor:
            context.update_cursor(json.dumps({"fingerprint": fingerprint, "changes": 0}))
            return dg.SkipReason(f"first check: fingerprint {fingerprint[:12]} recorded, no run until it changes")
        if cursor["fingerprint"] == fingerprint:
            return dg.SkipReason(f"source unchanged (fingerprint {fingerprint[:12]})")
        changes = int(cursor.get("changes", 0)) + 1
        return _run_pipeline(context, partitions, current, f"{changes}:{fingerprint}", {"ingest_assets/trigger": "source_change"},
                             json.dumps({"fingerprint": fingerprint, "changes": changes}))

    return source_change


def recipe_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_recipe_change_sensor(loaded: LoadedRecipe, job, partitions=None) -> dg.SensorDefinition:
    recipe_path = loaded.path.resolve()
    pipeline = loaded.pipeline_name
    wanted = bool(loaded.recipe.sensor and loaded.recipe.sensor.recipe_change)

    @dg.sensor(
        name=f"{pipeline}_recipe_change",
        job=job,
        minimum_interval_seconds=RECIPE_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING if wanted else dg.DefaultSensorStatus.STOPPED,
        description=f"Runs {pipeline} when {recipe_path.name} changes on disk.",
    )
    def recipe_change(context: dg.SensorEvaluationContext):
        try:
            digest = recipe_hash(recipe_path)
        except OSError as exc:
            return dg.SkipReason(f"recipe {recipe_path} not readable: {exc.strerror or exc}")
        if context.cursor is None:
            context.update_cursor(digest)
            return dg.SkipReason("first check: recipe hash recorded, no run until the file changes")
        if context.cursor == digest:
            return dg.SkipReason("recipe unchanged")
        try:
            current = load_recipe(recipe_path, loaded.within)
        except Exception as exc:  # an edit in progress or a mistake: say why, try again next tick
            return dg.SkipReason(f"recipe changed but is not valid: {_one_line(exc)}")
        return _run_pipeline(context, partitions, current, digest, {"ingest_assets/trigger": "recipe_change"}, digest)

    return recipe_change


def build_databases_sensor(loaded: LoadedRecipe, job, partitions) -> dg.SensorDefinition:
    recipe_path = loaded.path.resolve()
    pipeline = loaded.pipeline_name
    interval = loaded.recipe.sensor.source_change.interval_seconds if loaded.recipe.sensor and loaded.recipe.sensor.source_change else DATABASES_INTERVAL_SECONDS

    @dg.sensor(
        name=f"{pipeline}_databases",
        job=job,
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Adds a partition of {pipeline} for each new database in scope and runs it.",
    )
    def databases(context: dg.SensorEvaluationContext):
        try:
            current = load_recipe(recipe_path, loaded.within)
        except Exception as exc:
            return dg.SkipReason(f"databases not listed: {_one_line(exc)}")
        listed = _databases(context, partitions, current)
        if isinstance(listed, dg.SkipReason):
            return listed
        found, added = listed
        if not added:
            return dg.SkipReason(f"no new databases ({len(found)} in scope)")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(partition_key=db, tags={"ingest_assets/trigger": "new_database"}) for db in added],
            dynamic_partitions_requests=[partitions.build_add_request(added)],
        )

    return databases
