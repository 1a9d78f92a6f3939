"""Column-level lineage of a view from its SQL, with sqlglot, as DataHub 1.7 computes it; shared by the SQL sources.

DataHub's parser (datahub.sql_parsing.sqlglot_lineage) is the reference: same tables, same column edges,
same transformOperation text, given the sqlglot version DataHub pins (the project pins it too).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer import optimize
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.qualify_columns import quote_identifiers
from sqlglot.optimizer.scope import build_scope
from sqlglot.optimizer.unnest_subqueries import unnest_subqueries
from sqlglot.schema import MappingSchema

from .core.records import ColumnLineage, ColumnRef, TableRef


@dataclass
class ViewLineage:
    upstreams: list[TableRef] = field(default_factory=list)
    columns: list[ColumnLineage] = field(default_factory=list)
    statement: str | None = None
    """The parsed statement pretty-printed, as DataHub stores it on the view's query entity (when asked for)."""

    def apply_to(self, record, column_lineage: bool = True) -> None:
        """A view record's lineage fields from this lineage; column lineage only where the recipe wants it."""
        record.upstreams = self.upstreams
        record.view_query = self.statement
        if column_lineage:
            record.column_lineage = self.columns


def _table_ref(table: exp.Table, default_db: str, default_schema: str | None, two_tier: bool) -> TableRef:
    if two_tier:
        return TableRef(database=table.db or default_db, name=table.name)
    return TableRef(database=table.catalog or default_db, schema_name=table.db or default_schema, name=table.name)


def view_lineage(
    sql: str,
    dialect: str,
    default_db: str,
    default_schema: str | None,
    columns_of: Callable[[TableRef], list[str] | None],
    two_tier: bool = True,
    pretty_statement: bool = False,
) -> ViewLineage:
    """Parse a view's SELECT and trace every output column to the base-table columns it reads.

    `columns_of` returns a table's column names (to expand `*`), or None for an unknown table.
    Raises sqlglot's errors when the SQL cannot be parsed; callers turn that into a warning.
    A plain SELECT spelt out in full (what MySQL stores for a view) is traced straight from the parse
    tree; anything else goes through DataHub's own steps in `_scoped_lineage`.
    """
    statement = sqlglot.parse_one(sql, dialect=dialect)
    tree = statement.expression if isinstance(statement, exp.Create) else statement
    if not isinstance(tree, exp.Query):
        raise ValueError("the view's body is not a query")
    result = _simple_select_lineage(tree, dialect, default_db, default_schema, two_tier)
    if result is None:
        pretty = statement.sql(dialect=dialect, pretty=True) if pretty_statement else None
        result = _scoped_lineage(tree, dialect, default_db, default_schema, columns_of, two_tier)
    else:
        pretty = statement.sql(dialect=dialect, pretty=True, copy=False) if pretty_statement else None
    result.statement = pretty
    return result


def _simple_select_lineage(tree: exp.Query, dialect: str, default_db: str, default_schema: str | None, two_tier: bool) -> ViewLineage | None:
    """Lineage of a single SELECT over plain tables, every identifier quoted, every projection aliased and every
    column qualified by its table (how MySQL stores a view), or None when it is not one.

    Such a SELECT is already what DataHub's optimizer makes of it, so its projections' text is DataHub's
    transformOperation as it stands; anything less spelt out goes through `_scoped_lineage`.
    """
    if not isinstance(tree, exp.Select) or not all(isinstance(p, exp.Alias) for p in tree.selects):
        return None
    tables = []
    for node in tree.walk(bfs=False):
        if isinstance(node, exp.Table):
            tables.append(node)
        elif isinstance(node, exp.Identifier):
            if not node.quoted:
                return None
        elif isinstance(node, (exp.Select, exp.SetOperation, exp.Star, exp.With)) and node is not tree:
            return None
    by_alias: dict[str, TableRef] = {}
    upstreams: dict[tuple, TableRef] = {}
    for table in tables:
        if not table.name or table.alias_or_name in by_alias:
            return None
        ref = _table_ref(table, default_db, default_schema, two_tier)
        by_alias[table.alias_or_name] = ref
        upstreams[(ref.database, ref.schema_name, ref.name)] = ref
    result = ViewLineage(upstreams=list(upstreams.values()))
    generator = Dialect.get_or_raise(dialect).generator()  # one for the view's projections: `Expression.sql` builds one each
    for projection in tree.selects:
        refs: dict[tuple, ColumnRef] = {}
        for column in projection.find_all(exp.Column):
            if column.args.get("catalog") or column.args.get("db"):
                return None
            table = by_alias.get(column.table)
            if table is None:
                return None
            refs[(table.database, table.schema_name, table.name, column.name)] = ColumnRef(table=table, column=column.name)
        result.columns.append(_edge(projection, list(refs.values()), generator.generate(projection, copy=False)))
    return result


