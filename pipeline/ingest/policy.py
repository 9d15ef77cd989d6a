"""Which files a run may read as reports, and opening them under that policy.

Only regular files under the raw folder are read. A symbolic link is
followed only when its target is inside the raw folder too: `raw/x.txt ->
/etc/passwd` would otherwise copy a file of the machine into the output
(its text under `text/`, its first line as a title in the review). The
`links_outside` option (`python flows.py --allow-outside-links`) lifts that
for a raw folder made of links on purpose; pipes, sockets and devices stay
refused either way, since opening or reading one can block forever.

The check is made on the path resolved at open time and again on the file
actually opened (`/proc/self/fd` where there is one), so a folder swapped for
a link between the check and the open does not get through. Hard links
cannot be told from a file of the raw folder: they are read (see
docs/drafts/issue-17.md).
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pipeline.ingest.decode import UnreadableError

MAX_REPORT_BYTES = 64 * 2**20  # read whole up to this (pipeline.ingest.reports says why)
OUTSIDE_OPTION = "--allow-outside-links"
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FD_LINKS = Path("/proc/self/fd")


@dataclass(frozen=True)
class InputPolicy:
    """What a run reads: regular files under raw (or reached by links from it, with `links_outside`)."""

    links_outside: bool = False  # follow symbolic links whose target is outside the raw folder
    max_bytes: int = MAX_REPORT_BYTES


def check_name(relpath: str) -> None:
    """A report's name must be UTF-8: it becomes a column value and keys its facts."""
    try:
        relpath.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in the name come back as surrogates
        raise UnreadableError("file name is not valid UTF-8; rename the file") from None


def shown_name(relpath: str) -> str:
    """A name fit to record (`errors`) even when it is not UTF-8: bad bytes as U+FFFD."""
    return os.fsencode(relpath).decode("utf-8", errors="replace")


def open_report(path: Path, raw: Path, policy: InputPolicy) -> int:
    """A descriptor open for reading on `path` if the policy admits it; UnreadableError says why not.

    Opened non-blocking (a pipe must not hang the run) and checked to be a
    regular file no larger than `policy.max_bytes`. OSError passes through
    (vanished, permission denied, a link loop).
    """
    target, flags = path, _OPEN_FLAGS
    if not policy.links_outside:
        base, real = os.path.realpath(raw), os.path.realpath(path)
        if not _inside(real, base):
            raise UnreadableError(_outside_reason(real))
        target, flags = Path(real), flags | _NOFOLLOW  # the resolved path has no link left to follow
    fd = os.open(target, flags)
    try:
        if not policy.links_outside:
            opened = _opened_path(fd)
            if opened is not None and not _inside(opened, os.path.realpath(raw)):
                raise UnreadableError(_outside_reason(opened))
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UnreadableError(_folder_reason(path))
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableError("not a regular file (a pipe, socket or device)")
        if info.st_size > policy.max_bytes:
            raise UnreadableError(too_large(info.st_size, policy.max_bytes))
    except BaseException:
        os.close(fd)
        raise
    return fd


def stat_report(path: Path, raw: Path, policy: InputPolicy) -> os.stat_result:
    """The file's status if the policy admits it (what the manifest compares), else UnreadableError."""
    fd = open_report(path, raw, policy)
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def hash_report(path: Path, raw: Path, policy: InputPolicy) -> str:
    """sha256 of an admitted report's bytes, read through the same checks as `read_report`."""
    fd = open_report(path, raw, policy)
    with os.fdopen(fd, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_report(path: Path, raw: Path, policy: InputPolicy) -> bytes:
    """An admitted report's bytes, at most `policy.max_bytes` of them."""
    fd = open_report(path, raw, policy)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(policy.max_bytes + 1)
    if len(data) > policy.max_bytes:  # it grew after the size check
        raise UnreadableError(too_large(len(data), policy.max_bytes))
    return data


def too_large(size: int, limit: int) -> str:
    return (f"file too large: {size / 2**20:.1f} MiB (limit {limit / 2**20:.0f} MiB);"
            " split the report into parts")


def _inside(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def _outside_reason(target: str) -> str:
    return (f"symbolic link to {shown_name(target)!r}, outside the raw folder: not read"
            f" ({OUTSIDE_OPTION} reads such links)")


def _opened_path(fd: int) -> str | None:
    """Where the open descriptor really points, where the system says (Linux); None elsewhere."""
    try:
        opened = os.readlink(_FD_LINKS / str(fd))
    except OSError:
        return None
    return opened if opened.startswith(os.sep) else None  # "pipe:[...]" and the like: fstat judges


def _folder_reason(path: Path) -> str:
    """Why a folder came out of `discover` as an item: it could not be listed."""
    try:
        with os.scandir(path):
            return "a folder, not a report"
    except OSError as exc:
        return f"cannot list folder: {exc.strerror or exc}"
