"""Change-only emission and safe stale removal, decided from the previous state and this run's MCPs.

Pure: no IO. The `mcps` stage offers every MCP of the run to a `StateDiff`; it answers whether the
aspect must be sent (new, changed, or a full refresh) and remembers the run's hashes. Once the
stream is done, `removals` decides which entities seen last time get `status {"removed": true}`:
only inside the scopes this run enumerated completely, only if the current filters still want
them, never after source failures, and never more than the fail-safe share without an override.
"""

import hashlib
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .mcp import MCP, canonical_json

REMOVED_STATUS = {"removed": True}


HASH_CHARS = 32
"""State keeps the first 128 bits of the aspect's sha256: collisions are out of reach, memory per aspect halves."""


def aspect_digest(aspect: dict) -> str:
    """What the state stores for an aspect: the start of `MCP.aspect_hash`."""
    return hashlib.sha256(canonical_json(aspect).encode("utf-8")).hexdigest()[:HASH_CHARS]


def mcp_digest(mcp: MCP) -> str:
    return mcp.aspect_hash()[:HASH_CHARS]


REMOVED_STATUS_HASH = aspect_digest(REMOVED_STATUS)


class StatefulIngestionConfig(BaseModel):
    """DataHub's `source.config.stateful_ingestion` block.

    Change-only emission is always on (sending nothing when nothing changed is the point of this
    project); this block only governs stale-entity removal, which is on when `enabled` and
    `remove_stale_metadata` (DataHub's default when enabled) are both true. `state_provider` is
    accepted for DataHub recipes and ignored: state lives in our state store.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    remove_stale_metadata: bool = True
    fail_safe_threshold: float = Field(default=75.0, ge=0.0, le=100.0)
    state_provider: Any = None

    @property
    def removes_stale(self) -> bool:
        return self.enabled and self.remove_stale_metadata


@dataclass(frozen=True)
class Scope:
    """Where an entity lives: a database (or one schema of it) at a platform, instance and env."""

    platform: str
    env: str
    instance: str | None
    database: str
    schema: str | None = None

    def database_scope(self) -> "Scope":
        """The database this scope is in (itself for a database scope): it covers every schema."""
        return self if self.schema is None else Scope(self.platform, self.env, self.instance, self.database)

    def same_location(self, other: "Scope") -> bool:
        return (self.platform, self.env, self.instance) == (other.platform, other.env, other.instance)

    def to_json(self) -> dict:
        return {"platform": self.platform, "env": self.env, "instance": self.instance,
                "database": self.database, "schema": self.schema}

    @classmethod
    def from_json(cls, data: dict | None) -> "Scope | None":
        if not data:
            return None
        return cls(data["platform"], data["env"], data.get("instance"), data["database"], data.get("schema"))


@dataclass
class EntityInfo:
    """What the snapshot says about an entity beyond its aspects: its scope, name and kind (for filters)."""

    scope: Scope | None = None
    name: str | None = None
    kind: str | None = None


@dataclass
class EntityState:
    """One entity as the sink holds it: a hash per aspect, and whether it is soft-deleted."""

    urn: str
    entity_type: str
    info: EntityInfo = field(default_factory=EntityInfo)
    aspects: dict[str, str] = field(default_factory=dict)
    removed: bool = False

    @property
    def is_removed(self) -> bool:
        return self.removed or self.aspects.get("status") == REMOVED_STATUS_HASH

    def to_json(self) -> dict:
        return {"urn": self.urn, "entity_type": self.entity_type, "scope": self.info.scope.to_json() if self.info.scope else None,
                "name": self.info.name, "kind": self.info.kind, "aspects": self.aspects, "removed": self.removed}

    @classmethod
    def from_json(cls, data: dict) -> "EntityState":
        info = EntityInfo(Scope.from_json(data.get("scope")), data.get("name"), data.get("kind"))
        return cls(data["urn"], data["entity_type"], info, dict(data.get("aspects") or {}), bool(data.get("removed")))


@dataclass
class RemovalDecision:
    entities: list[EntityState]
    in_scope: int
    """Entities seen last time inside the run's complete scopes and still wanted by the filters."""
    stale: int
    """Of those, how many are gone now (the removals the fail-safe weighed)."""
    warning: str | None = None


