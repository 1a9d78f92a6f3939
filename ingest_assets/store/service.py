"""The local metadata service: the part of DataHub's REST API that ingestion uses, over the embedded store.

Teams without a DataHub server point the `datahub-rest` sink (or any DataHub emitter) at it:
`GET /config`, `POST /aspects?action=ingestProposal|ingestProposalBatch`,
`GET /aspects/{urn}?aspect=NAME&version=N` and `GET /entitiesV2/{urn}`. Errors are answered as
GMS answers them (`{"exceptionClass", "message", "status"}`): 401 without the bearer token when one
is configured, 413 over the body limit, 422 for a proposal that does not validate. Aspect versions
are kept as GMS keeps them (see `store.lite`).
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

from ..core.errors import ConnectionFailure, first_line
from ..core.mcp import MCP, PEGASUS, to_short_names
from ..core.secrets import redact
from ..core.urns import entity_type_of
from .lite import ACTOR, LiteStore

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
SUPPORTED_CHANGE_TYPES = {"UPSERT", "CREATE"}
_ERROR_CLASS = "com.linkedin.restli.server.RestLiServiceException"

ASPECT_CLASSES = {
    "browsePathsV2": "com.linkedin.common.BrowsePathsV2",
    "container": "com.linkedin.container.Container",
    "containerProperties": "com.linkedin.container.ContainerProperties",
    "dataPlatformInstance": "com.linkedin.common.DataPlatformInstance",
    "datasetProperties": "com.linkedin.dataset.DatasetProperties",
    "globalTags": "com.linkedin.common.GlobalTags",
    "glossaryTerms": "com.linkedin.common.GlossaryTerms",
    "ownership": "com.linkedin.common.Ownership",
    "schemaMetadata": "com.linkedin.schema.SchemaMetadata",
    "status": "com.linkedin.common.Status",
    "subTypes": "com.linkedin.common.SubTypes",
    "upstreamLineage": "com.linkedin.dataset.UpstreamLineage",
    "viewProperties": "com.linkedin.dataset.ViewProperties",
}


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
    urn, entity_type = obj["entityUrn"], obj["entityType"]
    if not isinstance(urn, str) or not urn.startswith("urn:li:") or urn.count(":") < 3:
        raise ProposalError(f"{where}: entityUrn {str(urn)[:100]!r} is not a urn:li: URN")
    if entity_type != entity_type_of(urn):
        raise ProposalError(f"{where}: entityType {entity_type!r} does not match the URN's type {entity_type_of(urn)!r}")
    change = obj.get("changeType", "UPSERT")
    if change not in SUPPORTED_CHANGE_TYPES:
        raise ProposalError(f"{where}: changeType {change!r} is not supported here (UPSERT, or CREATE, which this service stores as an UPSERT)")
    aspect = obj["aspect"]
    if not isinstance(aspect, dict) or "value" not in aspect:
        raise ProposalError(f"{where}: aspect must be {{\"value\": \"<json>\", \"contentType\": \"application/json\"}}")
    if aspect.get("contentType", "application/json") != "application/json":
        raise ProposalError(f"{where}: aspect contentType {aspect.get('contentType')!r} is not application/json")
    value = aspect["value"]
    if not isinstance(value, str):
        raise ProposalError(f"{where}: aspect value must be a JSON string")
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ProposalError(f"{where}: aspect value is not valid JSON ({first_line(exc)[:100]})") from None
    if not isinstance(parsed, dict):
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
                error = None
                try:
                    self.store.upsert_many([mcp for queued in group for mcp in queued[0]])
                except Exception as exc:
                    error = exc
                for queued in group:
                    queued[2] = error
                    queued[1].set()
        if item[2] is not None:
            raise item[2]


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
                "statefulIngestionCapable": False, "patchCapable": False, "retention": "true"}

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
        except SQLAlchemyError as exc:
            return error_response(500, redact(f"the metadata store refused the write: {first_line(exc)}"))
        if action == "ingestProposal":
            return JSONResponse({"value": mcps[0].entity_urn})
        return JSONResponse({"value": [m.entity_urn for m in mcps]})

    @app.post("/aspects")
    async def aspects_action(request: Request, action: str = ""):
        if action not in ("ingestProposal", "ingestProposalBatch"):
            return error_response(400, f"unsupported action {action!r}; this service implements ingestProposal and ingestProposalBatch")
        body = await read_body(request)
        if isinstance(body, JSONResponse):
            return body
        return await run_in_threadpool(ingest, body, action)

    @app.get("/aspects/{urn:path}")
    def get_aspect(urn: str, aspect: str | None = None, version: int = 0):
        if not aspect:
            return error_response(400, "the aspect query parameter is required, e.g. ?aspect=datasetProperties&version=0")
        found = store.get_aspect(urn, aspect, version)
        if found is None:
            return error_response(404, f"no aspect {aspect} version {version} for {urn}")
        return {"urn": urn, "version": version, "aspect": {ASPECT_CLASSES.get(aspect, aspect): found["value"]}, **_stamps(found)}

    @app.get("/entitiesV2/{urn:path}")
    def get_entity(urn: str, aspects: str | None = None):
        found = store.entity_aspects(urn)
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
