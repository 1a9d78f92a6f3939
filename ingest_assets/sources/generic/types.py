"""Native types and DataHub's field type for columns SQLAlchemy reflected, or that information_schema names.

DataHub's generic source classifies a reflected type by its SQLAlchemy class, first match in this order. Float is
listed on its own: SQLAlchemy 2.1 no longer makes it a Numeric, which DataHub's table relied on. MySQL's columns
follow the mysql source's table per type name, so both sources give the same schema.
"""

from sqlalchemy import types as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.engine import Dialect

from ...core.aspects import field_type_for
from ..mysql.types import FIELD_TYPES as MYSQL_FIELD_TYPES

_BY_CLASS: list[tuple[type, str]] = [
    (sa.Integer, "NumberType"), (sa.Numeric, "NumberType"), (sa.Float, "NumberType"), (sa.Boolean, "BooleanType"),
    (sa.Enum, "EnumType"), (sa._Binary, "BytesType"), (sa.LargeBinary, "BytesType"), (sa.PickleType, "BytesType"),
    (sa.ARRAY, "ArrayType"), (sa.String, "StringType"), (sa.Date, "DateType"), (sa.Time, "TimeType"),
    (sa.DateTime, "TimeType"), (sa.JSON, "RecordType"), (pg.BYTEA, "BytesType"), (pg.DOUBLE_PRECISION, "NumberType"),
    (pg.INET, "StringType"), (pg.MACADDR, "StringType"), (pg.MONEY, "NumberType"), (pg.OID, "StringType"),
    (pg.REGCLASS, "BytesType"), (pg.INTERVAL, "TimeType"), (pg.BIT, "BytesType"), (sa.Uuid, "StringType"),
    (pg.TSVECTOR, "BytesType"), (pg.HSTORE, "MapType"),
]


def native_type(type_: sa.TypeEngine, dialect: Dialect) -> str:
    """The type as DataHub writes it: compiled by the dialect; SQLAlchemy's name for one it does not know."""
    if isinstance(type_, sa.NullType):
        return type_.__visit_name__
    try:
        return str(type_.compile(dialect=dialect))
    except Exception:  # a type the dialect reflects but cannot print
        return getattr(type_, "__visit_name__", None) or repr(type_)


def field_type(platform: str, type_: sa.TypeEngine, native: str) -> str:
    if platform in ("mysql", "mariadb"):
        return MYSQL_FIELD_TYPES.get(native.split("(", 1)[0].split(" ", 1)[0].lower(), "NullType")
    for sa_class, name in _BY_CLASS:
        if isinstance(type_, sa_class):
            return name
    return "NullType"


def field_type_of_name(platform: str, native: str) -> str:
    """For a type information_schema names (no SQLAlchemy type reflected): by its name."""
    if platform in ("mysql", "mariadb"):
        return MYSQL_FIELD_TYPES.get(native.split("(", 1)[0].split(" ", 1)[0].lower(), "NullType")
    if native.endswith("]"):
        return "ArrayType"
    if native.upper().startswith(("MAP(", "HSTORE")):
        return "MapType"
    if native.upper().startswith(("STRUCT(", "JSON")):
        return "RecordType"
    return field_type_for(native)
