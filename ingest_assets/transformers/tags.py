"""DataHub's dataset tag transformers: `simple_add_dataset_tags`, `pattern_add_dataset_tags`, `add_dataset_tags`
(a function by dotted path) and `extract_dataset_tags` (a tag from the dataset's name)."""

import re
from typing import Literal

from pydantic import Field, field_validator

from ..core.urns import tag_urn
from .dotted_path import DottedPath, as_dict, import_dotted
from .entity_stream import AspectTransformer, Change, Semantics, SemanticsConfig, dataset_name, deduplicated
from .key_value_pattern import KeyValuePattern
from .patch import add_tags


def tags_change(config: SemanticsConfig, aspect: dict | None, added: list[dict]) -> Change:
    """The entity's tags plus `added` (only `added` with replace_existing): the new aspect, or with PATCH the
    tags to add to what the catalog holds (nothing to add: nothing sent, as DataHub's merge returns None)."""
    kept = list(aspect.get("tags", [])) if aspect and not config.replace_existing else []
    tags = deduplicated(kept + added, key=lambda t: t["tag"])
    if config.semantics is Semantics.PATCH:
        return add_tags(tags) if tags else None
    return {"tags": tags}


class DatasetTagsTransformer(AspectTransformer):
    aspect_name = "globalTags"
    config: SemanticsConfig

    def tags_for(self, urn: str) -> list[dict]:
        raise NotImplementedError

    def transform_aspect(self, urn, aspect, entity):
        return tags_change(self.config, aspect, self.tags_for(urn))


class SimpleAddDatasetTagsConfig(SemanticsConfig):
    tag_urns: list[str]


class SimpleAddDatasetTags(DatasetTagsTransformer):
    """The same tags on every dataset."""

    config_model = SimpleAddDatasetTagsConfig
    config: SimpleAddDatasetTagsConfig

    def tags_for(self, urn):
        return [{"tag": tag_urn(t)} for t in self.config.tag_urns]


class PatternAddDatasetTagsConfig(SemanticsConfig):
    tag_pattern: KeyValuePattern = Field(default_factory=KeyValuePattern)


class PatternAddDatasetTags(DatasetTagsTransformer):
    """Tags by regex over the dataset URN."""

    config_model = PatternAddDatasetTagsConfig
    config: PatternAddDatasetTagsConfig

    def tags_for(self, urn):
        return [{"tag": t} for t in self.config.tag_pattern.value(urn)]


class AddDatasetTagsConfig(SemanticsConfig):
    get_tags_to_add: DottedPath = Field(description="Dotted path of a function (dataset URN) -> list of TagAssociationClass or dicts.")


class AddDatasetTags(DatasetTagsTransformer):
    """Tags from a function of the dataset URN."""

    config_model = AddDatasetTagsConfig
    config: AddDatasetTagsConfig

    def __init__(self, config, report):
        super().__init__(config, report)
        self.function = import_dotted(config.get_tags_to_add)

    def tags_for(self, urn):
        return [as_dict(t) for t in self.function(urn) or ()]


class ExtractDatasetTagsConfig(SemanticsConfig):
    extract_tags_from: Literal["urn"] = "urn"
    extract_tags_regex: str

    @field_validator("extract_tags_from", mode="before")
    @classmethod
    def _any_case(cls, value):
        return value.lower() if isinstance(value, str) else value


class ExtractDatasetTags(DatasetTagsTransformer):
    """A tag from the regex's first group over the dataset's name."""

    config_model = ExtractDatasetTagsConfig
    config: ExtractDatasetTagsConfig

    def tags_for(self, urn):
        match = re.search(self.config.extract_tags_regex, dataset_name(urn))
        return [{"tag": f"urn:li:tag:{match.group(1)}"}] if match else []
