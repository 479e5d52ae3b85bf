"""User-facing errors: one clear line, located where possible, never a traceback."""

from __future__ import annotations


class MitigateError(Exception):
    """An error the CLI reports as one line on stderr with a non-zero exit."""

    exit_code = 1


class UsageError(MitigateError):
    exit_code = 2


class LocatedError(MitigateError):
    """An error at a place in a file: ``path:line:column: message (at where)``."""

    def __init__(self, message: str, *, path: str = "<input>", line: int = 0, column: int = 0,
                 where: str = "") -> None:
        self.path, self.line, self.column, self.message, self.where = path, line, column, message, where
        super().__init__(str(self))

    def __str__(self) -> str:
        loc = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        return f"{loc}: {self.message}" + (f" (at {self.where})" if self.where else "")


class LocatedErrors(MitigateError):
    """Several located errors found in one pass (a file with many problems)."""

    def __init__(self, errors: list[LocatedError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
