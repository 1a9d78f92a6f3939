"""DataHub's `simple_add_dataset_tags`: a globalTags aspect with the given tags on every dataset."""

from pydantic import Field

from ..core.mcp import MCP
from ..core.plugin import PluginConfig, Transformer
from ..core.urns import tag_urn


class AddDatasetTagsConfig(PluginConfig):
    tag_urns: list[str] = Field(min_length=1)


class AddDatasetTags(Transformer):
    config_model = AddDatasetTagsConfig
    config: AddDatasetTagsConfig

    def transform(self, mcps):
        tags = [{"tag": tag_urn(t)} for t in self.config.tag_urns]
        for mcp in mcps:
            yield mcp
            if mcp.entity_type == "dataset" and mcp.aspect_name == "status":
                self.report.count("globalTags added")
                yield MCP("dataset", mcp.entity_urn, "globalTags", {"tags": tags})
