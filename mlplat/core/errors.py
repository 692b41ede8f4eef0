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


class TrackingStoreError(MlplatError):
    """The tracking store cannot be reached or created (server down, disk full, refused).

    Exit 1, not 2: the declaration may well be right, and the same command works once the store
    is back."""


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) ended the command. A KeyboardInterrupt, so code
    that lets Ctrl-C through (MLflow's retries, Hydra) lets every stop through; the command exits
    128 + the signal's number, as a shell reports a process a signal ended."""

    def __init__(self, signum: int, where: str = "") -> None:
        import signal

        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        self.where = where  # what was running, for the message: "stage train of run NAME"
        super().__init__(self.signal_name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def one_line(self) -> str:
        return f"stopped by {self.signal_name}" + (f" during {self.where}" if self.where else "")
