"""Files stored once by content key, hard-linked where they are shown, collected when unlinked.

Report texts (`pipeline.storage.texts`) and review pages (`pipeline.views.review.pagestore`)
live this way under OUTPUT/.state: a version or a review links a stored
file instead of copying it, so an unchanged report costs a directory entry
per run, and a stored file no one links any more is garbage.
"""
from __future__ import annotations

import os
from pathlib import Path


class ContentStore:
    """Files `<key><suffix>` in one folder: written atomically, collected once nothing links them."""

    def __init__(self, root: Path, suffix: str) -> None:
        self.root = root
        self.suffix = suffix

    def path(self, key: str) -> Path:
        return self.root / f"{key}{self.suffix}"

    def write(self, key: str, data: bytes) -> None:
        """Write under a temporary name and rename: a reader never sees half a file."""
        target = self.path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def collect(self) -> int:
        """Remove stored files nothing else links (and leftover temporary files); returns how many.

        Only once every folder that should link this run's files has linked them.
        """
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.iterdir():
            if path.name.endswith(self.suffix) and path.stat().st_nlink > 1:
                continue
            path.unlink(missing_ok=True)
            removed += 1
        return removed


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link `source` as `target`, or copy it where the file system has no hard links.

    Raises FileNotFoundError when `source` is gone and FileExistsError when
    `target` exists, as os.link does.
    """
    try:
        os.link(source, target)
    except (FileNotFoundError, FileExistsError, NotADirectoryError):
        raise
    except OSError:  # no hard links on this file system
        target.write_bytes(source.read_bytes())
