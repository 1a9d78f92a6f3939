"""DataHub's `simple_add_dataset_dataproduct` and `pattern_add_dataset_dataproduct`: datasets (and with
`is_container` their containers) become assets of a data product, by one PATCH of the product's
dataProductProperties once every dataset was seen, as DataHub's DataProductPatchBuilder sends it."""

from pydantic import Field, field_validator

from ..core.plugin import PluginConfig
from .entity_stream import EntityTransformer, aspect_of, deduplicated
from .key_value_pattern import KeyValuePattern
from .patch import add_assets, patch_mcp


class DatasetDataProductTransformer(EntityTransformer):
    def __init__(self, config, report):
        super().__init__(config, report)
        self.assets: dict[str, list[str]] = {}
        self.container_assets: dict[str, list[str]] = {}

    def product_for(self, urn: str) -> str | None:
        raise NotImplementedError

    def transform_entity(self, entity_type, urn, mcps):
        product = self.product_for(urn)
        if product:
            self.assets.setdefault(product, []).append(urn)
            container = (aspect_of(mcps, "container") or {}).get("container")
            if getattr(self.config, "is_container", False) and container:
                self.container_assets.setdefault(product, []).append(container)
        return [m for m in mcps if m.aspect_name != "dataProductProperties"]  # DataHub drops it from datasets

    def end_of_stream(self):
        for assets in (self.assets, self.container_assets):
            for product, urns in assets.items():
                self.report.count("dataProductProperties patches")
                yield patch_mcp("dataProduct", product, "dataProductProperties", add_assets(deduplicated(urns)))


class SimpleAddDatasetDataProductConfig(PluginConfig):
    dataset_to_data_product_urns: dict[str, str]


class SimpleAddDatasetDataProduct(DatasetDataProductTransformer):
    config_model = SimpleAddDatasetDataProductConfig
    config: SimpleAddDatasetDataProductConfig

    def product_for(self, urn):
        return self.config.dataset_to_data_product_urns.get(urn)


class PatternAddDatasetDataProductConfig(PluginConfig):
    dataset_to_data_product_urns_pattern: KeyValuePattern = Field(default_factory=KeyValuePattern)
    is_container: bool = False

    @field_validator("dataset_to_data_product_urns_pattern", mode="before")
    @classmethod
    def _one_product_per_rule(cls, value):
        """As DataHub: a rule names one data product (a bare string is one)."""
        if isinstance(value, dict) and isinstance(value.get("rules"), dict):
            rules = {}
            for key, products in value["rules"].items():
                if isinstance(products, list) and len(products) > 1:
                    raise ValueError("Same dataset cannot be an asset of two different data product.")
                rules[key] = [products] if isinstance(products, str) else products
            value = {**value, "rules": rules}
        return value


class PatternAddDatasetDataProduct(DatasetDataProductTransformer):
    config_model = PatternAddDatasetDataProductConfig
    config: PatternAddDatasetDataProductConfig

    def product_for(self, urn):
        products = self.config.dataset_to_data_product_urns_pattern.value(urn)
        return products[0] if products else None
