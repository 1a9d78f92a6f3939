"""The state diff (change-only emission, stale removal rules) and the state store (commits, acks, lease)."""

import os
import subprocess
import sys

import pytest

from ingest_assets.cli import main
from ingest_assets.core.errors import RecipeError
from ingest_assets.core.mcp import MCP
from ingest_assets.core.recipe import parse_recipe
from ingest_assets.core.state_diff import (
    REMOVED_STATUS_HASH,
    EntityInfo,
    EntityState,
    Scope,
    StateDiff,
)
from ingest_assets.store.state import PipelineBusy, StateStore

from .mysql_fixtures import HOST, PASSWORD, PORT, USER, mariadb  # noqa: F401

SHOP = Scope("mysql", "PROD", None, "shop")
HR = Scope("mysql", "PROD", None, "hr")


def _urn(db: str, table: str) -> str:
    return f"urn:li:dataset:(urn:li:dataPlatform:mysql,{db}.{table},PROD)"


def _mcps(db: str, table: str, columns: int = 1) -> list[MCP]:
    urn = _urn(db, table)
    return [
        MCP("dataset", urn, "status", {"removed": False}),
        MCP("dataset", urn, "schemaMetadata", {"fields": [{"fieldPath": f"c{i}"} for i in range(columns)]}),
    ]


def _info(scope: Scope, table: str) -> EntityInfo:
    return EntityInfo(scope, f"{scope.database}.{table}", "Table")


def _state_of(diff: StateDiff) -> dict[str, EntityState]:
    return {e.urn: e for e in diff.changed_entities(diff.removals([], lambda e: True, False, 75.0))}


def _first_run(tables: dict[Scope, list[str]]) -> dict[str, EntityState]:
    diff = StateDiff({})
    for scope, names in tables.items():
        for name in names:
            for mcp in _mcps(scope.database, name):
                assert diff.offer(mcp, _info(scope, name))
    return _state_of(diff)


def _run(previous, tables: dict[Scope, list[str]], full_refresh=False) -> tuple[StateDiff, list[MCP]]:
    diff = StateDiff(previous, full_refresh=full_refresh)
    sent = []
    for scope, names in tables.items():
        for name in names:
            sent += [m for m in _mcps(scope.database, name) if diff.offer(m, _info(scope, name))]
    return diff, sent


def test_unchanged_aspects_are_not_sent_and_changed_ones_are():
    previous = _first_run({SHOP: ["a", "b"]})
    diff, sent = _run(previous, {SHOP: ["a", "b"]})
    assert sent == [] and diff.counts["aspects unchanged"] == 4

    diff = StateDiff(previous)
    changed = _mcps("shop", "a", columns=2)
    assert [diff.offer(m, _info(SHOP, "a")) for m in changed] == [False, True]
    assert diff.counts["aspects changed"] == 1
    assert [e.urn for e in _state_of(diff).values()] == [_urn("shop", "a")]


def test_full_refresh_sends_everything():
    previous = _first_run({SHOP: ["a"]})
    diff, sent = _run(previous, {SHOP: ["a"]}, full_refresh=True)
    assert len(sent) == 2 and diff.counts["aspects re-sent (full refresh)"] == 2


def test_removal_only_inside_complete_scopes_and_wanted_by_filters():
    previous = _first_run({SHOP: ["a", "b", "c", "d"], HR: ["x"]})
    diff, _ = _run(previous, {SHOP: ["a", "b", "c"]})
    # hr was not enumerated this run: x stays; d is gone from a complete scope: removed
    decision = diff.removals([SHOP], lambda e: True, False, 75.0)
    assert [e.urn for e in decision.entities] == [_urn("shop", "d")]
    assert decision.in_scope == 4
    removal = list(diff.removal_mcps(decision))
    assert [(m.entity_urn, m.aspect_name, m.aspect) for m in removal] == [(_urn("shop", "d"), "status", {"removed": True})]
    # a filter that no longer wants d keeps it out of scope
    decision = diff.removals([SHOP], lambda e: e.info.name != "shop.d", False, 75.0)
    assert decision.entities == []
    # a source failure removes nothing
    decision = diff.removals([SHOP], lambda e: True, True, 75.0)
    assert decision.entities == [] and "failures" in decision.warning


def test_fail_safe_threshold_and_override():
    previous = _first_run({SHOP: ["a", "b", "c", "d"]})
    diff, _ = _run(previous, {SHOP: ["a"]})
    held = diff.removals([SHOP], lambda e: True, False, 50.0)
    assert held.entities == [] and held.stale == 3 and "fail_safe_threshold 50%" in held.warning
    allowed = diff.removals([SHOP], lambda e: True, False, 50.0, allow_mass_removal=True)
    assert len(allowed.entities) == 3
    below = diff.removals([SHOP], lambda e: True, False, 80.0)
    assert len(below.entities) == 3 and below.warning is None


