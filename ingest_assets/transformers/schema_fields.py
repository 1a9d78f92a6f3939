"""DataHub's `pattern_add_dataset_schema_tags` and `pattern_add_dataset_schema_terms`: tags or glossary terms on
schema fields, by regex over the field path, written into the run's schemaMetadata.

With PATCH, DataHub reads the server's schemaMetadata and writes the whole aspect back with the server's field
tags and terms kept; schemaMetadata has no patch template in GMS, and fields' tags and terms people add in the UI
live in editableSchemaMetadata, which this never writes, so both semantics write the run's schemaMetadata."""

from pydantic import Field

from .entity_stream import AspectTransformer, SemanticsConfig, deduplicated
from .key_value_pattern import KeyValuePattern
from .terms import TERMS_STAMP


class PatternAddDatasetSchemaTagsConfig(SemanticsConfig):
    tag_pattern: KeyValuePattern = Field(default_factory=KeyValuePattern)


class PatternAddDatasetSchemaTags(AspectTransformer):
    aspect_name = "schemaMetadata"
    config_model = PatternAddDatasetSchemaTagsConfig
    config: PatternAddDatasetSchemaTagsConfig

    def field_with_tags(self, field: dict) -> dict:
        added = [{"tag": t} for t in self.config.tag_pattern.value(field["fieldPath"])]
        if not added:
            return field
        kept = (field.get("globalTags") or {}).get("tags", []) if not self.config.replace_existing else []
        return {**field, "globalTags": {"tags": added + list(kept)}}

    def transform_aspect(self, urn, aspect, entity):
        if aspect is None:
            return None
        return {**aspect, "fields": [self.field_with_tags(f) for f in aspect.get("fields", [])]}


class PatternAddDatasetSchemaTermsConfig(SemanticsConfig):
    term_pattern: KeyValuePattern = Field(default_factory=KeyValuePattern)


class PatternAddDatasetSchemaTerms(AspectTransformer):
    aspect_name = "schemaMetadata"
    config_model = PatternAddDatasetSchemaTermsConfig
    config: PatternAddDatasetSchemaTermsConfig

    def field_with_terms(self, field: dict) -> dict:
        added = [{"urn": t} for t in self.config.term_pattern.value(field["fieldPath"])]
        if not added:
            return field
        current = field.get("glossaryTerms")
        kept = current.get("terms", []) if current and not self.config.replace_existing else []
        terms = deduplicated(added + list(kept), key=lambda t: t["urn"])
        return {**field, "glossaryTerms": {"terms": terms, "auditStamp": current["auditStamp"] if current else TERMS_STAMP}}

    def transform_aspect(self, urn, aspect, entity):
        if aspect is None:
            return None
        return {**aspect, "fields": [self.field_with_terms(f) for f in aspect.get("fields", [])]}
