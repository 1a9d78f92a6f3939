"""Stored procedures as DataHub's postgres source emits them: a dataFlow `<db>.<schema>.stored_procedures` per schema
that has procedures (in the database container) and a dataJob per procedure (in the schema container).

DataHub reads `prokind = 'p'` only: functions stay out. Procedures overload by argument list, so DataHub suffixes
each job's id with a hash of `pg_get_function_arguments` (ProcedureRecord.argument_signature); its body is
`prosrc`, its description the procedure's comment.
"""

from collections.abc import Callable, Iterator

from ...core.records import Location, ProcedureFlowRecord, ProcedureRecord
from .copy_stream import CopyStream, NoRows


def procedure_records(
    procedures: CopyStream | NoRows, location: Location, database: str, schema: str,
    wanted: Callable[[str, str], bool], report,
) -> Iterator[ProcedureFlowRecord | ProcedureRecord]:
    """The flow and the procedures of `schema` that `wanted` admits; the flow only before a first wanted procedure."""
    flow = False
    while (row := procedures.peek()) is not None and row[0] <= schema:
        for schema_name, name, language, arguments, body, comment in procedures.take((row[0], row[1])):
            if schema_name != schema:
                continue
            if not wanted(schema, name):
                report.count("filtered procedures")
                continue
            if not flow:
                flow = True
                yield ProcedureFlowRecord(location=location, database=database, schema_name=schema)
            report.count("procedures")
            yield ProcedureRecord(location=location, database=database, schema_name=schema, name=name, body=body,
                                  language=(language or "SQL").upper(), argument_signature=arguments or None,
                                  description=comment or None)
