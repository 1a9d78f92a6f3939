"""A Confluent-compatible schema registry, served by the local metadata service under `/schema-registry/api/`.

DataHub's GMS serves one for its own topics, so a team with Kafka but no Confluent registry can run
the async path; `ingest-assets serve` does the same. It answers the part of Confluent's REST API
that producers, deserializers and their clients use: register (`POST /subjects/{s}/versions`),
look up (`POST /subjects/{s}`), a schema by id, a subject's versions and its latest, the subject
list, and the compatibility config (always NONE: a new version is kept whatever it changes).

Ids are global and stable: they live in the store's database beside the aspects, because every
message on a topic names its writer schema by id and must stay readable after a restart. Two
registrations of one schema (equal in Avro's Parsing Canonical Form, whatever their docs or
spacing) get one id, as Confluent's registry does; that is how DataHub's emitter, which registers
its documented schema text, and our sink, which registers the bare layout, share an id.
The MCP and failed-MCP subjects are registered when the service starts, so a consumer can
decode before any producer has run. Avro only; schema references are refused.
"""

import json
import threading

import fastavro
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastavro.schema import SchemaParseException, to_parsing_canonical_form
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, func, select
from sqlalchemy.engine import Engine

from ..core.mcp_avro import FAILED_MCP_SCHEMA, FAILED_MCP_TOPIC, MCP_SCHEMA, MCP_TOPIC, subject_of

PREFIX = "/schema-registry/api"
MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"

metadata = MetaData()
schemas_table = Table(
    "schema_registry_schemas", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("canonical", Text, nullable=False),
    Column("schema", Text, nullable=False),
)
versions_table = Table(
    "schema_registry_versions", metadata,
    Column("subject", String(255), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("schema_id", Integer, nullable=False),
)


class RegistryError(Exception):
    """An answer in Confluent's error form: HTTP status and its `error_code`."""

    def __init__(self, status: int, error_code: int, message: str):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


def subject_not_found(subject: str) -> RegistryError:
    return RegistryError(404, 40401, f"Subject '{subject[:200]}' not found.")


def canonical_form(schema_text: str) -> str:
    """Avro's Parsing Canonical Form of a schema's text, or RegistryError 42201 saying why it is not one."""
    try:
        parsed = json.loads(schema_text)
        return to_parsing_canonical_form(fastavro.parse_schema(parsed, _write_hint=False))
    except (ValueError, TypeError, KeyError, SchemaParseException) as exc:
        raise RegistryError(422, 42201, f"Invalid schema: {str(exc)[:300]}") from None


class SchemaRegistry:
    """Subjects, versions and globally numbered schemas in two tables; writes are serialized in-process."""

    def __init__(self, engine: Engine):
        self.engine = engine
        metadata.create_all(engine)
        self._lock = threading.Lock()

    def register(self, subject: str, schema_text: str) -> tuple[int, int]:
        """(schema id, version): the existing ones when the subject already holds this schema."""
        canonical = canonical_form(schema_text)
        with self._lock, self.engine.begin() as connection:
            schema_id = connection.execute(
                select(schemas_table.c.id).where(schemas_table.c.canonical == canonical).order_by(schemas_table.c.id)
            ).scalar()
            if schema_id is None:
                schema_id = (connection.execute(select(func.max(schemas_table.c.id))).scalar() or 0) + 1
                connection.execute(schemas_table.insert().values(id=schema_id, canonical=canonical, schema=schema_text))
            version = connection.execute(select(versions_table.c.version).where(
                versions_table.c.subject == subject, versions_table.c.schema_id == schema_id)).scalar()
            if version is None:
                version = (connection.execute(select(func.max(versions_table.c.version)).where(
                    versions_table.c.subject == subject)).scalar() or 0) + 1
                connection.execute(versions_table.insert().values(subject=subject, version=version, schema_id=schema_id))
        return schema_id, version

    def schema(self, schema_id: int) -> str:
        if not 0 < schema_id < 2 ** 31:  # ids are 4 bytes in Confluent framing; a larger number would overflow the column
            raise RegistryError(404, 40403, f"Schema {str(schema_id)[:40]} not found")
        with self.engine.connect() as connection:
            text = connection.execute(select(schemas_table.c.schema).where(schemas_table.c.id == schema_id)).scalar()
        if text is None:
            raise RegistryError(404, 40403, f"Schema {schema_id} not found")
        return text

    def subjects(self) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(versions_table.c.subject).distinct().order_by(versions_table.c.subject)).scalars())

    def versions(self, subject: str) -> list[int]:
        with self.engine.connect() as connection:
            found = list(connection.execute(select(versions_table.c.version).where(
                versions_table.c.subject == subject).order_by(versions_table.c.version)).scalars())
        if not found:
            raise subject_not_found(subject)
        return found

    def version(self, subject: str, version: str) -> dict:
        """One version of a subject (`latest` or -1 for the newest) as Confluent answers it."""
        known = self.versions(subject)
        if version in ("latest", "-1"):
            number = known[-1]
        elif version.isdigit() and int(version) in known:
            number = int(version)
        else:
            raise RegistryError(404, 40402, f"Version {version[:40]} not found.")
        with self.engine.connect() as connection:
            schema_id = connection.execute(select(versions_table.c.schema_id).where(
                versions_table.c.subject == subject, versions_table.c.version == number)).scalar_one()
        return {"subject": subject, "version": number, "id": schema_id, "schema": self.schema(schema_id)}

    def lookup(self, subject: str, schema_text: str) -> dict:
        """The version of `subject` holding this schema (POST /subjects/{subject})."""
        canonical = canonical_form(schema_text)
        self.versions(subject)
        with self.engine.connect() as connection:
            row = connection.execute(
                select(versions_table.c.version, versions_table.c.schema_id)
                .join(schemas_table, schemas_table.c.id == versions_table.c.schema_id)
                .where(versions_table.c.subject == subject, schemas_table.c.canonical == canonical)
            ).first()
        if row is None:
            raise RegistryError(404, 40403, "Schema not found")
        return {"subject": subject, "version": row.version, "id": row.schema_id, "schema": self.schema(row.schema_id)}

    def register_datahub_subjects(self) -> None:
        """The subjects of the MCP topic and its failed topic, with the records this project writes."""
        self.register(subject_of(MCP_TOPIC), json.dumps(MCP_SCHEMA))
        self.register(subject_of(FAILED_MCP_TOPIC), json.dumps(FAILED_MCP_SCHEMA))


