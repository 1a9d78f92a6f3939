"""The three stages of a pipeline run as plain functions over hand-over files.

snapshot: source -> snapshot.jsonl; mcps: snapshot.jsonl -> mcps.jsonl; sink: mcps.jsonl -> sink.
The Dagster assets and therefore the CLI call these; each stage writes a report beside its output.
"""

import gc
import hashlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import orjson
from sqlalchemy.exc import SQLAlchemyError

from .core import aspects as aspects_module
from .core import mcp as mcp_module
from .core import urns as urns_module
from .core.aspects import record_mcps
from .core.errors import IngestError, SinkFailure, SourceFailure, first_line
from .core.handover import read_lines, write_lines
from .core.mcp import MCP
from .core.plugin import Source
from .core.previous_snapshot import PreviousViews
from .core.recipe import LoadedRecipe
from .core.records import (
    FLOW_KIND,
    PROCEDURE_KIND,
    DatasetRecord,
    McpRecord,
    ProcedureFlowRecord,
    ProcedureRecord,
    ScopeRecord,
    record_from_json,
    record_to_json,
)
from .core.report import StageReport
from .core.secrets import redact
from .core.state_diff import (
    EntityInfo,
    EntityState,
    RemovalDecision,
    Scope,
    StateDiff,
    mcp_digest,
    record_digest,
)
from .core.urns import dataset_name, lowercase_dataset_urns
from .store.database import instance_home
from .store.state import StateStore

log = logging.getLogger("ingest_assets")


def artifacts_root() -> Path:
    """Where stage files live: INGEST_ARTIFACTS_DIR, else beside the Dagster instance, else ~/.ingest_assets."""
    if os.environ.get("INGEST_ARTIFACTS_DIR"):
        return Path(os.environ["INGEST_ARTIFACTS_DIR"])
    return instance_home() / "artifacts"


@dataclass(frozen=True)
class RunFiles:
    """The hand-over files of one pipeline (one partition, where partitioned)."""

    directory: Path

    @classmethod
    def for_pipeline(cls, pipeline: str, base: Path | None = None, partition: str | None = None) -> "RunFiles":
        directory = (base or artifacts_root()) / pipeline
        if partition:
            directory = directory / "partitions" / partition
        return cls(directory)

    @property
    def snapshot(self) -> Path:
        return self.directory / "snapshot.jsonl"

    @property
    def mcps(self) -> Path:
        return self.directory / "mcps.jsonl"

    @property
    def snapshot_key(self) -> Path:
        """The source's `carry_over_key()` that snapshot.jsonl was written with (absent: nothing is carried over)."""
        return self.directory / "snapshot.key"

    def report(self, stage: str) -> Path:
        return self.directory / f"{stage}.report.json"


def _unexpected(what: str, exc: Exception) -> str:
    return redact(f"{what}: {type(exc).__name__}: {first_line(exc)}")


@contextmanager
def _failures_reported(report: StageReport, path: Path, what: str, failure: type[IngestError], before_save=None):
    """Any exception is recorded in the stage's saved report and leaves as one line: ours as they are, a
    bug or an unexpected driver error as `failure` ("<what>: <type>: <first line>", secrets redacted)."""
    try:
        yield
    except Exception as exc:
        expected = isinstance(exc, IngestError)
        message = str(exc) if expected else _unexpected(what, exc)
        report.fail(message)
        if before_save is not None:
            before_save()
        report.finish().save(path)
        if expected:
            raise
        raise failure(message) from None


