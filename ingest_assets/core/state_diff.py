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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from .mcp import MCP

REMOVED_STATUS = {"removed": True}


HASH_CHARS = 32
"""State keeps the first 128 bits of the aspect's sha256: collisions are out of reach, memory per aspect halves."""


def mcp_digest(mcp: MCP) -> str:
    """What the state stores for an aspect: the start of its hash."""
    return mcp.aspect_hash()[:HASH_CHARS]


def record_digest(builders: bytes, line: bytes) -> str:
    """What the state stores for the snapshot record an entity was built from (with the builders' fingerprint)."""
    return hashlib.sha256(builders + line).hexdigest()[:HASH_CHARS]


REMOVED_STATUS_HASH = mcp_digest(MCP("dataset", "", "status", REMOVED_STATUS))
"""What the state holds for a soft-deleted entity's status (the digest covers the aspect alone, whatever the entity)."""


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


@dataclass(frozen=True, slots=True)
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


@dataclass(slots=True)
class EntityInfo:
    """What the snapshot says about an entity beyond its aspects: its scope, name and kind (for filters)."""

    scope: Scope | None = None
    name: str | None = None
    kind: str | None = None
    record: str | None = None
    """Digest of the snapshot record the entity came from (with the builders and transformers)."""
    record_entities: int = 0
    """How many entities that record makes: a record is skipped only when all of them are stored whole."""


@dataclass(slots=True)
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
                "name": self.info.name, "kind": self.info.kind, "record": self.info.record,
                "record_entities": self.info.record_entities, "aspects": self.aspects, "removed": self.removed}

    @classmethod
    def from_json(cls, data: dict) -> "EntityState":
        info = EntityInfo(Scope.from_json(data.get("scope")), data.get("name"), data.get("kind"),
                          data.get("record"), data.get("record_entities") or 0)
        return cls(data["urn"], data["entity_type"], info, dict(data.get("aspects") or {}), bool(data.get("removed")))


@dataclass
class RemovalDecision:
    entities: list[EntityState]
    in_scope: int
    """Entities seen last time inside the run's complete scopes and still wanted by the filters."""
    stale: int
    """Of those, how many are gone now (the removals the fail-safe weighed)."""
    warning: str | None = None


class PreviousState(Protocol):
    """The state before this run, read on demand so a large catalog never sits in memory whole."""

    def get_many(self, urns: Collection[str]) -> dict[str, EntityState]: ...

    def by_records(self, digests: Collection[str]) -> dict[str, list[EntityState]]: ...

    def __iter__(self) -> Iterator[EntityState]: ...


class MappingState:
    """A PreviousState over a dict (small states, tests)."""

    def __init__(self, entities: Mapping[str, EntityState]):
        self.entities = entities

    def get_many(self, urns: Collection[str]) -> dict[str, EntityState]:
        return {urn: self.entities[urn] for urn in urns if urn in self.entities}

    def by_records(self, digests: Collection[str]) -> dict[str, list[EntityState]]:
        wanted, found = set(digests), {}
        for entity in self.entities.values():
            if entity.info.record in wanted:
                found.setdefault(entity.info.record, []).append(entity)
        return found

    def __iter__(self) -> Iterator[EntityState]:
        return iter(self.entities.values())


