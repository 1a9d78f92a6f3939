"""The plugin contracts: a source yields snapshot records, a transformer rewrites MCPs, a sink acknowledges them."""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .mcp import MCP
from .previous_snapshot import PreviousViews
from .records import ContainerRecord, DatasetRecord, ScopeRecord
from .report import StageReport


class PluginConfig(BaseModel):
    """Base of every plugin's config model: unknown keys are errors, with a did-you-mean."""

    model_config = ConfigDict(extra="forbid")


def inert(why: str, default: Any = None, *, when: str | None = None, **field: Any) -> Any:
    """A field for a DataHub recipe key that is accepted here so DataHub's recipes run unchanged, but does nothing.

    `inert_settings` names it, with `why`, when a recipe sets it to anything but its default (or, with
    `when`, only when that key of its value is true: `profiling.enabled`).
    """
    if "default_factory" not in field:
        field["default"] = default
    return Field(json_schema_extra={"inert": why, "when": when}, **field)


def inert_settings(model: BaseModel, prefix: str) -> list[str]:
    """One line per inert key that `model` sets to something that would have had an effect in DataHub."""
    lines = []
    for name in sorted(model.model_fields_set):
        info = type(model).model_fields.get(name)
        extra = info.json_schema_extra if info is not None and isinstance(info.json_schema_extra, dict) else {}
        if "inert" not in extra:
            continue
        value = getattr(model, name)
        if extra["when"] is not None:
            active = (value or {}).get(extra["when"]) if isinstance(value, dict) else getattr(value, extra["when"], None)
        else:
            active = value != info.get_default(call_default_factory=True)
        if active:
            lines.append(f"{prefix}{name}: {extra['inert']}")
    return lines


class Source(ABC):
    config_model: ClassVar[type[PluginConfig]]
    platform: ClassVar[str]

    only_database: str | None = None
    """When set (a partitioned run), extract only this database and its scope."""

    previous_views: PreviousViews | None = None
    """The previous run's views, set by the snapshot stage when that run's `carry_over_key()` equals this one's."""

    def __init__(self, config: PluginConfig, report: StageReport):
        self.config = config
        self.report = report

    def databases(self) -> list[str] | None:
        """The databases in scope, for splitting a run by database; None where the source cannot split."""
        return None

    def check(self) -> None:
        """Raise ConnectionFailure when the source cannot be reached or refuses the credentials; called before
        anything else so that a wrong host or password is one line at once, not minutes into a run."""

    @abstractmethod
    def extract(self) -> Iterator[ContainerRecord | DatasetRecord | ScopeRecord]:
        """Stream what the source holds; raise ConnectionFailure if it cannot be reached."""

    def wants(self, database: str, schema: str | None, table: str | None, kind: str) -> bool:
        """Whether the current filters include this object; stale removal acts only on what they still include.

        `table` is None for a database or schema container; `kind` is Table, View, Database or Schema.
        """
        return True

    def carry_over_key(self) -> str | None:
        """What a view's derived fields (its lineage) depend on besides its statement: the source's code and
        config, as a digest. A source that returns one may reuse `previous_views` for views whose statement
        is unchanged; None (the default) computes everything every run."""
        return None

    def fingerprint(self) -> str | None:
        """A cheap value that changes when anything in scope changes; None where the source has none."""
        return None

    def close(self) -> None:
        """Release connections."""


class Transformer(ABC):
    config_model: ClassVar[type[PluginConfig]]

    def __init__(self, config: PluginConfig, report: StageReport):
        self.config = config
        self.report = report

    @abstractmethod
    def transform(self, mcps: Iterable[MCP]) -> Iterator[MCP]:
        """Rewrite, drop or add MCPs, streaming."""


Ack = Callable[[MCP], None]


class Sink(ABC):
    config_model: ClassVar[type[PluginConfig]]
    atomic: ClassVar[bool] = False
    """True when the sink holds nothing until `close()` succeeded (a file written whole and renamed into
    place): the acknowledgements of a run that failed are then void."""

    def __init__(self, config: PluginConfig, report: StageReport):
        self.config = config
        self.report = report

    def check(self) -> None:
        """Raise ConnectionFailure when the sink cannot take anything; called before the first MCP."""

    @abstractmethod
    def write(self, mcps: Iterable[MCP], ack: Ack) -> None:
        """Send every MCP; call `ack(mcp)` once the sink holds it, report the rest as failures."""

    def close(self) -> None:
        """Flush and release."""
