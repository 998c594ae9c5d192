"""One error model for the whole package.

Two families:

* *Issues* (:class:`pipeline.models.Issue`) are data records describing bad input. Stages collect and
  return them; they do not raise.
* *Exceptions* (below) abort a command. :func:`exit_code_for` is the **only** place that maps an
  exception to a process exit code; the CLI calls it.

Exit codes (documented in ``docs/errors.md``):

====  ==========================================================================================
0     OK.
1     Invalid input or failed assessment: the user can fix it (``UserError`` and subclasses), also a
      file or folder the operating system refuses (``OSError``: missing folder, no permission, disk full).
2     Usage error: unknown command, bad option (click's own convention).
3     Configuration or catalogue error (``CatalogueError``, ``ConfigError``): fix the catalogue,
      template or ``aivurdering.toml``.
4     Output refused: the target exists and ``--force`` was not given (``OutputExistsError``).
5     An external tool failed or is missing (``ExternalToolError``), e.g. LibreOffice.
130   Interrupted (Ctrl-C / SIGTERM); nothing half-written is left behind.
70    Internal error (a bug): please report it; run with ``--debug`` for the traceback.
====  ==========================================================================================
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.models import Issue

__all__ = [
    "EXIT_CATALOGUE",
    "EXIT_EXTERNAL",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_OUTPUT_EXISTS",
    "EXIT_USAGE",
    "CatalogueError",
    "ConfigError",
    "ExternalToolError",
    "InputFileError",
    "IntakeInvalid",
    "OutputExistsError",
    "PipelineError",
    "UserError",
    "exit_code_for",
    "os_error_message",
]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_CATALOGUE = 3
EXIT_OUTPUT_EXISTS = 4
EXIT_EXTERNAL = 5
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class PipelineError(Exception):
    """Root of every exception raised on purpose by aivurdering."""


class UserError(PipelineError):
    """Something the user can fix; the message (Danish) is shown to the user as it is."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class InputFileError(UserError):
    """An input file cannot be read safely (corrupt, foreign, encrypted, too large, hostile)."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        text = f"{path}: {message}" if path else message
        super().__init__(text, hint=hint)
        self.path = path


class IntakeInvalid(UserError):
    """The workbook was read but has problems; ``issues`` lists all of them."""

    def __init__(self, issues: Sequence[Issue], *, path: str | None = None) -> None:
        errors = [i for i in issues if i.severity == "error"]
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{len(errors)} fejl i intake-arket skal rettes.")
        self.issues = list(issues)
        self.path = path


class CatalogueError(UserError):
    """A question or criteria catalogue, a template or another configuration file is invalid."""

    def __init__(self, message: str, *, path: str | None = None, entry: str | None = None) -> None:
        parts = [p for p in (path, f"post '{entry}'" if entry else None) if p]
        prefix = ", ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.path = path
        self.entry = entry


class ConfigError(CatalogueError):
    """The organisation configuration (``aivurdering.toml``) is invalid."""


class OutputExistsError(UserError):
    """An output file exists and ``--force`` was not given."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} findes allerede og overskrives ikke.",
            hint="Brug --force for at overskrive, eller vælg et andet navn eller en anden mappe med -o.",
        )
        self.path = path


class ExternalToolError(UserError):
    """An external program (e.g. LibreOffice) is missing or failed."""


def exit_code_for(exc: BaseException) -> int:
    """Map an exception to the process exit code. The only such mapping in the package."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, OutputExistsError):
        return EXIT_OUTPUT_EXISTS
    if isinstance(exc, CatalogueError):
        return EXIT_CATALOGUE
    if isinstance(exc, ExternalToolError):
        return EXIT_EXTERNAL
    if isinstance(exc, (UserError, OSError)):
        return EXIT_INVALID
    return EXIT_INTERNAL


_ERRNO_DA = {
    errno.ENOENT: "mappen eller filen findes ikke",
    errno.ENOTDIR: "en del af stien er en fil, ikke en mappe",
    errno.EISDIR: "stien er en mappe, ikke en fil",
    errno.EACCES: "ingen adgang (tjek rettighederne)",
    errno.EPERM: "handlingen er ikke tilladt (tjek rettighederne)",
    errno.EROFS: "drevet er skrivebeskyttet",
    errno.ENOSPC: "disken er fuld",
    errno.EEXIST: "findes allerede",
    errno.ENAMETOOLONG: "filnavnet er for langt",
}


def os_error_message(exc: OSError) -> str:
    """A Danish one-line message for a file-system error, naming the path (``OSError`` is English)."""
    reason = _ERRNO_DA.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    path = exc.filename if exc.filename is not None else ""
    return f"{path}: {reason}." if path else f"{reason[:1].upper()}{reason[1:]}."
