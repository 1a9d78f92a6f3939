"""`ingest-assets`: run recipes through the same Dagster assets as the UI, in-process."""

import argparse
import contextlib
import gc
import io
import json
import logging
import os
import re
import sys
import time
from pathlib import Path

from . import __version__
from .core.errors import IngestError
from .core.recipe import load_recipe
from .core.secrets import redact

EXIT_OK, EXIT_FAILURES = 0, 1


def _error(message: str) -> None:
    for line in redact(message).splitlines():
        print(f"error: {line}", file=sys.stderr)


def _progress_logging(debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    clear_line = "\r\x1b[2K" if sys.stderr.isatty() else ""  # over the progress line, in a terminal
    handler.setFormatter(logging.Formatter(clear_line + "[ingest] %(message)s"))
    logger = logging.getLogger("ingest_assets")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False


def _summary(loaded, reports, duration: float, failed_messages: list[str]) -> dict:
    counts: dict[str, int] = {}
    warnings, failures = [], list(failed_messages)
    for report in reports:
        for key, value in report.counts.items():
            counts[f"{report.stage}: {key}"] = value
        warnings += report.warnings
        failures += [f for f in report.failures if f not in failures]
    return {
        "pipeline_name": loaded.pipeline_name,
        "source": loaded.recipe.source.type,
        "sink": loaded.sink_type,
        "counts": counts,
        "warnings": warnings,
        "failures": failures,
        "duration_seconds": round(duration, 3),
    }


_HEADLINE = (
    ("datasets", "snapshot: dataset records"),
    ("aspects sent", "sink: acknowledged"),
    ("aspects unchanged (not sent)", "mcps: aspects unchanged"),
    ("entities removed", "mcps: entities removed"),
)
"""The figures a reader wants first, from the stage counts; the rest follows as details."""


def _print_summary(summary: dict) -> None:
    out = sys.stdout
    counts = summary["counts"]
    out.write(f"\nPipeline {summary['pipeline_name']}: {summary['source']} -> {summary['sink']}"
              f"{' (dry run: nothing sent)' if summary.get('dry_run') else ''}\n")
    for label, key in _HEADLINE:
        out.write(f"  {label:<52} {counts.get(key, 0):>10,}\n")
    out.write(f"  {'warnings':<52} {len(summary['warnings']):>10,}\n")
    out.write(f"  {'failures':<52} {len(summary['failures']):>10,}\n")
    out.write(f"  {'duration (s)':<52} {summary['duration_seconds']:>10.2f}\n")
    out.write("Details:\n")
    for key, value in counts.items():
        out.write(f"  {key:<52} {value:>10,}\n")
    out.write(f"  {'warnings':<52} {len(summary['warnings']):>10,}\n")
    for warning in summary["warnings"][:20]:
        out.write(f"    - {warning}\n")
    out.write(f"  {'failures':<52} {len(summary['failures']):>10,}\n")
    for failure in summary["failures"][:20]:
        out.write(f"    - {failure}\n")
    out.write(f"  {'duration (s)':<52} {summary['duration_seconds']:>10.2f}\n")


def _connection_checked(loaded, source: bool, sink: bool) -> None:
    """The source and/or sink reached before anything runs: a wrong host, URL or token is one line at once."""
    from .core.report import StageReport

    wanted = [(loaded.source_class, loaded.source_config, "snapshot")] * source
    wanted += [(loaded.sink_class, loaded.sink_config, "sink")] * sink
    for plugin_class, config, stage in wanted:
        plugin = plugin_class(config, StageReport(stage))
        try:
            plugin.check()
        finally:
            plugin.close()


@contextlib.contextmanager
def _dagster_quiet(debug: bool):
    """Dagster's own first-run text (no dagster.yaml, telemetry, welcome) and warnings stay out of our output;
    `--debug` shows them."""
    if debug:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def cmd_test_connection(args) -> int:
    loaded = load_recipe(args.config)
    _connection_checked(loaded, source=args.test_source_connection, sink=args.test_sink_connection)
    reached = [what for what, asked in (("source", args.test_source_connection), ("sink", args.test_sink_connection)) if asked]
    print(f"{args.config}: {' and '.join(reached)} reachable ({loaded.recipe.source.type} -> {loaded.sink_type})")
    return EXIT_OK


def cmd_ingest(args) -> int:
    if args.test_source_connection or args.test_sink_connection:
        return cmd_test_connection(args)
    gc.disable()  # setting up imports Dagster and builds its instance: about a million objects, no garbage
    try:
        loaded = load_recipe(args.config)
        _progress_logging(args.debug)
        if not args.dry_run:
            _connection_checked(loaded, source=False, sink=True)  # the source is reached first thing anyway
        import dagster as dg

        from .orchestration.artifacts import staged_files
        from .orchestration.assets import (
            IngestSettings,
            build_pipeline,
            failure_exit_code,
            stage_reports,
            stages_run,
        )
        from .stages import RunFiles, state_store_for
        from .terminal_progress import TerminalProgress

        started = time.time()
        settings = IngestSettings(preview=args.preview, full_refresh=args.full_refresh, allow_mass_removal=args.allow_mass_removal)
        parts = build_pipeline(loaded)
        selection = parts.assets[:2] if args.dry_run else parts.assets
        with _dagster_quiet(args.debug):
            instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    finally:
        gc.freeze()  # what setting up built lives as long as the process: no collection needs to walk it
        gc.enable()
    state = state_store_for(loaded)
    try:
        base = settings.artifacts_base
        progress_dir = None if "://" in base else RunFiles.for_pipeline(loaded.pipeline_name, Path(base) if base else None).directory
        with state.lease(loaded.pipeline_name), \
                TerminalProgress(progress_dir) if progress_dir else contextlib.nullcontext(), _dagster_quiet(args.debug):
            result = dg.materialize(
                selection,
                instance=instance,
                # the assets hand over files, not values: no output to store, and the default
                # filesystem IO manager's set-up (universal_pathlib, fsspec) would cost 0.05 s
                resources={"ingest": settings, "io_manager": dg.mem_io_manager},
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
                tags={"ingest_assets/pipeline": loaded.pipeline_name, "ingest_assets/launched_by": "cli"},
            )
    finally:
        state.close()
    code, messages = (EXIT_OK, []) if result.success else failure_exit_code(result)
    with staged_files(settings.artifacts_base, loaded.pipeline_name, None) as files:  # where the stages wrote
        summary = _summary(loaded, stage_reports(files, stages_run(loaded, result)), time.time() - started, messages)
        if args.dry_run:
            summary["dry_run"] = True
        if "snapshot: dataset records" not in summary["counts"] and "snapshot: mcp records" not in summary["counts"] \
                and "snapshot" in {r.stage for r in stage_reports(files, stages_run(loaded, result))}:
            summary["warnings"].append("the source yielded no datasets: do its patterns (database_pattern, schema_pattern, "
                                       "table_pattern, ...) match anything, and may its user read them?")
        _print_summary(summary)
        if args.preview:
            _print_preview(files, args.preview)
    if args.report_to:
        Path(args.report_to).write_text(json.dumps(summary, indent=2))
    if code:
        for message in messages:
            _error(message)
        return code
    if summary["failures"]:
        return EXIT_FAILURES
    if args.strict_warnings and summary["warnings"]:
        _error(f"{len(summary['warnings'])} warning(s) and --strict-warnings")
        return EXIT_FAILURES
    return EXIT_OK


def _print_preview(files, limit: int) -> None:
    if not files.mcps.exists():
        return
    from .core.handover import read_lines
    from .core.mcp import MCP

    print("\nPreview:")
    for index, line in enumerate(read_lines(files.mcps)):
        if index >= limit * 8:
            break
        mcp = MCP.from_line(line)
        print(f"  {mcp.entity_urn} {mcp.aspect_name}")


def cmd_check(args) -> int:
    loaded = load_recipe(args.config)
    print(f"{args.config}: ok (pipeline {loaded.pipeline_name}: {loaded.recipe.source.type} -> {loaded.sink_type})")
    for notice in loaded.notices:
        print(f"warning: {notice}")
    return EXIT_OK


def cmd_plugins(args) -> int:
    from .core.registry import available

    for kind in ("source", "transformer", "sink"):
        plugins = available(kind)
        print(f"{kind}s:")
        for name, entry in sorted(plugins.items()):
            try:
                entry.load()
                status = ""
            except ImportError as exc:
                status = f"  (not installed: {exc.name or exc})"
            print(f"  {name:<28} {entry.value}{status}")
    return EXIT_OK


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """A name as the terminal should show it: control characters (a newline, an escape sequence, a bidi override)
    spelt as Python escapes, so a hostile name can neither forge lines nor drive the terminal."""
    return _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text)


