"""What one stage did: counts, warnings, failures, timings. Written beside the stage's output file."""

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .secrets import redact

MAX_LISTED = 50


@dataclass
class StageReport:
    stage: str
    counts: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warning_count: int = 0
    failure_count: int = 0
    started: float = field(default_factory=time.time)
    finished: float | None = None
    extra: dict = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def warn(self, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_LISTED:
            self.warnings.append(redact(message))

    def fail(self, message: str) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_LISTED:
            self.failures.append(redact(message))

    def finish(self) -> "StageReport":
        self.finished = time.time()
        return self

    @property
    def duration(self) -> float:
        return round((self.finished or time.time()) - self.started, 3)

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "counts": dict(sorted(self.counts.items())),
            "warnings": self.warnings,
            "failures": self.failures,
            "warning_count": self.warning_count,
            "failure_count": self.failure_count,
            "started": self.started,
            "finished": self.finished,
            "duration_seconds": self.duration,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "StageReport":
        return cls(
            stage=data["stage"],
            counts=Counter(data.get("counts", {})),
            warnings=list(data.get("warnings", [])),
            failures=list(data.get("failures", [])),
            warning_count=data.get("warning_count", 0),
            failure_count=data.get("failure_count", 0),
            started=data.get("started", 0.0),
            finished=data.get("finished"),
            extra=data.get("extra", {}),
        )

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "StageReport":
        return cls.from_dict(json.loads(path.read_text()))
