"""One exception hierarchy; the CLI maps each class to one message line and an exit code."""

from __future__ import annotations


class MlplatError(Exception):
    """Base of every error mlplat reports to a user; `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, *, key: str | None = None, file: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.file = file

    def one_line(self) -> str:
        where = [
            f"{label} '{value}'"
            for label, value in (("key", self.key), ("file", self.file))
            if value
        ]
        prefix = f"[{', '.join(where)}] " if where else ""
        return prefix + " ".join(str(self).split())


class ConfigError(MlplatError):
    """The declaration is wrong: bad type, unknown key, missing value or file. Exit 2."""

    exit_code = 2


class DataValidationError(MlplatError):
    """The data broke its contract; the validation report says where."""

    def __init__(self, message: str, *, report_path: str | None = None, **kw: str | None) -> None:
        super().__init__(message, **kw)
        self.report_path = report_path


class GateError(MlplatError):
    """A model did not pass its gates."""


class BudgetExceededError(MlplatError):
    """A declared budget with policy `fail` was breached."""


class RegistryError(MlplatError):
    """A registry operation was refused (bad name, missing version or alias)."""
