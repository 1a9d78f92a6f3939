"""View definitions as `SHOW CREATE VIEW` prints them."""

import re

_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`(?:[^`]|``)*`\.?")


def quote_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def strip_database(body: str, database: str) -> str:
    """Drop the `db`. qualifier of the view's own database outside string literals (SHOW CREATE VIEW does)."""
    prefix = quote_identifier(database) + "."
    return _QUOTED.sub(lambda m: "" if m.group(0) == prefix else m.group(0), body)


def view_statement(name: str, database: str, body: str, definer: str, security: str, check_option: str, algorithm: str) -> str:
    user, _, host = (definer or "").rpartition("@")
    definer_sql = f"{quote_identifier(user)}@{quote_identifier(host)}" if user else quote_identifier(definer or "")
    statement = (
        f"CREATE ALGORITHM={algorithm or 'UNDEFINED'} DEFINER={definer_sql} SQL SECURITY {security or 'DEFINER'} "
        f"VIEW {quote_identifier(name)} AS {strip_database(body, database)}"
    )
    if check_option and check_option != "NONE":
        statement += f" WITH {check_option} CHECK OPTION"
    return statement

