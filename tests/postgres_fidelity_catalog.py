"""The PostgreSQL catalog that DataHub 1.7's own postgres source read to write tests/data/datahub_postgres_fidelity.json.

Two databases. The first holds every column type (arrays, json/jsonb, hstore, ranges, geometric types, enums and
domains among them), identity and generated columns, a partitioned table with its partitions, table inheritance,
views, views of views, a materialized view, a view reading `public` from another schema through the search path,
quoted, mixed-case and unicode names, names with `,()`, a zero-column table, keys (composite, cross-schema,
self-referencing), comments, a foreign table, an empty schema, stored procedures and a function (which DataHub
leaves out). The second is small: one table, so that the run lists databases from the initial database.
`RECIPE_CONFIG` is the source config both ran (besides the connection keys).
"""

MAIN, SECOND = "fidelity_pg", "fidelity_pg_two"

RECIPE_CONFIG = {
    "database_pattern": {"allow": [f"^{MAIN}$", f"^{SECOND}$"]},
    "include_stored_procedures": True,
    "domain": {"urn:li:domain:sales": {"allow": [rf"^{MAIN}\.shop\..*"]}},
}

MAIN_STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS hstore",
    "CREATE EXTENSION IF NOT EXISTS citext",
    "CREATE EXTENSION IF NOT EXISTS file_fdw",
    "CREATE SERVER files FOREIGN DATA WRAPPER file_fdw",
    "CREATE SCHEMA shop",
    "CREATE SCHEMA crm",
    "CREATE SCHEMA reports",
    "CREATE SCHEMA empty_schema",
    'CREATE SCHEMA "Mixed Case ☃"',
    "COMMENT ON SCHEMA shop IS 'what we sell'",
    "CREATE TYPE shop.mood AS ENUM ('sad', 'ok', 'it''s great')",
    "CREATE TYPE public.size AS ENUM ('small', 'large')",
    "CREATE DOMAIN shop.positive_int AS integer CHECK (VALUE > 0)",
    "CREATE DOMAIN public.email AS citext",
    "CREATE DOMAIN shop.money_amount AS numeric(12, 2) NOT NULL DEFAULT 0",
    """CREATE TABLE shop.every_type (
        t_smallint smallint, t_integer integer NOT NULL PRIMARY KEY, t_bigint bigint, t_numeric_ps numeric(12, 2),
        t_numeric numeric, t_real real, t_double double precision, t_money money, t_serial serial, t_bigserial bigserial,
        t_boolean boolean, t_char char(3), t_bpchar bpchar, t_varchar varchar(20), t_varchar_n varchar, t_text text,
        t_citext citext, t_name name, t_qchar "char", t_bytea bytea, t_bit bit(3), t_varbit bit varying(5),
        t_date date, t_time time, t_time3tz time(3) with time zone, t_timestamp timestamp, t_timestamp3 timestamp(3),
        t_timestamptz timestamptz, t_timestamp0tz timestamp(0) with time zone, t_interval interval,
        t_interval_day interval day, t_interval_ym interval year to month, t_interval_s interval second(2),
        t_uuid uuid, t_json json, t_jsonb jsonb, t_xml xml, t_inet inet, t_cidr cidr, t_macaddr macaddr,
        t_macaddr8 macaddr8, t_tsvector tsvector, t_tsquery tsquery, t_point point, t_line line, t_lseg lseg,
        t_box box, t_path path, t_polygon polygon, t_circle circle, t_int4range int4range, t_int8range int8range,
        t_numrange numrange, t_tsrange tsrange, t_tstzrange tstzrange, t_daterange daterange,
        t_int4multirange int4multirange, t_hstore hstore, t_int_array integer[], t_text_2d text[][],
        t_varchar_array varchar(10)[], t_numeric_array numeric(5, 1)[], t_timestamp_array timestamp(3)[],
        t_enum shop.mood, t_enum_array shop.mood[], t_public_enum size, t_domain shop.positive_int,
        t_public_domain email, t_domain_numeric shop.money_amount, t_pg_lsn pg_lsn, t_oid oid, t_regclass regclass,
        t_txid txid_snapshot, t_identity bigint GENERATED ALWAYS AS IDENTITY,
        t_generated integer GENERATED ALWAYS AS (t_integer * 2) STORED, t_float4 float4, t_float8 float8,
        t_float_p float(10), t_decimal decimal(7, 3))""",
    "COMMENT ON TABLE shop.every_type IS 'every type, one column each'",
    "COMMENT ON COLUMN shop.every_type.t_integer IS 'the key; it''s \"quoted\" and naïve ☃'",
    "CREATE TABLE crm.customers (id integer PRIMARY KEY, email email NOT NULL, name text, country char(2))",
    "COMMENT ON TABLE crm.customers IS 'people who buy'",
    "COMMENT ON COLUMN crm.customers.email IS 'login, and where receipts go'",
    """CREATE TABLE shop.orders (id bigint NOT NULL, line smallint NOT NULL, customer_id integer, total numeric(10, 2) NOT NULL,
        note varchar(200), PRIMARY KEY (id, line),
        CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES crm.customers (id))""",
    """CREATE TABLE shop.categories (id integer PRIMARY KEY, parent_id integer, label varchar(40),
        CONSTRAINT category_parent FOREIGN KEY (parent_id) REFERENCES shop.categories (id))""",
    """CREATE TABLE shop."order items" (order_id bigint NOT NULL, order_line smallint NOT NULL, "sku.code" varchar(20) NOT NULL,
        "qty wanted" integer, category_id integer, PRIMARY KEY (order_id, order_line, "sku.code"),
        CONSTRAINT z_items_order FOREIGN KEY (order_id, order_line) REFERENCES shop.orders (id, line),
        CONSTRAINT a_items_category FOREIGN KEY (category_id) REFERENCES shop.categories (id))""",
    "COMMENT ON COLUMN shop.categories.label IS 'naïve ☃ label'",
    "CREATE TABLE shop.audit_log (happened_at timestamp, what text)",
    'CREATE TABLE shop."odd, name (x)" ("a,b" integer, "c(d)" integer, "E" text)',
    'CREATE TABLE shop."Ünïcode_表" (ключ integer PRIMARY KEY, значение varchar(10))',
    'CREATE TABLE shop."MixedCase" ("Id" integer PRIMARY KEY, "Value" text)',
    "CREATE TABLE shop.nothing ()",
    'CREATE TABLE "Mixed Case ☃"."Table ☃" (k integer PRIMARY KEY, ref integer REFERENCES shop."MixedCase" ("Id"))',
    "CREATE TABLE public.things (id integer PRIMARY KEY, label text, size size)",
    "CREATE TABLE public.shared_name (id integer, public_only text)",
    "CREATE TABLE shop.thing_notes (thing_id integer REFERENCES public.things (id), note text)",
    "CREATE TABLE shop.shared_name (id integer, shop_only text)",
    """CREATE TABLE shop.measurements (city_id integer NOT NULL, logdate date NOT NULL, peak integer,
        PRIMARY KEY (city_id, logdate)) PARTITION BY RANGE (logdate)""",
    "COMMENT ON TABLE shop.measurements IS 'partitioned by month'",
    "CREATE TABLE shop.measurements_2024 PARTITION OF shop.measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    """CREATE TABLE shop.measurements_2025 PARTITION OF shop.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
        PARTITION BY LIST (city_id)""",
    "CREATE TABLE shop.measurements_2025_c1 PARTITION OF shop.measurements_2025 FOR VALUES IN (1)",
    "CREATE TABLE shop.measurements_other PARTITION OF shop.measurements DEFAULT",
    "CREATE TABLE shop.vehicles (id integer PRIMARY KEY, wheels integer)",
    "CREATE TABLE shop.cars (doors integer) INHERITS (shop.vehicles)",
    "CREATE FOREIGN TABLE shop.imported (id integer, label text) SERVER files OPTIONS (filename '/dev/null', format 'csv')",
    "COMMENT ON FOREIGN TABLE shop.imported IS 'read from a file'",
    """CREATE VIEW shop.order_emails AS
        SELECT o.id, o.total, c.email FROM shop.orders o JOIN crm.customers c ON c.id = o.customer_id""",
    "COMMENT ON VIEW shop.order_emails IS 'orders with the buyer''s email'",
    """CREATE VIEW shop.order_summary AS
        SELECT o.id, (SELECT c.email FROM crm.customers c WHERE c.id = o.customer_id) AS email,
               o.total * 2 AS doubled, CASE WHEN o.total > 100 THEN 'big' ELSE 'small' END AS size
        FROM shop.orders o""",
    """CREATE VIEW shop.category_paths AS
        WITH tops AS (SELECT id, label FROM shop.categories WHERE parent_id IS NULL)
        SELECT c.id, c.label, t.label AS top_label FROM shop.categories c JOIN tops t ON t.id = c.parent_id""",
    """CREATE VIEW shop.order_totals AS
        SELECT customer_id, sum(total) AS spent, count(*) AS orders FROM shop.orders GROUP BY customer_id""",
    "CREATE VIEW shop.big_spenders AS SELECT customer_id, spent FROM shop.order_totals WHERE spent > 1000",
    """CREATE VIEW shop.emails_of_big_spenders AS
        SELECT e.email FROM shop.order_emails e JOIN shop.big_spenders b ON b.customer_id = e.id""",
    "CREATE VIEW shop.all_notes AS SELECT note AS text FROM shop.orders UNION ALL SELECT what FROM shop.audit_log",
    "CREATE VIEW shop.star_view AS SELECT * FROM shop.categories",
    'CREATE VIEW shop."odd view (1,2)" AS SELECT "a,b", "c(d)" AS "c,d" FROM shop."odd, name (x)"',
    'CREATE VIEW shop."Ünïcode view" AS SELECT ключ, значение FROM shop."Ünïcode_表"',
    "CREATE VIEW reports.things_report AS SELECT id, label, size FROM things",
    "CREATE VIEW reports.shared_report AS SELECT id, public_only FROM shared_name",
    "CREATE VIEW shop.own_shared AS SELECT id, shop_only FROM shop.shared_name",
    "CREATE VIEW public.public_view AS SELECT t.id, t.label FROM things t",
    """CREATE MATERIALIZED VIEW shop.customer_countries AS
        SELECT country, count(*) AS customers FROM crm.customers GROUP BY country""",
    "COMMENT ON MATERIALIZED VIEW shop.customer_countries IS 'refreshed nightly'",
    """CREATE MATERIALIZED VIEW reports.monthly_peaks AS
        SELECT date_trunc('month', logdate) AS month, max(peak) AS peak FROM shop.measurements GROUP BY 1""",
    "CREATE VIEW reports.on_matview AS SELECT month, peak FROM reports.monthly_peaks WHERE peak > 10",
    """CREATE PROCEDURE shop.close_order(order_id bigint, reason text DEFAULT 'done')
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE shop.orders SET note = reason WHERE id = order_id;
        END;
        $$""",
    "COMMENT ON PROCEDURE shop.close_order(bigint, text) IS 'closes every line of an order'",
    """CREATE PROCEDURE crm.forget_customer(customer integer)
        LANGUAGE sql AS $$ DELETE FROM crm.customers WHERE id = customer $$""",
    """CREATE FUNCTION shop.order_total(order_id bigint) RETURNS numeric LANGUAGE sql STABLE
        AS $$ SELECT sum(total) FROM shop.orders WHERE id = order_id $$""",
]

SECOND_STATEMENTS = [
    "CREATE TABLE public.notes (id integer PRIMARY KEY, body text)",
    "CREATE VIEW public.short_notes AS SELECT id, left(body, 10) AS head FROM notes",
]
