"""DataHub's ownership transformers: add owners (`simple_`, `pattern_`, `add_dataset_ownership`), clear them
(`simple_remove_dataset_ownership`), derive them from tags (`extract_ownership_from_tags`) and clean their
URNs (`pattern_cleanup_ownership`)."""

import re
from collections.abc import Iterator

from pydantic import Field, field_validator, model_validator

from ..core.mcp import MCP
from ..core.plugin import PluginConfig, inert
from .dotted_path import DottedPath, as_dict, import_dotted
from .entity_stream import AspectTransformer, Change, EntityTransformer, Semantics, SemanticsConfig, aspect_of, deduplicated
from .key_value_pattern import KeyValuePattern
from .patch import add_owners, patch_mcp

OWNERSHIP_ENTITY_TYPES = ("dataset", "dataJob", "dataFlow", "chart", "dashboard")
"""Where DataHub's `*_dataset_ownership` transformers act (its newer `*_ownership` ones add containers)."""

OWNERSHIP_TYPES = ("TECHNICAL_OWNER", "BUSINESS_OWNER", "DATA_STEWARD", "NONE", "DEVELOPER", "DATAOWNER", "DELEGATE",
                   "PRODUCER", "CONSUMER", "STAKEHOLDER", "CUSTOM")
UNKNOWN_STAMP = {"time": 0, "actor": "urn:li:corpuser:unknown"}
"""Ownership's `lastModified` default, which DataHub writes out when nothing set it."""


def ownership_type(value: str) -> tuple[str, str | None]:
    """DataHub's `validate_ownership_type`: an ownership type URN is CUSTOM with that URN, else a known type name."""
    if value.startswith("urn:li:"):
        if not value.startswith("urn:li:ownershipType:"):
            raise ValueError(f"{value!r} is not an ownershipType URN")
        return "CUSTOM", value
    if value.upper() not in OWNERSHIP_TYPES:
        raise ValueError(f"unexpected ownership type {value!r}; expected one of {', '.join(OWNERSHIP_TYPES)} or an ownershipType URN")
    return value.upper(), None


def owner(urn: str, kind: str, kind_urn: str | None) -> dict:
    return {"owner": urn, "type": kind, **({"typeUrn": kind_urn} if kind_urn else {})}


def owner_identity(o: dict) -> tuple:
    return o["owner"], o.get("type") or "", o.get("typeUrn") or "", (o.get("attribution") or {}).get("source") or ""


def ownership(owners: list[dict], last_modified: dict | None = None) -> dict:
    return {"owners": owners, "ownerTypes": {}, "lastModified": last_modified or UNKNOWN_STAMP}


