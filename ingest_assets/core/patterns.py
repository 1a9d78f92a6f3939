"""DataHub's AllowDenyPattern: allow if any allow regex matches (from the start) and no deny regex does;
and the `domain` key of SQL sources, a map of domain URNs to such patterns."""

import re
from functools import cached_property
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator


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
    def _compiled(self) -> tuple[list[re.Pattern], list[re.Pattern]]:
        flags = re.IGNORECASE if self.ignoreCase else 0
        return [re.compile(p, flags) for p in self.allow], [re.compile(p, flags) for p in self.deny]

    def allowed(self, value: str) -> bool:
        allow, deny = self._compiled
        if any(p.match(value) for p in deny):
            return False
        return any(p.match(value) for p in allow)

    def is_fully_specified_allow_list(self) -> bool:
        return all(not any(ch in p for ch in ".*+?[](){}|^$\\") for p in self.allow)


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