def _edge(projection: exp.Expression, upstreams: list[ColumnRef], text: str) -> ColumnLineage:
    """DataHub labels a projection that only names a column COPY, anything computed SQL; one that reads no column
    at all (`COUNT(*)`, a constant) ends its trace at once, which DataHub labels COPY too."""
    kind = "COPY" if not upstreams or _names_a_column(projection) else "SQL"
    return ColumnLineage(downstream=projection.alias_or_name, upstreams=upstreams, transform=f"{kind}: {text}")


_DATAHUB_OPTIMIZER_RULES = (qualify, pushdown_projections, unnest_subqueries, quote_identifiers)
"""The optimizer rules DataHub 1.7 runs before tracing columns (sqlglot_lineage._OPTIMIZE_RULES).

unnest_subqueries is why a scalar subquery's column traces to the column it selects (DataHub's text for it
reads `MAX(...)`, the aggregate the rule wraps it in), not to the outer column it is correlated on."""


def _scoped_lineage(
    tree: exp.Query,
    dialect: str,
    default_db: str,
    default_schema: str | None,
    columns_of: Callable[[TableRef], list[str] | None],
    two_tier: bool,
) -> ViewLineage:
    """DataHub 1.7's tracing, step for step (sqlglot_lineage._sqlglot_lineage_inner and _column_level_lineage).

    Tables are read after qualifying table names only; columns after DataHub's optimizer rules, one sqlglot
    lineage graph per output column. Like DataHub, a query whose columns cannot be traced keeps its tables.
    """
    defaults = {"catalog": None if two_tier else default_db, "db": default_db if two_tier else default_schema}
    tables_qualified = qualify(
        tree, dialect=dialect, qualify_columns=False, validate_qualify_columns=False,
        allow_partial_qualification=True, identify=False, **defaults,
    )
    result = ViewLineage(upstreams=_read_tables(tables_qualified, default_db, default_schema, two_tier))
    try:
        optimized = optimize(
            tables_qualified, dialect=dialect, rules=_DATAHUB_OPTIMIZER_RULES,
            schema=_known_schema(result.upstreams, dialect, columns_of, two_tier),
            qualify_columns=True, validate_qualify_columns=False, allow_partial_qualification=True, identify=True,
            **defaults,
        )
        result.columns = _traced_columns(optimized, dialect, default_db, default_schema, two_tier, result.upstreams)
    except (SqlglotError, ValueError, IndexError):
        result.columns = []
    return result


