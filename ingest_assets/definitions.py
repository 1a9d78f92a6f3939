"""Dagster Definitions for every recipe under INGEST_RECIPES_DIR (default `recipes/`).

A recipe that does not load (or asks for something its plugins cannot do, such as a schedule
with a cron Dagster rejects or `partition_by: database` on a source that cannot list databases)
is left out with one warning line; the other recipes still load.
"""

import logging
import os
from pathlib import Path

import dagster as dg

from .core.errors import RecipeError
from .core.recipe import load_recipe
from .orchestration.assets import IngestSettings, build_pipeline

log = logging.getLogger("ingest_assets")


def recipe_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.y*ml") if p.suffix in (".yml", ".yaml"))


def recipe_definitions(path: str | Path) -> dg.Definitions:
    """Definitions for one recipe file, or for every recipe in a directory: for a Dagster project that builds its
    Definitions in code (`dg.Definitions.merge(my_defs, recipe_definitions("ingest/"))`)."""
    path = Path(path)
    return build_definitions(path) if path.is_dir() else _definitions([path])


def build_definitions(recipes_dir: str | Path | None = None) -> dg.Definitions:
    directory = Path(recipes_dir or os.environ.get("INGEST_RECIPES_DIR", "recipes"))
    return _definitions(recipe_files(directory))


def _definitions(paths: list[Path]) -> dg.Definitions:
    assets, jobs, schedules, sensors = [], [], [], []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            loaded = load_recipe(path)
            if loaded.pipeline_name in seen:
                log.warning("skipping recipe %s: pipeline_name %r is already used by %s", path, loaded.pipeline_name, seen[loaded.pipeline_name])
                continue
            parts = build_pipeline(loaded, partitioned=True)
        except RecipeError as exc:
            log.warning("skipping recipe: %s", "; ".join(exc.problems))
            continue
        seen[loaded.pipeline_name] = path
        for note in parts.notes:
            log.warning("%s", note)
        assets += parts.assets
        jobs += parts.jobs
        schedules += parts.schedules
        sensors += parts.sensors
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources={"ingest": IngestSettings()},
        # the default for every run of these assets, the UI's "Materialize" too: the three stages are a chain
        # handing over files, so a process per step would only add start-up time
        executor=dg.in_process_executor,
    )


defs = build_definitions()
