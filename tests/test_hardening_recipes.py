"""Recipes written by others: hostile YAML, huge values, odd bytes and regular expressions end quickly, in one line."""

import time

import pytest

from ingest_assets.core import secrets
from ingest_assets.core.patterns import AllowDenyPattern
from ingest_assets.core.recipe import MAX_RECIPE_BYTES, load_recipe

from .cli_runner import run_cli

GOOD = """pipeline_name: {name}
source: {{type: sqlite, config: {{path: /nonexistent.db, database: shop}}}}
sink: {{type: console}}
"""

BILLION_LAUGHS = "\n".join(
    ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
    + [f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{','.join(['*' + chr(ord('a') + i - 1)] * 9)}]" for i in range(1, 9)]
    + ["pipeline_name: laughs", "source: {type: sqlite, config: {path: /x.db, database: shop, table_pattern: {allow: *i}}}",
       "sink: {type: console}"]) + "\n"


def _one_line_exit_2(result, started: float, seconds: float = 20) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert time.time() - started < seconds
    return lines[0]


@pytest.mark.parametrize("name, content, says", [
    ("billion_laughs.yml", BILLION_LAUGHS.encode(), "expands to more than"),
    ("self_reference.yml", b"pipeline_name: loop\nsource: &s {type: sqlite, config: {self: *s}}\nsink: {type: console}\n",
     "contains itself"),
    ("self_list.yml", b"pipeline_name: loop\ntransformers: &t [*t]\nsource: {type: sqlite}\n", "contains itself"),
    ("latin1.yml", GOOD.format(name="caf\xe9").encode("latin-1"), "not UTF-8 text"),
    ("binary.yml", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, "binary file"),
    ("huge.yml", b"pipeline_name: big\n# " + b"x" * (MAX_RECIPE_BYTES + 10) + b"\n", "larger than"),
    ("deep.yml", b"pipeline_name: deep\nsource: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested"),
])
def test_a_hostile_recipe_file_is_one_line_exit_2_quickly(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content)
    started = time.time()
    line = _one_line_exit_2(run_cli("check", "-c", str(path), timeout=60), started)
    assert says in line


def test_dev_zero_as_the_recipe_is_refused_without_reading_it_all():
    started = time.time()
    line = _one_line_exit_2(run_cli("check", "-c", "/dev/zero", timeout=60), started)
    assert "larger than" in line or "binary" in line


@pytest.mark.parametrize("name, env", [("${HUGE_NAME}", {"HUGE_NAME": "p" * 100_000}), ("q" * 900_000, {})])
def test_a_huge_value_is_refused(tmp_path, name, env):
    path = tmp_path / "recipe.yml"
    path.write_text(GOOD.format(name=name))
    started = time.time()
    result = run_cli("check", "-c", str(path), env=env, timeout=60)
    assert "a recipe value may hold at most" in _one_line_exit_2(result, started)


def test_redaction_is_linear_in_the_text():
    """`redact` runs on every line we print; its URL-password pattern took 39 s on 100 KB of 'x'."""
    for text in ("x" * 2_000_000, "a://" * 500_000, "a://b:" * 300_000, "a:" * 1_000_000, "http://u:" + "p" * 2_000_000):
        started = time.perf_counter()
        secrets.redact(text)
        assert time.perf_counter() - started < 2, text[:20]
    assert secrets.redact("mysql+pymysql://root:hunter2@db:3306/x") == "mysql+pymysql://root:********@db:3306/x"


def test_a_catastrophic_pattern_matches_in_linear_time():
    pattern = AllowDenyPattern(allow=[".*(a+)+$"])
    started = time.perf_counter()
    assert not pattern.allowed("a" * 100_000 + "!")
    assert pattern.allowed("a" * 100_000)
    assert time.perf_counter() - started < 2
    assert pattern.python_only() == []
    case = AllowDenyPattern(allow=["^SHOP\\."], deny=["shop\\.tmp_.*"])
    assert case.allowed("shop.orders") and not case.allowed("Shop.tmp_x")
    assert not AllowDenyPattern(allow=["^SHOP"], ignoreCase=False).allowed("shop")


def test_a_pattern_re2_cannot_compile_falls_back_with_a_warning(tmp_path):
    path = tmp_path / "recipe.yml"
    path.write_text(GOOD.format(name="lookahead").replace(
        "database: shop}", "database: shop, table_pattern: {allow: ['shop\\.(?!tmp_).*']}}"))
    assert AllowDenyPattern(allow=["shop\\.(?!tmp_).*"]).allowed("shop.orders")
    assert not AllowDenyPattern(allow=["shop\\.(?!tmp_).*"]).allowed("shop.tmp_x")
    result = run_cli("check", "-c", str(path))
    assert result.returncode == 0, result.stderr
    assert "source.config.table_pattern: pattern 'shop\\\\.(?!tmp_).*' uses syntax RE2 lacks" in result.stdout
    assert "re2" not in result.stderr.lower()  # RE2's own error log stays quiet


def test_credential_headers_are_secrets_wherever_the_recipe_goes(tmp_path, monkeypatch):
    path = tmp_path / "recipe.yml"
    path.write_text("""pipeline_name: headers
source: {type: sqlite, config: {path: /x.db, database: shop}}
sink:
  type: datahub-rest
  config:
    server: http://127.0.0.1:9
    extra_headers: {Authorization: "Bearer tok-AAAA-1111", X-Api-Key: key-BBBB-2222, X-Team: data}
""")
    loaded = load_recipe(path)
    shown = str(loaded.as_read())  # what the Dagster metadata shows
    assert "tok-AAAA-1111" not in shown and "key-BBBB-2222" not in shown and "data" in shown
    assert secrets.redact("sent Authorization: Bearer tok-AAAA-1111") == "sent Authorization: ********"
    assert secrets.redact("token tok-AAAA-1111 and key-BBBB-2222") == "token ******** and ********"
