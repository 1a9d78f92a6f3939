"""A small SQLite catalog and recipes for the stateful-run tests: tables a test can alter, drop and re-create."""

import json
import sqlite3
from pathlib import Path

from ingest_assets.core.handover import read_lines
from ingest_assets.core.mcp import MCP
from ingest_assets.stages import RunFiles

TABLES = ["accounts", "invoices", "ledgers", "payments", "refunds"]


def build_catalog(path: Path) -> Path:
    """Five tables of three columns and one view over two of them."""
    with sqlite3.connect(path) as conn:
        for name in TABLES:
            conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, amount DECIMAL(10, 2), note TEXT)")
        conn.execute("CREATE VIEW big_invoices AS SELECT i.id, i.amount FROM invoices AS i JOIN accounts AS a ON a.id = i.id")
    return path


def execute(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)


def dataset_urn(table: str, database: str = "fin") -> str:
    return f"urn:li:dataset:(urn:li:dataPlatform:sqlite,{database}.{table},PROD)"


def recipe_text(db: Path, sink: str, *, pipeline: str = "fin", stateful: bool = True, threshold: float | None = None,
                table_deny: list[str] | None = None) -> str:
    config: dict = {"path": str(db), "database": "fin"}
    if stateful:
        config["stateful_ingestion"] = {"enabled": True}
        if threshold is not None:
            config["stateful_ingestion"]["fail_safe_threshold"] = threshold
    if table_deny:
        config["table_pattern"] = {"deny": table_deny}
    return json.dumps({"pipeline_name": pipeline, "source": {"type": "sqlite", "config": config}, "sink": json.loads(sink)})


def sent(artifacts: Path, pipeline: str = "fin") -> list[MCP]:
    """What the last mcps stage handed to the sink."""
    return [MCP.from_line(line) for line in read_lines(RunFiles.for_pipeline(pipeline, artifacts).mcps)]


def keys(mcps: list[MCP]) -> set[tuple[str, str]]:
    return {(m.entity_urn, m.aspect_name) for m in mcps}