class StateDiff:
    """Compare a run's MCPs with the previous state, one MCP at a time."""

    def __init__(self, previous: Mapping[str, EntityState], full_refresh: bool = False):
        self.previous = previous
        self.full_refresh = full_refresh
        self.current: dict[str, EntityState] = {}
        self.counts: Counter = Counter()

    def offer(self, mcp: MCP, info: EntityInfo | None = None) -> bool:
        """Record the MCP's hash; True when it must be sent."""
        digest = mcp_digest(mcp)
        entity = self.current.get(mcp.entity_urn)
        if entity is None:
            entity = self.current[mcp.entity_urn] = EntityState(mcp.entity_urn, mcp.entity_type, info or EntityInfo())
        elif info is not None and entity.info.scope is None:
            entity.info = info
        entity.aspects[sys.intern(mcp.aspect_name)] = digest
        before = self.previous.get(mcp.entity_urn)
        if before is None or before.is_removed:
            self.counts["aspects new"] += 1
            return True
        stored = before.aspects.get(mcp.aspect_name)
        if stored is None:
            self.counts["aspects new"] += 1
            return True
        if stored != digest:
            self.counts["aspects changed"] += 1
            return True
        self.counts["aspects unchanged"] += 1
        if self.full_refresh:
            self.counts["aspects re-sent (full refresh)"] += 1
            return True
        return False

    def entity_counts(self) -> Counter:
        counts = Counter()
        for urn in self.current:
            before = self.previous.get(urn)
            counts["entities new" if before is None or before.is_removed else "entities seen before"] += 1
        return counts

    def removals(
        self,
        complete_scopes: Iterable[Scope],
        still_wanted: Callable[[EntityState], bool],
        source_failed: bool,
        threshold: float,
        allow_mass_removal: bool = False,
        catalog_location: Scope | None = None,
    ) -> RemovalDecision:
        """The entities to soft-delete.

        `catalog_location` (any Scope at the run's platform/env/instance) says the run listed every
        database there, so a database seen last time, still allowed by the filters and absent now
        was dropped: its entities are in scope too.
        """
        scopes = list(complete_scopes)
        complete = set(scopes)
        if source_failed:
            return RemovalDecision([], 0, 0, "stale entities not removed: the source reported failures in this run")
        present_databases = {(s.platform, s.env, s.instance, s.database) for s in scopes}
        present_databases |= {
            (e.info.scope.platform, e.info.scope.env, e.info.scope.instance, e.info.scope.database)
            for e in self.current.values() if e.info.scope is not None
        }

        def in_scope(entity: EntityState) -> bool:
            scope = entity.info.scope
            if scope is None:
                return False
            if scope in complete or scope.database_scope() in complete:
                return True
            vanished = (scope.platform, scope.env, scope.instance, scope.database) not in present_databases
            return catalog_location is not None and vanished and catalog_location.same_location(scope)

        considered, stale = 0, []
        for urn, entity in self.previous.items():
            if entity.is_removed or not in_scope(entity) or not still_wanted(entity):
                continue
            considered += 1
            if urn not in self.current:
                stale.append(entity)
        if not stale:
            return RemovalDecision([], considered, 0)
        share = 100.0 * len(stale) / considered
        if share > threshold and not allow_mass_removal:
            warning = (f"stale entities not removed: {len(stale)} of {considered} entities in scope ({share:.0f}%) are gone, "
                       f"above fail_safe_threshold {threshold:g}%; re-run with --allow-mass-removal if that is intended")
            return RemovalDecision([], considered, len(stale), warning)
        return RemovalDecision(stale, considered, len(stale))

    def removal_mcps(self, decision: RemovalDecision) -> Iterator[MCP]:
        """`status {"removed": true}` for each entity; skipped where the sink already holds it."""
        for entity in decision.entities:
            if entity.aspects.get("status") == REMOVED_STATUS_HASH and not self.full_refresh:
                continue
            yield MCP(entity_type=entity.entity_type, entity_urn=entity.urn, aspect_name="status", aspect=dict(REMOVED_STATUS))

    def changed_entities(self, decision: RemovalDecision) -> Iterator[EntityState]:
        """Every entity whose stored state must change once the sink acknowledged the run."""
        for urn, entity in self.current.items():
            before = self.previous.get(urn)
            if before is None or before.removed or before.aspects != entity.aspects or before.info != entity.info:
                yield entity
        for entity in decision.entities:
            yield EntityState(entity.urn, entity.entity_type, entity.info, {"status": REMOVED_STATUS_HASH}, removed=True)
