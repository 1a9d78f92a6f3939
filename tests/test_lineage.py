"""View lineage equals DataHub 1.7's own SQL parser on the same SQL: tables, column edges, transformOperation.

DataHub's parser is the oracle, called as DataHub's MySQL source calls it for a view: no default database and
the view's database as the default schema (a two-tier platform: `other_db.t` is database other_db, table t;
with the view's database as default_db instead, DataHub would read it as `shop.other_db.t`).
DataHub's MySQL source registers every ingested table's columns with its parser, so both sides get the same
columns (they expand `*`). Pure sqlglot, no database.
"""

import pytest
import sqlglot
from datahub.emitter.mce_builder import make_dataset_urn
from datahub.sql_parsing.schema_resolver import SchemaResolver
from datahub.sql_parsing.sqlglot_lineage import create_lineage_sql_parsed_result, sqlglot_lineage

from ingest_assets.core.urns import dataset_name
from ingest_assets.lineage import _simple_select_lineage, view_lineage

DB = "shop"
COLUMNS = {
    (DB, "orders"): ["id", "customer_id", "amount", "status", "note", "doc"],
    (DB, "customers"): ["id", "email", "name"],
    (DB, "reviews"): ["id", "customer_id", "stars"],
    (DB, "MixedCase"): ["Id", "Val"],
    (DB, "weird table"): ["my col", "a.b", "prix€", "x`y"],
    (DB, "my.ta,ble(1)"): ["id"],
    ("other_db", "remote"): ["id", "amount", "price"],
    ("other_db", "t"): ["id", "val"],
}

# MariaDB's stored form of a view, as the mysql source rebuilds its statement: the fast path's input
STORED_PREFIX = "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW "

