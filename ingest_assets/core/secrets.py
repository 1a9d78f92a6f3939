"""Secret values known to this process, and redaction of any text that could carry one.

Every secret (a SecretStr in a plugin config, a value taken from an environment variable whose
name looks secret) is registered when the recipe is loaded; everything we print, log, report or
attach as Dagster metadata goes through `redact` first.
"""

import re

MASK = "********"
_SECRET_NAME = re.compile(r"(pass(word)?|secret|token|api[_-]?key|credential|private[_-]?key)", re.I)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://[^:/@\s]*):(?P<pw>[^@\s/]+)@", re.I)
_known: set[str] = set()


def looks_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def register(value: str | None) -> None:
    if value and len(value) >= 3:
        _known.add(value)


def redact(text: str) -> str:
    if not text:
        return text
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return _URL_PASSWORD.sub(lambda m: f"{m.group('scheme')}:{MASK}@", text)


def redact_obj(obj):
    """Redact a JSON-like structure: secret-looking keys are masked whatever their value."""
    if isinstance(obj, dict):
        return {k: (MASK if looks_secret(str(k)) and v not in (None, "") else redact_obj(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_obj(v) for v in obj]
    if isinstance(obj, str):
        return redact(obj)
    return obj
