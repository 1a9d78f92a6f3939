"""Native column types as DataHub's SQLAlchemy reflection spells them, and DataHub's field type for each, stated per type.

The input is PostgreSQL's own `format_type(atttypid, atttypmod)`, which SQLAlchemy's dialect reads too; enums and
domains come out of it already schema-qualified (and quoted) exactly when the type is not on the search path, which
is how SQLAlchemy names them. Written out per type rather than compiled through SQLAlchemy's type classes: DataHub
1.7 runs on SQLAlchemy 2.0, whose spellings and class hierarchy (what DataHub classifies by) differ from 2.1's.
"""

import re
from functools import lru_cache

_SPELLED: dict[str, str] = {
    "smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT", "numeric": "NUMERIC", "real": "REAL",
    "double precision": "DOUBLE PRECISION", "money": "MONEY", "boolean": "BOOLEAN",
    "character": "CHAR", "character varying": "VARCHAR", "text": "TEXT", "citext": "CITEXT",
    "name": "VARCHAR", '"char"': "VARCHAR", "uuid": "UUID", "xml": "XML", "ltree": "LTREE",
    "inet": "INET", "cidr": "CIDR", "macaddr": "MACADDR", "macaddr8": "MACADDR8", "oid": "OID", "regclass": "REGCLASS",
    "bytea": "BYTEA", "bit": "BIT", "bit varying": "BIT VARYING", "tsvector": "TSVECTOR", "tsquery": "TSQUERY",
    "date": "DATE", "json": "JSON", "jsonb": "JSONB", "jsonpath": "JSONPATH", "hstore": "HSTORE",
    **{name: name.upper() for name in ("point", "line", "lseg", "box", "path", "polygon", "circle",
                                       "vector", "halfvec", "sparsevec")},
    **{name: name.upper() for name in ("int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange",
                                       "int4multirange", "int8multirange", "nummultirange", "tsmultirange",
                                       "tstzmultirange", "datemultirange")},
}
"""SQLAlchemy 2.0's spelling per type name that its PostgreSQL dialect (with DataHub's additions: geometric types,
pgvector, xml, ltree) knows. Any other name (bpchar without a length, pg_lsn, txid_snapshot, composite types...)
reflects as NullType, which DataHub writes as "null"."""

FIELD_TYPES: dict[str, str] = {
    **dict.fromkeys(("smallint", "integer", "bigint", "numeric", "real", "double precision", "money"), "NumberType"),
    "boolean": "BooleanType",
    **dict.fromkeys(("character", "character varying", "text", "citext", "name", '"char"', "uuid", "xml", "ltree",
                     "inet", "cidr", "macaddr", "oid"), "StringType"),
    **dict.fromkeys(("int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange", "int4multirange",
                     "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange", "datemultirange"), "StringType"),
    **dict.fromkeys(("bytea", "bit", "bit varying", "tsvector", "regclass",
                     "point", "line", "lseg", "box", "path", "polygon", "circle"), "BytesType"),
    "date": "DateType",
    **dict.fromkeys(("time without time zone", "time with time zone", "timestamp without time zone",
                     "timestamp with time zone", "interval"), "TimeType"),
    **dict.fromkeys(("json", "jsonb"), "RecordType"),
    "hstore": "MapType",
    **dict.fromkeys(("vector", "halfvec", "sparsevec"), "ArrayType"),
}
"""DataHub 1.7's field type per PostgreSQL type name, as its postgres source classifies it. Every array is ArrayType,
every enum EnumType; domains, macaddr8, tsquery, jsonpath, pg_lsn and anything unknown are NullType."""

_ARGS = re.compile(r"\(([^)]*)\)")
_TIME = re.compile(r"^(time|timestamp)(?:\((\d+)\))? (with|without) time zone$")
_INTERVAL = re.compile(r"^interval(?: ([a-z ]+?))?(?:\((\d+)\))?$")


def _base_spelling(format_type: str) -> tuple[str, str]:
    """(spelling, field type) of a type that is not an array, enum or domain."""
    time = _TIME.match(format_type)
    if time:
        kind, precision, zone = time.groups()
        spelled = kind.upper() + (f"({precision})" if precision else "") + f" {zone.upper()} TIME ZONE"
        return spelled, FIELD_TYPES[f"{kind} {zone} time zone"]
    interval = _INTERVAL.match(format_type)
    if interval:
        fields, precision = interval.groups()
        return "INTERVAL" + (f" {fields}" if fields else "") + (f" ({precision})" if precision else ""), "TimeType"
    args = _ARGS.search(format_type)
    name = _ARGS.sub("", format_type).strip()
    spelled = _SPELLED.get(name)
    if spelled is None:
        return "null", "NullType"
    if args and args.group(1):
        spelled += "(" + ", ".join(a.strip() for a in args.group(1).split(",")) + ")"
    return spelled, FIELD_TYPES.get(name, "NullType")


@lru_cache(maxsize=4096)
def native_type(format_type: str, kind: str) -> tuple[str, str]:
    """(nativeDataType, DataHub field type) for a column of `format_type`.

    `kind` is pg_type.typtype of the column's type, or of its element type for an array: 'e' enum, 'd' domain,
    anything else a base, composite, range or pseudo type.
    """
    is_array = format_type.endswith("[]")
    element = format_type.rstrip("[]") if is_array else format_type
    if kind == "e":
        spelled, field_type = element, "EnumType"
    elif kind == "d":
        spelled, field_type = element, "NullType"
    else:
        spelled, field_type = _base_spelling(element)
    if is_array:
        return spelled + "[]", "ArrayType"
    return spelled, field_type
