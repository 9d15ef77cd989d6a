"""The text every fact's offsets index, saved as OUTPUT/text/<doc>.txt.

Any legal report name must give a path the output's file system takes:
`<doc>.txt` adds four bytes to a name that may already be the 255 bytes a
file name can have (`'知' * 83 + '.txt'`), and the output folder's own path
comes before it. Such a name is bounded (`text_file`): a readable prefix of
the report's file name and a hash of its whole path, at the top of `text/`.

For a PDF, Word or HTML report that text is what the converter produced; for
a .txt or .md report it is the file as decoded. Texts live once in a
content-addressed store (`OUTPUT/.state/text/<sha256 of the report>.txt`)
and each output version hard-links them under its own `text/` folder, so
unchanged reports cost a directory entry per run and the folder switches
with the facts (a reader never sees a text from another version).
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path

from pipeline.storage.contentstore import ContentStore, link_or_copy
from pipeline.storage.paths import TEXT_STORE

log = logging.getLogger(__name__)


NAME_MAX_BYTES = 255  # the longest file name ext4, XFS, Btrfs, ZFS and APFS take
TEXT_PATH_MAX_BYTES = 1024  # under text/: leaves most of PATH_MAX (4096) to the output folder's path
PREFIX_BYTES = 96  # of a bounded name's readable part
HASH_CHARS = 16


def text_file(doc: str) -> str:
    """The name of a report's text inside a `text/` folder: `<doc>.txt` where that fits, else bounded.

    A bounded name is `<first bytes of the file name>~<16 hex digits>.txt`.
    It cannot be another report's `<doc>.txt`: a report's name ends in its
    suffix (`.txt`, `.pdf`...), so the 16 characters before its added `.txt`
    hold a dot, which no hex digit is.
    """
    name = f"{doc}.txt"
    if len(name.encode("utf-8")) <= TEXT_PATH_MAX_BYTES and \
            len(name.rsplit("/", 1)[-1].encode("utf-8")) <= NAME_MAX_BYTES:
        return name
    prefix = doc.rsplit("/", 1)[-1].encode("utf-8")[:PREFIX_BYTES].decode("utf-8", errors="ignore")
    return f"{prefix}~{hashlib.sha256(doc.encode('utf-8')).hexdigest()[:HASH_CHARS]}.txt"


class TextStore(ContentStore):
    """Texts by report hash, written once, linked into versions, collected when unused."""

    def __init__(self, output: Path) -> None:
        super().__init__(output / TEXT_STORE, ".txt")

    def save(self, sha256: str, text: str) -> None:
        """Store a report's text unless the same text is stored already.

        The same bytes can give another text when the converters change (code
        version): the stored file is then replaced, since the new facts index
        the new text (and a review page rendered in the chunk shows it);
        versions that link the old file keep it.
        """
        target = self.path(sha256)
        data = text.encode("utf-8")
        try:
            if target.stat().st_size == len(data) and target.read_bytes() == data:
                return
        except FileNotFoundError:
            pass
        self.write(sha256, data)

    def link_into(self, folder: Path, reports: Iterable[tuple[str, str]]) -> int:
        """Link each (report file, sha256)'s text into `folder` (a version's text/); returns how many were missing."""
        missing = 0
        for file, sha256 in reports:
            source = self.path(sha256)
            target = folder / text_file(file)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                link_or_copy(source, target)
            except FileExistsError:
                pass
            except FileNotFoundError:
                missing += 1  # an output written before texts were saved: rerun with --full
        if missing:
            log.warning("%d report texts are not stored yet; `python flows.py --full` saves them", missing)
        return missing
