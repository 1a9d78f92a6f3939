"""DataHub's glossary term transformers: `simple_add_dataset_terms`, `pattern_add_dataset_terms`,
`add_dataset_terms` (a function by dotted path) and `tags_to_term`."""

from pydantic import Field

from .dotted_path import DottedPath, as_dict, import_dotted
from .entity_stream import AspectTransformer, Change, Semantics, SemanticsConfig, aspect_of, deduplicated
from .key_value_pattern import KeyValuePattern
from .patch import add_terms

TERMS_STAMP = {"time": 0, "actor": "urn:li:corpUser:restEmitter"}
"""DataHub stamps new glossaryTerms with the run's time and this actor; ours keep time 0, so an unchanged
aspect is not re-sent every run."""


def terms_change(config: SemanticsConfig, aspect: dict | None, added: list[dict]) -> Change:
    kept = list(aspect.get("terms", [])) if aspect and not config.replace_existing else []
    terms = deduplicated(kept + added, key=lambda t: t["urn"])
    if config.semantics is Semantics.PATCH:
        return add_terms(terms) if terms else None
    return {"terms": terms, "auditStamp": aspect.get("auditStamp", TERMS_STAMP) if aspect else TERMS_STAMP}


class DatasetTermsTransformer(AspectTransformer):
    aspect_name = "glossaryTerms"
    config: SemanticsConfig

    def terms_for(self, urn: str) -> list[dict]:
        raise NotImplementedError

    def transform_aspect(self, urn, aspect, entity):
        return terms_change(self.config, aspect, self.terms_for(urn))


class SimpleAddDatasetTermsConfig(SemanticsConfig):
    term_urns: list[str]


class SimpleAddDatasetTerms(DatasetTermsTransformer):
    config_model = SimpleAddDatasetTermsConfig
    config: SimpleAddDatasetTermsConfig

    def terms_for(self, urn):
        return [{"urn": t} for t in self.config.term_urns]


class PatternAddDatasetTermsConfig(SemanticsConfig):
    term_pattern: KeyValuePattern = Field(default_factory=KeyValuePattern)


class PatternAddDatasetTerms(DatasetTermsTransformer):
    config_model = PatternAddDatasetTermsConfig
    config: PatternAddDatasetTermsConfig

    def terms_for(self, urn):
        return [{"urn": t} for t in self.config.term_pattern.value(urn)]


class AddDatasetTermsConfig(SemanticsConfig):
    get_terms_to_add: DottedPath = Field(description="Dotted path of a function (dataset URN) -> list of GlossaryTermAssociationClass or dicts.")


class AddDatasetTerms(DatasetTermsTransformer):
    config_model = AddDatasetTermsConfig
    config: AddDatasetTermsConfig

    def __init__(self, config, report):
        super().__init__(config, report)
        self.function = import_dotted(config.get_terms_to_add)

    def terms_for(self, urn):
        return [as_dict(t) for t in self.function(urn) or ()]


class TagsToTermConfig(SemanticsConfig):
    tags: list[str]


def entity_tags(entity) -> list[str]:
    """The tags of the entity and of its schema's fields, as the run carries them."""
    found = [t["tag"] for t in (aspect_of(entity, "globalTags") or {}).get("tags", [])]
    for field in (aspect_of(entity, "schemaMetadata") or {}).get("fields", []):
        found += [t["tag"] for t in (field.get("globalTags") or {}).get("tags", [])]
    return list(dict.fromkeys(found))


class TagsToTerm(AspectTransformer):
    """A glossary term named like each listed tag found on the dataset or its fields (`urn:li:tag:a.b:c` is `b`).

    DataHub reads the tags from the server and then removes them there; here they are read from the run's own
    globalTags and schemaMetadata, and stay (removing them would contradict the aspects the run sends)."""

    aspect_name = "glossaryTerms"
    config_model = TagsToTermConfig
    config: TagsToTermConfig

    def transform_aspect(self, urn, aspect, entity):
        wanted = set(self.config.tags)
        names = [tag.split("urn:li:tag:")[-1].split(".")[-1].split(":")[0] for tag in entity_tags(entity)]
        terms = [{"urn": f"urn:li:glossaryTerm:{name}"} for name in dict.fromkeys(n for n in names if n in wanted)]
        if not terms:
            return aspect
        if self.config.semantics is Semantics.PATCH:
            return add_terms(terms)
        return {"terms": terms, "auditStamp": TERMS_STAMP}
