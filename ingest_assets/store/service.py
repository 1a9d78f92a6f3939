"""The local metadata service: the part of DataHub's REST API that ingestion uses, over the embedded store.

Teams without a DataHub server point the `datahub-rest` sink (or any DataHub emitter) at it:
`GET /config`, `POST /aspects?action=ingestProposal|ingestProposalBatch`,
`GET /aspects/{urn}?aspect=NAME&version=N`, `POST /aspects?action=getTimeseriesAspectValues` and
`GET /entitiesV2/{urn}`, and a Confluent-compatible schema registry for the Kafka path under
`/schema-registry/api/` (`store.schema_registry`). Aspects are answered keyed by DataHub's record class, as GMS keys them, so
DataHub's own `DataHubGraph` reads them. Errors are answered as GMS answers them
(`{"exceptionClass", "message", "status"}`): 401 without the bearer token when one is configured, 413
over the body limit, 422 for a proposal that does not validate, names an aspect GMS does not know, or
is a PATCH that cannot apply. Aspect versions and PATCH are kept and applied as GMS does (see `store.lite`).

It may face other teams' emitters, so what it accepts is what it can store exactly and serve back
(`store.proposals`), a request's fate depends on its own proposals only (`GroupCommitWriter`), the
bodies held at once are bounded (`store.body_budget`), and the contract is published at
`/openapi.json` (`store.service_contract`).
"""

import hmac
import json
import socket
import sys
import threading
from datetime import timezone
from typing import Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from ..core.aspect_classes import ASPECT_CLASSES, TIMESERIES_ASPECTS, UnknownAspect, aspect_class
from ..core.errors import ConnectionFailure, first_line
from ..core.mcp import MCP
from ..core.secrets import redact
from ..core.urns import entity_type_of
from .aspect_patch import ACTOR, PatchError
from .body_budget import InFlightBodies
from .lite import LiteStore
from .proposals import (
    JSON_CONTENT_TYPE,
    NotPlainJson,
    ProposalError,
    parse_ingest_body,
    parse_timeseries_query,
    plain_json,
)
from .schema_registry import RegistryError, SchemaRegistry, registry_error_response, registry_router
from .service_contract import aspects_request_body, component_schemas

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_VERSION = 2 ** 63 - 1
"""Versions are 64-bit in the store (and in GMS)."""
_ERROR_CLASS = "com.linkedin.restli.server.RestLiServiceException"
ACTIONS = ("ingestProposal", "ingestProposalBatch", "getTimeseriesAspectValues")


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"exceptionClass": _ERROR_CLASS, "message": message, "status": status}, status_code=status)


def _stamps(stored: dict) -> dict:
    """The creation stamp and system metadata of a stored aspect, as GMS answers them."""
    created = {"time": int(stored["created"].replace(tzinfo=timezone.utc).timestamp() * 1000), "actor": ACTOR}
    return {"created": created, **({"systemMetadata": stored["systemMetadata"]} if stored["systemMetadata"] else {})}


class GroupCommitWriter:
    """Serializes writes to the store and folds the batches that queued meanwhile into one transaction.

    Concurrent requests would otherwise each pay a transaction of their own (and race on new
    versions); folding keeps arrival order, so per-URN ordering from the client is kept.
    """

    def __init__(self, store: LiteStore):
        self.store = store
        self._write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queued: list[list] = []

    def write(self, mcps: list[MCP]) -> None:
        item = [mcps, threading.Event(), None]
        with self._queue_lock:
            self._queued.append(item)
        with self._write_lock:
            if not item[1].is_set():
                with self._queue_lock:
                    group, self._queued = self._queued, []
                for queued, error in zip(group, self._write_group([queued[0] for queued in group])):
                    queued[2] = error
                    queued[1].set()
        if item[2] is not None:
            raise item[2]

    def _write_group(self, requests: list[list[MCP]]) -> list[Exception | None]:
        """One transaction for the group; when it fails for any reason (a PATCH that cannot apply, a value or a
        database error one request caused), each request again in its own transaction, in order, so each gets
        its own fate: the others are written, only the request at fault fails."""
        try:
            self.store.upsert_many([mcp for mcps in requests for mcp in mcps])
            return [None] * len(requests)
        except Exception as exc:
            if len(requests) == 1:
                return [exc]
            return [self._write_alone(mcps) for mcps in requests]

    def _write_alone(self, mcps: list[MCP]) -> Exception | None:
        try:
            self.store.upsert_many(mcps)
            return None
        except Exception as exc:
            return exc


