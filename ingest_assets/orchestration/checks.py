"""Asset checks that guard every pipeline, evaluated from the stage reports in the stage's own step.

- `<pipeline>/snapshot` `no_source_failures`: the source reported no failures (ERROR).
- `<pipeline>/snapshot` `snapshot_not_empty`: blocking. A snapshot with no datasets where the
  previous one had some means a wrong pattern or a lost grant, not an empty catalog: the mcps
  and sink stages must not run (they would retract everything). A source that never had datasets
  only warns. `IngestSettings.allow_empty` accepts an emptied source on purpose.
- `<pipeline>/mcps` `no_mcp_failures`: building and transforming MCPs reported no failures (blocking).
- `<pipeline>/<sink>` `no_sink_failures`: the sink acknowledged everything and reported no failures.
"""

import dagster as dg

from ..core.report import StageReport

NO_SOURCE_FAILURES = "no_source_failures"
SNAPSHOT_NOT_EMPTY = "snapshot_not_empty"
NO_MCP_FAILURES = "no_mcp_failures"
NO_SINK_FAILURES = "no_sink_failures"
DATASETS_KEY = "dataset records"


def snapshot_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(NO_SOURCE_FAILURES, asset=key, description="The source reported no failures."),
        dg.AssetCheckSpec(
            SNAPSHOT_NOT_EMPTY,
            asset=key,
            blocking=True,
            description="The snapshot holds datasets, unless the source never had any (blocks mcps and sink).",
        ),
    ]


def mcps_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(NO_MCP_FAILURES, asset=key, blocking=True, description="MCPs were built and transformed without failures.")]


def sink_check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(NO_SINK_FAILURES, asset=key, description="The sink acknowledged every MCP and reported no failures.")]


def _failure_text(report: StageReport | None, raised: str | None) -> str:
    lines = []
    if raised:
        lines.append(f"- {raised}")
    if report is not None:
        lines += [f"- {f}" for f in report.failures if f != raised]
        if report.failure_count > len(report.failures):
            lines.append(f"- … and {report.failure_count - len(report.failures)} more")
    return "\n".join(lines) or "none"


def failures_check(name: str, report: StageReport | None, raised: str | None = None) -> dg.AssetCheckResult:
    """Passes when the stage neither raised nor reported a failure; the failures are listed in the UI."""
    count = (report.failure_count if report else 0) + (1 if raised and (report is None or raised not in report.failures) else 0)
    return dg.AssetCheckResult(
        check_name=name,
        passed=count == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"failures": dg.MetadataValue.int(count), "details": dg.MetadataValue.md(_failure_text(report, raised))},
    )


def snapshot_not_empty_check(report: StageReport, previous_datasets: int | None, allow_empty: bool) -> dg.AssetCheckResult:
    datasets = int(report.counts.get(DATASETS_KEY, 0))
    metadata = {"datasets": dg.MetadataValue.int(datasets)}
    if previous_datasets is not None:
        metadata["previous datasets"] = dg.MetadataValue.int(previous_datasets)
    if datasets or allow_empty:
        return dg.AssetCheckResult(check_name=SNAPSHOT_NOT_EMPTY, passed=True, metadata=metadata)
    unexpected = bool(previous_datasets)
    metadata["why"] = dg.MetadataValue.text(
        f"the previous snapshot held {previous_datasets} datasets; set ingest.allow_empty to accept an emptied source"
        if unexpected
        else "the source has never held datasets in scope (check the recipe's patterns)"
    )
    return dg.AssetCheckResult(
        check_name=SNAPSHOT_NOT_EMPTY,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR if unexpected else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def previous_datasets(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None) -> int | None:
    """The dataset count of the last materialization of this snapshot (this partition), if any."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None), limit=1
    ).records
    if not records:
        return None
    entry = records[0].asset_materialization.metadata.get("datasets") if records[0].asset_materialization else None
    return int(entry.value) if entry is not None else None
