"""The callable and class forms of DataHub's transformers name Python objects by dotted path (`module.name`)."""

import importlib
from typing import Annotated

from pydantic import AfterValidator


def import_dotted(path: str):
    """The object at `package.module.name`; ValueError (a recipe error) when it cannot be imported."""
    module_name, _, attribute = path.rpartition(".")
    if not module_name:
        raise ValueError(f"{path!r} is not a dotted path (module.name)")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import {path!r}: {exc}") from None


def _importable(path: str) -> str:
    import_dotted(path)
    return path


DottedPath = Annotated[str, AfterValidator(_importable)]
"""A recipe key naming a Python object by dotted path, checked importable when the recipe loads (one recipe error)."""


def as_dict(value) -> dict:
    """A DataHub record class (`TagAssociationClass`, `OwnerClass`...) as its JSON, or a dict as it is: user functions
    written for DataHub return its classes."""
    if hasattr(value, "to_obj"):
        return dict(value.to_obj())
    return dict(value)