@contextmanager
def collector_spared():
    """Keep Python's cycle collector off the objects that outlive the stage while the stage runs.

    A stage allocates millions of short-lived objects (100,000 columns at 5,000 tables, each a
    few dicts), and every full collection would walk the hundreds of thousands of objects the
    imports left alive, Dagster's most of all. `gc.freeze` parks those for the stage and
    `gc.unfreeze` hands them back, so nothing lives longer than it would have.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_snapshot(loaded: LoadedRecipe, files: RunFiles, preview: int = 0, only_database: str | None = None) -> StageReport:
    """Stream the source's records into snapshot.jsonl; `preview` stops after that many datasets.

    `only_database` (a partitioned run) limits the source to that one database.
    """
    report = StageReport("snapshot")
    for notice in loaded.notices:
        report.warn(notice)
    source = loaded.source_class(loaded.source_config, report)
    if only_database:
        source.only_database = only_database
    carry_over_key, previous_key = source.carry_over_key(), _take_carry_over_key(files)
    if carry_over_key is not None and carry_over_key == previous_key:
        source.previous_views = PreviousViews(files.snapshot)
    log.info("snapshot: reading %s source", loaded.recipe.source.type)
    datasets = 0
    try:
        with _failures_reported(report, files.report("snapshot"), f"{loaded.recipe.source.type} source failed", SourceFailure), \
                write_lines(files.snapshot) as write, closing(source.previous_views) if source.previous_views else nullcontext():
            for record in source.extract():
                if record.kind == "scope" and preview:
                    continue
                write(record_to_json(record))
                report.count(f"{record.kind} records")
                if isinstance(record, DatasetRecord):
                    datasets += 1
                    if preview and datasets >= preview:
                        report.warn(f"preview: stopped after {preview} datasets")
                        break
        if carry_over_key is not None:  # only once the snapshot is in place: it names what that file holds
            files.snapshot_key.write_text(carry_over_key)
    finally:
        source.close()
    report.finish().save(files.report("snapshot"))
    log.info("snapshot: %d datasets in %.2f s", datasets, report.duration)
    return report


def _take_carry_over_key(files: RunFiles) -> str | None:
    """The key the snapshot in place was written with, removed until a new snapshot replaces it whole."""
    try:
        key = files.snapshot_key.read_text().strip()
        files.snapshot_key.unlink()
    except OSError:
        return None
    return key if files.snapshot.exists() else None


def _stamp(mcps, run_id: str, pipeline: str):
    """DataHub's system metadata, in its field order and with its `lastRunId` default, so that DataHub's classes
    read each MCP and write it back unchanged."""
    stamp = {"lastObserved": int(time.time() * 1000), "runId": run_id, "lastRunId": "no-run-id-provided", "pipelineName": pipeline}
    for mcp in mcps:
        mcp.system_metadata = stamp  # one dict for the run's MCPs: nothing changes it, each line serializes it
        yield mcp.seal()


def state_store_for(loaded: LoadedRecipe, state_url: str | None = None) -> StateStore:
    """The `ingest` resource's `state_url` (deployment-wide), else the recipe's `state.url`, else INGEST_STATE_URL, else embedded."""
    recipe_url = loaded.recipe.state.url if loaded.recipe.state else None
    return StateStore(state_url or recipe_url or None)


def _lease_name(loaded: LoadedRecipe, partition: str | None) -> str:
    """Partitions of one pipeline cover disjoint databases, so each has its own lease."""
    return f"{loaded.pipeline_name}[{partition}]" if partition else loaded.pipeline_name


def pending_state_path(files: RunFiles) -> Path:
    """The state the mcps stage computed, committed by the sink stage once everything was acknowledged.

    Kept after the commit: it always pairs with mcps.jsonl, so re-running the sink alone re-commits the same state.
    """
    return files.directory / "state.pending.jsonl"


def _lowercase_urns(loaded: LoadedRecipe) -> bool:
    """DataHub's `convert_urns_to_lowercase` source key: every dataset URN of the run's MCPs lowercased."""
    return bool(getattr(loaded.source_config, "convert_urns_to_lowercase", False))


def _builders_fingerprint(loaded: LoadedRecipe) -> bytes:
    """What turns a record into MCPs besides the record: the aspect builders' code, the transformers' configs and
    whether dataset URNs are lowercased."""
    digest = hashlib.sha256(b"lowercase URNs" if _lowercase_urns(loaded) else b"")
    for module in (aspects_module, mcp_module, urns_module):
        digest.update(Path(module.__file__).read_bytes())
    for plugin, config in loaded.transformers:
        digest.update(f"{plugin.__module__}.{plugin.__qualname__}".encode())
        digest.update(config.model_dump_json().encode())
    return digest.digest()


def _snapshot_mcps(files: RunFiles, infos: dict[str, EntityInfo], scopes: list[Scope], diff: StateDiff, fingerprint: bytes,
                   lowercase_urns: bool = False):
    """The snapshot's MCPs, noting each entity's scope, name, kind and record (filters, removal and skipping need them).

    A record whose digest matches the one every entity of it was stored from is not even parsed:
    nothing in it changed, and an unchanged catalog costs reading the snapshot file, not rebuilding it.
    """
    shared_scopes: dict[tuple, Scope] = {}
    lines = read_lines(files.snapshot)
    while chunk := list(islice(lines, 500)):
        digests = [record_digest(fingerprint, line.rstrip(b"\n")) for line in chunk]
        unchanged = diff.unchanged_records(digests)
        for line, digest in zip(chunk, digests):
            if digest in unchanged:
                continue
            record = record_from_json(line)
            if isinstance(record, McpRecord):  # ready-made: no scope, no record digest, compared aspect by aspect
                yield MCP.from_obj(record.mcp, long_names=b"pegasus2avro" in line)
                continue
            loc = record.location
            if isinstance(record, DatasetRecord):
                database, schema = record.table.database, record.table.schema_name
                name = dataset_name(database, record.table.name, schema)
                kind = record.subtype
            elif isinstance(record, ProcedureRecord):
                database, schema = record.database, record.schema_name
                name, kind = dataset_name(database, record.name, schema), PROCEDURE_KIND
            elif isinstance(record, ProcedureFlowRecord):
                database, schema = record.database, record.schema_name
                name, kind = dataset_name(database, "stored_procedures", schema), FLOW_KIND
            else:
                database, schema = record.database, record.schema_name
                name, kind = schema or database, "Schema" if schema is not None else "Database"
            key = (loc.platform, loc.env, loc.instance, database, schema)
            scope = shared_scopes.setdefault(key, Scope(*key))
            if isinstance(record, ScopeRecord):
                scopes.append(scope)
                continue
            mcps = list(record_mcps(record))
            if lowercase_urns:
                mcps = [MCP(m.entity_type, lowercase_dataset_urns(m.entity_urn), m.aspect_name,
                            aspect_text=lowercase_dataset_urns(m.aspect_text())) for m in mcps]
            info = EntityInfo(scope, name, kind, digest, len({mcp.entity_urn for mcp in mcps}))
            for mcp in mcps:
                infos.setdefault(mcp.entity_urn, info)
                yield mcp


def still_wanted_by(source: Source) -> Callable[[EntityState], bool]:
    """Whether the source's current filters still include an entity seen before (else it is out of scope)."""
    def wanted(entity: EntityState) -> bool:
        info = entity.info
        scope = info.scope
        if scope is None:
            return False
        prefix = ".".join(p for p in (scope.database, scope.schema) if p is not None)
        table = None
        if info.kind in ("Table", "View", PROCEDURE_KIND) and info.name and info.name.startswith(prefix + "."):
            table = info.name[len(prefix) + 1:]
        return source.wants(scope.database, scope.schema, table, info.kind or "")

    return wanted