CASES = {
    "scalar subquery in a projection":
        "CREATE VIEW v AS SELECT r.id, (SELECT c.email FROM customers c WHERE c.id = r.customer_id) AS email FROM reviews r",
    "scalar subquery with an aggregate":
        "CREATE VIEW v AS SELECT o.id, (SELECT MAX(c.name) FROM customers c WHERE c.id = o.customer_id) AS cname, o.amount FROM orders o",
    "uncorrelated scalar subquery":
        "CREATE VIEW v AS SELECT r.id, (SELECT MAX(c.id) FROM customers c) AS top FROM reviews r",
    "cte": "CREATE VIEW v AS WITH big AS (SELECT id, amount FROM orders WHERE amount > 10) SELECT b.id, b.amount * 2 AS twice FROM big b",
    "cte over a union":
        "CREATE VIEW v AS WITH u AS (SELECT id, amount FROM orders UNION ALL SELECT id, amount FROM other_db.remote) "
        "SELECT id, SUM(amount) AS total FROM u GROUP BY id",
    "derived table": "CREATE VIEW v AS SELECT x.id FROM (SELECT id FROM orders WHERE note IS NOT NULL) x",
    "union all": "CREATE VIEW v AS SELECT id, amount FROM orders UNION ALL SELECT id, amount FROM other_db.remote",
    "union renaming a column": "CREATE VIEW v AS SELECT id, amount AS total FROM orders UNION SELECT id, price FROM other_db.remote",
    "join": "CREATE VIEW v AS SELECT o.id, c.name AS customer, o.amount * 2 AS doubled FROM orders o JOIN customers c ON o.customer_id = c.id",
    "join with an unqualified column": "CREATE VIEW v AS SELECT o.id, email FROM orders o JOIN customers c ON o.customer_id = c.id",
    "left join using": "CREATE VIEW v AS SELECT id, o.amount, r.stars FROM orders o LEFT JOIN reviews r USING (id)",
    "star through a schema": "CREATE VIEW v AS SELECT * FROM orders",
    "table star and a column through a schema":
        "CREATE VIEW v AS SELECT o.*, c.email FROM orders o JOIN customers c ON o.customer_id = c.id",
    "case": "CREATE VIEW v AS SELECT id, CASE WHEN amount > 100 THEN 'big' ELSE status END AS size FROM orders",
    "functions": "CREATE VIEW v AS SELECT id, CONCAT(UPPER(name), '-', email) AS label, IFNULL(name, 'x') AS nm FROM customers",
    "arithmetic across tables":
        "CREATE VIEW v AS SELECT o.id, o.amount * c.id + 1 AS mixed FROM orders o JOIN customers c ON o.customer_id = c.id",
    "aggregates with group by":
        "CREATE VIEW v AS SELECT customer_id, SUM(amount) AS total, COUNT(*) AS n, MAX(status) AS last_status "
        "FROM orders GROUP BY customer_id HAVING COUNT(*) > 1",
    "unaliased aggregate": "CREATE VIEW v AS SELECT customer_id, SUM(amount) FROM orders GROUP BY customer_id",
    "window functions":
        "CREATE VIEW v AS SELECT id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY amount DESC) AS rn, "
        "SUM(amount) OVER (PARTITION BY customer_id) AS cust_total FROM orders",
    "exists in where":
        "CREATE VIEW v AS SELECT c.id, c.name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)",
    "in subquery in where": "CREATE VIEW v AS SELECT c.id FROM customers c WHERE c.id IN (SELECT customer_id FROM orders WHERE amount > 5)",
    "lateral derived table":
        "CREATE VIEW v AS SELECT o.id, l.total FROM orders o, "
        "LATERAL (SELECT SUM(i.amount) AS total FROM orders i WHERE i.customer_id = o.customer_id) l",
    "json_table": "CREATE VIEW v AS SELECT o.id, j.x FROM orders o, JSON_TABLE(o.doc, '$[*]' COLUMNS (x INT PATH '$.x')) j",
    "table of another database": "CREATE VIEW v AS SELECT t.id, t.val FROM other_db.t t",
    "join with another database": "CREATE VIEW v AS SELECT o.id, t.val FROM orders o JOIN other_db.t t ON t.id = o.id",
    "literals beside a column": "CREATE VIEW v AS SELECT id, 1 AS one, 'x' AS s FROM orders",
    "backticks": "CREATE VIEW `v` AS SELECT `o`.`id` AS `id`, `o`.`amount` AS `the amount` FROM `orders` `o`",
    "spaces, dots, unicode and a backtick in names":
        "CREATE VIEW `v` AS SELECT `t`.`my col` AS `my col`, `t`.`a.b` AS `a.b`, `t`.`prix€` AS `coût`, `t`.`x``y` AS `x``y` "
        "FROM `weird table` `t`",
    "a table named with a dot, a comma and parentheses": "CREATE VIEW `v` AS SELECT `x`.`id` AS `id` FROM `my.ta,ble(1)` `x`",
    "stored: mixed-case names": STORED_PREFIX + "`m` AS select `m`.`Id` AS `Id`,`m`.`Val` AS `Value` from `MixedCase` `m`",
    "stored: join": STORED_PREFIX + "`joined` AS select `o`.`id` AS `id`,`c`.`name` AS `customer`,`o`.`amount` * 2 AS `doubled` "
        "from (`orders` `o` join `customers` `c` on(`o`.`customer_id` = `c`.`id`))",
    "stored: functions and aggregates": STORED_PREFIX + "`f` AS select `orders`.`customer_id` AS `customer_id`,"
        "count(0) AS `COUNT(*)`,sum(`orders`.`amount`) AS `SUM(amount)`,cast(max(`orders`.`amount`) as char charset utf8mb4) AS `m` "
        "from `orders` group by `orders`.`customer_id`",
    "stored: another database": STORED_PREFIX + "`o` AS select `t`.`id` AS `id`,`t`.`amount` AS `amount` from `other_db`.`remote` `t`",
    "stored: another database beside its own, qualifiers kept": STORED_PREFIX + "`x` AS select `shop`.`orders`.`id` AS `id`,"
        "`t`.`price` AS `price` from (`shop`.`orders` join `other_db`.`remote` `t` on(`t`.`id` = `shop`.`orders`.`id`))",
    "stored: union all": STORED_PREFIX + "`unioned` AS select `orders`.`id` AS `id`,`orders`.`amount` AS `amount` from `orders` "
        "union all select `other_db`.`remote`.`id` AS `id`,`other_db`.`remote`.`amount` AS `amount` from `other_db`.`remote`",
    "stored: scalar subquery": STORED_PREFIX + "`s` AS select `r`.`id` AS `id`,(select `c`.`email` from `customers` `c` "
        "where `c`.`id` = `r`.`customer_id`) AS `email` from `reviews` `r`",
}


def _urn(database: str, table: str) -> str:
    """DataHub's URN of a MySQL table: the oracle's own builder, so only the lineage is compared here."""
    return make_dataset_urn("mysql", dataset_name(database, table))


def _ours(sql: str, columns_of=lambda table: COLUMNS.get((table.database, table.name))) -> tuple:
    """(upstream dataset URNs, [(column, its upstream (dataset URN, column)s, transformOperation)]) in output order."""
    lineage = view_lineage(sql, "mysql", DB, None, columns_of)
    tables = sorted({_urn(t.database, t.name) for t in lineage.upstreams})
    columns = [
        (c.downstream, sorted({(_urn(u.table.database, u.table.name), u.column) for u in c.upstreams}), c.transform)
        for c in lineage.columns
    ]
    return tables, columns


