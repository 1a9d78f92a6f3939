"""Secret values known to this process, and redaction of any text that could carry one.

Every secret (a SecretStr in a plugin config, a value taken from an environment variable whose
name looks secret, a header such as `Authorization` in a sink's `extra_headers`) is registered when
the recipe is loaded; everything we print, log, report or attach as Dagster metadata goes through
`redact` first.

Redaction runs on text of any length a recipe can hold (a 10 MB value included), so it is linear:
the URL-password pattern may only start a scheme where a run of scheme characters starts, and every
part of it stops at a character it cannot contain, so no attempt backtracks over what another scanned.
"""

import re

MASK = "********"
_SECRET_NAME = re.compile(r"(pass(word)?|secret|token|api[_-]?key|credential|private[_-]?key)", re.I)
_SECRET_HEADER = re.compile(r"(authori[sz]ation|cookie|(^|[_\-.])key$|auth)", re.I)
"""Header names whose values are credentials, besides those `_SECRET_NAME` already finds (X-Api-Key, X-Auth-Token)."""
_URL_PASSWORD = re.compile(r"(?<![a-z0-9+.\-])(?P<scheme>[a-z][a-z0-9+.\-]*://[^:/@\s]*):(?P<pw>[^@\s/]+)@", re.I)
_CREDENTIAL_SCHEME = re.compile(r"^\s*(bearer|basic|token|digest|negotiate)\s+(?P<credential>\S+)", re.I)
_known: set[str] = set()


def looks_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def looks_secret_header(name: str) -> bool:
    """A request header whose value is a credential: Authorization, Cookie, anything named like a token, key, secret or password."""
    return looks_secret(name) or bool(_SECRET_HEADER.search(name))


def register(value: str | None) -> None:
    if value and len(value) >= 3:
        _known.add(value)


def register_headers(headers: dict) -> None:
    """Register the credential headers' values, and the credential alone of `Bearer <token>`-style values
    (a log line may quote the token without its scheme)."""
    for name, value in headers.items():
        if not isinstance(value, str) or not looks_secret_header(str(name)):
            continue
        register(value.strip())
        scheme = _CREDENTIAL_SCHEME.match(value)
        if scheme:
            register(scheme.group("credential"))


def redact(text: str) -> str:
    if not text:
        return text
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return _URL_PASSWORD.sub(lambda m: f"{m.group('scheme')}:{MASK}@", text)


def redact_obj(obj, key: str = ""):
    """Redact a JSON-like structure: secret-looking keys are masked whatever their value, and so is every
    credential header in a mapping of headers (a key named like `headers`)."""
    if isinstance(obj, dict):
        headers = key.lower().endswith("headers")
        return {k: (MASK if v not in (None, "") and (looks_secret(str(k)) or (headers and looks_secret_header(str(k))))
                    else redact_obj(v, str(k))) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_obj(v) for v in obj]
    if isinstance(obj, str):
        return redact(obj)
    return obj
