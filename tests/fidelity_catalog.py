"""The MariaDB catalog that DataHub 1.7's own mysql source read to write tests/data/datahub_mysql_fidelity.json.

Every MySQL/MariaDB column type, generated columns, keys (composite, cross-database, self-referencing, none),
comments with quotes and unicode, odd names, views across databases, with CTEs, scalar subqueries, unions and
views of views, stored procedures and a function (which DataHub leaves out). `RECIPE` is the recipe both ran.
"""

SHOP, CRM = "fidelity_shop", "fidelity_crm"

STATEMENTS = [
    f"DROP DATABASE IF EXISTS {SHOP}",
    f"DROP DATABASE IF EXISTS {CRM}",
    f"CREATE DATABASE {SHOP} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
    f"CREATE DATABASE {CRM} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
    f"""CREATE TABLE {CRM}.customers (
        id INT PRIMARY KEY, email VARCHAR(120) NOT NULL COMMENT 'login, and where receipts go',
        name VARCHAR(80), country CHAR(2)) COMMENT 'people who buy'""",
    f"""CREATE TABLE {SHOP}.every_type (
        t_tinyint TINYINT, t_smallint SMALLINT, t_mediumint MEDIUMINT ZEROFILL, t_int INT NOT NULL,
        t_bigint BIGINT UNSIGNED, t_decimal DECIMAL(18,4), t_numeric NUMERIC(5), t_float FLOAT, t_float_ps FLOAT(7,3),
        t_double DOUBLE, t_real REAL, t_double_precision DOUBLE PRECISION, t_bit1 BIT(1), t_bit8 BIT(8), t_bool BOOL,
        t_char CHAR(3), t_varchar VARCHAR(255), t_latin VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_german1_ci,
        t_binary BINARY(4), t_varbinary VARBINARY(16), t_tinytext TINYTEXT, t_text TEXT, t_mediumtext MEDIUMTEXT,
        t_longtext LONGTEXT, t_tinyblob TINYBLOB, t_blob BLOB, t_mediumblob MEDIUMBLOB, t_longblob LONGBLOB,
        t_enum ENUM('small','it''s big'), t_set SET('a','b','c'), t_date DATE, t_datetime DATETIME(6),
        t_timestamp TIMESTAMP NULL, t_time TIME(3), t_year YEAR, t_json JSON, t_geometry GEOMETRY, t_point POINT,
        t_linestring LINESTRING, t_polygon POLYGON, t_multipoint MULTIPOINT, t_multilinestring MULTILINESTRING,
        t_multipolygon MULTIPOLYGON, t_geometrycollection GEOMETRYCOLLECTION, t_uuid UUID, t_inet4 INET4, t_inet6 INET6,
        t_virtual INT GENERATED ALWAYS AS (t_int * 2) VIRTUAL, t_stored BIGINT AS (t_int + 1) STORED,
        t_national NATIONAL CHAR(2), PRIMARY KEY (t_int)) COMMENT 'every type, one column each'""",
    f"""CREATE TABLE {SHOP}.orders (
        id BIGINT NOT NULL, line SMALLINT NOT NULL, customer_id INT, total DECIMAL(10,2) NOT NULL COMMENT 'gross, in “EUR”',
        note VARCHAR(200), PRIMARY KEY (id, line),
        CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES {CRM}.customers (id))""",
    f"""CREATE TABLE {SHOP}.`order items` (
        order_id BIGINT NOT NULL, order_line SMALLINT NOT NULL, `sku.code` VARCHAR(20) NOT NULL, `qty wanted` INT,
        PRIMARY KEY (order_id, order_line, `sku.code`),
        CONSTRAINT items_order FOREIGN KEY (order_id, order_line) REFERENCES {SHOP}.orders (id, line))""",
    f"""CREATE TABLE {SHOP}.categories (
        id INT PRIMARY KEY, parent_id INT, label VARCHAR(40) COMMENT 'naïve ☃ label',
        CONSTRAINT category_parent FOREIGN KEY (parent_id) REFERENCES {SHOP}.categories (id))""",
    f"CREATE TABLE {SHOP}.audit_log (happened_at DATETIME, what TEXT)",
    f"CREATE TABLE {SHOP}.`odd, name (x)` (`a,b` INT, `c(d)` INT)",
    f"CREATE TABLE {SHOP}.`Ünïcode_表` (ключ INT PRIMARY KEY, значение VARCHAR(10))",
    f"""CREATE VIEW {SHOP}.order_emails AS
        SELECT o.id, o.total, c.email FROM {SHOP}.orders o JOIN {CRM}.customers c ON c.id = o.customer_id""",
    f"""CREATE VIEW {SHOP}.order_summary AS
        SELECT o.id, (SELECT c.email FROM {CRM}.customers c WHERE c.id = o.customer_id) AS email,
               o.total * 2 AS doubled, CASE WHEN o.total > 100 THEN 'big' ELSE 'small' END AS size
        FROM {SHOP}.orders o""",
    f"""CREATE VIEW {SHOP}.category_paths AS
        WITH tops AS (SELECT id, label FROM {SHOP}.categories WHERE parent_id IS NULL)
        SELECT c.id, c.label, t.label AS top_label FROM {SHOP}.categories c JOIN tops t ON t.id = c.parent_id""",
    f"""CREATE VIEW {SHOP}.order_totals AS
        SELECT customer_id, SUM(total) AS spent, COUNT(*) AS orders FROM {SHOP}.orders GROUP BY customer_id""",
    f"""CREATE VIEW {SHOP}.big_spenders AS SELECT customer_id, spent FROM {SHOP}.order_totals WHERE spent > 1000""",
    f"""CREATE VIEW {SHOP}.emails_of_big_spenders AS
        SELECT e.email FROM {SHOP}.order_emails e JOIN {SHOP}.big_spenders b ON b.customer_id = e.id""",
    f"""CREATE VIEW {SHOP}.all_notes AS
        SELECT note AS text FROM {SHOP}.orders UNION ALL SELECT what FROM {SHOP}.audit_log""",
    f"""CREATE VIEW {SHOP}.item_counts AS
        SELECT i.order_id, COUNT(i.`sku.code`) AS skus FROM {SHOP}.`order items` i GROUP BY i.order_id""",
    f"""CREATE VIEW {CRM}.customer_countries AS SELECT country, COUNT(*) AS customers FROM {CRM}.customers GROUP BY country""",
    f"""CREATE PROCEDURE {SHOP}.refresh_totals(IN since DATE)
        COMMENT 'rebuilds what changed'
        BEGIN
          INSERT INTO {SHOP}.audit_log (happened_at, what) SELECT NOW(), CONCAT('refresh since ', since);
          SELECT customer_id, SUM(total) FROM {SHOP}.orders GROUP BY customer_id;
        END""",
    f"""CREATE PROCEDURE {SHOP}.`clean up "old" rows`() DELETE FROM {SHOP}.audit_log WHERE happened_at < '2020-01-01'""",
    f"CREATE FUNCTION {SHOP}.doubled(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
    f"CREATE PROCEDURE {CRM}.touch_customer(IN cid INT) UPDATE {CRM}.customers SET name = name WHERE id = cid",
]

DOMAINS = {
    "urn:li:domain:sales": {"allow": [f"{SHOP}\\.order", f"{CRM}$"], "deny": [f"{SHOP}\\.order_totals"]},
    "urn:li:domain:customers": {"allow": [f"{CRM}\\.customers"]},
}

RECIPE_CONFIG = {
    "database_pattern": {"allow": [f"^{SHOP}$", f"^{CRM}$"]},
    "domain": DOMAINS,
    "include_stored_procedures": True,
}
