"""The local metadata service: the part of DataHub's REST API that ingestion uses, over the embedded store.

Teams without a DataHub server point the `datahub-rest` sink (or any DataHub emitter) at it:
`GET /config`, `POST /aspects?action=ingestProposal|ingestProposalBatch`,
`GET /aspects/{urn}?aspect=NAME&version=N`, `POST /aspects?action=getTimeseriesAspectValues` and
`GET /entitiesV2/{urn}`. Aspects are answered keyed by DataHub's record class, as GMS keys them, so
DataHub's own `DataHubGraph` reads them. Errors are answered as GMS answers them
(`{"exceptionClass", "message", "status"}`): 401 without the bearer token when one is configured, 413
over the body limit, 422 for a proposal that does not validate, names an aspect GMS does not know, or
is a PATCH that cannot apply. Aspect versions and PATCH are kept and applied as GMS does (see `store.lite`).
"""

import hmac
import json
import socket
import sys
import threading
from datetime import timezone

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from ..core.aspect_classes import ASPECT_CLASSES, TIMESERIES_ASPECTS, UnknownAspect, aspect_class
from ..core.errors import ConnectionFailure, first_line
from ..core.mcp import MCP, PEGASUS, to_short_names
from ..core.secrets import redact
from ..core.urns import entity_type_of
from .aspect_patch import ACTOR, PATCH_CONTENT_TYPE, PatchError
from .lite import LiteStore

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
SUPPORTED_CHANGE_TYPES = {"UPSERT", "CREATE", "PATCH"}
_ERROR_CLASS = "com.linkedin.restli.server.RestLiServiceException"
JSON_CONTENT_TYPE = "application/json"


class ProposalError(ValueError):
    """A proposal that does not validate: answered with 422 and this message."""


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"exceptionClass": _ERROR_CLASS, "message": message, "status": status}, status_code=status)


def parse_proposal(obj, where: str) -> MCP:
    if not isinstance(obj, dict):
        raise ProposalError(f"{where}: expected an object, found {type(obj).__name__}")
    for key in ("entityType", "entityUrn", "aspectName", "aspect"):
        if key not in obj:
            raise ProposalError(f"{where}: required field {key} is missing")
    if not isinstance(obj["aspectName"], str) or not obj["aspectName"]:
        raise ProposalError(f"{where}: aspectName must be a non-empty string")
    try:
        aspect_class(obj["aspectName"])
    except UnknownAspect as exc:
        raise ProposalError(f"{where}: {exc}") from None
    urn, entity_type = obj["entityUrn"], obj["entityType"]
    if not isinstance(urn, str) or not urn.startswith("urn:li:") or urn.count(":") < 3:
        raise ProposalError(f"{where}: entityUrn {str(urn)[:100]!r} is not a urn:li: URN")
    if entity_type != entity_type_of(urn):
        raise ProposalError(f"{where}: entityType {entity_type!r} does not match the URN's type {entity_type_of(urn)!r}")
    change = obj.get("changeType", "UPSERT")
    if change not in SUPPORTED_CHANGE_TYPES:
        raise ProposalError(f"{where}: changeType {change!r} is not supported here "
                            "(UPSERT, PATCH, or CREATE, which this service stores as an UPSERT)")
    content_type = PATCH_CONTENT_TYPE if change == "PATCH" else JSON_CONTENT_TYPE
    aspect = obj["aspect"]
    if not isinstance(aspect, dict) or "value" not in aspect:
        raise ProposalError(f"{where}: aspect must be {{\"value\": \"<json>\", \"contentType\": \"{content_type}\"}}")
    if aspect.get("contentType", content_type) != content_type:
        raise ProposalError(f"{where}: aspect contentType {aspect.get('contentType')!r} is not {content_type} "
                            f"(changeType {change})")
    value = aspect["value"]
    if not isinstance(value, str):
        raise ProposalError(f"{where}: aspect value must be a JSON string")
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ProposalError(f"{where}: aspect value is not valid JSON ({first_line(exc)[:100]})") from None
    if change == "PATCH":
        if not isinstance(parsed, (list, dict)):
            raise ProposalError(f"{where}: a PATCH aspect value must be a JSON Patch array or {{\"patch\": [...]}}")
    elif not isinstance(parsed, dict):
        raise ProposalError(f"{where}: aspect value must be a JSON object")
    system = obj.get("systemMetadata") or {}
    if not isinstance(system, dict):
        raise ProposalError(f"{where}: systemMetadata must be an object")
    if PEGASUS in value:  # the long union-member spelling: store the short one, as REST uses it
        parsed = to_short_names(parsed)
    return MCP(entity_type=entity_type, entity_urn=urn, aspect_name=obj["aspectName"], aspect=parsed,
               change_type=change, system_metadata=system)