def test_vanished_database_is_in_scope_only_for_a_full_catalog_listing():
    previous = _first_run({SHOP: ["a", "b", "c"], HR: ["x"]})
    diff, _ = _run(previous, {SHOP: ["a", "b", "c"]})
    assert diff.removals([SHOP], lambda e: True, False, 75.0).entities == []
    decision = diff.removals([SHOP], lambda e: True, False, 75.0, catalog_location=SHOP)
    assert [e.urn for e in decision.entities] == [_urn("hr", "x")]
    # the database filter no longer allows hr: nothing there is removed
    assert diff.removals([SHOP], lambda e: e.info.scope.database != "hr", False, 75.0, catalog_location=SHOP).entities == []


def test_a_database_scope_covers_its_schemas_but_a_schema_scope_only_itself():
    sales = Scope("postgres", "PROD", None, "shop", "sales")
    audit = Scope("postgres", "PROD", None, "shop", "audit")
    previous = _first_run({sales: ["a", "b"], audit: ["x", "y"]})
    diff, _ = _run(previous, {sales: ["a"], audit: ["x"]})
    assert [e.info.name for e in diff.removals([sales], lambda e: True, False, 75.0).entities] == ["shop.b"]
    shop = Scope("postgres", "PROD", None, "shop")
    assert sorted(e.info.name for e in diff.removals([shop], lambda e: True, False, 75.0).entities) == ["shop.b", "shop.y"]


def test_a_removed_entity_that_comes_back_is_sent_in_full():
    previous = _first_run({SHOP: ["a", "b"]})
    diff, _ = _run(previous, {SHOP: ["a"]})
    decision = diff.removals([SHOP], lambda e: True, False, 75.0)
    after = {**previous, **{e.urn: e for e in diff.changed_entities(decision)}}
    assert after[_urn("shop", "b")].removed and after[_urn("shop", "b")].aspects == {"status": REMOVED_STATUS_HASH}
    diff, sent = _run(after, {SHOP: ["a", "b"]})
    assert [(m.entity_urn, m.aspect_name) for m in sent] == [(_urn("shop", "b"), "status"), (_urn("shop", "b"), "schemaMetadata")]
    assert sent[0].aspect == {"removed": False}
    # and it is no longer a removal candidate while removed
    diff, _ = _run(after, {SHOP: ["a"]})
    assert diff.removals([SHOP], lambda e: True, False, 75.0).entities == []


