"""Shared fixtures: every test runs with its own store, artefacts and state under tmp_path."""

import importlib.util
from pathlib import Path

import pytest

from ingest_assets.core import secrets

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "datahub_mysql_sample.json"


def _load_shop_builder():
    spec = importlib.util.spec_from_file_location("make_shop_db", ROOT / "examples" / "make_shop_db.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No test touches ~/.ingest_assets or a real DAGSTER_HOME."""
    home = tmp_path / "home"
    monkeypatch.setenv("INGEST_ASSETS_HOME", str(home))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("INGEST_LITE_URL", raising=False)
    monkeypatch.delenv("INGEST_ARTIFACTS_DIR", raising=False)
    monkeypatch.delenv("INGEST_STATE_URL", raising=False)
    monkeypatch.setattr(secrets, "_known", set())  # secrets one test registers must not mask another's output
    return home


@pytest.fixture
def shop_db(tmp_path) -> Path:
    """The quickstart's example shop database, freshly built."""
    path = tmp_path / "shop.db"
    _load_shop_builder().build(path)
    return path


@pytest.fixture
def write_recipe(tmp_path):
    """Write a recipe (text) to a file and return its path."""
    def write(text: str, name: str = "recipe.yml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write

