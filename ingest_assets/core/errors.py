"""Expected failures. Each carries the CLI exit code it maps to, so no traceback is needed to explain it."""


class IngestError(Exception):
    """A failure we expected and can explain in one line."""

    exit_code = 1


class RecipeError(IngestError):
    """The recipe (or a plugin's config) is invalid; raised before anything connects."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class ConnectionFailure(IngestError):
    """A source or sink could not be reached or refused our credentials."""

    exit_code = 2


class SinkFailure(IngestError):
    """The sink did not acknowledge every MCP of the run."""

    exit_code = 1


class SourceFailure(IngestError):
    """The source failed while it was being read."""

    exit_code = 1


def first_line(exc: BaseException) -> str:
    """What an exception says, in one line: its first non-empty line, else its type's name."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].strip()