def create_app(store: LiteStore, token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               max_inflight_bytes: int | None = None) -> FastAPI:
    """`max_inflight_bytes` (default the body limit) bounds the bodies read, parsed or written at once."""
    app = FastAPI(title="ingest_assets metadata service", version="0.1.0", docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json")
    writer = GroupCommitWriter(store)
    bodies = InFlightBodies(max_inflight_bytes or max_body_bytes)
    expected = f"Bearer {token}".encode() if token else None

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                                   description="DataHub's REST ingestion API, over the embedded metadata store.")
            document.setdefault("components", {}).setdefault("schemas", {}).update(component_schemas())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi
    registry = SchemaRegistry(store.engine)  # the Kafka path's schemas, served as GMS serves its own
    registry.register_datahub_subjects()
    app.include_router(registry_router(registry))
    app.add_exception_handler(RegistryError, registry_error_response)

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return error_response(400, redact(problems)[:1000])

    @app.middleware("http")
    async def bearer_token(request: Request, call_next):
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return error_response(401, "Unauthorized: a valid 'Authorization: Bearer <token>' header is required")
        return await call_next(request)

    @app.get("/config")
    def config():
        return {"noCode": "true", "datahub": {"serverType": "ingest-assets-local"},
                "versions": {"ingest_assets": {"version": "0.1.0"}},
                "statefulIngestionCapable": False, "patchCapable": True, "retention": "true"}

    def declared_length(request: Request) -> int | None:
        declared = request.headers.get("content-length", "")
        return int(declared) if declared.isdigit() and len(declared) < 20 else None

    async def read_body(request: Request, declared: int | None) -> bytes | JSONResponse:
        too_large = error_response(413, f"request body is larger than this service's limit of {max_body_bytes:,} bytes")
        if declared is not None and declared > max_body_bytes:
            async for _ in request.stream():  # drain, so the client reads our answer instead of a reset
                pass
            return too_large
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size <= max_body_bytes:
                chunks.append(chunk)
        return too_large if size > max_body_bytes else b"".join(chunks)

    def ingest(body: bytes, action: str) -> JSONResponse:
        try:
            payload = plain_json(body)
        except NotPlainJson as exc:
            return error_response(400, f"request body is not JSON: {exc}")
        try:
            mcps = parse_ingest_body(payload, action)
        except ProposalError as exc:
            return error_response(422, str(exc))
        del payload
        try:
            writer.write(mcps)
        except PatchError as exc:
            index = next(i for i, mcp in enumerate(mcps) if mcp is exc.mcp)
            where = "proposal" if action == "ingestProposal" else f"proposals[{index}]"
            return error_response(422, f"{where}: the PATCH of {exc.mcp.aspect_name} on {exc.mcp.entity_urn} "
                                       f"cannot apply: {exc}")
        except SQLAlchemyError as exc:
            return error_response(500, redact(f"the metadata store refused the write: {first_line(exc)}"))
        if action == "ingestProposal":
            return JSONResponse({"value": mcps[0].entity_urn})
        return JSONResponse({"value": [m.entity_urn for m in mcps]})

    def timeseries_values(body: bytes) -> JSONResponse:
        """GMS's `getTimeseriesAspectValues`, over the versions the store keeps: newest first, EQUAL filters."""
        try:
            urn, aspect, limit, conditions = parse_timeseries_query(body)
        except ValueError as exc:
            return error_response(400, f"a timeseries query needs urn, aspect and at most EQUAL filters ({first_line(exc)})")
        if aspect not in TIMESERIES_ASPECTS:
            return error_response(400, f"{aspect[:100]!r} is not a timeseries aspect "
                                       f"(timeseries aspects: {', '.join(sorted(TIMESERIES_ASPECTS))})")
        found = [item for item in store.aspect_versions(urn, aspect) if all(
            str(item["value"].get(field)) in values for field, values in conditions)]
        found.sort(key=lambda item: item["value"].get("timestampMillis", 0), reverse=True)
        values = [{"aspect": {"value": json.dumps(item["value"]), "contentType": JSON_CONTENT_TYPE},
                   **({"systemMetadata": item["systemMetadata"]} if item["systemMetadata"] else {})}
                  for item in found[:limit]]
        return JSONResponse({"value": {"entityName": entity_type_of(urn), "aspectName": aspect,
                                       "limit": limit, "values": values}})

    @app.post("/aspects", openapi_extra={"requestBody": aspects_request_body()})
    async def aspects_action(request: Request, action: Literal[ACTIONS] = Query(
            description="ingestProposal, ingestProposalBatch or getTimeseriesAspectValues; the body's shape follows it")):
        declared = declared_length(request)
        async with bodies.reserve(declared if declared is not None else max_body_bytes):
            body = await read_body(request, declared)
            if isinstance(body, JSONResponse):
                return body
            if action == "getTimeseriesAspectValues":
                return await run_in_threadpool(timeseries_values, body)
            return await run_in_threadpool(ingest, body, action)

    @app.get("/aspects/{urn:path}")
    def get_aspect(urn: str, aspect: str | None = None, version: int = Query(0, ge=0, le=MAX_VERSION)):
        if not aspect:
            return error_response(400, "the aspect query parameter is required, e.g. ?aspect=datasetProperties&version=0")
        try:
            class_name = aspect_class(aspect)
        except UnknownAspect as exc:
            return error_response(400, str(exc))
        found = store.get_aspect(urn, aspect, version)
        if found is None:
            return error_response(404, f"no aspect {aspect} version {version} for {urn}")
        return {"urn": urn, "version": version, "aspect": {class_name: found["value"]}, **_stamps(found)}

    @app.get("/entitiesV2/{urn:path}")
    def get_entity(urn: str, aspects: str | None = None):
        found = {name: item for name, item in store.entity_aspects(urn).items()
                 if name in ASPECT_CLASSES and name not in TIMESERIES_ASPECTS}
        if aspects:  # DataHub's `aspects=List(a,b)` selector
            wanted = {a.strip() for a in aspects.removeprefix("List(").removesuffix(")").split(",") if a.strip()}
            found = {name: value for name, value in found.items() if name in wanted}
        if not found:
            return error_response(404, f"no entity {urn}")
        return {
            "urn": urn,
            "entityName": entity_type_of(urn),
            "aspects": {
                name: {"name": name, "type": "VERSIONED", "version": 0, "value": item["value"], **_stamps(item)}
                for name, item in found.items()
            },
        }

    return app


def listen(host: str, port: int) -> socket.socket:
    """Bind first, so a port in use is one clear line rather than a server log."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConnectionFailure(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(store_url: str | None, host: str, port: int, token: str | None, max_body_bytes: int) -> None:
    import uvicorn

    store = LiteStore(store_url)
    sock = listen(host, port)
    bound_port = sock.getsockname()[1]
    app = create_app(store, token=token, max_body_bytes=max_body_bytes)
    print(f"metadata service on http://{host}:{bound_port} (store {store.display_url}, "
          f"auth {'bearer token' if token else 'off'}); Ctrl-C stops it", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=30)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        store.close()
