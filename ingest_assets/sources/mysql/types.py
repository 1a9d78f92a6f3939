"""Native column types as DataHub's SQLAlchemy reflection spells them, and DataHub's field type for each."""

import warnings
from functools import lru_cache

from sqlalchemy import types as sa_types
from sqlalchemy.dialects import mysql as sa_mysql
from sqlalchemy.dialects.mysql.reflection import MySQLTableDefinitionParser, ReflectedState

# --- native types, as DataHub's SQLAlchemy reflection spells and classifies them ---------------

_DIALECT = sa_mysql.dialect()
_PARSER = MySQLTableDefinitionParser(_DIALECT, _DIALECT.identifier_preparer)

# DataHub's `_field_type_mapping`, in its order (the first isinstance match wins).
_FIELD_TYPES: list[tuple[type, str]] = [
    (sa_types.Integer, "NumberType"),
    (sa_types.Numeric, "NumberType"),
    (sa_types.Boolean, "BooleanType"),
    (sa_types.Enum, "EnumType"),
    (sa_types._Binary, "BytesType"),
    (sa_types.LargeBinary, "BytesType"),
    (sa_types.PickleType, "BytesType"),
    (sa_types.ARRAY, "ArrayType"),
    (sa_types.String, "StringType"),
    (sa_types.Date, "DateType"),
    (sa_types.Time, "TimeType"),
    (sa_types.DateTime, "TimeType"),
    (sa_types.TIMESTAMP, "TimeType"),
    (sa_types.JSON, "RecordType"),
]


# Types DataHub's mysql source adds to SQLAlchemy's reflection (spelt in capitals, no field type).
_DATAHUB_REGISTERED = frozenset({"geometry", "point", "linestring", "polygon", "decimal128"})


@lru_cache(maxsize=4096)
def native_type(column_type: str, charset: str | None = None, collation: str | None = None) -> tuple[str, str]:
    """(nativeDataType, DataHub field type) for an information_schema COLUMN_TYPE.

    `charset`/`collation` are given when `SHOW CREATE TABLE` would print them (the column's
    collation differs from the table's), which is when SQLAlchemy's reflection sees them.
    """
    base = column_type.split("(", 1)[0].split(" ", 1)[0].lower()
    if base in _DATAHUB_REGISTERED:
        return base.upper(), "NullType"
    clause = f" CHARACTER SET {charset} COLLATE {collation}" if charset and collation else ""
    state = ReflectedState()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _PARSER._parse_column(f"  `c` {column_type}{clause},", state)
    if not state.columns:
        return column_type.upper(), "NullType"
    type_ = state.columns[0]["type"]
    if isinstance(type_, sa_types.NullType):
        return "NULL", "NullType"
    try:
        spelled = str(type_.compile(dialect=_DIALECT))
    except Exception:  # a type SQLAlchemy reflects but cannot print: DataHub falls back to repr-like text
        spelled = column_type.upper()
    for sa_class, field_type in _FIELD_TYPES:
        if isinstance(type_, sa_class):
            return spelled, field_type
    return spelled, "NullType"