def _catalog_location(scopes: list[Scope], partition: str | None) -> Scope | None:
    """The run listed every database of its platform/env/instance: a full run that enumerated some scope."""
    if partition or not scopes:
        return None
    return scopes[0]


def _source_failed(files: RunFiles) -> bool:
    path = files.report("snapshot")
    if not path.exists():
        return True
    return StageReport.load(path).failure_count > 0


def run_mcps(
    loaded: LoadedRecipe,
    files: RunFiles,
    run_id: str,
    *,
    full_refresh: bool = False,
    allow_mass_removal: bool = False,
    state_url: str | None = None,
    partition: str | None = None,
) -> StageReport:
    """Build the run's MCPs and keep only what the sink does not already hold, plus soft-deletes of stale entities.

    Writes mcps.jsonl (what to send) and state.pending.jsonl (the state to commit once the sink
    acknowledged all of it).
    """
    report = StageReport("mcps")
    run_id = loaded.recipe.run_id or run_id
    store = state_store_for(loaded, state_url)
    try:
        with _failures_reported(report, files.report("mcps"), "building MCPs failed", SourceFailure), \
                store.lease(_lease_name(loaded, partition)), write_lines(files.mcps) as write, \
                write_lines(pending_state_path(files)) as write_state:
            # both files appear together, or neither: the sink stage commits the one with the other
            write_state(orjson.dumps({"run_id": run_id, "pipeline": loaded.pipeline_name}))
            recover_acknowledged(files, store, loaded.pipeline_name, report)

            def pending(entity: EntityState, merge: bool) -> None:
                write_state(orjson.dumps({**entity.to_json(), "merge": merge}))

            diff = StateDiff(store.view(loaded.pipeline_name), full_refresh=full_refresh, on_changed=pending)
            infos: dict[str, EntityInfo] = {}
            scopes: list[Scope] = []
            stream = _snapshot_mcps(files, infos, scopes, diff, _builders_fingerprint(loaded), _lowercase_urns(loaded))
            for plugin, config in loaded.transformers:
                stream = plugin(config, report).transform(stream)
            stamped = _stamp(stream, run_id, loaded.pipeline_name)
            sent: Counter = Counter()
            for mcp in diff.select((mcp, infos.pop(mcp.entity_urn, None)) for mcp in stamped):
                write(mcp.to_line())
                sent[mcp.entity_type, mcp.aspect_name] += 1
            for (entity_type, aspect_name), count in sent.items():
                report.count(f"aspects {entity_type}/{aspect_name}", count)
                report.count("mcps", count)
            decision = RemovalDecision([], 0, 0)
            if loaded.stateful.removes_stale:
                decision = diff.removals(
                    scopes, still_wanted_by(loaded.source_class(loaded.source_config, report)), _source_failed(files),
                    loaded.stateful.fail_safe_threshold, allow_mass_removal,
                    _catalog_location(scopes, partition),
                )
            for mcp in _stamp(diff.removal_mcps(decision), run_id, loaded.pipeline_name):
                write(mcp.to_line())
                report.count(f"entities removed {mcp.entity_type}")
                report.count("entities removed")
                report.count("mcps")
            for entity in diff.removed_states(decision):
                pending(entity, False)
    finally:
        store.close()
    if decision.warning:
        report.warn(decision.warning)
    for key, value in diff.counts.items():
        report.count(key, value)
    report.count("aspects built", sum(diff.counts[k] for k in ("aspects new", "aspects changed", "aspects unchanged")))
    report.counts.setdefault("mcps", 0)
    report.count("entities in removal scope", decision.in_scope)
    report.extra["state"] = {"store": store.display_url, "full_refresh": full_refresh,
                             "remove_stale": loaded.stateful.removes_stale, "scopes": len(scopes)}
    report.finish().save(files.report("mcps"))
    log.info("mcps: %d of %d aspects to send (%d unchanged), %d soft-deletes, in %.2f s", report.counts["mcps"],
             report.counts["aspects built"], diff.counts["aspects unchanged"], len(decision.entities), report.duration)
    return report


