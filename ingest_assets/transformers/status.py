"""DataHub's `mark_dataset_status`: every dataset's status set to `removed` (soft-deleted or restored)."""

from ..core.plugin import PluginConfig
from .entity_stream import AspectTransformer


class MarkDatasetStatusConfig(PluginConfig):
    removed: bool


class MarkDatasetStatus(AspectTransformer):
    aspect_name = "status"
    config_model = MarkDatasetStatusConfig
    config: MarkDatasetStatusConfig

    def transform_aspect(self, urn, aspect, entity):
        return {**(aspect or {}), "removed": self.config.removed}
