"""pipeline.storage.contentstore: atomic writes, links (or copies), and collection of what nothing links."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from pipeline.storage.contentstore import ContentStore, link_or_copy


def test_written_files_are_collected_once_nothing_links_them(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store", ".txt")
    store.write("a", b"A")
    store.write("b", b"B")
    (store.root / "c.tmp123").write_bytes(b"left by a crash")
    link_or_copy(store.path("a"), tmp_path / "shown.txt")
    assert store.collect() == 2  # b and the temporary file
    assert [p.name for p in store.root.iterdir()] == ["a.txt"]
    assert (tmp_path / "shown.txt").read_bytes() == b"A"


def test_link_or_copy_copies_without_hard_links_and_reports_what_os_link_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source"
    source.write_bytes(b"text")
    with pytest.raises(FileNotFoundError):
        link_or_copy(tmp_path / "gone", tmp_path / "x")
    link_or_copy(source, tmp_path / "linked")
    assert (tmp_path / "linked").stat().st_ino == source.stat().st_ino
    with pytest.raises(FileExistsError):
        link_or_copy(source, tmp_path / "linked")

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    link_or_copy(source, tmp_path / "copied")
    assert (tmp_path / "copied").read_bytes() == b"text"
    assert (tmp_path / "copied").stat().st_ino != source.stat().st_ino