class StateDiff:
    """Compare a run's MCPs with the previous state as they stream past.

    An entity's MCPs arrive together (a record's aspects, then what transformers add), so only the
    entities of the last few chunks are held; the others are closed: compared with their previous
    state and, when their stored state must change, handed to `on_changed` (the pending state file).
    Memory is the window plus the set of URNs seen, whatever the catalog's size. An entity that
    shows up again after it was closed is handed over again with `merge` set, so its aspects add up.
    """

    def __init__(self, previous: "PreviousState | Mapping[str, EntityState]", full_refresh: bool = False,
                 on_changed: Callable[[EntityState, bool], None] | None = None, window: int = 4):
        self.previous: PreviousState = MappingState(previous) if isinstance(previous, Mapping) else previous
        self.full_refresh = full_refresh
        self.on_changed = on_changed or (lambda entity, merge: self._changed.append(entity))
        self.window = window
        self.counts: Counter = Counter()
        self.seen: set[str] = set()
        self.databases: set[Scope] = set()
        """The databases (`Scope.database_scope`) this run's records came from."""
        self._changed: list[EntityState] = []
        self._open: dict[str, tuple[EntityState, EntityState | None, int]] = {}
        self._reopened: set[str] = set()
        self._chunk = 0

    def unchanged_records(self, digests: Collection[str]) -> set[str]:
        """The snapshot records whose every entity the sink holds whole from that very record: no need to build them.

        Their entities count as seen and their aspects as unchanged. Never on a full refresh.
        """
        if self.full_refresh or not digests:
            return set()
        unchanged = set()
        for digest, entities in self.previous.by_records(digests).items():
            if len(entities) != entities[0].info.record_entities or any(e.is_removed or e.urn in self.seen for e in entities):
                continue
            unchanged.add(digest)
            for entity in entities:
                self.seen.add(entity.urn)
                self.counts["entities seen before"] += 1
                self.counts[f"entities {entity.entity_type}"] += 1
                self.counts["aspects unchanged"] += len(entity.aspects)
                scope = entity.info.scope
                if scope is not None:
                    self.databases.add(scope.database_scope())
        return unchanged

    def select(self, mcps: Iterable[tuple[MCP, EntityInfo | None]], chunk_size: int = 1000) -> Iterator[MCP]:
        """The MCPs to send, looking up previous states a chunk at a time."""
        iterator = iter(mcps)
        while chunk := list(islice(iterator, chunk_size)):
            self._prefetch({mcp.entity_urn for mcp, _ in chunk})
            for mcp, info in chunk:
                if self.offer(mcp, info):
                    yield mcp
            self._chunk += 1
            self._close_idle()
        self.close_all()

    def _prefetch(self, urns: set[str]) -> None:
        wanted = [urn for urn in urns if urn not in self._open]
        if not wanted:
            return
        found = self.previous.get_many(wanted)
        for urn in wanted:
            self._open_entity(urn, found.get(urn))

    def _open_entity(self, urn: str, before: EntityState | None) -> None:
        if urn in self.seen:
            self._reopened.add(urn)
        else:
            self.seen.add(urn)
            self.counts["entities new" if before is None or before.is_removed else "entities seen before"] += 1
        self._open[urn] = (EntityState(urn, ""), before, self._chunk)

    def offer(self, mcp: MCP, info: EntityInfo | None = None) -> bool:
        """Record the MCP's digest; True when it must be sent."""
        urn = mcp.entity_urn
        if urn not in self._open:
            self._open_entity(urn, self.previous.get_many([urn]).get(urn))
        entity, before, _ = self._open[urn]
        self._open[urn] = (entity, before, self._chunk)
        if not entity.entity_type:
            entity.entity_type = sys.intern(mcp.entity_type)
            if urn not in self._reopened:
                self.counts[f"entities {entity.entity_type}"] += 1
        if info is not None and entity.info.scope is None:
            entity.info = info
            if info.scope is not None:
                self.databases.add(info.scope.database_scope())
        digest = mcp_digest(mcp)
        entity.aspects[sys.intern(mcp.aspect_name)] = digest
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

    def _close(self, urn: str) -> None:
        entity, before, _ = self._open.pop(urn)
        merge = urn in self._reopened
        if merge or before is None or before.removed or before.aspects != entity.aspects or before.info != entity.info:
            self.on_changed(entity, merge)

    def _close_idle(self) -> None:
        idle = [urn for urn, (_, _, last) in self._open.items() if self._chunk - last >= self.window]
        for urn in idle:
            self._close(urn)

    def close_all(self) -> None:
        for urn in list(self._open):
            self._close(urn)

    def removals(
        self,
        complete_scopes: Iterable[Scope],
        still_wanted: Callable[[EntityState], bool],
        source_failed: bool,
        threshold: float,
        allow_mass_removal: bool = False,
        catalog_location: Scope | None = None,
    ) -> RemovalDecision:
        """The entities to soft-delete (call once every MCP was offered).

        `catalog_location` (any Scope at the run's platform/env/instance) says the run listed every
        database there, so a database seen last time, still allowed by the filters and absent now
        was dropped: its entities are in scope too.
        """
        self.close_all()
        scopes = list(complete_scopes)
        complete = set(scopes)
        if source_failed:
            return RemovalDecision([], 0, 0, "stale entities not removed: the source reported failures in this run")
        present_databases = {s.database_scope() for s in scopes} | self.databases

        def in_scope(entity: EntityState) -> bool:
            scope = entity.info.scope
            if scope is None:
                return False
            if scope in complete or scope.database_scope() in complete:
                return True
            vanished = scope.database_scope() not in present_databases
            return catalog_location is not None and vanished and catalog_location.same_location(scope)

        considered, stale = 0, []
        for entity in self.previous:
            if entity.is_removed or not in_scope(entity) or not still_wanted(entity):
                continue
            considered += 1
            if entity.urn not in self.seen:
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
        """`status {"removed": true}` for each entity (`removals` never picks one the sink holds removed)."""
        for entity in decision.entities:
            yield MCP(entity.entity_type, entity.urn, "status", dict(REMOVED_STATUS))

    @staticmethod
    def removed_states(decision: RemovalDecision) -> Iterator[EntityState]:
        """The stored state of each soft-deleted entity."""
        for entity in decision.entities:
            yield EntityState(entity.urn, entity.entity_type, entity.info, {"status": REMOVED_STATUS_HASH}, removed=True)

    def changed_entities(self, decision: RemovalDecision) -> Iterator[EntityState]:
        """With the default `on_changed`: every entity whose stored state must change, removals included."""
        self.close_all()
        yield from self._changed
        yield from self.removed_states(decision)