def _read_pending(files: RunFiles) -> tuple[dict, Iterator[tuple[EntityState, bool]]]:
    """The pending state's header and a stream of (entity, merge) (never all in memory)."""
    path = pending_state_path(files)
    if not path.exists():  # the mcps stage writes it with mcps.jsonl: only a hand-edited folder lacks it
        raise SinkFailure(f"{path} is missing: the state does not advance (the next run re-sends what this one sent)")
    lines = read_lines(path)
    meta = orjson.loads(next(lines))
    return meta, ((EntityState.from_json(data), bool(data.get("merge"))) for data in map(orjson.loads, lines))


def acknowledged_path(files: RunFiles) -> Path:
    """What the sink acknowledged so far in a run that has not finished; left behind only by a run that died."""
    return files.directory / "sink.acknowledged.jsonl"


def _acknowledged_chunks(path: Path, size: int = 5000) -> Iterator[dict[str, dict[str, str]]]:
    chunk: dict[str, dict[str, str]] = {}
    for line in read_lines(path):
        try:
            urn, aspect, digest = orjson.loads(line)
        except (orjson.JSONDecodeError, ValueError):  # the last line of a process killed while writing it
            continue
        chunk.setdefault(urn, {})[aspect] = digest
        if len(chunk) >= size:
            yield chunk
            chunk = {}
    if chunk:
        yield chunk


class AcknowledgementLog:
    """The aspects a sink acknowledged, one line each, durable in batches so a run killed mid-sink loses none of them.

    A sink that knows where its requests end (the REST sink) calls `flush()` after each acknowledged request;
    any other is flushed at least every `FLUSH_SECONDS`. A flush hands the lines to the OS, which keeps them
    through a `kill -9`; an fsync, at most every `FSYNC_SECONDS`, keeps them through a power cut without
    paying a disk sync per request. The next run records what a dead run left (`recover_acknowledged`).
    """

    FLUSH_SECONDS = 0.25
    FSYNC_SECONDS = 1.0

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self._file = open(path, "wb", buffering=1 << 16)
        self._lock = threading.Lock()
        self._flushed_at = self._synced_at = time.monotonic()

    def __call__(self, mcp: MCP) -> None:
        line = orjson.dumps([mcp.entity_urn, mcp.aspect_name, mcp_digest(mcp)]) + b"\n"
        with self._lock:
            self._file.write(line)
            self.count += 1
            if time.monotonic() - self._flushed_at >= self.FLUSH_SECONDS:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._file.closed:
            return
        self._file.flush()
        now = self._flushed_at = time.monotonic()
        if now - self._synced_at >= self.FSYNC_SECONDS:
            os.fsync(self._file.fileno())
            self._synced_at = now

    def close(self) -> None:
        with self._lock:
            self._file.close()


