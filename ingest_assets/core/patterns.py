"""DataHub's AllowDenyPattern: allow if any allow regex matches (from the start) and no deny regex does;
and the `domain` key of SQL sources, a map of domain URNs to such patterns.

Patterns come from recipes that others write and run against every name in a catalog, so they are
evaluated with RE2 (`google-re2`), whose matching time is linear in the name whatever the pattern:
`.*(a+)+$` against a long table name would take Python's backtracking `re` longer than the run.
A pattern using syntax RE2 lacks (backreferences, lookaround) falls back to Python's `re`, and the
recipe says so in a warning (`python_only`).
"""

import re
from collections.abc import Callable
from functools import cached_property
from typing import Annotated

import re2
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

Matcher = Callable[[str], object]
"""`match(name)` of a compiled pattern: anchored at the start, truthy when it matches."""


def _re2_options(ignore_case: bool) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False  # RE2 would print every pattern it lacks to stderr; we say it once, in a warning
    return options


def compile_linear(pattern: str, ignore_case: bool) -> tuple[Matcher, bool]:
    """The pattern's anchored matcher and whether it is RE2's (linear time); False: Python's `re`, for syntax RE2 lacks."""
    try:
        return re2.compile(pattern, _re2_options(ignore_case)).match, True
    except re2.error:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0).match, False


class AllowDenyPattern(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow: list[str] = Field(default_factory=lambda: [".*"])
    deny: list[str] = Field(default_factory=list)
    ignoreCase: bool = True

    @field_validator("allow", "deny")
    @classmethod
    def _valid_regexes(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return patterns

    @cached_property
    def _compiled(self) -> tuple[list[Matcher], list[Matcher], list[str]]:
        allow, deny, python_only = [], [], []
        for patterns, matchers in ((self.allow, allow), (self.deny, deny)):
            for pattern in patterns:
                matcher, linear = compile_linear(pattern, self.ignoreCase)
                matchers.append(matcher)
                if not linear:
                    python_only.append(pattern)
        return allow, deny, python_only

    def python_only(self) -> list[str]:
        """The patterns RE2 cannot compile, matched with Python's `re` (whose time on a hostile pattern is unbounded)."""
        return self._compiled[2]

    def allowed(self, value: str) -> bool:
        allow, deny, _ = self._compiled
        if any(match(value) for match in deny):
            return False
        return any(match(value) for match in allow)



def pattern_warnings(model: BaseModel, prefix: str) -> list[str]:
    """One line per pattern anywhere in a config that falls back to Python's `re`."""
    lines = []

    def visit(value, path: str) -> None:
        if isinstance(value, AllowDenyPattern):
            lines.extend(f"{path}: pattern {p!r} uses syntax RE2 lacks (a backreference or lookaround); it is matched "
                         "with Python's re, which can take exponential time on some names" for p in value.python_only())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                visit(getattr(value, name), f"{path}.{name}" if path else name)
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{path}.{key}")

    visit(model, prefix.rstrip("."))
    return lines


def _domain_urns(domains: dict[str, AllowDenyPattern]) -> dict[str, AllowDenyPattern]:
    names = [key for key in domains if not key.startswith("urn:li:domain:")]
    if names:
        raise ValueError(f"domain URNs such as 'urn:li:domain:sales' as keys (found {', '.join(map(repr, names))}: "
                         "DataHub looks domain names up on its server, give the domain's URN here)")
    return domains


DomainPatterns = Annotated[dict[str, AllowDenyPattern], AfterValidator(_domain_urns)]
"""DataHub's `domain` source key: domain URN -> the names (`db.table`, or a database's name) it takes."""


def domain_for(domains: dict[str, AllowDenyPattern], name: str) -> str | None:
    """The domain a table or database named `name` goes to: the last one whose pattern allows it, as DataHub decides."""
    found = None
    for urn, pattern in domains.items():
        if pattern.allowed(name):
            found = urn
    return found
