"""The state store: per `pipeline_name`, what the sink holds (a hash per entity and aspect), on SQLAlchemy.

Embedded SQLite by default (beside the Dagster instance's storage when DAGSTER_HOME is set), any
SQLAlchemy URL otherwise, so several machines running one Dagster deployment can share it. A
run's state is written in one transaction, and a lease per pipeline keeps two runs from
overlapping (Dagster's pool does that for Dagster runs; the lease also covers CLI runs).
"""

import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import orjson
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..core.errors import ConnectionFailure, IngestError, first_line
from ..core.secrets import redact
from ..core.state_diff import EntityInfo, EntityState, Scope
from ..core.urns import entity_type_of
from .database import display_url, instance_home, open_engine

metadata = MetaData()
entity_table = Table(
    "ingest_state_entity",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("urn", String(500), primary_key=True),
    Column("entity_type", String(64), nullable=False),
    Column("platform", String(100)),
    Column("env", String(50)),
    Column("instance", String(200)),
    Column("database_name", String(200)),
    Column("schema_name", String(200)),
    Column("name", String(700)),
    Column("kind", String(50)),
    Column("aspects", Text, nullable=False),
    Column("removed", Boolean, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("record", String(32)),
    Column("record_entities", Integer),
    Index("ix_ingest_state_entity_record", "pipeline", "record"),
)
pipeline_table = Table(
    "ingest_state_pipeline",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("last_run_id", String(200)),
    Column("last_success_at", Float),
    Column("aspects_sent", Integer),
    Column("entities_removed", Integer),
)
lock_table = Table(
    "ingest_state_lock",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("holder", String(300), nullable=False),
    Column("acquired_at", Float, nullable=False),
)

CHUNK = 500
LEASE_SECONDS = 6 * 3600


class PipelineBusy(IngestError):
    """Another run of the same pipeline holds the lease."""

    exit_code = 1


class StateStoreFailure(ConnectionFailure):
    """The state store cannot be written (a read-only file, a database that went away): one line, exit code 2."""


log = logging.getLogger("ingest_assets")


def default_url() -> str:
    """INGEST_STATE_URL, else SQLite beside the Dagster instance ($DAGSTER_HOME/ingest_assets/state.db) or in ~/.ingest_assets."""
    if os.environ.get("INGEST_STATE_URL"):
        return os.environ["INGEST_STATE_URL"]
    return f"sqlite:///{instance_home() / 'state.db'}"


def lease_holder() -> str:
    """This process: a second acquire from it is re-entrant (the CLI holds it around its in-process run)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _row_of(pipeline: str, entity: EntityState, now: float) -> dict:
    scope = entity.info.scope
    return {
        "pipeline": pipeline, "urn": entity.urn, "entity_type": entity.entity_type,
        "platform": scope.platform if scope else None, "env": scope.env if scope else None,
        "instance": scope.instance if scope else None, "database_name": scope.database if scope else None,
        "schema_name": scope.schema if scope else None, "name": entity.info.name, "kind": entity.info.kind,
        "aspects": orjson.dumps(entity.aspects, option=orjson.OPT_SORT_KEYS).decode("utf-8"),
        "removed": entity.removed, "updated_at": now,
        "record": entity.info.record, "record_entities": entity.info.record_entities,
    }


def _rows_in(conn, pipeline: str, column, values: list):
    """The pipeline's entity rows whose `column` is one of `values`, asked CHUNK values at a time."""
    for start in range(0, len(values), CHUNK):
        yield from conn.execute(select(entity_table).where(entity_table.c.pipeline == pipeline, column.in_(values[start:start + CHUNK])))


def _interned(pairs) -> dict:
    return {sys.intern(k): v for k, v in pairs}


def _entity_of(row, scopes: dict | None = None) -> EntityState:
    """One row as an EntityState; `scopes` shares equal Scope objects and aspect names across rows (memory)."""
    scope = None
    if row.database_name is not None:
        key = (row.platform, row.env, row.instance, row.database_name, row.schema_name)
        scope = scopes.setdefault(key, Scope(*key)) if scopes is not None else Scope(*key)
    aspects = json.loads(row.aspects, object_pairs_hook=_interned)
    info = EntityInfo(scope, row.name, row.kind, row.record, row.record_entities or 0)
    return EntityState(row.urn, sys.intern(row.entity_type), info, aspects, bool(row.removed))


class StateStore:
    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        self.engine = open_engine(self.url, "state store", metadata)

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def view(self, pipeline: str) -> "StateView":
        """The pipeline's state, read on demand (what the mcps stage diffs against)."""
        return StateView(self, pipeline)

    def load(self, pipeline: str) -> dict[str, EntityState]:
        """Every entity the sink holds for this pipeline, removed ones included."""
        return {entity.urn: entity for entity in self.entities(pipeline)}

    def _replace(self, conn, pipeline: str, entities: list[EntityState], now: float) -> None:
        if not entities:
            return
        t = entity_table
        for start in range(0, len(entities), CHUNK):
            chunk = entities[start:start + CHUNK]
            conn.execute(delete(t).where(t.c.pipeline == pipeline, t.c.urn.in_([e.urn for e in chunk])))
            conn.execute(insert(t), [_row_of(pipeline, e, now) for e in chunk])

    def commit_run(self, pipeline: str, run_id: str, entities: Iterable[tuple[EntityState, bool]], aspects_sent: int) -> int:
        """A run the sink acknowledged in full: its entities' new state and the run, in one transaction.

        `entities` pairs each entity with `merge`: add its aspects to what this commit already wrote for it.
        """
        now = time.time()
        p, t = pipeline_table, entity_table
        written = removed = 0
        with self.engine.begin() as conn:
            chunk: list[EntityState] = []
            for entity, merge in entities:
                removed += entity.removed
                if merge:
                    self._replace(conn, pipeline, chunk, now)
                    written, chunk = written + len(chunk), []
                    row = conn.execute(select(t).where(t.c.pipeline == pipeline, t.c.urn == entity.urn)).first()
                    if row is not None:
                        earlier = _entity_of(row)
                        entity.aspects = {**earlier.aspects, **entity.aspects}
                        if entity.info.scope is None:
                            entity.info = earlier.info
                chunk.append(entity)
                if len(chunk) >= CHUNK:
                    self._replace(conn, pipeline, chunk, now)
                    written, chunk = written + len(chunk), []
            self._replace(conn, pipeline, chunk, now)
            written += len(chunk)
            values = {"last_run_id": run_id, "last_success_at": now, "aspects_sent": aspects_sent, "entities_removed": removed}
            if conn.execute(update(p).where(p.c.pipeline == pipeline).values(**values)).rowcount == 0:
                conn.execute(insert(p).values(pipeline=pipeline, **values))
        return written

    def record_acknowledged(self, pipeline: str, acknowledged: dict[str, dict[str, str]]) -> int:
        """A failed run: keep only what the sink did acknowledge, aspect by aspect; nothing else advances.

        An entity new to the state is recorded without its scope, name or record: it is never removed
        nor skipped until the next successful run, whose comparison finds the missing details and writes them.
        """
        if not acknowledged:
            return 0
        now = time.time()
        with self.engine.begin() as conn:
            existing = {row.urn: _entity_of(row) for row in _rows_in(conn, pipeline, entity_table.c.urn, list(acknowledged))}
            merged = []
            for urn, aspects in acknowledged.items():
                entity = existing.get(urn) or EntityState(urn, entity_type_of(urn))
                entity.aspects.update(aspects)
                entity.info = EntityInfo(entity.info.scope, entity.info.name, entity.info.kind)  # partial: never skipped
                merged.append(entity)
            self._replace(conn, pipeline, merged, now)
        return sum(len(a) for a in acknowledged.values())

    def summary(self, pipeline: str) -> dict:
        t, p, lk = entity_table, pipeline_table, lock_table
        with self.engine.connect() as conn:
            counts = conn.execute(
                select(t.c.entity_type, t.c.removed, func.count()).where(t.c.pipeline == pipeline).group_by(t.c.entity_type, t.c.removed)
            ).all()
            run = conn.execute(select(p).where(p.c.pipeline == pipeline)).first()
            lock = conn.execute(select(lk).where(lk.c.pipeline == pipeline)).first()
        entities: dict[str, dict[str, int]] = {}
        for entity_type, removed, n in counts:
            entities.setdefault(entity_type, {"present": 0, "removed": 0})["removed" if removed else "present"] += n
        return {
            "pipeline": pipeline,
            "store": self.display_url,
            "entities": entities,
            "last_run_id": run.last_run_id if run else None,
            "last_success_at": run.last_success_at if run else None,
            "last_aspects_sent": run.aspects_sent if run else None,
            "last_entities_removed": run.entities_removed if run else None,
            "lease": {"holder": lock.holder, "acquired_at": lock.acquired_at} if lock else None,
        }

    def entities(self, pipeline: str) -> Iterator[EntityState]:
        t = entity_table
        with self.engine.connect() as conn:
            for row in conn.execute(select(t).where(t.c.pipeline == pipeline).order_by(t.c.urn)):
                yield _entity_of(row)

    def reset(self, pipeline: str) -> int:
        """Forget the pipeline: the next run sends everything and removes nothing. Clears its lease too."""
        with self.engine.begin() as conn:
            removed = conn.execute(delete(entity_table).where(entity_table.c.pipeline == pipeline)).rowcount
            conn.execute(delete(pipeline_table).where(pipeline_table.c.pipeline == pipeline))
            conn.execute(delete(lock_table).where(lock_table.c.pipeline == pipeline))
        return removed

    def _stale(self, holder: str, acquired_at: float) -> bool:
        if time.time() - acquired_at > LEASE_SECONDS:
            return True
        host, _, pid = holder.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def acquire(self, pipeline: str, holder: str | None = None) -> bool:
        """Take the pipeline's lease; False when this holder already had it. Raise PipelineBusy if another does,
        StateStoreFailure if the store cannot be written."""
        try:
            return self._acquire(pipeline, holder or lease_holder())
        except SQLAlchemyError as exc:
            raise StateStoreFailure(f"the state store at {self.display_url} cannot be written, so pipeline {pipeline} "
                                    f"cannot run: {redact(first_line(exc))}") from None

    def _acquire(self, pipeline: str, holder: str) -> bool:
        lk = lock_table
        for _ in range(3):
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(lk).values(pipeline=pipeline, holder=holder, acquired_at=time.time()))
                return True
            except IntegrityError:
                pass
            with self.engine.begin() as conn:
                row = conn.execute(select(lk).where(lk.c.pipeline == pipeline)).first()
                if row is None:
                    continue
                if row.holder == holder:
                    return False
                if self._stale(row.holder, row.acquired_at):
                    taken = conn.execute(update(lk).where(lk.c.pipeline == pipeline, lk.c.holder == row.holder)
                                         .values(holder=holder, acquired_at=time.time())).rowcount
                    if taken:
                        return True
                    continue
                since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.acquired_at))
                raise PipelineBusy(f"pipeline {pipeline} is being run by {row.holder} (since {since} UTC); "
                                   f"two runs of one pipeline never overlap: wait for it, or `ingest-assets state unlock {pipeline}` if that run is gone")
        raise PipelineBusy(f"pipeline {pipeline}: could not take its lease")

    def unlock(self, pipeline: str) -> str | None:
        """Drop the pipeline's lease whoever holds it (a run that died elsewhere); the holder it had, if any."""
        lk = lock_table
        with self.engine.begin() as conn:
            row = conn.execute(select(lk).where(lk.c.pipeline == pipeline)).first()
            conn.execute(delete(lk).where(lk.c.pipeline == pipeline))
        return row.holder if row else None

    def release(self, pipeline: str, holder: str | None = None) -> None:
        holder = holder or lease_holder()
        with self.engine.begin() as conn:
            conn.execute(delete(lock_table).where(lock_table.c.pipeline == pipeline, lock_table.c.holder == holder))

    @contextmanager
    def lease(self, pipeline: str):
        """Hold the pipeline's lease for the block (re-entrant within one process).

        A lease that cannot be released (the state database went away mid-run) is a warning, not an error:
        the run's own outcome stands, and a lease left by a process that is gone is taken over by the next run.
        """
        taken = self.acquire(pipeline)
        try:
            yield
        finally:
            if taken:
                self._release_or_warn(pipeline)

    def _release_or_warn(self, pipeline: str) -> None:
        try:
            self.release(pipeline)
        except SQLAlchemyError as exc:
            log.warning("could not release the lease of pipeline %s in the state store at %s (%s); the next run on "
                        "this host takes it over, or `ingest-assets state unlock %s`", pipeline, self.display_url,
                        redact(first_line(exc)), pipeline)


