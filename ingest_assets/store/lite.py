"""The embedded metadata store: DataHub's `metadata_aspect_v2` table on any SQLAlchemy database.

Version 0 of an (urn, aspect) is always the latest; writing a different value first copies the
current latest to version max+1, as DataHub's GMS does. Writing an identical value only refreshes
its system metadata, so re-sending unchanged aspects adds no versions.

A PATCH proposal applies to the latest value inside the same transaction (`aspect_patch`).
"""

import json
import os
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    tuple_,
)

from ..core.mcp import MCP, canonical_json
from ..core.urns import entity_type_of
from .aspect_patch import ACTOR, PatchError, PatchFailure, patched_aspect
from .database import display_url, open_engine, user_home

metadata = MetaData()
aspects_table = Table(
    "metadata_aspect_v2",
    metadata,
    Column("urn", String(500), primary_key=True),
    Column("aspect", String(200), primary_key=True),
    Column("version", BigInteger, primary_key=True),
    Column("metadata", Text, nullable=False),
    Column("systemmetadata", Text),
    Column("createdon", DateTime, nullable=False),
    Column("createdby", String(255), nullable=False),
)



def default_url() -> str:
    if os.environ.get("INGEST_LITE_URL"):
        return os.environ["INGEST_LITE_URL"]
    return f"sqlite:///{user_home() / 'lite.db'}"


def _stored(metadata: str, system: str | None, created) -> dict:
    """One stored aspect version: its value, system metadata and creation time (a datetime)."""
    return {"value": json.loads(metadata), "systemMetadata": json.loads(system) if system else None, "created": created}


