"""DataHub's dataset property transformers: `simple_add_dataset_properties`, `add_dataset_properties` (a resolver
class by dotted path) and `replace_external_url` (with its container twin)."""

import re

from pydantic import Field

from ..core.plugin import PluginConfig
from .dotted_path import DottedPath, import_dotted
from .entity_stream import AspectTransformer, Semantics, SemanticsConfig
from .patch import AspectPatch, add_properties, set_fields

EMPTY_DATASET_PROPERTIES = {"customProperties": {}, "tags": []}


class DatasetPropertiesTransformer(AspectTransformer):
    """Custom properties added to datasetProperties. With PATCH, each property is its own `add` and the rest of the
    run's aspect (name, description...) is set field by field, so properties people added stay."""

    aspect_name = "datasetProperties"
    config: SemanticsConfig

    def properties_for(self, urn: str) -> dict[str, str]:
        raise NotImplementedError

    def transform_aspect(self, urn, aspect, entity):
        current = aspect if aspect is not None else EMPTY_DATASET_PROPERTIES
        properties = {} if self.config.replace_existing else dict(current.get("customProperties", {}))
        properties.update(self.properties_for(urn))
        if self.config.semantics is Semantics.PATCH:
            fields = set_fields(aspect, skip=("customProperties",)) if aspect is not None else []
            return AspectPatch(fields + add_properties(properties))
        return {**current, "customProperties": properties}


class SimpleAddDatasetPropertiesConfig(SemanticsConfig):
    properties: dict[str, str]


class SimpleAddDatasetProperties(DatasetPropertiesTransformer):
    config_model = SimpleAddDatasetPropertiesConfig
    config: SimpleAddDatasetPropertiesConfig

    def properties_for(self, urn):
        return self.config.properties


class AddDatasetPropertiesConfig(SemanticsConfig):
    add_properties_resolver_class: DottedPath = Field(
        description="Dotted path of a class whose get_properties_to_add(entity_urn) returns a dict of properties.")


class AddDatasetProperties(DatasetPropertiesTransformer):
    config_model = AddDatasetPropertiesConfig
    config: AddDatasetPropertiesConfig

    def __init__(self, config, report):
        super().__init__(config, report)
        self.resolver = import_dotted(config.add_properties_resolver_class)()

    def properties_for(self, urn):
        return dict(self.resolver.get_properties_to_add(urn))


class ReplaceExternalUrlConfig(PluginConfig):
    input_pattern: str
    replacement: str


class ReplaceExternalUrl(AspectTransformer):
    """`re.sub(input_pattern, replacement, externalUrl)` on the run's datasetProperties."""

    aspect_name = "datasetProperties"
    config_model = ReplaceExternalUrlConfig
    config: ReplaceExternalUrlConfig

    def transform_aspect(self, urn, aspect, entity):
        if not aspect or not aspect.get("externalUrl"):
            return aspect
        return {**aspect, "externalUrl": re.sub(self.config.input_pattern, self.config.replacement, aspect["externalUrl"])}


class ReplaceExternalUrlContainer(ReplaceExternalUrl):
    """The same on containerProperties."""

    aspect_name = "containerProperties"
    entity_types = ("container",)
