"""URN builders with DataHub's exact rules, so our entities merge with those DataHub creates."""

import hashlib
import json
import re
from functools import lru_cache

from .records import Location


def entity_type_of(urn: str) -> str:
    """`dataset` for `urn:li:dataset:(...)`."""
    parts = urn.split(":", 3)
    return parts[2] if len(parts) > 2 else "unknown"


def platform_urn(platform: str) -> str:
    return f"urn:li:dataPlatform:{platform}"


def platform_instance_urn(platform: str, instance: str) -> str:
    return f"urn:li:dataPlatformInstance:({platform_urn(platform)},{instance})"


_RESERVED = {",": "%2C", "(": "%28", ")": "%29", "\u241f": "%E2%90%9F"}


def urn_part(value: str) -> str:
    """A name inside a URN's tuple with the characters DataHub reserves (`,` `(` `)` `␟`) percent-encoded, as DataHub
    encodes them; every other character stays as it is."""
    return "".join(_RESERVED.get(ch, ch) for ch in value) if any(ch in _RESERVED for ch in value) else value


def dataset_name(database: str, table: str, schema: str | None = None, instance: str | None = None) -> str:
    return ".".join(part for part in (instance, database, schema, table) if part is not None)


def dataset_urn(platform: str, name: str, env: str = "PROD") -> str:
    return f"urn:li:dataset:({platform_urn(platform)},{urn_part(name)},{env})"


def schema_field_urn(dataset: str, field_path: str) -> str:
    return f"urn:li:schemaField:({dataset},{urn_part(field_path)})"


def tag_urn(name: str) -> str:
    return name if name.startswith("urn:li:tag:") else f"urn:li:tag:{name}"


def container_guid(properties: dict[str, str]) -> str:
    """DataHub's container GUID: md5 of the compact, key-sorted JSON of the key's properties."""
    payload = json.dumps(properties, sort_keys=True, separators=(",", ":"))
    return hashlib.md5(payload.encode("utf-8")).hexdigest()


def container_key(platform: str, database: str, env: str, instance: str | None, schema: str | None = None) -> dict[str, str]:
    """The properties DataHub hashes for a database (or schema) container; instance falls back to env."""
    key = {"platform": platform, "instance": instance or env, "database": database}
    if schema is not None:
        key["schema"] = schema
    return key


@lru_cache(maxsize=1024)
def container_urn(platform: str, database: str, env: str = "PROD", instance: str | None = None, schema: str | None = None) -> str:
    return f"urn:li:container:{container_guid(container_key(platform, database, env, instance, schema))}"


_DATASET_URN = re.compile(r"(urn:li:dataset:\(urn:li:dataPlatform:[^,()\"]+,)([^,()\"]+)(,[A-Za-z]+\))")


def lowercase_dataset_urns(text: str) -> str:
    """Every dataset URN in `text` (a URN, or an aspect's JSON) with its name lowercased, as DataHub's
    `convert_urns_to_lowercase` rewrites them: the URNs inside schema fields, lineage and keys too."""
    return _DATASET_URN.sub(lambda m: m.group(1) + m.group(2).lower() + m.group(3), text)


def procedure_flow_name(database: str, schema: str | None = None) -> str:
    """`<db>.stored_procedures` (`<db>.<schema>.stored_procedures` where schemas exist): the flow's name, without instance."""
    return ".".join(p for p in (database, schema) if p is not None) + ".stored_procedures"


def data_flow_urn(location: Location, database: str, schema: str | None = None) -> str:
    """The flow's URN: orchestrator is the platform, cluster the env, and a platform instance prefixes the flow id."""
    flow_id = ".".join(p for p in (location.instance, procedure_flow_name(database, schema)) if p)
    return f"urn:li:dataFlow:({location.platform},{urn_part(flow_id)},{location.env})"


def data_job_urn(location: Location, database: str, schema: str | None, name: str) -> str:
    return f"urn:li:dataJob:({data_flow_urn(location, database, schema)},{urn_part(name)})"
