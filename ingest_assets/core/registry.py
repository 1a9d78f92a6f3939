"""Plugins are found through entry points, as DataHub's are: one group per kind."""

import difflib
import importlib
from functools import cache
from importlib.metadata import entry_points

from .errors import RecipeError

GROUPS = {
    "source": "ingest_assets.sources",
    "sink": "ingest_assets.sinks",
    "transformer": "ingest_assets.transformers",
}


@cache
def available(kind: str) -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=GROUPS[kind])}


def load(kind: str, name: str, key_path: str):
    """The plugin class for `name`, or a recipe error naming what is installed."""
    plugins = available(kind)
    if name not in plugins and kind == "transformer" and "." in name:
        return _dotted_transformer(name, key_path)
    if name not in plugins:
        close = difflib.get_close_matches(name, plugins, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        known = ", ".join(sorted(plugins)) or "none"
        raise RecipeError([f"{key_path}: unknown {kind} type '{name}'{hint}; installed: {known}"])
    try:
        return plugins[name].load()
    except ImportError as exc:
        raise RecipeError([f"{key_path}: {kind} '{name}' is installed but cannot load ({exc}); install its extra"]) from None


def _dotted_transformer(path: str, key_path: str):
    """A custom transformer class named by its dotted path, as DataHub's recipes may name one: a subclass of
    `ingest_assets.core.plugin.Transformer` with its `config_model`."""
    from .plugin import Transformer

    module_name, _, attribute = path.rpartition(".")
    try:
        plugin = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise RecipeError([f"{key_path}: cannot import transformer class '{path}' ({exc})"]) from None
    if not (isinstance(plugin, type) and issubclass(plugin, Transformer)):
        raise RecipeError([f"{key_path}: '{path}' is not a transformer class (a subclass of ingest_assets.core.plugin.Transformer)"])
    return plugin
