"""The postgres source, split by concern: recipe keys, catalog queries over pg_catalog, the COPY streams that
fetch them, native types, view definitions and lineage, stored procedures, and the source that joins them."""

from .config import PostgresConfig
from .source import PostgresSource

__all__ = ["PostgresConfig", "PostgresSource"]
