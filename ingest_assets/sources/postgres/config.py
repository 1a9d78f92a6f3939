"""The postgres source's recipe keys: every key of DataHub 1.7's PostgresConfig, with the same names, defaults and meaning."""

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from sqlalchemy.engine import URL, make_url

from ...core.patterns import AllowDenyPattern, DomainPatterns
from ...core.plugin import inert
from ..sql_keys import SQLCommonKeys, checked_sqlalchemy_url, host_and_port

SYSTEM_DATABASES = frozenset({"template0", "template1", "rdsadmin"})
"""Databases DataHub never lists, whatever database_pattern says (templates, and AWS RDS's own)."""

_USAGE = "has no effect here: usage statistics are not read"


class PostgresConfig(SQLCommonKeys):
    """DataHub's postgres recipe keys; TLS goes through `options.connect_args` (sslmode, sslrootcert, ...) as in DataHub."""

    host_port: str = Field(default="localhost:5432", description="host:port of the server.")
    username: str | None = None
    password: SecretStr | None = None
    database: str | None = Field(default=None, description="Read only this database (default: every database the "
                                                           "pattern admits, listed from initial_database).")
    initial_database: str = Field(default="postgres", description="The database the list of databases is read from.")
    scheme: str = Field(default="postgresql+psycopg2", description="SQLAlchemy driver name.")
    sqlalchemy_uri: SecretStr | None = Field(default=None, description="A SQLAlchemy URL naming driver, user, password, "
                                             "host, port and database at once; it replaces the separate keys.")
    options: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for SQLAlchemy's create_engine; "
                                    "its connect_args reach libpq (sslmode, sslrootcert, sslcert, sslkey, connect_timeout...).")
    database_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against the database name.")
    schema_pattern: AllowDenyPattern = Field(default_factory=lambda: AllowDenyPattern(deny=["information_schema"]),
                                             description="Matched against the schema name.")
    table_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against 'db.schema.table'.")
    view_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against 'db.schema.view'.")
    include_stored_procedures: bool = Field(default=True, description="Stored procedures as dataJobs under a dataFlow per schema.")
    procedure_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against 'db.schema.procedure'.")
    domain: DomainPatterns = Field(default_factory=dict, description="Domain URN -> patterns over 'db.schema.table', "
                                   "'db.schema' and database names.")

    # DataHub's keys for features this project does not have: accepted, and named in a warning when set to
    # anything that would have had an effect in DataHub.
    profiling: dict[str, Any] = inert("profiling is not available yet; the run ingests schemas only",
                                      default_factory=dict, when="enabled")
    profile_pattern: AllowDenyPattern = inert("has no effect here: profiling is not available yet", default_factory=AllowDenyPattern)
    include_table_location_lineage: bool = inert("has no effect here: PostgreSQL tables have no storage location", default=True)
    auth_mode: Literal["PASSWORD", "AWS_IAM"] = inert("AWS IAM authentication has no effect here; the password is used",
                                                      default="PASSWORD")
    aws_config: dict[str, Any] = inert("has no effect here: AWS IAM authentication is not available", default_factory=dict)
    include_query_lineage: bool = inert("has no effect here: lineage from pg_stat_statements is not read", default=False)
    max_queries_to_extract: int = inert("has no effect here: lineage from pg_stat_statements is not read", default=1000)
    min_query_calls: int = inert("has no effect here: lineage from pg_stat_statements is not read", default=1)
    query_exclude_patterns: list[str] | None = inert("has no effect here: lineage from pg_stat_statements is not read")
    include_usage_statistics: bool = inert("usage statistics have no effect here", default=False)
    bucket_duration: Literal["DAY", "HOUR"] = inert(_USAGE, default="DAY")
    start_time: str | None = inert(_USAGE)
    end_time: str | None = inert(_USAGE)
    queries_character_limit: int = inert(_USAGE, default=24000)
    top_n_queries: int = inert(_USAGE, default=10)
    user_email_pattern: AllowDenyPattern = inert(_USAGE, default_factory=AllowDenyPattern)
    include_operational_stats: bool = inert(_USAGE, default=True)
    include_read_operational_stats: bool = inert(_USAGE, default=False)
    format_sql_queries: bool = inert(_USAGE, default=False)
    include_top_n_queries: bool = inert(_USAGE, default=True)

    @model_validator(mode="after")
    def _usage_needs_query_lineage(self) -> "PostgresConfig":
        if self.include_usage_statistics and not self.include_query_lineage:
            raise ValueError("include_usage_statistics requires include_query_lineage to be enabled (as in DataHub)")
        return self

    @field_validator("host_port")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host_and_port(value, 5432)
        return value

    @field_validator("sqlalchemy_uri")
    @classmethod
    def _a_sqlalchemy_url(cls, value: SecretStr | None) -> SecretStr | None:
        return checked_sqlalchemy_url(value, "postgresql+psycopg2://user:password@host:5432/db")

    def url(self, database: str | None = None) -> URL:
        """The server to connect to, on `database` (else the configured or initial one); `sqlalchemy_uri` wins as in DataHub."""
        if self.sqlalchemy_uri is not None:
            url = make_url(self.sqlalchemy_uri.get_secret_value())
            return url if database is None else url.set(database=database)
        host, port = host_and_port(self.host_port, 5432)
        return URL.create(self.scheme, username=self.username,
                          password=self.password.get_secret_value() if self.password else None,
                          host=host, port=port, database=database or self.database or self.initial_database)

    @property
    def single_database(self) -> str | None:
        """The one database to read when the recipe names it (`database`, or the database of `sqlalchemy_uri`)."""
        if self.database is not None:
            return self.database
        if self.sqlalchemy_uri is not None:
            return make_url(self.sqlalchemy_uri.get_secret_value()).database or self.initial_database
        return None

    @property
    def address(self) -> str:
        """host:port, for messages (never the password)."""
        url = self.url()
        return f"{url.host or 'localhost'}:{url.port or 5432}"
