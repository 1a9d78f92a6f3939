"""Reading DataHub's file-sink output the way the tests compare it: one aspect per (urn, aspect name)."""

from ingest_assets.core.mcp import to_short_names


def without_run_times(key: tuple[str, str], aspect: dict) -> dict:
    """The aspect with the run's time that DataHub stamps in (ours stay 0, so unchanged aspects hash the same)."""
    if key[1] == "upstreamLineage":
        for upstream in aspect["upstreams"]:
            upstream["auditStamp"]["time"] = 0
    if key[1] == "queryProperties":
        aspect["lastModified"]["time"] = 0
    return aspect


def file_aspects(records: list[dict]) -> dict[tuple[str, str], dict]:
    """(urn, aspect name) -> aspect, for MCPs and for the aspects inside MCE snapshot records alike; union members under
    the `com.linkedin.*` names MCPs use (MCE snapshots spell them `com.linkedin.pegasus2avro.*`)."""
    found = {}
    for item in records:
        if "proposedSnapshot" in item:
            snapshot = next(iter(item["proposedSnapshot"].values()))
            for wrapped in snapshot["aspects"]:
                (class_name, aspect), = wrapped.items()
                short = class_name.rsplit(".", 1)[1]
                found[(snapshot["urn"], short[0].lower() + short[1:])] = to_short_names(aspect)
        else:
            found[(item["entityUrn"], item["aspectName"])] = to_short_names(item["aspect"]["json"])
    return found
