"""DataHub's KeyValuePattern: regexes (matched at the start, like `re.match`) mapped to the values to apply."""

import re

from pydantic import Field

from ..core.plugin import PluginConfig


class KeyValuePattern(PluginConfig):
    rules: dict[str, list[str]] = Field(default_factory=lambda: {".*": []})
    first_match_only: bool = True

    def value(self, string: str) -> list[str]:
        """The values of the first matching rule, or of every matching rule (deduplicated) when not first_match_only."""
        matching = [key for key in self.rules if re.match(key, string)]
        if not matching:
            return []
        if self.first_match_only:
            return list(self.rules[matching[0]])
        return list(dict.fromkeys(v for key in matching for v in self.rules[key]))