def _stamps(stored: dict) -> dict:
    """The creation stamp and system metadata of a stored aspect, as GMS answers them."""
    created = {"time": int(stored["created"].replace(tzinfo=timezone.utc).timestamp() * 1000), "actor": ACTOR}
    return {"created": created, **({"systemMetadata": stored["systemMetadata"]} if stored["systemMetadata"] else {})}


def timeseries_conditions(query_filter) -> list[tuple[str, set[str]]]:
    """(field, accepted texts) of a GMS filter made of EQUAL criteria in one conjunction, as DataHub's client sends them."""
    if not query_filter:
        return []
    clauses = query_filter.get("or") or [{"and": query_filter.get("criteria", [])}]
    if len(clauses) != 1:
        raise ValueError("only one conjunction of criteria is supported")
    conditions = []
    for criterion in clauses[0].get("and", []):
        if criterion.get("condition", "EQUAL") != "EQUAL":
            raise ValueError(f"condition {criterion.get('condition')!r} is not supported")
        values = criterion.get("values") or [criterion["value"]]
        conditions.append((criterion["field"], {str(v) for v in values}))
    return conditions


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
        """One transaction for the group; when a PATCH of one request cannot apply, each request again in
        its own transaction, in order, so only that request fails (a 422 for it alone)."""
        try:
            self.store.upsert_many([mcp for mcps in requests for mcp in mcps])
            return [None] * len(requests)
        except PatchError as exc:
            if len(requests) == 1:
                return [exc]
            return [self._write_alone(mcps) for mcps in requests]
        except Exception as exc:
            return [exc] * len(requests)

    def _write_alone(self, mcps: list[MCP]) -> Exception | None:
        try:
            self.store.upsert_many(mcps)
            return None
        except Exception as exc:
            return exc


def create_app(store: LiteStore, token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> FastAPI:
    app = FastAPI(title="ingest_assets metadata service", docs_url=None, redoc_url=None, openapi_url=None)
    writer = GroupCommitWriter(store)
    expected = f"Bearer {token}".encode() if token else None

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

    async def read_body(request: Request) -> bytes | JSONResponse:
        declared = request.headers.get("content-length")
        too_large = error_response(413, f"request body is larger than this service's limit of {max_body_bytes:,} bytes")
        if declared and declared.isdigit() and int(declared) > max_body_bytes:
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
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return error_response(400, f"request body is not JSON: {exc}")
        if not isinstance(payload, dict):
            return error_response(422, "request body must be a JSON object")
        try:
            if action == "ingestProposal":
                if "proposal" not in payload:
                    raise ProposalError("required field proposal is missing")
                mcps = [parse_proposal(payload["proposal"], "proposal")]
            else:
                proposals = payload.get("proposals")
                if not isinstance(proposals, list):
                    raise ProposalError("required field proposals (a list) is missing")
                mcps = [parse_proposal(p, f"proposals[{i}]") for i, p in enumerate(proposals)]
        except ProposalError as exc:
            return error_response(422, str(exc))
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
            query = json.loads(body)
            urn, aspect, limit = query["urn"], query["aspect"], int(query.get("limit", 10000))
            conditions = timeseries_conditions(query.get("filter"))
        except (ValueError, KeyError, TypeError) as exc:
            return error_response(400, f"a timeseries query needs urn, aspect and at most EQUAL filters ({first_line(exc)})")
        if aspect not in TIMESERIES_ASPECTS:
            return error_response(400, f"{aspect!r} is not a timeseries aspect (timeseries aspects: {', '.join(sorted(TIMESERIES_ASPECTS))})")
        found = [item for item in store.aspect_versions(urn, aspect) if all(
            str(item["value"].get(field)) in values for field, values in conditions)]
        found.sort(key=lambda item: item["value"].get("timestampMillis", 0), reverse=True)
        values = [{"aspect": {"value": json.dumps(item["value"]), "contentType": JSON_CONTENT_TYPE},
                   **({"systemMetadata": item["systemMetadata"]} if item["systemMetadata"] else {})}
                  for item in found[:limit]]
        return JSONResponse({"value": {"entityName": entity_type_of(urn), "aspectName": aspect,
                                       "limit": limit, "values": values}})

    @app.post("/aspects")
    async def aspects_action(request: Request, action: str = ""):
        if action not in ("ingestProposal", "ingestProposalBatch", "getTimeseriesAspectValues"):
            return error_response(400, f"unsupported action {action!r}; this service implements ingestProposal, "
                                       "ingestProposalBatch and getTimeseriesAspectValues")
        body = await read_body(request)
        if isinstance(body, JSONResponse):
            return body
        if action == "getTimeseriesAspectValues":
            return await run_in_threadpool(timeseries_values, body)
        return await run_in_threadpool(ingest, body, action)

    @app.get("/aspects/{urn:path}")
    def get_aspect(urn: str, aspect: str | None = None, version: int = 0):
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