class StateView:
    """One pipeline's state as the diff reads it: by URN in batches, or streamed whole."""

    def __init__(self, store: StateStore, pipeline: str):
        self.store = store
        self.pipeline = pipeline
        self._scopes: dict = {}
        t = entity_table
        with store.engine.connect() as conn:
            self.empty = conn.execute(select(t.c.urn).where(t.c.pipeline == pipeline).limit(1)).first() is None
        """A first run asks nothing more: under the run's lease only another partition's run can write, never these entities."""

    def get_many(self, urns) -> dict[str, EntityState]:
        if self.empty:
            return {}
        with self.store.engine.connect() as conn:
            return {row.urn: _entity_of(row, self._scopes) for row in _rows_in(conn, self.pipeline, entity_table.c.urn, list(urns))}

    def by_records(self, digests) -> dict[str, list[EntityState]]:
        if self.empty:
            return {}
        found: dict[str, list[EntityState]] = {}
        with self.store.engine.connect() as conn:
            for row in _rows_in(conn, self.pipeline, entity_table.c.record, list(digests)):
                found.setdefault(row.record, []).append(_entity_of(row, self._scopes))
        return found

    def __iter__(self) -> Iterator[EntityState]:
        t = entity_table
        with self.store.engine.connect() as conn:
            rows = conn.execution_options(yield_per=2000).execute(select(t).where(t.c.pipeline == self.pipeline))
            for row in rows:
                yield _entity_of(row, self._scopes)
