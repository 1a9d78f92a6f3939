"""The catalog queries over `pg_catalog`: a fixed number per database, whatever its table count.

Each lists one kind of object for every schema in scope, sorted by (schema, name) in byte order (`COLLATE "C"`,
which for UTF-8 is the order Python compares str in), so that the source joins them one table at a time:

- SCHEMAS: the schemas, where each stands on the search path, whether it holds procedures;
- RELATIONS: tables, partitioned tables and partitions, foreign tables, views and materialized views, one row
  each with its comment, its parent (a partition) or server (a foreign table), and its columns packed in one
  field (name, format_type, type kind, not null, part of the primary key, comment);
- FOREIGN_KEYS: one row per constraint with its columns and the referenced ones, in constraint-name order;
- VIEWS: each view's definition as `pg_get_viewdef` prints it, the search-path schema its unqualified
  names resolve to, and the columns of every relation it reads (for the lineage, as DataHub's schema resolver);
- PROCEDURES: `prokind = 'p'`, as DataHub reads them (functions stay out).
"""

FIELD, COLUMN, NAME = "\x1f", "\x1e", "\x1d"
"""Separators of the packed column list; a name or comment holding one is refused (`unpack_columns`)."""

LIST_DATABASES = (
    "SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND datname NOT IN ('template0', 'template1', 'rdsadmin') "
    'ORDER BY datname COLLATE "C"'
)

SCHEMAS = (
    "SELECT n.nspname, array_position(current_schemas(false), n.nspname), "
    "EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid AND p.prokind = 'p') "
    "FROM pg_catalog.pg_namespace n "
    "WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' "
    'ORDER BY n.nspname COLLATE "C"'
)

RELATIONS = f"""
SELECT n.nspname, c.relname, c.relkind, d.description,
  CASE WHEN c.relispartition THEN (
    SELECT pn.nspname || E'{FIELD}' || pc.relname FROM pg_catalog.pg_inherits i
    JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
    WHERE i.inhrelid = c.oid) END,
  CASE WHEN c.relkind = 'f' THEN (
    SELECT s.srvname FROM pg_catalog.pg_foreign_table ft JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver
    WHERE ft.ftrelid = c.oid) END,
  count(a.attnum),
  string_agg(concat_ws(E'{FIELD}', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
      CASE WHEN t.typcategory = 'A' THEN et.typtype ELSE t.typtype END,
      (a.attnotnull OR (t.typtype = 'd' AND t.typnotnull))::int,
      coalesce(a.attnum = ANY (pk.conkey), false)::int,
      coalesce(ad.description, '')), E'{COLUMN}' ORDER BY a.attnum)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
  ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
LEFT JOIN pg_catalog.pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem
LEFT JOIN pg_catalog.pg_description ad
  ON ad.objoid = c.oid AND ad.classoid = 'pg_catalog.pg_class'::regclass AND ad.objsubid = a.attnum
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND n.nspname = ANY (%(schemas)s)
GROUP BY n.nspname, c.relname, c.oid, c.relkind, d.description, pk.conkey
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"
"""

FOREIGN_KEYS = f"""
SELECT n.nspname, c.relname, con.conname, string_agg(a.attname, E'{FIELD}' ORDER BY k.ord),
  rn.nspname, rc.relname, string_agg(ra.attname, E'{FIELD}' ORDER BY k.ord)
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, refnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.refnum
WHERE con.contype = 'f' AND n.nspname = ANY (%(schemas)s)
GROUP BY n.nspname, c.relname, con.oid, con.conname, rn.nspname, rc.relname
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C", con.conname
"""

VIEWS_PER_STATEMENT = 1000
"""Views read per statement: `pg_get_viewdef` locks each view it prints until the statement ends, and the server's
lock table (max_locks_per_transaction x max_connections, 6,400 by default) must hold them all."""

