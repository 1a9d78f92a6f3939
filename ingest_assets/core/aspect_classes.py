"""DataHub's record class name of every aspect this project emits or accepts, derived in one place.

GMS answers `GET /aspects/{urn}` with the aspect keyed by its class (`com.linkedin.query.QueryProperties`),
and DataHub's client looks it up by exactly that name; a wrong or missing name makes the read fail.
Every aspect's class is its name, capitalized, in the namespace of its PDL model, so the table below
only lists which namespace each aspect lives in. The test suite checks every entry against
DataHub's own registry.
"""

_NAMESPACES: dict[str, tuple[str, ...]] = {
    "com.linkedin.common": (
        "browsePaths", "browsePathsV2", "dataPlatformInstance", "dataTransformLogic", "deprecation",
        "documentation", "globalTags", "glossaryTerms", "institutionalMemory", "operation", "ownership",
        "siblings", "status", "subTypes",
    ),
    "com.linkedin.container": ("container", "containerProperties", "editableContainerProperties"),
    "com.linkedin.dataset": (
        "datasetProfile", "datasetProperties", "editableDatasetProperties", "upstreamLineage", "viewProperties",
    ),
    "com.linkedin.schema": ("editableSchemaMetadata", "schemaMetadata"),
    "com.linkedin.query": ("queryProperties", "querySubjects"),
    "com.linkedin.datajob": ("dataFlowInfo", "dataJobInfo", "dataJobInputOutput"),
    "com.linkedin.domain": ("domains",),
    "com.linkedin.dataproduct": ("dataProductProperties",),
    "com.linkedin.structured": ("structuredProperties",),
}

ASPECT_CLASSES: dict[str, str] = {
    name: f"{namespace}.{name[0].upper()}{name[1:]}"
    for namespace, names in _NAMESPACES.items()
    for name in names
}
"""Aspect name -> DataHub's record class name (`status` -> `com.linkedin.common.Status`)."""

TIMESERIES_ASPECTS = frozenset({"datasetProfile", "operation"})
"""Aspects GMS keeps as time series: no versions, no PATCH, left out of `entitiesV2`, read by time."""


class UnknownAspect(ValueError):
    """An aspect name outside ASPECT_CLASSES: GMS rejects it on write, so the local service does too."""

    def __init__(self, name: str):
        super().__init__(f"aspect {name!r} is not an aspect this service knows; known aspects: "
                         f"{', '.join(sorted(ASPECT_CLASSES))}")
        self.name = name


def aspect_class(name: str) -> str:
    """The record class name GMS keys this aspect by; UnknownAspect for a name it would reject."""
    try:
        return ASPECT_CLASSES[name]
    except KeyError:
        raise UnknownAspect(name) from None
