"""DataHub's recipe keys for its generic `sqlalchemy` source, with the same names, defaults and meaning."""

from typing import Any

from pydantic import Field, SecretStr, field_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ...core.patterns import AllowDenyPattern, DomainPatterns
from ...core.plugin import PluginConfig, inert


class SQLAlchemyConfig(PluginConfig):
    connect_uri: SecretStr = Field(description="SQLAlchemy URL of the database (it may hold a password: kept secret).")
    platform: str = Field(description="The platform in URNs (postgres, mysql, sqlite, duckdb, ...).")
    options: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for SQLAlchemy's create_engine.")
    schema_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against the schema name.")
    table_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against the dataset name.")
    view_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against the dataset name.")
    include_tables: bool = True
    include_views: bool = True
    include_view_lineage: bool = True
    include_view_column_lineage: bool = True
    domain: DomainPatterns = Field(default_factory=dict, description="Domain URN -> patterns over dataset and database names.")
    convert_urns_to_lowercase: bool = Field(default=False, description="Lowercase every dataset URN, as DataHub does with this key.")
    env: str = "PROD"
    platform_instance: str | None = None

    profiling: dict[str, Any] = inert("profiling is not available yet; the run ingests schemas only",
                                      default_factory=dict, when="enabled")
    profile_pattern: AllowDenyPattern = inert("has no effect here: profiling is not available yet", default_factory=AllowDenyPattern)
    classification: dict[str, Any] = inert("classification has no effect here", default_factory=dict, when="enabled")
    incremental_lineage: bool = inert("has no effect here: lineage is sent whole, and only when it changed", default=False)
    include_table_location_lineage: bool = inert("has no effect here: no table locations are read", default=True)
    use_file_backed_cache: bool = inert("has no effect here: memory stays bounded without it", default=True)

    @field_validator("connect_uri")
    @classmethod
    def _a_sqlalchemy_url(cls, value: SecretStr) -> SecretStr:
        try:
            make_url(value.get_secret_value())
        except (ArgumentError, ValueError):
            raise ValueError("a SQLAlchemy URL such as 'postgresql+psycopg2://user:password@host:5432/db'") from None
        return value

    @property
    def url(self) -> URL:
        return make_url(self.connect_uri.get_secret_value())

    @property
    def address(self) -> str:
        """Where the database is, for messages: the URL without its password."""
        return self.url.render_as_string(hide_password=True)