def test_store_commit_acknowledgements_and_reset(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    entities = _first_run({SHOP: ["a", "b"]})
    assert store.commit_run("p", "run-1", ((e, False) for e in entities.values()), aspects_sent=4) == 2
    loaded = store.load("p")
    assert loaded == entities
    assert store.load("other") == {}

    new = EntityState(_urn("shop", "c"), "dataset", _info(SHOP, "c"), {"status": "h1", "schemaMetadata": "h2"})
    store.record_acknowledged("p", {new.urn: {"status": "h1"}, _urn("shop", "a"): {"schemaMetadata": "changed"}})
    loaded = store.load("p")
    assert loaded[new.urn].aspects == {"status": "h1"} and loaded[new.urn].entity_type == "dataset"
    assert loaded[new.urn].info.scope is None  # filled in by the next successful run's comparison
    assert loaded[_urn("shop", "a")].aspects["schemaMetadata"] == "changed"
    summary = store.summary("p")
    assert summary["last_run_id"] == "run-1" and summary["entities"] == {"dataset": {"present": 3, "removed": 0}}

    assert store.reset("p") == 3
    assert store.load("p") == {} and store.summary("p")["last_run_id"] is None


def test_lease_is_reentrant_in_one_process_and_refused_to_another(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(url)
    with store.lease("p"):
        with store.lease("p"):
            pass
        assert store.summary("p")["lease"] is not None
        other = subprocess.run(
            [sys.executable, "-c", f"from ingest_assets.store.state import StateStore; StateStore({url!r}).acquire('p')"],
            capture_output=True, text=True, timeout=60,
        )
        assert other.returncode != 0 and "PipelineBusy" in other.stderr and "never overlap" in other.stderr
        with pytest.raises(PipelineBusy):
            store.acquire("p", holder="elsewhere:1")
    assert store.summary("p")["lease"] is None
    # a holder on this host whose process is gone is stale: its lease is taken over
    store.acquire("p", holder=f"{os.uname().nodename}:999999999")
    assert store.acquire("p") is True
    store.release("p")


def test_state_store_on_mariadb(mariadb):
    name = mariadb.create("store")
    store = StateStore(f"mysql+pymysql://{USER}:{PASSWORD}@{HOST}:{PORT}/{name}")
    try:
        entities = _first_run({SHOP: ["a", "b"]})
        store.commit_run("p", "run-1", ((e, False) for e in entities.values()), 4)
        assert store.load("p") == entities
        with store.lease("p"):
            with pytest.raises(PipelineBusy):
                store.acquire("p", holder="elsewhere:1")
    finally:
        store.close()


def test_recipe_takes_stateful_ingestion_out_of_the_source_config(shop_db):
    raw = {"pipeline_name": "p", "source": {"type": "sqlite", "config": {
        "path": str(shop_db), "stateful_ingestion": {"enabled": True, "fail_safe_threshold": 20}}}}
    loaded = parse_recipe(raw)
    assert loaded.stateful.removes_stale and loaded.stateful.fail_safe_threshold == 20
    assert not parse_recipe({"pipeline_name": "p", "source": {"type": "sqlite", "config": {"path": str(shop_db)}}}).stateful.removes_stale
    raw["source"]["config"]["stateful_ingestion"] = {"enabeld": True}
    with pytest.raises(RecipeError) as err:
        parse_recipe(raw)
    assert "source.config.stateful_ingestion.enabeld: unknown key (did you mean 'enabled'?)" in str(err.value)


def test_cli_state_show_and_reset(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert main(["state", "--state", url, "show", "p"]) == 1
    assert "no state for pipeline p" in capsys.readouterr().err
    StateStore(url).commit_run("p", "run-1", ((e, False) for e in _first_run({SHOP: ["a"]}).values()), 2)
    assert main(["state", "--state", url, "show", "p", "--entities"]) == 0
    out = capsys.readouterr().out
    assert "run-1" in out and _urn("shop", "a") in out and "dataset" in out
    assert main(["state", "--state", url, "reset", "p"]) == 0
    assert "forgot 1 entities" in capsys.readouterr().out
    assert main(["state", "--state", url, "show", "p"]) == 1


def test_state_store_errors_hide_the_url_password(capsys):
    url = "mysql+pymysql://root:st-s3cret-pw@127.0.0.1:3306/st_no_such_db"
    assert main(["state", "--state", url, "show", "p"]) == 2
    err = capsys.readouterr().err
    assert "st-s3cret-pw" not in err and "root:***" in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_entity_whose_mcps_come_apart_is_merged_not_truncated(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    a, b = _mcps("shop", "a"), _mcps("shop", "b")
    pending: list[tuple[EntityState, bool]] = []
    diff = StateDiff(store.view("p"), on_changed=lambda entity, merge: pending.append((entity, merge)), window=2)
    stream = [(a[0], _info(SHOP, "a")), (b[0], _info(SHOP, "b")), (b[1], None), (a[1], None)]
    assert len(list(diff.select(stream, chunk_size=1))) == 4
    assert [(e.urn, merge) for e, merge in pending] == [(_urn("shop", "a"), False), (_urn("shop", "b"), False), (_urn("shop", "a"), True)]
    store.commit_run("p", "run-1", pending, 4)
    stored = store.load("p")[_urn("shop", "a")]
    assert set(stored.aspects) == {"status", "schemaMetadata"} and stored.info == _info(SHOP, "a")

    diff = StateDiff(store.view("p"), window=2)
    assert list(diff.select(stream, chunk_size=1)) == []
    assert diff.counts["entities seen before"] == 2 and diff.counts["aspects unchanged"] == 4


def test_a_record_is_skipped_only_when_every_entity_of_it_is_stored_whole():
    info = EntityInfo(SHOP, "shop.v", "View", "digest-v", 2)
    view = EntityState(_urn("shop", "v"), "dataset", info, {"status": "s"})
    query = EntityState("urn:li:query:view_1", "query", info, {"status": "q", "querySubjects": "qs"})
    diff = StateDiff({view.urn: view, query.urn: query})
    assert diff.unchanged_records(["digest-v", "other"]) == {"digest-v"}
    assert diff.seen == {view.urn, query.urn} and diff.counts["aspects unchanged"] == 3
    assert StateDiff({view.urn: view}).unchanged_records(["digest-v"]) == set()  # the query entity is missing
    assert StateDiff({view.urn: view, query.urn: query}, full_refresh=True).unchanged_records(["digest-v"]) == set()
    removed = EntityState(query.urn, "query", info, {"status": REMOVED_STATUS_HASH})
    assert StateDiff({view.urn: view, query.urn: removed}).unchanged_records(["digest-v"]) == set()
