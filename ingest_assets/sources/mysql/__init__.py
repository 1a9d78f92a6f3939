"""The mysql source (alias mariadb), split by concern: recipe keys, catalog queries, native types, view
definitions, and the source that joins them into snapshot records."""

from .config import MySQLConfig
from .source import MySQLSource

__all__ = ["MySQLConfig", "MySQLSource"]