def _store(args):
    from .store.lite import LiteStore

    return LiteStore(args.store)


def cmd_lite_ls(args) -> int:
    store = _store(args)
    prefix = (args.path or "/").rstrip("/")
    rows = [row for row in store.browse() if row[0] == prefix or row[0].startswith(prefix + "/") or not prefix]
    if not rows:
        print(f"nothing under {args.path or '/'} in {store.display_url}", file=sys.stderr)
        return EXIT_FAILURES
    for path, kind, urn in rows:
        print(f"{printable(path):<60} {printable(kind):<10} {printable(urn)}")
    return EXIT_OK


def cmd_lite_get(args) -> int:
    store = _store(args)
    if args.aspect:
        found = store.get_aspect(args.urn, args.aspect)
        if found is None:
            print(f"error: no aspect {args.aspect} for {args.urn}", file=sys.stderr)
            return EXIT_FAILURES
        print(json.dumps(found["value"], indent=2))
        return EXIT_OK
    entity = store.get_entity(args.urn)
    if not entity:
        print(f"error: no entity {args.urn}", file=sys.stderr)
        return EXIT_FAILURES
    print(json.dumps({"urn": args.urn, "aspects": entity}, indent=2))
    return EXIT_OK


def cmd_lite_search(args) -> int:
    store = _store(args)
    found = store.search(args.text)
    for urn in found:
        print(printable(urn))
    return EXIT_OK if found else EXIT_FAILURES


