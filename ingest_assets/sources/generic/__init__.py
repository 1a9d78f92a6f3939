"""The `sqlalchemy` source (DataHub's generic one): any database SQLAlchemy has a dialect for, read through
SQLAlchemy 2's multi-table reflection, schema by schema."""

from .config import SQLAlchemyConfig
from .source import SQLAlchemySource

__all__ = ["SQLAlchemyConfig", "SQLAlchemySource"]
