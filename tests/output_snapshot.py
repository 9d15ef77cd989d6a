"""Helpers for tests that compare output folders: exact bytes, or what readers see."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq

READER_DIRS = ("facts", "documents", "runs", "diffs", "errors")


def tree(root: Path) -> dict[str, str]:
    """Every entry under root: file -> sha256 of its bytes, symlink -> its target, dir -> 'dir'."""
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def reader_view(output: Path) -> dict[str, dict[str, str]]:
    """What a reader sees through output/<folder>: file name -> content hash, per folder."""
    view: dict[str, dict[str, str]] = {}
    for name in READER_DIRS:
        folder = output / name
        if folder.is_dir():
            view[name] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
    return view


def table(output: Path, name: str) -> list[dict]:
    """Rows of a reader folder."""
    return ds.dataset(output / name, format="parquet").to_table().to_pylist()


def inodes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_ino for p in folder.glob("*.parquet")}


def rules_versions(output: Path) -> set[str]:
    return {pq.read_schema(p).metadata[b"rules_version"].decode() for p in (output / "facts").glob("*.parquet")}
