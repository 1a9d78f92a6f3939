"""Functions and classes the transformer tests name by dotted path, as DataHub recipes name theirs."""

from datahub.metadata.schema_classes import OwnerClass, OwnershipTypeClass, TagAssociationClass

from ingest_assets.core.plugin import PluginConfig, Transformer


def tags_for(urn: str):
    return [TagAssociationClass(tag=f"urn:li:tag:{urn.split('.')[-1].split(',')[0]}")]


def owners_for(urn: str):
    return [OwnerClass(owner="urn:li:corpuser:o", type=OwnershipTypeClass.TECHNICAL_OWNER)]


class Resolver:
    def get_properties_to_add(self, entity_urn: str) -> dict[str, str]:
        return {"urn": entity_urn}


class DropStatus(Transformer):
    config_model = PluginConfig

    def transform(self, mcps):
        return (m for m in mcps if m.aspect_name != "status")
