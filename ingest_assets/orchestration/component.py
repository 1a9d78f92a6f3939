"""A recipe as a Dagster Component, the way Dagster's own integrations plug into an existing project.

`defs.yaml` names a recipe file (relative to its folder) or holds the recipe inline:

    type: ingest_assets.RecipeComponent
    attributes:
      recipe: recipe.yml          # or: recipe: {source: {...}, sink: {...}}

It builds exactly what `definitions.py` builds for a recipe under `recipes/`: the three assets, their checks,
the job, the schedule and the sensors. `dg scaffold defs ingest_assets.RecipeComponent <name>` writes a
starter recipe beside the defs.yaml.
"""

from pathlib import Path
from typing import Any

import dagster as dg
from dagster.components.scaffold.scaffold import scaffold_with

from ..core.errors import RecipeError
from ..core.recipe import LoadedRecipe, load_recipe
from .assets import IngestSettings, build_pipeline

STARTER_RECIPE = """\
# A DataHub recipe, unchanged: https://docs.datahub.com/docs/metadata-ingestion/#recipes
source:
  type: sqlite
  config:
    path: ${SHOP_DB:-shop.db}
sink:
  type: datahub-lite       # the embedded store; datahub-rest, datahub-kafka, file or console
"""


class RecipeScaffolder(dg.Scaffolder):
    """Writes a defs.yaml that names recipe.yml, and a starter recipe.yml beside it."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        dg.scaffold_component(request, {"recipe": "recipe.yml"})
        recipe = Path(request.target_path) / "recipe.yml"
        if not recipe.exists():
            recipe.write_text(STARTER_RECIPE)


class RecipeDefinitionError(dg.DagsterInvalidDefinitionError):
    """A recipe that does not load: its own one-line problems, not a traceback through the component system."""


@scaffold_with(RecipeScaffolder)
class RecipeComponent(dg.Component, dg.Resolvable, dg.Model):
    """DataHub-compatible metadata ingestion from one recipe: `<pipeline>/snapshot` -> `<pipeline>/mcps` ->
    `<pipeline>/<sink>`, with checks, a job, and the recipe's schedule and sensors."""

    recipe: str | dict[str, Any]
    """A recipe file, relative to this defs.yaml's folder, or the recipe itself."""

    def loaded_recipe(self, context: dg.ComponentLoadContext) -> LoadedRecipe:
        defs_yaml = Path(context.path) / "defs.yaml"
        try:
            if isinstance(self.recipe, dict):
                return load_recipe(defs_yaml, ("attributes", "recipe"))
            return load_recipe(Path(context.path) / self.recipe, default_name=Path(context.path).name)
        except RecipeError as exc:
            raise RecipeDefinitionError("\n".join(exc.problems)) from None

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        loaded = self.loaded_recipe(context)
        try:
            parts = build_pipeline(loaded, partitioned=True)
        except RecipeError as exc:
            raise RecipeDefinitionError("\n".join(exc.problems)) from None
        return dg.Definitions(assets=parts.assets, jobs=parts.jobs, schedules=parts.schedules, sensors=parts.sensors,
                              resources={"ingest": INGEST_SETTINGS}, executor=dg.in_process_executor)


INGEST_SETTINGS = IngestSettings()
"""One resource object for every component, so that Dagster merges their definitions without a conflict."""
