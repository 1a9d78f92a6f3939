"""Large sources split by database: one dynamic partition per database the source holds in scope.

Opt-in per recipe with `partition_by: database`. The partitions are discovered from the source
(`Source.databases()`) by the `<pipeline>_databases` sensor and by the source-change sensor, so a
big catalog runs as many small runs in parallel and one database can be re-run alone. Partitions
of databases that disappeared are kept: their history stays readable and a re-run of one shows
the database as empty (and the snapshot check stops it from retracting anything by accident).
"""

import dagster as dg

from ..core.errors import RecipeError
from ..core.plugin import Source
from ..core.recipe import LoadedRecipe
from ..core.report import StageReport


def is_partitioned(loaded: LoadedRecipe) -> bool:
    return loaded.recipe.partition_by == "database"


def database_partitions(loaded: LoadedRecipe) -> dg.DynamicPartitionsDefinition:
    """The dynamic partitions of one pipeline; a source that cannot split is a recipe error."""
    if loaded.source_class.databases is Source.databases:
        raise RecipeError([
            f"{loaded.path}: partition_by: expected a source that can list its databases, "
            f"found the {loaded.recipe.source.type} source, which cannot split by database"
        ])
    return dg.DynamicPartitionsDefinition(name=f"{loaded.pipeline_name}_databases")


def discover_databases(loaded: LoadedRecipe) -> list[str]:
    """The databases in scope now; raises IngestError (ConnectionFailure) when the source is unreachable."""
    source = loaded.source_class(loaded.source_config, StageReport("discover"))
    try:
        return sorted(source.databases() or [])
    finally:
        source.close()


def new_partitions(instance: dg.DagsterInstance, partitions: dg.DynamicPartitionsDefinition, found: list[str]) -> list[str]:
    known = set(instance.get_dynamic_partitions(partitions.name))
    return [db for db in found if db not in known]
