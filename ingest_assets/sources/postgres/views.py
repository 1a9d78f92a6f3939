"""Views and materialized views: their definition as `pg_get_viewdef` prints it, and their lineage.

`pg_get_viewdef` qualifies a table by its schema exactly when the table is not visible on the search path,
so an unqualified name in a definition is a table of a search-path schema. The VIEWS query says which one
(the first search-path schema among the view's dependencies), and the lineage resolves unqualified names
there. DataHub resolves them against the view's own schema instead, and so links a view in `reports` reading
`public.things` to `reports.things`, which does not exist.
"""

from collections.abc import Callable

from ...core.errors import first_line
from ...core.records import DatasetRecord
from .catalog import unpack_reads


class PreparedView:
    """One view, ready for its dataset record: statement, lineage (a `ViewLineage`) and why its SQL could not be
    parsed, if it could not. (No carry-over of the previous run's lineage: here it depends on the search path and
    on what the view reads, not on its statement alone.)"""

    __slots__ = ("schema", "name", "materialized", "statement", "lineage", "error")

    def __init__(self, schema: str, name: str, materialized: bool, statement: str | None, lineage=None, error: str | None = None):
        self.schema, self.name, self.materialized = schema, name, materialized
        self.statement, self.lineage, self.error = statement, lineage, error


def prepare_view(row: tuple, database: str, wanted: Callable[[str, str], bool], with_lineage: bool) -> PreparedView:
    """A VIEWS row (schema, name, relkind, definition, search-path schema, relations read) prepared; views out of
    scope stay unparsed."""
    schema, name, relkind, definition, resolve_in, reads = row
    materialized = relkind == "m"
    if not wanted(schema, name):
        return PreparedView(schema, name, materialized, None)
    view = PreparedView(schema, name, materialized, definition)
    if not with_lineage or definition is None:
        return view
    import sqlglot  # first imported here, in the views thread, while the main thread waits for the relations

    from ...lineage import view_lineage

    try:
        columns = unpack_reads(reads)
        view.lineage = view_lineage(definition, "postgres", database, resolve_in,
                                    lambda table: columns.get((table.schema_name, table.name)),
                                    two_tier=False, pretty_statement=True)
    except (sqlglot.errors.SqlglotError, ValueError, RecursionError) as exc:
        view.error = first_line(exc)
    return view


def add_view(record: DatasetRecord, view: PreparedView, column_lineage: bool, report) -> None:
    """The view's definition and lineage onto its dataset record."""
    record.view_definition = view.statement
    record.materialized = view.materialized
    table = record.table
    if view.error is not None:
        report.warn(f"{table.database}.{table.schema_name}.{table.name}: view SQL could not be parsed for lineage ({view.error})")
    lineage = view.lineage
    if lineage is None:
        return
    lineage.apply_to(record, column_lineage)
