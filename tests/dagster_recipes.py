"""Recipes for the Dagster tests: the quickstart shape over a temporary SQLite file and a temporary store."""

from pathlib import Path


def sqlite_recipe(db: Path, store: Path, pipeline: str = "shop", extra: str = "", table_deny: str = "",
                  tag: str = "urn:li:tag:quickstart", stateful: bool = False) -> str:
    deny = f"\n    table_pattern: {{deny: ['{table_deny}']}}\n    view_pattern: {{deny: ['{table_deny}']}}" if table_deny else ""
    if stateful:
        deny += "\n    stateful_ingestion: {enabled: true}"
    return f"""pipeline_name: {pipeline}
source:
  type: sqlite
  config:
    path: {db}
    database: shop{deny}
transformers:
  - type: simple_add_dataset_tags
    config:
      tag_urns: ["{tag}"]
sink:
  type: datahub-lite
  config:
    url: sqlite:///{store}
{extra}"""


def mysql_recipe(database_prefix: str, store: Path, pipeline: str = "shop_mysql", extra: str = "",
                 host_port: str = "127.0.0.1:3306", password: str = "") -> str:
    """A MariaDB recipe reading only the databases whose names start with `database_prefix`."""
    secret = f"\n    password: {password}" if password else ""
    return f"""pipeline_name: {pipeline}
source:
  type: mysql
  config:
    host_port: {host_port}
    username: root{secret}
    database_pattern: {{allow: ['^{database_prefix}']}}
sink:
  type: datahub-lite
  config:
    url: sqlite:///{store}
{extra}"""
