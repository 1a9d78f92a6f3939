"""View definitions as `SHOW CREATE VIEW` prints them.

`information_schema.VIEWS` holds a view's body with every table qualified by its database.
`SHOW CREATE VIEW`, run from the view's own database as DataHub runs it, prints the compact form
without those qualifiers, but only when everything the view reads (through other views too) lives in
that database; a view that reads another database's table keeps every qualifier.
"""

import re

_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`(?:[^`]|``)*`\.?")
_QUALIFIER = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`((?:[^`]|``)*)`\.`((?:[^`]|``)*)`")


def quote_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def strip_database(body: str, database: str) -> str:
    """Drop the `db`. qualifier of the view's own database outside string literals (SHOW CREATE VIEW does)."""
    prefix = quote_identifier(database) + "."
    return _QUOTED.sub(lambda m: "" if m.group(0) == prefix else m.group(0), body)


def qualified_pairs(body: str) -> set[tuple[str, str]]:
    """Every `a`.`b` outside string literals: a database and a table, or a table (or alias) and a column."""
    return {(m.group(1).replace("``", "`"), m.group(2).replace("``", "`"))
            for m in _QUALIFIER.finditer(body) if m.group(1) is not None}


def compact_views(database: str, bodies: dict[str, str], databases: frozenset[str]) -> set[str]:
    """The views of `database` (name -> VIEW_DEFINITION) that SHOW CREATE VIEW prints without qualifiers.

    `databases` are all the server's databases: a qualifier naming another one marks a view as reading
    it, and so does reading a view of the same database that does.
    """
    pairs = {name: qualified_pairs(body) for name, body in bodies.items()}
    foreign = {name for name, found in pairs.items() if any(a != database and a in databases for a, _ in found)}
    while True:
        nested = {name for name, found in pairs.items() if name not in foreign
                  and any(a == database and b in foreign for a, b in found)}
        if not nested:
            return set(bodies) - foreign
        foreign |= nested


def view_statement(name: str, database: str, body: str, definer: str, security: str, check_option: str, algorithm: str,
                   compact: bool = True) -> str:
    user, _, host = (definer or "").rpartition("@")
    definer_sql = f"{quote_identifier(user)}@{quote_identifier(host)}" if user else quote_identifier(definer or "")
    statement = (
        f"CREATE ALGORITHM={algorithm or 'UNDEFINED'} DEFINER={definer_sql} SQL SECURITY {security or 'DEFINER'} "
        f"VIEW {quote_identifier(name)} AS {strip_database(body, database) if compact else body}"
    )
    if check_option and check_option != "NONE":
        statement += f" WITH {check_option} CHECK OPTION"
    return statement
