"""The mysql source's recipe keys: DataHub's, with the same names, defaults and meaning."""

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from sqlalchemy.engine import URL, make_url

from ...core.patterns import AllowDenyPattern, DomainPatterns
from ...core.plugin import inert
from ...core.profile import ProfilingConfig
from ..sql_keys import SQLCommonKeys, checked_sqlalchemy_url, host_and_port

SYSTEM_DATABASES = frozenset({"mysql", "information_schema", "performance_schema", "sys"})


class MySQLConfig(SQLCommonKeys):
    """DataHub's mysql recipe keys (plus TLS keys that DataHub users put under options.connect_args)."""

    host_port: str = Field(default="localhost:3306", description="host:port of the server.")
    username: str | None = None
    password: SecretStr | None = None
    database: str | None = Field(default=None, description="Read only this database (default: every database).")
    scheme: str = Field(default="mysql+pymysql", description="SQLAlchemy driver name.")
    options: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for SQLAlchemy's create_engine; its connect_args reach PyMySQL.")
    ssl_ca: str | None = Field(default=None, description="CA certificate file (else the system's); setting any ssl_* key makes TLS required.")
    ssl_cert: str | None = Field(default=None, description="Client certificate file (with ssl_key, unless the file holds the key).")
    ssl_key: str | None = None
    ssl_verify_cert: bool | None = Field(default=None, description="Verify the server's certificate (default: true once TLS is required).")
    ssl_verify_identity: bool | None = Field(default=None, description="Check the server's host name against its certificate (default: as ssl_verify_cert).")

    @model_validator(mode="after")
    def _identity_needs_certificate(self) -> "MySQLConfig":
        if self.ssl_verify_identity and self.ssl_verify_cert is False:
            raise ValueError("ssl_verify_identity: true needs the certificate verified (ssl_verify_cert is false)")
        return self
    database_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern)
    table_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against 'db.table'.")
    view_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against 'db.view'.")
    include_system_databases: bool = Field(default=False, description="Also read mysql, information_schema, performance_schema and sys.")
    include_stored_procedures: bool = Field(default=True, description="Stored procedures as dataJobs under a dataFlow per database.")
    procedure_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against 'db.procedure'.")
    sqlalchemy_uri: SecretStr | None = Field(default=None, description="A SQLAlchemy URL naming driver, user, password, "
                                             "host and port at once; it replaces scheme, username, password and host_port.")
    domain: DomainPatterns = Field(default_factory=dict, description="Domain URN -> patterns over 'db.table' and database names.")
    profiling: ProfilingConfig = Field(default_factory=ProfilingConfig, description="DataHub's profiling block: "
                                       "datasetProfile per table, by the pipeline's own profile asset.")
    profile_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Tables to profile, "
                                              "matched against the dataset name.")

    # DataHub's keys for features this project does not have (or not in this source): accepted, and named in a
    # warning when set to anything that would have had an effect in DataHub.
    include_usage_statistics: bool = inert("usage statistics have no effect here", default=False)
    usage_source: str = inert("has no effect here: usage statistics are not read", default="performance_schema")
    usage: dict[str, Any] = inert("has no effect here: usage statistics are not read", default_factory=dict)
    email_domain: str | None = inert("has no effect here: usage statistics are not read")
    include_table_location_lineage: bool = inert("has no effect here: MySQL tables have no storage location", default=True)
    auth_mode: Literal["PASSWORD", "AWS_IAM"] = inert("AWS IAM authentication has no effect here; the password is used",
                                                      default="PASSWORD")
    aws_config: dict[str, Any] = inert("has no effect here: AWS IAM authentication is not available", default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _schema_pattern_is_database_pattern(cls, data: Any) -> Any:
        """DataHub's deprecated name for `database_pattern` in two-tier sources such as MySQL."""
        if isinstance(data, dict) and "schema_pattern" in data:
            if "database_pattern" in data:
                raise ValueError("schema_pattern and database_pattern both given: schema_pattern is the deprecated "
                                 "name of database_pattern, keep one")
            data = {("database_pattern" if k == "schema_pattern" else k): v for k, v in data.items()}
        return data

    @field_validator("host_port")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host_and_port(value, 3306)
        return value

    @property
    def url(self) -> URL:
        """The server to connect to: `sqlalchemy_uri` as given, else built from the separate keys."""
        if self.sqlalchemy_uri is not None:
            return make_url(self.sqlalchemy_uri.get_secret_value())
        host, port = host_and_port(self.host_port, 3306)
        return URL.create(self.scheme, username=self.username,
                          password=self.password.get_secret_value() if self.password else None,
                          host=host, port=port, database=self.database)

    @property
    def address(self) -> str:
        """host:port, for messages (never the password)."""
        url = self.url
        return f"{url.host or 'localhost'}:{url.port or 3306}"

    @field_validator("sqlalchemy_uri")
    @classmethod
    def _a_sqlalchemy_url(cls, value: SecretStr | None) -> SecretStr | None:
        return checked_sqlalchemy_url(value, "mysql+pymysql://user:password@host:3306")

