"""Native column types as DataHub's SQLAlchemy reflection spells them, and DataHub's field type for each, stated per type."""

import warnings
from functools import lru_cache

from sqlalchemy import types as sa_types
from sqlalchemy.dialects import mysql as sa_mysql
from sqlalchemy.dialects.mysql.reflection import MySQLTableDefinitionParser, ReflectedState

_DIALECT = sa_mysql.dialect()
_PARSER = MySQLTableDefinitionParser(_DIALECT, _DIALECT.identifier_preparer)

FIELD_TYPES: dict[str, str] = {
    **dict.fromkeys(("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "dec", "numeric", "fixed",
                     "float", "double", "real"), "NumberType"),
    "bit": "BytesType",
    **dict.fromkeys(("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"), "BytesType"),
    **dict.fromkeys(("char", "varchar", "nchar", "nvarchar", "tinytext", "text", "mediumtext", "longtext", "set", "uuid"),
                    "StringType"),
    "enum": "EnumType",
    "boolean": "BooleanType",
    "date": "DateType",
    **dict.fromkeys(("datetime", "timestamp", "time"), "TimeType"),
    "json": "RecordType",
}
"""DataHub's field type per MySQL/MariaDB type name (the first word of information_schema's COLUMN_TYPE),
as DataHub 1.7's mysql source classifies it; every other type (YEAR, spatial types, INET4/INET6, VECTOR)
is NullType. Written out per type: DataHub classifies by SQLAlchemy's class hierarchy, which moves between
SQLAlchemy versions (2.1 no longer makes FLOAT a Numeric)."""

_DATAHUB_REGISTERED = frozenset({"geometry", "point", "linestring", "polygon", "decimal128"})
"""Types DataHub's mysql source registers with SQLAlchemy as opaque binary ones: spelt BLOB, typed NullType."""


@lru_cache(maxsize=4096)
def native_type(column_type: str, charset: str | None = None, collation: str | None = None) -> tuple[str, str]:
    """(nativeDataType, DataHub field type) for an information_schema COLUMN_TYPE.

    `charset`/`collation` are given when `SHOW CREATE TABLE` would print them (the column's
    collation differs from the table's), which is when SQLAlchemy's reflection sees them.
    """
    base = column_type.split("(", 1)[0].split(" ", 1)[0].lower()
    if base in _DATAHUB_REGISTERED:
        return "BLOB", "NullType"
    field_type = FIELD_TYPES.get(base, "NullType")
    clause = f" CHARACTER SET {charset} COLLATE {collation}" if charset and collation else ""
    state = ReflectedState()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _PARSER._parse_column(f"  `c` {column_type}{clause},", state)
    if not state.columns:
        return column_type.upper(), field_type
    type_ = state.columns[0]["type"]
    if isinstance(type_, sa_types.NullType):  # a type SQLAlchemy does not know: DataHub writes its visit name
        return "null", "NullType"
    try:
        return str(type_.compile(dialect=_DIALECT)), field_type
    except Exception:  # a type SQLAlchemy reflects but cannot print: DataHub falls back to repr-like text
        return column_type.upper(), field_type

