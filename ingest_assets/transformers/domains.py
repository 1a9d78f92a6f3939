"""DataHub's domain transformers: `simple_add_dataset_domain`, `pattern_add_dataset_domain` and
`domain_mapping_based_on_tags`."""

from enum import Enum

from pydantic import Field, field_validator

from ..core.mcp import MCP
from ..core.plugin import inert
from .entity_stream import AspectTransformer, Change, Semantics, SemanticsConfig, aspect_of, deduplicated
from .key_value_pattern import KeyValuePattern
from .patch import add_domains

DOMAIN_PREFIX = "urn:li:domain:"


def domain_urns(values: list[str]) -> list[str]:
    """Domains are named by URN here: DataHub looks a bare name up on the server, which a run never reads."""
    for value in values:
        if not value.startswith(DOMAIN_PREFIX):
            raise ValueError(f"{value!r}: give the domain's URN ({DOMAIN_PREFIX}...); looking a domain up by name needs the server")
    return values


def domains_change(config: SemanticsConfig, aspect: dict | None, added: list[str]) -> Change:
    kept = list(aspect.get("domains", [])) if aspect and not config.replace_existing else []
    domains = deduplicated(kept + added)
    if config.semantics is Semantics.PATCH:
        return add_domains(domains) if domains else None
    return {"domains": domains}


class OnConflict(str, Enum):
    DO_UPDATE = "DO_UPDATE"
    DO_NOTHING = "DO_NOTHING"


class SimpleAddDatasetDomainConfig(SemanticsConfig):
    domains: list[str]
    on_conflict: OnConflict = inert("DO_NOTHING needs the server's domains before writing; here every run acts as DO_UPDATE",
                                    OnConflict.DO_UPDATE)
    entity_types: list[str] | None = inert("DataHub's *_dataset_domain transformers ignore it too: they act on datasets")

    @field_validator("domains")
    @classmethod
    def _urns(cls, domains: list[str]) -> list[str]:
        return domain_urns(domains)


class SimpleAddDatasetDomain(AspectTransformer):
    aspect_name = "domains"
    config_model = SimpleAddDatasetDomainConfig
    config: SimpleAddDatasetDomainConfig

    def wants(self, entity_type):
        return entity_type == "dataset"

    def transform_aspect(self, urn, aspect, entity):
        return domains_change(self.config, aspect, list(self.config.domains))


class PatternAddDatasetDomainConfig(SemanticsConfig):
    domain_pattern: KeyValuePattern = Field(default_factory=KeyValuePattern)
    is_container: bool = False
    entity_types: list[str] | None = inert("DataHub's *_dataset_domain transformers ignore it too: they act on datasets")

    @field_validator("domain_pattern")
    @classmethod
    def _urns(cls, pattern: KeyValuePattern) -> KeyValuePattern:
        for values in pattern.rules.values():
            domain_urns(values)
        return pattern


class PatternAddDatasetDomain(AspectTransformer):
    """Domains by regex over the dataset URN; with `is_container`, also set on the containers in the dataset's
    browsePathsV2 once the stream is done (DataHub reads those paths from the server; here from the run)."""

    aspect_name = "domains"
    config_model = PatternAddDatasetDomainConfig
    config: PatternAddDatasetDomainConfig

    def __init__(self, config, report):
        super().__init__(config, report)
        self.container_domains: dict[str, list[str]] = {}

    def wants(self, entity_type):
        return entity_type == "dataset"

    def transform_aspect(self, urn, aspect, entity):
        added = self.config.domain_pattern.value(urn)
        if self.config.is_container and added:
            for entry in (aspect_of(entity, "browsePathsV2") or {}).get("path", []):
                if (entry.get("urn") or "").startswith("urn:li:container:"):
                    self.container_domains.setdefault(entry["urn"], []).extend(added)
        return domains_change(self.config, aspect, added)

    def end_of_stream(self):
        for container, domains in self.container_domains.items():
            self.report.count("domains written (containers)")
            yield MCP("container", container, "domains", {"domains": deduplicated(domains)})


class DomainMappingBasedOnTagsConfig(SemanticsConfig):
    domain_mapping: dict[str, str]

    @field_validator("domain_mapping")
    @classmethod
    def _urns(cls, mapping: dict[str, str]) -> dict[str, str]:
        domain_urns(list(mapping.values()))
        return mapping


class DomainMappingBasedOnTags(AspectTransformer):
    """The domains mapped from the dataset's tags (`urn:li:tag:<key>`), replacing its own; DataHub reads the
    tags from the server, here they are the run's globalTags of the dataset."""

    aspect_name = "domains"
    config_model = DomainMappingBasedOnTagsConfig
    config: DomainMappingBasedOnTagsConfig

    def transform_aspect(self, urn, aspect, entity):
        tags = [t["tag"].split("urn:li:tag:")[-1] for t in (aspect_of(entity, "globalTags") or {}).get("tags", [])]
        domains = deduplicated(self.config.domain_mapping[t] for t in tags if self.config.domain_mapping.get(t))
        if not domains:
            return aspect
        if self.config.semantics is Semantics.PATCH:
            return add_domains(domains)
        return {"domains": domains}
