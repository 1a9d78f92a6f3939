"""Column-level lineage of a view from its SQL, with sqlglot; shared by the SQL sources."""

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from .core.records import ColumnLineage, ColumnRef, TableRef


@dataclass
class ViewLineage:
    upstreams: list[TableRef] = field(default_factory=list)
    columns: list[ColumnLineage] = field(default_factory=list)
    statement: str | None = None
    """The parsed statement pretty-printed, as DataHub stores it on the view's query entity (when asked for)."""


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
    A plain SELECT over tables whose columns are all qualified (what MySQL stores for a view)
    is traced straight from the parse tree; anything else goes through sqlglot's qualify and scopes.
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
    """Lineage of a single SELECT over plain tables with qualified columns, or None when it is not one."""
    if not isinstance(tree, exp.Select):
        return None
    tables = []
    for node in tree.walk(bfs=False):
        if isinstance(node, exp.Table):
            tables.append(node)
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
    only = next(iter(by_alias.values())) if len(by_alias) == 1 else None
    result = ViewLineage(upstreams=list(upstreams.values()))
    generator = Dialect.get_or_raise(dialect).generator()  # one for the view's projections: `Expression.sql` builds one each
    for projection in tree.selects:
        refs: dict[tuple, ColumnRef] = {}
        for column in projection.find_all(exp.Column):
            if column.args.get("catalog") or column.args.get("db"):
                return None
            table = by_alias.get(column.table) if column.table else only
            if table is None:
                return None
            refs[(table.database, table.schema_name, table.name, column.name)] = ColumnRef(table=table, column=column.name)
        if refs:
            result.columns.append(_edge(projection, list(refs.values()), generator.generate(projection, copy=False)))
    return result


def _edge(projection: exp.Expression, upstreams: list[ColumnRef], text: str) -> ColumnLineage:
    """DataHub labels a projection that only names a column COPY, anything computed SQL."""
    unaliased = projection.unalias() if isinstance(projection, exp.Alias) else projection
    kind = "COPY" if isinstance(unaliased, exp.Column) else "SQL"
    return ColumnLineage(downstream=projection.alias_or_name, upstreams=upstreams, transform=f"{kind}: {text}")


def _scoped_lineage(
    tree: exp.Query,
    dialect: str,
    default_db: str,
    default_schema: str | None,
    columns_of: Callable[[TableRef], list[str] | None],
    two_tier: bool,
) -> ViewLineage:
    mapping: dict = {}
    for table in tree.find_all(exp.Table):
        ref = _table_ref(table, default_db, default_schema, two_tier)
        cols = columns_of(ref)
        if cols is None:
            continue
        if two_tier:
            mapping.setdefault(ref.database, {})[ref.name] = {c: "text" for c in cols}
        else:
            mapping.setdefault(ref.database, {}).setdefault(ref.schema_name, {})[ref.name] = {c: "text" for c in cols}
    qualified = qualify(
        tree,
        schema=mapping or None,
        dialect=dialect,
        catalog=None if two_tier else default_db,
        db=default_db if two_tier else default_schema,
        validate_qualify_columns=False,
        quote_identifiers=False,
        identify=False,
    )
    root = build_scope(qualified)
    result = ViewLineage()
    if root is None:
        return result
    upstreams: dict[tuple, TableRef] = {}
    for scope in root.traverse():
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                ref = _table_ref(source, default_db, default_schema, two_tier)
                upstreams[(ref.database, ref.schema_name, ref.name)] = ref
    result.upstreams = list(upstreams.values())
    original = tree.selects if isinstance(tree, exp.Select) else []
    for index, projection in enumerate(_selects(root)):
        refs = _trace_output(root, index, default_db, default_schema, two_tier)
        if refs:
            source_text = original[index].sql(dialect=dialect) if index < len(original) else projection.sql(dialect=dialect)
            result.columns.append(_edge(projection, refs, source_text))
    return result


def _branches(scope: Scope) -> list[Scope]:
    return getattr(scope, "set_operation_scopes", None) or []


def _selects(scope: Scope) -> list[exp.Expression]:
    if _branches(scope):
        return _selects(_branches(scope)[0])
    expression = scope.expression
    return list(expression.selects) if isinstance(expression, exp.Select) else []


def _trace_output(scope: Scope, index: int, db: str, schema: str | None, two_tier: bool) -> list[ColumnRef]:
    """The base-table columns behind the scope's `index`-th output column (all branches of a UNION)."""
    if _branches(scope):
        found: dict[tuple, ColumnRef] = {}
        for branch in _branches(scope):
            for ref in _trace_output(branch, index, db, schema, two_tier):
                found[(ref.table.database, ref.table.schema_name, ref.table.name, ref.column)] = ref
        return list(found.values())
    selects = _selects(scope)
    if index >= len(selects):
        return []
    refs: dict[tuple, ColumnRef] = {}
    only_source = next(iter(scope.sources.values())) if len(scope.sources) == 1 else None
    for column in selects[index].find_all(exp.Column):
        source = scope.sources.get(column.table) if column.table else only_source
        if isinstance(source, exp.Table):
            table = _table_ref(source, db, schema, two_tier)
            refs[(table.database, table.schema_name, table.name, column.name)] = ColumnRef(table=table, column=column.name)
        elif isinstance(source, Scope):
            names = [p.alias_or_name for p in _selects(source)]
            if column.name in names:
                for ref in _trace_output(source, names.index(column.name), db, schema, two_tier):
                    refs[(ref.table.database, ref.table.schema_name, ref.table.name, ref.column)] = ref
    return list(refs.values())