def cmd_serve(args) -> int:
    """The local metadata service; the bearer token comes from INGEST_SERVICE_TOKEN, never the command line."""
    from .store.service import serve

    token = os.environ.get("INGEST_SERVICE_TOKEN") or None
    serve(args.store, args.host, args.port, token, int(args.max_body_mb * 1024 * 1024))
    return EXIT_OK


def cmd_consume(args) -> int:
    """DataHub's MCP topic into the store or a DataHub server; a forwarding token comes from DATAHUB_GMS_TOKEN."""
    from .consumer import consume

    _progress_logging()
    report = consume(args, os.environ.get("DATAHUB_GMS_TOKEN") or None)
    for key in ("consumed", "applied", "failed", "batches committed"):
        print(f"  {key:<20} {report.counts[key]:>10,}")
    return EXIT_FAILURES if report.counts["failed"] else EXIT_OK


def _state_store(args):
    from .store.state import StateStore

    return StateStore(args.state)


def cmd_state_show(args) -> int:
    store = _state_store(args)
    try:
        summary = store.summary(args.pipeline)
        if args.entities:
            summary["urns"] = [{"urn": e.urn, "removed": e.is_removed, "aspects": sorted(e.aspects)} for e in store.entities(args.pipeline)]
    finally:
        store.close()
    if args.json:
        print(json.dumps(summary, indent=2))
        return EXIT_OK if summary["entities"] or summary["last_run_id"] else EXIT_FAILURES
    if not summary["entities"] and not summary["last_run_id"]:
        print(f"no state for pipeline {args.pipeline} in {summary['store']}", file=sys.stderr)
        return EXIT_FAILURES
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(summary["last_success_at"])) if summary["last_success_at"] else "never"
    print(f"pipeline {args.pipeline} (state store {summary['store']})")
    print(f"  last successful run  {summary['last_run_id'] or '-'} at {when}")
    print(f"  aspects it sent      {summary['last_aspects_sent'] if summary['last_aspects_sent'] is not None else '-'}")
    print(f"  entities it removed  {summary['last_entities_removed'] if summary['last_entities_removed'] is not None else '-'}")
    for entity_type, counts in sorted(summary["entities"].items()):
        print(f"  {entity_type:<20} {counts['present']:>8,} present {counts['removed']:>8,} removed")
    lease = summary["lease"]
    print(f"  running now          {lease['holder'] if lease else 'no'}")
    for entry in summary.get("urns", []):
        print(f"  {entry['urn']}{'  (removed)' if entry['removed'] else ''}")
    return EXIT_OK


def cmd_state_unlock(args) -> int:
    store = _state_store(args)
    try:
        holder = store.unlock(args.pipeline)
    finally:
        store.close()
    print(f"pipeline {args.pipeline}: " + (f"released the lease held by {holder}" if holder else "no run held its lease"))
    return EXIT_OK