def _read_tables(tree: exp.Expression, default_db: str, default_schema: str | None, two_tier: bool) -> list[TableRef]:
    """Every named table the query reads, in order of appearance, less references to its own CTEs (as DataHub)."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    found: dict[tuple, TableRef] = {}
    for table in tree.find_all(exp.Table):
        if not table.name or (table.name in ctes and not table.db and not table.catalog):
            continue
        ref = _table_ref(table, default_db, default_schema, two_tier)
        found.setdefault((ref.database, ref.schema_name, ref.name), ref)
    return list(found.values())


def _known_schema(
    tables: list[TableRef], dialect: str, columns_of: Callable[[TableRef], list[str] | None], two_tier: bool
) -> MappingSchema:
    """The columns of the read tables `columns_of` knows, unnormalized as DataHub keeps them (`*` expands to these)."""
    schema = MappingSchema(dialect=dialect, normalize=False)
    for ref in tables:
        columns = columns_of(ref)
        if columns is not None:
            key = exp.table_(ref.name, db=ref.database if two_tier else ref.schema_name, catalog=None if two_tier else ref.database)
            schema.add_table(key, column_mapping={column: "UNKNOWN" for column in columns}, dialect=dialect)
    return schema


def _traced_columns(
    optimized: exp.Expression, dialect: str, default_db: str, default_schema: str | None, two_tier: bool, tables: list[TableRef]
) -> list[ColumnLineage]:
    """One edge per output column, as DataHub's _select_statement_cll: a column that reads no base-table column
    (`COUNT(*)`, a constant) has none, and is still a subject of the view's query."""
    root = build_scope(optimized)
    if root is None or not isinstance(optimized, exp.Query):
        return []
    known = {(t.database, t.schema_name, t.name) for t in tables}
    columns = []
    for projection in optimized.selects:
        name = projection.alias_or_name
        if not name or name == "*":
            continue
        try:
            node = lineage(_exact_column(name), optimized, dialect=dialect, scope=root, trim_selects=False, copy=False)
            upstreams = _leaf_columns(node, dialect, default_db, default_schema, two_tier, known)
        except (SqlglotError, ValueError, KeyError, IndexError):
            continue  # DataHub skips a column it cannot trace and keeps the others
        downstream = node.expression.this.sql(dialect=dialect) if name.startswith("_col_") else name
        columns.append(ColumnLineage(downstream=downstream, upstreams=upstreams, transform=_transform_operation(node, dialect)))
    return columns


def _exact_column(name: str) -> exp.Column:
    """An output column's name marked case-sensitive, so sqlglot's lineage matches it verbatim (as DataHub does)."""
    column = exp.column(name)
    column.this.meta["case_sensitive"] = True
    return column


def _leaf_columns(
    node: Node, dialect: str, default_db: str, default_schema: str | None, two_tier: bool, known: set[tuple]
) -> list[ColumnRef]:
    """The base-table columns at the leaves of a column's lineage graph (DataHub's _get_direct_raw_col_upstreams)."""
    found: dict[tuple, ColumnRef] = {}
    for leaf in node.walk():
        if leaf.downstream or leaf.name == "*":
            continue
        if isinstance(leaf.expression, exp.Table):
            table = _table_ref(leaf.expression, default_db, default_schema, two_tier)
            column = sqlglot.parse_one(leaf.name).this.name  # the leaf's name is the column's SQL, as DataHub reads it
        elif isinstance(leaf.expression, exp.Placeholder):
            ref = _lateral_column(leaf.name, dialect, default_db, default_schema, two_tier)
            if ref is None:
                continue
            table, column = ref
        else:
            continue
        key = (table.database, table.schema_name, table.name)
        if column and key in known:
            found.setdefault((*key, column), ColumnRef(table=table, column=column))
    return list(found.values())


def _lateral_column(name: str, dialect: str, default_db: str, default_schema: str | None, two_tier: bool) -> tuple[TableRef, str] | None:
    """A column sqlglot could not place in a scope (a LATERAL join's), named `table.column`: DataHub reads it as
    such, and skips it when that name does not parse."""
    try:
        parsed = sqlglot.parse_one(name, dialect=dialect)
        if not isinstance(parsed, exp.Column) or not parsed.table:
            return None
        table = sqlglot.parse_one(parsed.table, into=exp.Table, dialect=dialect)
    except SqlglotError:
        return None
    return _table_ref(table, default_db, default_schema, two_tier), parsed.name


def _transform_operation(node: Node, dialect: str) -> str:
    """DataHub's transformOperation (_get_column_transformation): follow a single-column chain down to its last
    projection; COPY when that projection only names a column, else SQL with the first computed projection."""
    parent = None
    while node.downstream:
        if len(node.downstream) > 1 or not _names_a_column(node.expression):
            return f"SQL: {node.expression.sql(dialect=dialect)}"
        parent, node = node, node.downstream[0]
    return f"COPY: {(parent or node).expression.sql(dialect=dialect)}"


def _names_a_column(expression: exp.Expression) -> bool:
    return isinstance(expression.unalias() if isinstance(expression, exp.Alias) else expression, exp.Column)
