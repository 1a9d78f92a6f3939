"""Recipes: DataHub's shape plus our `schedule`, `sensor` and `state` keys.

Loading expands `${VAR}` / `${VAR:-default}`, validates the recipe and every plugin's config with
pydantic and reports one line per problem (key path, what was expected, what was found, a
did-you-mean), all before anything connects. Secret values are registered for redaction.

Recipes may be written by others, so loading is bounded: the file is read up to `MAX_RECIPE_BYTES`
(a recipe is a page of YAML; `/dev/zero` is not), it must be UTF-8 text, and expansion stops past
`MAX_EXPANDED_NODES` values, `MAX_VALUE_CHARS` in one value or `MAX_EXPANDED_CHARS` in all (YAML
aliases let a 1 KB file stand for a billion strings), at `MAX_DEPTH` levels, or at an anchor that
contains itself. Each is one line and exit code 2.
"""

import difflib
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from . import registry, secrets
from .errors import RecipeError
from .patterns import pattern_warnings
from .plugin import PluginConfig, inert, inert_settings
from .state_diff import StatefulIngestionConfig

_ENV_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
MAX_RECIPE_BYTES = 1024 * 1024
MAX_VALUE_CHARS = 64 * 1024
MAX_EXPANDED_CHARS = 4 * 1024 * 1024
MAX_EXPANDED_NODES = 100_000
MAX_DEPTH = 64
_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?LW#]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PluginRef(_Strict):
    type: str
    config: dict[str, Any] = Field(default_factory=dict)


class Schedule(_Strict):
    cron: str
    timezone: str = "UTC"
    default_status: Literal["RUNNING", "STOPPED"] = "STOPPED"

    @field_validator("cron")
    @classmethod
    def _cron_shape(cls, value: str) -> str:
        parts = value.split()
        if value.startswith("@") and value in {"@hourly", "@daily", "@weekly", "@monthly", "@yearly"}:
            return value
        if len(parts) != 5 or not all(_CRON_FIELD.match(p) for p in parts):
            raise ValueError(f"a cron expression with 5 fields, like '0 2 * * *' (found {value!r})")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"an IANA time zone such as 'UTC' or 'Europe/Berlin' (found {value!r})") from None
        return value


class SourceChangeSensor(_Strict):
    interval_seconds: int = Field(default=300, ge=10)


class Sensors(_Strict):
    source_change: SourceChangeSensor | None = None
    recipe_change: bool = False


class StateConfig(_Strict):
    url: str | None = None


class Recipe(_Strict):
    pipeline_name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    run_id: str | None = Field(default=None, description="Stamped as systemMetadata.runId on every MCP (DataHub's rollback "
                               "finds a run's aspects by it); the Dagster run's id when not given.")
    source: PluginRef
    transformers: list[PluginRef] = Field(default_factory=list)
    sink: PluginRef = Field(default_factory=lambda: PluginRef(type="datahub-lite"))
    schedule: Schedule | None = None
    profiling_schedule: Schedule | None = Field(default=None, description="When `<pipeline>/profile` runs (ours; "
                                                "profiles change with data, schemas with DDL).")
    sensor: Sensors | None = None
    state: StateConfig | None = None
    partition_by: Literal["database"] | None = None
    # DataHub's top-level keys with no counterpart here: accepted, and named in a warning when set
    reporting: list[Any] = inert("DataHub's run reporting has no effect here: each stage reports to Dagster",
                                 default_factory=list)
    flags: dict[str, Any] = inert("DataHub's pipeline flags have no effect here", default_factory=dict)
    datahub_api: dict[str, Any] = inert("no DataHub API is needed here: the sink alone is written to", default_factory=dict)
    failure_log: dict[str, Any] = inert("failures are kept in each stage's report instead", default_factory=dict)


@dataclass
class LoadedRecipe:
    """A validated recipe with its plugins resolved and their configs parsed."""

    path: Path | None
    recipe: Recipe
    source_class: type
    source_config: PluginConfig
    sink_class: type
    sink_config: PluginConfig
    transformers: list[tuple[type, PluginConfig]]
    raw: dict
    stateful: StatefulIngestionConfig = field(default_factory=StatefulIngestionConfig)
    """DataHub's `source.config.stateful_ingestion`, taken out before the source's config is validated."""
    notices: list[str] = field(default_factory=list)
    """DataHub keys the recipe sets that have no effect here: every run warns with them once."""
    within: tuple[str, ...] = ()
    """Where the recipe sits inside its YAML file: () for a recipe file, ("attributes", "recipe") for one written
    inline in a Dagster component's defs.yaml."""

    @property
    def pipeline_name(self) -> str:
        return self.recipe.pipeline_name

    @property
    def sink_type(self) -> str:
        return self.recipe.sink.type

    def as_read(self) -> dict:
        """The recipe as this run read it: `${VAR}`s resolved, secrets masked."""
        return secrets.redact_obj(_expand(self.raw, "", []))