def _answer(content, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status, media_type=MEDIA_TYPE)


async def _schema_request(request: Request) -> str:
    """The `schema` of a register or lookup body; Avro only, no references."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise RegistryError(400, 400, "the request body is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
        raise RegistryError(422, 42201, "Invalid schema: the body needs a 'schema' string")
    if body.get("schemaType", "AVRO") != "AVRO":
        raise RegistryError(422, 42201, f"Invalid schema: schemaType {str(body.get('schemaType'))[:40]!r} is not supported "
                                        "here (AVRO only)")
    if body.get("references"):
        raise RegistryError(422, 42201, "Invalid schema: schema references are not supported here")
    return body["schema"]


def registry_router(registry: SchemaRegistry) -> APIRouter:
    """The registry's routes; the caller decides where they are mounted (`PREFIX` in the service)."""
    router = APIRouter(prefix=PREFIX, tags=["schema registry"])

    @router.get("/subjects")
    def list_subjects():
        return _answer(registry.subjects())

    @router.get("/subjects/{subject}/versions")
    def list_versions(subject: str):
        return _answer(registry.versions(subject))

    @router.get("/subjects/{subject}/versions/{version}")
    def get_version(subject: str, version: str):
        return _answer(registry.version(subject, version))

    @router.get("/subjects/{subject}/versions/{version}/schema")
    def get_version_schema(subject: str, version: str):
        return Response(registry.version(subject, version)["schema"], media_type=MEDIA_TYPE)

    @router.post("/subjects/{subject}/versions")
    async def register(subject: str, request: Request):
        schema_id, version = registry.register(subject, await _schema_request(request))
        return _answer({"id": schema_id, "version": version, "subject": subject})

    @router.post("/subjects/{subject}")
    async def lookup(subject: str, request: Request):
        return _answer(registry.lookup(subject, await _schema_request(request)))

    @router.get("/schemas/ids/{schema_id}")
    def get_schema(schema_id: int):
        return _answer({"schema": registry.schema(schema_id)})

    @router.get("/schemas/ids/{schema_id}/schema")
    def get_raw_schema(schema_id: int):
        return Response(registry.schema(schema_id), media_type=MEDIA_TYPE)

    @router.get("/schemas/types")
    def schema_types():
        return _answer(["AVRO"])

    @router.get("/config")
    def config():
        return _answer({"compatibilityLevel": "NONE"})

    @router.get("/config/{subject}")
    def subject_config(subject: str):
        registry.versions(subject)
        return _answer({"compatibilityLevel": "NONE"})

    return router


def registry_error_response(_request: Request, exc: RegistryError) -> JSONResponse:
    return _answer({"error_code": exc.error_code, "message": exc.message}, exc.status)