def _datahubs(sql: str) -> tuple:
    """The same shape from DataHub's parser; a column without upstreams is kept (it gets no fineGrainedLineage, and is
    still one of the query's subjects)."""
    resolver = SchemaResolver(platform="mysql", env="PROD")
    for (database, table), columns in COLUMNS.items():
        resolver.add_raw_schema_info(_urn(database, table), {column: "VARCHAR(50)" for column in columns})
    result = sqlglot_lineage(sql, schema_resolver=resolver, default_db=None, default_schema=DB)
    assert result.debug_info.error is None, result.debug_info.error
    columns = [
        (
            c.downstream.column,
            sorted({(u.table, u.column) for u in c.upstreams}),
            f"{'COPY' if c.logic.is_direct_copy else 'SQL'}: {c.logic.column_logic}",
        )
        for c in result.column_lineage or []
    ]
    return sorted(result.in_tables), columns


@pytest.mark.parametrize("sql", CASES.values(), ids=CASES.keys())
def test_lineage_equals_datahubs(sql):
    expected = _datahubs(sql)
    assert expected[0] and expected[1], "the oracle traced nothing: the case would compare empty with empty"
    assert _ours(sql) == expected


def test_scalar_subquery_column_comes_from_the_subquerys_selected_column_not_its_correlation():
    """DataHub's optimizer turns the subquery into a join on an aggregate, hence the MAX in its text."""
    tables, columns = _ours(CASES["scalar subquery in a projection"])
    assert tables == [_urn(DB, "customers"), _urn(DB, "reviews")]
    assert columns == [
        ("id", [(_urn(DB, "reviews"), "id")], "COPY: `r`.`id` AS `id`"),
        ("email", [(_urn(DB, "customers"), "email")], "SQL: MAX(`c`.`email`) AS `email`"),
    ]


def test_union_columns_read_every_branch():
    for name in ("union all", "stored: union all"):
        _, columns = _ours(CASES[name])
        assert columns == [
            ("id", [(_urn("other_db", "remote"), "id"), (_urn(DB, "orders"), "id")], "SQL: `orders`.`id` AS `id`"),
            ("amount", [(_urn("other_db", "remote"), "amount"), (_urn(DB, "orders"), "amount")], "SQL: `orders`.`amount` AS `amount`"),
        ], name


def test_star_without_known_columns_gives_tables_only_as_datahub():
    sql = "CREATE VIEW v AS SELECT * FROM reviews"
    result = create_lineage_sql_parsed_result(sql, None, "mysql", None, "PROD", default_schema=DB)
    theirs = (result.in_tables, result.column_lineage or [])
    assert _ours(sql, columns_of=lambda table: None) == ([_urn(DB, "reviews")], []) == theirs


def test_unquoted_names_keep_their_case_where_datahub_lowercases_them():
    """DataHub parses MySQL as if names were case-insensitive and lowercases unquoted ones: on Linux MySQL
    `MixedCase` and `mixedcase` are different tables, and column `Id` has no field `id`. MySQL stores every
    view with quoted names, which both keep as they are (the "stored: mixed-case names" case)."""
    sql = "CREATE VIEW v AS SELECT m.Id, m.Val AS `Value` FROM MixedCase m"
    assert _ours(sql) == ([_urn(DB, "MixedCase")], [
        ("Id", [(_urn(DB, "MixedCase"), "Id")], "COPY: `m`.`Id` AS `Id`"),
        ("Value", [(_urn(DB, "MixedCase"), "Val")], "COPY: `m`.`Val` AS `Value`"),
    ])
    assert _datahubs(sql) == ([_urn(DB, "mixedcase")], [
        ("id", [(_urn(DB, "mixedcase"), "id")], "COPY: `m`.`id` AS `id`"),
        ("Value", [(_urn(DB, "mixedcase"), "val")], "COPY: `m`.`val` AS `Value`"),
    ])


def test_the_stored_form_of_a_plain_view_takes_the_fast_path():
    """MySQL's 500 benchmark views are all of this shape; the scoped path costs several times more per view."""
    for name in ("stored: join", "stored: functions and aggregates", "stored: another database"):
        tree = sqlglot.parse_one(CASES[name], dialect="mysql").expression
        assert _simple_select_lineage(tree, "mysql", DB, None, True) is not None, name
    for name in ("stored: union all", "stored: scalar subquery", "join with an unqualified column", "functions"):
        tree = sqlglot.parse_one(CASES[name], dialect="mysql").expression
        assert _simple_select_lineage(tree, "mysql", DB, None, True) is None, name


def test_columns_that_cannot_be_traced_leave_the_tables_as_datahub():
    sql = "CREATE VIEW v AS SELECT a.id FROM orders a JOIN orders a ON a.id = a.id"
    result = create_lineage_sql_parsed_result(sql, None, "mysql", None, "PROD", default_schema=DB)
    assert "Alias already used" in str(result.debug_info.column_error)
    assert _ours(sql) == ([_urn(DB, "orders")], []) == (result.in_tables, result.column_lineage or [])