class _ExpansionBudget:
    """What expanding one recipe may still build: aliases share nodes in the YAML, expansion copies them."""

    def __init__(self):
        self.nodes = 0
        self.chars = 0

    def spend(self, path: str, chars: int = 0) -> None:
        self.nodes += 1
        self.chars += chars
        if self.nodes > MAX_EXPANDED_NODES or self.chars > MAX_EXPANDED_CHARS:
            raise RecipeError([f"{path or 'recipe'}: the recipe expands to more than {MAX_EXPANDED_NODES:,} values or "
                               f"{MAX_EXPANDED_CHARS:,} characters (YAML aliases repeating each other?)"])


def _expand(value: Any, path: str, problems: list[str], budget: _ExpansionBudget | None = None,
            inside: frozenset = frozenset()) -> Any:
    budget = budget or _ExpansionBudget()
    if isinstance(value, (dict, list)):
        if id(value) in inside:
            raise RecipeError([f"{path or 'recipe'}: a YAML anchor contains itself"])
        if len(inside) >= MAX_DEPTH:
            raise RecipeError([f"{path or 'recipe'}: nested deeper than {MAX_DEPTH} levels"])
        budget.spend(path)
        inside = inside | {id(value)}
    if isinstance(value, dict):
        return {k: _expand(v, f"{path}.{k}" if path else str(k), problems, budget, inside) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{path}[{i}]", problems, budget, inside) for i, v in enumerate(value)]
    if not isinstance(value, str):
        budget.spend(path)
        return value

    def substitute(match: re.Match) -> str:
        name, default = match.group("name"), match.group("default")
        found = os.environ.get(name)
        if found is None:
            if default is None:
                problems.append(f"{path}: environment variable {name} is not set (write ${{{name}:-default}} to give a default)")
                return ""
            found = default
        if secrets.looks_secret(name) or secrets.looks_secret(path.rsplit(".", 1)[-1]):
            secrets.register(found)
        return found

    expanded = _ENV_REF.sub(substitute, value) if "${" in value else value
    if len(expanded) > MAX_VALUE_CHARS:
        raise RecipeError([f"{path}: a value of {len(expanded):,} characters; a recipe value may hold at most {MAX_VALUE_CHARS:,}"])
    budget.spend(path, len(expanded))
    return expanded


def _unwrap(annotation):
    """The BaseModel inside Optional[...] / list[...] annotations, if any."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, dict):
        for arg in typing.get_args(annotation):
            model = _unwrap(arg)
            if model is not None:
                return model
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        inner = _unwrap(field.annotation) if field else None
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _shown(value: Any, key: str) -> str:
    if secrets.looks_secret(key):
        return "a value"
    text = repr(value)
    return secrets.redact(text if len(text) <= 60 else text[:57] + "...")


def format_validation_error(exc: ValidationError, model: type[BaseModel], prefix: str) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = ".".join([prefix] * bool(prefix) + [str(p) if not isinstance(p, int) else f"[{p}]" for p in loc]).replace(".[", "[")
        key = str(loc[-1]) if loc else ""
        kind = err["type"]
        if kind == "extra_forbidden":
            options = _fields_at(model, loc[:-1])
            close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            allowed = ", ".join(options)
            problems.append(f"{path}: unknown key{hint}; expected one of: {allowed}")
        elif kind == "missing":
            problems.append(f"{path}: required key is missing")
        elif kind == "value_error":
            problems.append(f"{path}: expected {err['msg'].removeprefix('Value error, ')}")
        else:
            expected = err["msg"].removeprefix("Input should be ").split(", unable to")[0]
            expected = expected[0].lower() + expected[1:]
            problems.append(f"{path}: expected {expected}, found {_shown(err.get('input'), key)}")
    return problems


def _register_secrets(model: BaseModel) -> None:
    """SecretStr fields, and the credential headers of any `*headers` mapping (a sink's `extra_headers`)."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            secrets.register(value.get_secret_value())
        elif isinstance(value, BaseModel):
            _register_secrets(value)
        elif isinstance(value, dict) and name.lower().endswith("headers"):
            secrets.register_headers(value)


def parse_recipe(raw: Any, source_name: str = "recipe", path: Path | None = None) -> LoadedRecipe:
    if not isinstance(raw, dict):
        raise RecipeError([f"{source_name}: expected a mapping with pipeline_name, source and sink, found {type(raw).__name__}"])
    if "pipeline_name" not in raw and path is not None:
        raw = {"pipeline_name": re.sub(r"\W", "_", path.stem), **raw}
    problems: list[str] = []
    try:
        expanded = _expand(raw, "", problems)
    except RecipeError as exc:
        raise RecipeError([f"{source_name}: {p}" for p in exc.problems]) from None
    if problems:
        raise RecipeError([f"{source_name}: {p}" for p in problems])
    try:
        recipe = Recipe.model_validate(expanded)
    except ValidationError as exc:
        raise RecipeError([f"{source_name}: {p}" for p in format_validation_error(exc, Recipe, "")]) from None

    stateful = StatefulIngestionConfig()
    try:
        stateful = StatefulIngestionConfig.model_validate(recipe.source.config.pop("stateful_ingestion", None) or {})
    except ValidationError as exc:
        problems.extend(f"{source_name}: {p}" for p in format_validation_error(
            exc, StatefulIngestionConfig, "source.config.stateful_ingestion"))

    def resolve(kind: str, ref: PluginRef, key_path: str):
        try:
            plugin = registry.load(kind, ref.type, f"{source_name}: {key_path}.type")
        except RecipeError as exc:
            problems.extend(exc.problems)
            return None, None
        try:
            config = plugin.config_model.model_validate(ref.config)
        except ValidationError as exc:
            problems.extend(f"{source_name}: {p}" for p in format_validation_error(exc, plugin.config_model, f"{key_path}.config"))
            return plugin, None
        _register_secrets(config)
        return plugin, config

    source_class, source_config = resolve("source", recipe.source, "source")
    sink_class, sink_config = resolve("sink", recipe.sink, "sink")
    transformers = [resolve("transformer", ref, f"transformers[{i}]") for i, ref in enumerate(recipe.transformers)]
    if problems:
        raise RecipeError(problems)
    notices = inert_settings(recipe, "") + inert_settings(source_config, "source.config.")
    if isinstance(getattr(source_config, "profiling", None), PluginConfig) and source_config.profiling.enabled:
        notices += inert_settings(source_config.profiling, "source.config.profiling.")
    notices += inert_settings(sink_config, "sink.config.") + pattern_warnings(source_config, "source.config.")
    for i, (_, config) in enumerate(transformers):
        notices += inert_settings(config, f"transformers[{i}].config.")
    return LoadedRecipe(path, recipe, source_class, source_config, sink_class, sink_config, transformers, raw, stateful,
                        [f"{source_name}: {line}" for line in notices])


def _recipe_text(path: Path) -> str:
    """The file's text, read no further than the size limit (a device or a huge file is refused, not read whole)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_RECIPE_BYTES + 1)
    except FileNotFoundError:
        raise RecipeError([f"{path}: recipe file not found"]) from None
    except OSError as exc:
        raise RecipeError([f"{path}: cannot read recipe ({exc.strerror})"]) from None
    if len(data) > MAX_RECIPE_BYTES:
        raise RecipeError([f"{path}: larger than {MAX_RECIPE_BYTES:,} bytes; a recipe is a page of YAML"])
    if b"\0" in data:
        raise RecipeError([f"{path}: a binary file (it holds NUL bytes), not a YAML recipe"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError([f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                           "save the recipe as UTF-8"]) from None


def load_recipe(path: str | Path, within: tuple[str, ...] = (), default_name: str | None = None) -> LoadedRecipe:
    """The recipe in the YAML file `path`, or under the keys `within` of it (a Dagster component's defs.yaml).

    Without a `pipeline_name` the pipeline is named `default_name`, else after the file (or, inline, its folder)."""
    path = Path(path)
    text = _recipe_text(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise RecipeError([f"{path}: not valid YAML{where}: {problem}"]) from None
    except RecursionError:
        raise RecipeError([f"{path}: YAML nested too deeply to read"]) from None
    if not within:
        if default_name and isinstance(raw, dict) and "pipeline_name" not in raw:
            raw = {"pipeline_name": re.sub(r"\W", "_", default_name), **raw}
        return parse_recipe(raw, str(path), path)
    for key in within:
        if not isinstance(raw, dict) or key not in raw:
            raise RecipeError([f"{path}: {'.'.join(within)}: expected the recipe here"])
        raw = raw[key]
    if isinstance(raw, dict) and "pipeline_name" not in raw:  # named after its folder, as Dagster names the component
        raw = {"pipeline_name": re.sub(r"\W", "_", default_name or path.parent.name), **raw}
    loaded = parse_recipe(raw, f"{path} ({'.'.join(within)})", path)
    loaded.within = within
    return loaded
