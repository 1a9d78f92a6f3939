"""DataHub's mysql recipes run unchanged: every key DataHub's source accepts is accepted here, implemented where it
has meaning (schema_pattern, domain, sqlalchemy_uri, convert_urns_to_lowercase, run_id, stored procedures) and named
in one warning where it has none; keys DataHub rejects stay errors."""

import json

import pytest

from ingest_assets.core.errors import RecipeError
from ingest_assets.core.recipe import parse_recipe

from .cli_runner import run_cli
from .mysql_fixtures import HOST, PASSWORD, PORT, USER, mariadb, quote  # noqa: F401

# Every key of DataHub 1.7's MySQLConfig (its model_fields), with a value a DataHub user could write.
DATAHUB_MYSQL_KEYS = {
    "host_port": f"{HOST}:{PORT}", "username": USER, "password": PASSWORD, "database": None, "scheme": "mysql+pymysql",
    "sqlalchemy_uri": None, "options": {"connect_args": {"read_timeout": 60}},
    "database_pattern": {"allow": [".*"], "deny": [], "ignoreCase": True}, "table_pattern": {"allow": [".*"]},
    "view_pattern": {"deny": ["^tmp"]}, "schema_pattern": None, "profile_pattern": {"allow": [".*"]},
    "procedure_pattern": {"allow": [".*"]}, "domain": {"urn:li:domain:sales": {"allow": ["shop\\..*"]}},
    "include_views": True, "include_tables": True, "include_table_location_lineage": True,
    "include_view_lineage": True, "include_view_column_lineage": True, "include_stored_procedures": True,
    "use_file_backed_cache": True, "profiling": {"enabled": False, "profile_table_level_only": True},
    "classification": {"enabled": False}, "incremental_lineage": False, "convert_urns_to_lowercase": False,
    "env": "PROD", "platform_instance": None, "stateful_ingestion": {"enabled": False},
    "aws_config": {"aws_region": "eu-west-1"}, "auth_mode": "PASSWORD", "include_usage_statistics": False,
    "usage_source": "performance_schema", "usage": {"bucket_duration": "DAY"}, "email_domain": None,
}
assert len(DATAHUB_MYSQL_KEYS) == 34


def mysql_recipe(**config) -> dict:
    return {"pipeline_name": "p", "source": {"type": "mysql", "config": config}, "sink": {"type": "console"}}


def test_every_datahub_mysql_key_is_accepted():
    config = {k: v for k, v in DATAHUB_MYSQL_KEYS.items() if k != "schema_pattern"}  # DataHub rejects both spellings at once
    loaded = parse_recipe(mysql_recipe(**config), "r.yml")
    assert loaded.source_config.domain == {"urn:li:domain:sales": loaded.source_config.database_pattern.__class__(allow=["shop\\..*"])}
    assert loaded.source_config.include_stored_procedures is True
    assert [n.split(":")[1].strip() for n in loaded.notices] == ["source.config.aws_config", "source.config.usage"]


def test_inert_keys_set_to_something_warn_once_each_and_defaults_do_not():
    loaded = parse_recipe({**mysql_recipe(host_port="h:3306", profiling={"enabled": True}, include_usage_statistics=True,
                                          classification={"enabled": True}, auth_mode="AWS_IAM", profile_pattern={"deny": ["x"]}),
                           "datahub_api": {"server": "http://gms:8080"}, "flags": {"generate_browse_path_v2": True},
                           "reporting": [{"type": "datahub"}], "failure_log": {"enabled": True}}, "r.yml")
    assert [line.split(":", 2)[1].strip() for line in loaded.notices] == [
        "datahub_api", "failure_log", "flags", "reporting", "source.config.auth_mode", "source.config.classification",
        "source.config.include_usage_statistics"]  # profiling and profile_pattern act for mysql (the profile asset)
    assert parse_recipe(mysql_recipe(profiling={"enabled": False, "max_workers": 4}), "r.yml").notices == []


def test_schema_pattern_is_datahubs_old_name_of_database_pattern():
    loaded = parse_recipe(mysql_recipe(schema_pattern={"allow": ["^shop"]}), "r.yml")
    assert loaded.source_config.database_pattern.allowed("shop_eu") and not loaded.source_config.database_pattern.allowed("crm")
    with pytest.raises(RecipeError) as info:
        parse_recipe(mysql_recipe(schema_pattern={"allow": ["a"]}, database_pattern={"allow": ["b"]}), "r.yml")
    assert "schema_pattern and database_pattern both given" in info.value.problems[0]


@pytest.mark.parametrize("config, expected", [
    ({"tabel_pattern": {}}, "source.config.tabel_pattern: unknown key (did you mean 'table_pattern'?)"),
    ({"domain": {"sales": {"allow": [".*"]}}}, "source.config.domain: expected domain URNs such as 'urn:li:domain:sales'"),
    ({"sqlalchemy_uri": "not a url"}, "source.config.sqlalchemy_uri: expected a SQLAlchemy URL"),
    ({"auth_mode": "KERBEROS"}, "source.config.auth_mode: expected 'PASSWORD' or 'AWS_IAM'"),
])
def test_keys_datahub_rejects_stay_errors(config, expected):
    with pytest.raises(RecipeError) as info:
        parse_recipe(mysql_recipe(**config), "r.yml")
    assert info.value.problems[0].startswith(f"r.yml: {expected}"), info.value.problems


