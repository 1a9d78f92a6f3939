"""DataHub's transformer model on a stream: each entity's MCPs are seen together, an aspect is rewritten
where it stands or added after the entity's last MCP.

DataHub's transformers remember every entity of the run and add the missing aspects at the end of the
stream. Here an entity's MCPs arrive together (a snapshot record's aspects, or an MCP file written
entity by entity), so a transformer holds one entity at a time and memory stays flat. An entity whose
MCPs are scattered through a file is transformed once per run of consecutive MCPs: the last value the
sink keeps is the same as DataHub's.
"""

from abc import abstractmethod
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import ClassVar

import orjson
from pydantic import field_validator

from ..core.mcp import MCP
from ..core.plugin import PluginConfig, Transformer
from .patch import AspectPatch, patch_mcp


class Semantics(str, Enum):
    """DataHub's `semantics`: OVERWRITE writes the aspect as the run computed it; PATCH adds to what the catalog
    holds (DataHub reads the server and writes the merge; this project sends JSON Patch proposals the server
    applies atomically, so nothing people added in the UI is lost between the read and the write)."""

    OVERWRITE = "OVERWRITE"
    PATCH = "PATCH"


class SemanticsConfig(PluginConfig):
    """`semantics` and `replace_existing` as DataHub's TransformerSemanticsConfigModel defines them."""

    semantics: Semantics = Semantics.OVERWRITE
    replace_existing: bool = False

    @field_validator("semantics", mode="before")
    @classmethod
    def _any_case(cls, value):
        """DataHub's ConfigEnum takes the name in any case."""
        return value.upper() if isinstance(value, str) else value


Change = dict | AspectPatch | None
"""What a transformer makes of one aspect: a new value (UPSERT), a patch (PATCH), or nothing (drop it / add none)."""


def entity_groups(mcps: Iterable[MCP]) -> Iterator[list[MCP]]:
    """Consecutive MCPs of one entity, as lists."""
    group: list[MCP] = []
    for mcp in mcps:
        if group and mcp.entity_urn != group[0].entity_urn:
            yield group
            group = []
        group.append(mcp)
    if group:
        yield group


class EntityTransformer(Transformer):
    """A transformer that looks at one entity's MCPs at a time (DataHub's `entity_types` decide which)."""

    entity_types: ClassVar[tuple[str, ...]] = ("dataset",)

    def wants(self, entity_type: str) -> bool:
        configured = getattr(self.config, "entity_types", None)
        return entity_type in (configured or self.entity_types)

    def transform(self, mcps: Iterable[MCP]) -> Iterator[MCP]:
        for group in entity_groups(mcps):
            first = group[0]
            if self.wants(first.entity_type):
                yield from self.transform_entity(first.entity_type, first.entity_urn, group)
            else:
                yield from group
        yield from self.end_of_stream()

    @abstractmethod
    def transform_entity(self, entity_type: str, urn: str, mcps: list[MCP]) -> Iterable[MCP]:
        """The entity's MCPs after this transformer."""

    def end_of_stream(self) -> Iterable[MCP]:
        """MCPs about other entities, known once every entity was seen (data products, containers)."""
        return ()


def aspect_of(mcps: list[MCP], aspect_name: str) -> dict | None:
    """The entity's UPSERTed value of `aspect_name` in this group, if any."""
    for mcp in mcps:
        if mcp.aspect_name == aspect_name and mcp.change_type == "UPSERT":
            return mcp.aspect
    return None


class AspectTransformer(EntityTransformer):
    """DataHub's SingleAspectTransformer: `transform_aspect` gets the entity's value of one aspect (None when the
    entity has none in the stream) and returns the new value, a patch, or None (the aspect is dropped, or none added)."""

    aspect_name: ClassVar[str]

    @abstractmethod
    def transform_aspect(self, urn: str, aspect: dict | None, entity: list[MCP]) -> Change:
        """`entity` is all of the entity's MCPs in this group, for transformers that read another aspect."""

    def transform_entity(self, entity_type: str, urn: str, mcps: list[MCP]) -> Iterator[MCP]:
        done = False
        for mcp in mcps:
            if mcp.aspect_name != self.aspect_name or done:
                yield mcp
                continue
            done = True
            if mcp.change_type == "PATCH":
                yield from self._after_patch(mcp, self.transform_aspect(urn, None, mcps))
            else:
                change = self.transform_aspect(urn, mcp.aspect, mcps)
                if change is not None:
                    yield self._mcp(entity_type, urn, change)
                else:
                    self.report.count(f"{self.aspect_name} dropped")
        if not done:
            change = self.transform_aspect(urn, None, mcps)
            if change is not None:
                yield self._mcp(entity_type, urn, change)

    def _mcp(self, entity_type: str, urn: str, change: dict | AspectPatch) -> MCP:
        if isinstance(change, AspectPatch):
            self.report.count(f"{self.aspect_name} patches")
            return patch_mcp(entity_type, urn, self.aspect_name, change)
        self.report.count(f"{self.aspect_name} written")
        return MCP(entity_type, urn, self.aspect_name, change)

    def _after_patch(self, earlier: MCP, change: Change) -> Iterator[MCP]:
        """An earlier transformer patches this aspect: a patch of ours joins it (one proposal per aspect, so the
        state keeps one hash for it); a new value overwrites it; nothing leaves it as it is."""
        if change is None:
            yield earlier
        elif isinstance(change, AspectPatch):
            joined = AspectPatch.from_payload(orjson.loads(earlier.aspect_text())).joined(change)
            if joined is None:
                yield earlier
                yield self._mcp(earlier.entity_type, earlier.entity_urn, change)
            else:
                yield self._mcp(earlier.entity_type, earlier.entity_urn, joined)
        else:
            yield self._mcp(earlier.entity_type, earlier.entity_urn, change)


def deduplicated(items: Iterable, key=lambda item: item) -> list:
    """DataHub's merge rule for an aspect's array: one entry per key, where it first appeared, with its last value."""
    kept: dict = {}
    for item in items:
        kept[key(item)] = item
    return list(kept.values())


def dataset_name(urn: str) -> str:
    """The name part of `urn:li:dataset:(<platform>,<name>,<env>)` (DataHub's `DatasetUrn.get_dataset_name`)."""
    inner = urn[len("urn:li:dataset:("):-1]
    return inner.split(",", 1)[1].rsplit(",", 1)[0]
