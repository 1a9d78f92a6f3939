"""What a `datahub ingest` user reaches for: --version, --debug, --strict-warnings, connection tests, the sink
checked before extraction, Ctrl-C as exit 130, a report that starts with its summary, no Dagster banners."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from ingest_assets import __version__

from .cli_runner import run_cli
from .fault_proxy import FaultProxy
from .rest_service import metadata_service, rest_recipe, shop_source


def recipe_file(tmp_path, shop_db, sink: str = "{type: datahub-lite}", extra: str = "") -> Path:
    path = tmp_path / "recipe.yml"
    path.write_text(f"pipeline_name: shop\nsource: {{type: sqlite, config: {{path: '{shop_db}'{extra}}}}}\nsink: {sink}\n")
    return path


def test_version_flag():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"ingest-assets {__version__}"


def test_report_starts_with_its_summary_and_dagster_says_nothing(tmp_path, shop_db):
    """With DAGSTER_HOME pointing at a folder without dagster.yaml, Dagster's first-run text (20 lines) stays out."""
    home = tmp_path / "dagster"
    home.mkdir()
    result = run_cli("ingest", "-c", str(recipe_file(tmp_path, shop_db)), env={"DAGSTER_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert "dagster.yaml" not in result.stdout + result.stderr and "Telemetry" not in result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "Pipeline shop: sqlite -> datahub-lite"
    assert [line.split("  ")[1].strip() for line in lines[1:8]] == [
        "datasets", "aspects sent", "aspects unchanged (not sent)", "entities removed", "warnings", "failures", "duration (s)"]
    assert lines[1].split()[-1] == "15" and lines[8] == "Details:"


def test_patterns_that_match_nothing_warn_and_strict_warnings_fail(tmp_path, shop_db):
    recipe = recipe_file(tmp_path, shop_db, extra=", table_pattern: {allow: ['^nothing$']}, include_views: false")
    result = run_cli("ingest", "-c", str(recipe))
    assert result.returncode == 0
    assert "the source yielded no datasets: do its patterns" in result.stdout
    strict = run_cli("ingest", "-c", str(recipe), "--strict-warnings")
    assert strict.returncode == 1 and "error: 1 warning(s) and --strict-warnings" in strict.stderr


def test_connection_tests_and_a_sink_checked_before_the_source_is_read(tmp_path, shop_db):
    ok = run_cli("ingest", "-c", str(recipe_file(tmp_path, shop_db)), "--test-source-connection", "--test-sink-connection")
    assert ok.returncode == 0 and "source and sink reachable (sqlite -> datahub-lite)" in ok.stdout

    missing = recipe_file(tmp_path, tmp_path / "absent.db")
    source = run_cli("ingest", "-c", str(missing), "--test-source-connection")
    assert source.returncode == 2 and source.stderr.strip().splitlines() == [
        f"error: cannot open SQLite database {tmp_path / 'absent.db'}: no such file"]

    down = recipe_file(tmp_path, shop_db, sink="{type: datahub-rest, config: {server: 'http://127.0.0.1:9'}}")
    started = time.time()
    sink = run_cli("ingest", "-c", str(down))
    assert sink.returncode == 2 and len(sink.stderr.strip().splitlines()) == 1
    assert sink.stderr.startswith("error: cannot reach DataHub at http://127.0.0.1:9")
    assert "[ingest] snapshot" not in sink.stderr, "the sink is checked before the source is read"
    assert time.time() - started < 30


def test_a_web_page_instead_of_datahub_is_one_line(tmp_path, shop_db):
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body>\n" + b"<p>x</p>\n" * 40 + b"</body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = run_cli("ingest", "-c", str(recipe_file(tmp_path, shop_db, sink=f"{{type: datahub-rest, config: {{server: '{url}'}}}}")))
    finally:
        server.shutdown()
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: DataHub at {url} answered GET /config with HTTP 404: a web page titled 'Welcome to nginx!', not DataHub's "
        "JSON; is this a DataHub metadata service (GMS)?"]


def test_ctrl_c_in_the_sink_stage_is_one_line_exit_130_and_the_rerun_sends_the_rest(tmp_path, shop_db, isolated_home):
    with metadata_service(tmp_path) as svc:
        proxy = FaultProxy(svc.url, share=0, slow=0.03)
        proxy.forced = ["slow"] * 100_000
        try:
            recipe = tmp_path / "rest.yml"
            recipe.write_text(rest_recipe(shop_source(shop_db), proxy.url, "ctrlc", "    mode: SYNC\n    max_threads: 1\n"))
            cli = subprocess.Popen([str(Path(sys.executable).with_name("ingest-assets")), "ingest", "-c", str(recipe)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
            deadline = time.time() + 120
            while proxy.passed < 20 and cli.poll() is None and time.time() < deadline:
                time.sleep(0.01)
            cli.send_signal(signal.SIGINT)
            stdout, stderr = cli.communicate(timeout=120)
            assert cli.returncode == 130, stdout + stderr
            errors = [line for line in stderr.splitlines() if line.startswith("error:")]
            assert errors and errors[0].startswith("error: interrupted") and "Traceback" not in stderr

            proxy.forced = []
            rerun = run_cli("ingest", "-c", str(recipe))
            assert rerun.returncode == 0, rerun.stderr
            store = svc.store()
            held = store.count()[1]
            store.close()
            total = int(next(line for line in rerun.stdout.splitlines() if "mcps: aspects built" in line).split()[-1])
            assert held == total
        finally:
            proxy.close()


def test_debug_lets_dagster_speak(tmp_path, shop_db):
    home = tmp_path / "dagster"
    home.mkdir()
    result = run_cli("--debug", "ingest", "-c", str(recipe_file(tmp_path, shop_db)), env={"DAGSTER_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert "No dagster instance configuration file (dagster.yaml) found" in result.stdout + result.stderr


def test_a_sink_that_cannot_write_is_one_line_before_the_source_is_read(tmp_path, shop_db):
    bad = tmp_path / "custom.yml"
    bad.write_text(f"pipeline_name: shop\nsource: {{type: sqlite, config: {{path: '{shop_db}'}}}}\n"
                   "sink: {type: file, config: {filename: '/proc/version/x.json'}}\n")
    result = run_cli("ingest", "-c", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["error: file sink: cannot create /proc/version: File exists"]
    assert "[ingest] snapshot" not in result.stderr


def run_in_terminal(args: list[str], timeout: float = 120) -> str:
    """The CLI with its stderr on a real pseudo-terminal, as a person runs it; what the terminal showed."""
    import pty
    import select

    master, slave = pty.openpty()
    cli = subprocess.Popen([str(Path(sys.executable).with_name("ingest-assets")), *args], stdout=subprocess.DEVNULL,
                           stderr=slave, env=os.environ.copy())
    os.close(slave)
    shown, deadline = b"", time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the CLI closed the terminal
                break
            if not data:
                break
            shown += data
        elif cli.poll() is not None:
            break
    cli.wait(timeout=10)
    os.close(master)
    assert cli.returncode == 0, shown.decode(errors="replace")
    return shown.decode(errors="replace")


def test_progress_in_a_terminal_and_none_in_a_pipe(tmp_path, shop_db, isolated_home):
    with metadata_service(tmp_path) as svc:
        proxy = FaultProxy(svc.url, share=0, slow=0.01)
        proxy.forced = ["slow"] * 100_000  # the sink stage lasts a few seconds
        try:
            recipe = tmp_path / "rest.yml"
            recipe.write_text(rest_recipe(shop_source(shop_db), proxy.url, "progress", "    mode: SYNC\n    max_threads: 1\n"))
            shown = run_in_terminal(["ingest", "-c", str(recipe)])
            status = [line for line in shown.replace("\r", "\n").splitlines() if "records read" in line]
            assert status, shown
            acknowledged = [int(re.search(r"MCPs acknowledged ([\d,]+)", line).group(1).replace(",", ""))
                            for line in status if "MCPs acknowledged" in line]
            assert acknowledged and acknowledged == sorted(acknowledged) and 0 < acknowledged[-1] <= 113
            assert "MCPs built 113 " in status[-1]
        finally:
            proxy.close()
    piped = run_cli("ingest", "-c", str(recipe_file(tmp_path, shop_db)))
    assert piped.returncode == 0 and "records read" not in piped.stderr and "\x1b" not in piped.stderr
