"""The SQL databases our stores live in: where they are by default and how they are opened."""

import os
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..core.errors import ConnectionFailure, first_line
from ..core.secrets import redact


def user_home() -> Path:
    """INGEST_ASSETS_HOME, default ~/.ingest_assets: the embedded store and anything run outside Dagster."""
    return Path(os.environ.get("INGEST_ASSETS_HOME", Path.home() / ".ingest_assets"))


def instance_home() -> Path:
    """Beside the Dagster instance's storage when DAGSTER_HOME is set, else the user home."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]) / "ingest_assets"
    return user_home()


def display_url(url: str) -> str:
    """The URL without its password, for reports and errors."""
    try:
        return redact(make_url(url).render_as_string(hide_password=True))
    except ArgumentError:
        return "an invalid URL"


def open_engine(url: str, what: str, metadata: MetaData) -> Engine:
    """An engine for any SQLAlchemy URL with `metadata`'s tables created; SQLite files get their folder, WAL and a busy timeout."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConnectionFailure(f"not a SQLAlchemy database URL for the {what}: {display_url(url)}") from None
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed, pool_pre_ping=not sqlite)
    except (ArgumentError, ImportError) as exc:
        raise ConnectionFailure(f"cannot use the {what} at {display_url(url)}: {redact(first_line(exc))}") from None
    if sqlite:
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
    try:
        metadata.create_all(engine)
    except SQLAlchemyError as exc:
        raise ConnectionFailure(f"cannot open the {what} at {display_url(url)}: {redact(first_line(exc))}") from None
    return engine
