"""DataHub's recipe keys for its generic `sqlalchemy` source, with the same names, defaults and meaning."""

from typing import Any

from pydantic import Field, SecretStr, field_validator
from sqlalchemy.engine import URL, make_url

from ...core.patterns import AllowDenyPattern
from ...core.plugin import inert
from ..sql_keys import SQLCommonKeys, checked_sqlalchemy_url


class SQLAlchemyConfig(SQLCommonKeys):
    connect_uri: SecretStr = Field(description="SQLAlchemy URL of the database (it may hold a password: kept secret).")
    platform: str = Field(description="The platform in URNs (postgres, mysql, sqlite, duckdb, ...).")
    options: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for SQLAlchemy's create_engine.")
    schema_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against the schema name.")

    profiling: dict[str, Any] = inert("profiling is not available yet; the run ingests schemas only",
                                      default_factory=dict, when="enabled")
    profile_pattern: AllowDenyPattern = inert("has no effect here: profiling is not available yet", default_factory=AllowDenyPattern)

    @field_validator("connect_uri")
    @classmethod
    def _a_sqlalchemy_url(cls, value: SecretStr) -> SecretStr:
        return checked_sqlalchemy_url(value, "postgresql+psycopg2://user:password@host:5432/db")

    @property
    def url(self) -> URL:
        return make_url(self.connect_uri.get_secret_value())

    @property
    def address(self) -> str:
        """Where the database is, for messages: the URL without its password."""
        return self.url.render_as_string(hide_password=True)