def recover_acknowledged(files: RunFiles, store: StateStore, pipeline: str, report: StageReport) -> None:
    """Record in the state what the sink acknowledged in a run that died before its sink stage ended (a `kill -9`),
    so this run sends only what the sink does not hold yet. Called under the pipeline's lease."""
    path = acknowledged_path(files)
    if not path.exists():
        return
    recorded = sum(store.record_acknowledged(pipeline, chunk) for chunk in _acknowledged_chunks(path))
    path.unlink()
    if recorded:
        report.count("aspects acknowledged by an interrupted run", recorded)
        report.warn(f"the previous run ended inside its sink stage; {recorded:,} aspects it had sent were recorded "
                    "in the state and are not sent again")


def run_sink(loaded: LoadedRecipe, files: RunFiles, *, state_url: str | None = None, partition: str | None = None) -> StageReport:
    """Send mcps.jsonl to the sink; raise SinkFailure unless every MCP was acknowledged.

    State: a fully acknowledged run commits the state the mcps stage computed (one transaction);
    a failed one records only the aspects the sink did acknowledge, so the next run re-sends the rest.
    """
    report = StageReport("sink")
    store = state_store_for(loaded, state_url)
    try:
        with store.lease(_lease_name(loaded, partition)):
            return _send_and_commit(loaded, files, report, store)
    finally:
        store.close()


def _send_and_commit(loaded: LoadedRecipe, files: RunFiles, report: StageReport, store: StateStore) -> StageReport:
    sink = loaded.sink_class(loaded.sink_config, report)
    acked = Counter()
    acked_path = acknowledged_path(files)
    files.directory.mkdir(parents=True, exist_ok=True)
    recover_acknowledged(files, store, loaded.pipeline_name, report)
    acked_file = AcknowledgementLog(acked_path)

    def ack(mcp: MCP) -> None:
        """Acknowledgements go to a file, not memory: a failed run records them afterwards (an atomic sink's never)."""
        acked["mcps"] += 1
        if not sink.atomic:
            acked_file(mcp)

    ack.flush = acked_file.flush  # the REST sink calls it after each acknowledged request

    total = 0

    def stream():
        nonlocal total
        for line in read_lines(files.mcps):
            total += 1
            yield MCP.from_line(line)

    def keep_acknowledged() -> None:
        """A failed run: the aspects the sink holds are facts; the run itself (removals, last run) does not advance.

        A sink that holds nothing until it closed successfully (`Sink.atomic`, a file written whole) holds
        nothing after a failure, so nothing is recorded."""
        acked_file.close()
        if sink.atomic:
            return
        try:
            recorded = sum(store.record_acknowledged(loaded.pipeline_name, chunk) for chunk in _acknowledged_chunks(acked_path))
            report.count("state aspects recorded", recorded)
        except SQLAlchemyError as exc:
            report.warn(_unexpected("state store could not record the acknowledged aspects", exc))

    def after_failure() -> None:
        report.count("acknowledged", acked["mcps"])
        report.count("sent", total)
        keep_acknowledged()

    log.info("sink: sending to %s", loaded.sink_type)
    try:
        with _failures_reported(report, files.report("sink"), f"{loaded.sink_type} sink failed", SinkFailure, after_failure):
            try:
                sink.check()
                sink.write(stream(), ack)
            finally:
                sink.close()
            if acked["mcps"] < total:
                raise SinkFailure(f"{loaded.sink_type} sink acknowledged {acked['mcps']} of {total} MCPs")
        report.count("acknowledged", acked["mcps"])
        report.count("sent", total)
        acked_file.close()
        with _failures_reported(report, files.report("sink"), "state store could not commit the run (the next run re-sends it)", SinkFailure):
            meta, pending = _read_pending(files)
            written = store.commit_run(loaded.pipeline_name, meta["run_id"], pending, total)
            report.count("state entities written", written)
    finally:
        acked_file.close()
        acked_path.unlink(missing_ok=True)
    report.finish().save(files.report("sink"))
    log.info("sink: %d MCPs acknowledged in %.2f s", acked["mcps"], report.duration)
    return report


# --- profiling: its own stage, its own hand-over file, the pipeline's sink ---

