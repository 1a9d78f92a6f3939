"""Recipe validation and ${VAR} expansion: one line per problem, exit 2, no secret in any message."""

import pytest

from ingest_assets.core import secrets
from ingest_assets.core.errors import RecipeError
from ingest_assets.core.recipe import load_recipe, parse_recipe

GOOD = """
pipeline_name: shop
source:
  type: sqlite
  config:
    path: {path}
    table_pattern: {{allow: ["^shop\\\\.order"], deny: [".*items$"]}}
sink:
  type: file
  config: {{filename: {out}}}
schedule: {{cron: "0 2 * * *", timezone: Europe/Berlin}}
"""


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(RecipeError) as info:
        parse_recipe(raw, "r.yml")
    return info.value.problems


def test_good_recipe_loads_with_plugins_resolved(write_recipe, shop_db, tmp_path):
    loaded = load_recipe(write_recipe(GOOD.format(path=shop_db, out=tmp_path / "o.json")))
    assert loaded.pipeline_name == "shop"
    assert loaded.source_class.platform == "sqlite"
    assert loaded.sink_type == "file"
    assert loaded.source_config.table_pattern.allowed("shop.orders")
    assert not loaded.source_config.table_pattern.allowed("shop.order_items")
    assert loaded.recipe.schedule.cron == "0 2 * * *"


def test_default_sink_is_the_embedded_store(shop_db):
    loaded = parse_recipe({"pipeline_name": "p", "source": {"type": "sqlite", "config": {"path": str(shop_db)}}})
    assert loaded.sink_type == "datahub-lite"


def test_env_expansion_with_and_without_default(monkeypatch, shop_db):
    monkeypatch.setenv("SHOP_PATH", str(shop_db))
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    loaded = parse_recipe({
        "pipeline_name": "p",
        "source": {"type": "sqlite", "config": {"path": "${SHOP_PATH}", "env": "${NOT_SET_ANYWHERE:-DEV}"}},
    })
    assert loaded.source_config.path == str(shop_db)
    assert loaded.source_config.env == "DEV"


def test_unset_env_without_default_names_the_variable_and_key():
    problems = problems_of({"pipeline_name": "p", "source": {"type": "sqlite", "config": {"path": "${NO_SUCH_VAR_X}"}}})
    assert problems == ["r.yml: source.config.path: environment variable NO_SUCH_VAR_X is not set "
                        "(write ${NO_SUCH_VAR_X:-default} to give a default)"]


def test_misspelt_keys_get_did_you_mean(shop_db):
    problems = problems_of({
        "pipeline_name": "p",
        "sorce": {},
        "source": {"type": "sqlite", "config": {"path": str(shop_db), "tabel_pattern": {}}},
    })
    assert any(p.startswith("r.yml: sorce: unknown key (did you mean 'source'?)") for p in problems)
    problems = problems_of({"pipeline_name": "p", "source": {"type": "sqlite", "config": {"path": str(shop_db), "tabel_pattern": {}}}})
    assert len(problems) == 1
    assert problems[0].startswith("r.yml: source.config.tabel_pattern: unknown key (did you mean 'table_pattern'?)")


def test_every_problem_on_its_own_line(shop_db):
    problems = problems_of({
        "pipeline_name": "bad name!",
        "source": {"type": "sqlite", "config": {"path": str(shop_db), "include_views": "maybe"}},
        "schedule": {"cron": "every day"},
    })
    joined = "\n".join(problems)
    assert "r.yml: pipeline_name: expected" in joined
    assert "r.yml: schedule.cron: expected a cron expression with 5 fields" in joined
    assert len(problems) == 2  # plugin configs are checked once the recipe itself is valid
    problems = problems_of({"pipeline_name": "p", "source": {"type": "sqlite", "config": {"path": str(shop_db), "include_views": "maybe"}}})
    assert problems == ["r.yml: source.config.include_views: expected a valid boolean, found 'maybe'"]


def test_unknown_plugin_type_lists_installed_ones():
    problems = problems_of({"pipeline_name": "p", "source": {"type": "sqlit", "config": {}}})
    assert len(problems) == 1
    assert "source.type: unknown source type 'sqlit' (did you mean 'sqlite'?); installed: " in problems[0]


def test_invalid_regex_is_reported(shop_db):
    problems = problems_of({"pipeline_name": "p", "source": {"type": "sqlite", "config": {"path": str(shop_db), "table_pattern": {"allow": ["("]}}}})
    assert len(problems) == 1 and "source.config.table_pattern.allow: expected invalid regular expression '('" in problems[0]


def test_yaml_syntax_error_and_missing_file(write_recipe, tmp_path):
    with pytest.raises(RecipeError) as info:
        load_recipe(write_recipe("source: [unclosed"))
    assert "not valid YAML at line" in str(info.value)
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "missing.yml")


def test_secret_from_environment_never_shows_in_errors(monkeypatch, shop_db):
    monkeypatch.setenv("SHOP_DB_PASSWORD", "hunter2-very-secret")
    with pytest.raises(RecipeError) as info:
        parse_recipe({
            "pipeline_name": "p",
            "source": {"type": "sqlite", "config": {"path": str(shop_db), "database": "${SHOP_DB_PASSWORD}", "envv": "${SHOP_DB_PASSWORD}"}},
        })
    message = str(info.value)
    assert "envv" in message
    assert "hunter2-very-secret" not in message
    assert secrets.redact("connect with hunter2-very-secret") == "connect with ********"


def test_redaction_of_urls_and_secret_keys():
    assert secrets.redact("mysql+pymysql://bob:pa55word@db:3306/x") == "mysql+pymysql://bob:********@db:3306/x"
    assert secrets.redact_obj({"sink": {"config": {"token": "abc", "server": "http://x"}}}) == {
        "sink": {"config": {"token": "********", "server": "http://x"}}
    }


def test_pipeline_name_defaults_to_file_stem(write_recipe, shop_db):
    loaded = load_recipe(write_recipe(f"source: {{type: sqlite, config: {{path: {shop_db}}}}}\n", name="my-shop.yml"))
    assert loaded.pipeline_name == "my_shop"
