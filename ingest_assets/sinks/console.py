"""One readable line per MCP on standard output."""

import sys

from ..core.plugin import PluginConfig, Sink


class ConsoleSinkConfig(PluginConfig):
    pass


def summarize(aspect_name: str, aspect: dict) -> str:
    if aspect_name == "schemaMetadata":
        return f"{len(aspect.get('fields', []))} fields"
    if aspect_name in ("datasetProperties", "containerProperties"):
        return repr(aspect.get("name", ""))
    if aspect_name == "subTypes":
        return ",".join(aspect.get("typeNames", []))
    if aspect_name == "status":
        return "removed" if aspect.get("removed") else "present"
    if aspect_name == "upstreamLineage":
        return f"{len(aspect.get('upstreams', []))} upstreams, {len(aspect.get('fineGrainedLineages', []))} column edges"
    return ""


def patch_operations(patch) -> list:
    """A PATCH aspect's operations: a JSON Patch array, or DataHub's `{"arrayPrimaryKeys": ..., "patch": [...]}`."""
    return patch.get("patch", []) if isinstance(patch, dict) else patch


class ConsoleSink(Sink):
    config_model = ConsoleSinkConfig

    def write(self, mcps, ack) -> None:
        out = sys.stdout
        for mcp in mcps:
            detail = f"{len(patch_operations(mcp.aspect))} operations" if mcp.change_type == "PATCH" else summarize(mcp.aspect_name, mcp.aspect)
            out.write(f"{mcp.change_type} {mcp.entity_type} {mcp.entity_urn} {mcp.aspect_name}{' ' + detail if detail else ''}\n")
            ack(mcp)
        out.flush()
