"""The Dagster UI in a real headless browser (Debian's Chromium, driven by Playwright): `dagster-webserver` on the
quickstart recipe, "Materialize all" clicked, the run followed to success, an asset's metadata read off the page."""

import time

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

from .dagster_recipes import sqlite_recipe
from .dagster_server import dagster_services

CHROMIUM = "/usr/bin/chromium"  # Debian's package, installed by `make` (scripts/system-packages.sh)
RUNS = "{ runsOrError(limit: 5) { ... on Runs { results { runId status jobName tags { key value } } } } }"


def test_materialize_all_in_the_ui_runs_in_one_process_and_shows_its_metadata(tmp_path, shop_db):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "quickstart.yml").write_text(sqlite_recipe(shop_db, tmp_path / "lite.db", "quickstart"))
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {"INGEST_RECIPES_DIR": str(recipes), "DAGSTER_HOME": str(home), "INGEST_ASSETS_HOME": str(tmp_path / "ingest")}
    with dagster_services(env, tmp_path) as graphql, sync_playwright() as playwright:  # the daemon starts queued runs
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            base = graphql.url.removesuffix("/graphql")
            page.goto(f"{base}/locations/ingest_assets/asset-groups/quickstart", wait_until="networkidle")
            button = page.get_by_role("button", name="Materialize all")
            expect(button).to_be_enabled(timeout=60_000)
            skip = page.get_by_role("button", name="Skip")  # Dagster's "Join the community" dialog on a new instance
            try:
                skip.click(timeout=5_000)
            except PlaywrightTimeout:
                pass
            clicked = time.monotonic()
            button.click()

            run = None
            while run is None or run["status"] not in ("SUCCESS", "FAILURE", "CANCELED"):
                assert time.monotonic() - clicked < 90, run
                time.sleep(0.5)
                runs = graphql(RUNS)["runsOrError"]["results"]
                run = runs[0] if runs else None
            took = time.monotonic() - clicked
            assert run["status"] == "SUCCESS", run
            print(f"Materialize all: {took:.1f} s from the click to success")

            page.goto(f"{base}/runs/{run['runId']}", wait_until="networkidle")
            expect(page.get_by_text("Success").first).to_be_visible(timeout=30_000)
            expect(page.get_by_text("Executing steps in process").first).to_be_visible(timeout=30_000)

            page.goto(f"{base}/assets/quickstart/snapshot", wait_until="networkidle")
            expect(page.get_by_text("datasets", exact=True).first).to_be_visible(timeout=30_000)
            row = page.locator("tr", has=page.get_by_text("datasets", exact=True)).first
            expect(row).to_contain_text("15")
        finally:
            browser.close()
