"""Why a report file gave no text; `reason` is what a run lists for the file."""
from __future__ import annotations

from pathlib import Path


class FormatError(ValueError):
    """A report whose format we handle but whose bytes give no usable text."""

    def __init__(self, path: Path | None, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path is not None else reason)
        self.path = path
        self.reason = reason


class NoTextError(FormatError):
    """The file is valid but holds no text (a scanned PDF without a text layer)."""


class EncryptedError(FormatError):
    """The file needs a password to open."""


class CorruptError(FormatError):
    """The bytes are not a valid file of the format its suffix claims."""


class TooLargeError(FormatError):
    """The file would inflate past a limit on what is parsed (pipeline.ingest.formats.inflation)."""