VIEWS = f"""
SELECT n.nspname, c.relname, c.relkind, pg_catalog.pg_get_viewdef(c.oid),
  coalesce((
    SELECT rn.nspname FROM pg_catalog.pg_rewrite r
    JOIN pg_catalog.pg_depend dep ON dep.objid = r.oid AND dep.classid = 'pg_catalog.pg_rewrite'::regclass
      AND dep.refclassid = 'pg_catalog.pg_class'::regclass
    JOIN pg_catalog.pg_class rc ON rc.oid = dep.refobjid AND rc.oid <> c.oid
    JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
    WHERE r.ev_class = c.oid AND rn.nspname = ANY (current_schemas(false))
    ORDER BY array_position(current_schemas(false), rn.nspname) LIMIT 1),
    (current_schemas(false))[1], n.nspname),
  (SELECT string_agg(rn.nspname || E'{FIELD}' || rc.relname || E'{FIELD}' || coalesce((
       SELECT string_agg(a.attname, E'{NAME}' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = rc.oid AND a.attnum > 0 AND NOT a.attisdropped), ''), E'{COLUMN}')
   FROM (SELECT DISTINCT dep.refobjid FROM pg_catalog.pg_rewrite r
         JOIN pg_catalog.pg_depend dep ON dep.objid = r.oid AND dep.classid = 'pg_catalog.pg_rewrite'::regclass
           AND dep.refclassid = 'pg_catalog.pg_class'::regclass
         WHERE r.ev_class = c.oid AND dep.refobjid <> c.oid) reads
   JOIN pg_catalog.pg_class rc ON rc.oid = reads.refobjid
   JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid IN (
  SELECT pc.oid FROM pg_catalog.pg_class pc JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
  WHERE pc.relkind IN ('v', 'm') AND pn.nspname = ANY (%(schemas)s)
    AND (pn.nspname COLLATE "C", pc.relname COLLATE "C") > (%(after_schema)s COLLATE "C", %(after_name)s COLLATE "C")
  ORDER BY pn.nspname COLLATE "C", pc.relname COLLATE "C" LIMIT %(page_size)s)
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"
"""

PROCEDURES = """
SELECT n.nspname, p.proname, l.lanname, pg_catalog.pg_get_function_arguments(p.oid), p.prosrc,
  pg_catalog.obj_description(p.oid, 'pg_proc')
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE p.prokind = 'p' AND n.nspname = ANY (%(schemas)s)
ORDER BY n.nspname COLLATE "C", p.proname COLLATE "C", p.oid
"""

FINGERPRINT = """
SELECT n.nspname,
  (SELECT count(*) || ':' || coalesce(sum(c.xmin::text::bigint), 0) FROM pg_catalog.pg_class c
     WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'f', 'v', 'm')),
  (SELECT count(*) || ':' || coalesce(sum(a.xmin::text::bigint), 0) FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND a.attnum > 0),
  (SELECT count(*) || ':' || coalesce(sum(d.xmin::text::bigint), 0) FROM pg_catalog.pg_description d
     JOIN pg_catalog.pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_catalog.pg_class'::regclass
     WHERE c.relnamespace = n.oid),
  (SELECT count(*) || ':' || coalesce(sum(k.xmin::text::bigint), 0) FROM pg_catalog.pg_constraint k
     WHERE k.connamespace = n.oid),
  (SELECT count(*) || ':' || coalesce(sum(r.xmin::text::bigint), 0) FROM pg_catalog.pg_rewrite r
     JOIN pg_catalog.pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = n.oid),
  (SELECT count(*) || ':' || coalesce(sum(p.xmin::text::bigint), 0) FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = n.oid AND p.prokind = 'p'),
  (SELECT count(*) || ':' || coalesce(sum(t.xmin::text::bigint), 0) FROM pg_catalog.pg_type t
     WHERE t.typnamespace = n.oid)
FROM pg_catalog.pg_namespace n
WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
ORDER BY n.nspname COLLATE "C"
"""
"""Per schema, changes on any DDL inside it: every CREATE, ALTER, DROP or COMMENT writes a catalog row with a new
xmin (the statistics VACUUM and ANALYZE keep in pg_class are written in place and leave it alone). The source
keeps the schemas its schema_pattern admits."""


def unpack_columns(count: str, packed: str | None) -> list[list[str]]:
    """The columns of one RELATIONS row: [name, format_type, kind, not null, in primary key, comment] each."""
    if not packed or count == "0":
        return []
    columns = [column.split(FIELD) for column in packed.split(COLUMN)]
    if len(columns) != int(count) or any(len(c) != 6 for c in columns):
        raise ValueError("column list holds control characters (\\x1e or \\x1f) in a name or comment")
    return columns


def unpack_reads(packed: str | None) -> dict[tuple[str, str], list[str]]:
    """The relations one VIEWS row reads: (schema, name) -> column names."""
    reads = {}
    for relation in (packed.split(COLUMN) if packed else ()):
        schema, name, columns = relation.split(FIELD)
        reads[(schema, name)] = columns.split(NAME) if columns else []
    return reads