def test_a_typical_datahub_recipe_runs_unchanged(mariadb, tmp_path):
    """profiling, schema_pattern, domain, run_id, include_stored_procedures and a datahub_api block: exit 0, the run
    stamped with the recipe's run_id, the domain on the matching database and table, the tables profiled, and one
    warning for the key with no effect (datahub_api)."""
    db = mariadb.create("typical", [
        "CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10, 2))",
        "CREATE TABLE notes (id INT PRIMARY KEY)",
        "CREATE PROCEDURE refresh_orders() BEGIN SELECT COUNT(*) FROM orders; END",
    ])
    out = tmp_path / "out.json"
    recipe = tmp_path / "recipe.yml"
    recipe.write_text(f"""
source:
  type: mysql
  config:
    host_port: {HOST}:{PORT}
    username: {USER}
    password: "{PASSWORD}"
    schema_pattern: {{allow: ["^{db}$"]}}
    include_stored_procedures: true
    domain:
      "urn:li:domain:sales": {{allow: ["{db}$", "{db}\\\\.orders$"]}}
    profiling: {{enabled: true}}
    stateful_ingestion: {{enabled: true, remove_stale_metadata: true}}
run_id: nightly-2026-12-02
datahub_api: {{server: "http://localhost:8080", token: "${{DATAHUB_TOKEN:-}}"}}
sink:
  type: file
  config: {{filename: "{out}"}}
""")
    result = run_cli("ingest", "-c", str(recipe), env={"INGEST_ASSETS_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stderr + result.stdout
    assert "datahub_api: no DataHub API is needed here" in result.stdout + result.stderr
    records = json.loads(out.read_text())
    assert {r["systemMetadata"]["runId"] for r in records} == {"nightly-2026-12-02"}
    domains = {r["entityUrn"]: r["aspect"]["json"] for r in records if r["aspectName"] == "domains"}
    orders = f"urn:li:dataset:(urn:li:dataPlatform:mysql,{db}.orders,PROD)"
    assert domains.pop(orders) == {"domains": ["urn:li:domain:sales"]}
    assert list(domains.values()) == [{"domains": ["urn:li:domain:sales"]}]  # the database's container, not notes
    assert next(iter(domains)).startswith("urn:li:container:")
    assert any(r["entityType"] == "dataJob" and r["entityUrn"].endswith(",refresh_orders)") for r in records)
    profiles = json.loads(out.with_name("out.profile.json").read_text())
    assert {p["entityUrn"] for p in profiles if p["aspectName"] == "datasetProfile"} == {
        orders, f"urn:li:dataset:(urn:li:dataPlatform:mysql,{db}.notes,PROD)"}


def test_convert_urns_to_lowercase_lowercases_every_dataset_urn(mariadb, tmp_path):
    db = mariadb.create("Lower", [
        "CREATE TABLE Orders (Id INT PRIMARY KEY, CustomerId INT)",
        "CREATE TABLE Customers (Id INT PRIMARY KEY)",
        "ALTER TABLE Orders ADD CONSTRAINT fk FOREIGN KEY (CustomerId) REFERENCES Customers (Id)",
        "CREATE VIEW BigOrders AS SELECT Id, CustomerId FROM Orders",
    ])
    out = tmp_path / "out.json"
    recipe = tmp_path / "recipe.yml"
    recipe.write_text(f"""
pipeline_name: lower
source:
  type: mysql
  config:
    sqlalchemy_uri: "mysql+pymysql://{USER}:{PASSWORD}@{HOST}:{PORT}"
    database_pattern: {{allow: ["^{db}$"]}}
    convert_urns_to_lowercase: true
sink:
  type: file
  config: {{filename: "{out}"}}
""")
    result = run_cli("ingest", "-c", str(recipe), env={"INGEST_ASSETS_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stderr + result.stdout
    records = json.loads(out.read_text())
    datasets = {r["entityUrn"] for r in records if r["entityType"] == "dataset"}
    lower = db.lower()
    assert datasets == {f"urn:li:dataset:(urn:li:dataPlatform:mysql,{lower}.{t},PROD)" for t in ("orders", "customers", "bigorders")}
    schema = next(r["aspect"]["json"] for r in records if r["aspectName"] == "schemaMetadata" and r["entityUrn"].endswith(".orders,PROD)"))
    assert schema["schemaName"] == f"{db}.Orders"  # names stay as the catalog spells them; only URNs are lowercased
    assert schema["foreignKeys"][0]["foreignDataset"] == f"urn:li:dataset:(urn:li:dataPlatform:mysql,{lower}.customers,PROD)"
    assert schema["foreignKeys"][0]["foreignFields"] == [f"urn:li:schemaField:(urn:li:dataset:(urn:li:dataPlatform:mysql,{lower}.customers,PROD),Id)"]
    lineage = next(r["aspect"]["json"] for r in records if r["aspectName"] == "upstreamLineage")
    assert lineage["upstreams"][0]["dataset"] == f"urn:li:dataset:(urn:li:dataPlatform:mysql,{lower}.orders,PROD)"


def test_a_wrong_password_in_sqlalchemy_uri_is_one_line_exit_2_and_never_shown(tmp_path):
    recipe = tmp_path / "recipe.yml"
    recipe.write_text(f"""
pipeline_name: secret_uri
source:
  type: mysql
  config:
    sqlalchemy_uri: "mysql+pymysql://{USER}:s3cr3t-xyz@{HOST}:{PORT}"
sink: {{type: console}}
""")
    result = run_cli("ingest", "-c", str(recipe), env={"INGEST_ASSETS_HOME": str(tmp_path / "home")})
    assert result.returncode == 2
    assert "s3cr3t" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"error: cannot connect to MySQL at {HOST}:{PORT}: Access denied for user '{USER}'@")
    assert "Traceback" not in result.stdout + result.stderr
