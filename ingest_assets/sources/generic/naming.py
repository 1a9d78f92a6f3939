"""Where a schema's objects go in DataHub's names: as the platform's dedicated source names them, and as DataHub's
generic source does for platforms without one.

- MySQL and MariaDB: a schema is a database; datasets `db.table` (as the mysql source).
- PostgreSQL: datasets `db.schema.table` under a database and a schema container (as DataHub's postgres source).
- SQLite: the file's stem is the database and `main` its only schema; datasets `db.table` (as the sqlite source).
- Any other platform: datasets `schema.table`, as DataHub's generic source names them, each schema a database
  container of its own (DataHub hangs a schema container under one named after the URL's database path).
"""

from dataclasses import dataclass
from pathlib import PurePath

TWO_TIER = frozenset({"mysql", "mariadb"})
THREE_TIER = frozenset({"postgres", "postgresql"})


@dataclass(frozen=True)
class Place:
    """A schema's place in URNs: the database (and schema, for three-tier platforms) its tables belong to."""

    database: str
    schema: str | None = None


def place_of(platform: str, url_database: str | None, schema: str) -> Place:
    if platform in THREE_TIER:
        return Place(url_database or "", schema)
    if platform == "sqlite" and schema == "main":
        return Place(PurePath(url_database or "main").stem)
    return Place(schema)


_SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"})
_SYSTEM_CATALOGS = frozenset({"system", "temp"})  # DuckDB names schemas `catalog.schema`; these two are its own


def is_system_schema(schema: str) -> bool:
    """A schema holding the database's own catalog, never ingested."""
    catalog, _, name = schema.rpartition(".")
    return name.lower() in _SYSTEM_SCHEMAS or catalog.lower() in _SYSTEM_CATALOGS