class OwnershipConfig(SemanticsConfig):
    ownership_type: str = "DATAOWNER"
    default_actor: str = "urn:li:corpuser:etl"
    entity_types: list[str] | None = inert("DataHub's *_dataset_ownership transformers ignore it too: they act on "
                                           + ", ".join(OWNERSHIP_ENTITY_TYPES))

    @field_validator("ownership_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        ownership_type(value)
        return value


class AddOwnershipTransformer(AspectTransformer):
    """Owners added to an entity's ownership (its own kept unless replace_existing); with `is_container`, also to
    the containers in the entity's browsePathsV2, as patches once the stream is done (DataHub reads those paths
    from the server; here they come from the run)."""

    aspect_name = "ownership"
    entity_types = OWNERSHIP_ENTITY_TYPES
    config: OwnershipConfig

    def __init__(self, config, report):
        super().__init__(config, report)
        self.container_owners: dict[str, list[dict]] = {}

    def wants(self, entity_type):
        return entity_type in self.entity_types

    def owners_for(self, urn: str) -> list[dict]:
        raise NotImplementedError

    def transform_aspect(self, urn, aspect, entity) -> Change:
        added = self.owners_for(urn)
        if getattr(self.config, "is_container", False) and added:
            self._note_containers(entity, added)
        kept = list(aspect.get("owners", [])) if aspect and not self.config.replace_existing else []
        owners = deduplicated(kept + added, key=owner_identity)
        if self.config.semantics is Semantics.PATCH:
            return add_owners(owners) if owners else None
        return ownership(owners, aspect.get("lastModified") if aspect else None)

    def _note_containers(self, entity: list[MCP], added: list[dict]) -> None:
        paths = aspect_of(entity, "browsePathsV2") or {}
        for entry in paths.get("path", []):
            if (entry.get("urn") or "").startswith("urn:li:container:"):
                self.container_owners.setdefault(entry["urn"], []).extend(added)

    def end_of_stream(self) -> Iterator[MCP]:
        for container, owners in self.container_owners.items():
            self.report.count("ownership patches (containers)")
            yield patch_mcp("container", container, "ownership", add_owners(deduplicated(owners, key=owner_identity)))


class SimpleAddDatasetOwnershipConfig(OwnershipConfig):
    owner_urns: list[str]


class SimpleAddDatasetOwnership(AddOwnershipTransformer):
    config_model = SimpleAddDatasetOwnershipConfig
    config: SimpleAddDatasetOwnershipConfig

    def owners_for(self, urn):
        kind, kind_urn = ownership_type(self.config.ownership_type)
        return [owner(o, kind, kind_urn) for o in self.config.owner_urns]


class PatternAddDatasetOwnershipConfig(OwnershipConfig):
    owner_pattern: KeyValuePattern = Field(default_factory=KeyValuePattern)
    is_container: bool = False


class PatternAddDatasetOwnership(AddOwnershipTransformer):
    config_model = PatternAddDatasetOwnershipConfig
    config: PatternAddDatasetOwnershipConfig

    def owners_for(self, urn):
        kind, kind_urn = ownership_type(self.config.ownership_type)
        return [owner(o, kind, kind_urn) for o in self.config.owner_pattern.value(urn)]


class AddDatasetOwnershipConfig(SemanticsConfig):
    get_owners_to_add: DottedPath = Field(description="Dotted path of a function (entity URN) -> list of OwnerClass or dicts.")
    default_actor: str = "urn:li:corpuser:etl"
    is_container: bool = False
    entity_types: list[str] | None = inert("DataHub's add_dataset_ownership ignores it too")


class AddDatasetOwnership(AddOwnershipTransformer):
    config_model = AddDatasetOwnershipConfig
    config: AddDatasetOwnershipConfig

    def __init__(self, config, report):
        super().__init__(config, report)
        self.function = import_dotted(config.get_owners_to_add)

    def owners_for(self, urn):
        return [as_dict(o) for o in self.function(urn) or ()]


class NoConfig(PluginConfig):
    pass


class SimpleRemoveDatasetOwnership(AspectTransformer):
    """Every owner cleared from the ownership the run carries (an entity without one is left alone)."""

    aspect_name = "ownership"
    entity_types = OWNERSHIP_ENTITY_TYPES
    config_model = NoConfig

    def transform_aspect(self, urn, aspect, entity):
        return None if aspect is None else {**aspect, "owners": []}


class ExtractOwnersFromTagsConfig(PluginConfig):
    tag_pattern: str = ""
    is_user: bool = True
    tag_character_mapping: dict[str, str] | None = None
    email_domain: str | None = None
    extract_owner_type_from_tag_pattern: bool = False
    owner_type: str = "TECHNICAL_OWNER"
    owner_type_urn: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _renamed_tag_prefix(cls, values):
        """DataHub's old name of `tag_pattern`."""
        if isinstance(values, dict) and "tag_prefix" in values:
            values = dict(values)
            values.setdefault("tag_pattern", values.pop("tag_prefix"))
        return values

    @model_validator(mode="after")
    def _custom_needs_urn(self):
        if self.owner_type not in OWNERSHIP_TYPES or self.owner_type == "CUSTOM":
            if not self.extract_owner_type_from_tag_pattern and self.owner_type_urn is None:
                raise ValueError("owner_type_urn must be set if owner_type is CUSTOM (or not a known type)")
        return self


def mapped_characters(tag: str, mapping: dict[str, str] | None) -> str:
    """`tag_character_mapping` applied longest key first, never rewriting what an earlier key produced."""
    if not mapping:
        return tag
    out, i = [], 0
    keys = sorted(mapping, key=len, reverse=True)
    while i < len(tag):
        for key in keys:
            if key and tag.startswith(key, i):
                out.append(mapping[key])
                i += len(key)
                break
        else:
            out.append(tag[i])
            i += 1
    return "".join(out)


class ExtractOwnersFromTags(EntityTransformer):
    """Owners read from the dataset's tags (`<tag_pattern><owner>`): its globalTags stay, an ownership aspect with
    those owners replaces the run's (DataHub writes it after the whole stream, so its value is the last word too)."""

    config_model = ExtractOwnersFromTagsConfig
    config: ExtractOwnersFromTagsConfig

    def owners_of(self, tags: dict) -> list[dict]:
        config, owners = self.config, []
        for association in tags.get("tags", []):
            name = mapped_characters(association["tag"].split("urn:li:tag:", 1)[-1], config.tag_character_mapping)
            match = re.search(config.tag_pattern, name)
            if not match:
                continue
            owner_id = name[match.end():].strip()
            if config.email_domain is not None:
                owner_id = f"{owner_id}@{config.email_domain}"
            urn = f"urn:li:corpuser:{owner_id}" if config.is_user else f"urn:li:corpGroup:{owner_id}"
            if config.extract_owner_type_from_tag_pattern:
                if match.groups():
                    owners.append(owner(urn, "CUSTOM", f"urn:li:ownershipType:{match.group(1)}"))
            else:
                kind = config.owner_type if config.owner_type in OWNERSHIP_TYPES else "CUSTOM"
                owners.append(owner(urn, kind, config.owner_type_urn))
        return owners

    def transform_entity(self, entity_type, urn, mcps):
        tags = aspect_of(mcps, "globalTags")
        if tags is None:
            yield from mcps
            return
        extracted = MCP(entity_type, urn, "ownership", ownership(self.owners_of(tags)))
        self.report.count("ownership written")
        yield from (m for m in mcps if not (m.aspect_name == "ownership" and m.change_type == "UPSERT"))
        yield extracted


class PatternCleanUpOwnershipConfig(PluginConfig):
    pattern_for_cleanup: list[str]


class PatternCleanUpOwnership(AspectTransformer):
    """Owner URNs with every pattern removed from the user or group name, as TECHNICAL_OWNER (DataHub's choice).
    DataHub cleans the owners the server holds; here, those of the ownership the run carries."""

    aspect_name = "ownership"
    entity_types = OWNERSHIP_ENTITY_TYPES
    config_model = PatternCleanUpOwnershipConfig
    config: PatternCleanUpOwnershipConfig

    def cleaned(self, urn: str) -> str:
        for prefix in ("urn:li:corpuser:", "urn:li:corpGroup:"):
            if urn.startswith(prefix):
                name = urn[len(prefix):]
                for pattern in self.config.pattern_for_cleanup:
                    name = re.sub(pattern, "", name)
                return prefix + name
        self.report.warn(f"pattern_cleanup_ownership: {urn} is not a user or group; kept as it is")
        return urn

    def transform_aspect(self, urn, aspect, entity):
        if aspect is None:
            return None
        urns = deduplicated(self.cleaned(o["owner"]) for o in aspect.get("owners", []))
        return ownership([owner(u, "TECHNICAL_OWNER", None) for u in urns])
