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


class ConsoleSink(Sink):
    config_model = ConsoleSinkConfig

    def write(self, mcps, ack) -> None:
        out = sys.stdout
        for mcp in mcps:
            detail = summarize(mcp.aspect_name, mcp.aspect)
            out.write(f"{mcp.change_type} {mcp.entity_type} {mcp.entity_urn} {mcp.aspect_name}{' ' + detail if detail else ''}\n")
            ack(mcp)
        out.flush()
