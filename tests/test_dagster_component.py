"""A recipe added to an existing Dagster project as a Component, through Dagster's own `dg` CLI on a real project
in a temporary directory: listed, scaffolded, checked, launched."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest_assets.store.lite import LiteStore

PYPROJECT = """\
[project]
name = "shopproj"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["dagster", "ingest_assets"]

[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "shopproj"
"""

DEFINITIONS = """\
from pathlib import Path

import dagster as dg


@dg.definitions
def defs():
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
"""


def dg_cli(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    venv = Path(sys.executable).parent
    merged = {**os.environ, "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv.parent),
              "COLUMNS": "200", **(env or {})}
    return subprocess.run([str(venv / "dg"), *args], cwd=project, capture_output=True, text=True, env=merged, timeout=240)


@pytest.fixture
def project(tmp_path) -> Path:
    """An existing Dagster project, as `create-dagster project` lays one out."""
    root = tmp_path / "shopproj"
    (root / "shopproj" / "defs").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "shopproj" / "__init__.py").write_text("")
    (root / "shopproj" / "defs" / "__init__.py").write_text("")
    (root / "shopproj" / "definitions.py").write_text(DEFINITIONS)
    return root


def test_scaffold_check_and_launch_a_recipe_component(project, shop_db, tmp_path):
    listed = dg_cli(project, "list", "components")
    assert listed.returncode == 0, listed.stderr
    assert "ingest_assets.RecipeComponent" in listed.stdout

    scaffolded = dg_cli(project, "scaffold", "defs", "ingest_assets.RecipeComponent", "shop_ingest")
    assert scaffolded.returncode == 0, scaffolded.stderr
    folder = project / "shopproj" / "defs" / "shop_ingest"
    assert (folder / "defs.yaml").read_text().split() == ["type:", "ingest_assets.RecipeComponent", "attributes:", "recipe:", "recipe.yml"]
    assert "type: sqlite" in (folder / "recipe.yml").read_text()

    env = {"SHOP_DB": str(shop_db), "DAGSTER_HOME": str(tmp_path / "dagster"), "INGEST_ASSETS_HOME": str(tmp_path / "ingest")}
    (tmp_path / "dagster").mkdir()
    checked = dg_cli(project, "check", "defs", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    defs = dg_cli(project, "list", "defs", env=env).stdout
    assert "shop_ingest/snapshot" in defs and "shop_ingest_job" in defs and "shop_ingest_recipe_change" in defs

    launched = dg_cli(project, "launch", "--assets", "*", env=env)
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert "Executing steps in process" in launched.stdout + launched.stderr  # one process per run, not per step
    entities, aspects = LiteStore(f"sqlite:///{tmp_path / 'ingest' / 'lite.db'}").count()
    assert entities > 10 and aspects > 50


def test_an_inline_recipe_with_a_mistake_is_reported_as_the_recipe_reports_it(project, shop_db, tmp_path):
    folder = project / "shopproj" / "defs" / "broken"
    folder.mkdir()
    (folder / "defs.yaml").write_text(f"""\
type: ingest_assets.RecipeComponent
attributes:
  recipe:
    source:
      type: sqlite
      config: {{path: "{shop_db}", tabel_pattern: {{allow: [".*"]}}}}
""")
    checked = dg_cli(project, "check", "defs", env={"DAGSTER_HOME": str(tmp_path)})
    assert checked.returncode != 0
    assert ("broken/defs.yaml (attributes.recipe): source.config.tabel_pattern: unknown key (did you mean 'table_pattern'?)"
            in checked.stdout + checked.stderr)

    (folder / "defs.yaml").write_text((folder / "defs.yaml").read_text().replace("tabel_pattern", "table_pattern"))
    fixed = dg_cli(project, "list", "defs", env={"DAGSTER_HOME": str(tmp_path)})
    assert fixed.returncode == 0 and "broken/snapshot" in fixed.stdout, fixed.stdout + fixed.stderr
