"""DataHub's recipe keys that every SQL source shares (its SQLCommonConfig), written once for mysql, postgres and
the generic sqlalchemy source; each platform's config adds its own connection keys and the patterns' wording."""

from typing import Any

from pydantic import Field, SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..core.patterns import AllowDenyPattern, DomainPatterns
from ..core.plugin import PluginConfig, inert


class SQLCommonKeys(PluginConfig):
    table_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against the dataset name.")
    view_pattern: AllowDenyPattern = Field(default_factory=AllowDenyPattern, description="Matched against the dataset name.")
    include_tables: bool = True
    include_views: bool = True
    include_view_lineage: bool = True
    include_view_column_lineage: bool = True
    env: str = "PROD"
    platform_instance: str | None = None
    domain: DomainPatterns = Field(default_factory=dict, description="Domain URN -> patterns over dataset and database names.")
    convert_urns_to_lowercase: bool = Field(default=False, description="Lowercase every dataset URN, as DataHub does with this key.")

    # DataHub's keys for features this project does not have: accepted, and named in a warning when set to
    # anything that would have had an effect in DataHub.
    classification: dict[str, Any] = inert("classification has no effect here", default_factory=dict, when="enabled")
    incremental_lineage: bool = inert("has no effect here: lineage is sent whole, and only when it changed", default=False)
    include_table_location_lineage: bool = inert("has no effect here: no table locations are read", default=True)
    use_file_backed_cache: bool = inert("has no effect here: memory stays bounded without it", default=True)


def host_and_port(value: str, default_port: int) -> tuple[str, int]:
    """`host:port` (or a bare host, on `default_port`) as DataHub's `host_port` key takes it; ValueError when it is not."""
    host, _, port = value.rpartition(":") if ":" in value else (value, "", str(default_port))
    if not host or not port.isdigit():
        raise ValueError(f"'host:port' such as 'localhost:{default_port}' (found {value!r})")
    return host, int(port)


def checked_sqlalchemy_url(value: SecretStr | None, example: str) -> SecretStr | None:
    """A recipe's SQLAlchemy URL, refused with DataHub-user wording (`example`) when SQLAlchemy cannot read it."""
    if value is not None:
        try:
            make_url(value.get_secret_value())
        except (ArgumentError, ValueError):
            raise ValueError(f"a SQLAlchemy URL such as {example!r}") from None
    return value
