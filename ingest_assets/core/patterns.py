"""DataHub's AllowDenyPattern: allow if any allow regex matches (from the start) and no deny regex does."""

import re
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