def cmd_state_reset(args) -> int:
    store = _state_store(args)
    try:
        forgotten = store.reset(args.pipeline)
    finally:
        store.close()
    print(f"pipeline {args.pipeline}: forgot {forgotten:,} entities; the next run sends everything and removes nothing")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ingest-assets", description="Metadata ingestion run by Dagster, DataHub-compatible.")
    top.add_argument("--version", action="version", version=f"ingest-assets {__version__}")
    top.add_argument("--debug", action="store_true", help="debug logging, Dagster's own output and tracebacks")
    commands = top.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="run a recipe through its Dagster assets")
    ingest.add_argument("-c", "--config", required=True, help="recipe file")
    ingest.add_argument("--dry-run", action="store_true", help="extract and build MCPs, send nothing")
    ingest.add_argument("--preview", type=int, default=0, metavar="N", help="stop after N datasets and show their MCPs")
    ingest.add_argument("--report-to", metavar="FILE", help="write the run report as JSON")
    ingest.add_argument("--full-refresh", action="store_true", help="send every aspect, not only the changed ones")
    ingest.add_argument("--strict-warnings", action="store_true", help="exit 1 when the run had warnings")
    ingest.add_argument("--test-source-connection", action="store_true", help="only check that the source can be reached")
    ingest.add_argument("--test-sink-connection", action="store_true", help="only check that the sink can be reached")
    ingest.add_argument("--allow-mass-removal", action="store_true",
                        help="soft-delete stale entities even above stateful_ingestion.fail_safe_threshold")
    ingest.set_defaults(func=cmd_ingest)

    state = commands.add_parser("state", help="show or reset a pipeline's ingestion state")
    state.add_argument("--state", default=None, help="SQLAlchemy URL of the state store (default INGEST_STATE_URL or the embedded one)")
    state_commands = state.add_subparsers(dest="state_command", required=True)
    state_show = state_commands.add_parser("show", help="what the sink holds for a pipeline, and its last run")
    state_show.add_argument("pipeline")
    state_show.add_argument("--entities", action="store_true", help="list every entity URN")
    state_show.add_argument("--json", action="store_true", help="print JSON")
    state_show.set_defaults(func=cmd_state_show)
    state_reset = state_commands.add_parser("reset", help="forget a pipeline's state (the next run sends everything)")
    state_reset.add_argument("pipeline")
    state_reset.set_defaults(func=cmd_state_reset)
    state_unlock = state_commands.add_parser("unlock", help="release a pipeline's lease left by a run that died")
    state_unlock.add_argument("pipeline")
    state_unlock.set_defaults(func=cmd_state_unlock)

    check = commands.add_parser("check", help="validate a recipe without connecting")
    check.add_argument("-c", "--config", required=True)
    check.set_defaults(func=cmd_check)

    plugins = commands.add_parser("plugins", help="list installed sources, transformers and sinks")
    plugins.set_defaults(func=cmd_plugins)

    lite = commands.add_parser("lite", help="read the embedded metadata store")
    lite.add_argument("--store", default=None, help="SQLAlchemy URL (default INGEST_LITE_URL or ~/.ingest_assets/lite.db)")
    lite_commands = lite.add_subparsers(dest="lite_command", required=True)
    ls = lite_commands.add_parser("ls", help="browse containers and datasets")
    ls.add_argument("path", nargs="?", default=None)
    ls.set_defaults(func=cmd_lite_ls)
    get = lite_commands.add_parser("get", help="print an entity's latest aspects")
    get.add_argument("--urn", required=True)
    get.add_argument("--aspect", default=None)
    get.set_defaults(func=cmd_lite_get)
    search = lite_commands.add_parser("search", help="find entities by name, description or URN")
    search.add_argument("text")
    search.set_defaults(func=cmd_lite_search)
    serve = commands.add_parser("serve", help="run the local metadata service (DataHub's REST ingestion API)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--store", default=None, help="SQLAlchemy URL (default INGEST_LITE_URL or ~/.ingest_assets/lite.db)")
    serve.add_argument("--max-body-mb", type=float, default=16.0, help="largest request body accepted (413 above it)")
    serve.set_defaults(func=cmd_serve)
    consume = commands.add_parser("consume", help="apply DataHub's MCP topic on Kafka to the store or a DataHub server")
    from .consumer import add_arguments as consume_arguments
    consume_arguments(consume)
    consume.set_defaults(func=cmd_consume)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except IngestError as exc:  # a RecipeError carries exit code 2
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as exc:  # a bug: one line, and the traceback with --debug
        if args.debug:
            raise
        _error(f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return EXIT_FAILURES


def run() -> None:
    """The `ingest-assets` command.

    Before the interpreter exits, everything alive is frozen out of the cycle collector's reach:
    its exit-time collections would otherwise walk the million objects Dagster leaves, 0.3 s after
    a 5,000-table run, to free memory the ending process gives back anyway. Exit handlers still run.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
