"""A CLI run killed with `kill -9` inside its sink stage: the rerun sends only what the sink does not hold yet."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .fault_proxy import FaultProxy
from .rest_service import metadata_service, rest_recipe, shop_source
from .cli_runner import run_cli


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def test_a_rerun_after_kill_9_in_the_sink_stage_sends_only_what_is_missing(tmp_path, shop_db, isolated_home):
    with metadata_service(tmp_path) as svc:
        proxy = FaultProxy(svc.url, share=0, slow=0.03)
        proxy.forced = ["slow"] * 100_000  # every request answered 30 ms late: the sink stage lasts seconds
        try:
            recipe = tmp_path / "recipe.yml"
            recipe.write_text(rest_recipe(shop_source(shop_db), proxy.url, "crash",
                                          "    mode: SYNC\n    max_threads: 1\n"))
            cli = subprocess.Popen([str(Path(sys.executable).with_name("ingest-assets")), "ingest", "-c", str(recipe)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
            deadline = time.time() + 120
            while proxy.passed < 25 and cli.poll() is None and time.time() < deadline:
                time.sleep(0.01)
            os.kill(cli.pid, signal.SIGKILL)
            cli.wait()
            assert cli.returncode == -signal.SIGKILL

            artifacts = isolated_home / "artifacts" / "crash"
            total = _lines(artifacts / "mcps.jsonl")
            recorded = _lines(artifacts / "sink.acknowledged.jsonl")
            store = svc.store()
            held = store.count()[1]
            store.close()
            assert 25 <= held < total
            assert recorded >= held - 1, f"the sink held {held} aspects, the run had recorded {recorded} acknowledgements"

            proxy.forced = []
            report = tmp_path / "rerun.json"
            rerun = run_cli("ingest", "-c", str(recipe), "--report-to", str(report))
            assert rerun.returncode == 0, rerun.stderr
            counts = json.loads(report.read_text())["counts"]
            assert counts["mcps: aspects acknowledged by an interrupted run"] == recorded
            assert counts["sink: sent"] == total - recorded
            print(f"{total} aspects; killed with {held} held by the sink; the rerun sent {counts['sink: sent']}")
            store = svc.store()
            assert store.count()[1] == total  # every aspect of the run is held, nothing was lost
            store.close()
        finally:
            proxy.close()