class LiteStore:
    """Every aspect version per (urn, aspect), in one SQL table."""

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        self.engine = open_engine(self.url, "metadata store", metadata)

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def upsert_many(self, mcps: list[MCP]) -> None:
        """Write a batch in one transaction (all or nothing; a PATCH that cannot apply raises PatchError and writes nothing)."""
        if not mcps:
            return
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        t = aspects_table
        keys = list({(m.entity_urn, m.aspect_name) for m in mcps})
        with self.engine.begin() as conn:
            latest: dict[tuple, str] = {}
            highest: dict[tuple, int] = {}
            for chunk_start in range(0, len(keys), 500):
                chunk = keys[chunk_start:chunk_start + 500]
                rows = conn.execute(
                    select(t.c.urn, t.c.aspect, t.c.version, t.c.metadata).where(
                        tuple_(t.c.urn, t.c.aspect).in_(chunk)
                    )
                )
                for urn, aspect, version, value in rows:
                    if version == 0:
                        latest[(urn, aspect)] = value
                    highest[(urn, aspect)] = max(highest.get((urn, aspect), 0), version)
            existed = set(latest)
            history, final = [], {}
            for mcp in mcps:
                key = (mcp.entity_urn, mcp.aspect_name)
                if mcp.change_type == "PATCH":
                    try:
                        aspect = patched_aspect(mcp.aspect_name, mcp.aspect, json.loads(latest[key]) if key in latest else None)
                        value = canonical_json(aspect)
                    except PatchFailure as exc:
                        raise PatchError(mcp, str(exc)) from None
                    except orjson.JSONEncodeError as exc:  # e.g. nested past what the store keeps
                        raise PatchError(mcp, f"the patched aspect cannot be stored: {exc}") from None
                else:
                    value = canonical_json(mcp.aspect)
                system = json.dumps(mcp.system_metadata) if mcp.system_metadata else None
                if key in latest and latest[key] != value:
                    highest[key] = highest.get(key, 0) + 1
                    history.append({"urn": key[0], "aspect": key[1], "version": highest[key], "metadata": latest[key],
                                    "systemmetadata": None, "createdon": now, "createdby": ACTOR})
                changed = final.get(key, (None, None, key not in latest))[2] or latest.get(key) != value
                latest[key] = value
                final[key] = (value, system, changed)
            new_rows = [{"urn": k[0], "aspect": k[1], "version": 0, "metadata": v, "systemmetadata": sm,
                         "createdon": now, "createdby": ACTOR} for k, (v, sm, _) in final.items() if k not in existed]
            updates = [{"k_urn": k[0], "k_aspect": k[1], "metadata": v, "systemmetadata": sm, "createdon": now}
                       for k, (v, sm, changed) in final.items() if k in existed and changed]
            touches = [{"k_urn": k[0], "k_aspect": k[1], "systemmetadata": sm}
                       for k, (v, sm, changed) in final.items() if k in existed and not changed]
            if history or new_rows:
                conn.execute(t.insert(), history + new_rows)
            v0 = and_(t.c.urn == bindparam("k_urn"), t.c.aspect == bindparam("k_aspect"), t.c.version == 0)
            if updates:
                conn.execute(t.update().where(v0).values(metadata=bindparam("metadata"),
                             systemmetadata=bindparam("systemmetadata"), createdon=bindparam("createdon")), updates)
            if touches:
                conn.execute(t.update().where(v0).values(systemmetadata=bindparam("systemmetadata")), touches)

    def get_aspect(self, urn: str, aspect: str, version: int = 0) -> dict | None:
        t = aspects_table
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.c.metadata, t.c.systemmetadata, t.c.createdon).where(
                    t.c.urn == urn, t.c.aspect == aspect, t.c.version == version)
            ).first()
        return None if row is None else _stored(*row)

    def aspect_versions(self, urn: str, aspect: str) -> list[dict]:
        """Every stored version of one aspect, latest first: what a timeseries read chooses from."""
        t = aspects_table
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.metadata, t.c.systemmetadata, t.c.createdon, t.c.version)
                                .where(t.c.urn == urn, t.c.aspect == aspect).order_by(t.c.version))
            stored = [(version, _stored(value, system, created)) for value, system, created, version in rows]
        return [item for version, item in sorted(stored, key=lambda row: (row[0] != 0, -row[0]))]

    def entity_aspects(self, urn: str) -> dict[str, dict]:
        """Every latest aspect of one entity with its system metadata and time, for the REST service."""
        t = aspects_table
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.aspect, t.c.metadata, t.c.systemmetadata, t.c.createdon)
                                .where(t.c.urn == urn, t.c.version == 0).order_by(t.c.aspect))
            return {aspect: _stored(value, system, created) for aspect, value, system, created in rows}

    def get_entity(self, urn: str) -> dict[str, dict]:
        """Every latest aspect of one entity, by aspect name."""
        return {aspect: item["value"] for aspect, item in self.entity_aspects(urn).items()}

    def versions(self, urn: str, aspect: str) -> list[int]:
        t = aspects_table
        with self.engine.connect() as conn:
            return [v for (v,) in conn.execute(select(t.c.version).where(t.c.urn == urn, t.c.aspect == aspect).order_by(t.c.version))]

    def latest(self, aspects: Iterable[str] | None = None) -> Iterator[tuple[str, str, dict]]:
        """Every latest (urn, aspect, value), optionally only the named aspects."""
        t = aspects_table
        query = select(t.c.urn, t.c.aspect, t.c.metadata).where(t.c.version == 0).order_by(t.c.urn, t.c.aspect)
        if aspects is not None:
            query = query.where(t.c.aspect.in_(list(aspects)))
        with self.engine.connect() as conn:
            for urn, aspect, value in conn.execution_options(yield_per=2000).execute(query):
                yield urn, aspect, json.loads(value)

    def count(self) -> tuple[int, int]:
        """(entities, aspect rows at version 0)."""
        t = aspects_table
        with self.engine.connect() as conn:
            entities = conn.execute(select(func.count(func.distinct(t.c.urn))).where(t.c.version == 0)).scalar_one()
            aspects = conn.execute(select(func.count()).select_from(t).where(t.c.version == 0)).scalar_one()
        return entities, aspects

    def search(self, text: str, limit: int = 100) -> list[str]:
        t = aspects_table
        pattern = f"%{text}%"
        query = (
            select(t.c.urn).where(t.c.version == 0)
            .where(or_(t.c.urn.ilike(pattern), and_(
                t.c.aspect.in_(["datasetProperties", "containerProperties", "schemaMetadata"]),
                t.c.metadata.ilike(pattern))))
            .distinct().order_by(t.c.urn).limit(limit)
        )
        with self.engine.connect() as conn:
            return [urn for (urn,) in conn.execute(query)]

    def browse(self, include_removed: bool = False) -> list[tuple[str, str, str]]:
        """(path, kind, urn) for every container and dataset, paths built as DataHub's browse paths."""
        names: dict[str, str] = {}
        paths: dict[str, list[str]] = {}
        kinds: dict[str, str] = {}
        removed: set[str] = set()
        platforms: dict[str, str] = {}
        wanted = ["containerProperties", "datasetProperties", "browsePathsV2", "subTypes", "status", "dataPlatformInstance"]
        for urn, aspect, value in self.latest(wanted):
            if aspect == "dataPlatformInstance":
                platforms[urn] = value.get("platform", "").removeprefix("urn:li:dataPlatform:")
            if aspect in ("containerProperties", "datasetProperties"):
                names[urn] = value.get("name") or urn
            if aspect == "browsePathsV2":
                paths[urn] = [p.get("urn") or p.get("id") for p in value.get("path", [])]
            elif aspect == "subTypes" and value.get("typeNames"):
                kinds[urn] = value["typeNames"][0]
            elif aspect == "status" and value.get("removed"):
                removed.add(urn)
        result = []
        for urn, name in names.items():
            if urn in removed and not include_removed:
                continue
            path = paths.get(urn, [])
            platform = platforms.get(urn) or next((platforms[p] for p in path if p in platforms), None) or _platform_of(urn)
            parts = [platform] + [names.get(p, p.rsplit(",", 1)[-1].rstrip(")")) for p in paths.get(urn, [])] + [name]
            result.append(("/" + "/".join(parts), kinds.get(urn, entity_type_of(urn)), urn))
        return sorted(result)


def _platform_of(urn: str) -> str:
    marker = "urn:li:dataPlatform:"
    if marker in urn:
        return urn.split(marker, 1)[1].split(",", 1)[0]
    return entity_type_of(urn)