PROFILERS = {
    "mysql": "ingest_assets.sources.mysql.profiling",
}
"""The module that profiles each platform's tables (its `profiling_dialect(source_config, report)`)."""


def profile_mcps_path(files: RunFiles) -> Path:
    return files.directory / "profile.mcps.jsonl"


def profiling_enabled(loaded: LoadedRecipe) -> bool:
    profiling = getattr(loaded.source_config, "profiling", None)
    platform = getattr(loaded.source_class, "platform", None)
    return bool(getattr(profiling, "enabled", False)) and platform in PROFILERS


def run_profile(loaded: LoadedRecipe, files: RunFiles, run_id: str) -> StageReport:
    """Profile the snapshot's tables into profile.mcps.jsonl, then send that file through the pipeline's sink.

    datasetProfile is a timeseries aspect: every profile is a new point, so the stage sends every profile it
    makes and neither reads nor writes the pipeline's state (change detection and stale removal never see it).
    """
    import importlib

    from .core.profile import ProfilingConfig
    from .sources.sql_profiler import TableProfiler

    report = StageReport("profile")
    config: ProfilingConfig = loaded.source_config.profiling
    dialect = importlib.import_module(PROFILERS[loaded.source_class.platform]).profiling_dialect(loaded.source_config, report)
    profiler = TableProfiler(dialect, config, report, clock=lambda: int(time.time() * 1000))
    written = 0
    with _failures_reported(report, files.report("profile"), "profiling failed", SourceFailure):
        profiles = profiler.profile(list(_tables_to_profile(loaded, files)))
        with write_lines(profile_mcps_path(files)) as write:
            for mcp in _stamp((MCP("dataset", request.urn, "datasetProfile", aspect) for request, aspect in profiles),
                              loaded.recipe.run_id or run_id, loaded.pipeline_name):
                write(mcp.to_line())
                written += 1
        report.count("profiling statements", profiler.statements)
        report.count("mcps", written)
        _send_profiles(loaded, files, report)
    report.finish().save(files.report("profile"))
    log.info("profile: %d datasets profiled in %.2f s (%d statements)", written, report.duration, profiler.statements)
    return report


def _tables_to_profile(loaded: LoadedRecipe, files: RunFiles):
    """The snapshot's tables (DataHub profiles no views) that `profile_pattern` admits, as the profiler's requests."""
    from .core.urns import dataset_urn
    from .sources.sql_profiler import TableRequest

    pattern = loaded.source_config.profile_pattern
    for line in read_lines(files.snapshot):
        record = record_from_json(line)
        if not isinstance(record, DatasetRecord) or record.subtype != "Table":
            continue
        table, loc = record.table, record.location
        if not pattern.allowed(dataset_name(table.database, table.name, table.schema_name)):
            continue
        urn = dataset_urn(loc.platform, dataset_name(table.database, table.name, table.schema_name, loc.instance), loc.env)
        if _lowercase_urns(loaded):
            urn = lowercase_dataset_urns(urn)
        yield TableRequest(urn, table.database, table.schema_name, table.name,
                           tuple((c.name, c.native_type) for c in record.columns))


def _profile_sink_config(loaded: LoadedRecipe):
    """The sink's config; a file sink writes profiles beside the schema run's file (`out.json` -> `out.profile.json`),
    since each run writes its file whole."""
    config = loaded.sink_config
    filename = getattr(config, "filename", None)
    if filename:
        path = Path(filename)
        config = config.model_copy(update={"filename": str(path.with_name(f"{path.stem}.profile{path.suffix or '.json'}"))})
    return config


def _send_profiles(loaded: LoadedRecipe, files: RunFiles, report: StageReport) -> None:
    """profile.mcps.jsonl through the pipeline's sink, as the sink stage sends mcps.jsonl; raise unless all acknowledged."""
    sink = loaded.sink_class(_profile_sink_config(loaded), report)
    acknowledged, total = 0, 0

    def ack(mcp: MCP) -> None:
        nonlocal acknowledged
        acknowledged += 1

    ack.flush = lambda: None

    def stream():
        nonlocal total
        for line in read_lines(profile_mcps_path(files)):
            total += 1
            yield MCP.from_line(line)

    try:
        sink.check()
        sink.write(stream(), ack)
    finally:
        sink.close()
    report.count("acknowledged", acknowledged)
    if acknowledged < total:
        raise SinkFailure(f"{loaded.sink_type} sink acknowledged {acknowledged} of {total} profiles")
