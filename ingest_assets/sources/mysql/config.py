"""The mysql source's recipe keys: DataHub's, with the same names, defaults and meaning."""

from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from ...core.patterns import AllowDenyPattern
from ...core.plugin import PluginConfig

SYSTEM_DATABASES = frozenset({"mysql", "information_schema", "performance_schema", "sys"})


class MySQLConfig(PluginConfig):
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
    include_tables: bool = True
    include_views: bool = True
    include_view_lineage: bool = True
    include_view_column_lineage: bool = True
    include_system_databases: bool = Field(default=False, description="Also read mysql, information_schema, performance_schema and sys.")
    include_stored_procedures: bool = Field(default=True, description="Stored procedures as dataJobs under a dataFlow per database.")
    procedure_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against 'db.procedure'.")
    env: str = "PROD"
    platform_instance: str | None = None

    @field_validator("host_port")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":") if ":" in value else (value, "", "3306")
        if not host or not port.isdigit():
            raise ValueError(f"'host:port' such as 'localhost:3306' (found {value!r})")
        return value

    @property
    def host(self) -> str:
        return self.host_port.rpartition(":")[0] if ":" in self.host_port else self.host_port

    @property
    def port(self) -> int:
        return int(self.host_port.rpartition(":")[2]) if ":" in self.host_port else 3306

