"""ingest_assets: metadata ingestion for data catalogs, run by Dagster, DataHub-compatible on the wire."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`ingest_assets.RecipeComponent` for Dagster's component system, imported only when asked for: the rest of
    the package (the core above all) never imports Dagster."""
    if name == "RecipeComponent":
        from .orchestration.component import RecipeComponent

        return RecipeComponent
    raise AttributeError(f"module 'ingest_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "RecipeComponent"])
