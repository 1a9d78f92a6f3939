"""Stored procedures: `information_schema.ROUTINES`, read once for every database in scope.

DataHub's mysql source lists each database's procedures (ROUTINE_TYPE 'PROCEDURE'; functions stay
out) as dataJobs under one dataFlow `<db>.stored_procedures`, and leaves the flow out for a database
without procedures. It asks per database; here SCHEMATA says which databases hold procedures (the
statement the source sends anyway), one sorted ROUTINES statement covers those, and each database
takes its rows when its turn comes, so memory holds a few chunks whatever the procedure count.
"""

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ...core.records import Location, ProcedureFlowRecord, ProcedureRecord
from ..row_stream import NoRows
from .catalog import _in_list, _Stream

if TYPE_CHECKING:
    from .source import MySQLSource



def schemata_sql(with_procedures: bool) -> str:
    """SCHEMATA, and (second column) whether a schema holds a procedure: without one the ROUTINES statement is never sent."""
    if not with_procedures:
        return "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
    return (
        "SELECT SCHEMA_NAME, SCHEMA_NAME IN (SELECT ROUTINE_SCHEMA FROM information_schema.ROUTINES "
        "WHERE ROUTINE_TYPE = 'PROCEDURE') FROM information_schema.SCHEMATA"
    )


def holding_procedures(schemata_rows) -> set[str]:
    """The schemas that `schemata_sql(True)` marked as holding procedures."""
    return {row[0] for row in schemata_rows if len(row) > 1 and row[1]}


def routines_sql(n: int) -> str:
    """Every procedure of `n` databases, in the byte order the other catalog streams use."""
    return (
        "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_DEFINITION, EXTERNAL_LANGUAGE FROM information_schema.ROUTINES "
        f"WHERE ROUTINE_TYPE = 'PROCEDURE' AND ROUTINE_SCHEMA IN ({_in_list(n)}) "
        "ORDER BY BINARY ROUTINE_SCHEMA, BINARY ROUTINE_NAME"
    )


def routines_fingerprint_sql(n: int) -> str:
    """A sub-select for the source's fingerprint: changes when a procedure is created, dropped or altered."""
    return (
        "(SELECT CONCAT_WS(':', COUNT(*), BIT_XOR(CRC32(CONCAT_WS(0x1f, ROUTINE_SCHEMA, ROUTINE_NAME, "
        "COALESCE(ROUTINE_DEFINITION, ''))))) FROM information_schema.ROUTINES "
        f"WHERE ROUTINE_TYPE = 'PROCEDURE' AND ROUTINE_SCHEMA IN ({_in_list(n)}))"
    )


def open_routines(source: "MySQLSource", databases: list[str]) -> _Stream | NoRows:
    """The ROUTINES stream of `databases`, on a connection of its own; nothing to read when none holds a procedure.

    A row holds a whole body: small chunks keep the read-ahead to a few megabytes.
    """
    if not databases:
        return NoRows()
    return _Stream(source, (routines_sql(len(databases)), list(databases)), chunk=50, ahead=4)


def _text(value) -> str | None:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def procedure_records(
    routines: _Stream | NoRows, location: Location, database: str, wanted: Callable[[str, str], bool], report,
) -> Iterator[ProcedureFlowRecord | ProcedureRecord]:
    """The flow and the procedures of `database` that `wanted` admits, from the ROUTINES stream.

    Rows of databases that sort before it are passed over (none are asked for twice). The flow goes
    out before the first wanted procedure, and not at all without one, as DataHub does.
    """
    if isinstance(routines, NoRows):
        return
    mine = database.encode("utf-8")
    flow = False
    while (row := routines.peek()) is not None and row[0].encode("utf-8") <= mine:
        schema, name, body, language = routines.take((row[0], row[1]))[0]
        if schema != database:
            continue
        if not wanted(database, name):
            report.count("filtered procedures")
            continue
        if not flow:
            flow = True
            yield ProcedureFlowRecord(location=location, database=database)
        report.count("procedures")
        yield ProcedureRecord(location=location, database=database, name=name, body=_text(body), language=_text(language) or "SQL")
