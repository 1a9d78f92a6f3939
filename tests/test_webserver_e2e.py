"""End to end through the Dagster UI's API: dagster-webserver + dagster-daemon on workspace.yaml.

Two runs of one recipe's job are launched through GraphQL; the queued run coordinator with the
shipped pool settings (deploy/local/dagster.yaml) runs them one after the other; the assets'
materializations and check results are read back; schedules and sensors are listed.
"""

import time

import yaml

from .dagster_recipes import sqlite_recipe
from .dagster_server import ROOT, dagster_services

LOCATION, REPOSITORY = "ingest_assets", "__repository__"
EXTRA = """schedule: {cron: "0 2 * * *", timezone: UTC}
sensor: {source_change: {interval_seconds: 600}}
"""

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
RUN = "query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status startTime endTime } } }"
ASSET = """
query Asset($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) { ... on Asset { assetMaterializations(limit: 2) {
    runId metadataEntries { label ... on IntMetadataEntry { intValue } ... on MarkdownMetadataEntry { mdStr } } } } }
  assetNodeOrError(assetKey: $key) { ... on AssetNode { assetChecksOrError { ... on AssetChecks { checks {
    name blocking executionForLatestMaterialization { runId status } } } } } }
}"""
INSTIGATORS = """
query Instigators($repo: RepositorySelector!) {
  schedulesOrError(repositorySelector: $repo) { ... on Schedules { results { name cronSchedule executionTimezone } } }
  sensorsOrError(repositorySelector: $repo) { ... on Sensors { results { name minIntervalSeconds defaultStatus } } }
  instance { poolConfig { poolGranularity defaultPoolLimit } runQueueConfig { tagConcurrencyLimitsYaml } }
}"""


def _wait_for_success(client, run_ids: list[str], timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        runs = {rid: client(RUN, id=rid)["runOrError"] for rid in run_ids}
        if all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs.values()):
            return runs
        assert time.monotonic() < deadline, runs
        time.sleep(0.5)


def test_launch_a_recipe_job_through_the_webserver(tmp_path, shop_db):
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance = yaml.safe_load((ROOT / "deploy" / "local" / "dagster.yaml").read_text())
    instance["run_coordinator"]["config"] = {"dequeue_interval_seconds": 1}  # a quicker queue for the test
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance))
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "shop.yml").write_text(sqlite_recipe(shop_db, tmp_path / "lite.db", "shop", EXTRA))
    (recipes / "other.yml").write_text(sqlite_recipe(shop_db, tmp_path / "other.db", "other"))
    env = {"DAGSTER_HOME": str(home), "INGEST_RECIPES_DIR": str(recipes), "INGEST_ARTIFACTS_DIR": str(tmp_path / "artifacts")}

    with dagster_services(env, tmp_path) as client:
        repo = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
        listed = client(INSTIGATORS, repo=repo)
        schedules = {s["name"]: s for s in listed["schedulesOrError"]["results"]}
        assert schedules == {"shop_schedule": {"name": "shop_schedule", "cronSchedule": "0 2 * * *", "executionTimezone": "UTC"}}
        sensors = {s["name"]: s for s in listed["sensorsOrError"]["results"]}
        assert set(sensors) == {"shop_source_change", "shop_recipe_change", "other_recipe_change"}
        assert sensors["shop_source_change"]["minIntervalSeconds"] == 600
        assert sensors["shop_recipe_change"]["defaultStatus"] == "STOPPED"
        assert listed["instance"]["poolConfig"] == {"poolGranularity": "run", "defaultPoolLimit": 1}
        (limit,) = yaml.safe_load(listed["instance"]["runQueueConfig"]["tagConcurrencyLimitsYaml"])
        assert limit == {"key": "ingest_assets/serial", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}

        def launch(job: str) -> str:
            result = client(LAUNCH, params={"selector": {**repo, "jobName": job}, "runConfigData": {}})["launchRun"]
            assert result["__typename"] == "LaunchRunSuccess", result
            return result["run"]["runId"]

        run_ids = [launch("shop_job"), launch("shop_job")]
        other_id = launch("other_job")
        runs = _wait_for_success(client, [*run_ids, other_id])
        assert {r["status"] for r in runs.values()} == {"SUCCESS"}, (tmp_path / "daemon.log").read_text()[-3000:]
        first, second = sorted((runs[rid] for rid in run_ids), key=lambda r: r["startTime"])
        assert first["endTime"] <= second["startTime"]  # one run of a pipeline at a time
        other = runs[other_id]
        # launched after it, the other pipeline's run did not wait behind the blocked second run of shop
        assert other["startTime"] < second["startTime"]
        runs = {rid: runs[rid] for rid in run_ids}

        last_run = max(runs, key=lambda rid: runs[rid]["startTime"])
        for path, check_names in ((["shop", "snapshot"], {"no_source_failures", "snapshot_not_empty"}),
                                  (["shop", "mcps"], {"no_mcp_failures"}),
                                  (["shop", "datahub-lite"], {"no_sink_failures"})):
            data = client(ASSET, key={"path": path})
            latest, earlier = data["assetOrError"]["assetMaterializations"]
            assert latest["runId"] == last_run and {latest["runId"], earlier["runId"]} == set(run_ids)
            materialization = latest
            entries = {e["label"]: e for e in materialization["metadataEntries"]}
            assert "summary" in entries and entries["summary"]["mdStr"].startswith("## shop: sqlite")
            checks = {c["name"]: c for c in data["assetNodeOrError"]["assetChecksOrError"]["checks"]}
            assert set(checks) == check_names
            assert all(c["executionForLatestMaterialization"] == {"runId": last_run, "status": "SUCCEEDED"} for c in checks.values())
            if path[-1] == "snapshot":
                assert entries["datasets"]["intValue"] == 15
                assert checks["snapshot_not_empty"]["blocking"] is True
            if path[-1] == "datahub-lite":  # change-only emission: the second run had nothing new to send
                sent = {e["label"]: e for e in earlier["metadataEntries"]}["count: acknowledged"]["intValue"]
                assert sent > 100 and entries["count: acknowledged"]["intValue"] == 0
